"""The audit's input sets (suite/inputs/sets.py): the inputs where rounding b·x costs most."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from suite import implementations
from suite.inputs.sets import product_rounding, stratified
from suite.numerics.fastref import fast_reference
from suite.numerics.formats import FLOAT32, FLOAT64, opmath_format
from suite.numerics.params import Oracle, Params, Quantity
from suite.numerics.ulp import measure


def _rounding_in_ulps(beta: float, x: float, fmt) -> float:
    """|b·x − round(b·x)| in ULPs of the rounded product, in exact rational arithmetic."""
    op = opmath_format(fmt)
    rounded = float(op.round(np.float64(beta) * np.float64(x))) if op is FLOAT32 else beta * x
    spacing = 2.0 ** int(op.quantum_exponent(np.float64(rounded)))
    return abs(float((Fraction(beta) * Fraction(x) - Fraction(rounded)) / Fraction(spacing)))


@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=lambda f: f.name)
@pytest.mark.parametrize("beta", [0.1, 10.0, 3.0])
def test_the_kernel_rounds_each_inputs_product_by_nearly_half_an_ulp(fmt, beta):
    """Checked exactly (fractions), on a spread of the set: the kernel's b·x is off by close to half
    an ULP of its compute format, and the set covers normal results from about log(min normal) up."""
    kernel_beta = Params.as_kernel_sees(beta, 20.0, fmt).beta
    x = product_rounding(fmt, beta)
    assert len(x) > 100
    spread = x[:: max(1, len(x) // 200)]
    errors = [_rounding_in_ulps(kernel_beta, float(v), fmt) for v in spread]
    assert min(errors) > 0.35
    assert max(errors) > 0.45  # 0.5 where the significands allow (not for float32 0.1: 0.4746)
    products = kernel_beta * x
    assert products.max() < -0.5
    assert products.min() < opmath_format(fmt).emin * np.log(2) + 2  # down to where results turn subnormal
    assert np.isin(fmt.round(x), stratified(fmt, beta, 20.0)).all(), "the audit's sample holds the set"


@pytest.mark.parametrize("beta", [1.0, 0.5, 4.0, 2.0**-10])
def test_no_inputs_where_the_product_is_exact(beta):
    assert len(product_rounding(FLOAT64, beta)) == 0
    assert len(product_rounding(FLOAT32, beta)) == 0


@pytest.mark.parametrize("quantity", [Quantity.FORWARD, Quantity.GRAD2], ids=lambda q: q.value)
def test_the_set_finds_what_rounding_b_x_costs_torch_in_float64(quantity):
    """At beta = 10, float64: torch passes the product's rounding on, up to 2^9 ULP plus exp's own
    error, more than the sample's largest before these inputs joined it (at most 511.8 ULP over 8.2
    million inputs for the second derivative): the set reaches above 512 (here 513.13 and 513.78;
    the gradient's 512.50 is left out: half an ULP from 512, exp's rounding on another CPU
    capability could take it below)."""
    torch_softplus = implementations.load("torch.nn.functional:softplus")
    x = np.sort(product_rounding(FLOAT64, 10.0))
    params = Params.as_kernel_sees(10.0, 20.0, FLOAT64)
    x = x[params.product(x) > -708.3]  # outside exp-underflow-float64, the deviation far left
    y = torch_softplus.evaluate(x, FLOAT64, quantity, 10.0, 20.0, "cpu", "simd")
    errors = measure(y, fast_reference(quantity, x, params, FLOAT64, Oracle.DOCUMENTED)).ulp_error
    assert np.nanmax(errors) > 512
    assert np.nanmax(errors) < 520  # half an ULP of b·x, times |b·x| < 745, in the result's ULPs, and exp's own
