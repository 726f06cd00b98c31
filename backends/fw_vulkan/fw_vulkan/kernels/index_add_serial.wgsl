// scatter-add without atomics (64-bit types): one invocation adds every element in
// order. Slow but exact and deterministic; used only where no atomic fits the type.
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> data: array<$T>;
@group(0) @binding(3) var<storage, read_write> index: array<$I>;

@compute @workgroup_size(1)
fn scatter_add_serial() {
    for (var i = 0u; i < m.n; i++) {
        var j = i32(index[at(1u, i)]);
        if (j < 0) { j += xi(1u); }
        if (j < 0 || j >= xi(1u)) { continue; }
        let p = at(0u, i) + j * xi(0u);
        out[p] = out[p] + data[at(2u, i)];
    }
}
