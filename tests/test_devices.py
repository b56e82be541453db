"""Budgets and known deviations keyed by device: a device's numbers are measured on it, never borrowed.

No GPU is needed: ``tests.synthetic_devices:cpu_kernel_as_cuda`` answers to the device name
``cuda`` (and computes on the CPU, as its description says), so the whole path of a run on a device
without budgets, and of measuring budgets for it, runs for real here.
"""

from __future__ import annotations

import json

import pytest

from suite.audit import budgets
from suite.numerics.formats import FLOAT16, FLOAT32
from suite.numerics.params import Oracle, Quantity
from suite.report.load import as_float
from tests.test_cli import ROOT
from tests.test_cli import run as cli_process

SYNTHETIC = "tests.synthetic_devices:cpu_kernel_as_cuda"
SMALL = ("--dtype", "float16", "--grid", "1,20")


def test_the_packaged_budgets_are_the_cpus_alone():
    packaged = budgets.load()
    assert packaged.records_device("cpu")
    assert not packaged.records_device("cuda")
    assert packaged.missing_phrase("cuda:1") == "no budget recorded for cuda"
    assert packaged.missing_phrase("cpu") is None
    assert all(d.device == "cpu" for d in packaged.deviations)
    for b in packaged.budgets:
        assert packaged.budget_for(b.fmt, b.quantity, b.oracle, "device", 1.0, 20.0, "cuda") is None


def test_an_entry_measured_on_one_device_is_never_borrowed_by_another(tmp_path):
    path = tmp_path / "budgets.toml"
    path.write_text(
        """
[[budget]]
dtype = "float32"
quantity = "forward"
oracle = "documented"
max_ulp = 1.0

[[budget]]
device = "cuda"
dtype = "float32"
quantity = "forward"
oracle = "documented"
max_ulp = 4.0

[[deviation]]
id = "gpu-only"
reason = "a region of the GPU's kernel"
dtypes = ["float32"]
quantities = ["forward"]
properties = ["monotonicity"]
region = "all"
device = "cuda"
"""
    )
    loaded = budgets.load(path)
    where = (FLOAT32, Quantity.FORWARD, Oracle.DOCUMENTED)
    assert loaded.budget_for(*where, "simd", 1.0, 20.0).max_ulp == 1.0
    assert loaded.budget_for(*where, "device", 1.0, 20.0, "cuda").max_ulp == 4.0
    assert loaded.budget_for(*where, "device", 1.0, 20.0, "cuda:3").max_ulp == 4.0
    assert loaded.budget_for(FLOAT16, Quantity.FORWARD, Oracle.DOCUMENTED, "device", 1.0, 20.0, "cuda") is None
    (gpu_only,) = loaded.deviations
    point = ("torch.nn.functional:softplus", FLOAT32, Quantity.FORWARD, "device", 1.0, 20.0, "torch")
    assert gpu_only.applies(*point, "cuda:0")
    assert not gpu_only.applies(*point, "cpu")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            '[[budget]]\ndevice = "tpu"\ndtype = "float32"\nquantity = "forward"\noracle = "math"\nmax_ulp = 1.0\n',
            "'device' = 'tpu'; accepted: cpu, cuda",
        ),
        (
            '[[deviation]]\nid = "a"\nreason = "r"\ndtypes = ["float32"]\nquantities = ["forward"]\n'
            'properties = ["monotonicity"]\nregion = "all"\n' * 2,
            "id 'a' is used twice",
        ),
    ],
)
def test_a_budget_file_names_known_devices_and_unique_ids(tmp_path, entry, message):
    path = tmp_path / "budgets.toml"
    path.write_text(entry)
    with pytest.raises(budgets.BudgetFileError, match=message):
        budgets.load(path)


def test_a_run_on_a_device_without_budgets_says_so_per_configuration(tmp_path):
    """Each configuration says why its accuracy was not judged, in the terminal, the run file and
    both reports; neither the CPU's budgets nor its known deviations are borrowed: the second
    derivative's underflow that the CPU's entry excuses is a finding on this device (exit 1)."""
    out = tmp_path / "out"
    result = cli_process("run", "--target", SYNTHETIC, "--device", "cuda", *SMALL, "--out", str(out))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "NO BUDGET synthetic-cuda-cuda-float16-b1-t20-device-forward: accuracy (documented): no budget " in (
        result.stdout
    )
    assert "FAILED synthetic-cuda-cuda-float16-b1-t20-device-grad2: positivity" in result.stdout
    run = json.loads((out / "audit.json").read_text())
    verdicts = {c["quantity"]: c["verdict"] for c in run["configurations"]}
    assert verdicts == {"forward": "no budget", "grad": "no budget", "grad2": "fail"}
    assert {c["device"] for c in run["configurations"]} == {"cuda"}
    for config in run["configurations"]:
        assert config["budgets"] == {"documented": None, "math": None}
        accuracy = [p for p in config["properties"] if p["name"].startswith("accuracy")]
        assert all(p["detail"].startswith("no budget recorded for cuda: measured ") for p in accuracy)
        assert config["known_deviations"] == []
    html = (out / "audit.html").read_text()
    md = (out / "audit.md").read_text()
    for text in (html, md):
        assert "no budget recorded for cuda" in text
        assert "SYNTHETIC" in text  # the fixture says what it is wherever it appears


def test_budgets_measured_on_a_device_are_its_own_and_keep_every_cpu_entry(tmp_path):
    """``budgets --device cuda``: the device's budgets measured, its deviations seeded from the CPU's
    regions with bounds measured on it, and every CPU entry kept as written; the file then judges
    the device's run."""
    result = cli_process("budgets", "--target", SYNTHETIC, "--device", "cuda", *SMALL)
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout
    measured = tmp_path / "budgets.toml"
    measured.write_text(text)
    new, packaged = budgets.load(measured), budgets.load()
    packaged_text = budgets.DEFAULT_FILE.read_text()
    # every CPU entry, word for word
    for block in packaged_text.split("\n\n"):
        if block.startswith(("[[budget]]", "[[deviation]]")):
            assert block.strip() in text, block
    assert new.measured_on["cpu"] == packaged.measured_on["cpu"]
    assert new.measured_on["cuda"].startswith("torch ")
    cpu = {b for b in new.budgets if b.device == "cpu"}
    assert cpu == set(packaged.budgets)
    cuda = [b for b in new.budgets if b.device == "cuda"]
    assert {(b.fmt, b.quantity, b.oracle, b.beta, b.threshold) for b in cuda} == {
        (FLOAT16, q, o, 1.0, 20.0) for q in Quantity for o in Oracle
    }
    seeded = [d for d in new.deviations if d.device == "cuda"]
    assert [d.id for d in seeded] == [f"{d.id}-cuda" for d in packaged.deviations]
    for d in seeded:
        assert d.reason.startswith("Seeded from the cpu entry")
        if d.max_ulp is not None:  # measured on the device: only the dtype this run measured
            assert set(d.max_ulp) <= {FLOAT16}
    # the device's run is now judged by the device's own numbers
    out = tmp_path / "out"
    judged = cli_process(
        "run", "--target", SYNTHETIC, "--device", "cuda", *SMALL, "--budgets", str(measured), "--out", str(out)
    )
    run = json.loads((out / "audit.json").read_text())
    assert judged.returncode == 0, judged.stdout[-3000:]
    assert run["verdict"] == "pass"
    forward = next(c for c in run["configurations"] if c["quantity"] == "forward")
    assert forward["budgets"]["documented"] == next(
        b.max_ulp for b in cuda if (b.quantity, b.oracle) == (Quantity.FORWARD, Oracle.DOCUMENTED)
    )


def test_budgets_measure_one_device_at_a_time():
    result = cli_process("budgets", "--target", SYNTHETIC, "--device", "cpu", "--device", "cuda", *SMALL)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "one kind of device at a time" in result.stderr


def _run_reproducer(script: str) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_devices_finds_the_inputs_where_two_paths_differ_with_reproducers_of_each(tmp_path):
    """The CPU's scalar path against its vector path (they differ, as the audit's path disagreement
    says): every float16 gradient input compared, the one that differs named with both outputs,
    and each side's reproducer prints the bits recorded for it."""
    result = cli_process(
        "devices", "--device", "cpu", "--path", "scalar", "--versus", "cpu", "--dtype", "float16",
        "--quantity", "grad", "--grid", "1,20", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((tmp_path / "devices-cpu-scalar-vs-cpu-simd.json").read_text())
    (config,) = data["configurations"]
    assert config["exhaustive"]
    assert config["inputs"] == FLOAT16.count
    assert config["differing"] == 1
    (row,) = config["largest"]
    assert row["x_bits"] == "0xb13f"
    assert row["steps"] == 1.0
    assert row["cpu scalar"] != row["cpu simd"]
    for side in ("cpu scalar", "cpu simd"):
        printed = _run_reproducer(config["reproducers"][side])
        assert FLOAT16.hex_of(row[side]) in printed
    md = (tmp_path / "devices-cpu-scalar-vs-cpu-simd.md").read_text()
    assert "**1 of 1 configurations differ: 1 of 65,536 outputs, at most 1 apart.**" in md
    assert "`0xb13f`" in md
    # which side is right there, from the mpmath reference on its own (not the one the command used)
    from suite.numerics.params import Params
    from suite.numerics.reference import correctly_rounded

    truth = correctly_rounded("grad", row["x"], Params.as_kernel_sees(1.0, 20.0, FLOAT16), FLOAT16, "documented")
    assert row["correctly_rounded"] == truth == row["cpu simd"]
    assert config["correctly_rounded_where_differing"] == {"cpu scalar": 0, "cpu simd": 1}
    assert row["ulp_error"]["cpu simd"] < 0.5 < row["ulp_error"]["cpu scalar"]
    assert data["summary"]["correctly_rounded_where_differing"] == {"cpu scalar": 0, "cpu simd": 1}
    assert "Where they differ, the correctly rounded output is cpu scalar's at 0 inputs and cpu simd's at 1." in md
    for side in ("cpu scalar", "cpu simd"):  # each side's reproducer, whole, in a code block of its own
        assert f"On {side}:\n\n```python\n{config['reproducers'][side]}\n```\n" in md


def test_the_synthetic_device_agrees_with_the_cpu_vector_path_everywhere(tmp_path):
    result = cli_process(
        "devices", "--target", SYNTHETIC, "--device", "cuda", "--dtype", "bfloat16", "--grid", "1,20;0.1,20",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((tmp_path / "devices-cuda-device-vs-cpu-simd.json").read_text())
    assert data["versus"] == ["cuda device", "cpu simd"]
    assert data["summary"] == {
        "configurations": 6,
        "differing_configurations": 0,
        "inputs": 6 * 65536,
        "differing": 0,
        "correctly_rounded_where_differing": {"cuda device": 0, "cpu simd": 0},
        "max_steps": None,
    }


SCRIPT = ROOT / "scripts" / "cuda-audit.sh"  # the checkout's (the package may be installed elsewhere)


def _script(out, **env):
    import os
    import subprocess
    import sys

    variables = {**os.environ, "PYTHON": sys.executable, **env}
    return subprocess.run(
        ["bash", str(SCRIPT), str(out)], capture_output=True, text=True, env=variables, timeout=900, check=False
    )


def test_the_cuda_script_says_in_one_line_why_it_cannot_run_here(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: the script would run")
    done = _script(tmp_path / "out")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("cuda-audit: device 'cuda' is not available: torch.cuda.is_available() is False")
    assert not (tmp_path / "out").exists()


@pytest.mark.processes
def test_the_cuda_script_runs_every_step_on_the_synthetic_device(tmp_path):
    """The one command a GPU machine runs, on the synthetic device at a small scope: every file the
    publication expects, the audit without borrowed budgets, the device's measured budgets, the
    batched sweeps judged against them, the comparison with the CPU, the table, the timings; no
    checkpoints left."""
    out = tmp_path / "cuda"
    scope = {"TARGET": SYNTHETIC, "AUDIT_ARGS": " ".join(SMALL), "SWEEP_DTYPE": "float16", "WORKERS": "2"}
    # in two calls, as a machine lent for a few minutes at a time may need: the audit and the
    # budgets, then the sweeps judged by those budgets, the comparisons and the table
    for steps in ("1 2", "3 4 5"):
        # the second packs what both wrote into one file (ARCHIVE), as for a machine that returns one
        done = _script(out, STEPS=steps, **scope, **({"ARCHIVE": str(tmp_path / "cuda.tgz")} if steps > "2" else {}))
        assert done.returncode == 0, done.stderr[-3000:]
    import tarfile

    with tarfile.open(tmp_path / "cuda.tgz") as packed:
        names = set(packed.getnames())
    assert {f"cuda/{name}" for name in ("audit.json", "budgets-cuda.toml", "timings.md", "table.html")} <= names
    assert "the reference's loops: compiled" in done.stderr  # the script says whether they are (10 times faster)
    run = json.loads((out / "audit.json").read_text())
    assert {c["device"] for c in run["configurations"]} == {"cuda"}
    assert all(c["budgets"]["documented"] is None for c in run["configurations"])
    measured = budgets.load(out / "budgets-cuda.toml")
    assert measured.records_device("cuda")
    assert measured.rules_grid["cuda"] == ((1.0, 20.0),)  # the rules measured on the device, on the grid given
    assert {b.beta_kind for b in measured.budgets if b.device == "cuda" and b.beta is None} == {"*", "power_of_two"}
    sweeps = sorted((out / "sweeps").glob("sweep-*.json"))
    assert [json.loads(p.read_text())["spec"]["quantity"] for p in sweeps] == ["forward", "grad"]
    for p in sweeps:  # each judged on every input against the budgets the audit measured on the device
        judgment = json.loads(p.read_text())["judgment"]
        assert judgment["budgets_file"] == str(out / "budgets-cuda.toml")
        assert judgment["verdict"] == "holds", judgment
    assert not [p for p in (out / "sweeps").iterdir() if p.is_dir()]  # checkpoints removed
    devices = json.loads((out / "devices-cuda-device-vs-cpu-simd.json").read_text())
    assert devices["summary"]["differing"] == 0
    assert (out / "table.html").exists()
    on_cuda = json.loads((out / "corpus-cuda.json").read_text())
    assert on_cuda["device"] == "cuda"
    assert (out / "corpus-cpu.json").exists()
    timings = (out / "timings.md").read_text().splitlines()
    assert [line.split("|")[1].strip().split(".")[0] for line in timings[2:]] == [
        "1",
        "2",
        "3",
        "3",
        "3",
        "4",
        "4",
        "5",
    ]
    # after the sweeps, the budgets to review are at least what the sweeps found on every input
    raised = budgets.load(out / "budgets-cuda.toml")
    for quantity in ("forward", "grad"):
        (point,) = [
            b
            for b in raised.budgets
            if (b.device, b.fmt.name, b.quantity.value, b.oracle.value, b.beta)
            == ("cuda", "float16", quantity, "documented", 1.0)
        ]
        (sweep,) = [p for p in sweeps if json.loads(p.read_text())["spec"]["quantity"] == quantity]
        outside = json.loads(sweep.read_text())["judgment"]["oracles"]["documented"]
        assert point.swept == as_float(outside["max_ulp_outside"])
        assert point.swept_at == outside["worst_outside"]["x_bits"]
        assert point.max_ulp >= point.swept


def test_the_known_problems_are_checked_on_a_device_and_labelled_by_it(tmp_path):
    """``corpus --device``: each outcome evaluated on the device and saying so, the file and its
    Markdown naming it, and a table of the device's corpus beside the CPU's telling their columns
    apart (the synthetic device runs the CPU kernel, so the statuses agree); an absent device is
    one line and exit 2."""
    from suite.report.table import corpus_matrix, load_corpus, report_files

    for device in ("cuda", "cpu"):
        done = cli_process(
            "corpus", "--target", SYNTHETIC, "--device", device, "--out", str(tmp_path), "--name", f"corpus-{device}"
        )
        assert done.returncode == 0, done.stderr[-2000:]
    on_cuda = json.loads((tmp_path / "corpus-cuda.json").read_text())
    assert on_cuda["device"] == "cuda"
    assert {o["device"] for o in on_cuda["outcomes"]} == {"cuda"}
    assert (tmp_path / "corpus-cuda.md").read_text().startswith("## Known upstream softplus problems (on cuda)")
    on_cpu = json.loads((tmp_path / "corpus-cpu.json").read_text())
    assert [o["status"] for o in on_cuda["outcomes"]] == [o["status"] for o in on_cpu["outcomes"]]
    assert "present" in {o["status"] for o in on_cuda["outcomes"]}
    labels, _ = corpus_matrix(load_corpus(report_files([str(tmp_path)])))
    torch_version = on_cpu["environment"]["torch"]
    assert labels == [f"{SYNTHETIC} (torch {torch_version})", f"{SYNTHETIC} (torch {torch_version}, cuda)"]
    import torch

    if not torch.cuda.is_available():
        absent = cli_process("corpus", "--target", "torch.nn.functional:softplus", "--device", "cuda",
                             "--out", str(tmp_path / "absent"))  # fmt: skip
        assert absent.returncode == 2
        (line,) = absent.stderr.strip().splitlines()
        assert "none of the targets can be checked on cuda: device 'cuda' is not available" in line
        assert not (tmp_path / "absent" / "corpus.json").exists()


def test_a_reports_environment_line_names_the_gpu_driver_and_cuda():
    from suite.environment import environment
    from suite.report.model import environment_line

    env = environment()
    env["torch_cuda_build"] = "13.0"
    env["cuda_devices"] = [{"index": 0, "name": "SYNTHETIC GPU", "capability": "9.0", "driver": "580.159.03"}]
    line = environment_line({"environment": env})
    assert "CUDA 13.0 SYNTHETIC GPU (compute capability 9.0, driver 580.159.03)" in line
    # run files written before the capability and driver were recorded
    env["cuda_devices"] = [{"index": 0, "name": "SYNTHETIC GPU"}]
    assert "CUDA 13.0 SYNTHETIC GPU ·" in environment_line({"environment": env})
