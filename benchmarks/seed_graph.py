"""The seed's training step on a library with torch's API (torch or minigrad).

The forward pass is models.lecture.forward, the lecture's graph written once: the same
lines run on torch and on minigrad. Nothing is fused or reordered: the benchmark times the
graph the lecture builds, node for node (about 30 nodes).
"""

from models.lecture import forward

from .common import PARAM_NAMES


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
        loss = forward(self.lib, self.params, *batch)["loss"]
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
