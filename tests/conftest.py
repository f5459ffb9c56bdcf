"""pytest setup shared by every test file: hypothesis profiles.

Property tests stay quick by default (few examples, no deadline: 2 shared cores make timing
noisy). With CI=true the examples are derandomized, so a CI run is reproducible.
MINIGRAD_FUZZ=long selects a long run (20,000 examples per property, for the fuzzer in
test_fuzz.py above all), e.g. `MINIGRAD_FUZZ=long pytest tests/test_fuzz.py`.
"""

import os

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
