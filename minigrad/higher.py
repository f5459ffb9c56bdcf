"""Gradients of gradients: `backward(create_graph=True)` and `autograd.grad`, as torch's.

autograd.backward runs each primitive's rule on numpy arrays: fast, but the gradient it
gives is a dead end, nothing records how it was computed. The rules (ops.py) are written in
the forward's words (`exp: dy * y`, with both.py for the few words numpy and Tensor spell
differently), so the same rule also runs on Tensors. Given the gradient, the output and the
inputs *as Tensors*, with grad mode on, every step inside the rule is an ordinary recorded
op: the gradient is a Tensor with a graph of its own, and backward or grad can go through
it again (Hessian-vector products, gradient penalties, Newton steps, d^3 tanh).

The loop is autograd.backward's: reverse topological order, a pending sum per node, sum back
what broadcasting stretched. Only what travels differs: Tensors (create_graph) or arrays.
"""

import numpy as np

from . import autograd, both, convert
from . import tensor as core  # (tensor.py imports this module: use it only inside functions)
from .guards import check_backward, check_saved, clock
from .modes import modes, set_grad_enabled


def run(roots, seeds, create_graph):
    """{node: d(sum_i seeds_i . roots_i)/d(node)} for every node under the roots that requires
    grad; Tensors recorded in the graph if create_graph, else numpy arrays."""
    order, seen = [], set()
    for root in roots:  # one topological order for several roots: each walk skips the nodes
        if root not in seen:  # an earlier one emitted (and with them all their parents)
            part = autograd.walk(root, lambda node: node._requires_grad and node not in seen)
            seen.update(part)
            order += part
    pending = {}
    for root, seed in zip(roots, seeds):
        pending[root] = pending[root] + seed if root in pending else seed
    done, written = {}, clock[0]
    with set_grad_enabled(create_graph):  # record the rules' steps, or nothing at all
        for node in reversed(order):
            grad = pending.pop(node, None)
            if grad is None:
                continue
            done[node] = grad
            op, parents = node._op, node._parents
            if op is None:  # a leaf
                continue
            if node._recorded < written:  # (guards.py, as in autograd.backward)
                check_saved(node, parents)
            if create_graph:  # the same rule, given Tensors: each of its steps is recorded
                in_grads = op.backward(grad, node, *parents)
            else:
                in_grads = op.backward(grad, node._data, *[p._data for p in parents])
            if modes.anomaly:
                check_backward(node, parents, [g if g is None else both.data(g)
                                               for g in in_grads])
            for parent, g in zip(parents, in_grads):
                if g is None or not parent._requires_grad:
                    continue
                g = both.sum_to(g, parent._data.shape)
                if g.dtype != parent.dtype:
                    g = both.cast(g, parent.dtype)
                # out of place: a Tensor must keep its history, an array may be shared
                pending[parent] = pending[parent] + g if parent in pending else g
    return done


def seed(root, gradient, create_graph):
    """The starting gradient d(root)/d(root): an array, or a Tensor for create_graph (a
    gradient Tensor that requires grad is kept as it is: its own graph then counts too)."""
    array = convert.seed_gradient(root, gradient)  # (torch's checks and refusals)
    if not create_graph:
        return array
    if isinstance(gradient, core.Tensor) and gradient.requires_grad:
        return gradient
    return core.constant(array)


def backward(root, gradient=None):
    """Tensor.backward(create_graph=True): every `.grad` becomes a Tensor with a graph."""
    for node, g in run([root], [seed(root, gradient, True)], True).items():
        old = node.grad
        node._grad = g if old is None else old + g  # recorded too: the sum is differentiable


def _tensors(x, what):
    items = [x] if isinstance(x, core.Tensor) else list(x)
    for t in items:
        if not isinstance(t, core.Tensor):
            raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, got "
                            f"{type(t).__name__}")
    return items


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of the outputs with respect to the inputs, as torch.autograd.grad.

    Returns a tuple, one entry per input: d(sum_i grad_outputs_i . outputs_i)/d(input).
    Nothing is written into any `.grad`. create_graph=True records the computation, so the
    result can be differentiated again. An input the outputs do not depend on is an error,
    unless allow_unused (then None, or zeros with materialize_grads). retain_graph is
    accepted for torch's sake: a minigrad graph lives as long as its tensors.
    """
    outputs, inputs = _tensors(outputs, "outputs"), _tensors(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, core.Tensor):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(outputs)} "
                           f"outputs and {len(grad_outputs)} grad_outputs")
    if not inputs:
        raise RuntimeError("grad requires non-empty inputs.")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    seeds = [seed(out, g, create_graph) for out, g in zip(outputs, grad_outputs)]
    done = run(outputs, seeds, create_graph)
    results = []
    for t in inputs:
        g = done.get(t)
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have "
                                   "been used in the graph. Set allow_unused=True if this "
                                   "is the desired behavior.")
            if materialize_grads:
                g = np.zeros(t.shape, t.dtype)
        if g is not None and both.is_array(g):
            g = core.constant(np.array(g))  # a copy: one array may serve several nodes
        results.append(g)
    return tuple(results)
