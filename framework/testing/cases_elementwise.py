"""Elementwise op cases."""
from .cases import I, case

for _op in ("exp", "tanh", "sigmoid", "sin", "cos", "abs", "neg", "erf", "atan"):
    case(_op, lambda m, x, _op=_op: getattr(m, _op)(x), I(3, 4))
for _op in ("log", "sqrt", "rsqrt", "reciprocal", "log1p", "log2", "log10"):
    case(_op, lambda m, x, _op=_op: getattr(m, _op)(x), I(3, 4, kind="positive"))
case("relu", lambda m, x: m.relu(x), I(3, 4, kind="away"))
case("add_broadcast", lambda m, x, y: x + y, I(2, 3, 4), I(3, 1))
case("mul_broadcast", lambda m, x, y: x * y, I(2, 1, 4), I(3, 1))
case("div", lambda m, x, y: x / y, I(3, 4), I(4, kind="away"))
case("pow_tensor", lambda m, x, y: x ** y, I(3, 4, kind="positive"), I(3, 4))
case("maximum", lambda m, x, y: m.maximum(x, y), I(3, 4), I(3, 4))
case("where", lambda m, c, x, y: m.where(c, x, y), I(3, 4, dtype="bool"), I(3, 4), I(4))
case("clamp", lambda m, x: x.clamp(-0.5, 0.5), I(4, 5, kind="away"))
case("int_promotion", lambda m, x, y: x + y, I(3, dtype="int32"), I(3))
