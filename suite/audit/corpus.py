"""Known upstream softplus problems, each a check that says *present* or *fixed* per implementation.

The corpus is data (``suite/data/corpus.toml``, or any file of the same form): each
``[[problem]]`` names the implementations it concerns (``families``: torch, jax, tensorflow,
onnxruntime, numpy, or ``*``), where to look (``dtype``, ``quantity``, ``beta``/``threshold`` for
implementations that take them, inputs ``x``), and what shows the problem (``present_when``, one of
:data:`PREDICATES`). A user adds a problem by adding an entry; no code.

Statuses: ``present`` (the predicate holds on the outputs), ``fixed`` (it does not), ``not
applicable`` (another family, or a dtype or quantity the implementation does not have).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.implementations.base import TargetFailedError, documented_parameters, has_parameters
from suite.numerics.fastref import fast_reference
from suite.numerics.formats import Format, format_named
from suite.numerics.params import Oracle, Params, Quantity
from suite.numerics.ulp import measure

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "corpus.toml"


class CorpusFileError(ValueError):
    """The corpus file is missing, does not parse, or has an entry that makes no sense."""


@dataclass(frozen=True)
class Problem:
    id: str
    description: str
    reference: str  # where it was reported upstream
    families: tuple[str, ...]
    fmt: Format
    quantity: Quantity
    beta: float
    threshold: float
    x: tuple[float, ...]
    present_when: str
    max_ulp: float | None = None  # for ulp_error_above


@dataclass(frozen=True)
class Outcome:
    """What one problem's check found on one implementation."""

    problem: str
    target: str
    implementation: str  # its description (version)
    status: str  # "present", "fixed", "not applicable"
    evidence: str
    device: str = "cpu"  # where it was evaluated (canonical: cpu, cuda, cuda:1)


def _exact(problem: Problem, x: np.ndarray, beta: float, threshold: float):
    params = Params.as_kernel_sees(beta, threshold, problem.fmt)
    return fast_reference(problem.quantity, x, params, problem.fmt, Oracle.MATH)


def _returns_inf(problem, x, y, beta, threshold) -> tuple[bool, str]:
    """Accepted without an error, and some output is ±inf."""
    bad = np.isinf(y)
    return bool(bad.any()), f"returned {y.tolist()}"


def _inf_where_finite(problem, x, y, beta, threshold) -> tuple[bool, str]:
    """Some output is ±inf where the exact value is finite."""
    exact = _exact(problem, x, beta, threshold).rounded
    bad = np.isinf(y) & np.isfinite(exact)
    return bool(bad.any()), f"returned {y.tolist()}, exact {exact.tolist()}"


def _nan_where_number(problem, x, y, beta, threshold) -> tuple[bool, str]:
    """Some output is NaN where the exact value is a number."""
    exact = _exact(problem, x, beta, threshold).rounded
    bad = np.isnan(y) & ~np.isnan(exact)
    return bool(bad.any()), f"returned {y.tolist()}, exact {exact.tolist()}"


def _zero_where_positive(problem, x, y, beta, threshold) -> tuple[bool, str]:
    """Some output is 0 where the correctly rounded exact value is positive."""
    exact = _exact(problem, x, beta, threshold).rounded
    bad = (y == 0) & (exact > 0)
    return bool(bad.any()), f"returned {y.tolist()}, correctly rounded {exact.tolist()}"


def _steps_down(problem, x, y, beta, threshold) -> tuple[bool, str]:
    """Over the inputs in increasing order, some output is smaller than the one before."""
    order = np.argsort(x)
    steps = np.diff(y[order]) < 0
    return bool(steps.any()), f"at x = {x[order].tolist()} returned {y[order].tolist()}"


def _ulp_error_above(problem, x, y, beta, threshold) -> tuple[bool, str]:
    """Some output is more than ``max_ulp`` ULPs from the exact value (a NaN output counts)."""
    ref = _exact(problem, x, beta, threshold)
    errors = measure(y, ref).ulp_error
    worst = float(np.nanmax(errors)) if np.isfinite(errors).any() else math.inf
    bad = (errors > problem.max_ulp) | np.isnan(errors)
    return bool(bad.any()), f"returned {y.tolist()}, {worst:.4g} ULP from the exact value (bound {problem.max_ulp:g})"


PREDICATES: dict[str, Callable] = {
    "returns_inf": _returns_inf,
    "inf_where_finite": _inf_where_finite,
    "nan_where_number": _nan_where_number,
    "zero_where_positive": _zero_where_positive,
    "steps_down": _steps_down,
    "ulp_error_above": _ulp_error_above,
}
"""What shows a problem: the names a corpus file may use in ``present_when``."""


def _number(entry: dict, key: str, where: str, default=None) -> float:
    value = entry.get(key, default)
    if value is None:
        raise CorpusFileError(f"{where}: missing '{key}'")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CorpusFileError(f"{where}: '{key}' must be a number, got {value!r}")
    try:
        return float(value)  # strings allow "inf", "nan" and hex floats' decimal forms
    except ValueError:
        raise CorpusFileError(f"{where}: '{key}' = {value!r} is not a number") from None


def load(path: str | Path | None = None) -> list[Problem]:
    """Read and check a corpus file; :class:`CorpusFileError` with one clear line."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise CorpusFileError(f"corpus file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CorpusFileError(f"corpus file {str(path)!r}: {error}") from None
    problems = []
    for n, entry in enumerate(data.get("problem", []), 1):
        where = f"{path}: problem #{n}"
        for key in ("id", "description", "reference", "families", "dtype", "quantity", "x", "present_when"):
            if key not in entry:
                raise CorpusFileError(f"{where}: missing '{key}'")
        if entry["present_when"] not in PREDICATES:
            raise CorpusFileError(
                f"{where}: present_when = {entry['present_when']!r}; accepted: {', '.join(PREDICATES)}"
            )
        try:
            fmt, quantity = format_named(entry["dtype"]), Quantity.named(entry["quantity"])
        except ValueError as error:
            raise CorpusFileError(f"{where}: {error}") from None
        xs = entry["x"] if isinstance(entry["x"], list) else [entry["x"]]
        problems.append(
            Problem(
                id=str(entry["id"]),
                description=str(entry["description"]),
                reference=str(entry["reference"]),
                families=tuple(entry["families"]) if isinstance(entry["families"], list) else (entry["families"],),
                fmt=fmt,
                quantity=quantity,
                beta=_number(entry, "beta", where, 1.0),
                threshold=_number(entry, "threshold", where, 20.0),
                x=tuple(_number({"x": v}, "x", where) for v in xs),
                present_when=entry["present_when"],
                max_ulp=_number(entry, "max_ulp", where) if entry["present_when"] == "ulp_error_above" else None,
            )
        )
    if not problems:
        raise CorpusFileError(f"corpus file {str(path)!r} has no [[problem]] entry")
    return problems


def check(problem: Problem, spec: str, implementation, device: str = "cpu") -> Outcome:
    """One problem on one implementation, on ``device`` (its canonical name, resolved by the
    implementation) along its first kernel path there."""
    description = getattr(implementation, "description", spec)
    family = getattr(implementation, "family", "torch")

    def outcome(status: str, evidence: str) -> Outcome:
        return Outcome(problem.id, spec, description, status, evidence, device)

    if "*" not in problem.families and family not in problem.families:
        return outcome("not applicable", f"about {', '.join(problem.families)}")
    why = implementation.unsupported(problem.fmt, problem.quantity)
    if why:
        return outcome("not applicable", why)
    beta, threshold = documented_parameters(implementation, problem.beta, problem.threshold)
    if not has_parameters(implementation) and (problem.beta, problem.threshold) != (1.0, 20.0):
        return outcome("not applicable", "it has no beta or threshold")
    x = np.array(problem.x, dtype=np.float64)
    path = implementation.paths(device)[0]
    try:
        y = implementation.evaluate(x, problem.fmt, problem.quantity, beta, threshold, device, path)
    except Exception as error:  # an error is the implementation's answer (e.g. refusing beta = 0)
        if isinstance(error, TargetFailedError):
            if error.__cause__ is None:  # it returned something that is no answer at all: a broken target
                raise
            error = error.__cause__  # the target's own exception, as it raised it
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return outcome("fixed", f"raises {type(error).__name__}: {message}")
    present, evidence = PREDICATES[problem.present_when](problem, x, y, beta, threshold)
    return outcome("present" if present else "fixed", evidence)


def markdown(problems: list[Problem], outcomes: list[Outcome]) -> str:
    """The corpus as a Markdown table: one row per problem, one column per implementation."""
    targets = list(dict.fromkeys(o.target for o in outcomes))
    by = {(o.problem, o.target): o for o in outcomes}
    devices = sorted({o.device for o in outcomes} - {"cpu"})
    lines = [
        "## Known upstream softplus problems" + (f" (on {', '.join(devices)})" if devices else ""),
        "",
        "| problem | upstream | " + " | ".join(f"`{t}`" for t in targets) + " |",
        "|---|---|" + "---|" * len(targets),
    ]
    for p in problems:
        cells = []
        for t in targets:
            o = by.get((p.id, t))
            cells.append("—" if o is None else (f"**{o.status}**" if o.status == "present" else o.status))
        lines.append(f"| `{p.id}`: {p.description} | {p.reference} | " + " | ".join(cells) + " |")
    lines += ["", "Evidence:", ""]
    lines += [
        f"- `{o.problem}` on `{o.target}`: {o.status}: {o.evidence}" for o in outcomes if o.status != "not applicable"
    ]
    return "\n".join(lines) + "\n"
