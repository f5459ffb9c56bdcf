"""`python -m benchmarks.step`: one makemore training step, minigrad vs torch vs numpy.

What is timed: one step of the seed's model (embedding, Linear, BatchNorm with the n - 1
variance, tanh, Linear, step-by-step cross-entropy), i.e. forward, backward and the SGD
update `p -= lr * grad`, in float32, for each implementation and batch x hidden config.

How (the parent process):
  1. checks every non-torch implementation's gradients against torch (check.py) and aborts
     on any mismatch or error;
  2. runs rounds; each round starts every (implementation, config) in a FRESH worker process
     (`python -m benchmarks.step --worker IMPL --config BxH ...`) that warms up, then times
     steps one by one until its time budget is spent and prints the per-step times as JSON;
     odd rounds run the implementations in reverse order, so slow drift of the machine
     (thermal, other tenants) does not always favour the same one;
  3. takes each worker's median step time as that round's cell, and prints the median over
     rounds with the [min, max] range: absolute ms per step, the ratios minigrad / torch
     (one thread), minigrad / numpy-fused and minigrad / numpy-lecture (computed per round,
     then summarised), and the resident memory of minigrad and torch across 1,000 steps
     (flat memory means each step's graph is freed);
  4. writes every raw number to JSON (`--json`, default benchmarks/results/step.json).

Rows: `minigrad`, `minigrad (plain rules)` (the same with MINIGRAD_FAST=0: the plain rules of
ops.py, without the speed tricks of minigrad/fast.py), `minigrad (replay)` (the step captured
once with minigrad.capture and replayed, inputs refilled with copy_;
impl_minigrad.ReplayTrainer), `torch-1t` (torch.set_num_threads(1)), `torch-default` (torch's
own thread count), `numpy-lecture` and `numpy-fused` (impl_numpy.py). All rows except
torch-default run with OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1 in the worker's
environment, so that minigrad and numpy are compared with one-thread torch on equal terms.

Optional extra rows:
  --malloc-tuned   "X (malloc tuned)" for minigrad and the numpy rows: the worker calls glibc
                   mallopt(M_MMAP_THRESHOLD, 32 MiB) and mallopt(M_TRIM_THRESHOLD, 1 GiB)
                   before anything else, so freed temporaries are reused instead of returned
                   to the OS and page-faulted back every step
                   (models.allocator.tune_malloc). docs/speed.md measured 2-3x for numpy at
                   batch 256 and up. Opt-in: it tunes the process, which a library user
                   would have to do themselves.
  --unset-openblas "torch-1t (openblas unset)" and "minigrad (openblas unset)": the worker
                   runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its
                   environment. Only when at least one of them is set; tests and CI leave them
                   alone. (numpy's BLAS is OpenBLAS; torch's CPU build uses MKL, so the torch
                   row is a control.)

Each worker also reports its minor page faults per step (memory the allocator returned to
the OS and touched again: the cost --malloc-tuned removes) and the CPU time it got; when a
one-thread worker got under 90% of a CPU while timing, the machine was busy and a warning
says so.

`--quick` is CI's smoke test: two rounds, short budgets, 32x64 and 256x200 only, no
torch-default row unless --impl names it; about half a minute. It proves the benchmark
runs and the check passes; its numbers mean nothing. The exit status is non-zero on any
failure (check, worker, bad option).
"""

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from models.allocator import tune_malloc

from . import check
from .common import (
    CONFIGS,
    IMPLS,
    init_params,
    make_batches,
    make_trainer,
    parse_config,
    peak_rss_mib,
    rss_mib,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "step.json"

LR = 0.1
N_BATCHES = 8           # distinct batches a worker cycles through
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# Plans: rounds, configs, seconds timed per worker, min and max steps per worker, warm-up
# seconds (at least 5 steps), and the steps of the memory reading (round 1, MEM_ROWS only).
FULL = {"rounds": 3, "configs": CONFIGS, "budget": 0.5, "min_steps": 10, "max_steps": 5000,
        "warmup": 0.3, "mem_steps": 1000}
QUICK = {"rounds": 2, "configs": ("32x64", "256x200"), "budget": 0.1, "min_steps": 5,
         "max_steps": 2000, "warmup": 0.02, "mem_steps": 100}
MEM_ROWS = ("minigrad", "minigrad (replay)", "torch-1t")


@dataclass(frozen=True)
class Row:
    """One line of the tables: an implementation plus how its worker process is set up."""
    name: str
    impl: str
    threads: int | None = None      # torch.set_num_threads; None keeps torch's default
    one_thread_blas: bool = True    # pin BLAS/OpenMP pools to one thread via the env
    malloc_tuned: bool = False
    unset_openblas: bool = False
    plain: bool = False             # MINIGRAD_FAST=0: the plain rules, without minigrad/fast.py


BASE_ROWS = (
    Row("minigrad", "minigrad"),
    Row("minigrad (plain rules)", "minigrad", plain=True),
    Row("minigrad (replay)", "minigrad-replay"),
    Row("torch-1t", "torch", threads=1),
    Row("torch-default", "torch", one_thread_blas=False),
    Row("numpy-lecture", "numpy-lecture"),
    Row("numpy-fused", "numpy-fused"),
)


# ----------------------------------------------------------------------------- worker side

def worker(args):
    """Time one implementation on one config in this (fresh) process; JSON on stdout."""
    if args.malloc_tuned:
        tune_malloc()   # first, before the step's arrays are ever allocated
    batch, hidden = parse_config(args.config)
    params = init_params(hidden)
    trainer, module = make_trainer(args.worker, params, LR, threads=args.threads)
    batches = [trainer.prepare(X, Y) for X, Y in make_batches(batch, N_BATCHES)]

    # Warm up: first calls pay for imports, caches, BLAS buffers and allocator growth.
    start, warm = time.perf_counter(), 0
    while warm < 5 or time.perf_counter() - start < args.warmup:
        trainer.step(batches[warm % N_BATCHES])
        warm += 1

    steps_needed = max(args.min_steps, args.mem_steps)
    steps_cap = max(args.max_steps, args.mem_steps)
    rss_start = rss_mib()
    rss_trace = [(0, rss_start)]
    times = []
    clock = time.perf_counter
    cpu_start = time.process_time()
    faults_start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = clock()
    while True:
        i = len(times)
        t0 = clock()
        loss = trainer.step(batches[i % N_BATCHES])
        times.append(clock() - t0)
        if (i + 1) % 10 == 0:           # outside the timed region (~20 us to read)
            rss_trace.append((i + 1, rss_mib()))
        if len(times) >= steps_cap:
            break
        if len(times) >= steps_needed and clock() - start >= args.budget:
            break
    wall = clock() - start
    cpu = time.process_time() - cpu_start     # all threads of this process
    # Minor page faults: memory the allocator handed back to the OS and touched again.
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_start
    rss_end = rss_mib()
    final_loss = module.loss_value(loss)
    if not math.isfinite(final_loss):
        raise RuntimeError(f"loss became {final_loss} after {warm + len(times)} steps")

    times_ms = [round(t * 1e3, 6) for t in times]
    out = {
        "impl": args.worker, "config": args.config, "threads": args.threads,
        "malloc_tuned": args.malloc_tuned, "warmup_steps": warm, "steps": len(times),
        "median_ms": statistics.median(times_ms), "times_ms": times_ms,
        "rss_start_mib": rss_start, "rss_end_mib": rss_end, "peak_rss_mib": peak_rss_mib(),
        "rss_trace_mib": rss_trace, "final_loss": final_loss, "versions": module.versions(),
        "wall_seconds": wall, "cpu_seconds": cpu, "page_faults_per_step": faults / len(times),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


# ----------------------------------------------------------------------------- parent side

class BenchmarkError(RuntimeError):
    pass


def select_rows(args):
    """The rows asked for by --impl, plus the optional variants."""
    if args.impl:
        tokens = [t.strip() for t in args.impl.split(",") if t.strip()]
        known = {r.name for r in BASE_ROWS} | set(IMPLS) | {"numpy"}
        unknown = [t for t in tokens if t not in known]
        if unknown:
            raise BenchmarkError(f"unknown --impl {unknown}; choose from {sorted(known)}")
        # "torch" selects both torch rows, "numpy" both numpy rows.
        rows = [r for r in BASE_ROWS
                if any(t in (r.name, r.impl) or r.name.startswith(t + "-") for t in tokens)]
    elif args.quick:
        # torch-default runs the same code as torch-1t; skipping it saves CI two torch imports
        # (about 3 s each here) per round.
        rows = [r for r in BASE_ROWS if r.name != "torch-default"]
    else:
        rows = list(BASE_ROWS)

    extra = []
    if args.malloc_tuned:
        extra += [Row(r.name + " (malloc tuned)", r.impl, r.threads, r.one_thread_blas,
                      malloc_tuned=True)
                  for r in rows if r.impl != "torch"]
    if args.unset_openblas:
        set_vars = [v for v in OPENBLAS_VARS if v in os.environ]
        if not set_vars:
            print("note: --unset-openblas: neither OPENBLAS_CORETYPE nor OPENBLAS_L2_SIZE is "
                  "set, so there is no extra row")
        else:
            extra += [Row(r.name + " (openblas unset)", r.impl, r.threads, r.one_thread_blas,
                          unset_openblas=True)
                      for r in rows if r.name in ("torch-1t", "minigrad")]
    return rows + extra


def worker_env(row):
    env = os.environ.copy()
    if row.one_thread_blas:
        env.update(ONE_THREAD_ENV)
    if row.unset_openblas:
        for var in OPENBLAS_VARS:
            env.pop(var, None)
    if row.plain:
        env["MINIGRAD_FAST"] = "0"
    return env


def run_worker(row, config, plan, mem_steps):
    cmd = [sys.executable, "-m", "benchmarks.step", "--worker", row.impl, "--config", config,
           "--budget", str(plan["budget"]), "--min-steps", str(plan["min_steps"]),
           "--max-steps", str(plan["max_steps"]), "--warmup", str(plan["warmup"]),
           "--mem-steps", str(mem_steps)]
    if row.threads is not None:
        cmd += ["--threads", str(row.threads)]
    if row.malloc_tuned:
        cmd.append("--malloc-tuned")
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=worker_env(row), capture_output=True,
                          text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise BenchmarkError(f"worker {row.name} {config} failed (exit {proc.returncode}):\n"
                             + proc.stderr.strip()[-3000:])
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise BenchmarkError(f"worker {row.name} {config} printed no JSON:\n"
                             + proc.stdout[-2000:] + proc.stderr[-2000:]) from None


def spread(values):
    """(median, min, max) of a list of numbers."""
    return statistics.median(values), min(values), max(values)


def fmt_cell(values, digits):
    med, lo, hi = spread(values)
    return f"{med:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def digits_for(value):
    """Three significant figures for ms values from 0.05 to 100."""
    return 3 if value < 1 else 2 if value < 10 else 1


def rss_at(trace, step):
    """RSS of the first trace point at or after `step` (the trace is (step, MiB) pairs)."""
    for at, mib in trace:
        if at >= step:
            return mib
    return trace[-1][1]


def print_tables(rows, configs, cells, runs, rounds):
    # Wide enough for the longest ratio label, "minigrad (malloc tuned) / numpy-fused (...)".
    width = max(len(r.name) for r in rows) * 2 + 5
    colw = 22

    def header(title):
        print()
        print(title)
        print(" " * width + "".join(f"{c:>{colw}}" for c in configs))

    header(f"Median ms per step (each cell: median over {rounds} round(s) of a fresh worker's"
           " median step; [min, max] over rounds)")
    for row in rows:
        line = f"{row.name:<{width}}"
        for config in configs:
            values = cells[row.name][config]
            line += f"{fmt_cell(values, digits_for(statistics.median(values))):>{colw}}"
        print(line)

    header("Minor page faults per step (median over rounds): pages the allocator gave back to "
           "the OS and faulted in again")
    for row in rows:
        line = f"{row.name:<{width}}"
        for config in configs:
            faults = [r["page_faults_per_step"] for r in runs
                      if r["row"] == row.name and r["config"] == config]
            line += f"{statistics.median(faults):>{colw}.0f}"
        print(line)

    numerators = [r.name for r in rows if r.impl.startswith("minigrad")]
    denominators = [d for d in ("torch-1t", "numpy-fused", "numpy-lecture")
                    if d in cells]
    ratio_rows = {}
    if numerators and denominators:
        header("Ratios, computed per round then summarised: median [min, max] over rounds "
               "(< 1 means minigrad is faster)")
        for num in numerators:
            suffix = num[len("minigrad"):]          # "", " (malloc tuned)", ...
            for den in denominators:
                # A variant is compared with the same variant of the reference when it exists.
                if den + suffix in cells:
                    den = den + suffix
                name = f"{num} / {den}"
                line = f"{name:<{width}}"
                ratio_rows[name] = {}
                for config in configs:
                    ratios = [a / b for a, b in zip(cells[num][config], cells[den][config])]
                    ratio_rows[name][config] = ratios
                    line += f"{fmt_cell(ratios, 2):>{colw}}"
                print(line)
    else:
        print("\n(no minigrad row or no reference row selected: no ratio table)")

    mem_runs = [r for r in runs if r["row"] in MEM_ROWS and r["round"] == 0]
    if mem_runs:
        print()
        print("Resident memory (MiB) of one worker: at the start of timing, after 10% of the "
              "steps, after all of them.")
        print("The allocator settles during the first steps; 'drift' (after - at 10%) near 0 "
              "means each step's graph is freed.")
        print(f"{'impl':<20}{'config':>10}{'steps':>7}{'start':>9}{'at 10%':>9}{'after':>9}"
              f"{'drift':>9}{'peak':>9}{'faults/step':>13}")
        for run in mem_runs:
            settled = rss_at(run["rss_trace_mib"], max(10, run["steps"] // 10))
            drift = run["rss_end_mib"] - settled
            print(f"{run['row']:<20}{run['config']:>10}{run['steps']:>7}"
                  f"{run['rss_start_mib']:>9.1f}{settled:>9.1f}{run['rss_end_mib']:>9.1f}"
                  f"{drift:>+9.1f}{run['peak_rss_mib']:>9.1f}"
                  f"{run['page_faults_per_step']:>13.0f}")
    return ratio_rows


def run_checks(rows, configs):
    impls = sorted({r.impl for r in rows} - {"torch"})
    if not impls:
        return []
    records = []
    for config in configs:
        records += check.check_config(config, impls)
    for record in records:
        print(check.describe(record))
    failed = [r for r in records if not r["ok"]]
    for record in failed:
        if record.get("traceback"):
            print(record["traceback"], file=sys.stderr)
    if failed:
        raise BenchmarkError(f"gradient check failed for {len(failed)} of {len(records)} "
                             "(implementation, config) pairs: nothing was timed")
    for record in records:
        record.pop("traceback", None)
    return records


def parent(args):
    plan = dict(QUICK if args.quick else FULL)
    if args.configs:
        plan["configs"] = tuple(c.strip() for c in args.configs.split(",") if c.strip())
    for key in ("rounds", "budget", "mem_steps"):
        if getattr(args, key) is not None:
            plan[key] = getattr(args, key)
    configs = plan["configs"]
    for config in configs:
        parse_config(config)
    if plan["rounds"] < 1:
        raise BenchmarkError("--rounds must be at least 1")
    rows = select_rows(args)
    began = time.perf_counter()
    load_at_start = os.getloadavg()

    print(f"minigrad step benchmark: {len(rows)} rows x {len(configs)} configs x "
          f"{plan['rounds']} rounds{' (--quick: a smoke test, not a speed)' if args.quick else ''}")
    checks = run_checks(rows, configs)

    runs = []
    cells = {r.name: {c: [] for c in configs} for r in rows}
    for rnd in range(plan["rounds"]):
        order = rows if rnd % 2 == 0 else rows[::-1]
        for config in configs:
            for row in order:
                mem = plan["mem_steps"] if rnd == 0 and row.name in MEM_ROWS else 0
                result = run_worker(row, config, plan, mem)
                result.update(row=row.name, round=rnd, row_spec=asdict(row))
                runs.append(result)
                cells[row.name][config].append(result["median_ms"])
        print(f"round {rnd + 1}/{plan['rounds']} done ({time.perf_counter() - began:.0f} s)",
              flush=True)

    ratios = print_tables(rows, configs, cells, runs, plan["rounds"])
    # A one-thread worker that got much less than a whole CPU while timing was descheduled:
    # another process was running, and its times are inflated.
    starved = [r for r in runs if r["row_spec"]["one_thread_blas"]
               and r["cpu_seconds"] < 0.9 * r["wall_seconds"]]
    if starved:
        worst = min(r["cpu_seconds"] / r["wall_seconds"] for r in starved)
        print(f"\nwarning: {len(starved)} of {len(runs)} workers had under 90% of a CPU while "
              f"timing (worst {worst:.0%}): the machine was busy, absolute times are inflated")
    elapsed = time.perf_counter() - began
    print(f"\ntotal {elapsed:.0f} s")

    report = {
        "meta": {
            "argv": sys.argv[1:], "quick": args.quick, "plan": plan, "seconds": elapsed,
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "lr": LR, "loadavg_at_start": load_at_start,
            "openblas_env": {v: os.environ.get(v) for v in OPENBLAS_VARS},
            "one_thread_env": ONE_THREAD_ENV,
        },
        "rows": [asdict(r) for r in rows],
        "configs": list(configs),
        "check": checks,
        "median_ms_per_round": cells,
        "ratios_per_round": ratios,
        "runs": runs,
    }
    path = Path(args.json) if args.json else DEFAULT_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(f"raw numbers: {path}")
    return 0


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.step",
                                description="Time one makemore training step (see the module "
                                            "docstring).")
    p.add_argument("--quick", action="store_true",
                   help="CI smoke test: 2 rounds, 32x64 and 256x200, short budgets")
    p.add_argument("--impl", help="comma list of rows: minigrad, torch-1t, torch-default, "
                                  "numpy-lecture, numpy-fused; 'torch'/'numpy' select both")
    p.add_argument("--configs", help=f"comma list of BATCHxHIDDEN (default {','.join(CONFIGS)})")
    p.add_argument("--rounds", type=int, help="number of interleaved rounds")
    p.add_argument("--budget", type=float, help="seconds of timed steps per worker")
    p.add_argument("--mem-steps", type=int,
                   help="steps of the memory reading for minigrad and torch-1t (round 1)")
    p.add_argument("--json", help=f"where to write raw numbers (default {DEFAULT_JSON.name} "
                                  "in benchmarks/results/)")
    p.add_argument("--malloc-tuned", action="store_true",
                   help="add mallopt-tuned rows for minigrad and numpy (and, in a worker, "
                        "tune this process)")
    p.add_argument("--unset-openblas", action="store_true",
                   help="add rows with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE removed, if set")
    # Worker mode: internal, started by the parent once per (row, config, round).
    p.add_argument("--worker", choices=sorted(IMPLS), help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    p.add_argument("--min-steps", type=int, default=10, help=argparse.SUPPRESS)
    p.add_argument("--max-steps", type=int, default=5000, help=argparse.SUPPRESS)
    p.add_argument("--warmup", type=float, default=0.2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker and not args.config:
        p.error("--worker needs --config")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        if args.budget is None:
            args.budget = 1.0
        if args.mem_steps is None:
            args.mem_steps = 0
        return worker(args)
    try:
        return parent(args)
    except (BenchmarkError, ValueError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
