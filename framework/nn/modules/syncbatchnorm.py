"""SyncBatchNorm: batch norm whose batch statistics cover every rank's batch.

The statistics are all-reduced through an autograd Function whose backward all-reduces
the gradient too, so with DDP's gradient averaging the result equals BatchNorm on the
concatenated batch in one process (forward and gradients). Mean and variance are two
reductions (sum and count, then the centred sum of squares): one more message than
E[x^2] - E[x]^2 but without its cancellation.
"""
from ...autograd import grad_mode
from ...autograd.function import Function
from ..functional.normalization import _channel_affine, _channel_shape
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _dist():
    from ... import distributed
    return distributed


class _AllReduceSum(Function):
    """y = the sum over ranks of x; its gradient is the sum over ranks of dy (each rank's
    loss depends on every rank's x through y)."""

    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        _dist().all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, g):
        g = g.clone()
        _dist().all_reduce(g)
        return g


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over N-d input (N >= 2) whose training statistics span all ranks.
    Without an initialised process group (or with one rank) it is plain batch norm."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        if process_group is not None:
            raise NotImplementedError("SyncBatchNorm: fw has the world process group only")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = None

    def _check_input_dim(self, input):
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")

    def forward(self, input):
        dist = _dist()
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        self._check_input_dim(input)
        C = input.shape[1]
        if input.shape[1] != self.num_features:
            raise RuntimeError(f"running_mean should contain {self.num_features} elements not {C}")
        dims = (0,) + tuple(range(2, input.ndim))
        cshape = _channel_shape(input)
        count = input.new_tensor([float(input.numel() // max(C, 1))])
        _dist().all_reduce(count)
        n = count.item()
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got "
                             f"{int(n)} across all ranks")
        mean = _AllReduceSum.apply(input.sum(dims)) / n
        xc = input - mean.reshape(cshape)
        var = _AllReduceSum.apply((xc * xc).sum(dims)) / n
        if self.track_running_stats and self.running_mean is not None:
            factor = self.momentum
            if self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
                if self.momentum is None:
                    factor = 1.0 / float(self.num_batches_tracked.item())
            with grad_mode.no_grad():
                self.running_mean.mul_(1 - factor).add_(mean.detach() * factor)
                self.running_var.mul_(1 - factor).add_(var.detach() * (factor * n / (n - 1)))
        y = xc * (var.reshape(cshape) + self.eps).rsqrt()
        return _channel_affine(y, self.weight, self.bias)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm*d replaced by a SyncBatchNorm holding the same
        parameters and buffers (the same Parameter objects, as PyTorch does)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                with grad_mode.no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
