"""Replay a recorded minigrad graph in PyTorch and compare every node, value and gradient.

    report = minigrad.check.compare_with_torch(loss)   # runs loss.backward() if needed
    print(report)                                      # the lecture's cmp table, one row a node
    assert report.ok

`compare_with_torch` walks the graph under a root, rebuilds it in torch one primitive at a time
(each primitive has a replay rule in `REPLAY`), runs torch's backward with the same seed
gradient, and compares each node's value and gradient with minigrad's. `compare_grads` is the
backprop-ninja check: gradients derived by hand against the engine's own `.grad`.

Tolerances are the DESIGN.md testing policy, in one place (`close`):
- float64: torch.testing.assert_close defaults, |a - b| <= 1e-7 + 1e-7 |b| element-wise;
- float32: a scale-aware bound per tensor, max|a - b| <= 1e-6 + 1e-5 max|b|, because
  element-wise float32 tolerances fail honest code once a reduction is a few hundred long;
- anything else (integers, bools): equality.

torch is optional for minigrad: it is imported here only, and only inside the functions that
need it. This module does not draw anything (viz colours nodes with `Report.row_for`).
"""

from dataclasses import dataclass, field

import numpy as np

from .tensor import Tensor

TORCH_HINT = "minigrad.check needs PyTorch: pip install torch==2.13.0"


def _torch():
    try:
        import torch
    except ImportError as e:  # ModuleNotFoundError is a subclass
        raise ModuleNotFoundError(TORCH_HINT) from e
    return torch


# ---- tolerances -------------------------------------------------------------------------

def close(actual, expected, dtype=None):
    """True when `actual` matches the oracle `expected` within the DESIGN.md tolerance.

    `dtype` picks the rule (default: actual's dtype). Judging a float32 result against a
    float64 oracle therefore uses the float32 bound. Shapes must be equal; dtypes are the
    caller's business. Non-finite values must sit in the same places with the same values
    (float32 counts NaN == NaN there, as np.testing does; float64 does not, as assert_close).
    """
    a, b = np.asarray(actual), np.asarray(expected)
    if a.shape != b.shape:
        return False
    dtype = np.dtype(dtype or a.dtype)
    if dtype.kind != "f" or a.dtype.kind not in "fiub" or b.dtype.kind not in "fiub":
        return bool(np.array_equal(a, b))
    a, b = a.astype(np.float64), b.astype(np.float64)
    if dtype.itemsize <= 4:
        finite = np.isfinite(b)
        if not np.array_equal(np.isfinite(a), finite):
            return False
        if not np.array_equal(a[~finite], b[~finite], equal_nan=True):
            return False
        if not finite.any():
            return True
        diff = np.abs(a[finite] - b[finite]).max()
        return bool(diff <= 1e-6 + 1e-5 * np.abs(b[finite]).max())
    # torch.isclose: equal, or a finite error within atol + rtol * |b| (NaN is never close)
    with np.errstate(invalid="ignore"):
        error = np.abs(a - b)
        ok = (a == b) | (np.isfinite(error) & (error <= 1e-7 + 1e-7 * np.abs(b)))
    return bool(ok.all())


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


def _fmt(x):
    return "-" if x is None else f"{x:.3g}"


@dataclass(eq=False)
class Report:
    """What compare_with_torch and compare_grads return: one Row a node, root first."""

    rows: list
    title: str = ""
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
        header = ("name", "op", "shape", "exact", "approximate", "maxdiff value", "maxdiff grad")
        lines = [(r.name, r.op, str(tuple(r.shape)), str(r.exact), str(r.close),
                  _fmt(r.value_max_abs_diff), _fmt(r.grad_max_abs_diff), r.note)
                 for r in self.rows]
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


# ---- replay rules: primitive name -> fn(op, *torch_inputs) ------------------------------

def _sum(op, x):
    # numpy reads an empty axis tuple as "reduce nothing", torch as "reduce everything":
    # replay what the primitive computed.
    return x.sum(dim=op.dim, keepdim=op.keepdim) if op.dim else x.clone()


def _max(op, x):
    torch = _torch()
    return torch.max(x) if op.dim is None else torch.max(x, op.dim, op.keepdim).values


def _getitem(op, x):
    torch = _torch()
    items = op.index if isinstance(op.index, tuple) else (op.index,)
    if any(isinstance(i, slice) and i.step is not None and i.step < 0 for i in items):
        # torch refuses negative steps: gather the same elements by flat position instead
        where = np.arange(x.numel()).reshape(tuple(x.shape))[op.index]
        return x.reshape(-1)[torch.from_numpy(np.array(where, dtype=np.int64))]
    out = []
    for i in items:
        if isinstance(i, np.ndarray):
            # numpy reads unsigned arrays as integers, torch reads uint8 as a mask
            i = torch.from_numpy(i.astype(np.int64) if i.dtype.kind == "u" else i.copy())
        elif isinstance(i, np.integer):
            i = int(i)
        out.append(i)
    return x[tuple(out) if isinstance(op.index, tuple) else out[0]]


def _cast(op, x, float_dtype=None):
    target = _torch_dtype(op.dtype)
    if float_dtype is not None and target.is_floating_point:
        target = float_dtype  # a replay in one float dtype keeps it through float casts
    return x.to(target, copy=True)  # a node of its own even when the dtype stays


def _where(op, a, b):
    return _torch().where(_torch().from_numpy(op.condition.copy()), a, b)


def _cat(op, *xs):
    return _torch().cat(xs, dim=op.dim)


def _cross_entropy(op, logits, targets):
    return _torch().nn.functional.cross_entropy(logits, targets, reduction=op.reduction)


REPLAY = {
    "add": lambda op, a, b: a + b,
    "mul": lambda op, a, b: a * b,
    "pow": lambda op, x: x ** op.exponent,
    "exp": lambda op, x: x.exp(),
    "log": lambda op, x: x.log(),
    "tanh": lambda op, x: x.tanh(),
    "sin": lambda op, x: x.sin(),
    "cos": lambda op, x: x.cos(),
    "where": _where,
    "cat": _cat,
    "sum": _sum,
    "max": _max,
    "matmul": lambda op, a, b: a @ b,
    "reshape": lambda op, x: x.reshape(op.shape),
    "permute": lambda op, x: x.permute(op.dims),
    "getitem": _getitem,
    "cast": _cast,
    "cross_entropy": _cross_entropy,
}


def _torch_dtype(np_dtype):
    return _torch().from_numpy(np.empty(0, dtype=np_dtype)).dtype


# ---- walking the graph ------------------------------------------------------------------

def graph_nodes(root):
    """Every node under `root`, constants included, each after its parents (no recursion).

    autograd.toposort skips parents that do not require grad; a replay needs them too.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node._parents) if id(p) not in seen)
    return order


def _names(nodes):
    """label, else the op (or leaf/const) and the node's position in forward order."""
    names = {}
    for i, node in enumerate(nodes):
        kind = node._op.name if node._op is not None else \
            "leaf" if node.requires_grad else "const"
        names[id(node)] = (node.label or f"{kind}{i}", kind)
    return names


def _seed(root, gradient):
    if gradient is None:
        return None
    data = gradient.data if isinstance(gradient, Tensor) else gradient
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

def compare_with_torch(root, gradient=None, dtype=None):
    """Replay the graph under `root` in torch and compare every node's value and grad.

    Gradient policy: if `root.grad` is None, this runs `root.backward(gradient)` on minigrad
    first (and refuses if other nodes already hold grads); otherwise it trusts the grads that
    are there, which must come from exactly one backward of `root` with the same `gradient`.
    `gradient` seeds both backwards (default: ones, for a one-element root).

    Leaves go to torch bit-exactly (`torch.from_numpy(arr.copy())`); those that require grad
    require it in torch too, the others are constants. Every torch non-leaf retains its grad.

    `dtype` (a torch float dtype, e.g. torch.float64) replays every float in that dtype, float
    leaves converted: a float32 graph replayed in double separates formula errors from
    rounding.

    Every float node is judged by the tolerance of the least precise float dtype in the graph
    or the replay: a float64 node downstream (or upstream, for its grad) of a float32 one
    carries float32 rounding. A graph that is float64 throughout gets float64's tolerance.

    Returns a Report with rows root first, then backwards as the lecture compares them
    (reverse topological order: every node comes before its inputs).
    """
    torch = _torch()
    nodes = graph_nodes(root)
    missing = sorted({n._op.name for n in nodes if n._op is not None} - set(REPLAY))
    if missing:
        raise NotImplementedError(f"no torch replay rule for primitive(s) {missing}: add one "
                                  "to minigrad.check.REPLAY")
    seed = _seed(root, gradient)
    _run_minigrad_backward(root, seed, nodes)

    float_dtype = None
    if dtype is not None:
        float_dtype = dtype if isinstance(dtype, torch.dtype) else _torch_dtype(dtype)
        if not float_dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating point dtype, got {dtype}")
    np_float = None if float_dtype is None else \
        torch.empty(0, dtype=float_dtype).numpy().dtype

    # 1. forward, one primitive at a time, every node kept by identity
    replayed = {}
    with torch.enable_grad():
        for node in nodes:
            if node._op is None:
                data = np.array(node.data)  # a copy: torch.from_numpy shares memory
                if np_float is not None and data.dtype.kind == "f":
                    data = data.astype(np_float)
                t = torch.from_numpy(data)
                if node.requires_grad:
                    t.requires_grad_(True)
            else:
                inputs = [replayed[id(p)] for p in node._parents]
                if node._op.name == "cast":
                    t = _cast(node._op, *inputs, float_dtype=float_dtype)
                else:
                    t = REPLAY[node._op.name](node._op, *inputs)
                if t.requires_grad:
                    t.retain_grad()
            replayed[id(node)] = t

        # 2. backward with the same seed
        t_root = replayed[id(root)]
        if t_root.requires_grad:
            t_seed = None if seed is None else torch.from_numpy(seed.copy()).to(t_root.dtype)
            t_root.backward(t_seed)

    # 3. compare, with the tolerance of the least precise float dtype involved
    graph_floats = {n.dtype for n in nodes if n.dtype.kind == "f"}
    floats = graph_floats | ({np_float} if np_float is not None else set())
    judge = min(floats, key=lambda d: d.itemsize) if floats else None
    names = _names(nodes)
    rows = []
    for node in reversed(nodes):
        t = replayed[id(node)]
        rows.append(_row(node, *names[id(node)], t.detach().numpy(),
                         None if t.grad is None else t.grad.numpy(), np_float, judge))
    title = f"minigrad ({'/'.join(sorted(map(str, graph_floats))) or 'no floats'}) vs torch " \
        f"({np_float or 'same dtypes'}), root first"
    return Report(rows, title)


def _row(node, name, kind, t_value, t_grad, replay_float, judge):
    """Compare one node. Floats were replayed in `replay_float` (None: their own dtype) and
    are judged by `judge`'s tolerance."""
    notes = []
    value, grad = node.data, node.grad
    want = replay_float if replay_float is not None and value.dtype.kind == "f" else value.dtype
    if t_value.dtype != want:
        notes.append(f"dtype {value.dtype} but torch {t_value.dtype}")
    if value.shape != t_value.shape:
        notes.append(f"shape {value.shape} but torch {tuple(t_value.shape)}")
    tol = judge if judge is not None and value.dtype.kind == "f" else value.dtype
    exact, value_close, value_diff = _pair(value, t_value, tol)
    value_close = value_close and not notes

    grad_diff, grad_close = None, True
    if grad is not None or t_grad is not None:
        # a node that one side reached and the other did not has a zero gradient there
        grad = np.zeros_like(value) if grad is None else grad
        t_grad = np.zeros_like(t_value) if t_grad is None else t_grad
        grad_exact, grad_close, grad_diff = _pair(grad, t_grad, tol)
        exact = exact and grad_exact
    return Row(node, name, kind, node.shape, exact, value_close and grad_close, value_diff,
               grad_diff, value_close, grad_close, "; ".join(notes))


def _pair(actual, expected, tol):
    """(exact, close, max_abs_diff); equal arrays, the common case, take the fast path."""
    if actual.shape == expected.shape and np.array_equal(actual, expected):
        return True, True, 0.0
    return _exact(actual, expected), close(actual, expected, tol), \
        max_abs_diff(actual, expected)


def compare_grads(grads, root, gradient=None):
    """Backprop-ninja check: hand-derived gradients against the engine's own `.grad`.

    `grads` maps a node's label, with or without the leading "d" ("dlogits" or "logits"), to
    a numpy array or a Tensor. The node is looked up among the labels under `root`; the
    engine's grad is the oracle, in the tolerance of its dtype. Runs `root.backward(gradient)`
    first if `root.grad` is None (the policy of compare_with_torch). Rows follow the mapping's
    order. Unknown names raise a KeyError that lists the labels there are.
    """
    nodes = graph_nodes(root)
    labelled = {}
    for node in nodes:
        if node.label is not None:
            labelled.setdefault(node.label, []).append(node)
    rows = []
    for key, mine in grads.items():
        label = key[1:] if key.startswith("d") and key[1:] in labelled else key
        if label not in labelled:
            raise KeyError(f"no node labelled {key!r} (or {key[1:]!r}) under the root; "
                           f"labels: {', '.join(sorted(labelled)) or '(none)'}")
        if len(labelled[label]) > 1:
            raise ValueError(f"label {label!r} names {len(labelled[label])} nodes under the "
                             "root; labels must be unique to compare grads")
        node = labelled[label][0]
        if not node.requires_grad:
            raise ValueError(f"node {label!r} does not require grad, so it has no gradient")
        _run_minigrad_backward(root, _seed(root, gradient), nodes)
        mine = np.asarray(mine.data if isinstance(mine, Tensor) else mine)
        engine = np.zeros_like(node.data) if node.grad is None else node.grad
        note = f"shape {mine.shape} != {engine.shape}" if mine.shape != engine.shape else ""
        exact, ok, diff = _pair(mine, engine, engine.dtype)
        rows.append(Row(node, label, node._op.name if node._op else "leaf", node.shape,
                        exact, ok, None, diff, True, ok, note))
    return Report(rows, "hand-derived grads vs minigrad's backward")
