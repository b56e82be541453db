"""Deterministic input sets: every pattern of a 16-bit format, a stratified sample of the wider ones.

The sample for float32 and float64 covers every binade of both signs (``per_binade`` inputs
each, spread over the binade's bit patterns), the subnormals, the special values, and the
regions where softplus implementations go wrong, scaled by ``b`` and ``t``:

* the curved part ``|b·x| < 40``;
* the threshold band: the floats within 64 steps of ``t/b``;
* exp's overflow and underflow edges in the compute format (``b·x`` near ``log(max)``,
  ``log(min normal)`` and ``log(min subnormal)``), where results turn subnormal and flush;
* where ``b`` is not a power of two, the inputs whose product ``b·x`` the kernel rounds by
  nearly half an ULP, with results at the top of a binade (:func:`product_rounding`);
* every sample point's upper neighbour, so monotonicity is checked on adjacent floats.

The sample is a pure function of the format, ``b``, ``t`` and the size: the same run audits
the same inputs.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from suite.numerics.formats import Format, opmath_format


def _seed(fmt: Format, beta: float, threshold: float) -> int:
    return zlib.crc32(f"{fmt.name}|{beta!r}|{threshold!r}".encode())


def special_values() -> np.ndarray:
    return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])


def region_edges(fmt: Format, beta: float, threshold: float) -> dict[str, float]:
    """Input values ``x`` at which the compute format's exp overflows/underflows, and ``t/b``."""
    op = opmath_format(fmt)
    ln2 = math.log(2)
    return {
        "threshold": threshold / beta,
        "exp_overflow": (op.emax + 1) * ln2 / beta,
        "exp_underflow_normal": op.emin * ln2 / beta,
        "exp_underflow_subnormal": (op.min_quantum_exponent - 1) * ln2 / beta,
        "result_subnormal": (fmt.emin * ln2 + math.log(beta)) / beta,
        "result_zero": ((fmt.min_quantum_exponent - 1) * ln2 + math.log(beta)) / beta,
    }


def exhaustive(fmt: Format) -> np.ndarray:
    """Every bit pattern's value (NaN payloads included, as NaN)."""
    return fmt.decode(fmt.all_bits())


def stratified(fmt: Format, beta: float, threshold: float, per_binade: int = 16, focused: int = 4096) -> np.ndarray:
    """A deterministic sample of ``fmt`` inputs (see the module doc), sorted, with neighbours."""
    rng = np.random.default_rng(_seed(fmt, beta, threshold))
    mantissa_bits = fmt.precision - 1
    # every binade (biased exponent 0 is the subnormal range), both signs
    exponents = np.arange(0, fmt.binades, dtype=np.uint64)
    fractions = rng.integers(0, 1 << mantissa_bits, (len(exponents), per_binade), dtype=np.uint64)
    fractions[:, 0] = 0  # the binade's first value
    fractions[:, 1] = (1 << mantissa_bits) - 1  # and its last
    patterns = (exponents[:, None] << np.uint64(mantissa_bits)) | fractions
    patterns = patterns.ravel()
    sign = np.uint64(fmt.sign_mask)
    parts = [fmt.decode(patterns.astype(fmt.uint_dtype)), fmt.decode((patterns | sign).astype(fmt.uint_dtype))]
    parts.append(special_values())
    parts.append(rng.uniform(-40.0, 40.0, focused) / beta)  # the curved part
    edges = region_edges(fmt, beta, threshold)
    for name, centre in edges.items():
        if not math.isfinite(centre):
            continue
        c = float(fmt.round(np.float64(centre)))
        if not math.isfinite(c):
            continue
        steps = np.arange(-64, 65)
        spacing = math.ldexp(1.0, int(fmt.quantum_exponent(np.float64(c if c else fmt.min_subnormal))))
        parts.append(c + steps * spacing)
        width = abs(c) * 0.05 if name != "threshold" else abs(c) * 0.001
        parts.append(c + rng.uniform(-width, width, focused // 8))
    parts.append(product_rounding(fmt, beta))
    values = fmt.round(np.concatenate(parts))
    finite = values[np.isfinite(values)]
    neighbours = fmt.decode(fmt.next_up(fmt.encode(finite)))
    values = np.concatenate([values, neighbours, special_values()])
    return _unique_sorted(values)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Veltkamp's split of float64 values: ``a = high + low``, each with at most 26 significant bits."""
    c = a * 134217729.0  # 2**27 + 1
    high = c - (c - a)
    return high, a - high


def _product_error(b: float, x: np.ndarray, op: Format) -> np.ndarray:
    """``b·x − round(b·x)`` in ULPs of the rounded product, exactly (rounded in ``op``): the
    product of two float32 values is exact in float64; of two float64, Dekker's two-product."""
    if op.width == 32:
        exact = np.float64(b) * x
        rounded = exact.astype(np.float32).astype(np.float64)
        error = exact - rounded
    else:
        rounded = b * x
        bh, bl = _split(np.float64(b))
        xh, xl = _split(x)
        error = ((bh * xh - rounded) + bh * xl + bl * xh) + bl * xl
    spacing = np.ldexp(1.0, op.quantum_exponent(rounded).astype(np.int64))
    return error / spacing


def product_rounding(fmt: Format, beta: float, per_window: int = 2) -> np.ndarray:
    """Inputs where rounding ``b·x`` costs the most (none where ``b`` is a power of two: then the
    product is exact).

    The kernel rounds ``b·x`` in its compute format before ``exp``; an error of half an ULP there
    is an absolute error of ``ulp(b·x)/2`` in the exponent, so a relative error of up to
    ``|b·x|·2^-p`` in ``e^(b·x)``, passed on to the value and both derivatives (each about
    ``e^(b·x)`` times a constant far left), largest in ULPs where the result's significand is
    just below 2. For each result binade ``2^k`` (normal results, ``b·x`` from about
    ``log(min normal)`` to −1) and each quantity's constant (``1/b``, 1, ``b``): the input ``x₀``
    where the result is just below ``2^(k+1)``, its nearest floats (a window), and of those the
    ``per_window`` whose product the kernel rounds closest to half an ULP (computed exactly)."""
    op = opmath_format(fmt)
    kernel_beta = float(op.round(np.float64(beta)))
    if not (math.isfinite(kernel_beta) and kernel_beta > 0) or math.frexp(kernel_beta)[0] == 0.5:
        return np.empty(0)
    window = 4096 if fmt.precision > 24 else 256
    lowest = op.emin * math.log(2)  # log(min normal) of the compute format
    found = []
    for shift in (math.log(kernel_beta), 0.0, -math.log(kernel_beta)):  # value, gradient, second derivative
        top = math.floor((-1.0 - shift) / math.log(2))
        bottom = math.ceil((lowest - shift) / math.log(2))
        for k in range(bottom, top):
            bx = shift + (k + 1) * math.log(2)  # the result is 2^(k+1) there: step below, by the window's width
            bx -= 2 * window * abs(bx) * 2.0 ** (1 - fmt.precision)
            centre = fmt.encode(fmt.round(np.float64(bx / kernel_beta)))
            ordinals = fmt.ordinal(centre) + np.arange(-window, window + 1)
            x = fmt.decode(fmt.from_ordinal(ordinals))
            x = x[np.isfinite(x)]
            worst = np.argsort(-np.abs(_product_error(kernel_beta, x, op)), kind="stable")[:per_window]
            found.append(x[worst])
    return np.concatenate(found) if found else np.empty(0)


def dense_binade(fmt: Format, beta: float, threshold: float, binade: int, per_binade: int) -> np.ndarray:
    """A dense sweep's inputs in one binade of ``fmt``, sorted by value.

    Binades are numbered in value order over both signs: ``0`` is the negative binade of largest
    magnitude, then down to the negative subnormals (with -0), then the positive subnormals (with
    +0) up to the largest positive binade. The binade's ``2**(p-1)`` significands are cut into
    ``per_binade / 2`` equal strata; one significand ``f`` is drawn uniformly in each (the first
    stratum's is the binade's first value, the last's is one below its last), and each comes with
    the next bit pattern ``f + 1``, its neighbour, in the same stratum: ``per_binade`` distinct inputs,
    half of them in adjacent pairs (for the monotonicity check). The generator is seeded by the
    format, the parameters, ``per_binade`` and the binade, so any process draws any binade alone,
    always the same."""
    fraction_bits, binades = fmt.precision - 1, fmt.binades
    half, size = per_binade // 2, 1 << fraction_bits
    if not (0 <= binade < 2 * binades and per_binade >= 2 and size // half >= 2):
        raise ValueError(f"binade {binade}, {per_binade} per binade: outside {fmt.name}'s {2 * binades} binades")
    negative = binade < binades
    exponent = binades - 1 - binade if negative else binade - binades
    rng = np.random.default_rng([_seed(fmt, beta, threshold), per_binade, binade])
    width = size // half
    low = np.arange(half, dtype=np.uint64) * np.uint64(width)
    high = np.append(low[1:], np.uint64(size))
    drawn = low + rng.integers(0, high - low - np.uint64(1), dtype=np.uint64)  # f + 1 < high: same stratum
    drawn[0], drawn[-1] = 0, size - 2
    patterns = (np.uint64(exponent) << np.uint64(fraction_bits)) | np.concatenate([drawn, drawn + np.uint64(1)])
    if negative:
        patterns |= np.uint64(fmt.sign_mask)
    return np.sort(fmt.decode(patterns.astype(fmt.uint_dtype)))


def _unique_sorted(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values; -0 and +0 both kept; one NaN at the end."""
    nan = np.isnan(values)
    finite = values[~nan]
    zeros = finite == 0
    rest = np.unique(finite[~zeros])
    out = [rest[rest < 0]]
    if zeros.any():
        signs = np.signbit(finite[zeros])
        if signs.any():
            out.append(np.array([-0.0]))
        if (~signs).any():
            out.append(np.array([0.0]))
    out.append(rest[rest > 0])
    if nan.any():
        out.append(np.array([np.nan]))
    return np.concatenate(out)


def inputs_for(fmt: Format, beta: float, threshold: float, per_binade: int = 16) -> tuple[np.ndarray, bool]:
    """The audit's inputs for one format and parameter pair, and whether they are every input."""
    if fmt.width <= 16:
        return exhaustive(fmt), True
    return stratified(fmt, beta, threshold, per_binade=per_binade), False
