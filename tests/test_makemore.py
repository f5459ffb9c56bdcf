"""models/makemore.py against the seed notebook and torch, and its command line.

- Data: Vocab, build_dataset and split_words are compared with the seed's cells 149-151,
  re-implemented here from the notebook text; load_words refuses bad files.
- Model: the layer-based MLP is copied bit-exactly into an equivalent torch model
  (torch.nn.Embedding and Linear, the seed's n-1 batchnorm and step-by-step cross-entropy
  written out in torch, because torch.nn.BatchNorm1d normalises with the biased variance).
  The loss, every labelled intermediate and every parameter gradient must match, in float32
  and float64; so must the fused cross-entropy against F.cross_entropy, a few SGD steps of
  `train` against torch.optim.SGD on the same batches, and the calibrated eval mode.
- Command line: train, sample, check and graph work; bad input exits with code 2 and one
  'error: ...' line and leaves every file as it was.
- Checkpoints: a run killed with SIGKILL resumes cleanly; an interrupted run resumed is bit
  for bit the run that was never interrupted; the optimizer's state survives a checkpoint.

Kept quick (2 shared cores): small word lists in tmp_path, hidden 16, a few hundred steps.
"""

import contextlib
import io
import json
import math
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_equal, assert_match
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import autograd, check, nn, optim
from models import lecture, makemore

REPO = Path(__file__).resolve().parent.parent
HIDDEN = 16
PARAM_LABELS = ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2")


def some_names(every=40):
    """Every `every`-th name of the project's list: about 750 real names, all 26 letters."""
    return makemore.DEFAULT_DATA.read_text(encoding="utf-8").splitlines()[::every]


def write_words(path, words):
    path.write_text("".join(w + "\n" for w in words), encoding="utf-8")
    return path


def run_main(argv):
    """makemore.main in-process with stdout and stderr captured: (exit code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = makemore.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def train_argv(data, out, steps, *extra):
    return ["train", "--steps", steps, "--hidden", HIDDEN, "--data", data, "--out", out,
            "--no-graph", "-n", 0, *extra]


def train_and_load(tmp_path, words, steps):
    """`train` on `words` for `steps` steps in tmp_path; the checkpoint's (meta, state)."""
    data = write_words(tmp_path / "w.txt", words)
    code, _, err = run_main(train_argv(data, tmp_path / "out", steps))
    assert code == 0, err
    meta, state, _ = makemore.load_checkpoint(tmp_path / "out" / makemore.CHECKPOINT)
    return meta, state


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def snapshot(folder):
    """Every file in a folder with its bytes: to prove a failing command touched nothing."""
    folder = Path(folder)
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A words file and a folder holding a checkpoint trained briefly on it (shared, read only:
    tests that change files work on copies)."""
    root = tmp_path_factory.mktemp("trained")
    data = write_words(root / "words.txt", some_names())
    code, _, err = run_main(train_argv(data, root / "out", 30))
    assert code == 0, err
    return data, root / "out"


# ---- data: the seed's cells 149-151 ----------------------------------------------------

def seed_vocab(words):
    """Cell 149, as written in the notebook (less a redundant list() inside sorted)."""
    vocab = sorted(set(''.join(words)))
    stoi = {s: i for i, s in enumerate(vocab, start=1)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    return stoi, itos


def seed_build_dataset(words, stoi, block_size):
    """Cell 150, as written in the notebook (block_size was a global there)."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    return X, Y


def test_vocab_is_the_seeds():
    words = some_names()
    stoi, itos = seed_vocab(words)
    vocab = makemore.Vocab.from_words(words)
    assert vocab.stoi == stoi
    assert vocab.chars == "".join(itos[i] for i in range(len(itos)))
    assert len(vocab) == len(itos)
    assert all(vocab.decode(vocab.encode(w)) == w for w in words)
    with pytest.raises(ValueError, match="not in the model's vocabulary"):
        vocab.encode("zoë")


@pytest.mark.parametrize("block_size", [1, 3, 5])
def test_build_dataset_is_the_seeds(block_size):
    words = some_names()
    stoi, _ = seed_vocab(words)
    X, Y = makemore.build_dataset(words, makemore.Vocab.from_words(words), block_size)
    tX, tY = seed_build_dataset(words, stoi, block_size)
    assert_match(X, tX.numpy(), "X")
    assert_match(Y, tY.numpy(), "Y")


@given(st.lists(st.text("abcxyz", min_size=1, max_size=8), min_size=1, max_size=6),
       st.integers(1, 4))
def test_build_dataset_is_the_seeds_on_drawn_words(words, block_size):
    stoi, _ = seed_vocab(words)
    X, Y = makemore.build_dataset(words, makemore.Vocab.from_words(words), block_size)
    tX, tY = seed_build_dataset(words, stoi, block_size)
    assert_match(X, tX.numpy(), "X")
    assert_match(Y, tY.numpy(), "Y")


@pytest.mark.parametrize("n_words", [10, 11, 29, 1000, 29_910])
def test_split_words_is_seed_42_shuffle_80_10_10(n_words):
    words = [f"w{i}" for i in range(n_words)]
    by_hand = list(words)
    random.seed(42)
    random.shuffle(by_hand)
    # the seed's cell 151 (the lectures seed the shuffle with 42 just before it)
    train_split, val_split = .8, .1
    n1 = int(train_split * len(by_hand))
    n2 = int((train_split + val_split) * len(by_hand))
    random.seed(7)  # a different global state before the call must not matter
    got = makemore.split_words(words)
    assert got == (by_hand[:n1], by_hand[n1:n2], by_hand[n2:])
    assert words == [f"w{i}" for i in range(n_words)], "the caller's list was shuffled"


def test_load_words_reads_lines_like_the_seed(tmp_path):
    words = some_names()
    path = write_words(tmp_path / "w.txt", words)
    with open(path) as f:
        seed_words = f.read().splitlines()  # cell 149
    assert makemore.load_words(path) == seed_words
    path.write_text("\nava\n\n  bo \n\n", encoding="utf-8")  # blank lines and stray spaces
    assert makemore.load_words(path) == ["ava", "bo"]


@pytest.mark.parametrize("content, error, phrase", [
    (None, FileNotFoundError, "not found"),
    ("", ValueError, "empty"),
    ("\n  \n\n", ValueError, "empty"),
    ("ava\nmr.x\nbo\n", ValueError, "reserved"),
])
def test_load_words_refuses_bad_files(tmp_path, content, error, phrase):
    path = tmp_path / "words.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(error, match=phrase):
        makemore.load_words(path)


# ---- the model against torch ------------------------------------------------------------

class TorchTwin:
    """The makemore network in torch with the minigrad model's parameters, bit for bit.

    Embedding and Linear are torch.nn's. Batchnorm is the seed's cell 156 written out,
    because torch.nn.BatchNorm1d normalises with the biased variance and the seed with n-1.
    """

    def __init__(self, model, truth=False):
        """truth=True: the float64 twin from the same (float32) parameters."""
        dtype = model.linear1.weight.data.dtype
        tdtype = torch.float64 if dtype == np.float64 or truth else torch.float32
        c = model.config
        self.emb = torch.nn.Embedding(c["vocab_size"], c["n_embd"], dtype=tdtype)
        self.lin1 = torch.nn.Linear(c["block_size"] * c["n_embd"], c["hidden"], dtype=tdtype)
        self.lin2 = torch.nn.Linear(c["hidden"], c["vocab_size"], dtype=tdtype)
        self.bngain = torch.nn.Parameter(torch.empty(c["hidden"], dtype=tdtype))
        self.bnbias = torch.nn.Parameter(torch.empty(c["hidden"], dtype=tdtype))
        self.params = {"C": self.emb.weight, "W1": self.lin1.weight, "b1": self.lin1.bias,
                       "bngain": self.bngain, "bnbias": self.bnbias,
                       "W2": self.lin2.weight, "b2": self.lin2.bias}
        ours = {p.label: p for p in model.parameters()}
        assert set(ours) == set(self.params)
        with torch.no_grad():
            for name, p in self.params.items():
                p.copy_(torch.from_numpy(ours[name].data.numpy().copy()).to(tdtype))

    def forward(self, Xb, Yb, fused=False):
        """The loss and every intermediate by its seed name, each retaining its grad."""
        t = {}
        t["emb"] = emb = self.emb(Xb)
        t["embcat"] = embcat = emb.view(emb.shape[0], -1)
        t["hprebn"] = hprebn = self.lin1(embcat)
        hpreact = lecture.batchnorm(hprebn, self.bngain, self.bnbias, steps=t)
        t["h"] = h = torch.nn.Tanh()(hpreact)
        t["logits"] = logits = self.lin2(h)
        if fused:
            t["loss"] = F.cross_entropy(logits, Yb)
        else:  # the lecture's cross-entropy, the one formula
            nn.functional.stepwise_cross_entropy(logits, Yb, steps=t)
        for value in t.values():
            value.retain_grad()
        return t


def labelled_nodes(root):
    """label -> node for every labelled node under root; a label may name only one node."""
    nodes = [t for t in autograd.toposort(root) if t.label]
    labels = [t.label for t in nodes]
    assert len(labels) == len(set(labels)), f"labels used twice: {labels}"
    return dict(zip(labels, nodes))


def batch(vocab_words=None, n=32, seed=0):
    words = vocab_words or some_names()
    vocab = makemore.Vocab.from_words(words)
    X, Y = makemore.build_dataset(makemore.split_words(words)[0], vocab)
    ix = np.random.default_rng(seed).integers(0, X.shape[0], n)
    return vocab, X[ix], Y[ix]


@pytest.mark.parametrize("hidden", [16, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fused", [False, True], ids=["stepwise_ce", "fused_ce"])
def test_mlp_matches_torch_node_by_node(hidden, dtype, fused):
    vocab, Xb, Yb = batch()
    model = makemore.MLP(len(vocab), hidden=hidden, fused_ce=fused).to(dtype)
    twin, truth = TorchTwin(model), TorchTwin(model, truth=True)
    loss = model.loss(minigrad.tensor(Xb), minigrad.tensor(Yb))
    loss.backward()
    t = twin.forward(torch.from_numpy(Xb.copy()), torch.from_numpy(Yb.copy()), fused=fused)
    t["loss"].backward()
    d = truth.forward(torch.from_numpy(Xb.copy()), torch.from_numpy(Yb.copy()), fused=fused)
    d["loss"].backward()
    scale = check.scales(loss)

    ours = labelled_nodes(loss)
    # every labelled node is checked: the intermediates by name, the parameters by label
    assert set(ours) == set(t) | set(PARAM_LABELS)
    for name, value in t.items():
        node = ours[name]
        assert_match(node.data, value, name, d[name], scale[id(node)][0])
        assert_match(node.grad, value.grad, f"grad of {name}", d[name].grad,
                     scale[id(node)][1])
    for name, p in twin.params.items():
        assert_match(ours[name].grad, p.grad, f"grad of {name}", truth.params[name].grad,
                     scale[id(ours[name])][1])


def test_training_forward_updates_running_stats_as_torch():
    vocab, Xb, Yb = batch()
    model = makemore.MLP(len(vocab), hidden=HIDDEN)
    model.loss(minigrad.tensor(Xb), minigrad.tensor(Yb))
    stats = []
    for twin in (TorchTwin(model), TorchTwin(model, truth=True)):  # float32, float64 truth
        hprebn = twin.forward(torch.from_numpy(Xb.copy()), torch.from_numpy(Yb))["hprebn"]
        bn = torch.nn.BatchNorm1d(HIDDEN, dtype=hprebn.dtype)  # unbiased running var, as ours
        bn(hprebn.detach())
        stats.append(bn)
    bn, truth = stats
    assert_match(model.batchnorm.running_mean.data, bn.running_mean, "running_mean",
                 truth.running_mean)
    assert_match(model.batchnorm.running_var.data, bn.running_var, "running_var",
                 truth.running_var)


def test_train_draws_torchs_lecture_minibatches_and_losses(tmp_path):
    """The CLI's training is the lectures' loop run in torch with the same seed: parameters
    drawn from one torch.Generator, then `ix = torch.randint(0, Xtr.shape[0], (32,),
    generator=g)` every step. The parameters are torch's bit for bit, the batches are
    torch's, and each step's loss matches torch's (check.verdict, with a float64 truth)."""
    steps, words = 40, some_names()
    meta, _ = train_and_load(tmp_path, words, steps)
    vocab = makemore.Vocab.from_words(words)
    Xtr, Ytr = makemore.build_dataset(makemore.split_words(words)[0], vocab)

    # torch, as the lecture writes it (with the seed notebook's b1)
    V, fan_in, g = len(vocab), 30, torch.Generator().manual_seed(2147483647)
    C = torch.randn((V, 10), generator=g)
    W1 = torch.randn((fan_in, HIDDEN), generator=g)
    W1, W1_truth = (W * (5 / 3) / fan_in ** 0.5 for W in (W1, W1.double()))
    b1 = torch.randn(HIDDEN, generator=g) * 0.1
    W2 = torch.randn((HIDDEN, V), generator=g) * 0.01
    b2 = torch.randn(V, generator=g) * 0
    bngain, bnbias = torch.ones(HIDDEN), torch.zeros(HIDDEN)
    model = makemore.MLP(V, hidden=HIDDEN, init="lecture")  # what train starts from
    drawn = {"C": C, "W1": W1.T, "b1": b1, "W2": W2.T, "b2": b2, "bngain": bngain,
             "bnbias": bnbias}
    for p in model.parameters():  # the draws are torch's; W1's scaling rounds as a / b does
        if p.label == "W1":
            assert_match(p.data, W1.T, "W1", W1_truth.T)
        else:
            assert_equal(p.data, drawn[p.label], p.label)

    twins = [TorchTwin(model), TorchTwin(model, truth=True)]
    opts = [torch.optim.SGD(list(t.params.values()), lr=0.1) for t in twins]
    losses = [[], []]
    for step in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        for twin, opt, out in zip(twins, opts, losses):
            loss = twin.forward(torch.from_numpy(Xtr[ix.numpy()]),
                                torch.from_numpy(Ytr[ix.numpy()]))["loss"]
            opt.zero_grad()
            loss.backward()
            opt.param_groups[0]["lr"] = 0.1 if step < steps // 2 else 0.01
            opt.step()
            out.append(loss.item())
    ours = np.array(meta["loss_window"], np.float32)  # every step's loss (steps < 1000)
    assert len(ours) == steps
    for step in range(steps):
        assert_match(ours[step:step + 1], np.float32(losses[0][step:step + 1]),
                     f"loss at step {step}", np.float64(losses[1][step:step + 1]))


def test_train_sgd_steps_and_eval_match_torch(tmp_path):
    """`train` for 6 steps (lr 0.1, then 0.01 for the second half) against torch.optim.SGD on
    the same batches; then the calibrated eval losses against torch's eval mode."""
    steps, words = 6, some_names()
    meta, state = train_and_load(tmp_path, words, steps)

    vocab = makemore.Vocab.from_words(words)
    splits = [makemore.build_dataset(part, vocab) for part in makemore.split_words(words)]
    model = makemore.MLP(len(vocab), hidden=HIDDEN, init="lecture")  # as train
    ours, truth = (torch_train(TorchTwin(model, truth=t), steps, splits) for t in (False, True))
    keys = {"C": "embedding.weight", "W1": "linear1.weight", "b1": "linear1.bias",
            "bngain": "batchnorm.weight", "bnbias": "batchnorm.bias",
            "W2": "linear2.weight", "b2": "linear2.bias",
            "running_mean": "batchnorm.running_mean", "running_var": "batchnorm.running_var"}
    for name, key in keys.items():
        assert_match(state[key], ours[name], name, truth[name])
    for name in ("train", "val", "test"):
        assert_match(np.float32(meta["split_losses"][name]), ours[name], f"{name} loss",
                     truth[name])


def torch_generator_after_init(vocab_size, seed=2147483647):
    """torch's generator where train's is when its loop starts: after the lecture's draws
    of C, W1, b1, W2 and b2."""
    g = torch.Generator().manual_seed(seed)
    for shape in [(vocab_size, 10), (30, HIDDEN), (HIDDEN,), (HIDDEN, vocab_size),
                  (vocab_size,)]:
        torch.randn(shape, generator=g)
    return g


def torch_train(twin, steps, splits):
    """`train`'s steps on the twin with torch.optim.SGD, then its calibration (mean and n-1
    variance of hprebn over the training set, computed in float64) and its eval losses."""
    (Xtr, Ytr) = splits[0]
    opt = torch.optim.SGD(list(twin.params.values()), lr=0.1)
    g = torch_generator_after_init(twin.emb.weight.shape[0])  # train's batches: torch's
    for step in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g).numpy()
        loss = twin.forward(torch.from_numpy(Xtr[ix]), torch.from_numpy(Ytr[ix]))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.param_groups[0]["lr"] = 0.1 if step < steps // 2 else 0.01
        opt.step()
    out = {name: p.detach().clone() for name, p in twin.params.items()}
    with torch.no_grad():
        hprebn = twin.lin1(twin.emb(torch.from_numpy(Xtr)).view(len(Xtr), -1))
        bn = torch.nn.BatchNorm1d(HIDDEN, dtype=hprebn.dtype).eval()
        bn.running_mean.copy_(hprebn.double().mean(0))
        bn.running_var.copy_(hprebn.double().var(0, unbiased=True))
        bn.weight.copy_(twin.bngain)
        bn.bias.copy_(twin.bnbias)
        out["running_mean"], out["running_var"] = bn.running_mean, bn.running_var
        for name, (X, Y) in zip(("train", "val", "test"), splits):
            h = torch.tanh(bn(twin.lin1(twin.emb(torch.from_numpy(X)).view(len(X), -1))))
            out[name] = F.cross_entropy(twin.lin2(h), torch.from_numpy(Y))
    return out


# ---- checkpoints: the optimizer's state, resume equivalence, SIGKILL ------------------------

@pytest.mark.parametrize("make_optimizer", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.01),
], ids=["sgd_momentum", "adam"])
def test_checkpoint_carries_the_optimizer_state(tmp_path, make_optimizer):
    """Train 3 steps, save, load into a fresh model and optimizer, train 2 more on both:
    the two must agree bit for bit, which fails if any momentum or moment is lost."""
    vocab, X, Y = batch(n=256)
    batches = [(minigrad.tensor(X[i::8]), minigrad.tensor(Y[i::8])) for i in range(5)]

    def step(model, opt, xb, yb):
        loss = model.loss(xb, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    model = makemore.MLP(len(vocab), hidden=HIDDEN)
    opt = make_optimizer(model.parameters())
    for xb, yb in batches[:3]:
        step(model, opt, xb, yb)
    meta = {"format": "minigrad-makemore/1", "vocab": vocab.chars, "block_size": 3,
            "n_embd": 10, "hidden": HIDDEN, "step": 3, "losses": [], "rng": None}
    path = tmp_path / makemore.CHECKPOINT
    makemore.save_checkpoint(path, model, opt, meta)

    _, state, opt_state = makemore.load_checkpoint(path)
    resumed = makemore.MLP(len(vocab), hidden=HIDDEN, seed=1)  # other initial values
    resumed.load_state_dict(state)
    resumed_opt = make_optimizer(resumed.parameters())
    resumed_opt.load_state_dict(opt_state)
    for xb, yb in batches[3:]:
        step(model, opt, xb, yb)
        step(resumed, resumed_opt, xb, yb)
    for (name, a), b in zip(model.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert list(tmp_path.iterdir()) == [path], "save_checkpoint left a temporary file"


def npz_arrays(path):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(arrays.pop("meta").tobytes()), arrays


def run_cut_at_100(monkeypatch, data, out):
    """A 200-step run (checkpoint every 100) stopped by an exception right after the
    checkpoint of step 100 is saved, as a crash there would stop it."""
    real_save = makemore.save_checkpoint

    def save_then_stop(path, model, optimizer, meta):
        real_save(path, model, optimizer, meta)
        if meta["step"] == 100:
            raise Interrupted

    monkeypatch.setattr(makemore, "save_checkpoint", save_then_stop)
    with pytest.raises(Interrupted):
        run_main(train_argv(data, out, 200, "--checkpoint-every", 100))
    monkeypatch.setattr(makemore, "save_checkpoint", real_save)


class Interrupted(Exception):
    pass


def test_interrupted_run_resumed_equals_a_straight_run(tmp_path, monkeypatch):
    """200 steps straight == the same run stopped right after its step-100 checkpoint and
    resumed to 200: parameters, buffers and batches (the RNG) are all in the checkpoint.

    The first leg is a 200-step run cut short, not `--steps 100`: the learning rate drops at
    half the run's --steps, so a 100-step run trains steps 50-99 at another rate.
    """
    data = write_words(tmp_path / "w.txt", some_names())
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    code, _, err = run_main(train_argv(data, straight, 200, "--checkpoint-every", 1000))
    assert code == 0, err

    run_cut_at_100(monkeypatch, data, cut)
    monkeypatch.undo()
    assert npz_arrays(cut / makemore.CHECKPOINT)[0]["step"] == 100
    code, out, err = run_main(train_argv(data, cut, 200, "--checkpoint-every", 100,
                                         "--resume"))
    assert code == 0, err
    assert "at step 100" in out

    meta_a, arrays_a = npz_arrays(straight / makemore.CHECKPOINT)
    meta_b, arrays_b = npz_arrays(cut / makemore.CHECKPOINT)
    assert meta_a["step"] == meta_b["step"] == 200
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        assert arrays_a[key].dtype == arrays_b[key].dtype, key
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)
    assert meta_a["split_losses"] == meta_b["split_losses"]
    assert meta_a["rng"] == meta_b["rng"]


@pytest.mark.parametrize("moment", range(3))
def test_sigkilled_run_resumes(tmp_path, moment):
    """SIGKILL a training process at a seeded random moment after its first checkpoint: the
    checkpoint loads, --resume carries on from its step and leaves no temporary file.

    The killed run asks for 5000 steps so that it is surely still running when killed; the
    resumed run stops 100 steps after the checkpoint, which is all this needs to show.
    """
    data = write_words(tmp_path / "w.txt", some_names())
    out = tmp_path / "out"
    ckpt = out / makemore.CHECKPOINT
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "models.makemore", "train", "--steps", "5000", "--hidden",
             str(HIDDEN), "--checkpoint-every", "50", "--data", str(data), "--out", str(out),
             "--no-graph"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120  # a guard against a hang, not a timing check
        while not ckpt.exists():
            assert proc.poll() is None, f"training died early:\n{log.read_text()}"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
        # seeded, and each moment in its own window, so the three kills land apart
        time.sleep(random.Random(moment).uniform(0.2 * moment, 0.2 * (moment + 1)))
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    meta, _, _ = makemore.load_checkpoint(ckpt)  # intact: written atomically
    makemore.model_from_checkpoint(ckpt)
    step = meta["step"]
    assert step % 50 == 0 and 50 <= step < 5000
    lock = out / makemore.LOCK
    assert f"pid {proc.pid} " in lock.read_text(), "the killed run's lock file is not there"
    # what a kill during a save leaves (tempfile.mkstemp's shape), and a file of the user's
    stale = out / f"{makemore.CHECKPOINT}.x1y2z3ab.tmp"
    stale.write_bytes(b"half a checkpoint")
    (out / "notes.tmp").write_text("mine")
    code, text, err = run_main(train_argv(data, out, step + 100, "--checkpoint-every", 50,
                                          "--resume"))
    assert code == 0, err
    assert f"resumed from {ckpt} at step {step}" in text
    assert f"took over {lock}" in text and f"pid {proc.pid} " in text
    assert makemore.load_checkpoint(ckpt)[0]["step"] == step + 100
    assert sorted(p.name for p in out.iterdir()) == sorted(["notes.tmp", makemore.CHECKPOINT]
                                                           + ["loss.png"] * has_matplotlib())


# ---- the command line ---------------------------------------------------------------------

def test_train_writes_a_checkpoint_prints_losses_and_samples(tmp_path):
    words = some_names()
    data, out = write_words(tmp_path / "w.txt", words), tmp_path / "out"
    code, text, err = run_main(["train", "--steps", 100, "--hidden", HIDDEN, "--data", data,
                                "--out", out, "--no-graph", "-n", 5])
    assert code == 0, err
    assert (out / makemore.CHECKPOINT).is_file()
    assert not list(out.glob("*.tmp"))
    meta = makemore.load_checkpoint(out / makemore.CHECKPOINT)[0]
    assert meta["step"] == 100
    lines = text.splitlines()
    for split in ("train", "val", "test"):
        printed = [ln for ln in lines if ln.split()[:2] == [split, "loss"]]
        assert len(printed) == 1, text
        assert float(printed[0].split()[2]) == pytest.approx(meta["split_losses"][split],
                                                             abs=5e-5)
    # better than guessing uniformly among the vocabulary after 100 steps
    assert meta["split_losses"]["train"] < math.log(len(meta["vocab"]))
    letters = set(makemore.Vocab.from_words(words).chars[1:])
    assert all(set(name) <= letters for name in lines[-5:]), lines[-5:]
    assert "error" not in err


def test_sample_prints_n_names_of_vocabulary_letters(trained):
    _, out = trained
    letters = set(makemore.load_checkpoint(out / makemore.CHECKPOINT)[0]["vocab"][1:])
    code, text, err = run_main(["sample", "-n", 5, "--out", out, "--seed", 3])
    assert code == 0, err
    names = text.splitlines()
    assert len(names) == 5
    assert all(set(name) <= letters for name in names), names
    assert run_main(["sample", "-n", 5, "--out", out, "--seed", 3])[1] == text  # seeded


def test_check_prints_a_table_and_exits_0(trained):
    data, _ = trained
    code, text, err = run_main(["check", "--hidden", HIDDEN, "--data", data])
    assert code == 0, err
    for name in ("loss", "logprobs", "counts_sum_inv", "logits", "hpreact", "bnvar_inv",
                 "bndiff", "hprebn", "embcat", "emb", "C", "W1", "b1", "W2", "b2"):
        assert any(line.split()[:1] == [name] for line in text.splitlines()), name


def test_graph_draws_svg_and_png(trained, tmp_path):
    data, _ = trained
    code, text, err = run_main(["graph", "--hidden", HIDDEN, "--data", data, "--out", tmp_path])
    assert code == 0, err
    svg, png = tmp_path / "graph.svg", tmp_path / "graph.png"
    assert "hprebn" in svg.read_text(encoding="utf-8")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(svg) in text and str(png) in text


# ---- bad input: exit code 2, one 'error:' line, no file touched --------------------------------

def copy_checkpoint(trained, folder, mangle=None):
    """The trained checkpoint copied into `folder`, optionally changed by mangle(bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    blob = (trained[1] / makemore.CHECKPOINT).read_bytes()
    (folder / makemore.CHECKPOINT).write_bytes(mangle(blob) if mangle else blob)
    return folder


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def meta_array(meta):
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def other_config_arrays(blob):
    """Our meta (hidden 16) with the arrays of a hidden-32 model: a checkpoint that lies."""
    meta, _ = npz_arrays(io.BytesIO(blob))
    bigger = makemore.MLP(len(meta["vocab"]), hidden=2 * HIDDEN).state_dict()
    return npz_bytes(meta=meta_array(meta), **{f"model/{k}": v for k, v in bigger.items()})


def without(key):
    def mangle(blob):
        meta, arrays = npz_arrays(io.BytesIO(blob))
        del meta[key]
        return npz_bytes(meta=meta_array(meta), **arrays)
    return mangle


def npy_bytes(blob):
    buf = io.BytesIO()
    np.save(buf, np.arange(5.0))
    return buf.getvalue()


SAMPLE_CASES = {  # id: (how the checkpoint is mangled, a phrase the error must carry)
    "truncated_to_nothing": (lambda b: b[:0], "not a readable"),
    "truncated_to_1_byte": (lambda b: b[:1], "not a readable"),
    "truncated_to_half": (lambda b: b[:len(b) // 2], "not a readable"),
    "truncated_by_1_byte": (lambda b: b[:-1], "not a readable"),
    "random_bytes": (lambda b: np.random.default_rng(0).bytes(len(b)), "not a readable"),
    "npz_without_meta": (lambda b: npz_bytes(x=np.arange(3)), "not a readable"),
    "npz_with_foreign_meta": (lambda b: npz_bytes(meta=meta_array({"format": "other"})),
                              "not a minigrad makemore checkpoint"),
    "npz_meta_lacks_vocab": (without("vocab"), "lacks vocab"),
    "npy_file": (npy_bytes, "single .npy array"),
    "arrays_of_another_config": (other_config_arrays, "does not fit"),
}


def fails_cleanly(argv, folder):
    """Run main; it must return 2, print exactly one 'error: ...' line, change no file."""
    before = snapshot(folder)
    code, text, err = run_main(argv)
    assert code == 2, (text, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert snapshot(folder) == before, "a failing command changed or left files"
    return lines[0]


@pytest.mark.parametrize("case", list(SAMPLE_CASES))
def test_sample_from_a_bad_checkpoint_fails_cleanly(trained, tmp_path, case):
    mangle, phrase = SAMPLE_CASES[case]
    out = copy_checkpoint(trained, tmp_path / "out", mangle)
    assert phrase in fails_cleanly(["sample", "-n", 3, "--out", out], out)


def test_sample_without_a_checkpoint_fails_cleanly(tmp_path):
    assert "no checkpoint" in fails_cleanly(["sample", "--out", tmp_path], tmp_path)


@pytest.mark.parametrize("case", ["truncated_to_half", "random_bytes", "npz_meta_lacks_vocab",
                                  "arrays_of_another_config"])
def test_resume_from_a_bad_checkpoint_fails_cleanly(trained, tmp_path, case):
    mangle, phrase = SAMPLE_CASES[case]
    out = copy_checkpoint(trained, tmp_path / "out", mangle)
    error = fails_cleanly(train_argv(trained[0], out, 60, "--resume"), out)
    assert phrase in error


def test_train_with_bad_data_fails_cleanly(trained, tmp_path):
    out = copy_checkpoint(trained, tmp_path / "out")  # an earlier run's checkpoint
    missing = tmp_path / "missing.txt"
    assert "not found" in fails_cleanly(train_argv(missing, out, 60), out)
    empty = write_words(tmp_path / "empty.txt", [])
    assert "empty" in fails_cleanly(train_argv(empty, out, 60), out)
    dotted = write_words(tmp_path / "dotted.txt", ["ava", "st.john"])
    assert "reserved" in fails_cleanly(train_argv(dotted, out, 60), out)


def test_resume_with_characters_outside_the_vocabulary_fails_cleanly(trained, tmp_path):
    out = copy_checkpoint(trained, tmp_path / "out")
    vocab = makemore.load_checkpoint(out / makemore.CHECKPOINT)[0]["vocab"]
    assert "-" not in vocab and "é" not in vocab
    data = write_words(tmp_path / "w.txt", some_names()[:100] + ["jean-luc", "zoé"])
    error = fails_cleanly(train_argv(data, out, 60, "--resume"), out)
    assert "-é" in error and "vocabulary" in error


def test_resume_with_another_configuration_fails_cleanly(trained, tmp_path):
    out = copy_checkpoint(trained, tmp_path / "out")
    argv = train_argv(trained[0], out, 60, "--resume")
    argv[argv.index("--hidden") + 1] = str(2 * HIDDEN)
    assert "hidden" in fails_cleanly(argv, out)


def test_resume_without_a_checkpoint_fails_cleanly(trained, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert "no checkpoint" in fails_cleanly(train_argv(trained[0], out, 60, "--resume"), out)


def test_resume_past_the_requested_steps_fails_cleanly(trained, tmp_path):
    out = copy_checkpoint(trained, tmp_path / "out")  # trained for 30 steps
    assert "past --steps" in fails_cleanly(train_argv(trained[0], out, 10, "--resume"), out)


def test_the_process_exits_2_without_a_traceback(tmp_path):
    """The real process: sys.exit(main()) turns the 2 into the exit status."""
    (tmp_path / makemore.CHECKPOINT).write_bytes(b"PK\x03\x04 not really a zip")
    proc = subprocess.run([sys.executable, "-m", "models.makemore", "sample", "--out",
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
