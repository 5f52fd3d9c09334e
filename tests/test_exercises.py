"""The exercises' checker: each reference solution passes, each catalogued mistake is named as
that mistake, stubs fail, placeholders are "not attempted yet", and the engine's own backward
is refused. The reference and wrong solutions live here, never in the package."""

from __future__ import annotations

import math

import pytest

import autograd
import nn.exercises as ex
from autograd import Value


def placeholder(*args):
    raise NotImplementedError("your code here")


# --- exercises graded on numbers: local derivatives, optimizer steps, losses ----------

REFERENCES = {
    "tanh_derivative": lambda x, out: 1.0 - out * out,
    "sigmoid_derivative": lambda x, out: out * (1.0 - out),
    "log_derivative": lambda x, out: 1.0 / x,
    "relu_derivative": lambda x, out: 1.0 if x > 0 else 0.0,
    "power_derivative": lambda x, n, out: n * x ** (n - 1),
    "sgd_step": lambda data, grad, lr: data - lr * grad,
    "momentum_step": lambda d, g, b, lr, mu: (d - lr * (g if b is None else mu * b + g),
                                              g if b is None else mu * b + g),
    "adam_step": lambda *args: adam(*args),
    "cross_entropy": lambda logits, target: stable_cross_entropy(logits, target),
    "linear_backward": lambda W, x, g: (
        [[gi * xj for xj in x] for gi in g],
        [sum(row[j] * gi for row, gi in zip(W, g)) for j in range(len(x))]),
    "l2_gradient": lambda data, alpha: 2 * alpha * data,
    "hinge": lambda scores, labels: Value.sum(
        [(1 - y * s).relu() for s, y in zip(scores, labels)]) / len(scores),
    "binary_cross_entropy": lambda logits, targets: Value.sum(
        [z.relu() - z * y + ((-abs(z)).exp() + 1).log() for z, y in zip(logits, targets)]
    ) / len(logits),
}

def adam(data, grad, state, lr, beta1, beta2, eps, correct=True, sign=1.0, root=True):
    state["t"] = t = state.get("t", 0) + 1
    state["m"] = m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
    state["v"] = v = beta2 * state.get("v", 0.0) + (1 - beta2) * grad ** 2
    if correct:
        m, v = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return data - sign * lr * m / ((math.sqrt(v) if root else v) + eps)


def stable_cross_entropy(logits, target):
    m = max(z.data for z in logits)
    return Value.sum([(z - m).exp() for z in logits]).log() + m - logits[target]


def naive_cross_entropy(logits, target):
    exps = [z.exp() for z in logits]
    return -(exps[target] / Value.sum(exps)).log()


WRONG = [
    ("tanh_derivative", lambda x, out: 1 - x ** 2, "x where out is meant"),
    ("tanh_derivative", lambda x, out: -(1 - out ** 2), "the sign"),
    ("tanh_derivative", lambda x, out: 1 - math.tanh(x), "the square forgotten"),
    ("sigmoid_derivative", lambda x, out: x * (1 - x), "x where out is meant"),
    ("sigmoid_derivative", lambda x, out: -out * (1 - out), "the sign"),
    ("sigmoid_derivative", lambda x, out: 1 - out, "a factor forgotten"),
    ("log_derivative", lambda x, out: 1 / out, "out where x is meant"),
    ("log_derivative", lambda x, out: -1 / x, "the sign"),
    ("log_derivative", lambda x, out: math.log(x), "the function, not its slope"),
    ("relu_derivative", lambda x, out: max(0.0, x), "the output instead of the slope"),
    ("relu_derivative", lambda x, out: x, "x instead of the slope"),
    ("relu_derivative", lambda x, out: float(x < 0), "the sign"),
    ("relu_derivative", lambda x, out: float(x >= 0), "the value at 0"),
    ("power_derivative", lambda x, n, out: x ** (n - 1), "n forgotten"),
    ("power_derivative", lambda x, n, out: n * x ** n, "the exponent not lowered"),
    ("power_derivative", lambda x, n, out: n * out / x, "the value at 0"),
    ("sgd_step", lambda data, grad, lr: data + lr * grad, "the sign"),
    ("sgd_step", lambda data, grad, lr: data - grad, "the learning rate forgotten"),
    ("sgd_step", lambda data, grad, lr: data - lr, "the gradient forgotten"),
    ("momentum_step", lambda d, g, b, lr, mu: (d + lr * (g if b is None else mu * b + g),
                                               g if b is None else mu * b + g), "the sign"),
    ("momentum_step", lambda d, g, b, lr, mu: (d - lr * (g if b is None else b),
                                               g if b is None else mu * b + g),
     "the momentum buffer updated in the wrong order"),
    ("momentum_step", lambda d, g, b, lr, mu: (
        d - lr * (g if b is None else mu * b + (1 - mu) * g),
        g if b is None else mu * b + (1 - mu) * g), "an average instead of a sum"),
    ("adam_step", lambda *a: adam(*a, sign=-1.0), "the sign"),
    ("adam_step", lambda *a: adam(*a, correct=False), "the bias correction missing"),
    ("adam_step", lambda *a: adam(*a, root=False), "the square root forgotten"),
    ("cross_entropy", naive_cross_entropy, "not stable for large logits"),
    ("cross_entropy", lambda z, t: -stable_cross_entropy(z, t), "the sign"),
    ("cross_entropy", lambda z, t: -(-stable_cross_entropy(z, t)).exp(), "the log forgotten"),
    ("linear_backward", lambda W, x, g: (
        [[gi * xj for gi in g] for xj in x],
        [sum(row[j] * gi for row, gi in zip(W, g)) for j in range(len(x))]), "dW transposed"),
    ("linear_backward", lambda W, x, g: (
        [[gi * xj for xj in x] for gi in g],
        [sum(W[j][i] * g[i] for i in range(len(g))) for j in range(len(x))]),
     "W not transposed for dx"),
    ("linear_backward", lambda W, x, g: (
        [[gi * xj for xj in x] for gi in g], [W[0][j] * g[0] for j in range(len(x))]),
     "only one output's gradient in dx"),
    ("l2_gradient", lambda d, a: a * d, "the 2 forgotten"),
    ("l2_gradient", lambda d, a: 2 * d, "alpha forgotten"),
    ("l2_gradient", lambda d, a: -2 * a * d, "the sign"),
    ("hinge", lambda s, y: Value.sum([(1 - a * b).relu() for a, b in zip(s, y)]),
     "the sum, not the mean"),
    ("hinge", lambda s, y: Value.sum([(-a * b).relu() for a, b in zip(s, y)]) / len(s),
     "the margin forgotten"),
    ("hinge", lambda s, y: Value.sum([(1 - a).relu() for a in s]) / len(s),
     "the label ignored"),
    ("binary_cross_entropy", lambda z, y: Value.sum(
        [-(b * a.sigmoid().log() + (1 - b) * (1 - a.sigmoid()).log()) for a, b in zip(z, y)]
    ) / len(z), "not stable for large logits"),
    ("binary_cross_entropy", lambda z, y: Value.sum(
        [a.relu() - a * b + ((-abs(a)).exp() + 1).log() for a, b in zip(z, y)]),
     "the sum, not the mean"),
    ("binary_cross_entropy", lambda z, y: Value.sum(
        [a * b - a.relu() - ((-abs(a)).exp() + 1).log() for a, b in zip(z, y)]) / len(z),
     "the sign"),
]


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_solution_passes(name):
    result = ex.check(name, REFERENCES[name])
    assert result.passed, str(result)


@pytest.mark.parametrize("name, wrong, mistake", WRONG, ids=[f"{n}-{m}" for n, _, m in WRONG])
def test_catalogued_mistake_is_named(name, wrong, mistake):
    result = ex.check(name, wrong)
    assert result.status == "failed" and result.mistake == mistake, str(result)
    assert result.example and result.expected and result.got and result.revisit


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("stub", [lambda *a: 0.0, lambda *a: 1.0, lambda *a: None,
                                  lambda *a: a[0], lambda *a: a[-1]],
                         ids=["zero", "one", "none", "first-input", "last-input"])
def test_stubs_fail(name, stub):
    assert ex.check(name, stub).status == "failed"


def test_an_unknown_mistake_still_gets_the_smallest_failing_input_and_both_numbers():
    result = ex.check("tanh_derivative", lambda x, out: 1.0 - out ** 2 + (x > 1))
    assert result.status == "failed" and result.mistake == ""
    assert result.example.startswith("x = 2") and result.expected == "0.0706508"
    assert result.got == "1.07065"


# --- backward ------------------------------------------------------------------------

def topological(root, visited_set=True):
    order, seen = [], set()

    def build(v):
        if visited_set and v in seen:
            return
        seen.add(v)
        for child in v.children:
            build(child)
        order.append(v)
    build(root)
    return order


def reference_backward(root):
    root.grad = 1.0
    for v in reversed(topological(root)):
        for child, local in zip(v.children, v.local_grads):
            child.grad += local * v.grad


def unseeded(root):
    for v in reversed(topological(root)):
        for child, local in zip(v.children, v.local_grads):
            child.grad += local * v.grad


def overwriting(root):
    root.grad = 1.0
    for v in reversed(topological(root)):
        for child, local in zip(v.children, v.local_grads):
            child.grad = local * v.grad


def forward_order(root):
    root.grad = 1.0
    for v in topological(root):
        for child, local in zip(v.children, v.local_grads):
            child.grad += local * v.grad


def depth_first_at_once(root):
    # Passes a node's gradient on as soon as it is reached: before all of it has arrived.
    root.grad = 1.0
    seen = {root}
    stack = [root]
    while stack:
        v = stack.pop()
        for child, local in zip(v.children, v.local_grads):
            child.grad += local * v.grad
            if child not in seen:
                seen.add(child)
                stack.append(child)


def shared_twice(root):
    root.grad = 1.0
    for v in reversed(topological(root, visited_set=False)):
        for child, local in zip(v.children, v.local_grads):
            child.grad += local * v.grad


def test_reference_backward_passes():
    result = ex.check("backward", reference_backward)
    assert result.passed, str(result)


@pytest.mark.parametrize("wrong, mistake", [
    (unseeded, "not seeding the output with 1"),
    (overwriting, "overwriting instead of accumulating"),
    (forward_order, "processing nodes out of topological order"),
    (depth_first_at_once, "processing nodes out of topological order"),
    (shared_twice, "visiting a shared node twice"),
])
def test_catalogued_backward_mistake_is_named(wrong, mistake):
    result = ex.check("backward", wrong)
    assert result.status == "failed" and result.mistake == mistake, str(result)
    assert ".grad = " in result.expected and ".grad = " in result.got


def test_overwriting_shows_half_the_gradient_of_x_times_x():
    result = ex.check("backward", overwriting)
    assert result.example.startswith("y = x * x")
    assert (result.expected, result.got) == ("x.grad = 6", "x.grad = 3")


calls_backward = Value.backward
grad_function = autograd.grad


@pytest.mark.parametrize("cheat", [
    lambda root: root.backward(),
    lambda root: calls_backward(root),            # a reference kept before the check
    lambda root: grad_function(root, [root]) and reference_backward(root),
    lambda root: (autograd.grad(root, [root]), reference_backward(root)),
], ids=["method", "kept-reference", "kept-grad", "grad"])
def test_the_engines_own_backward_is_refused(cheat):
    result = ex.check("backward", cheat)
    assert result.status == "refused", str(result)


@pytest.mark.parametrize("stub", [lambda root: None, lambda root: setattr(root, "grad", 1.0),
                                  lambda root: [setattr(c, "grad", 1.0) for c in root.children]],
                         ids=["nothing", "seed-only", "ones"])
def test_backward_stubs_fail(stub):
    assert ex.check("backward", stub).status == "failed"


# --- placeholders, hints, the result's two faces -------------------------------------

@pytest.mark.parametrize("name", sorted(ex.EXERCISES))
def test_placeholder_is_not_attempted_yet_without_raising(name):
    result = ex.check(name, placeholder)
    assert result.status == "not attempted yet" and not result.passed


def test_hints_come_one_at_a_time_and_stop_at_the_last():
    total = len(ex.EXERCISES["backward"].hints)
    shown = [ex.hint("backward") for _ in range(total + 1)]
    assert [h.number for h in shown] == [*range(1, total + 1), total]
    assert len({h.text for h in shown}) == total


def test_html_escapes_the_learners_text():
    result = ex.check("log_derivative", lambda x, out: "<b>oops</b>" if x else 0)
    assert "<b>oops" not in result._repr_html_()
    nasty = ex.check("log_derivative", lambda x, out: (_ for _ in ()).throw(
        ValueError("<script>")))
    assert "<script>" in str(nasty) and "<script>" not in nasty._repr_html_()


def test_bad_names_and_solutions_raise():
    with pytest.raises(ValueError, match="no exercise called 'tanh'"):
        ex.check("tanh", placeholder)
    with pytest.raises(TypeError, match="name must be a string"):
        ex.check(3, placeholder)
    with pytest.raises(TypeError, match="solution must be a function"):
        ex.check("backward", 3)
    with pytest.raises(TypeError, match="solution must be a function"):
        ex.check("tanh_derivative", None)


def test_every_exercise_names_an_existing_notebook():
    from pathlib import Path
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    for exercise in ex.exercises():
        assert (notebooks / exercise.notebook).is_file(), exercise.name


# --- the command line ----------------------------------------------------------------

def test_command_lists_every_exercise_with_its_notebook(capsys):
    from nn.cli import main
    assert main(["exercises"]) == 0
    out = capsys.readouterr().out
    for exercise in ex.exercises():
        assert exercise.name in out and exercise.notebook in out


def test_command_checks_a_file(tmp_path, capsys):
    from nn.cli import main
    good = tmp_path / "good.py"
    good.write_text("def tanh_derivative(x, out):\n    return 1 - out ** 2\n")
    bad = tmp_path / "bad.py"
    bad.write_text("def tanh_derivative(x, out):\n    return 1 - x ** 2\n")
    assert main(["check", "tanh_derivative", str(good)]) == 0
    assert "passed" in capsys.readouterr().out
    assert main(["check", "tanh_derivative", str(bad)]) == 1
    assert "x where out is meant" in capsys.readouterr().out
    assert main(["check", "backward", str(good)]) == 2
    assert "defines no function backward()" in capsys.readouterr().err
    assert main(["check", "nope", str(good)]) == 2
    assert main(["check", "backward", str(tmp_path / "missing.py")]) == 2
