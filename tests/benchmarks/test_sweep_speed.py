"""How much slower the rigorous float32 sweep is than a plain, non-rigorous pipeline, on the same inputs.

The plain pipeline is what a person would write to sweep float32 quickly: torch's vectorized
softplus on a chunk of bit patterns, NumPy's float64 ``logaddexp(0, x)`` as the "reference", the ULP
error against it (``np.spacing`` of the float32 rounding), its maximum and the count within half an
ULP. It has no error bound, rounds twice, and miscounts near binade edges; it is only a yardstick.
The rigorous one is :func:`suite.sweep.measure.sweep_range` (one kernel path, both oracles, every
statistic of a published sweep).

Both run in one process, one thread, on the same 16 chunks of 2^20 patterns spread over all of
float32 (every 2^28-th pattern starts one), after a warm-up; their rounds alternate (plain,
rigorous, plain, ...), so that both see the same machine, and each is timed as the best of
``ROUNDS`` in the process's CPU time (which the other load of a shared machine disturbs least).
``benchmark.extra_info`` records the nanoseconds per input of both and ``ratio = rigorous / plain``,
and the seconds each would take for all 2^32 inputs on 2 cores at that rate. No wall-clock
assertions: timings depend on the machine.

    tox -e bench   # or: PYTHONPATH=. python3 -m pytest tests/benchmarks --benchmark-enable --benchmark-only

The same comparison on every float32 input, with two worker processes each, as a user runs them:
``python -m tests.benchmarks.side_by_side`` (``tox -e sweep-speed``).
"""

from __future__ import annotations

import functools
import time

import numpy as np

from suite import implementations
from suite.numerics.formats import FLOAT32
from suite.numerics.params import Quantity
from suite.sweep import SweepSpec, sweep_range
from suite.sweep.measure import CHUNK

STARTS = tuple(k << 28 for k in range(16))
ROUNDS = 5


def plain_pipeline(start: int, stop: int) -> tuple[float, int]:
    """The yardstick: torch's SIMD softplus, float64 logaddexp, ULP error, its maximum and the count
    within half an ULP."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    x = np.arange(start, stop, dtype=np.uint64).astype(np.uint32).view(np.float32)
    with torch.no_grad():
        y = F.softplus(torch.from_numpy(x)).numpy().astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        reference = np.logaddexp(0.0, x.astype(np.float64))
        error = np.abs(y - reference) / np.spacing(np.abs(reference.astype(np.float32))).astype(np.float64)
    return float(np.nanmax(error)), int(np.count_nonzero(error <= 0.5))


def rigorous_sweep(start: int, stop: int, implementation) -> object:
    return sweep_range(SweepSpec(FLOAT32, quantity=Quantity.FORWARD, compare_paths=False), start, stop, implementation)


@functools.cache
def seconds_per_input() -> dict[str, float]:
    import torch

    torch.set_num_threads(1)
    implementation = implementations.load("torch.nn.functional:softplus")
    rigorous_sweep(STARTS[1], STARTS[1] + 4096, implementation)  # numba's loops loaded
    plain_pipeline(STARTS[1], STARTS[1] + 4096)
    pipelines = {
        "plain": lambda: [plain_pipeline(s, s + CHUNK) for s in STARTS],
        "rigorous": lambda: [rigorous_sweep(s, s + CHUNK, implementation) for s in STARTS],
    }
    best = dict.fromkeys(pipelines, float("inf"))
    for _ in range(ROUNDS):
        for name, run in pipelines.items():
            begun = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - begun)
    return {name: seconds / (len(STARTS) * CHUNK) for name, seconds in best.items()}


def test_float32_forward_sweep_against_the_plain_pipeline(benchmark):
    timings = seconds_per_input()
    implementation = implementations.load("torch.nn.functional:softplus")
    benchmark.pedantic(rigorous_sweep, args=(STARTS[8], STARTS[8] + CHUNK, implementation), rounds=1, iterations=1)
    benchmark.extra_info.update(
        {
            "plain_ns_per_input": timings["plain"] * 1e9,
            "rigorous_ns_per_input": timings["rigorous"] * 1e9,
            "ratio": timings["rigorous"] / timings["plain"],
            "plain_seconds_all_float32_on_2_cores": timings["plain"] * FLOAT32.count / 2,
            "rigorous_seconds_all_float32_on_2_cores": timings["rigorous"] * FLOAT32.count / 2,
        }
    )
