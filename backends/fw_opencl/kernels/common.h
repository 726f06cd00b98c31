// Shared by every kernel file (prepended by the runtime before building).
#ifdef HAVE_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

// The layout of up to four strided operands over one index space of `n` elements:
// operand 0 is usually the output, 1..3 the inputs. Adjacent dimensions that are
// contiguous in every operand are merged on the host, so `ndim` is usually 1 or 2.
// Strides and offsets count elements; a broadcast dimension has stride 0.
#define MAXD 8
typedef struct {
    int n;
    int ndim;
    int shape[MAXD];
    int st[4][MAXD];
    int off[4];
} layout;

// Element offset of linear index i (row-major over `shape`) in operand k.
inline int at(const layout *d, int k, int i) {
    int o = d->off[k];
    for (int j = d->ndim - 1; j >= 0; --j) {
        int s = d->shape[j];
        o += (i % s) * d->st[k][j];
        i /= s;
    }
    return o;
}
