// Row-wise kernels, built per T (float or double): layer norm over rows of n contiguous
// elements and its gradient, and cross-entropy over rows of logits and its gradient. The
// forward and input-gradient kernels run one work-group per row (local size a power of
// two), reducing in local memory; layer norm's mean and variance are two passes, like the
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
    // The mean as x0 + sum(x / n - x0 / n), x0 the row's first element: no overflow for a
    // large common value, and exact for a constant row (so its deviations are 0).
    T x0 = xr[0], c = x0 / (T)n, s = 0;
    for (int i = lid; i < n; i += wg) s += xr[i] / (T)n - c;
    T mu = x0 + group_sum(buf, s);
    s = 0;
    for (int i = lid; i < n; i += wg) { T d = xr[i] - mu; s += d * d; }
    T var = group_sum(buf, s) / (T)n;
    // a variance past the range of T: NaN, not the 0 that rsqrt(inf) would give
    T r = isinf(var) ? (T)NAN : rsqrt(var + eps);
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

// ---------------------------------------------------------------------------------------
// Cross-entropy of rows of C logits against int64 class indices (checked by the caller,
// and never used to address memory out of the row; `ignore` marks rows that count 0).

// Max of buf[0..wg) that keeps a NaN (as max does); every work-item gets it.
inline T group_max(__local T *buf, T v) {
    int lid = get_local_id(0), wg = get_local_size(0);
    buf[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = wg >> 1; h > 0; h >>= 1) {
        if (lid < h) { T o = buf[lid + h]; if (o > buf[lid] || isnan(o)) buf[lid] = o; }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    T m = buf[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return m;
}

// One work-group per row: logp = (x - max) - log(sum(exp(x - max))), loss = -logp[target].
__kernel void cross_entropy(__global T *logp, __global T *loss, __global const T *x,
                            __global const long *t, long ignore, int C, __local T *buf) {
    int row = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    const __global T *xr = x + (long)row * C;
    __global T *lr = logp + (long)row * C;
    T m = -INFINITY;
    for (int i = lid; i < C; i += wg) { T v = xr[i]; if (v > m || isnan(v)) m = v; }
    m = group_max(buf, m);
    T s = 0;
    for (int i = lid; i < C; i += wg) s += exp(xr[i] - m);
    T ls = log(group_sum(buf, s));
    for (int i = lid; i < C; i += wg) lr[i] = (xr[i] - m) - ls;
    if (lid == 0) {
        // a target out of [0, C) is the host's error to raise (check_index_range); the
        // kernel never reads outside the row for it and writes NaN
        long k = t[row];
        loss[row] = k == ignore ? (T)0 : (k < 0 || k >= C) ? (T)NAN : ls - (xr[k] - m);
    }
}

// One work-group: count = the rows not ignored; with flags & 1, total = the sum of the
// losses, divided by count with flags & 2 (the mean).
__kernel void cross_entropy_total(__global T *total, __global T *count, __global const T *loss,
                                  __global const long *t, long ignore, int N, int flags,
                                  __local T *buf) {
    int lid = get_local_id(0), wg = get_local_size(0);
    T s = 0, c = 0;
    for (int i = lid; i < N; i += wg) { s += loss[i]; c += t[i] != ignore; }
    s = group_sum(buf, s);
    c = group_sum(buf, c);
    if (lid == 0) {
        count[0] = c;
        if (flags & 1) total[0] = flags & 2 ? s / c : s;
    }
}

// d loss / d x = (exp(logp) - one_hot(target)) * s_row, s_row = 0 where ignored, else g
// (per row with flags & 1, else 0-d), divided by count with flags & 2 (the mean).
__kernel void cross_entropy_grad(__global T *gx, __global const T *logp, __global const long *t,
                                 __global const T *g, __global const T *count, long ignore,
                                 int N, int C, int flags) {
    int j = get_global_id(0), r = get_global_id(1);
    if (j >= C || r >= N) return;
    long k = t[r], i = (long)r * C + j;
    T s = 0;
    if (k != ignore) {
        s = g[flags & 1 ? r : 0];
        if (flags & 2) s /= count[0];
    }
    gx[i] = (exp(logp[i]) - (j == k ? (T)1 : (T)0)) * s;
}
