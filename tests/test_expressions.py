"""Random expressions built from every operation: gradients and Hessians against SymPy.

Hypothesis builds each expression twice at once, as engine Values and as a SymPy
expression, then compares the engine's derivatives with SymPy's, evaluated with mpmath
at 30 digits at the same inputs. Expressions are kept where floats are well behaved:
inside every operation's domain, at least 1e-3 away from kinks, with no value above 1e4,
so the engine's float results must agree to about 1e-9 relative.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import NamedTuple

import mpmath
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from autograd import OPS, Value, grad
from autograd.ops import BUILT_IN

SYMBOLS = sympy.symbols("x y z", real=True)
MAX_ABS = 1e4
KINK_GAP = 1e-3   # distance kept from the kinks of abs, relu and leaky_relu
DOMAIN_GAP = 1e-2  # distance kept from 0 by log and sqrt arguments, divisors and pow bases
TOL = {"rel_tol": 1e-9, "abs_tol": 1e-12}


class Node(NamedTuple):
    """One subexpression: as a Value and as SymPy."""

    value: Value
    exact: sympy.Expr


SMOOTH_UNARY: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "neg": operator.neg,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "tanh": sympy.tanh,
    "sigmoid": lambda e: 1 / (1 + sympy.exp(-e)),
    "softplus": lambda e: sympy.log(1 + sympy.exp(e)),
    "sin": sympy.sin,
    "cos": sympy.cos,
}
KINKED_UNARY = ("abs", "relu", "leaky_relu")
BINARY: dict[str, Callable] = {"+": operator.add, "-": operator.sub, "*": operator.mul,
                               "/": operator.truediv, "**": operator.pow}
KINDS = ([("unary", name) for name in [*SMOOTH_UNARY, *KINKED_UNARY]]
         + [("binary", name) for name in BINARY]
         + [("number on the left", name) for name in BINARY]
         + [("number on the right", name) for name in BINARY]
         + [("n-ary", "sum"), ("n-ary", "dot")])


def away_from_zero(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats with low <= |v| <= high, of either sign."""
    return st.one_of(st.floats(low, high), st.floats(-high, -low))


def engine_unary(name: str, v: Value, slope: float) -> Value:
    if name == "leaky_relu":
        return v.leaky_relu(slope)
    return getattr(v, OPS[name].method)()


def test_the_sympy_forms_cover_every_row_of_the_table():
    """These SymPy forms are the independent reference: every row needs one."""
    assert {name for _, name in KINDS} == BUILT_IN
    assert {name for name in BUILT_IN if OPS[name].arity == 2 and OPS[name].symbol} == set(BINARY)


class ExpressionBuilder:
    """Draws a random expression over `leaves`, building the Value and SymPy forms together."""

    def __init__(self, draw: st.DrawFn, leaves: list[Node], point: dict) -> None:
        self.draw = draw
        self.leaves = leaves
        self.point = point  # the leaves' data, for SymPy

    def build(self, depth: int, root: bool = False) -> Node:
        if depth == 0 or (not root and self.draw(st.integers(0, 4)) == 0):
            return self.draw(st.sampled_from(self.leaves))
        kind, name = self.draw(st.sampled_from(KINDS))
        if kind == "unary":
            node = self.unary(name, self.build(depth - 1))
        elif kind == "binary":
            node = self.binary(name, self.build(depth - 1), self.build(depth - 1))
        elif kind == "n-ary":
            node = self.n_ary(name, depth)
        else:
            node = self.with_number(name, self.build(depth - 1), kind == "number on the left")
        assume(math.isfinite(node.value.data) and abs(node.value.data) <= MAX_ABS)
        return node

    def is_positive(self, e: sympy.Expr) -> bool:
        return bool(e.evalf(30, subs=self.point) > 0)

    def positive(self, a: Node) -> Node:
        """`a`, negated if it is negative; rejected if it is within DOMAIN_GAP of 0."""
        if a.value.data < 0:
            a = Node(-a.value, -a.exact)
        assume(a.value.data >= DOMAIN_GAP)
        return a

    def unary(self, name: str, a: Node) -> Node:
        slope = self.draw(st.sampled_from([0.01, 0.2, 0.5])) if name == "leaky_relu" else 0.01
        if name in KINKED_UNARY:
            assume(abs(a.value.data) >= KINK_GAP)
            # Away from the kink, the function is one of its two pieces near the point,
            # so that piece has the same derivatives of every order.
            if self.is_positive(a.exact):
                exact = a.exact
            else:
                exact = {"abs": -a.exact, "relu": sympy.S.Zero,
                         "leaky_relu": sympy.Rational(slope) * a.exact}[name]
            return Node(engine_unary(name, a.value, slope), exact)
        if name in ("log", "sqrt"):
            a = self.positive(a)
        if name == "exp":
            assume(a.value.data <= math.log(MAX_ABS))
        return Node(engine_unary(name, a.value, slope), SMOOTH_UNARY[name](a.exact))

    def binary(self, name: str, a: Node, b: Node) -> Node:
        if name == "/":
            assume(abs(b.value.data) >= DOMAIN_GAP)
        if name == "**":
            # x ** y is differentiable in y only for x > 0; keep it within [1/MAX_ABS, MAX_ABS].
            a = self.positive(a)
            assume(abs(b.value.data * math.log(a.value.data)) <= math.log(MAX_ABS))
        return Node(BINARY[name](a.value, b.value), BINARY[name](a.exact, b.exact))

    def with_number(self, name: str, a: Node, number_on_left: bool) -> Node:
        if name == "**" and number_on_left:
            c = self.draw(st.sampled_from([0.5, 2.0, 3.5]))
            assume(abs(a.value.data * math.log(c)) <= math.log(MAX_ABS))
        elif name == "**":
            c = self.draw(st.sampled_from([2, 3, -1, -2, 0.5, 1.5, -0.5]))
            if not float(c).is_integer():
                a = self.positive(a)
            elif c < 0:
                assume(abs(a.value.data) >= DOMAIN_GAP)
        else:
            c = self.draw(away_from_zero(0.1, 5.0))
            if name == "/" and number_on_left:
                assume(abs(a.value.data) >= DOMAIN_GAP)
        f, exact_c = BINARY[name], sympy.Rational(c)
        if number_on_left:
            return Node(f(c, a.value), f(exact_c, a.exact))
        return Node(f(a.value, c), f(a.exact, exact_c))

    def n_ary(self, name: str, depth: int) -> Node:
        n = self.draw(st.integers(1, 2))
        if name == "sum":
            terms = [self.build(depth - 1) for _ in range(n + 1)]
            return Node(Value.sum([t.value for t in terms]), sympy.Add(*[t.exact for t in terms]))
        ws = [self.build(depth - 1) for _ in range(n)]
        xs = [self.build(depth - 1) for _ in range(n)]
        return Node(Value.dot([w.value for w in ws], [x.value for x in xs]),
                    sympy.Add(*[w.exact * x.exact for w, x in zip(ws, xs)]))


class Expression(NamedTuple):
    inputs: list[Value]
    output: Value
    exact: sympy.Expr
    symbols: tuple


@st.composite
def expressions(draw: st.DrawFn, n_inputs: int, depth: int = 4) -> Expression:
    data = [draw(away_from_zero(0.05, 3.0), label=f"input {i}") for i in range(n_inputs)]
    symbols = SYMBOLS[:n_inputs]
    inputs = [Value(d) for d in data]
    point = {s: sympy.Float(d, 30) for s, d in zip(symbols, data)}
    builder = ExpressionBuilder(draw, [Node(v, s) for v, s in zip(inputs, symbols)], point)
    out = builder.build(depth, root=True)
    return Expression(inputs, out.value, out.exact, symbols)


def exact_function(exprs: list[sympy.Expr], symbols: tuple) -> Callable[..., list]:
    """The SymPy expressions as one mpmath function of the symbols."""
    # SymPy may write sqrt(x**2) as Abs(x); its second derivative has a DiracDelta,
    # 0 away from the kink, where every point is.
    exprs = [sympy.sympify(e).replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
             for e in exprs]
    return sympy.lambdify(symbols, exprs, "mpmath")


def at(f: Callable[..., list], inputs: list[Value]) -> list[float]:
    """An exact function's results at the inputs' data, to 30 digits."""
    with mpmath.workdps(30):
        return [float(r) for r in f(*[mpmath.mpf(v.data) for v in inputs])]


def evaluate(exprs: list[sympy.Expr], symbols: tuple, inputs: list[Value]) -> list[float]:
    """The SymPy expressions at the inputs' data, to 30 digits."""
    return at(exact_function(exprs, symbols), inputs)


def assert_close(got: float, expected: float, what: str, expr: sympy.Expr) -> None:
    assert math.isclose(got, expected, **TOL), (
        f"{what} of {expr}: got {got!r}, expected {expected!r}")


@given(expressions(n_inputs=3))
def test_gradients_match_sympy(e: Expression) -> None:
    value, *gradient = evaluate([e.exact, *[sympy.diff(e.exact, s) for s in e.symbols]],
                                e.symbols, e.inputs)
    assert_close(e.output.data, value, "value", e.exact)
    for s, g, expected in zip(e.symbols, grad(e.output, e.inputs), gradient):
        assert_close(g, expected, f"grad() d/d{s}", e.exact)
    e.output.backward()
    for s, v, expected in zip(e.symbols, e.inputs, gradient):
        assert_close(v.grad, expected, f"backward() d/d{s}", e.exact)


@given(expressions(n_inputs=2))
def test_second_derivatives_match_sympy(e: Expression) -> None:
    gradient = [sympy.diff(e.exact, s) for s in e.symbols]
    hessian = [sympy.diff(g, s) for g in gradient for s in e.symbols]
    exact = evaluate([*gradient, *hessian], e.symbols, e.inputs)
    first = grad(e.output, e.inputs, create_graph=True)
    for s, g, expected in zip(e.symbols, first, exact):
        assert_close(g.data, expected, f"d/d{s}", e.exact)
    second = [(s, t, h) for s, g in zip(e.symbols, first)
              for t, h in zip(e.symbols, grad(g, e.inputs))]
    for (s, t, h), expected in zip(second, exact[len(first):]):
        assert_close(h, expected, f"d2/d{s}d{t}", e.exact)


X, Y = SYMBOLS[:2]
FUNCTION_OF_TWO = (X ** 3 * Y + sympy.sin(X * Y) / (1 + Y * Y)
                   + sympy.exp(X - 2 * Y) * sympy.log(X * X + 1))
HESSIAN_OF_TWO = exact_function(list(sympy.hessian(FUNCTION_OF_TWO, (X, Y))), (X, Y))


@given(st.floats(-2.0, 2.0), st.floats(-2.0, 2.0))
def test_hessian_of_a_two_variable_function_matches_sympy(x: float, y: float) -> None:
    inputs = [Value(x), Value(y)]
    expected = at(HESSIAN_OF_TWO, inputs)
    a, b = inputs
    out = a ** 3 * b + (a * b).sin() / (1 + b * b) + (a - 2 * b).exp() * (a * a + 1).log()
    hessian = [h for g in grad(out, inputs, create_graph=True) for h in grad(g, inputs)]
    for k, (h, exact) in enumerate(zip(hessian, expected)):
        assert_close(h, exact, f"Hessian entry {divmod(k, 2)}", FUNCTION_OF_TWO)
