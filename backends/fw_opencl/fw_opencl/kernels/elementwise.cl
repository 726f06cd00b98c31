// Elementwise kernels: unary, binary, where, cast. One program per element type T,
// built with -DT=<type> -DKIND=<0 bool | 1 integer | 2 floating> [-DUT=<unsigned T>]
// [-DCHUNKED=1]. Every op comes in a contiguous form (no index math) and a strided form
// (operands read in place through a `layout`); binary ops also take a scalar operand
// by value (suffix _vs: tensor op scalar, _sv: scalar op tensor) so nothing is uploaded.
//
// Iteration: on CPU devices (CHUNKED) each work-item walks one contiguous chunk of
// `chunk` elements: few work-items, long vectorisable loops, no index division per
// element. On GPUs the host launches a grid of work-groups and each work-item strides
// by the global size, so neighbouring work-items touch neighbouring elements.
//
// `p` (an int4) carries n, chunk and the element offsets of the inputs; the output is
// always a fresh contiguous buffer written from index 0.

#ifdef CHUNKED
#define FOR_EACH(n, chunk)                                                   \
    int i0_ = (int)get_global_id(0) * (chunk);                               \
    int e_ = ((n) - i0_ < (chunk)) ? (n) : i0_ + (chunk);                    \
    for (int i = i0_; i < e_; ++i)
#else
#define FOR_EACH(n, chunk)                                                   \
    for (int i = (int)get_global_id(0); i < (n); i += (int)get_global_size(0))
#endif

// A cursor over a layout: the multi-index of an element and the offsets of the
// operands there. Strided loops walk each innermost row with constant strides and only
// carry into the outer dimensions at the end of a row.
typedef struct {
    int idx[MAXD];
    int o[4];
} cursor;

inline void cur_init(cursor *c, const layout *d, int nops, int i) {
    for (int k = 0; k < nops; ++k) c->o[k] = d->off[k];
    for (int j = d->ndim - 1; j >= 0; --j) {
        int s = d->shape[j];
        int q = i % s;
        c->idx[j] = q;
        i /= s;
        for (int k = 0; k < nops; ++k) c->o[k] += q * d->st[k][j];
    }
}

// Advance by `len` elements, `len` no more than what is left of the current row.
inline void cur_skip(cursor *c, const layout *d, int nops, int len) {
    int j = d->ndim - 1;
    if (j < 0) return;
    for (int k = 0; k < nops; ++k) c->o[k] += len * d->st[k][j];
    c->idx[j] += len;
    if (c->idx[j] < d->shape[j]) return;
    for (; j >= 0; --j) {
        if (c->idx[j] < d->shape[j]) return;
        for (int k = 0; k < nops; ++k) c->o[k] -= d->shape[j] * d->st[k][j];
        c->idx[j] = 0;
        if (j > 0) {
            for (int k = 0; k < nops; ++k) c->o[k] += d->st[k][j - 1];
            c->idx[j - 1] += 1;
        }
    }
}

// STRIDED_LOOP(d, chunk, nops, BODY) runs BODY for each linear index `i` of this
// work-item, where OFF(d, k) is the element offset of operand k (1..3) at `i`.
#ifdef CHUNKED
#define INNER_STRIDE(d, k) ((d).ndim ? (d).st[k][(d).ndim - 1] : 0)
#define STRIDED_LOOP(d, chunk, nops, BODY)                                   \
    {                                                                        \
        int r_ = (int)get_global_id(0) * (chunk);                            \
        int e_ = ((d).n - r_ < (chunk)) ? (d).n : r_ + (chunk);              \
        int row_ = (d).ndim ? (d).shape[(d).ndim - 1] : 1;                   \
        const int s1_ = INNER_STRIDE(d, 1), s2_ = INNER_STRIDE(d, 2);        \
        const int s3_ = INNER_STRIDE(d, 3);                                  \
        cursor c_;                                                           \
        if (r_ < e_) cur_init(&c_, &(d), nops, r_);                          \
        while (r_ < e_) {                                                    \
            int left_ = row_ - ((d).ndim ? c_.idx[(d).ndim - 1] : 0);        \
            int len_ = (e_ - r_ < left_) ? e_ - r_ : left_;                  \
            const int o1_ = c_.o[1], o2_ = c_.o[2], o3_ = c_.o[3];           \
            for (int t_ = 0; t_ < len_; ++t_) {                              \
                const int i = r_ + t_;                                       \
                BODY                                                         \
            }                                                                \
            r_ += len_;                                                      \
            cur_skip(&c_, &(d), nops, len_);                                 \
        }                                                                    \
    }
#define OFF(d, k) (o##k##_ + t_ * s##k##_)
#else
#define STRIDED_LOOP(d, chunk, nops, BODY)                                   \
    for (int i = (int)get_global_id(0); i < (d).n; i += (int)get_global_size(0)) { BODY }
#define OFF(d, k) at(&(d), k, i)
#endif

// ---------------------------------------------------------------------------------------
// Kernel makers. `expr` reads `x` (and `y` for binary ops).

#define UNARY(name, OT, expr)                                                          \
__kernel void u_##name(__global OT *restrict out, __global const T *restrict a,       \
                       const int4 p) {                                                 \
    FOR_EACH(p.x, p.y) { T x = a[p.z + i]; out[i] = (expr); }                          \
}                                                                                      \
__kernel void us_##name(__global OT *restrict out, __global const T *restrict a,      \
                        const layout d, const int chunk) {                             \
    STRIDED_LOOP(d, chunk, 2, T x = a[OFF(d, 1)]; out[i] = (expr);)                  \
}

#define BINARY(name, OT, expr)                                                         \
__kernel void b_##name(__global OT *restrict out, __global const T *a,                \
                       __global const T *b, const int4 p) {                            \
    FOR_EACH(p.x, p.y) { T x = a[p.z + i]; T y = b[p.w + i]; out[i] = (expr); }        \
}                                                                                      \
__kernel void b_##name##_vs(__global OT *restrict out, __global const T *restrict a,  \
                            const int4 p, const T y) {                                 \
    FOR_EACH(p.x, p.y) { T x = a[p.z + i]; out[i] = (expr); }                          \
}                                                                                      \
__kernel void b_##name##_sv(__global OT *restrict out, __global const T *restrict b,  \
                            const int4 p, const T x) {                                 \
    FOR_EACH(p.x, p.y) { T y = b[p.z + i]; out[i] = (expr); }                          \
}                                                                                      \
__kernel void bs_##name(__global OT *restrict out, __global const T *a,               \
                        __global const T *b, const layout d, const int chunk) {        \
    STRIDED_LOOP(d, chunk, 3, T x = a[OFF(d, 1)]; T y = b[OFF(d, 2)]; out[i] = (expr);) \
}                                                                                      \
__kernel void bs_##name##_vs(__global OT *restrict out, __global const T *restrict a, \
                             const layout d, const int chunk, const T y) {             \
    STRIDED_LOOP(d, chunk, 2, T x = a[OFF(d, 1)]; out[i] = (expr);)                  \
}                                                                                      \
__kernel void bs_##name##_sv(__global OT *restrict out, __global const T *restrict b, \
                             const layout d, const int chunk, const T x) {             \
    STRIDED_LOOP(d, chunk, 2, T y = b[OFF(d, 1)]; out[i] = (expr);)                  \
}

#define CAST(name, DT, expr)                                                           \
__kernel void c_##name(__global DT *restrict out, __global const T *restrict a,       \
                       const int4 p) {                                                 \
    FOR_EACH(p.x, p.y) { T x = a[p.z + i]; out[i] = (expr); }                          \
}                                                                                      \
__kernel void cs_##name(__global DT *restrict out, __global const T *restrict a,      \
                        const layout d, const int chunk) {                             \
    STRIDED_LOOP(d, chunk, 2, T x = a[OFF(d, 1)]; out[i] = (expr);)                  \
}

// ---------------------------------------------------------------------------------------
// Ops every type has.

#define ONE ((T)1)
#define ZERO ((T)0)

UNARY(logical_not, uchar, (uchar)(x == ZERO))
UNARY(sign, T, (x > ZERO) ? ONE : ((x < ZERO) ? (T)(-1) : ZERO))  // sign(nan) = 0

BINARY(eq, uchar, (uchar)(x == y))
BINARY(ne, uchar, (uchar)(x != y))
BINARY(lt, uchar, (uchar)(x < y))
BINARY(le, uchar, (uchar)(x <= y))
BINARY(gt, uchar, (uchar)(x > y))
BINARY(ge, uchar, (uchar)(x >= y))
BINARY(logical_and, uchar, (uchar)((x != ZERO) && (y != ZERO)))
BINARY(logical_or, uchar, (uchar)((x != ZERO) || (y != ZERO)))
BINARY(logical_xor, uchar, (uchar)((x != ZERO) != (y != ZERO)))

__kernel void where_c(__global T *restrict out, __global const uchar *c, __global const T *a,
                      __global const T *b, const int4 p, const int ob) {
    // p.z: offset of c, p.w: offset of a, ob: offset of b
    FOR_EACH(p.x, p.y) { out[i] = c[p.z + i] ? a[p.w + i] : b[ob + i]; }
}

__kernel void where_s(__global T *restrict out, __global const uchar *c, __global const T *a,
                      __global const T *b, const layout d, const int chunk) {
    STRIDED_LOOP(d, chunk, 4, out[i] = c[OFF(d, 1)] ? a[OFF(d, 2)] : b[OFF(d, 3)];)
}

// where with one operand a scalar passed by value (_vs: `b` is the scalar, _sv: `a`).
__kernel void where_c_vs(__global T *restrict out, __global const uchar *c,
                         __global const T *a, const int4 p, const T s) {
    FOR_EACH(p.x, p.y) { out[i] = c[p.z + i] ? a[p.w + i] : s; }
}

__kernel void where_c_sv(__global T *restrict out, __global const uchar *c,
                         __global const T *b, const int4 p, const T s) {
    FOR_EACH(p.x, p.y) { out[i] = c[p.z + i] ? s : b[p.w + i]; }
}

__kernel void where_s_vs(__global T *restrict out, __global const uchar *c,
                         __global const T *a, const layout d, const int chunk, const T s) {
    STRIDED_LOOP(d, chunk, 3, out[i] = c[OFF(d, 1)] ? a[OFF(d, 2)] : s;)
}

__kernel void where_s_sv(__global T *restrict out, __global const uchar *c,
                         __global const T *b, const layout d, const int chunk, const T s) {
    STRIDED_LOOP(d, chunk, 3, out[i] = c[OFF(d, 1)] ? s : b[OFF(d, 2)];)
}

// relu's gradient from its output in one pass: 0 where out <= 0, else grad (torch's
// threshold_backward: a NaN output passes its gradient). p.z: offset of g, p.w: of o.
__kernel void relu_bwd(__global T *restrict out, __global const T *g, __global const T *o,
                       const int4 p) {
    FOR_EACH(p.x, p.y) { out[i] = o[p.w + i] <= 0 ? (T)0 : g[p.z + i]; }
}

CAST(bool, uchar, (uchar)(x != ZERO))
CAST(int32, int, (int)x)
CAST(int64, long, (long)x)
CAST(float32, float, (float)x)
#ifdef HAVE_FP64
CAST(float64, double, (double)x)
#endif

// ---------------------------------------------------------------------------------------
#if KIND == 2  // floating point

// PyTorch's and NumPy's sigmoid, without overflow for large |x|.
inline T sigmoid_(T x) {
    T e = exp(-fabs(x));
    T r = ONE / (ONE + e);
    return x >= ZERO ? r : e * r;
}

// tanh that reaches +-1 where the correctly rounded value is +-1 (|x| > 9.01 in float, 19.06
// in double): PoCL's builtin stops one ulp short (tanh(-10) = -0.99999994), so gelu's
// 1 + tanh(...) of a large negative x was not 0 (gelu(-1e13) = -3e5, gelu(-inf) = -inf).
inline T tanh_(T x) {
    return fabs(x) > (sizeof(T) == 4 ? (T)9.1 : (T)19.1) ? copysign(ONE, x) : tanh(x);
}

// Python's floor division (NumPy's npy_divmod): the quotient is rounded so that
// q * b + r == a, r the remainder below.
inline T floordiv_(T a, T b) {
    T mod = fmod(a, b);
    if (b == ZERO) return a / b;
    T div = (a - mod) / b;
    if (mod != ZERO && ((b < ZERO) != (mod < ZERO))) div -= ONE;
    if (div == ZERO) return copysign(ZERO, a / b);
    T fl = floor(div);
    if (div - fl > (T)0.5) fl += ONE;
    return fl;
}

// PyTorch's remainder: a zero keeps fmod's sign (the dividend's), unlike Python's.
inline T remainder_(T a, T b) {
    T mod = fmod(a, b);
    if (mod != ZERO && ((b < ZERO) != (mod < ZERO))) mod += b;
    return mod;
}

UNARY(neg, T, -x)
UNARY(abs, T, fabs(x))
UNARY(exp, T, exp(x))
UNARY(log, T, log(x))
UNARY(log1p, T, log1p(x))
UNARY(expm1, T, expm1(x))
UNARY(sqrt, T, sqrt(x))
UNARY(rsqrt, T, ONE / sqrt(x))  // not the built-in rsqrt: that one may be approximate
UNARY(sin, T, sin(x))
UNARY(cos, T, cos(x))
UNARY(tan, T, tan(x))
UNARY(tanh, T, tanh_(x))
UNARY(sigmoid, T, sigmoid_(x))
UNARY(relu, T, (x < ZERO) ? ZERO : x)  // relu(nan) = nan
UNARY(erf, T, erf(x))
UNARY(floor, T, floor(x))
UNARY(ceil, T, ceil(x))
UNARY(round, T, rint(x))  // half to even
UNARY(trunc, T, trunc(x))
UNARY(reciprocal, T, ONE / x)
UNARY(asin, T, asin(x))
UNARY(acos, T, acos(x))
UNARY(atan, T, atan(x))
UNARY(sinh, T, sinh(x))
UNARY(cosh, T, cosh(x))
UNARY(log2, T, log2(x))
UNARY(log10, T, log10(x))
UNARY(exp2, T, exp2(x))

BINARY(add, T, x + y)
BINARY(sub, T, x - y)
BINARY(mul, T, x * y)
BINARY(div, T, x / y)
BINARY(floor_divide, T, floordiv_(x, y))
BINARY(remainder, T, remainder_(x, y))
BINARY(pow, T, pow(x, y))
BINARY(maximum, T, (x > y || isnan(x)) ? x : y)  // NaN wins, as in PyTorch
BINARY(minimum, T, (x < y || isnan(x)) ? x : y)
BINARY(atan2, T, atan2(x, y))

// ---------------------------------------------------------------------------------------
#elif KIND == 1  // signed integers; arithmetic wraps (done in UT, where overflow is defined)

// Division by zero is caught by the frontend; the guards keep the kernels from trapping
// (x / 0 and MIN / -1 fault on x86).
inline T floordiv_(T a, T b) {
    if (b == ZERO) return ZERO;
    if (b == (T)(-1)) return (T)((UT)0 - (UT)a);
    T q = a / b;
    if ((a % b != ZERO) && ((a < ZERO) != (b < ZERO))) q -= ONE;
    return q;
}

inline T remainder_(T a, T b) {
    if (b == ZERO || b == (T)(-1)) return ZERO;
    T r = a % b;
    if (r != ZERO && ((r < ZERO) != (b < ZERO))) r += b;
    return r;
}

inline T truncdiv_(T a, T b) {
    if (b == ZERO) return ZERO;
    if (b == (T)(-1)) return (T)((UT)0 - (UT)a);
    return a / b;
}

// PyTorch's integer power: by squaring; negative exponents give 1 / a truncated.
inline T pow_(T a, T b) {
    if (b < ZERO) {
        if (a == ONE) return ONE;
        if (a == (T)(-1)) return (b & ONE) ? (T)(-1) : ONE;
        return ZERO;
    }
    UT r = 1, base = (UT)a;
    while (b) {
        if (b & ONE) r *= base;
        base *= base;
        b >>= 1;
    }
    return (T)r;
}

UNARY(neg, T, (T)((UT)0 - (UT)x))
UNARY(abs, T, (T)abs(x))
UNARY(relu, T, (x < ZERO) ? ZERO : x)
UNARY(floor, T, x)
UNARY(ceil, T, x)
UNARY(round, T, x)
UNARY(trunc, T, x)
UNARY(bitwise_not, T, ~x)

BINARY(add, T, (T)((UT)x + (UT)y))
BINARY(sub, T, (T)((UT)x - (UT)y))
BINARY(mul, T, (T)((UT)x * (UT)y))
BINARY(div, T, truncdiv_(x, y))
BINARY(floor_divide, T, floordiv_(x, y))
BINARY(remainder, T, remainder_(x, y))
BINARY(pow, T, pow_(x, y))
BINARY(maximum, T, max(x, y))
BINARY(minimum, T, min(x, y))
BINARY(bitwise_and, T, x & y)
BINARY(bitwise_or, T, x | y)
BINARY(bitwise_xor, T, x ^ y)

// ---------------------------------------------------------------------------------------
#else  // bool, stored as uchar 0/1

UNARY(abs, T, x)
UNARY(relu, T, x)
UNARY(floor, T, x)
UNARY(ceil, T, x)
UNARY(round, T, x)
UNARY(trunc, T, x)
UNARY(bitwise_not, T, (uchar)(x == ZERO))

BINARY(add, T, x | y)
BINARY(mul, T, x & y)
BINARY(maximum, T, x | y)
BINARY(minimum, T, x & y)
BINARY(bitwise_and, T, x & y)
BINARY(bitwise_or, T, x | y)
BINARY(bitwise_xor, T, x ^ y)

#endif
