"""nn.optim and its schedulers against PyTorch itself (needs torch installed).

Fed the same gradients, every optimizer variant must keep the parameters
within 1e-12 relative of torch.optim's over 100 steps (in float64), and every
schedule must give the learning rates of torch.optim.lr_scheduler.
"""

import math

import pytest
import torch
from test_optim import VARIANTS, case_id, gradient_stream, run_optimizer

from autograd import Value
from nn import optim
from nn.optim import lr_scheduler


def torch_path(cls, kwargs, initial, grads):
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in initial]
    optimizer = getattr(torch.optim, cls.__name__)(params, **kwargs)
    paths = [[x] for x in initial]
    for t in range(len(grads[0])):
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g[t], dtype=torch.float64)
        optimizer.step()
        for path, p in zip(paths, params):
            path.append(p.item())
    return paths


@pytest.mark.parametrize(("cls", "kwargs"), VARIANTS, ids=case_id)
def test_optimizer_agrees_with_torch_to_1e_12_over_100_steps(cls, kwargs):
    initial = [0.5, -1.25, 2.0, 0.01]
    grads = gradient_stream(seed=11, n_params=4, n_steps=100)
    ours = run_optimizer(cls, kwargs, initial, grads)
    theirs = torch_path(cls, kwargs, initial, grads)
    for i, (path, reference) in enumerate(zip(ours, theirs)):
        for t, (a, b) in enumerate(zip(path, reference)):
            assert math.isclose(a, b, rel_tol=1e-12), f"parameter {i}, step {t}: {a} != {b}"


SCHEDULES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.97)),
    ("CosineAnnealingLR", dict(T_max=40)),
    ("CosineAnnealingLR", dict(T_max=25, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda k: 1.0 - 0.9 * k / 100)),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES, ids=[n for n, _ in SCHEDULES])
def test_schedule_agrees_with_torch(name, kwargs):
    ours_optimizer = optim.SGD([Value(0.0)], lr=0.3)
    torch_optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    ours = getattr(lr_scheduler, name)(ours_optimizer, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_optimizer, **kwargs)
    for epoch in range(101):
        assert ours.last_epoch == theirs.last_epoch == epoch
        [a], [b] = ours.get_last_lr(), theirs.get_last_lr()
        # PyTorch updates most schedules recursively from the last lr, so it
        # drifts from the closed form by rounding, up to about 1e-14 relative.
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), f"epoch {epoch}: {a} != {b}"
        assert ours_optimizer.lr == a
        torch_optimizer.step()
        ours.step()
        theirs.step()
