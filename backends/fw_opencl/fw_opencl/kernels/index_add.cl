// scatter_add: out[... index ...] += src, with duplicate indices, so every add is atomic.
// Built per value type T and index type I. Floats have no atomic add in OpenCL 1.x: swap
// the bit pattern in with compare-and-exchange until no other work-item got in between.
// 64-bit types need cl_khr_int64_base_atomics (the host checks and defines ATOM64).
#ifdef ATOM64
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
#endif

inline void add_float(__global float *p, float v) {
    volatile __global uint *q = (volatile __global uint *)p;
    uint old = *q, seen;
    while ((seen = atomic_cmpxchg(q, old, as_uint(as_float(old) + v))) != old) old = seen;
}

inline void add_int(__global int *p, int v) { atomic_add((volatile __global int *)p, v); }

// bool: adding true sets the byte; adding false changes nothing (NumPy's add.at on bool)
inline void add_uchar(__global uchar *p, uchar v) { if (v) *p = 1; }

#ifdef ATOM64
inline void add_long(__global long *p, long v) { atom_add((volatile __global long *)p, v); }

#ifdef HAVE_FP64
inline void add_double(__global double *p, double v) {
    volatile __global ulong *q = (volatile __global ulong *)p;
    ulong old = *q, seen;
    while ((seen = atom_cmpxchg(q, old, as_ulong(as_double(old) + v))) != old) old = seen;
}
#endif
#endif

#define ADD_(t) add_##t
#define ADD(t) ADD_(t)

// Layout as in index.cl: operand 0 = out with dim's stride 0, 1 = index, 2 = src.
__kernel void scatter_add(__global T *out, __global const T *src, __global const I *index,
                          const layout d, int ds, int size, T value, int use_value) {
    int i = get_global_id(0);
    if (i >= d.n) return;
    long j = index[at(&d, 1, i)];
    if (j < 0) j += size;
    if (j < 0 || j >= size) return;
    ADD(T)(out + at(&d, 0, i) + (int)j * ds, use_value ? value : src[at(&d, 2, i)]);
}
