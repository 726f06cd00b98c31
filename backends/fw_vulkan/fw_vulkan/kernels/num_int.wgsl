// Helpers for an integer element type T (i32, i64; u32 holds bool).
fn isnan_(x: $T) -> bool { return false; }
fn maxv(a: $T, b: $T) -> $T { return max(a, b); }
fn minv(a: $T, b: $T) -> $T { return min(a, b); }
// Python's floor division and modulo. The frontend raises for a zero divisor and passes 1
// in its place; a zero that reaches here anyway divides as 1 (no driver's undefined case).
// The remainder is a - (a / b) * b, not `%`: NVIDIA's Vulkan driver (580, on an H200) gives
// `%` of negative signed integers as if they were unsigned.
fn floordiv_(a: $T, d: $T) -> $T {
    let b = select(d, $T(1), d == $T(0));
    let q = a / b;
    return select(q, q - $T(1), (a - q * b != $T(0)) && ((a < $T(0)) != (b < $T(0))));
}
fn remainder_(a: $T, d: $T) -> $T {
    let b = select(d, $T(1), d == $T(0));
    let r = a - (a / b) * b;
    return select(r, r + b, r != $T(0) && ((r < $T(0)) != (b < $T(0))));
}
fn pow_(a: $T, b: $T) -> $T {
    if (b < $T(0)) {  // only 1 and -1 have integral negative powers
        if (a == $T(1)) { return $T(1); }
        if (a == $T(-1)) { return select($T(-1), $T(1), (b & $T(1)) == $T(0)); }
        return $T(0);
    }
    var r = $T(1);
    var base = a;
    var e = b;
    loop {
        if (e == $T(0)) { break; }
        if ((e & $T(1)) == $T(1)) { r = r * base; }
        base = base * base;
        e = e / $T(2);
    }
    return r;
}
