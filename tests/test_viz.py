"""viz draws what the graph holds: rendered with the real `dot`, read back from the SVG.

Every picture test runs Graphviz's `dot` on the DOT that viz wrote and parses the SVG with
xml.etree: graphviz writes one <g class="node"> per node and one <g class="edge"> per edge,
each with a <title> holding the node id ("x1*w1") or the edge ("x1->x1*w1.mul"). Tensor ids
are their labels, op ids are "<tensor id>.<op name>". Nothing is mocked; the one test without
`dot` removes it from PATH.
"""

import shutil
import struct
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest

import minigrad
import viz
from viz import examples, labels

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
SVG = "{http://www.w3.org/2000/svg}"
NEURON_TENSORS = {"x1", "x2", "w1", "w2", "b", "x1*w1", "x2*w2", "x1*w1 + x2*w2", "n", "o"}
NEURON_OPS = {"x1*w1.mul", "x2*w2.mul", "x1*w1 + x2*w2.add", "n.add", "o.tanh"}
NEURON_EDGES = {
    "x1->x1*w1.mul", "w1->x1*w1.mul", "x1*w1.mul->x1*w1",
    "x2->x2*w2.mul", "w2->x2*w2.mul", "x2*w2.mul->x2*w2",
    "x1*w1->x1*w1 + x2*w2.add", "x2*w2->x1*w1 + x2*w2.add",
    "x1*w1 + x2*w2.add->x1*w1 + x2*w2",
    "x1*w1 + x2*w2->n.add", "b->n.add", "n.add->n", "n->o.tanh", "o.tanh->o",
}


class Svg:
    """The parts of a rendered SVG the tests look at."""

    def __init__(self, path):
        self.root = ET.parse(path).getroot()
        self.nodes = self._groups("node")
        self.clusters = self._groups("cluster")
        # edge titles repeat where an op uses one tensor twice (x * x): count them
        self.edges = Counter(g.find(SVG + "title").text for g in self.root.iter(SVG + "g")
                             if g.get("class") == "edge")

    def _groups(self, kind):
        out = {}
        for g in self.root.iter(SVG + "g"):
            if g.get("class") == kind:
                title = g.find(SVG + "title").text
                assert title not in out, f"two {kind}s titled {title!r}"
                out[title] = g
        return out

    @staticmethod
    def text(g):
        """All text drawn in a group, one string ("x1 () float64 data 2.0000 ...")."""
        words = (" ".join((t.text or "").split()) for t in g.iter(SVG + "text"))
        return " ".join(w for w in words if w)

    def graph_text(self):
        """The graph's own label: <text> that belongs to no node, edge or cluster."""
        graph = next(g for g in self.root.iter(SVG + "g") if g.get("class") == "graph")
        return " ".join(t.text for t in graph.findall(SVG + "text") if t.text)

    @staticmethod
    def strokes(g):
        return {e.get("stroke") for e in g.iter() if e.get("stroke")}

    @staticmethod
    def fills(g):
        return {e.get("fill") for e in g.iter() if e.get("fill")}

    @staticmethod
    def box(g):
        """(xmin, ymin, xmax, ymax) of a group's polygons and paths' points."""
        xs, ys = [], []
        for e in g.iter():
            for x, y in _points(e):
                xs.append(x)
                ys.append(y)
        return min(xs), min(ys), max(xs), max(ys)


def _points(e):
    raw = e.get("points") or ""
    if e.tag == SVG + "path":
        raw = " ".join(c for c in e.get("d", "").replace("M", " ").replace("C", " ").split())
    pairs = [p.split(",") for p in raw.split()]
    return [(float(x), float(y)) for x, y in (p for p in pairs if len(p) == 2)]


def draw(root, tmp_path, name="g", **options):
    path = viz.render(root, tmp_path / name, format="svg", **options)
    return Svg(path)


def walk(root, fold=True):
    """The test's own walk: every tensor under root (identity), minus folded 0-d constants."""
    seen, stack, out = set(), [root], []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if fold and t is not root and t._op is None and not t.requires_grad \
                and t.ndim == 0 and t.label is None:
            continue
        out.append(t)
        stack.extend(t._parents)
    return out


# ---- the micrograd neuron -------------------------------------------------------------

def test_neuron_nodes_edges_and_labels(tmp_path):
    svg = draw(examples.neuron(), tmp_path)
    assert set(svg.nodes) == NEURON_TENSORS | NEURON_OPS
    assert set(svg.edges) == NEURON_EDGES
    # data and grad on every node, micrograd's numbers (float64 as micrograd's floats)
    expected = {"x1": ("2.0000", "-1.5000"), "w1": ("-3.0000", "1.0000"),
                "x2": ("0.0000", "0.5000"), "w2": ("1.0000", "0.0000"),
                "b": ("6.8814", "0.5000"), "n": ("0.8814", "0.5000"),
                "o": ("0.7071", "1.0000")}
    for name, (data, grad) in expected.items():
        text = Svg.text(svg.nodes[name])
        assert f"data {data} grad {grad}" in text, text
        assert text.startswith(name) and "() float64" in text
    assert "tanh" in Svg.text(svg.nodes["o.tanh"])
    assert "backward" not in svg.graph_text()
    # one zero in a scalar (w2, times x2 = 0) is innocent: not flagged
    assert "zero" not in Svg.text(svg.nodes["w2"])


def test_neuron_left_to_right_and_roles(tmp_path):
    svg = draw(examples.neuron(), tmp_path)
    x = {name: Svg.box(svg.nodes[name])[0] for name in ("x1", "x1*w1", "n", "o")}
    assert x["x1"] < x["x1*w1"] < x["n"] < x["o"]  # rankdir LR, as micrograd draws
    assert labels.ROLE_COLOURS["param"] in Svg.fills(svg.nodes["x1"])
    assert labels.ROLE_COLOURS["intermediate"] in Svg.fills(svg.nodes["n"])
    assert labels.ROLE_COLOURS["root"] in Svg.fills(svg.nodes["o"])


def test_png_is_a_png(tmp_path):
    path = viz.render(examples.neuron(), tmp_path / "neuron.png", format="png")
    assert path == str(tmp_path / "neuron.png")
    head = (tmp_path / "neuron.png").read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width > 3 * height > 0  # a left-to-right chain is wide
    assert (tmp_path / "neuron.gv").read_text().startswith("digraph")
    viz.render(examples.neuron(), tmp_path / "sharp", format="png", dpi=192)
    sharp = struct.unpack(">II", (tmp_path / "sharp.png").read_bytes()[16:24])
    assert 1.8 * width < sharp[0] < 2.2 * width  # twice the dots per inch, twice the pixels


def test_warning_until_backward_runs(tmp_path):
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.label = "x"
    y = (x * x).sum()
    y.label = "y"
    before = draw(y, tmp_path, "before")
    assert "backward() has not run yet" in before.graph_text()
    assert "grad None" in Svg.text(before.nodes["x"])
    y.backward()
    after = draw(y, tmp_path, "after")
    assert "backward" not in after.graph_text()
    assert "grad [2.0000, 4.0000, 6.0000]" in Svg.text(after.nodes["x"])
    # x used twice by one op: two edges, as the graph records it
    assert after.edges["x->mul.mul"] == 2


def test_values_small_and_stats_large(tmp_path):
    g = minigrad.Generator().manual_seed(0)
    a = minigrad.randn(40, 30, generator=g, requires_grad=True)
    a.label = "a"
    b = minigrad.tensor([[1.5, -2.0], [0.25, 4.0]], requires_grad=True)
    b.label = "b"
    c = (a.sum(0, keepdim=True)[:, :2] * b.sum(1)).sum()
    c.label = "c"
    c.backward()
    svg = draw(c, tmp_path)
    text_a = Svg.text(svg.nodes["a"])
    data = a.data.numpy().astype(np.float64)
    for word, value in (("mean", data.mean()), ("std", data.std()), ("min", data.min()),
                        ("max", data.max())):
        assert f"{word} {labels.fmt_number(value)}" in text_a
    assert "(40, 30) float32" in text_a
    text_b = Svg.text(svg.nodes["b"])
    assert "[1.5000, -2.0000" in text_b and "[0.2500, 4.0000]" in text_b
    assert "(2, 2) float32" in text_b
    op_text = " ".join(Svg.text(g) for t, g in svg.nodes.items() if t.endswith(".sum"))
    assert "dim=(0,)" in op_text and "keepdim=True" in op_text and "dim=(1,)" in op_text


def test_tiny_gradients_are_not_printed_as_zero():
    assert labels.fmt_number(3e-7) == "3.000e-07"
    assert labels.fmt_number(0.0) == "0.0000"
    assert labels.fmt_number(np.float32(-1.5)) == "-1.5000"
    assert labels.fmt_number(7) == "7"


# ---- scopes, collapse, depth ----------------------------------------------------------

def test_seed_graph_one_node_per_tensor_and_op_with_clusters(tmp_path):
    loss = examples.seed_graph(batch=8, hidden=16)
    tensors = walk(loss)
    ops = [t for t in tensors if t._op is not None]
    svg = draw(loss, tmp_path)
    # rankdir "auto": a graph this deep is drawn top to bottom (svg y grows downwards)
    y = {name: Svg.box(svg.nodes[name])[1] for name in ("C", "hprebn", "h", "loss")}
    assert y["C"] < y["hprebn"] < y["h"] < y["loss"]
    assert len(svg.nodes) == len(tensors) + len(ops)
    drawn = {id(t) for t in tensors}
    n_edges = sum(len([p for p in t._parents if id(p) in drawn]) + 1 for t in ops)
    assert sum(svg.edges.values()) == n_edges
    for name in ("C", "emb", "embcat", "hprebn", "bnmeani", "bnvar_inv", "hpreact", "h",
                 "logits", "logit_maxes", "counts_sum_inv", "probs", "logprobs", "loss"):
        assert name in svg.nodes
    assert set(svg.clusters) == {"cluster_" + s for s in examples.SEED_SCOPES}
    assert Svg.text(svg.clusters["cluster_batchnorm"]) == "batchnorm"
    # the folded constants live in their ops: 1/n in the mean, -1 in the subtraction
    assert "× 0.125" in Svg.text(svg.nodes["bnmeani.mul"])
    assert "(8, 16) float32" in Svg.text(svg.nodes["hprebn"])


def test_nested_scopes_are_nested_clusters(tmp_path):
    x = minigrad.ones(3, requires_grad=True)
    x.label = "x"
    with minigrad.scope("model"):
        y = x * 2
        y.label = "y"
        with minigrad.scope("bn"):
            z = y.exp()
            z.label = "z"
    w = z.sum()
    w.label = "w"
    w.backward()
    svg = draw(w, tmp_path)
    assert set(svg.clusters) == {"cluster_model", "cluster_model/bn"}
    outer, inner = Svg.box(svg.clusters["cluster_model"]), \
        Svg.box(svg.clusters["cluster_model/bn"])
    assert outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] \
        and inner[3] <= outer[3]
    flat = draw(w, tmp_path, "flat", clusters=False)
    assert flat.clusters == {} and set(flat.nodes) == set(svg.nodes)
    # "bn" names the nested scope by its last component
    boxed = draw(w, tmp_path, "boxed", collapse=["bn"])
    assert "[model/bn]" in boxed.nodes and "z" not in boxed.nodes
    assert set(boxed.clusters) == {"cluster_model"}


def test_collapse_draws_a_scope_as_one_box(tmp_path):
    loss = examples.seed_graph(batch=8, hidden=16)
    inside = [t for t in walk(loss) if t.scope == "batchnorm"]
    svg = draw(loss, tmp_path, collapse=["batchnorm"])
    assert "[batchnorm]" in svg.nodes
    assert not any(t.label in svg.nodes for t in inside)
    assert "cluster_batchnorm" not in svg.clusters
    n_ops = sum(t._op is not None for t in inside)
    assert Svg.text(svg.nodes["[batchnorm]"]) == \
        f"batchnorm {n_ops} ops, {len(inside)} tensors"
    box_edges = {e for e in svg.edges if "[batchnorm]" in e}
    assert box_edges == {"hprebn->[batchnorm]", "bngain->[batchnorm]",
                         "bnbias->[batchnorm]", "[batchnorm]->h.tanh"}
    # everything collapsed: six boxes, the parameters, and the loss itself stays visible
    every = draw(loss, tmp_path, "every", collapse=True)
    assert {f"[{s}]" for s in examples.SEED_SCOPES} <= set(every.nodes)
    assert "loss" in every.nodes and "[cross_entropy]->loss" in every.edges
    assert not every.clusters


def test_max_depth_cuts_with_stubs(tmp_path):
    o = examples.neuron()
    svg = draw(o, tmp_path, max_depth=1)
    assert set(svg.nodes) == {"o", "o.tanh", "n", "n.cut"}
    assert set(svg.edges) == {"n->o.tanh", "o.tanh->o", "n.cut->n"}
    assert "drawn to depth 1" in svg.graph_text()
    two = draw(o, tmp_path, "two", max_depth=2)
    assert {"b", "x1*w1 + x2*w2", "n.add", "x1*w1 + x2*w2.cut"} <= set(two.nodes)
    assert "x1" not in two.nodes and "b.cut" not in two.nodes  # b is a leaf: nothing cut
    assert set(draw(o, tmp_path, "all", max_depth=99).nodes) == NEURON_TENSORS | NEURON_OPS


# ---- alarms ---------------------------------------------------------------------------

def test_nan_and_inf_are_marked_red(tmp_path):
    x = minigrad.tensor([1.0, 0.0, 2.0], requires_grad=True)
    x.label = "x"
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x.log()
        y.label = "y"
        s = (y * 0.5).sum()  # log(0) = -inf; its gradient 1/0 = inf
        s.label = "s"
        s.backward()
    svg = draw(s, tmp_path)
    assert "inf!" in Svg.text(svg.nodes["y"]) and "inf!" in Svg.text(svg.nodes["x"])
    assert labels.ALARM in Svg.strokes(svg.nodes["x"])
    ok = minigrad.tensor([1.0, 2.0], requires_grad=True)
    ok.label = "ok"
    z = minigrad.tensor([np.nan, 1.0], requires_grad=True)
    z.label = "z"
    t = (z * ok).sum()
    t.backward()
    svg = draw(t, tmp_path, "nan")
    # ok's values are fine, its gradient (z's values) is not; z is the other way round
    assert "data [1.0000, 2.0000] grad [nan, 1.0000] nan!" in Svg.text(svg.nodes["ok"])
    assert "data [nan, 1.0000] nan! grad [1.0000, 2.0000]" in Svg.text(svg.nodes["z"])
    assert labels.ALARM in Svg.strokes(svg.nodes["ok"])
    assert labels.ALARM not in Svg.strokes(draw(examples.neuron(), tmp_path, "n").nodes["x1"])


def test_all_zero_gradient_is_flagged_after_backward(tmp_path):
    w = minigrad.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w.label = "w"
    dead = w * 0  # nothing flows back to w: a whole tensor of exact zeros
    dead.label = "dead"
    loss = dead.sum() + (w * 0 + 1).sum() * 0
    loss.label = "loss"
    before = draw(loss, tmp_path, "before")
    assert "zero" not in Svg.text(before.nodes["w"])  # no grads yet: nothing to judge
    loss.backward()
    svg = draw(loss, tmp_path)
    assert "all zero!" in Svg.text(svg.nodes["w"])
    assert labels.SUSPECT in Svg.strokes(svg.nodes["w"])
    assert "all zero!" not in Svg.text(svg.nodes["loss"])


# ---- parity colours from minigrad.check -----------------------------------------------

def test_parity_colours_from_the_real_check(tmp_path):
    check = pytest.importorskip("minigrad.check")
    o = examples.neuron()
    svg = draw(o, tmp_path, check=check.compare_with_torch(o))
    for name in NEURON_TENSORS:
        assert labels.PARITY_COLOURS["exact"] in Svg.fills(svg.nodes[name]), name
        assert "torch exact" in Svg.text(svg.nodes[name])
    assert "torch parity" in svg.graph_text()

    # float32 through a long reduction: torch rounds differently, within the tolerance
    loss = examples.seed_graph(batch=8, hidden=16, backward=False)
    report = check.compare_with_torch(loss)
    svg = draw(loss, tmp_path, "seed", check=report)
    for t in walk(loss):
        if t.label:  # unlabelled tensors' ids ("mul#3") depend on the walk order
            row = report.row_for(t)
            want = "exact" if row.exact else "close" if row.close else "mismatch"
            assert labels.PARITY_COLOURS[want] in Svg.fills(svg.nodes[t.label]), t.label
    assert any(not r.exact and r.close for r in report.rows)
    close_rows = [r for r in report.rows if not r.exact and r.close and r.node.label]
    text = Svg.text(svg.nodes[close_rows[0].node.label])
    assert f"close, max|Δ| value {close_rows[0].value_max_abs_diff:.2g}" in text

    # a second backward doubles every minigrad grad: torch disagrees, the nodes turn red
    o.backward()
    svg = draw(o, tmp_path, "twice", check=check.compare_with_torch(o))
    assert labels.PARITY_COLOURS["mismatch"] in Svg.fills(svg.nodes["x1"])
    assert "MISMATCH, max|Δ| value 0, grad 1.5" in Svg.text(svg.nodes["x1"])

    # a report of part of the graph: the rest says so rather than looking checked
    o = examples.neuron()
    n = o._parents[0]  # the report covers n and its inputs, with n's grad as the seed
    svg = draw(o, tmp_path, "part", check=check.compare_with_torch(n, gradient=n.grad))
    assert "not compared" in Svg.text(svg.nodes["o"])
    assert labels.PARITY_COLOURS["exact"] in Svg.fills(svg.nodes["n"])


def test_hand_grads_are_coloured_against_the_engine_in_the_grad_row_only(tmp_path):
    """compare_grads and ninja compare hand-derived gradients with the engine's own: the
    picture says "engine", not "torch", and colours the grad row, not the data it never
    compared."""
    check = pytest.importorskip("minigrad.check")
    o = examples.neuron()
    x1, w1 = [t for t in walk(o) if t.label in ("x1", "w1")]
    report = check.compare_grads({"dx1": w1.grad * 1, "dw1": x1.grad * 0}, o)  # dw1 wrong
    assert report.reference == "engine"
    svg = draw(o, tmp_path, "hand", check=report)
    assert "engine parity" in svg.graph_text() and "torch" not in svg.graph_text()
    assert "engine exact" in Svg.text(svg.nodes["x1"])
    assert "engine MISMATCH" in Svg.text(svg.nodes["w1"])
    assert "engine not compared" in Svg.text(svg.nodes["o"])
    fills = Svg.fills(svg.nodes["x1"])
    assert labels.PARITY_COLOURS["exact"] in fills  # the grad row and the verdict row
    assert labels.ROLE_COLOURS["param"] in fills  # the header, and the data row: not compared
    dot = viz.to_dot(o, check=report)
    x1_node = next(line for line in dot.splitlines() if line.lstrip().startswith('"x1" ['))
    data_cell = x1_node.split("data</FONT>")[0].rsplit("<TD", 1)[1]
    assert labels.ROLE_COLOURS["param"] in data_cell  # the data cell keeps its role colour


# ---- the API around the picture -------------------------------------------------------

def test_draw_graph_is_a_digraph_of_the_same_source():
    graphviz = pytest.importorskip("graphviz")
    o = examples.neuron()
    g = viz.draw_graph(o, title="neuron")
    assert isinstance(g, graphviz.Digraph)
    assert g.source == viz.to_dot(o, title="neuron")
    assert "neuron" in g.pipe(format="svg").decode()


def test_to_dot_needs_no_graphviz_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` now fails
    source = viz.to_dot(examples.neuron())
    assert source.startswith("digraph minigrad {") and '"x1" -> "x1*w1.mul"' in source
    with pytest.raises(ImportError):
        viz.draw_graph(examples.neuron())


def test_importing_viz_does_not_import_graphviz():
    code = ("import sys, viz\nfrom viz import examples\nviz.to_dot(examples.neuron())\n"
            "assert 'graphviz' not in sys.modules, 'graphviz imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_labels_are_escaped_and_ids_unique(tmp_path):
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    a.label = 'a<&>"q"\\'
    b = a * 2
    b.label = "h"
    c = b * 3
    c.label = "h"  # a duplicate label: ids must still be unique
    c = c.sum()
    svg = draw(c, tmp_path)
    # the picture shows the label as it is; the id drops what DOT ids should not hold
    assert Svg.text(svg.nodes["a<&>_q__"]).startswith('a<&>"q"\\ (2,) float32')
    assert {"h", "h#2", "h.mul", "h#2.mul"} <= set(svg.nodes)


def test_fold_scalars_off_draws_constants(tmp_path):
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x - 1).sum()
    folded = draw(y, tmp_path, "folded")
    assert not any(t.startswith("const") for t in folded.nodes)
    plain = draw(y, tmp_path, "plain", fold_scalars=False)
    consts = [t for t in plain.nodes if t.startswith("const")]
    assert len(consts) == 1  # x - 1 = x + (-1) * 1, and (-1) * 1 is itself a constant
    assert "data -1.0000" in Svg.text(plain.nodes[consts[0]])
    assert "+ -1" in Svg.text(folded.nodes["add.add"])


def test_bad_options_are_refused():
    o = examples.neuron()
    with pytest.raises(ValueError, match="rankdir"):
        viz.to_dot(o, rankdir="sideways")
    with pytest.raises(ValueError, match="max_depth"):
        viz.to_dot(o, max_depth=-1)
    with pytest.raises(TypeError):
        viz.to_dot(o, colour="red")
    with pytest.raises(TypeError, match="Tensor"):
        viz.to_dot(np.ones(3))
    with pytest.raises(ValueError, match="format"):
        viz.render(o, "x", format="gif")


def test_render_path_with_or_without_extension(tmp_path):
    o = examples.neuron()
    assert viz.render(o, tmp_path / "a", format="pdf") == str(tmp_path / "a.pdf")
    assert viz.render(o, str(tmp_path / "b.svg")) == str(tmp_path / "b.svg")
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "b.gv").exists() and not (tmp_path / "b.svg.gv").exists()


def test_missing_dot_raises_with_install_hint_or_warns(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # an existing PATH without dot
    (tmp_path / "empty").mkdir()
    o = examples.neuron()
    with pytest.raises(viz.DotNotFound) as raised:
        viz.render(o, tmp_path / "pic", format="png")
    message = str(raised.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert str(tmp_path / "pic.gv") in message
    assert (tmp_path / "pic.gv").read_text() == viz.to_dot(o)
    assert isinstance(raised.value, RuntimeError)
    with pytest.warns(RuntimeWarning, match="apt-get install graphviz"):
        assert viz.render(o, tmp_path / "pic", format="png", on_missing="warn") is None
    assert not (tmp_path / "pic.png").exists()


def test_long_chain_without_recursion():
    x = minigrad.tensor(0.5, requires_grad=True)
    x.label = "x"
    y = x
    for _ in range(100_000):
        y = y.tanh()
    source = viz.to_dot(y)  # default recursion limit, no rendering
    assert source.count(" -> ") == 200_000
    assert source.count("[shape=\"plain\"") == 100_001
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert viz.to_dot(y, max_depth=3).count(" -> ") == 7  # 3 ops, 6 edges, 1 stub


def test_examples_script_writes_small_pictures(tmp_path):
    examples.main(["--out", str(tmp_path)])
    for name in ("neuron", "seed_graph", "seed_graph_collapsed"):
        for ext in ("svg", "png"):
            path = tmp_path / f"{name}.{ext}"
            assert 0 < path.stat().st_size < 500_000, path
        assert not (tmp_path / f"{name}.gv").exists()
    assert set(Svg(tmp_path / "neuron.svg").nodes) == NEURON_TENSORS | NEURON_OPS
