"""Argument checks shared by the nn package.

Each check takes the name of the function or class being called (`owner`) and
the argument's name, and raises TypeError for a value of the wrong kind or
ValueError for one out of range, with a message naming both and the value.
bool is refused wherever a number is expected: True is an int to Python, but
never a sensible count or rate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any


def positive_int(owner: str, name: str, value: Any) -> int:
    """An int >= 1, such as a count or a size."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be at least 1, got {value!r}")
    return int(value)


def real(owner: str, name: str, value: Any, finite: bool = True) -> float:
    """A real number as a float; inf and nan are refused when `finite`."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float, such as 10**400
        raise ValueError(f"{owner}: {name} is too large for a float "
                         f"(about 10**{int(math.log10(abs(value)))})") from None
    if finite and not math.isfinite(number):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    return number


def non_negative(owner: str, name: str, value: Any, finite: bool = True) -> float:
    """A number >= 0 as a float; nan is always refused, inf only when `finite`."""
    number = real(owner, name, value, finite=False)
    # Written so that nan, for which every comparison is false, fails too.
    if not (number >= 0.0 and (math.isfinite(number) or not finite)):
        kind = "a finite number" if finite else "a number"
        raise ValueError(f"{owner}: {name} must be {kind} >= 0, got {value!r}")
    return number


def in_unit_interval(owner: str, name: str, value: Any, include_one: bool = True) -> float:
    """A number in [0, 1] as a float, or in [0, 1) without `include_one`."""
    number = real(owner, name, value, finite=False)
    inside = 0.0 <= number <= 1.0 if include_one else 0.0 <= number < 1.0
    if not inside:
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise ValueError(f"{owner}: {name} must be in {interval}, got {value!r}")
    return number


def flag(owner: str, name: str, value: Any) -> bool:
    """True or False, and not merely something truthy such as 1 or "no"."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return value


def samples(owner: str, X: Any, y: Any) -> int:
    """The number of samples in lists `X` and `y`, which must be equally long and not empty."""
    for name, data in (("X", X), ("y", y)):
        # Lists, tuples, and arrays such as numpy's (indexable, with a length).
        if isinstance(data, (str, bytes, Mapping)) or not (
                isinstance(data, Sequence)
                or hasattr(data, "__len__") and hasattr(data, "__getitem__")):
            raise TypeError(f"{owner}: {name} must be a list, got {type(data).__name__}")
    if len(X) != len(y):
        raise ValueError(f"{owner}: X has {len(X)} samples but y has {len(y)} labels")
    if len(X) == 0:
        raise ValueError(f"{owner}: X and y are empty")
    return len(X)


def rng(owner: str, seed: Any) -> random.Random:
    """A generator from `seed`: an int seeds a new one, a Random is used as is, None is fresh."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{owner}: seed must be an int, a random.Random or None, "
                        f"got {type(seed).__name__}")
    return random.Random(seed)
