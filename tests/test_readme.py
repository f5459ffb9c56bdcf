"""The README's Python examples run as written (the exercise asserts its own report.ok)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, capsys):
    exec(compile(BLOCKS[index], f"README.md python block {index}", "exec"), {})


# ---- the numbers the README states about the code ------------------------------------------

ROOT = README.parent


def test_the_core_line_count_is_the_readmes():
    said = re.search(r"The engine core \(`tensor.py`, `ops.py`, `autograd.py`\) is ([\d,]+) "
                     r"lines", README.read_text())
    lines = sum(len((ROOT / "minigrad" / f).read_text().splitlines())
                for f in ("tensor.py", "ops.py", "autograd.py"))
    assert said and int(said.group(1).replace(",", "")) == lines


def test_the_primitives_are_the_readmes():
    import minigrad

    text = " ".join(README.read_text().split())
    said = re.search(r"(\d+) primitives \((.*?)\), everything else", text)
    listed = re.sub(r"`[^`]*`", "", said.group(2))  # without the file names
    names = set(re.findall(r"\b[a-z_]+\b", listed)) - {"in", "and", "the", "fused"}
    assert int(said.group(1)) == len(minigrad.PRIMITIVES)
    assert names == set(minigrad.PRIMITIVES)
