"""Exhaustive sweeps: every bit pattern of a format through a target, with mergeable statistics.

A sweep enumerates the patterns of float16, bfloat16 or float32 in contiguous *shards*
(``K/N``), each in chunks of ``CHUNK`` inputs: the target's outputs on one kernel path, the
fast reference under both oracles, the ULP measure (one compiled pass per chunk,
:func:`suite._kernels.sweep_chunk`; the NumPy path computes the same statistics and is the
tests' check of it). Each shard's statistics are an
:class:`Accumulator` — counts, sums, the maximum with its input, the histogram, per-binade
maxima, property violations with a first example — that merges associatively with its
neighbours, so shards can run in separate processes, machines or CI jobs and be joined by
``softplus-audit merge`` into the same result as one process.

Finished shards are checkpointed as JSON (atomically); a sweep started again skips them.
Property violations counted (every input, not a sample):

* ``zero_where_positive``: output exactly 0 where the correct rounding is > 0 (premature
  underflow of softplus; a gradient that dies where sigmoid is representable);
* ``not_monotone``: adjacent inputs (consecutive patterns of one sign) whose outputs step the
  wrong way (softplus and its gradient increase with x; the second derivative falls with |x|);
* ``path_disagreement``: on CPU, inputs where the other kernel path gives other bits (not
  measured with ``compare_paths=False``, ``--one-path``: the second path was 14 % of the float32
  forward sweep's time and 27 % of the gradient's, see reports/published).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from suite.fastref import compiled_kernels, fast_reference, float64_arguments, working_type
from suite.formats import FLOAT32, Format, format_named
from suite.params import Oracle, Params, Quantity
from suite.stats import BUCKET_LABELS, binade_maxima, histogram
from suite.ulp import Failure, measure

FORMAT = 1
CHUNK = 1 << 20
ORACLES = ("documented", "math")
MAX_ESCALATED = 4096
"""Per chunk, the most inputs the compiled pass sends to mpmath; beyond, the NumPy path measures the chunk."""


@dataclass(frozen=True)
class SweepSpec:
    """What one sweep measures."""

    dtype: str
    target: str = "torch.nn.functional:softplus"
    device: str = "cpu"
    path: str = "simd"
    quantity: str = "forward"
    beta: float = 1.0
    threshold: float = 20.0
    compare_paths: bool = True  # on CPU, also run the other kernel path on every input

    @property
    def key(self) -> str:
        target = self.target.replace(":", ".")
        key = f"{target}-{self.device}-{self.dtype}-{self.path}-{self.quantity}-b{self.beta:g}-t{self.threshold:g}"
        return key if self.compare_paths else key + "-one-path"

    @property
    def other_path(self) -> str | None:
        """The kernel path whose outputs are compared with this one's (None: none)."""
        from suite.targets import CPU_PATHS

        if not (self.compare_paths and self.device == "cpu" and self.path in CPU_PATHS):
            return None
        return CPU_PATHS[1 - CPU_PATHS.index(self.path)]


def shard_range(fmt: Format, k: int, n: int) -> tuple[int, int]:
    """Patterns ``[start, stop)`` of shard ``k`` of ``n`` (0-based), contiguous and covering all."""
    if not (n >= 1 and 0 <= k < n):
        raise ValueError(f"shard {k}/{n}: need 0 <= K < N (shards are numbered from 0)")
    return fmt.count * k // n, fmt.count * (k + 1) // n


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
        """The statistics of one chunk measured by :func:`suite.ulp.measure` (the summaries of
        :mod:`suite.stats`), ready to :meth:`merge`."""
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
        """The statistics of one chunk from rows ``rows`` of :func:`suite._kernels.sweep_chunk`'s
        summaries ``tallies`` = (histogram, binade_max, sums, counts)."""
        from suite import _kernels as k

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
    count: int = 0
    example_bits: int = -1
    example_output: float = 0.0

    def add(self, mask: np.ndarray, bits: np.ndarray, y: np.ndarray) -> None:
        n = int(mask.sum())
        if n and self.example_bits < 0:
            i = int(np.flatnonzero(mask)[0])
            self.example_bits, self.example_output = int(bits[i]), float(y[i])
        self.count += n

    def merge(self, other: Violation) -> None:
        if self.example_bits < 0 and other.example_bits >= 0:
            self.example_bits, self.example_output = other.example_bits, other.example_output
        self.count += other.count


@dataclass
class Accumulator:
    """Everything a sweep knows about a contiguous range of patterns ``[start, stop)``."""

    start: int
    stop: int
    inputs: int = 0
    oracles: dict[str, OracleTotals] = field(default_factory=lambda: {o: OracleTotals() for o in ORACLES})
    zero_where_positive: Violation = field(default_factory=Violation)
    not_monotone: Violation = field(default_factory=Violation)
    path_disagreement: Violation | None = None
    first: tuple[int, float] | None = None  # (bits, output) at the range's ends, for the
    last: tuple[int, float] | None = None  # monotonicity of pairs across a merge boundary
    seconds: float = 0.0

    def merge(self, other: Accumulator, fmt: Format, quantity: str) -> Accumulator:
        if other.start != self.stop:
            raise ValueError(f"cannot merge range [{other.start}, {other.stop}) after [{self.start}, {self.stop})")
        for name in ORACLES:
            self.oracles[name].merge(other.oracles[name])
        self.zero_where_positive.merge(other.zero_where_positive)
        self.not_monotone.merge(other.not_monotone)
        if other.path_disagreement is not None:
            if self.path_disagreement is None:
                self.path_disagreement = Violation()
            self.path_disagreement.merge(other.path_disagreement)
        if self.last is not None and other.first is not None:
            pair_bits = np.array([self.last[0], other.first[0]], dtype=np.uint64).astype(fmt.uint_dtype)
            pair_y = np.array([self.last[1], other.first[1]])
            wrong = _wrong_steps(quantity, pair_bits, fmt.decode(pair_bits), pair_y)
            self.not_monotone.add(wrong, pair_bits[1:], pair_y[1:])
        self.stop, self.inputs, self.seconds = other.stop, self.inputs + other.inputs, self.seconds + other.seconds
        self.last = other.last if other.last is not None else self.last
        return self


def _wrong_steps(quantity: str, bits: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For consecutive patterns ``bits`` (values ``x``), does output i+1 step the wrong way from
    output i? (length n-1)"""
    same_sign = np.signbit(x[1:]) == np.signbit(x[:-1])
    consecutive = (bits[1:].astype(np.int64) - bits[:-1].astype(np.int64)) == 1
    usable = same_sign & consecutive & np.isfinite(x[1:]) & np.isfinite(x[:-1]) & ~np.isnan(y[1:]) & ~np.isnan(y[:-1])
    negative = np.signbit(x[1:])
    with np.errstate(invalid="ignore"):
        # softplus and its gradient rise with x; the second derivative falls as |x| grows
        rising = np.where(negative, y[1:] > y[:-1], y[1:] < y[:-1])
        wrong = y[1:] > y[:-1] if quantity == "grad2" else rising
    return usable & wrong


def sweep_range(
    spec: SweepSpec, start: int, stop: int, target, progress=None, compiled: bool | None = None
) -> Accumulator:
    """Measure patterns ``[start, stop)`` of ``spec.dtype`` (all of them) and return the statistics.

    ``compiled`` (default: when :mod:`suite._kernels` loads) measures each chunk in one compiled
    pass (:func:`suite._kernels.sweep_chunk`); a chunk with a rounding the fast bound cannot
    decide, and every chunk with ``compiled=False``, goes through :func:`fast_reference` (which
    escalates to mpmath) and :func:`suite.ulp.measure`. Both give the same statistics.
    """
    from suite.targets import NATIVE_DTYPES, evaluate

    fmt = format_named(spec.dtype)
    quantity = Quantity.named(spec.quantity)
    params = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    kernels = compiled_kernels() if compiled is not False else None
    if kernels is None and compiled:
        raise RuntimeError("compiled sweep requested, but suite._kernels does not load (is numba installed?)")
    if working_type(fmt, params) != np.float64:
        kernels = None  # the one-pass loop is written for W = float64
    other_path = spec.other_path
    acc = Accumulator(start, start, path_disagreement=Violation() if other_path else None)
    begun = time.perf_counter()
    for lo in range(start, stop, CHUNK):
        hi = min(stop, lo + CHUNK)
        bits = fmt.bit_range(lo, hi)
        x = fmt.decode(bits)
        # float32 outputs stay float32 (the compiled pass reads them as they are)
        own = bits.view(fmt.numpy_name) if (kernels and fmt.name in NATIVE_DTYPES) else x
        y = evaluate(target, own, fmt, quantity, spec.beta, spec.threshold, spec.device, spec.path, native=True)
        y_other = None
        if other_path:
            y_other = evaluate(
                target, own, fmt, quantity, spec.beta, spec.threshold, spec.device, other_path, native=True
            )
        chunk = _chunk_compiled(kernels, fmt, quantity, params, bits, x, y, y_other) if kernels else None
        if chunk is None:
            y = y.astype(np.float64)
            y_other = y_other.astype(np.float64) if y_other is not None else None
            chunk = _chunk_numpy(fmt, quantity, params, bits, x, y, y_other)
        chunk.start, chunk.stop, chunk.inputs = lo, hi, hi - lo
        chunk.first, chunk.last = (int(bits[0]), float(y[0])), (int(bits[-1]), float(y[-1]))
        if acc.inputs == 0 and acc.first is None:
            acc.first = chunk.first
        acc.merge(chunk, fmt, spec.quantity)
        if progress:
            progress(hi - lo)
    acc.seconds = time.perf_counter() - begun
    return acc


def _chunk_numpy(fmt: Format, quantity: Quantity, params: Params, bits, x, y, y_other) -> Accumulator:
    """One chunk's statistics through :func:`fast_reference` and :func:`suite.ulp.measure`."""
    chunk = Accumulator(0, 0, path_disagreement=Violation() if y_other is not None else None)
    refs = {}
    for name in ORACLES:
        refs[name] = fast_reference(quantity, x, params, fmt, Oracle.named(name))
        m = measure(y, refs[name], check_outputs=False)  # y holds the format's own values
        chunk.oracles[name] = OracleTotals.of_chunk(fmt, bits, x, y, refs[name].rounded, m)
    chunk.zero_where_positive.add((y == 0) & (refs["documented"].rounded > 0), bits, y)
    chunk.not_monotone.add(_wrong_steps(quantity.value, bits, x, y), bits[1:], y[1:])
    if y_other is not None:
        chunk.path_disagreement.add(~((y == y_other) | (np.isnan(y) & np.isnan(y_other))), bits, y)
    return chunk


def _chunk_compiled(kernels, fmt: Format, quantity: Quantity, params: Params, bits, x, y, y_other):
    """One chunk's statistics in one compiled pass (two where a rounding needs mpmath: the
    first finds those inputs, :func:`fast_reference` escalates them, the second uses its
    values); None where the loop does not apply or too many inputs need mpmath."""
    if params.product_format not in (None, FLOAT32):
        return None  # the loop rounds b*x to float32 or not at all
    # outputs as float32 (exact: the formats here are float32 at most): one compiled loop serves
    # float16, bfloat16 and float32 alike, instead of one compilation per output dtype
    y = y.astype(np.float32, copy=False)
    y_other = y_other.astype(np.float32, copy=False) if y_other is not None else None
    args = float64_arguments(kernels, quantity, x, params)
    overrides = (np.empty(0, dtype=np.int64), np.empty((2, 3, 0)), np.empty((2, 0), dtype=np.int64))
    for _ in range(2):
        rows = 3  # kernels.TALLY_SHARED, TALLY_DOCUMENTED, TALLY_MATH
        tallies = (
            np.zeros((rows, len(BUCKET_LABELS)), dtype=np.int64),
            np.full((rows, 2 * (fmt.emax - fmt.emin + 3)), -1.0),  # [row, sign * columns + column]
            np.zeros((rows, 4)),
            np.zeros((rows, kernels.TALLY_FAILURES + len(Failure)), dtype=np.int64),
        )
        tallies[3][:, kernels.TALLY_BEST] = -1
        events = np.array([0, 0, -1, 0, -1, 0, -1], dtype=np.int64)
        undecided = np.empty(MAX_ESCALATED, dtype=np.int64)
        kernels.sweep_chunk(
            args.code,
            x,
            y,
            y_other if y_other is not None else np.empty(0, dtype=y.dtype),
            args.exp_minus_abs_y,
            args.second,
            args.constants,
            np.float64(params.threshold),
            params.product_format is FLOAT32,
            fmt.precision,
            fmt.emin,
            fmt.emax,
            *overrides,
            *tallies,
            events,
            undecided,
        )
        count = int(events[kernels.EVENT_UNDECIDED])
        if count == 0:
            break
        if count > MAX_ESCALATED or len(overrides[0]):
            return None
        index = np.unique(undecided[:count])
        values, exponents = np.empty((2, 3, len(index))), np.empty((2, len(index)), dtype=np.int64)
        for row, oracle in enumerate((Oracle.DOCUMENTED, Oracle.MATH)):
            ref = fast_reference(quantity, x[index], params, fmt, oracle)  # escalates to mpmath
            values[row] = ref.rounded, ref.hi, ref.lo
            exponents[row] = ref.exponent
        overrides = (index, values, exponents)
    chunk = Accumulator(0, 0, path_disagreement=Violation() if y_other is not None else None)
    chunk.oracles["documented"] = OracleTotals.of_tallies(
        fmt, bits, y, (kernels.TALLY_SHARED, kernels.TALLY_DOCUMENTED), tallies
    )
    chunk.oracles["math"] = OracleTotals.of_tallies(fmt, bits, y, (kernels.TALLY_SHARED, kernels.TALLY_MATH), tallies)

    def violation(k: int) -> Violation:
        count, first = int(events[k]), int(events[k + 1])
        return Violation(count, int(bits[first]), float(y[first])) if count else Violation()

    chunk.zero_where_positive = violation(kernels.EVENT_ZERO)
    chunk.not_monotone = violation(kernels.EVENT_WRONG_STEP)
    if y_other is not None:
        chunk.path_disagreement = violation(kernels.EVENT_DISAGREE)
    return chunk


def sample_float64(spec: SweepSpec, per_binade: int, target, progress=None) -> tuple[Accumulator, np.ndarray]:
    """float64 cannot be enumerated: measure the stratified sample of :func:`suite.inputs.stratified`
    instead (``per_binade`` inputs in every binade of both signs, the specials, the threshold band,
    exp's edges, and every point's upper neighbour), in chunks, with the sweep's statistics.

    Wrong-way steps are counted between sample points that are adjacent floats (each point and its
    upper neighbour). Returns the statistics and the inputs measured.
    """
    from suite.formats import FLOAT64
    from suite.inputs import stratified
    from suite.targets import evaluate

    if spec.dtype != "float64":
        raise ValueError(f"sampled sweeps are for float64; {spec.dtype} can be swept whole")
    fmt = FLOAT64
    quantity = Quantity.named(spec.quantity)
    params = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    x_all = stratified(fmt, spec.beta, spec.threshold, per_binade=per_binade)
    if hasattr(progress, "set_total"):
        progress.set_total(len(x_all))
    other_path = spec.other_path
    acc = Accumulator(0, 0, path_disagreement=Violation() if other_path else None)
    begun = time.perf_counter()
    for lo in range(0, len(x_all), CHUNK):
        x = x_all[lo : lo + CHUNK]
        bits = fmt.encode(x, check=False)
        y = evaluate(target, x, fmt, quantity, spec.beta, spec.threshold, spec.device, spec.path)
        refs = {}
        for name in ORACLES:
            refs[name] = fast_reference(quantity, x, params, fmt, Oracle.named(name))
            m = measure(y, refs[name], check_outputs=False)
            acc.oracles[name].merge(OracleTotals.of_chunk(fmt, bits, x, y, refs[name].rounded, m))
        acc.zero_where_positive.add((y == 0) & (refs["documented"].rounded > 0), bits, y)
        # pairs of adjacent floats in value order (the sample is sorted): softplus and its
        # gradient rise with x; the second derivative rises up to 0 and falls after it
        ordinals = fmt.ordinal(bits)
        adjacent = ((ordinals[1:] - ordinals[:-1]) == 1) & np.isfinite(x[1:]) & np.isfinite(x[:-1])
        with np.errstate(invalid="ignore"):
            falls = y[1:] < y[:-1]
            wrong = np.where(x[1:] <= 0, falls, y[1:] > y[:-1]) if spec.quantity == "grad2" else falls
        acc.not_monotone.add(np.r_[False, adjacent & wrong & ~np.isnan(y[1:]) & ~np.isnan(y[:-1])], bits, y)
        if other_path:
            y_other = evaluate(target, x, fmt, quantity, spec.beta, spec.threshold, spec.device, other_path)
            acc.path_disagreement.add(~((y == y_other) | (np.isnan(y) & np.isnan(y_other))), bits, y)
        acc.inputs += len(x)
        if progress:
            progress(len(x))
    acc.seconds = time.perf_counter() - begun
    return acc, x_all


def targeted_search(spec: SweepSpec, target, examples: int) -> dict:
    """Hypothesis search, beyond a sample, for the largest ULP error (documented oracle) at float64
    inputs: drawn from :func:`suite.strategies.focused` (any value, the threshold band, exp's
    edges, huge magnitudes), steered by ``hypothesis.target`` towards larger errors,
    derandomized (the same inputs every run). Returns the number of inputs tried, the largest
    error with its input, and the special-value failures seen (JSON-ready)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import target as steer
    from hypothesis.control import currently_in_test_context

    from suite.formats import FLOAT64
    from suite.strategies import focused, known_hard_points
    from suite.targets import evaluate

    fmt = FLOAT64
    quantity = Quantity.named(spec.quantity)
    params = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    found = {"tried": 0, "max_ulp": -1.0, "x": math.nan, "output": math.nan, "rounded": math.nan, "failures": 0}

    def probe(x: float) -> None:
        xs = np.array([x])
        y = evaluate(target, xs, fmt, quantity, spec.beta, spec.threshold, spec.device, spec.path)
        ref = fast_reference(quantity, xs, params, fmt, Oracle.DOCUMENTED)
        m = measure(y, ref, check_outputs=False)
        found["tried"] += 1
        if m.failure[0] != Failure.NONE:
            found["failures"] += 1
            return
        error = float(m.ulp_error[0])
        if currently_in_test_context():  # the known hard points are probed before the search
            steer(error, label="ULP error (documented oracle)")
        if error > found["max_ulp"]:
            found.update(max_ulp=error, x=x, output=float(y[0]), rounded=float(ref.rounded[0]))

    search = given(focused(fmt, params.beta, params.threshold))(probe)
    for point in known_hard_points(fmt, params.beta, params.threshold):
        probe(point)
    settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.target],
        suppress_health_check=list(HealthCheck),
    )(search)()
    worst = None
    if found["max_ulp"] >= 0:
        bits = int(fmt.encode(np.float64(found["x"])))
        worst = {
            "x_bits": fmt.hex(bits),
            "x": _finite(found["x"]),
            "output": _finite(found["output"]),
            "correctly_rounded": _finite(found["rounded"]),
        }
    return {
        "examples": examples,
        "tried": found["tried"],
        "max_ulp": _finite(found["max_ulp"]) if worst else None,
        "worst": worst,
        "failures": found["failures"],
        "strategy": "suite.strategies.focused, hypothesis.target on the ULP error, derandomized",
    }


# -- JSON -------------------------------------------------------------------------------------------


def _finite(v: float):
    return v if math.isfinite(v) else {"repr": repr(v)}


def accumulator_to_json(acc: Accumulator) -> dict:
    data = dataclasses.asdict(acc)
    for totals in data["oracles"].values():
        for key in ("argmax_output", "argmax_rounded", "max_ulp"):
            totals[key] = _finite(totals[key])
    for key in ("zero_where_positive", "not_monotone", "path_disagreement"):
        if data[key]:
            data[key]["example_output"] = _finite(data[key]["example_output"])
    for key in ("first", "last"):
        if data[key]:
            data[key] = [data[key][0], _finite(data[key][1])]
    return data


def _float(v) -> float:
    return float(v["repr"]) if isinstance(v, dict) else float(v)


def accumulator_from_json(data: dict) -> Accumulator:
    oracles = {}
    for name, t in data["oracles"].items():
        oracles[name] = OracleTotals(
            **{**t, **{k: _float(t[k]) for k in ("argmax_output", "argmax_rounded", "max_ulp")}}
        )

    def violation(v):
        return None if v is None else Violation(v["count"], v["example_bits"], _float(v["example_output"]))

    return Accumulator(
        start=data["start"],
        stop=data["stop"],
        inputs=data["inputs"],
        oracles=oracles,
        zero_where_positive=violation(data["zero_where_positive"]),
        not_monotone=violation(data["not_monotone"]),
        path_disagreement=violation(data["path_disagreement"]),
        first=(data["first"][0], _float(data["first"][1])) if data["first"] else None,
        last=(data["last"][0], _float(data["last"][1])) if data["last"] else None,
        seconds=data["seconds"],
    )


def shard_file(out: Path, spec: SweepSpec, k: int, n: int) -> Path:
    return out / spec.key / f"shard-{k:04d}-of-{n:04d}.json"


def write_shard(out: Path, spec: SweepSpec, k: int, n: int, acc: Accumulator) -> Path:
    from suite.runreport import write_json_atomically

    path = shard_file(out, spec, k, n)
    write_json_atomically(
        {
            "format": FORMAT,
            "kind": "sweep-shard",
            "spec": dataclasses.asdict(spec),
            "shard": [k, n],
            "stats": accumulator_to_json(acc),
        },
        path,
    )
    return path


def read_shard(path: Path) -> tuple[SweepSpec, int, int, Accumulator]:
    """A checkpointed shard; ValueError (one line) if it is not one."""
    try:
        data = json.loads(Path(path).read_text())
        if data.get("format") != FORMAT or data.get("kind") != "sweep-shard":
            raise ValueError(f"format {data.get('format')!r}, kind {data.get('kind')!r}")
        spec = SweepSpec(**data["spec"])
        k, n = data["shard"]
        return spec, k, n, accumulator_from_json(data["stats"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a sweep shard of format {FORMAT} ({error})") from None


class Heartbeat:
    """tqdm on a terminal; elsewhere (CI logs) one line every ``every`` seconds."""

    def __init__(self, total: int, label: str, every: float = 10.0):
        self.total, self.label, self.every, self.done = total, label, every, 0
        self.begun = self.last = time.perf_counter()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="in", unit_scale=True, smoothing=0.1)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            rate = self.done / max(now - self.begun, 1e-9)
            eta = (self.total - self.done) / rate if rate else math.inf
            print(
                f"{self.label}: {self.done:,}/{self.total:,} inputs ({100 * self.done / self.total:.1f}%), "
                f"{rate / 1e6:.2f} M/s, ETA {eta:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    def set_total(self, total: int) -> None:
        """The number of inputs, once known (a sample's size is known only when it is drawn)."""
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run_shard(args) -> tuple[int, str]:
    spec, k, n, out = args
    import torch

    from suite.targets import load_target

    torch.set_num_threads(1)
    fmt = format_named(spec.dtype)
    start, stop = shard_range(fmt, k, n)
    acc = sweep_range(spec, start, stop, load_target(spec.target))
    return k, str(write_shard(Path(out), spec, k, n, acc))


def run_sweep(spec: SweepSpec, out: Path, shards: int, only: int | None = None, workers: int = 1) -> list[int]:
    """Measure every shard not yet checkpointed under ``out`` (or only shard ``only``); returns the
    shards measured now. Interrupted sweeps resume from their checkpoints."""
    fmt = format_named(spec.dtype)
    todo = [only] if only is not None else list(range(shards))
    done = []
    for k in list(todo):
        path = shard_file(out, spec, k, shards)
        if path.exists():
            try:
                read_shard(path)
                todo.remove(k)
            except ValueError:
                path.unlink()  # a damaged checkpoint is measured again
    total = sum(shard_range(fmt, k, shards)[1] - shard_range(fmt, k, shards)[0] for k in todo)
    beat = Heartbeat(total, f"sweep {spec.key}")
    try:
        if workers > 1 and len(todo) > 1:
            import multiprocessing as mp

            from suite.targets import load_target

            # compile (or load) the numba loops here once, so that the workers load them from
            # numba's cache instead of each compiling them at the same time
            start = shard_range(fmt, todo[0], shards)[0]
            sweep_range(spec, start, start + min(4096, total), load_target(spec.target))
            with mp.get_context("spawn").Pool(workers) as pool:
                for k, _ in pool.imap_unordered(_run_shard, [(spec, k, shards, str(out)) for k in todo]):
                    beat(shard_range(fmt, k, shards)[1] - shard_range(fmt, k, shards)[0])
                    done.append(k)
        else:
            from suite.targets import load_target

            target = load_target(spec.target)
            for k in todo:
                start, stop = shard_range(fmt, k, shards)
                write_shard(out, spec, k, shards, sweep_range(spec, start, stop, target, progress=beat))
                done.append(k)
    finally:
        beat.close()
    return done


def _ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8' (at most 8 runs, then a count)."""
    runs = []
    for k in numbers:
        if runs and k == runs[-1][1] + 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    text = [f"{a}-{b}" if a != b else f"{a}" for a, b in runs[:8]]
    return ", ".join(text) + (f", and {len(runs) - 8} more runs" if len(runs) > 8 else "")


def merge_shards(paths: list[Path]) -> tuple[SweepSpec, Accumulator, int]:
    """Join checkpointed shards of one sweep; ValueError naming what is missing or mismatched."""
    shards = sorted((read_shard(p) for p in paths), key=lambda s: s[1])
    if not shards:
        raise ValueError("no shard files to merge")
    spec, _, n, _ = shards[0]
    for other_spec, _, other_n, _ in shards:
        if other_spec != spec or other_n != n:
            raise ValueError(f"shards of different sweeps: {spec.key} ({n} shards) and {other_spec.key} ({other_n})")
    have = [k for _, k, _, _ in shards]
    missing = sorted(set(range(n)) - set(have))
    if missing:
        raise ValueError(
            f"sweep {spec.key}: {len(missing)} of {n} shards missing ({_ranges(missing)}); run them with --shard K/{n}"
        )
    if len(have) != len(set(have)):
        raise ValueError(f"sweep {spec.key}: a shard appears twice")
    fmt = format_named(spec.dtype)
    total = shards[0][3]
    for _, _, _, acc in shards[1:]:
        total.merge(acc, fmt, spec.quantity)
    return spec, total, n


def report(
    spec: SweepSpec, acc: Accumulator, shards: int, environment: dict | None = None, wall_seconds: float | None = None
) -> dict:
    """The sweep's report JSON (the format the report commands read for sweeps). ``wall_seconds``:
    the elapsed time of a sweep measured whole in one invocation (None: resumed or merged, so
    unknown)."""
    fmt = format_named(spec.dtype)
    kernel = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    oracles = {}
    for name, t in acc.oracles.items():
        worst_x = float(fmt.decode(np.array([t.argmax_bits], dtype=np.uint64).astype(fmt.uint_dtype))[0])
        oracles[name] = {
            "max_ulp": _finite(t.max_ulp),
            "worst": {
                "x_bits": fmt.hex(t.argmax_bits),
                "x": _finite(worst_x),
                "output": _finite(t.argmax_output),
                "correctly_rounded": _finite(t.argmax_rounded),
            },
            "mean_ulp": t.sum_ulp / t.counted if t.counted else 0.0,
            "correctly_rounded": t.correctly_rounded,
            "correctly_rounded_rate": t.correctly_rounded / acc.inputs if acc.inputs else 1.0,
            "faithful": t.faithful,
            "faithful_rate": t.faithful / acc.inputs if acc.inputs else 1.0,
            "failures": t.failures,
            "histogram": dict(zip(BUCKET_LABELS, t.histogram, strict=True)),
            "binade_max": t.binade_max,
        }

    def violation(v: Violation | None):
        if v is None:
            return None
        example = None
        if v.example_bits >= 0:
            x = float(fmt.decode(np.array([v.example_bits], dtype=np.uint64).astype(fmt.uint_dtype))[0])
            example = {"x_bits": fmt.hex(v.example_bits), "x": _finite(x), "output": _finite(v.example_output)}
        return {"count": v.count, "example": example}

    return {
        "format": FORMAT,
        "kind": "sweep",
        "spec": dataclasses.asdict(spec),
        "kernel_params": {
            "beta": _finite(kernel.beta),
            "threshold": _finite(kernel.threshold),
            "product_format": kernel.product_format.name,
        },
        "exhaustive": acc.start == 0 and acc.stop == fmt.count,
        "inputs": acc.inputs,
        "shards": shards,
        "cpu_seconds": acc.seconds,
        "wall_seconds": wall_seconds,
        "environment": environment or {},
        "oracles": oracles,
        "violations": {
            "zero_where_positive": violation(acc.zero_where_positive),
            "not_monotone": violation(acc.not_monotone),
            "path_disagreement": violation(acc.path_disagreement),
        },
    }
