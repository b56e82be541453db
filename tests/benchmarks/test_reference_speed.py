"""How much faster the fast reference is than the naive way to build a reference.

The naive reference is what a person would write first: a per-element mpmath loop at
mpmath's default precision (53 bits), ``float(log1p(exp(x)))`` for the forward value and
``float(1 / (1 + exp(-x)))`` for the gradient, then rounded into the format. (It is not
even correct: it rounds twice and has no error bound; it is only a yardstick for speed.)

Both are timed on the same 10,000 inputs per format: 5,000 random bit patterns (NaN and
infinities included) and 5,000 values uniform in [-40, 40], rounded into the format, with
``beta = 1, threshold = 20`` as the kernels see them.

Not part of the default run (``--benchmark-skip`` is in the project's addopts); run with::

    tox -e bench
    # or
    PYTHONPATH=. python3 -m pytest tests/benchmarks --benchmark-enable --benchmark-only

Each test records in ``benchmark.extra_info``: the seconds per input of both references
(the best of several rounds: the least disturbed by other load), and
``ratio = naive seconds per input / fast seconds per input``. There are no wall-clock
assertions: timings depend on the machine.
"""

from __future__ import annotations

import functools
import time

import mpmath
import numpy as np
import pytest

from suite.numerics.fastref import fast_reference
from suite.numerics.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, Format
from suite.numerics.params import Params, Quantity

INPUTS = 10_000
NAIVE_ROUNDS = 3
FAST_ROUNDS = 20
FORMATS = (FLOAT16, BFLOAT16, FLOAT32, FLOAT64)
QUANTITIES = (Quantity.FORWARD, Quantity.GRAD)


@functools.cache
def inputs(fmt: Format) -> np.ndarray:
    """The 10,000 benchmark inputs of ``fmt`` (deterministic), as float64 values of the format."""
    rng = np.random.default_rng([20261129, fmt.width, fmt.precision])
    bits = rng.integers(0, fmt.count, INPUTS // 2, dtype=np.uint64).astype(fmt.uint_dtype)
    uniform = rng.uniform(-40, 40, INPUTS - INPUTS // 2)
    return fmt.round(np.concatenate([fmt.decode(bits), uniform]))


@functools.cache
def params_for(fmt: Format) -> Params:
    return Params.as_kernel_sees(1.0, 20.0, fmt)


def naive_reference(quantity: Quantity, x: np.ndarray, fmt: Format) -> np.ndarray:
    """The naive per-element mpmath loop (mpmath's default precision), rounded into ``fmt``."""
    mpf, exp = mpmath.mpf, mpmath.exp
    if quantity is Quantity.FORWARD:
        log1p = mpmath.log1p
        values = [float(log1p(exp(mpf(v)))) for v in x.tolist()]
    else:
        values = [float(1 / (1 + exp(-mpf(v)))) for v in x.tolist()]
    return fmt.round(np.array(values, dtype=np.float64))


def best_seconds(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@functools.cache
def naive_seconds_per_input(quantity: Quantity, fmt: Format) -> float:
    x = inputs(fmt)
    return best_seconds(lambda: naive_reference(quantity, x, fmt), NAIVE_ROUNDS) / len(x)


@functools.cache
def fast_seconds_per_input(quantity: Quantity, fmt: Format) -> float:
    x, params = inputs(fmt), params_for(fmt)
    fast_reference(quantity, x, params, fmt)  # warm up (compiled loops compile or load on their first call)
    return best_seconds(lambda: fast_reference(quantity, x, params, fmt), FAST_ROUNDS) / len(x)


def record(benchmark, quantity: Quantity, fmt: Format, naive_per_input: float, fast_per_input: float) -> None:
    benchmark.extra_info.update(
        {
            "format": fmt.name,
            "quantity": quantity.value,
            "inputs": INPUTS,
            "naive_seconds_per_input": naive_per_input,
            "fast_seconds_per_input": fast_per_input,
            "ratio": naive_per_input / fast_per_input,
        }
    )


@pytest.mark.parametrize("quantity", QUANTITIES, ids=lambda q: q.value)
@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_fast_reference(benchmark, fmt, quantity):
    """The fast reference on 10,000 inputs; the ratio uses the naive loop's best of 3 rounds."""
    x = inputs(fmt)
    params = params_for(fmt)
    fast_reference(quantity, x, params, fmt)  # warm up
    benchmark.pedantic(fast_reference, args=(quantity, x, params, fmt), rounds=FAST_ROUNDS, iterations=1)
    fast_per_input = benchmark.stats.stats.min / len(x)
    escalated = int(fast_reference(quantity, x, params, fmt).escalated.sum())
    benchmark.extra_info["escalated_to_mpmath"] = escalated
    record(benchmark, quantity, fmt, naive_seconds_per_input(quantity, fmt), fast_per_input)


@pytest.mark.parametrize("quantity", QUANTITIES, ids=lambda q: q.value)
@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_naive_mpmath_loop(benchmark, fmt, quantity):
    """The naive loop on the same 10,000 inputs (3 rounds); the ratio uses the fast reference's best of 20."""
    x = inputs(fmt)
    benchmark.pedantic(naive_reference, args=(quantity, x, fmt), rounds=NAIVE_ROUNDS, iterations=1)
    naive_per_input = benchmark.stats.stats.min / len(x)
    record(benchmark, quantity, fmt, naive_per_input, fast_seconds_per_input(quantity, fmt))
