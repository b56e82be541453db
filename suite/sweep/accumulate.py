"""Mergeable statistics of a sweep: per oracle (:class:`OracleTotals`), per property violation
(:class:`Violation`), and per contiguous range of inputs (:class:`Accumulator`), with their JSON form.

Merging is associative: shards measured in separate processes, machines or CI jobs join into the
same statistics as one process. All ULP figures are ULPs of the output format.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from suite.files import float_from_json, json_float
from suite.numerics.formats import Format
from suite.numerics.params import ORACLE_ORDER, Oracle, Quantity
from suite.numerics.stats import BUCKET_LABELS, binade_maxima, histogram
from suite.numerics.ulp import Failure
from suite.sweep.regions import RegionStats


@dataclass
class OracleTotals:
    """Mergeable statistics of the ULP errors under one oracle (ULPs of the output format)."""

    max_ulp: float = 0.0
    argmax_bits: int = -1
    argmax_output: float = 0.0
    argmax_rounded: float = 0.0
    sum_ulp: float = 0.0
    counted: int = 0  # inputs with a numeric ULP error (no special-value failure)
    correctly_rounded: int = 0
    faithful: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    histogram: list[int] = field(default_factory=lambda: [0] * len(BUCKET_LABELS))
    binade_max: dict[str, float] = field(default_factory=dict)  # "+e"/"-e"/"+sub"... -> max

    @classmethod
    def of_chunk(
        cls, fmt: Format, bits: np.ndarray, x: np.ndarray, y: np.ndarray, rounded: np.ndarray, m
    ) -> OracleTotals:
        """The statistics of one chunk measured by :func:`suite.numerics.ulp.measure` (the summaries of
        :mod:`suite.numerics.stats`), ready to :meth:`merge`."""
        failed = m.failure != Failure.NONE
        errors = m.ulp_error
        totals = cls()
        if (~failed).any():
            best = int(np.nanargmax(np.where(failed, -1.0, errors)))  # the first largest
            totals.max_ulp, totals.argmax_bits = float(errors[best]), int(bits[best])
            totals.argmax_output, totals.argmax_rounded = float(y[best]), float(rounded[best])
            totals.sum_ulp = float(errors[~failed].sum())
            totals.counted = int(np.count_nonzero(~failed))
        totals.correctly_rounded = int(np.count_nonzero(m.correctly_rounded))
        totals.faithful = int(np.count_nonzero(m.faithful))
        for f in Failure:
            n = int(np.count_nonzero(m.failure == f)) if f is not Failure.NONE else 0
            if n:
                totals.failures[f.name.lower()] = n
        totals.histogram = histogram(errors, failed)
        totals.binade_max = {e["sign"] + str(e["binade"]): e["max_ulp"] for e in binade_maxima(x, errors, fmt)}
        return totals

    @classmethod
    def of_tallies(cls, fmt: Format, bits: np.ndarray, y: np.ndarray, rows: tuple[int, ...], tallies) -> OracleTotals:
        """The statistics of one chunk from rows ``rows`` of :func:`suite.numerics.kernels.sweep_chunk`'s
        summaries ``tallies`` = (histogram, binade_max, sums, counts)."""
        from suite.numerics import kernels as k

        histogram_rows, binade_rows, sums_rows, counts_rows = (a[list(rows)] for a in tallies)
        by_bucket, sums, counts = histogram_rows.sum(axis=0), sums_rows.sum(axis=0), counts_rows.sum(axis=0)
        table = binade_rows.max(axis=0).reshape(2, -1)  # [sign, column]
        totals = cls()
        # the first largest error: the larger, and on a tie the earlier input
        found = [(-float(tallies[2][r, 2]), int(tallies[3][r, k.TALLY_BEST]), r) for r in rows]
        found = sorted(f for f in found if f[1] >= 0)
        if found:
            _, best, r = found[0]
            totals.max_ulp, totals.argmax_bits = float(tallies[2][r, 2]), int(bits[best])
            totals.argmax_output, totals.argmax_rounded = float(y[best]), float(tallies[2][r, 3])
            totals.sum_ulp = float(sums[0] + sums[1])
            totals.counted = int(counts[k.TALLY_COUNTED])
        totals.correctly_rounded = int(counts[k.TALLY_CORRECT])
        totals.faithful = int(counts[k.TALLY_FAITHFUL])
        for f in Failure:
            n = int(counts[k.TALLY_FAILURES + f.value]) if f is not Failure.NONE else 0
            if n:
                totals.failures[f.name.lower()] = n
        totals.histogram = by_bucket.tolist()
        for sign_row, sign in ((0, "+"), (1, "-")):
            for col in np.flatnonzero(table[sign_row] >= 0).tolist():
                name = "zero" if col == 0 else "subnormal" if col == 1 else str(col - 2 + fmt.emin)
                totals.binade_max[sign + name] = float(table[sign_row, col])
        return totals

    def merge(self, other: OracleTotals) -> None:
        if other.argmax_bits >= 0 and (other.max_ulp > self.max_ulp or self.argmax_bits < 0):
            self.max_ulp, self.argmax_bits = other.max_ulp, other.argmax_bits
            self.argmax_output, self.argmax_rounded = other.argmax_output, other.argmax_rounded
        self.sum_ulp += other.sum_ulp
        self.counted += other.counted
        self.correctly_rounded += other.correctly_rounded
        self.faithful += other.faithful
        for k, v in other.failures.items():
            self.failures[k] = self.failures.get(k, 0) + v
        self.histogram = [a + b for a, b in zip(self.histogram, other.histogram, strict=True)]
        for k, v in other.binade_max.items():
            self.binade_max[k] = max(self.binade_max.get(k, 0.0), v)


@dataclass
class Violation:
    """How many inputs violate a property, and the first that does: its bits and output; for a
    step between neighbours, also the input before it in the order stepped (``before_bits`` -1:
    none recorded), so that the example and its reproducer show the step itself."""

    count: int = 0
    example_bits: int = -1
    example_output: float = 0.0
    before_bits: int = -1
    before_output: float = 0.0

    def add(
        self, mask: np.ndarray, bits: np.ndarray, y: np.ndarray, before: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        """Count the inputs ``mask`` selects; ``before``: the (bits, outputs) each one stepped from."""
        n = int(mask.sum())
        if n and self.example_bits < 0:
            i = int(np.flatnonzero(mask)[0])
            self.example_bits, self.example_output = int(bits[i]), float(y[i])
            if before is not None:
                self.before_bits, self.before_output = int(before[0][i]), float(before[1][i])
        self.count += n

    def merge(self, other: Violation) -> None:
        if self.example_bits < 0 and other.example_bits >= 0:
            self.example_bits, self.example_output = other.example_bits, other.example_output
            self.before_bits, self.before_output = other.before_bits, other.before_output
        self.count += other.count


@dataclass
class Accumulator:
    """Everything a sweep knows about a contiguous range of patterns ``[start, stop)``."""

    start: int
    stop: int
    inputs: int = 0
    oracles: dict[Oracle, OracleTotals] = field(default_factory=lambda: {o: OracleTotals() for o in ORACLE_ORDER})
    zero_where_positive: Violation = field(default_factory=Violation)
    not_monotone: Violation = field(default_factory=Violation)
    path_disagreement: Violation | None = None
    first: tuple[int, float] | None = None  # (bits, output) at the range's ends, for the
    last: tuple[int, float] | None = None  # monotonicity of pairs across a merge boundary
    seconds: float = 0.0
    regions: RegionStats | None = None  # per class of the known deviations' regions (None: not recorded)

    def merge(self, other: Accumulator, fmt: Format, quantity: Quantity) -> Accumulator:
        if other.start != self.stop:
            raise ValueError(f"cannot merge range [{other.start}, {other.stop}) after [{self.start}, {self.stop})")
        for oracle in ORACLE_ORDER:
            self.oracles[oracle].merge(other.oracles[oracle])
        self.zero_where_positive.merge(other.zero_where_positive)
        if self.first is None and self.inputs == 0:  # nothing here yet: the range begins with other's
            self.first = other.first
        self.step_to(other.first, fmt, quantity)  # before other's own steps: the first is first in order
        self.not_monotone.merge(other.not_monotone)
        if other.path_disagreement is not None:
            if self.path_disagreement is None:
                self.path_disagreement = Violation()
            self.path_disagreement.merge(other.path_disagreement)
        self.stop, self.inputs, self.seconds = other.stop, self.inputs + other.inputs, self.seconds + other.seconds
        self.last = other.last if other.last is not None else self.last
        self.regions = self.regions.merge(other.regions) if self.regions is not None else None
        return self

    def empty_after(self) -> Accumulator:
        """An empty range beginning where this one stops, keeping the same statistics (the other
        path's disagreement where this has it, the classes of the same regions): a range to
        measure on its own and :meth:`merge` here."""
        return Accumulator(
            self.stop,
            self.stop,
            path_disagreement=Violation() if self.path_disagreement is not None else None,
            regions=RegionStats(self.regions.family, self.regions.regions) if self.regions is not None else None,
        )

    def step_to(self, following: tuple[int, float] | None, fmt: Format, quantity: Quantity) -> None:
        """Count the step from this range's last input to ``following`` (bits, output), the input
        measured next, where it is a wrong-way step between adjacent floats (:func:`wrong_steps`)."""
        if self.last is None or following is None:
            return
        pair_bits = np.array([self.last[0], following[0]], dtype=np.uint64).astype(fmt.uint_dtype)
        pair_y = np.array([self.last[1], following[1]])
        wrong = wrong_steps(fmt, quantity, pair_bits, fmt.decode(pair_bits), pair_y)
        self.not_monotone.add(wrong, pair_bits[1:], pair_y[1:], before=(pair_bits[:-1], pair_y[:-1]))


def wrong_steps(fmt: Format, quantity: Quantity, bits: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For successive inputs ``bits`` (values ``x``, outputs ``y``), in the order they were measured:
    are inputs i and i+1 adjacent floats (:meth:`Format.ordinal` one apart, either way round) whose
    outputs step the wrong way? (length n-1)

    softplus and its gradient rise with x; the second derivative rises up to 0 and falls after it.
    Consecutive bit patterns of one sign (an exhaustive sweep's order) and a sorted sample's
    neighbours are both such pairs; a pair of non-finite inputs or NaN outputs is not judged."""
    ordinals = fmt.ordinal(bits)
    step = ordinals[1:] - ordinals[:-1]
    usable = (np.abs(step) == 1) & np.isfinite(x[1:]) & np.isfinite(x[:-1]) & ~np.isnan(y[1:]) & ~np.isnan(y[:-1])
    rising = step > 0  # the pair in increasing x: (i, i+1); else (i+1, i)
    lower_y, upper_y = np.where(rising, y[:-1], y[1:]), np.where(rising, y[1:], y[:-1])
    upper_x = np.where(rising, x[1:], x[:-1])
    with np.errstate(invalid="ignore"):
        falls, rises = upper_y < lower_y, upper_y > lower_y
        wrong = np.where(upper_x <= 0, falls, rises) if quantity is Quantity.GRAD2 else falls
    return usable & wrong


def accumulator_to_json(acc: Accumulator) -> dict:
    data = dataclasses.asdict(dataclasses.replace(acc, regions=None))
    data["regions"] = acc.regions.as_record() if acc.regions is not None else None
    data["oracles"] = {oracle.value: totals for oracle, totals in data["oracles"].items()}
    for totals in data["oracles"].values():
        for key in ("argmax_output", "argmax_rounded", "max_ulp"):
            totals[key] = json_float(totals[key])
    for key in ("zero_where_positive", "not_monotone", "path_disagreement"):
        if data[key]:
            data[key]["example_output"] = json_float(data[key]["example_output"])
            data[key]["before_output"] = json_float(data[key]["before_output"])
    for key in ("first", "last"):
        if data[key]:
            data[key] = [data[key][0], json_float(data[key][1])]
    return data


def accumulator_from_json(data: dict) -> Accumulator:
    oracles = {}
    for name, t in data["oracles"].items():
        oracles[Oracle(name)] = OracleTotals(
            **{**t, **{k: float_from_json(t[k]) for k in ("argmax_output", "argmax_rounded", "max_ulp")}}
        )

    def violation(v):
        if v is None:
            return None
        before = v.get("before_bits", -1), float_from_json(v.get("before_output", 0.0))  # absent in older shards
        return Violation(v["count"], v["example_bits"], float_from_json(v["example_output"]), *before)

    return Accumulator(
        start=data["start"],
        stop=data["stop"],
        inputs=data["inputs"],
        oracles=oracles,
        zero_where_positive=violation(data["zero_where_positive"]),
        not_monotone=violation(data["not_monotone"]),
        path_disagreement=violation(data["path_disagreement"]),
        first=(data["first"][0], float_from_json(data["first"][1])) if data["first"] else None,
        last=(data["last"][0], float_from_json(data["last"][1])) if data["last"] else None,
        seconds=data["seconds"],
        regions=RegionStats.from_record(data["regions"]) if data.get("regions") else None,
    )
