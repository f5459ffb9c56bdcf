"""makemore on minigrad: the character-level MLP with batchnorm from the lectures.

    python -m models.makemore train  [--steps N | --full] [--hidden 200] [--out DIR] ...
                                     [--eager]
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
import fcntl
import json
import math
import os
import random
import re
import socket
import sys
import tempfile
import time
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

import minigrad
from minigrad import nn, optim

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "data" / "names.txt"
CHECKPOINT = "model.npz"
LOCK = "makemore.lock"
FULL_STEPS = 200_000
LOSS_WINDOW = 1000  # the loss history holds one mean per this many steps
# What save_checkpoint's temporary files look like (tempfile.mkstemp: 8 characters of
# [a-z0-9_]); start-up removes only files of exactly this shape, never anything else.
STALE_TEMPORARY = re.compile(re.escape(CHECKPOINT) + r"\.[a-z0-9_]{8}\.tmp")

# Ranges of the command line's numbers. The upper bounds keep a typo from asking for
# terabytes; batch size 1 is refused because batchnorm cannot normalise a single example.
MAX_HIDDEN = 16_384
LIMITS = {"steps": (1, 10**9), "hidden": (1, MAX_HIDDEN), "batch_size": (2, 65_536),
          "checkpoint_every": (1, 10**9), "n": (0, 100_000), "seed": (0, 2**64 - 1)}


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated, foreign, or made for another configuration."""


class CommandError(Exception):
    """Bad input found before any work: the data file, the --out folder, a busy folder."""


def _one_line(error):
    """load_state_dict's multi-line message folded into one line, for an 'error: ...' line."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


# ---- data ------------------------------------------------------------------------------

def load_words(path):
    """One word per line; blank lines and surrounding spaces are dropped.

    `-` reads standard input (so does /dev/stdin, or any pipe: they are read, not stat'ed).
    Bad files raise errors that name the file, and for undecodable bytes the line.
    """
    if str(path) == "-":
        name, raw = "<stdin>", sys.stdin.buffer.read()
    else:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"data file not found: {path}")
        if path.is_dir():
            raise CommandError(f"data file {path} is a folder, not a file of words")
        name, raw = str(path), path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise CommandError(f"{name}, line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x} "
                           f"at byte {column} of the line)") from None
    del raw
    words = [w.strip() for w in text.splitlines() if w.strip()]
    if not words:
        raise ValueError(f"data file is empty: {name} (expected one word per line)")
    if "." in text and any("." in w for w in words):
        raise ValueError(f"{name}: '.' is reserved as the start/end token and may not appear "
                         "in a word")
    return words


# The 80/10/10 split leaves every part non-empty from this many words on (checked for every
# count up to 100,000 in the tests): below it, validation or training would be empty.
MIN_WORDS = 6


def split_sizes(n):
    """(train, val, test) word counts of split_words for n words."""
    n1, n2 = int(0.8 * n), int(0.9 * n)
    return n1, n2 - n1, n - n2


def check_splittable(words, name):
    if len(words) < MIN_WORDS:
        raise CommandError(f"{name} has {len(words)} word{'s' * (len(words) != 1)}; the "
                           f"80/10/10 train/val/test split needs at least {MIN_WORDS}")


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


def index_dtype(vocab_size):
    """The smallest integer type that holds every character index: uint8 for up to 256."""
    return np.min_scalar_type(vocab_size - 1)


def build_dataset(words, vocab, block_size=3, dtype=np.int64):
    """Every (context, next character) pair: X (N, block_size) and Y (N,), in the seed's order
    (word by word; each word's characters, then its '.' ending).

    Built with numpy from one stream of character indices, not lists of lists (2,000,000 words
    make about 16,000,000 rows). Y is the stream of all words, each followed by its '.' (0).
    The context of a row is the k previous entries of the stream, where those lie in the same
    word, else '.': X[r, block_size - k] = Y[r - k] if the row is at position >= k of its word.
    """
    stream = ".".join(words) + "." if words else ""
    codes = np.frombuffer(stream.encode("utf-32-le"), dtype=np.uint32)  # one per character
    del stream
    # code point -> index (-1: not in the vocabulary); at most 0x110000 entries
    vocab_codes = [ord(c) for c in vocab.chars]
    table = np.full(max(int(codes.max(initial=0)), *vocab_codes) + 1, -1, dtype=np.int32)
    table[vocab_codes] = np.arange(len(vocab))
    ids = table[codes]
    del codes
    if (ids < 0).any():
        vocab.encode("".join(words))  # raises, naming the unknown characters
    Y = ids.astype(dtype)
    del ids
    n = len(Y)
    # each row's position inside its word: +1 a row, and at each word's first row a step
    # back by the previous word's length (its characters and its '.'), then a running sum
    index = np.int32 if n < 2**31 else np.int64
    lengths = np.fromiter(map(len, words), dtype=index, count=len(words)) + 1
    position = np.ones(n, dtype=index)
    if n:
        position[0] = 0
        position[np.cumsum(lengths[:-1])] = 1 - lengths[:-1]
    np.cumsum(position, out=position)
    del lengths
    X = np.zeros((n, block_size), dtype=dtype)
    for k in range(1, min(block_size, n) + 1):  # k characters back, where the word has them
        X[k:, block_size - k] = np.where(position[k:] >= k, Y[:n - k], 0)
    return X, Y


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
    wasting steps on a confidently wrong start, and batchnorm's gain 1 and bias 0 (not drawn,
    as in the lecture).
    """

    def __init__(self, vocab_size, block_size=3, n_embd=10, hidden=200, seed=2147483647,
                 fused_ce=False, init="seed", generator=None):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, block_size=block_size, n_embd=n_embd,
                           hidden=hidden)
        self.fused_ce = fused_ce
        # The seed notebook's initialisation, drawn as it draws it: torch.randn from one
        # generator seeded with `seed` (minigrad's draws torch's numbers), tensor by tensor in
        # the notebook's order and (in, out) layout, so the weights are the notebook's.
        # (The notebook draws bngain and bnbias from torch's global generator; we use g.)
        # `generator`: draw from it instead (train goes on to draw its minibatches from it,
        # as the lectures draw torch.randint(..., generator=g) after the parameters).
        g = generator if generator is not None else minigrad.Generator().manual_seed(seed)
        fan_in = block_size * n_embd
        self.embedding = nn.Embedding(vocab_size, n_embd, generator=g)  # C: the first draw
        spare = minigrad.Generator()  # the Linear layers' own init, overwritten below
        self.linear1 = nn.Linear(fan_in, hidden, generator=spare)
        self.batchnorm = nn.BatchNorm1d(hidden, unbiased_normalization=True)
        self.tanh = nn.Tanh()
        self.linear2 = nn.Linear(hidden, vocab_size, generator=spare)

        def randn(*shape):
            return minigrad.randn(*shape, generator=g)

        with minigrad.no_grad():
            W1 = randn(fan_in, hidden) * (5 / 3) / fan_in ** 0.5  # Kaiming gain for tanh
            self.linear1.weight.data[...] = W1.numpy().T  # torch's (out, in) layout
            self.linear1.bias.data[...] = (randn(hidden) * 0.1).numpy()
            if init not in ("seed", "lecture"):
                raise ValueError(f"init must be 'seed' or 'lecture', not {init!r}")
            lecture = init == "lecture"
            # the lecture: W2 = randn * 0.01, b2 = randn * 0 (drawn, then zero), and bngain,
            # bnbias = ones, zeros, not drawn: the next draw from g is the first minibatch
            W2 = randn(hidden, vocab_size) * (0.01 if lecture else 0.1)
            self.linear2.weight.data[...] = W2.numpy().T
            self.linear2.bias.data[...] = 0 if lecture else (randn(vocab_size) * 0.1).numpy()
            if lecture:
                randn(vocab_size)
                self.batchnorm.weight.data[...] = 1
                self.batchnorm.bias.data[...] = 0
            else:
                self.batchnorm.weight.data[...] = (randn(hidden) * 0.1 + 1.0).numpy()
                self.batchnorm.bias.data[...] = (randn(hidden) * 0.1).numpy()
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
    """The lecture's cross-entropy, one small node at a time, each labelled as in the lecture
    (the one formula, minigrad.nn.functional.stepwise_cross_entropy), in its own scope."""
    with minigrad.scope("cross_entropy"):
        return nn.functional.stepwise_cross_entropy(logits, Y)


# ---- checkpoints -----------------------------------------------------------------------

def _umask():
    """The process's umask (read by setting it and setting it back: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_checkpoint(path, model, optimizer, meta):
    """Write atomically: a temporary file in the same folder, fsync, then rename over.

    A run killed at any moment leaves either the previous checkpoint or the new one, never
    a half-written file. The file gets the mode of any file the user creates (0666 less the
    umask), not mkstemp's private 0600.
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
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# Limits of the loader. Every array's shape follows from the metadata (vocabulary, hidden,
# ...), so each member's size is known before it is read; these bound the metadata itself.
MAX_META_BYTES = 16 * 2**20
MAX_MEMBER_BYTES = 2**30
MAX_VOCAB = 2**16
MAX_BLOCK, MAX_EMBD = 64, 4096
OPTIMIZER_STATE = ("momentum_buffer", "exp_avg", "exp_avg_sq", "step")


def state_shapes(vocab_size, block_size, n_embd, hidden):
    """MLP's state_dict keys -> shapes, in parameters() order first, without building it
    (the loader checks a checkpoint against these before it allocates anything)."""
    return {"embedding.weight": (vocab_size, n_embd),
            "linear1.weight": (hidden, block_size * n_embd), "linear1.bias": (hidden,),
            "batchnorm.weight": (hidden,), "batchnorm.bias": (hidden,),
            "linear2.weight": (vocab_size, hidden), "linear2.bias": (vocab_size,),
            "batchnorm.running_mean": (hidden,), "batchnorm.running_var": (hidden,),
            "batchnorm.num_batches_tracked": ()}


PARAMETERS = 7  # the first 7 entries of state_shapes are the parameters, in order


def _is_int(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_meta(meta, path):
    """Every metadata entry has the type and range it should; raise CheckpointError if not."""
    if not isinstance(meta, dict) or meta.get("format") != "minigrad-makemore/1":
        raise CheckpointError(f"{path} is not a minigrad makemore checkpoint")
    # checked here so that sample and --resume fail with this message, not a KeyError
    missing = [k for k in ("vocab", "block_size", "n_embd", "hidden", "step", "losses", "rng")
               if k not in meta]
    if missing:
        raise CheckpointError(f"{path} is damaged: its metadata lacks {', '.join(missing)}")
    vocab = meta["vocab"]
    checks = {
        "vocab": isinstance(vocab, str) and 2 <= len(vocab) <= MAX_VOCAB
        and vocab[0] == "." and len(set(vocab)) == len(vocab),
        "block_size": _is_int(meta["block_size"], 1, MAX_BLOCK),
        "n_embd": _is_int(meta["n_embd"], 1, MAX_EMBD),
        "hidden": _is_int(meta["hidden"], 1, MAX_HIDDEN),
        "step": _is_int(meta["step"], 0, LIMITS["steps"][1]),
        "steps": _is_int(meta.get("steps", 1), *LIMITS["steps"]),
        "batch_size": _is_int(meta.get("batch_size", 2), *LIMITS["batch_size"]),
        "seed": _is_int(meta.get("seed", 0), *LIMITS["seed"]),
        "fused_ce": isinstance(meta.get("fused_ce", False), bool),
        "losses": isinstance(meta["losses"], list) and all(map(_is_number, meta["losses"])),
        "loss_window": isinstance(meta.get("loss_window", []), list)
        and all(map(_is_number, meta.get("loss_window", []))),
        "rng": meta["rng"] is None or isinstance(meta["rng"], dict),
        "param_groups": isinstance(meta.get("param_groups", []), list) and all(
            isinstance(g, dict) and isinstance(g.get("params"), list)
            and all(_is_int(i, 0, PARAMETERS - 1) for i in g["params"])
            for g in meta.get("param_groups", [])),
    }
    bad = [key for key, ok in checks.items() if not ok]
    if bad:
        key = bad[0]
        raise CheckpointError(f"{path} is damaged: metadata {key}={meta.get(key)!r:.60} is not "
                              f"{META_TYPES[key]}")
    if meta["rng"] is not None:
        try:  # a state the generator refuses (wrong keys, types or values) is refused here
            generator_from_state(meta["rng"])
        except (TypeError, ValueError, KeyError, RuntimeError) as e:
            raise CheckpointError(f"{path} is damaged: metadata rng is not a generator state "
                                  f"({e})") from None


# The minibatch generator in a checkpoint: minigrad's (torch's mt19937), its 5056-byte state
# in hex. Checkpoints written before train drew torch's numbers hold numpy's PCG64 state
# instead ({"bit_generator": ...}): they still load and sample, but cannot be resumed.
RNG_KIND = "minigrad.Generator"


def generator_state(g):
    return {"generator": RNG_KIND, "state": g.get_state().numpy().tobytes().hex()}


def generator_from_state(rng):
    """The minigrad.Generator a checkpoint's rng describes; None for a legacy numpy state."""
    if "bit_generator" in rng:  # numpy's, from an older minigrad: checked, not usable
        np.random.default_rng().bit_generator.state = rng
        return None
    if rng.get("generator") != RNG_KIND or not isinstance(rng.get("state"), str):
        raise ValueError(f"expected {{'generator': {RNG_KIND!r}, 'state': hex}}")
    return minigrad.Generator().set_state(np.frombuffer(bytes.fromhex(rng["state"]), np.uint8))


META_TYPES = {
    "vocab": "a string of distinct characters starting with '.'",
    "block_size": f"an integer from 1 to {MAX_BLOCK}",
    "n_embd": f"an integer from 1 to {MAX_EMBD}",
    "hidden": f"an integer from 1 to {MAX_HIDDEN}",
    "step": "a non-negative integer", "steps": "a positive integer",
    "batch_size": "an integer from {} to {}".format(*LIMITS["batch_size"]),
    "seed": "a non-negative integer", "fused_ce": "true or false",
    "losses": "a list of numbers", "loss_window": "a list of numbers",
    "rng": "a generator state", "param_groups": "a list of optimizer groups",
}


def _expected_arrays(meta):
    """Member name -> (shape, allowed dtypes) for every array the metadata allows."""
    shapes = state_shapes(len(meta["vocab"]), meta["block_size"], meta["n_embd"],
                          meta["hidden"])
    floats = (np.dtype(np.float32), np.dtype(np.float64))
    expected = {f"model/{k}": (shape, floats) for k, shape in shapes.items()}
    expected["model/batchnorm.num_batches_tracked"] = ((), (np.dtype(np.int64),))
    for pos, shape in enumerate(list(shapes.values())[:PARAMETERS]):
        for name in OPTIMIZER_STATE:
            expected[f"optim/{pos}/{name}"] = (() if name == "step" else shape, floats)
    return expected


def _npy_header(f, where):
    """(shape, fortran_order, dtype, header length) of an .npy stream, read without its data."""
    version = np.lib.format.read_magic(f)
    read = {(1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:
        raise ValueError(f"{where}: unknown .npy version {version}")
    try:
        shape, fortran, dtype = read(f, max_header_size=10_000)
    except (SyntaxError, tokenize.TokenError) as e:  # numpy parses the header as Python
        raise ValueError(f"{where}: unreadable .npy header ({_one_line(e)})") from None
    return shape, fortran, dtype, f.tell()


def _read_member(zf, info, shape, dtypes, path):
    """One array, after its header was compared with what the metadata allows."""
    where = f"{path}: {info.filename}"
    for size, what in ((info.file_size, "holds"), (info.compress_size, "is stored in")):
        if size > MAX_MEMBER_BYTES:
            raise CheckpointError(f"{where} {what} {size} bytes, over the limit of "
                                  f"{MAX_MEMBER_BYTES}")
    with zf.open(info) as f:
        got, fortran, dtype, header = _npy_header(f, where)
        if dtype not in dtypes or got != tuple(shape if shape is not None else got):
            allowed = " or ".join(str(d) for d in dtypes)
            raise CheckpointError(f"{where} does not fit the model its metadata describes: "
                                  f"it is {dtype} {got}, the metadata makes it {allowed} "
                                  f"{shape if shape is not None else ''}".rstrip())
        nbytes = math.prod(got) * dtype.itemsize
        if info.file_size != header + nbytes:
            raise CheckpointError(f"{where} is {info.file_size} bytes; its header says "
                                  f"{header + nbytes}")
        if nbytes > MAX_MEMBER_BYTES:
            raise CheckpointError(f"{where} holds {nbytes} bytes, over the limit of "
                                  f"{MAX_MEMBER_BYTES}")
        array = np.frombuffer(f.read(nbytes), dtype=dtype)
    array = array.reshape(got, order="F" if fortran else "C")
    return np.ascontiguousarray(array) if fortran else array.copy()


def load_checkpoint(path):
    """(meta, model arrays, optimizer state) from a checkpoint, or a CheckpointError.

    Nothing is allocated on the file's word: the metadata is read first (its member has a
    size limit) and checked for types and ranges; every array's header is then compared with
    the shape and dtype the metadata implies before its data is read, and the sizes the zip
    directory states (compressed and not) must fit. Weights that are NaN or infinite are
    refused: a run that diverged must not be resumed or sampled silently.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train first: python -m "
                              f"models.makemore train --out {path.parent}")
    arrays = {}
    try:
        with open(path, "rb") as raw:
            if raw.read(6) == b"\x93NUMPY":  # a .npy file holds one array, not named ones
                raise CheckpointError(f"{path} is a single .npy array, not a minigrad makemore "
                                      "checkpoint")
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            if "meta.npy" not in infos:
                raise KeyError("meta is missing")
            info = infos.pop("meta.npy")
            if info.file_size > MAX_META_BYTES or info.compress_size > MAX_META_BYTES:
                raise CheckpointError(f"{path}: its metadata is {info.file_size} bytes, over "
                                      f"the limit of {MAX_META_BYTES}")
            blob = _read_member(zf, info, None, (np.dtype(np.uint8),), path)
            meta = json.loads(blob.tobytes().decode())
            check_meta(meta, path)
            expected = _expected_arrays(meta)
            for name, info in infos.items():
                key = name[:-len(".npy")] if name.endswith(".npy") else name
                if key not in expected:
                    raise CheckpointError(f"{path} holds an unexpected member {name!r}")
                arrays[key] = _read_member(zf, info, *expected[key], path)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zlib.error, ValueError, KeyError, OSError, EOFError,
            UnicodeDecodeError, NotImplementedError, RuntimeError, tokenize.TokenError) as e:
        # RuntimeError: zipfile's word for an encrypted member (and json's for deep nesting);
        # TokenError: numpy's fallback parser of a damaged .npy header
        raise CheckpointError(f"{path} is not a readable minigrad makemore checkpoint "
                              f"(truncated or foreign file): {_one_line(e)}") from None
    missing = [k for k in expected if k.startswith("model/") and k not in arrays]
    if missing:
        raise CheckpointError(f"{path} is damaged: it lacks {', '.join(missing)}")
    for key, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise CheckpointError(f"{path}: {key} holds NaN or infinite values (a run that "
                                  "diverged?); refusing to use it")
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


# ---- the output folder: checked before training, one run at a time ---------------------

def prepare_out(out):
    """Check that --out is a folder we can write, creating it if needed; True if created."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder")
    created = not out.exists()
    if created:
        try:
            out.mkdir(parents=True)
        except OSError as e:
            raise CommandError(f"--out {out} cannot be created as a folder: "
                               f"{e.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise CommandError(f"--out {out} is a folder we cannot write to")
    return created


class RunLock:
    """One training run per --out folder: an exclusive flock on --out/makemore.lock.

    The kernel drops a flock when its process ends, however it ends, so a lock file left by
    a killed run is free and the next run takes it over: no guessing from pids. The file
    holds the holder's pid and host, for the messages. A run that ends deletes the file while
    still holding the lock; a run that opened the old file meanwhile sees, once it holds the
    lock, that the path now names another file (or none), and starts over.
    """

    def __init__(self, folder):
        self.path = Path(folder) / LOCK
        self.fd = None
        self.previous = ""  # what a run that died holding the lock left in the file

    def __enter__(self):
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as e:
                raise CommandError(f"--out {self.path.parent} is a folder we cannot write to "
                                   f"({e.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").strip() or "starting up"
                os.close(fd)
                raise CommandError(f"--out {self.path.parent} is in use by another training "
                                   f"run ({holder}); wait for it to end, or choose another "
                                   "--out") from None
            except OSError as e:  # a file system without locks (some network mounts)
                os.close(fd)
                raise CommandError(f"--out {self.path.parent}: cannot lock {self.path} "
                                   f"({e.strerror}); use a local folder") from None
            try:
                mine = os.stat(self.path)
                if (mine.st_ino, mine.st_dev) == (os.fstat(fd).st_ino, os.fstat(fd).st_dev):
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        self.previous = os.read(fd, 200).decode(errors="replace").strip()
        os.ftruncate(fd, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n"
                  .encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)  # still locked: see the class docstring
        os.close(self.fd)
        self.fd = None


# ---- training --------------------------------------------------------------------------

class _LogLines:
    """A log file's view of tqdm: each redraw ('\\r' + status) becomes a line of its own."""

    def __init__(self, stream):
        self.stream, self.last = stream, None

    def write(self, text):
        text = text.replace("\r", "").rstrip()
        done = text.partition("[")[0]  # "100%|####| 200/200 ", without the time and rate
        if text and done != self.last:  # close() redraws the last status once more
            self.stream.write(text + "\n")
            self.last = done

    def flush(self):
        self.stream.flush()


def progress_bar(total, start=0):
    """tqdm's bar on stderr: steps, rate, ETA, and the running loss as its postfix.

    tqdm redraws at most 10 times a second on a terminal; into a log file (not a terminal)
    it writes one line every 10% of the run. Its update costs about 1.2 us per step (the
    hand-made bar it replaced cost 0.6 us): 0.05% of a 32 x 200 step (2.3 ms).
    """
    from tqdm import tqdm  # here: the library functions of this module work without it

    stream = sys.stderr  # looked up now, not at import: redirect_stderr and capsys see it
    tty = stream.isatty()
    return tqdm(total=total, initial=start, file=stream if tty else _LogLines(stream),
                unit="step", dynamic_ncols=tty,
                mininterval=0.1 if tty else 0, miniters=None if tty else max(1, total // 10),
                maxinterval=10 if tty else float("inf"), smoothing=0.1)


def train(args):
    """Check --out, take its lock, then train (see _train); the lock goes when this returns."""
    if getattr(args, "diagnostics", False):
        try:
            from viz.diagnostics import figure
            figure()  # matplotlib missing: say so now, not after the training
        except ImportError as e:
            raise CommandError(f"--diagnostics: {e}") from None
    out = Path(args.out)
    created = prepare_out(out)
    try:
        with RunLock(out) as lock:
            return _train(args, out, lock)
    finally:
        if created and not any(out.iterdir()):  # a run that failed early leaves no trace
            out.rmdir()


def _train(args, out, lock):
    words = load_words(args.data)
    check_splittable(words, "<stdin>" if str(args.data) == "-" else args.data)
    vocab = Vocab.from_words(words)
    n_words = len(words)
    # the datasets keep their indices in the smallest type (uint8 for up to 256 characters),
    # 8 times less memory than int64; each batch is widened to int64 as it is drawn
    compact = index_dtype(len(vocab))
    splits = dict(zip(("train", "val", "test"),
                      (build_dataset(part, vocab, dtype=compact) for part in split_words(words))))
    del words
    Xtr, Ytr = splits["train"]
    ckpt = out / CHECKPOINT
    steps = FULL_STEPS if args.full else args.steps
    meta = dict(format="minigrad-makemore/1", vocab=vocab.chars, block_size=3, n_embd=10,
                hidden=args.hidden, batch_size=args.batch_size, seed=args.seed, steps=steps,
                fused_ce=args.fused_ce, step=0, losses=[], loss_window=[])
    # one generator, as in the lectures: the parameters' draws, then every minibatch's
    # torch.randint(0, N, (batch,), generator=g), so a seed gives torch's run
    g = minigrad.Generator().manual_seed(args.seed)
    model = MLP(len(vocab), hidden=args.hidden, seed=args.seed, fused_ce=args.fused_ce,
                init=args.init, generator=g)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
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
        if old["rng"] is None:
            raise CheckpointError(f"{ckpt} has no minibatch generator state to resume from")
        resumed = generator_from_state(old["rng"])
        if resumed is None:
            raise CheckpointError(f"{ckpt} drew its minibatches with numpy's generator (an "
                                  "older minigrad) and cannot continue torch's stream; train "
                                  "it afresh")
        # the history: one mean per complete window, and the raw losses of the window that
        # was still filling (a finished run also appended that window's mean: dropped here)
        window = old.get("loss_window", [])
        if "loss_window" in old and len(window) != old["step"] % LOSS_WINDOW:
            raise CheckpointError(f"{ckpt} is damaged: its loss history does not match its "
                                  f"step {old['step']}")
        try:
            model.load_state_dict(state)
            optimizer.load_state_dict(opt_state)
        except (RuntimeError, ValueError) as e:  # arrays that do not fit the meta's config
            raise CheckpointError(f"{ckpt} does not fit the model it describes: "
                                  f"{_one_line(e)}") from None
        meta.update(step=old["step"], losses=old["losses"][:old["step"] // LOSS_WINDOW],
                    loss_window=list(window))
        g.set_state(resumed.get_state())
        print(f"resumed from {ckpt} at step {old['step']}")
    if lock.previous:
        print(f"took over {lock.path}, left by a run that ended without releasing it "
              f"({lock.previous})")
    # a run killed while saving leaves its temporary file; we hold the lock, so any file of
    # that exact shape is a dead run's
    for stale in out.iterdir():
        if STALE_TEMPORARY.fullmatch(stale.name):
            stale.unlink(missing_ok=True)
    print(f"{n_words} words, vocabulary {len(vocab)}, {Xtr.shape[0]} training examples, "
          f"{sum(p.numel() for p in model.parameters())} parameters; {steps} steps")
    recorder = None
    if getattr(args, "diagnostics", False):  # the part 3 lecture's plots (viz/diagnostics.py)
        from viz.diagnostics import Recorder
        recorder = Recorder(model.parameters())
    bar = progress_bar(steps, start=meta["step"])
    t0, window = time.perf_counter(), meta["loss_window"]  # saved with every checkpoint
    # Capture (minigrad.capture, graph_capture.py): the first step, and the first step at a
    # new learning rate, run eagerly while their numpy calls are recorded; every other step
    # refills the input buffers Xb, Yb and replays the record. The learning rate is a
    # Python float in the optimizer, hence a constant of the record: a new rate, a new
    # capture. --eager (and --diagnostics, which reads every step) skip all this; both
    # paths compute the same numbers bit for bit.
    captured, captured_lr = None, None
    use_capture = not getattr(args, "eager", False) and recorder is None
    if use_capture:
        Xb = minigrad.zeros(args.batch_size, Xtr.shape[1], dtype=minigrad.int64)
        Yb = minigrad.zeros(args.batch_size, dtype=minigrad.int64)
    for step in range(meta["step"], steps):
        ix = minigrad.randint(0, Xtr.shape[0], (args.batch_size,), generator=g).numpy()
        # the lectures' step decay: lr 0.1, then 0.01 for the second half
        lr = 0.1 if step < steps // 2 else 0.01
        if use_capture:
            Xb.copy_(Xtr[ix].astype(np.int64))
            Yb.copy_(Ytr[ix].astype(np.int64))
            if lr == captured_lr:
                captured.replay()  # loss, parameters and grads are updated in place
            else:
                optimizer.param_groups[0]["lr"] = captured_lr = lr
                with minigrad.capture() as captured:
                    loss = model.loss(Xb, Yb)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
        else:
            loss = model.loss(minigrad.tensor(Xtr[ix].astype(np.int64)),
                              minigrad.tensor(Ytr[ix].astype(np.int64)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.param_groups[0]["lr"] = lr
            optimizer.step()
        if recorder is not None:  # after the update, as the lecture's update:data ratios
            recorder.record(loss, optimizer.param_groups[0]["lr"], snapshot=step == steps - 1)
        window.append(loss.item())
        if len(window) == LOSS_WINDOW:
            meta["losses"].append(float(np.mean(window)))
            window.clear()
        elif step == steps - 1:  # the last, partial window: its mean, raw losses kept too
            meta["losses"].append(float(np.mean(window)))
        if (step + 1) % 100 == 0 or step == steps - 1:  # a new string every step costs 2 us
            bar.set_postfix_str(f"loss {loss.item():.4f}", refresh=False)
        bar.update(1)
        if (step + 1) % args.checkpoint_every == 0 or step == steps - 1:
            meta.update(step=step + 1, rng=generator_state(g))
            save_checkpoint(ckpt, model, optimizer, meta)
    bar.close()
    elapsed = time.perf_counter() - t0
    calibrate_batchnorm(model, Xtr)
    meta["split_losses"] = {name: evaluate(model, X, Y) for name, (X, Y) in splits.items()}
    meta.update(step=steps, rng=generator_state(g), train_seconds=elapsed)
    save_checkpoint(ckpt, model, optimizer, meta)
    for name, value in meta["split_losses"].items():
        print(f"{name:5s} loss {value:.4f}")
    print(f"trained {steps} steps in {elapsed:.1f} s; checkpoint {ckpt}")
    plot_losses(meta["losses"], out / "loss.png")
    if recorder is not None and recorder.grad_data:
        print(recorder.summary())
        for path in recorder.write_pngs(out):
            print(f"diagnostics {path}")
    return model, vocab, meta


def _hprebn(model, X):
    """The pre-batchnorm activations of contexts X, as a numpy array."""
    with minigrad.no_grad():
        emb = model.embedding(minigrad.tensor(X.astype(np.int64)))
        return model.linear1(emb.view(len(X), -1)).numpy()


def calibrate_batchnorm(model, X, chunk=20_000):
    """Set batchnorm's running mean and (n-1) variance from the whole training set.

    The lectures do this after training instead of trusting the running averages. It streams:
    two passes over the training set, one chunk of (chunk, hidden) activations at a time,
    never the whole (N, hidden). The float64 sums run row after row (the running sum is the
    first row of each chunk's reduction), which is the order numpy sums a whole array down
    axis 0, so the statistics equal h.mean(0) and h.var(0, ddof=1) of the whole array
    bit for bit.
    """
    n, hidden = len(X), model.batchnorm.num_features
    rows = np.empty((min(chunk, n) + 1, hidden))  # row 0: the running sum; then a chunk

    def sum_down(transform):
        total = np.zeros(hidden)
        for i in range(0, n, chunk):
            h = _hprebn(model, X[i:i + chunk])
            rows[0] = total
            transform(h, rows[1:len(h) + 1])
            total = rows[:len(h) + 1].sum(0)
        return total

    mean = sum_down(lambda h, out: np.copyto(out, h)) / n  # mean = sum(h) / n
    var = sum_down(lambda h, out: np.square(np.subtract(h, mean, out=out), out=out)) / (n - 1)
    bn = model.batchnorm
    bn.running_mean.data[...] = mean
    bn.running_var.data[...] = var


def evaluate(model, X, Y, chunk=None):
    """Mean cross-entropy over a whole split, with batchnorm in eval mode.

    Chunks of 20,000 rows, fewer at large hidden sizes (about 4M activations a chunk).
    """
    chunk = chunk or max(1, min(20_000, 2**22 // model.batchnorm.num_features))
    model.eval()
    total = 0.0
    with minigrad.no_grad():
        for i in range(0, len(X), chunk):
            logits = model(minigrad.tensor(X[i:i + chunk].astype(np.int64)))
            total += nn.cross_entropy(
                logits, minigrad.tensor(Y[i:i + chunk].astype(np.int64))).item() * len(
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
    check_splittable(words, "<stdin>" if str(data) == "-" else data)
    vocab = Vocab.from_words(words)
    X, Y = build_dataset(split_words(words)[0], vocab)
    g = minigrad.Generator().manual_seed(seed)  # the parameters, then the batch, as train
    model = MLP(len(vocab), hidden=hidden, seed=seed, fused_ce=fused_ce, generator=g)
    ix = minigrad.randint(0, X.shape[0], (batch_size,), generator=g).numpy()
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

    out = Path(args.out)
    prepare_out(out)  # before any work: a bad --out must not cost a forward and backward
    loss = one_step_graph(args.data, args.hidden, fused_ce=args.fused_ce)
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

def bounded(key):
    """An argparse type: an integer within LIMITS[key], else an error naming the range."""
    low, high = LIMITS[key]

    def integer(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer (allowed: {low} to "
                                             f"{high})") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range (allowed: {low} to "
                                             f"{high})")
        return value
    return integer


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m models.makemore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--data", default=str(DEFAULT_DATA),
                       help="a file with one word a line ('-': standard input)")
        p.add_argument("--hidden", type=bounded("hidden"), default=200,
                       help="hidden units (64 as the seed)")
        p.add_argument("--fused-ce", action="store_true",
                       help="fused cross-entropy instead of the seed's step-by-step one")
        p.add_argument("--out", default="out", help="folder for checkpoint and pictures")
        return p

    p = common(sub.add_parser("train", help="train, evaluate, sample 20 names, draw a step"))
    p.add_argument("--steps", type=bounded("steps"), default=30_000)
    p.add_argument("--full", action="store_true",
                   help=f"the lectures' full schedule: {FULL_STEPS} steps")
    p.add_argument("--batch-size", type=bounded("batch_size"), default=32)
    p.add_argument("--seed", type=bounded("seed"), default=2147483647)
    p.add_argument("--init", choices=["seed", "lecture"], default="lecture",
                   help="initialisation: the seed notebook's, or the lectures' training one")
    p.add_argument("--resume", action="store_true", help="continue from --out/model.npz")
    p.add_argument("--checkpoint-every", type=bounded("checkpoint_every"), default=5_000)
    p.add_argument("--tune-malloc", action="store_true",
                   help="keep freed memory in the process (glibc): faster at large batches")
    p.add_argument("--no-graph", action="store_true", help="skip drawing the graph")
    p.add_argument("--eager", action="store_true",
                   help="run every step through the engine instead of replaying a captured "
                        "step (minigrad.capture); the same numbers, slower")
    p.add_argument("--diagnostics", action="store_true",
                   help="write the part 3 lecture's plots to --out (tanh activations and "
                        "saturation, gradients, grad:data and update:data ratios; matplotlib)")
    p.add_argument("-n", type=bounded("n"), default=20, help="names to sample after training")

    p = sub.add_parser("sample", help="sample names from a trained checkpoint")
    p.add_argument("--out", default="out", help="folder holding model.npz")
    p.add_argument("-n", type=bounded("n"), default=20)
    p.add_argument("--seed", type=bounded("seed"), default=None)

    p = common(sub.add_parser("check", help="every node of one step against torch"))
    p.add_argument("--dtype", choices=["float32", "float64"], default=None,
                   help="replay torch in this precision (default: the graph's own)")

    p = common(sub.add_parser("graph", help="draw one training step's graph (SVG and PNG)"))
    p.add_argument("--collapse", action="store_true", help="draw scopes as single boxes")

    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            if args.tune_malloc:
                from models.allocator import tune_malloc
                tune_malloc()
            model, vocab, _ = train(args)
            for name in sample(model, vocab, args.n, seed=args.seed):
                print(name)
            if not args.no_graph:
                args.collapse, args.on_missing = False, "warn"
                graph(args)
            return 0
        if args.command == "sample":
            out = Path(args.out)
            if out.exists() and not out.is_dir():
                raise CommandError(f"--out {out} is a file, not a folder")
            _, vocab, model = model_from_checkpoint(out / CHECKPOINT)
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
    except (CheckpointError, CommandError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:
        print(f"error: out of memory ({_one_line(e) or 'no details'}); try a smaller --hidden, "
              "--batch-size or data file", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
