"""Drawing a Value's computation graph, and pictures of its forward and backward passes.

`draw_dot(root)` returns a `ValueGraph`: a `graphviz.Digraph` whose images are
made by `autograd.render`, so they work without Graphviz installed.
`forward_frames` and `backward_frames` draw one picture per step; the page to
step through in a browser is `autograd.step_through` (in `autograd.page`).

In a drawing:

- each Value is a box of label (or "v3", its position in topological order),
  data and grad, with 4 significant digits;
- each operation is a small grey ellipse between its operands and its result;
- results of operations have rounded corners; leaves have square ones:
  parameters (the Values listed by `group`) are yellow with a bold border,
  other leaves (inputs) are blue, and numbers written into expressions
  (`Constant`s, such as the 2 in `x * 2`) are small dashed grey boxes without a grad.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from autograd import render as _render
from autograd.engine import Constant, Value, topological_order
from autograd.ops import OPS
from autograd.steps import BackwardStep, backward_steps, number, value_names

__all__ = ["Frame", "Frames", "ValueGraph", "backward_frames", "draw_dot",
           "forward_explanation", "forward_frames"]

RANKDIRS = ("LR", "TB", "RL", "BT")

# Fills, borders and fonts of the kinds of node.
RESULT_FILL = "#ffffff"
INPUT_FILL = "#dbeafe"
PARAMETER_FILL = "#fde68a"
CONSTANT_FILL = "#f3f4f6"
OP_FILL = "#e5e7eb"
BORDER = "#374151"
MUTED = "#9ca3af"
HIGHLIGHT = "#e4572e"
NEGATIVE = (214, 39, 40)    # red: the gradient is negative
POSITIVE = (31, 119, 180)   # blue: the gradient is positive
FONT = "Helvetica"

MANY_USES = 8   # a Value used by more operations than this has its edges merged


class ValueGraph(graphviz.Digraph):
    """A `graphviz.Digraph` that renders through `autograd.render`.

    `.source` is the DOT text; `.pipe(format)` returns the image's bytes;
    `.render(path, format=...)` writes a file; Jupyter shows it as SVG. Without
    the system `dot` program, "svg" and "png" are the formats available.
    """

    def __repr__(self) -> str:
        # No memory address: a notebook that shows a graph saves this text too,
        # and it should be the same every time the notebook runs.
        nodes = self.source.count(" [label=")
        return f"<ValueGraph: {nodes} nodes and operations>"

    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op=None, quiet: bool = False, *,
             engine: str | None = None, encoding: str | None = None):
        """The rendered image as bytes (or as str when `encoding` is given)."""
        if renderer is not None or formatter is not None or neato_no_op is not None:
            if _render.available_route() != "dot":
                raise ValueError("pipe: renderer, formatter and neato_no_op need the system "
                                 "Graphviz `dot` program, which is not on PATH")
            return super().pipe(format, renderer, formatter, neato_no_op, quiet,
                                engine=engine, encoding=encoding)
        data = _render.render(self.source, format or self.format, engine or self.engine)
        return data.decode(encoding) if encoding is not None else data

    def render(self, filename=None, directory=None, view: bool = False, cleanup: bool = False,
               format: str | None = None, *, outfile=None, engine: str | None = None,
               quiet: bool = False, quiet_view: bool = False) -> str:
        """Write the image to a file and return its path.

        As in graphviz: `render("docs/neuron", format="svg")` saves the DOT text as
        docs/neuron and the image as docs/neuron.svg (`cleanup=True` removes the
        DOT file); `render(outfile="neuron.png")` writes only the image, its format
        taken from the suffix.
        """
        if outfile is not None:
            image_path = Path(outfile)
            format = format or image_path.suffix.lstrip(".") or self.format
            source_path = None
            if filename is not None:
                source_path = Path(self.save(filename, directory=directory))
        else:
            format = format or self.format
            source_path = Path(self.save(filename, directory=directory))
            image_path = source_path.with_name(f"{source_path.name}.{format}")
        data = self.pipe(format=format, engine=engine)
        image_path.parent.mkdir(parents=True, exist_ok=True)
        image_path.write_bytes(data)
        if cleanup and source_path is not None:
            source_path.unlink()
        if view or quiet_view:
            graphviz.view(image_path, quiet=quiet_view)
        return image_path.as_posix()

    def _repr_image_svg_xml(self) -> str:
        return self.pipe(format="svg", encoding="utf-8")

    def _repr_svg_(self) -> str:
        return self._repr_image_svg_xml()

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs) -> dict:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except _render.RendererNotFoundError as error:
            # Say how to fix it in the notebook, instead of a traceback.
            return {"text/plain": f"{error}\n\nDOT source:\n{self.source}"}


def _parameter_groups(group) -> dict[Value, str]:
    """Each parameter Value and the name of its group ("" for none)."""
    if group is None:
        return {}
    groups: dict[Value, str] = {}
    if isinstance(group, Mapping):
        for name, values in group.items():
            if not isinstance(name, str):
                raise TypeError(f"draw_dot: group's keys must be names (str), got "
                                f"{type(name).__name__}")
            if isinstance(values, Value) or not isinstance(values, Iterable):
                raise TypeError(f"draw_dot: group[{name!r}] must be a list of Values, got "
                                f"{type(values).__name__}")
            for i, v in enumerate(values):
                if not isinstance(v, Value):
                    raise TypeError(f"draw_dot: group[{name!r}][{i}] must be a Value, got "
                                    f"{type(v).__name__}")
                groups[v] = name
        return groups
    named_parameters = getattr(group, "named_parameters", None)
    if not callable(named_parameters):
        raise TypeError(f"draw_dot: group must be a dict of name -> Values or have "
                        f"named_parameters(), got {type(group).__name__}")
    for pair in named_parameters():
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], Value)):
            raise TypeError(f"draw_dot: group.named_parameters() must give (name, Value) "
                            f"pairs, got {pair!r}")
        name, v = pair
        # "layers.0.neurons.3.w0" belongs to the neuron "layers.0.neurons.3".
        groups[v] = name.rpartition(".")[0]
    return groups


LABEL_LENGTH = 60   # longer labels are cut, so that one label cannot swamp a drawing


def _visible(text: str) -> str:
    """`text` with what cannot be drawn shown as escapes: a newline as \\n, NUL as \\x00,
    a lone surrogate as \\ud800; cut to LABEL_LENGTH characters."""
    if len(text) > LABEL_LENGTH:
        text = text[:LABEL_LENGTH - 1] + "…"
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def _record_text(text: str) -> str:
    text = _visible(text)
    # Characters that structure a record label, escaped so they show as themselves.
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text.replace('"', '\\"')


def _mix(rgb: tuple[int, int, int], amount: float) -> str:
    """The colour `amount` of the way from white to `rgb`."""
    channels = (round(255 + (c - 255) * amount) for c in rgb)
    return "#" + "".join(f"{c:02x}" for c in channels)


def _grad_fill(g: float, largest: float) -> str:
    if math.isnan(g):
        return MUTED
    if g == 0.0 or largest == 0.0:
        return RESULT_FILL
    # Up to 80% of the full colour, so black text stays readable on it.
    amount = 0.8 * min(abs(g) / largest, 1.0) if math.isfinite(largest) else 0.8
    return _mix(NEGATIVE if g < 0 else POSITIVE, amount if math.isfinite(g) else 0.8)


def _op_text(node: Value) -> str:
    return OPS[node.op].label(len(node.children))


def _check_options(rankdir, max_nodes) -> None:
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_dot: rankdir must be one of {', '.join(RANKDIRS)}, "
                         f"got {rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"draw_dot: max_nodes must be a positive int, got {max_nodes!r}")


def _order_within_limit(root, max_nodes: int, caller: str) -> list[Value]:
    if not isinstance(root, Value):
        raise TypeError(f"{caller}: root must be a Value, got {type(root).__name__}")
    order = topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(
            f"{caller}: this graph has {len(order)} Values, more than max_nodes={max_nodes}, "
            f"too many to draw readably. Draw a smaller expression (for example the loss of "
            f"a single data point, or one neuron's output), or pass a larger max_nodes.")
    return order


def draw_dot(root: Value, rankdir: str = "LR", show_grad: bool = True,
             highlight: BackwardStep | Value | None = None, max_nodes: int = 500,
             group=None, color_grad: bool = False) -> ValueGraph:
    """The computation graph that produced `root`, as a graphviz graph.

    rankdir: "LR" (left to right, the default), "TB", "RL" or "BT".
    show_grad: show each Value's `.grad`.
    highlight: a BackwardStep (marks its node and the edges to the operands whose
        gradients it just filled) or a Value (marks that node).
    max_nodes: refuse (ValueError) a graph of more Values than this.
    group: the parameters, drawn grouped in boxes: an object with
        `named_parameters()` giving (name, Value) pairs, grouped by the name up to its
        last dot (per neuron for `nn` modules), or a dict {group name: [Values]}.
    color_grad: fill each Value by its gradient: red for negative, blue for
        positive, stronger for larger |grad| (relative to the largest in the graph).
    """
    _check_options(rankdir, max_nodes)
    order = _order_within_limit(root, max_nodes, "draw_dot")
    return _draw(order, rankdir=rankdir, show_grad=show_grad, highlight=highlight,
                 groups=_parameter_groups(group), color_grad=color_grad)


def _draw(order: list[Value], *, rankdir: str = "LR", show_grad: bool = True,
          highlight: BackwardStep | Value | None = None, groups: dict[Value, str] | None = None,
          color_grad: bool = False, grads: Mapping[Value, float] | None = None,
          computed: set[Value] | None = None) -> ValueGraph:
    """Build the drawing of the Values in `order` (topological).

    grads: gradients to show instead of `.grad`. computed: if given, only these
    Values show their data (the others are still to be computed).
    """
    groups = groups or {}
    ids = {v: f"v{i}" for i, v in enumerate(order)}
    names = value_names(order)

    def grad_of(v: Value) -> float:
        return grads[v] if grads is not None else v.grad

    marked: Value | None
    filled: tuple[Value, ...]
    if highlight is None:
        marked, filled = None, ()
    elif isinstance(highlight, BackwardStep):
        marked, filled = highlight.node, highlight.operands
    elif isinstance(highlight, Value):
        marked, filled = highlight, ()
    else:
        raise TypeError(f"draw_dot: highlight must be a BackwardStep or a Value, got "
                        f"{type(highlight).__name__}")
    if marked is not None and marked not in ids:
        raise ValueError("draw_dot: the highlighted node is not in this graph")

    largest = max((abs(grad_of(v)) for v in order if not isinstance(v, Constant)
                   and not math.isnan(grad_of(v))), default=0.0)
    horizontal = rankdir in ("LR", "RL")   # a record's fields run across the rank direction
    graph_attr = {"rankdir": rankdir, "fontname": FONT, "nodesep": "0.25", "ranksep": "0.35",
                  "bgcolor": "white"}
    uses = Counter(child for v in order for child in v.children)
    if uses and max(uses.values()) > MANY_USES:
        # A Value used by many operations at many depths (x + x + ... + x) gives dot long
        # edges that take it minutes to rank, place and uncross (150 uses: over 300 s).
        # Merging them into one trunk and bounding dot's iterations takes seconds.
        graph_attr.update(concentrate="true", nslimit="1", nslimit1="1", mclimit="0.01",
                          searchsize="5")

    graph = ValueGraph(name="value_graph", format="svg", engine="dot",
                       graph_attr=graph_attr,
                       node_attr={"fontname": FONT, "fontsize": "11", "color": BORDER,
                                  "penwidth": "1.2"},
                       edge_attr={"color": "#6b7280", "arrowsize": "0.6", "penwidth": "1.1",
                                  "fontname": FONT, "fontsize": "9", "fontcolor": "#6b7280",
                                  "labeldistance": "1.6"})

    clusters: dict[str, list[str]] = {}
    for v in order:
        node_id = ids[v]
        known = computed is None or v in computed
        data = number(v.data) if known else "?"
        attrs = {}
        if isinstance(v, Constant):
            text = f"{names[v]} = {data}" if v.label else data
            attrs = {"shape": "box", "style": "rounded,dashed,filled", "fillcolor": CONSTANT_FILL,
                     "color": MUTED, "fontcolor": "#4b5563", "fontsize": "10", "height": "0.3",
                     "margin": "0.06,0.02", "label": _record_text(text)}
        else:
            fields = [names[v], f"data {data}"]
            if show_grad:
                fields.append(f"grad {number(grad_of(v))}")
            label = " | ".join(_record_text(f) for f in fields)
            if v in groups:
                fill, kind_style = PARAMETER_FILL, {"shape": "record", "penwidth": "2"}
            elif not v.children:
                fill, kind_style = INPUT_FILL, {"shape": "record"}
            else:
                fill, kind_style = RESULT_FILL, {"shape": "Mrecord"}
            if color_grad and show_grad and known:
                fill = _grad_fill(grad_of(v), largest)
            attrs = {**kind_style, "style": "filled", "fillcolor": fill,
                     "label": "{ " + label + " }" if horizontal else label}
            if not known:
                attrs.update(style="filled,dashed", fontcolor=MUTED, color=MUTED)
        if v is marked:
            attrs.update({"color": HIGHLIGHT, "penwidth": "3", "class": "highlight"})
        elif v in filled:
            attrs.update({"color": HIGHLIGHT, "class": "filled"})
        if groups.get(v):
            clusters.setdefault(groups[v], []).append(node_id)
        graph.node(node_id, **attrs)

        if v.children:
            op_id = node_id + "_op"
            op_attrs = {"shape": "ellipse", "style": "filled", "fillcolor": OP_FILL,
                        "color": "#9ca3af", "fontsize": "10", "height": "0.3", "width": "0.4",
                        "margin": "0.04,0.02", "label": _record_text(_op_text(v))}
            if v is marked:
                op_attrs.update({"color": HIGHLIGHT, "penwidth": "2.5", "class": "highlight"})
            graph.node(op_id, **op_attrs)
            # Graphviz does not keep operands in order, so where order matters the
            # edges are named as in the engine's formulas: x - y, x / y, x ** y.
            ordered = OPS[v.op].ordered
            for position, child in enumerate(v.children):
                edge_attrs = {"headlabel": "xy"[position]} if ordered else {}
                if v is marked:
                    edge_attrs.update({"color": HIGHLIGHT, "penwidth": "2.5", "class": "highlight"})
                graph.edge(ids[child], op_id, **edge_attrs)
            graph.edge(op_id, node_id)

    for i, (name, members) in enumerate(clusters.items()):
        with graph.subgraph(name=f"cluster_{i}") as cluster:
            cluster.attr(label=_record_text(name), style="rounded,dashed", color=MUTED,
                         fontcolor="#4b5563", fontsize="10", margin="8")
            for node_id in members:
                cluster.node(node_id)
    return graph


# --- stepping through the passes ------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """One picture of a pass: the graph at that moment and a caption saying what happened."""

    caption: str
    graph: ValueGraph

    def svg(self) -> str:
        """The picture as SVG text."""
        return self.graph.pipe(format="svg", encoding="utf-8")


class Frames(list):
    """Frames that Jupyter shows one after another, each under its caption."""

    def _repr_html_(self) -> str:
        parts = []
        for i, frame in enumerate(self):
            parts.append(f"<div><p><b>{i + 1}/{len(self)}</b></p>"
                         f"<pre>{html.escape(frame.caption)}</pre>{_inline_svg(frame.svg())}</div>")
        return "\n".join(parts)


def _inline_svg(svg: str) -> str:
    # HTML wants the <svg> element alone, without the XML prolog and doctype.
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


FORWARD_START = "the leaves: inputs, parameters and constants are known"


def forward_explanation(node: Value, names: Mapping[Value, str]) -> str:
    """How the forward pass computes `node` from its operands, such as "n = x*w + b = 0.8814".

    names: each Value's name (as `value_names` gives them).
    """
    operands = [number(c.data) if isinstance(c, Constant) and not c.label else names[c]
                for c in node.children]
    return f"{names[node]} = {OPS[node.op].written(operands)} = {number(node.data)}"


def forward_frames(root: Value, rankdir: str = "LR", max_nodes: int = 500,
                   group=None) -> Frames:
    """The forward pass as pictures: first the leaves, then one operation's result per frame."""
    _check_options(rankdir, max_nodes)
    order = _order_within_limit(root, max_nodes, "forward_frames")
    groups = _parameter_groups(group)
    names = value_names(order)
    computed = {v for v in order if not v.children}
    frames = Frames([Frame(FORWARD_START,
                           _draw(order, rankdir=rankdir, show_grad=False, groups=groups,
                                 computed=set(computed)))])
    for v in order:
        if not v.children:
            continue
        computed.add(v)
        frames.append(Frame(forward_explanation(v, names),
                            _draw(order, rankdir=rankdir, show_grad=False, groups=groups,
                                  highlight=v, computed=set(computed))))
    return frames


def backward_frames(root: Value, gradient: float = 1.0, rankdir: str = "LR",
                    max_nodes: int = 500, group=None, color_grad: bool = False) -> Frames:
    """The backward pass as pictures: the seeded root, then one BackwardStep per frame.

    This runs the backward pass (through `backward_steps`), so afterwards every
    `.grad` is what `root.backward(gradient)` would have left.
    """
    _check_options(rankdir, max_nodes)
    order = _order_within_limit(root, max_nodes, "backward_frames")
    groups = _parameter_groups(group)
    names = value_names(order)
    options: dict[str, Any] = {"rankdir": rankdir, "groups": groups, "color_grad": color_grad}
    steps = backward_steps(root, gradient)
    seeded = {v: 0.0 for v in order}
    seeded[root] = float(gradient)
    frames = Frames([Frame(f"start: {names[root]}.grad = {number(float(gradient))}",
                           _draw(order, grads=seeded, highlight=root, **options))])
    for step in steps:  # each picture is drawn while the gradients are those of that step
        frames.append(Frame(f"step {step.index + 1}: {names[step.node]} ({step.op})\n"
                            f"{step.explanation}", _draw(order, highlight=step, **options)))
    return frames
