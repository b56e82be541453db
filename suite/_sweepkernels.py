"""Compiled (numba) loops of the sweep's hot path: the ULP measure and its accumulation.

:func:`measure_f64` is the element-wise transcription of :func:`suite.ulp.measure` for
reference values held in float64 (formats up to float32): the same operations in the same
order (numba compiles without ``fastmath``), so the errors, failure classes, flags and bit
distances are bit-identical. :func:`accumulate` is :meth:`suite.sweep.OracleTotals.add`'s
histogram, per-binade maxima and first argmax in one pass. ``tests/test_sweep.py`` checks
both against the NumPy code on every float16 input and on float32 ranges.
"""

from __future__ import annotations

import math

import numba
import numpy as np

EXPONENT_OF_ZERO = np.iinfo(np.int64).min
EDGES = np.array([0.5, 1.0, *[float(2**k) for k in range(1, 21)]])


def _jit(fn):
    try:
        return numba.njit(cache=True, error_model="numpy")(fn)
    except RuntimeError:  # no cache locator for this file
        return numba.njit(error_model="numpy")(fn)


@_jit
def measure_f64(y, hi, lo, rounded, exponent, y_ord, r_ord, p, emin, emax):
    """Per element: ULP error (NaN on a failure), failure code, correctly rounded, faithful."""
    n = y.shape[0]
    error = np.empty(n, dtype=np.float64)
    failure = np.zeros(n, dtype=np.int8)
    correct = np.zeros(n, dtype=np.bool_)
    faithful = np.zeros(n, dtype=np.bool_)
    overflow_value = math.ldexp(1.0, emax + 1)
    for i in range(n):
        yi, h, lw, r = y[i], hi[i], lo[i], rounded[i]
        v_nan, v_inf = np.isnan(h), np.isinf(h)
        y_nan, y_inf = np.isnan(yi), np.isinf(yi)
        f = 0
        if not v_nan and y_nan:
            f = 2
        if v_nan and not y_nan:
            f = 1
        if v_inf and not y_nan and yi != h:
            f = 3
        if not v_nan and not v_inf and y_inf and not np.isinf(r):
            f = 4
        if yi == 0 and r == 0 and np.signbit(yi) != np.signbit(r) and f == 0:
            f = 5
        y_eff = math.copysign(overflow_value, yi) if (y_inf and not v_inf) else yi
        r_eff = math.copysign(overflow_value, r) if (np.isinf(r) and not v_inf) else r
        e = emin if exponent[i] == EXPONENT_OF_ZERO else exponent[i]
        q = max(e, emin) - p + 1
        signed_distance = (y_eff - h) - lw
        err = math.ldexp(abs(signed_distance), -q)
        r_side = np.sign((r_eff - h) - lw)
        if (v_nan and y_nan) or (v_inf and yi == h) or (y_inf and yi == r and e > emax):
            err = 0.0
        ok = f == 0
        if not ok:
            err = np.nan
        distance = abs(y_ord[i] - r_ord[i])
        if v_nan and y_nan:
            distance = 0
        c = ok and (distance == 0 or (v_nan and y_nan))
        other_side = distance == 1 and r_side != 0 and np.sign(signed_distance) == -r_side
        error[i] = err
        failure[i] = f
        correct[i] = c
        faithful[i] = ok and (c or other_side)
    return error, failure, correct, faithful


@_jit
def accumulate(x, error, failure, emin, edges, histogram, binade_max):
    """Histogram (``stats.BUCKET_LABELS`` order) and per-binade maxima (row 0: ``+``, row 1:
    ``-``; column 0: zero, 1: subnormal, ``2 + e - emin``: binade ``e``) of the errors, added
    in place; returns the index of the first largest error without a failure (-1: none)."""
    best, best_i = -1.0, -1
    last = edges.shape[0]
    for i in range(x.shape[0]):
        if failure[i] != 0:
            histogram[last + 2] += 1
            continue
        err = error[i]
        if err > best:
            best, best_i = err, i
        if err == 0:
            histogram[0] += 1
        else:
            k = 0
            while k < last and err > edges[k]:
                k += 1
            histogram[k + 1] += 1
        xi = x[i]
        if not np.isfinite(xi):
            continue
        row = 1 if np.signbit(xi) else 0
        if xi == 0:
            col = 0
        else:
            e = math.frexp(abs(xi))[1] - 1
            col = 1 if e < emin else 2 + e - emin
        if err > binade_max[row, col]:
            binade_max[row, col] = err
    return best_i
