"""Backward step by step (viz.backward_steps): the frames follow the chain rule, and the HTML
page works in a real browser (headless Chromium over the DevTools protocol, tests/browser.py).

The neuron's gradients are micrograd's, by hand: o = tanh(n) = 0.7071, do/dn = 1 - o**2 = 0.5,
then n = x1*w1 + x2*w2 + b passes 0.5 to b and to each product; x1.grad = w1 * 0.5 = -1.5,
w1.grad = x1 * 0.5 = 1.0, x2.grad = w2 * 0.5 = 0.5, w2.grad = x2 * 0.5 = 0.0.
"""

import re
import shutil
import time
import xml.etree.ElementTree as ET

import pytest
from browser import Browser, find_chromium

import minigrad
import viz
from viz import examples, labels

SVG = "{http://www.w3.org/2000/svg}"
HAND_GRADS = {"o": 1.0, "n": 0.5, "b": 0.5, "x1*w1 + x2*w2": 0.5, "x1*w1": 0.5, "x2*w2": 0.5,
              "x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")


def consumers(root):
    """id(tensor) -> the tensors made from it, by walking the graph here (not viz's code)."""
    out, seen, todo = {}, {id(root)}, [root]
    while todo:
        t = todo.pop()
        for p in t._parents:
            out.setdefault(id(p), []).append(t)
            if id(p) not in seen:
                seen.add(id(p))
                todo.append(p)
    return out


def test_one_frame_per_node_each_after_all_its_consumers():
    root = examples.neuron()
    steps = viz.backward_steps(root)
    assert [s.name for s in steps][0] == "o"
    assert sorted(s.name for s in steps) == sorted(HAND_GRADS)  # every node once
    assert [s.index for s in steps] == list(range(1, 11)) and {s.total for s in steps} == {10}
    made_from = consumers(root)
    done = set()
    for s in steps:  # the chain rule's precondition: every consumer's grad was final first
        assert all(id(c) in done for c in made_from.get(id(s.tensor), [])), s.name
        done.add(id(s.tensor))


def test_seed_graph_frames_follow_the_engine_order():
    loss = examples.seed_graph(backward=False)
    steps = viz.backward_steps(loss)  # runs backward itself
    assert loss.grad is not None and steps[0].tensor is loss
    made_from = consumers(loss)
    tensors = {id(c): c for cs in made_from.values() for c in cs}
    tensors.update({id(p): p for c in list(tensors.values()) for p in c._parents})
    needing = {i for i, t in tensors.items() if t.requires_grad}
    assert {id(s.tensor) for s in steps} == needing and len(steps) == len(needing)
    done = set()
    for s in steps:
        assert all(id(c) in done for c in made_from.get(id(s.tensor), [])
                   if c.requires_grad), s.name
        done.add(id(s.tensor))
    names = {s.name for s in steps}
    assert {"loss", "logprobs", "h", "hpreact", "bnvar_inv", "emb", "C", "W1"} <= names


def test_no_grad_root_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        viz.backward_steps(minigrad.tensor([1.0, 2.0]).sum())


@needs_dot
def test_frames_show_final_grads_and_hide_pending_ones(tmp_path):
    steps = viz.backward_steps(examples.neuron())
    paths = viz.write_steps(steps, tmp_path)
    assert len(paths) == 11 and paths[-1].endswith("steps.html")
    order = [s.name for s in steps]
    for k, path in enumerate(paths[:-1]):
        svg = ET.parse(path).getroot()
        nodes = {g.find(SVG + "title").text: g for g in svg.iter(SVG + "g")
                 if g.get("class") == "node"}
        for name, grad in HAND_GRADS.items():
            fills = {p.get("fill") for p in nodes[name].iter(SVG + "polygon")}
            shown = " ".join("".join(t.itertext()) for t in nodes[name].iter(SVG + "text")
                             if t.get("fill") not in fills)
            position = order.index(name)
            if position < k:
                assert labels.STEP_COLOURS["final"] in fills, (k, name)
            elif position == k:
                assert labels.STEP_COLOURS["current"] in fills, (k, name)
            if position <= k:  # final: the hand-computed grad is drawn, visible
                assert f"{grad:.4f}" in shown.split("grad")[-1], (k, name, shown)
            else:  # pending: no visible grad value
                assert not re.search(r"grad\s*-?\d", shown), (k, name, shown)


def _box(g):
    """A node's bounding box (x0, y0, x1, y1) from its polygons' points."""
    xy = [tuple(map(float, p.split(","))) for e in g.iter(SVG + "polygon")
          for p in e.get("points").split()]
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    return min(xs), min(ys), max(xs), max(ys)


@needs_dot
def test_every_frame_has_the_same_layout(tmp_path):
    """Pending grads are drawn invisibly, so dot places each tensor at the same spot (within
    a few points: an invisible font measures a point or so wider or narrower here and there,
    and that adds up along a path; a visible "pending" instead would move nodes by 40 or more)."""
    steps = viz.backward_steps(examples.neuron())
    boxes = []
    for path in viz.write_steps(steps, tmp_path)[:-1]:
        svg = ET.parse(path).getroot()
        boxes.append({g.find(SVG + "title").text: _box(g) for g in svg.iter(SVG + "g")
                      if g.get("class") == "node" and g.find(SVG + "polygon") is not None})
    assert set(boxes[0]) == set(HAND_GRADS)
    for frame in boxes[1:]:
        for name, box in frame.items():
            assert max(abs(a - b) for a, b in zip(box, boxes[0][name])) <= 6.0, name


@needs_dot
@pytest.mark.skipif(find_chromium() is None,
                    reason="needs chromium (`make chromium` installs Debian's package)")
def test_html_page_slider_in_headless_chromium(tmp_path):
    steps = viz.backward_steps(examples.neuron())
    page = viz.write_steps(steps, tmp_path)[-1]
    text = open(page, encoding="utf-8").read()
    assert "src=" not in text and "http://" not in text.replace(
        "http://www.w3.org", "")  # self-contained: nothing to fetch
    browser = Browser()
    try:
        for domain in ("Runtime", "Log", "Page"):
            browser.send(f"{domain}.enable")
        browser.send("Page.navigate", url=f"file://{page}")
        browser.wait_for("Page.loadEventFired")
        visible = "document.querySelector('figure.frame:not([hidden])').id"
        caption = "document.getElementById('caption').textContent"
        assert browser.evaluate("document.querySelectorAll('figure.frame svg').length") == 10
        assert browser.evaluate(visible) == "frame-1"
        assert browser.evaluate(caption) == "step 1 of 10: the grad of o is final"

        # A real key press on the focused slider: the browser moves it and fires `input`.
        browser.evaluate("document.getElementById('slider').focus()")
        for kind in ("keyDown", "keyUp"):
            browser.send("Input.dispatchKeyEvent", type=kind, key="ArrowRight",
                         code="ArrowRight", windowsVirtualKeyCode=39)
        assert browser.evaluate("document.getElementById('slider').value") == "2"
        assert browser.evaluate(visible) == "frame-2"
        assert browser.evaluate(caption) == "step 2 of 10: the grad of n is final"

        # A real mouse click at the slider's right end jumps to the last frame.
        box = browser.evaluate("(() => { const r = document.getElementById('slider')"
                               ".getBoundingClientRect(); return [r.right - 2, r.top + "
                               "r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            browser.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                         button="left", clickCount=1)
        assert browser.evaluate(visible) == "frame-10"
        assert browser.evaluate("document.querySelectorAll("
                                "'figure.frame:not([hidden])').length") == 1
        assert browser.errors() == []

        # The error check can fail: a thrown error on the page is seen.
        browser.evaluate("setTimeout(() => { throw new Error('probe'); }, 0); 0")
        time.sleep(0.2)
        assert any("probe" in e for e in browser.errors())
    finally:
        browser.close()


@needs_dot
def test_command_line_writes_the_neuron_frames(tmp_path, capsys):
    examples.main(["--steps", "neuron", "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        [f"step_{k:02d}.svg" for k in range(1, 11)] + ["steps.html"]
    assert "10 frames" in capsys.readouterr().out
