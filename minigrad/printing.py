"""How a Tensor prints: torch's layout, so a lecture's printout reads the same on minigrad.

torch's rules (its default print options), followed here:
- floats get 4 decimals; scientific notation (4 digits) when the nonzero finite magnitudes
  span more than a factor 1000, or reach 1e8, or go below 1e-4; floats that are all whole
  numbers print as `1.` (scientific past the same span);
- every value is right-aligned to the widest one;
- more than 1000 values are summarised: 3 items at each end of every dimension, `...`
  between (the format is chosen from the items shown);
- a row wraps to stay within 80 columns, continuation lines indented under the first value;
- suffixes follow the values: the dtype when it is not a default one (float32, int64, bool),
  and `requires_grad=True` on a leaf, `grad_fn=<op>` on a result (named by minigrad's op).
"""

import math

import numpy as np

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = 4, 1000, 3, 80


class _Formatter:
    """Chooses one format (fixed, whole-number or scientific) and width for every value."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max([len(str(v)) for v in flat.tolist()] or [1])
            return
        nonzero = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if nonzero.size == 0:
            return
        magnitudes = np.abs(nonzero)
        lo, hi = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(nonzero == np.ceil(nonzero)))
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
            texts = [f"{v:.{PRECISION}e}" for v in nonzero] if self.sci_mode else \
                [f"{v:.0f}." for v in nonzero]  # the "." says: a float
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
            texts = [f"{v:.{PRECISION}{'e' if self.sci_mode else 'f'}}" for v in nonzero]
        self.width = max(len(t) for t in texts)

    def format(self, value):
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:.{PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRECISION}f}"
        return text.rjust(self.width)


def _summarised(values):
    """The items a summarised print shows: EDGEITEMS at each end of every dimension."""
    if values.ndim == 0:
        return values
    if values.shape[0] > 2 * EDGEITEMS:
        values = np.concatenate([values[:EDGEITEMS], values[-EDGEITEMS:]])
    if values.ndim == 1:
        return values
    return np.stack([_summarised(row) for row in values])


def _body(values, indent, summarise, fmt):
    """The bracketed values of an array with at least one dimension."""
    if values.ndim == 1:
        per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))  # ", " between values
        if summarise and values.shape[0] > 2 * EDGEITEMS:
            items = [fmt.format(v) for v in values[:EDGEITEMS].tolist()] + [" ..."] + \
                [fmt.format(v) for v in values[-EDGEITEMS:].tolist()]
        else:
            items = [fmt.format(v) for v in values.tolist()]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(values.shape[0])
    if summarise and values.shape[0] > 2 * EDGEITEMS:
        rows = list(range(EDGEITEMS)) + [None] + list(range(len(rows) - EDGEITEMS, len(rows)))
    parts = ["..." if i is None else _body(values[i], indent + 1, summarise, fmt) for i in rows]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def tensor_repr(tensor, default_float):
    """`tensor([...], <suffixes>)` as torch prints it."""
    values = tensor._data
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    defaults = (np.dtype(default_float), np.dtype("int64"), np.dtype("bool"))
    if values.size == 0:
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if values.dtype != np.dtype(default_float):  # nothing shows an empty tensor's dtype
            suffixes.append(f"dtype=minigrad.{values.dtype}")
        body = "[]"
    else:
        if values.dtype not in defaults:
            suffixes.append(f"dtype=minigrad.{values.dtype}")
        summarise = values.size > THRESHOLD
        fmt = _Formatter(_summarised(values) if summarise else values)
        body = fmt.format(values.item()) if values.ndim == 0 else \
            _body(values, indent, summarise, fmt)
    if tensor._op is not None and tensor.requires_grad:
        suffixes.append(f"grad_fn=<{tensor._op.name}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    out = prefix + body
    last_line = len(out) - out.rfind("\n") + 1
    for suffix in suffixes:  # on the last line if it fits in the width, else on a new one
        if last_line + len(suffix) + 2 > LINEWIDTH:
            out += ",\n" + " " * indent + suffix
            last_line = indent + len(suffix)
        else:
            out += ", " + suffix
            last_line += len(suffix) + 2
    return out + ")"
