"""The benchmark's workloads, one function per engine, all computing the same numbers.

The moons step is micrograd's demo: 100 points, an MLP 2-16-16-1 (ReLU, then
linear), the max-margin (hinge) loss plus 1e-4 times the sum of squared
parameters, then the backward pass.
"""

from __future__ import annotations

import random

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4


def moons(n: int = 100, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """micrograd's demo data (two interleaved half circles), labels -1/+1."""
    from nn.data import make_moons

    X, y = make_moons(n, noise=0.1, seed=seed)
    return [list(map(float, x)) for x in X], [1.0 if label == 1 else -1.0 for label in y]


def initial_parameters(seed: int = 1) -> list[list[tuple[list[float], float]]]:
    """Weights uniform(-1, 1), biases 0, as micrograd draws them: layer, neuron, weight."""
    rng = random.Random(seed)
    return [[([rng.uniform(-1, 1) for _ in range(nin)], 0.0) for _ in range(nout)]
            for nin, nout in zip(SIZES, SIZES[1:])]


# --- a moons step written with plain operations, for any micrograd-like Value ---

def value_parameters(value_class, params):
    return [[([value_class(w) for w in ws], value_class(b)) for ws, b in layer]
            for layer in params]


def flat(layers) -> list:
    return [p for layer in layers for ws, b in layer for p in (*ws, b)]


def plain_loss(scores, y, params):
    """Mean hinge loss plus ALPHA times the sum of squares, with +, *, relu and sum only."""
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    return data_loss + ALPHA * sum(p * p for p in params)


def plain_moons_loss(value_class, layers, X, y):
    """The whole moons loss written with plain operations, as micrograd's demo does."""
    scores = []
    for x in X:
        h = [value_class(x[0]), value_class(x[1])]
        for i, layer in enumerate(layers):
            last = i == len(layers) - 1
            out = []
            for ws, b in layer:
                act = sum((wi * hi for wi, hi in zip(ws, h)), b)
                out.append(act if last else act.relu())
            h = out
        scores.append(h[0])
    return plain_loss(scores, y, flat(layers))


def plain_step(value_class, layers, X, y):
    loss = plain_moons_loss(value_class, layers, X, y)
    loss.backward()
    return loss


# --- the same step with each library's own MLP ---

def with_parameters(model, params):
    """`model` with its parameters set to `params` (micrograd's order is ours)."""
    for p, v in zip(model.parameters(), [v for layer in params for ws, b in layer
                                         for v in (*ws, b)], strict=True):
        p.data = v
    return model


def micrograd_mlp(params):
    from micrograd.nn import MLP

    return with_parameters(MLP(2, list(SIZES[1:])), params)


def micrograd_mlp_step(model, X, y):
    from micrograd.engine import Value

    scores = [model([Value(a) for a in x]) for x in X]
    loss = plain_loss(scores, y, model.parameters())
    model.zero_grad()
    loss.backward()
    return loss


def nn_mlp(params):
    from nn import MLP

    return with_parameters(MLP(2, list(SIZES[1:])), params)


def nn_loss(model, X, y):
    from autograd import Value

    scores = [model(x) for x in X]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    params = model.parameters()
    return Value.sum(losses) * (1.0 / len(losses)) + ALPHA * Value.dot(params, params)


def nn_mlp_step(model, X, y):
    loss = nn_loss(model, X, y)
    model.zero_grad()
    loss.backward()
    return loss


def compiled_mlp_step(model):
    """Trace the nn step once; the returned function replays it."""
    import autograd

    replay = autograd.compile(lambda X, y: nn_loss(model, X, y))

    def step(X, y):
        model.zero_grad()
        return replay(X, y)

    step.replay = replay
    return step


def per_example_mlp_step(model):
    """The same step, one example's hinge loss traced once and replayed for each point;
    the penalty, which depends on the parameters only, replayed whole beside it."""
    import autograd
    from autograd import Value

    params = model.parameters()
    replay = autograd.compile_per_example(lambda x, yi: (1 + -yi * model(x)).relu())
    penalty = autograd.compile(lambda: ALPHA * Value.dot(params, params))

    def step(X, y):
        model.zero_grad()
        penalty_data = penalty()       # first, as the eager backward pass reaches it first
        return replay(X, y) + penalty_data

    step.replay = replay
    return step


def first_call_seconds(make_step, X, y) -> float:
    """Seconds for a fresh compiled step's first call: tracing, code generation, checks, replay."""
    import time

    step = make_step()
    start = time.perf_counter()
    step(X, y)
    return time.perf_counter() - start


def digits_source_bytes() -> int:
    """Size of the generated source for one example of MLP(64, [32, 10]) with cross-entropy."""
    import random

    import autograd
    import nn

    rng = random.Random(0)
    model = nn.MLP(64, [32, 10], seed=0)
    step = autograd.compile_per_example(lambda x, t: nn.cross_entropy.per_example(model(x), t))
    step([[rng.random() for _ in range(64)]], [3])
    return len(step.source.encode())


def fit_seconds_per_epoch(X, y, X_test, y_test, compile: bool, epochs: int = 2,
                          seed: int = 0) -> tuple[float, float]:
    """`nn.fit` of MLP(64, [32, 10]) (ReLU), Adam at 0.005, batches of 32, cross-entropy:
    seconds per epoch (first epoch included, so compiling is paid) and held-out accuracy."""
    import time

    import nn

    model = nn.MLP(len(X[0]), [32, 10], seed=seed)
    start = time.perf_counter()
    nn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.005, epochs=epochs,
           batch_size=32, seed=seed, progress=False, compile=compile)
    seconds = (time.perf_counter() - start) / epochs
    return seconds, nn.accuracy(model, X_test, y_test)


# --- the floor: the same forward and backward pass written by hand on floats ---

def float_step(params, X, y):
    """Loss and gradients (same nesting as params) of the moons step, on plain floats."""
    grads = [[([0.0] * len(ws), 0.0) for ws, _ in layer] for layer in params]
    grads = [[[list(gw), gb] for gw, gb in layer] for layer in grads]
    n_layers = len(params)
    total = 0.0
    scale = 1.0 / len(X)
    for x, yi in zip(X, y):
        # Forward, keeping each layer's input and pre-activation.
        inputs, pre = [], []
        h = x
        for i, layer in enumerate(params):
            z = [sum(w * a for w, a in zip(ws, h)) + b for ws, b in layer]
            inputs.append(h)
            pre.append(z)
            h = z if i == n_layers - 1 else [v if v > 0.0 else 0.0 for v in z]
        margin = 1.0 - yi * h[0]
        if margin <= 0.0:
            continue
        total += margin
        # Backward: d loss / d score = -yi / n where the hinge is active.
        dz = [-yi * scale]
        for i in range(n_layers - 1, -1, -1):
            layer, a, g_layer = params[i], inputs[i], grads[i]
            da = [0.0] * len(a)
            for (ws, _), g_neuron, d in zip(layer, g_layer, dz):
                g_neuron[1] += d
                gw = g_neuron[0]
                for k, (w, ak) in enumerate(zip(ws, a)):
                    gw[k] += ak * d
                    da[k] += w * d
            if i:
                dz = [d if z > 0.0 else 0.0 for d, z in zip(da, pre[i - 1])]
    loss = total * scale
    for layer, g_layer in zip(params, grads):
        for (ws, b), g_neuron in zip(layer, g_layer):
            loss += ALPHA * (sum(w * w for w in ws) + b * b)
            g_neuron[0] = [g + 2.0 * ALPHA * w for g, w in zip(g_neuron[0], ws)]
            g_neuron[1] += 2.0 * ALPHA * b
    return loss, grads


def flat_float_grads(grads) -> list[float]:
    return [v for layer in grads for gw, gb in layer for v in (*gw, gb)]


# --- PyTorch with 0-d tensors: a scalar graph in torch ---

def torch_step(params, X, y):
    import torch

    layers = [[([torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in ws],
                torch.tensor(b, dtype=torch.float64, requires_grad=True)) for ws, b in layer]
              for layer in params]
    loss = plain_moons_loss(lambda v: torch.tensor(v, dtype=torch.float64), layers, X, y)
    loss.backward()
    return loss, layers


# --- other workloads ---

def chain(value_class, n: int):
    """x * 1.0000001 + 0.1, n times over: a graph 2n nodes deep."""
    v = value_class(0.5)
    for _ in range(n):
        v = v * 1.0000001 + 0.1
    return v


def wide_sum(value_class, n: int, n_ary=None):
    xs = [value_class(float(i % 7)) for i in range(n)]
    total = n_ary(xs) if n_ary else sum(xs)
    return total, xs
