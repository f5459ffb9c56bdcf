"""Tensor methods that convert: to Python numbers, numpy, other dtypes, text and pickle;
and the sizes (`size`, `numel`, `len`). No autograd here but `to`/`clone` (a Cast, recorded).

The class `Conversions` is a mixin of Tensor (tensor.py); `core` is tensor.py.
"""

import copy

import numpy as np

from . import convert, extra_ops
from . import tensor as core  # (Tensor, apply, constant: used when a method runs)
from .convert import float32, float64, int32, int64
from .guards import stamp


class Conversions:
    __slots__ = ()

    def _mark_written(self):
        """Stamp an in-place change of the memory (for code that writes `_data` directly)."""
        stamp(self._vc)

    @property
    def _version(self):
        """How many in-place writes this memory has seen (torch's `_version`)."""
        return self._vc[1]

    def _grad_array(self):
        """The gradient as a numpy array (or None), for the engine's own numpy code."""
        g = self._grad
        return g._data if g.__class__ is core.Tensor else g

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

    def clone(self):
        return core.apply(extra_ops.Cast(self.dtype), self)  # a copy; its gradient is dy

    def to(self, dtype):
        dtype = np.dtype(dtype)
        if self._data.dtype == dtype:
            return self
        if dtype.kind != "f":  # an integer or bool copy is a constant: no grad flows to it
            return core.constant(self._data.astype(dtype))
        return core.apply(extra_ops.Cast(dtype), self)

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
        core.init_fields(self, state["data"], state["box"])
        # The write clock of the process that saved this is meaningless here: the memory
        # counts as not written since (tick 0), while the number of writes is kept.
        self._vc[0] = self._recorded = 0
        self.label, self.scope, self._requires_grad = state["label"], None, state["requires_grad"]

    def __deepcopy__(self, memo):
        if self._op is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        new = object.__new__(core.Tensor)
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        new._grad = copy.deepcopy(self.grad, memo)  # deepcopy keeps the grad, as torch's
        memo[id(self)] = new
        return new

    def retain_grad(self):
        """Accepted for torch compatibility: every node that requires grad keeps its grad."""

    def detach(self):
        return core.constant(self._data, self._vc)  # a view: same memory, same version box

    def _operand(self, other):
        """(self, other) as Tensors of one dtype, promoted the way torch promotes."""
        if other.__class__ is not core.Tensor:
            if isinstance(other, (bool, int, float)) and not isinstance(other, np.generic):
                if self._data.dtype.kind == "f":  # the common case: no cast to check for
                    return self, core.constant(np.asarray(other, dtype=self._data.dtype))
                dtype = convert.scalar_dtype(self._data.dtype, other)
                return self.to(dtype), core.constant(np.asarray(other, dtype=dtype))
            other = core.Tensor(other)
        if self._data.dtype == other._data.dtype:
            return self, other
        dtype = convert.result_dtype(self, other)
        return self.to(dtype), other.to(dtype)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self
