"""minigrad.random against torch's CPU generator: the same seed draws the same numbers.

Bit-identical: rand, randint, multinomial, randn of any size in float32 and float64, the
generator's 5056-byte state, and the layers' initialisation. randn of 16 or more float32 values
depends on which build of torch's CPU kernels runs (AVX2, or `default` without it): the tests
here check the one this process runs, and test_randn_at_the_other_kernel_level the other.
"""

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad import random as mr

SEEDS = [0, 1, 2, 3, 5, 7, 42, 99, 1234, 31337, 2**31 - 1, 2147483647 - 1, 2**32 - 1, 2**32,
         2**32 + 5, 2**40 + 7, 2**63 - 1, 2**64 - 1, -1, -12345]
SIZES = [0, 1, 2, 15, 16, 17, 31, 32, 33, 100, 1000]
DTYPES = [(np.float32, torch.float32), (np.float64, torch.float64)]


def pair(seed):
    return torch.Generator().manual_seed(seed), minigrad.Generator().manual_seed(seed)


def ulp_distances(a, b):
    """Per element: how many representable floats of their dtype lie between a and b."""
    a, b = np.asarray(a), np.asarray(b)
    bits = np.int32 if a.dtype == np.float32 else np.int64
    sign = np.int64(np.iinfo(bits).max)

    def line(x):  # the floats in order: a monotone map onto the integers
        i = x.view(bits).astype(np.int64)
        return np.where(i < 0, -(i & sign), i)

    return np.abs(line(a) - line(b))


def ulps(a, b):
    """The largest ulp distance between a and b (0 for empty arrays)."""
    d = ulp_distances(a, b)
    return int(d.max()) if d.size else 0


def same(ours, theirs):
    ours = ours.numpy() if isinstance(ours, minigrad.Tensor) else np.asarray(ours)
    theirs = theirs.numpy()
    return ours.dtype == theirs.dtype and ours.shape == theirs.shape and \
        np.array_equal(ours, theirs)


def next_words_agree(tg, mg):
    """Both generators are at the same place in the stream (the next 40 words agree)."""
    return same(mr.rand(40, generator=mg), torch.rand(40, generator=tg))


# ---- the engine ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 42, 5489, 2147483647, 2**32 - 1])
def test_engine_is_numpy_legacy_mt19937(seed):
    """An independent implementation: numpy's legacy RandomState seeds mt19937 the same way
    (its key), and numpy's C MT19937 from that key hands out the same words."""
    engine = mr.MT19937(seed)
    _, key, pos, *_ = np.random.RandomState(seed).get_state()
    assert np.array_equal(engine.key, key) and pos == 624
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
    for n in (1, 623, 1, 1000, 2500):  # across several twists, at odd offsets
        assert np.array_equal(engine.random(n), bits.random_raw(n).astype(np.uint32))


def test_engine_draws_many_words():
    engine = mr.MT19937(7)
    words = engine.random(300_000)
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937",
                  "state": {"key": mr.MT19937(7).key, "pos": 624}}
    assert np.array_equal(words, bits.random_raw(300_000).astype(np.uint32))


# ---- rand, randn, randint: seeds x sizes ---------------------------------------------------

@pytest.mark.parametrize("np_dtype, t_dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_rand_is_torch(seed, np_dtype, t_dtype):
    tg, mg = pair(seed)
    for n in SIZES:
        assert same(mr.rand(n, generator=mg, dtype=np_dtype),
                    torch.rand(n, generator=tg, dtype=t_dtype)), n
    assert same(mr.rand(3, 4, generator=mg, dtype=np_dtype),
                torch.rand(3, 4, generator=tg, dtype=t_dtype))


@pytest.mark.parametrize("seed", SEEDS)
def test_randn_is_torch_below_16_and_in_float64(seed):
    tg, mg = pair(seed)
    for n in SIZES:
        assert same(mr.randn(n, generator=mg, dtype=np.float64),
                    torch.randn(n, generator=tg, dtype=torch.float64)), n
        if n < 16:
            assert same(mr.randn(n, generator=mg), torch.randn(n, generator=tg)), n
        else:
            mr.randn(n, generator=mg), torch.randn(n, generator=tg)
    # (27, 10) and (2, 5): shapes as the lectures ask for them
    assert same(mr.randn((2, 5), generator=mg), torch.randn((2, 5), generator=tg))
    assert next_words_agree(tg, mg)


@pytest.mark.parametrize("seed", SEEDS)
def test_randn_16_or_more_is_torch(seed):
    """float32, n >= 16: torch's SIMD (or C library) log, sin and cos, reproduced bit for bit."""
    tg, mg = pair(seed)
    big = [100_000] if seed in (0, 2**64 - 1) else []
    for n in SIZES[4:] + [27 * 10, 30 * 200, 20_000] + big:
        ours, theirs = mr.randn(n, generator=mg), torch.randn(n, generator=tg)
        assert same(ours, theirs), (n, ulps(ours.numpy(), theirs.numpy()))
    assert next_words_agree(tg, mg)  # the tail redraw uses the same number of words


def untemper(y):
    """The mt19937 state words whose tempered outputs are y (the inverse of _temper)."""
    y = y ^ (y >> np.uint32(18))
    y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
    t = y
    for _ in range(4):  # y ^= (y << 7) & mask: each pass fixes 7 more low bits
        t = y ^ ((t << np.uint32(7)) & np.uint32(0x9D2C5680))
    y, t = t, t
    for _ in range(2):  # y ^= y >> 11: each pass fixes 11 more high bits
        t = y ^ (t >> np.uint32(11))
    return t


def test_randn_every_kind_of_uniform():
    """Feed both libraries chosen uniforms, not just a seed's: a generator state whose next
    words are the ones we want (the twist is skipped while `left` lasts). Every 61st of the
    2**24 float32 uniforms, and the edges: 0 and the largest (log 1 and log 2**-24), the
    uniforms around the float32 sqrt(1/2) (where log switches its branch), and those whose
    theta lies next to each multiple of pi/4 (where sincos switches polynomial and sign)."""
    k = np.arange(0, 2**24, 61, dtype=np.int64)
    theta = np.float32(2 * math.pi) * (np.arange(2**24) * 2.0**-24).astype(np.float32)
    edges = [0, 1, 2, 2**24 - 2, 2**24 - 1]
    for q in range(1, 8):  # theta near q pi/4
        i = int(np.searchsorted(theta, q * math.pi / 4))
        edges += list(range(i - 3, i + 3))
    i = int(round((1 - math.sqrt(0.5)) * 2**24))  # u1 = 1 - d near sqrt(1/2)
    edges += list(range(i - 3, i + 3))
    k = np.concatenate([k, edges]).astype(np.uint32)
    k = np.pad(k, (0, -len(k) % 304), constant_values=7)
    template = torch.Generator().manual_seed(0).get_state().numpy()
    tg, mg = torch.Generator(), minigrad.Generator()
    for chunk in k.reshape(-1, 304):  # 38 blocks of 16: 8 values as u1, the same 8 as u2
        words = np.repeat(chunk.reshape(38, 1, 8), 2, axis=1).ravel()
        state = template.copy()
        state[8:12] = np.frombuffer(np.int32(624).tobytes(), np.uint8)  # left: 623 draws
        state[16:24] = 0  # next
        key = np.zeros(624, np.uint64)
        key[:len(words)] = untemper(words)
        state[24:24 + 8 * 624] = np.frombuffer(key.tobytes(), np.uint8)
        tg.set_state(torch.from_numpy(state))
        mg.set_state(state)
        assert same(mr.randn(len(words), generator=mg), torch.randn(len(words), generator=tg))


def test_randn_at_the_other_kernel_level():
    """The float32 randn tests again in a process where torch and minigrad run the other
    build of torch's kernels (ATEN_CPU_CAPABILITY=default, or back to the native one)."""
    env = dict(os.environ)
    if env.get("ATEN_CPU_CAPABILITY", "").lower() == "default":
        del env["ATEN_CPU_CAPABILITY"]
    else:
        env["ATEN_CPU_CAPABILITY"] = "default"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", __file__, "-k",
         "randn_16_or_more_is_torch or every_kind_of_uniform or layer_init"],
        env=env, capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # pytest's last line, e.g. "29 passed, 166 deselected in 2.19s" (other lines, such as the
    # float32 verdicts' summary, may say "0 failed"): the tests ran, and none failed.
    summary = run.stdout.strip().splitlines()[-1]
    assert re.search(r"\b[1-9]\d* passed\b", summary) and " failed" not in summary, summary


def test_randn_large_distribution():
    """A sanity check that does not lean on torch: a million values look standard normal."""
    z = mr.randn(1_000_000, generator=minigrad.Generator().manual_seed(0)).numpy()
    assert abs(z.mean()) < 0.005 and abs(z.std() - 1) < 0.005


@pytest.mark.parametrize("seed", SEEDS)
def test_randint_is_torch(seed):
    tg, mg = pair(seed)
    ranges = [(0, 27), (-5, 5), (0, 1), (7, 7 + 2**28 - 1), (-7, -7 + 2**28), (3, 2**31),
              (0, 2**32), (-2**40, 2**40), (10**17, 10**18)]
    for n in SIZES:
        for low, high in ranges:
            assert same(mr.randint(low, high, (n,), generator=mg),
                        torch.randint(low, high, (n,), generator=tg)), (n, low, high)
    assert same(mr.randint(10, (2, 3), generator=mg), torch.randint(10, (2, 3), generator=tg))
    assert same(mr.randint(0, 9, (4,), generator=mg, dtype=np.int32),
                torch.randint(0, 9, (4,), generator=tg, dtype=torch.int32))


def test_the_normal_kept_for_later_lives_in_the_generator():
    """An odd scalar normal leaves its Box-Muller partner in the generator: the next call
    (even after a large randn, which does not touch it) starts with it; a new seed drops it."""
    tg, mg = pair(11)
    for n in (1, 20, 1, 3, 0, 16, 5, 1):
        ours, theirs = mr.randn(n, generator=mg), torch.randn(n, generator=tg)
        if n < 16:
            assert same(ours, theirs), n
    tg.manual_seed(11)
    mg.manual_seed(11)
    assert same(mr.randn(1, generator=mg), torch.randn(1, generator=tg))


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_interleaved_calls_on_one_generator(seed):
    """A random program of calls, the same in both libraries, on one generator each."""
    program = np.random.default_rng(seed)
    tg, mg = pair(seed)
    for _ in range(60):
        call = program.integers(7)
        n = int(program.choice(SIZES))
        if call == 0:
            assert same(mr.rand(n, generator=mg), torch.rand(n, generator=tg))
        elif call == 1:
            ours, theirs = mr.randn(n, generator=mg), torch.randn(n, generator=tg)
            assert same(ours, theirs)
        elif call == 2:
            assert same(mr.randn(n, generator=mg, dtype=np.float64),
                        torch.randn(n, generator=tg, dtype=torch.float64))
        elif call == 3:
            assert same(mr.randint(0, 1 + n, (n,), generator=mg),
                        torch.randint(0, 1 + n, (n,), generator=tg))
        elif call == 4:
            p = program.random((int(program.integers(1, 4)), 27)).astype(np.float32)
            k, rep = int(program.integers(1, 6)), bool(program.integers(2))
            assert same(mr.multinomial(minigrad.tensor(p), k, rep, generator=mg),
                        torch.multinomial(torch.from_numpy(p), k, rep, generator=tg))
        elif call == 5:
            assert same(mr.rand(n, generator=mg, dtype=np.float64),
                        torch.rand(n, generator=tg, dtype=torch.float64))
        else:
            s = int(program.integers(2**40))
            assert mg.manual_seed(s) is mg and tg.manual_seed(s) is tg
    assert same(mg.get_state(), tg.get_state())


# ---- multinomial ---------------------------------------------------------------------------

@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", SEEDS[:12])
def test_multinomial_is_torch(seed, np_dtype):
    rng = np.random.default_rng(seed)
    for shape in [(1,), (5,), (27,), (1, 27), (4, 27), (3, 1000)]:
        p = (rng.random(shape) ** 3).astype(np_dtype)
        if seed % 2:
            p[..., 1::3] = 0  # zero-probability categories are never drawn
        nonzero = int((p > 0).sum(-1).min())
        cases = [(1, True), (1, False), (min(3, nonzero), False), (nonzero, False), (2, True),
                 (100, True), (2000, True)]
        for k, replacement in cases:
            tg, mg = pair(seed)
            ours = mr.multinomial(minigrad.tensor(p), k, replacement, generator=mg)
            theirs = torch.multinomial(torch.from_numpy(p.copy()), k, replacement, generator=tg)
            assert same(ours, theirs), (shape, k, replacement)
            assert next_words_agree(tg, mg)


def test_multinomial_with_replacement_sums_in_the_input_dtype():
    """The cumulative sum is float32 for float32 input: a float64 sum puts some draws into a
    neighbouring category, and torch agrees with the float32 one (this test can tell)."""
    p = (np.random.default_rng(0).random((4, 3000)) ** 4).astype(np.float32)
    ours = mr.multinomial(p, 20_000, True, generator=minigrad.Generator().manual_seed(1))
    theirs = torch.multinomial(torch.from_numpy(p), 20_000, True,
                               generator=torch.Generator().manual_seed(1))
    assert same(ours, theirs)
    again = mr.multinomial(p.astype(np.float64), 20_000, True,
                           generator=minigrad.Generator().manual_seed(1))
    assert not np.array_equal(again.numpy(), theirs.numpy())


def test_the_lecture_sampling_loop_is_torch():
    """makemore part 2's sampling: a (1, C) row, one sample with replacement, .item()."""
    probs = np.random.default_rng(3).random((27, 27)).astype(np.float32)
    probs /= probs.sum(1, keepdims=True)
    tg, mg = pair(2147483647)
    for _ in range(5):
        ix_t, ix_m, out_t, out_m = 0, 0, [], []
        while True:
            ix_t = torch.multinomial(torch.from_numpy(probs[ix_t:ix_t + 1]), num_samples=1,
                                     replacement=True, generator=tg).item()
            ix_m = minigrad.multinomial(minigrad.tensor(probs[ix_m:ix_m + 1]), num_samples=1,
                                        replacement=True, generator=mg).item()
            out_t.append(ix_t)
            out_m.append(ix_m)
            if ix_t == 0 or len(out_t) > 30:
                break
        assert out_m == out_t


@pytest.mark.parametrize("probs, k, replacement", [
    (np.array([0.5, -0.1, 0.6], np.float32), 1, True),
    (np.array([0.5, np.nan, 0.6], np.float32), 1, False),
    (np.array([0.5, np.inf, 0.6], np.float32), 2, True),
    (np.array([0.5, np.nan, 0.6], np.float32), 2, True),
    (np.array([0.5, -1, 0.6], np.float32), 2, True),
    (np.zeros(3, np.float32), 1, True),
    (np.array([[1, 1], [0, 0]], np.float32), 1, False),
    (np.ones(3, np.float32), 4, False),
    (np.ones(3, np.float32), 0, True),
    (np.ones((2, 2, 2), np.float32), 1, True),
    (np.ones(3, np.int64), 1, True),
])
def test_multinomial_errors_are_torch(probs, k, replacement):
    with pytest.raises(RuntimeError) as theirs:
        torch.multinomial(torch.from_numpy(probs), k, replacement)
    phrase = str(theirs.value).split(":")[0].split(",")[0].strip()[:40]
    mg = minigrad.Generator()
    state = mg.get_state().numpy()
    with pytest.raises(RuntimeError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        minigrad.multinomial(minigrad.tensor(probs), k, replacement, generator=mg)
    assert np.array_equal(mg.get_state().numpy(), state)  # nothing drawn


# ---- the generator: seeds, state, the default one ------------------------------------------

def test_fresh_generators_are_torch():
    tg, mg = torch.Generator(), minigrad.Generator()
    assert mg.initial_seed() == tg.initial_seed() == 67280421310721
    assert same(mg.get_state(), tg.get_state())
    assert same(mr.randn(5, generator=mg), torch.randn(5, generator=tg))


@pytest.mark.parametrize("seed", SEEDS)
def test_seeds_and_state_bytes_are_torch(seed):
    tg, mg = pair(seed)
    assert mg.initial_seed() == tg.initial_seed()
    assert same(mg.get_state(), tg.get_state())
    for n in (3, 1, 700, 0, 624):
        torch.rand(n, generator=tg), mr.rand(n, generator=mg)
        torch.randn(1, generator=tg), mr.randn(1, generator=mg)
        assert same(mg.get_state(), tg.get_state())


def test_set_state_takes_torchs_state_and_ours():
    tg = torch.Generator().manual_seed(5)
    torch.rand(1000, generator=tg)
    torch.randn(3, generator=tg)  # leaves a normal kept for later
    mg = minigrad.Generator().set_state(tg.get_state().numpy())
    saved = mg.get_state()
    first = [mr.randn(5, generator=mg), mr.randint(0, 9, (9,), generator=mg)]
    assert same(first[0], torch.randn(5, generator=tg))
    assert same(first[1], torch.randint(0, 9, (9,), generator=tg))
    mg.set_state(saved)  # rewinds: the same numbers again
    assert same(mr.randn(5, generator=mg), torch.from_numpy(first[0].numpy()))
    tg.set_state(torch.from_numpy(mg.get_state().numpy()))  # and torch takes ours
    assert same(mr.rand(7, generator=mg), torch.rand(7, generator=tg))
    with pytest.raises(RuntimeError):
        mg.set_state(np.zeros(10, np.uint8))
    state = tg.get_state()
    for offset, value, width in [(8, 0, np.int32), (8, 625, np.int32), (12, 0, np.int32),
                                 (16, 625, np.uint64)]:  # left, seeded, next out of range
        bad = state.clone()
        bad[offset:offset + np.dtype(width).itemsize] = torch.from_numpy(
            np.array([value], width).view(np.uint8))
        with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
            torch.Generator().set_state(bad)
        with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
            minigrad.Generator().set_state(bad.numpy())


def test_manual_seed_seeds_the_default_generator():
    for seed in (0, 42, 2147483647):
        assert minigrad.manual_seed(seed) is minigrad.default_generator
        torch.manual_seed(seed)
        assert minigrad.initial_seed() == torch.initial_seed() == seed
        assert same(minigrad.randn(27, 10), torch.randn(27, 10))
        assert same(minigrad.randn(3), torch.randn(3))
        assert same(minigrad.rand(5), torch.rand(5))
        assert same(minigrad.randint(0, 27, (32,)), torch.randint(0, 27, (32,)))
        assert same(minigrad.get_rng_state(), torch.get_rng_state())


def test_seeding_errors_are_torch():
    g = minigrad.Generator()
    for bad in (2**64, -2**63 - 1):
        with pytest.raises(ValueError, match="Overflow"):
            torch.Generator().manual_seed(bad)
        with pytest.raises(ValueError, match="Overflow"):
            g.manual_seed(bad)
    with pytest.raises(RuntimeError, match="expected a long"):
        torch.Generator().manual_seed(1.5)
    with pytest.raises(RuntimeError, match="expected a long"):
        g.manual_seed(1.5)
    assert g.seed() == g.initial_seed()


def test_draw_errors_are_torch():
    with pytest.raises(RuntimeError, match="from.*to"):
        torch.randint(5, 5, (3,))
    with pytest.raises(RuntimeError, match="from.*to"):
        minigrad.randint(5, 5, (3,))
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        torch.rand(3, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        minigrad.rand(3, dtype=np.int64)


def test_random_leaves_can_require_grad():
    x = minigrad.randn(4, 3, requires_grad=True)
    y = minigrad.rand(2, requires_grad=True)
    assert x.requires_grad and y.requires_grad and x.is_leaf


# ---- layer initialisation ------------------------------------------------------------------

@pytest.mark.parametrize("np_dtype, t_dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 1, 42, 2147483647])
def test_layer_init_draws_torchs_numbers(seed, np_dtype, t_dtype):
    """Linear: kaiming_uniform_(a=sqrt(5)) weight, then U(+-1/sqrt(in)) bias; Embedding:
    normal_; BatchNorm1d draws nothing. From the default generator, in construction order."""
    sizes = [(30, 200), (200, 27), (1, 1), (3, 100), (7, 5), (50, 0)]
    torch.manual_seed(seed)
    theirs = [torch.nn.Linear(i, o, dtype=t_dtype) for i, o in sizes]
    theirs += [torch.nn.Linear(4, 3, bias=False, dtype=t_dtype),
               torch.nn.Embedding(27, 10, dtype=t_dtype), torch.nn.BatchNorm1d(8, dtype=t_dtype),
               torch.nn.Embedding(3, 2, dtype=t_dtype)]
    after = torch.rand(5)
    minigrad.manual_seed(seed)
    ours = [nn.Linear(i, o, dtype=np_dtype) for i, o in sizes]
    ours += [nn.Linear(4, 3, bias=False, dtype=np_dtype), nn.Embedding(27, 10, dtype=np_dtype),
             nn.BatchNorm1d(8, dtype=np_dtype), nn.Embedding(3, 2, dtype=np_dtype)]
    for m, t in zip(ours, theirs):
        t_state = t.state_dict()
        for key, value in m.state_dict().items():
            assert same(value, t_state[key]), (m, key)
    assert same(minigrad.rand(5), after)


def test_linear_init_takes_a_generator():
    g = minigrad.Generator().manual_seed(3)
    a = nn.Linear(6, 4, generator=g)
    b = nn.Linear(6, 4, generator=minigrad.Generator().manual_seed(3))
    weight, bias = a.weight.detach().numpy(), a.bias.detach().numpy()
    assert np.array_equal(weight, b.weight.detach().numpy())
    bound = 1 / math.sqrt(6)
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound


def test_kernel_build_is_the_one_torch_runs():
    """minigrad picks its float32 transforms by the kernel build torch runs on this CPU; that
    choice must be torch's own (torch.backends.cpu.get_cpu_capability), here and with each
    ATEN_CPU_CAPABILITY a user may set."""
    assert mr.torch_cpu_capability() == torch.backends.cpu.get_cpu_capability().lower()
    script = ("import torch, minigrad.random as mr; "
              "print(mr.torch_cpu_capability(), torch.backends.cpu.get_cpu_capability().lower())")
    native = torch.backends.cpu.get_cpu_capability().lower()
    for level in {"default", "avx2", native}:
        env = dict(os.environ, ATEN_CPU_CAPABILITY=level)
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
        assert run.returncode == 0, run.stderr[-2000:]
        ours, theirs = run.stdout.split()
        assert ours == theirs == level, (level, ours, theirs)


def test_kernel_build_from_cpu_flags(tmp_path):
    """Without ATEN_CPU_CAPABILITY, the CPU's flags decide, by torch's rule."""
    def build(flags):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        return mr.torch_cpu_capability(environ={}, cpuinfo=str(path))
    assert build("sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl") == "avx512"
    assert build("sse2 avx avx2 fma avx512f") == "avx2"  # no vl/bw/dq: torch stays at AVX2
    assert build("sse2 avx avx2") == "default"  # AVX2 without FMA
    assert build("sse2") == "default"
    assert mr.torch_cpu_capability(environ={"ATEN_CPU_CAPABILITY": "avx2"},
                                   cpuinfo=str(tmp_path / "missing")) == "avx2"
