"""The primitives: each one's forward, backward, derivation and torch replay, in one class.

`forward(*xs)` maps numpy arrays to a numpy array. `backward(grad, out, *xs)` gets the
upstream gradient, the forward's output and its inputs, and returns one gradient per input
(None where none flows); it may return a gradient of the *broadcast* shape, because the engine
(autograd.sum_to_shape) sums it down: no op undoes broadcasting by itself. The docstring's
first line is the rule, the lines after it the derivation. `replay(torch, *xs)` computes the
same thing in torch (check.py passes the module in: this file imports no torch). `args` names
the op's arguments (a dim, an exponent), the one list that repr, viz's labels and check show.
`reads` says which values a rule reads, per input (0 the output, 1, 2, ... the inputs): these
are the values torch saves, and backward refuses them if they were overwritten (guards.py).

An op object holds only its arguments: what one call computes lives in the tensors.
Everything else (sub, div, mean, softmax, ...) is a composition of these (tensor.py).
"""

import numpy as np

PRIMITIVES = {}  # name -> class: every op the engine can record


def primitive(cls):
    """Class decorator: list the op in PRIMITIVES (nn's fused ops register here too)."""
    PRIMITIVES[cls.name] = cls
    return cls


class Op:
    __slots__ = ()
    name = "op"
    args = ()   # the arguments worth showing, in the constructor's order
    reads = ()  # per input: the values its gradient rule reads (0: output, i: input i)

    def __repr__(self):
        return f"{self.name}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.args)})"


@primitive
class Add(Op):
    """y = a + b  ->  da = dy, db = dy

    dy/da = 1 and dy/db = 1 element by element, so each input gets dy as it is.
    (A broadcast input is summed back to its shape by the engine.)
    """
    __slots__ = ()
    name = "add"

    def forward(self, a, b):
        return a + b

    def backward(self, grad, out, a, b):
        return grad, grad

    def replay(self, torch, a, b):
        return a + b


@primitive
class Mul(Op):
    """y = a * b  ->  da = dy * b, db = dy * a

    dy/da = b and dy/db = a element by element; the chain rule multiplies each by dy.
    """
    __slots__ = ()
    name = "mul"
    reads = ((2,), (1,))  # da reads b, db reads a

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out, a, b):
        return grad * b, grad * a

    def replay(self, torch, a, b):
        return a * b


@primitive
class Pow(Op):
    """y = x ** p (p a number)  ->  dx = dy * p * x ** (p - 1)

    The power rule: d(x^p)/dx = p x^(p-1). For p = 0, y = 1 is a constant and dx = 0
    (as torch: the formula would give 0 * x^-1, which is NaN at x = 0).
    """
    __slots__ = args = ("exponent",)
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
        return (grad * p * x ** (p - 1),)

    def replay(self, torch, x):
        return x ** self.exponent


@primitive
class Exp(Op):
    """y = exp(x)  ->  dx = dy * y

    exp is its own derivative: d(e^x)/dx = e^x, which is the output y.
    """
    __slots__ = ()
    name = "exp"
    reads = ((0,),)

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad, out, x):
        return (grad * out,)

    def replay(self, torch, x):
        return x.exp()


@primitive
class Log(Op):
    """y = log(x)  ->  dx = dy / x

    d(ln x)/dx = 1/x (the inverse of exp: if x = e^y then dx/dy = e^y = x).
    """
    __slots__ = ()
    name = "log"
    reads = ((1,),)

    def forward(self, x):
        return np.log(x)

    def backward(self, grad, out, x):
        return (grad / x,)

    def replay(self, torch, x):
        return x.log()


@primitive
class Tanh(Op):
    """y = tanh(x)  ->  dx = dy * (1 - y**2)

    tanh = sinh / cosh, so by the quotient rule tanh' = (cosh^2 - sinh^2) / cosh^2
    = 1 - tanh^2 = 1 - y^2: the rule needs only the output.
    """
    __slots__ = ()
    name = "tanh"
    reads = ((0,),)

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad, out, x):
        return (grad * (1 - out**2),)

    def replay(self, torch, x):
        return x.tanh()


@primitive
class Sin(Op):
    """y = sin(x)  ->  dx = dy * cos(x)"""
    __slots__ = ()
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
    __slots__ = ()
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
    __slots__ = ("condition",)
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
    __slots__ = args = ("dim",)
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
class Sum(Op):
    """y = sum of x over dim  ->  dx = dy, copied back along the summed axes

    y_j = sum_i x_ij, so dy_j/dx_ij = 1: every x_ij of a sum receives that sum's dy.
    """
    __slots__ = args = ("dim", "keepdim")
    name = "sum"

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim  # dim: a tuple of non-negative axes

    def forward(self, x):
        return np.add.reduce(x, axis=self.dim, keepdims=self.keepdim)

    def backward(self, grad, out, x):
        if not self.keepdim:  # the summed axes come back with size 1, so dy broadcasts
            grad = np.expand_dims(grad, self.dim)
        return (np.broadcast_to(grad, x.shape).copy(),)

    def replay(self, torch, x):
        # numpy reads an empty axis tuple as "reduce nothing", torch as "reduce everything"
        return x.sum(dim=self.dim, keepdim=self.keepdim) if self.dim else x.clone()


@primitive
class Max(Op):
    """y = max(x)  ->  dx = dy / k at each of the k maxima, 0 elsewhere
    y = max(x, dim)  ->  dx = dy at the first maximal index along dim, 0 elsewhere

    y equals x_m for the maximal element m, so dy/dx_m = 1 and 0 for the others; a tie
    of k maxima splits dy evenly (torch's choice). With dim, `indices` (the argmax, given
    by the caller, as torch returns it) say which element each y took.
    """
    __slots__ = ("dim", "keepdim", "indices")
    args = ("dim", "keepdim")
    name = "max"

    def __init__(self, dim=None, keepdim=False, indices=None):
        self.dim, self.keepdim, self.indices = dim, keepdim, indices  # indices: keepdims

    @property
    def reads(self):  # max(x) reads x and y; max(x, dim) only its indices
        return ((0, 1),) if self.dim is None else ()

    def forward(self, x):
        if self.dim is None:
            return np.asarray(x.max())
        y = np.take_along_axis(x, self.indices, axis=self.dim)
        return y if self.keepdim else y.squeeze(self.dim)

    def backward(self, grad, out, x):
        if self.dim is None:
            mask = np.isnan(x) if np.isnan(out) else x == out
            return (mask * (grad / mask.sum(dtype=x.dtype)),)
        if not self.keepdim:
            grad = np.expand_dims(grad, self.dim)
        dx = np.zeros_like(x)
        np.put_along_axis(dx, self.indices, grad, axis=self.dim)
        return (dx,)

    def replay(self, torch, x):
        return torch.max(x) if self.dim is None else torch.max(x, self.dim, self.keepdim)[0]


@primitive
class MatMul(Op):
    """y = a @ b  ->  da = dy @ b^T, db = a^T @ dy

    y_ij = sum_k a_ik b_kj, so dy_ij/da_ik = b_kj and da_ik = sum_j dy_ij b_kj = (dy b^T)_ik;
    likewise db_kj = sum_i a_ik dy_ij = (a^T dy)_kj. A 1-D a is a row, a 1-D b a column;
    broadcast batch axes are summed back by the engine.
    """
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

    def replay(self, torch, a, b):
        return a @ b


@primitive
class Reshape(Op):
    """y = reshape(x, shape)  ->  dx = reshape(dy, x.shape)"""
    __slots__ = args = ("shape",)
    name = "reshape"

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, grad, out, x):
        return (grad.reshape(x.shape),)

    def replay(self, torch, x):
        return x.reshape(self.shape)


@primitive
class Permute(Op):
    """y = x with its axes reordered by dims  ->  dx = dy with the inverse order

    y's axis i is x's axis dims[i]; putting dy's axes back means sorting them by dims.
    """
    __slots__ = args = ("dims",)
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
class GetItem(Op):
    """y = x[index]  ->  dx = zeros, then dy added at index (np.add.at)

    Each y element is one x element (derivative 1). An array index may pick the same
    element twice (C[Xb]): np.add.at adds both contributions, where dx[index] += dy would
    keep only one.
    """
    __slots__ = args = ("index",)
    name = "getitem"

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        out = x[self.index]
        if out.__class__ is not np.ndarray:  # x[0, 1] gives a numpy scalar, a copy; with an
            index = self.index if isinstance(self.index, tuple) else (self.index,)
            out = x[index + (...,)]  # Ellipsis it is a 0-d view, as torch's select is
        return out

    def backward(self, grad, out, x):
        dx = np.zeros_like(x)
        np.add.at(dx, self.index, grad)
        return (dx,)

    def replay(self, torch, x):
        items = self.index if isinstance(self.index, tuple) else (self.index,)
        if any(isinstance(i, slice) and (i.step or 1) < 0 for i in items):
            return x.reshape(-1)[_flat_positions(torch, x, self.index)]  # no negative steps
        out = [torch.from_numpy(i.astype(np.int64)) if isinstance(i, np.ndarray) and
               i.dtype.kind == "u" else  # numpy reads unsigned as integers, torch as a mask
               torch.from_numpy(i.copy()) if isinstance(i, np.ndarray) else
               int(i) if isinstance(i, np.integer) else i for i in items]
        return x[tuple(out) if isinstance(self.index, tuple) else out[0]]


def _flat_positions(torch, x, index):
    """torch's x[index] by the flat positions numpy's index selects (any numpy index)."""
    where = np.arange(x.numel()).reshape(tuple(x.shape))[index]
    return torch.from_numpy(np.array(where, dtype=np.int64))


@primitive
class SetItem(Op):
    """y = x with y[index] = v (torch's index_put)  ->  dx = dy with dy[index] = 0, dv = dy[index]

    Outside the slots y is x (derivative 1), inside it is v: x's overwritten elements get
    nothing, v gets the slots' dy (summed by the engine where v was broadcast).
    In-place writes are recorded as this op: `t[i] = v`, `fill_`, `copy_`.
    """
    __slots__ = args = ("index",)
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
        where = _flat_positions(torch, x, self.index)
        out = x.reshape(-1).clone()
        out[where] = v.expand(where.shape)
        return out.reshape(x.shape)


@primitive
class Cast(Op):
    """y = x as dtype (a copy)  ->  dx = dy as x's dtype (the identity's derivative is 1)"""
    __slots__ = args = ("dtype",)
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
