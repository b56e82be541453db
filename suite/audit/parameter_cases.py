"""The parameter cases: parameters outside the usual range, each judged against its mathematical meaning.

For every audited target that takes beta and threshold (float32 tensors, the first audited device) the cases below are
evaluated at a few inputs. An exception with a message is a clear error and passes; a
result passes when it is what the formula ``(1/b)·log1p(exp(b·x))`` with the threshold rule
means for that parameter (a limit where the parameter is infinite or zero):

==========================  ====================================================
beta = 0                    ``+inf`` for finite x (``ln2/b`` → +inf as b → 0+)
beta = -1                   the formula itself: ``x`` where ``-x > t``, else ``-sp_1(-x)``
beta = NaN                  NaN everywhere
beta = +inf                 ``max(0, x)`` for x ≠ 0 (at 0, ``0·inf`` may give NaN)
beta = 1e39                 not a float32: an error (or the overflowed cast's result)
threshold = NaN / +inf      the formula everywhere (no shortcut), for |b·x| < 80
threshold = -inf            ``x`` for every finite x
==========================  ====================================================
"""

from __future__ import annotations

import math

import numpy as np

from suite.implementations.base import TargetFailedError, has_parameters
from suite.numerics.formats import FLOAT32
from suite.numerics.params import Params, Quantity
from suite.numerics.reference import correctly_rounded

INPUTS = np.array([-50.0, -5.0, -1.0, 0.0, 1.0, 5.0, 50.0])


def _expected(case: str, x: float) -> float | None:
    """The meaning of the case at x (None: any result is acceptable there)."""
    if case == "beta=0":
        return math.inf
    if case == "beta=-1":
        if -x > 20.0:
            return x
        return -correctly_rounded(Quantity.FORWARD, -x, Params(beta=1.0), FLOAT32)
    if case == "beta=nan":
        return math.nan
    if case == "beta=inf":
        return None if x == 0 else max(0.0, x)
    if case in ("threshold=nan", "threshold=inf"):
        return correctly_rounded(Quantity.FORWARD, x, Params(beta=1.0, threshold=math.inf), FLOAT32)
    if case == "threshold=-inf":
        return x
    return None


CASES = {
    "beta=0": (0.0, 20.0),
    "beta=-1": (-1.0, 20.0),
    "beta=nan": (math.nan, 20.0),
    "beta=inf": (math.inf, 20.0),
    "beta=1e39": (1e39, 20.0),
    "threshold=nan": (1.0, math.nan),
    "threshold=inf": (1.0, math.inf),
    "threshold=-inf": (1.0, -math.inf),
}


def _close(got: float, want: float) -> bool:
    """Equal, or within 4 ULPs of float32 (NaN equals NaN)."""
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if math.isinf(want) or math.isinf(got):
        return got == want
    ulp32 = math.ulp(want) * 2.0 ** (53 - 24)  # float32's spacing at |want| (normal range)
    return abs(got - want) <= 4 * ulp32


def judge_parameter_cases(auditor) -> list[dict]:
    """Every case of :data:`CASES` for every implementation of ``auditor``, at :data:`INPUTS` as
    float32, on the first audited device and its last kernel path (on CPU the scalar path, the
    one a short tensor takes)."""
    device = auditor.devices[0] if auditor.devices else "cpu"
    out = []
    for spec, impl in auditor.implementations.items():
        if not has_parameters(impl):  # ln(1 + e^x) alone: no beta or threshold to misuse
            continue
        path = impl.paths(device)[-1]
        for case, (beta, threshold) in CASES.items():
            record = {"target": spec, "device": device, "case": case, "beta": repr(beta), "threshold": repr(threshold)}
            try:
                got = impl.evaluate(INPUTS, FLOAT32, Quantity.FORWARD, beta, threshold, device, path)
                if not (isinstance(got, np.ndarray) and got.shape == INPUTS.shape):
                    raise TargetFailedError(f"evaluate returned a {type(got).__name__}, no array like its inputs")
            except (Exception, SystemExit) as error:  # a raised error is the clear-error outcome this case allows
                # no answer at all (no array or tensor like its input, an attempt to exit) is no clear error
                silent = isinstance(error, SystemExit) or (
                    isinstance(error, TargetFailedError) and error.__cause__ is None
                )
                if isinstance(error, TargetFailedError) and error.__cause__ is not None:
                    error = error.__cause__  # the target's own exception, as it raised it
                message = str(error).strip().splitlines()[0] if str(error).strip() else ""
                clear = bool(message) and not silent
                record.update(outcome=f"error: {type(error).__name__}: {message}", verdict="pass" if clear else "fail")
                record["why"] = (
                    "a clear error" if clear else "no answer, not an error" if silent else "an error without a message"
                )
                record["inputs"] = INPUTS.tolist()
                out.append(record)
                continue
            wrong = []
            for xi, yi in zip(INPUTS.tolist(), got.tolist(), strict=True):
                want = _expected(case, xi)
                if want is not None and not _close(yi, want):
                    wrong.append(f"x={xi!r}: got {yi!r}, meaning {want!r}")
            record["outcome"] = "returned " + ", ".join(f"{v!r}" for v in got.tolist())
            record["verdict"] = "fail" if wrong else "pass"
            record["why"] = "; ".join(wrong) if wrong else "what the parameter means"
            record["inputs"] = INPUTS.tolist()
            out.append(record)
    return out
