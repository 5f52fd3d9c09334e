"""nn.optim.lr_scheduler against the schedules' formulas, worked by hand."""

import json
import math

import pytest

from autograd import Value
from nn.optim import SGD, Adam
from nn.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LambdaLR, StepLR


def schedule(make_scheduler, lr, epochs):
    """The lr after creation and after each of `epochs` steps, as the optimizer sees it."""
    optimizer = SGD([Value(0.0)], lr=lr)
    scheduler = make_scheduler(optimizer)
    seen = [optimizer.lr]
    assert scheduler.get_last_lr() == [optimizer.lr]
    for epoch in range(1, epochs + 1):
        optimizer.step()
        scheduler.step()
        assert scheduler.last_epoch == epoch
        assert scheduler.get_last_lr() == [optimizer.lr]
        seen.append(optimizer.lr)
    return seen


def assert_all_close(values, expected):
    assert len(values) == len(expected)
    for epoch, (a, b) in enumerate(zip(values, expected)):
        assert math.isclose(a, b, rel_tol=1e-14, abs_tol=1e-300), f"epoch {epoch}: {a} != {b}"


def test_step_lr_by_hand():
    # 0.5 for epochs 0-2, 0.05 for 3-5, 0.005 for 6-7
    assert_all_close(schedule(lambda o: StepLR(o, step_size=3), 0.5, 7),
                     [0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.005, 0.005])
    assert_all_close(schedule(lambda o: StepLR(o, step_size=1, gamma=0.5), 1.0, 3),
                     [1.0, 0.5, 0.25, 0.125])


def test_exponential_lr_by_hand():
    assert_all_close(schedule(lambda o: ExponentialLR(o, gamma=0.5), 2.0, 4),
                     [2.0, 1.0, 0.5, 0.25, 0.125])
    assert_all_close(schedule(lambda o: ExponentialLR(o, gamma=1.0), 0.3, 3), [0.3] * 4)


def test_cosine_annealing_by_hand():
    # T_max = 4, lr 1 -> 0: (1 + cos(k pi / 4)) / 2 for k = 0..8 is 1, (2 + sqrt 2) / 4,
    # 1/2, (2 - sqrt 2) / 4, 0, then back up (no restart): the cosine goes on.
    r = math.sqrt(2)
    assert_all_close(schedule(lambda o: CosineAnnealingLR(o, T_max=4), 1.0, 8),
                     [1.0, (2 + r) / 4, 0.5, (2 - r) / 4, 0.0, (2 - r) / 4, 0.5, (2 + r) / 4,
                      1.0])
    # eta_min 0.1, lr 0.5: 0.1 + 0.4 (1 + cos(k pi / 2)) / 2 = 0.5, 0.3, 0.1, 0.3, 0.5
    assert_all_close(schedule(lambda o: CosineAnnealingLR(o, T_max=2, eta_min=0.1), 0.5, 4),
                     [0.5, 0.3, 0.1, 0.3, 0.5])


def test_lambda_lr_gives_the_micrograd_demo_schedule():
    # micrograd's demo: lr = 1.0 - 0.9 * k / 100, from 1.0 down to 0.109 at k = 99.
    lrs = schedule(lambda o: LambdaLR(o, lambda k: 1.0 - 0.9 * k / 100), 1.0, 99)
    assert lrs[0] == 1.0 and math.isclose(lrs[50], 0.55) and math.isclose(lrs[99], 0.109)
    # base lr 0.2 times the factor
    assert_all_close(schedule(lambda o: LambdaLR(o, lambda k: 1 / (k + 1)), 0.2, 3),
                     [0.2, 0.1, 0.2 / 3, 0.05])


def test_the_optimizer_steps_with_the_scheduled_lr():
    # SGD with gradient 1 moves theta by -lr each step: 1 - (1 + 0.5 + 0.25) = -0.75.
    theta = Value(1.0)
    optimizer = SGD([theta], lr=1.0)
    scheduler = ExponentialLR(optimizer, gamma=0.5)
    for _ in range(3):
        theta.grad = 1.0
        optimizer.step()
        scheduler.step()
    assert theta.data == -0.75
    assert optimizer.lr == 0.125 and optimizer.param_groups[0]["lr"] == 0.125


def test_base_lr_is_the_optimizers_lr_at_creation():
    optimizer = Adam([Value(0.0)], lr=0.02)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    assert scheduler.base_lrs == [0.02]
    for _ in range(4):
        scheduler.step()
    assert math.isclose(optimizer.lr, 0.02 * 0.25, rel_tol=1e-15)


def test_growing_schedule_saturates_at_infinity_instead_of_raising():
    scheduler = ExponentialLR(SGD([Value(0.0)], lr=1.0), gamma=2.0)
    assert scheduler.lr_at(1.0, 5000) == math.inf


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, step_size=3, gamma=0.5),
    lambda o: ExponentialLR(o, gamma=0.9),
    lambda o: CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    lambda o: LambdaLR(o, lambda k: 0.5 ** k),
], ids=["StepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR"])
def test_state_dict_survives_json_and_resumes(make):
    straight = make(SGD([Value(0.0)], lr=0.1))
    for _ in range(10):
        straight.step()
    first = make(SGD([Value(0.0)], lr=0.1))
    for _ in range(4):
        first.step()
    saved = json.loads(json.dumps(first.state_dict()))
    optimizer = SGD([Value(0.0)], lr=0.7)  # another base lr, replaced by the saved one
    resumed = make(optimizer)
    resumed.load_state_dict(saved)
    assert resumed.last_epoch == 4 and resumed.get_last_lr() == first.get_last_lr()
    for _ in range(6):
        resumed.step()
    assert resumed.get_last_lr() == straight.get_last_lr()
    assert optimizer.lr == straight.get_last_lr()[0]


def test_state_dict_contents():
    scheduler = StepLR(SGD([Value(0.0)], lr=0.5), step_size=2)
    scheduler.step()
    assert scheduler.state_dict() == {"step_size": 2, "gamma": 0.1, "last_epoch": 1,
                                      "base_lrs": [0.5], "last_lr": [0.5]}
    assert repr(scheduler) == "StepLR(last_epoch=1, step_size=2, gamma=0.1)"


@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda o: StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: StepLR(o, step_size=2.5), TypeError, "step_size"),
    (lambda o: StepLR(o, step_size=2, gamma=-0.1), ValueError, "gamma"),
    (lambda o: ExponentialLR(o, gamma="0.9"), TypeError, "gamma"),
    (lambda o: ExponentialLR(o, gamma=math.nan), ValueError, "gamma"),
    (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: CosineAnnealingLR(o, T_max=10, eta_min=-1e-3), ValueError, "eta_min"),
    (lambda o: LambdaLR(o, lr_lambda=0.5), TypeError, "lr_lambda"),
    (lambda o: LambdaLR(o, lr_lambda=lambda k: -1.0), ValueError, r"lr_lambda\(0\)"),
    (lambda o: LambdaLR(o, lr_lambda=lambda k: "1"), TypeError, r"lr_lambda\(0\)"),
    (lambda o: StepLR("optimizer", step_size=1), TypeError, "optimizer"),
])
def test_bad_arguments_are_refused_by_name(make, error, words):
    with pytest.raises(error, match=words):
        make(SGD([Value(0.0)], lr=0.1))


def test_a_lambda_that_turns_negative_later_is_refused_at_that_step():
    scheduler = LambdaLR(SGD([Value(0.0)], lr=0.1), lambda k: 1.0 - k)
    scheduler.step()  # factor 0: allowed
    with pytest.raises(ValueError, match=r"lr_lambda\(2\) returned -1.0"):
        scheduler.step()


def test_load_state_dict_refuses_what_does_not_fit():
    optimizer = SGD([Value(0.0)], lr=0.1)
    saved = StepLR(optimizer, step_size=2).state_dict()
    with pytest.raises(ValueError, match="keys"):
        ExponentialLR(optimizer, gamma=0.5).load_state_dict(saved)
    with pytest.raises(ValueError, match="last_epoch"):
        StepLR(optimizer, step_size=2).load_state_dict(dict(saved, last_epoch=-3))
    with pytest.raises(ValueError, match="base_lrs"):
        StepLR(optimizer, step_size=2).load_state_dict(dict(saved, base_lrs=[0.1, 0.2]))
    with pytest.raises(ValueError, match="step_size"):
        StepLR(optimizer, step_size=2).load_state_dict(dict(saved, step_size=0))
