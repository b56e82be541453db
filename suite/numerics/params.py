"""What is being computed: the quantity, the oracle, and the parameters as the kernel sees them.

Mathematics (``b > 0``, ``y = b*x`` exactly):

* ``FORWARD``: ``sp_b(x) = log1p(exp(y)) / b``
* ``GRAD``: ``d sp_b / dx = sigmoid(y) = 1 / (1 + exp(-y))``
* ``GRAD2``: ``d^2 sp_b / dx^2 = b * sigmoid(y) * sigmoid(-y)``

Two oracles (docs/numerics.md, "The function and its two oracles"):

* ``MATH``: the exact mathematical quantity, what the user means.
* ``DOCUMENTED``: torch's documented function: where ``b*x > t`` it returns ``x`` (gradient 1,
  second derivative 0), elsewhere the mathematical value. The comparison is made on ``b*x``
  rounded to nearest in ``Params.product_format`` (the kernel's compute format) or, when that
  is ``None``, on the exact product. This isolates the arithmetic error of an implementation
  from the error its threshold shortcut makes by design.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from suite.numerics.formats import Format, format_named, opmath_format


class Quantity(enum.Enum):
    FORWARD = "forward"
    GRAD = "grad"
    GRAD2 = "grad2"

    @classmethod
    def named(cls, name: str) -> Quantity:
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"unknown quantity {name!r}; accepted: {', '.join(q.value for q in cls)}") from None


class Oracle(enum.Enum):
    MATH = "math"
    DOCUMENTED = "documented"

    @classmethod
    def named(cls, name: str) -> Oracle:
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"unknown oracle {name!r}; accepted: {', '.join(o.value for o in cls)}") from None


ORACLE_ORDER = (Oracle.DOCUMENTED, Oracle.MATH)
"""The oracles in the order the audit and the sweeps judge and report them."""


def grid_point_problem(beta: float, threshold: float) -> str | None:
    """Why ``(beta, threshold)`` is no point of a parameter grid (None: it is one).

    A grid point is where the reference, budgets and deviations are defined: beta a finite number
    > 0, the threshold a number or inf (no threshold). Beta = 0, < 0, NaN or inf and a NaN or -inf
    threshold are parameters whose meaning the audit's parameter cases judge
    (:mod:`suite.audit.parameter_cases`), not grid points."""
    if not (math.isfinite(beta) and beta > 0):
        return (
            f"beta must be a finite number > 0, got {beta!r} (beta = 0, < 0, NaN and inf are judged by the "
            "audit's parameter cases, not by a grid point)"
        )
    if math.isnan(threshold) or threshold == -math.inf:
        return (
            f"threshold must be a number or inf (no threshold), got {threshold!r} (NaN and -inf thresholds are "
            "judged by the audit's parameter cases, not by a grid point)"
        )
    return None


@dataclass(frozen=True)
class Params:
    """Softplus parameters, exactly as the implementation under audit uses them.

    Attributes:
        beta: ``b``, a finite float > 0 (the value after any cast the kernel makes).
        threshold: ``t``, any float (NaN and ±inf allowed: they switch the rule off or on).
        product_format: format in which ``b*x`` is rounded before the threshold comparison;
            ``None`` compares the exact product.
    """

    beta: float = 1.0
    threshold: float = 20.0
    product_format: Format | None = None

    def __post_init__(self) -> None:
        beta = float(self.beta)
        if not (math.isfinite(beta) and beta > 0):
            raise ValueError(
                f"beta={self.beta!r} has no reference: the reference is defined for finite beta > 0 "
                "(the audit judges other values separately)"
            )
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "threshold", float(self.threshold))

    @classmethod
    def as_kernel_sees(cls, beta: float, threshold: float, dtype: str | Format) -> Params:
        """The parameters a torch CPU/CUDA kernel computes with for tensors of ``dtype``.

        ``beta`` and ``threshold`` are cast (round to nearest) to the kernel's compute format:
        float32 for float16, bfloat16 and float32 tensors, float64 for float64. ``b*x`` is
        rounded in that same format before it is compared with ``t``. The cast is explicit
        here so that reports can say which values were really used (``beta=0.1`` is
        0.100000001490116... for a float32 tensor).
        """
        fmt = dtype if isinstance(dtype, Format) else format_named(dtype)
        op = opmath_format(fmt)
        cast_beta = float(op.round(np.float64(beta)))
        cast_threshold = float(op.round(np.float64(threshold)))
        return cls(beta=cast_beta, threshold=cast_threshold, product_format=op)

    def product(self, x: np.ndarray) -> np.ndarray:
        """``b·x`` as the kernel compares it with the threshold: rounded to ``product_format``, or exact.

        A float64 product of two floats is correctly rounded by IEEE 754, and a float32 ``b`` times
        a value of at most 24 bits is exact in float64 before its rounding into float32, so
        ``product_format.round(x * b)`` is the kernel's product in both cases; without a product
        format, long double holds ``b·x`` exactly for operands of at most 32 bits.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            if self.product_format is None:
                return np.asarray(x).astype(np.longdouble) * np.longdouble(self.beta)
            return self.product_format.round(np.asarray(x) * self.beta)

    def above_threshold(self, x: np.ndarray) -> np.ndarray:
        """Where the documented rule takes the ``x`` branch: ``fl(b·x) > t`` (:meth:`product`)."""
        with np.errstate(invalid="ignore"):
            return self.product(x) > self.threshold

    def describe(self) -> str:
        where = self.product_format.name if self.product_format else "exact"
        return f"beta={self.beta!r} ({self.beta.hex()}), threshold={self.threshold!r}, product rounded: {where}"
