"""minigrad.nn against torch.nn: every layer, the module machinery, and the cross-entropy loss.

Layers are checked as twins: a minigrad layer and a torch layer holding the same parameters
and buffers (copied through state_dict, which also pins that the keys are torch's), fed the
same input and the same random upstream gradient. Output, input gradient and every parameter
gradient must match, in float64 and float32 (check.verdict; float32 against a float64 twin).
BatchNorm's intermediates are checked node by node against the seed cell's steps run in
torch, and its running statistics after several training steps against torch.nn.BatchNorm1d's.

The module machinery (registration order, deduplication, state_dict round trips, all-or-nothing
load_state_dict, scopes) is checked against torch's behaviour on mirrored module trees. The
fused and the step-by-step cross-entropy are checked against F.cross_entropy, including
logits of +-1000, and the fused primitive by float64 finite differences as well.

Not here: the optimizers (test_optim.py), the primitives' own table (test_ops.py).
"""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import as_double, as_torch, assert_match, compare

import minigrad
from minigrad import autograd, check, nn, ops
from models import lecture

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def seeded(seed):
    return minigrad.Generator().manual_seed(seed)


def twin(m_mod, t_mod):
    """Load minigrad's parameters and buffers into the torch module (keys must match).

    A float32 pair gets a third module, the truth: the torch module in float64 from the same
    float32 parameters, kept outside torch's registry so it is not a submodule.
    """
    t_mod.load_state_dict({k: torch.from_numpy(v) for k, v in m_mod.state_dict().items()})
    if any(v.dtype == np.float32 for v in m_mod.state_dict().values()):
        t_mod.__dict__["truth"] = copy.deepcopy(t_mod).double()
    return m_mod, t_mod


def run_twins(m_mod, t_mod, x, seed=0):
    """Forward x through both, backward a random upstream; check output and every gradient."""
    is_float = x.dtype.kind == "f"
    mx, tx = minigrad.tensor(x, requires_grad=is_float), as_torch(x, requires_grad=is_float)
    m_out, t_out = m_mod(mx), t_mod(tx)
    upstream = np.random.default_rng(seed).standard_normal(m_out.shape).astype(m_out.dtype)
    m_out.backward(upstream)
    t_out.backward(as_torch(upstream))
    d_mod = t_mod.__dict__.get("truth")
    d_out = dx = None
    if d_mod is not None:  # the same step in float64 from the same float32 inputs
        d_mod.train(t_mod.training)
        d_mod.zero_grad()
        dx = as_torch(as_double(x), requires_grad=is_float)
        d_out = d_mod(dx)
        d_out.backward(as_torch(as_double(upstream)))
    scale = check.scales(m_out) if d_mod is not None else {}
    assert_match(m_out.data, t_out, "output", d_out, scale.get(id(m_out), (None,))[0])
    if is_float:
        assert_match(mx.grad, tx.grad, "grad of input", None if dx is None else dx.grad,
                     scale.get(id(mx), (None, None))[1])
    t_params = dict(t_mod.named_parameters())
    d_params = {} if d_mod is None else dict(d_mod.named_parameters())
    assert [k for k, _ in m_mod.named_parameters()] == list(t_params)
    for name, p in m_mod.named_parameters():
        assert_match(p.grad, t_params[name].grad, f"grad of {name}",
                     d_params[name].grad if d_params else None,
                     scale.get(id(p), (None, None))[1])
    return m_out, t_out


def assert_state_match(m_mod, t_mod):
    """Buffers and parameters; float32 running statistics against the float64 twin's."""
    t_state = t_mod.state_dict()
    m_state = m_mod.state_dict()
    d_mod = t_mod.__dict__.get("truth")
    d_state = {} if d_mod is None else d_mod.state_dict()
    assert list(m_state) == list(t_state)
    for key, value in m_state.items():
        assert_match(value, t_state[key], key, d_state.get(key))


def labelled(root):
    """The nodes under root that carry a label, by label."""
    return {n.label: n for n in autograd.toposort(root) if n.label}


# ---- Linear, Embedding, Tanh, Flatten --------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(8, 5), (2, 3, 5), (5,)])
def test_linear_matches_torch(dtype, bias, shape):
    m, t = twin(nn.Linear(5, 4, bias=bias, generator=seeded(1), dtype=dtype),
                torch.nn.Linear(5, 4, bias=bias, dtype=TORCH_DTYPE[dtype]))
    assert m.weight.shape == (4, 5) and m.weight.dtype == dtype
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    run_twins(m, t, x)


def test_linear_init_is_torchs_uniform():
    fan_in, bound = 30, 1 / np.sqrt(30)
    w = nn.Linear(fan_in, 400, generator=seeded(0)).weight.data.numpy().astype(np.float64)
    b = nn.Linear(fan_in, 400, generator=seeded(0)).bias.data.numpy()
    # torch's bound, checked on torch itself: kaiming_uniform(a=sqrt(5)) is 1/sqrt(fan_in)
    assert torch.nn.Linear(fan_in, 400).weight.abs().max().item() <= bound
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound  # 12,000 draws reach the edges of the interval
    assert abs(w.mean()) < 0.02 * bound
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.05  # var of U(-k, k) = k^2 / 3
    assert w.dtype == np.float64 and nn.Linear(3, 2).weight.dtype == np.float32
    same = nn.Linear(fan_in, 400, generator=seeded(0)).weight.data.numpy()
    other = nn.Linear(fan_in, 400, generator=seeded(1)).weight.data.numpy()
    assert np.array_equal(same, w.astype(np.float32)) and not np.array_equal(same, other)


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_matches_torch(dtype):
    m, t = twin(nn.Embedding(7, 4, generator=seeded(0), dtype=dtype),
                torch.nn.Embedding(7, 4, dtype=TORCH_DTYPE[dtype]))
    idx = np.array([[0, 3, 3], [6, 0, 3], [1, 1, 1], [5, 6, 0]])  # repeats accumulate
    run_twins(m, t, idx)


def test_embedding_init_is_standard_normal():
    w = nn.Embedding(2000, 10, generator=seeded(0)).weight.data.numpy()
    assert w.dtype == np.float32 and w.shape == (2000, 10)
    assert abs(w.mean()) < 0.03 and abs(w.std() - 1) < 0.03


@pytest.mark.parametrize("dims,shape", [((1, -1), (4, 3, 5)), ((0, 1), (4, 3, 5)),
                                        ((1, 2), (2, 3, 4, 5)), ((-2, -1), (2, 3, 4))])
def test_flatten_and_tanh_match_torch(dims, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    run_twins(nn.Flatten(*dims), torch.nn.Flatten(*dims), x)
    run_twins(nn.Tanh(), torch.nn.Tanh(), x)


# ---- BatchNorm1d -------------------------------------------------------------------------

def batchnorm_twins(dtype, c=6, **kwargs):
    m = nn.BatchNorm1d(c, dtype=dtype, **kwargs)
    if m.weight is not None:  # weight 1 and bias 0 would hide a swapped or missing term
        rng = np.random.default_rng(11)
        m.weight.data[...] = rng.uniform(0.5, 1.5, c)
        m.bias.data[...] = rng.standard_normal(c)
    return twin(m, torch.nn.BatchNorm1d(c, dtype=TORCH_DTYPE[dtype], **kwargs))


def batch(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(32, 6), (8, 6, 5)])
def test_batchnorm_train_then_eval_matches_torch(dtype, shape):
    m, t = batchnorm_twins(dtype)
    for step in range(4):  # gradients in training, and the running statistics after each step
        run_twins(m, t, batch(shape, dtype, step), seed=step)
        assert_state_match(m, t)
    assert m.num_batches_tracked.item() == 4
    m.eval()
    t.eval()
    run_twins(m, t, batch(shape, dtype, 9), seed=9)  # eval: running statistics, as constants
    assert_state_match(m, t)  # eval does not move the running statistics


@pytest.mark.parametrize("kwargs", [{"momentum": None}, {"momentum": 0.5, "eps": 1e-3},
                                    {"affine": False}, {"track_running_stats": False}],
                         ids=["cumulative", "momentum-eps", "no-affine", "no-running-stats"])
def test_batchnorm_options_match_torch(kwargs):
    m, t = batchnorm_twins(np.float64, **kwargs)
    for step in range(3):
        run_twins(m, t, batch((10, 6), np.float64, step), seed=step)
        assert_state_match(m, t)
    m.eval()
    t.eval()
    run_twins(m, t, batch((10, 6), np.float64, 5))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("unbiased", [True, False])
def test_batchnorm_steps_match_the_seed_cell(dtype, unbiased):
    """Every intermediate of BatchNorm1d vs the seed's cell 156 steps run in torch.

    unbiased=True is the seed itself (bnvar divides by n - 1); unbiased=False the same steps
    with 1/n. The running statistics do not depend on that choice: torch's BatchNorm1d is
    their oracle in both cases.
    """
    n, c = 32, 64
    rng = np.random.default_rng(5)
    hprebn_np = batch((n, c), dtype, 7)
    gain_np = (rng.standard_normal((1, c)) * 0.1 + 1.0).astype(dtype)
    bias_np = (rng.standard_normal((1, c)) * 0.1).astype(dtype)

    bn = nn.BatchNorm1d(c, unbiased_normalization=unbiased, dtype=dtype)
    bn.weight.data[...] = gain_np.reshape(c)
    bn.bias.data[...] = bias_np.reshape(c)
    x = minigrad.tensor(hprebn_np, requires_grad=True)
    out = bn(x)

    upstream = rng.standard_normal((n, c)).astype(dtype)
    out.backward(upstream)
    scale = check.scales(out)
    seed = seed_batchnorm(n, hprebn_np, gain_np, bias_np, upstream, unbiased)
    truth = seed_batchnorm(n, *map(as_double, (hprebn_np, gain_np, bias_np, upstream)),
                           unbiased) if dtype == np.float32 else {}

    nodes = {**labelled(out), "hpreact": out, "hprebn": x}

    def match(name, mine, key, grad=False):
        """minigrad's value (or grad) of node `key` against the seed step's, shapes as ours."""
        t, d = seed[key], truth.get(key)
        if grad:
            t, d = t.grad, (None if d is None else d.grad)
        assert_match(mine, t.reshape(mine.shape), name,
                     None if d is None else d.reshape(mine.shape), scale[id(nodes[key])][grad])

    match("hpreact", out.data, "hpreact")
    for name in ("bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw"):
        match(name, nodes[name].data, name)
        match(f"grad of {name}", nodes[name].grad, name, grad=True)
    match("grad of hprebn", x.grad, "hprebn", grad=True)
    assert_match(bn.weight.grad, seed["batch_norm_gain"].grad.reshape(c), "grad of gain",
                 truth and truth["batch_norm_gain"].grad.reshape(c), scale[id(bn.weight)][1])
    assert_match(bn.bias.grad, seed["batch_norm_bias"].grad.reshape(c), "grad of bias",
                 truth and truth["batch_norm_bias"].grad.reshape(c), scale[id(bn.bias)][1])

    t_bn = torch.nn.BatchNorm1d(c, dtype=TORCH_DTYPE[dtype])
    t_bn(as_torch(hprebn_np))
    d_bn = torch.nn.BatchNorm1d(c, dtype=torch.float64)
    d_bn(as_torch(as_double(hprebn_np)))
    assert_state_match(bn, twin_weights(t_bn, bn, d_bn if dtype == np.float32 else None))


def seed_batchnorm(n, hprebn_np, gain_np, bias_np, upstream, unbiased):
    """The lecture's BatchNorm layer (models.lecture.batchnorm) in torch; every step (and
    the leaves) by name, after backward from `upstream`."""
    hprebn = as_torch(hprebn_np, True)
    gain, bias = as_torch(gain_np, True), as_torch(bias_np, True)
    steps = {}
    hpreact = lecture.batchnorm(hprebn, gain, bias, bessel=unbiased, steps=steps)
    for s in steps.values():
        s.retain_grad()
    hpreact.backward(as_torch(upstream))
    return {**steps, "hprebn": hprebn, "batch_norm_gain": gain, "batch_norm_bias": bias}


def twin_weights(t_bn, m_bn, truth=None):
    """torch's BatchNorm with minigrad's affine parameters (they do not touch the stats),
    and its float64 twin `truth` (run on the same batches) for a float32 pair."""
    for t in (t_bn, truth):
        if t is not None:
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m_bn.weight.data.numpy()))
                t.bias.copy_(torch.from_numpy(m_bn.bias.data.numpy()))
    if truth is not None:
        t_bn.__dict__["truth"] = truth
    return t_bn


def test_batchnorm_errors_match_torch():
    m, t = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    cases = [(np.zeros(3, np.float32), ValueError, "expected 2D or 3D input"),
             (np.zeros((2, 3, 4, 5), np.float32), ValueError, "expected 2D or 3D input"),
             (np.zeros((1, 3), np.float32), ValueError, "more than 1 value per channel"),
             (np.zeros((4, 5), np.float32), RuntimeError, "should contain")]
    for x, error, phrase in cases:
        with pytest.raises(error, match=phrase):
            t(as_torch(x))
        with pytest.raises(error, match=phrase):
            m(minigrad.tensor(x))
    assert m.num_batches_tracked.item() == 0  # nothing half-updated
    m.eval()
    t.eval()
    assert_match(m(minigrad.tensor(np.ones((1, 3), np.float32))).data,
                 t(torch.ones(1, 3)), "eval accepts one row",
                 t.double()(torch.ones(1, 3, dtype=torch.float64)))


# ---- Sequential and the module machinery -------------------------------------------------

def makemore_twins(dtype=np.float64):
    # The bias before the batchnorm has a true gradient of exactly 0: in float32 both libraries
    # return rounding noise at the scale of the summed terms. check.verdict judges it against
    # the float64 twin (the case that failed a fixed bound on AVX-512 CPUs).
    m = nn.Sequential(nn.Embedding(27, 10, generator=seeded(0), dtype=dtype), nn.Flatten(),
                      nn.Linear(30, 64, generator=seeded(1), dtype=dtype),
                      nn.BatchNorm1d(64, dtype=dtype), nn.Tanh(),
                      nn.Linear(64, 27, generator=seeded(2), dtype=dtype))
    td = TORCH_DTYPE[dtype]
    t = torch.nn.Sequential(torch.nn.Embedding(27, 10, dtype=td), torch.nn.Flatten(),
                            torch.nn.Linear(30, 64, dtype=td),
                            torch.nn.BatchNorm1d(64, dtype=td),
                            torch.nn.Tanh(), torch.nn.Linear(64, 27, dtype=td))
    return twin(m, t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_makemore_sequential_matches_torch(dtype):
    m, t = makemore_twins(dtype)
    assert list(m.state_dict()) == list(t.state_dict())
    idx = np.random.default_rng(0).integers(0, 27, (32, 3))
    for step in range(2):
        m.zero_grad()
        t.zero_grad()
        run_twins(m, t, idx[::-1] if step else idx, seed=step)
    assert_state_match(m, t)
    t.eval()
    m.eval()
    run_twins(m, t, idx[:5])


def test_sequential_is_indexable_iterable_sized():
    layers = [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    seq.append(nn.Tanh())
    assert len(seq) == 4 and list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight",
                                                        "2.bias"]
    x = minigrad.randn(5, 2)
    expected = np.tanh(layers[2](layers[1](layers[0](x))).data.numpy())
    assert np.array_equal(seq(x).data.numpy(), expected)


def mirrored_trees():
    """The same tree in both libraries: own parameter first, a shared Linear under two names,
    a bias-less Linear, a plain tensor attribute, a BatchNorm, and nesting."""

    def build(lib, param):
        class Block(lib.nn.Module):
            def __init__(self, shared):
                super().__init__()
                self.scale = param(np.full(3, 2.0, np.float32))
                self.first = shared
                self.norm = lib.nn.BatchNorm1d(3)
                self.again = shared  # the same Linear: parameters() lists it once
                self.plain = lib.tensor([1.0])  # neither parameter nor buffer
                self.last = lib.nn.Linear(3, 2, bias=False)

        shared = lib.nn.Linear(3, 3)
        return lib.nn.Sequential(Block(shared), lib.nn.Tanh(), Block(shared))

    m = build(minigrad, nn.Parameter)
    t = build(torch, lambda a: torch.nn.Parameter(torch.from_numpy(a)))
    return twin(m, t)


def test_parameters_order_and_no_duplicates_match_torch():
    m, t = mirrored_trees()
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert list(m.state_dict()) == list(t.state_dict())  # here shared tensors appear twice
    assert [k for k, _ in m.named_buffers()] == [k for k, _ in t.named_buffers()]
    params = m.parameters()
    assert len({id(p) for p in params}) == len(params) == len(list(t.parameters()))
    assert all(p.requires_grad and p.is_leaf for p in params)
    assert len(m.modules()) == len(list(t.modules()))


def test_registration_rules():
    lin = nn.Linear(2, 2)
    lin.cache = lin.weight * 2  # a non-leaf result stored on a module is not a parameter
    lin.constant = minigrad.ones(2)  # a tensor without grad is not state either
    assert lin.parameters() == [lin.weight, lin.bias]
    assert list(lin.state_dict()) == ["weight", "bias"]
    with pytest.raises(TypeError, match="cannot assign"):
        torch.nn.Linear(2, 2).weight = torch.ones(2, 2)
    with pytest.raises(TypeError, match="cannot assign"):
        lin.weight = minigrad.ones(2, 2)
    lin.bias = None  # as torch: the slot stays, nothing is saved for it
    assert list(lin.state_dict()) == ["weight"]
    del lin.weight
    assert lin.parameters() == []


def test_module_without_super_init_still_registers():
    class Bare(nn.Module):
        def __init__(self):  # forgets super().__init__(): torch refuses, minigrad copes
            self.layer = nn.Linear(2, 2)

        def forward(self, x):
            return self.layer(x)

    bare = Bare()
    assert bare.training and bare.parameters() == bare.layer.parameters()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(minigrad.ones(1))


def test_train_eval_are_recursive():
    m, _ = mirrored_trees()
    assert m.eval() is m and not any(mod.training for mod in m.modules())
    assert m.train() is m and all(mod.training for mod in m.modules())


def test_zero_grad():
    m, _ = makemore_twins()
    m(minigrad.tensor(np.zeros((4, 3), np.int64))).sum().backward()
    grads = [p.grad for p in m.parameters()]
    m.zero_grad(set_to_none=False)
    assert all(p.grad is g and not g.any() for p, g in zip(m.parameters(), grads))
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_to_double_converts_parameters_and_buffers():
    m, _ = makemore_twins(np.float32)
    assert m.double() is m
    assert all(v.dtype == np.float64 for k, v in m.state_dict().items()
               if not k.endswith("num_batches_tracked"))
    assert m[3].num_batches_tracked.dtype == np.int64
    assert m(minigrad.tensor(np.zeros((4, 3), np.int64))).dtype == np.float64


# ---- state_dict ------------------------------------------------------------------------

def test_state_dict_round_trip():
    m, _ = makemore_twins()
    idx = np.random.default_rng(1).integers(0, 27, (16, 3))
    m(minigrad.tensor(idx))  # moves the running statistics
    saved = m.state_dict()
    assert saved["3.num_batches_tracked"] == 1
    for key, value in m.state_dict().items():
        value += 1  # a copy: editing it leaves the model alone
        assert np.array_equal(saved[key], m.state_dict()[key])

    fresh = nn.Sequential(nn.Embedding(27, 10, dtype=np.float64), nn.Flatten(),
                          nn.Linear(30, 64, dtype=np.float64), nn.BatchNorm1d(64, dtype=np.float64),
                          nn.Tanh(), nn.Linear(64, 27, dtype=np.float64))
    result = fresh.load_state_dict(saved)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for key, value in fresh.state_dict().items():
        assert np.array_equal(value, saved[key]) and value.dtype == saved[key].dtype, key
    for mode in ("train", "eval"):
        getattr(m, mode)()
        getattr(fresh, mode)()
        assert np.array_equal(m(minigrad.tensor(idx)).data.numpy(),
                              fresh(minigrad.tensor(idx)).data.numpy())

    # minigrad Tensors and torch tensors are accepted as values too
    fresh.load_state_dict({k: minigrad.tensor(v + 1) for k, v in saved.items()})
    assert np.array_equal(fresh[2].weight.data, saved["2.weight"] + 1)
    fresh.load_state_dict({k: torch.from_numpy(v) for k, v in saved.items()})
    assert np.array_equal(fresh[2].weight.data, saved["2.weight"])


BAD_STATES = {
    "missing": (lambda s: s.pop("3.running_var"), ["Missing key(s)", '"3.running_var"']),
    "unexpected": (lambda s: s.update({"9.weight": np.zeros(2)}),
                   ["Unexpected key(s)", '"9.weight"']),
    "size": (lambda s: s.update({"2.bias": np.zeros(63)}), ["size mismatch for 2.bias"]),
    "all three": (lambda s: (s.pop("0.weight"), s.update({"x": np.zeros(1),
                                                          "5.weight": np.zeros((27, 3))})),
                  ["Missing key(s)", "Unexpected key(s)", "size mismatch for 5.weight"]),
}


@pytest.mark.parametrize("case", BAD_STATES)
def test_load_state_dict_errors_change_nothing(case):
    m, t = makemore_twins()
    edit, phrases = BAD_STATES[case]
    bad = {k: v + 1 if v.dtype.kind == "f" else v for k, v in m.state_dict().items()}
    edit(bad)  # the other entries differ from the model: a partial load would show
    before = m.state_dict()
    with pytest.raises(RuntimeError) as m_err:
        m.load_state_dict(bad)
    with pytest.raises(RuntimeError) as t_err:
        t.load_state_dict({k: torch.from_numpy(v) for k, v in bad.items()})
    for phrase in ["Error(s) in loading state_dict for Sequential"] + phrases:
        assert phrase in str(t_err.value), phrase  # the phrase is torch's
        assert phrase in str(m_err.value), phrase
    after = m.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_load_state_dict_not_strict_matches_torch():
    m, t = makemore_twins()
    state = {k: v + 1 if v.dtype.kind == "f" else v for k, v in m.state_dict().items()}
    state.pop("5.bias")
    state["extra"] = np.zeros(1)
    m_res = m.load_state_dict(state, strict=False)
    t_res = t.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    assert m_res.missing_keys == t_res.missing_keys == ["5.bias"]
    assert m_res.unexpected_keys == t_res.unexpected_keys == ["extra"]
    assert_state_match(m, t)
    state["2.bias"] = np.zeros(3)  # a size mismatch raises even when not strict, as torch
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict(state, strict=False)


# ---- scopes ----------------------------------------------------------------------------

def op_scopes(root):
    return {n.scope for n in autograd.toposort(root) if n._op is not None}


def test_sequential_children_run_in_named_scopes():
    m, _ = makemore_twins()
    logits = m(minigrad.tensor(np.zeros((4, 3), np.int64)))
    assert op_scopes(logits) == {"embedding0", "flatten1", "linear2", "batchnorm1d3", "tanh4",
                                 "linear5"}
    nodes = labelled(logits)
    assert nodes["bnraw"].scope == "batchnorm1d3" and nodes["bnvar_inv"].scope == "batchnorm1d3"
    assert logits._op.name == "add" and logits.scope == "linear5"
    assert m.scope_name is None and m[3].scope_name == "batchnorm1d3"


def test_module_attributes_name_the_scopes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.head = nn.Sequential(nn.Tanh(), nn.Linear(3, 2))

        def forward(self, x):
            return self.head(self.bn(self.fc(x))) * 2  # the * 2 is Net's own node

    net = Net()
    out = net(minigrad.randn(5, 4, requires_grad=True))
    assert out.scope is None  # a module called on its own opens no scope
    assert op_scopes(out) == {None, "fc", "bn", "head/tanh0", "head/linear1"}
    with minigrad.scope("model"):
        out = net(minigrad.randn(5, 4))
    assert out.scope == "model"
    assert labelled(out)["bnraw"].scope == "model/bn"


# ---- cross-entropy ---------------------------------------------------------------------

def cross_entropy(fused, reduction="mean"):
    def fn(lib, logits, target):
        if lib is torch:
            return TF.cross_entropy(logits, target, reduction=reduction)
        return nn.functional.cross_entropy(logits, target, reduction=reduction, fused=fused)
    return fn


def logits_and_targets(dtype, n=32, c=27, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c)) * scale).astype(dtype), rng.integers(0, c, n)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(dtype, fused, reduction):
    compare(cross_entropy(fused, reduction), *logits_and_targets(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fused", [True])  # the step-by-step one takes log(probs), as the seed
def test_cross_entropy_is_stable_at_1000(dtype, fused):
    rng = np.random.default_rng(1)
    logits = rng.choice([-1000.0, 1000.0], size=(8, 5)) + rng.uniform(-1, 1, (8, 5))
    logits[0] = [1000, -1000, -1000, 1000, 0]  # a near tie at the top
    logits[1] = 1000.0  # an exact five-way tie
    logits[2] = [-1000, -1000, -1000, -1000, -999]
    targets = np.array([1, 0, 4, 2, 3, 0, 1, 2])  # row 0 picks a -1000: loss about 2000
    m_out, _ = compare(cross_entropy(fused, "none"), logits.astype(dtype), targets)
    assert np.isfinite(m_out.data.numpy()).all() and m_out.data.max() > 1990
    compare(cross_entropy(fused), logits.astype(dtype), targets)


@pytest.mark.parametrize("fused", [True, False])
def test_cross_entropy_single_example_and_target_forms(fused):
    logits, targets = logits_and_targets(np.float64, n=6, c=4)
    compare(cross_entropy(fused, "none"), logits[0], targets[0])  # (C,) and a 0-d target
    compare(cross_entropy(fused), logits[0], targets[0])
    x = minigrad.tensor(logits)
    expected = TF.cross_entropy(as_torch(logits), as_torch(targets)).item()
    for form in (targets, minigrad.tensor(targets), targets.tolist(), targets.astype(np.uint8)):
        assert nn.cross_entropy(x, form, fused=fused).item() == pytest.approx(expected, 1e-12)


def test_fused_cross_entropy_is_one_node_with_torchs_gradient():
    logits, targets = logits_and_targets(np.float64, n=5, c=4)
    x = minigrad.tensor(logits, requires_grad=True)
    t = minigrad.tensor(targets.copy())
    loss = nn.functional.cross_entropy(x, t)
    assert loss._op.name == "cross_entropy" and loss._parents[0] is x
    target_node = loss._parents[1]  # a copy of the targets, as int64
    assert target_node.dtype == np.int64 and np.array_equal(target_node.data, targets)
    assert ops.PRIMITIVES["cross_entropy"] is nn.functional.CrossEntropy
    t.data[...] = 0  # the caller's targets may change after the forward
    loss.backward()
    tx = as_torch(logits, True)
    TF.cross_entropy(tx, as_torch(targets)).backward()
    assert_match(x.grad, tx.grad, "grad of logits")


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_fused_cross_entropy_finite_differences(reduction):
    """d sum(u * ce(x)) / dx by central differences, float64, no torch involved."""
    logits, targets = logits_and_targets(np.float64, n=4, c=5, scale=2.0, seed=3)
    x = minigrad.tensor(logits, requires_grad=True)
    loss = nn.cross_entropy(x, targets, reduction=reduction)
    u = np.random.default_rng(4).standard_normal(loss.shape)
    loss.backward(u)

    def scalar(a):
        return float((u * nn.cross_entropy(minigrad.tensor(a), targets,
                                           reduction=reduction).data).sum())

    eps, numeric = 1e-6, np.zeros_like(logits)
    for i in np.ndindex(logits.shape):
        step = np.zeros_like(logits)
        step[i] = eps
        numeric[i] = (scalar(logits + step) - scalar(logits - step)) / (2 * eps)
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-6, atol=1e-9)


def test_stepwise_cross_entropy_steps_match_the_seed_cell():
    """The step-by-step version's nodes vs the seed's steps in torch, values and gradients.

    It is the seed's formula (models.lecture uses it), so torch runs the very same function.
    """
    logits_np, Yb = logits_and_targets(np.float64, n=32, c=27, seed=8)
    x = minigrad.tensor(logits_np, requires_grad=True)
    loss = nn.cross_entropy(x, Yb, fused=False)
    loss.backward()

    logits = as_torch(logits_np, True)
    steps = {}
    t_loss = nn.functional.stepwise_cross_entropy(logits, as_torch(Yb), steps=steps)
    assert len(steps) == 8  # logit_maxes ... logprobs and the loss
    for s in steps.values():
        s.retain_grad()
    t_loss.backward()

    assert_match(loss.data, t_loss, "loss")
    nodes = labelled(loss)
    for name, s in steps.items():
        assert_match(nodes[name].data, s, name)
        assert_match(nodes[name].grad, s.grad, f"grad of {name}")
    assert_match(x.grad, logits.grad, "grad of logits")


ERRORS = [  # logits shape, target, the class torch raises, its phrase
    ((3, 4), np.array([0, 1, 4]), IndexError, "out of bounds"),
    ((3, 4), np.array([0, -1, 2]), IndexError, "out of bounds"),
    ((3, 4), np.array([0.0, 1.0, 2.0]), RuntimeError, "Long"),
    ((3, 4), np.array([0, 1]), ValueError, "batch_size"),
    ((3, 4), np.array([[0, 1, 2]]), ValueError, "batch_size"),
]


@pytest.mark.parametrize("shape,target,error,phrase", ERRORS)
def test_cross_entropy_errors_match_torch(shape, target, error, phrase):
    logits = np.zeros(shape, np.float32)
    with pytest.raises(error, match=phrase):
        TF.cross_entropy(as_torch(logits), as_torch(target))
    with pytest.raises(error, match=phrase):
        nn.cross_entropy(minigrad.tensor(logits), target)


def test_cross_entropy_rejects_bad_reduction_like_torch():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        TF.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.cross_entropy(minigrad.zeros(2, 3), np.array([0, 1]), reduction="avg")


def test_functional_imports_like_torch():
    import minigrad.nn.functional as F

    from minigrad.nn import functional

    assert F is functional is nn.functional
    assert F.cross_entropy is nn.cross_entropy
