// The step-through view of a computation graph: stepThrough(data, container) drives the
// drawing and the controls inside `container` (the markup of step-through.html, with the
// SVG in #graph) from `data`, what step_through computed: the nodes, the forward steps and
// the backward steps. It returns { show(k), last, destroy() }; destroy() removes the key
// listener, so that a page can replace the view with a new one.
//
// The steps are replayed from the data (never from per-step pictures): at step k
// the view shows the data and gradients after steps 0..k, so any step can be
// reached directly from the slider.
/* exported stepThrough */
function stepThrough(data, container) {
  "use strict";
  var D = data;
  function byId(id) { return container.querySelector("#" + id); }
  var svg = container.querySelector("#graph svg");
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
  var slider = byId("slider");
  var back = byId("back"), next = byId("next");
  slider.max = String(last);
  var drawing = byId("graph");
  if (svg.viewBox.baseVal && svg.viewBox.baseVal.width < 1500) drawing.classList.add("fit");

  function stateAt(k) {
    var known = [], grad = [], forward = steps[k].phase === "forward";
    for (var i = 0; i < N; i++) {
      known.push(D.nodes[i].kind !== "result" || !forward);
      grad.push("0.0");
    }
    if (forward) {
      for (let j = 1; j <= k; j++) known[steps[j].s.node] = true;
      return { known: known, grad: grad };
    }
    grad[D.root] = D.rootGrad;
    for (let j = 0; j <= k; j++) {
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
    var panel = container.querySelector(".panel");
    panel.className = "panel " + step.phase;
    byId("phase").textContent =
      forward ? "forward pass: computing the data" : "backward pass: the chain rule";
    var heading = byId("heading");
    var explanation = byId("explanation");
    var rows = container.querySelector("#changes tbody");
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
      const s = step.s;
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
    byId("position").textContent = "step " + k + " / " + last;
    var current = svg.querySelector(".node.current");
    if (current && !drawing.classList.contains("fit")) {
      var box = current.getBoundingClientRect(), view = drawing.getBoundingClientRect();
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
  // The keys work anywhere on the page, except where they edit something (the slider
  // moves itself; a text field of a page around the view keeps its keys).
  function onKey(e) {
    if (e.target === slider || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target && e.target.closest && e.target.closest("input, textarea, select")) return;
    if (e.key === "ArrowRight") { show(current() + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { show(current() - 1); e.preventDefault(); }
    else if (e.key === "Home") { show(0); e.preventDefault(); }
    else if (e.key === "End") { show(last); e.preventDefault(); }
  }
  document.addEventListener("keydown", onKey);
  show(0);
  return {
    show: show,
    last: last,
    destroy: function () { document.removeEventListener("keydown", onKey); },
  };
}
