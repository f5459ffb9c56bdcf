"""The guard rails beside the backward loop: version checks, anomaly checks, their messages.

Versions. An in-place write (`t += 1`, `t[i] = v`, `p.data -= lr * g`) changes values that a
recorded op may still need for its gradient (exp's backward reads its output, log's its input).
torch refuses such a backward, and so do we, with the same bookkeeping idea in a cheaper form:

- one process-wide clock ticks at every in-place write;
- every storage has a version box, `[tick of the last write, number of writes]`, shared by all
  the tensors that look at that memory (views, `detach()`, `.data`), so a write through any
  alias is seen;
- every recorded node remembers the clock when its op ran (`_recorded`).

A value an op reads (its `reads`, ops.py) is stale if its box's tick is later than the node's
`_recorded`. A training step writes nothing between forward and backward, so the clock has not
moved since any node was recorded and backward checks nothing at all (one comparison a node).

Nothing here is saved to disk: a pickled tensor comes back with a fresh box (tick 0), so a new
process, whose clock starts at 0 again, never sees a write from the future.
"""

import threading

import numpy as np

clock = [0]  # the tick of the latest in-place write in this process (a list: mutable in place)
_lock = threading.Lock()  # two threads writing at once still get two distinct ticks


def new_box():
    """The version box of a fresh storage: never written."""
    return [0, 0]


def stamp(box):
    """Record an in-place write into the storage that owns `box`."""
    _lock.acquire()  # (not `with`: this runs at every optimizer update)
    box[0] = clock[0] = clock[0] + 1
    box[1] += 1
    _lock.release()


def tick():
    """Advance the clock without writing: everything recorded from now on is later than
    everything recorded before (an in-place op calls this before it builds its result)."""
    with _lock:
        clock[0] += 1


def check_saved(node, parents):
    """Refuse to run node's backward if a value its rule reads was written after the op ran.

    As torch, only values a gradient actually needs count, and only for inputs that need a
    gradient: `y = x * c` reads c for dx, so writing into x afterwards is fine, writing into c
    is not.
    """
    recorded = node._recorded
    values = (node,) + tuple(parents)  # position 0 is the output, as in ops' `reads`
    reads = node._op.reads  # may be shorter than parents: the rest read nothing
    for i, parent in zip(range(len(reads)), parents):
        if parent._requires_grad:
            for k in reads[i]:
                if values[k]._vc[0] > recorded:
                    _modified_error(values[k], node, k)


def _modified_error(tensor, node, k):
    role = "its output" if k == 0 else f"input {k - 1}"
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {describe(tensor)}, {role} of op '{node._op.name}' (which made "
        f"{describe(node)}), was written after the op used it. Change values after "
        "backward() (as optimizer.step() does), or run the forward pass again.")


# ---- anomaly mode -----------------------------------------------------------------------

def describe(node):
    """A node for an error message: its label, shape, dtype, the op that made it, scope."""
    name = f"'{node.label}'" if node.label else "(unlabelled)"
    made = f"made by op '{node._op.name}'" if node._op is not None else "a leaf"
    where = f" in scope '{node.scope}'" if node.scope else ""
    return f"node {name} of shape {node._data.shape} ({node._data.dtype}), {made}{where}"


def check_forward(out, op, parents):
    """detect_anomaly's forward check: the op's result must be finite where inputs are.

    A non-finite input (say a leaf the user filled with -inf) is not this op's doing, so it
    passes. The new node has no label yet (labels are set after it is made): the message
    names the op, the output's shape and the inputs.
    """
    data = out._data
    if data.dtype.kind == "f" and not np.isfinite(data).all() and all(
            np.isfinite(p._data).all() for p in parents if p._data.dtype.kind == "f"):
        where = f" in scope '{out.scope}'" if out.scope else ""
        inputs = "; ".join(describe(p) for p in parents)
        raise RuntimeError(f"Function '{op.name}' returned nan or inf values in its output "
                           f"of shape {data.shape} ({data.dtype}){where}; inputs: {inputs}")


def check_backward(node, parents, in_grads):
    """detect_anomaly's backward check: every gradient an op returns must be finite."""
    for i, g in enumerate(in_grads):
        # a gradient for an input that needs none is never used, and torch does not check it
        if g is not None and parents[i]._requires_grad and g.dtype.kind == "f" \
                and not np.isfinite(g).all():
            raise RuntimeError(f"Function '{node._op.name}' returned nan or inf values in its "
                               f"{i}th output, the gradient for {describe(parents[i])}; "
                               f"it is input {i} of {describe(node)}")
