"""Each operation's value, first and second derivatives against SymPy and central differences.

SymPy differentiates each operation's textbook formula; the result is evaluated with
mpmath at 30 significant digits at the very floats the engine received, so the engine's
answers must agree to about 1e-9 relative. Points come from hypothesis, inside each
operation's domain and at least 1e-3 away from kinks (relu, leaky_relu, abs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import mpmath
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from autograd import OPS, Value, grad
from autograd.ops import BUILT_IN

X, Y = sympy.symbols("x y", real=True)
SYMBOLS = (X, Y)

GRAD_TOL = {"rel_tol": 1e-9, "abs_tol": 1e-12}
VALUE_TOL = {"rel_tol": 1e-12, "abs_tol": 1e-300}


def away_from_zero(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats with low <= |v| <= high, of either sign."""
    return st.one_of(st.floats(low, high), st.floats(-high, -low))


ANY = st.floats(-20.0, 20.0)
OFF_KINK = away_from_zero(1e-3, 20.0)
NONZERO = away_from_zero(1e-2, 20.0)
BASE = st.floats(1e-2, 10.0)  # x ** y is differentiable in y only for x > 0
EXPONENT = st.floats(-4.0, 4.0)


def relu_expr(e: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((e, e > 0), (0, True))


def leaky_relu_expr(e: sympy.Expr, slope: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((e, e > 0), (slope * e, True))


@dataclass(frozen=True)
class Case:
    """One operation in one form: `f(*args)` in the engine is `expr` in SymPy.

    Argument i is drawn from `points[i]` and is SYMBOLS[i] in `expr`. The first
    `n_values` arguments are passed as Values (and differentiated), the rest as numbers.
    """

    name: str
    f: Callable[..., Value]
    expr: sympy.Expr
    points: tuple[st.SearchStrategy, ...]
    n_values: int = 1

    def __str__(self) -> str:
        return self.name


def unary(name: str, f: Callable[[Value], Value], expr: sympy.Expr,
          points: st.SearchStrategy[float] = ANY) -> Case:
    return Case(name, f, expr, (points,))


CASES = [
    unary("neg", lambda x: -x, -X),
    unary("abs", abs, sympy.Abs(X), OFF_KINK),
    unary("exp", Value.exp, sympy.exp(X), st.floats(-30.0, 30.0)),
    unary("log", Value.log, sympy.log(X), st.floats(1e-3, 1e3)),
    unary("sqrt", Value.sqrt, sympy.sqrt(X), st.floats(1e-3, 1e3)),
    unary("tanh", Value.tanh, sympy.tanh(X)),
    unary("sigmoid", Value.sigmoid, 1 / (1 + sympy.exp(-X))),
    unary("relu", Value.relu, relu_expr(X), OFF_KINK),
    unary("leaky_relu", Value.leaky_relu, leaky_relu_expr(X, sympy.Rational(1, 100)), OFF_KINK),
    Case("leaky_relu(slope)", lambda x, s: x.leaky_relu(s), leaky_relu_expr(X, Y),
         (OFF_KINK, st.floats(0.0, 1.0))),
    unary("softplus", Value.softplus, sympy.log(1 + sympy.exp(X))),
    unary("sin", Value.sin, sympy.sin(X)),
    unary("cos", Value.cos, sympy.cos(X)),
    # Two Values.
    Case("x + y", lambda x, y: x + y, X + Y, (ANY, ANY), n_values=2),
    Case("x - y", lambda x, y: x - y, X - Y, (ANY, ANY), n_values=2),
    Case("x * y", lambda x, y: x * y, X * Y, (ANY, ANY), n_values=2),
    Case("x / y", lambda x, y: x / y, X / Y, (ANY, NONZERO), n_values=2),
    Case("x ** y", lambda x, y: x ** y, X ** Y, (BASE, EXPONENT), n_values=2),
    # A Value and a plain number, on either side.
    Case("x + c", lambda x, c: x + c, X + Y, (ANY, ANY)),
    Case("c + x", lambda x, c: c + x, Y + X, (ANY, ANY)),
    Case("x - c", lambda x, c: x - c, X - Y, (ANY, ANY)),
    Case("c - x", lambda x, c: c - x, Y - X, (ANY, ANY)),
    Case("x * c", lambda x, c: x * c, X * Y, (ANY, ANY)),
    Case("c * x", lambda x, c: c * x, Y * X, (ANY, ANY)),
    Case("x / c", lambda x, c: x / c, X / Y, (ANY, NONZERO)),
    Case("c / x", lambda x, c: c / x, Y / X, (NONZERO, ANY)),
    Case("x ** c", lambda x, c: x ** c, X ** Y, (BASE, EXPONENT)),
    Case("x ** n, integer n", lambda x, n: x ** n, X ** Y,
         (away_from_zero(0.1, 10.0), st.integers(-3, 4))),
    Case("c ** x", lambda x, c: c ** x, Y ** X, (EXPONENT, BASE)),
]


def test_every_operation_of_one_or_two_operands_has_a_sympy_reference() -> None:
    """The cases above are the independent reference: each row of the table needs one."""
    covered = set()
    for case in CASES:
        args = tuple(1.5 if isinstance(p, st.SearchStrategy) else p for p in case.points)
        covered.add(call(case, tuple(0.5 + i for i in range(len(args))))[0].op)
    assert covered == {name for name in BUILT_IN if OPS[name].arity > 0}


@cache
def exact_function(case: Case) -> Callable[..., list]:
    """The case's [value, gradient..., Hessian row by row...] from SymPy, as an mpmath function."""
    symbols = SYMBOLS[:len(case.points)]
    wrt = symbols[:case.n_values]
    gradient = [sympy.diff(case.expr, v) for v in wrt]
    hessian = [sympy.diff(g, v) for g in gradient for v in wrt]
    # Every point is at least 1e-3 away from a kink, where DiracDelta is 0.
    exprs = [e.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
             for e in [case.expr, *gradient, *hessian]]
    return sympy.lambdify(symbols, exprs, "mpmath")


def exact(case: Case, args: tuple, digits: int = 30) -> tuple[float, list[float], list[float]]:
    """The case's value, gradient and Hessian (row by row) at `args`, to `digits` digits."""
    with mpmath.workdps(digits):
        # Python ints stay ints: mpmath raises a negative base to an integer power exactly.
        results = exact_function(case)(*[a if isinstance(a, int) else mpmath.mpf(a)
                                         for a in args])
        results = [float(r) for r in results]
    n = case.n_values
    return results[0], results[1:1 + n], results[1 + n:]


def call(case: Case, args: tuple) -> tuple[Value, list[Value]]:
    """Run the case in the engine: the output and the input Values."""
    values = [Value(a) for a in args[:case.n_values]]
    return case.f(*values, *args[case.n_values:]), values


def assert_close(got: float, expected: float, what: str, tol: dict = GRAD_TOL) -> None:
    assert math.isclose(got, expected, **tol), f"{what}: got {got!r}, expected {expected!r}"


@pytest.mark.parametrize("case", CASES, ids=str)
@given(data=st.data())
def test_value_and_gradient_match_sympy(case: Case, data: st.DataObject) -> None:
    args = data.draw(st.tuples(*case.points), label="args")
    out, inputs = call(case, args)
    value, gradient, _ = exact(case, args)
    assert_close(out.data, value, "value", VALUE_TOL)
    out.backward()
    for i, (v, expected) in enumerate(zip(inputs, gradient)):
        assert_close(v.grad, expected, f"backward: d/d argument {i}")
    for i, (g, expected) in enumerate(zip(grad(out, inputs), gradient)):
        assert_close(g, expected, f"grad(): d/d argument {i}")


@pytest.mark.parametrize("case", CASES, ids=str)
@given(data=st.data())
def test_gradient_matches_central_differences(case: Case, data: st.DataObject) -> None:
    args = data.draw(st.tuples(*case.points), label="args")
    out, inputs = call(case, args)
    out.backward()
    for i, v in enumerate(inputs):
        # Small enough to stay inside the domain and 1e-3 away from kinks.
        h = 1e-6 * max(1.0, abs(args[i]))
        above = call(case, args[:i] + (args[i] + h,) + args[i + 1:])[0].data
        below = call(case, args[:i] + (args[i] - h,) + args[i + 1:])[0].data
        numeric = (above - below) / (2 * h)
        assert_close(v.grad, numeric, f"d/d argument {i}", {"rel_tol": 1e-5, "abs_tol": 1e-6})


@pytest.mark.parametrize("case", CASES, ids=str)
@given(data=st.data())
def test_second_derivatives_match_sympy(case: Case, data: st.DataObject) -> None:
    args = data.draw(st.tuples(*case.points), label="args")
    out, inputs = call(case, args)
    _, gradient, hessian = exact(case, args)
    first = grad(out, inputs, create_graph=True)
    for i, g in enumerate(first):
        assert isinstance(g, Value)
        assert_close(g.data, gradient[i], f"d/d argument {i}")
    second = [h for g in first for h in grad(g, inputs)]
    for k, (h, expected) in enumerate(zip(second, hessian)):
        i, j = divmod(k, case.n_values)
        assert_close(h, expected, f"d2/d argument {i} d argument {j}")


# --- the n-ary operations: Value.sum and Value.dot ----------------------------

@st.composite
def operands(draw: st.DrawFn, pool: list[Value], symbols: tuple, min_size: int = 0,
             max_size: int = 4) -> tuple[list, list]:
    """Operands for sum or dot: Values from `pool` (repeats allowed) or plain numbers.

    Returns the operands for the engine and the same operands for SymPy.
    """
    picks = draw(st.lists(st.one_of(st.integers(0, len(pool) - 1), ANY),
                          min_size=min_size, max_size=max_size))
    engine = [p if isinstance(p, float) else pool[p] for p in picks]
    exact = [sympy.Rational(p) if isinstance(p, float) else symbols[p] for p in picks]
    return engine, exact


def assert_matches_polynomial(out: Value, pool: list[Value], expr: sympy.Expr,
                              symbols: tuple) -> None:
    """Value, gradient and Hessian of `out` against the polynomial `expr`, evaluated exactly."""
    point = {s: sympy.Rational(v.data) for s, v in zip(symbols, pool)}
    assert_close(out.data, float(expr.subs(point)), "value", {"rel_tol": 1e-12, "abs_tol": 1e-12})
    first = grad(out, pool, create_graph=True)
    for i, g in enumerate(first):
        assert_close(g.data, float(sympy.diff(expr, symbols[i]).subs(point)), f"d/d pool[{i}]")
        for j, h in enumerate(grad(g, pool)):
            expected = float(sympy.diff(expr, symbols[i], symbols[j]).subs(point))
            assert_close(h, expected, f"d2/d pool[{i}] d pool[{j}]")
    out.backward()
    for i, v in enumerate(pool):
        assert_close(v.grad, float(sympy.diff(expr, symbols[i]).subs(point)), f"pool[{i}].grad")


@given(data=st.data(), pool_data=st.lists(ANY, min_size=1, max_size=4))
def test_sum_matches_sympy(data: st.DataObject, pool_data: list[float]) -> None:
    pool = [Value(v) for v in pool_data]
    symbols = sympy.symbols(f"v0:{len(pool)}", real=True)
    terms, exact_terms = data.draw(operands(pool, symbols, max_size=6), label="terms")
    out = Value.sum(terms)
    assert_matches_polynomial(out, pool, sympy.Add(*exact_terms), symbols)


@given(data=st.data(), pool_data=st.lists(ANY, min_size=1, max_size=4))
def test_dot_matches_sympy(data: st.DataObject, pool_data: list[float]) -> None:
    pool = [Value(v) for v in pool_data]
    symbols = sympy.symbols(f"v0:{len(pool)}", real=True)
    weights, exact_weights = data.draw(operands(pool, symbols), label="weights")
    n = len(weights)
    inputs, exact_inputs = data.draw(operands(pool, symbols, min_size=n, max_size=n),
                                     label="inputs")
    expr = sympy.Add(*[w * x for w, x in zip(exact_weights, exact_inputs)])
    if data.draw(st.booleans(), label="with bias"):
        (bias,), (exact_bias,) = data.draw(operands(pool, symbols, min_size=1, max_size=1),
                                           label="bias")
        out = Value.dot(weights, inputs, bias)
        expr += exact_bias
    else:
        out = Value.dot(weights, inputs)
    assert_matches_polynomial(out, pool, expr, symbols)


# --- numerically safe at the extremes -----------------------------------------

SIGMOID = next(c for c in CASES if c.name == "sigmoid")
SOFTPLUS = next(c for c in CASES if c.name == "softplus")
# Enough digits that 1 + exp(-1000) is not rounded to 1 before log() sees it.
EXTREME_DIGITS = 500
# sigmoid'(x) is computed as s(x) s(-x), right relatively even where s(x) rounds to 1
# (s (1 - s) would cancel to 0 there): only results that underflow get an absolute pass.
SIGMOID_GRAD_TOL = {"rel_tol": 1e-12, "abs_tol": 1e-300}
# The second derivatives are differences of terms near 1/16 around x = 0, where the
# result (about -x/8) is tiny: right to about the spacing of floats there.
SECOND_DERIVATIVE_TOL = {"rel_tol": 1e-9, "abs_tol": 1e-15}
EXACT_TOL = {"rel_tol": 1e-12, "abs_tol": 1e-300}  # 1e-300: results that underflow


@given(st.floats(-1000.0, 1000.0))
def test_sigmoid_and_softplus_are_accurate_from_minus_1000_to_1000(x: float) -> None:
    s, soft = Value(x).sigmoid(), Value(x).softplus()
    s_value, (s_grad,), (s_second,) = exact(SIGMOID, (x,), EXTREME_DIGITS)
    soft_value, (soft_grad,), (soft_second,) = exact(SOFTPLUS, (x,), EXTREME_DIGITS)
    assert_close(s.data, s_value, "sigmoid", EXACT_TOL)
    assert_close(soft.data, soft_value, "softplus", EXACT_TOL)
    (ds,) = grad(s, s._prev[:1], create_graph=True)
    (dsoft,) = grad(soft, soft._prev[:1], create_graph=True)
    assert_close(ds.data, s_grad, "sigmoid'", SIGMOID_GRAD_TOL)
    assert_close(dsoft.data, soft_grad, "softplus'", EXACT_TOL)
    (d2s,) = grad(ds, s._prev[:1])
    (d2soft,) = grad(dsoft, soft._prev[:1])
    assert_close(d2s, s_second, "sigmoid''", SECOND_DERIVATIVE_TOL)
    assert_close(d2soft, soft_second, "softplus''", SECOND_DERIVATIVE_TOL)


@pytest.mark.parametrize("x", [-1000.0, -710.0, 710.0, 1000.0])
def test_sigmoid_and_softplus_do_not_overflow(x: float) -> None:
    for method in (Value.sigmoid, Value.softplus):
        v = Value(x)
        out = method(v)
        out.backward()
        assert math.isfinite(out.data) and math.isfinite(v.grad), method.__name__


def test_sigmoid_and_softplus_at_plus_and_minus_1000() -> None:
    # sigmoid(-1000) = e^-1000 / (1 + e^-1000) ~ 5e-435, below the smallest float.
    low, high = Value(-1000.0), Value(1000.0)
    s_low, s_high = low.sigmoid(), high.sigmoid()
    assert s_low.data == pytest.approx(0.0, abs=1e-300)
    assert s_high.data == 1.0
    assert grad(s_low, [low]) == pytest.approx([0.0], abs=1e-300)
    assert grad(s_high, [high]) == pytest.approx([0.0], abs=1e-300)
    # softplus(x) = log(1 + e^x): e^-1000 below; 1000 + log(1 + e^-1000) above.
    p_low, p_high = low.softplus(), high.softplus()
    assert p_low.data == pytest.approx(0.0, abs=1e-300)
    assert p_high.data == 1000.0
    assert grad(p_low, [low]) == pytest.approx([0.0], abs=1e-300)
    assert grad(p_high, [high]) == [1.0]
