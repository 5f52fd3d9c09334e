"""Grading a solution on cases, smallest first, and naming the mistake its answers match.

A check runs the learner's function on a short list of cases chosen to tell the
known mistakes apart, and compares its answers with the right ones, computed by
the engine and `nn` themselves. When the answers are wrong, it runs a model of
every catalogued mistake on the same cases: the mistake whose answers agree with
the learner's on every case is the one named. Either way the first failing case,
the smallest, is shown with both answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nn.exercises.result import FAILED, NOT_ATTEMPTED, PASSED, Result


@dataclass(frozen=True)
class Mistake:
    """A catalogued misconception: its name, what a teacher says about it, and a model of it.

    model: a function with the solution's signature that computes what a solution
    making this mistake computes, so answers can be compared with it.
    """

    name: str
    message: str
    revisit: str
    model: Callable[..., Any]


@dataclass(frozen=True)
class Case:
    """One input: `make()` builds fresh arguments for the solution; `shown` describes them."""

    make: Callable[[], tuple]
    shown: str


class WrongKind(Exception):
    """The answer is not even of the right kind (None, a string, a list of the wrong length)."""


Answer = tuple[float, ...]
# An outcome is the answer as numbers, or the text of the exception the solution raised.
Outcome = Answer | str


def not_attempted(exercise: str) -> Result:
    return Result(exercise, NOT_ATTEMPTED, "Replace the placeholder (the line that raises "
                  "NotImplementedError) with your code, then run the check again.")


def numbers(answer: Any, count: int, what: str) -> Answer:
    """`answer` (a number or a sequence of `count` numbers) as a tuple of floats, or WrongKind."""
    if answer is None:
        raise WrongKind(f"Your function returned None: it computes {what} but never "
                        "`return`s it.")
    items = answer if isinstance(answer, (tuple, list)) else (answer,)
    if len(items) != count:
        raise WrongKind(f"{what} is {count} number{'s' if count > 1 else ''}, but your "
                        f"function returned {len(items)}.")
    result = []
    for item in items:
        data = getattr(item, "data", item)
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise WrongKind(f"{what} must be made of numbers, but your function returned a "
                            f"{type(item).__name__}.")
        result.append(float(data))
    return tuple(result)


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def same(a: Outcome, b: Outcome) -> bool:
    """Whether two outcomes agree: both raised, or both gave the same numbers."""
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str)
    return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))


def shown(outcome: Outcome) -> str:
    if isinstance(outcome, str):
        return outcome
    text = ", ".join(f"{x:.6g}" for x in outcome)
    return text if len(outcome) == 1 else f"({text})"


def outcome_of(function: Callable[..., Any], case: Case,
               normalize: Callable[[Any, tuple], Answer]) -> Outcome:
    """What `function` gives on `case`: its answer as numbers, or the exception it raised.

    A non-finite number counts as a failure to compute, like an exception.
    NotImplementedError and WrongKind pass through.
    """
    args = case.make()
    try:
        answer = normalize(function(*args), args)
    except (NotImplementedError, WrongKind):
        raise
    except Exception as error:   # the learner's code may raise anything; it is reported
        return f"it raised {type(error).__name__}: {error}"
    if not all(math.isfinite(x) for x in answer):
        return f"a number that is not finite: {shown(answer)}"
    return answer


def grade(exercise: str, solution: Any, cases: Sequence[Case], expected: Callable[..., Any],
          normalize: Callable[[Any, tuple], Answer], mistakes: Sequence[Mistake],
          revisit: str) -> Result:
    """Run `solution` on `cases`; passed, or the first failing case with the mistake it shows."""
    if not callable(solution):
        raise TypeError(f"check({exercise!r}, solution): solution must be a function, "
                        f"got {type(solution).__name__}")
    mine: list[Outcome] = []
    for case in cases:
        try:
            mine.append(outcome_of(solution, case, normalize))
        except NotImplementedError:
            return not_attempted(exercise)
        except WrongKind as wrong:
            return Result(exercise, FAILED, str(wrong), example=case.shown, revisit=revisit)
    right = [outcome_of(expected, case, normalize) for case in cases]
    failing = [i for i, (m, r) in enumerate(zip(mine, right)) if not same(m, r)]
    if not failing:
        return Result(exercise, PASSED, f"Right on all {len(cases)} cases.")
    first = failing[0]
    details = dict(example=cases[first].shown, expected=shown(right[first]),
                   got=shown(mine[first]))
    for mistake in mistakes:
        if all(same(m, outcome_of(mistake.model, case, normalize))
               for m, case in zip(mine, cases)):
            return Result(exercise, FAILED, mistake.message, mistake=mistake.name,
                          revisit=mistake.revisit, **details)
    return Result(exercise, FAILED, f"Wrong on {len(failing)} of {len(cases)} cases; this is "
                  "not one of the mistakes I know, so compare the two answers below.",
                  revisit=revisit, **details)
