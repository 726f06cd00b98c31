// Reductions, arg-reductions, scans and the softmax family. Built once per input type:
//   T      the element type (float, double, int, long, uchar for bool)
//   TMIN, TMAX  its smallest and largest values (the identities of max and min)
//   IS_FLOAT    defined for float and double (compensated sums, NaN rules, softmax)
//
// Every kernel sees its input as rows: an "outer" index m over the kept dims (layout dk,
// operand 0 = the input, optionally operand 1 = the output) and an "inner" index r over the
// reduced dims (layout dr, offsets relative to the row's start).
// Two shapes of kernel: "rows" (one work-group per output, a tree in local memory: reads
// coalesce when r walks contiguous memory) and "cols" (one work-item per output looping
// over r: reads coalesce when neighbouring outputs are neighbours in memory). Both can
// split r into S chunks and write partials, which the host then reduces again.

#define ISNAN(v) ((v) != (v))

// Offset of inner index r: one strided dim is the common case, so skip at()'s div/mod.
inline int roff(const layout *d, int r) {
    if (d->ndim == 1) return r * d->st[0][0];
    return at(d, 0, r);
}

// -- per-op accumulation --------------------------------------------------------------
// ADD_op(a, c, v): fold value v into accumulator a (c: the compensation of Kahan sums).
#ifdef IS_FLOAT
// Once the sum is infinite (an inf in the data, or overflow) the compensation would be
// inf - inf = NaN: it is dropped, so the sum stays +-inf as in PyTorch (NaN still spreads).
#define ADD_sum(a, c, v) { T y_ = (v) - c; T t_ = a + y_;                                 \
                           c = isfinite(t_) ? (t_ - a) - y_ : 0; a = t_; }
#else
#define ADD_sum(a, c, v) { a += (v); }
#endif
#define ADD_prod(a, c, v) { a *= (v); }
// max/min propagate NaN: a NaN accumulator is never replaced, a NaN value always wins
#define ADD_max(a, c, v) { T v_ = (v); if (ISNAN(v_) || v_ > a) a = v_; }
#define ADD_min(a, c, v) { T v_ = (v); if (ISNAN(v_) || v_ < a) a = v_; }
#define ADD_all(a, c, v) { a = a && ((v) != 0); }
#define ADD_any(a, c, v) { a = a || ((v) != 0); }
// COMB_op(a, b): combine two partial results (tree steps)
#define COMB_sum(a, b) ((a) + (b))
#define COMB_prod(a, b) ((a) * (b))
#define COMB_max(a, b) ((ISNAN(a) || (a) >= (b)) ? (a) : (b))
#define COMB_min(a, b) ((ISNAN(a) || (a) <= (b)) ? (a) : (b))
#define COMB_all(a, b) ((uchar)((a) && (b)))
#define COMB_any(a, b) ((uchar)((a) || (b)))

// rows_op: work-group g = m * S + s reduces chunk s of row m into out[g].
// cols_op: work-item g = s * M + m reduces chunk s of row m into out[g].
#define REDUCE_KERNELS(OP, ACC, INIT)                                                      \
__kernel void rows_##OP(__global ACC *out, __global const T *x, const layout dk,           \
                        const layout dr, int R, int S, int chunk, __local ACC *buf) {      \
    int g = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);                \
    int m = g / S, s = g - m * S;                                                          \
    int base = at(&dk, 0, m);                                                              \
    int hi = min(R, (s + 1) * chunk);                                                      \
    ACC a = INIT, c = 0;                                                                   \
    for (int r = s * chunk + lid; r < hi; r += wg) ADD_##OP(a, c, x[base + roff(&dr, r)]);  \
    buf[lid] = a;                                                                          \
    barrier(CLK_LOCAL_MEM_FENCE);                                                          \
    for (int h = wg >> 1; h > 0; h >>= 1) {                                                \
        if (lid < h) buf[lid] = COMB_##OP(buf[lid], buf[lid + h]);                         \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
    }                                                                                      \
    if (lid == 0) out[g] = buf[0];                                                         \
}                                                                                          \
__kernel void cols_##OP(__global ACC *out, __global const T *x, const layout dk,           \
                        const layout dr, int R, int M, int S, int chunk) {                 \
    int g = get_global_id(0);                                                              \
    if (g >= M * S) return;                                                                \
    int s = g / M, m = g - s * M;                                                          \
    int base = at(&dk, 0, m);                                                              \
    int hi = min(R, (s + 1) * chunk);                                                      \
    ACC a = INIT, c = 0;                                                                   \
    for (int r = s * chunk; r < hi; ++r) ADD_##OP(a, c, x[base + roff(&dr, r)]);           \
    out[g] = a;                                                                            \
}

REDUCE_KERNELS(sum, T, 0)
REDUCE_KERNELS(prod, T, 1)
REDUCE_KERNELS(max, T, TMIN)
REDUCE_KERNELS(min, T, TMAX)
REDUCE_KERNELS(all, uchar, 1)
REDUCE_KERNELS(any, uchar, 0)

// -- argmax / argmin --------------------------------------------------------------------
// Is (a, ia) preferred over (b, ib)? NaN beats everything (NumPy and PyTorch return the
// first NaN for both argmax and argmin); ties go to the smaller index.
inline bool arg_better(T a, int ia, T b, int ib, int mx) {
    bool an = ISNAN(a), bn = ISNAN(b);
    if (an || bn) return an && (!bn || ia < ib);
    if (a == b) return ia < ib;
    return mx ? a > b : a < b;
}

// Tree over (value, index) pairs in local memory; the winner ends in slot 0.
inline void arg_tree(__local T *bv, __local int *bi, int lid, int wg, int mx) {
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = wg >> 1; h > 0; h >>= 1) {
        if (lid < h && arg_better(bv[lid + h], bi[lid + h], bv[lid], bi[lid], mx)) {
            bv[lid] = bv[lid + h];
            bi[lid] = bi[lid + h];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// Group g = m * S + s: the best of chunk s of row m. With S == 1 the index goes straight
// to out[m]; otherwise (value, index) partials go to pv/pi for arg_merge.
__kernel void arg_rows(__global long *out, __global T *pv, __global int *pi,
                       __global const T *x, const layout dk, const layout dr, int R, int S,
                       int chunk, int mx, __local T *bv, __local int *bi) {
    int g = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    int m = g / S, s = g - m * S;
    int base = at(&dk, 0, m);
    int hi = min(R, (s + 1) * chunk);
    T best = 0;
    int bidx = INT_MAX;  // "nothing yet": loses every comparison on the index
    for (int r = s * chunk + lid; r < hi; r += wg) {
        T v = x[base + roff(&dr, r)];
        if (bidx == INT_MAX || arg_better(v, r, best, bidx, mx)) { best = v; bidx = r; }
    }
    bv[lid] = best;
    bi[lid] = bidx;
    // empty slots (bidx == INT_MAX) must lose: give them the worst value of the order
    if (bidx == INT_MAX) bv[lid] = mx ? TMIN : TMAX;
    arg_tree(bv, bi, lid, wg, mx);
    if (lid == 0) {
        if (S == 1) out[m] = bi[0];
        else { pv[g] = bv[0]; pi[g] = bi[0]; }
    }
}

// One group per row m: the best of the S partials of arg_rows.
__kernel void arg_merge(__global long *out, __global const T *pv, __global const int *pi,
                        int S, int mx, __local T *bv, __local int *bi) {
    int m = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    T best = mx ? TMIN : TMAX;
    int bidx = INT_MAX;
    for (int s = lid; s < S; s += wg) {
        T v = pv[m * S + s];
        int i = pi[m * S + s];
        if (bidx == INT_MAX || arg_better(v, i, best, bidx, mx)) { best = v; bidx = i; }
    }
    bv[lid] = best;
    bi[lid] = bidx;
    arg_tree(bv, bi, lid, wg, mx);
    if (lid == 0) out[m] = bi[0];
}

// One work-item per output, looping over the row.
__kernel void arg_cols(__global long *out, __global const T *x, const layout dk,
                       const layout dr, int R, int mx) {
    int m = get_global_id(0);
    if (m >= dk.n) return;
    int base = at(&dk, 0, m);
    T best = x[base];
    int bidx = 0;
    for (int r = 1; r < R; ++r) {
        T v = x[base + roff(&dr, r)];
        if (arg_better(v, r, best, bidx, mx)) { best = v; bidx = r; }
    }
    out[m] = bidx;
}

// -- inclusive scans (cumsum, cumprod) --------------------------------------------------
// Rows along one dim: dk has operand 0 = input and operand 1 = output over the other dims;
// xs / os are the strides of the scanned dim. bool scans are "or" (sum) and "and" (prod),
// matching a cast of NumPy's integer cumsum / cumprod back to bool.
#ifdef IS_BOOL
#define SCOMB(a, b, prod) ((uchar)((prod) ? ((a) && (b)) : ((a) || (b))))
#define SLOAD(v) ((uchar)((v) != 0))
#else
#define SCOMB(a, b, prod) ((prod) ? (a) * (b) : (a) + (b))
#define SLOAD(v) (v)
#endif

__kernel void scan_cols(__global T *out, __global const T *x, const layout dk, int R,
                        int xs, int os, int prod) {
    int m = get_global_id(0);
    if (m >= dk.n) return;
    int xb = at(&dk, 0, m), ob = at(&dk, 1, m);
    T a = prod ? 1 : 0;
    for (int r = 0; r < R; ++r) {
        a = SCOMB(a, SLOAD(x[xb + r * xs]), prod);
        out[ob + r * os] = a;
    }
}

// One work-group per row: tiles of wg elements, a Hillis-Steele scan of each tile in local
// memory, plus the running total of the tiles before it.
__kernel void scan_rows(__global T *out, __global const T *x, const layout dk, int R,
                        int xs, int os, int prod, __local T *buf) {
    int m = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    int xb = at(&dk, 0, m), ob = at(&dk, 1, m);
    T ident = prod ? 1 : 0;
    T carry = ident;
    for (int t0 = 0; t0 < R; t0 += wg) {
        int r = t0 + lid;
        T v = r < R ? SLOAD(x[xb + r * xs]) : ident;
        buf[lid] = v;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int off = 1; off < wg; off <<= 1) {
            T w = lid >= off ? buf[lid - off] : ident;
            barrier(CLK_LOCAL_MEM_FENCE);
            v = SCOMB(w, v, prod);
            buf[lid] = v;
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (r < R) out[ob + r * os] = SCOMB(carry, v, prod);
        carry = SCOMB(carry, buf[wg - 1], prod);
        barrier(CLK_LOCAL_MEM_FENCE);  // everyone has read buf[wg - 1] before it changes
    }
}

// -- softmax / log_softmax --------------------------------------------------------------
// One pass keeps a running (max, sum of exp(x - max)), rescaling the sum when the max
// grows; a second pass writes. A -inf never contributes (and never makes exp(-inf + inf)).
// A +inf makes the sum NaN, hence the whole row, as PyTorch's exp(x - max) does (inf - inf).
#ifdef IS_FLOAT
inline T sm_scale(T old_m, T new_m) { return old_m == -INFINITY ? 0 : exp(old_m - new_m); }

inline void sm_add(T *mm, T *ss, T v) {
    if (v > *mm) { *ss = *ss * sm_scale(*mm, v) + (v == INFINITY ? (T)NAN : (T)1); *mm = v; }
    else if (v != -INFINITY) *ss += exp(v - *mm);  // a NaN, or a second +inf, lands here
}

inline void sm_write(__global T *out, __global const T *x, int xb, int ob, int r0, int R,
                     int step, int xs, int os, T mm, T ss, int logsm) {
    if (logsm) {
        T ls = log(ss);  // (x - max) - log(sum), not x - (max + log(sum)): no cancellation
        for (int r = r0; r < R; r += step) out[ob + r * os] = (x[xb + r * xs] - mm) - ls;
    } else {
        T inv = 1 / ss;
        for (int r = r0; r < R; r += step) out[ob + r * os] = exp(x[xb + r * xs] - mm) * inv;
    }
}

__kernel void softmax_cols(__global T *out, __global const T *x, const layout dk, int R,
                           int xs, int os, int logsm) {
    int m = get_global_id(0);
    if (m >= dk.n) return;
    int xb = at(&dk, 0, m), ob = at(&dk, 1, m);
    T mm = -INFINITY, ss = 0;
    for (int r = 0; r < R; ++r) sm_add(&mm, &ss, x[xb + r * xs]);
    sm_write(out, x, xb, ob, 0, R, 1, xs, os, mm, ss, logsm);
}

__kernel void softmax_rows(__global T *out, __global const T *x, const layout dk, int R,
                           int xs, int os, int logsm, __local T *bm, __local T *bs) {
    int m = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    int xb = at(&dk, 0, m), ob = at(&dk, 1, m);
    T mm = -INFINITY, ss = 0;
    for (int r = lid; r < R; r += wg) sm_add(&mm, &ss, x[xb + r * xs]);
    bm[lid] = mm;
    bs[lid] = ss;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = wg >> 1; h > 0; h >>= 1) {
        if (lid < h) {
            T m1 = bm[lid], m2 = bm[lid + h];
            T mx = m1 >= m2 ? m1 : m2;  // never NaN: sm_add only raises it on v > max
            bs[lid] = bs[lid] * sm_scale(m1, mx) + bs[lid + h] * sm_scale(m2, mx);
            bm[lid] = mx;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    sm_write(out, x, xb, ob, lid, R, wg, xs, os, bm[0], bs[0], logsm);
}
#endif
