// Convolution as im2col + GEMM (the GEMM is the backend's matmul.wgsl), after window.wgsl.
// The column matrix is laid out [group][k][n][l], k = (cg*KH + kh)*KW + kw a window cell and
// l = oh*OW + ow an output position, so that one batched matmul covers the whole batch:
// (g, Og, K) @ (g, K, N*L). Parameters q(j): 0 N, 1 C, 2 H, 3 W, 4 G, 5 Cg, 6 KH, 7 KW,
// 8 OH, 9 OW, 10 sh, 11 sw, 12 ph, 13 pw, 14 dh, 15 dw, 16..18 column strides of n, group,
// k, 19..22 input strides (n, c, h, w), 23 input offset, 24 O, 25 bias stride,
// 26 bias offset, 27 has bias.
@group(0) @binding(1) var<storage, read_write> dst: array<$T>;
@group(0) @binding(2) var<storage, read_write> src: array<$T>;
@group(0) @binding(3) var<storage, read_write> bias: array<$T>;

// Item (n, c, l) writes the KH*KW window cells of input channel c at output position l;
// zero padding is a bounds check, not a padded copy.
@compute @workgroup_size(64)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let L = q(8u) * q(9u);
    let ii = i32(i);
    let l = ii % L;
    let c = (ii / L) % q(1u);
    let n = ii / L / q(1u);
    let oh = l / q(9u);
    let ow = l % q(9u);
    let g = c / q(5u);
    let cg = c % q(5u);
    let sk = q(18u);
    var d = n * q(16u) + g * q(17u) + cg * q(6u) * q(7u) * sk + l;
    let sb = q(23u) + n * q(19u) + c * q(20u);
    let h0 = oh * q(10u) - q(12u);
    let w0 = ow * q(11u) - q(13u);
    for (var kh = 0; kh < q(6u); kh++) {
        let h = h0 + kh * q(14u);
        let hin = h >= 0 && h < q(2u);
        for (var kw = 0; kw < q(7u); kw++) {
            let w = w0 + kw * q(15u);
            var v = $T(0);
            if (hin && w >= 0 && w < q(3u)) { v = src[sb + h * q(21u) + w * q(22u)]; }
            dst[d] = v;
            d += sk;
        }
    }
}

// col2im in gather form: item (n, c, h, w) sums the column entries of every window cell
// lying on input pixel (h, w), in a fixed order: deterministic, no atomics. Output
// contiguous (N, C, H, W).
@compute @workgroup_size(64)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let ii = i32(i);
    let w = ii % q(3u);
    let h = (ii / q(3u)) % q(2u);
    let nc = ii / q(3u) / q(2u);
    let n = nc / q(1u);
    let c = nc % q(1u);
    let g = c / q(5u);
    let cg = c % q(5u);
    let KW = q(7u);
    let OW = q(9u);
    let sk = q(18u);
    let sb = n * q(16u) + g * q(17u) + cg * q(6u) * KW * sk;
    let oh1 = win_hi(h, q(12u), q(10u), q(8u));
    let ow0 = win_lo(w, q(13u), KW, q(15u), q(11u));
    let ow1 = win_hi(w, q(13u), q(11u), OW);
    var acc = $T(0);
    for (var oh = win_lo(h, q(12u), q(6u), q(14u), q(10u)); oh < oh1; oh++) {
        let th = h + q(12u) - oh * q(10u);
        if (th % q(14u) != 0) { continue; }
        let kh = th / q(14u);
        for (var ow = ow0; ow < ow1; ow++) {
            let tw = w + q(13u) - ow * q(11u);
            if (tw % q(15u) != 0) { continue; }
            acc += src[sb + (kh * KW + tw / q(15u)) * sk + oh * OW + ow];
        }
    }
    dst[i] = acc;
}

// The GEMM result src is (O, N, L); the conv output is (N, O, L), plus bias[o].
@compute @workgroup_size(64)
fn conv_out(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let L = q(8u) * q(9u);
    let ii = i32(i);
    let l = ii % L;
    let o = (ii / L) % q(24u);
    let n = ii / L / q(24u);
    var v = src[(o * q(0u) + n) * L + l];
    if (q(27u) != 0) { v += bias[q(26u) + o * q(25u)]; }
    dst[i] = v;
}
