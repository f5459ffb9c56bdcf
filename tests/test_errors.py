"""Bad input raises what torch raises: the same exception class, with torch's key phrase.

Every case runs the same bad call in torch and in minigrad (`call(lib)`), asserts that both
raise the same exception class and that both messages carry the key phrase (docs/design.md
policy 9). Where torch words a case differently from the phrase minigrad uses for the whole
family (matmul), the case names torch's phrase separately. The last part checks that a call
that raised left nothing half-updated: no .grad written, no input changed, no graph recorded.
"""

import numpy as np
import pytest
import torch
from helpers import as_torch, assert_equal, assert_match

import minigrad


def _set_requires_grad(t, value=True):  # an assignment, for the lambdas below
    t.requires_grad = value


def _setitem(t, index, value):
    t[index] = value


# (id, call(lib), phrase minigrad's message must carry, torch's phrase if it words it otherwise)
CASES = [
    # broadcasting
    ("add", lambda m: m.ones(2, 3) + m.ones(4), "must match the size", None),
    ("mul", lambda m: m.ones(2, 3) * m.ones(3, 2), "must match the size", None),
    ("sub", lambda m: m.ones(2, 3) - m.ones(4), "must match the size", None),
    ("div", lambda m: m.ones(5, 1, 3) / m.ones(2, 4), "must match the size", None),
    ("rsub", lambda m: m.ones(4) - m.ones(2, 3), "must match the size", None),
    ("add-requires-grad",
     lambda m: m.ones(2, 3, requires_grad=True) + m.ones(4, requires_grad=True),
     "must match the size", None),
    # matmul
    ("matmul-2d", lambda m: m.ones(2, 3) @ m.ones(4, 5), "cannot be multiplied", None),
    ("matmul-1d-2d", lambda m: m.ones(3) @ m.ones(4, 5), "cannot be multiplied", None),
    ("matmul-3d-2d", lambda m: m.ones(2, 2, 3) @ m.ones(4, 5), "cannot be multiplied", None),
    ("matmul-1d-1d", lambda m: m.ones(3) @ m.ones(4), "cannot be multiplied",
     "inconsistent tensor size"),
    ("matmul-2d-1d", lambda m: m.ones(2, 3) @ m.ones(4), "cannot be multiplied",
     "size mismatch"),
    ("matmul-batched", lambda m: m.ones(2, 2, 3) @ m.ones(2, 4, 5), "cannot be multiplied",
     "Expected size for first two dimensions"),
    ("matmul-batch-dims", lambda m: m.ones(2, 2, 3) @ m.ones(3, 3, 5), "must match the size",
     None),
    ("matmul-fn", lambda m: m.matmul(m.ones(2, 3), m.ones(2, 3)), "cannot be multiplied", None),
    # view / reshape
    ("view-two-inferred", lambda m: m.ones(6).view(-1, -1), "only one dimension can be inferred",
     None),
    ("reshape-two-inferred", lambda m: m.ones(2, 3).reshape(-1, 2, -1),
     "only one dimension can be inferred", None),
    ("view-wrong-size", lambda m: m.ones(6).view(4, 2), "is invalid for input of size", None),
    ("view-tuple-wrong-size", lambda m: m.ones(2, 3).view((7,)), "is invalid for input of size",
     None),
    ("reshape-inferred-not-divisible", lambda m: m.ones(6).reshape(4, -1),
     "is invalid for input of size", None),
    ("view-zero-and-inferred", lambda m: m.ones(6).view(0, -1), "is invalid for input of size",
     None),
    # indexing
    ("index-int", lambda m: m.ones(4)[4], "out of bounds", None),
    ("index-negative", lambda m: m.ones(4)[-5], "out of bounds", None),
    ("index-second-dim", lambda m: m.ones(2, 3)[1, 3], "out of bounds", None),
    ("index-int-tensor", lambda m: m.ones(4)[m.tensor([0, 5])], "out of bounds", None),
    ("index-int-array", lambda m: m.ones(4, 2)[np.array([[0, 1], [4, 0]])], "out of bounds",
     None),
    ("index-list", lambda m: m.ones(4)[[0, 5]], "out of bounds", None),
    ("index-list-negative", lambda m: m.ones(4)[[0, -5]], "out of bounds", None),
    ("index-range-rows", lambda m: m.ones(3, 4)[range(3), m.tensor([0, 4, 1])],
     "out of bounds", None),
    ("index-float", lambda m: m.ones(4)[1.0], "only integers, slices", None),
    ("index-float-tensor", lambda m: m.ones(4)[m.tensor([1.0])], "tensors used as indices", None),
    ("index-0d", lambda m: m.tensor(2.0)[0], "invalid index of a 0-dim tensor", None),
    ("index-0d-slice", lambda m: m.tensor(2.0)[:], "cannot be applied to a 0-dim tensor",
     None),
    # dim out of range
    ("sum-dim", lambda m: m.ones(2, 3).sum(2), "Dimension out of range", None),
    ("sum-dim-negative", lambda m: m.ones(2, 3).sum(-3), "Dimension out of range", None),
    ("sum-dim-tuple", lambda m: m.ones(2, 3).sum((0, 2)), "Dimension out of range", None),
    ("max-dim", lambda m: m.ones(2, 3).max(2), "Dimension out of range", None),
    ("max-dim-negative", lambda m: m.ones(2, 3).max(-3, keepdim=True), "Dimension out of range",
     None),
    ("mean-dim", lambda m: m.ones(2, 3).mean(5), "Dimension out of range", None),
    ("sum-dim-0d", lambda m: m.tensor(2.0).sum(1), "Dimension out of range", None),
    ("max-dim-0d", lambda m: m.tensor(2.0).max(-2), "Dimension out of range", None),
    ("sum-dim-repeated", lambda m: m.ones(2, 3).sum((0, -2)), "appears multiple times", None),
    ("softmax-dim", lambda m: m.ones(2, 3).softmax(2), "Dimension out of range", None),
    ("softmax-fn-dim", lambda m: m.softmax(m.ones(2, 3), -3), "Dimension out of range", None),
    ("log-softmax-dim", lambda m: m.ones(2, 3).log_softmax(2), "Dimension out of range", None),
    # backward
    ("backward-non-scalar", lambda m: (m.ones(2, requires_grad=True) * 2).backward(),
     "scalar outputs", None),
    ("backward-gradient-shape",
     lambda m: (m.ones(2, requires_grad=True) * 2).backward(m.ones(3)), "Mismatch in shape",
     None),
    ("backward-scalar-gradient-shape",
     lambda m: (m.ones(2, requires_grad=True) * 2).sum().backward(m.ones(1)),
     "Mismatch in shape", None),
    ("backward-no-grad", lambda m: m.ones(2).sum().backward(), "does not require grad", None),
    ("backward-under-no-grad", lambda m: _backward_under_no_grad(m), "does not require grad",
     None),
    # only floating tensors require grad
    ("requires-grad-int", lambda m: m.tensor([1, 2], requires_grad=True), "floating point",
     None),
    ("requires-grad-bool", lambda m: m.tensor([True], requires_grad=True), "floating point",
     None),
    ("requires-grad-arange", lambda m: m.arange(3, requires_grad=True), "floating point", None),
    ("requires-grad-zeros-int", lambda m: m.zeros(2, dtype=m.int64, requires_grad=True),
     "floating point", None),
    ("requires-grad-setter-int", lambda m: _set_requires_grad(m.tensor([1, 2])),
     "floating point", None),
    ("requires-grad-setter-non-leaf",
     lambda m: _set_requires_grad(m.ones(2, requires_grad=True) * 2, False),
     "only change requires_grad flags of leaf variables", None),
    ("requires-grad-setter-non-leaf-true",
     lambda m: _set_requires_grad(m.ones(2, requires_grad=True) * 2, True),
     "only change requires_grad flags of leaf variables", None),
    # data that is not numbers
    ("data-str", lambda m: m.tensor("abc"), "invalid data type", None),
    ("data-str-list", lambda m: m.tensor(["a", "b"]), "too many dimensions 'str'", None),
    ("data-object", lambda m: m.tensor(object()), "Could not infer dtype of object", None),
    ("data-object-list", lambda m: m.tensor([1.0, object()]), "Could not infer dtype of object",
     None),
    ("data-none", lambda m: m.tensor(None), "Could not infer dtype of NoneType", None),
    ("data-none-in-list", lambda m: m.tensor([[1, 2], [None, 4]]), "Could not infer dtype",
     None),
    ("data-object-array", lambda m: m.tensor(np.array([object()])), "can't convert np.ndarray",
     None),
    ("data-str-array", lambda m: m.tensor(np.array(["a", "b"])), "can't convert np.ndarray",
     None),
    ("data-ragged", lambda m: m.tensor([[1, 2], [3]]), "expected sequence of", None),
    ("data-ragged-float", lambda m: m.tensor([[1.0], [2.0, 3.0]]), "expected sequence of",
     None),
    ("data-ragged-deep", lambda m: m.tensor([[[1, 2]], [[3]]]), "expected sequence of", None),
    # conversions and other refusals
    ("numpy-requires-grad", lambda m: m.ones(2, requires_grad=True).numpy(),
     "Can't call numpy() on Tensor that requires grad", None),
    ("item-many", lambda m: m.ones(2).item(), "cannot be converted to Scalar", None),
    ("mean-int", lambda m: m.tensor([1, 2]).mean(), "could not infer output dtype", None),
    ("int-negative-power", lambda m: m.tensor([1, 2]) ** -1,
     "Integers to negative integer powers are not allowed", None),
    ("inplace-on-leaf-requiring-grad", lambda m: _setitem(m.ones(3, requires_grad=True), 0, 5.0),
     "a leaf Variable that requires grad is being used in an in-place operation", None),
    # making tensors: sizes, ranges and random draws (issue 16's sweep of creation and nn)
    ("zeros-negative", lambda m: m.zeros(-1), "Dimension size must be non-negative", None),
    ("zeros-tuple-negative", lambda m: m.zeros((2, -1)), "Dimension size must be non-negative",
     None),
    ("ones-negative", lambda m: m.ones(2, -3), "negative dimension -3", None),
    ("randn-negative", lambda m: m.randn(-1), "negative dimension -1", None),
    ("rand-negative", lambda m: m.rand(4, -2), "negative dimension -2", None),
    ("zeros-float-size", lambda m: m.zeros(2.5), "must be tuple of ints", None),
    ("full-negative", lambda m: m.full((-1,), 1.0), "negative dimension -1", None),
    ("full-float-size", lambda m: m.full((2.5,), 1.0), "must be tuple of ints", None),
    ("empty-negative", lambda m: m.empty(2, -4), "negative dimension -4", None),
    ("randn-bool-size", lambda m: m.randn(True), "must be tuple of ints", None),
    ("ones-float-in-size", lambda m: m.ones(2, 2.0), "tuple of ints", None),
    ("randn-int-dtype", lambda m: m.randn(2, dtype=m.int64), "not implemented for", None),
    ("rand-int-dtype", lambda m: m.rand(2, dtype=m.int64), "not implemented for", None),
    ("arange-step-0", lambda m: m.arange(0, 5, 0), "step must be nonzero", None),
    ("arange-wrong-sign", lambda m: m.arange(5, 0, 1),
     "upper bound and lower bound inconsistent with step sign", None),
    ("arange-nan", lambda m: m.arange(0, float("nan")), "unsupported range", None),
    ("arange-inf", lambda m: m.arange(0, float("inf")), "unsupported range", None),
    ("randint-empty-range", lambda m: m.randint(0, 0, (3,)),
     "expects 'from' to be less than 'to'", None),
    ("randint-reversed", lambda m: m.randint(5, 2, (3,)), "expects 'from' to be less than 'to'",
     None),
    ("randint-negative-size", lambda m: m.randint(0, 2, (-1,)), "negative dimension", None),
    ("multinomial-nan", lambda m: m.multinomial(m.tensor([0.5, float("nan")]), 1),
     "probability tensor contains either `inf`, `nan` or element < 0", None),
    ("multinomial-inf", lambda m: m.multinomial(m.tensor([0.5, float("inf")]), 1),
     "probability tensor contains either `inf`, `nan` or element < 0", None),
    ("multinomial-negative", lambda m: m.multinomial(m.tensor([0.5, -1.0]), 1),
     "probability tensor contains either `inf`, `nan` or element < 0", None),
    ("multinomial-all-zero", lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1),
     "sum of probabilities <= 0", None),
    ("multinomial-too-many", lambda m: m.multinomial(m.tensor([0.5, 0.5]), 3),
     "samples without replacement", None),
    ("multinomial-zero-samples", lambda m: m.multinomial(m.tensor([0.5, 0.5]), 0),
     "cannot sample n_sample <= 0 samples", None),
    ("multinomial-int", lambda m: m.multinomial(m.tensor([1, 2]), 1),
     "only supports floating-point dtypes", None),
    ("multinomial-3d", lambda m: m.multinomial(m.ones(2, 2, 2), 1), "must be 1 or 2 dim", None),
    ("linear-negative-out", lambda m: m.nn.Linear(30, -3), "negative dimension -3", None),
    ("linear-negative-in", lambda m: m.nn.Linear(-30, 3), "negative dimension -30", None),
    ("linear-float-size", lambda m: m.nn.Linear(2.5, 3), "tuple of ints", None),
    ("embedding-negative", lambda m: m.nn.Embedding(-1, 3), "negative dimension -1", None),
    ("embedding-negative-dim", lambda m: m.nn.Embedding(3, -1), "negative dimension -1", None),
    ("embedding-float-size", lambda m: m.nn.Embedding(2.5, 3), "tuple of ints", None),
    ("batchnorm-negative", lambda m: m.nn.BatchNorm1d(-1), "negative dimension -1", None),
    ("batchnorm-negative-no-affine", lambda m: m.nn.BatchNorm1d(-1, affine=False),
     "Dimension size must be non-negative", None),
    ("batchnorm-float-size", lambda m: m.nn.BatchNorm1d(2.5), "tuple of ints", None),
]


def _backward_under_no_grad(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.no_grad():
        y = (x * 2).sum()
    y.backward()


@pytest.mark.parametrize("call, phrase, torch_phrase", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_raises_like_torch(call, phrase, torch_phrase):
    with pytest.raises(Exception) as t_err:
        call(torch)
    with pytest.raises(Exception) as m_err:
        call(minigrad)
    assert type(m_err.value) is type(t_err.value), (m_err.value, t_err.value)
    assert (torch_phrase or phrase) in str(t_err.value)  # the phrase is torch's own
    assert phrase in str(m_err.value), str(m_err.value)


def test_every_key_phrase_of_the_design_is_covered():
    phrases = ["scalar outputs", "must match the size", "cannot be multiplied",
               "is invalid for input of size", "out of bounds",
               "only one dimension can be inferred", "floating point", "does not require grad",
               "Mismatch in shape", "Dimension out of range"]
    covered = {c[2] for c in CASES}
    assert set(phrases) <= covered


# ---- nothing left half-updated -------------------------------------------------------------

def _graph(lib, arrays):
    """Leaves, a few intermediates and a scalar loss; every node that requires grad."""
    x, w = (lib.tensor(a, requires_grad=True) if lib is minigrad else
            as_torch(a, requires_grad=True) for a in arrays)
    h = (x @ w).tanh()
    out = h * 3
    loss = out.sum()
    nodes = {"x": x, "w": w, "h": h, "out": out, "loss": loss}
    for node in (h, out, loss):
        node.retain_grad()
    return nodes


def _grads(nodes):
    """A copy of every node's grad as a numpy array (torch's grads are tensors)."""
    return {k: None if v.grad is None else np.array(
        v.grad.numpy() if isinstance(v.grad, torch.Tensor) else v.grad)
        for k, v in nodes.items()}


@pytest.mark.parametrize("bad", ["wrong-shape", "non-scalar"])
def test_a_failed_backward_leaves_every_grad_unchanged(bad):
    rng = np.random.default_rng(0)
    arrays = (rng.standard_normal((3, 4)), rng.standard_normal((4, 2)))
    for lib in (minigrad, torch):
        nodes = _graph(lib, arrays)
        nodes["loss"].backward(retain_graph=True)  # a first, good backward fills the grads
        before = _grads(nodes)
        with pytest.raises((RuntimeError, ValueError, TypeError)):
            if bad == "wrong-shape":
                nodes["out"].backward(lib.ones(2, 3))
            else:
                nodes["out"].backward()
        after = _grads(nodes)
        for name in before:
            np.testing.assert_array_equal(after[name], before[name], err_msg=f"{lib}: {name}")


def test_a_backward_that_raises_half_way_writes_no_grad():
    # With numpy set to raise on floating point errors, log's backward (dy / x) raises at
    # x = 0 only after the root, the sum and the mul have been visited: no .grad may change.
    x = minigrad.tensor([0.0, 1.0, 2.0], dtype=minigrad.float64, requires_grad=True)
    w = minigrad.tensor([1.0, 2.0, 3.0], dtype=minigrad.float64, requires_grad=True)
    with np.errstate(divide="ignore"):  # log(0) = -inf, quietly
        loss = (x.log() * w).sum() + (w * w).sum()
    nodes = minigrad.autograd.toposort(loss)
    for state in ("fresh", "filled"):
        if state == "filled":
            with np.errstate(divide="ignore"):  # 1 / 0 = inf, quietly
                loss.backward()
        before = [None if n.grad is None else n.grad.numpy().copy() for n in nodes]
        with np.errstate(all="raise"), pytest.raises(FloatingPointError):
            loss.backward()
        for node, grad in zip(nodes, before):
            if grad is None:
                assert node.grad is None
            else:
                np.testing.assert_array_equal(node.grad, grad)


FAILING_OPS = {
    "add": lambda x, y: x + y, "mul": lambda x, y: x * y, "sub": lambda x, y: y - x,
    "div": lambda x, y: x / y, "matmul": lambda x, y: x @ x, "matmul-1d": lambda x, y: y @ x,
    "view": lambda x, y: x.view(4, 2), "view-inferred": lambda x, y: x.view(-1, -1),
    "index": lambda x, y: x[2], "index-list": lambda x, y: x[[0, 5]],
    "index-float": lambda x, y: y[1.5], "sum": lambda x, y: x.sum(2),
    "max": lambda x, y: x.max(2), "mean": lambda x, y: x.mean(-3),
    "softmax": lambda x, y: x.softmax(2), "log-softmax": lambda x, y: x.log_softmax(-3),
}


def test_a_failed_op_records_nothing():
    # Each failing op leaves its inputs as they were (data, grad, leaf), and a good graph
    # built from them afterwards still matches torch.
    rng = np.random.default_rng(0)
    arrays = rng.standard_normal((2, 3)), rng.standard_normal(4)
    m_in = [minigrad.tensor(a, requires_grad=True) for a in arrays]
    t_in = [as_torch(a, requires_grad=True) for a in arrays]
    for name, fn in FAILING_OPS.items():
        with pytest.raises(Exception) as t_err:
            fn(*t_in)
        with pytest.raises(Exception) as m_err:
            fn(*m_in)
        assert type(m_err.value) is type(t_err.value), name
        for m, a in zip(m_in, arrays):
            np.testing.assert_array_equal(m.data, a, err_msg=name)
            assert m.grad is None and m.is_leaf and m.requires_grad, name
    for x, y in (m_in, t_in):
        (x.tanh() @ y[:3] * y[3]).sum().backward()
    for m, t in zip(m_in, t_in):
        assert_match(m.grad, t.grad, "grad after the failed ops")


def test_inplace_refused_on_a_leaf_that_requires_grad_changes_nothing():
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        x[0] = 5.0
    assert_equal(x.data, torch.tensor([1.0, 2.0, 3.0]), "data")
