"""Optimizers with torch.optim's names, arguments and update formulas: SGD and Adam.

    opt = minigrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss.backward(); opt.step(); opt.zero_grad()

`step()` updates each parameter's memory in place (numpy arithmetic on the arrays behind
`.data` and `.grad`, outside the graph, stamped as a write) and skips parameters whose `.grad`
is None. The formulas are torch's single-tensor ones
(torch.optim.sgd._single_tensor_sgd, torch.optim.adam._single_tensor_adam), step for step, so
a run matches torch.optim to rounding. `param_groups` is a list of dicts as in torch
(`opt.param_groups[0]["lr"] = 0.01` changes the learning rate). `state_dict()` exports the
state as numpy arrays keyed by parameter position, for checkpoints.

Not here: learning-rate schedulers, AdamW, amsgrad, maximize, closures that need grad mode
tricks (a closure is simply called).
"""

from itertools import chain

import numpy as np

from .tensor import Tensor


class Optimizer:
    """Holds parameter groups and per-parameter state; subclasses define `step`."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}  # Tensor (by identity) -> {name: numpy array}
        self.param_groups = []
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for group in params if isinstance(params[0], dict) else [{"params": params}]:
            self.add_param_group(group)

    def add_param_group(self, group):
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + type(p).__name__)
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        group["params"] = params
        self.param_groups.append(group)

    def _params(self):
        return list(chain.from_iterable(g["params"] for g in self.param_groups))

    def zero_grad(self, set_to_none=True):
        for p in self._params():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def state_dict(self):
        """{"state": {position: {name: array}}, "param_groups": [{hyperparameters,
        "params": [positions]}]}: torch's layout, with numpy copies instead of tensors."""
        position = {id(p): i for i, p in enumerate(self._params())}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [position[id(p)] for p in g["params"]]} for g in self.param_groups]
        state = {position[id(p)]: {k: np.array(v, copy=True) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in position}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take hyperparameters and state from `state_dict`; all-or-nothing.

        The groups must have the sizes of this optimizer's groups (torch's check); state
        arrays must have their parameter's shape and are cast to its dtype.
        """
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(s["params"]) != len(g["params"]) for s, g in zip(saved, self.param_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        by_position = dict(zip(chain.from_iterable(s["params"] for s in saved), self._params()))
        state = {}
        for key, entry in state_dict["state"].items():
            if key not in by_position:
                continue
            p = by_position[key]
            state[p] = {}
            for name, value in entry.items():
                array = np.array(value, copy=True)
                if name != "step":
                    if array.shape != p.shape:
                        raise ValueError(f"loaded state '{name}' of parameter {key} has shape "
                                         f"{array.shape}, the parameter has {p.shape}")
                    array = array.astype(p.dtype)
                state[p][name] = array
        for group, s in zip(self.param_groups, saved):  # validated: now change things
            group.update({k: v for k, v in s.items() if k != "params"})
        self.state = state

    def step(self, closure=None):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, L2 weight decay and Nesterov.

    For each parameter p with gradient g (torch's formulas):
        g = g + weight_decay * p                       (the gradient of weight_decay/2 |p|^2)
        b = g on the first step, else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b        (when momentum != 0)
        p = p - lr * g
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                g = p._grad_array()
                if g is None:
                    continue
                if weight_decay != 0:
                    g = g + weight_decay * p._data
                if momentum != 0:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:  # torch starts the buffer at g itself, undampened
                        buf = state["momentum_buffer"] = np.array(g, copy=True)
                    else:
                        buf *= momentum
                        buf += (1 - dampening) * g
                    g = g + momentum * buf if nesterov else buf
                p._data -= lr * g  # in place: the parameter keeps its memory
                p._mark_written()
        return loss


def _lerp_(start, end, weight):
    """start += weight * (end - start) in place, in torch's two-branch form.

    The second form is exact at weight 1; torch's kernel picks it for |weight| >= 0.5.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with torch's bias correction and L2 (not decoupled) weight decay.

    For each parameter p with gradient g, at step t = 1, 2, ... (torch's formulas):
        g = g + weight_decay * p
        m = m + (1 - beta1) * (g - m)                  (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            for p in group["params"]:
                g = p._grad_array()
                if g is None:
                    continue
                state = self.state.setdefault(p, {})
                if not state:  # torch keeps the step count as a float32 scalar
                    state["step"] = np.zeros((), np.float32)
                    state["exp_avg"] = np.zeros_like(p._data)
                    state["exp_avg_sq"] = np.zeros_like(p._data)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                step = state["step"]
                step += 1  # in place: the count lives in an array, not in Python
                if weight_decay != 0:
                    g = g + weight_decay * p._data
                _lerp_(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                # The bias corrections in numpy, from the step count's array, not from a
                # Python float(step): so a captured step (graph_capture.py) recomputes them
                # at every replay, as torch's Adam(capturable=True) does on the GPU. The
                # float64 operations are the ones Python's floats would do (np.power is the
                # C library's pow, as Python's **), then cast to p's dtype, as numpy casts
                # a Python float operand: the same bits as `lr / (1 - beta1 ** t)`.
                t = step.astype(np.float64)
                step_size = lr / (1 - np.power(beta1, t))
                correction2 = np.power(1 - np.power(beta2, t), 0.5)
                denom = np.sqrt(v) / correction2.astype(v.dtype) + eps
                # torch's addcdiv: p + (value * m) / denom
                p._data += ((-step_size).astype(m.dtype) * m) / denom
                p._mark_written()
        return loss
