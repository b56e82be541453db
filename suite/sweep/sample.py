"""float64 cannot be enumerated: a stratified sample with the sweep's statistics, then a steered
hypothesis search beyond it, whose inputs join the same statistics (:func:`measure_float64`)."""

from __future__ import annotations

import math
import time

import numpy as np

from suite.files import json_float
from suite.numerics.fastref import fast_reference
from suite.numerics.params import ORACLE_ORDER, Oracle, Params
from suite.numerics.ulp import Failure, measure, sharpen
from suite.sweep.accumulate import Accumulator, OracleTotals, Violation, wrong_steps
from suite.sweep.measure import CHUNK, empty_accumulator, one_intra_op_thread
from suite.sweep.regions import ClassTotals, Largest, class_masks
from suite.sweep.spec import SweepSpec


def sample_float64(
    spec: SweepSpec, per_binade: int, implementation, progress=None, workers: int = 1
) -> tuple[Accumulator, np.ndarray]:
    """float64 cannot be enumerated: measure the stratified sample of :func:`suite.inputs.sets.stratified`
    instead (``per_binade`` inputs in every binade of both signs, the specials, the threshold band,
    exp's edges, and every point's upper neighbour), in chunks, with the sweep's statistics; on
    ``workers`` processes, the same statistics bit for bit (:func:`measure_float64`).

    Wrong-way steps are counted between sample points that are adjacent floats (each point and its
    upper neighbour), the chunks' edges included. Returns the statistics and the inputs measured.
    """
    from suite.inputs.sets import stratified
    from suite.numerics.formats import FLOAT64

    if spec.fmt is not FLOAT64:
        raise ValueError(f"sampled sweeps are for float64; {spec.fmt.name} can be swept whole")
    x_all = stratified(spec.fmt, spec.beta, spec.threshold, per_binade=per_binade)
    if hasattr(progress, "set_total"):
        progress.set_total(len(x_all))
    acc = empty_accumulator(spec, 0, 0, implementation)
    measure_float64(spec, x_all, implementation, acc, progress, workers=workers)
    return acc, x_all


def sweep_binades(spec: SweepSpec, start: int, stop: int, implementation, progress=None) -> Accumulator:
    """A dense float64 sweep's binades ``[start, stop)`` (value order, :func:`suite.inputs.sets.dense_binade`):
    ``spec.per_binade`` inputs in each, drawn there, measured binade by binade with the sweep's
    statistics. Wrong-way steps are counted between neighbours: each drawn pair, and a binade's
    last value and the next one's first (two binades' edge)."""
    from suite.inputs.sets import dense_binade

    acc = empty_accumulator(spec, start, stop, implementation)
    for binade in range(start, stop):
        x = dense_binade(spec.fmt, spec.beta, spec.threshold, binade, spec.per_binade)
        measure_float64(spec, x, implementation, acc, progress)
    return acc


def measure_float64(
    spec: SweepSpec,
    x_all: np.ndarray,
    implementation,
    acc: Accumulator,
    progress=None,
    workers: int = 1,
    chunk: int = CHUNK,
) -> None:
    """Measure the float64 inputs ``x_all`` (sorted by value) into ``acc``: both oracles' statistics,
    outputs of 0 where the correct rounding is positive, wrong-way steps between inputs that are
    adjacent floats (from the input ``acc`` measured last, if any, to the first as well), and the
    other kernel path's disagreement; the time it took is added. Where
    ``acc`` keeps statistics per class of the known deviations' regions, each input joins its class's.

    The inputs go ``chunk`` at a time (an output's candidates for a binade's largest error are
    measured again within a chunk: :func:`suite.numerics.ulp.sharpen`), each chunk measured on its
    own (:func:`measure_chunk`) and joined into ``acc`` in input order (:meth:`Accumulator.merge`:
    the step across two chunks' edge before the later chunk's own, sums added in one order). With
    ``workers`` > 1 the chunks are measured on as many processes (spawned; the implementation
    loaded there by ``spec.target``, on one intra-op thread) and joined here the same way: the
    same statistics, bit for bit."""
    tasks = [(spec, x_all[lo : lo + chunk], acc.empty_after()) for lo in range(0, len(x_all), chunk)]
    if workers > 1 and len(tasks) > 1:
        parts = _measured_on_processes(tasks, implementation, workers)
    else:
        parts = (measure_chunk(spec, x, implementation, part) for _, x, part in tasks)
    for part in parts:  # in input order
        acc.merge(part, spec.fmt, spec.quantity)
        if progress:
            progress(part.inputs)


def measure_chunk(spec: SweepSpec, x: np.ndarray, implementation, part: Accumulator) -> Accumulator:
    """Measure the float64 inputs ``x`` (sorted by value) into the empty ``part`` (shaped as the
    range it will join: :meth:`Accumulator.empty_after`) and return it: :func:`measure_float64`'s
    statistics of one chunk, with its first and last inputs for the steps across its edges."""
    fmt, quantity = spec.fmt, spec.quantity
    params = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    other_path = spec.other_path(implementation.paths(spec.device))
    begun = time.perf_counter()
    bits = fmt.encode(x, check=False)
    y = implementation.evaluate(x, fmt, quantity, spec.beta, spec.threshold, spec.device, spec.path)
    refs, measured = {}, {}
    classes = class_masks(bits, part.regions.regions) if part.regions is not None else {"": np.ones(len(x), bool)}
    groups = np.zeros(len(x), dtype=np.int64)
    for label, inside in enumerate(classes.values()):
        groups[inside] = label
    for oracle in ORACLE_ORDER:
        refs[oracle] = fast_reference(quantity, x, params, fmt, oracle)
        measured[oracle] = sharpen(
            measure(y, refs[oracle], check_outputs=False), x, y, refs[oracle], quantity, params, oracle, groups
        )
        part.oracles[oracle].merge(OracleTotals.of_chunk(fmt, bits, x, y, refs[oracle].rounded, measured[oracle]))
    zero = (y == 0) & (refs[Oracle.DOCUMENTED].rounded > 0)
    part.zero_where_positive.add(zero, bits, y)
    if part.regions is not None:
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
            part.regions.add(
                label, ClassTotals(int(np.count_nonzero(inside)), largest, zeros.count, zeros.example_bits)
            )
    # wrong-way steps between adjacent floats within the chunk (the sample is sorted); those across
    # its edges are counted where it is merged, from its first and last inputs
    steps = wrong_steps(fmt, quantity, bits, x, y)
    part.not_monotone.add(steps, bits[1:], y[1:], before=(bits[:-1], y[:-1]))
    part.first, part.last = (int(bits[0]), float(y[0])), (int(bits[-1]), float(y[-1]))
    if other_path:
        y_other = implementation.evaluate(x, fmt, quantity, spec.beta, spec.threshold, spec.device, other_path)
        part.path_disagreement.add(~((y == y_other) | (np.isnan(y) & np.isnan(y_other))), bits, y)
    part.inputs = len(x)
    part.seconds = time.perf_counter() - begun
    return part


def _measured_on_processes(tasks: list[tuple[SweepSpec, np.ndarray, Accumulator]], implementation, workers: int):
    """:func:`measure_chunk` of each task on ``workers`` spawned processes: the measured chunks,
    in the tasks' order as they arrive."""
    import concurrent.futures
    import multiprocessing

    # numba compiles the reference's loops here once; the workers load them from its cache
    spec, x, part = tasks[0]
    measure_chunk(spec, x[:64], implementation, part.empty_after())
    context = multiprocessing.get_context("spawn")  # no threads or device state inherited by a fork
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_measure_chunk_in_worker, tasks)  # in order, measured concurrently


def _measure_chunk_in_worker(task: tuple[SweepSpec, np.ndarray, Accumulator]) -> Accumulator:
    """One chunk of :func:`_measured_on_processes`, in a worker process."""
    from suite import implementations

    spec, x, part = task
    one_intra_op_thread()
    return measure_chunk(spec, x, implementations.load(spec.target), part)


def measure_beyond(spec: SweepSpec, added: np.ndarray, measured: np.ndarray, implementation, acc: Accumulator) -> None:
    """Measure the float64 inputs ``added`` (sorted, none of them in ``measured``: a search's inputs
    beyond a sample) into ``acc`` (:func:`measure_float64`), and count the wrong-way steps between
    each of them and its neighbours (the adjacent floats) in ``measured`` (sorted), which neither
    pass compares: both inputs of each such pair are evaluated again, on the swept path."""
    acc.last = None  # the steps across the two sets are counted below, each once
    measure_float64(spec, added, implementation, acc)
    fmt = spec.fmt
    below, above = np.nextafter(added, -np.inf), np.nextafter(added, np.inf)
    has_below, has_above = np.isin(below, measured), np.isin(above, measured)
    pairs = np.concatenate(
        [np.stack([below[has_below], added[has_below]], axis=1), np.stack([added[has_above], above[has_above]], axis=1)]
    ).ravel()  # (lower, upper), (lower, upper), ...
    if not len(pairs):
        return
    bits = fmt.encode(pairs, check=False)
    y = implementation.evaluate(pairs, fmt, spec.quantity, spec.beta, spec.threshold, spec.device, spec.path)
    wrong = wrong_steps(fmt, spec.quantity, bits, pairs, y)[::2]  # each pair's own step, not those between pairs
    acc.not_monotone.add(wrong, bits[1::2], y[1::2], before=(bits[0::2], y[0::2]))


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
