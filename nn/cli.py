"""The `valuegrad` command: train a classifier on a toy data set, draw an expression's graph.

    valuegrad train                       # micrograd's demo: moons, MLP 2-16-16-1, 100 epochs
    valuegrad train --dataset spiral --optimizer adam --epochs 200
    valuegrad predict --model runs/moons/model.json 0.5 -0.2
    valuegrad graph "tanh(x*w + b)" x=2 w=-3 b=6.88 --out graph.svg

Errors in the arguments print `valuegrad: error: ...` and exit with status 2;
failures while running (a model file that cannot be read, log of a negative
number, a diverging training run) exit with status 1.
"""

from __future__ import annotations

import argparse
import keyword
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from autograd import OPS
from autograd.expression import functions as expression_functions
from nn import data

USAGE_ERROR = 2
RUNTIME_ERROR = 1

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
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adamw")
# Learning rates used when --lr is not given; sgd then follows micrograd's schedule instead.
DEFAULT_LR = {"momentum": 0.1, "rmsprop": 0.01, "adam": 0.05, "adamw": 0.05}
MAX_GRAPH_NODES = 500
GRAPH_FORMATS = (".svg", ".png")


class CommandError(Exception):
    """A failure to report as `valuegrad: error: <message>` with exit status `status`."""

    def __init__(self, message: str, status: int = RUNTIME_ERROR) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"valuegrad: error: {message}\n")


# --- argument types: each turns one string into a value or says what is wrong ---------

def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _finite_float(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
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


def _layer_widths(text: str) -> list[int]:
    widths = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"must be layer widths separated by commas, such as 16,16; "
                f"{part!r} in {text!r} is not a positive whole number")
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
    from nn.module import ACTIVATIONS

    parser = _Parser(prog="valuegrad", description="A scalar autograd engine to learn "
                     "backpropagation from: train a small network, or draw a computation graph.")
    parser.add_argument("--version", action="version", version=f"valuegrad {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train an MLP classifier on a 2-D toy data set",
        description="Train an MLP on a 2-D data set and write the decision boundary, the loss "
        "curves (PNG), the model (JSON) and the history (CSV). The defaults are micrograd's "
        "demo: 100 moons points, MLP 2-16-16-1 with ReLU, hinge loss plus 1e-4 L2, full-batch "
        "SGD for 100 epochs with learning rate 1.0 - 0.9 * epoch / epochs.")
    train.add_argument("--dataset", choices=DATASETS, default="moons",
                       help="moons, circles and xor have 2 classes (one output, hinge loss); "
                       "blobs and spiral have 3 (one output per class, cross-entropy). "
                       "Default: moons")
    train.add_argument("--samples", type=_positive_int, default=100, metavar="N",
                       help="points in the training set, and again in the validation set "
                       "(a second draw with seed + 1). Default: 100")
    train.add_argument("--hidden", type=_layer_widths, default=[16, 16], metavar="WIDTHS",
                       help="hidden layer widths, comma-separated. Default: 16,16")
    train.add_argument("--activation", choices=[a for a in ACTIVATIONS if a != "linear"],
                       default="relu", help="of the hidden layers. Default: relu")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                       help="momentum is SGD with momentum 0.9. Default: sgd")
    train.add_argument("--lr", type=_positive_float, metavar="LR",
                       help="a constant learning rate. Default: for sgd micrograd's schedule "
                       "from 1.0 down to 0.1; " + ", ".join(f"{name} {lr}" for name, lr
                                                           in DEFAULT_LR.items()))
    train.add_argument("--epochs", type=_positive_int, default=100, metavar="N",
                       help="passes over the training set. Default: 100")
    train.add_argument("--batch-size", type=_positive_int, metavar="N",
                       help="samples per step. Default: all of them (full batch)")
    train.add_argument("--l2", type=_non_negative_float, default=1e-4, metavar="ALPHA",
                       help="weight of the L2 penalty alpha * sum(p^2). Default: 1e-4")
    train.add_argument("--seed", type=int, default=1337,
                       help="seeds the data, the initial weights and the batches. Default: 1337")
    train.add_argument("--out", type=Path, metavar="DIR",
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
    predict.add_argument("--model", type=Path, required=True, metavar="FILE",
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
    graph.add_argument("--out", type=Path, default=Path("graph.svg"), metavar="FILE",
                       help="the drawing, .svg or .png. Default: graph.svg")
    graph.set_defaults(run=run_graph)
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
        return 130


# --- train ------------------------------------------------------------------------------

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
    """`valuegrad train`: train, report the accuracies, write the four files."""
    import nn
    from nn import plots

    _check_plotting()
    make, classes, data_note = DATASETS[args.dataset]
    out_dir = args.out if args.out is not None else Path("runs") / args.dataset
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"cannot create the output directory {out_dir}: "
                           f"{error.strerror or error}") from None

    X, y = make(args.samples, args.seed)
    X_val, y_val = make(args.samples, args.seed + 1)
    outputs = 1 if classes == 2 else classes
    model = nn.MLP(2, [*args.hidden, outputs], activation=args.activation, seed=args.seed)
    loss = "hinge" if classes == 2 else "cross_entropy"
    if args.lr is not None:
        lr, lr_text = args.lr, f"lr {args.lr:g}"
    elif args.optimizer == "sgd":
        lr, lr_text = _micrograd_schedule(args.epochs), "lr 1.0 down to 0.1 (micrograd's schedule)"
    else:
        lr, lr_text = DEFAULT_LR[args.optimizer], f"lr {DEFAULT_LR[args.optimizer]:g}"
    optimizer: Any = args.optimizer
    if optimizer == "momentum":  # its lr is a number: the schedule is only sgd's default
        optimizer = nn.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    batches = "full batch" if args.batch_size is None else f"batches of {args.batch_size}"
    print(f"data: {args.dataset} ({data_note}), {args.samples} training and "
          f"{args.samples} validation points")
    print(f"model: {model}, {len(model.parameters())} parameters")
    print(f"training: {args.optimizer}, {lr_text}, {args.epochs} epochs, {batches}, "
          f"{loss.replace('_', '-')} loss + {args.l2:g} L2"
          + (", compiled replay" if args.compile else ""))
    try:
        history = nn.fit(model, X, y, loss=loss, optimizer=optimizer, lr=lr,
                         epochs=args.epochs, batch_size=args.batch_size,
                         validation=(X_val, y_val), l2=args.l2, seed=args.seed,
                         progress=not args.no_progress, compile=args.compile)
    except (ArithmeticError, ValueError) as error:
        raise CommandError(f"training failed: {error}; try a smaller --lr") from None
    if not all(math.isfinite(p.data) for p in model.parameters()):
        raise CommandError("training diverged (the weights are no longer finite numbers); "
                           "try a smaller --lr")

    train_accuracy = nn.accuracy(model, X, y)
    val_accuracy = nn.accuracy(model, X_val, y_val)
    paths = {name: out_dir / name for name in
             ("decision_boundary.png", "loss.png", "model.json", "history.csv")}
    try:
        model.save(paths["model.json"])
        history.to_csv(paths["history.csv"])
        figure, ax = plots.new_figure(figsize=(6.0, 5.2))
        plots.plot_decision_boundary(
            model, X, y, ax=ax, validation=(X_val, y_val),
            title=f"{args.dataset}: training accuracy {_percent(train_accuracy)}, "
                  f"validation {_percent(val_accuracy)}")
        figure.savefig(paths["decision_boundary.png"], dpi=120, bbox_inches="tight")
        figure, axes = plots.new_figure(ncols=2, figsize=(10.0, 3.8))
        plots.plot_history(history, axes,
                           title=f"{args.dataset}: {model}, {args.optimizer}")
        figure.savefig(paths["loss.png"], dpi=120)
    except OSError as error:
        raise CommandError(f"cannot write to {out_dir}: {error.strerror or error}") from None

    print(f"training accuracy: {_percent(train_accuracy)}")
    print(f"validation accuracy: {_percent(val_accuracy)}")
    print(f"wrote {len(paths)} files to {out_dir}:")
    for path in paths.values():
        print(f"  {path}")
    return 0


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
    from nn.module import evaluating

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
        scores = [v.data for v in output]
        predicted = max(range(len(scores)), key=scores.__getitem__)
        print("scores: " + ", ".join(f"{s:.6g}" for s in scores))
    else:
        predicted = 1 if output.data > 0.0 else 0
        print(f"score: {output.data:.6g}")
    print(f"class: {predicted}")
    return 0


# --- graph ------------------------------------------------------------------------------

def parse_assignments(texts: Sequence[str]) -> dict[str, float]:
    """`["x=2", "w=-3"]` as `{"x": 2.0, "w": -3.0}`; a usage CommandError names a bad one."""
    values: dict[str, float] = {}
    for text in texts:
        name, equals, number = text.partition("=")
        name = name.strip()
        if not equals:
            raise CommandError(f"expected NAME=VALUE (such as x=2, no spaces around =), "
                               f"got {text!r}", USAGE_ERROR)
        if not name.isidentifier() or keyword.iskeyword(name):
            raise CommandError(f"{name!r} in {text!r} is not a variable name", USAGE_ERROR)
        if name in values:
            raise CommandError(f"{name} is given twice", USAGE_ERROR)
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
        raise CommandError(f"--out must end in .svg or .png, got {str(args.out)!r}",
                           USAGE_ERROR)
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
    nodes = len(topological_order(out))
    if nodes > MAX_GRAPH_NODES:
        raise CommandError(f"the expression makes {nodes} nodes, too many to draw "
                           f"(at most {MAX_GRAPH_NODES})", USAGE_ERROR)
    out.backward()

    print(f"{expression.text.strip()} = {_number_text(out.data)}")
    if expression.variables:
        width = max(len("variable"), *(len(name) for name in expression.variables))
        print()
        print(f"{'variable':<{width}}  {'value':>14}  {'gradient':>14}")
        for name in expression.variables:
            leaf = leaves[name]
            print(f"{name:<{width}}  {_number_text(leaf.data):>14}  "
                  f"{_number_text(leaf.grad):>14}")
    _write_graph(out, args.out, suffix.lstrip("."))
    print(f"\nwrote {args.out}")
    return 0


def _write_graph(out: Any, path: Path, format: str) -> None:
    from autograd import render, viz

    try:
        image = viz.draw_dot(out, max_nodes=MAX_GRAPH_NODES).pipe(format=format)
    except render.RenderError as error:
        raise CommandError(str(error)) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from None


if __name__ == "__main__":
    sys.exit(main())
