"""Project test configuration: the hypothesis profiles (the audit's own, one table:
:mod:`suite.audit.profiles`), and what the reference runs on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import settings

from suite.audit import profiles

profiles.register()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", profiles.DEFAULT_PROFILE))


def pytest_report_header(config):
    return [
        f"mpmath {mpmath.__version__} backend={mpmath.libmp.BACKEND}; numpy {np.__version__}; "
        f"longdouble significand bits={np.finfo(np.longdouble).nmant + 1}",
        f"hypothesis profile: {settings.get_current_profile_name()}",
    ]


ROOT = Path(__file__).resolve().parent.parent
SMALL_AUDIT = ["--dtype", "float16", "--quantity", "forward", "--grid", "1,20"]
SMALL_AUDIT += ["--target", "torch.nn.functional:softplus"]


def audit_from_the_command_line(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    """``softplus-audit run --out reports ARGS`` in a fresh interpreter, from ``cwd``."""
    out = cwd / "reports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "suite.cli", "run", "--out", "reports", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    return result, out


@pytest.fixture(scope="session")
def small_audit(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """One small real audit (float16, forward, one grid point, one target), run once per session
    with the command line in a fresh interpreter, as a user would, from an empty working directory
    with its reports in ``reports/`` there: the finished process and that directory. Tests read
    the reports or edit copies of them."""
    return audit_from_the_command_line(tmp_path_factory.mktemp("small-audit"), *SMALL_AUDIT)


@pytest.fixture(scope="session")
def failing_audit(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """The same small audit of a planted defect (NaN in, 0 out): a failing run, with counterexamples."""
    args = [a if a != "torch.nn.functional:softplus" else "tests.planted_targets:nan_to_zero" for a in SMALL_AUDIT]
    return audit_from_the_command_line(tmp_path_factory.mktemp("failing-audit"), *args)
