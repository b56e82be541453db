"""Accuracy budgets and known deviations: reviewable data, and the check that applies them.

Both live in one TOML file (default: ``suite/data/budgets.toml``):

* ``[[budget]]`` entries give the largest ULP error allowed for a ``dtype``, ``quantity``
  and ``oracle`` (optionally narrowed to a ``path``) on a kind of ``device`` (default ``cpu``),
  with the value measured when it was set. A *rule* (no ``beta``, no ``threshold``) whose error
  is known to grow with beta names how far it reaches (``beta_max``, with ``beta_max_reason``):
  above it no budget applies, and the error is reported, not judged.
* ``[[deviation]]`` entries name a region of inputs where an implementation is known to
  exceed its budget, with the reason, and the bound measured there (``max_ulp``). Inputs in
  the region are judged against that bound instead of the budget. An entry that no longer
  matches what is measured fails the run: *grown* (the region's error exceeds ``max_ulp``)
  or *fixed* (it is back within the budget, so the entry should go).

Regions: ``above_threshold`` (``fl(b·x) > t``), ``at_threshold`` (``fl(b·x) == t``),
``all``; each optionally narrowed by ``bx_min``/``bx_max`` (on ``b·x``). A deviation may also
be narrowed by ``beta``, ``threshold``, ``path`` and ``target`` (a glob, default ``*``). A deviation
describes one family's kernels (``family``, default ``torch``: every implementation evaluated by
torch): it never excuses another framework's errors, which are its own findings.

Both are keyed by the kind of device (``device``, default ``cpu``; ``cuda:1`` is ``cuda``): a
GPU's ``exp``/``log1p`` are not the CPU's vectorized ones, so a device's budgets and deviation
bounds are measured on that device (``softplus-audit budgets --device cuda``), never borrowed
from another. A device the file records nothing for is reported as such ("no budget recorded for
cuda"), configuration by configuration.

Every key of every entry is checked as the file is read (:data:`ENTRY_KEYS`): a key the file format
does not have, or a value of the wrong kind, is one :class:`BudgetFileError` naming the file, the
entry, the key, what it holds and what is accepted (never an entry that silently matches nothing).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from suite.audit.properties import (
    ORACLE_ORDER,
    RESULT_NAMES,
    Observations,
    PropertyResult,
    accuracy_name,
    property_result,
    recorded_violations,
)
from suite.implementations.base import DEVICE_KINDS, device_kind
from suite.numerics.formats import FORMATS, Format, format_named
from suite.numerics.params import Oracle, Params, Quantity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "budgets.toml"
PACKAGED_NAME = "suite/data/budgets.toml (packaged)"
REGIONS = ("all", "above_threshold", "at_threshold")
# the names a budget file may use: derived from the tables, never listed again
DTYPES = tuple(FORMATS)
QUANTITIES = tuple(q.value for q in Quantity)
ORACLES = tuple(o.value for o in Oracle)


class BudgetFileError(ValueError):
    """The budget file is missing, does not parse, or has an entry that makes no sense."""


@dataclass(frozen=True)
class Budget:
    """The largest ULP error allowed for a format, quantity and oracle: at one (beta, threshold), or,
    as a *rule* (no beta, no threshold), at any parameters, optionally only for betas that are
    powers of two (``beta_kind``): those make ``b·x`` exact, other betas add the error of its
    rounding, which grows with ``|b·x|``. A rule whose error grows with beta itself reaches only
    up to ``beta_max`` (the largest beta it was measured at), for the reason ``beta_max_reason``."""

    fmt: Format
    quantity: Quantity
    oracle: Oracle
    max_ulp: float
    path: str = "*"
    beta: float | None = None
    threshold: float | None = None
    measured: float | None = None
    beta_kind: str = "*"  # "*" (any beta) or "power_of_two"
    device: str = "cpu"  # the kind of device it was measured on (DEVICE_KINDS)
    swept: float | None = None  # the largest error outside the deviations a sweep found, where known
    swept_at: str | None = None  # its input's bits
    swept_inputs: int | None = None  # a float64 sweep's sample: how many inputs (None: every input of the format)
    swept_beta: float | None = None  # a rule's: the parameters the sweep measured at
    swept_threshold: float | None = None
    beta_max: float | None = None  # a rule's reach: the largest beta it holds at (None: any)
    beta_max_reason: str | None = None  # why it stops there

    @property
    def key(self) -> tuple:
        """What the budget file's entry is measured for, with names: (dtype, quantity, oracle, beta,
        threshold, beta_kind, device)."""
        return (
            self.fmt.name,
            self.quantity.value,
            self.oracle.value,
            self.beta,
            self.threshold,
            self.beta_kind,
            self.device,
        )

    def matches_beta(self, beta: float) -> bool:
        if self.beta is not None:
            return self.beta == beta
        return self.matches_kind(beta) and self.reaches(beta)

    def matches_kind(self, beta: float) -> bool:
        """Is ``beta`` of the kind the entry is for (``beta_kind``: any, or powers of two)?"""
        return self.beta_kind == "*" or is_power_of_two(beta)

    def reaches(self, beta: float) -> bool:
        """Does the entry hold at ``beta`` as far as its reach goes (``beta_max``)?"""
        return self.beta_max is None or beta <= self.beta_max


def is_power_of_two(value: float) -> bool:
    """Is ``value`` a (positive) power of two? Then ``b·x`` is exact for every finite ``x``."""
    mantissa, _ = math.frexp(value)
    return value > 0 and math.isfinite(value) and mantissa == 0.5


BETA_KINDS = ("*", "power_of_two")


@dataclass(frozen=True)
class Deviation:
    """A region where an implementation is known to break a budget or a property, and why."""

    id: str
    reason: str
    formats: tuple[Format, ...]
    quantities: tuple[Quantity, ...]
    properties: tuple[str, ...]  # "accuracy (math)", "accuracy (documented)", "monotonicity", ...
    region: str
    max_ulp: dict[Format, float] | None = None  # per format: the bound measured in the region (accuracy)
    measured: dict[Format, float] | None = None  # per format: the largest error measured there, unrounded
    bx_min: float = -math.inf
    bx_max: float = math.inf
    beta: float | None = None
    threshold: float | None = None
    threshold_min: float = -math.inf
    path: str = "*"
    target: str = "*"
    family: str = "torch"
    device: str = "cpu"  # the kind of device whose kernels it describes (DEVICE_KINDS)

    def applies(
        self,
        target: str,
        fmt: Format,
        quantity: Quantity,
        path: str,
        beta: float,
        threshold: float,
        family: str = "torch",
        device: str = "cpu",
    ) -> bool:
        return (
            family == self.family
            and device_kind(device) == self.device
            and fmt in self.formats
            and quantity in self.quantities
            and fnmatch.fnmatchcase(target, self.target)
            and fnmatch.fnmatchcase(path, self.path)
            and (self.beta is None or self.beta == beta)
            and (self.threshold is None or self.threshold == threshold)
            and threshold >= self.threshold_min
        )

    def bound(self, fmt: Format) -> float:
        """The accuracy bound in the region for ``fmt`` (missing: 0, so any error is *grown*)."""
        return (self.max_ulp or {}).get(fmt, 0.0)

    def region_mask(self, obs: Observations) -> np.ndarray:
        return self.contains(obs.x, obs.params)

    def conditions(self, params: Params) -> list[tuple[Callable[[np.ndarray], np.ndarray], bool]]:
        """The region as conditions on a finite ``x``, each monotone in ``x``: ``(holds, rising)``,
        where a rising condition, once true, stays true as ``x`` grows, and a falling one, once
        false, stays false. ``b·x`` rounded (in float64, or in the kernel's product format) is
        monotone in ``x`` for ``b > 0``, so each bound on it is such a condition, and their
        conjunction (:meth:`contains`) is an interval of ``x``."""

        def bx(x):
            return x * params.beta

        found = []
        if self.bx_min > -math.inf:
            found.append((lambda x: bx(x) >= self.bx_min, True))
        if self.bx_max < math.inf:
            found.append((lambda x: bx(x) <= self.bx_max, False))
        if self.region == "above_threshold":
            found.append((params.above_threshold, True))
        elif self.region == "at_threshold":
            found.append((lambda x: params.product(x) >= params.threshold, True))
            found.append((lambda x: params.product(x) <= params.threshold, False))
        return found

    def contains(self, x: np.ndarray, params: Params) -> np.ndarray:
        """Which of the inputs ``x`` lie in the region, for the parameters the kernel computes with."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            mask = np.isfinite(x)
            for holds, _ in self.conditions(params):
                mask &= holds(x)
        return mask

    def interval(self, fmt: Format, params: Params) -> tuple[int, int] | None:
        """The region's inputs of ``fmt`` as ordinals (:meth:`~suite.numerics.formats.Format.ordinal`)
        ``[lo, hi]``, both included (None: no input): each monotone condition (:meth:`conditions`)
        cut where it turns, by bisection over the finite values. The same inputs as :meth:`contains`."""
        top = int(fmt.ordinal(fmt.encode(np.array([fmt.max_finite])))[0])
        lo, hi = -top, top

        def holds_at(condition, ordinal: int) -> bool:
            x = fmt.decode(fmt.from_ordinal(np.array([ordinal])))
            with np.errstate(over="ignore", invalid="ignore"):
                return bool(condition(x)[0])

        for condition, rising in self.conditions(params):
            # the first ordinal where a rising condition holds; the last where a falling one does
            low, high = -top, top + 1  # invariant: the turn lies in [low, high]
            while low < high:
                middle = (low + high) // 2
                if holds_at(condition, middle) == rising:
                    high = middle
                else:
                    low = middle + 1
            if rising:
                lo = max(lo, low)
            else:
                hi = min(hi, low - 1)
        return (lo, hi) if lo <= hi else None


@dataclass(frozen=True)
class Budgets:
    source: str
    budgets: tuple[Budget, ...]
    deviations: tuple[Deviation, ...] = field(default_factory=tuple)
    measured_on: dict[str, str] = field(default_factory=dict)  # per kind of device: what measured it
    # per kind of device: the (beta, threshold) grid its rules were measured on (absent: not recorded)
    rules_grid: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)

    def budget_for(
        self,
        fmt: Format,
        quantity: Quantity,
        oracle: Oracle,
        path: str,
        beta: float,
        threshold: float,
        device: str = "cpu",
    ) -> Budget | None:
        matches = [b for b in self._entries_for(fmt, quantity, oracle, path, threshold, device) if b.matches_beta(beta)]
        # the most specific entry wins: one measured at these parameters, then a rule for powers of
        # two, then a rule for any beta (a named path beats a wildcard at each step)
        matches.sort(
            key=lambda b: (
                -(4 * (b.beta is not None) + 4 * (b.threshold is not None) + 2 * (b.beta_kind != "*") + (b.path != "*"))
            )
        )
        return matches[0] if matches else None

    def _entries_for(
        self, fmt: Format, quantity: Quantity, oracle: Oracle, path: str, threshold: float, device: str
    ) -> list[Budget]:
        """The entries for this format, quantity, oracle, path, threshold and kind of device, at
        any beta."""
        kind = device_kind(device)
        return [
            b
            for b in self.budgets
            if (b.fmt, b.quantity, b.oracle, b.device) == (fmt, quantity, oracle, kind)
            and fnmatch.fnmatchcase(path, b.path)
            and b.threshold in (None, threshold)
        ]

    def why_none(
        self,
        fmt: Format,
        quantity: Quantity,
        oracle: Oracle,
        path: str,
        beta: float,
        threshold: float,
        device: str = "cpu",
    ) -> str:
        """Why no budget applies here (where :meth:`budget_for` finds none), in one phrase: none
        recorded for the device at all; beta beyond every matching rule's reach (with the rule's
        reason); or none for these parameters."""
        missing = self.missing_phrase(device)
        if missing:
            return missing
        beyond = [
            b
            for b in self._entries_for(fmt, quantity, oracle, path, threshold, device)
            if b.beta is None and b.matches_kind(beta) and not b.reaches(beta)
        ]
        if beyond:
            farthest = max(beyond, key=lambda b: b.beta_max)
            return f"no budget above beta {farthest.beta_max:g} ({farthest.beta_max_reason})"
        return f"no budget in {self.source} for {fmt.name}/{quantity.value}/{oracle.value} at these parameters"

    def records_device(self, device: str) -> bool:
        """Does the file hold any budget measured on this kind of device?"""
        return any(b.device == device_kind(device) for b in self.budgets)

    def missing_phrase(self, device: str) -> str | None:
        """What a run on ``device`` says where no budget applies because the file records none for
        the device at all (None where it records some)."""
        if self.records_device(device):
            return None
        return f"no budget recorded for {device_kind(device)}"


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


VALUE_KINDS: dict[str, tuple[Callable[[object], bool], str]] = {
    "string": (lambda v: isinstance(v, str), "a string"),
    "ulp": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "beta": (lambda v: _is_number(v) and math.isfinite(v) and v > 0, "a finite number > 0"),
    "number": (_is_number, "a number"),
    "count": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a whole number >= 1"),
    "strings": (
        lambda v: isinstance(v, str) or (isinstance(v, list) and bool(v) and all(isinstance(s, str) for s in v)),
        "a list of strings",
    ),
    "bounds": (
        lambda v: isinstance(v, dict) and all(_is_number(b) and b >= 0 for b in v.values()),
        "a table of dtype = ULPs (numbers >= 0), e.g. { float32 = 2.0 }",
    ),
}
"""What a key of a budget file's entry may hold: a check, and its words for the error."""

ENTRY_KEYS: dict[str, dict[str, tuple[str, tuple[str, ...] | None]]] = {
    "budget": {
        "dtype": ("string", DTYPES),
        "quantity": ("string", QUANTITIES),
        "oracle": ("string", ORACLES),
        "max_ulp": ("ulp", None),
        "path": ("string", None),
        "beta": ("beta", None),
        "threshold": ("number", None),
        "measured": ("ulp", None),
        "beta_kind": ("string", BETA_KINDS),
        "device": ("string", DEVICE_KINDS),
        "swept": ("ulp", None),
        "swept_at": ("string", None),
        "swept_inputs": ("count", None),
        "swept_beta": ("beta", None),
        "swept_threshold": ("number", None),
        "beta_max": ("beta", None),
        "beta_max_reason": ("string", None),
    },
    "deviation": {
        "id": ("string", None),
        "reason": ("string", None),
        "dtypes": ("strings", DTYPES),
        "quantities": ("strings", QUANTITIES),
        "properties": ("strings", RESULT_NAMES),
        "region": ("string", REGIONS),
        "max_ulp": ("bounds", DTYPES),
        "measured": ("bounds", DTYPES),
        "bx_min": ("number", None),
        "bx_max": ("number", None),
        "beta": ("beta", None),
        "threshold": ("number", None),
        "threshold_min": ("number", None),
        "path": ("string", None),
        "target": ("string", None),
        "family": ("string", None),
        "device": ("string", DEVICE_KINDS),
    },
}
"""Every key a ``[[budget]]`` and a ``[[deviation]]`` entry may have: its kind (:data:`VALUE_KINDS`)
and, for names, the names accepted. Each entry is checked against it as the file is read."""


def _check_entry(entry, table: str, where: str) -> None:
    """Raise :class:`BudgetFileError` (one line: the file and entry ``where``, the key, what it holds
    and what is accepted) unless ``entry`` holds only keys of ``table`` (:data:`ENTRY_KEYS`), each
    of its kind."""
    keys = ENTRY_KEYS[table]
    if not isinstance(entry, dict):
        raise BudgetFileError(f"{where}: must be a table of keys ([[{table}]]), got {_short(entry)}")
    for key, value in entry.items():
        if key not in keys:
            raise BudgetFileError(f"{where}: unknown key {key!r}; accepted: {', '.join(keys)}")
        kind, names = keys[key]
        holds, words = VALUE_KINDS[kind]
        if not holds(value):
            raise BudgetFileError(f"{where}: '{key}' must be {words}, got {_short(value)}")
        for name in () if names is None else [value] if isinstance(value, str) else list(value):
            if name not in names:  # a name, a list's names, or a bounds table's dtypes
                holding = f"= {name!r}" if name is value else f"has {name!r}"
                raise BudgetFileError(f"{where}: '{key}' {holding}; accepted: {', '.join(names)}")


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _require(entry: dict, key: str, kind: str, where: str, accepted=None):
    if key not in entry:
        raise BudgetFileError(f"{where}: missing '{key}'")
    value = entry[key]
    if kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
            raise BudgetFileError(f"{where}: '{key}' must be a number >= 0, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise BudgetFileError(f"{where}: '{key}' must be a string, got {value!r}")
    if accepted and value not in accepted:
        raise BudgetFileError(f"{where}: '{key}' = {value!r}; accepted: {', '.join(accepted)}")
    return value


def _bounds(entry: dict, where: str, key: str = "max_ulp") -> dict[Format, float]:
    value = entry[key]
    if not isinstance(value, dict):
        raise BudgetFileError(f"{where}: '{key}' must be a table of dtype = ULPs, e.g. {{ float32 = 2.0 }}")
    out = {}
    for dtype in value:
        if dtype not in DTYPES:
            raise BudgetFileError(f"{where}: '{key}' has dtype {dtype!r}; accepted: {', '.join(DTYPES)}")
        out[format_named(dtype)] = _require(value, dtype, "number", where)
    return out


def _strings(entry: dict, key: str, where: str, accepted) -> tuple[str, ...]:
    value = entry.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BudgetFileError(f"{where}: '{key}' must be a list of strings from: {', '.join(accepted)}")
    for v in value:
        if v not in accepted:
            raise BudgetFileError(f"{where}: '{key}' has {v!r}; accepted: {', '.join(accepted)}")
    return tuple(value)


def load(path: str | Path | None = None) -> Budgets:
    """Read and check a budget file; raises :class:`BudgetFileError` with one clear line."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BudgetFileError(f"budget file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BudgetFileError(f"budget file {str(path)!r} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise BudgetFileError(f"budget file {str(path)!r} is not valid TOML: {error}") from None
    unknown = set(data) - {"budget", "deviation", "meta"}
    if unknown:
        raise BudgetFileError(
            f"budget file {str(path)!r}: unknown table(s) {sorted(unknown)}; accepted: budget, deviation, meta"
        )
    for table in ("budget", "deviation"):
        if not isinstance(data.get(table, []), list):
            raise BudgetFileError(
                f"{path}: '{table}' must be an array of tables ([[{table}]] entries), got {_short(data[table])}"
            )
    if not isinstance(data.get("meta", {}), dict):
        raise BudgetFileError(f"{path}: 'meta' must be a table ([meta]), got {_short(data['meta'])}")
    budgets = []
    for n, entry in enumerate(data.get("budget", []), 1):
        where = f"{path}: budget #{n}"
        _check_entry(entry, "budget", where)

        def optional(key: str, kind: str, entry=entry, where=where):
            return _require(entry, key, kind, where) if key in entry else None

        budgets.append(
            Budget(
                fmt=format_named(_require(entry, "dtype", "str", where, DTYPES)),
                quantity=Quantity(_require(entry, "quantity", "str", where, QUANTITIES)),
                oracle=Oracle(_require(entry, "oracle", "str", where, ORACLES)),
                max_ulp=_require(entry, "max_ulp", "number", where),
                path=entry.get("path", "*"),
                beta=entry.get("beta"),
                threshold=entry.get("threshold"),
                measured=entry.get("measured"),
                beta_kind=_require(entry, "beta_kind", "str", where, BETA_KINDS) if "beta_kind" in entry else "*",
                device=_require(entry, "device", "str", where, DEVICE_KINDS) if "device" in entry else "cpu",
                swept=optional("swept", "number"),
                swept_at=optional("swept_at", "str"),
                swept_inputs=None if "swept_inputs" not in entry else int(optional("swept_inputs", "number")),
                swept_beta=optional("swept_beta", "number"),
                swept_threshold=optional("swept_threshold", "number"),
                beta_max=optional("beta_max", "number"),
                beta_max_reason=optional("beta_max_reason", "str"),
            )
        )
        rule = "beta" not in entry and "threshold" not in entry
        if ("beta_max" in entry or "beta_max_reason" in entry) and not rule:
            raise BudgetFileError(f"{where}: beta_max belongs to a rule (an entry without beta and threshold)")
        if ("beta_max" in entry) != ("beta_max_reason" in entry):
            raise BudgetFileError(
                f"{where}: beta_max and beta_max_reason go together (how far the rule holds, and why)"
            )
        if "beta_max" in entry and not budgets[-1].beta_max > 0:
            raise BudgetFileError(f"{where}: 'beta_max' must be a number > 0, got {entry['beta_max']!r}")
        if "swept" in entry and rule and not {"swept_at", "swept_beta", "swept_threshold"} <= set(entry):
            raise BudgetFileError(f"{where}: a rule's swept needs swept_at, swept_beta and swept_threshold beside it")
        if "swept" in entry and "swept_at" not in entry:
            raise BudgetFileError(f"{where}: swept needs swept_at (the input's bits) beside it")
    deviations = []
    seen: set[str] = set()
    for n, entry in enumerate(data.get("deviation", []), 1):
        where = f"{path}: deviation #{n}"
        _check_entry(entry, "deviation", where)
        deviations.append(
            Deviation(
                id=_require(entry, "id", "str", where),
                reason=_require(entry, "reason", "str", where),
                formats=tuple(format_named(d) for d in _strings(entry, "dtypes", where, DTYPES)),
                quantities=tuple(Quantity(q) for q in _strings(entry, "quantities", where, QUANTITIES)),
                properties=_strings(entry, "properties", where, RESULT_NAMES),
                region=_require(entry, "region", "str", where, REGIONS),
                max_ulp=_bounds(entry, where) if "max_ulp" in entry else None,
                measured=_bounds(entry, where, "measured") if "measured" in entry else None,
                bx_min=float(entry.get("bx_min", -math.inf)),
                bx_max=float(entry.get("bx_max", math.inf)),
                beta=entry.get("beta"),
                threshold=entry.get("threshold"),
                threshold_min=float(entry.get("threshold_min", -math.inf)),
                path=entry.get("path", "*"),
                target=entry.get("target", "*"),
                family=entry.get("family", "torch"),
                device=_require(entry, "device", "str", where, DEVICE_KINDS) if "device" in entry else "cpu",
            )
        )
        if any(p.startswith("accuracy") for p in deviations[-1].properties) and deviations[-1].max_ulp is None:
            raise BudgetFileError(f"{where}: an accuracy deviation needs 'max_ulp' (the bound measured in its region)")
        if deviations[-1].id in seen:
            raise BudgetFileError(f"{where}: id {deviations[-1].id!r} is used twice; each deviation needs its own id")
        seen.add(deviations[-1].id)
    # the packaged file is named as such: a report must not carry the path of the machine that made it
    source = PACKAGED_NAME if path == DEFAULT_FILE else str(path)
    meta = data.get("meta", {})
    meta_keys = [key for kind in DEVICE_KINDS for key in (_measured_on_key(kind), _rules_grid_key(kind))]
    for key, value in meta.items():
        if key not in meta_keys:
            raise BudgetFileError(f"{path}: [meta]: unknown key {key!r}; accepted: {', '.join(meta_keys)}")
        if key.startswith("measured_on") and not isinstance(value, str):
            raise BudgetFileError(f"{path}: [meta]: '{key}' must be a string, got {_short(value)}")
    measured_on = {kind: str(meta[_measured_on_key(kind)]) for kind in DEVICE_KINDS if _measured_on_key(kind) in meta}
    rules_grid = {
        kind: _grid(meta[_rules_grid_key(kind)], f"{path}: [meta] {_rules_grid_key(kind)}")
        for kind in DEVICE_KINDS
        if _rules_grid_key(kind) in meta
    }
    return Budgets(source, tuple(budgets), tuple(deviations), measured_on, rules_grid)


def _measured_on_key(kind: str) -> str:
    """The ``[meta]`` key of what measured a kind of device's entries (the CPU's keeps its old name)."""
    return "measured_on" if kind == "cpu" else f"measured_on_{kind}"


def _rules_grid_key(kind: str) -> str:
    """The ``[meta]`` key of the grid a kind of device's rules were measured on."""
    return "rules_grid" if kind == "cpu" else f"rules_grid_{kind}"


def _grid(value, where: str) -> tuple[tuple[float, float], ...]:
    """A recorded grid: a non-empty list of ``[beta, threshold]`` pairs, beta finite and > 0."""

    def pair(item) -> bool:
        return (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in item)
            and math.isfinite(item[0])
            and item[0] > 0
        )

    if not isinstance(value, list) or not value or not all(pair(item) for item in value):
        raise BudgetFileError(
            f"{where} must be a list of [beta, threshold] pairs, beta finite and > 0, e.g. [[1.0, 20.0]]"
        )
    return tuple((float(b), float(t)) for b, t in value)


@dataclass(frozen=True)
class DeviationCheck:
    """How one known deviation fared in one configuration (recorded in the run file)."""

    id: str
    fmt: Format
    property: str
    reason: str
    region_inputs: int
    violations_in_region: int
    measured_max_ulp: float | None
    max_ulp: float | None
    # "holds" (excuses violations), "grown" (its bound is exceeded), "fixed" (excuses none here),
    # "unjudged" (no budget applies: nothing to excuse; its region's error measured all the same)
    status: str
    x_range: tuple[float, float] | None = None  # the smallest and largest input in the region (None: empty)
    # accuracy only: excused outputs of the wrong class (NaN, an infinity, a zero's sign, where the
    # exact value is of another), whose error no ULP bound measures: the bound covers the others only
    wrong_class: int | None = None

    def as_record(self) -> dict:
        """The run file's record of this check (``dtype`` named as the format's name)."""
        return {
            "id": self.id,
            "dtype": self.fmt.name,
            "property": self.property,
            "reason": self.reason,
            "region_inputs": self.region_inputs,
            "violations_in_region": self.violations_in_region,
            "measured_max_ulp": self.measured_max_ulp,
            "max_ulp": self.max_ulp,
            "status": self.status,
            "x_range": None if self.x_range is None else [float(v) for v in self.x_range],
            "wrong_class_in_region": self.wrong_class,
        }


def check_accuracy(
    obs: Observations,
    oracle: Oracle,
    budgets: Budgets,
    path: str,
    beta: float,
    threshold: float,
    device: str = "cpu",
    outside: np.ndarray | None = None,
) -> PropertyResult:
    """The accuracy property for one oracle: every input within the configuration's budget. Where
    none applies, the error is measured, not judged: the largest outside the known deviations'
    regions (``outside``: the inputs in none of them, :func:`accuracy_regions`) and in all."""
    meas, ref = obs.measurements(oracle), obs.reference(oracle)
    budget = budgets.budget_for(obs.fmt, obs.quantity, oracle, path, beta, threshold, device)
    name = accuracy_name(oracle)
    checked = np.ones(len(obs.x), dtype=bool)
    if budget is None:
        worst = _largest(meas.ulp_error)
        why = budgets.why_none(obs.fmt, obs.quantity, oracle, path, beta, threshold, device)
        detail = f"{why}: measured {worst:.6g} ULP"
        if outside is not None and not outside.all():
            detail = (
                f"{why}: measured {_largest(meas.ulp_error[outside]):.6g} ULP outside the known deviations, "
                f"{worst:.6g} with them"
            )
        if budgets.missing_phrase(device):
            recorded = [k for k in DEVICE_KINDS if budgets.records_device(k)]
            kind = device_kind(device)
            detail += (
                f" ({budgets.source} records budgets for {', '.join(recorded) or 'no device'}; "
                f"measure {kind}'s there: softplus-audit budgets --device {kind})"
            )
        return PropertyResult(name, True, len(obs.x), 0, (), detail, no_budget=True)
    failed = meas.failure != 0
    with np.errstate(invalid="ignore"):
        bad = failed | (meas.ulp_error > budget.max_ulp)
    worst = _largest(meas.ulp_error)

    def expected(i):
        if failed[i]:
            return f"same class as the exact value {float(ref.rounded[i])!r}"
        return (
            f"within {budget.max_ulp:g} ULP of the exact {float(ref.rounded[i])!r} (measured {meas.ulp_error[i]:.6g})"
        )

    detail = f"budget {budget.max_ulp:g} ULP; max measured {worst:.6g}"
    return property_result(name, obs, checked, bad, expected, detail=detail, marked=failed)


def apply_deviations(
    results: list[PropertyResult],
    obs: Observations,
    budgets: Budgets,
    target: str,
    path: str,
    beta: float,
    threshold: float,
    family: str = "torch",
    device: str = "cpu",
) -> tuple[list[PropertyResult], list[DeviationCheck]]:
    """Excuse violations inside known deviations' regions; fail entries that went stale.

    A violation inside a matching deviation's region no longer fails its property, but an
    accuracy error there above the deviation's ``max_ulp`` does (*grown*). Whether an entry
    is *fixed* is a question for the whole run: :func:`stale_deviations`. Where no budget
    applies, nothing was judged and nothing is excused (*unjudged*), but a region's error is
    still measured, and held to the deviation's bound.
    """
    fmt = obs.fmt
    checks: list[DeviationCheck] = []
    out = []
    for result in results:
        remaining = np.asarray(result.violating)
        extra_failures = []
        for deviation in budgets.deviations:
            if result.name not in deviation.properties:
                continue
            if not deviation.applies(target, fmt, obs.quantity, path, beta, threshold, family, device):
                continue
            region = deviation.region_mask(obs)
            in_region = obs.x[region]
            x_range = (float(in_region.min()), float(in_region.max())) if in_region.size else None
            inside = remaining[region[remaining]] if remaining.size else remaining
            measured = wrong_class = None
            status = "unjudged" if result.no_budget else ("holds" if inside.size else "fixed")
            accuracy_of = [o for o in ORACLE_ORDER if result.name == accuracy_name(o)]
            if accuracy_of:
                meas = obs.measurements(accuracy_of[0])
                measured = _largest(meas.ulp_error[region])  # finite errors: a wrong class has none
                wrong_class = int(np.count_nonzero(meas.failure[inside] != 0))
                if measured > deviation.bound(fmt):
                    status = "grown"
            checks.append(
                DeviationCheck(
                    deviation.id,
                    fmt,
                    result.name,
                    deviation.reason,
                    int(region.sum()),
                    int(inside.size),
                    measured,
                    deviation.bound(fmt) if deviation.max_ulp is not None else None,
                    status,
                    x_range,
                    wrong_class,
                )
            )
            if status == "grown":
                extra_failures.append(
                    f"deviation {deviation.id!r} grown: {measured:.6g} ULP > bound {deviation.bound(fmt):g}"
                )
                continue
            # "fixed" is judged over the whole run (stale_deviations): one configuration
            # without violations in the region says nothing about the others
            remaining = remaining[~region[remaining]] if remaining.size else remaining
        if result.no_budget and not extra_failures:
            out.append(result)
            continue
        excused = len(result.violating) - remaining.size
        of_accuracy = [o for o in ORACLE_ORDER if result.name == accuracy_name(o)]
        marked = obs.measurements(of_accuracy[0]).failure != 0 if of_accuracy else None  # the wrong class
        kept = tuple(result.describe(int(i)) for i in recorded_violations(remaining, marked)) if result.describe else ()
        detail = result.detail
        if excused:
            detail = (detail + "; " if detail else "") + f"{excused} violation(s) inside known deviations"
        if extra_failures:
            detail = (detail + "; " if detail else "") + "; ".join(extra_failures)
        passed = remaining.size == 0 and not extra_failures
        out.append(
            PropertyResult(
                result.name, passed, result.checked, int(remaining.size), kept, detail, remaining, result.describe
            )
        )
    return out, checks


def stale_deviations(budgets: Budgets, checks: list[DeviationCheck], judge_fixed: bool = True) -> list[str]:
    """Entries that no longer match the run: grown anywhere, or (``judge_fixed``) without any
    violation left in their region for a dtype they list, over every configuration of that
    dtype in the run where a budget judged it. Whether an entry is fixed can only be judged on
    the grid it was measured on, so a run with another grid passes ``judge_fixed=False``."""
    problems = []
    for deviation in budgets.deviations:
        mine = [c for c in checks if c.id == deviation.id and c.status != "unjudged"]
        grown = [c for c in mine if c.status == "grown"]
        if grown:
            c = max(grown, key=lambda c: c.measured_max_ulp or 0.0)
            problems.append(
                f"deviation {deviation.id!r} grown for {c.fmt}: {c.measured_max_ulp:.6g} ULP > bound {c.max_ulp:g}"
            )
        if not judge_fixed:
            continue
        for fmt in deviation.formats:
            of_format = [c for c in mine if c.fmt == fmt]
            if of_format and all(c.violations_in_region == 0 for c in of_format):
                problems.append(f"deviation {deviation.id!r} fixed for {fmt}: no violation left in its region")
    return problems


def _ceil_power_of_two(value: float) -> float:
    """The budget rule: the smallest power of two >= the measured value, and at least 1/2."""
    if not math.isfinite(value):
        return math.inf
    return max(0.5, 2.0 ** math.ceil(math.log2(value))) if value > 0 else 0.5


HEADER = (
    "# Accuracy budgets and known deviations of softplus implementations (ULPs of the output format).",
    "#",
    "# Generated by `softplus-audit budgets --write`, then reviewed: the deviations' reasons and regions",
    "# are written by hand and kept; the numbers are measured.",
    "# Rule: a budget is the largest error measured outside every known deviation, over targets and",
    "# paths, rounded up to a power of two (at least 1/2) to absorb CPU-capability differences; a",
    "# deviation's max_ulp is the largest error measured inside its region, rounded up the same way.",
    "# Rules (entries without beta and threshold, `budgets --rules`) apply at any parameters where no",
    "# entry was measured: the largest error over a wider grid of betas and thresholds (rules_grid below;",
    "# a run that lacks one of its points only raises the rules), for betas that are powers of two (b*x",
    "# exact) and for any beta. Other betas round b*x, an error that softplus and its derivatives pass",
    "# on in proportion to |b*x|, at most exp's range: about 104 in float32 (so up to ~104 ULP) and 745",
    "# in float64 (~745 ULP); the measured maxima (66.1, 513.8) sit below those.",
    "# One error grows with beta itself: float16's second derivative rounds sigmoid(b*x) to a float16",
    "# subnormal below b*x = -9.70 and multiplies it by b, up to about b/2 ULP (4.0 at b = 8, 51.9 at",
    "# b = 100, 502.6 at b = 1000), so its rules reach only the grid's largest betas, 8 among powers",
    "# of two and 100 (beta_max, written by hand and kept): above those no budget applies, and the",
    "# error is reported, not judged.",
    "# A sample can miss the worst input: where a sweep measured a budget's configuration (`budgets",
    "# --sweeps`: every input of the format, or float64's larger sample, whose size is swept_inputs), the",
    "# budget is at least its largest error outside the deviations, rounded up the same way, recorded",
    "# beside it (swept, swept_at) and kept when the file is measured again; a rule, which holds at any",
    "# parameters, is at least the largest of every matching sweep (at swept_beta, swept_threshold).",
    "# Budgets are measured on torch and are the yardstick for every implementation; known deviations",
    '# describe torch\'s kernels (family = "torch" unless an entry names another) and excuse nothing else.',
)


@dataclass(frozen=True)
class SweptMaximum:
    """What a sweep measured for one budget: the largest error outside the known deviations that
    excuse it, with its input (:mod:`suite.sweep.regions`), over every input of the format or, for
    float64, over a sample of ``inputs`` inputs."""

    dtype: str
    quantity: str
    oracle: str
    beta: float
    threshold: float
    device: str  # the kind of device
    max_ulp: float
    at: str  # the input's bits
    inputs: int | None = None  # a sample's size (None: every input of the format)

    @property
    def key(self) -> tuple:
        return (self.dtype, self.quantity, self.oracle, self.beta, self.threshold, "*", self.device)

    def rule_keys(self) -> tuple[tuple, ...]:
        """The keys of the rules it bounds from below: any beta, and powers of two where beta is one."""
        kinds = ("*", "power_of_two") if is_power_of_two(self.beta) else ("*",)
        return tuple((self.dtype, self.quantity, self.oracle, None, None, kind, self.device) for kind in kinds)

    @classmethod
    def recorded_with(cls, budget: Budget) -> SweptMaximum:
        """What the budget file records beside ``budget`` (``swept``...), as the sweep's maximum."""
        return cls(
            budget.fmt.name,
            budget.quantity.value,
            budget.oracle.value,
            budget.beta if budget.beta is not None else budget.swept_beta,
            budget.threshold if budget.threshold is not None else budget.swept_threshold,
            budget.device,
            budget.swept,
            budget.swept_at,
            budget.swept_inputs,
        )


def regenerate(
    observed,
    budgets: Budgets,
    provenance: str,
    partial: bool = False,
    rules: bool = False,
    device: str = "cpu",
    swept: tuple[SweptMaximum, ...] = (),
    swept_deviations: dict[tuple[str, Format], float] | None = None,
    grid: tuple[tuple[float, float], ...] = (),
) -> str:
    """A new budget file from what ``observed`` (``(config, observations)`` pairs, all on ``device``)
    measure: that kind of device's entries are measured again, every other device's are kept as
    written.

    Each budget is the largest accuracy error outside every matching known deviation's region,
    over targets and paths, per dtype, quantity, oracle, beta and threshold, rounded up by
    :func:`_ceil_power_of_two`; each accuracy deviation's ``max_ulp`` for a dtype is the largest
    error inside its region, rounded up the same way. Deviations keep their reasons and regions
    as written; budgets and bounds this run did not measure (another dtype, another grid) are
    kept as they were, and a ``partial`` run (a subset of the grid, the quantities or the
    targets) only raises a deviation's bound for a dtype, never lowers it: what it did not see
    may be what set the bound.

    With ``rules``, the grid measured (``grid``) is a sample of the parameters a user may choose: it
    sets the *rules* (budgets without beta and threshold, :class:`Budget`) instead of one budget per
    grid point: per dtype, quantity and oracle, the largest error over the grid points whose beta is
    a power of two, and over all of them; deviation bounds only rise; the rest is kept. The grid is
    recorded (``[meta] rules_grid``). The rules are measured afresh, and may fall, only where
    ``grid`` holds every point of the recorded one (or the file has no rules for the device yet);
    on any other grid they only rise, since a point it lacks may be what set them, and the recorded
    grid grows by the points measured. (A file whose rules do not record their grid: they only rise.)

    Where the file holds rules for the device, its deviations' bounds and largest measured errors
    only rise, as in a partial run: the rules' wider grid may have set them.

    A device the file has no deviations for gets the CPU's, seeded (:func:`seeded_deviations`):
    their regions and reasons, to be confirmed on the device, with every bound measured there.

    ``swept``: what sweeps measured (:class:`SweptMaximum`: of every input, or float64's sample),
    and ``swept_deviations`` the largest errors they found inside each accuracy deviation's region:
    a budget is then at least the sweep's maximum, recorded beside it (``swept``, ``swept_at``,
    and a sample's ``swept_inputs``), since the audit's sample may miss the worst input; a
    budget's recorded ``swept`` is kept when no new sweep of it is given, and a deviation's bound
    covers what the sweeps found in its region.
    """
    if rules and not grid:
        raise ValueError("regenerate(rules=True) needs the grid measured, to record it")
    kind = device_kind(device)
    budgets = seeded_deviations(budgets, kind)
    measured, deviation_max = _maxima(observed, budgets)
    for key, value in (swept_deviations or {}).items():
        deviation_max[key] = max(deviation_max.get(key, 0.0), value)
    known = {b.key: SweptMaximum.recorded_with(b) for b in budgets.budgets if b.swept is not None}
    reach = _reaches(budgets)
    for m in (m for m in swept if m.device == kind):
        known[m.key] = m
        # a rule holds at any parameters it reaches, the swept ones included: it is at least their
        # largest error
        for key in m.rule_keys():
            if key in reach and not reach[key].reaches(m.beta):
                continue
            if key not in known or m.max_ulp > known[key].max_ulp:
                known[key] = m
    measured_on = {**budgets.measured_on, kind: provenance}
    kinds = [k for k in DEVICE_KINDS if k in measured_on]
    # where the file holds rules, a wider grid than this one measured its deviations' bounds (the
    # rules' run only raises them): a run of the default grid must not lower what that grid needed
    existing_rules = {b.key: b for b in budgets.budgets if b.beta is None and b.threshold is None and b.device == kind}
    rules_grid = dict(budgets.rules_grid)
    floors: dict[tuple, Budget] = {}
    if rules:
        recorded = budgets.rules_grid.get(kind)
        afresh = not existing_rules or (recorded is not None and set(recorded) <= set(grid))
        floors = {} if afresh else existing_rules
        kept = () if afresh else (recorded or ())
        rules_grid[kind] = (*kept, *(p for p in grid if p not in kept))
    lines = [*HEADER]
    lines += [f"# Measured on{'' if k == 'cpu' else ' ' + k}: {measured_on[k]}" for k in kinds]
    lines += ["", "[meta]", *(f"{_measured_on_key(k)} = {_toml(measured_on[k])}" for k in kinds)]
    lines += [line for k in DEVICE_KINDS if k in rules_grid for line in _rules_grid_lines(k, rules_grid[k])]
    lines.append("")
    for deviation in budgets.deviations:
        lines += _deviation_lines(deviation, deviation_max, partial or rules or bool(existing_rules))
    lines += _budget_lines(_rules(measured, reach) if rules else measured, budgets, known, floors)
    return "\n".join(lines)


def _reaches(budgets: Budgets) -> dict[tuple, Budget]:
    """The rules that reach only up to a beta (``beta_max``), by key: kept as written when the file
    is measured again, and measured only over the grid points they reach."""
    return {b.key: b for b in budgets.budgets if b.beta_max is not None}


def _rules_grid_lines(kind: str, grid: tuple[tuple[float, float], ...], per_line: int = 5) -> list[str]:
    """``rules_grid = [...]``: the (beta, threshold) pairs a device's rules were measured on, a few a line."""
    pairs = [f"[{_toml(float(b))}, {_toml(float(t))}]" for b, t in grid]
    rows = [", ".join(pairs[i : i + per_line]) for i in range(0, len(pairs), per_line)]
    where = "" if kind == "cpu" else f" on {kind}"
    return [
        f"{_rules_grid_key(kind)} = [  # (beta, threshold): what the rules{where} were measured on (budgets --rules)",
        *(f"    {row}," for row in rows),
        "]",
    ]


def seeded_deviations(budgets: Budgets, kind: str) -> Budgets:
    """``budgets`` with, for a kind of device it has no deviations for, a copy of each CPU deviation
    on that device (id ``ID-KIND``): the CPU's regions and reasons are where to look first (torch's
    documented rule and autograd formulas are the same on every device), but no bound is copied:
    each is measured on the device, and an entry the device does not need is then *fixed* and
    fails the run until it is removed."""
    if kind == "cpu" or any(d.device == kind for d in budgets.deviations):
        return budgets
    seeded = tuple(
        dataclasses.replace(
            d,
            id=f"{d.id}-{kind}",
            reason=f"Seeded from the cpu entry {d.id!r}, to be confirmed on {kind}: {d.reason}",
            device=kind,
            max_ulp={} if d.max_ulp is not None else None,
        )
        for d in budgets.deviations
        if d.device == "cpu"
    )
    return dataclasses.replace(budgets, deviations=budgets.deviations + seeded)


def _rules(measured: dict[tuple, float], reach: dict[tuple, Budget]) -> dict[tuple, float]:
    """Rules from per-point maxima keyed (dtype, quantity, oracle, beta, threshold, "*"): the largest
    over powers of two, and over every beta, keyed (dtype, quantity, oracle, None, None, kind); a
    rule in ``reach`` over the points up to its ``beta_max`` only."""
    out: dict[tuple, float] = {}
    for (dtype, quantity, oracle, beta, _threshold, _kind, device), value in measured.items():
        kinds = ("*", "power_of_two") if is_power_of_two(beta) else ("*",)
        for kind in kinds:
            key = (dtype, quantity, oracle, None, None, kind, device)
            if key in reach and not reach[key].reaches(beta):
                continue
            out[key] = max(out.get(key, 0.0), value)
    return out


def _maxima(observed, budgets: Budgets) -> tuple[dict[tuple, float], dict[tuple[str, Format], float]]:
    """The largest accuracy errors measured: outside every matching deviation, per (dtype, quantity,
    oracle, beta, threshold, "*", device kind) named as in the file; inside each accuracy deviation,
    per (id, format)."""
    measured: dict[tuple, float] = {}
    deviation_max: dict[tuple[str, Format], float] = {}
    for config, obs in observed:
        for oracle in ORACLE_ORDER:
            meas = obs.measurements(oracle)
            regions = accuracy_regions(obs, oracle, budgets, config)
            for deviation_id, region in regions.items():
                key = (deviation_id, config.fmt)
                deviation_max[key] = max(deviation_max.get(key, 0.0), _largest(meas.ulp_error[region]))
            outside = outside_of(regions, len(obs.x))
            kind = device_kind(config.device)
            key = (config.fmt.name, config.quantity.value, oracle.value, config.beta, config.threshold, "*", kind)
            measured[key] = max(measured.get(key, 0.0), _largest(meas.ulp_error[outside]))
    return measured, deviation_max


def accuracy_regions(obs: Observations, oracle: Oracle, budgets: Budgets, config) -> dict[str, np.ndarray]:
    """The regions (masks over ``obs.x``) of the known deviations that excuse this oracle's accuracy
    errors for ``config`` (anything with target, fmt, quantity, path, beta, threshold, family and
    device), by deviation id: outside all of them the budget judges every error."""
    return {
        deviation.id: deviation.region_mask(obs)
        for deviation in budgets.deviations
        if accuracy_name(oracle) in deviation.properties
        and deviation.applies(
            config.target,
            config.fmt,
            config.quantity,
            config.path,
            config.beta,
            config.threshold,
            config.family,
            config.device,
        )
    }


def outside_of(regions: dict[str, np.ndarray], size: int) -> np.ndarray:
    """The inputs (of ``size``) in none of the ``regions`` (:func:`accuracy_regions`)."""
    return ~np.logical_or.reduce([*regions.values(), np.zeros(size, dtype=bool)])


def _largest(errors: np.ndarray) -> float:
    """The largest ULP error (NaN, the special-value failures, left out); 0 for none."""
    errors = errors[~np.isnan(errors)]
    return float(errors.max()) if errors.size else 0.0


def _deviation_lines(deviation: Deviation, deviation_max: dict[tuple[str, Format], float], partial: bool) -> list:
    """One ``[[deviation]]`` table: as written, with fresh accuracy bounds where measured."""
    lines = ["[[deviation]]", f"id = {_toml(deviation.id)}", f"reason = {_toml(deviation.reason)}"]
    lines.append(f"dtypes = {_toml([f.name for f in deviation.formats])}")
    lines.append(f"quantities = {_toml([q.value for q in deviation.quantities])}")
    lines.append(f"properties = {_toml(list(deviation.properties))}")
    lines.append(f"region = {_toml(deviation.region)}")
    for key in ("bx_min", "bx_max", "threshold_min"):
        if math.isfinite(getattr(deviation, key)):
            lines.append(f"{key} = {_toml(getattr(deviation, key))}")
    for key in ("beta", "threshold"):
        if getattr(deviation, key) is not None:
            lines.append(f"{key} = {_toml(getattr(deviation, key))}")
    for key in ("path", "target"):
        if getattr(deviation, key) != "*":
            lines.append(f"{key} = {_toml(getattr(deviation, key))}")
    if deviation.family != "torch":
        lines.append(f"family = {_toml(deviation.family)}")
    if deviation.device != "cpu":
        lines.append(f"device = {_toml(deviation.device)}")
    if deviation.max_ulp is not None:
        bounds, measured = dict(deviation.max_ulp), dict(deviation.measured or {})
        for fmt in FORMATS.values():
            if (deviation.id, fmt) in deviation_max:
                value = deviation_max[(deviation.id, fmt)]
                fresh = _ceil_power_of_two(value)
                bounds[fmt] = max(fresh, bounds.get(fmt, 0.0)) if partial else fresh
                # a partial run saw part of the region: the largest error measured there stays the
                # larger of what it saw and what was recorded, as the bound does
                value = max(value, measured.get(fmt, 0.0)) if partial else value
                measured[fmt] = float(f"{value:.6g}")
        lines.append(f"max_ulp = {_format_table(bounds)}")
        if measured:
            lines.append(f"measured = {_format_table(measured)}")
    lines.append("")
    return lines


def _format_table(values: dict[Format, float]) -> str:
    """``{ float16 = 2048.0, ... }`` in the order of the formats table."""
    table = ", ".join(f"{f.name} = {_toml(float(values[f]))}" for f in FORMATS.values() if f in values)
    return f"{{ {table} }}"


def _budget_lines(
    measured: dict[tuple, float],
    budgets: Budgets,
    swept: dict[tuple, SweptMaximum] | None = None,
    floors: dict[tuple, Budget] | None = None,
) -> list[str]:
    """The ``[[budget]]`` tables: fresh where measured, kept as they were elsewhere, sorted; each at
    least the largest error a sweep measured (``swept``: key -> :class:`SweptMaximum`; a rule's,
    at the parameters the sweep measured), and where ``floors`` holds its key, at least that
    entry's budget and measured value (measured again, it only rises)."""
    swept, floors = swept or {}, floors or {}
    reach = _reaches(budgets)
    kept = {}
    for b in budgets.budgets:
        if b.key not in measured:
            kept[b.key] = b

    def floor(key) -> float:
        return swept[key].max_ulp if key in swept else 0.0

    def fresh(key, value: float) -> tuple[float, float]:
        old = floors.get(key)
        if old is not None:
            value = max(value, old.measured or 0.0)
        budget = _ceil_power_of_two(max(value, floor(key)))
        return (budget if old is None else max(budget, old.max_ulp)), value

    entries = {key: fresh(key, value) for key, value in measured.items()}
    entries.update({key: (max(b.max_ulp, _ceil_power_of_two(floor(key))), b.measured) for key, b in kept.items()})

    def order(item):  # each device's entries together, the CPU's first, in the file's order
        *key, device = item[0]
        return (DEVICE_KINDS.index(device), *(-math.inf if v is None else v for v in key))

    lines = []
    for (dtype, quantity, oracle, beta, threshold, kind, device), (budget, value) in sorted(entries.items(), key=order):
        lines += ["[[budget]]", f"dtype = {_toml(dtype)}", f"quantity = {_toml(quantity)}", f"oracle = {_toml(oracle)}"]
        if device != "cpu":
            lines.append(f"device = {_toml(device)}")
        if beta is not None:
            lines.append(f"beta = {_toml(float(beta))}")
        if threshold is not None:
            lines.append(f"threshold = {_toml(float(threshold))}")
        if beta is None and threshold is None:
            which = "any beta that is a power of two" if kind == "power_of_two" else "any beta"
            lines.append(f"beta_kind = {_toml(kind)}  # a rule: {which}, any threshold")
        reaching = reach.get((dtype, quantity, oracle, beta, threshold, kind, device))
        if reaching is not None:
            lines.append(f"beta_max = {_toml(float(reaching.beta_max))}  # above it, no budget")
            lines.append(f"beta_max_reason = {_toml(reaching.beta_max_reason)}")
        lines.append(f"max_ulp = {_toml(float(budget))}")
        if value is not None:
            lines.append(f"measured = {_toml(round(float(value), 6))}")
        m = swept.get((dtype, quantity, oracle, beta, threshold, kind, device))
        if m is not None:
            over = "every input" if m.inputs is None else "a sweep's sample"
            if beta is None:
                over += f" at beta {m.beta:g}, threshold {m.threshold:g}"
            lines.append(f"swept = {_toml(float(m.max_ulp))}  # the largest error outside the deviations, {over}")
            lines.append(f"swept_at = {_toml(m.at)}")
            if m.inputs is not None:
                lines.append(f"swept_inputs = {m.inputs}")
            if beta is None:
                lines += [f"swept_beta = {_toml(float(m.beta))}", f"swept_threshold = {_toml(float(m.threshold))}"]
        lines.append("")
    return lines


def _toml(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)
