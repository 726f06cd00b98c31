// 2-d max and average pooling and their gradients (after num_float helpers and
// window.wgsl). Forward: item (plane nc, oh, ow) computes one output from a strided input.
// Gradients gather: item (nc, h, w) sums over the windows covering input pixel (h, w) in a
// fixed order (deterministic, no atomics). Outputs are contiguous.
// q(j): 0 C, 1 H, 2 W, 3 OH, 4 OW, 5 KH, 6 KW, 7 sh, 8 sw, 9 ph, 10 pw, 11 dh, 12 dw,
// 13..16 strides (n, c, h, w) of the strided operand (x forward, grad backward),
// 17 its offset, 18 count_include_pad, 19 divisor_override (0: none). I: int64 storage.
@group(0) @binding(1) var<storage, read_write> dst: array<$T>;
@group(0) @binding(2) var<storage, read_write> src: array<$T>;
@group(0) @binding(3) var<storage, read_write> ind: array<$I>;

// Start of plane nc (= n*C + c) in the strided operand.
fn plane(nc: i32) -> i32 { return q(17u) + (nc / q(0u)) * q(13u) + (nc % q(0u)) * q(14u); }

// Max over the window, padding skipped. The index starts at the first in-bounds cell (as
// PyTorch's does), a larger value replaces it, and the first NaN wins for good. Indices
// are flat h * W + w within the input plane.
@compute @workgroup_size(64)
fn max_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let ii = i32(i);
    let ow = ii % q(4u);
    let oh = (ii / q(4u)) % q(3u);
    let sb = plane(ii / q(4u) / q(3u));
    let h0 = oh * q(7u) - q(9u);
    let w0 = ow * q(8u) - q(10u);
    var mx = $NEGINF;
    var best = -1;
    for (var kh = 0; kh < q(5u); kh++) {
        let h = h0 + kh * q(11u);
        if (h < 0 || h >= q(1u)) { continue; }
        for (var kw = 0; kw < q(6u); kw++) {
            let w = w0 + kw * q(12u);
            if (w < 0 || w >= q(2u)) { continue; }
            let v = src[sb + h * q(15u) + w * q(16u)];
            if (best < 0 || v > mx || isnan_(v)) {  // PyTorch's test: the last NaN wins
                mx = v;
                best = h * q(2u) + w;
            }
        }
    }
    dst[i] = mx;
    ind[i] = $I(best);
}

// Max-pool gradient, gather form (needs the geometry the indices were made with); ind is
// contiguous (N*C, OH, OW). A window covering (h, w) only between its dilated cells cannot
// have chosen it, so the index comparison alone decides.
@compute @workgroup_size(64)
fn max_pool_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let ii = i32(i);
    let w = ii % q(2u);
    let h = (ii / q(2u)) % q(1u);
    let nc = ii / q(2u) / q(1u);
    let sb = plane(nc);
    let ib = nc * q(3u) * q(4u);
    let me = h * q(2u) + w;
    let oh1 = win_hi(h, q(9u), q(7u), q(3u));
    let ow0 = win_lo(w, q(10u), q(6u), q(12u), q(8u));
    let ow1 = win_hi(w, q(10u), q(8u), q(4u));
    var acc = $T(0);
    for (var oh = win_lo(h, q(9u), q(5u), q(11u), q(7u)); oh < oh1; oh++) {
        for (var ow = ow0; ow < ow1; ow++) {
            if (i32(ind[ib + oh * q(4u) + ow]) == me) { acc += src[sb + oh * q(15u) + ow * q(16u)]; }
        }
    }
    dst[i] = acc;
}

// The extent of window o along one axis that its sum is divided by, counted as PyTorch
// does; the divisor is the product over both axes (or divisor_override).
fn avg_span(o: i32, s: i32, pad: i32, K: i32, size: i32) -> i32 {
    let lo = o * s - pad;
    let hi = min(lo + K, size + pad);
    return select(min(hi, size) - max(lo, 0), hi - lo, q(18u) != 0);
}

@compute @workgroup_size(64)
fn avg_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let ii = i32(i);
    let ow = ii % q(4u);
    let oh = (ii / q(4u)) % q(3u);
    let sb = plane(ii / q(4u) / q(3u));
    let h0 = oh * q(7u) - q(9u);
    let w0 = ow * q(8u) - q(10u);
    let h1 = min(h0 + q(5u), q(1u));
    let w1 = min(w0 + q(6u), q(2u));
    var acc = $T(0);
    for (var h = max(h0, 0); h < h1; h++) {
        for (var w = max(w0, 0); w < w1; w++) { acc += src[sb + h * q(15u) + w * q(16u)]; }
    }
    var div = q(19u);
    if (div == 0) {
        div = avg_span(oh, q(7u), q(9u), q(5u), q(1u)) * avg_span(ow, q(8u), q(10u), q(6u), q(2u));
    }
    dst[i] = acc / $T(div);
}

@compute @workgroup_size(64)
fn avg_pool_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let ii = i32(i);
    let w = ii % q(2u);
    let h = (ii / q(2u)) % q(1u);
    let sb = plane(ii / q(2u) / q(1u));
    let oh1 = win_hi(h, q(9u), q(7u), q(3u));
    let ow0 = win_lo(w, q(10u), q(6u), 1, q(8u));
    let ow1 = win_hi(w, q(10u), q(8u), q(4u));
    var acc = $T(0);
    for (var oh = win_lo(h, q(9u), q(5u), 1, q(7u)); oh < oh1; oh++) {
        let dh = avg_span(oh, q(7u), q(9u), q(5u), q(1u));
        for (var ow = ow0; ow < ow1; ow++) {
            var d = q(19u);
            if (d == 0) { d = dh * avg_span(ow, q(8u), q(10u), q(6u), q(2u)); }
            acc += src[sb + oh * q(15u) + ow * q(16u)] / $T(d);
        }
    }
    dst[i] = acc;
}
