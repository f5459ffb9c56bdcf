"""The one test helper: run the same function on minigrad and on torch, compare everything.

`compare(fn, *arrays)` builds a minigrad tensor and a torch tensor from each numpy array
(bit-identical: torch gets `torch.from_numpy(a.copy())`), calls `fn(lib, *tensors)` with
`lib` = the module, so one lambda serves both libraries (`lambda m, a, b: a @ b`), seeds
backward with a random upstream gradient (never just `sum()`), and asserts that the output
and the gradient of every input match.

What "match" means is defined once, in minigrad.check.verdict: float64 uses
torch.testing.assert_close's defaults; float32 must be as accurate as torch against the
truth, the same function run by torch in float64 from the same float32 inputs (`compare`
runs it), within a floor of a few ulps of the magnitudes that entered (minigrad.check.scales).
"""

import numpy as np
import torch

import minigrad
from minigrad import check


def assert_match(actual, expected, name="tensor", truth=None, scale=None):
    """minigrad's array against torch's tensor (or array), by check.verdict.

    A float32 comparison needs `truth`: the same computation in float64 (a torch tensor or an
    array) from the same float32 inputs; `scale` is the floor's magnitude (check.scales).
    """
    expected = _numpy(expected)
    actual = _numpy(actual)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    v = check.verdict(actual, expected, None if truth is None else _numpy(truth), scale)
    assert v.ok, f"{name}: {v}"


def assert_equal(actual, expected, name="tensor"):
    """Bit-for-bit the same shape, dtype and values: for results no rounding enters (a
    conversion, a copy, a max, sums of small integers). NaN equals NaN here."""
    expected, actual = _numpy(expected), _numpy(actual)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_array_equal(actual, expected, err_msg=name)


def _numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, minigrad.Tensor):
        return np.asarray(x.detach().numpy())
    return np.asarray(x)


def as_torch(a, requires_grad=False):
    t = torch.from_numpy(np.array(a, copy=True))
    return t.requires_grad_(requires_grad) if requires_grad else t


def as_double(a):
    """A float array in float64 (exactly: every float32 is a float64); others unchanged."""
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def compare(fn, *arrays, seed=0, grad_of=None):
    """Run fn on both libraries; check output, then every float input's gradient.

    Where float32 is involved, fn also runs on torch in float64 from the same inputs: the
    truth. `grad_of` lists which positional inputs require grad (default: every float array).
    Returns (minigrad output, torch output) for further checks.
    """
    grad_of = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"] \
        if grad_of is None else grad_of
    m_in = [minigrad.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    t_in = [as_torch(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    m_out, t_out = fn(minigrad, *m_in), fn(torch, *t_in)
    floats = [np.asarray(a).dtype for a in arrays] + [m_out.dtype]
    d_in = d_out = None
    if any(d == np.float32 for d in floats):
        d_in = [as_torch(as_double(a), requires_grad=i in grad_of) for i, a in enumerate(arrays)]
        d_out = fn(torch, *d_in)
    if grad_of:
        upstream = np.random.default_rng(seed).standard_normal(m_out.shape).astype(m_out.dtype)
        m_out.backward(upstream)
        t_out.backward(as_torch(upstream))
        if d_out is not None:
            d_out.backward(as_torch(upstream).to(d_out.dtype))
    scale = check.scales(m_out) if d_out is not None else {}
    assert_match(m_out.data, t_out, "output", d_out, scale.get(id(m_out), (None,))[0])
    for i in grad_of:
        assert_match(m_in[i].grad, t_in[i].grad, f"grad of input {i}",
                     None if d_in is None else d_in[i].grad,
                     scale.get(id(m_in[i]), (None, None))[1])
    return m_out, t_out
