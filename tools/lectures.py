"""Run lecture notebooks on torch and on minigrad side by side, and compare what they print.

    python -m tools.lectures DIR [--steps 2000] [--workdir PATH] [--show 10]

Every `*.ipynb` in DIR (read as JSON; the notebooks stay where they are) is run twice, each
time in a fresh Python process: once as written, on torch, and once on minigrad, with only
these changes to the code cells:

- `import torch` becomes `import minigrad as torch`, and `import torch.nn.functional as F`
  becomes `import minigrad.nn.functional as F` (minigrad's run only);
- IPython magics (`%matplotlib inline`, `!pip ...`, `%%time` cells) are dropped;
- training loops are capped at `--steps` steps (2,000 by default): an assignment
  `max_steps = N` and a literal loop bound `range(N)` with N above the cap get the cap instead
  (both runs, so torch and minigrad do the same work);
- matplotlib draws with the non-interactive Agg backend (MPLBACKEND=Agg), figures are closed
  after every cell;
- before the first cell, the library's default generator is seeded (`manual_seed(--seed)`,
  0 by default; both runs). The lectures draw some tensors from the unseeded default
  generator (`torch.randn((27, 2))`), which Jupyter seeds from entropy: without this, torch's
  own printouts would change from run to run. minigrad's default generator draws torch's
  numbers, so the seeded runs can agree.

The cells run in order in one namespace, as "Run all" in Jupyter, and a failing cell does not
stop the run. What a cell prints is captured, plus, as Jupyter shows it, the repr of a last
bare expression (unless the cell ends with `;`). The cells run in `--workdir` (default: DIR),
so a notebook's `open('names.txt')` finds its data there.

The report, per notebook: cells run, cells failing on torch, cells failing on minigrad only
(with their errors), printed lines that hold numbers and match / all of them, and the time
the cells took on each library. Lines are paired by position within a cell; a line matches
when it holds as many numbers as torch's and each agrees to 4 significant digits (the two
differ by at most half a unit in the 4th significant digit of the larger). The text around
the numbers is not compared for numeric lines (`grad_fn=<...>` is torch's only); lines
without numbers are compared as text, memory addresses masked, and reported apart.

A second count is printed beside the strict one: numbers that are both below `--noise`
(1e-6) in magnitude count as equal there. Such numbers are float32 rounding noise, e.g. the
lecture's `maxdiff: 4.656612873077393e-10` between a hand-derived gradient and torch's: they
depend on which kernel rounded where (the order in which a matrix product sums, which
changes with the operands' memory layout), not on the arithmetic being right; minigrad's
backward computes the lecture's own formulas and mostly prints an exact 0.0.

Both runs are single-threaded (OMP_NUM_THREADS=1, torch.set_num_threads(1)), so the times
compare one core against one core.
"""

import argparse
import ast
import contextlib
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

# ---- preparing a cell's source ------------------------------------------------------------

_IMPORTS = [  # (pattern, replacement) for minigrad's run; the rest of the line is kept
    (re.compile(r"^(\s*)import torch\.nn\.functional as F\b"),
     r"\1import minigrad.nn.functional as F"),
    (re.compile(r"^(\s*)import torch\s*(#.*)?$"), r"\1import minigrad as torch  \2"),
]
_MAX_STEPS = re.compile(r"^(\s*max_steps\s*=\s*)(\d[\d_]*)", re.MULTILINE)
_RANGE = re.compile(r"\brange\(\s*(\d[\d_]*)\s*\)")


def rewrite_imports(source):
    """The two import lines that switch a notebook from torch to minigrad."""
    lines = []
    for line in source.split("\n"):
        for pattern, replacement in _IMPORTS:
            line = pattern.sub(replacement, line).rstrip()
        lines.append(line)
    return "\n".join(lines)


def drop_magics(source):
    """The source without IPython magics: a `%%` cell magic drops the whole cell, a `%` line
    magic or a `!` shell line drops its line."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join(line for line in source.split("\n")
                     if not line.lstrip().startswith(("%", "!")))


def cap_loops(source, steps):
    """`max_steps = N` and `range(N)` with a literal N above `steps` get `steps` instead."""
    def cap(match, group):
        n = int(match.group(group).replace("_", ""))
        return match.group(0) if n <= steps else match.group(0).replace(match.group(group),
                                                                        str(steps))
    source = _MAX_STEPS.sub(lambda m: cap(m, 2), source)
    return _RANGE.sub(lambda m: cap(m, 1), source)


def prepare(source, lib, steps):
    """A code cell's source as it runs on `lib` ('torch' or 'minigrad')."""
    source = cap_loops(drop_magics(source), steps)
    return rewrite_imports(source) if lib == "minigrad" else source


# ---- running one notebook on one library (in its own process) -----------------------------

_PRELUDE = {
    "torch": "import torch\ntorch.set_num_threads(1)\ntorch.manual_seed({seed})",
    "minigrad": "import minigrad\nminigrad.manual_seed({seed})",
}


def code_cells(path):
    """The source of each code cell of a notebook, with the cell's index in the notebook."""
    notebook = json.loads(Path(path).read_text())
    cells = []
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") == "code":
            source = cell["source"]
            cells.append((index, "".join(source) if isinstance(source, list) else source))
    return cells


def _run_cell(code, namespace):
    """exec a cell; print the repr of a last bare expression, as Jupyter displays it."""
    tree = ast.parse(code)
    shown = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) \
            and not code.rstrip().split("\n")[-1].split("#")[0].rstrip().endswith(";"):
        shown = ast.Expression(tree.body.pop().value)
    exec(compile(tree, "<cell>", "exec"), namespace)
    if shown is not None:
        value = eval(compile(shown, "<cell>", "eval"), namespace)
        if value is not None:
            print(repr(value))


def run_notebook(path, lib, steps, workdir, seed=0):
    """Run the notebook's code cells in order in one namespace; one result dict per cell."""
    os.environ["MPLBACKEND"] = "Agg"
    # seeded (and torch on one thread) before the first cell: the notebook's own import then
    # finds the module as set up here. Run as notebook code: this tool imports no torch itself.
    exec(_PRELUDE[lib].format(seed=int(seed)), {})
    os.chdir(workdir)
    namespace = {"__name__": "__main__"}
    results = []
    for index, source in code_cells(path):
        code = prepare(source, lib, steps)
        if not code.strip():
            continue
        out = io.StringIO()
        error = None
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):
            try:
                _run_cell(code, namespace)
            except BaseException as e:  # noqa: B036  (a cell's SystemExit is its failure too)
                error = traceback.format_exception_only(type(e), e)[-1].strip()[:300]
        seconds = time.perf_counter() - start
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        results.append({"cell": index, "error": error, "seconds": seconds,
                        "lines": out.getvalue().splitlines()})
    return results


def run_in_process(path, lib, steps, workdir, timeout, seed=0):
    """run_notebook in a fresh Python process: torch and minigrad never share state."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "tools.lectures", "--worker", lib, "--notebook",
                   str(Path(path).resolve()), "--steps", str(steps), "--workdir",
                   str(Path(workdir).resolve()), "--out", str(out), "--seed", str(seed)]
        env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1")
        root = str(Path(__file__).resolve().parent.parent)  # so `-m tools.lectures` resolves
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"the {lib} run of {path} crashed:\n{done.stderr[-2000:]}")
        return json.loads(out.read_text())


# ---- comparing the two runs ----------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:nan|inf|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)"
                     r"(?![\w.])")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def numbers(line):
    return [float(n) for n in _NUMBER.findall(line)]


def same_number(a, b, noise=0.0):
    """a and b agree to 4 significant digits: they differ by at most half a unit in the 4th
    significant digit of the larger. With `noise`, two numbers below it agree too."""
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return (math.isnan(a) and math.isnan(b)) or a == b
    scale = max(abs(a), abs(b))
    if scale <= noise:
        return True
    unit = 10.0 ** (math.floor(math.log10(scale)) - 3)
    return abs(a - b) <= 0.5 * unit * (1 + 1e-9)


def same_line(expected, actual, noise=0.0):
    """(holds numbers, matches) for a torch line and minigrad's line in the same place."""
    wanted = numbers(expected)
    if not wanted:
        return False, actual is not None and _ADDRESS.sub("0x", expected) == _ADDRESS.sub(
            "0x", actual)
    got = numbers(actual) if actual is not None else []
    return True, len(got) == len(wanted) and all(
        same_number(a, b, noise) for a, b in zip(wanted, got))


def compare(torch_cells, minigrad_cells, noise=1e-6):
    """The counts for one notebook, and the minigrad-only failures and differing lines."""
    ours = {c["cell"]: c for c in minigrad_cells}
    report = {"cells": len(torch_cells), "torch_failing": 0, "torch_errors": [],
              "minigrad_only_failing": [],
              "numeric": 0, "numeric_matched": 0, "numeric_matched_noise": 0, "text": 0,
              "text_matched": 0, "differing": [],
              "torch_seconds": sum(c["seconds"] for c in torch_cells),
              "minigrad_seconds": sum(c["seconds"] for c in minigrad_cells)}
    for cell in torch_cells:
        if cell["error"] is not None:
            report["torch_failing"] += 1
            report["torch_errors"].append((cell["cell"], cell["error"]))
            continue  # a cell that fails on torch is no reference for minigrad
        mine = ours.get(cell["cell"], {"error": "not run", "lines": []})
        if mine["error"] is not None:
            report["minigrad_only_failing"].append((cell["cell"], mine["error"]))
        for i, line in enumerate(cell["lines"]):
            actual = mine["lines"][i] if i < len(mine["lines"]) else None
            numeric, matched = same_line(line, actual)
            kind = "numeric" if numeric else "text"
            report[kind] += 1
            report[kind + "_matched"] += matched
            if numeric:
                report["numeric_matched_noise"] += same_line(line, actual, noise)[1]
            if not matched:
                report["differing"].append((cell["cell"], line, actual))
    return report


def _percent(part, whole):
    return f"{100 * part / whole:.1f}%" if whole else "-"


def print_report(name, r, show):
    failing = r["minigrad_only_failing"]
    print(f"{name}")
    print(f"  cells run {r['cells']}, failing on torch {r['torch_failing']}, "
          f"failing on minigrad only {len(failing)}")
    print(f"  printed numeric lines matched {r['numeric_matched']}/{r['numeric']} "
          f"({_percent(r['numeric_matched'], r['numeric'])}); "
          f"{r['numeric_matched_noise']}/{r['numeric']} with rounding noise as equal; "
          f"other lines matched {r['text_matched']}/{r['text']}")
    print(f"  time: torch {r['torch_seconds']:.1f} s, minigrad {r['minigrad_seconds']:.1f} s")
    for cell, error in r["torch_errors"]:
        print(f"  cell {cell} fails on torch (not compared): {error}")
    for cell, error in failing:
        print(f"  cell {cell} fails on minigrad only: {error}")
    for cell, expected, actual in r["differing"][:show]:
        print(f"  cell {cell} differs:\n    torch:    {expected[:150]}\n"
              f"    minigrad: {'(no line)' if actual is None else actual[:150]}")
    if len(r["differing"]) > show:
        print(f"  ... and {len(r['differing']) - show} more differing lines (--show N)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.lectures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", nargs="?", help="directory of .ipynb notebooks")
    parser.add_argument("--steps", type=int, default=2000, help="cap for training loops")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the default generator before the first cell")
    parser.add_argument("--workdir", help="where the cells run (default: DIR)")
    parser.add_argument("--only", help="run only notebooks whose file name contains this")
    parser.add_argument("--show", type=int, default=10, help="differing lines to print")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument("--json", help="also write the full reports to this file")
    parser.add_argument("--noise", type=float, default=1e-6,
                        help="magnitude below which numbers count as rounding noise (second "
                             "count only)")
    # internal: one library's run of one notebook, in the child process
    parser.add_argument("--worker", choices=["torch", "minigrad"], help=argparse.SUPPRESS)
    parser.add_argument("--notebook", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        results = run_notebook(args.notebook, args.worker, args.steps, args.workdir, args.seed)
        Path(args.out).write_text(json.dumps(results))
        return 0
    if not args.dir:
        parser.error("DIR is required")
    paths = sorted(p for p in Path(args.dir).glob("*.ipynb")
                   if args.only is None or args.only in p.name)
    if not paths:
        parser.error(f"no .ipynb notebooks in {args.dir}")
    reports, failing = {}, 0
    for path in paths:
        runs = [run_in_process(path, lib, args.steps, args.workdir or args.dir, args.timeout,
                               args.seed) for lib in ("torch", "minigrad")]
        reports[path.name] = report = compare(*runs, noise=args.noise)
        failing += len(report["minigrad_only_failing"])
        print_report(path.name, report, args.show)
    if len(reports) > 1:
        total = {k: sum(r[k] for r in reports.values())
                 for k in ("numeric", "numeric_matched", "numeric_matched_noise")}
        print(f"all notebooks: failing on minigrad only {failing}, printed numeric lines "
              f"matched {total['numeric_matched']}/{total['numeric']} "
              f"({_percent(total['numeric_matched'], total['numeric'])}); "
              f"{total['numeric_matched_noise']}/{total['numeric']} "
              f"({_percent(total['numeric_matched_noise'], total['numeric'])}) "
              f"with rounding noise as equal")
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=1))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
