"""`python -m benchmarks.full_run`: the whole default training schedule, minigrad vs torch.

makemore's default run is 200,000 SGD steps at batch 32, hidden 200, learning rate 0.1 and
then 0.01 for the second half. This times that whole loop, minibatch sampling included, for
minigrad (eager, and replaying a captured step: minigrad.capture, the learning rate a 0-d
tensor) and for torch eager on one thread, each in its own fresh process, and prints the
total seconds: the number a reader of the README cares about ("how long does training
take?"). The data are random contexts of the real shapes (about as many as the names.txt
training split has), so no data file is needed; the loss therefore ends near ln 27 = 3.30.

Not for CI (minutes, not seconds). `--steps 2000` is a smoke test of the same code; the
learning rate always drops at half the steps.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .common import BLOCK, VOCAB, init_params, make_trainer, peak_rss_mib

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STEPS = 200_000
BATCH, HIDDEN = 32, 200
N_TRAIN = 182_000       # about the size of makemore's training split
ROWS = {"minigrad": ("minigrad", None), "minigrad-replay": ("minigrad-replay", None),
        "torch-1t": ("torch", 1)}
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def learning_rate(i, steps):
    """0.1, then 0.01 from half-way (step 100,000 of 200,000), as makemore does."""
    return 0.1 if i < steps // 2 else 0.01


def worker(impl, threads, steps):
    """Train for `steps` steps in this process; print one JSON line."""
    rng = np.random.default_rng(2024)
    X = rng.integers(0, VOCAB, (N_TRAIN, BLOCK), dtype=np.int64)
    Y = rng.integers(0, VOCAB, (N_TRAIN,), dtype=np.int64)
    trainer, module = make_trainer(impl, init_params(HIDDEN), 0.1, threads=threads)
    first_loss = None

    cpu_start = time.process_time()
    start = time.perf_counter()
    for i in range(steps):
        ix = rng.integers(0, N_TRAIN, BATCH)          # a fresh minibatch every step
        trainer.lr = learning_rate(i, steps)
        loss = trainer.step(trainer.prepare(X[ix], Y[ix]))
        if i == 0:
            first_loss = module.loss_value(loss)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    final_loss = module.loss_value(loss)
    if not math.isfinite(final_loss):
        raise RuntimeError(f"loss became {final_loss}")
    json.dump({"impl": impl, "threads": threads, "steps": steps, "seconds": seconds,
               "cpu_seconds": cpu_seconds,
               "first_loss": first_loss, "final_loss": final_loss,
               "peak_rss_mib": peak_rss_mib()}, sys.stdout)
    sys.stdout.write("\n")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.full_run",
                                description="Time the whole makemore schedule (module doc).")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    p.add_argument("--impl", default=",".join(ROWS),
                   help=f"comma list of {', '.join(ROWS)}")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--worker", choices=sorted(ROWS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps < 2:
        p.error("--steps must be at least 2")
    if args.worker:
        impl, threads = ROWS[args.worker]
        return worker(impl, threads, args.steps)

    names = [n.strip() for n in args.impl.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        p.error(f"unknown --impl {unknown}; choose from {list(ROWS)}")

    print(f"full schedule: {args.steps} steps, batch {BATCH}, hidden {HIDDEN}, "
          f"lr 0.1 then 0.01 from step {args.steps // 2}")
    results = []
    env = dict(os.environ, **ONE_THREAD_ENV)
    for name in names:
        cmd = [sys.executable, "-m", "benchmarks.full_run", "--worker", name,
               "--steps", str(args.steps)]
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            print(f"{name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}",
                  file=sys.stderr)
            return 1
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["row"] = name
        results.append(result)
        print(f"{name:<16} {result['seconds']:9.1f} s total  "
              f"{result['seconds'] / args.steps * 1e3:7.3f} ms/step  "
              f"loss {result['first_loss']:.3f} -> {result['final_loss']:.3f}  "
              f"(got {result['cpu_seconds'] / result['seconds']:.0%} of a CPU)", flush=True)

    if any(r["cpu_seconds"] < 0.9 * r["seconds"] for r in results):
        print("warning: a run got under 90% of a CPU: the machine was busy, times are inflated")
    by_name = {r["row"]: r for r in results}
    for name in ("minigrad", "minigrad-replay"):
        if name in by_name and "torch-1t" in by_name:
            ratio = by_name[name]["seconds"] / by_name["torch-1t"]["seconds"]
            print(f"{name} / torch-1t: {ratio:.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"steps": args.steps, "batch": BATCH, "hidden": HIDDEN,
                       "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
