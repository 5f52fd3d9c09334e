"""nn.interop: models exported to PyTorch and read back compute the same numbers.

Outputs and, after the same loss and backward(), every parameter's gradient agree
with PyTorch's own float64 computation to 1e-12 relative; the round trip is exact.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
import textwrap

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd import Value
from nn.interop import LEAKY_SLOPE, TORCH_ACTIVATIONS, parameter_pairs
from nn.module import ACTIVATIONS

TOLERANCE = 1e-12
ACTIVATION_NAMES = sorted(ACTIVATIONS)


def close(a: float, b: float) -> bool:
    # Relative, with an absolute floor of the same size for results that are 0 in
    # one engine and a rounding error away from 0 in the other.
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def as_rows(output) -> list[float]:
    """One sample's output of a valuegrad model as a list of floats."""
    return [v.data for v in output] if isinstance(output, list) else [output.data]


def loss_of_ours(model, X, targets) -> Value:
    """mean over samples of sum over outputs of (output - target)^2."""
    squares = []
    for x, t in zip(X, targets):
        out = model(x)
        outs = out if isinstance(out, list) else [out]
        squares += [(o - ti) ** 2 for o, ti in zip(outs, t)]
    return Value.sum(squares) / len(X)


def loss_of_theirs(torch_model, X, targets) -> torch.Tensor:
    out = torch_model(torch.tensor(X, dtype=torch.float64))
    return ((out - torch.tensor(targets, dtype=torch.float64)) ** 2).sum() / len(X)


def assert_same_outputs_and_gradients(model, torch_model, X) -> None:
    rng = random.Random(len(X))
    n_out = len(as_rows(model(X[0])))
    targets = [[rng.uniform(-1, 1) for _ in range(n_out)] for _ in X]

    theirs = torch_model(torch.tensor(X, dtype=torch.float64)).tolist()
    for i, x in enumerate(X):
        ours = as_rows(model(x))
        assert len(ours) == len(theirs[i])
        for a, b in zip(ours, theirs[i]):
            assert close(a, b), f"sample {i}: valuegrad {a!r}, torch {b!r}"

    model.zero_grad()
    loss = loss_of_ours(model, X, targets)
    loss.backward()
    torch_model.zero_grad()
    torch_loss = loss_of_theirs(torch_model, X, targets)
    torch_loss.backward()
    assert close(loss.data, torch_loss.item())

    params = dict(model.named_parameters())
    torch_params = dict(torch_model.named_parameters())
    for pair in parameter_pairs(model, torch_model):
        ours, theirs = params[pair.name].grad, torch_params[pair.key].grad[pair.index].item()
        assert close(ours, theirs), f"{pair}: valuegrad grad {ours!r}, torch {theirs!r}"


class TwoLayers(nn.Module):
    """A Module built from the parts, applied in the order they are defined."""

    def __init__(self, seed: int) -> None:
        self.hidden = nn.Layer(3, 6, "tanh", seed=seed)
        self.drop = nn.Dropout(0.25, seed=seed)
        self.head = nn.MLP(6, [4, 2], activation="leaky_relu", seed=seed)

    def forward(self, x):
        return self.head(self.drop(self.hidden(x)))


ARCHITECTURES = {
    "micrograd's MLP 2-16-16-1": lambda s: nn.MLP(2, [16, 16, 1], seed=s),
    "tanh MLP, sigmoid outputs": lambda s: nn.MLP(3, [5, 4, 2], "tanh", seed=s,
                                                  last_activation="sigmoid"),
    "leaky_relu MLP, he init": lambda s: nn.MLP(4, [8, 3], "leaky_relu", init="he", seed=s),
    "sigmoid MLP with dropout": lambda s: nn.MLP(2, [6, 6, 6, 1], "sigmoid", seed=s,
                                                 dropout=0.3).eval(),
    "linear hidden layers": lambda s: nn.MLP(3, [4, 4, 2], "linear", seed=s),
    "MLP of one layer": lambda s: nn.MLP(5, [3], seed=s, last_activation="tanh"),
    "Layer, several outputs": lambda s: nn.Layer(3, 5, "relu", seed=s),
    "Layer, one output": lambda s: nn.Layer(4, 1, "sigmoid", seed=s),
    "a Module built from parts": lambda s: TwoLayers(s).eval(),
    **{f"Neuron, {name}": (lambda s, name=name: nn.Neuron(3, name, seed=s))
       for name in ACTIVATION_NAMES},
}


def nin_of(model) -> int:
    return model.hidden.nin if isinstance(model, TwoLayers) else model.nin


@pytest.mark.parametrize("build", ARCHITECTURES.values(), ids=ARCHITECTURES.keys())
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_to_torch_gives_the_same_outputs_and_gradients(build, seed, data):
    model = build(seed)
    nin = nin_of(model)
    X = data.draw(st.lists(st.lists(st.floats(-3, 3), min_size=nin, max_size=nin),
                           min_size=1, max_size=6), label="X")
    torch_model = model.to_torch()
    assert isinstance(torch_model, torch.nn.Sequential)
    assert all(p.dtype == torch.float64 for p in torch_model.parameters())
    assert torch_model.training == model.training
    assert_same_outputs_and_gradients(model, torch_model, X)


def test_an_mlp_becomes_linear_and_activation_modules():
    model = nn.MLP(2, [16, 16, 1], activation="tanh", dropout=0.1, seed=0)
    torch_model = model.to_torch()
    assert [type(m).__name__ for m in torch_model] == [
        "Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    assert [(m.in_features, m.out_features) for m in torch_model
            if isinstance(m, torch.nn.Linear)] == [(2, 16), (16, 16), (16, 1)]
    assert all(m.p == 0.1 for m in torch_model if isinstance(m, torch.nn.Dropout))
    assert [type(m).__name__ for m in nn.Dropout(0.4).to_torch()] == ["Dropout"]
    assert [type(m).__name__ for m in nn.Neuron(3, "linear").to_torch()] == ["Linear"]


def test_parameter_names_pair_every_parameter_with_one_tensor_entry():
    model = nn.MLP(3, [4, 2], seed=0)
    torch_model = model.to_torch()
    pairs = parameter_pairs(model, torch_model)
    assert [p.name for p in pairs] == [name for name, _ in model.named_parameters()]
    entries = [(p.key, p.index) for p in pairs]
    expected = [(key, index) for key, tensor in torch_model.state_dict().items()
                for index in map(tuple, torch.cartesian_prod(
                    *[torch.arange(n) for n in tensor.shape]).reshape(tensor.numel(), -1).tolist())]
    assert sorted(entries) == sorted(expected)
    # The documented examples: row j of the i-th Linear's weight is neuron j of layer i.
    by_name = {p.name: p for p in pairs}
    assert str(by_name["layers.1.neurons.1.w3"]) == "layers.1.neurons.1.w3 <-> 2.weight[1, 3]"
    assert str(by_name["layers.0.neurons.2.b"]) == "layers.0.neurons.2.b <-> 0.bias[2]"
    assert torch_model.state_dict()["2.weight"][1, 3].item() == \
        model.layers[1].neurons[1].w[3].data


def test_every_activation_has_a_torch_module_computing_the_same_function():
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)
    xs = [-30.0, -2.5, -1e-3, 0.0, 1e-3, 0.7, 4.0, 30.0]
    for name, cls in TORCH_ACTIVATIONS.items():
        module = getattr(torch.nn, cls)()
        theirs = module(torch.tensor(xs, dtype=torch.float64)).tolist()
        activate = ACTIVATIONS[name] or (lambda v: v)
        ours = [activate(Value(x)).data for x in xs]
        assert all(close(a, b) for a, b in zip(ours, theirs)), (name, ours, theirs)
    assert Value(-1.0).leaky_relu().data == -LEAKY_SLOPE


CONFIGS = [
    dict(nin=2, nouts=[16, 16, 1]),
    dict(nin=3, nouts=[5, 2], activation="tanh", last_activation="sigmoid"),
    dict(nin=1, nouts=[4, 4, 4, 3], activation="leaky_relu", dropout=0.2),
    dict(nin=4, nouts=[2], last_activation="linear"),
    dict(nin=3, nouts=[3, 3], activation="linear", last_activation="relu", dropout=0.5),
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_round_trip_is_exact(config):
    model = nn.MLP(**config, seed=7)
    back = nn.from_torch(model.to_torch())
    assert isinstance(back, nn.MLP)
    # The same architecture (a linear last layer reads back as last_activation=None).
    assert (back.nin, back.nouts, back.dropout) == (model.nin, model.nouts, model.dropout)
    assert [layer.activation for layer in back.layers] == \
        [layer.activation for layer in model.layers]
    assert [(n, p.data) for n, p in back.named_parameters()] == \
        [(n, p.data) for n, p in model.named_parameters()]
    again = back.to_torch().state_dict()
    for key, tensor in model.to_torch().state_dict().items():
        assert torch.equal(again[key], tensor)


@pytest.mark.parametrize("build", [lambda: nn.Neuron(3, "tanh", seed=1),
                                   lambda: nn.Layer(3, 4, "sigmoid", seed=1)],
                         ids=["Neuron", "Layer"])
def test_neuron_and_layer_come_back_as_an_mlp_of_one_layer(build):
    model = build()
    back = nn.from_torch(model.to_torch())
    assert [p.data for p in back.parameters()] == [p.data for p in model.parameters()]
    assert back.last_activation == model.activation
    layer = back.layers[0]
    names = [n for n, _ in model.named_parameters()]
    if isinstance(model, nn.Neuron):
        names = [f"neurons.0.{n}" for n in names]
    assert [n for n, _ in layer.named_parameters()] == names


SEQUENTIALS = {
    "relu": lambda: torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(),
                                        torch.nn.Linear(8, 8), torch.nn.ReLU(),
                                        torch.nn.Linear(8, 1)),
    "tanh, dropout, sigmoid out": lambda: torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Dropout(0.2),
        torch.nn.Linear(5, 5), torch.nn.Tanh(), torch.nn.Dropout(0.2),
        torch.nn.Linear(5, 2), torch.nn.Sigmoid()),
    "leaky_relu": lambda: torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.LeakyReLU(),
                                              torch.nn.Linear(6, 3)),
    "identity": lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Identity(),
                                            torch.nn.Linear(3, 2), torch.nn.Identity()),
    "no activation": lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1)),
}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16],
                         ids=str)
@pytest.mark.parametrize("build", SEQUENTIALS.values(), ids=SEQUENTIALS.keys())
def test_from_torch_reads_any_float_dtype_and_computes_the_same(build, dtype):
    torch.manual_seed(0)
    torch_model = build().to(dtype).eval()
    model = nn.from_torch(torch_model)
    assert not model.training
    # Every stored number is read exactly: all these dtypes are subsets of float64.
    for pair in parameter_pairs(model, torch_model):
        stored = torch_model.state_dict()[pair.key][pair.index]
        assert dict(model.named_parameters())[pair.name].data == float(stored)
    X = [[random.Random(i).uniform(-2, 2) for _ in range(model.nin)] for i in range(5)]
    # The same weights in float64 on the torch side: the two agree to 1e-12.
    assert_same_outputs_and_gradients(model, torch_model.to(torch.float64), X)


def test_from_torch_keeps_the_training_mode_and_the_global_random_state():
    torch_model = SEQUENTIALS["tanh, dropout, sigmoid out"]()
    state = random.getstate()
    assert nn.from_torch(torch_model.train()).training
    assert random.getstate() == state
    model = nn.from_torch(torch_model.eval())
    assert not any(m.training for m in model.modules())
    assert model.dropout == 0.2


def seq(*layers):
    return torch.nn.Sequential(*layers)


L, R = torch.nn.Linear, torch.nn.ReLU
UNSUPPORTED = [
    (seq(L(2, 4), R(), torch.nn.Conv1d(1, 1, 1)), "layer 2", "Conv1d"),
    (seq(L(2, 4), torch.nn.GELU(), L(4, 1)), "layer 1", "GELU"),
    (seq(L(2, 4), torch.nn.BatchNorm1d(4), R(), L(4, 1)), "layer 1", "BatchNorm1d"),
    (seq(L(2, 4), R(), L(4, 3), torch.nn.Softmax(dim=-1)), "layer 3", "Softmax"),
    (seq(L(2, 4), torch.nn.LeakyReLU(0.2), L(4, 1)), "layer 1", "slope 0.2"),
    (seq(L(2, 4), R(), L(4, 1, bias=False)), "layer 2", "no bias"),
    (seq(L(2, 4), seq(R(), L(4, 1))), "layer 1", "Sequential"),
    (seq(R(), L(2, 1)), "layer 0", "before the first Linear"),
    (seq(L(2, 4), R(), torch.nn.Tanh(), L(4, 1)), "layer 2", "second activation"),
    (seq(L(2, 4), torch.nn.Dropout(0.1), R(), L(4, 1)), "layer 2", "after a Dropout"),
    (seq(L(2, 4), R(), L(3, 1)), "layer 2", "takes 3 inputs"),
    (seq(L(2, 4), R(), L(4, 4), torch.nn.Tanh(), L(4, 1)), "position 2", "same activation"),
    (seq(L(2, 4), R(), torch.nn.Dropout(0.1), L(4, 4), R(), L(4, 1)), "position 3",
     "same Dropout"),
    (seq(L(2, 4), R(), L(4, 1), torch.nn.Dropout(0.1)), "position 2", "last Linear"),
    (seq(), "no Linear", "Sequential"),
    (L(2, 1), "Linear", "Sequential"),
]


@pytest.mark.parametrize(("torch_model", "where", "what"), UNSUPPORTED,
                         ids=[f"{w}: {x}" for _, w, x in UNSUPPORTED])
def test_from_torch_names_the_layer_it_cannot_read(torch_model, where, what):
    with pytest.raises(ValueError) as error:
        nn.from_torch(torch_model)
    assert where in str(error.value) and what in str(error.value), str(error.value)


def test_from_torch_refuses_non_modules_and_non_finite_weights():
    with pytest.raises(TypeError, match="torch.nn.Sequential, got list"):
        nn.from_torch([L(2, 1)])
    torch_model = seq(L(2, 3), R(), L(3, 1))
    with torch.no_grad():
        torch_model[2].weight[0, 1] = math.nan
    with pytest.raises(ValueError, match=r"2\.weight\[0, 1\] is nan"):
        nn.from_torch(torch_model)


class Residual(nn.Module):
    def __init__(self) -> None:
        self.layer = nn.Layer(3, 3, "tanh", seed=0)

    def forward(self, x):
        return [a + b for a, b in zip(x, self.layer(x))]


class OwnParameter(nn.Module):
    def __init__(self) -> None:
        self.layer = nn.Layer(3, 1, seed=0)
        self.scale = Value(2.0)

    def forward(self, x):
        return self.layer(x) * self.scale


class Empty(nn.Module):
    def forward(self, x):
        return x


@pytest.mark.parametrize(("model", "message"), [
    (Residual(), "not its submodules applied one after another"),
    (OwnParameter(), "parameter 'scale'"),
    (Empty(), "no torch equivalent"),
], ids=["residual", "own parameter", "no submodules"])
def test_to_torch_refuses_a_module_it_cannot_express(model, message):
    with pytest.raises(ValueError, match=message):
        model.to_torch()


def test_one_sgd_step_keeps_both_models_equal():
    model = nn.MLP(2, [8, 8, 1], "tanh", seed=3)
    torch_model = model.to_torch()
    X, y = nn.data.make_moons(20, noise=0.1, seed=0)
    targets = [[float(t)] for t in y]
    ours = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD(torch_model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        ours.zero_grad()
        loss_of_ours(model, X, targets).backward()
        ours.step()
        theirs.zero_grad()
        loss_of_theirs(torch_model, X, targets).backward()
        theirs.step()
    state = torch_model.state_dict()
    params = dict(model.named_parameters())
    for pair in parameter_pairs(model, torch_model):
        assert close(params[pair.name].data, state[pair.key][pair.index].item()), str(pair)


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    # A None entry in sys.modules makes `import torch` fail as if it were not installed.
    prelude = "import sys\nsys.modules['torch'] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)


def test_without_pytorch_nn_works_and_the_bridge_says_how_to_install_it():
    result = run_without_torch("""
        import nn
        model = nn.MLP(2, [3, 1], seed=0)
        print(model([1.0, 2.0]).data)  # nn itself needs no torch
        for call in (model.to_torch, lambda: nn.from_torch(None)):
            try:
                call()
            except ImportError as error:
                print("ImportError:", error)
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    for line, where in zip(lines[1:], ("to_torch", "from_torch")):
        assert line.startswith(f"ImportError: {where} needs PyTorch"), line
        assert "pip install 'valuegrad[torch]'" in line


def test_importing_nn_does_not_import_torch():
    result = subprocess.run(
        [sys.executable, "-c", "import sys, nn; nn.MLP(2, [2]); print('torch' in sys.modules)"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# --- issue 17: what the bridge refuses, modes it keeps ----------------------------

def test_to_torch_follows_a_replaced_layer():
    model = nn.MLP(2, [4, 1], seed=0)
    model.layers[1] = nn.Layer(4, 1, "linear", seed=5)
    assert_same_outputs_and_gradients(model, model.to_torch(), [[0.3, -0.7], [1.0, 0.5]])


class ExtraRelu(nn.Module):
    def __init__(self) -> None:
        self.a = nn.Layer(3, 3, "linear", seed=0)
        self.b = nn.Layer(3, 1, "linear", seed=1)

    def forward(self, x):
        return self.b([v.relu() for v in self.a(x)])


class BranchOnInput(nn.Module):
    def __init__(self) -> None:
        self.a = nn.Layer(3, 3, "tanh", seed=0)
        self.b = nn.Layer(3, 1, "linear", seed=1)

    def forward(self, x):
        if x[0] > 5:   # never true for the inputs in [-1, 1] a sample would draw
            return self.b([v * 2 for v in self.a(x)])
        return self.b(self.a(x))


class TwiceTheSame(nn.Module):
    def __init__(self) -> None:
        self.a = nn.Layer(3, 3, "tanh", seed=0)

    def forward(self, x):
        return self.a(self.a(x))


class ByAssignmentsAndLoop(nn.Module):
    def __init__(self) -> None:
        self.first = nn.Layer(3, 4, "tanh", seed=0)
        self.middle = [nn.Layer(4, 4, "relu", seed=1), nn.Dropout(0.2, seed=0)]
        self.last = nn.Layer(4, 2, "linear", seed=2)

    def forward(self, x):
        """Each statement passes the value through one submodule."""
        h = self.first(x)
        for step in self.middle:
            h = step(h)
        return self.last(h)


@pytest.mark.parametrize("model", [ExtraRelu(), BranchOnInput(), TwiceTheSame()],
                         ids=["extra relu", "branch on the input", "one layer twice"])
def test_to_torch_refuses_a_forward_it_cannot_prove_sequential(model):
    with pytest.raises(ValueError, match="to_torch"):
        model.to_torch()


def test_to_torch_reads_assignments_and_a_loop_over_a_list_of_layers():
    model = ByAssignmentsAndLoop().eval()
    torch_model = model.to_torch()
    kinds = [type(m).__name__ for m in torch_model]
    assert kinds == ["Linear", "Tanh", "Linear", "ReLU", "Dropout", "Linear"]
    assert_same_outputs_and_gradients(model, torch_model, [[0.1, 0.2, 0.3], [-1.0, 0.5, 2.0]])


def test_to_torch_refuses_weights_that_are_not_finite():
    model = nn.MLP(2, [3, 1], seed=0)
    model.layers[0].neurons[1].w[0].data = math.nan
    with pytest.raises(ValueError, match=r"'layers\.0\.neurons\.1\.w0' is nan"):
        model.to_torch()


def test_to_torch_refuses_a_weight_shared_by_two_entries():
    model = nn.MLP(2, [3, 1], seed=0)
    model.layers[1].neurons[0].w[2] = model.layers[1].neurons[0].w[0]
    with pytest.raises(ValueError, match="shared"):
        model.to_torch()


def test_from_torch_copies_every_childs_mode():
    torch_model = seq(L(2, 4), R(), torch.nn.Dropout(0.5), L(4, 4), R(), torch.nn.Dropout(0.5),
                      L(4, 1)).train()
    torch_model[2].eval()
    model = nn.from_torch(torch_model)
    assert model.training and not model.dropouts[0].training and model.dropouts[1].training
    x = [0.3, -0.2]
    hidden = model.layers[0](x)
    assert model.dropouts[0](hidden) == hidden          # this Dropout passes inputs through
    back = model.to_torch()
    assert [m.training for m in back] == [m.training for m in torch_model]


def test_from_torch_refuses_meta_tensors_and_a_weight_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"layer 0 .*meta"):
        nn.from_torch(seq(L(2, 3), R(), L(3, 1)).to("meta"))
    torch_model = seq(L(2, 3), R(), L(3, 1))
    torch_model[0].weight = torch.nn.Parameter(torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"layer 0 .*weight of shape 3x5"):
        nn.from_torch(torch_model)
    torch_model = seq(L(2, 3), R(), L(3, 1))
    torch_model[2].bias = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match=r"layer 2 .*bias of shape 2"):
        nn.from_torch(torch_model)
