"""What the reports show, computed from a run's JSON (no measurement is redone here).

Every ULP figure is in ULPs of the configuration's output format, relative to the exact value;
"documented" is the oracle of torch's documented function (threshold rule included), "math"
the exact mathematical function.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict

from suite.report.load import as_float

ORACLES = ("documented", "math")
DTYPE_ORDER = ("float16", "bfloat16", "float32", "float64")
QUANTITY_ORDER = ("forward", "grad", "grad2")
QUANTITY_NAMES = {"forward": "softplus", "grad": "gradient", "grad2": "second derivative"}
# colour classes of a max ULP error (documented oracle): upper bounds, inclusive
ULP_CLASSES = ((0.5, "u0", "≤ 0.5"), (1.0, "u1", "≤ 1"), (4.0, "u2", "≤ 4"), (1024.0, "u3", "≤ 1024"))
ULP_CLASS_TOP = ("u4", "> 1024, or not finite")
# An output of the wrong class has no ULP error (suite.numerics.ulp.Failure, keyed as a run file's
# ``stats.failures`` keys it): what each is called where a cell has room for a word or two.
WRONG_CLASS_WORDS = {
    "nan_expected": "not NaN",
    "unexpected_nan": "NaN",
    "wrong_infinity": "not the exact inf",
    "spurious_infinity": "±inf",
    "zero_sign": "zero of the wrong sign",
}


def default_parameters(beta: float, threshold: float) -> bool:
    """Are these softplus's default parameters: beta = 1 with torch's threshold 20, or with none
    at all (+inf: a function without parameters, the same function below torch's threshold)?"""
    return beta == 1 and threshold in (20.0, math.inf)


def ordered(values, preferred) -> list:
    return sorted(set(values), key=lambda v: (preferred.index(v) if v in preferred else len(preferred), str(v)))


def fmt_ulp(value) -> str:
    """A ULP error for display: 6 significant digits (exponent form below 0.001 and from 10^6)."""
    v = as_float(value)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return repr(v)
    if v < 1e-3 or v >= 1e6:
        return f"{v:.3e}"
    return f"{v:.6g}"


def fmt_rate(rate: float) -> str:
    """A rate as a percentage that never shows 100% unless it is exactly 1."""
    if rate >= 1:
        return "100%"
    text = f"{rate * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text}%" if text != "100" else ">99.9999%"


def ulp_class(value) -> str:
    """CSS class for a max ULP error (see ULP_CLASSES)."""
    v = as_float(value)
    for bound, name, _ in ULP_CLASSES:
        if v <= bound:
            return name
    return ULP_CLASS_TOP[0]


def config_label(config: dict) -> str:
    """The configuration without its dtype: target, device, parameters, path, quantity."""
    return config["id"].replace(f"-{config['dtype']}-", "-", 1)


def excusing_deviations(config: dict, oracle: str = "documented") -> list[str]:
    """Ids of the known deviations, in force here, whose region holds this oracle's largest error
    (where no budget applies, the regions that hold it: nothing was judged)."""
    worst = as_float(config["stats"][oracle]["max_ulp"])
    ids = []
    for dev in config["known_deviations"]:
        in_force = dev["property"] == f"accuracy ({oracle})" and dev["status"] in ("holds", "unjudged")
        if in_force and dev["measured_max_ulp"] is not None and as_float(dev["measured_max_ulp"]) >= worst:
            ids.append(dev["id"])
    return ids


def wrong_class_outputs(config: dict, oracle: str = "documented") -> dict[str, int]:
    """This oracle's outputs of the wrong class (NaN where the exact value is a number, an infinity
    where its rounding is finite, ...: no ULP error measures them, so a maximum ULP error never
    shows them), by class; only the classes that occurred."""
    return {name: count for name, count in config["stats"][oracle]["failures"].items() if count}


def wrong_class_words(counts: dict[str, int]) -> str:
    """'1,131 ±inf', '181 NaN, 2 zero of the wrong sign'; '' where there are none."""
    return ", ".join(f"{count:,} {WRONG_CLASS_WORDS.get(name, name)}" for name, count in counts.items())


def excusing_wrong_class(config: dict, oracle: str = "documented") -> list[str]:
    """Ids of the known deviations, in force here, that excused this oracle's outputs of the wrong
    class; empty where there are none, or where not all of them were excused (the accuracy
    property then failed on them)."""
    accuracy = [p for p in config["properties"] if p["name"] == f"accuracy ({oracle})"]
    if not wrong_class_outputs(config, oracle) or not all(p["passed"] for p in accuracy):
        return []
    return [
        dev["id"]
        for dev in config["known_deviations"]
        if dev["property"] == f"accuracy ({oracle})" and dev["status"] == "holds" and dev.get("wrong_class_in_region")
    ]


def unexcused_wrong_class_count(config: dict, oracle: str = "documented") -> int:
    """How many of this oracle's outputs of the wrong class no known deviation excused: all of them
    less those inside the regions of the deviations that hold (each output is counted in the first
    such region only, so nothing is taken away twice)."""
    total = sum(wrong_class_outputs(config, oracle).values())
    excused = sum(
        dev.get("wrong_class_in_region") or 0
        for dev in config["known_deviations"]
        if dev["property"] == f"accuracy ({oracle})" and dev["status"] in ("holds", "fixed")
    )
    return max(total - excused, 0)


def wrong_class_totals(configs: list[dict]) -> tuple[dict[str, int], int, list[str]]:
    """The configurations' outputs of the wrong class (documented oracle) summed by class, how many
    of them no known deviation excused, and the ids of the deviations that excused the others."""
    wrong: dict[str, int] = defaultdict(int)
    unexcused, excusing = 0, set()
    for config in configs:
        for name, n in wrong_class_outputs(config).items():
            wrong[name] += n
        excusing.update(excusing_wrong_class(config))
        unexcused += unexcused_wrong_class_count(config)
    return dict(wrong), unexcused, sorted(excusing)


WRONG_CLASS_EXPECTED = "same class as the exact value"
"""How an accuracy counterexample of the wrong class begins its ``expected`` (the budget judges it)."""


def unexcused_wrong_class(run: dict) -> dict | None:
    """The first configuration whose budget (documented oracle) fails on an output of the wrong
    class, which no ULP error measures and so no largest error shows: ``config``, how many no known
    deviation excuses, in words (``words``: '9,844 ±inf', or '2 (of 1 NaN, 181 ±inf; the rest inside
    known deviations)'), and the first of them (``first``: x, output, expected, reproducer; the audit
    records it among the property's counterexamples); None where there is none."""
    for config in run["configurations"]:
        for prop in config["properties"]:
            if prop["name"] != "accuracy (documented)" or prop["passed"]:
                continue
            for example in prop["counterexamples"]:
                if example["expected"].startswith(WRONG_CLASS_EXPECTED):
                    counts, unexcused = wrong_class_outputs(config), unexcused_wrong_class_count(config)
                    words = wrong_class_words(counts)
                    if unexcused != sum(counts.values()):
                        words = f"{unexcused:,} (of {words}; the rest inside known deviations)"
                    return {"config": config, "words": words, "first": example}
    return None


def wrong_class_summary(run: dict) -> str:
    """The run's outputs of the wrong class (documented oracle) in one line, by class, and whether
    known deviations excuse them all: 'outputs of the wrong class (no ULP error measures them):
    5,340 ±inf, 5,340 NaN; all inside known deviations'; '' where there are none."""
    wrong, unexcused, _ = wrong_class_totals(run["configurations"])
    if not wrong:
        return ""
    where = f"{unexcused:,} outside known deviations" if unexcused else "all inside known deviations"
    return f"outputs of the wrong class (no ULP error measures them): {wrong_class_words(wrong)}; {where}"


def dtype_quantity_table(run: dict) -> list[dict]:
    """One row per (dtype, quantity): worst max ULP per oracle over the configurations, the
    configuration holding it, the pooled correctly rounded rate (all outputs measured), and the
    outputs of the wrong class (documented oracle; summed over the configurations, by class) with
    the deviations that excused them."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for index, config in enumerate(run["configurations"]):
        groups[(config["dtype"], config["quantity"])].append({**config, "_index": index})
    rows = []
    dtypes = ordered((d for d, _ in groups), DTYPE_ORDER)
    quantities = ordered((q for _, q in groups), QUANTITY_ORDER)
    for dtype in dtypes:
        for quantity in quantities:
            configs = groups.get((dtype, quantity))
            if not configs:
                continue
            row = {"dtype": dtype, "quantity": quantity, "configurations": len(configs)}
            row["failing"] = sum(1 for c in configs if c["verdict"] == "fail")  # "no budget" is not a failure
            for oracle in ORACLES:
                worst = max(configs, key=lambda c, o=oracle: as_float(c["stats"][o]["max_ulp"]))
                row[f"max_{oracle}"] = as_float(worst["stats"][oracle]["max_ulp"])
                row[f"worst_{oracle}"] = worst
            doc = [c["stats"]["documented"] for c in configs]
            count = sum(s["count"] for s in doc)
            row["outputs"] = count
            row["correctly_rounded_rate"] = sum(s["correctly_rounded"] for s in doc) / count if count else 1.0
            row["exhaustive"] = all(s["exhaustive"] for s in doc)
            row["excused"] = excusing_deviations(row["worst_documented"])
            row["outside"] = largest_outside(configs)
            row["wrong_class"], unexcused, excusing = wrong_class_totals(configs)
            # marked as excused only where every configuration's were: a failing one is not
            row["wrong_class_excused"] = [] if unexcused else excusing
            rows.append(row)
    return rows


def outside_worst(config: dict, oracle: str = "documented") -> dict | None:
    """The input with the configuration's largest error outside every known deviation, which its
    budget judges, as the run file records it; None where the file predates the record or nothing
    lies outside."""
    return ((config.get("outside_deviations") or {}).get(oracle) or {}).get("worst")


def outside_max(config: dict, oracle: str = "documented") -> float | None:
    """The configuration's largest error outside every known deviation (ULPs); None as
    :func:`outside_worst`."""
    worst = outside_worst(config, oracle)
    return None if worst is None else as_float(worst["ulp_error"])


def largest_outside(configs: list[dict], oracle: str = "documented") -> dict | None:
    """The largest error outside every known deviation over ``configs`` (``max_ulp``, ULPs), with
    its configuration (``config``): what their budgets judge. None where a configuration's record
    is missing (a file that predates it) or nothing lies outside."""
    if not configs or not all("outside_deviations" in c for c in configs):
        return None
    found = [(c, outside_max(c, oracle)) for c in configs]
    found = [(c, m) for c, m in found if m is not None]
    if not found:
        return None
    config, largest = max(found, key=lambda cm: cm[1])
    return {"max_ulp": largest, "config": config}


def failing_parameter_cases(run: dict) -> list[dict]:
    """The parameter edge cases (beta and threshold outside the usual range) whose verdict is not
    *pass*, as the run recorded them; none in a run file that predates them."""
    return [case for case in run.get("parameter_cases") or [] if case["verdict"] != "pass"]


def parameter_case_words(case: dict) -> str:
    """A parameter case in one line: 'mypkg:fn, beta=-1 (threshold 20.0): returned 123.0, ...; x=-50.0:
    got 123.0, meaning -50.0 …' (the first reason only; the reports' table has them all)."""
    reasons = (case.get("why") or "").split("; ")
    why = f"; {reasons[0]}{' …' if len(reasons) > 1 else ''}" if reasons[0] else ""
    return f"{case['target']}, {case['case']} (threshold {case['threshold']}): {case['outcome']}{why}"


def failing_words(run: dict) -> str:
    """'2 configurations, 0 failing, 1 parameter case failing': the run's size and what failed."""
    summary = run["summary"]
    count = summary["configurations"]
    text = f"{count} configuration{'s' if count != 1 else ''}, {len(summary['failing_configurations'])} failing"
    cases = len(failing_parameter_cases(run))
    return text + (f", {cases} parameter case{'s' if cases != 1 else ''} failing" if cases else "")


def failing_properties(run: dict) -> list[dict]:
    """Every failed property of every configuration, with its first counterexample (or None)."""
    out = []
    for index, config in enumerate(run["configurations"]):
        for prop in config["properties"]:
            if not prop["passed"] and prop.get("verdict") != "no budget":
                first = prop["counterexamples"][0] if prop["counterexamples"] else None
                out.append({"config": config, "index": index, "property": prop, "first": first})
    return out


def relative_error(worst: dict) -> str | None:
    """|y − v| / |v| of a worst case (from its float64 values: for reading, not for judging), which
    a reader can weigh where a ULP count is huge; None where it has no meaning (v = 0, not finite)."""
    exact, output = as_float(worst["exact"]), as_float(worst["output"])
    if not (math.isfinite(exact) and math.isfinite(output)) or exact == 0:
        return None
    return f"{abs(output - exact) / abs(exact):.3g}"


def whole_range_ulp(dtype: str) -> float:
    """2^p ULPs of a format: an error that large is a total loss of its significand (a bound at least
    that large accepts any error)."""
    from suite.numerics.formats import format_named

    try:
        return 2.0 ** format_named(dtype).precision
    except ValueError:
        return math.inf


def deviation_status(group: dict) -> str:
    """A deviation's status in words: grown, holds, or, where its bound spans the format's whole
    range, 'no bound: any error accepted here'; where it excused outputs of the wrong class (NaN,
    an infinity, a zero's sign: no ULP bound measures them), it says how many went unbounded."""
    if group["grown"]:
        return "grown"
    if group.get("accepts_any"):
        return "no bound: any error accepted here"
    wrong = group.get("wrong_class") or 0
    if wrong:
        return f"holds for finite errors; no bound on {wrong:,} of the wrong class (NaN, inf, signed zero)"
    return "holds"


def deviations_in_force(run: dict) -> list[dict]:
    """Known deviations that excuse at least one violation in this run (status 'holds') or that
    have grown beyond their recorded bound (status 'grown'), grouped by deviation id."""
    groups: dict[str, dict] = {}
    for config in run["configurations"]:
        for dev in config["known_deviations"]:
            if dev["status"] not in ("holds", "grown"):
                continue
            g = groups.setdefault(
                dev["id"],
                {
                    "id": dev["id"],
                    "reason": dev["reason"],
                    "dtypes": set(),
                    "properties": set(),
                    "configurations": set(),
                    "violations": 0,
                    "measured_max_ulp": None,
                    "bound": None,
                    "grown": False,
                    "accepts_any": True,  # every bound spans its format's whole range (or there is none)
                    # excused outputs no ULP bound measures (NaN, inf, a zero's sign), per configuration:
                    # both oracles see the same ones, so each output counts once
                    "wrong_class_by_config": {},
                },
            )
            g["dtypes"].add(dev["dtype"])
            g["properties"].add(dev["property"])
            g["configurations"].add(config["id"])
            g["violations"] += dev["violations_in_region"]
            wrong = g["wrong_class_by_config"]
            wrong[config["id"]] = max(wrong.get(config["id"], 0), dev.get("wrong_class_in_region") or 0)
            g["grown"] = g["grown"] or dev["status"] == "grown"
            bound = as_float(dev["max_ulp"]) if dev["max_ulp"] is not None else None
            g["accepts_any"] = g["accepts_any"] and bound is not None and bound >= whole_range_ulp(dev["dtype"])
            for key, field in (("measured_max_ulp", "measured_max_ulp"), ("bound", "max_ulp")):
                if dev[field] is not None:
                    value = as_float(dev[field])
                    g[key] = value if g[key] is None else max(g[key], value)
    out = []
    for g in groups.values():
        g["dtypes"] = ordered(g["dtypes"], DTYPE_ORDER)
        g["properties"] = sorted(g["properties"])
        g["configurations"] = len(g["configurations"])
        g["wrong_class"] = sum(g.pop("wrong_class_by_config").values())
        out.append(g)
    return sorted(out, key=lambda g: (not g["grown"], g["id"]))


def not_audited(run: dict) -> list[tuple[str, str]]:
    """What this run did not audit, and why: absent devices, and what its settings left out of the
    default audit (dtypes, quantities, targets, grid points)."""
    out = [(what, why) for what, why in run["not_audited"].items()]
    settings = run["settings"]
    left_out = [
        ("dtypes", [d for d in DTYPE_ORDER if d not in settings["dtypes"]]),
        ("quantities", [q for q in QUANTITY_ORDER if q not in settings["quantities"]]),
    ]
    for what, missing in left_out:
        if missing:
            out.append((", ".join(missing), f"not selected: this run's {what} were {', '.join(settings[what])}"))
    defaults = run.get("defaults", {"targets": [], "grid": []})  # recorded by the run (format 1 files may lack it)
    targets = [t for t in defaults["targets"] if t not in settings["targets"]]
    if targets:
        out.append((", ".join(targets), f"not selected: this run's targets were {', '.join(settings['targets'])}"))
    grid = {tuple(as_float(v) for v in pair) for pair in settings["grid"]}
    default_grid = [tuple(as_float(v) for v in pair) for pair in defaults["grid"]]
    missing_grid = [f"beta={b:g}, threshold={t:g}" for b, t in default_grid if (b, t) not in grid]
    if missing_grid:
        out.append(("; ".join(missing_grid), "default (beta, threshold) pairs not in this run's grid"))
    return out


def worst_case(run: dict, outside_deviations: bool = False) -> dict | None:
    """The configuration with the largest error (documented oracle), its index, worst input and
    that error (``max_ulp``); with ``outside_deviations``, the largest error outside every known
    deviation that excuses it, where the budget judges it. A run file that predates those
    records (``outside_deviations``) gives, instead, the largest error of the configurations whose
    largest error no known deviation holds."""
    configs = list(enumerate(run["configurations"]))
    if outside_deviations and configs and all("outside_deviations" in c for _, c in configs):
        largest = largest_outside(run["configurations"])
        if largest is None:
            return None
        config = largest["config"]
        index = next(i for i, c in configs if c is config)
        return {"config": config, "index": index, "worst": outside_worst(config), "excused": [], **largest}
    candidates = [(i, c) for i, c in configs if not (outside_deviations and excusing_deviations(c))]
    if not candidates:
        return None
    index, config = max(candidates, key=lambda ic: as_float(ic[1]["stats"]["documented"]["max_ulp"]))
    excused = excusing_deviations(config)
    return {
        "config": config,
        "index": index,
        "worst": config["stats"]["documented"]["worst"],
        "excused": excused,
        "excused_bound": excused_bound(config, excused),
        "max_ulp": config["stats"]["documented"]["max_ulp"],
    }


def excused_bound(config: dict, ids: list[str], oracle: str = "documented") -> float | None:
    """The largest accuracy bound (ULPs) the known deviations ``ids`` record for ``config`` under
    ``oracle``; None where there is none, or where each spans the format's whole range (any error
    is accepted there, :func:`whole_range_ulp`)."""
    bounds = [
        as_float(dev["max_ulp"])
        for dev in config["known_deviations"]
        if dev["id"] in ids and dev["property"] == f"accuracy ({oracle})" and dev["max_ulp"] is not None
    ]
    if not bounds or all(b >= whole_range_ulp(config["dtype"]) for b in bounds):
        return None
    return max(bounds)


def anchor(config_id: str) -> str:
    """The page anchor of a configuration, derived from its id (so links survive another grid)."""
    return "cfg-" + re.sub(r"\s+", "-", config_id)


def measurement_key(config: dict) -> str:
    """What a configuration measured, whatever the target: its parameters, path and quantity, and
    every statistic, property verdict and count, deviation check, search result and path comparison
    (reproducers, which name the target, left out). Equal keys: identical measurements."""

    def without_reproducers(value):
        if isinstance(value, dict):
            return {k: without_reproducers(v) for k, v in value.items() if k != "reproducer"}
        if isinstance(value, list):
            return [without_reproducers(v) for v in value]
        return value

    fields = ("device", "dtype", "beta", "threshold", "path", "quantity", "stats", "properties")
    fields += ("known_deviations", "hypothesis_search", "path_disagreement", "zeros")
    return json.dumps(without_reproducers({k: config.get(k) for k in fields}), sort_keys=True)


def budget_phrase(config: dict, oracle: str = "documented", measured=None) -> str:
    """The configuration's budget and headroom in words: "budget 2 ULP, headroom 0.31", "no budget
    applies" (run files written before budgets were recorded say nothing); the headroom above
    ``measured`` (ULPs; default: the configuration's largest error)."""
    budgets = config.get("budgets")
    if budgets is None:
        return ""
    budget = budgets.get(oracle)
    if budget is None:
        return no_budget_words(config, oracle)
    measured = as_float(config["stats"][oracle]["max_ulp"] if measured is None else measured)
    text = f"budget {fmt_ulp(budget)} ULP, {_headroom(budget, measured)}"
    swept = (config.get("every_input") or {}).get(oracle)
    if swept:  # the sample's maximum may not be the format's: say what every input gave
        text += f"; on every input {fmt_ulp(swept['max_ulp'])} ULP at x = {swept['x_bits']}, "
        text += _headroom(budget, swept["max_ulp"])
    sampled = (config.get("sweep_sample") or {}).get(oracle)
    if sampled:  # float64: a sweep's larger sample, no bound on every input either
        text += f"; on a sweep's sample of {sampled['inputs']:,} inputs {fmt_ulp(sampled['max_ulp'])} ULP at x = "
        text += f"{sampled['x_bits']}, " + _headroom(budget, sampled["max_ulp"])
    return text


def _headroom(budget: float, measured: float) -> str:
    headroom = budget - measured
    return f"headroom {fmt_ulp(headroom)}" if headroom >= 0 else f"over it by {fmt_ulp(-headroom)}"


def no_budget_words(config: dict, oracle: str) -> str:
    """Why no budget applies to an oracle's accuracy here, as the property's detail says before what
    it measured: "no budget recorded for cuda" where the budget file records none for the device,
    "no budget above beta 100 (why)" beyond a rule's reach; else "no budget applies"."""
    for prop in config.get("properties", []):
        detail = prop.get("detail", "")
        if (
            prop.get("verdict") == "no budget"
            and oracle in prop["name"]
            and detail.startswith(("no budget recorded for ", "no budget above beta "))
        ):
            return detail.split(": measured ", 1)[0]
    return "no budget applies"


def terminal_summary(run: dict, files: list[str]) -> list[str]:
    """What a run's last lines on a terminal say: the verdict, the largest error outside known
    deviations with its budget, the outputs of the wrong class (NaN, ±inf, a zero's sign), each
    failing property with a reproducer, each failing parameter case, and where the reports are."""
    lines = [f"softplus-audit: {run['verdict'].upper()}: {failing_words(run)}"]
    wrong_lead = unexcused_wrong_class(run)
    if wrong_lead:
        first = wrong_lead["first"]
        lines.append(
            f"outputs of the wrong class fail the budget: {wrong_lead['words']} in {wrong_lead['config']['id']}, "
            f"the first outside known deviations at x = {first['x_bits']} (output {first['output']['repr']})"
        )
    worst = worst_case(run, outside_deviations=True)
    if worst and worst["worst"]:
        config, w = worst["config"], worst["worst"]
        within = budget_phrase(config, measured=worst["max_ulp"]) or "budget not recorded"
        lines.append(
            f"largest {'finite ' if wrong_lead else ''}error outside known deviations: {fmt_ulp(worst['max_ulp'])} ULP "
            f"({within}) in {config['id']} at x = {w['x_bits']} ({as_float(w['x'])!r})"
        )
    wrong = wrong_class_summary(run)
    if wrong:
        lines.append(wrong)
    failing_all = failing_properties(run)
    for number, failing in enumerate(failing_all[:10]):
        prop, first = failing["property"], failing["first"]
        where = f" at x = {first['x_bits']}" if first else ""
        lines.append(f"FAILED {failing['config']['id']}: {prop['name']} ({prop['violations']} inputs){where}")
        if first and number < 3:  # a reproducer for the first few: the reports have every one
            lines += ["    " + line for line in first["reproducer"].splitlines()]
    unjudged = [(c["id"], p) for c in run["configurations"] for p in c["properties"] if p.get("verdict") == "no budget"]
    for cid, prop in unjudged[:10]:
        lines.append(f"NO BUDGET {cid}: {prop['name']}: {prop['detail']}")
    if len(unjudged) > 10:
        lines.append(f"… and {len(unjudged) - 10} more accuracy properties without a budget")
    if len(failing_all) > 10:
        lines.append(f"… and {len(failing_all) - 10} more failing properties (see the reports)")
    lines += [f"FAILED parameter case {parameter_case_words(case)}" for case in failing_parameter_cases(run)]
    lines.append("reports: " + ", ".join(files))
    return lines


def environment_line(run: dict) -> str:
    """torch version, CPU capability and CPU (and the rest that makes a run reproducible)."""
    env = run["environment"]
    parts = [
        f"torch {env['torch']}",
        f"CPU capability {env['aten_cpu_capability']}"
        + (f" (ATEN_CPU_CAPABILITY={env['ATEN_CPU_CAPABILITY']})" if env.get("ATEN_CPU_CAPABILITY") else ""),
        f"CPU {env['cpu']}",
    ]
    if env.get("cuda_devices"):
        devices = ", ".join(_cuda_device_words(d) for d in env["cuda_devices"])
        parts.append(" ".join(p for p in ("CUDA", env.get("torch_cuda_build"), devices) if p))
    parts += [f"Python {env['python']}", f"softplus-audit {env['softplus_audit']}"]
    return " · ".join(parts)


def _cuda_device_words(device: dict) -> str:
    """A CUDA device as a report names it: name, compute capability and driver where recorded."""
    details = []
    if device.get("capability"):
        details.append(f"compute capability {device['capability']}")
    if device.get("driver"):
        details.append(f"driver {device['driver']}")
    return device["name"] + (f" ({', '.join(details)})" if details else "")


def reference_command(config: dict, worst: dict, oracle: str = "documented") -> str:
    """The ``softplus-audit reference`` command that recomputes a worst input's exact value and
    correct rounding, and the output's error in ULPs, independently of the run or sweep: the input
    as its bits, the documented parameters (which the command casts as the kernel does, as the audit
    and the sweep do), the oracle, and the output as an exact hex float. ``config``: a run's
    configuration or a sweep's spec (both name quantity, dtype, beta and threshold)."""
    beta, threshold, output = (as_float(v) for v in (config["beta"], config["threshold"], worst["output"]))
    return (
        f"softplus-audit reference {config['quantity']} {worst['x_bits']} --dtype {config['dtype']} "
        f"--beta {beta!r} --threshold {threshold!r} --oracle {oracle} --output {output.hex()}"
    )


def reproducer(worst: dict) -> str:
    """The snippet the run recorded for a worst case (runs written before reproducers were
    recorded for worst cases have none: say so)."""
    return worst.get("reproducer") or "(this run file records no reproducer for this input)"
