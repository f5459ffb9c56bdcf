"""Views: tensors on another tensor's memory, and how writes through them are recorded.

A view (basic indexing, a reshape numpy does without copying, permute, detach, `.data`)
shares its base's memory and version box (guards.py). A recorded view also remembers its
base, its op and whether grad mode was on (`_view`), and the base knows it has views
(`_viewed`). Two things follow, both torch's:

- a write through a view is a write into base: `rewrite` records it on base too;
- when base's history is rewritten (an in-place op on base or through another of its
  views), a view taken before still has the old history, `op(base as it was)`, while its
  values are the new ones. `refresh` regenerates it on its next use: `op(base as it is)`.
"""

from . import extra_ops, ops
from . import tensor as core  # (apply: used when a function runs)
from .guards import clock
from .modes import modes


def shares_memory(view, x):
    """Whether numpy's `view` looks at x's memory (numpy points a view at the owning array)."""
    base = view.base
    return base is not None and (base is x or base is x.base)


# Set once a tensor with views had its history rewritten: from then on some view may be
# stale, and apply (and the other places that use a tensor) look. Until then: one check.
rebased = False

NO_GRAD_VIEW = ("A view was created in no_grad mode and {} modified inplace with grad mode "
                "enabled. Given that this use case is ambiguous and error-prone, it is "
                "forbidden. You can clarify your code by moving both the view and the "
                "inplace either both inside the no_grad block (if you don't want the "
                "inplace to be tracked) or both outside (if you want the inplace to be "
                "tracked).")


def take_view(out, base, op):
    """Make `out` (= op(base), on base's memory) a view of base: same version box, and it
    remembers where it came from."""
    out._vc = base._vc
    out._view = (base, op, modes.grad_enabled)
    base._viewed = True
    return out


def refresh(t):
    """If t is a view whose base's history was rewritten after t's was recorded, regenerate
    t's history as `op(base as it is now)`.

    torch does this on a view's next use, and so do we: apply, backward's root and the
    in-place ops call this (only once `rebased` is set). t's history until now lives on as
    `t._previous`, for the nodes that used t before (inputs, below), exactly as after an
    in-place op on t. A view taken under no_grad has no history to regenerate: torch refuses
    its use once its base requires grad and was rewritten.
    """
    view = getattr(t, "_view", None)  # (also for non-Tensors: None)
    if view is None:
        return
    base, op, grad_mode = view
    refresh(base)  # a view of a view: its base first
    if base._recorded <= t._recorded:  # base's history is the one t was made from
        return
    if not grad_mode:
        if base._requires_grad:
            raise RuntimeError(NO_GRAD_VIEW.format(
                "its base or another view of its base has been"))
        return
    t._previous = t._version_node(t._data)
    t._recorded = clock[0]
    if base._requires_grad:
        t._op, t._parents, t._requires_grad = op, (base,), True
    else:
        t._op, t._parents, t._requires_grad = None, (), False


def rewrite(t, new, old):
    """t's memory holds new's values: t takes new's history, and t_old becomes t._previous.

    If t is a view, the write went into its base's memory too, so the base is rewritten as
    well (as torch's CopySlices), whether or not it required grad before:
    base_new = base_old with the view's slots replaced by `new`, and t becomes the same view
    of base_new. (`logits = zeros(8, 27); row = logits[i]; row += v`: logits then requires
    grad, and backward reaches v through logits.)
    """
    global rebased
    view = getattr(t, "_view", None)
    now = clock[0]
    if view is None:
        t._op, t._parents, t._requires_grad = new._op, new._parents, True
    else:
        base, op, _ = view
        # new stays a node of its own: like t itself, it counts as recorded after the write
        # (it holds a copy of t_old's values, so the write changed nothing it reads)
        new._recorded = now
        base_old = base._version_node(base._data)  # values unread: SetItem needs none
        if op.__class__ is ops.GetItem:  # base_new = base_old with base_new[index] = new
            scatter = core.apply(extra_ops.SetItem(op.index), base_old, new)
        else:  # a reshape or permute view covers all of base: base_new = new, reshaped back
            scatter = new.reshape(base.shape) if op.__class__ is ops.Reshape else \
                new.permute(*op.inverse)
        rewrite(base, scatter, base_old)
        t._op, t._parents, t._requires_grad = op, (base,), True  # t = view(base_new)
    t._previous, t._recorded = old, now
    if hasattr(t, "_viewed"):  # t's other views (if any are left) are stale now
        rebased = True


def inputs(node):
    """node's inputs as they were when its op ran (what `Tensor.parents` shows).

    An in-place op rewrites a tensor's history: after `y += 1`, the object `y` is the result
    of that add, and the previous version of y lives on as `y._previous`. A node that used y
    before the write must still reach that previous version. It can tell: y's `_recorded` is
    then later than its own (a parent is otherwise always recorded before its consumers).
    The edge is repointed once, for good, so later walks (and drawings) see it directly.
    """
    recorded, parents = node._recorded, node._parents
    if recorded >= clock[0] or not parents:  # no write since the node was made, or a leaf:
        return parents                        # nothing to repoint
    if any(p._recorded > recorded for p in parents):
        fixed = []
        for p in parents:
            while p._recorded > recorded:  # step back through the in-place versions
                p = p._previous
            fixed.append(p)
        node._parents = parents = tuple(fixed)
    return parents
