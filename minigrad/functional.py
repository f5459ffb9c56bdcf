"""torch.nn.functional's names: softmax, log_softmax, one_hot, relu, tanh, sigmoid and the
cross-entropy loss. This module is also `minigrad.nn.functional`, so the lectures'
`import torch.nn.functional as F` becomes `import minigrad.nn.functional as F`.

Everything here is a composition of the engine's primitives (tensor.py, ops.py), except the
fused cross-entropy, a primitive of its own that lives here with its layer (`CrossEntropy`,
registered in ops.PRIMITIVES), with the (softmax - onehot)/n backward.
Differences from torch: `cross_entropy` takes (N, C) or (C,) logits and integer class targets
only: no class weights, no ignore_index, no label smoothing, no class
probabilities; `softmax` and `log_softmax` want `dim` (torch guesses one, with a warning).
"""

import numpy as np

from . import both
from .convert import int64
from .ops import Op, primitive
from .tensor import Tensor, apply


def softmax(input, dim, dtype=None):  # noqa: A002  (torch's argument names)
    """exp(x) / sum(exp(x)) along dim (Tensor.softmax: shifted by the max, never overflows)."""
    return (input if dtype is None else input.to(dtype)).softmax(dim)


def log_softmax(input, dim, dtype=None):  # noqa: A002
    """x - log(sum(exp(x))) along dim (Tensor.log_softmax)."""
    return (input if dtype is None else input.to(dtype)).log_softmax(dim)


def relu(input):  # noqa: A002
    return input.relu()


def tanh(input):  # noqa: A002
    return input.tanh()


def sigmoid(input):  # noqa: A002
    return input.sigmoid()


def one_hot(tensor, num_classes=-1):
    """(..., num_classes) int64 tensor with a 1 at each index of `tensor` (an int64 tensor of
    class indices); num_classes=-1 means one more than the largest index. No gradient."""
    t = tensor.numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    if t.dtype != int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    if t.size and t.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if t.size and t.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    # row k of the identity is the one-hot vector of class k
    return Tensor(np.eye(num_classes, dtype=int64)[t])


def _class_targets(target, logits):
    """The targets as an int64 array (n,), checked the way torch checks them."""
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {t.dtype} "
                           "(minigrad's cross_entropy takes class indices only)")
    if logits.ndim == 2:  # (N, C) logits want N targets
        n, n_target = logits.shape[0], t.shape[0] if t.ndim else 1
        ok = t.ndim == 1 and n_target == n
    else:  # (C,) logits want one target
        n, n_target = 1, t.size
        ok = t.ndim <= 1 and n_target == 1
    if not ok:
        raise ValueError(f"Expected input batch_size ({n}) to match target batch_size "
                         f"({n_target}).")
    t = t.reshape(n).astype(int64)  # a copy: later edits of the caller's array change nothing
    bad = t[(t < 0) | (t >= logits.shape[-1])]
    if bad.size:
        raise IndexError(f"Target {bad[0]} is out of bounds.")
    return Tensor(t)


def cross_entropy(input, target, reduction="mean", fused=True):
    """-log softmax(input)[target], averaged over the batch (torch's F.cross_entropy).

    input: (N, C) logits (or (C,) for one example); target: N integer class indices, as a
    minigrad int Tensor, a numpy array or a list. reduction: 'mean', 'sum' or 'none'.

    fused=True (default) is one node, the `cross_entropy` primitive, whose backward is
    (softmax - onehot) / N. fused=False is the lecture's step-by-step version, one node per
    step, each labelled with the seed's name (stepwise_cross_entropy). The fused one is
    stable for logits of any size; the step-by-step one is as stable as the lecture's.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"cross_entropy(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if input.ndim not in (1, 2):
        raise ValueError(f"minigrad's cross_entropy takes (N, C) or (C,) logits, got shape "
                         f"{tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"cross_entropy: expected floating point logits, got {input.dtype}")
    target = _class_targets(target, input)
    logits = input if input.ndim == 2 else input.reshape(1, input.shape[0])  # (C,) -> (1, C)
    if fused:
        loss = apply(CrossEntropy(reduction), logits, target)
    else:
        loss = stepwise_cross_entropy(logits, target, reduction)
    return loss.reshape(()) if reduction == "none" and input.ndim == 1 else loss


def stepwise_cross_entropy(logits, target, reduction="mean", steps=None):
    """The lecture's cross-entropy, one primitive at a time, each step labelled with the
    seed's name (the one formula: nn's fused=False, models.lecture and makemore use it).

    Written with methods and operators only, so it runs on torch tensors as it is. As the
    lecture's, it takes log(probs): where a probability underflows (a logit more than about
    88 below the row's max in float32, 745 in float64) its log is -inf, as torch's is for the
    same steps; the fused cross_entropy has no such limit. `steps`, a dict, receives every
    step by its name (the lecture's backward pass needs them).
    """
    n = logits.shape[0]
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes  # subtract the max: exp cannot overflow
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdim=True)
    counts_sum_inv = counts_sum**-1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    picked = logprobs[range(n), target]
    loss = -picked if reduction == "none" else \
        -picked.mean() if reduction == "mean" else -picked.sum()
    named = dict(logit_maxes=logit_maxes, norm_logits=norm_logits, counts=counts,
                 counts_sum=counts_sum, counts_sum_inv=counts_sum_inv, probs=probs,
                 logprobs=logprobs, loss=loss)
    for name, t in named.items():
        t.label = name
    if steps is not None:
        steps.update(named)
    return loss


@primitive
class CrossEntropy(Op):
    """y = mean_i(log sum_j exp(x_ij) - x_i,t_i)  ->  dx = dy * (softmax(x) - onehot(t)) / n

    d(log sum_j exp x_ij)/dx_ij = exp x_ij / sum_j exp x_ij = softmax_ij, and
    d(x_i,t_i)/dx_ij = [j == t_i]; 'sum' drops the 1/n, 'none' keeps one loss per row (dy a
    column). No gradient for t. x is (n, C) logits, t int64 (n,) class indices.
    The rule reads x (torch keeps the softmax instead: a write into x is refused here).
    """
    args = ("reduction",)
    name = "cross_entropy"
    reads = ((1,), ())

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, x, target):
        # log sum exp(x) = m + log sum exp(x - m) with m = max(x): exp never overflows, and
        # the picked logit is shifted by the same m, so nll = lse(z) - z_t needs no m at all.
        z = x - x.max(axis=1, keepdims=True)
        nll = np.log(np.exp(z).sum(axis=1)) - z[np.arange(x.shape[0]), target]
        if self.reduction == "none":
            return nll
        return np.asarray(nll.mean() if self.reduction == "mean" else nll.sum(), dtype=x.dtype)

    def backward(self, grad, out, x, target):
        onehot = np.zeros(x.shape, x.dtype)  # a constant: the targets carry no gradient
        onehot[np.arange(x.shape[0]), both.data(target)] = 1
        dx = both.softmax(x, 1) - onehot  # (on Tensors: recorded, so differentiable again)
        if self.reduction == "none":
            return dx * grad[:, None], None
        return dx * (grad / x.shape[0] if self.reduction == "mean" else grad), None

    def replay(self, torch, x, target):
        return torch.nn.functional.cross_entropy(x, target, reduction=self.reduction)
