// exp/log/sin/cos used by num_float.wgsl: the f32 builtins.
fn exp_(x: f32) -> f32 { return exp(x); }
// lavapipe's log/log2 flush a denormal argument to the smallest normal (log(1e-45) gave
// -88.03): a denormal is m * 2^-149 with m its bits, so its log is taken from f32(m), exactly.
fn denormal_(x: f32) -> bool { let b = bitcast<u32>(x); return b > 0u && b < 0x00800000u; }
fn log_(x: f32) -> f32 {
    if (denormal_(x)) { return log(f32(bitcast<u32>(x))) - 103.27892990343185; }
    return log(x);
}
fn log2_(x: f32) -> f32 {
    if (denormal_(x)) { return log2(f32(bitcast<u32>(x))) - 149.0; }
    return log2(x);
}
fn sin_(x: f32) -> f32 { return sin(x); }
fn cos_(x: f32) -> f32 { return cos(x); }
// A zero with the sign bit of x: on the bits, since a compiler may treat x * 0 as +0.
fn zero_as_(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0x80000000u); }

// atan, atan2, asin and acos written out: lavapipe's builtins are off by up to 4e-4
// (asin(0.5) = 0.52339) and give atan(NaN) = 0. atan: Cephes' atanf (argument reduction
// to |z| <= tan(pi / 8), then an odd polynomial; ~1 ulp); the sign is taken from the bits,
// so atan(-0) is -0.
fn atan_(x: f32) -> f32 {
    if (isnan_(x)) { return x; }
    let a = abs(x);
    var y = 0.0;
    var z = a;
    if (a > 2.414213562373095) {
        y = 1.5707963267948966;
        z = -1.0 / a;
    } else if (a > 0.41421356237309503) {
        y = 0.7853981633974483;
        z = (a - 1.0) / (a + 1.0);
    }
    let zz = z * z;
    y += (((8.05374449538e-2 * zz - 1.38776856032e-1) * zz + 1.99777106478e-1) * zz
          - 3.33329491539e-1) * zz * z + z;
    return select(y, -y, (bitcast<u32>(x) >> 31u) != 0u);
}

fn signbit_(x: f32) -> bool { return (bitcast<u32>(x) >> 31u) != 0u; }

// atan2 with C's special cases: NaN in, NaN out; y = +-0 gives +-0 or +-pi by the sign
// bit of x; infinities give multiples of pi / 4.
fn atan2_(y: f32, x: f32) -> f32 {
    let pi = 3.1415927410125732;
    if (isnan_(x) || isnan_(y)) { return x + y; }
    var r: f32;
    if (y == 0.0) {
        r = select(0.0, pi, signbit_(x));
    } else if (isinf_(x) && isinf_(y)) {
        r = select(0.7853981633974483, 2.356194490192345, x < 0.0);
    } else if (isinf_(x)) {
        r = select(0.0, pi, x < 0.0);
    } else if (x == 0.0 || isinf_(y)) {
        r = 1.5707963267948966;
    } else {
        r = atan_(abs(y / x));
        if (x < 0.0) { r = pi - r; }
    }
    return select(r, -r, signbit_(y));
}

fn asin_(x: f32) -> f32 { return atan2_(x, sqrt((1.0 - x) * (1.0 + x))); }
fn acos_(x: f32) -> f32 { return atan2_(sqrt((1.0 - x) * (1.0 + x)), x); }
