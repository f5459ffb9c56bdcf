"""Replay a recorded minigrad graph in PyTorch and compare every node, value and gradient.

    report = minigrad.check.compare_with_torch(loss)   # runs loss.backward() if needed
    print(report)                                      # the lecture's cmp table, one row a node
    assert report.ok

`compare_with_torch` walks the graph under a root, rebuilds it in torch one primitive at a time
(each primitive's class has its `replay`, ops.py), runs torch's backward with the same seed
gradient, and compares each node's value and gradient with minigrad's. `compare_grads` is the
backprop-ninja check: gradients derived by hand against the engine's own `.grad`.

What "matches" means is defined once, in `verdict` (and `close`, its yes or no):
- float64: torch.testing.assert_close defaults, |a - b| <= 1e-7 + 1e-7 |b| element-wise;
- float32: as accurate as torch. Both are compared with the truth, the same computation in
  float64 from the same float32 inputs, and minigrad's error may be at most K times torch's
  plus a floor of a few ulps of the magnitudes that entered the computation;
- anything else (integers, bools): equality.

torch is optional for minigrad: it is imported here only, and only inside the functions that
need it. This module does not draw anything (viz colours nodes with `Report.row_for`).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from . import autograd, extra_ops
from .tensor import Tensor

TORCH_HINT = "minigrad.check needs PyTorch: pip install torch==2.13.0"


def _torch():
    try:
        import torch
    except ImportError as e:  # ModuleNotFoundError is a subclass
        raise ModuleNotFoundError(TORCH_HINT) from e
    return torch


# ---- the verdict: does minigrad match torch? ----------------------------------------------
#
# float64 is judged element-wise with torch.testing.assert_close's defaults. float32 is judged
# against the truth: the same computation in float64 from the same float32 inputs. A float32
# result is never exact, and how far it is from the truth depends on the SIMD kernels numpy
# and torch pick at run time (a sum in another order rounds differently). A fixed bound around
# the result fails honest code where the result is a difference of nearly equal terms (a bias
# before batchnorm has an exact gradient of 0; its float32 gradient is pure rounding of terms
# a thousand times larger). So minigrad must be about as accurate as torch:
#
#     max|minigrad - truth| <= K * max|torch - truth| + FLOOR_ULPS * eps32 * scale
#
# K, how much less accurate than torch minigrad may be, and FLOOR_ULPS were chosen from the
# 14,942 float32 comparisons of the parity tests at four kernel levels (numpy native AVX2 and
# SSE baseline, each with torch's native and `default` kernels): minigrad's error was at most
# 4.75 times torch's (a makemore gradient, 8.8e-9 against torch's 1.9e-9, at the floor's
# size), and 4.2 times where errors are large (the seed cell's counts_sum at hidden 200,
# carried down from the logits' 200-term matmul). K = 8 is about twice that, for CPUs no
# machine here has (AVX-512), and stays far below what a wrong rule gives: a 0.1% error in
# one term of batchnorm's gradient is 550 to 3,600 times torch's error (test_check), a tanh
# rule without the square 8 million times.
# The floor serves comparisons where torch is exact by luck (a few elements, error 0): a few
# ulps of the largest magnitude that entered the computation, i.e. the inputs of the op for a
# value, the terms summed into it for a gradient (each consumer's gradient and the
# contribution it sends; `scales`). Where K x torch's error alone did not cover minigrad's,
# the error was at most 8.6 ulps of that magnitude with K = 4, and 0.8 with K = 8.
K = 8.0
FLOOR_ULPS = 8
EPS32 = float(np.finfo(np.float32).eps)  # 2**-23, one ulp at 1.0


@dataclass(frozen=True)
class Verdict:
    """One comparison. `error` is minigrad's distance from the truth (float32) or from torch
    (float64), `torch_error` torch's own distance from the truth, `bound` what was allowed."""

    ok: bool
    error: float
    torch_error: float | None = None
    bound: float | None = None

    def __bool__(self):
        return self.ok

    def __str__(self):
        if self.torch_error is None:
            return f"{'ok' if self.ok else 'mismatch'}: max|diff| {self.error:.3g}"
        return (f"{'ok' if self.ok else 'less accurate than torch'}: error vs float64 "
                f"{self.error:.3g}, torch's {self.torch_error:.3g}, allowed {self.bound:.3g}")


def verdict(actual, expected, truth=None, scale=None, dtype=None):
    """Judge minigrad's `actual` against torch's `expected`: the one definition of "matches".

    `dtype` picks the rule (default: the least precise float of actual and expected).
    float64: torch.testing.assert_close defaults element-wise, |a - b| <= 1e-7 + 1e-7 |b|.
    float32: needs `truth`, the float64 result from the same float32 inputs, and judges
    max|a - truth| <= K * max|b - truth| + FLOOR_ULPS * eps32 * scale, where `scale` is the
    largest magnitude that entered the computation (default: max|truth|; see `scales`).
    Anything else (integers, bools): equality. Shapes must be equal. Non-finite values must
    sit in the same places with the same values (NaN == NaN for float32, as np.testing; never
    for float64, as assert_close).
    """
    a, b = np.asarray(actual), np.asarray(expected)
    if a.shape != b.shape:
        return Verdict(False, math.inf)
    if dtype is None:
        floats = [x.dtype for x in (a, b) if x.dtype.kind == "f"]
        dtype = min(floats, key=lambda d: d.itemsize) if floats else a.dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or a.dtype.kind not in "fiub" or b.dtype.kind not in "fiub":
        return Verdict(bool(np.array_equal(a, b)), 0.0 if np.array_equal(a, b) else math.inf)
    if dtype.itemsize > 4:
        # torch.isclose: equal, or a finite error within atol + rtol * |b| (NaN is never close)
        a, b = a.astype(np.float64), b.astype(np.float64)
        with np.errstate(invalid="ignore"):
            error = np.abs(a - b)
            ok = (a == b) | (np.isfinite(error) & (error <= 1e-7 + 1e-7 * np.abs(b)))
        return Verdict(bool(ok.all()), max_abs_diff(a, b))
    if truth is None:
        raise TypeError("a float32 result is judged against the float64 truth: pass truth=, "
                        "the same computation in float64 from the same float32 inputs (in "
                        "tests: helpers.compare builds it; a result that no rounding enters, "
                        "a copy or a count, is compared with helpers.assert_equal)")
    t = np.asarray(truth, dtype=np.float64)
    if t.shape != a.shape:
        raise ValueError(f"truth has shape {t.shape}, the result {a.shape}")
    a, b = a.astype(np.float64), b.astype(np.float64)
    finite = np.isfinite(b)
    if not (np.array_equal(np.isfinite(a), finite)
            and np.array_equal(a[~finite], b[~finite], equal_nan=True)):
        return Verdict(False, math.inf, 0.0, 0.0)
    if not finite.any():
        return Verdict(True, 0.0, 0.0, 0.0)
    a, b, t = a[finite], b[finite], t[finite]
    error, torch_error = _amax(a - t), _amax(b - t)
    scale = _amax(t) if scale is None else scale
    bound = K * torch_error + FLOOR_ULPS * EPS32 * scale
    return Verdict(bool(error <= bound), error, torch_error, bound)


def close(actual, expected, truth=None, scale=None, dtype=None):
    """True when minigrad's `actual` matches torch's `expected`: `verdict(...).ok`."""
    return verdict(actual, expected, truth, scale, dtype).ok


def _amax(x):
    """max|x| as a float, 0.0 for an empty or missing array (inf/NaN entries excluded)."""
    if x is None:
        return 0.0
    x = np.abs(np.asarray(x, dtype=np.float64))
    x = x[np.isfinite(x)]
    return float(x.max()) if x.size else 0.0


def scales(root):
    """The floor's magnitudes for every node under `root`: id -> (value scale, grad scale).

    A value's scale is the largest magnitude among the node and the inputs of its op; a
    gradient's is the largest among the node's grad, and for each consumer the consumer's
    grad and the contribution it sends here (the terms the engine sums into this grad, before
    any broadcast is summed down). Read from minigrad's graph after backward, so tests that
    have no torch graph (module twins) get the same scales as compare_with_torch.
    """
    nodes = graph_nodes(root)
    value = {id(n): _amax(_np(n.data)) for n in nodes}
    grad = {id(n): _amax(_np(n.grad)) for n in nodes}
    out = {}
    for c in nodes:
        value_scale = max([value[id(c)]] + [value[id(p)] for p in c.parents])
        out[id(c)] = value_scale
        if c.op is None or c.grad is None:
            continue
        parents = [_np(p.data) for p in c.parents]
        terms = c.op.backward(np.array(_np(c.grad)), _np(c.data), *parents)
        for p, term in zip(c.parents, terms):
            if term is not None and p.requires_grad:
                grad[id(p)] = max(grad[id(p)], _amax(term), grad[id(c)])
    return {key: (out[key], grad[key]) for key in out}


def _np(x):
    """The numpy array behind a Tensor (or an array, or None)."""
    return x.detach().numpy() if isinstance(x, Tensor) else x


def max_abs_diff(actual, expected):
    """max |a - b| as a float (0.0 for empty arrays); equal entries, inf and NaN too, count 0."""
    a, b = np.asarray(actual), np.asarray(expected)
    if a.shape != b.shape:
        return None
    if a.size == 0:
        return 0.0
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        return float(np.any(a != b))
    a, b = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, np.abs(a - b))
    return float(diff.max())  # a NaN against a number stays NaN: visibly wrong


def _exact(actual, expected):
    """Equal everywhere, as the lecture's `torch.all(dt == t.grad)` (NaN equals NaN here).

    Numeric equality, so a float32 constant replayed in float64 is still exact.
    """
    a, b = np.asarray(actual), np.asarray(expected)
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"
                                                      and b.dtype.kind == "f"))


# ---- the report -------------------------------------------------------------------------

@dataclass(eq=False)
class Row:
    """One node of the graph: minigrad's value and grad against the oracle's."""

    node: Tensor  # the minigrad tensor itself: viz looks rows up by identity
    name: str  # its label, else f"{op}{index}" / "leaf{index}" / "const{index}"
    op: str  # primitive name, "leaf" (requires grad) or "const" (does not)
    shape: tuple
    exact: bool  # value and grad equal everywhere (==, as the lecture's cmp)
    close: bool  # value and grad within the tolerance
    value_max_abs_diff: float | None  # None where no value was compared (compare_grads)
    grad_max_abs_diff: float | None  # None where the node has no grad
    value_close: bool = True
    grad_close: bool = True
    note: str = ""  # why a row failed in a way a number cannot say (shape, dtype, ...)
    value_verdict: "Verdict | None" = None  # float32 rows: errors against the float64 truth
    grad_verdict: "Verdict | None" = None


def _fmt(x):
    return "-" if x is None else f"{x:.3g}"


def _errors(v):
    """A float32 verdict as "minigrad's error / torch's error" against the float64 truth."""
    return "-" if v is None or v.torch_error is None else \
        f"{v.error:.2g} / {v.torch_error:.2g}"


@dataclass(eq=False)
class Report:
    """What compare_with_torch and compare_grads return: one Row a node, root first."""

    rows: list
    title: str = ""
    reference: str = "torch"  # what the rows were compared with: "torch" or "engine"
    _by_id: dict = field(init=False, repr=False)

    def __post_init__(self):
        self._by_id = {id(row.node): row for row in self.rows}

    @property
    def ok(self):
        return all(row.close for row in self.rows)

    def row_for(self, tensor):
        """The row of this very tensor (by identity, not value)."""
        try:
            return self._by_id[id(tensor)]
        except KeyError:
            raise KeyError("tensor is not a node of this report") from None

    def failures(self):
        return [row for row in self.rows if not row.close]

    def __str__(self):
        header = ("name", "op", "shape", "exact", "approximate", "maxdiff value", "maxdiff grad",
                  "value error vs f64", "grad error vs f64")
        lines = [(r.name, r.op, str(tuple(r.shape)), str(r.exact), str(r.close),
                  _fmt(r.value_max_abs_diff), _fmt(r.grad_max_abs_diff),
                  _errors(r.value_verdict), _errors(r.grad_verdict), r.note)
                 for r in self.rows]
        if all(r.value_verdict is None and r.grad_verdict is None for r in self.rows):
            header = header[:-2]  # float64 throughout: no truth column to show
            lines = [line[:-3] + line[-1:] for line in lines]
        widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in
                  enumerate(header)]

        def cells(values):
            return " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

        out = [self.title] if self.title else []
        out += [cells(header), "-+-".join("-" * w for w in widths)]
        out += [cells(line[:-1]) + (f"  <- {line[-1]}" if line[-1] else "") for line in lines]
        failed = self.failures()
        exact = sum(r.exact for r in self.rows)
        verdict = "ok" if not failed else \
            f"FAILED: {', '.join(r.name for r in failed[:8])}" + (" ..." if failed[8:] else "")
        out.append(f"{len(self.rows)} nodes, {exact} exact, {len(self.rows) - len(failed)} "
                   f"approximate: {verdict}")
        return "\n".join(out)

    __repr__ = __str__


def _torch_dtype(np_dtype):
    return _torch().from_numpy(np.empty(0, dtype=np_dtype)).dtype


# ---- walking the graph ------------------------------------------------------------------

def graph_nodes(root):
    """Every node under `root`, constants included, each after its parents (the engine's
    walk; toposort keeps only the nodes that require grad, a replay needs them all)."""
    return autograd.walk(root)


def _names(nodes):
    """label, else the op (or leaf/const) and the node's position in forward order."""
    names = {}
    for i, node in enumerate(nodes):
        kind = node.op.name if node.op is not None else \
            "leaf" if node.requires_grad else "const"
        names[id(node)] = (node.label or f"{kind}{i}", kind)
    return names


def _seed(root, gradient):
    if gradient is None:
        return None
    data = gradient._data if isinstance(gradient, Tensor) else gradient
    return np.array(data, dtype=root.dtype)


def _run_minigrad_backward(root, gradient, nodes):
    """The policy: backward runs here only if root.grad is None, and then on a clean graph."""
    if not root.requires_grad or root.grad is not None:
        return
    stale = [n for n in nodes if n.grad is not None]
    if stale:
        raise ValueError(f"{len(stale)} nodes under the root already hold a .grad from another "
                         "backward; set their .grad = None first, or call root.backward() "
                         "yourself before compare_with_torch")
    root.backward(gradient)


# ---- the two comparisons ----------------------------------------------------------------

def _replay(nodes, root, seed, float_dtype):
    """Rebuild the graph in torch one primitive at a time, then run torch's backward.

    Leaves go in bit-exactly (`torch.from_numpy(arr.copy())`), converted to `float_dtype` when
    it is given (then every float is computed in that dtype). Returns id -> (value, grad) as
    numpy arrays, grad None where torch's backward did not reach.
    """
    torch = _torch()
    np_float = None if float_dtype is None else torch.empty(0, dtype=float_dtype).numpy().dtype
    replayed = {}
    with torch.enable_grad():
        for node in nodes:
            if node.op is None:
                data = np.array(_np(node.data))  # a copy: torch.from_numpy shares memory
                if np_float is not None and data.dtype.kind == "f":
                    data = data.astype(np_float)
                t = torch.from_numpy(data)
                if node.requires_grad:
                    t.requires_grad_(True)
            else:
                inputs = [replayed[id(p)] for p in node.parents]
                op = node.op
                if np_float is not None and op.name == "cast" and np.dtype(op.dtype).kind == "f":
                    op = extra_ops.Cast(np_float)  # a replay in one float dtype keeps it
                t = op.replay(torch, *inputs)
                if t.requires_grad:
                    t.retain_grad()
            replayed[id(node)] = t
        t_root = replayed[id(root)]
        if t_root.requires_grad:
            t_seed = None if seed is None else torch.from_numpy(seed.copy()).to(t_root.dtype)
            t_root.backward(t_seed)
    return {key: (t.detach().numpy(), None if t.grad is None else t.grad.numpy())
            for key, t in replayed.items()}


def compare_with_torch(root, gradient=None, dtype=None):
    """Replay the graph under `root` in torch and compare every node's value and grad.

    Gradient policy: if `root.grad` is None, this runs `root.backward(gradient)` on minigrad
    first (and refuses if other nodes already hold grads); otherwise it trusts the grads that
    are there, which must come from exactly one backward of `root` with the same `gradient`.
    `gradient` seeds both backwards (default: ones, for a one-element root).

    Leaves go to torch bit-exactly; those that require grad require it in torch too, the
    others are constants. Every torch non-leaf retains its grad.

    The verdict is `verdict`'s, per node and per value and grad. A graph that is float64
    throughout is judged by assert_close's defaults against torch's replay. Where float32 is
    involved (in the graph, or as the replay `dtype`), the graph is replayed twice: by torch
    in float32, as minigrad computed it, and in float64 from the same float32 leaves, the
    truth; a float64 node downstream (or upstream, for its grad) of a float32 one carries
    float32 rounding, so it is judged the same way. The floors' magnitudes come from `scales`.

    `dtype` (a torch float dtype) picks which replay the exact and maxdiff columns compare
    against: torch.float64 shows minigrad's float32 against the float64 replay.

    Returns a Report with rows root first, then backwards as the lecture compares them
    (reverse topological order: every node comes before its inputs).
    """
    torch = _torch()
    nodes = graph_nodes(root)
    missing = sorted({n.op.name for n in nodes if n.op is not None and
                      not hasattr(n.op, "replay")})
    if missing:
        raise NotImplementedError(f"no torch replay rule for primitive(s) {missing}: give the "
                                  "op class a replay(torch, *inputs) method")
    seed = _seed(root, gradient)
    _run_minigrad_backward(root, seed, nodes)

    float_dtype = None
    if dtype is not None:
        float_dtype = dtype if isinstance(dtype, torch.dtype) else _torch_dtype(dtype)
        if not float_dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating point dtype, got {dtype}")
    np_float = None if float_dtype is None else \
        torch.empty(0, dtype=float_dtype).numpy().dtype

    graph_floats = {n.dtype for n in nodes if n.dtype.kind == "f"}
    floats = graph_floats | ({np_float} if np_float is not None else set())
    judge = min(floats, key=lambda d: d.itemsize) if floats else None
    shown = _replay(nodes, root, seed, float_dtype)  # the exact and maxdiff columns
    torch_low = truth = None
    if judge is not None and judge.itemsize <= 4:
        low = None if judge in graph_floats else float_dtype  # torch as minigrad computed it
        torch_low = shown if low == float_dtype else _replay(nodes, root, seed, low)
        truth = shown if float_dtype == torch.float64 else \
            _replay(nodes, root, seed, torch.float64)
    magnitudes = scales(root) if truth is not None else {}

    names = _names(nodes)
    rows = []
    for node in reversed(nodes):
        key = id(node)
        low = truth_pair = None
        if truth is not None and node.dtype.kind == "f":
            low, truth_pair = torch_low[key], truth[key]
        rows.append(_row(node, *names[key], shown[key], np_float, judge, low, truth_pair,
                         magnitudes.get(key, (None, None))))
    title = f"minigrad ({'/'.join(sorted(map(str, graph_floats))) or 'no floats'}) vs torch " \
        f"({np_float or 'same dtypes'}), root first"
    if truth is not None:
        title += (f"\napproximate = as accurate as torch: error vs a float64 replay <= "
                  f"{K:g} x torch's + {FLOOR_ULPS} ulps of the magnitudes that entered")
    return Report(rows, title, reference="torch")


def _row(node, name, kind, shown, replay_float, judge, torch_low, truth, magnitudes):
    """Compare one node against the shown replay (exact, maxdiff) and judge it.

    `torch_low` and `truth` are the node's (value, grad) from torch's float32 replay and the
    float64 replay, where float32 is involved; `magnitudes` its (value, grad) scales.
    """
    notes = []
    value, grad = _np(node.data), _np(node.grad)
    t_value, t_grad = shown
    want = replay_float if replay_float is not None and value.dtype.kind == "f" else value.dtype
    if t_value.dtype != want:
        notes.append(f"dtype {value.dtype} but torch {t_value.dtype}")
    if value.shape != t_value.shape:
        notes.append(f"shape {value.shape} but torch {tuple(t_value.shape)}")
    rule = judge if judge is not None and value.dtype.kind == "f" else value.dtype
    value_v = _judge(value, t_value, torch_low, truth, 0, magnitudes[0], rule)
    exact = _exact(value, t_value)
    value_close = value_v.ok and not notes

    grad_v = None
    grad_diff, grad_close = None, True
    if grad is not None or t_grad is not None:
        # a node that one side reached and the other did not has a zero gradient there
        grad = np.zeros_like(value) if grad is None else grad
        t_grad = np.zeros_like(t_value) if t_grad is None else t_grad
        grad_v = _judge(grad, t_grad, torch_low, truth, 1, magnitudes[1], rule)
        grad_close, grad_diff = grad_v.ok, max_abs_diff(grad, t_grad)
        exact = exact and _exact(grad, t_grad)
    return Row(node, name, kind, node.shape, exact, value_close and grad_close,
               max_abs_diff(value, t_value), grad_diff, value_close, grad_close,
               "; ".join(notes), value_v if truth is not None else None,
               grad_v if truth is not None else None)


def _judge(mine, shown, torch_low, truth, i, scale, rule):
    """verdict() for a value (i=0) or grad (i=1): against torch's float32 and the truth when
    there is one, else against the shown replay."""
    if truth is None:
        return verdict(mine, shown, dtype=rule)
    low, exact = torch_low[i], truth[i]
    low = np.zeros_like(mine) if low is None else low
    exact = np.zeros(mine.shape) if exact is None else exact
    if low.shape != mine.shape or exact.shape != mine.shape:
        return Verdict(False, math.inf)
    return verdict(mine, low, exact, scale, rule)


def _replay_float64(nodes, root, seed):
    """The graph computed again by minigrad itself in float64 from the same leaves: the truth
    for compare_grads, whose oracle is the engine. Returns id -> float64 grad (or None)."""
    from .tensor import apply

    again = {}
    for node in nodes:
        if node.op is None:
            data = _np(node.data)
            data = data.astype(np.float64) if data.dtype.kind == "f" else data
            again[id(node)] = Tensor(data, requires_grad=node.requires_grad)
        else:
            op = node.op
            if op.name == "cast" and np.dtype(op.dtype).kind == "f":
                op = extra_ops.Cast(np.float64)
            again[id(node)] = apply(op, *(again[id(p)] for p in node.parents))
    out = again[id(root)]
    out.backward(None if seed is None else seed.astype(np.float64))
    return {key: _np(t.grad) for key, t in again.items()}


def compare_grads(grads, root, gradient=None):
    """Backprop-ninja check: hand-derived gradients against the engine's own `.grad`.

    `grads` maps a node to a numpy array or a Tensor. A key is the node itself (a Tensor
    under `root`) or its label, with or without the leading "d" ("dlogits" or "logits").
    The engine's grad is the oracle. float64 is judged by assert_close's defaults; float32 by
    the verdict, with the engine's own float64 replay of the graph as the truth: a
    hand-derived float32 gradient must be about as accurate as the engine's. Runs
    `root.backward(gradient)` first if `root.grad` is None (the policy of
    compare_with_torch). Rows follow the mapping's order. Unknown names raise a KeyError that
    lists the labels there are and says how to set one; `ninja` needs no labels at all.
    """
    nodes = graph_nodes(root)
    labelled, under = {}, {id(n) for n in nodes}
    for node in nodes:
        if node.label is not None:
            labelled.setdefault(node.label, []).append(node)
    pairs = []
    for key, mine in grads.items():
        if isinstance(key, Tensor):
            if id(key) not in under:
                raise KeyError("that tensor is not a node under the root (a tensor the loss "
                               "was not computed from, or one from an earlier forward pass)")
            pairs.append((key.label or _names(nodes)[id(key)][0], key, mine))
            continue
        label = key[1:] if key.startswith("d") and key[1:] in labelled else key
        if label not in labelled:
            raise KeyError(f"no node labelled {key!r} (or {key[1:]!r}) under the root; "
                           f"labels: {', '.join(sorted(labelled)) or '(none)'}. Name a "
                           "tensor with `t.label = \"name\"`, pass the tensor itself as the "
                           "key, or let minigrad.check.ninja(locals(), loss) pair dX with X")
        if len(labelled[label]) > 1:
            raise ValueError(f"label {label!r} names {len(labelled[label])} nodes under the "
                             "root; labels must be unique to compare grads")
        pairs.append((label, labelled[label][0], mine))
    return _compare_pairs(pairs, nodes, root, gradient)


def _compare_pairs(pairs, nodes, root, gradient):
    """The rows of compare_grads for (name, node, hand-derived grad) triples."""
    for name, node, _ in pairs:
        if not node.requires_grad:
            raise ValueError(f"node {name!r} does not require grad, so it has no gradient")
    seed = _seed(root, gradient)
    _run_minigrad_backward(root, seed, nodes)
    rows, truth, magnitudes = [], None, None
    for name, node, mine in pairs:
        mine = np.asarray(_np(mine))
        engine = np.zeros_like(_np(node.data)) if node.grad is None else _np(node.grad)
        note = f"shape {mine.shape} != {engine.shape}" if mine.shape != engine.shape else ""
        v = None
        if engine.dtype.itemsize <= 4 and engine.dtype.kind == "f" and not note:
            if truth is None:
                truth, magnitudes = _replay_float64(nodes, root, seed), scales(root)
            exact_grad = truth[id(node)]
            exact_grad = np.zeros(engine.shape) if exact_grad is None else exact_grad
            v = verdict(mine, engine, exact_grad, magnitudes[id(node)][1], engine.dtype)
            ok = v.ok
        else:
            ok = not note and verdict(mine, engine, dtype=engine.dtype).ok
        rows.append(Row(node, name, node.op.name if node.op else "leaf", node.shape,
                        _exact(mine, engine), ok, None, max_abs_diff(mine, engine), True, ok,
                        note, None, v))
    return Report(rows, "hand-derived grads vs minigrad's backward", reference="engine")


# ---- ninja mode: pair dX with X by name, find the first wrong line ------------------------
#
# A wrong line in a hand-derived backward pass turns every gradient after it wrong too, since
# each one is computed from the one before. The line to fix is where the chain first breaks:
# a node whose own gradient is wrong while the gradients of everything it feeds are right.

@dataclass(eq=False)
class NinjaReport(Report):
    """compare_grads' rows, plus the diagnosis: root causes first, advice, what is left to do.

    `roots` are the mismatching rows whose consumers' gradients all match (nearest to the
    loss first), `todo` the gradient names still unset (None), `advice` name -> text.
    """

    roots: list = field(default_factory=list)
    todo: list = field(default_factory=list)
    advice: dict = field(default_factory=dict)

    @property
    def ok(self):
        return not self.todo and bool(self.rows) and all(row.close for row in self.rows)

    @property
    def first(self):
        """The name of the first wrong step (None when there is none)."""
        return self.roots[0].name if self.roots else None

    def summary(self):
        """One line: "all N gradients match", "not yet: ..." or "wrong: ..."."""
        wrong = self.failures()
        if wrong:
            line = (f"ninja: wrong: d{self.first} first ({len(wrong)} of {len(self.rows)} "
                    "checked gradients differ from the engine's")
            line += f"; not yet: {len(self.todo)} to do)" if self.todo else ")"
            return line
        if self.todo:
            done = f"; the {len(self.rows)} done so far match" if self.rows else ""
            return (f"ninja: not yet: {len(self.todo)} of {len(self.todo) + len(self.rows)} "
                    f"gradients to derive ({', '.join(self.todo)}){done}")
        if not self.rows:
            return "ninja: not yet: no gradient to check (name yours dX for a tensor X)"
        count = f"all {len(self.rows)} gradients match" if len(self.rows) > 1 else \
            "the gradient matches"
        return f"ninja: {count} the engine's"

    def __str__(self):
        out = [self.summary()]
        for i, row in enumerate(self.roots, 1):
            out.append("")
            out.append(f"{i}. {self.advice[row.name]}")
        if self.rows:
            out += ["", Report.__str__(self)]
        return "\n".join(out)

    __repr__ = __str__


def ninja(namespace, loss, names=None, gradient=None):
    """Check a hand-derived backward pass: each `dX` in `namespace` against the engine's X.grad.

        report = minigrad.check.ninja(locals(), loss)
        print(report)       # the first wrong step, the rule to read, then the table

    `namespace` maps names to values (`locals()` or `globals()` of the lecture's code). Every
    `dX` whose `X` is a tensor under `loss` (matched by identity, so no labels are needed)
    is compared, as compare_grads does. `names` limits the check to these gradient names
    ("dlogits"); a listed name that is missing from the namespace, or set to None, counts as
    not done yet, and so does any paired `dX` that is None. Runs `loss.backward(gradient)`
    if `loss.grad` is None.

    The report's `roots` are the first wrong steps: mismatching nodes whose consumers'
    gradients all match (a consumer nobody derived counts as matching: the engine's own).
    Each comes with the rules that send it its gradient, quoted from the op class (ops.py), and a
    shape mistake with advice on the sum that is missing or extra.
    """
    nodes = graph_nodes(loss)
    under = {id(n): n for n in nodes}
    wanted = None if names is None else ["d" + n if not n.startswith("d") else n
                                          for n in names]
    candidates = wanted if wanted is not None else [
        k for k in namespace if isinstance(k, str) and len(k) > 1 and k.startswith("d")]
    pairs, todo = [], []
    for dname in candidates:
        x = namespace.get(dname[1:])
        if not (isinstance(x, Tensor) and id(x) in under):
            if wanted is None:
                continue  # a dX with no tensor X under the loss is not a gradient of ours
            known = sorted(k[1:] for k in namespace if isinstance(k, str) and k.startswith("d")
                           and isinstance(namespace.get(k[1:]), Tensor)
                           and id(namespace[k[1:]]) in under)
            raise KeyError(f"{dname!r}: no tensor named {dname[1:]!r} under the loss in this "
                           f"namespace; the tensors with a dX are: {', '.join(known) or '-'}")
        mine = namespace.get(dname)
        if mine is None:
            todo.append(dname)
            continue
        if not x.requires_grad:
            raise ValueError(f"{dname[1:]!r} does not require grad, so it has no gradient")
        pairs.append((dname[1:], x, mine))
    seen, unique = set(), []
    for pair in pairs:  # one row per node, even when two names point at it
        if id(pair[1]) not in seen:
            seen.add(id(pair[1]))
            unique.append(pair)
    report = _compare_pairs(unique, nodes, loss, gradient) if unique else \
        Report([], reference="engine")
    roots = _root_causes(report, nodes)
    advice = {row.name: _diagnose(row, unique, nodes) for row in roots}
    return NinjaReport(report.rows, "hand-derived grads vs minigrad's backward", "engine",
                       roots, todo, advice)


def _consumers(nodes):
    """id(node) -> the nodes that take it as an input (the graph only stores parents)."""
    out = {}
    for node in nodes:
        for p in node.parents:
            out.setdefault(id(p), []).append(node)
    return out


def _root_causes(report, nodes):
    """Mismatching rows whose nearest checked consumers all match, nearest the loss first.

    Nodes nobody derived are looked through: their gradient is the engine's, hence right.
    """
    consumers = _consumers(nodes)
    checked = {id(r.node): r for r in report.rows}
    order = {id(n): i for i, n in enumerate(nodes)}
    roots = []
    for row in report.failures():
        stack, seen, fine = list(consumers.get(id(row.node), [])), set(), True
        while stack and fine:
            c = stack.pop()
            if id(c) in seen:
                continue
            seen.add(id(c))
            if id(c) in checked:
                fine = checked[id(c)].close
            else:
                stack.extend(consumers.get(id(c), []))
        if fine:
            roots.append(row)
    return sorted(roots, key=lambda r: -order[id(r.node)])


def _diagnose(row, pairs, nodes):
    """What a learner reads about one root cause: where, why, and the rules to read."""
    name, node = row.name, row.node
    mine = next(np.asarray(_np(m)) for n, x, m in pairs if x is node)
    made = f"made by {node.op!r}" if node.op is not None else "a leaf (a parameter)"  # (args)
    lines = [f"d{name} is the first wrong step: {name} {tuple(node.shape)}, {made}."]
    if mine.shape != tuple(node.shape):
        stretched = [tuple(c.shape) for c in _consumers(nodes).get(id(node), [])]
        lines.append("   " + shape_advice(name, mine.shape, tuple(node.shape),
                                          max(stretched, key=len, default=None)))
    else:
        lines.append(f"   Every gradient it is computed from matches; yours differs by up to "
                     f"{row.grad_max_abs_diff:.3g}.")
    names = {id(x): n for n, x, _ in pairs}
    consumers, shown = _consumers(nodes), set()
    for c in consumers.get(id(node), []):
        chain = [c]  # through unnamed one-consumer nodes (the -1 * x of a subtraction)
        while not (names.get(id(chain[-1])) or chain[-1].label) \
                and len(consumers.get(id(chain[-1]), [])) == 1:
            chain.append(consumers[id(chain[-1])][0])
        out = names.get(id(chain[-1])) or chain[-1].label or "an unnamed node"
        ops = [t.op for t in chain]
        lines.append(f"   {name} feeds {' -> '.join(op.name for op in ops)} -> {out}; "
                     "its gradient comes from:")
        for op in ops:
            if type(op) not in shown:
                shown.add(type(op))
                where = type(op).__module__.replace(".", "/")
                lines.append(f"     {where}.py, {type(op).__name__}:")
                lines += ["       " + line for line in backward_rule(op).splitlines()]
    return "\n".join(lines)


def backward_rule(op):
    """An op's derivation (its docstring) and its plain backward, as written in the class.

    Read from the class's own source, so a rule fast.py swapped in is not what is quoted.
    """
    import inspect
    import textwrap

    cls = type(op)
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source file (a frozen install)
        return f"{cls.__name__}.backward (source not available)"
    rule = source[source.index("    def backward("):].split("\n\n")[0]
    return "\n".join([inspect.cleandoc(cls.__doc__ or ""), textwrap.dedent(rule)])


def shape_advice(name, mine, want, stretched=None):
    """Advice for a hand-derived gradient of shape `mine` where the tensor has shape `want`.

    The usual cause is broadcasting: X was stretched in the forward pass, so dX must be
    summed back over the stretched axes, keeping size-1 axes that X has and dropping the
    leading ones it lacks. `stretched` is the shape X was broadcast to, when known (the
    shape of the op that used it): a sum over the wrong axis of it is named as such.
    """
    mine, want = tuple(mine), tuple(want)
    if stretched is not None and len(stretched) > len(mine):
        wrong = [i for i in range(len(stretched))
                 if stretched[:i] + stretched[i + 1:] == mine]
        right = [i for i in range(len(stretched))
                 if stretched[:i] + stretched[i + 1:] == want]
        if wrong and right and not set(wrong) & set(right):
            return (f"your d{name} is {mine}; {name} is {want}: you summed over axis "
                    f"{wrong[0]}, but {name} was broadcast along axis {right[0]} of "
                    f"{stretched}: sum over axis {right[0]}")
    head = f"your d{name} is {mine}; {name} is {want}: "
    if len(mine) == 2 and mine == want[::-1] and mine != want:
        return head + "transpose it (a matmul's gradients: dA = dY @ B.T, dB = A.T @ dY)"
    squeeze = tuple(s for s in mine if s != 1) == tuple(s for s in want if s != 1)
    if squeeze and len(mine) > len(want) and mine[len(mine) - len(want):] == want:
        extra = len(mine) - len(want)
        axes = ", ".join(str(i) for i in range(extra))
        return head + f"sum over axis {axes} without keepdim (or .view{want})"
    if squeeze and len(mine) < len(want):
        return head + f"sum with keepdim=True (or .view{want})"
    lead = len(mine) - len(want)
    if lead >= 0 and all(w in (1, m) for w, m in zip(want, mine[lead:])):
        dropped = list(range(lead))
        kept = [lead + i for i, (w, m) in enumerate(zip(want, mine[lead:])) if w == 1 and m != 1]
        parts = []
        if dropped:
            parts.append(f"sum over axis {', '.join(map(str, dropped))} without keepdim")
        if kept:
            parts.append(f"sum over axis {', '.join(map(str, kept))} with keepdim=True")
        return head + f"{name} was broadcast in the forward pass, so " + " and ".join(parts)
    return head + f"a gradient always has its tensor's shape {want}; check the axis you " \
        "summed over, or whether a matmul's operands are swapped"
