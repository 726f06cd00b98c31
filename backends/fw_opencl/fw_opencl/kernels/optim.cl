// Fused optimizer steps: one kernel reads the gradient once and updates the parameter
// and its state in place (PyTorch's single-tensor SGD and Adam/AdamW). Built per float
// type T, with -DCHUNKED=1 on CPU devices (see elementwise.cl for the two iteration
// schemes). `q` holds n, chunk, flags and the element offsets of the operands.

#ifdef CHUNKED
#define FOR_EACH(n, chunk)                                                   \
    int i0_ = (int)get_global_id(0) * (chunk);                               \
    int e_ = ((n) - i0_ < (chunk)) ? (n) : i0_ + (chunk);                    \
    for (int i = i0_; i < e_; ++i)
#else
#define FOR_EACH(n, chunk)                                                   \
    for (int i = (int)get_global_id(0); i < (n); i += (int)get_global_size(0))
#endif

#define MOMENTUM 1
#define NESTEROV 2
#define MAXIMIZE 4
#define FIRST_STEP 8
#define WEIGHT_DECAY 16
#define DECOUPLED 32
#define AMSGRAD 64

// q: n, chunk, flags, offset of param, grad, momentum buffer.
// With momentum == 0 `buf` is not read (the host passes the parameter's buffer).
__kernel void sgd_step(__global T *p, __global const T *g, __global T *buf, const int8 q,
                       const T lr, const T momentum, const T damp1, const T wd) {
    // damp1 = 1 - dampening, rounded from double on the host as PyTorch's alpha is
    const int flags = q.s2;
    __global T *pp = p + q.s3;
    __global const T *gg = g + q.s4;
    __global T *bb = buf + q.s5;
    FOR_EACH(q.s0, q.s1) {
        T d = (flags & MAXIMIZE) ? -gg[i] : gg[i];
        if (flags & WEIGHT_DECAY) d += wd * pp[i];
        if (flags & MOMENTUM) {
            T m = (flags & FIRST_STEP) ? d : momentum * bb[i] + damp1 * d;
            bb[i] = m;
            d = (flags & NESTEROV) ? d + momentum * m : m;
        }
        pp[i] -= lr * d;
    }
}

// q: n, chunk, flags, offset of param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq.
// `vmax` is not read unless AMSGRAD. Bias corrections come from the host (step_size =
// lr / (1 - beta1^t), bc2 = sqrt(1 - beta2^t)).
__kernel void adam_step(__global T *p, __global const T *g, __global T *m, __global T *v,
                        __global T *vmax, const int8 q, const T decay, const T w1,
                        const T beta2, const T w2, const T eps, const T wd,
                        const T step_size, const T bc2) {
    // decay = 1 - lr * wd (AdamW), w1 = 1 - beta1, w2 = 1 - beta2: from the host in double
    const int flags = q.s2;
    __global T *pp = p + q.s3;
    __global const T *gg = g + q.s4;
    __global T *mm = m + q.s5;
    __global T *vv = v + q.s6;
    __global T *xx = vmax + q.s7;
    FOR_EACH(q.s0, q.s1) {
        T grad = (flags & MAXIMIZE) ? -gg[i] : gg[i];
        T param = pp[i];
        if (flags & DECOUPLED) param *= decay;        // AdamW
        else if (flags & WEIGHT_DECAY) grad += wd * param;  // Adam's L2 penalty
        T mi = mm[i];
        mi += w1 * (grad - mi);                    // lerp(m, grad, 1 - beta1)
        T vi = beta2 * vv[i] + w2 * grad * grad;
        mm[i] = mi;
        vv[i] = vi;
        if (flags & AMSGRAD) {
            T x = xx[i];
            vi = (x > vi || isnan(x)) ? x : vi;  // torch.maximum: NaN wins
            xx[i] = vi;
        }
        T denom = sqrt(vi) / bc2 + eps;
        pp[i] = param - step_size * (mi / denom);
    }
}
