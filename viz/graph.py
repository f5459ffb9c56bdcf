"""From a recorded minigrad graph to DOT text: one iterative walk, one list of nodes and edges.

The walk starts at the root and follows `_parents` breadth-first with an explicit queue, so a
100,000-deep chain needs no recursion. Every tensor becomes a table node (labels.py says
what it shows), every op a small rounded box between its inputs and its result, as micrograd
draws them: tensor -> op -> result. Tensors made under `minigrad.scope(...)` are grouped in
nested clusters; `collapse` turns a scope into one box and `max_depth` stops the walk early.

This module produces text only and never imports graphviz: `to_dot` must work where graphviz
is not installed. render.py turns the text into pictures.
"""

import contextlib
import gc
import html
import math
import re

from minigrad import autograd

from . import labels

GRAPH_NAME = "minigrad"
FONT = "Helvetica,Arial,sans-serif"  # fontconfig maps this to what exists (DejaVu Sans here)
RANKDIRS = ("LR", "TB", "RL", "BT")
AUTO_LR_DEPTH = 10  # micrograd's neuron is 4 ops deep, the lecture's forward cell about 25


class Html(str):
    """A label already in graphviz's HTML-like syntax: written as <...>, not quoted."""


def quote(text):
    """A DOT double-quoted string. Backslash first, so the escaping is not escaped again."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _attrs(attrs):
    return " ".join(f"{k}=<{v}>" if isinstance(v, Html) else f"{k}={quote(v)}"
                    for k, v in attrs.items())


_UNSAFE = re.compile(r'[\x00-\x1f"\\]')  # kept out of ids: DOT escapes them inconsistently


class _Ids:
    """Readable, unique node ids: a tensor's label when free, else label#2, label#3, ...

    Readable ids become the <title> of each node in the SVG, which is what tests and
    anyone scripting over the picture look up.
    """

    def __init__(self):
        self.used = set()
        self.last = {}  # base -> last suffix tried: 100,000 "tanh" nodes stay linear

    def make(self, base):
        base = _UNSAFE.sub("_", str(base)) or "_"
        name, k = base, self.last.get(base, 1)
        while name in self.used:
            k += 1
            name = f"{base}#{k}"
        self.last[base] = k
        self.used.add(name)
        return name


def _parent_scope(path):
    return path.rpartition("/")[0] or None


def _box_key(path, names):
    """The outermost prefix of a scope path that `collapse` names, or None.

    A name matches a prefix when it equals the prefix or its last components: "bn" matches
    "model/bn", so a user can name a module by its attribute without knowing the nesting.
    """
    if not path or not names:
        return None
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        if names is True and i == 1:
            return prefix
        if names is not True and any(prefix == n or prefix.endswith("/" + n) for n in names):
            return prefix
    return None


# Attribute text shared by every node of a kind, formatted once: a 100,000-node graph
# should not re-quote the same dozen strings 100,000 times.
_TENSOR_ATTRS = 'shape="plain"'
# height/width: graphviz's default minimum (0.5 x 0.75 in) would make every op as tall as a
# tensor table, and a deep graph twice as tall as it needs to be.
_OP_ATTRS = _attrs({"shape": "box", "style": "rounded,filled", "fillcolor": "#f3f3f3",
                    "color": "#888888", "margin": "0.08,0.03", "height": "0.3",
                    "width": "0.4"})
_CURRENT_OP_ATTRS = _OP_ATTRS.replace("#f3f3f3", labels.STEP_COLOURS["current"])
_STUB_ATTRS = _attrs({"shape": "plaintext", "label": "⋯", "fontsize": "14",
                      "fontcolor": labels.MUTED})
_STUB_EDGE_ATTRS = _attrs({"style": "dashed", "color": "#999999"})
_BOX_ATTRS = _attrs({"shape": "box3d", "style": "filled", "fillcolor": "#dde7f3",
                     "color": "#4a5d78", "margin": "0.15,0.08"})


def _foldable(t, root):
    """A 0-d constant with no name (a Python scalar wrapped by an operator): drawn in its op."""
    return (t is not root and t.op is None and not t.requires_grad and t.ndim == 0
            and t.label is None)


def _walk(root, max_depth, fold):
    """Tensors reachable from root, inputs first (the engine's walk), and each one's depth.

    Depth is the number of ops between a tensor and the root along the shortest path; in
    reverse topological order every consumer of a tensor comes before it, so one pass finds
    it. Tensors deeper than `max_depth` are left out (those at `max_depth` are drawn, but
    not their inputs), and so are foldable constants (drawn inside their op).
    """
    order = autograd.walk(root)
    depth = {id(root): 0}
    for t in reversed(order):
        if id(t) in depth:
            for p in t.parents:
                depth[id(p)] = min(depth.get(id(p), math.inf), depth[id(t)] + 1)
    order = [t for t in order if (max_depth is None or depth[id(t)] <= max_depth)
             and not (fold and _foldable(t, root))]
    return order, {id(t): depth[id(t)] for t in order}


def _row_for(check, t):
    """The report's row for this tensor, or None (row_for may return None or raise KeyError)."""
    if check is None:
        return None
    try:
        return check.row_for(t)
    except KeyError:
        return None


def _role(t, root):
    if t is root:
        return "root"
    if t.op is None:
        return "param" if t.requires_grad else "input"
    return "intermediate"


def _graph_label(root, check, max_depth, title, cut):
    lines = [labels.font(html.escape(str(title)), bold=True)] if title else []
    if root.requires_grad and root.grad is None:
        lines.append(labels.font("⚠ backward() has not run yet: every grad shows None, "
                                  "not a computed value", labels.ALARM, bold=True))
    if check is not None:
        reference = getattr(check, "reference", "torch")
        lines.append(f"{html.escape(reference)} parity: " + " · ".join(
            labels.font(f"■ {k}", c) for k, c in (
                ("exact", "#1f9d3a"), ("close", "#c98a00"), ("mismatch", labels.ALARM))))
    if max_depth is not None and cut:
        lines.append(labels.font(f"drawn to depth {max_depth} from the root; "
                                  "⋯ marks where inputs were cut", labels.MUTED))
    return Html('<BR ALIGN="LEFT"/>'.join(lines) + '<BR ALIGN="LEFT"/>') if lines else None


def build(root, *, rankdir="auto", check=None, collapse=(), max_depth=None, clusters=True,
          fold_scalars=True, title=None, steps=None):
    """The body of the DOT graph for `root`, as a list of lines (tab-indented, newline-ended).

    Options (shared by to_dot, draw_graph and render):
      rankdir       "LR" (micrograd's left to right), "TB", "RL", "BT", or "auto" (the
                    default): LR for a graph at most AUTO_LR_DEPTH ops deep, TB for a deeper
                    one, which left to right would be many screens wide and a few lines high.
      check         a minigrad.check report: tensor nodes are coloured by parity with the
                    report's reference ("torch" for compare_with_torch, "engine" for
                    compare_grads and ninja), only in the rows it compared (data, grad)
                    (green exact, amber close, red mismatch) with the max differences.
      collapse      scope names to draw as one box each, or True for every top-level scope.
      max_depth     draw only tensors at most this many ops away from the root; a tensor
                    whose inputs were cut gets a small "⋯" stub instead of its op.
      clusters      draw scopes as labelled clusters (True) or ignore scopes (False).
      fold_scalars  draw unnamed 0-d constants (the -1 of `a - b`) inside their op node.
      title         a line of text at the top of the picture.
      steps         for one frame of a backward step-through (steps.py): a dict from
                    id(tensor) to "pending", "final" or "current"; the current tensor's op
                    (whose backward runs next) is highlighted too.
    """
    if not hasattr(root, "parents"):
        raise TypeError(f"expected a minigrad Tensor, got {type(root).__name__}")
    with _gc_paused():
        return _build(root, rankdir, check, collapse, max_depth, clusters, fold_scalars, title,
                      steps)


def _build(root, rankdir, check, collapse, max_depth, clusters, fold_scalars, title, steps):
    if rankdir not in RANKDIRS + ("auto",):
        raise ValueError(f"rankdir must be 'auto' or one of {RANKDIRS}, got {rankdir!r}")
    if max_depth is not None and (not isinstance(max_depth, int) or max_depth < 0):
        raise ValueError(f"max_depth must be a non-negative int or None, got {max_depth!r}")
    if isinstance(collapse, str):
        collapse = (collapse,)  # a lone name, not a sequence of one-letter names
    collapse = True if collapse is True else tuple(collapse or ())

    order, depth = _walk(root, max_depth, fold_scalars)
    if rankdir == "auto":
        rankdir = "LR" if max(depth.values()) <= AUTO_LR_DEPTH else "TB"
    backward_ran = root.grad is not None
    one_line = rankdir in ("TB", "BT")
    ids = _Ids()
    tensor_id = {}  # id(tensor) -> its quoted DOT id
    nodes = []  # (quoted id, attribute text, scope, kind); kind "tensor", "op" or "stub"
    edges = []  # (quoted src, quoted dst, attribute text)
    cut = False

    # Inputs first, the root last: dot lays out in roughly the order it reads nodes.
    for t in order:
        name = t.label if t.label is not None else (
            t.op.name if t.op is not None else ("param" if t.requires_grad else "const"))
        tid = tensor_id[id(t)] = quote(ids.make(name))
        table = labels.tensor_label(t, str(name), _role(t, root), backward_ran,
                                    _row_for(check, t), check is not None, one_line,
                                    steps.get(id(t)) if steps else None,
                                    getattr(check, "reference", "torch"))
        nodes.append((tid, f"{_TENSOR_ATTRS} label=<{table}>", getattr(t, "scope", None),
                      "tensor"))

    for t in order:
        if t.op is None:
            continue
        tid = tensor_id[id(t)]
        scope = getattr(t, "scope", None)
        if max_depth is not None and depth[id(t)] >= max_depth:
            cut = True
            stub = quote(ids.make(f"{tid[1:-1]}.cut"))
            nodes.append((stub, _STUB_ATTRS, scope, "stub"))
            edges.append((stub, tid, _STUB_EDGE_ATTRS))
            continue
        op = t.op
        oid = quote(ids.make(f"{tid[1:-1]}.{op.name}"))
        folded = [p for p in t.parents if fold_scalars and _foldable(p, root)]
        attrs = _CURRENT_OP_ATTRS if steps and steps.get(id(t)) == "current" else _OP_ATTRS
        nodes.append((oid, f"{attrs} label=<{labels.op_label(op, folded)}>", scope, "op"))
        for p in t.parents:
            if id(p) in tensor_id:
                edges.append((tensor_id[id(p)], oid, ""))
        edges.append((oid, tid, ""))

    if collapse:
        nodes, edges = _collapse(nodes, edges, collapse, tensor_id[id(root)])

    graph = {"rankdir": rankdir, "fontname": FONT, "fontsize": "12", "labelloc": "t",
             "labeljust": "l", "nodesep": "0.2", "ranksep": "0.3"}
    label = _graph_label(root, check, max_depth, title, cut)
    if label:
        graph["label"] = label
    lines = [f"\tgraph [{_attrs(graph)}]\n",
             f"\tnode [{_attrs({'fontname': FONT, 'fontsize': '10'})}]\n",
             f"\tedge [{_attrs({'color': '#555555', 'arrowsize': '0.6'})}]\n"]
    lines += _node_lines(nodes, clusters)
    lines += [f"\t{a} -> {b} [{e}]\n" if e else f"\t{a} -> {b}\n" for a, b, e in edges]
    return lines


def _collapse(nodes, edges, names, root_id):
    """Replace every node inside a collapsed scope by one box per scope, rewiring edges."""
    box_of, counts, kept, boxes = {}, {}, [], {}
    key_cache = {}
    for nid, attrs, scope, kind in nodes:
        if scope not in key_cache:
            key_cache[scope] = _box_key(scope, names)
        key = key_cache[scope]
        if key is None:
            kept.append((nid, attrs, scope, kind))
            continue
        if kind == "stub" or nid == root_id:
            # The root stays visible (it is what the picture is of), and so do cut stubs;
            # they sit next to the box, outside the cluster that no longer exists.
            kept.append((nid, attrs, _parent_scope(key), kind))
            continue
        box_of[nid] = key
        n_ops, n_tensors = counts.get(key, (0, 0))
        counts[key] = (n_ops + (kind == "op"), n_tensors + (kind == "tensor"))
        boxes.setdefault(key, None)
    ids = _Ids()
    ids.used.update(n[0][1:-1] for n in kept)  # ids hold no quote or backslash
    box_id = {key: quote(ids.make(f"[{key}]")) for key in boxes}
    for key in boxes:
        n_ops, n_tensors = counts[key]
        label = labels.box_label(key.rpartition("/")[2], n_ops, n_tensors)
        kept.append((box_id[key], f"{_BOX_ATTRS} label=<{label}>", _parent_scope(key), "box"))
    new_edges, seen = [], set()
    for a, b, attrs in edges:
        a2, b2 = box_id.get(box_of.get(a), a), box_id.get(box_of.get(b), b)
        if a2 == b2:
            continue  # both ends inside one box
        if a2 != a or b2 != b:
            if (a2, b2) in seen:
                continue  # many edges between the same pair become one
            seen.add((a2, b2))
        new_edges.append((a2, b2, attrs))
    return kept, new_edges


def _node_lines(nodes, clusters):
    """Node statements, nested in `subgraph cluster_...` blocks by scope path, iteratively."""
    members = {None: []}
    tree = {None: []}  # scope path -> child paths, in order of first appearance
    for nid, attrs, scope, _ in nodes:
        scope = scope if clusters else None
        chain = []
        path = scope
        while path not in tree:
            chain.append(path)
            path = _parent_scope(path)
        for p in reversed(chain):
            tree[_parent_scope(p)].append(p)
            tree[p] = []
        members.setdefault(scope, []).append(f"{nid} [{attrs}]\n")

    lines = []
    close = object()  # a stack marker: the cluster opened at this level ends here
    stack = [(None, 0)]
    while stack:
        path, level = stack.pop()
        if path is close:
            lines.append("\t" * level + "}\n")
            continue
        indent = "\t" * (level + 1)
        if path is not None:
            name = path.rpartition("/")[2]
            attrs = {"label": Html(labels.font(html.escape(name), bold=True)),
                     "style": "rounded,filled", "fillcolor": "#f6f8fb" if level % 2 else
                     "#eef2f7", "color": "#9aa5b1", "fontsize": "11"}
            lines.append("\t" * level + f"subgraph {quote('cluster_' + path)} {{\n")
            lines.append(indent + "graph [" + _attrs(attrs) + "]\n")
            stack.append((close, level))
        lines += [indent + m for m in members.get(path, ())]
        stack += [(child, level + 1) for child in reversed(tree[path])]
    return lines


def to_dot(root, **options):
    """DOT source text of the graph recorded under `root` (no graphviz package needed).

    Options are those of `build`: rankdir, check, collapse, max_depth, clusters,
    fold_scalars, title.
    """
    return f"digraph {GRAPH_NAME} {{\n" + "".join(build(root, **options)) + "}\n"


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building a big graph's text.

    build allocates a few small containers per node and frees none of them until it
    returns; on a 100,000-node graph the collector would rescan all of them again and
    again (about a third of the time) for cycles that cannot exist.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
