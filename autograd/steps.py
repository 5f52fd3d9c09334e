"""The backward pass one node at a time, with the chain rule written out at each step."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from autograd.engine import Constant, Value, as_float, gradient_pass, topological_order
from autograd.ops import OPS, is_number

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
    return {v: str(v.label) if v.label else f"v{i}" for i, v in enumerate(order)}


def attribute_of(name: str) -> str:
    """`name` ready for ".grad" or ".data": in parentheses when it is an expression such as
    "x1*w1", so that "(x1*w1).grad" cannot be read as x1 * (w1.grad)."""
    return name if name.isidentifier() else f"({name})"


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
    return f"{attribute_of(names[v])}.data"


_ATOM = re.compile(r"^-?[\w.]+$")


def _derivative_texts(node: Value, names: dict[Value, str]) -> list[str]:
    """d node / d operand, written as an expression, for each operand.

    The formulas are the table's own (autograd.OPS), written with the operands' names.
    """
    operands = [_data(c, names) for c in node.children]
    texts = OPS[node.op].derivative_codes(operands, _data(node, names))
    return [t if _ATOM.match(t) else f"({t})" for t in texts]



def _explain(node: Value, names: dict[Value, str], node_grad: float) -> str:
    lines = []
    for child, local, text in zip(node.children, node.local_grads,
                                  _derivative_texts(node, names)):
        # A derivative that is a plain number needs no "(value)" after it.
        shown = text if is_number(text) else f"{text} ({number(local)})"
        lines.append(f"{attribute_of(names[child])}.grad += {shown} * "
                     f"{attribute_of(names[node])}.grad ({number(node_grad)})"
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
    # Checked here, when called; the steps themselves run as they are asked for.
    return _steps(root, as_float(gradient, "backward_steps gradient"))


def _steps(root: Value, gradient: float) -> Iterator[BackwardStep]:
    order = topological_order(root)
    names = value_names(order)
    with gradient_pass(root, order, gradient):
        index = 0
        for node in reversed(order):
            operands = node.children
            if not operands:
                continue
            g = node.grad
            local_grads = node.local_grads
            before = []
            after = []
            for child, local in zip(operands, local_grads):
                # Read per operand: with fan-out (x * x) the same Value is updated twice.
                before.append(child.grad)
                child.grad += local * g
                after.append(child.grad)
            yield BackwardStep(index=index, node=node, op=node.op, node_grad=g,
                               operands=operands, local_grads=local_grads,
                               grads_before=tuple(before), grads_after=tuple(after),
                               explanation=_explain(node, names, g))
            index += 1


def _backward_steps_method(self: Value, gradient: float = 1.0) -> Iterator[BackwardStep]:
    """The backward pass one node at a time: see `autograd.backward_steps`."""
    return backward_steps(self, gradient)


# `v.backward_steps()` reads well in a lesson; it is added from here so that the
# engine itself knows nothing of this module.
Value.backward_steps = _backward_steps_method  # type: ignore[attr-defined]
