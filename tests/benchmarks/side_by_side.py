"""Every float32 input, twice, in one run: the plain pipeline and the rigorous sweep, each on the same
number of worker processes, wall clock against wall clock.

The plain pipeline (:func:`tests.benchmarks.test_sweep_speed.plain_pipeline`: torch's SIMD softplus,
NumPy's float64 ``logaddexp``, the ULP error, its maximum and the count within half an ULP) runs on
chunks of 2^24 patterns, ``--workers`` processes of one intra-op thread each. The rigorous sweep is
the command a user runs, ``softplus-audit sweep --dtype float32 --workers N --one-path`` (and
``--quantity grad`` with ``--gradient``), in a fresh output folder (no checkpoint to resume from), its
loops compiled beforehand (numba's cache: a sweep compiles them once per machine). Both are timed
from start to finish, process start and the rigorous sweep's report included.

    python -m tests.benchmarks.side_by_side [--workers 2] [--gradient] [--out FILE.md]

Prints a Markdown table (and writes it to ``--out``): seconds of each, their ratio, and the
plain pipeline's maximum ULP error next to the sweep's (which differ: the plain one has no error
bound and rounds its reference twice). A measurement, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_CHUNK = 1 << 24
ALL_FLOAT32 = 1 << 32


def _plain_chunk(start: int) -> tuple[float, int]:
    import torch

    from tests.benchmarks.test_sweep_speed import plain_pipeline

    torch.set_num_threads(1)
    return plain_pipeline(start, start + PLAIN_CHUNK)


def plain_seconds(workers: int) -> tuple[float, float]:
    """Wall seconds of the plain pipeline over every float32 input, and its largest ULP error."""
    begun = time.perf_counter()
    with mp.get_context("spawn").Pool(workers) as pool:
        results = pool.map(_plain_chunk, range(0, ALL_FLOAT32, PLAIN_CHUNK), chunksize=1)
    return time.perf_counter() - begun, max(error for error, _ in results)


def rigorous_seconds(workers: int, quantity: str) -> tuple[float, float]:
    """Wall seconds of ``softplus-audit sweep`` over every float32 input, and its largest ULP error."""
    command = [sys.executable, "-m", "suite.cli", "sweep", "--dtype", "float32", "--quantity", quantity]
    with tempfile.TemporaryDirectory() as scratch:
        # numba compiles (or loads) the sweep's loops once per machine: not part of the measurement
        subprocess.run([*command, "--shard", "0/65536", "--out", scratch], check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as out:
        begun = time.perf_counter()
        subprocess.run(
            [*command, "--workers", str(workers), "--one-path", "--out", out], check=True, capture_output=True
        )
        seconds = time.perf_counter() - begun
        (result,) = Path(out).glob("sweep-*.json")
        oracles = json.loads(result.read_text())["oracles"]
    return seconds, max(o["max_ulp"] for o in oracles.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--gradient", action="store_true", help="also sweep the gradient (rigorous only)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")]))
    plain, plain_max = plain_seconds(args.workers)
    rows = [("plain pipeline, forward", plain, plain_max, "")]
    forward, forward_max = rigorous_seconds(args.workers, "forward")
    rows.append(("`softplus-audit sweep --dtype float32 --one-path`", forward, forward_max, f"{forward / plain:.2f}"))
    if args.gradient:
        grad, grad_max = rigorous_seconds(args.workers, "grad")
        rows.append(("`... --quantity grad --one-path`", grad, grad_max, f"{grad / plain:.2f}"))
    from suite.environment import environment

    machine = environment()
    lines = [
        f"Every float32 input (2^32), {args.workers} worker processes each, one run, on "
        f"{machine['cpu']} ({os.cpu_count()} CPUs, ATen CPU capability {machine['aten_cpu_capability']}), "
        f"torch {machine['torch']}, NumPy {machine['numpy']}.",
        "",
        "| pipeline | wall seconds | max ULP error | ratio to plain |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {seconds:.1f} | {worst:.8g} | {ratio} |" for name, seconds, worst, ratio in rows),
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
