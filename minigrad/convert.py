"""Checking and converting what users pass in: data, dtypes, dims, shapes and indices.

Everything here answers "is this input acceptable, and as what numpy value?", and raises
torch's exception class with torch's key phrase when it is not (semantics policy 9 of
docs/design.md). None of it is autograd: the engine core (tensor.py, ops.py, autograd.py)
calls it at its edges.
"""

import math

import numpy as np

float32, float64, int64, int32, bool_ = (np.dtype(t) for t in ("float32", "float64", "int64",
                                                                 "int32", "bool"))

# torch.set_default_dtype: the dtype Python floats and float factories (zeros, randn, ...)
# give. One process-wide value, as in torch (it is not thread-local there either).
_default = {"float": float32}


def default_float():
    return _default["float"]


def set_default_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type "
                        f"(got {dtype})")
    _default["float"] = dtype


def as_array(data, dtype=None):
    """numpy array from user data, with torch's defaults: the default float dtype (float32
    unless set_default_dtype changed it) for floats, int64 for ints.

    numpy input keeps its dtype, as torch.from_numpy does.
    """
    if hasattr(data, "_requires_grad"):  # a Tensor (no import: tensor.py imports us)
        data = data._data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data)
        except ValueError:
            raise ValueError(f"expected sequence of equal length at every dim: {data!r:.60} "
                             "is ragged") from None
        if array.dtype.kind == "f":
            array = array.astype(_default["float"])
        elif array.dtype.kind in "iu":
            array = array.astype(int64)
    if array.dtype.kind not in "biuf":
        _refuse(data, array)
    return array if dtype is None else array.astype(dtype, copy=False)


def _refuse(data, array):
    """Raise torch's exception for data that is not numbers (its class differs by case)."""
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, str):
        raise TypeError(f"can't convert np.ndarray of type numpy.{array.dtype.type.__name__}. "
                        "The only supported types are: floats, integers and bool.")
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    if array.dtype.kind in "US":  # torch reads a string inside a list as one more dimension
        raise ValueError("too many dimensions 'str'")
    bad = next((v for v in array.flat if not isinstance(v, (bool, int, float))), data)
    raise RuntimeError(f"Could not infer dtype of {type(bad).__name__}")


def scalar_dtype(tensor_dtype, value):
    """The dtype a Python scalar takes next to a tensor: it never widens the tensor.

    float32 * 2.5 stays float32; an integer tensor meeting a float takes torch's default
    float dtype (float32 unless changed); a bool tensor meeting an int becomes int64.
    """
    if isinstance(value, bool):
        return tensor_dtype
    if isinstance(value, int):
        return int64 if tensor_dtype == bool_ else tensor_dtype
    return tensor_dtype if tensor_dtype.kind == "f" else _default["float"]


def result_dtype(a, b):
    """torch's promotion between two tensors (a, b: the Tensors): float beats integer, the
    wider float wins, and a 0-d tensor does not widen a dimensioned one of its kind."""
    da, db = a._data.dtype, b._data.dtype
    if da.kind == "f" and db.kind == "f" and (a._data.ndim == 0) != (b._data.ndim == 0):
        return db if a._data.ndim == 0 else da
    if (da.kind == "f") != (db.kind == "f"):
        return da if da.kind == "f" else db
    return np.promote_types(da, db)


def dim(d, ndim):
    """A non-negative axis, or torch's IndexError for one out of range."""
    n = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in torch
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {d})")
    return d % n


def keepdim(keepdim, keepdims):
    """torch accepts `keepdims=` (numpy's spelling) as an alias of `keepdim=`."""
    return keepdim if keepdims is None else keepdims


def dims(d, ndim):
    """A tuple of non-negative axes from None, an int, or a tuple/list (empty means all)."""
    if d is None or (isinstance(d, (tuple, list)) and not d):
        return tuple(range(ndim))
    axes = tuple(dim(a, ndim) for a in (d if isinstance(d, (tuple, list)) else (d,)))
    for a in axes:
        if axes.count(a) > 1:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return axes if ndim else ()


def broadcast_error(a_shape, b_shape):
    """torch's RuntimeError for shapes that do not broadcast (numpy says ValueError)."""
    for i in range(1, min(len(a_shape), len(b_shape)) + 1):
        m, n = a_shape[-i], b_shape[-i]
        if m != n and m != 1 and n != 1:
            raise RuntimeError(f"The size of tensor a ({m}) must match the size of tensor b "
                               f"({n}) at non-singleton dimension "
                               f"{max(len(a_shape), len(b_shape)) - i}")


def matmul_dtypes(a, b):
    """b, if a @ b has one dtype: torch's matmul never promotes (float32 @ float64 is an error)."""
    if b.__class__ is a.__class__ and b.dtype != a.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{a.dtype} != {b.dtype}")
    return b


def matmul_shapes(a_shape, b_shape):
    """torch's RuntimeError for operands that cannot be multiplied."""
    if not a_shape or not b_shape:
        raise RuntimeError("both arguments to matmul need to be at least 1D")
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if a_shape[-1] != k_b:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({'x'.join(map(str, a_shape))} and {'x'.join(map(str, b_shape))})")
    if len(a_shape) > 2 and len(b_shape) > 2:
        broadcast_error(a_shape[:-2], b_shape[:-2])


def size_args(size, fn="view"):
    """(2, 3) from f(2, 3) or f((2, 3)) or f([2, 3]); integers only, as torch.

    A float or a bool is refused with torch's TypeError ("must be tuple of ints"); numpy
    integers are fine. Negative entries pass here (view's -1): new_size refuses them.
    """
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for n in size:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{fn}(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(n).__name__}")
    return tuple(int(n) for n in size)


def new_size(size, fn):
    """The size of a new tensor (zeros, ones, randn, ...): integers, none negative.

    torch raises RuntimeError for a negative size; `zeros` words it its own way.
    """
    shape = size_args(size, fn)
    bad = [n for n in shape if n < 0]
    if bad and fn == "zeros":
        raise RuntimeError("zeros: Dimension size must be non-negative.")
    if bad:
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad[0]}: "
                           f"[{', '.join(map(str, shape))}]")
    return shape


def reshape_target(shape, size):
    """Check a reshape/view target (one -1 at most) against the number of elements."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(n for n in shape if n != -1)
    if (-1 not in shape and known != size) or (-1 in shape and (known == 0 or size % known)) \
            or any(n < -1 for n in shape):
        raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input "
                           f"of size {size}")
    return shape


def index(idx, ndim):
    """A numpy index from a torch one; returns (index, is_basic).

    Tensors, lists and ranges become integer or boolean arrays (advanced indexing); an index
    of only ints, slices, None and Ellipsis is basic (it never repeats an element).
    """
    items = idx if isinstance(idx, tuple) else (idx,)
    out, basic = [], True
    for item in items:
        if hasattr(item, "_requires_grad"):  # a Tensor
            item = item._data
        elif isinstance(item, range):  # logprobs[range(n), Yb]: no Python-level iteration
            item = np.arange(item.start, item.stop, item.step)
        elif isinstance(item, list):
            item = np.asarray(item)
            if item.size == 0:
                item = item.astype(int64)
        elif isinstance(item, float):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte Variables are valid indices (got float)")
        if isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iu":
            item = int(item)  # torch reads a 0-d integer tensor as an int: a select
        if isinstance(item, np.ndarray):
            if item.dtype.kind not in "iub":
                raise IndexError(f"tensors used as indices must be long, int, byte or bool "
                                 f"tensors (got {item.dtype})")
            basic = False
        elif ndim == 0 and isinstance(item, slice):
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        elif ndim == 0 and item is not None and item is not Ellipsis:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        out.append(item)
    if not basic and sum(item is Ellipsis for item in out) == 1 and ndim == sum(
            (item.ndim if item.dtype == bool_ else 1) if isinstance(item, np.ndarray)
            else item is not None and item is not Ellipsis for item in out):
        # An Ellipsis that stands for no axis: numpy still counts arrays on either side as
        # apart (and moves their axes first), torch counts them as adjacent. Drop it.
        out = [item for item in out if item is not Ellipsis]
    return (tuple(out) if isinstance(idx, tuple) else out[0]), basic


def _is_int(item):
    return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))


def ints_first(index):
    """(the ints, the rest) for an advanced index that holds ints, else None.

    torch applies the ints of an index first, as selects, then the arrays; numpy counts an
    int among the advanced indices, which moves the result's axes when a slice separates it
    from an array. For x of shape (2, 3, 4), torch's x[0, :, [1, 2]] has shape (3, 2) and
    numpy's (2, 3). Indexing with the two halves in turn gives torch's result.
    """
    if not isinstance(index, tuple) or not any(_is_int(item) for item in index):
        return None
    first, rest = [], []
    for item in index:
        if _is_int(item):
            first.append(item)
        elif isinstance(item, np.ndarray):  # keep the axes an array covers (none if 0-d)
            first += [slice(None)] * (item.ndim if item.dtype == bool_ else 1)
            rest.append(item)
        elif item is None:  # the new axis is made first, then passed over
            first.append(None)
            rest.append(slice(None))
        else:  # a slice is taken second; an Ellipsis stands in both halves
            first.append(slice(None) if isinstance(item, slice) else item)
            rest.append(item)
    return tuple(first), tuple(rest)


def permutation(dims, ndim):
    """The non-negative dims of a permute, checked in torch's order (length, range, repeats)."""
    if len(dims) != ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {ndim} is not equal to len(dims) = {len(dims)}")
    dims = tuple(dim(d, ndim) for d in dims)
    if len(set(dims)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return dims


# ---- checks of the Tensor's own attributes and of backward's seed (tensor.py) -------------

def check_grad(value, t):
    """torch's refusals to assign `t.grad = value`."""
    if value is None:
        return
    if value.__class__.__name__ != "Tensor":
        raise TypeError("assigned grad expected to be a Tensor or None but got grad "
                        f"of type {type(value).__name__}")
    if value.shape != t.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to "
                           f"a tensor of size '{list(t.shape)}'. Please ensure that the "
                           "gradient and the tensor are the same size")
    if value.dtype != t.dtype:
        raise RuntimeError(f"attempting to assign a gradient with dtype '{value.dtype}' to a "
                           f"tensor with grad_dtype '{t.dtype}'. The gradient must match the "
                           "tensor's grad_dtype (defaults to the tensor's dtype).")


def check_requires_grad(t, value):
    """torch's refusals to set `t.requires_grad = value`."""
    if value and t.dtype.kind != "f":
        raise RuntimeError("only Tensors of floating point dtype can require gradients "
                           f"(got {t.dtype})")
    if t.op is not None:  # torch refuses both True and False on a non-leaf
        raise RuntimeError("you can only change requires_grad flags of leaf variables.")


def seed_gradient(root, gradient):
    """backward's seed d(root)/d(root) as a new array of root's shape and dtype: ones for a
    one-element root by default, else a copy of `gradient`; torch's refusals otherwise."""
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn")
    if gradient is None:
        if root.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return np.asarray(1, root.dtype).reshape(root.shape)  # (np.ones is Python: 2x slower)
    gradient = np.array(as_array(gradient), dtype=root.dtype)  # a copy
    if gradient.shape != root.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {gradient.shape} "
                           f"and output[0] has a shape of {root.shape}.")
    return gradient


def power(base, exponent):
    """(base, exponent) for `base ** exponent` with torch's dtypes: an int tensor to a float
    power is a float, bool to an int power is int64; an int to a negative int is refused."""
    exponent = float(exponent) if isinstance(exponent, float) else int(exponent)
    kind = base._data.dtype.kind
    if kind == "f":  # the common case: nothing to refuse or promote
        return base, exponent
    if isinstance(exponent, int) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if isinstance(exponent, float):
        base = base.float()
    return (base.long() if base.dtype == np.bool_ else base), exponent


def max_dim(t, dim):
    """torch's refusals for `t.max(dim)` over nothing; the axis of a max over `dim`."""
    if dim is None:
        if t.numel() == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the "
                               "'dim' argument.")
        return None
    axis = dims(dim, t.ndim)[0] if t.ndim else dims(dim, t.ndim)
    if t.ndim and t.shape[axis] == 0:
        raise IndexError(f"max(): Expected reduction dim {axis} to have non-zero size.")
    return axis
