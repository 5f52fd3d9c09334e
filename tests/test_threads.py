"""Grad mode and tracing belong to the thread that entered them, as in PyTorch."""

from __future__ import annotations

import threading

import autograd
from autograd import Value, is_grad_enabled, no_grad


def run_in_threads(n: int, target, *args) -> list:
    """Run target(i, *args) in n threads at once; return their results, re-raising any error."""
    results: list = [None] * n
    errors: list = []
    start = threading.Barrier(n)

    def work(i: int) -> None:
        try:
            start.wait()
            results[i] = target(i, *args)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_a_thread_in_no_grad_does_not_change_another_threads_graph():
    inside, done = threading.Event(), threading.Event()

    def sit_in_no_grad() -> None:
        with no_grad():
            assert not is_grad_enabled()
            inside.set()
            done.wait(timeout=60)

    sitter = threading.Thread(target=sit_in_no_grad)
    sitter.start()
    inside.wait(timeout=60)
    try:
        assert is_grad_enabled()
        grads = []
        for _ in range(2000):
            x = Value(3.0)
            y = x * x
            y.backward()
            grads.append(x.grad)
        assert grads == [6.0] * 2000
    finally:
        done.set()
        sitter.join()


def test_a_new_thread_starts_recording_even_when_started_inside_no_grad():
    with no_grad():
        (recorded,) = run_in_threads(1, lambda i: bool((Value(2.0) * 3).children))
        assert not (Value(2.0) * 3).children
    assert recorded


def test_overlapping_no_grad_blocks_in_many_threads_leave_recording_on():
    import nn

    model = nn.MLP(2, [8, 1], seed=0)
    X = [[0.1 * i, -0.05 * i] for i in range(50)]

    def predict(i: int) -> list:
        outputs = []
        for _ in range(5):
            outputs.append(model.predict(X))
        return outputs

    for _ in range(5):
        results = run_in_threads(4, predict)
        assert all(r == results[0] for r in results)
        assert is_grad_enabled()
        assert (Value(1.0) * 2).children        # this thread still records
        assert model.training                    # and no thread left the model in eval mode


def test_many_threads_each_with_their_own_graph_get_exact_gradients():
    def work(i: int) -> list[float]:
        grads = []
        for k in range(300):
            a, b = Value(1.0 + i), Value(0.5 + k / 100)
            with no_grad():                 # interleaved with other threads' graphs
                Value(0.0) + 1
            out = (a * b + a.tanh()).exp() / 10.0
            out.backward()
            grads.append((a.grad, b.grad))
        return grads

    def expected(i: int) -> list[float]:
        grads = []
        for k in range(300):
            a, b = Value(1.0 + i), Value(0.5 + k / 100)
            out = (a * b + a.tanh()).exp() / 10.0
            out.backward()
            grads.append((a.grad, b.grad))
        return grads

    results = run_in_threads(4, work)
    assert results == [expected(i) for i in range(4)]


def test_tracing_in_one_thread_leaves_other_threads_alone():
    tracing, done = threading.Event(), threading.Event()
    seen = {}

    def traced(x):
        tracing.set()
        done.wait(timeout=60)
        return x * 2

    step = autograd.compile(traced)
    tracer = threading.Thread(target=lambda: seen.setdefault("out", step(1.5)))
    tracer.start()
    tracing.wait(timeout=60)
    try:
        v = Value(2.0)
        assert float(v) == 2.0                 # would raise while tracing in this thread
        assert v.detach().data == 2.0
        with no_grad():
            pass
        assert (v > 1.0) is True               # not recorded into the other thread's trace
    finally:
        done.set()
        tracer.join()
    assert seen["out"] == 3.0
    assert step(4.0) == 8.0                    # no comparison was built into the replay


def test_two_overlapping_traces_leave_no_tracing_state_behind():
    both_inside = threading.Barrier(2)

    def traced(x):
        both_inside.wait(timeout=60)
        return x * 3

    steps = [autograd.compile(traced), autograd.compile(traced)]
    results = run_in_threads(2, lambda i: steps[i](float(i)))
    assert results == [0.0, 3.0]
    assert float(Value(1.5)) == 1.5


def test_overlapping_evaluating_blocks_restore_the_mode_only_when_the_last_one_ends():
    # Thread A enters, then B; A leaves while B is still inside, then B leaves. A block
    # that restored the mode it saw on entry would switch dropout back on under B (A saw
    # training) and leave the model in eval mode for good (B saw eval).
    import nn
    from nn.module import evaluating

    model = nn.MLP(2, [4, 1], dropout=0.5, seed=0)
    a_inside, b_inside, a_left, b_may_leave = (threading.Event() for _ in range(4))
    seen = {}

    def a() -> None:
        with evaluating(model):
            a_inside.set()
            b_inside.wait(timeout=60)
        a_left.set()

    def b() -> None:
        a_inside.wait(timeout=60)
        with evaluating(model):
            b_inside.set()
            a_left.wait(timeout=60)
            seen["inside b after a left"] = [m.training for m in model.modules()]
            b_may_leave.wait(timeout=60)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    a_left.wait(timeout=60)
    b_may_leave.set()
    for t in threads:
        t.join(timeout=60)
    assert seen["inside b after a left"] == [False] * len(list(model.modules()))
    assert all(m.training for m in model.modules())
