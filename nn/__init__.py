"""Neural networks on the valuegrad engine: modules, losses, training."""

from nn.losses import binary_cross_entropy_with_logits, cross_entropy, hinge, l2_penalty, mse
from nn.module import MLP, Dropout, Layer, Module, Neuron, load
