"""The one label builder: what a tensor node and an op node say, as graphviz HTML-like labels.

A tensor node is a small table: a header (label, shape, dtype), a `data` row and a `grad` row.
A 0-d tensor is drawn as micrograd draws a Value, one row `name | data 2.0000 | grad -1.5000`.
Each row shows the values themselves for a tiny tensor (up to TINY elements) and
mean / std / min / max for a larger one, so a label never grows with the tensor.

Every user-supplied string passes through `html.escape`: graphviz parses these labels as XML,
so a label like "a<b" or "x & y" would otherwise break the whole picture.
Nothing here walks the graph or knows about DOT syntax beyond the label itself.
"""

import functools
import html
import math
import re

import numpy as np

TINY = 6  # tensors with at most this many elements show their values, larger ones their stats

# Fill colours by role. Light tints, so black text stays readable on all of them.
ROLE_COLOURS = {
    "param": "#cfe3ff",         # leaf that requires grad: what an optimiser updates
    "input": "#ececec",         # leaf that does not: data, indices, constants
    "intermediate": "#ffffff",  # made by an op
    "root": "#e6d4ff",          # the tensor the picture was drawn from (usually the loss)
}
# Backward step by step (steps.py): a grad not yet final, final, and the one that just became
# final. Pending grads keep their text, drawn in the cell's own colour: every frame then has
# the same node sizes, so dot lays every frame out alike and the picture does not jump.
STEP_COLOURS = {"final": "#c8efcf", "current": "#ffd54f"}
# Parity with a reference (a minigrad.check report against torch, or hand-derived grads
# against the engine's): exact, within tolerance, mismatched.
PARITY_COLOURS = {"exact": "#b9f2c4", "close": "#ffe08a", "mismatch": "#ff9c9c"}
ALARM = "#d40000"    # NaN / inf: a red border and "nan!" in red
SUSPECT = "#e07000"  # a gradient that is exactly zero everywhere (or missing) after backward
MUTED = "#666666"    # secondary text: shapes, dtypes, row names

MAX_ARG_CHARS = 36


def fmt_number(x):
    """One number, micrograd style (`2.0000`) where that is exact enough, else scientific.

    A fixed 4 decimals would print 3e-7 as 0.0000, and a reader would take a tiny
    gradient for a zero one; that is the mistake these pictures must not invite.
    """
    if type(x) is not float:  # the usual case first: .item() of a float array is a float
        if isinstance(x, (bool, np.bool_)):
            return str(bool(x))
        if isinstance(x, (int, np.integer)):
            return str(int(x))
        x = float(x)
    if not math.isfinite(x):
        return str(x)  # 'nan', 'inf', '-inf'
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.4f}"
    return f"{x:.3e}"


def fmt_shape(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


@functools.cache
def _shape_dtype(shape, dtype):
    """'(32, 64) float32', cached: str(dtype) is slow and a graph repeats a few shapes."""
    return font(f"{fmt_shape(shape)} {dtype}", MUTED, 9)


def _fmt_values(a):
    """The values of a tiny array, nested like numpy prints them, one row per line."""
    if a.ndim == 0:
        return fmt_number(a.item())
    if a.ndim == 1:
        return "[" + ", ".join(fmt_number(v) for v in a.tolist()) + "]"
    # One line per row of the last two axes; brackets show the nesting.
    rows = [_fmt_values(r) for r in a.reshape(-1, a.shape[-1])]
    depth = a.ndim - 1
    return "[" * depth + ("<BR/>" + " " * depth).join(rows) + "]" * depth


def summarize(a, one_line=False):
    """What a data or grad row shows: values when tiny, stats when large. HTML-safe text.

    Stats take two lines (narrow nodes suit a left-to-right layout) or one (short nodes suit
    top-to-bottom, where a deep graph is otherwise very tall).
    """
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.size <= TINY:
        return _fmt_values(a)
    f = a.astype(np.float64)  # stats of float32 in float32 drift over a long sum
    with np.errstate(invalid="ignore", over="ignore"):  # nan/inf are marked, not warned
        mean, std, lo, hi = f.mean(), f.std(), f.min(), f.max()
    if a.dtype.kind in "iub":
        lo, hi = a.min(), a.max()  # exact integers, not 1.0000
    return (f"mean {fmt_number(mean)}  std {fmt_number(std)}" + ("  " if one_line else "<BR/>")
            + f"min {fmt_number(lo)}  max {fmt_number(hi)}")


def nonfinite(a):
    """'nan!', 'inf!' or None: the alarm text for an array holding NaN or infinity."""
    if a is None:
        return None
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return None
    if a.size == 1:  # the common scalar case, without three ufunc calls
        x = float(a.item())
        return None if math.isfinite(x) else ("nan!" if math.isnan(x) else "inf!")
    if np.isfinite(a).all():
        return None
    return "nan!" if np.isnan(a).any() else "inf!"


def font(text, colour=None, size=None, bold=False):
    attrs = (f' COLOR="{colour}"' if colour else "") + (f' POINT-SIZE="{size}"' if size else "")
    text = f"<B>{text}</B>" if bold else text
    return f"<FONT{attrs}>{text}</FONT>" if attrs else text


def _parity(row):
    """(colour, text) for one minigrad.check row, read duck-typed; None when not compared."""
    if row is None:
        return None
    diffs = []
    for name, value in (("value", row.value_max_abs_diff), ("grad", row.grad_max_abs_diff)):
        if value is not None:
            diffs.append(f"{name} {value:.2g}")  # an error needs two digits, not four
    detail = (", max|Δ| " + ", ".join(diffs)) if diffs else ""
    if row.exact:
        return PARITY_COLOURS["exact"], "exact"
    if row.close:
        return PARITY_COLOURS["close"], "close" + detail
    return PARITY_COLOURS["mismatch"], "MISMATCH" + detail


_COLOUR = re.compile(r' COLOR="[^"]*"')


@functools.cache
def _row_name(name):
    return font(html.escape(name), MUTED, 9)


def _compared(row):
    """(value compared, grad compared) for a report row. compare_grads' rows compare only
    the gradient (no value difference); compare_with_torch's the value, and the gradient
    where the node has one."""
    if row is None:
        return False, False
    value = row.value_max_abs_diff is not None
    return value, not value or row.grad_max_abs_diff is not None


def tensor_label(t, name, role, backward_ran, row=None, compared=False, one_line=False,
                 step=None, reference="torch"):
    """The HTML label of one tensor node (a table; its border colour and width carry alarms).

    `row` is this tensor's minigrad.check row; `compared` says a report was given at all, so
    a tensor missing from it can say so instead of looking like it passed. `reference` names
    what the report compared with ("torch" or "engine"); only the rows it compared (data,
    grad) take the parity colour. `step` is this tensor's state in a backward step-through:
    "pending", "final", "current" or None.
    """
    header_fill = ROLE_COLOURS[role]
    parity = _parity(row)
    value_compared, grad_compared = _compared(row)
    fills = {"data": parity[0] if parity and value_compared else header_fill,
             "grad": parity[0] if parity and grad_compared else header_fill,
             reference: parity[0] if parity else header_fill}
    if step in STEP_COLOURS:
        fills = dict.fromkeys(fills, STEP_COLOURS[step])
    body_fill = fills["grad"]
    border, width = "#444444", 1
    data = t._data
    info = _shape_dtype(data.shape, data.dtype)

    data_text = summarize(data, one_line)
    alarm = nonfinite(data)
    if alarm:
        data_text += " " + font(alarm, ALARM, bold=True)
        border, width = ALARM, 3
    cells = [("data", data_text)]

    if t.requires_grad:
        grad = t._grad_array()
        if grad is None:
            grad_text = font("None", MUTED)
            if backward_ran:  # backward visited the graph but nothing reached this node
                grad_text += " " + font("no grad!", SUSPECT, bold=True)
                if width < 3:
                    border, width = SUSPECT, 2
        else:
            grad_text = summarize(grad, one_line)
            alarm = nonfinite(grad)
            if alarm:
                grad_text += " " + font(alarm, ALARM, bold=True)
                border, width = ALARM, 3
            elif backward_ran and grad.size > 1 and not np.any(grad):
                # A whole tensor of exact zeros is legal but usually a bug (dead tanh units,
                # a detached path); flag it so a reader checks instead of trusting it. One
                # zero is common and innocent (micrograd's w2, multiplied by x2 = 0).
                grad_text += " " + font("all zero!", SUSPECT, bold=True)
                if width < 3:
                    border, width = SUSPECT, 2
        if step == "pending":  # same text, invisible: the node keeps its size (see above)
            grad_text = font(_COLOUR.sub("", grad_text), body_fill)
        cells.append(("grad", grad_text))
    if parity:
        cells.append((reference, font(html.escape(parity[1]), size=9)))
    elif compared:
        cells.append((reference, font("not compared", MUTED, 9)))

    title = font(html.escape(name), bold=True)
    if data.ndim == 0:
        # micrograd's Value layout: one row, fields side by side.
        tds = [f'<TD BGCOLOR="{header_fill}">{title}<BR/>{info}</TD>']
        tds += [f'<TD BGCOLOR="{fills[k]}">{_row_name(k)} {v}</TD>' for k, v in cells]
        rows = "<TR>" + "".join(tds) + "</TR>"
        rules = 'COLUMNS="*"'
    else:
        rows = f'<TR><TD COLSPAN="2" BGCOLOR="{header_fill}">{title}  {info}</TD></TR>'
        rows += "".join(
            f'<TR><TD BGCOLOR="{fills[k]}">{_row_name(k)}</TD>'
            f'<TD BGCOLOR="{fills[k]}" ALIGN="LEFT" BALIGN="LEFT">{v}</TD></TR>'
            for k, v in cells)
        rules = 'ROWS="*"'
    table = (f'<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" '
             f'COLOR="{border}" {rules}>{rows}</TABLE>')
    return table


def _short(value):
    """An op argument, short enough for a node: arrays become their shape, not their values."""
    if isinstance(value, np.ndarray):
        return f"arr{fmt_shape(value.shape)}" if value.size > TINY else str(value.tolist())
    if isinstance(value, slice):
        parts = ["" if v is None else str(v) for v in (value.start, value.stop, value.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if value.step is not None else "")
    if value is Ellipsis:
        return "..."
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_short(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else \
            (f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, range):
        return f"range({value.start}, {value.stop})"
    return repr(value)


def op_args(op):
    """The key arguments of an op (`dim=(1,) keepdim=True`): those its class lists in `args`."""
    parts = []
    for name in getattr(op, "args", ()):
        value = getattr(op, name)
        if value is None or value is False:
            continue  # torch's defaults (keepdim=False, dim=None): saying so is noise
        text = _short(value)
        if len(text) > MAX_ARG_CHARS:
            text = text[:MAX_ARG_CHARS - 1] + "…"
        parts.append(f"{name}={text}")
    return parts


@functools.cache
def _op_title(name):
    return font(html.escape(name), bold=True)


def op_label(op, constants=()):
    """HTML label for an op node: its name, its key arguments, and folded scalar constants.

    `constants` are the 0-d constant inputs (Python scalars the operators wrapped) drawn
    inside the op rather than as nodes of their own: `mul  × -1` reads better than a
    separate box holding -1 for every subtraction.
    """
    lines = [_op_title(op.name)]
    lines += [font(html.escape(a), MUTED, 9) for a in op_args(op)]
    symbol = {"mul": "× ", "add": "+ "}.get(op.name, "with ")
    # %g: a constant is exact and short (-1, 0.03125, 1e-05); 4 fixed decimals would not be
    lines += [font(html.escape(f"{symbol}{c.item():.6g}"), MUTED, 9) for c in constants]
    return "<BR/>".join(lines)


def box_label(scope_name, n_ops, n_tensors):
    """HTML label for a collapsed scope: its name and how much it hides."""
    count = f"{n_ops} op{'s' * (n_ops != 1)}, {n_tensors} tensor{'s' * (n_tensors != 1)}"
    return font(html.escape(scope_name), bold=True) + "<BR/>" + font(count, MUTED, 9)
