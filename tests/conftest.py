"""Settings for the whole suite.

Hypothesis's per-example deadline (200 ms) is a timing assertion: on a busy 2-core CI
machine a property that samples (Thompson's 256 draws) exceeded it and failed a green
build. Timing targets live in bench/, so the suite's properties have no deadline.
"""

from hypothesis import settings

settings.register_profile("suite", deadline=None)
settings.load_profile("suite")
