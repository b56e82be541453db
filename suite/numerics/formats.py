"""Binary floating-point formats: one table, and everything else derived from it.

A format F is described by its precision ``p`` (significand bits, hidden bit included),
its minimum normal exponent ``emin`` and maximum exponent ``emax``. Its finite values are
``m * 2**q`` with integer ``|m| < 2**p`` and ``q >= emin - p + 1``.

Every value of float16, bfloat16 and float32 is exactly a float64, so arrays of values are
carried as float64 (or as ``np.longdouble`` when a wider working type is needed); the bit
patterns are carried as unsigned integers of the format's width. bfloat16 has no NumPy
dtype: its bits are the upper half of a float32's.

Conventions (docs/numerics.md, "ULPs, correct rounding, and special values"):

* ``ulp_F(v) = 2**(max(e, emin) - p + 1)`` with ``e = floor(log2|v|)`` of the *exact* ``v``;
  ``ulp_F(0)`` is the smallest subnormal.
* Bit distance is the sign-magnitude ordinal distance of numpy's ``nulp_diff``: adjacent
  floats are 1 apart, ``+0`` and ``-0`` are both ordinal 0 (their sign is judged separately).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class FloatClass(enum.IntEnum):
    """IEEE 754 class of a value; the integer codes are stable (they appear in reports)."""

    NAN = 0
    NEG_INF = 1
    NEG_NORMAL = 2
    NEG_SUBNORMAL = 3
    NEG_ZERO = 4
    POS_ZERO = 5
    POS_SUBNORMAL = 6
    POS_NORMAL = 7
    POS_INF = 8


@dataclass(frozen=True)
class Format:
    """One binary interchange format.

    Attributes:
        name: the torch dtype name (``float16``, ``bfloat16``, ``float32``, ``float64``).
        precision: significand bits ``p``, hidden bit included.
        emin: exponent of the smallest normal value, ``2**emin``.
        emax: exponent of the largest binade; the largest finite value is
            ``(2 - 2**(1-p)) * 2**emax``.
        width: storage bits.
        numpy_name: the NumPy dtype holding its values natively, or ``None`` (bfloat16).
    """

    name: str
    precision: int
    emin: int
    emax: int
    width: int
    numpy_name: str | None

    # -- derived scalars -------------------------------------------------------------
    @property
    def exponent_bits(self) -> int:
        return self.width - self.precision

    @property
    def binades(self) -> int:
        """Binades of each sign: biased exponents 0 (the subnormals, with zero) to the largest finite."""
        return (1 << self.exponent_bits) - 1

    @property
    def uint_dtype(self) -> np.dtype:
        return np.dtype(f"uint{self.width}")

    @property
    def sign_mask(self) -> int:
        return 1 << (self.width - 1)

    @property
    def magnitude_mask(self) -> int:
        return self.sign_mask - 1

    @property
    def inf_bits(self) -> int:
        return ((1 << self.exponent_bits) - 1) << (self.precision - 1)

    @property
    def quiet_nan_bits(self) -> int:
        return self.inf_bits | (1 << (self.precision - 2))

    @property
    def min_quantum_exponent(self) -> int:
        """Exponent of the smallest subnormal, ``emin - p + 1``."""
        return self.emin - self.precision + 1

    @property
    def max_finite(self) -> float:
        return (2.0 - 2.0 ** (1 - self.precision)) * 2.0**self.emax

    @property
    def min_normal(self) -> float:
        return 2.0**self.emin

    @property
    def min_subnormal(self) -> float:
        return 2.0**self.min_quantum_exponent

    @property
    def count(self) -> int:
        """Number of bit patterns, ``2**width``."""
        return 1 << self.width

    def __str__(self) -> str:
        return self.name

    # -- bits <-> values ---------------------------------------------------------------
    def decode(self, bits: np.ndarray) -> np.ndarray:
        """Exact float64 values of bit patterns (float64 holds every value of every format)."""
        bits = np.asarray(bits, dtype=self.uint_dtype)
        with np.errstate(invalid="ignore"):  # signalling NaN patterns widen to quiet NaNs
            if self.name == "bfloat16":
                return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32).astype(np.float64)
            return bits.view(np.dtype(self.numpy_name)).astype(np.float64)

    def encode(self, values: np.ndarray, check: bool = True) -> np.ndarray:
        """Bit patterns of values that are exactly representable in this format.

        Raises ValueError when a value is not representable (use :meth:`round` first);
        ``check=False`` trusts the caller instead (values taken from the format's own
        tensors). NaNs encode as the canonical quiet NaN.
        """
        given = np.asarray(values)
        values = given.astype(np.float64)
        if check:
            rounded = self.round(given if given.dtype == np.longdouble else values)
            bad = ~((rounded == given) | np.isnan(values))
            # -0.0 == 0.0 is fine: round() keeps the sign of zero.
            if bad.any():
                first = values[bad][0]
                raise ValueError(f"{first!r} is not exactly representable in {self.name}; round it first")
        if self.name == "bfloat16":
            as32 = np.atleast_1d(values.astype(np.float32)).view(np.uint32)
            bits = (as32 >> np.uint32(16)).astype(np.uint16)
        else:
            bits = np.atleast_1d(values.astype(np.dtype(self.numpy_name))).view(self.uint_dtype).copy()
        bits[np.atleast_1d(np.isnan(values))] = self.quiet_nan_bits
        return bits.reshape(values.shape)

    def round(self, values: np.ndarray) -> np.ndarray:
        """Round to nearest, ties to even, into this format, in one step.

        ``values`` is a float64 or ``np.longdouble`` array holding exact numbers; the result
        has the same dtype and holds the correctly rounded values (exactly, since the working
        type is wider). Subnormals, overflow to ``±inf``, signed zeros, infinities and NaN
        are handled. This is a single rounding: the quantum ``2**(max(e, emin) - p + 1)`` is
        chosen from the exponent ``e`` of the value itself, then the scaled value is rounded
        by ``rint`` (ties to even) and scaled back, both scalings being exact.
        """
        values = np.asarray(values)
        if values.dtype not in (np.float64, np.longdouble):
            values = values.astype(np.float64)
        if self.name == "float32" and values.dtype == np.float64:
            # IEEE 754 conversion from binary64 to binary32 is this same single rounding (nearest
            # even, subnormals, overflow to inf), done by the hardware; tests compare the two
            with np.errstate(over="ignore"):
                return values.astype(np.float32).astype(np.float64)
        return self._round_by_scaling(values)

    def _round_by_scaling(self, values: np.ndarray) -> np.ndarray:
        """:meth:`round` for any format and working type (float64 or long double)."""
        with np.errstate(invalid="ignore", over="ignore"):
            q = self.quantum_exponent(values)
            scaled = np.ldexp(values, -q)
            rounded = np.ldexp(np.rint(scaled), q)
            overflow = np.abs(rounded) > self.max_finite
            rounded = np.where(overflow, np.copysign(np.inf, values), rounded)
        return rounded.astype(values.dtype, copy=False)

    def quantum_exponent(self, values: np.ndarray) -> np.ndarray:
        """``max(floor(log2|v|), emin) - p + 1`` for each value (``emin - p + 1`` for 0, inf, NaN)."""
        values = np.asarray(values)
        with np.errstate(invalid="ignore"):
            _, exponent = np.frexp(values)
        exponent = np.where(np.isfinite(values) & (values != 0), exponent.astype(np.int64) - 1, self.emin)
        return np.maximum(exponent, self.emin) - self.precision + 1

    def binade_of(self, values: np.ndarray) -> np.ndarray:
        """``floor(log2|v|)`` of each finite value, ``emin - 1`` for the subnormals and ``emin - 2``
        for the zeros (both signs alike; so sorting the keys sorts by magnitude); ``emax + 1`` for
        infinities and NaN."""
        values = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(values)
        with np.errstate(invalid="ignore"):
            binade = np.frexp(np.where(finite, np.abs(values), 0.0))[1].astype(np.int64) - 1  # exact
        binade = np.where(values == 0, self.emin - 2, np.where(binade < self.emin, self.emin - 1, binade))
        return np.where(finite, binade, self.emax + 1)

    def is_midpoint(self, values: np.ndarray) -> np.ndarray:
        """True where a (finite) value lies exactly halfway between two neighbours of this format."""
        values = np.asarray(values)
        with np.errstate(invalid="ignore"):
            scaled = np.ldexp(values, -self.quantum_exponent(values))
            # fmod is exact; s - floor(s) is not for s just above -1/2 (s + 1 rounds to 1/2)
            return np.isfinite(values) & (np.abs(np.fmod(scaled, 1)) == 0.5)

    # -- classification and neighbours --------------------------------------------------
    def classify(self, bits: np.ndarray) -> np.ndarray:
        """:class:`FloatClass` codes (int8) of bit patterns."""
        bits = np.asarray(bits, dtype=self.uint_dtype)
        width = self.uint_dtype.type
        sign = (bits & width(self.sign_mask)) != 0
        mag = bits & width(self.magnitude_mask)
        inf = width(self.inf_bits)
        min_normal = width(1 << (self.precision - 1))
        out = np.empty(bits.shape, dtype=np.int8)
        out[...] = np.where(sign, FloatClass.NEG_NORMAL, FloatClass.POS_NORMAL)
        out[mag < min_normal] = np.where(sign, FloatClass.NEG_SUBNORMAL, FloatClass.POS_SUBNORMAL)[mag < min_normal]
        out[mag == 0] = np.where(sign, FloatClass.NEG_ZERO, FloatClass.POS_ZERO)[mag == 0]
        out[mag == inf] = np.where(sign, FloatClass.NEG_INF, FloatClass.POS_INF)[mag == inf]
        out[mag > inf] = FloatClass.NAN
        return out

    def ordinal(self, bits: np.ndarray) -> np.ndarray:
        """Sign-magnitude ordinal (int64): adjacent finite values differ by 1, ``±0 -> 0``."""
        bits = np.asarray(bits, dtype=self.uint_dtype)
        mag = (bits & self.uint_dtype.type(self.magnitude_mask)).astype(np.int64)
        negative = (bits & self.uint_dtype.type(self.sign_mask)) != 0
        return np.where(negative, -mag, mag)

    def from_ordinal(self, ordinals: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`ordinal` (ordinal 0 maps to ``+0``)."""
        ordinals = np.asarray(ordinals, dtype=np.int64)
        mag = np.abs(ordinals).astype(self.uint_dtype)
        sign = np.where(ordinals < 0, self.sign_mask, 0).astype(self.uint_dtype)
        return mag | sign

    def ordinal_ranges(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The bit patterns of the ordinals ``[lo, hi]`` (:meth:`ordinal`, both included) as
        half-open pattern ranges ``[start, stop)``: the non-negative ordinals' patterns, then the
        negative ones' (the sign bit set, magnitudes ascending); ordinal 0 is both zeros."""
        ranges = []
        if hi >= 0:
            ranges.append((max(lo, 0), hi + 1))
        if lo <= 0:
            ranges.append((self.sign_mask + max(-hi, 0), self.sign_mask - lo + 1))
        return ranges

    def bit_distance(self, a_bits: np.ndarray, b_bits: np.ndarray) -> np.ndarray:
        """Number of representable steps between two patterns (uint64, numpy ``nulp_diff`` style).

        ``+0`` and ``-0`` are 0 apart; the sign of zero is judged by the caller. Meaningless for
        NaN (the caller classifies NaN separately).
        """
        a_bits = np.asarray(a_bits, dtype=self.uint_dtype)
        b_bits = np.asarray(b_bits, dtype=self.uint_dtype)
        mask = self.uint_dtype.type(self.magnitude_mask)
        sign = self.uint_dtype.type(self.sign_mask)
        ma = (a_bits & mask).astype(np.uint64)
        mb = (b_bits & mask).astype(np.uint64)
        same_sign = ((a_bits & sign) == (b_bits & sign)) | (ma == 0) | (mb == 0)
        # uint64 never overflows here: each magnitude is < 2**63.
        return np.where(same_sign, np.maximum(ma, mb) - np.minimum(ma, mb), ma + mb)

    def next_up(self, bits: np.ndarray) -> np.ndarray:
        """The next pattern towards +inf (``-0 -> +min subnormal``, ``+inf`` and NaN unchanged)."""
        ords = self.ordinal(bits)
        cls = self.classify(bits)
        out = self.from_ordinal(ords + 1)
        keep = (cls == FloatClass.NAN) | (cls == FloatClass.POS_INF)
        return np.where(keep, np.asarray(bits, dtype=self.uint_dtype), out).astype(self.uint_dtype)

    def next_down(self, bits: np.ndarray) -> np.ndarray:
        """The next pattern towards -inf (``+0 -> -min subnormal``, ``-inf`` and NaN unchanged)."""
        ords = self.ordinal(bits)
        cls = self.classify(bits)
        out = self.from_ordinal(ords - 1)
        # ordinal(-min_subnormal) is -1, so ordinal -1 from +0 decodes to -min_subnormal: right.
        keep = (cls == FloatClass.NAN) | (cls == FloatClass.NEG_INF)
        return np.where(keep, np.asarray(bits, dtype=self.uint_dtype), out).astype(self.uint_dtype)

    def bit_range(self, start: int, stop: int) -> np.ndarray:
        """Bit patterns ``start <= b < stop`` (for chunked enumeration of all inputs)."""
        if not 0 <= start <= stop <= self.count:
            raise ValueError(f"bit range [{start}, {stop}) outside [0, {self.count}) of {self.name}")
        # counted in the format's own width (not uint64, then narrowed): 40 times faster for 2^26 float32 patterns
        out = np.arange(stop - start, dtype=self.uint_dtype)
        if len(out):  # (start may be 2**width itself where the range is empty)
            out += start
        return out

    def all_bits(self) -> np.ndarray:
        """Every bit pattern of a 16-bit format (refuses wider ones: enumerate in chunks)."""
        if self.width > 16:
            raise ValueError(f"{self.name} has {self.count} patterns; enumerate it with bit_range() in chunks")
        return self.bit_range(0, self.count)

    def hex(self, bits: int) -> str:
        """Bits as a fixed-width hex literal, e.g. ``0x3c00``."""
        return f"0x{int(bits):0{self.width // 4}x}"

    def hex_of(self, value: float) -> str:
        """The bits of a value of this format as a fixed-width hex literal (NaN: the canonical quiet NaN)."""
        return self.hex(self.encode(np.float64(value)))

    def torch_dtype(self):  # -> torch.dtype; torch imported lazily so that the reference needs none
        import torch

        return getattr(torch, self.name)


FLOAT16 = Format("float16", precision=11, emin=-14, emax=15, width=16, numpy_name="float16")
BFLOAT16 = Format("bfloat16", precision=8, emin=-126, emax=127, width=16, numpy_name=None)
FLOAT32 = Format("float32", precision=24, emin=-126, emax=127, width=32, numpy_name="float32")
FLOAT64 = Format("float64", precision=53, emin=-1022, emax=1023, width=64, numpy_name="float64")

FORMATS: dict[str, Format] = {f.name: f for f in (FLOAT16, BFLOAT16, FLOAT32, FLOAT64)}

# Half types are computed in float32 by the kernels ("opmath"); float32 and float64 in themselves.
OPMATH: dict[str, Format] = {"float16": FLOAT32, "bfloat16": FLOAT32, "float32": FLOAT32, "float64": FLOAT64}


def format_named(name: str) -> Format:
    """The format called ``name`` (``torch.float32``, ``float32`` and ``fp32``-less spellings).

    Raises ValueError naming the accepted names.
    """
    key = str(name).removeprefix("torch.").lower()
    aliases = {"half": "float16", "float": "float32", "double": "float64", "bf16": "bfloat16"}
    key = aliases.get(key, key)
    if key not in FORMATS:
        raise ValueError(f"unknown dtype {name!r}; accepted: {', '.join(FORMATS)}")
    return FORMATS[key]


def opmath_format(fmt: Format) -> Format:
    """The format the torch kernels compute ``fmt`` tensors in (float32 for half types)."""
    return OPMATH[fmt.name]
