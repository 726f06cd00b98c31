"""Reduction cases."""
from .cases import I, case

case("sum_all", lambda m, x: x.sum(), I(3, 4))
case("sum_dim_keepdim", lambda m, x: x.sum(1, keepdim=True), I(3, 4, 5))
case("mean_dims", lambda m, x: x.mean((0, 2)), I(3, 4, 5))
case("amax", lambda m, x: x.amax(1), I(3, 4, kind="uniform"))
case("max_dim", lambda m, x: x.max(1)[0], I(3, 4, kind="uniform"))
case("argmax", lambda m, x: x.argmax(1), I(3, 4, kind="uniform"), grad=False)
case("softmax", lambda m, x: m.softmax(x, 1), I(3, 4))
case("log_softmax", lambda m, x: m.log_softmax(x, -1), I(3, 4))
