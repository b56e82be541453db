"""Hypothesis strategies for inputs of each format, and focused ones for the hard regions.

float16, float32 and float64 are drawn with ``st.floats(width=...)`` (subnormals, ±0, ±inf and
NaN included). Hypothesis has no bfloat16 width, so bfloat16 inputs are drawn as 16-bit
patterns and decoded: every value, NaNs included, is reachable and shrinks towards +0.

Focused strategies aim at the places where softplus implementations are wrong:
the threshold band (``b·x`` within a few ULPs of ``t``), exp's overflow and underflow edges
in the compute format, subnormal and vanishing results, and huge magnitudes.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from suite.inputs.sets import region_edges
from suite.numerics.formats import Format


def values_of(fmt: Format) -> st.SearchStrategy[float]:
    """Any value of ``fmt`` (as a Python float), specials included."""
    if fmt.name == "bfloat16":
        return st.integers(0, fmt.count - 1).map(lambda bits: float(fmt.decode(np.array([bits]))[0]))
    return st.floats(width=fmt.width, allow_nan=True, allow_infinity=True, allow_subnormal=True)


def _near(fmt: Format, centre: float, max_steps: int) -> st.SearchStrategy[float]:
    """Values of ``fmt`` within ``max_steps`` representable steps of ``centre`` (rounded into fmt)."""
    c = float(fmt.round(np.float64(centre)))
    if not math.isfinite(c):
        return st.nothing()
    bits = int(fmt.encode(np.float64(c)))

    def step(k: int) -> float:
        ordinal = fmt.ordinal(np.array([bits], dtype=fmt.uint_dtype))[0] + k
        limit = fmt.ordinal(np.array([fmt.inf_bits], dtype=fmt.uint_dtype))[0]
        ordinal = max(-limit, min(limit, ordinal))
        return float(fmt.decode(fmt.from_ordinal(np.array([ordinal])))[0])

    return st.integers(-max_steps, max_steps).map(step)


def threshold_band(fmt: Format, beta: float, threshold: float, steps: int = 8) -> st.SearchStrategy[float]:
    """Inputs whose ``b·x`` is within a few ULPs of ``t``."""
    return _near(fmt, threshold / beta, steps)


def exp_edges(fmt: Format, beta: float, threshold: float) -> st.SearchStrategy[float]:
    """Inputs near exp's overflow/underflow edges and where results turn subnormal or vanish."""
    edges = region_edges(fmt, beta, threshold)
    names = ["exp_overflow", "exp_underflow_normal", "exp_underflow_subnormal", "result_subnormal", "result_zero"]
    return st.one_of(*[_near(fmt, edges[n], 1 << 12) for n in names])


def huge(fmt: Format) -> st.SearchStrategy[float]:
    """The largest finite magnitudes of ``fmt``, both signs."""
    return st.one_of(_near(fmt, fmt.max_finite, 1 << 10), _near(fmt, -fmt.max_finite, 1 << 10))


def focused(fmt: Format, beta: float, threshold: float) -> st.SearchStrategy[float]:
    """Any value, or one from a hard region (hypothesis mixes them and shrinks within each)."""
    return st.one_of(
        values_of(fmt),
        threshold_band(fmt, beta, threshold),
        exp_edges(fmt, beta, threshold),
        huge(fmt),
        st.floats(-40.0 / beta, 40.0 / beta).map(lambda v: float(fmt.round(np.float64(v)))),
    )


def known_hard_points(fmt: Format, beta: float, threshold: float) -> list[float]:
    """Inputs every audit run checks first (hypothesis ``@example`` s)."""
    t = float(fmt.round(np.float64(threshold / beta)))
    points = [0.0, -0.0, math.inf, -math.inf, math.nan, fmt.min_subnormal, -fmt.min_subnormal, fmt.max_finite]
    points += [-fmt.max_finite, -2.0, 5.0]
    if math.isfinite(t):
        bits = fmt.encode(np.float64(t))
        points += [t, float(fmt.decode(fmt.next_up(bits))), float(fmt.decode(fmt.next_down(bits)))]
    return points
