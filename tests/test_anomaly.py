"""minigrad.detect_anomaly: NaN/inf checks of every forward result and backward gradient.

- forward: the first op whose result is not finite (while its inputs are) raises a
  RuntimeError naming the op, the output's shape and the inputs (label, shape, op);
- backward: the first op whose backward returns a non-finite gradient raises a RuntimeError
  naming the op and the node (label, shape, op), and the input the gradient was for;
- torch.autograd.detect_anomaly raises the same class where it raises (a NaN gradient);
  minigrad is stricter on purpose: it checks the forward too, and inf as well as NaN (torch
  lets sqrt's infinite gradient at 0 through);
- finite graphs (the lecture's, and the fuzzer's random ones) raise nothing and give the
  same gradients as without the block; the flag is restored after the block, even when it
  ends with an exception, and outside it nothing is checked.
"""

import warnings

import numpy as np
import pytest
import torch
from helpers import as_double, as_torch, assert_match
from hypothesis import given, settings
from hypothesis import strategies as st
from test_check import seed_graph
from test_fuzz import build, check_graph

import minigrad
from minigrad import check, is_grad_enabled

# numpy warns about log(0) and 1/0; those values are what these tests are about
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def anomaly_on():
    return minigrad.modes.modes.anomaly


def leaf(values, dtype=np.float64, label="x"):
    x = minigrad.tensor(np.array(values, dtype=dtype), requires_grad=True)
    x.label = label
    return x


@pytest.fixture
def torch_anomaly():
    """torch's detect_anomaly, without its "this mode will increase the runtime" warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with torch.autograd.detect_anomaly():
            yield


# ---- forward ------------------------------------------------------------------------------

FORWARD = {  # name: (input values, dtype, fn, op that must be named)
    "log of 0": ([1.0, 0.0, 2.0], np.float64, lambda x: x.log(), "log"),
    "log of -1": ([1.0, -1.0], np.float32, lambda x: x.log(), "log"),
    "exp overflow float32": ([1.0, 100.0], np.float32, lambda x: x.exp(), "exp"),
    "exp overflow float64": ([1.0, 1000.0], np.float64, lambda x: x.exp(), "exp"),
    "1/0": ([0.0, 2.0], np.float64, lambda x: 3 / x, "pow"),  # c / x = c * x**-1
    "product overflow": ([1e300, 1.0], np.float64, lambda x: x * 1e10, "mul"),
}


@pytest.mark.parametrize("case", FORWARD.values(), ids=FORWARD.keys())
def test_forward_non_finite_raises_naming_op_shape_and_input(case):
    values, dtype, fn, op = case
    x = leaf(values, dtype, label="my_input")
    with minigrad.detect_anomaly():
        with pytest.raises(RuntimeError) as info:
            fn(x)
    message = str(info.value)
    assert f"Function '{op}'" in message
    assert f"of shape ({len(values)},)" in message  # the output's shape
    assert "'my_input'" in message  # the input, by its label
    assert not anomaly_on()


def test_forward_error_names_the_first_offender_only():
    x = leaf([0.0, 1.0])
    with minigrad.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'log'") as info:
            (x.log() * 2).sum()  # mul and sum would see -inf too: log comes first
    assert "'mul'" not in str(info.value) and "'sum'" not in str(info.value)


def test_forward_names_the_inputs_op_and_scope():
    x = leaf([1.0, 2.0])
    with minigrad.detect_anomaly(), minigrad.scope("layer"):
        h = x - x  # zeros, made by add
        h.label = "h"
        with pytest.raises(RuntimeError) as info:
            h.log()
    message = str(info.value)
    assert "node 'h' of shape (2,) (float64), made by op 'add'" in message
    assert "in scope 'layer'" in message


def test_forward_lets_a_non_finite_input_through():
    # an inf the user put in a leaf (a -inf mask, say) is no op's doing: only new ones count
    x = leaf([-np.inf, 1.0])
    with minigrad.detect_anomaly():
        y = x.exp() * 2  # exp(-inf) = 0: finite
        z = x + 1  # -inf + 1 = -inf, from a non-finite input: passes
    np.testing.assert_array_equal(y.data, [0.0, 2 * np.e])
    assert z.data[0] == -np.inf


def test_forward_is_checked_under_no_grad_too():
    x = leaf([0.0])
    with minigrad.no_grad(), minigrad.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'log'"):
            x.log()
    assert is_grad_enabled() and not anomaly_on()


# ---- backward -----------------------------------------------------------------------------

def test_backward_nan_raises_like_torch_and_names_the_node(torch_anomaly):
    # sqrt(x) * 0 at x = 0: a finite forward (0), and the backward 0 * 1/(2 sqrt 0) = NaN
    x = leaf([0.0, 4.0])
    with minigrad.detect_anomaly():
        y = x.sqrt()
        y.label = "root_of_x"
        loss = (y * 0).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    tx = as_torch(x.data, requires_grad=True)
    with pytest.raises(RuntimeError) as torch_info:  # torch_anomaly is on
        (tx.sqrt() * 0).sum().backward()
    assert type(info.value) is type(torch_info.value)
    assert "returned nan values" in str(torch_info.value)
    message = str(info.value)
    assert "Function 'pow'" in message  # sqrt(x) = x ** 0.5
    assert "node 'root_of_x' of shape (2,) (float64), made by op 'pow'" in message
    assert "gradient for node 'x' of shape (2,) (float64), a leaf" in message
    assert x.grad is None and y.grad is None  # a failed backward writes no grad


def test_backward_nan_of_a_graph_recorded_outside_the_block(torch_anomaly):
    # log(0) = -inf is recorded outside the block; -inf * 0 = NaN too. Only backward is
    # checked: d log / dx = dy / x = 0 / 0 at the first element.
    x = leaf([0.0, 2.0])
    z = x.log()
    z.label = "log_x"
    w = (z * 0).sum()
    with minigrad.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'log'") as info:
            w.backward()
    assert "node 'log_x' of shape (2,)" in str(info.value)
    tx = as_torch(x.data, requires_grad=True)
    with pytest.raises(RuntimeError, match="LogBackward0"):
        (tx.log() * 0).sum().backward()
    assert type(info.value) is RuntimeError


def test_backward_inf_raises_where_torch_lets_it_through(torch_anomaly):
    # sqrt at 0: the value is 0, the gradient 1 / (2 sqrt 0) = inf. torch checks NaN only
    # and passes; minigrad flags inf too (a documented difference: inf is rarely wanted).
    x = leaf([0.0, 4.0])
    with minigrad.detect_anomaly():
        y = x.sqrt()
        y.label = "y"
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    assert "Function 'pow'" in str(info.value) and "node 'y' of shape (2,)" in str(info.value)
    tx = as_torch(x.data, requires_grad=True)
    tx.sqrt().sum().backward()  # no error from torch
    assert tx.grad[0] == float("inf")


def test_a_gradient_nobody_needs_is_not_checked(torch_anomaly):
    # y = x * c with c a constant: mul's backward also makes dy * x for c, and here that
    # overflows; c does not require grad, so neither library looks at it.
    x = leaf([1e300])
    c = minigrad.tensor([1e-300], dtype=minigrad.float64)
    with minigrad.detect_anomaly():
        y = x * c
        y.backward(np.array([1e300]))  # dx = 1e300 * 1e-300: finite
    tx = as_torch(x.data, requires_grad=True)
    ty = tx * as_torch(c.data)
    ty.backward(as_torch(np.array([1e300])))
    assert_match(x.grad, tx.grad)


# ---- finite graphs: nothing raised, nothing changed ----------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lecture_graph_is_finite_and_unchanged(dtype):
    plain = seed_graph(dtype)
    plain["loss"].backward()
    with minigrad.detect_anomaly():
        checked = seed_graph(dtype)
        checked["loss"].backward()
    for name, node in plain.items():
        if node.requires_grad:
            np.testing.assert_array_equal(checked[name].grad, node.grad, err_msg=name)


@settings(max_examples=30)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_random_finite_graphs_pass_and_match_torch(data, seed):
    # the fuzzer's graphs are finite by construction (it asserts so): the anomaly checks
    # must not fire, and every value and gradient still matches torch
    with minigrad.detect_anomaly():
        check_graph(build(data, seed, max_steps=8))
    assert not anomaly_on()


# ---- the flag ---------------------------------------------------------------------------

def test_flag_restored_after_the_block_even_on_exception():
    x = leaf([0.0])
    assert not anomaly_on()
    with pytest.raises(RuntimeError):
        with minigrad.detect_anomaly():
            x.log()
    assert not anomaly_on()
    with pytest.raises(ValueError):  # any exception, not only the anomaly's own
        with minigrad.detect_anomaly():
            raise ValueError("boom")
    assert not anomaly_on()
    with minigrad.detect_anomaly():
        with minigrad.detect_anomaly():
            pass
        assert anomaly_on()  # the inner block restores the outer block's state
    assert not anomaly_on()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outside_the_block_nothing_is_checked(dtype):
    # the same NaN/inf computations run silently and give torch's values and gradients
    values = np.array([0.0, -1.0, 2.0], dtype=dtype)
    x = minigrad.tensor(values, requires_grad=True)
    y = x.log() + x.sqrt()
    y.backward(np.ones(3, dtype))
    tx = as_torch(values, requires_grad=True)
    dx = as_torch(as_double(values), requires_grad=True)  # the float64 truth, for float32
    ty, dy = tx.log() + tx.sqrt(), dx.log() + dx.sqrt()
    ty.backward(torch.ones(3, dtype=tx.dtype))
    dy.backward(torch.ones(3, dtype=torch.float64))
    scale = check.scales(y)
    for mine, theirs, truth, s in ((y.data.numpy(), ty, dy, scale[id(y)][0]),
                                   (x.grad.numpy(), tx.grad, dx.grad, scale[id(x)][1])):
        theirs, truth = theirs.detach().numpy(), truth.detach().numpy()
        nan = np.isnan(theirs)
        np.testing.assert_array_equal(np.isnan(mine), nan)  # NaN at -1
        assert_match(np.where(nan, 0, mine), np.where(nan, 0, theirs), "value or grad",
                     np.where(nan, 0, truth), s)
    assert y.data[0] == -np.inf and x.grad[0] == np.inf
