"""Tensor: the operators and the derived ops, written as compositions of primitives.

A Tensor is a numpy array (`data`) plus what autograd needs: `grad`, `requires_grad`, and for
a result, the primitive that made it (`_op`) and its inputs (`_parents`). A node holds its
parents and its op, never a closure that captures the node itself, so a graph has no
reference cycles and is freed the moment the last reference to its root goes.

The names and semantics are PyTorch's. Known differences: `view` is `reshape` (numpy copies
where torch would refuse a non-contiguous view); `grad` is a numpy array, not a Tensor.
Input checks live in convert.py, creation functions in creation.py.
"""

import functools
import math
from typing import NamedTuple

import numpy as np

from . import convert, ops
from .autograd import _data, _state, backward, check_forward
from .convert import bool_, float32, float64, int32, int64

_new = object.__new__
# convert.dims is pure, and a training step asks it the same few questions every time (dim 0
# of a 2-d tensor, ...): remember the answers for an int or None, the hashable common case.
_cached_dims = functools.lru_cache(maxsize=256)(convert.dims)


def _dims(dim, ndim):
    if dim is None or dim.__class__ is int:
        return _cached_dims(dim, ndim)
    return convert.dims(dim, ndim)

# Primitives without arguments are shared: one instance serves every node.
_ADD, _MUL, _EXP, _LOG, _TANH, _MATMUL = (ops.Add(), ops.Mul(), ops.Exp(), ops.Log(),
                                          ops.Tanh(), ops.MatMul())
_SIN, _COS = ops.Sin(), ops.Cos()


def _keep(keepdim, keepdims):
    """torch accepts `keepdims=` (numpy's spelling) as an alias of `keepdim=`."""
    return keepdim if keepdims is None else keepdims


def apply(op, *parents):
    """Run a primitive; record op and parents only if grad mode is on and an input needs it.

    This is the per-op hot path of the engine, kept to a few attribute stores.
    """
    data = op.forward(*map(_data, parents))
    out = _new(Tensor)
    # numpy hands back a scalar (np.float32), not an array, for 0-d arithmetic
    out._data = data if data.__class__ is np.ndarray else np.asarray(data)
    out.grad = out.label = None
    out.scope = _state["scope"]
    out._version = 0
    if _state["anomaly"]:
        check_forward(out, op, parents)
    if _state["grad_enabled"]:
        for p in parents:
            if p._requires_grad:
                out._requires_grad, out._op, out._parents = True, op, parents
                out._recorded = _state["writes"]  # backward checks no input was written since
                return out
    out._requires_grad, out._op, out._parents = False, None, ()
    return out


def constant(array):
    """A leaf that never requires grad, around an array we already own (no checks)."""
    out = _new(Tensor)
    out._data, out.grad, out.label, out.scope = array, None, None, _state["scope"]
    out._requires_grad, out._op, out._parents, out._version = False, None, (), 0
    return out


class MaxResult(NamedTuple):
    """What `max(dim)` returns: unpacks as (values, indices), as torch.return_types.max."""
    values: "Tensor"
    indices: "Tensor"


class Tensor:
    __slots__ = ("_data", "grad", "_requires_grad", "_op", "_parents", "label", "scope",
                 "_version", "_recorded", "__weakref__")
    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__
    __hash__ = object.__hash__  # identity, although == compares elementwise

    def __init__(self, data, requires_grad=False, dtype=None, label=None):
        self._data = convert.as_array(data, dtype)
        self.grad, self._op, self._parents, self.label = None, None, (), label
        self._version = 0
        self.scope = _state["scope"]
        self._requires_grad = False
        self.requires_grad = requires_grad

    # ---- attributes -------------------------------------------------------------------

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        # `t.data = a` and also `t.data -= d`: Python runs an augmented assignment as get,
        # in-place subtract, set. Either way the values changed, so stamp the write.
        if value.__class__ is not np.ndarray:
            value = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = value
        self._mark_written()

    def _mark_written(self):
        """Stamp an in-place change. A recorded op whose input (or output) was written after
        it was recorded would take its derivative at the wrong values: backward refuses."""
        _state["writes"] += 1
        self._version = _state["writes"]

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients "
                               f"(got {self._data.dtype})")
        if self._op is not None:  # torch refuses both True and False on a non-leaf
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: self._data.dtype)
    is_leaf = property(lambda self: self._op is None)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[convert.dim(dim, self.ndim)]

    def numel(self):
        return self._data.size

    nelement = numel

    def dim(self):
        return self.ndim

    def __repr__(self):
        from .printing import tensor_repr  # torch's layout: 4 decimals, aligned, summarised
        return tensor_repr(self, convert.default_float())

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is "
                               "ambiguous")
        return bool(self._data)

    # ---- autograd ---------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None):
        """Accumulate d(self)/d(node) into `.grad` of every node that requires grad."""
        if not self._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have "
                               "a grad_fn")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            gradient = np.ones_like(self._data)
        else:
            gradient = np.array(convert.as_array(gradient), dtype=self._data.dtype)  # a copy
            if gradient.shape != self.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                                   f"{gradient.shape} and output[0] has a shape of "
                                   f"{self.shape}.")
        backward(self, gradient)

    def retain_grad(self):
        """Accepted for torch compatibility: every node that requires grad keeps its grad."""

    def detach(self):
        return constant(self._data)

    def clone(self):
        return apply(ops.Cast(self.dtype), self)  # a copy; its gradient is dy

    def to(self, dtype):
        dtype = np.dtype(dtype)
        if self._data.dtype == dtype:
            return self
        if dtype.kind != "f":  # an integer or bool copy is a constant: no grad flows to it
            return constant(self._data.astype(dtype))
        return apply(ops.Cast(dtype), self)

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def long(self):
        return self.to(int64)

    def int(self):
        return self.to(int32)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._data.item()

    def numpy(self):
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def tolist(self):
        return self._data.tolist()

    # ---- element-wise arithmetic ------------------------------------------------------

    def _operand(self, other):
        """(self, other) as Tensors of one dtype, promoted the way torch promotes."""
        if other.__class__ is not Tensor:
            if isinstance(other, (bool, int, float)) and not isinstance(other, np.generic):
                if self._data.dtype.kind == "f":  # the common case: no cast to check for
                    return self, constant(np.asarray(other, dtype=self._data.dtype))
                dtype = convert.scalar_dtype(self._data.dtype, other)
                return self.to(dtype), constant(np.asarray(other, dtype=dtype))
            other = Tensor(other)
        if self._data.dtype == other._data.dtype:
            return self, other
        dtype = convert.result_dtype(self, other)
        return self.to(dtype), other.to(dtype)

    def _binary(self, op, other, reflected=False):
        a, b = self._operand(other)
        if reflected:
            a, b = b, a
        try:
            return apply(op, a, b)
        except ValueError:  # numpy's "could not be broadcast": raise torch's error instead
            convert.broadcast_error(a.shape, b.shape)
            raise

    def __add__(self, other):
        return self._binary(_ADD, other)

    def __radd__(self, other):
        return self._binary(_ADD, other, reflected=True)

    def __mul__(self, other):
        return self._binary(_MUL, other)

    def __rmul__(self, other):
        return self._binary(_MUL, other, reflected=True)

    def __neg__(self):
        return self * -1  # -a = (-1) * a

    def __sub__(self, other):
        return self + (-1) * self._operand(other)[1]  # a - b = a + (-1) * b

    def __rsub__(self, other):
        return self._operand(other)[1] + (-1) * self  # b - a = b + (-1) * a

    def __truediv__(self, other):
        a, b = self._operand(other)
        if a.dtype.kind != "f":  # true division of integers gives the default float, as torch
            a, b = a.to(convert.default_float()), b.to(convert.default_float())
        return a * b ** -1  # a / b = a * b**-1

    def __rtruediv__(self, other):
        a, c = self._operand(other)
        if a.dtype.kind != "f":
            a, c = a.to(convert.default_float()), c.to(convert.default_float())
        return c * a ** -1  # c / a = c * a**-1

    def pow(self, exponent):
        if isinstance(exponent, Tensor):  # a ** b = exp(b * log(a)), for a > 0
            return (exponent * self.log()).exp()
        exponent = float(exponent) if isinstance(exponent, float) else int(exponent)
        kind = self._data.dtype.kind
        if kind != "f" and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        base = self if kind == "f" or isinstance(exponent, int) else self.float()
        if base.dtype == bool_:
            base = base.long()  # torch: bool ** 2 is int64 (numpy would give int8)
        return apply(ops.Pow(exponent), base)

    __pow__ = pow

    def __rpow__(self, base):
        return (self * float(np.log(base))).exp()  # c ** a = exp(a * log c)

    def __matmul__(self, other):
        if other.__class__ is Tensor and other._data.dtype != self._data.dtype:
            # torch's matmul never promotes: float32 @ float64 is an error, not a float64
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{self._data.dtype} != {other._data.dtype}")
        a, b = self._operand(other)
        convert.matmul_shapes(a.shape, b.shape)
        return apply(_MATMUL, a, b)

    def __rmatmul__(self, other):
        return Tensor(other) @ self

    def exp(self):
        return apply(_EXP, self)

    def log(self):
        return apply(_LOG, self)

    def tanh(self):
        return apply(_TANH, self)

    def log10(self):
        return self.log() * (1 / math.log(10))  # log10(x) = ln(x) / ln(10)

    def log2(self):
        return self.log() * (1 / math.log(2))  # log2(x) = ln(x) / ln(2)

    def sin(self):
        return apply(_SIN, self._floating())

    def cos(self):
        return apply(_COS, self._floating())

    def _floating(self):
        """self, or as the default float dtype if it holds integers (torch's sin(int) is a
        float)."""
        return self if self._data.dtype.kind == "f" else self.to(convert.default_float())

    def sqrt(self):
        return self ** 0.5

    def relu(self):
        # relu(x) = x * [not x <= 0]; the mask is a constant. Written as torch's threshold,
        # so a NaN passes through with its gradient, as in torch ([NaN > 0] would drop it).
        return self * ~(self._data <= 0)

    def abs(self):
        # |x| = x * sign(x); sign is a constant. torch's sign(NaN) is 0 (numpy's is NaN, which
        # would make the gradient NaN where torch's is 0)
        return self * np.nan_to_num(np.sign(self._data))

    def sigmoid(self):
        return 0.5 * (1 + (0.5 * self).tanh())  # sigmoid(x) = (1 + tanh(x/2)) / 2, no overflow

    def clamp(self, min=None, max=None):  # noqa: A002  (torch's argument names)
        """min(max(x, lo), hi), written with where: the gradient flows where lo <= x <= hi,
        as torch's (at x == lo or x == hi too); lo > hi gives hi everywhere, as torch."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        out = self
        if min is not None:
            out = where(out < min, min, out)
        if max is not None:
            out = where(out > max, max, out)
        return out

    clip = clamp

    def clamp_min(self, min):  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max):  # noqa: A002
        return self.clamp(max=max)

    def minimum(self, other):
        return minimum(self, other)

    def maximum(self, other):
        return maximum(self, other)

    # ---- comparisons: constants that never require grad --------------------------------

    def _compare(self, fn, other):
        return Tensor(fn(self._data, other._data if isinstance(other, Tensor) else other))

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

    def sum(self, dim=None, keepdim=False, *, keepdims=None):
        x = self if self._data.dtype.kind == "f" else self.long()  # integers sum as int64
        return apply(ops.Sum(_dims(dim, self.ndim), _keep(keepdim, keepdims)), x)

    def mean(self, dim=None, keepdim=False, *, keepdims=None):
        keepdim = _keep(keepdim, keepdims)
        if self._data.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: {self.dtype}")
        count = math.prod(self.shape[d] for d in _dims(dim, self.ndim))
        # mean = sum / count; an empty mean is 0 * nan = nan, as torch
        return self.sum(dim, keepdim) * (1 / count if count else float("nan"))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, keepdims=None):
        """sum((x - mean(x))**2) / (N - correction) over `dim` (all dims by default).

        correction=1 (the default, Bessel's: unbiased) or 0 (the population variance);
        `unbiased=True/False` is torch's older spelling of correction=1/0, and `x.var(False)`
        passes it positionally, as in torch.
        """
        if isinstance(dim, bool):  # torch's var(unbiased) overload
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            raise RuntimeError("var: cannot specify both unbiased and correction")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"std and var only support floating point and complex dtypes "
                               f"(got {self.dtype})")
        keepdim = _keep(keepdim, keepdims)
        count = math.prod(self.shape[d] for d in _dims(dim, self.ndim))
        centred = self - self.mean(dim, keepdim=True)
        divisor = max(0, count - correction)  # torch clamps it at 0: then 0/0 = nan, x/0 = inf
        return (centred * centred).sum(dim, keepdim) * (1 / divisor if divisor else math.inf)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, keepdims=None):
        """sqrt(var(...)), with var's arguments."""
        return self.var(dim, unbiased, keepdim, correction=correction,
                        keepdims=keepdims) ** 0.5  # std = var ** (1/2)

    def max(self, dim=None, keepdim=False, *, keepdims=None):
        keepdim = _keep(keepdim, keepdims)
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError("max(): Expected reduction dim to be specified for "
                                   "input.numel() == 0. Specify the reduction dim with the "
                                   "'dim' argument.")
            return apply(ops.Max(), self)
        axis = _dims(dim, self.ndim)
        if self.ndim == 0:  # a 0-d tensor is its own maximum, at index 0, as in torch
            return MaxResult(self.reshape(()), constant(np.zeros((), int64)))
        if self.shape[axis[0]] == 0:
            raise IndexError(f"max(): Expected reduction dim {axis[0]} to have non-zero size.")
        op = ops.Max(axis[0], keepdim)
        values = apply(op, self)
        indices = op.indices if keepdim else op.indices.squeeze(op.dim)
        return MaxResult(values, constant(indices.astype(int64, copy=False)))

    def min(self, dim=None, keepdim=False, *, keepdims=None):
        # min(x) = -max(-x): negation is exact, and the first minimum of x is the first
        # maximum of -x, so values, indices and the gradient at ties are max's
        result = (-self).max(dim, keepdim, keepdims=keepdims)
        if dim is None:
            return -result
        return MaxResult(-result.values, result.indices)

    def argmin(self, dim=None, keepdim=False, *, keepdims=None):
        return (-self).argmax(dim, keepdim, keepdims=keepdims)

    def all(self):
        return constant(np.asarray(np.all(self._data)))

    def any(self):
        return constant(np.asarray(np.any(self._data)))

    def argmax(self, dim=None, keepdim=False, *, keepdims=None):
        keepdim = _keep(keepdim, keepdims)
        if dim is None:
            index = np.asarray(np.argmax(self._data))
            return constant(index.reshape((1,) * self.ndim) if keepdim else index)
        return self.max(dim, keepdim).indices

    def histc(self, bins=100, min=0, max=0):  # noqa: A002  (torch's argument names)
        from .histogram import histc
        return histc(self, bins, min, max)

    def histogram(self, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
        from .histogram import histogram
        return histogram(self, bins, range=range, weight=weight, density=density)

    def _softmax_of_nothing(self, dim):
        """torch's (log_)softmax of an empty tensor is empty. It skips the max (an empty dim
        has none) and the sum (1 / 0 and log 0 would hide inf and NaN grads inside)."""
        convert.dim(dim, self.ndim)  # still torch's IndexError for a bad dim
        return self * 1.0  # a new node of the same (empty) shape

    def softmax(self, dim):
        if self._data.size == 0:
            return self._softmax_of_nothing(dim)
        e = (self - self.max(dim, keepdim=True).values.detach()).exp()  # shift-invariant
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim):
        if self._data.size == 0:
            return self._softmax_of_nothing(dim)
        # log softmax(x) = z - log(sum(exp(z))) with z = x - max(x): exp never overflows
        z = self - self.max(dim, keepdim=True).values.detach()
        return z - z.exp().sum(dim, keepdim=True).log()

    # ---- shapes and indexing ----------------------------------------------------------

    def reshape(self, *shape):
        if not shape:  # torch's reshape() and view() need a size, () for a 0-d result
            raise TypeError('reshape() missing 1 required positional arguments: "shape"')
        shape = convert.reshape_target(convert.size_args(shape), self._data.size)
        return apply(ops.Reshape(shape), self)

    view = reshape  # numpy copies where torch's view would refuse; the values are the same

    def view_as(self, other):
        return self.reshape(other.shape)

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return apply(ops.Permute(convert.permutation(dims, self.ndim)), self)

    def unsqueeze(self, dim):
        """A new axis of size 1 at `dim` (counted in the result: -1 appends one)."""
        axis = convert.dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])  # same values

    def squeeze(self, dim=None):
        """Drop size-1 axes: all of them, or those among `dim` (an int or a tuple); a named
        axis whose size is not 1 stays, as in torch."""
        axes = _dims(dim, self.ndim) if dim is not None else range(self.ndim)
        shape = tuple(n for i, n in enumerate(self.shape) if n != 1 or i not in axes)
        return self.reshape(shape) if shape != self.shape else self.reshape(self.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        a, b = convert.dim(start_dim, self.ndim), convert.dim(end_dim, self.ndim)
        return self.reshape(self.shape[:a] + (-1,) + self.shape[b + 1:]) if a <= b \
            else self.reshape(self.shape)

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        i, j = convert.dim(dim0, self.ndim), convert.dim(dim1, self.ndim)
        dims[i], dims[j] = j, i
        return self.permute(*dims)

    def __getitem__(self, index):
        index, basic = convert.index(index, self.ndim)
        if not basic:
            split = convert.ints_first(index)
            if split is not None:  # torch selects with the ints first: two getitems
                return self[split[0]][split[1]]
        return apply(ops.GetItem(index, basic), self)

    def __setitem__(self, index, value):
        """In-place write, outside the graph: allowed where torch allows it without recording
        (anything under no_grad, tensors that need no grad), and stamped as a write."""
        if self._requires_grad and _state["grad_enabled"]:
            if self._op is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            raise RuntimeError("minigrad does not record in-place operations: write into a "
                               "tensor that requires grad under minigrad.no_grad(), or build a "
                               "new tensor (torch.where-style) instead")
        self._data[convert.index(index, self.ndim)[0]] = value._data \
            if isinstance(value, Tensor) else value
        self._mark_written()


# ---- functions of several tensors -----------------------------------------------------------

def _tensors(values):
    """Tensors of one dtype, promoted the way torch promotes: two by convert.result_dtype
    (which knows that a 0-d tensor does not widen a dimensioned one), more by kind: the
    floats decide when there are any (int64 with float32 is float32, not numpy's float64)."""
    values = [v if isinstance(v, Tensor) else Tensor(v) for v in values]
    if len(values) == 2:
        dtype = convert.result_dtype(*values)
    else:
        floats = [v._data.dtype for v in values if v._data.dtype.kind == "f"]
        dtype = np.result_type(*(floats or [v._data.dtype for v in values]))
    return [v.to(dtype) for v in values]


def cat(tensors, dim=0):
    """The tensors joined along `dim` (all other sizes must be equal)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for t in tensors:
        if t.ndim == 0:
            raise RuntimeError("zero-dimensional tensor cannot be concatenated")
    tensors = _tensors(tensors)
    axis = convert.dim(dim, tensors[0].ndim)
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(first):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(first)} "
                               f"and {t.ndim}")
        for d, (m, n) in enumerate(zip(first, t.shape)):
            if d != axis and m != n:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. "
                                   f"Expected size {m} but got size {n} for tensor number {i} "
                                   "in the list.")
    return apply(ops.Cat(axis), *tensors)


def stack(tensors, dim=0):
    """The tensors (all of one shape) along a new axis `dim`."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at "
                               f"entry {i}")
    axis = convert.dim(dim, tensors[0].ndim + 1)
    # stack(xs, d) = cat([x.unsqueeze(d) for x in xs], d)
    return cat([t.unsqueeze(axis) for t in tensors], axis)


def where(condition, input, other):  # noqa: A002  (torch's argument names)
    """input where condition holds, other elsewhere; all three broadcast. A Python scalar
    takes the tensor's dtype, as torch's."""
    condition = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype != bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {condition.dtype}")
    if isinstance(input, Tensor) and not isinstance(other, Tensor):
        input, other = input._operand(other)
    elif isinstance(other, Tensor) and not isinstance(input, Tensor):
        other, input = other._operand(input)
    else:
        input, other = _tensors([input, other])
    # three shapes broadcast together exactly when every pair does
    for x, y in ((input, other), (condition, input), (condition, other)):
        convert.broadcast_error(x.shape, y.shape)
    return apply(ops.Where(condition), input, other)


def maximum(a, b):
    """The larger of a and b, element by element; NaN wins, as in torch.

    max(a, b) = a where a > b, b where a < b, and (a + b) / 2 where they tie (it equals a):
    written so, the gradient splits in half at a tie, as torch's does. A NaN fails both
    comparisons and so lands in the tie branch, which makes it NaN.
    """
    a, b = _tensors([a, b])
    tie = a * 0.5 + b * 0.5 if a.dtype.kind == "f" else a  # halves are exact: a tie gives a
    return where(a._data > b._data, a, where(a._data < b._data, b, tie))


def minimum(a, b):
    """The smaller of a and b: maximum's rule with the comparisons turned round."""
    a, b = _tensors([a, b])
    tie = a * 0.5 + b * 0.5 if a.dtype.kind == "f" else a
    return where(a._data < b._data, a, where(a._data > b._data, b, tie))
