// Inclusive sum (x[3] = 0) or product (x[3] = 1) along one dim (after a num_*.wgsl helper
// file for T); rows and layouts as in rowops.wgsl. Item i = (row, chunk) of x[4] chunks of
// x[5] elements scans its chunk and leaves the chunk's total in tot[i]; when a row has
// more than one chunk the host scans the totals (the same op, as rows of x[4]) and `carry`
// folds the total of everything before a chunk into it. Loops stay bounded (LOOP_TRIPS).
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> src: array<$T>;
@group(0) @binding(3) var<storage, read_write> tot: array<$T>;

fn op(a: $T, b: $T) -> $T { return select(a + b, a * b, xi(3u) != 0); }

@compute @workgroup_size(64)
fn scan(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    if (i >= m.n) { return; }
    let G = u32(xi(4u));
    let r0 = i32(i % G) * xi(5u);
    let r1 = min(xi(0u), r0 + xi(5u));
    let xs = xi(1u);
    let os = xi(2u);
    let base = at(0u, i / G);
    let ob = at(1u, i / G);
    var acc = src[base + r0 * xs];
    out[ob + r0 * os] = acc;
    for (var r = r0 + 1; r < r1; r++) {
        acc = op(acc, src[base + r * xs]);
        out[ob + r * os] = acc;
    }
    tot[i] = acc;
}

// Item (row, r) of chunk c > 0: out = op(scanned totals of row up to chunk c - 1, out).
@compute @workgroup_size(64)
fn carry(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = linear(g, nw, 64u);
    let R = u32(xi(0u));
    if (i >= m.n * R) { return; }
    let row = i / R;
    let c = i32(i % R) / xi(5u);
    if (c == 0) { return; }
    let o = at(1u, row) + i32(i % R) * xi(2u);
    out[o] = op(tot[i32(row) * xi(4u) + c - 1], out[o]);
}
