"""Losses against hand-worked values and SymPy, and their stability at logits of +-1000."""

import math

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value, grad

z_sym, y_sym = sp.symbols("z y", real=True)
# Binary cross-entropy written from its definition, -y log p - (1 - y) log(1 - p), p = sigmoid(z).
p_sym = 1 / (1 + sp.exp(-z_sym))
BCE = -y_sym * sp.log(p_sym) - (1 - y_sym) * sp.log(1 - p_sym)
BCE_DZ = sp.diff(BCE, z_sym)
PRECISION = 600


def exact(expression, **values):
    """SymPy's value at a precision that survives 1 - sigmoid(1000) ~ 1e-435, as a float."""
    subs = {sp.Symbol(k, real=True): sp.Float(v, PRECISION) for k, v in values.items()}
    return float(expression.evalf(PRECISION, subs=subs))


def values(*numbers):
    return [Value(x) for x in numbers]


# --- mse -----------------------------------------------------------------------------

def test_mse_by_hand():
    preds = values(1.0, 2.0, 3.0)
    loss = nn.mse(preds, [0.0, 2.0, 5.0])
    assert loss.data == pytest.approx((1 + 0 + 4) / 3)
    loss.backward()
    # d/dp mean((p - t)^2) = 2 (p - t) / n
    assert [p.grad for p in preds] == pytest.approx([2 / 3, 0.0, -4 / 3])


def test_mse_of_one_value_and_of_several_outputs_per_sample():
    p = Value(0.5)
    assert nn.mse(p, 2.0).data == pytest.approx(2.25)
    rows = [values(1.0, 0.0), values(0.0, 3.0)]
    assert nn.mse(rows, [[1.0, 1.0], [0.0, 1.0]]).data == pytest.approx((0 + 1 + 0 + 4) / 4)


# --- hinge -----------------------------------------------------------------------------

def test_hinge_by_hand():
    scores = values(0.5, -2.0, 3.0, 2.0)
    labels = [1, 1, -1, 1]
    loss = nn.hinge(scores, labels)
    # relu(1 - y s): 0.5, 3, 4, 0 (margin met)
    assert loss.data == pytest.approx((0.5 + 3 + 4 + 0) / 4)
    loss.backward()
    # d/ds = -y / n where the margin is violated, 0 where it is met
    assert [s.grad for s in scores] == pytest.approx([-0.25, -0.25, 0.25, 0.0])


def test_hinge_matches_micrograds_formula():
    from micrograd.engine import Value as MicroValue

    data = [(0.3, 1.0), (-1.7, -1.0), (0.9, -1.0), (2.5, 1.0), (-0.2, 1.0)]
    theirs_in = [MicroValue(s) for s, _ in data]
    theirs = sum((1 + -y * s).relu() for s, (_, y) in zip(theirs_in, data)) * (1.0 / len(data))
    theirs.backward()
    ours_in = values(*(s for s, _ in data))
    ours = nn.hinge(ours_in, [y for _, y in data])
    ours.backward()
    assert ours.data == pytest.approx(theirs.data, abs=1e-15)
    assert [v.grad for v in ours_in] == pytest.approx([v.grad for v in theirs_in], abs=1e-15)


def test_hinge_rejects_zero_one_labels():
    with pytest.raises(ValueError, match=r"labels must be -1 or \+1, got 0 at index 1"):
        nn.hinge(values(1.0, 2.0), [1, 0])


# --- binary cross-entropy with logits --------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(z=st.floats(-30, 30), y=st.sampled_from([0.0, 1.0, 0.25, 0.5]))
def test_bce_matches_sympy(z, y):
    logit = Value(z)
    loss = nn.binary_cross_entropy_with_logits([logit], [y])
    loss.backward()
    assert loss.data == pytest.approx(exact(BCE, z=z, y=y), rel=1e-12, abs=1e-12)
    assert logit.grad == pytest.approx(exact(BCE_DZ, z=z, y=y), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("z", [1000.0, -1000.0, 745.0, -745.0, 0.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.5])
def test_bce_is_finite_and_exact_at_huge_logits(z, y):
    logit = Value(z)
    loss = nn.binary_cross_entropy_with_logits(logit, y)
    loss.backward()
    assert math.isfinite(loss.data) and math.isfinite(logit.grad)
    assert loss.data == pytest.approx(exact(BCE, z=z, y=y), rel=1e-12, abs=1e-12)
    # d/dz = sigmoid(z) - y
    assert logit.grad == pytest.approx(exact(p_sym - y_sym, z=z, y=y), rel=1e-12, abs=1e-12)


def test_bce_mean_over_a_batch_by_hand():
    logits = values(0.0, 0.0)
    loss = nn.binary_cross_entropy_with_logits(logits, [1, 0])
    assert loss.data == pytest.approx(math.log(2))
    loss.backward()
    assert [v.grad for v in logits] == pytest.approx([(0.5 - 1) / 2, 0.5 / 2])


def test_bce_second_derivative_is_sigmoid_times_one_minus_sigmoid():
    z = Value(0.7)
    (first,) = grad(nn.binary_cross_entropy_with_logits(z, 1.0), [z], create_graph=True)
    (second,) = grad(first, [z])
    s = 1 / (1 + math.exp(-0.7))
    assert second == pytest.approx(s * (1 - s))


def test_bce_rejects_targets_outside_zero_one():
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\], got -1 at index 0"):
        nn.binary_cross_entropy_with_logits(values(1.0), [-1])


# --- cross-entropy ------------------------------------------------------------------------

def sympy_cross_entropy(logits, target):
    zs = sp.symbols(f"z0:{len(logits)}", real=True)
    # -log softmax(z)[target], from the definition of softmax.
    loss = -sp.log(sp.exp(zs[target]) / sum(sp.exp(z) for z in zs))
    subs = {z: sp.Float(v, 50) for z, v in zip(zs, logits)}
    value = float(loss.evalf(50, subs=subs))
    grads = [float(sp.diff(loss, z).evalf(50, subs=subs)) for z in zs]
    return value, grads


@pytest.mark.parametrize("logits, target", [
    ([1.0, 2.0, 3.0], 0),
    ([0.5, -1.5], 1),
    ([2.0, 2.0, 2.0, 2.0], 3),
    ([-0.3, 4.1, 0.0, 1.2, -2.2], 1),
])
def test_cross_entropy_matches_sympy(logits, target):
    zs = values(*logits)
    loss = nn.cross_entropy(zs, target)
    loss.backward()
    expected, expected_grads = sympy_cross_entropy(logits, target)
    assert loss.data == pytest.approx(expected, rel=1e-12)
    assert [z.grad for z in zs] == pytest.approx(expected_grads, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("logits, target", [
    ([1000.0, -1000.0], 0),
    ([1000.0, -1000.0], 1),
    ([-1000.0, 0.0, 1000.0], 0),
    ([1000.0, 1000.0], 1),
    ([-1000.0, -1000.0, -999.0], 2),
])
def test_cross_entropy_is_finite_and_exact_at_huge_logits(logits, target):
    zs = values(*logits)
    loss = nn.cross_entropy(zs, target)
    loss.backward()
    expected, expected_grads = sympy_cross_entropy(logits, target)
    assert math.isfinite(loss.data)
    assert loss.data == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert [z.grad for z in zs] == pytest.approx(expected_grads, rel=1e-12, abs=1e-15)


def test_cross_entropy_batch_is_the_mean():
    a, b = values(1.0, 2.0), values(0.0, 0.0, 0.0)
    loss = nn.cross_entropy([a, b], [1, 2])
    expected = (sympy_cross_entropy([1.0, 2.0], 1)[0] + math.log(3)) / 2
    assert loss.data == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("logits, target, error, message", [
    (values(1.0, 2.0), 2, ValueError, "target 2 is not a class index for 2 logits"),
    (values(1.0, 2.0), -1, ValueError, "not a class index"),
    (values(1.0, 2.0), 1.0, TypeError, "class index"),
    (values(1.0, 2.0), True, TypeError, "class index"),
    ([], 0, TypeError, "non-empty list"),
    (Value(1.0), 0, TypeError, "non-empty list"),
    ([values(1.0, 2.0)], [0, 1], ValueError, "2 targets but logits for 1"),
    (values(1.0, math.inf), 0, ValueError, "must be finite"),
])
def test_cross_entropy_errors(logits, target, error, message):
    with pytest.raises(error, match=message):
        nn.cross_entropy(logits, target)


# --- l2 penalty ------------------------------------------------------------------------

def test_l2_penalty_by_hand():
    params = values(1.0, -2.0, 0.5)
    penalty = nn.l2_penalty(params, 0.1)
    assert penalty.data == pytest.approx(0.1 * (1 + 4 + 0.25))
    penalty.backward()
    assert [p.grad for p in params] == pytest.approx([0.2, -0.4, 0.1])  # 2 alpha p


def test_l2_penalty_of_a_module_and_errors():
    model = nn.MLP(2, [3, 1], seed=0)
    expected = 1e-4 * sum(p.data ** 2 for p in model.parameters())
    assert nn.l2_penalty(model, 1e-4).data == pytest.approx(expected)
    assert isinstance(nn.l2_penalty([], 1.0), Value)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        nn.l2_penalty(model, -1.0)
    with pytest.raises(TypeError, match=r"parameters\[1\] must be a Value"):
        nn.l2_penalty([Value(1.0), 2.0], 1.0)


# --- shared checks ----------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [nn.mse, nn.hinge, nn.binary_cross_entropy_with_logits])
def test_elementwise_losses_check_their_arguments(loss):
    with pytest.raises(ValueError, match="2 predictions but 3 targets"):
        loss(values(1.0, 1.0), [1, 1, 1])
    with pytest.raises(ValueError, match="empty batch"):
        loss([], [])
    with pytest.raises(TypeError, match="target 0 must be a number"):
        loss(values(1.0), ["1"])
    with pytest.raises(TypeError, match="prediction 0 must be a Value or a number"):
        loss(["1"], [1])
    with pytest.raises(TypeError, match="predictions must be"):
        loss("scores", [1])


@pytest.mark.parametrize("loss, target", [
    (nn.mse, 1.0), (nn.hinge, 1.0), (nn.binary_cross_entropy_with_logits, 1.0),
])
def test_every_loss_returns_a_value(loss, target):
    assert isinstance(loss(values(0.3), [target]), Value)
    assert isinstance(nn.cross_entropy(values(0.3, 0.1), 0), Value)
    assert isinstance(nn.l2_penalty(values(0.3), 0.1), Value)
