"""Checking analytic gradients against central differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autograd.engine import Value, grad, no_grad


class GradcheckError(ValueError):
    """The analytic and numeric gradients disagree; the message lists every input."""


def gradcheck(f: Callable[..., Value], inputs: Sequence[Value], eps: float = 1e-6,
              rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """Compare the backward pass of `f(*inputs)` with central differences.

    Returns True when |analytic - numeric| <= atol + rtol * |numeric| for every
    input; otherwise raises GradcheckError listing each input's two gradients.
    """
    for name, value in (("eps", eps), ("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"gradcheck: {name} must be a number >= 0, got {value!r}")
    if eps == 0:
        raise ValueError("gradcheck: eps must be > 0 (the step of the central differences)")
    inputs = list(inputs)
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"gradcheck: inputs[{i}] must be a Value, got {type(v).__name__}")
    output = f(*inputs)
    if not isinstance(output, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(output).__name__}")
    analytic = grad(output, inputs)

    numeric = []
    with no_grad():
        for i, v in enumerate(inputs):
            shifted = list(inputs)
            shifted[i] = Value(v.data + eps)
            above = f(*shifted).data
            shifted[i] = Value(v.data - eps)
            below = f(*shifted).data
            numeric.append((above - below) / (2.0 * eps))

    failed = [i for i, (a, n) in enumerate(zip(analytic, numeric))
              if not abs(a - n) <= atol + rtol * abs(n)]
    if failed:
        rows = "\n".join(
            f"  input {i}{' (' + v.label + ')' if v.label else ''} = {v.data!r}: "
            f"analytic {a!r}, numeric {n!r}{'   <- differs' if i in failed else ''}"
            for i, (v, a, n) in enumerate(zip(inputs, analytic, numeric)))
        raise GradcheckError(f"gradcheck failed (eps={eps}, rtol={rtol}, atol={atol}):\n{rows}")
    return True
