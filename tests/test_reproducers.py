"""Every reproducer a run emits (worst cases, counterexamples, premature zeros, the claims' examples)
reproduces: run in a fresh interpreter, it prints the output bits the audit recorded, on the kernel
path it names, and its own assert holds.

A reproducer is what a user pastes into a bug report upstream. On CPU a one-element tensor is
computed by the scalar lambda whatever path was audited, so a reproducer of a SIMD-path result
must lay the input out as the audit did; the float32 input 0xc2cdbf37 tells the paths apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from suite import implementations
from suite.numerics.formats import FLOAT32
from suite.numerics.params import Quantity
from suite.report.load import as_float

ROOT = Path(__file__).resolve().parent.parent

RUNNER = r"""
import json, sys, io, contextlib, traceback
results = []
for source in json.load(sys.stdin):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(source, "<reproducer>", "exec"), {"__name__": "__main__"})
        results.append({"ok": True, "printed": out.getvalue()})
    except BaseException:
        results.append({"ok": False, "printed": out.getvalue(), "error": traceback.format_exc(limit=1)})
print(json.dumps(results))
"""


def run_fresh(sources: list[str]) -> list[dict]:
    """Each source executed in a new namespace of one fresh interpreter (torch imported once)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER], input=json.dumps(sources), capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def emitted(run: dict) -> list[tuple[str, dict, float, str]]:
    """(where, record, recorded output, dtype) of every reproducer in a run file."""
    found = []
    for config in run["configurations"]:
        for oracle, stats in config["stats"].items():
            if stats["worst"]:
                worst = stats["worst"]
                found.append((f"{config['id']} worst ({oracle})", worst, as_float(worst["output"]), config["dtype"]))
        for prop in config["properties"]:
            for c in prop["counterexamples"]:
                found.append((f"{config['id']} {prop['name']}", c, as_float(c["output"]), config["dtype"]))
        example = (config.get("zeros") or {}).get("example")
        if example:
            found.append((f"{config['id']} premature zero", example, as_float(example["output"]), config["dtype"]))
        wrong = (config.get("knife_edges") or {}).get("wrong") or []
        if wrong:  # the first knife edge rounded the wrong way carries the reproducer
            found.append((f"{config['id']} knife edge", wrong[0], as_float(wrong[0]["output"]), config["dtype"]))
    for point in run.get("reference_points", []):  # the claims' examples
        for m in point.get("measured", []):
            where = f"softplus({point['x']}) {m['target']} {m['dtype']} {m['path']}"
            found.append((where, m, as_float(m["output"]), m["dtype"]))
    return found


def expected_bits(dtype: str, output: float) -> str | None:
    from suite.numerics.formats import format_named

    return None if output != output else format_named(dtype).hex_of(output)


def check_reproduced(cases: list[tuple[str, dict, float, str]]) -> None:
    """Run each case's reproducer in one fresh interpreter: it succeeds and prints the recorded bits."""
    results = run_fresh([item["reproducer"] for _, item, _, _ in cases])
    for (where, item, output, dtype), result in zip(cases, results, strict=True):
        assert result["ok"], f"{where}: the reproducer fails:\n{item['reproducer']}\n{result.get('error')}"
        bits = expected_bits(dtype, output)
        if bits is not None:
            assert result["printed"].split()[-1] == bits, f"{where}: printed {result['printed']!r}, recorded {bits}"


def test_every_reproducer_a_run_emits_prints_the_recorded_bits(small_audit, failing_audit):
    cases = []
    for _, out in (small_audit, failing_audit):
        cases += emitted(json.loads((out / "audit.json").read_text()))
    assert len(cases) >= 8, "the runs emit worst cases and counterexamples"
    assert any("special_values" in where for where, *_ in cases), "counterexamples are among them"
    assert any(where.startswith("softplus(") for where, *_ in cases), "the claims' examples are among them"
    check_reproduced(cases)


def test_a_monotonicity_counterexample_reproduces_the_step_from_its_neighbour():
    """A step the wrong way is two inputs: the record names the neighbour it stepped from, and the
    reproducer evaluates both on the configuration's path, asserting each recorded output's bits."""
    from suite.audit.engine import Auditor, AuditSettings
    from suite.audit.runfile import config_entry
    from suite.numerics.formats import FLOAT16

    settings = AuditSettings(
        targets=("tests.planted_targets:sawtooth",),
        formats=(FLOAT16,),
        grid=((1.0, 20.0),),
        quantities=(Quantity.FORWARD,),
    )
    auditor = Auditor(settings)
    config = auditor.configurations()[0]
    entry = config_entry(auditor, auditor.result(config), None)
    (monotonicity,) = [p for p in entry["properties"] if p["name"] == "monotonicity"]
    assert not monotonicity["passed"]
    cases = monotonicity["counterexamples"]
    assert cases
    results = run_fresh([c["reproducer"] for c in cases])
    for c, result in zip(cases, results, strict=True):
        before = c["before"]
        assert as_float(before["x"]) < as_float(c["x"])  # sorted by value, the step from the one below
        assert not as_float(c["output"]) >= as_float(before["output"])  # a fall, or NaN: the wrong way
        assert result["ok"], result
        printed = [line.split()[-1] for line in result["printed"].strip().splitlines()]
        assert len(printed) == 2
        for bits, e in zip(printed, (before, c), strict=True):
            expected = expected_bits("float16", as_float(e["output"]))  # None: a NaN, asserted as one
            assert bits == expected or (expected is None and np.isnan(FLOAT16.decode(np.uint16(int(bits, 16)))))


def test_a_reproducer_names_the_path_it_was_measured_on():
    """float32 x = 0xc2cdbf37 (-102.87…): the SIMD path's exp flushes to 0, the scalar lambda gives the
    smallest subnormal; each path's reproducer gives its own path's bits (a one-element tensor would
    give the scalar path's)."""
    torch_softplus = implementations.load("torch.nn.functional:softplus")
    x = float(np.uint32(0xC2CDBF37).view(np.float32))
    outputs, sources = {}, []
    for path in ("simd", "scalar"):
        y = torch_softplus.evaluate(np.array([x]), FLOAT32, Quantity.FORWARD, 1.0, 20.0, "cpu", path)
        outputs[path] = float(y[0])
        sources.append(torch_softplus.reproducer(x, FLOAT32, Quantity.FORWARD, 1.0, 20.0, "cpu", path, outputs[path]))
    if FLOAT32.hex_of(outputs["simd"]) == FLOAT32.hex_of(outputs["scalar"]):
        # a build without vector code (ATEN_CPU_CAPABILITY=default) computes both paths alike
        pytest.skip("the SIMD and scalar paths agree at 0xc2cdbf37 on this build: nothing tells them apart here")
    one_element = sources[0].replace("torch.zeros(256", "torch.zeros(1").replace("torch.set_num_threads(1)", "")
    simd, scalar, single = run_fresh([*sources, one_element])
    assert simd["ok"], simd
    assert scalar["ok"], scalar
    assert not single["ok"], "a one-element tensor reproduces the SIMD result: the layout would not matter"


def second_derivative_alone(value: float, fmt, beta: float, threshold: float) -> float:
    """torch's second derivative of softplus at one input, as a user computes it on a one-element
    strided view: every kernel sees that one element."""
    import torch

    base = torch.zeros(2, dtype=fmt.torch_dtype())
    base[0] = value
    base.requires_grad_(True)
    y = torch.nn.functional.softplus(base[::2], beta=beta, threshold=threshold)
    (grad,) = torch.autograd.grad(y, base, torch.ones_like(y), create_graph=True)
    (grad,) = torch.autograd.grad(grad, base, torch.ones_like(grad))
    return float(grad[0])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_the_scalar_paths_second_derivative_is_each_inputs_own_and_its_reproducer_prints_it(dtype):
    """The second derivative is several kernels on fresh contiguous intermediates; a batch would run
    all but its first on the vector code. On the scalar path every input must come out as it does
    alone, each step through the scalar lambda, as its one-element reproducer computes it (torch
    2.13, AVX2: a strided batch of these 600 inputs gives other bits on 24 of them in float32 and
    12 in float64)."""
    from suite.numerics.formats import format_named

    fmt = format_named(dtype)
    torch_softplus = implementations.load("torch.nn.functional:softplus")
    rng = np.random.default_rng(20261203)
    x = fmt.round(rng.normal(0.0, 0.6, 600))
    args = (fmt, Quantity.GRAD2, 10.0, 20.0, "cpu", "scalar")
    together = torch_softplus.evaluate(x, *args)
    alone = np.array([second_derivative_alone(value, fmt, 10.0, 20.0) for value in x])
    differ = np.flatnonzero(together.view(np.uint64) != alone.view(np.uint64))
    first = fmt.hex_of(x[differ[0]]) if differ.size else None
    assert differ.size == 0, f"{differ.size} of {len(x)} differ from the input alone, e.g. x = {first}"
    simd = torch_softplus.evaluate(x, fmt, Quantity.GRAD2, 10.0, 20.0, "cpu", "simd")
    shown = [i for i in range(len(x)) if simd[i] != together[i]][:3] or [0]
    sources = [torch_softplus.reproducer(float(x[i]), *args, float(together[i])) for i in shown]
    for i, result in zip(shown, run_fresh(sources), strict=True):
        assert result["ok"], f"x = {fmt.hex_of(x[i])}: {result.get('error')}"
