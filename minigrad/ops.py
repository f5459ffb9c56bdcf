"""The primitives: each one's forward, backward and one-line derivation, side by side.

A primitive is a small class. `forward(*xs)` maps numpy arrays to a numpy array.
`backward(grad, out, *xs)` gets the upstream gradient, the forward's output and its inputs,
and returns one gradient per input (None where none flows). `reads` says which values a rule
reads, per input: 0 is the output, 1, 2, ... the inputs (Mul: da = dy * b reads input 2). Backward
refuses to run a rule whose values were overwritten in place after the forward (guards.py); these
are the values torch saves. Backward may return a gradient
with the *broadcast* shape: the engine (autograd.sum_to_shape) sums it down, so no op
undoes broadcasting by itself. Non-array arguments (an exponent, a dim) live on the instance.

Everything else in minigrad (sub, div, mean, softmax, ...) is a composition of these, written
in tensor.py with a comment naming the identity it uses.
"""

import numpy as np


class Op:
    __slots__ = ()
    name = "op"
    reads = ()  # per input: the values its gradient rule reads (0: output, i: input i); none

    def __repr__(self):
        shown = [k for k in self.__slots__
                 if k not in ("indices", "inverse", "condition", "probs")]  # not args
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in shown)
        return f"{self.name}({args})"


class Add(Op):
    # y = a + b  ->  da = dy, db = dy   (sum_to_shape undoes any broadcast)
    __slots__ = ()
    name = "add"

    def forward(self, a, b):
        return a + b

    def backward(self, grad, out, a, b):
        return grad, grad


class Mul(Op):
    # y = a * b  ->  da = dy * b, db = dy * a
    __slots__ = ()
    name = "mul"
    reads = ((2,), (1,))  # da reads b, db reads a

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out, a, b):
        return grad * b, grad * a


class Pow(Op):
    # y = x ** p (p a constant)  ->  dx = dy * p * x ** (p - 1);  p == 0 gives 0, as torch
    __slots__ = ("exponent",)
    name = "pow"
    reads = ((1,),)

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent

    def backward(self, grad, out, x):
        p = self.exponent
        if p == 0:
            return (np.zeros_like(x),)
        dx = x ** (p - 1)  # a new array: the products below go into it in place, so the
        dx *= p            # rule allocates one batch-sized array, not three
        dx *= grad
        return (dx,)


class Exp(Op):
    # y = exp(x)  ->  dx = dy * y
    __slots__ = ()
    name = "exp"
    reads = ((0,),)

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad, out, x):
        return (grad * out,)


class Log(Op):
    # y = log(x)  ->  dx = dy / x
    __slots__ = ()
    name = "log"
    reads = ((1,),)

    def forward(self, x):
        return np.log(x)

    def backward(self, grad, out, x):
        return (grad / x,)


class Tanh(Op):
    # y = tanh(x)  ->  dx = dy * (1 - y**2)
    __slots__ = ()
    name = "tanh"
    reads = ((0,),)

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad, out, x):
        dx = 1 - out * out
        dx *= grad  # in place: one (batch-sized) temporary fewer
        return (dx,)


class Sin(Op):
    # y = sin(x)  ->  dx = dy * cos(x)
    __slots__ = ()
    name = "sin"
    reads = ((1,),)

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad, out, x):
        return (grad * np.cos(x),)


class Cos(Op):
    # y = cos(x)  ->  dx = -dy * sin(x)
    __slots__ = ()
    name = "cos"
    reads = ((1,),)

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad, out, x):
        return (-grad * np.sin(x),)


class Where(Op):
    # y = where(c, a, b) = a where c, b elsewhere (c a constant mask)  ->  da = dy where c,
    # else 0; db = dy where not c, else 0. a, b and c broadcast; sum_to_shape sums back.
    __slots__ = ("condition",)
    name = "where"

    def __init__(self, condition):
        self.condition = condition  # a boolean array

    def forward(self, a, b):
        return np.where(self.condition, a, b)

    def backward(self, grad, out, a, b):
        zero = np.zeros((), grad.dtype)
        return np.where(self.condition, grad, zero), np.where(self.condition, zero, grad)


class Cat(Op):
    # y = cat(x_1, ..., x_k) along dim  ->  dx_i = the slice of dy that x_i filled
    __slots__ = ("dim",)
    name = "cat"

    def __init__(self, dim):
        self.dim = dim  # a non-negative axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.dim)

    def backward(self, grad, out, *xs):
        ends = np.cumsum([x.shape[self.dim] for x in xs])  # where each piece stops
        return tuple(np.split(grad, ends[:-1], axis=self.dim))


class Sum(Op):
    # y = sum_i x_i over `dim`  ->  dx = dy, copied back along the summed axes
    __slots__ = ("dim", "keepdim")
    name = "sum"

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim  # dim: tuple of non-negative axes

    def forward(self, x):
        return np.add.reduce(x, axis=self.dim, keepdims=self.keepdim)

    def backward(self, grad, out, x):
        if not self.keepdim:  # the summed axes come back with size 1, so dy broadcasts
            grad = grad.reshape([1 if i in self.dim else n for i, n in enumerate(x.shape)])
        dx = np.empty_like(x)
        dx[...] = grad
        return (dx,)


class Max(Op):
    # y = max(x): dx = dy / k at each of the k maxima (ties split evenly), 0 elsewhere.
    # y = max(x, dim): dx = dy at the first maximal index along dim (kept in `indices`).
    __slots__ = ("dim", "keepdim", "indices")
    name = "max"

    def __init__(self, dim=None, keepdim=False):
        self.dim, self.keepdim, self.indices = dim, keepdim, None

    @property
    def reads(self):  # max(x) reads x and y; max(x, dim) only its stored indices
        return ((0, 1),) if self.dim is None else ()

    def forward(self, x):
        if self.dim is None:
            return np.asarray(x.max())
        # argmax returns the first maximum (NaN counts as maximal), as torch does
        self.indices = x.argmax(axis=self.dim, keepdims=True)
        return x.max(axis=self.dim, keepdims=self.keepdim)  # the value at that index

    def backward(self, grad, out, x):
        if self.dim is None:
            mask = np.isnan(x) if np.isnan(out) else x == out
            return (mask * (grad / mask.sum(dtype=x.dtype)),)
        if not self.keepdim:
            grad = np.expand_dims(grad, self.dim)
        # one-hot along dim at the stored index: position == index, then times dy
        positions = np.arange(x.shape[self.dim]).reshape(
            [-1 if i == self.dim else 1 for i in range(x.ndim)])
        return ((positions == self.indices) * grad,)


class MatMul(Op):
    # y = a @ b  ->  da = dy @ b^T, db = a^T @ dy
    # A 1-D a is a row (1, k), a 1-D b a column (k, 1); leading (batch) axes broadcast and
    # sum_to_shape reduces them.
    __slots__ = ()
    name = "matmul"
    reads = ((2,), (1,))

    def forward(self, a, b):
        return a @ b

    def backward(self, grad, out, a, b):
        if a.ndim == 1 and b.ndim == 1:  # dot product: y is a scalar
            return grad * b, grad * a
        if a.ndim == 1:
            grad = grad[..., None, :]  # (..., m) -> (..., 1, m)
            return (grad @ np.swapaxes(b, -1, -2))[..., 0, :], a[:, None] @ grad
        if b.ndim == 1:
            grad = grad[..., None]  # (..., n) -> (..., n, 1)
            return grad @ b[None, :], (np.swapaxes(a, -1, -2) @ grad)[..., 0]
        return grad @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ grad


class Reshape(Op):
    # y = reshape(x, shape)  ->  dx = reshape(dy, x.shape)
    __slots__ = ("shape",)
    name = "reshape"

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, grad, out, x):
        return (grad.reshape(x.shape),)


class Permute(Op):
    # y = transpose(x, dims)  ->  dx = transpose(dy, inverse permutation of dims)
    __slots__ = ("dims", "inverse")
    name = "permute"

    def __init__(self, dims):
        self.dims = dims
        self.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, grad, out, x):
        return (grad.transpose(self.inverse),)


class GetItem(Op):
    # y = x[index]  ->  dx = zeros, then dy scatter-added back at index (repeats accumulate)
    __slots__ = ("index", "basic")
    name = "getitem"

    def __init__(self, index, basic):
        self.index, self.basic = index, basic  # basic: only ints, slices, None, Ellipsis

    def forward(self, x):
        out = x[self.index]
        if out.__class__ is not np.ndarray:  # x[0, 1] gives a numpy scalar, a copy; with an
            index = self.index if isinstance(self.index, tuple) else (self.index,)
            out = x[index + (...,)]  # Ellipsis it is a 0-d view, as torch's select is
        return out

    def backward(self, grad, out, x):
        if self.basic:  # a basic index never repeats an element: plain assignment
            dx = np.zeros_like(x)
            dx[self.index] = grad
        elif isinstance(self.index, np.ndarray) and self.index.dtype.kind in "iu":
            # Rows picked by one integer array (the embedding C[Xb]): a single flat bincount
            # over (row * row_size + column) is several times faster than np.add.at.
            n = x.shape[0]
            rows = self.index.reshape(-1) % max(n, 1)  # negative rows count from the end
            size = x.size // max(n, 1)
            flat = (rows[:, None] * size + np.arange(size)).reshape(-1)
            dx = np.bincount(flat, weights=grad.reshape(-1), minlength=x.size)
            dx = dx.astype(x.dtype, copy=False).reshape(x.shape)
        else:
            dx = np.zeros_like(x)
            np.add.at(dx, self.index, grad)
        return (dx,)


class SetItem(Op):
    # y = x with y[index] = v (torch's index_put, a write)  ->  dx = dy with dy[index] = 0,
    # dv = dy[index] (summed down to v's shape where v was broadcast into the slots)
    # In-place ops are recorded as this op: `t[i] = v`, and `fill_`, `copy_` with index `...`.
    __slots__ = ("index",)
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


class Cast(Op):
    # y = x as dtype (a copy)  ->  dx = dy as x's dtype
    __slots__ = ("dtype",)
    name = "cast"

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, grad, out, x):
        return (grad.astype(x.dtype),)


class CrossEntropy(Op):
    # y = mean_i(log sum_j exp(x_ij) - x_i,t_i)  ->  dx = dy * (softmax(x) - onehot(t)) / n
    # (d logsumexp / dx_ij = softmax_ij, d x_i,t_i / dx_ij = [j == t_i]); no gradient for t.
    # 'sum' drops the 1/n; 'none' keeps one loss per row, so dy arrives as a column.
    # x is (n, C) logits, t an int64 (n,) array of class indices (nn.cross_entropy checks them).
    __slots__ = ("reduction", "probs")
    name = "cross_entropy"
    reads = ((2,), ())  # the targets; the softmax is kept from the forward, as torch keeps it

    def __init__(self, reduction="mean"):
        self.reduction, self.probs = reduction, None

    def forward(self, x, target):
        # log sum exp(x) = m + log sum exp(x - m) with m = max(x): exp never overflows, and
        # the picked logit is shifted by the same m, so nll = lse(z) - z_t needs no m at all.
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1)
        nll = np.log(s) - z[np.arange(x.shape[0]), target]
        self.probs = e / s[:, None]  # softmax(x), for backward (x may be overwritten by then)
        if self.reduction == "none":
            return nll
        return np.asarray(nll.mean() if self.reduction == "mean" else nll.sum(), dtype=x.dtype)

    def backward(self, grad, out, x, target):
        dx = self.probs.copy()  # softmax, a copy: backward may run twice
        dx[np.arange(x.shape[0]), target] -= 1  # minus the one-hot target
        if self.reduction == "none":
            return dx * grad[:, None], None
        return dx * (grad / x.shape[0] if self.reduction == "mean" else grad), None


PRIMITIVES = {
    op.name: op for op in (Add, Mul, Pow, Exp, Log, Tanh, Sin, Cos, Where, Cat, Sum, Max, MatMul,
                           Reshape, Permute, GetItem, SetItem, Cast, CrossEntropy)
}
