"""Higher-order gradients (higher.py) against torch, in float64.

- every row of the op table (test_ops.CASES): the first gradient, taken with
  create_graph=True for a random upstream u, then the gradient of (grad . v) for a random v,
  both against torch.autograd.grad on the same inputs;
- a third-order chain (d^3 tanh), double backward through the fused cross-entropy, and
  Hessian-vector products of the makemore loss with respect to W1 and to the embedding C;
- the API: backward(create_graph=True) fills `.grad` with differentiable Tensors;
  autograd.grad's arguments and torch's refusals;
- the proof tools: check.compare_with_torch replays a graph built with create_graph (the
  backward's own nodes included) and viz draws it;
- create_graph=False records nothing: the first-order gradients stay numpy arrays.
"""

import numpy as np
import pytest
import torch
from helpers import as_torch
from test_ops import CASES

import minigrad
from minigrad import autograd
from minigrad.check import compare_with_torch
from models import lecture


def close(mine, theirs, what):
    """minigrad's gradient against torch's (float64 defaults); None (no dependence) counts as
    zeros on either side, never on both (that would compare nothing)."""
    if mine is None and theirs is None:
        return
    if theirs is None:  # torch: this input's gradient does not depend on anything
        theirs = torch.zeros(tuple(mine.shape), dtype=torch.float64) if mine is not None \
            else None
    if mine is None:
        mine = np.zeros(tuple(theirs.shape))
    mine = mine.detach().numpy() if isinstance(mine, minigrad.Tensor) else np.asarray(mine)
    torch.testing.assert_close(torch.from_numpy(np.array(mine)), theirs.detach(),
                               msg=lambda m: f"{what}: {m}")


def grad_of_grad(lib, fn, arrays, grad_of, u, vs):
    """(first gradients, gradients of sum_i (first_i . v_i)) for fn on `lib`."""
    tensor = minigrad.tensor if lib is minigrad else as_torch
    ins = [tensor(a, requires_grad=i in grad_of) if lib is minigrad
           else as_torch(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    xs = [ins[i] for i in grad_of]
    out = fn(lib, *ins)
    firsts = lib.autograd.grad(out, xs, grad_outputs=tensor(u), create_graph=True,
                               allow_unused=True)
    terms = [(f * tensor(v)).sum() for f, v in zip(firsts, vs) if f is not None]
    total = sum(terms[1:], terms[0]) if terms else None
    if total is None or not total.requires_grad:
        return firsts, [None] * len(xs)
    return firsts, lib.autograd.grad(total, xs, allow_unused=True)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_second_order_matches_torch(c):
    arrays = c.inputs(np.float64)
    grad_of = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] \
        if c.grad_of is None else list(c.grad_of)
    rng = np.random.default_rng(7)
    shape = tuple(c.fn(torch, *[as_torch(a) for a in arrays]).shape)
    u = rng.standard_normal(shape)
    vs = [rng.standard_normal(arrays[i].shape) for i in grad_of]
    m_first, m_second = grad_of_grad(minigrad, c.fn, arrays, grad_of, u, vs)
    t_first, t_second = grad_of_grad(torch, c.fn, arrays, grad_of, u, vs)
    for k in range(len(grad_of)):
        close(m_first[k], t_first[k], f"{c.id}: first gradient of input {grad_of[k]}")
        close(m_second[k], t_second[k], f"{c.id}: second-order gradient of input {grad_of[k]}")


# ---- chains and models --------------------------------------------------------------------

def test_third_order_tanh():
    """d/dx, d2/dx2, d3/dx3 of sum(tanh(x)); d3 tanh = -2 (1 - t^2)(1 - 3 t^2) with t = tanh x."""
    a = np.linspace(-2.0, 2.0, 9)
    results = {}
    for lib in (minigrad, torch):
        x = minigrad.tensor(a, requires_grad=True) if lib is minigrad else \
            as_torch(a, requires_grad=True)
        y, orders = x.tanh().sum(), []
        for order in range(3):
            (y,) = lib.autograd.grad(y, x, create_graph=order < 2)
            orders.append(y)
            y = y.sum()
        results[lib] = orders
    for order, (mine, theirs) in enumerate(zip(results[minigrad], results[torch]), 1):
        close(mine, theirs, f"order {order}")
    t = np.tanh(a)
    third = results[minigrad][2].detach().numpy()
    np.testing.assert_allclose(third, -2 * (1 - t**2) * (1 - 3 * t**2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_double_backward_through_fused_cross_entropy(reduction):
    rng = np.random.default_rng(3)
    logits, w = rng.standard_normal((6, 5)), rng.standard_normal((5, 5))
    target, v = np.array([0, 4, 4, 1, 2, 3]), rng.standard_normal((6, 5))
    got = {}
    for lib in (minigrad, torch):
        tensor = minigrad.tensor if lib is minigrad else as_torch
        x, W = tensor(logits, requires_grad=True), tensor(w, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x @ W, tensor(target), reduction=reduction)
        if reduction == "none":
            loss = (loss * tensor(np.arange(6.0))).sum()
        gx, gW = lib.autograd.grad(loss, (x, W), create_graph=True)
        if lib is minigrad:
            assert loss._op.name in ("cross_entropy", "sum")
        hx, hW = lib.autograd.grad((gx * tensor(v)).sum() + (gW**2).sum(), (x, W))
        got[lib] = (gx, gW, hx, hW)
    for name, mine, theirs in zip("gx gW hx hW".split(), got[minigrad], got[torch]):
        close(mine, theirs, name)


@pytest.mark.parametrize("wrt", ["W1", "C"])
def test_hessian_vector_product_of_the_makemore_loss(wrt):
    """H v for the lecture's loss (models/lecture.py: embedding, batchnorm, tanh, the
    step-by-step cross-entropy) with respect to W1 and to the embedding C."""
    t_params, Xb, Yb = lecture.random_inputs(torch, batch=16, hidden=16, dtype=torch.float64)
    v = np.random.default_rng(5).standard_normal(tuple(t_params[wrt].shape))
    got = {}
    for lib in (minigrad, torch):
        tensor = minigrad.tensor if lib is minigrad else as_torch
        p = {k: tensor(t.detach().numpy(), requires_grad=True) for k, t in t_params.items()}
        loss = lecture.forward(lib, p, tensor(Xb.numpy()), tensor(Yb.numpy()))["loss"]
        (g,) = lib.autograd.grad(loss, p[wrt], create_graph=True)
        (hv,) = lib.autograd.grad((g * tensor(v)).sum(), p[wrt])
        got[lib] = (g, hv)
    close(got[minigrad][0], got[torch][0], f"gradient wrt {wrt}")
    close(got[minigrad][1], got[torch][1], f"Hessian-vector product wrt {wrt}")
    assert np.abs(got[minigrad][1].numpy()).max() > 1e-6  # a real second derivative


# ---- the API ------------------------------------------------------------------------------

def test_backward_create_graph_gives_differentiable_grads():
    a = np.array([0.5, -1.0, 2.0])
    for lib in (minigrad, torch):
        x = minigrad.tensor(a, requires_grad=True) if lib is minigrad else \
            as_torch(a, requires_grad=True)
        (x**3).sum().backward(create_graph=True)
        assert x.grad.requires_grad
        g = x.grad
        x.grad = None
        (g * g).sum().backward()  # d/dx sum((3x^2)^2) = 36 x^3
        if lib is minigrad:
            mine = x.grad.numpy()
        else:
            theirs = x.grad
    close(mine, theirs, "grad of grad")
    np.testing.assert_allclose(mine, 36 * a**3)


def test_backward_create_graph_accumulates():
    x = minigrad.tensor([1.0, 2.0], dtype=minigrad.float64, requires_grad=True)
    (x**2).sum().backward(create_graph=True)
    (x**3).sum().backward(create_graph=True)
    a = x.detach().numpy()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * a + 3 * a**2)
    (gx,) = autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(gx.numpy(), 2 + 6 * a)


def test_first_order_records_nothing():
    x = minigrad.tensor([0.5, -1.0], dtype=minigrad.float64, requires_grad=True)
    (x.exp() * x).sum().backward()
    assert not x.grad.requires_grad and x.grad.op is None
    (g,) = autograd.grad((x.exp() * x).sum(), x)
    assert not g.requires_grad and g.op is None
    np.testing.assert_allclose(g.numpy(), x.grad.numpy())


def test_grad_several_outputs_and_grad_outputs():
    a, b = np.array([0.3, 0.8]), np.array([1.5, -0.5])
    got = {}
    for lib in (minigrad, torch):
        tensor = minigrad.tensor if lib is minigrad else as_torch
        x = tensor(a, requires_grad=True)
        y1, y2 = x.exp(), (x * tensor(b)).sum()
        got[lib] = lib.autograd.grad([y1, y2], [x], grad_outputs=[tensor(b), None])
    close(got[minigrad][0], got[torch][0], "two outputs")


def test_grad_of_an_intermediate_and_no_grad_written():
    x = minigrad.tensor([0.3, 0.8], dtype=minigrad.float64, requires_grad=True)
    h = x * 2
    (gh,) = autograd.grad((h**2).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())
    assert x.grad is None


def test_grad_refusals_are_torchs():
    for lib in (minigrad, torch):
        tensor = minigrad.tensor if lib is minigrad else as_torch
        x = tensor(np.array([1.0, 2.0]), requires_grad=True)
        unused = tensor(np.array([3.0]), requires_grad=True)
        const = tensor(np.array([3.0]))
        y = (x * 2).sum()
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad(y, [x, unused], retain_graph=True)
        gx, gu = lib.autograd.grad(y, [x, unused], allow_unused=True, retain_graph=True)
        assert gu is None
        gx, gu = lib.autograd.grad(y, [x, unused], materialize_grads=True, retain_graph=True)
        assert gu.shape == (1,) and float(gu.sum()) == 0
        with pytest.raises(RuntimeError, match="does not require grad"):
            lib.autograd.grad(y, [const], retain_graph=True)
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
            lib.autograd.grad(const.sum(), [x])
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
            lib.autograd.grad(x * 2, [x])


# ---- the proof tools ----------------------------------------------------------------------

def test_check_replays_a_create_graph_graph():
    """compare_with_torch replays every node under a gradient penalty: the forward's and the
    backward's (expand, scatter_add, ...), values and grads, against torch."""
    rng = np.random.default_rng(2)
    C = minigrad.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    W = minigrad.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    X = minigrad.tensor(np.array([[0, 2], [5, 2], [1, 1]]))
    h = (C[X].reshape(3, 6) @ W).tanh()
    loss = minigrad.nn.functional.cross_entropy(h, np.array([0, 3, 1])) + (h.sum(0) ** 2).max()
    (gC,) = autograd.grad(loss, C, create_graph=True)
    penalty = (gC**2).sum()
    names = {n.op.name for n in minigrad.check.graph_nodes(penalty) if n.op is not None}
    assert {"scatter_add", "expand", "getitem", "matmul", "tanh"} <= names
    report = compare_with_torch(penalty)
    assert report.ok, f"\n{report}"
    assert len(report.rows) > 20


def test_viz_draws_a_create_graph_graph():
    import viz  # noqa: PLC0415
    x = minigrad.tensor([0.5, -1.0], dtype=minigrad.float64, requires_grad=True)
    (g,) = autograd.grad(x.tanh().sum(), x, create_graph=True)
    source = viz.to_dot(g.sum())
    assert "tanh" in source and "pow" in source
