"""The engine: `Value`, recording the graph, and the backward pass.

The operations themselves are rows of the table in `autograd.ops`: how each
result is computed and its local derivative with respect to each operand.
This module turns every row into methods of `Value` when it is imported (and
`define_op` adds rows at run time); `backward()` then applies the chain rule
over the recorded graph, and `grad(..., create_graph=True)` does the same with
the rows' derivatives as Values, so they can be differentiated again.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import linecache
import math
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from autograd.ops import (
    BUILT_IN,
    OPS,
    VOCABULARY,
    Helper,
    ManyOperandOp,
    Op,
    dot_split,
    float_functions,
    is_new_name,
    is_reserved,
    normalized_formula,
    value_functions,
)

__all__ = ["Constant", "Trace", "Value", "as_float", "define_op", "gradient_pass", "grad",
           "is_grad_enabled", "no_grad", "sampled", "topological_order", "tracing"]


# --- recording the graph ----------------------------------------------------------
#
# Whether operations record a graph is a per-thread switch, as in PyTorch: a
# thread inside no_grad() must not change what another thread records. Every
# operation asks, so the question must cost almost nothing: a count of the
# no_grad() blocks open in all threads is read first, and only while some
# block is open is the (slower) thread-local switch consulted.

class _ThreadState(threading.local):
    grad_enabled = True         # a new thread starts recording
    trace: Trace | None = None  # while tracing for autograd.compile


_thread = _ThreadState()
_no_grad_blocks = 0             # no_grad() blocks open, in all threads
_tracing_threads = 0            # threads tracing for autograd.compile
_count_lock = threading.Lock()


def _count(name: str, change: int) -> None:
    with _count_lock:
        globals()[name] += change


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block, operations in this thread compute values but record no graph."""
    if _tracing_threads and _thread.trace is not None:
        _refuse_while_tracing("no_grad()")
    previous, _thread.grad_enabled = _thread.grad_enabled, False
    _count("_no_grad_blocks", 1)
    try:
        yield
    finally:
        _thread.grad_enabled = previous
        _count("_no_grad_blocks", -1)


def is_grad_enabled() -> bool:
    """True unless this thread is inside `no_grad()`."""
    return _thread.grad_enabled


class Trace:
    """What tracing saw: the comparisons between Values and the numbers drawn by `sampled`.

    comparisons: (value, operator, other, result, "file:line") for each comparison made.
    samples: (leaf, draw) for each `sampled(draw)`, in the order they were drawn.
    """

    def __init__(self) -> None:
        self.comparisons: list[tuple[Value, str, Any, bool, str]] = []
        self.samples: list[tuple[Value, Callable[[], float]]] = []


@contextmanager
def tracing() -> Iterator[Trace]:
    """Within this block this thread is traced (by autograd.compile): the graph is recorded
    (even inside an enclosing no_grad()), comparisons between Values and sampled numbers are
    noted in the `Trace` it yields, and what a replay could not follow raises."""
    previous, trace = _thread.trace, Trace()
    previous_grad, _thread.grad_enabled = _thread.grad_enabled, True
    _thread.trace = trace
    _count("_tracing_threads", 1)
    try:
        yield trace
    finally:
        _thread.trace = previous
        _thread.grad_enabled = previous_grad
        _count("_tracing_threads", -1)


def _record_comparison(node: Value, op: str, other: Any, result: bool) -> None:
    trace = _thread.trace
    if trace is not None:
        caller = sys._getframe(2)
        trace.comparisons.append((node, op, other, result, f"{caller.f_code.co_filename}:"
                                                           f"{caller.f_lineno}"))


def sampled(draw: Callable[[], float]) -> Value:
    """A number drawn by `draw()` (a dropout mask, noise) as a leaf of the graph.

    Eagerly this is `Constant(draw())`. A compiled replay calls `draw()` again
    on every replay, in the order the draws were made while tracing, so that
    the replay and the eager engine use a random stream alike.
    """
    data = draw()
    leaf = Constant(data if data.__class__ is float else as_float(data, "sampled: draw()"))
    if _tracing_threads:
        trace = _thread.trace
        if trace is not None:
            trace.samples.append((leaf, draw))
    return leaf


def _refuse_while_tracing(what: str) -> None:
    # Its result would be fixed at the traced value, and the replay would give
    # wrong numbers for new inputs without noticing.
    raise ValueError(f"autograd.compile cannot replay {what}: its result would stay what it "
                     "was when traced; compute with the Values themselves, or use the eager "
                     "engine for this function")


def as_float(data: Any, where: str) -> float:
    """`data` as a float, or a TypeError (not a number) or ValueError (too large) naming `where`."""
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
    members; `<`, `<=`, `>` and `>=` compare `.data`. The operations (+ - * / **,
    abs, exp, tanh, ...) are made from the table in `autograd.ops`.
    """

    # Operands and local derivatives live flat on the node, in slots rather
    # than in a tuple, list or closure of their own: a node then costs about a
    # fifth of micrograd's memory, and is freed by reference counting alone.
    # An operation with one or two operands keeps them in _x and _y, and the
    # local derivatives d self/d x and d self/d y in _dx and _dy (the names the
    # formulas use). An operation with many operands (sum, dot) keeps a tuple of
    # operands in _x and a tuple of local derivatives in _dx.
    __slots__ = ("data", "grad", "label", "_op", "_x", "_y", "_dx", "_dy")

    # numpy scalars on the left (np.float32(2) * v) hand the operation to Value.
    __array_ufunc__ = None

    def __init__(self, data: float, label: str = "", _op: str = "", _x: Any = None,
                 _y: Any = None, _dx: Any = 0.0, _dy: float = 0.0) -> None:
        if data.__class__ is not float:
            data = as_float(data, "Value data")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._op = _op      # the operation that made this Value; "" for a leaf
        self._x = _x
        self._y = _y
        self._dx = _dx
        self._dy = _dy

    @property
    def children(self) -> tuple[Value, ...]:
        """The operands this Value was computed from, in order; () for a leaf."""
        x = self._x
        if x is None:
            return ()
        if x.__class__ is tuple:
            return x
        return (x,) if self._y is None else (x, self._y)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d self / d operand for each operand, in the order of `children`."""
        x = self._x
        if x is None:
            return ()
        if x.__class__ is tuple:
            return self._dx
        return (self._dx,) if self._y is None else (self._dx, self._dy)

    # micrograd's names.
    _prev = children
    _local_grads = local_grads

    @property
    def op(self) -> str:
        """The operation that produced this Value (a key of `autograd.OPS`), "" for a leaf."""
        return self._op

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __float__(self) -> float:
        if _tracing_threads and _thread.trace is not None:
            _refuse_while_tracing("float() of a Value")
        return self.data

    def __lt__(self, other: Value | float) -> bool:
        result = self.data < _data_of(other)
        if _tracing_threads:
            _record_comparison(self, "<", other, result)
        return result

    def __le__(self, other: Value | float) -> bool:
        result = self.data <= _data_of(other)
        if _tracing_threads:
            _record_comparison(self, "<=", other, result)
        return result

    def __gt__(self, other: Value | float) -> bool:
        result = self.data > _data_of(other)
        if _tracing_threads:
            _record_comparison(self, ">", other, result)
        return result

    def __ge__(self, other: Value | float) -> bool:
        result = self.data >= _data_of(other)
        if _tracing_threads:
            _record_comparison(self, ">=", other, result)
        return result

    def backward(self, gradient: float = 1.0) -> None:
        """Set `.grad` of every Value this one depends on to d self / d that Value.

        Leaves accumulate across calls (as in PyTorch); interior nodes hold the
        gradient of the latest call.
        """
        order = topological_order(self)
        with gradient_pass(self, order, gradient):
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

    def detach(self) -> Value:
        """A new leaf with the same data, cut off from this Value's graph."""
        if _tracing_threads and _thread.trace is not None:
            _refuse_while_tracing("detach()")
        return Value(self.data, self.label)

    if TYPE_CHECKING:
        # The methods made from the table's built-in rows when this module is imported,
        # written out for type checkers, which cannot see them made. Generated by
        # type_stubs(); a test checks that these lines are what it gives.
        def __add__(self, other: Value | float) -> Value: ...
        def __radd__(self, other: Value | float) -> Value: ...
        def __sub__(self, other: Value | float) -> Value: ...
        def __rsub__(self, other: Value | float) -> Value: ...
        def __mul__(self, other: Value | float) -> Value: ...
        def __rmul__(self, other: Value | float) -> Value: ...
        def __truediv__(self, other: Value | float) -> Value: ...
        def __rtruediv__(self, other: Value | float) -> Value: ...
        def __pow__(self, other: Value | float) -> Value: ...
        def __rpow__(self, other: Value | float) -> Value: ...
        def __neg__(self) -> Value: ...
        def __abs__(self) -> Value: ...
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def sqrt(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def relu(self) -> Value: ...
        def leaky_relu(self, slope: Value | float = 0.01) -> Value: ...
        def softplus(self) -> Value: ...
        def sin(self) -> Value: ...
        def cos(self) -> Value: ...

    # The two operations with many operands; their rows are OPS["sum"] and OPS["dot"].

    @staticmethod
    def sum(values: Iterable[Value | float]) -> Value:
        """sum(values) as one node with many operands (the builtin `sum` makes a chain)."""
        operands = tuple(_operand(v, "sum") for v in values)
        out = math.fsum([v.data for v in operands])
        if not operands or (_no_grad_blocks and not _thread.grad_enabled):
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
        ws: Sequence[Any] = weights
        xs: Sequence[Any] = inputs
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
        if not operands or (_no_grad_blocks and not _thread.grad_enabled):
            return Value(out)
        return Value(out, "", "dot", operands, None, local_grads)


def dot_parts(node: Value) -> tuple[tuple[Value, ...], tuple[Value, ...], tuple[Value, ...]]:
    """A "dot" node's operands as (weights, inputs, bias), bias being () or (b,)."""
    operands = node.children
    ws, xs, bias = dot_split(len(operands))
    return operands[ws.start:ws.stop], operands[xs.start:xs.stop], operands[bias.start:]


class Constant(Value):
    """A leaf made from a plain number inside an operation, such as the 2 in `x * 2`."""

    __slots__ = ()


_VALUE_TYPES = frozenset({Value, Constant})


def _operand(other: Any, op: str) -> Value:
    if isinstance(other, Value):
        return other
    return Constant(as_float(other, f"operand of {op}"))


def _as_operand(other: Any, op: str) -> Value | None:
    """`other` as a Value, or None when it is not a number (the operator returns NotImplemented,
    so Python raises a TypeError naming both types)."""
    cls = other.__class__
    if cls is float:                # the common cases first: x * 2.0, x ** 2
        return Constant(other)
    if cls is int:
        try:
            return Constant(float(other))
        except OverflowError:
            raise ValueError(f"operand of {op} is too large for a float: {other!r:.40}") from None
    if isinstance(other, Value):
        return other
    if isinstance(other, (str, bytes, bool)) or not hasattr(other, "__float__"):
        return None
    return Constant(as_float(other, f"operand of {op}"))


def _data_of(other: Any) -> float:
    return other.data if isinstance(other, Value) else as_float(other, "comparison operand")


def _domain_error(op: str, operands: tuple[float, ...], error: Exception) -> ValueError:
    if isinstance(error, OverflowError):
        reason = "the result overflows a float"
    elif isinstance(error, ZeroDivisionError):
        reason = "division by zero"
    else:
        reason = "the input is outside its domain"
    shown = ", ".join(repr(value) for value in operands)
    return ValueError(f"{op}({shown}): {reason}")


# --- making the methods from the table ----------------------------------------------
#
# Each row becomes Python source with its formulas written in, compiled once.
# The source is kept where `inspect.getsource`, tracebacks and debuggers look
# for it, so stepping into `x * y` shows the real lines.

_UNARY_TEMPLATE = '''\
def {method}(self):
    {doc}
    x = self.data
    try:
        out = {forward}
        if _no_grad_blocks and not _thread.grad_enabled:
            return Value(out)
        dx = {dx}
    except (ArithmeticError, ValueError) as error:
        raise _domain_error({name!r}, (x,), error) from None
    return Value(out, "", {name!r}, self, None, dx)
'''

_BINARY_TEMPLATE = '''\
def {method}(self, {parameter}):
    {doc}{rename}
    if other.__class__ is not Value:
        other = _as_operand(other, {name!r})
        if other is None:
            {not_a_number}
    x = {first}.data
    y = {second}.data
    try:
        out = {forward}
        if _no_grad_blocks and not _thread.grad_enabled:
            return Value(out)
        dx = {dx}
        dy = {dy}
    except (ArithmeticError, ValueError) as error:
        raise _domain_error({name!r}, (x, y), error) from None
    return Value(out, "", {name!r}, {first}, {second}, dx, dy)
'''


def method_source(op: Op, reflected: bool = False) -> str:
    """The Python source of the `Value` method that the row `op` becomes."""
    method = (op.reflected if reflected else op.method) or op.name
    derivatives = ", ".join(f"d/d{v} = {d}" for v, d in zip("xy", op.derivatives))
    # Written as a string literal, escaped: no text of a row can end the docstring.
    doc = repr(f"{op.name}: out = {op.forward}; {derivatives}.")
    if op.arity == 1:
        return _UNARY_TEMPLATE.format(method=method, name=op.name, forward=op.forward,
                                      dx=op.derivatives[0], doc=doc)
    parameter = "other"
    if method.startswith("__"):
        # An operator hands an operand it cannot use back to Python, which then
        # tries the other operand's method or raises a TypeError naming both types.
        not_a_number = "return NotImplemented"
    else:
        if op.parameter != "other" or op.default is not None:
            parameter = op.parameter if op.default is None else f"{op.parameter}={op.default!r}"
        not_a_number = (f"raise TypeError(f'{op.name}: {op.parameter} must be a number, "
                        f"got {{type({op.parameter}).__name__}}')")
    first, second = ("other", "self") if reflected else ("self", "other")
    # The formulas call the second operand y; in the method it is `other`.
    rename = "" if parameter.startswith("other") else f"\n    other = {op.parameter}"
    return _BINARY_TEMPLATE.format(method=method, name=op.name, forward=op.forward,
                                   dx=op.derivatives[0], dy=op.derivatives[1], first=first,
                                   second=second, parameter=parameter, doc=doc,
                                   not_a_number=not_a_number, rename=rename)


def method_stub(op: Op, reflected: bool = False) -> str:
    """The typed signature of the method a row becomes, for the block type checkers read."""
    method = (op.reflected if reflected else op.method) or op.name
    if op.arity == 1:
        return f"def {method}(self) -> Value: ..."
    if method.startswith("__"):
        return f"def {method}(self, other: Value | float) -> Value: ..."
    default = "" if op.default is None else f" = {op.default!r}"
    return f"def {method}(self, {op.parameter}: Value | float{default}) -> Value: ..."


def type_stubs() -> str:
    """The methods made from the built-in rows, as the signatures written in `Value`'s
    TYPE_CHECKING block (a test checks that block against this)."""
    lines = [method_stub(op, reflected) for op in OPS.values() if op.arity > 0
             and op.name in BUILT_IN for reflected in ([False, True] if op.reflected else [False])]
    return "\n".join(lines)


def _install_methods(op: Op) -> None:
    for reflected in ([False, True] if op.reflected else [False]):
        source = method_source(op, reflected)
        method = (op.reflected if reflected else op.method) or op.name
        filename = f"<autograd.ops {op.name!r}: Value.{method}>"
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        namespace: dict = {}
        # Run in this module's globals: the method reads _no_grad_blocks when called.
        exec(compile(source, filename, "exec"), globals(), namespace)
        function = namespace[method]
        function.__qualname__ = f"Value.{method}"
        setattr(Value, method, function)


def _calls_method(method: str, on_floats: Any) -> Any:
    """The vocabulary's Value side of an operation: its method (floats use the float side)."""
    def on_values(x: Any, *rest: Any) -> Any:
        if isinstance(x, Value):
            return getattr(x, method)(*rest)
        return on_floats(x, *(getattr(r, "data", r) for r in rest))
    return on_values


# Each row's derivatives as functions of Values (x, y, out), for create_graph,
# and the namespace they run in (kept up to date as rows are added).
VALUE_DERIVATIVES: dict[str, tuple[Any, ...]] = {}
_VALUE_NAMESPACE: dict[str, Any] = {}


def _register(op: Op) -> Op:
    """Check a row's formulas, make its methods, and add it to the vocabulary.

    The row kept (and returned) holds its formulas as checked and printed again."""
    if not isinstance(op, ManyOperandOp):
        operands = ("x", "y")[:op.arity]
        forward = normalized_formula(op.forward, operands, f"{op.name}: forward")
        derivatives = tuple(normalized_formula(d, (*operands, "out"),
                                               f"{op.name}: derivative {i + 1}")
                            for i, d in enumerate(op.derivatives))
        op = dataclasses.replace(op, forward=forward, derivatives=derivatives)
        value_derivatives = tuple(
            eval(compile(f"lambda x, y, out: {d}", f"<autograd.ops d{op.name}>", "eval"),
                 _VALUE_NAMESPACE) for d in op.derivatives)
        _install_methods(op)
        # Python's own functions (abs) already work on floats and Values alike.
        if op.name.isidentifier() and op.name not in builtins.__dict__:
            on_floats = VOCABULARY[op.name].on_floats if op.name in VOCABULARY else eval(
                compile(f"lambda x, y=None: {op.forward}", f"<autograd.ops {op.name!r}>",
                        "eval"), float_functions())
            VOCABULARY[op.name] = Helper(on_floats, _calls_method(op.method, on_floats))
            globals()[op.name] = on_floats
        _VALUE_NAMESPACE.update(value_functions())
        VALUE_DERIVATIVES[op.name] = value_derivatives
    OPS[op.name] = op
    return op


globals().update(float_functions())     # the formulas' names, for the methods made here
for _op in list(OPS.values()):
    _register(_op)


def define_op(name: str, forward: str, derivatives: Sequence[str], *,
              in_expressions: bool = True) -> Op:
    """Add an operation to the table, from user code; it becomes a method of `Value`.

        define_op("softsign", forward="x / (1.0 + abs(x))",
                  derivatives=("1.0 / (1.0 + abs(x)) ** 2",))
        Value(0.5).softsign()

    `forward` is a formula of `x` (and `y` for a second operand, which makes a
    method taking it: `x.name(y)`); `derivatives` gives d out/dx (and d out/dy),
    formulas of x, y and `out`, the result. Formulas use numbers, + - * / **,
    unary -, abs, and the table's functions (exp, log, tanh, sigmoid, sech, ...).
    The operation then works everywhere a built-in one does: backward, grad
    (create_graph), autograd.compile, backward_steps, draw_dot and, unless
    `in_expressions` is False, Expression. Bad definitions raise a ValueError here.
    """
    if not is_new_name(name):
        raise ValueError(f"define_op: name must be an ASCII identifier not starting with '_', "
                         f"got {name!r}")
    if name in OPS or name in VOCABULARY or hasattr(Value, name) or name in globals():
        raise ValueError(f"define_op: {name!r} clashes with an existing operation, function "
                         "or attribute of Value; choose another name")
    if is_reserved(name):
        raise ValueError(f"define_op: {name!r} is a name the generated code uses for itself "
                         "(or a Python builtin); choose another name")
    if isinstance(derivatives, str) or not isinstance(derivatives, Sequence):
        raise ValueError(f"define_op: derivatives must be a tuple of formulas, one per "
                         f"operand, got {type(derivatives).__name__}")
    forward = normalized_formula(forward, ("x", "y"), f"define_op {name}: forward")
    arity = 2 if "y" in _names_in(forward) else 1
    if len(derivatives) != arity:
        raise ValueError(f"define_op {name}: the forward formula has {arity} operand"
                         f"{'s' if arity > 1 else ''} ({'x, y' if arity > 1 else 'x'}), so it "
                         f"needs {arity} derivative{'s' if arity > 1 else ''}, got "
                         f"{len(derivatives)}")
    checked = tuple(normalized_formula(d, ("x", "y")[:arity] + ("out",),
                                       f"define_op {name}: derivative {i + 1}")
                    for i, d in enumerate(derivatives))
    with _define_lock:
        if name in OPS:
            raise ValueError(f"define_op: {name!r} was defined meanwhile by another thread")
        return _register(Op(name, forward, checked, in_expressions=bool(in_expressions)))


_define_lock = threading.Lock()


def _names_in(formula: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(formula.strip(), mode="eval"))
            if isinstance(node, ast.Name)}


# --- the backward pass --------------------------------------------------------------

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


@contextmanager
def gradient_pass(root: Value, order: list[Value], gradient: Any = 1.0) -> Iterator[None]:
    """Around one backward pass over `order`: every `.grad` starts at 0 and root's at `gradient`.

    Leaves keep what they held before aside and add it back at the end, so
    gradients accumulate across passes (two calls give exactly twice one call)
    while the pass itself shows only its own.
    """
    gradient = as_float(gradient, "backward gradient")
    leaves_before = []
    for node in order:
        if node._x is None and node.grad != 0.0:
            leaves_before.append((node, node.grad))
        node.grad = 0.0
    root.grad = gradient
    try:
        yield
    finally:
        for leaf, before in leaves_before:
            leaf.grad = before + leaf.grad


# --- gradients as values: higher-order derivatives -----------------------------------

def _local_grads_as_values(node: Value) -> tuple:
    op = OPS[node._op]
    operands = node.children
    if isinstance(op, ManyOperandOp):
        return tuple(operands[d] if isinstance(d, int) else d
                     for d in op.local_grads(len(operands)))
    x = operands[0]
    y = operands[1] if len(operands) > 1 else None
    return tuple(f(x, y, node) for f in VALUE_DERIVATIVES[node._op])


def _local_grads_as_floats(node: Value) -> tuple[float, ...]:
    return node.local_grads


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
    grads: dict[Value, Any] = {output: Constant(1.0) if create_graph else 1.0}
    local_grads = _local_grads_as_values if create_graph else _local_grads_as_floats
    # With create_graph the backward pass is itself recorded, even under no_grad().
    previous = _thread.grad_enabled
    _thread.grad_enabled = previous or create_graph
    try:
        for node in reversed(order):
            g = grads.get(node)
            if g is None or node._x is None:
                continue
            for child, local in zip(node.children, local_grads(node)):
                contribution = local * g
                before = grads.get(child)
                grads[child] = contribution if before is None else before + contribution
    finally:
        _thread.grad_enabled = previous
    zero = Constant(0.0) if create_graph else 0.0
    result = []
    for v in inputs:
        g = grads.get(v, zero)
        if create_graph and not isinstance(g, Value):
            g = Constant(g)
        result.append(g)
    return result
