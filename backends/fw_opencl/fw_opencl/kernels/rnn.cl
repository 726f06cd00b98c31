// The LSTM cell and its gradient, one work-item per (unit j, row r) of the N x H state.
// Gates are (N, 4H) rows in PyTorch's order input, forget, cell, output; every buffer is
// dense. Built per T (float or double).

// 1 / (1 + e^-x) without overflow for large |x| (as elementwise.cl's sigmoid).
inline T sigm(T x) {
    T e = exp(-fabs(x));
    T r = (T)1 / ((T)1 + e);
    return x >= (T)0 ? r : e * r;
}

__kernel void lstm_cell(__global T *h, __global T *c2, __global T *act, __global T *tc,
                        __global const T *gates, __global const T *c, int N, int H) {
    int j = get_global_id(0), r = get_global_id(1);
    if (j >= H || r >= N) return;
    long a = (long)r * 4 * H + j, k = (long)r * H + j;
    T i = sigm(gates[a]), f = sigm(gates[a + H]), g = tanh(gates[a + 2 * H]);
    T o = sigm(gates[a + 3 * H]);
    T cn = f * c[k] + i * g, t = tanh(cn);
    act[a] = i; act[a + H] = f; act[a + 2 * H] = g; act[a + 3 * H] = o;
    c2[k] = cn; tc[k] = t; h[k] = o * t;
}

// From dh (of o * tanh(c')) and dc (of c'): the gates' gradient and dc_prev.
__kernel void lstm_cell_grad(__global T *dgates, __global T *dc_prev, __global const T *dh,
                             __global const T *dc, __global const T *act,
                             __global const T *c_prev, __global const T *tc, int N, int H) {
    int j = get_global_id(0), r = get_global_id(1);
    if (j >= H || r >= N) return;
    long a = (long)r * 4 * H + j, k = (long)r * H + j;
    T i = act[a], f = act[a + H], g = act[a + 2 * H], o = act[a + 3 * H];
    T t = tc[k], d_h = dh[k];
    T d = dc[k] + d_h * o * ((T)1 - t * t);
    dgates[a] = d * g * (i - i * i);
    dgates[a + H] = d * c_prev[k] * (f - f * f);
    dgates[a + 2 * H] = d * i * ((T)1 - g * g);
    dgates[a + 3 * H] = d_h * t * (o - o * o);
    dc_prev[k] = d * f;
}
