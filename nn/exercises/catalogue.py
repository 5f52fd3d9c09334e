"""The catalogue: every exercise, the notebook whose lesson it checks, its task and hints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nn.exercises.result import Result


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    name: what `check(name, solution)` takes. notebook: where it is taught.
    signature: the function the learner writes, as its `def` line.
    task: what to do, in a sentence or two. hints: shown one at a time.
    grade: grades a solution.
    """

    name: str
    notebook: str
    signature: str
    task: str
    hints: tuple[str, ...]
    grade: Callable[[Any], Result]


EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add `exercise` to the catalogue (its name must be new)."""
    if exercise.name in EXERCISES:
        raise ValueError(f"exercise {exercise.name!r} is catalogued twice")
    EXERCISES[exercise.name] = exercise
    return exercise
