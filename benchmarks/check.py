"""The gradient check that gates the timing: every non-torch step against torch.

For each configuration, every implementation starts from the same float32 parameters and
sees the same batch. Its loss and its seven parameter gradients must match torch's by the
project's one definition, minigrad.check.verdict: as accurate as torch against the truth, the
same step run by torch in float64 from the same float32 parameters. Then three SGD steps are
taken with each and the parameters compared the same way, so the update is checked too.
Any mismatch or exception aborts the benchmark: a fast wrong step is not worth timing.
"""

import traceback

import numpy as np

from minigrad.check import verdict

from .common import PARAM_NAMES, init_params, make_batches, make_trainer, parse_config

LR = 0.1
SGD_STEPS = 3


def within_bound(a, b, truth):
    """(error against the truth, bound, ok) by check.verdict; b is torch's float32 (the loss
    comes as a Python float, so the float32 rule is named)."""
    v = verdict(np.asarray(a), np.asarray(b), np.asarray(truth, dtype=np.float64),
                dtype=np.float32)
    return v.error, v.bound or 0.0, v.ok


def check_config(config, impls):
    """Check `impls` (names other than "torch") on one config; returns a list of records."""
    batch, hidden = parse_config(config)
    params = init_params(hidden)
    batches = make_batches(batch, SGD_STEPS, seed=4242)
    reference = []  # torch's float32 step, then the truth: the same in float64
    for start in (params, {k: v.astype(np.float64) for k, v in params.items()}):
        oracle, _ = make_trainer("torch", start, LR, threads=1)
        loss, grads = oracle.grads(oracle.prepare(*batches[0]))
        for Xb, Yb in batches:
            oracle.step(oracle.prepare(Xb, Yb))
        reference.append((loss, grads, oracle.param_arrays()))
    (ref_loss, ref_grads, ref_params), (true_loss, true_grads, true_params) = reference

    records = []
    for impl in impls:
        record = {"impl": impl, "config": config, "ok": True, "worst": None, "error": None,
                  "tensors": {}}
        try:
            trainer, _ = make_trainer(impl, params, LR)
            loss, grads = trainer.grads(trainer.prepare(*batches[0]))
            checks = [("loss", loss, ref_loss, true_loss)]
            checks += [("d" + k, grads[k], ref_grads[k], true_grads[k]) for k in PARAM_NAMES]
            for Xb, Yb in batches:
                trainer.step(trainer.prepare(Xb, Yb))
            after = trainer.param_arrays()
            checks += [(k + " after SGD", after[k], ref_params[k], true_params[k])
                       for k in PARAM_NAMES]
            for name, a, b, truth in checks:
                err, bound, ok = within_bound(a, b, truth)
                record["tensors"][name] = {"max_abs_err": err, "bound": bound, "ok": ok}
                record["ok"] &= ok
                ratio = err / bound if bound else 0.0 if err == 0 else float("inf")
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
        lines.append(f"    {k}: error vs float64 {v['max_abs_err']:.3e} > bound {v['bound']:.3e}")
    return "\n".join(lines)
