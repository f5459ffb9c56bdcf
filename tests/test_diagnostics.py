"""The lecture's training diagnostics (viz.diagnostics): the numbers against torch's, computed
the lecture's way on the same network run by torch; the pictures are real PNGs; a missing
matplotlib is a clear message.
"""

import contextlib
import io
import struct
import sys

import numpy as np
import pytest
import torch

import minigrad
from minigrad import optim
from models import makemore
from viz import diagnostics as diag

LR = 0.1


def two_tanh_net(seed=0):
    """x -> tanh(x W1) -> tanh(h1 W2) -> sum(h2 V)**2 / n, in minigrad and the same in torch.

    W1 is large on purpose: the first layer saturates (about a third of its units), so a
    saturation % computed wrongly cannot hide behind a 0.
    """
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((64, 8)), "W1": rng.standard_normal((8, 16)) * 0.9,
              "W2": rng.standard_normal((16, 12)) * 0.2, "V": rng.standard_normal((12, 3))}
    arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
    params = {k: minigrad.tensor(v, requires_grad=k != "x") for k, v in arrays.items()}
    for k, p in params.items():
        p.label = k
    mg = {"params": params}
    mg["h1"] = (params["x"] @ params["W1"]).tanh()
    mg["h1"].label = "h1"
    mg["h2"] = (mg["h1"] @ params["W2"]).tanh()
    mg["h2"].label = "h2"
    mg["loss"] = ((mg["h2"] @ params["V"]) ** 2).mean()

    tp = {k: torch.from_numpy(v.copy()).requires_grad_(k != "x") for k, v in arrays.items()}
    th = {"params": tp}
    th["h1"] = torch.tanh(tp["x"] @ tp["W1"])
    th["h2"] = torch.tanh(th["h1"] @ tp["W2"])
    for h in (th["h1"], th["h2"]):
        h.retain_grad()  # the lecture's layer.out.retain_grad()
    th["loss"] = ((th["h2"] @ tp["V"]) ** 2).mean()
    mg["loss"].backward()
    th["loss"].backward()
    return mg, th


def test_tanh_layers_are_found_in_the_graph_in_order():
    mg, _ = two_tanh_net()
    assert [(n, t is mg[n]) for n, t in diag.tanh_layers(mg["loss"])] == \
        [("h1", True), ("h2", True)]


def test_activation_numbers_match_torch():
    mg, th = two_tanh_net()
    for name in ("h1", "h2"):
        t = th[name]
        ours = diag.activation_stats(mg[name])
        # the lecture's cell: t.mean(), t.std(), (t.abs() > 0.97).float().mean()*100
        theirs = {"mean": t.mean().item(), "std": t.std().item(),
                  "saturated": ((t.abs() > 0.97).float().mean() * 100).item()}
        for key in ours:
            assert ours[key] == pytest.approx(theirs[key], rel=1e-5, abs=1e-6), (name, key)
        g = diag.grad_stats(mg[name])
        assert g["mean"] == pytest.approx(t.grad.mean().item(), rel=1e-4, abs=1e-9)
        assert g["std"] == pytest.approx(t.grad.std().item(), rel=1e-5)
    assert 20 < diag.saturation(mg["h1"]) < 60  # the large W1 saturates the first layer
    assert diag.saturation(mg["h2"]) < 5


def test_ratios_match_torch_over_sgd_steps():
    """grad:data (t.std() / p.std()) and the lecture's update:data
    ((lr*p.grad).std() / p.data.std()).log10(), after each update, three steps in both."""
    mg, th = two_tanh_net()
    names = ("W1", "W2", "V")
    mp = [mg["params"][k] for k in names]
    tp = [th["params"][k] for k in names]
    rec = diag.Recorder(mp)
    opt = optim.SGD(mp, lr=LR)
    torch_gd, torch_ud = [], []
    for step in range(3):
        if step:  # fresh forward and backward on the updated weights, in both
            for p in mp:
                p.grad = None
            h2 = ((mg["params"]["x"] @ mp[0]).tanh() @ mp[1]).tanh()
            loss = ((h2 @ mp[2]) ** 2).mean()
            loss.backward()
            for p in tp:
                p.grad = None
            tl = ((torch.tanh(torch.tanh(th["params"]["x"] @ tp[0]) @ tp[1]) @ tp[2]) ** 2)
            tl.mean().backward()
        else:
            loss = mg["loss"]
        opt.step()
        rec.record(loss, LR)
        with torch.no_grad():
            for p in tp:
                p.data += -LR * p.grad
            torch_gd.append([(p.grad.std() / p.std()).item() for p in tp])
            torch_ud.append([((LR * p.grad).std() / p.data.std()).log10().item() for p in tp])
    np.testing.assert_allclose(rec.grad_data, torch_gd, rtol=1e-4)
    np.testing.assert_allclose(rec.update_data, torch_ud, rtol=0, atol=1e-4)
    assert rec.names == list(names)
    assert [w[0] for w in rec.weights] == list(names)  # the 2-d parameters
    assert "saturated" in rec.summary()


def is_png(path):
    """A PNG signature, an IHDR chunk with a real size, and matplotlib can read it back."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    image = pytest.importorskip("matplotlib.image").imread(path)
    return width > 100 and height > 100 and image.shape[:2] == (height, width)


def test_write_pngs_writes_five_real_images(tmp_path):
    pytest.importorskip("matplotlib")
    mg, _ = two_tanh_net()
    rec = diag.Recorder(list(mg["params"].values())[1:])
    rec.record(mg["loss"], LR)
    paths = rec.write_pngs(tmp_path)
    assert [p.rsplit("/", 1)[1] for p in paths] == [
        "diagnostics_activations.png", "diagnostics_activation_grads.png",
        "diagnostics_weight_grads.png", "diagnostics_grad_data_ratio.png",
        "diagnostics_update_data_ratio.png"]
    assert all(is_png(p) for p in paths)


def no_matplotlib(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails


def test_missing_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    mg, _ = two_tanh_net()
    rec = diag.Recorder([mg["params"]["W1"]])
    rec.record(mg["loss"], LR)
    assert diag.saturation(mg["h1"]) > 0  # the numbers need no matplotlib
    no_matplotlib(monkeypatch)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        rec.write_pngs(tmp_path / "pictures")
    assert not (tmp_path / "pictures").exists()


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = makemore.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def words_file(tmp_path):
    words = makemore.DEFAULT_DATA.read_text(encoding="utf-8").splitlines()[::40]
    path = tmp_path / "words.txt"
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    return path


def train_args(tmp_path, out):
    return ["train", "--steps", 40, "--hidden", 16, "--data", words_file(tmp_path), "--out",
            out, "--no-graph", "-n", 0, "--diagnostics"]


def test_makemore_train_diagnostics_writes_the_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    code, text, err = run_main(train_args(tmp_path, out))
    assert code == 0, err
    pngs = sorted(p.name for p in out.glob("diagnostics_*.png"))
    assert len(pngs) == 5 and all(is_png(out / p) for p in pngs)
    assert "layer        h: mean" in text and "saturated:" in text  # the lecture's printout
    assert "weight   W1" in text and "grad:data ratio" in text


def test_makemore_diagnostics_without_matplotlib_fails_before_training(tmp_path, monkeypatch):
    no_matplotlib(monkeypatch)
    out = tmp_path / "out"
    code, text, err = run_main(train_args(tmp_path, out))
    assert code != 0 and "--diagnostics" in err and "pip install matplotlib" in err
    assert not out.exists() or not any(out.iterdir())  # no training ran, nothing written
