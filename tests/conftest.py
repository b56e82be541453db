"""Project test configuration: hypothesis profiles, and what the reference runs on."""

from __future__ import annotations

import os

import mpmath
import numpy as np
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_report_header(config):
    return [
        f"mpmath {mpmath.__version__} backend={mpmath.libmp.BACKEND}; numpy {np.__version__}; "
        f"longdouble significand bits={np.finfo(np.longdouble).nmant + 1}",
        f"hypothesis profile: {settings._current_profile}",
    ]
