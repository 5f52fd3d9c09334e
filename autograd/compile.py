"""Compiled replay: trace a function's graph once, then rerun it as straight-line Python.

Two ways to compile, both tracing the usual graph of Values once and writing
from it, with the engine's table of operations, one Python function whose
lines are the forward pass, node by node, and then the backward pass, operand
by operand: no Value is created when it runs.

- `step = autograd.compile(fn)` traces `fn(*args)` on its first call and
  replays the whole graph: `step(*args)` returns the output's data and adds
  d output/d p to `p.grad` for every Value `p` the function used.
- `step = autograd.compile_per_example(example_loss)` traces the loss of ONE
  example, `example_loss(x, target)`, and replays it for every example of a
  batch: `step(X, targets)` takes one sequence per argument, returns the
  batch loss (the mean of the examples' losses, or their sum with
  `reduction="sum"`) and accumulates its gradient. The generated code and the
  time to make it grow with the model, not with the batch, and batches of any
  size (a short last one too) replay without tracing again. The examples'
  gradients are added to `.grad` last example first, as the eager backward
  pass of the batch loss reaches them, so they are the same to the last bit.
  Terms that are not per example, such as an L2 penalty, are added outside,
  before (their own `backward()` or replay accumulates into `.grad`, and
  eagerly the backward pass of `loss + penalty` reaches the penalty first).
  The function may return
  `(loss, extras)`, extras being Values or lists of them (the model's output,
  say): the call then returns `(batch_loss, [extras of each example])` as floats.

The limits, which follow from replaying one traced graph, and how each is kept
from giving a wrong number:
- Everything that changes between calls must be an argument: numbers (or
  lists and tuples of numbers, nested) that become the traced inputs. Numbers
  used inside the function are fixed at the values they had when traced. A
  leaf Value passed as an argument gets its gradient, as in eager use; a
  Value computed from others is refused (its own graph is not replayed).
- Values the function reads but did not receive as arguments (a model's
  parameters) are read afresh on every call, and their `.grad` accumulates as
  with `backward()`. Replacing such a Value by another object is not seen.
- A Value computed before the function is called (`h = w * 3` outside, then
  `compile(lambda a: a * h)`) is refused: eagerly it keeps the number it was
  computed with, and a replay would compute it again from `w`. The first call
  checked against the eager engine raises `GraphChanged` (see below); compute
  it inside the function, or pass its number as an argument.
- Settings the graph depends on (a module's training mode, a dropout
  probability) are read with `autograd.depends_on(read)`: before every call the
  replay reads them again, and traces again if one has changed.
- Checks of the inputs (a loss's labels must be -1 or +1) are made with
  `autograd.checked(value, check)`: the replay runs them on every example of
  every call before it computes anything, and raises the eager engine's error,
  naming the example.
- Branches that compare Values (`if v > 0`, `max(values)`) are checked on every
  call: if one comes out differently, the graph would change shape, and the
  call raises `GraphChanged`. `float(v)`, `v.detach()` and `no_grad()` raise a
  ValueError while tracing.
- What tracing cannot see at all, a branch on `v.data` or a number read from
  `.data`, is caught by running the eager engine beside the replay on the
  first calls (`checks` of them; for `compile_per_example`, the first
  `checks` examples): if the two differ, the call raises `GraphChanged`
  before anything is accumulated. The function then runs more than once on
  those calls; after them, such a dependence goes unseen.
- Random numbers drawn with `autograd.sampled(draw)` (as `nn.Dropout` does)
  are drawn again on every replay, in the same order as eagerly.
- Arguments must keep their structure (the same nesting and lengths), or the
  call raises `GraphChanged`.
"""

from __future__ import annotations

import builtins
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from autograd.engine import Constant, Value, topological_order, tracing
from autograd.ops import OPS, float_functions, is_number

REDUCTIONS = ("mean", "sum")


class GraphChanged(ValueError):
    """A compiled function was called where its traced graph no longer applies."""


def compile(fn: Callable[..., Value], *, checks: int = 2) -> CompiledFunction:  # noqa: A001
    """Trace `fn` on its first call; replay its whole graph, forward and backward, as Python.

    The `checks` calls after the first also run `fn` on the eager engine and
    compare (see the module's docstring).
    """
    if not callable(fn):
        raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
    return CompiledFunction(fn, _check_count("compile", checks))


def compile_per_example(fn: Callable[..., Any], *, reduction: str = "mean",
                        checks: int = 16) -> PerExampleFunction:
    """Trace `fn`, the loss of one example, once; replay it for every example of a batch.

    `step(X, y)` calls `fn(X[i], y[i])` for each i, as replayed code, and returns
    the mean (or, with reduction="sum", the sum) of the losses, adding its
    gradient to every parameter's `.grad`. The first `checks` examples are also
    run on the eager engine and compared.
    """
    if not callable(fn):
        raise TypeError(f"compile_per_example: expected a function, got {type(fn).__name__}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"compile_per_example: reduction must be one of "
                         f"{', '.join(map(repr, REDUCTIONS))}, got {reduction!r}")
    return PerExampleFunction(fn, reduction, _check_count("compile_per_example", checks))


# --- what a function can ask a replay to look at again on every call ---------------

class _Notes(threading.local):
    # While this thread traces a function: what depends_on read and what checked checks.
    conditions: list[tuple[Callable[[], Any], Any]] | None = None
    checks: list[tuple[Value, Callable[[float], object]]] | None = None


_notes = _Notes()


def depends_on(read: Callable[[], Any]) -> Any:
    """Return `read()`, a setting the function's graph depends on (a mode, a probability).

    A compiled replay calls `read()` again before every call and traces the
    function again when the result is another (compared with `==`): `nn.Dropout`
    reads its training mode and `p` this way. Eagerly, it is just `read()`.
    """
    result = read()
    if _notes.conditions is not None:
        _notes.conditions.append((read, result))
    return result


def checked(value: Value, check: Callable[[float], object]) -> Value:
    """Call `check(value.data)`, which raises for a bad number, and return `value`.

    While tracing, `value` must be an argument of the compiled function (a loss's
    target, say): a replay then calls `check` on that argument's number in every
    call and every example, before it computes anything, as the eager engine would.
    """
    check(value.data)
    if _notes.checks is not None:
        _notes.checks.append((value, check))
    return value


@contextmanager
def _noting() -> Iterator[_Notes]:
    previous = _notes.conditions, _notes.checks
    _notes.conditions, _notes.checks = [], []
    try:
        yield _notes
    finally:
        _notes.conditions, _notes.checks = previous


def _check_count(where: str, checks: Any) -> int:
    if isinstance(checks, bool) or not isinstance(checks, int):
        raise TypeError(f"{where}: checks must be an int, got {type(checks).__name__}")
    if checks < 0:
        raise ValueError(f"{where}: checks must be >= 0, got {checks!r}")
    return checks


class _Replay:
    """What both kinds share: the trace, the generated code, and the checks against eager."""

    where = "compile"
    allows_extras = False

    def __init__(self, fn: Callable[..., Any], checks: int) -> None:
        self.fn = fn
        self.source: str | None = None      # the generated code, for reading
        self._checks = checks
        self._checks_left = 0
        self._program: _Program | None = None
        # (output, extras, inputs, trace) of the trace, whose numbers the first call uses.
        self._traced: tuple | None = None

    @property
    def program(self) -> _Program:
        """The traced program (there once the first call has traced)."""
        if self._program is None:
            raise RuntimeError("compile: nothing has been traced yet")
        return self._program

    def retrace(self) -> None:
        """Forget the traced graph: the next call traces the function again."""
        self._program = None
        self._traced = None

    @property
    def parameters(self) -> list[Value]:
        """The Values the function used without receiving them as arguments, in graph order."""
        return list(self._program.parameters) if self._program else []

    # --- tracing ---------------------------------------------------------------

    def _trace(self, example: tuple, structure: tuple) -> None:
        inputs: list[Value] = []
        traced_args = _rebuild(example, inputs)
        with tracing() as trace, _noting() as notes:
            result = self.fn(*traced_args)
            conditions, checks = list(notes.conditions or ()), list(notes.checks or ())
        output, extras = self._split(result)
        program = _Program(output, extras, inputs, structure, trace)
        program.conditions = conditions
        program.input_checks = _input_checks(checks, inputs, self.where)
        self.source = program.source
        self._program = program
        self._traced = (output, extras, inputs, trace)
        self._checks_left = self._checks

    def _split(self, result: Any) -> tuple[Value, Any]:
        if isinstance(result, Value):
            return result, None
        if (self.allows_extras and isinstance(result, tuple) and len(result) == 2
                and isinstance(result[0], Value)):
            _check_extras(result[1], self.where)
            return result
        pair = " (or a pair (Value, extras))" if self.allows_extras else ""
        raise TypeError(f"{self.where}: the function must return a Value{pair}, "
                        f"got {type(result).__name__}")

    # --- running ---------------------------------------------------------------

    def _run(self, examples: list[tuple], rows: list[list[float]], scale: float,
             backward: bool, grads: list[float] | None = None,
             ) -> tuple[list[float], list, list[float], list]:
        """Losses, extras, parameter grads (added to `grads`, or from 0) and input grads."""
        program = self.program
        for index, check in program.input_checks:
            for k, row in enumerate(rows):
                _run_check(check, row[index], self._where_example(k))
        P = [p.data for p in program.parameters]
        if grads is None:
            grads = [0.0] * len(P)
        # Every example's draws are made in example order, as eagerly; the first examples'
        # come from their eager runs (tracing, then the checks), which also check the code.
        drawn = []
        if self._traced is not None:
            output, traced_extras, inputs, trace = self._traced
            self._traced = None
            drawn.append(self._compare(rows[0], P, scale, backward, output, traced_extras,
                                       inputs, trace))
        while len(drawn) < len(rows) and self._checks_left:
            self._checks_left -= 1
            drawn.append(self._check(examples[len(drawn)], rows[len(drawn)], P, scale,
                                     backward))
        draws = program.draws
        if draws:
            drawn += [[draw() for draw in draws] for _ in range(len(rows) - len(drawn))]
            rows = [row + d for row, d in zip(rows, drawn)]
        losses: list[float] = []
        extras: list = []
        input_grads: list = []
        if backward:
            # The eager backward pass of a batch loss reaches the examples last to first:
            # adding their gradients in that order gives the same sums to the last bit.
            grads = list(program.run(rows[::-1], P, scale, grads, losses, extras, input_grads))
            losses.reverse()
            extras.reverse()
            input_grads.reverse()
        else:
            program.run_forward(rows, P, losses, extras)
        return losses, extras, grads, input_grads

    def _check(self, example, row, P, scale, backward) -> list[float]:
        """Run one example eagerly too; raise GraphChanged if the replay differs."""
        inputs: list[Value] = []
        traced_args = _rebuild(example, inputs)
        with tracing() as trace, _noting():
            result = self.fn(*traced_args)
        output, traced_extras = self._split(result)
        program = self.program
        # A comparison that comes out differently changes the graph: say which.
        now = [(op, result, where) for _, op, _, result, where in trace.comparisons]
        for before, after in zip(program.comparisons + [None], now + [None]):
            if before != after:
                _changed((before or after)[2])     # type: ignore[index]
        order = topological_order(output)
        for node in order:
            if node in program.fixed:
                raise GraphChanged(
                    f"{self.where}: the function uses a Value computed (by {node.op!r}) "
                    "before it was called; eagerly that Value keeps the number it was "
                    "computed with, a replay would compute it again from its operands: "
                    "compute it inside the function, or pass its number as an argument")
        # The eager graph's leaves, matched by position with the traced graph's: a leaf the
        # function makes itself (Value(0.0) to start a sum) is a new object each time.
        leaves = [node for node in order if not node.children]
        if len(leaves) != len(self.program.leaves):
            raise GraphChanged(self._mismatch("has another graph"))
        counterpart = dict(zip(self.program.leaves, leaves))
        parameters = set(self.program.parameters)
        for p in self.program.parameters:
            q = counterpart.get(p, p)
            if q is not p and q in parameters:
                raise GraphChanged(self._mismatch("uses the parameters in another place"))
        return self._compare(row, P, scale, backward, output, traced_extras, inputs, trace,
                             counterpart)

    def _compare(self, row, P, scale, backward, output, traced_extras, inputs, trace,
                 counterpart=None) -> list[float]:
        """Replay one example with the draws its eager run made, compare, return the draws."""
        program = self.program
        drawn = [leaf.data for leaf, _ in trace.samples]
        if len(drawn) != len(program.draws):
            raise GraphChanged(self._mismatch(f"draws {len(drawn)} sampled numbers, "
                                              f"{len(program.draws)} when traced"))
        losses: list[float] = []
        extras: list = []
        input_grads: list = []
        if backward:
            got = program.run([row + drawn], P, scale, [0.0] * len(P), losses, extras,
                              input_grads)
            parameters = program.parameters
            if counterpart is not None:
                parameters = [counterpart.get(p, p) for p in parameters]
            wanted = parameters + [inputs[i] for i in program.grad_inputs]
            expected = _gradients(output, scale, wanted)
            got_all = list(got) + list(input_grads[0] if input_grads else ())
            for i, (a, b) in enumerate(zip(got_all, expected)):
                if not _same(a, b):
                    what = (f"parameter {i}" if i < len(got) else
                            f"argument number {program.grad_inputs[i - len(got)]}")
                    raise GraphChanged(self._mismatch(f"gives d/d {what} = {a!r}, the eager "
                                                      f"engine {b!r}"))
        else:
            program.run_forward([row + drawn], P, losses, extras)
        if not _same(losses[0], output.data):
            raise GraphChanged(self._mismatch(f"gives {losses[0]!r}, the eager engine "
                                              f"{output.data!r}"))
        if traced_extras is not None and not all(
                _same(a, b) for a, b in zip(extras[0], _extras_data(traced_extras))):
            raise GraphChanged(self._mismatch("gives other extras than the eager engine"))
        return drawn

    def _where_example(self, k: int) -> str:
        return f"{self.where}: "

    def _retrace_if_settings_changed(self) -> None:
        # What depends_on read when traced is part of the trace: another result, another trace.
        program = self._program
        if program is not None and any(read() != result
                                       for read, result in program.conditions):
            self.retrace()

    def _mismatch(self, what: str) -> str:
        return (f"{self.where}: the replay {what} for the same inputs, so the function depends "
                "on something tracing cannot see (a branch on .data, a number read from a "
                "Value); compute with the Values themselves, or use the eager engine for it")


class CompiledFunction(_Replay):
    """`fn` compiled whole: calling it returns the output's data and accumulates grads."""

    def __call__(self, *args) -> float:
        """Forward and backward pass: return the output's data, add d output/d p to each p.grad."""
        return self._call(args, backward=True)

    def forward(self, *args) -> float:
        """Forward pass only: the output's data."""
        return self._call(args, backward=False)

    def _call(self, args: tuple, backward: bool) -> float:
        self._retrace_if_settings_changed()
        flat: list[float] = []
        values: list[Value] = []
        structure = _flatten(args, flat, "argument", values, self.where)
        if self._program is None:
            self._trace(args, structure)
        elif structure != self.program.structure:
            raise GraphChanged(
                f"compiled function traced for arguments shaped "
                f"{_describe(self.program.structure)}, called with {_describe(structure)}; "
                "call .retrace() to trace again")
        losses, _, grads, input_grads = self._run([args], [flat], 1.0, backward)
        if backward:
            for p, g in zip(self.program.parameters, grads):
                p.grad += g
            if input_grads:
                for v, g in zip(values, input_grads[0]):
                    v.grad += g
        return losses[0]


class PerExampleFunction(_Replay):
    """The loss of one example, compiled: calling it on a batch returns the batch loss."""

    where = "compile_per_example"
    allows_extras = True

    def __init__(self, fn: Callable[..., Any], reduction: str, checks: int) -> None:
        super().__init__(fn, checks)
        self.reduction = reduction

    def __call__(self, *columns) -> Any:
        """Forward and backward pass over a batch (one sequence per argument of the function):
        return the batch loss (and the extras of each example), accumulate its gradient."""
        return self._call(columns, backward=True)

    def forward(self, *columns) -> Any:
        """Forward pass only: the batch loss (and the extras of each example)."""
        return self._call(columns, backward=False)

    def _where_example(self, k: int) -> str:
        return f"{self.where}: example {k}: "

    def _call(self, columns: tuple, backward: bool) -> Any:
        self._retrace_if_settings_changed()
        n = _batch_size(columns)
        examples = list(zip(*columns))
        rows: list[list[float]] = []
        values: list[list[Value]] = []
        shape = self.program.structure if self._program is not None else None
        for i, example in enumerate(examples):
            flat: list[float] = []
            found: list[Value] = []
            structure = _flatten(example, flat, f"example {i}: argument", found, self.where)
            if shape is None:
                shape = structure
            elif structure != shape:
                traced = "traced for" if self._program is not None else "example 0 is"
                raise GraphChanged(
                    f"compile_per_example: {traced} an example shaped {_describe(shape)}, "
                    f"example {i} is shaped {_describe(structure)}; every example must "
                    "have the same shape (call .retrace() to trace again)")
            rows.append(flat)
            values.append(found)
        if self._program is None:
            assert shape is not None, "a batch has at least one example (checked above)"
            self._trace(examples[0], shape)
        scale = 1.0 / n if self.reduction == "mean" else 1.0
        parameters = self.program.parameters
        losses, extras, grads, input_grads = self._run(
            examples, rows, scale, backward, [p.grad for p in parameters] if backward else None)
        if backward:
            for p, g in zip(parameters, grads):
                p.grad = g
            for found, gs in zip(values, input_grads):
                for v, g in zip(found, gs):
                    v.grad += g
        loss = math.fsum(losses)
        if self.reduction == "mean":
            loss /= n
        if not self.program.has_extras:
            return loss
        return loss, [_unflatten(e, self.program.extras) for e in extras]


# --- arguments ------------------------------------------------------------------

def _batch_size(columns: tuple) -> int:
    if not columns:
        raise TypeError("compile_per_example: give the batch, one sequence per argument of "
                        "the function (step(X, y))")
    lengths = []
    for i, column in enumerate(columns):
        if isinstance(column, (str, bytes, Value)) or not hasattr(column, "__len__"):
            raise TypeError(f"compile_per_example: argument {i} must be a sequence with one "
                            f"entry per example, got {type(column).__name__}")
        lengths.append(len(column))
    if len(set(lengths)) != 1:
        raise ValueError(f"compile_per_example: the arguments hold different numbers of "
                         f"examples: {', '.join(map(str, lengths))}")
    if not lengths[0]:
        raise ValueError("compile_per_example: the batch is empty")
    return lengths[0]


def _is_sequence(obj: Any) -> bool:
    # Lists, tuples, and arrays such as numpy's (but not a 0-dimensional one, a number).
    return isinstance(obj, (list, tuple)) or (
        hasattr(obj, "__len__") and hasattr(obj, "__getitem__")
        and not isinstance(obj, (str, bytes, dict, Value)) and getattr(obj, "ndim", 1) != 0)


_FLOAT = {float}
_GUARD_AT = 8      # operands needing a gradient, from which a zero gradient skips a node
_NUMBERS: dict[int, tuple] = {}      # the shape of a list of n numbers, made once per n


def _flatten(obj, flat: list, where: str, values: list, owner: str):
    """Append the numbers in nested sequences to `flat` (leaf Values also to `values`);
    return the nesting's shape: a tuple per sequence, "V" for a Value, None for a number."""
    cls = obj.__class__
    if cls is float:
        flat.append(obj)
        return None
    if (cls is list or cls is tuple) and obj and set(map(type, obj)) == _FLOAT:
        flat.extend(obj)       # the common case, a row of floats, in one step
        shape = _NUMBERS.get(len(obj))
        if shape is None:
            shape = _NUMBERS[len(obj)] = (None,) * len(obj)
        return shape
    if isinstance(obj, Value):
        if obj.children:
            raise TypeError(f"{owner}: {where} is a Value computed by {obj.op!r}; a replay "
                            "cannot carry its gradient back through the graph that made it: "
                            "pass a leaf Value, or its .data")
        flat.append(obj.data)
        values.append(obj)
        return "V"
    if _is_sequence(obj):
        return tuple(_flatten(item, flat, f"{where}[{i}]", values, owner)
                     for i, item in enumerate(obj))
    if isinstance(obj, (bool, str, bytes)) or not hasattr(obj, "__float__"):
        raise TypeError(f"{owner}: {where} must be a number or a list/tuple of numbers, "
                        f"got {type(obj).__name__}")
    flat.append(float(obj))
    return None


def _rebuild(obj, inputs: list[Value]):
    """The arguments with every number replaced by a new leaf Value (an input of the trace)."""
    if isinstance(obj, Value) or not _is_sequence(obj):
        leaf = Value(obj.data if isinstance(obj, Value) else float(obj))
        inputs.append(leaf)
        return leaf
    rebuilt = [_rebuild(item, inputs) for item in obj]
    return tuple(rebuilt) if isinstance(obj, tuple) else rebuilt


def _describe(structure) -> str:
    if structure is None:
        return "number"
    if structure == "V":
        return "Value"
    if all(s is None for s in structure):
        return f"[{len(structure)} numbers]"
    return "(" + ", ".join(_describe(s) for s in structure) + ")"


# --- extras: what the function returns beside the loss ------------------------------

def _check_extras(extras: Any, where: str) -> None:
    if isinstance(extras, Value):
        return
    if isinstance(extras, (list, tuple)):
        for item in extras:
            _check_extras(item, where)
        return
    raise TypeError(f"{where}: extras must be Values or lists of them, "
                    f"got {type(extras).__name__}")


def _extras_values(extras: Any) -> list[Value]:
    if isinstance(extras, Value):
        return [extras]
    return [v for item in extras for v in _extras_values(item)]


def _extras_shape(extras: Any):
    if isinstance(extras, Value):
        return None
    return [_extras_shape(item) for item in extras]


def _extras_data(extras: Any) -> tuple[float, ...]:
    return tuple(v.data for v in _extras_values(extras))


def _unflatten(numbers: tuple, shape) -> Any:
    it = iter(numbers)

    def build(s):
        return next(it) if s is None else [build(item) for item in s]
    return build(shape)


def _same(a: float, b: float) -> bool:
    # The replay runs the same operations in the same order as the engine, so the
    # numbers agree to the last bit; 1e-12 keeps a rounding difference (a sign of zero)
    # from passing for another graph, and nan equals nan.
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300) or (
        math.isnan(a) and math.isnan(b))


def _gradients(output: Value, gradient: float, wanted: list[Value]) -> list[float]:
    """d output/d v times `gradient`, for each v in `wanted`, by the chain rule on floats,
    in the same order of operations as the generated code (no `.grad` is touched)."""
    grads: dict[Value, float] = {output: gradient}
    for node in reversed(topological_order(output)):
        g = grads.get(node)
        if g is None or not node.children:
            continue
        for child, local in zip(node.children, node.local_grads):
            before = grads.get(child)
            grads[child] = local * g if before is None else before + local * g
    return [grads.get(v, 0.0) for v in wanted]



def _input_checks(checks: list, inputs: list[Value], where: str) -> list:
    """(position in a row, check) for each `checked` made while tracing."""
    position = {leaf: i for i, leaf in enumerate(inputs)}
    found = []
    for value, check in checks:
        if value not in position:
            raise ValueError(f"{where}: checked: while tracing, the Value checked must be an "
                             "argument of the compiled function (a number that changes from "
                             "call to call), got one computed or captured by the function")
        found.append((position[value], check))
    return found


def _run_check(check: Callable[[float], object], number: float, where: str) -> None:
    try:
        check(number)
    except (TypeError, ValueError) as error:
        kind = TypeError if isinstance(error, TypeError) else ValueError
        raise kind(f"{where}{error}") from None


def _changed(where: str) -> None:
    raise GraphChanged(f"a comparison made while tracing ({where}) now comes out differently, "
                       "so the graph would change shape; call .retrace() to trace again, or "
                       "use the eager engine for this function")


# --- code generation ------------------------------------------------------------

class _Program:
    """The straight-line source for one traced graph, compiled.

    `run(R, P, scale, G, L, O, IG)` replays every row of R (an example's inputs,
    then its sampled numbers) with the parameters' data P, appending each loss
    to L, extras to O and the gradients of Value arguments to IG; it returns
    the parameters' gradients G plus those of every row, the output's gradient
    being `scale`. `run_forward(R, P, L, O)` does the forward pass only. The
    body is straight-line code but for one test per wide node: where its
    gradient is 0 (a ReLU that is off), its backward lines would add only
    zeros, and are skipped.
    """

    def __init__(self, output: Value, extras: Any, inputs: list[Value], structure,
                 trace) -> None:
        self.structure = structure
        self.has_extras = extras is not None
        self.extras = None if extras is None else _extras_shape(extras)
        extra_values = [] if extras is None else _extras_values(extras)
        comparisons = trace.comparisons
        order = topological_order(output)
        self.leaves = [node for node in order if not node.children]
        seen = set(order)
        # A branch may look at Values off the path, and extras may be off it too.
        off_path = [v for node, _, other, _, _ in comparisons for v in (node, other)
                    if isinstance(v, Value)] + extra_values
        for v in off_path:
            if v not in seen:
                extra = [n for n in topological_order(v) if n not in seen]
                seen.update(extra)
                order[-1:-1] = extra       # before the output, after what they need
        input_index = {leaf: i for i, leaf in enumerate(inputs)}
        sample_index = {leaf: i for i, (leaf, _) in enumerate(trace.samples)}
        self.comparisons = [(op, result, where) for _, op, _, result, where in comparisons]
        self.conditions: list = []
        self.input_checks: list = []
        # Nodes that depend on no input and no draw: the only ones that could have been
        # computed before the function was called (the checks look for them).
        varies = set(input_index) | set(sample_index)
        for node in order:
            if node.children and any(c in varies for c in node.children):
                varies.add(node)
        self.fixed = {node for node in order if node.children and node not in varies}
        self.draws = [draw for _, draw in trace.samples]
        # Arguments that were leaf Values get their gradients, as eagerly.
        markers = _markers(structure)
        self.grad_inputs = [i for i, m in enumerate(markers) if m == "V"]
        self.parameters: list[Value] = []
        name: dict[Value, str] = {}
        for k, node in enumerate(order):
            if node.children:
                name[node] = f"v{k}"
            elif node in input_index:
                name[node] = f"a{input_index[node]}"
            elif node in sample_index:
                name[node] = f"s{sample_index[node]}"
            elif isinstance(node, Constant):
                name[node] = f"({node.data!r})"
            else:
                name[node] = f"p{len(self.parameters)}"
                self.parameters.append(node)

        # Only what leads to a parameter or a Value argument needs a gradient.
        needs_grad = {p: True for p in self.parameters}
        for i in self.grad_inputs:
            needs_grad[inputs[i]] = True
        for node in order:
            if node.children:
                needs_grad[node] = any(needs_grad.get(c, False) for c in node.children)

        pad = " " * 8
        # A row holds the inputs, then the sampled numbers.
        row = [f"a{i}" for i in range(len(inputs))] + [f"s{i}" for i in range(len(self.draws))]
        head = []
        if self.parameters:
            head.append(f"    {', '.join(f'p{i}' for i in range(len(self.parameters)))}, = P")
        loop = [f"    for {''.join(name + ', ' for name in row) or '_'} in R:"]
        loop += [f"{pad}{name[n]} = {OPS[n.op].forward_code([name[c] for c in n.children])}"
                 for n in order if n.children]
        for node, op, other, result, where in comparisons:
            other_code = name[other] if isinstance(other, Value) else repr(float(other))
            loop.append(f"{pad}if ({name[node]} {op} {other_code}) is not {result}: "
                        f"_changed({where!r})")
        out = name[output]
        loop.append(f"{pad}L.append({out})")
        if extras is not None:
            loop.append(f"{pad}O.append(({''.join(name[v] + ', ' for v in extra_values)}))")

        forward = ["def run_forward(R, P, L, O):", *head, *loop]
        grad_name = {n: "g" + name[n] for n in order if needs_grad.get(n)}
        backward = ["def run(R, P, scale, G, L, O, IG):", *head]
        if self.parameters:
            backward.append(f"    {''.join(f'gp{i}, ' for i in range(len(self.parameters)))}= G")
        backward += loop
        assigned = set(self.parameters)
        if output in grad_name:
            # An output that is a parameter adds to the gradient it has gathered so far.
            backward.append(f"{pad}{grad_name[output]} {'+=' if output in assigned else '='} "
                            "scale")
            assigned.add(output)
            for node in reversed(order):
                # Nodes off the output's path (extras, comparisons) pass no gradient on.
                if not node.children or node not in grad_name or node not in assigned:
                    continue
                g = grad_name[node]
                operands = [name[c] for c in node.children]
                locals_ = OPS[node.op].derivative_codes(operands, name[node])
                steps = [(child, local) for child, local in zip(node.children, locals_)
                         if child in grad_name]
                indent = pad
                guarded = len(steps) > _GUARD_AT
                if guarded:
                    # A wide node whose gradient is 0 (a ReLU that is off) passes on
                    # nothing but zeros: skip its lines, unless a factor is not finite
                    # (0 * inf is nan, which the eager engine would pass on). A dot's
                    # factors are its operands, finite if its own value is.
                    factors = sorted({local for _, local in steps
                                      if not is_number(local)})
                    if not factors:
                        finite = ""
                    elif node.op == "dot":
                        finite = f" or not _isfinite({name[node]})"
                    else:
                        finite = f" or not _isfinite(sum(({''.join(f + ', ' for f in factors)})))"
                    backward.append(f"{pad}if {g} != 0.0{finite}:")
                    indent = pad + "    "
                    first = []
                for child, local in steps:
                    if local == "1.0":
                        term = g
                    elif local.isidentifier():
                        term = f"{local} * {g}"
                    else:
                        term = f"({local}) * {g}"
                    if child in assigned:
                        backward.append(f"{indent}{grad_name[child]} += {term}")
                    else:
                        backward.append(f"{indent}{grad_name[child]} = 0.0 + {term}")
                        assigned.add(child)
                        if guarded:
                            first.append(grad_name[child])
                if guarded and first:
                    backward.append(f"{pad}else:")
                    backward += [f"{pad}    {name} = 0.0" for name in first]
        if self.grad_inputs:
            got = [grad_name[inputs[i]] if inputs[i] in assigned else "0.0"
                   for i in self.grad_inputs]
            backward.append(f"{pad}IG.append(({''.join(g + ', ' for g in got)}))")
        backward.append(f"    return ({''.join(f'gp{i}, ' for i in range(len(self.parameters)))})")
        self._sources = {"run_forward": "\n".join(forward) + "\n",
                         "run": "\n".join(backward) + "\n"}
        self.source = self._sources["run_forward"] + "\n" + self._sources["run"]
        self._functions: dict[str, Callable] = {}

    # Python's compiler takes most of the time of a first call: each function is
    # compiled when first used (training uses run, evaluation only run_forward).

    @property
    def run(self) -> Callable:
        return self._function("run")

    @property
    def run_forward(self) -> Callable:
        return self._function("run_forward")

    def _function(self, name: str) -> Callable:
        function = self._functions.get(name)
        if function is None:
            # The formulas' functions on floats, as the methods of Value use them.
            namespace = {**float_functions(), "_changed": _changed,
                         "_isfinite": math.isfinite}
            exec(builtins.compile(self._sources[name], "<autograd.compile>", "exec"), namespace)
            function = self._functions[name] = namespace[name]
        return function


def _markers(structure) -> list:
    """The structure's leaves in order: None for a number, "V" for a Value."""
    if structure is None or structure == "V":
        return [structure]
    return [m for s in structure for m in _markers(s)]

