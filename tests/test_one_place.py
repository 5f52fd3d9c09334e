"""One place for each decision in nn: optimizer names, schedules, batches, labels, eval mode."""

import random
import re
from pathlib import Path

import pytest
import torch

import nn
from autograd import Value, is_grad_enabled
from nn.cli import build_parser
from nn.module import evaluating, output_label
from nn.optim import OPTIMIZERS, SGD, make_optimizer
from nn.optim.lr_scheduler import LambdaLR, StepLR

NN = Path(nn.__file__).resolve().parent


@pytest.fixture(scope="module")
def moons():
    X, y = nn.data.make_moons(60, noise=0.1, seed=0)
    return X, [2 * t - 1 for t in y]


# --- the optimizer registry -----------------------------------------------------------------

@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_name_builds_its_class_with_its_settings(name):
    preset = OPTIMIZERS[name]
    params = [Value(1.0), Value(2.0)]
    optimizer = make_optimizer(name.upper(), params, lr=0.25)
    assert type(optimizer) is preset.optimizer and optimizer.params == params
    assert optimizer.lr == 0.25
    for key, value in preset.settings.items():
        assert optimizer.param_groups[0][key] == value
    assert make_optimizer(name, [Value(0.0)]).lr == preset.default_lr


def test_momentum_is_a_preset_sgd_with_momentum_and_sgds_default_lr():
    preset = OPTIMIZERS["momentum"]
    assert preset.optimizer is SGD and dict(preset.settings) == {"momentum": 0.9}
    assert preset.default_lr == 1e-3  # torch.optim.SGD's documented default
    with pytest.raises(TypeError):
        preset.settings["momentum"] = 0.5  # the registry cannot be changed by accident


def test_fit_with_the_momentum_name_equals_sgd_with_momentum(moons):
    X, y = moons
    a, b = nn.MLP(2, [8, 1], seed=1), nn.MLP(2, [8, 1], seed=1)
    ha = nn.fit(a, X, y, optimizer="momentum", lr=0.05, epochs=4, batch_size=16, seed=3,
                progress=False)
    hb = nn.fit(b, X, y, optimizer=SGD(b.parameters(), lr=0.05, momentum=0.9), epochs=4,
                batch_size=16, seed=3, progress=False)
    assert a.state_dict() == b.state_dict() and ha.train_loss == hb.train_loss


def test_fit_and_the_command_accept_exactly_the_registry_names(moons):
    X, y = moons
    for name in OPTIMIZERS:
        nn.fit(nn.MLP(2, [2, 1], seed=0), X[:8], y[:8], optimizer=name, epochs=1,
               progress=False)
    with pytest.raises(ValueError, match="use one of " + ", ".join(OPTIMIZERS)):
        nn.fit(nn.MLP(2, [2, 1], seed=0), X[:8], y[:8], optimizer="lbfgs", progress=False)
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    action = next(a for a in train._actions if "--optimizer" in a.option_strings)
    assert list(action.choices) == list(OPTIMIZERS)
    for name, preset in OPTIMIZERS.items():
        assert f"{name}: {preset}" in action.help


def test_the_readme_lists_the_registry_names():
    text = " ".join((NN.parent / "README.md").read_text().split())
    sentence = re.search(r"accept are the keys of `nn.optim.OPTIMIZERS`: (.*?)\. ", text)
    assert sentence, "the README no longer says which optimizer names are accepted"
    assert re.findall(r"`(\w+)`", sentence.group(1)) == list(OPTIMIZERS)


def test_no_other_list_of_optimizer_names_in_nn():
    # A name followed by another name or by a class's name, as in ("sgd", "momentum") or
    # {"sgd": "SGD"}, would be a second copy of the registry.
    names = "|".join(OPTIMIZERS)
    classes = "|".join({preset.optimizer.__name__ for preset in OPTIMIZERS.values()})
    pattern = re.compile(rf"""["'](?:{names})["']\s*[,:]\s*["'](?:{names}|{classes})["']""")
    for path in NN.rglob("*.py"):
        if path.name != "optimizers.py":
            assert not pattern.search(path.read_text()), f"{path.name} lists optimizer names"


# --- one schedule mechanism -----------------------------------------------------------------

def demo_schedule(k):
    return 1.0 - 0.9 * k / 5


def test_an_lr_function_is_the_same_as_lambda_lr_and_as_setting_lr_by_hand(moons):
    X, y = moons
    by_function = nn.MLP(2, [8, 8, 1], seed=5)
    h1 = nn.fit(by_function, X, y, optimizer="sgd", lr=demo_schedule, epochs=5, l2=1e-4,
                progress=False)

    by_scheduler = nn.MLP(2, [8, 8, 1], seed=5)
    optimizer = SGD(by_scheduler.parameters(), lr=1.0)
    h2 = nn.fit(by_scheduler, X, y, optimizer=optimizer,
                schedule=LambdaLR(optimizer, demo_schedule), epochs=5, l2=1e-4, progress=False)

    by_hand = nn.MLP(2, [8, 8, 1], seed=5)
    params = by_hand.parameters()
    optimizer = SGD(params, lr=1.0)
    losses = []
    for epoch in range(5):
        optimizer.lr = demo_schedule(epoch)
        data_loss = nn.hinge([by_hand(x) for x in X], y)
        loss = data_loss + nn.l2_penalty(params, 1e-4)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(data_loss.data)

    assert by_function.state_dict() == by_scheduler.state_dict() == by_hand.state_dict()
    assert h1.train_loss == h2.train_loss == losses
    assert h1.lr == h2.lr == [demo_schedule(k) for k in range(5)]


def test_an_lr_function_is_asked_only_about_epochs_that_train(moons):
    X, y = moons
    rates = [0.1, 0.05, 0.02]
    asked = []

    def lr(epoch):
        asked.append(epoch)
        return rates[epoch]  # an IndexError past the last epoch

    history = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, optimizer="adam", lr=lr, epochs=3,
                     progress=False)
    assert history.lr == rates and max(asked) == 2


def test_an_lr_function_and_a_schedule_together_are_refused(moons):
    X, y = moons
    model = nn.MLP(2, [4, 1], seed=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="pass either it or schedule"):
        nn.fit(model, X, y, optimizer=optimizer, lr=demo_schedule,
               schedule=StepLR(optimizer, 2), progress=False)


def test_a_negative_lr_later_on_names_the_epoch(moons):
    X, y = moons
    with pytest.raises(ValueError, match=r"fit: lr\(2\) must be a finite number >= 0"):
        nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, lr=lambda k: 0.1 - 0.06 * k, epochs=4,
               progress=False)


def test_schedules_also_drive_pytorch_optimizers():
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.5)
    schedule = StepLR(optimizer, step_size=1, gamma=0.5)
    schedule.step()
    assert optimizer.param_groups[0]["lr"] == 0.25
    with pytest.raises(TypeError, match="optimizer must be an nn.optim optimizer"):
        StepLR(object(), step_size=1)


# --- fit draws its batches from nn.data.batches ---------------------------------------------

def test_fit_trains_on_the_batches_of_nn_data_batches(moons):
    X, _ = moons
    seen = []

    def recording_mse(outputs, targets):
        seen.append(list(targets))
        return nn.mse(outputs, targets)

    numbers = [float(i) for i in range(len(X))]  # each target names its sample
    model = nn.MLP(2, [2, 1], seed=0)
    nn.fit(model, X, numbers, loss=recording_mse, optimizer="sgd", lr=0.0, epochs=3,
           batch_size=16, seed=9, progress=False)
    rng = random.Random(9)
    expected = [list(b) for _ in range(3)
                for _, b in nn.data.batches(X, numbers, batch_size=16, seed=rng)]
    assert seen == expected and sorted(expected[0] + expected[1]) != expected[0] + expected[1]

    seen.clear()
    nn.fit(model, X, numbers, loss=recording_mse, optimizer="sgd", lr=0.0, epochs=2,
           progress=False)
    assert seen == [numbers, numbers]  # a full batch keeps the order: micrograd's sum


# --- one decision rule for class labels -----------------------------------------------------

def test_output_label_on_values_and_numbers():
    assert output_label(Value(0.3)) == output_label(0.3) == 1
    assert output_label(Value(-0.3)) == output_label(0.0) == 0
    assert output_label(0.4, threshold=0.5, labels=(-1, 1)) == -1
    assert output_label([Value(1.0), Value(3.0), Value(3.0)]) == output_label([1, 3, 3]) == 1
    with pytest.raises(TypeError, match="a Value or a non-empty list"):
        output_label([])


def test_predict_accuracy_confusion_matrix_and_the_command_agree(tmp_path, capsys):
    X, y = nn.data.make_blobs(40, centers=[[-2, 0], [2, 0], [0, 3]], seed=2)
    model = nn.MLP(2, [6, 3], seed=4)
    nn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.05, epochs=5,
           progress=False)
    predicted = model.predict(X)
    matrix = nn.confusion_matrix(model, X, y)
    assert sum(map(sum, matrix)) == len(X)
    assert sum(matrix[k][k] for k in range(3)) / len(X) == nn.accuracy(model, X, y)
    for k in range(3):
        assert matrix[k] == [sum(1 for p, t in zip(predicted, y) if t == k and p == j)
                             for j in range(3)]
    model.save(tmp_path / "model.json")
    for x, p in list(zip(X, predicted))[:5]:
        assert nn.cli.main(["predict", "--model", str(tmp_path / "model.json"),
                            *map(str, x)]) == 0
        assert capsys.readouterr().out.strip().endswith(f"class: {p}")


def test_no_other_argmax_in_nn():
    # The rule lives in output_label; anything else computing an argmax is a second copy.
    for path in NN.rglob("*.py"):
        text = path.read_text()
        count = len(re.findall(r"max\(range\(", text))
        assert count == (1 if path.name == "module.py" else 0), path.name


# --- evaluation mode --------------------------------------------------------------------------

def test_evaluating_can_keep_the_graph_for_tracing_and_restores_the_modes():
    model = nn.MLP(2, [4, 1], seed=0, dropout=0.5)
    with evaluating(model, graph=True):
        assert not any(m.training for m in model.modules()) and is_grad_enabled()
        assert model([1.0, 2.0]).children  # a graph was recorded
    with evaluating(model):
        assert not is_grad_enabled()
    assert all(m.training for m in model.modules()) and is_grad_enabled()


def test_plots_switch_modes_only_through_evaluating():
    text = (NN / "plots.py").read_text()
    assert "training = " not in text and ".eval()" not in text
