// scatter-add (layout as in index.wgsl): out[... index ...] += src. $ADD is the atomic
// update of out[p] by v: atomicAdd on atomic<f32>/<i32>, atomicOr for bool, or a
// compare-exchange loop on the bits of an f32 where float atomics are missing
// (index_add_cas.wgsl, appended only then).
@group(0) @binding(1) var<storage, read_write> out: array<$AT>;
@group(0) @binding(2) var<storage, read_write> data: array<$T>;
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
fn scatter_add(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let j = pos(i);
    if (j < 0 || j >= xi(1u)) { return; }
    let p = at(0u, i) + j * xi(0u);
    let v = data[at(2u, i)];
    $ADD;
}
