"""One table of op cases, checked against torch in float64 and float32, and by finite differences.

Each row of CASES is (id, the primitives it exercises, fn(lib, *tensors), input makers). The
same `fn` runs on minigrad and on torch (`helpers.compare`): output values and dtypes, then
the gradient of every float input for a random upstream gradient. The table runs twice, in
float64 (torch.testing.assert_close defaults) and in float32 (check.verdict), so it
also pins output and gradient dtypes, including mixed-dtype promotion.

Three more tests hang off the table:
- completeness: the primitives the table claims to exercise are exactly minigrad.ops.PRIMITIVES,
  and each row's claim is checked against the graph minigrad really recorded;
- finite differences: a torch-free oracle, d(sum(u * f(x)))/dx by central differences in
  float64, on the rows whose inputs are tie-free and kink-free (every primitive included);
- max(dim) indices, which carry no gradient and so sit outside the table.

Input makers draw float64 values (cast per run) with the domain guards built in: N keeps
|x| >= 0.2 (no kink of relu/abs/mask within reach of a finite-difference step), P draws
positives (log, sqrt, negative and fractional powers), D draws values with gaps >= 0.25
(tie-free max); Ints draws int64 indices (with repeats) and Mask boolean masks.
"""

import zlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
import torch
from helpers import as_torch, assert_equal, compare

import minigrad
from minigrad.tensor import apply

# ---- input makers: each returns rng -> numpy array -------------------------------------

def N(*shape):
    """Normal-ish floats kept away from 0: sign * uniform(0.2, 2)."""
    return lambda rng: rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, size=shape)


def P(*shape):
    """Positive floats in [0.5, 2]."""
    return lambda rng: rng.uniform(0.5, 2.0, size=shape)


def D(*shape):
    """Distinct floats (a shuffled grid with step 0.25, jittered by < 0.05): tie-free max."""
    def make(rng):
        n = int(np.prod(shape))
        grid = (rng.permutation(n) - n / 2) * 0.25
        return (grid + rng.uniform(-0.05, 0.05, size=n)).reshape(shape)
    return make


def Ints(low, high, *shape):
    """int64 indices in [low, high); small ranges make repeats (scatter-add must accumulate)."""
    return lambda rng: rng.integers(low, high, size=shape, dtype=np.int64)


def Mask(*shape):
    """A boolean mask with at least one True."""
    def make(rng):
        mask = rng.random(shape) < 0.5
        mask.flat[0] = True
        return mask
    return make


def array_arg(lib, array, like=None):
    """A numpy array as an operand: minigrad gets the ndarray itself (the path under test).

    torch refuses ndarrays next to tensors that require grad, so its side gets the same
    values as a tensor; dtype promotion then follows the same rules. `like` casts the array
    to that tensor's dtype first.
    """
    if like is not None:
        array = array.astype(like.detach().numpy().dtype)
    return array if lib is minigrad else as_torch(array)


def cross_entropy(lib, logits, target, reduction="mean"):
    """torch's F.cross_entropy; minigrad's cross_entropy primitive applied directly.

    (nn.cross_entropy wraps the primitive with argument checks; its tests live with nn.)
    """
    if lib is torch:
        return torch.nn.functional.cross_entropy(logits, target, reduction=reduction)
    return apply(minigrad.functional.CrossEntropy(reduction), logits, target)


W23 = np.linspace(-1.5, 2.0, 6).reshape(2, 3)  # a float64 constant, broadcastable with (2, 3)
W3 = np.array([0.5, -2.0, 3.0])


class Case(NamedTuple):
    id: str
    prims: frozenset
    fn: Callable
    makers: tuple
    grad_of: tuple = None  # default: every float input
    fd: bool = True  # False where finite differences cannot work (a float32 detour)

    def inputs(self, dtype):
        """The row's inputs, float ones in `dtype`; the same values on every run."""
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        arrays = [np.array(make(rng)) for make in self.makers]  # 0-d too
        return [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]


def case(id, prims, fn, *makers, grad_of=None, fd=True):
    return Case(id, frozenset(prims.split()), fn, makers, grad_of, fd)


# ---- the table -------------------------------------------------------------------------

BROADCAST_PAIRS = [((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 3)), ((2, 3), ()),
                   ((3, 1, 2), (1, 3, 2)), ((1, 3, 1, 7, 1), (2, 1, 5, 1, 8))]

BINARY = [  # (name, primitives, fn); the divisor is drawn away from 0 by N
    ("add", "add", lambda m, a, b: a + b),
    ("mul", "mul", lambda m, a, b: a * b),
    ("sub", "add mul", lambda m, a, b: a - b),  # a - b = a + (-1) * b
    ("div", "mul pow", lambda m, a, b: a / b),  # a / b = a * b**-1
]

def put(a, index, value):
    """t = a * 1 (a non-leaf), then t[index] = value: the recorded write (setitem)."""
    t = a * 1
    t[index] = value
    return t


CASES = [
    case(f"{name}-{'x'.join(map(str, sa)) or 'scalar'}-{'x'.join(map(str, sb)) or 'scalar'}",
         prims, fn, N(*sa), N(*sb))
    for name, prims, fn in BINARY for sa, sb in BROADCAST_PAIRS
] + [
    # -- add, mul: node reuse, Python scalars, numpy arrays (reflected forms) --
    case("add-self", "add", lambda m, a: a + a, N(3, 4)),
    case("mul-self", "mul", lambda m, a: a * a, N(3, 4)),
    case("add-mul-reuse", "add mul tanh", lambda m, a, b: (a * b + a).tanh() * b, N(3, 4),
         N(4)),
    case("add-int", "add", lambda m, a: a + 2, N(2, 3)),
    case("radd-float", "add", lambda m, a: 1.5 + a, N(2, 3)),
    case("mul-float", "mul", lambda m, a: a * 2.5, N(2, 3)),
    case("rmul-int", "mul", lambda m, a: 3 * a, N(2, 3)),
    case("rmul-np-float64-scalar", "mul", lambda m, a: np.float64(2.5) * a, N(2, 3)),
    case("mul-np-float32-scalar", "mul", lambda m, a: a * np.float32(-1.5), N(2, 3)),
    case("radd-ndarray", "add", lambda m, a: array_arg(m, W23, a) + a, N(2, 3)),
    case("rmul-ndarray", "mul", lambda m, a: array_arg(m, W3, a) * a, N(2, 3)),
    case("mul-ndarray", "mul", lambda m, a: a * array_arg(m, W23, a), N(2, 3)),
    # a float64 ndarray with dimensions widens a float32 tensor, as a float64 tensor would
    case("rmul-ndarray-float64", "mul", lambda m, a: array_arg(m, W23) * a, N(2, 3)),
    # -- compositions of add and mul --
    case("neg", "mul", lambda m, a: -a, N(2, 3)),
    case("sub-float", "add", lambda m, a: a - 0.5, N(2, 3)),
    case("rsub-int", "add mul", lambda m, a: 1 - a, N(2, 3)),
    case("rsub-ndarray", "add mul", lambda m, a: array_arg(m, W23, a) - a, N(2, 3)),
    case("sub-ndarray", "add", lambda m, a: a - array_arg(m, W3, a), N(2, 3)),
    case("div-float", "mul", lambda m, a: a / 4.0, N(2, 3)),
    case("rtruediv-float", "mul pow", lambda m, a: 2.5 / a, N(2, 3)),
    case("rtruediv-ndarray", "mul pow", lambda m, a: array_arg(m, W23, a) / a, N(2, 3)),
    case("div-self", "mul pow", lambda m, a, b: (a - b) / (a + b), N(2, 3), P(2, 3)),
    # -- pow: constant exponents (domain: positives for negative or fractional exponents) --
    case("pow-neg1", "pow", lambda m, a: a ** -1, P(3, 4)),
    case("pow-neg0.5", "pow", lambda m, a: a ** -0.5, P(3, 4)),
    case("pow-0.5", "pow", lambda m, a: a ** 0.5, P(3, 4)),
    case("pow-2", "pow", lambda m, a: a ** 2, N(3, 4)),
    case("pow-3", "pow", lambda m, a: a.pow(3), N(3, 4)),
    case("pow-0", "pow", lambda m, a: a ** 0, N(3, 4)),
    case("pow-0.0", "pow", lambda m, a: a.pow(0.0), N(3, 4)),
    case("pow-2.5", "pow", lambda m, a: a ** 2.5, P(3, 4)),
    case("pow-tensor-exponent", "exp log mul", lambda m, a, b: a ** b, P(3, 4), N(3, 4)),
    case("pow-tensor-exponent-broadcast", "exp log mul", lambda m, a, b: a.pow(b), P(3, 1),
         N(4)),
    case("rpow-float", "exp mul", lambda m, a: 2.0 ** a, N(3, 4)),
    case("sqrt", "pow", lambda m, a: a.sqrt(), P(3, 4)),
    case("sqrt-fn", "pow", lambda m, a: m.sqrt(a), P(3, 4)),
    # -- unary primitives and compositions --
    case("exp", "exp", lambda m, a: a.exp(), N(3, 4)),
    case("exp-fn", "exp", lambda m, a: m.exp(a), N(2, 3, 2)),
    case("log", "log", lambda m, a: a.log(), P(3, 4)),
    case("log-fn", "log", lambda m, a: m.log(a), P(5)),
    case("tanh", "tanh", lambda m, a: a.tanh(), N(3, 4)),
    case("tanh-fn-scalar", "tanh", lambda m, a: m.tanh(a), N()),
    case("relu", "mul", lambda m, a: a.relu(), N(3, 4)),
    case("relu-fn", "mul", lambda m, a: m.relu(a), N(4, 2)),
    case("sigmoid", "tanh mul add", lambda m, a: a.sigmoid(), N(3, 4)),
    case("sigmoid-fn", "tanh mul add", lambda m, a: m.sigmoid(a), N(6)),
    case("abs", "mul", lambda m, a: a.abs(), N(3, 4)),
    # -- sum --
    case("sum-all", "sum", lambda m, a: a.sum(), N(3, 4)),
    case("sum-dim0", "sum", lambda m, a: a.sum(0), N(3, 4)),
    case("sum-dim-neg", "sum", lambda m, a: a.sum(-1), N(2, 3, 4)),
    case("sum-dim-tuple", "sum", lambda m, a: a.sum((0, 2)), N(2, 3, 4)),
    case("sum-dim-list-neg", "sum", lambda m, a: a.sum(dim=[-1, 0]), N(2, 3, 4)),
    case("sum-keepdim", "sum", lambda m, a: a.sum(1, keepdim=True), N(2, 3, 4)),
    case("sum-tuple-keepdim", "sum", lambda m, a: a.sum(dim=(-1, 0), keepdim=True),
         N(2, 3, 4)),
    case("sum-all-keepdim", "sum", lambda m, a: a.sum(dim=None, keepdim=True), N(2, 3)),
    case("sum-empty-tuple", "sum", lambda m, a: a.sum(dim=()), N(2, 3)),  # torch: all dims
    case("sum-0d", "sum", lambda m, a: a.sum(), N()),
    case("sum-0d-dim", "sum", lambda m, a: a.sum(0, keepdim=True), N()),
    case("sum-long", "sum", lambda m, a: a.sum(0), N(300, 2)),  # float32: a long reduction
    # -- mean: sum times 1/count --
    case("mean-all", "sum mul", lambda m, a: a.mean(), N(3, 4)),
    case("mean-dim", "sum mul", lambda m, a: a.mean(0), N(3, 4)),
    case("mean-dim-neg-keepdim", "sum mul", lambda m, a: a.mean(-1, keepdim=True), N(2, 3, 4)),
    case("mean-dim-tuple", "sum mul", lambda m, a: a.mean((0, 2)), N(2, 3, 4)),
    # -- max (tie-free inputs) --
    case("max-all", "max", lambda m, a: a.max(), D(3, 4)),
    case("max-all-0d", "max", lambda m, a: a.max(), D()),
    case("max-dim", "max", lambda m, a: a.max(0).values, D(3, 4)),
    case("max-dim-neg-keepdim", "max", lambda m, a: a.max(-1, keepdim=True).values, D(2, 3, 4)),
    case("max-dim-unpack", "max", lambda m, a: a.max(dim=1)[0], D(2, 3, 4)),
    case("max-1d", "max", lambda m, a: a.max(0).values, D(5)),
    case("max-broadcast-back", "max add mul", lambda m, a: a - a.max(1, keepdim=True).values,
         D(3, 4)),
    # -- softmax family (max detached, exp, sum, log) --
    case("softmax", "exp sum mul pow", lambda m, a: a.softmax(1), N(3, 5)),
    case("softmax-fn-dim0", "exp sum mul pow", lambda m, a: m.softmax(a, 0), N(3, 5)),
    case("softmax-3d-neg", "exp sum mul pow", lambda m, a: a.softmax(-1), N(2, 3, 4)),
    case("log-softmax", "exp sum log add", lambda m, a: a.log_softmax(1), N(3, 5)),
    case("log-softmax-fn", "exp sum log add", lambda m, a: m.log_softmax(a, dim=-1),
         N(2, 3, 4)),
    case("cross-entropy", "exp sum log getitem", lambda m, a, y:
         -a.log_softmax(1)[range(4), y].mean(), N(4, 6), Ints(0, 6, 4)),
    case("cross-entropy-primitive", "cross_entropy", lambda m, x, t: cross_entropy(m, x, t),
         N(5, 4), Ints(0, 4, 5)),
    case("cross-entropy-primitive-sum", "cross_entropy",
         lambda m, x, t: cross_entropy(m, x, t, "sum"), N(6, 3), Ints(0, 3, 6)),
    case("cross-entropy-primitive-none", "cross_entropy",
         lambda m, x, t: cross_entropy(m, x, t, "none"), N(4, 7), Ints(0, 7, 4)),
    # exp(60 x) would overflow float32: the primitive must shift by the row max
    case("cross-entropy-primitive-large-logits", "cross_entropy mul",
         lambda m, x, t: cross_entropy(m, 60 * x, t), N(3, 5), Ints(0, 5, 3)),
    # -- matmul --
    case("matmul-1d-1d", "matmul", lambda m, a, b: a @ b, N(4), N(4)),
    case("matmul-1d-2d", "matmul", lambda m, a, b: a @ b, N(4), N(4, 5)),
    case("matmul-2d-1d", "matmul", lambda m, a, b: a @ b, N(3, 4), N(4)),
    case("matmul-2d-2d", "matmul", lambda m, a, b: m.matmul(a, b), N(3, 4), N(4, 5)),
    case("matmul-batched-2d", "matmul", lambda m, a, b: a @ b, N(2, 3, 4), N(4, 5)),
    case("matmul-batch-broadcast", "matmul", lambda m, a, b: a @ b, N(5, 5, 5), N(1, 5, 5)),
    case("matmul-1d-batched", "matmul", lambda m, a, b: a @ b, N(4), N(2, 4, 5)),
    case("matmul-batched-1d", "matmul", lambda m, a, b: a @ b, N(2, 3, 4), N(4)),
    case("matmul-zero-inner", "matmul", lambda m, a, b: a @ b, N(3, 0), N(0, 4)),
    case("matmul-self-T", "matmul permute", lambda m, a: a @ a.T, N(3, 4)),
    case("rmatmul-ndarray", "matmul", lambda m, a: array_arg(m, W23, a) @ a, N(3, 4)),
    # -- reshape / view --
    case("reshape-infer", "reshape", lambda m, a: a.reshape(3, -1), N(2, 3, 2)),
    case("reshape-tuple", "reshape", lambda m, a: a.reshape((2, 6)), N(3, 4)),
    case("view-flat", "reshape", lambda m, a: a.view(-1), N(3, 4)),
    case("view-split", "reshape", lambda m, a: a.view(4, 1, 3), N(3, 4)),
    case("view-0d", "reshape", lambda m, a: a.view(1, 1), N()),
    case("view-as", "reshape", lambda m, a, b: a.view_as(b), N(3, 4), N(6, 2), grad_of=(0,)),
    case("reshape-after-T", "reshape permute", lambda m, a: a.T.reshape(-1), N(3, 4)),
    # -- permute / T / transpose --
    case("permute", "permute", lambda m, a: a.permute(2, 0, 1), N(2, 3, 4)),
    case("permute-tuple-neg", "permute", lambda m, a: a.permute((-1, 0, 1)), N(2, 3, 4)),
    case("T", "permute", lambda m, a: a.T, N(3, 4)),
    case("transpose", "permute", lambda m, a: a.transpose(0, -1), N(2, 3, 4)),
    case("transpose-mul", "permute mul", lambda m, a: a.transpose(1, 0) * a.T, N(3, 4)),
    # -- getitem: basic indices --
    case("getitem-int", "getitem", lambda m, a: a[1], N(3, 4)),
    case("getitem-neg-int", "getitem", lambda m, a: a[-1], N(3, 4)),
    case("getitem-int-pair", "getitem", lambda m, a: a[1, -2], N(3, 4)),
    case("getitem-slice-steps", "getitem", lambda m, a: a[::2, 1:5:2], N(5, 6)),
    case("getitem-slice-neg-bounds", "getitem", lambda m, a: a[-3:, :-1], N(5, 6)),
    case("getitem-none", "getitem", lambda m, a: a[None, :, None], N(3, 4)),
    case("getitem-ellipsis", "getitem", lambda m, a: a[..., 1], N(2, 3, 4)),
    case("getitem-ellipsis-none", "getitem", lambda m, a: a[0, ..., None], N(2, 3, 4)),
    # -- setitem: t[index] = v, recorded (dt = dy with the written slots zeroed, dv = dy[index]) --
    case("setitem-row", "mul setitem", lambda m, a, b: put(a, 1, b), N(3, 4), N(4)),
    case("setitem-broadcast", "mul setitem", lambda m, a, b: put(a, (slice(None), 1), b),
         N(3, 4), N()),
    case("setitem-slice-steps", "mul setitem", lambda m, a, b: put(a, (slice(None, None, 2),),
                                                                  b), N(5, 2), N(3, 2)),
    case("setitem-int-array", "mul setitem", lambda m, a, b: put(a, ([0, 2], [1, 3]), b),
         N(3, 4), N(2)),
    # -- getitem: advanced indices (repeats accumulate) --
    case("getitem-list", "getitem", lambda m, a: a[[0, 2, 2, -1]], N(4, 3)),
    case("getitem-range", "getitem", lambda m, a: a[range(1, 4)], N(4, 3)),
    case("getitem-empty-list", "getitem", lambda m, a: a[[]], N(4, 3)),
    case("getitem-ndarray-2d", "getitem", lambda m, a: a[np.array([[0, 1], [1, 2]])], N(3, 4)),
    case("getitem-int-tensor-embedding", "getitem", lambda m, c, x: c[x], N(5, 3),
         Ints(0, 5, 4, 3)),
    case("getitem-int-tensor-negative", "getitem", lambda m, c, x: c[x], N(5, 2, 2),
         Ints(-5, 5, 6)),
    case("getitem-int-tensor-0d", "getitem", lambda m, a: a[m.tensor(1)], N(3, 4)),
    case("getitem-range-tensor", "getitem", lambda m, a, y: a[range(5), y], N(5, 3),
         Ints(0, 3, 5)),
    case("getitem-tensor-slice", "getitem", lambda m, a, x: a[x, 1:], N(3, 4, 2),
         Ints(0, 3, 2, 2)),
    case("getitem-int-list", "getitem", lambda m, a: a[1, [0, 2, 0]], N(3, 4)),
    case("getitem-list-slice-list", "getitem", lambda m, a: a[[0, 1], :, [2, 3]], N(3, 4, 5)),
    case("getitem-ellipsis-list", "getitem", lambda m, a: a[..., [1, 1, 0]], N(2, 3, 4)),
    case("getitem-none-slice-tensor", "getitem", lambda m, a, x: a[None, 1:, x], N(3, 4),
         Ints(0, 4, 3)),
    # -- getitem: boolean masks --
    case("getitem-mask-compare", "getitem", lambda m, a: a[a > 0], N(3, 4)),
    case("getitem-mask-tensor", "getitem", lambda m, a, k: a[k], N(3, 4), Mask(3, 4)),
    case("getitem-mask-rows", "getitem", lambda m, a, k: a[k], N(4, 3), Mask(4)),
    case("getitem-mask-cols", "getitem", lambda m, a, k: a[:, k], N(3, 4), Mask(4)),
    case("getitem-mask-list", "getitem", lambda m, a: a[[True, False, True]], N(3, 4)),
    # -- cast: .float(), .double(), clone --
    case("clone", "cast", lambda m, a: a.clone() * 2, N(3, 4)),
    case("float-double", "cast", lambda m, a: a.float().double(), N(3, 4), fd=False),
    case("double-float", "cast", lambda m, a: a.double().float(), N(3, 4), fd=False),
    # float32 (x) float64 -> float64, while a 0-d float64 does not widen a float32 with dims
    case("promote-f32-f64", "cast mul", lambda m, a, b: a.float() * b.double(), N(3, 4),
         N(4), fd=False),
    # (a has one element: b's float32 gradient is then a sum of one term, exact in either
    # library, so b's float64 grad can be held to float64 tolerance)
    case("promote-0d-f64", "cast add", lambda m, a, b: a.float() + b.double(), N(1), N(),
         fd=False),
    # -- the lectures' everyday ops (issue 13) --
    case("sin", "sin", lambda m, a: a.sin(), N(3, 4)),
    case("sin-fn", "sin", lambda m, a: m.sin(a), N(2, 3, 2)),
    case("cos", "cos", lambda m, a: a.cos(), N(3, 4)),
    case("cos-fn-scalar", "cos", lambda m, a: m.cos(a), N()),
    case("log10", "log mul", lambda m, a: a.log10(), P(3, 4)),
    case("log2-fn", "log mul", lambda m, a: m.log2(a), P(5)),
    case("where", "where", lambda m, a, b: m.where(a > b, a, b), N(3, 4), N(3, 4)),
    case("where-broadcast", "where", lambda m, a, b: m.where(a > 0, a, b), N(3, 1), N(4)),
    case("where-scalar", "where", lambda m, a: m.where(a < 0, a, 0.5), N(3, 4)),
    case("where-mask-broadcast", "where",
         lambda m, a, b, k: m.where(k, a, b), N(4), N(3, 1), Mask(3, 4)),
    case("clamp", "where", lambda m, a: a.clamp(-0.5, 0.5), N(3, 4)),
    case("clamp-min-fn", "where", lambda m, a: m.clamp(a, min=0.3), N(3, 4)),
    case("clamp-max", "where", lambda m, a: a.clamp(max=-0.3), N(2, 5)),
    case("clamp-min-above-max", "where", lambda m, a: a.clamp(1.0, -1.0), N(2, 5)),
    case("maximum", "where", lambda m, a, b: m.maximum(a, b), N(3, 4), N(4)),
    case("minimum", "where", lambda m, a, b: m.minimum(a, b), N(3, 4), N(3, 1)),
    # ties split the gradient in half, as torch's (a kink: no finite differences)
    case("maximum-ties", "where add mul", lambda m, a: m.maximum(a, a.detach()), N(3, 4),
         fd=False),
    case("minimum-ties", "where add mul", lambda m, a, b: m.minimum(a, b * 0 + a.detach()),
         N(3, 4), N(3, 4), fd=False),
    case("min-all", "max mul", lambda m, a: a.min(), D(3, 4)),
    case("min-dim", "max mul", lambda m, a: a.min(1).values, D(3, 4)),
    case("cat-dim0", "cat", lambda m, a, b: m.cat([a, b]), N(2, 3), N(4, 3)),
    case("cat-dim-neg", "cat", lambda m, a, b, c: m.cat((a, b, c), dim=-1), N(2, 3), N(2, 1),
         N(2, 2)),
    case("cat-reuse", "cat", lambda m, a: m.cat([a, a * 2, a], 1), N(2, 3)),
    case("stack", "cat reshape", lambda m, a, b: m.stack([a, b]), N(2, 3), N(2, 3)),
    case("stack-dim-neg", "cat reshape", lambda m, a, b: m.stack([a, b], dim=-1), N(2, 3),
         N(2, 3)),
    case("unsqueeze", "reshape", lambda m, a: a.unsqueeze(1), N(2, 3)),
    case("unsqueeze-neg-fn", "reshape", lambda m, a: m.unsqueeze(a, -1), N(2, 3)),
    case("squeeze-all", "reshape", lambda m, a: a.squeeze(), N(1, 3, 1, 2)),
    case("squeeze-dim", "reshape", lambda m, a: a.squeeze(2), N(1, 3, 1, 2)),
    case("squeeze-not-one", "reshape", lambda m, a: a.squeeze(1), N(1, 3, 1, 2)),
    case("squeeze-tuple", "reshape", lambda m, a: a.squeeze((0, 2)), N(1, 3, 1, 2)),
    case("view-several-dims", "reshape", lambda m, a: a.view(2, 3, 2, 2), N(4, 6)),
    case("flatten", "reshape", lambda m, a: a.flatten(1), N(2, 3, 4)),
    # -- expand (sum's backward) and scatter_add (getitem's backward), public as torch's
    # expand and index_add --
    case("expand", "expand", lambda m, a: a.expand(3, 4) * 1, N(4)),
    case("expand-keep-new-axis", "expand", lambda m, a: a.expand(2, -1, 5), N(3, 1)),
    case("expand-as", "expand", lambda m, a, b: a.expand_as(b), N(1, 4), N(3, 4),
         grad_of=(0,)),
    case("index-add-rows", "scatter_add add", lambda m, a, b, i: a.index_add(0, i, b),
         N(5, 3), N(4, 3), Ints(0, 5, 4)),
    case("index-add-dim1-repeats", "scatter_add add",
         lambda m, a, b: a.index_add(1, m.tensor(np.array([2, 0, 2])), b), N(2, 4), N(2, 3)),
    case("index-add-alpha", "scatter_add add mul",
         lambda m, a, b, i: a.index_add(-1, i, b, alpha=2.5), N(3), N(6), Ints(0, 3, 6)),
    case("sum-keepdims-alias", "sum", lambda m, a: a.sum(1, keepdims=True), N(3, 4)),
    case("mean-keepdims-alias", "sum mul", lambda m, a: a.mean((0, 1), keepdims=True),
         N(2, 3, 4)),
    case("normalise-rows", "sum mul pow", lambda m, a: a / a.sum(1, keepdims=True), P(3, 4)),
    case("var-all", "sum mul add", lambda m, a: a.var(), N(3, 4)),
    case("var-dim-keepdim", "sum mul add", lambda m, a: a.var(0, keepdim=True), N(5, 4)),
    case("var-unbiased-false", "sum mul add", lambda m, a: a.var(1, unbiased=False), N(3, 4)),
    case("var-unbiased-true", "sum mul add", lambda m, a: a.var(0, keepdim=True, unbiased=True),
         N(6, 3)),
    case("var-positional-unbiased", "sum mul add", lambda m, a: a.var(False), N(3, 4)),
    case("var-correction", "sum mul add", lambda m, a: a.var(-1, correction=2), N(3, 5)),
    case("var-tuple", "sum mul add", lambda m, a: a.var((0, 2), keepdim=True), N(2, 3, 4)),
    case("var-fn-keepdims", "sum mul add", lambda m, a: m.var(a, 0, keepdims=True), N(4, 3)),
    case("std-all", "sum mul add pow", lambda m, a: a.std(), N(3, 4)),
    case("std-dim", "sum mul add pow", lambda m, a: a.std(0, keepdim=True), N(32, 5)),
    case("std-unbiased-false-tuple", "sum mul add pow",
         lambda m, a: a.std((0, 1), unbiased=False), N(2, 3, 4)),
    case("std-fn-correction0", "sum mul add pow", lambda m, a: m.std(a, 1, correction=0),
         N(3, 4)),
]


def recorded_ops(root):
    """Names of the primitives minigrad recorded in the graph under `root`."""
    return {node._op.name for node in minigrad.autograd.toposort(root) if node._op is not None}


def ids(cases):
    return [c.id for c in cases]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_case_matches_torch(c, dtype):
    m_out, _ = compare(c.fn, *c.inputs(dtype), grad_of=c.grad_of)
    missing = c.prims - recorded_ops(m_out)
    assert not missing, f"{c.id} claims {sorted(missing)} but minigrad did not record them"


def test_ids_are_unique():
    assert len(set(ids(CASES))) == len(CASES)


def test_table_covers_every_primitive():
    """Fails when a primitive is added to ops.PRIMITIVES without a case here (or vice versa)."""
    covered = set().union(*(c.prims for c in CASES))
    assert covered == set(minigrad.ops.PRIMITIVES)


# ---- finite differences: a torch-free oracle --------------------------------------------

FD_CASES = [c for c in CASES if c.fd]
EPS = 1e-6


def test_finite_differences_cover_every_primitive():
    assert set().union(*(c.prims for c in FD_CASES)) == set(minigrad.ops.PRIMITIVES)


@pytest.mark.parametrize("c", FD_CASES, ids=ids(FD_CASES))
def test_finite_differences(c):
    """minigrad's grad of L = sum(u * f(x)) vs (L(x + eps e_j) - L(x - eps e_j)) / (2 eps).

    Central differences err by O(eps**2 f''') from truncation and O(1e-16 |L| / eps) from
    rounding; with eps = 1e-6 and inputs kept clear of kinks and ties that is far below
    rtol 1e-5.
    """
    arrays = c.inputs(np.float64)
    grad_of = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] \
        if c.grad_of is None else list(c.grad_of)
    inputs = [minigrad.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    out = c.fn(minigrad, *inputs)
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)

    def loss(values):
        with minigrad.no_grad():
            out = c.fn(minigrad, *map(minigrad.tensor, values)).data.numpy()
            return float((upstream * out).sum())

    for i in grad_of:
        numeric = np.zeros_like(arrays[i])
        for j in np.ndindex(arrays[i].shape):
            shifted = [a.copy() for a in arrays]
            shifted[i][j] = arrays[i][j] + EPS
            plus = loss(shifted)
            shifted[i][j] = arrays[i][j] - EPS
            numeric[j] = (plus - loss(shifted)) / (2 * EPS)
        np.testing.assert_allclose(inputs[i].grad, numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{c.id}: grad of input {i}")


# ---- max(dim) indices: no gradient, so outside the table ---------------------------------

@pytest.mark.parametrize("dim, keepdim", [(0, False), (-1, True), (1, False)])
def test_max_dim_indices_match_torch(dim, keepdim):
    x = D(3, 4, 5)(np.random.default_rng(0)).astype(np.float32)
    values, indices = minigrad.tensor(x).max(dim, keepdim)
    expected = as_torch(x).max(dim, keepdim)
    assert_equal(values.data, expected.values, "values")  # a max picks, it does not round
    assert_equal(indices.data, expected.indices, "indices")
