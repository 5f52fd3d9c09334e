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

import html
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from autograd.engine import Constant, Value, topological_order
from autograd.steps import attribute_of, backward_steps, number, value_names
from autograd.viz import FORWARD_START, draw_dot, forward_explanation

__all__ = ["GraphPage", "fill_template", "script_json", "step_through"]

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
    its script also runs in a notebook exported to HTML).
    """

    def __init__(self, page: str, steps: int, height: int = 600) -> None:
        self.html = page
        self.steps = steps
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
    page = fill_template(_TEMPLATE, TITLE=html.escape(heading), CSS=_CSS, SVG=svg,
                         DATA=script_json(data), JS=_JS)
    count = 2 + len(forward) + len(backward)
    return GraphPage(page, count, height=min(max(_svg_height(svg), 160), 640) + 300)


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


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%TITLE%</title>
<style>%CSS%</style>
</head>
<body>
<header>
<h1>%TITLE%</h1>
<p class="hint">Step through the forward pass (each Value's data), then the backward pass
(each gradient, by the chain rule): <b>back</b> and <b>next</b>, the slider, or the
&larr; &rarr; keys.</p>
</header>
<div class="controls">
<button type="button" id="back" aria-label="back one step">&#9664; back</button>
<input type="range" id="slider" min="0" max="0" value="0" aria-label="step">
<button type="button" id="next" aria-label="next step">next &#9654;</button>
<span id="position"></span>
</div>
<section class="panel" aria-live="polite">
<div id="phase"></div>
<div id="heading"></div>
<pre id="explanation"></pre>
<table id="changes"><tbody></tbody></table>
</section>
<div id="graph">%SVG%</div>
<p class="legend"><span class="swatch parameter"></span>parameter
<span class="swatch input"></span>input
<span class="swatch result"></span>result of an operation
<span class="swatch op"></span>operation
<span class="swatch current"></span>this step
<span class="swatch operand"></span>its operands</p>
<script type="application/json" id="steps-data">%DATA%</script>
<script>%JS%</script>
</body>
</html>
"""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  margin: 12px 16px; color: #111827; background: #fff; }
h1 { font-size: 1.15rem; margin: 0 0 4px; overflow-wrap: anywhere; }
.hint { margin: 0 0 8px; color: #4b5563; font-size: 0.9rem; }
.controls { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.controls button { font: inherit; font-size: 0.95rem; padding: 4px 12px; border-radius: 6px;
  border: 1px solid #9ca3af; background: #f9fafb; cursor: pointer; }
.controls button:hover:not(:disabled) { background: #e5e7eb; }
.controls button:disabled { color: #9ca3af; cursor: default; }
#slider { flex: 1 1 240px; min-width: 160px; accent-color: #e4572e; }
#position { font-variant-numeric: tabular-nums; color: #374151; min-width: 7em; }
.panel { margin: 8px 0; padding: 8px 12px; border-left: 4px solid #9ca3af; background: #f9fafb;
  min-height: 5.2em; }
.panel.backward { border-left-color: #e4572e; }
.panel.forward { border-left-color: #2563eb; }
#phase { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.05em; color: #6b7280; }
#heading { font-weight: 600; margin: 2px 0; overflow-wrap: anywhere; }
#explanation { margin: 4px 0; font-size: 0.9rem; white-space: pre-wrap; overflow-wrap: anywhere;
  max-height: 12em; overflow: auto; }
#changes { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
#changes td { padding: 1px 10px 1px 0; overflow-wrap: anywhere; }
#changes td.to { color: #c2410c; font-weight: 600; }
#graph { overflow: auto; border: 1px solid #e5e7eb; border-radius: 6px; }
#graph svg { display: block; height: auto; }
#graph.fit svg { max-width: 100%; }
.legend { font-size: 0.8rem; color: #4b5563; }
.swatch { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px;
  vertical-align: -2px; border: 1px solid #374151; }
.swatch.parameter { background: #fde68a; border-width: 2px; }
.swatch.input { background: #dbeafe; }
.swatch.result { background: #fff; border-radius: 4px; }
.swatch.op { background: #e5e7eb; border-color: #9ca3af; border-radius: 50%; }
.swatch.current { background: #fff; border: 3px solid #e4572e; }
.swatch.operand { background: #fff; border: 2px dashed #e4572e; }
#graph svg text { font-family: Helvetica, Arial, "Liberation Sans", Arimo, "DejaVu Sans Condensed",
  sans-serif; }
svg .node.pending > polygon, svg .node.pending > path { stroke: #9ca3af; stroke-dasharray: 4 3; }
svg .node.pending text { fill: #9ca3af; }
svg text.idle { fill: #9ca3af; }
svg .node.current > polygon, svg .node.current > path, svg .node.current > ellipse {
  stroke: #e4572e; stroke-width: 3; }
svg .node.operand > polygon, svg .node.operand > path {
  stroke: #e4572e; stroke-width: 2; stroke-dasharray: 5 2; }
svg text.changed { fill: #c2410c; font-weight: bold; }
svg .edge.flow > path { stroke: #e4572e; stroke-width: 2.5; }
svg .edge.flow > polygon { stroke: #e4572e; fill: #e4572e; }
"""

# The steps are replayed from the data (never from per-step pictures): at step k
# the page shows the data and gradients after steps 0..k, so any step can be
# reached directly from the slider.
_JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("steps-data").textContent);
  var svg = document.querySelector("#graph svg");
  var N = D.nodes.length;
  var nodeEl = [], opEl = [], dataEl = [], gradEl = [];
  var byTitle = {}, edges = {};
  svg.querySelectorAll("g.node, g.edge").forEach(function (g) {
    var t = g.querySelector("title");
    if (!t) return;
    var key = t.textContent;
    if (g.classList.contains("edge")) (edges[key] = edges[key] || []).push(g);
    else byTitle[key] = g;
  });
  for (var i = 0; i < N; i++) {
    var g = byTitle["v" + i];
    nodeEl.push(g);
    opEl.push(byTitle["v" + i + "_op"] || null);
    var texts = g ? g.querySelectorAll("text") : [];
    if (D.nodes[i].kind !== "constant" && texts.length >= 3) {
      dataEl.push(texts[texts.length - 2]);
      gradEl.push(texts[texts.length - 1]);
      // The browser's font may be wider than the one the layout was measured with.
      texts.forEach(function (el) { measureRoom(g, el); squeeze(el); });
    } else {
      dataEl.push(null);
      gradEl.push(null);
    }
  }

  // How wide a field's text may grow: up to the separators (or the box's edges)
  // on either side of its centre, so a longer number never spills into its neighbour.
  function measureRoom(g, el) {
    var box = g.querySelector("polygon, path").getBBox();
    var x = Number(el.getAttribute("x")), left = box.x, right = box.x + box.width;
    g.querySelectorAll("polyline").forEach(function (line) {
      var p = line.points;
      if (p.numberOfItems < 2 || Math.abs(p.getItem(0).x - p.getItem(1).x) > 0.01) return;
      var at = p.getItem(0).x;
      if (at < x) left = Math.max(left, at);
      else right = Math.min(right, at);
    });
    el.room = 2 * Math.min(x - left, right - x) - 6;
  }
  var steps = [{ phase: "forward", start: true }];
  D.forward.forEach(function (s) { steps.push({ phase: "forward", s: s }); });
  steps.push({ phase: "backward", start: true });
  D.backward.forEach(function (s) { steps.push({ phase: "backward", s: s }); });
  var last = steps.length - 1;
  var slider = document.getElementById("slider");
  var back = document.getElementById("back"), next = document.getElementById("next");
  slider.max = String(last);
  var container = document.getElementById("graph");
  if (svg.viewBox.baseVal && svg.viewBox.baseVal.width < 1500) container.classList.add("fit");

  function stateAt(k) {
    var known = [], grad = [], forward = steps[k].phase === "forward";
    for (var i = 0; i < N; i++) {
      known.push(D.nodes[i].kind !== "result" || !forward);
      grad.push("0.0");
    }
    if (forward) {
      for (var j = 1; j <= k; j++) known[steps[j].s.node] = true;
      return { known: known, grad: grad };
    }
    grad[D.root] = D.rootGrad;
    for (var j = 0; j <= k; j++) {
      var s = steps[j].s;
      if (steps[j].phase !== "backward" || !s) continue;
      s.operands.forEach(function (o, m) { grad[o] = s.after[m]; });
    }
    return { known: known, grad: grad };
  }

  function setText(el, text) {
    if (el.textContent === text) return;
    el.textContent = text;
    el.removeAttribute("textLength");
    el.removeAttribute("lengthAdjust");
    squeeze(el);
  }

  function squeeze(el) {
    if (el.room > 0 && el.getComputedTextLength() > el.room) {
      el.setAttribute("textLength", String(el.room));
      el.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }

  var marked = [];
  function mark(el, cls) {
    if (!el) return;
    el.classList.add(cls);
    marked.push([el, cls]);
  }
  function markEdges(key) { (edges[key] || []).forEach(function (e) { mark(e, "flow"); }); }

  function show(k) {
    k = Math.max(0, Math.min(last, k));
    var step = steps[k], st = stateAt(k), forward = step.phase === "forward";
    marked.forEach(function (p) { p[0].classList.remove(p[1]); });
    marked = [];
    for (var i = 0; i < N; i++) {
      var g = nodeEl[i];
      if (!g) continue;
      g.classList.toggle("pending", !st.known[i]);
      if (dataEl[i]) {
        setText(dataEl[i], "data " + (st.known[i] ? D.nodes[i].data : "?"));
        setText(gradEl[i], "grad " + st.grad[i]);
        gradEl[i].classList.toggle("idle", forward);
      }
    }
    var panel = document.querySelector(".panel");
    panel.className = "panel " + step.phase;
    document.getElementById("phase").textContent =
      forward ? "forward pass: computing the data" : "backward pass: the chain rule";
    var heading = document.getElementById("heading");
    var explanation = document.getElementById("explanation");
    var rows = document.querySelector("#changes tbody");
    rows.textContent = "";
    if (step.start && forward) {
      heading.textContent = D.forwardStart;
      explanation.textContent = "";
      D.nodes.forEach(function (n, i) { if (n.kind !== "result") mark(nodeEl[i], "operand"); });
    } else if (step.start) {
      heading.textContent = "start";
      explanation.textContent = D.backwardStart;
      mark(nodeEl[D.root], "current");
      if (gradEl[D.root]) mark(gradEl[D.root], "changed");
    } else if (forward) {
      var s = step.s;
      heading.textContent = "step " + k + " of " + D.forward.length;
      explanation.textContent = s.text;
      mark(nodeEl[s.node], "current");
      mark(opEl[s.node], "current");
      if (dataEl[s.node]) mark(dataEl[s.node], "changed");
      s.operands.forEach(function (o) {
        mark(nodeEl[o], "operand");
        markEdges("v" + o + "->v" + s.node + "_op");
      });
      markEdges("v" + s.node + "_op->v" + s.node);
    } else {
      var s = step.s;
      var number = k - D.forward.length - 1;
      heading.textContent = "step " + number + " of " + D.backward.length + ": " + s.heading;
      explanation.textContent = s.explanation;
      mark(nodeEl[s.node], "current");
      mark(opEl[s.node], "current");
      markEdges("v" + s.node + "_op->v" + s.node);
      s.operands.forEach(function (o, m) {
        mark(nodeEl[o], "operand");
        if (gradEl[o]) mark(gradEl[o], "changed");
        markEdges("v" + o + "->v" + s.node + "_op");
        var tr = document.createElement("tr");
        [D.nodes[o].name + ".grad", s.before[m], "\u2192", s.after[m]].forEach(function (t, c) {
          var td = document.createElement("td");
          td.textContent = t;
          if (c === 3) td.className = "to";
          tr.appendChild(td);
        });
        rows.appendChild(tr);
      });
    }
    slider.value = String(k);
    back.disabled = k === 0;
    next.disabled = k === last;
    document.getElementById("position").textContent = "step " + k + " / " + last;
    var current = svg.querySelector(".node.current");
    if (current && !container.classList.contains("fit")) {
      var box = current.getBoundingClientRect(), view = container.getBoundingClientRect();
      if (box.left < view.left || box.right > view.right || box.top < view.top ||
          box.bottom > view.bottom) {
        current.scrollIntoView({ block: "nearest", inline: "center" });
      }
    }
  }

  function current() { return Number(slider.value); }
  back.addEventListener("click", function () { show(current() - 1); });
  next.addEventListener("click", function () { show(current() + 1); });
  slider.addEventListener("input", function () { show(current()); });
  document.addEventListener("keydown", function (e) {
    if (e.target === slider || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "ArrowRight") { show(current() + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { show(current() - 1); e.preventDefault(); }
    else if (e.key === "Home") { show(0); e.preventDefault(); }
    else if (e.key === "End") { show(last); e.preventDefault(); }
  });
  show(0);
})();
"""
