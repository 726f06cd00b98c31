"""Attention: `scaled_dot_product_attention` and `multi_head_attention_forward`.

Both are compositions of matmul, softmax and elementwise ops, so they run (and are
differentiated) on every device. Masks follow PyTorch, whose two conventions differ:
for `scaled_dot_product_attention` a bool mask is True where attention is ALLOWED; for
`multi_head_attention_forward` (and nn.MultiheadAttention) a bool `attn_mask` or
`key_padding_mask` is True where attention is NOT allowed. Float masks are added to the
scores in both. A query row with every key masked gives 0 in `scaled_dot_product_attention`
(PyTorch's safe softmax) and NaN in `multi_head_attention_forward`, as in PyTorch.
"""
import math

from ... import dtypes, ops
from ...tensor import Tensor
from .activation import softmax
from .dropout import dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _float_mask(mask, dtype):
    """A bool mask (True = blocked) as an additive float mask (0 / -inf); a float mask
    passes through."""
    if mask is None or mask.dtype is not dtypes.bool:
        return mask
    return ops.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))


def _pad1(mask):
    """One more (zero: not blocked) key column, for an added bias or zero key."""
    return None if mask is None else ops.pad(mask, (0, 1))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + mask) V over the last two axes (..., L, E) x (..., S, E)."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, "
                            f"not {type(t).__name__}")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at least "
                           "2-dimensional")
    if query.dtype is not key.dtype or query.dtype is not value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype} key.dtype: {key.dtype} and value.dtype: "
                           f"{value.dtype} instead.")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: the last dimension of query "
                           f"({query.shape[-1]}) and key ({key.shape[-1]}) must match")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same "
                           f"sequence length, got {key.shape[-2]} and {value.shape[-2]}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        # grouped-query attention: each key/value head serves a group of query heads
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, dim=-3)
        value = value.repeat_interleave(rep, dim=-3)
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query * scale) @ key.transpose(-2, -1)
    if is_causal:
        allowed = ops.ones((L, S), dtype=dtypes.bool, device=query.device).tril()
        scores = scores.masked_fill(allowed.logical_not(), float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype is dtypes.bool:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    if attn_mask is not None:
        # a row with every key masked attends to nothing: 0, not softmax's NaN, and its
        # gradient 0 (its scores are made finite before the softmax)
        blocked = (scores.detach() == float("-inf")).all(-1, keepdim=True)
        attn = softmax(scores.masked_fill(blocked, 0.0), -1).masked_fill(blocked, 0.0)
    else:
        attn = softmax(scores, -1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return attn @ value


def _check_mask_shape(mask, name, shapes):
    if tuple(mask.shape) not in shapes:
        raise RuntimeError(f"The shape of the {mask.ndim}D {name} is {tuple(mask.shape)}, but "
                           f"should be {shapes[0] if mask.ndim == 2 else shapes[-1]}.")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention of time-major inputs: query (L, N, E), key/value (S, N, *), or
    unbatched (L, E) / (S, *). Returns (output like query, weights or None)."""
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.ndim}-D query tensor" if query.ndim not in (2, 3) else
                             f"For {'batched (3-D)' if batched else 'unbatched (2-D)'} `query`, "
                             f"expected `key` and `value` to be {query.ndim}-D but found "
                             f"{key.ndim}-D and {value.ndim}-D tensors respectively")
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape
    S = key.shape[0]
    if E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {E}")
    if key.shape[:2] != value.shape[:2]:
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    # is_causal is only a hint that attn_mask is causal: the mask itself is what is applied.
    hd = E // num_heads
    if hd * num_heads != E:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")

    # input projections: one matmul for self-attention, else one per input
    if not use_separate_proj_weight:
        if query is key and key is value:
            q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        else:
            ws = in_proj_weight.chunk(3)
            bs = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
            if key is value:
                q = linear(query, ws[0], bs[0])
                k, v = linear(key, in_proj_weight[E:], None if in_proj_bias is None
                              else in_proj_bias[E:]).chunk(2, -1)
            else:
                q, k, v = (linear(x, w, b) for x, w, b in zip((query, key, value), ws, bs))
    else:
        bs = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        q = linear(query, q_proj_weight, bs[0])
        k = linear(key, k_proj_weight, bs[1])
        v = linear(value, v_proj_weight, bs[2])

    dtype = q.dtype
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            _check_mask_shape(attn_mask, "attn_mask", [(L, S)])
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            _check_mask_shape(attn_mask, "attn_mask", [(N * num_heads, L, S)])
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
        attn_mask = _float_mask(attn_mask, dtype)
    key_padding_mask = _float_mask(key_padding_mask, dtype)

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = ops.cat([k, bias_k.expand(1, N, E)])
        v = ops.cat([v, bias_v.expand(1, N, E)])
        attn_mask, key_padding_mask = _pad1(attn_mask), _pad1(key_padding_mask)

    # (L, N, E) -> (N * heads, L, hd)
    q = q.reshape(L, N * num_heads, hd).transpose(0, 1)
    k = (k.reshape(k.shape[0], N * num_heads, hd).transpose(0, 1) if static_k is None
         else static_k)
    v = (v.reshape(v.shape[0], N * num_heads, hd).transpose(0, 1) if static_v is None
         else static_v)
    if add_zero_attn:
        z = ops.zeros((N * num_heads, 1, hd), dtype=dtype, device=q.device)
        k, v = ops.cat([k, z], 1), ops.cat([v, z], 1)
        attn_mask, key_padding_mask = _pad1(attn_mask), _pad1(key_padding_mask)
    S = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (N, S):
            raise AssertionError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(N, 1, 1, S).expand(N, num_heads, 1, S)
        kpm = kpm.reshape(N * num_heads, 1, S)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    p = dropout_p if training else 0.0

    scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(1, 2)
    if attn_mask is not None:
        scores = scores + attn_mask
    w = softmax(scores, -1)
    wd = dropout(w, p, True) if p > 0.0 else w
    out = (wd @ v).transpose(0, 1).reshape(L * N, E)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(L, N, E)
    weights = None
    if need_weights:
        weights = w.reshape(N, num_heads, L, S)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            weights = weights.squeeze(0)
    if not batched:
        out = out.squeeze(1)
    return out, weights
