"""The HTML pages, read as text: what the graph page and the training replay contain.

What they do in a browser is tested in test_browser.py.
"""

from __future__ import annotations

import base64
import html
import json
import re
import sys

import pytest
from graphs import neuron

import nn
from autograd import GraphPage, Value, backward_steps, step_through, topological_order
from nn.cli import main
from nn.report import LEVELS, TrainingReplay


def page_data(page: str, element: str = "steps-data") -> dict:
    match = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', page,
                      re.DOTALL)
    assert match, f"no #{element} in the page"
    return json.loads(match.group(1))


def chain(terms: int) -> Value:
    """A sum of products with 4 * terms + 1 Values, which lays out quickly."""
    v = Value(0.0, label="start")
    for i in range(terms):
        v = v + Value(0.1 * i, label=f"a{i}") * Value(-0.2 * i, label=f"b{i}")
    return v


# --- the graph page ---------------------------------------------------------------------

def test_page_steps_are_the_forward_pass_then_backward_steps():
    values = neuron()
    page = step_through(values["o"])
    data = page_data(page.html)
    order = topological_order(values["o"])
    assert [n["name"] for n in data["nodes"]] == [str(v.label) for v in order]
    # The forward pass: one step per operation, in topological order.
    assert [step["text"] for step in data["forward"]] == [
        "x1*w1 = x1 * w1 = -6.0", "x2*w2 = x2 * w2 = 0.0",
        "x1*w1 + x2*w2 = x1*w1 + x2*w2 = -6.0", "n = x1*w1 + x2*w2 + b = 0.8814",
        "o = tanh(n) = 0.7071"]
    # The backward pass: exactly what backward_steps explains, step by step.
    expected = list(backward_steps(neuron()["o"]))
    assert [s["explanation"] for s in data["backward"]] == [s.explanation for s in expected]
    assert data["backward"][0]["heading"] == "o (tanh)"
    # By hand (see test_viz): do/dn = 0.5, passed through the sums; dw1 = x1 * 0.5 = 1.0.
    last = {data["nodes"][i]["name"]: after for step in data["backward"]
            for i, after in zip(step["operands"], step["after"])}
    assert last == {"n": "0.5", "x1*w1 + x2*w2": "0.5", "b": "0.5", "x1*w1": "0.5",
                    "x2*w2": "0.5", "x1": "-1.5", "w1": "1.0", "x2": "0.5", "w2": "0.0"}
    assert page.steps == 2 + 5 + 5
    assert data["rootGrad"] == "1.0"


def test_page_starts_clean_and_leaves_every_grad_as_it_was():
    values = neuron()
    values["o"].backward()
    values["o"].backward()   # the leaves now hold twice one pass's gradient
    order = topological_order(values["o"])
    before = [v.grad for v in order]
    assert values["w1"].grad == pytest.approx(2.0)
    data = page_data(step_through(values["o"]).html)
    assert [v.grad for v in order] == before
    # ... and the page shows one pass from zero, not a third one on top.
    w1 = [v.label for v in order].index("w1")
    shown = [after for step in data["backward"] for i, after in
             zip(step["operands"], step["after"]) if i == w1]
    assert shown == ["1.0"]
    assert all(before == "0.0" for step in data["backward"][:1] for before in step["before"])


def test_page_of_a_fresh_graph_leaves_the_gradients_at_zero():
    values = neuron()
    step_through(values["o"])
    assert all(v.grad == 0.0 for v in topological_order(values["o"]))


def test_page_draws_the_svg_once_and_inlines_everything():
    page = step_through(neuron()["o"]).html
    assert page.count("<svg") == 1
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    # Nothing fetched: no URL to load from anywhere (the SVG namespaces are names, not loads).
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", page)
    assert "@import" not in page and "url(" not in page
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg",
                                                       "http://www.w3.org/1999/xlink"]


def test_page_sizes():
    small = step_through(neuron()["o"]).html.encode()
    assert len(small) < 200_000
    big = chain(124)
    assert len(topological_order(big)) == 497
    page = step_through(big)
    assert page.steps == 2 + 2 * 124 * 2
    assert len(page.html.encode()) < 2_000_000


@pytest.mark.parametrize("label", ["<script>alert(1)</script>", 'say "hi" & \'bye\'',
                                   "two\nlines", "</script><script>alert(2)</script>",
                                   "x" * 3000, "%JS% %SVG% %DATA%"])
def test_hostile_labels_are_text(label):
    x = Value(2.0, label=label)
    y = x * Value(3.0, label="w")
    y.label = label
    page = step_through(y, title=label).html
    # Two scripts: the data and the code; no label adds a tag.
    assert len(re.findall(r"<script\b", page, re.IGNORECASE)) == 2
    assert len(re.findall(r"</script", page, re.IGNORECASE)) == 2
    assert "alert(1)</" not in page and "alert(2)</" not in page
    data = page_data(page)
    assert data["nodes"][0]["name"] == label
    assert f"<h1>{html.escape(label)}</h1>" in page
    assert page.count("<svg") == 1 and page.count("function show(") == 1


def test_both_pages_are_made_of_the_package_files_and_share_one_stylesheet():
    from importlib import resources

    def text(package, name):
        return resources.files(package).joinpath("pages").joinpath(name).read_text("utf-8")

    graph = step_through(neuron()["o"]).html
    X, y = [[0.0, 0.0], [1.0, 1.0]], [0, 1]
    replay = TrainingReplay(line_model, X, y, resolution=4)
    training = replay.html(nn.History(train_loss=[]))
    css = text("autograd", "page.css")
    for page in (graph, training):
        assert page.count("<style>") == 1 and f"<style>{css}</style>" in page
    assert text("autograd", "graph.js") in graph
    assert text("nn", "training.js") in training
    # The view's markup is a file of its own, which a page around the view can reuse.
    before_svg = text("autograd", "step-through.html").partition("%SVG%")[0]
    assert before_svg and before_svg in graph
    assert '<body class="graph-page">' in graph and '<body class="training-page">' in training


def test_graph_page_offers_its_view_and_data_for_another_page():
    page = step_through(neuron()["o"])
    assert page.view.count("<svg") == 1 and page.view in page.html
    assert page.data == page_data(page.html)
    assert 'id="next"' in page.view and "<script" not in page.view


def test_repr_html_is_the_page_in_an_iframe():
    page = step_through(neuron()["o"])
    shown = page._repr_html_()
    match = re.fullmatch(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts" .*></iframe>', shown,
                         re.DOTALL)
    assert match and html.unescape(match.group(1)) == page.html


def test_save_html_writes_the_page(tmp_path):
    page = step_through(neuron()["o"])
    path = page.save_html(tmp_path / "new" / "graph.html")
    assert path.read_text(encoding="utf-8") == page.html


def test_step_through_needs_no_ipywidgets(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)   # import ipywidgets now fails
    assert isinstance(step_through(neuron()["o"]), GraphPage)


def test_step_through_bad_input():
    with pytest.raises(TypeError, match="root must be a Value, got float"):
        step_through(1.0)
    with pytest.raises(TypeError, match="title must be a str"):
        step_through(Value(1.0), title=3)
    big = chain(5)
    big.backward()
    grads = [v.grad for v in topological_order(big)]
    with pytest.raises(ValueError, match="more than max_nodes=10"):
        step_through(big, max_nodes=10)
    assert [v.grad for v in topological_order(big)] == grads
    with pytest.raises(ValueError, match="rankdir"):
        step_through(big, rankdir="up")
    assert [v.grad for v in topological_order(big)] == grads
    with pytest.raises(TypeError, match="gradient"):
        step_through(big, gradient="one")
    assert [v.grad for v in topological_order(big)] == grads


def test_graph_command_writes_the_page(tmp_path, capsys):
    path = tmp_path / "graph.html"
    status = main(["graph", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88", "--out", str(path)])
    assert status == 0 and f"wrote {path}" in capsys.readouterr().out
    page = path.read_text(encoding="utf-8")
    assert "<h1>tanh(x*w + b)</h1>" in page
    data = page_data(page)
    names = [n["name"] for n in data["nodes"]]
    assert {"x", "w", "b"} <= set(names)
    # The command ran backward() before drawing; the page still shows one clean pass.
    w = names.index("w")
    assert [a for s in data["backward"] for i, a in zip(s["operands"], s["after"]) if i == w] \
        == ["1.002"]   # x * (1 - tanh(0.88)^2) = 2 * 0.50098


# --- the training replay ----------------------------------------------------------------

def line_model(p):
    """Class 1 right of x1 = 0.3, by a margin that grows with the distance."""
    return Value(p[0]) - 0.3


def test_replay_grid_is_the_models_prediction():
    X = [[-1.0, -1.0], [1.0, 1.0]]
    replay = TrainingReplay(line_model, X, [0, 1], resolution=10, margin=0.0)
    grid = replay.snapshots[0]
    assert len(grid) == 100
    for j in range(10):
        for i in range(10):
            x = -1.0 + 2.0 * (i + 0.5) / 10
            cls, level = divmod(grid[j * 10 + i], LEVELS)
            assert cls == (1 if x > 0.3 else 0)
            # The scores are [-s, s]: the lead is 2|s|, full strength at 2.
            assert level == min(LEVELS - 1, int(2 * abs(x - 0.3) / 2.0 * LEVELS))


def test_replay_keeps_every_epoch_or_evenly_spaced_ones():
    X, y = [[0.0, 0.0], [1.0, 1.0]], [0, 1]
    every = TrainingReplay(line_model, X, y, epochs=30, resolution=4)
    for epoch in range(30):
        every(epoch, None)
    assert sorted(every.snapshots) == list(range(31))
    spaced = TrainingReplay(line_model, X, y, epochs=1000, snapshots=50, resolution=4)
    for epoch in range(1000):
        spaced(epoch, None)
    kept = sorted(spaced.snapshots)
    assert len(kept) == 51 and kept[0] == 0 and kept[1] == 1 and kept[-1] == 1000
    gaps = {b - a for a, b in zip(kept[1:], kept[2:])}
    assert gaps <= {20, 21}


def test_replay_bad_input():
    with pytest.raises(ValueError, match="resolution must be at least 2"):
        TrainingReplay(line_model, [[0.0, 0.0]], [0], resolution=1)
    with pytest.raises(TypeError, match="snapshots must be an int"):
        TrainingReplay(line_model, [[0.0, 0.0]], [0], snapshots=2.5)
    with pytest.raises(ValueError, match="every point must have 2 coordinates"):
        TrainingReplay(line_model, [[0.0, 0.0, 1.0]], [0])
    with pytest.raises(ValueError, match="margin"):
        TrainingReplay(line_model, [[0.0, 0.0]], [0], margin=float("nan"))


def test_replay_page_holds_the_run():
    X, y = nn.data.make_moons(30, noise=0.1, seed=0)
    X_val, y_val = nn.data.make_moons(30, noise=0.1, seed=1)
    model = nn.MLP(2, [8, 1], seed=0)
    replay = TrainingReplay(model, X, y, validation=(X_val, y_val), epochs=6, resolution=12)
    history = nn.fit(model, X, y, epochs=6, lr=0.5, validation=(X_val, y_val), progress=False,
                     callback=replay)
    page = replay.html(history, title="<b>run</b>", settings={"optimizer": "sgd & <more>",
                                                              "note": "%JS%"})
    data = page_data(page, "run-data")
    assert data["epochs"] == [0, 1, 2, 3, 4, 5, 6]
    assert [len(base64.b64decode(g)) for g in data["grids"]] == [144] * 7
    assert data["trainLoss"] == pytest.approx(history.train_loss, rel=1e-5)
    assert data["valAccuracy"] == pytest.approx(history.val_accuracy, rel=1e-5)
    assert data["lr"] == [0.5] * 6
    assert [p[2] for p in data["points"]] == y
    assert "<h1>&lt;b&gt;run&lt;/b&gt;</h1>" in page
    assert "<td>sgd &amp; &lt;more&gt;</td>" in page and "<td>%JS%</td>" in page
    # The last grid is the trained model's prediction at the cell centres.
    low, high = data["low"], data["high"]
    last = base64.b64decode(data["grids"][-1])
    for j in (0, 5, 11):
        for i in (0, 6, 11):
            point = [low[0] + (high[0] - low[0]) * (i + 0.5) / 12,
                     low[1] + (high[1] - low[1]) * (j + 0.5) / 12]
            assert last[j * 12 + i] // LEVELS == model.predict([point], labels=(0, 1))[0]


def test_train_command_writes_the_report(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "4", "--samples", "20", "--out", str(out),
                 "--no-progress"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    data = page_data(page, "run-data")
    assert data["epochs"] == [0, 1, 2, 3, 4]
    # micrograd's schedule over 4 epochs, in effect at each epoch.
    assert data["lr"] == pytest.approx([1.0, 0.775, 0.55, 0.325])
    for text in ("MLP(2, [16, 16, 1]", "moons (noise 0.1)", "hinge + 0.0001 L2", "seed"):
        assert text in page
