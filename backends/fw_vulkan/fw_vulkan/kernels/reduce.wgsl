// Reductions over rows (after a num_*.wgsl helper file for T). A row is one point of the
// kept dims (`shape`, input strides in slot 0, input offset in off[0]); its R = x[0]
// elements are the reduced dims (`shape2`, input strides in slot 1). A is the
// accumulator/output type; $LOAD turns an input value v into A; $COMBINE merges a and b;
// $IDENT is the identity.
@group(0) @binding(1) var<storage, read_write> out: array<$A>;
@group(0) @binding(2) var<storage, read_write> src: array<$T>;

fn combine(a: $A, b: $A) -> $A { return $COMBINE; }
fn load(j: i32) -> $A { let v = src[j]; return $LOAD; }

var<workgroup> part: array<$A, 64>;

// One work-group per (row, chunk): x[1] = G chunks per row of x[2] elements each (G = 1
// unless a row is longer than a chunk); out[row * G + chunk] gets the chunk's value, and
// the host reduces those partials by another pass. Each item strides over its chunk (a
// bounded loop: see runtime.LOOP_TRIPS), then a tree in shared memory.
@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) l: u32) {
    let wid = w.x + w.y * nw.x;
    let G = u32(xi(1u));
    var acc = $IDENT;
    if (wid < m.n) {
        let r0 = (wid % G) * u32(xi(2u));
        let r1 = min(u32(xi(0u)), r0 + u32(xi(2u)));
        let base = at(0u, wid / G);
        for (var r = r0 + l; r < r1; r += 64u) { acc = combine(acc, load(base + at2(1u, r))); }
    }
    part[l] = acc;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (l < s) { part[l] = combine(part[l], part[l + s]); }
        workgroupBarrier();
    }
    if (l == 0u && wid < m.n) { out[wid] = part[0]; }
}

// One item per row (short rows, many of them).
@compute @workgroup_size(64)
fn cols(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let row = linear(g, nw, 64u);
    if (row >= m.n) { return; }
    let R = u32(xi(0u));
    let base = at(0u, row);
    var acc = $IDENT;
    for (var r = 0u; r < R; r++) { acc = combine(acc, load(base + at2(1u, r))); }
    out[row] = acc;
}
