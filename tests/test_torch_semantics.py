"""PyTorch's tensor semantics for real code (issue 12), each checked by doing the same in torch.

- `.grad` is a Tensor or None, settable, with torch's checks; accumulation adds in place;
- `.data` is a detached Tensor on the same memory;
- in-place operators write into memory: freely under no_grad or where nothing needs grad,
  recorded on non-leaf tensors in grad mode (backward goes through them, and refuses exactly
  where torch's saved values were overwritten), refused on leaves that require grad;
  `t[i] = v` with v requiring grad makes t require grad;
- views (reshape, view, permute, T, transpose, basic indexing, detach, .data) share a version
  counter with their base; where numpy copies (a reshape of a transposed array) the alias is
  a copy in torch too; a view taken before a write through another alias of its base gets
  its history regenerated; an in-place op on a view of a tensor that needs no grad makes the
  base require grad (torch's CopySlices);
- grad mode, scope and anomaly mode are thread-local;
- pickle and deepcopy round-trip, also into a fresh process;
- numpy and Python conversions (`np.asarray`, float, int, index, format);
- backward twice adds one more contribution (torch: with retain_graph=True).
"""

import copy
import operator
import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_equal, assert_match

import minigrad

LIBS = [minigrad, torch]
PHRASE = "modified by an inplace operation"
LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place"


def arr(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def leaf(lib, a, requires_grad=True):
    return lib.tensor(np.array(a, copy=True), requires_grad=requires_grad)


def both(fn):
    """fn(lib) on each library: (minigrad result, torch result); an exception is a result."""
    out = []
    for lib in LIBS:
        try:
            out.append(fn(lib))
        except Exception as e:  # noqa: BLE001  (compared below, class and phrase)
            out.append(e)
    return out


def _same(a, b, name, exact):
    b_dtype = b.dtype if isinstance(b, np.ndarray) else b.detach().numpy().dtype
    if exact or b_dtype == np.float32:  # float32 only where no rounding differs
        assert_equal(a, b, name)
    else:
        assert_match(a, b, name)


def same_outcome(fn, phrase=None, exact=False):
    """Both raise the same class (with `phrase` in both messages), or both return values
    that match element-wise (a tuple of tensors/arrays). Values are compared in float64 (the
    tests use float64 data); float32 values, or all with `exact`, must be bit-identical."""
    m, t = both(fn)
    if isinstance(t, Exception) or isinstance(m, Exception):
        assert type(m) is type(t), f"minigrad: {m!r}; torch: {t!r}"
        if phrase is not None:
            assert phrase in str(m) and phrase in str(t), (str(m), str(t))
        return m, t
    for i, (a, b) in enumerate(zip(m, t, strict=True)):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, minigrad.Tensor), f"item {i}: {type(a)}"
            _same(a.detach().numpy(), b, f"item {i}", exact)
        elif isinstance(b, np.ndarray):
            _same(a, b, f"item {i}", exact)
        elif isinstance(b, float) or isinstance(b, list) and b and isinstance(b[0], float):
            assert a == pytest.approx(b, rel=1e-6), f"item {i}: {a!r} != {b!r}"
        else:
            assert a == b, f"item {i}: {a!r} != {b!r}"
    return m, t


# ---- 1. .grad is a Tensor or None -------------------------------------------------------

def test_grad_is_a_tensor_with_the_tensors_shape_and_dtype():
    def run(lib):
        x = leaf(lib, arr(3, 4))
        w = leaf(lib, arr(4, seed=1).astype(np.float32))  # grad: ones, exact in float32
        h = (x * 2).tanh()
        h.retain_grad()
        (h.sum() + w.sum()).backward()
        assert x.grad.__class__ is lib.Tensor and w.grad.__class__ is lib.Tensor
        assert x.grad.dtype == x.dtype and w.grad.dtype == w.dtype
        assert not x.grad.requires_grad and x.grad.is_leaf
        return x.grad, w.grad, h.grad, x.grad.abs().max().item()
    same_outcome(run)


def test_grad_can_be_set_to_none_or_a_tensor():
    def run(lib):
        x = leaf(lib, arr(3))
        (x * x).sum().backward()
        x.grad = None
        assert x.grad is None
        x.grad = lib.ones(3, dtype=lib.float64)
        g = x.grad
        (x * 3).sum().backward()  # adds into the assigned tensor, in place
        assert g is x.grad
        return (x.grad,)
    same_outcome(run)


@pytest.mark.parametrize("bad, exc, phrase", [
    (lambda lib: lib.ones(2, dtype=lib.float64), RuntimeError, "gradient of size"),
    (lambda lib: lib.ones(3, dtype=lib.float32), RuntimeError, "assign a gradient with dtype"),
    (lambda lib: np.ones(3), TypeError, "assigned grad expected to be a Tensor or None"),
])
def test_a_bad_grad_assignment_raises_like_torch(bad, exc, phrase):
    def run(lib):
        x = leaf(lib, arr(3))
        x.grad = bad(lib)
    m, t = same_outcome(run, phrase)
    assert type(m) is exc


def test_grad_idioms_of_the_lectures():
    """p.grad.numpy(), p.data.numpy(), p.grad.abs().max().item(), grad ratios."""
    def run(lib):
        p = leaf(lib, arr(5, 4))
        (p.tanh() * leaf(lib, arr(5, 4, seed=3), False)).sum().backward()
        ratio = ((0.1 * p.grad).abs().mean() / p.data.abs().mean()).log()
        return p.grad.numpy().copy(), p.data.numpy().copy(), p.grad.abs().max().item(), ratio
    m, t = same_outcome(run)
    assert isinstance(m[0], np.ndarray) and isinstance(m[1], np.ndarray)


# ---- 2. .data: a detached Tensor on the same memory --------------------------------------

def test_data_is_a_detached_tensor_sharing_memory():
    def run(lib):
        p = leaf(lib, arr(4))
        d = p.data
        assert d.__class__ is lib.Tensor and not d.requires_grad and d.is_leaf
        d[0] = 100.0  # not recorded, seen by p
        p.data += -0.5 * lib.ones(4, dtype=lib.float64)
        p.data.mul_(2)
        return (p.detach(),)
    same_outcome(run)


def test_data_shares_the_version_counter_unlike_torch():
    """A documented difference: torch's .data has a version counter of its own, so a write
    through it goes unseen and backward silently uses the new values. minigrad's .data
    shares the counter, so backward refuses instead."""
    def run(lib):
        p = leaf(lib, arr(4))
        loss = (p * p).sum()
        p.data.mul_(2)
        loss.backward()
        return (p.grad,)
    m, t = both(run)
    assert isinstance(m, RuntimeError) and PHRASE in str(m)
    assert_match(t[0].numpy(), 2 * 2 * torch.from_numpy(arr(4)))  # d(p*p) at the new p


def test_sgd_by_hand_as_in_torch():
    """`with no_grad(): w -= lr * w.grad; w.grad.zero_()` and `p.data += -lr * p.grad`."""
    def run(lib):
        w = leaf(lib, arr(3, 2))
        b = leaf(lib, arr(2, seed=1))
        x = lib.tensor(arr(5, 3, seed=2))
        losses = []
        for _ in range(3):
            loss = ((x @ w + b).tanh() ** 2).mean()
            loss.backward()
            losses.append(loss.item())
            with lib.no_grad():
                w -= 0.5 * w.grad
            b.data += -0.5 * b.grad
            w.grad.zero_()
            b.grad = None
        return w, b, losses
    same_outcome(run)


# ---- 3. in-place operators -----------------------------------------------------------------

# (name, fn(lib, t, other)) where other is a float tensor of t's shape, or None
INPLACE = {
    "+=": lambda lib, t, o: operator.iadd(t, o),
    "-=": lambda lib, t, o: operator.isub(t, o),
    "*=": lambda lib, t, o: operator.imul(t, o),
    "/=": lambda lib, t, o: operator.itruediv(t, o),
    "+= scalar": lambda lib, t, o: operator.iadd(t, 1.5),
    "/= scalar": lambda lib, t, o: operator.itruediv(t, 3),
    "add_ alpha": lambda lib, t, o: t.add_(o, alpha=2),
    "sub_": lambda lib, t, o: t.sub_(o),
    "mul_": lambda lib, t, o: t.mul_(o),
    "div_": lambda lib, t, o: t.div_(o),
    "zero_": lambda lib, t, o: t.zero_(),
    "fill_": lambda lib, t, o: t.fill_(2.5),
    "copy_": lambda lib, t, o: t.copy_(o),
    "copy_ broadcast": lambda lib, t, o: t.copy_(o[0]),
    "clamp_": lambda lib, t, o: t.clamp_(-0.5, 0.5),
    "clamp_ min": lambda lib, t, o: t.clamp_(min=0.0),
    "t[i] =": lambda lib, t, o: t.__setitem__(1, o[0]),
    "t[i] = scalar": lambda lib, t, o: t.__setitem__((0, slice(1, 3)), 7.0),
    "t[mask] =": lambda lib, t, o: t.__setitem__(t > 0, 0.0),
    "t[rows, cols] =": lambda lib, t, o: t.__setitem__(([0, 2], [1, 3]), o[0, :2]),
    "t[i] +=": lambda lib, t, o: t.__setitem__(1, operator.iadd(t[1], o[1])),
    "t[rows, cols] -=": lambda lib, t, o: t.__setitem__(
        (range(3), [0, 1, 2]), operator.isub(t[range(3), [0, 1, 2]], 1)),
    "t[:, 1:] *=": lambda lib, t, o: t.__setitem__(
        (slice(None), slice(1, None)), operator.imul(t[:, 1:], o[:, 1:])),
}


def _python_inplace(name):
    """Run the table's op with Python's own augmented-assignment syntax where it has one."""
    return INPLACE[name]


@pytest.mark.parametrize("name", INPLACE)
def test_in_place_under_no_grad_writes_into_memory(name):
    def run(lib):
        t = leaf(lib, arr(3, 4))
        alias = t  # `b = a; b += 1` changes a
        o = lib.tensor(arr(3, 4, seed=1))
        with lib.no_grad():
            out = INPLACE[name](lib, alias, o)
        assert out is None or out is t
        assert t.requires_grad and t.is_leaf
        return (t.detach(),)
    same_outcome(run)


@pytest.mark.parametrize("name", INPLACE)
def test_in_place_on_a_tensor_that_needs_no_grad(name):
    def run(lib):
        t = leaf(lib, arr(3, 4), requires_grad=False)
        INPLACE[name](lib, t, lib.tensor(arr(3, 4, seed=1)))
        return t, t.requires_grad, t.is_leaf
    same_outcome(run)


@pytest.mark.parametrize("name", INPLACE)
def test_in_place_on_a_leaf_requiring_grad_is_refused(name):
    def run(lib):
        t = leaf(lib, arr(3, 4))
        before = t.detach().clone()
        try:
            INPLACE[name](lib, t, lib.tensor(arr(3, 4, seed=1)))
        finally:  # nothing half-written
            assert bool((t.detach() == before).all())
    m, t = same_outcome(run)
    assert isinstance(m, RuntimeError)
    assert LEAF in str(m) or VIEW_OF_LEAF in str(m)


@pytest.mark.parametrize("other_needs_grad", [False, True])
@pytest.mark.parametrize("name", INPLACE)
def test_in_place_on_a_non_leaf_is_recorded(name, other_needs_grad):
    """y = x * 1.5 (a non-leaf); y op= o; backward reaches x (and o) through the write."""
    def run(lib):
        x = leaf(lib, arr(3, 4))
        o = leaf(lib, arr(3, 4, seed=1), requires_grad=other_needs_grad)
        y = x * 1.5
        INPLACE[name](lib, y, o)
        assert y.requires_grad and not y.is_leaf
        (y * lib.tensor(arr(3, 4, seed=2))).sum().backward()
        return y, x.grad, (o.grad if other_needs_grad else lib.zeros(1, dtype=lib.float64))
    same_outcome(run)


# Which saved values an op needs, decided by torch: backward either raises in both or
# gives the same gradients. h = x * 1 is a non-leaf; `write` changes it after `use`.
REFUSALS = {
    "exp then y += 1": (lambda lib, h, w: h.exp(), "out"),
    "tanh then y *= 2": (lambda lib, h, w: h.tanh(), "out"),
    "x * 2 then y += 1": (lambda lib, h, w: h * 2, "out"),
    "log reads its input": (lambda lib, h, w: (h * h + 1).log() + h.log1p_free(lib), "in"),
    "h * c keeps c, not h": (lambda lib, h, w: h * lib.tensor(arr(3, 4, seed=5)), "in"),
    "h * w keeps h for dw": (lambda lib, h, w: h * w, "in"),
    "pow reads its input": (lambda lib, h, w: h ** 2, "in"),
    "sum reads nothing": (lambda lib, h, w: h.sum(0), "in"),
    "reshape reads nothing": (lambda lib, h, w: h.reshape(12) * 3, "in"),
    "matmul keeps both": (lambda lib, h, w: h @ w.T, "in"),
    "max keeps input and result": (lambda lib, h, w: h.max(), "in"),
    "max(dim) keeps indices": (lambda lib, h, w: h.max(1).values, "in"),
    "getitem reads nothing": (lambda lib, h, w: h[1:, [0, 2]] * 2, "in"),
}


@pytest.mark.parametrize("name", REFUSALS)
def test_backward_refuses_exactly_where_torch_refuses(name):
    use, target = REFUSALS[name]
    if "log1p_free" in name or "log reads" in name:
        def use(lib, h, w):  # noqa: F811
            return (h * h + 1).log()

    def run(lib):
        x = leaf(lib, np.abs(arr(3, 4)) + 0.5)
        w = leaf(lib, arr(3, 4, seed=1))
        h = x * 1
        y = use(lib, h, w)
        if target == "out":
            y += 1
        else:
            h += 1
        (y * 2).sum().backward()
        return x.grad, w.grad if w.grad is not None else lib.zeros(1)
    same_outcome(run, PHRASE)


def test_the_issue_examples():
    def works(lib):
        x = leaf(lib, arr(3))
        y = x * 2
        y += 1
        y.sum().backward()
        return (x.grad,)
    same_outcome(works)

    def raises(lib):
        x = leaf(lib, arr(3))
        y = x.exp()
        y += 1
        y.sum().backward()
    m, _ = same_outcome(raises, PHRASE)
    assert isinstance(m, RuntimeError)


def test_lecture_part4_dlogits():
    """dlogits = softmax(logits, 1); dlogits[range(n), Yb] -= 1; dlogits /= n."""
    def run(lib):
        logits = leaf(lib, arr(6, 5))
        Yb = lib.tensor(np.array([0, 4, 2, 2, 1, 3]))
        n = 6
        dlogits = logits.softmax(1)
        dlogits[range(n), Yb] -= 1
        dlogits /= n
        return (dlogits,)
    same_outcome(run)


def test_lecture_part5_linear_and_row_assignment():
    """self.out = x @ W; self.out += b; and logits = zeros(...); logits[i] = model(x)."""
    def run(lib):
        W = leaf(lib, arr(4, 3))
        b = leaf(lib, arr(3, seed=1))
        X = lib.tensor(arr(2, 5, 4, seed=2))
        logits = lib.zeros(2, 3, dtype=lib.float64)
        for i in range(2):
            out = X[i] @ W
            out += b
            logits[i] = out.tanh().sum(0)
        assert logits.requires_grad and not logits.is_leaf
        (logits * lib.tensor(arr(2, 3, seed=3))).sum().backward()
        return logits, W.grad, b.grad
    same_outcome(run)


def test_write_through_a_recorded_view_rewrites_the_base():
    """torch's CopySlices: an in-place op on a view of a non-leaf changes the base's history."""
    def run(lib):
        x = leaf(lib, arr(3, 4))
        w = leaf(lib, arr(4, seed=1))
        h = x * 1
        v = h[1]
        v *= w                      # h[1] = h[1] * w, through the view
        h.T[2] += w[:3]             # a view of a view
        r = h.reshape(12)
        r[:2] = w[:2] * 2           # a reshape view
        # v was taken before the last two writes: its history is regenerated (section 4b)
        loss = (h * lib.tensor(arr(3, 4, seed=2))).sum() + (h[1] * 3).sum() + (v * v).sum()
        loss.backward()
        return h, v, x.grad, w.grad
    same_outcome(run)


def test_a_node_that_used_the_old_version_reaches_it():
    """z used h before `h *= 2`: z's gradient goes to the old h (dz/dx = 3, not 6)."""
    def run(lib):
        x = leaf(lib, arr(3))
        h = x * 1
        z = h * 3
        h *= 2
        h[0] = 5.0
        (z * lib.tensor(arr(3, seed=1)) + h).sum().backward()
        return z, h, x.grad
    same_outcome(run)


def test_in_place_dtype_and_shape_errors_like_torch():
    cases = [
        (lambda lib: operator.iadd(lib.zeros(3, dtype=lib.int64), 1.5), "can't be cast"),
        (lambda lib: operator.itruediv(lib.zeros(3, dtype=lib.int64), 2), "can't be cast"),
        (lambda lib: operator.iadd(lib.zeros(2, 3), lib.ones(4, 2, 3)),
         "doesn't match the broadcast shape"),
        (lambda lib: operator.iadd(lib.zeros(2, 3), lib.ones(4)), "must match the size"),
    ]
    for fn, phrase in cases:
        m, _ = same_outcome(fn, phrase)
        assert isinstance(m, RuntimeError)

    def promote(lib):  # float32 += float64 keeps float32, computed as torch computes it
        t = lib.tensor(arr(4).astype(np.float32))
        t += lib.tensor(arr(4, seed=1))
        t *= 0.1
        return (t,)
    same_outcome(promote)


def test_setitem_with_a_value_requiring_grad_makes_the_tensor_require_grad():
    def run(lib):
        v = leaf(lib, arr(3))
        t = lib.zeros(2, 3, dtype=lib.float64)
        t[1] = v * 2
        t[0, :2] = v[1:]
        assert t.requires_grad and not t.is_leaf
        (t * lib.tensor(arr(2, 3, seed=4))).sum().backward()
        return t, v.grad
    same_outcome(run)


# ---- 4. views share a version counter with their base -----------------------------------

VIEWS = {
    "reshape": lambda t: t.reshape(12),
    "view": lambda t: t.view(2, 6),
    "permute": lambda t: t.permute(1, 0),
    "T": lambda t: t.T,
    "transpose": lambda t: t.transpose(0, 1),
    "basic index": lambda t: t[1:, ::2],
    "int index": lambda t: t[1, 2],
    "detach": lambda t: t.detach(),
}  # .data too in minigrad (test_data_shares_the_version_counter_unlike_torch)


@pytest.mark.parametrize("name", VIEWS)
def test_a_write_through_a_view_is_seen_by_backward(name):
    """The base is used by an op that keeps it; a write through the alias must refuse."""
    def run(lib):
        base = leaf(lib, arr(3, 4))
        p = leaf(lib, arr(3, 4, seed=1))
        loss = (base.tanh() * p).sum()  # mul keeps tanh's result; tanh keeps its result
        h = base * p                     # mul keeps base for dp
        with lib.no_grad():
            alias = VIEWS[name](base)
            alias.mul_(2)
        assert base._version == alias._version == 1
        (h.sum() + loss).backward()
    m, _ = same_outcome(run, PHRASE)
    assert isinstance(m, RuntimeError)


@pytest.mark.parametrize("name", VIEWS)
def test_a_write_into_the_base_is_seen_through_a_view(name):
    def run(lib):
        base = leaf(lib, arr(3, 4), requires_grad=False)
        alias = VIEWS[name](base)
        p = leaf(lib, np.abs(arr(*alias.shape, seed=1)) + 1)
        loss = (alias * p).sum()  # keeps alias for dp
        base[0] = 100.0
        assert alias._version == base._version == 1
        loss.backward()
    m, _ = same_outcome(run, PHRASE)
    assert isinstance(m, RuntimeError)


def test_where_numpy_copies_torch_copies_too():
    """reshape of a transposed tensor is a copy in both: a write into it leaves the base."""
    def run(lib):
        base = leaf(lib, arr(3, 4), requires_grad=False)
        flat = base.T.reshape(12)
        flat[0] = 100.0
        return base, flat, base._version, flat._version
    same_outcome(run)


def test_issue_examples_for_views():
    def reshape_then_write(lib):
        base = lib.tensor([1.0, 2.0, 3.0])
        p = lib.tensor([1.0, 1.0, 1.0], requires_grad=True)
        v = base.reshape(3)
        loss = (v * p).sum()
        with lib.no_grad():
            base[0] = 100.0
        loss.backward()
    m, _ = same_outcome(reshape_then_write, PHRASE)
    assert isinstance(m, RuntimeError)

    def detach_then_write(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        loss = (x * x).sum()
        x.detach()[0] = 100.0
        loss.backward()
    m, _ = same_outcome(detach_then_write, PHRASE)
    assert isinstance(m, RuntimeError)


# ---- 4b. a view taken before a write through another alias: its history is regenerated ----
#
# torch: a view remembers its base; when the base's history was rewritten since (an in-place
# op on the base, on a sibling view, ...), its next use sees it as "this view of the base's
# current node". The values were always right (same memory); the gradients must be too.

STALE_WRITES = {  # (name, write(lib, b, x)): b = a * 1 (3, 4), x a leaf (4,) requiring grad
    "b[0] += x": lambda lib, b, x: b.__setitem__(0, operator.iadd(b[0], x)),
    "b.mul_(2)": lambda lib, b, x: b.mul_(2),
    "b *= x (broadcast)": lambda lib, b, x: operator.imul(b, x),
    "b[1:] -= x": lambda lib, b, x: b.__setitem__(
        slice(1, None), operator.isub(b[1:], x)),
    "sibling view +=": lambda lib, b, x: operator.iadd(b[0:2], x),
    "sibling row *=": lambda lib, b, x: operator.imul(b[2], x),
    "sibling transpose": lambda lib, b, x: operator.iadd(b.T[1], x[:3]),
    "sibling reshape": lambda lib, b, x: operator.iadd(b.reshape(12)[2:6], x),
    "b[0] = x": lambda lib, b, x: b.__setitem__(0, x),
    "b.copy_": lambda lib, b, x: b.copy_(x * 2),
    "b.clamp_": lambda lib, b, x: b.clamp_(-0.5, 0.5),
    "detach, no_grad": lambda lib, b, x: _no_grad(lib, lambda: b.detach()[0].add_(1)),
    "b itself, no_grad": lambda lib, b, x: _no_grad(lib, lambda: b.mul_(3)),
    "detach, grad mode": lambda lib, b, x: b.detach()[1].add_(x),
    "twice": lambda lib, b, x: (b.mul_(2), operator.iadd(b[0], x)),
}

STALE_VIEWS = {
    "row": lambda b: b[0],
    "slice": lambda b: b[:, 1:3],
    "reshape": lambda b: b.reshape(2, 6),
    "T": lambda b: b.T,
    "view of a view": lambda b: b[0:2][1, ::2],
    "int index": lambda b: b[0, 1],
}


def _no_grad(lib, fn):
    with lib.no_grad():
        fn()


@pytest.mark.parametrize("view", STALE_VIEWS)
@pytest.mark.parametrize("write", STALE_WRITES)
def test_a_view_taken_before_a_write_sees_the_new_history(write, view):
    def run(lib):
        a = leaf(lib, arr(3, 4))
        x = leaf(lib, arr(4, seed=1))
        b = a * 1
        v = STALE_VIEWS[view](b)
        STALE_WRITES[write](lib, b, x)
        w = leaf(lib, arr(*v.shape, seed=2))
        loss = (v * w).sum()
        loss.backward()
        return loss, v, a.grad, w.grad, 0 if x.grad is None else x.grad
    same_outcome(run)


def test_a_view_used_before_and_after_the_write():
    """Uses before the write reach the old base, uses after it the new one."""
    def run(lib):
        a = leaf(lib, arr(3, 4))
        x = leaf(lib, arr(4, seed=1))
        b = a * 1
        v = b[1]
        before = (v * 3).sum()      # reads nothing the write changes
        b.mul_(2)
        after = (v * x).sum()
        b[1] += x                   # and again: v's second regeneration
        again = (v * 5).sum()
        (before + after + again).backward()
        return before, after, again, a.grad, x.grad
    same_outcome(run)


def test_a_stale_view_as_root_of_backward_and_as_in_place_operand_and_target():
    def root(lib):
        a = leaf(lib, arr(3, 4))
        b = a * 1
        v = b[0]
        b.mul_(3)
        v.backward(lib.tensor(arr(4, seed=1)))
        return v, a.grad

    def operand(lib):
        a = leaf(lib, arr(3, 4))
        b = a * 1
        v = b[0]
        b.mul_(3)
        t = lib.zeros(4, dtype=lib.float64)
        t += v                      # t requires grad through the regenerated v
        (t * lib.tensor(arr(4, seed=1))).sum().backward()
        return t, a.grad

    def target(lib):
        a = leaf(lib, arr(3, 4))
        x = leaf(lib, arr(4, seed=1))
        b = a * 1
        v = b[0]
        b.mul_(3)
        v *= x                      # written through the stale view: recorded on b's new node
        (b * lib.tensor(arr(3, 4, seed=2))).sum().backward()
        return b, a.grad, x.grad
    for fn in (root, operand, target):
        same_outcome(fn)


def test_a_view_made_under_no_grad_whose_base_is_rewritten_raises_like_torch():
    phrase = "A view was created in no_grad mode and its base or another view of its base " \
             "has been modified inplace with grad mode enabled"

    def rewritten_base(lib):
        a = leaf(lib, arr(3, 4))
        b = a * 1
        with lib.no_grad():
            v = b[0]
        b.mul_(2)
        return (v * 2,)

    def base_made_to_require_grad(lib):
        b = lib.zeros(3, 4, dtype=lib.float64)
        with lib.no_grad():
            v = b[0]
        b[1] += leaf(lib, arr(4))
        return (v * 2,)
    for fn in (rewritten_base, base_made_to_require_grad):
        m, _ = same_outcome(fn, phrase)
        assert isinstance(m, RuntimeError)

    def written_through(lib):  # a recorded write through the no_grad view itself
        b = lib.zeros(3, 4, dtype=lib.float64)
        with lib.no_grad():
            v = b[0]
        v += leaf(lib, arr(4))
    m, _ = same_outcome(written_through, "A view was created in no_grad mode and is being "
                                         "modified inplace with grad mode enabled")
    assert isinstance(m, RuntimeError)

    def untouched(lib):  # a no_grad view of a base that needs no grad: a constant, as in torch
        b = lib.zeros(3, 4, dtype=lib.float64)
        with lib.no_grad():
            v = b[0]
        with lib.no_grad():
            b.add_(1)
        y = v * 2
        return y, y.requires_grad
    same_outcome(untouched)


# ---- 4c. an in-place op on a view of a tensor that needs no grad (torch's CopySlices) ------

BASE_VIEWS = {  # (name, view of a (4, 5) base, shape of the value written)
    "row": (lambda t: t[2], (5,)),
    "slice": (lambda t: t[1:3, ::2], (2, 3)),
    "int index": (lambda t: t[1, 3], ()),
    "reshape": (lambda t: t.reshape(20)[4:9], (5,)),
    "view": (lambda t: t.view(2, 10), (2, 10)),
    "T": (lambda t: t.T, (5, 4)),
    "transpose row": (lambda t: t.transpose(0, 1)[3], (4,)),
    "permute 3-d": (lambda t: t.reshape(2, 2, 5).permute(2, 0, 1)[1:4], (3, 2, 2)),
}

VIEW_WRITES = {
    "+=": lambda v, value: operator.iadd(v, value),
    "-=": lambda v, value: operator.isub(v, value),
    "*=": lambda v, value: operator.imul(v, value),
    "/=": lambda v, value: operator.itruediv(v, value),
    "add_ alpha": lambda v, value: v.add_(value, alpha=0.5),
    "copy_": lambda v, value: v.copy_(value),
    "v[...] =": lambda v, value: v.__setitem__(..., value),
}


@pytest.mark.parametrize("write", VIEW_WRITES)
@pytest.mark.parametrize("view", BASE_VIEWS)
def test_in_place_on_a_view_of_a_tensor_that_needs_no_grad(view, write):
    """`logits = zeros(8, 27); row = logits[i]; row += v`: the base requires grad after it,
    and backward reaches v through the base (torch's CopySlices)."""
    make, shape = BASE_VIEWS[view]

    def run(lib):
        logits = lib.tensor(arr(4, 5) + 3)  # away from 0: /= is safe
        before = make(logits)               # a view taken before the write
        v = leaf(lib, np.abs(arr(*shape, seed=1)) + 0.5)
        row = make(logits)
        VIEW_WRITES[write](row, v * 2)
        assert logits.requires_grad and not logits.is_leaf and row.requires_grad
        w = lib.tensor(arr(4, 5, seed=2))
        u = lib.tensor(arr(*shape, seed=3))
        loss = (logits * w).sum() + (row * u).sum() + (before * u).sum()
        loss.backward()
        return loss, logits, row, before, v.grad
    same_outcome(run)


def test_the_lecture_loop_with_a_row_view():
    """part 5's `logits = zeros(8, 27); logits[i] = model(x)`, written through row views."""
    def run(lib):
        W = leaf(lib, arr(3, 5))
        X = lib.tensor(arr(4, 3, seed=1))
        logits = lib.zeros(4, 5, dtype=lib.float64)
        for i in range(4):
            row = logits[i]
            row += (X[i] @ W).tanh()
        loss = logits.softmax(1).log().mean()
        loss.backward()
        return loss, logits, W.grad
    same_outcome(run)


# ---- 5. thread-local modes ----------------------------------------------------------------

def _two_threads(lib, mode):
    """Thread A holds `mode` open while thread B records; the steps interleave strictly."""
    a_in, b_done, a_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        x = lib.ones(2, requires_grad=True)
        with mode(lib):
            a_in.set()
            b_done.wait(5)
            seen["a inside"] = ((x * 2).requires_grad, lib.is_grad_enabled())
        a_done.set()
        seen["a after"] = ((x * 2).requires_grad, lib.is_grad_enabled())

    def thread_b():
        x = lib.ones(2, requires_grad=True)
        a_in.wait(5)
        seen["b while a inside"] = ((x * 2).requires_grad, lib.is_grad_enabled())
        with lib.no_grad():
            b_done.set()
            a_done.wait(5)
            seen["b inside its own"] = ((x * 2).requires_grad, lib.is_grad_enabled())
        seen["b after"] = ((x * 2).requires_grad, lib.is_grad_enabled())

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return seen


@pytest.mark.parametrize("mode", [
    lambda lib: lib.no_grad(),
    lambda lib: lib.inference_mode(),
    lambda lib: lib.set_grad_enabled(False),
], ids=["no_grad", "inference_mode", "set_grad_enabled"])
def test_grad_mode_is_thread_local(mode):
    m, t = _two_threads(minigrad, mode), _two_threads(torch, mode)
    assert m == t
    assert m["b while a inside"] == (True, True) and m["a inside"] == (False, False)
    assert minigrad.is_grad_enabled() and torch.is_grad_enabled()


def test_grad_mode_switches_nest_as_torchs():
    def run(lib):
        states = []
        with lib.no_grad():
            states.append(lib.is_grad_enabled())
            with lib.enable_grad():
                states.append(lib.is_grad_enabled())
                with lib.inference_mode(False):
                    states.append(lib.is_grad_enabled())
                with lib.set_grad_enabled(False):
                    states.append(lib.is_grad_enabled())
            states.append(lib.is_grad_enabled())
        lib.set_grad_enabled(False)
        states.append(lib.is_grad_enabled())
        lib.set_grad_enabled(True)
        states.append(lib.is_grad_enabled())

        @lib.no_grad()
        def f():
            return lib.is_grad_enabled()
        states.append(f())
        return states
    assert run(minigrad) == run(torch)


def test_scope_and_anomaly_mode_are_thread_local():
    inside, seen = threading.Event(), {}
    release = threading.Event()

    def other():
        with minigrad.scope("other"), minigrad.detect_anomaly():
            inside.set()
            release.wait(5)
            seen["other"] = (minigrad.ones(1).scope, minigrad.modes.modes.anomaly)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(5)
    seen["main"] = (minigrad.ones(1).scope, minigrad.modes.modes.anomaly)
    release.set()
    thread.join(10)
    assert seen == {"other": ("other", True), "main": (None, False)}
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"), \
            torch.autograd.detect_anomaly(check_nan=True):
        flags = []
        t = threading.Thread(target=lambda: flags.append(torch.is_anomaly_enabled()))
        t.start()
        t.join()
    assert flags == [True]  # torch's anomaly mode is process-wide: a documented difference


# ---- 6. pickle and deepcopy ---------------------------------------------------------------

def test_pickle_and_deepcopy_of_tensors_like_torch():
    def run(lib):
        x = leaf(lib, arr(3))
        (x * x).sum().backward()
        y = x * 2
        p = pickle.loads(pickle.dumps(x))
        d = copy.deepcopy(x)
        py = pickle.loads(pickle.dumps(y))
        return (p, d, p.requires_grad, p.grad is None, d.grad, py.requires_grad, py.is_leaf)
    same_outcome(run)

    def deepcopy_non_leaf(lib):
        copy.deepcopy(leaf(lib, arr(3)) * 2)
    m, _ = same_outcome(deepcopy_non_leaf, "Only Tensors created explicitly by the user")


def test_a_pickled_tensor_written_after_loading_in_this_process():
    """A loaded tensor's version counts on; a write after a forward is still refused."""
    def run(lib):
        x = leaf(lib, arr(3), requires_grad=False)
        x += 1
        y = pickle.loads(pickle.dumps(x)).requires_grad_()
        loss = (y * y).sum()
        loss.backward(retain_graph=True)
        with lib.no_grad():
            y += 1
        loss.backward()
    m, _ = same_outcome(run, PHRASE)
    assert isinstance(m, RuntimeError)


CHILD = textwrap.dedent("""
    import pickle, sys
    import numpy as np
    import minigrad
    model, X, Y = pickle.load(sys.stdin.buffer)
    loss = minigrad.nn.functional.cross_entropy(model(X), Y)
    loss.backward()
    grads = [p.grad.numpy() for p in model.parameters()]
    pickle.dump((loss.item(), grads), sys.stdout.buffer)
""")


def _model(lib, n_in, n_hidden, n_out, weights):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(n_in, n_hidden), nn.Tanh(), nn.Linear(n_hidden, n_out))
    with lib.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(lib.tensor(w))
    return model


def test_a_model_pickled_after_training_works_in_a_fresh_process():
    """50 SGD steps, pickle, load in a new process (its write clock starts again at 0):
    backward works there and gives the loss and gradients of before, as torch's model does
    when it is pickled and loaded."""
    rng = np.random.default_rng(0)
    shapes = [(8, 4), (8,), (3, 8), (3,)]
    weights = [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]
    X = rng.standard_normal((16, 4)).astype(np.float32)
    Y = rng.integers(0, 3, 16)
    before = {}
    for lib in LIBS:
        model = _model(lib, 4, 8, 3, weights)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        Xt, Yt = lib.tensor(X), lib.tensor(Y)
        for _ in range(50):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(Xt), Yt)
            loss.backward()
            opt.step()
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(Xt), Yt)
        loss.backward()
        before[lib.__name__] = (model, Xt, Yt, loss.item(),
                                [p.grad.numpy().copy() for p in model.parameters()])
    model, Xt, Yt, loss_before, grads_before = before["minigrad"]
    for p in model.parameters():
        p.grad = None
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-c", CHILD], input=pickle.dumps((model, Xt, Yt)),
                         capture_output=True, cwd=root, timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    loss_child, grads_child = pickle.loads(run.stdout)
    assert loss_child == loss_before
    for g, g0 in zip(grads_child, grads_before, strict=True):
        assert_equal(g, g0, "grad")
    # torch: the same round trip keeps the loss too
    t_model, t_X, t_Y, t_loss, _ = before["torch"]
    t_model = pickle.loads(pickle.dumps(t_model))
    assert torch.nn.functional.cross_entropy(t_model(t_X), t_Y).item() == t_loss


def test_deepcopy_of_a_module_keeps_values_and_grads():
    model = minigrad.nn.Linear(3, 2)
    model(minigrad.ones(4, 3)).sum().backward()
    twin = copy.deepcopy(model)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert p is not q and np.array_equal(p.detach().numpy(), q.detach().numpy())
        assert np.array_equal(p.grad.numpy(), q.grad.numpy())
    twin(minigrad.ones(4, 3)).sum().backward()  # the copy trains on its own
    with minigrad.no_grad():
        twin.weight += 1
    assert not np.array_equal(model.weight.detach().numpy(), twin.weight.detach().numpy())


# ---- 7. numpy and Python conversions -------------------------------------------------------

def test_numpy_and_python_conversions_like_torch():
    def run(lib):
        t = lib.tensor(arr(2, 3).astype(np.float32))
        s = lib.tensor(2.75)
        i = lib.tensor(3)
        a = np.asarray(t)
        a64 = np.asarray(t, dtype=np.float64)
        return (a.dtype.name, a64.dtype.name, a.tolist(), a64.tolist(), float(s), int(s),
                operator.index(i), [10, 20, 30, 40][i], f"{s:.4f}", "%f" % s, "%.2e" % s,
                f"{i:03d}", format(t) == str(t), float(lib.tensor([1.5])),
                np.shares_memory(a, t.numpy()))
    same_outcome(run)


@pytest.mark.parametrize("fn, exc", [
    (lambda t: float(t), ValueError),
    (lambda t: int(t), ValueError),
    (lambda t: operator.index(t), TypeError),
    (lambda t: operator.index(t[0]), TypeError),  # a float 0-d tensor is no index
    (lambda t: f"{t:.4f}", TypeError),
    (lambda t: np.asarray(t.requires_grad_()), RuntimeError),
])
def test_conversion_errors_like_torch(fn, exc):
    m, t = both(lambda lib: fn(lib.tensor([1.0, 2.0])))
    assert type(m) is type(t) is exc


def test_matplotlib_plots_a_tensor():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = minigrad.tensor(arr(10))
    fig, ax = plt.subplots()
    (line,) = ax.plot(t)
    ax.imshow(minigrad.tensor(arr(3, 4)))
    plt.close(fig)
    assert np.array_equal(line.get_ydata(), np.asarray(torch.from_numpy(t.numpy())))


# ---- 8. backward twice --------------------------------------------------------------------

def test_backward_twice_adds_one_more_contribution():
    m_x, t_x = leaf(minigrad, arr(3)), leaf(torch, arr(3))
    m_y, t_y = (m_x * m_x).tanh().sum(), (t_x * t_x).tanh().sum()
    m_y.backward()
    t_y.backward(retain_graph=True)
    first = m_x.grad
    m_y.backward()
    t_y.backward()
    assert m_x.grad is first  # added in place into the same Tensor, as torch
    assert_match(m_x.grad.numpy(), t_x.grad)
