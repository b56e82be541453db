"""Every knife edge of a format: the inputs whose exact result lies within 2**-20 ULP of a rounding
midpoint (:mod:`suite.numerics.midpoints`), over every bit pattern of float16, bfloat16 or float32.

The pass is the reference's alone (no implementation is evaluated): shards of the patterns on
``workers`` processes, each chunk's exact values decided by the fast reference and, in the thin
band its error bound cannot settle, by mpmath. The result is a list other projects can reuse as a
test set: each input with its correct rounding, its distance from the midpoint and the side of it
the exact value lies on. Lists are for the exact function (no threshold rule) at one ``beta``.
"""

from __future__ import annotations

import multiprocessing
import time

import numpy as np

import suite
from suite.numerics.formats import Format
from suite.numerics.midpoints import KNIFE_EDGE_ULP, knife_edges
from suite.numerics.params import Oracle, Params, Quantity
from suite.sweep.measure import CHUNK
from suite.sweep.spec import shard_range

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
    ``softplus-audit knife-edges`` writes."""
    if fmt.width > 32:
        raise ValueError(f"{fmt.name} has too many inputs to examine every one; accepted: float16, bfloat16, float32")
    n = max(1, fmt.count // (1 << 26))
    tasks = [(fmt, quantity, beta, k, n) for k in range(n)]
    begun = time.perf_counter()
    found, escalated = [], 0
    if workers > 1 and n > 1:
        _shard((fmt, quantity, beta, 0, fmt.count // 4096))  # numba's loops compiled (or loaded) here once
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for k, (edges, count) in enumerate(pool.imap(_shard, tasks)):
                found += edges
                escalated += count
                if progress is not None:
                    progress(shard_range(fmt, k, n)[1] - shard_range(fmt, k, n)[0])
    else:
        for task in tasks:
            edges, count = _shard(task)
            found += edges
            escalated += count
            if progress is not None:
                progress(shard_range(fmt, task[3], n)[1] - shard_range(fmt, task[3], n)[0])
    found.sort()
    x = fmt.decode(np.array([bits for bits, *_ in found], dtype=np.uint64).astype(fmt.uint_dtype))
    return {
        "format": FILE_VERSION,
        "kind": "knife-edges",
        "dtype": fmt.name,
        "quantity": quantity.value,
        "beta": beta,
        "oracle": "math",
        "within_ulp": KNIFE_EDGE_ULP,
        "inputs": fmt.count,
        "exhaustive": True,
        "count": len(found),
        "decided_by_mpmath": escalated,
        "wall_seconds": time.perf_counter() - begun,
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
