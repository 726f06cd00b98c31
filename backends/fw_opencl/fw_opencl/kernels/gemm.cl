// Matrix products C[b] = A[b] @ B[b], C contiguous (batch, M, N).
//
// Build defines: T (element type), IS_FLOAT (1 for float/double: use mad()),
// TM, TN (register block of the CPU kernel), WG_M, WG_N, KWG, WPT_M, WPT_N (tiles of the
// local-memory GPU kernel). Three paths (the host picks one):
//   gemm_direct  any strides, bounds-checked, one output per work-item: small or odd
//                products and integer dtypes.
//   pack         copies A or B (any strides, any batch stride) into zero-padded panels,
//   pack_elem    so the fast kernels need no bounds checks and read memory in order
//                (pack: a row of a narrow CPU panel per work-item; pack_elem: one
//                element per work-item, coalesced, for the wide GPU panels).
//   gemm_reg     (CPUs) each work-item computes a TM x TN block from packed panels of
//                width TM and TN: one sequential stream each, vector loads of B.
//   gemm_local   (GPUs) a work-group computes a WG_M x WG_N tile from K-slices staged in
//                local memory; each work-item computes WPT_M x WPT_N outputs.

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#if IS_FLOAT
#define MAD(a, b, c) ((a) * (b) + (c))  // contracted to fma by -cl-mad-enable
#else
#define MAD(a, b, c) ((a) * (b) + (c))
#endif

// -- direct: C[b, i, j] = sum_k A[b, i, k] B[b, k, j] (+ bias[j]) with element strides
__kernel void gemm_direct(__global T *C, __global const T *A, __global const T *B,
                          int M, int N, int K,
                          long a_off, long a_sb, long a_si, long a_sk,
                          long b_off, long b_sb, long b_sk, long b_sj,
                          __global const T *bias, long bias_off, long bias_s, int has_bias) {
    int j = get_global_id(0), i = get_global_id(1), b = get_global_id(2);
    if (i >= M || j >= N) return;
    const __global T *a = A + a_off + b * a_sb + i * a_si;
    const __global T *p = B + b_off + b * b_sb + j * b_sj;
    T acc = 0;
    for (int k = 0; k < K; ++k)
        acc = MAD(a[k * a_sk], p[k * b_sk], acc);
    if (has_bias)
        acc += bias[bias_off + j * bias_s];
    C[((long)b * M + i) * N + j] = acc;
}

// -- pack: dst[b][p][k][w] = src(b, row p*W + w, col k), zero outside R x K -----------
// A is packed with rows = M, B with rows = N (B's column index), so both become panels
// of W rows laid out k-major: a work-item of the compute kernels reads its panel in
// order. One work-item writes the W elements of one (panel, k).
__kernel void pack(__global T *dst, __global const T *src, long off, long sb, long sr,
                   long sk, int R, int K, int W, int Kp, int Rp) {
    int k = get_global_id(0), p = get_global_id(1), b = get_global_id(2);
    __global T *d = dst + ((long)b * Rp + (long)p * W) * Kp + (long)k * W;
    int n = k < K ? min(W, R - p * W) : 0;
    const __global T *s = src + off + b * sb + (long)p * W * sr + (long)k * sk;
    int w = 0;
    for (; w < n; ++w)
        d[w] = s[w * sr];
    for (; w < W; ++w)
        d[w] = 0;
}

// The same copy with one element per work-item, w fastest: consecutive work-items write
// consecutive words (coalesced on GPUs). Global size (W, Kp, panels * batches).
__kernel void pack_elem(__global T *dst, __global const T *src, long off, long sb,
                        long sr, long sk, int R, int K, int W, int Kp, int Rp) {
    int w = get_global_id(0), k = get_global_id(1), z = get_global_id(2);
    int np = Rp / W, b = z / np, p = z - b * np, r = p * W + w;
    T v = 0;
    if (r < R && k < K)
        v = src[off + b * sb + r * sr + k * sk];
    dst[((long)b * Rp + (long)p * W) * Kp + (long)k * W + w] = v;
}

#ifdef TM
#define VT CAT(T, TN)

// -- CPU kernel: one work-item, one TM x TN block, accumulators in registers ---------
// A's panel is TM rows with unit row stride, B's TN columns with unit column stride, so
// each k reads TM consecutive scalars of A and one aligned TN-vector of B (few pointer
// registers besides the 12 vector accumulators). Both come packed (a_sp = Kp * TM,
// a_sk = TM; b_sp = Kp * TN, b_sk = TN) or in place when their layout allows (the host
// checks): an A with unit row stride (a transposed matrix, a_sp = 0), whose last panel
// is shifted back to end at row M (its rows before `row` belong to the previous panel
// and are not written), and a B with unit column stride and TN-aligned rows
// (b_sp = TN). Handles the K-slice [k0, k0 + kc); `acc_in` adds to what C holds (the
// host splits a long K into slices that stay in cache). `bias` (stride bias_s, used
// when has_bias and !acc_in) is added to every row. C is contiguous (batch, M, N).
// The body, shared by gemm_reg (A's row stride the constant 1) and gemm_reg_rows (a
// row-major A read in place: one stream per row); inlined into each with a_si known.
static inline void gemm_reg_tile(__global T *C, __global const T *A, __global const T *B,
                                 int M, int N, int Kp, int k0, int kc, int acc_in,
                                 long a_off, long a_sb, long a_sp, long a_si, long a_sk,
                                 long b_off, long b_sb, long b_sp, long b_sk,
                                 __global const T *bias, long bias_off, long bias_s,
                                 int has_bias) {
    int b = get_global_id(2), pn, pm;
#if GROUP_M
    // Dimension 0 enumerates the blocks in groups of GROUP_M row panels, row panel
    // fastest: neighbouring work-items share B's panel, and a group's A panels stay in
    // cache while the group sweeps over all of B (the loop order of BLIS).
    {
        int id = get_global_id(0);
        int npm = (M + TM - 1) / TM, npn = (N + TN - 1) / TN;
        int g0 = id / (GROUP_M * npn) * GROUP_M;
        int r = id - g0 * npn;
        int gm = npm - g0 < GROUP_M ? npm - g0 : GROUP_M;
        pn = r / gm;
        pm = g0 + r % gm;
    }
#else
    pn = get_global_id(0);
    pm = get_global_id(1);
#endif
    int row = pm * TM, col = pn * TN;
    int arow = a_sp || row <= M - TM ? row : M - TM;  // first row this block computes
    int ncols = N - col < TN ? N - col : TN;
    const __global T *a = A + a_off + b * a_sb + (a_sp ? pm * a_sp : arow * a_si) + k0 * a_sk;
    const __global T *p = B + b_off + b * b_sb + pn * b_sp + k0 * b_sk;
    VT acc[TM];
#pragma unroll
    for (int i = 0; i < TM; ++i)
        acc[i] = (VT)(0);
#pragma unroll 4
    for (int k = 0; k < kc; ++k) {
        VT bv = *(const __global VT *)(p + k * b_sk);  // aligned: see above
        const __global T *ak = a + k * a_sk;
#pragma unroll
        for (int i = 0; i < TM; ++i)
            acc[i] = MAD((VT)(ak[i * a_si]), bv, acc[i]);
    }
    // Write back (once per block, so plain scalar code; PoCL calls vload/vstore
    // builtins out of line). The union lets the columns be indexed without forcing the
    // accumulators out of registers in the loop above.
    __global T *c = C + ((long)b * M + arow) * N + col;
    const __global T *bs = bias + bias_off + col * bias_s;
    int add_bias = has_bias && !acc_in;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        union { VT v; T s[TN]; } u;
        u.v = acc[i];
        if (arow + i >= row && arow + i < M) {
            if (acc_in)
                for (int q = 0; q < ncols; ++q)
                    c[q] += u.s[q];
            else if (add_bias)
                for (int q = 0; q < ncols; ++q)
                    c[q] = u.s[q] + bs[q * bias_s];
            else
                for (int q = 0; q < ncols; ++q)
                    c[q] = u.s[q];
        }
        c += N;
    }
}

__kernel void gemm_reg(__global T *C, __global const T *A, __global const T *B,
                       int M, int N, int Kp, int k0, int kc, int acc_in,
                       long a_off, long a_sb, long a_sp, long a_sk,
                       long b_off, long b_sb, long b_sp, long b_sk,
                       __global const T *bias, long bias_off, long bias_s, int has_bias) {
    gemm_reg_tile(C, A, B, M, N, Kp, k0, kc, acc_in, a_off, a_sb, a_sp, 1, a_sk,
                  b_off, b_sb, b_sp, b_sk, bias, bias_off, bias_s, has_bias);
}

__kernel void gemm_reg_rows(__global T *C, __global const T *A, __global const T *B,
                            int M, int N, int Kp, int k0, int kc, int acc_in,
                            long a_off, long a_sb, long a_si, long a_sk,
                            long b_off, long b_sb, long b_sp, long b_sk,
                            __global const T *bias, long bias_off, long bias_s,
                            int has_bias) {
    gemm_reg_tile(C, A, B, M, N, Kp, k0, kc, acc_in, a_off, a_sb, 0, a_si, a_sk,
                  b_off, b_sb, b_sp, b_sk, bias, bias_off, bias_s, has_bias);
}
#endif

#ifdef WG_M
// -- GPU kernel: local-memory tiles ------------------------------------------------------
// Work-group (WG_M / WPT_M) x (WG_N / WPT_N) work-items computes a WG_M x WG_N tile of C.
// Packed panels of width WG_M (A) and WG_N (B) make each K-slice of a tile one
// contiguous block, so the loads into local memory are coalesced. Work-item (tx, ty)
// owns rows ty + i * DM and columns tx + j * DN: neighbours read neighbouring local
// words (no bank conflicts) and write neighbouring words of C (coalesced).
#define DM (WG_M / WPT_M)
#define DN (WG_N / WPT_N)
__kernel void gemm_local(__global T *C, __global const T *Ap, __global const T *Bp,
                         int M, int N, int Kp, int k0, int kc, int acc_in,
                         long a_sb, long b_sb) {
    __local T As[KWG][WG_M];
    __local T Bs[KWG][WG_N];
    int tx = get_local_id(0), ty = get_local_id(1), b = get_global_id(2);
    int pn = get_group_id(0), pm = get_group_id(1);
    int tid = ty * DN + tx;
    const __global T *a = Ap + b * a_sb + ((long)pm * Kp + k0) * WG_M;
    const __global T *p = Bp + b * b_sb + ((long)pn * Kp + k0) * WG_N;
    T acc[WPT_M][WPT_N];
    for (int i = 0; i < WPT_M; ++i)
        for (int j = 0; j < WPT_N; ++j)
            acc[i][j] = 0;
    for (int kt = 0; kt < kc; kt += KWG) {
        for (int e = tid; e < KWG * WG_M; e += DM * DN)
            ((__local T *)As)[e] = a[(long)kt * WG_M + e];
        for (int e = tid; e < KWG * WG_N; e += DM * DN)
            ((__local T *)Bs)[e] = p[(long)kt * WG_N + e];
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int k = 0; k < KWG; ++k) {
            T av[WPT_M], bv[WPT_N];
#pragma unroll
            for (int i = 0; i < WPT_M; ++i)
                av[i] = As[k][ty + i * DM];
#pragma unroll
            for (int j = 0; j < WPT_N; ++j)
                bv[j] = Bs[k][tx + j * DN];
#pragma unroll
            for (int i = 0; i < WPT_M; ++i)
#pragma unroll
                for (int j = 0; j < WPT_N; ++j)
                    acc[i][j] = MAD(av[i], bv[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WPT_M; ++i) {
        int row = pm * WG_M + ty + i * DM;
        if (row >= M)
            break;
        __global T *c = C + ((long)b * M + row) * N;
        for (int j = 0; j < WPT_N; ++j) {
            int col = pn * WG_N + tx + j * DN;
            if (col < N)
                c[col] = acc_in ? c[col] + acc[i][j] : acc[i][j];
        }
    }
}
#endif
