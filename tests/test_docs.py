"""The examples in the docstrings and in README.md run and print what they claim."""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from pathlib import Path

import pytest

import suite.numerics.reference
import suite.numerics.ulp

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("module", [suite.numerics.reference, suite.numerics.ulp], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_readme_python_example_prints_what_its_comments_say():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has a python example"
    code = blocks[0]
    claims = [line.split("#", 1)[1].strip() for line in code.splitlines() if line.startswith("print(")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    printed = out.getvalue().splitlines()
    assert len(printed) == len(claims)
    for line, claim in zip(printed, claims, strict=True):
        expected = claim.split()[0].rstrip(",.:")
        assert line.startswith(expected.rstrip(".")), (line, claim)


ADDING = Path(__file__).resolve().parent.parent / "docs" / "adding-an-implementation.md"


def test_the_documented_toy_implementation_is_one_module_that_the_audit_runs(tmp_path, monkeypatch):
    """docs/adding-an-implementation.md: its module, saved as it says, is audited with the command it
    gives (the command's options are parsed as shown; the audit runs in this process)."""
    import shlex

    from suite.audit.engine import Auditor
    from suite.audit.options import OPTIONS, settings_from
    from suite.cli import build_parser
    from suite.implementations import Implementation, load

    text = ADDING.read_text()
    (module,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (command,) = [line for line in re.findall(r"```sh\n(.*?)```", text, flags=re.S)[0].splitlines() if line]
    (tmp_path / "numpy_softplus.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = shlex.split(command)
    assert argv[:2] == ["PYTHONPATH=.", "softplus-audit"]
    args = build_parser().parse_args(argv[2:])
    impl = load(args.target[0])
    assert isinstance(impl, Implementation)
    values = {o.dest: getattr(args, o.dest) for o in OPTIONS}
    values["dtype"] = ["float16", "bfloat16", "float32"]  # float64's sample is left to the command itself
    auditor = Auditor(settings_from(values))
    configs = auditor.configurations()
    assert {(c.fmt.name, c.quantity.value, c.path) for c in configs} == {
        (d, q, "numpy") for d in ("float16", "float32") for q in ("forward", "grad")
    }
    assert set(auditor.not_audited) == {
        "numpy_softplus:IMPLEMENTATION bfloat16 forward",
        "numpy_softplus:IMPLEMENTATION bfloat16 grad",
        "numpy_softplus:IMPLEMENTATION bfloat16 grad2",
        "numpy_softplus:IMPLEMENTATION float16 grad2",
        "numpy_softplus:IMPLEMENTATION float32 grad2",
    }
    for config in configs:
        result = auditor.result(config)
        assert result.stats, config.id
        assert result.property("threshold_rule").passed, config.id
        assert result.property("special_values").passed, config.id
    worst = auditor.result(configs[0]).stats
    assert all(s.count == 65536 for s in worst.values())
    # its reproducer, run as a user pastes it, evaluates the configuration it names (the gradient at
    # a threshold of 1, where the rule decides), prints the output's bits and asserts the recorded ones
    import subprocess
    import sys

    import numpy as np

    from suite.numerics.formats import FLOAT32
    from suite.numerics.params import Quantity

    x = 1.5
    y = impl.evaluate(np.array([x]), FLOAT32, Quantity.GRAD, 1.0, 1.0, "cpu", "numpy")[0]
    assert y == 1.0  # b·x > t: the threshold rule's gradient
    script = impl.reproducer(x, FLOAT32, Quantity.GRAD, 1.0, 1.0, "cpu", "numpy", output=y)
    env = {"PYTHONPATH": f"{tmp_path}:{Path(__file__).resolve().parent.parent}"}
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["1.0", "0x3f800000"]
    wrong = impl.reproducer(x, FLOAT32, Quantity.GRAD, 1.0, 1.0, "cpu", "numpy", output=0.5)
    ran = subprocess.run([sys.executable, "-c", wrong], capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 1
    assert "AssertionError" in ran.stderr
