"""A layer's backward pass written with whole arrays: what PyTorch does with tensors."""

from __future__ import annotations

from typing import Any

from autograd import Value
from nn.exercises.catalogue import Exercise, register
from nn.exercises.grading import Case, Mistake, WrongKind, grade
from nn.exercises.result import Result

REVISIT = ("notebook 09: a layer out = W x is each neuron's dot product; its gradients "
           "are the same chain rule, written for all neurons at once")

Matrix = list[list[float]]


def _case(W: Matrix, x: list[float], g: list[float]) -> Case:
    return Case(lambda: ([row[:] for row in W], x[:], g[:]),
                f"W = {W}, x = {x}, grad_out = {g}")


def _flat(answer: Any, args: tuple) -> tuple[float, ...]:
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise WrongKind("linear_backward must return two things: dW (a list of rows) and dx "
                        "(a list).")
    numbers: list[float] = []
    for item in (*answer[0], answer[1]):
        for value in (item if isinstance(item, (tuple, list)) else [item]):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise WrongKind(f"dW and dx must hold numbers, got {type(value).__name__}.")
            numbers.append(float(value))
    return tuple(numbers)


def _engine(W: Matrix, x: list[float], g: list[float]) -> tuple[Matrix, list[float]]:
    weights = [[Value(w) for w in row] for row in W]
    inputs = [Value(v) for v in x]
    outs = [Value.dot(row, inputs) for row in weights]
    Value.dot(outs, [Value(gi) for gi in g]).backward()
    return [[w.grad for w in row] for row in weights], [v.grad for v in inputs]


_MISTAKES = [
    Mistake("dW transposed", "Your dW has a row per input; it needs a row per output, like W: "
            "dW[i][j] = grad_out[i] * x[j] (the outer product grad_out x^T).", REVISIT,
            lambda W, x, g: ([[x[j] * g[i] for i in range(len(g))] for j in range(len(x))],
                             [sum(W[i][j] * g[i] for i in range(len(g)))
                              for j in range(len(x))])),
    Mistake("W not transposed for dx", "Each input feeds every output, so dx[j] sums "
            "W[i][j] * grad_out[i] over the outputs i: dx = W^T grad_out, with W transposed.",
            REVISIT,
            lambda W, x, g: ([[g[i] * x[j] for j in range(len(x))] for i in range(len(g))],
                             [sum(W[j][i] * g[i] for i in range(len(g)))
                              for j in range(len(x))])),
    Mistake("only one output's gradient in dx", "Your dx takes only the first output into "
            "account; an input used by every neuron collects all their gradients: sum over i.",
            REVISIT,
            lambda W, x, g: ([[g[i] * x[j] for j in range(len(x))] for i in range(len(g))],
                             [W[0][j] * g[0] for j in range(len(x))])),
]

_CASES = [_case([[2.0]], [3.0], [1.0]), _case([[1.0, 2.0], [3.0, 4.0]], [0.5, -1.0], [1.0, 2.0]),
          _case([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]], [1.0, 2.0, 3.0], [0.5, -1.0]),
          _case([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]], [2.0, -2.0], [1.0, 0.5, -1.0])]


def _grade(solution: Any) -> Result:
    return grade("linear_backward", solution, _CASES, _engine, _flat, _MISTAKES, REVISIT)


register(Exercise(
    "linear_backward", "09_scalars_to_tensors.ipynb", "def linear_backward(W, x, grad_out):",
    "For a layer out = W x (W a list of rows, one per output; no bias), given the loss's "
    "gradient grad_out with respect to out, return (dW, dx): the gradients with respect to "
    "W (same shape as W) and to x.",
    ("out[i] = sum_j W[i][j] x[j]; d out[i] / d W[i][j] = x[j].",
     "dW[i][j] = grad_out[i] * x[j]: one row per output.",
     "dx[j] = sum_i W[i][j] * grad_out[i]: W transposed times grad_out."), _grade))
