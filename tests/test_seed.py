"""The seed's forward cell runs unchanged but for `torch` -> `minigrad`, and matches torch.

SEED_CELL is cell 156 of the backprop-ninja lecture notebook the project grew from, verbatim
(its comments included). It is executed twice on bit-identical parameters and batch: once
with `torch` bound to torch, once with the text's `torch` replaced by `minigrad`. Then all 25
intermediates the lecture compares with `cmp` (the 19 it retains plus the loss and the
forward values) and the 7 parameters must agree in value and gradient: float64 within
assert_close defaults, float32 as accurate as torch against the same cell run in float64
(check.verdict).
"""

import numpy as np
import pytest
import torch
from helpers import as_double, assert_match

import minigrad
from minigrad import check

SEED_CELL = """
# FORWARD PASS: CHUNKED INTO SIMPLE, MANAGEABLE STEPS THAT CAN BE BACKPROP'ED ONE AT A TIME

emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
# -----------Linear layer 1---------------
hprebn = embcat @ W1 + b1  # hidden layer pre-activation
# ----------BatchNorm layer---------------
bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = (
    1 / (n - 1) * (bndiff2).sum(0, keepdim=True)
)  # Bessel's correction, dividing by (n-1) not n, for mean calc
with torch.no_grad():
    epsilon = 1e-5
bnvar_inv = (bnvar + epsilon) ** -0.5  # inverse of "bnstd"
bnraw = bndiff * bnvar_inv
hpreact = batch_norm_gain * bnraw + batch_norm_bias
# ----------Non-linearity---------------
h = torch.tanh(hpreact)
# Linear layer 2
logits = h @ W2 + b2
# cross-entropy loss (same as F.cross_entropy(logits, Yb))
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes  # subtract max for numerical stability ??
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdim=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()

# Pytorch backward pass
for p in params:
    p.grad = None


gradvars = [
    logprobs,
    probs,
    counts,
    counts_sum,
    counts_sum_inv,
    norm_logits,
    logit_maxes,
    logits,
    h,
    hpreact,
    bnraw,
    bnvar_inv,
    bnvar,
    bndiff2,
    bndiff,
    hprebn,
    bnmeani,
    embcat,
    emb
]

for t in gradvars:
    t.retain_grad()

loss.backward()
"""

INTERMEDIATES = ["emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar",
                 "bnvar_inv", "bnraw", "hpreact", "h", "logits", "logit_maxes", "norm_logits",
                 "counts", "counts_sum", "counts_sum_inv", "probs", "logprobs", "loss"]
PARAMS = ["C", "W1", "b1", "W2", "b2", "batch_norm_gain", "batch_norm_bias"]


def seed_inputs(dtype, n=32, vocab=27, emb=10, block=3, hidden=64, seed=2147483647):
    """Parameters initialised as the seed's cell 154 does, from a numpy generator."""
    rng = np.random.default_rng(seed)
    arrays = {
        "C": rng.standard_normal((vocab, emb)),
        "W1": rng.standard_normal((block * emb, hidden)) * (5 / 3) / (block * emb) ** 0.5,
        "b1": rng.standard_normal(hidden) * 0.1,
        "W2": rng.standard_normal((hidden, vocab)) * 0.1,
        "b2": rng.standard_normal(vocab) * 0.1,
        "batch_norm_gain": rng.standard_normal((1, hidden)) * 0.1 + 1.0,
        "batch_norm_bias": rng.standard_normal((1, hidden)) * 0.1,
    }
    arrays = {k: v.astype(dtype) for k, v in arrays.items()}
    Xb = rng.integers(0, vocab, (n, block))
    Yb = rng.integers(0, vocab, n)
    return arrays, Xb, Yb


def run_cell(lib, arrays, Xb, Yb):
    """Execute the seed cell with `lib` standing for torch; returns the cell's namespace."""
    source = SEED_CELL if lib is torch else SEED_CELL.replace("torch", "minigrad")
    params = {k: lib.tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}
    namespace = {lib.__name__: lib, "n": len(Yb), "Xb": lib.tensor(Xb), "Yb": lib.tensor(Yb),
                 "params": list(params.values()), **params}
    exec(compile(source, f"<seed cell 156, {lib.__name__}>", "exec"), namespace)
    return namespace


def test_the_cell_text_names_torch_and_nothing_else_changes():
    replaced = SEED_CELL.replace("torch", "minigrad")
    assert SEED_CELL.count("torch") == replaced.count("minigrad") > 0
    assert replaced.replace("minigrad", "torch") == SEED_CELL


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
