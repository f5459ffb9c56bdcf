"""Benchmarks: one makemore training step, minigrad vs torch eager vs numpy by hand.

Run from the repository root:

    python -m benchmarks.step            # interleaved rounds, ratio and memory tables (minutes)
    python -m benchmarks.step --quick    # smoke test for CI (< 1 min); says nothing about speed
    python -m benchmarks.full_run        # the whole 200,000-step schedule, minigrad vs torch

Modules:
    common.py        configurations, seeded parameters and batches, RSS readings, mallopt
    seed_graph.py    the seed's training step (forward: models.lecture) for torch and minigrad
    impl_torch.py    torch eager step (the oracle of the gradient check)
    impl_minigrad.py minigrad step, the same source as the torch one
    impl_numpy.py    numpy by hand: the lecture's backward (cell 157) and a fused variant
    check.py         every non-torch gradient against torch before anything is timed
    step.py          the command line: rounds of fresh worker processes, tables, JSON
    full_run.py      the 200,000-step schedule for the README

Timing never goes into a test; CI runs only `python -m benchmarks.step --quick`.
"""
