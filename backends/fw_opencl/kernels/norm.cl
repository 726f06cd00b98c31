// Layer norm over rows of n contiguous elements, and its gradient. Built per T (float or
// double). Forward and input-gradient kernels run one work-group per row (local size a
// power of two), reducing in local memory; mean and variance are two passes, like the
// composed default (mean, then the mean of squared deviations).

// Tree-sum of buf[0..wg) into buf[0]; every work-item gets the total.
inline T group_sum(__local T *buf, T v) {
    int lid = get_local_id(0), wg = get_local_size(0);
    buf[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = wg >> 1; h > 0; h >>= 1) {
        if (lid < h) buf[lid] += buf[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    T s = buf[0];
    barrier(CLK_LOCAL_MEM_FENCE);   // buf is reused by the next call
    return s;
}

// y = (x - mean) * rstd [* w] [+ b]; mean and rstd per row.
__kernel void layer_norm(__global T *y, __global T *mean, __global T *rstd,
                         __global const T *x, __global const T *w, __global const T *b,
                         int n, int flags, T eps, __local T *buf) {
    int row = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    const __global T *xr = x + (long)row * n;
    __global T *yr = y + (long)row * n;
    T s = 0;
    for (int i = lid; i < n; i += wg) s += xr[i];
    T mu = group_sum(buf, s) / (T)n;
    s = 0;
    for (int i = lid; i < n; i += wg) { T d = xr[i] - mu; s += d * d; }
    T r = rsqrt(group_sum(buf, s) / (T)n + eps);
    for (int i = lid; i < n; i += wg) {
        T v = (xr[i] - mu) * r;
        if (flags & 1) v *= w[i];
        if (flags & 2) v += b[i];
        yr[i] = v;
    }
    if (lid == 0) { mean[row] = mu; rstd[row] = r; }
}

// gx = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)), gxhat = g [* w].
__kernel void layer_norm_grad_x(__global T *gx, __global const T *g, __global const T *x,
                                __global const T *w, __global const T *mean,
                                __global const T *rstd, int n, int flags, __local T *buf) {
    int row = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    long base = (long)row * n;
    T mu = mean[row], r = rstd[row];
    T s1 = 0, s2 = 0;
    for (int i = lid; i < n; i += wg) {
        T gh = (flags & 1) ? g[base + i] * w[i] : g[base + i];
        s1 += gh;
        s2 += gh * (x[base + i] - mu) * r;
    }
    T m1 = group_sum(buf, s1) / (T)n;
    T m2 = group_sum(buf, s2) / (T)n;
    for (int i = lid; i < n; i += wg) {
        T gh = (flags & 1) ? g[base + i] * w[i] : g[base + i];
        T xh = (x[base + i] - mu) * r;
        gx[base + i] = r * (gh - m1 - xh * m2);
    }
}

// Column sums for the weight and bias gradients, in two deterministic stages: work-item
// (j, s) sums rows s, s+S, s+2S, ... of column j into partial[s][j] (gw: g * xhat, gb: g);
// then layer_norm_grad_wb_final adds the S partials of each column.
__kernel void layer_norm_grad_wb(__global T *pw, __global T *pb, __global const T *g,
                                 __global const T *x, __global const T *mean,
                                 __global const T *rstd, int n, int rows, int S, int flags) {
    int j = get_global_id(0), s = get_global_id(1);
    if (j >= n || s >= S) return;
    T aw = 0, ab = 0;
    for (int row = s; row < rows; row += S) {
        long i = (long)row * n + j;
        T gv = g[i];
        ab += gv;
        if (flags & 1) aw += gv * (x[i] - mean[row]) * rstd[row];
    }
    pb[s * n + j] = ab;
    if (flags & 1) pw[s * n + j] = aw;
}

__kernel void layer_norm_grad_wb_final(__global T *gw, __global T *gb, __global const T *pw,
                                       __global const T *pb, int n, int S, int flags) {
    int j = get_global_id(0);
    if (j >= n) return;
    T aw = 0, ab = 0;
    for (int s = 0; s < S; ++s) {
        ab += pb[s * n + j];
        if (flags & 1) aw += pw[s * n + j];
    }
    gb[j] = ab;
    if (flags & 1) gw[j] = aw;
}
