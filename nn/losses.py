"""Loss functions. Each takes model outputs and targets and returns one Value (a mean).

Outputs may be one Value or a list of them (one per sample); a list of lists (several
outputs per sample) is flattened for `mse` and `binary_cross_entropy_with_logits`.

Each loss also has the loss of one example, `loss.per_example(output, target)`, of
which the batch loss is the mean (`loss.reduction`); `autograd.compile_per_example`
and `fit(compile=True)` trace it once and replay it for every example.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any, cast

from autograd import Value, checked
from nn import _checks as check


def _flatten(items: Any, where: str, what: str) -> list:
    if isinstance(items, (Value, Real)) and not isinstance(items, bool):
        return [items]
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"{where}: {what} must be a Value, a number or a list of them, "
                        f"got {type(items).__name__}")
    flat: list[Any] = []
    for item in items:
        if isinstance(item, (list, tuple)):
            flat.extend(item)
        else:
            flat.append(item)
    return flat


def _pairs(outputs: Any, targets: Any, where: str) -> tuple[list[Value], list[float | Value]]:
    outputs = _flatten(outputs, where, "predictions")
    targets = _flatten(targets, where, "targets")
    if len(outputs) != len(targets):
        raise ValueError(f"{where}: {len(outputs)} predictions but {len(targets)} targets")
    if not outputs:
        raise ValueError(f"{where}: no predictions (empty batch)")
    values: list[Value] = []
    for i, p in enumerate(outputs):
        if isinstance(p, Value):
            values.append(p)
        elif isinstance(p, bool) or not isinstance(p, Real):
            raise TypeError(f"{where}: prediction {i} must be a Value or a number, "
                            f"got {type(p).__name__}")
        else:
            values.append(Value(cast(float, p)))  # Value's own checks and errors
    numbers: list[float | Value] = []
    for i, t in enumerate(targets):
        if isinstance(t, Value):
            # Kept as a Value, so that autograd.compile can replay with new targets.
            numbers.append(t)
        elif isinstance(t, bool) or not isinstance(t, Real):
            raise TypeError(f"{where}: target {i} must be a number, got {type(t).__name__}")
        else:
            numbers.append(float(t))
    return values, numbers


def _data(t: float | Value) -> float:
    return t.data if isinstance(t, Value) else t


def _check_target(target: Any, check_number: Any) -> None:
    """`check_number(target)` now; for a Value target (an argument of a compiled replay,
    which changes from example to example) also on every replay, through `checked`."""
    if isinstance(target, Value):
        checked(target, check_number)
    else:
        check_number(target)


def mse(predictions: Any, targets: Any) -> Value:
    """Mean squared error, mean((prediction - target)^2).

    Predictions are Values (or numbers); targets are numbers or Values (a Value
    target is part of the graph, like a prediction).
    """
    predictions, targets = _pairs(predictions, targets, "mse")
    return _mean([_squared_error(p, t, i) for i, (p, t) in enumerate(zip(predictions, targets))])


def _squared_error(p: Value, t: float | Value, i: int) -> Value:
    d = p - t
    return d * d


def hinge(scores: Any, labels: Any) -> Value:
    """micrograd's max-margin loss, mean(relu(1 - label * score)), for labels -1 and +1.

    Convert 0/1 labels first with `2 * y - 1` (`fit` does this itself).
    """
    scores, labels = _pairs(scores, labels, "hinge")
    return _mean([_hinge_term(s, y, i) for i, (s, y) in enumerate(zip(scores, labels))])


def _hinge_label(label: float, i: int) -> None:
    if label not in (1.0, -1.0):
        raise ValueError(f"hinge: labels must be -1 or +1, got {label:g} at index {i} "
                         f"(convert 0/1 labels with 2 * y - 1)")


def _hinge_term(s: Value, y: float | Value, i: int) -> Value:
    _check_target(y, lambda label: _hinge_label(label, i))
    # 1 - y*s written out for a number y = +-1 saves a multiplication node.
    if isinstance(y, Value):
        return (1.0 - y * s).relu()
    if y == 1.0:
        return (1.0 - s).relu()
    return (s + 1.0).relu()


def binary_cross_entropy_with_logits(logits: Any, targets: Any) -> Value:
    """mean(-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))) for logits z and targets y in [0, 1].

    Computed as softplus(z) - y z, which equals it and stays finite for any finite
    logit (the engine's softplus is log(1 + e^z) without overflow), so the gradient
    sigmoid(z) - y is exact even at z = +-1000.
    """
    logits, targets = _pairs(logits, targets, "binary_cross_entropy_with_logits")
    return _mean([_bce_term(z, y, i) for i, (z, y) in enumerate(zip(logits, targets))])


def _bce_target(target: float, i: int) -> None:
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"binary_cross_entropy_with_logits: targets must be in [0, 1], "
                         f"got {target:g} at index {i}")


def _bce_term(z: Value, y: float | Value, i: int) -> Value:
    _check_target(y, lambda target: _bce_target(target, i))
    if isinstance(y, Value):
        return z.softplus() - z * y
    if y == 0.0:
        return z.softplus()
    if y == 1.0:
        return z.softplus() - z
    return z.softplus() - z * y


def _one_cross_entropy(logits: Any, target: Any, where: str) -> Value:
    if isinstance(logits, (str, bytes, Value)) or not isinstance(logits, Sequence) or not logits:
        raise TypeError(f"{where}: logits must be a non-empty list of Values, "
                        f"got {type(logits).__name__}")
    logits = [z if isinstance(z, Value) else Value(z) for z in logits]
    count = len(logits)
    if isinstance(target, Value):
        # A replay's class index is a float: a whole number stands for the int.
        checked(target, lambda index: _class_index(index, count, where, whole_float=True))
    else:
        _class_index(target, count, where, whole_float=False)
    index = _data(target)
    if isinstance(target, Value):
        # Inside autograd.compile the class index is an input that changes from example
        # to example: pick the logit with a one-hot row, relu(1 - |target - k|), which a
        # replay recomputes. It gives exactly logits[target], and the same gradient.
        picked = Value.dot([(1.0 - abs(target - k)).relu() for k in range(len(logits))], logits)
    else:
        picked = logits[int(index)]
    # log sum exp(z) = m + log sum exp(z - m) with m the largest logit: every exp is at most
    # 1, so nothing overflows. m is computed with Values, max(a, b) = a + relu(b - a), so a
    # replay recomputes it for each example; its own gradient cancels (d/dm is 0).
    m = logits[0]
    for z in logits[1:]:
        m = m + (z - m).relu()
    if not math.isfinite(m.data):
        raise ValueError(f"{where}: logits must be finite, the largest is {m.data}")
    log_sum_exp = Value.sum([(z - m).exp() for z in logits]).log() + m
    return log_sum_exp - picked


def _class_index(index: Any, count: int, where: str, whole_float: bool) -> None:
    if isinstance(index, bool) or not (isinstance(index, Integral) or (
            whole_float and isinstance(index, float) and index.is_integer())):
        raise TypeError(f"{where}: target must be a class index (int), got {type(index).__name__}")
    if not 0 <= float(index) < count:
        raise ValueError(f"{where}: target {int(index)} is not a class index for "
                         f"{count} logits (0 to {count - 1})")


def cross_entropy(logits: Any, target: Any) -> Value:
    """Softmax cross-entropy, -log softmax(logits)[target], through log-sum-exp.

    One sample: `logits` a list of Values and `target` a class index. A batch:
    a list of logit lists and a list of class indices; the result is the mean.
    """
    if isinstance(target, (list, tuple)):
        if not isinstance(logits, (list, tuple)) or len(logits) != len(target):
            count = len(logits) if isinstance(logits, (list, tuple)) else type(logits).__name__
            raise ValueError(f"cross_entropy: {len(target)} targets but logits for {count}")
        if not target:
            raise ValueError("cross_entropy: no samples (empty batch)")
        losses = [_one_cross_entropy(z, t, f"cross_entropy (sample {i})")
                  for i, (z, t) in enumerate(zip(logits, target))]
        return Value.sum(losses) / len(losses)
    return _one_cross_entropy(logits, target, "cross_entropy")


def _mean(terms: list[Value]) -> Value:
    return Value.sum(terms) / len(terms)


def _per_example(term, where: str):
    """The loss of one example from the loss's term: the mean over the example's outputs."""
    def loss_of_one_example(output: Any, target: Any) -> Value:
        outputs, targets = _pairs(output, target, where)
        terms = [term(o, t, i) for i, (o, t) in enumerate(zip(outputs, targets))]
        return terms[0] if len(terms) == 1 else _mean(terms)
    loss_of_one_example.__name__ = loss_of_one_example.__qualname__ = f"{where}.per_example"
    return loss_of_one_example


def _cross_entropy_of_one_example(logits: Any, target: Any) -> Value:
    return _one_cross_entropy(logits, target, "cross_entropy")


# The loss of one example for each loss, of which the batch loss is the mean.
# (Attributes on functions, which type checkers do not expect: hence the ignores.)
mse.per_example = _per_example(_squared_error, "mse")  # type: ignore[attr-defined]
hinge.per_example = _per_example(_hinge_term, "hinge")  # type: ignore[attr-defined]
binary_cross_entropy_with_logits.per_example = _per_example(  # type: ignore[attr-defined]
    _bce_term, "binary_cross_entropy_with_logits")
cross_entropy.per_example = _cross_entropy_of_one_example  # type: ignore[attr-defined]
for _loss in (mse, hinge, binary_cross_entropy_with_logits, cross_entropy):
    _loss.reduction = "mean"  # type: ignore[union-attr]


def l2_penalty(parameters: Any, alpha: float) -> Value:
    """alpha * sum(p * p for p in parameters): weight decay as a loss term.

    `parameters` is a list of Values or a module (its `parameters()` are used).
    The sum of squares is a single graph node.
    """
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    parameters = list(parameters)
    for i, p in enumerate(parameters):
        if not isinstance(p, Value):
            raise TypeError(f"l2_penalty: parameters[{i}] must be a Value, got {type(p).__name__}")
    alpha = check.non_negative("l2_penalty", "alpha", alpha)
    # dot(p, p) is sum(p_i^2) as one node; each p_i appears twice among its
    # operands, with local derivative p_i each time, so its gradient is 2 p_i.
    return Value.dot(parameters, parameters) * alpha
