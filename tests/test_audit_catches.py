"""The audit can fail: each property catches a planted defect, and real torch passes the same check.

Small configurations keep this quick: float16 (every input) and float32 (the stratified
sample), beta = 1, threshold = 20, CPU.
"""

from __future__ import annotations

import pytest

from suite.audit import Auditor, AuditSettings
from suite.parameters import judge_parameter_cases

TORCH = "torch.nn.functional:softplus"


def failing(target: str, prop: str, quantity: str = "forward", dtypes=("float16", "float32"), grid=((1.0, 20.0),)):
    """Configurations of ``target`` whose property ``prop`` fails (after known deviations)."""
    auditor = Auditor(AuditSettings(targets=(target,), dtypes=dtypes, grid=grid, quantities=(quantity,)))
    bad = []
    for config in auditor.configurations():
        for p in auditor.result(config).properties:
            if (p.name == prop or p.name.startswith(prop + " ")) and not p.passed:
                bad.append((config.id, p))
    return bad


CASES = [
    ("lowered_precision", "accuracy (documented)", "forward"),
    ("negative_tail", "positivity", "forward"),
    ("overshoot", "bounds", "forward"),
    ("sawtooth", "monotonicity", "forward"),
    ("linear_offset", "asymptotes", "forward"),
    ("threshold_off_by_one_ulp", "threshold_rule", "forward"),
    ("dead_gradient", "positivity", "grad"),  # the gradient never dies where sigmoid is > 0
    ("nan_to_zero", "special_values", "forward"),
]


@pytest.mark.parametrize(("defect", "prop", "quantity"), CASES, ids=[c[0] for c in CASES])
def test_property_catches_planted_defect(defect, prop, quantity):
    caught = failing(f"tests.planted_targets:{defect}", prop, quantity)
    assert caught, f"{prop} did not catch {defect}"
    # and the failure names an input with its bits
    _, result = caught[0]
    assert result.counterexamples
    assert result.counterexamples[0].x_bits.startswith("0x")


@pytest.mark.parametrize(("prop", "quantity"), sorted({(c[1], c[2]) for c in CASES}))
def test_torch_passes_the_same_checks(prop, quantity):
    assert failing(TORCH, prop, quantity) == []


def test_parameter_cases_catch_an_ignored_beta():
    auditor = Auditor(AuditSettings(targets=("tests.planted_targets:beta_ignored",), dtypes=("float32",)))
    verdicts = {c["case"]: c["verdict"] for c in judge_parameter_cases(auditor)}
    assert verdicts["beta=0"] == "fail"
    torch_auditor = Auditor(AuditSettings(targets=(TORCH,), dtypes=("float32",)))
    assert all(c["verdict"] == "pass" for c in judge_parameter_cases(torch_auditor))
