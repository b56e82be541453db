"""Knife edges in the audit: how many of the inputs whose exact result lies within 2**-20 ULP of a
rounding midpoint (:mod:`suite.numerics.midpoints`) an implementation rounds correctly.

The inputs: for float16 and bfloat16, found among every input of the format (the audit examines
each); for float32, the list found by an exhaustive pass over every input
(``softplus-audit knife-edges``, packaged in ``suite/data/knife_edges/`` as bit patterns, and checked
again when loaded: each must be a knife edge); float64 has none yet (too many inputs to examine).
Lists are of the exact function at one beta. In a configuration with a threshold, the inputs where
torch's documented rule applies (``b·x > t``: the output is ``x`` by design) are left out.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.files import exact_float
from suite.numerics.formats import Format
from suite.numerics.midpoints import knife_edges
from suite.numerics.params import Oracle, Params, Quantity

DATA = Path(__file__).resolve().parent.parent / "data" / "knife_edges"
LISTED = 5
"""Inputs rounded the wrong way listed per configuration (the first ones, in the order of the list)."""


class KnifeEdgeFileError(ValueError):
    """A packaged list that does not parse, or holds an input that is not a knife edge."""


def list_name(fmt: Format, quantity: Quantity, beta: float) -> str:
    """The name (without suffix) of a knife-edge list, as ``softplus-audit knife-edges`` writes it."""
    return f"knife-edges-{fmt.name}-{quantity.value}-b{beta:g}"


@dataclass(frozen=True)
class KnifeEdgeSet:
    """The knife edges of a format, quantity and beta: inputs, correct roundings, distances (ULPs)."""

    x: np.ndarray
    rounded: np.ndarray
    distance: np.ndarray
    source: str


@functools.lru_cache(maxsize=64)
def knife_edge_set(fmt: Format, quantity: Quantity, beta: float) -> KnifeEdgeSet | None:
    """The knife edges for this format, quantity and beta (the exact function); None where none were
    looked for (float32 without a packaged list, float64)."""
    params = Params.as_kernel_sees(beta, math.inf, fmt)
    if fmt.width <= 16:
        x, source = fmt.decode(fmt.all_bits()), "every input of the format examined"
    else:
        path = DATA / f"{list_name(fmt, quantity, beta)}.txt"
        if not path.exists():
            return None
        try:
            patterns = [int(line, 16) for line in path.read_text().split("\n") if line and not line.startswith("#")]
        except ValueError as error:
            raise KnifeEdgeFileError(f"{path}: not a list of bit patterns ({error})") from None
        x = fmt.decode(np.array(patterns, dtype=np.uint64).astype(fmt.uint_dtype))
        source = f"suite/data/knife_edges/{path.name} (every input of the format examined)"
    edges = knife_edges(quantity, x, params, fmt, Oracle.MATH)
    if fmt.width > 16 and len(edges.index) != len(x):
        raise KnifeEdgeFileError(f"{source}: {len(x) - len(edges.index)} of its inputs are not knife edges")
    return KnifeEdgeSet(x[edges.index], edges.rounded, edges.distance, source)


def judge(edges: KnifeEdgeSet, fmt: Format, beta: float, threshold: float, outputs, reproducer) -> dict:
    """How an implementation rounds ``edges`` in one configuration: ``outputs(x)`` evaluates it,
    ``reproducer(x, output)`` gives a script for one input. Inputs where the documented rule applies
    (``fl(b·x) > t``) are left out."""
    keep = ~Params.as_kernel_sees(beta, threshold, fmt).above_threshold(edges.x)
    x, rounded, distance = edges.x[keep], edges.rounded[keep], edges.distance[keep]
    y = outputs(x) if len(x) else np.empty(0)
    right = (y == rounded) & (np.signbit(y) == np.signbit(rounded))
    wrong = np.flatnonzero(~right)
    listed = []
    for n, i in enumerate(wrong[:LISTED]):
        entry = {
            "x_bits": fmt.hex_of(x[i]),
            "x": exact_float(x[i]),
            "output": exact_float(y[i]),
            "correctly_rounded": exact_float(rounded[i]),
            "distance_ulp": float(distance[i]),
        }
        if n == 0:
            entry["reproducer"] = reproducer(float(x[i]), float(y[i]))
        listed.append(entry)
    return {
        "source": edges.source,
        "inputs": len(x),
        "left_out_documented_rule": int((~keep).sum()),
        "correctly_rounded": int(right.sum()),
        "wrong": listed,
    }
