// Strided copy that moves bits: B is u32 (4-byte elements) or vec2<u32> (8-byte).
// Slot 0 = destination, slot 1 = source (stride 0 on broadcast dims: `full` copies a
// one-element constant this way).
@group(0) @binding(1) var<storage, read_write> dst: array<$B>;
@group(0) @binding(2) var<storage, read_write> src: array<$B>;

@compute @workgroup_size(64)
fn copy(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    dst[at(0u, i)] = src[at(1u, i)];
}

// dst and src in one buffer (an in-place copy between two views of one tensor).
@compute @workgroup_size(64)
fn copy_same(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    dst[at(0u, i)] = dst[at(1u, i)];
}
