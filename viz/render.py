"""Pictures from DOT: `draw_graph` for notebooks and `render` for files.

Both start from graph.build, the one walk and label builder, so a notebook picture and a
file picture of the same graph are the same DOT. The `graphviz` Python package is imported
only inside draw_graph; `render` needs just the `dot` program, and says how to install it
when it is missing instead of failing with a bare FileNotFoundError.
"""

import os
import shutil
import subprocess
import warnings

from .graph import GRAPH_NAME, build, to_dot

FORMATS = ("svg", "png", "pdf")
INSTALL_HINT = ("install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS) or `conda install graphviz`")


class DotNotFound(RuntimeError):
    """The Graphviz `dot` program is not on PATH, so no picture could be made."""


def draw_graph(root, **options):
    """A graphviz.Digraph of the graph under `root`; a notebook shows it inline.

    Options are those of to_dot (rankdir, check, collapse, max_depth, clusters,
    fold_scalars, title); `draw_graph(root).source == to_dot(root)`.
    """
    import graphviz  # only here: the engine and to_dot work without the package

    return graphviz.Digraph(name=GRAPH_NAME, body=build(root, **options))


def render(root, path, format="svg", *, on_missing="raise", dpi=None, **options):
    """Write `path.gv` (the DOT source), then run `dot` to write `path.<format>`.

    `path` may carry the format's extension or not ("docs/img/neuron" and
    "docs/img/neuron.svg" write the same files). Returns the picture's path.
    `dpi` sets the resolution of a PNG (graphviz's default is 96).
    When `dot` is not installed: on_missing="raise" raises DotNotFound, "warn" issues a
    RuntimeWarning and returns None (for training scripts that should not die over a
    picture); either way the .gv file has already been written and can be rendered later.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if on_missing not in ("raise", "warn"):
        raise ValueError(f"on_missing must be 'raise' or 'warn', got {on_missing!r}")
    path = os.fspath(path)
    stem = path[: -len(format) - 1] if path.endswith("." + format) else path
    gv, out = stem + ".gv", stem + "." + format
    source = to_dot(root, **options)
    if os.path.dirname(gv):
        os.makedirs(os.path.dirname(gv), exist_ok=True)
    with open(gv, "w", encoding="utf-8") as f:
        f.write(source)

    dot = shutil.which("dot")
    if dot is None:
        message = (f"Graphviz `dot` was not found on PATH, so {out} was not made; {INSTALL_HINT}."
                   f" The DOT source is in {gv}: render it later with "
                   f"`dot -T{format} {gv} -o {out}`.")
        if on_missing == "warn":
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            return None
        raise DotNotFound(message)
    def run(output_format):
        extra = [f"-Gdpi={float(dpi)}"] if dpi else []
        return subprocess.run([dot, f"-T{output_format}", *extra, gv, "-o", out],
                              check=False, capture_output=True, text=True)

    # For PNG, cairo draws (antialiased text) and gd writes a palette PNG: about a third of
    # the bytes of cairo's truecolour PNG, and it looks the same. Not every build has gd.
    done = run("png:cairo:gd") if format == "png" else None
    if done is None or done.returncode != 0:
        done = run(format)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed on {gv} (exit {done.returncode}): {done.stderr.strip()}")
    return out
