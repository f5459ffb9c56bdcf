"""The README's pictures, regenerated: `python -m viz.examples --out docs/img`.

- neuron:  micrograd's neuron example (o = tanh(x1*w1 + x2*w2 + b)) after backward,
           drawn left to right with data and grad on every node, as micrograd draws it.
- seed_graph, seed_graph_collapsed: the backprop-ninja forward cell (notebook cell 156)
           with random parameters, every intermediate labelled and one scope per layer,
           drawn expanded (layers as clusters) and with every layer collapsed to one box.
- steps_neuron/: backward step by step on the neuron (viz.steps): one SVG per frame and
           steps.html, the page with a slider; steps_lecture_*.png: frames of the lecture's
           step, when the gradient of `logits`, of `h` and of `W1` became final.

Each picture is written as .svg and .png. The functions that build the graphs are importable
(`neuron()`, `seed_graph()`), so tests and notebooks can draw the same graphs.
"""

import argparse
import os

import minigrad

from .render import render
from .steps import backward_steps, run_dot, write_steps

LECTURE_FRAMES = ("logits", "h", "W1")  # pictures of the lecture's step-through
SEED_SCOPES = ("embedding", "linear1", "batchnorm", "tanh", "linear2", "cross_entropy")


def neuron():
    """micrograd's neuron, in float64 as micrograd's Python floats; returns o after backward."""
    def value(x, label):
        t = minigrad.tensor(x, dtype=minigrad.float64, requires_grad=True)
        t.label = label
        return t

    x1, x2 = value(2.0, "x1"), value(0.0, "x2")
    w1, w2 = value(-3.0, "w1"), value(1.0, "w2")
    b = value(6.8813735870195432, "b")  # makes n = 0.8814 and o = tanh(n) = 0.7071
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def seed_graph(seed=42, batch=32, hidden=64, backward=True):
    """The lecture's forward cell on random data and parameters; returns the loss.

    Shapes are the lecture's (vocabulary 27, context 3, embedding 10). Parameters are made
    outside any scope, as a Module makes them in __init__; each layer's computation runs in
    its own scope, as a Module's __call__ does.
    """
    g = minigrad.Generator().manual_seed(seed)
    vocab, block, n_embd, n = 27, 3, 10, batch

    def param(label, *shape, scale=1.0):
        t = minigrad.randn(*shape, generator=g) * scale  # scaled before it becomes a leaf
        t = minigrad.tensor(t.detach().numpy(), requires_grad=True)
        t.label = label
        return t

    C = param("C", vocab, n_embd)
    W1 = param("W1", n_embd * block, hidden, scale=(5 / 3) / (n_embd * block) ** 0.5)
    b1 = param("b1", hidden, scale=0.1)
    W2 = param("W2", hidden, vocab, scale=0.1)
    b2 = param("b2", vocab, scale=0.1)
    bngain = param("bngain", 1, hidden, scale=0.1)
    bngain.data += 1.0
    bnbias = param("bnbias", 1, hidden, scale=0.1)
    Xb = minigrad.randint(0, vocab, (n, block), generator=g)
    Yb = minigrad.randint(0, vocab, (n,), generator=g)

    def named(**tensors):
        for label, t in tensors.items():
            t.label = label

    with minigrad.scope("embedding"):
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        named(emb=emb, embcat=embcat)
    with minigrad.scope("linear1"):
        hprebn = embcat @ W1 + b1
        named(hprebn=hprebn)
    with minigrad.scope("batchnorm"):
        bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
        bndiff = hprebn - bnmeani
        bndiff2 = bndiff**2
        bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)
        bnvar_inv = (bnvar + 1e-5) ** -0.5
        bnraw = bndiff * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        named(bnmeani=bnmeani, bndiff=bndiff, bndiff2=bndiff2, bnvar=bnvar,
              bnvar_inv=bnvar_inv, bnraw=bnraw, hpreact=hpreact)
    with minigrad.scope("tanh"):
        h = minigrad.tanh(hpreact)
        named(h=h)
    with minigrad.scope("linear2"):
        logits = h @ W2 + b2
        named(logits=logits)
    with minigrad.scope("cross_entropy"):
        logit_maxes = logits.max(1, keepdim=True).values
        norm_logits = logits - logit_maxes
        counts = norm_logits.exp()
        counts_sum = counts.sum(1, keepdim=True)
        counts_sum_inv = counts_sum**-1
        probs = counts * counts_sum_inv
        logprobs = probs.log()
        loss = -logprobs[range(n), Yb].mean()
        named(logit_maxes=logit_maxes, norm_logits=norm_logits, counts=counts,
              counts_sum=counts_sum, counts_sum_inv=counts_sum_inv, probs=probs,
              logprobs=logprobs, loss=loss)
    if backward:
        loss.backward()
    return loss


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m viz.examples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join("docs", "img"),
                        help="directory for the pictures (default: docs/img)")
    parser.add_argument("--keep-gv", action="store_true",
                        help="keep the .gv DOT sources next to the pictures")
    parser.add_argument("--steps", choices=["neuron", "lecture"],
                        help="only the backward step-through of one example: its frames and "
                             "steps.html in --out (the lecture's step has 38 frames)")
    args = parser.parse_args(argv)
    if args.steps:
        root = neuron() if args.steps == "neuron" else seed_graph()
        paths = write_steps(backward_steps(root), args.out)
        print(f"{len(paths) - 1} frames in {args.out}; open {paths[-1]} in a browser")
        return

    loss = seed_graph()
    jobs = [
        ("neuron", neuron(), {}),
        ("seed_graph", loss, {}),  # deep: rankdir "auto" draws it top to bottom
        ("seed_graph_collapsed", loss, {"collapse": SEED_SCOPES}),
    ]
    for name, root, options in jobs:
        stem = os.path.join(args.out, name)
        for format in ("svg", "png"):
            print(render(root, stem, format=format, **options))
        if not args.keep_gv:
            os.remove(stem + ".gv")

    paths = write_steps(backward_steps(neuron()), os.path.join(args.out, "steps_neuron"))
    print(f"{os.path.dirname(paths[0])}: {len(paths) - 1} frames and {paths[-1]}")
    steps = backward_steps(seed_graph())
    for step in steps:
        if step.name in LECTURE_FRAMES:
            path = os.path.join(args.out, f"steps_lecture_{step.index:02d}_{step.name}.png")
            with open(path, "wb") as f:
                f.write(run_dot(step.dot, "png:cairo:gd", dpi=72))  # a palette PNG: small
            print(path)


if __name__ == "__main__":
    main()
