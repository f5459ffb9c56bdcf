"""The training diagnostics of the makemore part 3 lecture, as functions a notebook calls.

    import viz.diagnostics as diag
    loss.backward(); optimizer.step()
    diag.tanh_layers(loss)                # [(name, output tensor)] of every tanh in the graph
    diag.saturation(h)                    # % of |h| > 0.97: units whose gradient is nearly gone
    diag.grad_data_ratio(W1)              # std(grad) / std(data)
    diag.update_data_ratio(W1, lr=0.1)    # log10(std(lr * grad) / std(data)), ~ -3 is healthy
    rec = diag.Recorder(model.parameters())
    rec.record(loss, lr)                  # each step, after the update (as the lecture)
    rec.write_pngs("out")                 # the five pictures; or rec.plot_* for one figure each

The numbers are the lecture's: std is torch's (unbiased, n - 1), saturation counts |t| > 0.97,
histograms have torch.histogram's 100 bins with density=True. They are computed in float64
from the tensors' values. The tanh layers are found in the recorded graph (every tensor an op
`tanh` made), so any model works without keeping `layer.out` or adding hooks; their
gradients are the `.grad` that backward gives every tensor in the graph.

Drawing needs matplotlib (the `plot` extra); the numbers do not. Without matplotlib the
plotting functions raise an ImportError that says how to install it.
"""

import math
import os

import numpy as np

from minigrad.autograd import toposort

SATURATED = 0.97  # the lecture's threshold: tanh'(x) = 1 - t**2 < 0.06 beyond it
BINS = 100  # torch.histogram's default
PLOT_HINT = ("the diagnostics plots need matplotlib: pip install matplotlib "
             "(or the project's `plot` extra: pip install -e '.[plot]')")


def _array(x):
    """The values of a Tensor, an array or a number, as a float64 numpy array."""
    if hasattr(x, "detach") and not isinstance(x, np.ndarray):
        x = x.detach().numpy()
    return np.asarray(x, dtype=np.float64)


def _values(x):
    """A Tensor's values as they are (no float64 copy): for the per-step ratios."""
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _std(a):
    """torch's unbiased std, sqrt(sum((a - mean)**2) / (n - 1)), in float64.

    Written out rather than np.std, which costs about 25 us a call on these small arrays:
    the per-step ratios take 14 of them, a third of a 32 x 200 training step.
    """
    if a.size < 2:
        return math.nan
    d = a.astype(np.float64).ravel()
    d -= d.sum() / d.size
    return math.sqrt(d.dot(d) / (d.size - 1))


def _grad(t):
    if t.grad is None:
        raise RuntimeError(f"{_name(t)} has no grad: run loss.backward() first")
    return _array(t.grad)


def _name(t, fallback="tensor"):
    if t.label is not None:
        return str(t.label)
    scope = getattr(t, "scope", None)
    return f"{scope}/{fallback}" if scope else fallback


def tanh_layers(loss):
    """[(name, tensor)] of every tanh output recorded under `loss`, first layer first."""
    found = [t for t in toposort(loss) if t.op is not None and t.op.name == "tanh"]
    return [(_name(t, f"tanh{i}"), t) for i, t in enumerate(found)]


def saturation(t, threshold=SATURATED):
    """Percent of the values with |t| > threshold (the lecture's `saturated` number)."""
    a = _array(t)
    return float(np.count_nonzero(np.abs(a) > threshold)) / a.size * 100


def activation_stats(t):
    """mean, std (unbiased) and saturation % of one layer's activations, as in the lecture."""
    a = _array(t)
    return {"mean": float(a.mean()), "std": _std(a), "saturated": saturation(a)}


def grad_stats(t):
    """mean and std (unbiased) of a tensor's gradient."""
    g = _grad(t)
    return {"mean": float(g.mean()), "std": _std(g)}


def grad_data_ratio(p):
    """std(p.grad) / std(p): how big the gradient is next to the values it will change."""
    return _std(_grad(p)) / _std(_array(p))


def update_data_ratio(p, lr):
    """log10(std(lr * p.grad) / std(p)): the size of one SGD update next to the values.

    The lecture's rule of thumb: about -3 (an update changes the values by a thousandth).
    Call it after the update, as the lecture does (p then holds the updated values).
    """
    return math.log10(_std(lr * _grad(p)) / _std(_array(p)))


def histogram(t, bins=BINS):
    """(centres, density) of t's values, as torch.histogram(t, density=True) draws them."""
    density, edges = np.histogram(_array(t), bins=bins, density=True)
    return (edges[:-1] + edges[1:]) / 2, density


class Recorder:
    """Ratios over time for each parameter, and the last step's layers and gradients.

    `record(loss, lr)` after every optimizer step appends each parameter's grad:data ratio
    and log10 update:data ratio, and keeps the tanh layers' activations and gradients and
    the weights' gradients of that step (copies: the next step may overwrite them).
    The ratios cost about 0.15 ms a step for makemore's 7 parameters (a 32 x 200 step takes
    about 1.2 ms); the snapshot is the costly part, so makemore takes it at the last step only.
    """

    def __init__(self, parameters):
        self.parameters = list(parameters)
        self.names = [_name(p, f"param{i}") for i, p in enumerate(self.parameters)]
        self.grad_data = []     # one list per step: grad:data ratio of every parameter
        self.update_data = []   # one list per step: log10 update:data ratio
        self.layers = []        # [(name, activations, gradient)] of the last recorded step
        self.weights = []       # [(name, shape, gradient, grad:data)] of the 2-d parameters

    def record(self, loss, lr, snapshot=True):
        grad_data, update_data = [], []
        for p in self.parameters:
            # std(lr * g) = |lr| std(g): one std of the gradient serves both ratios
            ratio = _std(_values(p.grad)) / _std(_values(p))
            grad_data.append(ratio)
            update_data.append(math.log10(abs(lr) * ratio))
        self.grad_data.append(grad_data)
        self.update_data.append(update_data)
        if snapshot:
            self.snapshot(loss)

    def snapshot(self, loss):
        self.layers = [(name, _array(t), _grad(t)) for name, t in tanh_layers(loss)]
        self.weights = [(name, tuple(p.shape), _grad(p), grad_data_ratio(p))
                        for name, p in zip(self.names, self.parameters) if p.ndim == 2]

    def summary(self):
        """The lecture's printouts: one line per tanh layer and per weight."""
        lines = []
        for name, a, g in self.layers:
            s = activation_stats(a)
            lines.append(f"layer {name:>8}: mean {s['mean']:+.2f}, std {s['std']:.2f}, "
                         f"saturated: {s['saturated']:.2f}%; grad mean {g.mean():+f}, "
                         f"std {_std(g):e}")
        for name, shape, g, ratio in self.weights:
            lines.append(f"weight {name:>4} {str(shape):>10} | mean {g.mean():+f} | "
                         f"std {_std(g):e} | grad:data ratio {ratio:e}")
        return "\n".join(lines)

    # -- pictures (matplotlib) --------------------------------------------------------------

    def plot_activations(self):
        return _histograms([(f"{n} (saturated {saturation(a):.2f}%)", a)
                            for n, a, _ in self.layers],
                           "activation distribution (tanh layers)")

    def plot_activation_grads(self):
        return _histograms([(f"{n} (std {_std(g):.2e})", g) for n, _, g in self.layers],
                           "gradient distribution (tanh layers)")

    def plot_weight_grads(self):
        return _histograms([(f"{n} {shape} (grad:data {r:.2e})", g)
                            for n, shape, g, r in self.weights],
                           "weights gradient distribution")

    def plot_grad_data(self):
        return self._over_time(self.grad_data, "grad:data ratio std(grad) / std(data)",
                               log=True)

    def plot_update_data(self):
        return self._over_time(self.update_data, "log10 update:data ratio "
                               "std(lr * grad) / std(data)", guide=-3)

    def _over_time(self, history, title, log=False, guide=None):
        fig, ax = figure()
        values = np.array(history, dtype=np.float64).reshape(len(history), -1)
        for i, (name, p) in enumerate(zip(self.names, self.parameters)):
            if p.ndim == 2:  # the weights, as the lecture plots
                ax.plot(np.arange(1, len(values) + 1), values[:, i], label=name, lw=0.8)
        if guide is not None:
            ax.axhline(guide, color="k", lw=1, label="1e-3 (rule of thumb)")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        return fig

    def write_pngs(self, directory, dpi=90):
        """The five pictures as PNGs in `directory`; returns their paths."""
        figure()  # matplotlib's ImportError before any folder is made
        os.makedirs(directory, exist_ok=True)
        paths = []
        for name, make in (("activations", self.plot_activations),
                           ("activation_grads", self.plot_activation_grads),
                           ("weight_grads", self.plot_weight_grads),
                           ("grad_data_ratio", self.plot_grad_data),
                           ("update_data_ratio", self.plot_update_data)):
            fig = make()
            path = os.path.join(directory, f"diagnostics_{name}.png")
            fig.savefig(path, dpi=dpi)
            paths.append(path)
        return paths


def figure(figsize=(8, 3.5)):
    """A matplotlib Figure with one Axes, made without pyplot: no backend to choose, nothing
    kept open; a notebook shows it when it is a cell's value. An ImportError says how to
    install matplotlib when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(PLOT_HINT) from None
    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _histograms(series, title):
    """One line per (label, values): the histogram's density over its bin centres."""
    fig, ax = figure()
    for label, values in series:
        x, y = histogram(values)
        ax.plot(x, y, label=label, lw=1)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
