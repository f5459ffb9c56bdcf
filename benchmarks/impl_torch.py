"""torch eager on the CPU: the seed's step as the lecture runs it, and the gradient oracle.

The forward pass is `seed_graph.forward` with `lib=torch`; the step then zeroes the
gradients (`p.grad = None`), calls `loss.backward()` and updates `p.data -= lr * p.grad`,
which is what minigrad's step does with the same source. Thread count is set by the caller
(`torch.set_num_threads(1)` for the one-thread row, torch's default for the other).
"""

import numpy as np
import torch

from .common import PARAM_NAMES
from .seed_graph import forward


class Trainer:
    """One makemore training step in torch eager, on float32 leaf tensors."""

    def __init__(self, params, lr, threads=None):
        if threads is not None:
            torch.set_num_threads(threads)
        self.lr = lr
        # Copies: the caller's numpy arrays stay untouched for the other implementations.
        self.params = {k: torch.from_numpy(params[k].copy()) for k in PARAM_NAMES}
        for p in self.params.values():
            p.requires_grad = True
        self._plist = list(self.params.values())

    def prepare(self, Xb, Yb):
        """numpy int64 batch -> torch int64 tensors (done outside the timed loop)."""
        return torch.from_numpy(Xb), torch.from_numpy(Yb)

    def _forward_backward(self, batch):
        loss = forward(torch, self.params, *batch)
        for p in self._plist:
            p.grad = None
        loss.backward()
        return loss

    def step(self, batch):
        """Forward, backward, SGD. Returns the loss tensor (no .item(): it is not timed)."""
        loss = self._forward_backward(batch)
        lr = self.lr
        for p in self._plist:
            p.data -= lr * p.grad
        return loss

    def grads(self, batch):
        """(loss, {name: gradient as numpy}) without updating, for the gradient check."""
        loss = self._forward_backward(batch)
        return float(loss.item()), {k: p.grad.numpy().copy() for k, p in self.params.items()}

    def param_arrays(self):
        return {k: p.detach().numpy() for k, p in self.params.items()}


def loss_value(loss):
    return float(loss.item())


def versions():
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "numpy": np.__version__}
