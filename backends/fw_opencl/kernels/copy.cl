// Strided copy: out (operand 0, possibly strided) <- a (operand 1, possibly strided).
// Built per element size (T = uchar, int or long): copying moves bits, not values.
__kernel void copy_strided(__global T *out, __global const T *a, const layout d) {
    int i = get_global_id(0);
    if (i >= d.n) return;
    out[at(&d, 0, i)] = a[at(&d, 1, i)];
}
