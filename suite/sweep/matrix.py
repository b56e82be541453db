"""A matrix of sweeps: every combination of targets, dtypes, quantities, parameters and paths,
run as one batch of shard tasks (on Dask distributed, or in this process), each configuration
merged from its checkpoints and reported.

The matrix is a small TOML file (``[matrix]``) or the same keys given as options:

* ``dtypes``: float16, bfloat16, float32 (required; every input of each);
* ``targets`` (default ``["torch.nn.functional:softplus"]``), ``quantities`` (default
  ``["forward"]``), ``parameters`` (``[[beta, threshold], ...]``, default ``[[1, 20]]``; an
  implementation without parameters is swept once, at beta = 1 without a threshold), ``paths``
  (default: each implementation's first path; ``["*"]``: all of its paths), ``shards`` (per
  configuration; default 1 for 16-bit formats, 64 for float32).

Each key of a file's ``[matrix]`` is checked as it is read (:data:`MATRIX_KEYS`): a value of the
wrong kind is one line naming the file, the key, what it holds and what is accepted.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from suite import implementations
from suite.implementations.base import documented_parameters
from suite.numerics.formats import FORMATS, format_named
from suite.numerics.params import Params, Quantity, grid_point_problem
from suite.sweep.shards import merge_shards, run_on_dask, run_sweep, shard_file
from suite.sweep.spec import SweepSpec, few_per_call_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _pairs(value) -> bool:
    def number(v) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(number(v) for v in pair) for pair in value
    )


MATRIX_KEYS = {
    "targets": (_strings, "a list of implementations, e.g. ['torch.nn.functional:softplus']", None),
    "dtypes": (_strings, "a list of dtypes, e.g. ['float16']", tuple(n for n in FORMATS if n != "float64")),
    "quantities": (_strings, "a list of quantities, e.g. ['forward']", tuple(q.value for q in Quantity)),
    "parameters": (_pairs, "a list of [beta, threshold] pairs of numbers, e.g. [[1.0, 20.0]]", None),
    "paths": (_strings, "a list of kernel paths, or ['*'] for each implementation's every path", None),
    "shards": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a whole number >= 1", None),
}
"""Every key of ``[matrix]``: its check, its words for the error, and the names accepted (None: any)."""

KEYS = tuple(MATRIX_KEYS)


@dataclass(frozen=True)
class Sweep:
    """One configuration of the matrix and its number of shards."""

    spec: SweepSpec
    shards: int


def from_toml(path: str | Path) -> dict:
    """The ``[matrix]`` table of a file; ValueError (one line) for anything else."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"matrix file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"matrix file {str(path)!r}: {error}") from None
    table = data.get("matrix")
    if not isinstance(table, dict):
        raise ValueError(f"matrix file {str(path)!r}: no [matrix] table; give one with dtypes = [...]")
    unknown = set(table) - set(KEYS)
    if unknown:
        raise ValueError(f"matrix file {str(path)!r}: unknown key(s) {sorted(unknown)}; accepted: {', '.join(KEYS)}")
    for key, value in table.items():
        holds, words, names = MATRIX_KEYS[key]
        if not holds(value):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise ValueError(f"matrix file {str(path)!r}: '{key}' must be {words}, got {shown}")
        for name in value if names else ():
            if name not in names:
                raise ValueError(f"matrix file {str(path)!r}: '{key}' has {name!r}; accepted: {', '.join(names)}")
    return table


def expand(table: dict) -> list[Sweep]:
    """Every configuration of the matrix; ValueError (one line) naming what is wrong."""
    if not table.get("dtypes"):
        raise ValueError("the matrix names no dtypes; give dtypes = ['float16', ...]")
    sweeps: dict[SweepSpec, Sweep] = {}
    for target in table.get("targets", ["torch.nn.functional:softplus"]):
        impl = implementations.load(target)
        device = impl.resolve_device("cpu")
        paths = impl.paths(device) if table.get("paths") == ["*"] else table.get("paths", [impl.paths(device)[0]])
        for name in table["dtypes"]:
            fmt = format_named(name)
            if fmt.width > 32:
                raise ValueError(f"dtype {name}: a matrix sweeps every input; float64 has too many (sweep it alone)")
            given = table.get("shards", 1 if fmt.width <= 16 else 64)
            shards = given if isinstance(given, int) and not isinstance(given, bool) else 0
            if shards < 1:
                raise ValueError(f"shards {given!r}: give a number of shards >= 1 per configuration")
            for quantity_name in table.get("quantities", ["forward"]):
                quantity = Quantity.named(quantity_name)
                if impl.unsupported(fmt, quantity):
                    continue
                for beta, threshold in table.get("parameters", [[1.0, 20.0]]):
                    problem = grid_point_problem(float(beta), float(threshold))
                    if problem:
                        raise ValueError(f"parameters [{beta!r}, {threshold!r}]: {problem}")
                    beta, threshold = documented_parameters(impl, float(beta), float(threshold))
                    Params.as_kernel_sees(beta, threshold, fmt)
                    for path in paths:
                        if path not in impl.paths(device):
                            raise ValueError(f"path {path!r} of {target}; accepted: {', '.join(impl.paths(device))}")
                        spec = SweepSpec(fmt, target, device, path, quantity, beta, threshold, False)
                        if shards > spec.units:
                            raise ValueError(f"shards {shards}: {name} has only {spec.units} inputs to cut into shards")
                        problem = few_per_call_problem(spec, impl)
                        if problem:
                            raise ValueError(f"{target}, {name}: {problem}")
                        sweeps.setdefault(spec, Sweep(spec, shards))
    return list(sweeps.values())


def run(sweeps: list[Sweep], out: Path, scheduler: str | None, workers: int, client=None, on_result=None) -> None:
    """Every shard of every configuration not yet checkpointed under ``out``: as one batch of Dask
    tasks (``scheduler``: ``local`` or an address; or ``client``), or one configuration after
    another in this process."""
    if scheduler is None and client is None:
        for sweep in sweeps:
            run_sweep(sweep.spec, out, sweep.shards, workers=workers)
        return
    tasks = [
        (sweep.spec, k, sweep.shards)
        for sweep in sweeps
        for k in range(sweep.shards)
        if not shard_file(out, sweep.spec, k, sweep.shards).exists()
    ]
    if tasks:
        run_on_dask(tasks, out, scheduler or "local", workers, client=client, on_result=on_result)


def merged(sweeps: list[Sweep], out: Path) -> list[tuple[SweepSpec, object, int]]:
    """Each configuration's statistics, merged from its checkpoints."""
    return [
        merge_shards([shard_file(out, s.spec, k, s.shards) for k in range(s.shards)]) for s in sweeps
    ]  # fmt: skip
