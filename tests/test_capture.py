"""minigrad.capture: a replayed step is the eager step, bit for bit, and what cannot be
replayed is refused.

The reference is eager minigrad itself (checked against torch everywhere else): the same
model, the same batches, the same number of steps; the parameters (and the optimizer's
state) must be equal to the last bit, not close. No timings here: speed is benchmarks/.
"""

import sys

import numpy as np
import pytest

import minigrad
from minigrad import graph_capture, nn, optim
from models.makemore import MLP

STEPS = 1000
BATCH, HIDDEN = 32, 64


@pytest.fixture
def default_dtype():
    before = minigrad.get_default_dtype()
    yield minigrad.set_default_dtype
    minigrad.set_default_dtype(before)


def batches(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 27, (n, BATCH, 3)), rng.integers(0, 27, (n, BATCH)))


def make(fused_ce, optimizer):
    model = MLP(27, hidden=HIDDEN, fused_ce=fused_ce, init="lecture")
    if optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=0.01)
    else:
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9 if optimizer == "momentum"
                        else 0.0)
    return model, opt


def train_step(model, opt, Xb, Yb):
    loss = model.loss(Xb, Yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def state(model, opt):
    arrays = {k: np.array(v) for k, v in model.state_dict().items()}
    # the gradients of the last step, read from the tensors the replay fills
    arrays.update({f"grad/{i}": np.array(p.grad.numpy())
                   for i, p in enumerate(model.parameters())})
    for pos, entry in opt.state_dict()["state"].items():
        arrays.update({f"optim/{pos}/{k}": np.array(v) for k, v in entry.items()})
    return arrays


def assert_bit_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        # equal bits: array_equal on the raw bytes (NaN == NaN, -0.0 != 0.0)
        assert a[key].tobytes() == b[key].tobytes(), f"{key} differs"


@pytest.mark.parametrize("dtype, fused_ce, optimizer", [
    ("float32", False, "sgd"),
    ("float64", False, "sgd"),
    ("float32", True, "sgd"),
    ("float64", True, "sgd"),
    ("float32", False, "adam"),
    ("float64", True, "adam"),
    ("float32", False, "momentum"),
])
def test_replay_is_eager_bit_for_bit(default_dtype, dtype, fused_ce, optimizer):
    default_dtype(dtype)
    X, Y = batches(STEPS)
    # Eager: STEPS steps.
    model, opt = make(fused_ce, optimizer)
    eager_losses = []
    for i in range(STEPS):
        loss = train_step(model, opt, minigrad.tensor(X[i]), minigrad.tensor(Y[i]))
        eager_losses.append(loss.item())
    eager = state(model, opt)

    # Captured: step 0 eagerly (the optimizer's first step creates its state), step 1 is
    # the captured one, then STEPS - 2 replays on refilled inputs.
    model, opt = make(fused_ce, optimizer)
    losses = [train_step(model, opt, minigrad.tensor(X[0]), minigrad.tensor(Y[0])).item()]
    Xb, Yb = minigrad.tensor(X[1]), minigrad.tensor(Y[1])
    with minigrad.capture() as step:
        loss = train_step(model, opt, Xb, Yb)
    losses.append(loss.item())
    for i in range(2, STEPS):
        Xb.copy_(X[i])
        Yb.copy_(Y[i])
        step.replay()
        losses.append(loss.item())
    assert losses == eager_losses
    assert_bit_identical(eager, state(model, opt))


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_first_optimizer_step_is_refused(optimizer):
    """The first step creates the optimizer's state (Python's `if not state:` branch);
    every later step takes the other branch, so replaying the first would be wrong."""
    X, Y = batches(1)
    model, opt = make(False, optimizer)
    Xb, Yb = minigrad.tensor(X[0]), minigrad.tensor(Y[0])
    with pytest.raises(RuntimeError, match="first step"):
        with minigrad.capture():
            train_step(model, opt, Xb, Yb)


def manual_sgd(model, Xb, Yb, lr):
    loss = model.loss(Xb, Yb)
    for p in model.parameters():
        p.grad = None
    loss.backward()
    with minigrad.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    return loss


def test_learning_rate_as_a_0d_tensor_changes_between_replays():
    """`p -= lr * p.grad` under no_grad, with lr a 0-d tensor refilled at half time."""
    n = 200
    X, Y = batches(n)
    model, _ = make(False, "sgd")
    lr = minigrad.tensor(0.1)
    for i in range(n):
        if i == n // 2:
            lr.fill_(0.01)
        manual_sgd(model, minigrad.tensor(X[i]), minigrad.tensor(Y[i]), lr)
    eager = {k: np.array(v) for k, v in model.state_dict().items()}

    model, _ = make(False, "sgd")
    lr = minigrad.tensor(0.1)
    Xb, Yb = minigrad.tensor(X[0]), minigrad.tensor(Y[0])
    with minigrad.capture() as step:
        manual_sgd(model, Xb, Yb, lr)
    for i in range(1, n):
        if i == n // 2:
            lr.fill_(0.01)
        Xb.copy_(X[i])
        Yb.copy_(Y[i])
        step.replay()
    assert_bit_identical(eager, {k: np.array(v) for k, v in model.state_dict().items()})


def test_python_float_is_a_constant():
    """The optimizer's lr, a Python float, is baked in: changing it afterwards changes
    nothing (documented); the same change made before a new capture does."""
    X, Y = batches(3)
    model, opt = make(False, "sgd")
    Xb, Yb = minigrad.tensor(X[0]), minigrad.tensor(Y[0])
    with minigrad.capture() as step:
        train_step(model, opt, Xb, Yb)
    W = model.linear1.weight
    before = np.array(W.detach().numpy())
    opt.param_groups[0]["lr"] = 0.0  # not seen by the replay
    step.replay()
    grad = np.array(W.grad.numpy())
    assert np.array_equal(W.detach().numpy(), before - np.float32(0.1) * grad)
    with minigrad.capture() as step:  # captured again: now lr is 0
        train_step(model, opt, Xb, Yb)
    before = np.array(W.detach().numpy())
    step.replay()
    assert np.array_equal(W.detach().numpy(), before)


def test_outputs_are_read_from_their_tensors():
    X, Y = batches(2)
    model, opt = make(False, "sgd")
    Xb, Yb = minigrad.tensor(X[0]), minigrad.tensor(Y[0])
    with minigrad.capture() as step:
        loss = train_step(model, opt, Xb, Yb)
    first = loss.item()
    Xb.copy_(X[1])
    Yb.copy_(Y[1])
    step.replay()
    assert loss.item() != first
    # the loss the replay wrote is the loss of that batch for the parameters before it
    assert isinstance(loss, minigrad.Tensor) and loss.shape == ()


def test_replay_runs_no_engine_code():
    """Replay makes no Tensor and no node: no Python function of minigrad's runs except
    the capture module's own small helpers (which only call numpy)."""
    X, Y = batches(2)
    model, opt = make(True, "adam")
    Xb, Yb = minigrad.tensor(X[0]), minigrad.tensor(Y[0])
    train_step(model, opt, Xb, Yb)
    with minigrad.capture() as step:
        train_step(model, opt, Xb, Yb)
    called = set()

    def profile(frame, event, arg):
        if event == "call":
            called.add(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        step.replay()
    finally:
        sys.setprofile(None)
    engine = {f for f in called if "minigrad" in f and f != graph_capture.__file__}
    assert not engine  # tensor.py, autograd.py, ops.py, optim.py, nn.py: none of them ran


# ---- refusals -------------------------------------------------------------------------

def captured_model():
    X, Y = batches(2)
    model, opt = make(False, "sgd")
    return model, opt, minigrad.tensor(X[0]), minigrad.tensor(Y[0])


@pytest.mark.parametrize("read", [
    lambda loss: loss.item(),
    lambda loss: float(loss),
    lambda loss: int(loss),
    lambda loss: bool(loss > 2),
    lambda loss: loss.tolist(),
    lambda loss: 1 if loss > 2 else 0,
    lambda loss: f"{loss:.4f}",
])
def test_reading_values_in_python_is_refused(read):
    model, opt, Xb, Yb = captured_model()
    with pytest.raises(RuntimeError, match="data-dependent Python control flow"):
        with minigrad.capture():
            loss = train_step(model, opt, Xb, Yb)
            read(loss)
    # the engine is back to eager afterwards, on the same memory
    loss = train_step(model, opt, Xb, Yb)
    assert np.isfinite(loss.item())
    assert type(model.linear1.weight.detach().numpy()) is np.ndarray


@pytest.mark.parametrize("show", [print, repr, str])
def test_printing_tensor_values_is_refused(show):
    model, opt, Xb, Yb = captured_model()
    with pytest.raises(RuntimeError, match="print"):
        with minigrad.capture():
            loss = train_step(model, opt, Xb, Yb)
            show(loss)


def test_batchnorm_cumulative_average_is_refused():
    """momentum=None averages with 1 / float(num_batches_tracked): a Python value read
    from a tensor, so it would be frozen."""
    bn = nn.BatchNorm1d(4, momentum=None)
    x = minigrad.randn(8, 4)
    with pytest.raises(RuntimeError, match="data-dependent Python control flow"):
        with minigrad.capture():
            bn(x)


def test_nested_capture_is_refused():
    with minigrad.capture():
        with pytest.raises(RuntimeError, match="cannot be nested"):
            with minigrad.capture():
                pass


def test_replaced_buffer_is_refused_at_replay():
    model, opt, Xb, Yb = captured_model()
    with minigrad.capture() as step:
        train_step(model, opt, Xb, Yb)
    Xb.data = minigrad.tensor(np.zeros((16, 3), dtype=np.int64))  # another batch size
    with pytest.raises(RuntimeError, match="buffer was replaced"):
        step.replay()


def test_new_shape_through_copy_is_refused():
    model, opt, Xb, Yb = captured_model()
    with minigrad.capture() as step:
        train_step(model, opt, Xb, Yb)
    with pytest.raises(RuntimeError, match="must match the size|expand"):
        Xb.copy_(np.zeros((16, 3), dtype=np.int64))
    step.replay()  # still the old shape: fine


def test_parameter_replaced_is_refused_at_replay():
    model, opt, Xb, Yb = captured_model()
    with minigrad.capture() as step:
        train_step(model, opt, Xb, Yb)
    W = model.linear2.weight
    W.data = minigrad.tensor(np.zeros(tuple(W.shape), dtype=np.float32))
    with pytest.raises(RuntimeError, match="buffer was replaced"):
        step.replay()


def test_data_dependent_shape_is_checked_at_replay():
    """A boolean mask makes a shape that depends on the values: replay checks it."""
    x = minigrad.tensor([1.0, -2.0, 3.0])
    out = minigrad.zeros(())
    with minigrad.capture() as step:
        out.copy_((x[x > 0]).sum())
    x.copy_(np.array([4.0, 5.0, -6.0], dtype=np.float32))
    step.replay()  # two positive values again: same shape, replayed
    assert out.item() == 9.0
    x.copy_(np.array([1.0, 1.0, 1.0], dtype=np.float32))
    with pytest.raises(RuntimeError, match="shapes that change"):
        step.replay()


def test_exception_inside_the_block_restores_eager_mode():
    model, opt, Xb, Yb = captured_model()
    with pytest.raises(ZeroDivisionError):
        with minigrad.capture():
            train_step(model, opt, Xb, Yb)
            raise ZeroDivisionError("inside the block")
    assert graph_capture._active[0] is None
    assert np.asarray is graph_capture._np_asarray
    for p in model.parameters():
        assert type(p.detach().numpy()) is np.ndarray
    train_step(model, opt, Xb, Yb)


# ---- the command line ------------------------------------------------------------------

@pytest.mark.parametrize("extra", [[], ["--fused-ce"]])
def test_makemore_train_captured_and_eager_write_identical_checkpoints(tmp_path, extra):
    """`train` replays a captured step by default, `--eager` runs the engine every step:
    the same seed gives the same checkpoint, to the bit (60 steps: the learning rate drops
    at step 30, which the captured path handles with a second capture)."""
    import contextlib
    import io
    import zipfile

    from models import makemore

    words = [f"{a}{b}{c}" for a in "abcde" for b in "aeiou" for c in "lmnrst"]
    data = tmp_path / "words.txt"
    data.write_text("\n".join(words) + "\n")
    members = {}
    for name, flags in (("captured", []), ("eager", ["--eager"])):
        out = tmp_path / name
        argv = ["train", "--steps", "60", "--hidden", "16", "--data", str(data), "--out",
                str(out), "--no-graph", "-n", "0", "--seed", "7", *extra, *flags]
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            assert makemore.main(argv) == 0
        with zipfile.ZipFile(out / makemore.CHECKPOINT) as zf:
            members[name] = {n: zf.read(n) for n in zf.namelist()}
    captured, eager = members["captured"], members["eager"]
    assert captured.keys() == eager.keys()
    for key in captured:
        if key == "meta.npy":  # holds the training time; the rest must match
            continue
        assert captured[key] == eager[key], key
    meta = {name: makemore.json.loads(np.load(io.BytesIO(m["meta.npy"])).tobytes())
            for name, m in members.items()}
    for key in ("losses", "split_losses", "step", "rng"):
        assert meta["captured"][key] == meta["eager"][key], key


def test_gradients_read_after_replay_are_the_eager_ones():
    """The lecture's graph (models.lecture.forward, as the benchmark runs it): after a
    replay on a new batch, every parameter's .grad holds that batch's gradient, bit for bit
    (the replay drops copies of gradients and must point the .grad tensors at what it
    writes)."""
    from models.lecture import forward

    rng = np.random.default_rng(3)
    shapes = {"C": (27, 10), "W1": (30, 64), "b1": (64,), "W2": (64, 27), "b2": (27,),
              "bngain": (1, 64), "bnbias": (1, 64)}
    arrays = {k: rng.standard_normal(s).astype(np.float32) * 0.3 for k, s in shapes.items()}
    X, Y = batches(2, seed=5)

    def grads(params, Xb, Yb):
        loss = forward(minigrad, params, Xb, Yb)["loss"]
        for p in params.values():
            p.grad = None
        loss.backward()
        return loss

    params = {k: minigrad.tensor(v, requires_grad=True) for k, v in arrays.items()}
    eager_loss = grads(params, minigrad.tensor(X[1]), minigrad.tensor(Y[1])).item()
    eager = {k: np.array(p.grad.numpy()) for k, p in params.items()}

    params = {k: minigrad.tensor(v, requires_grad=True) for k, v in arrays.items()}
    Xb, Yb = minigrad.tensor(X[0]), minigrad.tensor(Y[0])
    with minigrad.capture() as step:
        loss = grads(params, Xb, Yb)
    Xb.copy_(X[1])
    Yb.copy_(Y[1])
    step.replay()
    assert loss.item() == eager_loss
    assert_bit_identical(eager, {k: np.array(p.grad.numpy()) for k, p in params.items()})
