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


class ReplayTrainer(Trainer):
    """The same step, captured once (minigrad.capture) and replayed from then on.

    The batch goes into two input tensors with `copy_` (timed: refilling is part of a
    replayed step); the learning rate is a 0-d tensor, so that full_run's drop to 0.01
    changes a number in a buffer, not the record. The first step is the capture: it runs
    the engine once while recording its numpy calls.
    """

    def __init__(self, params, lr):
        self._lr, self._lr_value = minigrad.tensor(lr, dtype=minigrad.float32), lr
        super().__init__(params, lr)
        self._step = self._grads = None

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        if value != self._lr_value:  # a write into the buffer the replay reads
            self._lr.fill_(value)
            self._lr_value = value

    def prepare(self, Xb, Yb):
        return Xb, Yb  # numpy: step copies them into the captured input tensors

    def _inputs(self, batch):
        X, Y = batch
        if self._step is None:
            self.Xb, self.Yb = minigrad.tensor(X), minigrad.tensor(Y)
        return self.Xb, self.Yb

    def step(self, batch):
        if self._step is None:
            Xb, Yb = self._inputs(batch)
            with minigrad.capture() as self._step:
                self.loss = super().step((Xb, Yb))
            return self.loss
        self.Xb.copy_(batch[0])
        self.Yb.copy_(batch[1])
        self._step.replay()
        return self.loss

    def grads(self, batch):
        """Gradients from a replay (for the check against torch): capture forward and
        backward on the batch, then replay them on the same batch refilled."""
        Xb, Yb = minigrad.tensor(batch[0]), minigrad.tensor(batch[1])
        with minigrad.capture() as replay:
            loss = self._forward_backward((Xb, Yb))
        for p in self._plist:  # what the replay must fill in again
            p.grad.numpy()[...] = np.nan
        loss.detach().numpy()[...] = np.nan
        Xb.copy_(batch[0])
        Yb.copy_(batch[1])
        replay.replay()
        return float(loss.item()), {k: self.numpy(p.grad) for k, p in self.params.items()}
