"""Every knife edge of a format: the inputs whose exact result lies within 2**-20 ULP of a rounding
midpoint (:mod:`suite.numerics.midpoints`), over every bit pattern of float16, bfloat16 or float32;
for float64, a search (:func:`search_knife_edges`).

The pass is the reference's alone (no implementation is evaluated): shards of the patterns on
``workers`` processes, each chunk's exact values decided by the fast reference and, in the thin
band its error bound cannot settle, by mpmath. The result is a list other projects can reuse as a
test set: each input with its correct rounding, its distance from the midpoint and the side of it
the exact value lies on. Lists are for the exact function (no threshold rule) at one ``beta``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time

import mpmath
import numpy as np

import suite
from suite.numerics.formats import Format
from suite.numerics.midpoints import KNIFE_EDGE_ULP, knife_edges
from suite.numerics.params import Oracle, Params, Quantity
from suite.sweep.measure import CHUNK
from suite.sweep.spec import shard_range, shard_size

FILE_VERSION = 1


def _shard(args) -> tuple[list[tuple[int, float, float, bool]], int]:
    """One shard's knife edges: (bits, distance, correct rounding, above the midpoint), and how many
    inputs mpmath decided."""
    fmt, quantity, beta, k, n = args
    params = Params.as_kernel_sees(beta, np.inf, fmt)
    start, stop = shard_range(fmt, k, n)
    found, escalated = [], 0
    for lo in range(start, stop, CHUNK):
        bits = fmt.bit_range(lo, min(stop, lo + CHUNK))
        edges = knife_edges(quantity, fmt.decode(bits), params, fmt, Oracle.MATH)
        escalated += edges.escalated
        for i, distance, rounded, above in zip(edges.index, edges.distance, edges.rounded, edges.above, strict=True):
            found.append((int(bits[i]), float(distance), float(rounded), bool(above)))
    return found, escalated


def find_knife_edges(fmt: Format, quantity: Quantity, beta: float = 1.0, workers: int = 1, progress=None) -> dict:
    """Every knife edge of ``fmt`` for ``quantity`` at ``beta`` (the exact function), as the record
    ``softplus-audit knife-edges`` writes (float64: :func:`search_knife_edges`)."""
    if fmt.width > 32:
        return search_knife_edges(fmt, quantity, beta, progress=progress)
    n = max(1, fmt.count // (1 << 26))
    tasks = [(fmt, quantity, beta, k, n) for k in range(n)]
    begun = time.perf_counter()
    found, escalated = [], 0
    with contextlib.ExitStack() as stack:
        results = map(_shard, tasks)
        if workers > 1 and n > 1:
            _shard((fmt, quantity, beta, 0, fmt.count // 4096))  # numba's loops compiled (or loaded) here once
            results = stack.enter_context(multiprocessing.get_context("spawn").Pool(workers)).imap(_shard, tasks)
        for k, (edges, count) in enumerate(results):
            found += edges
            escalated += count
            if progress is not None:
                progress(shard_size(fmt, k, n))
    return _record(fmt, quantity, beta, found, escalated, fmt.count, True, time.perf_counter() - begun)


def progress_steps(fmt: Format) -> int:
    """The units :func:`find_knife_edges` reports progress in: inputs, or for a search, binades of
    each sign."""
    return 2 * len(search_binades(fmt)) if fmt.width > 32 else fmt.count


def search_binades(fmt: Format) -> range:
    """The binades (exponents) :func:`search_knife_edges` anchors in, for each sign."""
    return range(fmt.emin - fmt.precision + 1, 11)


ANCHORS_PER_BINADE = 4
MIDPOINTS_PER_ANCHOR = 6


def search_knife_edges(fmt: Format, quantity: Quantity, beta: float = 1.0, progress=None) -> dict:
    """Knife edges of a format too wide to examine every input (float64), found by inverting the
    function around anchors: for ``ANCHORS_PER_BINADE`` anchors ``x0`` in every binade of both signs
    (from the smallest subnormal to 2**10, beyond which the quantities are their limits), the exact
    value ``f(x0)`` and slope ``f'(x0)`` (mpmath, 100 digits), and for the ``MIDPOINTS_PER_ANCHOR``
    rounding midpoints ``m`` nearest ``f(x0)``, the input ``x0 + (m - f(x0))/f'(x0)`` and its two
    neighbours. Where the function is flat on the input grid (``|f'|·ulp(x)`` far below ``ulp(f)``:
    near 0, in the tails) those land within a hair of ``m``; each candidate is then decided exactly
    (:func:`suite.numerics.midpoints.knife_edges`). It finds these structural knife edges, not the
    scattered ones elsewhere (about one input in 2**19, which only examining every input finds)."""
    begun = time.perf_counter()
    params = Params.as_kernel_sees(beta, np.inf, fmt)
    b = mpmath.mpf(params.beta)
    candidates: set[int] = set()
    binades = search_binades(fmt)
    with mpmath.workdps(100):
        for sign in (1, -1):
            for e in binades:
                for k in range(ANCHORS_PER_BINADE):
                    x0 = sign * mpmath.ldexp(1 + mpmath.mpf(k) / ANCHORS_PER_BINADE, e)
                    candidates.update(_inverted(fmt, quantity, b, x0))
                if progress is not None:
                    progress(1)
    x = np.array(sorted(candidates), dtype=np.uint64)
    values = fmt.decode(x.astype(fmt.uint_dtype))
    edges = knife_edges(quantity, values, params, fmt, Oracle.MATH)
    found = [
        (int(x[i]), float(d), float(r), bool(a))
        for i, d, r, a in zip(edges.index, edges.distance, edges.rounded, edges.above, strict=True)
    ]
    record = _record(fmt, quantity, beta, found, edges.escalated, len(values), False, time.perf_counter() - begun)
    record["search"] = (
        f"{ANCHORS_PER_BINADE} anchors per binade of each sign, from 2^{binades.start} to 2^{binades.stop - 1}; "
        f"the {MIDPOINTS_PER_ANCHOR} midpoints nearest each anchor's value, each inverted through the slope "
        "there, with the input's two neighbours; each candidate decided exactly"
    )
    return record


def _inverted(fmt: Format, quantity: Quantity, b, x0) -> list[int]:
    """Bit patterns of the inputs near ``x0`` whose value the slope there sends nearest each midpoint."""
    s = 1 / (1 + mpmath.exp(-b * x0))
    if quantity is Quantity.FORWARD:
        value, slope = mpmath.log1p(mpmath.exp(b * x0)) / b, s
    elif quantity is Quantity.GRAD:
        value, slope = s, b * s * (1 - s)
    else:
        value, slope = b * s * (1 - s), b * b * s * (1 - s) * (1 - 2 * s)
    if value == 0 or slope == 0 or not mpmath.isfinite(value):
        return []
    exponent = max(int(mpmath.floor(mpmath.log(abs(value), 2))), fmt.emin)
    ulp = mpmath.ldexp(1, exponent - fmt.precision + 1)
    nearest = mpmath.nint(value / ulp) * ulp
    out = []
    for j in range(-(MIDPOINTS_PER_ANCHOR // 2), MIDPOINTS_PER_ANCHOR // 2):
        target = x0 + (nearest + (j + mpmath.mpf(1) / 2) * ulp - value) / slope
        x = float(target)
        if not np.isfinite(x) or (x > 0) != (x0 > 0):
            continue
        bits = int(fmt.encode(np.array([x]))[0])
        out += [bits - 1, bits, bits + 1]
    return [v for v in out if v & fmt.magnitude_mask < fmt.inf_bits]  # finite patterns only (-1 is not one)


def _record(fmt, quantity, beta, found, escalated, inputs, exhaustive, seconds) -> dict:
    """The record ``softplus-audit knife-edges`` writes, from ``(bits, distance, rounded, above)``."""
    found = sorted(found)
    x = fmt.decode(np.array([bits for bits, *_ in found], dtype=np.uint64).astype(fmt.uint_dtype))
    return {
        "format": FILE_VERSION,
        "kind": "knife-edges",
        "dtype": fmt.name,
        "quantity": quantity.value,
        "beta": beta,
        "oracle": "math",
        "within_ulp": KNIFE_EDGE_ULP,
        "inputs": inputs,
        "exhaustive": exhaustive,
        "count": len(found),
        "decided_by_mpmath": escalated,
        "wall_seconds": seconds,
        "softplus_audit": suite.__version__,
        "edges": [
            {
                "x_bits": fmt.hex(bits),
                "x": float(value),
                "correctly_rounded": rounded,
                "correctly_rounded_bits": fmt.hex_of(rounded),
                "distance_ulp": distance,
                "exact_above_midpoint": above,
            }
            for (bits, distance, rounded, above), value in zip(found, x, strict=True)
        ],
    }
