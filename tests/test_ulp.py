"""Tests of suite.numerics.ulp: the vectorized measure and the scalar ulp_error.

Expected errors are computed independently with mpmath at 2000 bits from the textbook
formulas (:func:`mp_value`) and the ULP definition of docs/numerics.md (:func:`mp_error`); expected bit
distances come from how the outputs were constructed (``k`` steps from the correct rounding).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from suite.numerics.fastref import fast_reference
from suite.numerics.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, Format
from suite.numerics.params import Oracle, Params, Quantity
from suite.numerics.reference import exact_value
from suite.numerics.ulp import SHARP_ULP, Failure, measure, sharpen, ulp_error

ALL = (FLOAT16, BFLOAT16, FLOAT32, FLOAT64)
MAX_DISTANCE = 2**64 - 1
PREC = 2000


# -- independent helpers ---------------------------------------------------------------------


def mp_value(quantity: Quantity, x: float, beta: float = 1.0) -> mpmath.mpf:
    """The exact quantity at finite ``x`` (``|beta*x|`` up to ~1000), to about PREC bits."""
    with mpmath.workprec(PREC):
        b = mpmath.mpf(beta)
        y = b * mpmath.mpf(x)
        e = mpmath.exp(-abs(y))
        small = e / (1 + e)  # sigmoid(-|y|), no cancellation
        if quantity is Quantity.FORWARD:
            if y <= 0:
                return mpmath.log1p(mpmath.exp(y)) / b
            return mpmath.mpf(x) + mpmath.log1p(e) / b
        if quantity is Quantity.GRAD:
            return small if y < 0 else 1 - small
        return b * e / (1 + e) ** 2


def mp_error(output: float, exact, fmt: Format) -> float:
    """docs/numerics.md's ULP: ``|y - v| / 2**(max(floor(log2|v|), emin) - p + 1)``; inf counts as 2**(emax+1)."""
    return float(mp_error_exact(output, exact, fmt))


def mp_error_exact(output: float, exact, fmt: Format) -> mpmath.mpf:
    """:func:`mp_error` as an mpmath number (to PREC bits)."""
    with mpmath.workprec(PREC):
        v = mpmath.mpf(exact)
        y = mpmath.mpf(output) if math.isfinite(output) else mpmath.mpf(2) ** (fmt.emax + 1) * (1 if output > 0 else -1)
        e = mpmath.frexp(v)[1] - 1 if v != 0 else fmt.emin
        q = max(e, fmt.emin) - fmt.precision + 1
        return abs(y - v) * mpmath.mpf(2) ** (-q)


def steps(fmt: Format, values: np.ndarray, k) -> np.ndarray:
    """The format value ``k`` representable steps above ``values`` (sign-magnitude order)."""
    bits = fmt.encode(values)
    return fmt.decode(fmt.from_ordinal(fmt.ordinal(bits) + np.asarray(k, dtype=np.int64)))


def reference(quantity, xs, fmt, params=None, oracle=Oracle.MATH):
    return fast_reference(quantity, np.asarray(xs, dtype=np.float64), params or Params(), fmt, oracle)


def measure_at(quantity, xs, outputs, fmt, params=None, oracle=Oracle.MATH):
    ref = reference(quantity, xs, fmt, params, oracle)
    return measure(np.asarray(outputs, dtype=np.float64), ref)


def assert_failures(m, expected):
    """Failure codes, and the failure conventions: NaN error, maximal distance, no flags."""
    assert m.failure.tolist() == [int(f) for f in expected]
    failed = m.failure != Failure.NONE
    assert np.isnan(m.ulp_error[failed]).all()
    assert (m.bit_distance[failed] == MAX_DISTANCE).all()
    assert not m.correctly_rounded[failed].any()
    assert not m.faithful[failed].any()
    assert not np.isnan(m.ulp_error[~failed]).any()


def random_inputs(fmt: Format, n: int, seed: int, limit: float = 300.0) -> np.ndarray:
    """Values of ``fmt`` at several scales, ``|x| <= limit``."""
    rng = np.random.default_rng(seed)
    scale = rng.choice([1e-6, 0.01, 1.0, 10.0, 60.0], size=n)
    x = np.clip(rng.standard_normal(n) * scale, -limit, limit)
    return fmt.round(x)


# -- edges of the measure --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_exact_zero_uses_the_smallest_subnormal(fmt):
    # the documented function's second derivative above the threshold is exactly 0
    tiny = fmt.min_subnormal
    outputs = [0.0, tiny, -tiny, 2 * tiny, -0.0]
    m = measure_at(Quantity.GRAD2, [30.0] * 5, outputs, fmt, Params(threshold=20.0), Oracle.DOCUMENTED)
    assert_failures(m, [Failure.NONE] * 4 + [Failure.ZERO_SIGN])
    assert m.ulp_error[:4].tolist() == [0.0, 1.0, 1.0, 2.0]
    assert m.bit_distance[:4].tolist() == [0, 1, 1, 2]
    assert m.correctly_rounded.tolist() == [True, False, False, False, False]
    # softplus(-inf) = +0 exactly
    m = measure_at(Quantity.FORWARD, [-np.inf] * 3, [0.0, tiny, 3 * tiny], fmt)
    assert m.ulp_error.tolist() == [0.0, 1.0, 3.0]
    assert m.correctly_rounded.tolist() == [True, False, False]


@pytest.mark.parametrize(("fmt", "x"), [(FLOAT16, -12.0), (BFLOAT16, -95.0), (FLOAT32, -95.5), (FLOAT64, -720.25)])
def test_subnormal_results_use_the_smallest_subnormal_as_ulp(fmt, x):
    v = mp_value(Quantity.FORWARD, x)
    assert mpmath.frexp(v)[1] - 1 < fmt.emin  # the exact value is below the normal range
    ref = reference(Quantity.FORWARD, [x] * 5, fmt)
    r = ref.rounded[0]
    assert r == exact_round_via_mpmath(v, fmt)
    k = np.arange(-2, 3)
    outputs = r + k * fmt.min_subnormal
    m = measure(outputs, ref)
    want = [mp_error(y, v, fmt) for y in outputs]
    np.testing.assert_allclose(m.ulp_error, want, rtol=0, atol=1e-9)
    # one subnormal step is one ULP here
    assert m.ulp_error[4] - m.ulp_error[3] == pytest.approx(1.0, abs=1e-9)
    assert m.ulp_error[0] - m.ulp_error[1] == pytest.approx(1.0, abs=1e-9)
    assert m.bit_distance.tolist() == [2, 1, 0, 1, 2]
    assert m.correctly_rounded.tolist() == [False, False, True, False, False]
    assert m.ulp_error[2] <= 0.5


def exact_round_via_mpmath(v, fmt: Format) -> float:
    """Correct rounding of an mpmath value (finite, normal or subnormal range), nearest-even."""
    with mpmath.workprec(PREC):
        e = mpmath.frexp(v)[1] - 1 if v != 0 else fmt.emin
        q = max(e, fmt.emin) - fmt.precision + 1
        scaled = v * mpmath.mpf(2) ** (-q)
        n = mpmath.floor(scaled)
        rest = scaled - n
        if rest > 0.5 or (rest == 0.5 and int(n) % 2 == 1):
            n += 1
        return math.ldexp(int(n), q)


BINADE_CASES = [
    (Quantity.GRAD, 40.0),  # sigmoid(40) = 1 - 4.2e-18
    (Quantity.GRAD, 200.0),  # sigmoid(200) = 1 - 1.4e-87, below 60 digits of 1
    (Quantity.GRAD, -(2.0**-60)),  # 1/2 - 2**-62
    (Quantity.GRAD2, 2.0**-30),  # 1/4 - 2**-64
]


@pytest.mark.parametrize("fmt", ALL, ids=str)
@pytest.mark.parametrize(("quantity", "x"), BINADE_CASES)
def test_exact_value_just_below_a_power_of_two_uses_the_smaller_ulp(fmt, quantity, x):
    v = mp_value(quantity, x)
    power = mpmath.mpf(2) ** mpmath.frexp(v)[1]  # the power of two just above v
    assert power - v < mpmath.mpf(2) ** (-fmt.precision - 2) * power  # so v rounds to the power of two
    below = float(power) * (1 - 2.0**-fmt.precision)  # the format value below the power of two
    above = float(power) * (1 + 2.0 ** (1 - fmt.precision))
    outputs = [float(power), below, above]
    m = measure_at(quantity, [x] * 3, outputs, fmt)
    want = [mp_error(y, v, fmt) for y in outputs]
    np.testing.assert_allclose(m.ulp_error, want, rtol=0, atol=1e-9)
    # the ULP is that of the binade below: one step down is 1 ULP, one step up 2 ULPs
    assert m.ulp_error[0] < 0.25
    assert m.ulp_error[1] == pytest.approx(1 - m.ulp_error[0], abs=1e-12)
    assert m.ulp_error[2] == pytest.approx(2 + m.ulp_error[0], abs=1e-12)
    assert m.correctly_rounded.tolist() == [True, False, False]
    assert m.faithful[0]
    assert not m.faithful[2]
    assert m.bit_distance.tolist() == [0, 1, 1]


@pytest.mark.parametrize(("fmt", "x"), [(FLOAT16, -800.0), (FLOAT32, -800.0), (FLOAT64, -12000.0)])
def test_an_exact_value_below_the_working_types_range_is_bracketed_by_0_and_the_smallest_subnormal(fmt, x):
    """e^-800 (e^-12000 for float64) underflows the reference's working type: hi = lo = 0. The exact
    value is still > 0, so its correct rounding (+0) and the smallest subnormal bracket it: that
    output is faithful; two subnormals, or a negative one, are not. An exact 0 (the documented
    second derivative above the threshold) is a value of the format: only 0 is faithful there."""
    tiny = fmt.min_subnormal
    for quantity in (Quantity.FORWARD, Quantity.GRAD, Quantity.GRAD2):
        ref = reference(quantity, [x] * 4, fmt)
        assert (ref.hi == 0).all()
        assert (ref.rounded == 0).all()
        m = measure(np.array([0.0, tiny, 2 * tiny, -tiny]), ref)
        assert m.correctly_rounded.tolist() == [True, False, False, False]
        assert m.faithful.tolist() == [True, True, False, False], quantity
    params = Params.as_kernel_sees(1.0, 20.0, fmt)
    exact_zero = reference(Quantity.GRAD2, [30.0, 30.0], fmt, params, Oracle.DOCUMENTED)
    assert (exact_zero.hi == 0).all()
    assert measure(np.array([0.0, tiny]), exact_zero).faithful.tolist() == [True, False]


def test_faithful_uses_the_exact_error_not_its_float64_rounding():
    with mpmath.workprec(PREC):  # 1 - 1.4e-87 needs ~290 bits
        v = mp_value(Quantity.GRAD, 200.0)
        assert mp_error_exact(1 - 2.0**-24, v, FLOAT32) < 1
        assert 1 - 2.0**-24 < v < 1
    m = measure_at(Quantity.GRAD, [200.0], [1 - 2.0**-24], FLOAT32)
    assert m.faithful[0]


def test_sigmoid_at_40_float32_against_mpmath():
    with mpmath.workprec(PREC):
        exact = 1 / (1 + mpmath.exp(-40))
        gap = 1 - exact  # ~4.25e-18
        err_one = float(gap / mpmath.mpf(2) ** -24)
        err_below = float((mpmath.mpf(2) ** -24 - gap) / mpmath.mpf(2) ** -24)
    m = measure_at(Quantity.GRAD, [40.0, 40.0], [1.0, 1 - 2.0**-24], FLOAT32)
    assert m.ulp_error[0] < 0.5
    assert abs(m.ulp_error[0] - err_one) < 1e-12
    assert abs(m.ulp_error[1] - err_below) < 1e-9
    assert 1 - 1e-9 < m.ulp_error[1] < 1.0


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_infinite_exact_value(fmt):
    outputs = [np.inf, fmt.max_finite, np.nan, -np.inf, 0.0]
    m = measure_at(Quantity.FORWARD, [np.inf] * 5, outputs, fmt)
    assert_failures(
        m,
        [Failure.NONE, Failure.WRONG_INFINITY, Failure.UNEXPECTED_NAN, Failure.WRONG_INFINITY, Failure.WRONG_INFINITY],
    )
    assert m.ulp_error[0] == 0.0
    assert m.bit_distance[0] == 0
    assert m.correctly_rounded[0]
    assert m.faithful[0]


@pytest.mark.parametrize("fmt", ALL, ids=str)
@pytest.mark.parametrize("quantity", list(Quantity), ids=lambda q: q.value)
def test_nan(fmt, quantity):
    outputs = [np.nan, 0.5, np.inf, 0.0, -np.inf]
    m = measure_at(quantity, [np.nan] * 5, outputs, fmt)
    assert_failures(m, [Failure.NONE] + [Failure.NAN_EXPECTED] * 4)
    assert m.ulp_error[0] == 0.0
    assert m.bit_distance[0] == 0
    assert m.correctly_rounded[0]
    assert m.faithful[0]
    m = measure_at(quantity, [1.0, np.inf, -np.inf], [np.nan] * 3, fmt)
    assert_failures(m, [Failure.UNEXPECTED_NAN] * 3)


def test_spurious_infinity():
    m = measure_at(Quantity.FORWARD, [100.0, 100.0, 1.0], [np.inf, -np.inf, np.inf], FLOAT32)
    assert_failures(m, [Failure.SPURIOUS_INFINITY] * 3)
    m = measure_at(Quantity.FORWARD, [65504.0], [np.inf], FLOAT16)
    assert_failures(m, [Failure.SPURIOUS_INFINITY])
    m = measure_at(Quantity.GRAD, [3.0], [np.inf], BFLOAT16)
    assert_failures(m, [Failure.SPURIOUS_INFINITY])
    # an infinite output where the correct rounding overflows is not spurious
    beta = float(np.float32(math.log(2) / 65530))
    m = measure_at(Quantity.FORWARD, [0.0], [np.inf], FLOAT16, Params(beta=beta))
    assert_failures(m, [Failure.NONE])


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_sign_of_zero(fmt):
    # softplus(-inf) = +0 and sigmoid(-inf) = +0 exactly; softplus(-200) underflows to +0 in the small formats
    m = measure_at(Quantity.FORWARD, [-np.inf, -np.inf], [-0.0, 0.0], fmt)
    assert_failures(m, [Failure.ZERO_SIGN, Failure.NONE])
    assert m.correctly_rounded.tolist() == [False, True]
    m = measure_at(Quantity.GRAD, [-np.inf], [-0.0], fmt)
    assert_failures(m, [Failure.ZERO_SIGN])
    x = -2000.0
    m = measure_at(Quantity.FORWARD, [x, x], [-0.0, 0.0], fmt)
    assert_failures(m, [Failure.ZERO_SIGN, Failure.NONE])
    assert m.ulp_error[1] < 1e-300  # e**-2000 in ULPs of the smallest subnormal


def test_correctly_rounded_overflow_just_past_max_finite():
    beta = float(np.float32(math.log(2) / 65530))  # softplus(0) = ln2/beta, between 65520 and 65536
    v = mpmath.log(2) / mpmath.mpf(beta)
    assert 65520 < v < 65536
    m = measure_at(Quantity.FORWARD, [0.0, 0.0], [np.inf, 65504.0], FLOAT16, Params(beta=beta))
    assert m.correctly_rounded.tolist() == [True, False]
    np.testing.assert_allclose(m.ulp_error, [mp_error(np.inf, v, FLOAT16), mp_error(65504.0, v, FLOAT16)], atol=1e-9)
    assert m.ulp_error[0] <= 0.5
    assert m.bit_distance.tolist() == [0, 1]


def test_correctly_rounded_overflow_far_past_max_finite_measures_at_most_half_ulp():
    params = Params(beta=2.0**-17)  # softplus(0) = ln2 * 2**17 = 90852.0..., rounds to inf in float16
    m = measure_at(Quantity.FORWARD, [0.0], [np.inf], FLOAT16, params)
    assert m.correctly_rounded[0]
    assert m.ulp_error[0] <= 0.5


def test_float64_overflow_measures_a_finite_error():
    beta = 1e-310  # softplus(0) = ln2/beta ~ 6.9e309 > max float64: correct rounding is +inf
    m = measure_at(Quantity.FORWARD, [0.0], [np.inf], FLOAT64, Params(beta=beta))
    with mpmath.workprec(PREC):
        v = mpmath.log(2) / mpmath.mpf(beta)
    assert v > mpmath.mpf(2) ** 1024  # beyond the format's range: +inf is the only right answer
    assert m.correctly_rounded[0]
    # compared by class (suite/ulp.py): a correctly rounded overflow of a value beyond 2**(emax+1) is 0 ULP
    assert m.ulp_error[0] == 0.0
    assert m.faithful[0]


# -- flags, and the measure of correct roundings and their neighbours ------------------------


PARAMS = [Params(), Params.as_kernel_sees(0.1, 20.0, "float32"), Params(beta=3.0)]


@pytest.mark.parametrize("fmt", ALL, ids=str)
@pytest.mark.parametrize("quantity", list(Quantity), ids=lambda q: q.value)
def test_correct_rounding_and_its_neighbours(fmt, quantity):
    xs = np.concatenate([random_inputs(fmt, 60, seed=fmt.width + len(quantity.value)), [0.0, 1.0, -1.0, 30.0]])
    ref = reference(quantity, xs, fmt)
    r = ref.rounded
    assert np.isfinite(r).all()
    m = measure(r, ref)
    assert m.correctly_rounded.all()
    assert m.faithful.all()
    assert (m.bit_distance == 0).all()
    assert (m.ulp_error <= 0.5).all()
    assert (m.failure == Failure.NONE).all()
    exact = [mp_value(quantity, float(x)) for x in xs]
    for k in (1, -1):
        y = steps(fmt, r, k)
        keep = np.isfinite(y)
        mk = measure(np.where(keep, y, r), ref)
        assert (mk.bit_distance[keep] == 1).all()
        assert not mk.correctly_rounded[keep].any()
        err = mk.ulp_error[keep]
        # (0.5, 1.5] -- except one step up from a power of two when the exact value lies just below it
        # (its ULP is then that of the binade below: (1.5, 2.5]); 0.5 itself only for an exact power of two.
        want = np.array(
            [mp_error(float(yy), exact[i], fmt) for i, yy in zip(np.flatnonzero(keep), y[keep], strict=True)]
        )
        assert (np.abs(err - want) <= tolerance(fmt, ref)[keep]).all()
        # (the quantities are positive; mpmath's abs() would round to 53 bits)
        below_power = np.array([is_normal_power_of_two(r[i], fmt) and exact[i] < r[i] for i in np.flatnonzero(keep)])
        away_from_zero = np.sign(y[keep]) * k > 0
        special = below_power & away_from_zero
        assert ((err[~special] >= 0.5) & (err[~special] <= 1.5)).all()
        assert ((err[special] > 1.5) & (err[special] <= 2.5)).all()
        half = err == 0.5
        assert (np.abs(want[half] - 0.5) < 1e-12).all()


def is_normal_power_of_two(value: float, fmt: Format) -> bool:
    """A power of two whose binade below is normal (so its ULP is half that of the value)."""
    value = float(value)
    return value > fmt.min_normal and value == 2.0 ** (math.frexp(value)[1] - 1)


def tolerance(fmt: Format, ref) -> np.ndarray:
    """How closely the measure can know the exact value, in ULPs (fastref's bound, plus 1e-9)."""
    exponent = np.where(ref.exponent < -(1 << 40), fmt.emin, ref.exponent)
    ulp = np.ldexp(1.0, np.maximum(exponent, fmt.emin) - fmt.precision + 1)
    return ref.err.astype(np.float64) / ulp + 1e-9


@pytest.mark.parametrize("fmt", ALL, ids=str)
@pytest.mark.parametrize("params", PARAMS, ids=["b1", "b0.1", "b3"])
def test_flags_and_bit_distance(fmt, params):
    rng = np.random.default_rng(17)
    xs = random_inputs(fmt, 200, seed=3)
    ref = reference(Quantity.FORWARD, xs, fmt, params)
    k = rng.integers(-4, 5, size=len(xs))
    y = steps(fmt, ref.rounded, k)
    y = np.where(np.isfinite(y), y, ref.rounded)
    k = np.where(y == ref.rounded, 0, k)
    m = measure(y, ref)
    assert (m.failure == Failure.NONE).all()
    assert m.bit_distance.tolist() == np.abs(k).tolist()
    assert (m.correctly_rounded == (m.bit_distance == 0)).all()
    assert (m.correctly_rounded == (k == 0)).all()
    # faithful is decided exactly (bracketing), so it agrees with the float64 error away from 1
    clear_of_one = np.abs(m.ulp_error - 1) > 1e-9
    assert (m.faithful[clear_of_one] == (m.correctly_rounded | (m.ulp_error < 1))[clear_of_one]).all()
    assert (m.ulp_error[m.faithful] <= 1).all()
    # error < 1 (faithful) checked against mpmath, away from the boundary
    want = np.array(
        [
            mp_error(float(yy), mp_value(Quantity.FORWARD, float(x), params.beta), fmt)
            for x, yy in zip(xs, y, strict=True)
        ]
    )
    clear = np.abs(want - 1) > 1e-6
    assert (m.faithful[clear] == (want[clear] < 1)).all()
    assert (m.ulp_error[m.correctly_rounded] <= 0.5).all()
    assert (m.ulp_error[~m.correctly_rounded] >= 0.5).all()


def test_a_power_of_two_exact_value_and_the_float_below():
    # the ULP of docs/numerics.md: an exact power of two takes the ULP of its own binade, so the float just below it
    # is exactly half an ULP away -- and not the correct rounding.
    m = measure_at(Quantity.GRAD, [0.0, 0.0], [0.5, 0.5 - 2.0**-25], FLOAT32)
    assert m.ulp_error.tolist() == [0.0, 0.5]
    assert m.correctly_rounded.tolist() == [True, False]
    assert m.bit_distance.tolist() == [0, 1]


# -- vectorized measure vs scalar ulp_error --------------------------------------------------


def perturbed(fmt, quantity, params, n, seed):
    xs = np.concatenate([random_inputs(fmt, n, seed=seed, limit=100.0), [40.0, 60.0, -40.0, 0.0]])
    ref = reference(quantity, xs, fmt, params)
    rng = np.random.default_rng(seed + 1)
    k = np.concatenate([rng.integers(-5, 6, size=n), [1, 1, -1, 1]])
    y = steps(fmt, ref.rounded, k)
    y = np.where(np.isfinite(y), y, ref.rounded)
    return xs, y, ref


@pytest.mark.parametrize(
    ("fmt", "quantity"),
    [
        (FLOAT32, Quantity.FORWARD),
        (FLOAT32, Quantity.GRAD),
        (FLOAT32, Quantity.GRAD2),
        (FLOAT64, Quantity.FORWARD),
        (FLOAT64, Quantity.GRAD),
        (FLOAT64, Quantity.GRAD2),
    ],
    ids=str,
)
def test_measure_agrees_with_scalar_ulp_error(fmt, quantity):
    params = Params.as_kernel_sees(1.0, 20.0, fmt)
    xs, y, ref = perturbed(fmt, quantity, params, 250, seed=fmt.width)
    m = measure(y, ref)
    scalar = np.array(
        [
            ulp_error(yy, exact_value(quantity, float(x), params, Oracle.MATH, digits=60), fmt)
            for x, yy in zip(xs, y, strict=True)
        ]
    )
    tol = tolerance(fmt, ref) + 1e-6
    bad = np.abs(m.ulp_error - scalar) > tol
    assert not bad.any(), list(zip(xs[bad], y[bad], m.ulp_error[bad], scalar[bad], strict=True))[:5]


@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=str)
@pytest.mark.parametrize("quantity", list(Quantity), ids=lambda q: q.value)
def test_measure_agrees_with_independent_mpmath(fmt, quantity):
    params = Params.as_kernel_sees(0.1 if quantity is Quantity.GRAD2 else 1.0, 20.0, fmt)
    xs, y, ref = perturbed(fmt, quantity, params, 150, seed=7 * fmt.width)
    m = measure(y, ref)
    want = np.array(
        [mp_error(float(yy), mp_value(quantity, float(x), params.beta), fmt) for x, yy in zip(xs, y, strict=True)]
    )
    tol = tolerance(fmt, ref)
    # fastref's bound is small: ~1e-7 ULP for float32, below 2**-6 ULP for float64 (64-bit long double)
    assert tol.max() < (1e-6 if fmt is FLOAT32 else 2.0**-6)
    assert (np.abs(m.ulp_error - want) <= tol).all()
    # and so is each error's own bound, which sharpen reads: float64's is wide enough to need it
    assert (np.abs(m.ulp_error - want) <= m.ulp_bound).all()
    assert (m.ulp_bound.max() > SHARP_ULP) == (fmt is FLOAT64)


@pytest.mark.parametrize(
    ("quantity", "x", "output", "fmt"),
    [
        (Quantity.FORWARD, 0.0, 0.6931471805599453, FLOAT64),  # float(ln 2): 0.2088 ULP, not 0
        (Quantity.GRAD, 40.0, 1 + 2.0**-23, FLOAT32),  # 2 ULPs of the binade below 1, not 1
    ],
)
def test_scalar_ulp_error_uses_every_bit_of_the_exact_value(quantity, x, output, fmt):
    exact = exact_value(quantity, x, digits=60)
    want = mp_error(output, mp_value(quantity, x), fmt)
    assert abs(ulp_error(output, exact, fmt) - want) < 1e-9


def test_scalar_ulp_error_with_enough_precision():
    exact = exact_value(Quantity.FORWARD, 0.0, digits=60)
    with mpmath.workprec(300):
        got = ulp_error(0.6931471805599453, exact, FLOAT64)
    assert abs(got - mp_error(0.6931471805599453, mp_value(Quantity.FORWARD, 0.0), FLOAT64)) < 1e-12
    assert 0.2 < got < 0.21


def test_scalar_ulp_error_special_values():
    assert ulp_error(math.nan, mpmath.nan, FLOAT32) == 0.0
    assert math.isnan(ulp_error(1.0, mpmath.nan, FLOAT32))
    assert math.isnan(ulp_error(math.nan, mpmath.mpf(1), FLOAT32))
    assert ulp_error(math.inf, mpmath.inf, FLOAT16) == 0.0
    assert math.isnan(ulp_error(65504.0, mpmath.inf, FLOAT16))
    assert math.isnan(ulp_error(-math.inf, mpmath.inf, FLOAT16))
    assert ulp_error(FLOAT32.min_subnormal, 0, FLOAT32) == 1.0
    assert ulp_error(3 * FLOAT16.min_subnormal, mpmath.mpf(0), FLOAT16) == 3.0
    assert ulp_error(math.inf, 65530, FLOAT16) == pytest.approx(6 / 32)


# -- hypothesis: properties of the measure ---------------------------------------------------

BETAS = [1.0, 0.5, 2.0, float(np.float32(0.1)), 3.0]


@st.composite
def cases(draw, max_steps: int = 4):
    fmt = draw(st.sampled_from(ALL))
    quantity = draw(st.sampled_from(list(Quantity)))
    beta = draw(st.sampled_from(BETAS))
    x = float(fmt.round(np.float64(draw(st.floats(-200.0, 200.0, allow_nan=False)))))
    assume(x != 0.0)  # the exact value is then transcendental: never a float, never a midpoint
    k = draw(st.integers(-max_steps, max_steps))
    return fmt, quantity, Params(beta=beta), x, k


@settings(deadline=None, max_examples=150)
@given(cases())
def test_property_correctly_rounded_iff_at_most_half_ulp(case):
    fmt, quantity, params, x, k = case
    ref = reference(quantity, [x], fmt, params)
    assume(ref.rounded[0] != 0 and np.isfinite(ref.rounded[0]))
    y = steps(fmt, ref.rounded, [k])
    assume(np.isfinite(y[0]))
    m = measure(y, ref)
    assert m.failure[0] == Failure.NONE
    err = m.ulp_error[0]
    if m.correctly_rounded[0]:
        assert err <= 0.5
    else:
        assert err >= 0.5
        if err == 0.5:  # only where the true error exceeds 1/2 by less than float64 can show
            excess = mp_error_exact(float(y[0]), mp_value(quantity, x, params.beta), fmt) - mpmath.mpf(0.5)
            assert 0 < excess < 1e-12
    assert m.correctly_rounded[0] == (k == 0)


@settings(deadline=None, max_examples=100)
@given(cases())
def test_property_neighbours_of_the_correct_rounding_are_at_least_half_an_ulp_away(case):
    fmt, quantity, params, x, _ = case
    ref = reference(quantity, [x, x, x], fmt, params)
    r = ref.rounded
    y = np.array([r[0], *steps(fmt, r[:1], [1]), *steps(fmt, r[:1], [-1])])
    assume(np.isfinite(y).all())
    m = measure(y, ref)
    assert m.ulp_error[0] <= 0.5
    assert (m.ulp_error[1:] >= 0.5).all()
    assert m.bit_distance.tolist() == [0, 1, 1]


@settings(deadline=None, max_examples=100)
@given(cases(), st.sampled_from([1, -1]))
def test_property_error_grows_as_the_output_moves_away(case, direction):
    fmt, quantity, params, x, _ = case
    n = 8
    ref = reference(quantity, [x] * n, fmt, params)
    y = steps(fmt, ref.rounded, direction * np.arange(n))
    assume(np.isfinite(y).all())
    m = measure(y, ref)
    err = m.ulp_error
    assert err[0] <= err[1]
    assert (np.diff(err[1:]) > 0).all()
    assert m.bit_distance.tolist() == list(range(n))


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "value"), [(FLOAT16, 1 + 2.0**-12), (BFLOAT16, 1 + 2.0**-9), (FLOAT32, 1 + 2.0**-30), (FLOAT16, 1e6)]
)
def test_measure_rejects_an_output_that_is_not_a_value_of_the_format(fmt, value):
    ref = reference(Quantity.FORWARD, [1.0, 2.0], fmt)
    with pytest.raises(ValueError, match=fmt.name):
        measure(np.array([ref.rounded[0], value]), ref)


def test_measure_rejects_a_length_mismatch():
    ref = reference(Quantity.FORWARD, [1.0, 2.0, 3.0], FLOAT32)
    with pytest.raises(ValueError, match="2 outputs for 3"):
        measure(ref.rounded[:2], ref)
    with pytest.raises(ValueError, match="4 outputs for 3"):
        measure(np.concatenate([ref.rounded, [0.0]]), ref)


def test_measure_rejects_a_scalar_output_with_value_error():
    ref = reference(Quantity.FORWARD, [1.0], FLOAT32)
    with pytest.raises(ValueError, match="outputs"):
        measure(np.float64(ref.rounded[0]), ref)


# -- the bound of each error, and the exact largest errors -------------------------------------


def float64_sample(quantity, params, n, seed):
    """Outputs a few steps from the correct rounding at float64 inputs, many in each binade."""
    rng = np.random.default_rng(seed)
    xs = np.sort(FLOAT64.round(rng.uniform(-40.0, 3.0, size=n)))
    ref = reference(quantity, xs, FLOAT64, params)
    y = steps(FLOAT64, ref.rounded, rng.integers(-3, 4, size=n))
    return xs, y, ref


@pytest.mark.parametrize("quantity", list(Quantity), ids=lambda q: q.value)
def test_sharpen_makes_every_groups_largest_error_and_its_input_exact(quantity):
    params = Params.as_kernel_sees(1.0, 20.0, FLOAT64)
    xs, y, ref = float64_sample(quantity, params, 400, seed=5)
    groups = (np.arange(len(xs)) % 3).astype(np.int64)  # classes that cut across the binades
    m = measure(y, ref)
    sharp = sharpen(m, xs, y, ref, quantity, params, Oracle.MATH, groups)
    exact = np.array([mp_error(float(v), mp_value(quantity, float(x)), FLOAT64) for x, v in zip(xs, y, strict=True)])
    assert (np.abs(sharp.ulp_error - exact) <= sharp.ulp_bound + 1e-12).all()
    binade = np.frexp(np.abs(xs))[1] * 2 + np.signbit(xs)
    unions = [np.ones(len(xs), bool), groups == 1, groups != 2, binade == binade[0]]
    for among in unions:
        i = int(np.argmax(np.where(among, sharp.ulp_error, -1.0)))
        want = np.max(exact[among])
        assert sharp.ulp_error[i] == pytest.approx(want, abs=1e-12)
        assert sharp.ulp_bound[i] <= SHARP_ULP
        assert i == int(np.flatnonzero(among & (exact >= want - 1e-12))[0])
    # the measure alone gives other figures: the check is not vacuous
    assert np.max(np.abs(m.ulp_error - exact)) > 1e-6
    # the rest keep their measured errors: few inputs were measured again
    again = sharp.ulp_bound != m.ulp_bound
    assert 0 < again.sum() < len(xs) // 4
    assert (sharp.ulp_error[~again] == m.ulp_error[~again]).all()


def test_sharpen_measures_two_of_the_inputs_that_share_an_output():
    """Where a binade's outputs are one value (ln2 for the tiniest |x|), the errors lie closer
    together than their bounds: every input is a candidate. The quantity being monotone on
    each sign, the largest is at the smallest or the largest x of each output's candidates; those
    are measured again, the rest capped below them, and the figures are still those of the exact
    errors (against an independent mpmath, input by input)."""
    quantity = Quantity.FORWARD  # the derivatives' 1/2 and 1/4 are floats: their errors are exact there
    params = Params.as_kernel_sees(1.0, 20.0, FLOAT64)
    rng = np.random.default_rng(11)
    magnitudes = np.ldexp(rng.uniform(1.0, 2.0, size=300), rng.integers(-64, -57, size=300))
    xs = np.sort(FLOAT64.round(magnitudes * rng.choice([-1.0, 1.0], size=300)))
    ref = reference(quantity, xs, FLOAT64, params)
    # two outputs per binade and sign: both below v in even binades (the largest error at the
    # largest v), both above in odd ones (at the smallest); ln2's rounding lies below it
    odd = np.frexp(xs)[1] % 2
    y = steps(FLOAT64, ref.rounded, rng.integers(0, 2, size=300) - 1 + odd)
    m = measure(y, ref)
    sharp = sharpen(m, xs, y, ref, quantity, params, Oracle.MATH)
    exact = np.array([mp_error(float(v), mp_value(quantity, float(x)), FLOAT64) for x, v in zip(xs, y, strict=True)])
    assert (np.abs(sharp.ulp_error - exact) <= sharp.ulp_bound + 1e-12).all()
    binade = np.frexp(np.abs(xs))[1] * 2 + np.signbit(xs)
    classes = {(b, v) for b, v in zip(binade.tolist(), y.tolist(), strict=True)}
    for among in [np.ones(len(xs), bool), *(binade == b for b in np.unique(binade)), xs < 0]:
        i = int(np.argmax(np.where(among, sharp.ulp_error, -1.0)))
        want = np.max(exact[among])
        assert sharp.ulp_error[i] == pytest.approx(want, abs=1e-12)
        assert sharp.ulp_bound[i] <= SHARP_ULP
        assert i == int(np.flatnonzero(among & (exact >= want - 1e-12))[0])
    # every input was a candidate (the check is not vacuous), and two of each output were measured
    assert m.loose().all()
    assert np.max(m.ulp_error) > np.min(m.ulp_error)
    again = sharp.ulp_bound == 0
    assert 0 < again.sum() <= 2 * len(classes) < len(xs) // 4


def test_sharpen_leaves_narrow_bounds_and_failures_alone():
    params = Params.as_kernel_sees(1.0, 20.0, FLOAT32)
    xs, y, ref = perturbed(FLOAT32, Quantity.FORWARD, params, 100, seed=3)
    m = measure(y, ref)
    assert sharpen(m, xs, y, ref, Quantity.FORWARD, params, Oracle.MATH) is m
    x64 = np.array([1.0, 2.0])
    ref64 = reference(Quantity.FORWARD, x64, FLOAT64)
    m64 = measure(np.array([math.nan, ref64.rounded[1]]), ref64)
    sharp = sharpen(m64, x64, np.array([math.nan, ref64.rounded[1]]), ref64, Quantity.FORWARD, Params(), Oracle.MATH)
    assert np.isnan(sharp.ulp_error[0])
    assert sharp.failure[0] == Failure.UNEXPECTED_NAN
    assert sharp.ulp_bound[1] == 0.0


@pytest.mark.parametrize(
    ("output", "exact", "fmt", "want"),
    [
        (math.inf, 65504, FLOAT16, math.nan),  # a spurious infinity: 65504 rounds to itself
        (-0.0, mpmath.mpf("2.06e-9"), FLOAT16, math.nan),  # the correct rounding is +0
        (0.0, mpmath.mpf("2.06e-9"), FLOAT16, 2.06e-9 / 2.0**-24),
        (math.inf, 98304, FLOAT16, 0.0),  # beyond 2**16: rounds to inf whatever it is, judged by class
        (math.inf, mpmath.mpf(2) ** 128 * 1.5, FLOAT32, 0.0),
        (math.inf, 65530, FLOAT16, 6 / 32),  # below 2**16: a correctly rounded overflow, measured
    ],
)
def test_scalar_ulp_error_compares_classes_as_measure_does(output, exact, fmt, want):
    got = ulp_error(output, exact, fmt)
    if math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(want, rel=1e-9)
