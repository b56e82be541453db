"""The exact truth for the project's tests: mpmath's correct roundings, per element, cached.

Deciding a rounding with mpmath costs tens of microseconds per input; several tests compare other
paths with the truth on every input of a 16-bit format at the same parameters. The truth of each
(format, quantity, parameters, oracle) is computed once per test session here.
"""

from __future__ import annotations

import functools

import numpy as np

from suite.numerics.formats import Format
from suite.numerics.params import Oracle, Params, Quantity
from suite.numerics.reference import decide


def mpmath_rounded(quantity, x, params, fmt, oracle=Oracle.MATH) -> np.ndarray:
    """The correct roundings of ``quantity`` at ``x``, one mpmath decision per input."""
    return np.array([decide(quantity, xi, params, fmt, oracle).rounded for xi in np.asarray(x).tolist()])


@functools.cache
def every_input_truth(fmt: Format, quantity: Quantity, params: Params, oracle: Oracle = Oracle.MATH) -> np.ndarray:
    """:func:`mpmath_rounded` at every bit pattern of a 16-bit format (in pattern order), once per session."""
    truth = mpmath_rounded(quantity, fmt.decode(fmt.all_bits()), params, fmt, oracle)
    truth.flags.writeable = False  # shared between tests
    return truth
