"""The fast reference: the same correctly rounded values as :mod:`suite.reference`, vectorized.

Each quantity is evaluated with NumPy in a working type ``W`` wider than the target
format ``F``, together with a *rigorous absolute error bound*; an element whose rounding
into ``F`` the bound cannot decide is escalated to the mpmath reference. So the rounded
values are exactly those of the mpmath path, and the exact values are known to within the
bound (used for ULP errors).

Working type:

* ``F`` up to float32 and ``b`` a float32 value (what the kernels use): ``W = float64``,
  ``u = 2**-53``. Then ``y = b*x`` is exact in float64 (24 x 24 bits).
* otherwise (float64 targets, or a ``b`` with more than 24 significant bits):
  ``W = np.longdouble`` with a 64-bit significand, ``u = 2**-64``; ``y = y1 + y2`` exactly
  by Dekker's two-product and the result is corrected to first order in ``y2``.
  Where ``np.longdouble`` is not wider than float64, every element goes to mpmath.

Error bound. ``exp`` and ``log1p`` from NumPy's libm are assumed accurate to
``LIB_ULPS[W]`` ulps of ``W`` (NumPy's SIMD float64 kernels document < 4 ulp; glibc's
``expl``/``log1pl`` list at most 2 ulp for x86 long double). Every formula below uses at
most 2 library calls and 5 rounded operations, each of which propagates relative error
with a factor of at most 1, so the relative error of the computed value is at most
``(4*L + 6)*u`` to first order; we use ``REL_BOUND[W] = 2*(4*L + 8)*u`` (a factor > 2 of
slack for the first-order terms) plus an absolute term ``ABS_BOUND[W]/b`` covering
underflow of intermediate results in ``W`` (where the result is far below every format's
subnormal range anyway). ``tests/test_fastref.py`` checks the bound against mpmath on
adversarial inputs, and that the bound is not vacuous.

Representation: the exact value ``v`` is ``hi + lo`` (normalized: ``hi = fl(hi + lo)``)
within ``err``; keeping ``lo`` separately preserves, e.g., ``sigmoid(40) = 1 - 4e-18`` being
*below* 1 (its ULP is then that of the binade below 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.formats import FLOAT32, FLOAT64, Format
from suite.params import Oracle, Params, Quantity
from suite.reference import ERROR_BITS, decide, round_mpf

_LONGDOUBLE_BITS = np.finfo(np.longdouble).nmant + 1
LONGDOUBLE_IS_WIDE = _LONGDOUBLE_BITS >= 64

LIB_ULPS = {np.dtype(np.float64): 4, np.dtype(np.longdouble): 2}
UNIT_ROUNDOFF = {np.dtype(np.float64): 2.0**-53, np.dtype(np.longdouble): 2.0**-_LONGDOUBLE_BITS}
REL_BOUND = {w: 2 * (4 * LIB_ULPS[w] + 8) * UNIT_ROUNDOFF[w] for w in LIB_ULPS}
ABS_BOUND = {w: 16 * np.finfo(w).smallest_subnormal for w in LIB_ULPS}

EXPONENT_OF_ZERO = np.iinfo(np.int64).min
"""``ReferenceValues.exponent`` of an exactly zero (or NaN, or infinite) value."""


@dataclass(frozen=True)
class ReferenceValues:
    """Reference values of one quantity at an array of inputs, for one target format.

    Attributes:
        rounded: the exact values correctly rounded into the format (float64 array; every
            value of every format is a float64).
        hi, lo: the exact value is ``hi + lo`` within ``err`` (arrays of the working type).
        err: absolute error bound of ``hi + lo`` (0 where the value is exact).
        exponent: ``floor(log2|v|)`` of the exact value (int64; ``EXPONENT_OF_ZERO`` for
            ``v = 0`` and for non-finite ``v``).
        escalated: elements decided by the mpmath reference.
    """

    fmt: Format
    rounded: np.ndarray
    hi: np.ndarray
    lo: np.ndarray
    err: np.ndarray
    exponent: np.ndarray
    escalated: np.ndarray

    def __len__(self) -> int:
        return len(self.rounded)


def working_type(fmt: Format, params: Params) -> np.dtype | None:
    """``W`` for this format and ``b`` (None: only mpmath can do it here)."""
    beta_is_float32 = float(FLOAT32.round(np.float64(params.beta))) == params.beta
    if fmt.precision <= 24 and beta_is_float32:
        return np.dtype(np.float64)
    return np.dtype(np.longdouble) if LONGDOUBLE_IS_WIDE else None


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knuth's error-free sum: ``s + t == a + b`` exactly, ``s = fl(a + b)``."""
    s = a + b
    bb = s - a
    t = (a - (s - bb)) + (b - bb)
    return s, np.where(np.isfinite(s), t, 0)


def _two_product(a: np.ndarray, b: np.ndarray, w: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's error-free product in ``W``: ``p + e == a*b`` exactly (no under/overflow here)."""
    split = w.type(2.0 ** ((np.finfo(w).nmant + 2) // 2) + 1)

    def halves(v):
        c = split * v
        high = c - (c - v)
        return high, v - high

    p = a * b
    ah, al = halves(a)
    bh, bl = halves(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, np.where(np.isfinite(p), e, 0)


def _core(quantity: Quantity, y1: np.ndarray, y2: np.ndarray, x: np.ndarray, beta, w: np.dtype):
    """hi, lo, err, lo_sign of the mathematical quantity at finite ``y = y1 + y2``.

    ``lo_sign`` (int8) is the sign the exact ``v - hi`` is known to have from the formula
    (``+1``: ``v > hi``, ``-1``: ``v < hi``; 0: not known), whatever ``lo`` rounded or
    underflowed to: ``sigmoid(800)`` is below 1 even where ``exp(-800)`` underflows.
    """
    rel = w.type(REL_BOUND[w])
    absolute = w.type(ABS_BOUND[w]) / beta
    negative = y1 <= 0
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        # e = exp(-|y1|) <= 1 never overflows; every formula below is written in terms of it.
        e = np.exp(-np.abs(y1))
        one_plus_e = 1 + e
        s = e / one_plus_e  # sigmoid(-|y|)
        sig_pos = 1 / one_plus_e  # sigmoid(|y|)
        if quantity is Quantity.FORWARD:
            tail = np.log1p(e)  # f(-|y|)
            # d f(y)/dy = sigmoid(y): first-order correction for y2, sign-aware
            slope = np.where(negative, s, -s)
            corrected = (tail + slope * y2) / beta
            hi = np.where(negative, corrected, x)
            lo = np.where(negative, 0, corrected)
            err = rel * np.abs(corrected) + absolute
            lo_sign = np.where(negative, 0, 1)
        elif quantity is Quantity.GRAD:
            # sigmoid(y) = s for y < 0; 1 - s for y >= 0; d sigmoid/dy = s * (1 - s)
            ds = s * sig_pos * y2
            hi = np.where(negative, s + ds, 1)
            lo = np.where(negative, 0, -(s - ds))
            err = rel * np.abs(np.where(negative, hi, lo)) + absolute * beta
            lo_sign = np.where(negative, 0, -1)
            # |y| <= 1: sigmoid(y) = 1/2 + tanh(y/2)/2 keeps the side of 1/2 (and its binade)
            small = np.abs(y1) <= 1
            t = np.tanh(y1 / 2)
            small_lo = t / 2 + (1 - t * t) / 4 * y2
            hi = np.where(small, 0.5, hi)
            lo = np.where(small, small_lo, lo)
            err = np.where(small, rel * np.abs(small_lo), err)
            lo_sign = np.where(small, np.sign(y1), lo_sign)
        else:
            # b*s*(1-s); d log(h)/dy = -tanh(y/2) = -sign(y)*(1 - 2s)
            h = beta * e / (one_plus_e * one_plus_e)
            hi = h * (1 - np.sign(y1) * (1 - 2 * s) * y2)
            lo = np.zeros_like(hi)
            err = rel * np.abs(hi) + absolute * beta * beta
            lo_sign = np.zeros(hi.shape, dtype=np.int8)
            # |y| <= 1: h = b/4 * (1 - tanh(y/2)**2), just below b/4 (and its binade)
            small = np.abs(y1) <= 1
            t = np.tanh(y1 / 2)
            quarter = beta / 4
            small_lo = -quarter * (t * t + (1 - t * t) * t * y2)
            hi = np.where(small, quarter, hi)
            lo = np.where(small, small_lo, lo)
            err = np.where(small, rel * np.abs(small_lo), err)
            lo_sign = np.where(small, -1, lo_sign)
        zero = y1 == 0  # y = 0 exactly (y2 is then 0): sigmoid = 1/2, h = b/4
        if quantity is not Quantity.FORWARD:
            lo, err, lo_sign = np.where(zero, 0, lo), np.where(zero, 0, err), np.where(zero, 0, lo_sign)
    return hi.astype(w, copy=False), lo.astype(w, copy=False), err.astype(w, copy=False), lo_sign.astype(np.int8)


def _above_threshold(y1: np.ndarray, y2: np.ndarray, params: Params, w: np.dtype) -> np.ndarray:
    """``b*x > t`` as the documented rule evaluates it (see :class:`suite.params.Params`)."""
    t = w.type(params.threshold)
    if np.isnan(params.threshold):
        return np.zeros(y1.shape, dtype=bool)
    pf = params.product_format
    if pf is None:
        return (y1 > t) | ((y1 == t) & (y2 > 0))
    with np.errstate(over="ignore", invalid="ignore"):
        product = pf.round(y1)
        # y1 is y rounded to W; if it is a midpoint of pf, the sign of y2 decides the side.
        mid = pf.is_midpoint(y1) & (y2 != 0)
        if mid.any():
            step = np.ldexp(np.ones_like(y1[mid]), pf.quantum_exponent(y1[mid]) - 1)
            product[mid] = np.where(y2[mid] > 0, y1[mid] + step, y1[mid] - step)
    return product > t


def _exponent(hi: np.ndarray, lo_sign: np.ndarray) -> np.ndarray:
    """``floor(log2|v|)`` for ``v = hi + lo`` normalized (``|lo| <= ulp(hi)/2``), ``lo`` of sign ``lo_sign``."""
    with np.errstate(invalid="ignore"):
        mantissa, exp = np.frexp(hi)
    e = exp.astype(np.int64) - 1
    below_power_of_two = (np.abs(mantissa) == 0.5) & (lo_sign != 0) & (lo_sign != np.sign(hi))
    e = e - below_power_of_two
    return np.where(np.isfinite(hi) & (hi != 0), e, EXPONENT_OF_ZERO)


def _escalate(quantity, x, params, fmt, oracle, w):
    """mpmath values for the elements given, in the ReferenceValues representation."""
    n = len(x)
    rounded = np.empty(n, dtype=np.float64)
    hi = np.empty(n, dtype=w)
    lo = np.empty(n, dtype=w)
    err = np.empty(n, dtype=w)
    exponent = np.empty(n, dtype=np.int64)
    bits = np.finfo(w).nmant + 1
    for i, xi in enumerate(x.tolist()):
        decision = decide(quantity, xi, params, fmt, oracle)
        ev = decision.evaluation
        rounded[i] = decision.rounded
        head, rest = ev.split(bits)
        hi[i], lo[i] = _mpf_to_w(head, w), _mpf_to_w(rest, w)
        err[i] = 0 if ev.exact else abs(hi[i]) * w.type(2.0 ** (ERROR_BITS + 1 - ev.wp))
        bound = ev.bounds()[0]  # decide() made sure both bounds share the binade
        exponent[i] = np.clip(bound[2] + bound[3] - 1, -(1 << 62), 1 << 62) if bound[1] else EXPONENT_OF_ZERO
    return rounded, hi, lo, err, exponent


def _mpf_to_w(t: tuple, w: np.dtype):
    sign, man, exp, _ = t
    if not man:
        return w.type(round_mpf(t, FLOAT64))  # zeros, infinities, NaN
    with np.errstate(over="ignore", under="ignore"):
        v = np.ldexp(w.type(np.uint64(man)), int(np.clip(exp, -(1 << 20), 1 << 20)))
    return -v if sign else v


def fast_reference(
    quantity: Quantity, x: np.ndarray, params: Params, fmt: Format, oracle: Oracle = Oracle.MATH
) -> ReferenceValues:
    """Reference values of ``quantity`` at the float64 inputs ``x``, correctly rounded into ``fmt``."""
    x = np.asarray(x, dtype=np.float64)
    w = working_type(fmt, params)
    if w is None:  # no wide type: everything through mpmath
        w = np.dtype(np.float64)
        out = _escalate(quantity, x, params, fmt, oracle, w)
        return ReferenceValues(fmt, *out, escalated=np.ones(len(x), dtype=bool))
    xw = x.astype(w)
    beta = w.type(params.beta)
    finite = np.isfinite(xw)
    xf = np.where(finite, xw, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        if w == np.float64:
            y1, y2 = beta * xf, np.zeros_like(xf)
        else:
            y1, y2 = _two_product(beta, xf, w)
    hi, lo, err, lo_sign = _core(quantity, y1, y2, xf, beta, w)

    # special inputs: exact limits
    limits = {Quantity.FORWARD: (np.inf, 0.0), Quantity.GRAD: (1.0, 0.0), Quantity.GRAD2: (0.0, 0.0)}[quantity]
    hi = np.where(np.isnan(xw), np.nan, hi)
    hi = np.where(xw == np.inf, limits[0], hi)
    hi = np.where(xw == -np.inf, limits[1], hi)
    lo = np.where(finite, lo, 0)
    err = np.where(finite, err, 0)
    lo_sign = np.where(finite, lo_sign, 0)
    # the mathematical quantities are > 0 at every finite input (lower bounds below 0 are slack)
    positive = finite.copy()

    if oracle is Oracle.DOCUMENTED:
        above = _above_threshold(np.where(finite, y1, xw), y2, params, w)
        branch = {Quantity.FORWARD: xw, Quantity.GRAD: 1.0, Quantity.GRAD2: 0.0}[quantity]
        hi = np.where(above, branch, hi)
        lo = np.where(above, 0, lo)
        err = np.where(above, 0, err)
        lo_sign = np.where(above, 0, lo_sign)
        positive &= ~above

    exact_part, lo = hi.astype(w), lo.astype(w)
    with np.errstate(invalid="ignore", over="ignore"):
        hi, lo = _two_sum(exact_part, lo)
        lower = hi + (lo - err)
        upper = hi + (lo + err)
        # a tail of known sign keeps the bound on its side of the exact part (the computed tail
        # may have underflowed to 0); lo_sign speaks of v - exact_part, not of v - hi
        lower = np.where(lo_sign > 0, np.maximum(lower, exact_part), lower)
        upper = np.where(lo_sign < 0, np.minimum(upper, exact_part), upper)
        lo_sign = np.where(hi == exact_part, lo_sign, 0)
        lower = np.where(positive, np.maximum(lower, 0), lower)
        r_lower = fmt.round(lower)
        r_upper = fmt.round(upper)
        exact = err == 0
        decided = (r_lower == r_upper) & (np.signbit(r_lower) == np.signbit(r_upper))
        decided &= exact | ~(fmt.is_midpoint(lower) | fmt.is_midpoint(upper))
        decided |= np.isnan(hi)
        sign_of_lo = np.where(lo_sign != 0, lo_sign, np.where(np.abs(lo) > err, np.sign(lo), 0)).astype(np.int8)
        exponent = _exponent(hi, sign_of_lo)
        # the binade of v must be certain too (its ULP depends on it)
        no_sign = np.zeros(hi.shape, dtype=np.int8)
        # (only down to the subnormal range, where the ULP no longer depends on the binade)
        ambiguous_binade = ~exact & (
            (np.maximum(_exponent(lower, no_sign), fmt.emin) != np.maximum(_exponent(upper, no_sign), fmt.emin))
            | ((np.abs(np.frexp(hi)[0]) == 0.5) & (sign_of_lo == 0) & (lo != 0))
        )
        decided &= ~ambiguous_binade
    rounded = np.where(decided, r_lower, np.nan).astype(np.float64)
    escalated = ~decided
    if escalated.any():
        idx = np.flatnonzero(escalated)
        r, h, lw, er, ex = _escalate(quantity, x[idx], params, fmt, oracle, w)
        rounded[idx], hi[idx], lo[idx], err[idx], exponent[idx] = r, h, lw, er, ex
    return ReferenceValues(fmt, rounded, hi, lo, err, exponent, escalated)
