"""The fast reference: the same correctly rounded values as :mod:`suite.numerics.reference`, vectorized.

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

Speed. Where numba is installed, the arithmetic after the library calls runs in compiled
loops (:mod:`suite.numerics.kernels`): for ``W = float64`` all of it, for x87 long doubles the
decision (roundings, midpoints, binades, from the bit patterns). They transcribe the NumPy
code operation for operation, and the library calls stay NumPy's ``exp``/``log1p``/``tanh`` on
the same arguments, so ``LIB_ULPS`` still speaks of NumPy's functions and every output is
bit-identical with or without numba (``USE_COMPILED_KERNELS = False`` forces the NumPy path;
``tests/test_fastref_kernels.py`` compares the two). Independently of numba, the long double
functions (slow scalar loops) are evaluated only where their values are used: ``exp(-|y|)``
not where it is known to underflow to 0 (``EXP_CUT``), ``log1p`` not at 0, ``tanh`` only for
``|y| <= 1``; and a ``b`` with at most 11 significant bits (1, 0.5, 3, 10) makes ``b*x`` exact
in long double, without Dekker's product. None of this changes a value or a bound.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from suite.numerics.formats import FLOAT32, FLOAT64, Format
from suite.numerics.params import Oracle, Params, Quantity
from suite.numerics.reference import ERROR_BITS, decide, round_mpf

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


@functools.lru_cache(maxsize=256)
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


def _product(beta, xf: np.ndarray, w: np.dtype) -> tuple[np.ndarray, np.ndarray | None]:
    """``y = y1 + y2 = b*x`` exactly in ``W`` (long double): :func:`_two_product`, or, where ``b``
    has at most ``64 - 53`` significant bits (1, 0.5, 3, 10...), the product itself, which is then
    exact (no under/overflow in the long double range), and ``y2 = None``: exactly 0."""
    if _significant_bits(float(beta)) <= np.finfo(w).nmant + 1 - 53:
        return (xf if beta == 1 else beta * xf), None
    return _two_product(beta, xf, w)


def _significant_bits(v: float) -> int:
    n = int(math.ldexp(math.frexp(v)[0], 53))
    return n.bit_length() - ((n & -n).bit_length() - 1)


def _exp_underflow_cut(w: np.dtype) -> float:
    """``c`` such that ``exp(-a)`` is exactly 0 in ``W`` for every ``a >= 0.9 * c``: far past the
    underflow (``e**-900 < 2**-1298`` for float64, ``e**-11700 < 2**-16879`` for the x87 long
    double, whose smallest subnormal is ``2**-16445``; the library is asked at ``0.9 * c`` and at
    the largest ``a``), or inf where the library says otherwise. The margin lets the test
    ``|y| <= c`` be made on a float64 approximation of ``|y|``."""
    cut = 1000.0 if w == np.float64 else 13000.0
    with np.errstate(under="ignore"):
        underflows = np.exp(-w.type(0.9 * cut)) == 0 and np.exp(-np.finfo(w).max) == 0
    return cut if underflows else math.inf


EXP_CUT = {w: _exp_underflow_cut(w) for w in LIB_ULPS}
"""exp(-a) is not evaluated for ``a > EXP_CUT[W]``: it is 0 there (and slow in long double)."""


def _exp_minus_abs(y: np.ndarray, w: np.dtype, live: np.ndarray) -> np.ndarray:
    """``exp(-|y|)``, evaluated only where ``live`` (``|y| <= EXP_CUT[W]``; 0 elsewhere)."""
    if live.all():
        return np.exp(-np.abs(y))
    e = np.zeros_like(y)
    e[live] = np.exp(-np.abs(y[live]))
    return e


def _on(function, v: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``function(v)`` where ``where``, 0 elsewhere (the long double functions are slow: only
    the elements that are used are evaluated; NumPy's functions are element-wise, so each
    value is the one evaluating the whole array gives)."""
    out = np.zeros_like(v)
    out[where] = function(v[where])
    return out


def _core(quantity: Quantity, y1: np.ndarray, y2: np.ndarray, x: np.ndarray, beta, w: np.dtype, x64: np.ndarray):
    """hi, lo, err, lo_sign of the mathematical quantity at finite ``y = y1 + y2``.

    ``lo_sign`` (int8) is the sign the exact ``v - hi`` is known to have from the formula
    (``+1``: ``v > hi``, ``-1``: ``v < hi``; 0: not known), whatever ``lo`` rounded or
    underflowed to: ``sigmoid(800)`` is below 1 even where ``exp(-800)`` underflows.

    ``x64``: ``x`` as float64. In long double, where ``y1`` is ``b*x`` exactly or correctly
    rounded and never underflows (``|b*x| >= 2**-2148``), ``y1 <= 0`` is ``x <= 0``, and the
    float64 ``|b*x|`` is within 2**-52 of ``|y1|``, close enough for the test against
    ``EXP_CUT``: the float64 tests are about 20 times faster than long double ones.

    ``y2 = None`` (long double only): ``y2`` is exactly 0 and the first-order terms in ``y2`` are
    left out. Each is a ``±0`` added to a value that it leaves unchanged (``tail >= +0``,
    ``s >= +0``, ``t*t >= +0``, ``1``, and ``t/2``, which is nonzero wherever it is used:
    ``|y| >= 2**-2148`` is far above the long double underflow), so nothing changes.
    """
    rel = w.type(REL_BOUND[w])
    absolute = w.type(ABS_BOUND[w]) / beta
    wide = w != np.float64  # long double: evaluate the slow functions only where needed
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        if wide:
            negative = x64 <= 0
            live = np.abs(float(beta) * x64) <= EXP_CUT[w]
        else:
            negative = y1 <= 0
            live = np.abs(y1) <= EXP_CUT[w]
        # e = exp(-|y1|) <= 1 never overflows; every formula below is written in terms of it.
        e = _exp_minus_abs(y1, w, live)
        terms = _Terms(y1, y2, x, beta, e, negative, live, wide, rel, absolute)
        hi, lo, err, lo_sign = _CORES[quantity](terms)
        zero = y1 == 0  # y = 0 exactly (y2 is then 0): sigmoid = 1/2, h = b/4
        if quantity is not Quantity.FORWARD:
            lo, err, lo_sign = np.where(zero, 0, lo), np.where(zero, 0, err), np.where(zero, 0, lo_sign)
    return hi.astype(w, copy=False), lo.astype(w, copy=False), err.astype(w, copy=False), lo_sign.astype(np.int8)


@dataclass(frozen=True)
class _Terms:
    """What every quantity's formula of :func:`_core` starts from (arrays of the working type)."""

    y1: np.ndarray
    y2: np.ndarray | None
    x: np.ndarray
    beta: object
    e: np.ndarray  # exp(-|y1|)
    negative: np.ndarray  # y <= 0
    live: np.ndarray  # where exp(-|y1|) is not flushed to 0 by EXP_CUT
    wide: bool  # long double
    rel: object
    absolute: object


def _core_forward(t: _Terms):
    """softplus: f(-|y|) = log1p(e), with ``x`` itself and the tail for y > 0."""
    tail = _on(np.log1p, t.e, t.live) if t.wide else np.log1p(t.e)  # f(-|y|); log1p(0) = 0
    if t.y2 is None:
        corrected = tail if t.beta == 1 else tail / t.beta
    else:
        # d f(y)/dy = sigmoid(y): first-order correction for y2, sign-aware
        s = t.e / (1 + t.e)  # sigmoid(-|y|)
        slope = np.where(t.negative, s, -s)
        corrected = (tail + slope * t.y2) / t.beta
    hi = np.where(t.negative, corrected, t.x)
    lo = np.where(t.negative, 0, corrected)
    # (with y2 = 0, corrected = tail/b >= +0 is its own absolute value)
    err = t.rel * (corrected if t.y2 is None else np.abs(corrected)) + t.absolute
    lo_sign = np.where(t.negative, 0, 1)
    return hi, lo, err, lo_sign


def _core_grad(t: _Terms):
    """sigmoid(y) = s for y < 0, 1 - s for y >= 0 (s = sigmoid(-|y|)); 1/2 + tanh(y/2)/2 for |y| <= 1."""
    # d sigmoid/dy = s * (1 - s)
    one_plus_e = 1 + t.e
    s = t.e / one_plus_e  # sigmoid(-|y|)
    if t.y2 is None:
        hi = np.where(t.negative, s, 1)
        lo = np.where(t.negative, 0, -s)
    else:
        sig_pos = 1 / one_plus_e  # sigmoid(|y|)
        ds = s * sig_pos * t.y2
        hi = np.where(t.negative, s + ds, 1)
        lo = np.where(t.negative, 0, -(s - ds))
    err = t.rel * np.abs(np.where(t.negative, hi, lo)) + t.absolute * t.beta
    lo_sign = np.where(t.negative, 0, -1)
    # |y| <= 1: sigmoid(y) = 1/2 + tanh(y/2)/2 keeps the side of 1/2 (and its binade)
    small = np.abs(t.y1) <= 1
    th = _on(np.tanh, t.y1 / 2, small) if t.wide else np.tanh(t.y1 / 2)
    small_lo = th / 2 if t.y2 is None else th / 2 + (1 - th * th) / 4 * t.y2
    hi = np.where(small, 0.5, hi)
    lo = np.where(small, small_lo, lo)
    err = np.where(small, t.rel * np.abs(small_lo), err)
    lo_sign = np.where(small, np.sign(t.y1), lo_sign)
    return hi, lo, err, lo_sign


def _core_grad2(t: _Terms):
    """b·s·(1 - s) = b·e/(1 + e)²; b/4·(1 - tanh(y/2)²) for |y| <= 1."""
    # d log(h)/dy = -tanh(y/2) = -sign(y)*(1 - 2s)
    one_plus_e = 1 + t.e
    h = t.beta * t.e / (one_plus_e * one_plus_e)
    if t.y2 is None:
        hi = h
    else:
        s = t.e / one_plus_e  # sigmoid(-|y|)
        hi = h * (1 - np.sign(t.y1) * (1 - 2 * s) * t.y2)
    lo = np.zeros_like(hi)
    err = t.rel * np.abs(hi) + t.absolute * t.beta * t.beta
    lo_sign = np.zeros(hi.shape, dtype=np.int8)
    # |y| <= 1: h = b/4 * (1 - tanh(y/2)**2), just below b/4 (and its binade)
    small = np.abs(t.y1) <= 1
    th = _on(np.tanh, t.y1 / 2, small) if t.wide else np.tanh(t.y1 / 2)
    quarter = t.beta / 4
    small_lo = -quarter * (th * th) if t.y2 is None else -quarter * (th * th + (1 - th * th) * th * t.y2)
    hi = np.where(small, quarter, hi)
    lo = np.where(small, small_lo, lo)
    err = np.where(small, t.rel * np.abs(small_lo), err)
    lo_sign = np.where(small, -1, lo_sign)
    return hi, lo, err, lo_sign


_CORES = {Quantity.FORWARD: _core_forward, Quantity.GRAD: _core_grad, Quantity.GRAD2: _core_grad2}


def _above_threshold(y1: np.ndarray, y2: np.ndarray, params: Params, w: np.dtype) -> np.ndarray:
    """``b*x > t`` as the documented rule evaluates it (see :class:`suite.numerics.params.Params`)."""
    t = w.type(params.threshold)
    if np.isnan(params.threshold):
        return np.zeros(y1.shape, dtype=bool)
    pf = params.product_format
    if pf is None:
        return (y1 > t) | ((y1 == t) & (y2 > 0))
    with np.errstate(over="ignore", invalid="ignore"):
        product = pf.round(y1)
        # y1 is y rounded to W; if it is a midpoint of pf, the sign of y2 decides the side
        # (y2 is 0 wherever the product is exact in W: no midpoint test needed there)
        mid = y2 != 0
        if mid.any():
            mid[mid] = pf.is_midpoint(y1[mid])
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
    exponent = np.empty(n, dtype=np.int64)
    exact = np.zeros(n, dtype=bool)
    scale = np.zeros(n, dtype=np.float64)
    heads, rests = [], []
    bits = np.finfo(w).nmant + 1
    low, high = -(1 << 62), 1 << 62
    for i, xi in enumerate(x.tolist()):
        decision = decide(quantity, xi, params, fmt, oracle)
        ev = decision.evaluation
        rounded[i] = decision.rounded
        head, rest = ev.split(bits)
        heads.append(head)
        rests.append(rest)
        if ev.exact:
            exact[i] = True
        else:
            scale[i] = 2.0 ** (ERROR_BITS + 1 - ev.wp)  # a power of 2 (0.0 below 2**-1074)
        bound = ev.bounds()[0]  # decide() made sure both bounds share the binade
        exponent[i] = min(max(bound[2] + bound[3] - 1, low), high) if bound[1] else EXPONENT_OF_ZERO
    hi, lo = _mpfs_to_w(heads, w), _mpfs_to_w(rests, w)
    err = np.where(exact, w.type(0), np.abs(hi) * scale.astype(w))
    return rounded, hi, lo, err, exponent


def _mpfs_to_w(ts: list, w: np.dtype) -> np.ndarray:
    """libmp values with at most ``nmant + 1`` significant bits, exactly (as far as W's range allows)."""
    n = len(ts)
    numbers = [i for i, t in enumerate(ts) if t[1]]
    mantissas = np.array([int(ts[i][1]) for i in numbers], dtype=np.uint64).astype(w)
    exps = np.array([min(max(int(ts[i][2]), -(1 << 20)), 1 << 20) for i in numbers], dtype=np.int64)
    negative = np.array([bool(ts[i][0]) for i in numbers], dtype=bool)
    out = np.empty(n, dtype=w)
    with np.errstate(over="ignore", under="ignore"):
        v = np.ldexp(mantissas, exps)
    out[numbers] = np.where(negative, -v, v)
    for i, t in enumerate(ts):
        if not t[1]:
            out[i] = w.type(round_mpf(t, FLOAT64))  # zeros, infinities, NaN
    return out


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
    kernels = compiled_kernels() if x.ndim == 1 else None
    if kernels is not None and w == np.float64:
        rounded, hi, lo, err, exponent, decided = _decide_float64_compiled(kernels, quantity, x, params, fmt, oracle)
    else:
        rounded, hi, lo, err, exponent, decided = _decide_numpy(quantity, x, params, fmt, oracle, w, kernels)
    escalated = ~decided
    if escalated.any():
        idx = np.flatnonzero(escalated)
        r, h, lw, er, ex = _escalate(quantity, x[idx], params, fmt, oracle, w)
        rounded[idx], hi[idx], lo[idx], err[idx], exponent[idx] = r, h, lw, er, ex
    return ReferenceValues(fmt, rounded, hi, lo, err, exponent, escalated)


def _decide_numpy(
    quantity: Quantity, x: np.ndarray, params: Params, fmt: Format, oracle: Oracle, w: np.dtype, kernels=None
):
    """The fast path in NumPy: rounded (NaN where undecided), hi, lo, err, exponent, decided.

    With ``kernels`` (and x87 long doubles), the last step, the decision, is compiled.
    """
    with np.errstate(invalid="ignore"):  # signalling NaNs widen to quiet ones
        xw = x.astype(w)
    beta = w.type(params.beta)
    finite = np.isfinite(x)  # (x is exactly xw: the float64 tests are the same, and faster)
    xf = np.where(finite, xw, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        if w == np.float64:
            y1, y2 = beta * xf, np.zeros_like(xf)
        else:
            y1, y2 = _product(beta, xf, w)
    hi, lo, err, lo_sign = _core(quantity, y1, y2, xf, beta, w, np.where(finite, x, 0))

    # special inputs: exact limits
    if not finite.all():  # (hi, lo, err and lo_sign are _core's own arrays: changed in place)
        limits = _LIMITS[quantity]
        hi[np.isnan(x)] = np.nan
        hi[x == np.inf] = limits[0]
        hi[x == -np.inf] = limits[1]
        lo[~finite] = 0
        err[~finite] = 0
        lo_sign[~finite] = 0
    # the mathematical quantities are > 0 at every finite input (lower bounds below 0 are slack)
    positive = finite.copy()

    if oracle is Oracle.DOCUMENTED:
        above = _above_threshold(np.where(finite, y1, xw), np.zeros_like(y1) if y2 is None else y2, params, w)
        branch = {Quantity.FORWARD: xw, Quantity.GRAD: 1.0, Quantity.GRAD2: 0.0}[quantity]
        hi = np.where(above, branch, hi)
        lo = np.where(above, 0, lo)
        err = np.where(above, 0, err)
        lo_sign = np.where(above, 0, lo_sign)
        positive &= ~above

    exact_part, lo = hi.astype(w, copy=False), lo.astype(w, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):
        hi, lo = _two_sum(exact_part, lo)
        lower = hi + (lo - err)
        upper = hi + (lo + err)
        # a tail of known sign keeps the bound on its side of the exact part (the computed tail
        # may have underflowed to 0); lo_sign speaks of v - exact_part, not of v - hi
        # (in place, where the condition holds: the values of np.where(c, np.maximum(a, b), a))
        np.maximum(lower, exact_part, out=lower, where=lo_sign > 0)
        np.minimum(upper, exact_part, out=upper, where=lo_sign < 0)
        np.maximum(lower, w.type(0), out=lower, where=positive)
        if kernels is not None and w != np.float64 and X87_LAYOUT:
            rounded, exponent, decided = kernels.decide_x87(
                *(_words(v) for v in (hi, lo, err, lower, upper, exact_part)),
                lo_sign.astype(np.int8),
                fmt.precision,
                fmt.emin,
                fmt.emax,
            )
            return rounded, hi, lo, err, exponent, decided
        lo_sign = np.where(hi == exact_part, lo_sign, 0)
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
    return rounded, hi, lo, err, exponent, decided


def _above_threshold_float64(x: np.ndarray, params: Params) -> np.ndarray:
    """:func:`_above_threshold` where ``W = float64``: ``b*x`` is exact there (``y2 = 0``)."""
    finite = np.isfinite(x)
    with np.errstate(over="ignore", invalid="ignore"):
        y1 = np.where(finite, np.float64(params.beta) * np.where(finite, x, 0), x)
        return _above_threshold(y1, np.zeros_like(x), params, _F64)


_LIMITS = {Quantity.FORWARD: (np.inf, 0.0), Quantity.GRAD: (1.0, 0.0), Quantity.GRAD2: (0.0, 0.0)}
_QUANTITY_CODES = {Quantity.FORWARD: 0, Quantity.GRAD: 1, Quantity.GRAD2: 2}


@dataclass(frozen=True)
class Float64Arguments:
    """What the compiled ``W = float64`` loops read: NumPy's transcendental values at the
    arguments :func:`_core` uses, and the constants of the bounds (see :mod:`suite.numerics.kernels`)."""

    code: int  # the quantity's code in the loops
    exp_minus_abs_y: np.ndarray  # exp(-|b*x|) where |b*x| <= EXP_CUT (exp(0) elsewhere: not read)
    second: np.ndarray  # forward: log1p of that; derivatives: tanh(b*x/2)
    constants: tuple  # beta, rel, absolute, absolute*beta, absolute*beta**2, the limits at ±inf, EXP_CUT


def float64_arguments(kernels, quantity: Quantity, x: np.ndarray, params: Params) -> Float64Arguments:
    """The inputs of :func:`suite.numerics.kernels.decide_float64` and of the sweep's one-pass loop for the
    float64 inputs ``x`` (``W = float64``)."""
    beta = np.float64(params.beta)
    code = _QUANTITY_CODES[quantity]
    cut = EXP_CUT[_F64]
    exp_argument, half_y, live, small = kernels.prepare_float64(x, beta, code, cut)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        # where no input reads them (|b*x| beyond the cuts: half of all float32 patterns lie in
        # chunks of such inputs), the arrays are passed unevaluated: no value of them is read
        e = np.exp(exp_argument, out=exp_argument) if live else exp_argument
        if quantity is Quantity.FORWARD:
            second = np.log1p(e) if live else e
        else:
            second = np.tanh(half_y, out=half_y) if small else half_y
        rel = np.float64(REL_BOUND[_F64])
        absolute = np.float64(ABS_BOUND[_F64]) / beta
        limits = _LIMITS[quantity]
        constants = (beta, rel, absolute, absolute * beta, absolute * beta * beta, *map(np.float64, limits), cut)
    return Float64Arguments(code, e, second, constants)


def _decide_float64_compiled(kernels, quantity: Quantity, x: np.ndarray, params: Params, fmt: Format, oracle: Oracle):
    """:func:`_decide_numpy` for ``W = float64`` in one compiled loop, bit for bit (see :mod:`suite.numerics.kernels`).

    The transcendental functions are NumPy's, on the same arguments as in :func:`_core`.
    """
    x = np.ascontiguousarray(x)
    args = float64_arguments(kernels, quantity, x, params)
    documented = oracle is Oracle.DOCUMENTED
    with np.errstate(over="ignore", invalid="ignore"):
        above = _above_threshold_float64(x, params) if documented else np.zeros(len(x), dtype=bool)
    return kernels.decide_float64(
        args.code,
        x,
        args.exp_minus_abs_y,
        args.second,
        above,
        *args.constants,
        fmt.precision,
        fmt.emin,
        fmt.max_finite,
    )


def _x87_layout() -> bool:
    """Are long doubles x87 extended values in 16 little-endian bytes (what ``decide_x87`` reads)?"""
    if np.dtype(np.longdouble).itemsize != 16 or np.finfo(np.longdouble).nmant != 63:
        return False
    words = np.array([1.0, -3.0, 0.0], dtype=np.longdouble).view(np.uint64).tolist()
    words[1::2] = [v & 0xFFFF for v in words[1::2]]  # sign and exponent; the rest is padding
    return words == [1 << 63, 0x3FFF, 3 << 62, 0xC000, 0, 0]


X87_LAYOUT = _x87_layout()


def _words(v: np.ndarray) -> np.ndarray:
    """A contiguous long double array as its uint64 words (two per value)."""
    return np.ascontiguousarray(v).view(np.uint64)


_F64 = np.dtype(np.float64)

USE_COMPILED_KERNELS = True
"""Use the numba loops of :mod:`suite.numerics.kernels` where numba is installed (False: NumPy only;
the results are the same bit for bit, ``tests/test_fastref_kernels.py`` checks it)."""


@functools.cache
def _import_kernels():
    try:
        from suite.numerics import kernels as _kernels
    except ImportError:  # numba is not installed: the NumPy path does everything
        return None
    try:  # compile (or load from numba's cache) every loop now, with the argument types used
        x = np.array([-1.0, 0.5, np.nan, np.inf])
        for quantity in Quantity:
            _decide_float64_compiled(_kernels, quantity, x, Params(), FLOAT32, Oracle.MATH)
            if X87_LAYOUT and LONGDOUBLE_IS_WIDE:
                _decide_numpy(quantity, x, Params(), FLOAT64, Oracle.MATH, np.dtype(np.longdouble), _kernels)
    except Exception as error:  # e.g. a numba too old for these loops
        warnings.warn(f"suite.numerics.fastref: compiled loops unavailable, using NumPy only ({error!r})", stacklevel=2)
        return None
    return _kernels


def compiled_kernels():
    """The module of compiled loops, or None (numba not installed, or ``USE_COMPILED_KERNELS`` off)."""
    return _import_kernels() if USE_COMPILED_KERNELS else None
