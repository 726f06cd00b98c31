// Fused optimizer steps (float32; after num_float helpers and window.wgsl): one kernel
// reads the gradient once and updates the parameter and its state in place, as PyTorch's
// single-tensor SGD and Adam/AdamW. q(0) = flags, q(1..5) = element offsets of the
// buffers in binding order; float scalars qf(8..) (rounded from double on the host).
@group(0) @binding(1) var<storage, read_write> p: array<$T>;
@group(0) @binding(2) var<storage, read_write> g: array<$T>;
@group(0) @binding(3) var<storage, read_write> b1: array<$T>;
@group(0) @binding(4) var<storage, read_write> b2: array<$T>;
@group(0) @binding(5) var<storage, read_write> b3: array<$T>;

const MOMENTUM = 1;
const NESTEROV = 2;
const MAXIMIZE = 4;
const FIRST_STEP = 8;
const WEIGHT_DECAY = 16;
const DECOUPLED = 32;
const AMSGRAD = 64;

fn has(f: i32) -> bool { return (q(0u) & f) != 0; }

// qf: 8 lr, 9 momentum, 10 1 - dampening, 11 weight_decay. b1 = momentum buffer (not read
// without MOMENTUM: the host then binds the parameter there).
@compute @workgroup_size(64)
fn sgd_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = i32(linear(gid, nw, 64u));
    if (i >= i32(m.n)) { return; }
    let pi = q(1u) + i;
    var d = g[q(2u) + i];
    if (has(MAXIMIZE)) { d = -d; }
    if (has(WEIGHT_DECAY)) { d += qf(11u) * p[pi]; }
    if (has(MOMENTUM)) {
        let bi = q(3u) + i;
        var mo = d;
        if (!has(FIRST_STEP)) { mo = qf(9u) * b1[bi] + qf(10u) * d; }
        b1[bi] = mo;
        d = select(mo, d + qf(9u) * mo, has(NESTEROV));
    }
    p[pi] -= qf(8u) * d;
}

// b1 = exp_avg, b2 = exp_avg_sq, b3 = max_exp_avg_sq (not read without AMSGRAD).
// qf: 8 1 - lr * wd, 9 1 - beta1, 10 beta2, 11 1 - beta2, 12 eps, 13 wd,
// 14 step_size = lr / (1 - beta1^t), 15 sqrt(1 - beta2^t).
@compute @workgroup_size(64)
fn adam_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = i32(linear(gid, nw, 64u));
    if (i >= i32(m.n)) { return; }
    let pi = q(1u) + i;
    var grad = g[q(2u) + i];
    if (has(MAXIMIZE)) { grad = -grad; }
    var param = p[pi];
    if (has(DECOUPLED)) { param *= qf(8u); }                       // AdamW
    else if (has(WEIGHT_DECAY)) { grad += qf(13u) * param; }       // Adam's L2 penalty
    let mi_ = q(3u) + i;
    let vi_ = q(4u) + i;
    var mi = b1[mi_];
    mi += qf(9u) * (grad - mi);                                     // lerp(m, grad, 1 - beta1)
    var vi = qf(10u) * b2[vi_] + qf(11u) * grad * grad;
    b1[mi_] = mi;
    b2[vi_] = vi;
    if (has(AMSGRAD)) {
        let xi_ = q(5u) + i;
        let x = b3[xi_];
        vi = select(vi, x, x > vi || isnan_(x));                    // torch.maximum: NaN wins
        b3[xi_] = vi;
    }
    let denom = sqrt(vi) / qf(15u) + qf(12u);
    p[pi] = param - qf(14u) * (mi / denom);
}
