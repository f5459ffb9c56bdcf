"""Tensor methods (and torch functions) written as compositions of primitives.

Each names the identity it uses (`log10(x) = ln(x) / ln(10)`, `var = mean((x - mean)^2)`), so
its gradient needs no rule of its own: the primitives' rules (ops.py) chain. Also here: the
comparisons, which make constants (they never require grad), and cat, stack, where, maximum,
minimum. The class `Composed` is a mixin of Tensor (tensor.py); `core` is tensor.py.
"""

import math
from typing import NamedTuple

import numpy as np

from . import convert, extra_ops, views
from . import tensor as core  # (Tensor, apply, constant: used when a method runs)
from .convert import bool_, float32

_SIN, _COS = extra_ops.Sin(), extra_ops.Cos()  # shared: ops without arguments


class MaxResult(NamedTuple):
    """What `max(dim)` returns: unpacks as (values, indices), as torch.return_types.max."""
    values: "core.Tensor"
    indices: "core.Tensor"


class Composed:
    __slots__ = ()

    # ---- the reflected operators: `2 - t`, `2 / t`, `2 ** t`, `array @ t` ----------------

    def __rsub__(self, other):
        return self._operand(other)[1] + (-1) * self  # b - a = b + (-1) * a

    def __rtruediv__(self, other):
        a, c = self._operand(other)
        if a.dtype.kind != "f":
            a, c = a.to(convert.default_float()), c.to(convert.default_float())
        return c * a ** -1  # c / a = c * a**-1

    def __rpow__(self, base):
        return (self * float(np.log(base))).exp()  # c ** a = exp(a * log c)

    def __rmatmul__(self, other):
        return core.Tensor(other) @ self

    def log10(self):
        return self.log() * (1 / math.log(10))  # log10(x) = ln(x) / ln(10)

    def log2(self):
        return self.log() * (1 / math.log(2))  # log2(x) = ln(x) / ln(2)

    def sin(self):
        return core.apply(_SIN, self._floating())

    def cos(self):
        return core.apply(_COS, self._floating())

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
        return core.Tensor(fn(self._data, other._data if isinstance(other, core.Tensor) else other))

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

    def mean(self, dim=None, keepdim=False, *, keepdims=None):
        keepdim = convert.keepdim(keepdim, keepdims)
        if self._data.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: {self.dtype}")
        count = math.prod(self.shape[d] for d in convert.dims(dim, self.ndim))
        total = self.sum(dim, keepdim)
        if not count:  # an empty mean is 0 * nan = nan, as torch
            return total * float("nan")
        if total.dtype == float32 and count & (count - 1):  # (1 / 2**k is exact: one rounding)
            # torch divides: sum(x) / count, rounded once. sum * fl(1/count) would round twice
            # (60/3200 becomes 0.018749999 instead of 0.018750001). The float64 product
            # sum * (1/count), within an ulp of float64 of the quotient, rounds to the same
            # float32 for count < 2**27: sum / count is never a float32 halfway point (unless
            # count is a power of 2, where the product is exact), and never nearer one than
            # 2**-25 / count of its size. The gradient, dy / count, is rounded the same way.
            return (total.double() * (1 / count)).float()
        return total * (1 / count)

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
        keepdim = convert.keepdim(keepdim, keepdims)
        count = math.prod(self.shape[d] for d in convert.dims(dim, self.ndim))
        centred = self - self.mean(dim, keepdim=True)
        divisor = max(0, count - correction)  # torch clamps it at 0: then 0/0 = nan, x/0 = inf
        return (centred * centred).sum(dim, keepdim) * (1 / divisor if divisor else math.inf)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, keepdims=None):
        """sqrt(var(...)), with var's arguments."""
        return self.var(dim, unbiased, keepdim, correction=correction,
                        keepdims=keepdims) ** 0.5  # std = var ** (1/2)

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
        return core.constant(np.asarray(np.all(self._data)))

    def any(self):
        return core.constant(np.asarray(np.any(self._data)))

    def argmax(self, dim=None, keepdim=False, *, keepdims=None):
        keepdim = convert.keepdim(keepdim, keepdims)
        if dim is None:
            index = np.asarray(np.argmax(self._data))
            return core.constant(index.reshape((1,) * self.ndim) if keepdim else index)
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

    def view_as(self, other):
        return self.reshape(other.shape)

    T = property(lambda self: self.permute(*reversed(range(self.ndim))))

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        op = extra_ops.Permute(convert.permutation(dims, self.ndim))
        return views.take_view(core.apply(op, self), self, op)  # always a view

    def unsqueeze(self, dim):
        """A new axis of size 1 at `dim` (counted in the result: -1 appends one)."""
        axis = convert.dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])  # same values

    def squeeze(self, dim=None):
        """Drop size-1 axes: all of them, or those among `dim` (an int or a tuple); a named
        axis whose size is not 1 stays, as in torch."""
        axes = convert.dims(dim, self.ndim) if dim is not None else range(self.ndim)
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

    def expand(self, *sizes):
        """self broadcast to `sizes` (-1 keeps a size), as torch's expand: the expand
        primitive. A copy, where torch's is a view of the same memory (same values)."""
        if not sizes:  # as torch: expand(()) for a 0-d result, never expand()
            raise TypeError('expand() missing 1 required positional arguments: "size"')
        sizes, lead = convert.size_args(sizes), len(convert.size_args(sizes)) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                               f"greater or equal to the number of dimensions in the tensor "
                               f"({self.ndim})")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                      for i, n in enumerate(sizes))
        for i, n in enumerate(self.shape):
            if n != 1 and n != shape[lead + i]:
                raise RuntimeError(f"The expanded size of the tensor ({shape[lead + i]}) must "
                                   f"match the existing size ({n}) at non-singleton "
                                   f"dimension {lead + i}.")
        return core.apply(extra_ops.Expand(shape), self)

    def expand_as(self, other):
        return self.expand(other.shape)

    def index_add(self, dim, index, source, *, alpha=1):
        """self with source's slices added at `index` along dim, repeats adding up (torch's
        index_add): self + the scatter_add primitive."""
        axis = convert.dim(dim, self.ndim)
        index = np.asarray(index._data if isinstance(index, core.Tensor) else index)
        if index.dtype != np.int64 or index.ndim > 1:
            raise RuntimeError("index_add_(): Index is supposed to be a vector of int64")
        source = source if isinstance(source, core.Tensor) else core.Tensor(source)
        if source.dtype != self.dtype:
            raise RuntimeError(f"index_add_(): self ({self.dtype}) and source "
                               f"({source.dtype}) must have the same scalar type")
        spot = (slice(None),) * axis + (index.reshape(-1),)
        if source.shape != self._data[spot].shape:
            raise RuntimeError("index_add_(): Source/destination tensor must have same slice "
                               "shapes.")
        added = core.apply(extra_ops.ScatterAdd(spot, self.shape), source)
        return self + (added if alpha == 1 else added * alpha)


# ---- functions of several tensors ---------------------------------------------------------

def _tensors(values):
    """Tensors of one dtype, promoted the way torch promotes: two by convert.result_dtype
    (which knows that a 0-d tensor does not widen a dimensioned one), more by kind: the
    floats decide when there are any (int64 with float32 is float32, not numpy's float64)."""
    values = [v if isinstance(v, core.Tensor) else core.Tensor(v) for v in values]
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
    return core.apply(extra_ops.Cat(axis), *tensors)


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
    condition = condition._data if isinstance(condition, core.Tensor) else np.asarray(condition)
    if condition.dtype != bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {condition.dtype}")
    if isinstance(input, core.Tensor) and not isinstance(other, core.Tensor):
        input, other = input._operand(other)
    elif isinstance(other, core.Tensor) and not isinstance(input, core.Tensor):
        other, input = other._operand(input)
    else:
        input, other = _tensors([input, other])
    # three shapes broadcast together exactly when every pair does
    for x, y in ((input, other), (condition, input), (condition, other)):
        convert.broadcast_error(x.shape, y.shape)
    return core.apply(extra_ops.Where(condition), input, other)


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

