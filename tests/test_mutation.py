"""Mutation safety: a value written in place between a recorded op and backward is refused.

A recorded op takes its derivative at the values it saw. If an input (or its result) is
changed in place before backward, the gradient would silently be taken at the new values.
minigrad stamps every in-place write (`t.data = a`, `t.data -= d` and the other augmented
assignments, `t[i] = v`, optimizer steps, load_state_dict) and backward refuses a node whose
op reads a value (its `reads`, as torch's saved tensors) written after the op ran: a
RuntimeError with torch's phrase, "modified by an inplace operation", naming the tensor.

- every write form, on a leaf, an intermediate and an op's result, raises; no .grad is
  written when it does (all or nothing);
- torch raises the same class for the same scenario (its in-place write under no_grad);
- the optimizer's update after backward, and any write before the forward pass or to a
  tensor outside the graph, stay legal; a rebuilt graph trains on;
- a second backward through a graph after optimizer.step() is refused, as torch refuses it.

Not seen: writes into the numpy array itself (`t.numpy()[0] = 5`, `np.copyto(t.numpy(), ...)`)
bypass the tensor, as they do in torch. README "Differences from torch".
"""

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn, optim

PHRASE = "modified by an inplace operation"


def small_graph(lib):
    """x (requires grad) @ W -> tanh -> sum, every node labelled (labels: minigrad only)."""
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    W = lib.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    hpre = x @ W
    h = hpre.tanh()
    loss = (h * h).sum()
    if lib is minigrad:
        for t, name in [(x, "x"), (W, "W"), (hpre, "hpre"), (h, "h"), (loss, "loss")]:
            t.label = name
    return x, W, hpre, h, loss


def _add_through_data(t):
    t.data += 1.0


def _sub_through_data(t):
    t.data -= 0.5 * np.ones_like(t.data.numpy())


def _mul_through_data(t):
    t.data *= 2.0


def _rebind_data(t):
    t.data = t.data * 2.0


def _setitem_no_grad(t):
    with minigrad.no_grad():
        t[0] = 7.0


WRITES = {"data +=": _add_through_data, "data -=": _sub_through_data,
          "data *=": _mul_through_data, "data = new": _rebind_data,
          "t[i] = v under no_grad": _setitem_no_grad}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
@pytest.mark.parametrize("target", ["x", "W", "h"])
def test_a_write_before_backward_raises_naming_the_tensor(write, target):
    x, W, hpre, h, loss = small_graph(minigrad)
    victim = {"x": x, "W": W, "h": h}[target]
    write(victim)
    with pytest.raises(RuntimeError, match=PHRASE) as err:
        loss.backward()
    assert f"'{target}'" in str(err.value)
    for t in (x, W, hpre, h, loss):  # all or nothing: no gradient was written anywhere
        assert t.grad is None


@pytest.mark.parametrize("target", ["x", "W", "h"])
def test_torch_raises_the_same_class(target):
    """torch's tracked write (in place under no_grad) into the same node, then backward."""
    x, W, hpre, h, loss = small_graph(torch)
    victim = {"x": x, "W": W, "h": h}[target]
    with torch.no_grad():
        victim.mul_(2.0)
    with pytest.raises(RuntimeError, match=PHRASE):
        loss.backward()


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_no_backward_reads_is_legal_as_in_torch(write):
    """hpre = x @ W feeds tanh, whose backward reads only its result: as torch, writing
    hpre after the forward changes no gradient, and backward runs."""
    x, W, hpre, h, loss = small_graph(minigrad)
    write(hpre)
    loss.backward()
    t = small_graph(torch)
    with torch.no_grad():
        t[2].mul_(2.0)
    t[4].backward()
    np.testing.assert_allclose(x.grad.numpy(), t[0].grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(W.grad.numpy(), t[1].grad.numpy(), rtol=1e-12)


def test_the_message_says_which_op_and_input():
    x, W, hpre, h, loss = small_graph(minigrad)
    W.data += 1.0
    with pytest.raises(RuntimeError) as err:
        loss.backward()
    message = str(err.value)
    assert "input 1 of op 'matmul'" in message and "(3, 5)" in message


def test_a_result_written_before_backward_raises():
    """exp's backward uses its own result (dy * y): writing the result is caught too."""
    x = minigrad.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    y.label = "y"
    z = y.sum()
    with minigrad.no_grad():
        y[0] = 0.0
    with pytest.raises(RuntimeError, match=PHRASE) as err:
        z.backward()
    assert "'y'" in str(err.value)


def test_load_state_dict_after_forward_raises():
    """The input requires grad, so matmul keeps the weight for dx (in torch too)."""
    model = nn.Linear(3, 2)
    state = {k: v + 1.0 for k, v in model.state_dict().items()}
    loss = model(minigrad.ones(4, 3, requires_grad=True)).sum()
    model.load_state_dict(state)
    with pytest.raises(RuntimeError, match=PHRASE):
        loss.backward()
    t_model = torch.nn.Linear(3, 2)
    t_loss = t_model(torch.ones(4, 3, requires_grad=True)).sum()
    t_model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    with pytest.raises(RuntimeError, match=PHRASE):
        t_loss.backward()


def test_writes_that_cannot_change_a_gradient_stay_legal():
    x, W, hpre, h, loss = small_graph(minigrad)
    W.data += 0.0 * W.data  # before the next forward: this graph is built after it
    other = minigrad.ones(3, requires_grad=True)
    x2, W2, hpre2, h2, loss2 = small_graph(minigrad)
    other.data += 1.0  # not in the graph
    with minigrad.no_grad():
        other[0] = 3.0
    loss2.backward()
    t = small_graph(torch)
    t[-1].backward()
    np.testing.assert_allclose(W2.grad, t[1].grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x2.grad, t[0].grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("make_optimizer", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                                            lambda p: optim.Adam(p, lr=0.01)],
                         ids=["SGD", "Adam"])
def test_the_optimizer_step_after_backward_is_legal(make_optimizer):
    """A few training steps of a layer model, against torch: every step rebuilds the graph."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((16, 4))
    m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for mp, tp in zip(m.parameters(), t.parameters()):
            tp.copy_(torch.from_numpy(mp.data.numpy().astype(np.float64)).float())
    opt_m = make_optimizer(m.parameters())
    opt_t = ({"SGD": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
              "Adam": lambda p: torch.optim.Adam(p, lr=0.01)}
             [type(opt_m).__name__](t.parameters()))
    for _ in range(3):
        for model, opt, lib in [(m, opt_m, minigrad), (t, opt_t, torch)]:
            opt.zero_grad()
            loss = (model(lib.tensor(X.astype(np.float32))) ** 2).mean()
            loss.backward()
            opt.step()
    for mp, tp in zip(m.parameters(), t.parameters()):
        np.testing.assert_allclose(mp.data.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_backward_again_after_the_optimizer_step_raises():
    """The graph's inputs moved on: a second backward would mix old and new values. torch
    refuses too (with retain_graph=True it raises this very error)."""
    x, W, hpre, h, loss = small_graph(minigrad)
    opt = optim.SGD([W], lr=0.1)
    loss.backward()
    opt.step()
    with pytest.raises(RuntimeError, match=PHRASE):
        loss.backward()

    x, W, hpre, h, loss = small_graph(torch)
    opt = torch.optim.SGD([W], lr=0.1)
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=PHRASE):
        loss.backward()


def test_in_place_write_on_a_recorded_tensor_in_grad_mode_is_recorded():
    """Recorded as torch records it; backward then refuses, because tanh and h * h read
    the old h (tests/test_torch_semantics.py has the cases where it goes through)."""
    for lib in (minigrad, torch):
        x, W, hpre, h, loss = small_graph(lib)
        h[0] = 1.0
        assert float(h.detach()[0, 0]) == 1.0 and not h.is_leaf
        with pytest.raises(RuntimeError, match=PHRASE):
            loss.backward()
