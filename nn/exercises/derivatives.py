"""Local derivatives: the slope of one operation, from its input x and its output out."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from autograd import Value
from nn.exercises.catalogue import Exercise, register
from nn.exercises.grading import Case, Mistake, grade, numbers
from nn.exercises.result import Result

REVISIT = ("the local derivative: how much an operation's output moves per unit nudge of "
           "its input, at this input (notebook 01, section 1)")


def _slope(answer: Any, args: tuple) -> tuple[float, ...]:
    return numbers(answer, 1, "the local derivative")


def _unary(op: str, xs: Sequence[float]) -> tuple[list[Case], Callable[..., float]]:
    """Cases (x, out) with out = op(x), and the engine's own local derivative."""
    def case(x: float) -> Case:
        out = getattr(Value(x), op)().data
        return Case(lambda: (x, out), f"x = {x:g}, out = {op}({x:g}) = {out:.6g}")

    def expected(x: float, out: float) -> float:
        return getattr(Value(x), op)().local_grads[0]
    return [case(x) for x in xs], expected


def _register_unary(name: str, op: str, xs: Sequence[float], mistakes: Sequence[Mistake],
                    task: str, hints: tuple[str, ...]) -> None:
    cases, expected = _unary(op, xs)

    def grade_it(solution: Any) -> Result:
        return grade(name, solution, cases, expected, _slope, mistakes, REVISIT)
    register(Exercise(name, _NOTEBOOK[name], f"def {name}(x, out):", task, hints, grade_it))


_NOTEBOOK = {"tanh_derivative": "02_one_neuron.ipynb", "log_derivative": "01_chain_rule.ipynb",
             "power_derivative": "01_chain_rule.ipynb",
             "sigmoid_derivative": "06_activations.ipynb",
             "relu_derivative": "06_activations.ipynb"}

_X_FOR_OUT = "x where out is meant"
_SIGN = "the sign"

_register_unary(
    "tanh_derivative", "tanh", [0.0, 0.5, -1.0, 2.0],
    [Mistake(_X_FOR_OUT, "You wrote 1 - x² where the rule is 1 - out², out = tanh(x): the "
             "slope is written with the output, not the input.", REVISIT,
             lambda x, out: 1.0 - x * x),
     Mistake(_SIGN, "Your slope has the wrong sign: tanh rises everywhere, so its derivative "
             "is positive everywhere (1 - out², between 0 and 1).", REVISIT,
             lambda x, out: out * out - 1.0),
     Mistake("the square forgotten", "You wrote 1 - out; the rule is 1 - out², the output "
             "squared.", REVISIT, lambda x, out: 1.0 - out)],
    "Return d out/dx for out = tanh(x), given x and out.",
    ("The derivative of tanh can be written with its output alone.",
     "d tanh(x)/dx = 1 - tanh(x)²; you already have tanh(x): it is `out`.",
     "At x = 0 the slope is 1, and it falls towards 0 as |x| grows."))

_register_unary(
    "sigmoid_derivative", "sigmoid", [0.0, 1.0, -2.0, 3.0],
    [Mistake(_X_FOR_OUT, "You wrote x (1 - x) where the rule is out (1 - out), out = "
             "sigmoid(x): the slope is written with the output, not the input.", REVISIT,
             lambda x, out: x * (1.0 - x)),
     Mistake(_SIGN, "Your slope has the wrong sign: the sigmoid rises everywhere, so its "
             "derivative out (1 - out) is positive.", REVISIT,
             lambda x, out: out * (out - 1.0)),
     Mistake("a factor forgotten", "You kept only one factor of out (1 - out): both are "
             "needed.", REVISIT, lambda x, out: 1.0 - out)],
    "Return d out/dx for out = sigmoid(x) = 1 / (1 + e^-x), given x and out.",
    ("Like tanh, the sigmoid's derivative can be written with its output alone.",
     "d sigmoid(x)/dx = sigmoid(x) (1 - sigmoid(x)).",
     "At x = 0 the output is 0.5 and the slope is 0.25, its largest value."))

_register_unary(
    "log_derivative", "log", [1.0, 2.0, 0.5, 10.0],
    [Mistake("out where x is meant", "You divided by out = log(x); the rule is 1 / x, one "
             "over the input.", REVISIT, lambda x, out: 1.0 / out),
     Mistake(_SIGN, "Your slope has the wrong sign: log rises for every x > 0, so 1 / x is "
             "positive.", REVISIT, lambda x, out: -1.0 / x),
     Mistake("the function, not its slope", "You returned log(x) itself: that is exp's rule "
             "(its derivative is itself), not log's, which is 1 / x.", REVISIT,
             lambda x, out: out)],
    "Return d out/dx for out = log(x) (x > 0), given x and out.",
    ("log is the inverse of exp.", "d log(x)/dx = 1 / x.",
     "At x = 1 the slope is 1; it gets smaller as x grows."))


def _relu_step_at_zero(x: float, out: float) -> float:
    return 1.0 if x >= 0.0 else 0.0


_register_unary(
    "relu_derivative", "relu", [0.0, 1.0, -1.0, 2.5, -0.5],
    [Mistake("the output instead of the slope", "You returned out = relu(x), the output; the "
             "slope of relu is 1 where x > 0 and 0 elsewhere.", REVISIT, lambda x, out: out),
     Mistake("x instead of the slope", "You returned x; the slope of relu is a step, 1 where "
             "x > 0 and 0 elsewhere, not the input itself.", REVISIT, lambda x, out: x),
     Mistake(_SIGN, "Your step points the wrong way: relu passes positive inputs, so the "
             "slope is 1 for x > 0 and 0 for x < 0.", REVISIT,
             lambda x, out: 1.0 if x < 0.0 else 0.0),
     Mistake("the value at 0", "Right except at x = 0, where you gave 1. relu has a kink "
             "there; the convention (this engine's and PyTorch's) is slope 0 at 0, so a unit "
             "that outputs exactly 0 passes no gradient.", REVISIT, _relu_step_at_zero)],
    "Return d out/dx for out = relu(x) = max(0, x), given x and out.",
    ("relu is a straight line of slope 1 on one side of 0 and flat on the other.",
     "The slope is 1 where x > 0 and 0 where x < 0.",
     "At exactly x = 0, use 0 (the engine's and PyTorch's convention)."))


def _power_cases() -> list[Case]:
    pairs = [(0.0, 2.0), (2.0, 3.0), (-1.5, 2.0), (3.0, -1.0), (4.0, 0.5)]
    def case(x: float, n: float) -> Case:
        out = math.pow(x, n)
        return Case(lambda: (x, n, out), f"x = {x:g}, n = {n:g}, out = x ** n = {out:.6g}")
    return [case(x, n) for x, n in pairs]


def _power_expected(x: float, n: float, out: float) -> float:
    return (Value(x) ** n).local_grads[0]


_POWER_MISTAKES = [
    Mistake("n forgotten", "You lowered the exponent but forgot to multiply by it: "
            "d x^n/dx = n x^(n-1).", REVISIT, lambda x, n, out: math.pow(x, n - 1.0)),
    Mistake("the exponent not lowered", "You multiplied by n but kept the exponent n: the "
            "power rule lowers it by one, n x^(n-1).", REVISIT,
            lambda x, n, out: n * math.pow(x, n)),
    Mistake("the value at 0", "You wrote n out / x, which equals n x^(n-1) everywhere except "
            "at x = 0, where it divides by zero; write n x^(n-1), which is 0 there for n > 1.",
            REVISIT, lambda x, n, out: n * out / x),
]


def _grade_power(solution: Any) -> Result:
    return grade("power_derivative", solution, _power_cases(), _power_expected, _slope,
                 _POWER_MISTAKES, REVISIT)


register(Exercise(
    "power_derivative", _NOTEBOOK["power_derivative"], "def power_derivative(x, n, out):",
    "Return d out/dx for out = x ** n (n a number, not a Value), given x, n and out.",
    ("This is the power rule.", "d x^n/dx = n x^(n-1).",
     "Check it at x = 0, n = 2: the parabola is flat at its bottom, slope 0."), _grade_power))
