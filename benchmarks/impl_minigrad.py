"""minigrad: the seed's step with `import minigrad` in place of `import torch`.

The forward pass is the very function torch runs (`models.lecture.forward` with
`lib=minigrad`); gradients are zeroed with `p.grad = None`, `loss.backward()` fills every
`.grad`, and SGD updates the parameters in place (`p.data -= lr * p.grad`), as in torch.
Nothing here works around the engine: a failure is a finding, reported as it is.
"""

import numpy as np

import minigrad

from .seed_graph import SeedTrainer


class Trainer(SeedTrainer):
    """One makemore training step in minigrad, on float32 leaf tensors."""

    lib = minigrad
    tensor = staticmethod(minigrad.tensor)  # a copy, as the seed's torch.tensor
    numpy = staticmethod(np.array)          # a numpy copy of a Tensor (via __array__)

    def param_arrays(self):
        return {k: p.detach().numpy() for k, p in self.params.items()}


def loss_value(loss):
    return float(loss.item())


def versions():
    return {"minigrad": getattr(minigrad, "__version__", "source"), "numpy": np.__version__}
