"""Exercises that name the mistake: write a piece of the engine, and a check says whether it
is right, or which misconception the answer shows, on the smallest input that shows it.

    import nn.exercises as ex
    def tanh_derivative(x, out):
        return 1 - out ** 2
    ex.check("tanh_derivative", tanh_derivative)   # passed, or the mistake in words
    ex.hint("tanh_derivative")                     # one hint at a time

`exercises()` lists them all with the notebook that teaches each.
"""

from __future__ import annotations

from typing import Any

from nn.exercises import (  # noqa: F401  (each module registers its exercises)
    backward,
    derivatives,
    losses,
    optimizers,
    tensors,
)
from nn.exercises.catalogue import EXERCISES, Exercise
from nn.exercises.result import Hint, Result

__all__ = ["EXERCISES", "Exercise", "Hint", "Result", "check", "exercises", "hint"]

_hints_shown: dict[str, int] = {}


def _exercise(name: Any, where: str) -> Exercise:
    if not isinstance(name, str):
        raise TypeError(f"{where}: name must be a string, got {type(name).__name__}")
    if name not in EXERCISES:
        raise ValueError(f"{where}: no exercise called {name!r}; there are: "
                         f"{', '.join(EXERCISES)}")
    return EXERCISES[name]


def check(name: str, solution: Any) -> Result:
    """Grade `solution` for the exercise `name`: passed, not attempted yet, or the mistake."""
    return _exercise(name, "check").grade(solution)


def hint(name: str) -> Hint:
    """The next hint for exercise `name` (each call gives one more, then the last again)."""
    exercise = _exercise(name, "hint")
    number = min(_hints_shown.get(name, 0) + 1, len(exercise.hints))
    _hints_shown[name] = number
    return Hint(name, number, len(exercise.hints), exercise.hints[number - 1])


def exercises() -> list[Exercise]:
    """Every exercise, in the order of the notebooks."""
    return sorted(EXERCISES.values(), key=lambda e: e.notebook)
