"""Speed tricks, kept off the learner's path: nothing here is needed to understand the engine.

ops.py and autograd.py hold the plain rules. This module swaps faster versions of a few of
them in (enable(True), which `import minigrad` does unless the environment sets
MINIGRAD_FAST=0) and can swap the plain ones back (enable(False)). Each gives the same
numbers as the rule it replaces, up to rounding: tests/test_fast.py runs a training step
both ways, and `python -m benchmarks.step` times the step with and without this module.

- GetItem: an embedding's backward (rows picked by one integer array, C[Xb]) as one flat
  np.bincount, faster than np.add.at on rows (numpy 2's add.at is fast on single elements:
  logprobs[range(n), Yb] keeps it); a basic index (ints, slices) never picks an element
  twice, so a plain assignment does.
- Tanh and Pow: the products computed in place into one new array, not three temporaries
  (a batch-sized array each).
- Max along a dim: numpy's max and a one-hot product, where the plain rule gathers and
  scatters at the argmax with take/put_along_axis (which build index arrays in Python).
- Sum and Max: the reduced axes put back by a reshape, not np.expand_dims (Python code).
- Each of these takes numpy arrays only: given Tensors (create_graph, higher.py) it hands
  them to the plain rule, which records its steps.
- Caches for the two pure shape questions a step asks again and again: the broadcast axes
  of sum_to_shape, and the dims of a reduction.
- `lr * p.grad` (a tensor that needs no grad times a float) as plain numpy: nothing to record.
"""

import functools

import numpy as np

from . import autograd, convert, ops, views
from .modes import modes
from .tensor import Tensor, constant

_MUL = ops.Mul()  # (a primitive without arguments: any instance serves every node)


def getitem_backward(self, grad, out, x):
    if grad.__class__ is Tensor:  # Tensors (create_graph): the plain rule, which records
        return PLAIN[ops.GetItem, "backward"](self, grad, out, x)
    index = self.index
    if index.__class__ is np.ndarray and index.dtype.kind in "iu":  # C[Xb]: whole rows
        n = x.shape[0]
        rows = index.reshape(-1) % max(n, 1)  # negative rows count from the end
        size = x.size // max(n, 1)
        flat = (rows[:, None] * size + np.arange(size)).reshape(-1)  # every element's place
        dx = np.bincount(flat, weights=grad.reshape(-1), minlength=x.size)
        return (dx.astype(x.dtype, copy=False).reshape(x.shape),)
    for i in index if isinstance(index, tuple) else (index,):
        if not (i is None or i is Ellipsis or isinstance(i, (int, slice))):
            return PLAIN[ops.GetItem, "backward"](self, grad, out, x)  # an array: np.add.at
    dx = np.zeros_like(x)
    dx[index] = grad  # a basic index: no element twice, no add needed
    return (dx,)


def sum_backward(self, grad, out, x):
    if grad.__class__ is Tensor:  # (create_graph: the plain rule, which records an expand)
        return PLAIN[ops.Sum, "backward"](self, grad, out, x)
    if not self.keepdim and grad.ndim:  # the summed axes back, size 1 (a 0-d dy broadcasts)
        grad = grad.reshape([1 if i in self.dim else n for i, n in enumerate(x.shape)])
    dx = np.empty_like(x)
    dx[...] = grad  # numpy's assignment broadcasts, with no broadcast_to view in Python
    return (dx,)


def tanh_backward(self, grad, out, x):
    if grad.__class__ is Tensor:  # (in-place products are for arrays only)
        return PLAIN[ops.Tanh, "backward"](self, grad, out, x)
    dx = 1 - out * out
    dx *= grad
    return (dx,)


def pow_backward(self, grad, out, x):
    p = self.exponent
    if p == 0 or grad.__class__ is Tensor:
        return PLAIN[ops.Pow, "backward"](self, grad, out, x)
    dx = x ** (p - 1)
    dx *= p
    dx *= grad
    return (dx,)


_dims_cache = functools.lru_cache(maxsize=256)(convert.dims)


def times_number(self, number):
    """`lr * p.grad` (mul, rmul): a tensor that needs no grad times a Python float records
    nothing, so numpy directly (numpy rounds the float to a float tensor's dtype, as apply's
    path does; any other result dtype, an integer tensor's, takes apply's path: torch's
    default float). None: the plain path."""
    data = self._data * number
    if data.dtype is not self._data.dtype or views.rebased or modes.anomaly:
        return None  # a dtype to promote, a stale view?, a check: the plain path
    return constant(data if data.__class__ is np.ndarray else np.asarray(data))


def mul(self, other):
    if other.__class__ is float and not self._requires_grad:
        out = times_number(self, other)
        if out is not None:
            return out
    return self._binary(_MUL, other)  # Tensor.__mul__'s body (one call fewer)


def rmul(self, other):
    if other.__class__ is float and not self._requires_grad:
        out = times_number(self, other)
        if out is not None:
            return out
    return self._binary(_MUL, other, reflected=True)  # Tensor.__rmul__'s body


def max_forward(self, x):
    if self.dim is None:
        return np.asarray(x.max())
    # the value at the argmax `indices` (the ufunc's reduce: ndarray.max's Python wrapper skipped)
    return np.maximum.reduce(x, axis=self.dim, keepdims=self.keepdim)


def max_backward(self, grad, out, x):
    if self.dim is None or grad.__class__ is Tensor:
        return PLAIN[ops.Max, "backward"](self, grad, out, x)
    if not self.keepdim:
        grad = grad.reshape(self.indices.shape)  # the argmax's axis back, with size 1
    # one-hot along dim at the argmax (position == index), times dy: no index arrays built
    positions = np.arange(x.shape[self.dim]).reshape(
        [-1 if i == self.dim else 1 for i in range(x.ndim)])
    return ((positions == self.indices) * grad,)


def cached_dims(dim, ndim):
    if dim is None or dim.__class__ is int:  # the hashable, common questions
        return _dims_cache(dim, ndim)
    return PLAIN[convert, "dims"](dim, ndim)


FAST = {
    (ops.GetItem, "backward"): getitem_backward,
    (ops.Tanh, "backward"): tanh_backward,
    (ops.Sum, "backward"): sum_backward,
    (ops.Pow, "backward"): pow_backward,
    (ops.Max, "forward"): max_forward,
    (ops.Max, "backward"): max_backward,
    (autograd, "broadcast_axes"): functools.lru_cache(maxsize=1024)(autograd.broadcast_axes),
    (convert, "dims"): cached_dims,
    (Tensor, "__mul__"): mul,
    (Tensor, "__rmul__"): rmul,
}
PLAIN = {(owner, name): getattr(owner, name) for owner, name in FAST}


def enable(on=True):
    """Swap the fast versions in (on) or the plain rules back (off)."""
    for (owner, name), fast in FAST.items():
        setattr(owner, name, fast if on else PLAIN[owner, name])
