"""The engine's bookkeeping: topological order, the backward loop, undoing broadcasting.

Primitives (ops.py) only know local derivative rules. Everything global lives here:
the order in which nodes are visited, summing the contributions a node receives from its
consumers, and undoing broadcasting (`sum_to_shape`). Nothing here knows any op by name.
The guard rails (version checks, anomaly checks) live in guards.py, the thread-local
switches (grad mode, scope, anomaly mode) in modes.py.
"""

import functools
from operator import attrgetter

import numpy as np

from .guards import check_backward, check_saved, clock
from .modes import (  # noqa: F401  # noqa: F401  (re-exported)
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    modes,
    no_grad,
    scope,
    set_grad_enabled,
)

_data = attrgetter("_data")  # map(_data, parents): no comprehension frame (Python 3.11)


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum `grad` down to `shape`."""
    if grad.shape == shape:
        return grad
    axes = _broadcast_axes(grad.shape, shape)
    return np.add.reduce(grad, axis=axes, keepdims=True).reshape(shape)


@functools.lru_cache(maxsize=1024)  # a training step meets the same few shape pairs each time
def _broadcast_axes(big, shape):
    """The axes along which broadcasting stretched `shape` to `big`.

    Broadcasting prepends size-1 axes and stretches size-1 axes, so the gradient of the
    smaller operand is the sum over the prepended axes and over the stretched ones.
    """
    lead = len(big) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and big[lead + i] != 1
    )


def inputs(node):
    """node's inputs as they were when its op ran.

    An in-place op rewrites a tensor's history: after `y += 1`, the object `y` is the result
    of that add, and the previous version of y lives on as `y._previous`. A node that used y
    before the write must still reach that previous version. It can tell: y's `_recorded` is
    then later than its own (a parent is otherwise always recorded before its consumers).
    The edge is repointed once, for good, so later walks (and drawings) see it directly.
    """
    recorded = node._recorded
    parents = node._parents
    for p in parents:
        if p._recorded > recorded:
            fixed = []
            for p in parents:
                while p._recorded > recorded:  # step back through the in-place versions
                    p = p._previous
                fixed.append(p)
            node._parents = parents = tuple(fixed)
            break
    return parents


def toposort(root):
    """Nodes that require grad, every parent before its children, without recursion.

    Depth-first with an explicit stack of (node, iterator over its parents), so a
    100,000-deep chain needs no recursion limit. A node is emitted once all its parents are
    (post-order). `seen` is keyed by identity, so two equal-valued tensors stay two nodes.
    A node recorded after the last in-place write cannot have a rewritten input: it skips
    `inputs` (one comparison; a training step writes nothing between forward and backward).
    """
    written = clock[0]
    order, seen = [], {id(root)}
    stack = [(root, iter(inputs(root)))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent._requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                grandparents = parent._parents
                if grandparents and parent._recorded < written:  # a write since: rewritten?
                    grandparents = inputs(parent)
                stack.append((parent, iter(grandparents)))
                break
        else:  # every parent is emitted: emit the node
            stack.pop()
            order.append(node)
    return order


def backward(root, gradient):
    """Add d(root)/d(node) * gradient to `.grad` of every node under `root` that requires grad.

    The contributions travelling through the graph live in a private dict, never in `.grad`:
    calling backward twice therefore adds exactly one more contribution, instead of sending
    an already accumulated `.grad` down the graph again. `.grad` is written only after the
    whole walk succeeded, so an op that raises half-way leaves every `.grad` untouched.
    """
    pending = {id(root): gradient}
    done = []
    written = clock[0]  # no in-place write since a node was recorded: nothing to check
    anomaly = modes.anomaly
    for node in reversed(toposort(root)):
        grad = pending.pop(id(node), None)
        if grad is None:  # every op returned None for this input: nothing flows here
            continue
        done.append((node, grad))
        op = node._op
        if op is None:
            continue
        parents = node._parents
        if node._recorded < written:  # some write happened since: were our values touched?
            check_saved(node, parents)
        in_grads = op.backward(grad, node._data, *map(_data, parents))
        if anomaly:
            check_backward(node, parents, in_grads)
        owner = grad if grad.base is None else grad.base  # numpy's views point at the owner
        for parent, g in zip(parents, in_grads):
            if g is None or not parent._requires_grad:
                continue
            data = parent._data
            if g.shape != data.shape:  # a broadcast input: summing down makes a new array
                g = sum_to_shape(g, data.shape)
            if g.dtype != data.dtype:
                g = g.astype(data.dtype)
            key = id(parent)
            if key in pending:
                pending[key] += g  # ours alone: every pending array is fresh or a copy
            else:
                # An op may pass `grad` through (add) or return a view of it (reshape): a
                # copy, so that no two `.grad` arrays share memory and `+=` above is safe.
                pending[key] = g.copy() if g is grad or g.base is owner else g
    for node, grad in done:  # only now, when nothing can raise any more: write every .grad
        if grad.__class__ is not np.ndarray:  # numpy's 0-d arithmetic returns np.float64
            grad = np.asarray(grad)
        if node._grad is None:  # the common case, inlined: store the array
            node._grad = grad
        else:
            node._accumulate_grad(grad)
