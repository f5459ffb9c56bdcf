"""The torch calls of the makemore lectures that are not differentiable ops, against torch.

The differentiable ones (var/std, log10, where, cat, clamp, ...) are rows of test_ops.py's
table; here: minigrad.nn.functional as a module, factories and dtypes (int32, linspace, full,
the default dtype), one_hot, histogram/histc, argmax, the bigram counting of part 1, and the
errors torch raises for bad arguments.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import as_double, as_torch, assert_equal, assert_match, compare

import minigrad
from minigrad import functional as F  # the lectures write: import minigrad.nn.functional as F


def rng(seed=0):
    return np.random.default_rng(seed)


# ---- minigrad.nn.functional ---------------------------------------------------------------

def test_functional_is_a_real_module_under_both_names():
    import minigrad.nn.functional as nn_functional
    assert F is nn_functional is minigrad.nn.functional
    for name in ("softmax", "log_softmax", "one_hot", "relu", "tanh", "sigmoid",
                 "cross_entropy"):
        assert callable(getattr(F, name)), name


@pytest.mark.parametrize("name, call", [
    ("softmax", lambda F, x: F.softmax(x, dim=1)),
    ("softmax-positional", lambda F, x: F.softmax(x, 1)),
    ("softmax-dim0", lambda F, x: F.softmax(x, 0)),
    ("log_softmax", lambda F, x: F.log_softmax(x, dim=-1)),
    ("relu", lambda F, x: F.relu(x)),
    ("tanh", lambda F, x: F.tanh(x)),
    ("sigmoid", lambda F, x: F.sigmoid(x)),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_functional_matches_torch(name, call, dtype):
    x = (rng().standard_normal((4, 6)) * 2).astype(dtype)
    x[np.abs(x) < 0.1] = 0.5  # no relu kink within reach
    compare(lambda lib, a: call(F if lib is minigrad else TF, a), x)


def test_functional_cross_entropy_matches_torch():
    x = rng(1).standard_normal((5, 27))
    y = rng(2).integers(0, 27, 5)
    compare(lambda lib, a, t: (F if lib is minigrad else TF).cross_entropy(a, t), x, y)


def test_softmax_of_a_row_samples_as_the_lecture_does():
    # the lectures' sampling step: probs = F.softmax(logits, dim=1) on a (1, 27) row
    logits = rng(3).standard_normal((1, 27)).astype(np.float32)
    assert_match(F.softmax(minigrad.tensor(logits), dim=1).data,
                 TF.softmax(as_torch(logits), dim=1), "probs",
                 TF.softmax(as_torch(as_double(logits)), dim=1))


# ---- one_hot ------------------------------------------------------------------------------

def test_one_hot_matches_torch():
    xs = np.array([0, 5, 13, 13, 26])
    expected = TF.one_hot(as_torch(xs), num_classes=27)
    got = F.one_hot(minigrad.tensor(xs), num_classes=27)
    assert_equal(got.data, expected)
    assert_equal(got.float().data, expected.float())  # the lecture's F.one_hot(...).float()
    assert_equal(F.one_hot(minigrad.tensor(xs)).data, TF.one_hot(as_torch(xs)))  # inferred
    grid = np.array([[1, 0], [2, 2]])
    assert_equal(F.one_hot(minigrad.tensor(grid), 3).data, TF.one_hot(as_torch(grid), 3))


def test_one_hot_times_a_float_column_is_float():
    # part 4: F.one_hot(logits.max(1).indices, num_classes=...) * dlogit_maxes
    logits = rng(4).standard_normal((3, 5)).astype(np.float32)
    col = rng(5).standard_normal((3, 1)).astype(np.float32)
    m = F.one_hot(minigrad.tensor(logits).max(1).indices, num_classes=5) * minigrad.tensor(col)
    t = TF.one_hot(as_torch(logits).max(1).indices, num_classes=5) * as_torch(col)
    assert_equal(m.data, t)  # 0 or 1 times a float: exact


@pytest.mark.parametrize("xs, n, phrase", [
    ([0, 3], 3, "smaller than num_classes"),
    ([-1, 0], 3, "non-negative"),
    ([0.0, 1.0], 3, "LongTensor"),
])
def test_one_hot_errors_as_torch(xs, n, phrase):
    with pytest.raises(RuntimeError):
        TF.one_hot(torch.tensor(xs), n)
    with pytest.raises(RuntimeError, match=phrase):
        F.one_hot(minigrad.tensor(xs), n)


# ---- dtypes and factories -----------------------------------------------------------------

def test_dtype_names():
    assert minigrad.int32 == np.int32 and minigrad.int == np.int32
    assert minigrad.long == np.int64 and minigrad.float == np.float32
    assert minigrad.double == np.float64


@pytest.mark.parametrize("factory, args", [
    ("zeros", ((27, 27),)), ("ones", ((2, 3),)), ("empty", (4,)), ("full", ((2, 3), 7)),
])
@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64", None])
def test_factories_take_dtypes(factory, args, dtype):
    kw = {} if dtype is None else {"dtype": getattr(minigrad, dtype)}
    got = getattr(minigrad, factory)(*args, **kw)
    expected = getattr(torch, factory)(*args, **({} if dtype is None else
                                                 {"dtype": getattr(torch, dtype)}))
    assert got.shape == tuple(expected.shape)
    assert got.dtype == expected.numpy().dtype
    if factory != "empty":  # torch leaves empty's values unspecified
        assert_equal(got.data, expected)


@pytest.mark.parametrize("value", [1.5, 3, True])
def test_full_takes_its_dtype_from_the_value(value):
    assert_equal(minigrad.full((2, 2), value).data, torch.full((2, 2), value))


@pytest.mark.parametrize("start, end, steps", [(-3, 0, 1000), (0, 1, 5), (2, -2, 7),
                                                (0.1, 0.7, 11), (1, 1, 3), (5, 6, 1),
                                                (0, 1, 0)])
def test_linspace_matches_torch(start, end, steps):
    got, expected = minigrad.linspace(start, end, steps), torch.linspace(start, end, steps)
    assert_match(got.data, expected, "linspace",
                 torch.linspace(start, end, steps, dtype=torch.float64))
    if steps > 1:  # both ends are exact
        assert got.data[0] == expected[0].item() and got.data[-1] == expected[-1].item()


def test_linspace_dtypes():
    assert_match(minigrad.linspace(0, 1, 9, dtype=minigrad.float64).data,
                 torch.linspace(0, 1, 9, dtype=torch.float64))
    assert_match(minigrad.linspace(0, 10, 4, dtype=minigrad.int64).data,
                 torch.linspace(0, 10, 4, dtype=torch.int64))


def test_lr_search_grid_of_part2():
    # lre = torch.linspace(-3, 0, 1000); lrs = 10**lre
    got = 10 ** minigrad.linspace(-3, 0, 1000)
    assert_match(got.data, 10 ** torch.linspace(-3, 0, 1000), "lrs",
                 10 ** torch.linspace(-3, 0, 1000, dtype=torch.float64))


def test_default_dtype_round_trip():
    assert minigrad.get_default_dtype() == np.float32
    assert torch.get_default_dtype() == torch.float32
    try:
        minigrad.set_default_dtype(minigrad.float64)
        torch.set_default_dtype(torch.float64)
        assert minigrad.get_default_dtype() == np.float64
        for m, t in [(minigrad.tensor([1.5]), torch.tensor([1.5])),
                     (minigrad.tensor([1, 2]) / 2, torch.tensor([1, 2]) / 2),
                     (minigrad.tensor([1, 2]) * 0.5, torch.tensor([1, 2]) * 0.5),
                     (minigrad.linspace(0, 1, 3), torch.linspace(0, 1, 3)),
                     (minigrad.empty(2), torch.empty(2)),
                     (minigrad.full((2,), 0.5), torch.full((2,), 0.5)),
                     (minigrad.randn(2), torch.randn(2)), (minigrad.rand(2), torch.rand(2)),
                     (minigrad.nn.Linear(2, 3).weight, torch.nn.Linear(2, 3).weight),
                     (minigrad.nn.Embedding(4, 2).weight, torch.nn.Embedding(4, 2).weight),
                     (minigrad.nn.BatchNorm1d(3).running_var,
                      torch.nn.BatchNorm1d(3).running_var)]:
            assert m.dtype == t.detach().numpy().dtype
    finally:
        minigrad.set_default_dtype(minigrad.float32)
        torch.set_default_dtype(torch.float32)
    assert minigrad.tensor([1.5]).dtype == np.float32


def test_set_default_dtype_refuses_integers():
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int32)
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.set_default_dtype(minigrad.int32)


# ---- counting, as in part 1 (bigrams) and part 3 (batches of losses) ----------------------

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "ella"]


def bigram_counts(lib):
    chars = sorted(set("".join(WORDS)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    n = len(stoi)
    N = lib.zeros((n, n), dtype=lib.int32)
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    return N


def test_bigram_counting_on_int32():
    m, t = bigram_counts(minigrad), bigram_counts(torch)
    assert_equal(m.data, t)
    assert m.dtype == np.int32
    assert_equal(m.sum(1, keepdims=True).data, t.sum(1, keepdims=True))  # int64, as torch
    P_m, P_t = m.float(), t.float()
    P_m = P_m + 1  # smoothing, so no row is all zeros
    P_t = P_t + 1
    P_m /= P_m.sum(1, keepdims=True)
    P_t /= P_t.sum(1, keepdims=True)
    P_d = t.double() + 1  # the truth: the same from the same counts, in float64
    P_d /= P_d.sum(1, keepdims=True)
    assert_match(P_m.data, P_t, "P", P_d)
    assert m[1, 2].item() == t[1, 2].item()


@pytest.mark.parametrize("shape, dim", [((32, 100), None), ((3200,), 0), ((7, 30, 11), (0, 2)),
                                        ((5, 3), 1), ((64, 48), 0), ((1000, 3), 0),
                                        ((4, 8), None), ((32, 27), 0), ((256, 3), 0)])
def test_float32_mean_divides_as_torch(shape, dim):
    """torch's float32 mean is sum / count rounded once: part 3 prints the saturation of a
    (32, 100) tanh layer as (t.abs() > 0.97).float().mean() * 100, and 60 of 3200 is 1.88%
    there, 1.87% after sum * (1/3200). Whole-number values make the sums exact, so what is
    compared, bit for bit, is the division, forward and backward (a count that is a power
    of 2, a batch of 32 or 256, takes the one-product path: 1 / 2**k is exact)."""
    x = rng(4).integers(0, 1024, shape).astype(np.float32)  # sums below 2**24: exact
    mx, tx = minigrad.tensor(x, requires_grad=True), as_torch(x).requires_grad_()
    ours, theirs = mx.mean(dim), tx.mean(dim) if dim is not None else tx.mean()
    assert_equal(ours.data, theirs.detach(), "mean")
    upstream = rng(5).integers(1, 2**20, theirs.shape).astype(np.float32)
    ours.backward(minigrad.tensor(upstream))
    theirs.backward(as_torch(upstream))
    assert_equal(mx.grad.data, tx.grad, "grad of mean")
    saturated = np.zeros((32, 100), np.float32)
    saturated.flat[:60] = 1
    assert "%.2f" % (minigrad.tensor(saturated).mean() * 100) == \
        "%.2f" % (as_torch(saturated).mean() * 100) == "1.88"


def test_batched_mean_of_a_list():
    # part 3: torch.tensor(lossi).view(-1, 1000).mean(1)
    values = rng(6).standard_normal(4000).tolist()  # Python floats, as .item() gives
    assert_match(minigrad.tensor(values).view(-1, 1000).mean(1).data,
                 torch.tensor(values).view(-1, 1000).mean(1), "means",
                 torch.tensor(values).double().view(-1, 1000).mean(1))


def test_argmax_matches_torch():
    x = rng(7).integers(0, 4, (5, 6)).astype(np.float32)  # ties: the first index wins
    for args in [(), (0,), (1,), (-1, True)]:
        assert_match(minigrad.tensor(x).argmax(*args).data, as_torch(x).argmax(*args))
    assert_match(minigrad.argmax(minigrad.tensor(x), dim=1).data, torch.argmax(as_torch(x), 1))
    assert_match(minigrad.tensor(x).argmin(1).data, as_torch(x).argmin(1))


# ---- histogram / histc --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bins, density", [(100, True), (100, False), (7, False), (1, True)])
def test_histogram_matches_torch(dtype, bins, density):
    x = np.tanh(rng(8).standard_normal(3200) * 1.5).astype(dtype)  # part 3's activations
    hist, edges = minigrad.histogram(minigrad.tensor(x), bins=bins, density=density)
    expected = torch.histogram(as_torch(x), bins=bins, density=density)
    truth = torch.histogram(as_torch(as_double(x)), bins=bins, density=density)
    assert_match(edges.data, expected.bin_edges, "edges", truth.bin_edges)
    if density:
        assert_match(hist.data, expected.hist, "density", truth.hist)
    else:
        np.testing.assert_array_equal(hist.data, expected.hist.numpy())
    assert hist.dtype == expected.hist.numpy().dtype


def test_histogram_values_on_edges_and_range():
    x = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.0, -0.5, 2.0, np.nan], dtype=np.float32)
    for kw in [{"bins": 4, "range": (0.0, 1.0)}, {"bins": 3, "range": (-1.0, 1.0)}]:
        m = minigrad.histogram(minigrad.tensor(x), **kw)
        t = torch.histogram(as_torch(x), **kw)
        np.testing.assert_array_equal(m.hist.data, t.hist.numpy())
        truth = torch.histogram(as_torch(as_double(x)), **kw)
        assert_match(m.bin_edges.data, t.bin_edges, "edges", truth.bin_edges)
    same = np.full(4, 3.0, dtype=np.float32)  # an empty range is widened
    m, t = minigrad.histogram(minigrad.tensor(same), 5), torch.histogram(as_torch(same), 5)
    np.testing.assert_array_equal(m.hist.data, t.hist.numpy())
    truth = torch.histogram(as_torch(as_double(same)), 5)
    assert_match(m.bin_edges.data, t.bin_edges, "edges", truth.bin_edges)


def test_histogram_method_and_weights():
    x = rng(9).standard_normal(50).astype(np.float32)
    w = rng(10).random(50).astype(np.float32)
    m = minigrad.tensor(x).histogram(10, weight=minigrad.tensor(w))
    t = as_torch(x).histogram(10, weight=as_torch(w))
    truth = as_torch(as_double(x)).histogram(10, weight=as_torch(as_double(w)))
    assert_match(m.hist.data, t.hist, "weighted counts", truth.hist)


@pytest.mark.parametrize("args", [(), (10,), (10, -1.0, 1.0), (4, 0.0, 0.0)])
def test_histc_matches_torch(args):
    x = (rng(11).standard_normal(500) * 2).astype(np.float32)
    np.testing.assert_array_equal(minigrad.histc(minigrad.tensor(x), *args).data,
                                  torch.histc(as_torch(x), *args).numpy())
    np.testing.assert_array_equal(minigrad.tensor(x).histc(*args).data,
                                  as_torch(x).histc(*args).numpy())


def test_histc_errors_as_torch():
    x = np.zeros(3, dtype=np.float32)
    with pytest.raises(RuntimeError):
        torch.histc(as_torch(x), 4, 1.0, -1.0)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        minigrad.histc(minigrad.tensor(x), 4, 1.0, -1.0)


# ---- argument errors of the new ops -------------------------------------------------------

def raises_like_torch(fn, phrase):
    """fn(lib) raises the same class in both libraries; minigrad's message has the phrase."""
    with pytest.raises(Exception) as expected:
        fn(torch)
    with pytest.raises(expected.type, match=phrase):
        fn(minigrad)


def test_errors_as_torch():
    a, b = np.ones((2, 3), np.float32), np.ones((3, 3), np.float32)

    def t(lib, x):
        return lib.tensor(x)
    raises_like_torch(lambda lib: lib.cat([t(lib, a), t(lib, b)], 1),
                      "Sizes of tensors must match")
    raises_like_torch(lambda lib: lib.cat([t(lib, a), t(lib, a[0])]), "same number of dim")
    raises_like_torch(lambda lib: lib.cat([lib.tensor(1.0)]), "zero-dimensional")
    raises_like_torch(lambda lib: lib.cat([t(lib, a)], 2), "Dimension out of range")
    raises_like_torch(lambda lib: lib.stack([t(lib, a), t(lib, b)]), "equal size")
    raises_like_torch(lambda lib: lib.where(t(lib, a), t(lib, a), t(lib, a)), "boolean")
    raises_like_torch(lambda lib: lib.where(t(lib, a) > 0, t(lib, a), t(lib, b)),
                      "must match the size")
    raises_like_torch(lambda lib: t(lib, a).clamp(), "At least one")
    raises_like_torch(lambda lib: lib.tensor([1, 2]).var(), "floating point")
    raises_like_torch(lambda lib: t(lib, a).unsqueeze(3), "Dimension out of range")
    raises_like_torch(lambda lib: t(lib, a).var(2), "Dimension out of range")


def test_var_of_one_value_is_nan_as_torch():
    x = np.array([2.0], np.float32)
    with pytest.warns(UserWarning):
        expected = as_torch(x).var()
    assert np.isnan(expected.item()) and np.isnan(minigrad.tensor(x).var().item())
    assert minigrad.tensor(x).var(unbiased=False).item() == as_torch(x).var(unbiased=False)


def test_tensor_std_of_float32_activations_matches_torch():
    # part 3 prints t.std() of (32, 100) tanh activations to 2 digits and std to 6
    x = np.tanh(rng(12).standard_normal((32, 100)) * 2).astype(np.float32)
    for args in [(), (0,)]:
        assert_match(minigrad.tensor(x).std(*args).data, as_torch(x).std(*args), "std",
                     as_torch(as_double(x)).std(*args))


# ---- printing: torch's layout ---------------------------------------------------------------

def printed_cases():
    r = rng(13)
    return [
        r.standard_normal((228, 100)).astype(np.float32),  # summarised, as part 2's `h`
        np.tanh(r.standard_normal((32, 27))).astype(np.float32),
        r.random(27).astype(np.float32),  # one row of probabilities, wrapped at 80 columns
        np.float32(3.2164), np.array([1.0, 2.0, 300.0], np.float32),
        np.array([1e-5, 1.0], np.float32), np.arange(12).reshape(3, 4),
        np.array([True, False]), np.zeros((0, 3), np.float32), np.array([], np.int64),
        np.array([1.0, np.nan, np.inf], np.float32), r.standard_normal((4, 5, 6)),
        np.array(5), np.array([1e9, 1.0], np.float32), r.standard_normal(2000).astype(np.float32),
        np.zeros(3, np.float32), (r.standard_normal((3, 3)) * 1e-3).astype(np.float32),
        np.array([-0.0, 1.5], np.float32), np.array([[1, 2], [3, 4]], np.int32),
        np.array([[3, 0], [1, 7]], np.int32) * 1000,
    ]


@pytest.mark.parametrize("i", range(len(printed_cases())))
def test_repr_is_torchs(i):
    a = printed_cases()[i]
    expected = repr(torch.from_numpy(np.array(a))).replace("torch.", "minigrad.")
    assert repr(minigrad.tensor(a)) == expected


def test_repr_of_a_leaf_that_requires_grad_is_torchs():
    a = rng(14).standard_normal((2, 30)).astype(np.float32)
    assert repr(minigrad.tensor(a, requires_grad=True)) == repr(as_torch(a, requires_grad=True))
    assert repr(minigrad.tensor(a[0, 0], requires_grad=True)) == \
        repr(as_torch(a[0, 0], requires_grad=True))


# ---- part 1 of the lectures, end to end ---------------------------------------------------

def bigram_lecture(torch, F):
    """Part 1's steps on the repo's names: counts in int32, smoothed probabilities, names
    sampled with multinomial from a seeded Generator, then the one-hot network trained by
    hand (`W.data += -50 * W.grad`) for 20 steps."""
    path = Path(__file__).resolve().parent.parent / "data" / "names.txt"
    words = path.read_text().splitlines()[:300]
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    n = len(stoi)
    N = torch.zeros((n, n), dtype=torch.int32)
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    g = torch.Generator().manual_seed(2147483647)
    names = []
    for _ in range(5):
        out, ix = [], 0
        while True:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
            out.append(itos[ix])
            if ix == 0:
                break
        names.append("".join(out))
    xs, ys = [], []
    for w in words[:100]:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs, ys = torch.tensor(xs), torch.tensor(ys)
    W = torch.randn((n, n), generator=g, requires_grad=True)
    for _ in range(20):
        xenc = F.one_hot(xs, num_classes=n).float()
        counts = (xenc @ W).exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(xs.nelement()), ys].log().mean() + 0.01 * (W**2).mean()
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad
    return N, names, loss.item()


def test_bigram_lecture_end_to_end_matches_torch():
    m_counts, m_names, m_loss = bigram_lecture(minigrad, F)
    t_counts, t_names, t_loss = bigram_lecture(torch, TF)
    assert_match(m_counts.data, t_counts)
    assert m_names == t_names  # multinomial draws torch's numbers
    assert m_loss == pytest.approx(t_loss, rel=1e-5)
