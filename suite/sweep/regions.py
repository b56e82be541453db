"""A sweep judged as the audit judges a configuration, on every input instead of a sample.

A known deviation (``suite/data/budgets.toml``) excuses, in a region of inputs, errors above the
budget up to its own bound, or a broken property. Its region is an interval of ``x``
(:meth:`suite.audit.budgets.Deviation.interval`), so the patterns of a format it holds are one or
two ranges. A sweep records, besides its statistics, what it measured in each *class* of inputs:
those in no region that applies (class ``""``), and those in each combination of regions (class
``"a + b"``): the largest ULP error with its input and the outputs of the wrong class (NaN, an
infinity or a zero's sign where the exact value is of another class, which no ULP error measures),
per oracle, and the outputs of 0 where the correct rounding is > 0.

:func:`judge` then answers, from those alone: is the largest error outside every deviation that
excuses it within the budget (accuracy, per oracle), is every premature zero inside a deviation
that excuses it (positivity), and does each deviation's region stay within its bound?
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from suite.audit.budgets import Budgets, Deviation
from suite.audit.properties import accuracy_name
from suite.files import float_from_json, json_float
from suite.implementations.base import device_kind
from suite.numerics.params import ORACLE_ORDER, Oracle, Params

POSITIVITY = "positivity"
JUDGED = (*(accuracy_name(o) for o in ORACLE_ORDER), POSITIVITY)
"""The properties a sweep judges against the deviations: both accuracies and positivity (its
premature zeros). Its other counts (wrong-way steps, path disagreement) are reported, not judged."""

OUTSIDE = ""
"""The class of the inputs in no region."""


@dataclass(frozen=True)
class Region:
    """A known deviation's region as patterns of the sweep's format: ranges ``[start, stop)``."""

    id: str
    ranges: tuple[tuple[int, int], ...]

    def holds(self, bits: int) -> bool:
        return any(start <= bits < stop for start, stop in self.ranges)


def regions_of(spec, family: str, budgets: Budgets) -> tuple[Region, ...]:
    """The regions of the deviations that apply to the sweep ``spec`` of an implementation of
    ``family`` and excuse a property it judges (:data:`JUDGED`), in the file's order."""
    params = Params.as_kernel_sees(spec.beta, spec.threshold, spec.fmt)
    found = []
    for deviation in budgets.deviations:
        if not set(deviation.properties) & set(JUDGED):
            continue
        args = (spec.target, spec.fmt, spec.quantity, spec.path, spec.beta, spec.threshold, family, spec.device)
        if not deviation.applies(*args):
            continue
        interval = deviation.interval(spec.fmt, params)
        found.append(Region(deviation.id, tuple(spec.fmt.ordinal_ranges(*interval)) if interval else ()))
    return tuple(found)


def class_of(bits: int, regions: tuple[Region, ...]) -> str:
    """The class of the pattern ``bits``: the ids of the regions holding it, joined by `` + ``."""
    return " + ".join(r.id for r in regions if r.holds(bits))


def class_masks(bits: np.ndarray, regions: tuple[Region, ...]) -> dict[str, np.ndarray]:
    """The classes of the patterns ``bits`` (uint64, in any order: a sample's inputs, where
    :func:`pieces` cuts a range), each with the mask of its inputs; in order of first appearance."""
    bits = np.asarray(bits, dtype=np.uint64)
    code = np.zeros(len(bits), dtype=np.int64)  # bit i set: the input lies in regions[i]
    for i, region in enumerate(regions):
        inside = np.zeros(len(bits), dtype=bool)
        for start, stop in region.ranges:
            inside |= (bits >= np.uint64(start)) & (bits < np.uint64(stop))
        code |= inside.astype(np.int64) << i
    codes, first = np.unique(code, return_index=True)
    return {
        " + ".join(r.id for i, r in enumerate(regions) if int(c) >> i & 1): code == c for c in codes[np.argsort(first)]
    }


def pieces(start: int, stop: int, regions: tuple[Region, ...]) -> list[tuple[int, int, str]]:
    """Patterns ``[start, stop)`` cut where a region begins or ends: ``(start, stop, class)``,
    consecutive pieces of one class joined."""
    cuts = sorted({c for r in regions for span in r.ranges for c in span if start < c < stop})
    out: list[tuple[int, int, str]] = []
    for a, b in zip([start, *cuts], [*cuts, stop], strict=True):
        label = class_of(a, regions)
        if out and out[-1][2] == label:
            out[-1] = (out[-1][0], b, label)
        else:
            out.append((a, b, label))
    return out


@dataclass
class Largest:
    """One oracle's largest ULP error in a class (ULPs of the output format), the first input
    that has it, and the outputs of the wrong class there."""

    max_ulp: float = 0.0
    argmax_bits: int = -1  # -1: no input with a numeric error
    argmax_output: float = 0.0
    argmax_rounded: float = 0.0
    wrong_class: int = 0

    FLOATS = ("max_ulp", "argmax_output", "argmax_rounded")  # possibly non-finite: json_float in JSON

    @classmethod
    def of(cls, totals) -> Largest:
        """From a range's :class:`suite.sweep.accumulate.OracleTotals`."""
        return cls(
            totals.max_ulp,
            totals.argmax_bits,
            totals.argmax_output,
            totals.argmax_rounded,
            sum(totals.failures.values()),
        )

    def merge(self, other: Largest) -> None:
        """Join a later range's: the larger error, and on a tie the earlier input (as the sweep's own maximum)."""
        if other.argmax_bits >= 0 and (other.max_ulp > self.max_ulp or self.argmax_bits < 0):
            self.max_ulp, self.argmax_bits = other.max_ulp, other.argmax_bits
            self.argmax_output, self.argmax_rounded = other.argmax_output, other.argmax_rounded
        self.wrong_class += other.wrong_class


@dataclass
class ClassTotals:
    """What a sweep measured in one class of inputs."""

    inputs: int = 0
    oracles: dict[Oracle, Largest] = field(default_factory=lambda: {o: Largest() for o in ORACLE_ORDER})
    zeros: int = 0  # outputs of 0 where the correct rounding is > 0
    zero_bits: int = -1  # the first of them (-1: none)

    @classmethod
    def of(cls, acc) -> ClassTotals:
        """From a range's :class:`suite.sweep.accumulate.Accumulator`."""
        zeros = acc.zero_where_positive
        return cls(acc.inputs, {o: Largest.of(acc.oracles[o]) for o in ORACLE_ORDER}, zeros.count, zeros.example_bits)

    def merge(self, other: ClassTotals) -> None:
        self.inputs += other.inputs
        for oracle in ORACLE_ORDER:
            self.oracles[oracle].merge(other.oracles[oracle])
        if self.zero_bits < 0:
            self.zero_bits = other.zero_bits
        self.zeros += other.zeros


@dataclass
class RegionStats:
    """A range's statistics per class (:func:`pieces`), with the regions that cut it."""

    family: str
    regions: tuple[Region, ...]
    classes: dict[str, ClassTotals] = field(default_factory=dict)

    def add(self, label: str, totals: ClassTotals) -> None:
        self.classes.setdefault(label, ClassTotals()).merge(totals)

    def merge(self, other: RegionStats | None) -> RegionStats | None:
        """Join a later range's (None where the two were cut by other regions, or it has none)."""
        if other is None or (other.family, other.regions) != (self.family, self.regions):
            return None
        for label, totals in other.classes.items():
            self.add(label, totals)
        return self

    def as_record(self) -> dict:
        def largest(t: Largest) -> dict:
            return {**t.__dict__, **{k: json_float(getattr(t, k)) for k in Largest.FLOATS}}

        return {
            "family": self.family,
            "regions": [{"id": r.id, "ranges": [list(span) for span in r.ranges]} for r in self.regions],
            "classes": {
                label: {
                    "inputs": t.inputs,
                    "oracles": {o.value: largest(t.oracles[o]) for o in ORACLE_ORDER},
                    "zeros": t.zeros,
                    "zero_bits": t.zero_bits,
                }
                for label, t in self.classes.items()
            },
        }

    @classmethod
    def from_record(cls, data: dict) -> RegionStats:
        regions = tuple(Region(r["id"], tuple(tuple(span) for span in r["ranges"])) for r in data["regions"])
        classes = {}
        for label, t in data["classes"].items():
            oracles = {
                Oracle(name): Largest(**{**v, **{k: float_from_json(v[k]) for k in Largest.FLOATS}})
                for name, v in t["oracles"].items()
            }
            classes[label] = ClassTotals(t["inputs"], oracles, t["zeros"], t["zero_bits"])
        return cls(data["family"], regions, classes)


def _example(fmt, bits: int) -> dict:
    x = float(fmt.decode(np.array([bits], dtype=np.uint64).astype(fmt.uint_dtype))[0])
    return {"x_bits": fmt.hex(bits), "x": json_float(x)}


def judge(spec, stats: RegionStats | None, budgets: Budgets) -> dict:
    """The sweep's verdict against ``budgets``, as the audit gives a configuration's, from the
    per-class statistics ``stats`` (:class:`RegionStats`) alone:

    * accuracy, per oracle: *within budget* where the largest error outside every deviation that
      excuses it is within the budget, no output there is of the wrong class, and no such
      deviation has *grown* (an error in its region above its bound); *exceeds budget*
      otherwise; *no budget* where none applies (the error is measured, not judged);
    * positivity: *holds* where every premature zero lies in a deviation excusing positivity;
    * each deviation: *holds* (it excuses something, within its bound), *grown*, *not needed*
      (nothing in its region needs excusing) or *empty* (no input of the format in its region).

    A sweep of a sample (float64) is judged on the inputs it measured, as the audit judges its
    own sample: ``every_input`` says which (every pattern of the format, or fewer).

    Not judged (``judged`` false, ``why`` saying so) where the statistics per class are missing
    (shards measured before they were recorded) or the budget file's deviations for the sweep are
    no longer those that cut it.
    """
    fmt = spec.fmt
    if stats is None:
        return {"judged": False, "why": "no statistics per region of the known deviations (measure the sweep again)"}
    now = regions_of(spec, stats.family, budgets)
    if now != stats.regions:
        return {
            "judged": False,
            "why": f"the known deviations of {budgets.source} for this sweep are not those its inputs were "
            "cut by (measure the sweep again)",
        }
    by_id: dict[str, Deviation] = {d.id: d for d in budgets.deviations}
    members = {r.id: [label for label in stats.classes if r.id in label.split(" + ")] for r in stats.regions}

    def excusing(prop: str) -> list[str]:
        return [r.id for r in stats.regions if prop in by_id[r.id].properties]

    def outside(prop: str) -> list[ClassTotals]:
        ids = set(excusing(prop))
        return [t for label, t in stats.classes.items() if not ids & set(filter(None, label.split(" + ")))]

    deviations, oracles = [], {}
    for oracle in ORACLE_ORDER:
        prop = accuracy_name(oracle)
        budget = budgets.budget_for(fmt, spec.quantity, oracle, spec.path, spec.beta, spec.threshold, spec.device)
        worst, inputs = Largest(), 0
        for t in outside(prop):
            worst.merge(t.oracles[oracle])
            inputs += t.inputs
        grown = []
        for rid in excusing(prop):
            inside = Largest()
            for label in members[rid]:
                inside.merge(stats.classes[label].oracles[oracle])
            region_inputs = sum(stats.classes[label].inputs for label in members[rid])
            bound = by_id[rid].bound(fmt)
            if not region_inputs:
                status = "empty"
            elif inside.argmax_bits >= 0 and inside.max_ulp > bound:
                status = "grown"
                grown.append(rid)
            elif inside.wrong_class or (budget is not None and inside.max_ulp > budget.max_ulp):
                status = "holds"
            else:
                status = "not needed"
            deviations.append(
                {
                    "id": rid,
                    "property": prop,
                    "inputs": region_inputs,
                    "max_ulp": json_float(inside.max_ulp) if inside.argmax_bits >= 0 else None,
                    "at": _example(fmt, inside.argmax_bits) if inside.argmax_bits >= 0 else None,
                    "bound": bound,
                    "wrong_class": inside.wrong_class,
                    "zeros": None,
                    "status": status,
                }
            )
        record = {
            "property": prop,
            "budget": None if budget is None else budget.max_ulp,
            "inputs_outside": inputs,
            "max_ulp_outside": json_float(worst.max_ulp) if worst.argmax_bits >= 0 else None,
            "worst_outside": None
            if worst.argmax_bits < 0
            else {
                **_example(fmt, worst.argmax_bits),
                "output": json_float(worst.argmax_output),
                "correctly_rounded": json_float(worst.argmax_rounded),
            },
            "wrong_class_outside": worst.wrong_class,
            "excused_by": excusing(prop),
        }
        if budget is None:
            record["verdict"] = "no budget"
            record["why"] = budgets.why_none(
                fmt, spec.quantity, oracle, spec.path, spec.beta, spec.threshold, spec.device
            )
        elif worst.max_ulp > budget.max_ulp or worst.wrong_class or grown:
            record["verdict"] = "exceeds budget"
        else:
            record["verdict"] = "within budget"
        oracles[oracle.value] = record
    zeros_outside = [t for t in outside(POSITIVITY) if t.zeros]
    for rid in excusing(POSITIVITY):
        region_inputs = sum(stats.classes[label].inputs for label in members[rid])
        zeros = sum(stats.classes[label].zeros for label in members[rid])
        status = "empty" if not region_inputs else "holds" if zeros else "not needed"
        deviations.append(
            {
                "id": rid,
                "property": POSITIVITY,
                "inputs": region_inputs,
                "max_ulp": None,
                "at": None,
                "bound": None,
                "wrong_class": None,
                "zeros": zeros,
                "status": status,
            }
        )
    positivity = {
        "property": POSITIVITY,
        "zeros_outside": sum(t.zeros for t in zeros_outside),
        "example_outside": _example(fmt, min(t.zero_bits for t in zeros_outside)) if zeros_outside else None,
        "zeros_inside": sum(t.zeros for t in stats.classes.values()) - sum(t.zeros for t in zeros_outside),
        "excused_by": excusing(POSITIVITY),
        "verdict": "fails" if zeros_outside else "holds",
    }
    verdicts = [r["verdict"] for r in oracles.values()]
    overall = (
        "fails"
        if "exceeds budget" in verdicts or positivity["verdict"] == "fails"
        else "no budget"
        if "no budget" in verdicts
        else "holds"
    )
    measured = sum(t.inputs for t in stats.classes.values())
    return {
        "judged": True,
        "verdict": overall,
        "inputs": measured,
        "every_input": measured == fmt.count,
        "budgets_file": budgets.source,
        "measured_on": budgets.measured_on.get(device_kind(spec.device)),
        "oracles": oracles,
        "positivity": positivity,
        "deviations": deviations,
    }
