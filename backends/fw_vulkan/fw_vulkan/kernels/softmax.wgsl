// softmax / log_softmax along one dim (after the num_float helpers of T). Rows as in
// rowops.wgsl: `shape` = the other dims, slot 0 = input strides over them (off[0]),
// slot 1 = output strides (off[1]); x[0] = R, x[1] / x[2] = input / output stride along
// the dim, x[3] = 1 for log_softmax.
// One pass keeps a running (max, sum of exp(x - max)), rescaling the sum when the max
// grows; a second pass writes. A -inf never contributes (and never makes exp(-inf + inf));
// a NaN lands in the sum and spreads, as in PyTorch. Rows longer than 64 * CHUNK take fw's
// composed softmax (the loops of one invocation stay bounded: runtime.LOOP_TRIPS).
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> src: array<$T>;

fn rescale(was: $T, now: $T) -> $T { return select(exp_(was - now), $T(0), was == $NEGINF); }

fn add(s: vec2<$T>, v: $T) -> vec2<$T> {  // s = (max, sum)
    // the new max's own term: 1, or NaN for v = +inf (inf - inf), as PyTorch's x - max
    // gives (not exp(v - v): compilers fold v - v to 0)
    // a NaN makes the sum NaN, so the whole row is NaN (as in PyTorch): tested on the bits,
    // since an ordered `v != -inf` is false for NaN and dropped it
    if (isnan_(v)) { return vec2<$T>(s.x, v); }
    if (v > s.x) {
        return vec2<$T>(v, s.y * rescale(s.x, v) + select($T(1), v + $NEGINF, v == -$NEGINF));
    }
    if (v != $NEGINF) { return vec2<$T>(s.x, s.y + exp_(v - s.x)); }
    return s;
}

fn merge(a: vec2<$T>, b: vec2<$T>) -> vec2<$T> {
    let mx = max(a.x, b.x);
    return vec2<$T>(mx, a.y * rescale(a.x, mx) + b.y * rescale(b.x, mx));
}

fn write(xb: i32, ob: i32, r0: i32, step: i32, s: vec2<$T>) {
    let R = xi(0u);
    let xs = xi(1u);
    let os = xi(2u);
    if (xi(3u) != 0) {
        let ls = log_(s.y);  // (x - max) - log(sum): no cancellation
        for (var r = r0; r < R; r += step) { out[ob + r * os] = (src[xb + r * xs] - s.x) - ls; }
    } else {
        let inv = $T(1) / s.y;
        for (var r = r0; r < R; r += step) { out[ob + r * os] = exp_(src[xb + r * xs] - s.x) * inv; }
    }
}

var<workgroup> part: array<vec2<$T>, 64>;

// One work-group per row (long rows): strided partial states, a tree, then all write.
@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) l: u32) {
    let row = w.x + w.y * nw.x;
    let live = row < m.n;  // no early return: every item must reach the barriers
    var s = vec2<$T>($NEGINF, $T(0));
    var xb = 0;
    var ob = 0;
    if (live) {
        xb = at(0u, row);
        ob = at(1u, row);
        for (var r = i32(l); r < xi(0u); r += 64) { s = add(s, src[xb + r * xi(1u)]); }
    }
    part[l] = s;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k >>= 1u) {
        if (l < k) { part[l] = merge(part[l], part[l + k]); }
        workgroupBarrier();
    }
    s = part[0];
    if (live) { write(xb, ob, i32(l), 64, s); }
}

// One item per row (many short rows).
@compute @workgroup_size(64)
fn cols(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let row = linear(g, nw, 64u);
    if (row >= m.n) { return; }
    let xb = at(0u, row);
    var s = vec2<$T>($NEGINF, $T(0));
    for (var r = 0; r < xi(0u); r++) { s = add(s, src[xb + r * xi(1u)]); }
    write(xb, at(1u, row), 0, 1, s);
}
