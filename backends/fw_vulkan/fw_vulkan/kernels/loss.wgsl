// Cross-entropy of (N, C) logits against class targets (after the num_float helpers of T
// and window.wgsl), from logp = log_softmax(x) (contiguous, computed by softmax.wgsl).
// q: 0 N, 1 C, 2 flags (1: reduce, 2: mean, 4: grad per row), 3 ignore_index,
// 4 / 5 target offset / stride, 6 / 7 grad offset / stride, 8 count offset.
// Targets are class indices or ignore_index (the frontend has checked them); one out of
// range anyway is read as ignored, so no kernel touches memory outside logp.
// Bindings by entry point (the target is binding 4, of the index type $I, in both):
//   ce_loss: 1 loss (N), 2 total, 3 count, 4 target, 5 logp
//   ce_grad: 1 grad of x (N, C), 2 logp, 3 count, 4 target, 5 grad of the loss
@group(0) @binding(1) var<storage, read_write> b1: array<$T>;
@group(0) @binding(2) var<storage, read_write> b2: array<$T>;
@group(0) @binding(3) var<storage, read_write> b3: array<$T>;
@group(0) @binding(4) var<storage, read_write> tgt: array<$I>;
@group(0) @binding(5) var<storage, read_write> b5: array<$T>;

// Target class of row r, or -1 where it does not count.
fn class_of(r: i32) -> i32 {
    let t = tgt[q(4u) + r * q(5u)];
    if (t == $I(q(3u)) || t < $I(0) || t >= $I(q(1u))) { return -1; }
    return i32(t);
}

var<workgroup> psum: array<$T, 64>;
var<workgroup> pcnt: array<$T, 64>;

// One work-group: loss[r] = -logp[r, t_r] (0 where ignored), count = the counted rows,
// with flags & 1 total = the sum of the losses (/ count with flags & 2: NaN for none).
@compute @workgroup_size(64)
fn ce_loss(@builtin(local_invocation_index) l: u32) {
    let N = q(0u);
    let C = q(1u);
    var s = $T(0);
    var c = $T(0);
    for (var r = i32(l); r < N; r += 64) {
        let k = class_of(r);
        var v = $T(0);
        if (k >= 0) {
            v = -b5[r * C + k];
            c += $T(1);
        }
        b1[r] = v;
        s += v;
    }
    psum[l] = s;
    pcnt[l] = c;
    workgroupBarrier();
    for (var h = 32u; h > 0u; h >>= 1u) {
        if (l < h) {
            psum[l] += psum[l + h];
            pcnt[l] += pcnt[l + h];
        }
        workgroupBarrier();
    }
    if (l == 0u) {
        b3[0] = pcnt[0];
        if ((q(2u) & 1) != 0) { b2[0] = select(psum[0], psum[0] / pcnt[0], (q(2u) & 2) != 0); }
    }
}

// One item per logit: (softmax - one_hot(target)) * s_r, s_r = 0 for ignored rows, else
// the loss's grad (per row with flags & 4, else 0-d), / count with flags & 2.
@compute @workgroup_size(64)
fn ce_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(gid, nw, 64u);
    if (i >= m.n) { return; }
    let C = q(1u);
    let r = i32(i) / C;
    let k = class_of(r);
    var s = $T(0);
    if (k >= 0) {
        s = b5[q(6u) + select(0, r * q(7u), (q(2u) & 4) != 0)];
        if ((q(2u) & 2) != 0) { s = s / b3[q(8u)]; }
    }
    b1[i] = exp_(b2[i]) * s - select($T(0), s, i32(i) % C == k);
}
