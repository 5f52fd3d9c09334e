"""Optimizer steps, checked against `nn.optim`: one parameter, one step at a time."""

from __future__ import annotations

from typing import Any

from autograd import Value
from nn import optim
from nn.exercises.catalogue import Exercise, register
from nn.exercises.grading import Case, Mistake, WrongKind, grade, numbers
from nn.exercises.result import Result
from nn.losses import l2_penalty

REVISIT = "notebook 04, section 2: the update moves each parameter against its gradient"
_CASES = [(1.0, 0.5, 0.1), (2.0, -1.0, 0.5), (-3.0, 4.0, 0.01), (0.0, 0.0, 1.0)]


def _case(data: float, grad: float, lr: float) -> Case:
    return Case(lambda: (data, grad, lr), f"data = {data:g}, grad = {grad:g}, lr = {lr:g}")


def _sgd(data: float, grad: float, lr: float) -> float:
    parameter = Value(data)
    parameter.grad = grad
    optim.SGD([parameter], lr=lr).step()
    return parameter.data


def _new_data(answer: Any, args: tuple) -> tuple[float, ...]:
    return numbers(answer, 1, "the parameter's new data")


_MISTAKES = [
    Mistake("the sign", "Your step goes up the gradient: it makes the loss larger. The "
            "gradient points uphill, so step against it: data - lr * grad.", REVISIT,
            lambda data, grad, lr: data + lr * grad),
    Mistake("the learning rate forgotten", "Your step is the whole gradient: multiply it by "
            "the learning rate, data - lr * grad.", REVISIT,
            lambda data, grad, lr: data - grad),
    Mistake("the gradient forgotten", "Your step is the same size whatever the gradient: it "
            "must be lr times the gradient, so that a flat loss gives no step.", REVISIT,
            lambda data, grad, lr: data - lr),
]


def _grade_sgd(solution: Any) -> Result:
    return grade("sgd_step", solution, [_case(*c) for c in _CASES], _sgd, _new_data,
                 _MISTAKES, REVISIT)


register(Exercise(
    "sgd_step", "04_training.ipynb", "def sgd_step(data, grad, lr):",
    "Return a parameter's new data after one step of plain gradient descent, as "
    "nn.optim.SGD makes it, given its data, its gradient and the learning rate.",
    ("The gradient points in the direction in which the loss grows fastest.",
     "Step against it, by the learning rate times the gradient.",
     "new data = data - lr * grad."), _grade_sgd))


# --- momentum and Adam: several steps, the learner's state carried from one to the next ----

REVISIT_05 = "notebook 05: momentum adds up past gradients; Adam divides by their size"
_GRADIENTS = [(1.0,), (1.0, -2.0, 0.5), (0.3, 0.3, 0.3, -1.0)]


def _steps_case(grads: tuple[float, ...]) -> Case:
    return Case(lambda: (1.0, grads), f"data = 1, gradients {list(grads)} on successive steps")


def _datas(answer: Any, args: tuple) -> tuple[float, ...]:
    return numbers(answer, len(args[1]), "the data after each step")


def _with_nn(make: Any, data: float, grads: tuple[float, ...]) -> list[float]:
    parameter = Value(data)
    optimizer = make([parameter])
    datas = []
    for g in grads:
        parameter.grad = g
        optimizer.step()
        datas.append(parameter.data)
    return datas


def _momentum_runs(step: Any) -> Any:
    def run(data: float, grads: tuple[float, ...]) -> list[float]:
        buffer, datas = None, []
        for g in grads:
            answer = step(data, g, buffer, 0.1, 0.9)
            if not isinstance(answer, (tuple, list)) or len(answer) != 2:
                raise WrongKind("momentum_step must return two numbers: the new data and "
                                "the new buffer.")
            data, buffer = numbers(answer, 2, "(new data, new buffer)")
            datas.append(data)
        return datas
    return run


def _wrong_order(data: float, grad: float, buffer: Any, lr: float, mu: float) -> tuple:
    # The step uses the buffer of the previous step, and only then is the buffer updated.
    step = grad if buffer is None else buffer
    return data - lr * step, grad if buffer is None else mu * buffer + grad


_MOMENTUM_MISTAKES = [
    Mistake("the sign", "Your steps go up the gradient; step against it: data - lr * buffer.",
            REVISIT_05, _momentum_runs(lambda d, g, b, lr, mu: (
                d + lr * (g if b is None else mu * b + g), g if b is None else mu * b + g))),
    Mistake("the momentum buffer updated in the wrong order", "Your step used the buffer "
            "from the step before, and updated it afterwards. First fold this step's gradient "
            "into the buffer, b = momentum * b + grad, then step with the new b.", REVISIT_05,
            _momentum_runs(_wrong_order)),
    Mistake("an average instead of a sum", "Your buffer is momentum * b + (1 - momentum) * "
            "grad, an average (Adam's first moment). SGD's momentum adds the whole gradient: "
            "b = momentum * b + grad.", REVISIT_05, _momentum_runs(lambda d, g, b, lr, mu: (
                d - lr * (g if b is None else mu * b + (1 - mu) * g),
                g if b is None else mu * b + (1 - mu) * g))),
]


def _grade_momentum(solution: Any) -> Result:
    if not callable(solution):
        raise TypeError(f"check('momentum_step', solution): solution must be a function, "
                        f"got {type(solution).__name__}")
    return grade("momentum_step", _momentum_runs(solution), [_steps_case(g) for g in _GRADIENTS],
                 lambda data, grads: _with_nn(lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                                              data, grads),
                 _datas, _MOMENTUM_MISTAKES, REVISIT_05)


register(Exercise(
    "momentum_step", "05_optimizers.ipynb",
    "def momentum_step(data, grad, buffer, lr, momentum):",
    "Return (new data, new buffer) after one step of SGD with momentum, as nn.optim.SGD "
    "makes it; buffer is None on the first step, and what you returned the step before "
    "after that.",
    ("On the first step the buffer is just the gradient.",
     "After that: buffer = momentum * buffer + grad.",
     "Then step with the new buffer: data - lr * buffer."), _grade_momentum))


def _adam_runs(step: Any) -> Any:
    def run(data: float, grads: tuple[float, ...]) -> list[float]:
        state: dict[str, Any] = {}
        datas = []
        for g in grads:
            data = numbers(step(data, g, state, 0.1, 0.9, 0.999, 1e-8), 1, "the new data")[0]
            datas.append(data)
        return datas
    return run


def _adam_model(sign: float = 1.0, corrected: bool = True, root: bool = True) -> Any:
    def step(data: float, g: float, state: dict, lr: float, b1: float, b2: float,
             eps: float) -> float:
        t = state["t"] = state.get("t", 0) + 1
        m = state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        v = state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if corrected else (m, v)
        return data - sign * lr * m_hat / ((v_hat ** 0.5 if root else v_hat) + eps)
    return _adam_runs(step)


_ADAM_MISTAKES = [
    Mistake("the sign", "Your steps go up the gradient; step against it: "
            "data - lr * m_hat / (sqrt(v_hat) + eps).", REVISIT_05, _adam_model(sign=-1.0)),
    Mistake("the bias correction missing", "Your first steps are far too small. m and v start "
            "at 0, so early on they are biased towards 0; divide them by 1 - beta1^t and "
            "1 - beta2^t (t the step number, from 1) before using them.", REVISIT_05,
            _adam_model(corrected=False)),
    Mistake("the square root forgotten", "You divided by v_hat, the average squared gradient; "
            "divide by its square root, so the step has the size of lr.", REVISIT_05,
            _adam_model(root=False)),
]


def _grade_adam(solution: Any) -> Result:
    if not callable(solution):
        raise TypeError(f"check('adam_step', solution): solution must be a function, "
                        f"got {type(solution).__name__}")
    return grade("adam_step", _adam_runs(solution), [_steps_case(g) for g in _GRADIENTS],
                 lambda data, grads: _with_nn(lambda p: optim.Adam(p, lr=0.1), data, grads),
                 _datas, _ADAM_MISTAKES, REVISIT_05)


register(Exercise(
    "adam_step", "05_optimizers.ipynb",
    "def adam_step(data, grad, state, lr, beta1, beta2, eps):",
    "Return the new data after one step of Adam, as nn.optim.Adam makes it. state is a dict, "
    "empty on the first step and the same dict after that: keep the step count and the two "
    "averages in it.",
    ("Keep t (the step number, from 1), m (average gradient) and v (average squared "
     "gradient) in state.",
     "m = beta1 m + (1 - beta1) grad; v = beta2 v + (1 - beta2) grad²; then divide them by "
     "1 - beta1^t and 1 - beta2^t.",
     "new data = data - lr * m_hat / (sqrt(v_hat) + eps)."), _grade_adam))


# --- L2 regularization: what the penalty adds to each parameter's gradient ---------------

REVISIT_07 = "notebook 07: L2 adds alpha * sum(p²) to the loss, pulling every weight to 0"


def _l2(data: float, alpha: float) -> float:
    parameter = Value(data)
    l2_penalty([parameter], alpha).backward()
    return parameter.grad


def _l2_case(data: float, alpha: float) -> Case:
    return Case(lambda: (data, alpha), f"data = {data:g}, alpha = {alpha:g}")


_L2_CASES = [_l2_case(d, a) for d, a in [(1.0, 0.5), (-2.0, 0.1), (3.0, 0.01), (0.0, 1.0)]]
_L2_MISTAKES = [
    Mistake("the 2 forgotten", "The derivative of p² is 2p: the penalty adds 2 alpha p to "
            "the gradient, not alpha p.", REVISIT_07, lambda d, a: a * d),
    Mistake("alpha forgotten", "The penalty is alpha * sum(p²), so its gradient is 2 alpha p: "
            "the strength alpha scales it.", REVISIT_07, lambda d, a: 2 * d),
    Mistake("the sign", "Your gradient points towards larger weights; the penalty grows with "
            "|p|, so its gradient 2 alpha p has the sign of p.", REVISIT_07,
            lambda d, a: -2 * a * d),
]


def _grade_l2(solution: Any) -> Result:
    return grade("l2_gradient", solution, _L2_CASES, _l2,
                 lambda answer, args: numbers(answer, 1, "the gradient"), _L2_MISTAKES,
                 REVISIT_07)


register(Exercise(
    "l2_gradient", "07_regularization.ipynb", "def l2_gradient(data, alpha):",
    "Return what the L2 penalty alpha * sum(p²) (nn.l2_penalty) adds to the gradient of a "
    "parameter whose data is `data`.",
    ("Only the parameter's own term, alpha * p², depends on it.",
     "d(p²)/dp = 2p.", "The answer is 2 * alpha * data."), _grade_l2))
