"""The examples in the docstrings and in README.md run and print what they claim."""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from pathlib import Path

import pytest

import suite.reference
import suite.ulp

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("module", [suite.reference, suite.ulp], ids=lambda m: m.__name__)
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
