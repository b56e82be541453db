"""The mpmath reference: exact values, their correct rounding, and the bound behind Ziv's loop.

Expectations are computed independently of suite.numerics.reference: with mpmath's high-level
functions at a far higher precision, and rounded with exact rational arithmetic
(``fractions.Fraction``), so a mistake in the reference's formulas, its error bound or its
rounding shows up as a failure here.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import libmp

from suite import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, FORMATS, Oracle, Params, Quantity, correctly_rounded, exact_value
from suite.numerics.reference import ERROR_BITS, decide, evaluate, round_mpf

FINITE_FORMATS = list(FORMATS.values())


def independent_value(quantity: Quantity, x: float, beta: float, prec: int = 3000) -> mpmath.mpf:
    """The textbook formula at a precision far beyond any rounding decision made here."""
    with mpmath.workprec(prec):
        b = mpmath.mpf(beta)
        y = b * mpmath.mpf(x)
        if quantity is Quantity.FORWARD:
            return +(mpmath.log1p(mpmath.exp(y)) / b)
        if quantity is Quantity.GRAD:
            return +(1 / (1 + mpmath.exp(-y)))
        # sigmoid(y) * sigmoid(-y), each factor free of cancellation
        return +(b / ((1 + mpmath.exp(-y)) * (1 + mpmath.exp(y))))


def fraction_round(value: Fraction, fmt) -> float:
    """Round an exact rational into fmt, nearest-even, by brute force over the format's grid."""
    if value == 0:
        return 0.0
    sign = -1 if value < 0 else 1
    a = abs(value)
    e = math.floor(math.log2(a.numerator) - math.log2(a.denominator))
    # fix the float estimate of floor(log2 a)
    while Fraction(2) ** e > a:
        e -= 1
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    quantum = Fraction(2) ** (max(e, fmt.emin) - fmt.precision + 1)
    n, rest = divmod(a, quantum)
    if rest > quantum / 2 or (rest == quantum / 2 and n % 2 == 1):
        n += 1
    result = n * quantum
    if result > Fraction(fmt.max_finite):
        return sign * math.inf
    return sign * float(result)


def mpf_fraction(v: mpmath.mpf) -> Fraction:
    sign, man, exp, _ = v._mpf_
    f = Fraction(int(man)) * Fraction(2) ** exp
    return -f if sign else f


# -- the seed article's numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "claim", "tolerance"),
    [(0.0, 0.6931, 5e-5), (-2.0, 0.13, 5e-3), (5.0, 5.0067, 5e-5)],
)
def test_seed_article_values(x, claim, tolerance):
    exact = exact_value("forward", x, digits=30)
    assert abs(float(exact) - claim) < tolerance
    assert abs(exact - independent_value(Quantity.FORWARD, x, 1.0)) < mpmath.mpf(10) ** -29


def test_softplus_of_zero_is_ln2_over_beta():
    for beta in (1.0, 0.5, 3.0, 10.0):
        exact = exact_value("forward", 0.0, Params(beta=beta), digits=50)
        with mpmath.workprec(400):
            assert abs(exact - mpmath.log(2) / beta) < mpmath.mpf(2) ** -160


# -- exact values against an independent computation ----------------------------------------


EXTREME_INPUTS = [
    0.0, -0.0, 5e-324, -5e-324, 2.0**-1022, 1e-300, -1e-300, 1.0, -1.0, 19.999999999999996, 20.0,
    20.000000000000004, 36.7, 37.5, -36.7, -745.2, -746.0, 709.8, 710.0, 1e10, -1e10, 3.4028234663852886e38,
    -3.4028234663852886e38, 65504.0, -65504.0, 1.7976931348623157e308, -1.7976931348623157e308,
]  # fmt: skip


@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("beta", [1.0, 0.1, 3.0, 1e-30, 1e30])
def test_exact_value_matches_independent_formula(quantity, beta):
    for x in EXTREME_INPUTS:
        got = exact_value(quantity, x, Params(beta=beta), digits=45)
        want = independent_value(quantity, x, beta)
        with mpmath.workprec(3000):
            if want == 0:
                assert got == 0, (quantity, x, beta)
                continue
            rel = abs((got - want) / want)
        assert rel < mpmath.mpf(10) ** -44, (quantity, x, beta, got, want)


@pytest.mark.parametrize("fmt", FINITE_FORMATS, ids=str)
@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("beta", [1.0, 0.1, 3.0, 1e-30, 1e30])
def test_correct_rounding_matches_exact_rational_rounding(fmt, quantity, beta):
    for x in EXTREME_INPUTS:
        want_v = independent_value(quantity, x, beta)
        if want_v != 0 and abs(int(want_v._mpf_[2])) > 5000:
            want = 0.0 if want_v._mpf_[2] < 0 else math.inf  # beyond every format's range
        else:
            want = fraction_round(mpf_fraction(want_v), fmt)
        got = correctly_rounded(quantity, x, Params(beta=beta), fmt)
        assert got == want, (quantity, x, beta, got, want)
        assert math.copysign(1, got) == math.copysign(1, want), (quantity, x, beta, got, want)


# -- special values ---------------------------------------------------------------------------

SPECIALS = [
    # (x, (forward, grad, grad2)) with b = 2
    (math.inf, (math.inf, 1.0, 0.0)),
    (-math.inf, (0.0, 0.0, 0.0)),
    (0.0, (math.log(2) / 2, 0.5, 0.5)),
    (-0.0, (math.log(2) / 2, 0.5, 0.5)),
]


@pytest.mark.parametrize("oracle", list(Oracle))
@pytest.mark.parametrize("fmt", FINITE_FORMATS, ids=str)
def test_special_values(fmt, oracle):
    params = Params(beta=2.0, threshold=20.0)
    for x, expected in SPECIALS:
        for quantity, want in zip(Quantity, expected, strict=True):
            got = correctly_rounded(quantity, x, params, fmt, oracle)
            want_rounded = float(fmt.round(np.float64(want)))
            assert got == want_rounded, (x, quantity, got, want_rounded)
            assert not math.copysign(1, got) < 0, "every quantity is >= +0 at these inputs"
    for quantity in Quantity:
        assert math.isnan(correctly_rounded(quantity, math.nan, params, fmt, oracle))


def test_second_derivative_at_zero_is_exact_even_on_a_midpoint():
    # b/4 with b = 1 + 2**-11 is exactly halfway between two float16 values: ties to even.
    beta = 1 + 2.0**-11
    got = correctly_rounded(Quantity.GRAD2, 0.0, Params(beta=beta), FLOAT16)
    assert got == fraction_round(Fraction(beta) / 4, FLOAT16) == 0.25


# -- the documented threshold rule -------------------------------------------------------------


def test_documented_rule_returns_x_strictly_above_threshold():
    params = Params.as_kernel_sees(1.0, 20.0, "float64")
    above = math.nextafter(20.0, math.inf)
    assert correctly_rounded("forward", above, params, FLOAT64, "documented") == above
    assert correctly_rounded("grad", above, params, FLOAT64, "documented") == 1.0
    assert correctly_rounded("grad2", above, params, FLOAT64, "documented") == 0.0
    # at b*x == t exactly, the formula applies (the comparison is strict)
    at = correctly_rounded("forward", 20.0, params, FLOAT64, "documented")
    assert at == correctly_rounded("forward", 20.0, params, FLOAT64, "math") > 20.0
    # just above the threshold the shortcut alone is ~5.8e5 ULP (docs/numerics.md)
    math_value = exact_value("forward", above, params, "math", digits=30)
    ulps = (math_value - above) / 2.0 ** (4 - 52)
    assert 5.7e5 < ulps < 5.9e5


def test_documented_rule_compares_the_product_as_the_kernel_rounds_it():
    # Rounding is monotonic and t is a float, so a rounded product can only *fail* to exceed t
    # where the exact one does: find x with exact b*x > t but float32(b*x) == t.
    params = Params.as_kernel_sees(0.1, 1.0, "float32")
    b = Fraction(params.beta)
    x = np.float32(1.0 / params.beta)
    found = None
    for _ in range(256):
        exact_above = Fraction(float(x)) * b > 1
        rounded_above = float(np.float32(np.float64(x) * params.beta)) > 1.0
        if exact_above and not rounded_above:
            found = float(x)
            break
        x = np.nextafter(x, np.float32(np.inf))
    assert found is not None, "the search window holds such an x (float32 products round to 2**-24)"
    kernel = correctly_rounded("forward", found, params, FLOAT32, "documented")
    exact_rule = correctly_rounded("forward", found, Params(params.beta, params.threshold), FLOAT32, "documented")
    assert exact_rule == found
    assert kernel == correctly_rounded("forward", found, params, FLOAT32, "math") != found


def test_kernel_parameters_are_cast_to_the_compute_format():
    p32 = Params.as_kernel_sees(0.1, 20.0, "float32")
    assert p32.beta == float(np.float32(0.1)) != 0.1
    assert p32.product_format is FLOAT32
    p16 = Params.as_kernel_sees(0.1, 20.0, "float16")
    assert p16.beta == float(np.float32(0.1))  # half types compute in float32
    assert p16.product_format is FLOAT32
    pb = Params.as_kernel_sees(0.1, 20.0, BFLOAT16)
    assert pb.product_format is FLOAT32
    p64 = Params.as_kernel_sees(0.1, 20.0, "float64")
    assert p64.beta == 0.1
    assert p64.product_format is FLOAT64


@pytest.mark.parametrize("beta", [0.0, -1.0, math.nan, math.inf])
def test_params_refuse_betas_without_a_reference(beta):
    with pytest.raises(ValueError, match="finite beta > 0"):
        Params(beta=beta)


# -- the error bound behind Ziv's loop ---------------------------------------------------------

BOUND_INPUTS = [*EXTREME_INPUTS, *np.random.default_rng(7).uniform(-60, 60, 300).tolist()]


@pytest.mark.parametrize("quantity", list(Quantity))
def test_error_bound_holds_and_is_not_vacuous(quantity):
    """|v(wp) - v| <= 2**(ERROR_BITS - wp)|v|, with v from 4x the precision; and the bound is tight-ish."""
    worst = 0.0
    for beta in (1.0, 0.1, 7.0):
        params = Params(beta=beta)
        for x in BOUND_INPUTS:
            for wp in (64, 113, 200):
                ev = evaluate(quantity, x, params, Oracle.MATH, wp)
                if ev.exact:
                    continue
                truth = independent_value(quantity, x, beta, prec=4 * wp + 64)
                with mpmath.workprec(4 * wp + 64):
                    approx = mpmath.mpf(libmp.mpf_add(ev.exact_part, ev.approx_part, 4 * wp + 64))
                    if truth == 0:
                        continue
                    rel = abs((approx - truth) / truth) * mpmath.mpf(2) ** wp
                worst = max(worst, float(rel))
                assert rel <= 2**ERROR_BITS, (quantity, x, beta, wp, float(rel))
    # the assumed per-operation error is real: an evaluation is usually off by ~2**-wp
    assert worst > 2**-4


def test_ziv_raises_precision_until_decided():
    # Rounding sp(x) for x just above 20 in float64 decides at the first precision, but a
    # value built to lie 2**-150 above a float32 midpoint needs more than 96 bits.
    midpoint = 1 + 2.0**-24  # between 1 and 1 + 2**-23
    x = float(mpmath.log(mpmath.expm1(mpmath.mpf(midpoint) + mpmath.mpf(2) ** -150)))
    decision = decide(Quantity.FORWARD, x, Params(), FLOAT32)
    truth = independent_value(Quantity.FORWARD, x, 1.0)
    assert decision.rounded == fraction_round(mpf_fraction(truth), FLOAT32)


# -- round_mpf: one-step rounding ----------------------------------------------------------------


@settings(max_examples=100)
@given(
    man=st.integers(min_value=1, max_value=2**120),
    exp=st.integers(min_value=-1300, max_value=1100),
    negative=st.booleans(),
    fmt=st.sampled_from(FINITE_FORMATS),
)
def test_round_mpf_matches_rational_rounding(man, exp, negative, fmt):
    t = libmp.from_man_exp(-man if negative else man, exp)
    want = fraction_round(Fraction(-man if negative else man) * Fraction(2) ** exp, fmt)
    got = round_mpf(t, fmt)
    assert got == want or (math.isinf(want) and got == want)
    if want == 0:
        assert math.copysign(1, got) == (-1 if negative else 1)


def test_round_mpf_ties_to_even_and_overflow_edges():
    for fmt in FINITE_FORMATS:
        one_plus_half = libmp.from_man_exp(2 * 2 ** (fmt.precision - 1) + 1, -fmt.precision)  # 1 + ulp/2
        assert round_mpf(one_plus_half, fmt) == 1.0
        three_halves_ulp = libmp.from_man_exp(2 * 2 ** (fmt.precision - 1) + 3, -fmt.precision)  # 1 + 3ulp/2
        assert round_mpf(three_halves_ulp, fmt) == 1 + 2.0 ** (2 - fmt.precision)
        overflow_edge = libmp.from_man_exp(2**fmt.precision * 2 - 1, fmt.emax - fmt.precision)
        assert round_mpf(overflow_edge, fmt) == math.inf  # the midpoint above max rounds to inf
        below = libmp.from_man_exp((2**fmt.precision * 2 - 1) * 4 - 1, fmt.emax - fmt.precision - 2)
        assert round_mpf(below, fmt) == fmt.max_finite
        half_min = libmp.from_man_exp(1, fmt.min_quantum_exponent - 1)
        assert round_mpf(half_min, fmt) == 0.0  # tie between 0 and the smallest subnormal: even is 0
        above_half_min = libmp.from_man_exp(3, fmt.min_quantum_exponent - 2)
        assert round_mpf(above_half_min, fmt) == fmt.min_subnormal
        assert round_mpf(libmp.from_man_exp(1, -(10**40)), fmt) == 0.0  # astronomically small
        assert round_mpf(libmp.from_man_exp(1, 10**40), fmt) == math.inf
