"""Pins for the semantics policy (docs/design.md), each checked against torch where torch has
an answer.

Policies 1-6: every node keeps a grad of its own shape and dtype; a second backward adds exactly
one more contribution; deep chains need no recursion and graphs hold no reference cycles;
repeated indices accumulate; ties in max; dtypes. Then the everyday contracts a torch user
relies on: no_grad, backward with an explicit gradient, grads that alias nothing, zeroing with
`p.grad = None`, detach/clone/float/double/item/numpy/tolist, comparisons and a settable
`requires_grad`. Bad input and its exceptions live in test_errors.py.
"""

import gc
import sys
import weakref

import numpy as np
import pytest
import torch
from helpers import as_double, as_torch, assert_equal, assert_match, compare

import minigrad
from minigrad import check
from models import lecture

RNG = np.random.default_rng(1234)


def np_dtype(torch_dtype):
    """The numpy dtype torch uses for `torch_dtype` (torch.float32 -> float32)."""
    return torch.empty(0, dtype=torch_dtype).numpy().dtype


# ---- the seed's forward pass (cell 156), shrunk: a graph with every kind of node -----------

N, VOCAB, BLOCK, EMB, HIDDEN = 8, 7, 3, 4, 6


def seed_arrays(dtype):
    """Parameters and a batch with repeated tokens and repeated labels."""
    rng = np.random.default_rng(0)
    params = {
        "C": rng.standard_normal((VOCAB, EMB)), "W1": rng.standard_normal((BLOCK * EMB, HIDDEN)),
        "b1": rng.standard_normal(HIDDEN), "bngain": rng.standard_normal((1, HIDDEN)),
        "bnbias": rng.standard_normal((1, HIDDEN)), "W2": rng.standard_normal((HIDDEN, VOCAB)),
        "b2": rng.standard_normal(VOCAB),
    }
    params = {k: v.astype(dtype) for k, v in params.items()}
    xb = rng.integers(0, VOCAB, (N, BLOCK))
    yb = rng.integers(0, VOCAB, N)
    return params, xb, yb


def seed_forward(lib, p, xb, yb):
    """The lecture's forward (models.lecture); returns every node by its name."""
    return {**p, **lecture.forward(lib, p, xb, yb)}


def seed_both(dtype, values=None):
    """The seed graph built in minigrad and in torch (every non-leaf retains its grad).

    `values`: the dtype whose rounding the parameters carry (default: dtype), so that the
    float64 truth of a float32 graph starts from the same float32 values.
    """
    params, xb, yb = seed_arrays(values or dtype)
    params = {k: a.astype(dtype) for k, a in params.items()}
    m = seed_forward(minigrad, {k: minigrad.tensor(a, requires_grad=True)
                                for k, a in params.items()}, minigrad.tensor(xb), yb)
    t = seed_forward(torch, {k: as_torch(a, requires_grad=True) for k, a in params.items()},
                     as_torch(xb), as_torch(yb))
    for name in m:
        if name not in params:
            m[name].retain_grad()  # accepted, and a no-op: minigrad keeps every grad
            t[name].retain_grad()
    return m, t


# ---- policy 1: every node that requires grad gets a grad of its own shape and dtype ---------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_node_has_grad_of_its_shape_and_dtype(dtype):
    m, t = seed_both(dtype)
    m["loss"].backward()
    t["loss"].backward()
    truth = seed_both(np.float64, dtype)[1]  # float64 from the same (float32) values
    truth["loss"].backward()
    scale = check.scales(m["loss"])
    for name in m:
        assert m[name].requires_grad and t[name].requires_grad, name
        assert m[name].is_leaf == t[name].is_leaf, name
        assert m[name].grad.shape == m[name].shape, name
        assert m[name].grad.dtype == m[name].dtype == np.dtype(dtype), name
        assert_match(m[name].grad, t[name].grad, name, truth[name].grad, scale[id(m[name])][1])


def test_grad_dtype_follows_its_tensor_across_casts():
    # a float32 leaf feeding a float64 computation still gets a float32 grad, as in torch
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    y = RNG.standard_normal((3, 4))
    compare(lambda m, a, b: (a.double() * b).tanh(), x, y)
    compare(lambda m, a, b: a * b, x, y)  # type promotion float32 * float64 -> float64
    compare(lambda m, a, b: b.float() * a + a.double().float(), x, y)


# ---- policy 2: a second backward adds exactly one more contribution --------------------------

def test_double_backward_is_exactly_twice_on_every_node():
    m, t = seed_both(np.float64)
    m["loss"].backward(retain_graph=True)
    first = {name: node.grad.numpy().copy() for name, node in m.items()}
    m["loss"].backward(retain_graph=True)
    t["loss"].backward(retain_graph=True)
    t["loss"].backward(retain_graph=True)
    for name, node in m.items():
        # g + g == 2 g exactly in floating point: 3x (re-propagating .grad) cannot pass
        np.testing.assert_array_equal(node.grad, 2 * first[name], err_msg=name)
        assert_match(node.grad, t[name].grad, name)


def test_double_backward_through_reused_intermediates():
    # a = x*x; b = a + a; c = b*b: every node feeds the next twice. Each backward must add
    # one contribution per node, never send an already accumulated .grad down again.
    x = np.array([0.5, -1.0, 2.0])
    nodes = {}
    for lib, leaf in ((minigrad, minigrad.tensor(x, requires_grad=True)),
                      (torch, as_torch(x, requires_grad=True))):
        a = leaf * leaf
        b = a + a
        c = b * b
        for node in (a, b, c):
            node.retain_grad()
        for _ in range(2):
            c.sum().backward(retain_graph=True)
        nodes[lib] = {"x": leaf, "a": a, "b": b, "c": c}
    for name, node in nodes[minigrad].items():
        assert_match(node.grad, nodes[torch][name].grad, name)


# ---- policy 3: deep chains, iterative order, no reference cycles ----------------------------

DEPTH = 100_000


def test_deep_chain_backward_and_freed_by_refcount():
    assert sys.getrecursionlimit() < DEPTH  # the default limit: recursion could not do this
    gc.collect()
    gc.disable()  # prove that reference counting alone frees the chain: no cycles
    try:
        x = minigrad.tensor(1.0, dtype=minigrad.float64, requires_grad=True)
        y, middle = x, None
        for i in range(DEPTH):
            y = y * 1.0001
            if i == DEPTH // 2:
                middle = weakref.ref(y)
        y.backward()
        # d(x * c**n)/dx = c**n; float64 rounding over 1e5 steps stays far below 1e-9
        np.testing.assert_allclose(x.grad, 1.0001 ** DEPTH, rtol=1e-9)
        assert x.grad.dtype == np.float64
        root = weakref.ref(y)
        assert middle() is not None
        del y
        assert root() is None and middle() is None
        assert x.grad is not None  # the leaf and its grad outlive the graph
    finally:
        gc.enable()


def build_wide_graph(x, w, idx):
    """A graph touching every core primitive (and ops that keep state, like max(dim))."""
    h = (x @ w).tanh()  # (4, 5)
    top = h.max(1, keepdim=True)
    z = (h - top.values).exp() / (h - top.values).exp().sum(1, keepdim=True)
    r = z[idx].reshape(-1) * 2 + h.T.permute(1, 0)[idx].reshape(-1).double().float()  # (15,)
    return r.max() + r.sum() ** 2 + x.clone().mean() + (x[1:, ::2] ** 2).log().sum()


@pytest.mark.parametrize("run_backward", [False, True])
def test_graph_has_no_reference_cycles(run_backward):
    gc.collect()
    gc.disable()
    try:
        x = minigrad.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
        w = minigrad.tensor(RNG.standard_normal((3, 5)), requires_grad=True)
        root = build_wide_graph(x, w, minigrad.tensor([0, 0, 2]))
        if run_backward:
            root.backward()
        nodes = [weakref.ref(n) for n in minigrad.autograd.toposort(root) if not n.is_leaf]
        assert len(nodes) > 15
        del root
        assert all(ref() is None for ref in nodes)
    finally:
        gc.enable()


# ---- policy 4: repeated indices accumulate (scatter-add) ------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [
    [0, 0, 3],
    [3, -1, 3, 0, 0, 0],
    [[1, 1], [1, 2]],
])
def test_repeated_integer_indices_accumulate(dtype, index):
    x = RNG.standard_normal((4, 5)).astype(dtype)
    if np.ndim(index) == 1:  # torch 2.x still reads a nested list as a tuple of indices
        compare(lambda m, a: a[index], x)
    compare(lambda m, a: a[np.array(index)], x)
    compare(lambda m, a: a[:, np.array(index)], x)
    compare(lambda m, a, i: a[i], x, np.array(index))  # an integer tensor as the index


def test_repeated_index_pairs_and_range_rows():
    x = RNG.standard_normal((4, 5))
    compare(lambda m, a: a[[0, 0, 0], [1, 1, 4]], x)
    labels = np.array([1, 1, 1, 0])  # logprobs[range(n), Yb] with repeated labels
    compare(lambda m, a, y: a[range(4), y], x, labels)
    compare(lambda m, a, y: a[range(4), y] * a[[0, 0, 1, 1], y], x, labels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_lookup_with_repeats(dtype):
    emb = RNG.standard_normal((27, 10)).astype(dtype)
    xb = RNG.integers(0, 27, (32, 3))
    xb[0] = xb[1] = [5, 5, 5]  # force repeats within a row and across rows
    assert np.unique(xb).size < xb.size
    compare(lambda m, c, i: c[i], emb, xb)
    compare(lambda m, c, i: c[i].view(32, -1), emb, xb)


# ---- policy 5: ties in max, reuse, diamonds, identity -------------------------------------

@pytest.mark.parametrize("values", [
    [1.0, 3.0, 3.0, 2.0, 3.0],
    [2.0, 2.0, 2.0, 2.0],
    [[0.5, 4.0], [4.0, -1.0]],
])
def test_max_over_everything_splits_ties_evenly(values):
    x = np.array(values)
    compare(lambda m, a: a.max(), x)
    compare(lambda m, a: a.max() * a.sum(), x)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_dim_picks_the_first_maximal_index(dim, keepdim):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [3.0, 0.0, 3.0], [3.0, 3.0, 1.0]])
    compare(lambda m, a: a.max(dim, keepdim=keepdim).values, x)
    m_idx = minigrad.tensor(x).max(dim, keepdim=keepdim)
    t_idx = as_torch(x).max(dim, keepdim=keepdim)
    assert_match(m_idx.indices.data, t_idx.indices, "indices")
    values, indices = m_idx  # unpacks as a pair, as torch.return_types.max
    assert values is m_idx.values and indices is m_idx.indices


def test_node_reused_by_one_op():
    x = RNG.standard_normal((3, 4))
    compare(lambda m, a: a * a, x)
    compare(lambda m, a: a @ a.T, x)
    compare(lambda m, a: a / a + a - a, x)


def test_reused_intermediates_chain_and_diamond():
    # b = a + a; c = b + b: each reuse doubles; the diamond a -> (tanh, exp) -> mul joins
    def chain(lib, a):
        b = a + a
        return b + b

    def diamond(lib, a):
        left, right = a.tanh(), a.exp()
        return left * right + left

    x = RNG.standard_normal((2, 3))
    compare(chain, x)
    compare(diamond, x)
    compare(lambda m, a: diamond(m, chain(m, a)) * chain(m, a), x)


def test_equal_valued_leaves_stay_independent():
    data = [1.0, 2.0, 3.0]
    grads = []
    for lib in (minigrad, torch):
        a = lib.tensor(data, requires_grad=True)
        b = lib.tensor(data, requires_grad=True)
        (a * 2 + b * 3 + a * b).sum().backward()
        grads.append((a.grad, b.grad))
        assert len({a, b}) == 2  # hashed by identity, although == compares values
    (ma, mb), (ta, tb) = grads
    assert_equal(ma, ta, "a")  # 2 + b and 3 + a: small integers, exact in float32
    assert_equal(mb, tb, "b")


# ---- policy 6: dtypes ----------------------------------------------------------------------

SCALAR_OPS = {
    "x*2.5": lambda m, x: x * 2.5, "2.5*x": lambda m, x: 2.5 * x,
    "x/3": lambda m, x: x / 3, "3/x": lambda m, x: 3 / x, "1/x": lambda m, x: 1 / x,
    "x**2": lambda m, x: x ** 2, "x**0.5": lambda m, x: x ** 0.5, "x**-1": lambda m, x: x ** -1,
    "x-1": lambda m, x: x - 1, "1-x": lambda m, x: 1 - x, "x+1": lambda m, x: x + 1,
    "1+x": lambda m, x: 1 + x, "-x": lambda m, x: -x, "x*True": lambda m, x: x * True,
    "2**x": lambda m, x: 2 ** x, "x.mean()": lambda m, x: x.mean(),
    "x.pow(3)": lambda m, x: x.pow(3), "1e-5+x": lambda m, x: 1e-5 + x,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(SCALAR_OPS))
def test_python_scalars_keep_the_dtype(name, dtype):
    # compare() checks the output dtype and that every grad has its tensor's dtype
    x = RNG.uniform(0.5, 2.0, (3, 4)).astype(dtype)
    m_out, _ = compare(SCALAR_OPS[name], x)
    assert m_out.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name", ["x*2.5", "2.5*x", "x/3", "3/x", "x+1", "x*True", "x**2"])
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_python_scalars_with_integer_tensors(name, dtype):
    compare(SCALAR_OPS[name], np.array([[1, 2], [3, 1]]).astype(dtype))


@pytest.mark.parametrize("data", [
    [1, 2, 3], 3, [[1, 2], [3, 4]], [True, 2], [1.0, 2], 2.5, [[0.5], [1.5]], True, [True],
    np.array([1.0, 2.0]), np.array([1, 2], dtype=np.int32), np.array([1.0], dtype=np.float32),
    np.float64(2.5), np.int64(3),
])
def test_default_dtypes_of_data(data):
    assert minigrad.tensor(data).dtype == np_dtype(torch.tensor(data).dtype)
    assert minigrad.Tensor(data).dtype == np_dtype(torch.tensor(data).dtype)
    assert_equal(minigrad.tensor(data).data, torch.tensor(data), "values")


@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, 3), lambda m: m.ones((2, 3)), lambda m: m.randn(2, 3),
    lambda m: m.rand(4), lambda m: m.arange(5), lambda m: m.arange(1, 7, 2),
    lambda m: m.arange(0, 1, 0.25), lambda m: m.arange(2.5),
    lambda m: m.zeros_like(m.ones(2, dtype=m.float64)), lambda m: m.ones_like(m.arange(3)),
    lambda m: m.randint(0, 5, (3,)),
])
def test_default_dtypes_of_creation_functions(make):
    m_out, t_out = make(minigrad), make(torch)
    assert m_out.dtype == np_dtype(t_out.dtype)
    assert m_out.shape == tuple(t_out.shape)


def test_numpy_float64_input_keeps_float64_and_its_grad():
    x = RNG.standard_normal(4)
    t = minigrad.tensor(x, requires_grad=True)
    assert t.dtype == np.float64
    (t * 2.5).sum().backward()
    assert t.grad.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", ["log_softmax", "softmax"])
def test_stable_softmax_at_plus_minus_1000(fn, dtype):
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0],
                  [1000.0, 1000.0, 999.0]]).astype(dtype)
    m_out, _ = compare(lambda m, a: getattr(a, fn)(1), x)
    assert np.isfinite(m_out.data.numpy()).all()
    compare(lambda m, a: getattr(m, fn)(a, 0), x)


# ---- no_grad ---------------------------------------------------------------------------------

def test_no_grad_records_nothing():
    for lib in (minigrad, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.no_grad():
            y = (x * 2).exp().sum()
            assert not lib.is_grad_enabled()
        assert lib.is_grad_enabled()
        assert not y.requires_grad and y.is_leaf
        if lib is minigrad:
            assert y._op is None and y._parents == ()
        z = x * 2  # recording resumes after the block
        assert z.requires_grad and not z.is_leaf


def test_no_grad_restores_grad_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError), minigrad.no_grad():
        raise ZeroDivisionError
    assert minigrad.is_grad_enabled()


def test_no_grad_results_are_constants_in_a_later_graph():
    x = RNG.standard_normal((3, 2))

    def fn(lib, a):
        with lib.no_grad():
            shift = a.max(1, keepdim=True).values  # a constant, as the seed's epsilon
        return (a - shift).exp()

    compare(fn, x)


# ---- backward(gradient=...) and aliasing ----------------------------------------------------

@pytest.mark.parametrize("kind", ["ndarray", "tensor", "list"])
def test_backward_with_explicit_gradient(kind):
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    up = RNG.standard_normal((2, 3)).astype(np.float32)
    gradient = {"ndarray": up, "tensor": minigrad.tensor(up), "list": up.tolist()}[kind]
    mx, tx = minigrad.tensor(x, requires_grad=True), as_torch(x, requires_grad=True)
    dx = as_torch(as_double(x), requires_grad=True)  # the truth: float64 from the same x
    my, ty, dy = mx.tanh() * 3, tx.tanh() * 3, dx.tanh() * 3
    ty.retain_grad()
    my.backward(gradient)
    ty.backward(as_torch(up))
    dy.backward(as_torch(as_double(up)))
    scale = check.scales(my)
    assert_match(mx.grad, tx.grad, "x", dx.grad, scale[id(mx)][1])
    assert_equal(my.grad, ty.grad, "root")  # the gradient given, stored as it is


def test_grads_alias_nothing_and_backward_mutates_nothing():
    x = RNG.standard_normal((4, 3))
    w = RNG.standard_normal((3, 5))
    mx, mw = minigrad.tensor(x, requires_grad=True), minigrad.tensor(w, requires_grad=True)
    # add passes its grad through, reshape/permute/getitem return views: all must be copied
    h = mx @ mw
    r = (h + h.reshape(5, 4).T.permute(1, 0).reshape(4, 5)).reshape(-1)[2:] + 0.0
    root = r.clone().double().float() * 1
    up = RNG.standard_normal(root.shape)
    up_copy, x_copy, w_copy = up.copy(), mx.data.numpy().copy(), mw.data.numpy().copy()
    root.backward(up)
    nodes = minigrad.autograd.toposort(root)
    assert len(nodes) > 8
    arrays = [n.grad for n in nodes] + [n.data for n in nodes]
    for i, g in enumerate(n.grad for n in nodes):
        assert not np.shares_memory(g, up), i
        for j, other in enumerate(arrays):
            if j != i:
                assert not np.shares_memory(g, other), (i, j)
    np.testing.assert_array_equal(up, up_copy)  # the gradient passed in is untouched
    np.testing.assert_array_equal(mx.data, x_copy)  # and so is every input
    np.testing.assert_array_equal(mw.data, w_copy)


def test_setting_grad_to_none_gives_fresh_grads():
    m, t = seed_both(np.float64)
    m["loss"].backward(retain_graph=True)
    first = {name: node.grad.numpy().copy() for name, node in m.items()}
    for name in m:
        m[name].grad = None
    m["loss"].backward()
    t["loss"].backward(retain_graph=True)
    for name in t:
        t[name].grad = None
    t["loss"].backward()
    for name, node in m.items():
        np.testing.assert_array_equal(node.grad, first[name], err_msg=name)
        assert_match(node.grad, t[name].grad, name)


# ---- detach, clone, float, double, item, numpy, tolist ---------------------------------------

def test_detach_shares_data_and_stops_the_gradient():
    x = RNG.standard_normal((2, 3))
    compare(lambda m, a: a * a.detach(), x)
    for lib in (minigrad, torch):
        a = lib.tensor(x, requires_grad=True)
        d = (a * 2).detach()
        assert not d.requires_grad and d.is_leaf
        d2 = a.detach()
        d2[0, 0] = 7.0  # torch's detach shares storage with its source
        assert a[0, 0].item() == 7.0


def test_clone_copies_data_and_passes_the_gradient():
    x = RNG.standard_normal((2, 3))
    compare(lambda m, a: a.clone() * a, x)
    for lib in (minigrad, torch):
        a = lib.tensor(x, requires_grad=True)
        c = a.clone()
        assert c.requires_grad and not c.is_leaf
        b = lib.tensor(x)
        cb = b.clone()
        cb[0, 0] = 7.0
        assert b[0, 0].item() == x[0, 0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["float", "double"])
def test_float_and_double(method, dtype):
    x = RNG.standard_normal((2, 3)).astype(dtype)
    compare(lambda m, a: getattr(a, method)() * 3, x)
    m, t = minigrad.tensor(x, requires_grad=True), as_torch(x, requires_grad=True)
    # a no-op conversion returns the tensor itself in torch; so it must here
    assert (getattr(m, method)() is m) == (getattr(t, method)() is t)
    assert getattr(m, method)().dtype == np_dtype(getattr(t, method)().dtype)


@pytest.mark.parametrize("data", [2.5, 0.1, [[0.1]], 3, [7], True, -0.0])
def test_item_returns_a_python_number(data):
    m, t = minigrad.tensor(data).item(), torch.tensor(data).item()
    assert type(m) is type(t)
    assert m == t and str(m) == str(t)


@pytest.mark.parametrize("data", [[[0.1, 2.0], [3.0, 4.5]], [1, 2], 0.1, [True, False], [[]]])
def test_tolist_and_numpy(data):
    m, t = minigrad.tensor(data), torch.tensor(data)
    assert m.tolist() == t.tolist()
    assert repr(m.tolist()) == repr(t.tolist())  # same Python types, same float32 rounding
    assert_equal(m.numpy(), t.numpy(), "numpy")
    if m.numel():  # numpy() shares memory with the tensor in torch
        m.numpy().reshape(-1)[0] = 1
        t.numpy().reshape(-1)[0] = 1
        assert m.tolist() == t.tolist()


# ---- comparisons and requires_grad -----------------------------------------------------------

@pytest.mark.parametrize("op", ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"])
def test_comparisons_return_bool_tensors_without_grad(op):
    x = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    y = np.array([2.0, 2.0, 2.0])
    mx, tx = minigrad.tensor(x, requires_grad=True), as_torch(x, requires_grad=True)
    for other_m, other_t in ((minigrad.tensor(y), as_torch(y)), (2.0, 2.0), (2, 2),
                             (mx * 1, tx * 1)):
        m_out, t_out = getattr(mx, op)(other_m), getattr(tx, op)(other_t)
        assert_match(m_out.data, t_out, op)
        assert m_out.dtype == np.bool_
        assert not m_out.requires_grad and not t_out.requires_grad
        assert m_out.is_leaf and t_out.is_leaf


def test_requires_grad_is_settable_on_leaves():
    x = RNG.standard_normal(3)
    grads = []
    for lib in (minigrad, torch):
        a = lib.tensor(x)
        assert not a.requires_grad
        assert not (a * 2).requires_grad  # an op on constants records nothing
        a.requires_grad = True  # the seed's `for p in params: p.requires_grad = True`
        (a * a).sum().backward()
        grads.append(a.grad)
        a.requires_grad = False
        assert not (a * 2).requires_grad and a.grad is not None
    assert_match(grads[0], grads[1], "grad")
