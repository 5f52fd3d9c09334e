"""The Value engine's behaviour: construction, operators, the backward pass, grad, errors.

Expected numbers are worked out by hand (see the comments) or by SymPy, never taken from
the engine; properties such as determinism and accumulation compare the engine with itself.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import io
import math
import os
import random
import re
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

from autograd import Constant, Value, grad, gradcheck, is_grad_enabled, no_grad, topological_order

# --- construction -------------------------------------------------------------


class Celsius:
    """Not a number, but convertible to one."""

    def __float__(self) -> float:
        return 21.5


@pytest.mark.parametrize("data, expected", [
    (3, 3.0), (-2.5, -2.5), (Fraction(1, 4), 0.25), (Decimal("1.5"), 1.5), (Celsius(), 21.5),
])
def test_data_is_stored_as_float(data, expected: float) -> None:
    v = Value(data)
    assert type(v.data) is float
    assert v.data == expected


def test_numpy_scalars_are_accepted() -> None:
    import numpy as np

    for data, expected in [(np.float64(1.25), 1.25), (np.float32(0.5), 0.5), (np.int64(7), 7.0)]:
        v = Value(data)
        assert type(v.data) is float and v.data == expected


@pytest.mark.parametrize("data, type_name", [
    ("3", "str"), (None, "NoneType"), ([1.0], "list"), (True, "bool"), (False, "bool"),
    (b"3", "bytes"), (1 + 2j, "complex"), ({"x": 1}, "dict"),
])
def test_non_numbers_are_rejected_naming_the_type(data, type_name: str) -> None:
    with pytest.raises(TypeError, match=rf"\b{type_name}\b"):
        Value(data)


def test_a_new_value_is_a_leaf_with_zero_grad() -> None:
    v = Value(2.0, label="w")
    assert v.grad == 0.0 and type(v.grad) is float
    assert v.label == "w"
    assert Value(1.0).label == ""
    assert v._op == "" and v._prev == ()


def test_float_and_repr() -> None:
    v = Value(2.5)
    assert float(v) == 2.5
    assert repr(v) == "Value(data=2.5, grad=0.0)"
    (v * 2).backward()
    assert repr(v) == "Value(data=2.5, grad=2.0)"


# --- operators and micrograd's names ----------------------------------------------

def test_operators_with_numbers_on_either_side() -> None:
    a = Value(3.0)
    cases = {  # expression: its value, by hand
        "a + 2": (a + 2, 5.0), "2 + a": (2 + a, 5.0), "a - 2": (a - 2, 1.0),
        "2 - a": (2 - a, -1.0), "a * 2": (a * 2, 6.0), "2 * a": (2 * a, 6.0),
        "a / 2": (a / 2, 1.5), "3 / a": (3 / a, 1.0), "a ** 2": (a ** 2, 9.0),
        "2 ** a": (2 ** a, 8.0), "-a": (-a, -3.0), "abs(-a)": (abs(-a), 3.0),
        "a + a": (a + a, 6.0), "a ** a": (a ** a, 27.0),
    }
    for text, (out, expected) in cases.items():
        assert isinstance(out, Value), text
        assert out.data == expected, text


@pytest.mark.parametrize("make, op", [
    (lambda a, b: a + b, "+"), (lambda a, b: a - b, "-"), (lambda a, b: a * b, "*"),
    (lambda a, b: a / b, "/"), (lambda a, b: a ** b, "**"),
])
def test_binary_prev_holds_the_operands_in_order(make, op: str) -> None:
    a, b = Value(2.0), Value(3.0)
    out = make(a, b)
    assert out._op == op
    assert type(out._prev) is tuple and len(out._prev) == 2
    assert out._prev[0] is a and out._prev[1] is b
    # A number becomes a Constant leaf in its own place.
    left, right = make(5, b), make(a, 5)
    assert left._prev[1] is b and isinstance(left._prev[0], Constant)
    assert right._prev[0] is a and isinstance(right._prev[1], Constant)
    for constant in (left._prev[0], right._prev[1]):
        assert constant.data == 5.0 and constant._op == "" and constant._prev == ()


@pytest.mark.parametrize("make, op", [
    (lambda a: -a, "neg"), (abs, "abs"), (lambda a: a.exp(), "exp"), (lambda a: a.log(), "log"),
    (lambda a: a.sqrt(), "sqrt"), (lambda a: a.tanh(), "tanh"),
    (lambda a: a.sigmoid(), "sigmoid"), (lambda a: a.relu(), "relu"),
    (lambda a: a.leaky_relu(), "leaky_relu"), (lambda a: a.softplus(), "softplus"),
    (lambda a: a.sin(), "sin"), (lambda a: a.cos(), "cos"),
])
def test_unary_prev_starts_with_the_operand(make, op: str) -> None:
    a = Value(0.5)
    out = make(a)
    assert out._op == op
    assert type(out._prev) is tuple and out._prev[0] is a


def test_sum_and_dot_prev() -> None:
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    s = Value.sum([a, b, c])
    assert s._op == "sum" and s._prev == (a, b, c)
    d = Value.dot([a, b], [c, a], bias=b)
    assert d._op == "dot" and d._prev == (a, b, c, a, b)
    assert d.data == 1.0 * 3.0 + 2.0 * 1.0 + 2.0


def test_builtin_sum_of_values() -> None:
    xs = [Value(0.5), Value(1.5), Value(-4.0)]
    total = sum(xs)
    assert total.data == -2.0
    total.backward()
    assert [x.grad for x in xs] == [1.0, 1.0, 1.0]


def test_value_to_the_power_of_a_value() -> None:
    x, y = Value(2.0), Value(3.0)
    out = x ** y
    out.backward()
    assert out.data == 8.0
    assert x.grad == pytest.approx(12.0, rel=1e-15)  # y x^(y-1) = 3 * 4
    assert y.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)  # x^y log x


def test_number_to_the_power_of_a_value() -> None:
    x = Value(3.0)
    out = 2 ** x
    out.backward()
    assert out.data == 8.0
    assert x.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)  # 2^x log 2


def test_comparisons_compare_data() -> None:
    one, two = Value(1.0), Value(2.0)
    assert one < two and one <= two and two > one and two >= one
    assert not (two < one) and one <= Value(1.0) and one >= Value(1.0)
    assert one < 1.5 and 1.5 > one and 0 <= one and 3 >= two and two > 1.5
    assert not (one > 1.5) and not (1.5 < one)
    # Strict and non-strict differ at equal data.
    same = Value(1.0)
    assert not (one < same) and not (one > same) and one <= same and one >= same
    assert not (one < 1) and not (one > 1) and one <= 1 and one >= 1
    assert not (1 < one) and not (1 > one) and 1 <= one and 1 >= one
    assert max([one, two, Value(-1.0)]) is two
    assert sorted([two, one]) == [one, two]


def test_equality_is_identity_so_values_are_hashable() -> None:
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b
    assert not (a == 1.0)
    assert len({a, b, a}) == 2
    assert {a: "a", b: "b"}[b] == "b"
    doc = Value.__doc__.lower()
    assert "==" in doc and "identity" in doc
    assert "hashable" in doc or ("dict" in doc and "set" in doc)


def test_micrograd_trace_function_runs() -> None:
    # The graph walk from micrograd's drawing notebook, which uses _prev and _op.
    def trace(root):
        nodes, edges = set(), set()

        def build(v):
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)

        build(root)
        return nodes, edges

    x, w = Value(2.0), Value(-3.0)
    n = x * w + 1.0  # x, w, x*w, the constant 1.0, the sum
    nodes, edges = trace(n.relu())
    assert len(nodes) == 6 and len(edges) == 5
    assert sorted(v._op for v in nodes) == ["", "", "", "*", "+", "relu"]


MICROGRAD_README = '''
from micrograd.engine import Value

a = Value(-4.0)
b = Value(2.0)
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
print(f'{g.data:.4f}') # prints 24.7041, the outcome of this forward pass
g.backward()
print(f'{a.grad:.4f}') # prints 138.8338, i.e. the numerical value of dg/da
print(f'{b.grad:.4f}') # prints 645.5773, i.e. the numerical value of dg/db
'''


def test_micrograd_readme_example_runs_unchanged() -> None:
    source = MICROGRAD_README.replace("from micrograd.engine import Value",
                                      "from autograd import Value")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(source, {})
    assert printed.getvalue().split() == ["24.7041", "138.8338", "645.5773"]


# --- micrograd's sanity examples, against SymPy and micrograd ------------------------

def exact_relu(e: sympy.Expr) -> sympy.Expr:
    return sympy.Max(0, e)


def sanity_check(V, relu):
    """micrograd's test_sanity_check expression; V makes leaves, relu(v) is v.relu()."""
    x = V(-4.0)
    z = 2 * x + 2 + x
    q = relu(z) + z * x
    h = relu(z * z)
    y = h + q + q * x
    return x, y


def more_ops(V, relu):
    """micrograd's test_more_ops expression."""
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + relu(b + a)
    d += 3 * d + relu(b - a)
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return a, b, g


def exact_leaf(data: float) -> sympy.Symbol:
    """A SymPy symbol standing for the leaf Value(data)."""
    return sympy.Symbol(f"leaf({data})", real=True)


def test_micrograd_sanity_check() -> None:
    x, y = sanity_check(Value, Value.relu)
    y.backward()
    sx, sy = sanity_check(exact_leaf, exact_relu)
    point = {sx: -4}
    # The exact answers are integers, so the engine must get them exactly, as PyTorch does.
    assert y.data == float(sy.subs(point)) == -20.0
    assert x.grad == float(sy.diff(sx).subs(point)) == 46.0


def test_micrograd_more_ops() -> None:
    a, b, g = more_ops(Value, Value.relu)
    g.backward()
    sa, sb, sg = more_ops(exact_leaf, exact_relu)
    point = {sa: -4, sb: 2}
    for got, expected in [(g.data, sg), (a.grad, sg.diff(sa)), (b.grad, sg.diff(sb))]:
        assert got == pytest.approx(float(expected.subs(point)), rel=1e-12)
    # And the same as micrograd itself, within the tolerance of micrograd's own test.
    from micrograd.engine import Value as MicrogradValue

    ma, mb, mg = more_ops(MicrogradValue, lambda v: v.relu())
    mg.backward()
    assert abs(g.data - mg.data) < 1e-6
    assert abs(a.grad - ma.grad) < 1e-6 and abs(b.grad - mb.grad) < 1e-6


# --- the backward pass --------------------------------------------------------------

def test_fan_out_sums_contributions() -> None:
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0  # d x^2/dx = 2x
    y = Value(3.0)
    (y * y * y + y).backward()
    assert y.grad == 28.0  # 3y^2 + 1


def test_a_chain_of_100_000_operations() -> None:
    # A recursive graph walk would need 100 000 frames; the limit must be far lower.
    assert sys.getrecursionlimit() < 100_000
    n, c = 100_000, 1.0 + 1e-5
    x = Value(2.0)
    y = x
    for _ in range(n):
        y = y * c
    y.backward()
    assert x.grad == pytest.approx(c ** n, rel=1e-9)  # d (x c^n)/dx = c^n
    assert grad(y, [x]) == pytest.approx([c ** n], rel=1e-9)
    assert len(topological_order(y)) == 2 * n + 1  # x, and each product with its constant


def make_graph() -> tuple[list[Value], Value]:
    """A graph where x feeds terms of wildly different sizes, through sums and products.

    Adding x's gradient contributions in another order gives other bits (1e16 + 1 - 1e16
    is 0, 1e16 - 1e16 + 1 is 1), so any change in the order of the backward pass shows.
    The terms are reached through one n-ary sum and through a chain of binary sums.
    """
    x, y = Value(0.1), Value(3.0)
    scales = (1e16, 1.0, -1e16, 3.0, 2e16, 0.5, -2e16, -7.0)
    first = [x * s for s in scales]
    second = [x * s for s in scales] + [x * y, (x / y).exp(), x.tanh() * y]
    dot = Value.dot(second[:4], [y, y, x, y], x)
    out = Value.sum([Value.sum(first), sum(reversed(second)), dot])
    return [x, y], out


def fingerprint(inputs: list[Value], out: Value) -> list[str]:
    """The order of the backward pass (each node's operation and data) and the gradients' bits."""
    order = [f"{v._op}:{v.data.hex()}" for v in topological_order(out)]
    out.backward()
    return order + [v.grad.hex() for v in inputs] + [g.hex() for g in grad(out, inputs)]


def test_the_same_graph_gives_bit_identical_gradients() -> None:
    # Each copy is built into a differently fragmented heap, so its nodes get addresses in
    # another order: an order of the backward pass that followed addresses or hashes
    # would then differ between copies.
    shuffle = random.Random(0).shuffle
    results, kept = set(), []
    for _ in range(20):
        filler = [Value(0.0) for _ in range(1000)]
        shuffle(filler)
        del filler[:500]  # frees 500 nodes at random places
        graph = make_graph()
        kept += [filler, graph]
        results.add(tuple(fingerprint(*graph)))
    assert len(results) == 1


def test_gradients_are_bit_identical_across_processes() -> None:
    # Hash seeds and object addresses differ between processes; the gradients must not.
    script = "\n".join(["from autograd import Value, grad, topological_order",
                        inspect.getsource(make_graph), inspect.getsource(fingerprint),
                        "print(*fingerprint(*make_graph()))"])
    outputs = set()
    for seed in ("0", "1", "12345"):
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True,
                             cwd=Path(__file__).parents[1])
        outputs.add(run.stdout)
    assert len(outputs) == 1
    assert outputs.pop().split() == fingerprint(*make_graph())


def test_topological_order_puts_every_node_after_its_operands() -> None:
    _, out = make_graph()
    order = topological_order(out)
    position = {v: i for i, v in enumerate(order)}
    assert len(position) == len(order)  # each node once
    assert order[-1] is out
    reachable, stack = set(), [out]
    while stack:
        v = stack.pop()
        if v not in reachable:
            reachable.add(v)
            stack.extend(v._prev)
    assert set(order) == reachable
    for v in order:
        assert all(position[child] < position[v] for child in v._prev)


def test_backward_twice_accumulates_exactly_twice_into_leaves() -> None:
    _, out = make_graph()
    nodes = topological_order(out)
    out.backward()
    once = [v.grad for v in nodes]
    out.backward()
    for v, g in zip(nodes, once):
        if v._prev:
            assert v.grad == g  # interior nodes: the latest call only
        else:
            assert v.grad == 2 * g  # leaves, constants included: exactly twice
    assert any(v._prev and v.grad != 0.0 for v in nodes[:-1])


def test_backward_seed_and_latest_call_for_interior_nodes() -> None:
    x = Value(1.5)
    square = x * x
    y = square + x  # dy/dx = 2x + 1 = 4; dy/dsquare = 1
    y.backward(gradient=2.0)
    assert y.grad == 2.0 and square.grad == 2.0 and x.grad == 8.0
    y.backward(gradient=3.0)
    assert y.grad == 3.0 and square.grad == 3.0  # the latest call
    assert x.grad == 8.0 + 12.0  # accumulated


def test_no_reference_cycles_the_graph_is_freed_with_gc_disabled() -> None:
    def live_values() -> int:
        # type(), not isinstance(): the latter would ask other libraries' objects for
        # their __class__, which some answer with a warning.
        return sum(1 for o in gc.get_objects() if type(o) in (Value, Constant))

    gc.collect()
    gc.disable()
    try:
        before = live_values()
        inputs, out = make_graph()
        out.backward()
        grad(out, inputs)
        first = grad(out, inputs, create_graph=True)
        grad(first[0], inputs, create_graph=True)
        with no_grad():
            out * out
        built = live_values()
        del inputs, out, first
        after = live_values()
    finally:
        gc.enable()
    assert built > before + 20  # the graph was there and counted
    assert after == before


def test_no_grad_records_no_graph() -> None:
    x = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        outputs = [x * 3, x.exp(), Value.sum([x, x]), Value.dot([x], [x]), 2 ** x]
        with no_grad():
            pass
        assert not is_grad_enabled()  # a nested block leaves the outer one in force
    assert is_grad_enabled()
    assert [o.data for o in outputs] == [6.0, math.exp(2.0), 4.0, 4.0, 4.0]
    for o in outputs:
        assert o._prev == () and o._op == ""
    assert (x * 3)._prev[0] is x  # recording again afterwards


def test_no_grad_is_restored_after_an_error() -> None:
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError("inside")
    assert is_grad_enabled()
    assert (Value(1.0) + 1)._op == "+"


def test_detach_makes_a_leaf_with_the_same_data() -> None:
    x = Value(3.0)
    y = x * 2
    d = y.detach()
    assert d is not y and d.data == 6.0
    assert d._prev == () and d._op == "" and d.grad == 0.0
    (x * d).backward()
    assert x.grad == 6.0  # through x only, not through d


# --- grad() -----------------------------------------------------------------------

def test_grad_returns_gradients_without_touching_grad() -> None:
    x, y, unused = Value(2.0), Value(-1.0), Value(5.0)
    x.grad = 0.25  # left over from earlier work; grad() must keep it
    middle = x * y
    out = middle * x + y
    gradients = grad(out, [x, y, unused, middle])
    assert gradients == [-4.0, 5.0, 0.0, 2.0]  # 2xy, x^2 + 1, 0, x
    assert all(type(g) is float for g in gradients)
    assert x.grad == 0.25 and y.grad == 0.0 and middle.grad == 0.0 and out.grad == 0.0


def test_higher_derivatives_with_create_graph() -> None:
    x = Value(2.0)
    y = x ** 3
    (d1,) = grad(y, [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x], create_graph=True)
    (d4,) = grad(d3, [x])
    assert isinstance(d1, Value) and isinstance(d2, Value)
    assert (d1.data, d2.data, d3.data, d4) == (12.0, 12.0, 6.0, 0.0)  # 3x^2, 6x, 6, 0
    assert x.grad == 0.0


def test_grad_rejects_non_values() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="output.*float"):
        grad(1.0, [x])
    with pytest.raises(TypeError, match=r"inputs\[1\].*float"):
        grad(x * 2, [x, 2.0])


# --- gradcheck ----------------------------------------------------------------------

def test_gradcheck_accepts_a_correct_backward() -> None:
    def f(x, y):
        return (x * y).tanh() + x.exp() / y + (x ** y).log()

    assert gradcheck(f, [Value(0.7), Value(1.3)]) is True
    assert gradcheck(f, [Value(0.7), Value(1.3)], eps=1e-6, rtol=1e-5, atol=1e-8) is True


def test_gradcheck_failure_lists_every_input() -> None:
    def f(x, y):
        # Value(x.data) is a fresh leaf, so backward sees d/dx = x but the function is x^2.
        return x * Value(x.data) + y * y

    x, y = Value(3.0, label="x"), Value(0.5, label="y")
    with pytest.raises(ValueError) as failure:
        gradcheck(f, [x, y])
    message = str(failure.value)
    # Each input's line shows its value, its analytic gradient and its numeric one.
    for data, analytic, numeric in [(3.0, 3.0, 6.0), (0.5, 1.0, 1.0)]:
        lines = [line for line in message.splitlines() if repr(data) in line]
        assert lines, f"no line for the input {data}"
        numbers = [float(n) for n in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", lines[0])]
        assert analytic in numbers
        assert any(math.isclose(n, numeric, rel_tol=1e-5) for n in numbers)


# --- errors -------------------------------------------------------------------------

@pytest.mark.parametrize("compute, op, value", [
    (lambda: Value(0.0).log(), "log", "0.0"),
    (lambda: Value(-2.0).log(), "log", "-2.0"),
    (lambda: Value(-4.0).sqrt(), "sqrt", "-4.0"),
    (lambda: Value(0.0) ** -1, "**", "0.0"),
    (lambda: 0 ** Value(-1.0), "**", "0.0"),
    (lambda: Value(1.0) / 0, "/", "0.0"),
    (lambda: 1 / Value(0.0), "/", "0.0"),
    (lambda: Value(2.5) / Value(0.0), "/", "0.0"),
    (lambda: Value(1000.0).exp(), "exp", "1000.0"),
], ids=["log 0", "log -2", "sqrt -4", "0 ** -1", "0 ** Value(-1)", "1 / 0", "1 / Value(0)",
        "Value / Value(0)", "exp 1000"])
def test_out_of_domain_names_the_operation_and_the_value(compute, op: str, value: str) -> None:
    with pytest.raises(ValueError, match=rf"{re.escape(op)}.*{re.escape(value)}"):
        compute()


def test_bad_operands_raise_type_error() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="str"):
        x + "1"
    with pytest.raises(TypeError, match="str"):
        _ = x < "1"
    with pytest.raises(TypeError, match="NoneType"):
        Value.sum([x, None])
    with pytest.raises(TypeError, match="str"):
        x.backward(gradient="1")


def test_leaky_relu_rejects_a_slope_that_is_not_a_number() -> None:
    with pytest.raises(TypeError, match="str"):
        Value(-1.0).leaky_relu(slope="0.1")


def test_dot_length_mismatch() -> None:
    with pytest.raises(ValueError, match="2 weights.*1 input"):
        Value.dot([Value(1.0), Value(2.0)], [Value(3.0)])


def test_nan_passes_through_relu_and_leaky_relu() -> None:
    # A nan that came out as 0 would hide a diverged computation.
    assert math.isnan(Value(math.nan).relu().data)
    assert math.isnan(Value(math.nan).leaky_relu(0.1).data)
    assert Value(-0.0).relu().data == 0.0


def test_pow_higher_derivatives_at_zero_base() -> None:
    # x**0 = 1 everywhere: every derivative is 0, at x = 0 too.
    x = Value(0.0)
    (first,) = grad(x ** 0, [x], create_graph=True)
    assert first.data == 0.0
    # d/dy 0**y = 0 for y > 0 (PyTorch's convention), also as a Value.
    y = Value(2.0)
    (dy,) = grad(Value(0.0) ** y, [y], create_graph=True)
    assert dy.data == 0.0
    # x**3 at 0: second derivative 6x = 0, third 6.
    x = Value(0.0)
    (d1,) = grad(x ** 3, [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    assert (d1.data, d2.data, d3) == (0.0, 0.0, 6.0)


def test_grad_accepts_inputs_as_any_iterable() -> None:
    a, b = Value(2.0), Value(3.0)
    assert grad(a * b, (v for v in (a, b))) == [3.0, 2.0]


def test_numpy_scalars_on_the_left_hand_the_operation_to_value() -> None:
    import numpy as np

    x = Value(2.0)
    for scalar in (np.float32(3.0), np.float64(3.0), np.int64(3)):
        y = scalar * x
        assert isinstance(y, Value) and y.data == 6.0
        y.backward()
        assert x.grad == 3.0
        x.grad = 0.0


def test_tanh_and_sigmoid_gradients_are_exact_in_the_tails() -> None:
    # 1 - tanh(x)^2 and s (1 - s) cancel to 0 long before the true derivatives do.
    for x in (10.0, 20.0, -30.0, 300.0):
        t = Value(x)
        t.tanh().backward()
        assert math.isclose(t.grad, 1.0 / math.cosh(x) ** 2, rel_tol=1e-13)
        s = Value(x)
        s.sigmoid().backward()
        expected = math.exp(-abs(x)) / (1.0 + math.exp(-abs(x))) ** 2
        assert math.isclose(s.grad, expected, rel_tol=1e-13)


def test_numbers_too_large_for_a_float_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="too large for a float"):
        Value(10 ** 400)


def test_gradcheck_rejects_a_zero_step() -> None:
    with pytest.raises(ValueError, match="eps must be > 0"):
        gradcheck(lambda a: a * a, [Value(1.0)], eps=0)


def test_a_huge_integer_operand_is_a_clear_error_not_an_overflow_from_inside() -> None:
    import pytest as _pytest

    for make in (lambda: Value(2.0) * 10**400, lambda: 10**400 + Value(1.0),
                 lambda: Value(2.0) ** 10**400, lambda: Value(1.0).leaky_relu(10**400)):
        with _pytest.raises(ValueError, match="too large for a float"):
            make()
