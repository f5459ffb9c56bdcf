"""minigrad.check: replaying graphs in torch (compare_with_torch) and hand grads (compare_grads).

- every primitive has a replay rule, and a missing one is named;
- every row of test_ops.CASES (which together record every primitive) replays ok in float64,
  float32, and float32 judged against a float64 replay;
- the lecture's graph (seed cell 156, n=32, hidden 64, vocab 27, every intermediate labelled)
  replays ok in float32 and float64, and its table reads like the lecture's cmp;
- random graphs (hypothesis) that reuse nodes and broadcast replay ok;
- a deliberately wrong backward or forward is caught and the node named;
- compare_grads passes the lecture's hand-derived gradients and names a wrong one;
- the verdict: float64 is assert_close; float32 is as accurate as torch against a float64
  replay, and still catches a wrong tanh rule, a 0.1% batchnorm term, a wrong broadcast axis.
"""

import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ops import CASES
from test_seed import seed_inputs

import minigrad
from minigrad import autograd, check, ops
from minigrad.check import compare_grads, compare_with_torch
from models import lecture

# ---- the replay rules (each op class's replay) ------------------------------------------

def test_every_primitive_has_a_replay_rule():
    missing = sorted(n for n, cls in ops.PRIMITIVES.items() if not hasattr(cls, "replay"))
    assert not missing, f"give these op classes a replay(torch, *inputs) method: {missing}"


def test_missing_rule_raises_naming_the_op(monkeypatch):
    monkeypatch.delattr(ops.Tanh, "replay")
    x = minigrad.randn(3, requires_grad=True)
    with pytest.raises(NotImplementedError, match="tanh"):
        compare_with_torch(x.tanh().sum())
    assert x.grad is None  # refused before running any backward


def test_without_torch_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    with pytest.raises(ModuleNotFoundError, match=r"pip install torch==2\.13\.0"):
        compare_with_torch(minigrad.randn(3, requires_grad=True).sum())


# ---- (a) one small graph per case of the op table ---------------------------------------

def run_case(c, dtype, seed=0):
    """The case's graph in minigrad, its float inputs requiring grad (as helpers.compare)."""
    arrays = c.inputs(dtype)
    grad_of = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] \
        if c.grad_of is None else list(c.grad_of)
    inputs = [minigrad.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    out = c.fn(minigrad, *inputs)
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    return out, upstream


REPLAYS = {"float64": (np.float64, None), "float32": (np.float32, None),
           "float32-vs-double": (np.float32, torch.float64)}


@pytest.mark.parametrize("mode", REPLAYS)
@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_case_replays_ok(c, mode):
    dtype, replay = REPLAYS[mode]
    out, upstream = run_case(c, dtype)
    report = compare_with_torch(out, upstream if out.requires_grad else None, dtype=replay)
    assert report.ok, f"\n{report}"
    assert report.rows[0].node is out


def cross_entropy_graph(dtype, reduction, seed=0):
    """logits (5, 4) -> nn.cross_entropy, one node: the fused cross_entropy primitive.

    Rows with a clear winner and rows near uniform; targets repeat a class.
    """
    rng = np.random.default_rng(seed)
    logits = minigrad.tensor((rng.standard_normal((5, 4)) * [[4], [1], [0.1], [2], [3]])
                             .astype(dtype), requires_grad=True)
    targets = minigrad.tensor(np.array([0, 3, 3, 1, 2]))
    out = minigrad.nn.cross_entropy(logits.tanh() * 3, targets, reduction=reduction)
    assert out._op.name == "cross_entropy"
    return out, rng.standard_normal(out.shape).astype(out.dtype)


@pytest.mark.parametrize("mode", REPLAYS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_replays_ok(reduction, mode):
    dtype, replay = REPLAYS[mode]
    out, upstream = cross_entropy_graph(dtype, reduction)
    report = compare_with_torch(out, upstream, dtype=replay)
    assert report.ok, f"\n{report}"


def test_cases_record_every_primitive():
    recorded = set()
    roots = [run_case(c, np.float64)[0] for c in CASES] + [
        cross_entropy_graph(np.float64, "mean")[0]]
    for out in roots:
        recorded |= {n._op.name for n in check.graph_nodes(out) if n._op is not None}
    assert recorded == set(ops.PRIMITIVES)


# ---- (b) the lecture's graph ------------------------------------------------------------

def seed_graph(dtype, seed=0):
    """The lecture's forward (models.lecture) on cell 154's parameters; every tensor by name."""
    arrays, Xb, Yb = seed_inputs(dtype, seed=seed)
    params = {k: minigrad.tensor(v, requires_grad=True) for k, v in arrays.items()}
    params.update(Xb=minigrad.tensor(Xb), Yb=minigrad.tensor(Yb))
    for name, p in params.items():
        p.label = name
    named = lecture.forward(minigrad, params, params["Xb"], params["Yb"])
    return {**named, **params}


INTERMEDIATES = ["loss", "logprobs", "probs", "counts_sum_inv", "counts_sum", "counts",
                 "norm_logits", "logit_maxes", "logits", "h", "hpreact", "bnraw", "bnvar_inv",
                 "bnvar", "bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "emb"]
PARAMS = list(lecture.PARAM_NAMES)


@pytest.mark.parametrize("dtype, replay", [(np.float32, None), (np.float64, None),
                                           (np.float32, torch.float64)],
                         ids=["float32", "float64", "float32-vs-double"])
def test_seed_graph_replays_ok(dtype, replay):
    g = seed_graph(dtype)
    report = compare_with_torch(g["loss"], dtype=replay)
    assert report.ok, f"\n{report}"
    for name in INTERMEDIATES + PARAMS:
        row = report.row_for(g[name])
        assert row.name == name and row.grad_max_abs_diff is not None
    assert g["loss"].grad is not None and g["C"].grad.shape == g["C"].shape


def test_rows_run_root_first_then_backwards():
    g = seed_graph(np.float64)
    report = compare_with_torch(g["loss"])
    position = {id(row.node): i for i, row in enumerate(report.rows)}
    assert report.rows[0].node is g["loss"]
    for row in report.rows:
        assert all(position[id(p)] > position[id(row.node)] for p in row.node._parents)
    # one row per node, constants (1/n, epsilon, the -1 of a subtraction) included
    assert len(position) == len(report.rows) == len(check.graph_nodes(g["loss"]))
    assert {r.op for r in report.rows} >= {"const", "leaf", "getitem", "max", "tanh"}


def test_grads_already_there_are_used_as_they_are():
    g = seed_graph(np.float64)
    g["loss"].backward()
    before = g["W1"].grad.numpy().copy()
    assert compare_with_torch(g["loss"]).ok
    np.testing.assert_array_equal(g["W1"].grad, before)  # no second backward ran


def test_stale_grads_from_another_backward_are_refused():
    x = minigrad.randn(3, requires_grad=True)
    (x * 2).sum().backward()
    with pytest.raises(ValueError, match="already hold a .grad"):
        compare_with_torch(x.tanh().sum())


def test_non_scalar_root_needs_a_gradient():
    x = minigrad.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        compare_with_torch(x.tanh())
    y = minigrad.randn(2, 3, requires_grad=True)
    assert compare_with_torch(y.tanh(), np.ones((2, 3))).ok


def test_deep_chain_without_recursion():
    limit = sys.getrecursionlimit()
    x = minigrad.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(3 * limit):
        y = y * 1.0001
    assert compare_with_torch(y.sum()).ok  # every node of a chain 3x the recursion limit
    assert len(check.graph_nodes(y)) == 2 * 3 * limit + 1


# ---- (c) random graphs ------------------------------------------------------------------

OPS = ["add", "sub", "mul", "div", "exp", "log", "tanh", "pow", "sum", "max", "matmul",
       "reshape", "permute", "getitem", "cast"]
EXPONENTS = [-1.5, -1, -0.5, 0.5, 2, 3]


@st.composite
def programs(draw):
    """A recipe for a random graph: leaf shapes, then 1 to 12 steps that reuse earlier nodes.

    Every shape broadcasts with (a, b); values come from a seeded rng (hypothesis's own
    floats shrink to ties like all-zeros, where max has no unique derivative).
    """
    a, b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n_leaves = draw(st.integers(1, 3))
    # leaf 0 requires grad, the others may be constants
    leaves = [(draw(st.integers(0, 4)), i == 0 or draw(st.booleans())) for i in range(n_leaves)]
    steps = []
    for k in range(draw(st.integers(1, 12))):
        pick = st.integers(0, n_leaves + k - 1)
        steps.append((draw(st.sampled_from(OPS)), draw(pick), draw(pick),
                      draw(st.integers(0, 1 << 16))))
    return (a, b), leaves, steps, draw(st.integers(0, 2**32 - 1))


def squash(x):
    """tanh of x scaled into [-1.5, 1.5].

    A saturated tanh is ill-conditioned in float32: 1 - y**2 keeps few of y's digits, so one
    ulp of difference between numpy's and torch's tanh becomes a 1e-3 relative error in the
    gradient, far outside the float32 bound. The scale is a constant picked from the data.
    """
    peak = float(np.abs(x.data.numpy()).max()) if x.data.numpy().size else 0.0
    return (x * (1.5 / peak) if peak > 1.5 else x).tanh()


def apply(op, x, y, arg, rng, shape):
    """One step, with domain guards that keep every value finite and away from poles."""
    a, b = shape
    if op == "add":
        return x + y
    if op == "sub":
        return x - y
    if op == "mul":
        return x * squash(y)  # |x * tanh y| <= |x|: products cannot blow up
    if op == "div":
        return x / (y * y + 1)
    if op == "exp":
        return squash(x).exp()
    if op == "log":
        return (x * x + 1).log()
    if op == "tanh":
        return squash(x)
    if op == "pow":  # a positive, bounded base for negative and fractional exponents
        t = squash(x)
        return (t * t + 0.5) ** EXPONENTS[arg % len(EXPONENTS)]
    if op in ("sum", "max"):
        if x.ndim == 0 or arg % 3 == 0:
            return x.sum() if op == "sum" else x.max()
        dim = arg % x.ndim
        keepdim = x.ndim == 2  # (a, b) -> (1, b) or (a, 1); (b,) -> ()
        return x.sum(dim, keepdim) if op == "sum" else x.max(dim, keepdim).values
    if op == "matmul":
        x = x.reshape(1, 1) if x.ndim == 0 else x
        grad = bool(arg & 2)
        if arg & 1 and x.ndim == 2:  # V @ x: (a, rows) @ (rows, cols)
            v = rng.standard_normal((a, x.shape[0])) / np.sqrt(x.shape[0])
            return minigrad.tensor(v.astype(x.dtype), requires_grad=grad) @ x
        k, out = x.shape[-1], (b if x.ndim == 2 else x.shape[-1])
        w = rng.standard_normal((k, out)) / np.sqrt(k)
        return x @ minigrad.tensor(w.astype(x.dtype), requires_grad=grad)
    if op == "reshape":
        return x.reshape(-1).reshape(x.shape)
    if op == "permute":
        return x.T.T
    if op == "getitem":
        if x.ndim == 0 or arg % 3 == 2:
            return x[None][0]
        if arg % 3 == 1:
            return x[::-1]  # torch has no negative steps: the replay gathers instead
        return x[rng.integers(0, x.shape[0], size=x.shape[0])]  # repeats accumulate
    assert op == "cast"
    return x.double().float() if x.dtype == np.float32 else x.float().double()


def build(program, dtype):
    shape, leaves, steps, seed = program
    rng = np.random.default_rng(seed)
    shapes = [shape, (1, shape[1]), (shape[0], 1), (shape[1],), ()]
    nodes = [minigrad.tensor(rng.standard_normal(shapes[s]).astype(dtype), requires_grad=grad)
             for s, grad in leaves]
    for op, i, j, arg in steps:
        nodes.append(apply(op, nodes[i], nodes[j], arg, rng, shape))
    root = nodes[-1]
    if not root.requires_grad:  # a step on constants only: tie it to leaf 0
        root = root + nodes[0]
    return root, rng.standard_normal(root.shape).astype(root.dtype)


@settings(max_examples=40)
@given(programs())
def test_random_graphs_replay_ok(program):
    root, upstream = build(program, np.float64)
    report = compare_with_torch(root, upstream)
    assert report.ok, f"\n{report}"
    root, upstream = build(program, np.float32)
    report = compare_with_torch(root, upstream)
    assert report.ok, f"\n{report}"
    # minigrad's float32 within the float32 bound of the exact (double) computation
    report = compare_with_torch(root, upstream, dtype=torch.float64)
    assert report.ok, f"\n{report}"


# ---- (d) a wrong primitive is caught and named ------------------------------------------

@pytest.mark.wrong_on_purpose
def test_wrong_backward_is_caught_and_named(monkeypatch):
    right = ops.Tanh.backward
    monkeypatch.setattr(ops.Tanh, "backward",
                        lambda self, grad, out, x: tuple(1.01 * g for g in right(self, grad,
                                                                                  out, x)))
    g = seed_graph(np.float64)
    report = compare_with_torch(g["loss"])
    assert not report.ok
    assert report.row_for(g["h"]).close  # the grad arriving at tanh is still right
    row = report.row_for(g["hpreact"])  # the one it sends back is 1% off
    assert not row.close and row.value_close and not row.grad_close
    failed = [r.name for r in report.failures()]
    assert "hpreact" in failed and "C" in failed and "logits" not in failed
    assert "FAILED: hpreact" in str(report)


@pytest.mark.wrong_on_purpose
def test_wrong_forward_is_caught_and_named(monkeypatch):
    monkeypatch.setattr(ops.Exp, "forward", lambda self, x: np.exp(x) * (1 + 1e-3))
    g = seed_graph(np.float64)
    report = compare_with_torch(g["loss"])
    row = report.row_for(g["counts"])
    assert not row.value_close and row.value_max_abs_diff > 0
    assert report.row_for(g["norm_logits"]).value_close
    assert "counts" in [r.name for r in report.failures()]


# ---- (e) backprop ninja: hand-derived gradients -----------------------------------------

def hand_grads(g):
    """The lecture's manual backward (cell 157) in numpy, from minigrad's forward values."""
    v = {k: t.data.numpy() for k, t in g.items()}
    n = v["logprobs"].shape[0]
    dlogprobs = np.zeros_like(v["logprobs"])
    dlogprobs[range(n), v["Yb"]] = -1.0 / n
    dprobs = (1.0 / v["probs"]) * dlogprobs
    dcounts_sum_inv = (v["counts"] * dprobs).sum(1, keepdims=True)
    dcounts = v["counts_sum_inv"] * dprobs
    dcounts_sum = -v["counts_sum"] ** -2 * dcounts_sum_inv
    dcounts = dcounts + np.ones_like(v["counts"]) * dcounts_sum
    dnorm_logits = v["counts"] * dcounts
    dlogit_maxes = -dnorm_logits.sum(1, keepdims=True)
    dlogits = dnorm_logits + (v["logits"] == v["logit_maxes"]) * dlogit_maxes
    dh = dlogits @ v["W2"].T
    dW2 = v["h"].T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - v["h"] ** 2) * dh
    return {k: x for k, x in locals().items() if k.startswith("d")}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hand_grads_pass(dtype):
    g = seed_graph(dtype)
    grads = hand_grads(g)
    grads["counts_sum"] = grads.pop("dcounts_sum")  # a key without the "d" works too
    grads["dh"] = minigrad.tensor(grads["dh"])  # and a Tensor as well as an array
    report = compare_grads(grads, g["loss"])
    assert report.ok, f"\n{report}"
    assert [r.name for r in report.rows][:3] == ["logprobs", "probs", "counts_sum_inv"]
    assert report.row_for(g["W2"]).grad_max_abs_diff < 1e-5


@pytest.mark.wrong_on_purpose
def test_wrong_hand_grad_fails_naming_it():
    g = seed_graph(np.float32)
    grads = hand_grads(g)
    grads["dcounts_sum"] = -grads["dcounts_sum"]  # a sign error
    report = compare_grads(grads, g["loss"])
    assert [r.name for r in report.failures()] == ["counts_sum"]
    assert "FAILED: counts_sum" in str(report)


@pytest.mark.wrong_on_purpose
def test_hand_grad_of_the_wrong_shape_fails():
    g = seed_graph(np.float32)
    v = {k: t.data.numpy() for k, t in g.items()}
    grads = hand_grads(g)
    # the lecture's trap: forgetting to sum over the broadcast dimension
    grads["dcounts_sum_inv"] = v["counts"] * grads["dprobs"]
    report = compare_grads(grads, g["loss"])
    row = report.row_for(g["counts_sum_inv"])
    assert not row.close and "shape (32, 27) != (32, 1)" in row.note
    assert "shape (32, 27) != (32, 1)" in str(report)


def test_unknown_name_lists_the_labels():
    g = seed_graph(np.float32)
    with pytest.raises(KeyError, match="dlogitz.*counts_sum_inv.*logits"):
        compare_grads({"dlogitz": np.zeros((32, 27))}, g["loss"])


# ---- (f) the table ----------------------------------------------------------------------

def test_table_reads_like_the_lecture():
    g = seed_graph(np.float32)
    text = str(compare_with_torch(g["loss"]))
    lines = text.splitlines()
    assert lines[1].startswith("approximate = as accurate as torch")  # float32: the title
    header = lines[2]                                                # says what it means
    for column in ("name", "shape", "exact", "approximate", "maxdiff", "grad error vs f64"):
        assert column in header
    for name in INTERMEDIATES + PARAMS:
        assert any(line.split(" | ")[0].strip() == name for line in lines)
    assert lines[4].startswith("loss ")  # the root first
    assert lines[-1].endswith(": ok") and "approximate" in lines[-1]
    assert len({len(line) for line in lines[2:5]}) <= 2  # columns line up


# ---- the one verdict --------------------------------------------------------------------

@pytest.mark.parametrize("scale", [0.0, 1e-9, 1e-7, 3e-7, 1e-6, 1e-3])
@pytest.mark.parametrize("magnitude", [1e-3, 1.0, 1e4])
def test_float64_verdict_is_assert_close(scale, magnitude):
    rng = np.random.default_rng(7)
    expected = rng.standard_normal(300) * magnitude
    actual = expected + scale * magnitude * rng.standard_normal(300)
    try:
        torch.testing.assert_close(torch.from_numpy(actual), torch.from_numpy(expected))
        torch_says = True
    except AssertionError:
        torch_says = False
    assert check.close(actual, expected) == torch_says


@pytest.mark.wrong_on_purpose
def test_float32_needs_the_float64_truth():
    a = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="truth"):
        check.verdict(a, a)
    assert check.verdict(a, a, a.astype(np.float64)).ok


@pytest.mark.wrong_on_purpose
def test_float32_is_judged_against_torchs_own_error():
    # truth t; torch off by e_t everywhere (or by nothing), minigrad by e_m in one entry
    rng = np.random.default_rng(3)
    t = rng.standard_normal(64)
    ulp = check.EPS32 * np.abs(t).max()
    floor = check.FLOOR_ULPS * ulp
    for e_t in (0.0, 1e-7, 1e-5):
        theirs = t + e_t * rng.choice([-1, 1], t.shape)
        for factor, ok in ((0.5, True), (0.999, True), (1.01, False), (3.0, False)):
            e_m = factor * (check.K * e_t + floor)
            mine = t.copy()
            mine[5] += e_m
            v = check.verdict(mine, theirs, t, dtype=np.float32)
            assert v.ok is ok, (e_t, factor, v)
            assert v.error == pytest.approx(e_m) and v.torch_error == pytest.approx(e_t)


@pytest.mark.wrong_on_purpose
def test_float32_floor_is_ulps_of_the_scale_not_of_the_result():
    # a result of 1e-6 made of terms of size 10: rounding at the terms' scale is honest
    t = np.full(4, 1e-6)
    mine = t + 30 * check.EPS32  # 3 ulps of 10
    assert not check.verdict(mine, t, t, dtype=np.float32).ok  # scale: the result's size
    assert check.verdict(mine, t, t, scale=10.0, dtype=np.float32).ok


@pytest.mark.wrong_on_purpose
@pytest.mark.parametrize("pair, ok", [
    (([1.0, np.inf], [1.0, np.inf]), True), (([1.0, np.inf], [1.0, 1e30]), False),
    (([np.nan, 1.0], [np.nan, 1.0]), True), (([np.nan, 1.0], [0.0, 1.0]), False),
    (([-np.inf], [np.inf]), False)])
def test_float32_non_finite_must_sit_where_torchs_does(pair, ok):
    actual, expected = (np.array(p, dtype=np.float32) for p in pair)
    truth = np.where(np.isfinite(expected), expected, 0.0)
    assert check.verdict(actual, expected, truth).ok is ok


def test_a_float32_result_against_double_takes_float32s_rule():
    expected = np.linspace(-1, 1, 50)
    actual = (expected * (1 + 1e-6)).astype(np.float32)
    with pytest.raises(TypeError, match="truth"):  # float32 is involved: it needs the truth
        check.verdict(actual, expected)
    assert not check.close(actual, expected, dtype=np.float64)  # float64's own tolerance
    assert not check.close(np.zeros(3), np.zeros(4))


# ---- the verdict still catches wrong derivatives in float32 --------------------------------

@pytest.mark.wrong_on_purpose
def test_float32_catches_tanh_backward_without_the_square(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "backward", lambda self, grad, out, x: (grad * (1 - out),))
    g = seed_graph(np.float32)
    report = compare_with_torch(g["loss"])
    assert not report.row_for(g["hpreact"]).grad_close
    assert report.row_for(g["h"]).close
    assert "FAILED: hpreact" in str(report)


@pytest.mark.wrong_on_purpose
def test_float32_catches_a_1e3_relative_error_in_one_batchnorm_term(monkeypatch):
    # the variance term of batchnorm's input gradient, 0.1% off: bnvar_inv = (bnvar+eps)**-0.5
    right = ops.Pow.backward

    def off(self, grad, out, x):
        (dx,) = right(self, grad, out, x)
        return (dx * (1 + 1e-3) if self.exponent == -0.5 else dx,)

    monkeypatch.setattr(ops.Pow, "backward", off)
    g = seed_graph(np.float32)
    report = compare_with_torch(g["loss"])
    assert report.row_for(g["bnvar_inv"]).close  # its own grad arrives right
    for name in ("bnvar", "bndiff2", "bndiff", "hprebn", "W1"):
        row = report.row_for(g[name])
        assert row.value_close and not row.grad_close, name


@pytest.mark.wrong_on_purpose
def test_float32_catches_a_wrong_broadcast_axis(monkeypatch):
    # a (1, 5) bias on a (5, 5) batch summed over the wrong axis keeps its shape
    right = autograd.sum_to_shape

    def wrong_axis(grad, shape):
        if grad.ndim == 2 and shape == (1, grad.shape[1]) and grad.shape[0] == grad.shape[1]:
            return grad.sum(1, keepdims=True).reshape(shape)
        return right(grad, shape)

    monkeypatch.setattr(autograd, "sum_to_shape", wrong_axis)
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((5, 5)).astype(np.float32), requires_grad=True)
    b = minigrad.tensor(rng.standard_normal((1, 5)).astype(np.float32), requires_grad=True)
    out = ((x + b).tanh() * 2).sum()
    report = compare_with_torch(out)
    assert not report.row_for(b).grad_close and report.row_for(x).close


def test_float32_table_shows_both_errors_against_float64():
    g = seed_graph(np.float32)
    report = compare_with_torch(g["loss"])
    text = str(report)
    assert "grad error vs f64" in text and "as accurate as torch" in text
    row = report.row_for(g["hprebn"])
    assert row.grad_verdict.torch_error > 0 and row.grad_verdict.error > 0
    assert f"{row.grad_verdict.error:.2g} / {row.grad_verdict.torch_error:.2g}" in text
    assert "error vs f64" not in str(compare_with_torch(seed_graph(np.float64)["loss"]))
