// 2-d max and average pooling and their gradients. Built per T (float or double).
// Forward kernels: work-item (oh * OW + ow, n*C + c) computes one output from a strided
// input. Gradient kernels gather: work-item (h * W + w, n*C + c) sums over the windows that
// cover input pixel (h, w), in a fixed order (deterministic, no atomics). Outputs are
// contiguous. The plane is one grid dimension, not two: small planes (13 x 13) padded to
// whole work-groups of 64 along the width left most work-items idle, and PoCL pays for
// every work-item of a group.

#define ISNAN(v) ((v) != (v))

typedef struct {
    int C, H, W, OH, OW;
    int KH, KW, sh, sw, ph, pw, dh, dw;
    int s_n, s_c, s_h, s_w, off;   // strides of the strided operand (x forward, grad backward)
    int count_include_pad, divisor;
    int P;                          // planes N*C (the grid is rounded up past them)
} poolp;

// Max over the window; padding counts as -inf, i.e. is skipped. The index starts at the
// first in-bounds cell (as PyTorch's does), a larger value replaces it, and so does every
// NaN (the last NaN wins, as in PyTorch). Indices are flat h * W + w within the input plane.
__kernel void max_pool(__global T *out, __global long *ind, __global const T *x,
                       const poolp p) {
    int i = get_global_id(0), nc = get_global_id(1);
    if (i >= p.OH * p.OW || nc >= p.P) return;
    int oh = i / p.OW, ow = i - oh * p.OW;
    int n = nc / p.C, c = nc - n * p.C;
    const __global T *src = x + p.off + n * p.s_n + c * p.s_c;
    int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
    T m = -INFINITY;
    int best = -1;
    for (int kh = 0; kh < p.KH; ++kh) {
        int h = h0 + kh * p.dh;
        if (h < 0 || h >= p.H) continue;
        for (int kw = 0; kw < p.KW; ++kw) {
            int w = w0 + kw * p.dw;
            if (w < 0 || w >= p.W) continue;
            T v = src[h * p.s_h + w * p.s_w];
            if (best < 0 || v > m || ISNAN(v)) {  // PyTorch's test: the last NaN wins
                m = v;
                best = h * p.W + w;
            }
        }
    }
    int o = (nc * p.OH + oh) * p.OW + ow;
    out[o] = m;
    ind[o] = best;
}

// Max-pool gradient, gather form: needs the window geometry the indices were made with.
// ind is contiguous (N*C, OH, OW); the grad is strided.
__kernel void max_pool_grad(__global T *out, __global const T *g, __global const long *ind,
                            const poolp p) {
    int i = get_global_id(0), nc = get_global_id(1);
    if (i >= p.H * p.W || nc >= p.P) return;
    int h = i / p.W, w = i - h * p.W;
    int n = nc / p.C, c = nc - n * p.C;
    const __global T *gp = g + p.off + n * p.s_n + c * p.s_c;
    const __global long *ip = ind + nc * p.OH * p.OW;
    long me = h * p.W + w;
    int oh0 = win_lo(h, p.ph, p.KH, p.dh, p.sh), oh1 = win_hi(h, p.ph, p.sh, p.OH);
    int ow0 = win_lo(w, p.pw, p.KW, p.dw, p.sw), ow1 = win_hi(w, p.pw, p.sw, p.OW);
    T acc = 0;
    // a window that covers (h, w) only between its dilated cells cannot have chosen it,
    // so the index comparison alone decides
    for (int oh = oh0; oh < oh1; ++oh)
        for (int ow = ow0; ow < ow1; ++ow)
            if (ip[oh * p.OW + ow] == me) acc += gp[oh * p.s_h + ow * p.s_w];
    out[(nc * p.H + h) * p.W + w] = acc;
}

// Max-pool gradient for windows that cannot share a cell (stride >= dilated extent, as in
// MaxPool2d(2)): after a zero fill, each output writes its grad to the cell it chose. One
// work-item per output and no window loops; each cell has at most one writer.
__kernel void max_pool_grad_disjoint(__global T *out, __global const T *g,
                                     __global const long *ind, const poolp p) {
    int i = get_global_id(0), nc = get_global_id(1);
    int L = p.OH * p.OW;
    if (i >= L || nc >= p.P) return;
    long j = ind[nc * L + i];
    if (j < 0 || j >= p.H * p.W) return;
    int n = nc / p.C, c = nc - n * p.C;
    int oh = i / p.OW, ow = i - oh * p.OW;
    out[nc * p.H * p.W + j] = g[p.off + n * p.s_n + c * p.s_c + oh * p.s_h + ow * p.s_w];
}

// The extent of window o along one axis that its sum is divided by, counted as PyTorch
// does; the divisor is the product over both axes (or divisor_override).
inline int avg_span(int o, int s, int pad, int K, int size, int cip) {
    int lo = o * s - pad, hi = min(lo + K, size + pad);
    return cip ? hi - lo : min(hi, size) - max(lo, 0);
}

__kernel void avg_pool(__global T *out, __global const T *x, const poolp p) {
    int i = get_global_id(0), nc = get_global_id(1);
    if (i >= p.OH * p.OW || nc >= p.P) return;
    int oh = i / p.OW, ow = i - oh * p.OW;
    int n = nc / p.C, c = nc - n * p.C;
    const __global T *src = x + p.off + n * p.s_n + c * p.s_c;
    int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
    int h1 = min(h0 + p.KH, p.H), w1 = min(w0 + p.KW, p.W);
    T acc = 0;
    for (int h = max(h0, 0); h < h1; ++h)
        for (int w = max(w0, 0); w < w1; ++w)
            acc += src[h * p.s_h + w * p.s_w];
    int div = p.divisor ? p.divisor : avg_span(oh, p.sh, p.ph, p.KH, p.H, p.count_include_pad)
                                      * avg_span(ow, p.sw, p.pw, p.KW, p.W, p.count_include_pad);
    out[(nc * p.OH + oh) * p.OW + ow] = acc / (T)div;
}

__kernel void avg_pool_grad(__global T *out, __global const T *g, const poolp p) {
    int i = get_global_id(0), nc = get_global_id(1);
    if (i >= p.H * p.W || nc >= p.P) return;
    int h = i / p.W, w = i - h * p.W;
    int n = nc / p.C, c = nc - n * p.C;
    const __global T *gp = g + p.off + n * p.s_n + c * p.s_c;
    int oh0 = win_lo(h, p.ph, p.KH, 1, p.sh), oh1 = win_hi(h, p.ph, p.sh, p.OH);
    int ow0 = win_lo(w, p.pw, p.KW, 1, p.sw), ow1 = win_hi(w, p.pw, p.sw, p.OW);
    T acc = 0;
    for (int oh = oh0; oh < oh1; ++oh) {
        int dh = p.divisor ? p.divisor : avg_span(oh, p.sh, p.ph, p.KH, p.H, p.count_include_pad);
        for (int ow = ow0; ow < ow1; ++ow) {
            int d = p.divisor ? dh : dh * avg_span(ow, p.sw, p.pw, p.KW, p.W, p.count_include_pad);
            acc += gp[oh * p.s_h + ow * p.s_w] / (T)d;
        }
    }
    out[(nc * p.H + h) * p.W + w] = acc;
}
