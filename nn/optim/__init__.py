"""Optimizers and learning-rate schedules, as in PyTorch's `torch.optim`.

The optimizers and their names (`OPTIMIZERS`) live in `nn.optim.optimizers`,
the schedules in `nn.optim.lr_scheduler`; this package re-exports them.
"""

from nn.optim import lr_scheduler
from nn.optim.optimizers import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    OptimizerPreset,
    RMSprop,
    make_optimizer,
)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "OptimizerPreset",
           "OPTIMIZERS", "make_optimizer", "lr_scheduler"]
