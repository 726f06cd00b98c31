// Batched matmul with 16 x 16 tiles in work-group memory. A is (n, k) with strides
// slot 0 = (batch, row, k), B is (k, m) with slot 1 = (batch, k, col); offsets off[0],
// off[1]; x = (n, m, k, first batch). Out is contiguous (batch, n, m).
@group(0) @binding(1) var<storage, read_write> out: array<$T>;
@group(0) @binding(2) var<storage, read_write> a: array<$T>;
@group(0) @binding(3) var<storage, read_write> b: array<$T>;

var<workgroup> ta: array<array<$T, 16>, 16>;
var<workgroup> tb: array<array<$T, 16>, 16>;

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
    let n = xi(0u);
    let mm = xi(1u);
    let k = xi(2u);
    let bt = i32(w.z) + xi(3u);
    let row = i32(w.y * 16u + l.y);
    let col = i32(w.x * 16u + l.x);
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
    if (row < n && col < mm) { out[(bt * n + row) * mm + col] = acc; }
}
