"""The one test helper: run the same function on minigrad and on torch, compare everything.

`compare(fn, *arrays)` builds a minigrad tensor and a torch tensor from each numpy array
(bit-identical: torch gets `torch.from_numpy(a.copy())`), calls `fn(lib, *tensors)` with
`lib` = the module, so one lambda serves both libraries (`lambda m, a, b: a @ b`), seeds
backward with a random upstream gradient (never just `sum()`), and asserts that the output
and the gradient of every input match.

Tolerances (DESIGN.md testing policy), defined once in minigrad.check.close: float64 uses
torch.testing.assert_close defaults (rtol 1e-7, atol 1e-7); float32 uses the scale-aware
bound max|a - b| <= 1e-6 + 1e-5 max|b|, because element-wise float32 tolerances fail honest
code once a reduction is long.
"""

import numpy as np
import torch

import minigrad
from minigrad.check import close, max_abs_diff


def assert_match(actual, expected, name="tensor"):
    """Compare a numpy array from minigrad with a torch tensor (or array) from the oracle."""
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    assert close(actual, expected), \
        f"{name}: max|diff| {max_abs_diff(actual, expected):.3g} is outside the tolerance"


def as_torch(a, requires_grad=False):
    t = torch.from_numpy(np.array(a, copy=True))
    return t.requires_grad_(requires_grad) if requires_grad else t


def compare(fn, *arrays, seed=0, grad_of=None):
    """Run fn on both libraries; check output, then every float input's gradient.

    `grad_of` lists which positional inputs require grad (default: every float array).
    Returns (minigrad output, torch output) for further checks.
    """
    grad_of = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"] \
        if grad_of is None else grad_of
    m_in = [minigrad.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    t_in = [as_torch(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    m_out, t_out = fn(minigrad, *m_in), fn(torch, *t_in)
    assert_match(m_out.data, t_out, "output")
    if not grad_of:
        return m_out, t_out
    upstream = np.random.default_rng(seed).standard_normal(m_out.shape).astype(m_out.dtype)
    m_out.backward(upstream)
    t_out.backward(as_torch(upstream))
    for i in grad_of:
        assert_match(m_in[i].grad, t_in[i].grad, f"grad of input {i}")
    return m_out, t_out
