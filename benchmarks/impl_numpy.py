"""numpy by hand: the same training step with the backward pass written out, two ways.

- `LectureTrainer` follows the seed's cell 157 line by line: every intermediate of the
  forward pass gets its own gradient, including the lecture's literal `ones_like(x) * g`
  broadcasts and the `logits == logit_maxes` mask. It shows what a step-by-step hand-written
  backward costs in numpy, with no autograd bookkeeping at all.
- `FusedTrainer` computes the same gradients with the closed forms the lecture derives
  afterwards: cross-entropy backward `dlogits = (softmax - onehot) / n`, one batchnorm
  backward formula (for the n - 1 variance), and the embedding scatter as a single flat
  `np.bincount`. It is a floor for what any numpy engine could reach on this graph.

Both are checked against torch (check.py) before they are timed. Neither imports torch.
"""

import numpy as np

from .common import EMB, EPS, PARAM_NAMES, VOCAB

F32 = np.float32


class _Trainer:
    """Parameters as float32 numpy arrays; subclasses supply `_forward_backward`."""

    def __init__(self, params, lr):
        self.lr = lr
        self.params = {k: params[k].copy() for k in PARAM_NAMES}

    def prepare(self, Xb, Yb):
        return Xb, Yb

    def step(self, batch):
        """Forward, backward, SGD in place. Returns the loss (a numpy float32)."""
        loss, grads = self._forward_backward(*batch)
        lr = self.lr
        for k, p in self.params.items():
            p -= lr * grads[k]
        return loss

    def grads(self, batch):
        loss, grads = self._forward_backward(*batch)
        return float(loss), grads

    def param_arrays(self):
        return self.params


class LectureTrainer(_Trainer):
    """Cell 156's forward and cell 157's backward, translated from torch to numpy."""

    def _forward_backward(self, Xb, Yb):
        P = self.params
        C, W1, b1, W2, b2 = P["C"], P["W1"], P["b1"], P["W2"], P["b2"]
        bngain, bnbias = P["bngain"], P["bnbias"]
        n = Xb.shape[0]
        rows = np.arange(n)

        # ---- forward (cell 156) ----
        emb = C[Xb]                                    # (n, 3, 10)
        embcat = emb.reshape(n, -1)                    # (n, 30)
        hprebn = embcat @ W1 + b1                      # (n, hidden)
        bnmeani = 1 / n * hprebn.sum(0, keepdims=True)
        bndiff = hprebn - bnmeani
        bndiff2 = bndiff**2
        bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdims=True)
        bnvar_inv = (bnvar + EPS) ** -0.5
        bnraw = bndiff * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        h = np.tanh(hpreact)
        logits = h @ W2 + b2                           # (n, 27)
        logit_maxes = logits.max(1, keepdims=True)
        norm_logits = logits - logit_maxes
        counts = np.exp(norm_logits)
        counts_sum = counts.sum(1, keepdims=True)
        counts_sum_inv = counts_sum**-1
        probs = counts * counts_sum_inv
        logprobs = np.log(probs)
        loss = -logprobs[rows, Yb].mean()

        # ---- backward (cell 157), one intermediate at a time ----
        # loss = -mean(logprobs[i, Yb[i]]): each picked entry gets -1/n, the rest 0
        dlogprobs = np.zeros_like(logprobs)
        dlogprobs[rows, Yb] = -1.0 / n
        # logprobs = log(probs) -> 1 / probs
        dprobs = 1.0 / probs * dlogprobs
        # probs = counts * counts_sum_inv, with counts_sum_inv broadcast along dim 1
        dcounts_sum_inv = (counts * dprobs).sum(1, keepdims=True)
        dcounts = counts_sum_inv * dprobs
        # counts_sum_inv = counts_sum ** -1 -> -counts_sum ** -2
        dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
        # counts_sum = counts.sum(1): every entry of a row gets the row's gradient
        dcounts = dcounts + np.ones(counts.shape, dtype=F32) * dcounts_sum
        # counts = exp(norm_logits) -> counts
        dnorm_logits = counts * dcounts
        # norm_logits = logits - logit_maxes (broadcast along dim 1)
        dlogit_maxes = -(np.ones_like(logit_maxes) * dnorm_logits).sum(1, keepdims=True)
        dlogits = np.ones_like(logits) * dnorm_logits
        # logit_maxes = logits.max(1): the gradient goes to each row's maximal entry
        dlogits = dlogits + (logits == logit_maxes).astype(F32) * dlogit_maxes
        # logits = h @ W2 + b2
        dh = dlogits @ W2.T
        dW2 = (dlogits.T @ h).T
        db2 = dlogits.sum(0)
        # h = tanh(hpreact) -> 1 - h**2
        dhpreact = (1.0 - h**2) * dh
        # hpreact = bngain * bnraw + bnbias (gain and bias broadcast along dim 0)
        dbngain = (bnraw * dhpreact).sum(0, keepdims=True)
        dbnbias = dhpreact.sum(0, keepdims=True)
        dbnraw = bngain * dhpreact
        # bnraw = bndiff * bnvar_inv
        dbndiff = bnvar_inv * dbnraw
        dbnvar_inv = (bndiff * dbnraw).sum(0, keepdims=True)
        # bnvar_inv = (bnvar + eps) ** -0.5 -> -0.5 * bnvar_inv ** 3
        dbnvar = (-0.5 * bnvar_inv**3) * dbnvar_inv
        # bnvar = 1/(n-1) * bndiff2.sum(0)
        dbndiff2 = (1.0 / (n - 1) * np.ones_like(bndiff2)) * dbnvar
        # bndiff2 = bndiff ** 2 -> 2 * bndiff (second contribution to dbndiff)
        dbndiff += 2.0 * bndiff * dbndiff2
        # bndiff = hprebn - bnmeani
        dhprebn = dbndiff.copy()
        dbnmeani = (-1.0 * dbndiff).sum(0, keepdims=True)
        # bnmeani = 1/n * hprebn.sum(0)
        dhprebn += (1.0 / n * np.ones_like(hprebn)) * dbnmeani
        # hprebn = embcat @ W1 + b1 (b1 has shape (hidden,), so db1 drops the kept dim)
        dembcat = dhprebn @ W1.T
        dW1 = embcat.T @ dhprebn
        db1 = dhprebn.sum(0)
        # embcat = emb.view(n, -1)
        demb = dembcat.reshape(emb.shape)
        # emb = C[Xb]: scatter-add every row back to its character. The lecture loops over
        # (k, j) in Python; np.add.at is that loop in C, repeated indices accumulating.
        dC = np.zeros_like(C)
        np.add.at(dC, Xb, demb)

        grads = {"C": dC, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2,
                 "bngain": dbngain, "bnbias": dbnbias}
        return loss, grads


class FusedTrainer(_Trainer):
    """The same gradients from closed forms, with few temporaries."""

    def _forward_backward(self, Xb, Yb):
        P = self.params
        W1, W2, bngain = P["W1"], P["W2"], P["bngain"]
        n = Xb.shape[0]
        rows = np.arange(n)

        # ---- forward ----
        embcat = P["C"][Xb].reshape(n, -1)             # (n, 30)
        hprebn = embcat @ W1
        hprebn += P["b1"]
        bnraw = hprebn - hprebn.mean(0, keepdims=True)  # bndiff, normalised in place below
        bnvar = (bnraw * bnraw).sum(0, keepdims=True) * F32(1 / (n - 1))
        bnvar_inv = (bnvar + F32(EPS)) ** F32(-0.5)
        bnraw *= bnvar_inv                             # (n, hidden)
        h = bnraw * bngain
        h += P["bnbias"]
        np.tanh(h, out=h)
        logits = h @ W2
        logits += P["b2"]                              # (n, 27)
        logits -= logits.max(1, keepdims=True)
        probs = np.exp(logits, out=logits)
        probs /= probs.sum(1, keepdims=True)
        loss = -np.log(probs[rows, Yb]).mean()

        # ---- backward ----
        # Cross-entropy of a softmax: dloss/dlogits = (probs - onehot(Yb)) / n.
        dlogits = probs
        dlogits[rows, Yb] -= F32(1.0)
        dlogits *= F32(1 / n)
        dh = dlogits @ W2.T
        dW2 = h.T @ dlogits
        db2 = dlogits.sum(0)
        dhpreact = dh
        dhpreact *= F32(1.0) - h * h                   # tanh' = 1 - tanh**2
        dbngain = (bnraw * dhpreact).sum(0, keepdims=True)
        dbnbias = dhpreact.sum(0, keepdims=True)
        # BatchNorm with the n - 1 variance, all chains through mean and variance folded:
        #   dhprebn = gain * var_inv / n
        #             * (n * dhpreact - sum_i dhpreact - n/(n-1) * bnraw * sum_i dhpreact*bnraw)
        dhprebn = bnraw * (dbngain * F32(n / (n - 1)))
        np.subtract(dhpreact * F32(n), dhprebn, out=dhprebn)
        dhprebn -= dbnbias
        dhprebn *= bngain * bnvar_inv * F32(1 / n)
        dW1 = embcat.T @ dhprebn
        db1 = dhprebn.sum(0)
        dembcat = dhprebn @ W1.T                       # (n, 30)
        # Embedding backward as one histogram: entry (k, j, d) of demb lands at flat position
        # Xb[k, j] * EMB + d of dC, and bincount sums the weights that share a position.
        flat = (Xb[:, :, None] * EMB + np.arange(EMB)).ravel()
        dC = np.bincount(flat, weights=dembcat.ravel(), minlength=VOCAB * EMB)
        dC = dC.astype(F32).reshape(VOCAB, EMB)

        grads = {"C": dC, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2,
                 "bngain": dbngain, "bnbias": dbnbias}
        return loss, grads


def loss_value(loss):
    return float(loss)


def versions():
    return {"numpy": np.__version__}
