// exp/log/sin/cos used by num_float.wgsl: the f32 builtins.
fn exp_(x: f32) -> f32 { return exp(x); }
fn log_(x: f32) -> f32 { return log(x); }
fn sin_(x: f32) -> f32 { return sin(x); }
fn cos_(x: f32) -> f32 { return cos(x); }
// A zero with the sign bit of x: on the bits, since a compiler may treat x * 0 as +0.
fn zero_as_(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0x80000000u); }

// atan2 with C's special cases, which the builtin leaves to the driver (lavapipe gives
// atan2(0, 0) = 3 pi / 4 and numbers for NaN): NaN in, NaN out; y = +-0 gives +-0 or
// +-pi by the sign bit of x. The other cases, infinities included, the builtin gets right.
fn atan2_(y: f32, x: f32) -> f32 {
    if (isnan_(x) || isnan_(y)) { return x + y; }
    if (y == 0.0) {
        let neg_x = (bitcast<u32>(x) >> 31u) != 0u;  // also -0
        return select(y, select(3.1415927, -3.1415927, (bitcast<u32>(y) >> 31u) != 0u), neg_x);
    }
    return atan2(y, x);
}
