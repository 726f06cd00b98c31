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

// Window ranges of the gather-form conv/pool kernels (conv.cl, pool.cl).
// The outputs o whose window (first cell o*s - p, cells k*d for k < K) covers input
// position i are o in [win_lo, win_hi); cell k = (i + p - o*s) / d where that divides.
// Ranges instead of a division per cell, and the quotients in float: integer division
// costs ~30 cycles on CPUs and is not vectorised. Exact for 0 <= t < 2^22: the true
// quotient plus (r + 0.5) / s stays half a step 1/s away from the next integer.
inline int qdiv(int t, int s) { return s == 1 ? t : (int)(((float)t + 0.5f) / (float)s); }
inline int win_lo(int i, int p, int K, int d, int s) {
    int t = i + p - (K - 1) * d;
    return t <= 0 ? 0 : qdiv(t - 1, s) + 1;
}
inline int win_hi(int i, int p, int s, int O) { return min(qdiv(i + p, s) + 1, O); }
