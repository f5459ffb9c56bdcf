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
from models import lecture

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
    """The lecture's forward cell (models.lecture) on random data and parameters; returns
    the loss, every intermediate labelled and each layer in its own scope."""
    params, Xb, Yb = lecture.random_inputs(minigrad, seed=seed, batch=batch, hidden=hidden)
    loss = lecture.forward(minigrad, params, Xb, Yb)["loss"]
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
