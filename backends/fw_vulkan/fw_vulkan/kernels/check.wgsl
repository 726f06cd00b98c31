// The deferred index check of `check_index_range`: any element of the strided integer
// view (slot 0 over `shape`) outside [0, x[1]) and not equal to x[2] (the ignored value)
// sets flags[x[0]], this check's slot; the host reads the flags at its next wait.
@group(0) @binding(1) var<storage, read_write> flags: array<u32>;
@group(0) @binding(2) var<storage, read_write> v: array<$I>;

@compute @workgroup_size(64)
fn check_range(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let t = v[at(0u, i)];
    if (t != $I(xi(2u)) && (t < $I(0) || t >= $I(xi(1u)))) { flags[xi(0u)] = 1u; }
}
