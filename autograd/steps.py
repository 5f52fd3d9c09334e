"""The backward pass one node at a time, with the chain rule written out at each step."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from autograd.engine import Constant, Value, _finish_backward, _start_backward, topological_order

__all__ = ["BackwardStep", "backward_steps", "value_names"]


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """What one step of the backward pass did: `node` passed its gradient to its operands.

    For each operand i: operands[i].grad went from grads_before[i] to grads_after[i]
    by adding local_grads[i] * node_grad. `explanation` says so, one line per operand.
    """

    index: int
    node: Value
    op: str
    node_grad: float
    operands: tuple[Value, ...]
    local_grads: tuple[float, ...]
    grads_before: tuple[float, ...]
    grads_after: tuple[float, ...]
    explanation: str


def value_names(order: list[Value]) -> dict[Value, str]:
    """Each Value's name in explanations and drawings: its label, else "v" + its position."""
    return {v: v.label or f"v{i}" for i, v in enumerate(order)}


def number(x: float) -> str:
    """x with 4 significant digits, keeping a ".0" on whole numbers so they read as floats."""
    text = f"{x:.4g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


def _data(v: Value, names: dict[Value, str]) -> str:
    # A number written into an expression reads best as itself.
    if isinstance(v, Constant) and not v.label:
        return number(v.data)
    return f"{names[v]}.data"


# How to write d node / d operand for each operation, in terms of the operands'
# data (a, b) and the node's own data (n). Same formulas as the engine's OPS.
_Formula = Callable[[str, str, str], str]
_DERIVATIVES: dict[str, tuple[_Formula, ...]] = {
    "+": (lambda a, b, n: "1", lambda a, b, n: "1"),
    "-": (lambda a, b, n: "1", lambda a, b, n: "-1"),
    "*": (lambda a, b, n: b, lambda a, b, n: a),
    "/": (lambda a, b, n: f"1/{b}", lambda a, b, n: f"-{n}/{b}"),
    "**": (lambda a, b, n: f"{b}*{a}**({b}-1)", lambda a, b, n: f"{n}*log({a})"),
    "neg": (lambda a, b, n: "-1",),
    "abs": (lambda a, b, n: f"sign({a})",),
    "exp": (lambda a, b, n: n,),
    "log": (lambda a, b, n: f"1/{a}",),
    "sqrt": (lambda a, b, n: f"0.5/{n}",),
    "tanh": (lambda a, b, n: f"(1 - {n}**2)",),
    "sigmoid": (lambda a, b, n: f"{n}*(1 - {n})",),
    "relu": (lambda a, b, n: f"({a} > 0)",),
    "leaky_relu": (lambda a, b, n: f"(1 if {a} > 0 else {b})", lambda a, b, n: f"min({a}, 0)"),
    "softplus": (lambda a, b, n: f"sigmoid({a})",),
    "sin": (lambda a, b, n: f"cos({a})",),
    "cos": (lambda a, b, n: f"-sin({a})",),
}


def _derivative_texts(node: Value, names: dict[Value, str]) -> list[str]:
    """d node / d operand, written as an expression, for each operand."""
    operands = node._prev
    if node._op == "sum":
        return ["1"] * len(operands)
    if node._op == "dot":
        # Operands are (*weights, *inputs[, bias]): d/dw_i = x_i, d/dx_i = w_i, d/dbias = 1.
        n = len(operands) // 2
        ws, xs = operands[:n], operands[n:2 * n]
        texts = [_data(x, names) for x in xs] + [_data(w, names) for w in ws]
        return texts + ["1"] * (len(operands) - 2 * n)
    formulas = _DERIVATIVES.get(node._op)
    if formulas is None or len(formulas) != len(operands):
        # An operation this module does not know: name the derivative instead.
        return [f"d{names[node]}/d{names[child]}" for child in operands]
    a = _data(operands[0], names)
    b = _data(operands[1], names) if len(operands) > 1 else ""
    n = _data(node, names)
    return [formula(a, b, n) for formula in formulas]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _explain(node: Value, names: dict[Value, str], node_grad: float) -> str:
    lines = []
    for child, local, text in zip(node._prev, node._local_grads, _derivative_texts(node, names)):
        # A derivative that is a plain number needs no "(value)" after it.
        shown = text if _is_number(text) else f"{text} ({number(local)})"
        lines.append(f"{names[child]}.grad += {shown} * {names[node]}.grad ({number(node_grad)})"
                     f" = {number(local * node_grad)}")
    return "\n".join(lines)


def backward_steps(root: Value, gradient: float = 1.0) -> Iterator[BackwardStep]:
    """`root.backward(gradient)`, one node at a time: yields a BackwardStep per interior node.

    Nodes are processed in the same order, with the same arithmetic, as
    `backward()`, so exhausting the generator leaves exactly the gradients
    `backward()` leaves. While stepping, leaves show this pass's gradient
    only; what they held before is added back when the generator finishes
    (or is closed early). Leaves have nothing to propagate, so they make no step.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps: root must be a Value, got {type(root).__name__}")
    order = topological_order(root)
    names = value_names(order)
    leaves_before = _start_backward(root, order, gradient)
    try:
        index = 0
        for node in reversed(order):
            if not node._prev:
                continue
            g = node.grad
            operands = node._prev
            before = []
            after = []
            for child, local in zip(operands, node._local_grads):
                # Read per operand: with fan-out (x * x) the same Value is updated twice.
                before.append(child.grad)
                child.grad += local * g
                after.append(child.grad)
            yield BackwardStep(index=index, node=node, op=node._op, node_grad=g,
                               operands=operands, local_grads=node._local_grads,
                               grads_before=tuple(before), grads_after=tuple(after),
                               explanation=_explain(node, names, g))
            index += 1
    finally:
        _finish_backward(leaves_before)
