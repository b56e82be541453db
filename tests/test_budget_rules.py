"""The budget file's rules (budgets at any beta and threshold) and the grid they were measured on:
recorded in the file (``[meta] rules_grid``), measured again on that grid by default, and never
lowered by a run that did not measure every point of it."""

from __future__ import annotations

import dataclasses

import pytest

from suite.audit import budgets as budget_data
from suite.audit.defaults import DEFAULT_GRID, RULES_GRID
from suite.audit.engine import Auditor, AuditSettings
from suite.numerics.formats import FLOAT16
from suite.numerics.params import Oracle, Quantity
from tests.test_cli import here

ONE_POINT = ((1.0, 20.0),)


@pytest.fixture(scope="module")
def observed():
    """float16's forward value at torch's default parameters, every input."""
    auditor = Auditor(AuditSettings(formats=(FLOAT16,), grid=ONE_POINT, quantities=(Quantity.FORWARD,)))
    return [(c, auditor.observe_all(c)[0]) for c in auditor.configurations()]


def _rule(budgets: budget_data.Budgets, kind: str = "*") -> budget_data.Budget:
    (found,) = [
        b
        for b in budgets.budgets
        if (b.fmt, b.quantity, b.oracle, b.beta, b.beta_kind, b.device)
        == (FLOAT16, Quantity.FORWARD, Oracle.DOCUMENTED, None, kind, "cpu")
    ]
    return found


def _with_rule(budgets: budget_data.Budgets, max_ulp: float, measured: float, grid) -> budget_data.Budgets:
    """``budgets`` whose float16 forward rule for any beta says ``max_ulp`` (measured ``measured``),
    measured on ``grid`` (None: not recorded)."""
    rule = _rule(budgets)
    changed = dataclasses.replace(rule, max_ulp=max_ulp, measured=measured)
    return dataclasses.replace(
        budgets,
        budgets=tuple(changed if b is rule else b for b in budgets.budgets),
        rules_grid={} if grid is None else {"cpu": tuple(grid)},
    )


def _regenerated(tmp_path, observed, budgets, grid) -> budget_data.Budgets:
    path = tmp_path / "budgets.toml"
    path.write_text(budget_data.regenerate(observed, budgets, "test", rules=True, grid=grid))
    return budget_data.load(path)


def test_the_packaged_rules_record_their_grid_the_default_one_within_it():
    recorded = budget_data.load().rules_grid["cpu"]
    assert set(DEFAULT_GRID) <= set(recorded)
    assert recorded == RULES_GRID, "the packaged rules were measured on RULES_GRID (budgets --rules)"


def test_a_rules_run_over_the_recorded_grid_measures_the_rules_afresh(tmp_path, observed):
    """Every point of the recorded grid measured again: a rule may fall (here from a planted 64 ULP
    to what float16's forward value measures at (1, 20), just above half an ULP, so 1), and the grid
    stays."""
    planted = _with_rule(budget_data.load(), 64.0, 40.0, ONE_POINT)
    new = _regenerated(tmp_path, observed, planted, ONE_POINT)
    assert (_rule(new).max_ulp, _rule(new).measured) == (1.0, pytest.approx(0.5, abs=1e-3))
    assert new.rules_grid == {"cpu": ONE_POINT}


@pytest.mark.parametrize("recorded", [((1.0, 20.0), (3.0, 0.2)), None], ids=["recorded", "not recorded"])
def test_a_rules_run_that_misses_a_point_of_the_grid_only_raises_the_rules(tmp_path, observed, recorded):
    """Where the run lacks a point the rules were measured on (or the file does not say which), that
    point may be what set them: they keep their budget and measured value, and the recorded grid
    gains the points measured."""
    planted = _with_rule(budget_data.load(), 64.0, 40.0, recorded)
    new = _regenerated(tmp_path, observed, planted, ONE_POINT)
    assert (_rule(new).max_ulp, _rule(new).measured) == (64.0, 40.0)
    assert new.rules_grid == {"cpu": recorded or ONE_POINT}
    # what it measured above a kept value still raises it
    low = _with_rule(budget_data.load(), 0.25, 0.1, recorded)
    raised = _regenerated(tmp_path, observed, low, ONE_POINT)
    assert (_rule(raised).max_ulp, _rule(raised).measured) == (1.0, pytest.approx(0.5, abs=1e-3))


def test_a_new_point_joins_the_recorded_grid_in_order(tmp_path, observed):
    planted = _with_rule(budget_data.load(), 64.0, 40.0, ((3.0, 0.2),))
    new = _regenerated(tmp_path, observed, planted, ONE_POINT)
    assert new.rules_grid == {"cpu": ((3.0, 0.2), (1.0, 20.0))}
    assert (_rule(new).max_ulp, _rule(new).measured) == (64.0, 40.0)


def test_a_file_without_rules_gets_them_and_their_grid(tmp_path, observed):
    committed = budget_data.load()
    bare = dataclasses.replace(
        committed,
        budgets=tuple(b for b in committed.budgets if b.beta is not None or b.threshold is not None),
        rules_grid={},
    )
    new = _regenerated(tmp_path, observed, bare, ONE_POINT)
    assert _rule(new).max_ulp == _rule(new, "power_of_two").max_ulp == 1.0
    assert new.rules_grid == {"cpu": ONE_POINT}


def test_other_runs_keep_the_recorded_grid(tmp_path, observed):
    path = tmp_path / "budgets.toml"
    path.write_text(budget_data.regenerate(observed, budget_data.load(), "test", partial=True))
    assert budget_data.load(path).rules_grid == budget_data.load().rules_grid


@pytest.mark.parametrize(
    "value",
    ["[]", "[[1.0]]", "[[0.0, 20.0]]", "[[nan, 20.0]]", '[["1", 20.0]]', "1.0", "[[true, 20.0]]"],
)
def test_a_malformed_rules_grid_is_one_clear_error(tmp_path, value):
    path = tmp_path / "budgets.toml"
    path.write_text(f"[meta]\nrules_grid = {value}\n")
    with pytest.raises(budget_data.BudgetFileError, match=r"rules_grid must be a list of \[beta, threshold\] pairs"):
        budget_data.load(path)


def test_budgets_rules_measures_the_recorded_grid_by_default(tmp_path):
    """No --grid: the grid the file's rules were measured on, measured again and recorded again; a
    part of the configurations (one dtype and quantity here) may measure that grid."""
    path = tmp_path / "budgets.toml"
    one_point = dataclasses.replace(budget_data.load(), rules_grid={"cpu": ONE_POINT})
    path.write_text(budget_data.regenerate([], one_point, "test", partial=True))
    assert budget_data.load(path).rules_grid == {"cpu": ONE_POINT}
    result = here("budgets", "--rules", "--budgets", str(path), "--dtype", "float16", "--quantity", "forward")
    assert result.returncode == 0, result.stderr[-2000:]
    again = tmp_path / "again.toml"
    again.write_text(result.stdout)
    assert budget_data.load(again).rules_grid == {"cpu": ONE_POINT}


def test_budgets_rules_on_another_grid_with_part_of_the_configurations_is_refused():
    """The recorded grid must be true of every rule: a point measured for one dtype only would make
    it false for the others. One line, exit 2, before any measurement."""
    result = here("budgets", "--rules", "--dtype", "float16", "--grid", "1,20")
    assert result.returncode == 2
    assert "the file's rules were measured on --grid '1,20;0.1,20;10,20;1,1;1,100;" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_bfloat16_second_derivatives_premature_zero_is_named_not_budgeted():
    """At b = 8 (a power of two: b·x exact) the bfloat16 second derivative is 0 below b·x = -88.72,
    where sigmoid's exp(-b·x) overflows float32, while the exact value is a normal bfloat16: 194 ULP,
    inside bfloat16-second-derivative-subnormal-sigmoid. Outside it the error is rounding, within
    the rule for powers of two; the region's largest error is the premature zero."""
    import numpy as np

    from suite.numerics.formats import BFLOAT16

    auditor = Auditor(AuditSettings(formats=(BFLOAT16,), grid=((8.0, 1.0),), quantities=(Quantity.GRAD2,)))
    config = auditor.configurations()[0]
    obs = auditor.observe_all(config)[0]
    (deviation,) = [d for d in auditor.budgets.deviations if d.id == "bfloat16-second-derivative-subnormal-sigmoid"]
    region = deviation.region_mask(obs)
    errors = np.nan_to_num(obs.measurements(Oracle.DOCUMENTED).ulp_error, nan=0.0)
    worst = int(np.argmax(np.where(region, errors, -1.0)))
    assert (obs.x[worst], float(obs.y[worst])) == (-11.125, 0.0)
    assert errors[worst] == pytest.approx(194.03, abs=0.01)
    others = [
        d.region_mask(obs)
        for d in auditor.budgets.deviations
        if d.applies(config.target, config.fmt, config.quantity, config.path, 8.0, 1.0, config.family, config.device)
        and "accuracy (documented)" in d.properties
    ]
    outside = ~np.logical_or.reduce(others)
    rule = auditor.budgets.budget_for(BFLOAT16, Quantity.GRAD2, Oracle.DOCUMENTED, config.path, 8.0, 1.0)
    assert (rule.beta, rule.beta_kind) == (None, "power_of_two")
    assert 1.0 < errors[outside].max() <= rule.max_ulp == 2.0
