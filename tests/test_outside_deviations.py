"""The largest error outside the known deviations, which is what a budget bounds: recorded per
configuration and oracle (``outside_deviations``), and what a report's first line says. A
configuration's largest error may lie inside a deviation's region while its largest outside one
is larger than any other configuration's: the first line must name that one."""

from __future__ import annotations

import pytest

from suite.audit import budgets as budget_data
from suite.audit import runfile
from suite.audit.engine import Auditor, AuditSettings
from suite.numerics.formats import FLOAT16, FLOAT64
from suite.numerics.params import Oracle, Quantity
from suite.report import model, render


def _entries(auditor: Auditor) -> list[dict]:
    configs = [c for c in auditor.configurations() if c.path == "simd" and c.target == "torch.nn.functional:softplus"]
    return [runfile.config_entry(auditor, auditor.result(c), None) for c in configs]


@pytest.fixture(scope="module")
def float64_at_beta_10() -> list[dict]:
    """float64 at beta 10, the value and the second derivative (vector path): the audit's sample."""
    settings = AuditSettings(formats=(FLOAT64,), grid=((10.0, 20.0),), quantities=(Quantity.FORWARD, Quantity.GRAD2))
    return _entries(Auditor(settings))


def test_the_first_line_names_the_largest_error_outside_the_deviations(float64_at_beta_10):
    """The second derivative's largest error (8.8e15 ULP) lies where exp(b*x) underflows, inside
    exp-underflow-float64; outside every deviation it reaches 513.78 ULP at x = 0xc04e445c2efbfbcc
    (b*x = -605.3), above the value's 513.199. Judged by configuration (the earlier rule), the
    second derivative was passed over and the first line said 513.199."""
    forward, grad2 = float64_at_beta_10
    assert (forward["quantity"], grad2["quantity"]) == ("forward", "grad2")
    outside = grad2["outside_deviations"]["documented"]
    assert outside["worst"]["x_bits"] == "0xc04e445c2efbfbcc"
    assert outside["worst"]["ulp_error"] == pytest.approx(513.7800951254575, abs=1e-9)  # exact (sharpened)
    assert 0 < outside["inputs"] < grad2["stats"]["documented"]["count"]
    assert model.as_float(grad2["stats"]["documented"]["max_ulp"]) > 1e15
    assert "float.fromhex('-0x1.e445c2efbfbccp+5')" in outside["worst"]["reproducer"]
    run = {"configurations": [forward, grad2]}
    lead = model.worst_case(run, outside_deviations=True)
    assert (lead["config"]["id"], lead["worst"]["x_bits"]) == (grad2["id"], "0xc04e445c2efbfbcc")
    assert lead["max_ulp"] == outside["worst"]["ulp_error"]
    phrase = model.budget_phrase(lead["config"], measured=lead["max_ulp"])
    assert phrase.startswith("budget 1024 ULP, headroom 510.22; on a sweep's sample of 8,212,946 inputs 513.78 ULP")
    # a run file without the records (older): the configurations' own maxima, as before
    older = {"configurations": [{k: v for k, v in c.items() if k != "outside_deviations"} for c in (forward, grad2)]}
    assert model.worst_case(older, outside_deviations=True)["config"]["id"] == forward["id"]
    line = [
        s for s in model.terminal_summary({"verdict": "pass", "summary": _summary(run), **run}, []) if "largest" in s
    ]
    assert line == [
        f"largest error outside known deviations: 513.78 ULP ({phrase}) in {grad2['id']} "
        "at x = 0xc04e445c2efbfbcc (-60.53406321815382)"
    ]


def _summary(run: dict) -> dict:
    return {"configurations": len(run["configurations"]), "failing_configurations": []}


def test_where_nothing_lies_outside_the_deviations_the_record_says_none():
    """float16's second derivative at beta 1 where b*x > 0 is all cancellation: every input of the
    deviation's region, none of the others, are in it; the record counts the rest."""
    auditor = Auditor(AuditSettings(formats=(FLOAT16,), grid=((1.0, 20.0),), quantities=(Quantity.GRAD2,)))
    (entry,) = _entries(auditor)
    for oracle in ("documented", "math"):
        record = entry["outside_deviations"][oracle]
        assert record["inputs"] < entry["stats"][oracle]["count"]
        assert model.as_float(record["worst"]["ulp_error"]) <= entry["budgets"][oracle]
        assert model.as_float(record["worst"]["ulp_error"]) < model.as_float(entry["stats"][oracle]["max_ulp"])


@pytest.fixture(scope="module")
def beyond_reach():
    """float16's second derivative at beta 1000, above its rules' reach: no budget applies."""
    auditor = Auditor(AuditSettings(formats=(FLOAT16,), grid=((1000.0, 20.0),), quantities=(Quantity.GRAD2,)))
    (config,) = [c for c in auditor.configurations() if c.path == "simd" and c.target == "torch.nn.functional:softplus"]
    return auditor, config, auditor.observe_all(config)[0]


def test_without_a_budget_the_regions_are_measured_not_excusing_and_never_fixed(beyond_reach):
    """Nothing is judged, so a deviation excuses nothing (*unjudged*), and a run cannot call it
    *fixed* for want of violations; its region's largest error is measured all the same, which is
    how a report knows that the configuration's largest error lies inside one."""
    auditor, config, _ = beyond_reach
    result = auditor.result(config)
    accuracy = [c for c in result.deviations if c.property.startswith("accuracy")]
    assert len(accuracy) > 2
    assert {c.status for c in accuracy} == {"unjudged"}
    cancellation = [c for c in accuracy if c.id == "second-derivative-cancellation"]
    assert cancellation[0].measured_max_ulp == pytest.approx(2047.0174741708993)
    assert {p.verdict for p in result.properties if p.name.startswith("accuracy")} == {"no budget"}
    assert budget_data.stale_deviations(auditor.budgets, accuracy) == []
    entry = runfile.config_entry(auditor, result, None)
    assert model.excusing_deviations(entry) == ["second-derivative-cancellation"]
    detail = result.property("accuracy (documented)").detail
    assert detail.endswith(": measured 502.645 ULP outside the known deviations, 2047.02 with them")


def test_without_a_budget_a_grown_deviation_still_fails(beyond_reach):
    """A deviation's bound holds whatever the budget: its region's error above it fails the run."""
    import dataclasses

    auditor, config, obs = beyond_reach
    budgets = auditor.budgets
    tightened = tuple(
        dataclasses.replace(d, max_ulp={FLOAT16: 1024.0}) if d.id == "second-derivative-cancellation" else d
        for d in budgets.deviations
    )
    budgets = dataclasses.replace(budgets, deviations=tightened)
    judged = budget_data.check_accuracy(obs, Oracle.DOCUMENTED, budgets, "simd", 1000.0, 20.0)
    (result,), checks = budget_data.apply_deviations([judged], obs, budgets, config.target, "simd", 1000.0, 20.0)
    assert result.verdict == "fail"
    assert "deviation 'second-derivative-cancellation' grown: 2047.02 ULP > bound 1024" in result.detail
    assert [c.status for c in checks if c.id == "second-derivative-cancellation"] == ["grown"]


def test_float64_overflows_below_a_threshold_above_its_overflow_edge_a_known_deviation():
    """At threshold 1000 (beyond log(float64 max) = 709.78, in the rules' grid), float64's exp
    overflows before the threshold rule: +inf values and NaN gradients for 709.78 < b*x <= 1000, as
    float32 does above 88.72 at threshold 100. Named by exp-overflow-below-threshold-float64, whose
    bound measures the finite errors of its region; without the entry the audit fails there."""
    import dataclasses

    from suite.audit.defaults import RULES_GRID

    assert (1.0, 1000.0) in RULES_GRID
    settings = AuditSettings(formats=(FLOAT64,), grid=((1.0, 1000.0),), quantities=(Quantity.FORWARD, Quantity.GRAD))
    auditor = Auditor(settings)
    configs = [c for c in auditor.configurations() if c.path == "simd" and c.target == "torch.nn.functional:softplus"]
    for config in configs:
        result = auditor.result(config)
        assert result.verdict == "pass", [(p.name, p.detail) for p in result.properties if not p.passed]
        (check,) = [
            c
            for c in result.deviations
            if c.id == "exp-overflow-below-threshold-float64" and c.property == "accuracy (documented)"
        ]
        assert check.status == "holds"
        assert check.wrong_class > 1000  # +inf or NaN outputs: what no ULP bound measures
        assert 709.7 <= check.x_range[0] < 709.78  # from below the overflow edge, log(float64 max)
        without = dataclasses.replace(
            auditor.budgets,
            deviations=tuple(d for d in auditor.budgets.deviations if d.id != "exp-overflow-below-threshold-float64"),
        )
        obs = auditor.observe_all(config)[0]
        judged = budget_data.check_accuracy(obs, Oracle.DOCUMENTED, without, "simd", 1.0, 1000.0)
        (kept,), _ = budget_data.apply_deviations([judged], obs, without, config.target, "simd", 1.0, 1000.0)
        assert kept.verdict == "fail"


def test_the_page_shows_what_lies_outside_the_deviations_where_the_largest_error_is_inside(float64_at_beta_10):
    """The configuration's section gives the largest error outside the deviations with its input,
    check command and reproducer, where it is not the largest error itself; the matrix cell and the
    summary row add it beside the deviation's maximum."""
    forward, grad2 = float64_at_beta_10
    run_like = {"configurations": [forward, grad2]}
    views = {c["id"]: render._config_view(i, c) for i, c in enumerate(run_like["configurations"])}
    # the value's largest error (documented) lies outside every deviation: shown once, as its
    # largest; against the exact function its largest is the threshold shortcut's, so the one
    # outside is shown beside it
    assert [w["oracle"] for w in views[forward["id"]]["worst_outside"]] == ["math"]
    (shown,) = views[grad2["id"]]["worst_outside"]
    assert (shown["x_bits"], shown["oracle"]) == ("0xc04e445c2efbfbcc", "documented and math")
    assert shown["check"].startswith("softplus-audit reference grad2 0xc04e445c2efbfbcc --dtype float64")
    assert "float.fromhex('-0x1.e445c2efbfbccp+5')" in shown["reproducer"]
    rows = [(r["outside"]["max_ulp"], r["outside"]["config"]["id"]) for r in model.dtype_quantity_table(run_like)]
    assert rows == [(513.1297003097153, forward["id"]), (513.7800951254575, grad2["id"])]  # the vector path's
