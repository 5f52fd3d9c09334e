"""Neural networks on the valuegrad engine: modules, losses, optimizers, data and training.

    import nn
    X, y = nn.data.make_moons(100, noise=0.1, seed=0)
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    history = nn.fit(model, X, y, loss="hinge", optimizer="sgd", lr=0.1, epochs=100)
    nn.accuracy(model, X, y)

`nn.report.TrainingReplay` records a run (as fit's callback) and writes a page replaying it.
"""

from nn import data, interop, losses, optim, plots, report  # matplotlib, torch: when used
from nn.interop import from_torch
from nn.losses import binary_cross_entropy_with_logits, cross_entropy, hinge, l2_penalty, mse
from nn.module import MLP, Dropout, Layer, Module, Neuron, load
from nn.train import History, accuracy, confusion_matrix, fit

__all__ = [
    "MLP",
    "Dropout",
    "History",
    "Layer",
    "Module",
    "Neuron",
    "accuracy",
    "binary_cross_entropy_with_logits",
    "confusion_matrix",
    "cross_entropy",
    "data",
    "fit",
    "from_torch",
    "hinge",
    "interop",
    "l2_penalty",
    "load",
    "losses",
    "mse",
    "optim",
    "plots",
    "report",
]
