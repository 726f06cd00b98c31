// out (type O, contiguous) = $EXPR of x (type T) read through slot 1.
@group(0) @binding(1) var<storage, read_write> out: array<$O>;
@group(0) @binding(2) var<storage, read_write> src: array<$T>;

@compute @workgroup_size(64)
fn convert(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let x = src[at(1u, i)];
    out[i] = $EXPR;
}
