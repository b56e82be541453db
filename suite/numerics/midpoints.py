"""Knife edges: inputs whose exact result lies within a tiny distance of a rounding midpoint.

A *rounding midpoint* of a format is the number halfway between two adjacent representable values;
correct rounding goes to the side of it the exact value lies on. Where the exact value ``v`` lies
within ``KNIFE_EDGE_ULP = 2**-20`` ULP of a midpoint, two implementations that are each "accurate to
1 ULP" (or even to 1/2 + 2**-20) may round differently: the exact reference decides, and such
inputs are a sharp test of an implementation that claims correct rounding.

Distance: ``|v - m| / 2**q`` in ULPs of the format at ``v``, where ``m`` is the midpoint nearest
``v`` (on the side of the correct rounding ``r`` that ``v`` lies on: ``r ± 2**(q-1)``) and ``q`` is
the quantum exponent of ``v``'s binade (subnormals: ``emin - p + 1``). It is computed from the fast
reference (``hi + lo`` within ``err``): ``hi - m`` is exact (Sterbenz: ``hi`` and ``m`` are within a
factor of two), one rounding adds ``lo``; where the bound ``err`` cannot tell whether the distance
is within the threshold, the mpmath reference decides (:func:`suite.numerics.reference.exact_value`,
40 digits). Exact results (the threshold rule's ``x``, the derivatives' 1/2 at 0) lie half an ULP
from every midpoint, or on a value, and are never knife edges; softplus and its derivatives at any
other float are transcendental, never a midpoint itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from suite.numerics.fastref import EXPONENT_OF_ZERO, ReferenceValues, compiled_kernels, fast_reference
from suite.numerics.formats import Format
from suite.numerics.params import Oracle, Params, Quantity
from suite.numerics.reference import exact_value

KNIFE_EDGE_ULP = 2.0**-20
"""The distance to a rounding midpoint (ULPs of the format) within which an input is a knife edge."""

_ROUNDING_SLACK = 2.0**-40
"""ULPs added to the bound for the one rounding of ``(hi - m) + lo`` (relative 2**-53 of a distance
below 1): far more than it can be, far less than what would send many inputs to mpmath."""


@dataclass(frozen=True)
class KnifeEdges:
    """The knife edges among some inputs: their indices, distances (ULPs) and correct roundings."""

    index: np.ndarray  # into the inputs, ascending
    distance: np.ndarray  # ULPs of the format from the nearest midpoint, float64 (from 40 digits where decided so)
    rounded: np.ndarray  # the correct rounding (float64 holding the format's value)
    above: np.ndarray  # does the exact value lie above the midpoint (bool)?
    escalated: int  # inputs mpmath decided


def midpoint_distance(ref: ReferenceValues, fmt: Format) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance (ULPs) of each exact value from its nearest rounding midpoint, its uncertainty (ULPs),
    and whether the exact value lies above that midpoint; NaN where there is none to measure (a
    non-finite or zero exact value, or an exact result)."""
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(ref.hi) & np.isfinite(ref.rounded) & (ref.exponent != EXPONENT_OF_ZERO)
        exponent = np.where(finite, ref.exponent, fmt.emin)
        q = np.maximum(exponent, fmt.emin) - fmt.precision + 1
        ulp = np.ldexp(1.0, q)
        # which side of the correct rounding r the exact value lies on: the midpoint is there
        side = np.sign((ref.hi - ref.rounded) + ref.lo)
        midpoint = ref.rounded + side * ulp / 2
        signed = ((ref.hi - midpoint) + ref.lo) / ulp
        distance = np.abs(signed)
        uncertainty = ref.err / ulp + _ROUNDING_SLACK
        measurable = finite & (side != 0) & (ref.err >= 0)
        exact = (ref.err == 0) & (ref.lo == 0)
        distance = np.where(measurable & ~exact, distance, np.nan)
        return distance, uncertainty, signed > 0


def knife_edges(
    quantity: Quantity, x: np.ndarray, params: Params, fmt: Format, oracle: Oracle = Oracle.MATH
) -> KnifeEdges:
    """The inputs among ``x`` whose exact ``quantity`` lies within :data:`KNIFE_EDGE_ULP` of a
    rounding midpoint of ``fmt``, decided exactly (the fast reference, then mpmath where its bound
    is too wide to tell)."""
    x = np.asarray(x, dtype=np.float64)
    ref = fast_reference(quantity, x, params, fmt, oracle)
    candidates = _candidates(ref, fmt)
    ref = ReferenceValues(fmt, *(getattr(ref, k)[candidates] for k in ("rounded", "hi", "lo", "err", "exponent")),
                          escalated=ref.escalated[candidates])  # fmt: skip
    x = x[candidates]
    distance, uncertainty, above = midpoint_distance(ref, fmt)
    with np.errstate(invalid="ignore"):
        certain = distance + uncertainty <= KNIFE_EDGE_ULP
        undecided = ~certain & (distance - uncertainty <= KNIFE_EDGE_ULP)
    distance = distance.copy()
    for i in np.flatnonzero(undecided):
        d, is_above = _distance_from_mpmath(quantity, float(x[i]), params, fmt, oracle, float(ref.rounded[i]))
        distance[i], above[i] = d, is_above
        certain[i] = d <= KNIFE_EDGE_ULP
    index = np.flatnonzero(certain)
    return KnifeEdges(candidates[index], distance[index], ref.rounded[index], above[index], int(undecided.sum()))


def _candidates(ref: ReferenceValues, fmt: Format) -> np.ndarray:
    """Indices of the inputs that may be knife edges (distance minus uncertainty within the
    threshold): in one compiled loop where numba is installed and the reference is float64 (formats
    up to float32), else with :func:`midpoint_distance`."""
    kernels = compiled_kernels()
    if kernels is None or ref.hi.dtype != np.float64:  # the loop is written for W = float64
        distance, uncertainty, _ = midpoint_distance(ref, fmt)
        with np.errstate(invalid="ignore"):
            return np.flatnonzero(distance - uncertainty <= KNIFE_EDGE_ULP)
    index = np.empty(1024, dtype=np.int64)
    while True:
        count = kernels.knife_edge_candidates(
            ref.hi, ref.lo, ref.err, ref.rounded, ref.exponent, fmt.precision, fmt.emin,
            KNIFE_EDGE_ULP, _ROUNDING_SLACK, index,
        )  # fmt: skip
        if count <= len(index):
            return index[:count]
        index = np.empty(count, dtype=np.int64)


def _distance_from_mpmath(
    quantity: Quantity, x: float, params: Params, fmt: Format, oracle: Oracle, rounded: float
) -> tuple[float, bool]:
    """The distance from the nearest midpoint, in ULPs, from 40 correct digits of the exact value."""
    v = exact_value(quantity, x, params, oracle, digits=40)
    with mpmath.workprec(200):
        exponent = int(mpmath.floor(mpmath.log(abs(v), 2)))
        q = max(exponent, fmt.emin) - fmt.precision + 1
        ulp = mpmath.ldexp(1, q)
        side = 1 if v > rounded else -1
        signed = (v - (mpmath.mpf(rounded) + side * ulp / 2)) / ulp
        return float(abs(signed)), bool(signed > 0)
