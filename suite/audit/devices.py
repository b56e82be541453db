"""One implementation on two devices (or kernel paths), input by input: where the outputs differ.

A GPU's ``exp`` and ``log1p`` are not the CPU's vectorized ones, so torch's CUDA softplus and its
CPU softplus may round differently at the same input. For every dtype, quantity and grid point of
an audit, both sides evaluate the audit's own inputs (every input of float16 and bfloat16, the
stratified samples of float32 and float64: :func:`suite.audit.engine.input_set`) and are compared
bit for bit (two NaNs agree; ``+0`` and ``-0`` do not). Each configuration records how many inputs
differ and the inputs where the two outputs lie furthest apart, in steps of the output format (the
number of representable values between them; a NaN against a number counts as infinitely far),
with a reproducer of each side at the furthest one.

Where the two differ, at most one of them is the correct rounding: each configuration also counts,
at the inputs where they differ, how many outputs of each side are correctly rounded (documented
oracle: torch's documented function, as the audit's budgets judge it), and gives each listed input
its correct rounding and both sides' errors in ULPs, so that a difference says which side is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from suite.audit.engine import input_set
from suite.files import exact_float
from suite.implementations.base import documented_parameters
from suite.numerics.fastref import fast_reference
from suite.numerics.formats import Format
from suite.numerics.params import Oracle, Params, Quantity
from suite.numerics.ulp import measure

LARGEST = 5
"""Inputs listed per configuration, furthest apart first."""


def json_number(value: float):
    """A float as JSON holds it: itself, or (inf, NaN) its exact record."""
    value = float(value)
    return value if math.isfinite(value) else exact_float(value)


@dataclass(frozen=True)
class Side:
    """Where one side evaluates: a device and one of the implementation's kernel paths there."""

    device: str
    path: str

    def __str__(self) -> str:
        return f"{self.device} {self.path}"


def compare(implementation, fmt: Format, quantity: Quantity, beta: float, threshold: float, a: Side, b: Side) -> dict:
    """The two sides' outputs at the audit's inputs for one configuration, compared bit for bit."""
    beta, threshold = documented_parameters(implementation, beta, threshold)
    x, exhaustive = input_set(fmt, beta, threshold)
    y = {side: implementation.evaluate(x, fmt, quantity, beta, threshold, side.device, side.path) for side in (a, b)}
    bits = {side: fmt.encode(y[side], check=False) for side in (a, b)}
    nan_a, nan_b = np.isnan(y[a]), np.isnan(y[b])
    differ = (bits[a] != bits[b]) & ~(nan_a & nan_b)
    steps = fmt.bit_distance(bits[a], bits[b]).astype(np.float64)
    steps[nan_a != nan_b] = math.inf
    steps[~differ] = 0.0
    where = np.flatnonzero(differ)
    listed = np.argsort(-steps[where], kind="stable")[:LARGEST]  # positions among the differing inputs
    furthest = where[listed]
    # the truth only where the two differ (elsewhere both are right or both wrong alike)
    truth = fast_reference(quantity, x[where], Params.as_kernel_sees(beta, threshold, fmt), fmt, Oracle.DOCUMENTED)
    measured = {side: measure(y[side][where], truth) for side in (a, b)}
    largest = [
        {
            "x_bits": fmt.hex_of(x[i]),
            "x": json_number(x[i]),
            "steps": json_number(steps[i]),
            str(a): json_number(y[a][i]),
            str(b): json_number(y[b][i]),
            "correctly_rounded": json_number(truth.rounded[j]),
            "ulp_error": {str(side): json_number(measured[side].ulp_error[j]) for side in (a, b)},
        }
        for i, j in zip(furthest, listed, strict=True)
    ]
    reproducers = {}
    if largest:
        i = int(furthest[0])
        for side in (a, b):
            reproducers[str(side)] = implementation.reproducer(
                float(x[i]), fmt, quantity, beta, threshold, side.device, side.path, float(y[side][i])
            )
    return {
        "dtype": fmt.name,
        "quantity": quantity.value,
        "beta": beta,
        "threshold": json_number(threshold),
        "inputs": len(x),
        "exhaustive": exhaustive,
        "differing": int(differ.sum()),
        "correctly_rounded_where_differing": {
            str(side): int(np.count_nonzero(measured[side].correctly_rounded)) for side in (a, b)
        },
        "max_steps": json_number(steps.max() if len(x) else 0.0),
        "largest": largest,
        "reproducers": reproducers,
    }


def compare_all(implementation, formats, quantities, grid, a: Side, b: Side, progress=None) -> list[dict]:
    """:func:`compare` for every dtype, quantity and (distinct) grid point."""
    points = dict.fromkeys(documented_parameters(implementation, beta, t) for beta, t in grid)
    out = []
    for fmt in formats:
        for beta, threshold in points:
            for quantity in quantities:
                if implementation.unsupported(fmt, quantity):
                    continue
                out.append(compare(implementation, fmt, quantity, beta, threshold, a, b))
                if progress is not None:
                    progress(out[-1])
    return out
