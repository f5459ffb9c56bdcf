"""Thread-local switches: grad mode, the name scope, anomaly mode.

Each thread has its own: when one thread enters `no_grad()`, another keeps recording, as in
torch. A new thread starts with the defaults below (grad mode on, no scope, no anomaly
checks), whatever the thread that started it had switched.
"""

import contextlib
import threading


class _Modes(threading.local):
    # __init__ runs once in every thread that touches `modes`: each starts with these values.
    def __init__(self):
        self.grad_enabled = True   # whether new results record their op and parents
        self.scope = None          # the name path new nodes are tagged with ("model/batchnorm")
        self.anomaly = False       # check every forward value and backward gradient for NaN/inf


modes = _Modes()
# The per-op hot path reads all three at once: `modes.__dict__` is this thread's dict, one
# thread-local lookup instead of three (tensor.apply).


def is_grad_enabled():
    return modes.grad_enabled


class set_grad_enabled:
    """Switch grad mode on or off: as a call (`set_grad_enabled(False)`), for the rest of this
    thread, or as a context manager, until the block ends. As torch.set_grad_enabled."""

    __slots__ = ("previous",)

    def __init__(self, mode=True):
        self.previous = modes.grad_enabled
        modes.grad_enabled = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        modes.grad_enabled = self.previous


class _GradMode:
    """A context manager (and decorator) that sets grad mode inside and restores it after."""

    __slots__ = ("previous",)
    mode = True

    def __enter__(self):
        self.previous = modes.grad_enabled
        modes.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        modes.grad_enabled = self.previous

    def __call__(self, fn):  # @no_grad() on a function, as torch allows
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class no_grad(_GradMode):
    """Inside this block results are recorded as plain constants (no op, no parents)."""

    __slots__ = ()
    mode = False


class enable_grad(_GradMode):
    """Inside this block results are recorded again, even within an outer no_grad()."""

    __slots__ = ()
    mode = True


class inference_mode(_GradMode):
    """torch's inference_mode, here simply no_grad (minigrad has no inference tensors);
    `inference_mode(False)` leaves grad mode as it is, as in torch."""

    __slots__ = ("mode",)

    def __init__(self, mode=True):
        self.mode = False if mode else modes.grad_enabled


@contextlib.contextmanager
def detect_anomaly():
    """Inside this block every forward result and every backward gradient is checked for
    NaN/inf; the first offender raises a RuntimeError naming its node and op."""
    previous = modes.anomaly
    modes.anomaly = True
    try:
        yield
    finally:
        modes.anomaly = previous


class scope:
    """Tag every node made inside with a name path ("model/batchnorm"); viz draws them as boxes.

    A small class rather than a generator: every nn.Module call opens one, so it is hot.
    """

    __slots__ = ("name", "previous")

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.previous = outer = modes.scope
        modes.scope = self.name if outer is None else f"{outer}/{self.name}"
        return self

    def __exit__(self, *exc):
        modes.scope = self.previous
