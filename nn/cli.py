"""The `valuegrad` command: train a classifier on a toy data set or the handwritten digits,
draw an expression's graph.

    valuegrad train                       # micrograd's demo: moons, MLP 2-16-16-1, 100 epochs
    valuegrad train --dataset spiral --optimizer adam --epochs 200
    valuegrad train --dataset digits      # 8x8 digits, MLP 64-32-10, Adam, batches of 32
    valuegrad predict --model runs/moons/model.json 0.5 -0.2
    valuegrad graph "tanh(x*w + b)" x=2 w=-3 b=6.88 --out graph.svg
    valuegrad graph "tanh(x*w + b)" x=2 w=-3 b=6.88 --out graph.html

Errors in the arguments print `valuegrad: error: ...` and exit with status 2;
failures while running (a model file that cannot be read, log of a negative
number, a diverging training run) exit with status 1; Ctrl-C exits with 130
(`train` first writes the model and history trained so far). Every file is
written whole or not at all (through a temporary file renamed over it).
"""

from __future__ import annotations

import argparse
import io
import keyword
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from autograd import OPS
from autograd.expression import functions as expression_functions
from nn import data
from nn._files import write_atomically
from nn.exercises.cli import add_commands as add_exercise_commands
from nn.optim import OPTIMIZERS

USAGE_ERROR = 2
RUNTIME_ERROR = 1
INTERRUPTED = 130  # as a shell reports a program stopped by Ctrl-C (128 + SIGINT)

# Each data set: how to make `n` points from a seed, and how many classes it has.
BLOB_CENTERS = [[-2.0, -1.0], [2.0, -1.0], [0.0, 2.0]]
DATASETS: dict[str, tuple[Callable[[int, int], tuple[list, list]], int, str]] = {
    "moons": (lambda n, seed: data.make_moons(n, noise=0.1, seed=seed), 2, "noise 0.1"),
    "circles": (lambda n, seed: data.make_circles(n, noise=0.1, factor=0.5, seed=seed), 2,
                "noise 0.1, inner radius 0.5"),
    "xor": (lambda n, seed: data.make_xor(n, noise=0.1, seed=seed), 2, "noise 0.1"),
    "blobs": (lambda n, seed: data.make_blobs(n, centers=BLOB_CENTERS, cluster_std=0.8,
                                              seed=seed), 3, "3 clusters, std 0.8"),
    "spiral": (lambda n, seed: data.make_spiral(n, classes=3, noise=0.2, seed=seed), 3,
               "3 arms, noise 0.2"),
}
# Real data: the UCI handwritten digits, a quarter of them held out for validation.
DIGITS = "digits"
DIGITS_TEST_SIZE = 0.25
# What train uses for an option not given, on the 2-D toy sets and on the digits. The
# toy sets' defaults are micrograd's demo; the digits' reach 95% held-out accuracy.
DEFAULTS: dict[str, dict[str, Any]] = {
    "toy": dict(samples=100, hidden=[16, 16], optimizer="sgd", epochs=100, batch_size=None,
                l2=1e-4),
    DIGITS: dict(hidden=[32], optimizer="adam", lr=0.005, epochs=20, batch_size=32, l2=0.0),
}
# Learning rates tuned for the toy sets (full batch), used when --lr is not given; there
# sgd follows micrograd's schedule, and an optimizer not listed uses its own default lr.
TOY_LR = {"momentum": 0.1, "rmsprop": 0.01, "adam": 0.05, "adamw": 0.05}
MAX_GRAPH_NODES = 500
GRAPH_FORMATS = (".svg", ".png", ".html")   # .html: a page to step through the passes
# Limits checked before anything is allocated (the model's size is limited by
# nn.module.MAX_PARAMETERS).
MAX_SAMPLES = 100_000
MAX_EPOCHS = 1_000_000
MAX_DIGITS = 30   # of any whole number on the command line, such as --seed
MAX_LAYERS = 1000


class CommandError(Exception):
    """A failure to report as `valuegrad: error: <message>` with exit status `status`."""

    def __init__(self, message: str, status: int = RUNTIME_ERROR) -> None:
        super().__init__(message)
        self.status = status


# A number with a minus sign, as float() reads it: -2, -.5, -1e-3, -1E+308, -inf, -nan.
# argparse itself takes only -2 and -.5 for numbers, and anything else starting with
# "-" for an option ("unrecognized arguments: -1e-3").
NEGATIVE_NUMBER = re.compile(r"^-(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$",
                             re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The pattern argparse consults to tell a negative number from an option; no
        # option of the command looks like a number, so every match is an input.
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"valuegrad: error: {message}\n")


# --- argument types: each turns one string into a value or says what is wrong ---------

def _shown(text: str, limit: int = 40) -> str:
    """`text` quoted for an error message, cut short if long."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def _whole_number(text: str) -> int:
    digits = text.strip().lstrip("+-")
    if not digits.isdigit() or not digits.isascii() or len(digits) > MAX_DIGITS:
        limit = f" of at most {MAX_DIGITS} digits" if len(digits) > MAX_DIGITS else ""
        raise argparse.ArgumentTypeError(f"must be a whole number{limit}, got {_shown(text)}")
    return int(text)


def _positive_int(text: str) -> int:
    number = _whole_number(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _at_most(limit: int) -> Callable[[str], int]:
    def checked(text: str) -> int:
        number = _positive_int(text)
        if number > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:,}, got {number:,}")
        return number
    return checked


def _finite_float(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {_shown(text)}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {_shown(text)}")
    return number


def _positive_float(text: str) -> float:
    number = _finite_float(text)
    if number <= 0.0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return number


def _non_negative_float(text: str) -> float:
    number = _finite_float(text)
    if number < 0.0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return number


def _path(text: str) -> Path:
    # Path("") is Path("."): an empty --out would write into the current directory.
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text)


def _layer_widths(text: str) -> list[int]:
    from nn.module import MAX_PARAMETERS

    widths = []
    parts = text.split(",")
    if len(parts) > MAX_LAYERS:
        raise argparse.ArgumentTypeError(f"at most {MAX_LAYERS} layers, got {len(parts):,}")
    for part in parts:
        part = part.strip()
        if (not part.isdigit() or not part.isascii() or len(part) > MAX_DIGITS
                or int(part) < 1):
            raise argparse.ArgumentTypeError(
                f"must be layer widths separated by commas, such as 16,16; "
                f"{_shown(part)} in {_shown(text)} is not a positive whole number")
        if int(part) > MAX_PARAMETERS:
            raise argparse.ArgumentTypeError(
                f"a layer of {int(part):,} neurons is more than a model of at most "
                f"{MAX_PARAMETERS:,} parameters can have")
        widths.append(int(part))
    return widths


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("valuegrad")
    except PackageNotFoundError:
        return "unknown"


# --- the parser --------------------------------------------------------------------

def _expression_symbols() -> list[str]:
    """The operators of the expression language, from the engine's table."""
    symbols = {op.symbol: None for op in OPS.values() if op.symbol and op.in_expressions}
    return list(symbols)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `valuegrad` command, with its subcommands."""
    from nn.module import ACTIVATIONS, MAX_PARAMETERS

    parser = _Parser(prog="valuegrad", description="A scalar autograd engine to learn "
                     "backpropagation from: train a small network, or draw a computation graph.")
    parser.add_argument("--version", action="version", version=f"valuegrad {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    toy, digits = DEFAULTS["toy"], DEFAULTS[DIGITS]
    train = commands.add_parser(
        "train", help="train an MLP classifier on a 2-D toy data set or the digits",
        description="Train an MLP on a data set and write a page replaying the training "
        "(report.html, for the 2-D sets), the decision boundary (or, for the digits, the "
        "confusion matrix) and the loss curves (PNG), the model (JSON) and the history (CSV). "
        "The defaults are micrograd's "
        "demo: 100 moons points, MLP 2-16-16-1 with ReLU, hinge loss plus 1e-4 L2, full-batch "
        "SGD for 100 epochs with learning rate 1.0 - 0.9 * epoch / epochs. With --dataset "
        f"digits: the 1797 8x8 handwritten digits, {DIGITS_TEST_SIZE:.0%} held out for "
        f"validation, MLP 64-{_widths(digits['hidden'])}-10, cross-entropy, "
        f"{digits['optimizer']} with lr {digits['lr']:g}, batches of {digits['batch_size']}, "
        f"{digits['epochs']} epochs, and a confusion matrix instead of the decision boundary.")
    train.add_argument("--dataset", choices=[*DATASETS, DIGITS], default="moons",
                       help="moons, circles and xor have 2 classes (one output, hinge loss); "
                       "blobs and spiral have 3 (one output per class, cross-entropy); "
                       "digits has 10 (8x8 images, cross-entropy). Default: moons")
    train.add_argument("--samples", type=_at_most(MAX_SAMPLES), metavar="N",
                       help="points in the training set, and again in the validation set "
                       f"(a second draw with seed + 1), at most {MAX_SAMPLES:,}; not for digits. "
                       f"Default: {toy['samples']}")
    train.add_argument("--hidden", type=_layer_widths, metavar="WIDTHS",
                       help="hidden layer widths, comma-separated; the whole model may have "
                       f"at most {MAX_PARAMETERS:,} parameters. Default: "
                       f"{_widths(toy['hidden'], ',')} (digits: {_widths(digits['hidden'], ',')})")
    train.add_argument("--activation", choices=[a for a in ACTIVATIONS if a != "linear"],
                       default="relu", help="of the hidden layers. Default: relu")
    train.add_argument("--optimizer", choices=OPTIMIZERS,
                       help="; ".join(f"{name}: {preset}" for name, preset in OPTIMIZERS.items())
                       + f". Default: {toy['optimizer']} (digits: {digits['optimizer']})")
    train.add_argument("--lr", type=_positive_float, metavar="LR",
                       help="a constant learning rate. Default on the toy sets: for sgd "
                       "micrograd's schedule from 1.0 down to 0.1; "
                       + ", ".join(f"{name} {lr}" for name, lr in TOY_LR.items())
                       + f"; others their own (above). Digits: {digits['lr']:g}")
    train.add_argument("--epochs", type=_at_most(MAX_EPOCHS), metavar="N",
                       help=f"passes over the training set, at most {MAX_EPOCHS:,}. Default: "
                       f"{toy['epochs']} (digits: {digits['epochs']})")
    train.add_argument("--batch-size", type=_at_most(MAX_SAMPLES), metavar="N",
                       help="samples per step. Default: all of them (full batch); digits: "
                       f"{digits['batch_size']}")
    train.add_argument("--l2", type=_non_negative_float, metavar="ALPHA",
                       help="weight of the L2 penalty alpha * sum(p^2). Default: "
                       f"{toy['l2']:g} (digits: {digits['l2']:g})")
    train.add_argument("--seed", type=_whole_number, default=1337,
                       help="seeds the data, the initial weights and the batches. Default: 1337")
    train.add_argument("--out", type=_path, metavar="DIR",
                       help="where to write the files. Default: runs/<dataset>")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.add_argument("--compile", action="store_true",
                       help="trace the loss of one example once and replay it for every "
                            "example (autograd.compile_per_example): the same numbers, faster")
    train.set_defaults(run=run_train)

    predict = commands.add_parser(
        "predict", help="classify one point with a model saved by train",
        description="Load a model written by `valuegrad train` and print its output and "
        "predicted class for one point. Classes are numbered as in the data set: with one "
        "output, class 1 when it is above 0, else class 0.")
    predict.add_argument("--model", type=_path, required=True, metavar="FILE",
                         help="a model.json written by `valuegrad train`")
    predict.add_argument("inputs", type=_finite_float, nargs="+", metavar="X",
                         help="the point's coordinates")
    predict.set_defaults(run=run_predict)

    graph = commands.add_parser(
        "graph", help="evaluate an expression, backpropagate, and draw its graph",
        description="Evaluate EXPRESSION with the given variables, run backward, print each "
        "variable's value and gradient, and draw the computation graph. Allowed: numbers, "
        f"variables, parentheses, {' '.join(_expression_symbols())} and "
        f"{' '.join(expression_functions())}. Nothing else is evaluated.",
        epilog='example: valuegrad graph "tanh(x*w + b)" x=2 w=-3 b=6.88 --out graph.svg')
    graph.add_argument("expression", metavar="EXPRESSION",
                       help="such as \"tanh(x*w + b)\" (quoted); if it starts with -, put -- "
                       "before it")
    graph.add_argument("variables", nargs="*", metavar="NAME=VALUE",
                       help="a value for every variable of the expression")
    graph.add_argument("--out", type=_path, default=Path("graph.svg"), metavar="FILE",
                       help="the drawing, .svg or .png, or .html: a page that steps through "
                       "the forward and backward passes. Default: graph.svg")
    graph.set_defaults(run=run_graph)
    add_exercise_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with `argv` (default: the process's arguments); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else USAGE_ERROR
    try:
        return args.run(args)
    except CommandError as error:
        print(f"valuegrad: error: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("valuegrad: interrupted", file=sys.stderr)
        return INTERRUPTED


# --- train ------------------------------------------------------------------------------

def _widths(widths: Sequence[int], separator: str = "-") -> str:
    return separator.join(map(str, widths))


def _micrograd_schedule(epochs: int) -> Callable[[int], float]:
    # micrograd's demo: learning_rate = 1.0 - 0.9 * k / 100 at step k of 100.
    return lambda epoch: 1.0 - 0.9 * epoch / epochs


def _percent(fraction: float) -> str:
    """"100%", "99%", "99.5%": whole percentages without decimals; never "100%" for less."""
    whole = round(fraction * 100.0, 9)
    if whole.is_integer():
        return f"{int(whole)}%"
    return f"{min(fraction, 0.999):.1%}"


def _check_plotting() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CommandError("train draws its plots with matplotlib, which is not installed: "
                           "pip install 'valuegrad[plot]'") from None


def run_train(args: argparse.Namespace) -> int:
    """`valuegrad train`: train, report the accuracies, write the five files."""
    import nn
    from nn import plots, report

    _check_plotting()
    digits = args.dataset == DIGITS
    defaults = DEFAULTS[DIGITS if digits else "toy"]
    if digits and args.samples is not None:
        raise CommandError(f"--samples does not apply to digits: its 1797 images are split "
                           f"into training and {DIGITS_TEST_SIZE:.0%} held out", USAGE_ERROR)
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    inputs, outputs = (64, 10) if digits else (2, 1 if DATASETS[args.dataset][1] == 2
                                               else DATASETS[args.dataset][1])
    try:  # the model's size, before anything is allocated
        nn.MLP.parameter_count(inputs, [*args.hidden, outputs])
    except ValueError as error:
        raise CommandError(f"argument --hidden: {error}", USAGE_ERROR) from None
    out_dir = args.out if args.out is not None else Path("runs") / args.dataset
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the path
        raise CommandError(f"cannot create the output directory {out_dir}: "
                           f"{getattr(error, 'strerror', None) or error}") from None

    if digits:
        images, labels = data.load_digits()
        X, X_val, y, y_val = data.train_test_split(images, labels, test_size=DIGITS_TEST_SIZE,
                                                   seed=args.seed)
        classes = 10
        data_text = (f"data: digits (UCI handwritten digits, 8x8 pixels), {len(X)} training "
                     f"and {len(X_val)} held-out images")
    else:
        make, classes, data_note = DATASETS[args.dataset]
        X, y = make(args.samples, args.seed)
        X_val, y_val = make(args.samples, args.seed + 1)
        data_text = (f"data: {args.dataset} ({data_note}), {args.samples} training and "
                     f"{args.samples} validation points")
    outputs = 1 if classes == 2 else classes
    model = nn.MLP(len(X[0]), [*args.hidden, outputs], activation=args.activation,
                   seed=args.seed)
    loss = "hinge" if classes == 2 else "cross_entropy"
    lr: Any
    if args.lr is not None:
        lr = args.lr
    elif digits:
        lr = defaults["lr"]
    elif args.optimizer == "sgd":
        lr = _micrograd_schedule(args.epochs)
    else:
        lr = TOY_LR.get(args.optimizer, OPTIMIZERS[args.optimizer].default_lr)
    lr_text = ("lr 1.0 down to 0.1 (micrograd's schedule)" if callable(lr) else f"lr {lr:g}")

    batches = "full batch" if args.batch_size is None else f"batches of {args.batch_size}"
    print(data_text)
    print(f"model: {model}, {len(model.parameters())} parameters")
    print(f"training: {args.optimizer}, {lr_text}, {args.epochs} epochs, {batches}, "
          f"{loss.replace('_', '-')} loss + {args.l2:g} L2"
          + (", compiled replay" if args.compile else ""))
    # The replay page draws the decision boundary in the plane: the 2-D sets only.
    replay = None if digits else report.TrainingReplay(model, X, y, validation=(X_val, y_val),
                                                       epochs=args.epochs)
    try:
        history = nn.fit(model, X, y, loss=loss, optimizer=args.optimizer, lr=lr,
                         epochs=args.epochs, batch_size=args.batch_size,
                         validation=(X_val, y_val), l2=args.l2, seed=args.seed,
                         progress=not args.no_progress, callback=replay, compile=args.compile)
    except (ArithmeticError, ValueError) as error:
        raise CommandError(f"training failed: {error}; try a smaller --lr") from None
    if not all(math.isfinite(p.data) for p in model.parameters()):
        raise CommandError("training diverged (the weights are no longer finite numbers); "
                           "try a smaller --lr")

    picture = "confusion_matrix.png" if digits else "decision_boundary.png"
    paths = {name: out_dir / name for name in
             (*(() if replay is None else ("report.html",)), picture, "loss.png", "model.json",
              "history.csv")}

    def write_model_and_history() -> None:
        model.save(paths["model.json"])
        history.to_csv(paths["history.csv"])

    if history.interrupted:
        # Ctrl-C: keep what was trained (fit stopped after a whole step), skip the pictures.
        _write_files(out_dir, write_model_and_history)
        print(f"interrupted during epoch {history.epochs}: wrote the model and history "
              f"trained so far to {out_dir}:", file=sys.stderr)
        for name in ("model.json", "history.csv"):
            print(f"  {paths[name]}", file=sys.stderr)
        return INTERRUPTED

    train_accuracy = nn.accuracy(model, X, y)
    val_accuracy = nn.accuracy(model, X_val, y_val)
    title = (f"{args.dataset}: training accuracy {_percent(train_accuracy)}, "
             f"validation {_percent(val_accuracy)}")

    def write() -> None:
        write_model_and_history()
        if digits:
            figure, ax = plots.new_figure(figsize=(6.0, 5.6))
            plots.plot_confusion_matrix(nn.confusion_matrix(model, X_val, y_val), ax=ax,
                                        title=f"{title}\n(held-out images)")
        else:
            figure, ax = plots.new_figure(figsize=(6.0, 5.2))
            plots.plot_decision_boundary(
                model, X, y, ax=ax, validation=(X_val, y_val),
                resolution=_grid_resolution(len(model.parameters())), title=title)
        _save_figure(figure, paths[picture], dpi=120, bbox_inches="tight")
        figure, axes = plots.new_figure(ncols=2, figsize=(10.0, 3.8))
        plots.plot_history(history, axes,
                           title=f"{args.dataset}: {model}, {args.optimizer}")
        _save_figure(figure, paths["loss.png"], dpi=120)
        if replay is not None:
            page = replay.html(history,
                               title=f"{args.dataset}: {model}, {args.optimizer}",
                               settings=[("data set", f"{args.dataset} ({data_note})"),
                                         ("points", f"{args.samples} training, {args.samples} "
                                                    f"validation"),
                                         ("model", f"{model}, {len(model.parameters())} "
                                                   "parameters"),
                                         ("loss", f"{loss.replace('_', '-')} + {args.l2:g} L2"),
                                         ("optimizer", args.optimizer),
                                         ("learning rate", lr_text),
                                         ("epochs", f"{history.epochs} of {args.epochs}"),
                                         ("batches", batches), ("seed", args.seed)])
            write_atomically(paths["report.html"], page.encode("utf-8"))

    _write_files(out_dir, write)

    print(f"training accuracy: {_percent(train_accuracy)}")
    print(f"validation accuracy: {_percent(val_accuracy)}")
    print(f"wrote {len(paths)} files to {out_dir}:")
    for path in paths.values():
        print(f"  {path}")
    return 0


def _grid_resolution(parameters: int) -> int:
    """Points per side of the decision boundary's grid: 100 for the default model, fewer
    for a large one, so that drawing takes seconds rather than minutes."""
    return max(10, min(100, math.isqrt(4_000_000 // parameters)))


def _write_files(out_dir: Path, write: Callable[[], object]) -> None:
    try:
        write()
    except OSError as error:  # "cannot write <file>: <why>"
        raise CommandError(error.strerror or f"cannot write to {out_dir}: {error}") from None


def _save_figure(figure: Any, path: Path, **options: Any) -> None:
    image = io.BytesIO()
    figure.savefig(image, format="png", **options)
    write_atomically(path, image.getvalue())


# --- predict ----------------------------------------------------------------------------

def load_model(path: Path) -> Any:
    """The model saved at `path`, or a CommandError saying why it cannot be read."""
    import nn

    try:
        return nn.load(path)
    except FileNotFoundError:
        raise CommandError(f"cannot read the model file {path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"cannot read the model file {path}: it is a directory") from None
    except OSError as error:
        raise CommandError(f"cannot read the model file {path}: "
                           f"{error.strerror or error}") from None
    except (TypeError, ValueError) as error:
        # nn.load's messages already start with the path.
        raise CommandError(f"cannot load the model: {error}") from None


def run_predict(args: argparse.Namespace) -> int:
    """`valuegrad predict`: print the model's output and class for one point."""
    from nn.module import evaluating, output_label

    model = load_model(args.model)
    expected = getattr(model, "nin", None)
    if expected is not None and len(args.inputs) != expected:
        raise CommandError(f"the model takes {expected} inputs, got {len(args.inputs)}",
                           USAGE_ERROR)
    try:
        with evaluating(model):
            output = model(args.inputs)
    except (TypeError, ValueError) as error:
        raise CommandError(f"the model cannot be applied to {args.inputs}: {error}") from None
    if isinstance(output, (list, tuple)):
        print("scores: " + ", ".join(f"{v.data:.6g}" for v in output))
    else:
        print(f"score: {output.data:.6g}")
    print(f"class: {output_label(output)}")
    return 0


# --- graph ------------------------------------------------------------------------------

def parse_assignments(texts: Sequence[str]) -> dict[str, float]:
    """`["x=2", "w=-3"]` as `{"x": 2.0, "w": -3.0}`; a usage CommandError names a bad one.

    Names are NFKC-normalized as in the expression: `ﬁ=3` gives the variable fi.
    """
    from autograd.expression import normalize_name

    values: dict[str, float] = {}
    for text in texts:
        written, equals, number = text.partition("=")
        written = written.strip()
        if not equals:
            raise CommandError(f"expected NAME=VALUE (such as x=2, no spaces around =), "
                               f"got {_shown(text)}", USAGE_ERROR)
        name = normalize_name(written)
        if (not written.isidentifier() or not name.isidentifier()
                or keyword.iskeyword(name)):
            raise CommandError(f"{_shown(written)} in {_shown(text)} is not a variable name",
                               USAGE_ERROR)
        if name in values:
            also = "" if name == written else f" ({written!r} is {name!r} after Unicode " \
                                              f"normalization)"
            raise CommandError(f"{name} is given twice{also}", USAGE_ERROR)
        try:
            values[name] = _finite_float(number)
        except argparse.ArgumentTypeError as error:
            raise CommandError(f"the value of {name} {error}", USAGE_ERROR) from None
    return values


def _number_text(x: float) -> str:
    return f"{x:.8g}"


def _show_column(text: str, column: int | None) -> str:
    """The expression with a caret under `column`, when it fits on one line."""
    if column is None or "\n" in text or len(text) > 200:
        return ""
    return f"\n  {text}\n  {' ' * (column - 1)}^"


def run_graph(args: argparse.Namespace) -> int:
    """`valuegrad graph`: evaluate, backpropagate, print the table, draw the graph."""
    from autograd import Value, topological_order
    from autograd.expression import EvaluationError, Expression, ExpressionError

    suffix = args.out.suffix.lower()
    if suffix not in GRAPH_FORMATS:
        raise CommandError(f"--out must end in {', '.join(GRAPH_FORMATS[:-1])} or "
                           f"{GRAPH_FORMATS[-1]}, got {str(args.out)!r}", USAGE_ERROR)
    values = parse_assignments(args.variables)
    leaves = {name: Value(number, label=name) for name, number in values.items()}
    try:
        expression = Expression(args.expression)
    except ExpressionError as error:
        raise CommandError(f"{error}{_show_column(args.expression, error.column)}",
                           USAGE_ERROR) from None
    try:
        out = expression.evaluate(leaves)
    except EvaluationError as error:
        raise CommandError(str(error)) from None
    except ValueError as error:  # a variable missing or not in the expression
        raise CommandError(str(error), USAGE_ERROR) from None
    order = topological_order(out)
    if len(order) > MAX_GRAPH_NODES:
        raise CommandError(f"the expression makes {len(order)} nodes, too many to draw "
                           f"(at most {MAX_GRAPH_NODES})", USAGE_ERROR)
    # The inputs are finite, so anything else overflowed (x*x with x=1e200, even inside
    # 1/(x*x), which would give a silent 0) or hit a pole (the slope of sqrt at 0): an
    # error, as an overflowing exp is.
    for node in order:
        if not math.isfinite(node.data):
            step = f" at {_shown(node.label)}" if node.label else ""
            raise CommandError(f"cannot compute {_shown(expression.text.strip())}{step}: "
                               f"the result is {node.data}, not a finite number (overflow)")
    out.backward()
    for name in expression.variables:
        if not math.isfinite(leaves[name].grad):
            raise CommandError(f"cannot compute the gradient of {_shown(expression.text.strip())}"
                               f" with respect to {name}: it is {leaves[name].grad}, not a "
                               f"finite number")

    print(f"{expression.text.strip()} = {_number_text(out.data)}")
    if expression.variables:
        width = max(len("variable"), *(len(name) for name in expression.variables))
        print()
        print(f"{'variable':<{width}}  {'value':>14}  {'gradient':>14}")
        for name in expression.variables:
            leaf = leaves[name]
            print(f"{name:<{width}}  {_number_text(leaf.data):>14}  "
                  f"{_number_text(leaf.grad):>14}")
    _write_graph(out, args.out, suffix.lstrip("."), expression.text.strip())
    print(f"\nwrote {args.out}")
    return 0


def _write_graph(out: Any, path: Path, format: str, title: str) -> None:
    from autograd import render, step_through, viz

    try:
        if format == "html":
            image = step_through(out, max_nodes=MAX_GRAPH_NODES, title=title).html.encode()
        else:
            image = viz.draw_dot(out, max_nodes=MAX_GRAPH_NODES).pipe(format=format)
    except render.RenderError as error:
        raise CommandError(str(error)) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, image)
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the path
        message = getattr(error, "strerror", None) or str(error)
        if not message.startswith("cannot write"):
            message = f"cannot write {path}: {message}"
        raise CommandError(message) from None


if __name__ == "__main__":
    sys.exit(main())
