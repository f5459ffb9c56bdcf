"""Graph capture: record a training step once, then replay it without the engine.

    Xb, Yb = minigrad.tensor(X[:32]), minigrad.tensor(Y[:32])  # buffers the loop refills
    train_step(Xb, Yb)                        # one eager step first (the optimizer's state)
    with minigrad.capture() as step:
        loss = model.loss(Xb, Yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for i in range(200_000):
        Xb.copy_(next_X); Yb.copy_(next_Y)    # new values, same buffers
        step.replay()                         # forward, backward and update, on numpy only
        print(loss.item())                    # outputs are read from their tensors

Why it helps
------------
An eager step builds its graph anew every time: about 33 Tensor nodes, a topological sort,
a dict of pending gradients, version checks, and over 100 numpy calls. The numpy calls do
the arithmetic; everything else is Python bookkeeping, and at batch 32 the bookkeeping costs
more than the arithmetic. But the lecture's loop runs *the same* step 200,000 times: same
shapes, same ops, same order. Only the numbers in a few buffers change (the minibatch). So we
run the step once while writing down every numpy call it makes, with the arrays it read and
wrote, and from then on we repeat that list of calls. This is what `torch.cuda.CUDAGraph`
does with GPU kernels and what tinygrad's `TinyJit` does with its kernels.

How the recording works
-----------------------
numpy lets an ndarray subclass intercept the calls made on it: `__array_ufunc__` sees every
ufunc (`+`, `*`, `exp`, `@`, `sum` as `add.reduce`, ...), `__array_function__` every numpy
function (`np.where`, `np.bincount`, `np.zeros_like`, ...), and methods (`copy`, `astype`,
`[...]`) can be overridden. On entering `capture()` we put such a recording array (`_Rec`,
a *view* of the same memory, so nothing is copied) in place of the array of every live Tensor
and of every optimizer's state. The block then runs eagerly, through the unchanged engine:
every numpy call it makes on a recording array is executed on the plain arrays underneath,
and written down as one *step*: the function, its arguments (the very arrays, and any Python
constants) and the array it wrote. A result is a new array; we keep it for good, and the
recorded step writes into it (`np.add(a, b, out=result)`), so a replay allocates nothing.
Functions without `out=` (`np.bincount`, fancy indexing) compute and copy into the kept
array. numpy's own conversions (`np.asarray`, `np.array`) would hand back a plain array and
lose the trail, and `np.zeros` & co. make arrays the block may write into: while capturing,
these few names in the numpy module are replaced by versions that keep recording.

Views (`W.T`, `x.reshape(...)` of a contiguous array, basic indexing) cost no step at all: a
view made at capture time looks at the same memory as long as the memory lives, and every
buffer lives as long as the capture does.

On leaving the block, every Tensor gets its plain array back (the same memory), and new
Tensors (the loss, the `.grad`s) get the plain result arrays that the steps write. Then:

- steps that create an array that nothing later writes (`np.arange(n)`, `ones_like(loss)`)
  ran once and are dropped from the replay: their result is a constant;
- steps whose result nobody reads (no later step, no live Tensor, no optimizer state) are
  dropped as dead code;
- copies nobody needs are dropped: the engine copies a gradient it passes on, so that no
  two `.grad` arrays share memory, but inside the record nothing else writes them, so the
  later steps read the original (the Tensor that held the copy now holds the original);
- `take_along_axis` / `put_along_axis` on the rows of a matrix (max(dim) and its
  backward) become one `np.take` / `np.put` at `index + row * width`.

`replay()` is then a loop over `functools.partial` objects: each call is one numpy call with
fixed arguments, `out` passed by position (a keyword costs a few hundred nanoseconds a call,
a tuple `out=(a,)` over a microsecond). No Tensor, no node, no dict, no allocation of ours.

Where the remaining time goes: a replay of the 32 x 200 step is about 120 numpy calls on
small arrays, each paying numpy's own dispatch (about a microsecond) on top of its
arithmetic; the hand-fused numpy step (benchmarks/impl_numpy.py) makes about 25 calls,
because it writes the whole backward in closed form. Fusing calls is beyond a recorder of
calls: that would take a compiler.

Why this design
---------------
The alternatives were (a) capture at the Tensor level, by walking the autograd graph, and
(b) a second code path in every op that knows how to write into a given buffer. Both need
the engine's internals and would have to follow every change made to them; (b) would also
add a branch to the eager hot path. Recording numpy calls needs nothing from the engine but
that it computes with numpy; the eager engine is not changed and pays nothing for this file.
The price is paid once, at capture time (a Python call per numpy call, and a scan of the
live objects to find the Tensors).

What is recorded as a constant
------------------------------
Everything the block computes in Python is fixed at capture time. A Python float (such as
`lr` in `p -= lr * p.grad`, or an optimizer's `param_groups[0]["lr"]`) is baked into the
steps: changing it afterwards changes nothing. A value that must change between replays is a
0-d Tensor, which the steps read from its buffer: `lr = minigrad.tensor(0.1)`, then
`lr.fill_(0.01)` when the schedule says so. (Or capture again: a capture costs one step.)

What is refused
---------------
Anything whose replay would silently differ from running the block again:

- reading a tensor's value in Python inside the block: `.item()`, `float(t)`, `int(t)`,
  `bool(t)` (so `if loss > 2:`), `.tolist()`, and printing a tensor: the Python code would
  take the path this one step chose, forever. RuntimeError at capture time.
- changing shapes: replay checks that every Tensor it reads still holds the buffer it had at
  capture time (`t.data = other` swaps it, a refill of another shape must go through
  `copy_`, which refuses shapes that do not broadcast); a step whose result shape depends on
  the data (boolean masks) checks the shape on every replay. RuntimeError.
- an optimizer's first step (its state is created inside the block: Python's
  `if not state:` branch, which every later step skips). Run one step eagerly first, as
  torch's CUDA graphs ask for warm-up iterations.
- capturing inside a capture.

The Tensors made inside the block (the loss, the `.grad`s) hold the replay's buffers after
it: read them, but do not write into them between replays (two gradients may share one).

The replay reproduces the eager step bit for bit: it calls the same numpy functions with the
same arguments in the same order; `out=` changes where a result goes, not how it is computed
(tests/test_capture.py checks 1,000 steps against the eager ones, to the last bit).
"""

import functools
import gc
import operator
import weakref

import numpy as np

from .optim import Optimizer
from .tensor import Tensor

__all__ = ["capture", "CapturedStep"]

_active = [None]  # the capture in progress (one at a time, this thread)

REFUSED = ("capture cannot read a tensor's values in Python (.item(), float(t), int(t), "
           "bool(t), `if t > 0:`, print(t)): data-dependent Python control flow would be "
           "replayed with the value of the captured step. Do it outside the "
           "`with minigrad.capture()` block")


def _refuse(*_args, **_kwargs):
    raise RuntimeError(REFUSED)


def _refuse_print(*_args, **_kwargs):
    raise RuntimeError("capture cannot print tensor values inside the captured block: "
                       "printing tensor values would show the captured step only. "
                       + REFUSED.split(": ", 1)[1])


# ---- the private access to the engine: the array behind a Tensor -------------------------
# The only two attributes of the engine we touch. Everything else goes through numpy.

def _get(t, slot):
    return getattr(t, slot, None)


def _set(t, slot, value):
    setattr(t, slot, value)


# ---- recording arrays ---------------------------------------------------------------------

def _root(a):
    """The array that owns a's memory (numpy points a view's .base at its owner)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _plain(x):
    """The plain ndarray behind a recording array; containers are mapped element by element."""
    t = type(x)
    if t is _Rec:
        p = x.__dict__.get("_p")
        if p is None:  # a view numpy made of a recording array: the same view, plain
            root = _root(x)
            if type(root) is _Rec:
                root = _plain(root)
            off = (x.__array_interface__["data"][0] - root.__array_interface__["data"][0])
            p = np.ndarray(x.shape, x.dtype, buffer=root, offset=off, strides=x.strides)
            x.__dict__["_p"] = p
        return p
    if t is tuple or t is list:
        return t(_plain(v) for v in x)
    if t is dict:
        return {k: _plain(v) for k, v in x.items()}
    return x


def _wrap(p):
    """A recording array over plain array p (same memory)."""
    r = np.ndarray.view(p, _Rec)
    r.__dict__["_p"] = p
    return r


class _Rec(np.ndarray):
    """An ndarray that records what is done to it (see the module docstring).

    It calls itself an ndarray (`x.__class__ is np.ndarray`), so that the engine's own fast
    paths, which test exactly that, take the road they take eagerly.
    """

    __class__ = property(lambda self: np.ndarray)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        f = ufunc if method == "__call__" else getattr(ufunc, method)
        args = _plain(inputs)
        out = kwargs.get("out")
        kw = _plain(kwargs) if kwargs else kwargs
        if out is not None and type(kw["out"]) is not tuple:
            kw["out"] = (kw["out"],)
        res = f(*args, **kw)
        tape = _active[0]
        if tape is None:
            return res
        if out is not None:
            tape.record(f, args, kw, writes=kw["out"], call=_ufunc_call(f, method, args, kw))
            return out[0] if type(out) is tuple and len(out) == 1 else out
        if method == "at":  # ufunc.at: in place on its first argument
            tape.record(f, args, kw, writes=(args[0],))
            return None
        if type(res) is tuple:  # several outputs (divmod, frexp, modf)
            res = tuple(np.asarray(r) for r in res)
        else:
            res = (np.asarray(res),)  # a 0-d result comes back from numpy as a scalar
        kw = dict(kw, out=res)
        tape.record(f, args, kw, writes=res, call=_ufunc_call(f, method, args, kw))
        wrapped = tuple(tape.new(r) for r in res)
        return wrapped if len(wrapped) > 1 else wrapped[0]

    def __array_function__(self, func, types, args, kwargs):
        if func in _PRINTING:
            _refuse_print()
        pargs, pkw = _plain(args), _plain(kwargs)
        res = func(*pargs, **pkw)
        tape = _active[0]
        if tape is None or func in _NO_DATA:
            return res
        return tape.after(func, pargs, pkw, res, kwargs.get("out"))

    # reading values in Python: refused (see the module docstring)
    __bool__ = __float__ = __int__ = __index__ = __complex__ = _refuse
    item = tolist = tobytes = _refuse
    __repr__ = __str__ = __format__ = _refuse_print

    def __getitem__(self, index):
        p, i = _plain(self), _plain(index)
        res = p[i]
        tape = _active[0]
        if tape is None:
            return res
        return tape.after(_getitem, (p, i), {}, res, None)

    def __setitem__(self, index, value):
        p, i, v = _plain(self), _plain(index), _plain(value)
        p[i] = v
        tape = _active[0]
        if tape is not None:
            tape.record(operator.setitem, (p, i, v), {}, writes=(p,))

    def view(self, *args, **kwargs):
        if args and isinstance(args[0], type) and issubclass(args[0], np.ndarray):
            args = args[1:]  # stay a recording array
        return np.ndarray.view(self, *args, **kwargs) if args or kwargs else \
            np.ndarray.view(self, _Rec)

    def __reduce_ex__(self, protocol):
        _refuse()

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()


def _make_method(name):
    base = getattr(np.ndarray, name)
    inplace = name in ("fill", "sort", "put", "partition", "resize", "setflags", "itemset")

    def method(self, *args, **kwargs):
        p, a, k = _plain(self), _plain(args), _plain(kwargs)
        res = base(p, *a, **k)
        tape = _active[0]
        if tape is None:
            return res
        if inplace:
            tape.record(base, (p,) + a, k, writes=(p,))
            return res
        return tape.after(base, (p,) + a, k, res, kwargs.get("out"))
    method.__name__ = name
    return method


for _name in ("all", "any", "argmax", "argmin", "argsort", "astype", "clip", "copy",
              "cumprod", "cumsum", "diagonal", "dot", "fill", "flatten", "max", "mean", "min",
              "nonzero", "partition", "prod", "put", "ravel", "repeat", "reshape", "round",
              "searchsorted", "sort", "squeeze", "std", "sum", "swapaxes", "take", "trace",
              "transpose", "var", "conj", "compress", "choose", "argpartition"):
    setattr(_Rec, _name, _make_method(_name))


def _ufunc_call(f, method, args, kw):
    """The replay call of a ufunc, with `out` passed by position where numpy allows it
    (a keyword, and above all a tuple, costs up to a microsecond a call)."""
    out = kw["out"]
    if method == "__call__" and len(kw) == 1:
        return functools.partial(f, *args, *out)
    if method == "reduce" and len(out) == 1 and set(kw) <= {"axis", "dtype", "out",
                                                               "keepdims"}:
        return functools.partial(f, args[0], kw.get("axis", 0), kw.get("dtype"), out[0],
                                 kw.get("keepdims", False))
    if len(out) == 1:
        kw = dict(kw, out=out[0])
    return functools.partial(f, *args, **kw)


def _getitem(a, index):
    return a[index]


_PRINTING = {np.array2string, np.array_repr, np.array_str, np.savetxt, np.save, np.savez}
_DATA_SHAPES = {np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.extract,
                np.ndarray.nonzero, np.ndarray.compress, np.compress}
# methods and functions that can write into a given array (out=) instead of a new one
_WITH_OUT = {np.ndarray.max, np.ndarray.min, np.ndarray.argmax, np.ndarray.argmin,
             np.ndarray.sum, np.ndarray.mean, np.ndarray.prod, np.ndarray.all, np.ndarray.any,
             np.sum, np.mean, np.max, np.min, np.argmax, np.argmin, np.prod, np.all, np.any,
             np.concatenate, np.take, np.dot, np.cumsum, np.ndarray.cumsum, np.clip,
             np.ndarray.clip, np.ndarray.take}
_NO_DATA = {np.shape, np.ndim, np.size, np.shares_memory, np.may_share_memory,
            np.result_type, np.min_scalar_type, np.iscomplexobj, np.isrealobj}


# ---- replay steps that put a result into a kept buffer -------------------------------------

def _into(out, func, args, kwargs):
    """out[...] = func(*args, **kwargs), for numpy calls without an `out=` argument."""
    res = func(*args, **kwargs)
    if np.shape(res) != out.shape:
        raise RuntimeError(f"captured step {getattr(func, '__name__', func)} now makes shape "
                           f"{np.shape(res)}, it made {out.shape} when captured: shapes that "
                           "change cannot be replayed; capture again")
    out[...] = res


def _into_many(outs, func, args, kwargs):
    for out, res in zip(outs, func(*args, **kwargs)):
        _into(out, _same, (res,), {})


def _same(x):
    return x


def _is_view(res, args):
    """Whether `res` looks at the memory of one of the arrays in args (a view)."""
    return any(np.may_share_memory(res, a) for a in _arrays(args, []))


def _single_int_index(index):
    return type(index) is np.ndarray and index.dtype.kind in "iu"


def _masked(index):
    """A boolean index: the result's shape depends on the data."""
    items = index if type(index) is tuple else (index,)
    return any(type(i) is np.ndarray and i.dtype == bool for i in items)


def _take_rows(out, flat, index, offsets, tmp):
    np.add(index, offsets, tmp)
    np.take(flat, tmp, out=out)


def _put_rows(flat, index, offsets, tmp, values):
    np.add(index, offsets, tmp)
    np.put(flat, tmp, values)


def _take0(out, a, index):
    np.take(a, index, axis=0, out=out)


_FILL = {np.zeros_like: 0, np.ones_like: 1}


def _fill(out, value):
    out.fill(value)


# ---- numpy functions replaced while capturing ------------------------------------------------
# numpy's conversion functions hand back a *plain* ndarray for a recording one (they strip
# subclasses): np.asarray(x) would let the block continue on arrays we no longer see.

_np_asarray, _np_array, _np_ascontiguousarray = np.asarray, np.array, np.ascontiguousarray


_CREATE = {"zeros": 0, "ones": 1, "empty": None, "full": None, "arange": None, "eye": None}
_np_create = {name: getattr(np, name) for name in _CREATE}


def _creator(name):
    """np.zeros & co. while capturing: the new array is a recording one, so that writes
    into it (`dx = np.zeros(...); dx[i] = g`) are recorded too."""
    make, value = _np_create[name], _CREATE[name]

    def create(*args, **kwargs):
        buf = make(*args, **kwargs)
        tape = _active[0]
        if tape is None or type(buf) is not np.ndarray:
            return buf
        if value is not None:
            call = functools.partial(_fill, buf, value)
        elif name == "empty":
            call = None
        else:  # full, arange, eye: the values depend on the arguments only
            call = functools.partial(_into, buf, make, args, kwargs)
        tape._keep.append(buf)
        if call is not None:
            tape.record(make, (), {}, writes=(buf,), call=call, reads=())
        return tape.new(buf)
    create.__name__ = name
    return create


_patched = {"asarray": None, "array": None, "ascontiguousarray": None,
            **{name: _creator(name) for name in _CREATE}}
_originals = {name: getattr(np, name) for name in _patched}


def _as_rec(a):
    """A recording array stays one; a Tensor's array is looked at directly."""
    if isinstance(a, Tensor):
        a = a.__array__()  # numpy(): refuses a tensor that requires grad, as eagerly
    return a if type(a) is _Rec else None


def _asarray(a, dtype=None, order=None, **kwargs):
    r = _as_rec(a)
    if r is None:
        return _np_asarray(a, dtype, order, **kwargs)
    if dtype is not None and np.dtype(dtype) != r.dtype:
        return r.astype(dtype)
    if order in ("C",) and not r.flags.c_contiguous:
        return r.copy()
    return r


def _ascontiguousarray(a, dtype=None, **kwargs):
    r = _as_rec(a)
    if r is None:
        return _np_ascontiguousarray(a, dtype, **kwargs)
    return _asarray(r, dtype, "C")


def _array(a, dtype=None, *, copy=True, order="K", **kwargs):
    r = _as_rec(a)
    if r is None:
        return _np_array(a, dtype, copy=copy, order=order, **kwargs)
    if copy is False or copy is None:
        return _asarray(r, dtype)
    return r.astype(r.dtype if dtype is None else dtype)  # astype copies


def _forward_copies(steps, pinned, external):
    """Drop copies nobody needs: `B = A.copy()` where B is a new buffer written by nothing
    else and A a whole buffer of the same layout that no later step writes. Every later
    read of B then reads A: the same numbers in the same memory layout, so the same
    results; one numpy call less. (The engine copies gradients it passes on, so that no two
    .grad arrays share memory; inside the record nothing else can write them.) After a
    replay, two such .grad arrays may be the same memory: equal values, one buffer (a
    Tensor that held B holds A). Nothing is renamed when B is seen through a view, held by
    an optimizer or by the user as an array, or when A is written later."""
    def roots(arrays):
        return [id(_root(a)) for a in arrays]

    uses = {}  # root -> the distinct array objects that look at it
    for s in steps:
        for a in s.reads + s.writes:
            uses.setdefault(id(_root(a)), {})[id(a)] = a
    writes_at = {}
    for i, s in enumerate(steps):
        for r in roots(s.writes):
            writes_at.setdefault(r, []).append(i)
    rename, out, renamed = {}, [], {}
    for i, s in enumerate(steps):
        call = s.call
        if rename:
            call = s.call = functools.partial(call.func, *_subst(call.args, rename),
                                              **_subst(call.keywords, rename))
            s.reads = [rename.get(id(a), a) for a in s.reads]
        if call.func is np.copyto and len(call.args) == 2 and not call.keywords:
            B, A = call.args
            rb, ra = id(B), id(A)
            if (B.base is None and A.base is None and A.shape == B.shape
                    and A.dtype == B.dtype and A.flags.c_contiguous and B.flags.c_contiguous
                    and writes_at.get(rb) == [i] and rb not in external and rb not in pinned
                    and len(uses[rb]) == 1 and all(w <= i for w in writes_at.get(ra, []))
                    and not any(rb in roots(t.reads) for t in steps[:i])):
                rename[rb] = A
                renamed[rb] = A
                continue
        out.append(s)
    return out, renamed


def _subst(x, rename):
    t = type(x)
    if t is np.ndarray:
        return rename.get(id(x), x)
    if t is tuple or t is list:
        return t(_subst(v, rename) for v in x)
    if t is dict:
        return {k: _subst(v, rename) for k, v in x.items()}
    return x


def _holds(value, array):
    """Whether a Tensor's slot still holds `array` (a `.grad` may have become a Tensor)."""
    return value is array or (isinstance(value, Tensor) and _get(value, "_data") is array)


# ---- the capture -------------------------------------------------------------------------

class _Step:
    __slots__ = ("call", "reads", "writes", "fixed")

    def __init__(self, call, reads, writes, fixed=False):
        self.call, self.reads, self.writes, self.fixed = call, reads, writes, fixed


def _arrays(x, into):
    t = type(x)
    if t is np.ndarray:
        into.append(x)
    elif t is tuple or t is list:
        for v in x:
            _arrays(v, into)
    elif t is dict:
        for v in x.values():
            _arrays(v, into)
    return into


class CapturedStep:
    """The recorded numpy calls of one `with minigrad.capture()` block; `replay()` reruns
    them on the same buffers. See the module docstring."""

    def __init__(self):
        self._steps = []        # _Step, in order
        self._keep = []         # every array the steps use stays alive with us
        self._calls = ()        # what replay() runs
        self._tensors = []      # (weakref to a Tensor, slot, the array it must still hold)
        self._in_range = set()  # ids of index arrays made by argmax
        self._done = False

    # -- recording (called by _Rec) --

    def new(self, p):
        self._keep.append(p)
        return _wrap(p)

    def record(self, func, args, kwargs, writes, call=None, fixed=False, reads=None):
        if call is None:
            call = functools.partial(func, *args, **kwargs) if kwargs else \
                functools.partial(func, *args)
        if reads is None:
            reads = _arrays((args, {k: v for k, v in kwargs.items() if k != "out"}), [])
        self._steps.append(_Step(call, list(reads), list(writes), fixed))

    def after(self, func, args, kwargs, res, out):
        """Record a call that returned `res`: a view costs nothing, a new array a step."""
        if out is not None:  # the function wrote into `out`
            self.record(func, args, kwargs, writes=_arrays(kwargs["out"], []))
            return out
        if res is None:  # np.copyto, np.put, ...: wrote into one of its arguments
            call = None
            if func is np.put_along_axis and np.shape(args[2]) == np.shape(args[1]) and \
                    (rows := self._rows(args[:2], kwargs)) is not None:
                call = functools.partial(_put_rows, *rows, args[2])
            self.record(func, args, kwargs, writes=_arrays(args, []), call=call)
            return None
        if type(res) in (tuple, list):
            if all(isinstance(r, np.ndarray) and _is_view(r, args) for r in res):
                return type(res)(_wrap(r) for r in res)  # np.split: views
            if func in _DATA_SHAPES and all(isinstance(r, np.ndarray) for r in res):
                bufs = tuple(self._keep_(r) for r in res)
                self.record(func, args, kwargs, writes=bufs, fixed=True,
                            call=functools.partial(_into_many, bufs, func, args, kwargs))
                return type(res)(_wrap(b) for b in bufs)
            raise RuntimeError(f"capture cannot record {getattr(func, '__name__', func)}: "
                               "it returns several new arrays")
        if not isinstance(res, (np.ndarray, np.generic)):
            return res  # a Python value that does not depend on the data (a shape, a dtype)
        if isinstance(res, np.ndarray) and _is_view(res, args):
            return _wrap(res)  # a view: no step, it looks at a kept buffer
        buf = res if isinstance(res, np.ndarray) else np.asarray(res)
        reads = None
        if func in _FILL:
            call, reads = functools.partial(_fill, buf, _FILL[func]), ()
        elif func is np.empty_like:
            call = None
        elif func is np.ndarray.copy and len(args) == 1 and not kwargs:
            call = functools.partial(np.copyto, buf, args[0])
        elif func is np.ndarray.astype and len(args) == 2 and not kwargs:
            call = functools.partial(np.copyto, buf, args[0], "unsafe")
        elif func in _WITH_OUT and "out" not in kwargs and type(res) is np.ndarray:
            call = functools.partial(func, *args, **kwargs, out=buf)
            if func in (np.ndarray.argmax, np.argmax):
                self._in_range.add(id(buf))  # indices along an axis, never out of range
        elif func is np.take_along_axis and (rows := self._rows(args, kwargs)) is not None:
            call = functools.partial(_take_rows, buf, *rows)
        elif func is _getitem and _single_int_index(args[1]):
            call = functools.partial(_take0, buf, args[0], args[1])
        else:
            call = functools.partial(_into, buf, func, args, kwargs)
        self._keep.append(buf)
        if call is not None:
            self.record(func, args, kwargs, writes=(buf,), call=call, reads=reads,
                        fixed=func in _DATA_SHAPES or (func is _getitem and _masked(args[1])))
        return self.new(buf)

    def _rows(self, args, kwargs):
        """For take/put_along_axis on the rows of a C-contiguous matrix, with indices an
        argmax made (so in range): (flat view, indices, row offsets, scratch), else None.
        The replay then gathers (scatters) with np.take (np.put) at index + row * width:
        the same elements, without take_along_axis's Python-level index building."""
        a, index = args[0], args[1]
        axis = kwargs.get("axis", args[2] if len(args) > 2 else None)
        if not (type(a) is np.ndarray and a.ndim == 2 and axis in (1, -1)
                and a.flags.c_contiguous and id(index) in self._in_range
                and type(index) is np.ndarray and index.shape[0] == a.shape[0]):
            return None
        offsets = (np.arange(a.shape[0]) * a.shape[1])[:, None].astype(index.dtype)
        tmp = np.empty(index.shape, index.dtype)
        self._keep += [offsets, tmp]
        return a.reshape(-1), index, offsets, tmp

    def _keep_(self, p):
        self._keep.append(p)
        return p

    # -- after the block --

    def _finish(self, live, external, pinned=frozenset()):
        """Drop constant and dead steps; build the replay list.

        live: roots of the arrays alive after the block (Tensors, optimizer states, arrays
        the user holds); external: roots of the arrays that existed before it (parameters,
        inputs: the user may write them between replays).
        """
        steps = self._steps
        writers = {}
        for s in steps:
            for w in s.writes:
                writers[id(_root(w))] = writers.get(id(_root(w)), 0) + 1
        # Constants: a step that alone writes its result, from arrays that nothing writes
        # between replays (constants, or results of constant steps), computes the same
        # value every time. It ran once, at capture time; replay skips it.
        constant, kept = set(), []
        for s in steps:
            roots = [id(_root(w)) for w in s.writes]
            if not s.fixed and all(writers[r] == 1 and r not in external for r in roots) \
                    and all(id(_root(a)) not in writers and id(_root(a)) not in external
                            or id(_root(a)) in constant for a in s.reads):
                constant.update(roots)
                continue
            kept.append(s)
        # Dead code: walking backwards, a step is needed if it writes an array read by a
        # later needed step or alive after the block; a guard (a shape check) always is.
        needed = set(live) | external
        steps, kept = kept, []
        for s in reversed(steps):
            roots = {id(_root(w)) for w in s.writes}
            if s.fixed or roots & needed:
                kept.append(s)
                needed.update(id(_root(a)) for a in s.reads)
        kept.reverse()
        kept, renamed = _forward_copies(kept, pinned, external)
        self._steps = kept
        self._calls = tuple(s.call for s in kept)
        return {id(_root(a)) for s in kept for a in s.reads + s.writes}, renamed

    def replay(self):
        """Run the recorded numpy calls again, on the captured buffers."""
        for ref, slot, array in self._tensors:
            t = ref()
            if t is not None and not _holds(_get(t, slot), array):
                raise RuntimeError(
                    "captured tensor's buffer was replaced since capture (t.data = ..., or a "
                    "new shape): replay would read the old one. Refill inputs in place with "
                    "t.copy_(new), same shape; capture again for new shapes")
        for call in self._calls:
            call()

    def __len__(self):
        return len(self._calls)

    def __repr__(self):
        return f"<CapturedStep: {len(self._calls)} numpy calls>"


class capture:
    """`with minigrad.capture() as step:` records the block's numpy calls; `step.replay()`
    runs them again. See the module docstring for what is captured and what is refused."""

    def __init__(self):
        self.step = CapturedStep()
        self._swapped = []

    def __enter__(self):
        if _active[0] is not None:
            raise RuntimeError("minigrad.capture() cannot be nested")
        step = self.step
        gc.collect()
        tensors = [o for o in gc.get_objects() if issubclass(type(o), Tensor)]
        optimizers = [o for o in gc.get_objects() if issubclass(type(o), Optimizer)]
        recs = {}

        def rec(p):
            r = recs.get(id(p))
            if r is None:
                r = recs[id(p)] = _wrap(p)
                step._keep.append(p)
            return r

        for t in tensors:
            for slot in ("_data", "_grad"):
                p = _get(t, slot)
                if type(p) is np.ndarray:
                    r = rec(p)
                    _set(t, slot, r)
                    self._swapped.append((t, slot, p, r))
        for opt in optimizers:
            for state in opt.state.values():
                for k, v in state.items():
                    if type(v) is np.ndarray:
                        state[k] = rec(v)
                        self._swapped.append((state, k, v, state[k]))
        _patched.update(asarray=_asarray, array=_array, ascontiguousarray=_ascontiguousarray)
        for name, f in _patched.items():
            setattr(np, name, f)
        self._state_before = {id(o): set(map(id, o.state)) for o in optimizers}
        _active[0] = step
        return step

    def __exit__(self, exc_type, exc, tb):
        _active[0] = None
        for name, f in _originals.items():
            setattr(np, name, f)
        step = self.step
        # Every Tensor and optimizer state gets plain arrays back: the original ones where
        # we swapped, the kept result buffers for the ones made inside the block.
        live, checks, new_state = set(), [], False
        pinned = set()  # roots seen other than as a Tensor's whole array: never renamed
        slots = {}      # id of a whole array -> the Tensor slots that hold it
        originals = {id(r): p for _, _, p, r in self._swapped}
        external = {id(_root(p)) for _, _, p, _ in self._swapped}
        for o in gc.get_objects():
            if issubclass(type(o), Tensor):
                for slot in ("_data", "_grad"):
                    v = _get(o, slot)
                    if type(v) is _Rec:
                        p = originals.get(id(v))
                        if p is not None:
                            checks.append((o, slot, p))
                        else:
                            p = _plain(v)
                        _set(o, slot, p)
                        live.add(id(_root(p)))
                        if p.base is None:
                            slots.setdefault(id(p), []).append((o, slot))
                        else:
                            pinned.add(id(_root(p)))
            elif issubclass(type(o), Optimizer):
                if set(map(id, o.state)) - self._state_before.get(id(o), set()):
                    new_state = True
                for state in o.state.values():
                    for k, v in state.items():
                        if type(v) is _Rec:
                            p = originals.get(id(v))
                            p = state[k] = _plain(v) if p is None else p
                            live.add(id(_root(p)))
                            pinned.add(id(_root(p)))
        # What still holds a recording array now that no Tensor does: the user
        # (t.numpy() inside the block), an op of the graph. Alive, and never renamed.
        o = v = None
        for o in gc.get_objects():
            if type(o) is _Rec:
                live.add(id(_root(_plain(o))))
                pinned.add(id(_root(_plain(o))))
        o = None
        self._swapped.clear()
        if exc_type is None and new_state:
            raise RuntimeError(
                "capture recorded an optimizer's first step (its state was created inside "
                "the block): later steps take another path in Python. Run one step eagerly "
                "before capturing (torch's CUDA graphs also need a warm-up)")
        if exc_type is None:
            used, renamed = step._finish(live, external, pinned)
            for old, new in renamed.items():  # a Tensor that held a dropped copy holds A
                for o, slot in slots.get(old, ()):
                    _set(o, slot, new)
            # replay() checks that the Tensors it reads still hold the captured buffers
            step._tensors = [(weakref.ref(t), slot, p) for t, slot, p in checks
                             if id(_root(p)) in used]
        return False
