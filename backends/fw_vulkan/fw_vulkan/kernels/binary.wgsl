// Binary elementwise kernel over strided operands (after a num_*.wgsl helper file for T).
// Slot 0 = out (contiguous), 1 = a, 2 = b. $EXPR is the op, written in terms of
// `a`, `b`; T is the input type, O the output type.
@group(0) @binding(1) var<storage, read_write> out: array<$O>;
@group(0) @binding(2) var<storage, read_write> in1: array<$T>;
@group(0) @binding(3) var<storage, read_write> in2: array<$T>;

@compute @workgroup_size(64)
fn binary(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let a = in1[at(1u, i)];
    let b = in2[at(2u, i)];
    out[i] = $EXPR;
}
