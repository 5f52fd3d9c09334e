"""The optimizers, rules that move each parameter against its gradient, and their names.

Each class is the algorithm that PyTorch's `torch.optim` documentation writes
out, with the same argument names and defaults, so that fed the same gradients
the parameters follow the same path (to rounding). A parameter is any object
with a float `.data` and a float `.grad`, such as an engine `Value`.

The usual loop::

    optimizer = Adam(model.parameters(), lr=0.01)
    for step in range(100):
        optimizer.zero_grad()
        loss = ...
        loss.backward()
        optimizer.step()

Hyper-parameters live in one dict, `optimizer.param_groups[0]`, as in PyTorch
(which allows several groups; here there is always exactly one). `optimizer.lr`
reads and writes its "lr" entry, which is what the schedulers of
`nn.optim.lr_scheduler` change. Per-parameter state (momentum buffers, moment
estimates) is `optimizer.state[i]` for `optimizer.params[i]`.

`OPTIMIZERS` maps the names that `nn.fit` and the `valuegrad` command accept
to an optimizer class and the settings that name fixes ("momentum" is SGD with
momentum 0.9); it is the one list of those names.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from autograd import Value
from nn import _checks as check

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "OptimizerPreset",
           "OPTIMIZERS", "make_optimizer"]


# --- checking arguments -----------------------------------------------------

def _non_negative(owner: str, name: str, value: Any) -> float:
    # As in PyTorch, only negatives (and nan) are refused: inf passes.
    return check.non_negative(owner, name, value, finite=False)


def _betas(owner: str, value: Any) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{owner}: betas must be a pair of numbers, got {type(value).__name__}")
    pair = tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{owner}: betas must be a pair of numbers, got {len(pair)} values")
    return (check.in_unit_interval(owner, "betas[0]", pair[0], include_one=False),
            check.in_unit_interval(owner, "betas[1]", pair[1], include_one=False))


def _parameter_list(owner: str, params: Any) -> list[Value]:
    if isinstance(params, (str, bytes, dict)) or not isinstance(params, Iterable):
        raise TypeError(f"{owner}: params must be an iterable of parameters (objects with "
                        f".data and .grad), got {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError(f"{owner}: params is empty; there is nothing to optimize")
    first: dict[int, int] = {}  # id of a parameter -> where it first appears
    for i, p in enumerate(params):
        if not (hasattr(p, "data") and hasattr(p, "grad")):
            hint = " (parameter groups are not supported)" if isinstance(p, dict) else ""
            raise TypeError(f"{owner}: params[{i}] must have .data and .grad, "
                            f"got {type(p).__name__}{hint}")
        if id(p) in first:
            raise ValueError(f"{owner}: params[{i}] appears more than once: it is the same "
                             f"parameter as params[{first[id(p)]}] (a weight shared between "
                             f"layers?); "
                             f"list it once, or it would be updated twice per step "
                             f"(a Module's parameters() lists a shared one once)")
        first[id(p)] = i
    return params


def _divide(numerator: float, denominator: float) -> float:
    # The denominators here are sqrt(...) + eps >= 0; with eps = 0 they can be
    # 0, where float division should give inf or nan (as in PyTorch), not raise.
    if denominator == 0.0:
        if numerator == 0.0 or math.isnan(numerator):
            return math.nan
        return math.copysign(math.inf, numerator)
    return numerator / denominator


# --- the base class ---------------------------------------------------------

class Optimizer:
    """What all optimizers share: parameters, hyper-parameters, state, `zero_grad`, saving.

    Subclasses define `_checked(hyperparameters)`, which validates and returns
    the hyper-parameters, `_state_names(group)`, the names of a parameter's
    state once it has taken a step, and `step()`.
    """

    def __init__(self, params: Iterable[Value], hyperparameters: dict[str, Any]) -> None:
        params = _parameter_list(type(self).__name__, params)
        group = self._checked(hyperparameters)
        group["params"] = params
        self.param_groups: list[dict[str, Any]] = [group]
        self.state: list[dict[str, float]] = [{} for _ in params]

    def _checked(self, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _state_names(self, group: dict[str, Any]) -> set[str]:
        raise NotImplementedError

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        raise NotImplementedError

    @property
    def params(self) -> list[Value]:
        """The parameters, in the order given."""
        return self.param_groups[0]["params"]

    @property
    def lr(self) -> float:
        """The learning rate (the "lr" entry of `param_groups[0]`)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        self.param_groups[0]["lr"] = _non_negative(type(self).__name__, "lr", value)

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to 0.0, ready for the next backward pass."""
        for p in self.params:
            p.grad = 0.0

    def _hyperparameters(self) -> dict[str, Any]:
        return {k: v for k, v in self.param_groups[0].items() if k != "params"}

    def state_dict(self) -> dict[str, Any]:
        """The hyper-parameters and per-parameter state, as plain JSON-serializable data.

        Shaped like PyTorch's: {"state": {index: {name: number}}, "param_groups":
        [{hyper-parameters..., "params": [0, 1, ...]}]}, where index is the
        parameter's position. Only parameters that have state are listed.
        """
        group = {k: list(v) if isinstance(v, tuple) else v
                 for k, v in self._hyperparameters().items()}
        group["params"] = list(range(len(self.params)))
        state = {i: dict(s) for i, s in enumerate(self.state) if s}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` saved (also after a JSON round trip).

        The optimizer must be of the same kind and hold the same number of
        parameters; they are matched by position.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{owner}: expected a dict with keys 'state' and 'param_groups'")
        groups = state_dict["param_groups"]
        if not isinstance(groups, list) or len(groups) != 1 or not isinstance(groups[0], dict):
            raise ValueError(f"{owner}: 'param_groups' must be a list of one dict")
        saved = dict(groups[0])
        indices = saved.pop("params", None)
        n = len(self.params)
        if indices != list(range(n)):
            count = len(indices) if isinstance(indices, list) else "?"
            raise ValueError(f"{owner}: the saved state is for {count} parameters, "
                             f"this optimizer has {n}")
        if set(saved) != set(self._hyperparameters()):
            raise ValueError(f"{owner}: the saved hyper-parameters {sorted(saved)} are not "
                             f"those of {type(self).__name__}: {sorted(self._hyperparameters())}")
        group = self._checked(saved)
        expected_names = self._state_names(group)
        saved_state = state_dict["state"]
        if not isinstance(saved_state, dict):
            raise ValueError(f"{owner}: 'state' must be a dict")
        state: list[dict[str, float]] = [{} for _ in range(n)]
        for key, entry in saved_state.items():
            # JSON turns the integer keys into strings.
            index = int(key) if isinstance(key, str) and key.isdigit() else key
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                raise ValueError(f"{owner}: state key {key!r} is not a parameter index 0..{n - 1}")
            if not isinstance(entry, dict) or (entry and set(entry) != expected_names):
                raise ValueError(f"{owner}: state[{key!r}] must be a dict with keys "
                                 f"{sorted(expected_names)}")
            for name, value in entry.items():
                if name == "step":
                    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                        raise ValueError(f"{owner}: state[{key!r}]['step'] must be an int >= 1, "
                                         f"got {value!r}")
                else:
                    check.real(owner, f"state[{key!r}][{name!r}]", value, finite=False)
            state[index] = {name: value if name == "step" else float(value)
                            for name, value in entry.items()}
        group["params"] = self.params
        self.param_groups = [group]
        self.state = state

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._hyperparameters().items())
        return f"{type(self).__name__}({settings}; {len(self.params)} parameters)"


# --- the algorithms ---------------------------------------------------------
# Each step() follows the pseudo-code of PyTorch's documentation line by line;
# the comments name its symbols (g_t, b_t, m_t, ...).

class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, Nesterov momentum and weight decay.

    Per parameter, with g the gradient: g += weight_decay * theta; with momentum
    mu: b = g on the first step, else b = mu * b + (1 - dampening) * g, and
    g = g + mu * b (Nesterov) or g = b; then theta -= lr * g.
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _checked(self, h: dict[str, Any]) -> dict[str, Any]:
        o = type(self).__name__
        group = dict(lr=_non_negative(o, "lr", h["lr"]),
                     momentum=_non_negative(o, "momentum", h["momentum"]),
                     dampening=check.real(o, "dampening", h["dampening"], finite=False),
                     weight_decay=_non_negative(o, "weight_decay", h["weight_decay"]),
                     nesterov=check.flag(o, "nesterov", h["nesterov"]),
                     maximize=check.flag(o, "maximize", h["maximize"]))
        if group["nesterov"] and (group["momentum"] <= 0.0 or group["dampening"] != 0.0):
            raise ValueError(f"{o}: nesterov=True needs momentum > 0 and dampening == 0, got "
                             f"momentum={h['momentum']!r}, dampening={h['dampening']!r}")
        return group

    def _state_names(self, group: dict[str, Any]) -> set[str]:
        return {"momentum_buffer"} if group["momentum"] != 0.0 else set()

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        group = self.param_groups[0]
        lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        for p, state in zip(group["params"], self.state):
            g = -p.grad if group["maximize"] else p.grad
            if weight_decay != 0.0:
                g = g + weight_decay * p.data
            if mu != 0.0:
                if "momentum_buffer" in state:  # t > 1
                    b = mu * state["momentum_buffer"] + (1.0 - tau) * g
                else:
                    b = g
                state["momentum_buffer"] = b
                g = g + mu * b if nesterov else b
            p.data = p.data - lr * g


class Adam(Optimizer):
    """Adam: steps scaled by running averages of the gradient and of its square.

    Per parameter at step t: g += weight_decay * theta; m = beta1 m + (1 - beta1) g;
    v = beta2 v + (1 - beta2) g^2; m_hat = m / (1 - beta1^t); v_hat = v / (1 - beta2^t)
    (with amsgrad, v_hat uses the largest v so far); theta -= lr m_hat / (sqrt(v_hat) + eps).
    """

    _decoupled_weight_decay = False

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _checked(self, h: dict[str, Any]) -> dict[str, Any]:
        o = type(self).__name__
        return dict(lr=_non_negative(o, "lr", h["lr"]),
                    betas=_betas(o, h["betas"]),
                    eps=_non_negative(o, "eps", h["eps"]),
                    weight_decay=_non_negative(o, "weight_decay", h["weight_decay"]),
                    amsgrad=check.flag(o, "amsgrad", h["amsgrad"]),
                    maximize=check.flag(o, "maximize", h["maximize"]))

    def _state_names(self, group: dict[str, Any]) -> set[str]:
        names = {"step", "exp_avg", "exp_avg_sq"}
        return names | {"max_exp_avg_sq"} if group["amsgrad"] else names

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        group = self.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        for p, state in zip(group["params"], self.state):
            g = -p.grad if group["maximize"] else p.grad
            if weight_decay != 0.0:
                if self._decoupled_weight_decay:
                    p.data = p.data * (1.0 - lr * weight_decay)
                else:
                    g = g + weight_decay * p.data
            t = state.get("step", 0) + 1
            m = beta1 * state.get("exp_avg", 0.0) + (1.0 - beta1) * g
            v = beta2 * state.get("exp_avg_sq", 0.0) + (1.0 - beta2) * g * g
            m_hat = m / (1.0 - beta1 ** t)
            if amsgrad:
                v_max = max(state.get("max_exp_avg_sq", 0.0), v)
                state["max_exp_avg_sq"] = v_max
                v_hat = v_max / (1.0 - beta2 ** t)
            else:
                v_hat = v / (1.0 - beta2 ** t)
            state["step"], state["exp_avg"], state["exp_avg_sq"] = t, m, v
            p.data = p.data - lr * _divide(m_hat, math.sqrt(v_hat) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: theta *= 1 - lr * weight_decay, then the Adam step.

    The decay does not pass through the moment estimates, unlike Adam's
    weight_decay, which is added to the gradient.
    """

    _decoupled_weight_decay = True

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop: steps divided by the root of a running average of the squared gradient.

    Per parameter: g += weight_decay * theta; v = alpha v + (1 - alpha) g^2; centered
    also keeps g_ave = alpha g_ave + (1 - alpha) g and uses v - g_ave^2 instead of v;
    then with momentum mu: b = mu b + g / (sqrt(v) + eps), theta -= lr b; without:
    theta -= lr g / (sqrt(v) + eps).

    Unlike PyTorch, alpha above 1 is refused: the average would give negative weight.
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _checked(self, h: dict[str, Any]) -> dict[str, Any]:
        o = type(self).__name__
        return dict(lr=_non_negative(o, "lr", h["lr"]),
                    alpha=check.in_unit_interval(o, "alpha", h["alpha"]),
                    eps=_non_negative(o, "eps", h["eps"]),
                    weight_decay=_non_negative(o, "weight_decay", h["weight_decay"]),
                    momentum=_non_negative(o, "momentum", h["momentum"]),
                    centered=check.flag(o, "centered", h["centered"]),
                    maximize=check.flag(o, "maximize", h["maximize"]))

    def _state_names(self, group: dict[str, Any]) -> set[str]:
        names = {"step", "square_avg"}
        if group["momentum"] > 0.0:
            names.add("momentum_buffer")
        if group["centered"]:
            names.add("grad_avg")
        return names

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        group = self.param_groups[0]
        lr, alpha, eps, mu = group["lr"], group["alpha"], group["eps"], group["momentum"]
        weight_decay = group["weight_decay"]
        for p, state in zip(group["params"], self.state):
            g = -p.grad if group["maximize"] else p.grad
            if weight_decay != 0.0:
                g = g + weight_decay * p.data
            state["step"] = state.get("step", 0) + 1
            v = alpha * state.get("square_avg", 0.0) + (1.0 - alpha) * g * g
            state["square_avg"] = v
            v_tilde = v
            if group["centered"]:
                g_ave = alpha * state.get("grad_avg", 0.0) + (1.0 - alpha) * g
                state["grad_avg"] = g_ave
                # v >= g_ave^2 exactly; rounding may leave a hair below zero.
                v_tilde = max(v - g_ave * g_ave, 0.0)
            scaled = _divide(g, math.sqrt(v_tilde) + eps)
            if mu > 0.0:
                b = mu * state.get("momentum_buffer", 0.0) + scaled
                state["momentum_buffer"] = b
                p.data = p.data - lr * b
            else:
                p.data = p.data - lr * scaled


class Adagrad(Optimizer):
    """Adagrad: steps divided by the root of the sum of all squared gradients so far.

    Per parameter at step t: lr_t = lr / (1 + (t - 1) lr_decay); g += weight_decay * theta;
    sum += g^2 (starting from initial_accumulator_value); theta -= lr_t g / (sqrt(sum) + eps).
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _checked(self, h: dict[str, Any]) -> dict[str, Any]:
        o = type(self).__name__
        return dict(lr=_non_negative(o, "lr", h["lr"]),
                    lr_decay=_non_negative(o, "lr_decay", h["lr_decay"]),
                    weight_decay=_non_negative(o, "weight_decay", h["weight_decay"]),
                    initial_accumulator_value=_non_negative(
                        o, "initial_accumulator_value", h["initial_accumulator_value"]),
                    eps=_non_negative(o, "eps", h["eps"]),
                    maximize=check.flag(o, "maximize", h["maximize"]))

    def _state_names(self, group: dict[str, Any]) -> set[str]:
        return {"step", "sum"}

    def step(self) -> None:
        """Update every parameter once from its current `.grad`."""
        group = self.param_groups[0]
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        weight_decay = group["weight_decay"]
        for p, state in zip(group["params"], self.state):
            g = -p.grad if group["maximize"] else p.grad
            t = state.get("step", 0) + 1
            lr_t = lr / (1.0 + (t - 1) * lr_decay)
            if weight_decay != 0.0:
                g = g + weight_decay * p.data
            total = state.get("sum", group["initial_accumulator_value"]) + g * g
            state["step"], state["sum"] = t, total
            p.data = p.data - lr_t * _divide(g, math.sqrt(total) + eps)



# --- the names ------------------------------------------------------------------

@dataclass(frozen=True)
class OptimizerPreset:
    """A name for an optimizer class with some hyper-parameters fixed.

    Calling it builds the optimizer: `OPTIMIZERS["momentum"](params, lr=0.1)` is
    `SGD(params, lr=0.1, momentum=0.9)`; without `lr`, the class's default is used.
    """

    name: str
    optimizer: type[Optimizer]
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    def __call__(self, params: Iterable[Value], lr: float | None = None) -> Optimizer:
        arguments = dict(self.settings)
        if lr is not None:
            arguments["lr"] = lr
        return self.optimizer(params, **arguments)

    @property
    def default_lr(self) -> float:
        """The learning rate used when none is given: the class's default."""
        return inspect.signature(self.optimizer).parameters["lr"].default

    def __str__(self) -> str:
        settings = "".join(f", {k}={v!r}" for k, v in self.settings.items())
        return f"{self.optimizer.__name__}(lr={self.default_lr:g}{settings})"


OPTIMIZERS: Mapping[str, OptimizerPreset] = MappingProxyType({preset.name: preset for preset in (
    OptimizerPreset("sgd", SGD),
    OptimizerPreset("momentum", SGD, {"momentum": 0.9}),
    OptimizerPreset("adam", Adam),
    OptimizerPreset("adamw", AdamW),
    OptimizerPreset("rmsprop", RMSprop),
    OptimizerPreset("adagrad", Adagrad),
)})


def make_optimizer(name: str, params: Iterable[Value], lr: float | None = None) -> Optimizer:
    """The optimizer called `name` in `OPTIMIZERS` (case-insensitive) over `params`."""
    if not isinstance(name, str):
        raise TypeError(f"make_optimizer: name must be a str, got {type(name).__name__}")
    preset = OPTIMIZERS.get(name.lower())
    if preset is None:
        raise ValueError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}")
    return preset(params, lr)
