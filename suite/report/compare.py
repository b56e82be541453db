"""Two runs side by side: regressions and improvements per configuration (matched by id).

Compared per configuration: the max ULP error for each oracle (ULPs of the output format,
relative to the exact value), and where both runs record it and it is another number, the max
ULP error outside every known deviation (which the budget judges: a configuration's largest
error often lies inside one, and then says nothing of the rest), the correctly rounded rate
(documented oracle), and each property's verdict. The rule (also in ``softplus-audit compare
--help``):

* max ULP regresses when ``new > base * (1 + rel) + abs`` (defaults: abs 0.5 ULP, rel 0) and
  improves when ``base > new * (1 + rel) + abs``; a NaN counts as +inf;
* the correctly rounded rate regresses when it drops by more than ``rate`` (default 0) and
  improves when it rises by more than ``rate``;
* the outputs of the wrong class (documented oracle: NaN or ±inf where the exact value is finite,
  a zero of the wrong sign; no max ULP shows them) regress when there are more, improve when fewer;
* a property regresses from pass to fail, improves from fail to pass; so does a parameter case
  (beta or threshold outside the usual range), matched by target, device and case.

Every matched configuration measured otherwise at all (its statistics, property outcomes,
premature zeros, path disagreement, knife edges or hypothesis search: :data:`MEASURED`) is listed,
within the rule or not, and the rest are counted as the same bit for bit: a tolerance hides
nothing from the reader.

Configurations are matched by id (``match="id"``), or across implementations and releases by
what they measure (``match="measurement"``: device, dtype, beta, threshold, path, quantity).
Configurations or properties present in one run only are listed, not counted as regressions; a
comparison that matched no configuration checked nothing, which the command line reports as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from suite.report.load import as_float
from suite.report.model import (
    ORACLES,
    default_parameters,
    fmt_rate,
    fmt_ulp,
    outside_worst,
    reference_command,
    wrong_class_outputs,
    wrong_class_words,
)


@dataclass(frozen=True)
class Tolerance:
    """How much worse a number may get before it is a regression (see the module's rule)."""

    abs_ulp: float = 0.5
    rel: float = 0.0
    rate: float = 0.0

    def describe(self) -> str:
        return (
            f"regression where new max ULP > base max ULP × (1 + {self.rel:g}) + {self.abs_ulp:g} (either oracle), "
            f"the correctly rounded rate drops by more than {self.rate:g}, more outputs are of the wrong class, "
            "or a property or parameter case goes from pass to fail"
        )


@dataclass(frozen=True)
class Change:
    config: str
    what: str
    base: str
    new: str
    regression: bool
    where: str = ""  # a maximum's change: the input of each maximum, as bits
    check: str = ""  # a maximum's change: the reference command that recomputes NEW's maximum


MEASURED = ("stats", "properties", "zeros", "path_disagreement", "knife_edges", "hypothesis_search")
"""What a run measured of a configuration (the rest of its entry says what it is and what applied)."""

SWEEP_MEASURED = ("oracles", "violations", "inputs")
"""What a sweep measured."""


@dataclass
class Comparison:
    """The outcome: the matched configurations, the changes the rule counts (regressions and
    improvements), and every matched configuration measured otherwise at all (``differing``: its id
    and what differed), within the rule or not: the rest are the same bit for bit. A configuration
    measured on other inputs (``other_inputs``: its id and how) counts no change of its statistics:
    they differ because the sample did; its properties' verdicts still count."""

    matched: int = 0
    changes: list[Change] = field(default_factory=list)
    differing: list[tuple[str, list[str]]] = field(default_factory=list)
    other_inputs: list[tuple[str, str]] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> int:
        """Matched configurations whose measurements are the same bit for bit."""
        return self.matched - len(self.differing)

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regression]

    @property
    def improvements(self) -> list[Change]:
        return [c for c in self.changes if not c.regression]


def _verdict(prop: dict) -> str:
    """pass, fail or no budget (``passed`` decides pass or fail; run files written before the third
    verdict have only that)."""
    return "no budget" if prop.get("verdict") == "no budget" else ("pass" if prop["passed"] else "fail")


def _ulp(value) -> float:
    v = as_float(value)
    return math.inf if math.isnan(v) else v


def _where(base_worst: dict | None, new_worst: dict | None) -> str:
    """'at x = 0x3c01 (BASE: at 0x3bff)': the inputs of the two maxima ('' where neither has one)."""
    b, n = ((w or {}).get("x_bits") for w in (base_worst, new_worst))
    if not (b or n):
        return ""
    if b == n:
        return f"at x = {n} in both"
    return f"at x = {n or 'none'} (BASE: {b or 'none'})"


def other_inputs(base: dict, new: dict) -> str | None:
    """How two runs' configurations were measured on other inputs (the audit's sample changed, not
    the implementation), as far as their files tell: other counts, or other digests of the inputs
    (:attr:`suite.audit.engine.ConfigResult.inputs_digest`; files without one tell by count only).
    None: the same inputs."""
    b, n = (r["stats"]["documented"]["count"] for r in (base, new))
    if b != n:
        return f"{b:,} inputs in BASE, {n:,} in NEW"
    digests = base.get("inputs_digest"), new.get("inputs_digest")
    if all(digests) and digests[0] != digests[1]:
        return f"other inputs, {n:,} in each"
    return None


def _outside(config: dict, oracle: str) -> tuple[float, dict | None] | None:
    """The largest error outside every known deviation and its input, where the run recorded it
    (0 where nothing lies outside); None in a file that predates the record."""
    if "outside_deviations" not in config:
        return None
    worst = outside_worst(config, oracle)
    return (worst["ulp_error"], worst) if worst else (0.0, None)


def _compare_config(cid: str, base: dict, new: dict, tol: Tolerance, out: Comparison) -> None:
    # on other inputs a statistic that differs says nothing of the implementation: listed, not counted
    elsewhere = other_inputs(base, new)
    found = []
    for oracle in ORACLES:
        overall = [(r["stats"][oracle]["max_ulp"], r["stats"][oracle].get("worst")) for r in (base, new)]
        maxima = [(f"max ULP ({oracle})", overall)]
        outside = [_outside(r, oracle) for r in (base, new)]
        if None not in outside and [_ulp(m) for m, _ in outside] != [_ulp(m) for m, _ in overall]:
            maxima.append((f"max ULP outside deviations ({oracle})", outside))
        for what, ((b, base_worst), (n, new_worst)) in maxima:
            b, n = _ulp(b), _ulp(n)
            worse, better = n > b * (1 + tol.rel) + tol.abs_ulp, b > n * (1 + tol.rel) + tol.abs_ulp
            if worse or better:
                check = reference_command(new, new_worst, oracle) if new_worst and "quantity" in new else ""
                where = _where(base_worst, new_worst)
                found.append(Change(cid, what, fmt_ulp(b), fmt_ulp(n), worse, where, check))
    b, n = (r["stats"]["documented"]["correctly_rounded_rate"] for r in (base, new))
    if n < b - tol.rate or n > b + tol.rate:
        found.append(Change(cid, "correctly rounded (documented)", fmt_rate(b), fmt_rate(n), n < b))
    # NaN, ±inf, a zero's sign where the exact value differs: no max ULP shows them, so they count here
    b_wrong, n_wrong = (wrong_class_outputs(r) for r in (base, new))
    if sum(b_wrong.values()) != sum(n_wrong.values()):
        words = [wrong_class_words(w) or "0" for w in (b_wrong, n_wrong)]
        regression = sum(n_wrong.values()) > sum(b_wrong.values())
        found.append(Change(cid, "outputs of the wrong class (documented)", *words, regression))
    if elsewhere:
        out.other_inputs.append((cid, elsewhere))
    else:
        out.changes += found
    base_props = {p["name"]: _verdict(p) for p in base["properties"]}
    new_props = {p["name"]: _verdict(p) for p in new["properties"]}
    for name, verdict in base_props.items():
        if name not in new_props:
            out.notes.append(f"{cid}: property {name} only in BASE")
        elif verdict != new_props[name]:
            # a pass that is no longer one is a regression; a fail that is no longer one an improvement
            regression = verdict == "pass" or new_props[name] == "fail"
            out.changes.append(Change(cid, f"property {name}", verdict, new_props[name], regression))
    out.notes += [f"{cid}: property {name} only in NEW" for name in new_props if name not in base_props]


MATCHES = {
    "id": lambda c: c["id"],
    "measurement": lambda c: "-".join(str(c[k]) for k in ("device", "dtype", "beta", "threshold", "path", "quantity")),
}
"""How configurations of the two runs are paired: by id, or by what is measured (any implementation)."""


def _by_key(run: dict, key, label: str, notes: list[str]) -> dict[str, dict]:
    """The run's configurations by key; the first of those that share a key (noted)."""
    out: dict[str, dict] = {}
    for config in run["configurations"]:
        k = key(config)
        if k in out:
            notes.append(f"{label}: {config['id']} has the key of {out[k]['id']}: compared the first only")
            continue
        out[k] = config
    return out


def compare_runs(base: dict, new: dict, tolerance: Tolerance | None = None, match: str = "id") -> Comparison:
    """Compare two validated runs (see :func:`suite.report.load_run`) configuration by configuration,
    paired as ``match`` says (a key of :data:`MATCHES`)."""
    tol = tolerance or Tolerance()
    out = Comparison()
    base_configs = _by_key(base, MATCHES[match], "BASE", out.notes)
    new_configs = _by_key(new, MATCHES[match], "NEW", out.notes)
    for key, config in base_configs.items():
        if key in new_configs:
            out.matched += 1
            _compare_config(key, config, new_configs[key], tol, out)
            # the record of what lies outside the deviations, where both files have it
            both = all("outside_deviations" in c for c in (config, new_configs[key]))
            _note_differences(key, config, new_configs[key], MEASURED + ("outside_deviations",) * both, out)
        else:
            out.only_base.append(key)
    out.only_new = [key for key in new_configs if key not in base_configs]
    base_cases, new_cases = _parameter_cases(base, match), _parameter_cases(new, match)
    for key, case in base_cases.items():
        other = new_cases.get(key)
        if other is not None and other["verdict"] != case["verdict"]:
            what, regression = f"parameter case {case['case']}", case["verdict"] == "pass"
            out.changes.append(Change(other["target"], what, case["verdict"], other["verdict"], regression))
    out.notes += search_notes(base["environment"], new["environment"])
    return out


def _parameter_cases(run: dict, match: str) -> dict[tuple, dict]:
    """The run's parameter cases by target (matching by id), device and case; the first of each."""
    out: dict[tuple, dict] = {}
    for case in run.get("parameter_cases") or []:
        key = (case["device"], case["case"])
        out.setdefault(key if match == "measurement" else (case["target"], *key), case)
    return out


def search_notes(base_env: dict, new_env: dict) -> list[str]:
    """Why the two runs' hypothesis searches tried other examples, if they did for a reason other
    than the code under audit: another hypothesis, or softplus-audit imported from a source tree in
    one run and installed in the other (hypothesis draws examples from the numeric literals of the
    modules outside site-packages too). Their searches' best inputs are then not comparable."""
    notes = []
    if base_env.get("hypothesis") != new_env.get("hypothesis"):
        notes.append(
            f"hypothesis {base_env.get('hypothesis')} in BASE, {new_env.get('hypothesis')} in NEW: "
            "the searches tried other examples"
        )
    base_from, new_from = base_env.get("softplus_audit_from"), new_env.get("softplus_audit_from")
    if base_from and new_from and base_from != new_from:
        how = {"installed": "installed", "source tree": "from a source tree"}
        notes.append(
            f"softplus-audit ran {how[base_from]} in BASE and {how[new_from]} in NEW: the searches tried other "
            "examples (hypothesis also draws them from the numeric literals of modules outside site-packages)"
        )
    return notes


SWEEP_MATCH = ("device", "dtype", "quantity")
"""What two sweeps must share to be compared, with their parameters (implementation, release, build
and path may differ)."""


def _parameters(spec: dict) -> str:
    """``default`` for beta = 1 with torch's threshold 20 or none (+inf: a function without
    parameters, the same function below torch's threshold), else ``beta=…, threshold=…``."""
    beta, threshold = as_float(spec["beta"]), as_float(spec["threshold"])
    if default_parameters(beta, threshold):
        return "default"
    return f"beta={beta:g}, threshold={threshold:g}"


SWEEP_COUNTS = {
    "zero_where_positive": "outputs 0 where the correct rounding is > 0",
    "not_monotone": "neighbouring outputs stepping the wrong way",
    "path_disagreement": "inputs where the two kernel paths differ",
}


def _note_differences(name: str, base: dict, new: dict, fields: tuple[str, ...], out: Comparison) -> None:
    """Record ``name`` as measured otherwise where any of ``fields`` differs at all."""
    differ = [f for f in fields if base.get(f) != new.get(f)]
    if differ:
        out.differing.append((name, differ))


def compare_sweeps(base: dict, new: dict, tolerance: Tolerance | None = None) -> Comparison:
    """Two sweeps (``softplus-audit sweep`` reports) of the same dtype, quantity and parameters, of
    any implementations, releases or builds: the max ULP of each oracle and the correctly rounded
    rate (the rule of :func:`compare_runs`), and each violation count, which regresses when it
    grows (its first input in each, where they differ)."""
    tol = tolerance or Tolerance()
    out = Comparison()
    key = {**{k: str(base["spec"].get(k)) for k in SWEEP_MATCH}, "parameters": _parameters(base["spec"])}
    if key != {**{k: str(new["spec"].get(k)) for k in SWEEP_MATCH}, "parameters": _parameters(new["spec"])}:
        out.only_base.append(_sweep_name(base))
        out.only_new.append(_sweep_name(new))
        return out
    out.matched = 1
    name = "-".join(key.values())
    pseudo = [  # a sweep's statistics and parameters in a run configuration's shape
        {
            "stats": {o: {**s["oracles"][o], "count": s["inputs"]} for o in ORACLES},
            "properties": [],
            **{k: s["spec"][k] for k in ("dtype", "quantity", "beta", "threshold")},
        }
        for s in (base, new)
    ]
    _compare_config(name, pseudo[0], pseudo[1], tol, out)
    _note_differences(name, base, new, SWEEP_MEASURED, out)
    for count, words in SWEEP_COUNTS.items():
        b, n = (s["violations"].get(count) for s in (base, new))
        if b is None or n is None:
            if (b is None) != (n is None):
                out.notes.append(f"{name}: {count} measured in {'NEW' if b is None else 'BASE'} only")
            continue
        if b["count"] != n["count"] and not out.other_inputs:  # on other inputs, counts say nothing either
            first = (n if n["count"] > b["count"] else b).get("example") or {}
            example = f" (first: x = {first.get('x_bits')})" if first.get("x_bits") else ""
            out.changes.append(
                Change(name, f"{words}", f"{b['count']:,}", f"{n['count']:,}{example}", n["count"] > b["count"])
            )
    return out


def _sweep_name(sweep: dict) -> str:
    spec = sweep["spec"]
    return f"{spec['target']} {spec['device']} {spec['dtype']} {spec['quantity']} ({_parameters(spec)} parameters)"


def format_comparison(result: Comparison, base: dict, new: dict, tolerance: Tolerance, names: tuple[str, str]) -> str:
    """The comparison as text, one change per line, regressions first (runs or sweeps)."""

    def describe(run: dict, name: str) -> str:
        env = run["environment"]
        if run.get("kind") == "sweep":
            target = run["spec"]["target"]
            words = [env.get(f"target {target}")]
            if target.startswith("torch") or not words[0]:  # torch's release and build: what a reader compares
                words.append(f"torch {env.get('torch')}, {env.get('aten_cpu_capability')}")
            return f"{name} (sweep of {run['inputs']:,} inputs; {target}: {'; '.join(w for w in words if w)})"
        return f"{name} ({run['verdict']}; torch {env['torch']}, {env['aten_cpu_capability']}; {run['created_utc']})"

    lines = [f"BASE {describe(base, names[0])}", f"NEW  {describe(new, names[1])}", f"rule: {tolerance.describe()}"]
    width = max((len(c.config) for c in result.changes), default=0)
    for change in result.regressions + result.improvements:
        tag = "REGRESSION" if change.regression else "improved  "
        where = f" {change.where}" if change.where else ""
        lines.append(f"{tag}  {change.config:<{width}}  {change.what}: {change.base} -> {change.new}{where}")
        if change.check:
            lines.append(f"{'':10}  check it: {change.check}")
    for label, ids in (("only in BASE", result.only_base), ("only in NEW", result.only_new)):
        if ids:
            shown = ", ".join(ids[:5]) + (f", … ({len(ids) - 5} more)" if len(ids) > 5 else "")
            lines.append(f"{label}: {len(ids)} configuration(s): {shown}")
    if result.differing:
        shown = ", ".join(f"{name} ({', '.join(what)})" for name, what in result.differing[:5])
        more = f", … ({len(result.differing) - 5} more)" if len(result.differing) > 5 else ""
        lines.append(
            f"measured otherwise, within the rule or not: {len(result.differing)} configuration(s): {shown}{more}"
        )
    if result.other_inputs:
        shown = ", ".join(f"{name} ({how})" for name, how in result.other_inputs[:5])
        more = f", … ({len(result.other_inputs) - 5} more)" if len(result.other_inputs) > 5 else ""
        lines.append(
            f"measured on other inputs (the sample changed, not what is audited): {len(result.other_inputs)} "
            f"configuration(s), their statistics' changes not counted, their properties' verdicts counted: "
            f"{shown}{more}"
        )
    lines += result.notes
    lines.append(
        f"{result.matched} configuration(s) matched: {len(result.regressions)} regression(s), "
        f"{len(result.improvements)} improvement(s), {result.identical} the same bit for bit"
    )
    return "\n".join(lines)
