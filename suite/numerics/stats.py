"""Summaries of per-element measurements: the numbers a report shows for one configuration.

All ULP figures are ULPs of the output format, relative to the exact value (see
:mod:`suite.numerics.ulp`). Elements with a special-value failure have no ULP error; they are counted
apart (``failures``) and in the histogram's last bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from suite.numerics.fastref import ReferenceValues
from suite.numerics.formats import Format
from suite.numerics.ulp import Failure, Measurements

# Histogram buckets: error == 0, then (previous, edge] for each edge, then > 2**20, then failures.
BUCKET_EDGES = (0.5, 1.0, *[float(2**k) for k in range(1, 21)])
BUCKET_LABELS = ("0", *[f"<={e:g}" for e in BUCKET_EDGES], f">{2**20}", "special-value mismatch")


@dataclass(frozen=True)
class Worst:
    """The input with the largest ULP error, and everything needed to reproduce it."""

    x: float
    x_bits: str
    output: float
    exact: float  # hi + lo rounded to float64 (for display; the error was computed exactly)
    correctly_rounded: float
    ulp_error: float


@dataclass(frozen=True)
class Stats:
    count: int
    exhaustive: bool
    max_ulp: float
    mean_ulp: float
    p50_ulp: float
    p99_ulp: float
    p999_ulp: float
    correctly_rounded: int
    faithful: int
    failures: dict[str, int]
    histogram: tuple[int, ...]
    worst: Worst | None
    binade_max: list[dict] = field(default_factory=list)

    @property
    def correctly_rounded_rate(self) -> float:
        return self.correctly_rounded / self.count if self.count else 1.0

    @property
    def faithful_rate(self) -> float:
        return self.faithful / self.count if self.count else 1.0


def histogram(errors: np.ndarray, failed: np.ndarray) -> tuple[int, ...]:
    finite = errors[~failed]
    counts = [int(np.count_nonzero(finite == 0))]
    previous = 0.0
    for edge in BUCKET_EDGES:
        counts.append(int(np.count_nonzero((finite > previous) & (finite <= edge))))
        previous = edge
    counts.append(int(np.count_nonzero(finite > previous)))
    counts.append(int(np.count_nonzero(failed)))
    return tuple(counts)


def binade_maxima(x: np.ndarray, errors: np.ndarray, fmt: Format) -> list[dict]:
    """Largest ULP error per binade of the input, each sign apart (``floor(log2|x|)``; subnormals
    and zeros grouped as ``"subnormal"``/``"zero"``)."""
    finite = np.isfinite(x) & ~np.isnan(errors)
    out = []
    for negative in (False, True):
        mask = finite & (np.signbit(x) == negative)
        if not mask.any():
            continue
        keys, es = fmt.binade_of(x[mask]), errors[mask]
        order = np.argsort(keys, kind="stable")
        keys, es = keys[order], es[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        maxima = np.maximum.reduceat(es, starts)
        for key, value in zip(keys[starts].tolist(), maxima.tolist(), strict=True):
            label = {fmt.emin - 2: "zero", fmt.emin - 1: "subnormal"}.get(key, key)
            out.append({"sign": "-" if negative else "+", "binade": label, "max_ulp": value})
    return out


def worst_of(
    x: np.ndarray, outputs: np.ndarray, ref: ReferenceValues, m: Measurements, among: np.ndarray | None = None
) -> Worst | None:
    """The input with the largest ULP error of the format (outputs of the wrong class, which no ULP
    error measures, left out), among the inputs ``among`` marks (default: all); None where none
    is left. The first such input where several share the largest error."""
    candidates = m.failure == Failure.NONE
    if among is not None:
        candidates &= among
    if not candidates.any():
        return None
    i = int(np.nanargmax(np.where(candidates, m.ulp_error, -1.0)))
    return Worst(
        x=float(x[i]),
        x_bits=ref.fmt.hex_of(x[i]),
        output=float(outputs[i]),
        exact=float(np.float64(ref.hi[i]) + np.float64(ref.lo[i])),
        correctly_rounded=float(ref.rounded[i]),
        ulp_error=float(m.ulp_error[i]),
    )


def summarize(x: np.ndarray, outputs: np.ndarray, ref: ReferenceValues, m: Measurements, exhaustive: bool) -> Stats:
    fmt = ref.fmt
    failed = m.failure != Failure.NONE
    errors = m.ulp_error
    finite_errors = errors[~failed]
    worst = worst_of(x, outputs, ref, m)
    failures = {f.name.lower(): int(np.count_nonzero(m.failure == f)) for f in Failure if f is not Failure.NONE}
    if len(finite_errors):
        p50, p99, p999 = (float(v) for v in np.quantile(finite_errors, [0.5, 0.99, 0.999]))
        max_ulp, mean_ulp = float(finite_errors.max()), float(finite_errors.mean())
    else:
        p50 = p99 = p999 = max_ulp = mean_ulp = 0.0
    return Stats(
        count=len(x),
        exhaustive=exhaustive,
        max_ulp=max_ulp,
        mean_ulp=mean_ulp,
        p50_ulp=p50,
        p99_ulp=p99,
        p999_ulp=p999,
        correctly_rounded=int(np.count_nonzero(m.correctly_rounded)),
        faithful=int(np.count_nonzero(m.faithful)),
        failures={k: v for k, v in failures.items() if v},
        histogram=histogram(errors, failed),
        worst=worst,
        binade_max=binade_maxima(x, errors, fmt),
    )
