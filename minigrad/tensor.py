"""Tensor: the operators and the derived ops, written as compositions of primitives.

A Tensor is a numpy array (`_data`) plus what autograd needs: `grad`, `requires_grad`, and for
a result, the primitive that made it (`_op`) and its inputs (`_parents`). A node holds its
parents and its op, never a closure that captures the node itself, so a graph has no
reference cycles and is freed the moment the last reference to its root goes.

The names and semantics are PyTorch's: `grad` is a Tensor or None, `data` a detached Tensor
on the same memory, in-place operators write into the memory (and are recorded where torch
records them, see "in-place operations" below), views share memory and a version box
(guards.py) with their base. Known difference: `view` is `reshape` (numpy copies where torch
would refuse a non-contiguous view). Input checks live in convert.py, creation functions in
creation.py.
"""

import copy
import math
from typing import NamedTuple

import numpy as np

from . import convert, ops
from .autograd import backward, inputs
from .convert import bool_, float32, float64, int32, int64
from .guards import check_forward, clock, new_box, stamp, tick
from .modes import modes

_new = object.__new__

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
    data = op.forward(*[p._data for p in parents])
    out = _new(Tensor)
    # numpy hands back a scalar (np.float32), not an array, for 0-d arithmetic
    out._data = data if data.__class__ is np.ndarray else np.asarray(data)
    out._grad = out.label = None
    out._vc = [0, 0]  # a fresh storage's version box (guards.new_box, inlined)
    out._recorded = clock[0]  # backward checks that what the op reads was not written since
    m = modes.__dict__  # this thread's grad mode, scope and anomaly mode (modes.py)
    out.scope = m["scope"]
    if m["anomaly"]:
        check_forward(out, op, parents)
    if m["grad_enabled"]:
        if rebased:  # some view may have a stale history (rare): see _refresh
            for p in parents:
                _refresh(p)
        for p in parents:
            if p._requires_grad:
                out._requires_grad, out._op, out._parents = True, op, parents
                return out
    out._requires_grad, out._op, out._parents = False, None, ()
    return out


def constant(array, box=None):
    """A leaf that never requires grad, around an array we already own (no checks).

    `box` is the version box of the storage `array` looks at, for a view (detach, .data).
    """
    out = _new(Tensor)
    out._data, out._grad, out.label, out.scope = array, None, None, modes.scope
    out._requires_grad, out._op, out._parents = False, None, ()
    out._vc, out._recorded = [0, 0] if box is None else box, clock[0]
    return out


def _shares_memory(view, x):
    """Whether numpy's `view` looks at x's memory (numpy points a view at the owning array)."""
    base = view.base
    return base is not None and (base is x or base is x.base)


_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _cast_error(result, out):
    """torch's refusal to write a result into a tensor whose dtype cannot hold it."""
    raise RuntimeError(f"result type {_TORCH_NAMES.get(result.name, result.name)} can't be "
                       "cast to the desired output type "
                       f"{_TORCH_NAMES.get(out.name, out.name)}")


def _can_cast(result, out):
    """torch's canCast: never a float into an integer, nor anything but bool into bool."""
    kinds = "biuf"  # bool < integer < float
    return kinds.index(result.kind if result.kind != "u" else "i") <= kinds.index(
        out.kind if out.kind != "u" else "i")


class MaxResult(NamedTuple):
    """What `max(dim)` returns: unpacks as (values, indices), as torch.return_types.max."""
    values: "Tensor"
    indices: "Tensor"


class Tensor:
    # _vc: the version box of the memory (shared with views), _recorded: the clock when the
    # op ran, _previous: the version before an in-place op (set only by one); see guards.py.
    # Set only on views: _view = (base, op, grad mode when taken); on their bases: _viewed.
    __slots__ = ("_data", "_grad", "_requires_grad", "_op", "_parents", "label", "scope",
                 "_vc", "_recorded", "_previous", "_view", "_viewed", "__weakref__")
    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__
    __hash__ = object.__hash__  # identity, although == compares elementwise

    def __init__(self, data, requires_grad=False, dtype=None, label=None):
        self._data = convert.as_array(data, dtype)
        self._grad, self._op, self._parents, self.label = None, None, (), label
        self._vc, self._recorded = new_box(), clock[0]
        self.scope = modes.scope
        self._requires_grad = False
        self.requires_grad = requires_grad

    # ---- attributes -------------------------------------------------------------------

    @property
    def data(self):
        """The same memory as a detached Tensor: writes through it are not recorded, but
        they are seen (it shares the version box, so backward refuses stale values)."""
        out = _new(Tensor)  # constant(self._data, self._vc), inlined: `p.data` is hot in SGD
        out._data, out._grad, out.label, out.scope = self._data, None, None, self.scope
        out._requires_grad, out._op, out._parents = False, None, ()
        out._vc, out._recorded = self._vc, clock[0]
        return out

    @data.setter
    def data(self, value):
        # `t.data = other` and also `t.data -= d`: Python runs an augmented assignment as get,
        # in-place subtract, set (with the same tensor, whose write is already stamped).
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if value._data is not self._data:
            self._data = value._data
            self._mark_written()

    def _mark_written(self):
        """Stamp an in-place change of the memory (for code that writes `_data` directly)."""
        stamp(self._vc)

    @property
    def _version(self):
        """How many in-place writes this memory has seen (torch's `_version`)."""
        return self._vc[1]

    @property
    def grad(self):
        """The gradient, a Tensor of this tensor's shape and dtype, or None.

        backward stores numpy arrays (cheap); the first read wraps one in a Tensor, once,
        so that `p.grad is p.grad` and writes into `p.grad` last.
        """
        g = self._grad
        if g.__class__ is np.ndarray:  # stored by backward: wrap it (constant(g), inlined:
            out = _new(Tensor)         # `p.grad` is read at every SGD step)
            out._data, out._grad, out.label, out.scope = g, None, None, self.scope
            out._requires_grad, out._op, out._parents = False, None, ()
            out._vc, out._recorded = [0, 0], clock[0]
            self._grad = g = out
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError("assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of size "
                                   f"'{list(value.shape)}' to a tensor of size "
                                   f"'{list(self.shape)}'. Please ensure that the gradient "
                                   "and the tensor are the same size")
            if value.dtype != self.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype "
                                   f"'{value.dtype}' to a tensor with grad_dtype "
                                   f"'{self.dtype}'. The gradient must match the tensor's "
                                   "grad_dtype (defaults to the tensor's dtype).")
        self._grad = value

    def _grad_array(self):
        """The gradient as a numpy array (or None), for the engine's own numpy code."""
        g = self._grad
        return g._data if g.__class__ is Tensor else g

    def _accumulate_grad(self, grad):
        """backward's last step: add one contribution into `.grad`.

        As torch, an existing gradient Tensor is added to in place (a reference to `p.grad`
        taken before sees the sum); otherwise the array is stored as it is.
        """
        g = self._grad
        if g is None:
            self._grad = grad
        elif g.__class__ is Tensor:
            g._data += grad
            stamp(g._vc)
        else:
            self._grad = g + grad

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
    op = property(lambda self: self._op, doc="The primitive that made this tensor (None: a leaf).")
    parents = property(inputs, doc="The tensors the op read, as they were when it ran.")
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
        if rebased:
            _refresh(self)
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
        return constant(self._data, self._vc)  # a view: same memory, same version box

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

    # ---- conversions: numpy, Python numbers, formatting, pickle -----------------------

    def __array__(self, dtype=None, copy=None):
        """np.asarray(t): the numbers themselves, so matplotlib plots tensors."""
        data = self.numpy()  # torch refuses a tensor that requires grad, as numpy() does
        if dtype is not None and data.dtype != dtype:
            return data.astype(dtype)
        return data.copy() if copy else data

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.item()

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __index__(self):
        if self._data.size != 1 or self._data.dtype.kind not in "iu":
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.item())

    def __format__(self, spec):
        if self.ndim == 0:  # f'{loss:.4f}' formats the number, as torch
            return format(self._data.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)

    def __getstate__(self):
        """What pickle keeps: values, requires_grad, label, and the version box so that
        tensors sharing memory share it after loading too. No graph and no grad, as torch."""
        return {"data": self._data, "requires_grad": self._requires_grad,
                "label": self.label, "box": self._vc}

    def __setstate__(self, state):
        self._data, self.label, self._vc = state["data"], state["label"], state["box"]
        # The write clock of the process that saved this is meaningless here: the memory
        # counts as not written since (tick 0), while the number of writes is kept.
        self._vc[0] = 0
        self._grad, self._op, self._parents, self.scope = None, None, (), None
        self._requires_grad, self._recorded = state["requires_grad"], 0

    def __deepcopy__(self, memo):
        if self._op is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        new = _new(Tensor)
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        new._grad = copy.deepcopy(self.grad, memo)  # deepcopy keeps the grad, as torch's
        memo[id(self)] = new
        return new

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
        if other.__class__ is float and not self._requires_grad:
            return self._times_number(other)
        return self._binary(_MUL, other)

    def __rmul__(self, other):
        if other.__class__ is float and not self._requires_grad:
            return self._times_number(other)
        return self._binary(_MUL, other, reflected=True)

    def _times_number(self, number):
        """A tensor that needs no grad times a Python float (`lr * p.grad`): nothing is
        recorded, so numpy directly. numpy rounds the float to a float tensor's dtype as
        apply's path does (a Python number never changes a float tensor's dtype); any other
        result dtype (an integer tensor: torch gives the default float) takes apply's path."""
        data = self._data * number
        if data.dtype is not self._data.dtype or rebased or modes.anomaly:
            return self._binary(_MUL, number)  # a dtype to promote, a stale view?, a check
        out = _new(Tensor)  # constant(data), inlined: `lr * p.grad` is hot in SGD
        out._data = data if data.__class__ is np.ndarray else np.asarray(data)
        out._grad, out.label, out.scope = None, None, self.scope
        out._requires_grad, out._op, out._parents = False, None, ()
        out._vc, out._recorded = [0, 0], clock[0]
        return out

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
        return apply(ops.Sum(convert.dims(dim, self.ndim), _keep(keepdim, keepdims)), x)

    def mean(self, dim=None, keepdim=False, *, keepdims=None):
        keepdim = _keep(keepdim, keepdims)
        if self._data.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: {self.dtype}")
        count = math.prod(self.shape[d] for d in convert.dims(dim, self.ndim))
        total = self.sum(dim, keepdim)
        if not count:  # an empty mean is 0 * nan = nan, as torch
            return total * float("nan")
        if total.dtype == float32:
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
        keepdim = _keep(keepdim, keepdims)
        count = math.prod(self.shape[d] for d in convert.dims(dim, self.ndim))
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
        axis = convert.dims(dim, self.ndim)
        if self.ndim == 0:  # a 0-d tensor is its own maximum, at index 0, as in torch
            return MaxResult(self.reshape(()), constant(np.zeros((), int64)))
        if self.shape[axis[0]] == 0:
            raise IndexError(f"max(): Expected reduction dim {axis[0]} to have non-zero size.")
        # argmax gives the first maximum (NaN counts as maximal), as torch's max(dim) does
        indices = self._data.argmax(axis=axis[0], keepdims=True)
        values = apply(ops.Max(axis[0], keepdim, indices), self)
        indices = indices if keepdim else indices.squeeze(axis[0])
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
        op = ops.Reshape(shape)
        out = apply(op, self)
        if _shares_memory(out._data, self._data):  # a view (numpy copies only when it must)
            _take_view(out, self, op)
        return out

    view = reshape  # numpy copies where torch's view would refuse; the values are the same

    def view_as(self, other):
        return self.reshape(other.shape)

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        op = ops.Permute(convert.permutation(dims, self.ndim))
        return _take_view(apply(op, self), self, op)  # always a view

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

    def __getitem__(self, index):
        index, basic = convert.index(index, self.ndim)
        if not basic:
            split = convert.ints_first(index)
            if split is not None:  # torch selects with the ints first: two getitems
                return self[split[0]][split[1]]
        op = ops.GetItem(index)
        out = apply(op, self)
        if basic:  # a basic index selects a view, as in torch
            _take_view(out, self, op)
        return out

    # ---- in-place operations ------------------------------------------------------------
    #
    # `t += v`, `t[i] = v`, `t.zero_()`, ... write into t's memory and stamp its version box.
    # Where torch records them, so do we: in grad mode, when t or v requires grad. The
    # write is then recorded as the out-of-place op it equals (`t += v` is t_new = t_old + v),
    # and t's history is rewritten: the object t becomes t_new, and t_old lives on as a
    # separate node (`t._previous`) holding a copy of the old values, which the new op may
    # need (`t *= w` gives dw = dy * t_old). Nodes that used t before keep reaching t_old
    # (autograd.inputs). An op that saved the overwritten values refuses backward, as torch.
    # A leaf that requires grad (a parameter) is never written in grad mode: torch refuses.
    # A write through a view is recorded on its base too (_rewrite), and the other views of
    # that base regenerate their history on their next use (_refresh).

    def _check_writable(self):
        """torch's refusal to write into a leaf that requires grad, or a view of one, or
        (a recorded write) through a view taken under no_grad."""
        t, kind = self, "a leaf Variable"
        while (view := getattr(t, "_view", None)) is not None:
            if not view[2]:
                raise RuntimeError(_NO_GRAD_VIEW.format("is being"))
            t, kind = view[0], "a view of a leaf Variable"
        if t._op is None and t._requires_grad:
            raise RuntimeError(f"{kind} that requires grad is being used in an in-place "
                               "operation.")

    def _version_node(self, data):
        """A node for this tensor's current version (history, memory box), holding `data`."""
        old = _new(Tensor)
        old._data, old._grad, old.label, old.scope = data, None, None, self.scope
        old._requires_grad, old._op, old._parents = self._requires_grad, self._op, self._parents
        old._vc, old._recorded = self._vc, self._recorded
        if hasattr(self, "_previous"):
            old._previous = self._previous
        return old

    def _record_inplace(self, compute):
        """The recorded in-place op: `compute(t_old)` builds t_new out of place; t's memory
        takes t_new's values and t takes t_new's history. Nothing changes if compute raises."""
        self._check_writable()
        tick()  # every node made from here on counts as later than every use of t so far
        old = self._version_node(self._data.copy())
        old._vc = new_box()  # its own memory: later writes into t leave it as it is
        new = compute(old)
        if new.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(new.shape)}")
        if new.dtype != self.dtype:
            new = new.to(self.dtype)
        self._data[...] = new._data
        stamp(self._vc)
        # For the nodes that used t before (they reach old through t._previous), old's
        # values were overwritten now: those that read them refuse, as in torch.
        old._vc[0] = clock[0]
        _rewrite(self, new, old)
        return self

    def _arith_(self, other, ufunc, compute):
        """`self op= other`: numpy's in-place ufunc where nothing is recorded, else recorded."""
        if rebased and modes.grad_enabled:  # (as apply does)
            _refresh(self)
            _refresh(other)
        data = self._data
        if (other.__class__ is Tensor and other._data.dtype is data.dtype
                and data.dtype.kind == "f" and not self._requires_grad
                and not other._requires_grad):  # `p.data -= lr * p.grad`: nothing to check
            try:
                ufunc(data, other._data, data)
                stamp(self._vc)
                return self
            except ValueError:
                pass  # shapes that do not broadcast: the general path raises torch's error
        if other.__class__ is Tensor and other._data.dtype is self._data.dtype:
            a = b = other  # the common case (`p.data -= lr * p.grad`): nothing to promote
        else:
            a, b = self._operand(other)
        result = a._data.dtype
        if ufunc is np.true_divide and result.kind != "f":
            result = np.dtype(convert.default_float())  # true division of integers
        if result != self._data.dtype and not _can_cast(result, self._data.dtype):
            _cast_error(result, self._data.dtype)
        if modes.grad_enabled and (self._requires_grad or b._requires_grad):
            return self._record_inplace(lambda old: compute(old, other))
        data, other_data = self._data, b._data
        try:
            if other_data.dtype is data.dtype:
                ufunc(data, other_data, data)
            else:  # float32 -= float64: computed in float64, rounded into float32, as torch
                ufunc(data, other_data, data, casting="unsafe")
        except ValueError:  # numpy: "non-broadcastable output operand ..."
            convert.broadcast_error(self.shape, b.shape)
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(np.broadcast_shapes(self.shape, b.shape))}"
                               ) from None
        stamp(self._vc)
        return self

    def __iadd__(self, other):
        return self._arith_(other, np.add, Tensor.__add__)

    def __isub__(self, other):
        return self._arith_(other, np.subtract, Tensor.__sub__)

    def __imul__(self, other):
        return self._arith_(other, np.multiply, Tensor.__mul__)

    def __itruediv__(self, other):
        return self._arith_(other, np.true_divide, Tensor.__truediv__)

    def add_(self, other, alpha=1):
        return self.__iadd__(other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return self.__isub__(other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self.__imul__(other)

    def div_(self, other):
        return self.__itruediv__(other)

    def __setitem__(self, index, value):
        """`t[index] = value`, torch's index_put_: a write, recorded as ops.SetItem where
        t or value requires grad in grad mode (then t requires grad and backward reaches
        value: `logits[i] = model(x)`)."""
        index = convert.index(index, self.ndim)[0]
        if rebased and modes.grad_enabled:  # (as apply does)
            _refresh(self)
            _refresh(value)
        if modes.grad_enabled and (self._requires_grad or getattr(value, "_requires_grad",
                                                                  False)):
            if isinstance(value, Tensor):
                value = value.to(self.dtype)
            else:
                value = constant(np.asarray(value, dtype=self.dtype))
            try:
                self._record_inplace(lambda old: apply(ops.SetItem(index), old, value))
            except ValueError:
                _setitem_error(self._data, index, value)
            return
        try:
            self._data[index] = value._data if isinstance(value, Tensor) else value
        except ValueError:
            _setitem_error(self._data, index, value)
        stamp(self._vc)

    def fill_(self, value):
        self[...] = value
        return self

    def zero_(self):
        return self.fill_(0)

    def copy_(self, src):
        """Copy src's values (broadcast, cast to self's dtype) into self."""
        if not isinstance(src, Tensor):
            src = Tensor(src)
        try:
            np.broadcast_to(src._data, self.shape)
        except ValueError:
            convert.broadcast_error(self.shape, src.shape)
            raise
        self[...] = src
        return self

    def clamp_(self, min=None, max=None):  # noqa: A002
        if rebased and modes.grad_enabled:  # (as apply does)
            _refresh(self)
        if modes.grad_enabled and self._requires_grad:
            return self._record_inplace(lambda old: old.clamp(min, max))
        self.clamp(min, max)  # the checks
        np.clip(self._data, min, max, out=self._data)
        stamp(self._vc)
        return self



def _setitem_error(data, index, value):
    """torch's RuntimeError for a value that does not fit the slots (numpy: ValueError)."""
    slots = np.shape(data[index])
    raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(value))} cannot "
                       f"be broadcast to indexing result of shape {list(slots)}") from None


# ---- views: a view remembers its base ------------------------------------------------------
#
# A view (basic indexing, a reshape that numpy does without copying, permute) is `op(base)` on
# base's memory, as in torch. Besides sharing base's version box, it remembers base, the op,
# and whether grad mode was on when it was taken (`_view`), and base knows it has views
# (`_viewed`). Two things follow, both torch's:
#
# - a write through a view is a write into base: _rewrite records it on base too;
# - when base's history is rewritten (an in-place op on base or through another of its
#   views), a view taken before still has the old history, `op(base as it was)`, while its
#   values are the new ones. _refresh regenerates it on its next use: `op(base as it is)`.

# Set once a tensor with views had its history rewritten: from then on some view may be
# stale, and apply (and the other places that use a tensor) look. Until then: one check.
rebased = False

_NO_GRAD_VIEW = ("A view was created in no_grad mode and {} modified inplace with grad mode "
                 "enabled. Given that this use case is ambiguous and error-prone, it is "
                 "forbidden. You can clarify your code by moving both the view and the "
                 "inplace either both inside the no_grad block (if you don't want the "
                 "inplace to be tracked) or both outside (if you want the inplace to be "
                 "tracked).")


def _take_view(out, base, op):
    """Make `out` (= op(base), on base's memory) a view of base: same version box, and it
    remembers where it came from."""
    out._vc = base._vc
    out._view = (base, op, modes.grad_enabled)
    base._viewed = True
    return out


def _refresh(t):
    """If t is a view whose base's history was rewritten after t's was recorded, regenerate
    t's history as `op(base as it is now)`.

    torch does this on a view's next use, and so do we: apply, backward's root and the
    in-place ops call this (only once `rebased` is set). t's history until now lives on as
    `t._previous`, for the nodes that used t before (autograd.inputs), exactly as after an
    in-place op on t. A view taken under no_grad has no history to regenerate: torch refuses
    its use once its base requires grad and was rewritten.
    """
    view = getattr(t, "_view", None)  # (also for non-Tensors: None)
    if view is None:
        return
    base, op, grad_mode = view
    _refresh(base)  # a view of a view: its base first
    if base._recorded <= t._recorded:  # base's history is the one t was made from
        return
    if not grad_mode:
        if base._requires_grad:
            raise RuntimeError(_NO_GRAD_VIEW.format(
                "its base or another view of its base has been"))
        return
    t._previous = t._version_node(t._data)
    t._recorded = clock[0]
    if base._requires_grad:
        t._op, t._parents, t._requires_grad = op, (base,), True
    else:
        t._op, t._parents, t._requires_grad = None, (), False


def _rewrite(t, new, old):
    """t's memory holds new's values: t takes new's history, and t_old becomes t._previous.

    If t is a view, the write went into its base's memory too, so the base is rewritten as
    well (as torch's CopySlices), whether or not it required grad before:
    base_new = base_old with the view's slots replaced by `new`, and t becomes the same view
    of base_new. (`logits = zeros(8, 27); row = logits[i]; row += v`: logits then requires
    grad, and backward reaches v through logits.)
    """
    global rebased
    view = getattr(t, "_view", None)
    now = clock[0]
    if view is None:
        t._op, t._parents, t._requires_grad = new._op, new._parents, True
    else:
        base, op, _ = view
        # new stays a node of its own: like t itself, it counts as recorded after the write
        # (it holds a copy of t_old's values, so the write changed nothing it reads)
        new._recorded = now
        base_old = base._version_node(base._data)  # values unread: SetItem needs none
        if op.__class__ is ops.GetItem:  # base_new = base_old with base_new[index] = new
            scatter = apply(ops.SetItem(op.index), base_old, new)
        else:  # a reshape or permute view covers all of base: base_new = new, reshaped back
            scatter = new.reshape(base.shape) if op.__class__ is ops.Reshape else \
                new.permute(*np.argsort(op.dims).tolist())
        _rewrite(base, scatter, base_old)
        t._op, t._parents, t._requires_grad = op, (base,), True  # t = view(base_new)
    t._previous, t._recorded = old, now
    if hasattr(t, "_viewed"):  # t's other views (if any are left) are stale now
        rebased = True


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
