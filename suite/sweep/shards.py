"""Running a sweep: shards checkpointed as JSON (atomically) and skipped when the sweep runs
again, measured in one process or several, merged, and reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from suite import implementations
from suite.audit import budgets
from suite.files import json_float, write_json_atomically
from suite.numerics.params import Oracle, Params
from suite.numerics.stats import BUCKET_LABELS
from suite.sweep.accumulate import Accumulator, Violation, accumulator_from_json, accumulator_to_json
from suite.sweep.measure import one_intra_op_thread, sweep_range
from suite.sweep.progress import Heartbeat
from suite.sweep.regions import judge
from suite.sweep.sample import sweep_binades
from suite.sweep.spec import SweepSpec

FILE_VERSION = 1
"""The layout version of shard and sweep files: their 'format' field (not a float format)."""


def shard_file(out: Path, spec: SweepSpec, k: int, n: int) -> Path:
    return out / spec.key / f"shard-{k:04d}-of-{n:04d}.json"


def write_shard(out: Path, spec: SweepSpec, k: int, n: int, acc: Accumulator) -> Path:
    path = shard_file(out, spec, k, n)
    write_json_atomically(
        {
            "format": FILE_VERSION,
            "kind": "sweep-shard",
            "spec": spec.record(),
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
        if data.get("format") != FILE_VERSION or data.get("kind") != "sweep-shard":
            raise ValueError(f"format {data.get('format')!r}, kind {data.get('kind')!r}")
        spec = SweepSpec.from_record(data["spec"])
        k, n = data["shard"]
        return spec, k, n, accumulator_from_json(data["stats"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a sweep shard of format {FILE_VERSION} ({error})") from None


def _run_shard(args) -> tuple[int, str]:
    spec, k, n, out = args
    one_intra_op_thread()
    acc = measure_shard(spec, k, n, implementations.load(spec.target))
    return k, str(write_shard(Path(out), spec, k, n, acc))


def measure_shard(spec: SweepSpec, k: int, n: int, implementation, progress=None) -> Accumulator:
    """The statistics of shard ``k`` of ``n``: its patterns, or a dense sweep's binades."""
    start, stop = spec.shard_range(k, n)
    if spec.per_binade:
        return sweep_binades(spec, start, stop, implementation, progress=progress)
    return sweep_range(spec, start, stop, implementation, progress=progress)


def compile_here(spec: SweepSpec, start: int, implementation) -> None:
    """Measure a few inputs from pattern ``start`` in this process, so that numba compiles (or loads)
    the measure's loops here once and worker processes load them from its cache instead of each
    compiling them at the same time."""
    if not spec.per_binade:  # a dense float64 sweep has no compiled loop to share
        sweep_range(spec, start, min(start + 4096, spec.fmt.count), implementation)


def run_sweep(
    spec: SweepSpec,
    out: Path,
    shards: int,
    only: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    batched: bool = False,
) -> list[int]:
    """Measure every shard not yet checkpointed under ``out`` (or only shard ``only``); returns the
    shards measured now. Interrupted sweeps resume from their checkpoints. ``scheduler``: run the
    shards as tasks of Dask distributed, on a local cluster of ``workers`` processes (``local``)
    or on the running cluster at that address (its workers must see ``out``). ``batched``: the
    outputs evaluated in this process in large batches, measured on ``workers`` processes
    (:mod:`suite.sweep.batched`; how a GPU is swept)."""
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
    total = sum(spec.shard_inputs(k, shards) for k in todo)
    beat = SoFar(out, spec, shards, Heartbeat(total, f"sweep {spec.key}"))
    try:
        if scheduler is not None and todo:
            done = [k for _, k in run_on_dask([(spec, k, shards) for k in todo], out, scheduler, workers, beat)]
        elif batched and todo:
            from suite.sweep.batched import run_batched

            done = run_batched(spec, out, todo, shards, workers, progress=beat)
        elif workers > 1 and len(todo) > 1:
            import multiprocessing as mp

            compile_here(spec, spec.shard_range(todo[0], shards)[0], implementations.load(spec.target))
            with mp.get_context("spawn").Pool(workers) as pool:
                for k, _ in pool.imap_unordered(_run_shard, [(spec, k, shards, str(out)) for k in todo]):
                    beat(spec.shard_inputs(k, shards))
                    done.append(k)
        else:
            implementation = implementations.load(spec.target)
            for k in todo:
                write_shard(out, spec, k, shards, measure_shard(spec, k, shards, implementation, progress=beat))
                done.append(k)
    finally:
        beat.close()
    return done


class SoFar:
    """A progress callback that also reads each shard's checkpoint as it appears (in whatever order
    the shards finish, here or on a cluster) and shows what they say so far: shards done, the
    largest error (documented oracle) with its input, premature zeros and wrong-way steps (within
    shards: the merge adds the pairs across their edges). These are order-free; the sweep's
    statistics proper join in shard order at the end (sums in one order, bit for bit the same
    every time)."""

    def __init__(self, out: Path, spec: SweepSpec, shards: int, progress):
        self.folder, self.pattern = out / spec.key, f"shard-*-of-{shards:04d}.json"
        self.spec, self.shards, self.progress = spec, shards, progress
        self.seen: set[str] = set()
        self.worst, self.worst_bits, self.zeros, self.steps = -1.0, -1, 0, 0
        self._read_new()

    def __call__(self, n: int) -> None:
        self._read_new()
        self.progress(n)

    def _read_new(self) -> None:
        for path in sorted(self.folder.glob(self.pattern)) if self.folder.is_dir() else ():
            if path.name in self.seen:
                continue
            try:
                _, _, _, acc = read_shard(path)
            except ValueError:
                continue  # being written, or damaged: run_sweep measures it again
            self.seen.add(path.name)
            totals = acc.oracles[Oracle.DOCUMENTED]
            if totals.argmax_bits >= 0 and totals.max_ulp > self.worst:
                self.worst, self.worst_bits = totals.max_ulp, totals.argmax_bits
            self.zeros += acc.zero_where_positive.count
            self.steps += acc.not_monotone.count
        if self.seen:
            news = [f"max {self.worst:.9g} ULP at {self.spec.fmt.hex(self.worst_bits)}"] if self.worst_bits >= 0 else []
            news += [f"{self.zeros:,} zeros where > 0", f"{self.steps:,} wrong-way steps (so far)"]
            self.progress.note(f"{len(self.seen)}/{self.shards} shards: " + ", ".join(news))

    def close(self) -> None:
        self._read_new()  # a shard checkpointed after the last count
        self.progress.close()


def run_on_dask(
    tasks: list[tuple[SweepSpec, int, int]],
    out: Path,
    scheduler: str,
    workers: int,
    progress=None,
    client=None,
    on_result=None,
) -> list[tuple[SweepSpec, int]]:
    """Shards ``(spec, k, n)`` (of one sweep or of many) as tasks of Dask distributed: each writes
    its checkpoint as it finishes (the statistics merge from the checkpoints, in shard order,
    whatever order they came in), a shard whose worker dies is run again elsewhere (Dask retries
    it), and an interrupted run resumes from the checkpoints it has. ``client``: an existing
    ``distributed.Client`` (tests); ``on_result(spec, k)`` is called as each shard arrives;
    returns the shards done, in the order they came."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if client is None:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True)
            client = Client(cluster)
        else:
            client = Client(scheduler)
    done = []
    try:
        futures = {}
        for spec, k, n in tasks:
            key = f"{spec.key}-shard-{k}-of-{n}"
            futures[client.submit(_run_shard, (spec, k, n, str(out)), key=key, pure=False, retries=2)] = (spec, n)
        for future in as_completed(list(futures)):
            k, _ = future.result()
            spec, n = futures[future]
            done.append((spec, k))
            if progress is not None:
                progress(spec.shard_inputs(k, n))
            if on_result is not None:
                on_result(spec, k)
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
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
    fmt = spec.fmt
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
    fmt = spec.fmt
    kernel = Params.as_kernel_sees(spec.beta, spec.threshold, fmt)
    oracles = {}
    for oracle, t in acc.oracles.items():
        worst_x = float(fmt.decode(np.array([t.argmax_bits], dtype=np.uint64).astype(fmt.uint_dtype))[0])
        oracles[oracle.value] = {
            "max_ulp": json_float(t.max_ulp),
            "worst": {
                "x_bits": fmt.hex(t.argmax_bits),
                "x": json_float(worst_x),
                "output": json_float(t.argmax_output),
                "correctly_rounded": json_float(t.argmax_rounded),
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

        def one(bits: int, output: float) -> dict:
            x = float(fmt.decode(np.array([bits], dtype=np.uint64).astype(fmt.uint_dtype))[0])
            return {"x_bits": fmt.hex(bits), "x": json_float(x), "output": json_float(output)}

        example = one(v.example_bits, v.example_output) if v.example_bits >= 0 else None
        if example is not None and v.before_bits >= 0:
            example["before"] = one(v.before_bits, v.before_output)
        return {"count": v.count, "example": example}

    return {
        "format": FILE_VERSION,
        "kind": "sweep",
        "spec": spec.record(),
        "kernel_params": {
            "beta": json_float(kernel.beta),
            "threshold": json_float(kernel.threshold),
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
        "judgment": judge(spec, acc.regions, budgets.load(spec.budgets)),
        # what the judgment is made from, so that it can be made again against another budget file
        "regions": acc.regions.as_record() if acc.regions is not None else None,
    }
