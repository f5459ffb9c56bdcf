"""Tensor: a numpy array that records the op that made it; and `apply`, which runs one.

A Tensor is a numpy array (`_data`) plus `grad`, `requires_grad` and, for a result, the
primitive that made it and its inputs (read-only: `t.op`, `t.parents`). A node holds its
parents and its op, never a closure over itself: no reference cycles, so a graph is freed with
its root. Here: apply, the one constructor path, the attributes, the operators and the methods
that call a primitive; the others are in the mixins of the class line. torch's names.
"""

from operator import attrgetter

import numpy as np

from . import autograd, convert, higher, ops, views
from .composed import Composed, MaxResult
from .conversions import Conversions
from .convert import int64
from .guards import check_forward, clock, stamp
from .inplace import InPlace
from .modes import modes

_new, _data = object.__new__, attrgetter("_data")
# Primitives without arguments are shared: one instance serves every node.
_ADD, _MUL, _EXP, _LOG, _TANH, _MATMUL = (ops.Add(), ops.Mul(), ops.Exp(), ops.Log(),
                                          ops.Tanh(), ops.MatMul())


def init_fields(t, data, box=None, scope=None):
    """Set every field of a new tensor, a leaf that needs no grad: the one constructor path
    (Tensor(), constant, apply). `box`: the version box (guards.py) of the memory `data` looks
    at, for a view; a new array gets a new one. `scope`: apply's (modes.scope) when given."""
    t._data, t._grad, t.label, t.scope = data, None, None, scope or modes.scope
    t._requires_grad, t._op, t._parents = False, None, ()
    t._vc, t._recorded = [0, 0] if box is None else box, clock[0]
    return t


def constant(array, box=None):
    """A leaf that never requires grad, around an array we already own (no checks)."""
    return init_fields(_new(Tensor), array, box)


def apply(op, *parents):
    """Run a primitive; record op and parents only if grad mode is on and an input needs it."""
    data = op.forward(*map(_data, parents))  # (map with a C getter: no comprehension frame)
    m = modes.__dict__  # this thread's grad mode, scope and anomaly mode (modes.py), at once
    # numpy hands back a scalar (np.float32), not an array, for 0-d arithmetic
    out = init_fields(_new(Tensor), data if data.__class__ is np.ndarray else np.asarray(data),
                      None, m["scope"])
    if m["anomaly"]:  # guards.py: a NaN/inf made by this op raises here
        check_forward(out, op, parents)
    if m["grad_enabled"]:
        if views.rebased:  # some view may have a stale history (rare): views.refresh
            for p in parents:
                views.refresh(p)
        for p in parents:
            if p._requires_grad:
                out._requires_grad, out._op, out._parents = True, op, parents
                break
    return out


class Tensor(Composed, Conversions, InPlace):
    """A numpy array with autograd. Mixins: composed.py (compositions of primitives),
    conversions.py (numbers, numpy, dtypes, printing, pickle), inplace.py (in-place writes)."""
    # _vc: the version box of the memory (shared with views), _recorded: the clock when the
    # op ran, _previous: the version before an in-place op (set only by one); see guards.py.
    # Set only on views: _view = (base, op, grad mode when taken); on their bases: _viewed.
    __slots__ = ("_data", "_grad", "_requires_grad", "_op", "_parents", "label", "scope",
                 "_vc", "_recorded", "_previous", "_view", "_viewed", "__weakref__")
    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__
    __hash__ = object.__hash__  # identity, although == compares elementwise

    def __init__(self, data, requires_grad=False, dtype=None, label=None):
        init_fields(self, convert.as_array(data, dtype))
        self.label = label
        self.requires_grad = requires_grad  # (checks the dtype)

    # ---- attributes -------------------------------------------------------------------

    @property
    def data(self):
        """The same memory as a detached Tensor: writes through it are not recorded, but
        they are seen (it shares the version box, so backward refuses stale values)."""
        return constant(self._data, self._vc)

    @data.setter
    def data(self, value):
        # `t.data = other` and also `t.data -= d`: Python runs an augmented assignment as get,
        # in-place subtract, set (with the same tensor, whose write is already stamped).
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if value._data is not self._data:
            self._data = value._data
            stamp(self._vc)

    @property
    def grad(self):
        """The gradient, a Tensor of this tensor's shape and dtype, or None.

        backward stores numpy arrays (cheap); the first read wraps one in a Tensor, once,
        so that `p.grad is p.grad` and writes into `p.grad` last.
        """
        g = self._grad
        if g is not None and g.__class__ is not Tensor:
            self._grad = g = constant(g)
        return g

    @grad.setter
    def grad(self, value):
        convert.check_grad(value, self)  # (torch's refusals)
        self._grad = value

    def _accumulate_grad(self, grad):
        """backward's last step: add one contribution into `.grad` (in place into a gradient
        Tensor, as torch: a reference to `p.grad` taken before sees the sum)."""
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
        convert.check_requires_grad(self, value)  # (only a floating leaf)
        self._requires_grad = bool(value)

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: self._data.dtype)
    is_leaf = property(lambda self: self._op is None)
    op = property(lambda self: self._op)  # the primitive that made it (None: a leaf)
    parents = property(lambda self: views.inputs(self))  # its inputs, as its op read them

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(node) into `.grad` of every node that requires grad."""
        if views.rebased:
            views.refresh(self)
        if create_graph:  # the rules run on Tensors, recorded: a differentiable .grad (higher.py)
            return higher.backward(self, gradient)
        autograd.backward(self, convert.seed_gradient(self, gradient))

    # ---- element-wise arithmetic ------------------------------------------------------

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

    def __truediv__(self, other):
        a, b = self._operand(other)
        if a.dtype.kind != "f":  # true division of integers gives the default float, as torch
            a, b = a.to(convert.default_float()), b.to(convert.default_float())
        return a * b ** -1  # a / b = a * b**-1

    def pow(self, exponent):
        if isinstance(exponent, Tensor):  # a ** b = exp(b * log(a)), for a > 0
            return (exponent * self.log()).exp()
        base, exponent = convert.power(self, exponent)  # (torch's dtypes)
        return apply(ops.Pow(exponent), base)

    __pow__ = pow

    def __matmul__(self, other):
        a, b = self._operand(convert.matmul_dtypes(self, other))
        convert.matmul_shapes(a.shape, b.shape)
        return apply(_MATMUL, a, b)

    def exp(self):
        return apply(_EXP, self)

    def log(self):
        return apply(_LOG, self)

    def tanh(self):
        return apply(_TANH, self)

    # ---- reductions -------------------------------------------------------------------

    def sum(self, dim=None, keepdim=False, *, keepdims=None):
        x = self if self._data.dtype.kind == "f" else self.long()  # integers sum as int64
        keepdim = keepdim if keepdims is None else keepdims  # (torch's alias, numpy's spelling)
        return apply(ops.Sum(convert.dims(dim, self.ndim), keepdim), x)

    def max(self, dim=None, keepdim=False, *, keepdims=None):
        axis = convert.max_dim(self, dim)  # (torch's refusals)
        if dim is None:
            return apply(ops.Max(), self)
        if self.ndim == 0:  # a 0-d tensor is its own maximum, at index 0, as in torch
            return MaxResult(self.reshape(()), constant(np.zeros((), int64)))
        keepdim = convert.keepdim(keepdim, keepdims)
        # argmax gives the first maximum (NaN counts as maximal), as torch's max(dim) does
        indices = self._data.argmax(axis=axis, keepdims=True)
        values = apply(ops.Max(axis, keepdim, indices), self)
        indices = indices if keepdim else indices.squeeze(axis)
        return MaxResult(values, constant(indices.astype(int64, copy=False)))

    # ---- shapes and indexing ----------------------------------------------------------

    def reshape(self, *shape):
        if not shape:  # torch's reshape() and view() need a size, () for a 0-d result
            raise TypeError('reshape() missing 1 required positional arguments: "shape"')
        shape = convert.reshape_target(convert.size_args(shape), self._data.size)
        op = ops.Reshape(shape)
        out = apply(op, self)
        if views.shares_memory(out._data, self._data):  # a view (numpy copies only when it must)
            views.take_view(out, self, op)
        return out

    view = reshape  # numpy copies where torch's view would refuse; the values are the same

    def __getitem__(self, index):
        index, basic = convert.index(index, self.ndim)
        if not basic:
            split = convert.ints_first(index)
            if split is not None:  # torch selects with the ints first: two getitems
                return self[split[0]][split[1]]
        op = ops.GetItem(index)
        out = apply(op, self)
        if basic:  # a basic index selects a view, as in torch
            views.take_view(out, self, op)
        return out

