"""Sweeps on a device: the implementation's outputs in large batches in one process, the measure on
the CPU cores.

On a GPU the outputs are the cheap part (2^32 softplus values take well under a second) and the
exact reference is the expensive one, so the work splits where the costs are: this process, the
only one that opens the device, evaluates each shard's inputs in batches of ``batch`` inputs and
records the outputs (``.npy`` beside the shard's checkpoint, written atomically); worker processes
read them and measure the shard on the CPU (:func:`suite.sweep.measure.sweep_range` with
``recorded`` outputs: the same compiled pass and statistics as any sweep). A few shards stay in
flight (two per worker) while the next ones are evaluated, so the device and the cores overlap, and
the recorded outputs on disk stay bounded (float32: 4 B per input, 256 MiB per shard of 64).

The statistics are the ones an unbatched sweep of the same implementation gives, bit for bit (the
outputs are the same values; the tests compare on the CPU, where both run), and the checkpoints are
the same files: a batched sweep resumes, shards and merges like any other.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from pathlib import Path

import numpy as np

from suite import implementations
from suite.implementations.base import NATIVE_DTYPES
from suite.sweep.measure import CHUNK, sweep_range
from suite.sweep.shards import compile_here, shard_file, write_shard
from suite.sweep.spec import SweepSpec

BATCH = 1 << 26
"""Inputs evaluated per call on the device (float32: 256 MiB of inputs, as many of outputs)."""


def evaluate_in_batches(spec: SweepSpec, start: int, stop: int, implementation, path: str, batch: int) -> np.ndarray:
    """The implementation's outputs at patterns ``[start, stop)`` of ``spec.fmt`` on ``path``, in
    calls of ``batch`` inputs (a multiple of the sweep's chunk, so that a vector kernel sees the same
    whole vectors as an unbatched sweep), as :meth:`Implementation.evaluate` gives them with
    ``native=True`` (float32 outputs stay float32)."""
    fmt = spec.fmt
    out = None
    for lo in range(start, stop, batch):
        hi = min(stop, lo + batch)
        bits = fmt.bit_range(lo, hi)
        own = bits.view(fmt.numpy_name) if fmt.name in NATIVE_DTYPES else fmt.decode(bits)
        y = implementation.evaluate(own, fmt, spec.quantity, spec.beta, spec.threshold, spec.device, path, native=True)
        if (lo, hi) == (start, stop):  # one batch holds the range: its outputs as they are, not copied
            return y
        if out is None:
            out = np.empty(stop - start, dtype=y.dtype)
        out[lo - start : hi - start] = y
    return out if out is not None else np.empty(0)


def outputs_file(out: Path, spec: SweepSpec, k: int, n: int, path: str) -> Path:
    """Where shard ``k`` of ``n``'s recorded outputs on ``path`` wait to be measured."""
    return shard_file(out, spec, k, n).with_name(f"outputs-{k:04d}-of-{n:04d}-{path}.npy")


def _save(array: np.ndarray, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as f:
        np.save(f, array)
    partial.replace(target)


def _measure_recorded_shard(args) -> int:
    """A worker's task: measure shard ``k`` from its recorded outputs, checkpoint it, delete them."""
    spec, k, n, out, files = args
    out = Path(out)
    recorded = {path: np.load(file, mmap_mode="r") for path, file in files.items()}
    start, stop = spec.shard_range(k, n)
    acc = sweep_range(spec, start, stop, implementations.load(spec.target), recorded=recorded)
    write_shard(out, spec, k, n, acc)
    del recorded
    for file in files.values():
        Path(file).unlink(missing_ok=True)
    return k


def run_batched(
    spec: SweepSpec, out: Path, todo: list[int], shards: int, workers: int, batch: int = BATCH, progress=None
) -> list[int]:
    """Measure shards ``todo`` of ``shards``: outputs evaluated here in batches, measured on
    ``workers`` processes; returns the shards done, in the order they finished."""
    if batch < CHUNK or batch % CHUNK:
        raise ValueError(f"batch of {batch} inputs: give a multiple of {CHUNK} (the sweep's chunk)")
    if spec.per_binade:  # its shards are binades whose inputs are drawn, not ranges of bit patterns
        raise ValueError("a dense sweep draws its inputs binade by binade: it is not evaluated in batches")
    implementation = implementations.load(spec.target)
    paths = [spec.path]
    other = spec.other_path(implementation.paths(spec.device))
    if other:
        paths.append(other)
    if workers == 1:  # nothing to overlap with: each shard's outputs measured here as they come
        done = []
        for k in todo:
            start, stop = spec.shard_range(k, shards)
            recorded = {p: evaluate_in_batches(spec, start, stop, implementation, p, batch) for p in paths}
            write_shard(out, spec, k, shards, sweep_range(spec, start, stop, implementation, recorded=recorded))
            done.append(k)
            if progress is not None:
                progress(stop - start)
        return done
    compile_here(spec, spec.shard_range(todo[0], shards)[0] if todo else 0, implementation)
    done: list[int] = []
    context = multiprocessing.get_context("spawn")  # no device state, no threads inherited by a fork
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: set[concurrent.futures.Future] = set()

        def collect(until: str) -> None:
            nonlocal pending
            finished, pending = concurrent.futures.wait(pending, return_when=until)
            for future in finished:
                k = future.result()
                done.append(k)
                if progress is not None:
                    progress(spec.shard_inputs(k, shards))

        for k in todo:
            start, stop = spec.shard_range(k, shards)
            files = {}
            for path in paths:
                file = outputs_file(out, spec, k, shards, path)
                _save(evaluate_in_batches(spec, start, stop, implementation, path, batch), file)
                files[path] = str(file)
            pending.add(pool.submit(_measure_recorded_shard, (spec, k, shards, str(out), files)))
            while len(pending) >= 2 * workers:
                collect(concurrent.futures.FIRST_COMPLETED)
        collect(concurrent.futures.ALL_COMPLETED)
    return done
