// out = cond ? a : b over strided, broadcast operands; slots 0 out, 1 cond, 2 a, 3 b.
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> cond: array<u32>;
@group(0) @binding(3) var<storage, read_write> a: array<$T>;
@group(0) @binding(4) var<storage, read_write> b: array<$T>;

@compute @workgroup_size(64)
fn where_(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    out[i] = select(b[at(3u, i)], a[at(2u, i)], cond[at(1u, i)] != 0u);
}
