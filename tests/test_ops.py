"""The contract every row of the operation table keeps, checked for every row.

Each operation must work the same everywhere the table is read: eager forward
and backward (against central differences), second derivatives through
`grad(..., create_graph=True)`, compiled replay, the chain-rule text of
`backward_steps`, drawings, and the expression language. The rows come from
`autograd.OPS` itself, so a new row is checked without touching this file;
a fresh process then adds an operation with `define_op` and runs it through all
of the same.
"""

from __future__ import annotations

import inspect
import math
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd
from autograd import OPS, Constant, Value, backward_steps, define_op, draw_dot, grad
from autograd.expression import Expression, functions

# Where each operation is smooth enough for central differences: operands as
# (low, high) ranges, for the rows whose domain is not the whole line.
DOMAINS = {"log": [(0.05, 20.0)], "sqrt": [(0.05, 20.0)], "**": [(0.1, 5.0), (-3.0, 3.0)],
           "/": [(-5.0, 5.0), (0.2, 5.0)], "leaky_relu": [(-5.0, 5.0), (0.0, 1.0)]}
DEFAULT_RANGE = (-5.0, 5.0)


def operand_counts(op) -> int:
    return op.arity if op.arity > 0 else 5     # many operands: dot with bias, or sum


def call(op, operands: list):
    """The operation applied to `operands` as a user writes it (a method, or sum/dot)."""
    if op.arity > 0:
        return getattr(operands[0], op.method)(*operands[1:])
    if op.name == "dot":
        return Value.dot(operands[:2], operands[2:4], operands[4])
    return getattr(Value, op.method)(operands)


def points(op):
    ranges = DOMAINS.get(op.name, [DEFAULT_RANGE] * operand_counts(op))
    return st.tuples(*(st.floats(lo, hi) for lo, hi in ranges))


def central_difference(f, args: tuple, i: int, h: float, kink: tuple[float, float],
                       max_jump: float = math.inf) -> float | None:
    """d f/d args[i] by central differences, or None near a kink: where the one-sided
    slopes differ by more than the tolerances `kink` (relative, absolute), or where f
    itself jumps by `max_jump` or more across the step."""
    h = h * max(1.0, abs(args[i]))
    above, below = list(args), list(args)
    above[i] += h
    below[i] -= h
    f_above, f_here, f_below = f(above), f(args), f(below)
    left, right = (f_here - f_below) / h, (f_above - f_here) / h
    if not math.isclose(left, right, rel_tol=kink[0], abs_tol=kink[1]):
        return None
    if abs(f_above - f_below) >= max_jump:
        return None
    return (f_above - f_below) / (2 * h)


def numeric_derivative(op, args: tuple, i: int, h: float = 1e-6) -> float | None:
    """d/d args[i] of the operation by central differences, or None near a kink."""
    return central_difference(lambda a: call(op, [Value(v) for v in a]).data, args, i, h,
                              kink=(1e-3, 1e-4))


ALL = sorted(OPS)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_eager_gradient_matches_central_differences(name, data):
    op = OPS[name]
    args = data.draw(points(op))
    values = [Value(a) for a in args]
    out = call(op, values)
    assert out.op == name and out.children == tuple(values)
    out.backward()
    for i, v in enumerate(values):
        numeric = numeric_derivative(op, args, i)
        assume(numeric is not None)
        assert math.isclose(v.grad, numeric, rel_tol=1e-5, abs_tol=1e-6), (name, i, args)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_second_derivative_through_create_graph_matches_differences_of_the_first(name, data):
    op = OPS[name]
    args = data.draw(points(op))

    def first(a, i):
        vs = [Value(v) for v in a]
        (g,) = grad(call(op, vs), [vs[i]], create_graph=True)
        return g.data

    values = [Value(a) for a in args]
    out = call(op, values)
    firsts = grad(out, values, create_graph=True)
    for i, g in enumerate(firsts):
        assert isinstance(g, Value)
        for j, h2 in enumerate(grad(g, values)):
            try:   # no kink, and no jump in the first derivative
                numeric = central_difference(lambda a, i=i: first(a, i), args, j, 1e-5,
                                             kink=(1e-2, 1e-3), max_jump=1e-2)
            except ValueError:
                numeric = None
            assume(numeric is not None)
            assert math.isclose(h2, numeric, rel_tol=1e-4, abs_tol=1e-5), (name, i, j, args)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_compiled_replay_equals_eager(name, data):
    op = OPS[name]
    args, new_args = data.draw(points(op)), data.draw(points(op))
    parameter = Value(0.75)

    def fn(*a):
        # One operand is a parameter, so the replay also writes a gradient.
        return call(op, [a[0] * parameter / 0.75, *a[1:]])

    step = autograd.compile(fn)
    for a in (args, new_args):
        parameter.grad = 0.0
        expected = fn(*[Value(v) for v in a])
        expected.backward()
        expected_grad, parameter.grad = parameter.grad, 0.0
        got = step(*a)
        assert got == expected.data or (math.isnan(got) and math.isnan(expected.data))
        assert math.isclose(parameter.grad, expected_grad, rel_tol=1e-12, abs_tol=1e-300) or (
            math.isnan(parameter.grad) and math.isnan(expected_grad))


@pytest.mark.parametrize("name", ALL)
def test_backward_step_writes_the_rows_derivatives(name):
    op = OPS[name]
    args = [lo + 0.37 * (hi - lo) for lo, hi in DOMAINS.get(name, [DEFAULT_RANGE] *
                                                           operand_counts(op))]
    values = [Value(a, label=f"a{i}") for i, a in enumerate(args)]
    out = call(op, values)
    out.label = "out"
    (step,) = list(backward_steps(out))
    lines = step.explanation.splitlines()
    assert len(lines) == len(values)
    for line, v, local in zip(lines, values, out.local_grads):
        assert line.startswith(f"{v.label}.grad += ")
        assert line.endswith(f"= {autograd.steps.number(local)}")


@pytest.mark.parametrize("name", ALL)
def test_drawing_shows_the_operation(name):
    op = OPS[name]
    values = [Value(0.5 + i / 7, label=f"a{i}") for i in range(operand_counts(op))]
    out = call(op, values)
    source = draw_dot(out).source
    assert op.label(len(values)).replace("·", "") in source.replace("·", "")
    if op.ordered:    # which operand is x and which is y is written on the edges
        assert 'headlabel=x' in source and 'headlabel=y' in source


@pytest.mark.parametrize("name", ALL)
def test_expression_language_offers_what_the_row_says(name):
    op = OPS[name]
    if not op.in_expressions:
        assert name not in functions()
        return
    if op.symbol is not None:
        text = f"{op.symbol}a" if op.arity == 1 else f"a {op.symbol} b"
    elif op.default is not None:     # a setting such as the slope is written as a number
        text = f"{op.expression_name}(a, 1.3)"
    else:
        text = f"{op.expression_name}({', '.join('ab'[:op.arity])})"
    variables = {"a": 0.8, "b": 1.3}
    out = Expression(text).evaluate({k: variables[k] for k in Expression(text).variables})
    expected = call(op, [Value(variables[k]) for k in "ab"[:op.arity]])
    assert out.op == name and out.data == expected.data
    assert len(out.children) == op.arity


@pytest.mark.parametrize("name", [n for n in ALL if OPS[n].arity > 0])
def test_generated_methods_have_source_and_docs(name):
    op = OPS[name]
    for method in filter(None, (op.method, op.reflected)):
        function = getattr(Value, method)
        source = inspect.getsource(function)
        assert source.startswith(f"def {method}(self")
        assert op.forward.replace("x", "") in source.replace("x", "")
        assert op.forward in function.__doc__


def test_a_traceback_shows_the_generated_line():
    try:
        Value(-1.0).log()
    except ValueError as error:
        import traceback
        text = "".join(traceback.format_exception(error))
    assert "log(-1.0): the input is outside its domain" in text
    assert "raise _domain_error('log', (x,), error) from None" in text


def test_every_formula_name_has_both_a_float_and_a_value_version():
    from autograd.ops import VOCABULARY

    for name, helper in VOCABULARY.items():
        assert callable(helper.on_floats) and callable(helper.on_values), name


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="exp", forward="x", derivatives=("1.0",)), "clashes"),
    (dict(name="data", forward="x", derivatives=("1.0",)), "clashes"),
    (dict(name="_hidden", forward="x", derivatives=("1.0",)), "identifier"),
    (dict(name="two words", forward="x", derivatives=("1.0",)), "identifier"),
    (dict(name="bad_name_in_formula", forward="x + z", derivatives=("1.0",)), "unknown name 'z'"),
    (dict(name="bad_call", forward="__import__('os')", derivatives=("1.0",)),
     "unknown name '__import__'"),
    (dict(name="bad_attribute", forward="x.data", derivatives=("1.0",)), "Attribute"),
    (dict(name="bad_syntax", forward="x +", derivatives=("1.0",)), "invalid syntax"),
    (dict(name="too_few", forward="x * y", derivatives=("y",)), "needs 2 derivatives, got 1"),
    (dict(name="too_many", forward="x", derivatives=("1.0", "0.0")), "needs 1 derivative, got 2"),
    (dict(name="string_derivatives", forward="x", derivatives="1.0"), "tuple of formulas"),
    (dict(name="out_in_forward", forward="out", derivatives=("1.0",)), "unknown name 'out'"),
    (dict(name="bad_derivative", forward="x", derivatives=("q",)), "unknown name 'q'"),
])
def test_bad_definitions_are_refused_at_define_op(kwargs, message):
    before = dict(OPS)
    with pytest.raises(ValueError, match=message):
        define_op(**kwargs)
    assert OPS == before and not hasattr(Value, kwargs["name"]) or kwargs["name"] in before \
        or hasattr(Value, kwargs["name"])


def test_define_op_in_a_fresh_process_works_everywhere(tmp_path):
    """A user's operation, added with one call, runs through everything a built-in one does."""
    script = textwrap.dedent('''
        import inspect, math
        import autograd
        from autograd import Value, backward_steps, define_op, draw_dot, grad
        from autograd.expression import Expression

        define_op("softsign", forward="x / (1.0 + abs(x))",
                  derivatives=("1.0 / (1.0 + abs(x)) ** 2",))
        define_op("logaddexp", forward="log(exp(x) + exp(y))",
                  derivatives=("exp(x - out)", "exp(y - out)"))
        define_op("cube", forward="x * x * x", derivatives=("3.0 * x * x",))

        def softsign(t): return t / (1 + abs(t))
        x = Value(0.5, label="x")
        s = x.softsign()
        s.backward()
        assert s.data == softsign(0.5) and math.isclose(x.grad, 1 / 1.5 ** 2, rel_tol=1e-15)

        # first, second and third derivatives of x^3: 3x^2, 6x and 6
        c = Value(1.5)
        (d1,) = grad(c.cube(), [c], create_graph=True)
        (d2,) = grad(d1, [c], create_graph=True)
        (d3,) = grad(d2, [c])
        assert (d1.data, d2.data, d3) == (6.75, 9.0, 6.0), (d1, d2, d3)
        t = Value(-0.3)
        (g1,) = grad(t.softsign(), [t], create_graph=True)
        (g2,) = grad(g1, [t])
        assert math.isclose(g2, 2 / (1 + 0.3) ** 3, rel_tol=1e-12), g2    # d/dt (1-t)^-2

        # a binary op becomes a method taking the second operand
        a, b = Value(1.0), Value(2.0)
        out = a.logaddexp(b)
        out.backward()
        assert math.isclose(out.data, math.log(math.e + math.e ** 2), rel_tol=1e-15)
        assert math.isclose(a.grad + b.grad, 1.0, rel_tol=1e-15)

        # compiled replay equals eager
        w = Value(0.7)
        step = autograd.compile(lambda u, v: (u * w).softsign().logaddexp(v).cube())
        for u, v in ((0.3, -1.0), (-2.0, 0.5)):
            w.grad = 0.0
            got = step(u, v)
            replayed, w.grad = w.grad, 0.0
            eager = (Value(u) * w).softsign().logaddexp(Value(v)).cube()
            eager.backward()
            assert got == eager.data and math.isclose(replayed, w.grad, rel_tol=1e-12)

        # the step explanation shows the formula
        (only,) = list(backward_steps(x.softsign()))
        assert "x.grad += (1.0 / (1.0 + abs(x.data)) ** 2) (0.4444)" in only.explanation, \\
            only.explanation
        # drawing and the expression language
        assert "softsign" in draw_dot(x.softsign()).source
        e = Expression("softsign(x) + logaddexp(x, 2)").evaluate({"x": 0.5})
        assert e.op == "+"
        assert "x / (1.0 + abs(x))" in inspect.getsource(Value.softsign)
        print("ok")
    ''')
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_constants_are_leaves_the_contract_tests_do_not_miss():
    # The operations take plain numbers too: they become Constant leaves.
    out = Value(2.0) * 3
    assert isinstance(out.children[1], Constant) and out.children[1].data == 3.0


def test_the_signatures_written_for_type_checkers_are_the_generated_ones():
    import re
    from pathlib import Path

    from autograd import engine

    source = Path(engine.__file__).read_text()
    block = re.search(r"    if TYPE_CHECKING:\n(?:        #.*\n)*((?:        def .*\n)+)", source)
    written = "\n".join(line.strip() for line in block.group(1).splitlines())
    assert written == engine.type_stubs()


# --- formulas from user code: only the checked, re-printed expression is ever run ------

def _fresh(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("where", ["forward", "derivative"])
def test_a_formula_cannot_close_the_generated_docstring_and_run_code(where):
    hostile = 'x #"""; print("ran") #'
    forward, derivative = (hostile, "1.0") if where == "forward" else ("x", hostile)
    result = _fresh(f"""
        from autograd import Value, OPS, define_op
        try:
            define_op("inj", forward={forward!r}, derivatives=({derivative!r},))
        except ValueError:
            pass
        else:
            Value(2.0).inj().backward()
            assert "#" not in OPS["inj"].forward + OPS["inj"].derivatives[0]
        """)
    assert result.returncode == 0, result.stderr
    assert "ran" not in result.stdout


@pytest.mark.parametrize("forward, derivative", [
    ("x + 9 ** 9 ** 9", "1.0"),                 # a constant too big to compute
    ("x * 10.0 ** 400", "1.0"),                 # one that overflows a float
    ("x", "(-8.0) ** 0.5"),                     # a constant with no real value
    ("x" + " ** x" * 3000, "1.0"),              # nested 3000 deep
    ("+".join(["x"] * 100_000), "1.0"),          # 100k terms
    ("tanh(x, x)", "1.0"),                      # wrong number of arguments
    ("leaky_relu(x)", "1.0"),
    ("x(1)", "1.0"),                            # calling an operand
    ("abs", "1.0"),                             # a function that is not called
    ("exp + x", "1.0"),
    ("ｘ * ｘ", "2.0 * x"),                     # fullwidth letters (NFKC would make them x)
])
def test_formulas_that_cannot_work_everywhere_are_refused_at_define_op(forward, derivative):
    before = dict(OPS)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="define_op"):
        define_op("refused_formula", forward=forward, derivatives=(derivative,))
    assert time.perf_counter() - start < 10
    assert OPS == before and not hasattr(Value, "refused_formula")


@pytest.mark.parametrize("name", ["ｆｕｌｌ", "self", "other", "out", "dx", "dy", "error", "x",
                                  "L", "P", "G", "R", "IG", "scale", "gp0", "p3", "a0", "s1",
                                  "ga2", "run", "type", "float", "Value"])
def test_op_names_that_generated_code_uses_are_refused(name):
    before = dict(OPS)
    with pytest.raises(ValueError, match="define_op"):
        define_op(name, forward="x", derivatives=("1.0",))
    assert OPS == before


def test_a_comment_in_a_formula_is_gone_from_the_row_and_the_steps():
    result = _fresh(r"""
        from autograd import Value, OPS, backward_steps, define_op
        define_op("twice_c", forward="2 * x  # doubled \\N", derivatives=("2.0  # constant",))
        row = OPS["twice_c"]
        assert (row.forward, row.derivatives) == ("2 * x", ("2.0",)), row
        step = next(backward_steps(Value(3.0, label="a").twice_c()))
        assert "#" not in step.explanation and "doubled" not in step.explanation, step
        """)
    assert result.returncode == 0, result.stderr


def test_power_in_a_formula_is_real_or_the_domain_error_of_the_op_everywhere():
    result = _fresh("""
        import math
        import autograd
        from autograd import Value, define_op, grad
        define_op("root", forward="x ** 0.5", derivatives=("0.5 * x ** -0.5",))
        define_op("absroot", forward="abs(x ** 0.5)", derivatives=("0.5 * x ** -0.5",))
        for name in ("root", "absroot"):
            try:
                getattr(Value(-4.0), name)()
            except ValueError as error:
                assert name in str(error), error
            else:
                raise AssertionError(f"{name}(-4.0) gave a number")
            a = Value(-4.0)
            f = autograd.compile(lambda v: getattr(v * 1.0, name)())
            try:
                got = f(Value(4.0)), f(a)
            except (ValueError, autograd.GraphChanged):
                pass
            else:
                raise AssertionError(f"compiled {name}(-4.0) gave {got}")
            assert isinstance(a.grad, float)
        x = Value(4.0)
        (d,) = grad(x.root(), [x], create_graph=True)
        (d2,) = grad(d, [x])
        assert math.isclose(d.data, 0.25) and math.isclose(d2, -0.25 / 4.0 ** 1.5), (d, d2)
        """)
    assert result.returncode == 0, result.stderr


def test_the_table_can_be_read_while_an_operation_is_added():
    import threading

    stop = threading.Event()
    errors: list[BaseException] = []

    def read():
        while not stop.is_set():
            try:
                functions()
                Expression("tanh(a) * 2").evaluate({"a": 0.5})
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(300):
            define_op(f"added_while_reading_{i}", forward="x", derivatives=("1.0",))
    finally:
        stop.set()
        reader.join()
    assert not errors, errors
