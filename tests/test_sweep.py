"""Exhaustive sweeps: the same numbers as the audit engine, shard-independent, resumable, and
able to find a defect that sampling misses."""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest

from suite import implementations
from suite.audit.engine import Auditor, AuditSettings
from suite.numerics.formats import FLOAT16, FLOAT32, FLOAT64, format_named
from suite.numerics.params import Oracle, Params, Quantity
from suite.sweep import SweepSpec, merge_shards, read_shard, report, run_sweep, shard_file, shard_range, sweep_range


def _assert_same_statistics(compiled, plain) -> None:
    """The compiled pass's statistics are the NumPy path's: every field of both oracles (the
    mean's sum to 1e-12: the two add the errors in different orders)."""
    for oracle in Oracle:
        a, b = compiled.oracles[oracle], plain.oracles[oracle]
        assert (a.max_ulp, a.argmax_bits, a.argmax_output, a.argmax_rounded) == (
            b.max_ulp,
            b.argmax_bits,
            b.argmax_output,
            b.argmax_rounded,
        )
        assert (a.counted, a.correctly_rounded, a.faithful, a.failures) == (
            b.counted,
            b.correctly_rounded,
            b.faithful,
            b.failures,
        )
        assert a.histogram == b.histogram
        assert a.binade_max == b.binade_max
        assert a.sum_ulp == pytest.approx(b.sum_ulp, rel=1e-12)


@pytest.fixture(scope="module")
def torch_target():
    return implementations.load("torch.nn.functional:softplus")


@pytest.mark.parametrize("quantity", ["forward", "grad", "grad2"])
def test_float16_sweep_matches_the_audit_engine(quantity, torch_target):
    spec = SweepSpec(FLOAT16, quantity=Quantity(quantity))
    acc = sweep_range(spec, 0, FLOAT16.count, torch_target)
    auditor = Auditor(
        AuditSettings(targets=(spec.target,), formats=(FLOAT16,), grid=((1.0, 20.0),), quantities=(Quantity(quantity),))
    )
    (config,) = [c for c in auditor.configurations() if c.path == "simd"]
    result = auditor.result(config)
    for oracle in ("documented", "math"):
        stats, totals = result.stats[Oracle(oracle)], acc.oracles[Oracle(oracle)]
        assert totals.max_ulp == stats.max_ulp
        assert totals.correctly_rounded == stats.correctly_rounded
        assert totals.faithful == stats.faithful
        assert tuple(totals.histogram) == stats.histogram
        assert FLOAT16.hex(totals.argmax_bits) == stats.worst.x_bits
    assert acc.inputs == FLOAT16.count


def test_shards_merge_to_the_single_run_and_resume(tmp_path, torch_target):
    spec = SweepSpec(FLOAT16, quantity=Quantity.GRAD2)
    whole = sweep_range(spec, 0, FLOAT16.count, torch_target)
    run_sweep(spec, tmp_path, shards=5)
    paths = sorted((tmp_path / spec.key).glob("shard-*.json"))
    assert len(paths) == 5
    _, merged, n = merge_shards(paths)
    assert n == 5
    assert report(spec, merged, 5)["violations"] == report(spec, whole, 1)["violations"]
    assert merged.oracles[Oracle.DOCUMENTED].histogram == whole.oracles[Oracle.DOCUMENTED].histogram
    assert merged.not_monotone.count == whole.not_monotone.count  # pairs across shard edges included
    # an interrupted sweep: one shard lost; only it is measured again, and the result is the same
    shard_file(tmp_path, spec, 2, 5).unlink()
    assert run_sweep(spec, tmp_path, shards=5) == [2]
    _, again, _ = merge_shards(sorted((tmp_path / spec.key).glob("shard-*.json")))
    assert again.oracles[Oracle.MATH].max_ulp == whole.oracles[Oracle.MATH].max_ulp
    assert again.zero_where_positive.count == whole.zero_where_positive.count


def test_merge_names_what_is_missing(tmp_path):
    spec = SweepSpec(FLOAT16)
    run_sweep(spec, tmp_path, shards=4, only=1)
    with pytest.raises(ValueError, match=r"3 of 4 shards missing \(0, 2-3\)"):
        merge_shards(sorted((tmp_path / spec.key).glob("shard-*.json")))
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="not a sweep shard"):
        read_shard(bad)


def test_shard_ranges_cover_every_pattern_once():
    for n in (1, 3, 7, 64):
        ranges = [shard_range(FLOAT32, k, n) for k in range(n)]
        assert ranges[0][0] == 0
        assert ranges[-1][1] == FLOAT32.count
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    with pytest.raises(ValueError, match="0 <= K < N"):
        shard_range(FLOAT32, 4, 4)


def test_a_sweep_finds_a_narrow_defect_that_sampling_misses():
    """64 bad float32 inputs: the audit's stratified sample has none of them; a sweep of their
    neighbourhood (CI-sized: 2**20 inputs) finds every one."""
    target = "tests.planted_targets:narrow_band"
    auditor = Auditor(
        AuditSettings(targets=(target,), formats=(FLOAT32,), grid=((1.0, 20.0),), quantities=(Quantity.FORWARD,))
    )
    sampled = [auditor.result(c).property("accuracy (documented)").passed for c in auditor.configurations()]
    assert all(sampled), "the stratified sample happens to contain the band: the test no longer shows anything"
    start = int(np.float32(3.1).view(np.uint32)) & ~0xFFFFF
    spec = SweepSpec(FLOAT32, target=target)
    acc = sweep_range(spec, start, start + (1 << 20), implementations.load(target))
    assert acc.oracles[Oracle.DOCUMENTED].max_ulp > 15
    over = sum(acc.oracles[Oracle.DOCUMENTED].histogram[i] for i in range(6, 25))  # buckets beyond 8 ULP
    assert over == 64


def test_a_sweeps_worst_case_and_a_random_sample_agree_with_mpmath(torch_target):
    from suite.numerics.fastref import fast_reference
    from suite.numerics.params import Oracle, Params, Quantity
    from suite.numerics.reference import decide

    start = int(np.float32(-20.0).view(np.uint32))
    spec = SweepSpec(FLOAT32, quantity=Quantity.GRAD)
    acc = sweep_range(spec, start, start + (1 << 18), torch_target)
    params = Params.as_kernel_sees(1.0, 20.0, FLOAT32)
    worst = acc.oracles[Oracle.DOCUMENTED]
    x = float(FLOAT32.decode(np.array([worst.argmax_bits], dtype=np.uint32))[0])
    assert decide(Quantity.GRAD, x, params, FLOAT32, Oracle.DOCUMENTED).rounded == worst.argmax_rounded
    rng = np.random.default_rng(5)
    bits = rng.integers(start, start + (1 << 18), 2000, dtype=np.uint64).astype(np.uint32)
    xs = FLOAT32.decode(bits)
    fast = fast_reference(Quantity.GRAD, xs, params, FLOAT32, Oracle.DOCUMENTED)
    slow = [decide(Quantity.GRAD, float(v), params, FLOAT32, Oracle.DOCUMENTED).rounded for v in xs]
    assert fast.rounded.tolist() == slow


@pytest.mark.parametrize("quantity", ["forward", "grad", "grad2"])
@pytest.mark.parametrize(
    ("dtype", "start", "count"),
    [
        ("float16", 0, 1 << 16),
        ("bfloat16", 0, 1 << 16),
        ("float32", 0xC2C00000, 1 << 18),
        ("float32", 0x7F7F0000, 1 << 17),
    ],
)
def test_compiled_measure_gives_the_numpy_numbers(dtype, start, count, quantity, torch_target):
    pytest.importorskip("numba", reason="the compiled loops need numba")
    spec = SweepSpec(format_named(dtype), quantity=Quantity(quantity))
    compiled = sweep_range(spec, start, start + count, torch_target, compiled=True)
    plain = sweep_range(spec, start, start + count, torch_target, compiled=False)
    _assert_same_statistics(compiled, plain)


@pytest.mark.parametrize("quantity", ["forward", "grad"])
def test_compiled_pass_takes_the_documented_branch_where_the_numpy_path_does(quantity, torch_target):
    """b = 0.1 (0.100000001490116 in float32), t = 2: b*x is rounded to float32 before the
    comparison, so inputs around x = 20 fall on both sides by the rounding, not by the exact
    product; the compiled pass's rule must be the NumPy path's, input for input."""
    pytest.importorskip("numba", reason="the compiled loops need numba")
    spec = SweepSpec(FLOAT32, quantity=Quantity(quantity), beta=0.1, threshold=2.0)
    centre = int(np.float32(20.0).view(np.uint32))
    start, stop = centre - (1 << 19), centre + (1 << 19)
    compiled = sweep_range(spec, start, stop, torch_target, compiled=True)
    plain = sweep_range(spec, start, stop, torch_target, compiled=False)
    _assert_same_statistics(compiled, plain)
    # the two oracles differ here: the range does cross the documented branch
    assert compiled.oracles[Oracle.DOCUMENTED].histogram != compiled.oracles[Oracle.MATH].histogram


@pytest.mark.parametrize("quantity", ["forward", "grad2"])
def test_float64_sample_matches_the_audit_engine_on_the_same_inputs(quantity, torch_target):
    from suite.sweep import sample_float64

    spec = SweepSpec(FLOAT64, quantity=Quantity(quantity))
    acc, x = sample_float64(spec, 12, torch_target)  # the audit's own float64 input set
    settings = AuditSettings(
        targets=(spec.target,), formats=(FLOAT64,), grid=((1.0, 20.0),), quantities=(Quantity(quantity),)
    )
    auditor = Auditor(settings)
    (config,) = [c for c in auditor.configurations() if c.path == "simd"]
    result = auditor.result(config)
    assert acc.inputs == len(x) == result.stats[Oracle.DOCUMENTED].count
    for oracle in ("documented", "math"):
        assert acc.oracles[Oracle(oracle)].max_ulp == result.stats[Oracle(oracle)].max_ulp
        assert acc.oracles[Oracle(oracle)].correctly_rounded == result.stats[Oracle(oracle)].correctly_rounded
        assert tuple(acc.oracles[Oracle(oracle)].histogram) == result.stats[Oracle(oracle)].histogram


@pytest.mark.parametrize("max_escalated", [4096, 8])
def test_roundings_the_compiled_pass_cannot_decide_are_escalated(monkeypatch, max_escalated, torch_target):
    """With the fast bound widened 2**33-fold, a few hundred float16 roundings are undecided:
    the compiled pass sends them to mpmath (or, past ``MAX_ESCALATED``, the whole chunk to the
    NumPy path), and the statistics are those of the NumPy path, which escalates them too."""
    pytest.importorskip("numba", reason="the compiled loops need numba")
    from suite.numerics import fastref
    from suite.sweep import measure as sweep

    monkeypatch.setitem(fastref.REL_BOUND, np.dtype(np.float64), 2.0**-20)
    monkeypatch.setattr(sweep, "MAX_ESCALATED", max_escalated)
    calls = []
    original = sweep._chunk_numpy
    monkeypatch.setattr(sweep, "_chunk_numpy", lambda *a: calls.append(len(a[4])) or original(*a))
    spec = SweepSpec(FLOAT16, quantity=Quantity.GRAD)
    compiled = sweep_range(spec, 0, FLOAT16.count, torch_target, compiled=True)
    # the fallback is taken exactly when it must be (for the whole chunk; the pieces a known
    # deviation's region cuts it into are measured again, each on its own)
    assert calls.count(FLOAT16.count) == (1 if max_escalated == 8 else 0)
    plain = sweep_range(spec, 0, FLOAT16.count, torch_target, compiled=False)
    x = FLOAT16.decode(FLOAT16.all_bits())
    params = Params.as_kernel_sees(1.0, 20.0, FLOAT16)
    undecided = fastref.fast_reference(Quantity.GRAD, x, params, FLOAT16).escalated.sum()
    assert undecided > 8, "the widened bound no longer leaves roundings undecided: the test shows nothing"
    _assert_same_statistics(compiled, plain)


def test_the_compiled_histogram_buckets_are_those_of_the_report():
    """The compiled tally computes buckets from the exponent of the error (edges 2**-1 .. 2**20):
    the same buckets as ``suite.numerics.stats.histogram`` at and around every edge."""
    pytest.importorskip("numba", reason="the compiled loops need numba")
    from suite.numerics import kernels as _kernels
    from suite.numerics.stats import BUCKET_EDGES, BUCKET_LABELS, histogram

    assert tuple(2.0**k for k in range(-1, 21)) == BUCKET_EDGES
    edges = np.array(BUCKET_EDGES)
    errors = np.concatenate([[0.0, 1e-300, 0.25, 3e6, np.inf], edges, np.nextafter(edges, 0), np.nextafter(edges, 9e9)])
    errors = np.concatenate([errors, np.full(_kernels.BLOCK - len(errors), 0.125)])
    failure = np.zeros(_kernels.BLOCK, dtype=np.int8)
    failure[-3:] = 2
    errors[-3:] = np.nan
    flags = np.zeros(_kernels.BLOCK, dtype=bool)
    measured = (np.ones(_kernels.BLOCK), errors, failure, flags, flags, flags)
    x = np.linspace(1.0, 2.0, _kernels.BLOCK)
    counts_by_bucket = np.zeros((3, len(BUCKET_LABELS)), dtype=np.int64)
    counts = np.zeros((3, _kernels.TALLY_FAILURES + 6), dtype=np.int64)
    counts[:, _kernels.TALLY_BEST] = -1
    scratch = (np.empty(_kernels.BLOCK, dtype=np.int64), np.empty(_kernels.BLOCK, dtype=np.int64))
    _kernels._tally_block(
        x, 0, _kernels.BLOCK, measured, 0, -126, 127, counts_by_bucket, np.full((3, 512), -1.0), np.zeros((3, 4)),
        counts, scratch,
    )  # fmt: skip
    assert counts_by_bucket[0].tolist() == list(histogram(errors, failure != 0))


def test_a_terminal_gets_a_progress_bar_and_a_log_gets_heartbeat_lines(monkeypatch):
    """tqdm (a declared dependency) draws the bar on a terminal; a CI log gets plain lines."""
    import io

    from suite.sweep.progress import Heartbeat

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    beat = Heartbeat(100, "sweep x")
    beat(50)
    beat(50)
    beat.close()
    assert "100/100" in screen.getvalue()
    assert "|" in screen.getvalue(), "a bar"
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    beat = Heartbeat(100, "sweep x", every=0.0)
    beat(100)
    beat.close()
    assert "sweep x: 100/100 inputs (100.0%)" in log.getvalue()


def test_a_sweep_shows_what_its_finished_shards_say_as_they_arrive(tmp_path, capsys, torch_target):
    """The heartbeat reads each shard's checkpoint as it appears: shards done, the largest error so
    far with its input, premature zeros and wrong-way steps; at the end, the merged sweep's."""
    spec = SweepSpec(FLOAT16, quantity=Quantity.GRAD2, compare_paths=False)
    run_sweep(spec, tmp_path, shards=5)
    lines = capsys.readouterr().err.strip().splitlines()
    _, merged, _ = merge_shards(sorted((tmp_path / spec.key).glob("shard-*.json")))
    worst = merged.oracles[Oracle.DOCUMENTED]
    assert lines[-1].endswith(
        f"5/5 shards: max {worst.max_ulp:.9g} ULP at {FLOAT16.hex(worst.argmax_bits)}, "
        f"{merged.zero_where_positive.count:,} zeros where > 0, {merged.not_monotone.count:,} wrong-way "
        "steps (so far)"
    ), lines[-1]
    # two shards of five, as a sweep in progress has them: their news alone
    import shutil

    from suite.sweep.shards import SoFar

    (tmp_path / "partial" / spec.key).mkdir(parents=True)
    for k in (1, 3):
        shutil.copy(shard_file(tmp_path, spec, k, 5), tmp_path / "partial" / spec.key)
    notes = []

    class Recorder:
        def note(self, text):
            notes.append(text)

    SoFar(tmp_path / "partial", spec, 5, Recorder())
    shards = [read_shard(shard_file(tmp_path, spec, k, 5))[3].oracles[Oracle.DOCUMENTED] for k in (1, 3)]
    first = max(shards, key=lambda t: t.max_ulp)
    assert notes[-1].startswith(f"2/5 shards: max {first.max_ulp:.9g} ULP at {FLOAT16.hex(first.argmax_bits)}")


def statistics(acc) -> dict:
    """Everything an accumulator holds but the time it took (what must agree bit for bit)."""
    from suite.sweep.accumulate import accumulator_to_json

    return {k: v for k, v in accumulator_to_json(acc).items() if k != "seconds"}


@contextlib.contextmanager
def cluster_losing_a_worker():
    """A real local Dask cluster of two worker processes, and an ``on_result`` callback that kills
    one of them (SIGKILL) when the first shard comes back: yields (client, callback, the pids killed)."""
    import os
    import signal

    distributed = pytest.importorskip("distributed", reason="pip install 'softplus-audit[dask]'")
    killed: list[int] = []
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)

        def kill_one(_spec, _k):
            if not killed:
                killed.append(sorted(pids.values())[0])
                os.kill(killed[0], signal.SIGKILL)

        yield client, kill_one, killed


@pytest.mark.processes
def test_shards_on_a_local_dask_cluster_survive_a_killed_worker_and_merge_to_the_same_numbers(tmp_path):
    """Every bfloat16 input's gradient in 32 shards on a real local cluster of two worker processes;
    one worker is killed (SIGKILL) when the first shard comes back. Dask runs its shards again
    elsewhere, and the merged statistics are those of the single-process sweep."""
    from suite.numerics.formats import BFLOAT16
    from suite.sweep.shards import run_on_dask

    spec = SweepSpec(BFLOAT16, "torch.nn.functional:softplus", "cpu", "simd", Quantity.GRAD, 1.0, 20.0, False)
    run_sweep(spec, tmp_path / "one", 32)
    _, alone, _ = merge_shards(sorted((tmp_path / "one" / spec.key).glob("shard-*.json")))
    with cluster_losing_a_worker() as (client, kill_one, killed):
        tasks = [(spec, k, 32) for k in range(32)]
        done = run_on_dask(tasks, tmp_path / "dask", "local", 2, client=client, on_result=kill_one)
    assert killed, "a worker was killed during the run"
    assert sorted(k for _, k in done) == list(range(32)), "every shard came back"
    _, merged, n = merge_shards(sorted((tmp_path / "dask" / spec.key).glob("shard-*.json")))
    assert n == 32
    assert statistics(merged) == statistics(alone), "the same numbers, bit for bit (the CPU time aside)"


@pytest.mark.processes
def test_a_matrix_of_24_sweeps_on_dask_with_a_worker_killed_gives_the_single_process_numbers(tmp_path):
    """float16 and bfloat16 × value, gradient, second derivative × two betas × both CPU paths: 24
    configurations as one batch of tasks on a real local cluster, one worker killed (SIGKILL) when
    the first shard arrives; each configuration's merged statistics equal the single-process run's."""
    from suite.sweep import matrix

    table = {
        "dtypes": ["float16", "bfloat16"],
        "quantities": ["forward", "grad", "grad2"],
        "parameters": [[1, 20], [0.1, 20]],
        "paths": ["*"],
    }
    sweeps = matrix.expand(table)
    assert len(sweeps) == 24
    matrix.run(sweeps, tmp_path / "here", None, 1)
    with cluster_losing_a_worker() as (client, kill_one, killed):
        matrix.run(sweeps, tmp_path / "dask", "local", 2, client=client, on_result=kill_one)
    assert killed
    here, there = matrix.merged(sweeps, tmp_path / "here"), matrix.merged(sweeps, tmp_path / "dask")
    for (spec, a, _), (_, b, _) in zip(here, there, strict=True):
        assert statistics(a) == statistics(b), spec.key


MALFORMED_MATRICES = [
    # (the [matrix] table's body, what its one line must say after the file's name)
    ("targets = 5", "'targets' must be a list of implementations, e.g. ['torch.nn.functional:softplus'], got 5"),
    ("quantities = 5", "'quantities' must be a list of quantities, e.g. ['forward'], got 5"),
    ("parameters = [1, 20]", "'parameters' must be a list of [beta, threshold] pairs of numbers, e.g. [[1.0, 20"),
    ("parameters = [[1]]", "'parameters' must be a list of [beta, threshold] pairs of numbers, e.g. [[1.0, 20.0]]"),
    ('parameters = [["a", 20]]', "'parameters' must be a list of [beta, threshold] pairs of numbers"),
    ('shards = "x"', "'shards' must be a whole number >= 1, got 'x'"),
    ('dtypes = "float16"', "'dtypes' must be a list of dtypes, e.g. ['float16'], got 'float16'"),
    ('dtypes = ["float8"]', "'dtypes' has 'float8'; accepted: float16, bfloat16, float32"),
    ('dtypes = ["float16"]\nquantities = ["hessian"]', "'quantities' has 'hessian'; accepted: forward, grad, grad2"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), MALFORMED_MATRICES, ids=[b for b, _ in MALFORMED_MATRICES])
def test_every_key_of_a_matrix_file_is_checked_and_named(tmp_path, body, message):
    """A key of the wrong type is one line naming the file, the key, what it holds and what is
    accepted; never a traceback, never Python's own words."""
    from tests.test_report import cli_here

    path = tmp_path / "m.toml"
    path.write_text(f"[matrix]\n{body}\n")
    code, err = cli_here("matrix", str(path), "--out", str(tmp_path / "out"))
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert f"matrix file {str(path)!r}: {message}" in line
    assert not (tmp_path / "out").exists()


def test_a_bad_matrix_is_one_line_and_exit_2(tmp_path):
    from tests.test_report import cli_here

    typo = tmp_path / "m.toml"
    typo.write_text("[matrix]\ndtype = ['float16']\n")
    no_shards = tmp_path / "no-shards.toml"
    no_shards.write_text("[matrix]\ndtypes = ['float16']\nshards = 0\n")
    nan_threshold = tmp_path / "nan-threshold.toml"
    nan_threshold.write_text("[matrix]\ndtypes = ['float16']\nparameters = [[1.0, nan]]\n")
    minus_inf_threshold = tmp_path / "minus-inf-threshold.toml"
    minus_inf_threshold.write_text("[matrix]\ndtypes = ['float16']\nparameters = [[1.0, -inf]]\n")
    zero_beta = tmp_path / "zero-beta.toml"
    zero_beta.write_text("[matrix]\ndtypes = ['float16']\nparameters = [[0.0, 20.0]]\n")
    for args, words in (
        # the numbers a sweep rejects, rejected before the first shard as the sweep rejects them
        (["--dtype", "float16", "--shards", "0"], "shards 0: give a number of shards >= 1"),
        (["--dtype", "float16", "--shards", "-3"], "shards -3: give a number of shards >= 1"),
        ([str(no_shards)], "'shards' must be a whole number >= 1, got 0"),
        # parameters no grid point has: the parameter cases judge them, as --grid says
        ([str(nan_threshold)], "parameters [1.0, nan]: threshold must be a number or inf (no threshold), got nan"),
        ([str(minus_inf_threshold)], "parameters [1.0, -inf]: threshold must be a number or inf (no threshold)"),
        ([str(zero_beta)], "parameters [0.0, 20.0]: beta must be a finite number > 0, got 0.0"),
        (["--dtype", "float16", "--shards", "100000"], "float16 has only 65536 inputs to cut into shards"),
        (["--dtype", "float16", "--workers", "0"], "--workers 0: give a number of processes >= 1"),
        (["--dtype", "float16", "--workers", "-4"], "--workers -4: give a number of processes >= 1"),
        ([str(typo)], "unknown key(s) ['dtype']"),
        (["--dtype", "float64"], "float64 has too many"),
        (["--dtype", "float16", "--path", "vector"], "path 'vector'"),
        ([str(tmp_path / "missing.toml")], "does not exist"),
        (["--dtype", "float32", "--quantity", "grad2", "--path", "scalar"], "inputs per call"),
    ):
        code, err = cli_here("matrix", *args, "--out", str(tmp_path / "out"))
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert words in err, err
        assert "Traceback" not in err
        assert not (tmp_path / "out").exists()


def test_a_sweeps_duration_never_reads_60_seconds():
    from suite.report.sweepreport import duration_text

    assert duration_text(239.6) == "4 min 0 s"
    assert duration_text(173.7) == "2 min 54 s"
    assert duration_text(59.94) == "59.9 s"
    assert duration_text(None).startswith("unknown")


# -- dense float64 sweeps: drawn binade by binade, sharded by binade ------------------------------


def test_a_dense_binades_inputs_are_distinct_neighbour_pairs_inside_it_and_in_value_order():
    from suite.inputs.sets import dense_binade

    previous_top = -np.inf
    for binade in (0, 1, 1000, 2045, 2046, 2047, 2048, 3070, 4093):
        x = dense_binade(FLOAT64, 1.0, 20.0, binade, 64)
        assert np.array_equal(x, dense_binade(FLOAT64, 1.0, 20.0, binade, 64)), "the same draw every time"
        assert len(x) == 64
        assert np.all(np.diff(x) > 0 if binade not in (2046, 2047) else np.diff(x) >= 0)
        bits = x.view(np.uint64)
        negative = binade < 2047
        assert np.all(np.signbit(x) == negative)
        exponent = 2046 - binade if negative else binade - 2047
        assert np.all(((bits >> np.uint64(52)) & np.uint64(0x7FF)) == exponent), binade
        ordinals = np.sort(FLOAT64.ordinal(FLOAT64.encode(x)))
        assert np.count_nonzero(np.diff(ordinals) == 1) >= 32, "every drawn input has its neighbour"
        assert 0 in (bits & np.uint64((1 << 52) - 1)), "the binade's first value"
        assert x.min() >= previous_top, "binades numbered in value order"
        previous_top = x.max()
    for bad in ((4094, 64), (0, 1)):
        with pytest.raises(ValueError, match="outside float64's 4094 binades"):
            dense_binade(FLOAT64, 1.0, 20.0, *bad)


def test_a_dense_float64_sweep_in_shards_measures_every_binade_once(tmp_path, torch_target):
    """A dense sweep (8 inputs per binade, all 4,094 binades) in 5 shards: every input counted once,
    and the statistics of each binade range are those of measuring the binades one by one."""
    from suite.sweep.sample import sweep_binades

    spec = SweepSpec(FLOAT64, quantity=Quantity.GRAD, compare_paths=False, per_binade=8)
    assert spec.key.endswith("-dense8-one-path")
    assert spec.units == 4094
    assert SweepSpec.from_record(spec.record()) == spec
    run_sweep(spec, tmp_path, shards=5)
    _, merged, n = merge_shards(sorted((tmp_path / spec.key).glob("shard-*.json")))
    assert n == 5
    assert merged.inputs == 8 * 4094
    assert (merged.start, merged.stop) == (0, 4094)
    k3 = read_shard(shard_file(tmp_path, spec, 3, 5))[3]
    again = sweep_binades(spec, *spec.shard_range(3, 5), torch_target)
    assert statistics(again) == statistics(k3)
    data = report(spec, merged, n)
    assert data["spec"]["per_binade"] == 8
    assert not data["exhaustive"]
    assert data["oracles"]["documented"]["max_ulp"] >= 0


def test_dense_sweep_options_that_cannot_be_are_one_line_and_exit_2(tmp_path):
    from tests.test_report import cli_here

    for args, words in (
        (["--dtype", "float64", "--dense", "7"], "an even number >= 2"),
        (["--dtype", "float64", "--dense", "0"], "an even number >= 2"),
        (["--dtype", "float32", "--dense", "8"], "float32 is swept whole"),
        (["--dtype", "float64", "--dense", "8", "--shards", "5000"], "only 4094 binades"),
        (["--dtype", "float64", "--shard", "1/4"], "--shard: a float64 sample is measured in one run"),
        (["--dtype", "float64", "--shards", "4"], "--shards: a float64 sample is measured in one run"),
        (["--dtype", "float64", "--scheduler", "local"], "--scheduler: a float64 sample is measured in one run"),
        (["--dtype", "float64", "--batched"], "--batched: a float64 sample is measured in one run"),
    ):
        code, err = cli_here("sweep", *args, "--out", str(tmp_path / "out"))
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        assert words in err, err


@pytest.mark.processes
def test_a_dense_float64_sweep_on_dask_with_a_worker_killed_gives_the_single_process_numbers(tmp_path):
    """4 inputs in each of float64's 4,094 binades, 32 shards of binades as tasks on a real local
    cluster, one worker killed when the first shard comes back: the single-process numbers."""
    from suite.sweep.shards import run_on_dask

    spec = SweepSpec(FLOAT64, quantity=Quantity.FORWARD, compare_paths=False, per_binade=4)
    run_sweep(spec, tmp_path / "one", 32)
    _, alone, _ = merge_shards(sorted((tmp_path / "one" / spec.key).glob("shard-*.json")))
    with cluster_losing_a_worker() as (client, kill_one, killed):
        done = run_on_dask(
            [(spec, k, 32) for k in range(32)], tmp_path / "dask", "local", 2, client=client, on_result=kill_one
        )
    assert killed
    assert sorted(k for _, k in done) == list(range(32))
    _, merged, _ = merge_shards(sorted((tmp_path / "dask" / spec.key).glob("shard-*.json")))
    assert merged.inputs == 4 * 4094
    assert statistics(merged) == statistics(alone)


def test_a_wrong_step_names_both_neighbours_and_its_reproducer_evaluates_both(tmp_path):
    """A step the wrong way is a property of two inputs: the example records the input it stepped
    from with its output (every input, compiled or not, in one range or in shards, and the float64
    sample), the page shows both, and the reproducer asserts both outputs' bits on the swept path."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from suite.sweep import sample_float64
    from suite.sweep.accumulate import wrong_steps
    from tests.test_report import cli_here

    target = "tests.planted_targets:sawtooth"  # falls 1e-3 per unit of x: wrong steps far left
    sawtooth = implementations.load(target)
    spec = SweepSpec(FLOAT16, target=target, compare_paths=False)

    def check(v, fmt, consecutive):
        assert v.count > 0
        assert v.before_bits >= 0
        pair = np.array([v.before_bits, v.example_bits], dtype=np.uint64).astype(fmt.uint_dtype)
        outputs = np.array([v.before_output, v.example_output])
        assert outputs.tolist() == sawtooth.evaluate(fmt.decode(pair), fmt, spec.quantity, 1.0, 20.0).tolist()
        if consecutive:  # every input: consecutive patterns, as the sweep steps
            assert wrong_steps(fmt, spec.quantity, pair, fmt.decode(pair), outputs)[0]
        else:  # the sample: adjacent floats in value order
            assert fmt.ordinal(pair)[1] - fmt.ordinal(pair)[0] == 1
            assert outputs[1] < outputs[0]

    whole = {compiled: sweep_range(spec, 0, FLOAT16.count, sawtooth, compiled=compiled) for compiled in (True, False)}
    for acc in whole.values():
        check(acc.not_monotone, FLOAT16, consecutive=True)
    assert whole[True].not_monotone == whole[False].not_monotone
    run_sweep(spec, tmp_path / "shards", shards=7)
    _, merged, _ = merge_shards(sorted((tmp_path / "shards" / spec.key).glob("shard-*.json")))
    assert merged.not_monotone == whole[True].not_monotone
    sampled, _ = sample_float64(SweepSpec(FLOAT64, target=target, compare_paths=False), 4, sawtooth)
    check(sampled.not_monotone, FLOAT64, consecutive=False)

    code, err = cli_here("sweep", "--dtype", "float16", "--target", target, "--one-path", "--out", str(tmp_path / "o"))
    assert code == 0, err
    (path,) = (tmp_path / "o").glob("*.json")
    data = json.loads(path.read_text())
    example = data["violations"]["not_monotone"]["example"]
    v = whole[True].not_monotone
    assert (example["before"]["x_bits"], example["x_bits"]) == (FLOAT16.hex(v.before_bits), FLOAT16.hex(v.example_bits))
    before, after = (FLOAT16.hex_of(float(e["output"])) for e in (example["before"], example))
    page = path.with_suffix(".md").read_text()
    assert f"x = `{example['before']['x_bits']}` → `{example['x_bits']}`" in page
    root = Path(__file__).resolve().parents[1]  # where the planted target imports from
    done = subprocess.run(
        [sys.executable, "-c", data["reproducers"]["not_monotone"]],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line.split()[-1] for line in done.stdout.strip().splitlines()] == [before, after]


def test_a_float64_sweep_compares_neighbours_across_its_chunks_binades_shards_and_search(monkeypatch):
    """Wrong-way steps are a property of neighbours, wherever a sweep cuts its inputs: a float64
    sample in chunks, a dense sweep binade by binade and in shards, a search's inputs measured after
    the sample, all count the steps of one pass over their sorted union. The planted defect steps
    the wrong way only across positive binades' edges (tests.planted_targets:power_of_two_dip)."""
    import suite.sweep.sample as sample
    from suite.inputs.sets import dense_binade
    from suite.sweep.accumulate import wrong_steps

    target = "tests.planted_targets:power_of_two_dip"
    dip = implementations.load(target)
    spec = SweepSpec(FLOAT64, target=target, compare_paths=False)

    def one_pass(x):
        x = np.sort(x)
        bits = FLOAT64.encode(x)
        steps = wrong_steps(FLOAT64, spec.quantity, bits, x, dip.evaluate(x, FLOAT64, spec.quantity, 1.0, 20.0))
        return steps, bits

    whole, x = sample.sample_float64(spec, 4, dip)
    steps, bits = one_pass(x)
    uppers = np.flatnonzero(steps) + 1
    at_threshold = x[uppers - 1] == 20.0  # softplus(20) > 20 + ulp: torch's own step, where x is returned
    assert np.count_nonzero(at_threshold) == 1
    assert len(uppers) > 10
    assert np.all(np.frexp(x[uppers[~at_threshold]])[0] == 0.5), "the others end on a power of two"
    assert whole.not_monotone.count == len(uppers)
    assert whole.not_monotone.example_bits == bits[uppers[0]]
    assert whole.not_monotone.before_bits == bits[uppers[0] - 1]
    for chunk in (int(uppers[0]), int(uppers[len(uppers) // 2]), 1000):  # chunks cut step pairs apart
        monkeypatch.setattr(sample, "CHUNK", chunk)
        cut, _ = sample.sample_float64(spec, 4, dip)
        assert cut.not_monotone == whole.not_monotone, chunk
    monkeypatch.undo()

    # a search's inputs beyond the sample: here, the upper end of every step, taken out of the sample
    beyond = x[uppers]
    acc = sample.empty_accumulator(spec, 0, 0, dip)
    sample.measure_float64(spec, np.delete(x, uppers), dip, acc)
    assert acc.not_monotone.count == 0
    sample.measure_beyond(spec, beyond, np.delete(x, uppers), dip, acc)
    assert acc.not_monotone.count == len(uppers)
    below = x[: uppers[0]]  # the search's input right after the last input measured: its step, once
    acc = sample.empty_accumulator(spec, 0, 0, dip)
    sample.measure_float64(spec, below, dip, acc)
    sample.measure_beyond(spec, x[uppers[:1]], below, dip, acc)
    assert acc.not_monotone.count == 1

    # a dense sweep: [0.5, 1), [1, 2), [2, 4), binade by binade, and in two shards merged
    dense = SweepSpec(FLOAT64, target=target, compare_paths=False, per_binade=8)
    first = 3069  # [0.5, 1)
    union = np.concatenate([dense_binade(FLOAT64, 1.0, 20.0, b, 8) for b in range(first, first + 3)])
    steps, _ = one_pass(union)
    assert np.count_nonzero(steps) == 2  # at 1 and at 2: the binades' edges
    alone = sample.sweep_binades(dense, first, first + 3, dip)
    assert alone.not_monotone.count == 2
    merged = sample.sweep_binades(dense, first, first + 1, dip)
    merged.merge(sample.sweep_binades(dense, first + 1, first + 3, dip), FLOAT64, dense.quantity)
    assert merged.not_monotone == alone.not_monotone


def test_a_float64_sample_on_two_processes_has_the_statistics_of_one_bit_for_bit(torch_target):
    """The chunks of a float64 sample measured on two spawned processes and joined in order: every
    statistic (sums added in one order, maxima and first examples, steps across the chunks' edges,
    the path disagreement, the classes of the deviations' regions) as one process measures them."""
    from suite.inputs.sets import stratified
    from suite.sweep.measure import empty_accumulator
    from suite.sweep.sample import measure_float64

    spec = SweepSpec(FLOAT64, quantity=Quantity.GRAD)
    x = stratified(FLOAT64, 1.0, 20.0, per_binade=4)
    here, there = (empty_accumulator(spec, 0, 0, torch_target) for _ in range(2))
    measure_float64(spec, x, torch_target, here, chunk=4096)
    measure_float64(spec, x, torch_target, there, workers=2, chunk=4096)
    assert len(x) > 6 * 4096
    assert here.not_monotone.count > 0
    assert here.path_disagreement.count > 0
    assert statistics(there) == statistics(here)


def test_a_sweep_calls_an_output_faithful_where_the_exact_value_underflowed_the_reference():
    """Below x = -745, e^x underflows the float64 the float16 reference works in (hi = lo = 0). An
    output of the smallest subnormal there is faithful (0 < v < 2^-24, bracketed by 0 and it), on
    the compiled pass and the NumPy one alike, as it is where the reference still holds v."""
    target = "tests.planted_targets:smallest_subnormal_floor"
    floor = implementations.load(target)
    spec = SweepSpec(FLOAT16, target=target, compare_paths=False)
    start = int(FLOAT16.encode(np.float64(-744.0)))  # negative patterns: |x| grows with the bits
    stop = int(FLOAT16.encode(np.float64(-FLOAT16.max_finite))) + 1
    for compiled in (True, False):
        acc = sweep_range(spec, start, stop, floor, compiled=compiled)
        for oracle in (Oracle.DOCUMENTED, Oracle.MATH):
            assert acc.oracles[oracle].correctly_rounded == 0
            assert acc.oracles[oracle].faithful == acc.inputs == stop - start
