"""View, indexing, joining, padding and matrix-product cases (values and gradients)."""
from .cases import I, case


def _idx(*shape, high, low=None):
    """An int64 index input in [0, high), or in [low, high) when `low` is given."""
    if low is None:
        return I(*shape, dtype="int64", kind="index", high=high)
    return I(*shape, dtype="int64", low=low, high=high)


def _t(m, x, data):
    """A constant index tensor on x's device."""
    return m.tensor(data, device=x.device)


def _pad(m):
    """nn.functional.pad where the library has it (torch; fw once nn lands), else fw.pad."""
    nn = getattr(m, "nn", None)
    f = getattr(getattr(nn, "functional", None), "pad", None)
    return f if f is not None else m.pad


# -- views -----------------------------------------------------------------------------------------
case("permute", lambda m, x: x.permute(2, 0, 1) * 1, I(2, 3, 4))
case("transpose_reshape", lambda m, x: x.transpose(0, 1).reshape(-1), I(3, 4))
case("view_chain", lambda m, x: x.view(6, 4).view(2, 12)[1], I(2, 3, 4))
case("view_infer", lambda m, x: x.view(-1, 2) * 2, I(3, 4))
case("t_mT_T", lambda m, x, y: (x.t() * 1, y.mT * 1, x.T * 1), I(3, 4), I(2, 3, 4))
case("swapaxes", lambda m, x: m.swapaxes(x, 0, 2) * 1, I(2, 3, 4))
case("unsqueeze_squeeze", lambda m, x: x.unsqueeze(1).unsqueeze(-1).squeeze((1, 3)) * 3, I(3, 4))
case("squeeze_all", lambda m, x: x.squeeze() * 1, I(1, 3, 1, 2))
case("expand", lambda m, x: x.expand(3, 4) * 2, I(1, 4))
case("expand_new_dims", lambda m, x: x.expand(2, -1, 4) * 1, I(3, 1))
case("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)) * 1, I(3, 1))
case("slice_step", lambda m, x: x[1:, ::2], I(4, 5))
case("slice_negative", lambda m, x: x[-3:-1, 1::3], I(4, 7))
case("narrow", lambda m, x: x.narrow(1, 1, 2) * 1, I(3, 4))
case("flatten", lambda m, x: x.flatten(1) * 1, I(2, 3, 4))
case("unflatten", lambda m, x: x.unflatten(1, (2, -1)) * 1, I(3, 6))
case("contiguous", lambda m, x: x.t().contiguous().view(-1), I(3, 4))
case("select", lambda m, x: x.select(1, -1) * 1, I(3, 4))
case("unbind", lambda m, x: x.unbind(1), I(3, 4))
case("movedim", lambda m, x: x.movedim((0, 1), (2, 0)) * 1, I(2, 3, 4))
case("as_strided", lambda m, x: x.as_strided((3, 3), (1, 2), 1) * 1, I(4, 3))
case("as_strided_overlap", lambda m, x: x.as_strided((3, 2), (1, 1)) * 1, I(6))
case("diagonal", lambda m, x: x.diagonal(1) * 1, I(3, 4))
case("diagonal_dims", lambda m, x: x.diagonal(-1, 0, 2) * 1, I(3, 2, 4))
case("inplace_on_view", lambda m, x, z: _inplace_on_view(x, z), I(3, 4), I(4))
case("inplace_transposed", lambda m, x: _inplace_transposed(x), I(3, 4))


def _inplace_on_view(x, z):
    y = x * 1
    y[0] += z
    y[1:, 2].mul_(3)
    return y


def _inplace_transposed(x):
    y = x * 2
    y.t().add_(1)
    y.t()[0].mul_(2)
    return y


# -- indexing --------------------------------------------------------------------------------------
case("index_tensor", lambda m, x, i: x[i], I(5, 3), _idx(4, high=5))
case("index_list", lambda m, x: x[[0, 2, 2]], I(4, 3))
case("index_negative", lambda m, x, i: x[:, i], I(3, 5), _idx(2, 3, low=-5, high=5))
case("index_two_broadcast", lambda m, x, i, j: x[i, j], I(4, 5), _idx(3, 1, high=4),
     _idx(2, high=5))
case("index_adjacent_middle", lambda m, x, i, j: x[:, i, j], I(2, 4, 5, 3), _idx(3, high=4),
     _idx(3, high=5))
case("index_nonadjacent", lambda m, x, i, j: x[i, :, j], I(4, 3, 5), _idx(2, high=4),
     _idx(2, high=5))
case("index_none_ellipsis", lambda m, x, i: x[None, ..., i, 1:], I(2, 4, 3), _idx(2, 2, high=4))
case("index_int_and_tensor", lambda m, x, i: x[1, i], I(3, 4), _idx(5, high=4))
case("mask_index", lambda m, x: x[x > 0], I(4, 3))
case("mask_leading", lambda m, x, k: x[k], I(4, 3, 2), I(4, 3, dtype="bool"))
case("mask_with_slice", lambda m, x, k: x[:, k], I(2, 5, 3), I(5, dtype="bool"))
case("setitem_scalar", lambda m, x: _set(x, (slice(None), 1), 5.0), I(3, 4))
case("setitem_tensor", lambda m, x, v: _set(x, (slice(1, None), slice(None, 3)), v), I(3, 4), I(3))
case("setitem_mask", lambda m, x, v: _set(x, x > 0, v), I(3, 4), I())
case("setitem_index", lambda m, x, v: _set(x, (_t(m, x, [0, 2]), _t(m, x, [1, 3])), v),
     I(3, 4), I(2))
case("setitem_index_broadcast", lambda m, x, v: _set(x, _t(m, x, [2, 0]), v), I(3, 4), I(4))
case("index_select", lambda m, x, i: x.index_select(1, i), I(3, 4), _idx(5, high=4))
case("gather", lambda m, x, i: x.gather(1, i), I(3, 4), _idx(3, 2, high=4))
case("gather_dim0", lambda m, x, i: m.gather(x, 0, i), I(3, 4), _idx(5, 4, high=3))
case("scatter_src", lambda m, x, s: x.scatter(1, _t(m, x, [[2, 0], [1, 3], [0, 1]]), s),
     I(3, 4), I(3, 2))
case("scatter_value", lambda m, x: x.scatter(0, _t(m, x, [[2, 0, 1, 1]]), 1.5), I(3, 4))
case("scatter_add", lambda m, x, i, s: x.scatter_add(1, i, s), I(3, 4), _idx(3, 5, high=4),
     I(3, 5))
case("masked_fill", lambda m, x, k: x.masked_fill(k, -1.0), I(3, 4), I(4, dtype="bool"))
case("masked_select", lambda m, x, k: m.masked_select(x, k), I(3, 4), I(4, dtype="bool"))
case("index_put_accumulate", lambda m, x, i, v: x.clone().index_put_((i,), v, accumulate=True),
     I(4, 3), _idx(6, high=4), I(6, 3))
case("index_put", lambda m, x, v: x.index_put((_t(m, x, [0, 3]), _t(m, x, [2, 1])), v),
     I(4, 3), I(2))
case("nonzero", lambda m, x: m.nonzero(x), I(3, 4, dtype="bool"))
case("where_cond_only", lambda m, x: m.where(x), I(3, 4, dtype="bool"))


def _set(x, key, value):
    y = x * 1
    y[key] = value
    return y


# -- joining and splitting -------------------------------------------------------------------------
case("cat", lambda m, x, y: m.cat([x, y]), I(2, 3), I(4, 3))
case("cat_dim", lambda m, x, y, z: m.cat((x, y, z), dim=-1), I(2, 3), I(2, 1), I(2, 2))
case("cat_promote", lambda m, x, y: m.cat([x, y], 1), I(2, 3, dtype="int64"), I(2, 2))
case("cat_empty_legacy", lambda m, x: m.cat([x, m.zeros(0, device=x.device)]), I(2, 3))
case("stack", lambda m, x, y: m.stack([x, y], 1), I(2, 3), I(2, 3))
case("stack_last", lambda m, x, y: m.stack((x, y), -1), I(2, 3), I(2, 3))
case("hstack_vstack", lambda m, x, y: (m.hstack([x, y]), m.vstack([x, y])), I(3), I(3))
case("split_int", lambda m, x: x.split(2, 1), I(3, 5))
case("split_sizes", lambda m, x: m.split(x, [1, 3, 1]), I(5, 2))
case("chunk", lambda m, x: x.chunk(3, 1), I(2, 7))
case("tensor_split", lambda m, x: x.tensor_split(3, 1) + x.tensor_split([1, 4], 1), I(2, 7))
case("split_grad_partial", lambda m, x: x.split(2)[1] * 2, I(5, 2))

# -- padding ---------------------------------------------------------------------------------------
case("pad_constant", lambda m, x: _pad(m)(x, (1, 2, 0, 1), value=0.5), I(2, 3, 4), tags=("fused",))
case("pad_negative", lambda m, x: _pad(m)(x, (-1, 2)), I(2, 4), tags=("fused",))
case("pad_reflect", lambda m, x: _pad(m)(x, (2, 1, 1, 2), mode="reflect"), I(1, 2, 3, 4))
case("pad_replicate", lambda m, x: _pad(m)(x, (2, 3), mode="replicate"), I(2, 3))
case("pad_circular", lambda m, x: _pad(m)(x, (1, 2, 2, 0), mode="circular"), I(1, 2, 3, 4))

# -- shapes built from indices ---------------------------------------------------------------------
case("tril_triu", lambda m, x: (x.tril(), x.triu(1), m.tril(x, -1), m.triu(x, -2)), I(2, 4, 5))
case("meshgrid_ij", lambda m, x, y: m.meshgrid(x, y, indexing="ij"), I(3), I(4))
case("meshgrid_xy", lambda m, x, y, z: m.meshgrid(x, y, z, indexing="xy"), I(3), I(4), I(2))
case("repeat", lambda m, x: x.repeat(2, 1, 3), I(3, 2))
case("repeat_interleave", lambda m, x: x.repeat_interleave(2, dim=1), I(3, 2))
case("repeat_interleave_flat", lambda m, x: m.repeat_interleave(x, 3), I(2, 2))
case("repeat_interleave_tensor", lambda m, x: x.repeat_interleave(_t(m, x, [1, 0, 3]), dim=0),
     I(3, 2))
case("repeat_interleave_counts", lambda m: m.repeat_interleave(m.tensor([2, 0, 1])))
case("roll", lambda m, x: (x.roll(2), x.roll((1, -1), (0, 1)), m.roll(x, -4, 1)), I(3, 4))
case("flip", lambda m, x: (x.flip(0), m.flip(x, (0, 2)), x.fliplr()), I(2, 3, 4))
case("diag", lambda m, x, y: (m.diag(x), m.diag(x, 1), m.diag(y, -1), y.diag()), I(3), I(3, 4))

# -- matrix products -------------------------------------------------------------------------------
case("matmul_batched", lambda m, x, y: x @ y, I(2, 3, 4), I(4, 5))
case("matmul_broadcast", lambda m, x, y: m.matmul(x, y), I(2, 1, 3, 4), I(3, 4, 2))
case("matmul_vec_mat", lambda m, x, y: (x @ y, y.mT @ x), I(4), I(2, 4, 3))
case("mm", lambda m, x, y: m.mm(x, y), I(3, 4), I(4, 2))
case("bmm", lambda m, x, y: x.bmm(y), I(2, 3, 4), I(2, 4, 5))
case("dot", lambda m, x, y: m.dot(x, y), I(5), I(5))
case("mv", lambda m, x, y: x.mv(y), I(3, 4), I(4))
case("outer", lambda m, x, y: m.outer(x, y), I(3), I(4))
case("einsum_mm", lambda m, x, y: m.einsum("ij,jk->ik", x, y), I(3, 4), I(4, 2))
case("einsum_bmm", lambda m, x, y: m.einsum("bij,bjk->bik", x, y), I(2, 3, 4), I(2, 4, 2))
case("einsum_dot", lambda m, x, y: m.einsum("i,i->", x, y), I(5), I(5))
case("einsum_transpose", lambda m, x: m.einsum("ij->ji", x), I(3, 4))
case("einsum_diag", lambda m, x: m.einsum("ii->i", x), I(4, 4))
case("einsum_trace", lambda m, x: m.einsum("ii", x), I(4, 4))
case("einsum_attention", lambda m, q, k: m.einsum("bhqd,bhkd->bhqk", q, k), I(2, 2, 3, 4),
     I(2, 2, 5, 4))
case("einsum_ellipsis", lambda m, x, y: m.einsum("...ij,...jk->...ik", x, y), I(2, 1, 3, 4),
     I(3, 4, 2))
case("einsum_outer", lambda m, x, y: m.einsum("i,j->ij", x, y), I(3), I(4))
case("einsum_colsum", lambda m, x: m.einsum("ij->j", x), I(3, 4))
case("einsum_implicit", lambda m, x, y: m.einsum("ij,jk", x, y), I(3, 4), I(4, 2))
case("einsum_three", lambda m, x, y, z: m.einsum("ij,jk,kl->il", x, y, z), I(2, 3), I(3, 4),
     I(4, 2))
case("einsum_list", lambda m, x, y: m.einsum("bi,bi->b", [x, y]), I(3, 4), I(3, 4))
