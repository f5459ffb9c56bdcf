"""The engine's bookkeeping: grad mode, name scopes, topological order and the backward loop.

Primitives (ops.py) only know local derivative rules. Everything global lives here:
the order in which nodes are visited, summing the contributions a node receives from its
consumers, and undoing broadcasting (`sum_to_shape`). Nothing here knows any op by name.
"""

import contextlib
import functools
from operator import attrgetter

import numpy as np

# grad_enabled: whether new results record their op and parents (`no_grad()` switches it off);
# scope: the name path new nodes are tagged with; anomaly: check every value for NaN/inf;
# writes: a clock that ticks at every in-place write. A tensor's `_version` is the tick of its
# last write, a recorded node's `_recorded` the tick when its op ran.
_state = {"grad_enabled": True, "scope": None, "anomaly": False, "writes": 0}
_data = attrgetter("_data")  # map(_data, parents): no comprehension frame (Python 3.11)


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
def detect_anomaly():
    """Inside this block every forward result and every backward gradient is checked for
    NaN/inf; the first offender raises a RuntimeError naming its node and op."""
    previous = _state["anomaly"]
    _state["anomaly"] = True
    try:
        yield
    finally:
        _state["anomaly"] = previous


def _describe(node):
    """A node for an anomaly message: its label, shape, dtype, the op that made it, scope."""
    name = f"'{node.label}'" if node.label else "(unlabelled)"
    made = f"made by op '{node._op.name}'" if node._op is not None else "a leaf"
    where = f" in scope '{node.scope}'" if node.scope else ""
    return f"node {name} of shape {node._data.shape} ({node._data.dtype}), {made}{where}"


def check_forward(out, op, parents):
    """detect_anomaly's forward check: the op's result must be finite where inputs are.

    A non-finite input (say a leaf the user filled with -inf) is not this op's doing, so it
    passes. The new node has no label yet (labels are set after it is made): the message
    names the op, the output's shape and the inputs.
    """
    data = out._data
    if data.dtype.kind == "f" and not np.isfinite(data).all() and all(
            np.isfinite(p._data).all() for p in parents if p._data.dtype.kind == "f"):
        where = f" in scope '{out.scope}'" if out.scope else ""
        inputs = "; ".join(_describe(p) for p in parents)
        raise RuntimeError(f"Function '{op.name}' returned nan or inf values in its output "
                           f"of shape {data.shape} ({data.dtype}){where}; inputs: {inputs}")


def _check_backward(node, i, g):
    if g.dtype.kind == "f" and not np.isfinite(g).all():
        raise RuntimeError(f"Function '{node._op.name}' returned nan or inf values in its "
                           f"{i}th output, the gradient for {_describe(node._parents[i])}; "
                           f"it is input {i} of {_describe(node)}")


def _modified_error(tensor, node):
    """An input (or the result) of `node`'s op was written in place after the op ran."""
    role = "its result" if tensor is node else "input " + str(
        [p is tensor for p in node._parents].index(True))
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {_describe(tensor)}, {role} of op '{node._op.name}' (which made "
        f"{_describe(node)}), was written after the op used it. Change values after "
        "backward() (as optimizer.step() does), or run the forward pass again.")


class scope:
    """Tag every node made inside with a name path ("model/batchnorm"); viz draws them as boxes.

    A small class rather than a generator: every nn.Module call opens one, so it is hot.
    """

    __slots__ = ("name", "previous")

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.previous = outer = _state["scope"]
        _state["scope"] = self.name if outer is None else f"{outer}/{self.name}"
        return self

    def __exit__(self, *exc):
        _state["scope"] = self.previous


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


def toposort(root):
    """Nodes that require grad, every parent before its children, without recursion.

    Depth-first with an explicit stack of (node, iterator over its parents), so a
    100,000-deep chain needs no recursion limit. A node is emitted once all its parents are
    (post-order). `seen` is keyed by identity, so two equal-valued tensors stay two nodes.
    """
    order, seen = [], {id(root)}
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent._requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, iter(parent._parents)))
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
    for node in reversed(toposort(root)):
        grad = pending.pop(id(node), None)
        if grad is None:  # every op returned None for this input: nothing flows here
            continue
        done.append((node, grad))
        op = node._op
        if op is None:
            continue
        parents = node._parents
        recorded = node._recorded  # no input, nor the result, may be written since
        if node._version > recorded:
            _modified_error(node, node)
        for p in parents:
            if p._version > recorded:
                _modified_error(p, node)
        in_grads = op.backward(grad, node._data, *map(_data, parents))
        if _state["anomaly"]:
            for i, g in enumerate(in_grads):
                if g is not None and parents[i]._requires_grad:  # unused grads, as torch
                    _check_backward(node, i, g)
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
    for node, grad in done:
        if node.grad is not None:
            grad = node.grad + grad
        # numpy's 0-d arithmetic returns scalars (np.float64), not arrays; .grad is an array,
        # so that in-place updates (optimizer.zero_grad(set_to_none=False)) work
        node.grad = grad if grad.__class__ is np.ndarray else np.asarray(grad)
