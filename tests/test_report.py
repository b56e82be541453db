"""The run's reports: schema, loader errors, Markdown, self-contained HTML, compare, a real browser.

One small real run (float16, forward, one grid point, one target: about 5 s) is made once per
session with the command line, as a user would (``small_audit`` in conftest.py); every other test
reads or edits a copy of it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suite.files import write_json_atomically, write_text_atomically
from suite.numerics.ulp import SHARP_ULP
from suite.report import (
    RunFileError,
    Tolerance,
    compare_runs,
    format_comparison,
    load_run,
    render_html,
    render_markdown,
    schema,
)
from suite.report.load import as_float, binade_entry_error
from suite.report.model import fmt_ulp


def printed_error(printed: str, dtype: str) -> float:
    """The ULP error ``softplus-audit reference ... --output`` printed (exact, as a float64): a recorded
    error is that to within SHARP_ULP (docs/numerics.md, "How exactly an error is known")."""
    (found,) = re.findall(rf": ([0-9.e+-]+) ULP of {dtype}\n", printed)
    return float(found)


ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = "<script>alert(1)</script>"


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "suite.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def run_dir(small_audit) -> Path:
    result, out = small_audit
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def run_json(run_dir) -> Path:
    return run_dir / "audit.json"


@pytest.fixture
def run(run_json) -> dict:
    return json.loads(run_json.read_text())


def write(tmp_path: Path, data, name: str = "run.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


# -- the schema and the loader -------------------------------------------------------------------


def test_the_schema_is_valid_draft_2020_12_and_a_real_run_matches_it(run):
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator(schema()).validate(run)  # the whole schema, binade entries included


def test_the_fast_binade_check_gives_the_schemas_verdict():
    import jsonschema

    items = schema()["$defs"]["stats"]["properties"]["binade_max"]["anyOf"][0]["items"]  # format 1 entries
    validator = jsonschema.Draft202012Validator({**items, "$defs": schema()["$defs"]})
    entries = [
        {"sign": "+", "binade": -14, "max_ulp": 0.25},
        {"sign": "-", "binade": "zero", "max_ulp": 0},
        {"sign": "-", "binade": "subnormal", "max_ulp": {"hex": "inf", "repr": "inf"}},
        {"sign": "*", "binade": 1, "max_ulp": 0.1},
        {"sign": "+", "binade": 1.5, "max_ulp": 0.1},
        {"sign": "+", "binade": True, "max_ulp": 0.1},
        {"sign": "+", "binade": "huge", "max_ulp": 0.1},
        {"sign": "+", "binade": 1, "max_ulp": -0.1},
        {"sign": "+", "binade": 1, "max_ulp": "0.1"},
        {"sign": "+", "binade": 1, "max_ulp": None},
        {"sign": "+", "binade": 1, "max_ulp": False},
        {"sign": "+", "binade": 1, "max_ulp": {"hex": "inf"}},
        {"sign": "+", "binade": 1, "max_ulp": {"hex": "inf", "repr": "inf", "x": 1}},
        {"sign": "+", "binade": 1},
        {"sign": "+", "binade": 1, "max_ulp": 1, "extra": 0},
        [1, 2],
        None,
    ]
    for entry in entries:
        assert (binade_entry_error(entry) is None) == validator.is_valid(entry), entry


def test_every_sweep_under_reports_matches_the_sweep_schema():
    """The published and example sweeps (full sweeps, float64 samples, other frameworks) load, and
    the schema names what the code does: the formats, quantities, oracles and histogram buckets."""
    import jsonschema

    from suite.numerics.formats import FORMATS
    from suite.numerics.params import Oracle, Quantity
    from suite.numerics.stats import BUCKET_LABELS
    from suite.report.sweepreport import SWEEP_FILE_VERSIONS, is_sweep, load_sweep, sweep_schema

    jsonschema.Draft202012Validator.check_schema(sweep_schema())
    defs = sweep_schema()["$defs"]
    assert defs["spec"]["properties"]["dtype"]["enum"] == list(FORMATS)
    assert defs["spec"]["properties"]["quantity"]["enum"] == [q.value for q in Quantity]
    assert set(defs["oracle_name"]["enum"]) == {o.value for o in Oracle}
    assert defs["oracle"]["properties"]["histogram"]["required"] == list(BUCKET_LABELS)
    sweeps = [p for p in sorted((ROOT / "reports").rglob("*.json")) if is_sweep(p)]
    assert len(sweeps) >= 60
    validator = jsonschema.Draft202012Validator(sweep_schema())
    for path in sweeps:
        data = load_sweep(path)
        assert data["format"] in SWEEP_FILE_VERSIONS
        if "sample" not in data:  # the whole schema, every binade's maximum included (fast enough)
            validator.validate(data)
    assert any("sample" in load_sweep(p) for p in sweeps), "a float64 sample's layout is among them"


def test_the_fast_sweep_binade_check_gives_the_schemas_verdict():
    import jsonschema

    from suite.report.sweepreport import binade_max_error, sweep_schema

    binade_max = sweep_schema()["$defs"]["oracle"]["properties"]["binade_max"]
    validator = jsonschema.Draft202012Validator({**binade_max, "$defs": sweep_schema()["$defs"]})
    entries = [
        ("+-14", 0.25),
        ("-zero", 0),
        ("-subnormal", {"repr": "inf"}),
        ("+5", {"hex": "inf", "repr": "inf"}),
        ("*1", 0.1),
        ("+1.5", 0.1),
        ("+huge", 0.1),
        ("1", 0.1),
        ("+1", -0.1),
        ("+1", "0.1"),
        ("+1", None),
        ("+1", False),
        ("+1", {"hex": "inf"}),
        ("+1", {"repr": 1}),
        ("+1", {"repr": "inf", "x": 1}),
    ]
    for key, value in entries:
        assert (binade_max_error(key, value) is None) == validator.is_valid({key: value}), (key, value)


def test_load_run_round_trips_the_json(run_json, run, tmp_path):
    loaded = load_run(run_json)
    assert loaded == run
    again = tmp_path / "again.json"
    write_json_atomically(loaded, again)
    assert load_run(again) == run
    assert render_markdown(load_run(again)) == render_markdown(run)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text, run: None, "no such file"),
        (lambda text, run: "", "empty file"),
        (lambda text, run: "not json at all", "not JSON: Expecting value at line 1 column 1"),
        (lambda text, run: text[: len(text) // 2], "truncated JSON"),
        (lambda text, run: text.rstrip()[:-1], "truncated JSON"),
        (lambda text, run: text[: text.index('"command"') + 4], "truncated JSON"),  # inside a string
        (lambda text, run: text[: text.index('"command"') + 9], "truncated JSON"),  # between key and value
        (lambda text, run: '{"format": 1, "x": NaN}', "not strict JSON"),
        (lambda text, run: "[1, 2]", "the top level is a list"),
        (
            lambda text, run: {k: v for k, v in run.items() if k != "format"},
            "(no 'format' field); supported formats: 1, 2",
        ),
        (lambda text, run: {**run, "format": 3}, "run format 3 is not supported (newer than this softplus-audit"),
        (lambda text, run: {**run, "format": "1"}, "'format' is '1', not an integer; supported formats: 1, 2"),
        (lambda text, run: {**run, "format": 0}, "run format 0 is not supported; supported formats: 1, 2"),
        (lambda text, run: {**run, "verdict": "maybe"}, "does not match the run schema at $.verdict"),
        (
            lambda text, run: _edit(run, lambda r: r["configurations"][0]["stats"]["math"].update(max_ulp="big")),
            "at $.configurations[0].stats.math.max_ulp",
        ),
        (
            lambda text, run: _edit(run, lambda r: r["configurations"][0]["stats"]["documented"]["histogram"].pop()),
            "at $.configurations[0].stats.documented.histogram",
        ),
        (
            lambda text, run: _edit(
                run, lambda r: r["configurations"][0]["stats"]["math"]["binade_max"]["+"].pop("first")
            ),
            "at $.configurations[0].stats.math.binade_max: sign '+': needs exactly zero, subnormal, first and max_ulp",
        ),
        (
            lambda text, run: _edit(
                run, lambda r: r["configurations"][0]["stats"]["math"]["binade_max"]["-"]["max_ulp"].append(-1.0)
            ),
            "at $.configurations[0].stats.math.binade_max: sign '-': max_ulp -1.0 is not a number >= 0",
        ),
        (
            lambda text, run: _edit(
                {**run, "format": 1},
                lambda r: r["configurations"][0]["stats"]["math"].update(binade_max=[{"sign": "+", "binade": 3}]),
            ),
            "at $.configurations[0].stats.math.binade_max[0]: 'max_ulp' is a required property",
        ),
        (lambda text, run: _edit(run, lambda r: r["configurations"][1].pop("id")), "at $.configurations[1]"),
    ],
    ids=[
        "missing",
        "empty",
        "not-json",
        "truncated-half",
        "truncated-last-brace",
        "truncated-in-a-string",
        "truncated-after-a-key",
        "nan-literal",
        "not-an-object",
        "no-format",
        "future-format",
        "format-not-int",
        "format-0",
        "bad-verdict",
        "bad-max-ulp",
        "short-histogram",
        "bad-binade-columns",
        "negative-binade-maximum",
        "bad-format-1-binade-entry",
        "missing-id",
    ],
)
def test_an_unusable_run_file_is_one_line_and_exit_2(run_json, run, tmp_path, edit, message):
    data = edit(run_json.read_text(), copy.deepcopy(run))
    path = tmp_path / "run.json" if data is None else write(tmp_path, data)
    with pytest.raises(RunFileError) as error:
        load_run(path)
    assert isinstance(error.value, ValueError)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    for args in (["report", str(path)], ["compare", str(run_json), str(path)], ["compare", str(path), str(run_json)]):
        code, stderr = cli_here(*args)
        assert code == 2, (args, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert message in lines[0], stderr
        assert "Traceback" not in stderr
    assert not list(tmp_path.glob("*.html")), "nothing written for a bad run"
    assert not list(tmp_path.glob("*.md")), "nothing written for a bad run"


def test_format_1_run_files_are_still_read_and_rendered_alike(run, tmp_path):
    """Format 2 stores per-binade maxima as columns; a format-1 file (the list) of the same run loads,
    renders the same reports and compares equal."""
    from suite.files import binades_from_columns

    old = copy.deepcopy(run)
    old["format"] = 1
    for config in old["configurations"]:
        for stats in config["stats"].values():
            stats["binade_max"] = binades_from_columns(stats["binade_max"])
    path = write(tmp_path, old, "format1.json")
    loaded = load_run(path)
    assert render_markdown(loaded) == render_markdown(run)
    assert render_html(loaded) == render_html({**run, "format": 1})  # the page names the format, and only that differs
    comparison = compare_runs(loaded, run)
    assert comparison.matched == len(run["configurations"])
    assert not comparison.changes


def fields_never_required(part) -> set[str]:
    """Names of the run schema's properties that no object of it requires (the fields added after
    a layout version was fixed, which a file written before them lacks)."""
    optional, required = set(), set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                for name in node["properties"]:
                    (required if name in node.get("required", ()) else optional).add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(part)
    return optional - required


def without_fields(data, names: set[str]):
    if isinstance(data, dict):
        return {k: without_fields(v, names) for k, v in data.items() if k not in names}
    if isinstance(data, list):
        return [without_fields(v, names) for v in data]
    return data


@pytest.mark.parametrize("source", ["passing audit", "failing audit", "the committed example"])
def test_a_run_file_without_any_optional_field_is_read_rendered_compared_and_tabled(source, request, tmp_path):
    """Every field the schema does not require is one a run file of an earlier softplus-audit may
    lack (``wrong_class_in_region``, ``softplus_audit_from``, ``knife_edges``, ...): such a file loads,
    and every command that reads it answers, with no traceback."""
    from suite.report.model import terminal_summary

    if source == "the committed example":
        full = json.loads((ROOT / "reports" / "examples" / "torch-cpu-float16-float32.json").read_text())
    else:
        fixture = "small_audit" if source == "passing audit" else "failing_audit"
        full = json.loads((request.getfixturevalue(fixture)[1] / "audit.json").read_text())
    names = fields_never_required(schema())
    assert {"wrong_class_in_region", "softplus_audit_from", "knife_edges"} <= names
    bare = without_fields(full, names)
    path = write(tmp_path, bare, "bare.json")
    loaded = load_run(path)  # valid: what it lacks is optional
    assert render_markdown(loaded)
    assert render_html(loaded)
    assert terminal_summary(loaded, [])
    assert compare_runs(loaded, full).matched == len(full["configurations"])
    for args in (("report", str(path)), ("table", str(path), "--out", str(tmp_path / "table"))):
        code, err = cli_here(*args)
        assert code == 0, (args, err[-2000:])


def small_run_text(run: dict) -> str:
    """A run file cut down to one configuration, two properties and three binade entries (a few kB)."""
    small = copy.deepcopy(run)
    small["configurations"] = small["configurations"][:1]
    for stats in small["configurations"][0]["stats"].values():
        for column in stats["binade_max"].values():
            column["max_ulp"] = column["max_ulp"][:3]
    small["configurations"][0]["properties"] = small["configurations"][0]["properties"][:2]
    small["test_outcomes"] = dict(list(small["test_outcomes"].items())[:2])
    small["parameter_cases"] = small["parameter_cases"][:1]
    small["reference_points"] = small["reference_points"][:1]
    small["reference_points"][0]["measured"] = small["reference_points"][0]["measured"][:1]
    return json.dumps(small, indent=1) + "\n"


def test_every_cut_of_a_run_file_is_truncated_json_never_not_json(run):
    """Wherever the text ends (inside a number's exponent, a string, a literal, between tokens), the
    loader says truncated, decided exactly (suite.report.jsonprefix), not by where json stopped."""
    from suite.report import parse_run

    text = small_run_text(run)
    assert parse_run(text)["format"] == 2  # the whole is a valid run
    stripped = text.rstrip()
    for cut in range(1, len(stripped)):
        with pytest.raises(RunFileError, match="truncated JSON") as error:
            parse_run(text[:cut])
        assert "\n" not in str(error.value)


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(data=st.data())
def test_a_real_run_file_cut_anywhere_is_truncated_json(run_json, data):
    from suite.report import parse_run

    text = run_json.read_text().rstrip()
    cut = data.draw(st.integers(min_value=1, max_value=len(text) - 1), label="cut")
    with pytest.raises(RunFileError, match="truncated JSON"):
        parse_run(text[:cut])


def cli_here(*args: str) -> tuple[int, str]:
    """``softplus-audit ARGS`` in this process: the exit status and its stderr."""
    import contextlib
    import io

    from suite.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(list(args))
        except SystemExit as stop:
            code = stop.code
    return code, err.getvalue()


def _edit(run: dict, change) -> dict:
    change(run)
    return run


# -- the reports a run writes, and `report` ------------------------------------------------------


def test_every_run_writes_html_and_markdown_next_to_its_json(run_dir):
    assert (run_dir / "audit.html").stat().st_size > 10_000
    assert (run_dir / "audit.md").read_text().startswith("## softplus-audit: PASS")
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")], "no temporary file left behind"


def test_report_rerenders_from_a_saved_run(run_json, tmp_path):
    copied = tmp_path / "saved.json"
    shutil.copy(run_json, copied)
    result = cli("report", str(copied))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "saved.html").exists()
    assert (tmp_path / "saved.md").exists()
    assert (tmp_path / "saved.html").read_text() == (run_json.parent / "audit.html").read_text(), "deterministic"
    result = cli("report", str(copied), "--html", str(tmp_path / "x" / "r.html"), "--md", str(tmp_path / "r.md"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x" / "r.html").exists()
    assert (tmp_path / "r.md").exists()


def test_write_text_atomically_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "r.html"
    write_text_atomically("one", target)
    write_text_atomically("two", target)
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_markdown_summary(run):
    md = render_markdown(run)
    lines = md.splitlines()
    assert lines[0] == "## softplus-audit: PASS ✅"
    # what a reader acts on first: the largest error outside known deviations, against its budget
    lead = next(line for line in lines if line.startswith("Largest error"))
    assert lead.startswith("Largest error outside every known deviation (documented oracle): **")
    assert re.search(
        r": budget [\d.]+ ULP, headroom [\d.e+-]+\. Check it: `softplus-audit reference [^`]+`\.$", lead
    ), lead
    assert "torch " in md
    assert "CPU capability " in md
    header = "| dtype | quantity | configs | failing | max ULP (documented) | outside deviations | max ULP (math) |"
    header += " correctly rounded | wrong class |"
    assert header in md
    assert re.search(
        r"\| float16 \| forward \| 2 \| 0 \| 0\.5\d* \| 0\.5\d* \| [\d.]+ \| [\d.]+% \| 0 \|$", md, re.M
    ), md
    assert "### Not audited" in md
    assert "cuda" in md
    assert "Failing properties" not in md


def test_each_claim_is_answered_in_one_word_with_an_example(run):
    from suite.report.claims import VERDICTS, seed_claims

    claims = {c["claim"]: c for c in seed_claims(run)}
    assert set(claims) == {
        "softplus is never zero",
        "its gradient (sigmoid) is never zero",
        "softplus(0) = ln 2 ≈ 0.6931",
        "softplus(-2) = 0.13",
        "softplus(5) = 5.0067",
    }
    assert all(c["verdict"] in VERDICTS for c in claims.values())
    assert claims["its gradient (sigmoid) is never zero"]["verdict"] == "not audited"  # no gradient in this run
    for x in ("0", "-2", "5"):
        value = next(c for name, c in claims.items() if name.startswith(f"softplus({x})"))
        assert value["verdict"] == "holds", value  # measured at x itself: float16, both paths, within 1 ULP
        assert "torch at x = " in value["measured"]
        assert value["example"]["reproducer"].startswith("import torch")
    md = render_markdown(run)
    assert "### The article's claims" in md
    assert "- **holds**: softplus(0) = ln 2 ≈ 0.6931: exact 0.69314718" in md


def test_a_nan_is_not_a_zero(run):
    """Gradients that are NaN (threshold above exp's overflow) are reported as NaN, not as zeros."""
    from suite.report.claims import seed_claims

    nan_run = copy.deepcopy(run)
    for config in nan_run["configurations"]:
        config["quantity"] = "grad"
        config["zeros"] = {
            "premature": 0,
            "example": None,
            "nan": 3,
            "nan_example_x": {"hex": "0x1.6p+6", "repr": "88.0"},
        }
    gradient = next(c for c in seed_claims(nan_run) if c["claim"].startswith("its gradient"))
    assert gradient["verdict"] == "holds"
    assert "NaN output(s)" in gradient["measured"]
    assert "which are not zeros" in gradient["measured"]


def test_markdown_shows_a_failing_property_with_its_counterexample(run):
    failing = _plant_failure(copy.deepcopy(run))
    md = render_markdown(failing)
    assert md.startswith("## softplus-audit: FAIL ❌")
    assert "### Failing properties (1)" in md
    assert "**positivity**" in md
    assert "`0x8001`" in md
    assert "torch.tensor" in md


def _plant_failure(run: dict) -> dict:
    config = run["configurations"][0]
    prop = next(p for p in config["properties"] if p["name"] == "positivity")
    prop.update(passed=False, violations=1)
    prop["counterexamples"] = [
        {
            "x": {"hex": "-0x1.0000000000000p-24", "repr": "-5.960464477539063e-08"},
            "x_bits": "0x8001",
            "output": {"hex": "0x0.0p+0", "repr": "0.0"},
            "expected": "> 0 (correctly rounded 0.693359375)",
            "reproducer": "x = torch.tensor([-5.96e-08], dtype=torch.float16)\ny = torch.nn.functional.softplus(x)",
        }
    ]
    config["verdict"] = run["verdict"] = "fail"
    run["summary"]["failing_configurations"] = [config["id"]]
    return run


# -- the HTML ------------------------------------------------------------------------------------


class Structure(HTMLParser):
    """Tags, attributes and where text sits, enough to check structure and external references."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.tables: list[dict] = []
        self.scripts: list[dict] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table":
            self.tables.append({"caption": False, "th": 0, "th_without_scope": 0, "attrs": attrs})
        elif tag == "caption" and self.tables:
            self.tables[-1]["caption"] = True
        elif tag == "th" and self.tables:
            self.tables[-1]["th"] += 1
            self.tables[-1]["th_without_scope"] += "scope" not in attrs
        elif tag == "script":
            self.scripts.append(attrs)
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Structure:
    structure = Structure()
    structure.feed(html)
    structure.close()
    return structure


EXTERNAL = re.compile(r"^\s*(https?:|//|ftp:|ws:|wss:)", re.I)


def test_html_is_self_contained_and_accessible(run_json):
    html = (run_json.parent / "audit.html").read_text()
    doc = parse(html)
    for tag, attrs in doc.tags:
        for name in ("src", "href", "xlink:href", "action", "data", "poster", "srcset", "formaction"):
            value = attrs.get(name) or ""
            assert not EXTERNAL.match(value), f"<{tag} {name}={value!r}> reaches out"
        assert not (tag == "link" and "stylesheet" in (attrs.get("rel") or "")), "external stylesheet"
        assert tag not in ("iframe", "object", "embed", "img", "link", "base"), f"<{tag}> in a self-contained page"
        assert "url(http" not in (attrs.get("style") or "")
    assert not re.search(r"@import|url\(\s*['\"]?(https?:|//)", html), "CSS that fetches"
    assert all("src" not in attrs for attrs in doc.scripts)
    assert len(doc.scripts) == 1
    csp = [a for t, a in doc.tags if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"]
    assert csp
    assert "default-src 'none'" in csp[0]["content"]
    assert ("html", {"lang": "en"}) in doc.tags
    assert doc.tables, "tables expected"
    for table in doc.tables:
        assert table["caption"], f"table without caption: {table['attrs']}"
        assert table["th"], f"table without header cells: {table['attrs']}"
        assert not table["th_without_scope"], f"table header cells need scope: {table['attrs']}"
    sortable = [a for t, a in doc.tags if t == "th" and "aria-sort" in a]
    assert sortable
    assert all(a["aria-sort"] == "none" for a in sortable)
    assert any("data-sort" in a for t, a in doc.tags if t == "td")
    svgs = [a for t, a in doc.tags if t == "svg" and a.get("aria-hidden") != "true"]
    assert svgs
    assert all(a.get("role") == "img" and a.get("aria-label") for a in svgs)
    ids = [a["id"] for t, a in doc.tags if "id" in a]
    assert len(ids) == len(set(ids)), "duplicate ids (the inline SVGs must not collide)"
    # each distinct figure is drawn once, in one hidden sprite, and shown by reference
    sprites = [a for t, a in doc.tags if t == "svg" and a.get("aria-hidden") == "true"]
    assert len(sprites) == 1
    symbols = {a["id"] for t, a in doc.tags if t == "symbol"}
    uses = [a["href"].lstrip("#") for t, a in doc.tags if t == "use" and a.get("href", "").startswith("#fig")]
    assert uses
    assert set(uses) <= symbols
    assert len(symbols) <= len(uses)
    text = " ".join(doc.text)
    assert "PASS" in text.split("softplus-audit report")[0], "the verdict comes first"
    assert "softplus(-2) = 0.13" in text
    assert "softplus(5) = 5.0067" in text
    assert "0.12692801104297249644" in text, "the exact value, computed"


def test_html_rendering_is_deterministic(run):
    assert render_html(run) == render_html(copy.deepcopy(run))


def test_the_page_is_the_same_with_its_figures_drawn_in_other_interpreters_or_here(run, monkeypatch):
    """Figures drawn ahead in fresh interpreters (each from its configuration as JSON) are those
    drawn here one by one, bit for bit; where an interpreter fails, they are drawn here."""
    from suite.report import plots

    run = copy.deepcopy(run)
    for config, budget in zip(run["configurations"], (1.0, 3.0), strict=False):
        config["budgets"]["documented"] = budget  # figures of their own: a budget line each
    assert len(run["configurations"]) >= 2
    serial = render_html(run, workers=1)
    monkeypatch.setattr(plots, "PARALLEL_FROM", 1)  # this small run's figures, drawn elsewhere
    drawn = []
    elsewhere = plots._drawn_elsewhere
    monkeypatch.setattr(plots, "_drawn_elsewhere", lambda configs: drawn.append(len(configs)) or elsewhere(configs))
    assert render_html(run, workers=2) == serial
    assert sum(drawn) >= 1, "the figures were drawn in other interpreters"
    monkeypatch.setattr(plots, "_drawn_elsewhere", lambda configs: None)  # an interpreter that failed
    assert render_html(run, workers=2) == serial


def test_a_hostile_target_name_is_text_not_markup(run):
    hostile = copy.deepcopy(run)
    config = hostile["configurations"][0]
    config["target"] = HOSTILE
    config["id"] = HOSTILE + "-cpu-float16-b1-t20-simd-forward"
    config["properties"][0]["detail"] = '"><img src=x onerror=alert(2)>'
    hostile["command"] = "softplus-audit run </script><script>alert(3)</script>"
    hostile["not_audited"]["<b>cuda</b>"] = "<i>why</i>"
    html = render_html(_plant_failure(hostile))
    assert HOSTILE not in html
    assert "<img src=x" not in html
    assert "<b>cuda</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    doc = parse(html)
    assert len(doc.scripts) == 1, "only the page's own sorting script"
    assert not any(t == "img" for t, _ in doc.tags)
    assert any(HOSTILE in chunk for chunk in doc.text), "shown as text"
    md = render_markdown(hostile)
    outside_code = re.sub(r"(`{3,})[^\n]*\n.*?\n\s*\1|(`+).+?\2", "", md, flags=re.S)  # code is shown verbatim
    assert "<script" not in outside_code
    assert "<b>" not in outside_code
    assert "<img" not in outside_code
    assert "\\<b\\>cuda\\</b\\>" in md


# -- compare -------------------------------------------------------------------------------------


def test_compare_identical_runs_is_exit_0(run_json):
    result = cli("compare", str(run_json), str(run_json))
    assert result.returncode == 0, result.stderr
    configurations = len(json.loads(run_json.read_text())["configurations"])
    assert f"0 regression(s), 0 improvement(s), {configurations} the same bit for bit" in result.stdout
    assert "measured otherwise" not in result.stdout
    assert "new max ULP > base max ULP × (1 + 0) + 0.5" in result.stdout


def test_compare_finds_a_planted_regression(run, run_json, tmp_path):
    worse = copy.deepcopy(run)
    first, second = worse["configurations"][0], worse["configurations"][1]
    first["stats"]["documented"]["max_ulp"] = 3.0
    prop = next(p for p in second["properties"] if p["name"] == "monotonicity")
    prop["passed"] = False
    new = write(tmp_path, worse, "new.json")
    result = cli("compare", str(run_json), str(new))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith("REGRESSION") and "max ULP (documented)" in line]
    assert first["id"] in lines[at]
    worst = first["stats"]["documented"]["worst"]
    assert lines[at].endswith(f" -> 3 at x = {worst['x_bits']} in both"), lines[at]
    from suite.report.model import reference_command  # the input, and the command that checks NEW's error there

    assert lines[at + 1].strip() == f"check it: {reference_command(first, worst, 'documented')}"
    assert any(
        line.startswith("REGRESSION") and second["id"] in line and "monotonicity: pass -> fail" in line
        for line in lines
    )
    assert "2 regression(s)" in result.stdout
    reverse = cli("compare", str(new), str(run_json))  # the other way round: improvements only
    assert reverse.returncode == 0
    assert "0 regression(s), 2 improvement(s)" in reverse.stdout


def test_compare_tolerance(run, run_json, tmp_path):
    slightly = copy.deepcopy(run)
    base_max = run["configurations"][0]["stats"]["math"]["max_ulp"]
    slightly["configurations"][0]["stats"]["math"]["max_ulp"] = base_max + 0.3
    new = write(tmp_path, slightly, "new.json")
    within = cli("compare", str(run_json), str(new))
    assert within.returncode == 0  # within 0.5 ULP, and said: a tolerance hides nothing
    first = slightly["configurations"][0]["id"]
    assert f"measured otherwise, within the rule or not: 1 configuration(s): {first} (stats)" in within.stdout
    assert f"0 improvement(s), {len(run['configurations']) - 1} the same bit for bit" in within.stdout
    assert cli("compare", str(run_json), str(new), "--tolerance-ulp", "0.1").returncode == 1
    assert cli("compare", str(run_json), str(new), "--tolerance-ulp", "0", "--tolerance-rel", "1").returncode == 0
    bad = cli("compare", str(run_json), str(new), "--tolerance-ulp", "-1")
    assert bad.returncode == 2
    assert "finite number >= 0" in bad.stderr


def test_compare_says_when_the_searches_tried_other_examples_for_a_reason_outside_the_code(run):
    """Another hypothesis, or softplus-audit from a source tree against an installed one: the
    comparison says their searches are not comparable; the same origin and version say nothing."""
    from suite.environment import package_origin

    assert package_origin("/venv/lib/python3.12/site-packages/suite/__init__.py") == "installed"
    assert package_origin("/usr/lib/python3/dist-packages/suite/__init__.py") == "installed"
    assert package_origin("/home/me/softplus-audit/suite/__init__.py") == "source tree"
    assert run["environment"]["softplus_audit_from"] in ("installed", "source tree")
    assert not compare_runs(run, run).notes
    moved, newer = copy.deepcopy(run), copy.deepcopy(run)
    moved["environment"]["softplus_audit_from"] = "installed"
    run = copy.deepcopy(run)
    run["environment"]["softplus_audit_from"] = "source tree"
    (note,) = compare_runs(run, moved).notes
    assert note.startswith("softplus-audit ran from a source tree in BASE and installed in NEW")
    newer["environment"]["hypothesis"] = "9.0.0"
    assert any(n.endswith("in NEW: the searches tried other examples") for n in compare_runs(run, newer).notes)


def test_compare_counts_no_statistic_measured_on_other_inputs(run):
    """A larger error found because the sample grew is not a regression of what is audited: the
    configuration is named with how its inputs differ (count, or digest), its statistics' changes
    are not counted, its properties' verdicts still are; the same inputs count as before."""
    assert all("inputs_digest" in c for c in run["configurations"])
    worse = copy.deepcopy(run)
    first, second = worse["configurations"][0], worse["configurations"][1]
    for config in (first, second):
        config["stats"]["documented"]["max_ulp"] = 3.0
    first["stats"]["documented"]["count"] += 1  # a larger sample
    second["inputs_digest"] = "0123456789abcdef"  # as many inputs, other ones
    prop = next(p for p in second["properties"] if p["name"] == "monotonicity")
    prop["passed"], prop["verdict"] = False, "fail"
    result = compare_runs(run, worse)
    assert [(c.config, c.what) for c in result.regressions] == [(second["id"], "property monotonicity")]
    count = run["configurations"][0]["stats"]["documented"]["count"]
    assert result.other_inputs == [
        (first["id"], f"{count:,} inputs in BASE, {count + 1:,} in NEW"),
        (second["id"], f"other inputs, {second['stats']['documented']['count']:,} in each"),
    ]
    text = format_comparison(result, run, worse, Tolerance(), ("BASE", "NEW"))
    assert "measured on other inputs (the sample changed, not what is audited): 2 configuration(s)" in text
    same = copy.deepcopy(run)
    same["configurations"][0]["stats"]["documented"]["max_ulp"] = 3.0
    assert [c.what for c in compare_runs(run, same).regressions] == ["max ULP (documented)"]


def test_compare_runs_lists_configurations_in_one_run_only(run):
    fewer = copy.deepcopy(run)
    dropped = fewer["configurations"].pop()
    result = compare_runs(run, fewer, Tolerance())
    assert result.only_base == [dropped["id"]]
    assert not result.regressions
    rate = copy.deepcopy(run)
    rate["configurations"][0]["stats"]["documented"]["correctly_rounded_rate"] -= 1e-5
    assert [c.what for c in compare_runs(run, rate).regressions] == ["correctly rounded (documented)"]
    assert not compare_runs(run, rate, Tolerance(rate=1e-4)).regressions


def test_a_comparison_that_matched_nothing_is_not_a_pass(run, run_json, tmp_path):
    """A regression gate that checked nothing says so: exit 3 and one line; --match measurement pairs
    the same measurements of another implementation."""
    renamed = copy.deepcopy(run)
    for config in renamed["configurations"]:
        config["id"] = config["id"].replace("F.softplus", "other.softplus")
        config["target"] = "other:softplus"
    new = write(tmp_path, renamed, "renamed.json")
    result = cli_here("compare", str(run_json), str(new))
    assert result[0] == 3
    assert result[1].strip().count("\n") == 0
    assert "nothing was compared" in result[1]
    by_measurement = compare_runs(run, renamed, match="measurement")
    assert by_measurement.matched == len(run["configurations"])
    assert not by_measurement.regressions


# -- a real browser ------------------------------------------------------------------------------


def chromium(url: str, user_data: Path, screenshot: Path) -> subprocess.CompletedProcess:
    args = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={user_data}",
        f"--screenshot={screenshot}",
        "--window-size=1280,2000",
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=180)


def console_errors(stderr: str) -> list[str]:
    """Console errors in Chromium's log: uncaught exceptions, and CONSOLE lines of level error."""
    out = []
    for line in stderr.splitlines():
        if "Uncaught" in line or ("CONSOLE" in line and re.search(r"error|refused|violat", line, re.I)):
            out.append(line)
    return out


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_the_html_opens_in_headless_chromium_without_console_errors(run_json, tmp_path):
    # a positive control first: the detection must see a page's uncaught error
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>no_such_function();</script></body></html>")
    control = chromium(broken.as_uri(), tmp_path / "profile-control", tmp_path / "control.png")
    assert console_errors(control.stderr), "the console-error detection does not see errors:\n" + control.stderr[-3000:]

    page = tmp_path / "report.html"
    shutil.copy(run_json.parent / "audit.html", page)
    screenshot = tmp_path / "report.png"
    result = chromium(page.as_uri(), tmp_path / "profile", screenshot)
    print(f"screenshot of the report: {screenshot}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not console_errors(result.stderr), "\n".join(console_errors(result.stderr))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000, "a blank page?"


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_the_sorting_script_sorts_on_raw_values_in_chromium(tmp_path):
    from suite.report.render import TEMPLATES

    page = tmp_path / "sort.html"
    page.write_text(
        "<!DOCTYPE html><html><body><table class='sortable'><caption>t</caption><thead><tr>"
        "<th scope='col' aria-sort='none'><button type='button'>name</button></th>"
        "<th scope='col' aria-sort='none'><button type='button'>ulp</button></th></tr></thead><tbody>"
        "<tr><th scope='row'>a</th><td data-sort='10'>10</td></tr>"
        "<tr><th scope='row'>b</th><td data-sort='9.5'>9.5</td></tr>"
        "<tr><th scope='row'>c</th><td data-sort='1e+300'>1.000e+300</td></tr>"
        "</tbody></table><script>" + (TEMPLATES / "sort.js").read_text() + "</script><script>"
        "var b = document.querySelectorAll('th button')[1]; b.click(); var first = [];"
        "document.querySelectorAll('tbody th').forEach(function (t) { first.push(t.textContent); });"
        "b.click(); var second = [];"
        "document.querySelectorAll('tbody th').forEach(function (t) { second.push(t.textContent); });"
        "document.body.setAttribute('data-result', first.join('') + '|' + second.join('') + '|' +"
        " document.querySelectorAll('th')[1].getAttribute('aria-sort'));"
        "</script></body></html>"
    )
    args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    args += [f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()]
    result = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert 'data-result="bac|cab|descending"' in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_no_page_is_wider_than_a_1280_pixel_window_its_wide_tables_scroll_in_their_frames(run_json, tmp_path):
    """Two reports, a side-by-side table (18 columns) and a sweep's page, laid out by chromium in a
    1280-pixel window: the page itself is no wider (the side-by-side table scrolls inside its frame,
    its header row in view; a report's summary wraps the words after its numbers, and scrolls in its
    own box where it still cannot fit), so nothing is cut off at the window's edge."""
    code, err = cli_here(
        "table", str(run_json), str(ROOT / "reports" / "published" / "float64-sample"), "--out", str(tmp_path)
    )
    assert code == 0, err
    sweep_out = tmp_path / "sweep"
    code, err = cli_here("sweep", "--dtype", "float16", "--one-path", "--out", str(sweep_out))
    assert code == 0, err
    measure = (
        "<script>var d = document.documentElement, f = document.querySelector('.frame');"
        "document.body.setAttribute('data-layout', d.scrollWidth + ' ' + d.clientWidth + ' ' +"
        " (f ? f.scrollWidth + ' ' + f.clientWidth : '-'));</script></body>"
    )
    example = tmp_path / "example.json"  # 24 configurations: its summary table was wider than the window
    shutil.copy(ROOT / "reports" / "examples" / "torch-cpu-float16-float32.json", example)
    code, err = cli_here("report", str(example))
    assert code == 0, err
    pages = {"report": run_json.with_suffix(".html"), "example": example.with_suffix(".html")}
    pages["table"] = tmp_path / "table.html"
    (pages["sweep"],) = sweep_out.glob("*.html")
    for name, page in pages.items():
        measured = tmp_path / f"measured-{name}.html"
        measured.write_text(page.read_text().replace("</body>", measure))
        args = [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1280,900",
        ]
        args += [f"--user-data-dir={tmp_path / ('profile-' + name)}", "--dump-dom", measured.as_uri()]
        result = subprocess.run(args, capture_output=True, text=True, timeout=180)
        (layout,) = re.findall(r'data-layout="([^"]*)"', result.stdout) or [result.stderr[-2000:]]
        page_width, window_width, *frame = layout.split()
        assert int(page_width) <= int(window_width), f"the {name} page is {page_width} px wide in {window_width}"
        if name == "table":
            assert int(frame[0]) > int(frame[1]), "the side-by-side table is wider than its frame, and scrolls there"


def test_a_float64_sweeps_pages_say_what_its_search_found_and_when_its_inputs_repeat():
    """Both pages of a float64 sample sweep carry the steered search's line (the HTML had none), and
    say on what its derandomized inputs depend: hypothesis's version and where softplus-audit ran
    from (hypothesis also draws the numeric literals of modules outside site-packages)."""
    from suite.report.sweepreport import render_sweep_html, render_sweep_markdown

    published = ROOT / "reports" / "published" / "float64-sample"
    data = json.loads((published / "torch-2.13.0-cpu-AVX2-float64-grad2-b1-t20-simd-sample.json").read_text())
    worst = data["search"]["worst"]["x_bits"]
    for origin, words in (("installed", "softplus-audit installed, as here"), ("source tree", "from a source tree")):
        data["environment"]["softplus_audit_from"] = origin
        repeat = f"Its inputs repeat with hypothesis {data['environment']['hypothesis']} and softplus-audit"
        for page in (render_sweep_markdown(data), render_sweep_html(data)):
            assert "Targeted search" in page
            assert worst in page
            assert repeat in page
            assert words in page


def float32_value_and_gradient_audited(tmp_path: Path, grid: str) -> tuple[Path, dict]:
    """A real audit of torch.nn.functional.softplus's float32 value and gradient at ``grid``, run in
    this process: its output folder and run file."""
    out = tmp_path / "out"
    scope = ["--dtype", "float32", "--quantity", "forward", "--quantity", "grad", "--grid", grid]
    code, err = cli_here("run", "--target", "torch.nn.functional:softplus", *scope, "--out", str(out))
    assert code == 0, err[-2000:]
    return out, json.loads((out / "audit.json").read_text())


def test_each_worst_inputs_check_command_recomputes_its_error_from_the_reference_alone(tmp_path):
    """The report gives each worst input a ``softplus-audit reference`` command (bits, parameters as
    the configuration documents them, oracle, output): run, it must print the recorded correct
    rounding and ULP error. beta = 0.1 (which the kernel casts to float32) and threshold 1 (where
    the two oracles differ) make a wrong cast, parameter or oracle show."""
    from suite.numerics.formats import format_named
    from suite.report.model import ORACLES, reference_command

    out, run = float32_value_and_gradient_audited(tmp_path, "0.1,20;1,1")
    checked = 0
    for config in run["configurations"]:
        fmt = format_named(config["dtype"])
        for oracle in ORACLES:
            worst = config["stats"][oracle]["worst"]
            command = reference_command(config, worst, oracle)
            assert command in (out / "audit.html").read_text() or oracle == "math"  # shown where it is
            result = here_stdout(*command.split()[1:])
            rounded = fmt.hex_of(as_float(worst["correctly_rounded"]))
            assert f"bits {rounded}) = correct rounding into {fmt.name}" in result, (command, result)
            assert printed_error(result, fmt.name) == pytest.approx(as_float(worst["ulp_error"]), abs=SHARP_ULP)
            checked += 1
    assert checked == 2 * len(run["configurations"]) == 16
    worst_outside = (out / "audit.md").read_text().split("Check it: `", 1)[1].split("`", 1)[0]
    assert worst_outside.startswith("softplus-audit reference ")


def here_stdout(*args: str) -> str:
    """``softplus-audit ARGS`` in this process: its standard output (the status must be 0)."""
    import contextlib
    import io

    from suite.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0, args
    return out.getvalue()


def test_outputs_of_the_wrong_class_are_marked_excused_only_where_the_accuracy_property_held():
    from suite.report.model import excusing_wrong_class, wrong_class_outputs, wrong_class_words

    def config(passed: bool, failures: dict) -> dict:
        deviation = {"id": "exp-overflow-below-threshold", "property": "accuracy (documented)", "status": "holds"}
        return {
            "stats": {"documented": {"failures": {"unexpected_nan": 0, **failures}}},
            "properties": [{"name": "accuracy (documented)", "passed": passed}],
            "known_deviations": [{**deviation, "wrong_class_in_region": sum(failures.values())}],
        }

    excused = config(True, {"spurious_infinity": 1131})
    assert wrong_class_outputs(excused) == {"spurious_infinity": 1131}  # the classes that occurred
    assert wrong_class_words(wrong_class_outputs(excused)) == "1,131 ±inf"
    assert excusing_wrong_class(excused) == ["exp-overflow-below-threshold"]
    assert excusing_wrong_class(config(False, {"spurious_infinity": 1131})) == []  # failed: not excused
    assert excusing_wrong_class(config(True, {})) == []
    assert wrong_class_words({"unexpected_nan": 2, "zero_sign": 1}) == "2 NaN, 1 zero of the wrong sign"


def test_a_deviation_whose_bound_spans_the_format_is_called_what_it_is():
    from suite.report.model import deviation_status

    whole = {"grown": False, "accepts_any": True}
    assert deviation_status(whole) == "no bound: any error accepted here"
    assert deviation_status({"grown": False, "accepts_any": False}) == "holds"
    assert deviation_status({"grown": True, "accepts_any": True}) == "grown"


def test_a_deviation_that_excuses_infinities_says_no_bound_covers_them(tmp_path):
    """At threshold 100, float32's exp overflows below the threshold: softplus returns +inf and its
    gradient NaN there, excused by a deviation whose 1-ULP bound measures finite errors only. The
    report must not read "holds" beside a tiny maximum: it says how many excused outputs no bound
    covers, counted once per output, and each equals the statistics' own count of wrong classes."""
    out, run = float32_value_and_gradient_audited(tmp_path, "1,100")
    total = 0
    for config in run["configurations"]:
        failures = sum(config["stats"]["documented"]["failures"].values())
        (check,) = [
            d for d in config["known_deviations"]
            if d["id"] == "exp-overflow-below-threshold" and d["property"] == "accuracy (documented)"
        ]  # fmt: skip
        assert check["wrong_class_in_region"] == failures > 0, (config["id"], check, failures)
        assert as_float(check["measured_max_ulp"]) < 1  # the finite errors: what the bound measures
        total += failures
    md = (out / "audit.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| exp-overflow-below-threshold |"))
    assert f"holds for finite errors; no bound on {total:,} of the wrong class" in row
    assert f"{total // len(run['configurations']):,} of the wrong class" in (out / "audit.html").read_text()
    # and where a reader looks first: the summary's rows and the matrix's cells count them, by class
    # (no ULP maximum shows an infinity), marked as inside a deviation
    for quantity, word in (("forward", "±inf"), ("grad", "NaN")):
        configs = [c for c in run["configurations"] if c["quantity"] == quantity]
        count = sum(
            c["stats"]["documented"]["failures"]["spurious_infinity" if word == "±inf" else "unexpected_nan"]
            for c in configs
        )
        summary = next(line for line in md.splitlines() if line.startswith(f"| float32 | {quantity} |"))
        assert summary.endswith(f"| {count:,} {word} ¹ |"), summary
    html = (out / "audit.html").read_text()
    for config in run["configurations"]:
        per_config = sum(config["stats"]["documented"]["failures"].values())
        word = "±inf" if config["quantity"] == "forward" else "NaN"
        assert f"+ {per_config:,} {word} ◇</span>" in html
    from suite.report.model import terminal_summary

    half = total // 2  # as many NaN gradients as infinite values, input for input
    line = "outputs of the wrong class (no ULP error measures them): "
    assert f"{line}{half:,} ±inf, {half:,} NaN; all inside known deviations" in terminal_summary(run, [])
    # and on each report's first lines, after the verdict
    first = f"Outputs of the wrong class (no ULP error measures them): {half:,} ±inf, {half:,} NaN; all inside"
    assert first in md.split("Largest error", 1)[0]
    assert first in html.split("</header>", 1)[0]
    # excused, they fail no budget: nothing leads the worst case but the largest error
    assert "fail the budget" not in md + html + "\n".join(terminal_summary(run, []))


def test_outputs_of_the_wrong_class_that_fail_the_budget_lead_the_worst_case(tmp_path):
    """No largest ULP error shows an output of the wrong class (+inf where softplus is finite): where
    the budget fails on them, the worst case opens with them, their first input and its reproducer,
    and the largest error after them is called the largest finite one (in every report)."""
    from suite.report.model import terminal_summary

    out = tmp_path / "out"
    scope = ["--dtype", "float16", "--quantity", "forward", "--grid", "1,20", "--out", str(out)]
    code, err = cli_here("run", "--target", "tests.planted_targets:overflows_to_inf", *scope)
    assert code == 1, err[-2000:]
    run = json.loads((out / "audit.json").read_text())
    simd = "tests.planted_targets:overflows_to_inf-cpu-float16-b1-t20-simd-forward"
    infinite = run["configurations"][0]["stats"]["documented"]["failures"]["spurious_infinity"]
    md = (out / "audit.md").read_text().split("| dtype |", 1)[0]  # the first screen, before the table
    lead = (
        f"fail the budget: **{infinite:,} ±inf** in `{simd}`, the first outside every known deviation at "
        "x = `0x558c` (88.75): output inf, expected the same class as the exact value 88.75"
    )
    assert lead in md
    assert md.index(lead) < md.index("Largest finite error outside every known deviation")
    html = (out / "audit.html").read_text()
    worst = html.split('id="worst-h"', 1)[1]
    assert worst.index(f"{infinite:,} ±inf</strong>") < worst.index("Largest finite error")
    assert "base[0] = float.fromhex(&#39;0x1.6300000000000p+6&#39;)" in worst.split("Largest finite error")[0]
    console = terminal_summary(run, [])
    assert f"outputs of the wrong class fail the budget: {infinite:,} ±inf in {simd}, the first" in "\n".join(console)


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_a_link_to_a_configuration_opens_it_in_chromium(run_json, run, tmp_path):
    """Anchors come from configuration ids, and following one opens the closed section it names."""
    from suite.report.model import anchor

    page = tmp_path / "report.html"
    shutil.copy(run_json.parent / "audit.html", page)
    target = anchor(run["configurations"][-1]["id"])
    args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    args += ["--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom"]
    dom = subprocess.run([*args, f"{page.as_uri()}#{target}"], capture_output=True, text=True, timeout=180).stdout
    opened = re.search(rf'<details id="{re.escape(target)}"[^>]*>', dom)
    assert opened, "the configuration's section is missing"
    assert 'open=""' in opened.group(0), opened.group(0)
    closed = re.search(rf'<details id="{re.escape(anchor(run["configurations"][0]["id"]))}"[^>]*>', dom)
    assert 'open=""' not in closed.group(0), "only the linked section opens"


def test_budgets_and_deviations_are_in_view_beside_the_maxima(run):
    """The summary names each worst maximum's budget (or its deviation), the matrix marks cells inside
    known deviations and carries the budget in its title, worst cases show the relative error."""
    html = render_html(run)
    assert "its budget" in html
    assert re.search(r"budget [\d.]+ ULP, headroom", html)
    assert 'title="budget ' in html or 'title="inside known deviation' in html
    assert "relative error |y − v|/|v| = " in html
    assert '<th scope="row">accuracy budget</th>' in html
    assert re.search(r'<svg class="plot" role="img" aria-label="[^"]+"[^>]*><title>ULP errors of ', html)


def test_log_axes_are_labelled_by_decade_as_text(run):
    """The log axes' ticks are plain text with superscripts (10⁻⁴), as the binade axis's (2⁻¹⁴):
    no mathtext, whose parser took a third of each figure's drawing time."""
    from suite.report.plots import decade_label, figure_svg

    assert [decade_label(v) for v in (1e-4, 1.0, 1e3, 2e-4, 0.0)] == ["10⁻⁴", "10⁰", "10³", "", ""]
    svg = figure_svg(run["configurations"][0])
    assert "10⁻⁴" in svg  # the binade panel's floor decade
    assert "mathdefault" not in svg


def test_figures_shade_the_regions_of_known_deviations(run):
    """The run file records each deviation's input range in the configuration (here the threshold
    shortcut: every input above t/b); the figure hatches a range where the deviation excused an
    accuracy error, and only there."""
    from suite.report.plots import figure_svg

    config = run["configurations"][0]
    (shortcut,) = [c for c in config["known_deviations"] if c["id"] == "threshold-shortcut"]
    lo, hi = shortcut["x_range"]
    assert (lo, hi) == (20.015625, 65504.0), "float16: the first input above t/b = 20, and the largest finite"
    assert shortcut["violations_in_region"] == 0, "at t = 20 the shortcut costs float16 nothing"
    assert "<pattern" not in figure_svg(config), "nothing excused: nothing shaded"
    excused = copy.deepcopy(config)
    excused["known_deviations"][config["known_deviations"].index(shortcut)]["violations_in_region"] = 1
    assert "<pattern" in figure_svg(excused)


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_figure_text_is_at_least_9_px_on_a_laptop_screen(run_json, tmp_path):
    """At 1366×768 every text of every figure (tick labels, exponents, legends) is drawn ≥ 9 px:
    the width Chromium gives a figure times each font size in the figure's viewBox units."""
    html = (run_json.parent / "audit.html").read_text()
    probe = (
        "<script>document.querySelectorAll('details').forEach(d => d.open = true);"
        "const svg = document.querySelector('svg.plot');"
        "document.body.dataset.scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;</script>"
    )
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", probe + "</body>"))
    args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    args += ["--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1366,768", "--dump-dom"]
    dom = subprocess.run([*args, page.as_uri()], capture_output=True, text=True, timeout=180).stdout
    scale = float(re.search(r'data-scale="([\d.]+)"', dom).group(1))
    sizes = [float(s) for s in re.findall(r"font(?:-size)?:\s*([\d.]+)px", html)]
    assert sizes, "no font sizes found in the figures"
    assert min(sizes) * scale >= 9, f"smallest figure text {min(sizes)} × {scale:.3f} = {min(sizes) * scale:.2f} px"


def test_compare_judges_the_error_outside_the_deviations_too(run):
    """A configuration whose largest error lies inside a known deviation says nothing of the rest:
    where both runs record the largest error outside every deviation, its change counts by the same
    rule (once, where it is the largest error itself); a file without the record compares as before."""
    config = run["configurations"][0]
    assert config["outside_deviations"]["documented"]["worst"] is not None
    inside = copy.deepcopy(run)  # as if the largest error lay inside a deviation, far above the rest
    inside["configurations"][0]["stats"]["documented"]["max_ulp"] = 2048.0
    worse = copy.deepcopy(inside)
    outside = worse["configurations"][0]["outside_deviations"]["documented"]["worst"]
    before = outside["ulp_error"]
    outside["ulp_error"] = before + 1.0
    result = compare_runs(inside, worse)
    assert [(c.what, c.base, c.new) for c in result.regressions] == [
        ("max ULP outside deviations (documented)", fmt_ulp(before), fmt_ulp(before + 1.0))
    ]
    assert result.differing == [(config["id"], ["outside_deviations"])]
    # where the largest error is the one outside, its change is counted once
    both = copy.deepcopy(run)
    both["configurations"][0]["stats"]["documented"]["max_ulp"] = before + 1.0
    both["configurations"][0]["outside_deviations"]["documented"]["worst"]["ulp_error"] = before + 1.0
    original = copy.deepcopy(run)
    original["configurations"][0]["stats"]["documented"]["max_ulp"] = before
    assert [c.what for c in compare_runs(original, both).regressions] == ["max ULP (documented)"]
    older = copy.deepcopy(inside)
    for c in older["configurations"]:
        del c["outside_deviations"]
    assert not compare_runs(older, worse).changes
    assert not compare_runs(older, worse).differing


def test_the_largest_error_inside_a_deviation_says_whether_the_deviation_bounds_it():
    """The first screen's 'largest error of the run', inside a deviation: where the deviation's
    bound spans the format's whole range it says any error is accepted there, never 'within the
    bound recorded for it'; a real bound is named with its value."""
    example = ROOT / "reports" / "examples" / "torch-cpu-float16-float32.json"
    run = load_run(example)
    html, md = render_html(run), render_markdown(run)
    for page in (html, md):
        assert "second-derivative-cancellation: no bound, any error is accepted there." in page
        assert "within the bound recorded for it" not in page
    bounded = copy.deepcopy(run)
    for config in bounded["configurations"]:
        for dev in config["known_deviations"]:
            if dev["id"] == "second-derivative-cancellation" and dev["dtype"] == "float32":
                dev["max_ulp"] = 2.0**24 - 1  # below float32's whole range: a bound
    assert "second-derivative-cancellation: within the bound recorded for it (1.678e+07 ULP)." in render_markdown(
        bounded
    )


def test_a_failing_parameter_case_is_named_on_every_report_first_screen_and_by_compare(run, tmp_path):
    """A parameter case that fails (beta = -1 answered with 123) fails the run without any failing
    configuration: the first line of each report and of the console counts it, the Markdown and the
    console name it with its outcome, and compare counts pass -> fail as a regression."""
    from suite.report.model import terminal_summary

    broken = copy.deepcopy(run)
    (case,) = [c for c in broken["parameter_cases"] if c["case"] == "beta=-1"]
    case.update(
        outcome="returned 123.0, 123.0", verdict="fail", why="x=-50.0: got 123.0, meaning -50.0; x=0.0: got 123.0"
    )
    words = f"{case['target']}, beta=-1 (threshold {case['threshold']}): returned 123.0, 123.0; x=-50.0: got 123.0"
    md = render_markdown(broken)
    assert f"**{broken['summary']['configurations']} configurations, 0 failing, 1 parameter case failing;" in md
    assert f"### Failing parameter cases (1)\n\n- {words}, meaning -50.0 …".replace("_", "\\_") in md
    assert "1 parameter case failing</strong>" in render_html(broken)
    console = terminal_summary(broken, [])
    assert console[0].endswith("0 failing, 1 parameter case failing")
    assert f"FAILED parameter case {words}, meaning -50.0 …" in console
    comparison = compare_runs(run, broken)
    assert [(c.what, c.base, c.new, c.regression) for c in comparison.changes] == [
        ("parameter case beta=-1", "pass", "fail", True)
    ]
    assert [(c.what, c.regression) for c in compare_runs(broken, run).changes] == [("parameter case beta=-1", False)]
    assert "parameter case" not in render_markdown(run).split("### The article")[0]
    from suite.report.model import failing_words

    one = {**run, "summary": {**run["summary"], "configurations": 1}, "parameter_cases": []}
    assert failing_words(one) == "1 configuration, 0 failing"


def test_compare_counts_more_outputs_of_the_wrong_class_as_a_regression(run):
    """No max ULP shows an infinite output where softplus is finite: compare counts those outputs."""
    worse = copy.deepcopy(run)
    config = worse["configurations"][0]
    config["stats"]["documented"]["failures"]["spurious_infinity"] = 9_844
    changes = [(c.config, c.what, c.base, c.new, c.regression) for c in compare_runs(run, worse).changes]
    assert changes == [(config["id"], "outputs of the wrong class (documented)", "0", "9,844 ±inf", True)]
    assert [c.regression for c in compare_runs(worse, run).changes] == [False]


def test_the_wrong_class_leads_after_other_errors_and_counts_only_what_no_deviation_excuses(tmp_path):
    """Finite errors first in input order do not hide the NaN after them (the audit records the
    first output of the wrong class among the counterexamples); where a known deviation excuses
    some (torch's +inf at threshold 100), the lead and the summary count only the others."""
    from suite.report.model import terminal_summary

    scope = ["--dtype", "float16", "--quantity", "forward"]
    out = tmp_path / "later"
    code, err = cli_here(
        "run", "--target", "tests.planted_targets:doubled_then_nan", *scope, "--grid", "1,20", "--out", str(out)
    )
    assert code == 1, err[-2000:]
    config = json.loads((out / "audit.json").read_text())["configurations"][0]
    nan = config["stats"]["documented"]["failures"]["unexpected_nan"]
    md = (out / "audit.md").read_text().split("Largest finite error", 1)[0]
    assert (
        f"fail the budget: **{nan:,} NaN** in `{config['id']}`, the first outside every known deviation at x = `0xc901`"
        in md
    )
    assert "base[0] = float.fromhex('-0x1.4040000000000p+3')" in md  # its reproducer, beside it
    out = tmp_path / "excused"
    code, err = cli_here(
        "run", "--target", "tests.planted_targets:nan_at_minus_five", *scope, "--grid", "1,100", "--out", str(out)
    )
    assert code == 1, err[-2000:]
    run = json.loads((out / "audit.json").read_text())
    infinite = run["configurations"][0]["stats"]["documented"]["failures"]["spurious_infinity"]
    assert infinite > 0
    md = (out / "audit.md").read_text()
    assert f"fail the budget: **1 (of 1 NaN, {infinite:,} ±inf; the rest inside known deviations)**" in md
    assert f"2 NaN, {2 * infinite:,} ±inf; 2 outside known deviations" in md
    assert f"2 NaN, {2 * infinite:,} ±inf; 2 outside known deviations" in "\n".join(terminal_summary(run, []))
