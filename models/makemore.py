"""makemore on minigrad: the character-level MLP with batchnorm from the lectures.

    python -m models.makemore train  [--steps N | --full] [--hidden 200] [--out DIR] ...
    python -m models.makemore sample -n 20 [--out DIR]
    python -m models.makemore check  [--dtype float64]
    python -m models.makemore graph  [--out DIR] [--collapse]

The model is the seed lecture's: a 3-character context, a 10-dimensional embedding, Linear,
BatchNorm with the n-1 (Bessel) variance, tanh, Linear, and the cross-entropy written out
step by step (the fused one by flag). Every intermediate carries the lecture's name as its
label, so the `check` table and the graph picture use the lecture's words.

This file holds data loading, the model, training, evaluation, sampling, checkpoints and the
command line. It does not hold engine code (minigrad) or drawing code (viz).
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

import minigrad
from minigrad import nn, optim

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "data" / "names.txt"
CHECKPOINT = "model.npz"
FULL_STEPS = 200_000


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated, foreign, or made for another configuration."""


def _one_line(error):
    """load_state_dict's multi-line message folded into one line, for an 'error: ...' line."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


# ---- data ------------------------------------------------------------------------------

def load_words(path):
    """One word per line; blank lines are skipped. Raises clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    words = [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]
    if not words:
        raise ValueError(f"data file is empty: {path} (expected one word per line)")
    if any("." in w for w in words):
        raise ValueError(f"{path}: '.' is reserved as the start/end token and may not appear "
                         "in a word")
    return words


class Vocab:
    """Characters <-> integers; '.' (0) marks both the start and the end of a word."""

    def __init__(self, chars):
        self.chars = "." + "".join(sorted(set(chars) - {"."}))
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_words(cls, words):
        return cls("".join(words))

    def __len__(self):
        return len(self.chars)

    def encode(self, word):
        unknown = sorted(set(word) - set(self.stoi))
        if unknown:
            raise ValueError(f"characters {''.join(unknown)!r} are not in the model's "
                             f"vocabulary {self.chars[1:]!r}")
        return [self.stoi[c] for c in word]

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


def build_dataset(words, vocab, block_size=3):
    """Every (context, next character) pair: X (N, block_size) and Y (N,), int64."""
    X, Y = [], []
    for word in words:
        context = [0] * block_size
        for ix in vocab.encode(word) + [0]:
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return np.array(X, dtype=np.int64).reshape(-1, block_size), np.array(Y, dtype=np.int64)


def split_words(words, seed=42):
    """The lectures' 80/10/10 split by words, after random.seed(42); random.shuffle."""
    words = list(words)
    random.seed(seed)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return words[:n1], words[n1:n2], words[n2:]


# ---- model -----------------------------------------------------------------------------

class MLP(nn.Module):
    """Embedding -> Linear -> BatchNorm (n-1) -> tanh -> Linear.

    init="seed": the seed notebook's cell 154, which makes biases and batchnorm parameters
    non-zero on purpose, so that a wrong gradient cannot hide behind a zero (check, graph).
    init="lecture": the lectures' training initialisation (makemore part 3): the same Kaiming
    W1, but a small W2 (x0.01) and zero b2, so the first loss is near ln(vocab) instead of
    wasting steps on a confidently wrong start, and batchnorm's gain 1 and bias 0.
    """

    def __init__(self, vocab_size, block_size=3, n_embd=10, hidden=200, seed=2147483647,
                 fused_ce=False, init="seed"):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, block_size=block_size, n_embd=n_embd,
                           hidden=hidden)
        self.fused_ce = fused_ce
        g = minigrad.Generator().manual_seed(seed)
        fan_in = block_size * n_embd
        self.embedding = nn.Embedding(vocab_size, n_embd, generator=g)
        self.linear1 = nn.Linear(fan_in, hidden, generator=g)
        self.batchnorm = nn.BatchNorm1d(hidden, unbiased_normalization=True)
        self.tanh = nn.Tanh()
        self.linear2 = nn.Linear(hidden, vocab_size, generator=g)
        rng = g.rng
        with minigrad.no_grad():
            # the seed's initialisation, in torch's (out, in) weight layout
            self.linear1.weight.data[...] = rng.standard_normal((hidden, fan_in)) * (
                5 / 3) / fan_in ** 0.5  # Kaiming gain for tanh
            self.linear1.bias.data[...] = rng.standard_normal(hidden) * 0.1
            self.linear2.weight.data[...] = rng.standard_normal((vocab_size, hidden)) * 0.1
            self.linear2.bias.data[...] = rng.standard_normal(vocab_size) * 0.1
            self.batchnorm.weight.data[...] = rng.standard_normal(hidden) * 0.1 + 1.0
            self.batchnorm.bias.data[...] = rng.standard_normal(hidden) * 0.1
            if init == "lecture":
                self.linear2.weight.data *= 0.1  # 0.1 * 0.1 = the lecture's 0.01
                self.linear2.bias.data[...] = 0
                self.batchnorm.weight.data[...] = 1
                self.batchnorm.bias.data[...] = 0
            elif init != "seed":
                raise ValueError(f"init must be 'seed' or 'lecture', not {init!r}")
        for name, p in [("C", self.embedding.weight), ("W1", self.linear1.weight),
                        ("b1", self.linear1.bias), ("bngain", self.batchnorm.weight),
                        ("bnbias", self.batchnorm.bias), ("W2", self.linear2.weight),
                        ("b2", self.linear2.bias)]:
            p.label = name

    def forward(self, X):
        """Logits (N, vocab) for contexts X (N, block_size)."""
        emb = self.embedding(X)
        emb.label = "emb"
        embcat = emb.view(emb.shape[0], -1)  # (N, block, n_embd) -> (N, block * n_embd)
        embcat.label = "embcat"
        hprebn = self.linear1(embcat)
        hprebn.label = "hprebn"
        hpreact = self.batchnorm(hprebn)
        hpreact.label = "hpreact"
        h = self.tanh(hpreact)
        h.label = "h"
        logits = self.linear2(h)
        logits.label = "logits"
        return logits

    def loss(self, X, Y):
        logits = self(X)
        if self.fused_ce:
            loss = nn.cross_entropy(logits, Y)
            loss.label = "loss"
            return loss
        return stepwise_cross_entropy(logits, Y)


def stepwise_cross_entropy(logits, Y):
    """The seed's cross-entropy, one small node at a time, each labelled as in the lecture."""
    n = logits.shape[0]
    with minigrad.scope("cross_entropy"):
        logit_maxes = logits.max(1, keepdim=True).values
        norm_logits = logits - logit_maxes  # subtract the max: exp cannot overflow
        counts = norm_logits.exp()
        counts_sum = counts.sum(1, keepdim=True)
        counts_sum_inv = counts_sum ** -1
        probs = counts * counts_sum_inv
        logprobs = probs.log()
        loss = -logprobs[range(n), Y].mean()
    for name, t in [("logit_maxes", logit_maxes), ("norm_logits", norm_logits),
                    ("counts", counts), ("counts_sum", counts_sum),
                    ("counts_sum_inv", counts_sum_inv), ("probs", probs),
                    ("logprobs", logprobs), ("loss", loss)]:
        t.label = name
    return loss


# ---- checkpoints -----------------------------------------------------------------------

def save_checkpoint(path, model, optimizer, meta):
    """Write atomically: a temporary file in the same folder, fsync, then rename over.

    A run killed at any moment leaves either the previous checkpoint or the new one, never
    a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    # the optimizer's arrays (momentum buffers) go in as arrays, its settings into the JSON
    arrays.update({f"optim/{pos}/{name}": np.asarray(value)
                   for pos, entry in opt_state["state"].items()
                   for name, value in entry.items()})
    meta = dict(meta, param_groups=opt_state["param_groups"])
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path):
    """(meta, model arrays, optimizer state) from a checkpoint, or a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train first: python -m "
                              f"models.makemore train --out {path.parent}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):  # a .npy file holds one array, not named ones
            raise CheckpointError(f"{path} is a single .npy array, not a minigrad makemore "
                                  "checkpoint")
        with loaded as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError,
            UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not a readable minigrad makemore checkpoint "
                              f"(truncated or foreign file): {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != "minigrad-makemore/1":
        raise CheckpointError(f"{path} is not a minigrad makemore checkpoint")
    # checked here so that sample and --resume fail with this message, not a KeyError
    missing = [k for k in ("vocab", "block_size", "n_embd", "hidden", "step", "losses", "rng")
               if k not in meta]
    if missing:
        raise CheckpointError(f"{path} is damaged: its metadata lacks {', '.join(missing)}")
    model = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    state = {}
    for key, value in arrays.items():
        if key.startswith("optim/"):
            _, pos, name = key.split("/", 2)
            state.setdefault(int(pos), {})[name] = value
    opt = {"state": state, "param_groups": meta.get("param_groups", [])}
    return meta, model, opt


def model_from_checkpoint(path):
    meta, state, _ = load_checkpoint(path)
    model = MLP(len(meta["vocab"]), **{k: meta[k] for k in ("block_size", "n_embd",
                                                            "hidden")})
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not fit the model it describes: "
                              f"{_one_line(e)}") from None
    model.eval()
    return meta, Vocab(meta["vocab"][1:]), model


# ---- training --------------------------------------------------------------------------

class ProgressBar:
    """A one-line progress bar on stderr: steps, rate, ETA and the running loss."""

    def __init__(self, total, start=0, width=30, stream=None):
        # sys.stderr looked up now, not at import: redirect_stderr and capsys then see the bar
        stream = sys.stderr if stream is None else stream
        self.total, self.start, self.width, self.stream = total, start, width, stream
        self.t0 = self.last = time.perf_counter()
        self.tty = stream.isatty()

    def update(self, step, loss, force=False):
        now = time.perf_counter()
        # a terminal redraws 10 times a second; a log file gets a line every 10%
        due = now - self.last >= 0.1 if self.tty else (step * 10) % self.total < 10
        if not (due or force):
            return
        self.last = now
        done = (step - self.start) / max(now - self.t0, 1e-9)
        eta = (self.total - step) / max(done, 1e-9)
        filled = int(self.width * step / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"[{bar}] {step:>7}/{self.total} {done:7.0f} it/s eta {eta:5.0f}s "
                f"loss {loss:.4f}")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")


def train(args):
    words = load_words(args.data)
    vocab = Vocab.from_words(words)
    train_w, val_w, test_w = split_words(words)
    Xtr, Ytr = build_dataset(train_w, vocab)
    splits = {"train": (Xtr, Ytr), "val": build_dataset(val_w, vocab),
              "test": build_dataset(test_w, vocab)}
    out = Path(args.out)
    ckpt = out / CHECKPOINT
    steps = FULL_STEPS if args.full else args.steps
    meta = dict(format="minigrad-makemore/1", vocab=vocab.chars, block_size=3, n_embd=10,
                hidden=args.hidden, batch_size=args.batch_size, seed=args.seed, steps=steps,
                fused_ce=args.fused_ce, step=0, losses=[])
    model = MLP(len(vocab), hidden=args.hidden, seed=args.seed, fused_ce=args.fused_ce,
                init=args.init)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(args.seed)
    if args.resume:
        old, state, opt_state = load_checkpoint(ckpt)
        foreign = "".join(sorted(set(vocab.chars) - set(old["vocab"])))
        if foreign:
            raise CheckpointError(f"{args.data} has characters {foreign!r} that are not in the "
                                  f"vocabulary of {ckpt} ({old['vocab'][1:]!r})")
        for key in ("vocab", "block_size", "n_embd", "hidden", "batch_size", "fused_ce"):
            if old.get(key) != meta[key]:
                raise CheckpointError(f"{ckpt} was made with {key}={old.get(key)!r}, this run "
                                      f"asks for {key}={meta[key]!r}")
        if old["step"] > steps:
            raise ValueError(f"{ckpt} is at step {old['step']}, past --steps {steps}")
        try:
            model.load_state_dict(state)
            optimizer.load_state_dict(opt_state)
        except (RuntimeError, ValueError) as e:  # arrays that do not fit the meta's config
            raise CheckpointError(f"{ckpt} does not fit the model it describes: "
                                  f"{_one_line(e)}") from None
        meta.update(step=old["step"], losses=old["losses"])
        rng.bit_generator.state = old["rng"]
        print(f"resumed from {ckpt} at step {old['step']}")
    # a run killed while saving leaves its temporary file behind; this run owns --out now
    for stale in ckpt.parent.glob(ckpt.name + ".*.tmp"):
        stale.unlink(missing_ok=True)
    print(f"{len(words)} words, vocabulary {len(vocab)}, {Xtr.shape[0]} training examples, "
          f"{sum(p.numel() for p in model.parameters())} parameters; {steps} steps")
    bar = ProgressBar(steps, start=meta["step"])
    t0, window = time.perf_counter(), []
    for step in range(meta["step"], steps):
        ix = rng.integers(0, Xtr.shape[0], args.batch_size)
        loss = model.loss(minigrad.tensor(Xtr[ix]), minigrad.tensor(Ytr[ix]))
        optimizer.zero_grad()
        loss.backward()
        # the lectures' step decay: lr 0.1, then 0.01 for the second half
        optimizer.param_groups[0]["lr"] = 0.1 if step < steps // 2 else 0.01
        optimizer.step()
        window.append(loss.item())
        if len(window) == 1000 or step == steps - 1:
            meta["losses"].append(float(np.mean(window)))
            window = []
        bar.update(step + 1, loss.item(), force=step == steps - 1)
        if (step + 1) % args.checkpoint_every == 0 or step == steps - 1:
            meta.update(step=step + 1, rng=rng.bit_generator.state)
            save_checkpoint(ckpt, model, optimizer, meta)
    bar.close()
    elapsed = time.perf_counter() - t0
    calibrate_batchnorm(model, Xtr)
    meta["split_losses"] = {name: evaluate(model, X, Y) for name, (X, Y) in splits.items()}
    meta.update(step=steps, rng=rng.bit_generator.state, train_seconds=elapsed)
    save_checkpoint(ckpt, model, optimizer, meta)
    for name, value in meta["split_losses"].items():
        print(f"{name:5s} loss {value:.4f}")
    print(f"trained {steps} steps in {elapsed:.1f} s; checkpoint {ckpt}")
    plot_losses(meta["losses"], out / "loss.png")
    return model, vocab, meta


def calibrate_batchnorm(model, X, chunk=20_000):
    """Set batchnorm's running mean and (n-1) variance from the whole training set.

    The lectures do this after training instead of trusting the running averages.
    """
    with minigrad.no_grad():
        hs = [model.linear1(model.embedding(minigrad.tensor(X[i:i + chunk])).view(
            min(chunk, len(X) - i), -1)).data for i in range(0, len(X), chunk)]
    h = np.concatenate(hs).astype(np.float64)
    bn = model.batchnorm
    bn.running_mean.data[...] = h.mean(0)
    bn.running_var.data[...] = h.var(0, ddof=1)


def evaluate(model, X, Y, chunk=20_000):
    """Mean cross-entropy over a whole split, with batchnorm in eval mode."""
    model.eval()
    total = 0.0
    with minigrad.no_grad():
        for i in range(0, len(X), chunk):
            logits = model(minigrad.tensor(X[i:i + chunk]))
            total += nn.cross_entropy(logits, minigrad.tensor(Y[i:i + chunk])).item() * len(
                X[i:i + chunk])
    model.train()
    return total / len(X)


def plot_losses(losses, path):
    """log10 of the loss averaged over 1,000 steps; written only where matplotlib exists."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no loss plot; pip install matplotlib)")
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(1, len(losses) + 1) * 1000, np.log10(losses))
    ax.set_xlabel("step")
    ax.set_ylabel("log10 loss (mean of 1,000 steps)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"loss plot {path}")
    return path


def sample(model, vocab, n=20, seed=None, block_size=3, max_len=50):
    """Draw n names: start from '...', feed back each drawn character until '.'."""
    g = minigrad.Generator().manual_seed(seed) if seed is not None else None
    model.eval()
    names = []
    with minigrad.no_grad():
        for _ in range(n):
            context, out = [0] * block_size, []
            for _ in range(max_len):
                logits = model(minigrad.tensor([context]))
                probs = minigrad.softmax(logits, 1)[0]
                ix = minigrad.multinomial(probs, 1, generator=g).item()
                if ix == 0:
                    break
                out.append(ix)
                context = context[1:] + [ix]
            names.append(vocab.decode(out))
    return names


# ---- one step's graph: check table and picture -----------------------------------------

def one_step_graph(data, hidden, seed=2147483647, batch_size=32, fused_ce=False):
    """Forward and backward of one training step on a batch from `data`; returns the loss."""
    words = load_words(data)
    vocab = Vocab.from_words(words)
    X, Y = build_dataset(split_words(words)[0], vocab)
    ix = np.random.default_rng(seed).integers(0, X.shape[0], batch_size)
    model = MLP(len(vocab), hidden=hidden, seed=seed, fused_ce=fused_ce)
    loss = model.loss(minigrad.tensor(X[ix]), minigrad.tensor(Y[ix]))
    loss.backward()
    return loss


def check(args):
    from minigrad.check import compare_with_torch

    loss = one_step_graph(args.data, args.hidden, fused_ce=args.fused_ce)
    report = compare_with_torch(loss, dtype=args.dtype)
    print(report)
    return 0 if report.ok else 1


def graph(args):
    import viz

    loss = one_step_graph(args.data, args.hidden, fused_ce=args.fused_ce)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    collapse = ["batchnorm", "cross_entropy"] if args.collapse else []
    written = []
    for fmt in ("svg", "png"):
        path = viz.render(loss, out / "graph", format=fmt, collapse=collapse,
                          on_missing=args.on_missing)
        if path:
            written.append(str(path))
    print("graph: " + (", ".join(written) if written else "not drawn (see the warning)"))
    return 0


# ---- command line ----------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m models.makemore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--data", default=str(DEFAULT_DATA), help="a file with one word a line")
        p.add_argument("--hidden", type=int, default=200, help="hidden units (64 as the seed)")
        p.add_argument("--fused-ce", action="store_true",
                       help="fused cross-entropy instead of the seed's step-by-step one")
        p.add_argument("--out", default="out", help="folder for checkpoint and pictures")
        return p

    p = common(sub.add_parser("train", help="train, evaluate, sample 20 names, draw a step"))
    p.add_argument("--steps", type=int, default=30_000)
    p.add_argument("--full", action="store_true",
                   help=f"the lectures' full schedule: {FULL_STEPS} steps")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=2147483647)
    p.add_argument("--init", choices=["seed", "lecture"], default="lecture",
                   help="initialisation: the seed notebook's, or the lectures' training one")
    p.add_argument("--resume", action="store_true", help="continue from --out/model.npz")
    p.add_argument("--checkpoint-every", type=int, default=5_000)
    p.add_argument("--tune-malloc", action="store_true",
                   help="keep freed memory in the process (glibc): faster at large batches")
    p.add_argument("--no-graph", action="store_true", help="skip drawing the graph")
    p.add_argument("-n", type=int, default=20, help="names to sample after training")

    p = sub.add_parser("sample", help="sample names from a trained checkpoint")
    p.add_argument("--out", default="out", help="folder holding model.npz")
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--seed", type=int, default=None)

    p = common(sub.add_parser("check", help="every node of one step against torch"))
    p.add_argument("--dtype", choices=["float32", "float64"], default=None,
                   help="replay torch in this precision (default: the graph's own)")

    p = common(sub.add_parser("graph", help="draw one training step's graph (SVG and PNG)"))
    p.add_argument("--collapse", action="store_true", help="draw scopes as single boxes")

    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            if args.steps < 1:
                parser.error("--steps must be at least 1")
            if args.tune_malloc:
                from minigrad.allocator import tune_malloc
                tune_malloc()
            model, vocab, _ = train(args)
            for name in sample(model, vocab, args.n, seed=args.seed):
                print(name)
            if not args.no_graph:
                args.collapse, args.on_missing = False, "warn"
                graph(args)
            return 0
        if args.command == "sample":
            _, vocab, model = model_from_checkpoint(Path(args.out) / CHECKPOINT)
            for name in sample(model, vocab, args.n, seed=args.seed):
                print(name)
            return 0
        if args.command == "check":
            if args.dtype:
                import torch
                args.dtype = getattr(torch, args.dtype)
            return check(args)
        if args.command == "graph":
            args.on_missing = "raise"
            return graph(args)
    except (CheckpointError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
