"""The audit can fail: each property catches a planted defect, and real torch passes the same check.

Small configurations keep this quick: float16 (every input) and float32 (the stratified
sample), beta = 1, threshold = 20, CPU. One auditor per implementation and quantity serves every
test that asks about it (a configuration is measured once), and the exact truth is computed once
per process (:func:`suite.audit.engine.reference_on_inputs`).
"""

from __future__ import annotations

import dataclasses
import functools

import pytest

from suite.audit.engine import Auditor, AuditSettings
from suite.audit.parameter_cases import judge_parameter_cases
from suite.audit.properties import PROPERTIES, is_result_of
from suite.numerics.formats import FLOAT16, FLOAT32
from suite.numerics.params import Quantity

TORCH = "torch.nn.functional:softplus"


@functools.cache
def auditor_for(target: str, quantity: Quantity) -> Auditor:
    settings = AuditSettings(targets=(target,), formats=(FLOAT16, FLOAT32), grid=((1.0, 20.0),), quantities=(quantity,))
    return Auditor(settings)


def failing(target: str, prop: str, quantity: Quantity = Quantity.FORWARD):
    """Configurations of ``target`` whose property ``prop`` fails (after known deviations)."""
    auditor = auditor_for(target, quantity)
    bad = []
    for config in auditor.configurations():
        for p in auditor.result(config).properties:
            if is_result_of(p, prop) and not p.passed:
                bad.append((config.id, p))
    return bad


CASES = [
    ("lowered_precision", "accuracy (documented)", Quantity.FORWARD),
    ("negative_tail", "positivity", Quantity.FORWARD),
    ("overshoot", "bounds", Quantity.FORWARD),
    ("sawtooth", "monotonicity", Quantity.FORWARD),
    ("linear_offset", "asymptotes", Quantity.FORWARD),
    ("threshold_off_by_one_ulp", "threshold_rule", Quantity.FORWARD),
    ("dead_gradient", "positivity", Quantity.GRAD),  # the gradient never dies where sigmoid is > 0
    ("nan_to_zero", "special_values", Quantity.FORWARD),
    ("lowered_precision", "accuracy (math)", Quantity.FORWARD),
]


def test_every_property_has_a_planted_defect():
    assert {prop for _, prop, _ in CASES} == set(PROPERTIES)


@pytest.mark.parametrize(("defect", "prop", "quantity"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_property_catches_planted_defect(defect, prop, quantity):
    caught = failing(f"tests.planted_targets:{defect}", prop, quantity)
    assert caught, f"{prop} did not catch {defect}"
    # and the failure names an input with its bits
    _, result = caught[0]
    assert result.counterexamples
    assert result.counterexamples[0].x_bits.startswith("0x")
    assert "np." not in result.counterexamples[0].expected  # numbers as Python writes them: 88.75


@pytest.mark.parametrize(("prop", "quantity"), sorted({(c[1], c[2]) for c in CASES}, key=str), ids=str)
def test_torch_passes_the_same_checks(prop, quantity):
    assert failing(TORCH, prop, quantity) == []


def test_torch_known_deviations_excuse_nothing_of_a_function_built_elsewhere():
    """A user's function is its own family (its package's): a defect where torch's kernel has a known
    deviation that accepts any error is caught; declared torch's (``family = "torch"``), it is excused."""
    caught = failing("tests.planted_targets:doubled_deep_tail", "accuracy (documented)")
    assert sorted(config_id for config_id, _ in caught) == [
        f"tests.planted_targets:doubled_deep_tail-cpu-float32-b1-t20-{path}-forward" for path in ("scalar", "simd")
    ]
    assert all(result.counterexamples[0].x < -87.3 for _, result in caught)
    assert failing("tests.planted_targets:doubled_deep_tail_as_torch", "accuracy (documented)") == []


def test_parameter_cases_catch_an_ignored_beta():
    auditor = Auditor(AuditSettings(targets=("tests.planted_targets:beta_ignored",), formats=(FLOAT32,)))
    verdicts = {c["case"]: c["verdict"] for c in judge_parameter_cases(auditor)}
    assert verdicts["beta=0"] == "fail"
    torch_auditor = Auditor(AuditSettings(targets=(TORCH,), formats=(FLOAT32,)))
    assert all(c["verdict"] == "pass" for c in judge_parameter_cases(torch_auditor))


def test_no_budget_is_its_own_verdict_never_a_fail(tmp_path):
    """An accuracy property that no budget covers is not judged: its verdict says so, with the error
    measured, and the configuration is neither passed nor failed."""
    empty = tmp_path / "budgets.toml"
    empty.write_text("# no budgets and no deviations\n")
    settings = AuditSettings(targets=(TORCH,), formats=(FLOAT16,), grid=((1.0, 20.0),), quantities=(Quantity.FORWARD,))
    auditor = Auditor(dataclasses.replace(settings, budgets_file=str(empty)))
    result = auditor.result(auditor.configurations()[0])
    accuracy = result.property("accuracy (documented)")
    assert accuracy.verdict == "no budget"
    # the file records no budget at all, so none for this device
    assert accuracy.detail.startswith("no budget recorded for cpu: measured 0.5")
    assert not accuracy.counterexamples
    assert result.verdict == "no budget"


def test_budgets_apply_to_any_parameters_through_rules():
    """The packaged file has rules: a grid point nobody measured (PyTorch's own OpInfo point, beta 3,
    threshold 0.2) gets the rule for any beta; a power of two the rule for powers of two; a measured
    point its own entry."""
    from suite.audit import budgets
    from suite.numerics.params import Oracle

    packaged = budgets.load()
    opinfo = packaged.budget_for(FLOAT32, Quantity.FORWARD, Oracle.DOCUMENTED, "simd", 3.0, 0.2)
    assert (opinfo.beta, opinfo.threshold, opinfo.beta_kind) == (None, None, "*")
    power = packaged.budget_for(FLOAT32, Quantity.FORWARD, Oracle.DOCUMENTED, "simd", 4.0, 0.2)
    assert power.beta_kind == "power_of_two"
    assert power.max_ulp < opinfo.max_ulp  # b*x is exact: no error of its rounding to pass on
    measured = packaged.budget_for(FLOAT32, Quantity.FORWARD, Oracle.DOCUMENTED, "simd", 1.0, 20.0)
    assert (measured.beta, measured.threshold) == (1.0, 20.0)
    assert budgets.is_power_of_two(0.25)
    assert not budgets.is_power_of_two(0.1)


def test_a_parameter_case_answered_with_nothing_fails():
    """None for beta = 0 is neither the clear error nor the value the case allows."""
    auditor = Auditor(AuditSettings(targets=("tests.planted_targets:no_answer_for_bad_beta",), formats=(FLOAT32,)))
    cases = {c["case"]: c for c in judge_parameter_cases(auditor)}
    assert (cases["beta=0"]["verdict"], cases["beta=0"]["why"]) == ("fail", "no answer, not an error")
    assert cases["beta=nan"]["verdict"] == "fail"  # not > 0 either
    # an implementation object's None is no answer either (it was an AttributeError that lost every case)
    auditor = Auditor(AuditSettings(targets=("tests.planted_targets:NONE_FOR_BAD_BETA",), formats=(FLOAT32,)))
    cases = {c["case"]: c for c in judge_parameter_cases(auditor)}
    assert (cases["beta=0"]["verdict"], cases["beta=0"]["why"]) == ("fail", "no answer, not an error")
    assert cases["threshold=inf"]["verdict"] == "pass"
