"""Property tests: invariants of backward over the fuzzer's random graphs.

The graphs come from test_fuzz.build (every primitive and composition, reuse, broadcasting,
empty axes), with float32 and float64 leaves mixed, so promotion and casts are in play.
For every graph, with a random upstream gradient:
- backward mutates neither any node's data nor the gradient array passed in;
- no two `.grad` arrays share memory, nor a `.grad` and the upstream array or any node's data
  (np.shares_memory over every pair);
- every node under the root that requires grad has a `.grad` with its shape and dtype, and
  every node's dtype is the dtype torch gives the same call;
- a second backward adds exactly one more contribution (every grad doubles, bit for bit);
- zeroing (`p.grad = None` on every node, `Module.zero_grad`, `optimizer.zero_grad`, with and
  without set_to_none) and a fresh backward give fresh grads, still torch's;
- with the garbage collector off, weakrefs to the root and to every intermediate die when
  the last reference goes: reference counting alone frees a graph (no cycles), and the
  leaves outlive it with their grads.
"""

import gc
import weakref

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import build

import minigrad
from minigrad.autograd import toposort
from minigrad.check import compare_with_torch, graph_nodes

DTYPES = (np.float64, np.float32)
GRAPHS = dict(data=st.data(), seed=st.integers(0, 2**32 - 1))


def random_graph(data, seed, max_steps=10):
    """(graph, root, upstream) with mixed float32/float64 leaves; the upstream array is
    sometimes passed as a Tensor."""
    g = build(data, seed, max_steps=max_steps, dtypes=DTYPES)
    root = g.m(g.root())
    upstream = g.rng.standard_normal(root.shape).astype(root.dtype)
    return g, root, upstream


def all_nodes(g, root):
    """Every minigrad node: the graph's (each once: x.double() of a float64 x is x itself)
    and the ones compositions made inside (softmax's max, a subtraction's -1 * b, ...)."""
    return list({id(n): n for n in [m for m, _ in g.nodes] + graph_nodes(root)}.values())


@given(**GRAPHS)
def test_backward_mutates_nothing_and_grads_alias_nothing(data, seed):
    g, root, upstream = random_graph(data, seed)
    nodes = all_nodes(g, root)
    before = {id(n): n.data.numpy().copy() for n in nodes}
    upstream_before = upstream.copy()
    as_tensor = data.draw(st.booleans(), label="upstream as a Tensor")
    root.backward(minigrad.tensor(upstream) if as_tensor else upstream)

    np.testing.assert_array_equal(upstream, upstream_before)  # the gradient passed in
    for n in nodes:
        np.testing.assert_array_equal(n.data.numpy(), before[id(n)], err_msg=f"data of {n._op}")
    arrays = [("upstream", upstream)] + [(f"grad of {n._op}", n.grad) for n in nodes
                                         if n.grad is not None]
    data_arrays = [(f"data of {n._op}", n.data.numpy()) for n in nodes]
    for i, (name, grad) in enumerate(arrays[1:], start=1):
        for other_name, other in arrays[:i] + data_arrays:
            assert not np.shares_memory(grad, other), f"{name} shares memory with {other_name}"


@given(**GRAPHS)
def test_every_grad_has_its_tensors_shape_and_dtype(data, seed):
    g, root, upstream = random_graph(data, seed)
    for m, t in g.nodes:  # dtypes (promotion of float32 with float64) are torch's
        assert m.dtype == torch.empty(0, dtype=t.dtype).numpy().dtype, m._op
    root.backward(upstream)
    under_root = toposort(root)
    assert all(n.requires_grad for n in under_root)
    for n in under_root:
        assert n.grad is not None, f"{n._op} requires grad but got no .grad"
        assert n.grad.shape == n.data.shape, n._op
        assert n.grad.dtype == n.data.dtype, n._op
        assert isinstance(n.grad, minigrad.Tensor) and not n.grad.requires_grad
    reached = {id(n) for n in under_root}
    for m, _ in g.nodes:  # nodes the root does not depend on get no grad at all
        if id(m) not in reached:
            assert m.grad is None


@given(**GRAPHS)
def test_second_backward_adds_exactly_one_more_contribution(data, seed):
    g, root, upstream = random_graph(data, seed)
    root.backward(upstream)
    nodes = toposort(root)
    first = {id(n): n.grad.numpy().copy() for n in nodes}
    root.backward(upstream)
    for n in nodes:  # g + g == 2 g exactly in floating point
        np.testing.assert_array_equal(n.grad, 2 * first[id(n)], err_msg=str(n._op))


ZEROING = ["grad = None", "Module.zero_grad", "Module.zero_grad(set_to_none=False)",
           "optimizer.zero_grad", "optimizer.zero_grad(set_to_none=False)"]


def zero(how, leaves, nodes):
    """Zero the grads the way `how` says; returns the nodes whose grads were reset."""
    if how == "grad = None":
        for n in nodes:
            n.grad = None
        return nodes
    if how.startswith("Module"):
        module = minigrad.nn.Module()
        for i, p in enumerate(leaves):
            setattr(module, f"p{i}", p)  # a leaf that requires grad becomes a parameter
        assert len(module.parameters()) == len(leaves)
        module.zero_grad(set_to_none="False" not in how)
    else:
        optimizer = minigrad.optim.SGD(leaves, lr=0.1)
        optimizer.zero_grad(set_to_none="False" not in how)
    return leaves


@given(how=st.sampled_from(ZEROING), **GRAPHS)
def test_zeroing_then_backward_gives_fresh_correct_grads(how, data, seed):
    g, root, upstream = random_graph(data, seed, max_steps=6)
    nodes = toposort(root)
    leaves = [n for n in nodes if n.is_leaf]
    root.backward(upstream)
    first = {id(n): n.grad.numpy().copy() for n in nodes}
    reset = zero(how, leaves, nodes)
    reset_ids = {id(n) for n in reset}
    if how == "grad = None":
        report = compare_with_torch(root, upstream)  # runs the fresh backward: torch's grads
        assert report.ok, f"\n{report}"
    else:
        for p in leaves:
            assert p.grad is None or not p.grad.any()
        root.backward(upstream)
    for n in nodes:
        # the reset nodes hold exactly one contribution again; the others (intermediates the
        # module or optimizer does not own) accumulated a second one, as in torch
        expected = first[id(n)] if id(n) in reset_ids else 2 * first[id(n)]
        np.testing.assert_array_equal(n.grad, expected, err_msg=f"{how}: {n._op}")


def build_and_forget(data, seed, run_backward):
    """Build a graph and return weakrefs to its root and every non-leaf node, plus the leaves;
    nothing else of the graph survives this call."""
    g, root, upstream = random_graph(data, seed)
    if run_backward:
        root.backward(upstream)
    nodes = all_nodes(g, root)
    refs = [weakref.ref(n) for n in nodes if not n.is_leaf]
    leaves = [n for n in nodes if n.is_leaf]
    return (None if root.is_leaf else weakref.ref(root)), refs, leaves


@given(run_backward=st.booleans(), **GRAPHS)
def test_a_graph_dies_with_its_last_reference(run_backward, data, seed):
    gc.collect()
    gc.disable()  # reference counting alone must free it: a cycle would keep it alive
    try:
        root, intermediates, leaves = build_and_forget(data, seed, run_backward)
        assert root is None or root() is None, "the root outlived the last reference to it"
        alive = [ref() for ref in intermediates if ref() is not None]
        assert not alive, f"{len(alive)} intermediates outlived the root: {alive[0]._op}"
        if run_backward:  # the leaves and their grads outlive the graph
            assert any(p.grad is not None for p in leaves if p.requires_grad)
    finally:
        gc.enable()
