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
    if (l >= p.OH * p.OW) return;
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
    int w = get_global_id(0), h = get_global_id(1), nc = get_global_id(2);
    if (w >= p.W) return;
    int n = nc / p.C, c = nc - n * p.C;
    int g = c / p.Cg, cg = c - g * p.Cg;
    const __global T *src = col + n * p.c_sn + g * p.c_sg + cg * p.KH * p.KW * p.c_sk;
    T acc = 0;
    for (int kh = 0; kh < p.KH; ++kh) {
        int th = h + p.ph - kh * p.dh;          // = oh * sh when this cell is on (h, w)
        if (th < 0) break;                      // th only falls with kh
        int oh = th / p.sh;
        if (oh * p.sh != th || oh >= p.OH) continue;
        for (int kw = 0; kw < p.KW; ++kw) {
            int tw = w + p.pw - kw * p.dw;
            if (tw < 0) break;
            int ow = tw / p.sw;
            if (ow * p.sw != tw || ow >= p.OW) continue;
            acc += src[(kh * p.KW + kw) * p.c_sk + oh * p.OW + ow];
        }
    }
    out[(nc * p.H + h) * p.W + w] = acc;
}

// The GEMM result r is (O, N, L); the conv output is (N, O, L), plus bias[o].
__kernel void conv_out(__global T *out, __global const T *r, __global const T *bias,
                       const convp p) {
    int l = get_global_id(0), o = get_global_id(1), n = get_global_id(2);
    int L = p.OH * p.OW;
    if (l >= L) return;
    T v = r[(o * p.N + n) * L + l];
    if (p.has_bias) v += bias[p.b_off + o * p.b_st];
    out[(n * p.O + o) * L + l] = v;
}
