"""minigrad/fast.py gives the same numbers as the plain rules it replaces.

Each swapped rule is run both ways on the inputs it speeds up (and on those it hands back to
the plain rule), and so is a whole training step of the lecture's model. The plain rules are
the ones test_ops.py checks against torch; here only fast == plain is asserted, in float64 to
rounding (bincount sums in another order than np.add.at) and exactly where nothing is summed.
"""

import numpy as np
import pytest

import minigrad
from minigrad import autograd, convert, fast, ops
from models import lecture


def both(fn):
    """fn() with the fast rules, then with the plain ones."""
    fast.enable(True)
    try:
        with_fast = fn()
    finally:
        fast.enable(False)
    try:
        return with_fast, fn()
    finally:
        fast.enable(True)


def test_enable_swaps_every_rule_and_back():
    fast.enable(False)
    try:
        assert ops.Tanh.backward is fast.PLAIN[ops.Tanh, "backward"]
        assert autograd.broadcast_axes is fast.PLAIN[autograd, "broadcast_axes"]
    finally:
        fast.enable(True)
    for (owner, name), rule in fast.FAST.items():
        assert getattr(owner, name) is rule


RNG = np.random.default_rng(0)
X = RNG.standard_normal((7, 3, 4))
GETITEM = {
    "embedding rows, repeated and negative": np.array([[0, 6, 6], [-1, 2, 0]]),
    "unsigned rows": np.array([1, 1, 5], dtype=np.uint8),
    "basic": (slice(1, None, 2), 0),
    "basic with None and Ellipsis": (None, Ellipsis, 1),
    "mixed (the plain rule)": (np.array([0, 0, 3]), slice(None), np.array([1, 2, 1])),
    "an array per axis (the plain rule)": (np.array([0, 6, -1, 0]), np.array([2, 2, 0, 2]),
                                           np.array([3, -4, 1, 3])),
    "arrays per axis, broadcast (the plain rule)": (np.array([[0], [5]]), np.array([1, 2]),
                                                    np.array([0, -1])),
}


@pytest.mark.parametrize("name", GETITEM)
def test_getitem_backward(name):
    index = GETITEM[name]
    op = ops.GetItem(index)
    grad = RNG.standard_normal(X[index].shape)
    fast_dx, plain_dx = both(lambda: ops.GetItem.backward(op, grad, None, X)[0])
    np.testing.assert_allclose(fast_dx, plain_dx, rtol=1e-15, atol=1e-15)
    assert fast_dx.dtype == plain_dx.dtype == X.dtype


@pytest.mark.parametrize("exponent", [2, -0.5, 3.0, 0, 1])
def test_pow_and_tanh_backward(exponent):
    x, grad = np.abs(X) + 0.1, RNG.standard_normal(X.shape)
    pow_op = ops.Pow(exponent)
    out = np.tanh(x)
    for f in (lambda: ops.Pow.backward(pow_op, grad, x ** exponent, x)[0],
              lambda: ops.Tanh.backward(ops.Tanh(), grad, out, x)[0]):
        fast_dx, plain_dx = both(f)
        np.testing.assert_allclose(fast_dx, plain_dx, rtol=1e-15, atol=0)


@pytest.mark.parametrize("dim, keepdim", [((0, 2), False), ((1,), True), ((0, 1, 2), False),
                                          ((2,), False)])
def test_sum_and_max_backward(dim, keepdim):
    """The reduced axes put back by a reshape (fast) or expand_dims/put_along_axis (plain)."""
    sum_op = ops.Sum(dim, keepdim)
    grad = RNG.standard_normal(X.sum(dim, keepdims=keepdim).shape)
    fast_dx, plain_dx = both(lambda: ops.Sum.backward(sum_op, grad, None, X)[0])
    np.testing.assert_array_equal(fast_dx, plain_dx)
    if len(dim) == 1:
        indices = X.argmax(axis=dim[0], keepdims=True)
        max_op = ops.Max(dim[0], keepdim, indices)
        out = both(lambda: ops.Max.forward(max_op, X))
        np.testing.assert_array_equal(out[0], out[1])
        fast_dx, plain_dx = both(lambda: ops.Max.backward(max_op, grad, out[0], X)[0])
        np.testing.assert_array_equal(fast_dx, plain_dx)


@pytest.mark.parametrize("big, shape", [((4, 3), (3,)), ((2, 4, 3), (4, 1)), ((5,), ())])
def test_caches_answer_as_the_plain_functions(big, shape):
    plain = fast.PLAIN[autograd, "broadcast_axes"](big, shape)
    assert both(lambda: autograd.broadcast_axes(big, shape)) == (plain, plain)
    for dim in (None, 0, -1, (0, -1), [1]):
        assert both(lambda d=dim: convert.dims(d, 3)) == (fast.PLAIN[convert, "dims"](dim, 3),) * 2


def test_a_training_step_is_the_same_both_ways():
    def step():
        params, Xb, Yb = lecture.random_inputs(minigrad, seed=3, batch=32, hidden=64,
                                               dtype=minigrad.float64)
        loss = lecture.forward(minigrad, params, Xb, Yb)["loss"]
        loss.backward()
        return {k: p.grad.numpy() for k, p in params.items()}

    with_fast, plain = both(step)
    for name in with_fast:
        np.testing.assert_allclose(with_fast[name], plain[name], rtol=1e-12, atol=1e-15,
                                   err_msg=name)
