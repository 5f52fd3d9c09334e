"""Forward mode (jvp, Jacobians, Hessians, Dual) against backward, central differences and torch."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd import (
    OPS,
    Dual,
    PerturbationConfusion,
    Value,
    grad,
    hessian,
    hvp,
    jacobian,
    jvp,
    vjp,
)
from tests.test_ops import ALL, call, central_difference, points

KINKED = ("abs", "relu", "leaky_relu")


def check_contract(name: str, args: tuple, direction: tuple) -> None:
    """jvp == directional derivative from backward and from central differences;
    jacobian forward == reverse; hessian symmetric and equal to create_graph's."""
    op = OPS[name]
    fn = lambda *vs: call(op, list(vs))  # noqa: E731
    out, tangent = jvp(fn, args, direction)
    leaves = [Value(a) for a in args]
    grads = grad(fn(*leaves), leaves)
    # A zero direction leaves that input out, even where its gradient is nan.
    expected = sum(g * d for g, d in zip(grads, direction) if d != 0.0)
    assert math.isclose(tangent, expected, rel_tol=1e-12, abs_tol=1e-12), (name, args)
    along = lambda a: fn(*[Value(x + t * a[0]) for x, t in zip(args, direction)]).data  # noqa: E731
    numeric = central_difference(along, (0.0,), 0, 1e-6, kink=(1e-3, 1e-4))
    if numeric is not None:
        assert math.isclose(tangent, numeric, rel_tol=1e-5, abs_tol=1e-6), (name, args)
    assert jacobian(fn, args, mode="forward") == pytest.approx(jacobian(fn, args), rel=1e-12)
    h = hessian(fn, args)
    firsts = grad(fn(*leaves), leaves, create_graph=True)
    for i, g in enumerate(firsts):
        for j, second in enumerate(grad(g, leaves)):
            assert h[i][j] == pytest.approx(h[j][i], rel=1e-9, abs=1e-12, nan_ok=True)
            assert h[i][j] == pytest.approx(second, rel=1e-12, abs=1e-15, nan_ok=True)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_every_row_keeps_the_forward_contract(name, data):
    args = data.draw(points(OPS[name]))
    direction = tuple(data.draw(st.floats(-2, 2)) for _ in args)
    assume(name not in KINKED or abs(args[0]) > 1e-3)   # a kink has no derivative
    check_contract(name, args, direction)


def test_a_user_defined_op_keeps_the_forward_contract():
    code = textwrap.dedent("""
        from autograd import define_op
        from tests.test_forward import check_contract
        define_op("softsign", forward="x / (1.0 + abs(x))",
                  derivatives=("1.0 / (1.0 + abs(x)) ** 2",))
        define_op("scaled", forward="x * exp(y)", derivatives=("exp(y)", "out"))
        for x in (-2.0, -0.3, 0.7, 3.0):
            check_contract("softsign", (x,), (1.5,))
            check_contract("scaled", (x, 0.4), (0.5, -1.0))
        from autograd import Dual
        d = Dual(0.7, 1.0).softsign()
        assert abs(d.tangent - 1.0 / 1.7 ** 2) < 1e-15, d
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


def test_a_constant_exponent_at_a_negative_base_does_not_poison_the_tangent():
    # d(x ** 2)/d(2) = log(x) * out is nan at x < 0; the 2 has tangent 0.
    assert jvp(lambda x: x ** 2, (-3.0,), (1.0,)) == (9.0, -6.0)
    assert jvp(lambda x, y: x ** y, (-3.0, 2.0), (1.0, 0.0)) == (9.0, -6.0)
    assert (Dual(-3.0, 1.0) ** 2).tangent == -6.0
    assert hessian(lambda x: x ** 2, (-3.0,)) == [[2.0]]
    _, pull = vjp(lambda x, y: (x ** y, x * 2.0), (-3.0, 2.0))
    assert pull((0.0, 1.0)) == (2.0, 0.0)


def test_dual_numbers_follow_the_table():
    d = Dual(2.0, 1.0).tanh()
    assert d.value == math.tanh(2.0)
    assert d.tangent == pytest.approx(1.0 / math.cosh(2.0) ** 2, rel=1e-15)
    x, w = Dual(2.0, 1.0), Dual(-3.0, 0.0)
    assert (x * w).tangent == -3.0 and (w * x).value == -6.0
    assert (1.0 - x).tangent == -1.0 and (x / 4.0).tangent == 0.25 and (4.0 / x).tangent == -1.0
    assert Dual.derivative(lambda v: v.sin() * v, 0.5) == pytest.approx(
        math.cos(0.5) * 0.5 + math.sin(0.5), rel=1e-15)


def test_nested_derivatives_are_refused_not_confused():
    # d/dx [x * d/dy (x + y)] = 1; adding the two directions' tangents would give 2.
    with pytest.raises(PerturbationConfusion, match="perturbation confusion"):
        Dual.derivative(lambda x: x * Dual.derivative(lambda y: x + y, 1.0), 1.0)
    # On the graph, the inner result is a float: d/dx x * (x.data) would silently be x.
    with pytest.raises(PerturbationConfusion, match="outer derivative would miss"):
        jvp(lambda x: x * jvp(lambda y: x * y, (1.0,), (1.0,))[1], (2.0,), (1.0,))
    # An inner derivative of its own inputs only is fine.
    inner = lambda x: x * jvp(lambda y: y * y, (3.0,), (1.0,))[1]  # noqa: E731
    assert jvp(inner, (2.0,), (1.0,)) == (12.0, 6.0)


def test_wrong_shapes_and_outputs_raise_clear_errors():
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match="output 1 is float"):
        jvp(lambda x: (x, 1.0), (1.0,), (1.0,))
    with pytest.raises(TypeError, match="must return a Value"):
        jvp(lambda x: "x", (1.0,), (1.0,))
    with pytest.raises(TypeError, match=r"primals\[0\] must be a number"):
        jvp(lambda x: x, ("a",), (1.0,))
    with pytest.raises(TypeError, match="sequence of numbers"):
        jvp(lambda x: x, 1.0, (1.0,))
    with pytest.raises(ValueError, match="mode must be"):
        jacobian(lambda x: x, (1.0,), mode="sideways")
    with pytest.raises(ValueError, match="one Value"):
        hessian(lambda x: (x, x), (1.0,))
    with pytest.raises(ValueError, match="direction of 1 numbers"):
        hvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    _, pull = vjp(lambda x: (x, x * x), (1.0,))
    with pytest.raises(ValueError, match="2 outputs but 1 cotangents"):
        pull((1.0,))


# --- against torch, on random expressions ---------------------------------------

torch = pytest.importorskip("torch", reason="pip install torch (CPU) to compare with "
                            "torch.func") if os.environ.get("CI") != "true" else __import__(
                                "torch")
mpmath = pytest.importorskip("mpmath")

from tests.test_compile import build, expressions  # noqa: E402


def torch_of(ops, p):
    """The same expression as `build`, on torch tensors (float64)."""
    T = {"neg": lambda t: -t, "abs": torch.abs, "exp": torch.exp, "log": torch.log,
         "sqrt": torch.sqrt, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
         "relu": torch.relu, "softplus": torch.nn.functional.softplus,
         "sin": torch.sin, "cos": torch.cos}

    def f(a, b):
        param = torch.tensor(p, dtype=torch.float64)
        terms = [a, b, param]
        v = a * param + b
        for op in ops:
            other = terms[len(str(op)) % 3]
            if op in T:
                t = torch.tanh(v)
                v = T[op](t * t + 0.5)
            elif op == "+":
                v = v + other
            elif op == "-":
                v = other - v
            elif op == "*":
                v = v * other
            elif op == "/":
                v = v / (other * other + 1.0)
            elif op == "**":
                v = (v * v + 0.25) ** (torch.tanh(param) + 1.5)
            elif op == "leaky_relu":
                v = torch.nn.functional.leaky_relu(v, 0.05)
            elif op == "sum":
                v = v + other + 2.0
            elif op == "dot":
                v = v * other + param * 0.5 + b
        return torch.stack([v, v * a])
    return f


def exact_jvp(ops, p, a, b, da, db):
    """d/dt of build's output at (a + t da, b + t db), by a 40-digit difference in mpmath."""
    with mpmath.workdps(40):
        h = mpmath.mpf("1e-15")

        def at(t):
            return float_free(ops, p, a + t * da, b + t * db)
        return float((at(h) - at(-h)) / (2 * h))


def float_free(ops, p, a, b):
    M = {"neg": lambda t: -t, "abs": abs, "exp": mpmath.exp, "log": mpmath.log,
         "sqrt": mpmath.sqrt, "tanh": mpmath.tanh, "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)),
         "relu": lambda t: max(t, 0), "softplus": lambda t: mpmath.log(1 + mpmath.exp(t)),
         "sin": mpmath.sin, "cos": mpmath.cos}
    p = mpmath.mpf(p)
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    terms = [a, b, p]
    v = a * p + b
    for op in ops:
        other = terms[len(str(op)) % 3]
        if op in M:
            t = mpmath.tanh(v)
            v = M[op](t * t + 0.5)
        elif op == "+":
            v = v + other
        elif op == "-":
            v = other - v
        elif op == "*":
            v = v * other
        elif op == "/":
            v = v / (other * other + 1)
        elif op == "**":
            v = (v * v + mpmath.mpf("0.25")) ** (mpmath.tanh(p) + mpmath.mpf("1.5"))
        elif op == "leaky_relu":
            v = v if v > 0 else mpmath.mpf("0.05") * v
        elif op == "sum":
            v = v + other + 2
        elif op == "dot":
            v = v * other + p * mpmath.mpf("0.5") + b
    return v


def agree(ours, theirs, exact):
    """Equal to 1e-12 relative, or where not, ours is the nearer to the exact value."""
    if math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-13):
        return True
    return abs(ours - exact) <= abs(theirs - exact)


@settings(max_examples=40, deadline=None)
@given(ops=expressions(), a=st.floats(-2, 2), b=st.floats(-2, 2), p=st.floats(-1.5, 1.5),
       da=st.floats(-1, 1), db=st.floats(-1, 1))
def test_jvp_vjp_jacobian_hessian_hvp_equal_torch(ops, a, b, p, da, db):
    ours_fn = lambda x, y: (build(ops, x, y, Value(p)), build(ops, x, y, Value(p)) * x)  # noqa: E731
    theirs_fn = torch_of(ops, p)
    assume(all(math.isfinite(o.data) and abs(o.data) < 1e6 for o in ours_fn(Value(a), Value(b))))
    ta, tb = (torch.tensor(v, dtype=torch.float64) for v in (a, b))
    outs, tangents = jvp(ours_fn, (a, b), (da, db))
    their_outs, their_tangents = torch.func.jvp(theirs_fn, (ta, tb), (
        torch.tensor(da, dtype=torch.float64), torch.tensor(db, dtype=torch.float64)))
    exact = exact_jvp(ops, p, a, b, da, db)
    assert agree(tangents[0], their_tangents[0].item(), exact), (ops, tangents, their_tangents)
    _, pull = vjp(ours_fn, (a, b))
    _, their_pull = torch.func.vjp(theirs_fn, ta, tb)
    cot = torch.tensor([1.0, -0.5], dtype=torch.float64)
    for ours, theirs in zip(pull((1.0, -0.5)), their_pull(cot)):
        assert ours == pytest.approx(theirs.item(), rel=1e-9, abs=1e-12)
    jac = jacobian(ours_fn, (a, b), mode="forward")
    their_jac = torch.autograd.functional.jacobian(theirs_fn, (ta, tb))
    for k in range(2):
        for i in range(2):
            assert jac[k][i] == pytest.approx(their_jac[i][k].item(), rel=1e-9, abs=1e-12)
    scalar = lambda x, y: ours_fn(x, y)[0]  # noqa: E731
    h = hessian(scalar, (a, b))
    their_h = torch.autograd.functional.hessian(lambda x, y: theirs_fn(x, y)[0], (ta, tb))
    for i in range(2):
        for j in range(2):
            assert h[i][j] == pytest.approx(their_h[i][j].item(), rel=1e-9, abs=1e-10)
    _, column = hvp(scalar, (a, b), (da, db))
    _, their_column = torch.autograd.functional.hvp(
        lambda x, y: theirs_fn(x, y)[0], (ta, tb),
        (torch.tensor(da, dtype=torch.float64), torch.tensor(db, dtype=torch.float64)))
    for ours, theirs in zip(column, their_column):
        assert ours == pytest.approx(theirs.item(), rel=1e-9, abs=1e-10)
