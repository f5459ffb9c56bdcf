"""The engine's bookkeeping: the graph walk, the backward loop, undoing broadcasting.

Primitives (ops.py) only know local rules. Everything global is here: the order of the nodes,
summing what a node receives from its consumers, undoing broadcasting. Nothing here knows an
op by name. The guard rails (guards.py) are called from two marked points of the loop.
"""

from operator import attrgetter

import numpy as np

from .guards import check_backward, check_saved, clock
from .higher import grad  # noqa: F401  (torch's autograd.grad, any order: higher.py)
from .modes import modes
from .views import inputs

# C callables for the per-edge loops: no comprehension's or lambda's frame (Python 3.11)
_data, _requires_grad = attrgetter("_data"), attrgetter("_requires_grad")


def sum_to_shape(dy, shape):
    """Undo broadcasting: sum `dy` down to `shape`."""
    if dy.shape == shape:
        return dy
    return np.add.reduce(dy, axis=broadcast_axes(dy.shape, shape), keepdims=True).reshape(shape)


def broadcast_axes(big, shape):
    """The axes along which broadcasting stretched `shape` to `big`: it prepends axes and
    stretches size-1 ones, so the smaller operand's gradient is the sum over both kinds."""
    lead = len(big) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and big[lead + i] != 1)


def walk(root, enter=None):
    """Every node under `root` (that `enter(node)` admits), each after all its parents.

    The one graph walk (toposort, check, viz). Depth-first with a stack of (node, iterator
    over its parents): a 100,000-deep chain needs no recursion; a node is emitted once all its
    parents are. `seen` holds the nodes: a Tensor hashes by identity, not by value.
    """
    order, seen = [], {root}
    stack = [(root, iter(inputs(root)))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in seen and (enter is None or enter(parent)):
                seen.add(parent)
                stack.append((parent, iter(  # inputs() only if a write came since parent
                    parent._parents if parent._recorded >= clock[0] else inputs(parent))))
                break
        else:  # every parent is emitted: emit the node
            stack.pop()
            order.append(node)
    return order


def toposort(root):
    """The nodes that require grad, every parent before its children. backward visits them
    in reverse: a node's gradient is complete once its consumers, all later here, sent theirs."""
    return walk(root, _requires_grad)


def backward(root, gradient):
    """Add d(root)/d(node) * gradient to `.grad` of every node under `root` that requires grad.

    What travels through the graph lives in `pending`, never in `.grad`: a second backward
    adds exactly one more contribution instead of sending an accumulated `.grad` down again.
    `.grad` is written only when the whole walk succeeded: a rule that raises changes none.
    """
    pending, done = {root: gradient}, []  # node -> what its consumers sent; (node, its sum)
    written, anomaly = clock[0], modes.anomaly
    for node in reversed(toposort(root)):
        dy = pending.pop(node, None)
        if dy is None:  # no gradient flows here (every rule returned None for it)
            continue
        done.append((node, dy))
        op, parents = node._op, node._parents
        if op is None:  # a leaf
            continue
        if node._recorded < written:  # guard 1: a write since the op ran; were its values?
            check_saved(node, parents)
        in_grads = op.backward(dy, node._data, *map(_data, parents))
        if anomaly:  # guard 2: detect_anomaly wants every gradient finite
            check_backward(node, parents, in_grads)
        for parent, g in zip(parents, in_grads):
            if g is None or not parent._requires_grad:
                continue
            data = parent._data  # (sum down and cast only where needed: calls cost)
            if g.shape != data.shape or g.dtype != data.dtype:
                g = sum_to_shape(g, data.shape).astype(data.dtype, copy=False)  # a new array
            elif parent not in pending and (g is dy or g.base is not None):
                g = g.copy()  # a rule may pass dy on (add) or return a view of it (reshape)
            if parent in pending:
                pending[parent] += g  # ours alone: every pending array is new or a copy
            else:
                pending[parent] = g
    for node, dy in done:  # only now, when nothing can raise any more: write every .grad
        if dy.__class__ is not np.ndarray:  # numpy's 0-d arithmetic gives numpy scalars
            dy = np.asarray(dy)
        if node._grad is None:  # the common case, inline: store the array
            node._grad = dy
        else:
            node._accumulate_grad(dy)
