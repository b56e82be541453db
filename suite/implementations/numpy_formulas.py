"""softplus as users write it by hand in NumPy: reference points for the frameworks.

* ``numpy:logaddexp``: ``np.logaddexp(0, x)``, NumPy's ln(e^0 + e^x), stable for large x;
* ``numpy:log1p_exp``: ``np.log1p(np.exp(x))``, the textbook formula, which overflows to inf once
  e^x does (x > 88.7 in float32, 11.1 in float16, 709.8 in float64).

Both are evaluated in the input's own dtype (float16, float32, float64; NumPy has no bfloat16),
have no beta or threshold (ln(1 + e^x), audited at beta = 1 without a threshold), and no
derivatives (NumPy does not differentiate). One path, ``numpy``, on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from suite.implementations.base import WHOLE_VECTORS, CpuFunctionWithoutParameters, bits_lines
from suite.numerics.formats import Format
from suite.numerics.params import Quantity

PATH = "numpy"


@dataclass(frozen=True)
class NumpyFormula(CpuFunctionWithoutParameters):
    """One NumPy expression of ln(1 + e^x), evaluated in the input's dtype."""

    spec: str
    description: str
    short_name: str
    function: Callable[[np.ndarray], np.ndarray]
    source: str  # the expression, with ``x`` for the input (reproducers)
    formula: str = "in the input's dtype, no threshold"
    family: str = "numpy"
    path: str = PATH

    def unsupported(self, fmt: Format, quantity: Quantity) -> str | None:
        if fmt.numpy_name is None:
            return f"NumPy has no {fmt.name}"
        if quantity is not Quantity.FORWARD:
            return "no derivatives: NumPy does not differentiate"
        return None

    def outputs(self, values: np.ndarray, fmt: Format, quantity: Quantity) -> np.ndarray:
        return self.function(values)

    def reproducer(
        self,
        x: float,
        fmt: Format,
        quantity: Quantity,
        beta: float,
        threshold: float,
        device: str,
        path: str,
        output: float | None = None,
    ) -> str:
        lines = [
            "import numpy as np",
            f"x = np.zeros({WHOLE_VECTORS}, dtype=np.{fmt.numpy_name})  # whole vectors: no scalar remainder loop",
            f"x[0] = float.fromhex('{float(x).hex()}')",
            f"y = {self.source}",
        ]
        return "\n".join(lines + bits_lines(fmt, "y", output))


def _logaddexp(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x.dtype.type(0), x)


def _log1p_exp(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x))


def logaddexp() -> NumpyFormula:
    """``np.logaddexp(0, x)``."""
    return NumpyFormula(
        "numpy:logaddexp",
        f"numpy.logaddexp(0, x) (numpy {np.__version__})",
        "np.logaddexp",
        _logaddexp,
        "np.logaddexp(x.dtype.type(0), x)",
    )


def log1p_exp() -> NumpyFormula:
    """``np.log1p(np.exp(x))``."""
    return NumpyFormula(
        "numpy:log1p_exp",
        f"numpy.log1p(numpy.exp(x)) (numpy {np.__version__})",
        "np.log1p_exp",
        _log1p_exp,
        "np.log1p(np.exp(x))",
    )
