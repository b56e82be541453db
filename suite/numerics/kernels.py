"""Compiled (numba) loops of :mod:`suite.numerics.fastref`: the same arithmetic in a few passes instead of dozens.

Nothing here changes what is computed. Each loop is the element-wise transcription of the
NumPy code of :mod:`suite.numerics.fastref` (same operations, same order, same roundings: numba compiles
without ``fastmath``, so nothing is contracted into an FMA or reassociated; ``error_model=
"numpy"`` only drops Python's ZeroDivisionError check, and no divisor here is ever 0), and
the transcendental functions are *not* evaluated here: NumPy's ``exp``, ``log1p`` and
``tanh`` are called on the same arguments before the loop, as the NumPy path calls them.
(glibc's ``exp``/``log1p``/``tanh``, which numba would call, are within 1-2 ulp too, well
inside ``LIB_ULPS``, but they differ from NumPy's SIMD kernels in the last bit on a few
percent of arguments; calling NumPy's keeps every output, ``hi``, ``lo``, ``err`` and
``escalated`` included, bit-identical to the NumPy path, and keeps ``LIB_ULPS`` a statement
about one library.) ``tests/test_fastref_kernels.py`` checks the bit-identity.

Three loops:

* :func:`decide_float64`: ``W = float64`` (formats up to float32, float32 ``b``): the whole
  of ``_core`` (``y2 = 0``: the product ``b*x`` is exact), the special inputs, the documented
  branch, and the rounding decision, in two branch-free loops that LLVM vectorizes.
* :func:`sweep_chunk`: a sweep's chunk (``W = float64``): the reference of :func:`decide_float64`
  under both oracles, the ULP measure of ``suite.numerics.ulp.measure`` and the sweep's statistics,
  block by block.
* :func:`decide_x87`: ``W = np.longdouble`` in the x87 80-bit format: the rounding decision
  only (the roundings into the format, the midpoint tests, the binades), in exact integer
  arithmetic on the bit patterns of the long doubles the NumPy code computed (NumPy's long
  double ``frexp``/``ldexp``/``rint`` are slow scalar loops).

``np.maximum``/``np.minimum`` of float64 are mirrored by :func:`_maximum`/:func:`_minimum`:
NaN-propagating, and returning the *second* argument when the two compare equal (``±0``),
as NumPy's float64 loops do.
"""

from __future__ import annotations

import math

import numba
import numpy as np

EXPONENT_OF_ZERO = np.iinfo(np.int64).min

FORWARD, GRAD, GRAD2 = 0, 1, 2
"""Quantity codes of the loops."""

_SIGN_MASK = np.int64(0x7FFFFFFFFFFFFFFF)
_FRACTION_MASK = np.int64(0x000FFFFFFFFFFFFF)
_TWO_TO_64 = 18446744073709551616.0


def _jit(fn):
    """``numba.njit`` with a cache on disk where numba finds a place for one."""
    try:
        return numba.njit(cache=True, error_model="numpy")(fn)
    except RuntimeError:  # no cache locator for this file
        return numba.njit(error_model="numpy")(fn)


_inline = numba.njit(inline="always", error_model="numpy")


# -- binary64 fields (branch-free) -----------------------------------------------------------------


@_inline
def _pow2(k):
    """``2.0**k`` for ``-1022 <= k <= 1023``, exactly."""
    return np.int64((k + 1023) << 52).view(np.float64)


@_inline
def _log2_and_power_of_two(v):
    """``floor(log2|v|)`` and whether ``|v|`` is a power of two, for finite nonzero ``v``
    (meaningless otherwise: the callers select around it)."""
    bits = np.float64(v).view(np.int64) & _SIGN_MASK
    scaled_bits = np.float64(abs(v) * _TWO_TO_64).view(np.int64)  # subnormals: into the normals (exact)
    subnormal = (bits >> 52) == 0
    b = scaled_bits if subnormal else bits
    e = (b >> 52) - (1023 + 64 if subnormal else 1023)
    return e, (b & _FRACTION_MASK) == 0


@_inline
def _finite_nonzero(v):
    return np.isfinite(v) & (v != 0)


@_inline
def _binade_at_least(v, emin):
    """``max(floor(log2|v|), emin)`` of one float64 (``emin`` for 0, ±inf and NaN), for a format's
    ``emin >= -1022``: from the exponent field alone, since every binary64 subnormal lies below the
    format's normals (its field, 0, gives -1023 < ``emin``)."""
    biased = (np.float64(v).view(np.int64) >> 52) & 0x7FF
    return emin if biased == 0x7FF else max(biased - 1023, emin)


@_inline
def _quantum_exponent(v, p, emin):
    """``Format.quantum_exponent`` of one float64 (``p <= 24``, so ``emin >= -1022``)."""
    return _binade_at_least(v, emin) - p + 1


@_inline
def _round(v, p, emin, max_finite):
    """``Format.round`` and ``Format.is_midpoint`` of one float64 (``p <= 24``)."""
    q = _quantum_exponent(v, p, emin)
    scaled = v * _pow2(-q)  # exact, as np.ldexp's (p <= 24: every scaling stays in the normals)
    rounded = np.rint(scaled) * _pow2(q)
    rounded = np.copysign(np.inf, v) if abs(rounded) > max_finite else rounded
    # the fractional part s - trunc(s) is exact (s - floor(s) is not just above -1/2)
    return rounded, np.isfinite(v) & (abs(scaled - np.trunc(scaled)) == 0.5)


@_inline
def _exponent(v, lo_sign):
    """``fastref._exponent`` of one float64 (``lo_sign``: the known sign of the tail, or 0)."""
    e, power_of_two = _log2_and_power_of_two(v)
    sign_v = 1 if v > 0 else -1
    below = power_of_two & (lo_sign != 0) & (lo_sign != sign_v)
    e = e - 1 if below else e
    return e if _finite_nonzero(v) else EXPONENT_OF_ZERO


@_inline
def _maximum(a, b):
    """``np.maximum`` (float64): NaN if either is NaN, ``b`` when they compare equal."""
    return a if ((a > b) | (a != a)) else b


@_inline
def _minimum(a, b):
    """``np.minimum`` (float64): NaN if either is NaN, ``b`` when they compare equal."""
    return a if ((a < b) | (a != a)) else b


@_inline
def _int_sign(v):
    """``np.sign`` as an integer (0 for ±0 and NaN)."""
    return np.int64(v > 0) - np.int64(v < 0)


# -- W = float64 -----------------------------------------------------------------------------------


@_jit
def prepare_float64(x, beta, quantity, exp_cut):
    """The arguments of NumPy's transcendental functions, as ``fastref._core`` forms them.

    ``-|y|`` for ``exp`` (0 where ``|y| > exp_cut``: ``exp`` is 0 there and the decision
    loop says so itself; 0 is a fast argument) and, for the derivatives, ``y/2`` for
    ``tanh``, with ``y = b*x`` (non-finite ``x`` counting as 0). Also returns how many finite
    inputs have ``|y| <= exp_cut`` and ``|y| <= 1``: the decision reads ``exp`` (and ``log1p``)
    only at the first, ``tanh`` only at the second; where there are none, the caller need not
    evaluate them.
    """
    n = x.shape[0]
    exp_argument = np.empty(n, dtype=np.float64)
    half_y = np.empty(n if quantity != FORWARD else 0, dtype=np.float64)
    live, small = np.int64(0), np.int64(0)
    for i in range(n):
        xi = x[i]
        finite = np.isfinite(xi)
        y1 = beta * (xi if finite else 0.0)
        exp_argument[i] = -abs(y1) if abs(y1) <= exp_cut else 0.0
        live += np.int64(finite & (abs(y1) <= exp_cut))
        small += np.int64(finite & (abs(y1) <= 1))
    if quantity != FORWARD:
        for i in range(n):
            xi = x[i]
            half_y[i] = beta * (xi if np.isfinite(xi) else 0.0) / 2
    return exp_argument, half_y, live, small


@_inline
def _core_forward(xf, y1, e, tail, beta, rel, absolute):
    y2 = 0.0
    negative = y1 <= 0
    one_plus_e = 1 + e
    s = e / one_plus_e  # sigmoid(-|y|)
    slope = s if negative else -s
    corrected = (tail + slope * y2) / beta
    hi = corrected if negative else xf
    lo = 0.0 if negative else corrected
    err = rel * abs(corrected) + absolute
    lo_sign = np.int64(0) if negative else np.int64(1)
    return hi, lo, err, lo_sign


@_inline
def _exact_at_zero(y1, lo, err, lo_sign):
    """At ``y = 0`` the derivatives are exact (1/2 and b/4): no tail, no error, no side."""
    zero = y1 == 0
    return (0.0 if zero else lo), (0.0 if zero else err), (np.int64(0) if zero else lo_sign)


@_inline
def _core_grad(y1, e, t, rel, absolute_beta):
    y2 = 0.0
    negative = y1 <= 0
    one_plus_e = 1 + e
    s = e / one_plus_e
    sig_pos = 1 / one_plus_e
    ds = s * sig_pos * y2
    hi = s + ds if negative else 1.0
    lo = 0.0 if negative else -(s - ds)
    err = rel * abs(hi if negative else lo) + absolute_beta
    lo_sign = np.int64(0) if negative else np.int64(-1)
    small = abs(y1) <= 1
    small_lo = t / 2 + (1 - t * t) / 4 * y2
    hi = 0.5 if small else hi
    lo = small_lo if small else lo
    err = rel * abs(small_lo) if small else err
    lo_sign = _int_sign(y1) if small else lo_sign
    return hi, *_exact_at_zero(y1, lo, err, lo_sign)


@_inline
def _core_grad2(y1, e, t, beta, rel, absolute_beta2):
    y2 = 0.0
    one_plus_e = 1 + e
    s = e / one_plus_e
    h = beta * e / (one_plus_e * one_plus_e)
    sign_y = 1.0 if y1 > 0 else (-1.0 if y1 < 0 else 0.0)
    hi = h * (1 - sign_y * (1 - 2 * s) * y2)
    err = rel * abs(hi) + absolute_beta2
    small = abs(y1) <= 1
    quarter = beta / 4
    small_lo = -quarter * (t * t + (1 - t * t) * t * y2)
    hi = quarter if small else hi
    lo = small_lo if small else 0.0
    err = rel * abs(small_lo) if small else err
    lo_sign = np.int64(-1) if small else np.int64(0)
    return hi, *_exact_at_zero(y1, lo, err, lo_sign)


@_inline
def _finish(quantity, xi, hi, lo, err, lo_sign, above, limit_pos, limit_neg):
    """Special inputs, the documented branch, the two-sum and the bounds (``fast_reference``)."""
    finite = np.isfinite(xi)
    hi = np.nan if np.isnan(xi) else hi
    hi = limit_pos if xi == np.inf else hi
    hi = limit_neg if xi == -np.inf else hi
    lo = lo if finite else 0.0
    err = err if finite else 0.0
    lo_sign = lo_sign if finite else np.int64(0)
    if quantity == FORWARD:
        branch = xi
    elif quantity == GRAD:
        branch = 1.0
    else:
        branch = 0.0
    hi = branch if above else hi
    lo = 0.0 if above else lo
    err = 0.0 if above else err
    lo_sign = np.int64(0) if above else lo_sign
    positive = finite & ~above
    exact_part = hi
    total = exact_part + lo  # two-sum
    bb = total - exact_part
    tail = (exact_part - (total - bb)) + (lo - bb)
    tail = tail if np.isfinite(total) else 0.0
    lower = total + (tail - err)
    upper = total + (tail + err)
    lower = _maximum(lower, exact_part) if lo_sign > 0 else lower
    upper = _minimum(upper, exact_part) if lo_sign < 0 else upper
    lo_sign = lo_sign if total == exact_part else np.int64(0)
    lower = _maximum(lower, 0.0) if positive else lower
    return total, tail, err, lo_sign, lower, upper


@_inline
def _decide(hi, lo, err, lo_sign, lower, upper, p, emin, max_finite):
    """rounded (NaN if undecided), exponent, decided: the decision of ``fast_reference`` for one element."""
    r_lower, mid_lower = _round(lower, p, emin, max_finite)
    r_upper, mid_upper = _round(upper, p, emin, max_finite)
    exact = err == 0
    decided = (r_lower == r_upper) & (np.signbit(r_lower) == np.signbit(r_upper))
    decided = decided & (exact | ~(mid_lower | mid_upper))
    decided = decided | np.isnan(hi)
    sign_of_lo = lo_sign if lo_sign != 0 else (_int_sign(lo) if abs(lo) > err else np.int64(0))
    exponent = _exponent(hi, sign_of_lo)
    # the binade of v must be certain too (down to the subnormal range)
    binades_differ = _binade_at_least(lower, emin) != _binade_at_least(upper, emin)
    at_power_of_two = _finite_nonzero(hi) & _log2_and_power_of_two(hi)[1] & (sign_of_lo == 0) & (lo != 0)
    decided = decided & ~(~exact & (binades_differ | at_power_of_two))
    return (r_lower if decided else np.nan), exponent, decided


@_jit
def decide_float64(
    quantity,
    x,
    exp_minus_abs_y,
    second,
    above,
    beta,
    rel,
    absolute,
    absolute_beta,
    absolute_beta2,
    limit_pos,
    limit_neg,
    exp_cut,
    p,
    emin,
    max_finite,
):
    """``fast_reference``'s values for ``W = float64``, given NumPy's transcendental values.

    ``exp_minus_abs_y``: ``exp`` of :func:`prepare_float64`'s first array (read only where
    ``|y| <= exp_cut``; 0 elsewhere); ``second``: for the forward value, ``log1p`` of that
    (read only where ``|y| <= exp_cut`` too; ``log1p(0) = 0`` elsewhere), for the derivatives,
    ``tanh`` of :func:`prepare_float64`'s second array; ``above``: the documented rule's
    ``b*x > t`` (all False for the mathematical oracle). Returns rounded (NaN where undecided),
    hi, lo, err, exponent, decided.
    """
    n = x.shape[0]
    hi_out = np.empty(n, dtype=np.float64)
    lo_out = np.empty(n, dtype=np.float64)
    err_out = np.empty(n, dtype=np.float64)
    lower_out = np.empty(n, dtype=np.float64)
    upper_out = np.empty(n, dtype=np.float64)
    lo_sign_out = np.empty(n, dtype=np.int64)
    # one branch-free loop per quantity (each vectorizes), then one for the decision
    if quantity == FORWARD:
        for i in range(n):
            xi = x[i]
            xf = xi if np.isfinite(xi) else 0.0
            y1 = beta * xf
            live = abs(y1) <= exp_cut
            e = exp_minus_abs_y[i] if live else 0.0
            tail = second[i] if live else 0.0  # log1p(0) = 0
            hi, lo, err, lo_sign = _core_forward(xf, y1, e, tail, beta, rel, absolute)
            r = _finish(FORWARD, xi, hi, lo, err, lo_sign, above[i], limit_pos, limit_neg)
            hi_out[i], lo_out[i], err_out[i], lo_sign_out[i], lower_out[i], upper_out[i] = r
    elif quantity == GRAD:
        for i in range(n):
            xi = x[i]
            y1 = beta * (xi if np.isfinite(xi) else 0.0)
            e = exp_minus_abs_y[i] if abs(y1) <= exp_cut else 0.0
            hi, lo, err, lo_sign = _core_grad(y1, e, second[i], rel, absolute_beta)
            r = _finish(GRAD, xi, hi, lo, err, lo_sign, above[i], limit_pos, limit_neg)
            hi_out[i], lo_out[i], err_out[i], lo_sign_out[i], lower_out[i], upper_out[i] = r
    else:
        for i in range(n):
            xi = x[i]
            y1 = beta * (xi if np.isfinite(xi) else 0.0)
            e = exp_minus_abs_y[i] if abs(y1) <= exp_cut else 0.0
            hi, lo, err, lo_sign = _core_grad2(y1, e, second[i], beta, rel, absolute_beta2)
            r = _finish(GRAD2, xi, hi, lo, err, lo_sign, above[i], limit_pos, limit_neg)
            hi_out[i], lo_out[i], err_out[i], lo_sign_out[i], lower_out[i], upper_out[i] = r
    rounded = np.empty(n, dtype=np.float64)
    exponent = np.empty(n, dtype=np.int64)
    decided = np.empty(n, dtype=np.bool_)
    for i in range(n):
        rounded[i], exponent[i], decided[i] = _decide(
            hi_out[i], lo_out[i], err_out[i], lo_sign_out[i], lower_out[i], upper_out[i], p, emin, max_finite
        )
    return rounded, hi_out, lo_out, err_out, exponent, decided


# -- W = x87 long double: the decision from the bit patterns -----------------------------------------
#
# An x87 extended value is stored little-endian in 16 bytes: the 64-bit significand ``m``
# (explicit leading bit) in the first word, sign and 15-bit biased exponent in the low 16 bits
# of the second (the other 48 bits are padding). Its value is ``m * 2**E`` with
# ``E = max(biased, 1) - 16383 - 63``; biased 0x7FFF is infinity (``m = 2**63``) or NaN.

_TOP_BIT = np.uint64(1 << 63)


@_inline
def _bit_length32(v):
    """Bit length of ``0 <= v < 2**32`` (from the exponent of the exact float64 ``v``)."""
    return ((np.float64(v).view(np.int64) >> 52) - 1022) if v else np.int64(0)


@_inline
def _bit_length(m):
    """Bit length of a uint64."""
    high = m >> np.uint64(32)
    return _bit_length32(high) + 32 if high else _bit_length32(m & np.uint64(0xFFFFFFFF))


@_inline
def _x87_fields(words, i):
    m = words[2 * i]
    se = np.int64(words[2 * i + 1] & np.uint64(0xFFFF))
    return m, se & 0x7FFF, (se >> 15) != 0


@_inline
def _x87_is_nan(m, biased):
    return biased == 0x7FFF and m != _TOP_BIT


@_inline
def _x87_finite_nonzero(m, biased):
    return biased != 0x7FFF and m != 0


@_inline
def _x87_log2(m, biased):
    """``E`` and ``floor(log2|v|)`` of a finite nonzero value."""
    scale = max(biased, 1) - 16383 - 63
    if m & _TOP_BIT:
        return scale, scale + 63
    return scale, scale + _bit_length(m) - 1


@_inline
def _x87_split(m, scale, q, negative):
    """``m * 2**scale`` rounded to an integer multiple of ``2**q`` (nearest, ties to even): the
    multiple, and whether it is exactly halfway (``Format.is_midpoint``; ``q > scale`` here)."""
    shift = q - scale
    if shift > 64:  # below half a quantum: rounds to 0, no tie
        return np.uint64(0), False
    if shift == 64:
        return np.uint64(1 if m > _TOP_BIT else 0), m == _TOP_BIT
    s = np.uint64(shift)
    n = m >> s
    rest = m & ((np.uint64(1) << s) - np.uint64(1))
    half = np.uint64(1) << (s - np.uint64(1))
    if rest > half or (rest == half and (n & np.uint64(1))):
        n += np.uint64(1)
    return n, rest == half


@_inline
def _x87_round(m, biased, negative, p, emin, emax):
    """``Format.round`` of one long double (as float64, which holds it exactly) and ``Format.is_midpoint``."""
    if biased == 0x7FFF:
        if m != _TOP_BIT:
            return np.nan, False
        return (-np.inf if negative else np.inf), False
    if m == 0:
        return (-0.0 if negative else 0.0), False
    scale, e = _x87_log2(m, biased)
    q = max(e, emin) - p + 1
    n, midpoint = _x87_split(m, scale, q, negative)
    if n == 0:
        return (-0.0 if negative else 0.0), midpoint
    if q + _bit_length(n) - 1 > emax:
        return (-np.inf if negative else np.inf), midpoint
    # a subnormal quantum: two exact scalings
    v = np.float64(n) * _pow2(q) if q >= -1022 else np.float64(n) * _pow2(q + 128) * _pow2(-128)
    return (-v if negative else v), midpoint


@_inline
def _x87_exponent(m, biased, negative, lo_sign):
    """``fastref._exponent`` of one long double."""
    if not _x87_finite_nonzero(m, biased):
        return EXPONENT_OF_ZERO
    e = _x87_log2(m, biased)[1]
    sign_v = -1 if negative else 1
    if (m & (m - np.uint64(1))) == 0 and lo_sign != 0 and lo_sign != sign_v:
        return e - 1
    return e


@_inline
def _x87_abs_greater(m_a, biased_a, m_b, biased_b, negative_b):
    """``|a| > b`` (False if either is NaN)."""
    if _x87_is_nan(m_a, biased_a) or _x87_is_nan(m_b, biased_b):
        return False
    if negative_b and m_b != 0:
        return True
    return biased_a > biased_b or (biased_a == biased_b and m_a > m_b)


@_inline
def _x87_equal(m_a, biased_a, negative_a, m_b, biased_b, negative_b):
    """``a == b``."""
    if _x87_is_nan(m_a, biased_a) or _x87_is_nan(m_b, biased_b):
        return False
    if m_a == 0 and m_b == 0:
        return True
    return m_a == m_b and biased_a == biased_b and negative_a == negative_b


@_jit
def decide_x87(hi, lo, err, lower, upper, exact_part, lo_sign, p, emin, emax):
    """The decision of ``fast_reference`` from long double bit patterns (``uint64`` views).

    ``lo_sign``: before its update (``hi == exact_part``), as ``fast_reference`` has it when it
    bounds ``lower`` and ``upper``. Returns rounded (NaN where undecided), exponent, decided.
    """
    n = lo_sign.shape[0]
    rounded = np.empty(n, dtype=np.float64)
    exponent = np.empty(n, dtype=np.int64)
    decided_out = np.empty(n, dtype=np.bool_)
    for i in range(n):
        m_hi, b_hi, neg_hi = _x87_fields(hi, i)
        m_lo, b_lo, neg_lo = _x87_fields(lo, i)
        m_err, b_err, neg_err = _x87_fields(err, i)
        m_l, b_l, neg_l = _x87_fields(lower, i)
        m_u, b_u, neg_u = _x87_fields(upper, i)
        m_x, b_x, neg_x = _x87_fields(exact_part, i)
        sign = np.int64(lo_sign[i])
        if not _x87_equal(m_hi, b_hi, neg_hi, m_x, b_x, neg_x):
            sign = np.int64(0)
        r_lower, mid_lower = _x87_round(m_l, b_l, neg_l, p, emin, emax)
        r_upper, mid_upper = _x87_round(m_u, b_u, neg_u, p, emin, emax)
        exact = m_err == 0 and b_err == 0
        decided = r_lower == r_upper and np.signbit(r_lower) == np.signbit(r_upper)
        decided = decided and (exact or not (mid_lower or mid_upper))
        decided = decided or _x87_is_nan(m_hi, b_hi)
        sign_of_lo = sign
        if sign_of_lo == 0 and _x87_abs_greater(m_lo, b_lo, m_err, b_err, neg_err):
            sign_of_lo = np.int64(-1 if neg_lo else 1)
        exponent[i] = _x87_exponent(m_hi, b_hi, neg_hi, sign_of_lo)
        if not exact:
            e_lower = max(_x87_exponent(m_l, b_l, neg_l, 0), emin)
            e_upper = max(_x87_exponent(m_u, b_u, neg_u, 0), emin)
            power_of_two = _x87_finite_nonzero(m_hi, b_hi) and (m_hi & (m_hi - np.uint64(1))) == 0
            lo_nonzero = m_lo != 0 or b_lo != 0
            if e_lower != e_upper or (power_of_two and sign_of_lo == 0 and lo_nonzero):
                decided = False
        rounded[i] = r_lower if decided else np.nan
        decided_out[i] = decided
    return rounded, exponent, decided_out


# -- entry points for the tests: the element-wise helpers over arrays -------------------------------


@_jit
def round_float64(v, p, emin, max_finite):
    """``Format.round``, ``Format.is_midpoint`` and ``fastref._exponent`` (tail sign 0) of float64s, as
    :func:`decide_float64` computes them (``p <= 24``)."""
    n = v.shape[0]
    rounded = np.empty(n, dtype=np.float64)
    midpoint = np.empty(n, dtype=np.bool_)
    exponent = np.empty(n, dtype=np.int64)
    for i in range(n):
        rounded[i], midpoint[i] = _round(v[i], p, emin, max_finite)
        exponent[i] = _exponent(v[i], 0)
    return rounded, midpoint, exponent


@_jit
def round_x87(words, p, emin, emax):
    """``Format.round``, ``Format.is_midpoint`` and ``fastref._exponent`` (tail sign 0) of long doubles
    (``uint64`` words), as :func:`decide_x87` computes them."""
    n = words.shape[0] // 2
    rounded = np.empty(n, dtype=np.float64)
    midpoint = np.empty(n, dtype=np.bool_)
    exponent = np.empty(n, dtype=np.int64)
    for i in range(n):
        m, biased, negative = _x87_fields(words, i)
        rounded[i], midpoint[i] = _x87_round(m, biased, negative, p, emin, emax)
        exponent[i] = _x87_exponent(m, biased, negative, 0)
    return rounded, midpoint, exponent


# -- the sweep: reference, ULP measure and statistics of a chunk ----------------------------------
#
# ``sweep_chunk`` composes, block by block, the reference of ``decide_float64`` (both oracles),
# ``suite.numerics.ulp.measure`` and the sweep's summaries (``suite.sweep.OracleTotals``), with the same
# per-element arithmetic (same operations, same order) and without chunk-sized arrays in
# between. Blocks, not one fused loop: the reference and the measure are branch-free loops that
# LLVM vectorizes, and fused into one loop with the statistics they ran several times slower.
# ``tests/test_sweep.py`` checks that it gives the NumPy path's statistics on every float16 and
# bfloat16 input and on float32 ranges.

_block_level = numba.njit(error_model="numpy")
"""The per-block functions: compiled apart and called once a block (the call costs nothing).
Inlined by numba at each call site, like the per-element helpers, they made the first
compilation of :func:`sweep_chunk` take minutes."""


def _named(fn, name: str):
    """``fn`` under a name of its own, for a function made by a factory (one per quantity).

    numba names compiled code after the function's qualified name and a counter of the process
    that compiles it. The cached entry points carry their callees' code with them, so two cached
    entry points, compiled by different processes, can bring two different loops of one qualified
    name (``_measured_loop.<locals>.loop``) with one counter into a process, and one entry point
    then runs the other's loop: the gradient's sweep ran the forward value's reference. With a name
    of its own, each loop's symbol is its own (``tests/test_fastref_kernels.py`` checks that no two
    compiled functions here share one)."""
    fn.__name__ = fn.__qualname__ = name
    return fn


BLOCK = 1024
"""Inputs per block: the block's intermediate arrays stay in the first-level caches."""

TALLY_BEST, TALLY_COUNTED, TALLY_CORRECT, TALLY_FAITHFUL, TALLY_FAILURES = 0, 1, 2, 3, 4
"""Columns of ``counts``: index of the first largest error (-1: none), inputs with a numeric
error, correctly rounded, faithful, then one column per failure code (0-5)."""

TALLY_SHARED, TALLY_DOCUMENTED, TALLY_MATH = 0, 1, 2
"""Rows of the summaries: blocks where the two oracles give the same reference (no input takes
the documented ``x`` branch, or where one does, the mathematical reference is that value too),
then the documented and the mathematical oracle on the other blocks. The documented oracle's
statistics are rows 0 and 1 together; the mathematical one's, 0 and 2."""

EVENT_UNDECIDED, EVENT_ZERO, EVENT_WRONG_STEP, EVENT_DISAGREE = 0, 1, 3, 5
"""``events``: [0] undecided roundings (inputs without an override); then (count, first index)
of outputs of 0 where the correct rounding is > 0, of wrong-way steps (the later input of the
pair) and of path disagreements."""


@_inline
def _ordinal(v, p, emin, emax):
    """``Format.ordinal(Format.encode(v))`` for a value ``v`` of a format of ``p <= 24`` bits
    (0 for NaN: the measure never reads a NaN's ordinal)."""
    if emin == -126 and emax == 127:
        # float32's exponent range (float32, bfloat16): the values are float32 values whose last
        # 24 - p bits are 0, and the ordinal is the magnitude's bit pattern, shifted
        magnitude = np.int64(np.float32(v).view(np.int32) & 0x7FFFFFFF) >> (24 - p)
        magnitude = np.int64(0) if v != v else magnitude
        return -magnitude if np.signbit(v) else magnitude
    a = abs(v)
    e = _log2_and_power_of_two(a)[0]
    subnormal = np.int64(a * _pow2(p - 1 - emin))
    normal = (np.int64(e - emin + 1) << (p - 1)) + np.int64((a * _pow2(-e) - 1.0) * _pow2(p - 1))
    m = subnormal if a < _pow2(emin) else normal
    m = (np.int64(emax - emin + 2) << (p - 1)) if a == np.inf else m
    m = np.int64(0) if a != a else m
    return -m if np.signbit(v) else m


@_inline
def _measure_one(yi, h, lw, r, exponent, tiny, p, emin, emax, overflow_value):
    """``suite.numerics.ulp.measure`` of one output ``yi`` against ``h + lw`` (correct rounding ``r``):
    ULP error (NaN on a failure), failure code, correctly rounded, faithful. ``tiny``: the exact
    value is not 0 but below the working type's range (``h = lw = 0``), on the side of 0 that the
    sign of ``r`` shows."""
    y_ord, r_ord = _ordinal(yi, p, emin, emax), _ordinal(r, p, emin, emax)
    v_nan, v_inf = np.isnan(h), np.isinf(h)
    y_nan, y_inf = np.isnan(yi), np.isinf(yi)
    f = np.int8(0)
    f = np.int8(2) if (not v_nan and y_nan) else f
    f = np.int8(1) if (v_nan and not y_nan) else f
    f = np.int8(3) if (v_inf and not y_nan and yi != h) else f
    f = np.int8(4) if (not v_nan and not v_inf and y_inf and not np.isinf(r)) else f
    f = np.int8(5) if (yi == 0 and r == 0 and np.signbit(yi) != np.signbit(r) and f == 0) else f
    y_eff = math.copysign(overflow_value, yi) if (y_inf and not v_inf) else yi
    r_eff = math.copysign(overflow_value, r) if (np.isinf(r) and not v_inf) else r
    e = emin if exponent == EXPONENT_OF_ZERO else exponent
    q = max(e, emin) - p + 1
    signed_distance = (y_eff - h) - lw
    err = abs(signed_distance) * _pow2(-q)  # q >= emin - p + 1 >= -1022 for p <= 24: exact
    r_side = (1.0 if np.signbit(r) else -1.0) if tiny else np.sign((r_eff - h) - lw)
    exact_match = (v_nan and y_nan) or (v_inf and yi == h) or (y_inf and yi == r and e > emax)
    err = 0.0 if exact_match else err
    ok = f == 0
    err = err if ok else np.nan
    distance = abs(y_ord - r_ord)
    distance = np.int64(0) if (v_nan and y_nan) else distance
    c = ok and (distance == 0 or (v_nan and y_nan))
    other_side = distance == 1 and r_side != 0 and np.sign(signed_distance) == -r_side
    return err, f, c, ok and (c or other_side)


@_inline
def _above(xi, beta, threshold, rounds_to_float32):
    """The documented rule's ``b*x > t`` (``Params.product_format`` float32, or exact)."""
    y1 = beta * xi if np.isfinite(xi) else xi  # exact: b and x have <= 24 bits
    product = np.float64(np.float32(y1)) if rounds_to_float32 else y1  # one rounding, to nearest even
    return product > threshold


@_inline
def _forward(xf, y1, e, second, live, constants):
    beta, rel, absolute = constants[0], constants[1], constants[2]
    return _core_forward(xf, y1, e, second if live else 0.0, beta, rel, absolute)  # log1p(0) = 0


@_inline
def _grad(xf, y1, e, second, live, constants):
    return _core_grad(y1, e, second, constants[1], constants[3])


@_inline
def _grad2(xf, y1, e, second, live, constants):
    return _core_grad2(y1, e, second, constants[0], constants[1], constants[4])


def _measured_loop(core, quantity, name):
    """The reference and measure loop of :func:`sweep_chunk` for one quantity (``core``: :func:`_forward`, :func:`_grad`
    or :func:`_grad2`), compiled as ``name``: one loop per quantity, because with the choice inside, it ran slower."""

    def loop(x, y, exp_minus_abs_y, second, above, start, stop, constants, p, emin, emax, out):
        rounded_out, error_out, failure_out, correct_out, faithful_out, decided_out, hi_out, lo_out, exponent_out = out
        beta, limit_pos, limit_neg, exp_cut = constants[0], constants[5], constants[6], constants[7]
        max_finite = (2.0 - _pow2(1 - p)) * _pow2(emax)
        overflow_value = _pow2(emax + 1)
        for i in range(start, stop):
            j = i - start
            xi, yi = x[i], np.float64(y[i])
            xf = xi if np.isfinite(xi) else 0.0
            y1 = beta * xf
            live = abs(y1) <= exp_cut
            e = exp_minus_abs_y[i] if live else 0.0
            hi, lo, err, lo_sign = core(xf, y1, e, second[i], live, constants)
            hi, lo, err, lo_sign, lower, upper = _finish(
                quantity, xi, hi, lo, err, lo_sign, above[j], limit_pos, limit_neg
            )
            rounded, exponent, decided = _decide(hi, lo, err, lo_sign, lower, upper, p, emin, max_finite)
            tiny = (hi == 0) & (lo == 0) & (err > 0)
            m = _measure_one(yi, hi, lo, rounded, exponent, tiny, p, emin, emax, overflow_value)
            rounded_out[j], decided_out[j] = rounded, decided
            error_out[j], failure_out[j], correct_out[j], faithful_out[j] = m
            hi_out[j], lo_out[j], exponent_out[j] = hi, lo, exponent

    return _block_level(_named(loop, name))


_measured_forward = _measured_loop(_forward, FORWARD, "_measured_forward")
_measured_grad = _measured_loop(_grad, GRAD, "_measured_grad")
_measured_grad2 = _measured_loop(_grad2, GRAD2, "_measured_grad2")


@_inline
def _finite_one_sign(x, start, stop):
    """Are the first and the last input of ``[start, stop)`` finite and of one sign? The inputs are
    consecutive bit patterns, so then every input between is too, in order of magnitude (what the
    block-wide shortcuts below rest on)."""
    first, last = x[start], x[stop - 1]
    return np.isfinite(first) and np.isfinite(last) and np.signbit(first) == np.signbit(last)


@_inline
def _wrong_step(quantity, x, y, i):
    """Does output ``i`` step the wrong way from output ``i - 1`` (consecutive patterns, so
    within one sign ``|x|`` grows with ``i``)? Softplus and its gradient rise with ``x``; the
    second derivative falls as ``|x|`` grows."""
    xi, yi, xp, yp = x[i], np.float64(y[i]), x[i - 1], np.float64(y[i - 1])
    usable = (np.signbit(xi) == np.signbit(xp)) & np.isfinite(xi) & np.isfinite(xp) & (yi == yi) & (yp == yp)
    falls_with_size = quantity == GRAD2 or np.signbit(xi)
    wrong = yi > yp if falls_with_size else yi < yp
    return (i > 0) & usable & wrong


@_inline
def _differs(y, y_other, i):
    yi, other = np.float64(y[i]), np.float64(y_other[i])
    return not ((yi == other) | ((yi != yi) & (other != other)))


@_block_level
def _events_block(quantity, x, y, y_other, rounded, start, stop, events):
    """Count the property violations of ``[start, stop)`` into ``events`` (``EVENT_*``): outputs
    of 0 where the correct rounding ``rounded`` (the block's) is > 0, wrong-way steps, and, if
    ``y_other`` is given, path disagreements; with the first index of each."""
    compare_paths = y_other.shape[0] == y.shape[0]
    zero, wrong, differ = np.int64(0), np.int64(0), np.int64(0)
    # past the first input of a block that is finite and of one sign (_finite_one_sign), a step is
    # wrong by one comparison of the outputs (a NaN compares False: never wrong)
    if _finite_one_sign(x, start, stop):
        wrong += np.int64(_wrong_step(quantity, x, y, start))
        if quantity == GRAD2 or np.signbit(x[start]):
            for i in range(start + 1, stop):
                wrong += np.int64(y[i] > y[i - 1])
        else:
            for i in range(start + 1, stop):
                wrong += np.int64(y[i] < y[i - 1])
    else:
        for i in range(start, stop):
            wrong += np.int64(_wrong_step(quantity, x, y, i))
    for i in range(start, stop):
        zero += np.int64((y[i] == 0) & (rounded[i - start] > 0))
    if compare_paths:
        for i in range(start, stop):
            differ += np.int64(_differs(y, y_other, i))
    # the first of each: a second look, only in the block where it is
    if zero and events[EVENT_ZERO + 1] < 0:
        for i in range(start, stop):
            if (y[i] == 0) & (rounded[i - start] > 0):
                events[EVENT_ZERO + 1] = i
                break
    if wrong and events[EVENT_WRONG_STEP + 1] < 0:
        for i in range(start, stop):
            if _wrong_step(quantity, x, y, i):
                events[EVENT_WRONG_STEP + 1] = i
                break
    if differ and events[EVENT_DISAGREE + 1] < 0:
        for i in range(start, stop):
            if _differs(y, y_other, i):
                events[EVENT_DISAGREE + 1] = i
                break
    events[EVENT_ZERO] += zero
    events[EVENT_WRONG_STEP] += wrong
    events[EVENT_DISAGREE] += differ


@_inline
def _column(xi, emin, columns):
    """The binade map's column of a finite ``xi``: 0 for zero, 1 subnormal, ``2 + e - emin`` for
    binade ``e``, plus ``columns`` for negative ``xi``."""
    ex = _log2_and_power_of_two(xi)[0]
    c = 0 if xi == 0 else (1 if ex < emin else 2 + ex - emin)
    return c + columns if np.signbit(xi) else c


@_block_level
def _tally_block(x, start, stop, measured, row, emin, emax, histogram, binade_max, sums, counts, scratch):
    """Fold a block's measurements into row ``row`` of the summaries (see :func:`sweep_chunk`).

    Histogram buckets of :data:`suite.numerics.stats.BUCKET_LABELS`: 0 for an error of 0; for ``0 < e``,
    ``clamp(ceil(log2 e) + 2, 1, n - 2)`` (``<=0.5`` is 1, ``<=1`` is 2, ``<=2**k`` is ``k + 2``,
    above ``2**20`` is ``n - 2``); failures ``n - 1``. ``binade_max`` [row, sign * columns +
    column]. ``scratch``: two int64 arrays of ``BLOCK``."""
    rounded, error, failure, correct, faithful = measured[:5]
    bucket, column = scratch
    size = stop - start
    n_buckets = histogram.shape[1]
    columns = emax - emin + 3
    n_correct, n_faithful, counted = np.int64(0), np.int64(0), np.int64(0)
    block_sum, block_max = 0.0, -1.0
    # the block's inputs are consecutive patterns: where the first and the last are finite, of one
    # sign and in one column, so are all between (the column grows with |x|), and the column's
    # largest error is the block's
    first, last = x[start], x[stop - 1]
    c_first, c_last = _column(first, emin, columns), _column(last, emin, columns)
    one_column = np.isfinite(first) & np.isfinite(last) & (c_first == c_last)
    # one vectorized pass: bucket (and binade) of each input, and the block's reductions
    for j in range(size):
        err = error[j]
        ok = failure[j] == 0
        # ceil(log2 err) from the exponent field: a binary64 subnormal error (field 0) lands in
        # bucket 1 either way
        bits = np.float64(err).view(np.int64)
        e, power_of_two = (bits >> 52) - 1023, (bits & _FRACTION_MASK) == 0
        b = min(max(e + (0 if power_of_two else 1) + 2, 1), n_buckets - 2)
        b = 0 if err == 0 else b
        bucket[j] = b if ok else n_buckets - 1
        n_correct += np.int64(correct[j])
        n_faithful += np.int64(faithful[j])
        counted += np.int64(ok)
        block_sum += err if ok else 0.0
        block_max = max(block_max, err if ok else -1.0)
    if not one_column:
        for j in range(size):
            xi = x[start + j]
            column[j] = _column(xi, emin, columns) if ((failure[j] == 0) & np.isfinite(xi)) else -1
    # the histogram in four interleaved copies: consecutive inputs mostly share a bucket, and
    # one copy would make each increment wait for the last
    local = np.zeros((4, n_buckets), dtype=np.int64)
    quarter = size - size % 4
    for j in range(0, quarter, 4):
        local[0, bucket[j]] += 1
        local[1, bucket[j + 1]] += 1
        local[2, bucket[j + 2]] += 1
        local[3, bucket[j + 3]] += 1
    for j in range(quarter, size):
        local[0, bucket[j]] += 1
    for k in range(n_buckets):
        histogram[row, k] += local[0, k] + local[1, k] + local[2, k] + local[3, k]
    if one_column:
        if counted and block_max > binade_max[row, c_first]:
            binade_max[row, c_first] = block_max
    else:
        for j in range(size):
            c = column[j]
            if c >= 0 and error[j] > binade_max[row, c]:
                binade_max[row, c] = error[j]
    if counted < size:
        for j in range(size):
            if failure[j] != 0:
                counts[row, TALLY_FAILURES + failure[j]] += 1
    if counted and (counts[row, TALLY_BEST] < 0 or block_max > sums[row, 2]):
        for j in range(size):  # the first input with the block's largest error
            if failure[j] == 0 and error[j] == block_max:
                sums[row, 2], sums[row, 3], counts[row, TALLY_BEST] = block_max, rounded[j], start + j
                break
    # Neumaier's compensated sum of the blocks' sums: the mean does not depend on the chunking
    total = sums[row, 0]
    new_total = total + block_sum
    if abs(total) >= block_sum:
        sums[row, 1] += (total - new_total) + block_sum
    else:
        sums[row, 1] += (block_sum - new_total) + total
    sums[row, 0] = new_total
    counts[row, TALLY_COUNTED] += counted
    counts[row, TALLY_CORRECT] += n_correct
    counts[row, TALLY_FAITHFUL] += n_faithful


@_block_level
def _documented_is_mathematical(quantity, x, start, stop, above, mathematical):
    """Does the mathematical pass give, at every input of the block taking the documented
    branch, the documented reference itself (value ``x``, 1 or 0 with no tail, same rounding and
    binade)? Then the two oracles' measurements are the same and the documented pass is not run."""
    rounded, hi, lo, exponent = mathematical[0], mathematical[6], mathematical[7], mathematical[8]
    for i in range(start, stop):
        j = i - start
        if not above[j]:
            continue
        value = x[i] if quantity == FORWARD else (1.0 if quantity == GRAD else 0.0)
        if not (hi[j] == value and lo[j] == 0 and rounded[j] == value and exponent[j] == _exponent(value, 0)):
            return False
    return True


@_block_level
def _block_arrays():
    """The arrays a measured loop (:func:`_measured_loop`) fills for one block: rounding, ULP error,
    failure, correctly rounded, faithful, decided, and the reference's hi, lo and exponent."""
    flags = [np.empty(BLOCK, dtype=np.bool_) for _ in range(3)]
    values = (np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK, dtype=np.int8))
    reference = (np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK, dtype=np.int64))
    return (*values, flags[0], flags[1], flags[2], *reference)


@_block_level
def _override(y, start, stop, k, override_index, values, exponents, o, p, emin, emax, out):
    """Replace the reference (and measure again) at the inputs of ``[start, stop)`` listed in
    ``override_index[k:]`` (sorted) with oracle ``o``'s values from mpmath: ``values[o]`` =
    (correct rounding, hi, lo), ``exponents[o]``."""
    rounded_out, error_out, failure_out, correct_out, faithful_out, decided_out, hi_out, lo_out, exponent_out = out
    overflow_value = _pow2(emax + 1)
    while k < override_index.shape[0] and override_index[k] < stop:
        i = override_index[k]
        j = i - start
        yi, r = np.float64(y[i]), values[o, 0, k]
        h, lw = values[o, 1, k], values[o, 2, k]
        tiny = (h == 0) & (lw == 0) & (exponents[o, k] != EXPONENT_OF_ZERO)  # mpmath knows its binade
        m = _measure_one(yi, h, lw, r, exponents[o, k], tiny, p, emin, emax, overflow_value)
        rounded_out[j], decided_out[j] = r, True
        hi_out[j], lo_out[j], exponent_out[j] = h, lw, exponents[o, k]
        error_out[j], failure_out[j], correct_out[j], faithful_out[j] = m
        k += 1


def _sweep_chunk(measured_loop, name):
    """:func:`sweep_chunk`'s body for one measured loop (:func:`_measured_loop`), compiled as ``name``."""

    def sweep(
        quantity,
        x,
        y,
        y_other,
        exp_minus_abs_y,
        second,
        constants,
        threshold,
        rounds_to_float32,
        p,
        emin,
        emax,
        override_index,
        override_values,
        override_exponent,
        histogram,
        binade_max,
        sums,
        counts,
        events,
        undecided_index,
    ):
        """:func:`sweep_chunk` with the measured loop of its quantity."""
        n = x.shape[0]
        mathematical, documented = _block_arrays(), _block_arrays()
        above, never = np.empty(BLOCK, dtype=np.bool_), np.zeros(BLOCK, dtype=np.bool_)
        scratch = (np.empty(BLOCK, dtype=np.int64), np.empty(BLOCK, dtype=np.int64))
        beta = constants[0]
        next_override = 0
        for start in range(0, n, BLOCK):
            stop = min(n, start + BLOCK)
            size = stop - start
            while next_override < override_index.shape[0] and override_index[next_override] < start:
                next_override += 1
            # b*x > t is monotone in x: in a block that is finite and of one sign (_finite_one_sign),
            # where the first and the last input are on one side, every input is on that side
            side = _above(x[start], beta, threshold, rounds_to_float32)
            if _finite_one_sign(x, start, stop) and side == _above(x[stop - 1], beta, threshold, rounds_to_float32):
                branch = np.int64(size if side else 0)  # 0: above is not read in this block
                if side:
                    above[:size] = True
            else:
                branch = np.int64(0)
                for i in range(start, stop):
                    above[i - start] = _above(x[i], beta, threshold, rounds_to_float32)
                    branch += np.int64(above[i - start])
            # pass 0: the mathematical oracle; pass 1, where some input takes the documented
            # branch: the documented one (elsewhere the two are one function). One call site
            # per function: each is inlined where it is called, and the first compilation took
            # minutes with several copies.
            if branch and _documented_is_mathematical(quantity, x, start, stop, above, mathematical):
                branch = 0  # e.g. forward beyond exp's range: x is the correct value for both
            passes = 2 if branch else 1
            undecided = np.int64(0)
            for k in range(passes):
                arrays = documented if k == 1 else mathematical
                measured_loop(
                    x,
                    y,
                    exp_minus_abs_y,
                    second,
                    above if k == 1 else never,
                    start,
                    stop,
                    constants,
                    p,
                    emin,
                    emax,
                    arrays,
                )
                _override(
                    y,
                    start,
                    stop,
                    next_override,
                    override_index,
                    override_values,
                    override_exponent,
                    1 - k,
                    p,
                    emin,
                    emax,
                    arrays,
                )
                for j in range(size):
                    undecided += np.int64(not arrays[5][j])
            if undecided:
                for j in range(size):
                    if not (mathematical[5][j] and (documented[5][j] or not branch)):
                        k = events[EVENT_UNDECIDED]
                        if k < undecided_index.shape[0]:
                            undecided_index[k] = start + j
                        events[EVENT_UNDECIDED] += 1
            if events[EVENT_UNDECIDED]:
                continue  # incomplete: only the undecided inputs matter now
            for k in range(passes):
                row = TALLY_SHARED if passes == 1 else (TALLY_DOCUMENTED if k == 1 else TALLY_MATH)
                arrays = documented if k == 1 else mathematical
                _tally_block(x, start, stop, arrays, row, emin, emax, histogram, binade_max, sums, counts, scratch)
            rounded = documented[0] if branch else mathematical[0]
            _events_block(quantity, x, y, y_other, rounded, start, stop, events)

    return _block_level(_named(sweep, name))


_sweep_forward = _sweep_chunk(_measured_forward, "_sweep_forward")
_sweep_grad = _sweep_chunk(_measured_grad, "_sweep_grad")
_sweep_grad2 = _sweep_chunk(_measured_grad2, "_sweep_grad2")

# One cached entry point per quantity, each calling its loop with a plain (not literal)
# quantity: dispatching inside one compiled function (on a literal quantity, or with all three
# loops as branches) compiled the same loop about a third slower (LLVM inlines and vectorizes
# the blocks differently in the bigger function), bit for bit the same results.


@_jit
def _sweep_chunk_forward(quantity, *arguments):
    _sweep_forward(quantity, *arguments)


@_jit
def _sweep_chunk_grad(quantity, *arguments):
    _sweep_grad(quantity, *arguments)


@_jit
def _sweep_chunk_grad2(quantity, *arguments):
    _sweep_grad2(quantity, *arguments)


_SWEEP_CHUNK = {FORWARD: _sweep_chunk_forward, GRAD: _sweep_chunk_grad, GRAD2: _sweep_chunk_grad2}


def sweep_chunk(quantity, *arguments):
    """One chunk of a sweep: the reference under both oracles, the ULP measure of the outputs
    ``y`` and their summaries, and the property violations, for consecutive bit patterns ``x``
    (float64 values of a format of ``p <= 24`` bits, ``W = float64``). ``arguments``: those of
    :func:`_sweep_chunk` after ``quantity``.

    ``exp_minus_abs_y``, ``second`` and ``constants`` as for :func:`decide_float64`; the
    documented rule is ``b*x > threshold`` with ``b*x`` rounded to float32 or exact
    (``rounds_to_float32``); ``y_other``: the other kernel path's outputs (empty: not compared).
    Adds into the arrays (rows ``TALLY_*``): ``histogram`` [row, bucket] (see
    :func:`_tally_block`), ``binade_max`` [row, sign * columns + column] (-1: none; sign 1 for
    negative ``x``; column 0: zero, 1: subnormal, ``2 + e - emin``: binade ``e``), ``sums``
    [row] = (sum, compensation, largest error, its correct rounding), ``counts`` [row,
    ``TALLY_*``] (start ``TALLY_BEST`` at -1), ``events`` (``EVENT_*``; first indices start at
    -1).

    Roundings the bound cannot decide: the inputs listed in ``override_index`` (sorted) take
    their reference values from ``override_values`` [oracle (0: documented, 1: mathematical),
    (rounding, hi, lo), k] and ``override_exponent`` [oracle, k] (the caller's mpmath results);
    any other is counted in ``events[EVENT_UNDECIDED]`` and its index written to
    ``undecided_index`` (as far as it holds), and the summaries are then incomplete: the
    caller escalates those inputs and calls again with them as overrides.
    """
    _SWEEP_CHUNK[quantity](quantity, *arguments)  # one compilation per quantity, of its own loop only


@_jit
def knife_edge_candidates(hi, lo, err, rounded, exponent, p, emin, within, slack, index):
    """The inputs whose exact value ``hi + lo`` (within ``err``) may lie within ``within`` ULPs of a
    rounding midpoint (:func:`suite.numerics.midpoints.midpoint_distance`, element by element, the
    same operations in the same order): their indices written to ``index``, as far as it holds;
    returns how many there are."""
    count = 0
    for i in range(hi.shape[0]):
        h, r = hi[i], rounded[i]
        if not (np.isfinite(h) and np.isfinite(r)) or exponent[i] == EXPONENT_OF_ZERO:
            continue
        if err[i] == 0 and lo[i] == 0:
            continue  # an exact result: on a value, or half an ULP from every midpoint
        q = max(exponent[i], emin) - p + 1
        ulp = _pow2(q)
        difference = (h - r) + lo[i]
        if difference == 0:
            continue
        side = 1.0 if difference > 0 else -1.0
        midpoint = r + side * ulp / 2
        distance = abs(((h - midpoint) + lo[i]) / ulp)
        if distance - (err[i] / ulp + slack) <= within:
            if count < index.shape[0]:
                index[count] = i
            count += 1
    return count
