"""Deliberately wrong references: each one is a mistake a reference could plausibly make.

The tests show that the cross-checks used to validate the real references catch every one of
them, so a passing cross-check means something. Each defect has the signature of
:func:`suite.numerics.fastref.fast_reference` restricted to what the checks read: it returns the
values it believes are the correct rounding of ``quantity`` at ``x`` into ``fmt``.
"""

from __future__ import annotations

import mpmath
import numpy as np

from suite.numerics.formats import FLOAT32, Format
from suite.numerics.params import Oracle, Params, Quantity


def _mp_quantity(quantity: Quantity, x: float, params: Params, prec: int) -> mpmath.mpf:
    """The textbook formulas, evaluated at a fixed precision (no error analysis)."""
    with mpmath.workprec(prec):
        b = mpmath.mpf(params.beta)
        y = b * mpmath.mpf(x)
        if quantity is Quantity.FORWARD:
            return mpmath.log1p(mpmath.exp(y)) / b
        s = 1 / (1 + mpmath.exp(-y))
        return s if quantity is Quantity.GRAD else b * s * (1 - s)


def double_rounding_through_float(
    quantity: Quantity, x: np.ndarray, params: Params, fmt: Format, oracle: Oracle = Oracle.MATH
) -> np.ndarray:
    """Exact value -> Python float -> float32 -> fmt: three roundings instead of one."""
    values = [float(_mp_quantity(quantity, float(xi), params, 200)) for xi in x]
    return fmt.round(FLOAT32.round(np.array(values, dtype=np.float64)))


def log_of_one_plus(
    quantity: Quantity, x: np.ndarray, params: Params, fmt: Format, oracle: Oracle = Oracle.MATH
) -> np.ndarray:
    """``log(1 + exp(y))`` in float64 instead of ``log1p``: loses everything below exp(y) ~ 1e-16."""
    y = params.beta * np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        if quantity is Quantity.FORWARD:
            value = np.log(1 + np.exp(y)) / params.beta
        else:
            s = 1 / (1 + np.exp(-y))
            value = s if quantity is Quantity.GRAD else params.beta * s * (1 - s)
    return fmt.round(value)


def too_low_precision(
    quantity: Quantity, x: np.ndarray, params: Params, fmt: Format, oracle: Oracle = Oracle.MATH
) -> np.ndarray:
    """mpmath at a fixed ``p + 8`` bits, rounded once: no Ziv loop, so near-midpoint cases go wrong."""
    out = np.empty(len(x), dtype=np.float64)
    for i, xi in enumerate(np.asarray(x, dtype=np.float64).tolist()):
        v = _mp_quantity(quantity, xi, params, fmt.precision + 8)
        out[i] = float(fmt.round(np.longdouble(mpmath.nstr(v, 40, strip_zeros=False))))
    return out


DEFECTS = {
    "double_rounding_through_float": double_rounding_through_float,
    "log_of_one_plus": log_of_one_plus,
    "too_low_precision": too_low_precision,
}
