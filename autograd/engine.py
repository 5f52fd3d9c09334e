"""The engine: `Value`, the table of operations, and the backward pass.

Every operation is one row of `OPS`: how its result is computed from the
operands' data and what its local derivative is with respect to each operand.
The methods of `Value` are made from those rows when this module is imported,
so adding an operation is adding a row. The same rows give the derivatives as
Values for higher-order gradients (`grad(..., create_graph=True)`) and the
straight-line code of `autograd.compile`.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

# The functions the formulas in OPS call on floats (the generated methods use them).
from math import cos, exp, inf, log, nan, pow, sin, sqrt, tanh  # noqa: F401

# ---------------------------------------------------------------------------
# The operation table.
#
# In each formula, x and y are the operands' data and out is the result.
#   name:         (forward,            (d out/dx,               d out/dy))
OPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "+":          ("x + y",            ("1.0", "1.0")),
    "-":          ("x - y",            ("1.0", "-1.0")),
    "*":          ("x * y",            ("y", "x")),
    "/":          ("x / y",            ("1.0 / y", "-out / y")),
    "**":         ("pow(x, y)",        ("pow_base_grad(x, y)", "pow_exponent_grad(x, out)")),
    "neg":        ("-x",               ("-1.0",)),
    "abs":        ("abs(x)",           ("sign(x)",)),
    "exp":        ("exp(x)",           ("out",)),
    "log":        ("log(x)",           ("1.0 / x",)),
    "sqrt":       ("sqrt(x)",          ("sqrt_grad(out)",)),
    "tanh":       ("tanh(x)",          ("sech(x) ** 2",)),
    "sigmoid":    ("sigmoid(x)",       ("out * sigmoid(-x)",)),
    "relu":       ("relu(x)",          ("step(x)",)),
    "leaky_relu": ("leaky_relu(x, y)", ("leaky_step(x, y)", "relu(-x) * -1.0")),
    "softplus":   ("softplus(x)",      ("sigmoid(x)",)),
    "sin":        ("sin(x)",           ("cos(x)",)),
    "cos":        ("cos(x)",           ("-sin(x)",)),
}
# Two operations take any number of operands, so they are written out by hand
# below rather than as rows: "sum" (local derivative 1 for every operand) and
# "dot", sum(w_i * x_i) + bias (local derivative of w_i is x_i and of x_i is w_i).

_FORMULA_NAMES = re.compile(r"\b(x|y|out)\b")


def fill_formula(formula: str, x: str, y: str = "y", out: str = "out") -> str:
    """A formula from OPS with its names x, y and out replaced by the given text."""
    names = {"x": x, "y": y, "out": out}
    return _FORMULA_NAMES.sub(lambda match: names[match.group(1)], formula)


# Which Python method each row becomes; binary arithmetic also gets the
# reflected method (`2 * x` calls `x.__rmul__(2)`).
METHOD_NAMES = {"+": "__add__", "-": "__sub__", "*": "__mul__", "/": "__truediv__",
                "**": "__pow__", "neg": "__neg__", "abs": "__abs__"}
REFLECTED_NAMES = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__",
                   "/": "__rtruediv__", "**": "__rpow__"}


# --- the functions the formulas use, on floats ------------------------------

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


def softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), finite for any finite x.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def relu(x: float) -> float:
    # Tested with <= so that nan passes through as nan rather than becoming 0.
    return 0.0 if x <= 0.0 else x


def step(x: float) -> float:
    return 1.0 if x > 0.0 else 0.0


def leaky_relu(x: float, slope: float) -> float:
    return slope * x if x <= 0.0 else x


def leaky_step(x, slope):
    return 1.0 if x > 0.0 else slope


def sign(x) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def sqrt_grad(out):
    # d sqrt(x)/dx = 1 / (2 sqrt(x)), infinite at 0 (as in PyTorch).
    return 0.5 / out if out > 0.0 else math.inf


def pow_base_grad(x, y):
    # d x^y/dx = y x^(y-1); at x = 0 with y < 1 that is infinite, not an error.
    if x == 0.0 and y < 1.0:
        return 0.0 if y == 0.0 else math.inf
    try:
        return y * pow(x, y - 1.0)
    except OverflowError:  # a tiny positive x with y < 1: the slope is beyond a float
        return math.copysign(math.inf, y)


def pow_exponent_grad(x, out):
    # d x^y/dy = x^y log(x): defined for x > 0; 0 at x = 0 and nan for x < 0,
    # where x^y is not differentiable in y (both as in PyTorch).
    if x > 0.0:
        return out * log(x)
    return 0.0 if x == 0.0 else math.nan


# --- recording the graph ----------------------------------------------------

_grad_enabled = True


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block, operations compute values but record no graph.

    The switch is one for the whole process, not one per thread.
    """
    global _grad_enabled
    if _comparisons is not None:
        _refuse_while_tracing("no_grad()")
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


# While autograd.compile traces a function, the comparisons it makes between
# Values are recorded here: they are the branches its replay must check.
_comparisons: list | None = None


def _record_comparison(node, op: str, other, result: bool) -> None:
    caller = sys._getframe(2)
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    _comparisons.append((node, op, other, result, where))


def _refuse_while_tracing(what: str) -> None:
    # Its result would be fixed at the traced value, and the replay would give
    # wrong numbers for new inputs without noticing.
    raise ValueError(f"autograd.compile cannot replay {what}: its result would stay what it "
                     "was when traced; compute with the Values themselves, or use the eager "
                     "engine for this function")


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`."""
    return _grad_enabled


def _as_float(data, where: str) -> float:
    if isinstance(data, bool) or isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"{where} must be a number (int, float or an object with __float__), "
                        f"got {type(data).__name__}")
    try:
        return float(data)
    except OverflowError:
        raise ValueError(f"{where} is too large for a float: {data!r:.40}") from None
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be a number (int, float or an object with __float__), "
                        f"got {type(data).__name__}") from None


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to its inputs.

    `==` is identity, not equality of data, so Values can be dict keys and set
    members; `<`, `<=`, `>` and `>=` compare `.data`.
    """

    # Operands and local derivatives live flat on the node, in slots rather
    # than in a tuple, list or closure of their own: a node then costs about a
    # fifth of micrograd's memory, and is freed by reference counting alone.
    # An operation with one or two operands keeps them in _x and _y, and the
    # local derivatives d self/d x and d self/d y in _dx and _dy (the names the
    # formulas in OPS use). "sum" and "dot", which take any number of operands,
    # keep a tuple of operands in _x and a tuple of local derivatives in _dx.
    __slots__ = ("data", "grad", "label", "_op", "_x", "_y", "_dx", "_dy")

    # numpy scalars on the left (np.float32(2) * v) hand the operation to Value.
    __array_ufunc__ = None

    def __init__(self, data: float, label: str = "", _op: str = "", _x=None, _y=None,
                 _dx=0.0, _dy=0.0) -> None:
        if data.__class__ is not float:
            data = _as_float(data, "Value data")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._op = _op      # the operation that made this Value; "" for a leaf
        self._x = _x
        self._y = _y
        self._dx = _dx
        self._dy = _dy

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The operands, in order (the name micrograd uses)."""
        x = self._x
        if x is None:
            return ()
        if x.__class__ is tuple:
            return x
        return (x,) if self._y is None else (x, self._y)

    @property
    def _local_grads(self) -> tuple[float, ...]:
        """d self / d operand for each operand, in the order of `_prev`."""
        x = self._x
        if x is None:
            return ()
        if x.__class__ is tuple:
            return self._dx
        return (self._dx,) if self._y is None else (self._dx, self._dy)

    children = _prev
    local_grads = _local_grads

    @property
    def op(self) -> str:
        """The operation that produced this Value, "" for a leaf."""
        return self._op

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __float__(self) -> float:
        if _comparisons is not None:
            _refuse_while_tracing("float() of a Value")
        return self.data

    def __lt__(self, other) -> bool:
        result = self.data < _data_of(other)
        if _comparisons is not None:
            _record_comparison(self, "<", other, result)
        return result

    def __le__(self, other) -> bool:
        result = self.data <= _data_of(other)
        if _comparisons is not None:
            _record_comparison(self, "<=", other, result)
        return result

    def __gt__(self, other) -> bool:
        result = self.data > _data_of(other)
        if _comparisons is not None:
            _record_comparison(self, ">", other, result)
        return result

    def __ge__(self, other) -> bool:
        result = self.data >= _data_of(other)
        if _comparisons is not None:
            _record_comparison(self, ">=", other, result)
        return result

    def backward(self, gradient: float = 1.0) -> None:
        """Set `.grad` of every Value this one depends on to d self / d that Value.

        Leaves accumulate across calls (as in PyTorch); interior nodes hold the
        gradient of the latest call.
        """
        order = topological_order(self)
        leaves_before = _start_backward(self, order, gradient)
        # The chain rule, from the output back: each node passes its gradient
        # to its operands, times the local derivative.
        for node in reversed(order):
            x = node._x
            if x is None:
                continue
            g = node.grad
            if x.__class__ is tuple:
                for child, local in zip(x, node._dx):
                    child.grad += local * g
            else:
                x.grad += node._dx * g
                y = node._y
                if y is not None:
                    y.grad += node._dy * g
        _finish_backward(leaves_before)

    def detach(self) -> Value:
        """A new leaf with the same data, cut off from this Value's graph."""
        if _comparisons is not None:
            _refuse_while_tracing("detach()")
        return Value(self.data, self.label)

    def backward_steps(self, gradient: float = 1.0):
        """The backward pass one node at a time: see `autograd.backward_steps`."""
        from autograd.steps import backward_steps

        return backward_steps(self, gradient)

    # The methods made from OPS (added below): + - * / ** and their reflected
    # forms, unary -, abs(), exp, log, sqrt, tanh, sigmoid, relu,
    # leaky_relu(slope=0.01), softplus, sin, cos.

    @staticmethod
    def sum(values: Iterable[Value | float]) -> Value:
        """sum(values) as one node with many operands (the builtin `sum` makes a chain)."""
        operands = tuple(_operand(v, "sum") for v in values)
        out = math.fsum([v.data for v in operands])
        if not _grad_enabled or not operands:
            return Value(out)
        return Value(out, "", "sum", operands, None, (1.0,) * len(operands))

    @staticmethod
    def dot(weights: Sequence[Value | float], inputs: Sequence[Value | float],
            bias: Value | float | None = None) -> Value:
        """sum(w * x for w, x in zip(weights, inputs)) + bias, as one node.

        Its operands are the weights, then the inputs, then the bias; the local
        derivative of each weight is its input and of each input its weight.
        """
        if len(weights) != len(inputs):
            raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
        # A neuron calls this with Values only: check that in one pass, wrap only if not.
        ws, xs = weights, inputs
        if not _VALUE_TYPES.issuperset(map(type, ws)):
            ws = [_operand(w, "dot") for w in ws]
        if not _VALUE_TYPES.issuperset(map(type, xs)):
            xs = [_operand(x, "dot") for x in xs]
        w_data = [w.data for w in ws]
        x_data = [x.data for x in xs]
        out = sum(map(float.__mul__, w_data, x_data), 0.0)
        if bias is None:
            operands, local_grads = (*ws, *xs), (*x_data, *w_data)
        else:
            b = _operand(bias, "dot")
            out += b.data
            operands, local_grads = (*ws, *xs, b), (*x_data, *w_data, 1.0)
        if not _grad_enabled or not operands:
            return Value(out)
        return Value(out, "", "dot", operands, None, local_grads)


def dot_parts(node: Value) -> tuple[tuple, tuple, tuple]:
    """A "dot" node's operands as (weights, inputs, bias), bias being () or (b,)."""
    operands = node._x
    n = len(operands) // 2
    return operands[:n], operands[n:2 * n], operands[2 * n:]


class Constant(Value):
    """A leaf made from a plain number inside an operation, such as the 2 in `x * 2`."""

    __slots__ = ()


_VALUE_TYPES = frozenset({Value, Constant})


def _operand(other, op: str) -> Value:
    if isinstance(other, Value):
        return other
    return Constant(_as_float(other, f"operand of {op}"))


def _as_operand(other) -> Value | None:
    """`other` as a Value, or None when it is not a number (the operator returns NotImplemented,
    so Python raises a TypeError naming both types)."""
    cls = other.__class__
    if cls is float:                # the common case first: x * 2.0
        return Constant(other)
    if cls is int:
        return Constant(float(other))
    if isinstance(other, Value):
        return other
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        return Constant(float(other))
    if hasattr(other, "__float__") and not isinstance(other, (str, bytes, bool)):
        return Constant(float(other))
    return None


def _data_of(other) -> float:
    return other.data if isinstance(other, Value) else _as_float(other, "comparison operand")


def _domain_error(op: str, operands: tuple[float, ...], error: Exception) -> ValueError:
    if isinstance(error, OverflowError):
        reason = "the result overflows a float"
    elif isinstance(error, ZeroDivisionError):
        reason = "division by zero"
    else:
        reason = "the input is outside its domain"
    shown = ", ".join(repr(value) for value in operands)
    return ValueError(f"{op}({shown}): {reason}")


# --- making the methods from the table --------------------------------------

_BINARY_TEMPLATE = '''
def {method}(self, {parameter}):
    other = {parameter_name}
    if other.__class__ is not Value:
        other = _as_operand(other)
        if other is None:
            {not_a_number}
    x = {first}.data
    y = {second}.data
    try:
        out = {forward}
        if not _grad_enabled:
            return Value(out)
        dx = {dx}
        dy = {dy}
    except (ArithmeticError, ValueError) as error:
        raise _domain_error({name!r}, (x, y), error) from None
    return Value(out, "", {name!r}, {first}, {second}, dx, dy)
'''

_UNARY_TEMPLATE = '''
def {method}(self):
    x = self.data
    try:
        out = {forward}
        if not _grad_enabled:
            return Value(out)
        dx = {dx}
    except (ArithmeticError, ValueError) as error:
        raise _domain_error({name!r}, (x,), error) from None
    return Value(out, "", {name!r}, self, None, dx)
'''


def method_source(name: str, reflected: bool = False) -> str:
    """The Python source of the method that row `name` of OPS becomes."""
    forward, local = OPS[name]
    if reflected:
        method = REFLECTED_NAMES[name]
    else:
        method = METHOD_NAMES.get(name, name)
    if len(local) == 1:
        return _UNARY_TEMPLATE.format(method=method, name=name, forward=forward, dx=local[0])
    if method.startswith("__"):
        # An operator hands an operand it cannot use back to Python, which then
        # tries the other operand's method or raises a TypeError naming both types.
        parameter, parameter_name, not_a_number = "other", "other", "return NotImplemented"
    else:
        parameter, parameter_name = "slope=0.01", "slope"
        not_a_number = (f"raise TypeError(f'{name}: slope must be a number, "
                        "got {type(slope).__name__}')")
    first, second = ("other", "self") if reflected else ("self", "other")
    return _BINARY_TEMPLATE.format(method=method, name=name, forward=forward, dx=local[0],
                                   dy=local[1], first=first, second=second,
                                   parameter=parameter, parameter_name=parameter_name,
                                   not_a_number=not_a_number)


def _make_methods() -> None:
    for name, (forward, local) in OPS.items():
        variants = [False, True] if name in REFLECTED_NAMES else [False]
        for reflected in variants:
            namespace: dict = {}
            # Executed in this module's globals: the methods read _grad_enabled when called.
            exec(compile(method_source(name, reflected), f"<autograd op {name!r}>", "exec"),
                 globals(), namespace)
            (method, function), = namespace.items()
            function.__qualname__ = f"Value.{method}"
            derivatives = ", ".join(f"d/d{v} = {d}" for v, d in zip("xy", local))
            function.__doc__ = f"{name}: out = {forward}; {derivatives}."
            setattr(Value, method, function)


_make_methods()


# --- the backward pass ------------------------------------------------------

def topological_order(root: Value) -> list[Value]:
    """Every Value `root` depends on, each after all of its operands, `root` last.

    An iterative depth-first search, so a graph of any depth works (a recursive
    one stops at Python's recursion limit); it visits operands in order, so the
    same graph always gives the same order.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    # (node, True) on the stack means: its operands are done, emit it.
    stack: list[tuple[Value, bool]] = [(root, False)]
    append, pop, push, visit = order.append, stack.pop, stack.append, visited.add
    while stack:
        node, operands_done = pop()
        if operands_done:
            append(node)
            continue
        if node in visited:
            continue
        visit(node)
        x = node._x
        if x is None:
            append(node)
            continue
        push((node, True))
        # Pushed last, popped first: x before y, operands in order.
        if x.__class__ is tuple:
            for child in reversed(x):
                if child not in visited:
                    push((child, False))
        else:
            y = node._y
            if y is not None and y not in visited:
                push((y, False))
            if x not in visited:
                push((x, False))
    return order


def _start_backward(root: Value, order: list[Value], gradient) -> list[tuple[Value, float]]:
    """Zero every gradient in the graph (keeping the leaves' for later) and seed the root.

    Leaves add this call's gradient to what they held only at the end, so two
    calls give exactly twice one call's gradient.
    """
    gradient = _as_float(gradient, "backward gradient")
    leaves_before = []
    for node in order:
        if node._x is None and node.grad != 0.0:
            leaves_before.append((node, node.grad))
        node.grad = 0.0
    root.grad = gradient
    return leaves_before


def _finish_backward(leaves_before: list[tuple[Value, float]]) -> None:
    for leaf, before in leaves_before:
        leaf.grad = before + leaf.grad


# --- gradients as values: higher-order derivatives ---------------------------

def _value_formula(name: str, derivative: str):
    """The row's derivative as a function of Values, so it can be differentiated again."""
    source = f"lambda x, y, out: {derivative}"
    return eval(compile(source, f"<autograd d{name}>", "eval"), _VALUE_FUNCTIONS)


def _value_pow_exponent_grad(x, out):
    # The same cases as pow_exponent_grad; == on Values is identity, so compare .data.
    if x.data > 0.0:
        return out * x.log()
    return Constant(0.0 if x.data == 0.0 else math.nan)


def _value_pow_base_grad(x, y):
    if x.data == 0.0 and y.data < 1.0:
        return Constant(0.0 if y.data == 0.0 else math.inf)
    return y * x ** (y - 1.0)


_VALUE_FUNCTIONS = {
    "pow": lambda x, y: x ** y, "exp": lambda x: x.exp(), "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(), "tanh": lambda x: x.tanh(), "sin": lambda x: x.sin(),
    "sech": lambda x: 2.0 * (-abs(x)).exp() / (1.0 + (-2.0 * abs(x)).exp()),
    "cos": lambda x: x.cos(), "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(), "softplus": lambda x: x.softplus(),
    # Piecewise-constant derivatives have derivative 0: plain numbers will do.
    "step": lambda x: step(x.data), "sign": lambda x: sign(x.data),
    "leaky_step": lambda x, s: 1.0 if x.data > 0.0 else s,
    "sqrt_grad": lambda out: 0.5 / out if out.data > 0.0 else math.inf,
    "pow_base_grad": _value_pow_base_grad, "pow_exponent_grad": _value_pow_exponent_grad,
    "inf": math.inf, "nan": math.nan,
}
VALUE_DERIVATIVES = {name: tuple(_value_formula(name, d) for d in local)
                     for name, (_, local) in OPS.items()}


def _local_grads_as_values(node: Value) -> tuple:
    if node._op == "sum":
        return (1.0,) * len(node._prev)
    if node._op == "dot":
        ws, xs, bias = dot_parts(node)
        return (*xs, *ws) + (1.0,) * len(bias)
    operands = node._prev
    x = operands[0]
    y = operands[1] if len(operands) > 1 else None
    return tuple(f(x, y, node) for f in VALUE_DERIVATIVES[node._op])


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list:
    """d output / d input for each input, leaving every `.grad` untouched.

    Without `create_graph` the gradients are floats. With it they are Values
    whose own graph can be differentiated again (second and higher derivatives).
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    inputs = list(inputs)
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(v).__name__}")
    order = topological_order(output)
    grads: dict[Value, float | Value] = {output: Constant(1.0) if create_graph else 1.0}
    local_grads = _local_grads_as_values if create_graph else Value._local_grads.fget
    global _grad_enabled
    # With create_graph the backward pass is itself recorded, even under no_grad().
    previous, _grad_enabled = _grad_enabled, _grad_enabled or create_graph
    try:
        for node in reversed(order):
            g = grads.get(node)
            if g is None or node._x is None:
                continue
            for child, local in zip(node._prev, local_grads(node)):
                contribution = local * g
                before = grads.get(child)
                grads[child] = contribution if before is None else before + contribution
    finally:
        _grad_enabled = previous
    zero = Constant(0.0) if create_graph else 0.0
    result = []
    for v in inputs:
        g = grads.get(v, zero)
        if create_graph and not isinstance(g, Value):
            g = Constant(g)
        result.append(g)
    return result
