"""Learning-rate schedules: change an optimizer's `lr` as training goes on.

Call `scheduler.step()` once per epoch (or per step, as you choose), after
`optimizer.step()`. As in PyTorch, creating a scheduler counts as epoch 0 and
sets the optimizer's lr for it; `last_epoch` is the number of `step()` calls
since. The base learning rate is the optimizer's lr when the scheduler is made.

Each schedule is computed in closed form from the base learning rate and the
epoch, with the formulas of PyTorch's documentation. (PyTorch updates StepLR,
ExponentialLR and CosineAnnealingLR recursively from the current lr; the two
agree up to rounding, unless something else changes the lr in between.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

from nn import _checks as check
from nn.optim.optimizers import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR"]


def _non_negative(owner: str, name: str, value: Any) -> float:
    # As in PyTorch, only negatives (and nan) are refused: inf passes.
    return check.non_negative(owner, name, value, finite=False)


def _power(base: float, exponent: int) -> float:
    try:
        return base ** exponent
    except OverflowError:  # a growing schedule (gamma > 1) run for very long
        return math.inf


class LRScheduler:
    """What all schedules share; subclasses define `lr_at(base_lr, epoch)`.

    PyTorch keeps one base lr per parameter group, so `base_lrs` and
    `get_last_lr()` are lists; here they always have one element.
    """

    # The names of the subclass's settings, saved by state_dict().
    _settings: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer) -> None:
        # PyTorch's optimizers keep their learning rates the same way, so they can be scheduled too.
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(optimizer, Optimizer) and not (
                isinstance(groups, list) and groups
                and all(isinstance(g, dict) and "lr" in g for g in groups)):
            raise TypeError(f"{type(self).__name__}: optimizer must be an nn.optim optimizer "
                            f"(or one with param_groups, as PyTorch's), "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs: list[float] = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._last_lr: list[float] = []
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate at `epoch` (0 at creation) for a base learning rate `base_lr`."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's lr for it."""
        self.last_epoch += 1
        lrs = [self.lr_at(base, self.last_epoch) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    def get_last_lr(self) -> list[float]:
        """The learning rates the last `step()` (or the creation) set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's position and settings, as plain JSON-serializable data.

        As in PyTorch, the optimizer's own lr is saved by the optimizer's
        state_dict, not here.
        """
        saved = {name: getattr(self, name) for name in self._settings}
        saved.update(last_epoch=self.last_epoch, base_lrs=list(self.base_lrs),
                     last_lr=list(self._last_lr))
        return saved

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` saved (also after a JSON round trip)."""
        owner = f"{type(self).__name__}.load_state_dict"
        expected = {*self._settings, "last_epoch", "base_lrs", "last_lr"}
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            raise ValueError(f"{owner}: expected a dict with keys {sorted(expected)}")
        epoch = state_dict["last_epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"{owner}: last_epoch must be an int >= 0, got {epoch!r}")
        lists = {}
        for name in ("base_lrs", "last_lr"):
            values = state_dict[name]
            if not isinstance(values, list) or len(values) != len(self.optimizer.param_groups):
                raise ValueError(f"{owner}: {name} must be a list of "
                                 f"{len(self.optimizer.param_groups)} numbers, got {values!r}")
            lists[name] = [_non_negative(owner, f"{name}[{i}]", v) for i, v in enumerate(values)]
        self._set_settings(owner, {name: state_dict[name] for name in self._settings})
        self.last_epoch = epoch
        self.base_lrs = lists["base_lrs"]
        self._last_lr = lists["last_lr"]

    @staticmethod
    def _check_settings(owner: str, settings: dict[str, Any]) -> dict[str, Any]:
        return settings

    def _set_settings(self, owner: str, settings: dict[str, Any]) -> None:
        # All are checked before any is set, so a bad one leaves the schedule unchanged.
        for name, value in self._check_settings(owner, settings).items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        settings = "".join(f", {name}={getattr(self, name)!r}" for name in self._settings)
        return f"{type(self).__name__}(last_epoch={self.last_epoch}{settings})"


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): divide by 1/gamma every step_size epochs."""

    _settings = ("step_size", "gamma")
    step_size: int
    gamma: float

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self._set_settings(type(self).__name__, {"step_size": step_size, "gamma": gamma})
        super().__init__(optimizer)

    @staticmethod
    def _check_settings(owner: str, settings: dict[str, Any]) -> dict[str, Any]:
        return {"step_size": check.positive_int(owner, "step_size", settings["step_size"]),
                "gamma": _non_negative(owner, "gamma", settings["gamma"])}

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """base_lr * gamma ** (epoch // step_size)."""
        return base_lr * _power(self.gamma, epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch: multiply by gamma every epoch."""

    _settings = ("gamma",)
    gamma: float

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self._set_settings(type(self).__name__, {"gamma": gamma})
        super().__init__(optimizer)

    @staticmethod
    def _check_settings(owner: str, settings: dict[str, Any]) -> dict[str, Any]:
        return {"gamma": _non_negative(owner, "gamma", settings["gamma"])}

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """base_lr * gamma ** epoch."""
        return base_lr * _power(self.gamma, epoch)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from base_lr down to eta_min over T_max epochs.

    lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2. As in
    PyTorch there is no restart: past T_max the cosine goes on, back up to
    base_lr at 2 * T_max.
    """

    _settings = ("T_max", "eta_min")
    T_max: int
    eta_min: float

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self._set_settings(type(self).__name__, {"T_max": T_max, "eta_min": eta_min})
        super().__init__(optimizer)

    @staticmethod
    def _check_settings(owner: str, settings: dict[str, Any]) -> dict[str, Any]:
        return {"T_max": check.positive_int(owner, "T_max", settings["T_max"]),
                "eta_min": _non_negative(owner, "eta_min", settings["eta_min"])}

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2."""
        cosine = math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + cosine) / 2.0


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch), for any schedule written as a function.

    For example micrograd's demo schedule, 1.0 - 0.9 * k / 100 with base lr 1.0:
    `LambdaLR(optimizer, lambda k: 1.0 - 0.9 * k / 100)`. The function is not
    saved by `state_dict()`: pass the same one when restoring.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, "
                            f"got {type(lr_lambda).__name__}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """base_lr * lr_lambda(epoch)."""
        factor = self.lr_lambda(epoch)
        if isinstance(factor, bool) or not isinstance(factor, Real):
            raise TypeError(f"LambdaLR: lr_lambda({epoch}) must return a number, "
                            f"got {type(factor).__name__}")
        lr = base_lr * factor
        if not lr >= 0:
            raise ValueError(f"LambdaLR: lr_lambda({epoch}) returned {factor!r}, which makes "
                             f"the learning rate {lr!r}; it must be >= 0")
        return float(lr)
