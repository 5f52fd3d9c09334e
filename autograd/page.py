"""A computation graph to step through in a browser: one self-contained HTML page.

`step_through(out)` draws the graph once with `draw_dot`, works out the forward
pass (each result's data, in topological order) and one backward pass from a
clean start (every gradient 0, the output's `gradient`) with `backward_steps`,
and returns a `GraphPage`. The page changes the drawing in place as you step
with the back and next buttons, the slider or the arrow keys. It needs no
network, no Jupyter kernel and no ipywidgets: open the saved file in any
browser, or show the object in Jupyter (it stays live in a notebook exported to
static HTML).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from autograd.engine import Constant, Value, topological_order
from autograd.steps import attribute_of, backward_steps, number, value_names
from autograd.viz import FORWARD_START, draw_dot, forward_explanation

__all__ = ["GraphPage", "fill_template", "page_file", "script_json", "step_through"]

# The elements a drawing is made of. Graphviz escapes every label, so any other
# element (a script, a link) or an event handler would mean the drawing was not
# made as expected: it is refused rather than put into a page.
_SVG_ELEMENTS = {"svg", "g", "title", "polygon", "polyline", "path", "ellipse", "text"}
_TAG = re.compile(r"<\s*/?\s*([^\s/>]+)([^>]*)>")
_HANDLER = re.compile(r"\son\w+\s*=", re.IGNORECASE)
_SVG_HEIGHT = re.compile(r'<svg width="[\d.]+pt" height="([\d.]+)pt"')


class GraphPage:
    """The page of one graph: `html` is its text, `steps` how many steps it has.

    `save_html(path)` writes it; Jupyter shows it inline (in an iframe, so that
    its script also runs in a notebook exported to HTML). For a page that shows the
    step-through view itself: `view` is its markup (the controls and the drawing) and
    `data` what the script `page_file("graph.js")` steps through, with
    `stepThrough(data, element holding the view)`.
    """

    def __init__(self, page: str, steps: int, height: int = 600, *,
                 view: str = "", data: Mapping[str, Any] | None = None) -> None:
        self.html = page
        self.steps = steps
        self.view = view
        self.data = dict(data or {})
        self._height = height

    def __repr__(self) -> str:
        return f"<GraphPage: {self.steps} steps, {len(self.html.encode())} bytes>"

    def save_html(self, path: str | os.PathLike) -> Path:
        """Write the page to `path` (UTF-8) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # srcdoc keeps the page whole in the output cell; sandboxed, its script can
        # run but cannot reach the notebook around it.
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'sandbox="allow-scripts" title="step through the computation graph" '
                f'style="width: 100%; height: {self._height}px; border: 1px solid #d1d5db; '
                f'border-radius: 6px"></iframe>')


def step_through(root: Value, gradient: float = 1.0, *, rankdir: str = "LR",
                 max_nodes: int = 500, group=None, title: str | None = None) -> GraphPage:
    """A page that steps through `root`'s forward pass, then its backward pass.

    The backward pass shown starts clean (every gradient 0, root's `gradient`),
    whatever `.grad` held before, and computing it leaves every `.grad` as it was
    (it runs that pass on the graph and then puts the gradients back, so do not
    call it while another thread works on the same graph).
    rankdir, max_nodes, group: as for `draw_dot`. title: the page's heading
    (default: "the computation graph of <root's name>").
    """
    if not isinstance(root, Value):
        raise TypeError(f"step_through: root must be a Value, got {type(root).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"step_through: title must be a str, got {type(title).__name__}")
    order = topological_order(root)
    if isinstance(max_nodes, int) and not isinstance(max_nodes, bool) and len(order) > max_nodes:
        # Checked before the backward pass runs; draw_dot checks the rest of the options.
        draw_dot(root, rankdir=rankdir, max_nodes=max_nodes)
    names = value_names(order)
    saved = [v.grad for v in order]
    try:
        # From zero, so backward_steps has no earlier gradient to add back to the leaves.
        for v in order:
            v.grad = 0.0
        steps = list(backward_steps(root, gradient))
        # Drawn with this pass's final gradients: the boxes are sized for them.
        svg = draw_dot(root, rankdir=rankdir, max_nodes=max_nodes, group=group).pipe(
            format="svg", encoding="utf-8")
    finally:
        for v, g in zip(order, saved):
            v.grad = g
    svg = _clean_svg(svg, len(order))

    index = {v: i for i, v in enumerate(order)}
    nodes = [{"name": names[v], "data": number(v.data),
              "kind": "constant" if isinstance(v, Constant) else
                      "leaf" if not v.children else "result"} for v in order]
    forward = [{"node": index[v], "operands": [index[c] for c in v.children],
                "text": forward_explanation(v, names)} for v in order if v.children]
    backward = [{"node": index[s.node], "operands": [index[c] for c in s.operands],
                 "before": [number(g) for g in s.grads_before],
                 "after": [number(g) for g in s.grads_after],
                 "heading": f"{names[s.node]} ({s.op})", "explanation": s.explanation}
                for s in steps]
    data = {"nodes": nodes, "root": index[root], "rootGrad": number(float(gradient)),
            "forwardStart": FORWARD_START,
            "backwardStart": f"{attribute_of(names[root])}.grad = {number(float(gradient))}: "
                             "the output's gradient with respect to itself; every other "
                             "gradient starts at 0",
            "forward": forward, "backward": backward}
    heading = title if title is not None else f"the computation graph of {names[root]}"
    view = fill_template(page_file("step-through.html"), SVG=svg)
    page = fill_template(page_file("graph.html"), TITLE=html.escape(heading),
                         CSS=page_file("page.css"), VIEW=view, DATA=script_json(data),
                         JS=page_file("graph.js"))
    count = 2 + len(forward) + len(backward)
    return GraphPage(page, count, height=min(max(_svg_height(svg), 160), 640) + 300,
                     view=view, data=data)


@functools.cache
def page_file(name: str, package: str = "autograd") -> str:
    """The text of one of the pages' files: `package`/pages/`name` (a template, the
    stylesheet page.css that every page shares, or a script), read once per process."""
    return resources.files(package).joinpath("pages").joinpath(name).read_text(encoding="utf-8")


def fill_template(template: str, **parts: str) -> str:
    """`template` with each %NAME% replaced by parts[NAME], in one pass (so a part that
    happens to contain "%JS%", say in a label, is left as it is)."""
    return re.sub(r"%([A-Z]+)%", lambda match: parts[match[1]], template)


def _clean_svg(svg: str, node_count: int) -> str:
    """The <svg> element alone (no XML prolog, doctype or comments), checked to be inert."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.DOTALL)
    for tag in _TAG.finditer(svg):
        if tag[1] not in _SVG_ELEMENTS or _HANDLER.search(tag[2]):
            raise RuntimeError(f"step_through: the drawing contains an unexpected element: "
                               f"{tag[0][:80]}")
    titles = set(re.findall(r"<title>(v\d+)</title>", svg))
    if len(titles) != node_count:
        raise RuntimeError("step_through: the drawing does not name each Value by its "
                           "position in topological order")
    return svg


def _svg_height(svg: str) -> int:
    """The drawing's natural height in CSS pixels (graphviz gives points)."""
    match = _SVG_HEIGHT.search(svg)
    return round(float(match[1]) * 4 / 3) if match else 400


def script_json(data: Mapping) -> str:
    """`data` as JSON that is safe inside a <script> element: no <, > or & in it."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
