"""Hypothesis profiles for the audit, chosen by ``HYPOTHESIS_PROFILE`` or ``--hypothesis-profile``.

* ``ci``: derandomized (the same examples every run, so a CI verdict is reproducible) and
  bounded, for ``tox -e audit`` and CI. "The same" given hypothesis's version and the modules it
  takes for the user's own: it also draws examples from the numeric literals of modules outside
  site-packages, so softplus-audit from a source tree (or an editable install) searches otherwise
  than an installed copy, and a ``--target`` module of one's own adds its literals. A run records
  where softplus-audit came from (``softplus_audit_from``), and ``compare`` says when two differ;
* ``dev``: random, with the example database, for working on the suite;
* ``thorough``: many examples per configuration, for a release audit.

The project's own tests load the same profiles (``tests/conftest.py``); a test that needs more
examples than a profile gives says so with its own ``@settings``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = ("ci", "dev", "thorough")
DEFAULT_PROFILE = "ci"


def register() -> None:
    """Register the profiles (idempotent)."""
    common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much]}
    settings.register_profile("ci", max_examples=40, derandomize=True, print_blob=True, database=None, **common)
    settings.register_profile("dev", max_examples=100, **common)
    settings.register_profile("thorough", max_examples=2000, **common)
