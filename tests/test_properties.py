"""Property-based tests: hypothesis draws the shapes, axes, indices and graphs; torch judges.

Every property runs `compare` (tests/helpers.py) in float64, so the output and the gradient
of every float input are checked against torch with a random upstream gradient:
broadcast pairs for + - * /, reduction axes for sum/mean/max (with keepdim), integer index
arrays (drawn from integers that shrink towards 0, so a failing case shrinks towards repeated
indices), reshape targets with -1, and small random graphs that reuse nodes.
The example count comes from the profile in conftest.py (modest; derandomized when CI=true).
"""

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import torch
from helpers import assert_match, compare
from hypothesis import given
from hypothesis import strategies as st

import minigrad

# Values away from overflow; no subnormals (they only test the CPU's flush mode).
FLOATS = st.floats(-10, 10, allow_nan=False, allow_subnormal=False)
# Denominators bounded away from 0, so 1/b and its gradient -1/b**2 stay well conditioned.
DENOMINATORS = st.one_of(st.floats(-4, -0.5), st.floats(0.5, 4))


def float_arrays(shape, elements=FLOATS, dtype=np.float64):
    return hnp.arrays(dtype, shape, elements=elements)


# ---- element-wise binary ops on broadcast pairs ---------------------------------------------

BINARY = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
}


@given(op=st.sampled_from(sorted(BINARY)), data=st.data(),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                max_side=4))
def test_broadcast_binary_ops_match_torch(op, shapes, data):
    a_shape, b_shape = shapes.input_shapes
    a = data.draw(float_arrays(a_shape), label="a")
    b = data.draw(float_arrays(b_shape, DENOMINATORS if op == "div" else FLOATS), label="b")
    m_out, _ = compare(BINARY[op], a, b)
    assert m_out.shape == shapes.result_shape


@given(op=st.sampled_from(sorted(BINARY)), dtype=st.sampled_from([np.float32, np.float64]),
       shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
       scalar=st.one_of(st.integers(1, 5), st.floats(0.5, 4)), reflected=st.booleans(),
       data=st.data())
def test_python_scalar_operands_keep_dtype(op, dtype, shape, scalar, reflected, data):
    # a Python scalar on either side never changes the tensor's dtype (nor its grad's)
    x = data.draw(float_arrays(shape, DENOMINATORS, dtype), label="x")
    fn = BINARY[op]
    m_out, _ = compare(lambda m, a: fn(m, scalar, a) if reflected else fn(m, a, scalar), x)
    assert m_out.dtype == dtype


# ---- reductions over random axes --------------------------------------------------------------

@st.composite
def reduction_case(draw, single_dim=False):
    """An array and a dim: None, one axis, or a tuple of distinct axes (negative forms too)."""
    shape = draw(hnp.array_shapes(min_dims=1 if single_dim else 0, max_dims=4, max_side=4))
    ndim = len(shape)
    axis = st.integers(-max(ndim, 1), max(ndim, 1) - 1)
    if single_dim:
        dim = draw(axis)
    else:
        dim = draw(st.one_of(
            st.none(), axis,
            st.lists(axis, max_size=max(ndim, 1), unique_by=lambda d: d % max(ndim, 1)).map(tuple),
        ))
    return draw(float_arrays(shape)), dim


@given(case=reduction_case(), keepdim=st.booleans(), fn=st.sampled_from(["sum", "mean"]))
def test_sum_and_mean_over_random_axes(case, keepdim, fn):
    x, dim = case
    compare(lambda m, a: getattr(a, fn)(dim, keepdim=keepdim), x)
    if dim is None:
        compare(lambda m, a: getattr(a, fn)(), x)


@given(case=reduction_case(single_dim=True), keepdim=st.booleans())
def test_max_over_a_random_axis(case, keepdim):
    # hypothesis likes repeated values: ties must go to the first index, as in torch
    x, dim = case
    compare(lambda m, a: a.max(dim, keepdim=keepdim).values, x)
    m_idx = minigrad.tensor(x).max(dim, keepdim=keepdim).indices
    t_idx = torch.from_numpy(x.copy()).max(dim, keepdim=keepdim).indices
    assert_match(m_idx.data.numpy(), t_idx, "indices")


@given(x=float_arrays(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                      st.sampled_from([-1.0, 0.0, 2.5, 2.5, 3.0])))
def test_max_over_everything_with_ties(x):
    # elements drawn from a few values: ties are the rule, and the gradient splits evenly
    compare(lambda m, a: a.max(), x)


# ---- integer-array indexing ---------------------------------------------------------------------

@st.composite
def index_case(draw):
    """A 2-D array and an int64 index array into one of its axes (negative indices too)."""
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=5))
    axis = draw(st.sampled_from([0, 1]))
    n = shape[axis]
    index = draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
                            elements=st.integers(-n, n - 1)))
    return draw(float_arrays(shape)), axis, index


@given(case=index_case())
def test_integer_array_indexing_accumulates_like_torch(case):
    x, axis, index = case
    if axis == 0:
        compare(lambda m, a: a[index], x)
        compare(lambda m, a, i: a[i], x, index)  # the index as an integer tensor
        if index.ndim == 1:  # a flat Python list indexes like the array
            compare(lambda m, a: a[index.tolist()], x)
    else:
        compare(lambda m, a: a[:, index], x)
        compare(lambda m, a: a[..., index] * 2, x)


@given(data=st.data(),
       shape=hnp.array_shapes(min_dims=2, max_dims=2, max_side=5),
       index_shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                      max_side=4))
def test_paired_index_arrays(data, shape, index_shapes):
    # x[rows, cols] with broadcasting index arrays: logprobs[range(n), Yb] and its relatives
    x = data.draw(float_arrays(shape), label="x")
    rows = data.draw(hnp.arrays(np.int64, index_shapes.input_shapes[0],
                                elements=st.integers(-shape[0], shape[0] - 1)), label="rows")
    cols = data.draw(hnp.arrays(np.int64, index_shapes.input_shapes[1],
                                elements=st.integers(-shape[1], shape[1] - 1)), label="cols")
    compare(lambda m, a: a[rows, cols], x)


# ---- reshape targets with -1 ------------------------------------------------------------------

@st.composite
def reshape_case(draw):
    """An array and a target shape of the same size, with at most one dimension as -1."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))
    size, target = math.prod(shape), []
    for _ in range(draw(st.integers(0, 3))):  # peel off divisors of what is left
        d = draw(st.sampled_from([k for k in range(1, size + 1) if size % k == 0]))
        target.append(d)
        size //= d
    target.append(size)
    target = draw(st.permutations(target))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return draw(float_arrays(shape)), tuple(target)


@given(case=reshape_case(), method=st.sampled_from(["reshape", "view"]))
def test_reshape_to_random_targets(case, method):
    x, target = case
    m_out, t_out = compare(lambda m, a: getattr(a, method)(target), x)
    assert m_out.shape == tuple(t_out.shape)
    compare(lambda m, a: getattr(a, method)(*target) * 3, x)


# ---- random graphs that reuse nodes ------------------------------------------------------------

UNARY = ["tanh", "half", "square-sum"]


@st.composite
def program(draw):
    """Steps (op, i, j): apply op to pool nodes i and j, append the result to the pool."""
    steps = []
    for k in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(sorted(BINARY.keys() - {"div"}) + UNARY))
        # indices shrink towards 0: a minimal failure reuses the first node everywhere
        steps.append((op, draw(st.integers(0, k + 1)), draw(st.integers(0, k + 1))))
    return steps


def run_program(lib, steps, x, y):
    pool = [x, y]
    for op, i, j in steps:
        a, b = pool[i], pool[j]
        if op in BINARY:
            out = BINARY[op](lib, a, b).tanh()  # tanh keeps values in (-1, 1) at any depth
        elif op == "tanh":
            out = a.tanh()
        elif op == "half":
            out = a * 0.5
        else:  # a reduction broadcast back onto the node it came from
            out = a * a.sum(1, keepdim=True) * 0.1
        pool.append(out)
    return pool[-1] + pool[-2] * pool[0]


@given(steps=program(), data=st.data())
def test_random_graphs_that_reuse_nodes(steps, data):
    x = data.draw(float_arrays((3, 4), st.floats(-2, 2)), label="x")
    y = data.draw(float_arrays((3, 4), st.floats(-2, 2)), label="y")
    compare(lambda m, a, b: run_program(m, steps, a, b), x, y)
