"""The backward pass step by step: same gradients as backward(), and the chain rule in words."""

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import OPS, BackwardStep, Constant, Value, backward_steps, topological_order
from autograd.steps import _derivative_texts, value_names


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def neuron():
    """micrograd's neuron: tanh(x1*w1 + x2*w2 + b), its leaves first."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    return [x1, x2, w1, w2, b], n.tanh()


def micrograd_expression():
    """The expression of micrograd's README and test_more_ops."""
    a, b = Value(-4.0, label="a"), Value(2.0, label="b")
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    return [a, b], g


def fan_out():
    x = Value(3.0, label="x")
    return [x], x * x


def many_operands():
    ws = [Value(0.5 * i - 1.0, label=f"w{i}") for i in range(3)]
    xs = [Value(1.5 - i, label=f"x{i}") for i in range(3)]
    b = Value(0.25, label="b")
    n = Value.dot(ws, xs, b)
    m = Value.sum([n, *ws, n.sigmoid()])
    y = (m.softplus() - n.leaky_relu(0.1) * abs(xs[0])).exp().log() / (1.0 + (m * m).sqrt() ** 2)
    return ws + xs + [b], y.sin() * y.cos() + Value.dot(ws[:2], xs[:2])


GRAPHS = [neuron, micrograd_expression, fan_out, many_operands]


def all_grads(root):
    return [bits(v.grad) for v in topological_order(root)]


@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("gradient", [1.0, -2.5])
def test_exhausting_the_steps_leaves_the_gradients_of_backward_bit_for_bit(build, gradient):
    _, expected_root = build()
    expected_root.backward(gradient)
    _, root = build()
    for _ in backward_steps(root, gradient):
        pass
    assert all_grads(root) == all_grads(expected_root)


@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
def test_leaves_keep_accumulating_as_with_backward(build):
    leaves, expected_root = build()
    expected_root.backward()
    expected_root.backward()
    leaves2, root = build()
    root.backward()
    list(root.backward_steps())
    assert all_grads(root) == all_grads(expected_root)
    for leaf, twice in zip(leaves, leaves2):
        assert bits(twice.grad) == bits(leaf.grad)


def test_closing_early_keeps_what_leaves_held_before():
    x = Value(3.0, label="x")
    x.grad = 5.0
    y = (x * 2.0).tanh()          # two steps: tanh, then *
    steps = backward_steps(y)
    next(steps)                   # only tanh: nothing reached x yet
    steps.close()
    assert x.grad == 5.0


def test_one_step_per_interior_node_in_backward_order():
    _, root = micrograd_expression()
    order = topological_order(root)
    interior = [v for v in reversed(order) if v._prev]
    steps = list(backward_steps(root))
    assert [s.node for s in steps] == interior
    assert [s.index for s in steps] == list(range(len(interior)))
    for s in steps:
        assert isinstance(s, BackwardStep)
        assert s.op == s.node._op and s.operands == s.node._prev
        assert s.local_grads == s.node._local_grads


def test_each_step_adds_local_times_upstream_to_each_operand():
    _, root = many_operands()
    for s in backward_steps(root):
        for before, after, local in zip(s.grads_before, s.grads_after, s.local_grads):
            assert bits(after) == bits(before + local * s.node_grad)


def test_a_leaf_makes_no_step_but_gets_its_gradient():
    x = Value(4.0, label="x")
    assert list(backward_steps(x, 3.0)) == []
    assert x.grad == 3.0


def test_fan_out_updates_the_same_value_twice():
    # y = x * x at x = 3: each operand gets x.data * y.grad = 3, so x.grad = 6 = 2x.
    (x,), y = fan_out()
    (step,) = list(backward_steps(y))
    assert step.operands == (x, x)
    assert step.grads_before == (0.0, 3.0)
    assert step.grads_after == (3.0, 6.0)
    assert x.grad == 6.0
    assert step.explanation == ("x.grad += x.data (3.0) * v1.grad (1.0) = 3.0\n"
                                "x.grad += x.data (3.0) * v1.grad (1.0) = 3.0")


def test_explanations_on_a_hand_worked_neuron():
    # o = tanh(x*w + b) at x = 2, w = -3, b = 6.8813735870195432: x*w + b = 0.8814,
    # o = tanh(0.8814) = 0.7071 = 1/sqrt(2), so do/dn = 1 - o^2 = 0.5.
    # Topological order: x (v0), w (v1), x*w (v2), b, n, o.
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    b = Value(6.8813735870195432, label="b")
    n = x * w + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    steps = list(backward_steps(o))
    assert [s.explanation for s in steps] == [
        "n.grad += (sech(n.data) ** 2) (0.5) * o.grad (1.0) = 0.5",
        "v2.grad += 1.0 * n.grad (0.5) = 0.5\n"
        "b.grad += 1.0 * n.grad (0.5) = 0.5",
        "x.grad += w.data (-3.0) * v2.grad (0.5) = -1.5\n"
        "w.grad += x.data (2.0) * v2.grad (0.5) = 1.0",
    ]
    assert (x.grad, w.grad, b.grad) == pytest.approx((-1.5, 1.0, 0.5))


def test_explanation_of_division_and_constants():
    # q = a / b at a = 1, b = 4: dq/da = 1/4, dq/db = -q/b = -0.25/4 = -0.0625.
    a, b = Value(1.0, label="a"), Value(4.0, label="b")
    q = a / b
    q.label = "q"
    (step,) = list(backward_steps(q))
    assert step.explanation == (
        "a.grad += (1.0 / b.data) (0.25) * q.grad (1.0) = 0.25\n"
        "b.grad += (-q.data / b.data) (-0.0625) * q.grad (1.0) = -0.0625")
    # A number in the expression is written as itself.
    y = a * 2
    y.label = "y"
    (step,) = list(backward_steps(y))
    assert step.explanation.splitlines()[0] == "a.grad += 2.0 * y.grad (1.0) = 2.0"


def test_explanation_of_dot():
    # n = w0*x0 + w1*x1 + b: dn/dw_i = x_i, dn/dx_i = w_i, dn/db = 1.
    w0, w1 = Value(2.0, label="w0"), Value(-1.0, label="w1")
    x0, x1 = Value(0.5, label="x0"), Value(3.0, label="x1")
    b = Value(1.0, label="b")
    n = Value.dot([w0, w1], [x0, x1], b)
    n.label = "n"
    (step,) = list(backward_steps(n, 2.0))
    assert step.explanation.splitlines() == [
        "w0.grad += x0.data (0.5) * n.grad (2.0) = 1.0",
        "w1.grad += x1.data (3.0) * n.grad (2.0) = 6.0",
        "x0.grad += w0.data (2.0) * n.grad (2.0) = 4.0",
        "x1.grad += w1.data (-1.0) * n.grad (2.0) = -2.0",
        "b.grad += 1.0 * n.grad (2.0) = 2.0",
    ]


# Points where every operation is defined and differentiable.
SAMPLE_OPERANDS = {"log": (1.7,), "sqrt": (2.3,), "**": (1.3, 2.5), "leaky_relu": (-0.8, 0.1),
                   "relu": (0.6,), "abs": (-1.1,), "/": (1.2, -0.7),
                   "sum": (0.9, -0.4, 2.0), "dot": (0.9, -0.4, 1.5, 0.3, 0.2)}
# How the operations with many operands take them: sum(values), dot(weights, inputs, bias).
SAMPLE_CALLS = {"sum": lambda v: (v,), "dot": lambda v: (v[:2], v[2:4], v[4])}


def make(op: str, operands: tuple[float, ...]) -> Value:
    values = [Value(x, label=f"a{i}") for i, x in enumerate(operands)]
    if OPS[op].arity < 0:   # many operands: a static method taking them
        return getattr(Value, OPS[op].method)(*SAMPLE_CALLS[op](values))
    return getattr(values[0], OPS[op].method)(*values[1:])


@pytest.mark.parametrize("op", sorted(OPS))
def test_each_written_derivative_evaluates_to_the_local_derivative(op):
    """Evaluating the explanation's formula with the operands' data gives d node/d operand."""
    node = make(op, SAMPLE_OPERANDS.get(op, (0.9, -0.4)[:OPS[op].arity]))
    node.label = "n"
    names = value_names(topological_order(node))
    texts = _derivative_texts(node, names)
    assert not any(t.startswith("dn/") for t in texts), f"{op} has no written derivative"

    class Data:
        def __init__(self, data):
            self.data = data

    scope = {names[v]: Data(v.data) for v in topological_order(node)}
    scope.update(log=math.log, cos=math.cos, sin=math.sin,
                 sign=lambda t: math.copysign(1.0, t) if t else 0.0,
                 sigmoid=lambda t: 1.0 / (1.0 + math.exp(-t)),
                 sech=lambda t: 1.0 / math.cosh(t),
                 relu=lambda t: max(t, 0.0), step=lambda t: 1.0 if t > 0 else 0.0,
                 leaky_step=lambda t, s: 1.0 if t > 0 else s,
                 sqrt_grad=lambda out: 0.5 / out,
                 pow_base_grad=lambda a, b: b * a ** (b - 1),
                 pow_exponent_grad=lambda a, out: out * math.log(a))
    for text, local in zip(texts, node._local_grads, strict=True):
        assert float(eval(text, scope)) == pytest.approx(local, rel=1e-12), text


@settings(max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(["+", "-", "*", "tanh", "sum", "dot", "sigmoid"]),
                          st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=12),
       st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=4))
def test_random_graphs_match_backward_bit_for_bit(program, inputs):
    def build():
        nodes = [Value(x) for x in inputs] + [Constant(0.5)]
        for op, i, j in program:
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if op == "tanh":
                nodes.append(a.tanh())
            elif op == "sigmoid":
                nodes.append(b.sigmoid())
            elif op == "sum":
                nodes.append(Value.sum([a, b, a]))
            elif op == "dot":
                nodes.append(Value.dot([a, b], [b, nodes[0]], a))
            else:
                nodes.append({"+": a + b, "-": a - b, "*": a * b}[op])
        return nodes[-1]

    expected = build()
    expected.backward()
    root = build()
    list(backward_steps(root))
    assert all_grads(root) == all_grads(expected)


def test_bad_root_is_a_type_error():
    with pytest.raises(TypeError, match="root must be a Value"):
        list(backward_steps(3.0))


def test_bad_arguments_fail_at_the_call_not_at_the_first_step():
    with pytest.raises(TypeError, match="root must be a Value, got int"):
        backward_steps(3)
    with pytest.raises(TypeError, match="gradient must be a number.*str"):
        backward_steps(Value(1.0), gradient="1")


def test_a_label_that_is_an_expression_is_put_in_parentheses():
    x, w = Value(2.0, label="x1"), Value(-3.0, label="w1")
    product = x * w
    product.label = "x1 * w1"
    (step,) = list(backward_steps(product))
    assert step.explanation.splitlines() == [
        "x1.grad += w1.data (-3.0) * (x1 * w1).grad (1.0) = -3.0",
        "w1.grad += x1.data (2.0) * (x1 * w1).grad (1.0) = 2.0"]
