"""Modules: `Neuron`, `Layer`, `MLP` and `Dropout`, with parameters, modes and saving.

The models are drop-in replacements for micrograd's (`MLP(2, [16, 16, 1])`, the
same parameter order and, with `random.seed`, the same initial weights), built
so that a neuron's weighted sum is one graph node.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from numbers import Real
from typing import TYPE_CHECKING, Any

from autograd import Constant, Value, depends_on, no_grad, sampled
from nn import _checks as check
from nn._files import parse_json, read_regular_file, write_atomically

if TYPE_CHECKING:
    import torch

# An int seed, a random.Random to draw from, or None for the global `random` module.
Seed = int | random.Random | None

ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": Value.leaky_relu,  # slope 0.01, as in PyTorch
    "linear": None,
}
INITS = ("uniform", "xavier", "he")
FORMAT = "valuegrad.nn"
VERSION = 1
# Limits on what a model may be, checked before anything is allocated: the largest
# model built or loaded (a scalar engine trains far smaller ones), the largest file
# read, and how deeply its JSON may nest (a saved model nests 3 levels).
MAX_PARAMETERS = 1_000_000
MAX_FILE_BYTES = 100 * 2**20
MAX_JSON_DEPTH = 20
MAX_INT_DIGITS = 30

_MODULE_CLASSES: dict[str, type[Module]] = {}


def _class_name(cls: type) -> str:
    """How saved files name a class: "MLP" for nn's own, module.Class for others,
    so that a user's class called MLP cannot stand in for nn's."""
    if cls.__module__ == __name__:
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


class Module:
    """Base class of everything with parameters.

    Parameters and submodules are found by looking at the instance's attributes in
    the order they were set (names starting with "_" are skipped):

    - a `Value` attribute `b` is a parameter named `b`;
    - a list of Values `w` gives parameters `w0`, `w1`, ...;
    - a `Module` attribute `head` is a submodule, its parameters named `head.<name>`;
    - a list of Modules `layers` gives submodules `layers.0`, `layers.1`, ...

    Subclasses define `forward`; calling the module calls it. To make a subclass
    loadable with `nn.load`, also define `config()`, the arguments that rebuild it.
    """

    training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _MODULE_CLASSES[_class_name(cls)] = cls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # --- structure -----------------------------------------------------------

    def _members(self) -> Iterator[tuple[str, Value | Module]]:
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(value, Module) or _is_parameter(value):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item
                    elif _is_parameter(item):
                        yield f"{name}{i}", item

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their names, in definition order."""
        for name, member in self._members():
            if isinstance(member, Module):
                yield name, member

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, parents first, each once."""
        seen: set[int] = set()
        for _, module in self._named_modules(""):
            if id(module) not in seen:
                seen.add(id(module))
                yield module

    def _named_modules(self, prefix: str) -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self.named_children():
            yield from child._named_modules(f"{prefix}{name}.")

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """(name, parameter) pairs in order, e.g. ("layers.0.neurons.3.w0", Value).

        A parameter found in several places (tied weights, a layer used twice) is
        listed once, under its first name, as PyTorch does: an optimizer then moves
        it once per step, by the sum of its gradients from every use.
        """
        seen: set[int] = set()
        for module_prefix, module in self._named_modules(prefix):
            for name, member in module._members():
                if not isinstance(member, Module) and id(member) not in seen:
                    seen.add(id(member))
                    yield module_prefix + name, member

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of `named_parameters`."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Put this module and its submodules in training mode (or evaluation mode)."""
        check.flag("train", "mode", mode)
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Put this module and its submodules in evaluation mode (dropout off)."""
        return self.train(False)

    # --- prediction ----------------------------------------------------------

    def predict(self, X: Sequence[Sequence[float | Value]], threshold: float = 0.0,
                labels: tuple[Any, Any] = (-1, 1)) -> list:
        """Class labels for the samples in `X`, computed in evaluation mode without a graph.

        With one output, a sample is `labels[1]` when its score is above `threshold`
        and `labels[0]` otherwise: the sign of the score by default, which is the
        decision rule for hinge loss and for logits (sigmoid(z) > 0.5 exactly when
        z > 0); pass `labels=(0, 1)` for 0/1 labels. With several outputs, a sample's
        label is the index of its largest output (argmax).
        """
        if len(labels) != 2:
            raise ValueError(f"predict: labels must be a pair (negative, positive), got {labels!r}")
        with evaluating(self):
            return [output_label(self(x), threshold, labels) for x in X]

    # --- PyTorch ---------------------------------------------------------------

    def to_torch(self) -> torch.nn.Sequential:
        """This model as a float64 `torch.nn.Sequential` with the same weights and mode.

        Needs PyTorch (`pip install 'valuegrad[torch]'`); see `nn.interop` for the
        layers it makes and how parameter names correspond.
        """
        from nn.interop import to_torch

        return to_torch(self)

    # --- saving and loading --------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module's architecture."""
        return {}

    @classmethod
    def parameter_count(cls, **config: Any) -> int | None:
        """How many parameters `cls(**config)` would have, worked out without building it
        (None when the class cannot tell). nn's classes raise ValueError for a config
        of more than `MAX_PARAMETERS`, and TypeError or ValueError for a bad one."""
        return None

    def state_dict(self) -> dict[str, float]:
        """Every parameter's value by name, in parameter order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set the parameters from `state` (as made by `state_dict`).

        Everything is checked before anything is assigned: the keys must be exactly
        this module's parameter names and every value a finite number. On error
        (ValueError or TypeError naming the offending key) the module is unchanged.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: state must be a mapping of parameter names to "
                            f"numbers, got {type(state).__name__}")
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in state]
        unexpected = [name for name in state if name not in params]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing keys {_short_list(missing)}")
            if unexpected:
                parts.append(f"unexpected keys {_short_list(unexpected)}")
            raise ValueError(f"load_state_dict: state does not match {type(self).__name__}: "
                             + "; ".join(parts))
        values = {name: check.real("load_state_dict", repr(name), state[name]) for name in params}
        for name, p in params.items():
            p.data = values[name]

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to `path` as readable JSON: its class, config and parameters.

        The file is replaced in one step (written to a new temporary file in the same
        folder, then renamed), so it is never left half-written; an OSError names `path`.
        """
        state = self.state_dict()
        for name, number in state.items():
            if not math.isfinite(number):
                raise ValueError(f"save: parameter {name!r} is {number}, which JSON cannot hold")
        document = {"format": FORMAT, "version": VERSION, "class": _class_name(type(self)),
                    "config": self.config(), "state": state}
        text = json.dumps(document, indent=2, allow_nan=False)
        write_atomically(path, text + "\n")

    def load(self, path: str | os.PathLike) -> None:
        """Load parameters saved by `save` into this model.

        The file must hold the same class with the same config. On any error the
        model is unchanged: a ValueError names the file and what is wrong with it
        (an OSError, such as FileNotFoundError, when it cannot be read at all).
        """
        document = _read_document(path)
        name = _class_name(type(self))
        if document["class"] != name:
            raise ValueError(f"{os.fspath(path)}: holds a {document['class']}, not a {name}")
        if document["config"] != self.config():
            raise ValueError(f"{os.fspath(path)}: holds a {name} with config "
                             f"{_short_repr(document['config'])}, but this model has "
                             f"{self.config()}")
        try:
            self.load_state_dict(document["state"])
        except (TypeError, ValueError) as error:
            raise ValueError(f"{os.fspath(path)}: {error}") from None


def load(path: str | os.PathLike) -> Module:
    """Rebuild the model saved by `Module.save` at `path` (class, config and parameters)."""
    document = _read_document(path)
    cls = _MODULE_CLASSES.get(document["class"])
    if cls is None:
        raise ValueError(f"{os.fspath(path)}: unknown module class {document['class']!r}")
    # Building draws initial weights; keep the global random state as it was.
    random_state = random.getstate()
    try:
        model = cls(**document["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{os.fspath(path)}: cannot build {document['class']} from config "
                         f"{_short_repr(document['config'])}: {error}") from None
    finally:
        random.setstate(random_state)
    model.load(path)
    return model


def _read_document(path: str | os.PathLike) -> dict[str, Any]:
    where = os.fspath(path)
    raw = read_regular_file(path, MAX_FILE_BYTES)
    if raw is None:
        raise ValueError(f"{where}: larger than {MAX_FILE_BYTES} bytes, the most a saved "
                         f"model may be (nn.module.MAX_FILE_BYTES)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{where}: not valid JSON (not UTF-8 text: {error.reason} at "
                         f"byte {error.start})") from None
    document = parse_json(text, where, MAX_JSON_DEPTH, MAX_INT_DIGITS)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{where}: not a saved model (no \"format\": \"{FORMAT}\")")
    # type() and not ==: true and 1.0 equal 1 in Python, but are not a version number.
    version = document.get("version")
    if type(version) is not int or version != VERSION:
        raise ValueError(f"{where}: unsupported version {version!r} "
                         f"(this code reads version {VERSION})")
    for key, kind in (("class", str), ("config", dict), ("state", dict)):
        if not isinstance(document.get(key), kind):
            raise ValueError(f"{where}: {key!r} must be a JSON "
                             f"{'string' if kind is str else 'object'}")
    return document


def _short_repr(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...}"


def _short_list(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}{', ...' if len(names) > limit else ''}] ({len(names)})"


def _within_limit(owner: str, count: int) -> int:
    if count > MAX_PARAMETERS:
        raise ValueError(f"{owner}: {count:,} parameters, more than the {MAX_PARAMETERS:,} "
                         f"a model may have (nn.module.MAX_PARAMETERS)")
    return count


def _is_parameter(value: object) -> bool:
    return isinstance(value, Value) and not isinstance(value, Constant)


# Modules inside evaluating() blocks: how many blocks hold each, and its mode before the
# first. Blocks overlap when threads predict with one model at once; restoring the mode
# each block saw on entry would leave the model in eval mode for good.
_evaluating: dict[Module, tuple[int, bool]] = {}
_evaluating_lock = threading.Lock()


@contextmanager
def evaluating(model: Any, graph: bool = False) -> Iterator[None]:
    """Evaluation mode (dropout off) inside the block, and no graph unless `graph`;
    each module's mode is restored after. `graph=True` is for tracing, as
    `autograd.compile` does, a model in evaluation mode.

    Blocks may overlap, in one thread or several: the mode a module had before
    the first block is restored when the last one ends.
    """
    modules = list(model.modules()) if isinstance(model, Module) else []
    with _evaluating_lock:
        for m in modules:
            count, mode = _evaluating.get(m, (0, m.training))
            _evaluating[m] = (count + 1, mode)
            m.training = False
    try:
        if graph:
            yield
        else:
            with no_grad():
                yield
    finally:
        with _evaluating_lock:
            for m in modules:
                count, mode = _evaluating[m]
                if count == 1:
                    del _evaluating[m]
                    m.training = mode
                else:
                    _evaluating[m] = (count - 1, mode)


def output_label(output: Value | float | Sequence[Value | float], threshold: float = 0.0,
                 labels: tuple[Any, Any] = (0, 1)) -> Any:
    """The class one model output stands for: the decision rule of `predict`, `accuracy`,
    `fit`, the plots and the `valuegrad` command.

    One score (a Value or a number) is `labels[1]` when it is above `threshold`, else
    `labels[0]`; several (a list of Values or numbers) give the index of the largest,
    the first one on a tie (argmax).
    """
    if isinstance(output, Value):
        return labels[1] if output.data > threshold else labels[0]
    if isinstance(output, Real) and not isinstance(output, bool):
        return labels[1] if float(output) > threshold else labels[0]
    if isinstance(output, (list, tuple)) and output:
        scores = [float(v) for v in output]
        return max(range(len(scores)), key=scores.__getitem__)
    raise TypeError(f"predict: the model must return a Value or a non-empty list of Values, "
                    f"got {type(output).__name__}")


# --- inputs, activations and initialization -----------------------------------

def as_inputs(x: Any, expected: int, where: str) -> list[Value]:
    """`x` as a list of `expected` Values, numbers wrapped once, Values kept (same graph)."""
    if isinstance(x, (Value, str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError(f"{where} expects a list of {expected} numbers or Values, "
                        f"got {type(x).__name__}")
    if len(x) != expected:
        raise ValueError(f"{where} expects {expected} inputs, got {len(x)}")
    try:
        return [v if isinstance(v, Value) else Value(v) for v in x]
    except TypeError:
        for i, v in enumerate(x):
            if isinstance(v, bool) or not isinstance(v, Value) and not hasattr(v, "__float__"):
                raise TypeError(f"{where}: input {i} must be a number or a Value, "
                                f"got {type(v).__name__}") from None
        raise


def _activation_name(activation: Any, nonlin: bool | None, where: str) -> str:
    # micrograd passes `nonlin` (True: ReLU, False: linear), by keyword or second.
    if nonlin is not None:
        activation = check.flag(where, "nonlin", nonlin)
    if isinstance(activation, bool):
        return "relu" if activation else "linear"
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {activation!r}; "
                         f"choose one of {', '.join(ACTIVATIONS)}")
    return activation


def _random_source(seed: Seed, where: str) -> Any:
    if seed is None or seed is random:
        return random  # the global generator, as micrograd uses
    return check.rng(where, seed)


def initial_weights(nin: int, fan_out: int, init: str, rng: Any) -> list[float]:
    """`nin` starting weights for one neuron, drawn in order from `rng`.

    - "uniform": uniform(-1, 1), micrograd's.
    - "xavier": Glorot uniform, uniform(-a, a) with a = sqrt(6 / (fan_in + fan_out))
      (PyTorch's `torch.nn.init.xavier_uniform_` with gain 1; Glorot & Bengio, 2010).
    - "he": Kaiming normal, normal(0, std) with std = sqrt(2 / fan_in)
      (PyTorch's `torch.nn.init.kaiming_normal_` with its defaults mode="fan_in" and
      gain sqrt(2) for ReLU; He et al., 2015).
    """
    if init == "uniform":
        return [rng.uniform(-1, 1) for _ in range(nin)]
    if init == "xavier":
        bound = math.sqrt(6.0 / (nin + fan_out))
        return [rng.uniform(-bound, bound) for _ in range(nin)]
    if init == "he":
        std = math.sqrt(2.0 / nin)
        return [rng.gauss(0.0, std) for _ in range(nin)]
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")


# --- the modules ----------------------------------------------------------------

class Neuron(Module):
    """activation(w · x + b): `nin` weights and a bias; the weighted sum is one graph node.

    `activation` is "relu", "tanh", "sigmoid", "leaky_relu" or "linear"; micrograd's
    `nonlin=False` (or `Neuron(nin, False)`) means linear. Weights come from
    `initial_weights(nin, fan_out, init, ...)`, the bias starts at 0.
    """

    def __init__(self, nin: int, activation: str | bool = "relu", *, nonlin: bool | None = None,
                 init: str = "uniform", seed: Seed = None, fan_out: int = 1) -> None:
        self.nin = check.positive_int("Neuron", "nin", nin)
        _within_limit("Neuron", self.nin + 1)
        fan_out = check.positive_int("Neuron", "fan_out", fan_out)
        self.activation = _activation_name(activation, nonlin, "Neuron")
        if init not in INITS:
            raise ValueError(f"Neuron: unknown init {init!r}; choose one of {', '.join(INITS)}")
        weights = initial_weights(self.nin, fan_out, init, _random_source(seed, "Neuron"))
        self.w = [Value(w, f"w{i}") for i, w in enumerate(weights)]
        self.b = Value(0.0, "b")
        self._activate = ACTIVATIONS[self.activation]

    @property
    def nonlin(self) -> bool:
        """Whether the neuron has a nonlinearity (micrograd's attribute)."""
        return self.activation != "linear"

    def forward(self, x: Sequence[float | Value]) -> Value:
        """activation(w · x + b) for one sample of `nin` numbers or Values."""
        return self._forward(as_inputs(x, self.nin, "Neuron"))

    def _forward(self, x: list[Value]) -> Value:
        out = Value.dot(self.w, x, self.b)
        activate = self._activate
        return out if activate is None else activate(out)

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self.activation}

    @classmethod
    def parameter_count(cls, nin: int = 0, **options: Any) -> int:
        return _within_limit("Neuron", check.positive_int("Neuron", "nin", nin) + 1)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """`nout` neurons that each see all `nin` inputs.

    Called on a list, returns a list of `nout` Values, or a single Value when
    `nout` is 1 (as micrograd's Layer does).
    """

    def __init__(self, nin: int, nout: int, activation: str | bool = "relu", *,
                 nonlin: bool | None = None, init: str = "uniform", seed: Seed = None) -> None:
        self.nin = check.positive_int("Layer", "nin", nin)
        self.nout = check.positive_int("Layer", "nout", nout)
        _within_limit("Layer", (self.nin + 1) * self.nout)
        if init not in INITS:
            raise ValueError(f"Layer: unknown init {init!r}; choose one of {', '.join(INITS)}")
        self.activation = _activation_name(activation, nonlin, "Layer")
        rng = _random_source(seed, "Layer")
        self.neurons = [Neuron(self.nin, self.activation, init=init, seed=rng, fan_out=self.nout)
                        for _ in range(self.nout)]

    def forward(self, x: Sequence[float | Value]) -> Value | list[Value]:
        """Every neuron's output for one sample (a single Value when `nout` is 1)."""
        out = self._forward(as_inputs(x, self.nin, "Layer"))
        return out[0] if len(out) == 1 else out

    def _forward(self, x: list[Value]) -> list[Value]:
        return [neuron._forward(x) for neuron in self.neurons]

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nout": self.nout, "activation": self.activation}

    @classmethod
    def parameter_count(cls, nin: int = 0, nout: int = 0, **options: Any) -> int:
        nin = check.positive_int("Layer", "nin", nin)
        return _within_limit("Layer", (nin + 1) * check.positive_int("Layer", "nout", nout))

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class Dropout(Module):
    """Inverted dropout: in training mode each input is zeroed with probability `p` and
    the others are scaled by 1 / (1 - p); in evaluation mode the input passes unchanged.

    `seed` makes the masks reproducible (an int or a random.Random; None: unseeded).
    """

    def __init__(self, p: float = 0.5, seed: int | random.Random | None = None) -> None:
        self._rng = check.rng("Dropout", seed)
        self.p = check.in_unit_interval("Dropout", "p", p)

    def forward(self, x: Value | Sequence[float | Value]) -> Value | list[Value]:
        """`x` (a Value or a list) with dropout applied in training mode."""
        if isinstance(x, Value):
            return self._forward([x])[0]
        if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
            raise TypeError(f"Dropout expects a Value or a list of numbers or Values, "
                            f"got {type(x).__name__}")
        return self._forward(as_inputs(x, len(x), "Dropout"))

    def _forward(self, x: list[Value]) -> list[Value]:
        # depends_on: a compiled replay traces again when the mode or p has changed.
        training, p = depends_on(self._setting)
        if not training or p == 0.0:
            return x
        if p == 1.0:
            return [v * 0.0 for v in x]
        draw, scale = self._rng.random, 1.0 / (1.0 - p)

        def mask() -> float:
            return 0.0 if draw() < p else scale
        # sampled(): a compiled replay draws a new mask each time, from the same stream.
        return [v * sampled(mask) for v in x]

    def _setting(self) -> tuple[bool, float]:
        return self.training, self.p

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    @classmethod
    def parameter_count(cls, **config: Any) -> int:
        return 0

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class MLP(Module):
    """A multilayer perceptron: `Layer(nin, nouts[0])`, then `Layer(nouts[0], nouts[1])`, ...

    Hidden layers use `activation`; the last layer is linear unless `last_activation`
    is given. With `init="uniform"`, weights are drawn in micrograd's order from
    `random.Random(seed)`, or from the global `random` module when `seed` is None, so
    `random.seed(1337); MLP(2, [16, 16, 1])` has micrograd's weights. `dropout=p` puts
    a `Dropout(p)` after every hidden layer. Called on one sample (a list of `nin`
    numbers or Values), returns a Value when the last layer has one output, else a list.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu",
                 init: str = "uniform", seed: Seed = None, last_activation: str | None = None,
                 dropout: float = 0.0) -> None:
        self.nin, self.nouts = _mlp_sizes(nin, nouts)
        MLP.parameter_count(self.nin, self.nouts)
        if init not in INITS:
            raise ValueError(f"MLP: unknown init {init!r}; choose one of {', '.join(INITS)}")
        self.activation = _activation_name(activation, None, "MLP")
        self.last_activation = (None if last_activation is None
                                else _activation_name(last_activation, None, "MLP"))
        rng = _random_source(seed, "MLP")
        sizes = [self.nin, *self.nouts]
        last = len(self.nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1],
                             self.activation if i < last else (self.last_activation or "linear"),
                             init=init, seed=rng)
                       for i in range(len(self.nouts))]
        self.dropout = check.in_unit_interval("MLP", "dropout", dropout)
        # Dropout masks come from their own streams, seeded after all weights are
        # drawn, so the weights are the same with or without dropout.
        self.dropouts: list[Dropout] = []
        if self.dropout:
            self.dropouts = [Dropout(self.dropout, seed=rng.getrandbits(64)) for _ in range(last)]

    def steps(self) -> list[Layer | Dropout]:
        """The layers, and dropouts after the hidden ones, in the order forward applies them.

        `layers` and `dropouts` are read afresh on every call, so a replaced layer is
        the one that runs, trains, saves and exports; it must have the size and
        activation this MLP was built with (else a ValueError names it).
        """
        last = len(self.nouts) - 1
        sizes = [self.nin, *self.nouts]
        if len(self.layers) != len(self.nouts):
            raise ValueError(f"MLP: {len(self.layers)} layers, but this {self!r} has "
                             f"{len(self.nouts)}; build a new MLP for another architecture")
        steps: list[Layer | Dropout] = []
        for i, layer in enumerate(self.layers):
            activation = self.activation if i < last else (self.last_activation or "linear")
            shape = (sizes[i], sizes[i + 1], activation)
            if not (type(layer) is Layer and len(layer.neurons) == layer.nout
                    and (layer.nin, layer.nout, layer.activation) == shape):
                raise ValueError(f"MLP: layers[{i}] is {layer!r}, but this {self!r} needs a "
                                 f"Layer({shape[0]}, {shape[1]}, activation={activation!r}) "
                                 f"there; build a new MLP for another architecture")
            steps.append(layer)
            if self.dropout and i < last:
                dropout = self.dropouts[i] if i < len(self.dropouts) else None
                if not (type(dropout) is Dropout and dropout.p == self.dropout):
                    raise ValueError(f"MLP: dropouts[{i}] is {dropout!r}, but this {self!r} "
                                     f"needs a Dropout(p={self.dropout}) there")
                steps.append(dropout)
        return steps

    def forward(self, x: Sequence[float | Value]) -> Value | list[Value]:
        """The network's output for one sample: a Value, or a list for several outputs."""
        x = as_inputs(x, self.nin, "MLP")
        for step in self.steps():
            x = step._forward(x)
        return x[0] if len(x) == 1 else x

    def config(self) -> dict[str, Any]:
        self.steps()  # a file must describe the layers that run
        return {"nin": self.nin, "nouts": self.nouts, "activation": self.activation,
                "last_activation": self.last_activation, "dropout": self.dropout}

    @classmethod
    def parameter_count(cls, nin: int = 0, nouts: Sequence[int] = (), **options: Any) -> int:
        nin, nouts = _mlp_sizes(nin, nouts)
        sizes = [nin, *nouts]
        return _within_limit("MLP", sum((sizes[i] + 1) * sizes[i + 1]
                                        for i in range(len(nouts))))

    def __repr__(self) -> str:
        extra = ""
        if self.last_activation is not None:
            extra += f", last_activation={self.last_activation!r}"
        if self.dropout:
            extra += f", dropout={self.dropout}"
        return f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}{extra})"


def _mlp_sizes(nin: Any, nouts: Any) -> tuple[int, list[int]]:
    nin = check.positive_int("MLP", "nin", nin)
    if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
        raise TypeError(f"MLP: nouts must be a non-empty list of layer widths, "
                        f"got {_short_repr(nouts)}")
    if len(nouts) > MAX_PARAMETERS:  # each layer has at least 2 parameters
        raise ValueError(f"MLP: {len(nouts):,} layers, more than a model of "
                         f"{MAX_PARAMETERS:,} parameters can have (nn.module.MAX_PARAMETERS)")
    return nin, [check.positive_int("MLP", f"nouts[{i}]", n) for i, n in enumerate(nouts)]
