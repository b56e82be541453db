"""The command line as a user meets it: exit codes, one-line errors, and the report it writes."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "suite.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def test_an_absent_cuda_device_is_a_usage_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the device is not absent")
    code, stderr = cli("run", "--out", str(tmp_path / "out"), "--device", "cuda")
    assert code == 2
    assert "torch.cuda.is_available() is False" in stderr
    assert not (tmp_path / "out").exists()


def test_a_budget_file_that_does_not_parse(tmp_path):
    bad = tmp_path / "budgets.toml"
    bad.write_text("[[budget]\n")
    code, stderr = cli("run", "--out", str(tmp_path / "out"), "--budgets", str(bad))
    assert code == 2
    assert "is not valid TOML" in stderr


SMALL = ["--dtype", "float16", "--quantity", "forward", "--grid", "1,20"]


def test_a_passing_audit_exits_0_and_writes_its_report(small_audit):
    result, tmp_path = small_audit
    assert [p.name for p in tmp_path.parent.iterdir()] == ["reports"], "nothing but the reports is written"
    closing = result.stdout.strip().splitlines()[-3:]  # what the reader came for, last
    assert closing[0] == "softplus-audit: PASS: 2 configurations, 0 failing"
    assert closing[1].startswith("largest error outside known deviations: ")
    assert "(budget " in closing[1]
    assert closing[2] == "reports: reports/audit.html, reports/audit.md, reports/audit.json"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "audit.json").read_text())
    assert report["format"] == 2
    assert report["verdict"] == "pass"
    (config,) = [c for c in report["configurations"] if c["path"] == "simd"]
    assert config["exhaustive"] is True
    assert config["stats"]["documented"]["count"] == 65536
    assert "cuda" in report["not_audited"]
    assert (tmp_path / "audit.junit.xml").exists()


def test_the_pytest_plugin_audits_an_implementation_from_any_test_run(tmp_path):
    """A project's own pytest run: the property tests by package name, the plugin by name, the
    options prefixed --audit-; the run file is written where --audit-json says."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["-p", "suite.audit.plugin", "-p", "no:cacheprovider", "--hypothesis-profile=ci"]
    args += ["--audit-target=tests.planted_targets:nan_to_zero", "--audit-dtype=float16", "--audit-quantity=forward"]
    args += ["--audit-grid=1,20", f"--audit-json={tmp_path / 'mine.json'}", "-q", "-k", "test_property"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "suite.audit.property_tests", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]  # the planted defect fails
    assert "special_values fails" in result.stdout
    report = json.loads((tmp_path / "mine.json").read_text())
    assert report["settings"]["targets"] == ["tests.planted_targets:nan_to_zero"]
    assert report["verdict"] == "fail"


def test_the_pytest_plugin_refuses_bad_options_in_one_line_before_collecting(tmp_path):
    """Through pytest, an unknown dtype or a target that fails when called is pytest's usage error:
    one line, exit 4, no collection error with a traceback, no run file."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = ["-m", "pytest", "--pyargs", "suite.audit.property_tests", "-p", "no:cacheprovider", "-q"]
    base += ["--audit-quantity=forward", f"--audit-json={tmp_path / 'mine.json'}"]
    cases = [
        (["--audit-dtype=float8"], "ERROR: softplus-audit: unknown dtype 'float8'; accepted: "),
        (
            ["--audit-dtype=float16", "--audit-target=tests.planted_targets_missing:x"],
            "ERROR: softplus-audit: target 'tests.planted_targets_missing:x': cannot import module ",
        ),
    ]
    for options, line in cases:
        result = subprocess.run(
            [sys.executable, *base, *options], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
        )
        assert result.returncode == 4, result.stdout[-3000:] + result.stderr[-3000:]
        assert result.stderr.strip().startswith(line), result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert not (tmp_path / "mine.json").exists()


def test_a_failing_audit_exits_1_with_a_reproducer(failing_audit):
    result, tmp_path = failing_audit
    assert result.returncode == 1
    assert "special_values fails" in result.stdout
    assert "softplus-audit: FAIL: 2 configurations, 2 failing" in result.stdout  # the closing summary
    assert "FAILED tests.planted_targets:nan_to_zero-cpu-float16-b1-t20-simd-forward: special_values" in result.stdout
    assert "float.fromhex(" in result.stdout  # the torch snippet
    report = json.loads((tmp_path / "audit.json").read_text())
    assert report["verdict"] == "fail"
    failing = [p for c in report["configurations"] for p in c["properties"] if not p["passed"]]
    assert any(p["name"] == "special_values" and p["counterexamples"] for p in failing)


def test_a_run_without_budgets_says_so_and_exits_4(tmp_path):
    from tests.conftest import SMALL_AUDIT, audit_from_the_command_line

    empty = tmp_path / "budgets.toml"
    empty.write_text("# no budgets and no deviations\n")
    result, out = audit_from_the_command_line(tmp_path, *SMALL_AUDIT, "--budgets", str(empty))
    assert result.returncode == 4, result.stdout[-3000:] + result.stderr[-3000:]
    assert "softplus-audit: NO BUDGET: 2 configurations, 0 failing" in result.stdout
    assert "no budget recorded for cpu: measured" in result.stdout  # the skipped tests say why
    report = json.loads((out / "audit.json").read_text())
    assert report["verdict"] == "no budget"
    assert report["summary"]["configurations_without_budget"]
    assert (out / "audit.md").read_text().startswith("## softplus-audit: NO BUDGET")


def test_reference_command(tmp_path):
    result = here("reference", "forward", "-2", "--dtype", "float16", "--output", "0.126953125")
    assert result.returncode == 0
    assert "0.126928011042972496443726806358" in result.stdout
    assert "0.20573353596930913 ULP of float16" in result.stdout
    # an output of the wrong class is named so, not given a NaN ULP error
    result = here("reference", "forward", "0x558c", "--dtype", "float16", "--output", "inf")
    assert result.returncode == 0
    wrong = "output     inf (inf, bits 0x7c00): of the wrong class: the exact value rounds to 88.75 (no ULP error"
    assert wrong in result.stdout


@pytest.mark.parametrize(
    ("x", "options", "input_line"),
    [
        # an input as the reports write it: the format's bits (here the float32 premature zero)
        ("0xc2cff1b4", [], "x = -103.97207641601562 (-0x1.9fe3680000000p+6, bits 0xc2cff1b4), float32"),
        ("0xc05168e78103a5fa", ["--dtype", "float64"], "x = -69.63912988048824 (-0x1.168e78103a5fap+6, bits"),
        ("0x3c00", ["--dtype", "bfloat16"], "x = 0.0078125 (0x1.0000000000000p-7, bits 0x3c00), bfloat16"),
        ("0x3c00", ["--dtype", "float16"], "x = 1.0 (0x1.0000000000000p+0, bits 0x3c00), float16"),
        # signed values argparse alone would take for options
        ("-1e5", [], "x = -100000.0 (-0x1.86a0000000000p+16, bits 0xc7c35000), float32"),
        ("-0x1.8p+1", [], "x = -3.0 (-0x1.8000000000000p+1, bits 0xc0400000), float32"),
        ("-inf", ["--output", "-0x0p+0"], "x = -inf (-inf, bits 0xff800000), float32"),
    ],
)
def test_reference_reads_an_input_as_the_reports_write_it_and_any_signed_number(x, options, input_line):
    result = here("reference", "forward", x, *options)
    assert result.returncode == 0, result.stderr
    assert f"input      {input_line}" in result.stdout


def test_reference_measures_an_output_given_as_bits_and_options_take_signed_values():
    result = here("reference", "forward", "0xc2cff1b4", "--output", "0x00000000", "--threshold", "-1e1")
    assert result.returncode == 0, result.stderr
    assert "threshold=-10.0" in result.stdout
    assert "rounded    1.401298464324817e-45 (0x1.0000000000000p-149, bits 0x00000001)" in result.stdout
    assert "output     0.0 (0x0.0p+0, bits 0x00000000): 0.5000003339881972 ULP of float32" in result.stdout


def test_sweep_and_merge_commands(tmp_path):
    result = here("sweep", "--dtype", "float16", "--quantity", "grad", "--shards", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    (report_path,) = tmp_path.glob("sweep-*.json")
    report = json.loads(report_path.read_text())
    assert report["kind"] == "sweep"
    assert report["exhaustive"] is True
    assert report["inputs"] == 65536
    assert report["violations"]["path_disagreement"]["example"]["x_bits"] == "0xb13f"  # SIMD and scalar differ there
    assert report["wall_seconds"] > 0  # measured whole in this invocation
    summary = report_path.with_suffix(".md").read_text()  # the human summary, from the JSON alone
    worst = report["oracles"]["documented"]["worst"]["x_bits"]
    assert "**65,536 inputs** (every bit pattern of the format)" in summary
    assert f"`{worst}`" in summary
    assert f"| {report['violations']['path_disagreement']['count']:,} | x = `0xb13f`" in summary
    report_path.with_suffix(".md").unlink()
    result = here("report", str(report_path))
    assert result.returncode == 0, result.stderr
    assert report_path.with_suffix(".md").read_text() == summary
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": 1, "kind": "sweep", "spec": {}}))
    result = here("report", str(broken))
    assert result.returncode == 2
    assert "sweep report without inputs, oracles, violations, environment" in result.stderr
    shards = next(p for p in tmp_path.iterdir() if p.is_dir())
    merged = tmp_path / "merged.json"
    assert here("merge", str(shards), "--out", str(merged)).returncode == 0
    again = json.loads(merged.read_text())
    assert again["wall_seconds"] is None  # merged: the elapsed time is not known
    assert merged.with_suffix(".md").exists()
    assert again["oracles"] == report["oracles"]
    assert again["violations"] == report["violations"]
    (shards / "shard-0001-of-0003.json").unlink()
    result = here("merge", str(shards), "--out", str(tmp_path / "partial.json"))
    assert result.returncode == 2
    assert "1 of 3 shards missing (1)" in result.stderr
    assert not (tmp_path / "partial.json").exists()


def test_float64_sweeps_a_stratified_sample(tmp_path):
    result = here("sweep", "--dtype", "float64", "--per-binade", "4", "--search", "60", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = tmp_path.glob("sample-*.json")
    report = json.loads(path.read_text())
    assert report["exhaustive"] is False
    assert report["sample"]["per_binade"] == 4
    search = report["search"]  # the known hard points, then 60 steered examples
    assert search["tried"] >= 60
    assert search["max_ulp"] >= 0
    assert search["worst"]["x_bits"].startswith("0x")
    # the search's inputs are counted in every statistic: the sample's, plus those it did not hold
    added = search["inputs_added_to_the_statistics"]
    assert 0 < added <= search["tried"]
    assert report["inputs"] == report["sample"]["inputs"] + added
    assert report["sample"]["inputs"] > 2 * 2047 * 4
    assert report["oracles"]["documented"]["max_ulp"] >= search["max_ulp"]
    assert "inputs" not in search
    md = path.with_suffix(".md").read_text()
    assert f"inputs tried beyond the sample ({added:,} not in it, counted in every statistic above)" in md
    # judged as the audit judges its own sample: on the inputs measured, and saying so
    assert (report["judgment"]["judged"], report["judgment"]["every_input"]) == (True, False)
    assert report["judgment"]["inputs"] == report["inputs"]
    assert f"**Within budget on the {report['inputs']:,} inputs measured (a sample, not every input): " in md
    # budgets --sweeps: the sample's largest error bounds the budget from below, recorded with its size
    result = here("budgets", "--dtype", "float16", "--quantity", "forward", "--grid", "1,20", "--sweeps", str(path))
    assert result.returncode == 0, result.stderr[-2000:]
    (tmp_path / "budgets.toml").write_text(result.stdout)
    from suite.audit import budgets
    from suite.numerics.formats import FLOAT64
    from suite.numerics.params import Oracle, Quantity

    budget = budgets.load(tmp_path / "budgets.toml").budget_for(
        FLOAT64, Quantity.FORWARD, Oracle.DOCUMENTED, "simd", 1.0, 20.0
    )
    outside = report["judgment"]["oracles"]["documented"]
    assert (budget.swept, budget.swept_at) == (outside["max_ulp_outside"], outside["worst_outside"]["x_bits"])
    assert budget.swept_inputs == report["inputs"]
    assert "# the largest error outside the deviations, a sweep's sample" in result.stdout
    result = here("sweep", "--dtype", "float64", "--per-binade", "1", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "at least 2" in result.stderr


def test_budgets_command_reproduces_the_committed_numbers_it_measures(tmp_path):
    """A partial re-measure keeps every reason and region, gives the same budgets for what it
    measured (same torch, same inputs), keeps the rest, and lowers no deviation bound."""
    from suite.audit import budgets

    result = here("budgets", "--dtype", "float16", "--quantity", "forward", "--grid", "1,20")
    assert result.returncode == 0, result.stderr[-2000:]
    regenerated = tmp_path / "budgets.toml"
    regenerated.write_text(result.stdout)
    new, old = budgets.load(regenerated), budgets.load()
    assert [(d.id, d.reason, d.region, d.properties) for d in new.deviations] == [
        (d.id, d.reason, d.region, d.properties) for d in old.deviations
    ]
    for d_new, d_old in zip(new.deviations, old.deviations, strict=True):
        for dtype, bound in (d_old.max_ulp or {}).items():
            assert d_new.max_ulp[dtype] >= bound
    assert {(b.fmt, b.quantity, b.oracle, b.beta, b.threshold, b.max_ulp) for b in new.budgets} == {
        (b.fmt, b.quantity, b.oracle, b.beta, b.threshold, b.max_ulp) for b in old.budgets
    }


def test_a_one_path_sweep_says_the_path_comparison_was_not_measured(tmp_path):
    result = here("sweep", "--dtype", "bfloat16", "--one-path", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = tmp_path.glob("sweep-*-one-path.json")
    report = json.loads(path.read_text())
    assert report["spec"]["compare_paths"] is False
    assert report["violations"]["path_disagreement"] is None
    assert (
        "| the other kernel path gives other bits | not measured | `--one-path` |"
        in path.with_suffix(".md").read_text()
    )


def here(*args: str) -> subprocess.CompletedProcess:
    """``softplus-audit ARGS`` in this process (no interpreter start, caches shared), as a
    CompletedProcess: exit status, stdout, stderr."""
    from suite.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(list(args))
        except SystemExit as stop:  # argparse's own usage errors
            code = stop.code
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def cli(*args: str) -> tuple[int, str]:
    """``softplus-audit ARGS`` in this process: the exit status and what it printed on stderr."""
    result = here(*args)
    return result.returncode, result.stderr


BAD_INPUTS = [
    (
        ["run", "--out", "OUT", "--dtype", "float8"],
        "unknown dtype 'float8'; accepted: float16, bfloat16, float32, float64",
    ),
    (["run", "--out", "OUT", "--device", "tpu"], "unknown device 'tpu'; accepted: cpu, cuda, cuda:N"),
    (["run", "--out", "OUT", "--target", "no_such_module:softplus"], "cannot import module 'no_such_module'"),
    (["run", "--out", "OUT", "--target", "math:exp"], "does not accept (input, beta=..., threshold=...)"),
    (["run", "--out", "OUT", "--grid", "1"], "is not 'beta,threshold'"),
    (["run", "--out", "OUT", "--quantity", "hessian"], "unknown quantity 'hessian'; accepted: forward, grad, grad2"),
    # (command line, what the one line must say); OUT is replaced by a directory that must stay absent
    (["run", "--out", "OUT", "--grid", "0,20"], "beta must be a finite number > 0"),
    (  # nothing to audit would pass: it is refused
        ["run", "--out", "OUT", "--target", "numpy:logaddexp", "--dtype", "bfloat16"],
        "nothing to audit: numpy:logaddexp bfloat16 forward: NumPy has no bfloat16; ",
    ),
    (["run", "--out", "OUT", "--grid=-1,20"], "beta must be a finite number > 0"),
    (["run", "--out", "OUT", "--grid", "nan,20"], "beta must be a finite number > 0"),
    (["run", "--out", "OUT", "--grid", "inf,20"], "beta must be a finite number > 0"),
    (["run", "--out", "OUT", "--grid", "1e39,20"], "once cast to the compute format"),
    (["run", "--out", "OUT", "--grid", "1,20,3"], "is not 'beta,threshold'"),
    (["run", "--out", "OUT", "--grid", ";"], "--grid is empty"),
    # an empty grid is an error wherever --grid is taken, never the default grid run in silence
    (["run", "--out", "OUT", "--grid", ""], "--grid is empty"),
    (["run", "--out", "OUT", "--grid", " "], "--grid is empty"),
    (["builds", "--grid", "", "--out", "OUT"], "--grid is empty"),
    (["budgets", "--grid", ""], "--grid is empty"),
    (["budgets", "--rules", "--grid", ""], "--grid is empty"),
    (["devices", "--device", "cpu", "--path", "scalar", "--grid", "", "--out", "OUT"], "--grid is empty"),
    (["matrix", "--dtype", "float16", "--grid", "", "--out", "OUT"], "--grid is empty"),
    (["run", "--out", "OUT", "--grid", "1,20;;"], "--grid '1,20;;' has an empty entry between ';'"),
    (["run", "--out", "OUT", "--grid", ";1,20"], "--grid ';1,20' has an empty entry between ';'"),
    (["run", "--out", "OUT", "--grid", "1,20; ;0.1,20"], "has an empty entry between ';'"),
    (["run", "--out", "OUT", "--grid", "1,nan"], "threshold must be a number or inf (no threshold), got nan (NaN and"),
    (["run", "--out", "OUT", "--grid=1,-inf"], "threshold must be a number or inf (no threshold), got -inf (NaN"),
    (["run", "--out", "OUT", "--name", ""], "--name '': give a file name without directory or extension"),
    (["run", "--out", "README.md/reports"], "'README.md' is a file, not a directory"),
    (["run", "--out", "OUT", "--name", "a/b"], "give a file name without directory"),
    (["run", "--out", "OUT", "--target", "torch.nn.functional"], "is not of the form package.module:callable"),
    (["run", "--out", "OUT", "--target", "math:pi"], "is not callable"),
    (["run", "--out", "OUT", "--target", "torch:no_such_softplus"], "has no attribute"),
    (["run", "--out", "OUT", "--device", "tpu:0"], "unknown device 'tpu:0'; accepted: cpu, cuda, cuda:N"),
    # the form is checked before whether a GPU is here: the same answer on any machine
    (["run", "--out", "OUT", "--device", "cuda:x"], "unknown device 'cuda:x'; accepted: cpu, cuda, cuda:N"),
    (["run", "--out", "OUT", "--device", "cuda:"], "unknown device 'cuda:'; accepted: cpu, cuda, cuda:N"),
    (["run", "--out", "OUT", "--device", "cuda:01"], "unknown device 'cuda:01'; accepted: cpu, cuda, cuda:N"),
    (["run", "--out", "OUT", "--budgets", "no/such/budgets.toml"], "does not exist"),
    (["run", "--out", "OUT", "--profile", "fast"], "invalid choice: 'fast'"),
    (["sweep", "--dtype", "float8", "--out", "OUT"], "unknown dtype 'float8'"),
    (["sweep", "--dtype", "float16", "--path", "vector", "--out", "OUT"], "--path 'vector' does not exist on cpu"),
    (["sweep", "--dtype", "float16", "--beta", "0", "--out", "OUT"], "--beta 0.0 --threshold 20.0: beta must be a"),
    # the grid points --grid accepts, no others: NaN and -inf thresholds are the parameter cases'
    (["sweep", "--dtype", "float16", "--threshold", "nan", "--out", "OUT"], "threshold must be a number or inf (no"),
    (["sweep", "--dtype", "float16", "--threshold=-inf", "--out", "OUT"], "got -inf (NaN and -inf thresholds are"),
    (["sweep", "--dtype", "float16", "--beta", "inf", "--out", "OUT"], "beta must be a finite number > 0, got inf"),
    (["sweep", "--dtype", "float16", "--quantity", "hessian", "--out", "OUT"], "unknown quantity 'hessian'"),
    (["sweep", "--dtype", "float16", "--shard", "7", "--out", "OUT"], "give K/N"),
    (["sweep", "--dtype", "float16", "--shard", "64/64", "--out", "OUT"], "need K/N with 0 <= K < N"),
    (["sweep", "--dtype", "float16", "--shards", "0", "--out", "OUT"], "--shards 0"),
    (["sweep", "--dtype", "float16", "--shards", "100000", "--out", "OUT"], "float16 has only 65536 inputs to cut"),
    (
        ["sweep", "--dtype", "float16", "--shard", "0/100000", "--out", "OUT"],
        "--shard 0/100000: float16 has only 65536 inputs to cut into shards",
    ),
    (["sweep", "--dtype", "float16", "--workers", "0", "--out", "OUT"], "--workers 0"),
    (["sweep", "--dtype", "float16", "--out", "README.md/sweeps"], "is a file, not a directory"),
    # every float32 input's second derivative, the scalar path compared: a few inputs per call, days
    (["sweep", "--dtype", "float32", "--quantity", "grad2", "--out", "OUT"], "leave the path out (--one-path)"),
    (
        ["sweep", "--dtype", "float32", "--quantity", "grad2", "--path", "scalar", "--one-path", "--out", "OUT"],
        "the scalar path is evaluated",
    ),
    (["reference", "forward", "abc"], "'abc' is not a number"),
    (["reference", "forward", "1", "--output", "abc"], "--output: 'abc' is not a number"),
    (["reference", "forward", "0xc05168e78103a5fa"], "a float32 pattern has 8 hex digits (4 digits: float16 or"),
    (["reference", "forward", "-0x3c00", "--dtype", "float16"], "a bit pattern has no sign"),
    (["reference", "forward", "0xzz"], "'0xzz' is not a bit pattern of hex digits"),
    (["reference", "forward", "1", "--beta", "-inf"], "beta=-inf has no reference"),
    (["reference", "forward", "0.1", "--dtype", "float16"], "is not a float16 value"),
    (["reference", "forward", "1", "--beta", "0"], "has no reference"),
    (["reference", "forward", "1", "--digits", "0"], "not a number of digits"),
    (["reference", "hessian", "1"], "unknown quantity 'hessian'"),
    (["reference", "forward", "1", "--oracle", "guess"], "unknown oracle 'guess'"),
    (["compare", "OUT/a.json", "OUT/b.json"], "no such file"),
    (["compare", "README.md", "README.md", "--tolerance-ulp", "-1"], "is not a finite number >= 0"),
    (["compare", "README.md", "README.md", "--tolerance-rate", "2"], "'2' is not a fraction from 0 to 1"),
    (["compare", "README.md", "README.md", "--tolerance-rate=-0.1"], "'-0.1' is not a fraction from 0 to 1"),
    (["compare", "README.md", "README.md", "--tolerance-rate", "nan"], "'nan' is not a fraction from 0 to 1"),
    # a sweep and a file that is no run: the file's problem, not that one of the two is a sweep
    (["compare", "reports/published/jax-0.10.2-cpu-float32-forward-b1-tinf-xla.json", "OUT/b.json"], "no such file"),
    (["compare", "OUT/a.json", "reports/published/jax-0.10.2-cpu-float32-forward-b1-tinf-xla.json"], "no such file"),
    (["compare", "reports/published/jax-0.10.2-cpu-float32-forward-b1-tinf-xla.json", "README.md"], "not JSON"),
    (["report", "OUT/run.json"], "no such file"),
    (["merge", "OUT", "--out", "OUT/merged.json"], "no such file or directory"),
    (["merge", "README.md", "--out", "OUT/merged.json"], "not a sweep shard"),
    (["devices", "--device", "cpu", "--out", "OUT"], "--device and --versus are both cpu simd"),
    (["devices", "--device", "cpu", "--path", "vector", "--out", "OUT"], "--path 'vector' does not exist on cpu"),
    (["devices", "--device", "cpu", "--versus-path", "vector", "--out", "OUT"], "--versus-path 'vector' does not"),
    (["devices", "--device", "tpu", "--out", "OUT"], "unknown device 'tpu'; accepted: cpu, cuda, cuda:N"),
    (["devices", "--device", "cpu", "--path", "scalar", "--dtype", "float8", "--out", "OUT"], "unknown dtype"),
    (["budgets", "--device", "cpu", "--device", "cpu:1"], "unknown device 'cpu:1'"),
    (["budgets", "--dtype", "float16", "--sweeps", "OUT"], "no sweep report there (give sweep JSON files or"),
    (["budgets", "--dtype", "float16", "--sweeps", "README.md"], "--sweeps README.md: no sweep report there"),
    (["sweep", "--dtype", "float16", "--budgets", "no/such/budgets.toml", "--out", "OUT"], "does not exist"),
    (
        ["sweep", "--dtype", "bfloat16", "--target", "numpy:logaddexp", "--out", "OUT"],
        "--dtype bfloat16 --quantity forward: numpy:logaddexp cannot be swept there: NumPy has no bfloat16",
    ),
    (["judge", "OUT/sweep.json"], "cannot read"),
    (["judge", "README.md"], "not JSON"),
    (
        ["judge", "reports/published/jax-0.10.2-cpu-float32-forward-b1-tinf-xla.json", "--budgets", "OUT/b.toml"],
        "does not exist",
    ),
    (["corpus", "--out", "OUT", "--name", "a/b"], "--name 'a/b': give a file name without directory"),
    (
        ["corpus", "--out", "OUT", "--device", "tpu", "--target", "torch.nn.functional:softplus"],
        "none of the targets can be checked on tpu: unknown device 'tpu'; accepted: cpu, cuda, cuda:N",
    ),
    (["table", "reports/published", "--out", "OUT", "--name", "x/y"], "--name 'x/y': give a file name without"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    args = [a.replace("OUT", str(out)) for a in args]
    result = here(*args)
    code, stdout, stderr = result.returncode, result.stdout, result.stderr
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert message in lines[0]
    assert "Traceback" not in stderr
    assert not out.exists(), "nothing is written on a usage error"
    assert not stdout, "nothing is printed before the error"


PUBLISHED_SWEEP = ROOT / "reports/published/torch-2.13.0-cpu-AVX512-float32-forward-b1-t20-simd.json"


def _edited_sweep(key: str, value):
    data = json.loads(PUBLISHED_SWEEP.read_text())
    *parents, last = key.split(".")
    node = data
    for parent in parents:
        node = node[parent]
    node[last] = value
    return data


MALFORMED_SWEEPS = [
    # (the field, its new value, what the one line must say)
    ("oracles", {}, "at $.oracles: 'documented' is a required property"),
    ("spec", {}, "at $.spec: 'dtype' is a required property"),
    ("spec", "x", "at $.spec: 'x' is not of type 'object"),
    ("inputs", "x", "at $.inputs: 'x' is not of type 'integer"),
    ("violations", None, "at $.violations: None is not of type 'object"),
    ("environment", None, "at $.environment: None is not of type 'object"),
    ("spec.dtype", "float8", "at $.spec.dtype: 'float8' is not one of ['float16', 'bfloat16', 'float32', 'float64"),
    ("oracles.math.histogram", {"0": 1}, "at $.oracles.math.histogram: '<=0.5' is a required property"),
    ("oracles.documented.binade_max", {"+1": -1}, "at $.oracles.documented.binade_max.+1: -1 is less than the"),
    ("regions.classes", {"": {"inputs": 1}}, "at $.regions.classes.: 'oracles' is a required property"),
    ("judgment.verdict", "fine", "at $.judgment.verdict: 'fine' is not one of"),
]


@pytest.mark.parametrize("command", ["report", "table", "compare", "judge"])
@pytest.mark.parametrize(("key", "value", "message"), MALFORMED_SWEEPS, ids=[m[0] for m in MALFORMED_SWEEPS])
def test_a_malformed_sweep_is_one_line_naming_the_file_and_field_exit_2(tmp_path, command, key, value, message):
    """A sweep file is validated against suite/data/sweep.schema.json on load: one field edited
    is one line naming the file, where in it and what is accepted; never a traceback."""
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(_edited_sweep(key, value)))
    before = path.read_text()
    args = {"report": [str(path)], "table": [str(path), "--out", str(tmp_path / "out")], "judge": [str(path)]}
    code, stderr = cli(command, *args.get(command, [str(path), str(path)]))
    assert code == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert f"{path}: does not match the sweep schema {message}" in line
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.json"], "nothing written"


def _two_sweeps(tmp_path, b) -> tuple[Path, Path, dict[str, bytes]]:
    """a.json (a published sweep, compact: any rewrite changes its bytes; with its page and summary) and
    b.json (``b``), and what the folder holds."""
    a_path, b_path = tmp_path / "a.json", tmp_path / "b.json"
    for suffix in (".md", ".html"):
        a_path.with_suffix(suffix).write_bytes(PUBLISHED_SWEEP.with_suffix(suffix).read_bytes())
    a_path.write_text(json.dumps(json.loads(PUBLISHED_SWEEP.read_text())))
    b_path.write_text(b if isinstance(b, str) else json.dumps(b))
    return a_path, b_path, {p.name: p.read_bytes() for p in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("b", "message"),
    [
        (_edited_sweep("oracles", {}), "b.json: does not match the sweep schema at $.oracles: 'documented' is a"),
        (_edited_sweep("spec.per_binade", 4), "b.json: its spec is not one a sweep can have: 4 inputs per binade"),
        (PUBLISHED_SWEEP.read_text()[:5000], "b.json: truncated JSON (the text ends at line"),
        ('{"kind": "sweep", "a": "x\n"}', "b.json: not JSON: Invalid control character at line 1 column 26"),
    ],
    ids=["schema", "spec", "truncated", "not-json"],
)
def test_judge_rewrites_nothing_when_one_of_its_sweeps_is_bad(tmp_path, b, message):
    """Every sweep is read and checked before any is rewritten: a bad second file leaves the first
    (its JSON, page and summary) as it was, and the second gets no page or summary."""
    a_path, b_path, before = _two_sweeps(tmp_path, b)
    code, stderr = cli("judge", str(a_path), str(b_path))
    assert code == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert message in line
    assert " at at " not in line
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_judge_rewrites_nothing_when_a_sweep_cannot_be_rendered(tmp_path, monkeypatch):
    """Judged and rendered, all of them, before any file is written."""
    from suite.report import sweepreport

    a_path, b_path, before = _two_sweeps(tmp_path, _edited_sweep("cpu_seconds", 1.5))
    render = sweepreport.render_sweep_html

    def failing_on_b(data):
        if data["cpu_seconds"] == 1.5:
            raise RuntimeError("cannot render b")
        return render(data)

    monkeypatch.setattr(sweepreport, "render_sweep_html", failing_on_b)
    with pytest.raises(RuntimeError, match="cannot render b"):
        here("judge", str(a_path), str(b_path))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_judge_keeps_the_quotes_of_a_budget_files_message(tmp_path):
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[[deviation]]\nid = "x"\ndtypes = ["float32"]\nquantities = ["forward"]\n')
    code, stderr = cli("judge", str(PUBLISHED_SWEEP), "--budgets", str(budgets))
    assert code == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert line.endswith(f"--budgets: {budgets}: deviation #1: missing 'reason'")


def test_budgets_names_a_malformed_sweep_it_is_given(tmp_path):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(_edited_sweep("spec.dtype", "float8")))
    code, stderr = cli(
        "budgets", "--dtype", "float16", "--quantity", "forward", "--grid", "1,20", "--sweeps", str(path)
    )
    assert code == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert f"--sweeps: {path}: does not match the sweep schema at $.spec.dtype: 'float8' is not one of" in line


BUDGET_READERS = {
    "run": ["run", "--out", "OUT", "--budgets", "BUDGETS"],
    "budgets": ["budgets", "--dtype", "float16", "--quantity", "forward", "--grid", "1,20", "--budgets", "BUDGETS"],
    "sweep": ["sweep", "--dtype", "float16", "--out", "OUT", "--budgets", "BUDGETS"],
    "judge": ["judge", str(PUBLISHED_SWEEP), "--budgets", "BUDGETS"],
}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("budget = 5\n", "'budget' must be an array of tables ([[budget]] entries), got 5"),
        (
            '[[deviation]]\nid = "a"\nreason = "r"\ndtypes = ["float32"]\nquantities = ["forward"]\n'
            'properties = ["monotonicity"]\nregion = "all"\nbx_min = "abc"\n',
            "deviation #1: 'bx_min' must be a number, got 'abc'",
        ),
    ],
    ids=["budget-not-a-list", "bx_min-not-a-number"],
)
@pytest.mark.parametrize("command", list(BUDGET_READERS))
def test_a_malformed_budget_file_is_one_line_exit_2_wherever_it_is_read(tmp_path, command, text, message):
    budgets = tmp_path / "budgets.toml"
    budgets.write_text(text)
    before = PUBLISHED_SWEEP.read_bytes()
    args = [a.replace("OUT", str(tmp_path / "out")).replace("BUDGETS", str(budgets)) for a in BUDGET_READERS[command]]
    code, stderr = cli(*args)
    assert code == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert f"{budgets}: {message}" in line
    assert not (tmp_path / "out").exists()
    assert PUBLISHED_SWEEP.read_bytes() == before


INTERRUPTING = '''
import torch.nn.functional as F

calls = 0


def softplus(x, beta=1.0, threshold=20.0):
    """torch's softplus for three calls of more than 256 inputs (the audit's own; its check of the
    target before it calls with a few), then Ctrl-C (a KeyboardInterrupt, as the terminal sends it)."""
    global calls
    calls += x.numel() > 256
    if calls > 3:
        raise KeyboardInterrupt
    return F.softplus(x, beta=beta, threshold=threshold)
'''


def test_an_interrupted_audit_leaves_no_run_file_and_no_report(tmp_path):
    """Ctrl-C in the middle of an audit: one line, exit 130, and nothing in the output folder that
    could pass for the record of a finished audit (not the run file, not a report, not pytest's
    JUnit XML of the tests that ran)."""
    (tmp_path / "interrupting.py").write_text(INTERRUPTING)
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "suite.cli", "run", "--target", "interrupting:softplus", "--dtype", "float16",
         "--grid", "1,20", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"},
    )  # fmt: skip
    assert result.returncode == 130, result.stdout[-2000:] + result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last == "softplus-audit: interrupted: the audit did not finish; no run file or report written"
    assert "Traceback" not in result.stderr
    assert not list(out.iterdir())


def test_an_interrupted_sweep_says_that_the_same_command_resumes_it(tmp_path):
    """Ctrl-C in a sweep: one line, exit 130, the shards it finished kept for the same command."""
    (tmp_path / "interrupting.py").write_text(INTERRUPTING)
    out = tmp_path / "sweeps"
    command = [sys.executable, "-m", "suite.cli", "sweep", "--target", "interrupting:softplus", "--dtype", "float16"]
    result = subprocess.run(
        [*command, "--shards", "8", "--workers", "1", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"},
    )  # fmt: skip
    assert result.returncode == 130, result.stdout[-2000:] + result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    hint = "the same command again resumes from the shards it finished"
    assert last == f"softplus-audit: interrupted: sweep did not finish; {hint}"
    assert "Traceback" not in result.stderr
    assert list(out.glob("*/shard-0000-of-0008.json")), "the finished shard is kept"
    assert not list(out.glob("*.json")), "no sweep report of an unfinished sweep"


FAILING_TARGETS = '''
import torch.nn.functional as F


def raises(x, beta=1.0, threshold=20.0):
    raise RuntimeError("boom")


def returns_none(x, beta=1.0, threshold=20.0):
    return None


returns_none.family = "torch"  # as if torch's kernel, wrapped: torch's upstream problems concern it


def one_element(x, beta=1.0, threshold=20.0):
    return F.softplus(x, beta, threshold)[:1]


def float64(x, beta=1.0, threshold=20.0):
    return F.softplus(x.double(), beta, threshold)


def numpy_array(x, beta=1.0, threshold=20.0):
    return F.softplus(x, beta, threshold).numpy()


def exits(x, beta=1.0, threshold=20.0):
    raise SystemExit(0)


def large_calls_raise(x, beta=1.0, threshold=20.0):
    """torch's softplus at a few inputs; a call of more raises (past the check before the audit)."""
    if x.numel() > 300:
        raise RuntimeError("too many inputs")
    return F.softplus(x, beta, threshold)
'''
WHERE = "at float16 forward, beta=1.0, threshold=20.0, device cpu, path"
FAILED_TARGETS = [  # (the target, what the line says it did)
    ("raises", "raised RuntimeError: boom; "),
    ("returns_none", "returned None, not a tensor like its input ("),
    ("exits", "tried to exit the process (SystemExit: 0); "),
    ("one_element", "returned a tensor of 1 float16 element on cpu, not a tensor like its input ("),
    ("float64", "float64 elements on cpu, not a tensor like its input ("),
    ("numpy_array", "returned a numpy.ndarray, not a tensor like its input ("),
]


@pytest.fixture
def failing_targets(tmp_path, monkeypatch):
    (tmp_path / "failing_targets.py").write_text(FAILING_TARGETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield
    sys.modules.pop("failing_targets", None)


@pytest.mark.parametrize(("name", "message"), FAILED_TARGETS, ids=[n for n, _ in FAILED_TARGETS])
@pytest.mark.parametrize("command", ["run", "sweep", "devices", "budgets"])
def test_a_target_that_fails_when_called_is_one_line_exit_2_and_writes_nothing(
    failing_targets, tmp_path, command, name, message
):
    """A target that passes the signature check but raises, or returns anything but a tensor like its
    input: one line naming it, what it did and the configuration; exit 2 (not 1, a finding); no file."""
    out = tmp_path / "out"
    scope = ["--dtype", "float16", "--quantity", "forward", "--grid", "1,20"]
    args = {
        "run": ["run", *scope, "--out", str(out)],
        "sweep": ["sweep", "--dtype", "float16", "--out", str(out)],
        "devices": ["devices", "--device", "cpu", "--path", "scalar", *scope, "--out", str(out)],
        "budgets": ["budgets", *scope],
    }[command]
    code, stderr = cli(*args, "--target", f"failing_targets:{name}")
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert f"softplus-audit: error: target 'failing_targets:{name}' " in lines[0]
    assert message in lines[0]
    assert WHERE in lines[0]
    assert not out.exists() or not list(out.iterdir()), "nothing is written"


BROKEN_IMPLEMENTATIONS = '''
from suite.implementations import numpy_formulas


class Wrapper:
    """numpy:logaddexp by delegation, with the members given broken."""

    spec, description, short_name, family = "broken", "broken", "broken", "numpy"

    def __init__(self, **broken):
        self.base = numpy_formulas.logaddexp()
        self.__dict__.update(broken)

    def resolve_device(self, name):
        return self.base.resolve_device(name)

    def paths(self, device):
        return self.base.paths(device)

    def unsupported(self, fmt, quantity):
        return self.base.unsupported(fmt, quantity)

    def evaluate(self, *args, **kwargs):
        return self.base.evaluate(*args, **kwargs)

    def reproducer(self, *args, **kwargs):
        return self.base.reproducer(*args, **kwargs)


def kaboom(*args, **kwargs):
    raise RuntimeError("kaboom")


RAISES = Wrapper(evaluate=kaboom)
SHORT = Wrapper(evaluate=lambda *args, **kwargs: numpy_formulas.logaddexp().evaluate(*args, **kwargs)[:-1])
LIST = Wrapper(evaluate=lambda *args, **kwargs: list(numpy_formulas.logaddexp().evaluate(*args, **kwargs)))
NO_SCRIPT = Wrapper(reproducer=lambda *args, **kwargs: None)
SCRIPT_RAISES = Wrapper(reproducer=kaboom)
NO_PATHS = Wrapper(paths=lambda device: ())
SCALAR = Wrapper(evaluate=lambda *args, **kwargs: numpy_formulas.logaddexp().evaluate(*args, **kwargs)[:1].reshape(()))


def leave(*args, **kwargs):
    raise SystemExit(0)


EXITS = Wrapper(evaluate=leave)


def later(then):
    """numpy:logaddexp for the check's few inputs, then ``then`` for the audit's many."""

    def evaluate(x, *args, **kwargs):
        return numpy_formulas.logaddexp().evaluate(x, *args, **kwargs) if len(x) <= 7 else then()

    return evaluate


RAISES_LATER = Wrapper(evaluate=later(kaboom))
EXITS_LATER = Wrapper(evaluate=later(leave))
NO_FAMILY = type("NoFamily", (), {k: v for k, v in vars(Wrapper).items() if k not in ("family", "__dict__")})()
'''
AT = "; at float16 forward, beta=1.0, threshold=inf, device cpu, path numpy"
BROKEN = [  # (the object, what the one line says)
    ("Wrapper", " is a class; name an instance of it (e.g. IMPLEMENTATION = Wrapper())"),
    ("NO_FAMILY", " does not follow the implementation protocol: it has no family (docs/adding-an-implementation.md)"),
    ("NO_PATHS", ": paths('cpu') names no kernel path; name one at least"),
    ("RAISES", f" raised RuntimeError: kaboom{AT}"),
    ("SHORT", f": evaluate returned 6 float64 values for 7 inputs, not a NumPy array of 7 floats{AT}"),
    ("LIST", f": evaluate returned a list for 7 inputs, not a NumPy array of 7 floats{AT}"),
    ("NO_SCRIPT", f": reproducer returned a NoneType, not a script{AT}"),
    ("SCRIPT_RAISES", f" raised RuntimeError: kaboom{AT}"),
    ("SCALAR", f": evaluate returned a float64 array of shape () for 7 inputs, not a NumPy array of 7 floats{AT}"),
    ("EXITS", f" tried to exit the process (SystemExit: 0){AT}"),
]


@pytest.mark.parametrize(
    ("command", "name", "message"),
    [("run", *case) for case in BROKEN] + [("sweep", *case) for case in BROKEN if AT in case[1]],
    ids=[f"run-{n}" for n, _ in BROKEN] + [f"sweep-{n}" for n, m in BROKEN if AT in m],
)
def test_an_implementation_object_that_breaks_the_protocol_is_one_line_exit_2(
    tmp_path, monkeypatch, command, name, message
):
    """``--target module:OBJECT`` that is a class, lacks a member, names no path, or whose evaluate or
    reproducer raises or returns the wrong thing: one line naming it and what it did, exit 2, nothing
    written (not a traceback, not a half-written audit or sweep)."""
    (tmp_path / "broken_implementations.py").write_text(BROKEN_IMPLEMENTATIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("broken_implementations", None)
    out = tmp_path / "out"
    scope = {
        "run": ["--dtype", "float16", "--quantity", "forward", "--grid", "1,inf", "--out", str(out)],
        "sweep": ["--dtype", "float16", "--threshold", "inf", "--out", str(out)],
    }[command]
    code, stderr = cli(command, "--target", f"broken_implementations:{name}", *scope)
    assert code == 2, stderr
    assert stderr.strip().splitlines() == [f"softplus-audit: error: target 'broken_implementations:{name}'{message}"]
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "did"), [("RAISES_LATER", "raised RuntimeError: kaboom"), ("EXITS_LATER", "tried to exit the process")]
)
def test_an_implementation_object_that_fails_in_the_middle_of_an_audit_stops_it_in_one_line(tmp_path, name, did):
    """Past the check before the audit, an object's evaluate raises, or exits, at the audit's many
    inputs: pytest stops, one line says what it did and where, exit 2, nothing left in --out."""
    (tmp_path / "broken_implementations.py").write_text(BROKEN_IMPLEMENTATIONS)
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "suite.cli", "run", "--target", f"broken_implementations:{name}", "--dtype",
         "float16", "--quantity", "forward", "--grid", "1,inf", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"},
    )  # fmt: skip
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"softplus-audit: error: target 'broken_implementations:{name}' {did}")
    assert line.endswith("-cpu-float16-b1-tinf-numpy-forward; no run file or report written")
    assert not list(out.iterdir())


def test_a_target_that_exits_at_import_is_one_line_exit_2(tmp_path, monkeypatch):
    """A module that ends the process as it is imported would end the audit silently, as if it had
    passed: one line, exit 2, nothing written."""
    (tmp_path / "exits_at_import.py").write_text("raise SystemExit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, stderr = cli("run", "--target", "exits_at_import:softplus", "--out", str(tmp_path / "out"))
    assert code == 2, stderr
    assert stderr.strip().splitlines() == [
        "softplus-audit: error: target 'exits_at_import:softplus': cannot import module 'exits_at_import': "
        "SystemExit: 0"
    ]
    assert not (tmp_path / "out").exists()


def test_a_target_that_fails_in_the_middle_of_an_audit_leaves_no_run_file(tmp_path):
    """Past the check before the audit, the target raises at the audit's inputs: pytest stops at the
    first such test, one line says what the target did, exit 2, nothing left in --out (no JUnit XML)."""
    (tmp_path / "failing_targets.py").write_text(FAILING_TARGETS)
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "suite.cli", "run", "--target", "failing_targets:large_calls_raise", "--dtype",
         "float16", "--quantity", "forward", "--grid", "1,20", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"},
    )  # fmt: skip
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        f"softplus-audit: error: target 'failing_targets:large_calls_raise' raised RuntimeError: too many inputs; "
        f"{WHERE} simd; no run file or report written"
    ]
    assert not list(out.iterdir())


def test_a_target_that_returns_no_answer_stops_the_corpus(failing_targets, tmp_path):
    """corpus records a target's exception as its answer to a problem; a target that returns no
    tensor has given none: one line, exit 2, nothing written."""
    code, stderr = cli("corpus", "--target", "failing_targets:returns_none", "--out", str(tmp_path / "out"))
    assert code == 2, stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "target 'failing_targets:returns_none' returned None, not a tensor like its input" in stderr
    assert not (tmp_path / "out").exists()


OUT_COMMANDS = {
    "run": ["run", "--dtype", "float16", "--quantity", "forward", "--grid", "1,20", "--out", "OUT"],
    "table": ["table", "reports/published", "--out", "OUT"],
    "builds": ["builds", "--dtype", "float16", "--quantity", "forward", "--grid", "1,20", "--out", "OUT"],
    "devices": ["devices", "--device", "cpu", "--path", "scalar", "--dtype", "float16", "--out", "OUT"],
    "knife-edges": ["knife-edges", "--dtype", "float16", "--out", "OUT"],
    "corpus": ["corpus", "--out", "OUT"],
    "sweep": ["sweep", "--dtype", "float16", "--out", "OUT"],
    "matrix": ["matrix", "--dtype", "float16", "--quantity", "forward", "--out", "OUT"],
    "merge": ["merge", "SHARDS", "--out", "OUT/merged.json"],
}


@pytest.mark.parametrize("where", ["dangling symbolic link", "/proc"])
@pytest.mark.parametrize("command", list(OUT_COMMANDS))
def test_an_out_the_system_refuses_is_one_line_before_any_work(tmp_path, monkeypatch, command, where):
    """--out is checked by creating it and a file in it, not by permission bits (which let root pass):
    a symbolic link to nowhere, or a directory in /proc, is one line naming --out, exit 2, at once."""
    monkeypatch.chdir(ROOT)
    if where == "/proc":
        if not Path("/proc/self").exists():
            pytest.skip("no /proc here")
        out = "/proc/no-such-reports"
    else:
        out = str(tmp_path / "dangling")
        os.symlink(tmp_path / "nowhere" / "reports", out)
    shards = tmp_path / "shards"
    if command == "merge":  # one real shard, so that only --out is wrong
        assert (
            here("sweep", "--dtype", "float16", "--one-path", "--shard", "0/64", "--out", str(shards)).returncode == 0
        )
        shards = next(shards.iterdir())  # the sweep's folder of shards
    args = [a.replace("OUT", out).replace("SHARDS", str(shards)) for a in OUT_COMMANDS[command]]
    code, stderr = cli(*args)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    given = args[args.index("--out") + 1]
    assert lines[0].startswith(f"softplus-audit: error: --out {given}: cannot write reports there: "), lines[0]
    assert "Traceback" not in stderr
    assert not (tmp_path / "nowhere").exists()


def test_merge_into_a_directory_is_one_line(tmp_path):
    shards = tmp_path / "shards"
    assert here("sweep", "--dtype", "float16", "--one-path", "--shard", "0/64", "--out", str(shards)).returncode == 0
    (tmp_path / "adir.json").mkdir()
    code, stderr = cli("merge", str(next(shards.iterdir())), "--out", str(tmp_path / "adir.json"))
    assert code == 2, stderr
    assert stderr.strip().splitlines() == [
        f"softplus-audit: error: --out {tmp_path / 'adir.json'}: is a directory; give the merged report's file "
        "name, e.g. merged.json"
    ]


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("/proc/no-such-reports/a.html", "/proc/no-such-reports: No such file or directory"),
        ("afile/x.html", "'afile' is a file, not a directory"),
        ("somedir", "it is a directory"),
    ],
)
def test_report_checks_both_destinations_before_writing_either(small_audit, tmp_path, monkeypatch, html, problem):
    """A --html (or --md) that cannot be written: one line naming the option and the path given,
    exit 2, and neither report written (not the Markdown beside the run either)."""
    if html.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    _, reports = small_audit
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "run.json").write_bytes((reports / "audit.json").read_bytes())
    (tmp_path / "afile").write_text("a file\n")
    (tmp_path / "somedir").mkdir()
    code, stderr = cli("report", "rep/run.json", "--html", html)
    assert code == 2, stderr
    assert stderr.strip().splitlines() == [
        f"softplus-audit: error: --html {html}: cannot write the report there: {problem}; give a file path in a "
        "writable directory"
    ]
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == ["run.json"]
    code, stderr = cli("report", "rep/run.json", "--md", html)
    assert code == 2, stderr
    assert f"--md {html}: cannot write the report there: {problem}" in stderr
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == ["run.json"]


def test_a_grid_takes_finite_thresholds_and_inf_for_no_threshold():
    from suite.audit.options import parse_grid

    assert parse_grid("1,inf;0.5,-3;2,+inf") == ((1.0, math.inf), (0.5, -3.0), (2.0, math.inf))
