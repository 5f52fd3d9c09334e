"""valuegrad's scalar autograd engine: `Value`, the backward pass, and tools around it."""

from autograd.check import gradcheck
from autograd.compile import CompiledFunction, GraphChanged, compile
from autograd.engine import (
    OPS,
    Constant,
    Value,
    grad,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from autograd.render import RendererNotFoundError
from autograd.steps import BackwardStep, backward_steps
from autograd.viz import draw_dot

__all__ = [
    "CompiledFunction",
    "GraphChanged",
    "compile",
    "OPS",
    "BackwardStep",
    "Constant",
    "RendererNotFoundError",
    "Value",
    "backward_steps",
    "draw_dot",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
]
