// gather / scatter over the index's shape: slot 0 = out, 1 = index, 2 = the other data
// operand, with dim's stride 0 in whichever operand the index addresses; x[0] = that
// operand's stride along dim, x[1] = its size there. The frontend checks bounds; the
// kernels still never touch memory outside [0, size). B moves bits (u32 / vec2<u32>).
@group(0) @binding(1) var<storage, read_write> out: array<$B>;
@group(0) @binding(2) var<storage, read_write> data: array<$B>;
@group(0) @binding(3) var<storage, read_write> index: array<$I>;

// The position an index names (negative ones count from the end), or -1 when it is out of
// range; compared in the index type, so an int64 beyond int32 cannot wrap into range.
fn pos(i: u32) -> i32 {
    let t = index[at(1u, i)];
    let n = $I(xi(1u));
    if (t < -n || t >= n) { return -1; }
    return i32(select(t, t + n, t < $I(0)));
}

@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let j = pos(i);
    if (j < 0 || j >= xi(1u)) { return; }
    out[at(0u, i)] = data[at(2u, i) + j * xi(0u)];
}

@compute @workgroup_size(64)
fn scatter(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let j = pos(i);
    if (j < 0 || j >= xi(1u)) { return; }
    out[at(0u, i) + j * xi(0u)] = data[at(2u, i)];
}
