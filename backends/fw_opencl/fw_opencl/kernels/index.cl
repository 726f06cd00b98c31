// Data movement by index: gather and scatter (write). They move bits, so they are built
// per element size (T = uchar, int or long) and the index type I (int or long).
//
// The layout runs over the index's shape: operand 0 = the output, 1 = the index,
// 2 = the other data operand, with the stride of `dim` set to 0 in whichever operand is
// addressed by the index value; `ds` is that operand's real stride along dim and `size`
// its extent there. The frontend checks the bounds; the kernels still never touch memory
// outside [0, size) (NumPy-style negative indices wrap).

__kernel void gather(__global T *out, __global const T *x, __global const I *index,
                     const layout d, int ds, int size) {
    int i = get_global_id(0);
    if (i >= d.n) return;
    long j = index[at(&d, 1, i)];
    if (j < 0) j += size;
    out[at(&d, 0, i)] = (j >= 0 && j < size) ? x[at(&d, 2, i) + (int)j * ds] : 0;
}

// out[... index ...] = src (operand 2), or the scalar `value` when use_value is set.
__kernel void scatter(__global T *out, __global const T *src, __global const I *index,
                      const layout d, int ds, int size, T value, int use_value) {
    int i = get_global_id(0);
    if (i >= d.n) return;
    long j = index[at(&d, 1, i)];
    if (j < 0) j += size;
    if (j < 0 || j >= size) return;
    out[at(&d, 0, i) + (int)j * ds] = use_value ? value : src[at(&d, 2, i)];
}

// Checks indices without a host round trip: ONE work-group looks at every element and
// sets flag[0] when one is outside [0, size) and is not `ignore`. The host reads the
// flag back asynchronously (runtime.defer_check) and raises at its next wait.
__kernel void check_range(__global int *flag, __global const I *x, const layout d, long size,
                          long ignore) {
    __local int bad;
    int lid = get_local_id(0), ls = get_local_size(0);
    if (lid == 0) bad = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    int mine = 0;
    for (int i = lid; i < d.n; i += ls) {
        long j = x[at(&d, 0, i)];
        if ((j < 0 || j >= size) && j != ignore) mine = 1;
    }
    if (mine) bad = 1;   // every writer stores the same value
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) flag[0] = bad;
}
