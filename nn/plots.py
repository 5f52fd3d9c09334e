"""Pictures of training: decision boundaries, loss and accuracy curves, confusion matrices, images.

Needs matplotlib (`pip install 'valuegrad[plot]'`), imported only when a function
here is called. Each function draws into axes you pass, or makes a new pyplot
figure (shown inline in Jupyter); `new_figure` makes a figure outside pyplot, for
scripts that only save images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from autograd import Value

__all__ = ["CLASS_COLORS", "check_points", "class_scores", "new_figure",
           "plot_confusion_matrix", "plot_decision_boundary", "plot_history", "plot_images"]

# One colour per class (colour-blind safe: Okabe and Ito's palette); regions use lighter tints.
CLASS_COLORS = ("#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
TRAIN_COLOR = "#0072b2"
VALIDATION_COLOR = "#d55e00"
INSTALL_HINT = "plotting needs matplotlib: pip install 'valuegrad[plot]'"


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(INSTALL_HINT) from None


def new_figure(ncols: int = 1, figsize: tuple[float, float] = (6.0, 5.0)) -> tuple[Any, Any]:
    """`(figure, axes)` made without pyplot: no window and no global state; save with
    `figure.savefig(path)`. `axes` is one Axes, or a list of `ncols` of them."""
    _require_matplotlib()
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    axes = figure.subplots(1, ncols, squeeze=False)[0]
    return figure, (axes[0] if ncols == 1 else list(axes))


def _pyplot_axes(ncols: int, figsize: tuple[float, float]) -> tuple[Any, Any]:
    _require_matplotlib()
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False, layout="constrained")
    return figure, (axes[0][0] if ncols == 1 else list(axes[0]))


def _tint(color: str, amount: float) -> tuple[float, float, float]:
    """`color` mixed with white: `amount` 0 is white, 1 the colour itself."""
    from matplotlib.colors import to_rgb

    red, green, blue = (1.0 - amount * (1.0 - c) for c in to_rgb(color))
    return red, green, blue


def _class_indices(y: Sequence, where: str) -> list[int]:
    """Labels as colour indices: -1/+1 become 0/1; 0, 1, 2, ... stay as they are."""
    labels = set(y)
    if labels and labels <= {-1, 1} and -1 in labels:
        return [0 if t == -1 else 1 for t in y]
    for i, t in enumerate(y):
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"{where}: labels must be class numbers 0, 1, 2, ... or -1/+1, "
                             f"got y[{i}] = {t!r}")
    return list(y)


def check_points(X: Any, y: Any, where: str) -> tuple[list[list[float]], list[int]]:
    """`X` as [x1, x2] float pairs and `y` as class indices (-1/+1 become 0/1).

    Errors name `where`.
    """
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence) or not X:
        raise TypeError(f"{where}: X must be a non-empty list of points (x1, x2)")
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence) or len(y) != len(X):
        raise ValueError(f"{where}: y must be a list of {len(X)} labels, one per point")
    points = []
    for i, point in enumerate(X):
        if not isinstance(point, Sequence) or len(point) != 2:
            raise ValueError(f"{where}: every point must have 2 coordinates to be drawn; "
                             f"X[{i}] = {point!r}")
        points.append([float(point[0]), float(point[1])])
    return points, _class_indices(y, where)


def class_scores(model: Any, points: list[list[float]]) -> list[list[float]]:
    """Each point's class scores, in evaluation mode: [-s, s] for a single output s
    (class 1 wins when s > 0), else the outputs themselves. Needs no matplotlib."""
    return _scores(_outputs(model, points))


def _outputs(model: Any, points: list[list[float]]) -> list[list[float]]:
    """Each point's outputs as numbers, in evaluation mode: [s] for a single output s."""
    from nn.module import Module, evaluating

    outputs = None
    if isinstance(model, Module) and len(points) > 100:
        outputs = _compiled_outputs(model, points)
    if outputs is None:
        with evaluating(model):
            results = [model(p) for p in points]
        outputs = [[r.data] if isinstance(r, Value) else [v.data for v in r] for r in results]
    return outputs


def _scores(outputs: list[list[float]]) -> list[list[float]]:
    """One score per class: [-s, s] for a single output s (class 1 wins when s > 0)."""
    return [[-o[0], o[0]] if len(o) == 1 else o for o in outputs]


def _compiled_outputs(model: Any, points: list[list[float]]) -> list[list[float]] | None:
    """The outputs through `autograd.compile` (about 5 times faster on a grid), or None
    if the model cannot be replayed that way."""
    from autograd import GraphChanged, compile
    from nn.module import evaluating

    try:
        with evaluating(model, graph=True):  # traced with the graph on, as compile needs
            probe = model(points[0])
            count = 1 if isinstance(probe, Value) else len(probe)
            if count == 1:
                functions = [compile(lambda a, b: model([a, b]))]
            else:  # a compiled function returns one Value: one per output
                functions = [compile(lambda a, b, k=k: model([a, b])[k]) for k in range(count)]
            outputs = [[f.forward(a, b) for f in functions] for a, b in points]
    except (GraphChanged, TypeError, ValueError, RecursionError, MemoryError):
        # RecursionError: Python cannot compile the code of a very wide model.
        return None
    # A model that reads .data or makes new leaves would replay wrongly: check a few points.
    with evaluating(model):
        for i in (0, len(points) // 2, len(points) - 1):
            direct = model(points[i])
            expected = [direct.data] if isinstance(direct, Value) else [v.data for v in direct]
            if not all(math.isclose(e, o, rel_tol=1e-9, abs_tol=1e-12)
                       for e, o in zip(expected, outputs[i])):
                return None
    return outputs


def plot_decision_boundary(model: Any, X: Sequence, y: Sequence, ax: Any = None, *,
                           validation: tuple[Sequence, Sequence] | None = None,
                           resolution: int = 100, margin: float = 0.5,
                           title: str | None = None) -> Any:
    """Draw which class `model` predicts over the plane, with the labelled points on top.

    `model` maps a point [x1, x2] to one Value (a score: class 1 above 0, as with the
    hinge loss or logits) or to a list of Values (the class is the largest). `y` holds
    classes 0, 1, 2, ... or -1/+1. The model is evaluated on a `resolution` x
    `resolution` grid covering the points plus `margin`. Training points are filled
    dots with black edges; `validation=(X_val, y_val)` adds hollow markers. The title
    defaults to the accuracies. Returns the Axes.
    """
    where = "plot_decision_boundary"
    points, classes = check_points(X, y, where)
    val_points, val_classes = ([], []) if validation is None else check_points(
        *validation, f"{where}: validation")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"{where}: resolution must be an int >= 2, got {resolution!r}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not (
            math.isfinite(margin) and margin >= 0):
        raise ValueError(f"{where}: margin must be a finite number >= 0, got {margin!r}")
    if ax is None:
        _, ax = _pyplot_axes(1, (6.0, 5.0))
    from matplotlib.lines import Line2D

    everything = points + val_points
    low = [min(p[k] for p in everything) - margin for k in (0, 1)]
    high = [max(p[k] for p in everything) + margin for k in (0, 1)]
    xs = [low[0] + (high[0] - low[0]) * i / (resolution - 1) for i in range(resolution)]
    ys = [low[1] + (high[1] - low[1]) * j / (resolution - 1) for j in range(resolution)]
    grid = [[x, y_] for y_ in ys for x in xs]
    scores = class_scores(model, grid)
    n_classes = max(len(scores[0]), *(c + 1 for c in classes + val_classes))
    colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(n_classes)]
    # Class k wins where its margin, its score minus the best other score, is above 0:
    # filling and outlining those regions gives smooth boundaries at any resolution.
    for k in range(len(scores[0])):
        margins = [s[k] - max(s[:k] + s[k + 1:]) for s in scores]
        top = max(margins)
        if top <= 0.0:
            continue  # the model never predicts class k here
        surface = [margins[j * resolution:(j + 1) * resolution] for j in range(resolution)]
        ax.contourf(xs, ys, surface, levels=[0.0, top + 1.0], colors=[_tint(colors[k], 0.28)])
        ax.contour(xs, ys, surface, levels=[0.0], colors="#374151", linewidths=1.0)

    ax.scatter([p[0] for p in points], [p[1] for p in points],
               c=[colors[c] for c in classes], edgecolors="black", linewidths=0.6, s=30,
               zorder=3)
    if val_points:
        ax.scatter([p[0] for p in val_points], [p[1] for p in val_points], marker="o",
                   facecolors="none", edgecolors=[colors[c] for c in val_classes],
                   linewidths=1.3, s=34, zorder=2)
    handles = [Line2D([], [], ls="", marker="o", markerfacecolor=colors[k],
                      markeredgecolor="black", markersize=7, label=f"class {k}")
               for k in sorted(set(classes + val_classes))]
    handles.append(Line2D([], [], ls="", marker="o", markerfacecolor="black",
                          markeredgecolor="black", markersize=6, label="training"))
    if val_points:
        handles.append(Line2D([], [], ls="", marker="o", markerfacecolor="none",
                              markeredgecolor="black", markersize=6, label="validation"))
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)

    if title is None:
        title = f"training accuracy {_accuracy(_outputs(model, points), classes):.1%}"
        if val_points:
            title += f", validation {_accuracy(_outputs(model, val_points), val_classes):.1%}"
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal", adjustable="box")
    return ax


def _accuracy(outputs: list[list[float]], classes: list[int]) -> float:
    from nn.module import output_label

    predicted = [output_label(o[0] if len(o) == 1 else o) for o in outputs]
    return sum(p == c for p, c in zip(predicted, classes)) / len(classes)


def plot_history(history: Any, axes: Any = None, *, title: str | None = None) -> Any:
    """Draw the loss per epoch and, when recorded, the accuracy per epoch, side by side.

    `history` is an `nn.History` (anything with `train_loss`, `val_loss`,
    `train_accuracy`, `val_accuracy` lists and `best_epoch`). `axes` is a pair of
    Axes (one Axes is enough without accuracies). A dotted line marks the epoch with
    the lowest validation loss. Returns the Figure.
    """
    train_loss = list(getattr(history, "train_loss", None) or [])
    if not train_loss:
        raise ValueError("plot_history: the history has no epochs (train_loss is empty)")
    curves = [("loss", list(history.train_loss), list(history.val_loss)),
              ("accuracy", list(history.train_accuracy), list(history.val_accuracy))]
    curves = [c for c in curves if c[1] or c[2]]
    if axes is None:
        _, axes = _pyplot_axes(len(curves), (5.0 * len(curves), 3.8))
    if not isinstance(axes, (list, tuple)):
        axes = [axes]
    if len(axes) < len(curves):
        raise ValueError(f"plot_history: needs {len(curves)} Axes (loss and accuracy), "
                         f"got {len(axes)}")
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    marker = "o" if len(train_loss) <= 20 else None
    best = getattr(history, "best_epoch", None)
    for ax, (name, train, val) in zip(axes, curves):
        if train:
            ax.plot(range(1, len(train) + 1), train, color=TRAIN_COLOR, marker=marker,
                    markersize=3, label="training")
        if val:
            ax.plot(range(1, len(val) + 1), val, color=VALIDATION_COLOR, marker=marker,
                    markersize=3, label="validation")
        if best is not None and val:
            ax.axvline(best + 1, color="#6b7280", ls=":", lw=1,
                       label=f"lowest validation loss (epoch {best + 1})")
        if name == "accuracy":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name.capitalize())
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    figure = axes[0].figure
    if title:
        figure.suptitle(title)
    return figure


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], ax: Any = None, *,
                          title: str | None = None) -> Any:
    """Draw a confusion matrix (such as `nn.confusion_matrix`'s): row = true class,
    column = predicted class, each cell's count written in it, the diagonal (correct)
    in the darkest shades. Returns the Axes."""
    counts = [list(row) for row in matrix]
    n = len(counts)
    if n == 0 or any(len(row) != n for row in counts):
        raise ValueError("plot_confusion_matrix: matrix must be square and non-empty")
    if any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for row in counts for c in row):
        raise ValueError("plot_confusion_matrix: the counts must be ints >= 0")
    if ax is None:
        _, ax = _pyplot_axes(1, (0.55 * n + 1.5, 0.55 * n + 1.2))
    top = max(max(row) for row in counts) or 1
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=top)
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                        color="white" if count > top / 2 else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = sum(map(sum, counts))
    correct = sum(counts[k][k] for k in range(n))
    ax.set_title(title if title is not None else
                 f"{correct} of {total} right ({correct / max(total, 1):.1%})")
    return ax


def plot_images(images: Sequence[Sequence[float]], titles: Sequence[str] | None = None, *,
                ncols: int = 10, side: int | None = None, cmap: str = "gray_r",
                symmetric: bool = False, scale: float = 0.9) -> Any:
    """Draw flat square images (such as 8x8 digits, 64 numbers row by row) in a grid.

    `titles` go above the images. By default 0 is white and the largest value black
    (`gray_r`); `symmetric=True` centres the colour map on 0 for signed values such
    as weights (use a diverging map such as "RdBu_r"). Returns the Figure.
    """
    images = [list(map(float, image)) for image in images]
    if not images:
        raise ValueError("plot_images: no images")
    size = len(images[0])
    side = side or math.isqrt(size)
    if side * side != size or any(len(image) != size for image in images):
        raise ValueError(f"plot_images: every image must have {side}x{side} = {side * side} "
                         f"values, got {sorted({len(image) for image in images})}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"plot_images: {len(titles)} titles for {len(images)} images")
    ncols = max(1, min(ncols, len(images)))
    nrows = math.ceil(len(images) / ncols)
    _require_matplotlib()
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(nrows, ncols, squeeze=False,
                                figsize=(scale * ncols, scale * nrows + 0.3 * (titles is not None)),
                                layout="constrained")
    for k, ax in enumerate(ax for row in axes for ax in row):
        if k >= len(images):
            ax.set_axis_off()
            continue
        # A thin frame, so that white pixels at the edge still show where the image ends.
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#9ca3af")
            spine.set_linewidth(0.6)
        rows = [images[k][r * side:(r + 1) * side] for r in range(side)]
        if symmetric:
            limit = max(abs(v) for v in images[k]) or 1.0
            ax.imshow(rows, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            ax.imshow(rows, cmap=cmap, vmin=0.0, vmax=max(1.0, max(images[k])))
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
    return figure
