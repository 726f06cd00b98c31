// Shared by conv.wgsl, pool.wgsl and optim.wgsl: their parameters are not strided
// layouts, so the 32 words of Meta.st serve as a flat list of ints (q) or, bit-cast,
// float32 scalars (qf). The host packs them in nn_ops.py / optim_ops.py (_params).
fn q(j: u32) -> i32 { return m.st[j / 4u][j % 4u]; }
fn qf(j: u32) -> f32 { return bitcast<f32>(m.st[j / 4u][j % 4u]); }

// The outputs o whose window (first cell o*s - p, cells k*d for k < K) covers input
// position i are o in [win_lo, win_hi) (gather-form gradients loop over just these).
fn win_lo(i: i32, p: i32, K: i32, d: i32, s: i32) -> i32 {
    let t = i + p - (K - 1) * d;
    return select((t - 1) / s + 1, 0, t <= 0);
}
fn win_hi(i: i32, p: i32, s: i32, O: i32) -> i32 { return min((i + p) / s + 1, O); }
