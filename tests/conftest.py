"""pytest setup shared by every test file: hypothesis profiles, float32 verdict statistics.

Property tests stay quick by default (few examples, no deadline: 2 shared cores make timing
noisy). With CI=true the examples are derandomized, so a CI run is reproducible.
MINIGRAD_FUZZ=long selects a long run (20,000 examples per property, for the fuzzer in
test_fuzz.py above all), e.g. `MINIGRAD_FUZZ=long pytest tests/test_fuzz.py`.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                          print_blob=True)
settings.register_profile("long", max_examples=20_000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("MINIGRAD_FUZZ") == "long":
    settings.load_profile("long")
else:
    settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


# MINIGRAD_VERDICT_STATS=1 counts every float32 verdict of the run (check.verdict is wrapped)
# and prints, at the end, how far minigrad's float32 error went relative to torch's: the
# numbers behind check.K and check.FLOOR_ULPS. .ci/run prints them at every kernel level.
_stats = []
_START = pytest.StashKey[int]()

if os.environ.get("MINIGRAD_VERDICT_STATS"):
    from minigrad import check

    _verdict = check.verdict

    def _counted(*args, **kwargs):
        v = _verdict(*args, **kwargs)
        if v.torch_error is not None:
            _stats.append(v)
        return v

    check.verdict = _counted


def pytest_runtest_call(item):
    # tests that feed the verdict wrong numbers on purpose do not count in the statistics
    if item.get_closest_marker("wrong_on_purpose") is not None:
        item.stash[_START] = len(_stats)


def pytest_runtest_teardown(item):
    start = item.stash.get(_START, None)
    if start is not None:
        del _stats[start:]


def pytest_terminal_summary(terminalreporter):
    if not os.environ.get("MINIGRAD_VERDICT_STATS"):
        return
    from minigrad import check

    def parts(v):  # (the floor, one ulp of the comparison's scale)
        floor = v.bound - check.K * v.torch_error
        return floor, floor / check.FLOOR_ULPS

    # the comparisons the floor alone would not pass: how many times torch's error they are
    ratio = max((v.error / v.torch_error for v in _stats
                 if v.error > parts(v)[0] and v.torch_error > 0), default=0.0)
    # the comparisons K times torch's error alone would not pass: how many ulps of the scale
    ulps = max((v.error / parts(v)[1] for v in _stats
                if v.error > check.K * v.torch_error and parts(v)[1] > 0), default=0.0)
    closest = max((v.error / v.bound for v in _stats if v.bound > 0), default=0.0)
    terminalreporter.write_line(
        f"float32 verdicts: {len(_stats)} comparisons, {sum(not v.ok for v in _stats)} failed, "
        f"closest call {closest:.0%} of its bound; "
        f"largest minigrad/torch error ratio above the floor {ratio:.2f} (K = {check.K:g}); "
        f"largest error above K x torch's {ulps:.2f} ulps of the scale "
        f"(floor {check.FLOOR_ULPS} ulps)")
