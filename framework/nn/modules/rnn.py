"""Recurrent layers: RNN, LSTM, GRU and their single-step cells.

Speed comes from two choices. The input projection W_ih x + b of every time step is one
matmul over the whole sequence before the loop. The loop itself is one autograd node per
(layer, direction) (`_Recurrence`): its forward runs the steps with grad mode off and keeps
the gate activations; its backward runs backpropagation through time by hand and forms
dW_hh with one matmul over all steps. An LSTM step is the backend's fused `lstm_cell`
(and `lstm_cell_grad` backward) after the h @ W_hh^T matmul. When the backward itself must be recorded
(`create_graph=True`) the same steps are replayed with ordinary differentiable ops.

A PackedSequence input runs its own loop (`_packed_recurrence`) of differentiable steps
over the rows still running at each time step, so each sequence's last state is its own.
"""
import math
import numbers
import warnings

from ... import ops
from ...autograd import grad_mode
from ...autograd.function import Function
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# -- one recurrence step, with differentiable ops (cells' create_graph path and reference) ------
def _step(mode, gx, h, c, w_hh, b_hh, w_hr):
    """One step from the projected input gx (N, G): returns (h', c')."""
    gh = F.linear(h, w_hh, b_hh)
    if mode == "GRU":
        H = h.shape[-1]
        r = (gx[:, :H] + gh[:, :H]).sigmoid()
        z = (gx[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
        n = (gx[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
        return n + z * (h - n), None
    a = gx + gh
    if mode == "RNN_TANH":
        return a.tanh(), None
    if mode == "RNN_RELU":
        return a.relu(), None
    H = c.shape[-1]
    i, f = a[:, :H].sigmoid(), a[:, H:2 * H].sigmoid()
    g, o = a[:, 2 * H:3 * H].tanh(), a[:, 3 * H:].sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    return (h if w_hr is None else F.linear(h, w_hr)), c


def _row(x, t):
    """x[t] as a view, without the indexing op's autograd bookkeeping (the recurrence runs
    its steps unrecorded)."""
    v = x._v
    return x._alias(v.shape[1:], v.strides[1:], v.offset + t * v.strides[0])


def _replay(mode, reverse, gx, h, c, w_hh, b_hh, w_hr):
    """The whole recurrence with differentiable ops: (outputs (L, N, Hr), h_n, c_n)."""
    L = gx.shape[0]
    outs = [None] * L
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        h, c = _step(mode, gx[t], h, c, w_hh, b_hh, w_hr)
        outs[t] = h
    return ops.stack(outs) if L else gx.new_zeros((0,) + tuple(h.shape)), h, c


class _Recurrence(Function):
    """One layer and direction of a recurrence, from the projected inputs gx (L, N, G).

    Inputs: gx, h0, c0 (LSTM, else None), w_hh, b_hh (None where folded into gx), w_hr
    (LSTM with proj_size, else None). Outputs: (out (L, N, Hr), h_n, c_n or an empty
    placeholder for modes without a cell state).
    """
    node_name = "RecurrenceBackward0"

    @staticmethod
    def forward(ctx, mode, reverse, gx, h, c, w_hh, b_hh, w_hr):
        ctx.mode, ctx.reverse = mode, reverse
        L = gx.shape[0]
        order = range(L - 1, -1, -1) if reverse else range(L)
        outs, acts, cells, extra = [None] * L, [None] * L, [None] * L, [None] * L
        hprev = [None] * L
        h0, c0 = h, c
        w_t = w_hh.t().contiguous()  # one copy, then L matmuls against a contiguous operand
        be = gx._be
        for t in order:
            hprev[t] = h
            gh = h @ w_t if b_hh is None else h @ w_t + b_hh
            gxt = _row(gx, t)
            if mode == "LSTM":  # the backend's fused cell: one call per step
                m, c, acts[t], extra[t] = (gx._from(v) for v in be.lstm_cell((gxt + gh)._v, c._v))
                cells[t] = c
                h = m if w_hr is None else F.linear(m, w_hr)
            elif mode == "GRU":
                H = h.shape[-1]
                rz = (gxt[:, :2 * H] + gh[:, :2 * H]).sigmoid()
                ghn = gh[:, 2 * H:]
                n = (gxt[:, 2 * H:] + rz[:, :H] * ghn).tanh()
                h = n + rz[:, H:] * (h - n)
                acts[t], extra[t] = ops.cat([rz, n], 1), ghn
            else:
                a = gxt + gh
                h = a.tanh() if mode == "RNN_TANH" else a.relu()
            outs[t] = h
        out = ops.stack(outs) if L else gx.new_zeros((0,) + tuple(h.shape))
        # No output may sit in a plain ctx attribute: its grad_fn is ctx, and the cycle
        # would keep the whole step's memory until the garbage collector runs. The plain
        # RNNs' backward reads their outputs (the last is h_n), so those are saved, and
        # released with the node; the last cell state is c_n, which backward never reads.
        ctx.save_for_backward(gx, h0, c0, w_hh, b_hh, w_hr,
                              *(outs if mode.startswith("RNN") else ()))
        if mode == "LSTM" and L:
            cells[order[-1]] = None
        ctx.hprev, ctx.acts, ctx.cells, ctx.extra = hprev, acts, cells, extra
        if c is None:
            c = h.new_zeros((0,))
        return out, h, c

    @staticmethod
    def backward(ctx, dout, dh, dc):
        gx, h0, c0, w_hh, b_hh, w_hr, *outs = ctx.saved_tensors
        mode, reverse = ctx.mode, ctx.reverse
        if grad_mode._state.enabled:
            return (None, None) + _replay_grads(ctx, mode, reverse, gx, h0, c0, w_hh, b_hh, w_hr,
                                                dout, dh, dc)
        L = gx.shape[0]
        hprev, acts, cells, extra = ctx.hprev, ctx.acts, ctx.cells, ctx.extra
        dgx, dgh = [None] * L, [None] * L
        dms = [None] * L
        if mode != "LSTM":
            dc = None
        be = gx._be
        for t in (range(L) if reverse else range(L - 1, -1, -1)):
            dht = dh + _row(dout, t)
            if mode == "LSTM":
                dm = dht if w_hr is None else dht @ w_hr
                dms[t] = dht
                prev = t + 1 if reverse else t - 1  # the step before t in processing order
                cp = cells[prev] if 0 <= prev < L else c0
                d, dc = (gx._from(v) for v in be.lstm_cell_grad(dm._v, dc._v, acts[t]._v, cp._v,
                                                                extra[t]._v))
                dgx[t] = d
            elif mode == "GRU":
                H = dht.shape[-1]
                a = acts[t]
                r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
                hp = hprev[t]
                dn = dht * (1 - z) * (1 - n * n)
                dr = dn * extra[t] * r * (1 - r)
                dz = dht * (hp - n) * z * (1 - z)
                dgx[t] = ops.cat([dr, dz, dn], 1)
                d = ops.cat([dr, dz, dn * r], 1)
                dgh[t] = d
                dht = dht * z
            else:
                h = outs[t]
                d = dht * (1 - h * h) if mode == "RNN_TANH" else dht * (h > 0).to(h.dtype)
                dgx[t] = d
            dh = d @ w_hh if mode != "GRU" else dht + d @ w_hh
        dgx = ops.stack(dgx) if L else gx.new_zeros(gx.shape)
        dgh_all = dgx if mode != "GRU" else (ops.stack(dgh) if L else dgx)
        flat = dgh_all.reshape(-1, dgh_all.shape[-1])
        need = ctx.needs_input_grad  # (mode, reverse, gx, h, c, w_hh, b_hh, w_hr)
        dw_hh = db_hh = dw_hr = None
        if need[5]:
            hp = ops.stack(hprev) if L else None
            dw_hh = flat.mT @ hp.reshape(-1, hp.shape[-1]) if L else w_hh.new_zeros(w_hh.shape)
        if need[6] and b_hh is not None:
            db_hh = flat.sum(0)
        if need[7] and w_hr is not None:
            H = c0.shape[-1]
            if L:  # m = o * tanh(c) is what the projection saw
                ms = ops.stack([a[:, 3 * H:] * tc for a, tc in zip(acts, extra)])
                dw_hr = ops.stack(dms).reshape(-1, w_hr.shape[0]).mT @ ms.reshape(-1, H)
            else:
                dw_hr = w_hr.new_zeros(w_hr.shape)
        return None, None, dgx, dh, dc, dw_hh, db_hh, dw_hr


def _replay_grads(ctx, mode, reverse, gx, h0, c0, w_hh, b_hh, w_hr, dout, dh, dc):
    """create_graph backward: replay the steps with differentiable ops and differentiate."""
    from ...autograd import grad as _grad
    inputs = (gx, h0, c0, w_hh, b_hh, w_hr)
    need = ctx.needs_input_grad[2:]
    out, h, c = _replay(mode, reverse, gx, h0, c0, w_hh, b_hh, w_hr)
    outs, gos = [out, h], [dout, dh]
    if mode == "LSTM":
        outs.append(c)
        gos.append(dc)
    wanted = [x for x, n in zip(inputs, need) if n]
    got = iter(_grad(outs, wanted, gos, create_graph=True, allow_unused=True))
    return tuple(next(got) if n else None for n in need)


def _packed_recurrence(mode, reverse, gx, sizes, h, c, w_hh, b_hh, w_hr):
    """One layer and direction over packed projected inputs gx (sum(sizes), G), with
    differentiable steps: at step t the first sizes[t] rows (the sequences still running,
    longest first) advance, the others keep their state. Returns (packed out, h_n, c_n)."""
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    batch = h.shape[0]
    outs = [None] * len(sizes)
    for t in (range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))):
        n = sizes[t]
        hn, cn = _step(mode, gx[offsets[t]:offsets[t + 1]], h[:n], None if c is None else c[:n],
                       w_hh, b_hh, w_hr)
        outs[t] = hn
        h = hn if n == batch else ops.cat([hn, h[n:]])
        if c is not None:
            c = cn if n == batch else ops.cat([cn, c[n:]])
    return ops.cat(outs), h, c


# -- modules ---------------------------------------------------------------------------------
class RNNBase(Module):
    """Shared parameters and driver of RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for name, val, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                ("input_size", input_size, int),
                                ("hidden_size", hidden_size, int)):
            if not isinstance(val, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                                f"{type(val).__name__}")
            if kind is int and val <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = proj_size
        gate = _GATES[mode] * hidden_size
        real = proj_size or hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            width = input_size if layer == 0 else real * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih" + sfx, (gate, width)), ("weight_hh" + sfx, (gate, real))]
                if bias:
                    shapes += [("bias_ih" + sfx, (gate,)), ("bias_hh" + sfx, (gate,))]
                if proj_size:
                    shapes.append(("weight_hr" + sfx, (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name, Parameter(ops.empty(shape, device=device, dtype=dtype)))
                names = [n for n, _ in shapes]
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self):
        """A no-op kept for PyTorch compatibility (there is no cuDNN weight buffer)."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward -----------------------------------------------------------------------------
    def _check_input(self, input):
        w = self.weight_ih_l0
        if input.dtype is not w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _expect(self, t, size, what="hidden"):
        if tuple(t.shape) != size:
            raise RuntimeError(f"Expected {what} size {size}, got {list(t.shape)}")

    def _run(self, input, h0, c0):
        """input (L, N, I) time-major; h0/c0 (layers*dirs, N, *). Returns out, h_n, c_n."""
        return self._layers(input, h0, c0, _Recurrence.apply, 2)

    def _layers(self, x, h0, c0, recur, cat_dim):
        """Every layer and direction over x, each run by recur(mode, reverse, gx, h, c, w_hh,
        b_hh, w_hr) -> (out, h, c); directions' outputs meet along `cat_dim`. Returns the
        last layer's output, h_n and c_n."""
        dirs = 2 if self.bidirectional else 1
        hs, cs = [], []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
                b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
                b_hh = getattr(self, "bias_hh" + sfx) if self.bias else None
                w_hr = getattr(self, "weight_hr" + sfx) if self.proj_size else None
                gx = F.linear(x, w_ih, b_ih)
                if b_hh is not None and self.mode != "GRU":  # GRU needs b_hn inside r * (...)
                    gx, b_hh = gx + b_hh, None
                out, h, c = recur(self.mode, bool(d), gx, h0[k],
                                  None if c0 is None else c0[k], w_hh, b_hh, w_hr)
                outs.append(out)
                hs.append(h)
                cs.append(c)
            x = outs[0] if dirs == 1 else ops.cat(outs, cat_dim)
        return x, ops.stack(hs), (ops.stack(cs) if c0 is not None else None)

    def _forward_packed(self, packed, hx):
        """PackedSequence in, PackedSequence out; the final states are each sequence's own,
        in the batch's original order."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if data.ndim != 2:
            raise RuntimeError(f"packed input must be 2-D data (steps, features), got "
                               f"{data.ndim}-D")
        self._check_input(data)
        sizes = [int(n) for n in batch_sizes.tolist()]
        lstm, dirs = self.mode == "LSTM", 2 if self.bidirectional else 1
        hshape = (self.num_layers * dirs, sizes[0], self.proj_size or self.hidden_size)
        cshape = (self.num_layers * dirs, sizes[0], self.hidden_size)
        if hx is None:
            h0 = ops.zeros(hshape, dtype=data.dtype, device=data.device)
            c0 = ops.zeros(cshape, dtype=data.dtype, device=data.device) if lstm else None
        else:
            h0, c0 = tuple(hx) if lstm else (hx, None)
            self._expect(h0, hshape, "hidden[0]" if lstm else "hidden")
            if lstm:
                self._expect(c0, cshape, "hidden[1]")
            if sorted_indices is not None:  # the caller's order -> the packed (sorted) order
                h0 = h0.index_select(1, sorted_indices)
                c0 = None if c0 is None else c0.index_select(1, sorted_indices)
        x, h, c = self._layers(data, h0, c0, lambda mode, reverse, gx, *state:
                               _packed_recurrence(mode, reverse, gx, sizes, *state), 1)
        if unsorted_indices is not None:
            h = h.index_select(1, unsorted_indices)
            c = None if c is None else c.index_select(1, unsorted_indices)
        out = PackedSequence(x, batch_sizes, sorted_indices, unsorted_indices)
        return out, ((h, c) if lstm else h)

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        if input.ndim not in (2, 3):
            tail = " tensor instead" if name == "RNN" else " instead"
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D{tail}")
        batched = input.ndim == 3
        lstm = self.mode == "LSTM"
        if hx is not None:
            parts = tuple(hx) if lstm else (hx,)
            want = 3 if batched else 2
            if any(p.ndim != want for p in parts):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                if lstm:
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but "
                                       f"got ({parts[0].ndim}-D, {parts[1].ndim}-D) tensors")
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                   f"{parts[0].ndim}-D tensor")
            if not batched:
                parts = tuple(p.unsqueeze(1) for p in parts)
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        self._check_input(input)
        if input.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        dirs = 2 if self.bidirectional else 1
        n = input.shape[1]
        hshape = (self.num_layers * dirs, n, self.proj_size or self.hidden_size)
        cshape = (self.num_layers * dirs, n, self.hidden_size)
        if hx is None:
            h0 = ops.zeros(hshape, dtype=input.dtype, device=input.device)
            c0 = ops.zeros(cshape, dtype=input.dtype, device=input.device) if lstm else None
        else:
            h0 = parts[0]
            c0 = parts[1] if lstm else None
            self._expect(h0, hshape, "hidden[0]" if lstm else "hidden")
            if lstm:
                self._expect(c0, cshape, "hidden[1]")
        if input.shape[1] == 0:  # an empty batch: nothing to run, only shapes to return
            out = input.new_zeros(input.shape[:2] + (hshape[2] * dirs,))
            h, c = h0 * 1, (None if c0 is None else c0 * 1)
        else:
            out, h, c = self._run(input, h0, c0)
        if not batched:
            out, h = out.squeeze(1), h.squeeze(1)
            c = None if c is None else c.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, ((h, c) if lstm else h)


class RNN(RNNBase):
    """Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        nl = self.nonlinearity
        super().__init__(modes[nl], *args, **kwargs)
        self.nonlinearity = nl


class LSTM(RNNBase):
    """Long short-term memory; gate order i, f, g, o as PyTorch's weights."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit; gate order r, z, n, with n = tanh(W_in x + b_in + r*(W_hn h + b_hn))."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# -- cells -----------------------------------------------------------------------------------
class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(ops.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(ops.empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(ops.empty((num_chunks * hidden_size,), **kw))
            self.bias_hh = Parameter(ops.empty((num_chunks * hidden_size,), **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _cell(self, mode, input, h, c):
        """One step through _Recurrence with L = 1 (same code path as the layers)."""
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        for t, what in ((h, "hidden"), (c, "cell")):
            if t is not None and (t.shape[0] != input.shape[0] or t.shape[1] != self.hidden_size):
                raise RuntimeError(f"{what} has inconsistent size: got {list(t.shape)}, expected "
                                   f"{[input.shape[0], self.hidden_size]}")
        gx = F.linear(input, self.weight_ih, self.bias_ih)
        b_hh = self.bias_hh
        if b_hh is not None and mode != "GRU":
            gx, b_hh = gx + b_hh, None
        _, h, c = _Recurrence.apply(mode, False, gx.unsqueeze(0), h, c, self.weight_hh, b_hh,
                                    None)
        return h, c

    def _prepare(self, name, input, hx):
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = ops.zeros((input.shape[0], self.hidden_size), dtype=input.dtype,
                           device=input.device)
        elif not batched:
            hx = hx.unsqueeze(0)
        return batched, input, hx


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if hx is not None and hx.ndim not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.ndim}D instead")
        batched, input, hx = self._prepare("RNNCell", input, hx)
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h, _ = self._cell(modes[self.nonlinearity], input, hx, None)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None:
            for i, v in enumerate(hx):
                if v.ndim not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{i}] to be 1D or 2D, got "
                                     f"{v.ndim}D instead")
        batched, input, _ = self._prepare("LSTMCell", input, None)
        if hx is None:
            z = ops.zeros((input.shape[0], self.hidden_size), dtype=input.dtype,
                          device=input.device)
            hx = (z, z)
        elif not batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        h, c = self._cell("LSTM", input, hx[0], hx[1])
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and hx.ndim not in (1, 2):
            raise ValueError(f"GRUCell: Expected hidden to be 1D or 2D, got {hx.ndim}D instead")
        batched, input, hx = self._prepare("GRUCell", input, hx)
        h, _ = self._cell("GRU", input, hx, None)
        return h if batched else h.squeeze(0)
