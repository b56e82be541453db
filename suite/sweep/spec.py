"""What one sweep measures, and how its inputs are cut into shards."""

from __future__ import annotations

import math
from dataclasses import dataclass

from suite.files import exact_float
from suite.implementations.base import inputs_per_call
from suite.numerics.formats import Format, format_named
from suite.numerics.params import Quantity


@dataclass(frozen=True)
class SweepSpec:
    """What one sweep measures: every input of ``fmt`` through one implementation's kernel path, for
    one quantity and parameters; or, for float64 with ``per_binade`` > 0 (a dense sweep), that many
    inputs in each of its binades (:func:`suite.inputs.sets.dense_binade`)."""

    fmt: Format
    target: str = "torch.nn.functional:softplus"
    device: str = "cpu"
    path: str = "simd"
    quantity: Quantity = Quantity.FORWARD
    beta: float = 1.0
    threshold: float = 20.0
    compare_paths: bool = True  # also run the implementation's other kernel path on every input
    per_binade: int = 0  # 0: every input; float64: inputs drawn in each binade (dense sweep)
    budgets: str | None = None  # the budget file the sweep is judged against (None: the packaged one)

    def __post_init__(self) -> None:
        if not isinstance(self.fmt, Format) or not isinstance(self.quantity, Quantity):
            raise TypeError("SweepSpec takes a Format and a Quantity (names are converted at the edges)")
        problem = dense_problem(self.fmt, self.per_binade) if self.per_binade else None
        if problem:
            raise ValueError(f"{self.per_binade} inputs per binade of {self.fmt.name}: {problem}")

    @property
    def units(self) -> int:
        """What shards cut: bit patterns, or a dense sweep's binades of both signs (in value order)."""
        return 2 * self.fmt.binades if self.per_binade else self.fmt.count

    def shard_range(self, k: int, n: int) -> tuple[int, int]:
        """Units ``[start, stop)`` of shard ``k`` of ``n`` (:func:`shard_range`)."""
        return _cut(self.units, k, n)

    def shard_inputs(self, k: int, n: int) -> int:
        """How many inputs shard ``k`` of ``n`` measures."""
        start, stop = self.shard_range(k, n)
        return (stop - start) * (self.per_binade or 1)

    @property
    def key(self) -> str:
        target = self.target.replace(":", ".")
        key = (
            f"{target}-{self.device}-{self.fmt.name}-{self.path}-{self.quantity.value}"
            f"-b{self.beta:g}-t{self.threshold:g}"
        )
        key = key + f"-dense{self.per_binade}" if self.per_binade else key
        return key if self.compare_paths else key + "-one-path"

    def record(self) -> dict:
        """The spec as shard and sweep files record it (names for the format and the quantity)."""
        return {
            "dtype": self.fmt.name,
            "target": self.target,
            "device": self.device,
            "path": self.path,
            "quantity": self.quantity.value,
            "beta": self.beta,
            # +inf (a function without a threshold) as JSON has no number for it
            "threshold": self.threshold if math.isfinite(self.threshold) else exact_float(self.threshold),
            "compare_paths": self.compare_paths,
            **({"per_binade": self.per_binade} if self.per_binade else {}),
            **({"budgets": self.budgets} if self.budgets else {}),
        }

    @classmethod
    def from_record(cls, record: dict) -> SweepSpec:
        """The inverse of :meth:`record`; ValueError or KeyError for a record that is not one."""
        fields = dict(record)
        fmt, quantity = format_named(fields.pop("dtype")), Quantity.named(fields.pop("quantity"))
        fields.pop("family", None)  # a sweep report says who evaluated it; the spec does not need it
        if isinstance(fields.get("threshold"), dict):
            fields["threshold"] = float(fields["threshold"]["repr"])
        return cls(fmt, quantity=quantity, **fields)

    def other_path(self, paths: tuple[str, ...]) -> str | None:
        """Of an implementation's kernel ``paths`` on this device, the one whose outputs are
        compared with this one's (None: none, or ``compare_paths`` is off)."""
        if not (self.compare_paths and len(paths) == 2 and self.path in paths):
            return None
        return paths[1 - paths.index(self.path)]


FEW_PER_CALL_LIMIT = 1 << 26
"""The most inputs a sweep sends through a kernel path that its implementation evaluates a few
inputs per call (torch's second derivative on the scalar path: about 0.12 ms of one core a group of
at most 31 inputs, so 2^26 inputs take at least 4 minutes; every float32 input, hours)."""


def few_per_call_problem(spec: SweepSpec, implementation) -> str | None:
    """Why ``spec`` cannot be swept in reasonable time (None: it can): a path it runs, its own or
    the one compared with it, goes a few inputs per call, and the sweep has more than
    :data:`FEW_PER_CALL_LIMIT` inputs (a float64 sample, some millions, is below it)."""
    if spec.fmt.width > 32 and not spec.per_binade:
        return None
    inputs = spec.shard_inputs(0, 1)
    if inputs <= FEW_PER_CALL_LIMIT:
        return None
    paths = implementation.paths(spec.device)
    for path in filter(None, (spec.path, spec.other_path(paths))):
        per_call = inputs_per_call(implementation, spec.fmt, spec.quantity, path)
        if per_call is not None:
            leave_out = "--one-path" if path != spec.path else "another --path"
            return (
                f"the {path} path is evaluated {per_call} inputs per call for this quantity: {inputs:,} "
                f"{spec.fmt.name} inputs are {-(-inputs // per_call):,} calls, more than a sweep takes "
                f"({FEW_PER_CALL_LIMIT:,} inputs); leave the path out ({leave_out}) or sweep fewer inputs "
                "(float16, bfloat16, float64)"
            )
    return None


def dense_problem(fmt: Format, per_binade: int) -> str | None:
    """Why a dense sweep of ``per_binade`` inputs per binade of ``fmt`` cannot be (None: it can)."""
    if fmt.name != "float64":
        return f"a dense sweep is for float64 ({fmt.name} is swept whole)"
    if per_binade < 2 or per_binade % 2:
        return "give an even number >= 2 of inputs per binade (each drawn input and its neighbour)"
    return None


def shard_size(fmt: Format, k: int, n: int) -> int:
    """How many patterns shard ``k`` of ``n`` holds (:func:`shard_range`)."""
    start, stop = shard_range(fmt, k, n)
    return stop - start


def shard_range(fmt: Format, k: int, n: int) -> tuple[int, int]:
    """Patterns ``[start, stop)`` of shard ``k`` of ``n`` (0-based), contiguous and covering all."""
    return _cut(fmt.count, k, n)


def _cut(count: int, k: int, n: int) -> tuple[int, int]:
    if not (n >= 1 and 0 <= k < n):
        raise ValueError(f"shard {k}/{n}: need 0 <= K < N (shards are numbered from 0)")
    return count * k // n, count * (k + 1) // n
