"""Forward mode: derivatives along a direction, from the same table as the backward pass.

Reverse mode (`backward`) sends one gradient back from the output and gets the
derivative with respect to every input in one pass. Forward mode sends a
*tangent* forward from the inputs: each node's tangent is the sum of its local
derivatives times its operands' tangents,

    node.tangent = sum(d node/d operand * operand.tangent),

so one pass gives the derivative of every output along one direction of the
inputs. Both read the local derivatives the table recorded on each node
(`Value.local_grads`), so every operation, `define_op` ones included, works.

    jvp(fn, primals, tangents)  outputs and their derivative along `tangents`
    vjp(fn, primals)            outputs and a function of the cotangents (reverse mode)
    jacobian(fn, inputs, mode)  every derivative, by columns (forward) or rows (reverse)
    hvp(fn, inputs, v)          the Hessian times v: forward mode over reverse mode
    hessian(fn, inputs)         every second derivative, a column per hvp
    Dual(value, tangent)        a number carrying its tangent, for forward mode without a graph

The names and conventions follow `torch.func` (`fn` is called as `fn(*primals)`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from autograd.engine import Value, as_float, grad, topological_order
from autograd.ops import OPS, ManyOperandOp, Op, float_functions

__all__ = ["Dual", "PerturbationConfusion", "hessian", "hvp", "jacobian", "jvp",
           "propagate_tangents", "vjp"]


# --- checking what comes in and out ----------------------------------------------

def _numbers(values: Any, what: str, where: str) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{where}: {what} must be a sequence of numbers, "
                        f"got {type(values).__name__}")
    return [as_float(v, f"{where}: {what}[{i}]") for i, v in enumerate(values)]


def _outputs(result: Any, where: str) -> tuple[list[Value], bool]:
    """fn's result as a list of Values, and whether it was a single Value."""
    if isinstance(result, Value):
        return [result], True
    if isinstance(result, (tuple, list)) and result:
        for i, out in enumerate(result):
            if not isinstance(out, Value):
                raise TypeError(f"{where}: fn must return a Value or a sequence of Values; "
                                f"output {i} is {type(out).__name__}" + _NESTED_HINT * (
                                    isinstance(out, float)))
        return list(result), False
    raise TypeError(f"{where}: fn must return a Value or a non-empty sequence of Values, "
                    f"got {type(result).__name__}" + _NESTED_HINT * isinstance(result, float))


_NESTED_HINT = (" (a tangent or gradient is a plain number: it no longer depends on the "
                "inputs, so it cannot be differentiated again; for second derivatives use "
                "hvp, hessian or grad(create_graph=True))")


# --- nesting: perturbation confusion ---------------------------------------------
#
# A derivative taken inside another (d/dx of x * d/dy(x * y)) must keep the two
# directions apart. Here each jvp's direction belongs to its own leaves, so an
# inner jvp gives x's tangent 0, as it should; but its result is a float, and the
# outer derivative would miss how it depends on x: a silent wrong number. So an
# inner jvp whose graph reaches an outer one's inputs is refused.

class PerturbationConfusion(ValueError):
    """A derivative nested in another would mix up their two directions."""


class _Active(threading.local):
    inputs: list[set[Value]]

    def __init__(self) -> None:
        self.inputs = []


_active = _Active()


def _call(fn: Callable[..., Any], leaves: list[Value], where: str) -> tuple[list[Value], bool]:
    if not callable(fn):
        raise TypeError(f"{where}: fn must be callable, got {type(fn).__name__}")
    _active.inputs.append(set(leaves))
    try:
        result = fn(*leaves)
    finally:
        _active.inputs.pop()
    return _outputs(result, where)


def _refuse_nested(order: list[Value], leaves: list[Value], where: str) -> None:
    mine = set(leaves)
    outer = set().union(*_active.inputs) - mine if _active.inputs else set()
    if outer and any(node in outer for node in order):
        raise PerturbationConfusion(
            f"{where} inside another derivative reaches that derivative's inputs: its "
            "result would be a plain number, and the outer derivative would miss how it "
            "depends on them (perturbation confusion); compute the nested derivative with "
            "grad(create_graph=True), or use hvp or hessian")


# --- the forward pass of tangents ------------------------------------------------

def propagate_tangents(order: Sequence[Value], tangents: dict[Value, float]) -> dict[Value, float]:
    """Every node's tangent, given the leaves' tangents (the rest of the leaves: 0).

    `order` is a topological order (operands first). A node's tangent is the sum
    of local derivative times operand tangent over its operands, skipping operands
    whose tangent is 0: a constant contributes nothing, even where its local
    derivative is nan or inf (the exponent's `log(x) * out` in `x ** 2` at x < 0).
    """
    tangent = dict(tangents)
    for node in order:
        operands = node.children
        if not operands:
            continue
        total = 0.0
        for child, local in zip(operands, node.local_grads):
            t = tangent.get(child, 0.0)
            if t != 0.0:
                total += local * t
        tangent[node] = total
    return tangent


def _order_of(outputs: list[Value]) -> list[Value]:
    """One topological order covering every output."""
    if len(outputs) == 1:
        return topological_order(outputs[0])
    seen: set[Value] = set()
    order = []
    for out in outputs:
        for node in topological_order(out):
            if node not in seen:
                seen.add(node)
                order.append(node)
    return order


def _shape(values: list[float], single: bool) -> float | tuple[float, ...]:
    return values[0] if single else tuple(values)


def jvp(fn: Callable[..., Any], primals: Sequence[float], tangents: Sequence[float]
        ) -> tuple[Any, Any]:
    """fn's outputs at `primals`, and their derivative along `tangents` (forward mode).

    fn(*inputs) must return a Value or a sequence of Values. Returns
    (outputs, output tangents): floats if fn returned one Value, else tuples.
    Like torch.func.jvp: one pass gives sum_i d out/d input_i * tangents[i].
    """
    p = _numbers(primals, "primals", "jvp")
    t = _numbers(tangents, "tangents", "jvp")
    if len(t) != len(p):
        raise ValueError(f"jvp: {len(p)} primals but {len(t)} tangents; give one tangent "
                         "per primal")
    leaves = [Value(x) for x in p]
    outputs, single = _call(fn, leaves, "jvp")
    order = _order_of(outputs)
    _refuse_nested(order, leaves, "jvp")
    tangent = propagate_tangents(order, dict(zip(leaves, t)))
    return (_shape([o.data for o in outputs], single),
            _shape([tangent.get(o, 0.0) for o in outputs], single))


def vjp(fn: Callable[..., Any], primals: Sequence[float]
        ) -> tuple[Any, Callable[[Any], tuple[float, ...]]]:
    """fn's outputs at `primals`, and a function from cotangents to sum_k c_k * grad(out_k).

    The cotangent is a number if fn returned one Value, else one number per output;
    the function returns one derivative per primal (reverse mode, like torch.func.vjp).
    """
    p = _numbers(primals, "primals", "vjp")
    leaves = [Value(x) for x in p]
    outputs, single = _call(fn, leaves, "vjp")
    _refuse_nested(_order_of(outputs), leaves, "vjp")

    def pull_back(cotangents: Any) -> tuple[float, ...]:
        if single:
            c = [as_float(cotangents, "vjp: the cotangent")]
        else:
            c = _numbers(cotangents, "cotangents", "vjp")
            if len(c) != len(outputs):
                raise ValueError(f"vjp: fn has {len(outputs)} outputs but {len(c)} "
                                 "cotangents were given; give one per output")
        total = [0.0] * len(leaves)
        for out, weight in zip(outputs, c):
            if weight == 0.0:   # an output left out of the sum, even where its gradient is nan
                continue
            for i, g in enumerate(grad(out, leaves)):
                total[i] += weight * g
        return tuple(total)

    return _shape([o.data for o in outputs], single), pull_back


def jacobian(fn: Callable[..., Any], inputs: Sequence[float], mode: str = "reverse") -> Any:
    """d out_k / d input_i for every output and input.

    mode "reverse": a reverse pass per output fills a row; "forward": a forward
    pass per input fills a column. The numbers are the same. Returns a list of
    rows (one per output) of floats; if fn returned one Value, its one row.
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    x = _numbers(inputs, "inputs", "jacobian")
    leaves = [Value(v) for v in x]
    outputs, single = _call(fn, leaves, "jacobian")
    order = _order_of(outputs)
    _refuse_nested(order, leaves, "jacobian")
    if mode == "reverse":
        rows = [list(grad(out, leaves)) for out in outputs]
    else:
        rows = [[0.0] * len(leaves) for _ in outputs]
        for i, leaf in enumerate(leaves):
            tangent = propagate_tangents(order, {leaf: 1.0})
            for k, out in enumerate(outputs):
                rows[k][i] = tangent.get(out, 0.0)
    return rows[0] if single else rows


def _hvp_columns(fn: Callable[..., Any], inputs: Sequence[float],
                 directions: list[list[float]], where: str) -> tuple[float, list[list[float]]]:
    x = _numbers(inputs, "inputs", where)
    leaves = [Value(v) for v in x]
    outputs, single = _call(fn, leaves, where)
    if not single:
        raise ValueError(f"{where}: fn must return one Value (a scalar), got "
                         f"{len(outputs)} outputs")
    _refuse_nested(_order_of(outputs), leaves, where)
    # Reverse mode with create_graph records the gradient as a graph of its own;
    # forward mode along v through that graph gives (d/dv) gradient = H v.
    gradient = grad(outputs[0], leaves, create_graph=True)
    order = _order_of(gradient)
    columns = []
    for v in directions:
        if len(v) != len(leaves):
            raise ValueError(f"{where}: {len(leaves)} inputs but a direction of {len(v)} "
                             "numbers; give one per input")
        tangent = propagate_tangents(order, dict(zip(leaves, v)))
        columns.append([tangent.get(g, 0.0) for g in gradient])
    return outputs[0].data, columns


def hvp(fn: Callable[..., Any], inputs: Sequence[float], v: Sequence[float]
        ) -> tuple[float, list[float]]:
    """fn(*inputs) and the Hessian of fn times v (forward mode over reverse mode).

    fn must return one Value. Like torch.autograd.functional.hvp.
    """
    direction = _numbers(v, "v", "hvp")
    out, (column,) = _hvp_columns(fn, inputs, [direction], "hvp")
    return out, column


def hessian(fn: Callable[..., Any], inputs: Sequence[float]) -> list[list[float]]:
    """Every second derivative d^2 fn / d input_i d input_j, as a list of rows.

    Column j is the Hessian times the j-th unit vector (one hvp each); fn must
    return one Value.
    """
    n = len(_numbers(inputs, "inputs", "hessian"))
    units = [[1.0 if i == j else 0.0 for i in range(n)] for j in range(n)]
    _, columns = _hvp_columns(fn, inputs, units, "hessian")
    # Column j holds d(d fn/d x_i)/d x_j for each i; the rows are the transpose.
    return [[columns[j][i] for j in range(n)] for i in range(n)]


# --- dual numbers ----------------------------------------------------------------

_new_direction = itertools.count(1)
_DERIVATIVES: dict[Op, tuple[Callable[..., float], ...]] = {}
_FORWARDS: dict[Op, Callable[..., float]] = {}


def _formulas(op: Op) -> tuple[Callable[..., float], tuple[Callable[..., float], ...]]:
    """A row's forward and derivatives as float functions of (x, y) and (x, y, out)."""
    if op not in _FORWARDS:
        namespace = float_functions()
        where = f"<autograd.forward {op.name!r}>"
        _FORWARDS[op] = eval(compile(f"lambda x, y: {op.forward}", where, "eval"), namespace)
        _DERIVATIVES[op] = tuple(
            eval(compile(f"lambda x, y, out: {d}", where, "eval"), namespace)
            for d in op.derivatives)
    return _FORWARDS[op], _DERIVATIVES[op]


class Dual:
    """A number and its tangent: forward mode without a graph.

    Dual(2.0, 1.0).tanh() is Dual(tanh(2), sech(2)**2 * 1): each operation gives
    its result and the tangent sum(d out/d operand * operand tangent), with the
    forward formula and the derivatives of its row in the table.

    `direction` names whose derivative the tangent is; Duals made directly share
    one. `Dual.derivative(f, x)` gives each call a direction of its own, and an
    operation on Duals of two directions raises PerturbationConfusion rather
    than add their tangents together.
    """

    __slots__ = ("value", "tangent", "direction")

    def __init__(self, value: float, tangent: float = 0.0, direction: int = 0) -> None:
        self.value = as_float(value, "Dual value")
        self.tangent = as_float(tangent, "Dual tangent")
        self.direction = direction

    def __repr__(self) -> str:
        return f"Dual(value={self.value}, tangent={self.tangent})"

    @staticmethod
    def derivative(f: Callable[[Dual], Any], x: float) -> float:
        """d f/dx at x, by one forward pass with a Dual of its own direction."""
        result = f(Dual(x, 1.0, next(_new_direction)))
        if not isinstance(result, Dual):
            return 0.0 if isinstance(result, (int, float)) else _not_a_dual(result)
        return result.tangent

    def apply(self, name: str, *others: Any) -> Dual:
        """The table's operation `name` on this Dual (and a second operand)."""
        op = OPS.get(name)
        if op is None or isinstance(op, ManyOperandOp):
            raise ValueError(f"Dual: no one- or two-operand operation named {name!r}")
        if len(others) != op.arity - 1:
            if op.arity == 2 and not others and op.default is not None:
                others = (op.default,)
            else:
                raise TypeError(f"Dual.{name}: takes {op.arity - 1} operand(s), "
                                f"got {len(others)}")
        operands = [self, *(_as_dual(o, name) for o in others)]
        direction = _direction(operands, name)
        forward, derivatives = _formulas(op)
        x = operands[0].value
        y = operands[1].value if len(operands) > 1 else None
        try:
            out = forward(x, y)
            tangent = 0.0
            for d, derivative in zip(operands, derivatives):
                if d.tangent != 0.0:   # a constant operand adds nothing, even if d/d it is nan
                    tangent += derivative(x, y, out) * d.tangent
        except (ArithmeticError, ValueError) as error:
            raise ValueError(f"Dual.{name}({', '.join(repr(d.value) for d in operands)}): "
                             f"{error}") from None
        return Dual(out, tangent, direction)

    def __getattr__(self, name: str) -> Callable[..., Dual]:
        # The named operations (tanh, exp, a define_op one): looked up in the table when used.
        op = OPS.get(name)
        if op is None or isinstance(op, ManyOperandOp) or name.startswith("_"):
            raise AttributeError(f"'Dual' has no attribute {name!r}")
        return lambda *others: self.apply(name, *others)


_NUMBER = -1   # the direction of a plain number: it has no tangent, so it fits any


def _direction(operands: list[Dual], name: str) -> int:
    directions = {d.direction for d in operands} - {_NUMBER}
    if len(directions) > 1:
        raise PerturbationConfusion(
            f"Dual.{name}: its operands carry tangents of two different derivatives (one "
            "taken inside the other); adding them would mix the two up (perturbation "
            "confusion). Nest derivatives on the graph with grad(create_graph=True)")
    return directions.pop() if directions else _NUMBER


def _as_dual(other: Any, name: str) -> Dual:
    if isinstance(other, Dual):
        return other
    if isinstance(other, Value):
        raise TypeError(f"Dual.{name}: cannot mix a Dual and a Value")
    # A plain number: no tangent, and it takes on any direction.
    return Dual(as_float(other, f"Dual.{name}: operand"), 0.0, _NUMBER)


def _not_a_dual(result: Any) -> float:
    raise TypeError(f"Dual.derivative: f must return a Dual or a number, "
                    f"got {type(result).__name__}")


def _operator(name: str, reflected: bool) -> Callable[..., Any]:
    def method(self: Dual, other: Any) -> Any:
        if not isinstance(other, (Dual, int, float)) or isinstance(other, bool):
            return NotImplemented
        if reflected:
            return _as_dual(other, name).apply(name, self)
        return self.apply(name, other)
    return method


def _install_operators() -> None:
    # The operators of the table's rows (+, *, **, -x, abs(x)), with their Value names.
    for op in OPS.values():
        if isinstance(op, ManyOperandOp) or not op.method.startswith("__"):
            continue
        if op.arity == 1:
            setattr(Dual, op.method, lambda self, name=op.name: self.apply(name))
        else:
            setattr(Dual, op.method, _operator(op.name, False))
            if op.reflected:
                setattr(Dual, op.reflected, _operator(op.name, True))


_install_operators()
