"""The gradient check that gates the timing: every non-torch step against torch.

For each configuration, every implementation starts from the same float32 parameters and
sees the same batch. Its loss and its seven parameter gradients must match torch's within
the float32 bound of DESIGN.md, per tensor and scale-aware:

    max|a - b| <= 1e-6 + 1e-5 * max|b|

(element-wise tolerances fail honest float32 code once a reduction is a few hundred long).
Then three SGD steps are taken with each and the parameters compared the same way, so the
update is checked too. Any mismatch or exception aborts the benchmark: a fast wrong step
is not worth timing.
"""

import traceback

import numpy as np

from .common import PARAM_NAMES, init_params, make_batches, make_trainer, parse_config

ATOL = 1e-6
RTOL = 1e-5
LR = 0.1
SGD_STEPS = 3


def within_bound(a, b):
    """(max|a - b|, bound, ok) with the scale-aware float32 bound; b is the reference."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf"), 0.0, False
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    bound = ATOL + RTOL * (float(np.max(np.abs(b))) if b.size else 0.0)
    return err, bound, bool(err <= bound)   # a NaN error compares False: it fails


def check_config(config, impls):
    """Check `impls` (names other than "torch") on one config; returns a list of records."""
    batch, hidden = parse_config(config)
    params = init_params(hidden)
    batches = make_batches(batch, SGD_STEPS, seed=4242)
    oracle, _ = make_trainer("torch", params, LR, threads=1)
    ref_loss, ref_grads = oracle.grads(oracle.prepare(*batches[0]))
    for Xb, Yb in batches:
        oracle.step(oracle.prepare(Xb, Yb))
    ref_params = oracle.param_arrays()

    records = []
    for impl in impls:
        record = {"impl": impl, "config": config, "ok": True, "worst": None, "error": None,
                  "tensors": {}}
        try:
            trainer, _ = make_trainer(impl, params, LR)
            loss, grads = trainer.grads(trainer.prepare(*batches[0]))
            checks = [("loss", loss, ref_loss)]
            checks += [("d" + k, grads[k], ref_grads[k]) for k in PARAM_NAMES]
            for Xb, Yb in batches:
                trainer.step(trainer.prepare(Xb, Yb))
            after = trainer.param_arrays()
            checks += [(k + " after SGD", after[k], ref_params[k]) for k in PARAM_NAMES]
            for name, a, b in checks:
                err, bound, ok = within_bound(a, b)
                record["tensors"][name] = {"max_abs_err": err, "bound": bound, "ok": ok}
                record["ok"] &= ok
                ratio = err / bound
                if record["worst"] is None or ratio > record["worst"][1]:
                    record["worst"] = (name, ratio)
        # Whatever the engine raises is a finding: keep the exact error, report, abort.
        except Exception as exc:  # noqa: BLE001
            record["ok"] = False
            record["error"] = f"{type(exc).__name__}: {exc}"
            record["traceback"] = traceback.format_exc()
        records.append(record)
    return records


def describe(record):
    """One line for the console."""
    head = f"check {record['impl']:<14} {record['config']:>9}: "
    if record["error"]:
        return head + "ERROR " + record["error"]
    name, ratio = record["worst"]
    if record["ok"]:
        return head + f"ok (worst {name}: error at {ratio:.3f} of the bound)"
    bad = [k for k, v in record["tensors"].items() if not v["ok"]]
    lines = [head + "MISMATCH in " + ", ".join(bad)]
    for k in bad:
        v = record["tensors"][k]
        lines.append(f"    {k}: max|a-b| = {v['max_abs_err']:.3e} > bound {v['bound']:.3e}")
    return "\n".join(lines)
