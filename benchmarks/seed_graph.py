"""The seed's forward pass (notebook cell 156), written once for torch and minigrad.

minigrad's API is torch's, so the very same lines build the graph in either library: `lib`
is the module (`torch` or `minigrad`) and is used only for `lib.tanh`; everything else is a
method or an operator on the tensors passed in. Nothing here is fused or reordered: the
benchmark times the graph the lecture builds, node for node (about 30 nodes).
"""

from .common import EPS, PARAM_NAMES


def forward(lib, params, Xb, Yb):
    """Loss of the makemore MLP on one batch; `params` maps PARAM_NAMES to leaf tensors."""
    C, W1, b1 = params["C"], params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    bngain, bnbias = params["bngain"], params["bnbias"]
    n = Xb.shape[0]

    emb = C[Xb]                                    # (n, 3, 10)
    embcat = emb.view(emb.shape[0], -1)            # (n, 30)
    # Linear layer 1
    hprebn = embcat @ W1 + b1                      # (n, hidden)
    # BatchNorm layer, with the lecture's n - 1 (Bessel) variance
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)  # (1, hidden)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)
    # The seed wraps `epsilon = 1e-5` in no_grad, which does nothing for a Python float.
    bnvar_inv = (bnvar + EPS) ** -0.5              # 1 / sqrt(var + eps)
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    # Non-linearity
    h = lib.tanh(hpreact)
    # Linear layer 2
    logits = h @ W2 + b2                           # (n, 27)
    # Cross-entropy, step by step (the same value as F.cross_entropy(logits, Yb))
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes             # subtract the max: exp cannot overflow
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdim=True)
    counts_sum_inv = counts_sum**-1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    return loss


class SeedTrainer:
    """The seed's training step on a library with torch's API: forward, `p.grad = None`,
    `loss.backward()`, then SGD in place (`p.data -= lr * p.grad`). Subclasses say how numpy
    arrays become the library's tensors and back (impl_minigrad, impl_torch)."""

    lib = None

    def __init__(self, params, lr):
        self.lr = lr
        # Copies: the caller's numpy arrays stay untouched for the other implementations.
        self.params = {k: self.tensor(params[k].copy()) for k in PARAM_NAMES}
        for p in self.params.values():
            p.requires_grad = True
        self._plist = list(self.params.values())

    def prepare(self, Xb, Yb):
        """numpy int64 batch -> the library's int64 tensors (done outside the timed loop)."""
        return self.tensor(Xb), self.tensor(Yb)

    def _forward_backward(self, batch):
        loss = forward(self.lib, self.params, *batch)
        for p in self._plist:
            p.grad = None
        loss.backward()
        return loss

    def step(self, batch):
        """Forward, backward, SGD. Returns the loss tensor (no .item(): it is not timed)."""
        loss = self._forward_backward(batch)
        lr = self.lr
        for p in self._plist:
            p.data -= lr * p.grad  # in place; a Python float keeps float32
        return loss

    def grads(self, batch):
        """(loss, {name: gradient as a numpy copy}) without updating, for the gradient check."""
        loss = self._forward_backward(batch)
        return float(loss.item()), {k: self.numpy(p.grad) for k, p in self.params.items()}
