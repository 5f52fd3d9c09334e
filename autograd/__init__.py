"""valuegrad's scalar autograd engine: `Value`, the backward pass, and tools around it."""

from autograd.check import gradcheck
from autograd.compile import (
    CompiledFunction,
    GraphChanged,
    PerExampleFunction,
    checked,
    compile,
    compile_per_example,
    depends_on,
)
from autograd.engine import (
    Constant,
    Value,
    define_op,
    grad,
    is_grad_enabled,
    no_grad,
    sampled,
    topological_order,
)
from autograd.expression import Expression
from autograd.forward import Dual, PerturbationConfusion, hessian, hvp, jacobian, jvp, vjp
from autograd.ops import OPS, Op
from autograd.steps import BackwardStep, backward_steps

__all__ = [
    "CompiledFunction",
    "GraphChanged",
    "PerExampleFunction",
    "compile",
    "compile_per_example",
    "checked",
    "depends_on",
    "OPS",
    "BackwardStep",
    "Constant",
    "Dual",
    "Expression",
    "PerturbationConfusion",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "vjp",
    "Op",
    "define_op",
    "GraphPage",
    "RendererNotFoundError",
    "Value",
    "backward_steps",
    "draw_dot",
    "step_through",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "sampled",
    "topological_order",
]


def __getattr__(name: str):
    # Drawing needs the graphviz package; import it on first use, so that the
    # engine itself loads with the standard library alone.
    if name == "draw_dot":
        from autograd.viz import draw_dot

        return draw_dot
    if name in ("GraphPage", "step_through"):
        from autograd import page

        return getattr(page, name)
    if name == "RendererNotFoundError":
        from autograd.render import RendererNotFoundError

        return RendererNotFoundError
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")
