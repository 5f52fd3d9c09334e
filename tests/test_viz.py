"""Drawing graphs, rendered with no Graphviz program on PATH (the WebAssembly route)."""

import html
import os
import re
import shutil
import time

import graphviz
import pytest
from graphs import neuron

from autograd import (
    Constant,
    RendererNotFoundError,
    Value,
    backward_steps,
    draw_dot,
    topological_order,
)
from autograd import render as render_module
from autograd.viz import Frames, ValueGraph, backward_frames, forward_frames

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REAL_WHICH = shutil.which


@pytest.fixture(autouse=True)
def no_system_dot(monkeypatch):
    """Behave as on a machine without Graphviz, even where `dot` is installed."""
    real_which = render_module.shutil.which
    monkeypatch.setattr(render_module.shutil, "which",
                        lambda name, *a, **k: None if name == "dot" else real_which(name, *a, **k))


# Worked by hand: n = 2*(-3) + 0*1 + 6.8814 = 0.8814, o = tanh(n) = 0.7071,
# do/dn = 1 - o^2 = 0.5, which flows unchanged through the sums; dw1 = x1 * 0.5 = 1,
# dx1 = w1 * 0.5 = -1.5, dw2 = x2 * 0.5 = 0, dx2 = w2 * 0.5 = 0.5.
NEURON_TEXT = {"x1": ("2.0", "-1.5"), "x2": ("0.0", "0.5"), "w1": ("-3.0", "1.0"),
               "w2": ("1.0", "0.0"), "b": ("6.881", "0.5"), "x1*w1": ("-6.0", "0.5"),
               "x2*w2": ("0.0", "0.5"), "x1*w1 + x2*w2": ("-6.0", "0.5"),
               "n": ("0.8814", "0.5"), "o": ("0.7071", "1.0")}


def svg_texts(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def highlighted_node_ids(svg: str) -> list[str]:
    return re.findall(r'<g id="[^"]*" class="node highlight">\s*<title>([^<]*)</title>', svg)


def node_line(source: str, node_id: str) -> str:
    (line,) = [ln for ln in source.splitlines() if re.match(rf"\s*{node_id} \[", ln)]
    return line


def test_the_svg_shows_every_label_data_and_grad():
    values = neuron()
    values["o"].backward()
    graph = draw_dot(values["o"])
    assert isinstance(graph, graphviz.Digraph)
    svg = graph.pipe(format="svg").decode()
    assert "<svg" in svg
    texts = svg_texts(svg)
    for label, (data, grad) in NEURON_TEXT.items():
        assert label in texts
        assert f"data {data}" in texts
        assert f"grad {grad}" in texts
    # The operations are nodes of their own.
    assert texts.count("*") == 2 and texts.count("+") == 2 and "tanh" in texts


def test_png_through_the_svg_rasterizer(tmp_path):
    graph = draw_dot(neuron()["o"])
    png = graph.pipe(format="png")
    assert png.startswith(PNG_SIGNATURE)
    written = graph.render(outfile=tmp_path / "neuron.png")
    assert (tmp_path / "neuron.png").read_bytes().startswith(PNG_SIGNATURE)
    assert written == (tmp_path / "neuron.png").as_posix()


def test_render_writes_source_and_image_like_graphviz(tmp_path):
    graph = draw_dot(neuron()["o"])
    path = graph.render(tmp_path / "neuron", format="svg")
    assert path == (tmp_path / "neuron.svg").as_posix()
    assert (tmp_path / "neuron").read_text() == graph.source
    assert "<svg" in (tmp_path / "neuron.svg").read_text()
    graph.render(tmp_path / "again", format="svg", cleanup=True)
    assert not (tmp_path / "again").exists() and (tmp_path / "again.svg").exists()


def test_jupyter_gets_svg():
    bundle = draw_dot(neuron()["o"])._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_source_is_the_same_for_the_same_expression():
    # Node ids come from the topological order, not from memory addresses.
    assert draw_dot(neuron()["o"]).source == draw_dot(neuron()["o"]).source


def test_highlight_a_step_marks_its_node_and_the_edges_to_its_operands():
    values = neuron()
    o = values["o"]
    ids = draw_dot(o).source
    steps = list(backward_steps(o))
    n_step = steps[1]                          # the second step propagates n's gradient
    assert n_step.node is values["n"]
    graph = draw_dot(o, highlight=n_step)
    # Topological order: x1 v0, w1 v1, x1*w1 v2, x2 v3, w2 v4, x2*w2 v5, sum v6, b v7, n v8.
    assert 'label="{ n |' in node_line(ids, "v8")
    assert sorted(highlighted_node_ids(graph.pipe(format="svg").decode())) == ["v8", "v8_op"]
    source = graph.source
    assert 'class=highlight' in node_line(source, "v8")
    marked_edges = re.findall(r"(\S+) -> (\S+) \[[^]]*class=highlight", source)
    assert marked_edges == [("v6", "v8_op"), ("v7", "v8_op")]
    for operand_id in ("v6", "v7"):
        assert "class=filled" in node_line(source, operand_id)


def test_highlight_a_value():
    values = neuron()
    source = draw_dot(values["o"], highlight=values["x1"]).source
    assert [ln.split()[0] for ln in source.splitlines() if "class=highlight" in ln] == ["v0"]


def test_highlight_must_be_in_the_graph():
    with pytest.raises(ValueError, match="not in this graph"):
        draw_dot(neuron()["o"], highlight=Value(1.0))
    with pytest.raises(TypeError, match="highlight must be"):
        draw_dot(neuron()["o"], highlight="n")


def test_too_big_a_graph_is_refused_quickly_with_its_size():
    # About the size of one training step on the moons data: 70,001 Values.
    xs = [Value(float(i)) for i in range(35_000)]
    loss = Value.sum([x * x for x in xs])
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"70001 Values, more than max_nodes=500") as error:
        draw_dot(loss)
    assert time.perf_counter() - start < 5.0
    assert "single data point" in str(error.value) and "max_nodes" in str(error.value)
    assert draw_dot(xs[0] * xs[1], max_nodes=3).source


def test_without_any_renderer_the_error_names_both_fixes_and_source_still_works(monkeypatch):
    monkeypatch.setattr(render_module, "_wasm_graphviz_installed", lambda: False)
    monkeypatch.setattr(render_module, "_resvg_installed", lambda: False)
    graph = draw_dot(neuron()["o"])
    assert "digraph" in graph.source and "tanh" in graph.source
    for format in ("svg", "png"):
        with pytest.raises(RendererNotFoundError) as error:
            graph.pipe(format=format)
        message = str(error.value)
        assert "`dot`" in message and "pip install 'valuegrad[render]'" in message
    assert isinstance(error.value, RuntimeError)
    bundle = graph._repr_mimebundle_()
    assert "valuegrad[render]" in bundle["text/plain"] and "digraph" in bundle["text/plain"]


def test_png_without_the_rasterizer_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(render_module, "_resvg_installed", lambda: False)
    graph = draw_dot(neuron()["o"])
    assert "<svg" in graph.pipe(format="svg").decode()
    with pytest.raises(RendererNotFoundError, match=r"valuegrad\[render\]"):
        graph.pipe(format="png")


def test_other_formats_need_the_system_dot():
    with pytest.raises(ValueError, match="only 'svg' and 'png'"):
        draw_dot(neuron()["o"]).pipe(format="pdf")


def fake_dot(folder, monkeypatch, body):
    """A `dot` program on PATH that runs the shell commands `body`."""
    program = folder / "dot"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(0o755)
    monkeypatch.setattr(render_module.shutil, "which", REAL_WHICH)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_the_system_dot_is_used_when_on_path(monkeypatch, tmp_path):
    fake_dot(tmp_path, monkeypatch, f'echo "$@" > {tmp_path}/args; cat > {tmp_path}/input; '
                                    f'printf "%%PDF from dot"')
    graph = draw_dot(neuron()["o"])
    assert graph.pipe(format="pdf") == b"%PDF from dot"
    assert (tmp_path / "args").read_text().split() == ["-Kdot", "-Tpdf"]
    assert (tmp_path / "input").read_text() == graph.source


def test_the_system_dot_is_stopped_at_the_time_limit(monkeypatch, tmp_path):
    fake_dot(tmp_path, monkeypatch, "exec sleep 60")
    started = time.monotonic()
    with pytest.raises(render_module.RenderError, match="took longer than 1 s and was stopped"):
        render_module.render("digraph { a -> b }", "svg", timeout=1)
    assert time.monotonic() - started < 10


def test_kinds_of_node_look_different():
    x = Value(2.0, label="x")
    w = Value(-1.0, label="w")
    y = (w * x + 3).relu()
    source = draw_dot(y, group={"neuron": [w]}).source
    # Order: w v0, x v1, w*x v2, the constant 3 v3, + v4, relu v5.
    assert "shape=record" in node_line(source, "v0") and "penwidth=2" in node_line(source, "v0")
    assert "shape=record" in node_line(source, "v1") and "penwidth" not in node_line(source, "v1")
    assert "shape=Mrecord" in node_line(source, "v2")
    constant = node_line(source, "v3")
    assert "dashed" in constant and "label=3.0" in constant and "grad" not in constant
    fills = {i: re.search(r'fillcolor="([^"]*)"', node_line(source, f"v{i}")).group(1)
             for i in range(4)}
    assert len(set(fills.values())) == 4


def test_no_grad_shown_when_asked():
    source = draw_dot(neuron()["o"], show_grad=False).source
    assert "grad" not in source and "data 0.7071" in source


def test_rankdir_and_record_orientation():
    lr = draw_dot(neuron()["o"]).source
    tb = draw_dot(neuron()["o"], rankdir="TB").source
    assert "rankdir=LR" in lr and "rankdir=TB" in tb
    # A record's fields run across the rank direction: braces turn them in LR.
    assert 'label="{ o | data 0.7071 | grad 0.0 }"' in lr
    assert 'label="o | data 0.7071 | grad 0.0"' in tb
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(neuron()["o"], rankdir="sideways")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_dot(neuron()["o"], max_nodes=0)
    with pytest.raises(TypeError, match="root must be a Value"):
        draw_dot(1.0)


def test_labels_with_record_characters_are_shown_as_written():
    x = Value(1.0, label="a|b {c} <d>")
    svg = draw_dot(x * 2).pipe(format="svg").decode()
    assert "a|b {c} <d>" in svg_texts(svg)


def test_unlabelled_values_are_named_by_position_and_order_is_shown_where_it_matters():
    a, b = Value(5.0), Value(2.0)
    source = draw_dot(a - b).source
    assert 'label="{ v0 | data 5.0' in source and 'label="{ v2 | data 3.0' in source
    assert re.search(r"v0 -> v2_op \[headlabel=x", source)
    assert re.search(r"v1 -> v2_op \[headlabel=y", source)


def color_of(source: str, node_id: str) -> tuple[int, int, int]:
    hex_color = re.search(r'fillcolor="#(\w{6})"', node_line(source, node_id)).group(1)
    return tuple(int(hex_color[i:i + 2], 16) for i in (0, 2, 4))


def test_colour_by_gradient_sign_and_size():
    values = neuron()
    values["o"].backward()
    source = draw_dot(values["o"], color_grad=True).source
    # x1 v0 (grad -1.5, the largest), w1 v1 (+1.0), w2 v4 (0.0), b v7 (+0.5).
    red, green, blue = color_of(source, "v0")
    assert red > blue and red > green
    r1, g1, b1 = color_of(source, "v1")
    assert b1 > r1
    assert color_of(source, "v4") == (255, 255, 255)
    # A smaller |grad| is paler: closer to white in every channel.
    assert all(c7 >= c1 for c7, c1 in zip(color_of(source, "v7"), (r1, g1, b1)))
    assert color_of(source, "v7") != (r1, g1, b1)


class TinyModel:
    """Stands in for an nn module: names its parameters like nn does."""

    def __init__(self):
        self.params = [(f"layers.0.neurons.{i}.{p}", Value(0.1 * (i + 1), label=f"{p}{i}"))
                       for i in range(2) for p in ("w0", "b")]

    def named_parameters(self):
        return list(self.params)


def test_parameters_grouped_per_neuron():
    model = TinyModel()
    x = Value(1.5, label="x")
    p = dict(model.named_parameters())
    out = (Value.dot([p["layers.0.neurons.0.w0"]], [x], p["layers.0.neurons.0.b"]).tanh()
           + Value.dot([p["layers.0.neurons.1.w0"]], [x], p["layers.0.neurons.1.b"]).tanh())
    graph = draw_dot(out, group=model)
    clusters = re.findall(r"subgraph (cluster_\d+) \{\n[^\n]*label=\"?([\w.]+)\"?[^\n]*\n"
                          r"((?:\s*v\d+\n)+)", graph.source)
    ids = {v: f"v{i}" for i, v in enumerate(topological_order(out))}
    assert {label: sorted(members.split()) for _, label, members in clusters} == {
        "layers.0.neurons.0": sorted([ids[p["layers.0.neurons.0.w0"]],
                                      ids[p["layers.0.neurons.0.b"]]]),
        "layers.0.neurons.1": sorted([ids[p["layers.0.neurons.1.w0"]],
                                      ids[p["layers.0.neurons.1.b"]]]),
    }
    svg = graph.pipe(format="svg").decode()
    assert "layers.0.neurons.0" in svg_texts(svg) and 'class="cluster"' in svg
    same = draw_dot(out, group={"layers.0.neurons.0": [p["layers.0.neurons.0.w0"],
                                                      p["layers.0.neurons.0.b"]]}).source
    assert same.count("subgraph cluster_") == 1


def test_bad_group_is_a_type_error():
    y = Value(1.0) * 2
    with pytest.raises(TypeError, match="named_parameters"):
        draw_dot(y, group=[Value(1.0)])
    with pytest.raises(TypeError, match=r"group\['a'\]\[0\] must be a Value"):
        draw_dot(y, group={"a": [1.0]})


def test_backward_frames_walk_the_pass_and_end_where_backward_ends():
    values = neuron()
    frames = backward_frames(values["o"])
    expected = neuron()
    expected["o"].backward()
    for name in ("x1", "x2", "w1", "w2", "b", "n"):
        assert values[name].grad == expected[name].grad
    # The seeded root, then one frame per operation: tanh, +, +, *, *.
    assert len(frames) == 6
    assert frames[0].caption == "start: o.grad = 1.0"
    assert frames[1].caption.splitlines() == [
        "step 1: o (tanh)", "n.grad += (sech(n.data) ** 2) (0.5) * o.grad (1.0) = 0.5"]
    # Each frame shows the gradients of its moment: before step 1 n's is still 0.
    assert "grad 0.0" in node_line(frames[0].graph.source, "v8")
    assert "grad 0.5" in node_line(frames[1].graph.source, "v8")
    assert "<svg" in frames[1].svg()


def test_forward_frames_fill_in_the_data():
    values = neuron()
    frames = forward_frames(values["o"])
    assert len(frames) == 6
    assert "data ?" in node_line(frames[0].graph.source, "v8")
    assert frames[4].caption == "n = x1*w1 + x2*w2 + b = 0.8814"
    assert "data 0.8814" in node_line(frames[4].graph.source, "v8")
    assert "class=highlight" in node_line(frames[4].graph.source, "v8")
    assert "data ?" in node_line(frames[4].graph.source, "v9")
    assert frames[5].caption == "o = tanh(n) = 0.7071"


def test_frames_show_in_order_in_jupyter():
    frames = backward_frames(neuron()["o"])
    assert isinstance(frames, Frames)
    page = frames._repr_html_()
    assert page.count("<svg") == len(frames) == 6
    assert page.index("1/6") < page.index("step 1: o (tanh)") < page.index("6/6")


def test_value_graph_is_what_draw_dot_returns():
    assert type(draw_dot(Constant(1.0) + 1)) is ValueGraph


def test_a_label_that_is_not_a_string_is_drawn_as_text():
    x = Value(2.0)
    x.label = 7
    assert '{ 7 | data 2.0' in draw_dot(x * x).source
