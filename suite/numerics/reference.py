"""The arbitrary-precision reference: exact values and their correct rounding (mpmath).

Everything here is computed with mpmath's low-level ``libmp`` functions at an explicit
working precision ``wp`` (no global ``mp.prec`` is read or changed), on the exact inputs:
``x`` is a float (every value of every audited format is a float64), ``b`` a finite
float > 0, and ``y = b*x`` is formed exactly (at most 106 bits).

Evaluation formulas (no cancellation anywhere; ``f(y) = log1p(exp(y))``):

* ``y <= 0``: ``sp = f(y) / b``, ``f(y) = log(1 + e)`` with ``e = exp(y)``; ``1 + e`` is
  formed exactly (mpmath's log compensates the cancellation near 1), and for
  ``e < 2**-wp`` ``f = e`` (relative error ``e/2``).
* ``y > 0``: ``sp = x + f(-y)/b`` (since ``y/b = x`` exactly).
* ``sigmoid(y) = 1 - e/(1+e)`` for ``y >= 1``, ``e/(1+e)`` for ``y <= -1``, with
  ``e = exp(-|y|)``, and ``1/2 + tanh(y/2)/2`` for ``|y| < 1``.
* second derivative ``b * e / (1+e)**2``, and ``b/4 - b/4 * tanh(y/2)**2`` for ``|y| < 1``.

Where a result is an exact number plus a small tail (``x + f(-y)/b``, ``1 - e/(1+e)``,
``1/2 + tanh/2``, ``b/4 - ...``), the two are kept apart (:class:`Evaluation`), so that the side
of the exact number the result lies on is known at any precision.

Error bound: every rounded step is one libmp operation at ``wp`` bits, each correctly
rounded (arithmetic) or within one ulp (``exp``, ``log``: libmp adds 20+ guard bits); no step
amplifies relative error by more than 1, and there are at most 6 steps. So the computed
value ``v~`` satisfies ``|v~ - v| <= 6 * 2**-wp * |v~|`` to first order. We use the
deliberately loose bound ``2**(ERROR_BITS - wp) * |v~|`` with ``ERROR_BITS = 8`` and test
it (``tests/test_reference.py`` compares each precision with a 4x higher one).

Correct rounding (Ziv): round both ends of ``v~ * (1 ± 2**(ERROR_BITS - wp))`` into the target
format in one step; if they agree, that is the correctly rounded value, else double ``wp``.
Softplus, sigmoid and the second derivative at a nonzero float are transcendental
(Lindemann–Weierstrass), so they are never a float nor a rounding midpoint and the loop
ends; the exact cases (``y = 0`` for the derivatives, the threshold branch, special inputs)
are returned exactly and rounded exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
from mpmath import libmp

from suite.numerics.formats import Format
from suite.numerics.params import Oracle, Params, Quantity

ERROR_BITS = 8
"""log2 of the relative error bound of one evaluation, in units of ``2**-wp``."""

START_PRECISION = 96
MAX_PRECISION = 1 << 14

_ZERO = libmp.fzero
_NZERO = libmp.fnzero
_ONE = libmp.fone
_INF = libmp.finf
_NINF = libmp.fninf
_NAN = libmp.fnan
_HALF = libmp.from_man_exp(1, -1)
_RND = libmp.round_nearest


class PrecisionExhaustedError(ArithmeticError):
    """Ziv's loop reached MAX_PRECISION without deciding (never expected; see module doc)."""


@dataclass(frozen=True)
class Evaluation:
    """An approximation of the exact quantity, as ``exact_part + approx_part`` (libmp tuples).

    ``exact_part`` is exact; ``approx_part`` is within ``2**(ERROR_BITS - wp)`` of itself,
    relatively (nothing is approximate when ``exact``). Keeping an exact leading part
    matters where the result is ``1 - 1e-40`` or ``x + 1e-300``: its rounding and its binade
    are then decided by the *sign* of the tiny part, whatever the working precision.
    """

    exact_part: tuple
    approx_part: tuple
    wp: int
    exact: bool

    @property
    def value(self) -> tuple:
        """``exact_part + approx_part`` rounded to ``wp`` bits."""
        return libmp.mpf_add(self.exact_part, self.approx_part, self.wp, _RND)

    def _clamped_part(self) -> tuple:
        # A tail below 2**(mag(exact_part) - wp) only tells on which side of exact_part the
        # value lies: no F rounding boundary (multiples of 2**(mag - 55) at the finest) lies
        # strictly between exact_part and exact_part ± 2**(mag - wp) for wp >= 60. Replacing
        # the tail by a tail of that size and the same sign keeps the rounding and the binade,
        # and keeps exact sums small (e**-1e30 would need 1e30 bits).
        lo = self.approx_part
        if self.exact_part in (_ZERO, _NZERO) or not lo[1]:
            return lo
        floor_mag = _mag(self.exact_part) - self.wp
        if _mag(lo) < floor_mag:
            return libmp.from_man_exp(-1 if lo[0] else 1, floor_mag - 1)
        return lo

    def bounds(self) -> tuple[tuple, tuple]:
        """Lower and upper libmp bounds enclosing the exact result (exact arithmetic)."""
        if self.exact:
            v = libmp.mpf_add(self.exact_part, self.approx_part, 0)
            return v, v
        lo = self._clamped_part()
        if lo in (_ZERO, _NZERO, _INF, _NINF, _NAN):
            v = libmp.mpf_add(self.exact_part, lo, 0)
            return v, v
        delta = libmp.mpf_shift(libmp.mpf_abs(lo), ERROR_BITS - self.wp)
        low = libmp.mpf_add(self.exact_part, libmp.mpf_sub(lo, delta, 0), 0)
        high = libmp.mpf_add(self.exact_part, libmp.mpf_add(lo, delta, 0), 0)
        return low, high

    def split(self, bits: int) -> tuple[tuple, tuple]:
        """Nearest ``bits``-bit number to the value, and the rest (also to ``bits`` bits)."""
        total = libmp.mpf_add(self.exact_part, self._clamped_part(), 0)
        if not total[1]:
            return total, _ZERO
        head = libmp.mpf_add(total, _ZERO, bits, _RND)
        return head, libmp.mpf_sub(total, head, bits, _RND)


def _exact(t: tuple, wp: int) -> Evaluation:
    return Evaluation(t, _ZERO, wp, exact=True)


def _mag(t: tuple) -> int:
    """``floor(log2|t|) + 1`` of a nonzero finite libmp value."""
    return t[2] + t[3]


def _log1p_exp(y: tuple, wp: int) -> tuple:
    """``f(y) = log(1 + exp(y))`` for ``y <= 0`` (finite), relative error <= 3 * 2**-wp."""
    e = libmp.mpf_exp(y, wp, _RND)
    if e == _ZERO:
        return e
    if _mag(e) < -wp:
        return e  # log1p(e) = e*(1 - e/2 + ...): relative error below 2**-wp
    return libmp.mpf_log(libmp.mpf_add(_ONE, e, 0), wp, _RND)


def _softplus(x: tuple, b: tuple, y: tuple, wp: int) -> tuple[tuple, tuple]:
    if y[0] == 0 and y != _ZERO:  # y > 0: sp = x + f(-y)/b, x exact
        return x, libmp.mpf_div(_log1p_exp(libmp.mpf_neg(y), wp), b, wp, _RND)
    return _ZERO, libmp.mpf_div(_log1p_exp(y, wp), b, wp, _RND)


def _half_tanh(y: tuple, wp: int) -> tuple:
    """``tanh(y/2)``: for ``|y| < 1`` the derivatives are ``1/2 + tanh/2`` and ``b/4 * (1 - tanh**2)``."""
    return libmp.mpf_tanh(libmp.mpf_shift(y, -1), wp, _RND)


def _sigmoid(y: tuple, wp: int) -> tuple[tuple, tuple]:
    if _mag(y) <= 0:  # |y| < 1: exactly 1/2 plus a tail of the sign of y, however small
        return _HALF, libmp.mpf_shift(_half_tanh(y, wp), -1)
    # sigmoid(-|y|) = e/(1+e), e = exp(-|y|): no cancellation; sigmoid(|y|) = 1 - that.
    e = libmp.mpf_exp(libmp.mpf_neg(libmp.mpf_abs(y)), wp, _RND)
    small = libmp.mpf_div(e, libmp.mpf_add(_ONE, e, wp, _RND), wp, _RND)
    if y[0]:
        return _ZERO, small
    return _ONE, libmp.mpf_neg(small)


def _second_derivative(b: tuple, y: tuple, wp: int) -> tuple[tuple, tuple]:
    if _mag(y) <= 0:  # |y| < 1: exactly b/4 minus a positive tail, however small
        t = _half_tanh(y, wp)
        return libmp.mpf_shift(b, -2), libmp.mpf_neg(
            libmp.mpf_mul(libmp.mpf_shift(b, -2), libmp.mpf_mul(t, t, wp, _RND), wp, _RND)
        )
    e = libmp.mpf_exp(libmp.mpf_neg(libmp.mpf_abs(y)), wp, _RND)
    one_plus_e = libmp.mpf_add(_ONE, e, wp, _RND)
    denominator = libmp.mpf_mul(one_plus_e, one_plus_e, wp, _RND)
    return _ZERO, libmp.mpf_mul(b, libmp.mpf_div(e, denominator, wp, _RND), wp, _RND)


def _above_threshold(x: float, params: Params) -> bool:
    """Does the documented rule take the ``x`` branch (``b*x > t``, product as the kernel forms it)?"""
    if math.isnan(x) or math.isnan(params.threshold):
        return False
    product = libmp.mpf_mul(libmp.from_float(params.beta), libmp.from_float(x), 0)  # exact
    if params.product_format is not None:
        product = libmp.from_float(round_mpf(product, params.product_format))
    return libmp.mpf_gt(product, libmp.from_float(params.threshold))


def evaluate(quantity: Quantity, x: float, params: Params, oracle: Oracle, wp: int) -> Evaluation:
    """Approximate the exact quantity at ``x`` with working precision ``wp`` bits."""
    x = float(x)
    if oracle is Oracle.DOCUMENTED and _above_threshold(x, params):
        branch = {Quantity.FORWARD: libmp.from_float(x), Quantity.GRAD: _ONE, Quantity.GRAD2: _ZERO}
        return _exact(branch[quantity], wp)
    if math.isnan(x):
        return _exact(_NAN, wp)
    if math.isinf(x):
        limits = {
            Quantity.FORWARD: (_INF, _ZERO),  # sp(+inf) = +inf, sp(-inf) = +0
            Quantity.GRAD: (_ONE, _ZERO),
            Quantity.GRAD2: (_ZERO, _ZERO),
        }
        return _exact(limits[quantity][0 if x > 0 else 1], wp)
    xt = libmp.from_float(x)
    b = libmp.from_float(params.beta)
    y = libmp.mpf_mul(b, xt, 0)  # exact
    if y in (_ZERO, _NZERO):
        if quantity is Quantity.GRAD:
            return _exact(_HALF, wp)
        if quantity is Quantity.GRAD2:
            return _exact(libmp.mpf_shift(b, -2), wp)
    if quantity is Quantity.FORWARD:
        return Evaluation(*_softplus(xt, b, y, wp), wp, exact=False)
    if quantity is Quantity.GRAD:
        return Evaluation(*_sigmoid(y, wp), wp, exact=False)
    return Evaluation(*_second_derivative(b, y, wp), wp, exact=False)


def round_mpf(t: tuple, fmt: Format) -> float:
    """Round an exact libmp value into ``fmt`` in one step (nearest, ties to even).

    Returns the rounded value as a Python float (exact: every value of every format is a
    float64). Handles signed zeros, subnormals, overflow to ±inf, infinities and NaN.
    """
    if t == _NAN:
        return math.nan
    if t == _INF:
        return math.inf
    if t == _NINF:
        return -math.inf
    sign, man, exp, bc = t
    if not man:
        return -0.0 if sign else 0.0
    e = exp + bc - 1  # floor(log2|t|)
    q = max(e, fmt.emin) - fmt.precision + 1
    if e + 1 < q:  # |t| < 2**(q-1), half the smallest subnormal: rounds to zero (no tie)
        return -0.0 if sign else 0.0
    if e > fmt.emax:
        return -math.inf if sign else math.inf
    if exp >= q:
        n = int(man) << (exp - q)
    else:
        shift = q - exp
        n = int(man) >> shift
        remainder = int(man) & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if remainder > half or (remainder == half and n & 1):
            n += 1
    if n == 0:
        return -0.0 if sign else 0.0
    value = math.ldexp(n, q) if q + n.bit_length() <= 1024 else math.inf
    if value > fmt.max_finite:
        value = math.inf
    return -value if sign else value


@dataclass(frozen=True)
class Decision:
    """The outcome of Ziv's loop: the correctly rounded value and the evaluation behind it."""

    rounded: float
    evaluation: Evaluation


def decide(quantity: Quantity, x: float, params: Params, fmt: Format, oracle: Oracle = Oracle.MATH) -> Decision:
    """Correctly round the exact quantity into ``fmt``, raising precision until decided."""
    wp = max(START_PRECISION, 2 * fmt.precision + 32)
    while wp <= MAX_PRECISION:
        ev = evaluate(quantity, x, params, oracle, wp)
        lo, hi = ev.bounds()
        r_lo, r_hi = round_mpf(lo, fmt), round_mpf(hi, fmt)
        if math.isnan(r_lo) and math.isnan(r_hi):
            return Decision(r_lo, ev)
        same = r_lo == r_hi and math.copysign(1, r_lo) == math.copysign(1, r_hi)
        # the binade of the exact value must be decided too: its ULP depends on it
        if same and (ev.exact or not lo[1] or not hi[1] or _mag(lo) == _mag(hi)):
            return Decision(r_lo, ev)
        wp *= 2
    where = f"{quantity.value} at x={x!r} ({params.describe()})"
    raise PrecisionExhaustedError(f"{where} undecided at {MAX_PRECISION} bits")


def correctly_rounded(
    quantity: Quantity | str,
    x: float,
    params: Params | None = None,
    fmt: Format | str = "float64",
    oracle: Oracle | str = Oracle.MATH,
) -> float:
    """The exact ``quantity`` at ``x``, correctly rounded into ``fmt`` (returned as a float).

    Example::

        >>> from suite import Params, correctly_rounded
        >>> correctly_rounded("forward", 0.0, Params(beta=1.0), "float32")
        0.6931471824645996
    """
    from suite.numerics.formats import format_named

    quantity = Quantity.named(quantity) if isinstance(quantity, str) else quantity
    oracle = Oracle.named(oracle) if isinstance(oracle, str) else oracle
    fmt = format_named(fmt) if isinstance(fmt, str) else fmt
    return decide(quantity, x, params or Params(), fmt, oracle).rounded


def exact_value(
    quantity: Quantity | str,
    x: float,
    params: Params | None = None,
    oracle: Oracle | str = Oracle.MATH,
    digits: int = 40,
) -> mpmath.mpf:
    """The exact ``quantity`` at ``x`` as an mpmath number with at least ``digits`` correct digits.

    The number carries all its bits whatever ``mpmath.mp.prec`` is; print it with
    ``mpmath.nstr(v, digits)``. Special results are mpmath's ``nan``/``inf``/``0``. Example::

        >>> import mpmath
        >>> from suite import exact_value
        >>> mpmath.nstr(exact_value("forward", -2.0, digits=25), 25)
        '0.1269280110429724964437268'
    """
    quantity = Quantity.named(quantity) if isinstance(quantity, str) else quantity
    oracle = Oracle.named(oracle) if isinstance(oracle, str) else oracle
    bits = int(digits * 3.33) + 1
    ev = evaluate(quantity, x, params or Params(), oracle, bits + ERROR_BITS + 8)
    if ev.exact:
        return mpmath.mp.make_mpf(libmp.mpf_add(ev.exact_part, ev.approx_part, 0))
    # the exact part plus the tail, exactly (a tail far below wp bits kept at 2**(mag - wp)
    # with its sign, so that 1 - 1e-80 stays below 1 and keeps its binade)
    head, rest = ev.split(bits + ERROR_BITS + 8)
    return mpmath.mp.make_mpf(libmp.mpf_add(head, rest, 0))
