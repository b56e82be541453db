"""The properties a softplus implementation must have, each a check that can fail.

Every check reads one :class:`Observations` (the inputs, the outputs of the target, and the
reference values and measurements under both oracles) and returns a
:class:`PropertyResult` with the number of inputs it judged, the violations, and up to
``MAX_COUNTEREXAMPLES`` counterexamples with exact inputs (bits in hex).

The accuracy property (ULP budgets, known deviations) lives in :mod:`suite.audit.budgets`; the
ones here need no budget:

* ``positivity``: softplus ≥ 0 everywhere, > 0 wherever its correct rounding is > 0 (no
  premature underflow); the second derivative ≥ 0; the gradient > 0 wherever
  ``sigmoid(b·x)`` rounds to a value > 0 (a gradient that never dies).
* ``bounds``: ``max(0,x) ≤ sp ≤ max(0,x) + ln2/b`` (the upper bound rounded up into the
  format), ``0 ≤ sigmoid ≤ 1``, ``0 ≤ sp'' ≤ b/4`` (rounded up).
* ``monotonicity``: on inputs sorted by value, softplus and its gradient never decrease;
  the second derivative never decreases below 0 and never increases above it.
* ``asymptotes``: ``sp(x) == x`` wherever the exact value rounds to ``x``; far left
  (``e^(bx) < 2^-(p+2)``), the output is ``e^(bx)/b`` within a factor of 2 (no flush to 0).
* ``threshold_rule``: where ``b·x > t`` (product rounded as the kernel does): ``y == x``
  exactly, gradient ``== 1``, second derivative ``== 0``; the jump at the threshold is
  reported.
* ``special_values``: NaN → NaN, +inf → the limit, −inf → +0, ±0 → faithful to ``ln2/b``,
  ``1/2``, ``b/4``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from suite.numerics.fastref import ReferenceValues
from suite.numerics.formats import Format
from suite.numerics.params import ORACLE_ORDER, Oracle, Params, Quantity
from suite.numerics.ulp import Measurements

MAX_COUNTEREXAMPLES = 5


@dataclass(frozen=True)
class Counterexample:
    x: float
    x_bits: str
    output: float
    expected: str  # what the property required, in words with numbers
    # a step between two inputs (monotonicity): the neighbour's (x, output), stepped from
    before: tuple[float, float] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PropertyResult:
    name: str
    passed: bool
    checked: int
    violations: int
    counterexamples: tuple[Counterexample, ...]
    detail: str = ""
    # indices of the violating inputs (not reported; known deviations are matched against them)
    violating: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), compare=False, repr=False)
    # builds the counterexample of input index i (used again once known deviations excuse some)
    describe: object = field(default=None, compare=False, repr=False)
    # an accuracy property no budget applies to: not judged (``passed`` then means only "not
    # failed"); its verdict is "no budget" and ``detail`` says what was measured
    no_budget: bool = False

    @property
    def verdict(self) -> str:
        """``pass``, ``fail`` or ``no budget``."""
        return "no budget" if self.no_budget else ("pass" if self.passed else "fail")


@dataclass(frozen=True)
class Observations:
    """One configuration's inputs, outputs and reference values (arrays of equal length)."""

    fmt: Format
    quantity: Quantity
    params: Params  # as the kernel sees them
    x: np.ndarray
    y: np.ndarray
    math_ref: ReferenceValues
    math_meas: Measurements
    doc_ref: ReferenceValues
    doc_meas: Measurements

    def reference(self, oracle: Oracle) -> ReferenceValues:
        """The reference values under ``oracle``."""
        return self.doc_ref if oracle is Oracle.DOCUMENTED else self.math_ref

    def measurements(self, oracle: Oracle) -> Measurements:
        """The outputs' measurements against ``oracle``."""
        return self.doc_meas if oracle is Oracle.DOCUMENTED else self.math_meas

    @property
    def above_threshold(self) -> np.ndarray:
        """Where the documented rule takes the ``x`` branch (``fl(b·x) > t``, :meth:`Params.product`)."""
        return self.params.above_threshold(self.x)


def recorded_violations(violating: np.ndarray, marked: np.ndarray | None = None) -> np.ndarray:
    """Which violations (indices of inputs, in input order) a property records as counterexamples:
    the first :data:`MAX_COUNTEREXAMPLES`, and where ``marked`` (a mask over the inputs: an accuracy
    property's outputs of the wrong class, which no ULP error shows) marks one of them, the first
    marked one too, in place of the last where it is not among them."""
    first = violating[:MAX_COUNTEREXAMPLES]
    if marked is None or not len(violating):
        return first
    found = violating[marked[violating]]
    if not len(found) or found[0] in first:
        return first
    return np.sort(np.append(first[:-1], found[0]))


def property_result(
    name: str,
    obs: Observations,
    checked: np.ndarray,
    bad: np.ndarray,
    expected,
    detail: str = "",
    before=None,
    marked: np.ndarray | None = None,
) -> PropertyResult:
    """``before``: for a property of steps, the index of the input each violating input ``i``
    stepped from (a callable; None where there is none); ``marked``: see :func:`recorded_violations`."""
    idx = np.flatnonzero(bad & checked)

    def describe(i: int) -> Counterexample:
        x = float(obs.x[i])
        j = before(i) if before is not None else None
        return Counterexample(
            x=x,
            x_bits=obs.fmt.hex_of(x),
            output=float(obs.y[i]),
            expected=expected(i) if callable(expected) else str(expected),
            before=(float(obs.x[j]), float(obs.y[j])) if j is not None else None,
        )

    return PropertyResult(
        name=name,
        passed=len(idx) == 0,
        checked=int(np.count_nonzero(checked)),
        violations=len(idx),
        counterexamples=tuple(describe(int(i)) for i in recorded_violations(idx, marked)),
        detail=detail,
        violating=idx,
        describe=describe,
    )


def _round_up(fmt: Format, values: np.ndarray) -> np.ndarray:
    """Smallest value of ``fmt`` >= each value (values in float64 or long double)."""
    rounded = fmt.round(values)
    below = rounded < values
    if below.any():
        bits = fmt.encode(rounded[below].astype(np.float64))
        rounded = rounded.astype(np.float64)
        rounded[below] = fmt.decode(fmt.next_up(bits))
    return rounded.astype(np.float64)


def positivity(s: Observations) -> PropertyResult:
    finite_in = ~np.isnan(s.x)
    r = s.doc_ref.rounded
    with np.errstate(invalid="ignore"):
        if s.quantity is Quantity.GRAD:
            checked = finite_in & (r > 0)
            bad = ~(s.y > 0)
            return property_result(
                "positivity",
                s,
                checked,
                bad,
                lambda i: f"gradient > 0 (sigmoid(b*x) rounds to {float(r[i])!r})",
                detail="gradient never exactly 0 where sigmoid(b*x) rounds to a positive value",
            )
        checked = finite_in & (r >= 0)
        bad = ~(s.y >= 0) | ((r > 0) & ~(s.y > 0))
    return property_result(
        "positivity", s, checked, bad, lambda i: f"> 0 (correct rounding {float(r[i])!r})" if r[i] > 0 else ">= 0"
    )


def bounds(s: Observations) -> PropertyResult:
    x, y, b = s.x, s.y, s.params.beta
    finite = np.isfinite(x)
    w = np.longdouble
    with np.errstate(invalid="ignore", over="ignore"):
        if s.quantity is Quantity.FORWARD:
            low = np.maximum(x, 0.0)
            # ln2/b in long double, nudged up by far more than its rounding error
            ln2_over_b = w(math.log(2)) / w(b) * (1 + w(2.0**-58))
            high = _round_up(s.fmt, np.maximum(x, 0.0).astype(w) + ln2_over_b)
        elif s.quantity is Quantity.GRAD:
            low, high = np.zeros_like(x), np.ones_like(x)
        else:
            low = np.zeros_like(x)
            high = _round_up(s.fmt, np.full(x.shape, w(b) / 4, dtype=w))
        # the threshold branch returns x: its bounds are the documented ones
        above = s.above_threshold
        low = np.where(above, s.doc_ref.rounded, low)
        high = np.where(above, s.doc_ref.rounded, high)
        bad = ~((y >= low) & (y <= high))
    return property_result("bounds", s, finite, bad, lambda i: f"within [{float(low[i])!r}, {float(high[i])!r}]")


def monotonicity(s: Observations) -> PropertyResult:
    keep = ~np.isnan(s.x)
    order = np.argsort(s.x[keep], kind="stable")
    xs, ys = s.x[keep][order], s.y[keep][order]
    index = np.flatnonzero(keep)[order]
    step = xs[1:] > xs[:-1]  # distinct inputs only (-0 and +0 are one input)
    with np.errstate(invalid="ignore"):
        if s.quantity is Quantity.GRAD2:
            rising = xs[1:] <= 0
            wrong = np.where(rising, ys[1:] < ys[:-1], ys[1:] > ys[:-1])
        else:
            wrong = ys[1:] < ys[:-1]
        wrong |= np.isnan(ys[1:]) | np.isnan(ys[:-1])
    bad = np.zeros(len(s.x), dtype=bool)
    checked = np.zeros(len(s.x), dtype=bool)
    bad[index[1:][step & wrong]] = True
    checked[index[1:][step]] = True
    previous = dict(zip(index[1:].tolist(), index[:-1].tolist(), strict=True))

    def expected(i):
        j = previous.get(i)
        relation = "<=" if s.quantity is not Quantity.GRAD2 or s.x[i] <= 0 else ">="
        return f"y {relation} neighbour's y: f({float(s.x[j])!r}) = {float(s.y[j])!r}" if j is not None else "monotone"

    name = "monotonicity" if s.quantity is not Quantity.GRAD2 else "monotonicity (unimodal)"
    return property_result(name, s, checked, bad, expected, before=previous.get)


def asymptotes(s: Observations) -> PropertyResult:
    x, y, fmt, b = s.x, s.y, s.fmt, s.params.beta
    finite = np.isfinite(x)
    if s.quantity is not Quantity.FORWARD:
        return property_result("asymptotes", s, np.zeros_like(finite), np.zeros_like(finite), "", detail="forward only")
    with np.errstate(invalid="ignore", over="ignore"):
        linear = finite & (s.math_ref.rounded == x) & ~s.above_threshold
        left = finite & (x * b < -(fmt.precision + 2) * math.log(2)) & (s.math_ref.rounded > 0)
        # far left sp = e^(bx)/b * (1 - O(2^-p)): the output must be that, within a factor of 2
        # (no premature flush to 0; the ULP-level accuracy is the accuracy property's business)
        r = s.math_ref.rounded
        off = ~((y >= r / 2) & (y <= 2 * r))
        bad = np.where(linear, y != x, False) | np.where(left, off, False)
    return property_result(
        "asymptotes",
        s,
        linear | left,
        bad,
        lambda i: f"== x = {float(x[i])!r}" if linear[i] else f"within a factor 2 of e^(bx)/b = {float(r[i])!r}",
        detail=f"linear region: {int(linear.sum())} inputs; left tail: {int(left.sum())} inputs",
    )


def threshold_rule(s: Observations) -> PropertyResult:
    above = s.above_threshold & ~np.isnan(s.x)
    want = {Quantity.FORWARD: s.x, Quantity.GRAD: np.ones_like(s.x), Quantity.GRAD2: np.zeros_like(s.x)}[s.quantity]
    bad = (s.y != want) | (np.signbit(s.y) != np.signbit(want))
    detail = ""
    finite = np.isfinite(s.x) & above
    if s.quantity is Quantity.FORWARD and finite.any():
        i = np.flatnonzero(finite)[np.argmin(np.abs(s.x[finite]))]
        detail = (
            f"jump at the threshold: at x = {float(s.x[i])!r} the exact softplus exceeds x by "
            f"{s.math_meas.ulp_error[i]:.4g} ULP of {s.fmt.name}"
        )
    return property_result("threshold_rule", s, above, bad, lambda i: f"== {float(want[i])!r} (b*x > t)", detail=detail)


def special_values(s: Observations) -> PropertyResult:
    special = ~np.isfinite(s.x) | (s.x == 0)
    bad = (s.doc_meas.failure != 0) | ~s.doc_meas.faithful
    return property_result(
        "special_values",
        s,
        special,
        bad,
        lambda i: f"{float(s.doc_ref.rounded[i])!r} (within 1 ULP, same class and sign)",
    )


CHECKS = {
    "positivity": positivity,
    "bounds": bounds,
    "monotonicity": monotonicity,
    "asymptotes": asymptotes,
    "threshold_rule": threshold_rule,
    "special_values": special_values,
}
"""The properties that need no budget, by name (the accuracy properties live in :mod:`suite.audit.budgets`)."""


def accuracy_name(oracle: Oracle) -> str:
    """The accuracy property's name under ``oracle``, e.g. ``accuracy (documented)``."""
    return f"accuracy ({oracle.value})"


PROPERTIES = (*(accuracy_name(o) for o in ORACLE_ORDER), *CHECKS)
"""Every property the audit judges, one test each: the one list of property names."""

VARIANTS = {"monotonicity": ("monotonicity (unimodal)",)}
"""Names a property's result takes for some quantities (the second derivative is unimodal, not monotone)."""

RESULT_NAMES = tuple(name for p in PROPERTIES for name in (p, *VARIANTS.get(p, ())))
"""Every name a :class:`PropertyResult` can carry (what known deviations may name)."""


def is_result_of(result: PropertyResult, name: str) -> bool:
    """Is ``result`` a result of property ``name`` (a variant's name included)?"""
    return result.name == name or result.name in VARIANTS.get(name, ())


def check_all(obs: Observations) -> list[PropertyResult]:
    return [check(obs) for check in CHECKS.values()]
