"""The exercise "backward": the learner writes the backward pass itself.

The solution is a function `backward(root)` that receives the output Value of a
graph whose gradients are all 0 and must leave in every node's `.grad` what
`root.backward()` would, reading only each node's `children` and `local_grads`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import autograd
from autograd import Value
from nn.exercises.catalogue import Exercise, register
from nn.exercises.grading import Mistake, close, not_attempted
from nn.exercises.result import FAILED, PASSED, REFUSED, Result

NAME = "backward"
REVISIT = "notebook 01: the chain rule (section 5) and a value used twice (section 7)"


@dataclass(frozen=True)
class Graph:
    """A graph to run a backward pass on: `build()` gives (root, {name: node}) afresh."""

    shown: str
    build: Callable[[], tuple[Value, dict[str, Value]]]


def _chain() -> tuple[Value, dict[str, Value]]:
    x = Value(2.0)
    y = x * 3.0
    return y, {"x": x, "y": y}


def _square() -> tuple[Value, dict[str, Value]]:
    x = Value(3.0)
    y = x * x
    return y, {"x": x, "y": y}


def _diamond() -> tuple[Value, dict[str, Value]]:
    x = Value(1.0)
    a = x * 2.0
    b = a * 3.0
    y = a + b
    return y, {"x": x, "a": a, "b": b, "y": y}


def _diamond_swapped() -> tuple[Value, dict[str, Value]]:
    x = Value(1.0)
    a = x * 2.0
    b = a * 3.0
    y = b + a
    return y, {"x": x, "a": a, "b": b, "y": y}


def _shared() -> tuple[Value, dict[str, Value]]:
    x, y, w = Value(2.0), Value(3.0), Value(0.5)
    s = x * y
    m = s * s
    out = m + w
    return out, {"x": x, "y": y, "w": w, "s": s, "m": m, "out": out}


def _neuron() -> tuple[Value, dict[str, Value]]:
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.8813735870)
    n = Value.dot([w1, w2], [x1, x2], b)
    o = n.tanh()
    loss = (o - 1.0) ** 2
    return loss, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "n": n, "o": o,
                  "loss": loss}


GRAPHS = [
    Graph("y = x * 3 with x = 2", _chain),
    Graph("y = x * x with x = 3 (x is used twice)", _square),
    Graph("a = x * 2, b = a * 3, y = a + b with x = 1 (a reaches y directly and through b)",
          _diamond),
    Graph("a = x * 2, b = a * 3, y = b + a with x = 1 (the same, operands swapped)",
          _diamond_swapped),
    Graph("s = x * y, m = s * s, out = m + w with x = 2, y = 3, w = 0.5 (s is used twice)",
          _shared),
    Graph("n = w1*x1 + w2*x2 + b, o = tanh(n), loss = (o - 1) ** 2: one neuron", _neuron),
]


# --- models of the classic mistakes, to compare the learner's gradients with -----------

def _order_without_visited_set(root: Value) -> list[Value]:
    order: list[Value] = []

    def build(node: Value) -> None:
        for child in node.children:
            build(child)
        order.append(node)
    build(root)
    return order


def _pass_back(order: list[Value], overwrite: bool = False) -> None:
    for node in order:
        for child, local in zip(node.children, node.local_grads):
            if overwrite:
                child.grad = local * node.grad
            else:
                child.grad += local * node.grad


def _reversed_order(root: Value) -> list[Value]:
    return list(reversed(autograd.topological_order(root)))


def _breadth_first(root: Value) -> list[Value]:
    order, seen, queue = [], {root}, [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for child in node.children:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return order


def _depth_first(root: Value) -> list[Value]:
    order, seen, stack = [], {root}, [root]
    while stack:
        node = stack.pop()
        order.append(node)
        for child in node.children:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return order


def _model(order: Callable[[Value], list[Value]], seed: bool = True,
           overwrite: bool = False) -> Callable[[Value], None]:
    def wrong_backward(root: Value) -> None:
        if seed:
            root.grad = 1.0
        _pass_back(order(root), overwrite)
    return wrong_backward


MISTAKES = [
    Mistake("not seeding the output with 1",
            "Every gradient is still 0, the output's own included. The backward pass starts "
            "from the output, whose gradient with respect to itself is 1: set root.grad = 1 "
            "first. Without that seed, every local derivative is multiplied by 0 and nothing "
            "flows back.", REVISIT, _model(_reversed_order, seed=False)),
    Mistake("overwriting instead of accumulating",
            "A node used more than once got only the gradient of its last use. When a value "
            "feeds several operations, its gradient is the sum of what each use sends back, "
            "so write child.grad += local * node.grad, not child.grad = ... . In x * x, "
            "x gets x from each side: 2x in all, not x.",
            REVISIT, _model(_reversed_order, overwrite=True)),
    Mistake("processing nodes out of topological order",
            "A node passed its gradient on before it had received all of it. A node may pass "
            "its gradient back only once every node that uses it has been done, so process "
            "them in reverse topological order: build the order with each node after all its "
            "operands, then walk it from the output back.", REVISIT,
            _model(lambda root: autograd.topological_order(root))),
    Mistake("processing nodes out of topological order",
            "A node passed its gradient on before it had received all of it. Going "
            "breadth-first from the output is not enough: a node reached early by a short "
            "path still waits for the longer paths. Walk the reverse of a topological order "
            "(each node after all its operands).", REVISIT, _model(_breadth_first)),
    Mistake("processing nodes out of topological order",
            "A node passed its gradient on before it had received all of it. Passing the "
            "gradient on as soon as a node is reached, depth-first, lets a node reached by a "
            "short path go before the longer paths have delivered. Walk the reverse of a "
            "topological order (each node after all its operands).", REVISIT,
            _model(_depth_first)),
    Mistake("visiting a shared node twice",
            "The nodes below a value that is used twice got their gradient two times over. "
            "Your order lists that shared node once per use, so it passed its (already "
            "complete) gradient back twice. Keep a set of visited nodes when you build the "
            "topological order, so every node appears in it exactly once.", REVISIT,
            _model(lambda root: list(reversed(_order_without_visited_set(root))))),
]


# --- refusing the engine's own backward --------------------------------------------------

_ENGINE_CODE = {Value.backward.__code__, autograd.grad.__code__}
# `autograd.compile` the attribute is the function; the module is what is watched.
_COMPILE_FILE = importlib.import_module("autograd.compile").__file__


class _EngineWatch:
    """Notes whether the engine's backward, grad or compiled replay runs while it is active.

    It watches the function calls themselves (a profile hook), so a solution cannot
    get past it by keeping its own reference to `Value.backward` or `autograd.grad`.
    """

    def __init__(self) -> None:
        self.used = ""

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" and not self.used:
            code = frame.f_code
            if code in _ENGINE_CODE or code.co_filename == _COMPILE_FILE:
                self.used = code.co_name

    def run(self, solution: Callable[[Value], Any], root: Value) -> Any:
        previous = sys.getprofile()
        sys.setprofile(self)
        try:
            return solution(root)
        finally:
            sys.setprofile(previous)


def _gradients(names: dict[str, Value]) -> dict[str, float]:
    return {name: node.grad for name, node in names.items()}


def _run(function: Callable[[Value], Any], graph: Graph,
         watch: _EngineWatch | None = None) -> dict[str, float] | str:
    root, names = graph.build()
    try:
        if watch is None:
            function(root)
        else:
            watch.run(function, root)
    except NotImplementedError:
        raise
    except Exception as error:   # the learner's code may raise anything; it is reported
        return f"it raised {type(error).__name__}: {error}"
    return _gradients(names)


def _differences(mine: dict[str, float] | str, right: dict[str, float]) -> list[str]:
    if isinstance(mine, str):
        return ["all"]
    return [name for name in right if not close(mine[name], right[name])]


def _listed(grads: dict[str, float] | str, names: list[str]) -> str:
    if isinstance(grads, str):
        return grads
    return ", ".join(f"{name}.grad = {grads[name]:.6g}" for name in names)


def _expected(graph: Graph) -> dict[str, float]:
    root, names = graph.build()
    root.backward()
    return _gradients(names)


def grade_backward(solution: Any) -> Result:
    """Check a learner's backward pass on graphs chosen to tell the classic mistakes apart."""
    if not callable(solution):
        raise TypeError(f"check({NAME!r}, solution): solution must be a function "
                        f"backward(root), got {type(solution).__name__}")
    watch = _EngineWatch()
    mine = []
    for graph in GRAPHS:
        try:
            mine.append(_run(solution, graph, watch))
        except NotImplementedError:
            return not_attempted(NAME)
        if watch.used:
            return Result(NAME, REFUSED, f"Your function calls the engine's own "
                          f"{watch.used}(), which is the very thing this exercise asks you "
                          "to write. Use only each node's .children and .local_grads.",
                          example=graph.shown, revisit=REVISIT)
    right = [_expected(graph) for graph in GRAPHS]
    failing = [i for i in range(len(GRAPHS)) if _differences(mine[i], right[i])]
    if not failing:
        return Result(NAME, PASSED, f"Every node's gradient is right on all {len(GRAPHS)} "
                      "graphs, shared nodes included.")
    first = failing[0]
    wrong = _differences(mine[first], right[first])
    shown = list(right[first]) if wrong == ["all"] else wrong
    details = dict(example=GRAPHS[first].shown, expected=_listed(right[first], shown),
                   got=_listed(mine[first], shown))
    for mistake in MISTAKES:
        if all(isinstance(m, dict) and isinstance(model := _run(mistake.model, graph), dict)
               and not _differences(m, model) for m, graph in zip(mine, GRAPHS)):
            return Result(NAME, FAILED, mistake.message, mistake=mistake.name,
                          revisit=mistake.revisit, **details)
    return Result(NAME, FAILED, f"Some gradients are wrong on {len(failing)} of {len(GRAPHS)} "
                  "graphs; this is not one of the mistakes I know, so compare the gradients "
                  "below.", revisit=REVISIT, **details)


register(Exercise(
    NAME, "01_chain_rule.ipynb", "def backward(root):",
    "Write the backward pass: given the output Value of a graph whose gradients are all 0, "
    "fill every node's .grad as root.backward() would, using only .children and "
    ".local_grads (not the engine's backward or grad).",
    ("Start at the output: its gradient with respect to itself is 1.",
     "Each node sends each operand local * node.grad, and an operand used several times "
     "adds up what it receives: +=, not =.",
     "A node may only pass its gradient on once it has everything it will receive: list "
     "every node once, each after its operands (a depth-first search with a visited set), "
     "and go through that list backwards."), grade_backward))
