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

__all__ = [
    "CompiledFunction",
    "GraphChanged",
    "compile",
    "OPS",
    "Constant",
    "Value",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
]
