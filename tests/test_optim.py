"""minigrad.optim against torch.optim: SGD and Adam, step by step, parameter by parameter.

Each run trains the same parameters in both libraries for a few steps on a small non-linear
loss (so each step's gradient depends on the previous update) and compares every parameter
and every piece of optimizer state after every step. One parameter gets a gradient only on
even steps, so "skip a parameter whose grad is None" is exercised; the learning rate changes
through param_groups half way. torch runs its single-tensor path (foreach=False), whose
formulas minigrad follows.

Also: in-place updates, zero_grad, state_dict round trips and all-or-nothing loading, param
groups, and the ValueErrors torch raises for bad hyperparameters.

Not here: the layers and losses (test_nn.py).
"""

import copy

import numpy as np
import pytest
import torch
from helpers import as_double, as_torch, assert_equal, assert_match

import minigrad
from minigrad import optim

DTYPES = [np.float32, np.float64]
SHAPES = [(4, 3), (3,), (2, 2, 2)]

CONFIGS = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd-momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}),
    "sgd-momentum-dampening": ("SGD", {"lr": 0.1, "momentum": 0.8, "dampening": 0.3}),
    "sgd-weight-decay": ("SGD", {"lr": 0.1, "weight_decay": 0.05}),
    "sgd-nesterov": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "adam": ("Adam", {"lr": 0.05}),
    "adam-weight-decay": ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    "adam-small-betas": ("Adam", {"lr": 0.05, "betas": (0.3, 0.5), "eps": 1e-4}),  # lerp's 2nd form
}


def initial_arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def loss_of(lib, params, step, values=None):
    """sum_i sum(tanh(p_i) * c_i) + sum(p_0**2) / 2; p_2 takes part on even steps only.

    The constants c_i are rounded to `values` (default: the parameters' dtype), so that a
    float64 truth of a float32 run uses the same float32 constants.
    """
    rng = np.random.default_rng(100 + step)
    total = (params[0] ** 2).sum() * 0.5
    for i, p in enumerate(params):
        if i == 2 and step % 2:
            continue
        dtype = values or (p.data.dtype if lib is minigrad else np.float64)
        c = rng.standard_normal(p.shape).astype(dtype)
        c = minigrad.tensor(c) if lib is minigrad else as_torch(c).to(p.dtype)
        total = total + (p.tanh() * c).sum()
    return total


def make(lib, name, kwargs, arrays):
    if lib is minigrad:
        params = [minigrad.tensor(a, requires_grad=True) for a in arrays]
        return params, getattr(optim, name)(params, **kwargs)
    params = [as_torch(a, requires_grad=True) for a in arrays]
    return params, getattr(torch.optim, name)(params, foreach=False, **kwargs)


def train_step(lib, params, opt, step, values=None):
    opt.zero_grad()
    loss_of(lib, params, step, values).backward()
    opt.step()


def assert_optimizer_state_match(m_opt, t_opt, d_opt=None):
    """Our state_dict()["state"] vs torch's: same entries, same arrays (float32 against the
    float64 run `d_opt` as the truth)."""
    t_state = {i: s for i, s in t_opt.state_dict()["state"].items() if s}
    d_state = None if d_opt is None else d_opt.state_dict()["state"]
    m_state = m_opt.state_dict()["state"]
    assert sorted(m_state) == sorted(t_state)
    for i, entry in m_state.items():
        assert sorted(entry) == sorted(t_state[i])
        for key, value in entry.items():
            if key == "step":  # a count (torch keeps it as a float32 tensor): exact
                assert_equal(value, t_state[i][key], f"state {i} step")
                continue
            assert_match(value, t_state[i][key], f"state {i} {key}",
                         None if d_state is None else d_state[i][key])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", CONFIGS)
def test_steps_match_torch(config, dtype):
    name, kwargs = CONFIGS[config]
    arrays = initial_arrays(dtype)
    m_params, m_opt = make(minigrad, name, kwargs, arrays)
    t_params, t_opt = make(torch, name, kwargs, arrays)
    # float32's truth: the same steps in float64 from the same float32 values and constants
    d_params, d_opt = make(torch, name, kwargs, [as_double(a) for a in arrays]) \
        if dtype == np.float32 else (None, None)
    storage = [p.detach().numpy() for p in m_params]
    for step in range(6):
        if step == 3:  # a learning-rate change through param_groups, as a schedule does
            for opt in (m_opt, t_opt, d_opt):
                if opt is not None:
                    opt.param_groups[0]["lr"] *= 0.5
        train_step(minigrad, m_params, m_opt, step)
        train_step(torch, t_params, t_opt, step)
        if d_opt is not None:
            train_step(torch, d_params, d_opt, step, values=np.float32)
        for i, (m, t) in enumerate(zip(m_params, t_params)):
            assert_match(m.data, t, f"param {i} after step {step}",
                         None if d_params is None else d_params[i])
        assert_optimizer_state_match(m_opt, t_opt, d_opt)
    assert all(p.detach().numpy() is s for p, s in zip(m_params, storage))  # updated in place


def test_param_groups_match_torch():
    arrays = initial_arrays(np.float64)
    results = []
    for lib, opt_module in ((minigrad, optim), (torch, torch.optim)):
        params = [minigrad.tensor(a, requires_grad=True) if lib is minigrad
                  else as_torch(a, requires_grad=True) for a in arrays]
        groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.5, "momentum": 0.0}]
        opt = opt_module.SGD(groups, lr=0.1, momentum=0.9)
        for step in range(3):
            train_step(lib, params, opt, 2 * step)
        results.append(params)
    for i, (m, t) in enumerate(zip(*results)):
        assert_match(m.data, t, f"param {i}")


@pytest.mark.parametrize("lib", [minigrad, torch], ids=["minigrad", "torch"])
def test_closure_is_called_and_its_loss_returned(lib):
    params, opt = make(lib, "Adam", {}, initial_arrays(np.float64))
    before = params[0].detach().numpy().copy()
    losses = []

    def closure():
        opt.zero_grad()
        losses.append(loss_of(lib, params, 0))
        losses[-1].backward()
        return losses[-1]

    assert opt.step(closure) is losses[0] and len(losses) == 1
    assert not np.array_equal(params[0].detach().numpy(), before)  # the step used the grad


def test_zero_grad_like_torch():
    p = minigrad.tensor(np.ones(3), requires_grad=True)
    unused = minigrad.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([p, unused], lr=0.1)
    (p * 2).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and not grad.any() and unused.grad is None
    opt.zero_grad()
    assert p.grad is None


# ---- state_dict ------------------------------------------------------------------------

@pytest.mark.parametrize("config", ["sgd-nesterov", "adam-weight-decay"])
def test_state_dict_resumes_exactly(config):
    name, kwargs = CONFIGS[config]
    arrays = initial_arrays(np.float32)
    params, opt = make(minigrad, name, kwargs, arrays)
    for step in range(3):
        train_step(minigrad, params, opt, step)
    saved = opt.state_dict()
    saved_copy = copy.deepcopy(saved)
    checkpoint = [p.data.numpy().copy() for p in params]
    for step in range(3, 6):  # the uninterrupted run
        train_step(minigrad, params, opt, step)
    for key, entry in saved["state"].items():  # a copy: later steps did not touch it
        for k, v in entry.items():
            assert np.array_equal(v, saved_copy["state"][key][k])

    resumed_params, resumed = make(minigrad, name, dict(kwargs, lr=1.0), checkpoint)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]  # hyperparameters come back too
    for step in range(3, 6):
        train_step(minigrad, resumed_params, resumed, step)
    for p, q in zip(params, resumed_params):
        assert np.array_equal(p.data, q.data)


def test_state_dict_matches_torchs_layout():
    arrays = initial_arrays(np.float32)
    m_params, m_opt = make(minigrad, "Adam", {"lr": 0.01}, arrays)
    t_params, t_opt = make(torch, "Adam", {"lr": 0.01}, arrays)
    train_step(minigrad, m_params, m_opt, 1)  # param 2 has no grad on odd steps: no state
    train_step(torch, t_params, t_opt, 1)
    m_sd, t_sd = m_opt.state_dict(), t_opt.state_dict()
    assert sorted(m_sd["state"]) == sorted(t_sd["state"]) == [0, 1]
    assert m_sd["param_groups"][0]["params"] == t_sd["param_groups"][0]["params"]
    for key, value in m_sd["param_groups"][0].items():
        assert t_sd["param_groups"][0][key] == value, key


BAD_OPTIMIZER_STATES = {
    "group count": (lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0])),
                    "different number of parameter groups"),
    "group size": (lambda sd: sd["param_groups"][0]["params"].pop(),
                   "doesn't match the size"),
}


@pytest.mark.parametrize("case", BAD_OPTIMIZER_STATES)
def test_load_state_dict_errors_like_torch(case):
    edit, phrase = BAD_OPTIMIZER_STATES[case]
    arrays = initial_arrays(np.float32)
    for lib in (minigrad, torch):
        params, opt = make(lib, "SGD", {"lr": 0.1, "momentum": 0.9}, arrays)
        train_step(lib, params, opt, 0)
        bad = copy.deepcopy(opt.state_dict())
        edit(bad)
        with pytest.raises(ValueError, match=phrase):
            opt.load_state_dict(bad)


def test_load_state_dict_changes_nothing_when_it_raises():
    arrays = initial_arrays(np.float32)
    params, opt = make(minigrad, "Adam", {"lr": 0.01}, arrays)
    train_step(minigrad, params, opt, 0)
    before = copy.deepcopy(opt.state_dict())
    bad = copy.deepcopy(before)
    bad["param_groups"][0]["lr"] = 5.0
    bad["state"][0]["exp_avg"] += 1
    bad["state"][1]["exp_avg_sq"] = np.zeros(7)  # the wrong shape for parameter 1
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for key, entry in before["state"].items():
        for k, v in entry.items():
            assert np.array_equal(after["state"][key][k], v)


# ---- argument checks, as torch ----------------------------------------------------------

BAD_ARGUMENTS = [
    ("SGD", {"lr": -0.1}, "Invalid learning rate"),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, "Invalid momentum"),
    ("SGD", {"lr": 0.1, "weight_decay": -1.0}, "Invalid weight_decay"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "Nesterov momentum requires"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "Nesterov"),
    ("Adam", {"lr": -1.0}, "Invalid learning rate"),
    ("Adam", {"eps": -1.0}, "Invalid epsilon"),
    ("Adam", {"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0"),
    ("Adam", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1"),
    ("Adam", {"weight_decay": -0.1}, "Invalid weight_decay"),
]


@pytest.mark.parametrize("name,kwargs,phrase", BAD_ARGUMENTS)
def test_bad_hyperparameters_raise_like_torch(name, kwargs, phrase):
    with pytest.raises(ValueError, match=phrase):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=phrase):
        getattr(optim, name)([minigrad.zeros(2, requires_grad=True)], **kwargs)


def test_bad_parameter_lists_raise_like_torch():
    for lib, opt_module in ((torch, torch.optim), (minigrad, optim)):
        p = lib.zeros(2, requires_grad=True)
        with pytest.raises(ValueError, match="empty parameter list"):
            opt_module.SGD([], lr=0.1)
        with pytest.raises(ValueError, match="non-leaf"):
            opt_module.SGD([p * 2], lr=0.1)
        with pytest.raises(ValueError, match="more than one parameter group"):
            opt_module.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
        with pytest.raises(TypeError, match="can only optimize Tensors"):
            opt_module.SGD([p, 1.0], lr=0.1)
