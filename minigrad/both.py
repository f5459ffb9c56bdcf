"""The words a backward rule uses where numpy and Tensor spell a thing differently.

Every rule in ops.py is written once, in the forward's words (`exp: dy * y`). Most of those
words, the operators + * ** @ and unary -, `reshape` and indexing, mean the same on a numpy
array and on a Tensor. The few that do not are here, each a function that looks at what it
was given:
- numpy arrays (`backward()`, the first-order pass): plain numpy, exactly the code the rule
  had before; no Tensor is made, no node recorded, nothing slower;
- Tensors (`backward(create_graph=True)`, `autograd.grad`, higher.py): the same step as
  primitives, so it is recorded and the gradient can be differentiated again.

Each Tensor branch uses a primitive whose own backward is again written in these words
(scatter-add's is indexing, expand's is sum_to, ...): every order of derivative is covered.
"""

import numpy as np


def is_array(x):
    """numpy's side? (0-d numpy arithmetic gives numpy scalars, np.generic, not arrays)"""
    return isinstance(x, (np.ndarray, np.generic))


def data(x):
    """The values, as an array: for masks, indices and shapes, which carry no gradient."""
    return x if is_array(x) else x._data


def maxima(x, y):
    """Where x equals its maximum y (where x is NaN, if y is): a boolean array, a constant."""
    x, y = data(x), data(y)
    return np.isnan(x) if np.isnan(y) else x == y


def _apply(op, *xs):
    from .tensor import apply  # (a late import: tensor.py imports ops.py, which imports us)
    return apply(op, *xs)


def _constant(array):
    from .tensor import constant
    return constant(np.asarray(array))


def zeros_like(x):
    """Zeros of x's shape and dtype: a constant, whatever x is (a derivative that is 0)."""
    z = np.zeros_like(data(x))
    return z if is_array(x) else _constant(z)


def expand(g, shape):
    """g broadcast to `shape`, as a new array (sum's backward; its own backward is sum_to)."""
    if is_array(g):
        return np.broadcast_to(g, shape).copy()
    from .extra_ops import Expand
    return _apply(Expand(tuple(shape)), g)


def sum_to(g, shape):
    """Undo broadcasting: sum g down to `shape` (expand's backward; its backward is expand)."""
    from .autograd import broadcast_axes, sum_to_shape
    if is_array(g):
        return sum_to_shape(g, shape)
    if g.shape == tuple(shape):
        return g
    axes = broadcast_axes(g.shape, shape)  # never empty here: the shapes differ
    return (g.sum(axes, keepdim=True) if axes else g).reshape(shape)


def scatter_add(g, index, shape):
    """zeros(shape) with g added at index, repeats accumulating (getitem's backward; its own
    backward is the gather g[index])."""
    if is_array(g):
        dx = np.zeros(shape, g.dtype)
        np.add.at(dx, index, g)
        return dx
    from .extra_ops import ScatterAdd
    return _apply(ScatterAdd(index, tuple(shape)), g)


def take(g, index):
    """g[index] with an index already in numpy's form (the op's, not a user's)."""
    if is_array(g):
        return np.asarray(g[index])
    from .ops import GetItem
    return _apply(GetItem(index), g)


def put_along(g, indices, dim, shape):
    """zeros(shape) with g put at `indices` along dim (max(dim)'s backward; one place each)."""
    if is_array(g):
        dx = np.zeros(shape, g.dtype)
        np.put_along_axis(dx, indices, g, axis=dim)
        return dx
    # the same places as one numpy index: `indices` on axis dim, a plain range on the others
    grids = np.indices(indices.shape, sparse=True)
    index = tuple(indices if axis == dim else grid for axis, grid in enumerate(grids))
    return scatter_add(g, index, shape)


def mT(x):
    """The last two axes swapped (matmul's transposes). ndarray's method: np.swapaxes is a
    Python wrapper, 1 us a call, twice per matmul in a training step."""
    return x.swapaxes(-1, -2) if is_array(x) else x.transpose(-1, -2)


def permute(x, dims):
    return x.transpose(dims) if is_array(x) else x.permute(*[int(d) for d in dims])


def sin(x):
    return np.sin(x) if is_array(x) else x.sin()


def cos(x):
    return np.cos(x) if is_array(x) else x.cos()


def where(condition, a, b):
    """a where condition else b; a, b arrays or Tensors (a number is made a constant)."""
    if is_array(a) and is_array(b):
        return np.where(condition, a, b)
    from .extra_ops import Where
    return _apply(Where(condition), *[_constant(x) if is_array(x) else x for x in (a, b)])


def zero_at(g, index):
    """g with g[index] = 0 (setitem's backward: the overwritten slots get nothing)."""
    if is_array(g):
        dx = np.array(g)  # a copy (and an array: a 0-d grad may come as a numpy scalar)
        dx[index] = 0
        return dx
    keep = np.ones(g.shape, bool)
    keep[index] = False
    return where(keep, g, np.zeros((), g.dtype))


def split(g, ends, dim):
    """g cut along dim before each of `ends` (cat's backward)."""
    if is_array(g):
        return tuple(np.split(g, ends, axis=dim))
    starts, stops = [0, *ends], [*ends, g.shape[dim]]
    lead = (slice(None),) * dim
    return tuple(take(g, lead + (slice(int(a), int(b)),)) for a, b in zip(starts, stops))


def cast(g, dtype):
    if is_array(g):
        return g.astype(dtype)
    if g.dtype == dtype:
        return g
    from .extra_ops import Cast
    return _apply(Cast(dtype), g)


def softmax(x, dim):
    """exp(x) / sum(exp(x)) along dim, shifted by the (constant) max."""
    if not is_array(x):
        return x.softmax(dim)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)
