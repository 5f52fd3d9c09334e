"""fit, accuracy and History: micrograd's demo, label conventions, validation, progress."""

import csv
import math
import random

import micrograd.engine
import micrograd.nn
import pytest

import nn
from autograd import Value


def demo_schedule(k):
    return 1.0 - 0.9 * k / 100  # micrograd's demo: learning rate at step k


@pytest.fixture(scope="module")
def moons():
    X, y = nn.data.make_moons(100, noise=0.1, seed=0)
    return X, [2 * t - 1 for t in y]  # labels -1/+1, as in micrograd's demo


class CountingSGD(nn.optim.SGD):
    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.steps = 0

    def step(self):
        self.steps += 1
        super().step()


def set_weights(neuron, weights, bias):
    for w, value in zip(neuron.w, weights):
        w.data = value
    neuron.b.data = bias


# --- micrograd's demo ------------------------------------------------------------------

def test_micrograd_demo_reaches_full_training_accuracy():
    # The demo: 100 moons with noise 0.1, labels -1/+1, MLP(2, [16, 16, 1]), hinge loss plus
    # 1e-4 * sum(p^2), full-batch SGD with lr 1.0 - 0.9 k / 100 for 100 steps, seeds 1337.
    # (On 25 combinations of data and model seeds, 23 reach 100% and the other two 99%.)
    X, y = nn.data.make_moons(100, noise=0.1, seed=1337)
    y = [2 * t - 1 for t in y]
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    history = nn.fit(model, X, y, loss="hinge", optimizer="sgd", lr=demo_schedule, epochs=100,
                     l2=1e-4, progress=False)
    assert nn.accuracy(model, X, y) == 1.0
    assert history.epochs == 100
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.lr == pytest.approx([demo_schedule(k) for k in range(100)])


def test_fit_takes_the_same_steps_as_micrograds_training_loop(moons):
    X, y = moons
    X, y = X[:20], y[:20]
    random.seed(42)
    theirs = micrograd.nn.MLP(2, [16, 16, 1])
    random.seed(42)
    ours = nn.MLP(2, [16, 16, 1])

    their_losses, their_accuracy = [], []
    for k in range(3):  # the demo's loop
        inputs = [list(map(micrograd.engine.Value, row)) for row in X]
        scores = list(map(theirs, inputs))
        losses = [(1 + -yi * s).relu() for yi, s in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in theirs.parameters())
        total = data_loss + reg_loss
        their_losses.append(data_loss.data)
        their_accuracy.append(sum((yi > 0) == (s.data > 0) for yi, s in zip(y, scores)) / len(y))
        theirs.zero_grad()
        total.backward()
        for p in theirs.parameters():
            p.data -= demo_schedule(k) * p.grad

    history = nn.fit(ours, X, y, loss="hinge", optimizer="sgd", lr=demo_schedule, epochs=3,
                     l2=1e-4, progress=False)
    assert history.train_loss == pytest.approx(their_losses, abs=1e-9)
    assert history.train_accuracy == their_accuracy
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert a.data == pytest.approx(b.data, abs=1e-9)


# --- label conventions and accuracy ------------------------------------------------------

def test_zero_one_labels_with_hinge_train_exactly_like_minus_one_plus_one(moons):
    X, y = moons
    y01 = [(t + 1) // 2 for t in y]
    a = nn.MLP(2, [8, 1], seed=3)
    b = nn.MLP(2, [8, 1], seed=3)
    ha = nn.fit(a, X, y, loss="hinge", optimizer="sgd", lr=0.1, epochs=5, progress=False)
    hb = nn.fit(b, X, y01, loss="hinge", optimizer="sgd", lr=0.1, epochs=5, progress=False)
    assert a.state_dict() == b.state_dict()
    assert ha.train_accuracy == hb.train_accuracy
    assert nn.accuracy(a, X, y) == nn.accuracy(b, X, y01)


def test_bce_accepts_both_label_conventions_and_learns(moons):
    X, y = moons
    y01 = [(t + 1) // 2 for t in y]
    a = nn.MLP(2, [4, 1], seed=0)
    b = nn.MLP(2, [4, 1], seed=0)
    nn.fit(a, X, y01, loss="bce", optimizer="adam", lr=0.05, epochs=3, progress=False)
    nn.fit(b, X, y, loss="bce", optimizer="adam", lr=0.05, epochs=3, progress=False)
    assert a.state_dict() == b.state_dict()

    model = nn.MLP(2, [8, 8, 1], seed=0)
    nn.fit(model, X, y01, loss="bce", optimizer="adam", lr=0.05, epochs=40, progress=False)
    assert nn.accuracy(model, X, y01) >= 0.95
    predictions = model.predict(X, labels=(0, 1))
    assert sum(p == t for p, t in zip(predictions, y01)) / len(y01) == nn.accuracy(model, X, y01)


def test_cross_entropy_on_three_classes():
    X, y = nn.data.make_blobs(90, centers=[[-3, 0], [3, 0], [0, 4]], cluster_std=0.6, seed=1)
    model = nn.MLP(2, [8, 3], seed=0)
    history = nn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.05, epochs=30,
                     batch_size=30, seed=0, progress=False)
    assert nn.accuracy(model, X, y) >= 0.95
    assert history.train_accuracy[-1] >= 0.9
    assert model.predict(X[:5]) == [max(range(3), key=lambda k: model(x)[k].data)
                                    for x in X[:5]]


def test_accuracy_by_hand():
    neuron = nn.Neuron(1, "linear")
    set_weights(neuron, [1.0], -0.5)  # score x - 0.5
    X = [[0.0], [1.0], [0.7], [0.2]]
    assert nn.accuracy(neuron, X, [-1, 1, -1, 1]) == 0.5
    assert nn.accuracy(neuron, X, [0, 1, 1, 0]) == 1.0
    assert nn.accuracy(neuron, X, [0, 1, 1, 0], threshold=0.3) == 0.75  # 0.7 - 0.5 < 0.3

    layer = nn.Layer(1, 3, "linear")
    for n, (w, b) in zip(layer.neurons, [(1.0, 0.0), (-1.0, 0.0), (0.0, 0.5)]):
        set_weights(n, [w], b)
    assert nn.accuracy(layer, [[2.0], [-2.0], [0.1]], [0, 1, 0]) == pytest.approx(2 / 3)


def test_accuracy_errors():
    neuron = nn.Neuron(1, "linear", seed=0)
    with pytest.raises(ValueError, match="labels must be 0/1 or -1/\\+1, got 0.5, 2"):
        nn.accuracy(neuron, [[0.0], [1.0]], [2, 0.5])
    with pytest.raises(ValueError, match="X has 2 samples but y has 1 labels"):
        nn.accuracy(neuron, [[0.0], [1.0]], [1])
    with pytest.raises(ValueError, match="accuracy: X and y are empty"):
        nn.accuracy(neuron, [], [])
    with pytest.raises(ValueError, match="labels must be class indices 0 to 2, got 0, 3"):
        nn.accuracy(nn.Layer(1, 3, seed=0), [[0.0], [1.0]], [0, 3])


@pytest.mark.parametrize("loss, labels, threshold", [
    ("hinge", (-1, 1), 0.0),
    ("hinge", (0, 1), 0.0),
    ("bce", (0, 1), 0.0),
    ("mse", (0, 1), 0.5),   # midway between the targets
    ("mse", (-1, 1), 0.0),
])
def test_training_accuracy_uses_the_losses_decision_rule(moons, loss, labels, threshold):
    X, y = moons
    y = [labels[0] if t < 0 else labels[1] for t in y]
    model = nn.MLP(2, [4, 1], seed=5)
    # lr = 0: the model does not change, so the epoch's accuracy is the model's.
    history = nn.fit(model, X, y, loss=loss, optimizer="sgd", lr=0.0, epochs=1, progress=False)
    assert history.train_accuracy == [nn.accuracy(model, X, y, threshold=threshold)]
    scores = [model(x).data for x in X]
    by_hand = sum((s > threshold) == (t == labels[1]) for s, t in zip(scores, y)) / len(y)
    assert history.train_accuracy == [by_hand]


def test_regression_targets_have_no_accuracy(tmp_path):
    X = [[x / 10] for x in range(-10, 11)]
    y = [math.sin(x[0]) for x in X]
    model = nn.MLP(1, [8, 1], activation="tanh", seed=0)
    history = nn.fit(model, X, y, loss="mse", optimizer="adam", lr=0.05, epochs=60,
                     progress=False)
    assert history.train_accuracy == [] and history.val_accuracy == []
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]
    path = tmp_path / "history.csv"
    history.to_csv(path)
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["epoch", "train_loss", "lr"]


# --- batches, schedules, validation ---------------------------------------------------------

def test_mini_batches_take_one_step_per_batch_and_shuffle_reproducibly(moons):
    X, y = moons
    model = nn.MLP(2, [4, 1], seed=1)
    optimizer = CountingSGD(model.parameters(), lr=0.05)
    nn.fit(model, X, y, optimizer=optimizer, epochs=3, batch_size=32, progress=False)
    assert optimizer.steps == 3 * 4  # ceil(100 / 32) batches per epoch

    def run(seed):
        m = nn.MLP(2, [4, 1], seed=1)
        h = nn.fit(m, X, y, optimizer="sgd", lr=0.05, epochs=3, batch_size=10, seed=seed,
                   progress=False)
        return h.train_loss, m.state_dict()

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_full_batch_takes_one_step_per_epoch(moons):
    X, y = moons
    model = nn.MLP(2, [4, 1], seed=1)
    optimizer = CountingSGD(model.parameters(), lr=0.05)
    nn.fit(model, X, y, optimizer=optimizer, epochs=5, progress=False)
    assert optimizer.steps == 5


def test_scheduler_and_lr_bookkeeping(moons):
    X, y = moons
    model = nn.MLP(2, [4, 1], seed=1)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    schedule = nn.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = nn.fit(model, X, y, optimizer=optimizer, schedule=schedule, epochs=5,
                     progress=False)
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])

    other = nn.MLP(2, [4, 1], seed=1)
    optimizer = nn.optim.SGD(other.parameters(), lr=0.1)
    nn.fit(other, X, y, optimizer=optimizer, lr=0.3, epochs=1, progress=False)
    assert optimizer.lr == 0.3


def test_validation_is_scored_in_eval_mode_after_each_epoch(moons):
    X, y = moons
    model = nn.MLP(2, [16, 16, 1], seed=2, dropout=0.5)
    history = nn.fit(model, X[:70], y[:70], optimizer="sgd", lr=0.05, epochs=3,
                     validation=(X[70:], y[70:]), progress=False)
    assert len(history.val_loss) == len(history.val_accuracy) == 3
    assert all(m.training for m in model.modules())
    model.eval()
    assert history.val_loss[-1] == pytest.approx(nn.hinge([model(x) for x in X[70:]], y[70:]).data,
                                                  abs=1e-12)
    assert history.val_accuracy[-1] == nn.accuracy(model, X[70:], y[70:])
    assert history.best_epoch == min(range(3), key=history.val_loss.__getitem__)


def test_early_stopping_restores_the_best_weights(moons):
    X, y = moons
    flipped = [-t for t in y]  # learning the training set makes this validation set worse
    model = nn.MLP(2, [16, 16, 1], seed=4)
    history = nn.fit(model, X, y, optimizer="sgd", lr=0.1, epochs=50,
                     validation=(X, flipped), early_stopping=3, progress=False)
    best = history.best_epoch
    assert history.val_loss[best] == min(history.val_loss)
    assert history.epochs == best + 3 + 1 < 50
    assert all(v >= history.val_loss[best] for v in history.val_loss[best + 1:])
    restored = nn.hinge([model(x) for x in X], flipped).data
    assert restored == pytest.approx(history.val_loss[best], abs=1e-12)


def test_history_to_csv(tmp_path, moons):
    X, y = moons
    history = nn.fit(nn.MLP(2, [4, 1], seed=1), X[:60], y[:60], optimizer="sgd", lr=0.1,
                     epochs=3, validation=(X[60:], y[60:]), progress=False)
    path = tmp_path / "history.csv"
    history.to_csv(path)
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 3
    assert [float(r["train_loss"]) for r in rows] == history.train_loss
    assert [float(r["val_accuracy"]) for r in rows] == history.val_accuracy
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]


def test_custom_loss_function(moons):
    X, y = moons

    def squared_hinge(scores, labels):
        terms = [(1 - t * s).relu() ** 2 for s, t in zip(scores, labels)]
        return Value.sum(terms) / len(terms)

    model = nn.MLP(2, [8, 1], seed=0)
    history = nn.fit(model, X, y, loss=squared_hinge, optimizer="adam", lr=0.05, epochs=30,
                     progress=False)
    assert history.train_loss[-1] < history.train_loss[0]
    assert len(history.train_accuracy) == 30


# --- progress bar and argument checks ----------------------------------------------------------

def test_progress_bar_shows_loss_and_accuracy(capsys, moons):
    X, y = moons
    nn.fit(nn.MLP(2, [4, 1], seed=1), X[:60], y[:60], optimizer="sgd", lr=0.1, epochs=2,
           validation=(X[60:], y[60:]))
    err = capsys.readouterr().err
    assert "loss=" in err and "acc=" in err and "val_loss=" in err and "val_acc=" in err
    nn.fit(nn.MLP(2, [4, 1], seed=1), X, y, optimizer="sgd", lr=0.1, epochs=2, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(loss="l1"), ValueError, "unknown loss 'l1'"),
    (dict(optimizer="lbfgs"), ValueError, "unknown optimizer 'lbfgs'"),
    (dict(optimizer=object()), TypeError, "optimizer must be a name or an optimizer"),
    (dict(epochs=0), ValueError, "epochs must be at least 1"),
    (dict(epochs=2.5), TypeError, "epochs must be an int"),
    (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
    (dict(early_stopping=3), ValueError, "early_stopping needs validation"),
    (dict(validation=[[0.0, 0.0]]), TypeError, "validation must be a pair"),
    (dict(validation=([[0.0, 0.0]], [1, 1])), ValueError, "X has 1 samples but y has 2"),
    (dict(l2=-1.0), ValueError, "l2 must be a finite number >= 0"),
    (dict(lr=-0.1), ValueError, "lr must be a finite number >= 0"),
    (dict(lr="fast"), TypeError, "lr must be a number"),
    (dict(lr=lambda k: -1.0), ValueError, r"lr\(0\) must be a finite number"),
    (dict(schedule=3), TypeError, "schedule must be a learning-rate scheduler"),
    (dict(schedule=nn.optim.lr_scheduler.StepLR(nn.optim.SGD([Value(0.0)]), 2)), ValueError,
     "schedule must be built on the optimizer passed to fit"),
])
def test_fit_argument_errors(moons, kwargs, error, message):
    X, y = moons
    with pytest.raises(error, match=message):
        nn.fit(nn.MLP(2, [2, 1], seed=0), X[:10], y[:10], progress=False, **kwargs)


def test_fit_data_errors(moons):
    X, y = moons
    model = nn.MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match="X has 10 samples but y has 9 labels"):
        nn.fit(model, X[:10], y[:9], progress=False)
    with pytest.raises(TypeError, match="model must be a module"):
        nn.fit(lambda x: x, X, y, progress=False)
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        nn.fit(model, [[1.0, 2.0, 3.0]], [1], progress=False)


def test_fit_takes_numpy_arrays_as_it_takes_lists():
    import numpy as np

    X, y = nn.data.make_moons(40, noise=0.1, seed=3)
    histories, accuracies = [], []
    for convert in (list, np.array):
        model = nn.MLP(2, [6, 1], seed=5)
        histories.append(nn.fit(model, convert(X), convert(y), lr=0.1, epochs=5,
                                progress=False))
        accuracies.append(nn.accuracy(model, convert(X), convert(y)))
    assert histories[0].train_loss == histories[1].train_loss
    assert histories[0].train_accuracy == histories[1].train_accuracy
    assert accuracies[0] == accuracies[1]


# --- callbacks and Ctrl-C ------------------------------------------------------------

def test_callback_sees_every_epoch_and_can_stop_training(moons):
    X, y = moons
    seen = []

    def callback(epoch, history):
        seen.append((epoch, history.epochs, history.train_loss[-1]))
        return epoch == 2

    history = nn.fit(nn.MLP(2, [4, 1], seed=1), X, y, lr=0.05, epochs=10, callback=callback,
                     progress=False)
    assert [(e, n) for e, n, _ in seen] == [(0, 1), (1, 2), (2, 3)]
    assert [loss for _, _, loss in seen] == history.train_loss
    assert history.epochs == 3 and not history.interrupted
    with pytest.raises(TypeError, match="callback must be a function"):
        nn.fit(nn.MLP(2, [4, 1], seed=1), X, y, epochs=1, callback=3, progress=False)


def test_ctrl_c_stops_after_the_step_under_way(moons):
    import signal

    X, y = moons
    model = nn.MLP(2, [4, 1], seed=1)
    optimizer = CountingSGD(model.parameters(), lr=0.05)
    calls = 0

    def loss(outputs, targets):
        nonlocal calls
        calls += 1
        if calls == 6:              # in the middle of the second epoch's third batch
            signal.raise_signal(signal.SIGINT)
        return nn.hinge(outputs, targets)

    history = nn.fit(model, X, y, loss=loss, optimizer=optimizer, epochs=5, batch_size=25,
                     seed=3, progress=False)
    assert history.interrupted
    assert optimizer.steps == 6     # the step under way was finished, no other was taken
    assert history.epochs == 2      # the second epoch covers the 2 batches trained
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # The same 6 steps taken without an interruption give the same weights.

    class SixSteps(CountingSGD):
        def step(self):
            if self.steps < 6:
                super().step()

    again = nn.MLP(2, [4, 1], seed=1)
    nn.fit(again, X, y, optimizer=SixSteps(again.parameters(), lr=0.05), epochs=2,
           batch_size=25, seed=3, progress=False)
    assert again.state_dict() == model.state_dict()


# --- issue 17: inputs refused before training; nn without tqdm ------------------

@pytest.mark.parametrize("bad", [[math.nan, 0.0], [0.0, -math.inf], [1e308, -1e308]],
                         ids=["nan", "inf", "overflowing"])
def test_fit_refuses_a_point_it_cannot_compute_with_before_training(bad):
    X, y = nn.data.make_moons(20, noise=0.1, seed=0)
    X = [list(row) for row in X]
    X[5] = bad
    model = nn.MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"fit: X\[5\]\[[01]\]"):
        nn.fit(model, X, y, epochs=2, progress=False)
    with pytest.raises(ValueError, match=r"fit: validation X\[5\]\[[01]\]"):
        nn.fit(model, X[:4] + X[6:], y[:4] + y[6:], epochs=2, progress=False,
               validation=(X, y))
    assert model.state_dict() == before


def test_data_sets_refuse_noise_that_makes_points_overflow():
    with pytest.raises(ValueError, match="make_moons"):
        nn.data.make_moons(50, noise=1e308, seed=0)


def test_nn_imports_and_fits_with_only_the_standard_library(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = ("import sys; sys.path[:] = [p for p in sys.path if 'site-packages' not in p]; "
            f"sys.path.insert(0, {str(root)!r}); import nn; "
            "X, y = nn.data.make_moons(20, noise=0.1, seed=0); "
            "h = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=2); "
            "print(repr(h.train_loss)); print('tqdm' in sys.modules)")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    X, y = nn.data.make_moons(20, noise=0.1, seed=0)
    expected = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=False).train_loss
    assert result.stdout.splitlines() == [repr(expected), "False"]
    assert "fit" in result.stderr      # the plain progress lines
