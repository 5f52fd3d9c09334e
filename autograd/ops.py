"""The table of operations: every operation of the engine, one row each.

Each row says how an operation's result is computed from its operands and
what its local derivative is with respect to each operand, side by side, in
the manner of PyTorch's `derivatives.yaml`. In the formulas, `x` and `y` are
the operands' data and `out` is the result. Everything else is made from the
rows: `Value`'s methods, the derivatives as Values for higher-order gradients,
the straight-line code of `autograd.compile`, the chain-rule text of
`backward_steps`, the drawings and the expression language. Adding an
operation is adding a row here, or calling `autograd.define_op` from user code.

The formulas call a small vocabulary of functions (`VOCABULARY`), each with a
version on floats (what the methods and the compiled code run) and one on
Values (what higher-order gradients differentiate again). Every operation
whose name is a word joins that vocabulary, so formulas can use each other.

This module is the ground floor: it imports nothing from the engine.
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import keyword
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OPS", "VOCABULARY", "Helper", "ManyOperandOp", "Op", "check_formula",
           "fill_formula", "float_functions", "value_functions"]


# --- the rows -----------------------------------------------------------------

_FORMULA_NAMES = re.compile(r"\b(x|y|out)\b")


def fill_formula(formula: str, x: str, y: str = "y", out: str = "out") -> str:
    """A formula with its names x, y and out replaced by the given text."""
    names = {"x": x, "y": y, "out": out}
    return _FORMULA_NAMES.sub(lambda match: names[match.group(1)], formula)


@dataclass(frozen=True)
class Op:
    """One operation with one or two operands: a row of the table.

    name: what `node.op` says ("*", "tanh").
    forward: the result, as a formula of x (and y).
    derivatives: d out/dx (and d out/dy), formulas of x, y and out.
    method: the `Value` method it becomes (default: its name); `reflected`, the
        method for a number on the left (`2 * v` calls `v.__rmul__(2)`).
    parameter, default: for a two-operand method called with one argument, the
        second operand's name and default (`v.leaky_relu(slope=0.01)`).
    symbol: how it is written between or before its operands ("*", unary "-");
        None for a function, written `name(x)`.
    commutative: whether the operands may swap (drawings label them x and y if not).
    in_expressions: whether the expression language offers it.
    """

    name: str
    forward: str
    derivatives: tuple[str, ...]
    method: str = ""
    reflected: str | None = None
    parameter: str = "other"
    default: float | None = None
    symbol: str | None = None
    commutative: bool = False
    in_expressions: bool = True

    def __post_init__(self) -> None:
        if not self.method:
            object.__setattr__(self, "method", self.name)

    @property
    def arity(self) -> int:
        return len(self.derivatives)

    # What the consumers ask of every operation, given its operands as text
    # (variable names in compiled code, "x.data" in explanations):

    def forward_code(self, operands: Sequence[str]) -> str:
        """The result as Python code of the operands' data."""
        return fill_formula(self.forward, *self._xy(operands))

    def derivative_codes(self, operands: Sequence[str], out: str) -> list[str]:
        """d out/d operand as Python code, for each operand."""
        x, y = self._xy(operands)
        return [fill_formula(d, x, y, out) for d in self.derivatives]

    def written(self, operands: Sequence[str]) -> str:
        """How a person writes it: "a * b", "-a", "tanh(a)"."""
        if self.symbol is not None and len(operands) == 2:
            return f"{operands[0]} {self.symbol} {operands[1]}"
        if self.symbol is not None:
            return f"{self.symbol}{operands[0]}"
        return f"{self.name}({', '.join(operands)})"

    def label(self, n_operands: int) -> str:
        """The text in a drawing's operation ellipse."""
        return self.name

    @property
    def ordered(self) -> bool:
        """Whether a drawing must say which operand is x and which is y."""
        return self.arity == 2 and not self.commutative

    @property
    def expression_name(self) -> str | None:
        """The function's name in the expression language (None: written with a symbol)."""
        return None if self.symbol is not None or not self.in_expressions else self.name

    def _xy(self, operands: Sequence[str]) -> tuple[str, str]:
        return operands[0], (operands[1] if len(operands) > 1 else "None")


@dataclass(frozen=True)
class ManyOperandOp(Op):
    """An operation on any number of operands, whose local derivatives are each
    either a number or another operand's data.

    local_grads(n) gives, for each of n operands, a number (the derivative) or
    the index of the operand whose data is the derivative. forward_template
    writes the result's code from the operands' code.
    """

    local_grads: Callable[[int], tuple[int | float, ...]] = field(default=lambda n: ())
    forward_template: Callable[[Sequence[str]], str] = field(default=lambda operands: "")
    caption: Callable[[Sequence[str]], str] = field(default=lambda operands: "")
    labels: Callable[[int], str] = field(default=lambda n: "")

    @property
    def arity(self) -> int:
        return -1

    def forward_code(self, operands: Sequence[str]) -> str:
        return self.forward_template(operands)

    def derivative_codes(self, operands: Sequence[str], out: str) -> list[str]:
        return [operands[d] if isinstance(d, int) else repr(float(d))
                for d in self.local_grads(len(operands))]

    def written(self, operands: Sequence[str]) -> str:
        return self.caption(operands)

    def label(self, n_operands: int) -> str:
        return self.labels(n_operands)

    @property
    def ordered(self) -> bool:
        return False


# The table. Formulas are checked (names and syntax) when the engine registers them.
#   name                forward             (d out/dx,              d out/dy)
OPS: dict[str, Op] = {op.name: op for op in (
    Op("+",             "x + y",            ("1.0", "1.0"),
       method="__add__", reflected="__radd__", symbol="+", commutative=True),
    Op("-",             "x - y",            ("1.0", "-1.0"),
       method="__sub__", reflected="__rsub__", symbol="-"),
    Op("*",             "x * y",            ("y", "x"),
       method="__mul__", reflected="__rmul__", symbol="*", commutative=True),
    Op("/",             "x / y",            ("1.0 / y", "-out / y"),
       method="__truediv__", reflected="__rtruediv__", symbol="/"),
    Op("**",            "pow(x, y)",        ("pow_base_grad(x, y)", "pow_exponent_grad(x, out)"),
       method="__pow__", reflected="__rpow__", symbol="**"),
    Op("neg",           "-x",               ("-1.0",),
       method="__neg__", symbol="-"),
    Op("abs",           "abs(x)",           ("sign(x)",),
       method="__abs__"),
    Op("exp",           "exp(x)",           ("out",)),
    Op("log",           "log(x)",           ("1.0 / x",)),
    Op("sqrt",          "sqrt(x)",          ("sqrt_grad(out)",)),
    Op("tanh",          "tanh(x)",          ("sech(x) ** 2",)),
    Op("sigmoid",       "sigmoid(x)",       ("out * sigmoid(-x)",)),
    Op("relu",          "relu(x)",          ("step(x)",)),
    Op("leaky_relu",    "leaky_relu(x, y)", ("leaky_step(x, y)", "relu(-x) * -1.0"),
       parameter="slope", default=0.01),
    Op("softplus",      "softplus(x)",      ("sigmoid(x)",)),
    Op("sin",           "sin(x)",           ("cos(x)",)),
    Op("cos",           "cos(x)",           ("-sin(x)",)),
    # Many operands. sum: d/d each = 1.   dot: sum(w_i * x_i) + b, operands w..., x..., b;
    # d/dw_i = x_i, d/dx_i = w_i, d/db = 1.
    ManyOperandOp("sum", "fsum(operands)", (), in_expressions=False,
                  local_grads=lambda n: (1.0,) * n,
                  forward_template=lambda operands: f"fsum(({', '.join(operands)},))",
                  caption=" + ".join, labels=lambda n: "sum"),
    ManyOperandOp("dot", "sum(w * x) + b", (), in_expressions=False,
                  local_grads=lambda n: _dot_local_grads(n),
                  forward_template=lambda operands: _dot_code(operands),
                  caption=lambda operands: _dot_caption(operands),
                  labels=lambda n: "w·x+b" if n % 2 else "w·x"),
)}
BUILT_IN = frozenset(OPS)   # the rows above, before any define_op




def dot_split(n: int) -> tuple[range, range, range]:
    """The positions of a "dot" node's weights, inputs and bias among its n operands."""
    k = n // 2
    return range(k), range(k, 2 * k), range(2 * k, n)


def _dot_local_grads(n: int) -> tuple[int | float, ...]:
    ws, xs, bias = dot_split(n)
    return (*xs, *ws, *(1.0 for _ in bias))


def _dot_code(operands: Sequence[str]) -> str:
    # The products summed from 0.0 in order, as Value.dot does; one tuple, not a
    # chain of +, so Python's compiler copes with any width.
    ws, xs, bias = dot_split(len(operands))
    products = "".join(f"{operands[w]} * {operands[x]}, " for w, x in zip(ws, xs))
    code = f"sum(({products}), 0.0)"
    return code + "".join(f" + {operands[b]}" for b in bias)


def _dot_caption(operands: Sequence[str]) -> str:
    ws, xs, bias = dot_split(len(operands))
    terms = [f"{operands[w]}*{operands[x]}" for w, x in zip(ws, xs)]
    return " + ".join(terms + [operands[b] for b in bias])


# --- the vocabulary: functions the formulas call ---------------------------------
#
# Piecewise-constant derivatives (step, sign, leaky_step) have derivative 0, so
# on Values they return plain numbers. The others, on Values, are written with
# Value operations so that they can be differentiated again.

def _data(v: Any) -> float:
    return v.data if hasattr(v, "data") else v


def sigmoid(x: float) -> float:
    # Two forms, so that exp never overflows: at x = -1000, exp(-x) would.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def sech(x: float) -> float:
    # 1 / cosh(x) = 2 e^-|x| / (1 + e^-2|x|): no overflow, and accurate in the
    # tails, where tanh's derivative written as 1 - tanh(x)^2 cancels to 0.
    e = math.exp(-abs(x))
    return 2.0 * e / (1.0 + e * e)


def _sech_of_value(x: Any) -> Any:
    return 2.0 * (-abs(x)).exp() / (1.0 + (-2.0 * abs(x)).exp())


def softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), finite for any finite x.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def relu(x: float) -> float:
    # Tested with <= so that nan passes through as nan rather than becoming 0.
    return 0.0 if x <= 0.0 else x


def leaky_relu(x: float, slope: float) -> float:
    return slope * x if x <= 0.0 else x


def step(x: float) -> float:
    return 1.0 if x > 0.0 else 0.0


def leaky_step(x: float, slope: float) -> float:
    return 1.0 if x > 0.0 else slope


def sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def sqrt_grad(out: float) -> float:
    # d sqrt(x)/dx = 1 / (2 sqrt(x)), infinite at 0 (as in PyTorch).
    return 0.5 / out if out > 0.0 else math.inf


def _sqrt_grad_of_value(out: Any) -> Any:
    return 0.5 / out if _data(out) > 0.0 else math.inf


def pow_base_grad(x: float, y: float) -> float:
    # d x^y/dx = y x^(y-1); at x = 0 with y < 1 that is infinite, not an error.
    if x == 0.0 and y < 1.0:
        return 0.0 if y == 0.0 else math.inf
    try:
        return y * math.pow(x, y - 1.0)
    except OverflowError:  # a tiny positive x with y < 1: the slope is beyond a float
        return math.copysign(math.inf, y)


def _pow_base_grad_of_value(x: Any, y: Any) -> Any:
    if _data(x) == 0.0 and _data(y) < 1.0:
        return 0.0 if _data(y) == 0.0 else math.inf
    return y * x ** (y - 1.0)


def pow_exponent_grad(x: float, out: float) -> float:
    # d x^y/dy = x^y log(x): defined for x > 0; 0 at x = 0 and nan for x < 0,
    # where x^y is not differentiable in y (both as in PyTorch).
    if x > 0.0:
        return out * math.log(x)
    return 0.0 if x == 0.0 else math.nan


def _pow_exponent_grad_of_value(x: Any, out: Any) -> Any:
    if _data(x) > 0.0:
        return out * x.log()
    return 0.0 if _data(x) == 0.0 else math.nan


@dataclass(frozen=True)
class Helper:
    """A function the formulas may call: on floats, and on Values (None: the operation's method)."""

    on_floats: Callable[..., float]
    on_values: Callable[..., Any] | None


# An operation's own name is filled in below with its method, so for the
# functions that are also operations (exp, tanh, ...) the Value side is None.
VOCABULARY: dict[str, Helper] = {
    "exp": Helper(math.exp, None), "log": Helper(math.log, None),
    "sqrt": Helper(math.sqrt, None), "tanh": Helper(math.tanh, None),
    "sin": Helper(math.sin, None), "cos": Helper(math.cos, None),
    "sigmoid": Helper(sigmoid, None), "softplus": Helper(softplus, None),
    "relu": Helper(relu, None), "leaky_relu": Helper(leaky_relu, None),
    "pow": Helper(math.pow, lambda x, y: x ** y),
    "sech": Helper(sech, _sech_of_value),
    "step": Helper(step, lambda x: step(_data(x))),
    "sign": Helper(sign, lambda x: sign(_data(x))),
    # Constant in x, but the slope itself where x <= 0 (so it is differentiable in the slope).
    "leaky_step": Helper(leaky_step, lambda x, s: 1.0 if _data(x) > 0.0 else s),
    "sqrt_grad": Helper(sqrt_grad, _sqrt_grad_of_value),
    "pow_base_grad": Helper(pow_base_grad, _pow_base_grad_of_value),
    "pow_exponent_grad": Helper(pow_exponent_grad, _pow_exponent_grad_of_value),
}
CONSTANTS = {"inf": math.inf, "nan": math.nan}


# --- checking formulas ----------------------------------------------------------
#
# A formula reaches generated code only as the expression Python parsed from it,
# printed again (so comments, odd spacing and any text outside the expression are
# gone), after every name, call and constant in it has been checked.

_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant,
                  ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)
MAX_FORMULA_LENGTH = 2000   # characters: a formula is a line of mathematics, not a program
MAX_FORMULA_DEPTH = 50      # nesting: deep trees make Python's compiler recurse


def check_formula(formula: Any, allowed_operands: tuple[str, ...], where: str) -> None:
    """Raise a ValueError unless `formula` is a formula the table can use (see
    `normalized_formula`)."""
    normalized_formula(formula, allowed_operands, where)


def normalized_formula(formula: Any, allowed_operands: tuple[str, ...], where: str) -> str:
    """`formula` checked and printed again from its parsed form, or a ValueError naming `where`.

    Allowed: numbers, the operand names in `allowed_operands`, inf, nan, + - * / **,
    unary - and +, and calls of `abs` and of the vocabulary's functions with their
    number of arguments. Parts without operands are computed here, so a formula
    cannot hide a huge or undefined constant. `a ** b` becomes `pow(a, b)` unless b
    is a whole number, so that a power is real or a domain error, never complex.
    """
    if not isinstance(formula, str):
        raise ValueError(f"{where} must be a formula (str), got {type(formula).__name__}")
    shown = repr(formula) if len(formula) <= 80 else repr(formula[:80]) + "..."
    if len(formula) > MAX_FORMULA_LENGTH:
        raise ValueError(f"{where}: the formula is {len(formula)} characters long, more than "
                         f"{MAX_FORMULA_LENGTH} ({shown})")
    if not formula.isascii():
        raise ValueError(f"{where}: only ASCII characters are allowed in a formula ({shown}); "
                         "write x, not a letter that only looks like it")
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"{where}: invalid syntax in {shown} ({error.msg})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ValueError(f"{where}: Python cannot parse {shown}") from None
    _check_depth(tree.body, where, shown)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if id(node) not in called:
            _check_node(node, allowed_operands, where, shown)
    return ast.unparse(_rewritten(tree.body, called, where, shown))


def _check_depth(tree: ast.AST, where: str, shown: str) -> None:
    # Iterative, so that a deep formula cannot exhaust the stack while it is checked.
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FORMULA_DEPTH:
            raise ValueError(f"{where}: the formula nests deeper than {MAX_FORMULA_DEPTH} "
                             f"({shown})")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_node(node: ast.AST, operands: tuple[str, ...], where: str, shown: str) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise ValueError(f"{where}: {type(node).__name__} is not allowed in a formula "
                         f"({shown}); use numbers, {', '.join(operands)}, "
                         "+ - * / **, abs and the functions of the vocabulary")
    if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
        raise ValueError(f"{where}: {node.value!r} is not a number ({shown})")
    if isinstance(node, ast.Call):
        _check_call(node, where, shown)
    elif isinstance(node, ast.Name) and node.id not in operands and node.id not in CONSTANTS:
        if node.id == "abs" or node.id in VOCABULARY:
            raise ValueError(f"{where}: {node.id} is a function; call it, as in "
                             f"{node.id}(x) ({shown})")
        raise ValueError(f"{where}: unknown name {node.id!r} in {shown}; a formula may "
                         f"use {', '.join(operands)}, abs, {', '.join(sorted(VOCABULARY))}")


def _check_call(node: ast.Call, where: str, shown: str) -> None:
    if not isinstance(node.func, ast.Name) or node.keywords:
        raise ValueError(f"{where}: only plain calls f(a, b) are allowed ({shown})")
    name = node.func.id
    if name != "abs" and name not in VOCABULARY:
        raise ValueError(f"{where}: unknown name {name!r} in {shown}: not a function of the "
                         f"vocabulary (abs, {', '.join(sorted(VOCABULARY))})")
    expected = function_arity(name)
    if len(node.args) != expected:
        raise ValueError(f"{where}: {name} takes {expected} argument"
                         f"{'s' if expected > 1 else ''}, got {len(node.args)} ({shown})")


def function_arity(name: str) -> int:
    """How many arguments the vocabulary's function `name` (or abs) takes."""
    if name == "abs":
        return 1
    op = OPS.get(name)
    if op is not None and op.arity > 0:
        return op.arity
    try:
        parameters = inspect.signature(VOCABULARY[name].on_floats).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in parameters if p.default is inspect.Parameter.empty)


def _rewritten(node: ast.expr, called: set[int], where: str, shown: str) -> ast.expr:
    """The tree with its operand-free parts computed and its powers made real."""
    if not any(isinstance(n, ast.Name) and n.id not in CONSTANTS and id(n) not in called
               for n in ast.walk(node)):
        if isinstance(node, ast.Constant):
            return node
        return ast.Constant(_constant_value(node, where, shown))
    if isinstance(node, ast.BinOp):
        left = _rewritten(node.left, called, where, shown)
        right = _rewritten(node.right, called, where, shown)
        if isinstance(node.op, ast.Pow) and not _is_whole_number(right):
            return ast.Call(ast.Name("pow", ast.Load()), [left, right], [])
        return ast.BinOp(left, node.op, right)
    if isinstance(node, ast.UnaryOp):
        return ast.UnaryOp(node.op, _rewritten(node.operand, called, where, shown))
    if isinstance(node, ast.Call):
        return ast.Call(node.func, [_rewritten(a, called, where, shown) for a in node.args], [])
    return node


def _is_whole_number(node: ast.expr) -> bool:
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
    return isinstance(value, (int, float)) and math.isfinite(value) and value == int(value)


def _constant_value(node: ast.expr, where: str, shown: str) -> float:
    # Computed on floats (no unbounded integer powers), with the real pow.
    floats = ast.Expression(_as_floats(node))
    ast.fix_missing_locations(floats)
    try:
        value = eval(compile(floats, "<formula>", "eval"), {"__builtins__": {}},
                     {**float_functions(), "abs": abs})
    except (ArithmeticError, ValueError) as error:
        raise ValueError(f"{where}: the constant {ast.unparse(node)} in {shown} has no "
                         f"value as a float ({error})") from None
    return float(value)


def _as_floats(node: ast.expr) -> ast.expr:
    class Floats(ast.NodeTransformer):
        def visit_Constant(self, constant: ast.Constant) -> ast.Constant:
            # Only numbers get here: _check_node refused every other constant.
            return ast.Constant(float(constant.value))  # type: ignore[arg-type]

        def visit_BinOp(self, binop: ast.BinOp) -> ast.expr:
            self.generic_visit(binop)
            if isinstance(binop.op, ast.Pow):
                return ast.Call(ast.Name("pow", ast.Load()), [binop.left, binop.right], [])
            return binop

    return Floats().visit(copy.deepcopy(node))


def is_number(code: str) -> bool:
    """Whether a piece of formula code is a plain number ("1.0", "-2"), not an expression."""
    try:
        float(code)
    except ValueError:
        return False
    return True


def is_new_name(name: Any) -> bool:
    """Whether `name` may name a new operation: an ASCII identifier, not a keyword, not
    starting with '_' (the generated code's own names are kept apart, see `is_reserved`)."""
    return (isinstance(name, str) and name.isascii() and name.isidentifier()
            and not keyword.iskeyword(name) and not name.startswith("_"))


# The names generated code uses for itself: a method's locals, and the compiled
# replay's parameters and variables (p0, a1, s2, gp0, ...). An operation named
# like one of them would be called where the other is meant.
_GENERATED_NAMES = frozenset({"self", "other", "x", "y", "out", "dx", "dy", "error",
                              "scale", "run", "run_forward", "fsum", "pow", "inf", "nan"})
_GENERATED_PATTERN = re.compile(r"[A-Z]{1,2}[0-9]*|g?[a-z]{1,2}[0-9]+")


def is_reserved(name: str) -> bool:
    """Whether generated code already uses `name` (or Python has a builtin of that name)."""
    return (name in _GENERATED_NAMES or name in builtins.__dict__
            or _GENERATED_PATTERN.fullmatch(name) is not None)


def float_functions() -> dict[str, Any]:
    """The vocabulary on floats, with inf and nan: the namespace formulas run in on floats."""
    # tuple(): one step that another thread's define_op cannot interrupt.
    return {**{name: h.on_floats for name, h in tuple(VOCABULARY.items())}, **CONSTANTS,
            "fsum": math.fsum}


def value_functions() -> dict[str, Any]:
    """The vocabulary on Values: the namespace formulas run in for higher-order gradients."""
    return {**{name: h.on_values for name, h in tuple(VOCABULARY.items())}, **CONSTANTS}
