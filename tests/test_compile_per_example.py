"""autograd.compile_per_example: one example traced, every batch replayed, equal to eager."""

import math
import random

import pytest

import autograd
import nn
from autograd import GraphChanged, Value
from nn.data import make_blobs, make_moons

N = 45          # with batches of 7 and 32, the last batch is short


def moons_and_model(n_outputs=1, seed=0):
    X, y = make_moons(N, noise=0.1, seed=seed)
    model = nn.MLP(2, [8, 6, n_outputs], seed=seed + 1)
    return [list(x) for x in X], y, model


def targets_for(loss, y, n_outputs):
    if loss is nn.hinge:
        return [2.0 * t - 1.0 for t in y]
    if loss is nn.cross_entropy:
        return list(y)
    if n_outputs > 1:      # mse/bce with several outputs: one target per output
        return [[float(t), 1.0 - t, 0.5][:n_outputs] for t in y]
    return [float(t) for t in y]


def grads_of(parameters):
    return [p.grad for p in parameters]


def assert_grads_equal(got, expected):
    # Equal to 1e-12 relative; the only difference is the order in which the examples'
    # contributions are added, so a sum that cancels to nearly 0 is held to 1e-12 of the
    # largest gradient instead.
    largest = max(abs(g) for g in expected)
    for a, b in zip(got, expected, strict=True):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12 * largest), (a, b)


LOSSES = [(nn.hinge, 1), (nn.mse, 1), (nn.mse, 3), (nn.binary_cross_entropy_with_logits, 1),
          (nn.binary_cross_entropy_with_logits, 2), (nn.cross_entropy, 3)]


@pytest.mark.parametrize("loss, n_outputs", LOSSES,
                         ids=[f"{loss.__name__}-{k}" for loss, k in LOSSES])
@pytest.mark.parametrize("batch_size", [1, 7, 32, N])
def test_replay_equals_eager_for_every_loss_and_batch_size(loss, n_outputs, batch_size):
    X, y, model = moons_and_model(n_outputs)
    targets = targets_for(loss, y, n_outputs)
    parameters = model.parameters()
    step = autograd.compile_per_example(lambda x, t: loss.per_example(model(x), t))
    traces = []
    for start in range(0, N, batch_size):
        Xb, tb = X[start:start + batch_size], targets[start:start + batch_size]
        model.zero_grad()
        expected = loss([model(x) for x in Xb], tb)
        expected.backward()
        expected_grads = grads_of(parameters)
        model.zero_grad()
        got = step(Xb, tb)
        traces.append(step.source)
        assert math.isclose(got, expected.data, rel_tol=1e-12)
        assert_grads_equal(grads_of(parameters), expected_grads)
        for p in parameters:         # the parameters move between batches
            p.data -= 0.05 * p.grad
    assert all(source is traces[0] for source in traces)   # traced once, short batch too


def test_traced_once_for_batches_of_any_size():
    X, y, model = moons_and_model()
    calls = []

    def example(x, t):
        calls.append(1)
        return nn.hinge.per_example(model(x), t)
    step = autograd.compile_per_example(example, checks=0)
    targets = targets_for(nn.hinge, y, 1)
    for size in (32, 13, 1, 45):
        step(X[:size], targets[:size])
    assert len(calls) == 1


def test_source_size_does_not_grow_with_the_batch():
    X, y, model = moons_and_model()
    targets = targets_for(nn.hinge, y, 1)
    sources = []
    for size in (1, 45):
        step = autograd.compile_per_example(lambda x, t: nn.hinge.per_example(model(x), t))
        step(X[:size], targets[:size])
        sources.append(step.source)
    assert sources[0] == sources[1]


def test_source_for_one_digits_sized_example_is_under_a_megabyte():
    rng = random.Random(0)
    model = nn.MLP(64, [32, 10], seed=0)
    X = [[rng.random() for _ in range(64)] for _ in range(3)]
    step = autograd.compile_per_example(lambda x, t: nn.cross_entropy.per_example(model(x), t))
    step(X, [3, 0, 9])
    assert 10_000 < len(step.source.encode()) < 1_000_000


def test_sum_reduction_and_extras():
    w = Value(0.5)
    step = autograd.compile_per_example(lambda x, t: ((x * w - t) ** 2, [x * w, w]),
                                        reduction="sum")
    loss, extras = step([1.0, 2.0, 4.0], [0.0, 1.0, 1.0])
    assert loss == 0.25 + 0.0 + 1.0
    assert extras == [[0.5, 0.5], [1.0, 0.5], [2.0, 0.5]]
    # d/dw sum (x w - t)^2 = sum 2 (x w - t) x
    assert w.grad == 2 * 0.5 * 1.0 + 0.0 + 2 * 1.0 * 4.0


def test_a_comparison_that_flips_raises_graph_changed_and_accumulates_nothing():
    w = Value(2.0)
    step = autograd.compile_per_example(lambda x: x * w if x > 0 else -x * w, checks=0)
    assert step([1.0, 3.0]) == 4.0
    w.grad = 0.0
    with pytest.raises(GraphChanged, match="comparison made while tracing"):
        step([1.0, -1.0])
    assert w.grad == 0.0


def test_a_branch_on_data_is_caught_on_the_first_examples():
    w = Value(2.0)

    def f(x):
        return x * w if x.data > 0 else x * x * w
    step = autograd.compile_per_example(f)
    with pytest.raises(GraphChanged, match="tracing cannot see"):
        step([1.0, 2.0, -3.0])
    assert w.grad == 0.0


def test_a_number_read_from_a_value_is_caught():
    w = Value(2.0)
    step = autograd.compile_per_example(lambda x: x * w * (x * w).data)
    with pytest.raises(GraphChanged, match="tracing cannot see"):
        step([1.0, 2.0])


def test_leaf_value_arguments_get_their_gradients():
    w = Value(3.0)
    xs = [Value(1.0), Value(-2.0)]
    step = autograd.compile_per_example(lambda x: x * w * x, reduction="sum")
    assert step(xs) == 3.0 + 12.0
    assert [x.grad for x in xs] == [2 * 1.0 * 3.0, 2 * -2.0 * 3.0]
    assert w.grad == 1.0 + 4.0


def test_dropout_draws_new_masks_from_the_same_stream_as_eager():
    X, y, _ = moons_and_model()
    targets = targets_for(nn.hinge, y, 1)

    def run(compiled):
        model = nn.MLP(2, [16, 16, 1], seed=4, dropout=0.5)
        step = autograd.compile_per_example(lambda x, t: nn.hinge.per_example(model(x), t))
        losses, grads = [], []
        for start in range(0, N, 7):
            model.zero_grad()
            Xb, tb = X[start:start + 7], targets[start:start + 7]
            if compiled:
                losses.append(step(Xb, tb))
            else:
                loss = nn.hinge([model(x) for x in Xb], tb)
                loss.backward()
                losses.append(loss.data)
            grads.append(grads_of(model.parameters()))
        return losses, grads

    eager_losses, eager_grads = run(False)
    losses, grads = run(True)
    assert len(set(losses)) == len(losses)           # a new mask each batch
    assert losses == pytest.approx(eager_losses, rel=1e-12)
    for got, expected in zip(grads, eager_grads):
        assert_grads_equal(got, expected)


def test_tracing_inside_no_grad_still_records_the_graph():
    w = Value(2.0)
    step = autograd.compile_per_example(lambda x: x * w)
    with autograd.no_grad():
        assert step.forward([1.0, 3.0]) == 4.0
    assert step([5.0]) == 10.0 and w.grad == 5.0


@pytest.mark.parametrize("columns, error, message", [
    ((), TypeError, "one sequence per argument"),
    (([1.0, 2.0], [1.0]), ValueError, "different numbers of examples: 2, 1"),
    (([],), ValueError, "batch is empty"),
    ((3.0,), TypeError, "argument 0 must be a sequence"),
    ((["a"],), TypeError, r"example 0: argument\[0\] must be a number"),
])
def test_bad_batches(columns, error, message):
    step = autograd.compile_per_example(lambda *args: Value(1.0) * args[0] if args else None)
    with pytest.raises(error, match=message):
        step(*columns)


def test_bad_arguments_to_compile_per_example():
    with pytest.raises(TypeError, match="expected a function"):
        autograd.compile_per_example(3)
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum'"):
        autograd.compile_per_example(lambda x: x, reduction="max")
    with pytest.raises(ValueError, match="checks must be >= 0, got -1"):
        autograd.compile_per_example(lambda x: x, checks=-1)
    with pytest.raises(TypeError, match="checks must be an int, got float"):
        autograd.compile(lambda x: x, checks=1.0)
    with pytest.raises(TypeError, match=r"must return a Value \(or a pair"):
        autograd.compile_per_example(lambda x: 3.0)([1.0])


def test_an_example_shaped_differently_raises_graph_changed():
    step = autograd.compile_per_example(lambda x: Value.sum(x))
    with pytest.raises(GraphChanged, match=r"example 1 is shaped \(\[3 numbers\]\)"):
        step([[1.0, 2.0], [1.0, 2.0, 3.0]])
    assert step([[1.0, 2.0, 3.0]]) == 6.0           # nothing was traced from the bad batch
    with pytest.raises(GraphChanged, match=r"traced for an example shaped \(\[3 numbers\]\)"):
        step([[1.0, 2.0]])


def test_cross_entropy_on_blobs_with_adam_through_fit_matches_eager():
    X, y = make_blobs(60, centers=[[-2.0, -1.0], [2.0, -1.0], [0.0, 2.0]], cluster_std=0.8,
                      seed=0)
    results = []
    for compile in (False, True):
        model = nn.MLP(2, [8, 3], seed=2)
        history = nn.fit(model, X[:45], y[:45], loss="cross_entropy", optimizer="adam",
                         lr=0.05, epochs=4, batch_size=16, validation=(X[45:], y[45:]),
                         progress=False, seed=0, compile=compile)
        results.append((history, [p.data for p in model.parameters()]))
    (eager, eager_params), (compiled, params) = results
    assert compiled.train_loss == pytest.approx(eager.train_loss, rel=1e-9)
    assert compiled.val_loss == pytest.approx(eager.val_loss, rel=1e-9)
    assert compiled.val_accuracy == eager.val_accuracy
    assert params == pytest.approx(eager_params, rel=1e-9)


# --- fit(compile=True) ---------------------------------------------------------------

def fit_both(make_model, X, y, **options):
    results = []
    for compile in (False, True):
        model = make_model()
        history = nn.fit(model, X, y, progress=False, seed=0, compile=compile, **options)
        results.append((history, [p.data for p in model.parameters()]))
    return results


def assert_same_run(results):
    (eager, eager_params), (compiled, params) = results
    for name in ("train_loss", "val_loss"):
        assert getattr(compiled, name) == pytest.approx(getattr(eager, name), rel=1e-9, abs=0)
    for name in ("train_accuracy", "val_accuracy", "lr"):
        assert getattr(compiled, name) == getattr(eager, name)
    assert compiled.best_epoch == eager.best_epoch
    assert params == pytest.approx(eager_params, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("optimizer", sorted(nn.optim.OPTIMIZERS))
@pytest.mark.parametrize("batch_size", [1, 7, 32, None])
def test_fit_compiled_equals_eager_for_every_optimizer_and_batch_size(optimizer, batch_size):
    X, y = make_moons(45, noise=0.1, seed=1)
    epochs = 2 if batch_size == 1 else 4
    assert_same_run(fit_both(lambda: nn.MLP(2, [6, 1], seed=3), X[:36], y[:36],
                             loss="hinge", optimizer=optimizer, epochs=epochs,
                             batch_size=batch_size, l2=1e-3, validation=(X[36:], y[36:])))


@pytest.mark.parametrize("loss, n_outputs", LOSSES,
                         ids=[f"{loss.__name__}-{k}" for loss, k in LOSSES])
def test_fit_compiled_equals_eager_for_every_loss_with_dropout(loss, n_outputs):
    X, y = make_moons(45, noise=0.1, seed=2)
    if loss is not nn.cross_entropy and n_outputs > 1:
        y = targets_for(loss, y, n_outputs)
    assert_same_run(fit_both(lambda: nn.MLP(2, [8, 8, n_outputs], seed=3, dropout=0.25),
                             X[:36], y[:36], loss=loss, optimizer="adam", lr=0.02, epochs=3,
                             batch_size=7, l2=1e-4, validation=(X[36:], y[36:]),
                             early_stopping=2))


def test_fit_compiled_with_a_learning_rate_schedule_and_momentum():
    X, y = make_moons(40, noise=0.1, seed=3)

    def make_model():
        return nn.MLP(2, [6, 1], seed=3)
    results = []
    for compile in (False, True):
        model = make_model()
        sgd = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        history = nn.fit(model, X, y, optimizer=sgd, lr=lambda epoch: 0.1 / (1 + epoch),
                         epochs=3, batch_size=16, progress=False, seed=0, compile=compile)
        results.append((history, [p.data for p in model.parameters()]))
    assert_same_run(results)


def test_fit_compiled_with_a_loss_of_the_users():
    X, y = make_moons(30, noise=0.1, seed=4)
    targets = [2.0 * t - 1.0 for t in y]

    def mean_squared_hinge(outputs, targets):        # a mean over examples: accepted
        return Value.sum([(1.0 - t * o).relu() ** 2 for o, t in zip(outputs, targets)]) \
            / len(outputs)
    assert_same_run(fit_both(lambda: nn.MLP(2, [6, 1], seed=3), X, targets,
                             loss=mean_squared_hinge, epochs=3, batch_size=8))

    def summed(outputs, targets):                    # a sum: refused, not silently scaled
        return Value.sum([(o - t) ** 2 for o, t in zip(outputs, targets)])
    with pytest.raises(ValueError, match="not the mean over examples.*per_example"):
        nn.fit(nn.MLP(2, [6, 1], seed=3), X, targets, loss=summed, epochs=1,
               progress=False, compile=True)
    summed.per_example = lambda output, target: (output - target) ** 2
    summed.reduction = "sum"
    assert_same_run(fit_both(lambda: nn.MLP(2, [6, 1], seed=3), X, targets, loss=summed,
                             lr=0.01, epochs=2, batch_size=8))


def test_fit_compiled_with_a_loss_of_the_users_on_several_outputs():
    X, y = make_blobs(30, centers=[[-2.0, -1.0], [2.0, -1.0], [0.0, 2.0]], seed=0)

    one_hot = [[1.0 if k == t else 0.0 for k in range(3)] for t in y]

    def squares(outputs, targets):                  # calls methods of the outputs' Values
        losses = [Value.sum([(z - t).tanh() ** 2 for z, t in zip(o, ts)])
                  for o, ts in zip(outputs, targets)]
        return Value.sum(losses) / len(losses)
    assert_same_run(fit_both(lambda: nn.MLP(2, [6, 3], seed=1), X, one_hot, loss=squares,
                             optimizer="adam", lr=0.05, epochs=3, batch_size=8))

    def softmax_loss(outputs, targets):             # picks a logit by the target's value
        losses = [Value.sum([z.exp() for z in o]).log() - o[t] for o, t in zip(outputs, targets)]
        return Value.sum(losses) / len(losses)
    with pytest.raises(TypeError, match=r"indexes with its target \(outputs\[t\]\)"):
        nn.fit(nn.MLP(2, [6, 3], seed=1), X, y, loss=softmax_loss, epochs=1, progress=False,
               compile=True)


def test_fit_compiled_checks_every_target_before_training():
    X, y = make_moons(30, noise=0.1, seed=4)
    model = nn.MLP(2, [4, 3], seed=0)
    before = [p.data for p in model.parameters()]
    labels = [t for t in y]
    labels[-1] = 3                                   # not a class of 3 outputs
    with pytest.raises(ValueError, match=r"fit: y\[29\]: .*target 3 is not a class index"):
        nn.fit(model, X, labels, loss="cross_entropy", epochs=1, progress=False,
               compile=True)
    assert [p.data for p in model.parameters()] == before
    with pytest.raises(TypeError, match="compile must be True or False"):
        nn.fit(model, X, y, epochs=1, progress=False, compile="yes")


@pytest.mark.parametrize("dataset", ["moons", "spiral"])
def test_valuegrad_train_compile_writes_the_history_of_eager_training(tmp_path, capsys,
                                                                       dataset):
    import csv

    from nn.cli import main

    histories = []
    for flag in ([], ["--compile"]):
        out = tmp_path / ("compiled" if flag else "eager")
        status = main(["train", "--dataset", dataset, "--epochs", "3", "--samples", "30",
                       "--batch-size", "8", "--hidden", "8", "--out", str(out),
                       "--no-progress", *flag])
        assert status == 0
        with open(out / "history.csv", newline="") as file:
            histories.append(list(csv.DictReader(file)))
    assert "compiled replay" in capsys.readouterr().out
    eager, compiled = histories
    assert len(eager) == len(compiled) == 3
    for eager_row, compiled_row in zip(eager, compiled):
        for key, value in eager_row.items():
            assert float(compiled_row[key]) == pytest.approx(float(value), rel=1e-9), key


def test_leaves_made_inside_the_function_and_a_parameter_chosen_by_data():
    w1, w2 = Value(2.0), Value(3.0)
    # A new leaf on every call (the start of a sum) is fine: its value does not change.
    step = autograd.compile_per_example(lambda x: sum([x * w1, x * x], Value(0.0)))
    assert step([1.0, 2.0, 3.0]) == pytest.approx((3.0 + 8.0 + 15.0) / 3)
    # Choosing a parameter by .data is caught: the replay goes on using the traced one.
    step = autograd.compile_per_example(lambda x: x * (w1 if x.data > 0 else w2))
    with pytest.raises(GraphChanged, match="gives -2.0, the eager engine -3.0"):
        step([1.0, -1.0])
    # Using the parameters in other places is caught too, even where the numbers agree.
    step = autograd.compile_per_example(lambda x: x * w1 + w2 if x.data > 0 else x * w2 + w1)
    w1.data = w2.data = 1.0
    with pytest.raises(GraphChanged, match="uses the parameters in another place"):
        step([1.0, -1.0])


def test_a_relu_that_is_off_skips_its_lines_but_not_a_nan():
    # A wide ReLU unit with gradient 0 passes on only zeros, and the replay skips those
    # lines; with an infinite input, 0 * inf is nan, as eagerly.
    neuron = nn.Neuron(12, "relu", seed=0)
    for p in neuron.w:
        p.data = -abs(p.data)              # off for positive inputs
    rows = [[1.0 + i for i in range(12)], [math.inf] + [1.0] * 11, [-1.0] * 12]
    step = autograd.compile_per_example(lambda x: neuron(x), reduction="sum", checks=0)
    for row in rows:
        neuron.zero_grad()
        expected = neuron(row)
        expected.backward()
        expected_grads = grads_of(neuron.parameters())
        neuron.zero_grad()
        assert step([row]) == expected.data
        got = grads_of(neuron.parameters())
        assert [math.isnan(g) for g in got] == [math.isnan(g) for g in expected_grads]
        assert [g for g in got if not math.isnan(g)] == [
            g for g in expected_grads if not math.isnan(g)]
    assert "if " in step.source


def test_numpy_rows_and_numbers():
    import numpy as np  # a dev dependency
    w = Value(0.5)
    step = autograd.compile_per_example(lambda x, t: (Value.dot([w, w], x) - t) ** 2)
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    loss = step(X, np.array([1, 2]))
    assert loss == pytest.approx(((1.5 - 1) ** 2 + (3.5 - 2) ** 2) / 2, rel=1e-15)
    fitted = nn.fit(nn.MLP(2, [4, 1], seed=0), X, [1, -1], epochs=2, progress=False,
                    compile=True)
    assert fitted.epochs == 2


# --- what a replay must check on every call, as the eager engine does --------------

def hinge_step(model):
    return autograd.compile_per_example(lambda x, t: nn.hinge.per_example(model(x), t))


def test_every_target_of_every_call_is_checked_as_eagerly():
    X, y, model = moons_and_model()
    targets = targets_for(nn.hinge, y, 1)
    step = hinge_step(model)
    step(X, targets)                            # traced and checked on good labels
    bad = list(targets)
    bad[20] = 0.0                               # past the examples checked against eager
    with pytest.raises(ValueError) as eager:
        nn.hinge.per_example(model(X[20]), 0.0)
    model.zero_grad()
    with pytest.raises(ValueError, match="example 20: ") as replay:
        step(X, bad)
    assert str(eager.value) in str(replay.value)
    assert all(p.grad == 0.0 for p in model.parameters())   # nothing accumulated


@pytest.mark.parametrize("target, error", [(7, ValueError), (1.5, TypeError), (-1, ValueError)])
def test_cross_entropy_class_indices_are_checked_on_every_call(target, error):
    X, y, model = moons_and_model(n_outputs=3)
    step = autograd.compile_per_example(
        lambda x, t: nn.cross_entropy.per_example(model(x), t))
    step(X, list(y))
    bad = list(y)
    bad[30] = target
    with pytest.raises(error, match="example 30: cross_entropy: "):
        step(X, bad)
    with pytest.raises(error, match="example 30: cross_entropy: "):
        step.forward(X, bad)


def test_binary_cross_entropy_targets_are_checked_on_every_call():
    X, y, model = moons_and_model()
    step = autograd.compile_per_example(
        lambda x, t: nn.binary_cross_entropy_with_logits.per_example(model(x), t))
    step(X, [float(t) for t in y])
    bad = [float(t) for t in y]
    bad[40] = 5.0
    with pytest.raises(ValueError, match="example 40: .*targets must be in \\[0, 1\\], got 5"):
        step(X, bad)


def test_checked_refuses_a_value_that_is_not_an_argument_while_tracing():
    w = Value(1.0)
    step = autograd.compile_per_example(lambda x: autograd.checked(w, lambda v: None) * x)
    with pytest.raises(ValueError, match="checked: .*argument"):
        step([1.0, 2.0])


def test_an_output_that_is_a_parameter_accumulates_its_gradient():
    w = Value(1.0)
    w.grad = 5.0
    autograd.compile_per_example(lambda x, t: w)([[0.0]] * 4, [0.0] * 4)
    assert w.grad == 6.0
    step = autograd.compile_per_example(lambda x: w, reduction="sum")
    step([0.0, 0.0])
    assert w.grad == 8.0


def dropout_model():
    return nn.MLP(2, [16, 16, 1], seed=3, dropout=0.5)


@pytest.mark.parametrize("forward_only", [False, True])
def test_a_mode_change_after_tracing_is_followed(forward_only):
    X, y, model = moons_and_model()
    model = dropout_model()
    step = autograd.compile_per_example(lambda x: model(x))
    run = step.forward if forward_only else step
    run(X)             # traced in training mode (masks drawn); the checks against eager done
    model.eval()
    expected = [model(x).data for x in X[:5]]
    assert run(X[:5]) == pytest.approx(sum(expected) / 5, rel=1e-12)
    assert not step.program.draws
    model.train()                               # and back: masks again
    run(X[:5])
    assert step.program.draws


def test_a_dropout_probability_changed_after_tracing_is_followed():
    # A Dropout of its own: an MLP refuses dropouts that disagree with its own setting.
    dropout = nn.Dropout(0.5, seed=3)
    layer = nn.Layer(2, 4, seed=3)
    step = autograd.compile_per_example(lambda x: Value.sum(dropout(layer(x))))
    step([[0.5, 0.5]] * 20)
    dropout.p = 0.0
    expected = Value.sum(dropout(layer([0.5, 0.5]))).data
    assert step([[0.5, 0.5]] * 3) == pytest.approx(expected, rel=1e-12)


def test_depends_on_retraces_when_what_it_read_changes():
    mode = {"double": False}
    calls = []

    def f(x):
        calls.append(1)
        return x * 2.0 if autograd.depends_on(lambda: mode["double"]) else x
    step = autograd.compile_per_example(f, checks=0)
    assert step([3.0]) == 3.0
    assert step([3.0]) == 3.0
    mode["double"] = True
    assert step([3.0]) == 6.0
    assert len(calls) == 2


def test_a_flipped_max_over_values_names_the_comparison():
    w = Value(2.0)
    step = autograd.compile_per_example(lambda x: max(x * w, x * x))
    with pytest.raises(GraphChanged, match="comparison made while tracing") as error:
        step([1.0, 3.0])
    assert ".data" not in str(error.value)
