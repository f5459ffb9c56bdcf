"""minigrad: the seed's step with `import minigrad` in place of `import torch`.

The forward pass is the very function torch runs (`seed_graph.forward` with
`lib=minigrad`); gradients are zeroed with `p.grad = None`, `loss.backward()` fills every
`.grad` with a numpy array, and SGD updates the numpy data in place (`p.data -= lr * p.grad`).
Nothing here works around the engine: a failure is a finding, reported as it is.
"""

import numpy as np

import minigrad

from .common import PARAM_NAMES
from .seed_graph import forward


class Trainer:
    """One makemore training step in minigrad, on float32 leaf tensors."""

    def __init__(self, params, lr):
        self.lr = lr
        self.params = {k: minigrad.tensor(params[k].copy()) for k in PARAM_NAMES}
        for p in self.params.values():
            p.requires_grad = True
        self._plist = list(self.params.values())

    def prepare(self, Xb, Yb):
        """numpy int64 batch -> minigrad int64 tensors (as the seed indexes with tensors)."""
        return minigrad.tensor(Xb), minigrad.tensor(Yb)

    def _forward_backward(self, batch):
        loss = forward(minigrad, self.params, *batch)
        for p in self._plist:
            p.grad = None
        loss.backward()
        return loss

    def step(self, batch):
        """Forward, backward, SGD. Returns the loss tensor."""
        loss = self._forward_backward(batch)
        lr = self.lr
        for p in self._plist:
            p.data -= lr * p.grad  # numpy in place; a Python float keeps float32
        return loss

    def grads(self, batch):
        """(loss, {name: gradient}) without updating, for the gradient check."""
        loss = self._forward_backward(batch)
        return float(loss.item()), {k: np.array(p.grad) for k, p in self.params.items()}

    def param_arrays(self):
        return {k: p.data for k, p in self.params.items()}


def loss_value(loss):
    return float(loss.item())


def versions():
    return {"minigrad": getattr(minigrad, "__version__", "source"), "numpy": np.__version__}
