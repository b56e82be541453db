"""Implementations beyond eager torch: NumPy's formulas (always here), and JAX, TensorFlow and
ONNX Runtime (optional extras: their tests skip, saying how to install them; ``tox -e frameworks``
installs all three and runs these tests with them).

Each is audited for real, from the command line, and every reproducer its run emits is executed
in a fresh interpreter (the same check as tests/test_reproducers.py)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from suite import implementations
from suite.audit import budgets
from suite.implementations.base import NO_PARAMETERS, NotInstalledError, documented_parameters
from suite.numerics.formats import FLOAT16, FLOAT64, format_named
from suite.numerics.params import Params, Quantity
from suite.numerics.reference import correctly_rounded
from suite.report.load import as_float
from tests.conftest import ROOT, audit_from_the_command_line
from tests.test_reproducers import check_reproduced, emitted, expected_bits, run_fresh
from tests.test_sweep_judgment import same_bits

OPTIONAL = {  # target -> (module, extra)
    "jax.nn:softplus": ("jax", "jax"),
    "tensorflow.math:softplus": ("tensorflow", "tensorflow"),
    "onnxruntime:Softplus": ("onnxruntime", "onnxruntime"),
}


def needs(target: str):
    module, extra = OPTIONAL[target]
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"{module} is not installed (pip install 'softplus-audit[{extra}]', or tox -e frameworks)",
    )


def audited(tmp_path_factory, *args: str) -> dict:
    """A real audit from the command line with ``--exit-zero`` (findings are expected: exit 0 all the
    same); its run file."""
    result, out = audit_from_the_command_line(tmp_path_factory.mktemp("framework-audit"), "--exit-zero", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "audit.json").read_text())


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory) -> dict:
    args = ["--target", "numpy:logaddexp", "--target", "numpy:log1p_exp", "--grid", "1,20;1,1"]
    return audited(tmp_path_factory, *args, "--dtype", "float16", "--dtype", "float32", "--dtype", "bfloat16")


def check_reproducers(run: dict) -> int:
    cases = emitted(run)
    check_reproduced(cases)
    return len(cases)


def test_a_function_without_parameters_is_audited_once_at_beta_1_without_a_threshold(numpy_run):
    """Two grid points, one configuration per dtype: ln(1 + e^x) has no beta or threshold to vary."""
    ids = [c["id"] for c in numpy_run["configurations"]]
    assert sorted(ids) == sorted(
        f"{name}-cpu-{dtype}-b1-tinf-numpy-forward"
        for name in ("np.logaddexp", "np.log1p_exp")
        for dtype in ("float16", "float32")
    )
    assert all(as_float(c["threshold"]) == math.inf for c in numpy_run["configurations"])
    assert numpy_run["not_audited"]["numpy:logaddexp bfloat16 forward"] == "NumPy has no bfloat16"
    assert "does not differentiate" in numpy_run["not_audited"]["numpy:log1p_exp float32 grad"]
    assert not any(p["target"].startswith("numpy") for p in numpy_run["parameter_cases"])
    assert numpy_run["verdict"] == "fail", "--exit-zero exited 0 on a failing run: the verdict is still recorded"
    assert numpy_run["environment"]["formula numpy:log1p_exp"] == "in the input's dtype, no threshold"


def test_what_a_framework_gives_back_for_ln_1_plus_e_x_is_checked_before_it_is_measured():
    """The shared evaluate of the CPU functions without parameters (NumPy, JAX, TensorFlow, ONNX
    Runtime) checks its framework's ``outputs``: another dtype or another count is a TypeError naming
    both, and a beta or threshold a ValueError (the function has neither; NumPy's formulas ignored
    them before)."""
    from suite.implementations.numpy_formulas import NumpyFormula
    from suite.numerics.formats import FLOAT32

    def planted(function) -> NumpyFormula:
        return NumpyFormula("tests:planted", "planted", "np.planted", function, "planted(x)")

    x = np.array([1.0, -2.0])
    widened = planted(lambda v: np.logaddexp(0.0, v.astype(np.float64)))
    with pytest.raises(TypeError, match="returned 256 float64 values for 256 float32 inputs"):
        widened.evaluate(x, FLOAT32, Quantity.FORWARD, *NO_PARAMETERS)
    short = planted(lambda v: np.logaddexp(v.dtype.type(0), v)[:-1])
    with pytest.raises(TypeError, match="returned 255 float32 values for 256 float32 inputs"):
        short.evaluate(x, FLOAT32, Quantity.FORWARD, *NO_PARAMETERS)
    exact = planted(lambda v: np.logaddexp(v.dtype.type(0), v))
    assert exact.evaluate(x, FLOAT32, Quantity.FORWARD, *NO_PARAMETERS).tolist() == [
        float(np.logaddexp(np.float32(0), np.float32(v))) for v in x
    ]
    with pytest.raises(ValueError, match=r"numpy:logaddexp has no beta or threshold; audit it at \(1.0, inf\)"):
        implementations.load("numpy:logaddexp").evaluate(x, FLOAT32, Quantity.FORWARD, 2.0, 20.0)


def test_the_textbook_formula_overflows_where_logaddexp_does_not(numpy_run):
    """np.log1p(np.exp(x)) is inf once e^x overflows (float16: x ≥ 11.09); np.logaddexp(0, x) is not."""
    by_id = {c["id"]: c for c in numpy_run["configurations"]}
    textbook = by_id["np.log1p_exp-cpu-float16-b1-tinf-numpy-forward"]
    (accuracy,) = [p for p in textbook["properties"] if p["name"] == "accuracy (math)"]
    assert accuracy["verdict"] == "fail"
    example = accuracy["counterexamples"][0]
    assert as_float(example["output"]) == math.inf
    assert 11 < as_float(example["x"]) < 65504
    stable = by_id["np.logaddexp-cpu-float16-b1-tinf-numpy-forward"]
    assert stable["stats"]["math"]["max_ulp"] <= 1


def test_a_sweep_of_a_function_without_parameters_agrees_with_its_audit(numpy_run, tmp_path):
    """Every float16 input of np.logaddexp(0, x), swept (at beta = 1 without a threshold, whatever
    --beta and --threshold say) and audited: the same statistics, and the table names NumPy as the build."""
    from suite.report.table import load_rows
    from tests.test_report import cli_here

    code, err = cli_here("sweep", "--target", "numpy:logaddexp", "--dtype", "float16", "--out", str(tmp_path))
    assert code == 0, err
    (sweep_file,) = tmp_path.glob("sweep-*-b1-tinf.json")
    sweep = json.loads(sweep_file.read_text())
    assert sweep["spec"]["family"] == "numpy"
    (audit,) = [c for c in numpy_run["configurations"] if c["id"] == "np.logaddexp-cpu-float16-b1-tinf-numpy-forward"]
    doc = audit["stats"]["documented"]
    assert sweep["oracles"]["documented"]["max_ulp"] == doc["max_ulp"]
    assert sweep["oracles"]["documented"]["correctly_rounded"] == doc["correctly_rounded"]
    assert sweep["oracles"]["documented"]["worst"]["x_bits"] == doc["worst"]["x_bits"]
    summary = sweep_file.with_suffix(".md").read_text()
    assert "numpy.logaddexp(0, x) (numpy " in summary, "the summary names what ran, not torch"
    assert "threshold = inf" in summary
    page = sweep_file.with_suffix(".html").read_text()
    assert "<svg" in page
    assert "Errors against the input" in page
    worst = sweep["oracles"]["documented"]["worst"]
    assert worst["x_bits"] in page
    (result,) = run_fresh([sweep["reproducers"]["worst"]])
    assert result["ok"], result
    assert result["printed"].split()[-1] == expected_bits("float16", worst["output"]), "it reproduces"
    (row,) = load_rows([str(sweep_file)])
    assert row.build.startswith("numpy.logaddexp(0, x) (numpy ")
    assert row.threshold == math.inf


def test_every_reproducer_of_the_numpy_run_reproduces(numpy_run):
    assert check_reproducers(numpy_run) >= 4


def test_known_deviations_of_torch_excuse_no_other_family():
    """The packaged deviations describe torch's kernels: the same region in NumPy's results is a finding."""
    (shortcut,) = [d for d in budgets.load().deviations if d.id == "threshold-shortcut"]
    where = ("numpy:logaddexp", FLOAT16, Quantity.FORWARD, "numpy", 1.0, 20.0)
    assert shortcut.applies(*where, family="torch")
    assert not shortcut.applies(*where, family="numpy")


def test_an_absent_framework_is_reported_not_installed_never_a_crash(tmp_path):
    """With JAX hidden from the interpreter, a run that names it audits the rest and says how to
    install it; a run of nothing but absent frameworks is one line and exit 2."""
    hide = "import sys; sys.modules['jax'] = None; from suite.cli import main; sys.exit(main(sys.argv[1:]))"
    base = [sys.executable, "-c", hide, "run", "--dtype", "float16", "--quantity", "forward", "--grid", "1,20"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    both = subprocess.run(
        [*base, "--target", "numpy:logaddexp", "--target", "jax.nn:softplus", "--out", str(tmp_path / "both")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert both.returncode in (0, 1), both.stderr[-2000:]
    run = json.loads((tmp_path / "both" / "audit.json").read_text())
    why = run["not_audited"]["jax.nn:softplus"]
    assert why.startswith("not installed:")
    assert "pip install 'softplus-audit[jax]'" in why
    assert {c["target"] for c in run["configurations"]} == {"numpy:logaddexp"}
    alone = subprocess.run(
        [*base, "--target", "jax.nn:softplus", "--out", str(tmp_path / "alone")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert alone.returncode == 2
    assert len(alone.stderr.strip().splitlines()) == 1, alone.stderr
    assert "pip install 'softplus-audit[jax]'" in alone.stderr
    assert not (tmp_path / "alone").exists()


def test_loading_an_absent_framework_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(NotInstalledError, match=r"pip install 'softplus-audit\[onnxruntime\]'"):
        implementations.load("onnxruntime:Softplus")


# -- the optional frameworks, where installed -----------------------------------------------------


@pytest.fixture(scope="module")
def frameworks_run(tmp_path_factory) -> dict:
    """Every installed framework, every dtype and quantity it has."""
    present = [t for t, (module, _) in OPTIONAL.items() if importlib.util.find_spec(module) is not None]
    if not present:
        pytest.skip("none of jax, tensorflow, onnxruntime is installed (tox -e frameworks installs them)")
    return audited(tmp_path_factory, *[a for t in present for a in ("--target", t)])


@pytest.mark.parametrize("target", list(OPTIONAL))
def test_each_installed_framework_is_audited_in_every_dtype_it_has(frameworks_run, target):
    if importlib.util.find_spec(OPTIONAL[target][0]) is None:
        pytest.skip(f"{OPTIONAL[target][0]} is not installed (tox -e frameworks installs it)")
    configs = [c for c in frameworks_run["configurations"] if c["target"] == target]
    reasons = {k: v for k, v in frameworks_run["not_audited"].items() if k.startswith(target)}
    # each (dtype, quantity) is audited or has its reason: nothing silently dropped
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        for quantity in ("forward", "grad", "grad2"):
            measured = [c for c in configs if (c["dtype"], c["quantity"]) == (dtype, quantity)]
            assert measured or f"{target} {dtype} {quantity}" in reasons, (dtype, quantity)
    assert all(c["id"].split("-")[-3:-1] != ["b1", "t20"] for c in configs)
    assert all(as_float(c["threshold"]) == math.inf for c in configs)
    assert frameworks_run["environment"][f"formula {target}"], "what it computes is recorded"


def test_every_reproducer_of_the_frameworks_run_reproduces(frameworks_run):
    assert check_reproducers(frameworks_run) >= 10


@needs("jax.nn:softplus")
def test_jax_computes_float64_in_float64():
    """Without JAX's 64-bit mode a float64 input is silently computed in float32, where
    softplus(-700) underflows to 0; in float64 it is 9.86e-305, correctly rounded or next to it."""
    jax_softplus = implementations.load("jax.nn:softplus")
    y = jax_softplus.evaluate(np.array([-700.0]), FLOAT64, Quantity.FORWARD, *NO_PARAMETERS)
    want = correctly_rounded(Quantity.FORWARD, -700.0, Params(beta=1.0, threshold=math.inf), FLOAT64)
    assert abs(y[0] - want) <= math.ulp(want)
    assert documented_parameters(jax_softplus, 0.5, 3.0) == NO_PARAMETERS


@needs("onnxruntime:Softplus")
def test_onnxruntime_dtypes_are_measured_from_the_runtime():
    """Which dtypes the CPU provider has is ONNX Runtime's answer, not a list of ours."""
    ort_softplus = implementations.load("onnxruntime:Softplus")
    for name in ("float16", "bfloat16", "float32", "float64"):
        why = ort_softplus.unsupported(format_named(name), Quantity.FORWARD)
        if why is None:
            y = ort_softplus.evaluate(np.array([0.0]), format_named(name), Quantity.FORWARD, *NO_PARAMETERS)
            assert abs(y[0] - math.log(2)) < 1e-3
        else:
            assert why.startswith("ONNX Runtime's CPU provider:")
            assert "Softplus" in why


# -- torch.compile (Inductor on the CPU) -----------------------------------------------------------


@pytest.fixture(scope="module")
def compiled_run(tmp_path_factory) -> dict:
    args = ["--target", "torch.compile:softplus", "--dtype", "float16", "--dtype", "float32", "--grid", "1,20"]
    return audited(tmp_path_factory, *args)


@pytest.mark.compiled
def test_torch_compile_is_audited_and_compared_with_eager_torch(compiled_run):
    """Every dtype's value and gradient from Inductor's generated code, each compared input by input
    with eager torch's vector path; the second derivative is not audited, in torch's words."""
    configs = {(c["dtype"], c["quantity"]): c for c in compiled_run["configurations"]}
    assert set(configs) == {(d, q) for d in ("float16", "float32") for q in ("forward", "grad")}
    for config in configs.values():
        disagreement = config["path_disagreement"]
        assert disagreement["versus"] == "torch.nn.functional:softplus simd"
        assert disagreement["inputs"] == config["stats"]["documented"]["count"]
        assert config["path"] == "inductor"
    assert "double backward" in compiled_run["not_audited"]["torch.compile:softplus float32 grad2"]
    assert "backend inductor" in compiled_run["environment"]["target torch.compile:softplus"]


@pytest.mark.compiled
def test_every_reproducer_of_the_compiled_run_reproduces(compiled_run):
    assert check_reproducers(compiled_run) >= 4


def test_the_claims_are_answered_per_implementation(numpy_run):
    from suite.report.claims import seed_claims

    claims = seed_claims(numpy_run)
    assert {c["implementation"] for c in claims} == {"numpy:logaddexp", "numpy:log1p_exp"}
    (ln2,) = [c for c in claims if c["implementation"] == "numpy:logaddexp" and c["claim"].startswith("softplus(0)")]
    assert ln2["verdict"] == "holds"
    assert ln2["answer"].endswith("numpy:logaddexp within 1 ULP in every format and path")


@needs("jax.nn:softplus")
def test_a_framework_that_flushes_to_zero_fails_the_never_zero_claim_in_its_own_name(frameworks_run):
    from suite.report.claims import seed_claims

    (never_zero,) = [
        c for c in seed_claims(frameworks_run)
        if c["implementation"] == "jax.nn:softplus" and c["claim"] == "softplus is never zero"
    ]  # fmt: skip
    assert never_zero["verdict"] == "fails in jax.nn:softplus"
    assert never_zero["example"]["reproducer"]


# -- the published sweeps of other implementations -------------------------------------------------


def _published_sweep(target: str) -> dict:
    from tests.test_sweep_judgment import PUBLISHED

    (data,) = [d for d in (json.loads(p.read_text()) for p in PUBLISHED) if d["spec"]["target"] == target]
    return data


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("jax.nn:softplus", marks=needs("jax.nn:softplus")),
        pytest.param("tensorflow.math:softplus", marks=needs("tensorflow.math:softplus")),
        pytest.param("torch.compile:softplus", marks=pytest.mark.compiled),
    ],
)
def test_each_published_sweep_of_another_implementation_reproduces_its_verdicts_inputs(target):
    """Every reproducer a published sweep of JAX, TensorFlow or torch.compile gives (its largest
    error, the input its verdict rests on, its first premature zero and wrong-way step), in a fresh
    interpreter: each asserts the bits the sweep recorded, where the version that measured them runs."""
    import torch

    data = _published_sweep(target)
    environment = data["environment"]
    here = implementations.load(target).description
    measured = (environment[f"target {target}"], environment["torch"], environment["aten_cpu_capability"])
    capability = torch.backends.cpu.get_cpu_capability()
    if measured[:2] != (here, torch.__version__) or not same_bits(measured[2], capability):
        pytest.skip(f"measured by {measured}; here {here}, torch {torch.__version__} ({capability})")
    sources = list(data["reproducers"].values())
    assert len(sources) >= 3
    for result, source in zip(run_fresh(sources), sources, strict=True):
        assert result["ok"], f"the reproducer fails:\n{source}\n{result.get('error')}"
