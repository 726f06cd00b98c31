"""Fused optimizer steps (see framework/fused/optim_ops.py): one kernel per step reads
the gradient once and updates the parameter and its state in place (kernels/optim.cl).

Views that are not contiguous fall back to the composed default of the base class.
"""
import struct

from . import runtime as rt

FILE = "optim.cl"
_MOMENTUM, _NESTEROV, _MAXIMIZE, _FIRST, _WD, _DECOUPLED, _AMSGRAD = 1, 2, 4, 8, 16, 32, 64
_INT8 = struct.Struct("<8i").pack
_FLOAT = {"float32": struct.Struct("<f").pack, "float64": struct.Struct("<d").pack}


def _contiguous(*views):
    return all(v.is_contiguous() for v in views if v is not None)


class CLOptimOps:
    def _optim_kernel(self, name, dtype):
        if not dtype.is_floating_point:
            raise TypeError(f"{name}: parameters must be floating point, got {dtype.name}")
        st = self._ew or self._ew_state()
        key = ("optim", name, dtype)
        k = st.kernels.get(key)
        if k is None:
            defines = (("T", rt.CL_TYPES[dtype.name]),)
            if st.chunked:
                defines += (("CHUNKED", "1"),)
            k = st.kernels[key] = self.rt.kernel(FILE, name, defines)
        return st, k

    def _optim_launch(self, st, k, n, mems, offsets, flags, scalars, dtype):
        gs, ls, chunk = st.geometry(n)
        offsets = list(offsets) + [0] * (5 - len(offsets))
        for i, m in enumerate(mems):
            k.set_arg(i, m)
        i = len(mems)
        k._set_arg_buf(i, _INT8(n, chunk, flags, *offsets))
        f = _FLOAT[dtype.name]
        for j, s in enumerate(scalars, i + 1):
            k._set_arg_buf(j, f(s))
        st.rt.submit(k, gs, ls)

    def sgd_step_(self, param, grad, momentum_buf, lr, momentum, dampening, nesterov,
                  weight_decay, maximize, first_step):
        if not _contiguous(param, grad, momentum_buf):
            return super().sgd_step_(param, grad, momentum_buf, lr, momentum, dampening,
                                     nesterov, weight_decay, maximize, first_step)
        st, k = self._optim_kernel("sgd_step", param.dtype)
        n = param.numel
        if not n:
            return
        flags = ((_MAXIMIZE if maximize else 0) | (_WD if weight_decay != 0 else 0))
        buf = param
        if momentum != 0:
            flags |= _MOMENTUM | (_NESTEROV if nesterov else 0) | (_FIRST if first_step else 0)
            buf = momentum_buf
        self._optim_launch(st, k, n, (param.buf.mem, grad.buf.mem, buf.buf.mem),
                           (param.offset, grad.offset, buf.offset), flags,
                           (lr, momentum, 1 - dampening, weight_decay), param.dtype)

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                   beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize):
        if not _contiguous(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else None):
            return super().adam_step_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step,
                                      lr, beta1, beta2, eps, weight_decay,
                                      decoupled_weight_decay, amsgrad, maximize)
        st, k = self._optim_kernel("adam_step", param.dtype)
        n = param.numel
        if not n:
            return
        flags = _MAXIMIZE if maximize else 0
        if weight_decay != 0:
            flags |= _DECOUPLED if decoupled_weight_decay else _WD
        mx = exp_avg_sq
        if amsgrad:
            flags |= _AMSGRAD
            mx = max_exp_avg_sq
        # As in PyTorch, scalars are computed in Python floats (double), then rounded to T.
        step_size = lr / (1 - beta1 ** step)
        bc2 = (1 - beta2 ** step) ** 0.5
        self._optim_launch(st, k, n, (param.buf.mem, grad.buf.mem, exp_avg.buf.mem,
                                      exp_avg_sq.buf.mem, mx.buf.mem),
                           (param.offset, grad.offset, exp_avg.offset, exp_avg_sq.offset,
                            mx.offset), flags,
                           (1 - lr * weight_decay, 1 - beta1, beta2, 1 - beta2, eps, weight_decay,
                            step_size, bc2), param.dtype)
