"""View, indexing and data-movement cases."""
from .cases import I, case

case("permute", lambda m, x: x.permute(2, 0, 1) * 1, I(2, 3, 4))
case("transpose_reshape", lambda m, x: x.transpose(0, 1).reshape(-1), I(3, 4))
case("slice_step", lambda m, x: x[1:, ::2], I(4, 5))
case("expand", lambda m, x: x.expand(3, 4) * 2, I(1, 4))
case("index_tensor", lambda m, x, i: x[i], I(5, 3), I(4, dtype="int64", kind="index", high=5))
case("mask_index", lambda m, x: x[x > 0], I(4, 3))
case("matmul_batched", lambda m, x, y: x @ y, I(2, 3, 4), I(4, 5))
case("gather", lambda m, x, i: x.gather(1, i), I(3, 4), I(3, 2, dtype="int64", kind="index", high=4))
