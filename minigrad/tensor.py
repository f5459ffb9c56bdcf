"""Tensor: creation, operators and the derived ops, written as compositions of primitives.

A Tensor is a numpy array (`data`) plus what autograd needs: `grad`, `requires_grad`, and for
a result, the primitive that made it (`_op`) and its inputs (`_parents`). A node holds its
parents and its op, never a closure that captures the node itself, so a graph has no
reference cycles and is freed the moment the last reference to its root goes.

The names and semantics are PyTorch's. Known differences: `view` is `reshape` (numpy copies
where torch would refuse a non-contiguous view); `grad` is a numpy array, not a Tensor.
"""

from typing import NamedTuple

import numpy as np

from . import autograd, ops

float32, float64, int64, bool_ = np.dtype("float32"), np.dtype("float64"), np.dtype("int64"), \
    np.dtype("bool")


def _as_array(data, dtype=None):
    """numpy array from user data, with torch's defaults: float32 for floats, int64 for ints."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)  # numpy input keeps its dtype, as torch.from_numpy
    else:
        try:
            array = np.asarray(data)
        except ValueError:
            raise ValueError(f"expected sequence of equal length at every dim: {data!r:.60} "
                             "is ragged") from None
        if array.dtype.kind == "f":
            array = array.astype(float32)
        elif array.dtype.kind in "iu":
            array = array.astype(int64)
    if array.dtype.kind not in "biuf":
        _refuse(data, array)
    return array if dtype is None else array.astype(dtype, copy=False)


def _refuse(data, array):
    """Raise torch's exception for data that is not numbers (its class differs by case)."""
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, str):
        raise TypeError(f"can't convert np.ndarray of type numpy.{array.dtype.type.__name__}. "
                        "The only supported types are: floats, integers and bool.")
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    if array.dtype.kind in "US":  # torch reads a string inside a list as one more dimension
        raise ValueError("too many dimensions 'str'")
    bad = next((v for v in array.flat if not isinstance(v, (bool, int, float))), data)
    raise RuntimeError(f"Could not infer dtype of {type(bad).__name__}")


def _dim(dim, ndim):
    """A non-negative axis, or torch's IndexError for one out of range."""
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {dim})")
    return dim % max(ndim, 1)


def _check_broadcast(a, b):
    """torch's RuntimeError for shapes that do not broadcast (numpy would say ValueError)."""
    for i in range(1, min(a.ndim, b.ndim) + 1):
        m, n = a.shape[-i], b.shape[-i]
        if m != n and m != 1 and n != 1:
            raise RuntimeError(f"The size of tensor a ({m}) must match the size of tensor b "
                               f"({n}) at non-singleton dimension {max(a.ndim, b.ndim) - i}")


class MaxResult(NamedTuple):
    """What `max(dim)` returns: unpacks as (values, indices), as torch.return_types.max."""
    values: "Tensor"
    indices: "Tensor"


class Tensor:
    __slots__ = ("data", "grad", "_requires_grad", "_op", "_parents", "label", "scope",
                 "__weakref__")
    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__
    __hash__ = object.__hash__  # identity, although == compares elementwise

    def __init__(self, data, requires_grad=False, dtype=None, label=None):
        self.data = _as_array(data, dtype)
        self.grad = None
        self._op, self._parents, self.label = None, (), label
        self.scope = autograd._state["scope"]
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _result(cls, op, *parents):
        """Apply a primitive; record op and parents only if some input requires grad."""
        out = cls.__new__(cls)
        # numpy hands back a scalar (np.float32), not an array, for 0-d arithmetic
        out.data = np.asarray(op.forward(*[p.data for p in parents]))
        out.grad, out.label = None, None
        out.scope = autograd._state["scope"]
        if autograd._state["grad_enabled"] and any(p._requires_grad for p in parents):
            out._requires_grad, out._op, out._parents = True, op, parents
        else:
            out._requires_grad, out._op, out._parents = False, None, ()
        return out

    # ---- attributes -------------------------------------------------------------------

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients "
                               f"(got {self.data.dtype})")
        if self._op is not None:  # torch refuses both True and False on a non-leaf
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self._requires_grad = bool(value)

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    is_leaf = property(lambda self: self._op is None)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[_dim(dim, self.ndim)]

    def numel(self):
        return self.data.size

    nelement = numel

    def dim(self):
        return self.ndim

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype not in (float32, int64, bool_):
            extra = f", dtype={self.data.dtype}" + extra
        return f"tensor({body}{extra})"

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.data.size} values is "
                               "ambiguous")
        return bool(self.data)

    # ---- autograd ---------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None):
        """Accumulate d(self)/d(node) into `.grad` of every node that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have "
                               "a grad_fn")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            gradient = np.ones_like(self.data)
        else:
            gradient = np.array(_as_array(gradient), dtype=self.data.dtype)  # our own copy
            if gradient.shape != self.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                                   f"{gradient.shape} and output[0] has a shape of "
                                   f"{self.shape}.")
        autograd.backward(self, gradient)

    def retain_grad(self):
        """Accepted for torch compatibility: every node that requires grad keeps its grad."""

    def detach(self):
        return Tensor(self.data)

    def clone(self):
        return Tensor._result(ops.Cast(self.dtype), self)  # a copy; its gradient is dy

    def to(self, dtype):
        return self if self.dtype == dtype else Tensor._result(ops.Cast(np.dtype(dtype)), self)

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def long(self):
        return self.to(int64)

    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted "
                               "to Scalar")
        return self.data.item()

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self.data

    def tolist(self):
        return self.data.tolist()

    # ---- element-wise arithmetic ------------------------------------------------------

    def _operand(self, other):
        """`other` as a Tensor of this tensor's dtype family, as torch's type promotion does.

        Python scalars never change a tensor's dtype (float32 * 2.5 stays float32). Between
        tensors, a float beats an integer, the wider float wins, and a 0-d tensor does not
        widen a dimensioned one.
        """
        if not isinstance(other, Tensor):
            if isinstance(other, (bool, int, float)) and not isinstance(other, np.generic):
                if isinstance(other, bool) or (isinstance(other, int) and self.dtype != bool_):
                    dtype = self.dtype
                elif isinstance(other, int):
                    dtype = int64
                else:
                    dtype = self.dtype if self.dtype.kind == "f" else float32
                return self._promote_to(dtype), Tensor(np.asarray(other, dtype=dtype))
            other = Tensor(other)
        a, b = self.dtype, other.dtype
        if a == b:
            return self, other
        if a.kind == "f" and b.kind == "f" and (self.ndim == 0) != (other.ndim == 0):
            dtype = b if self.ndim == 0 else a
        elif (a.kind == "f") != (b.kind == "f"):
            dtype = a if a.kind == "f" else b
        else:
            dtype = np.promote_types(a, b)
        return self._promote_to(dtype), other._promote_to(dtype)

    def _promote_to(self, dtype):
        return self if self.dtype == dtype else self.to(dtype)

    def _binary(self, op, other, reflected=False):
        a, b = self._operand(other)
        if reflected:
            a, b = b, a
        if a.shape != b.shape:
            _check_broadcast(a.data, b.data)
        return Tensor._result(op, a, b)

    def __add__(self, other):
        return self._binary(ops.Add(), other)

    def __radd__(self, other):
        return self._binary(ops.Add(), other, reflected=True)

    def __mul__(self, other):
        return self._binary(ops.Mul(), other)

    def __rmul__(self, other):
        return self._binary(ops.Mul(), other, reflected=True)

    def __neg__(self):
        return self * -1  # -a = (-1) * a

    def __sub__(self, other):
        return self + (-1) * self._operand(other)[1]  # a - b = a + (-1) * b

    def __rsub__(self, other):
        return self._operand(other)[1] + (-1) * self  # b - a = b + (-1) * a

    def __truediv__(self, other):
        a, b = self._operand(other)
        if a.dtype.kind != "f":  # true division of integers gives float32, as torch
            a, b = a.float(), b.float()
        return a * b ** -1  # a / b = a * b**-1

    def __rtruediv__(self, other):
        a, c = self._operand(other)
        if a.dtype.kind != "f":
            a, c = a.float(), c.float()
        return c * a ** -1  # c / a = c * a**-1

    def pow(self, exponent):
        if isinstance(exponent, Tensor):  # a ** b = exp(b * log(a)), for a > 0
            return (exponent * self.log()).exp()
        exponent = float(exponent) if isinstance(exponent, float) else int(exponent)
        if self.dtype.kind != "f" and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        base = self if self.dtype.kind == "f" or isinstance(exponent, int) else self.float()
        if base.dtype == bool_:
            base = base.long()  # torch: bool ** 2 is int64 (numpy would give int8)
        return Tensor._result(ops.Pow(exponent), base)

    __pow__ = pow

    def __rpow__(self, base):
        return (self * float(np.log(base))).exp()  # c ** a = exp(a * log c)

    def __matmul__(self, other):
        a, b = self._operand(other)
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D")
        k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({'x'.join(map(str, a.shape))} and "
                               f"{'x'.join(map(str, b.shape))})")
        if a.ndim > 2 and b.ndim > 2:
            _check_broadcast(np.empty(a.shape[:-2], bool), np.empty(b.shape[:-2], bool))
        return Tensor._result(ops.MatMul(), a, b)

    def __rmatmul__(self, other):
        return Tensor(other) @ self

    def exp(self):
        return Tensor._result(ops.Exp(), self)

    def log(self):
        return Tensor._result(ops.Log(), self)

    def tanh(self):
        return Tensor._result(ops.Tanh(), self)

    def sqrt(self):
        return self ** 0.5

    def relu(self):
        return self * (self.data > 0)  # relu(x) = x * [x > 0]; the mask is a constant

    def abs(self):
        return self * np.sign(self.data)  # |x| = x * sign(x); sign is a constant

    def sigmoid(self):
        return 0.5 * (1 + (0.5 * self).tanh())  # sigmoid(x) = (1 + tanh(x/2)) / 2, no overflow

    # ---- comparisons: constants that never require grad --------------------------------

    def _compare(self, fn, other):
        return Tensor(fn(self.data, other.data if isinstance(other, Tensor) else other))

    def __eq__(self, other):
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    # ---- reductions -------------------------------------------------------------------

    def _dims(self, dim):
        if dim is None or (isinstance(dim, (tuple, list)) and not dim):
            return tuple(range(self.ndim))  # torch reads an empty dim list as "all dims"
        dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        dims = tuple(_dim(d, self.ndim) for d in dims)  # checked for a 0-d tensor too
        for d in dims:
            if dims.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        return dims if self.ndim else ()

    def sum(self, dim=None, keepdim=False):
        return Tensor._result(ops.Sum(self._dims(dim), keepdim), self._promote_to(
            self.dtype if self.dtype.kind == "f" else int64))

    def mean(self, dim=None, keepdim=False):
        if self.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: {self.dtype}")
        count = int(np.prod([self.shape[d] for d in self._dims(dim)]))
        # mean = sum / count; an empty mean is 0 * nan = nan, as torch
        return self.sum(dim, keepdim) * (1 / count if count else float("nan"))

    def max(self, dim=None, keepdim=False):
        if self.data.size == 0 and dim is None:
            raise RuntimeError("max(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        if dim is None:
            return Tensor._result(ops.Max(), self)
        if self.ndim == 0:  # a 0-d tensor is its own maximum, at index 0, as in torch
            self._dims(dim)  # (raises for a dim outside [-1, 0])
            return MaxResult(self.reshape(()), Tensor(np.zeros((), int64)))
        op = ops.Max(self._dims(dim)[0], keepdim)
        values = Tensor._result(op, self)
        indices = op.indices if keepdim else op.indices.squeeze(op.dim)
        return MaxResult(values, Tensor(indices.astype(int64)))

    def all(self):
        return Tensor(np.all(self.data))

    def any(self):
        return Tensor(np.any(self.data))

    def argmax(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor(np.asarray(np.argmax(self.data)))
        return self.max(dim, keepdim).indices

    def softmax(self, dim):
        e = (self - self.max(dim, keepdim=True).values.detach()).exp()  # shift-invariant
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim):
        # log softmax(x) = z - log(sum(exp(z))) with z = x - max(x): exp never overflows
        z = self - self.max(dim, keepdim=True).values.detach()
        return z - z.exp().sum(dim, keepdim=True).log()

    # ---- shapes and indexing ----------------------------------------------------------

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) \
            else shape
        shape = tuple(int(n) for n in shape)
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        known = int(np.prod([n for n in shape if n != -1]))
        size = self.data.size
        if (-1 not in shape and known != size) or (-1 in shape and (
                known == 0 or size % known)) or any(n < -1 for n in shape):
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input "
                               f"of size {size}")
        return Tensor._result(ops.Reshape(shape), self)

    view = reshape  # numpy copies where torch's view would refuse; the values are the same

    def view_as(self, other):
        return self.reshape(other.shape)

    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return Tensor._result(ops.Permute(tuple(_dim(d, self.ndim) for d in dims)), self)

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        dims[_dim(dim0, self.ndim)], dims[_dim(dim1, self.ndim)] = dim1 % self.ndim, \
            dim0 % self.ndim
        return self.permute(*dims)

    def __getitem__(self, index):
        index, basic = _index(index, self.ndim)
        return Tensor._result(ops.GetItem(index, basic), self)

    def __setitem__(self, index, value):
        if self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        self.data[_index(index, self.ndim)[0]] = value.data if isinstance(value, Tensor) \
            else value


def _index(index, ndim):
    """A numpy index from a torch one; returns (index, is_basic)."""
    items = index if isinstance(index, tuple) else (index,)
    out, basic = [], True
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, (list, range)):
            item = np.asarray(item)
            if item.size == 0:
                item = item.astype(int64)
        elif isinstance(item, float):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte Variables are valid indices (got float)")
        if isinstance(item, np.ndarray):
            if item.dtype.kind not in "iub":
                raise IndexError(f"tensors used as indices must be long, int, byte or bool "
                                 f"tensors (got {item.dtype})")
            basic = False
        elif ndim == 0 and isinstance(item, slice):
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        elif ndim == 0 and item is not None and item is not Ellipsis:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        out.append(item)
    return (tuple(out) if isinstance(index, tuple) else out[0]), basic


# ---- creation -------------------------------------------------------------------------

def tensor(data, dtype=None, requires_grad=False):
    return Tensor(np.array(_as_array(data, dtype)), requires_grad=requires_grad)


def _size(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def zeros(*size, dtype=None, requires_grad=False):
    return Tensor(np.zeros(_size(size), dtype or float32), requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return Tensor(np.ones(_size(size), dtype or float32), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    start, end = (0, start) if end is None else (start, end)
    data = np.arange(start, end, step)
    if dtype is None:  # float arguments give torch's default float32, not numpy's float64
        dtype = float32 if data.dtype.kind == "f" else int64
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


class Generator:
    """A seeded random stream, standing in for torch.Generator (a numpy PCG64 underneath).

    The numbers differ from torch's for the same seed; the distributions are the same.
    """

    def __init__(self):
        self.rng = np.random.default_rng()

    def manual_seed(self, seed):
        self.rng = np.random.default_rng(seed)
        return self


_default_generator = Generator()


def manual_seed(seed):
    return _default_generator.manual_seed(seed)


def randn(*size, generator=None, dtype=None, requires_grad=False):
    rng = (generator or _default_generator).rng
    data = rng.standard_normal(_size(size), dtype=np.dtype(dtype or float32))
    return Tensor(data, requires_grad=requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False):
    rng = (generator or _default_generator).rng
    return Tensor(rng.random(_size(size), dtype=np.dtype(dtype or float32)),
                  requires_grad=requires_grad)


def randint(low, high, size, generator=None, dtype=None):
    rng = (generator or _default_generator).rng
    return Tensor(rng.integers(low, high, size=size, dtype=np.dtype(dtype or int64)))


def multinomial(probs, num_samples, replacement=False, generator=None):
    """Draw category indices with probabilities proportional to `probs` (1-D)."""
    rng = (generator or _default_generator).rng
    p = probs.data.astype(float64)
    return Tensor(rng.choice(p.size, size=num_samples, replace=replacement, p=p / p.sum()))
