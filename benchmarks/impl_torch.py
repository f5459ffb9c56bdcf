"""torch eager on the CPU: the seed's step as the lecture runs it, and the gradient oracle.

The forward pass is `seed_graph.forward` with `lib=torch`; the step then zeroes the
gradients (`p.grad = None`), calls `loss.backward()` and updates `p.data -= lr * p.grad`,
which is what minigrad's step does with the same source. Thread count is set by the caller
(`torch.set_num_threads(1)` for the one-thread row, torch's default for the other).
"""

import numpy as np
import torch

from .seed_graph import SeedTrainer


class Trainer(SeedTrainer):
    """One makemore training step in torch eager, on float32 leaf tensors."""

    lib = torch
    tensor = staticmethod(torch.from_numpy)

    def __init__(self, params, lr, threads=None):
        if threads is not None:
            torch.set_num_threads(threads)
        super().__init__(params, lr)

    @staticmethod
    def numpy(grad):
        return grad.numpy().copy()

    def param_arrays(self):
        return {k: p.detach().numpy() for k, p in self.params.items()}


def loss_value(loss):
    return float(loss.item())


def versions():
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "numpy": np.__version__}
