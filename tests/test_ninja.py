"""minigrad.check.ninja: one wrong line in the solutions, and the report names its node first.

The solutions are the real ones: the set-up cells and exercise 1's cells of
notebooks/2_backprop_ninja_solutions.ipynb (cells tagged "setup" and "exercise-1"), run here
in-process. Each case changes one line of the derivation; the report must put that line's
gradient first (its root causes: wrong, while everything it was computed from is right),
and a shape mistake must come with advice on the sum.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad.check import compare_grads, ninja, shape_advice

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / \
    "2_backprop_ninja_solutions.ipynb"
CELLS = json.loads(NOTEBOOK.read_text())["cells"]


def cells(tag):
    return "\n".join("".join(c["source"]) for c in CELLS
                     if tag in c.get("metadata", {}).get("tags", []))


SOLUTION = cells("exercise-1")
NAMES = ["dlogprobs", "dprobs", "dcounts_sum_inv", "dcounts_sum", "dcounts", "dnorm_logits",
         "dlogit_maxes", "dlogits", "dh", "dW2", "db2", "dhpreact", "dbngain", "dbnbias",
         "dbnraw", "dbnvar_inv", "dbnvar", "dbndiff2", "dbndiff", "dbnmeani", "dhprebn",
         "dembcat", "dW1", "db1", "demb", "dC"]


@pytest.fixture(scope="module")
def forward():
    """The solutions notebook's set-up: data, parameters, one forward pass, the engine's
    backward (run from notebooks/, where ../data/names.txt is)."""
    import os
    here = os.getcwd()
    os.chdir(NOTEBOOK.parent)
    try:
        namespace = {}
        exec(compile(cells("setup"), "setup cells", "exec"), namespace)
    finally:
        os.chdir(here)
    return namespace


def derive(forward, old=None, new=None):
    """Run exercise 1's solution, with the line `old` replaced by `new`, and check it."""
    source = SOLUTION
    if old is not None:
        assert source.count(old) == 1, f"{old!r} is not one line of the solutions"
        source = source.replace(old, new)
    namespace = dict(forward)
    exec(compile(source, "exercise 1", "exec"), namespace)
    return ninja(namespace, namespace["loss"], names=NAMES)


def test_the_solutions_pass(forward):
    report = derive(forward)
    assert report.ok and report.first is None and len(report.rows) == len(NAMES)
    assert str(report).startswith(f"ninja: all {len(NAMES)} gradients match")


# (what the lesson is about, the line as solved, the line made wrong, the node it must name)
# Not here, because no check can see them: where the max's one-hot puts dlogit_maxes, and
# dlogit_maxes' sign. The loss does not depend on the max (softmax ignores a shift of its
# row), so dlogit_maxes is float32 rounding of the 27 terms summed into it, about 1e-9
# against terms of 1e-2: a few ulps of what entered, within the verdict's floor.
WRONG_LINES = [
    ("tanh derivative without the square", "dhpreact = (1.0 - h**2) * dh",
     "dhpreact = (1.0 - h) * dh", "hpreact"),
    ("bias broadcast: summed with keepdim", "db1 = dhprebn.sum(0)",
     "db1 = dhprebn.sum(0, keepdim=True)", "b1"),
    ("bias broadcast: summed over the wrong axis", "db2 = dlogits.sum(0)",
     "db2 = dlogits.sum(1)", "b2"),
    ("bias broadcast: not summed at all", "dbnbias = dhpreact.sum(0, keepdim=True)",
     "dbnbias = dhpreact", "bnbias"),
    ("max's one-hot without the upstream gradient",
     "* dlogit_maxes\n", "\n", "logits"),
    ("batchnorm variance: n instead of n - 1", "dbndiff2 = (1.0 / (n - 1))",
     "dbndiff2 = (1.0 / n)", "bndiff2"),
    ("batchnorm variance: the power rule's exponent", "(bnvar + 1e-5) ** -1.5",
     "(bnvar + 1e-5) ** -0.5", "bnvar"),
    ("batchnorm: bndiff's second use forgotten", "dbndiff += (2 * bndiff) * dbndiff2",
     "dbndiff = dbndiff + 0 * dbndiff2", "bndiff"),
    ("counts' second use forgotten", "dcounts += minigrad.ones_like(counts) * dcounts_sum",
     "dcounts = dcounts", "counts"),
    ("log's derivative upside down", "dprobs = (1.0 / probs) * dlogprobs",
     "dprobs = probs * dlogprobs", "probs"),
    ("matmul's weight gradient transposed", "dW2 = h.T @ dlogits",
     "dW2 = dlogits.T @ h", "W2"),
]


@pytest.mark.wrong_on_purpose
@pytest.mark.parametrize("lesson, old, new, node", WRONG_LINES, ids=[w[0] for w in WRONG_LINES])
def test_one_wrong_line_is_named_first(forward, lesson, old, new, node):
    report = derive(forward, old, new)
    assert not report.ok
    assert report.first == node, f"{lesson}: named {report.first} first\n{report}"
    lines = str(report).splitlines()
    assert lines[0].startswith(f"ninja: wrong: d{node} first")
    assert lines[2].startswith(f"1. d{node} is the first wrong step")
    # every other failure comes after it in the derivation: the cascade, not another cause
    assert len(report.roots) == 1, [r.name for r in report.roots]


@pytest.mark.wrong_on_purpose
def test_the_report_quotes_the_rule_from_ops(forward):
    report = derive(forward, "dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - h) * dh")
    text = report.advice["hpreact"]
    assert "hpreact feeds tanh -> h" in text
    assert "y = tanh(x)  ->  dx = dy * (1 - y**2)" in text  # the derivation (docstring)
    assert "def backward(self, grad, out, x):" in text        # and the rule itself


def test_shape_mistakes_become_advice(forward):
    report = derive(forward, "db1 = dhprebn.sum(0)", "db1 = dhprebn.sum(0, keepdim=True)")
    assert "your db1 is (1, 64); b1 is (64,): sum over axis 0 without keepdim" in str(report)
    report = derive(forward, "dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = dhpreact")
    assert "sum over axis 0 with keepdim=True" in report.advice["bnbias"]
    report = derive(forward, "db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)")
    assert ("your db2 is (32,); b2 is (27,): you summed over axis 1, but b2 was broadcast "
            "along axis 0 of (32, 27): sum over axis 0") in report.advice["b2"]
    report = derive(forward, "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h")
    assert "transpose" in report.advice["W2"]


def test_shape_advice_cases():
    assert shape_advice("b", (32, 27), (27,)).endswith("sum over axis 0 without keepdim")
    assert shape_advice("g", (32, 64), (1, 64)).endswith("sum over axis 0 with keepdim=True")
    assert "keepdim=True" in shape_advice("m", (64,), (1, 64))
    assert "check the axis" in shape_advice("b", (32,), (27,))


def test_not_yet_without_raising():
    x = minigrad.randn(3, 4, requires_grad=True)
    y = (x * 2).tanh()
    loss = y.sum()
    dy, dx = None, None
    report = ninja(locals(), loss)
    assert not report.ok and report.todo == ["dy", "dx"]
    assert str(report).startswith("ninja: not yet: 2 of 2 gradients to derive")
    dy = minigrad.ones_like(y)  # one done, right; the other still to do
    report = ninja(locals(), loss)
    assert report.todo == ["dx"] and "the 1 done so far match" in report.summary()
    report = ninja(locals(), loss, names=["dy"])
    assert report.ok


def test_pairs_by_identity_not_by_label():
    a = minigrad.randn(2, 3, requires_grad=True)
    b = a * 3
    loss = b.sum()
    b.label = "something else"  # labels do not matter
    other = minigrad.randn(2, 3)  # a tensor not under the loss is not paired
    da, db, dother = np.full((2, 3), 3.0, np.float32), np.ones((2, 3), np.float32), 1
    report = ninja(locals(), loss)
    assert report.ok and [r.name for r in report.rows] == ["a", "b"]
    assert report.reference == "engine"
    with pytest.raises(KeyError, match="no tensor named 'c'.*the tensors with a dX are: a, b"):
        ninja(locals(), loss, names=["dc"])


def test_compare_grads_takes_tensors_and_explains_labels():
    a = minigrad.randn(2, 3, requires_grad=True)
    loss = (a * 3).sum()
    report = compare_grads({a: np.full((2, 3), 3.0, np.float32)}, loss)
    assert report.ok
    with pytest.raises(KeyError, match=r't\.label = "name"'):
        compare_grads({"da": np.zeros((2, 3))}, loss)
    with pytest.raises(KeyError, match="not a node under the root"):
        compare_grads({minigrad.randn(2, 3, requires_grad=True): np.zeros((2, 3))}, loss)
