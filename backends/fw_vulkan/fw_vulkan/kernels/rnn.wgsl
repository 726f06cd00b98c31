// The LSTM cell and its gradient (after the num_float helpers of T and window.wgsl): one
// invocation per unit (row r, unit j) of the N x H state, item i = r * H + j < m.n. Gate
// rows are 4H wide in PyTorch's order input, forget, cell, output. Outputs are new
// contiguous buffers; inputs are any 2-d views (a broadcast zero state, a slice of h0):
// q(0) = H, then input slot k's (offset, row stride, column stride) at q(1 + 3k).
// The bindings change roles with the entry point (7 storage buffers: within WebGPU's 8):
//   lstm_cell:      1 h, 2 c', 3 act, 4 tanh(c') | inputs 5 gates (slot 0), 6 c (slot 1)
//   lstm_cell_grad: 1 dgates, 2 dc_prev | inputs 3 dh, 4 dc, 5 act, 6 c_prev, 7 tanh(c')
//                   (slots 0..4 in that order)
@group(0) @binding(1) var<storage, read_write> b1: array<$T>;
@group(0) @binding(2) var<storage, read_write> b2: array<$T>;
@group(0) @binding(3) var<storage, read_write> b3: array<$T>;
@group(0) @binding(4) var<storage, read_write> b4: array<$T>;
@group(0) @binding(5) var<storage, read_write> b5: array<$T>;
@group(0) @binding(6) var<storage, read_write> b6: array<$T>;
@group(0) @binding(7) var<storage, read_write> b7: array<$T>;

// Element (r, c) of input slot k.
fn el(k: u32, r: i32, c: i32) -> i32 {
    return q(1u + 3u * k) + r * q(2u + 3u * k) + c * q(3u + 3u * k);
}

@compute @workgroup_size(64)
fn lstm_cell(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let H = q(0u);
    let r = i32(i) / H;
    let j = i32(i) % H;
    // sigmoid_ / tanh_ are the unary ops' own (no overflow for large |x|, NaN kept)
    let gi = sigmoid_(b5[el(0u, r, j)]);
    let gf = sigmoid_(b5[el(0u, r, j + H)]);
    let gg = tanh_(b5[el(0u, r, j + 2 * H)]);
    let go = sigmoid_(b5[el(0u, r, j + 3 * H)]);
    let cn = gf * b6[el(1u, r, j)] + gi * gg;
    let t = tanh_(cn);
    let a = r * 4 * H + j;
    b3[a] = gi;
    b3[a + H] = gf;
    b3[a + 2 * H] = gg;
    b3[a + 3 * H] = go;
    b2[i] = cn;
    b4[i] = t;
    b1[i] = go * t;
}

// From dh (of h = o * tanh(c')) and dc (of c'): the gates' pre-activation gradient and
// dc_prev; the activations' derivatives come from their saved outputs (s' = s - s^2,
// tanh' = 1 - tanh^2).
@compute @workgroup_size(64)
fn lstm_cell_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let H = q(0u);
    let r = i32(i) / H;
    let j = i32(i) % H;
    let gi = b5[el(2u, r, j)];
    let gf = b5[el(2u, r, j + H)];
    let gg = b5[el(2u, r, j + 2 * H)];
    let go = b5[el(2u, r, j + 3 * H)];
    let t = b7[el(4u, r, j)];
    let dh = b3[el(0u, r, j)];
    let d = b4[el(1u, r, j)] + dh * go * ($T(1) - t * t);
    let a = r * 4 * H + j;
    b1[a] = d * gg * (gi - gi * gi);
    b1[a + H] = d * b6[el(3u, r, j)] * (gf - gf * gf);
    b1[a + 2 * H] = d * gi * ($T(1) - gg * gg);
    b1[a + 3 * H] = dh * t * (go - go * go);
    b2[i] = d * gf;
}
