"""Losses, checked against `nn.losses`: the value of the batch's loss and its gradients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autograd import Value
from nn import losses
from nn.exercises.catalogue import Exercise, register
from nn.exercises.grading import Case, Mistake, WrongKind, grade
from nn.exercises.result import Result

REVISIT = "notebook 03, section 5: a batch's loss is the mean of its examples' losses"


def _case(scores: Sequence[float], labels: Sequence[float]) -> Case:
    return Case(lambda: ([Value(s) for s in scores], list(labels)),
                f"scores = {list(scores)}, labels = {list(labels)}")


def _loss_and_gradients(answer: Any, args: tuple) -> tuple[float, ...]:
    if not isinstance(answer, Value):
        raise WrongKind(f"A loss must be a Value built from the scores, so that backward() "
                        f"reaches them; your function returned {type(answer).__name__}.")
    answer.backward()
    return (answer.data, *(s.grad for s in args[0]))


def _mean(terms: list[Value]) -> Value:
    return Value.sum(terms) / len(terms)


_HINGE_CASES = [_case([2.0], [1.0]), _case([0.5], [1.0]), _case([0.5, -2.0], [1.0, 1.0]),
                _case([0.3, 0.2, -0.4], [1.0, -1.0, -1.0])]
_HINGE_MISTAKES = [
    Mistake("the sum, not the mean", "You added the examples' losses up: the batch's loss is "
            "their mean, so that its size (and the step) does not grow with the batch.",
            REVISIT, lambda s, y: Value.sum([(1.0 - yi * si).relu() for si, yi in zip(s, y)])),
    Mistake("the margin forgotten", "You wrote max(0, -y s): that is zero as soon as the sign "
            "is right. The hinge asks for a margin: max(0, 1 - y s) is zero only once y s "
            "reaches 1.", REVISIT,
            lambda s, y: _mean([(-yi * si).relu() for si, yi in zip(s, y)])),
    Mistake("the label ignored", "You wrote max(0, 1 - s), as if every label were +1: multiply "
            "the score by its label, max(0, 1 - y s).", REVISIT,
            lambda s, y: _mean([(1.0 - si).relu() for si in s])),
]


def _grade_hinge(solution: Any) -> Result:
    return grade("hinge", solution, _HINGE_CASES, losses.hinge, _loss_and_gradients,
                 _HINGE_MISTAKES, REVISIT)


def _naive_bce(z: list[Value], y: list[float]) -> Value:
    return _mean([-(yi * zi.sigmoid().log() + (1.0 - yi) * (1.0 - zi.sigmoid()).log())
                  for zi, yi in zip(z, y)])


_BCE_CASES = [_case([0.5], [1.0]), _case([2.0], [0.0]), _case([1.0, -1.0], [1.0, 0.0]),
              _case([1000.0], [0.0]), _case([-1000.0], [1.0])]
_BCE_MISTAKES = [
    Mistake("not stable for large logits", "Right for small logits, but at a logit of ±1000 "
            "sigmoid(z) rounds to exactly 0 or 1 and log(0) fails. Write the loss with the "
            "logit itself: log(1 + e^z) - y z, computed as max(z, 0) - y z + "
            "log(1 + e^-|z|), which never overflows.", REVISIT, _naive_bce),
    Mistake("the sum, not the mean", "You added the examples' losses up: the batch's loss is "
            "their mean.", REVISIT,
            lambda z, y: _naive_bce(z, y) * len(z) if max(abs(v.data) for v in z) < 30
            else Value.sum([zi.softplus() - zi * yi for zi, yi in zip(z, y)])),
    Mistake("the sign", "Your loss is negative: the cross-entropy is minus the log of the "
            "probability given to the right class, -log p, which is never below 0.", REVISIT,
            lambda z, y: -losses.binary_cross_entropy_with_logits(z, y)),
]


def _grade_bce(solution: Any) -> Result:
    return grade("binary_cross_entropy", solution, _BCE_CASES,
                 losses.binary_cross_entropy_with_logits, _loss_and_gradients, _BCE_MISTAKES,
                 REVISIT)


register(Exercise(
    "hinge", "03_neuron_to_mlp.ipynb", "def hinge(scores, labels):",
    "Return the hinge loss of a batch as a Value: scores is a list of Values, labels a list "
    "of -1 and +1.",
    ("Each example's loss is max(0, 1 - label * score); relu() is that max.",
     "The batch's loss is the mean of the examples' losses.",
     "Build it from the score Values, so that backward() reaches them."), _grade_hinge))
register(Exercise(
    "binary_cross_entropy", "03_neuron_to_mlp.ipynb",
    "def binary_cross_entropy(logits, targets):",
    "Return the mean binary cross-entropy of a batch as a Value, from logits (a list of "
    "Values, the scores before the sigmoid) and targets 0 or 1; it must work for a logit of "
    "±1000 too.",
    ("For one example: -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))).",
     "That equals log(1 + e^z) - y z, with no sigmoid to round to 0 or 1.",
     "log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): z.relu() + ((-abs(z)).exp() + 1).log()."),
    _grade_bce))


REVISIT_08 = "notebook 03, cross-entropy with several classes: -log of the softmax of the target"


def _ce_case(logits: Sequence[float], target: int) -> Case:
    return Case(lambda: ([Value(z) for z in logits], target),
                f"logits = {list(logits)}, target = {target}")


def _naive_cross_entropy(z: list[Value], target: int) -> Value:
    exps = [zi.exp() for zi in z]
    return -(exps[target] / Value.sum(exps)).log()


_CE_CASES = [_ce_case([0.0, 0.0], 0), _ce_case([1.0, 2.0, 0.5], 1),
             _ce_case([2.0, -1.0, 0.5], 2), _ce_case([1000.0, 0.0], 0),
             _ce_case([0.0, 1000.0], 0)]
_CE_MISTAKES = [
    Mistake("not stable for large logits", "Right for small logits, but e^1000 overflows a "
            "float. Subtract the largest logit from all of them first: the softmax does not "
            "change, and the largest exponential is then e^0 = 1.", REVISIT_08,
            _naive_cross_entropy),
    Mistake("the sign", "Your loss is negative: it is minus the log of the probability of the "
            "target class, -log p, which is never below 0.", REVISIT_08,
            lambda z, t: -losses.cross_entropy(z, t)),
    Mistake("the log forgotten", "You returned minus the probability of the target class; "
            "the loss is minus its log, -log p, which grows without bound as p goes to 0.",
            REVISIT_08, lambda z, t: -(losses.cross_entropy(z, t) * -1.0).exp()),
]


def _grade_cross_entropy(solution: Any) -> Result:
    return grade("cross_entropy", solution, _CE_CASES, losses.cross_entropy,
                 _loss_and_gradients, _CE_MISTAKES, REVISIT_08)


register(Exercise(
    "cross_entropy", "08_digits.ipynb", "def cross_entropy(logits, target):",
    "Return the cross-entropy of one example as a Value: logits is a list of Values (one "
    "per class), target the index of the right class; it must work for logits of 1000 too.",
    ("The softmax turns logits into probabilities: p_i = e^z_i / sum_j e^z_j.",
     "The loss is -log p_target = log(sum_j e^z_j) - z_target.",
     "Subtract m = max(z) (as a number) from every logit before exp: "
     "log(sum_j e^(z_j - m)) + m - z_target."), _grade_cross_entropy))
