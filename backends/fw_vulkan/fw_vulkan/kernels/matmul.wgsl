// Batched matmul. A is (n, k) with strides slot 0 = (batch, row, k), B is (k, m) with
// slot 1 = (batch, k, col); offsets off[0], off[1]; x = (n, m, k, first batch, bias
// stride, has bias, accumulate, first row); off[3] = first column (the host splits
// outputs beyond one dispatch's work-groups into blocks). Out is contiguous (batch, n, m); with x[5] != 0 the bias
// (m,) at off[2] is added per column as the outputs are written (the fused matmul_bias);
// with x[6] != 0 the products are added to out (the host splits a long K into slices, so
// that no invocation loops past runtime.LOOP_TRIPS). Two entry points (linalg.py picks one per product):
//   matmul   - 64 x 64 output tile per 16 x 16 work-group, a 4 x 4 block of outputs per
//              invocation kept in registers, K staged through work-group memory 16 deep;
//   matmul16 - 16 x 16 tile, one output per invocation (thin products: more work-groups).
// $P pads the work-group rows: 1 for 32-bit types (strided stores then fall in distinct
// banks), 0 for 64-bit ones (keeps the two tiles within WebGPU's 16 KiB).
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> a: array<$T>;
@group(0) @binding(3) var<storage, read_write> b: array<$T>;
@group(0) @binding(4) var<storage, read_write> bias: array<$T>;  // `out` again without one

fn bias_at(col: i32) -> $T {
    if (xi(5u) == 0) { return $T(0); }
    return bias[m.off[2] + col * xi(4u)];
}

// out[p] = v + bias, or out[p] + v + bias when accumulating.
fn store(p: i32, v: $T, col: i32) {
    var base = bias_at(col);
    if (xi(6u) != 0) { base += out[p]; }
    out[p] = base + v;
}

// ---- matmul: register-blocked ----
var<workgroup> sa: array<array<$T, 16 + $P>, 64>;   // [row][k] of the A slice
var<workgroup> sb: array<array<$T, 64 + $P>, 16>;   // [k][col] of the B slice

// Per invocation: where its 4 staged elements of each slice sit in the tile. ga = (row, k,
// row step, k step) of A element i = ga.xy + i * ga.zw; gb the same as (k, col, ...) for B.
var<private> ga: vec4<i32>;
var<private> gb: vec4<i32>;
var<private> abase: i32;   // A offset of (batch, tile row 0, k 0)
var<private> bbase: i32;   // B offset of (batch, k 0, tile col 0)
var<private> rows: i32;    // rows of A left from the tile's first one
var<private> cols: i32;    // columns of B left from the tile's first one
var<private> col0: i32;    // the tile's first column

fn load_a(k0: i32, i: i32) -> $T {
    let p = ga.xy + i * ga.zw;
    let kk = k0 + p.y;
    if (p.x < rows && kk < xi(2u)) { return a[abase + p.x * stride(0u, 1u) + kk * stride(0u, 2u)]; }
    return $T(0);
}

fn load_b(k0: i32, i: i32) -> $T {
    let p = gb.xy + i * gb.zw;
    let kk = k0 + p.x;
    if (p.y < cols && kk < xi(2u)) { return b[bbase + kk * stride(1u, 1u) + p.y * stride(1u, 2u)]; }
    return $T(0);
}

fn slice_a(k0: i32) -> vec4<$T> {
    return vec4<$T>(load_a(k0, 0), load_a(k0, 1), load_a(k0, 2), load_a(k0, 3));
}

fn slice_b(k0: i32) -> vec4<$T> {
    return vec4<$T>(load_b(k0, 0), load_b(k0, 1), load_b(k0, 2), load_b(k0, 3));
}

fn put(va: vec4<$T>, vb: vec4<$T>) {
    for (var i = 0; i < 4; i++) {
        let p = ga.xy + i * ga.zw;
        sa[p.x][p.y] = va[i];
        let q = gb.xy + i * gb.zw;
        sb[q.x][q.y] = vb[i];
    }
}

// Row r of this invocation's block (tile row r, columns l.x + 16 j) to out.
fn write_row(r: i32, cx: i32, o: i32, v: vec4<$T>) {
    if (r >= rows) { return; }
    for (var j = 0; j < 4; j++) {
        let c = cx + 16 * j;
        if (c < cols) { store(o + r * xi(1u) + c, v[j], col0 + c); }
    }
}

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
    let k = xi(2u);
    let bt = i32(w.z) + xi(3u);
    let row0 = i32(w.y) * 64 + xi(7u);
    col0 = i32(w.x) * 64 + m.off[3];
    rows = xi(0u) - row0;
    cols = xi(1u) - col0;
    abase = m.off[0] + bt * stride(0u, 0u) + row0 * stride(0u, 1u);
    bbase = m.off[1] + bt * stride(1u, 0u) + col0 * stride(1u, 2u);
    // Loads: neighbouring invocations walk the operand's smaller stride, so global reads
    // coalesce for transposed operands too. A: k fastest (16 k x 16 rows, 4 row blocks)
    // or rows fastest (64 rows x 4 k, 4 k blocks); B likewise with columns.
    let lid = i32(l.y * 16u + l.x);
    ga = select(vec4<i32>(lid % 64, lid / 64, 0, 4), vec4<i32>(lid / 16, lid % 16, 16, 0),
                abs(stride(0u, 2u)) <= abs(stride(0u, 1u)));
    gb = select(vec4<i32>(lid / 64, lid % 64, 4, 0), vec4<i32>(lid % 16, lid / 16, 0, 16),
                abs(stride(1u, 1u)) < abs(stride(1u, 2u)));
    // Outputs of this invocation: rows l.y + 16 i, columns l.x + 16 j (i, j < 4), so the
    // work-group reads of sb and the writes of out are consecutive across l.x.
    var c0 = vec4<$T>();
    var c1 = vec4<$T>();
    var c2 = vec4<$T>();
    var c3 = vec4<$T>();
    // The next slice is fetched into registers while the current one is multiplied.
    var va = slice_a(0);
    var vb = slice_b(0);
    for (var k0 = 0; k0 < k; k0 += 16) {
        put(va, vb);
        workgroupBarrier();
        if (k0 + 16 < k) {
            va = slice_a(k0 + 16);
            vb = slice_b(k0 + 16);
        }
        for (var t = 0u; t < 16u; t++) {
            let bv = vec4<$T>(sb[t][l.x], sb[t][l.x + 16u], sb[t][l.x + 32u], sb[t][l.x + 48u]);
            c0 += sa[l.y][t] * bv;
            c1 += sa[l.y + 16u][t] * bv;
            c2 += sa[l.y + 32u][t] * bv;
            c3 += sa[l.y + 48u][t] * bv;
        }
        workgroupBarrier();
    }
    let o = (bt * xi(0u) + row0) * xi(1u) + col0;
    let y = i32(l.y);
    let x = i32(l.x);
    write_row(y, x, o, c0);
    write_row(y + 16, x, o, c1);
    write_row(y + 32, x, o, c2);
    write_row(y + 48, x, o, c3);
}

// ---- matmul16: one output per invocation ----
var<workgroup> ta: array<array<$T, 16>, 16>;
var<workgroup> tb: array<array<$T, 16>, 16>;

@compute @workgroup_size(16, 16)
fn matmul16(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
    let n = xi(0u);
    let mm = xi(1u);
    let k = xi(2u);
    let bt = i32(w.z) + xi(3u);
    let row = i32(w.y * 16u + l.y) + xi(7u);
    let col = i32(w.x * 16u + l.x) + m.off[3];
    let ab = m.off[0] + bt * stride(0u, 0u);
    let bb = m.off[1] + bt * stride(1u, 0u);
    var acc = $T(0);
    for (var k0 = 0; k0 < k; k0 += 16) {
        let ka = k0 + i32(l.x);
        let kb = k0 + i32(l.y);
        var va = $T(0);
        var vb = $T(0);
        if (row < n && ka < k) { va = a[ab + row * stride(0u, 1u) + ka * stride(0u, 2u)]; }
        if (col < mm && kb < k) { vb = b[bb + kb * stride(1u, 1u) + col * stride(1u, 2u)]; }
        ta[l.y][l.x] = va;
        tb[l.y][l.x] = vb;
        workgroupBarrier();
        for (var t = 0u; t < 16u; t++) { acc += ta[l.y][t] * tb[t][l.x]; }
        workgroupBarrier();
    }
    if (row < n && col < mm) { store((bt * n + row) * mm + col, acc, col); }
}
