"""What a careless or hostile user sends, at every entry point: each gets a clear, one-line
error, fast and within bounded memory, and nothing is left half-done.

Model files and load_state_dict, atomic writes, every `valuegrad` option, the expression
language, draw_dot labels, rendering's time limit, and Ctrl-C (a real SIGINT).
"""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

import nn
from autograd import Value, draw_dot
from autograd import render as render_module
from autograd.expression import Expression, ExpressionError
from nn import module as nn_module
from nn._files import write_atomically
from nn.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    """The command in-process: (exit status, stdout, stderr); never a traceback."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


def error_line(err: str) -> str:
    """The one `valuegrad: error:` line of stderr."""
    lines = [line for line in err.splitlines() if line.startswith("valuegrad: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def saved_document(**changes):
    model = nn.MLP(2, [3, 1], seed=0)
    document = {"format": "valuegrad.nn", "version": 1, "class": "MLP",
                "config": model.config(), "state": model.state_dict()}
    document.update(changes)
    return document


def write_json(path, document):
    path.write_text(json.dumps(document))
    return path


class Bounded:
    """Measures the time and the largest Python allocation of the block."""

    def __enter__(self):
        tracemalloc.start()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.started
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return False


def load_in_a_process(path, prelude=""):
    """What nn.load(path) says in a process of its own, which cannot hang the tests."""
    code = (f"import os, sys, nn\n{prelude}\n"
            "try:\n    nn.load(sys.argv[1])\n"
            "except ValueError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, timeout=20, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- model files ----------------------------------------------------------------------

def test_dev_zero_is_refused_before_it_is_opened():
    with pytest.raises(ValueError, match=r"^/dev/zero: not a regular file \(a character "
                                         r"device\)"):
        nn.load("/dev/zero")


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    path = write_json(tmp_path / "m.json", saved_document())
    monkeypatch.setattr(nn_module, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(ValueError, match="larger than"):
        nn.load(path)


def test_json_nested_100000_levels_is_refused_at_once(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with Bounded() as bound, pytest.raises(ValueError, match="nested 100000 levels deep"):
        nn.load(path)
    assert bound.seconds < 5


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    document = saved_document()
    document["note"] = '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \\" {{{{{{{{{{{{{{{{{{{{{{{{{{'
    model = nn.load(write_json(tmp_path / "m.json", document))
    assert model.state_dict() == document["state"]


def test_an_unclosed_string_of_escaped_quotes_is_measured_in_linear_time(tmp_path):
    # '["\\"\\"\\"...' never closes: a scanner that retries every quote is quadratic
    # (1 MB took about 50 minutes); a linear one answers at once.
    path = tmp_path / "quotes.json"
    path.write_text('["' + '\\"' * (2**19))
    assert path.stat().st_size > 2**20
    assert load_in_a_process(path).startswith(f"{path}: not valid JSON")


def test_json_exactly_at_the_depth_limit_loads_and_one_past_it_is_refused(tmp_path):
    # The document itself is one level; "note" adds the rest. The limit is 20 levels.
    document = saved_document(note=json.loads("[" * 19 + "]" * 19))
    model = nn.load(write_json(tmp_path / "m20.json", document))
    assert model.state_dict() == document["state"]
    document = saved_document(note=json.loads("[" * 20 + "]" * 20))
    with pytest.raises(ValueError, match=r"nested 21 levels deep, more than the 20 "):
        nn.load(write_json(tmp_path / "m21.json", document))


@pytest.mark.parametrize("where", ["top", "state"])
def test_duplicate_keys_are_refused(tmp_path, where):
    text = json.dumps(saved_document())
    if where == "top":
        text = text.replace('"version": 1,', '"version": 1, "version": 1,')
        key = "version"
    else:
        text = text.replace('"layers.0.neurons.0.b": 0.0',
                            '"layers.0.neurons.0.b": 0.0, "layers.0.neurons.0.b": 5.0')
        key = "layers.0.neurons.0.b"
    assert text.count(f'"{key}"') == 2
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: duplicate key '{key}'"):
        nn.load(path)


@pytest.mark.parametrize("version", [True, 1.0, "1", 2, None])
def test_a_version_other_than_the_int_1_is_refused(tmp_path, version):
    path = write_json(tmp_path / "m.json", saved_document(version=version))
    with pytest.raises(ValueError, match=rf"unsupported version {re.escape(repr(version))} "):
        nn.load(path)


def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    # Opening a FIFO for reading waits for a writer: if load opened it, this would hang.
    assert load_in_a_process(fifo) == f"{fifo}: not a regular file (a FIFO)\n"
    # Not even opened without waiting (opening some devices does something).
    never_open = ("import builtins\n"
                  "def refuse(*args, **kwargs): raise SystemExit('opened')\n"
                  "os.open = builtins.open = refuse\n")
    assert load_in_a_process(fifo, never_open) == f"{fifo}: not a regular file (a FIFO)\n"


def test_a_file_swapped_for_a_fifo_after_the_check_is_still_not_waited_for(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    # os.stat answers as if a regular file stood there when load looked.
    prelude = ("real_stat = os.stat\n"
               "os.stat = lambda path, *a, **k: real_stat(sys.executable if "
               "os.fspath(path) == sys.argv[1] else path, *a, **k)\n")
    assert load_in_a_process(fifo, prelude) == f"{fifo}: not a regular file (a FIFO)\n"


def test_a_file_that_reports_a_small_size_is_still_read_at_most_one_byte_past_the_limit(
        tmp_path, monkeypatch):
    # Files in /proc, or on some network file systems, report a size of 0 whatever they hold.
    path = write_json(tmp_path / "m.json", saved_document())
    monkeypatch.setattr(nn_module, "MAX_FILE_BYTES", path.stat().st_size - 1)
    real_fstat = os.fstat

    def size_zero(descriptor):
        result = real_fstat(descriptor)
        return os.stat_result((*result[:6], 0, *result[7:]))

    monkeypatch.setattr(os, "fstat", size_zero)
    with pytest.raises(ValueError, match=r"larger than \d+ bytes"):
        nn.load(path)


@pytest.mark.parametrize("number", ["9" * 400, "-" + "9" * 5000])
def test_huge_integers_are_a_clear_error(tmp_path, number):
    text = json.dumps(saved_document()).replace('"layers.0.neurons.0.b": 0.0',
                                                f'"layers.0.neurons.0.b": {number}')
    assert number in text
    path = tmp_path / "m.json"
    path.write_text(text)
    digits = len(number.lstrip("-"))
    with pytest.raises(ValueError, match=rf"an integer of {digits} digits \(at most 30\)"):
        nn.load(path)


@pytest.mark.parametrize("literal", ["1e999", "NaN", "-Infinity"])
def test_non_finite_parameters_are_refused(tmp_path, literal):
    text = json.dumps(saved_document()).replace('"layers.0.neurons.0.b": 0.0',
                                                f'"layers.0.neurons.0.b": {literal}')
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="'layers.0.neurons.0.b' must be finite"):
        nn.load(path)


@pytest.mark.parametrize("config", [{"nouts": [30_000_000, 1]}, {"nin": 10**12}])
def test_huge_models_are_refused_before_anything_is_allocated(tmp_path, config):
    document = saved_document()
    document["config"].update(config)
    path = write_json(tmp_path / "m.json", document)
    with Bounded() as bound, pytest.raises(ValueError, match="more than"):
        nn.load(path)
    assert bound.seconds < 5 and bound.peak < 4 * 2**20   # the model would take gigabytes


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "subprocess.Popen", "Module",
                                  "nn.module.Module", "nn.module.MLP", "nn.MLP", "json.loads",
                                  "__main__.Module", ""])
def test_class_names_can_only_name_module_classes(tmp_path, name):
    path = write_json(tmp_path / "m.json", saved_document(**{"class": name}))
    with pytest.raises(ValueError, match="unknown module class"):
        nn.load(path)


def test_a_file_that_fails_to_load_leaves_the_model_unchanged(tmp_path):
    model = nn.MLP(2, [3, 1], seed=1)
    before = model.state_dict()
    document = saved_document()
    document["state"]["layers.1.neurons.0.b"] = "x"
    with pytest.raises(ValueError, match="must be a number, got str"):
        model.load(write_json(tmp_path / "m.json", document))
    assert model.state_dict() == before


def test_load_state_dict_refuses_huge_ints_and_leaves_the_model_unchanged():
    model = nn.MLP(2, [3, 1], seed=1)
    before = model.state_dict()
    state = dict(before)
    state["layers.0.neurons.2.w1"] = 10**400
    with pytest.raises(ValueError, match=r"'layers.0.neurons.2.w1' is too large for a float "
                                         r"\(about 10\*\*400\)"):
        model.load_state_dict(state)
    assert model.state_dict() == before


@pytest.mark.parametrize("build", [lambda: nn.MLP(2, [100_000, 100_000]),
                                   lambda: nn.MLP(1, [1] * 1_000_001),
                                   lambda: nn.Layer(10**12, 1), lambda: nn.Neuron(10**7)])
def test_building_a_huge_model_is_refused_before_allocating(build):
    with Bounded() as bound, pytest.raises(ValueError, match="MAX_PARAMETERS"):
        build()
    # The arguments ([1] * 1_000_001 is 8 MB) are made inside; the models would take gigabytes.
    assert bound.seconds < 1 and bound.peak < 16 * 2**20


def test_parameter_count_matches_the_built_model():
    for cls, config in [(nn.MLP, {"nin": 3, "nouts": [4, 5, 2]}), (nn.Layer, {"nin": 3,
                        "nout": 7}), (nn.Neuron, {"nin": 6}), (nn.Dropout, {"p": 0.1})]:
        assert cls.parameter_count(**config) == len(cls(**config).parameters())


# --- writing files atomically ---------------------------------------------------------

def test_save_does_not_follow_a_planted_temporary_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "model.json.tmp").symlink_to(victim)
    model = nn.MLP(2, [3, 1], seed=0)
    model.save(tmp_path / "model.json")
    assert victim.read_text() == "precious"
    assert nn.load(tmp_path / "model.json").state_dict() == model.state_dict()


def test_save_replaces_a_link_at_the_target_instead_of_writing_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "model.json").symlink_to(victim)
    nn.MLP(2, [1], seed=0).save(tmp_path / "model.json")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "model.json").is_symlink()


def test_temporary_names_are_unique_and_in_the_target_folder(tmp_path, monkeypatch):
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (renamed.append(a), real_replace(a, b)))
    for _ in range(2):
        nn.MLP(2, [1], seed=0).save(tmp_path / "model.json")
    assert len(set(renamed)) == 2
    assert all(Path(name).parent == tmp_path for name in renamed)


@pytest.mark.parametrize("write", [
    lambda path: nn.MLP(2, [1], seed=0).save(path),
    lambda path: nn.History(train_loss=[1.0]).to_csv(path),
    lambda path: write_atomically(path, b"data"),
])
def test_a_failed_rename_names_the_file_and_leaves_no_temporary_file(tmp_path, write):
    target = tmp_path / "model.json"
    target.mkdir()   # os.replace cannot put a file over a directory
    with pytest.raises(OSError, match=rf"cannot write {re.escape(str(target))}: "):
        write(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_ctrl_c_while_writing_leaves_no_temporary_file(tmp_path, monkeypatch):
    def interrupted(a, b):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(tmp_path / "out.bin", b"data")
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_the_usual_permissions(tmp_path):
    write_atomically(tmp_path / "a", "text")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o666 & ~umask


# --- every valuegrad option -------------------------------------------------------------

@pytest.mark.parametrize(("argv", "message"), [
    # 2-100000-100000-1: 3 * 100000 + 100001 * 100000 + 100001 * 1 parameters.
    (["--hidden", "100000,100000"], "argument --hidden: MLP: 10,000,500,001 parameters, more "
                                    "than the 1,000,000"),
    (["--hidden", "2000000"], "argument --hidden: a layer of 2,000,000 neurons"),
    (["--hidden", ",".join(["1"] * 5000)], "argument --hidden: at most 1000 layers"),
    (["--samples", "100000000"], "argument --samples: must be at most 100,000"),
    (["--batch-size", "100000000"], "argument --batch-size: must be at most 100,000"),
    (["--epochs", "10000000"], "argument --epochs: must be at most 1,000,000"),
    (["--seed", "9" * 5000], "argument --seed: must be a whole number of at most 30 digits"),
    (["--epochs", "9" * 5000], "argument --epochs: must be a whole number of at most 30"),
    (["--lr", "nan"], "argument --lr: must be a finite number"),
    (["--lr", "1e999"], "argument --lr: must be a finite number"),
    (["--l2=-inf"], "argument --l2: must be a finite number"),
    (["--samples", "١٠"], "argument --samples: must be a whole number"),   # Arabic digits
])
def test_train_options_beyond_their_limits_are_usage_errors(capsys, argv, message):
    import matplotlib  # noqa: F401  (train checks for it first: imported before measuring)

    with Bounded() as bound:
        status, _, err = run(capsys, "train", *argv)
    assert status == 2
    line = error_line(err)
    assert line.startswith(f"valuegrad: error: {message}")
    assert len(line) < 300
    assert bound.seconds < 10 and bound.peak < 20 * 2**20


def test_train_with_a_layer_too_wide_to_compile_still_draws(capsys, tmp_path):
    # 3000 neurons: Python cannot compile the replay code, so plotting falls back.
    status, _, err = run(capsys, "train", "--hidden", "3000", "--epochs", "1", "--samples",
                         "10", "--out", tmp_path, "--no-progress")
    assert status == 0, err
    assert (tmp_path / "decision_boundary.png").read_bytes().startswith(b"\x89PNG")


def test_train_out_with_a_nul_character_is_a_clear_error(capsys):
    status, _, err = run(capsys, "train", "--epochs", "1", "--out", "runs/a\x00b")
    assert status == 1
    assert "cannot create the output directory" in error_line(err)


def test_predict_from_dev_zero_is_a_clear_error(capsys):
    status, _, err = run(capsys, "predict", "--model", "/dev/zero", "1", "2")
    assert status == 1
    assert "/dev/zero: not a regular file (a character device)" in error_line(err)


@pytest.mark.parametrize("inputs", [["nan", "1"], ["1e999", "1"]])
def test_predict_refuses_non_finite_inputs(capsys, tmp_path, inputs):
    nn.MLP(2, [1], seed=0).save(tmp_path / "m.json")
    status, _, err = run(capsys, "predict", "--model", tmp_path / "m.json", *inputs)
    assert status == 2
    assert "must be a finite number" in error_line(err)


@pytest.mark.parametrize(("expression", "values", "message"), [
    ("x*x", ["x=1e200"], "cannot compute 'x*x' at 'x * x': the result is inf, not a finite"),
    ("1/(x*x)", ["x=1e200"], "cannot compute '1/(x*x)' at 'x * x': the result is inf"),
    ("sqrt(x)", ["x=0"], "the gradient of 'sqrt(x)' with respect to x: it is inf"),
    ("exp(x)", ["x=1000"], "cannot compute exp(x)"),
])
def test_graph_non_finite_results_are_errors_like_an_overflowing_exp(capsys, tmp_path,
                                                                       expression, values,
                                                                       message):
    status, _, err = run(capsys, "graph", expression, *values, "--out", tmp_path / "g.svg")
    assert status == 1
    assert message in error_line(err)
    assert not (tmp_path / "g.svg").exists()


def test_graph_names_are_normalized_alike_in_expression_and_assignments(capsys, tmp_path):
    status, out, err = run(capsys, "graph", "ﬁ*2", "ﬁ=3", "--out", tmp_path / "g.svg")
    assert status == 0, err
    assert "ﬁ*2 = 6" in out
    assert re.search(r"^fi\s+3\s+2$", out, re.MULTILINE)


def test_graph_one_name_written_two_ways_is_an_error_not_a_merge(capsys, tmp_path):
    status, _, err = run(capsys, "graph", "𝑥 + x", "x=1", "--out", tmp_path / "g.svg")
    assert status == 2
    assert "'𝑥' and 'x' are the same name 'x' after Unicode normalization" in error_line(err)
    status, _, err = run(capsys, "graph", "x", "x=1", "𝑥=2", "--out", tmp_path / "g.svg")
    assert status == 2
    assert "x is given twice ('𝑥' is 'x' after Unicode normalization)" in error_line(err)


def test_graph_a_variable_used_150_times_renders_in_seconds(capsys, tmp_path):
    started = time.monotonic()
    status, out, err = run(capsys, "graph", "+".join(["x"] * 150), "x=1",
                           "--out", tmp_path / "g.svg")
    assert status == 0, err
    assert re.search(r"^x\s+1\s+150$", out, re.MULTILINE)
    assert (tmp_path / "g.svg").read_bytes().startswith(b"<?xml")
    assert time.monotonic() - started < 60   # was over 300 s


@pytest.mark.parametrize("out", ["a\x00b.svg", "missing-dir/../\x00.svg"])
def test_graph_out_with_a_nul_character_is_a_clear_error(capsys, out):
    status, _, err = run(capsys, "graph", "x*2", "x=1", "--out", out)
    assert status == 1
    assert "cannot write" in error_line(err)


@pytest.mark.parametrize("argv", [["x", "x=" + "1" * 5000 + "x"], ["9" * 5000],
                                  ["x", "x=1", "y" * 5000 + "=1"], ["y" * 5000, "x=1"]])
def test_graph_long_names_and_values_are_shown_short(capsys, argv):
    status, _, err = run(capsys, "graph", *argv)
    assert status == 2
    assert len(error_line(err)) < 300


# --- the expression language ------------------------------------------------------------

def test_expression_names_are_nfkc_normalized_in_the_values_too():
    assert Expression("ﬁ*2").evaluate({"ﬁ": 3}).data == 6.0
    assert Expression("ﬁ*2").evaluate({"fi": 3}).data == 6.0
    assert Expression("𝑥*2").variables == ("x",)
    with pytest.raises(ValueError, match="given twice"):
        Expression("x*2").evaluate({"x": 1, "𝑥": 2})
    with pytest.raises(ExpressionError, match="same name 'x'"):
        Expression("x * 𝑥")


def test_expression_using_one_variable_150_times_backpropagates_exactly():
    x = Value(1.5)
    out = Expression("+".join(["x"] * 150)).evaluate({"x": x})
    out.backward()
    assert out.data == 225.0 and x.grad == 150.0


# --- draw_dot labels --------------------------------------------------------------------

HOSTILE_LABELS = ["a\x00b", "a\ud800b", "line1\nline2", 'q"uote', "<script>alert(1)</script>",
                  "} -> evil [label=x]; {", "back\\", '\\"', "\\l\\n\\N\\G", "]]>", "\u202eRTL",
                  "<b>html</b>", "é😀", "x" * 500]


def test_hostile_labels_give_valid_dot_and_no_markup_in_the_svg():
    leaves = [Value(1.0, label=label) for label in HOSTILE_LABELS]
    out = Value.sum(leaves)
    out.label = "<script>"
    graph = draw_dot(out)
    graph.source.encode("utf-8")   # no lone surrogate left
    svg = graph.pipe(format="svg").decode("utf-8")
    assert "<script" not in svg and "<b>" not in svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for shown in [r"a\x00b", r"a\ud800b", r"line1\nline2", "q&quot;uote",
                  "&lt;script&gt;alert(1)&lt;/script&gt;", "} &#45;&gt; evil [label=x]; {",
                  "back\\", r"\u202eRTL", "é😀", "x" * 59 + "…"]:
        assert shown in texts, shown
    # Every label stayed inside its own node: one node per Value, one per operation.
    assert svg.count('class="node') == len(leaves) + 2


# --- rendering: a time limit, and Ctrl-C ------------------------------------------------

def slow_dot(uses: int = 120) -> str:
    """DOT that takes dot minutes to lay out: one node with edges to every link of a chain."""
    chain = " -> ".join(f"n{i}" for i in range(2 * uses))
    edges = "; ".join(f"x -> n{2 * i}" for i in range(uses))
    return f"digraph {{ rankdir=LR; {chain}; {edges} }}"


def test_the_webassembly_layout_is_stopped_at_the_time_limit_and_rendering_goes_on():
    if render_module.available_route() != "wasm":
        pytest.skip("the system dot is on PATH; test_viz covers its time limit")
    started = time.monotonic()
    with pytest.raises(render_module.RenderError, match="took longer than 1 s and was stopped"):
        render_module.render(slow_dot(), timeout=1)
    assert time.monotonic() - started < 10
    assert render_module.render("digraph { a -> b }").startswith(b"<?xml")


CTRL_C_RENDER = """
import sys
from autograd import render
render.render("digraph { a -> b }")   # loaded before the clock starts
print("rendering", flush=True)
try:
    render.render(sys.argv[1], timeout=600)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    print(render.render("digraph { a -> b }")[:5].decode(), flush=True)
"""


def interrupt_when(process: subprocess.Popen, line: str, delay: float) -> list[str]:
    """Send SIGINT `delay` seconds after `process` prints `line`; its stdout lines so far."""
    seen = []
    for text in process.stdout:
        seen.append(text.rstrip("\n"))
        if text.startswith(line):
            break
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    return seen


def test_ctrl_c_stops_a_long_rendering():
    process = subprocess.Popen([sys.executable, "-c", CTRL_C_RENDER, slow_dot()],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=ROOT)
    interrupt_when(process, "rendering", 1.0)
    started = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - started < 10, "Ctrl-C did not stop the layout"
    assert process.returncode == 0, err
    assert out.split() == ["interrupted", "<?xml"]


def test_ctrl_c_during_train_writes_the_model_and_history_so_far(tmp_path):
    out_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "nn.cli", "train", "--epochs", "1000000", "--out",
         str(out_dir), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    interrupt_when(process, "training:", 2.0)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    match = re.search(r"interrupted during epoch (\d+): wrote the model and history trained "
                      r"so far to ", err)
    assert match, err
    epochs = int(match.group(1))
    assert epochs >= 1
    with open(out_dir / "history.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == epochs
    model = nn.load(out_dir / "model.json")
    assert model.config()["nouts"] == [16, 16, 1]
    assert sorted(p.name for p in out_dir.iterdir()) == ["history.csv", "model.json"]


@pytest.mark.parametrize("text", ["+".join(["x*y"] * 80),
                                  "+".join(f"x*{i}*y+z" for i in range(40))])
def test_values_used_many_times_at_many_depths_render_within_the_limit(text):
    names = ("x", "y", "z")
    out = Expression(text).evaluate({n: 1.0 for n in names if n in Expression(text).variables})
    svg = draw_dot(out).pipe(format="svg")   # a RenderError if over the time limit
    assert svg.startswith(b"<?xml")


def test_threads_rendering_at_once_each_get_their_own_picture():
    from concurrent.futures import ThreadPoolExecutor

    def picture(i: int) -> bytes:
        x = Value(float(i), label=f"input{i}")
        return draw_dot(x * 2).pipe(format="svg")

    with ThreadPoolExecutor(4) as pool:
        pictures = list(pool.map(picture, range(8)))
    for i, svg in enumerate(pictures):
        assert f"input{i}".encode() in svg
