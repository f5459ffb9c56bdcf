"""minigrad: a tiny tensor autograd engine on numpy, with PyTorch's names and semantics.

    import minigrad
    x = minigrad.randn(3, 4, requires_grad=True)
    y = (x @ x.T).tanh().sum()
    y.backward()          # x.grad is a Tensor of x's shape and dtype

The engine is three files meant to be read in one sitting: tensor.py (the Tensor and the
ops built from primitives), ops.py (the primitives with their derivatives) and autograd.py
(order, accumulation, broadcasting). nn.py and optim.py build layers on top; check.py replays
a graph in torch and compares every node.
"""

import os

import numpy as np

from . import check, convert, fast  # noqa: F401  (minigrad.check imports torch only when called)
from .composed import cat, maximum, minimum, stack, where
from .convert import bool_, float32, float64, int32, int64
from .creation import (
    arange,
    empty,
    empty_like,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from .histogram import histc, histogram
from .modes import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    scope,
    set_grad_enabled,
)
from .ops import PRIMITIVES
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    multinomial,
    rand,
    randint,
    randn,
    seed,
    set_rng_state,
)
from .tensor import Tensor

long = int64
int = int32  # noqa: A001  (torch.int is int32)
float = float32  # noqa: A001  (torch.float is float32)
double = float64


def get_default_dtype():
    """The dtype of Python floats and float factories: float32 unless set_default_dtype."""
    return convert.default_float()


def set_default_dtype(d):
    """float32 or float64 for Python floats, zeros/ones/randn/linspace/... and int / int."""
    convert.set_default_dtype(d)


def tanh(x):
    return x.tanh()


def exp(x):
    return x.exp()


def log(x):
    return x.log()


def sqrt(x):
    return x.sqrt()


def log10(x):
    return x.log10()


def log2(x):
    return x.log2()


def sin(x):
    return x.sin()


def cos(x):
    return x.cos()


def abs(x):  # noqa: A001  (torch.abs)
    return x.abs()


def clamp(x, min=None, max=None):  # noqa: A002
    return x.clamp(min, max)


clip = clamp


def sum(x, dim=None, keepdim=False, *, keepdims=None):  # noqa: A001  (torch.sum)
    return x.sum(dim, keepdim, keepdims=keepdims)


def mean(x, dim=None, keepdim=False, *, keepdims=None):
    return x.mean(dim, keepdim, keepdims=keepdims)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, keepdims=None):
    return x.var(dim, unbiased, keepdim, correction=correction, keepdims=keepdims)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, keepdims=None):
    return x.std(dim, unbiased, keepdim, correction=correction, keepdims=keepdims)


def argmax(x, dim=None, keepdim=False):
    return x.argmax(dim, keepdim)


def squeeze(x, dim=None):
    return x.squeeze(dim)


def unsqueeze(x, dim):
    return x.unsqueeze(dim)


def relu(x):
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def softmax(x, dim):
    return x.softmax(dim)


def log_softmax(x, dim):
    return x.log_softmax(dim)


def matmul(a, b):
    return a @ b


def all(x):  # noqa: A001  (torch.all)
    return x.all()


def allclose(a, b, rtol=1e-05, atol=1e-08):
    """True when |a - b| <= atol + rtol * |b| everywhere (torch.allclose; accepts arrays)."""
    a = a._data if isinstance(a, Tensor) else np.asarray(a)
    b = b._data if isinstance(b, Tensor) else np.asarray(b)
    return bool(np.allclose(a, b, rtol=rtol, atol=atol))


__all__ = [
    "Tensor", "tensor", "zeros", "ones", "zeros_like", "ones_like", "arange", "randn", "rand",
    "randint", "multinomial", "Generator", "manual_seed", "default_generator", "seed",
    "initial_seed", "get_rng_state", "set_rng_state", "no_grad", "enable_grad",
    "set_grad_enabled", "inference_mode", "scope",
    "is_grad_enabled", "detect_anomaly", "tanh", "exp", "log", "sqrt", "relu", "sigmoid", "softmax",
    "log_softmax", "matmul", "all", "allclose", "float32", "float64", "int64", "bool_", "long",
    "float", "double", "PRIMITIVES", "nn", "optim", "int32", "int", "linspace", "full", "empty",
    "full_like", "empty_like", "cat", "stack", "where", "minimum", "maximum", "histc",
    "histogram", "get_default_dtype", "set_default_dtype", "log10", "log2", "sin", "cos", "abs",
    "clamp", "clip", "sum", "mean", "var", "std", "argmax", "squeeze", "unsqueeze",
]

from . import nn, optim  # noqa: E402  (torch.nn and torch.optim come with `import torch`)
from .graph_capture import CapturedStep, capture  # noqa: E402,F401  (graph capture, replay)

fast.enable(os.environ.get("MINIGRAD_FAST", "1") != "0")  # speed tricks (fast.py), on by default
