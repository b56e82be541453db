"""The audit's options: one table feeds both the command line (``softplus-audit run``/``budgets``)
and the pytest plugin (``pytest --audit-target ...``), and one function turns their values into
:class:`~suite.audit.engine.AuditSettings`. Names are converted to types here, at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from suite.audit.defaults import DEFAULT_GRID
from suite.implementations import DEFAULT_TARGETS
from suite.numerics.formats import FORMATS, format_named
from suite.numerics.params import Quantity, grid_point_problem

GRID_FORM = "'beta,threshold' pairs separated by ';' (e.g. --grid '1,20;0.1,20')"


def parse_grid(text: str) -> tuple[tuple[float, float], ...]:
    """``"1,20;0.1,20"`` -> ((1.0, 20.0), (0.1, 20.0)); ValueError naming the accepted form.

    Every beta must be a finite number > 0: the reference is defined there. Beta = 0, < 0, NaN,
    inf and values that overflow the kernel's compute format are judged by the parameter cases
    (:mod:`suite.audit.parameter_cases`), not by a grid point. A threshold is a number or inf (no
    threshold); NaN and -inf are judged by the parameter cases too. An empty grid, or an empty
    entry between ';', is an error, not the default grid.
    """
    parts = text.split(";")
    if not any(part.strip() for part in parts):
        raise ValueError(f"--grid is empty; give {GRID_FORM}")
    pairs = []
    for part in parts:
        if not part.strip():
            raise ValueError(f"--grid {text!r} has an empty entry between ';'; give {GRID_FORM}")
        try:
            beta, threshold = (float(v) for v in part.split(","))
        except ValueError:
            raise ValueError(f"--grid entry {part!r} is not 'beta,threshold'; give {GRID_FORM}") from None
        problem = grid_point_problem(beta, threshold)
        if problem:
            raise ValueError(f"--grid entry {part!r}: {problem}")
        pairs.append((beta, threshold))
    return tuple(pairs)


@dataclass(frozen=True)
class AuditOption:
    """One option: ``--NAME`` on the command line, ``--audit-NAME`` under pytest."""

    name: str
    help: str
    repeatable: bool = False
    metavar: str | None = None

    @property
    def cli_flag(self) -> str:
        return f"--{self.name}"

    @property
    def pytest_flag(self) -> str:
        # prefixed: a plugin that any pytest run may load must not take common names such as --device
        return f"--audit-{self.name}"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


def grid_text(grid) -> str:
    """The ``--grid`` text of (beta, threshold) pairs (the inverse of :func:`parse_grid`): each
    number short where that is exact (``0.1``), else in full."""

    def number(value: float) -> str:
        short = f"{value:g}"
        return short if float(short) == value else repr(float(value))

    return ";".join(f"{number(b)},{number(t)}" for b, t in grid)


OPTIONS = (
    AuditOption(
        "target",
        "package.module:callable with F.softplus's signature, or an object following the implementation "
        f"protocol (repeatable; default: {' and '.join(DEFAULT_TARGETS)})",
        repeatable=True,
    ),
    AuditOption(
        "device",
        "cpu, cuda or cuda:N (repeatable; default: cpu, and cuda is reported as not audited when absent)",
        repeatable=True,
    ),
    AuditOption("dtype", f"{', '.join(FORMATS)} (repeatable; default: all)", repeatable=True),
    AuditOption("quantity", f"{', '.join(q.value for q in Quantity)} (repeatable; default: all)", repeatable=True),
    AuditOption("grid", f"'beta,threshold;beta,threshold' (default: {grid_text(DEFAULT_GRID)})"),
    AuditOption("budgets", "budget and known-deviation TOML (default: the packaged one)", metavar="FILE"),
)


def settings_from(values: dict[str, Sequence[str] | str | None], devices: Sequence[str] = ("cpu",)):
    """:class:`AuditSettings` from option values by :attr:`AuditOption.dest` (lists for repeatable
    options, None where not given). ``devices`` are the devices already resolved. ValueError (one
    line naming what is accepted) for a name that is not a dtype or quantity, or a bad grid."""
    from suite.audit.engine import AuditSettings

    grid = values.get("grid")
    return AuditSettings(
        targets=tuple(values.get("target") or DEFAULT_TARGETS),
        devices=tuple(devices),
        formats=tuple(format_named(d) for d in values.get("dtype") or FORMATS),
        grid=parse_grid(grid) if grid is not None else DEFAULT_GRID,
        quantities=tuple(Quantity.named(q) for q in values.get("quantity") or [q.value for q in Quantity]),
        budgets_file=values.get("budgets"),
    )
