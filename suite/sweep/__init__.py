"""Exhaustive sweeps: every bit pattern of a format through a target, with mergeable statistics.

A sweep enumerates the patterns of float16, bfloat16 or float32 in contiguous *shards*
(``K/N``), each in chunks of ``CHUNK`` inputs: the target's outputs on one kernel path, the
fast reference under both oracles, the ULP measure (one compiled pass per chunk,
:func:`suite.numerics.kernels.sweep_chunk`; the NumPy path computes the same statistics and
is the tests' check of it). Each shard's statistics are an
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

Modules, in the order data flows: :mod:`~suite.sweep.spec` (what is swept, and its shards),
:mod:`~suite.sweep.measure` (one range of inputs), :mod:`~suite.sweep.accumulate` (mergeable
statistics), :mod:`~suite.sweep.shards` (checkpoints, workers, merging, the report's JSON),
:mod:`~suite.sweep.sample` (float64), :mod:`~suite.sweep.progress`.
"""

from suite.sweep.accumulate import Accumulator, OracleTotals, Violation
from suite.sweep.measure import sweep_range
from suite.sweep.progress import Heartbeat
from suite.sweep.sample import sample_float64, targeted_search
from suite.sweep.shards import merge_shards, read_shard, report, run_sweep, shard_file, write_shard
from suite.sweep.spec import SweepSpec, shard_range

__all__ = [
    "Accumulator",
    "Heartbeat",
    "OracleTotals",
    "SweepSpec",
    "Violation",
    "merge_shards",
    "read_shard",
    "report",
    "run_sweep",
    "sample_float64",
    "shard_file",
    "shard_range",
    "sweep_range",
    "targeted_search",
    "write_shard",
]
