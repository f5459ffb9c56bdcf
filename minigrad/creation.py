"""Making tensors: from data, filled, and ranges (the random ones are in random.py).

torch's names and defaults: float32 for floats, int64 for integers.
"""

import numpy as np

from .convert import as_array, default_float, float64, int64, new_size
from .tensor import Tensor


def tensor(data, dtype=None, requires_grad=False):
    """A new leaf holding a copy of `data`."""
    return Tensor(np.array(as_array(data, dtype)), requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad=False):
    return Tensor(np.zeros(new_size(size, "zeros"), dtype or default_float()),
                  requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    return Tensor(np.ones(new_size(size, "ones"), dtype or default_float()),
                  requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    start, end = (0, start) if end is None else (start, end)
    # torch's checks, before numpy's (which divides by a zero step, or returns an empty range)
    if not all(np.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    data = np.arange(start, end, step)
    if dtype is None:  # float arguments give torch's default float, not numpy's float64
        dtype = default_float() if data.dtype.kind == "f" else int64
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    """A tensor of `size` filled with `fill_value`; its dtype follows the value (bool, int64,
    or the default float), as torch's."""
    if dtype is None:
        dtype = as_array(fill_value).dtype
    return Tensor(np.full(new_size((size,), "full"), fill_value, dtype),
                  requires_grad=requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    """torch leaves the values unspecified; minigrad's are zeros."""
    return Tensor(np.zeros(new_size(size, "empty"), dtype or default_float()),
                  requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad=False):
    return empty(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """`steps` values from start to end, evenly spaced, both ends included.

    torch's CPU rule, in the result's dtype: step = (end - start) / (steps - 1); the first
    half counts up from start (start + i * step), the second half down from end
    (end - (steps - 1 - i) * step), so both ends are exact. (torch's vectorised kernel
    rounds some middle values differently, by an ulp at most.)
    """
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    dtype = np.dtype(dtype or default_float())
    work = dtype if dtype.kind == "f" else float64  # integer results are computed in double
    start, end = work.type(start), work.type(end)
    i = np.arange(steps)
    if steps == 1:
        values = np.full(1, start, work)
    else:
        step = (end - start) / work.type(max(steps - 1, 1))
        up = start + step * i.astype(work)
        down = end - step * (steps - 1 - i).astype(work)
        values = np.where(i < steps // 2, up, down)
    return Tensor(values.astype(dtype), requires_grad=requires_grad)
