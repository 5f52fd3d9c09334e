"""A training run as one self-contained HTML page that replays it epoch by epoch.

`TrainingReplay` is a `callback` for `nn.fit`: after each chosen epoch it scores
the model on a small grid over the data (which class wins and by how much), one
byte per cell. `save_html(path, history)` then writes a page that draws the data
and the decision boundary of any epoch on a <canvas>, with the loss and accuracy
curves (training and validation) marked at that epoch, the learning rate in
effect, and the settings of the run; a slider, play/pause and the arrow keys move
through training. No network, no matplotlib, no Jupyter needed to view it.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nn import _checks as check
from nn.module import output_label
from nn.plots import CLASS_COLORS, TRAIN_COLOR, VALIDATION_COLOR, check_points, class_scores

__all__ = ["TrainingReplay"]

# A grid cell is one byte: class * LEVELS + how clearly it wins (0 to LEVELS - 1).
LEVELS = 40
UNKNOWN = 255          # the scores were not numbers (a diverged model)
CLEAR_MARGIN = 2.0     # a winning margin this large is drawn at full strength


class TrainingReplay:
    """Snapshots of a classifier's decision boundary during training, and the page replaying them.

    Pass it as `nn.fit(..., callback=replay)`; the snapshot before training is
    taken when it is made. With `epochs` given and more epochs than `snapshots`,
    it keeps that many evenly spaced epochs (the last one included), else every
    epoch. `resolution` x `resolution` grid cells cover the points plus `margin`.
    Up to len(CLASS_COLORS) classes.
    """

    def __init__(self, model: Any, X: Sequence, y: Sequence, *,
                 validation: tuple[Sequence, Sequence] | None = None, epochs: int | None = None,
                 snapshots: int = 100, resolution: int = 40, margin: float = 0.5) -> None:
        where = "TrainingReplay"
        self.model = model
        self.points, self.classes = check_points(X, y, where)
        self.val_points, self.val_classes = ([], []) if validation is None else check_points(
            *validation, f"{where}: validation")
        snapshots = check.positive_int(where, "snapshots", snapshots)
        self.resolution = check.positive_int(where, "resolution", resolution)
        if self.resolution < 2:
            raise ValueError(f"{where}: resolution must be at least 2, got {resolution}")
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not (
                math.isfinite(margin) and margin >= 0):
            raise ValueError(f"{where}: margin must be a finite number >= 0, got {margin!r}")
        if epochs is not None:
            epochs = check.positive_int(where, "epochs", epochs)
        if epochs is None or epochs <= snapshots:
            self._wanted = None   # every epoch
        else:
            last = epochs - 1
            self._wanted = {round(k * last / max(snapshots - 1, 1)) for k in range(snapshots)}
        everything = self.points + self.val_points
        self.low = [min(p[k] for p in everything) - margin for k in (0, 1)]
        self.high = [max(p[k] for p in everything) + margin for k in (0, 1)]
        n = self.resolution
        xs = [self.low[0] + (self.high[0] - self.low[0]) * (i + 0.5) / n for i in range(n)]
        ys = [self.low[1] + (self.high[1] - self.low[1]) * (j + 0.5) / n for j in range(n)]
        self._grid = [[x, y_] for y_ in ys for x in xs]   # row by row, from the lowest y
        self._classes_seen = max(self.classes + self.val_classes) + 1
        self.snapshots: dict[int, bytes] = {}
        self._snapshot(0)

    def __call__(self, epoch: int, history: Any) -> None:
        """`fit`'s callback: after epoch `epoch` (0-based), snapshot it if it is one to keep."""
        if self._wanted is None or epoch in self._wanted:
            self._snapshot(epoch + 1)

    def _snapshot(self, trained_epochs: int) -> None:
        cells = bytearray()
        grid_scores = class_scores(self.model, self._grid)
        self._outputs = len(grid_scores[0])
        for scores in grid_scores:
            if not all(math.isfinite(s) for s in scores):
                cells.append(UNKNOWN)
                continue
            best = output_label(scores)
            others = [s for k, s in enumerate(scores) if k != best]
            lead = scores[best] - max(others) if others else CLEAR_MARGIN
            if best >= len(CLASS_COLORS):
                raise ValueError(f"TrainingReplay: draws at most {len(CLASS_COLORS)} classes, "
                                 f"the model has {len(scores)} outputs")
            level = min(LEVELS - 1, int(lead / CLEAR_MARGIN * LEVELS))
            cells.append(best * LEVELS + level)
        self.snapshots[trained_epochs] = bytes(cells)

    def html(self, history: Any, *, title: str = "training",
             settings: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> str:
        """The page: `history` is what `fit` returned; `settings` (name, value) pairs to list."""
        # The pages share their safe filling-in; imported here so that `import nn`
        # does not load the drawing modules.
        from autograd.page import fill_template, page_file, script_json

        epochs = len(history.train_loss)
        if epochs and epochs not in self.snapshots:
            self._snapshot(epochs)   # stopped early: the model as it ended
        pairs = settings.items() if isinstance(settings, Mapping) else settings
        shown = sorted(e for e in self.snapshots if e <= epochs)
        classes = max(self._classes_seen, self._outputs)
        data = {
            "resolution": self.resolution, "levels": LEVELS, "unknown": UNKNOWN,
            "low": self.low, "high": self.high,
            "colors": list(CLASS_COLORS[:max(classes, 2)]),
            "trainColor": TRAIN_COLOR, "validationColor": VALIDATION_COLOR,
            "points": [[round(a, 5), round(b, 5), c] for (a, b), c in
                       zip(self.points, self.classes)],
            "valPoints": [[round(a, 5), round(b, 5), c] for (a, b), c in
                          zip(self.val_points, self.val_classes)],
            "epochs": shown,
            "grids": [base64.b64encode(self.snapshots[e]).decode("ascii") for e in shown],
            "trainLoss": _finite(history.train_loss), "valLoss": _finite(history.val_loss),
            "trainAccuracy": _finite(history.train_accuracy),
            "valAccuracy": _finite(history.val_accuracy), "lr": _finite(history.lr),
            "interrupted": bool(getattr(history, "interrupted", False)),
        }
        rows = "\n".join(f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(str(value))}"
                         f"</td></tr>" for name, value in pairs)
        return fill_template(page_file("training.html", package="nn"), TITLE=html.escape(title),
                             CSS=page_file("page.css"), SETTINGS=rows, DATA=script_json(data),
                             JS=page_file("training.js", package="nn"))

    def save_html(self, path: str | os.PathLike, history: Any, *, title: str = "training",
                  settings: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> Path:
        """Write the page (see `html`) to `path` and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(history, title=title, settings=settings), encoding="utf-8")
        return path


def _finite(values: Iterable[float]) -> list[float | None]:
    # JSON has no NaN or infinity: a diverged epoch is a gap in the curve.
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in values]
