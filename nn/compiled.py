"""`fit(compile=True)`: a model's loss on a batch, replayed example by example.

The loss of one example, `loss.per_example(model(x), target)`, is traced once
with `autograd.compile_per_example` and replayed for every example of every
batch; the L2 penalty is added outside, by a whole-graph replay of its own.
The model's outputs come back with the loss, for the accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import autograd
from autograd import Value, no_grad
from nn.losses import l2_penalty

# How many batches of a loss without `per_example` are also scored with the loss itself.
CUSTOM_LOSS_CHECKS = 2


class CompiledLoss:
    """`step(X, targets)` for training and `evaluate(X, targets)` for validation, replayed.

    `loss` is a batch loss; its `per_example` attribute (the loss of one example)
    and `reduction` ("mean" or "sum") say how it is made of examples. A loss
    without them is taken to be the mean of `loss([output], [target])`, which the
    first batches check against the loss itself.
    """

    def __init__(self, model: Callable[[Any], Any], loss: Callable[[Any, Any], Value],
                 parameters: list[Value], l2: float) -> None:
        self.loss = loss
        # The penalty depends on the parameters only: one whole-graph replay per step.
        self._penalty = autograd.compile(lambda: l2_penalty(parameters, l2)) if l2 else None
        per_example = getattr(loss, "per_example", None)
        self.checks_left = 0
        if per_example is None:
            def per_example(output: Any, target: Any) -> Value:
                try:
                    return loss([output], [target])
                except TypeError as error:
                    raise TypeError(
                        f"fit(compile=True): the loss of one example, loss([output], "
                        f"[target]), fails while traced: {error}. There the targets are "
                        "Values (they change from example to example), so a loss that "
                        "indexes with its target (outputs[t]) cannot be replayed; give the "
                        "loss a per_example attribute that picks with Values, as "
                        "nn.cross_entropy.per_example does, or use compile=False") from None
            self.checks_left = CUSTOM_LOSS_CHECKS
        reduction = getattr(loss, "reduction", "mean")

        def example(x: Any, target: Any) -> tuple[Value, Any]:
            output = model(x)
            return per_example(output, target), output

        # Two traces: in training mode (dropout draws masks) and in evaluation mode.
        self._train = autograd.compile_per_example(example, reduction=reduction)
        self._evaluate = autograd.compile_per_example(example, reduction=reduction)

    def check_targets(self, probe: Any, targets: Sequence, where: str) -> None:
        """Raise the loss's own error for a bad target now: the replay does not check them."""
        # Each different target once (classes repeat), as the target of the probe output.
        distinct = list({repr(t): t for t in targets}.values())
        with no_grad():
            try:
                self.loss([probe] * len(distinct), distinct)
                return
            except (TypeError, ValueError):
                pass
            for i, target in enumerate(targets):   # which one, for the message
                try:
                    self.loss([probe], [target])
                except (TypeError, ValueError) as error:
                    raise type(error)(f"fit: {where}[{i}]: {error}") from None

    def step(self, X: Sequence, targets: Sequence) -> tuple[float, list]:
        """The batch's data loss and outputs; the gradient of loss + L2 is added to `.grad`."""
        # The penalty first: the eager backward pass of loss + penalty reaches it first,
        # so the gradients are then added up in the same order, to the last bit.
        if self._penalty is not None:
            self._penalty()
        loss, outputs = self._train(X, targets)
        outputs = [_as_output(o) for o in outputs]
        if self.checks_left:
            self.checks_left -= 1
            self._compare_with_loss(loss, outputs, targets)
        return loss, outputs

    def evaluate(self, X: Sequence, targets: Sequence) -> tuple[float, list]:
        """The data loss and outputs, forward only (call it in evaluation mode)."""
        loss, outputs = self._evaluate.forward(X, targets)
        return loss, [_as_output(o) for o in outputs]

    def _compare_with_loss(self, loss: float, outputs: list, targets: Sequence) -> None:
        with no_grad():
            expected = self.loss(outputs, list(targets)).data
        if not math.isclose(loss, expected, rel_tol=1e-9, abs_tol=1e-12):
            raise ValueError(
                f"fit(compile=True): the loss is not the mean over examples of "
                f"loss([output], [target]): {expected!r} for the batch, {loss!r} from its "
                "examples; give the loss function a per_example attribute (the loss of one "
                "example) and a reduction ('mean' or 'sum'), or use compile=False")


def _as_output(output: Any) -> Any:
    # Values, as the model returns them, for the accuracy and for a loss of the user's.
    if isinstance(output, list):
        return [_as_output(o) for o in output]
    return Value(output)
