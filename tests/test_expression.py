"""The expression language of `valuegrad graph`: what it computes, and everything it refuses."""

import ast
import builtins
import math

import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd import Constant, Value
from autograd.expression import MAX_DEPTH, MAX_LENGTH, EvaluationError, Expression, ExpressionError

X, Y = sympy.symbols("x y", real=True)
SYMPY_FUNCTIONS = {
    "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "tanh": sympy.tanh,
    "sin": sympy.sin, "cos": sympy.cos, "abs": sympy.Abs,
    "sigmoid": lambda z: 1 / (1 + sympy.exp(-z)),
    "softplus": lambda z: sympy.log(1 + sympy.exp(z)),
    "relu": lambda z: sympy.Max(0, z),
    "leaky_relu": lambda z, slope=None: sympy.Piecewise(
        (z, z > 0), ((sympy.Rational(1, 100) if slope is None else slope) * z, True)),
}
# Every operation and function, at points away from kinks and domain edges.
FORMULAS = [
    "tanh(x*y + 0.5)",
    "x**2 / y - 3*x + 1",
    "x ** y",
    "2 ** -x + -y",
    "sigmoid(x) * softplus(-y)",
    "sqrt(x) + log(y) - exp(-x) / +y",
    "sin(x) * cos(y)",
    "abs(x - 2*y) + relu(x - y) + leaky_relu(y - x, 0.2) + leaky_relu(-x)",
]


def sympy_of(text: str) -> sympy.Expr:
    # SymPy reads the same text (a separate parser), with the same function meanings.
    return sympy.sympify(text, locals={"x": X, "y": Y, **SYMPY_FUNCTIONS})


@pytest.mark.parametrize("text", FORMULAS)
@settings(max_examples=15)
@given(x=st.floats(0.3, 2.5), y=st.floats(0.3, 2.5))
def test_value_and_gradients_match_sympy(text, x, y):
    assume(abs(x - y) > 1e-6 and abs(x - 2 * y) > 1e-6)   # the kinks of abs, relu, leaky_relu
    reference = sympy_of(text)
    expression = Expression(text)
    leaves = {name: Value(v, name) for name, v in (("x", x), ("y", y))}
    out = expression.evaluate(leaves)
    out.backward()
    point = {X: x, Y: y}
    assert out.data == pytest.approx(float(reference.subs(point)), rel=1e-9, abs=1e-12)
    for symbol, leaf in ((X, leaves["x"]), (Y, leaves["y"])):
        expected = float(sympy.diff(reference, symbol).subs(point))
        assert leaf.grad == pytest.approx(expected, rel=1e-7, abs=1e-9), symbol


def test_the_neuron_by_hand():
    # out = tanh(n), n = x*w + b; d out/d n = 1 - out^2; d n/d x = w, d n/d w = x, d n/d b = 1.
    out = Expression("tanh(x*w + b)").evaluate({"x": 2.0, "w": -3.0, "b": 6.8813735870195432})
    out.backward()
    leaves = {v.label: v for v in _leaves(out)}
    assert out.data == pytest.approx(math.sqrt(0.5), rel=1e-12)   # tanh(0.8813...) = 1/sqrt(2)
    assert leaves["x"].grad == pytest.approx(-3.0 * 0.5)
    assert leaves["w"].grad == pytest.approx(2.0 * 0.5)
    assert leaves["b"].grad == pytest.approx(0.5)


def _leaves(out):
    from autograd import topological_order

    return [v for v in topological_order(out) if not v._prev and not isinstance(v, Constant)]


def test_variables_in_order_of_first_appearance():
    assert Expression("b + a*c - a").variables == ("b", "a", "c")
    assert Expression("2 + 3").variables == ()


def test_numbers_and_signs_make_constants_not_extra_nodes():
    out = Expression("x * -3").evaluate({"x": 1.5})
    assert out.op == "*"
    x, three = out.children
    assert x.label == "x" and isinstance(three, Constant) and three.data == -3.0
    negated = Expression("-x").evaluate({"x": 1.5})
    assert negated.op == "neg" and negated.data == -1.5
    assert Expression("+x").evaluate({"x": 1.5}).op == ""  # unary plus changes nothing


def test_leaky_relu_slope_and_abs():
    out = Expression("leaky_relu(x, 0.25)").evaluate({"x": -2.0})
    assert out.op == "leaky_relu" and out.data == -0.5
    default = Expression("leaky_relu(x)").evaluate({"x": -2.0})
    assert default.data == pytest.approx(-0.02)          # the engine's default slope, 0.01
    assert Expression("abs(x)").evaluate({"x": -2.0}).op == "abs"


def test_labels_name_variables_and_short_subexpressions():
    out = Expression("tanh(x*w + b)").evaluate({"x": 1.0, "w": 2.0, "b": 3.0})
    assert out.label == "tanh(x * w + b)"
    assert out.children[0].label == "x * w + b"
    long = Expression("tanh(x1*w1 + x2*w2 + bias)").evaluate(
        {"x1": 1.0, "w1": 2.0, "x2": 3.0, "w2": 4.0, "bias": 5.0})
    assert long.label == "out"


def test_given_values_are_used_as_they_are():
    x = Value(3.0, "mine")
    out = Expression("x * x").evaluate({"x": x})
    out.backward()
    assert out.children == (x, x) and x.grad == 6.0 and x.label == "mine"


def test_nothing_is_passed_to_eval_exec_or_compiled(monkeypatch):
    real_compile = builtins.compile

    def forbidden(*args, **kwargs):
        raise AssertionError("eval and exec must not be used")

    def parse_only(source, filename, mode, flags=0, *args, **kwargs):
        # ast.parse is compile(..., flags=PyCF_ONLY_AST): a tree, never code objects.
        assert flags & ast.PyCF_ONLY_AST, "compile may only be used to parse"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    out = Expression("sqrt(x) * exp(y) + 1").evaluate({"x": 4.0, "y": 0.0})
    assert out.data == 3.0


@pytest.mark.parametrize(("text", "message", "column"), [
    ("__import__('os')", "unknown function '__import__'", 1),
    ("x.__class__", "attribute access", 2),
    ("tanh(x).real", "attribute access", 8),
    ("x[0]", "subscript", 2),
    ("[1]", "list", 1),
    ("(x, y)", "tuple", 1),
    ("{1: 2}", "dict", 1),
    ("lambda: 1", "lambda", 1),
    ("x if y else z", "conditional expression", 1),
    ("f(x)", "unknown function 'f'", 1),
    ("exp(x, base=2)", "keyword argument base=", 8),
    ("exp(**k)", "**arguments", 5),
    ("exp(*x)", "starred argument", 5),
    ("1 < 2", "comparison", 1),
    ("x and y", "and/or", 1),
    ("not x", "not", 1),
    ("~x", "the ~ operator", 1),
    ("x // 2", "the // operator", 3),
    ("(x + 1) % 2", "the % operator", 9),
    ("x @ y", "the @ operator", 3),
    ("'a'", "string", 1),
    ("b'a'", "bytes", 1),
    ("True", "True/False", 1),
    ("None", "None", 1),
    ("1j", "complex number", 1),
    ("f'{x}'", "f-string", 1),
    ("(y := 2)", "assignment (:=)", 2),
    ("[i for i in x]", "list comprehension", 1),
    ("exp", "exp without parentheses", 1),
    ("x.y(1)", "calling the result of attribute access", 1),
    ("é + x.y", "attribute access", 6),   # columns count characters, not bytes
])
def test_refused_constructs_are_named_with_their_column(text, message, column):
    with pytest.raises(ExpressionError, match="not allowed in an expression") as caught:
        Expression(text)
    assert message in str(caught.value)
    assert caught.value.column == column
    assert f"at column {column}" in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    ("x +", "invalid syntax"),
    ("(x", "never closed"),
    ("x = 1", "invalid syntax"),
    ("import os", "invalid syntax"),
    ("exp(x, y)", "exp takes 1 argument, got 2"),
    ("exp()", "exp takes 1 argument, got 0"),
    ("leaky_relu(x, 1, 2)", "leaky_relu takes 1 or 2 arguments, got 3"),
    ("leaky_relu(x, y)", "the slope of leaky_relu must be a number"),
    ("1e999", "number too large"),
    ("9" * 400, "number too large"),
    ("-" * (MAX_DEPTH + 10) + "x", "nested too deeply"),
    ("x+" * 3000 + "x", "nested too deeply"),
    ("-" * 9000 + "1", "nested too deeply"),
    ("x + " * (MAX_LENGTH // 4) + "x", "too long"),
    ("x\x00", "invalid"),
])
def test_other_bad_text_is_an_expression_error(text, message):
    with pytest.raises(ExpressionError, match=message):
        Expression(text)


def test_leading_spaces_are_allowed_and_counted_in_columns():
    assert Expression("  -x").variables == ("x",)
    with pytest.raises(ExpressionError) as caught:
        Expression("  x.y")
    assert caught.value.column == 4


def test_not_text_is_a_type_error():
    with pytest.raises(TypeError, match="text must be a str"):
        Expression(3)


def test_missing_unused_and_bad_values():
    expression = Expression("x * y")
    with pytest.raises(ValueError, match="no value given for variable y"):
        expression.evaluate({"x": 1.0})
    with pytest.raises(ValueError, match="variable z not in the expression"):
        expression.evaluate({"x": 1.0, "y": 2.0, "z": 3.0})
    with pytest.raises(TypeError, match="the value of x must be a number"):
        expression.evaluate({"x": True, "y": 2.0})
    with pytest.raises(TypeError, match="values must be a mapping"):
        expression.evaluate([1.0, 2.0])


@pytest.mark.parametrize(("text", "values", "message"), [
    ("log(x)", {"x": -1.0}, "cannot compute log(x) (column 1): log(-1.0):"),
    ("1 / x", {"x": 0.0}, "cannot compute 1 / x (column 3): /(1.0, 0.0): division by zero"),
    ("sqrt(x - 2)", {"x": 1.0}, "sqrt"),
    ("x ** 0.5", {"x": -4.0}, "**"),
    ("exp(x)", {"x": 1000.0}, "overflows"),
])
def test_failing_operations_are_evaluation_errors(text, values, message):
    with pytest.raises(EvaluationError) as caught:
        Expression(text).evaluate(values)
    assert message in str(caught.value)
