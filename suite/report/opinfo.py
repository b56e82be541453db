"""Would PyTorch's own test of softplus have caught it?

PyTorch tests softplus through its OpInfo (``UnaryUfuncInfo("nn.functional.softplus", ...)`` in
``torch/testing/_internal/common_methods_invocations.py``, identical in torch 2.12.0, 2.13.0 and
2.14.1): the reference-numerics tests of ``test/test_unary_ufuncs.py`` compare the output with
``reference_softplus`` (NumPy's ``log(1 + exp(beta*x)) / beta``, ``x`` where ``beta*x > threshold``)
at **beta = 3, threshold = 0.2 only**, on inputs from ``make_tensor``'s default range [-9, 9],
for the **forward value only** (its gradients are checked by ``gradcheck``, against finite
differences, not against a reference),
with ``assertEqual``: an output passes when ``|actual - expected| <= atol + rtol * |expected|``
(NaN equals NaN). The tolerances in force for softplus are the largest of ``torch.testing``'s
defaults (``torch/testing/_comparison.py``), the test's own per-dtype values and the OpInfo's
``toleranceOverride`` for ``TestUnaryUfuncs`` (atol = rtol = 1e-2 for float16 and bfloat16):
:data:`TOLERANCES`.

:func:`judge` applies that rule to one finding: with the correctly rounded value as the expected
one (the best a reference can give), would the comparison flag the output, and at what rtol
would it slip through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TOLERANCES = {  # dtype: (rtol, atol) in force for softplus's reference-numerics tests
    "float16": (1e-2, 1e-2),
    "bfloat16": (1.6e-2, 1e-2),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}
PARAMETERS = (3.0, 0.2)
"""(beta, threshold): the only parameters PyTorch's OpInfo tests softplus at."""
INPUT_RANGE = (-9.0, 9.0)
RULE = (
    "PyTorch's OpInfo test of softplus: |actual - expected| <= atol + rtol*|expected| (NaN equals NaN), "
    "rtol/atol: float16 1e-2/1e-2, bfloat16 1.6e-2/1e-2, float32 1.3e-6/1e-5, float64 1e-7/1e-7; "
    "run at beta = 3, threshold = 0.2 only, on inputs in [-9, 9], forward values only "
    "(torch/testing/_internal/common_methods_invocations.py, torch/testing/_comparison.py, test/test_unary_ufuncs.py)"
)


@dataclass(frozen=True)
class Judgement:
    """What the OpInfo comparison makes of one output."""

    flags: bool  # the comparison fails: the test would have caught it
    error: float  # |actual - expected| (inf for a NaN or infinity against a number)
    allowed: float  # atol + rtol * |expected|
    rtol_to_pass: float | None  # the smallest rtol at which it slips through (None: no rtol will do)
    tested: bool  # the quantity, the parameters and the input are ones the OpInfo test compares


def judge(
    dtype: str, output: float, expected: float, x: float, beta: float, threshold: float, quantity: str = "forward"
) -> Judgement | None:
    """The OpInfo rule on one output (None for a dtype the rule does not cover)."""
    if dtype not in TOLERANCES:
        return None
    rtol, atol = TOLERANCES[dtype]
    tested = quantity == "forward" and (beta, threshold) == PARAMETERS and INPUT_RANGE[0] <= x <= INPUT_RANGE[1]
    if math.isnan(output) or math.isnan(expected):
        same = math.isnan(output) and math.isnan(expected)
        return Judgement(not same, 0.0 if same else math.inf, math.nan, None if not same else 0.0, tested)
    if math.isinf(output) or math.isinf(expected):
        same = output == expected
        return Judgement(not same, 0.0 if same else math.inf, math.inf, None if not same else 0.0, tested)
    error = abs(output - expected)
    allowed = atol + rtol * abs(expected)
    if error <= allowed:
        return Judgement(False, error, allowed, rtol, tested)
    needed = (error - atol) / abs(expected) if expected != 0 else None  # atol kept, rtol widened
    return Judgement(True, error, allowed, needed, tested)


def describe(j: Judgement | None) -> str:
    """One cell: ``flags it (slips through from rtol 3.2e-05)``, ``admits it``, …, and whether run."""
    if j is None:
        return "—"
    if j.flags:
        text = "flags it" + (f" (slips through from rtol {j.rtol_to_pass:.2g})" if j.rtol_to_pass else "")
    else:
        text = f"admits it (error {j.error:.2g} ≤ {j.allowed:.2g})"
    return text + ("" if j.tested else "; not run here")
