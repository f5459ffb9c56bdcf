"""In-place operations: `t += v`, `t[i] = v`, `t.zero_()`, `copy_`, `clamp_`, ...

They write into t's memory and stamp its version box (guards.py). Where torch records them,
so do we: in grad mode, when t or v requires grad. The write is then recorded as the
out-of-place op it equals (`t += v` is t_new = t_old + v), and t's history is rewritten: the
object t becomes t_new, and t_old lives on as a separate node (`t._previous`) holding a copy
of the old values, which the new op may need (`t *= w` gives dw = dy * t_old). Nodes that
used t before keep reaching t_old (views.inputs). An op that saved the overwritten values
refuses backward, as torch. A leaf that requires grad (a parameter) is never written in grad
mode: torch refuses. A write through a view is recorded on its base too (views.rewrite).

The class `InPlace` is a mixin of Tensor (tensor.py); `core` is tensor.py.
"""

import numpy as np

from . import convert, extra_ops, views
from . import tensor as core  # (Tensor, apply, constant: used when a method runs)
from .guards import clock, new_box, stamp, tick
from .modes import modes

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



def _setitem_error(data, index, value):
    """torch's RuntimeError for a value that does not fit the slots (numpy: ValueError)."""
    slots = np.shape(data[index])
    raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(value))} cannot "
                       f"be broadcast to indexing result of shape {list(slots)}") from None


class InPlace:
    __slots__ = ()

    def _check_writable(self):
        """torch's refusal to write into a leaf that requires grad, or a view of one, or
        (a recorded write) through a view taken under no_grad."""
        t, kind = self, "a leaf Variable"
        while (view := getattr(t, "_view", None)) is not None:
            if not view[2]:
                raise RuntimeError(views.NO_GRAD_VIEW.format("is being"))
            t, kind = view[0], "a view of a leaf Variable"
        if t._op is None and t._requires_grad:
            raise RuntimeError(f"{kind} that requires grad is being used in an in-place "
                               "operation.")

    def _version_node(self, data):
        """A node for this tensor's current version (history, memory box), holding `data`."""
        old = core.constant(data, self._vc)
        old.scope, old._recorded = self.scope, self._recorded
        old._requires_grad, old._op, old._parents = self._requires_grad, self._op, self._parents
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
        views.rewrite(self, new, old)
        return self

    def _arith_(self, other, ufunc, compute):
        """`self op= other`: numpy's in-place ufunc where nothing is recorded, else recorded."""
        if views.rebased and modes.grad_enabled:  # (as apply does)
            views.refresh(self)
            views.refresh(other)
        data = self._data
        if (other.__class__ is core.Tensor and other._data.dtype is data.dtype
                and data.dtype.kind == "f" and not self._requires_grad
                and not other._requires_grad):  # `p.data -= lr * p.grad`: nothing to check
            try:
                ufunc(data, other._data, data)
                stamp(self._vc)
                return self
            except ValueError:
                pass  # shapes that do not broadcast: the general path raises torch's error
        if other.__class__ is core.Tensor and other._data.dtype is self._data.dtype:
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
        return self._arith_(other, np.add, core.Tensor.__add__)

    def __isub__(self, other):
        return self._arith_(other, np.subtract, core.Tensor.__sub__)

    def __imul__(self, other):
        return self._arith_(other, np.multiply, core.Tensor.__mul__)

    def __itruediv__(self, other):
        return self._arith_(other, np.true_divide, core.Tensor.__truediv__)

    def add_(self, other, alpha=1):
        return self.__iadd__(other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return self.__isub__(other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self.__imul__(other)

    def div_(self, other):
        return self.__itruediv__(other)

    def __setitem__(self, index, value):
        """`t[index] = value`, torch's index_put_: a write, recorded as extra_ops.SetItem where
        t or value requires grad in grad mode (then t requires grad and backward reaches
        value: `logits[i] = model(x)`)."""
        index = convert.index(index, self.ndim)[0]
        if views.rebased and modes.grad_enabled:  # (as apply does)
            views.refresh(self)
            views.refresh(value)
        if modes.grad_enabled and (self._requires_grad or getattr(value, "_requires_grad",
                                                                  False)):
            if isinstance(value, core.Tensor):
                value = value.to(self.dtype)
            else:
                value = core.constant(np.asarray(value, dtype=self.dtype))
            try:
                self._record_inplace(lambda old: core.apply(extra_ops.SetItem(index), old, value))
            except ValueError:
                _setitem_error(self._data, index, value)
            return
        try:
            self._data[index] = value._data if isinstance(value, core.Tensor) else value
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
        if not isinstance(src, core.Tensor):
            src = core.Tensor(src)
        try:
            np.broadcast_to(src._data, self.shape)
        except ValueError:
            convert.broadcast_error(self.shape, src.shape)
            raise
        self[...] = src
        return self

    def clamp_(self, min=None, max=None):  # noqa: A002
        if views.rebased and modes.grad_enabled:  # (as apply does)
            views.refresh(self)
        if modes.grad_enabled and self._requires_grad:
            return self._record_inplace(lambda old: old.clamp(min, max))
        self.clamp(min, max)  # the checks
        np.clip(self._data, min, max, out=self._data)
        stamp(self._vc)
        return self
