"""The primitives: each one's forward, backward, derivation and torch replay, in one class.

`forward(*xs)` maps numpy arrays to an array. `backward(grad, out, *xs)` gets the upstream
gradient, the forward's output and its inputs, and returns one gradient per input (None where
none flows), possibly of the *broadcast* shape: the engine (autograd.sum_to_shape) sums it
down. The docstring's first line is the rule, the next ones its derivation. `replay(torch,
*xs)` does the same in torch (check.py passes the module in: no torch import here). `args`:
the arguments repr, viz and check show. `reads`, per input: the values its rule reads (0 the
output, i input i), which backward refuses if overwritten since (guards.py), as torch does.

An op object holds only its arguments, never what one call computed. The lesson's are here;
permute, sin, cos, where, cat, setitem and cast in extra_ops.py, the fused cross-entropy with
its layer (functional.py). Everything else (sub, div, mean, softmax, ...) is a composition.
"""

import numpy as np

from . import both  # the few words numpy and Tensor spell differently

PRIMITIVES = {}  # name -> class: every op the engine can record


def primitive(cls):
    """Class decorator: list the op in PRIMITIVES (nn's fused ops register here too)."""
    PRIMITIVES[cls.name] = cls
    return cls


class Op:
    name = "op"
    args = ()   # the arguments worth showing, in the constructor's order
    reads = ()  # per input: the values its gradient rule reads (0: output, i: input i)

    def __repr__(self):
        return f"{self.name}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.args)})"


@primitive
class Add(Op):
    """y = a + b  ->  da = dy, db = dy

    dy/da = 1 and dy/db = 1 element by element: each input gets dy as it is.
    """
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
    args = ("exponent",)
    name = "pow"
    reads = ((1,),)

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent

    def backward(self, grad, out, x):
        p = self.exponent
        return (both.zeros_like(x) if p == 0 else grad * p * x ** (p - 1),)

    def replay(self, torch, x):
        return x ** self.exponent


@primitive
class Exp(Op):
    """y = exp(x)  ->  dx = dy * y

    exp is its own derivative: d(e^x)/dx = e^x, which is the output y.
    """
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
    name = "tanh"
    reads = ((0,),)

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad, out, x):
        return (grad * (1 - out**2),)

    def replay(self, torch, x):
        return x.tanh()


@primitive
class Sum(Op):
    """y = sum of x over dim  ->  dx = dy, copied back along the summed axes

    y_j = sum_i x_ij, so dy_j/dx_ij = 1: every x_ij of a sum receives that sum's dy.
    """
    args = ("dim", "keepdim")
    name = "sum"

    def __init__(self, dim, keepdim):
        self.dim, self.keepdim = dim, keepdim  # dim: a tuple of non-negative axes

    def forward(self, x):
        return np.add.reduce(x, axis=self.dim, keepdims=self.keepdim)

    def backward(self, grad, out, x):
        if not self.keepdim:  # the summed axes come back with size 1, so dy broadcasts
            grad = grad.reshape([1 if i in self.dim else n for i, n in enumerate(x.shape)])
        return (both.expand(grad, x.shape),)

    def replay(self, torch, x):
        # numpy reads an empty axis tuple as "reduce nothing", torch as "reduce everything"
        return x.sum(dim=self.dim, keepdim=self.keepdim) if self.dim else x.clone()


@primitive
class Max(Op):
    """y = max(x)  ->  dx = dy / k at each of the k maxima; max(x, dim): dx = dy at indices

    y is x_m for the maximal m: dy/dx_m = 1, 0 for the others; k tied maxima share dy
    (torch's choice). With dim, `indices` (the argmax, given by the caller) say which x_m.
    """
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
        if self.dim is None:  # the mask of the maxima: a constant, from the values
            mask = both.maxima(x, out)
            return (mask * (grad / mask.sum(dtype=x.dtype)),)
        if not self.keepdim:
            grad = grad.reshape(self.indices.shape)  # the argmax's axis back, with size 1
        return (both.put_along(grad, self.indices, self.dim, x.shape),)

    def replay(self, torch, x):
        return torch.max(x) if self.dim is None else torch.max(x, self.dim, self.keepdim)[0]


@primitive
class MatMul(Op):
    """y = a @ b  ->  da = dy @ b^T, db = a^T @ dy

    y_ij = sum_k a_ik b_kj, so dy_ij/da_ik = b_kj and da_ik = sum_j dy_ij b_kj = (dy b^T)_ik;
    likewise db_kj = sum_i a_ik dy_ij = (a^T dy)_kj. A 1-D a is a row, a 1-D b a column;
    broadcast batch axes are summed back by the engine.
    """
    name = "matmul"
    reads = ((2,), (1,))

    def forward(self, a, b):
        return a @ b

    def backward(self, grad, out, a, b):
        if a.ndim == 1 and b.ndim == 1:  # dot product: y is a scalar
            return grad * b, grad * a
        if a.ndim == 1:
            grad = grad[..., None, :]  # (..., m) -> (..., 1, m)
            return (grad @ both.mT(b))[..., 0, :], a[:, None] @ grad
        if b.ndim == 1:
            grad = grad[..., None]  # (..., n) -> (..., n, 1)
            return grad @ b[None, :], (both.mT(a) @ grad)[..., 0]
        return grad @ both.mT(b), both.mT(a) @ grad

    def replay(self, torch, a, b):
        return a @ b


@primitive
class Reshape(Op):
    """y = reshape(x, shape)  ->  dx = reshape(dy, x.shape)"""
    args = ("shape",)
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
class GetItem(Op):
    """y = x[index]  ->  dx = zeros, then dy added at index (a scatter-add, np.add.at)

    Each y element is one x element (derivative 1). An array index may pick the same
    element twice (C[Xb]): np.add.at adds both contributions, where dx[index] += dy would
    keep only one.
    """
    args = ("index",)
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
        return (both.scatter_add(grad, self.index, x.shape),)

    def replay(self, torch, x):  # gathers the elements numpy's index picks, by position
        from .extra_ops import flat_positions
        return x.reshape(-1)[flat_positions(torch, x, self.index)]
