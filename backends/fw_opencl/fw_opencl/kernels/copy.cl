// Strided copy: out (operand 0) <- a (operand 1), both possibly strided. Built per
// element size (T = uchar, int or long): copying moves bits, not values.
// A 2-D grid: dimension 1 walks the rows (every dim but the last), dimension 0 the
// last dim, so the index arithmetic is paid once per row, not once per element.
__kernel void copy_strided(__global T *out, __global const T *a, const layout d) {
    int col = get_global_id(0), row = get_global_id(1);
    int last = d.ndim - 1;
    if (last < 0) {            // a single element (all dims were size 1)
        if (col == 0) out[d.off[0]] = a[d.off[1]];
        return;
    }
    if (col >= d.shape[last]) return;
    int o0 = d.off[0], o1 = d.off[1], r = row;
    for (int j = last - 1; j >= 0; --j) {
        int s = d.shape[j];
        int c = r % s;
        r /= s;
        o0 += c * d.st[0][j];
        o1 += c * d.st[1][j];
    }
    out[o0 + col * d.st[0][last]] = a[o1 + col * d.st[1][last]];
}
