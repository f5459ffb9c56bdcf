"""The lecture's forward pass (models.lecture, cell 156) runs on torch and on minigrad from
one source, and every node matches torch.

models.lecture.forward takes the library as an argument and names no library itself. It runs
twice on bit-identical parameters and batch, once with torch and once with minigrad. Then all
20 intermediates the lecture compares with `cmp` (the 19 it retains and the loss) and the 7
parameters must agree in value and gradient: float64 within assert_close defaults, float32
as accurate as torch against the same forward run by torch in float64 (check.verdict).
"""

import inspect

import numpy as np
import pytest
import torch
from helpers import as_double, assert_match

import minigrad
from minigrad import check
from models import lecture

INTERMEDIATES = ["emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar",
                 "bnvar_inv", "bnraw", "hpreact", "h", "logits", "logit_maxes", "norm_logits",
                 "counts", "counts_sum", "counts_sum_inv", "probs", "logprobs", "loss"]
PARAMS = list(lecture.PARAM_NAMES)


def seed_inputs(dtype, n=32, vocab=27, emb=10, block=3, hidden=64, seed=2147483647):
    """Parameters initialised as the seed's cell 154 does, from a numpy generator."""
    rng = np.random.default_rng(seed)
    arrays = {
        "C": rng.standard_normal((vocab, emb)),
        "W1": rng.standard_normal((block * emb, hidden)) * (5 / 3) / (block * emb) ** 0.5,
        "b1": rng.standard_normal(hidden) * 0.1,
        "W2": rng.standard_normal((hidden, vocab)) * 0.1,
        "b2": rng.standard_normal(vocab) * 0.1,
        "bngain": rng.standard_normal((1, hidden)) * 0.1 + 1.0,
        "bnbias": rng.standard_normal((1, hidden)) * 0.1,
    }
    arrays = {k: v.astype(dtype) for k, v in arrays.items()}
    Xb = rng.integers(0, vocab, (n, block))
    Yb = rng.integers(0, vocab, n)
    return arrays, Xb, Yb


def run_cell(lib, arrays, Xb, Yb):
    """The lecture's forward (models.lecture) on `lib`, every step retaining its grad, then
    backward; returns the parameters and every step by name."""
    params = {k: lib.tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}
    steps = lecture.forward(lib, params, lib.tensor(Xb), lib.tensor(Yb))
    for t in steps.values():
        t.retain_grad()
    steps["loss"].backward()
    return {**params, **steps}


def test_the_forward_names_no_library():
    """One source for both: the library is only ever the argument `lib`."""
    source = inspect.getsource(lecture.forward)
    assert "torch" not in source.replace("(torch has no scopes)", "")
    assert "minigrad" not in source and "lib.tanh" in source


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", [64, 200])
def test_seed_cell_every_node_matches_torch(dtype, hidden):
    arrays, Xb, Yb = seed_inputs(dtype, hidden=hidden)
    ours = run_cell(minigrad, arrays, Xb, Yb)
    theirs = run_cell(torch, arrays, Xb, Yb)
    # float32's truth: the cell run by torch in float64 from the same float32 parameters
    truth = run_cell(torch, {k: as_double(v) for k, v in arrays.items()}, Xb, Yb) \
        if dtype == np.float32 else {}
    scale = check.scales(ours["loss"]) if truth else {}
    for name in INTERMEDIATES + PARAMS:
        mine, ref, exact = ours[name], theirs[name], truth.get(name)
        value_scale, grad_scale = scale.get(id(mine), (None, None))
        assert_match(mine.data, ref, f"{name} value", exact, value_scale)
        assert mine.grad is not None, f"{name} has no grad"
        # the cell does not retain the loss's grad in torch; d loss / d loss = 1
        expected = torch.ones_like(ref) if name == "loss" else ref.grad
        exact_grad = None if exact is None else \
            torch.ones_like(exact) if name == "loss" else exact.grad
        assert_match(mine.grad, expected, f"{name} grad", exact_grad, grad_scale)
    assert len(INTERMEDIATES) + len(PARAMS) == 27  # 20 forward nodes + 7 parameters
