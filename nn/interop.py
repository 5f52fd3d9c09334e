"""The bridge to PyTorch: `Module.to_torch()`, `from_torch(...)` and the parameter names between.

PyTorch is optional: it is imported inside these functions only (install it with
`pip install 'valuegrad[torch]'`), so `nn` itself still needs the standard library alone.

Every model crosses the bridge as a flat `torch.nn.Sequential` of `Linear`, activation
and `Dropout` modules: a `Layer` (or a `Neuron`, a layer of one) becomes one `Linear`
followed by its activation (none for "linear"), a `Dropout` a `torch.nn.Dropout`, and an
`MLP` its layers and dropouts in the order its forward pass applies them.

Parameter names. A neuron is a row of a `Linear`'s weight matrix and one entry of its
bias. With P the position in the Sequential of the i-th `Linear`:

    valuegrad named_parameters()       torch state_dict()
    layers.i.neurons.j.wk       <->    P.weight[j, k]
    layers.i.neurons.j.b        <->    P.bias[j]

(`neurons.j.wk` for a Layer; `wk` and `b` for a Neuron, whose row is 0). In micrograd's
`MLP(2, [16, 16, 1])` the Linears sit at 0, 2 and 4, so `layers.1.neurons.3.w0` is
`2.weight[3, 0]`. `parameter_pairs(model, torch_model)` lists the pairs; both directions
copy through it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from nn.module import MLP, Dropout, Layer, Module, Neuron, evaluating

if TYPE_CHECKING:
    import torch

# valuegrad's activation names and the torch.nn class of each: the one table both
# directions use. "linear" is no module when exporting; Identity reads back as linear.
TORCH_ACTIVATIONS: dict[str, str] = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "leaky_relu": "LeakyReLU",
    "linear": "Identity",
}
LEAKY_SLOPE = 0.01  # Value.leaky_relu's default slope, and torch.nn.LeakyReLU's
INSTALL = "pip install 'valuegrad[torch]'"


class ParameterPair(NamedTuple):
    """One parameter under its two names: valuegrad's and the torch tensor entry holding it."""

    name: str  # as in model.named_parameters(), e.g. "layers.0.neurons.3.w1"
    key: str  # as in torch_model.state_dict(), e.g. "0.weight"
    index: tuple[int, ...]  # type: ignore[assignment]  # the entry in that tensor: (3, 1)

    def __str__(self) -> str:
        return f"{self.name} <-> {self.key}[{', '.join(map(str, self.index))}]"


def _import_torch(where: str) -> Any:
    """The torch package, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"{where} needs PyTorch, which is not installed; "
                          f"install it with: {INSTALL}") from error
    return torch


# --- valuegrad -> torch ---------------------------------------------------------

def to_torch(model: Module) -> torch.nn.Sequential:
    """`model` as a float64 `torch.nn.Sequential` with the same weights (see the module doc).

    Works for Neuron, Layer, Dropout, MLP and any Module whose forward applies its
    submodules (built from those) one after another in the order they were defined;
    the latter is checked on a random input, and a Module that does something else
    raises a ValueError. The result is in the same training or evaluation mode.
    """
    torch = _import_torch("to_torch")
    if not isinstance(model, Module):
        raise TypeError(f"to_torch: expected an nn.Module, got {type(model).__name__}")
    steps = list(_steps(model, type(model).__name__))
    inside = {p for step in steps for p in step.parameters()}
    for name, p in model.named_parameters():
        if p not in inside:
            raise ValueError(f"to_torch: {type(model).__name__} has the parameter {name!r} "
                             f"outside its Neurons and Layers, which has no torch equivalent")
    blueprint, dropouts = [], []
    for step in steps:
        if isinstance(step, Dropout):
            blueprint.append(torch.nn.Dropout(step.p))
            dropouts.append((blueprint[-1], step))
            continue
        nout = len(step.neurons) if isinstance(step, Layer) else 1
        blueprint.append(torch.nn.Linear(step.nin, nout, dtype=torch.float64))
        if step.activation != "linear":
            blueprint.append(getattr(torch.nn, TORCH_ACTIVATIONS[step.activation])())
    torch_model = torch.nn.Sequential(*blueprint).train(model.training)
    for theirs, ours in dropouts:  # a Dropout switched off on its own stays off
        theirs.train(ours.training)
    shapes = {key: list(tensor.shape) for key, tensor in torch_model.state_dict().items()}
    nested = {key: _zeros(shape) for key, shape in shapes.items()}
    params = dict(model.named_parameters())
    for pair in parameter_pairs(model, torch_model):
        *outer, last = pair.index
        row = nested[pair.key]
        for i in outer:
            row = row[i]
        row[last] = params[pair.name].data
    torch_model.load_state_dict({key: torch.tensor(value, dtype=torch.float64)
                                 for key, value in nested.items()})
    if type(model) not in (Neuron, Layer, Dropout, MLP):
        _check_same_outputs(model, torch_model, steps)
    return torch_model


def _zeros(shape: list[int]) -> Any:
    return [0.0] * shape[0] if len(shape) == 1 else [_zeros(shape[1:]) for _ in range(shape[0])]


def _steps(model: Module, where: str) -> Iterator[Neuron | Layer | Dropout]:
    """The Neurons, Layers and Dropouts of `model` in the order its forward applies them."""
    if isinstance(model, (Neuron, Layer, Dropout)):
        yield model
        return
    if isinstance(model, MLP):
        for i, layer in enumerate(model.layers):
            yield layer
            if model.dropouts and i < len(model.dropouts):
                yield model.dropouts[i]
        return
    children = dict(model.named_children())
    if not children:
        raise ValueError(f"to_torch: {where} ({type(model).__name__}) has no torch equivalent: "
                         f"it is not a Neuron, Layer, Dropout or MLP, and has no submodules")
    for name, child in children.items():
        yield from _steps(child, f"{where}.{name}")


def _check_same_outputs(model: Module, torch_model: Any, steps: list) -> None:
    # A Module we do not know computes something its submodules do not say; run both
    # on one random sample, dropout off, and refuse a model whose outputs differ.
    torch = _import_torch("to_torch")
    first = next((step for step in steps if not isinstance(step, Dropout)), None)
    if first is None:
        raise ValueError(f"to_torch: {type(model).__name__} has no Neuron, Layer or MLP, so its "
                         f"forward cannot be checked against the torch model")
    rng = random.Random(0)
    x = [rng.uniform(-1.0, 1.0) for _ in range(first.nin)]
    try:
        with evaluating(model):
            ours = model(x)
    except (TypeError, ValueError) as error:
        raise ValueError(f"to_torch: {type(model).__name__}'s forward failed on a sample of "
                         f"{first.nin} inputs ({error}); only Modules whose forward applies "
                         f"their submodules in order can be converted") from error
    ours = [ours] if not isinstance(ours, (list, tuple)) else list(ours)
    was_training = [(m, m.training) for m in torch_model.modules()]
    torch_model.eval()
    with torch.no_grad():
        theirs = torch_model(torch.tensor(x, dtype=torch.float64)).tolist()
    for m, mode in was_training:
        m.training = mode
    same = len(ours) == len(theirs) and all(
        math.isclose(float(a), b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(ours, theirs))
    if not same:
        raise ValueError(f"to_torch: {type(model).__name__}'s forward is not its submodules "
                         f"applied one after another in the order they were defined, so it "
                         f"has no torch.nn.Sequential equivalent")


# --- the parameter names --------------------------------------------------------

def parameter_pairs(model: Module, torch_model: torch.nn.Module) -> list[ParameterPair]:
    """Every parameter of `model` with the entry of `torch_model.state_dict()` that holds it.

    The i-th Neuron or Layer of `model` (in forward order) pairs with the i-th `Linear`
    of `torch_model`; neuron j is row j of its weight and entry j of its bias. The
    shapes must agree, else a ValueError names the first layer that differs.
    """
    torch = _import_torch("parameter_pairs")
    units = [step for step in _steps(model, type(model).__name__)
             if not isinstance(step, Dropout)]
    linears = [(name, m) for name, m in torch_model.named_modules()
               if isinstance(m, torch.nn.Linear)]
    if len(units) != len(linears):
        raise ValueError(f"parameter_pairs: {type(model).__name__} has {len(units)} layers but "
                         f"the torch model has {len(linears)} Linear layers")
    names = {p: name for name, p in model.named_parameters()}
    pairs = []
    for unit, (prefix, linear) in zip(units, linears):
        neurons = unit.neurons if isinstance(unit, Layer) else [unit]
        shape = (len(neurons), unit.nin)
        if (linear.out_features, linear.in_features) != shape or linear.bias is None:
            raise ValueError(f"parameter_pairs: {unit!r} does not match the torch layer "
                             f"{prefix!r} ({linear!r})")
        for j, neuron in enumerate(neurons):
            pairs += [ParameterPair(names[w], f"{prefix}.weight", (j, k))
                      for k, w in enumerate(neuron.w)]
            pairs.append(ParameterPair(names[neuron.b], f"{prefix}.bias", (j,)))
    return pairs


# --- torch -> valuegrad ---------------------------------------------------------

def _problem(torch: Any, layer: Any, layers: list[dict[str, Any]],
             activations: dict[type, str]) -> str | None:
    """What keeps `layer`, after `layers`, from being part of an MLP (None: nothing)."""
    kind = type(layer)
    if kind is torch.nn.Linear:
        if layer.bias is None:
            return "has no bias; valuegrad's neurons always have one"
        if not (layer.weight.is_floating_point() and layer.bias.is_floating_point()):
            return f"holds {layer.weight.dtype} numbers; only floating-point ones are read"
        if layers and layers[-1]["nout"] != layer.in_features:
            return (f"takes {layer.in_features} inputs, but the layer before gives "
                    f"{layers[-1]['nout']}")
        return None
    if kind not in activations and kind is not torch.nn.Dropout:
        supported = ", ".join(["Linear", *TORCH_ACTIVATIONS.values(), "Dropout"])
        return f"is not supported: from_torch reads {supported}"
    if not layers:
        return "comes before the first Linear layer; an MLP starts with one"
    if layers[-1]["dropout"] is not None:
        return "comes after a Dropout; an MLP layer is Linear, one activation, then Dropout"
    if kind is torch.nn.Dropout:
        return None
    if layers[-1]["activation"] is not None:
        return "is a second activation after the same Linear layer"
    if kind is torch.nn.LeakyReLU and layer.negative_slope != LEAKY_SLOPE:
        return (f"has slope {layer.negative_slope}; valuegrad's leaky_relu activation has "
                f"slope {LEAKY_SLOPE}")
    return None


def from_torch(torch_model: torch.nn.Module) -> MLP:
    """An `MLP` with the layers, activations and weights of a `torch.nn.Sequential`.

    The Sequential holds `Linear` layers (with bias), each optionally followed by one
    of ReLU, Tanh, Sigmoid, LeakyReLU (slope 0.01) or Identity, and optionally a
    Dropout after every hidden layer (all with the same p): an MLP's shape, which is
    what `to_torch` makes. Its hidden layers must share one activation. Weights of any
    floating dtype are read exactly as floats. Anything else raises a ValueError
    naming the layer and its position; the result is in the same mode (train or eval).
    """
    torch = _import_torch("from_torch")
    if not isinstance(torch_model, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential, "
                        f"got {type(torch_model).__name__}")
    if type(torch_model) is not torch.nn.Sequential:
        raise ValueError(f"from_torch: expected a torch.nn.Sequential of Linear and activation "
                         f"layers, got {type(torch_model).__name__}")
    activations = {getattr(torch.nn, cls): name for name, cls in TORCH_ACTIVATIONS.items()}
    layers: list[dict[str, Any]] = []  # per Linear: nin, nout, activation, dropout
    for position, (key, layer) in enumerate(torch_model.named_children()):
        problem = _problem(torch, layer, layers, activations)
        if problem:
            raise ValueError(f"from_torch: layer {position} ({key}: {layer!r}) {problem}")
        kind = type(layer)
        if kind is torch.nn.Linear:
            layers.append({"nin": layer.in_features, "nout": layer.out_features,
                           "activation": None, "dropout": None, "position": position})
        elif kind is torch.nn.Dropout:
            layers[-1]["dropout"] = float(layer.p)
        else:
            layers[-1]["activation"] = activations[kind]
    if not layers:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    hidden, last = layers[:-1], layers[-1]
    if last["dropout"] is not None:
        raise ValueError(f"from_torch: the Dropout after the last Linear layer (position "
                         f"{last['position']}) has no place in an MLP, which drops out "
                         f"after hidden layers only")
    for layer in hidden:
        layer["activation"] = layer["activation"] or "linear"  # Identity or nothing
    for layer in hidden[1:]:
        for field, meaning in (("activation", "activation"), ("dropout", "Dropout")):
            if layer[field] != hidden[0][field]:
                raise ValueError(
                    f"from_torch: the Linear layer at position {layer['position']} is followed "
                    f"by {meaning} {layer[field]!r}, the one at position "
                    f"{hidden[0]['position']} by {hidden[0][field]!r}; an MLP's hidden layers "
                    f"all have the same {meaning}")
    activation = hidden[0]["activation"] if hidden else "relu"
    dropout = (hidden[0]["dropout"] or 0.0) if hidden else 0.0
    # Initial weights are drawn, then overwritten; a private generator leaves the
    # global random state alone.
    model = MLP(layers[0]["nin"], [layer["nout"] for layer in layers], activation=activation,
                seed=random.Random(), last_activation=last["activation"], dropout=dropout)
    state = {key: tensor.detach().to("cpu", torch.float64).tolist()
             for key, tensor in torch_model.state_dict().items()}
    params = dict(model.named_parameters())
    for pair in parameter_pairs(model, torch_model):
        number = state[pair.key]
        for i in pair.index:
            number = number[i]
        if not math.isfinite(number):
            raise ValueError(f"from_torch: {pair.key}[{', '.join(map(str, pair.index))}] is "
                             f"{number}; valuegrad's parameters must be finite")
        params[pair.name].data = number
    model.train(torch_model.training)
    return model

