"""Primitives beyond the lesson's (ops.py): permute, sin, cos, where, cat, setitem, cast.

The same kind of class as in ops.py (forward, backward, the derivation, the torch replay,
`args`, `reads`), registered in the same table, ops.PRIMITIVES. SetItem is what an in-place
write records (`t[i] = v`, `fill_`, `copy_`, inplace.py); Cast is `to(dtype)` and `clone()`.
"""

import numpy as np

from . import both
from .ops import Op, primitive


@primitive
class Permute(Op):
    """y = x with its axes reordered by dims  ->  dx = dy with the inverse order

    y's axis i is x's axis dims[i]; putting dy's axes back means sorting them by dims.
    """
    args = ("dims",)
    name = "permute"

    def __init__(self, dims):
        self.dims = dims
        self.inverse = tuple(int(i) for i in np.argsort(dims))  # dy's axes back in x's order

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, grad, out, x):
        return (both.permute(grad, self.inverse),)

    def replay(self, torch, x):
        return x.permute(self.dims)


@primitive
class Sin(Op):
    """y = sin(x)  ->  dx = dy * cos(x)"""
    name = "sin"
    reads = ((1,),)

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad, out, x):
        return (grad * both.cos(x),)

    def replay(self, torch, x):
        return x.sin()


@primitive
class Cos(Op):
    """y = cos(x)  ->  dx = -dy * sin(x)"""
    name = "cos"
    reads = ((1,),)

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad, out, x):
        return (-grad * both.sin(x),)

    def replay(self, torch, x):
        return x.cos()


@primitive
class Where(Op):
    """y = where(c, a, b)  ->  da = dy where c else 0, db = dy where not c else 0

    Each y_i is a_i (if c_i) or b_i: its derivative is 1 for the one it took, 0 for the
    other. The mask c is a constant; a, b and c broadcast, and the engine sums back.
    """
    name = "where"

    def __init__(self, condition):
        self.condition = condition  # a boolean array

    def forward(self, a, b):
        return np.where(self.condition, a, b)

    def backward(self, grad, out, a, b):
        zero = np.zeros((), grad.dtype)
        return both.where(self.condition, grad, zero), both.where(self.condition, zero, grad)

    def replay(self, torch, a, b):
        return torch.where(torch.from_numpy(self.condition.copy()), a, b)


@primitive
class Cat(Op):
    """y = cat(x_1, ..., x_k) along dim  ->  dx_i = the slice of dy that x_i filled

    Every element of y is one element of one x_i (derivative 1), so each x_i gets back
    the part of dy it filled.
    """
    args = ("dim",)
    name = "cat"

    def __init__(self, dim):
        self.dim = dim  # a non-negative axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.dim)

    def backward(self, grad, out, *xs):
        ends = np.cumsum([x.shape[self.dim] for x in xs])  # where each piece stops
        return both.split(grad, ends[:-1], self.dim)

    def replay(self, torch, *xs):
        return torch.cat(xs, dim=self.dim)


@primitive
class SetItem(Op):
    """y = x with y[index] = v (torch's index_put)  ->  dx = dy with dy[index] = 0, dv = dy[index]

    Outside the slots y is x (derivative 1), inside it is v: x's overwritten elements get
    nothing, v gets the slots' dy (summed by the engine where v was broadcast).
    In-place writes are recorded as this op: `t[i] = v`, `fill_`, `copy_`.
    """
    args = ("index",)
    name = "setitem"

    def __init__(self, index):
        self.index = index

    def forward(self, x, v):
        out = np.array(x)  # a copy
        out[self.index] = v
        return out

    def backward(self, grad, out, x, v):
        return both.zero_at(grad, self.index), both.take(grad, self.index)

    def replay(self, torch, x, v):
        where = flat_positions(torch, x, self.index)
        out = x.reshape(-1).clone()
        out[where] = v.expand(where.shape)
        return out.reshape(x.shape)


@primitive
class Cast(Op):
    """y = x as dtype (a copy)  ->  dx = dy as x's dtype (the identity's derivative is 1)"""
    args = ("dtype",)
    name = "cast"

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, grad, out, x):
        return (both.cast(grad, x.dtype),)

    def replay(self, torch, x):
        dtype = torch.from_numpy(np.empty(0, self.dtype)).dtype
        return x.to(dtype, copy=True)  # a node of its own even when the dtype stays


def flat_positions(torch, x, index):
    """torch's x[index] by the flat positions numpy's index selects (any numpy index)."""
    where = np.arange(x.numel()).reshape(tuple(x.shape))[index]
    return torch.from_numpy(np.array(where, dtype=np.int64))


@primitive
class Expand(Op):
    """y = x broadcast to shape (a copy)  ->  dx = dy summed back to x's shape

    Each x element is copied to every place broadcasting stretches it to (derivative 1 each),
    so it receives the sum of their dy. The backward of sum, whose backward is this expand.
    """
    args = ("shape",)
    name = "expand"

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape).copy()

    def backward(self, grad, out, x):
        return (both.sum_to(grad, x.shape),)

    def replay(self, torch, x):
        return x.expand(self.shape).clone()


@primitive
class ScatterAdd(Op):
    """y = zeros(shape), then x added at index (repeats add up)  ->  dx = dy[index]

    y_j = sum of the x_i sent to place j, so dy_j/dx_i = 1 where x_i went: x_i's gradient is
    dy at its place, the gather dy[index]. The backward of getitem, whose backward is this.
    """
    args = ("index", "shape")
    name = "scatter_add"

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, x):
        return both.scatter_add(x, self.index, self.shape)

    def backward(self, grad, out, x):
        return (both.take(grad, self.index),)

    def replay(self, torch, x):
        where = flat_positions(torch, torch.zeros(self.shape), self.index)
        flat = torch.zeros(int(np.prod(self.shape)), dtype=x.dtype)
        return flat.index_add(0, where.reshape(-1), x.expand(where.shape).reshape(-1)) \
            .reshape(self.shape)
