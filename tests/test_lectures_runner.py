"""tools.lectures, the side-by-side lecture runner, on a tiny notebook built here.

The notebook is written by the test (the lecture notebooks stay outside the repo): a cell
that prints numbers equal on both libraries, one whose numbers differ in the 4th significant
digit and one within it, a cell that fails on minigrad only, one that fails on both, an
IPython magic, a 200,000-step loop and `max_steps`, a matplotlib plot, a cell that reads a
file from the working directory, a Jupyter-style displayed last expression, and a draw from
the default generator (the runner seeds it, and minigrad's draws torch's numbers).
"""

import json

import pytest

from tools import lectures

pytest.importorskip("matplotlib")

CELLS = [
    "import torch\n%matplotlib inline\nimport matplotlib.pyplot as plt",  # 0
    "x = torch.tensor([1.0, 2.0, 4.0])\nprint(x.sum().item(), x.shape)",  # 1
    "max_steps = 200000\nn = 0\nfor i in range(200000):\n  n += 1\nprint(max_steps, n)",  # 2
    "torch.cuda.is_available()",  # 3: minigrad has no cuda
    "1 / 0",  # 4: fails on both
    "plt.plot([1, 2]);\nplt.title('t')\nprint('plotted')",  # 5
    "print(torch.__name__)",  # 6: a text line that differs
    "print(1.2345 if torch.__name__ == 'torch' else 1.2351)",  # 7: differs in the 4th digit
    "print(2.00004 if torch.__name__ == 'torch' else 2.00001)",  # 8: equal to 4 digits
    "x.mean()",  # 9: displayed, as Jupyter shows a last expression
    "x.mean();",  # 10: a trailing ; hides it
    "print(open('data.txt').read().split())",  # 11: read from the working directory
    "print(torch.randn(3).tolist())",  # 12: the default generator, seeded by the runner
]


def notebook(cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# a title"]}] + [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": source.splitlines(keepends=True)} for source in cells]}


def test_prepare_rewrites_imports_drops_magics_caps_loops():
    source = ("import torch\nimport torch.nn.functional as F\n%matplotlib inline\n"
              "max_steps = 200000\nfor i in range(200000):\n  pass\nfor j in range(10):\n"
              "  pass\nlr = 0.1 if i < 100000 else 0.01")
    ours = lectures.prepare(source, "minigrad", 2000)
    assert ours.split("\n") == [
        "import minigrad as torch", "import minigrad.nn.functional as F", "max_steps = 2000",
        "for i in range(2000):", "  pass", "for j in range(10):", "  pass",
        "lr = 0.1 if i < 100000 else 0.01"]
    theirs = lectures.prepare(source, "torch", 2000)
    assert theirs.split("\n")[:3] == ["import torch", "import torch.nn.functional as F",
                                      "max_steps = 2000"]
    assert lectures.prepare("%%time\nx = 1", "torch", 5) == ""
    assert lectures.prepare("import torch # for tensors", "minigrad", 5) == \
        "import minigrad as torch  # for tensors"


@pytest.mark.parametrize("a, b, same", [
    (2.0718822479, 2.0722, True), (2.0718, 2.0724, False), (1.2345, 1.2351, False),
    (1e-9, 1.00004e-9, True), (0.0, 1e-12, False), (0.0, 0.0, True), (-3.25, 3.25, False),
    (228146, 228146, True), (float("nan"), float("nan"), True), (float("inf"), 1e308, False),
])
def test_numbers_agree_to_4_significant_digits(a, b, same):
    assert lectures.same_number(a, b) is same


def test_rounding_noise_counts_as_equal_only_below_the_floor():
    assert lectures.same_number(4.656612873077393e-10, 0.0, noise=1e-6)
    assert not lectures.same_number(4.656612873077393e-10, 0.0)
    assert not lectures.same_number(2.64e-3, 8.0e-4, noise=1e-6)
    assert lectures.same_line("maxdiff: 4.6e-10", "maxdiff: 0.0", noise=1e-6) == (True, True)


def test_numbers_in_a_line():
    line = "tensor([ 0.7273, -1.5e-03], grad_fn=<MulBackward0>) torch.int64 0x7f12 [228146, 3]"
    assert lectures.numbers(line) == [0.7273, -1.5e-3, 228146.0, 3.0]
    assert lectures.same_line("step 10/2000: 3.3239", "step 10/2000: 3.32391") == (True, True)
    assert lectures.same_line("loss 3.3239", "loss 3.3251") == (True, False)
    assert lectures.same_line("loss 3.3239", None) == (True, False)
    assert lectures.same_line("<Line2D at 0x7f4694f643d0>", "<Line2D at 0x7faa>") == \
        (False, True)


def test_runner_on_a_tiny_notebook(tmp_path, capsys):
    (tmp_path / "tiny.ipynb").write_text(json.dumps(notebook(CELLS)))
    (tmp_path / "data.txt").write_text("emma olivia")
    out_json = tmp_path / "report.json"
    status = lectures.main([str(tmp_path), "--steps", "50", "--json", str(out_json)])
    printed = capsys.readouterr().out
    report = json.loads(out_json.read_text())["tiny.ipynb"]

    assert status == 1  # a cell fails on minigrad only
    assert report["cells"] == len(CELLS)
    assert report["torch_failing"] == 1  # 1 / 0
    assert [cell for cell, _ in report["minigrad_only_failing"]] == [4]  # cuda (cell 3 + md)
    # numeric lines (notebook cell = CELLS index + 1, after the markdown cell): 2, 3 (capped:
    # "50 50"), 8 (differs), 9, 10 (x.mean()), 13 (randn)
    assert report["numeric"] == 6
    assert report["numeric_matched"] == 5
    differing = {cell: [expected, actual] for cell, expected, actual in report["differing"]}
    assert differing[8] == ["1.2345", "1.2351"]
    assert differing[7] == ["torch", "minigrad"]
    assert 10 not in differing  # x.mean(): tensor(2.3333) and minigrad's longer repr
    # text lines: torch's 'False' for cuda (missing on minigrad), 'plotted', the module's
    # name (differs) and the file's words
    assert (report["text"], report["text_matched"]) == (4, 2)
    assert "cells run 13, failing on torch 1, failing on minigrad only 1" in printed
    assert "printed numeric lines matched 5/6 (83.3%); 5/6 with rounding noise" in printed
    assert report["numeric_matched_noise"] == 5
    assert "cell 4 fails on minigrad only: AttributeError" in printed
    assert "cell 5 fails on torch (not compared): ZeroDivisionError" in printed
    assert "time: torch" in printed


def test_runner_requires_notebooks(tmp_path):
    with pytest.raises(SystemExit):
        lectures.main([str(tmp_path)])
