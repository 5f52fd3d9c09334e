"""nn.optim against the algorithms PyTorch's documentation writes out.

Each `*_reference` below transcribes the "Algorithm" block of the torch.optim
documentation for one scalar parameter, symbol for symbol (theta, g_t, b_t,
m_t, v_t, ...), with every intermediate kept in a list indexed by t, so that it
shares no code and little structure with nn.optim. The optimizers are checked
against them over 100 steps of pseudo-random gradients, and against a few
steps worked by hand.
"""

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value
from nn.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

# --- the documented algorithms, for one parameter -----------------------------
# grads[t - 1] is the gradient the objective gives at step t; the functions
# return [theta_0, theta_1, ..., theta_T].


def sgd_reference(theta_0, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    gamma, mu, tau, lam = lr, momentum, dampening, weight_decay
    theta, b = [theta_0], [None]
    for t in range(1, len(grads) + 1):
        if maximize:
            g_t = -grads[t - 1]
        else:
            g_t = grads[t - 1]
        if lam != 0:
            g_t = g_t + lam * theta[t - 1]
        b.append(None)
        if mu != 0:
            if t > 1:
                b[t] = mu * b[t - 1] + (1 - tau) * g_t
            else:
                b[t] = g_t
            if nesterov:
                g_t = g_t + mu * b[t]
            else:
                g_t = b[t]
        theta.append(theta[t - 1] - gamma * g_t)
    return theta


def adam_reference(theta_0, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, maximize=False, decoupled=False):
    """Adam; with decoupled=True it is the AdamW block (theta_t <- theta_{t-1} - gamma lambda
    theta_{t-1} first, and no lambda theta in g_t)."""
    gamma, (beta_1, beta_2), epsilon, lam = lr, betas, eps, weight_decay
    theta, m, v, v_max = [theta_0], [0.0], [0.0], [0.0]
    for t in range(1, len(grads) + 1):
        g_t = -grads[t - 1] if maximize else grads[t - 1]
        theta_t = theta[t - 1]
        if decoupled:
            theta_t = theta[t - 1] - gamma * lam * theta[t - 1]
        elif lam != 0:
            g_t = g_t + lam * theta[t - 1]
        m.append(beta_1 * m[t - 1] + (1 - beta_1) * g_t)
        v.append(beta_2 * v[t - 1] + (1 - beta_2) * g_t ** 2)
        m_hat = m[t] / (1 - beta_1 ** t)
        if amsgrad:
            v_max.append(max(v_max[t - 1], v[t]))
            v_hat = v_max[t] / (1 - beta_2 ** t)
        else:
            v_hat = v[t] / (1 - beta_2 ** t)
        theta.append(theta_t - gamma * m_hat / (math.sqrt(v_hat) + epsilon))
    return theta


def adamw_reference(theta_0, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                    amsgrad=False, maximize=False):
    return adam_reference(theta_0, grads, lr, betas, eps, weight_decay, amsgrad, maximize,
                          decoupled=True)


def rmsprop_reference(theta_0, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                      momentum=0.0, centered=False, maximize=False):
    gamma, lam, mu, epsilon = lr, weight_decay, momentum, eps
    theta, v, b, g_ave = [theta_0], [0.0], [0.0], [0.0]
    for t in range(1, len(grads) + 1):
        g_t = -grads[t - 1] if maximize else grads[t - 1]
        if lam != 0:
            g_t = g_t + lam * theta[t - 1]
        v.append(alpha * v[t - 1] + (1 - alpha) * g_t ** 2)
        v_tilde = v[t]
        g_ave.append(0.0)
        if centered:
            g_ave[t] = g_ave[t - 1] * alpha + (1 - alpha) * g_t
            v_tilde = v_tilde - g_ave[t] ** 2
        b.append(0.0)
        if mu > 0:
            b[t] = mu * b[t - 1] + g_t / (math.sqrt(v_tilde) + epsilon)
            theta.append(theta[t - 1] - gamma * b[t])
        else:
            theta.append(theta[t - 1] - gamma * g_t / (math.sqrt(v_tilde) + epsilon))
    return theta


def adagrad_reference(theta_0, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                      initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    gamma, lam, tau, eta = lr, weight_decay, initial_accumulator_value, lr_decay
    theta, state_sum = [theta_0], [tau]
    for t in range(1, len(grads) + 1):
        g_t = -grads[t - 1] if maximize else grads[t - 1]
        gamma_tilde = gamma / (1 + (t - 1) * eta)
        if lam != 0:
            g_t = g_t + lam * theta[t - 1]
        state_sum.append(state_sum[t - 1] + g_t ** 2)
        theta.append(theta[t - 1] - gamma_tilde * g_t / (math.sqrt(state_sum[t]) + eps))
    return theta


REFERENCES = {SGD: sgd_reference, Adam: adam_reference, AdamW: adamw_reference,
              RMSprop: rmsprop_reference, Adagrad: adagrad_reference}

# Every documented variant, with hyper-parameters far from the defaults so that
# each term matters.
VARIANTS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.05, weight_decay=0.3)),
    (SGD, dict(lr=0.05, momentum=0.9)),
    (SGD, dict(lr=0.05, momentum=0.8, dampening=0.4)),
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.05, momentum=0.7, dampening=0.2, weight_decay=0.1, maximize=True)),
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.2)),
    (Adam, dict()),
    (Adam, dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3)),
    (Adam, dict(lr=0.05, weight_decay=0.3)),
    (Adam, dict(lr=0.05, amsgrad=True)),
    (Adam, dict(lr=0.05, betas=(0.5, 0.7), weight_decay=0.1, amsgrad=True, maximize=True)),
    (AdamW, dict()),
    (AdamW, dict(lr=0.05, weight_decay=0.3)),
    (AdamW, dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    (AdamW, dict(lr=0.05, betas=(0.6, 0.8), eps=1e-4, weight_decay=0.5, maximize=True)),
    (RMSprop, dict()),
    (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-4)),
    (RMSprop, dict(lr=0.01, weight_decay=0.2)),
    (RMSprop, dict(lr=0.01, centered=True)),
    (RMSprop, dict(lr=0.01, momentum=0.9)),
    (RMSprop, dict(lr=0.01, alpha=0.8, momentum=0.5, centered=True, weight_decay=0.1)),
    (RMSprop, dict(lr=0.01, momentum=0.5, maximize=True)),
    (Adagrad, dict()),
    (Adagrad, dict(lr=0.1, lr_decay=0.05)),
    (Adagrad, dict(lr=0.1, weight_decay=0.2)),
    (Adagrad, dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3)),
    (Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1,
                   maximize=True)),
]


def case_id(value):
    return value.__name__ if isinstance(value, type) else "-".join(value) or "defaults"


def gradient_stream(seed, n_params, n_steps):
    rng = random.Random(seed)
    return [[rng.gauss(0.0, 1.0) for _ in range(n_steps)] for _ in range(n_params)]


def run_optimizer(cls, kwargs, initial, grads):
    """Our optimizer, fed grads[i][t - 1] as parameter i's gradient at step t: trajectories."""
    params = [Value(x) for x in initial]
    optimizer = cls(params, **kwargs)
    paths = [[x] for x in initial]
    for t in range(len(grads[0])):
        for p, g in zip(params, grads):
            p.grad = g[t]
        optimizer.step()
        for path, p in zip(paths, params):
            path.append(p.data)
    return paths


def assert_paths_agree(ours, expected, rel=1e-12, abs_=0.0):
    for i, (path, ref) in enumerate(zip(ours, expected)):
        assert len(path) == len(ref)
        for t, (a, b) in enumerate(zip(path, ref)):
            assert math.isclose(a, b, rel_tol=rel, abs_tol=abs_), \
                f"parameter {i}, step {t}: {a!r} != reference {b!r}"


@pytest.mark.parametrize(("cls", "kwargs"), VARIANTS, ids=case_id)
def test_matches_documented_algorithm_over_100_steps(cls, kwargs):
    initial = [0.5, -1.25, 2.0]
    grads = gradient_stream(seed=len(kwargs) * 7 + 1, n_params=3, n_steps=100)
    ours = run_optimizer(cls, kwargs, initial, grads)
    expected = [REFERENCES[cls](x, g, **kwargs) for x, g in zip(initial, grads)]
    assert_paths_agree(ours, expected)
    assert ours[0][-1] != initial[0]  # it moved


unit = st.floats(0.0, 0.99)
# Averages of squares (beta2, alpha) start at 0.5: much lower, the step divides
# by about |g_t|, which can come near 0, and the path turns chaotic, so that any
# two roundings of the same formula (PyTorch's included) drift apart.
square_decay = st.floats(0.5, 0.999)
HYPERPARAMETERS = {
    SGD: st.fixed_dictionaries({"lr": st.floats(0.0, 0.5), "momentum": unit,
                                "dampening": unit, "weight_decay": st.floats(0.0, 0.5)}),
    Adam: st.fixed_dictionaries({"lr": st.floats(0.0, 0.5), "betas": st.tuples(unit, square_decay),
                                 "eps": st.floats(1e-10, 1e-2), "weight_decay": unit,
                                 "amsgrad": st.booleans()}),
    AdamW: st.fixed_dictionaries({"lr": st.floats(0.0, 0.5), "betas": st.tuples(unit, square_decay),
                                  "eps": st.floats(1e-10, 1e-2), "weight_decay": unit,
                                  "amsgrad": st.booleans()}),
    RMSprop: st.fixed_dictionaries({"lr": st.floats(0.0, 0.1), "alpha": square_decay,
                                    "eps": st.floats(1e-8, 1e-2), "weight_decay": unit,
                                    "momentum": unit, "centered": st.booleans()}),
    Adagrad: st.fixed_dictionaries({"lr": st.floats(0.0, 0.5), "lr_decay": unit,
                                    "weight_decay": unit,
                                    "initial_accumulator_value": unit,
                                    "eps": st.floats(1e-10, 1e-2)}),
}


@pytest.mark.parametrize("cls", list(HYPERPARAMETERS), ids=lambda c: c.__name__)
def test_matches_documented_algorithm_for_any_hyperparameters(cls):
    @settings(max_examples=15, deadline=None)
    @given(kwargs=HYPERPARAMETERS[cls], seed=st.integers(0, 2**32), maximize=st.booleans())
    def check(kwargs, seed, maximize):
        kwargs = dict(kwargs, maximize=maximize)
        initial = [0.75, -1.5]
        grads = gradient_stream(seed, n_params=2, n_steps=100)
        expected = [REFERENCES[cls](x, g, **kwargs) for x, g in zip(initial, grads)]
        # Relative error means nothing where a parameter cancels to about 0, so
        # there the bound is 1e-12 of the largest value on its path.
        ours = run_optimizer(cls, kwargs, initial, grads)
        for path, ref in zip(ours, expected):
            scale = max(abs(x) for x in ref)
            assert_paths_agree([path], [ref], rel=1e-12, abs_=1e-12 * scale)

    check()


def test_nesterov_sgd_with_real_gradients_from_the_engine():
    # Minimize f(x, y) = (x - 3)^2 + 10 (y + 1)^2 with gradients from backward(),
    # comparing with the reference fed the gradient formula 2(x - 3), 20(y + 1).
    x, y = Value(0.0), Value(0.0)
    optimizer = SGD([x, y], lr=0.02, momentum=0.9, nesterov=True)
    ref_x, ref_y = 0.0, 0.0
    ref_bx = ref_by = None
    for t in range(1, 101):
        optimizer.zero_grad()
        loss = (x - 3) ** 2 + 10 * (y + 1) ** 2
        loss.backward()
        optimizer.step()
        gx, gy = 2 * (ref_x - 3), 20 * (ref_y + 1)
        ref_bx = gx if t == 1 else 0.9 * ref_bx + gx
        ref_by = gy if t == 1 else 0.9 * ref_by + gy
        ref_x -= 0.02 * (gx + 0.9 * ref_bx)
        ref_y -= 0.02 * (gy + 0.9 * ref_by)
        assert math.isclose(x.data, ref_x, rel_tol=1e-12)
        assert math.isclose(y.data, ref_y, rel_tol=1e-12)
    assert abs(x.data - 3) < 1e-2 and abs(y.data + 1) < 1e-2


@pytest.mark.parametrize(("cls", "kwargs"), [
    (SGD, dict(lr=0.1, momentum=0.5)), (Adam, dict(lr=0.1)), (AdamW, dict(lr=0.1)),
    (RMSprop, dict(lr=0.03)), (Adagrad, dict(lr=0.5))], ids=case_id)
def test_each_optimizer_minimizes_a_quadratic(cls, kwargs):
    x = Value(-2.0)
    optimizer = cls([x], **kwargs)
    for _ in range(300):
        optimizer.zero_grad()
        ((x - 1.5) ** 2).backward()
        optimizer.step()
    assert abs(x.data - 1.5) < 0.05


# --- steps worked by hand ---------------------------------------------------

def steps(cls, theta_0, grads, **kwargs):
    p = Value(theta_0)
    optimizer = cls([p], **kwargs)
    out = []
    for g in grads:
        p.grad = g
        optimizer.step()
        out.append(p.data)
    return out


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-14)


def test_sgd_by_hand():
    # theta = 1 - 0.1 * 2 = 0.8
    assert close(steps(SGD, 1.0, [2.0], lr=0.1)[0], 0.8)
    # weight decay: g = 0 + 0.1 * 1 = 0.1, theta = 1 - 0.5 * 0.1 = 0.95
    assert close(steps(SGD, 1.0, [0.0], lr=0.5, weight_decay=0.1)[0], 0.95)
    # momentum 0.9, dampening 0.5: b1 = g1 = 1 (no dampening on the first step),
    # theta1 = 1 - 0.1 = 0.9; b2 = 0.9 * 1 + 0.5 * 1 = 1.4, theta2 = 0.9 - 0.14 = 0.76
    t1, t2 = steps(SGD, 1.0, [1.0, 1.0], lr=0.1, momentum=0.9, dampening=0.5)
    assert close(t1, 0.9) and close(t2, 0.76)
    # Nesterov, momentum 0.9: b1 = 1, g = 1 + 0.9 * 1 = 1.9, theta1 = 1 - 0.19 = 0.81;
    # b2 = 0.9 + 1 = 1.9, g = 1 + 0.9 * 1.9 = 2.71, theta2 = 0.81 - 0.271 = 0.539
    t1, t2 = steps(SGD, 1.0, [1.0, 1.0], lr=0.1, momentum=0.9, nesterov=True)
    assert close(t1, 0.81) and close(t2, 0.539)
    # maximize: theta = 1 + 0.1 * 2 = 1.2
    assert close(steps(SGD, 1.0, [2.0], lr=0.1, maximize=True)[0], 1.2)


def test_adam_by_hand():
    eps = 1e-8
    # Step 1, g = 2: m1 = 0.1 * 2 = 0.2, v1 = 0.001 * 4 = 0.004; the bias
    # corrections give m_hat = 0.2 / 0.1 = 2, v_hat = 0.004 / 0.001 = 4, so
    # theta1 = 1 - 0.1 * 2 / (2 + eps).
    # Step 2, g = -1: m2 = 0.18 - 0.1 = 0.08, v2 = 0.003996 + 0.001 = 0.004996;
    # m_hat = 0.08 / (1 - 0.81) = 8/19, v_hat = 0.004996 / (1 - 0.998001) = 4996/1999.
    t1, t2 = steps(Adam, 1.0, [2.0, -1.0], lr=0.1)
    assert close(t1, 1 - 0.2 / (2 + eps))
    assert close(t2, t1 - 0.1 * (8 / 19) / (math.sqrt(4996 / 1999) + eps))
    # AMSGrad, g = 2 then 0: v2 = 0.999 * 0.004 = 0.003996 < v1 = 0.004, so the
    # maximum v1 is used: v_hat = 0.004 / 0.001999; m_hat = 0.18 / 0.19 = 18/19.
    t1, t2 = steps(Adam, 1.0, [2.0, 0.0], lr=0.1, amsgrad=True)
    assert close(t2, t1 - 0.1 * (18 / 19) / (math.sqrt(4 / 1.999) + eps))
    # ... and without it, v_hat = 0.003996 / 0.001999.
    t1, t2 = steps(Adam, 1.0, [2.0, 0.0], lr=0.1)
    assert close(t2, t1 - 0.1 * (18 / 19) / (math.sqrt(3.996 / 1.999) + eps))
    # Adam's weight decay enters the gradient: g = 1.5 + 0.5 * 1 = 2, as above.
    assert close(steps(Adam, 1.0, [1.5], lr=0.1, weight_decay=0.5)[0], 1 - 0.2 / (2 + eps))


def test_adamw_by_hand():
    # theta is first shrunk: 1 * (1 - 0.1 * 0.1) = 0.99; then the Adam step with
    # g = 2 alone (m_hat = 2, v_hat = 4): 0.99 - 0.1 * 2 / (2 + 1e-8).
    assert close(steps(AdamW, 1.0, [2.0], lr=0.1, weight_decay=0.1)[0],
                 0.99 - 0.2 / (2 + 1e-8))
    # Default weight_decay is 1e-2: 1 * (1 - 0.1 * 0.01) = 0.999 before the step.
    assert close(steps(AdamW, 1.0, [2.0], lr=0.1)[0], 0.999 - 0.2 / (2 + 1e-8))


def test_rmsprop_by_hand():
    eps = 1e-8
    # v1 = 0.01 * 2^2 = 0.04, theta1 = 1 - 0.01 * 2 / (0.2 + eps)
    assert close(steps(RMSprop, 1.0, [2.0])[0], 1 - 0.02 / (0.2 + eps))
    # centered: g_ave = 0.01 * 2 = 0.02, v - g_ave^2 = 0.04 - 0.0004 = 0.0396
    assert close(steps(RMSprop, 1.0, [2.0], centered=True)[0],
                 1 - 0.02 / (math.sqrt(0.0396) + eps))
    # momentum 0.5, g = 2 twice: b1 = 2 / (0.2 + eps); v2 = 0.99 * 0.04 + 0.04 = 0.0796,
    # b2 = 0.5 b1 + 2 / (sqrt(0.0796) + eps), theta2 = theta1 - 0.01 b2
    t1, t2 = steps(RMSprop, 1.0, [2.0, 2.0], momentum=0.5)
    b1 = 2 / (0.2 + eps)
    b2 = 0.5 * b1 + 2 / (math.sqrt(0.0796) + eps)
    assert close(t1, 1 - 0.01 * b1) and close(t2, t1 - 0.01 * b2)


def test_adagrad_by_hand():
    eps = 1e-10
    # sum = 9, theta1 = 1 - 0.1 * 3 / (3 + eps); then g = 4 with lr_decay 0.5:
    # lr_2 = 0.1 / (1 + 0.5) , sum = 25, theta2 = theta1 - lr_2 * 4 / (5 + eps)
    t1, t2 = steps(Adagrad, 1.0, [3.0, 4.0], lr=0.1, lr_decay=0.5)
    assert close(t1, 1 - 0.3 / (3 + eps))
    assert close(t2, t1 - (0.1 / 1.5) * 4 / (5 + eps))
    # the accumulator starts at 16: sum = 16 + 9 = 25
    assert close(steps(Adagrad, 1.0, [3.0], lr=0.1, initial_accumulator_value=16.0)[0],
                 1 - 0.3 / (5 + eps))


def test_zero_denominator_gives_nan_not_an_exception():
    # With eps = 0 and a zero gradient the documented step is 0 / 0: nan, as in PyTorch.
    p = Value(1.0)
    Adam([p], eps=0.0).step()
    assert math.isnan(p.data)


# --- the optimizer object ---------------------------------------------------

def test_zero_grad_and_lr_attribute():
    params = [Value(1.0), Value(2.0)]
    optimizer = SGD(iter(params), lr=0.1)  # any iterable, consumed once
    assert optimizer.params == params
    for p in params:
        p.grad = 3.0
    optimizer.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]
    optimizer.lr = 0.25
    assert optimizer.param_groups[0]["lr"] == 0.25
    params[0].grad = 1.0
    optimizer.step()
    assert params[0].data == 0.75
    with pytest.raises(ValueError, match="lr"):
        optimizer.lr = -1.0


def test_defaults_are_pytorchs():
    p = [Value(0.0)]
    assert SGD(p).lr == 1e-3
    assert Adam(p).param_groups[0]["betas"] == (0.9, 0.999)
    assert Adam(p).param_groups[0]["eps"] == 1e-8 and Adam(p).lr == 1e-3
    assert AdamW(p).param_groups[0]["weight_decay"] == 1e-2
    rms = RMSprop(p).param_groups[0]
    assert (rms["lr"], rms["alpha"], rms["eps"]) == (1e-2, 0.99, 1e-8)
    ada = Adagrad(p).param_groups[0]
    assert (ada["lr"], ada["eps"], ada["lr_decay"]) == (1e-2, 1e-10, 0.0)
    assert "Adam(lr=0.001" in repr(Adam(p)) and "1 parameters" in repr(Adam(p))


@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda p: SGD(p, lr=-0.1), ValueError, "lr"),
    (lambda p: SGD(p, lr=math.nan), ValueError, "lr"),
    (lambda p: SGD(p, lr="0.1"), TypeError, "lr"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.5), ValueError, "momentum"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, "nesterov"),
    (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "dampening"),
    (lambda p: SGD(p, lr=0.1, nesterov=1), TypeError, "nesterov"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
    (lambda p: Adam(p, betas=(0.9,)), ValueError, "betas"),
    (lambda p: Adam(p, betas=0.9), TypeError, "betas"),
    (lambda p: Adam(p, eps=-1e-8), ValueError, "eps"),
    (lambda p: Adam(p, amsgrad="yes"), TypeError, "amsgrad"),
    (lambda p: AdamW(p, weight_decay=-0.01), ValueError, "weight_decay"),
    (lambda p: RMSprop(p, alpha=-0.1), ValueError, "alpha"),
    (lambda p: RMSprop(p, alpha=1.5), ValueError, "alpha"),
    (lambda p: RMSprop(p, momentum=-1), ValueError, "momentum"),
    (lambda p: RMSprop(p, centered=None), TypeError, "centered"),
    (lambda p: Adagrad(p, lr_decay=-1), ValueError, "lr_decay"),
    (lambda p: Adagrad(p, initial_accumulator_value=-1), ValueError, "initial_accumulator"),
    (lambda p: Adagrad(p, maximize=0), TypeError, "maximize"),
])
def test_bad_hyperparameters_are_refused_by_name(make, error, words):
    with pytest.raises(error, match=words):
        make([Value(1.0)])


def test_bad_parameter_lists_are_refused():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="params must be an iterable"):
        SGD(Value(1.0), lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\]"):
        Adam([Value(1.0), 2.0])
    with pytest.raises(TypeError, match="groups"):
        Adam([{"params": [Value(1.0)]}])
    v = Value(1.0)
    with pytest.raises(ValueError, match=r"params\[1\] appears more than once"):
        Adam([v, v])


# --- saving and restoring ---------------------------------------------------

@pytest.mark.parametrize(("cls", "kwargs"), [
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (Adam, dict(lr=0.05, amsgrad=True)), (AdamW, dict(lr=0.05)),
    (RMSprop, dict(momentum=0.5, centered=True)), (Adagrad, dict(lr_decay=0.1))],
    ids=case_id)
def test_state_dict_survives_json_and_resumes_exactly(cls, kwargs):
    initial = [0.3, -0.7, 1.1]
    grads = gradient_stream(seed=5, n_params=3, n_steps=60)

    straight = [Value(x) for x in initial]
    optimizer = cls(straight, **kwargs)
    for t in range(60):
        for p, g in zip(straight, grads):
            p.grad = g[t]
        optimizer.step()

    first = [Value(x) for x in initial]
    optimizer = cls(first, **kwargs)
    for t in range(30):
        for p, g in zip(first, grads):
            p.grad = g[t]
        optimizer.step()
    saved = json.loads(json.dumps(optimizer.state_dict()))
    resumed = [Value(p.data) for p in first]
    optimizer = cls(resumed, lr=0.5)  # other settings, replaced by the saved ones
    optimizer.load_state_dict(saved)
    assert json.loads(json.dumps(optimizer.state_dict())) == saved
    for t in range(30, 60):
        for p, g in zip(resumed, grads):
            p.grad = g[t]
        optimizer.step()
    assert [p.data for p in resumed] == [p.data for p in straight]


def test_state_dict_shape():
    p = [Value(1.0), Value(2.0)]
    optimizer = Adam(p, lr=0.1)
    p[0].grad = 1.0
    optimizer.step()
    saved = optimizer.state_dict()
    assert saved["param_groups"] == [{"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8,
                                      "weight_decay": 0.0, "amsgrad": False,
                                      "maximize": False, "params": [0, 1]}]
    # m1 = 0.1 * 1, v1 = 0.001 * 1; the second parameter (g = 0) has state too.
    assert saved["state"][0] == {"step": 1, "exp_avg": pytest.approx(0.1),
                                 "exp_avg_sq": pytest.approx(0.001)}
    assert saved["state"][1] == {"step": 1, "exp_avg": 0.0, "exp_avg_sq": 0.0}
    saved["state"][0]["exp_avg"] = 123.0
    assert optimizer.state[0]["exp_avg"] != 123.0  # a copy


def test_load_state_dict_refuses_what_does_not_fit():
    params = [Value(1.0), Value(2.0)]
    adam = Adam(params)
    for p in params:
        p.grad = 1.0
    adam.step()
    good = adam.state_dict()
    with pytest.raises(ValueError, match="not those of SGD"):
        SGD(params, lr=0.1).load_state_dict(good)
    with pytest.raises(ValueError, match="for 2 parameters, this optimizer has 1"):
        Adam(params[:1]).load_state_dict(good)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        Adam(params).load_state_dict({"state": {}})
    bad = json.loads(json.dumps(good))
    bad["state"]["7"] = bad["state"].pop("1")
    with pytest.raises(ValueError, match="'7' is not a parameter index"):
        Adam(params).load_state_dict(bad)
    bad = json.loads(json.dumps(good))
    del bad["state"]["0"]["exp_avg_sq"]
    with pytest.raises(ValueError, match="keys"):
        Adam(params).load_state_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["state"]["0"]["step"] = 0
    with pytest.raises(ValueError, match="step"):
        Adam(params).load_state_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["param_groups"][0]["betas"] = [0.9, 1.0]
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        Adam(params).load_state_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["param_groups"][0]["amsgrad"] = True  # the state then lacks max_exp_avg_sq
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        Adam(params).load_state_dict(bad)


def test_optimizer_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        Optimizer([Value(1.0)], {})
