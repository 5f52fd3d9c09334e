"""`python -m bench.forward`: the gradient of an n-parameter loss three ways, timed.

n forward-mode passes (one jvp per parameter), one reverse pass (backward), and 2n
evaluations of the loss for central differences (two per parameter). The table
shows why backpropagation is the method of choice: its cost does not grow with
n beyond the cost of the loss itself.
"""

from __future__ import annotations

import argparse
import math
import time

from autograd import Value, jvp


def loss(*params: Value) -> Value:
    """A smooth loss of n parameters: sum of tanh(p_i * p_{i+1}) + p_i ** 2 / 2."""
    n = len(params)
    return Value.sum([(params[i] * params[(i + 1) % n]).tanh() + params[i] * params[i] * 0.5
                      for i in range(n)])


def by_forward(point: list[float]) -> list[float]:
    n = len(point)
    return [jvp(loss, point, [1.0 if j == i else 0.0 for j in range(n)])[1] for i in range(n)]


def by_reverse(point: list[float]) -> list[float]:
    leaves = [Value(x) for x in point]
    loss(*leaves).backward()
    return [v.grad for v in leaves]


def by_differences(point: list[float], h: float = 1e-6) -> list[float]:
    def at(x: list[float]) -> float:
        return loss(*[Value(v) for v in x]).data
    grads = []
    for i in range(len(point)):
        above, below = list(point), list(point)
        above[i] += h
        below[i] -= h
        grads.append((at(above) - at(below)) / (2 * h))
    return grads


def seconds(method, point: list[float]) -> float:
    start = time.perf_counter()
    method(point)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100, 300, 1000])
    args = parser.parse_args(argv)
    print("| n | forward (n passes) s | reverse (1 pass) s | central differences s | "
          "max |difference - reverse| |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        if not 1 <= n <= 5000:
            raise SystemExit(f"sizes must be within 1..5000, got {n}")
        point = [math.sin(i + 1.0) for i in range(n)]
        exact = by_reverse(point)
        error = max(abs(a - b) for a, b in zip(by_differences(point), exact))
        print(f"| {n} | {seconds(by_forward, point):.4f} | {seconds(by_reverse, point):.4f} | "
              f"{seconds(by_differences, point):.4f} | {error:.1e} |")


if __name__ == "__main__":
    main()
