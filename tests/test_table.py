"""``softplus-audit table``: implementations side by side, from run and sweep files alone."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from suite.numerics.ulp import SHARP_ULP
from suite.report.table import Row, best_in_group, load_rows, render_table_html, render_table_markdown
from tests.test_report import cli_here

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "reports" / "published" / "torch-2.13.0-cpu-AVX512-float32-forward-b1-t20-simd.json"


@pytest.fixture(scope="module")
def run_json(small_audit) -> Path:
    result, out = small_audit
    assert result.returncode == 0, result.stderr[-2000:]
    return out / "audit.json"


def test_runs_and_sweeps_become_rows_of_one_table(run_json):
    rows = load_rows([str(run_json), str(SWEEP)])
    (sweep,) = [r for r in rows if r.kind == "sweep"]
    assert sweep.inputs == 2**32
    assert sweep.every_input
    assert sweep.premature_zeros == 143_998, "the published sweep's zeros where softplus is positive"
    assert sweep.path_disagreement == 32_017_277
    assert sweep.worst_bits == "0xc2cad073"
    audits = [r for r in rows if r.kind == "audit"]
    assert audits
    assert all(r.dtype == "float16" and r.every_input for r in audits)
    assert [r.dtype for r in rows] == sorted((r.dtype for r in rows), key=["float16", "float32"].index)
    assert all(r.build.startswith("torch 2.") for r in rows)


def _row(target: str, max_ulp: float, **changes) -> Row:
    base = Row(
        target=target, family="torch", build="b", device="cpu", dtype="float32", quantity="forward", path="p",
        beta=1.0, threshold=20.0, inputs=10, every_input=False, kind="audit", max_ulp=max_ulp, max_ulp_math=max_ulp,
        worst_bits=None, correctly_rounded=9, premature_zeros=0, non_finite=0, path_disagreement=None, source="s",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_the_best_of_a_group_is_the_smallest_max_ulp_among_implementations():
    rows = [
        _row("a", 1.5),
        _row("b", 0.75, threshold=math.inf, family="jax"),  # no threshold: the same default group
        _row("c", math.nan),
        _row("d", 0.5, beta=0.1),  # other parameters: its own group, alone
    ]
    assert best_in_group(rows) == {1}
    assert rows[1].parameters == "default"
    assert rows[3].parameters == "β=0.1, t=20"
    assert best_in_group([_row("a", 1.0), _row("a", 0.5, path="q")]) == set(), "one implementation: no contest"


def test_the_page_is_self_contained_and_the_table_says_the_same(run_json):
    rows = load_rows([str(run_json), str(SWEEP)])
    html = render_table_html(rows, ["audit.json", SWEEP.name])
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "nothing is fetched"
    assert html.split('id="table"')[1].count("<tr") == len(rows) + 1
    assert html.index("At a glance") < html.index('id="table"'), "the glance comes first"
    assert "4,294,967,296" in html
    assert "143,998" in html
    md = render_table_markdown(rows, ["audit.json", SWEEP.name])
    assert len([line for line in md.splitlines() if line.startswith("| float")]) == len(rows)


def test_the_command_writes_both_files_and_refuses_what_is_not_a_report(run_json, tmp_path):
    code, err = cli_here("table", str(run_json), str(SWEEP), "--out", str(tmp_path / "t"))
    assert code == 0, err
    assert (tmp_path / "t" / "table.html").exists()
    assert (tmp_path / "t" / "table.md").exists()
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"hello": 1}')
    code, err = cli_here("table", str(run_json), str(bogus), "--out", str(tmp_path / "u"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "bogus.json" in err
    assert not (tmp_path / "u" / "table.html").exists()


def test_a_directory_stands_for_the_reports_in_it(run_json, tmp_path):
    """A directory gives its run and sweep files; other JSON beside them (a builds summary) is not a report."""
    import shutil

    shutil.copy(run_json, tmp_path / "audit.json")
    shutil.copy(SWEEP, tmp_path / SWEEP.name)
    (tmp_path / "builds.json").write_text('{"builds": []}')
    code, err = cli_here("table", str(tmp_path), "--out", str(tmp_path / "t"))
    assert code == 0, err
    md = (tmp_path / "t" / "table.md").read_text()
    assert "from 2 file(s)" in md
    # each row names its file: rows of one build from several files are told apart
    files = {line.rsplit("|", 2)[1].strip() for line in md.splitlines() if line.startswith("| float")}
    assert files == {"audit.json", SWEEP.name.replace("_", "\\_")}, files
    code, err = cli_here("table", str(tmp_path / "missing"), "--out", str(tmp_path / "u"))
    assert code == 2
    assert "no such file or directory" in err


def test_files_of_one_name_are_told_apart_by_their_folders(run_json, tmp_path):
    """Two releases' audit.json side by side: each row's file is named with the folder that tells it apart."""
    import shutil

    for release in ("r213", "r214"):
        (tmp_path / release).mkdir()
        shutil.copy(run_json, tmp_path / release / "audit.json")
    code, err = cli_here("table", str(tmp_path / "r213"), str(tmp_path / "r214"), "--out", str(tmp_path / "t"))
    assert code == 0, err
    md = (tmp_path / "t" / "table.md").read_text()
    files = {line.rsplit("|", 2)[1].strip() for line in md.splitlines() if line.startswith("| float")}
    assert files == {"r213/audit.json", "r214/audit.json"}, files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SWEEP.read_text()[:4000], "truncated JSON (the text ends at line"),
        ("", "empty file, not a report (truncated?)"),
        ("{'a': 1}", "not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ],
    ids=["truncated", "empty", "not-json"],
)
def test_a_report_in_a_directory_that_does_not_parse_is_named_not_left_out(tmp_path, text, message):
    """A table of a directory that silently lacked one of its files would pass for complete: a .json
    there that does not parse is one line naming it, exit 2, and no table. (JSON that parses and is
    no report, such as a builds summary, is still left out.)"""
    folder = tmp_path / "d1"
    folder.mkdir()
    (folder / SWEEP.name).write_bytes(SWEEP.read_bytes())
    (folder / "builds.json").write_text('{"builds": []}')
    (folder / "copy.json").write_text(text)
    code, err = cli_here("table", str(folder), "--out", str(tmp_path / "tb"))
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert f"{folder / 'copy.json'}: {message}" in line
    assert not (tmp_path / "tb").exists()
    (folder / "copy.json").unlink()
    code, err = cli_here("table", str(folder), "--out", str(tmp_path / "tb"))
    assert code == 0, err


@pytest.mark.parametrize(
    ("corpus", "message"),
    [
        ({"corpus": "x", "outcomes": [{"a": 1}]}, "$.outcomes[0].problem is missing; each outcome holds problem,"),
        ({"corpus": "x", "outcomes": [5]}, "$.outcomes[0] is 5, not an object"),
        ({"corpus": "x", "outcomes": [], "environment": 5}, "$.environment is '5', not an object of strings"),
    ],
    ids=["outcome-keys", "outcome-type", "environment"],
)
def test_a_malformed_corpus_report_is_one_line_exit_2(tmp_path, corpus, message):
    import json

    path = tmp_path / "corpus.json"
    path.write_text(json.dumps(corpus))
    code, err = cli_here("table", str(SWEEP), str(path), "--out", str(tmp_path / "tb"))
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert f"{path}: not a corpus report (softplus-audit corpus): {message}" in line
    assert not (tmp_path / "tb").exists()


def test_the_glance_gives_each_implementation_its_worst_row_at_default_parameters():
    from suite.report.table import GlanceCell, glance

    rows = [
        _row("a", 1.5, premature_zeros=3, worst_bits="0x1"),
        _row("a", 2.5, path="q", premature_zeros=0, worst_bits="0x2"),  # its worse path counts
        _row("a", 9.0, beta=0.1),  # not default parameters: left out
        _row("b", math.nan, threshold=math.inf, family="jax"),  # NaN is the worst
        _row("b", 0.5, threshold=math.inf, family="jax", quantity="grad"),  # another quantity
    ]
    seen = glance(rows)
    assert seen.dtypes == ["float32"]
    assert seen.cells["a"]["float32"] == GlanceCell(2.5, "0x2", 3, every_input=False)
    assert math.isnan(seen.cells["b"]["float32"].max_ulp)
    releases = glance([_row("a", 1.0, build="torch 2.13.0"), _row("a", 2.0, build="torch 2.14.1")])
    assert set(releases.cells) == {"a · torch 2.13.0", "a · torch 2.14.1"}, "one row per build"


def test_the_glance_says_where_only_a_sample_was_measured():
    """A release swept over every input and one audited on a sample must not read as equals: the
    sample's cell says it is one (the sweep's maximum and zeros are over every input)."""
    from suite.report.table import glance, glance_cells

    rows = [
        _row("a", 1.49841, build="torch 2.12.0", premature_zeros=272),
        _row("a", 1.49841, build="torch 2.13.0", premature_zeros=272),
        _row("a", 1.5, build="torch 2.13.0", premature_zeros=143_998, every_input=True, kind="sweep"),
    ]
    seen = glance(rows)
    assert glance_cells(seen.cells["a · torch 2.12.0"], ["float32"]) == ["1.49841 (sample; 272 zeros)"]
    assert glance_cells(seen.cells["a · torch 2.13.0"], ["float32"]) == ["1.5 (143,998 zeros)"]
    assert glance_cells(glance([_row("b", 0.5, every_input=True)]).cells["b"], ["float32"]) == ["0.5"]


def test_non_finite_outputs_show_at_a_glance_and_never_win_a_group():
    """A max ULP leaves out NaN and ±inf outputs where the exact value is finite: a row with them
    is not the best of its group whatever its max ULP, and its glance cell counts them."""
    from suite.report.table import glance, glance_cells

    rows = [_row("a", 0.5, non_finite=19_688, wrong_class=19_688, every_input=True), _row("b", 0.75, every_input=True)]
    assert best_in_group(rows) == {1}
    assert best_in_group([rows[0], _row("b", 0.5, non_finite=1, wrong_class=1)]) == set(), "none without them wins"
    assert best_in_group([_row("c", 0.25, wrong_class=12_203), rows[1]]) == {1}, "zeros of the wrong sign: no winner"
    seen = glance(rows)
    assert glance_cells(seen.cells["a"], ["float32"]) == ["0.5 (19,688 non-finite)"]
    assert glance_cells(seen.cells["b"], ["float32"]) == ["0.75"]


def test_pytorchs_own_tolerance_is_applied_as_pytorch_applies_it():
    """|actual - expected| <= atol + rtol*|expected|, with softplus's tolerances; NaN equals NaN."""
    from suite.report.opinfo import describe, judge

    flush = judge("float32", 0.0, 1.1754907e-38, -87.34, 1.0, 20.0)  # a flushed subnormal: far below atol
    assert not flush.flags
    assert not flush.tested, "PyTorch runs softplus at beta = 3, threshold = 0.2 only"
    off = judge("float32", 1.0, 1.001, 0.5, 3.0, 0.2)
    assert off.flags
    assert off.tested
    assert off.rtol_to_pass == pytest.approx((0.001 - 1e-5) / 1.001)
    assert describe(off).startswith("flags it (slips through from rtol 0.00099")
    assert judge("float16", 0.70, 0.69, 0.0, 3.0, 0.2).flags is False, "float16: atol = rtol = 1e-2"
    assert judge("float64", math.nan, 0.5, 1.0, 3.0, 0.2).flags
    assert judge("float64", math.nan, 0.5, 1.0, 3.0, 0.2).rtol_to_pass is None, "no tolerance admits a NaN"
    assert not judge("float64", math.nan, math.nan, math.nan, 3.0, 0.2).flags
    assert judge("float32", math.inf, 3e38, 89.0, 3.0, 0.2).flags
    assert not judge("float32", 1.0, 1.0, 12.0, 3.0, 0.2).tested, "outside make_tensor's [-9, 9]"
    assert not judge("float32", 1.0, 1.0, 1.0, 3.0, 0.2, "grad").tested, "gradients: gradcheck, no reference"
    assert judge("int8", 1.0, 1.0, 1.0, 3.0, 0.2) is None


def test_each_row_says_whether_pytorchs_test_would_flag_its_worst_output(run_json):
    rows = load_rows([str(run_json), str(SWEEP)])
    (sweep,) = [r for r in rows if r.kind == "sweep"]
    verdict = sweep.opinfo
    assert verdict is not None
    assert not verdict.tested
    md = render_table_markdown(rows, ["a", "b"])
    assert "PyTorch's OpInfo test" in md
    assert "not run here" in md


def test_compare_takes_two_sweeps_of_any_implementations(run_json, tmp_path):
    """Same dtype, quantity and parameters (torch's threshold 20 and a function without one are both
    default): max ULP, correctly rounded rate and each violation count; regressions exit 1."""
    import json

    code, err = cli_here("compare", str(SWEEP), str(SWEEP))
    assert code == 0, err
    worse = json.loads(SWEEP.read_text())
    worse["spec"].update(target="jax.nn:softplus", threshold={"hex": "inf", "repr": "inf"}, path="xla")
    worse["oracles"]["documented"]["max_ulp"] = 8388581.98
    worse["violations"]["zero_where_positive"]["count"] += 1
    planted = tmp_path / "worse.json"
    planted.write_text(json.dumps(worse))
    code, err = cli_here("compare", str(SWEEP), str(planted))
    assert code == 1, err
    from suite.report import Tolerance, compare_sweeps, format_comparison
    from suite.report.sweepreport import load_sweep

    same = load_sweep(SWEEP)
    text = format_comparison(compare_sweeps(same, same), same, same, Tolerance(), ("a.json", "b.json"))
    torch_version = same["environment"]["torch"]
    assert f"BASE a.json (sweep of {same['inputs']:,} inputs; " in text
    assert f"; torch {torch_version}, " in text.splitlines()[0], "a sweep names the release it measured"
    assert text.endswith("1 configuration(s) matched: 0 regression(s), 0 improvement(s), 1 the same bit for bit")
    result = compare_sweeps(load_sweep(SWEEP), load_sweep(planted))
    assert {c.what for c in result.regressions} == {
        "max ULP (documented)",
        "outputs 0 where the correct rounding is > 0",
    }
    larger = json.loads(planted.read_text())  # a larger sample (float64): nothing it found counts
    larger["inputs"] += 1
    result = compare_sweeps(load_sweep(SWEEP), larger)
    assert not result.changes
    assert result.other_inputs == [
        (result.other_inputs[0][0], f"{same['inputs']:,} inputs in BASE, {same['inputs'] + 1:,} in NEW")
    ]
    other = json.loads(SWEEP.read_text())
    other["spec"]["dtype"] = "bfloat16"
    elsewhere = tmp_path / "other.json"
    elsewhere.write_text(json.dumps(other))
    code, err = cli_here("compare", str(SWEEP), str(elsewhere))
    assert code == 3
    assert "nothing was compared" in err
    code, err = cli_here("compare", str(SWEEP), str(run_json))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert f"compare a run with a run, or a sweep with a sweep: {SWEEP} is a sweep, the other a run" in err


@pytest.mark.parametrize("name", sorted(p.name for p in SWEEP.parent.glob("*.json")))
def test_each_published_sweeps_check_commands_recompute_its_largest_errors(name):
    """A sweep's page gives, per oracle, the ``softplus-audit reference`` command of its worst input
    (JAX's and TensorFlow's without a threshold, torch's with its own): run, each prints the
    sweep's largest error, from the reference alone."""
    from suite.report.load import as_float
    from suite.report.sweepreport import is_sweep, load_sweep, reference_commands, render_sweep_markdown
    from tests.test_report import here_stdout

    path = SWEEP.parent / name
    assert is_sweep(path), f"{name}: the published folder's top level holds sweeps"
    data = load_sweep(path)
    commands = reference_commands(data)
    judged = (data.get("judgment") or {}).get("judged")
    assert set(commands) == {"documented", "math", *(("outside",) if judged else ())}
    for oracle, command in commands.items():
        printed = here_stdout(*command.split()[1:])
        largest = (
            data["judgment"]["oracles"]["documented"]["max_ulp_outside"]
            if oracle == "outside"
            else data["oracles"][oracle]["max_ulp"]
        )
        # exact (a float64); the sweep's record is that to within SHARP_ULP (docs/numerics.md)
        (found,) = re.findall(rf": ([0-9.e+-]+) ULP of {data['spec']['dtype']}\n", printed)
        assert float(found) == pytest.approx(as_float(largest), abs=SHARP_ULP)
        assert f"`{command}`" in render_sweep_markdown(data)
    assert (path.with_suffix(".md")).read_text() == render_sweep_markdown(data), "the published page is current"


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_a_sweep_has_a_page_that_opens_in_chromium(tmp_path):
    """The published sweep's page, from its JSON alone: the largest error, the figure, the violations."""
    from suite.report.sweepreport import load_sweep, write_sweep_html
    from tests.test_report import chromium, console_errors

    page = write_sweep_html(load_sweep(SWEEP), tmp_path / "sweep.html")
    html = page.read_text()
    assert "0xc2cad073" in html
    assert "143,998" in html
    assert '<svg class="plot"' in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "nothing is fetched"
    shot = tmp_path / "sweep.png"
    result = chromium(page.as_uri(), tmp_path / "profile", shot)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not console_errors(result.stderr)
    assert shot.stat().st_size > 20_000, "a blank page?"


def test_the_page_has_a_knife_edge_section_and_the_corpus_beside_the_table(tmp_path):
    """A run of the float16 gradient (three knife edges; torch rounds one the wrong way) and the
    corpus on the same torch: both sections, from the files alone."""
    run_dir, corpus_dir = tmp_path / "run", tmp_path / "corpus"
    common = ["--target", "torch.nn.functional:softplus"]
    scope = ["--dtype", "float16", "--quantity", "grad", "--grid", "1,20"]
    code, err = cli_here("run", *common, *scope, "--out", str(run_dir))
    assert code == 0, err[-2000:]
    assert cli_here("corpus", *common, "--out", str(corpus_dir))[0] == 0
    assert cli_here("table", str(run_dir), str(corpus_dir), "--out", str(tmp_path))[0] == 0
    md = (tmp_path / "table.md").read_text()
    knife = md.split("### Knife edges", 1)[1].split("###", 1)[0]
    assert "| float16 | grad | `torch.nn.functional:softplus` |" in knife
    assert "2 of 3 (0x9600 wrong)" in knife
    corpus = md.split("### Known upstream problems", 1)[1]
    assert "| `torch-beta-zero-accepted` | present |" in corpus
    assert "| `torch-backward-threshold-on-output` | fixed |" in corpus
    # the run's own page says it too, in the configuration's details
    page = (run_dir / "audit.html").read_text()
    assert "2 of 3 rounded correctly (first wrong: x = <code>0x9600</code>)" in page
    assert ".Knife edges" not in page, "each sentence of a configuration's details starts after a space"
    assert ".Scalar and" not in page
    html = (tmp_path / "table.html").read_text()
    assert 'id="knife-edges"' in html
    assert 'id="corpus"' in html
