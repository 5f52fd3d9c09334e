// The training page: a run replayed epoch by epoch from the data in #run-data.
//
// Charts and the boundary are drawn with the canvas API: a grid of one byte per
// cell is smoothed by scaling it up, and the boundary line is traced through the
// cells with marching squares.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("run-data").textContent);
  var n = D.resolution, L = D.levels;
  var slider = document.getElementById("slider"), play = document.getElementById("play");
  slider.max = String(D.epochs.length - 1);
  var total = D.trainLoss.length;

  function rgb(hex) {
    return [1, 3, 5].map(function (i) { return parseInt(hex.substr(i, 2), 16); });
  }
  function decode(b64) {
    var s = atob(b64), a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a;
  }
  var grids = D.grids.map(decode);
  var colors = D.colors.map(rgb);

  // --- the data and the decision boundary ---
  var bc = document.getElementById("boundary"), bx = bc.getContext("2d");
  var pad = 34, W = bc.width - pad - 8, H = bc.height - pad - 8;
  var spanX = D.high[0] - D.low[0], spanY = D.high[1] - D.low[1];
  var scale = Math.min(W / spanX, H / spanY);
  // A flat data set gets a flat picture, not a tall one with empty space.
  bc.height = Math.round(spanY * scale + pad + 8);
  H = bc.height - pad - 8;
  var plotW = spanX * scale, plotH = spanY * scale;
  var left = pad + (W - plotW) / 2, top = 8 + (H - plotH) / 2;
  function px(x) { return left + (x - D.low[0]) * scale; }
  function py(y) { return top + plotH - (y - D.low[1]) * scale; }
  var cells = document.createElement("canvas");
  cells.width = n; cells.height = n;
  var cx = cells.getContext("2d");

  // A signed strength per cell for class k: positive where k wins.
  function field(grid, k) {
    var f = new Float32Array(n * n);
    for (var i = 0; i < n * n; i++) {
      var b = grid[i];
      if (b === D.unknown) { f[i] = NaN; continue; }
      var c = Math.floor(b / L), s = (b % L + 0.5) / L;
      f[i] = c === k ? s : -s;
    }
    return f;
  }

  (function legend() {
    var box = document.getElementById("legend");
    function item(color, ring, text) {
      var dot = document.createElement("span");
      if (ring) { dot.className = "ring"; dot.style.borderColor = color; }
      else dot.style.background = color;
      box.appendChild(dot);
      box.appendChild(document.createTextNode(text));
    }
    var seen = {};
    D.points.concat(D.valPoints).forEach(function (p) { seen[p[2]] = true; });
    Object.keys(seen).sort().forEach(function (k) {
      item(D.colors[k % D.colors.length], false, "class " + k);
    });
    item("#6b7280", false, "training");
    if (D.valPoints.length) item("#6b7280", true, "validation");
  })();

  function drawBoundary(index) {
    var grid = grids[index];
    var image = cx.createImageData(n, n);
    for (var j = 0; j < n; j++) {
      for (var i = 0; i < n; i++) {
        var b = grid[j * n + i], o = ((n - 1 - j) * n + i) * 4, rgbv;
        if (b === D.unknown) rgbv = [200, 200, 200];
        else {
          var c = colors[Math.floor(b / L) % colors.length], t = 0.12 + 0.38 * (b % L) / (L - 1);
          rgbv = c.map(function (v) { return Math.round(255 - t * (255 - v)); });
        }
        image.data[o] = rgbv[0]; image.data[o + 1] = rgbv[1]; image.data[o + 2] = rgbv[2];
        image.data[o + 3] = 255;
      }
    }
    cx.putImageData(image, 0, 0);
    bx.clearRect(0, 0, bc.width, bc.height);
    bx.imageSmoothingEnabled = true;
    bx.drawImage(cells, left, top, plotW, plotH);
    // The boundary: where class k stops winning, for each class but the first when
    // there are two (the line between them is the same from both sides).
    bx.strokeStyle = "#1f2937"; bx.lineWidth = 1.6;
    var cw = plotW / n, ch = plotH / n;
    for (var k = colors.length === 2 ? 1 : 0; k < colors.length; k++) {
      var f = field(grid, k);
      bx.beginPath();
      for (let j = 0; j < n - 1; j++) {
        for (let i = 0; i < n - 1; i++) {
          var v = [f[j * n + i], f[j * n + i + 1], f[(j + 1) * n + i + 1], f[(j + 1) * n + i]];
          if (v.some(isNaN)) continue;
          // Corners at the cell centres; points where the field crosses zero on each side.
          var xy = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], cross = [];
          for (var e = 0; e < 4; e++) {
            var a = v[e], b2 = v[(e + 1) % 4];
            if ((a > 0) !== (b2 > 0)) {
              var t2 = a / (a - b2), p = xy[e], q = xy[(e + 1) % 4];
              cross.push([p[0] + t2 * (q[0] - p[0]), p[1] + t2 * (q[1] - p[1])]);
            }
          }
          for (var m = 0; m + 1 < cross.length; m += 2) {
            bx.moveTo(left + (cross[m][0] + 0.5) * cw, top + plotH - (cross[m][1] + 0.5) * ch);
            bx.lineTo(left + (cross[m + 1][0] + 0.5) * cw,
                      top + plotH - (cross[m + 1][1] + 0.5) * ch);
          }
        }
      }
      bx.stroke();
    }
    bx.strokeStyle = "#6b7280"; bx.lineWidth = 1;
    bx.strokeRect(left, top, plotW, plotH);
    D.valPoints.forEach(function (p) {
      bx.beginPath(); bx.arc(px(p[0]), py(p[1]), 4.2, 0, 2 * Math.PI);
      bx.strokeStyle = D.colors[p[2] % D.colors.length]; bx.lineWidth = 1.6; bx.stroke();
    });
    D.points.forEach(function (p) {
      bx.beginPath(); bx.arc(px(p[0]), py(p[1]), 4, 0, 2 * Math.PI);
      bx.fillStyle = D.colors[p[2] % D.colors.length]; bx.fill();
      bx.strokeStyle = "#111827"; bx.lineWidth = 0.8; bx.stroke();
    });
    bx.fillStyle = "#374151"; bx.font = "12px system-ui, sans-serif"; bx.textAlign = "center";
    bx.fillText("x1", left + plotW / 2, top + plotH + 26);
    [D.low[0], D.high[0]].forEach(function (v, m) {
      bx.fillText(v.toFixed(1), m ? left + plotW - 10 : left + 10, top + plotH + 14);
    });
    bx.save(); bx.translate(left - 22, top + plotH / 2); bx.rotate(-Math.PI / 2);
    bx.fillText("x2", 0, 0); bx.restore();
    bx.textAlign = "right";
    bx.fillText(D.low[1].toFixed(1), left - 4, top + plotH - 4);
    bx.fillText(D.high[1].toFixed(1), left - 4, top + 12);
    bc.setAttribute("data-epoch", String(D.epochs[index]));
  }

  // --- the curves ---
  function chart(id, name, series, percent) {
    var c = document.getElementById(id), x = c.getContext("2d");
    var lo = Infinity, hi = -Infinity;
    series.forEach(function (s) { s.values.forEach(function (v) {
      if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
    if (percent) { lo = Math.min(Math.floor(lo * 10) / 10, 0.5); hi = 1; }
    lo = percent ? lo : Math.min(0, lo);
    if (!(hi > lo)) { hi = lo + 1; }
    var step = percent ? 0.1 : nice((hi - lo) / 4);
    hi = lo + Math.ceil((hi - lo) / step - 1e-9) * step;
    var l = 52, r = c.width - 18, t = 24, b = c.height - 30;
    var epochStep = nice(total / 5);
    function X(e) { return l + (r - l) * (total > 1 ? (e - 1) / (total - 1) : 0.5); }
    function Y(v) { return b - (b - t) * (v - lo) / (hi - lo); }
    return function draw(epoch) {
      x.clearRect(0, 0, c.width, c.height);
      x.font = "12px system-ui, sans-serif"; x.fillStyle = "#111827"; x.textAlign = "left";
      x.fillText(name, l, 14);
      x.strokeStyle = "#e5e7eb"; x.lineWidth = 1; x.fillStyle = "#6b7280"; x.textAlign = "right";
      for (var v = lo; v <= hi + step / 2; v += step) {
        x.beginPath(); x.moveTo(l, Y(v)); x.lineTo(r, Y(v)); x.stroke();
        x.fillText(percent ? Math.round(v * 100) + "%" : short(v), l - 6, Y(v) + 4);
      }
      x.textAlign = "center";
      var ticks = [1];
      for (var e = Math.max(1, epochStep); e <= total; e += Math.max(1, epochStep)) {
        if (e > 1 && (e === total || total - e >= epochStep / 2)) ticks.push(e);
      }
      if (ticks[ticks.length - 1] !== total) ticks.push(total);
      ticks.forEach(function (e) { x.fillText(String(e), X(e), b + 14); });
      x.fillText("epoch", (l + r) / 2, b + 26);
      series.forEach(function (s) {
        x.strokeStyle = s.color; x.lineWidth = 1.8; x.beginPath();
        var pen = false;
        s.values.forEach(function (v, i) {
          if (v === null) { pen = false; return; }
          if (pen) x.lineTo(X(i + 1), Y(v)); else x.moveTo(X(i + 1), Y(v));
          pen = true;
        });
        x.stroke();
      });
      var lx = r - 150;
      series.forEach(function (s, m) {
        x.fillStyle = s.color; x.fillRect(lx + m * 80, 6, 14, 3);
        x.fillStyle = "#374151"; x.textAlign = "left"; x.fillText(s.label, lx + m * 80 + 18, 12);
      });
      if (epoch >= 1) {
        x.strokeStyle = "#111827"; x.lineWidth = 1.2; x.setLineDash([4, 3]);
        x.beginPath(); x.moveTo(X(epoch), t); x.lineTo(X(epoch), b); x.stroke();
        x.setLineDash([]);
        series.forEach(function (s) {
          var v = s.values[epoch - 1];
          if (v === null || v === undefined) return;
          x.beginPath(); x.arc(X(epoch), Y(v), 4, 0, 2 * Math.PI);
          x.fillStyle = s.color; x.fill();
        });
      }
      c.setAttribute("data-epoch", String(epoch));
      c.setAttribute("data-marker-x", epoch >= 1 ? X(epoch).toFixed(1) : "");
    };
  }
  // 1, 2 or 5 times a power of ten: steps between grid lines that read easily.
  function nice(raw) {
    if (!(raw > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function short(v) { return String(parseFloat(v.toPrecision(3))); }
  function pair(train, val) {
    var s = [];
    if (train.length) s.push({ label: "training", color: D.trainColor, values: train });
    if (val.length) s.push({ label: "validation", color: D.validationColor, values: val });
    return s;
  }
  var charts = [chart("loss-chart", "loss", pair(D.trainLoss, D.valLoss), false)];
  if (D.trainAccuracy.length || D.valAccuracy.length) {
    charts.push(chart("accuracy-chart", "accuracy", pair(D.trainAccuracy, D.valAccuracy), true));
  } else {
    document.getElementById("accuracy-chart").style.display = "none";
  }

  function fmt(v, percent) {
    if (v === null || v === undefined) return "\u2013";
    return percent ? (v * 100).toFixed(1) + "%" : String(parseFloat(Number(v).toPrecision(4)));
  }
  function both(a, b, e, percent) {
    var text = "training " + fmt(a[e - 1], percent);
    if (b.length) text += ", validation " + fmt(b[e - 1], percent);
    return text;
  }

  function show(index) {
    index = Math.max(0, Math.min(D.epochs.length - 1, index));
    var e = D.epochs[index];
    slider.value = String(index);
    drawBoundary(index);
    charts.forEach(function (draw) { draw(e); });
    document.getElementById("epoch").textContent = e === 0 ? "before training" :
      "epoch " + e + " of " + total + (D.interrupted && e === total ? " (interrupted)" : "");
    document.getElementById("boundary-caption").textContent = e === 0 ?
      "decision boundary of the initial weights" : "decision boundary after epoch " + e;
    document.getElementById("lr").textContent = e === 0 ?
      "first epoch: " + fmt(D.lr[0]) : fmt(D.lr[e - 1]);
    document.getElementById("loss").textContent = e === 0 ? "\u2013" :
      both(D.trainLoss, D.valLoss, e, false);
    document.getElementById("accuracy").textContent = e === 0 || !D.trainAccuracy.length ?
      "\u2013" : both(D.trainAccuracy, D.valAccuracy, e, true);
  }

  var timer = null;
  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = "\u25B6 play";
  }
  play.addEventListener("click", function () {
    if (timer !== null) { stop(); return; }
    if (Number(slider.value) >= D.epochs.length - 1) show(0);
    play.textContent = "\u275A\u275A pause";
    timer = setInterval(function () {
      var k = Number(slider.value) + 1;
      show(k);
      if (k >= D.epochs.length - 1) stop();
    }, Math.max(40, Math.min(200, 8000 / D.epochs.length)));
  });
  slider.addEventListener("input", function () { stop(); show(Number(slider.value)); });
  document.addEventListener("keydown", function (ev) {
    if (ev.target === slider || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var by = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
    if (!by) return;
    stop();
    show(Number(slider.value) + by);
    ev.preventDefault();
  });
  show(D.epochs.length - 1);
})();
