// Prepended to every kernel file. `$NAME` placeholders are filled in by the runtime
// (runtime.render) per variant: element types, op expressions, work-group sizes.

// Kernel parameters: one 256-byte block per dispatch, bound with a dynamic offset.
// See layout.py for the packing. Operand slot k has strides st[2k], st[2k+1] (8 dims).
struct Meta {
    n: u32, nd: u32, nd2: u32, p: u32,
    shape: array<vec4<u32>, 2>,
    shape2: array<vec4<u32>, 2>,
    st: array<vec4<i32>, 8>,
    off: vec4<i32>,
    x: array<vec4<i32>, 2>,
};
@group(0) @binding(0) var<uniform> m: Meta;

fn stride(k: u32, j: u32) -> i32 { return m.st[2u * k + j / 4u][j % 4u]; }
fn xi(j: u32) -> i32 { return m.x[j / 4u][j % 4u]; }

// Element offset of linear index i (row-major over `shape`) in operand slot k.
fn at(k: u32, i0: u32) -> i32 {
    var i = i0;
    var o = m.off[k];
    for (var j = i32(m.nd) - 1; j >= 0; j--) {
        let s = m.shape[j / 4][j % 4];
        o += i32(i % s) * stride(k, u32(j));
        i /= s;
    }
    return o;
}

// The same over `shape2`, from offset 0.
fn at2(k: u32, i0: u32) -> i32 {
    var i = i0;
    var o = 0;
    for (var j = i32(m.nd2) - 1; j >= 0; j--) {
        let s = m.shape2[j / 4][j % 4];
        o += i32(i % s) * stride(k, u32(j));
        i /= s;
    }
    return o;
}

// Linear invocation id of a 1-D grid folded into 2-D (x, y) work-groups of size `wg`.
fn linear(g: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
    return g.x + g.y * nwg.x * wg;
}
