"""The fast reference returns exactly the mpmath reference's correct roundings.

Checked on every float16 and bfloat16 input, and on random plus adversarial float32 and
float64 inputs (subnormal results, binade edges, results next to rounding midpoints, the
threshold band, huge magnitudes). The planted defective references of
``planted_references.py`` show that these cross-checks catch real mistakes.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from suite import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, Oracle, Params, Quantity
from suite.numerics.fastref import REL_BOUND, fast_reference
from suite.numerics.reference import evaluate
from tests.planted_references import DEFECTS
from tests.truth import every_input_truth, mpmath_rounded

SLOW = pytest.mark.slow  # also run by tox -e slow


def mismatches(candidate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Indices where two arrays of rounded values differ (NaN equals NaN; -0 differs from +0)."""
    same = (candidate == truth) & (np.signbit(candidate) == np.signbit(truth))
    same |= np.isnan(candidate) & np.isnan(truth)
    return np.flatnonzero(~same)


def describe(x, candidate, truth, idx) -> str:
    rows = [f"x={x[i]!r} ({float(x[i]).hex()}): got {candidate[i]!r}, want {truth[i]!r}" for i in idx[:5]]
    return f"{len(idx)} mismatches, e.g.\n" + "\n".join(rows)


# -- every 16-bit input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "beta", [1.0, pytest.param(0.5, marks=SLOW), pytest.param(3.0, marks=SLOW), pytest.param(10.0, marks=SLOW)]
)
@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=str)
def test_every_16_bit_input_matches_mpmath(fmt, quantity, beta):
    """Every input, the exact function: beta 1 by default, more in -m slow. A beta that is not a power
    of two is checked by default at every input too: at (3, 5) against mpmath with the documented
    oracle here and with both on the NumPy path (test_fastref_kernels), which the compiled path
    matches bit for bit at every input (test_every_16_bit_input_same_bits)."""
    x = fmt.decode(fmt.all_bits())
    params = Params.as_kernel_sees(beta, 20.0, fmt)
    fast = fast_reference(quantity, x, params, fmt).rounded
    truth = every_input_truth(fmt, quantity, params)
    bad = mismatches(fast, truth)
    assert len(bad) == 0, describe(x, fast, truth, bad)


@pytest.mark.slow
@pytest.mark.parametrize("beta", [0.01, 0.3, 2.0, 7.0, 100.0])
@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=str)
def test_every_16_bit_input_more_betas_both_oracles(fmt, quantity, beta):
    x = fmt.decode(fmt.all_bits())
    params = Params.as_kernel_sees(beta, 2.0, fmt)
    for oracle in Oracle:
        fast = fast_reference(quantity, x, params, fmt, oracle).rounded
        truth = mpmath_rounded(quantity, x, params, fmt, oracle)
        bad = mismatches(fast, truth)
        assert len(bad) == 0, describe(x, fast, truth, bad)


@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=str)
def test_every_16_bit_input_documented_oracle(fmt, quantity):
    x = fmt.decode(fmt.all_bits())
    params = Params.as_kernel_sees(3.0, 5.0, fmt)
    fast = fast_reference(quantity, x, params, fmt, Oracle.DOCUMENTED).rounded
    truth = every_input_truth(fmt, quantity, params, Oracle.DOCUMENTED)
    bad = mismatches(fast, truth)
    assert len(bad) == 0, describe(x, fast, truth, bad)


# -- float32 and float64: random and adversarial inputs -------------------------------------------


def distance_to_midpoint(fmt, quantity, x, params) -> np.ndarray:
    """|v - nearest rounding midpoint| in ULPs of fmt, from the fast reference's hi + lo."""
    ref = fast_reference(quantity, x, params, fmt)
    with np.errstate(invalid="ignore", over="ignore"):
        exponent = np.maximum(np.where(ref.exponent < -(1 << 40), fmt.emin, ref.exponent), fmt.emin)
        q = exponent - fmt.precision + 1
        scaled_hi = np.ldexp(ref.hi, -q)
        frac = (scaled_hi - np.floor(scaled_hi)) + np.ldexp(ref.lo, -q)
        return np.where(np.isfinite(ref.hi), np.abs(frac - 0.5), np.inf)


def adversarial_inputs(fmt, quantity, params, rng) -> np.ndarray:
    """About 100,000 inputs: random patterns plus the regions where references go wrong."""
    b, t = params.beta, params.threshold
    bits = rng.integers(0, fmt.count, 45_000, dtype=np.uint64).astype(fmt.uint_dtype)
    parts = [fmt.decode(bits)]
    parts.append(rng.uniform(-60, 60, 20_000) / b)  # the curved part
    # results in the subnormal range and at the underflow edge: e**(bx)/b ~ 2**emin .. 2**(emin-p)
    lo_edge = (np.log(b) + (fmt.min_quantum_exponent - 2) * math.log(2)) / b
    hi_edge = (np.log(b) + fmt.emin * math.log(2)) / b
    parts.append(rng.uniform(lo_edge, hi_edge, 10_000))
    # the threshold band, a few ULPs either side of t/b, and exp's overflow edge
    centre = t / b
    steps = rng.integers(-64, 64, 5_000)
    parts.append(centre + steps * math.ulp(centre))
    parts.append(rng.uniform(700, 720, 2_000) / b)
    parts.append(rng.uniform(11_300, 11_400, 1_000) / b)
    # binade edges of the result: sp(x) = 2**k  <=>  x = log(expm1(b * 2**k)) / b
    k = rng.integers(-40, 40, 5_000)
    with np.errstate(over="ignore", divide="ignore"):
        parts.append(np.log(np.expm1(b * np.ldexp(1.0, k))) / b)
    # huge magnitudes and signed extremes
    parts.append(np.array([fmt.max_finite, -fmt.max_finite, fmt.min_subnormal, -fmt.min_subnormal, 0.0, -0.0]))
    parts.append(rng.choice([-1, 1], 2_000) * np.ldexp(1.0, rng.integers(fmt.emax - 20, fmt.emax, 2_000)))
    x = fmt.round(np.concatenate(parts))
    x = x[np.isfinite(x)]
    return np.concatenate([x, near_midpoint_inputs(fmt, quantity, params, rng, 15_000)])


def near_midpoint_inputs(fmt, quantity, params, rng, count) -> np.ndarray:
    """The ``count`` inputs of a large random pool whose results lie closest to a rounding
    midpoint (closest first): the hardest cases for any reference."""
    random_bits = rng.integers(0, fmt.count, 400_000, dtype=np.uint64).astype(fmt.uint_dtype)
    pool = fmt.round(np.concatenate([fmt.decode(random_bits), rng.uniform(-40, 40, 400_000)]))
    pool = pool[np.isfinite(pool)]
    return pool[np.argsort(distance_to_midpoint(fmt, quantity, pool, params))[:count]]


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20261129)


@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize(
    ("fmt", "beta"),
    [
        # float32 takes the float64 working type of the 16-bit formats, whose every input is checked by
        # default (bfloat16 spans float32's exponents); these run in -m slow
        pytest.param(FLOAT32, 1.0, marks=SLOW),
        pytest.param(FLOAT32, 0.1, marks=SLOW),
        (FLOAT64, 1.0),
        pytest.param(FLOAT64, 3.0, marks=SLOW),
    ],
    ids=str,
)
def test_random_and_adversarial_inputs_match_mpmath(fmt, beta, quantity, rng):
    params = Params.as_kernel_sees(beta, 20.0, fmt)
    x = adversarial_inputs(fmt, quantity, params, rng)
    assert len(x) >= 100_000
    for oracle in Oracle:
        fast = fast_reference(quantity, x, params, fmt, oracle).rounded
        truth = mpmath_rounded(quantity, x, params, fmt, oracle)
        bad = mismatches(fast, truth)
        assert len(bad) == 0, describe(x, fast, truth, bad)


# -- the error bound the fast path relies on --------------------------------------------------------


@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=str)
def test_fast_error_bound_holds_and_is_not_vacuous(fmt, quantity, rng):
    params = Params.as_kernel_sees(1.0, 20.0, fmt)
    x = adversarial_inputs(fmt, quantity, params, rng)[::25]
    ref = fast_reference(quantity, x, params, fmt)
    worst_ratio = 0.0
    for i in np.flatnonzero(np.isfinite(ref.hi) & ~ref.escalated):
        # the exact value as an exact part plus a tail good to 2**-390 of itself
        ev = evaluate(quantity, float(x[i]), params, Oracle.MATH, 400)
        with mpmath.workprec(2400):
            exact_part, tail = mpmath.mpf(ev.exact_part), mpmath.mpf(ev.approx_part)
            actual = abs((exact_mpf(ref.hi[i]) - exact_part) + (exact_mpf(ref.lo[i]) - tail))
            bound = exact_mpf(ref.err[i])
        assert actual <= bound, (float(x[i]), float(actual), float(bound))
        if bound > 0 and tail != 0:
            worst_ratio = max(worst_ratio, float(actual / bound))
    # an honest bound, not a vacuous one: somewhere the error reaches 1/64 of it
    assert worst_ratio > 1 / 64


def exact_mpf(v) -> mpmath.mpf:
    """A float64 or long double, exactly, as an mpmath number."""
    mantissa, exponent = np.frexp(v)
    bits = np.finfo(v.dtype).nmant + 1
    return mpmath.mpf(int(np.ldexp(mantissa, bits))) * mpmath.mpf(2) ** (int(exponent) - bits)


def test_rel_bounds_are_the_documented_ones():
    # 2 * (4L + 8) * u with L = 4 (float64) and L = 2 (long double); see fastref's docstring
    assert REL_BOUND[np.dtype(np.float64)] == 2 * 24 * 2.0**-53
    if np.finfo(np.longdouble).nmant + 1 >= 64:
        assert REL_BOUND[np.dtype(np.longdouble)] == 2 * 16 * 2.0**-64


# -- the cross-checks catch planted defective references --------------------------------------------


@pytest.mark.parametrize("quantity", list(Quantity))
def test_double_rounding_is_caught_on_every_float16_input(quantity):
    x = FLOAT16.decode(FLOAT16.all_bits())
    finite = np.isfinite(x)
    x = x[finite]
    params = Params.as_kernel_sees(1.0, 20.0, FLOAT16)
    truth = every_input_truth(FLOAT16, quantity, params)[finite]
    planted = DEFECTS["double_rounding_through_float"](quantity, x, params, FLOAT16)
    assert len(mismatches(planted, truth)) > 0
    assert len(mismatches(fast_reference(quantity, x, params, FLOAT16).rounded, truth)) == 0


@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=str)
def test_log_of_one_plus_is_caught(fmt, rng):
    params = Params.as_kernel_sees(1.0, 20.0, fmt)
    x = adversarial_inputs(fmt, Quantity.FORWARD, params, rng)[::50]
    truth = mpmath_rounded(Quantity.FORWARD, x, params, fmt)
    planted = DEFECTS["log_of_one_plus"](Quantity.FORWARD, x, params, fmt)
    assert len(mismatches(planted, truth)) > 0


@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=str)
def test_too_low_precision_is_caught_next_to_midpoints(fmt, rng):
    params = Params.as_kernel_sees(1.0, 20.0, fmt)
    x = near_midpoint_inputs(fmt, Quantity.FORWARD, params, rng, 2000)
    truth = mpmath_rounded(Quantity.FORWARD, x, params, fmt)
    planted = DEFECTS["too_low_precision"](Quantity.FORWARD, x, params, fmt)
    assert len(mismatches(planted, truth)) > 0
    assert len(mismatches(fast_reference(Quantity.FORWARD, x, params, fmt).rounded, truth)) == 0
