"""Fused layer ops (convolution, pooling, normalisation) with composed defaults."""


class NNOps:
    # Spatial arguments are 2-tuples of ints: stride=(sh, sw), padding=(ph, pw) (symmetric,
    # zeros), dilation=(dh, dw), kernel=(kh, kw). Shapes are tuples. Layouts are PyTorch's:
    # x (N, C, H, W), weight (O, C // groups, KH, KW).

    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        """(N, O, OH, OW) cross-correlation; `bias` is an (O,) View or None."""
        raise NotImplementedError

    def conv2d_grad_input(self, grad, weight, input_shape, stride, padding, dilation, groups):
        """d(loss)/dx of conv2d, shaped `input_shape` (also conv_transpose2d's forward)."""
        raise NotImplementedError

    def conv2d_grad_weight(self, grad, x, weight_shape, stride, padding, dilation, groups):
        """d(loss)/dweight of conv2d, shaped `weight_shape`."""
        raise NotImplementedError

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        """(values, int64 indices): each index is the flat position h * W + w of the max
        in its input plane, as PyTorch's return_indices gives. Padding counts as -inf."""
        raise NotImplementedError

    def max_pool2d_grad(self, grad, indices, input_shape):
        """Scatter-add `grad` into zeros of `input_shape` at `indices` (per plane)."""
        raise NotImplementedError

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad,
                   divisor_override):
        raise NotImplementedError

    def avg_pool2d_grad(self, grad, input_shape, kernel, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
        raise NotImplementedError

    def layer_norm(self, x, weight, bias, normalized_ndim, eps):
        """(y, mean, rstd) normalising over the last `normalized_ndim` axes; mean and rstd
        are shaped like x with those axes of size 1; weight/bias Views or None."""
        raise NotImplementedError

    def layer_norm_grad(self, grad, x, weight, mean, rstd, normalized_ndim):
        """(grad_x, grad_weight or None, grad_bias or None)."""
        raise NotImplementedError
