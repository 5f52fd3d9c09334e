"""The `valuegrad` command (train, predict, graph) and the plotting helpers it uses."""

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nn
from autograd import Value
from nn import plots
from nn.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parent.parent
NEURON = ["tanh(x1*w1 + x2*w2 + b)", "x1=2", "x2=0", "w1=-3", "w2=1", "b=6.8813735870195432"]


def run(capsys, *argv):
    """Run the command in-process: (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


def percent(text, name):
    match = re.search(rf"{name} accuracy: ([0-9.]+)%", text)
    assert match, f"no {name} accuracy in {text!r}"
    return float(match.group(1)) / 100


# --- train ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """One short training run on the default data set, shared by the tests that read it."""
    out = tmp_path_factory.mktemp("run") / "moons"
    status = main(["train", "--epochs", "3", "--out", str(out), "--no-progress"])
    assert status == 0
    return out


def test_train_writes_the_five_files(short_run):
    names = sorted(p.name for p in short_run.iterdir())
    assert names == ["decision_boundary.png", "history.csv", "loss.png", "model.json",
                     "report.html"]
    for name in ("decision_boundary.png", "loss.png"):
        assert (short_run / name).read_bytes().startswith(PNG_MAGIC)


def test_history_csv_has_a_header_and_one_row_per_epoch(short_run):
    with open(short_run / "history.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "train_loss", "train_accuracy", "val_loss",
                             "val_accuracy", "lr"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    # micrograd's schedule, 1.0 - 0.9 * epoch / epochs, here over 3 epochs.
    assert [float(r["lr"]) for r in rows] == pytest.approx([1.0, 0.7, 0.4])
    for row in rows:
        assert 0.0 <= float(row["train_accuracy"]) <= 1.0
        assert math.isfinite(float(row["val_loss"]))


def test_saved_model_is_micrograd_demo_recipe(short_run):
    # The documented recipe, rebuilt here with the library: moons(100, noise 0.1, seed
    # 1337), validation seed 1338, MLP(2, [16, 16, 1]) seeded 1337, hinge + 1e-4 L2, SGD.
    X, y = nn.data.make_moons(100, noise=0.1, seed=1337)
    X_val, y_val = nn.data.make_moons(100, noise=0.1, seed=1338)
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    nn.fit(model, X, y, loss="hinge", optimizer="sgd", lr=lambda e: 1.0 - 0.9 * e / 3,
           epochs=3, validation=(X_val, y_val), l2=1e-4, progress=False)
    loaded = nn.load(short_run / "model.json")
    assert loaded.config() == model.config()
    assert loaded.state_dict() == pytest.approx(model.state_dict(), rel=1e-12)
    assert loaded.predict(X + X_val) == model.predict(X + X_val)


def test_train_prints_the_accuracies_of_the_saved_model(tmp_path, capsys):
    status, out, _ = run(capsys, "train", "--epochs", "2", "--samples", "30", "--out", tmp_path,
                         "--no-progress")
    assert status == 0
    model = nn.load(tmp_path / "model.json")
    X, y = nn.data.make_moons(30, noise=0.1, seed=1337)
    X_val, y_val = nn.data.make_moons(30, noise=0.1, seed=1338)
    # Printed as percentages with one decimal.
    assert percent(out, "training") == pytest.approx(nn.accuracy(model, X, y), abs=5e-4)
    assert percent(out, "validation") == pytest.approx(nn.accuracy(model, X_val, y_val),
                                                       abs=5e-4)
    for name in ("decision_boundary.png", "loss.png", "model.json", "history.csv"):
        assert str(tmp_path / name) in out


def test_defaults_reproduce_micrograd_demo_at_full_training_accuracy(tmp_path, capsys):
    status, out, _ = run(capsys, "train", "--out", tmp_path, "--no-progress")
    assert status == 0
    assert "MLP(2, [16, 16, 1]" in out and "100 epochs" in out
    assert percent(out, "training") == 1.0
    # The page replaying it: every epoch, and still small enough to share.
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert len(report.encode()) < 3_000_000
    assert '"epochs":[' + ",".join(str(e) for e in range(101)) + "]" in report
    X, y = nn.data.make_moons(100, noise=0.1, seed=1337)
    assert nn.accuracy(nn.load(tmp_path / "model.json"), X, y) == 1.0
    assert percent(out, "validation") >= 0.95


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])   # momentum is built by hand
def test_other_optimizers_and_a_constant_lr(tmp_path, capsys, optimizer):
    status, out, _ = run(capsys, "train", "--optimizer", optimizer, "--epochs", "2",
                         "--samples", "16", "--batch-size", "8", "--hidden", "4",
                         "--activation", "tanh", "--lr", "0.02", "--out", tmp_path,
                         "--no-progress")
    assert status == 0 and f"{optimizer}, lr 0.02" in out
    with open(tmp_path / "history.csv", newline="") as file:
        assert [float(r["lr"]) for r in csv.DictReader(file)] == [0.02, 0.02]
    assert nn.load(tmp_path / "model.json").config()["activation"] == "tanh"


def test_every_registry_optimizer_trains_with_a_default_lr(tmp_path, capsys):
    # An optimizer with no tuned toy learning rate uses the registry's default.
    assert set(nn.cli.TOY_LR) <= set(nn.optim.OPTIMIZERS)
    untuned = [name for name in nn.optim.OPTIMIZERS if name not in nn.cli.TOY_LR and name != "sgd"]
    for name in untuned:
        status, out, _ = run(capsys, "train", "--optimizer", name, "--epochs", "1", "--samples",
                             "10", "--out", tmp_path, "--no-progress")
        assert status == 0
        assert f"{name}, lr {nn.optim.OPTIMIZERS[name].default_lr:g}," in out


def test_digits_trains_with_its_own_defaults(tmp_path, capsys):
    status, out, _ = run(capsys, "train", "--dataset", "digits", "--epochs", "1", "--out",
                         tmp_path, "--no-progress")
    assert status == 0
    assert "1347 training and 450 held-out images" in out  # 25% of 1797 held out
    assert "adam, lr 0.005, 1 epochs, batches of 32, cross-entropy loss + 0 L2" in out
    model = nn.load(tmp_path / "model.json")
    assert model.config()["nin"] == 64 and model.config()["nouts"] == [32, 10]
    X, y = nn.data.load_digits()
    _, X_val, _, y_val = nn.data.train_test_split(X, y, test_size=0.25, seed=1337)
    assert percent(out, "validation") == pytest.approx(nn.accuracy(model, X_val, y_val),
                                                       abs=5e-4)
    assert percent(out, "validation") > 0.3  # one epoch: far above chance (10%)
    assert (tmp_path / "confusion_matrix.png").read_bytes().startswith(PNG_MAGIC)
    assert not (tmp_path / "decision_boundary.png").exists()


def test_digits_takes_no_samples_count(capsys):
    status, _, err = run(capsys, "train", "--dataset", "digits", "--samples", "100")
    assert status == 2 and "--samples does not apply to digits" in err


@pytest.mark.parametrize("dataset", ["blobs", "spiral"])
def test_three_class_data_sets_get_three_outputs(tmp_path, capsys, dataset):
    status, out, _ = run(capsys, "train", "--dataset", dataset, "--epochs", "2", "--samples",
                         "30", "--hidden", "8", "--out", tmp_path, "--no-progress")
    assert status == 0 and "cross-entropy" in out
    model = nn.load(tmp_path / "model.json")
    assert model.config()["nouts"] == [8, 3]


@pytest.mark.parametrize("dataset", ["circles", "xor"])
def test_two_class_data_sets_get_one_output(tmp_path, capsys, dataset):
    status, out, _ = run(capsys, "train", "--dataset", dataset, "--epochs", "1", "--samples",
                         "20", "--hidden", "4,4", "--out", tmp_path, "--no-progress")
    assert status == 0 and "hinge" in out
    assert nn.load(tmp_path / "model.json").config()["nouts"] == [4, 4, 1]


@pytest.mark.parametrize(("argv", "message"), [
    (["--dataset", "nope"], "argument --dataset: invalid choice: 'nope'"),
    (["--lr", "-0.1"], "argument --lr: must be a positive number, got -0.1"),
    (["--lr", "0"], "argument --lr: must be a positive number"),
    (["--lr", "nan"], "argument --lr: must be a finite number"),
    (["--lr", "fast"], "argument --lr: must be a number, got 'fast'"),
    (["--hidden", "16,x"], "argument --hidden: must be layer widths separated by commas"),
    (["--hidden", "16,0"], "argument --hidden: must be layer widths separated by commas, such "
                           "as 16,16; '0' in '16,0' is not a positive whole number"),
    (["--hidden", ""], "argument --hidden"),
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["--epochs", "-5"], "argument --epochs: must be at least 1"),
    (["--epochs", "2.5"], "argument --epochs: must be a whole number"),
    (["--batch-size", "0"], "argument --batch-size: must be at least 1"),
    (["--samples", "0"], "argument --samples: must be at least 1"),
    (["--l2", "-1"], "argument --l2: must be a number >= 0"),
    (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice"),
    (["--activation", "swish"], "argument --activation: invalid choice"),
    (["--seed", "x"], "argument --seed: must be a whole number, got 'x'"),
    (["--unknown"], "unrecognized arguments: --unknown"),
])
def test_bad_train_arguments_are_usage_errors(capsys, argv, message):
    status, out, err = run(capsys, "train", *argv)
    assert status == 2
    assert f"valuegrad: error: {message}" in err


def test_training_that_diverges_is_a_runtime_error(tmp_path, capsys):
    status, _, err = run(capsys, "train", "--lr", "1e300", "--epochs", "3", "--samples", "10",
                         "--out", tmp_path, "--no-progress")
    assert status == 1
    assert "valuegrad: error: training" in err and "try a smaller --lr" in err
    assert not (tmp_path / "model.json").exists()


def test_an_output_directory_that_cannot_be_made(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    status, _, err = run(capsys, "train", "--epochs", "1", "--out", blocker / "run")
    assert status == 1
    assert f"valuegrad: error: cannot create the output directory {blocker / 'run'}" in err


def test_train_without_matplotlib_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    status, _, err = run(capsys, "train", "--epochs", "1", "--out", tmp_path)
    assert status == 1
    assert "pip install 'valuegrad[plot]'" in err
    assert not list(tmp_path.iterdir())  # it stopped before training


# --- predict ----------------------------------------------------------------------------

def test_predict_prints_the_saved_model_output_and_class(short_run, capsys):
    model = nn.load(short_run / "model.json")
    for point in ([0.0, 1.0], [1.0, -0.5]):
        score = model(point).data
        status, out, _ = run(capsys, "predict", "--model", short_run / "model.json", *point)
        assert status == 0
        assert float(re.search(r"score: (\S+)", out).group(1)) == pytest.approx(score, rel=1e-5)
        assert f"class: {1 if score > 0 else 0}" in out


def test_predict_with_several_outputs_prints_the_argmax(tmp_path, capsys):
    model = nn.MLP(2, [3], seed=0)
    model.save(tmp_path / "m.json")
    scores = [v.data for v in model([0.5, -2.0])]
    status, out, _ = run(capsys, "predict", "--model", tmp_path / "m.json", 0.5, -2.0)
    assert status == 0
    assert f"class: {scores.index(max(scores))}" in out


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read the model file {path}: no such file"),
    ("directory", "cannot read the model file {path}: it is a directory"),
    (b"\xff\xfe\x00binary", "cannot load the model: {path}: "),
    ("{not json", "cannot load the model: {path}: not valid JSON"),
    ('{"weights": [1, 2]}', "cannot load the model: {path}: not a saved model"),
    ('{"format": "valuegrad.nn", "version": 1, "class": "Nope", "config": {}, "state": {}}',
     "cannot load the model: {path}: unknown module class 'Nope'"),
    ("right class and config, missing parameters", "cannot load the model: {path}: "
                                                   "load_state_dict: state does not match MLP"),
])
def test_unreadable_model_files_are_runtime_errors(tmp_path, capsys, content, message):
    path = tmp_path / "model.json"
    if content == "directory":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None and content.startswith("right class"):
        model = nn.MLP(2, [1])
        path.write_text(json.dumps({"format": "valuegrad.nn", "version": 1, "class": "MLP",
                                    "config": model.config(), "state": {"w0": 1.0}}))
    elif content is not None:
        path.write_text(content)
    status, _, err = run(capsys, "predict", "--model", path, 1, 2)
    assert status == 1
    assert "valuegrad: error: " + message.format(path=path) in err


@pytest.mark.parametrize(("inputs", "status", "message"), [
    (["1"], 2, "the model takes 2 inputs, got 1"),
    (["1", "2", "3"], 2, "the model takes 2 inputs, got 3"),
    (["1", "inf"], 2, "argument X: must be a finite number"),
    ([], 2, "the following arguments are required: X"),
])
def test_predict_input_errors(short_run, capsys, inputs, status, message):
    code, _, err = run(capsys, "predict", "--model", short_run / "model.json", *inputs)
    assert code == status
    assert f"valuegrad: error: {message}" in err


@pytest.mark.parametrize("second", ["-1e-3", "-1E+2", "-1e308", "-.5", "-2"])
def test_predict_takes_negative_numbers_as_inputs(tmp_path, capsys, second):
    # One linear neuron: score = 2 * x0 + 3 * x1 + 0.5, computed here by hand.
    model = nn.MLP(2, [1], activation="linear", seed=0)
    model.load_state_dict({name: value for name, value in
                           zip(model.state_dict(), [2.0, 3.0, 0.5])})
    model.save(tmp_path / "m.json")
    status, out, err = run(capsys, "predict", "--model", tmp_path / "m.json", "0.1", second)
    assert status == 0, err
    assert f"score: {2 * 0.1 + 3 * float(second) + 0.5:.6g}" in out


@pytest.mark.parametrize("text", ["-inf", "-Infinity", "-nan"])
def test_predict_negative_non_finite_inputs_are_refused_as_inputs(tmp_path, capsys, text):
    nn.MLP(2, [1], seed=0).save(tmp_path / "m.json")
    status, _, err = run(capsys, "predict", "--model", tmp_path / "m.json", "0.1", text)
    assert status == 2
    assert f"valuegrad: error: argument X: must be a finite number, got '{text}'" in err


def test_predict_a_fifo_as_model_is_refused(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    # In a process of its own: a command that opened the FIFO would wait for a writer.
    result = subprocess.run([sys.executable, "-m", "nn.cli", "predict", "--model", str(fifo),
                             "1", "2"], capture_output=True, text=True, timeout=20,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert (f"valuegrad: error: cannot load the model: {fifo}: not a regular file (a FIFO)"
            in result.stderr)


@pytest.mark.parametrize(("argv", "option"), [
    (["train", "--epochs", "1", "--no-progress", "--out", ""], "--out"),
    (["graph", "x", "x=1", "--out", ""], "--out"),
    (["predict", "--model", "", "1", "2"], "--model"),
])
def test_an_empty_path_is_refused(tmp_path, capsys, monkeypatch, argv, option):
    monkeypatch.chdir(tmp_path)   # where an empty path would have written
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert f"valuegrad: error: argument {option}: must not be empty" in err
    assert list(tmp_path.iterdir()) == []


def test_predict_needs_a_model(capsys):
    status, _, err = run(capsys, "predict", "1", "2")
    assert status == 2 and "the following arguments are required: --model" in err


# --- graph ------------------------------------------------------------------------------

def table(out):
    """The printed table as {name: (value, gradient)}."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] != "variable" and "=" not in line:
            rows[parts[0]] = (float(parts[1]), float(parts[2]))
    return rows


def test_graph_prints_values_and_gradients_computed_by_hand(tmp_path, capsys):
    path = tmp_path / "graph.svg"
    status, out, _ = run(capsys, "graph", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88",
                         "--out", path)
    assert status == 0
    # n = x*w + b = 0.88; out = tanh(n); d out/d n = 1 - tanh(n)^2;
    # d n/d x = w, d n/d w = x, d n/d b = 1.
    t = math.tanh(0.88)
    d = 1 - t * t
    assert float(out.splitlines()[0].split("=")[-1]) == pytest.approx(t, rel=1e-7)
    rows = table(out)
    assert rows["x"] == pytest.approx((2.0, -3.0 * d), rel=1e-7)
    assert rows["w"] == pytest.approx((-3.0, 2.0 * d), rel=1e-7)
    assert rows["b"] == pytest.approx((6.88, d), rel=1e-7)
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for name in ("x", "w", "b", "x * w + b", "tanh"):
        assert name in texts
    assert f"wrote {path}" in out


def test_graph_png_and_a_new_directory(tmp_path, capsys):
    path = tmp_path / "new" / "neuron.png"
    status, out, _ = run(capsys, "graph", *NEURON, "--out", path)
    assert status == 0
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert table(out)["w1"] == pytest.approx((-3.0, 1.0))   # x1 * (1 - 0.5), by hand


def test_graph_svg_is_byte_identical_across_runs(tmp_path, capsys):
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    assert run(capsys, "graph", *NEURON, "--out", first)[0] == 0
    assert run(capsys, "graph", *NEURON, "--out", second)[0] == 0
    assert first.read_bytes() == second.read_bytes()


def test_graph_of_a_number_and_of_a_lone_variable(tmp_path, capsys):
    status, out, _ = run(capsys, "graph", "2 * 3", "--out", tmp_path / "g.svg")
    assert status == 0 and out.startswith("2 * 3 = 6")
    status, out, _ = run(capsys, "graph", "x", "x=4", "--out", tmp_path / "g.svg")
    assert status == 0 and table(out)["x"] == (4.0, 1.0)


def test_graph_expression_starting_with_minus_after_double_dash(tmp_path, capsys):
    status, out, _ = run(capsys, "graph", "--out", tmp_path / "g.svg", "--", "-x*y", "x=2",
                         "y=5")
    assert status == 0 and table(out) == {"x": (2.0, -5.0), "y": (5.0, -2.0)}


@pytest.mark.parametrize(("expression", "what", "column"), [
    ("__import__('os')", "unknown function '__import__'", 1),
    ("x.__class__", "attribute access", 2),
    ("[1]", "list", 1),
    ("lambda: 1", "lambda", 1),
    ("x if x else x", "conditional expression (if/else)", 1),
    ("f(x)", "unknown function 'f'", 1),
    ("exp(x, y=1)", "keyword argument y= in exp(...)", 8),
    ("1 < 2", "comparison", 1),
    ("'x'", "string", 1),
    ("open('/etc/passwd').read()", "calling the result of attribute access", 1),
])
def test_graph_refuses_everything_outside_the_whitelist(tmp_path, capsys, expression, what,
                                                         column):
    path = tmp_path / "g.svg"
    status, _, err = run(capsys, "graph", expression, "x=1", "--out", path)
    assert status == 2
    assert f"valuegrad: error: not allowed in an expression: {what} at column {column}" in err
    # The expression is shown with a caret under the column.
    lines = err.splitlines()
    assert lines[-2] == f"  {expression}" and lines[-1] == "  " + " " * (column - 1) + "^"
    assert not path.exists()


@pytest.mark.parametrize(("argv", "status", "message"), [
    (["x +", "x=1"], 2, "invalid syntax at column 4"),
    (["x" + " + x" * 3000, "x=1"], 2, "the expression is too long"),
    (["--", "-" * 300 + "x", "x=1"], 2, "the expression is nested too deeply"),
    (["x * w", "x=1"], 2, "no value given for variable w"),
    (["x * w"], 2, "no value given for variables x, w"),
    (["x", "x=1", "y=2"], 2, "variable y not in the expression (its variables: x)"),
    (["x", "x"], 2, "expected NAME=VALUE (such as x=2, no spaces around =), got 'x'"),
    (["x", "x=one"], 2, "the value of x must be a number, got 'one'"),
    (["x", "x=nan"], 2, "the value of x must be a finite number"),
    (["x", "x=1", "x=2"], 2, "x is given twice"),
    (["x", "1x=2"], 2, "'1x' in '1x=2' is not a variable name"),
    (["x", "x=1", "--out", "g.pdf"], 2, "--out must end in .svg, .png or .html, got 'g.pdf'"),
    (["log(x)", "x=-1"], 1, "cannot compute log(x) (column 1): log(-1.0): the input is "
                            "outside its domain"),
    (["1 / x", "x=0"], 1, "cannot compute 1 / x (column 3): /(1.0, 0.0): division by zero"),
    (["2 ** x", "x=5000"], 1, "cannot compute 2 ** x (column 3): **(2.0, 5000.0): the result "
                              "overflows"),
])
def test_graph_errors(tmp_path, capsys, argv, status, message):
    if "--out" not in argv:
        argv = ["--out", tmp_path / "g.svg", *argv]
    code, _, err = run(capsys, "graph", *argv)
    assert code == status
    assert f"valuegrad: error: {message}" in err
    assert not (tmp_path / "g.svg").exists()


def test_graph_too_big_to_draw(tmp_path, capsys):
    terms = ["x"] * 512
    while len(terms) > 1:   # a balanced sum: 511 additions, but only 9 levels deep
        terms = [f"({a}+{b})" for a, b in zip(terms[::2], terms[1::2])]
    status, _, err = run(capsys, "graph", terms[0], "x=1", "--out", tmp_path / "g.svg")
    assert status == 2
    assert "valuegrad: error: the expression makes 512 nodes, too many to draw" in err


def test_graph_without_a_renderer_says_how_to_get_one(tmp_path, capsys, monkeypatch):
    from autograd import render

    monkeypatch.setattr(render, "available_route", lambda: None)
    status, out, err = run(capsys, "graph", "x * 2", "x=1", "--out", tmp_path / "g.svg")
    assert status == 1
    assert "valuegrad: error: cannot render the graph" in err
    assert "pip install 'valuegrad[render]'" in err
    assert table(out)["x"] == (1.0, 2.0)   # the numbers were still printed


# --- the command as a whole -----------------------------------------------------------

def test_help_and_version(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "train" in out and "graph" in out and "predict" in out
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0 and "micrograd" in out
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.startswith("valuegrad ")


def test_no_command_is_a_usage_error(capsys):
    status, _, err = run(capsys)
    assert status == 2 and "valuegrad: error: the following arguments are required" in err
    status, _, err = run(capsys, "fly")
    assert status == 2 and "invalid choice: 'fly'" in err


def installed_script() -> Path:
    script = Path(sys.executable).parent / "valuegrad"
    assert script.exists(), "the console script is not installed: run pip install -e ."
    return script


def test_the_installed_script(tmp_path):
    path = tmp_path / "neuron.svg"
    done = subprocess.run([installed_script(), "graph", *NEURON, "--out", path],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert table(done.stdout)["x1"] == pytest.approx((2.0, -1.5))   # w1 * (1 - tanh^2)
    assert path.exists()
    failed = subprocess.run([installed_script(), "graph", "x.__class__", "x=1"],
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode == 2
    assert "valuegrad: error: not allowed in an expression: attribute access" in failed.stderr
    assert "Traceback" not in failed.stderr


# --- the plotting helpers ---------------------------------------------------------------

def boundary_vertices(ax):
    """Every vertex of the boundary lines (the unfilled contours) drawn on `ax`."""
    from matplotlib.contour import ContourSet

    return [vertex for artist in ax.collections
            if isinstance(artist, ContourSet) and not artist.filled
            for path in artist.get_paths() for vertex in path.vertices.tolist()]


def test_decision_boundary_of_a_known_line():
    # score = x1 - 2 x2: the boundary is the line x1 = 2 x2, class 1 below it.
    def model(point):
        return Value(point[0]) - 2.0 * Value(point[1])

    X = [[0.0, 1.0], [1.0, 0.0], [-1.0, -1.0], [2.0, 0.5]]
    y = [0, 1, 1, 1]
    figure, ax = plots.new_figure()
    assert plots.plot_decision_boundary(model, X, y, ax=ax, resolution=40) is ax
    line = boundary_vertices(ax)
    assert len(line) >= 2
    for a, b in line:   # linear interpolation of a linear score finds its zero line exactly
        assert a - 2 * b == pytest.approx(0.0, abs=1e-9)
    assert ax.get_title() == "training accuracy 100.0%"
    assert ax.get_xlabel() and ax.get_ylabel()


def test_decision_boundary_title_counts_mistakes_and_validation():
    def model(point):
        return Value(point[0])   # class 1 exactly where x1 > 0

    X, y = [[1.0, 0.0], [-1.0, 0.0], [2.0, 1.0], [-2.0, 1.0]], [1, 0, 0, 0]
    figure, ax = plots.new_figure()
    # Validation labels may be -1/+1: -1 is class 0.
    plots.plot_decision_boundary(model, X, y, ax=ax, resolution=10,
                                 validation=([[3.0, 3.0], [-3.0, 3.0]], [-1, -1]))
    assert ax.get_title() == "training accuracy 75.0%, validation 50.0%"


def test_decision_boundary_with_three_classes():
    def model(point):   # the largest of x1, x2 and 0.5
        return [Value(point[0]), Value(point[1]), Value(0.5)]

    figure, ax = plots.new_figure()
    plots.plot_decision_boundary(model, [[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]], [0, 1, 2],
                                 ax=ax, resolution=30)
    assert ax.get_title() == "training accuracy 100.0%"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["class 0", "class 1", "class 2", "training"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"resolution": 1}, "resolution must be an int >= 2"),
    ({"margin": -1.0}, "margin must be a finite number >= 0"),
    ({"X": [[1.0, 2.0, 3.0]], "y": [0]}, "every point must have 2 coordinates"),
    ({"X": [[1.0, 2.0]], "y": [0, 1]}, "y must be a list of 1 labels"),
    ({"X": [[1.0, 2.0]], "y": [0.5]}, "labels must be class numbers"),
])
def test_decision_boundary_argument_errors(kwargs, message):
    arguments = {"X": [[0.0, 0.0], [1.0, 1.0]], "y": [0, 1], **kwargs}
    with pytest.raises(ValueError, match=message):
        plots.plot_decision_boundary(lambda p: Value(p[0]), **arguments)


def test_plot_history_draws_what_was_recorded():
    history = nn.History(train_loss=[3.0, 2.0, 1.0], val_loss=[3.5, 2.5, 2.6],
                         train_accuracy=[0.5, 0.75, 1.0], val_accuracy=[0.5, 0.5, 0.75],
                         best_epoch=1)
    figure, axes = plots.new_figure(ncols=2)
    assert plots.plot_history(history, axes, title="run") is figure
    loss_lines = {line.get_label(): list(line.get_ydata()) for line in axes[0].lines}
    assert loss_lines["training"] == [3.0, 2.0, 1.0]
    assert loss_lines["validation"] == [3.5, 2.5, 2.6]
    assert loss_lines["lowest validation loss (epoch 2)"] == [0, 1]   # axvline: y from 0 to 1
    accuracy = {line.get_label(): line for line in axes[1].lines}
    assert list(accuracy["training"].get_xdata()) == [1, 2, 3]
    assert axes[1].get_ylabel() == "accuracy"


def test_plot_history_errors():
    figure, ax = plots.new_figure()
    with pytest.raises(ValueError, match="no epochs"):
        plots.plot_history(nn.History(), ax)
    with pytest.raises(ValueError, match="needs 2 Axes"):
        plots.plot_history(nn.History(train_loss=[1.0], train_accuracy=[0.5]), ax)


def test_pyplot_figures_when_no_axes_are_given():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plots.plot_decision_boundary(lambda p: Value(p[1]), [[0.0, -1.0], [0.0, 1.0]], [0, 1],
                                      resolution=5)
    figure = plots.plot_history(nn.History(train_loss=[1.0, 0.5]))
    assert len(figure.axes) == 1   # no accuracies: only the loss panel
    plt.close(ax.figure)
    plt.close(figure)


def test_model_json_is_plain_json(short_run):
    document = json.loads((short_run / "model.json").read_text())
    assert document["class"] == "MLP" and document["config"]["nouts"] == [16, 16, 1]


def test_percentages_never_round_up_to_everything():
    from nn.cli import _percent

    assert [_percent(f) for f in (1.0, 0.99, 0.995, 0.9999, 1 / 3, 0.0)] == \
        ["100%", "99%", "99.5%", "99.9%", "33.3%", "0%"]
