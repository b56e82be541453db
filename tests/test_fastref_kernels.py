"""The compiled loops (numba, :mod:`suite.numerics.kernels`) give the NumPy path's values bit for bit.

Every field of :class:`suite.numerics.fastref.ReferenceValues` is compared, ``hi``, ``lo``, ``err`` and
``escalated`` included, with the compiled loops on and off. The NumPy path is also checked
against mpmath here (``tests/test_fastref.py`` checks whichever path is active: the compiled
one where numba is installed), and the compiled rounding helpers against
:class:`suite.numerics.formats.Format` on edge values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from suite import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, Oracle, Params, Quantity
from suite.numerics import fastref
from suite.numerics.fastref import fast_reference
from tests.test_fastref import adversarial_inputs, mismatches, near_midpoint_inputs
from tests.truth import every_input_truth, mpmath_rounded

FIELDS = ("rounded", "hi", "lo", "err", "exponent", "escalated")


def differing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Indices where two arrays differ (NaN equals NaN, -0 differs from +0)."""
    if a.dtype.kind != "f":
        return np.flatnonzero(a != b)
    same = ((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))
    return np.flatnonzero(~same)


def identical(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and len(differing(a, b)) == 0


@pytest.fixture
def numpy_only(monkeypatch):
    monkeypatch.setattr(fastref, "USE_COMPILED_KERNELS", False)


def both_paths(quantity, x, params, fmt, oracle, monkeypatch):
    compiled = fast_reference(quantity, x, params, fmt, oracle)
    with monkeypatch.context() as m:
        m.setattr(fastref, "USE_COMPILED_KERNELS", False)
        plain = fast_reference(quantity, x, params, fmt, oracle)
    return compiled, plain


def assert_identical(compiled, plain, x):
    for field in FIELDS:
        a, b = getattr(compiled, field), getattr(plain, field)
        assert a.dtype == b.dtype, field
        bad = differing(a, b)
        if len(bad):
            i = bad[0]
            pytest.fail(f"{field} differs at {len(bad)} inputs, e.g. x={x[i]!r}: compiled {a[i]!r}, NumPy {b[i]!r}")


@pytest.fixture(scope="module")
def kernels():
    pytest.importorskip("numba")
    loaded = fastref.compiled_kernels()
    assert loaded is not None
    return loaded


# -- the compiled loops and the NumPy path agree bit for bit ------------------------------------------


@pytest.mark.parametrize("oracle", list(Oracle))
@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=str)
def test_every_16_bit_input_same_bits(kernels, monkeypatch, fmt, quantity, oracle):
    x = fmt.decode(fmt.all_bits())
    for beta, threshold in [(1.0, 20.0), (3.0, 5.0), (0.1, 20.0), (1e-30, 1e-29), (7e30, math.inf)]:
        params = Params.as_kernel_sees(beta, threshold, fmt)
        assert_identical(*both_paths(quantity, x, params, fmt, oracle, monkeypatch), x)
    # a beta that is no float32: the long double working type, at every input
    params = Params(beta=0.1, threshold=2.0, product_format=None)
    assert_identical(*both_paths(quantity, x, params, fmt, oracle, monkeypatch), x)


@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize(
    ("fmt", "beta"),
    [
        (FLOAT32, 1.0),
        pytest.param(FLOAT32, 0.1, marks=pytest.mark.slow),
        (FLOAT64, 1.0),
        pytest.param(FLOAT64, 3.0, marks=pytest.mark.slow),
        (FLOAT64, 0.1),
    ],
    ids=str,
)
def test_random_and_adversarial_inputs_same_bits(kernels, monkeypatch, fmt, beta, quantity):
    rng = np.random.default_rng(20261130)
    params = Params.as_kernel_sees(beta, 20.0, fmt)
    x = adversarial_inputs(fmt, quantity, params, rng)
    x = np.concatenate([x, [np.nan, np.inf, -np.inf]])
    for oracle in Oracle:
        compiled, plain = both_paths(quantity, x, params, fmt, oracle, monkeypatch)
        assert_identical(compiled, plain, x)
        if fmt is FLOAT64:
            assert compiled.escalated.any()  # the comparison covers the mpmath path too


# -- the NumPy path (the fallback without numba) against mpmath ----------------------------------------


@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=str)
def test_numpy_path_every_16_bit_input(numpy_only, fmt, quantity):
    x = fmt.decode(fmt.all_bits())
    params = Params.as_kernel_sees(3.0, 5.0, fmt)
    for oracle in Oracle:
        fast = fast_reference(quantity, x, params, fmt, oracle).rounded
        assert len(mismatches(fast, every_input_truth(fmt, quantity, params, oracle))) == 0


@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=str)
def test_numpy_path_next_to_midpoints(numpy_only, fmt, quantity):
    rng = np.random.default_rng(20261131)
    params = Params.as_kernel_sees(1.0, 20.0, fmt)
    x = near_midpoint_inputs(fmt, quantity, params, rng, 3000)
    fast = fast_reference(quantity, x, params, fmt).rounded
    assert len(mismatches(fast, mpmath_rounded(quantity, x, params, fmt))) == 0


def test_numpy_only_switch(numpy_only):
    assert fastref.compiled_kernels() is None


# -- the compiled rounding helpers against Format, on edge values -------------------------------------


def edge_values(fmt, w) -> np.ndarray:
    """Values of ``W`` around every kind of rounding edge of ``fmt``: midpoints, the overflow
    threshold, the subnormal range and its underflow to 0, powers of two, W's own extremes."""
    one, eps, p = w.type(1), np.finfo(w).eps, fmt.precision
    quanta = [fmt.min_quantum_exponent, fmt.min_quantum_exponent + 1, 1 - p, 0, fmt.emax - p + 1]
    multiples = [1, 2, 3, 2 ** (p - 1) - 1, 2 ** (p - 1), 2**p - 1, 2**p]
    offsets = [0, 1, -1, 3, -3, 2**10, -(2**10)]  # relative, in units of W's epsilon
    values = [
        np.ldexp((w.type(k) + w.type(half)) * (one + w.type(off) * eps), q)
        for q in quanta
        for k in multiples
        for half in (0, 0.5)
        for off in offsets
    ]
    values += [w.type(fmt.max_finite), np.ldexp(one, fmt.emax + 1), np.ldexp(one, fmt.min_quantum_exponent - 1)]
    values += [np.finfo(w).max, np.finfo(w).tiny, np.finfo(w).smallest_subnormal, np.ldexp(w.type(3), -16440)]
    values += [w.type(0), w.type(np.inf), w.type(np.nan)]
    values = np.array(values, dtype=w)
    with np.errstate(over="ignore"):
        up, down = np.nextafter(values, w.type(np.inf)), np.nextafter(values, w.type(-np.inf))
    rng = np.random.default_rng(5)
    random = np.ldexp(rng.uniform(0.5, 1, 4000).astype(w), rng.integers(fmt.emin - 80, fmt.emax + 4, 4000))
    values = np.concatenate([values, up, down, random])
    return np.concatenate([values, -values])


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16, FLOAT32], ids=str)
def test_float64_rounding_helpers(kernels, fmt):
    v = edge_values(fmt, np.dtype(np.float64))
    rounded, midpoint, exponent = kernels.round_float64(v, fmt.precision, fmt.emin, fmt.max_finite)
    assert identical(rounded, fmt.round(v))
    assert np.array_equal(midpoint, fmt.is_midpoint(v))
    assert np.array_equal(exponent, fastref._exponent(v, np.zeros(v.shape, dtype=np.int8)))


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16, FLOAT32, FLOAT64], ids=str)
def test_x87_rounding_helpers(kernels, fmt):
    if not fastref.X87_LAYOUT:
        pytest.skip("long doubles are not x87 extended values here")
    v = edge_values(fmt, np.dtype(np.longdouble))
    rounded, midpoint, exponent = kernels.round_x87(fastref._words(v), fmt.precision, fmt.emin, fmt.emax)
    with np.errstate(invalid="ignore"):
        assert identical(rounded, fmt.round(v).astype(np.float64))
    assert np.array_equal(midpoint, fmt.is_midpoint(v))
    assert np.array_equal(exponent, fastref._exponent(v, np.zeros(v.shape, dtype=np.int8)))


# -- the shortcuts the fast path takes are sound here ---------------------------------------------------


@pytest.mark.parametrize("w", [np.dtype(np.float64), np.dtype(np.longdouble)], ids=str)
def test_exp_is_zero_past_the_cut(w):
    """``exp(-a)`` is not evaluated for ``a > EXP_CUT[W]``: it is 0 there (checked from 0.9 times the cut)."""
    cut = fastref.EXP_CUT[w]
    if w == np.float64 or fastref.X87_LAYOUT:
        assert math.isfinite(cut)  # the shortcut is on where W is an IEEE double or an x87 extended
    if not math.isfinite(cut):
        pytest.skip("no exp cut for this long double")
    rng = np.random.default_rng(7)
    a = np.concatenate(
        [
            np.linspace(0.9 * cut, 1.1 * cut, 5001),
            0.9 * cut * np.exp(rng.uniform(0, 700, 5000)),
            [np.finfo(np.float64).max],
        ]
    ).astype(w)
    with np.errstate(under="ignore"):
        assert (np.exp(-a) == 0).all()


def test_every_compiled_function_has_a_name_of_its_own(kernels):
    """numba names compiled code after the function's qualified name and a counter of the compiling
    process; the cached entry points carry their callees' code. Two loops of one name (made by one
    factory, ``factory.<locals>.loop``) cached by different processes could then meet in one
    process under one symbol, and one quantity's sweep would run another's loop (it happened: the
    second derivative's float16 sweep counted 7,710 premature zeros instead of 1,069)."""
    import numba.core.registry

    compiled = [v for v in vars(kernels).values() if isinstance(v, numba.core.registry.CPUDispatcher)]
    names = [f.py_func.__qualname__ for f in compiled]
    assert len(compiled) > 20
    assert not [n for n in names if "<locals>" in n]
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
