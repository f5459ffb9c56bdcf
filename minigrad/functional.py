"""torch.nn.functional's names: softmax, log_softmax, one_hot, relu, tanh, sigmoid and the
cross-entropy loss. This module is also `minigrad.nn.functional`, so the lectures'
`import torch.nn.functional as F` becomes `import minigrad.nn.functional as F`.

Everything here is a composition of the engine's primitives (tensor.py, ops.py), except the
fused cross-entropy, which is one primitive (`ops.CrossEntropy`) with the (softmax - onehot)/n
backward. Differences from torch: `cross_entropy` takes (N, C) or (C,) logits and integer
class targets only: no class weights, no ignore_index, no label smoothing, no class
probabilities; `softmax` and `log_softmax` want `dim` (torch guesses one, with a warning).
"""

import numpy as np

from . import ops
from .convert import int64
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
    step, each labelled with the seed's name; both are stable for logits of any size.
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
        loss = apply(ops.CrossEntropy(reduction), logits, target)
    else:
        loss = _stepwise_cross_entropy(logits, target, reduction)
    return loss.reshape(()) if reduction == "none" and input.ndim == 1 else loss


def _stepwise_cross_entropy(logits, target, reduction):
    """The seed's cross-entropy, one primitive at a time.

    One change from the seed: logprobs = norm_logits - log(counts_sum) instead of
    log(counts * counts_sum**-1). The two are equal, but at logits of +-1000 a count
    underflows to 0 and log(0) = -inf, while this form never takes the log of a tiny number.
    """
    n = logits.shape[0]
    logit_maxes = logits.max(1, keepdim=True).values  # its gradient is 0 up to rounding
    norm_logits = logits - logit_maxes  # softmax is shift-invariant; exp(<= 0) cannot overflow
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdim=True)  # >= 1: the max's own count is exp(0)
    logprobs = norm_logits - counts_sum.log()
    for t, name in ((logit_maxes, "logit_maxes"), (norm_logits, "norm_logits"),
                    (counts, "counts"), (counts_sum, "counts_sum"), (logprobs, "logprobs")):
        t.label = name
    nll = -logprobs[range(n), target]  # (n,)
    if reduction == "none":
        return nll
    return nll.mean() if reduction == "mean" else nll.sum()
