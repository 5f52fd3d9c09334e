"""nn's shared argument checks: the error types, and messages naming owner, argument and value."""

import math
import random

import pytest

from autograd import Value
from nn import Neuron, fit, optim
from nn import _checks as check


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: check.positive_int("f", "n", 0), ValueError, "f: n must be at least 1, got 0"),
    (lambda: check.positive_int("f", "n", 2.0), TypeError, "f: n must be an int, got float"),
    (lambda: check.positive_int("f", "n", True), TypeError, "f: n must be an int, got bool"),
    (lambda: check.real("f", "x", "1"), TypeError, "f: x must be a number, got str"),
    (lambda: check.real("f", "x", False), TypeError, "f: x must be a number, got bool"),
    (lambda: check.real("f", "x", math.inf), ValueError, "f: x must be finite, got inf"),
    (lambda: check.non_negative("f", "x", -0.5), ValueError,
     "f: x must be a finite number >= 0, got -0.5"),
    (lambda: check.non_negative("f", "x", math.inf), ValueError,
     "f: x must be a finite number >= 0, got inf"),
    (lambda: check.non_negative("f", "x", math.nan, finite=False), ValueError,
     "f: x must be a number >= 0, got nan"),
    (lambda: check.in_unit_interval("f", "p", 1.5), ValueError,
     r"f: p must be in \[0, 1\], got 1.5"),
    (lambda: check.in_unit_interval("f", "p", 1.0, include_one=False), ValueError,
     r"f: p must be in \[0, 1\), got 1.0"),
    (lambda: check.in_unit_interval("f", "p", math.nan), ValueError, "got nan"),
    (lambda: check.flag("f", "on", 1), TypeError, "f: on must be True or False, got 1"),
    (lambda: check.samples("f", "ab", [0, 1]), TypeError, "f: X must be a list, got str"),
    (lambda: check.samples("f", [[0.0]], [0, 1]), ValueError,
     "f: X has 1 samples but y has 2 labels"),
    (lambda: check.samples("f", [], []), ValueError, "f: X and y are empty"),
    (lambda: check.rng("f", 1.5), TypeError,
     "f: seed must be an int, a random.Random or None, got float"),
])
def test_each_check_names_owner_argument_and_value(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_checked_values_come_back_converted():
    assert check.positive_int("f", "n", 3) == 3
    assert check.real("f", "x", 2) == 2.0 and isinstance(check.real("f", "x", 2), float)
    assert check.real("f", "x", math.inf, finite=False) == math.inf
    assert check.non_negative("f", "x", math.inf, finite=False) == math.inf
    assert check.in_unit_interval("f", "p", 1) == 1.0
    assert check.samples("f", [[0.0], [1.0]], (0, 1)) == 2
    generator = random.Random(0)
    assert check.rng("f", generator) is generator
    assert check.rng("f", 7).random() == random.Random(7).random()


def test_optimizers_allow_what_pytorch_allows_and_fit_does_not():
    # torch.optim accepts an infinite learning rate and refuses only negatives and nan.
    assert optim.SGD([Value(0.0)], lr=math.inf).lr == math.inf
    with pytest.raises(ValueError, match="SGD: lr must be a number >= 0, got nan"):
        optim.SGD([Value(0.0)], lr=math.nan)
    with pytest.raises(ValueError, match="fit: lr must be a finite number >= 0, got inf"):
        fit(Neuron(1, seed=0), [[0.0]], [1], lr=math.inf, progress=False)
