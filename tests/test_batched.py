"""Sweeps with the outputs evaluated in batches in one process and measured on others (how a GPU is
swept), run here on the CPU: the statistics are those of the unbatched sweep, bit for bit."""

from __future__ import annotations

import json

import pytest

from suite import implementations
from suite.numerics.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64
from suite.numerics.params import Quantity
from suite.sweep import SweepSpec, merge_shards, read_shard, run_sweep, shard_file, shard_range, sweep_range
from suite.sweep.batched import evaluate_in_batches, run_batched
from suite.sweep.measure import CHUNK
from tests.synthetic_devices import cpu_kernel_as_cuda
from tests.test_cli import run as cli_process
from tests.test_sweep import statistics


@pytest.mark.parametrize(
    ("fmt", "quantity"), [(FLOAT16, Quantity.FORWARD), (BFLOAT16, Quantity.GRAD), (FLOAT16, Quantity.GRAD2)]
)
def test_a_batched_sweep_gives_the_unbatched_statistics_and_checkpoints(tmp_path, fmt, quantity):
    """Both paths (the second for the disagreement count), 4 shards on 2 worker processes."""
    spec = SweepSpec(fmt, quantity=quantity, beta=0.1, threshold=20.0)
    run_sweep(spec, tmp_path / "plain", shards=4)
    done = run_sweep(spec, tmp_path / "batched", shards=4, workers=2, batched=True)
    assert sorted(done) == [0, 1, 2, 3]
    files = {name: sorted((tmp_path / name / spec.key).glob("shard-*.json")) for name in ("plain", "batched")}
    assert [p.name for p in files["plain"]] == [p.name for p in files["batched"]]
    _, plain, _ = merge_shards(files["plain"])
    _, batched, _ = merge_shards(files["batched"])
    assert statistics(batched) == statistics(plain)
    assert batched.path_disagreement is not None
    # the recorded outputs are gone once measured: only checkpoints remain
    assert sorted(p.suffix for p in (tmp_path / "batched" / spec.key).iterdir()) == [".json"] * 4


def test_float32_outputs_in_several_batches_measure_as_one_sweep(tmp_path):
    """A float32 shard (2^22 inputs, x from -96 to -128, where the results are subnormal) evaluated in four
    batches: the same statistics as the unbatched sweep, on both paths."""
    spec = SweepSpec(FLOAT32)
    k, n = 779, 1024  # patterns 0xc2c00000-0xc2ffffff: x from -96 to -128
    start, stop = shard_range(FLOAT32, k, n)
    assert stop - start == 4 * CHUNK
    target = implementations.load(spec.target)
    plain = sweep_range(spec, start, stop, target)
    assert run_batched(spec, tmp_path, [k], n, workers=1, batch=CHUNK) == [k]
    _, _, _, batched = read_shard(shard_file(tmp_path, spec, k, n))
    assert statistics(batched) == statistics(plain)
    assert plain.zero_where_positive.count > 0  # the region holds a finding, and it is counted alike


def test_batches_are_whole_chunks():
    spec = SweepSpec(FLOAT16)
    with pytest.raises(ValueError, match=f"give a multiple of {CHUNK}"):
        run_batched(spec, None, [0], 1, workers=1, batch=CHUNK + 256)
    y = evaluate_in_batches(spec, 0, FLOAT16.count, implementations.load(spec.target), "simd", CHUNK)
    assert y.shape == (FLOAT16.count,)
    dense = SweepSpec(FLOAT64, per_binade=8)  # its shards are binades of drawn inputs, not pattern ranges
    with pytest.raises(ValueError, match="a dense sweep draws its inputs binade by binade"):
        run_batched(dense, None, [0], 5, workers=1)


def test_a_sweep_on_a_device_is_batched_and_names_the_device(tmp_path):
    """``sweep --device cuda`` of the synthetic device (torch's CPU vector kernel under the name cuda):
    batched by default, recorded as a sweep of that device, with the CPU vector path's statistics."""
    common = ("sweep", "--dtype", "bfloat16", "--quantity", "grad", "--workers", "2")
    device = cli_process(
        *common, "--target", "tests.synthetic_devices:cpu_kernel_as_cuda", "--device", "cuda", "--out", str(tmp_path)
    )
    assert device.returncode == 0, device.stderr[-3000:]
    cpu = cli_process(*common, "--one-path", "--out", str(tmp_path))
    assert cpu.returncode == 0, cpu.stderr[-3000:]
    (on_device,) = tmp_path.glob("sweep-tests.synthetic_devices.cpu_kernel_as_cuda-cuda-*.json")
    (on_cpu,) = tmp_path.glob("sweep-torch.nn.functional.softplus-cpu-*.json")
    device_data, cpu_data = json.loads(on_device.read_text()), json.loads(on_cpu.read_text())
    assert device_data["spec"]["device"] == "cuda"
    assert device_data["spec"]["path"] == "device"
    assert device_data["oracles"] == cpu_data["oracles"]
    assert device_data["violations"] == cpu_data["violations"]
    assert cpu_kernel_as_cuda.description in device_data["environment"].values()
