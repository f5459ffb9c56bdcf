"""Backward, step by step: one picture per node whose gradient has just become final.

    import viz
    steps = viz.backward_steps(loss)             # runs loss.backward() if it has not run
    viz.write_steps(steps, "out/steps")          # step_01.svg, step_02.svg, ... + steps.html

The engine (minigrad/autograd.py) visits the nodes in reverse topological order: a node comes
after every node that consumes it, so when its turn comes all contributions to its gradient
have arrived (the chain rule's sum over consumers) and its gradient is final. Frame k shows
the graph at that moment: the first k nodes of that order are final (green), node k has just
become final (yellow, with its op, whose backward runs next and sends gradients to the op's
inputs), and the rest are still pending (their grad cells are left blank).

The order is the engine's own (autograd.toposort), and the gradients drawn are the `.grad`
that backward wrote: a step-through of the backward that ran, not a second implementation.
Nodes that backward never reached (no gradient flows to them) get no frame, as in the engine.

The HTML page holds every frame's SVG inline, a slider and a few lines of JavaScript, so it
opens in any browser without graphviz. The SVG files need graphviz's `dot` to be made.
"""

import html
import os
import re
import shutil
import subprocess
from collections import namedtuple

from minigrad.autograd import toposort

from .graph import to_dot
from .render import INSTALL_HINT, DotNotFound

Step = namedtuple("Step", "index total tensor name dot")
Step.__doc__ = """One frame: `tensor`'s gradient became final at step `index` (1-based) of
`total`; `dot` is the frame's DOT source."""


def _name(t):
    return t.label if t.label is not None else (t.op.name if t.op is not None else "leaf")


def backward_steps(root, **options):
    """The frames of the backward pass from `root`, one per node in the engine's order.

    Runs `root.backward()` first when `root.grad` is None. Options are those of viz.to_dot
    (rankdir, collapse, clusters, fold_scalars, ...); `title` is set per frame.
    """
    if not hasattr(root, "parents"):
        raise TypeError(f"expected a minigrad Tensor, got {type(root).__name__}")
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn: there is no backward to step through")
    if root.grad is None:
        root.backward()
    order = [t for t in reversed(toposort(root)) if t.grad is not None]
    consumers = {}  # id(tensor) -> names of the tensors its gradient came from
    for t in order:
        for p in t.parents:
            consumers.setdefault(id(p), []).append(_name(t))
    options.pop("title", None)
    frames = []
    state = {id(t): "pending" for t in order}
    for k, t in enumerate(order, 1):
        if k > 1:
            state[id(order[k - 2])] = "final"
        state[id(t)] = "current"
        name = _name(t)
        if t is root:
            how = "the start: d(root)/d(root) = 1"
        else:
            sources = ", ".join(dict.fromkeys(consumers[id(t)]))  # once each, in order
            how = f"the sum of what its consumers sent ({sources})"
        made = (f"; next, {t.op.name}'s backward sends it to the op's inputs"
                if t.op is not None else "; a leaf: nothing further")
        title = f"backward step {k} of {len(order)}: the grad of {name} is final, {how}{made}"
        frames.append(Step(k, len(order), t, name,
                           to_dot(root, title=title, steps=dict(state), **options)))
    return frames


def run_dot(dot_source, format="svg", dpi=None):
    """Run `dot -T<format>` on DOT text; the picture's bytes."""
    dot = shutil.which("dot")
    if dot is None:
        raise DotNotFound(f"Graphviz `dot` was not found on PATH; {INSTALL_HINT}")
    extra = [f"-Gdpi={float(dpi)}"] if dpi else []
    done = subprocess.run([dot, f"-T{format}", *extra], input=dot_source.encode(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed (exit {done.returncode}): {done.stderr.decode()}")
    return done.stdout


def svg_of(dot_source):
    """Run `dot -Tsvg` on DOT text; the SVG as a string."""
    return run_dot(dot_source).decode("utf-8")


_ID = re.compile(r'\b(id|href|xlink:href)="(#?)([^"]*)"')


def _inline(svg, prefix):
    """An SVG file's text as an element for an HTML page: no XML prolog or doctype, and ids
    made unique per frame (dot numbers its ids node1, edge1, ... in every file alike)."""
    svg = svg[svg.index("<svg"):]
    return _ID.sub(lambda m: f'{m[1]}="{m[2]}{prefix}{m[3]}"' if m[1] == "id" or m[2] else
                   m[0], svg)


def steps_html(steps, svgs, title="Backward, step by step"):
    """One self-contained HTML page: every frame inline, a slider, prev/next buttons.

    Moving the slider (or the arrow keys on it, or the buttons) shows frame k and hides the
    others; the caption says which node's gradient became final. No network, no `dot`.
    """
    if len(steps) != len(svgs) or not steps:
        raise ValueError(f"need one SVG per step, got {len(svgs)} for {len(steps)} steps")
    frames = "\n".join(
        f'<figure class="frame" id="frame-{s.index}" data-caption="{html.escape(_caption(s))}"'
        f'{"" if s.index == 1 else " hidden"}>\n{_inline(svg, f"f{s.index}-")}\n</figure>'
        for s, svg in zip(steps, svgs))
    n = len(steps)
    return _PAGE.format(title=html.escape(title), n=n, frames=frames,
                        caption=html.escape(_caption(steps[0])))


def _caption(step):
    return f"step {step.index} of {step.total}: the grad of {step.name} is final"


def write_steps(steps, directory, stem="step", html_name="steps.html"):
    """Write `stem_01.svg`, ... and the HTML page into `directory`; returns their paths.

    Needs graphviz's `dot` (to make the SVGs); the page itself does not.
    """
    os.makedirs(directory, exist_ok=True)
    width = len(str(len(steps)))
    svgs, paths = [], []
    for s in steps:
        svg = svg_of(s.dot)
        path = os.path.join(directory, f"{stem}_{s.index:0{width}d}.svg")
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg)
        svgs.append(svg)
        paths.append(path)
    page = os.path.join(directory, html_name)
    with open(page, "w", encoding="utf-8") as f:
        f.write(steps_html(steps, svgs))
    return paths + [page]


# The page: plain HTML, CSS and JavaScript, no library. The slider's `input` event fires as
# it moves (mouse, touch or arrow keys); show() hides every frame but the chosen one.
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em; }}
  .controls {{ position: sticky; top: 0; background: #fff; padding: 0.5em 0; }}
  #slider {{ width: min(40em, 90vw); vertical-align: middle; }}
  figure {{ margin: 0; }}
  figure svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Green: gradients that are final. Yellow: the node whose gradient just became final, and
its op, whose backward runs next. Blank grad cells are still pending.</p>
<div class="controls">
  <button id="prev" type="button" aria-label="previous step">&#9664;</button>
  <input id="slider" type="range" min="1" max="{n}" value="1" step="1"
         aria-label="backward step">
  <button id="next" type="button" aria-label="next step">&#9654;</button>
  <span id="caption">{caption}</span>
</div>
{frames}
<script>
(function () {{
  var slider = document.getElementById("slider");
  var caption = document.getElementById("caption");
  var frames = document.querySelectorAll("figure.frame");
  function show(k) {{
    k = Math.max(1, Math.min(frames.length, k));
    slider.value = k;
    frames.forEach(function (f, i) {{ f.hidden = i !== k - 1; }});
    caption.textContent = frames[k - 1].dataset.caption;
  }}
  slider.addEventListener("input", function () {{ show(Number(slider.value)); }});
  document.getElementById("prev").addEventListener("click", function () {{
    show(Number(slider.value) - 1); }});
  document.getElementById("next").addEventListener("click", function () {{
    show(Number(slider.value) + 1); }});
  show(Number(slider.value));
}})();
</script>
</body>
</html>
"""

