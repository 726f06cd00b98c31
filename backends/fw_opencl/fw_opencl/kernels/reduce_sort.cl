// Sorting along one dim, built per element type T. Rows of R elements; dk (operand 0 =
// input, operand 1 = output) addresses a row's start, xs / os are the strides along it.
//
// Elements are compared as (value, original index) pairs. That order is total and strict,
// so any sorting network gives the stable result: equal values keep their order, NaN goes
// last ascending and first descending (as NumPy's stable argsort and PyTorch do).
// Indices >= R mark padding, which sorts after everything.

#define ISNAN(v) ((v) != (v))

inline bool before(T a, int ia, T b, int ib, int R, int desc) {
    if (ia >= R || ib >= R) return ib >= R && (ia < R || ia < ib);
    bool an = ISNAN(a), bn = ISNAN(b);
    if (an != bn) return desc ? an : bn;
    if (!an && a != b) return desc ? a > b : a < b;
    return ia < ib;
}

// One work-group sorts a block of n (a power of two) elements of one row in local memory
// with a bitonic network. Group g = m * nb + b takes block b of row m. With nb == 1 the
// sorted row goes straight to the outputs; otherwise to tk / ti (rows of R, contiguous)
// for the merge passes.
__kernel void sort_block(__global T *ov, __global long *oi, __global T *tk, __global int *ti,
                         __global const T *x, const layout dk, int R, int xs, int os,
                         int n, int nb, int desc, __local T *kv, __local int *ki) {
    int g = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    int m = g / nb, b = g - m * nb;
    int lo = b * n;
    int xb = at(&dk, 0, m);
    for (int j = lid; j < n; j += wg) {
        int r = lo + j;
        ki[j] = r;
        kv[j] = r < R ? x[xb + r * xs] : 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 2; k <= n; k <<= 1) {
        for (int h = k >> 1; h > 0; h >>= 1) {
            for (int t = lid; t < (n >> 1); t += wg) {
                int i = 2 * h * (t / h) + (t % h), l = i + h;
                bool up = (i & k) == 0;
                T a = kv[i], c = kv[l];
                int ia = ki[i], il = ki[l];
                if (before(c, il, a, ia, R, desc) == up) {
                    kv[i] = c; kv[l] = a;
                    ki[i] = il; ki[l] = ia;
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    }
    if (nb == 1) {
        int ob = at(&dk, 1, m);
        for (int j = lid; j < R; j += wg) {
            ov[ob + j * os] = kv[j];
            oi[ob + j * os] = ki[j];
        }
    } else {
        for (int j = lid; j < n && lo + j < R; j += wg) {
            tk[m * R + lo + j] = kv[j];
            ti[m * R + lo + j] = ki[j];
        }
    }
}

// One merge pass: runs of w sorted elements, merged in pairs. Each work-item places one
// element: its rank in its own run plus the number of elements of the other run that come
// before it (a binary search), which is its position in the merged run.
__kernel void sort_merge(__global T *dk_, __global int *di, __global const T *sk,
                         __global const int *si, int R, int M, int w, int desc) {
    int p = get_global_id(0), m = get_global_id(1);
    if (p >= R || m >= M) return;
    __global const T *rk = sk + m * R;
    __global const int *ri = si + m * R;
    int lo = p / (2 * w) * (2 * w);
    int mid = min(lo + w, R), hi = min(lo + 2 * w, R);
    T v = rk[p];
    int iv = ri[p];
    // search the other run [a, e) for the count of elements before (v, iv)
    int a = p < mid ? mid : lo, e = p < mid ? hi : mid;
    int own = p < mid ? p - lo : p - mid;
    int L = a, U = e;
    while (L < U) {
        int c = (L + U) >> 1;
        if (before(rk[c], ri[c], v, iv, R, desc)) L = c + 1; else U = c;
    }
    int q = m * R + lo + own + (L - a);
    dk_[q] = v;
    di[q] = iv;
}

// The sorted rows (contiguous) to the outputs' layout.
__kernel void sort_write(__global T *ov, __global long *oi, __global const T *sk,
                         __global const int *si, const layout dk, int R, int M, int os) {
    int r = get_global_id(0), m = get_global_id(1);
    if (r >= R || m >= M) return;
    int ob = at(&dk, 1, m);
    ov[ob + r * os] = sk[m * R + r];
    oi[ob + r * os] = si[m * R + r];
}
