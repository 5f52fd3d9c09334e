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

import ast
import inspect
import math
import random
import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from nn.module import MLP, Dropout, Layer, Module, Neuron

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

    Works for Neuron, Layer, Dropout, MLP and any Module whose forward, read from its
    source, applies its submodules (built from those) one after another: nested calls
    `return self.head(self.hidden(x))`, assignments `h = self.hidden(x)`, or a loop
    `for layer in self.layers: h = layer(h)`. Anything else, a weight that is not
    finite, or one shared by two places (torch tensors cannot tie entries) raises a
    ValueError. Every module keeps its training or evaluation mode.
    """
    torch = _import_torch("to_torch")
    if not isinstance(model, Module):
        raise TypeError(f"to_torch: expected an nn.Module, got {type(model).__name__}")
    units = [m for m in model.modules() if isinstance(m, (Neuron, Layer))]
    inside = {id(p) for unit in units for p in unit.parameters()}
    for name, p in model.named_parameters():
        if id(p) not in inside:
            raise ValueError(f"to_torch: {type(model).__name__} has the parameter {name!r} "
                             f"outside its Neurons and Layers, which has no torch equivalent")
        if not math.isfinite(p.data):
            raise ValueError(f"to_torch: parameter {name!r} is {p.data}; a model with "
                             f"weights that are not finite is not exported")
    steps = list(_steps(model, type(model).__name__))
    applied = {id(p) for step in steps for p in step.parameters()}
    for name, p in model.named_parameters():
        if id(p) not in applied:
            raise ValueError(f"to_torch: {type(model).__name__}'s forward never uses the "
                             f"parameter {name!r}, which a torch model would not hold")
    blueprint = []
    for step in steps:
        if isinstance(step, Dropout):
            blueprint.append(torch.nn.Dropout(step.p).train(step.training))
            continue
        nout = len(step.neurons) if isinstance(step, Layer) else 1
        blueprint.append(torch.nn.Linear(step.nin, nout, dtype=torch.float64))
        if step.activation != "linear":
            blueprint.append(getattr(torch.nn, TORCH_ACTIVATIONS[step.activation])())
        for module in blueprint[-2 if step.activation != "linear" else -1:]:
            module.train(step.training)
    torch_model = torch.nn.Sequential(*blueprint)
    torch_model.training = model.training
    _copy_weights_to(torch, model, torch_model)
    return torch_model


def _copy_weights_to(torch: Any, model: Module, torch_model: Any) -> None:
    shapes = {key: list(tensor.shape) for key, tensor in torch_model.state_dict().items()}
    nested = {key: _zeros(shape) for key, shape in shapes.items()}
    params = dict(model.named_parameters())
    used: dict[str, ParameterPair] = {}
    for pair in parameter_pairs(model, torch_model):
        if pair.name in used:
            raise ValueError(f"to_torch: parameter {pair.name!r} is shared by {used[pair.name]} "
                             f"and {pair}; torch tensors cannot tie entries")
        used[pair.name] = pair
        *outer, last = pair.index
        row = nested[pair.key]
        for i in outer:
            row = row[i]
        row[last] = params[pair.name].data
    torch_model.load_state_dict({key: torch.tensor(value, dtype=torch.float64)
                                 for key, value in nested.items()})


def _zeros(shape: list[int]) -> Any:
    return [0.0] * shape[0] if len(shape) == 1 else [_zeros(shape[1:]) for _ in range(shape[0])]


def _is_unchanged(model: Module, cls: Any) -> bool:
    # A subclass that changes how it is called computes something else.
    return (isinstance(model, cls) and type(model).forward is cls.forward
            and type(model).__call__ is Module.__call__)


def _steps(model: Module, where: str) -> Iterator[Neuron | Layer | Dropout]:
    """The Neurons, Layers and Dropouts of `model` in the order its forward applies them."""
    if any(_is_unchanged(model, cls) for cls in (Neuron, Layer, Dropout)):
        yield model  # type: ignore[misc]
        return
    if _is_unchanged(model, MLP):
        yield from model.steps()  # type: ignore[attr-defined]
        return
    if not dict(model.named_children()):
        raise ValueError(f"to_torch: {where} ({type(model).__name__}) has no torch equivalent: "
                         f"it is not a Neuron, Layer, Dropout or MLP, and has no submodules")
    seen: set[int] = set()
    for name, child in sequential_forward(model, where):
        if id(child) in seen:
            raise ValueError(f"to_torch: {where}'s forward applies {name} twice; a torch "
                             f"Sequential cannot share one layer between two places")
        seen.add(id(child))
        yield from _steps(child, f"{where}.{name}")


def sequential_forward(model: Module, where: str) -> list[tuple[str, Module]]:
    """The submodules `model.forward` applies, in order, proved from its source code.

    The forward takes one input; its statements each pass the value so far through
    submodules (`h = self.hidden(x)`, `for layer in self.layers: h = layer(h)`), a
    docstring aside, and it returns such calls (`return self.head(h)`). Anything
    else could compute what no torch.nn.Sequential does: a ValueError.
    """
    refused = ValueError(f"to_torch: {where} ({type(model).__name__})'s forward is not its "
                         f"submodules applied one after another, so it has no "
                         f"torch.nn.Sequential equivalent")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(type(model).forward)))
    except (OSError, TypeError, SyntaxError) as error:
        raise ValueError(f"to_torch: cannot read the source of {type(model).__name__}.forward "
                         f"to check that it is sequential ({error})") from None
    function = tree.body[0]
    if not isinstance(function, ast.FunctionDef):
        raise refused
    arguments = function.args
    if (function.decorator_list or len(arguments.args) != 2
            or arguments.vararg or arguments.kwarg or arguments.kwonlyargs):
        raise refused
    own, value = (a.arg for a in arguments.args)
    members = {name: m for name, m in vars(model).items()
               if not name.startswith("_") and not hasattr(type(model), name)}
    applied: list[tuple[str, Module]] = []

    def passes(node: ast.expr, loop: dict[str, list[tuple[str, Module]]]) -> bool:
        """Whether `node` is `value` through submodule calls (recorded in `applied`)."""
        if isinstance(node, ast.Name):
            return node.id == value
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords):
            return False
        callee = node.func
        if (isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name)
                and callee.value.id == own and isinstance(members.get(callee.attr), Module)):
            found = [(callee.attr, members[callee.attr])]
        elif isinstance(callee, ast.Name) and callee.id in loop:
            found = loop[callee.id]
        else:
            return False
        if not passes(node.args[0], loop):
            return False
        applied.extend(found)
        return True

    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    for i, statement in enumerate(body):
        if isinstance(statement, ast.Return) and i == len(body) - 1:
            if statement.value is not None and passes(statement.value, {}):
                return applied
        elif isinstance(statement, ast.Assign) and _single_name(statement.targets):
            if passes(statement.value, {}):
                value = statement.targets[0].id  # type: ignore[attr-defined]
                continue
        elif isinstance(statement, ast.For) and _loop_over(statement, own, members, value):
            name = statement.iter.attr  # type: ignore[attr-defined]
            modules = [(f"{name}.{k}", m) for k, m in enumerate(members[name])]
            loop_body = statement.body[0]
            if passes(loop_body.value, {statement.target.id: modules}):  # type: ignore
                continue
        raise refused
    raise refused


def _single_name(targets: list[ast.expr]) -> bool:
    return len(targets) == 1 and isinstance(targets[0], ast.Name)


def _loop_over(loop: ast.For, own: str, members: dict[str, Any], value: str) -> bool:
    """Whether `loop` is `for m in self.<list of Modules>: value = m(value)`."""
    iterated = loop.iter
    return (isinstance(loop.target, ast.Name) and loop.target.id != value and not loop.orelse
            and isinstance(iterated, ast.Attribute) and isinstance(iterated.value, ast.Name)
            and iterated.value.id == own
            and isinstance(members.get(iterated.attr), (list, tuple))
            and all(isinstance(m, Module) for m in members[iterated.attr])
            and len(loop.body) == 1 and isinstance(loop.body[0], ast.Assign)
            and _single_name(loop.body[0].targets)
            and loop.body[0].targets[0].id == value  # type: ignore[attr-defined]
            and isinstance(loop.body[0].value, ast.Call)
            and isinstance(loop.body[0].value.func, ast.Name)
            and loop.body[0].value.func.id == loop.target.id)


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
        if layer.weight.is_meta or layer.bias.is_meta:
            return "is on the meta device: its weights have no values to read"
        for name, tensor, shape in (("weight", layer.weight, (layer.out_features,
                                                              layer.in_features)),
                                    ("bias", layer.bias, (layer.out_features,))):
            if tuple(tensor.shape) != shape:
                return (f"has a {name} of shape {'x'.join(map(str, tensor.shape))}, but "
                        f"{layer.in_features} inputs and {layer.out_features} outputs need "
                        f"{'x'.join(map(str, shape))}")
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
    naming the layer and its position. Every module keeps its mode (train or eval):
    the Sequential's, each Linear's (its Layer's) and each Dropout's.
    """
    torch = _import_torch("from_torch")
    if not isinstance(torch_model, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential, "
                        f"got {type(torch_model).__name__}")
    if type(torch_model) is not torch.nn.Sequential:
        raise ValueError(f"from_torch: expected a torch.nn.Sequential of Linear and activation "
                         f"layers, got {type(torch_model).__name__}")
    layers = _read_layers(torch, torch_model)
    activation, dropout = _shared_settings(layers)
    # Initial weights are drawn, then overwritten; a private generator leaves the
    # global random state alone.
    model = MLP(layers[0]["nin"], [layer["nout"] for layer in layers], activation=activation,
                seed=random.Random(), last_activation=layers[-1]["activation"], dropout=dropout)
    _copy_weights_from(torch, torch_model, model)
    model.training = torch_model.training
    for i, layer in enumerate(layers):
        model.layers[i].train(layer["linear"].training)
        if layer["dropout_module"] is not None:
            model.dropouts[i].training = layer["dropout_module"].training
    return model


def _read_layers(torch: Any, torch_model: Any) -> list[dict[str, Any]]:
    """Per Linear of `torch_model`: nin, nout, activation, dropout, their modules, position."""
    activations = {getattr(torch.nn, cls): name for name, cls in TORCH_ACTIVATIONS.items()}
    layers: list[dict[str, Any]] = []
    for position, (key, layer) in enumerate(torch_model.named_children()):
        problem = _problem(torch, layer, layers, activations)
        if problem:
            raise ValueError(f"from_torch: layer {position} ({key}: {layer!r}) {problem}")
        kind = type(layer)
        if kind is torch.nn.Linear:
            layers.append({"nin": layer.in_features, "nout": layer.out_features,
                           "activation": None, "dropout": None, "position": position,
                           "linear": layer, "dropout_module": None})
        elif kind is torch.nn.Dropout:
            layers[-1]["dropout"] = float(layer.p)
            layers[-1]["dropout_module"] = layer
        else:
            layers[-1]["activation"] = activations[kind]
    if not layers:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    if layers[-1]["dropout"] is not None:
        raise ValueError(f"from_torch: the Dropout after the last Linear layer (position "
                         f"{layers[-1]['position']}) has no place in an MLP, which drops out "
                         f"after hidden layers only")
    return layers


def _shared_settings(layers: list[dict[str, Any]]) -> tuple[str, float]:
    """The hidden layers' one activation and dropout, which an MLP's layers share."""
    hidden = layers[:-1]
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
    if not hidden:
        return "relu", 0.0
    return hidden[0]["activation"], hidden[0]["dropout"] or 0.0


def _copy_weights_from(torch: Any, torch_model: Any, model: MLP) -> None:
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
