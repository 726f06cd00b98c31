// Ops along one dim (after a num_*.wgsl helper file for T): argmax/argmin and sort.
// `shape` = the other dims (the rows); slot 0 = input strides over them (off[0] = input
// offset), slot 1 = output strides (off[1]); x[0] = R (length along dim), x[1] = input
// stride along dim, x[2] = output stride along dim, x[3] = a flag (argmax / descending).
// I is the int64 storage type. Every invocation's loops are bounded (runtime.LOOP_TRIPS):
// long rows take several passes, each pass one dispatch.
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> src: array<$T>;
@group(0) @binding(3) var<storage, read_write> idx: array<$I>;
@group(0) @binding(4) var<storage, read_write> idx_in: array<$I>;

fn after(a: $T, b: $T) -> bool { return (isnan_(a) && !isnan_(b)) || a > b; }  // NaN last

// Whether a goes strictly before b in the sort order (x[3]: descending).
fn before(a: $T, b: $T) -> bool { return select(after(b, a), after(a, b), xi(3u) != 0); }

// argmax (flag 1) / argmin (flag 0) of one chunk: item i = (row, chunk) of x[4] chunks of
// x[5] elements; the chunk's best value goes to out[i], its index to idx[i]. With x[6] != 0 the input is an earlier pass's partials (contiguous, slot 0 =
// row strides) and idx_in holds their indices. First index on ties, NaN wins (PyTorch).
@compute @workgroup_size(64)
fn arg(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let G = u32(xi(4u));
    let r0 = i32(i % G) * xi(5u);
    let r1 = min(xi(0u), r0 + xi(5u));
    let xs = xi(1u);
    let base = at(0u, i / G);
    var best = src[base + r0 * xs];
    var bi = r0;
    for (var r = r0 + 1; r < r1; r++) {
        if (isnan_(best)) { break; }
        let v = src[base + r * xs];
        if (select(after(best, v), after(v, best), xi(3u) != 0) || isnan_(v)) { best = v; bi = r; }
    }
    out[i] = best;
    if (xi(6u) != 0) { idx[i] = idx_in[base + bi * xs]; } else { idx[i] = $I(bi); }
}

// Stable sort, first pass: item (row, r) ranks itself among the elements of its block of
// x[4] (the elements that go before it, ties by position) and writes itself there.
@compute @workgroup_size(64)
fn sort(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    let R = u32(xi(0u));
    if (i >= m.n * R) { return; }
    let row = i / R;
    let r = i32(i % R);
    let B = xi(4u);
    let b0 = r - r % B;
    let b1 = min(i32(R), b0 + B);
    let xs = xi(1u);
    let base = at(0u, row);
    let v = src[base + r * xs];
    var rank = b0;
    for (var j = b0; j < b1; j++) {
        let w = src[base + j * xs];
        if (before(w, v) || (j < r && !before(v, w))) { rank++; }
    }
    let o = at(1u, row) + rank * xi(2u);
    out[o] = v;
    idx[o] = $I(r);
}

// Stable sort, later passes: merge neighbouring sorted runs of x[4] elements. Item (row, r)
// finds its place by a binary search in the other run (ties: the left run first); values
// from src, their indices from idx_in, both laid out as the input (slot 0, x[1]).
@compute @workgroup_size(64)
fn merge(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    let R = u32(xi(0u));
    if (i >= m.n * R) { return; }
    let row = i / R;
    let r = i32(i % R);
    let W = xi(4u);
    let s = r - r % (2 * W);
    let mid = min(i32(R), s + W);
    let e = min(i32(R), s + 2 * W);
    let xs = xi(1u);
    let base = at(0u, row);
    let v = src[base + r * xs];
    var lo = mid;  // left element: count the right run's elements strictly before it
    var hi = e;
    var own = r - s;
    if (r >= mid) {  // right element: count the left run's elements not after it
        lo = s;
        hi = mid;
        own = r - mid;
    }
    let left = r < mid;
    loop {
        if (lo >= hi) { break; }
        let h = (lo + hi) / 2;
        let w = src[base + h * xs];
        if (select(!before(v, w), before(w, v), left)) { lo = h + 1; } else { hi = h; }
    }
    let o = at(1u, row) + (s + own + lo - select(s, mid, left)) * xi(2u);
    out[o] = v;
    idx[o] = idx_in[base + r * xs];
}
