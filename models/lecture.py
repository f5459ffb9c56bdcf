"""The lecture's forward pass (backprop ninja, notebook cell 156), written once.

minigrad's API is torch's, so the very same lines build the graph in either library: `lib`
is the module (`torch` or `minigrad`). The viz examples, the benchmark, the tests and
makemore all run this function (makemore its cross-entropy, the one formula in
minigrad.nn.functional.stepwise_cross_entropy). Nothing is fused or reordered: it is the
graph the lecture builds, node for node. Every step is labelled with the lecture's name, and
with minigrad each layer runs in its own scope (torch has no scopes).
"""

import contextlib

from minigrad.functional import stepwise_cross_entropy

VOCAB, BLOCK, N_EMBD, EPS = 27, 3, 10, 1e-5  # '.' and 26 letters, context 3, embedding 10
PARAM_NAMES = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")


def forward(lib, params, Xb, Yb):
    """Every step of the forward pass by its lecture name, the loss last ({..., 'loss': t}).

    `params` maps PARAM_NAMES to leaf tensors; Xb (n, 3) and Yb (n,) are integer tensors.
    """
    C, W1, b1, W2, b2, bngain, bnbias = (params[k] for k in PARAM_NAMES)
    scope = getattr(lib, "scope", lambda name: contextlib.nullcontext())
    steps = {}
    with scope("embedding"):
        emb = C[Xb]                                    # (n, 3, 10)
        embcat = emb.view(emb.shape[0], -1)            # (n, 30)
    with scope("linear1"):
        hprebn = embcat @ W1 + b1                      # (n, hidden)
    named(steps, emb=emb, embcat=embcat, hprebn=hprebn)
    with scope("batchnorm"):
        hpreact = batchnorm(hprebn, bngain, bnbias, steps=steps)
    with scope("tanh"):
        h = lib.tanh(hpreact)
    with scope("linear2"):
        logits = h @ W2 + b2                           # (n, 27)
    named(steps, h=h, logits=logits)
    with scope("cross_entropy"):  # logit_maxes, ..., probs, logprobs, loss
        stepwise_cross_entropy(logits, Yb, steps=steps)
    return steps


def batchnorm(hprebn, bngain, bnbias, bessel=True, steps=None):
    """The lecture's batchnorm layer, step by step, with the n - 1 (Bessel) variance
    (bessel=False: n, the biased variance torch normalises with). Returns hpreact; `steps`,
    a dict, receives every step by its name."""
    n = hprebn.shape[0]
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)    # (1, hidden)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1 if bessel else n) * (bndiff2).sum(0, keepdim=True)
    bnvar_inv = (bnvar + EPS) ** -0.5                # 1 / sqrt(var + eps)
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    named(steps, bnmeani=bnmeani, bndiff=bndiff, bndiff2=bndiff2, bnvar=bnvar,
          bnvar_inv=bnvar_inv, bnraw=bnraw, hpreact=hpreact)
    return hpreact


def named(steps, **tensors):
    """Label each tensor with its name, and add them to `steps` (if a dict)."""
    for name, t in tensors.items():
        t.label = name
    if steps is not None:
        steps.update(tensors)


def random_inputs(lib, seed=42, batch=32, hidden=64, dtype=None):
    """Parameters with the seed's scales (cell 154) and a batch, drawn by `lib`'s generator
    (minigrad draws torch's numbers): (params, Xb, Yb), parameters labelled, requiring grad.

    Parameters are made outside any scope, as a Module makes them in __init__.
    """
    g = lib.Generator().manual_seed(seed)
    fan_in = N_EMBD * BLOCK
    scales = {"C": 1.0, "W1": (5 / 3) / fan_in ** 0.5, "b1": 0.1, "W2": 0.1, "b2": 0.1,
              "bngain": 0.1, "bnbias": 0.1}
    shapes = {"C": (VOCAB, N_EMBD), "W1": (fan_in, hidden), "b1": (hidden,),
              "W2": (hidden, VOCAB), "b2": (VOCAB,), "bngain": (1, hidden),
              "bnbias": (1, hidden)}
    params = {}
    for name in ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias"):  # the seed's draw order
        t = lib.randn(*shapes[name], generator=g) * scales[name]
        if name == "bngain":
            t = t + 1.0
        t = t.to(dtype) if dtype is not None else t
        t.requires_grad_(True)
        t.label = name
        params[name] = t
    Xb = lib.randint(0, VOCAB, (batch, BLOCK), generator=g)
    Yb = lib.randint(0, VOCAB, (batch,), generator=g)
    return params, Xb, Yb
