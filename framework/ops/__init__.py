"""The op namespace re-exported as `fw.*`. Each module attaches its Tensor methods."""
from .creation import (tensor, as_tensor, from_numpy, zeros, ones, full, empty, zeros_like,
                       ones_like, empty_like, full_like, arange, linspace, eye, rand, randn,
                       randint, randperm, normal, bernoulli, multinomial, manual_seed, seed,
                       initial_seed, Generator, default_generator, set_default_device,
                       get_default_device, rand_like, randn_like, randint_like)
from .elementwise import (add, sub, mul, div, true_divide, divide, multiply, subtract,
                          floor_divide, remainder, fmod, pow, float_power, maximum, minimum,
                          atan2, arctan2, eq, ne, lt, le, gt, ge, greater, greater_equal, less,
                          less_equal, not_equal, logical_and, logical_or, logical_xor,
                          logical_not, bitwise_and, bitwise_or, bitwise_xor, bitwise_not,
                          bitwise_left_shift, bitwise_right_shift, equal,
                          allclose, isclose, isnan, isinf, isfinite, neg, negative, abs, absolute,
                          exp, log, log1p, expm1, sqrt, rsqrt, sin, cos, tan, tanh, sigmoid, relu,
                          erf, reciprocal, asin, acos, atan, arcsin, arccos, arctan, sinh, cosh,
                          log2, log10, exp2, sign, floor, ceil, trunc, fix, round, square, gelu,
                          silu, clamp, clip, clamp_min, clamp_max, where, masked_fill)
from .reduction import (sum, mean, amax, amin, argmax, argmin, max, min, softmax, log_softmax,
                        prod, var, std, var_mean, std_mean, logsumexp, cumsum, cumprod, all,
                        any, count_nonzero, norm, sort, argsort, topk, median)
from .shape import (broadcast_to, cat, concat, concatenate, stack, hstack, vstack, split, chunk,
                    tensor_split, pad, tril, triu, meshgrid, repeat_interleave, roll, flip,
                    fliplr, flipud, diagonal, diag, reshape, flatten, unflatten, squeeze,
                    unsqueeze, permute, transpose, swapaxes, swapdims, t, movedim, moveaxis,
                    narrow, select, unbind, as_strided, broadcast_tensors, broadcast_shapes)
from .indexing import (gather, scatter, scatter_add, index_select, index_put, nonzero,
                       masked_select, index_add, index_copy, index_fill, masked_scatter)
from .linalg import matmul, mm, bmm, dot, mv, outer, ger, einsum, cdist
from .typed import (FloatTensor, DoubleTensor, IntTensor, LongTensor, BoolTensor, HalfTensor,
                    BFloat16Tensor, ByteTensor, CharTensor, ShortTensor)

__all__ = [n for n in dir() if not n.startswith("_") and n not in
           ("creation", "elementwise", "reduction", "shape", "indexing", "linalg", "typed")]
