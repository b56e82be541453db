"""Tests of suite.numerics.formats: the table, bits <-> values, one-step rounding, neighbours, distances.

Expectations are computed independently of the module under test: the table from IEEE 754 and
``np.finfo``, decoding with :mod:`struct`, and rounding with exact integer arithmetic
(:func:`exact_round`), never with ``Format`` methods themselves.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suite.numerics.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, FORMATS, FloatClass, Format, format_named

SMALL = (FLOAT16, BFLOAT16, FLOAT32)
ALL = (FLOAT16, BFLOAT16, FLOAT32, FLOAT64)
LONGDOUBLE_IS_WIDE = np.finfo(np.longdouble).nmant >= 63

# IEEE 754 (and bfloat16's definition): precision p, emin, emax, width.
SPEC = {
    "float16": (11, -14, 15, 16),
    "bfloat16": (8, -126, 127, 16),
    "float32": (24, -126, 127, 32),
    "float64": (53, -1022, 1023, 64),
}
# Literal bit patterns: largest finite, smallest normal, +inf, canonical quiet NaN.
PATTERNS = {
    "float16": (0x7BFF, 0x0400, 0x7C00, 0x7E00),
    "bfloat16": (0x7F7F, 0x0080, 0x7F80, 0x7FC0),
    "float32": (0x7F7FFFFF, 0x00800000, 0x7F800000, 0x7FC00000),
    "float64": (0x7FEFFFFFFFFFFFFF, 0x0010000000000000, 0x7FF0000000000000, 0x7FF8000000000000),
}


# -- independent helpers ---------------------------------------------------------------------


def struct_decode(bits: int, fmt: Format) -> float:
    """Value of a bit pattern, via the struct module (bfloat16: the upper half of a float32)."""
    if fmt.name == "float16":
        return struct.unpack("<e", struct.pack("<H", bits))[0]
    if fmt.name == "bfloat16":
        return struct.unpack("<f", struct.pack("<I", bits << 16))[0]
    if fmt.name == "float32":
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def exact_round(value, fmt: Format) -> float:
    """Round an exact number (float, np.longdouble or Fraction) into ``fmt``: nearest, ties to even.

    Pure integer arithmetic on the exact rational value, with IEEE 754's rules: the quantum is
    ``2**(max(e, emin) - p + 1)`` for ``e = floor(log2|v|)``, and the result overflows to inf
    when the rounded magnitude (unbounded exponent) reaches ``2**(emax + 1)``.
    """
    p, emin, emax, _ = SPEC[fmt.name]
    if isinstance(value, Fraction):
        negative, num, den = value < 0, abs(value.numerator), value.denominator
    else:
        if np.isnan(value):
            return math.nan
        if np.isinf(value):
            return float(value)
        negative = bool(np.signbit(value))
        num, den = (abs(int(n)) for n in value.as_integer_ratio())
        den = abs(den)
    sign = -1.0 if negative else 1.0
    if num == 0:
        return math.copysign(0.0, sign)
    e = num.bit_length() - den.bit_length()  # floor(log2(num/den)) or one more
    if (num << max(-e, 0)) < (den << max(e, 0)):
        e -= 1
    q = max(e, emin) - p + 1
    big_num, big_den = (num, den << q) if q >= 0 else (num << -q, den)
    n, r = divmod(big_num, big_den)
    if 2 * r > big_den or (2 * r == big_den and n % 2 == 1):
        n += 1
    if n.bit_length() + q > emax + 1:  # n * 2**q >= 2**(emax + 1)
        return sign * math.inf
    return sign * math.ldexp(n, q)


def same(a, b) -> np.ndarray:
    """Elementwise: equal values with equal sign bits, or both NaN."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return ((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))


def check_round(fmt: Format, values) -> None:
    values = list(values)
    got = fmt.round(np.array(values, dtype=np.float64))
    want = np.array([exact_round(v, fmt) for v in values])
    bad = ~same(got, want)
    assert not bad.any(), [
        (float(v).hex(), g, w) for v, g, w in zip(np.array(values)[bad], got[bad], want[bad], strict=True)
    ][:5]


def finite_values(fmt: Format) -> np.ndarray:
    """Sorted positive finite values of a 16-bit format (independently decoded with struct)."""
    return np.array([struct_decode(b, fmt) for b in range(0, PATTERNS[fmt.name][2])])


def sample_values(fmt: Format, n: int, seed: int) -> np.ndarray:
    """Positive finite values of ``fmt``, random over the whole exponent range (struct-decoded)."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, PATTERNS[fmt.name][2], size=n, dtype=np.uint64)
    return np.array([struct_decode(int(b), fmt) for b in bits])


# -- the table -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_table_matches_ieee_and_numpy(fmt):
    assert (fmt.precision, fmt.emin, fmt.emax, fmt.width) == SPEC[fmt.name]
    if fmt.numpy_name is not None:
        fi = np.finfo(np.dtype(fmt.numpy_name))
        assert fmt.precision == fi.nmant + 1
        assert fmt.emin == fi.minexp
        assert fmt.emax == fi.maxexp - 1
        assert fmt.width == fi.bits
        assert fmt.max_finite == float(fi.max)
        assert fmt.min_normal == float(fi.smallest_normal)
        assert fmt.min_subnormal == float(fi.smallest_subnormal)
    assert FORMATS[fmt.name] is fmt


def test_bfloat16_has_no_numpy_dtype_and_float32_range():
    assert BFLOAT16.numpy_name is None
    assert (BFLOAT16.emin, BFLOAT16.emax) == (FLOAT32.emin, FLOAT32.emax)


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_extremes_are_decoded_bit_patterns(fmt):
    max_bits, normal_bits, inf_bits, nan_bits = PATTERNS[fmt.name]
    assert fmt.max_finite == struct_decode(max_bits, fmt)
    assert fmt.min_normal == struct_decode(normal_bits, fmt)
    assert fmt.min_subnormal == struct_decode(1, fmt)
    assert fmt.inf_bits == inf_bits
    assert fmt.quiet_nan_bits == nan_bits
    assert float(fmt.decode(np.array([max_bits]))[0]) == fmt.max_finite
    assert float(fmt.decode(np.array([normal_bits]))[0]) == fmt.min_normal
    assert float(fmt.decode(np.array([1]))[0]) == fmt.min_subnormal
    p, emin, emax, _ = SPEC[fmt.name]
    assert Fraction(fmt.max_finite) == (2 - Fraction(2) ** (1 - p)) * Fraction(2) ** emax
    assert Fraction(fmt.min_subnormal) == Fraction(2) ** (emin - p + 1)


# -- decode / encode -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=str)
def test_decode_encode_every_16_bit_pattern(fmt):
    bits = np.arange(1 << 16, dtype=np.uint16)
    values = fmt.decode(bits)
    assert values.dtype == np.float64
    want = np.array([struct_decode(int(b), fmt) for b in bits])
    assert same(values, want).all()
    is_nan = np.isnan(want)
    assert is_nan.sum() == 2 * ((1 << (SPEC[fmt.name][0] - 1)) - 1)
    encoded = fmt.encode(values)
    assert encoded.dtype == np.uint16
    assert (encoded[~is_nan] == bits[~is_nan]).all()
    assert (encoded[is_nan] == PATTERNS[fmt.name][3]).all()


@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=str)
def test_decode_encode_random_wide_patterns(fmt):
    rng = np.random.default_rng(1234)
    bits = rng.integers(0, fmt.count, size=20000, dtype=fmt.uint_dtype)
    # make sure the special classes are present too
    specials = [
        0,
        fmt.sign_mask,
        PATTERNS[fmt.name][2],
        PATTERNS[fmt.name][2] | fmt.sign_mask,
        1,
        PATTERNS[fmt.name][2] + 1,
    ]
    bits = np.concatenate([bits, np.array(specials, dtype=fmt.uint_dtype)])
    values = fmt.decode(bits)
    want = np.array([struct_decode(int(b), fmt) for b in bits])
    assert same(values, want).all()
    is_nan = np.isnan(want)
    encoded = fmt.encode(values)
    assert encoded.dtype == fmt.uint_dtype
    assert (encoded[~is_nan] == bits[~is_nan]).all()
    assert (encoded[is_nan] == PATTERNS[fmt.name][3]).all()


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        (FLOAT16, 1 + 2.0**-11),
        (FLOAT16, 65505.0),
        (FLOAT16, 2.0**-25),
        (BFLOAT16, 1 + 2.0**-8),
        (BFLOAT16, 2.0**-134 * 1.5),
        (FLOAT32, 1 + 2.0**-24),
        (FLOAT32, 1e300),
    ],
)
def test_encode_refuses_non_representable(fmt, value):
    with pytest.raises(ValueError, match=fmt.name):
        fmt.encode(np.array([0.0, value]))


@pytest.mark.skipif(not LONGDOUBLE_IS_WIDE, reason="np.longdouble is not wider than float64 here")
def test_encode_refuses_longdouble_that_is_not_a_float64():
    value = np.longdouble(1) + np.longdouble(2) ** -60
    with pytest.raises(ValueError, match="float64"):
        FLOAT64.encode(np.array([value], dtype=np.longdouble))


@pytest.mark.parametrize(("fmt", "bits"), [(FLOAT16, 0x3E00), (FLOAT32, 0x3FC00000), (FLOAT64, 0x3FF8000000000000)])
def test_encode_and_decode_accept_a_scalar(fmt, bits):
    assert int(fmt.encode(1.5)) == bits
    assert float(fmt.decode(bits)) == 1.5


def test_bfloat16_encode_accepts_a_scalar():
    assert int(BFLOAT16.encode(1.5)) == 0x3FC0


def test_encode_keeps_the_sign_of_zero():
    for fmt in ALL:
        bits = fmt.encode(np.array([0.0, -0.0]))
        assert [int(b) for b in bits] == [0, fmt.sign_mask]


# -- one-step rounding -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=str)
def test_round_midpoints_and_their_neighbours_every_16_bit_value(fmt):
    pos = finite_values(fmt)
    mids = (pos[:-1] + pos[1:]) / 2  # exact in float64
    # the midpoint above max_finite, towards 2**(emax+1)
    top = (fmt.max_finite + 2.0 ** (fmt.emax + 1)) / 2
    mids = np.append(mids, top)
    values = np.concatenate([mids, np.nextafter(mids, np.inf), np.nextafter(mids, -np.inf)])
    values = np.concatenate([values, -values, pos, -pos])
    check_round(fmt, values)


def test_round_midpoints_float32_sample():
    pos = np.unique(sample_values(FLOAT32, 4000, seed=7))
    up = np.nextafter(pos.astype(np.float32), np.float32(np.inf)).astype(np.float64)
    mids = (pos + up) / 2
    values = np.concatenate([mids, np.nextafter(mids, np.inf), np.nextafter(mids, -np.inf), pos])
    values = np.concatenate([values, -values])
    check_round(FLOAT32, values[np.isfinite(values)])


@pytest.mark.parametrize("fmt", SMALL, ids=str)
def test_round_ties_to_even_examples(fmt):
    p = fmt.precision
    one_up = 1 + 2.0 ** (1 - p)
    got = fmt.round(np.array([1 + 2.0**-p, 1 + 3 * 2.0**-p, -(1 + 2.0**-p), 2 - 2.0**-p]))
    assert got.tolist() == [1.0, 1 + 2 * 2.0 ** (1 - p), -1.0, 2.0]
    assert fmt.round(np.array([np.nextafter(1 + 2.0**-p, 2)]))[0] == one_up
    assert fmt.round(np.array([np.nextafter(1 + 2.0**-p, 0)]))[0] == 1.0


@pytest.mark.parametrize("fmt", SMALL, ids=str)
def test_round_subnormal_range(fmt):
    tiny = fmt.min_subnormal
    ks = np.arange(0, 64, dtype=np.float64)
    values = np.concatenate([(ks + 0.5) * tiny, ks * tiny, (ks + 0.25) * tiny, (ks + 0.75) * tiny])
    values = np.concatenate([values, np.nextafter(values, np.inf), np.nextafter(values, -np.inf)])
    # around the boundary between subnormals and normals
    edge = fmt.min_normal
    near_edge = edge + np.arange(-40, 41) * tiny / 4
    values = np.concatenate([values, -values, near_edge, -near_edge])
    check_round(fmt, values)
    got = fmt.round(np.array([0.5 * tiny, 1.5 * tiny, 2.5 * tiny, np.nextafter(0.5 * tiny, 1), -0.5 * tiny]))
    assert same(got, [0.0, 2 * tiny, 2 * tiny, tiny, -0.0]).all()


@pytest.mark.parametrize("fmt", SMALL, ids=str)
def test_round_overflow_boundary(fmt):
    top = fmt.max_finite
    boundary = (2 - 2.0**-fmt.precision) * 2.0**fmt.emax  # midpoint of max_finite and 2**(emax+1)
    assert Fraction(boundary) == (Fraction(top) + Fraction(2) ** (fmt.emax + 1)) / 2
    values = np.array([boundary, np.nextafter(boundary, 0), -boundary, -np.nextafter(boundary, 0), 1e300, -1e300])
    got = fmt.round(values)
    assert got.tolist() == [np.inf, top, -np.inf, -top, np.inf, -np.inf]
    check_round(fmt, values)


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_round_special_values(fmt):
    got = fmt.round(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1e-320, 1e-320]))
    tiny_rounds_to = exact_round(1e-320, fmt)
    assert same(got, [0.0, -0.0, np.inf, -np.inf, np.nan, -tiny_rounds_to, tiny_rounds_to]).all()
    assert got.dtype == np.float64


def test_round_is_a_single_rounding():
    # v lies above the bfloat16 midpoint 1 + 2**-8 by 2**-30, which float32 cannot hold: rounding
    # through float32 lands exactly on that midpoint, and ties-to-even then goes down to 1.
    v = 1 + 2.0**-8 + 2.0**-30
    through_float32 = BFLOAT16.round(np.array([np.float32(v)], dtype=np.float64))[0]
    assert through_float32 == 1.0  # the construction really does double-round differently
    assert exact_round(v, BFLOAT16) == 1 + 2.0**-7
    assert BFLOAT16.round(np.array([v]))[0] == 1 + 2.0**-7
    assert BFLOAT16.round(np.array([-v]))[0] == -(1 + 2.0**-7)
    # the same through the subnormal range of float16: v just above the midpoint of 0 and 2**-24
    w = 2.0**-25 + 2.0**-60
    assert float(np.float32(w)) == 2.0**-25  # float32 drops the 2**-60: a float16 tie, then to even (0)
    assert FLOAT16.round(np.array([float(np.float32(w))]))[0] == 0.0
    assert FLOAT16.round(np.array([w]))[0] == 2.0**-24


@pytest.mark.skipif(not LONGDOUBLE_IS_WIDE, reason="np.longdouble is not wider than float64 here")
def test_round_longdouble_input():
    one, half_ulp = np.longdouble(1), np.longdouble(2) ** -53
    tiny = np.longdouble(2) ** -62
    values = np.array(
        [
            one + half_ulp,  # tie: to even (1)
            one + half_ulp + tiny,  # just above the midpoint: up
            one + half_ulp - tiny,  # just below: down
            one + 3 * half_ulp,  # tie: to even (1 + 2**-51)
            -(one + half_ulp + tiny),
            np.longdouble(2) ** -1075 + tiny * np.longdouble(2) ** -1020,  # above half the smallest subnormal
            np.longdouble(2) ** -1075,  # exactly half: to even (0)
        ],
        dtype=np.longdouble,
    )
    got = FLOAT64.round(values)
    assert got.dtype == np.longdouble
    want = [exact_round(v, FLOAT64) for v in values]
    assert [float(g) for g in got] == want
    assert want[:5] == [1.0, 1 + 2.0**-52, 1.0, 1 + 2.0**-51, -(1 + 2.0**-52)]
    assert want[5:] == [2.0**-1074, 0.0]
    # into float32 from long double, too
    v32 = np.array([one + np.longdouble(2) ** -24 + tiny], dtype=np.longdouble)
    assert float(FLOAT32.round(v32)[0]) == 1 + 2.0**-23


@pytest.mark.parametrize("fmt", [FLOAT16, FLOAT32], ids=str)
def test_numpy_cast_agrees_with_round(fmt):
    rng = np.random.default_rng(99)
    n = 50000
    exponents = rng.uniform(fmt.emin - fmt.precision - 3, fmt.emax + 3, size=n)
    values = np.exp2(exponents) * rng.choice([-1.0, 1.0], size=n)
    with np.errstate(over="ignore"):
        near = values.astype(np.dtype(fmt.numpy_name)).astype(np.float64)
        values = np.concatenate([values, near * (1 + 2.0**-30), near * (1 - 2.0**-30)])
        cast = values.astype(np.dtype(fmt.numpy_name)).astype(np.float64)
    assert same(fmt.round(values), cast).all()


def finite_floats(fmt: Format):
    """float64 values interesting for ``fmt``: wide range, subnormal range, near its own values."""
    big = 4 * fmt.max_finite
    tiny = 8 * fmt.min_normal

    @st.composite
    def near_value(draw):
        bits = draw(st.integers(0, PATTERNS[fmt.name][2] - 1))
        base = struct_decode(bits, fmt)
        quantum = 2.0 ** (max(math.frexp(base)[1] - 1, fmt.emin) - fmt.precision + 1) if base else fmt.min_subnormal
        k = draw(st.integers(-16, 16))
        sign = draw(st.sampled_from([1.0, -1.0]))
        return sign * (base + k * quantum / 16)

    return st.one_of(
        st.floats(-big, big, allow_nan=False),
        st.floats(-tiny, tiny, allow_nan=False),
        near_value(),
    )


@pytest.mark.parametrize("fmt", SMALL, ids=str)
@settings(deadline=None, max_examples=150)
@given(data=st.data())
def test_round_property_exact_idempotent_and_bracketing(fmt, data):
    v = data.draw(finite_floats(fmt))
    r = fmt.round(np.array([v]))[0]
    assert same(r, exact_round(v, fmt))
    assert same(fmt.round(np.array([r]))[0], r)  # idempotent
    # r is one of the two format values bracketing v (or the overflow to inf beyond max_finite)
    p, emin, _, _ = SPEC[fmt.name]
    a = Fraction(abs(v))
    q = max(math.frexp(abs(v))[1] - 1, emin) - p + 1 if v else emin - p + 1
    lo = math.floor(a / Fraction(2) ** q) * Fraction(2) ** q
    hi = lo + Fraction(2) ** q
    assert lo <= a <= hi
    if math.isinf(r):
        assert hi > Fraction(fmt.max_finite)
    else:
        assert Fraction(abs(r)) in (lo, hi)
        assert abs(Fraction(abs(r)) - a) <= Fraction(2) ** (q - 1)
    assert math.copysign(1, r) == math.copysign(1, v)


@pytest.mark.parametrize("fmt", SMALL, ids=str)
@settings(deadline=None, max_examples=150)
@given(data=st.data())
def test_round_property_monotone(fmt, data):
    a = data.draw(finite_floats(fmt))
    b = data.draw(finite_floats(fmt))
    lo, hi = min(a, b), max(a, b)
    r_lo, r_hi = fmt.round(np.array([lo, hi]))
    assert r_lo <= r_hi


# -- classification and neighbours -----------------------------------------------------------


def test_classify_every_float16_pattern():
    bits = np.arange(1 << 16, dtype=np.uint16)
    cls = FLOAT16.classify(bits)
    assert cls.dtype == np.int8
    counts = {c: int((cls == c).sum()) for c in FloatClass}
    assert counts == {
        FloatClass.NAN: 2046,
        FloatClass.NEG_INF: 1,
        FloatClass.NEG_NORMAL: 30 * 1024,
        FloatClass.NEG_SUBNORMAL: 1023,
        FloatClass.NEG_ZERO: 1,
        FloatClass.POS_ZERO: 1,
        FloatClass.POS_SUBNORMAL: 1023,
        FloatClass.POS_NORMAL: 30 * 1024,
        FloatClass.POS_INF: 1,
    }
    # and each element agrees with a classification of its value by numpy
    v = bits.view(np.float16).astype(np.float64)
    neg = np.signbit(v)
    want = np.select(
        [np.isnan(v), np.isinf(v), v == 0, np.abs(v) < float(np.finfo(np.float16).smallest_normal)],
        [
            FloatClass.NAN,
            np.where(neg, FloatClass.NEG_INF, FloatClass.POS_INF),
            np.where(neg, FloatClass.NEG_ZERO, FloatClass.POS_ZERO),
            np.where(neg, FloatClass.NEG_SUBNORMAL, FloatClass.POS_SUBNORMAL),
        ],
        np.where(neg, FloatClass.NEG_NORMAL, FloatClass.POS_NORMAL),
    )
    assert (cls == want).all()


def test_classify_bfloat16_counts_and_wide_formats():
    cls = BFLOAT16.classify(np.arange(1 << 16, dtype=np.uint16))
    assert int((cls == FloatClass.NAN).sum()) == 254
    assert int((cls == FloatClass.POS_SUBNORMAL).sum()) == 127
    assert int((cls == FloatClass.POS_NORMAL).sum()) == 254 * 128
    for fmt in (FLOAT32, FLOAT64):
        max_bits, normal_bits, inf_bits, nan_bits = PATTERNS[fmt.name]
        patterns = [0, fmt.sign_mask, 1, normal_bits - 1, normal_bits, max_bits, inf_bits, nan_bits]
        got = fmt.classify(np.array(patterns, dtype=fmt.uint_dtype))
        assert got.tolist() == [
            FloatClass.POS_ZERO,
            FloatClass.NEG_ZERO,
            FloatClass.POS_SUBNORMAL,
            FloatClass.POS_SUBNORMAL,
            FloatClass.POS_NORMAL,
            FloatClass.POS_NORMAL,
            FloatClass.POS_INF,
            FloatClass.NAN,
        ]
        assert fmt.classify(np.array([inf_bits | fmt.sign_mask], dtype=fmt.uint_dtype))[0] == FloatClass.NEG_INF
        assert fmt.classify(np.array([max_bits | fmt.sign_mask], dtype=fmt.uint_dtype))[0] == FloatClass.NEG_NORMAL


def test_next_up_next_down_every_float16_pattern():
    bits = np.arange(1 << 16, dtype=np.uint16)
    h = bits.view(np.float16)
    finite = np.isfinite(h)
    up, down = FLOAT16.next_up(bits), FLOAT16.next_down(bits)
    assert up.dtype == down.dtype == np.uint16
    with np.errstate(over="ignore"):
        want_up = np.nextafter(h, np.float16(np.inf)).astype(np.float64)
        want_down = np.nextafter(h, np.float16(-np.inf)).astype(np.float64)
    # compared as values: numpy's nextafter(-min_sub, inf) is -0, the ordinal walk gives +0
    assert (FLOAT16.decode(up)[finite] == want_up[finite]).all()
    assert (FLOAT16.decode(down)[finite] == want_down[finite]).all()
    not_max = finite & (h != np.float16(65504))
    assert (FLOAT16.decode(up)[not_max] > h.astype(np.float64)[not_max]).all()
    nan = np.isnan(h)
    assert (up[nan] == bits[nan]).all()
    assert (down[nan] == bits[nan]).all()


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_next_up_next_down_edges(fmt):
    max_bits, _, inf_bits, _ = PATTERNS[fmt.name]
    s = fmt.sign_mask

    def up(b):
        return int(fmt.next_up(np.array([b], dtype=fmt.uint_dtype))[0])

    def down(b):
        return int(fmt.next_down(np.array([b], dtype=fmt.uint_dtype))[0])

    assert up(s) == 1  # -0 -> smallest positive subnormal
    assert up(0) == 1
    assert down(0) == s | 1
    assert down(s) == s | 1
    assert up(max_bits) == inf_bits
    assert up(inf_bits) == inf_bits
    assert up(inf_bits | s) == max_bits | s
    assert down(inf_bits | s) == inf_bits | s
    assert down(inf_bits) == max_bits
    assert up(s | 1) in (0, s)  # -min_sub -> a zero
    assert down(1) in (0, s)


def test_next_up_orders_bfloat16():
    bits = np.arange(1 << 16, dtype=np.uint16)
    v = BFLOAT16.decode(bits)
    sel = np.isfinite(v) & (v != BFLOAT16.max_finite)
    nxt = BFLOAT16.decode(BFLOAT16.next_up(bits))
    assert (nxt[sel] > v[sel]).all()
    # no bfloat16 value lies strictly between v and next_up(v)
    ordered = np.unique(v[np.isfinite(v)])
    idx = np.searchsorted(ordered, v[sel])
    assert (ordered[idx + 1] == nxt[sel]).all()


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=str)
def test_ordinal_round_trip_and_order(fmt):
    bits = np.arange(1 << 16, dtype=np.uint16)
    v = np.array([struct_decode(int(b), fmt) for b in bits])
    keep = ~np.isnan(v)
    ords = fmt.ordinal(bits)
    assert ords.dtype == np.int64
    back = fmt.from_ordinal(ords)
    neg_zero = bits == fmt.sign_mask
    assert (back[keep & ~neg_zero] == bits[keep & ~neg_zero]).all()
    assert int(back[neg_zero][0]) == 0
    # ordinals of the distinct values, sorted, are consecutive integers centred on 0
    order = np.argsort(v[keep], kind="stable")
    sorted_ords = ords[keep][order]
    sorted_vals = v[keep][order]
    distinct = np.concatenate([[True], sorted_vals[1:] != sorted_vals[:-1]])
    consecutive = sorted_ords[distinct]
    n_pos = PATTERNS[fmt.name][2]  # ordinal of +inf
    assert consecutive.tolist() == list(range(-n_pos, n_pos + 1))


@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=str)
def test_ordinal_round_trip_wide(fmt):
    rng = np.random.default_rng(5)
    mags = rng.integers(0, PATTERNS[fmt.name][2], size=5000, endpoint=True, dtype=fmt.uint_dtype)
    signs = rng.integers(0, 2, size=5000).astype(bool)
    bits = np.where(signs & (mags != 0), mags | fmt.uint_dtype.type(fmt.sign_mask), mags)
    ords = fmt.ordinal(bits)
    assert (ords == np.where(signs & (mags != 0), -mags.astype(np.int64), mags.astype(np.int64))).all()
    assert (fmt.from_ordinal(ords) == bits).all()


def test_bit_distance_float16_counts_values_between():
    bits = np.arange(1 << 16, dtype=np.uint16)
    v = bits.view(np.float16).astype(np.float64)
    keep = ~np.isnan(v)
    bits, v = bits[keep], v[keep]
    ordered = np.unique(v)  # +0 and -0 are one value here
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, len(bits), size=(2, 20000))
    d = FLOAT16.bit_distance(bits[i], bits[j])
    assert d.dtype == np.uint64
    steps = np.abs(np.searchsorted(ordered, v[i]) - np.searchsorted(ordered, v[j]))
    assert (d.astype(np.int64) == steps).all()
    assert (d == FLOAT16.bit_distance(bits[j], bits[i])).all()
    assert (d.astype(np.int64) == np.abs(FLOAT16.ordinal(bits[i]) - FLOAT16.ordinal(bits[j]))).all()


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_bit_distance_edges(fmt):
    s = fmt.sign_mask
    max_bits = PATTERNS[fmt.name][0]

    def dist(a, b):
        return fmt.bit_distance(np.array([a], dtype=fmt.uint_dtype), np.array([b], dtype=fmt.uint_dtype))

    assert int(dist(0, s)[0]) == 0
    assert int(dist(s | 1, 1)[0]) == 2
    assert int(dist(1, s | 1)[0]) == 2
    assert int(dist(0, 1)[0]) == 1
    assert int(dist(s, s | 1)[0]) == 1
    assert int(dist(max_bits, PATTERNS[fmt.name][2])[0]) == 1
    d = dist(max_bits | s, max_bits)
    assert d.dtype == np.uint64
    assert int(d[0]) == 2 * max_bits
    # adjacent values, drawn at random over the whole range, are 1 apart
    rng = np.random.default_rng(11)
    bits = rng.integers(0, max_bits, size=2000, dtype=fmt.uint_dtype)
    assert (fmt.bit_distance(bits, fmt.next_up(bits)) == 1).all()
    neg = bits | fmt.uint_dtype.type(s)
    assert (fmt.bit_distance(neg, fmt.next_down(neg)) == 1).all()


def test_bit_distance_float64_extremes_do_not_overflow():
    mx, inf = PATTERNS["float64"][0], PATTERNS["float64"][2]
    s = FLOAT64.sign_mask
    d = FLOAT64.bit_distance(np.array([mx | s, inf | s], dtype=np.uint64), np.array([mx, inf], dtype=np.uint64))
    assert d.dtype == np.uint64
    assert [int(x) for x in d] == [2 * mx, 2 * inf]
    assert 2 * inf < 2**64


# -- quantum_exponent, is_midpoint -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_quantum_exponent_edges(fmt):
    p, emin, emax, _ = SPEC[fmt.name]
    lowest = emin - p + 1
    values = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            np.nan,
            fmt.min_subnormal,
            fmt.min_normal,
            np.nextafter(fmt.min_normal, 0),
            1.0,
            np.nextafter(1.0, 0),
            -1.0,
            -np.nextafter(2.0, 0),
            fmt.max_finite,
        ]
    )
    got = fmt.quantum_exponent(values).tolist()
    assert got == [lowest, lowest, lowest, lowest, lowest, lowest, lowest, 1 - p, -p, 1 - p, 1 - p, emax - p + 1]
    assert fmt.min_quantum_exponent == lowest


def midpoint_cases(fmt: Format, dtype):
    """Values (in ``dtype``) and whether each is a midpoint of ``fmt``."""
    two = dtype(2)
    p = fmt.precision
    one, eps = dtype(1), two ** (-p)
    sub = two**fmt.min_quantum_exponent
    cases = [
        (one + eps, True),
        (-(one + eps), True),
        (one - eps / 2, True),  # between the largest value below 1 and 1
        (one, False),
        (one + 2 * eps, False),
        (one + eps * (1 + two**-8), False),
        (sub / 2, True),
        (-sub / 2, True),
        (sub * 3 / 2, True),
        (sub, False),
        (dtype(0), False),
        ((two - eps) * two**fmt.emax, True),  # between max_finite and 2**(emax+1)
        (dtype(fmt.max_finite), False),
        (dtype(np.inf), False),
        (dtype(np.nan), False),
    ]
    values = np.array([v for v, _ in cases], dtype=dtype)
    return values, [m for _, m in cases]


@pytest.mark.parametrize("fmt", SMALL, ids=str)
def test_is_midpoint_edges(fmt):
    values, want = midpoint_cases(fmt, np.float64)
    assert fmt.is_midpoint(values).tolist() == want


@pytest.mark.skipif(not LONGDOUBLE_IS_WIDE, reason="np.longdouble is not wider than float64 here")
def test_is_midpoint_edges_float64_in_longdouble():
    values, want = midpoint_cases(FLOAT64, np.longdouble)
    assert FLOAT64.is_midpoint(values).tolist() == want
    assert not FLOAT64.is_midpoint(np.array([1.0, 1 + 2.0**-52, 5e-324])).any()


# -- names, ranges ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("float32", FLOAT32),
        ("torch.float32", FLOAT32),
        ("float", FLOAT32),
        ("half", FLOAT16),
        ("torch.float16", FLOAT16),
        ("bf16", BFLOAT16),
        ("bfloat16", BFLOAT16),
        ("torch.bfloat16", BFLOAT16),
        ("double", FLOAT64),
        ("float64", FLOAT64),
        ("Float64", FLOAT64),
    ],
)
def test_format_named_accepts(name, fmt):
    assert format_named(name) is fmt


@pytest.mark.parametrize("name", ["float8", "torch.float8_e4m3fn", "int32", ""])
def test_format_named_rejects_with_accepted_names(name):
    with pytest.raises(ValueError, match="accepted") as info:
        format_named(name)
    message = str(info.value)
    for accepted in ("float16", "bfloat16", "float32", "float64"):
        assert accepted in message


@pytest.mark.parametrize("fmt", ALL, ids=str)
def test_bit_range(fmt):
    got = fmt.bit_range(5, 9)
    assert got.dtype == fmt.uint_dtype
    assert got.tolist() == [5, 6, 7, 8]
    top = fmt.bit_range(fmt.count - 2, fmt.count)
    assert [int(b) for b in top] == [2**fmt.width - 2, 2**fmt.width - 1]
    assert len(fmt.bit_range(3, 3)) == 0
    for start, stop in [(-1, 2), (0, fmt.count + 1), (5, 4)]:
        with pytest.raises(ValueError, match=fmt.name):
            fmt.bit_range(start, stop)


def test_all_bits():
    for fmt in (FLOAT16, BFLOAT16):
        bits = fmt.all_bits()
        assert bits.dtype == np.uint16
        assert len(bits) == 65536
        assert (bits == np.arange(65536)).all()
    for fmt in (FLOAT32, FLOAT64):
        with pytest.raises(ValueError, match="bit_range"):
            fmt.all_bits()


def test_hex():
    assert FLOAT16.hex(0x3C00) == "0x3c00"
    assert FLOAT32.hex(1) == "0x00000001"
    assert FLOAT64.hex(PATTERNS["float64"][2]) == "0x7ff0000000000000"


def test_is_midpoint_is_exact_just_above_minus_one_half():
    # s = -(1/2 - tiny): s - floor(s) = 1/2 + tiny rounds to 1/2 in float64; fmod does not round
    value = np.nextafter(-(2.0**-150), 0.0)  # float32 quantum there is 2**-149
    assert not FLOAT32.is_midpoint(np.array([value]))[0]
    assert FLOAT32.is_midpoint(np.array([-(2.0**-150)]))[0]


def test_documented_threshold_product_is_rounded_exactly_near_zero():
    # a product just above -1/2 of float64's smallest quantum was taken for a midpoint and rounded
    # away from its true side; the fast and mpmath references must agree there
    from suite.numerics.fastref import fast_reference
    from suite.numerics.params import Oracle, Params, Quantity
    from suite.numerics.reference import correctly_rounded

    params = Params(beta=float.fromhex("0x1.40fe7f5c1516dp-54"), threshold=0.0, product_format=FLOAT64)
    x = float.fromhex("-0x1.9854da2214abep-1022")
    fast = fast_reference(Quantity.FORWARD, np.array([x]), params, FLOAT64, Oracle.DOCUMENTED).rounded[0]
    assert fast == correctly_rounded(Quantity.FORWARD, x, params, FLOAT64, Oracle.DOCUMENTED)


def test_float32_round_by_hardware_equals_the_scaling_rounding():
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 1 << 64, 400_000, dtype=np.uint64)
    values = bits.view(np.float64)
    values = values[np.abs(values) < 2.0**130]  # around float32's range, subnormals and overflow included
    edges = FLOAT32.decode(np.array([1, 2, 0x7F7FFFFF, 0x00800000, 0x80000001], dtype=np.uint32))
    values = np.concatenate(
        [
            values,
            rng.uniform(-(2.0**-140), 2.0**-140, 50_000),
            edges,
            edges * (1 + 2.0**-30),
            [np.inf, -np.inf, np.nan, 0.0, -0.0, 3.4028235677973366e38, -3.4028235677973366e38],
        ]
    )
    fast = FLOAT32.round(values)
    slow = FLOAT32._round_by_scaling(values)
    same = (fast == slow) & (np.signbit(fast) == np.signbit(slow)) | (np.isnan(fast) & np.isnan(slow))
    assert same.all(), values[~same][:5]


@pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=lambda f: f.name)
def test_a_bit_range_reaches_the_top_pattern_and_may_be_empty_there(fmt):
    assert fmt.bit_range(fmt.count - 2, fmt.count).tolist() == [fmt.count - 2, fmt.count - 1]
    assert fmt.bit_range(fmt.count, fmt.count).tolist() == []
    assert fmt.bit_range(fmt.count, fmt.count).dtype == fmt.uint_dtype
