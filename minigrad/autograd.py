"""The engine's bookkeeping: grad mode, name scopes, topological order and the backward loop.

Primitives (ops.py) only know local derivative rules. Everything global lives here:
the order in which nodes are visited, summing the contributions a node receives from its
consumers, and undoing broadcasting (`sum_to_shape`). Nothing here knows any op by name.
"""

import contextlib


# Whether new results record their op and parents. `no_grad()` switches it off.
_state = {"grad_enabled": True, "scope": None}


def is_grad_enabled():
    return _state["grad_enabled"]


@contextlib.contextmanager
def no_grad():
    """Inside this block results are recorded as plain constants (no op, no parents)."""
    previous = _state["grad_enabled"]
    _state["grad_enabled"] = False
    try:
        yield
    finally:
        _state["grad_enabled"] = previous


@contextlib.contextmanager
def scope(name):
    """Tag every node made inside with a name path ("model/batchnorm"); viz draws them as boxes."""
    previous = _state["scope"]
    _state["scope"] = name if previous is None else f"{previous}/{name}"
    try:
        yield
    finally:
        _state["scope"] = previous


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum `grad` down to `shape`.

    Broadcasting prepends size-1 axes and stretches size-1 axes, so the gradient of the
    smaller operand is the sum over the prepended axes and over the stretched ones.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def toposort(root):
    """Nodes that require grad, every parent before its children, without recursion.

    An explicit stack replaces the call stack, so a 100,000-deep chain needs no recursion
    limit. A node is emitted after all of its parents (post-order); `seen` is keyed by
    identity, so two equal-valued tensors stay two nodes.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in seen:
                stack.append((parent, False))
    return order


def _owner(a):
    # numpy points every view's `.base` straight at the array that owns the memory.
    return a if a.base is None else a.base


def backward(root, gradient):
    """Add d(root)/d(node) * gradient to `.grad` of every node under `root` that requires grad.

    The contributions travelling through the graph live in a private dict, never in `.grad`:
    calling backward twice therefore adds exactly one more contribution, instead of sending
    an already accumulated `.grad` down the graph again.
    """
    pending = {id(root): gradient}
    done = []  # (node, grad), written to `.grad` only after the whole walk succeeded
    for node in reversed(toposort(root)):
        grad = pending.pop(id(node), None)
        if grad is None:  # every op returned None for this input: nothing flows here
            continue
        done.append((node, grad))
        if node._op is None:
            continue
        parents = node._parents
        in_grads = node._op.backward(grad, node.data, *[p.data for p in parents])
        for parent, g in zip(parents, in_grads):
            if g is None or not parent.requires_grad:
                continue
            # An op may pass `grad` through (add) or return a view of it (reshape): copy so
            # that no two `.grad` arrays share memory.
            if _owner(g) is _owner(grad):
                g = g.copy()
            g = sum_to_shape(g, parent.data.shape)
            if g.dtype != parent.data.dtype:
                g = g.astype(parent.data.dtype)
            key = id(parent)
            pending[key] = g if key not in pending else pending[key] + g
    # An op that raised half-way (say np.seterr(all="raise") in a backward) left every .grad
    # untouched: nothing is half-updated.
    for node, grad in done:
        node.grad = grad if node.grad is None else node.grad + grad
