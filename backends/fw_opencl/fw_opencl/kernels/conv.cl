// Convolution as im2col + GEMM (the GEMM is the backend's matmul). Built per T (float or
// double). The column matrix of a conv is laid out [group][k][n][l] with k = (cg*KH+kh)*KW+kw
// the window cell and l = oh*OW+ow the output position, so that one GEMM per group covers
// the whole batch: (Og, K) @ (K, N*L). Its strides come in the parameters, so the same
// kernels serve any layout.

typedef struct {
    int N, C, H, W;          // input
    int G, Cg, KH, KW;       // groups, channels per group, kernel
    int OH, OW, sh, sw;      // output, stride
    int ph, pw, dh, dw;      // padding, dilation
    int c_sn, c_sg, c_sk;    // column strides of n, group, k (l is contiguous)
    int x_sn, x_sc, x_sh, x_sw, x_off;  // strides of the (possibly strided) input
    int O, b_st, b_off, has_bias;       // conv_out: channels, bias stride/offset
} convp;

// im2col: work-item (l, c, n) writes the KH*KW window cells of input channel c at output
// position l. Zero padding is a bounds check, not a padded copy.
__kernel void im2col(__global T *col, __global const T *x, const convp p) {
    int l = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (l >= p.OH * p.OW || c >= p.C) return;
    int oh = l / p.OW, ow = l - oh * p.OW;
    int g = c / p.Cg, cg = c - g * p.Cg;
    __global T *dst = col + n * p.c_sn + g * p.c_sg + cg * p.KH * p.KW * p.c_sk + l;
    const __global T *src = x + p.x_off + n * p.x_sn + c * p.x_sc;
    int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
    for (int kh = 0; kh < p.KH; ++kh) {
        int h = h0 + kh * p.dh;
        bool hin = h >= 0 && h < p.H;
        for (int kw = 0; kw < p.KW; ++kw) {
            int w = w0 + kw * p.dw;
            *dst = (hin && w >= 0 && w < p.W) ? src[h * p.x_sh + w * p.x_sw] : (T)0;
            dst += p.c_sk;
        }
    }
}

// col2im in gather form: work-item (w, h, n*C + c) sums the column entries of every window
// cell that lies on input pixel (h, w). Deterministic (fixed order), no atomics.
// Output contiguous (N, C, H, W).
__kernel void col2im(__global T *out, __global const T *col, const convp p) {
    // the plane is one grid dimension (see pool.cl): no idle work-items past a short row
    int i = get_global_id(0), nc = get_global_id(1);
    if (i >= p.H * p.W || nc >= p.N * p.C) return;
    int h = i / p.W, w = i - h * p.W;
    int n = nc / p.C, c = nc - n * p.C;
    int g = c / p.Cg, cg = c - g * p.Cg;
    const __global T *src = col + n * p.c_sn + g * p.c_sg + cg * p.KH * p.KW * p.c_sk;
    int oh0 = win_lo(h, p.ph, p.KH, p.dh, p.sh), oh1 = win_hi(h, p.ph, p.sh, p.OH);
    int ow0 = win_lo(w, p.pw, p.KW, p.dw, p.sw), ow1 = win_hi(w, p.pw, p.sw, p.OW);
    T acc = 0;
    for (int oh = oh0; oh < oh1; ++oh) {
        int th = h + p.ph - oh * p.sh, kh = th;
        if (p.dh > 1) { kh = th / p.dh; if (kh * p.dh != th) continue; }
        for (int ow = ow0; ow < ow1; ++ow) {
            int tw = w + p.pw - ow * p.sw, kw = tw;
            if (p.dw > 1) { kw = tw / p.dw; if (kw * p.dw != tw) continue; }
            acc += src[(kh * p.KW + kw) * p.c_sk + oh * p.OW + ow];
        }
    }
    out[(nc * p.H + h) * p.W + w] = acc;
}

// (N, O, L) with L contiguous -> contiguous (O, N, L): the conv gradient as GEMM operand.
typedef struct { int N, O, L, s_n, s_o, off; } onlp;
__kernel void to_onl(__global T *out, __global const T *g, const onlp p) {
    int l = get_global_id(0), n = get_global_id(1), o = get_global_id(2);
    if (l >= p.L || n >= p.N) return;
    out[(o * p.N + n) * p.L + l] = g[p.off + n * p.s_n + o * p.s_o + l];
}

// The GEMM result r is (O, N, L); the conv output is (N, O, L), plus bias[o].
__kernel void conv_out(__global T *out, __global const T *r, __global const T *bias,
                       const convp p) {
    int l = get_global_id(0), o = get_global_id(1), n = get_global_id(2);
    int L = p.OH * p.OW;
    if (l >= L || o >= p.O) return;
    T v = r[(o * p.N + n) * L + l];
    if (p.has_bias) v += bias[p.b_off + o * p.b_st];
    out[(n * p.O + o) * L + l] = v;
}
