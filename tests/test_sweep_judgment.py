"""A sweep judged against the budgets and known deviations (:mod:`suite.sweep.regions`): the regions
that cut its inputs are exactly the audit's, its verdict on every input of a 16-bit format is the
audit's on the same inputs, and it catches the defects it judges (planted in tests/planted_targets.py)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from suite import implementations
from suite.audit import budgets as budget_data
from suite.audit.engine import Auditor, AuditSettings
from suite.audit.properties import accuracy_name
from suite.numerics.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, format_named
from suite.numerics.params import ORACLE_ORDER, Oracle, Params, Quantity
from suite.numerics.ulp import Failure
from suite.report.sweepreport import render_sweep_html, render_sweep_markdown
from suite.sweep import SweepSpec, report, sweep_range
from suite.sweep.accumulate import accumulator_from_json, accumulator_to_json
from suite.sweep.regions import OUTSIDE, Region, RegionStats, class_masks, class_of, judge, pieces, regions_of

GRID = ((1.0, 20.0), (0.1, 20.0), (10.0, 20.0), (1.0, 1.0), (1.0, 100.0), (3.0, 0.2), (0.1, 100.0), (2.0, 100.0))
"""The default grid, PyTorch's own test point (3, 0.2), and thresholds above exp's overflow."""


@pytest.fixture(scope="module")
def budgets():
    return budget_data.load()


@pytest.fixture(scope="module")
def torch_target():
    return implementations.load("torch.nn.functional:softplus")


def _patterns(fmt, interval) -> np.ndarray:
    if interval is None:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate([np.arange(a, b) for a, b in fmt.ordinal_ranges(*interval)]))


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=lambda f: f.name)
def test_a_deviations_interval_holds_exactly_the_inputs_of_its_region(fmt, budgets):
    """Every pattern of the format, every deviation of the file, at every grid point: the ranges a
    sweep is cut by hold the patterns the audit's region mask holds, no more, no fewer."""
    x = fmt.decode(fmt.all_bits())
    shapes = set()
    for deviation, (beta, threshold) in itertools.product(budgets.deviations, GRID):
        params = Params.as_kernel_sees(beta, threshold, fmt)
        expected = np.flatnonzero(deviation.contains(x, params))
        interval = deviation.interval(fmt, params)
        assert np.array_equal(_patterns(fmt, interval), expected), (deviation.id, beta, threshold)
        if interval is not None:
            shapes.add("both signs" if interval[0] < 0 < interval[1] else "one sign")
            shapes.add("one input" if interval[0] == interval[1] else "many")
        else:
            shapes.add("empty")
    assert shapes == {"both signs", "one sign", "one input", "many", "empty"}, "the cases do not cover every shape"


def test_a_float32_interval_ends_where_its_region_does(budgets):
    """float32 (too many patterns to enumerate here): the interval's first and last inputs are in
    the region, their finite outer neighbours are not, and a spread of inputs agrees."""
    fmt = FLOAT32
    top = int(fmt.ordinal(fmt.encode(np.array([fmt.max_finite])))[0])
    spread = np.linspace(-top, top, 20001).astype(np.int64)
    for deviation, (beta, threshold) in itertools.product(budgets.deviations, GRID):
        params = Params.as_kernel_sees(beta, threshold, fmt)
        interval = deviation.interval(fmt, params)

        def holds(ordinals, deviation=deviation, params=params):
            return deviation.contains(fmt.decode(fmt.from_ordinal(np.asarray(ordinals))), params)

        inside = np.zeros(len(spread), dtype=bool)
        if interval is not None:
            lo, hi = interval
            assert holds([lo, hi]).all(), (deviation.id, beta, threshold)
            beyond = [o for o in (lo - 1, hi + 1) if -top <= o <= top]
            assert not holds(beyond).any(), (deviation.id, beta, threshold)
            inside = (spread >= lo) & (spread <= hi)
        assert np.array_equal(holds(spread), inside), (deviation.id, beta, threshold)


def test_pieces_cut_a_range_where_regions_begin_and_end():
    regions = (Region("a", ((10, 20),)), Region("b", ((15, 30), (40, 41))))
    assert pieces(0, 50, regions) == [
        (0, 10, OUTSIDE),
        (10, 15, "a"),
        (15, 20, "a + b"),
        (20, 30, "b"),
        (30, 40, OUTSIDE),
        (40, 41, "b"),
        (41, 50, OUTSIDE),
    ]
    assert pieces(16, 18, regions) == [(16, 18, "a + b")]
    assert pieces(0, 5, ()) == [(0, 5, OUTSIDE)]


CASES = [
    (FLOAT16, Quantity.FORWARD, 1.0, 100.0),  # +inf where exp overflows below the threshold
    (FLOAT16, Quantity.GRAD, 1.0, 100.0),  # NaN there
    (FLOAT16, Quantity.GRAD2, 10.0, 20.0),
    (BFLOAT16, Quantity.GRAD, 0.1, 20.0),
    (BFLOAT16, Quantity.FORWARD, 1.0, 1.0),
    (BFLOAT16, Quantity.GRAD2, 1.0, 20.0),
]


def _largest(errors: np.ndarray):
    errors = errors[~np.isnan(errors)]
    return float(errors.max()) if errors.size else None


def _judged_as_the_masks_give(judgment: dict, oracle: Oracle, meas, masks: dict[str, np.ndarray]) -> dict:
    """Assert that the judgment's record for ``oracle`` is what the measurements ``meas`` give inside
    each region mask (``masks``: deviation id -> the inputs in its region, as the audit masks them)
    and outside them all: inputs, largest error, wrong-class outputs. Returns the record."""
    prop = accuracy_name(oracle)
    inside = {(d["id"], d["property"]): d for d in judgment["deviations"]}
    outside = np.ones(len(meas), dtype=bool)
    for rid, region in masks.items():
        outside &= ~region
        record = inside[(rid, prop)]
        assert record["inputs"] == region.sum()
        assert record["max_ulp"] == _largest(meas.ulp_error[region])
        assert record["wrong_class"] == np.count_nonzero(meas.failure[region] != Failure.NONE)
    record = judgment["oracles"][oracle.value]
    assert record["inputs_outside"] == outside.sum()
    assert record["max_ulp_outside"] == _largest(meas.ulp_error[outside])
    assert record["wrong_class_outside"] == np.count_nonzero(meas.failure[outside] != Failure.NONE)
    return record


@pytest.mark.parametrize(("fmt", "quantity", "beta", "threshold"), CASES, ids=lambda v: getattr(v, "name", str(v)))
def test_a_16_bit_sweeps_judgment_is_the_audits_on_the_same_inputs(
    fmt, quantity, beta, threshold, budgets, torch_target
):
    """The audit sees every pattern of a 16-bit format too: the sweep's largest error outside the
    deviations, its wrong-class outputs there, each deviation's largest error and input count in
    its region, and the verdicts are the audit's (measured on its own observations and masks)."""
    spec = SweepSpec(fmt, quantity=quantity, beta=beta, threshold=threshold)
    acc = sweep_range(spec, 0, fmt.count, torch_target)
    judgment = judge(spec, acc.regions, budgets)
    assert judgment["judged"]
    auditor = Auditor(
        AuditSettings(targets=(spec.target,), formats=(fmt,), grid=((beta, threshold),), quantities=(quantity,))
    )
    (config,) = [c for c in auditor.configurations() if c.path == spec.path]
    obs, exhaustive = auditor.observe_all(config)
    assert exhaustive
    assert len(obs.x) == fmt.count
    args = (config.target, fmt, quantity, config.path, beta, threshold, config.family, config.device)
    for oracle in ORACLE_ORDER:
        prop = accuracy_name(oracle)
        masks = {d.id: d.region_mask(obs) for d in budgets.deviations if prop in d.properties and d.applies(*args)}
        record = _judged_as_the_masks_give(judgment, oracle, obs.measurements(oracle), masks)
        audited = auditor.result(config).property(prop)
        assert (record["verdict"] == "within budget") == audited.passed
    zeros = (obs.y == 0) & (obs.reference(Oracle.DOCUMENTED).rounded > 0)
    assert judgment["positivity"]["zeros_outside"] + judgment["positivity"]["zeros_inside"] == zeros.sum()


def test_a_band_outside_every_deviation_exceeds_the_budget(budgets):
    """64 bad float32 inputs near 3.1 (tests.planted_targets:narrow_band), in a sweep of their
    neighbourhood: the verdict names one of them; real torch there is within budget."""
    start = int(np.float32(3.1).view(np.uint32)) & ~0xFFFFF
    band = int(np.float32(3.1).view(np.uint32))
    for target, verdict in (("tests.planted_targets:narrow_band", "exceeds budget"), (None, "within budget")):
        spec = SweepSpec(FLOAT32, **({"target": target} if target else {}))
        acc = sweep_range(spec, start, start + (1 << 20), implementations.load(spec.target))
        record = judge(spec, acc.regions, budgets)["oracles"]["documented"]
        assert record["verdict"] == verdict
        if target:
            assert band <= int(record["worst_outside"]["x_bits"], 16) < band + 64
            assert record["max_ulp_outside"] > 15


def test_an_error_inside_a_deviation_above_its_bound_is_grown(budgets, torch_target):
    """Two ULPs where float16's exp overflows below t = 100 (tests.planted_targets:overflow_two_ulps):
    the deviation there allows half an ULP, so it has grown and the sweep exceeds its budget,
    although nothing outside the region is wrong; torch's own +inf there is what the deviation excuses."""
    spec = SweepSpec(FLOAT16, target="tests.planted_targets:overflow_two_ulps", threshold=100.0)
    judgment = judge(spec, sweep_range(spec, 0, FLOAT16.count, implementations.load(spec.target)).regions, budgets)
    record = judgment["oracles"]["documented"]
    assert record["verdict"] == "exceeds budget"
    assert record["max_ulp_outside"] <= record["budget"]
    (grown,) = [d for d in judgment["deviations"] if d["property"] == "accuracy (documented)"]
    assert (grown["id"], grown["status"]) == ("exp-overflow-below-threshold", "grown")
    assert grown["max_ulp"] == 2.0
    assert judgment["verdict"] == "fails"
    real = SweepSpec(FLOAT16, threshold=100.0)
    judgment = judge(real, sweep_range(real, 0, FLOAT16.count, torch_target).regions, budgets)
    (holds,) = [d for d in judgment["deviations"] if d["property"] == "accuracy (documented)"]
    assert (holds["status"], judgment["verdict"]) == ("holds", "holds")
    assert holds["wrong_class"] > 0


def test_premature_zeros_outside_every_deviation_fail_positivity(budgets, torch_target):
    """A gradient of exactly 0 below b*x = -20 (tests.planted_targets:dead_gradient): bfloat16 holds
    sigmoid(-20) = 2.1e-9 and far less, and no deviation excuses a zero there; torch's has none."""
    spec = SweepSpec(BFLOAT16, target="tests.planted_targets:dead_gradient", quantity=Quantity.GRAD)
    acc = sweep_range(spec, 0, BFLOAT16.count, implementations.load(spec.target))
    positivity = judge(spec, acc.regions, budgets)["positivity"]
    assert positivity["verdict"] == "fails"
    assert positivity["zeros_outside"] == acc.zero_where_positive.count > 0
    assert -20.5 <= float(positivity["example_outside"]["x"]) < -20.0
    real = SweepSpec(BFLOAT16, quantity=Quantity.GRAD)
    assert judge(real, sweep_range(real, 0, BFLOAT16.count, torch_target).regions, budgets)["positivity"] == {
        "property": "positivity",
        "zeros_outside": 0,
        "example_outside": None,
        "zeros_inside": 0,
        "excused_by": [],
        "verdict": "holds",
    }


def test_class_masks_sort_a_samples_inputs_as_pieces_cut_a_range():
    regions = (Region("a", ((10, 20),)), Region("b", ((15, 30), (40, 41))))
    bits = np.array([45, 17, 3, 40, 12, 25, 19, 0, 2**64 - 1], dtype=np.uint64)
    masks = class_masks(bits, regions)
    assert list(masks) == [OUTSIDE, "a + b", "b", "a"]  # in order of first appearance
    for i, b in enumerate(bits.tolist()):
        (label,) = [label for label, mask in masks.items() if mask[i]]
        assert label == class_of(b, regions)
    assert list(class_masks(bits, ())) == [OUTSIDE]


SAMPLED = [
    (Quantity.FORWARD, 1.0, 20.0),  # exp's underflow far left, the threshold shortcut
    (Quantity.GRAD2, 1.0, 20.0),  # the cancellation for b*x > 0, the double backward at t
    (Quantity.GRAD, 0.1, 100.0),
]


@pytest.mark.parametrize(("quantity", "beta", "threshold"), SAMPLED, ids=str)
def test_a_float64_samples_judgment_is_made_on_the_inputs_it_measured(quantity, beta, threshold, budgets, torch_target):
    """float64 cannot be swept whole: its sample is judged as the audit judges one, on those inputs.
    The largest error and wrong-class outputs outside the deviations, each deviation's inputs and
    largest error, and the zeros are what the audit's region masks give on the same inputs,
    measured afresh; the judgment says it saw a sample."""
    from suite.numerics.fastref import fast_reference
    from suite.numerics.formats import FLOAT64
    from suite.numerics.ulp import measure, sharpen
    from suite.sweep import sample_float64

    spec = SweepSpec(FLOAT64, quantity=quantity, beta=beta, threshold=threshold)
    acc, x = sample_float64(spec, 4, torch_target)
    judgment = judge(spec, acc.regions, budgets)
    assert judgment["judged"]
    assert (judgment["inputs"], judgment["every_input"]) == (len(x), False)
    params = Params.as_kernel_sees(beta, threshold, FLOAT64)
    y = torch_target.evaluate(x, FLOAT64, quantity, beta, threshold, spec.device, spec.path)
    args = (spec.target, FLOAT64, quantity, spec.path, beta, threshold, "torch", spec.device)
    excused = 0
    for oracle in ORACLE_ORDER:
        ref, prop = fast_reference(quantity, x, params, FLOAT64, oracle), accuracy_name(oracle)
        masks = {d.id: d.contains(x, params) for d in budgets.deviations if prop in d.properties and d.applies(*args)}
        # the largest errors exact, in each region and outside them all (float64's bound is ~2**-11 ULP)
        classes = np.zeros(len(x), dtype=np.int64)
        for i, mask in enumerate(masks.values()):
            classes |= mask.astype(np.int64) << i
        meas = sharpen(measure(y, ref), x, y, ref, quantity, params, oracle, classes)
        excused += len(masks)
        assert _judged_as_the_masks_give(judgment, oracle, meas, masks)["verdict"] == "within budget"
    assert excused, "no deviation applies: the case tests nothing of the classes"
    zeros = (y == 0) & (fast_reference(quantity, x, params, FLOAT64, Oracle.DOCUMENTED).rounded > 0)
    assert judgment["positivity"]["zeros_outside"] + judgment["positivity"]["zeros_inside"] == zeros.sum()
    assert judgment["verdict"] == "holds"


def test_a_float64_sample_catches_what_it_judges(budgets):
    """Planted defects on a float64 sample: an accuracy far outside the budget
    (tests.planted_targets:lowered_precision) and premature zeros where no deviation excuses them
    (tests.planted_targets:dead_gradient); the page says the verdict rests on a sample."""
    from suite.numerics.formats import FLOAT64
    from suite.sweep import sample_float64

    spec = SweepSpec(FLOAT64, target="tests.planted_targets:lowered_precision")
    acc, _ = sample_float64(spec, 4, implementations.load(spec.target))
    judgment = judge(spec, acc.regions, budgets)
    assert judgment["oracles"]["documented"]["verdict"] == "exceeds budget"
    assert judgment["oracles"]["documented"]["max_ulp_outside"] > 2.0**30
    assert judgment["verdict"] == "fails"
    spec = SweepSpec(FLOAT64, target="tests.planted_targets:dead_gradient", quantity=Quantity.GRAD)
    acc, _ = sample_float64(spec, 4, implementations.load(spec.target))
    data = report(spec, acc, 1)
    positivity = data["judgment"]["positivity"]
    assert positivity["verdict"] == "fails"
    assert -709 < float(positivity["example_outside"]["x"]) < -20.0  # right of exp-underflow-float64
    assert "Exceeds the budget" in render_sweep_markdown(data)
    acc, _ = sample_float64(SweepSpec(FLOAT64), 4, implementations.load("torch.nn.functional:softplus"))
    data = report(SweepSpec(FLOAT64), acc, 1)
    markdown = render_sweep_markdown(data)
    assert f"**Within budget on the {acc.inputs:,} inputs measured (a sample, not every input): " in markdown
    assert "### Property violations (the inputs measured)" in markdown
    assert "Property violations, the inputs measured" in render_sweep_html(data)


def test_statistics_without_regions_or_cut_by_other_ones_are_not_judged(budgets, torch_target, tmp_path):
    """Shards checkpointed before the regions were recorded (no ``regions``), or cut by a budget
    file's other deviations, give no verdict: the judgment says why, it does not guess."""
    spec = SweepSpec(FLOAT16, threshold=100.0)
    acc = sweep_range(spec, 0, 4096, torch_target)
    again = accumulator_from_json(accumulator_to_json(acc))
    assert judge(spec, again.regions, budgets) == judge(spec, acc.regions, budgets)
    old = accumulator_to_json(acc)
    old.pop("regions")
    assert judge(spec, accumulator_from_json(old).regions, budgets)["judged"] is False
    assert "measure the sweep again" in report(spec, accumulator_from_json(old), 1)["judgment"]["why"]
    text = budget_data.DEFAULT_FILE.read_text().replace("bx_min = 88.7", "bx_min = 88.5")
    (tmp_path / "budgets.toml").write_text(text)
    other = judge(spec, acc.regions, budget_data.load(tmp_path / "budgets.toml"))
    assert other["judged"] is False
    assert "not those its inputs were cut by" in other["why"]
    assert regions_of(spec, "torch", budgets) == acc.regions.regions


def test_a_sweep_reports_first_words_are_its_judgment(budgets):
    """The Markdown's first bold line and the page's header say the verdict with the input's bits;
    a sweep not judged says why, and a file from before the judgment renders as it did."""
    start = int(np.float32(3.1).view(np.uint32)) & ~0xFFFFF
    spec = SweepSpec(FLOAT32, target="tests.planted_targets:narrow_band")
    data = report(spec, sweep_range(spec, start, start + (1 << 20), implementations.load(spec.target)), 1)
    worst = data["judgment"]["oracles"]["documented"]["worst_outside"]["x_bits"]
    markdown = render_sweep_markdown(data)
    first = next(line for line in markdown.splitlines() if line.startswith("**") and "inputs**" not in line)
    assert first.startswith("**Exceeds the budget: outside the known deviations, ")
    assert f"ULP at x = {worst} (budget 2 ULP; documented oracle)" in first
    page = render_sweep_html(data)
    assert '<header class="verdict fail"' in page
    assert "Exceeds the budget" in page.split("</header>")[0]
    from suite.report.sweepreport import precise_ulp

    outside = data["judgment"]["oracles"]["documented"]["max_ulp_outside"]
    assert f'title="largest error outside the known deviations">{precise_ulp(outside)} ULP</p>' in page
    assert "Against the budgets and known deviations" in page
    data["judgment"] = {"judged": False, "why": "no statistics per region"}
    assert "**Not judged against the budgets: no statistics per region.**" in render_sweep_markdown(data)
    del data["judgment"]
    assert "budget" not in render_sweep_markdown(data).split("### Histogram")[0]
    assert '<header class="verdict fail"' in render_sweep_html(data)  # not faithful, as before


def test_a_budget_is_at_least_the_largest_error_a_sweep_found_on_every_input(tmp_path):
    """``budgets --sweeps``: a sweep's every-input maximum outside the deviations sets a budget's
    floor and is recorded beside it (``swept``, ``swept_at``); a later regeneration without the
    sweep keeps it; a sweep of another target is named and not used."""
    from tests.test_cli import here

    sweeps = tmp_path / "sweeps"
    for target in ("torch.nn.functional:softplus", "tests.planted_targets:overshoot"):
        result = here("sweep", "--dtype", "bfloat16", "--quantity", "grad", "--target", target, "--out", str(sweeps))
        assert result.returncode == 0, result.stderr[-2000:]
    (swept,) = sweeps.glob("sweep-torch.nn.functional.softplus-*.json")
    judgment = json.loads(swept.read_text())["judgment"]["oracles"]["documented"]
    result = here("budgets", "--dtype", "bfloat16", "--quantity", "grad", "--grid", "1,20", "--sweeps", str(sweeps))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "tests.planted_targets.overshoot" in result.stderr
    assert "another target; not used" in result.stderr
    path = tmp_path / "budgets.toml"
    path.write_text(result.stdout)
    budget = budget_data.load(path).budget_for(BFLOAT16, Quantity.GRAD, Oracle.DOCUMENTED, "simd", 1.0, 20.0)
    assert (budget.swept, budget.swept_at) == (judgment["max_ulp_outside"], judgment["worst_outside"]["x_bits"])
    assert budget.max_ulp >= budget.swept
    # a sweep that found more than the audit's inputs: the budget rises to cover it, and stays
    observed = []
    raised = budget_data.regenerate(
        observed,
        budget_data.load(path),
        "test",
        partial=True,
        swept=(budget_data.SweptMaximum("bfloat16", "grad", "documented", 1.0, 20.0, "cpu", 3.3, "0xc080"),),
    )
    path.write_text(raised)
    budget = budget_data.load(path).budget_for(BFLOAT16, Quantity.GRAD, Oracle.DOCUMENTED, "simd", 1.0, 20.0)
    assert (budget.max_ulp, budget.swept, budget.swept_at) == (4.0, 3.3, "0xc080")
    path.write_text(budget_data.regenerate([], budget_data.load(path), "test", partial=True))
    again = budget_data.load(path).budget_for(BFLOAT16, Quantity.GRAD, Oracle.DOCUMENTED, "simd", 1.0, 20.0)
    assert (again.max_ulp, again.swept, again.swept_at) == (4.0, 3.3, "0xc080")


def test_a_rule_is_at_least_every_sweep_it_covers(tmp_path):
    """A rule holds at any parameters, the swept ones too: ``budgets --sweeps`` raises it to the
    largest error of every matching sweep (powers of two: only sweeps at such a beta), records
    where (``swept_beta``, ``swept_threshold``) and keeps it when measured again; the audit does not
    show a rule's sweep as the maximum of a configuration at other parameters."""
    from suite.audit.budgets import SweptMaximum

    def rule(path, kind):
        (found,) = [
            b
            for b in budget_data.load(path).budgets
            if (b.fmt, b.quantity, b.oracle, b.beta, b.beta_kind, b.device)
            == (FLOAT64, Quantity.FORWARD, Oracle.DOCUMENTED, None, kind, "cpu")
        ]
        return found

    path = tmp_path / "budgets.toml"
    before = {kind: rule(budget_data.DEFAULT_FILE, kind).max_ulp for kind in ("*", "power_of_two")}
    swept = (
        SweptMaximum("float64", "forward", "documented", 10.0, 20.0, "cpu", 1500.0, "0xc050", 8200709),
        SweptMaximum("float64", "forward", "documented", 2.0, 1.0, "cpu", 3.0, "0xc010", None),
    )
    path.write_text(budget_data.regenerate([], budget_data.load(), "test", partial=True, swept=swept))
    anything = rule(path, "*")
    assert (anything.max_ulp, anything.swept, anything.swept_at) == (2048.0, 1500.0, "0xc050")
    assert (anything.swept_inputs, anything.swept_beta, anything.swept_threshold) == (8200709, 10.0, 20.0)
    powers = rule(path, "power_of_two")
    assert (powers.max_ulp, powers.swept, powers.swept_inputs, powers.swept_beta) == (4.0, 3.0, None, 2.0)
    assert before == {"*": 1024.0, "power_of_two": 2.0}, "the test assumes the packaged rules"
    again = tmp_path / "again.toml"
    again.write_text(budget_data.regenerate([], budget_data.load(path), "test", partial=True))
    assert again.read_text() == path.read_text()
    settings = AuditSettings(
        formats=(FLOAT64,), grid=((3.0, 20.0),), quantities=(Quantity.FORWARD,), budgets_file=str(path)
    )
    auditor = Auditor(settings)
    config = auditor.configurations()[0]
    assert auditor.budgets_of(config)["documented"] == 2048.0  # the rule applies at beta 3
    assert auditor.every_input_of(config) == auditor.sweep_sample_of(config) == {"documented": None, "math": None}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('swept = 3.0\nswept_at = "0xc010"\n', "a rule's swept needs swept_at, swept_beta and swept_threshold"),
        ("beta = 1.0\nthreshold = 20.0\nswept = 3.0\n", "swept needs swept_at"),
    ],
)
def test_a_budget_file_says_what_a_sweeps_record_lacks(tmp_path, extra, message):
    """Hand-edited: a sweep's maximum without its input, or a rule's without the parameters it was
    found at, is one clear error, not a crash when the file is measured again."""
    path = tmp_path / "budgets.toml"
    path.write_text('[[budget]]\ndtype = "float64"\nquantity = "grad"\noracle = "math"\nmax_ulp = 4.0\n' + extra)
    with pytest.raises(budget_data.BudgetFileError, match=message):
        budget_data.load(path)


def test_judge_judges_a_sweep_again_from_what_it_recorded(tmp_path):
    """``softplus-audit judge``: against the file the sweep was judged by, the same judgment; against
    a file with a smaller budget, *exceeds* (exit 1) and the report says so; a sweep without its
    statistics per region cannot be judged again (exit 4) and says why."""
    from tests.test_cli import here

    result = here("sweep", "--dtype", "float16", "--quantity", "grad", "--threshold", "100", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = tmp_path.glob("sweep-*.json")
    first = json.loads(path.read_text())
    result = here("judge", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(path.read_text())["judgment"] == first["judgment"]
    assert result.stdout.startswith(f"softplus-audit: {path}: Within budget on every input")
    worst = first["judgment"]["oracles"]["documented"]["max_ulp_outside"]
    tight = budget_data.DEFAULT_FILE.read_text().replace(
        'dtype = "float16"\nquantity = "grad"\noracle = "documented"\nbeta = 1.0\nthreshold = 100.0\nmax_ulp = 1.0',
        'dtype = "float16"\nquantity = "grad"\noracle = "documented"\nbeta = 1.0\nthreshold = 100.0\nmax_ulp = 0.5',
    )
    assert tight != budget_data.DEFAULT_FILE.read_text(), "the budget entry to tighten was not found"
    (tmp_path / "tight.toml").write_text(tight)
    result = here("judge", str(path), "--budgets", str(tmp_path / "tight.toml"))
    assert result.returncode == 1
    again = json.loads(path.read_text())
    assert again["judgment"]["oracles"]["documented"]["verdict"] == "exceeds budget"
    assert again["judgment"]["budgets_file"] == again["spec"]["budgets"] == str(tmp_path / "tight.toml")
    assert (
        f"**Exceeds the budget: outside the known deviations, {worst:.9g} ULP at x = "
        in path.with_suffix(".md").read_text()
    )
    del again["regions"]
    path.write_text(json.dumps(again))
    result = here("judge", str(path))
    assert result.returncode == 4
    assert "Not judged against the budgets: no statistics per region" in result.stdout


def test_a_budget_recorded_with_its_sweep_says_so_where_the_audit_shows_it(tmp_path):
    """A run records, per oracle, what a sweep of every input found for the configuration's budget
    (the file's ``swept``), and the audit's pages give it beside the sample's headroom."""
    import re

    from suite.report.model import budget_phrase

    entry = re.compile(
        r'(dtype = "float16"\nquantity = "grad"\noracle = "documented"\nbeta = 1.0\nthreshold = 20.0\n'
        r"max_ulp = [^\n]*\n(?:measured = [^\n]*\n)?)"
    )
    text, found = entry.subn(r'\1swept = 0.75\nswept_at = "0xc000"\n', budget_data.DEFAULT_FILE.read_text())
    assert found == 1
    (tmp_path / "budgets.toml").write_text(text)
    settings = AuditSettings(
        formats=(FLOAT16,),
        grid=((1.0, 20.0),),
        quantities=(Quantity.GRAD,),
        budgets_file=str(tmp_path / "budgets.toml"),
    )
    auditor = Auditor(settings)
    config = auditor.configurations()[0]
    assert auditor.every_input_of(config) == {"documented": {"max_ulp": 0.75, "x_bits": "0xc000"}, "math": None}
    record = {
        "budgets": {"documented": 1.0, "math": 1.0},
        "stats": {"documented": {"max_ulp": 0.5}, "math": {"max_ulp": 0.5}},
        "every_input": auditor.every_input_of(config),
    }
    assert budget_phrase(record) == "budget 1 ULP, headroom 0.5; on every input 0.75 ULP at x = 0xc000, headroom 0.25"
    assert budget_phrase(record, "math") == "budget 1 ULP, headroom 0.5"
    assert auditor.sweep_sample_of(config) == {"documented": None, "math": None}
    # a float64 sweep's sample (swept_inputs): said as what it is, never as every input
    sampled_entry = r'\1swept = 0.75\nswept_at = "0xc000"\nswept_inputs = 8200361\n'
    (tmp_path / "sampled.toml").write_text(entry.sub(sampled_entry, budget_data.DEFAULT_FILE.read_text()))
    auditor = Auditor(dataclasses.replace(settings, budgets_file=str(tmp_path / "sampled.toml")))
    assert auditor.every_input_of(config) == {"documented": None, "math": None}
    sampled = {"max_ulp": 0.75, "x_bits": "0xc000", "inputs": 8200361}
    assert auditor.sweep_sample_of(config) == {"documented": sampled, "math": None}
    record = {**record, "every_input": auditor.every_input_of(config), "sweep_sample": auditor.sweep_sample_of(config)}
    assert budget_phrase(record) == (
        "budget 1 ULP, headroom 0.5; on a sweep's sample of 8,200,361 inputs 0.75 ULP at x = 0xc000, headroom 0.25"
    )


PUBLISHED = sorted(
    p
    for p in (Path(__file__).resolve().parent.parent / "reports" / "published").rglob("*.json")
    if json.loads(p.read_text()).get("kind") == "sweep" and json.loads(p.read_text()).get("regions")
)
EAGER = "torch.nn.functional:softplus"
PUBLISHED_EAGER = [p for p in PUBLISHED if json.loads(p.read_text())["spec"]["target"] == EAGER]
"""The published sweeps of torch's eager softplus (the budgets' yardstick): each within budget.
The others' (torch.compile, JAX, TensorFlow) reproducers need their frameworks: tests/test_frameworks.py."""


def test_the_published_judged_sweeps_cover_the_float32_grid():
    quantities = {
        (json.loads(p.read_text())["spec"]["quantity"], json.loads(p.read_text())["spec"]["beta"]) for p in PUBLISHED
    }
    specs = [json.loads(p.read_text())["spec"] for p in PUBLISHED_EAGER]
    float32_paths = [s["path"] for s in specs if s["dtype"] == "float32"]
    # float32-grid/ and the default point: SIMD, every quantity; float32-scalar/: value and gradient
    assert float32_paths.count("simd") >= 17
    assert float32_paths.count("scalar") == 10
    float64_paths = [s["path"] for s in specs if s["dtype"] == "float64"]
    # float64-sample/: each quantity at each point of the grid on each path
    assert (float64_paths.count("simd"), float64_paths.count("scalar")) == (15, 15)
    assert {(q, b) for q in ("forward", "grad", "grad2") for b in (0.1, 1.0, 10.0)} <= quantities


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: p.name)
def test_each_published_sweep_is_judged_again_as_it_publishes(path, budgets):
    """Judged again from what it recorded, against the packaged budget file: the judgment it
    publishes, on every input (float64: on its sample, and saying so), within budget for eager
    torch (a budget lowered below what a sweep found fails here), and its Markdown is its JSON's."""
    data = json.loads(path.read_text())
    judgment = judge(SweepSpec.from_record(data["spec"]), RegionStats.from_record(data["regions"]), budgets)
    assert judgment == data["judgment"]
    assert judgment["inputs"] == data["inputs"]
    assert judgment["every_input"] == data["exhaustive"] == (data["spec"]["dtype"] != "float64")
    if data["spec"]["target"] == EAGER:
        assert judgment["verdict"] == "holds"
    assert path.with_suffix(".md").read_text() == render_sweep_markdown(data)


def test_the_published_verdicts_of_other_implementations():
    """What the publication says of them: torch.compile's generated code within torch's budgets;
    JAX's and TensorFlow's softplus fail positivity and accuracy on every float32 input from
    x = 0xc2aeac50 (-87.34) down, where softplus is subnormal and they return 0 (2,180,453 inputs)."""
    verdicts = {}
    for path in PUBLISHED:
        data = json.loads(path.read_text())
        if data["spec"]["target"] != EAGER:
            verdicts[data["spec"]["target"]] = data["judgment"]
    assert set(verdicts) == {"torch.compile:softplus", "jax.nn:softplus", "tensorflow.math:softplus"}
    assert verdicts["torch.compile:softplus"]["verdict"] == "holds"
    for target in ("jax.nn:softplus", "tensorflow.math:softplus"):
        judgment = verdicts[target]
        assert judgment["verdict"] == "fails"
        assert judgment["positivity"]["zeros_outside"] == 2_180_453
        assert judgment["positivity"]["example_outside"]["x_bits"] == "0xc2aeac50"
        assert judgment["oracles"]["documented"]["worst_outside"]["output"] == 0.0
        assert judgment["deviations"] == []  # torch's known deviations excuse nothing of theirs


SAME_BITS = {"AVX2", "AVX512"}
"""torch 2.13's CPU capability builds that give the same bits at every input they were compared on:
the published builds table (reports/published/torch-2.13.0-cpu-builds.md: AVX2 and AVX512 differ
from the default build at the same inputs, in every dtype and quantity), and every reproducer of the
published sweeps, measured with AVX512, asserting its recorded bits with AVX2: eager torch's 112 of
112; JAX's, TensorFlow's and torch.compile's 11 of 11 (jax 0.10.2, tensorflow-cpu 2.21.0)."""


def same_bits(recorded: str, here: str) -> bool:
    """Do outputs measured with CPU capability ``recorded`` hold with ``here`` (:data:`SAME_BITS`)?"""
    return recorded == here or {recorded, here} <= SAME_BITS


@pytest.mark.parametrize("path", PUBLISHED_EAGER, ids=lambda p: p.name)
def test_each_published_sweeps_worst_input_outside_the_deviations_reproduces(path):
    """The reproducer of the input a published verdict rests on, in a fresh interpreter, on the path
    the sweep measured: it prints and asserts the recorded output's bits."""
    import subprocess
    import sys

    import torch

    data = json.loads(path.read_text())
    recorded, here = data["environment"]["aten_cpu_capability"], torch.backends.cpu.get_cpu_capability()
    if data["environment"]["torch"] != torch.__version__ or not same_bits(recorded, here):
        # another build's vector code may round otherwise: the bits hold for the one that measured them
        pytest.skip(
            f"measured with torch {data['environment']['torch']} ({recorded}); here {torch.__version__} ({here})"
        )
    worst = data["judgment"]["oracles"]["documented"]["worst_outside"]
    done = subprocess.run(
        [sys.executable, "-c", data["reproducers"]["worst_outside"]], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert format_named(data["spec"]["dtype"]).hex_of(float(worst["output"])) in done.stdout


def test_measuring_the_default_grid_again_keeps_what_the_rules_wider_grid_set(tmp_path):
    """The float32 bound of exp-overflow-below-threshold (1 ULP) was set by the rules' grid (beta 0.1
    at t = 100); the default grid measures less there. A run of the default grid keeps it while the
    file holds rules; without them, the bound would be measured afresh (0.5 here)."""
    import dataclasses

    auditor = Auditor(AuditSettings(formats=(FLOAT32,), grid=((1.0, 100.0),), quantities=(Quantity.FORWARD,)))
    observed = [(c, auditor.observe_all(c)[0]) for c in auditor.configurations()]
    committed = budget_data.load()
    rules_removed = dataclasses.replace(
        committed, budgets=tuple(b for b in committed.budgets if b.beta is not None or b.threshold is not None)
    )

    def bound(budgets) -> float:
        path = tmp_path / "budgets.toml"
        path.write_text(budget_data.regenerate(observed, budgets, "test"))
        (deviation,) = [d for d in budget_data.load(path).deviations if d.id == "exp-overflow-below-threshold"]
        return deviation.max_ulp[FLOAT32]

    assert bound(committed) == 1.0
    assert bound(rules_removed) == 0.5
