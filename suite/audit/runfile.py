"""The run file: every measurement of an audit as versioned JSON, written atomically.

``format`` is the version of this file's layout (separate from the tool's version). Floats that
may be non-finite are written as ``{"hex": ..., "repr": ...}`` (:func:`suite.files.exact_float`)
so the file is strict JSON; counts and rates are plain numbers. Everything a report shows is
recorded here (reproducers included), so that reports are rendered from this file alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np

from suite.environment import environment
from suite.files import binades_to_columns, exact_float, write_json_atomically
from suite.implementations.base import documented_parameters, step_reproducer

FILE_VERSION = 2
"""The layout version of a run file: its 'format' field (not a float format). 2: compact JSON, and
per-binade maxima as columns (:func:`suite.files.binades_to_columns`); 1: the list of entries."""


def _counterexample(auditor, config, c) -> dict:
    """A property's counterexample with its reproducer on the configuration's path; for a step,
    also the input stepped from, and a reproducer that evaluates both."""

    def reproduce(x: float, output: float) -> str:
        return auditor.reproducer(config, x, output)

    record = {**_plain(c), "x": exact_float(c.x), "output": exact_float(c.output)}
    if c.before is None:
        record["reproducer"] = reproduce(c.x, c.output)
    else:
        x, output = c.before
        record["before"] = {"x": exact_float(x), "x_bits": config.fmt.hex_of(x), "output": exact_float(output)}
        record["reproducer"] = step_reproducer(reproduce, config.fmt, c.before, (c.x, c.output))
    return record


def _plain(value):
    """Dataclasses, numpy scalars and non-finite floats made JSON-safe."""
    import numpy as np

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return exact_float(value)
    return value


def config_entry(auditor, result, search: dict | None) -> dict:
    """One configuration's record: its settings, statistics per oracle, properties with
    counterexamples and reproducers, known deviations, search and path disagreement."""
    config = result.config
    stats = {}
    for oracle, s in result.stats.items():
        entry = _plain(s)
        entry["binade_max"] = binades_to_columns(entry["binade_max"])
        entry["correctly_rounded_rate"] = s.correctly_rounded_rate
        entry["faithful_rate"] = s.faithful_rate
        entry["worst"] = _worst_record(auditor, config, s.worst)
        stats[oracle.value] = entry
    outside = {
        oracle.value: {"inputs": o.inputs, "worst": _worst_record(auditor, config, o.worst)}
        for oracle, o in result.outside_deviations.items()
    }
    properties = []
    for p in result.properties:
        properties.append(
            {
                "name": p.name,
                "passed": p.verdict == "pass",
                "verdict": p.verdict,
                "checked": p.checked,
                "violations": p.violations,
                "detail": p.detail,
                "counterexamples": [_counterexample(auditor, config, c) for c in p.counterexamples],
            }
        )
    return {
        "id": config.id,
        "target": config.target,
        "family": config.family,
        "device": config.device,
        "dtype": config.fmt.name,
        "beta": config.beta,
        "threshold": _plain(config.threshold),  # +inf: an implementation without a threshold
        "kernel_beta": exact_float(result.kernel_params.beta),
        "kernel_threshold": exact_float(result.kernel_params.threshold),
        "path": config.path,
        "quantity": config.quantity.value,
        "exhaustive": result.exhaustive,
        "inputs_digest": result.inputs_digest,
        "budgets": auditor.budgets_of(config),
        "every_input": auditor.every_input_of(config),
        "sweep_sample": auditor.sweep_sample_of(config),
        "stats": stats,
        "outside_deviations": outside,
        "properties": properties,
        "known_deviations": [_plain(c.as_record()) for c in result.deviations],
        "hypothesis_search": _plain(search) if search else None,
        "path_disagreement": _plain(result.path_disagreement),
        "zeros": _zeros_record(auditor, config, result.zeros),
        "knife_edges": result.knife_edges,
        "verdict": result.verdict,
    }


def _worst_record(auditor, config, worst) -> dict | None:
    """An input with its largest error (:class:`suite.numerics.stats.Worst`) as the file records
    it: exact floats, and the reproducer on the configuration's path."""
    if worst is None:
        return None
    return {
        **_plain(worst),
        "x": exact_float(worst.x),
        "output": exact_float(worst.output),
        "exact": exact_float(worst.exact),
        "correctly_rounded": exact_float(worst.correctly_rounded),
        "reproducer": auditor.reproducer(config, worst.x, worst.output),
    }


def build(state, exit_status: int) -> dict:
    """The run file's content from an audit session (:class:`suite.audit.plugin.AuditSession`)."""
    from suite.audit.engine import DEFAULT_GRID
    from suite.implementations import DEFAULT_TARGETS

    auditor = state.auditor
    results = [auditor.result(c) for c in auditor.configurations()]
    stale = auditor.stale_deviations()
    failing = [r.config.id for r in results if r.verdict == "fail"]
    unbudgeted = [r.config.id for r in results if r.verdict == "no budget"]
    verdict = "fail" if exit_status != 0 else ("no budget" if unbudgeted else "pass")
    return {
        "format": FILE_VERSION,
        "tool": "softplus-audit",
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": state.command,
        # what ran: the machine and torch, and each implementation in its own words (its version)
        "environment": {
            **environment(),
            **{f"target {k}": v.description for k, v in auditor.implementations.items()},
            # what each computes, where it says (another framework's formula explains its deviations)
            **{f"formula {k}": v.formula for k, v in auditor.implementations.items() if getattr(v, "formula", None)},
        },
        "settings": _plain(auditor.settings.record()),
        "defaults": {"targets": list(DEFAULT_TARGETS), "grid": [list(pair) for pair in DEFAULT_GRID]},
        "budgets_file": auditor.budgets.source,
        "not_audited": {**state.skipped, **auditor.not_audited},
        "verdict": verdict,
        "pytest_exit_status": exit_status,
        "summary": {
            "configurations": len(results),
            "failing_configurations": failing,
            "configurations_without_budget": unbudgeted,
            "stale_deviations": stale,
            "tests": {k: sum(1 for v in state.outcomes.values() if v == k) for k in ("passed", "failed", "skipped")},
        },
        "configurations": [config_entry(auditor, r, state.searches.get(r.config.id)) for r in results],
        "parameter_cases": state.parameter_cases,
        "reference_points": reference_points(auditor),
        "test_outcomes": state.outcomes,
    }


REFERENCE_INPUTS = (-2.0, 0.0, 5.0)
"""Inputs at which the run records softplus's exact value (beta = 1), for the reports' claims."""


def _zeros_record(auditor, config, zeros) -> dict | None:
    """Outputs exactly 0 where the correct rounding is positive (the first with a reproducer), and
    NaN outputs where the exact value is a number (counted apart: a NaN is not a zero)."""
    if zeros is None:
        return None
    example = None
    if zeros.premature_x is not None:
        fmt = config.fmt
        example = {
            "x_bits": fmt.hex_of(zeros.premature_x),
            "x": exact_float(zeros.premature_x),
            "output": exact_float(zeros.premature_output),
            "reproducer": auditor.reproducer(config, zeros.premature_x, zeros.premature_output),
        }
    nan_x = exact_float(zeros.nan_x) if zeros.nan_x is not None else None
    return {"premature": zeros.premature, "example": example, "nan": zeros.nan, "nan_example_x": nan_x}


def reference_points(auditor) -> list[dict]:
    """At each of :data:`REFERENCE_INPUTS` (beta = 1, threshold = 20): the exact forward value (25
    significant digits), its correct rounding into each audited format, and what every audited
    implementation returns there, in every format and on every path (measured at the input itself,
    not inferred from a sample), with its ULP error and a reproducer. A report states them without
    computing anything."""
    import mpmath

    from suite.audit.engine import Configuration
    from suite.numerics.fastref import fast_reference
    from suite.numerics.params import Oracle, Params, Quantity
    from suite.numerics.reference import exact_value
    from suite.numerics.ulp import measure, sharpen

    formats = auditor.settings.formats
    audited = {c.id for c in auditor.configurations()}
    points = []
    for x in REFERENCE_INPUTS:
        exact = exact_value(Quantity.FORWARD, x, Params(), digits=25)
        # the truth at x, once per format (the fast reference's rounding is the correct rounding)
        params = {fmt: Params.as_kernel_sees(1.0, 20.0, fmt) for fmt in formats}
        references = {
            fmt: fast_reference(Quantity.FORWARD, np.array([x]), params[fmt], fmt, Oracle.MATH) for fmt in formats
        }
        measured = []
        for spec, impl in auditor.implementations.items():
            for device in auditor.devices:
                for path in impl.paths(device):
                    for fmt in formats:
                        if impl.unsupported(fmt, Quantity.FORWARD):
                            continue
                        # the seed's default parameters, or ln(1 + e^x) where there are none (the same
                        # values at these inputs: all lie below the threshold)
                        beta, threshold = documented_parameters(impl, 1.0, 20.0)
                        config = Configuration(
                            spec, device, fmt, beta, threshold, path, Quantity.FORWARD, label=impl.short_name
                        )
                        y = auditor.evaluate_at(config, x)
                        ref, ys = references[fmt], np.array([y])
                        m = sharpen(
                            measure(ys, ref), np.array([x]), ys, ref, Quantity.FORWARD, params[fmt], Oracle.MATH
                        )
                        measured.append(
                            {
                                "target": spec,
                                "device": device,
                                "path": path,
                                "dtype": fmt.name,
                                "config_id": config.id if config.id in audited else None,
                                "output": exact_float(y),
                                "output_bits": fmt.hex_of(y) if y == y else "nan",
                                "ulp_error": _plain(float(m.ulp_error[0])),
                                "correctly_rounded": bool(m.correctly_rounded[0]),
                                "faithful": bool(m.faithful[0]),
                                "reproducer": auditor.reproducer(config, x, y),
                            }
                        )
        points.append(
            {
                "x": x,
                "quantity": Quantity.FORWARD.value,
                "beta": 1.0,
                "threshold": 20.0,
                "exact": mpmath.nstr(exact, 25),
                "correctly_rounded": {fmt.name: exact_float(ref.rounded[0]) for fmt, ref in references.items()},
                "measured": measured,
            }
        )
    return points


def write_run(state, path: str | Path, exit_status: int) -> None:
    """Write the run file (atomically)."""
    write_json_atomically(build(state, exit_status), path, compact=True)
