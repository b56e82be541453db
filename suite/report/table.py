"""Implementations side by side: one table of any number of audit runs and sweeps.

Each configuration of a run (``softplus-audit run``) and each sweep (``softplus-audit sweep``)
becomes one :class:`Row`: implementation × build × dtype × quantity × path × parameters → the
largest ULP error (documented oracle, with its input's bits; and the exact function's), the
correctly rounded share, premature zeros, non-finite outputs and path disagreement. Rows are
read from the JSON files alone and rendered to one self-contained HTML page and one Markdown
table (``suite/templates/table.*.j2``): the table a reader uses to choose a framework or to file
a bug. ULPs are ULPs of the output format, relative to the exact value.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from suite.report import opinfo
from suite.report.load import RunFileError, as_float, decode, load_run
from suite.report.model import default_parameters
from suite.report.sweepreport import load_sweep

NON_FINITE = ("unexpected_nan", "spurious_infinity")
"""Failure classes that are non-finite outputs where the exact value is a number."""


@dataclass(frozen=True)
class Row:
    """One measured configuration, from a run or a sweep file."""

    target: str  # the implementation's spec, e.g. jax.nn:softplus
    family: str  # torch, numpy, jax, tensorflow, onnxruntime, ...
    build: str  # what ran: torch's version and CPU capability, or the implementation's own words
    device: str
    dtype: str
    quantity: str
    path: str
    beta: float
    threshold: float
    inputs: int
    every_input: bool  # every input of the format (else a stratified sample)
    kind: str  # "audit" or "sweep"
    max_ulp: float  # documented oracle (the implementation's own documented function)
    max_ulp_math: float  # the exact function
    worst_bits: str | None  # the input of max_ulp
    correctly_rounded: int
    premature_zeros: int | None  # outputs 0 where the correct rounding is positive
    non_finite: int  # NaN or inf outputs where the exact value is a finite number
    path_disagreement: int | None  # outputs that differ from the other kernel path's (None: not measured)
    source: str  # the file's name
    worst: tuple[float, float, float] | None = None  # (x, output, correctly rounded) of max_ulp
    # inputs within 2**-20 ULP of a rounding midpoint: (rounded correctly, examined, the first rounded
    # the wrong way); None where none were looked for
    knife_edges: tuple[int, int, str | None] | None = None
    # every output of the wrong class (no ULP error measures it): the non-finite ones, zeros of the
    # wrong sign, a number where the exact value is NaN
    wrong_class: int = 0

    @property
    def knife_edges_text(self) -> str:
        """ "2 of 3 (0x9600 wrong)", "1 of 1", "none here" (none among the inputs examined), or "—"
        (none were looked for)."""
        if self.knife_edges is None:
            return "—"
        right, total, first_wrong = self.knife_edges
        if total == 0:
            return "none here"
        return f"{right:,} of {total:,}" + (f" ({first_wrong} wrong)" if first_wrong else "")

    @property
    def opinfo(self) -> opinfo.Judgement | None:
        """PyTorch's OpInfo comparison applied to the worst output (:mod:`suite.report.opinfo`)."""
        if self.worst is None:
            return None
        x, output, expected = self.worst
        return opinfo.judge(self.dtype, output, expected, x, self.beta, self.threshold, self.quantity)

    @property
    def correctly_rounded_rate(self) -> float:
        return self.correctly_rounded / self.inputs if self.inputs else math.nan

    @property
    def parameters(self) -> str:
        """``default`` for beta = 1 with torch's default threshold 20 or none at all (+inf: a function
        without parameters, the same function below torch's threshold), else the values."""
        if default_parameters(self.beta, self.threshold):
            return "default"
        return f"β={self.beta:g}, t={self.threshold:g}"

    @property
    def group(self) -> tuple[str, str, str]:
        """What rows are compared within: the same dtype, quantity and parameters."""
        return (self.dtype, self.quantity, self.parameters)


def _build(environment: dict, family: str, target: str) -> str:
    """What evaluated ``target``: another framework in its own words (its version), else torch."""
    if family == "torch" or f"target {target}" not in environment:  # torch's, or a function built on torch
        capability = environment.get("aten_cpu_capability") or "?"
        return f"torch {environment.get('torch', '?')}, CPU capability {capability}"
    return environment.get(f"target {target}", target)


def _worst(stats: dict) -> tuple[float, float, float] | None:
    worst = stats.get("worst")
    if not worst:
        return None
    return as_float(worst["x"]), as_float(worst["output"]), as_float(worst["correctly_rounded"])


def _wrong_class(stats: dict) -> int:
    return sum(int(n) for n in stats.get("failures", {}).values())


def _non_finite(stats: dict) -> int:
    return sum(int(stats.get("failures", {}).get(name, 0)) for name in NON_FINITE)


def rows_of_run(run: dict, source: str) -> list[Row]:
    """A run file's configurations as rows."""
    rows = []
    for config in run["configurations"]:
        doc, exact = config["stats"]["documented"], config["stats"]["math"]
        family = config.get("family", "torch")
        zeros = config.get("zeros") or {}
        disagreement = config.get("path_disagreement")
        knife = config.get("knife_edges")
        rows.append(
            Row(
                target=config["target"],
                family=family,
                build=_build(run["environment"], family, config["target"]),
                device=config["device"],
                dtype=config["dtype"],
                quantity=config["quantity"],
                path=config["path"],
                beta=as_float(config["beta"]),
                threshold=as_float(config["threshold"]),
                inputs=int(doc["count"]),
                every_input=bool(config["exhaustive"]),
                kind="audit",
                max_ulp=as_float(doc["max_ulp"]),
                max_ulp_math=as_float(exact["max_ulp"]),
                worst_bits=(doc.get("worst") or {}).get("x_bits"),
                correctly_rounded=int(doc["correctly_rounded"]),
                premature_zeros=zeros.get("premature"),
                non_finite=_non_finite(doc),
                wrong_class=_wrong_class(doc),
                path_disagreement=disagreement["differing"] if disagreement else None,
                source=source,
                worst=_worst(doc),
                knife_edges=(
                    (knife["correctly_rounded"], knife["inputs"], (knife["wrong"] or [{}])[0].get("x_bits"))
                    if knife
                    else None
                ),
            )
        )
    return rows


def rows_of_sweep(sweep: dict, source: str) -> list[Row]:
    """A sweep file as one row."""
    spec, oracles, violations = sweep["spec"], sweep["oracles"], sweep["violations"]
    doc, exact = oracles["documented"], oracles["math"]
    family = spec.get("family", "torch")
    disagreement = violations.get("path_disagreement")
    return [
        Row(
            target=spec["target"],
            family=family,
            build=_build(sweep["environment"], family, spec["target"]),
            device=spec["device"],
            dtype=spec["dtype"],
            quantity=spec["quantity"],
            path=spec["path"],
            beta=as_float(spec["beta"]),
            threshold=as_float(spec["threshold"]),
            inputs=int(sweep["inputs"]),
            every_input=bool(sweep["exhaustive"]),
            kind="sweep",
            max_ulp=as_float(doc["max_ulp"]),
            max_ulp_math=as_float(exact["max_ulp"]),
            worst_bits=(doc.get("worst") or {}).get("x_bits"),
            correctly_rounded=int(doc["correctly_rounded"]),
            premature_zeros=(violations.get("zero_where_positive") or {}).get("count"),
            non_finite=_non_finite(doc),
            wrong_class=_wrong_class(doc),
            path_disagreement=disagreement["count"] if disagreement else None,
            source=source,
            worst=_worst(doc),
        )
    ]


def report_files(paths: list[str]) -> list[str]:
    """The files named, with each directory replaced by the run, sweep and corpus reports directly in
    it (:func:`report_kind`; other JSON, such as a builds summary, is not a report and is left out).
    :class:`RunFileError` for a path that does not exist, and for a ``.json`` in a directory that
    cannot be read or does not parse (truncated, not JSON): it may be a report, and a table
    without it would pass for complete."""
    files: list[str] = []
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise RunFileError(f"{path}: no such file or directory")
        if not p.is_dir():
            files.append(path)
            continue
        for candidate in sorted(p.glob("*.json")):
            if report_kind(candidate):
                files.append(str(candidate))
            else:
                _check_parses(candidate)
    return files


def _check_parses(path: Path) -> None:
    """:class:`RunFileError` (one line naming ``path``) unless it reads as JSON (of any kind)."""
    import json

    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise RunFileError(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise RunFileError(f"{path}: not JSON: not UTF-8 text (byte {error.start})") from None
    try:
        json.loads(text)
    except ValueError:
        decode(text, str(path), "report")  # says why: empty, truncated, not JSON
        raise


def report_kind(path: str | Path) -> str | None:
    """What a JSON file is to the table, read once: ``sweep`` (``"kind": "sweep"``), ``run`` (no
    ``kind`` and a ``configurations`` list; a devices comparison lists configurations too, under a
    ``kind`` of its own), ``corpus`` (``softplus-audit corpus``: known upstream problems, present or
    fixed), or None for anything else, unreadable files included."""
    import json

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("kind") == "sweep":
        return "sweep"
    if "kind" not in data and isinstance(data.get("configurations"), list):
        return "run"
    if "corpus" in data and isinstance(data.get("outcomes"), list):
        return "corpus"
    return None


def load_corpus(paths: list[str]) -> list[dict]:
    """Every outcome of every corpus file among ``paths``, each with the file it came from
    (``source``) and what was checked there (``checked``: torch's release where the file records
    its environment, else the file again: files written before they recorded it; and the device
    where it is not the CPU)."""
    import json

    outcomes = []
    for path in paths:
        if report_kind(path) == "corpus":
            data = json.loads(Path(path).read_text())
            problem = corpus_problem(data)
            if problem:
                raise RunFileError(f"{path}: not a corpus report (softplus-audit corpus): {problem}")
            # a directory's corpus.json is named by its directory (one corpus run per directory)
            source = f"{Path(path).parent.name}/{Path(path).name}"
            env, device = data.get("environment") or {}, data.get("device", "cpu")
            checked = f"torch {env['torch']}" if "torch" in env else source
            checked += "" if device == "cpu" else f", {device}"
            outcomes += [{**o, "source": source, "checked": checked} for o in data["outcomes"]]
    return outcomes


CORPUS_OUTCOME_KEYS = ("problem", "target", "status", "evidence")
"""What each outcome of a corpus report holds (strings; :class:`suite.audit.corpus.Outcome`) for the table."""


def corpus_problem(data: dict) -> str | None:
    """Why a corpus report's JSON cannot be put in the table (None: it can)."""
    env, device = data.get("environment"), data.get("device", "cpu")
    if env is not None and not (isinstance(env, dict) and isinstance(env.get("torch", ""), str)):
        return f"$.environment is {str(env)[:60]!r}, not an object of strings"
    if not isinstance(device, str):
        return f"$.device is {device!r}, not a string"
    for i, outcome in enumerate(data["outcomes"]):
        if not isinstance(outcome, dict):
            return f"$.outcomes[{i}] is {outcome!r}, not an object"
        for key in CORPUS_OUTCOME_KEYS:
            if not isinstance(outcome.get(key), str):
                held = "missing" if key not in outcome else f"{outcome[key]!r}"
                return (
                    f"$.outcomes[{i}].{key} is {held}; each outcome holds {', '.join(CORPUS_OUTCOME_KEYS)} as strings"
                )
    return None


def corpus_matrix(outcomes: list[dict]) -> tuple[list[str], list[tuple[str, list[dict | None]]]]:
    """The corpus as a matrix: one column per implementation and file, one row per problem with each
    column's outcome (None where that file did not check it). A column is labelled by its target,
    and where one target comes from several files (releases) by what was checked there too (torch's
    release), and by the file where that is not enough."""
    keys = list(dict.fromkeys((o["target"], o["source"]) for o in outcomes))
    checked = {(o["target"], o["source"]): o.get("checked", o["source"]) for o in outcomes}
    files_of = Counter(target for target, _ in keys)

    def label(key: tuple[str, str], with_file: bool) -> str:
        target, source = key
        if files_of[target] == 1:
            return target
        return f"{target} ({checked[key]}, {source})" if with_file else f"{target} ({checked[key]})"

    repeated = Counter(label(key, with_file=False) for key in keys)
    labels = [label(key, with_file=repeated[label(key, with_file=False)] > 1) for key in keys]
    cells: dict[str, dict[tuple[str, str], dict]] = {}
    for o in outcomes:
        cells.setdefault(o["problem"], {})[(o["target"], o["source"])] = o
    return labels, [(problem, [row.get(key) for key in keys]) for problem, row in cells.items()]


def distinct_names(paths: list[str]) -> dict[str, str]:
    """Each file's name, with as many of the folders above it as tell it apart from the others'
    (``r213/audit.json`` and ``r214/audit.json``, where both are ``audit.json``)."""
    parts = {path: Path(path).resolve().parts for path in paths}

    def tail(path: str, depth: int) -> str:
        return "/".join(parts[path][-depth:])

    names = {}
    for path in paths:
        depth = 1
        while depth < len(parts[path]) and any(
            other != path and tail(other, depth) == tail(path, depth) for other in paths
        ):
            depth += 1
        names[path] = tail(path, depth)
    return names


def load_rows(paths: list[str]) -> list[Row]:
    """Every row of every file (directories: the reports in them), ordered for reading: by dtype,
    quantity, then implementation, so that the implementations of one dtype and quantity stand
    together. :class:`RunFileError` (one line) for a file that is neither a run nor a sweep."""
    rows: list[Row] = []
    files = report_files(paths)
    names = distinct_names(files)
    for path in files:
        name = names[path]
        kind = report_kind(path)
        if kind == "corpus":
            continue  # not configurations: load_corpus
        if kind == "sweep":
            rows += rows_of_sweep(load_sweep(path), name)
        else:
            rows += rows_of_run(load_run(path), name)
    if not rows:
        raise RunFileError("the files hold no configuration to compare")
    dtypes = ("float16", "bfloat16", "float32", "float64")
    quantities = ("forward", "grad", "grad2")

    def order(row: Row):
        return (
            dtypes.index(row.dtype) if row.dtype in dtypes else len(dtypes),
            quantities.index(row.quantity) if row.quantity in quantities else len(quantities),
            row.parameters != "default",
            row.beta,
            row.threshold,
            row.family != "torch",
            row.target,
            row.build,
            row.path,
            row.beta,
            row.threshold,
            row.kind,
        )

    return sorted(rows, key=order)


def best_in_group(rows: list[Row]) -> set[int]:
    """Indices of the rows with the smallest max ULP (documented oracle) of their dtype, quantity
    and parameters, where the group has more than one implementation (NaN never wins, nor a row with
    outputs of the wrong class, NaN, ±inf or a zero's sign, which its max ULP leaves out)."""
    best: set[int] = set()
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row.group, []).append(i)
    for members in groups.values():
        if len({rows[i].target for i in members}) < 2:
            continue
        candidates = [i for i in members if not math.isnan(rows[i].max_ulp) and not rows[i].wrong_class]
        if candidates:
            low = min(rows[i].max_ulp for i in candidates)
            best.update(i for i in candidates if rows[i].max_ulp == low)
    return best


@dataclass
class GlanceCell:
    """One implementation and dtype at a glance: the largest ULP error over its rows, the input
    where it occurs, the premature zeros (None: no row counts them), the non-finite outputs where
    the exact value is finite (which no ULP error shows), and whether some row measured
    every input of the format (False: samples only, an audit's float32 and float64; a sweep's
    figures then stand beside a sample's, and the sample's cannot be compared with them as equals)."""

    max_ulp: float
    worst_bits: str | None
    zeros: int | None
    every_input: bool
    non_finite: int = 0  # NaN or ±inf outputs where the exact value is finite (no max ULP shows them)


@dataclass(frozen=True)
class Glance:
    """The first table a reader sees: per implementation and dtype, at default parameters, the
    largest error of one quantity over all of its rows (paths and files: a user may get any of
    them) and the premature zeros among them. An implementation seen in several builds (releases,
    CPU capabilities) has a row per build."""

    quantity: str
    dtypes: list[str]
    cells: dict[str, dict[str, GlanceCell]]  # target (and build) -> dtype -> cell


def glance(rows: list[Row], quantity: str = "forward") -> Glance:
    cells: dict[str, dict[str, GlanceCell]] = {}
    builds: dict[str, set[str]] = {}
    for row in rows:
        builds.setdefault(row.target, set()).add(row.build)
    for row in rows:
        if row.quantity != quantity or row.parameters != "default":
            continue
        name = row.target if len(builds[row.target]) == 1 else f"{row.target} · {row.build}"
        per_dtype = cells.setdefault(name, {})
        cell = per_dtype.setdefault(row.dtype, GlanceCell(-math.inf, None, None, every_input=False))
        if math.isnan(row.max_ulp) or row.max_ulp > cell.max_ulp:
            cell.max_ulp, cell.worst_bits = row.max_ulp, row.worst_bits
        if row.premature_zeros is not None:
            cell.zeros = max(cell.zeros or 0, row.premature_zeros)
        cell.non_finite = max(cell.non_finite, row.non_finite)
        cell.every_input = cell.every_input or row.every_input
    dtypes = list(dict.fromkeys(r.dtype for r in rows if r.quantity == quantity and r.parameters == "default"))
    return Glance(quantity, dtypes, cells)


def glance_cells(per_dtype: dict[str, GlanceCell], dtypes: list[str]) -> list[str]:
    """The Markdown cells of one implementation's row of the glance table."""
    from suite.report.model import fmt_ulp

    out = []
    for dtype in dtypes:
        cell = per_dtype.get(dtype)
        if cell is None:
            out.append("—")
            continue
        notes = ([] if cell.every_input else ["sample"]) + ([f"{cell.zeros:,} zeros"] if cell.zeros else [])
        notes += [f"{cell.non_finite:,} non-finite"] if cell.non_finite else []
        out.append(fmt_ulp(cell.max_ulp) + (f" ({'; '.join(notes)})" if notes else ""))
    return out


def _context(rows: list[Row], sources: list[str], corpus: list[dict] | None = None) -> dict:
    columns, matrix = corpus_matrix(corpus or [])
    return {
        "corpus_columns": columns,
        "corpus": matrix,
        "knife_rows": [r for r in rows if r.knife_edges and r.knife_edges[1]],
        "glance": glance(rows),
        "opinfo_rule": opinfo.RULE,
        "describe_opinfo": opinfo.describe,
        "glance_cells": glance_cells,
        "rows": rows,
        "best": best_in_group(rows),
        "implementations": list(dict.fromkeys(r.target for r in rows)),
        "sources": sources,
    }


def render_table_html(rows: list[Row], sources: list[str], corpus: list[dict] | None = None) -> str:
    """The side-by-side page: self-contained HTML (styles and the sorting script inline)."""
    from suite.report.render import template_environment

    return template_environment("html").get_template("table.html.j2").render(_context(rows, sources, corpus))


def render_table_markdown(rows: list[Row], sources: list[str], corpus: list[dict] | None = None) -> str:
    """The side-by-side table as Markdown (for CI logs and issues)."""
    from suite.report.render import template_environment

    return template_environment("md").get_template("table.md.j2").render(_context(rows, sources, corpus))
