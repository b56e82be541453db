"""The seed article's claims about softplus, each answered in one word with an example.

Every claim gets a verdict per implementation: *holds* (true of the exact function, and of what the
implementation returned in every audited format and path), *fails in torch* (true of the exact
function, but torch breaks it: where, the input, what it returned and a reproducer; another
implementation's is *fails in* its name, e.g. *fails in jax.nn:softplus*), *does not hold* (false
of the exact function itself), or *not audited* (this run measured nothing that bears on it).
*Computed* is the reference (mpmath, exact), *measured* what the run observed, both read from the
run file. ULP errors are ULPs of the
output format, relative to the exact value.
"""

from __future__ import annotations

import math
from decimal import Decimal

from suite.report.load import as_float
from suite.report.model import DTYPE_ORDER, fmt_ulp

VERDICTS = ("holds", "fails in torch", "does not hold", "not audited")
"""The verdicts of torch's claims; another implementation fails as ``fails in NAME`` (:func:`fails_in`)."""


def fails_in(name: str) -> str:
    """The verdict of a claim that is true of the exact function but broken by ``name``."""
    return f"fails in {name}"


VALUE_CLAIMS = ((0.0, "ln 2 ≈ 0.6931", "0.6931", 4), (-2.0, "0.13", "0.13", 2), (5.0, "5.0067", "5.0067", 4))
"""(x, the claim's words, the claimed value, its decimal places)."""


def _claim(claim: str, verdict: str, answer: str, computed: str, measured: str, example: dict | None = None) -> dict:
    """One claim's record (see :func:`seed_claims`)."""
    return {
        "claim": claim,
        "verdict": verdict,
        "answer": answer,
        "computed": computed,
        "measured": measured,
        "example": example,
    }


def _example(where: str, x: float, measured: dict) -> dict:
    """The example of a value claim: one measurement at ``x`` with its reproducer and configuration."""
    return {
        "where": where,
        "x_bits": None,
        "x": {"repr": repr(x)},
        "output": measured["output"],
        "reproducer": measured["reproducer"],
        "config_id": measured["config_id"],
    }


def _underflow_x(dtype: str) -> float | None:
    """The x below which e^x (≈ softplus(x) ≈ sigmoid(x), beta = 1) rounds to 0 in ``dtype``:
    e^x < 2^(emin - p), half the smallest subnormal."""
    from suite.numerics.formats import format_named

    try:
        fmt = format_named(dtype)
    except ValueError:
        return None
    return (fmt.emin - fmt.precision) * math.log(2.0)


def _never_zero(run: dict, quantity: str, claim: str, name: str, who: str = "torch") -> dict:
    configs = [c for c in run["configurations"] if c["quantity"] == quantity]
    dtypes = [d for d in DTYPE_ORDER if d in {c["dtype"] for c in configs}]
    edges = [f"{d} below x ≈ {_underflow_x(d):.4g}" for d in dtypes if _underflow_x(d) is not None]
    computed = (
        f"True of the real function ({name} > 0 for every x). In floating point the exact {name} itself rounds "
        "to 0 where it is below half the smallest subnormal (beta = 1: " + ("; ".join(edges) or "far left") + "): "
        "a 0 there is correct, not a failure."
    )
    recorded = [c for c in configs if c.get("zeros") is not None]
    if not recorded:
        measured = f"no {quantity} configuration in this run" if not configs else "not recorded in this run file"
        return _claim(claim, "not audited", measured, computed, measured)
    zero = [c for c in recorded if c["zeros"]["premature"]]
    nans = [c for c in recorded if c["zeros"]["nan"]]
    total = sum(c["zeros"]["premature"] for c in zero)
    measured = (
        f"{total} output(s) exactly 0 where the correctly rounded {name} is positive, in {len(zero)} of "
        f"{len(recorded)} {quantity} configurations"
    )
    if nans:
        measured += (
            f"; {sum(c['zeros']['nan'] for c in nans)} NaN output(s) in {len(nans)} configuration(s) "
            f"(e.g. {nans[0]['id']}), which are not zeros (see the accuracy and special-value checks)"
        )
    if not zero:
        answer = f"{who}'s {name} is never 0 where the correctly rounded value is positive"
        return _claim(claim, "holds", answer, computed, measured + ".")
    first = zero[0]
    example = dict(first["zeros"]["example"])
    example.update(where=first["id"], config_id=first["id"])
    answer = f"{who} returns 0 where the correctly rounded {name} is positive: {first['id']} at x = {example['x_bits']}"
    return _claim(claim, fails_in(who), answer, computed, measured + ".", example)


def _value_claim(run: dict, x: float, words: str, claimed: str, places: int, who: str = "torch") -> dict:
    claim = f"softplus({x:g}) = {words}"
    point = next((p for p in run.get("reference_points", []) if as_float(p["x"]) == x), None)
    if point is None or "measured" not in point:
        text = "not recorded in this run file (written by an older softplus-audit)"
        return _claim(claim, "not audited", text, text, text)
    exact = point["exact"]
    rounded = [f"{d} {as_float(v)!r}" for d, v in point["correctly_rounded"].items()]
    computed = f"exact softplus({x:g}) = {Decimal(exact):.20g}…; correctly rounded: " + ", ".join(rounded) + "."
    true = round(Decimal(exact), places) == Decimal(claimed)
    measured = point["measured"]
    unfaithful = [m for m in measured if not m["faithful"]]
    rounded_ok = sum(1 for m in measured if m["correctly_rounded"])
    summary = (
        f"{who} at x = {x:g} itself, in {len(measured)} format/path/implementation combinations: "
        f"{rounded_ok} correctly rounded, {len(measured) - len(unfaithful)} within 1 ULP; largest error "
        + fmt_ulp(max((as_float(m["ulp_error"]) for m in measured), default=0.0))
        + " ULP"
    )
    if not true:
        return _claim(claim, "does not hold", f"the exact value is {Decimal(exact):.8g}", computed, summary + ".")
    if not measured:
        return _claim(claim, "not audited", "no forward configuration was audited", computed, "nothing measured.")
    if unfaithful:
        worst = max(unfaithful, key=lambda m: as_float(m["ulp_error"]))
        where = f"{worst['target']} {worst['device']} {worst['dtype']} {worst['path']}"
        example = _example(where, x, worst)
        answer = f"{who} returns {as_float(worst['output'])!r} ({fmt_ulp(worst['ulp_error'])} ULP off) on {where}"
        return _claim(claim, fails_in(who), answer, computed, summary + ".", example)
    best = measured[0]
    example = _example(f"{best['target']} {best['device']} {best['dtype']} {best['path']}", x, best)
    answer = f"exact {Decimal(exact):.8g}; {who} within 1 ULP in every format and path"
    return _claim(claim, "holds", answer, computed, summary + ".", example)


def seed_claims(run: dict) -> list[dict]:
    """The claims, per implementation: torch's (every torch-evaluated target together), then each
    other implementation's. Each has ``claim``, ``implementation`` (``torch`` or the target),
    ``verdict`` (one of :data:`VERDICTS`, or :func:`fails_in` the implementation), ``answer`` (one
    sentence), ``computed`` (the reference), ``measured`` (this run) and ``example`` (where, the
    input, the output and a reproducer; None where there is nothing to show)."""
    groups: dict[str, set[str]] = {}
    for config in run["configurations"]:
        who = "torch" if config.get("family", "torch") == "torch" else config["target"]
        groups.setdefault(who, set()).add(config["target"])
    if not groups:
        groups["torch"] = set()
    claims = []
    for who, targets in groups.items():
        part = {
            **run,
            "configurations": [c for c in run["configurations"] if c["target"] in targets],
            "reference_points": [
                {**p, "measured": [m for m in p["measured"] if m["target"] in targets]} if "measured" in p else p
                for p in run.get("reference_points", [])
            ],
        }
        found = [
            _never_zero(part, "forward", "softplus is never zero", "softplus", who),
            _never_zero(part, "grad", "its gradient (sigmoid) is never zero", "sigmoid", who),
        ]
        found += [_value_claim(part, x, words, claimed, places, who) for x, words, claimed, places in VALUE_CLAIMS]
        claims += [{**c, "implementation": who} for c in found]
    return claims


__all__ = ["VERDICTS", "as_float", "seed_claims"]
