// scatter-add without atomics (64-bit types): one invocation adds the elements x[2] to
// x[3] in order (the host dispatches ranges, so that no loop runs past runtime.LOOP_TRIPS).
// Slow but exact and deterministic; used only where no atomic fits the type.
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> data: array<$T>;
@group(0) @binding(3) var<storage, read_write> index: array<$I>;

@compute @workgroup_size(1)
fn scatter_add_serial() {
    for (var i = u32(xi(2u)); i < u32(xi(3u)); i++) {
        let t = index[at(1u, i)];
        let n = $I(xi(1u));
        if (t < -n || t >= n) { continue; }  // compared in the index type: no wrap-around
        let j = i32(select(t, t + n, t < $I(0)));
        let p = at(0u, i) + j * xi(0u);
        out[p] = out[p] + data[at(2u, i)];
    }
}
