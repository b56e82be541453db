"""softplus-audit: an exact, reproducible accuracy audit of softplus implementations.

Packages, in the order data flows (see README, "Architecture")::

    inputs -> implementations -> numerics (reference, measure) -> audit (verdicts) / sweep -> report -> cli

Public entry points are re-exported here so that ``import suite`` is enough for the
common questions: what is the exact value, what is its correct rounding, how many ULPs
is my output off.
"""

from suite.numerics.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, FORMATS, Format, format_named
from suite.numerics.params import Oracle, Params, Quantity
from suite.numerics.reference import correctly_rounded, exact_value
from suite.numerics.ulp import Failure, measure, ulp_error

__all__ = [
    "BFLOAT16",
    "FLOAT16",
    "FLOAT32",
    "FLOAT64",
    "FORMATS",
    "Failure",
    "Format",
    "Oracle",
    "Params",
    "Quantity",
    "correctly_rounded",
    "exact_value",
    "format_named",
    "measure",
    "ulp_error",
]

__version__ = "0.1.0"
