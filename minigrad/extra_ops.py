"""Primitives beyond the lesson's (ops.py): permute, sin, cos, where, cat, setitem, cast.

The same kind of class as in ops.py (forward, backward, the derivation, the torch replay,
`args`, `reads`), registered in the same table, ops.PRIMITIVES. SetItem is what an in-place
write records (`t[i] = v`, `fill_`, `copy_`, inplace.py); Cast is `to(dtype)` and `clone()`.
"""

import numpy as np

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

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, grad, out, x):
        return (grad.transpose(np.argsort(self.dims)),)

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
        return (grad * np.cos(x),)

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
        return (-grad * np.sin(x),)

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
        return np.where(self.condition, grad, zero), np.where(self.condition, zero, grad)

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
        return tuple(np.split(grad, ends[:-1], axis=self.dim))

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
        dx = np.array(grad)  # a copy (and an array: a 0-d grad may come as a numpy scalar)
        dx[self.index] = 0
        return dx, np.asarray(grad[self.index])

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
        return (grad.astype(x.dtype),)

    def replay(self, torch, x):
        dtype = torch.from_numpy(np.empty(0, self.dtype)).dtype
        return x.to(dtype, copy=True)  # a node of its own even when the dtype stays


def flat_positions(torch, x, index):
    """torch's x[index] by the flat positions numpy's index selects (any numpy index)."""
    where = np.arange(x.numel()).reshape(tuple(x.shape))[index]
    return torch.from_numpy(np.array(where, dtype=np.int64))
