"""The digits workload: an epoch of `MLP(64, [32, 10])` on the UCI handwritten digits.

The training set is 75% of the 1797 images (1347, split with seed 0), in batches
of 32 (43 steps an epoch), softmax cross-entropy, Adam with lr 0.005: the
defaults of `valuegrad train --dataset digits`. Every engine starts from the
same weights and computes the same first-batch loss (checked to 1e-9).

Engines too slow to run a whole epoch here (micrograd, PyTorch with 0-d
tensors) are timed on a few batches and the epoch extrapolated from them; the
tables mark those figures.
"""

from __future__ import annotations

import inspect
import math
import time

BATCH = 32
LR = 0.005
EPOCHS = 20  # `valuegrad train --dataset digits`'s default
TEST_SIZE = 0.25
SEED = 0


def data():
    """(X_train, X_test, y_train, y_test): the digits split as the command splits them."""
    import nn

    X, y = nn.data.load_digits()
    return nn.data.train_test_split(X, y, test_size=TEST_SIZE, seed=SEED)


def initial_model():
    import nn

    return nn.MLP(64, [32, 10], seed=SEED)


def layers_of(model) -> list[list[tuple[list[float], float]]]:
    """The model's weights as floats: layer, neuron, (weights, bias)."""
    return [[([w.data for w in neuron.w], neuron.b.data) for neuron in layer.neurons]
            for layer in model.layers]


def batches_per_epoch(n: int) -> int:
    return math.ceil(n / BATCH)


# --- valuegrad ---------------------------------------------------------------------------

def valuegrad_first_loss(X, y) -> float:
    import nn

    model = initial_model()
    return nn.cross_entropy([model(x) for x in X[:BATCH]], y[:BATCH]).data


def valuegrad_epochs(X, y, epochs: int = 1, **fit_options) -> tuple[float, object]:
    """Seconds per epoch of `nn.fit` (eager unless `fit_options` say otherwise), and the model."""
    import nn

    model = initial_model()
    start = time.perf_counter()
    nn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=LR, epochs=epochs,
           batch_size=BATCH, seed=SEED, progress=False, **fit_options)
    return (time.perf_counter() - start) / epochs, model


def fit_can_compile() -> bool:
    import nn

    return "compile" in inspect.signature(nn.fit).parameters


def valuegrad_compiled_epochs(X, y, epochs: int = 1) -> tuple[float, object] | None:
    """THE "valuegrad compiled" ROW: seconds per epoch of `nn.fit(..., compile=True)`.

    None until `fit` takes `compile=True` (the per-example compiled replay); from
    then on this row fills itself in, measured exactly as the eager row.
    """
    if not fit_can_compile():
        return None
    return valuegrad_epochs(X, y, epochs, compile=True)


def accuracy(model, X, y) -> float:
    import nn

    return nn.accuracy(model, X, y)


# --- scalar engines on a few batches: micrograd and PyTorch's 0-d tensors -------------------

def _mlp_logits(layers, x, const, relu):
    h = [const(v) for v in x]
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        h = [sum((w * a for w, a in zip(ws, h)), b) for ws, b in layer]
        if not last:
            h = [relu(v) for v in h]
    return h


def _cross_entropy(logits, target, exp, log):
    # As nn.cross_entropy: log-sum-exp around the largest logit, taken as a constant.
    m = max(float(z.data) for z in logits)
    total = sum(exp(z - m) for z in logits)
    return log(total) + m - logits[target]


def micrograd_value():
    """micrograd's Value, with exp and log added in its own style (it has neither)."""
    from micrograd.engine import Value

    def exp(x):
        out = Value(math.exp(x.data), (x,), "exp")

        def _backward():
            x.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(x):
        out = Value(math.log(x.data), (x,), "log")

        def _backward():
            x.grad += out.grad / x.data
        out._backward = _backward
        return out

    return Value, exp, log


def _shaped(params: list, layers) -> list:
    """A flat list of parameters (each neuron's weights, then its bias) in `layers`' shape:
    layer, neuron, (weights, bias)."""
    shaped, k = [], 0
    for layer in layers:
        neurons = []
        for ws, _ in layer:
            neurons.append((params[k:k + len(ws)], params[k + len(ws)]))
            k += len(ws) + 1
        shaped.append(neurons)
    return shaped


def micrograd_step(layers, X, y, state) -> float:
    """One batch of micrograd: forward, cross-entropy, backward, Adam on floats."""
    Value, exp, log = micrograd_value()
    params = [Value(v) for layer in layers for ws, b in layer for v in (*ws, b)]
    shaped = _shaped(params, layers)
    losses = [_cross_entropy(_mlp_logits(shaped, x, Value, Value.relu), t, exp, log)
              for x, t in zip(X, y)]
    loss = sum(losses) * (1.0 / len(losses))
    loss.backward()
    _adam([p.grad for p in params], layers, state)
    return loss.data


def torch_scalar_step(layers, X, y, state) -> float:
    """One batch with PyTorch 0-d tensors: the same scalar graph, built by torch."""
    import torch

    def const(v):
        return torch.tensor(v, dtype=torch.float64)

    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for layer in layers for ws, b in layer for v in (*ws, b)]
    shaped = _shaped(params, layers)
    losses = [_cross_entropy(_mlp_logits(shaped, x, const, torch.relu), t, torch.exp,
                             torch.log) for x, t in zip(X, y)]
    loss = sum(losses) * (1.0 / len(losses))
    loss.backward()
    _adam([p.grad.item() for p in params], layers, state)
    return loss.item()


def _adam(grads, layers, state, beta1=0.9, beta2=0.999, eps=1e-8) -> None:
    """Adam's update on the float weights in `layers` (in place), as nn.optim.Adam."""
    t = state["t"] = state.get("t", 0) + 1
    m = state.setdefault("m", [0.0] * len(grads))
    v = state.setdefault("v", [0.0] * len(grads))
    k = 0
    for layer in layers:
        for n, (ws, b) in enumerate(layer):
            values = [*ws, b]
            for j in range(len(values)):
                g = grads[k]
                m[k] = beta1 * m[k] + (1 - beta1) * g
                v[k] = beta2 * v[k] + (1 - beta2) * g * g
                m_hat, v_hat = m[k] / (1 - beta1 ** t), v[k] / (1 - beta2 ** t)
                values[j] -= LR * m_hat / (math.sqrt(v_hat) + eps)
                k += 1
            layer[n] = (values[:-1], values[-1])


def scalar_epoch_seconds(step, X, y, batches: int) -> tuple[float, float]:
    """(first-batch loss, seconds per epoch extrapolated from `batches` timed batches)."""
    layers = layers_of(initial_model())
    state: dict = {}
    first = None
    times = []
    for i in range(batches):
        Xb, yb = X[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]
        start = time.perf_counter()
        loss = step(layers, Xb, yb, state)
        times.append(time.perf_counter() - start)
        first = loss if first is None else first
    per_batch = sorted(times)[len(times) // 2]
    return first, per_batch * batches_per_epoch(len(X))


# --- PyTorch, vectorized: the reference of what a tensor library does -------------------------

def torch_vectorized(X, y, epochs: int = 1) -> tuple[float, float, object]:
    """(first-batch loss, seconds per epoch, model) with nn.Linear layers on float64 batches."""
    import torch

    layers = layers_of(initial_model())
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 10)).double()
    with torch.no_grad():
        for linear, layer in zip((model[0], model[2]), layers):
            linear.weight.copy_(torch.tensor([ws for ws, _ in layer], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([b for _, b in layer], dtype=torch.float64))
    inputs = torch.tensor(X, dtype=torch.float64)
    targets = torch.tensor(y)
    with torch.no_grad():
        first = torch.nn.functional.cross_entropy(model(inputs[:BATCH]), targets[:BATCH]).item()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(SEED)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator)
        for i in range(0, len(X), BATCH):
            chosen = order[i:i + BATCH]
            loss = torch.nn.functional.cross_entropy(model(inputs[chosen]), targets[chosen])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return first, (time.perf_counter() - start) / epochs, model


def torch_accuracy(model, X, y) -> float:
    import torch

    with torch.no_grad():
        predicted = model(torch.tensor(X, dtype=torch.float64)).argmax(dim=1)
    return (predicted == torch.tensor(y)).double().mean().item()


# --- the tables ------------------------------------------------------------------------------

def measure(table_class, close, quick: bool = False, with_torch: bool = True) -> list[str]:
    """Run the digits workload on every engine; return the report's Markdown lines.

    PyTorch comes last: importing it slows the collector for everything after.
    """
    digits, training = table_class(), table_class()
    X, X_held_out, y, y_held_out = data()
    steps = batches_per_epoch(len(X))
    reference = valuegrad_first_loss(X, y)

    def agree(name: str, loss: float) -> None:
        if not close(loss, reference):
            raise SystemExit(f"digits: {name} computes loss {loss!r}, valuegrad {reference!r}")

    timed = 1 if quick else 3
    loss, micrograd_epoch = scalar_epoch_seconds(micrograd_step, X, y, batches=timed)
    agree("micrograd", loss)
    digits.add("micrograd 0.1.0", f"{micrograd_epoch:.1f} s", "1.0x",
               f"extrapolated: {timed} batch{'es' if timed > 1 else ''} timed, times {steps}")

    epochs = 1 if quick else 2
    eager, _ = valuegrad_epochs(X, y, epochs=epochs)
    digits.add("valuegrad eager, nn.fit", f"{eager:.2f} s", f"{micrograd_epoch / eager:.0f}x",
               f"measured: {epochs} whole epoch{'s' if epochs > 1 else ''}")
    compiled = valuegrad_compiled_epochs(X, y, epochs=epochs)
    if compiled is None:
        digits.add("valuegrad compiled, nn.fit(compile=True)", "-", "-",
                   "not measured: nn.fit has no compile=True yet")
    else:
        digits.add("valuegrad compiled, nn.fit(compile=True)", f"{compiled[0]:.2f} s",
                   f"{micrograd_epoch / compiled[0]:.0f}x",
                   f"measured: {epochs} whole epoch{'s' if epochs > 1 else ''}, "
                   f"{eager / compiled[0]:.1f}x eager")

    if not quick:
        runs = [("valuegrad eager", {})]
        if fit_can_compile():
            runs.append(("valuegrad compiled", {"compile": True}))
        for name, options in runs:
            per_epoch, model = valuegrad_epochs(X, y, epochs=EPOCHS, **options)
            training.add(name, EPOCHS, f"{per_epoch * EPOCHS:.1f} s",
                         f"{accuracy(model, X_held_out, y_held_out):.1%}")

    if with_torch:
        import torch

        torch.set_num_threads(1)
        version = f"PyTorch {torch.__version__}"
        loss, torch_epoch = scalar_epoch_seconds(torch_scalar_step, X, y, batches=1)
        agree("PyTorch (0-d tensors)", loss)
        digits.add(f"{version}, 0-d tensors", f"{torch_epoch:.1f} s",
                   f"{micrograd_epoch / torch_epoch:.1f}x",
                   f"extrapolated: 1 batch timed, times {steps}")
        loss, vector_epoch, _ = torch_vectorized(X, y, epochs=2)
        agree("PyTorch (vectorized)", loss)
        digits.add(f"{version}, vectorized (float64, 1 thread)", f"{vector_epoch * 1e3:.0f} ms",
                   f"{micrograd_epoch / vector_epoch:.0f}x", "measured: 2 whole epochs")
        if not quick:
            per_epoch, model = torch_vectorized(X, y, epochs=EPOCHS)[1:]
            training.add(f"{version}, vectorized", EPOCHS, f"{per_epoch * EPOCHS:.1f} s",
                         f"{torch_accuracy(model, X_held_out, y_held_out):.1%}")

    lines = [f"Digits: MLP(64, [32, 10]) on {len(X)} training images, batches of {BATCH} "
             f"({steps} steps an epoch), cross-entropy, Adam lr {LR}; {len(X_held_out)} "
             f"images held out. All engines start from the same weights and agree on the "
             f"first batch's loss to 1e-9.", "",
             digits.markdown(("digits, one epoch", "seconds per epoch", "vs micrograd", "how"))]
    if training.rows:
        lines += ["", training.markdown(("digits, training", "epochs", "time",
                                         "held-out accuracy"))]
    return lines
