// Helpers for a floating-point element type T (f32 or f64), after fns_f32/fns_f64.wgsl
// (exp_, log_, sin_, cos_). $ISNAN is the NaN test on
// the bits (x != x may be folded away by a fast-math compiler), a statement list.
fn isnan_(x: $T) -> bool { $ISNAN }
// beyond the largest finite value (false for NaN); `isnan_(x - x)` was folded to false
fn isinf_(x: $T) -> bool { return abs(x) > $T($MAXF); }
fn maxv(a: $T, b: $T) -> $T { return select(max(a, b), a + b, isnan_(a) || isnan_(b)); }
fn minv(a: $T, b: $T) -> $T { return select(min(a, b), a + b, isnan_(a) || isnan_(b)); }
fn sign_(x: $T) -> $T { return select(sign(x), $T(0), isnan_(x)); }
fn relu_(x: $T) -> $T { return select(x, $T(0), x < $T(0)); }
// log_(1 + x) and exp_(x) - 1 accurate near 0 (Goldberg's and Kahan's tricks).
fn log1p_(x: $T) -> $T {
    // a series near 0, where a driver's log(1 + x) may be off in every digit (as expm1_)
    if (abs(x) < $T(1e-5)) { return x * ($T(1) - x * ($T(0.5) - x * ($T(1) / $T(3) - x * $T(0.25)))); }
    let u = $T(1) + x;
    if (u == $T(1) || isinf_(u)) { return select(log_(u), x, u == $T(1)); }
    return log_(u) * x / (u - $T(1));
}
fn expm1_(x: $T) -> $T {
    // a series near 0: a driver's exp(x) for tiny x need not be exactly 1 (lavapipe's
    // is not), and the trick below then loses everything; keeps -0 too
    if (abs(x) < $T(1e-5)) { return x * ($T(1) + x * ($T(0.5) + x / $T(6))); }
    let u = exp_(x);
    if (u == $T(1)) { return x; }
    let um = u - $T(1);
    if (um == $T(-1) || isinf_(u)) { return um; }
    return um * x / log_(u);
}
fn tanh_(x: $T) -> $T {
    // from expm1(-2|x|): no overflow for large |x|, full precision near 0 (and -0 kept)
    if (abs(x) < $T(1e-5)) { return x * ($T(1) - x * x / $T(3)); }
    let e = expm1_($T(-2) * abs(x));
    let t = -e / ($T(2) + e);
    return select(select(t, -t, x < $T(0)), x, isnan_(x));
}
fn sigmoid_(x: $T) -> $T {
    let e = exp_(-abs(x));
    return select(e / ($T(1) + e), $T(1) / ($T(1) + e), x >= $T(0));
}
// erf: Taylor series near 0, else Abramowitz & Stegun 7.1.26 refined (|err| < 1.5e-7).
fn erf_(x: $T) -> $T {
    let a = abs(x);
    if (isnan_(x)) { return x; }
    if (a < $T(0.5)) {
        let z = x * x;
        return x * $T(1.1283791670955126) * ($T(1) + z * ($T(-0.3333333333333333) + z * ($T(0.1)
               + z * ($T(-0.023809523809523808) + z * ($T(0.004629629629629629) + z * $T(-0.0007575757575757576))))));
    }
    let t = $T(1) / ($T(1) + $T(0.3275911) * a);
    let y = $T(1) - t * ($T(0.254829592) + t * ($T(-0.284496736) + t * ($T(1.421413741)
            + t * ($T(-1.453152027) + t * $T(1.061405429))))) * exp_(-a * a);
    return select(y, -y, x < $T(0));
}
// C's fmod: a finite a over an infinite b leaves a (a - b * trunc(a / b) is NaN there),
// and a zero result has a's sign.
fn fmod_(a: $T, b: $T) -> $T {
    if (isinf_(b) && !isinf_(a)) { return a; }
    // b * trunc(a / b) may round past the largest finite value (max % -1.5 gave -inf):
    // halve both near it (exact), as fmod(a, b) = 2 fmod(a / 2, b / 2). Not fma: it is a
    // GLSL.std.450 builtin, which lavapipe gets wrong for doubles.
    let h = select($T(1), $T(0.5), abs(a) > $T($MAXF) * $T(0.5));
    let r = (a * h - b * h * trunc(a / b)) / h;
    return select(r, zero_as_(a), r == $T(0));
}
// NumPy's floor_divide / remainder for floats (Python semantics, from fmod).
fn floordiv_(a: $T, b: $T) -> $T {
    if (b == $T(0)) { return a / b; }
    // past 2^53 a quotient is an integer and the remainder is below its rounding: a / b is
    // the floor quotient (and a - r may round past the largest float: max // -1.5 was -inf)
    if (abs(a / b) >= $T(9007199254740992) && !isinf_(a)) { return a / b; }
    let r = fmod_(a, b);
    var d = (a - r) / b;
    if (r != $T(0) && ((b < $T(0)) != (r < $T(0)))) { d -= $T(1); }
    if (d == $T(0)) { return zero_as_(a / b); }  // zero with the sign of a / b, as PyTorch
    let f = floor(d);
    return select(f, f + $T(1), d - f > $T(0.5));
}
fn remainder_(a: $T, b: $T) -> $T {
    if (b == $T(0)) { return a - a / b * b; }  // NaN
    var r = fmod_(a, b);
    if (r != $T(0) && ((b < $T(0)) != (r < $T(0)))) { r += b; }
    return r;
}
// pow with C99's special cases: negative bases with integral exponents, zeros, ones.
fn pow_(a: $T, b: $T) -> $T {
    if (b == $T(0) || a == $T(1)) { return $T(1); }
    if (isnan_(a) || isnan_(b)) { return a + b; }
    if (a == $T(-1) && b == trunc(b)) {
        // not from exp(b * log(1)): a compiler may fold it to inf * 0 = NaN for b near max;
        // every float past 2^24 (f32) or 2^53 (f64), and inf, is even
        return select($T(1), $T(-1), !isinf_(b) && trunc(b * $T(0.5)) * $T(2) != b);
    }
    if (isinf_(a) && a < $T(0)) {  // C99: -inf ** b, signed only for odd integers b
        let odd = b == trunc(b) && trunc(b * $T(0.5)) * $T(2) != b;
        let r = select($T(0), -a, b > $T(0));
        return select(r, -r, odd);
    }
    if (b == trunc(b) && abs(b) <= $T(64)) {
        // small integral exponents by repeated squaring: x ** 2 is exactly x * x
        var r = $T(1);
        var base = a;
        var e = i32(abs(b));
        loop {
            if (e == 0) { break; }
            if (e % 2 == 1) { r = r * base; }
            base = base * base;
            e = e / 2;
        }
        return select(r, $T(1) / r, b < $T(0));
    }
    let r = exp_(b * log_(abs(a)));
    if (a < $T(0)) {
        if (b != trunc(b)) { return (a - a) / (a - a); }  // NaN
        let odd = trunc(b * $T(0.5)) * $T(2) != b;
        return select(r, -r, odd);
    }
    if (a == $T(0)) {
        let odd = b == trunc(b) && trunc(b * $T(0.5)) * $T(2) != b;
        if (b < $T(0)) { return select($T(1) / a, $T(1) / abs(a), !odd); }
        return select($T(0), a, odd);
    }
    return r;
}
