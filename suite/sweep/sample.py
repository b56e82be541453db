"""float64 cannot be enumerated: a stratified sample with the sweep's statistics, then a steered
hypothesis search beyond it, whose inputs join the same statistics (:func:`measure_float64`)."""

from __future__ import annotations

import math
import time

import numpy as np

from suite.files import json_float
from suite.numerics.fastref import fast_reference
from suite.numerics.params import ORACLE_ORDER, Oracle, Params, Quantity
from suite.numerics.ulp import Failure, measure, sharpen
from suite.sweep.accumulate import Accumulator, OracleTotals, Violation
from suite.sweep.measure import CHUNK, empty_accumulator
from suite.sweep.regions import ClassTotals, Largest, class_masks
from suite.sweep.spec import SweepSpec


def sample_float64(spec: SweepSpec, per_binade: int, implementation, progress=None) -> tuple[Accumulator, np.ndarray]:
    """float64 cannot be enumerated: measure the stratified sample of :func:`suite.inputs.sets.stratified`
    instead (``per_binade`` inputs in every binade of both signs, the specials, the threshold band,
    exp's edges, and every point's upper neighbour), in chunks, with the sweep's statistics.

    Wrong-way steps are counted between sample points that are adjacent floats (each point and its
    upper neighbour). Returns the statistics and the inputs measured.
    """
    from suite.inputs.sets import stratified
    from suite.numerics.formats import FLOAT64

    if spec.fmt is not FLOAT64:
        raise ValueError(f"sampled sweeps are for float64; {spec.fmt.name} can be swept whole")
    x_all = stratified(spec.fmt, spec.beta, spec.threshold, per_binade=per_binade)
    if hasattr(progress, "set_total"):
        progress.set_total(len(x_all))
    acc = empty_accumulator(spec, 0, 0, implementation)
    measure_float64(spec, x_all, implementation, acc, progress)
    return acc, x_all


def sweep_binades(spec: SweepSpec, start: int, stop: int, implementation, progress=None) -> Accumulator:
    """A dense float64 sweep's binades ``[start, stop)`` (value order, :func:`suite.inputs.sets.dense_binade`):
    ``spec.per_binade`` inputs in each, drawn there, measured binade by binade with the sweep's
    statistics. Wrong-way steps are counted within each drawn pair of neighbours."""
    from suite.inputs.sets import dense_binade

    acc = empty_accumulator(spec, start, stop, implementation)
    for binade in range(start, stop):
        x = dense_binade(spec.fmt, spec.beta, spec.threshold, binade, spec.per_binade)
        measure_float64(spec, x, implementation, acc, progress)
    return acc


def measure_float64(spec: SweepSpec, x_all: np.ndarray, implementation, acc: Accumulator, progress=None) -> None:
    """Measure the float64 inputs ``x_all`` (sorted by value) into ``acc``: both oracles' statistics,
    outputs of 0 where the correct rounding is positive, wrong-way steps between inputs that are
    adjacent floats, and the other kernel path's disagreement; the time it took is added. Where
    ``acc`` keeps statistics per class of the known deviations' regions, each input joins its class's."""
    fmt, quantity = spec.fmt, spec.quantity
    params = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    other_path = spec.other_path(implementation.paths(spec.device))
    begun = time.perf_counter()
    for lo in range(0, len(x_all), CHUNK):
        x = x_all[lo : lo + CHUNK]
        bits = fmt.encode(x, check=False)
        y = implementation.evaluate(x, fmt, quantity, spec.beta, spec.threshold, spec.device, spec.path)
        refs, measured = {}, {}
        classes = class_masks(bits, acc.regions.regions) if acc.regions is not None else {"": np.ones(len(x), bool)}
        groups = np.zeros(len(x), dtype=np.int64)
        for label, inside in enumerate(classes.values()):
            groups[inside] = label
        for oracle in ORACLE_ORDER:
            refs[oracle] = fast_reference(quantity, x, params, fmt, oracle)
            measured[oracle] = sharpen(
                measure(y, refs[oracle], check_outputs=False), x, y, refs[oracle], quantity, params, oracle, groups
            )
            acc.oracles[oracle].merge(OracleTotals.of_chunk(fmt, bits, x, y, refs[oracle].rounded, measured[oracle]))
        zero = (y == 0) & (refs[Oracle.DOCUMENTED].rounded > 0)
        acc.zero_where_positive.add(zero, bits, y)
        if acc.regions is not None:
            for label, inside in classes.items():
                zeros = Violation()
                zeros.add(zero[inside], bits[inside], y[inside])
                largest = {
                    oracle: Largest.of(
                        OracleTotals.of_chunk(
                            fmt, bits[inside], x[inside], y[inside], refs[oracle].rounded[inside], m.take(inside)
                        )
                    )
                    for oracle, m in measured.items()
                }
                acc.regions.add(
                    label, ClassTotals(int(np.count_nonzero(inside)), largest, zeros.count, zeros.example_bits)
                )
        # pairs of adjacent floats in value order (the sample is sorted): softplus and its
        # gradient rise with x; the second derivative rises up to 0 and falls after it
        ordinals = fmt.ordinal(bits)
        adjacent = ((ordinals[1:] - ordinals[:-1]) == 1) & np.isfinite(x[1:]) & np.isfinite(x[:-1])
        with np.errstate(invalid="ignore"):
            falls = y[1:] < y[:-1]
            wrong = np.where(x[1:] <= 0, falls, y[1:] > y[:-1]) if quantity is Quantity.GRAD2 else falls
        steps = adjacent & wrong & ~np.isnan(y[1:]) & ~np.isnan(y[:-1])
        acc.not_monotone.add(steps, bits[1:], y[1:], before=(bits[:-1], y[:-1]))
        if other_path:
            y_other = implementation.evaluate(x, fmt, quantity, spec.beta, spec.threshold, spec.device, other_path)
            acc.path_disagreement.add(~((y == y_other) | (np.isnan(y) & np.isnan(y_other))), bits, y)
        acc.inputs += len(x)
        if progress:
            progress(len(x))
    acc.seconds += time.perf_counter() - begun


def targeted_search(spec: SweepSpec, implementation, examples: int) -> dict:
    """Hypothesis search, beyond a sample, for the largest ULP error (documented oracle) at float64
    inputs: drawn from :func:`suite.inputs.strategies.focused` (any value, the threshold band, exp's
    edges, huge magnitudes), steered by ``hypothesis.target`` towards larger errors,
    derandomized (the same inputs every run). Returns the number of inputs tried, the largest
    error with its input, and the special-value failures seen (JSON-ready)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import target as steer
    from hypothesis.control import currently_in_test_context

    from suite.inputs.strategies import focused, known_hard_points
    from suite.numerics.formats import FLOAT64

    fmt, quantity = FLOAT64, spec.quantity
    params = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    found = {"tried": 0, "max_ulp": -1.0, "x": math.nan, "output": math.nan, "rounded": math.nan, "failures": 0}
    inputs: list[float] = []

    # derandomized hypothesis draws its examples from a digest of probe's source: an edit of probe
    # changes which inputs every search tries, so it keeps its words (``evaluate(target, ...)``)
    target = implementation

    def evaluate(target, *arguments):
        return target.evaluate(*arguments)

    def probe(x: float) -> None:
        xs = np.array([x])
        y = evaluate(target, xs, fmt, quantity, spec.beta, spec.threshold, spec.device, spec.path)
        ref = fast_reference(quantity, xs, params, fmt, Oracle.DOCUMENTED)
        m = measure(y, ref, check_outputs=False)
        found["tried"] += 1
        inputs.append(x)
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
        # the search compared the fast reference's errors; the one it reports is measured exactly
        xs, ys = np.array([found["x"]]), np.array([found["output"]])
        ref = fast_reference(quantity, xs, params, fmt, Oracle.DOCUMENTED)
        exact = sharpen(measure(ys, ref, check_outputs=False), xs, ys, ref, quantity, params, Oracle.DOCUMENTED)
        found["max_ulp"] = float(exact.ulp_error[0])
        bits = int(fmt.encode(np.float64(found["x"])))
        worst = {
            "x_bits": fmt.hex(bits),
            "x": json_float(found["x"]),
            "output": json_float(found["output"]),
            "correctly_rounded": json_float(found["rounded"]),
        }
    return {
        "examples": examples,
        "tried": found["tried"],
        "max_ulp": json_float(found["max_ulp"]) if worst else None,
        "worst": worst,
        "failures": found["failures"],
        "strategy": "suite.inputs.strategies.focused, hypothesis.target on the ULP error, derandomized",
        "inputs": inputs,  # every input tried (the caller merges them into the sample's statistics)
    }
