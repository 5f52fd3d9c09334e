"""Compiled replay: trace a function's graph once, then rerun it as straight-line Python.

`step = autograd.compile(loss_fn)` traces `loss_fn` on its first call, building
the usual graph of Values. From that graph and the engine's table of operations
it writes one Python function whose lines are the forward pass, node by node,
and then the backward pass, operand by operand: no Value is created when it
runs, so it runs close to the speed of hand-written arithmetic on floats.

The limits, which follow from replaying one traced graph:
- Everything that changes between calls must be an argument: numbers (or
  lists and tuples of numbers, nested) that become the traced inputs. Numbers
  used inside `loss_fn` are fixed at the values they had when traced.
- Values the function reads but did not receive as arguments (a model's
  parameters) are read afresh on every call, and their `.grad` accumulates as
  with `backward()`. Replacing such a Value by another object is not seen.
- Branches that compare Values (`if v > 0`, `max(values)`) are checked on every
  call: if one comes out differently, the graph would change shape, and the
  call raises `GraphChanged` instead of giving wrong numbers. Branches on
  `.data` cannot be seen: use comparisons on the Values. `float(v)`,
  `v.detach()` and `no_grad()`, whose results would stay at their traced
  values, raise a ValueError while tracing.
- Arguments must keep their structure (the same nesting and lengths), or the
  call raises `GraphChanged`.
- The function must return one Value.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

from autograd.engine import Constant, Value, topological_order, tracing
from autograd.ops import OPS, float_functions


class GraphChanged(ValueError):
    """A compiled function was called where its traced graph no longer applies."""


def compile(fn: Callable[..., Value]) -> CompiledFunction:  # noqa: A001 (shadows the builtin)
    """Trace `fn` on its first call; replay its forward and backward pass as plain Python."""
    if not callable(fn):
        raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
    return CompiledFunction(fn)


class CompiledFunction:
    """`fn` compiled: calling it returns the output's data and accumulates parameter grads."""

    def __init__(self, fn: Callable[..., Value]) -> None:
        self.fn = fn
        self.source: str | None = None      # the generated code, for reading
        self._structure = None
        self._parameters: list[Value] = []
        self._forward = None
        self._forward_backward = None

    def __call__(self, *args) -> float:
        """Forward and backward pass: return the output's data, add d output/d p to each p.grad."""
        flat = self._inputs(args)
        return self._forward_backward(flat, self._parameters)

    def forward(self, *args) -> float:
        """Forward pass only: the output's data."""
        flat = self._inputs(args)
        return self._forward(flat, self._parameters)

    def retrace(self) -> None:
        """Forget the traced graph: the next call traces `fn` again."""
        self._structure = None

    @property
    def parameters(self) -> list[Value]:
        """The Values `fn` used without receiving them as arguments, in graph order."""
        return list(self._parameters)

    def _inputs(self, args: tuple) -> list[float]:
        flat: list[float] = []
        structure = _flatten(args, flat, "argument")
        if self._structure is None:
            self._trace(args, structure)
        elif structure != self._structure:
            raise GraphChanged(
                f"compiled function traced for arguments shaped {_describe(self._structure)}, "
                f"called with {_describe(structure)}; call .retrace() to trace again")
        return flat

    def _trace(self, args: tuple, structure) -> None:
        inputs: list[Value] = []
        traced_args = _rebuild(args, inputs)
        with tracing() as comparisons:
            output = self.fn(*traced_args)
        if not isinstance(output, Value):
            raise TypeError(f"compile: the function must return a Value, "
                            f"got {type(output).__name__}")
        program = _Program(output, inputs, comparisons)
        self.source = program.source
        # The formulas' functions on floats, as the methods of Value use them.
        namespace = {**float_functions(), "_changed": _changed}
        exec(builtins.compile(program.source, "<autograd.compile>", "exec"), namespace)
        self._forward = namespace["forward"]
        self._forward_backward = namespace["forward_backward"]
        self._parameters = program.parameters
        self._structure = structure


def _flatten(obj, flat: list, where: str):
    """Append the numbers in nested lists/tuples to `flat`; return the nesting's shape."""
    if isinstance(obj, (list, tuple)):
        return tuple(_flatten(item, flat, f"{where}[{i}]") for i, item in enumerate(obj))
    if isinstance(obj, Value):
        flat.append(obj.data)
        return None
    if isinstance(obj, bool) or not isinstance(obj, (int, float)):
        if not hasattr(obj, "__float__") or isinstance(obj, (str, bytes, bool)):
            raise TypeError(f"compile: {where} must be a number or a list/tuple of numbers, "
                            f"got {type(obj).__name__}")
    flat.append(float(obj))
    return None


def _rebuild(obj, inputs: list[Value]):
    """The arguments with every number replaced by a new leaf Value (an input of the trace)."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(_rebuild(item, inputs) for item in obj)
    leaf = Value(obj.data if isinstance(obj, Value) else float(obj))
    inputs.append(leaf)
    return leaf


def _describe(structure) -> str:
    if structure is None:
        return "number"
    if all(s is None for s in structure):
        return f"[{len(structure)} numbers]"
    return "(" + ", ".join(_describe(s) for s in structure) + ")"


def _changed(where: str) -> None:
    raise GraphChanged(f"a comparison made while tracing ({where}) now comes out differently, "
                       "so the graph would change shape; call .retrace() to trace again, or "
                       "use the eager engine for this function")


class _Program:
    """Writes the straight-line source for one traced graph."""

    def __init__(self, output: Value, inputs: list[Value], comparisons: list) -> None:
        order = topological_order(output)
        seen = set(order)
        for node, _, other, _, _ in comparisons:   # a branch may look at Values off the path
            for v in (node, other):
                if isinstance(v, Value) and v not in seen:
                    extra = [n for n in topological_order(v) if n not in seen]
                    seen.update(extra)
                    order[-1:-1] = extra       # before the output, after what they need
        input_index = {leaf: i for i, leaf in enumerate(inputs)}
        self.parameters: list[Value] = []
        name: dict[Value, str] = {}
        for k, node in enumerate(order):
            if node.children:
                name[node] = f"v{k}"
            elif node in input_index:
                name[node] = f"a{input_index[node]}"
            elif isinstance(node, Constant):
                name[node] = f"({node.data!r})"
            else:
                name[node] = f"p{len(self.parameters)}"
                self.parameters.append(node)

        # Only what leads to a parameter needs a gradient.
        needs_grad = {p: True for p in self.parameters}
        for node in order:
            if node.children:
                needs_grad[node] = any(needs_grad.get(c, False) for c in node.children)

        head = ["def forward(A, P):"]
        if inputs:
            head.append(f"    {', '.join(f'a{i}' for i in range(len(inputs)))}, = A")
        for i in range(len(self.parameters)):
            head.append(f"    p{i} = P[{i}].data")
        body = [f"    {name[n]} = {OPS[n.op].forward_code([name[c] for c in n.children])}"
                for n in order if n.children]
        for node, op, other, result, where in comparisons:
            other_code = name[other] if isinstance(other, Value) else repr(float(other))
            body.append(f"    if ({name[node]} {op} {other_code}) is not {result}: "
                        f"_changed({where!r})")
        out = name[output]
        forward = head + body + [f"    return {out}"]

        backward = [line.replace("def forward", "def forward_backward", 1) for line in head]
        backward += body
        backward += self._backward(order, name, needs_grad, output)
        backward.append(f"    return {out}")
        self.source = "\n".join(forward + [""] + backward) + "\n"

    def _backward(self, order, name, needs_grad, output) -> list[str]:
        grad_name = {n: "g" + name[n] for n in order if needs_grad.get(n)}
        if output not in grad_name:
            return []
        lines = [f"    {grad_name[output]} = 1.0"]
        assigned = {output}
        for node in reversed(order):
            if not node.children or node not in grad_name:
                continue
            g = grad_name[node]
            operands = [name[c] for c in node.children]
            locals_ = OPS[node.op].derivative_codes(operands, name[node])
            for child, local in zip(node.children, locals_):
                if child not in grad_name:
                    continue
                term = g if local == "1.0" else f"({local}) * {g}"
                if child in assigned:
                    lines.append(f"    {grad_name[child]} += {term}")
                else:
                    lines.append(f"    {grad_name[child]} = 0.0 + {term}")
                    assigned.add(child)
        for i, p in enumerate(self.parameters):
            if p in assigned:
                lines.append(f"    P[{i}].grad += {grad_name[p]}")
        return lines
