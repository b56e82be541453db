"""Measuring a range of inputs: the implementation's outputs, the reference under both oracles, the
ULP measure and the statistics, in one compiled pass per chunk (:func:`suite.numerics.kernels.sweep_chunk`)
or, where that does not apply, through :func:`suite.numerics.fastref.fast_reference` and
:func:`suite.numerics.ulp.measure` (the same statistics; the tests compare the two).
"""

from __future__ import annotations

import time

import numpy as np

from suite.audit import budgets
from suite.implementations.base import NATIVE_DTYPES
from suite.numerics.fastref import compiled_kernels, fast_reference, float64_arguments, working_type
from suite.numerics.formats import FLOAT32, Format
from suite.numerics.params import ORACLE_ORDER, Oracle, Params, Quantity
from suite.numerics.stats import BUCKET_LABELS
from suite.numerics.ulp import Failure, measure
from suite.sweep.accumulate import Accumulator, OracleTotals, Violation, wrong_steps
from suite.sweep.regions import ClassTotals, RegionStats, pieces, regions_of
from suite.sweep.spec import SweepSpec

CHUNK = 1 << 20
MAX_ESCALATED = 4096
"""Per chunk, the most inputs the compiled pass sends to mpmath; beyond, the NumPy path measures the chunk."""


def one_intra_op_thread() -> None:
    """In a worker process: torch computes on one thread, as the workers are the parallelism."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def empty_accumulator(spec: SweepSpec, start: int, stop: int, implementation) -> Accumulator:
    """An empty accumulator for ``spec``'s inputs ``[start, stop)``: the other kernel path's
    disagreement where there is one, and the statistics per class of the known deviations'
    regions (:mod:`suite.sweep.regions`)."""
    other_path = spec.other_path(implementation.paths(spec.device))
    regions = regions_of(spec, implementation.family, budgets.load(spec.budgets))
    return Accumulator(
        start,
        stop,
        path_disagreement=Violation() if other_path else None,
        regions=RegionStats(implementation.family, regions),
    )


def sweep_range(
    spec: SweepSpec,
    start: int,
    stop: int,
    implementation,
    progress=None,
    compiled: bool | None = None,
    recorded: dict[str, np.ndarray] | None = None,
) -> Accumulator:
    """Measure patterns ``[start, stop)`` of ``spec.fmt`` (all of them) and return the statistics.

    ``recorded``: the implementation's outputs at those patterns, per kernel path, evaluated
    beforehand (:mod:`suite.sweep.batched`: on a device, in large batches) as
    :meth:`~suite.implementations.base.Implementation.evaluate` gives them with ``native=True``;
    the implementation is then not called.

    ``compiled`` (default: when :mod:`suite.numerics.kernels` loads) measures each chunk in one compiled
    pass (:func:`suite.numerics.kernels.sweep_chunk`); a chunk with a rounding the fast bound cannot
    decide, and every chunk with ``compiled=False``, goes through :func:`fast_reference` (which
    escalates to mpmath) and :func:`suite.numerics.ulp.measure`. Both give the same statistics.
    """
    fmt, quantity = spec.fmt, spec.quantity
    params = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    kernels = compiled_kernels() if compiled is not False else None
    if kernels is None and compiled:
        raise RuntimeError("compiled sweep requested, but suite.numerics.kernels does not load (is numba installed?)")
    if working_type(fmt, params) != np.float64:
        kernels = None  # the one-pass loop is written for W = float64
    other_path = spec.other_path(implementation.paths(spec.device))
    acc = empty_accumulator(spec, start, start, implementation)
    regions = acc.regions.regions
    begun = time.perf_counter()
    for lo in range(start, stop, CHUNK):
        hi = min(stop, lo + CHUNK)
        bits = fmt.bit_range(lo, hi)
        x = fmt.decode(bits)
        # float32 outputs stay float32 (the compiled pass reads them as they are)
        own = bits.view(fmt.numpy_name) if (kernels and fmt.name in NATIVE_DTYPES) else x
        if recorded is not None:
            y = np.asarray(recorded[spec.path][lo - start : hi - start])
            y_other = np.asarray(recorded[other_path][lo - start : hi - start]) if other_path else None
        else:
            y = implementation.evaluate(
                own, fmt, quantity, spec.beta, spec.threshold, spec.device, spec.path, native=True
            )
            y_other = None
            if other_path:
                y_other = implementation.evaluate(
                    own, fmt, quantity, spec.beta, spec.threshold, spec.device, other_path, native=True
                )
        chunk = _chunk(kernels, fmt, quantity, params, bits, x, y, y_other)
        chunk.start, chunk.stop, chunk.inputs = lo, hi, hi - lo
        chunk.regions = RegionStats(implementation.family, regions)
        cut = pieces(lo, hi, regions)
        if len(cut) == 1:
            chunk.regions.add(cut[0][2], ClassTotals.of(chunk))
        else:  # a region begins or ends in the chunk: each piece measured on its own (the same per input)
            for a, b, label in cut:
                piece = slice(a - lo, b - lo)
                part = _chunk(kernels, fmt, quantity, params, bits[piece], x[piece], y[piece], None)
                part.inputs = b - a
                chunk.regions.add(label, ClassTotals.of(part))
        chunk.first, chunk.last = (int(bits[0]), float(y[0])), (int(bits[-1]), float(y[-1]))
        acc.merge(chunk, fmt, quantity)
        if progress:
            progress(hi - lo)
    acc.seconds = time.perf_counter() - begun
    return acc


def _chunk(kernels, fmt: Format, quantity: Quantity, params: Params, bits, x, y, y_other) -> Accumulator:
    """One chunk's statistics: in one compiled pass where it applies, else through NumPy."""
    chunk = _chunk_compiled(kernels, fmt, quantity, params, bits, x, y, y_other) if kernels else None
    if chunk is None:
        y = y.astype(np.float64)
        y_other = y_other.astype(np.float64) if y_other is not None else None
        chunk = _chunk_numpy(fmt, quantity, params, bits, x, y, y_other)
    return chunk


def _chunk_numpy(fmt: Format, quantity: Quantity, params: Params, bits, x, y, y_other) -> Accumulator:
    """One chunk's statistics through :func:`fast_reference` and :func:`suite.numerics.ulp.measure`."""
    chunk = Accumulator(0, 0, path_disagreement=Violation() if y_other is not None else None)
    refs = {}
    for oracle in ORACLE_ORDER:
        refs[oracle] = fast_reference(quantity, x, params, fmt, oracle)
        m = measure(y, refs[oracle], check_outputs=False)  # y holds the format's own values
        chunk.oracles[oracle] = OracleTotals.of_chunk(fmt, bits, x, y, refs[oracle].rounded, m)
    chunk.zero_where_positive.add((y == 0) & (refs[Oracle.DOCUMENTED].rounded > 0), bits, y)
    chunk.not_monotone.add(wrong_steps(fmt, quantity, bits, x, y), bits[1:], y[1:], before=(bits[:-1], y[:-1]))
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
        # the loop's arguments, in its order, by what they are
        outputs = (x, y, y_other if y_other is not None else np.empty(0, dtype=y.dtype))
        reference = (args.exp_minus_abs_y, args.second, args.constants)
        documented_rule = (np.float64(params.threshold), params.product_format is FLOAT32)
        output_format = (fmt.precision, fmt.emin, fmt.emax)
        results = (*tallies, events, undecided)
        kernels.sweep_chunk(args.code, *outputs, *reference, *documented_rule, *output_format, *overrides, *results)
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
    chunk.oracles[Oracle.DOCUMENTED] = OracleTotals.of_tallies(
        fmt, bits, y, (kernels.TALLY_SHARED, kernels.TALLY_DOCUMENTED), tallies
    )
    chunk.oracles[Oracle.MATH] = OracleTotals.of_tallies(
        fmt, bits, y, (kernels.TALLY_SHARED, kernels.TALLY_MATH), tallies
    )

    def violation(k: int) -> Violation:
        count, first = int(events[k]), int(events[k + 1])
        return Violation(count, int(bits[first]), float(y[first])) if count else Violation()

    chunk.zero_where_positive = violation(kernels.EVENT_ZERO)
    chunk.not_monotone = violation(kernels.EVENT_WRONG_STEP)
    if chunk.not_monotone.count:  # a step from the input before, in the chunk (the loop compares i with i - 1)
        step = int(events[kernels.EVENT_WRONG_STEP + 1])
        chunk.not_monotone.before_bits, chunk.not_monotone.before_output = int(bits[step - 1]), float(y[step - 1])
    if y_other is not None:
        chunk.path_disagreement = violation(kernels.EVENT_DISAGREE)
    return chunk
