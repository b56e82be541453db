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


@pytest.fixture(scope="module")
def float16_second_derivative_beyond():
    """float16's second derivative at beta 16 (a power of two above the powers-of-two rule's reach)
    and 1000 (above the any-beta rule's), every input, SIMD path: (auditor, [(config, obs)])."""
    auditor = Auditor(
        AuditSettings(formats=(FLOAT16,), grid=((16.0, 20.0), (1000.0, 20.0)), quantities=(Quantity.GRAD2,))
    )
    configs = [c for c in auditor.configurations() if c.path == "simd" and c.target == "torch.nn.functional:softplus"]
    return auditor, [(c, auditor.observe_all(c)[0]) for c in configs]


def _largest_outside_deviations(auditor, config, obs) -> float:
    import numpy as np

    regions = [
        d.region_mask(obs)
        for d in auditor.budgets.deviations
        if "accuracy (documented)" in d.properties
        and d.applies(config.target, config.fmt, config.quantity, config.path, config.beta, config.threshold)
    ]
    errors = np.nan_to_num(obs.measurements(Oracle.DOCUMENTED).ulp_error, nan=0.0)
    return float(errors[~np.logical_or.reduce(regions)].max())


def test_a_rule_whose_error_grows_with_beta_says_where_it_stops(float16_second_derivative_beyond):
    """float16's second derivative errs by about b/2 ULP (a float16-subnormal sigmoid times b), so its
    rules reach only the betas they were measured at (beta_max: 8 among powers of two, 100 for any
    beta). At beta 16 the powers-of-two rule (4 ULP) would fail a correct torch: the any-beta rule
    judges it. At beta 1000 every rule would: no budget applies, and the run says why, with the error
    it measured (about 500 ULP), not a FAIL against a budget the file says does not hold there."""
    auditor, observed = float16_second_derivative_beyond
    budgets = auditor.budgets
    (at16, obs16), (at1000, obs1000) = observed
    assert (at16.beta, at1000.beta) == (16.0, 1000.0)
    powers = [b for b in budgets.budgets if b.fmt == FLOAT16 and b.quantity is Quantity.GRAD2 and b.beta_max]
    assert sorted({(b.beta_kind, b.beta_max) for b in powers}) == [("*", 100.0), ("power_of_two", 8.0)]
    # the reach is needed: the rules it stops are exceeded there
    assert 4.0 < _largest_outside_deviations(auditor, at16, obs16) <= 64.0
    assert _largest_outside_deviations(auditor, at1000, obs1000) > 64.0
    for oracle in Oracle:
        at8 = budgets.budget_for(FLOAT16, Quantity.GRAD2, oracle, "simd", 8.0, 20.0)
        assert (at8.beta_kind, at8.max_ulp) == ("power_of_two", 4.0)
        judged16 = budgets.budget_for(FLOAT16, Quantity.GRAD2, oracle, "simd", 16.0, 20.0)
        assert (judged16.beta_kind, judged16.max_ulp) == ("*", 64.0)
        assert budgets.budget_for(FLOAT16, Quantity.GRAD2, oracle, "simd", 1000.0, 20.0) is None
        result = budget_data.check_accuracy(obs1000, oracle, budgets, "simd", 1000.0, 20.0)
        assert result.verdict == "no budget"
        assert result.detail.startswith("no budget above beta 100 (float16's second derivative multiplies")
        assert ": measured 2047.02 ULP" in result.detail
    # other quantities' rules reach any beta
    assert budgets.budget_for(FLOAT16, Quantity.GRAD, Oracle.DOCUMENTED, "simd", 1000.0, 20.0) is not None


def test_a_run_beyond_a_rules_reach_is_not_judged_and_says_why(tmp_path):
    """The command line: exit 4 (nothing failed, some accuracy had no budget), the reason on the
    terminal, and the report's first screen names the reach instead of "no budget applies"."""
    import json

    from suite.report.model import budget_phrase

    out = tmp_path / "out"
    result = here(
        "run", "--dtype", "float16", "--quantity", "grad2", "--grid", "1000,20",
        "--target", "torch.nn.functional:softplus", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 4, result.stdout + result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("NO BUDGET")]
    assert len(lines) == 4  # two paths, two oracles
    assert all("accuracy" in line and ": no budget above beta 100 (float16's" in line for line in lines)
    run = json.loads((out / "audit.json").read_text())
    assert run["verdict"] == "no budget"
    for config in run["configurations"]:
        assert config["budgets"] == {"documented": None, "math": None}
        assert budget_phrase(config).startswith("no budget above beta 100 (float16's second derivative")
    markdown = (out / "audit.md").read_text()
    # the first line: the largest error outside the deviations (not the cancellation's 2047.02 at
    # 0x209a, inside one), with the reason no budget judges it; nothing counted as failing
    assert "outside every known deviation (documented oracle): **502.645 ULP** in " in markdown
    assert "at x = `0xa470` (-0.017333984375): no budget above beta 100 (float16" in markdown
    assert "| float16 | grad2 | 2 | 0 | 2047.02 ¹ | 502.645 |" in markdown


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('beta = 1.0\nthreshold = 20.0\nbeta_max = 8.0\nbeta_max_reason = "r"\n', "beta_max belongs to a rule"),
        ("beta_max = 8.0\n", "beta_max and beta_max_reason go together"),
        ('beta_max_reason = "r"\n', "beta_max and beta_max_reason go together"),
        ('beta_max = 0.0\nbeta_max_reason = "r"\n', "'beta_max' must be a finite number > 0, got 0.0"),
        ('beta_max = "8"\nbeta_max_reason = "r"\n', "'beta_max' must be a finite number > 0, got '8'"),
    ],
)
def test_a_rules_reach_is_checked_when_the_file_is_read(tmp_path, extra, message):
    path = tmp_path / "budgets.toml"
    path.write_text('[[budget]]\ndtype = "float16"\nquantity = "grad2"\noracle = "math"\nmax_ulp = 4.0\n' + extra)
    with pytest.raises(budget_data.BudgetFileError, match=message):
        budget_data.load(path)


def test_a_rules_reach_is_kept_and_bounds_what_measures_the_rule(tmp_path, float16_second_derivative_beyond):
    """Measured again, the reach stays as written; a grid point or a sweep beyond it does not raise
    the rule (it does not hold there), while one within it does."""
    from suite.audit.budgets import SweptMaximum

    auditor, observed = float16_second_derivative_beyond
    budgets = auditor.budgets
    before = {b.key: b for b in budgets.budgets}
    far = SweptMaximum("float16", "grad2", "documented", 1000.0, 20.0, "cpu", 502.6, "0xa470")
    near = SweptMaximum("float16", "grad2", "documented", 100.0, 20.0, "cpu", 60.0, "0xb085")
    path = tmp_path / "budgets.toml"
    path.write_text(
        budget_data.regenerate(
            observed, budgets, "test", rules=True, grid=((16.0, 20.0), (1000.0, 20.0)), swept=(far, near)
        )
    )
    after = {b.key: b for b in budget_data.load(path).budgets}
    for key, rule in before.items():
        if rule.beta_max is None:
            continue
        assert (after[key].beta_max, after[key].beta_max_reason) == (rule.beta_max, rule.beta_max_reason)
        assert after[key].max_ulp == rule.max_ulp, "a point or a sweep beyond the reach raised the rule"
    anything = after[("float16", "grad2", "documented", None, None, "*", "cpu")]
    assert (anything.swept, anything.swept_beta) == (60.0, 100.0)


def test_a_sweep_beyond_a_rules_reach_says_why_once(tmp_path):
    """Every float16 input at beta 1000: not judged (no budget), the largest error outside the known
    deviations given with its input for each oracle, and the rule's reach said once, not per oracle."""
    import json

    result = here(
        "sweep", "--dtype", "float16", "--quantity", "grad2", "--beta", "1000", "--threshold", "20",
        "--workers", "1", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (path,) = tmp_path.glob("sweep-*.json")
    judgment = json.loads(path.read_text())["judgment"]
    assert judgment["verdict"] == "no budget"
    for oracle in judgment["oracles"].values():
        assert oracle["why"].startswith("no budget above beta 100 (float16's second derivative")
        assert oracle["max_ulp_outside"] > 64.0
    markdown = path.with_suffix(".md").read_text()
    (first,) = [line for line in markdown.splitlines() if line.startswith("**No budget: ")]
    assert first.count("no budget above beta 100") == 1
    assert "(no budget; documented oracle)" in first


BUDGET = '[[budget]]\ndtype = "float32"\nquantity = "forward"\noracle = "math"\nmax_ulp = 1.0\n'
DEVIATION = (
    '[[deviation]]\nid = "a"\nreason = "r"\ndtypes = ["float32"]\nquantities = ["forward"]\n'
    'properties = ["monotonicity"]\nregion = "all"\n'
)
MALFORMED_BUDGET_FILES = [
    # (the file, what its one line must say after the file's name)
    ("budget = 5\n", "'budget' must be an array of tables ([[budget]] entries), got 5"),
    ("budget = [1, 2]\n", "budget #1: must be a table of keys ([[budget]]), got 1"),
    ('[budget]\ndtype = "float32"\n', "'budget' must be an array of tables ([[budget]] entries), got {'dtype'"),
    ("meta = 5\n", "'meta' must be a table ([meta]), got 5"),
    ("[meta]\nmeasured_on = 5\n", "[meta]: 'measured_on' must be a string, got 5"),
    ("[meta]\ncolour = 1\n", "[meta]: unknown key 'colour'; accepted: measured_on, rules_grid, measured_on_cuda"),
    (BUDGET + 'beta = "x"\n', "budget #1: 'beta' must be a finite number > 0, got 'x'"),
    (BUDGET + "beta = -1.0\n", "budget #1: 'beta' must be a finite number > 0, got -1.0"),
    (BUDGET + 'threshold = "y"\n', "budget #1: 'threshold' must be a number, got 'y'"),
    (BUDGET + "path = 5\n", "budget #1: 'path' must be a string, got 5"),
    (BUDGET + 'measured = "abc"\n', "budget #1: 'measured' must be a number >= 0, got 'abc'"),
    (BUDGET + "swept_inputs = inf\n", "budget #1: 'swept_inputs' must be a whole number >= 1, got inf"),
    (BUDGET + "colour = 1\n", "budget #1: unknown key 'colour'; accepted: dtype, quantity, oracle, max_ulp, path"),
    (BUDGET + DEVIATION + "bx_min = [1]\n", "deviation #1: 'bx_min' must be a number, got [1]"),
    (DEVIATION + 'beta = "x"\n', "deviation #1: 'beta' must be a finite number > 0, got 'x'"),
    (DEVIATION + "target = 5\n", "deviation #1: 'target' must be a string, got 5"),
    (DEVIATION + "max_ulp = { float8 = 1.0 }\n", "deviation #1: 'max_ulp' has 'float8'; accepted: float16, bfloat16"),
    (DEVIATION + "colour = 1\n", "deviation #1: unknown key 'colour'; accepted: id, reason, dtypes"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED_BUDGET_FILES, ids=[m for _, m in MALFORMED_BUDGET_FILES])
def test_every_key_of_a_budget_file_is_checked_when_it_is_read(tmp_path, text, message):
    """A key of the wrong type, or one the file does not have, is one error naming the file, the
    entry, the key, what it holds and what is accepted: not a crash, and not an entry that
    silently matches nothing (and leaves the audit saying "no budget")."""
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    with pytest.raises(budget_data.BudgetFileError) as error:
        budget_data.load(path)
    assert str(error.value).startswith(f"{path}: {message}")


def test_the_budget_files_the_writer_writes_pass_the_check(tmp_path):
    """``budgets --write`` without a measurement (nothing observed, nothing lowered): the packaged
    file comes back as it is, and a file with every key the writer writes (a device's entries, a
    deviation narrowed every way) reads back as it was."""
    packaged = budget_data.load()
    text = budget_data.regenerate((), packaged, packaged.measured_on["cpu"], partial=True)
    assert text == budget_data.DEFAULT_FILE.read_text()
    widest = dataclasses.replace(
        packaged,
        budgets=(*packaged.budgets, *(dataclasses.replace(b, device="cuda") for b in packaged.budgets[:5])),
        deviations=(
            *packaged.deviations,
            dataclasses.replace(
                packaged.deviations[0],
                id="narrow",
                device="cuda",
                family="jax",
                path="x*",
                target="t",
                beta=2.0,
                threshold=5.0,
                threshold_min=1.0,
                bx_min=-3.0,
                bx_max=4.0,
            ),
        ),
        measured_on={**packaged.measured_on, "cuda": "torch x, a GPU"},
        rules_grid={**packaged.rules_grid, "cuda": ((1.0, 20.0),)},
    )
    path = tmp_path / "budgets.toml"
    path.write_text(budget_data.regenerate((), widest, "torch x, a GPU", partial=True, device="cuda"))
    again = budget_data.load(path)
    assert (again.budgets, again.deviations) == (widest.budgets, widest.deviations)
    assert (again.measured_on, again.rules_grid) == (widest.measured_on, widest.rules_grid)
    assert any(b.swept_inputs for b in again.budgets)
    assert any(b.beta_max for b in again.budgets)
