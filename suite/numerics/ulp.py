"""The ULP measure: how far an output is from the exact value, in ULPs of its format.

For an output ``y`` in format ``F`` and the exact value ``v`` (docs/numerics.md, "ULPs, correct
rounding, and special values"):

* ``ulp_F(v) = 2**(max(e, emin) - p + 1)`` with ``e = floor(log2|v|)`` of the exact ``v``
  (``ulp_F(0)`` is the smallest subnormal);
* ``ulp_error = |y - v| / ulp_F(v)``, computed from the reference's ``hi + lo`` in its working
  type (never in ``F``); correctly rounded ⇔ ``y`` equals the correct rounding of ``v`` (then
  ``ulp_error <= 0.5``); faithful ⇔ ``y`` is one of the two values of ``F`` that bracket ``v``
  (only ``v`` where ``v`` is a value of ``F``), which implies ``ulp_error < 1`` but is not implied
  by it (``v = 1/2``, ``y`` the float below: 0.5 ULP, not faithful);
* ``bit_distance``: the number of ``F`` values between ``y`` and the correctly rounded value
  (sign-magnitude, as numpy's ``nulp_diff``);
* an infinite ``y`` for a finite ``v`` counts as ``±2**(emax+1)``, the value IEEE 754 rounds
  through (so a correctly rounded overflow measures <= 0.5 ULP).

Special values are compared by class, not by arithmetic: a mismatch is a :class:`Failure`
and its ``ulp_error`` is NaN (statistics count failures separately).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields

import numpy as np

from suite.numerics.fastref import EXPONENT_OF_ZERO, ReferenceValues
from suite.numerics.formats import Format

SHARP_ULP = 2.0**-20
"""ULP errors are known to within this or exactly: :func:`sharpen` measures again with mpmath the
candidates for a largest error whose bound is wider (a long double working type's, about 2**-11
ULP of float64); a float64 working type's is below 2**-23 ULP of float32."""


class Failure(enum.IntEnum):
    """Special-value mismatches (stable codes, used in reports)."""

    NONE = 0
    NAN_EXPECTED = 1  # exact result NaN, output a number
    UNEXPECTED_NAN = 2  # output NaN, exact result a number
    WRONG_INFINITY = 3  # exact result ±inf, output something else
    SPURIOUS_INFINITY = 4  # output ±inf where the correct rounding is finite
    ZERO_SIGN = 5  # output and correct rounding are zeros of opposite sign


@dataclass(frozen=True)
class Measurements:
    """Per-element measurements of outputs against a reference (arrays of equal length)."""

    ulp_error: np.ndarray  # float64; NaN where failure != NONE
    bit_distance: np.ndarray  # uint64; 0 where both NaN; 2**64-1 where failure != NONE
    correctly_rounded: np.ndarray  # bool
    faithful: np.ndarray  # bool
    failure: np.ndarray  # int8 Failure codes
    ulp_bound: np.ndarray  # float64: |ulp_error - the exact error| <= ulp_bound (0: exact)

    def __len__(self) -> int:
        return len(self.ulp_error)

    def loose(self) -> np.ndarray:
        """The elements with a numeric error known less closely than SHARP_ULP (:func:`sharpen`'s)."""
        return (self.failure == Failure.NONE) & np.isfinite(self.ulp_error) & (self.ulp_bound > SHARP_ULP)

    def take(self, selected: np.ndarray) -> Measurements:
        """The measurements of the elements ``selected`` (a boolean mask or indices), in order."""
        return Measurements(*(getattr(self, f.name)[selected] for f in fields(self)))


def measure(outputs: np.ndarray, ref: ReferenceValues, check_outputs: bool = True) -> Measurements:
    """Measure outputs (values of ``ref.fmt``, as float64) against reference values.

    ``check_outputs=False`` skips checking that every output is a value of the format, for
    callers that hold the format's own tensors (sweeps); a wrong claim gives wrong bit distances.
    """
    fmt = ref.fmt
    y = np.asarray(outputs, dtype=np.float64)
    if y.shape != ref.rounded.shape:
        raise ValueError(
            f"{y.size} outputs for {ref.rounded.size} reference values (shapes {y.shape}, {ref.rounded.shape})"
        )
    if check_outputs:
        representable = fmt.round(y)
        bad = ~((representable == y) | np.isnan(y))
        if bad.any():
            raise ValueError(f"output {y[bad][0]!r} is not a {fmt.name} value")
    w = ref.hi.dtype
    v_nan = np.isnan(ref.hi)
    v_inf = np.isinf(ref.hi)
    y_nan = np.isnan(y)
    y_inf = np.isinf(y)
    r = ref.rounded

    failure = np.zeros(y.shape, dtype=np.int8)
    failure[~v_nan & y_nan] = Failure.UNEXPECTED_NAN
    failure[v_nan & ~y_nan] = Failure.NAN_EXPECTED
    failure[v_inf & ~y_nan & (y != ref.hi)] = Failure.WRONG_INFINITY
    failure[~v_nan & ~v_inf & y_inf & ~np.isinf(r)] = Failure.SPURIOUS_INFINITY
    zero_sign = (y == 0) & (r == 0) & (np.signbit(y) != np.signbit(r))
    failure[zero_sign & (failure == Failure.NONE)] = Failure.ZERO_SIGN
    ok = failure == Failure.NONE

    with np.errstate(invalid="ignore", over="ignore"):
        # in the working type: 2**1024 is no float64
        overflow_value = np.ldexp(w.type(1), fmt.emax + 1)
        y_eff = np.where(y_inf & ~v_inf, np.copysign(overflow_value, y), y).astype(w)
        r_eff = np.where(np.isinf(r) & ~v_inf, np.copysign(overflow_value, r), r).astype(w)
        exponent = np.where(ref.exponent == EXPONENT_OF_ZERO, fmt.emin, ref.exponent)
        q = (np.maximum(exponent, fmt.emin) - fmt.precision + 1).astype(np.int64)
        signed_distance = (y_eff - ref.hi) - ref.lo
        error = np.ldexp(np.abs(signed_distance), -q).astype(np.float64)
        # hi + lo is within err of v, and the error's own rounding adds at most one unit in its last place
        bound = (np.ldexp(ref.err.astype(w), -q) + np.spacing(np.abs(error).astype(w))).astype(np.float64)
        # which side of v the correct rounding lies on (for faithfulness, decided exactly); a v below
        # the working type's range (hi = lo = 0, yet inexact, or of a binade mpmath knows) is not 0:
        # it lies on the side of 0 its correct rounding's sign shows
        tiny = (ref.hi == 0) & (ref.lo == 0) & ((ref.err > 0) | (ref.exponent != EXPONENT_OF_ZERO))
        r_side = np.where(tiny, np.where(np.signbit(r), 1.0, -1.0), np.sign((r_eff - ref.hi) - ref.lo))
    special_match = (v_nan & y_nan) | (v_inf & (y == ref.hi))
    # an exact value at or beyond 2**(emax+1) rounds to ±inf whatever it is: compared by class
    beyond_range = y_inf & (y == r) & (exponent > fmt.emax)
    error = np.where(special_match | beyond_range, 0.0, error)
    error = np.where(ok, error, np.nan)
    bound = np.where(ok & ~(special_match | beyond_range), bound, 0.0)

    y_bits = fmt.encode(y, check=check_outputs)
    r_bits = fmt.encode(r, check=False)  # correct roundings are values of the format by construction
    distance_bits = fmt.bit_distance(y_bits, r_bits)
    distance_bits = np.where(v_nan & y_nan, 0, distance_bits)
    distance_bits = np.where(ok, distance_bits, np.iinfo(np.uint64).max).astype(np.uint64)
    correct = ok & ((distance_bits == 0) | (v_nan & y_nan))
    # faithful: y is one of the two values of F bracketing v, i.e. the correct rounding or its
    # neighbour on the other side of v (decided from signs, not from a rounded error)
    other_side = (distance_bits == 1) & (r_side != 0) & (np.sign(signed_distance) == -r_side)
    faithful = ok & (correct | other_side)
    return Measurements(error, distance_bits, correct, faithful, failure, bound)


def sharpen(
    m: Measurements,
    x: np.ndarray,
    outputs: np.ndarray,
    ref: ReferenceValues,
    quantity,
    params,
    oracle,
    groups: np.ndarray | None = None,
) -> Measurements:
    """``m`` with the exact ULP error of every input that may hold the largest error of its group.

    :func:`measure` knows each error ``e`` to within ``ulp_bound`` ``u`` (from the reference's
    ``err``): the exact error lies in ``[e - u, e + u]``. A group is each sign and binade of the
    input within each value of ``groups`` (integer labels, e.g. a class of known deviations;
    default: one). In a group whose largest lower end is ``L``, the candidates are the inputs with
    ``e + u >= L`` and ``u > SHARP_ULP``; the rest lie below ``L``, hence below the group's largest
    exact error.

    Candidates that share one output ``y`` need not all be measured again. Each quantity is
    strictly monotone in ``x`` on each sign (the value and the gradient rise; the second
    derivative rises up to 0 and falls after it), and so is the documented function below its
    threshold, where every inexact value lies; so ``|y - v(x)|``, convex in ``v``, is largest at the
    smallest or the largest ``x`` of those candidates, and strictly smaller between. Those two are
    measured again exactly (mpmath's value at ``x`` under ``oracle``, then :func:`ulp_error`); an
    input between keeps its error, capped just below the larger of theirs (still within its
    ``u``). Where a binade's output is one value (``ln2`` for the tiniest ``|x|``), that is two
    inputs instead of all of them. So the largest error of any union of groups, and the first
    input that has it, are those of the exact errors (about 50 us an input measured again)."""
    from suite.numerics.reference import exact_value

    ok = (m.failure == Failure.NONE) & np.isfinite(m.ulp_error)
    loose = m.loose()
    if not loose.any():
        return m
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(outputs, dtype=np.float64)
    key = (ref.fmt.binade_of(x) - (ref.fmt.emin - 2)) * 2 + np.signbit(x)  # each sign and binade apart
    if groups is not None:
        key = key * (int(np.max(groups, initial=0)) + 1) + np.asarray(groups, dtype=np.int64)
    labels, label_of = np.unique(np.where(ok, key, np.iinfo(np.int64).min), return_inverse=True)
    lowest = np.full(len(labels), -np.inf)
    np.maximum.at(lowest, label_of[ok], (m.ulp_error - m.ulp_bound)[ok])
    candidates = np.flatnonzero(loose & (m.ulp_error + m.ulp_bound >= lowest[label_of]))
    if not len(candidates):
        return m
    # the candidates of one group with one output, in order of x: their first and last are the ends
    order = candidates[np.lexsort((x[candidates], y[candidates], label_of[candidates]))]
    same = (label_of[order[1:]] == label_of[order[:-1]]) & (y[order[1:]] == y[order[:-1]])
    first = np.r_[True, ~same]
    last = np.r_[~same, True]
    ends = first | last
    error, bound = m.ulp_error.copy(), m.ulp_bound.copy()
    for i in order[ends].tolist():
        exact = exact_value(quantity, float(x[i]), params, oracle, digits=30)
        error[i], bound[i] = ulp_error(float(y[i]), exact, ref.fmt), 0.0
    run = np.cumsum(first) - 1  # each candidate's run of one group and one output
    largest = np.maximum(error[order[first]], error[order[last]])  # of each run, at its ends
    between = order[~ends]
    error[between] = np.minimum(error[between], np.nextafter(largest[run[~ends]], -np.inf))
    return Measurements(error, m.bit_distance, m.correctly_rounded, m.faithful, m.failure, bound)


def ulp_error(output: float, exact, fmt: Format) -> float:
    """ULP error of one output against one exact value (an mpmath number or float), in ULPs of ``fmt``.

    Computed in exact arithmetic; a special-value mismatch returns NaN (see :func:`measure`).
    Example::

        >>> from suite import FLOAT32, exact_value, ulp_error
        >>> round(ulp_error(0.693147, exact_value("forward", 0.0), FLOAT32), 3)
        3.029
    """
    import math

    import mpmath

    # keep every bit of the exact value: mpmath.mpf() would round it to mp.prec
    v = mpmath.mp.make_mpf(exact._mpf_) if isinstance(exact, mpmath.mpf) else mpmath.mpf(exact)
    y = float(output)
    if mpmath.isnan(v) or math.isnan(y):
        return 0.0 if (mpmath.isnan(v) and math.isnan(y)) else math.nan
    if mpmath.isinf(v):
        return 0.0 if y == v else math.nan
    from suite.numerics.reference import round_mpf

    # the classes measure() compares: a spurious infinity and a zero of the wrong sign have no
    # error; an exact value at or beyond 2**(emax+1) rounds to ±inf whatever it is
    r = round_mpf(v._mpf_, fmt)
    _, man, exp, bc = v._mpf_
    e = exp + bc - 1 if man else fmt.emin  # floor(log2|v|), exact from the mpf's exponent
    if math.isinf(y) and not math.isinf(r):
        return math.nan
    if y == 0 and r == 0 and math.copysign(1.0, y) != math.copysign(1.0, r):
        return math.nan
    if math.isinf(y) and y == r and e > fmt.emax:
        return 0.0
    # an infinite output counts as ±2**(emax+1), as in measure()
    y_m = mpmath.mpf(2) ** (fmt.emax + 1) * (1 if y > 0 else -1) if math.isinf(y) else mpmath.mpf(y)
    q = max(e, fmt.emin) - fmt.precision + 1
    with mpmath.workprec(max(mpmath.mp.prec, v._mpf_[3] + 64, 256)):
        return float(abs(y_m - v) / mpmath.mpf(2) ** q)
