"""Layers with PyTorch's names: Module, Linear, Embedding, BatchNorm1d, Tanh, Flatten, Sequential.
The functions (cross_entropy, softmax, one_hot, ...) are in functional.py, which is also
`minigrad.nn.functional`, as in torch.

    import minigrad.nn as nn
    model = nn.Sequential(nn.Linear(30, 64), nn.BatchNorm1d(64), nn.Tanh(), nn.Linear(64, 27))
    loss = nn.functional.cross_entropy(model(x), y)

Everything here is a composition of the engine's primitives (tensor.py, ops.py). Layers write
their forward in the lecture's small steps, so every intermediate is a node that has a `.grad`,
a `.label` (the seed's name where it has one) and a `.scope`.

Differences from torch, on purpose:
- A parameter is any leaf Tensor that requires grad, assigned as a module attribute (there is
  no Parameter class; `nn.Parameter(data)` just makes such a tensor). Buffers are registered
  with `register_buffer`, as in torch.
- `parameters()` and `named_parameters()` return lists, not generators.
- `state_dict()` returns numpy copies; `load_state_dict` is all-or-nothing (torch copies the
  good entries before it raises).
- Calling a module that has been assigned to a parent's attribute runs its forward inside
  `minigrad.scope(<attribute name>)`; children of a Sequential are scoped by class name and
  position ("linear0", "batchnorm1d1", ...). A module called on its own opens no scope.
- `BatchNorm1d(unbiased_normalization=True)` normalises with the n-1 variance (the lecture).

Not here: optimizers (optim.py), initialisation schemes beyond torch's defaults, conv layers.
"""

import math
import sys
from typing import NamedTuple

import numpy as np

from . import functional, modes, random
from .convert import float32, int64
from .creation import empty, ones, tensor, zeros
from .functional import cross_entropy  # noqa: F401  (nn.cross_entropy, as before)
from .tensor import Tensor


def Parameter(data, requires_grad=True):
    """A leaf Tensor that requires grad: what a Module registers as a parameter."""
    return tensor(data, requires_grad=requires_grad)  # a copy, with torch's default dtypes


class _IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class: registers parameters, buffers and child modules as they are assigned.

    Assigning a leaf Tensor that requires grad to an attribute registers a parameter;
    assigning a Module registers a child and records the attribute name as the child's
    `scope_name`; `register_buffer` registers state that is saved but not trained
    (BatchNorm's running statistics). Registration order is assignment order, which fixes
    the order of `parameters()` and `state_dict()` (torch's order: a module's own parameters,
    then its children's, depth first).
    """

    training = True  # class defaults, so a subclass that skips __init__ still works
    scope_name = None

    def __init__(self):
        self.training = True

    # ---- registration ------------------------------------------------------------------

    def _registry(self):
        """(parameter names, buffer names, child names): dicts used as ordered sets."""
        d = self.__dict__
        if "_param_names" not in d:
            for key in ("_param_names", "_buffer_names", "_module_names"):
                object.__setattr__(self, key, {})
        return d["_param_names"], d["_buffer_names"], d["_module_names"]

    def __setattr__(self, name, value):
        params, buffers, modules = self._registry()
        if isinstance(value, Module):
            kind = modules
            if value.scope_name is None:
                object.__setattr__(value, "scope_name", self._child_scope_name(name, value))
        elif name in buffers and (value is None or isinstance(value, Tensor)):
            kind = buffers  # a buffer stays a buffer when reassigned
        elif isinstance(value, Tensor) and value.requires_grad and value.is_leaf:
            kind = params
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(a leaf Tensor that requires grad, or None, expected)")
            kind = params  # None keeps the slot, as torch's Linear(bias=False)
        else:
            kind = None
        for names in (params, buffers, modules):
            if names is not kind:
                names.pop(name, None)
        if kind is not None:
            kind.setdefault(name)  # a reassigned name keeps its first position
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for names in self._registry():
            names.pop(name, None)
        object.__delattr__(self, name)

    def _child_scope_name(self, name, child):
        """The scope a child's forward runs in: its attribute name (Sequential overrides)."""
        return name

    def register_buffer(self, name, tensor):
        """Saved in state_dict and converted by to(), but not returned by parameters()."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        params, buffers, modules = self._registry()
        params.pop(name, None)
        modules.pop(name, None)
        buffers.setdefault(name)
        object.__setattr__(self, name, tensor)

    # ---- walking the tree --------------------------------------------------------------

    def named_children(self):
        return [(name, self.__dict__[name]) for name in self._registry()[2]]

    def children(self):
        return [child for _, child in self.named_children()]

    def named_modules(self, prefix=""):
        """(dotted name, module) for self and every descendant, pre-order, each module once."""
        out, seen, stack = [], set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            out.append((name, module))
            kids = [(f"{name}.{k}" if name else k, m) for k, m in module.named_children()]
            stack.extend(reversed(kids))  # reversed: the first child is popped first
        return out

    def modules(self):
        return [m for _, m in self.named_modules()]

    def _named(self, which, recurse=True):
        """Registered tensors of one kind (0 params, 1 buffers), each tensor once."""
        out, seen = [], set()
        modules = self.named_modules() if recurse else [("", self)]
        for prefix, module in modules:
            for name in module._registry()[which]:
                t = module.__dict__[name]
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                out.append((f"{prefix}.{name}" if prefix else name, t))
        return out

    def named_parameters(self, recurse=True):
        return self._named(0, recurse)

    def parameters(self, recurse=True):
        """Every registered parameter once, in torch's order (own first, then children)."""
        return [p for _, p in self._named(0, recurse)]

    def named_buffers(self, recurse=True):
        return self._named(1, recurse)

    def buffers(self, recurse=True):
        return [b for _, b in self._named(1, recurse)]

    # ---- modes, gradients, dtype -------------------------------------------------------

    def train(self, mode=True):
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def to(self, dtype):
        """Convert every floating parameter and buffer (and grad) to `dtype`, in place.

        Make the optimizer afterwards: its state keeps the dtype it was created with.
        """
        dtype = np.dtype(dtype)
        for _, t in self._named(0) + self._named(1):
            if t.dtype.kind == "f":
                t.data = t.data.to(dtype)
                if t.grad is not None:
                    t.grad = t.grad.to(dtype)
        return self

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(np.float64)

    # ---- calling -----------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        # Nodes made inside carry the scope path ("model/batchnorm"), so viz can draw boxes.
        if self.scope_name is None:
            return self.forward(*args, **kwargs)
        with modes.scope(self.scope_name):
            return self.forward(*args, **kwargs)

    # ---- saving and loading ------------------------------------------------------------

    def _state_tensors(self, prefix=""):
        """(key, tensor) for state_dict: own parameters, own buffers, then each child's.

        Unlike parameters(), a tensor reachable under two names appears under both, as torch.
        """
        params, buffers, modules = self._registry()
        out = [(prefix + name, self.__dict__[name]) for name in list(params) + list(buffers)
               if self.__dict__[name] is not None]
        for name in modules:
            out += self.__dict__[name]._state_tensors(f"{prefix}{name}.")
        return out

    def state_dict(self):
        """Dotted name -> a numpy copy of every parameter and buffer ("0.weight")."""
        return {key: t._data.copy() for key, t in self._state_tensors()}

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into the parameters and buffers in place, or change nothing and raise.

        Values may be numpy arrays, minigrad Tensors or anything np.asarray accepts (a torch
        tensor too). Every key and shape is checked before anything is written. With
        strict=False missing and unexpected keys are tolerated (and returned); a size
        mismatch always raises, as in torch.
        """
        own = dict(self._state_tensors())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, arrays = [], {}
        for key, t in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value._data if isinstance(value, Tensor) else value
            try:
                array = np.asarray(value)
            except (TypeError, ValueError, RuntimeError):  # ragged, or a tensor needing grad
                array = np.asarray(None)
            if array.dtype.kind not in "biuf":
                errors.append(f'While copying the parameter named "{key}", expected array-like '
                              f"numbers from checkpoint but received {type(value).__name__}")
            elif array.shape != t.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{array.shape} from checkpoint, the shape in current model is "
                              f"{t.shape}.")
            else:
                arrays[key] = array
        if strict and unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if strict and missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with modes.no_grad():  # in place (whoever holds the array sees the new values),
            for key, array in arrays.items():  # and stamped: an older graph is now stale
                own[key][...] = array
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing ----------------------------------------------------------------------

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ")" if not lines else head + "\n  " + "\n  ".join(lines) + "\n)"


class Linear(Module):
    """y = x @ weight.T + bias, weight (out_features, in_features) as torch.

    torch's default init, the same draws from the same generator: weight by kaiming_uniform_
    with a = sqrt(5), bias ~ U(-1/sqrt(in), 1/sqrt(in)) (the two bounds are equal on paper;
    in floats the weight's may differ in the last bit, so each is computed torch's way).
    """

    def __init__(self, in_features, out_features, bias=True, generator=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = empty((out_features, in_features), dtype=dtype, requires_grad=True)
        self.bias = empty(out_features, dtype=dtype, requires_grad=True) if bias else None
        # kaiming_uniform_(a): gain = sqrt(2 / (1 + a**2)), std = gain / sqrt(fan_in), and
        # U(-b, b) has that std for b = sqrt(3) * std
        if in_features > 0:  # torch leaves a zero-element weight alone (no draws)
            gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
            b = math.sqrt(3.0) * (gain / math.sqrt(in_features))
            random.uniform_(self.weight, -b, b, generator)
        if bias:
            bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
            random.uniform_(self.bias, -bound, bound, generator)

    def forward(self, x):
        out = x @ self.weight.T  # (..., in) @ (in, out) -> (..., out)
        return out if self.bias is None else out + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table: forward(idx) = weight[idx], weight ~ N(0, 1) as torch.

    (...) integer indices -> (..., embedding_dim). The backward scatter-adds, so a row used
    twice in a batch receives both gradients.
    """

    def __init__(self, num_embeddings, embedding_dim, generator=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = empty((num_embeddings, embedding_dim), dtype=dtype, requires_grad=True)
        random.normal_(self.weight, generator)  # torch's init.normal_: randn's draws

    def forward(self, idx):
        return self.weight[idx]

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class BatchNorm1d(Module):
    """Batch normalisation over (N, C) or (N, C, L) input, torch.nn.BatchNorm1d's semantics.

    Training: normalise with the batch's statistics per channel C (over N, and L if given),
    then y = weight * xhat + bias; update running_mean and running_var (the *unbiased* batch
    variance) by an exponential moving average with `momentum` (momentum=None: cumulative
    average). Eval: normalise with the running statistics instead.

    The normalising variance is biased (divide by n), as torch; `unbiased_normalization=True`
    divides by n - 1, as the lecture's seed notebook does:
        bnvar = 1/(n-1) * (bndiff**2).sum(0, keepdim=True)
    The forward is the seed's steps, each a node labelled with the seed's name
    (bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, unbiased_normalization=False, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.unbiased_normalization = unbiased_normalization
        if affine:
            self.weight = ones(num_features, dtype=dtype, requires_grad=True)
            self.bias = zeros(num_features, dtype=dtype, requires_grad=True)
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=int64)))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")
        if x.shape[1] != self.num_features:
            raise RuntimeError(f"running_mean should contain {x.shape[1]} elements not "
                               f"{self.num_features}")
        dims = (0,) if x.ndim == 2 else (0, 2)  # reduce over all but the channel axis
        stat_shape = (self.num_features,) if x.ndim == 2 else (self.num_features, 1)
        n = x.shape[0] if x.ndim == 2 else x.shape[0] * x.shape[2]  # values per channel

        if self.training or self.running_mean is None:
            if n <= 1:
                raise ValueError("Expected more than 1 value per channel when training, got "
                                 f"input size {tuple(x.shape)}")
            bnmeani = 1 / n * x.sum(dims, keepdim=True)  # (1, C) or (1, C, 1)
            bndiff = x - bnmeani
            bndiff2 = bndiff ** 2
            sq_sum = bndiff2.sum(dims, keepdim=True)
            # torch divides by n; the lecture applies Bessel's correction (n - 1)
            bnvar = (1 / (n - 1) if self.unbiased_normalization else 1 / n) * sq_sum
            bnvar_inv = (bnvar + self.eps) ** -0.5  # 1 / std
            bnraw = bndiff * bnvar_inv
            for t, name in ((bnmeani, "bnmeani"), (bndiff, "bndiff"), (bndiff2, "bndiff2"),
                            (bnvar, "bnvar"), (bnvar_inv, "bnvar_inv")):
                t.label = name
            if self.training and self.running_mean is not None:
                self._update_running_stats(bnmeani._data, sq_sum._data, n)
        else:
            # Eval: the running statistics are constants; the graph is x -> bndiff -> bnraw.
            bndiff = x - self.running_mean.numpy().reshape(stat_shape)
            bnvar_inv = Tensor((self.running_var.numpy().reshape(stat_shape) + self.eps) ** -0.5)
            bnraw = bndiff * bnvar_inv
            bndiff.label, bnvar_inv.label = "bndiff", "bnvar_inv"
        bnraw.label = "bnraw"
        if self.weight is None:
            return bnraw
        gain, bias = self.weight, self.bias
        if x.ndim == 3:  # (C,) -> (C, 1), to broadcast over (N, C, L)
            gain, bias = gain.reshape(stat_shape), bias.reshape(stat_shape)
        return gain * bnraw + bias

    def _update_running_stats(self, mean, sq_sum, n):
        # running = (1 - m) * running + m * batch statistic, in place, outside the graph
        # (buffers never require grad). The running variance is the unbiased one,
        # sum((x - mean)**2) / (n - 1), whichever variance normalised the batch.
        self.num_batches_tracked += 1
        m = self.momentum if self.momentum is not None else \
            1 / float(self.num_batches_tracked)  # cumulative average
        for buf, stat in ((self.running_mean, mean), (self.running_var, sq_sum / (n - 1))):
            buf *= 1 - m
            buf += m * stat.reshape(-1)

    def extra_repr(self):
        extra = ", unbiased_normalization=True" if self.unbiased_normalization else ""
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}{extra}")


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, 3, 10) -> (N, 30) by default, as torch."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        shape = x.shape
        start, end = self.start_dim % max(len(shape), 1), self.end_dim % max(len(shape), 1)
        merged = int(np.prod(shape[start:end + 1]))
        return x.reshape(shape[:start] + (merged,) + shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Calls its layers in order. Indexable (an int gives a layer, a slice a Sequential),
    iterable and sized. state_dict keys are "0.weight", "1.running_mean", ... as torch; the
    scope of each layer is its lowercased class name and position: "linear0", "tanh2".
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def _child_scope_name(self, name, child):
        return f"{type(child).__name__.lower()}{name}"

    def append(self, layer):
        setattr(self, str(len(self)), layer)
        return self

    def __getitem__(self, index):
        layers = self.children()
        return Sequential(*layers[index]) if isinstance(index, slice) else layers[index]

    def __len__(self):
        return len(self._registry()[2])

    def __iter__(self):
        return iter(self.children())

    def forward(self, x):
        for layer in self:
            x = layer(x)
        return x


# `import minigrad.nn.functional as F` works as with torch: nn is one file, so the module
# (minigrad/functional.py) is registered under that dotted name as well.
sys.modules[__name__ + ".functional"] = functional
