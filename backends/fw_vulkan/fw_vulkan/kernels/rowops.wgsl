// Ops along one dim (after a num_*.wgsl helper file for T): argmax/argmin, scan, sort.
// `shape` = the other dims; slot 0 = input strides over them (off[0] = input offset),
// slot 1 = output strides (off[1]); x[0] = R (length along dim), x[1] = input stride
// along dim, x[2] = output stride along dim, x[3] = a flag (argmax / prod / descending).
// I is the int64 storage type.
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> src: array<$T>;
@group(0) @binding(3) var<storage, read_write> idx: array<$I>;

fn after(a: $T, b: $T) -> bool { return (isnan_(a) && !isnan_(b)) || a > b; }  // NaN last

// argmax (flag 1) / argmin (flag 0), first index on ties, NaN wins (as in PyTorch).
@compute @workgroup_size(64)
fn arg(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let row = linear(g, nw, 64u);
    if (row >= m.n) { return; }
    let R = xi(0u);
    let xs = xi(1u);
    let base = at(0u, row);
    var best = src[base];
    var bi = 0;
    for (var r = 1; r < R; r++) {
        let v = src[base + r * xs];
        if (isnan_(best)) { break; }
        let take = select(after(best, v), after(v, best), xi(3u) != 0) || (isnan_(v));
        if (take) { best = v; bi = r; }
    }
    idx[row] = $I(bi);
}

// Inclusive sum (flag 0) or product (flag 1), one item per row.
@compute @workgroup_size(64)
fn scan(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let row = linear(g, nw, 64u);
    if (row >= m.n) { return; }
    let R = xi(0u);
    let xs = xi(1u);
    let os = xi(2u);
    let base = at(0u, row);
    let ob = at(1u, row);
    var acc = src[base];
    out[ob] = acc;
    for (var r = 1; r < R; r++) {
        let v = src[base + r * xs];
        acc = select(acc + v, acc * v, xi(3u) != 0);
        out[ob + r * os] = acc;
    }
}

// Stable sort by rank: item (row, r) counts the elements that go before it and writes
// itself there. O(R^2) work per row, all in parallel; fine for the rows fw sorts.
@compute @workgroup_size(64)
fn sort(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    let R = u32(xi(0u));
    if (i >= m.n * R) { return; }
    let row = i / R;
    let r = i32(i % R);
    let xs = xi(1u);
    let base = at(0u, row);
    let v = src[base + r * xs];
    let desc = xi(3u) != 0;
    var rank = 0;
    for (var j = 0; j < i32(R); j++) {
        let w = src[base + j * xs];
        let before = select(after(v, w), after(w, v), desc);
        let tie = !after(v, w) && !after(w, v);
        if (before || (tie && j < r)) { rank++; }
    }
    let o = at(1u, row) + rank * xi(2u);
    out[o] = v;
    idx[o] = $I(r);
}
