"""Every notebook under notebooks/ runs top to bottom in a real Jupyter kernel (nbclient).

- the solutions notebook: every check cell says its gradients match, none says "not yet";
- the exercises notebook, with its TODOs unfilled: every check cell says "not yet" and no
  cell raises;
- the tour and the training-step notebook: no cell raises, and the plots are drawn.
The kernel imports this checkout's minigrad (PYTHONPATH), so the test runs what it tests.
The notebooks are stored without outputs (a test says so).
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def run(name, monkeypatch):
    """Execute a notebook in a fresh python3 kernel; returns the notebook with outputs."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(book, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError when a cell raises
    return book


def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def tagged(book, tag):
    return [c for c in book.cells if tag in c.metadata.get("tags", [])]


def test_the_notebooks_are_there():
    assert set(ALL) >= {"1_tour.ipynb", "2_backprop_ninja.ipynb",
                        "2_backprop_ninja_solutions.ipynb", "3_inside_a_training_step.ipynb"}


@pytest.mark.parametrize("name", ALL)
def test_stored_without_outputs(name):
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, name


def test_solutions_pass_every_check(monkeypatch):
    book = run("2_backprop_ninja_solutions.ipynb", monkeypatch)
    checks = tagged(book, "check")
    assert len(checks) == 7  # 1a-1d, exercises 2, 3 and 4
    for cell in checks:
        out = text(cell)
        assert "ninja: all" in out or "ninja: the gradient matches" in out, out
        assert "not yet" not in out and "wrong" not in out, out
    assert "trained 300 steps with your gradients" in text(book.cells[-1])


def test_exercises_say_not_yet(monkeypatch):
    book = run("2_backprop_ninja.ipynb", monkeypatch)
    checks = tagged(book, "check")
    assert len(checks) == 7
    for cell in checks:
        assert "ninja: not yet" in text(cell), text(cell)
    assert "TODO" in "".join(c.source for c in book.cells)


@pytest.mark.parametrize("name", ["1_tour.ipynb", "3_inside_a_training_step.ipynb"])
def test_notebook_runs(name, monkeypatch):
    book = run(name, monkeypatch)
    kinds = {o.output_type for c in book.cells if c.cell_type == "code" for o in c.outputs}
    assert "error" not in kinds
    pictures = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type in ("display_data", "execute_result")
                and ({"image/svg+xml", "image/png"} & set(o.get("data", {})))]
    assert len(pictures) >= 4, name  # graphs inline (tour), the four plots (training step)
