"""`python -m bench`: valuegrad side by side with its peers, in one process.

Times are per call, the median of several, with the garbage collector on
(as users run) and then off. Ratios are micrograd's time over the other's:
how many times faster than micrograd. The results go to stdout as a
Markdown table and to bench/results.md.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from bench import digits as d
from bench import workloads as w


def timed(fn, repeat: int, gc_on: bool = True) -> float:
    """Median seconds per call of fn(), run `repeat` times back to back."""
    gc.collect()
    if not gc_on:
        gc.disable()
    try:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return statistics.median(times)


def count_nodes(root) -> int:
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node._prev)
    return len(seen)


def bytes_per_node(build) -> tuple[float, int]:
    """Memory the graph holds after forward and backward, per node (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    root = build()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / count_nodes(root), count_nodes(root)


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *row) -> None:
        self.rows.append(tuple(str(c) for c in row))
        print(" | ".join(self.rows[-1]), flush=True)

    def markdown(self, header: tuple[str, ...]) -> str:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--quick", action="store_true",
                        help="fewer runs and no training run (for a smoke test)")
    parser.add_argument("--digits-only", action="store_true",
                        help="only the digits tables (bench/results.md is left as it is)")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else args.repeat
    has_torch = importlib.util.find_spec("torch") is not None
    if args.digits_only:
        print("\n" + "\n".join(d.measure(Table, close, quick=args.quick, with_torch=has_torch)))
        return 0

    import micrograd.engine

    from autograd import Value

    X, y = w.moons()
    params = w.initial_parameters()
    speed = Table()

    # Reference: micrograd on its own demo, both as plain operations and with its MLP.
    def micrograd_plain():
        return w.plain_step(micrograd.engine.Value,
                            w.value_parameters(micrograd.engine.Value, params), X, y)

    def ours_plain():
        return w.plain_step(Value, w.value_parameters(Value, params), X, y)

    mg_model = w.micrograd_mlp(params)
    nn_model = w.nn_mlp(params)
    compiled = w.compiled_mlp_step(nn_model)
    per_example = w.per_example_mlp_step(w.nn_mlp(params))

    # The same numbers first: every engine's loss and gradients agree.
    mg_loss = micrograd_plain().data
    float_loss, float_grads = w.float_step(params, X, y)
    checks = {
        "valuegrad, plain operations": ours_plain().data,
        "valuegrad, nn.MLP": w.nn_mlp_step(nn_model, X, y).data,
        "valuegrad, compiled": compiled(X, y),
        "valuegrad, compiled per example": per_example(X, y),
        "micrograd MLP": w.micrograd_mlp_step(mg_model, X, y).data,
        "plain floats": float_loss,
    }
    for name, loss in checks.items():
        if not close(loss, mg_loss):
            raise SystemExit(f"{name} computes loss {loss!r}, micrograd {mg_loss!r}")
    grads_nn = [p.grad for p in nn_model.parameters()]
    if not all(close(a, b) for a, b in zip(grads_nn, w.flat_float_grads(float_grads))):
        raise SystemExit("nn.MLP gradients differ from the hand-written ones")
    print(f"all engines agree on the moons loss {mg_loss:.12f} (to 1e-9)\n")

    def row(workload, engine, fn, reference=None, runs=repeat):
        """Time fn with the collector on and off; ratios against `reference` (itself if None)."""
        on = timed(fn, runs, gc_on=True)
        off = timed(fn, runs, gc_on=False)
        ref_on, ref_off = reference or (on, off)
        speed.add(workload, engine, ms(on), f"{ref_on / on:.1f}x", ms(off),
                  f"{ref_off / off:.1f}x")
        return on, off

    plain = "moons step, plain operations"
    micrograd_plain_times = row(plain, "micrograd 0.1.0", micrograd_plain)
    row(plain, "valuegrad", ours_plain, micrograd_plain_times)
    mlp = "moons step, each library's MLP"
    micrograd_mlp_times = row(mlp, "micrograd 0.1.0 MLP",
                              lambda: w.micrograd_mlp_step(mg_model, X, y))
    eager_times = row(mlp, "valuegrad nn.MLP", lambda: w.nn_mlp_step(nn_model, X, y),
                      micrograd_mlp_times)
    row(mlp, "valuegrad nn.MLP, autograd.compile", lambda: compiled(X, y),
        micrograd_mlp_times, runs=repeat * 4)
    row(mlp, "valuegrad nn.MLP, autograd.compile_per_example", lambda: per_example(X, y),
        micrograd_mlp_times, runs=repeat * 4)
    row(mlp, "plain floats written by hand (the floor)", lambda: w.float_step(params, X, y),
        micrograd_mlp_times, runs=repeat * 4)

    # What compiling costs: the first call (tracing, code generation, the checks against
    # the eager engine, the replay) against one eager step of the same batch (gc on).
    cost = Table()
    firsts = [w.first_call_seconds(lambda: w.per_example_mlp_step(w.nn_mlp(params)), X, y)
              for _ in range(1 if args.quick else 3)]
    first = statistics.median(firsts)
    cost.add("moons step, 100 points", "autograd.compile_per_example", ms(first),
             ms(eager_times[0]), f"{first / eager_times[0]:.2f}",
             f"{len(per_example.replay.source.encode()) / 1e3:.0f} kB")
    whole = w.first_call_seconds(lambda: w.compiled_mlp_step(w.nn_mlp(params)), X, y)
    cost.add("moons step, 100 points", "autograd.compile (whole graph)", ms(whole),
             ms(eager_times[0]), f"{whole / eager_times[0]:.2f}",
             f"{len(compiled.replay.source.encode()) / 1e3:.0f} kB")
    cost.add("one example of MLP(64, [32, 10]), cross-entropy", "autograd.compile_per_example",
             "", "", "", f"{w.digits_source_bytes() / 1e3:.0f} kB")

    # Deep and wide graphs.
    shape = Table()

    def backward_time(build, runs):
        def run():
            build().backward()
        return timed(run, runs)

    shape.add("chain of 10^4 (x * c + c)", "micrograd 0.1.0",
              _outcome(lambda: w.chain(micrograd.engine.Value, 10_000).backward()), "")
    t5 = backward_time(lambda: w.chain(Value, 100_000), repeat)
    t6 = backward_time(lambda: w.chain(Value, 1_000_000), max(1, repeat // 2))
    shape.add("chain of 10^5, build + backward", "valuegrad", ms(t5), "")
    shape.add("chain of 10^6, build + backward", "valuegrad", ms(t6),
              f"{t6 / t5:.1f}x the 10^5 time (linear: 10x)")
    shape.add("sum of 10^5 terms, builtin sum()", "micrograd 0.1.0",
              _outcome(lambda: w.wide_sum(micrograd.engine.Value, 100_000)[0].backward()), "")
    shape.add("sum of 10^5 terms, builtin sum()", "valuegrad",
              ms(backward_time(lambda: w.wide_sum(Value, 100_000)[0], repeat)), "")
    shape.add("sum of 10^5 terms, Value.sum()", "valuegrad",
              ms(backward_time(lambda: w.wide_sum(Value, 100_000, Value.sum)[0], repeat)),
              "one node with 10^5 operands")

    # Memory.
    memory = Table()
    mg_bytes, mg_nodes = bytes_per_node(micrograd_plain)
    our_bytes, our_nodes = bytes_per_node(ours_plain)
    memory.add("moons step, plain operations", "micrograd 0.1.0", f"{mg_bytes:.0f}", mg_nodes,
               "1.00")
    memory.add("moons step, plain operations", "valuegrad", f"{our_bytes:.0f}", our_nodes,
               f"{our_bytes / mg_bytes:.2f}")

    # Time to 100% training accuracy, micrograd's demo loop.
    training = Table()
    if not args.quick:
        for name, run in (("micrograd 0.1.0 MLP", _train_micrograd),
                          ("valuegrad nn.MLP", _train_nn),
                          ("valuegrad autograd.compile_per_example", _train_compiled)):
            seconds, steps, accuracy = run(params, X, y)
            training.add(name, f"{seconds:.2f} s", steps, f"{accuracy:.0%}")

    # The digits (before PyTorch's moons row: it imports torch at its end).
    digits_report = d.measure(Table, close, quick=args.quick, with_torch=has_torch)

    # PyTorch last: importing it leaves the collector many more objects to
    # scan, which would slow every figure measured after it.
    if has_torch:
        import torch

        torch.set_num_threads(1)
        row(plain, f"PyTorch {torch.__version__}, 0-d tensors",
            lambda: w.torch_step(params, X, y), micrograd_plain_times, runs=max(2, repeat // 2))

    report = [
        "# Benchmark results",
        "",
        f"`make bench` on {platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Median per call; 'x' is how many times faster "
        "than micrograd (higher is better).",
        "",
        speed.markdown(("workload", "engine", "gc on", "vs micrograd", "gc off",
                        "vs micrograd (gc off)")),
        "",
        cost.markdown(("compile cost", "compiled with", "first call", "eager step",
                       "first call / eager step", "generated source")),
        "",
        shape.markdown(("workload", "engine", "time", "note")),
        "",
        memory.markdown(("workload", "engine", "bytes per node", "nodes", "vs micrograd")),
    ]
    if training.rows:
        report += ["", training.markdown(("training to 100% accuracy (moons, 100 points)",
                                          "time", "steps", "train accuracy"))]
    report += ["", *digits_report]
    text = "\n".join(report) + "\n"
    print("\n" + text)
    if not args.quick:
        Path(__file__).with_name("results.md").write_text(text)
    return 0


def _outcome(fn) -> str:
    """Call fn: "ran", or "RecursionError" where a recursive backward pass runs out of stack."""
    try:
        fn()
    except RecursionError:
        return "RecursionError"
    return "ran"


def _accuracy(scores, y) -> float:
    return sum((s > 0) == (yi > 0) for s, yi in zip(scores, y)) / len(y)


def _train(step, scores, parameters, X, y, max_steps=100):
    """micrograd's demo loop: SGD with learning rate 1 - 0.9 k/100, until 100% accuracy."""
    start = time.perf_counter()
    accuracy = 0.0
    for k in range(max_steps):
        step()
        lr = 1.0 - 0.9 * k / 100
        for p in parameters:
            p.data -= lr * p.grad
        accuracy = _accuracy(scores(), y)
        if accuracy == 1.0:
            return time.perf_counter() - start, k + 1, accuracy
    return time.perf_counter() - start, max_steps, accuracy


def _train_micrograd(params, X, y):
    from micrograd.engine import Value

    model = w.micrograd_mlp(params)
    return _train(lambda: w.micrograd_mlp_step(model, X, y),
                  lambda: [model([Value(a) for a in x]).data for x in X],
                  model.parameters(), X, y)


def _train_nn(params, X, y):
    from autograd import no_grad

    model = w.nn_mlp(params)

    def scores():
        with no_grad():
            return [model(x).data for x in X]
    return _train(lambda: w.nn_mlp_step(model, X, y), scores, model.parameters(), X, y)


def _train_compiled(params, X, y):
    import autograd

    model = w.nn_mlp(params)
    step = w.per_example_mlp_step(model)
    def score(x):
        s = model(x)
        return s, s        # replayed forward only; each point's score comes back as an extra

    predict = autograd.compile_per_example(score)
    return _train(lambda: step(X, y), lambda: predict.forward(X)[1], model.parameters(), X, y)


if __name__ == "__main__":
    sys.exit(main())
