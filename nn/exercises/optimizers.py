"""Optimizer steps, checked against `nn.optim`: one parameter, one step at a time."""

from __future__ import annotations

from typing import Any

from autograd import Value
from nn import optim
from nn.exercises.catalogue import Exercise, register
from nn.exercises.grading import Case, Mistake, grade, numbers
from nn.exercises.result import Result

REVISIT = "notebook 04, section 2: the update moves each parameter against its gradient"
_CASES = [(1.0, 0.5, 0.1), (2.0, -1.0, 0.5), (-3.0, 4.0, 0.01), (0.0, 0.0, 1.0)]


def _case(data: float, grad: float, lr: float) -> Case:
    return Case(lambda: (data, grad, lr), f"data = {data:g}, grad = {grad:g}, lr = {lr:g}")


def _sgd(data: float, grad: float, lr: float) -> float:
    parameter = Value(data)
    parameter.grad = grad
    optim.SGD([parameter], lr=lr).step()
    return parameter.data


def _new_data(answer: Any, args: tuple) -> tuple[float, ...]:
    return numbers(answer, 1, "the parameter's new data")


_MISTAKES = [
    Mistake("the sign", "Your step goes up the gradient: it makes the loss larger. The "
            "gradient points uphill, so step against it: data - lr * grad.", REVISIT,
            lambda data, grad, lr: data + lr * grad),
    Mistake("the learning rate forgotten", "Your step is the whole gradient: multiply it by "
            "the learning rate, data - lr * grad.", REVISIT,
            lambda data, grad, lr: data - grad),
    Mistake("the gradient forgotten", "Your step is the same size whatever the gradient: it "
            "must be lr times the gradient, so that a flat loss gives no step.", REVISIT,
            lambda data, grad, lr: data - lr),
]


def _grade_sgd(solution: Any) -> Result:
    return grade("sgd_step", solution, [_case(*c) for c in _CASES], _sgd, _new_data,
                 _MISTAKES, REVISIT)


register(Exercise(
    "sgd_step", "04_training.ipynb", "def sgd_step(data, grad, lr):",
    "Return a parameter's new data after one step of plain gradient descent, as "
    "nn.optim.SGD makes it, given its data, its gradient and the learning rate.",
    ("The gradient points in the direction in which the loss grows fastest.",
     "Step against it, by the learning rate times the gradient.",
     "new data = data - lr * grad."), _grade_sgd))
