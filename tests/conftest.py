"""pytest setup shared by every test file: hypothesis profiles.

Property tests stay quick by default (few examples, no deadline: 2 shared cores make timing
noisy). With CI=true the examples are derandomized, so a CI run is reproducible.
"""

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                          print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
