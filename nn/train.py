"""Training: `fit` runs the loop, `accuracy` and `confusion_matrix` score a model,
`History` records the run."""

from __future__ import annotations

import csv
import io
import math
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

from autograd import Value
from nn import _checks as check
from nn import data, optim
from nn._files import write_atomically
from nn.compiled import CompiledLoss
from nn.losses import binary_cross_entropy_with_logits, cross_entropy, hinge, l2_penalty, mse
from nn.module import evaluating, output_label

LOSSES: dict[str, Callable[[Any, Any], Value]] = {
    "hinge": hinge,
    "mse": mse,
    "bce": binary_cross_entropy_with_logits,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
}


@dataclass
class History:
    """What `fit` measured, one entry per epoch.

    `train_loss` and `train_accuracy` are averages over the epoch's batches as they
    were computed during training (before each step, with dropout on, as Keras
    reports them); `val_loss` and `val_accuracy` are measured after the epoch in
    evaluation mode. Losses are the data loss, without the L2 penalty, so training
    and validation are comparable. The accuracy lists stay empty when the labels
    are not classes. `lr` is the learning rate used in each epoch; `best_epoch` the
    (0-based) epoch with the lowest validation loss, or None without validation.
    `interrupted` is True when Ctrl-C stopped training: the last epoch then
    covers only the batches trained before it.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        """How many epochs ran (fewer than asked for if training stopped early)."""
        return len(self.train_loss)

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write one row per epoch: epoch, then every column that has values.

        The file is replaced in one step, never left half-written (see `Module.save`).
        """
        columns = {name: values for name, values in (
            ("train_loss", self.train_loss), ("train_accuracy", self.train_accuracy),
            ("val_loss", self.val_loss), ("val_accuracy", self.val_accuracy),
            ("lr", self.lr)) if values}
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(["epoch", *columns])
        for epoch in range(self.epochs):
            writer.writerow([epoch, *(repr(values[epoch]) for values in columns.values())])
        write_atomically(path, text.getvalue())


def accuracy(model: Callable[[Any], Any], X: Sequence, y: Sequence,
             threshold: float = 0.0) -> float:
    """The fraction of samples in `X` whose predicted label equals `y`, evaluated without a graph.

    A single-output model predicts the positive label when its score is above
    `threshold` (0: the sign of a hinge score or of a logit; use 0.5 for a model
    trained with mse on 0/1 targets); the labels are 0/1 or -1/+1, as in `y`.
    A model with several outputs predicts the index of its largest output.
    This is `model.predict(X, threshold, labels)` compared with `y`.
    """
    check.samples("accuracy", X, y)
    with evaluating(model):
        outputs = [model(x) for x in X]
    pair = _label_pair(y)
    if isinstance(outputs[0], Value):
        if pair is None:
            raise ValueError("accuracy: for a single-output model the labels must be 0/1 or "
                             f"-1/+1, got {_some_values(y)}")
    elif not _are_class_indices(y, len(outputs[0])):
        raise ValueError(f"accuracy: for a model with {len(outputs[0])} outputs the labels must "
                         f"be class indices 0 to {len(outputs[0]) - 1}, got {_some_values(y)}")
    return _fraction_correct(outputs, y, pair or (-1, 1), threshold)


def confusion_matrix(model: Callable[[Any], Any], X: Sequence, y: Sequence,
                     classes: int | None = None) -> list[list[int]]:
    """Counts of (true class, predicted class): `matrix[t][p]` samples of class `t` were
    predicted as `p`. For a model with several outputs and class indices as labels
    (evaluated as `accuracy` does); `classes` defaults to the number of outputs."""
    check.samples("confusion_matrix", X, y)
    with evaluating(model):
        outputs = [model(x) for x in X]
    if classes is None:
        classes = 2 if isinstance(outputs[0], Value) else len(outputs[0])
    classes = check.positive_int("confusion_matrix", "classes", classes)
    if not _are_class_indices(y, classes):
        raise ValueError(f"confusion_matrix: labels must be class indices 0 to {classes - 1}, "
                         f"got {_some_values(y)}")
    matrix = [[0] * classes for _ in range(classes)]
    for t, output in zip(y, outputs):
        matrix[t][output_label(output)] += 1
    return matrix


def fit(model: Any, X: Sequence, y: Sequence, loss: str | Callable[[Any, Any], Value] = "hinge",
        optimizer: Any = "sgd", lr: float | Callable[[int], float] | None = None,
        epochs: int = 100, batch_size: int | None = None,
        validation: tuple[Sequence, Sequence] | None = None, early_stopping: int | None = None,
        l2: float = 0.0, shuffle: bool = True, seed: int | None = None, progress: bool = True,
        schedule: Any = None,
        callback: Callable[[int, History], bool | None] | None = None,
        compile: bool = False) -> History:  # noqa: A002 (the name users know from torch)
    """Train `model` on samples `X` with labels or targets `y`; return the `History`.

    - `loss`: "hinge", "mse", "bce" (binary cross-entropy on logits), "cross_entropy",
      or a function `loss(outputs, targets) -> Value` giving the batch's mean loss.
      For "hinge", 0/1 labels are used as -1/+1; for "bce", -1/+1 labels as 0/1.
    - `optimizer`: an optimizer from `nn.optim` (or anything with `step()` and
      `zero_grad()`, such as PyTorch's), or its name, a key of `nn.optim.OPTIMIZERS`.
    - `lr`: the learning rate, or a function of the epoch (0, 1, ...) giving it
      (run as a `LambdaLR` schedule with base learning rate 1); None keeps the
      optimizer's own.
    - `batch_size`: None trains on the whole set at once (one step per epoch);
      otherwise mini-batches, reshuffled each epoch when `shuffle`, with `seed`.
    - `validation`: `(X_val, y_val)`, scored after every epoch.
    - `early_stopping`: stop after this many epochs without a lower validation
      loss and restore the weights of the best epoch (needs `validation`).
    - `l2`: adds `l2_penalty(model.parameters(), l2)` to the loss that is minimized.
    - `schedule`: a learning-rate scheduler built on `optimizer` (its `step()` is
      called after every epoch); not together with a function as `lr`.
    - `progress`: show a progress bar with loss and accuracy (terminal or Jupyter).
    - `callback`: called after every epoch as `callback(epoch, history)`; returning
      True stops training there.
    - `compile`: trace the loss of one example once and replay it for every example
      (`autograd.compile_per_example`): the same numbers, several times faster. The
      loss's `per_example` form is used; a loss function without one is taken as the
      mean of `loss([output], [target])` and checked against itself on the first batches.

    Ctrl-C (in the main thread) stops training after the step under way, so the
    weights are never left half-updated: `fit` then returns the History so far
    with `interrupted` set. A second Ctrl-C interrupts at once.
    """
    loss_function, epochs, batch_size, early_stopping, lr_at = _check_arguments(
        model, X, y, loss, epochs, batch_size, validation, early_stopping, l2, lr, schedule,
        callback, compile)
    parameters = model.parameters()
    optimizer, schedule = _optimizer_and_schedule(optimizer, parameters, lr, lr_at, schedule,
                                                  epochs)
    task = _Task.of(model, X, y, validation, loss_function, parameters, l2, compile)

    history = History()
    rng = random.Random(seed)
    # A full batch keeps the samples in order, so that the sum is micrograd's, to the bit.
    shuffle = shuffle and batch_size is not None
    best_loss, best_state, waited = math.inf, None, 0
    bar = _progress_bar(epochs, progress)
    try:
        with _interrupt_after_step() as interrupted:
            for epoch in bar:
                history.lr.append(_get_lr(optimizer))
                loss_value, correct, history.interrupted = _train_one_epoch(
                    model, task, optimizer, X, y, batch_size, shuffle, rng, interrupted)
                if schedule is not None:
                    schedule.step()
                postfix = _record(history, "", loss_value, correct, task.is_classification)
                if validation is not None:
                    val_loss, val_acc = _validate(model, task, validation)
                    postfix |= _record(history, "val_", val_loss, val_acc, task.is_classification)
                    if val_loss < best_loss:
                        best_loss, waited = val_loss, 0
                        history.best_epoch = epoch
                        best_state = model.state_dict() if early_stopping is not None else None
                    else:
                        waited += 1
                bar.set_postfix(postfix, refresh=False)
                if ((early_stopping is not None and waited >= early_stopping)
                        or history.interrupted
                        or (callback is not None and callback(epoch, history))):
                    break
    finally:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


# --- fit's parts ------------------------------------------------------------------

def _check_arguments(model: Any, X: Sequence, y: Sequence, loss: Any, epochs: Any,
                     batch_size: Any, validation: Any, early_stopping: Any, l2: Any, lr: Any,
                     schedule: Any, callback: Any, compile: Any,  # noqa: A002
                     ) -> tuple[Callable, int, int | None, int | None, Callable | None]:
    """fit's argument checks: (loss function, epochs, batch_size, early_stopping, lr_at)."""
    check.samples("fit", X, y)
    data.check_points("fit", "X", X)
    if not (callable(model) and callable(getattr(model, "parameters", None))):
        raise TypeError(f"fit: model must be a module (callable, with parameters()), "
                        f"got {type(model).__name__}")
    loss_function = _loss_function(loss)
    epochs = check.positive_int("fit", "epochs", epochs)
    if batch_size is not None:
        batch_size = check.positive_int("fit", "batch_size", batch_size)
    if early_stopping is not None:
        early_stopping = check.positive_int("fit", "early_stopping", early_stopping)
        if validation is None:
            raise ValueError("fit: early_stopping needs validation=(X_val, y_val) to monitor")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("fit: validation must be a pair (X_val, y_val)")
        check.samples("fit: validation", *validation)
        data.check_points("fit", "validation X", validation[0])
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not (
            math.isfinite(l2) and l2 >= 0.0):
        raise ValueError(f"fit: l2 must be a finite number >= 0, got {l2!r}")
    lr_at = lr if callable(lr) else None
    if lr_at is not None:
        check.non_negative("fit", "lr(0)", lr_at(0))
        if schedule is not None:
            raise ValueError("fit: lr is a function of the epoch, which is a schedule already; "
                             "pass either it or schedule, not both")
    elif lr is not None:
        check.non_negative("fit", "lr", lr)
    if callback is not None and not callable(callback):
        raise TypeError(f"fit: callback must be a function callback(epoch, history), "
                        f"got {type(callback).__name__}")
    check.flag("fit", "compile", compile)
    return loss_function, epochs, batch_size, early_stopping, lr_at


def _optimizer_and_schedule(optimizer: Any, parameters: list[Value], lr: Any,
                            lr_at: Callable | None, schedule: Any, epochs: int
                            ) -> tuple[Any, Any]:
    # A function of the epoch is the learning rate itself: the base rate it multiplies is 1.
    optimizer = _make_optimizer(optimizer, parameters, 1.0 if lr_at is not None else
                                None if lr is None else float(lr))
    if lr_at is not None:
        schedule = optim.lr_scheduler.LambdaLR(optimizer, _checked_lr(lr_at, epochs))
    elif schedule is not None:
        if not callable(getattr(schedule, "step", None)):
            raise TypeError(f"fit: schedule must be a learning-rate scheduler (with step()), "
                            f"got {type(schedule).__name__}")
        if getattr(schedule, "optimizer", optimizer) is not optimizer:
            raise ValueError("fit: schedule must be built on the optimizer passed to fit "
                             "(pass that optimizer instance, not a name)")
    return optimizer, schedule


@dataclass
class _Task:
    """What fit learns from its data before training: the loss, its targets, and how
    outputs become predictions."""

    loss_function: Callable[[Any, Any], Value]
    parameters: list[Value]
    l2: float
    targets: list
    val_targets: list | None
    is_classification: bool
    pair: tuple[int, int] | None
    threshold: float
    replay: CompiledLoss | None

    @classmethod
    def of(cls, model: Any, X: Sequence, y: Sequence, validation: Any,
           loss_function: Callable, parameters: list[Value], l2: float,
           compile: bool) -> _Task:  # noqa: A002
        # How outputs become predictions: probe one output for its shape.
        with evaluating(model):
            probe = model(X[0])
        single_output = isinstance(probe, Value)
        pair = _label_pair(y) if single_output else None
        if single_output:
            is_classification = pair is not None
        else:
            is_classification = _are_class_indices(y, len(probe))
        threshold = 0.0
        if loss_function is mse and pair is not None:
            threshold = (pair[0] + pair[1]) / 2.0  # midway between the two target values
        targets = _loss_targets(y, loss_function)
        val_targets = None if validation is None else _loss_targets(validation[1],
                                                                    loss_function)
        replay = None
        if compile:   # the loss replayed example by example
            replay = CompiledLoss(model, loss_function, parameters, l2)
            replay.check_targets(probe, targets, "y")
            if val_targets is not None:
                replay.check_targets(probe, val_targets, "validation y")
        return cls(loss_function, parameters, l2, targets, val_targets, is_classification,
                   pair, threshold, replay)


def _train_one_epoch(model: Any, task: _Task, optimizer: Any, X: Sequence, y: Sequence,
                     batch_size: int | None, shuffle: bool, rng: random.Random,
                     interrupted: Callable[[], bool]) -> tuple[float, float, bool]:
    """One pass over the data: (mean loss, fraction correct, whether Ctrl-C stopped it)."""
    indices = list(range(len(X)))
    total_loss, correct, seen = 0.0, 0, 0
    for _, batch in data.batches(indices, indices, batch_size, shuffle, rng):
        targets = [task.targets[i] for i in batch]
        optimizer.zero_grad()
        if task.replay is not None:
            loss_value, outputs = task.replay.step([X[i] for i in batch], targets)
        else:
            outputs = [model(X[i]) for i in batch]
            data_loss = task.loss_function(outputs, targets)
            objective = data_loss + l2_penalty(task.parameters, task.l2) if task.l2 else data_loss
            objective.backward()
            loss_value = data_loss.data
        optimizer.step()
        total_loss += loss_value * len(batch)
        seen += len(batch)
        if task.is_classification:
            correct += _count_correct(outputs, [y[i] for i in batch], task.pair, task.threshold)
        if interrupted():
            return total_loss / seen, correct / seen, True
    return total_loss / seen, correct / seen, False


def _record(history: History, prefix: str, loss: float, correct: float,
            is_classification: bool) -> dict[str, str]:
    """Add an epoch's training (prefix "") or validation ("val_") figures to `history`;
    return them as the progress bar shows them."""
    getattr(history, f"{prefix or 'train_'}loss").append(loss)
    shown = {f"{prefix}loss": f"{loss:.4g}"}
    if is_classification:
        getattr(history, f"{prefix or 'train_'}accuracy").append(correct)
        shown[f"{prefix}acc"] = f"{correct:.1%}"
    return shown


def _validate(model: Any, task: _Task, validation: tuple[Sequence, Sequence]
              ) -> tuple[float, float]:
    """The loss and fraction correct on the validation set, in evaluation mode."""
    X_val, y_val = validation
    targets = task.val_targets or []  # made by _Task.of whenever there is validation
    with evaluating(model):
        if task.replay is not None:
            val_loss, outputs = task.replay.evaluate(X_val, targets)
        else:
            outputs = [model(x) for x in X_val]
            val_loss = task.loss_function(outputs, targets).data
    correct = (_fraction_correct(outputs, y_val, task.pair or (-1, 1), task.threshold)
               if task.is_classification else math.nan)
    return val_loss, correct


# --- helpers --------------------------------------------------------------------

def _progress_bar(epochs: int, progress: bool) -> Any:
    """The epochs to loop over, drawn as a tqdm bar when tqdm is installed, else as
    plain lines; nothing is drawn without `progress`."""
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return _PlainProgress(epochs, shown=True)
        return tqdm(range(epochs), desc="fit", unit="epoch")
    return _PlainProgress(epochs, shown=False)


class _PlainProgress:
    """What fit needs of a tqdm bar: the epochs, one line each on stderr when shown."""

    def __init__(self, epochs: int, shown: bool) -> None:
        self.epochs, self.shown, self.epoch = epochs, shown, 0

    def __iter__(self) -> Iterator[int]:
        for epoch in range(self.epochs):
            self.epoch = epoch
            yield epoch

    def set_postfix(self, postfix: dict[str, str], refresh: bool = False) -> None:
        if self.shown:
            numbers = ", ".join(f"{name}={value}" for name, value in postfix.items())
            print(f"fit: epoch {self.epoch + 1}/{self.epochs}: {numbers}", file=sys.stderr)

    def close(self) -> None:
        pass


@contextmanager
def _interrupt_after_step() -> Iterator[Callable[[], bool]]:
    """Within this block, a first Ctrl-C is noted instead of raised; yields "was it pressed?".

    A KeyboardInterrupt in the middle of a step could leave some parameters
    updated and others not. Only the main thread receives signals, and only
    there can the handler be changed; elsewhere nothing changes.
    """
    pressed = False
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield lambda: pressed
        return

    def note(signum: int, frame: Any) -> None:
        nonlocal pressed
        if pressed:   # the second Ctrl-C: the user wants out now
            raise KeyboardInterrupt
        pressed = True

    signal.signal(signal.SIGINT, note)
    try:
        yield lambda: pressed
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _loss_function(loss: Any) -> Callable[[Any, Any], Value]:
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(f"fit: unknown loss {loss!r}; use one of {', '.join(LOSSES)} or a function "
                     f"loss(outputs, targets) -> Value")


def _checked_lr(lr_at: Callable[[int], float], epochs: int) -> Callable[[int], float]:
    """`lr_at` with fit's checks, for LambdaLR. The schedule is stepped once more after the
    last epoch, which trains nothing: the function is not asked about that epoch."""
    last = 0.0

    def lr(epoch: int) -> float:
        nonlocal last
        if epoch < epochs:
            last = check.non_negative("fit", f"lr({epoch})", lr_at(epoch))
        return last

    return lr


def _make_optimizer(optimizer: Any, parameters: list[Value], lr: float | None) -> Any:
    if isinstance(optimizer, str):
        if optimizer.lower() not in optim.OPTIMIZERS:
            raise ValueError(f"fit: unknown optimizer {optimizer!r}; use one of "
                             f"{', '.join(optim.OPTIMIZERS)} or an optimizer instance")
        return optim.make_optimizer(optimizer, parameters, lr)
    if not (callable(getattr(optimizer, "step", None))
            and callable(getattr(optimizer, "zero_grad", None))):
        raise TypeError(f"fit: optimizer must be a name or an optimizer (with step() and "
                        f"zero_grad()), got {type(optimizer).__name__}")
    if lr is not None:
        _set_lr(optimizer, lr)
    return optimizer


# Optimizers keep the learning rate as `lr` (nn.optim) or in `param_groups` (PyTorch).

def _get_lr(optimizer: Any) -> float:
    if hasattr(optimizer, "lr"):
        return float(optimizer.lr)
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups else math.nan


def _set_lr(optimizer: Any, lr: float) -> None:
    groups = getattr(optimizer, "param_groups", None)
    if groups and not hasattr(optimizer, "lr"):
        for group in groups:
            group["lr"] = lr
    else:
        optimizer.lr = lr


def _label_pair(labels: Sequence) -> tuple[int, int] | None:
    """(0, 1) or (-1, 1) when every label is one of them, else None."""
    values: set[Any] = set()
    for label in labels:
        if isinstance(label, bool) or not isinstance(label, Real):
            return None
        values.add(label)
    if values <= {0, 1}:
        return (0, 1)
    if values <= {-1, 1}:
        return (-1, 1)
    return None


def _are_class_indices(labels: Sequence, classes: int) -> bool:
    return all(isinstance(t, Integral) and not isinstance(t, bool) and 0 <= int(t) < classes
               for t in labels)


def _loss_targets(labels: Sequence, loss_function: Callable) -> list:
    # The two binary losses each want their own label convention.
    pair = _label_pair(labels)
    if loss_function is hinge and pair == (0, 1):
        return [2 * t - 1 for t in labels]
    if loss_function is binary_cross_entropy_with_logits and pair == (-1, 1):
        return [(int(t) + 1) // 2 if isinstance(t, Integral) else (t + 1.0) / 2.0
                for t in labels]
    return list(labels)


def _count_correct(outputs: list, labels: Sequence, pair: tuple[Any, Any] | None,
                   threshold: float) -> int:
    pair = pair or (-1, 1)
    return sum(output_label(o, threshold, pair) == t for o, t in zip(outputs, labels))


def _fraction_correct(outputs: list, labels: Sequence, pair: tuple[Any, Any],
                      threshold: float) -> float:
    return _count_correct(outputs, labels, pair, threshold) / len(labels)


def _some_values(labels: Sequence) -> str:
    distinct = sorted({repr(t) for t in labels})
    return ", ".join(distinct[:5]) + (", ..." if len(distinct) > 5 else "")
