// Unary elementwise kernel over a strided operand (after a num_*.wgsl helper file for T).
// Slot 0 = out (contiguous), 1 = x. $EXPR is the op, written in terms of
// `x`; T is the input type, O the output type.
@group(0) @binding(1) var<storage, read_write> out: array<$O>;
@group(0) @binding(2) var<storage, read_write> in1: array<$T>;

@compute @workgroup_size(64)
fn unary(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let x = in1[at(1u, i)];
    out[i] = $EXPR;
}
