"""autograd.compile: replayed gradients equal the eager engine's; shape changes are refused."""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import OPS, GraphChanged, Value

UNARY = sorted(name for name, op in OPS.items() if op.arity == 1)


def to_values(arg):
    return [to_values(a) for a in arg] if isinstance(arg, list) else Value(arg)


def eager_grads(fn, args, params):
    for p in params:
        p.grad = 0.0
    out = fn(*[to_values(arg) for arg in args])
    out.backward()
    return out.data, [p.grad for p in params]


def replay_grads(step, args, params):
    for p in params:
        p.grad = 0.0
    data = step(*args)
    return data, [p.grad for p in params]


def assert_close(a, b, rel=1e-12):
    assert math.isclose(a, b, rel_tol=rel, abs_tol=1e-300) or (math.isnan(a) and math.isnan(b))


def mlp_loss(weights, bias):
    def loss(xs, ys):
        total = 0
        for x, y in zip(xs, ys):
            hidden = [Value.dot(w, x, b).tanh() for w, b in zip(weights[:-1], bias[:-1])]
            score = Value.dot(weights[-1], hidden, bias[-1])
            total = total + (1 - y * score).relu() + (score - y) ** 2 / 4
        return total / len(xs) + 1e-3 * Value.sum(p * p for w in weights for p in w)
    return loss


def make_mlp(seed):
    rng = random.Random(seed)
    weights = [[Value(rng.uniform(-1, 1)) for _ in range(2)] for _ in range(3)]
    weights.append([Value(rng.uniform(-1, 1)) for _ in range(3)])
    bias = [Value(rng.uniform(-0.5, 0.5)) for _ in range(4)]
    return weights, bias, [p for w in weights for p in w] + bias


def test_mlp_replay_matches_eager_on_new_data_and_new_parameters():
    weights, bias, params = make_mlp(0)
    loss = mlp_loss(weights, bias)
    step = autograd.compile(loss)
    rng = random.Random(1)
    for _ in range(5):
        xs = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(8)]
        ys = [rng.choice([-1.0, 1.0]) for _ in range(8)]
        expected, expected_grads = eager_grads(loss, [xs, ys], params)
        got, got_grads = replay_grads(step, [xs, ys], params)
        assert got == expected
        assert got_grads == expected_grads      # the same operations in the same order
        for p in params:                        # parameters move: the replay must read them
            p.data -= 0.1 * p.grad


def test_grads_accumulate_like_backward():
    weights, bias, params = make_mlp(2)
    step = autograd.compile(mlp_loss(weights, bias))
    xs, ys = [[0.5, -1.0], [1.5, 0.25]], [1.0, -1.0]
    for p in params:
        p.grad = 0.0
    step(xs, ys)
    once = [p.grad for p in params]
    step(xs, ys)
    assert [p.grad for p in params] == [2 * g for g in once]


def test_forward_only_leaves_grads_alone():
    weights, bias, params = make_mlp(3)
    loss = mlp_loss(weights, bias)
    step = autograd.compile(loss)
    xs, ys = [[0.1, 0.2]], [1.0]
    expected = eager_grads(loss, [xs, ys], [])[0]
    for p in params:
        p.grad = 7.0
    assert step.forward(xs, ys) == expected
    assert all(p.grad == 7.0 for p in params)


@st.composite
def expressions(draw, depth=3):
    """A random function of two inputs and one parameter, built from every operation."""
    ops = draw(st.lists(st.sampled_from(UNARY + ["+", "-", "*", "/", "**", "leaky_relu",
                                                 "sum", "dot"]),
                        min_size=1, max_size=depth))
    return ops


def build(ops, a, b, p):
    terms = [a, b, p]
    v = a * p + b
    for op in ops:
        other = terms[len(str(op)) % 3]
        if op in UNARY:   # on [0.5, 1.5], inside every operation's domain
            t = v.tanh()
            v = getattr(t * t + 0.5, OPS[op].method)()
        elif op == "+":
            v = v + other
        elif op == "-":
            v = other - v
        elif op == "*":
            v = v * other
        elif op == "/":
            v = v / (other * other + 1.0)
        elif op == "**":
            v = (v * v + 0.25) ** (p.tanh() + 1.5)
        elif op == "leaky_relu":
            v = v.leaky_relu(0.05)
        elif op == "sum":
            v = Value.sum([v, other, 2.0])
        elif op == "dot":
            v = Value.dot([v, p], [other, 0.5], b)
    return v


@settings(max_examples=60, deadline=None)
@given(ops=expressions(),
       a=st.floats(-2, 2), b=st.floats(-2, 2), p=st.floats(-1.5, 1.5),
       a2=st.floats(-2, 2), b2=st.floats(-2, 2))
def test_random_expressions_replay_equal_eager(ops, a, b, p, a2, b2):
    param = Value(p)
    fn = lambda x, y: build(ops, x, y, param)  # noqa: E731
    step = autograd.compile(fn)
    for args in ([a, b], [a2, b2]):
        expected, (expected_grad,) = eager_grads(fn, args, [param])
        got, (got_grad,) = replay_grads(step, args, [param])
        assert_close(got, expected)
        assert_close(got_grad, expected_grad)


def test_branch_on_a_comparison_is_guarded():
    w = Value(1.0)

    def f(x):
        return x * w if x > 0 else x * x * w
    step = autograd.compile(f)
    assert step(2.0) == 2.0
    assert step(3.0) == 3.0
    with pytest.raises(GraphChanged, match="comparison made while tracing"):
        step(-1.0)
    step.retrace()
    assert step(-1.0) == 1.0


def test_max_of_values_is_guarded():
    step = autograd.compile(lambda xs: max(xs) * 2)
    assert step([1.0, 3.0, 2.0]) == 6.0
    with pytest.raises(GraphChanged):
        step([5.0, 3.0, 2.0])


def test_argument_structure_must_not_change():
    step = autograd.compile(lambda xs: Value.sum(xs))
    assert step([1.0, 2.0]) == 3.0
    with pytest.raises(GraphChanged, match=r"\[2 numbers\].*\[3 numbers\]"):
        step([1.0, 2.0, 3.0])


def test_bad_arguments_and_outputs():
    with pytest.raises(TypeError, match="expected a function"):
        autograd.compile(3)
    with pytest.raises(TypeError, match=r"argument\[0\]\[1\] must be a number.*str"):
        autograd.compile(lambda xs: xs[0])([1.0, "a"])
    with pytest.raises(TypeError, match="must return a Value.*float"):
        autograd.compile(lambda x: 3.0)(1.0)


def test_generated_source_is_straight_line_and_readable():
    w = Value(-3.0, label="w")
    step = autograd.compile(lambda x: (x * w).tanh())
    step(2.0)
    source = step.source
    assert "def run(R, P, scale, G, L, O, IG):" in source
    # One loop over the rows of inputs in each function; inside it, one line per operation.
    assert source.count("for ") == 2 and "while " not in source and "if " not in source
    assert "tanh(" in source
    assert step.parameters == [w]
    # d tanh(x w)/dw = x / cosh(x w)^2, at x = 2, w = -3
    assert math.isclose(w.grad, 2.0 / math.cosh(-6.0) ** 2, rel_tol=1e-12)


def test_new_targets_reach_the_replay_through_the_losses():
    from nn.losses import binary_cross_entropy_with_logits, hinge, mse

    w = Value(0.7)
    for loss in (hinge, mse):
        step = autograd.compile(lambda xs, ys, loss=loss: loss([x * w for x in xs], ys))
        xs = [0.5, -1.0, 2.0]
        for ys in ([1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]):
            expected = loss([Value(x) * w for x in xs], ys).data
            assert step(xs, ys) == expected
    step = autograd.compile(lambda zs, ys: binary_cross_entropy_with_logits(
        [z * w for z in zs], ys))
    for ys in ([1.0, 0.0], [0.0, 1.0]):
        expected = binary_cross_entropy_with_logits([Value(z) * w for z in (2.0, -1.0)], ys)
        assert step([2.0, -1.0], ys) == expected.data


@pytest.mark.parametrize("body, what", [
    (lambda x: x * float(x), "float"),
    (lambda x: x * x.detach(), "detach"),
])
def test_what_a_replay_cannot_follow_is_refused_while_tracing(body, what):
    with pytest.raises(ValueError, match=f"cannot replay {what}"):
        autograd.compile(body)(4.0)


def test_no_grad_inside_a_traced_function_is_refused():
    def f(x):
        with autograd.no_grad():
            doubled = x * 2
        return x * doubled
    with pytest.raises(ValueError, match=r"cannot replay no_grad\(\)"):
        autograd.compile(f)(4.0)
    assert autograd.is_grad_enabled()


# --- no silent wrong numbers ----------------------------------------------------------

def test_a_value_argument_gets_its_gradient():
    w = Value(2.0)
    step = autograd.compile(lambda w, x: w * x)
    assert step(w, 3.0) == 6.0
    assert w.grad == 3.0                     # as w.backward() would give
    other = Value(5.0)
    assert step(other, 4.0) == 20.0
    assert other.grad == 4.0 and w.grad == 3.0
    with pytest.raises(GraphChanged, match=r"\(Value, number\), called with \[2 numbers\]"):
        step(2.0, 3.0)                       # traced with a Value there


def test_a_computed_value_argument_is_refused():
    w = Value(2.0)
    with pytest.raises(TypeError, match=r"argument\[0\] is a Value computed by '\*'"):
        autograd.compile(lambda v: v * 3)(w * 2)


def test_a_branch_on_data_is_caught_by_the_checks():
    w = Value(1.0)

    def f(x):
        return x * w if x.data > 0 else x * x * w
    step = autograd.compile(f)
    assert step(2.0) == 2.0
    with pytest.raises(GraphChanged, match="tracing cannot see"):
        step(-1.0)


def test_dropout_masks_change_on_every_call_and_follow_eager():
    import nn

    def run(compiled):
        model = nn.MLP(3, [12, 1], seed=5, dropout=0.5)
        loss = lambda x: model(x) * model(x)  # noqa: E731
        step = autograd.compile(loss)
        outs, grads = [], []
        for x in ([0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [0.5, -1.0, 2.0], [1.0, 1.0, 1.0]):
            model.zero_grad()
            if compiled:
                outs.append(step(x))
            else:
                out = loss(x)
                out.backward()
                outs.append(out.data)
            grads.append([p.grad for p in model.parameters()])
        return outs, grads

    assert run(True) == run(False)
    outs, _ = run(True)
    assert outs[0] != outs[2]                # same input, new mask


def test_sampled_is_a_constant_eagerly():
    draws = iter([0.25, 0.75])
    v = autograd.sampled(lambda: next(draws))
    assert isinstance(v, autograd.Constant) and v.data == 0.25
    assert autograd.sampled(lambda: next(draws)).data == 0.75


@pytest.mark.parametrize("width", [3500])
def test_any_layer_width_compiles(width):
    import nn

    neuron = nn.Neuron(width, "tanh", seed=0)
    x = [((i * 37) % 11 - 5) / 10 for i in range(width)]
    step = autograd.compile(lambda x: neuron(x))
    per_example = autograd.compile_per_example(lambda x: neuron(x))
    neuron.zero_grad()
    expected = neuron(x)
    expected.backward()
    expected_grads = [p.grad for p in neuron.parameters()]
    for replay in (lambda: step(x), lambda: per_example([x])):
        neuron.zero_grad()
        assert replay() == expected.data
        assert [p.grad for p in neuron.parameters()] == expected_grads


def test_long_chains_and_sums_compile():
    w = Value(0.5)
    n = 5000
    chained = autograd.compile(lambda xs: sum((x * w for x in xs), Value(0.0)))
    summed = autograd.compile(lambda xs: Value.sum(x * w for x in xs))
    xs = [float(i % 7) for i in range(n)]
    for step in (chained, summed):
        w.grad = 0.0
        assert math.isclose(step(xs), 0.5 * sum(xs), rel_tol=1e-12)
        assert w.grad == sum(xs)


def test_a_captured_value_computed_outside_is_refused_before_it_can_differ():
    # Eagerly, h keeps the number it was computed with; a replay would recompute it from w.
    w = Value(2.0)
    h = w * 3
    step = autograd.compile(lambda a: a * h)
    assert step(1.0) == 6.0
    with pytest.raises(GraphChanged, match=r"computed \(by '\*'\) before it was called"):
        step(1.0)
    w.data = 5.0
    with pytest.raises(GraphChanged):
        step(1.0)
    assert (Value(1.0) * h).data == 6.0


def test_a_captured_value_is_refused_on_the_first_batch_of_a_per_example_replay():
    w = Value(2.0)
    h = w * 3
    step = autograd.compile_per_example(lambda a: a * h)
    with pytest.raises(GraphChanged, match="before"):
        step([1.0, 2.0])
    assert w.grad == 0.0


def test_a_mode_change_after_tracing_is_followed_by_a_whole_graph_replay():
    import nn
    model = nn.MLP(2, [8, 1], seed=3, dropout=0.5)
    step = autograd.compile(lambda x: model(x))
    for _ in range(3):          # traced in training mode, then the checks against eager
        step([0.5, -0.5])
    model.eval()
    expected = model([0.5, -0.5]).data
    assert step.forward([0.5, -0.5]) == expected
