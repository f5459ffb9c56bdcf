"""`python -m benchmarks.random_draws`: minigrad's torch-compatible draws against torch's.

minigrad.random runs mt19937 and torch's transforms in numpy (the same numbers, see
tests/test_random.py); torch runs them in C++. What is timed, per call, best of --rounds
(default 7) after one warm-up, torch on one thread: a million randn / rand values, 300,000
raw 32-bit words, and the lecture-sized calls (a (27, 10) randn, a batch of 32 randint, one
multinomial sample from a (1, 27) row, a manual_seed).
"""

import argparse
import time

import numpy as np
import torch

import minigrad
from minigrad import random as mr


def best_ms(fn, rounds):
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args()
    torch.set_num_threads(1)
    g, tg = minigrad.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    probs = np.random.default_rng(0).random((1, 27)).astype(np.float32)
    mp, tp = minigrad.tensor(probs), torch.from_numpy(probs)
    engine = mr.MT19937(0)
    cases = [
        ("randn 1e6 float32", lambda: minigrad.randn(10**6, generator=g),
         lambda: torch.randn(10**6, generator=tg)),
        ("randn 1e6 float64", lambda: minigrad.randn(10**6, generator=g, dtype=np.float64),
         lambda: torch.randn(10**6, generator=tg, dtype=torch.float64)),
        ("rand 1e6 float32", lambda: minigrad.rand(10**6, generator=g),
         lambda: torch.rand(10**6, generator=tg)),
        ("300,000 raw words", lambda: engine.random(300_000), None),
        ("randn (27, 10)", lambda: minigrad.randn((27, 10), generator=g),
         lambda: torch.randn((27, 10), generator=tg)),
        ("randint 32", lambda: minigrad.randint(0, 182_625, (32,), generator=g),
         lambda: torch.randint(0, 182_625, (32,), generator=tg)),
        ("multinomial 1 of (1, 27)", lambda: minigrad.multinomial(mp, 1, generator=g),
         lambda: torch.multinomial(tp, 1, generator=tg)),
        ("manual_seed", lambda: g.manual_seed(1), lambda: tg.manual_seed(1)),
    ]
    print(f"{'ms per call (best of ' + str(args.rounds) + ')':32} {'minigrad':>10} "
          f"{'torch':>10} {'ratio':>8}")
    for name, ours, theirs in cases:
        m = best_ms(ours, args.rounds)
        t = best_ms(theirs, args.rounds) if theirs else float("nan")
        print(f"{name:32} {m:10.3f} {t:10.3f} {m / t:8.1f}")


if __name__ == "__main__":
    main()
