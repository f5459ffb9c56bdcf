"""Shared pieces of the benchmark: model sizes, configurations, seeded data, memory, mallopt.

Everything an implementation needs to start from the same point as every other one lives
here: the seed's sizes (vocabulary 27, embedding 10, context 3), parameters drawn with the
seed's scales from one fixed numpy seed, and random integer batches (the benchmark needs no
data file). It also reads the process's resident memory and, on request, tunes glibc's
allocator. It imports numpy only, so a numpy worker never pays for importing torch.
"""

import resource

import numpy as np

VOCAB = 27      # '.' plus 26 letters
EMB = 10        # embedding dimension (emb_dim_size in the seed)
BLOCK = 3       # characters of context (block_size)
EPS = 1e-5      # batchnorm epsilon

# The order every implementation keeps its parameters in (the seed's `params` list).
PARAM_NAMES = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")

# batch x hidden, smallest first; "4096x200" is where allocation starts to dominate.
CONFIGS = ("32x64", "32x200", "256x200", "4096x200")

PARAM_SEED = 2147483647  # the seed notebook's generator seed, reused for numpy
DATA_SEED = 1337


def parse_config(name):
    """'256x200' -> (256, 200): batch size and hidden width."""
    try:
        batch, hidden = (int(part) for part in name.lower().split("x"))
    except ValueError:
        raise ValueError(f"config {name!r} is not BATCHxHIDDEN, e.g. 32x200") from None
    if batch < 2 or hidden < 1:
        # n - 1 divides the batchnorm variance, so a batch of one is undefined.
        raise ValueError(f"config {name!r}: batch must be >= 2 and hidden >= 1")
    return batch, hidden


def init_params(hidden, seed=PARAM_SEED):
    """The seed's parameters (cell 154) as float32 numpy arrays, keyed by PARAM_NAMES.

    Same scales as the seed: Kaiming-style W1 for tanh (gain 5/3 over sqrt(fan_in)), small
    biases and W2, and a batchnorm gain and bias perturbed away from 1 and 0 so that a wrong
    gradient cannot hide behind a zero.
    """
    rng = np.random.default_rng(seed)

    def randn(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    fan_in = BLOCK * EMB
    params = {
        "C": randn(VOCAB, EMB),
        "W1": randn(fan_in, hidden) * np.float32((5 / 3) / fan_in ** 0.5),
        "b1": randn(hidden) * np.float32(0.1),
        "W2": randn(hidden, VOCAB) * np.float32(0.1),
        "b2": randn(VOCAB) * np.float32(0.1),
        "bngain": randn(1, hidden) * np.float32(0.1) + np.float32(1.0),
        "bnbias": randn(1, hidden) * np.float32(0.1),
    }
    for value in params.values():
        assert value.dtype == np.float32
    return params


def make_batches(batch, count, seed=DATA_SEED):
    """`count` random minibatches (Xb int64 (batch, BLOCK), Yb int64 (batch,)), all in [0, 27).

    The step's cost does not depend on which characters are drawn, so uniform random
    integers stand in for names.txt; cycling through a few batches keeps every step honest
    (no step sees exactly the previous step's input).
    """
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, VOCAB, (batch, BLOCK), dtype=np.int64),
             rng.integers(0, VOCAB, (batch,), dtype=np.int64)) for _ in range(count)]


def _proc_status_mib(field):
    """A `VmXXX:  1234 kB` line of /proc/self/status in MiB, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mib():
    """Resident set size now, in MiB (None where /proc is missing)."""
    return _proc_status_mib("VmRSS")


def peak_rss_mib():
    """Highest resident set size of this process so far, in MiB."""
    peak = _proc_status_mib("VmHWM")
    if peak is None:
        # ru_maxrss is in KiB on Linux (bytes on macOS; close enough for a fallback label).
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak



# Implementation name -> (module, trainer class). Imported lazily, so that a numpy worker
# never imports torch (a torch worker does import minigrad: models.lecture's forward runs
# minigrad's stepwise cross-entropy, written with tensor methods, on torch's tensors).
IMPLS = {
    "minigrad": ("benchmarks.impl_minigrad", "Trainer"),
    "minigrad-replay": ("benchmarks.impl_minigrad", "ReplayTrainer"),
    "torch": ("benchmarks.impl_torch", "Trainer"),
    "numpy-lecture": ("benchmarks.impl_numpy", "LectureTrainer"),
    "numpy-fused": ("benchmarks.impl_numpy", "FusedTrainer"),
}


def make_trainer(impl, params, lr, threads=None):
    """(trainer, module) for one implementation, starting from numpy `params` (copied)."""
    import importlib

    module_name, class_name = IMPLS[impl]
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name)
    trainer = cls(params, lr, threads=threads) if impl == "torch" else cls(params, lr)
    return trainer, module
