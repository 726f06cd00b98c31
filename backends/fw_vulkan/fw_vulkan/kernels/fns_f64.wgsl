// exp/log/sin/cos in f64 arithmetic. Vulkan's GLSL.std.450 builtins take 16/32-bit
// floats only (drivers return garbage for doubles), so these are written out:
// argument reduction, then polynomials accurate to ~1 ulp.
fn exp_(x: f64) -> f64 {
    if (!(x == x)) { return x; }
    if (x > 709.782712893384lf) { return 1e308lf * 10.0lf; }
    if (x < -745.2lf) { return 0.0lf; }
    let k = round(x * 1.4426950408889634lf);
    let r = (x - k * 6.93147180369123816490e-01lf) - k * 1.90821492927058770002e-10lf;
    var t = 1.0lf;
    var s = 1.0lf;
    for (var i = 1; i < 15; i++) { t = t * r / f64(i); s += t; }
    // 2^k in two steps: ldexp's exponent range is that of a normal double
    let k1 = i32(k) / 2;
    return ldexp(ldexp(s, k1), i32(k) - k1);
}
fn log_(x: f64) -> f64 {
    if (!(x == x) || x < 0.0lf) { return (x - x) / (x - x) + x; }
    if (x == 0.0lf) { return -1e308lf * 10.0lf; }
    if (x > 1.7976931348623157e308lf) { return x; }
    // frexp flushes a denormal to zero on lavapipe: scale it into the normal range first
    let tiny = x < 2.2250738585072014e-308lf;
    let fr = frexp(select(x, x * 18014398509481984.0lf, tiny));
    var mnt = fr.fract;
    var e = f64(fr.exp) - select(0.0lf, 54.0lf, tiny);
    if (mnt < 0.7071067811865476lf) { mnt = mnt * 2.0lf; e -= 1.0lf; }
    let f = mnt - 1.0lf;
    let s = f / (2.0lf + f);
    let z = s * s;
    var p = 0.0lf;
    for (var i = 23; i >= 3; i -= 2) { p = (p + 1.0lf / f64(i)) * z; }
    return e * 6.93147180369123816490e-01lf + (e * 1.90821492927058770002e-10lf + 2.0lf * (s + s * p));
}
// sin (q = 0) or cos (q = 1) with Cody-Waite reduction by pi/2 (exact to |x| ~ 1e9).
fn sincos_(x: f64, q: i32) -> f64 {
    if (!(x == x) || abs(x) > 1.7976931348623157e308lf) { return (x - x) / (x - x); }
    let k = round(x * 0.6366197723675814lf);
    let r = ((x - k * 1.5707963267341256lf) - k * 6.077100506506192e-11lf) - k * 2.0222662487959506e-21lf;
    let n = (i32(k % 4.0lf) + 4 + q) % 4;
    let z = r * r;
    var sn = 0.0lf;
    var cs = 0.0lf;
    var t = r;
    var c = 1.0lf;
    sn = r;
    cs = 1.0lf;
    for (var i = 1; i < 12; i++) {
        t = -t * z / f64((2 * i) * (2 * i + 1));
        c = -c * z / f64((2 * i - 1) * (2 * i));
        sn += t;
        cs += c;
    }
    if (n == 0) { return sn; }
    if (n == 1) { return cs; }
    if (n == 2) { return -sn; }
    return -cs;
}
fn sin_(x: f64) -> f64 { return sincos_(x, 0); }
fn cos_(x: f64) -> f64 { return sincos_(x, 1); }

// A zero with the sign of x (naga cannot bit-cast f64: -0 is told by 1 / x).
fn zero_as_(x: f64) -> f64 { return select(0.0lf, -0.0lf, x < 0.0lf || 1.0lf / x < 0.0lf); }

// round half to even: lavapipe's f64 round builtin takes halves toward zero (1.5 -> 1).
// Past 2^52 every double is an integer, so floor(x) == x there.
fn round_even_(x: f64) -> f64 {
    let f = floor(x);
    let d = x - f;
    let odd = f - 2.0lf * floor(f * 0.5lf) != 0.0lf;
    return select(f, f + 1.0lf, d > 0.5lf || (d == 0.5lf && odd));
}
