"""The seed article's claims about softplus, checked against what the run measured.

Each claim says what is mathematically true, what the reference computes (mpmath, exact:
*computed*, not a measurement of torch) and what the run *measured* (property results, or an
output torch returned). ULP errors are ULPs of the output format, relative to the exact value.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from suite.report.load import as_float
from suite.report.model import DTYPE_ORDER, fmt_ulp

PREFERRED_TARGET = "torch.nn.functional:softplus"


def _underflow_x(dtype: str) -> float | None:
    """The x below which e^x (≈ softplus(x) ≈ sigmoid(x), beta = 1) rounds to 0 in ``dtype``:
    e^x < 2^(emin - p), half the smallest subnormal."""
    from suite.numerics.formats import format_named

    try:
        fmt = format_named(dtype)
    except ValueError:
        return None
    return (fmt.emin - fmt.precision) * math.log(2.0)


def _positivity(run: dict, quantity: str) -> dict:
    configs = [c for c in run["configurations"] if c["quantity"] == quantity]
    results = [p for c in configs for p in c["properties"] if p["name"] == "positivity"]
    excused = [
        (c["id"], d)
        for c in configs
        for d in c["known_deviations"]
        if d["property"] == "positivity" and d["status"] in ("holds", "grown") and d["violations_in_region"]
    ]
    return {
        "configurations": len(configs),
        "checked": len(results),
        "passed": sum(1 for p in results if p["passed"]),
        "violations": sum(p["violations"] for p in results),
        "excused_outputs": sum(d["violations_in_region"] for _, d in excused),
        "excused_configurations": len({cid for cid, _ in excused}),
        "excused_ids": sorted({d["id"] for _, d in excused}),
    }


def _never_zero(run: dict, quantity: str, claim: str, name: str) -> dict:
    dtypes = [d for d in DTYPE_ORDER if d in {c["dtype"] for c in run["configurations"]}]
    edges = [f"{d} below x ≈ {_underflow_x(d):.4g}" for d in dtypes if _underflow_x(d) is not None]
    computed = (
        f"True of the real function ({name} > 0 for every x), not of its floating-point value: with beta = 1 "
        f"the exact {name} is below half the smallest subnormal, and so correctly rounds to 0, "
        + ("; ".join(edges) if edges else "far enough left")
        + " (x/beta for other betas)."
    )
    pos = _positivity(run, quantity)
    if not pos["checked"]:
        return {
            "claim": claim,
            "computed": computed,
            "measured": f"not audited: no {quantity} configuration in this run.",
            "status": "not audited",
        }
    measured = (
        f"positivity ({name} > 0 wherever its correct rounding is > 0, and ≥ 0 everywhere): passed in "
        f"{pos['passed']} of {pos['checked']} {quantity} configurations"
    )
    if pos["violations"]:
        measured += f"; {pos['violations']} output(s) break it"
    if pos["excused_outputs"]:
        measured += (
            f"; {pos['excused_outputs']} output(s) in {pos['excused_configurations']} configuration(s) are 0 "
            f"(or not positive) although the correct rounding is positive, excused as known deviation(s) "
            f"{', '.join(pos['excused_ids'])}"
        )
    if pos["passed"] < pos["checked"]:
        status = f"fails: torch returns 0 (or less) where the correctly rounded {name} is positive"
    elif pos["excused_outputs"]:
        status = "true of the real function; torch also returns premature zeros (known deviations)"
    else:
        status = "true of the real function; in floating point, 0 only where the exact value underflows"
    return {"claim": claim, "computed": computed, "measured": measured + ".", "status": status}


def _reference_config(run: dict, dtype: str) -> dict | None:
    """The forward, beta = 1, threshold = 20 configuration of ``dtype`` (F.softplus, simd first)."""
    candidates = [
        c
        for c in run["configurations"]
        if c["dtype"] == dtype and c["quantity"] == "forward" and c["beta"] == 1.0 and c["threshold"] == 20.0
    ]
    candidates.sort(key=lambda c: (c["target"] != PREFERRED_TARGET, c["path"] != "simd"))
    return candidates[0] if candidates else None


def _measured_at(run: dict, x: float) -> tuple[float, str] | None:
    """torch's float32 output at ``x`` (beta = 1) if the run recorded one: the parameter cases
    threshold=nan / threshold=inf evaluate softplus at their recorded ``inputs`` on float32 tensors,
    where no threshold shortcut applies (for |x| < 20 the same function as the default threshold)."""
    if abs(x) >= 20:
        return None
    cases = sorted(
        (c for c in run["parameter_cases"] if c["case"] in ("threshold=nan", "threshold=inf")),
        key=lambda c: c["target"] != PREFERRED_TARGET,
    )
    for case in cases:
        inputs = [as_float(v) for v in case.get("inputs", [])]
        if x not in inputs or not case["outcome"].startswith("returned "):
            continue
        try:
            values = [float(v) for v in case["outcome"][len("returned ") :].split(", ")]
        except ValueError:
            continue
        if len(values) == len(inputs):
            source = f"{case['target']} on a float32 tensor, from the parameter case {case['case']}"
            return values[inputs.index(x)], source
    return None


def _ulp_error_float32(y: float, exact: str) -> float:
    """|y − v| in ULPs of float32 at the exact ``v`` (given to 25 digits: far beyond float32's 24 bits)."""
    v = Fraction(exact)
    if v == 0:
        return math.inf if y else 0.0
    e = math.floor(math.log2(abs(v)))
    ulp = Fraction(2) ** (max(e, -126) - 23)
    return float(abs(Fraction(y) - v) / ulp)


def _value_claim(run: dict, x: float, claimed: str, digits: int) -> dict:
    point = next((p for p in run.get("reference_points", []) if as_float(p["x"]) == x), None)
    if point is None:
        return {
            "claim": f"softplus({x:g}) ≈ {claimed}",
            "computed": "not recorded in this run file (written by an older softplus-audit)",
            "measured": "not recorded in this run file.",
            "status": "not audited",
        }
    exact = point["exact"]
    rounded = [f"{d} {as_float(v)!r}" for d, v in point["correctly_rounded"].items()]
    computed = (
        f"exact softplus({x:g}) = {Decimal(exact):.20g}… (mpmath); correctly rounded: " + ", ".join(rounded) + "."
    )
    holds = round(float(exact), digits) == float(claimed)
    dtypes = [d for d in DTYPE_ORDER if d in {c["dtype"] for c in run["configurations"]}] or ["float32"]
    measured_parts = []
    got = _measured_at(run, x)
    if got is not None:
        y, source = got
        err = _ulp_error_float32(y, exact)
        measured_parts.append(f"torch returned {y!r} ({source}): {fmt_ulp(err)} ULP of float32 from the exact value")
    for dtype in dtypes:
        config = _reference_config(run, dtype)
        if config is None:
            continue
        stats = config["stats"]["documented"]
        worst = fmt_ulp(stats["max_ulp"])
        if stats["exhaustive"]:
            measured_parts.append(
                f"{dtype}: every input checked, x = {x:g} included, max error {worst} ULP ({config['id']})"
            )
        else:
            measured_parts.append(
                f"{dtype}: sampled ({stats['count']} inputs; the run does not record whether x = {x:g} was one), "
                f"max error {worst} ULP ({config['id']})"
            )
    measured = (
        "; ".join(measured_parts) + "."
        if measured_parts
        else "not audited in this run (no forward beta = 1, threshold = 20 configuration)."
    )
    return {
        "claim": f"softplus({x:g}) ≈ {claimed}",
        "computed": computed,
        "measured": measured,
        "status": "holds" if holds else "does not hold",
    }


def seed_claims(run: dict) -> list[dict]:
    """The claims, each with ``claim``, ``computed`` (the reference), ``measured`` (this run) and ``status``."""
    return [
        _never_zero(run, "forward", "softplus is never zero", "softplus"),
        _never_zero(run, "grad", "its gradient (sigmoid) is never zero", "sigmoid"),
        _value_claim(run, -2.0, "0.13", 2),
        _value_claim(run, 5.0, "5.0067", 4),
    ]


__all__ = ["as_float", "seed_claims"]
