"""Counting values into bins: torch.histc and torch.histogram (no gradients flow here).

Both follow torch's CPU rules so that the counts are torch's, element for element:
- the edges are `linspace(lo, hi, bins + 1)` in the input's dtype (creation.linspace);
- a value lands in bin floor((x - lo) * bins / (hi - lo)), computed in the input's dtype;
  torch.histogram then checks the neighbouring edges, so a value that rounding put one bin
  off moves to the bin its edges say (histc skips that check, as torch's does);
- the last bin includes its right edge; values outside [lo, hi] and NaNs are not counted;
- an empty range is widened: histc by 1 on each side, histogram by 0.5 (numpy's rule).
"""

from typing import NamedTuple

import numpy as np

from .convert import as_array
from .creation import linspace
from .tensor import Tensor


class HistogramResult(NamedTuple):
    """What torch.histogram returns: unpacks as (hist, bin_edges)."""
    hist: Tensor
    bin_edges: Tensor


def _values(input, name):
    x = as_array(input)
    if x.dtype.kind != "f":
        raise RuntimeError(f"torch.{name}: input tensor and bins tensors should have the same "
                           f"dtype, but got input {x.dtype} and bins float")
    return x.reshape(-1)


def _bin_of(x, edges, local_search):
    """The bin index of every x (all inside [edges[0], edges[-1]]), torch's way."""
    bins = edges.size - 1
    lo, hi = edges[0], edges[-1]
    # in the input's dtype, as torch: (x - lo) * bins / (hi - lo), truncated
    pos = ((x - lo) * x.dtype.type(bins) / (hi - lo)).astype(np.int64)
    if local_search:
        # the edges in the window [pos - 1, pos + 2) that are <= x, counted from its start,
        # give the bin x really sits in (torch's upper_bound over that window)
        start = np.maximum(pos - 1, 0)
        stop = np.minimum(pos + 2, edges.size)
        below = np.zeros_like(pos)
        for k in range(3):
            index = start + k
            inside = index < stop
            below += inside & (edges[np.minimum(index, edges.size - 1)] <= x)
        pos = start + below - 1
    return np.minimum(pos, bins - 1)  # the last bin includes its right edge


def _count(x, edges, weight, local_search):
    keep = (x >= edges[0]) & (x <= edges[-1])  # NaN fails both
    pos = _bin_of(x[keep], edges, local_search)
    w = None if weight is None else weight[keep]
    counts = np.bincount(pos, weights=w, minlength=edges.size - 1)
    return counts.astype(x.dtype)


def histc(input, bins=100, min=0, max=0):  # noqa: A002  (torch's argument names)
    """Counts of the values in `bins` equal bins over [min, max] (the data's own range when
    min == max), as a tensor of the input's dtype."""
    x = _values(input, "histc")
    if bins <= 0:
        raise RuntimeError("torch.histc: bins must be > 0, but got " + str(bins))
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    edges = linspace(lo, hi, bins + 1, dtype=x.dtype).numpy()
    return Tensor(_count(x, edges, None, local_search=False))


def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    """(hist, bin_edges): counts of the values in `bins` equal bins over `range` (default:
    the data's min to max). `weight` gives each value a weight instead of 1; `density`
    divides by the total and by the bin widths, so the histogram integrates to 1."""
    x = _values(input, "histogram")
    if isinstance(bins, (Tensor, np.ndarray, list, tuple)):
        raise NotImplementedError("minigrad's histogram takes a number of bins, not edges")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if range is not None:
        lo, hi = float(range[0]), float(range[1])
    elif x.size:
        lo, hi = float(x.min()), float(x.max())
    else:
        lo, hi = 0.0, 0.0
    if lo == hi:  # an empty range is widened, as numpy does
        lo, hi = lo - 0.5, hi + 0.5
    if lo > hi:
        raise RuntimeError(f"torch.histogram(): min should not exceed max, but got min {lo} "
                           f"max {hi} for dimension 0")
    edges = linspace(lo, hi, bins + 1, dtype=x.dtype).numpy()
    w = None if weight is None else as_array(weight).reshape(-1).astype(np.float64)
    hist = _count(x, edges, w, local_search=True)
    if density:  # torch's order: divide by the total, then by each bin's width
        hist = hist / hist.sum(dtype=x.dtype)
        hist = hist / np.diff(edges)
    return HistogramResult(Tensor(hist), Tensor(edges))
