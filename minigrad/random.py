"""torch's CPU random numbers, drawn with numpy: the mt19937 engine and torch's transforms.

With the same seed, minigrad draws what torch draws, so a seeded lecture prints torch's
numbers. Every rule below is a fact measured against torch 2.13 (tests/test_random.py checks
each one, for many seeds and sizes):

- The engine is the Mersenne Twister mt19937, seeded with the low 32 bits of the seed, as
  numpy's legacy `RandomState` seeds it. It hands out 32-bit words.
- float32 uniform in [0, 1): one word, its low 24 bits times 2**-24.
- float64 uniform in [0, 1): two words, the first as the high half of a 64-bit word, whose
  low 53 bits times 2**-53 ("u53").
- randint(low, high): one word w, or two as a 64-bit word when high - low >= 2**28 (torch's
  threshold, measured); w % (high - low) + low.
- randn of fewer than 16 values (either dtype): double Box-Muller from two u53 draws u1,
  u2: r = sqrt(-2 log1p(-u2)), theta = 2 pi u1, the value is r cos(theta), rounded to the
  dtype; r sin(theta) is kept in the generator and is the next such value asked for, even
  in a later call (manual_seed drops it).
- randn of 16 values or more: fill with uniforms of the dtype, then transform each block of
  16 in place: for j < 8, r = sqrt(-2 log(1 - d[j])), theta = 2 pi d[j + 8], d[j] = r cos
  theta, d[j + 8] = r sin theta. When 16 does not divide n, the last 16 are drawn anew and
  transformed again. float64 uses the double log, sin and cos; float32 is computed step by
  step as torch's kernel does, with its own log, sin and cos (normal32.py).
- exponential: -log1p(-u53) in float64.
- multinomial, one sample or without replacement: with q ~ Exp(1) per category,
  argmax(p / q) (the Gumbel-max trick: p / q ranks categories as log p + Gumbel noise does),
  the top k for k samples. With replacement and k > 1: for each sample a u53 draw, and the
  leftmost category whose normalised cumulative probability is at least the draw.

This module holds the engine (MT19937), the Generator with torch's methods and its 5056-byte
state, the default generator, and the samplers rand, randn, randint and multinomial. Layer
initialisation (nn.py) draws through `uniform_` and `normal_` here.
"""

import math
import os

import numpy as np

from . import normal32
from .convert import default_float, float32, float64, int64, new_size
from .tensor import Tensor

# ---- the engine ----------------------------------------------------------------------------

N, M = 624, 397  # mt19937: 624 words of state; word i mixes with word i + 397
MATRIX_A = np.uint32(0x9908B0DF)
UPPER, LOWER = np.uint32(0x80000000), np.uint32(0x7FFFFFFF)


def _twist(old):
    """The next 624 words of state from the last 624 (the Mersenne Twister recurrence).

    new[i] = word[i + 397] ^ A(top bit of old[i] | low 31 bits of word[i + 1]), where
    A(y) = y >> 1, xor MATRIX_A when y is odd. Indices wrap mod 624, and a wrapped index reads
    the word this twist has already made (new), an unwrapped one the old word. So A(...) is
    computed for i < 623 at once, then the xor runs in slices whose words[i + 397] are all
    old (i < 227) or all already new, and i = 623 (whose i + 1 wraps too) comes last.
    """
    y = (old[:-1] & UPPER) | (old[1:] & LOWER)  # i = 0 .. 622
    a = (y >> 1) ^ ((y & 1) * MATRIX_A)
    new = np.empty_like(old)
    k = N - M  # 227
    np.bitwise_xor(old[M:], a[:k], out=new[:k])  # i + 397 < 624: old words
    np.bitwise_xor(new[:k], a[k:2 * k], out=new[k:2 * k])  # wrapped: new words 0 .. 226
    np.bitwise_xor(new[k:M - 1], a[2 * k:], out=new[2 * k:N - 1])  # new words 227 .. 395
    y = (int(old[-1]) & 0x80000000) | (int(new[0]) & 0x7FFFFFFF)
    new[-1] = int(new[M - 1]) ^ (y >> 1) ^ (int(MATRIX_A) if y & 1 else 0)
    return new


def _temper(key):
    """The words handed out: each state word scrambled so its bits are equidistributed."""
    y = key ^ (key >> 11)
    y ^= (y << 7) & np.uint32(0x9D2C5680)
    y ^= (y << 15) & np.uint32(0xEFC60000)
    return y ^ (y >> 18)


class MT19937:
    """The 32-bit Mersenne Twister, with torch's bookkeeping of where it is in a block.

    `key` is the state (624 words). `next` is the index of the next word to hand out, and
    `left` counts down to the next twist: a draw that brings it to 0 twists first. A fresh
    seed sets left = 1 (twist on the first draw), next = 0; a twist sets left = 625, next = 0.
    """

    def __init__(self, seed=5489):
        self.seed(seed)

    def seed(self, seed):
        """Knuth's initialisation (init_genrand): word i from word i - 1 and i."""
        key = [seed & 0xFFFFFFFF]
        for i in range(1, N):
            key.append((1812433253 * (key[-1] ^ (key[-1] >> 30)) + i) & 0xFFFFFFFF)
        self.set_state(np.array(key, dtype=np.uint32), left=1, next=0)

    def set_state(self, key, left, next):  # noqa: A002  (torch's name for the field)
        self.key, self.left, self.next = np.array(key, dtype=np.uint32), int(left), int(next)

    def random(self, n):
        """The next n 32-bit words, as a uint32 array (tempered together at the end)."""
        parts = []
        while n > 0:
            if self.left == 1:  # the block is used up: twist
                self.key, self.left, self.next = _twist(self.key), N + 1, 0
            take = min(n, self.left - 1)
            parts.append(self.key[self.next:self.next + take])
            self.left, self.next, n = self.left - take, self.next + take, n - take
        return _temper(np.concatenate(parts)) if parts else np.empty(0, np.uint32)

    def random64(self, n):
        """n 64-bit words, each made of two draws, the first as the high half."""
        w = self.random(2 * n).astype(np.uint64).reshape(n, 2)
        return (w[:, 0] << np.uint64(32)) | w[:, 1]


# ---- the generator -------------------------------------------------------------------------

DEFAULT_SEED = 67280421310721  # the seed of a fresh torch.Generator()
STATE_BYTES = 5056


class Generator:
    """A random stream that draws torch's CPU numbers (torch.Generator's methods).

        g = minigrad.Generator().manual_seed(2147483647)
        minigrad.randn((27, 10), generator=g)   # torch.randn's 270 numbers for that seed
    """

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise RuntimeError(f"minigrad draws on the cpu only, not on {device!r}")
        self.device = "cpu"
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed):
        """Restart the stream from `seed` (any int in [-2**63, 2**64)); returns self."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if not -2**63 <= seed < 2**64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed % 2**64  # torch keeps it unsigned: -1 is 2**64 - 1
        self._engine = MT19937(self._seed)
        self._normal = None  # the Box-Muller partner kept for the next scalar normal
        self._rest = bytes(STATE_BYTES - 5040)  # state bytes we carry but never use
        return self

    def seed(self):
        """Seed from the operating system's entropy; returns the new seed."""
        seed = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self._seed

    # torch's state is 5056 bytes: the seed (u64), left and a seeded flag (i32, i32), next
    # (u64), the 624 state words (u64 each), three doubles of which the second is the kept
    # normal, the i32 flag that says it is kept, then 12 bytes we do not use.
    def get_state(self):
        """The state as a uint8 Tensor laid out as torch.Generator.get_state()'s."""
        e = self._engine
        head = np.array([self._seed], np.uint64).tobytes() + \
            np.array([e.left, 1], np.int32).tobytes() + np.array([e.next], np.uint64).tobytes()
        normal = np.array([0.0, self._normal or 0.0, 0.0]).tobytes() + \
            np.array([self._normal is not None], np.int32).tobytes()
        raw = head + e.key.astype(np.uint64).tobytes() + normal + self._rest[4:]
        return Tensor(np.frombuffer(raw, np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from get_state() (ours or torch's, as an array of 5056 bytes)."""
        raw = np.asarray(getattr(new_state, "_data", new_state))
        if raw.dtype != np.uint8 or raw.size != STATE_BYTES:
            raise RuntimeError("RNG state must be a torch.ByteTensor of 5056 bytes")
        raw = raw.tobytes()
        seed, = np.frombuffer(raw[:8], np.uint64)
        left, = np.frombuffer(raw[8:12], np.int32)
        nxt, = np.frombuffer(raw[16:24], np.uint64)
        key = np.frombuffer(raw[24:24 + 8 * N], np.uint64).astype(np.uint32)
        normal, = np.frombuffer(raw[5024:5032], np.float64)
        valid, = np.frombuffer(raw[5040:5044], np.int32)
        seeded, = np.frombuffer(raw[12:16], np.int32)
        if not (1 <= left <= N and nxt <= N and seeded == 1):
            raise RuntimeError("Invalid mt19937 state")
        self._seed = int(seed)
        self._engine = MT19937.__new__(MT19937)
        self._engine.set_state(key, left, nxt)
        self._normal = float(normal) if valid else None
        self._rest = raw[5040:]
        return self

    # ---- the draws: each returns a flat numpy array of n values ----------------------------

    def _uniform(self, n, dtype):
        """n uniforms in [0, 1): 24 random bits for float32, 53 for float64."""
        if dtype == float32:
            return ((self._engine.random(n) & np.uint32(0xFFFFFF)) * 2.0 ** -24).astype(float32)
        return (self._engine.random64(n) & np.uint64(2**53 - 1)) * 2.0 ** -53

    def _scalar_normals(self, n):
        """n standard normals, one at a time by double Box-Muller (the partner is kept)."""
        out = np.empty(n)
        for k in range(n):
            if self._normal is not None:
                out[k], self._normal = self._normal, None
                continue
            u1, u2 = self._uniform(2, float64)
            r = math.sqrt(-2.0 * math.log1p(-u2))  # log1p(-u2) = log(1 - u2), u2 < 1
            theta = 2.0 * math.pi * u1
            self._normal = r * math.sin(theta)
            out[k] = r * math.cos(theta)
        return out

    def _normals(self, n, dtype):
        """n standard normals in `dtype`, by torch's rule for a contiguous tensor of n."""
        if n < 16:
            return self._scalar_normals(n).astype(dtype)
        d = self._uniform(n, dtype)
        full = n - n % 16
        d[:full] = _box_muller_16(d[:full], dtype)
        if n % 16:  # the last 16 again, from fresh uniforms
            d[n - 16:] = _box_muller_16(self._uniform(16, dtype), dtype)
        return d

    def _exponentials(self, n):
        """n draws of Exp(1) in float64: -log(1 - u), written log1p(-u) for small u."""
        return -np.log1p(-self._uniform(n, float64))


# torch runs one of three builds of its CPU kernels, and two results below depend on which.
# It picks the build as ATen's DispatchStub does: ATEN_CPU_CAPABILITY if set, else AVX512 on a
# CPU with avx512vl, avx512bw, avx512dq and fma, else AVX2 on one with avx2 and fma, else the
# plain (default) build. uniform_'s u * (b - a) + a is one fused multiply-add in the builds
# compiled for FMA (AVX2, AVX512) and two roundings in the plain one. randn's float32 transform
# of 16+ values has its own SIMD log and sincos only in the AVX2 build; the AVX512 and plain
# builds call the C library's logf, cosf and sinf (normal32.py has both). The AVX512 choices
# follow torch's source; no AVX-512 machine was at hand to measure them on.


def torch_cpu_capability(environ=os.environ, cpuinfo="/proc/cpuinfo"):
    """'avx512', 'avx2' or 'default': the kernel build torch runs on this CPU (torch's own
    answer is torch.backends.cpu.get_cpu_capability(); minigrad does not import torch)."""
    chosen = environ.get("ATEN_CPU_CAPABILITY", "")  # compared as torch does, exactly
    if chosen in ("avx512", "avx2", "default"):
        return chosen
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:  # not Linux: no flags to read
        flags = []
    flags = set(flags)
    if {"avx512vl", "avx512bw", "avx512dq", "fma"} <= flags:
        return "avx512"
    if {"avx2", "fma"} <= flags:
        return "avx2"
    return "default"


_CAPABILITY = torch_cpu_capability()
_TORCH_FMA = _CAPABILITY != "default"  # uniform_ fused
_TORCH_SIMD_NORMALS = _CAPABILITY == "avx2"  # normal32.avx2_normals, else plain_normals


def _box_muller_16(d, dtype):
    """Blocks of 16 uniforms -> 16 normals: the first 8 give 1 - u1, the last 8 give u2.

    r = sqrt(-2 log u1), theta = 2 pi u2; cos goes to the first half, sin to the second.
    float64: numpy's double log, cos and sin, as torch's kernel calls the C library's.
    float32: step by step as the torch kernel that runs computes it (normal32.py), each
    rounding included, so the values are torch's bit for bit.
    """
    blocks = d.reshape(-1, 16)
    if dtype == float32:
        u1, u2 = np.float32(1) - blocks[:, :8], blocks[:, 8:]
        normals = normal32.avx2_normals if _TORCH_SIMD_NORMALS else normal32.plain_normals
        return np.concatenate(normals(u1, u2), axis=1).ravel()
    u1, u2 = 1 - blocks[:, :8], blocks[:, 8:]
    r, theta = np.sqrt(-2 * np.log(u1)), 2 * math.pi * u2
    return np.concatenate([r * np.cos(theta), r * np.sin(theta)], axis=1).ravel()


default_generator = Generator()
default_generator.seed()  # as torch's default generator, seeded at import from entropy


def manual_seed(seed):
    """Seed the default generator (torch.manual_seed); returns it."""
    return default_generator.manual_seed(seed)


def initial_seed():
    return default_generator.initial_seed()


def seed():
    return default_generator.seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


# ---- the samplers --------------------------------------------------------------------------

def _float_dtype(dtype, kernel):
    """torch has no uniform or normal draws for integer dtypes."""
    dtype = np.dtype(dtype or default_float())
    if dtype not in (float32, float64):
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_TORCH_NAMES.get(dtype, dtype)}'")
    return dtype


_TORCH_NAMES = {int64: "Long", np.dtype("int32"): "Int", np.dtype("bool"): "Bool",
                np.dtype("float16"): "Half"}


def rand(*size, generator=None, dtype=None, requires_grad=False):
    """Uniform numbers in [0, 1) (torch.rand)."""
    shape = new_size(size, "rand")
    dtype = _float_dtype(dtype, "check_uniform_bounds")
    data = (generator or default_generator)._uniform(math.prod(shape), dtype)
    return Tensor(data.reshape(shape), requires_grad=requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False):
    """Standard normal numbers (torch.randn)."""
    shape = new_size(size, "randn")
    dtype = _float_dtype(dtype, "normal_kernel_cpu")
    data = (generator or default_generator)._normals(math.prod(shape), dtype)
    return Tensor(data.reshape(shape), requires_grad=requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None):
    """Integers in [low, high) (torch.randint(low, high, size) or randint(high, size))."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    shape = new_size((size,), "randint")
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    span, n = high - low, math.prod(shape)
    engine = (generator or default_generator)._engine
    words = engine.random(n) if span < 2**28 else engine.random64(n)
    data = (words % np.uint64(span)).astype(int64) + low  # span < 2**64 - 1: fits int64 math
    return Tensor(data.reshape(shape).astype(np.dtype(dtype or int64)))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Category indices drawn with probabilities proportional to the rows of `input`.

    input: (C,) or (rows, C) non-negative weights -> (num_samples,) or (rows, num_samples).
    Without replacement, asking for more samples than a row has positive weights gives the
    positive ones first, then zero-weight categories in index order; torch's topk orders
    those ties its own way.
    """
    p = np.asarray(getattr(input, "_data", input))
    if p.dtype.kind != "f":
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{_TORCH_NAMES.get(p.dtype, p.dtype)}")
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > p.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if not (p >= 0).all() or not np.isfinite(p).all():  # torch words it by the path taken
        if not replacement or num_samples == 1:
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        raise RuntimeError("invalid multinomial distribution (encountering probability entry "
                           + ("< 0)" if not (p >= 0).all() else "= infinity or NaN)"))
    rows = p.reshape(-1, p.shape[-1])
    if (rows.sum(1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    g = generator or default_generator

    if not replacement or num_samples == 1:
        # Gumbel-max: argmax over p / q, q ~ Exp(1) drawn for every entry in order
        q = g._exponentials(rows.size).astype(p.dtype).reshape(rows.shape)
        keys = rows / q
        if num_samples == 1:
            out = keys.argmax(1)[:, None]  # the first maximum, as torch's argmax
        else:
            out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]  # largest first
    else:
        out = np.empty((len(rows), num_samples), int64)
        for r, row in enumerate(rows):
            cum = np.cumsum(row)  # in the input's dtype, left to right
            cum = (cum / cum[-1]).astype(float64)  # the last bin ends at exactly 1
            out[r] = np.searchsorted(cum, g._uniform(num_samples, float64), side="left")
    return Tensor(out.reshape(p.shape[:-1] + (num_samples,)).astype(int64))


# ---- in-place fills for layer initialisation ----------------------------------------------

def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill `tensor` in place with U(a, b) (torch's uniform_; the Linear layers' init).

    torch computes u * (b - a) + a in the tensor's dtype, b - a and a first rounded to the
    dtype; its AVX2 build with a fused multiply-add (one rounding, which _fma reproduces), its
    plain build with two roundings.
    """
    data = tensor._data
    dtype = data.dtype
    u = (generator or default_generator)._uniform(data.size, dtype)
    lo = dtype.type(a)
    span = dtype.type(dtype.type(b) - lo)
    data[...] = (_fma(u, span, lo) if _TORCH_FMA else u * span + lo).reshape(data.shape)
    return tensor


def normal_(tensor, generator=None):
    """Fill `tensor` in place with standard normals (torch's normal_; the Embedding init)."""
    data = tensor._data
    data[...] = (generator or default_generator)._normals(data.size, data.dtype).reshape(
        data.shape)
    return tensor


def _two_sum(a, b):
    """s + t = a + b exactly, s = fl(a + b) (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _fma(x, y, z):
    """x * y + z rounded once, for float32 or float64 arrays x and scalars y, z of that dtype.

    float32: x * y is exact in float64 (24 + 24 bits); the sum is rounded to float64 "to
    odd" (the last bit set when inexact), which keeps the final rounding to float32 correct
    (a float64 odd number is never halfway between two float32s).
    float64: x * y = p + e exactly (Dekker's product, splitting at 27 bits), then p + z + e
    as a double-double; right unless the rounding is a near-tie (never seen against torch).
    """
    if x.dtype == float32:
        s, t = _two_sum(x.astype(float64) * float64.type(y), float64.type(z))
        even = (s.view(np.int64) & 1) == 0
        s = np.where((t != 0) & even, np.nextafter(s, np.where(t > 0, np.inf, -np.inf)), s)
        return s.astype(float32)
    p = x * y
    xh, yh = _split(x), _split(float64.type(y))
    e = ((xh * yh - p) + xh * (y - yh) + (x - xh) * yh) + (x - xh) * (y - yh)
    s, t = _two_sum(p, z)
    return s + (t + e)


def _split(v):
    """The high 26 bits of v (Veltkamp's split): v - hi is exact and fits 26 bits too."""
    c = 134217729.0 * v  # 2**27 + 1
    return c - (c - v)
