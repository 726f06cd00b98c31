"""Reduction cases: sums, products, statistics, norms, scans, sorting and selection.
Inputs for max/sort/topk/median are 'uniform' floats, which have no ties."""
from .cases import I, case

case("sum_all", lambda m, x: x.sum(), I(3, 4))
case("sum_dim_keepdim", lambda m, x: x.sum(1, keepdim=True), I(3, 4, 5))
case("sum_dims_neg", lambda m, x: x.sum((-1, 0)), I(3, 4, 5))
case("sum_int", lambda m, x: (x.sum(), x.sum(0), (x > 0).sum(1)), I(3, 4, dtype="int32"))
case("sum_dtype", lambda m, x: x.sum(1, dtype=m.float64), I(3, 4))
case("mean_dims", lambda m, x: x.mean((0, 2)), I(3, 4, 5))
case("mean_keepdim", lambda m, x: x.mean(-1, keepdim=True), I(3, 4))
case("mean_int_dtype", lambda m, x: x.mean(dtype=m.float32), I(3, 4, dtype="int64"))
case("amax", lambda m, x: x.amax(1), I(3, 4, kind="uniform"))
case("amin_dims", lambda m, x: x.amin((0, 2), keepdim=True), I(3, 4, 5, kind="uniform"))
case("max_dim", lambda m, x: x.max(1)[0], I(3, 4, kind="uniform"))
case("min_dim_keepdim", lambda m, x: tuple(x.min(0, keepdim=True)), I(3, 4, kind="uniform"))
case("max_all", lambda m, x: (x.max(), x.min()), I(3, 4, kind="uniform"))
case("argmax", lambda m, x: x.argmax(1), I(3, 4, kind="uniform"), grad=False)
case("argmin_all", lambda m, x: (x.argmin(), x.argmax(0, keepdim=True)), I(3, 4, kind="uniform"),
     grad=False)
case("softmax", lambda m, x: m.softmax(x, 1), I(3, 4), tags=("fused",))
case("log_softmax", lambda m, x: m.log_softmax(x, -1), I(3, 4), tags=("fused",))

case("prod_all", lambda m, x: x.prod(), I(3, 4, kind="away"))
case("prod_dim", lambda m, x: (x.prod(1), x.prod(0, keepdim=True)), I(3, 4, kind="away"))
# A zero in the input: the gradient of the other entries is the product of the rest, and the
# zero's gradient is the product of its neighbours (not 0/0).
case("prod_zero", lambda m, x: (x * (x.abs() > 0.6)).prod(1), I(3, 4, kind="away"))
case("prod_zero_all", lambda m, x: (x * (x.abs() > 0.6)).prod(), I(2, 3, kind="away"))
case("prod_int", lambda m, x: (x.prod(), x.prod(0)), I(3, 4, dtype="int32", low=-3, high=4))
case("var", lambda m, x: (x.var(), x.var(1), x.var(0, keepdim=True)), I(3, 4))
case("var_correction", lambda m, x: (x.var(1, correction=0), x.var((0, 2), correction=2),
                                     x.var(unbiased=False)), I(3, 4, 5))
case("std", lambda m, x: (x.std(), x.std(1, unbiased=False), x.std(-1, keepdim=True, correction=0)),
     I(3, 4))
case("var_mean", lambda m, x: m.var_mean(x, 1) + m.std_mean(x, (0, 1), keepdim=True),
     I(3, 4, 2))
case("logsumexp", lambda m, x: (m.logsumexp(x, 1), x.logsumexp((0, 2), keepdim=True)),
     I(3, 4, 5))
case("logsumexp_large", lambda m, x: m.logsumexp(x * 50, -1), I(3, 4))
case("cumsum", lambda m, x: (x.cumsum(1), m.cumsum(x, 0), x.cumsum(-1, dtype=m.float64)),
     I(3, 4))
case("cumsum_int", lambda m, x: (x.cumsum(0), (x > 0).cumsum(1)), I(3, 4, dtype="int32"))
case("cumprod", lambda m, x: (x.cumprod(1), m.cumprod(x, 0)), I(3, 4, kind="away"))
case("cumprod_zero", lambda m, x: (x * (x.abs() > 0.6)).cumprod(1), I(3, 5, kind="away"))
case("all_any", lambda m, x: (x.all(), x.any(), (x > 0).all(1), (x > 0).any(0, keepdim=True),
                              m.all(x > -3), m.any(x > 3, 1)), I(3, 4), grad=False)
case("count_nonzero", lambda m, x: (m.count_nonzero(x), m.count_nonzero(x, 1), x.count_nonzero(0)),
     I(3, 4, dtype="int64", low=-1, high=2))
case("norm_2", lambda m, x: (x.norm(), x.norm(dim=1), m.norm(x, 2, (0, 1), keepdim=True)),
     I(3, 4, 2))
case("norm_fro", lambda m, x: (x.norm(p="fro"), x.norm("fro", dim=(0, 1))), I(3, 4))
case("norm_1", lambda m, x: (x.norm(p=1), x.norm(1, dim=0)), I(3, 4, kind="away"))
case("norm_inf", lambda m, x: (x.norm(p=float("inf")), x.norm(float("inf"), 1),
                               x.norm(float("-inf"), 0)), I(3, 4, kind="uniform"))
case("norm_p3", lambda m, x: (x.norm(p=3), x.norm(0.5, dim=1, keepdim=True)), I(3, 4, kind="away"))
case("norm_zero_row", lambda m, x: (x * (m.arange(3, device=x.device) != 1).unsqueeze(1)).norm(dim=1),
     I(3, 4))
case("sort", lambda m, x: tuple(x.sort(1)), I(3, 4, kind="uniform"))
case("sort_descending", lambda m, x: tuple(m.sort(x, 0, descending=True)), I(3, 4, kind="uniform"))
case("sort_stable", lambda m, x: tuple(x.sort(dim=-1, stable=True)), I(3, 6, dtype="int64",
     low=0, high=3))
case("argsort", lambda m, x: (x.argsort(1), x.argsort(0, descending=True)), I(3, 4, kind="uniform"),
     grad=False)
case("topk", lambda m, x: tuple(x.topk(2)), I(3, 5, kind="uniform"))
case("topk_smallest", lambda m, x: tuple(m.topk(x, 3, dim=0, largest=False)), I(4, 3, kind="uniform"))
case("median_all", lambda m, x: x.median(), I(3, 5, kind="uniform"))
case("median_dim", lambda m, x: tuple(x.median(1)), I(3, 5, kind="uniform"))
case("median_even", lambda m, x: tuple(x.median(0, keepdim=True)), I(4, 3, kind="uniform"))
