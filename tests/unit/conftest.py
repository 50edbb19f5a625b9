"""Hypothesis profiles: few examples by default so the unit layer stays fast; more on demand.

HYPOTHESIS_PROFILE=thorough runs 500 examples per property (a nightly or a change to the reader).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
