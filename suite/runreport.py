"""The run's JSON: every measurement of an audit, versioned, written atomically.

``format`` is the version of this file's layout (separate from the tool's version). Floats
that may be non-finite are written as ``{"hex": ..., "repr": ...}`` so the file is strict
JSON (``allow_nan=False``); counts and rates are plain numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path

FORMAT = 1


def exact_float(value: float) -> dict:
    """A float as hex (exact, round-trips) and repr (readable); NaN and ±inf included."""
    value = float(value)
    return {"hex": value.hex() if math.isfinite(value) else repr(value), "repr": repr(value)}


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


def environment() -> dict:
    import hypothesis
    import mpmath
    import numpy as np
    import torch

    import suite

    info = {
        "softplus_audit": suite.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_cuda_build": torch.version.cuda,
        "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "ATEN_CPU_CAPABILITY": os.environ.get("ATEN_CPU_CAPABILITY"),
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "mpmath": mpmath.__version__,
        "mpmath_backend": mpmath.libmp.BACKEND,
        "hypothesis": hypothesis.__version__,
        "hypothesis_profile": hypothesis.settings._current_profile,
        "cuda_devices": [],
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            info["cuda_devices"].append({"index": i, "name": torch.cuda.get_device_name(i)})
    return info


def config_entry(result, search: dict | None) -> dict:
    config = result.config
    stats = {}
    for oracle, s in result.stats.items():
        entry = _plain(s)
        entry["correctly_rounded_rate"] = s.correctly_rounded_rate
        entry["faithful_rate"] = s.faithful_rate
        if s.worst is not None:
            entry["worst"]["x"] = exact_float(s.worst.x)
            entry["worst"]["output"] = exact_float(s.worst.output)
            entry["worst"]["exact"] = exact_float(s.worst.exact)
            entry["worst"]["correctly_rounded"] = exact_float(s.worst.correctly_rounded)
        stats[oracle] = entry
    properties = []
    for p in result.properties:
        properties.append(
            {
                "name": p.name,
                "passed": p.passed,
                "checked": p.checked,
                "violations": p.violations,
                "detail": p.detail,
                "counterexamples": [
                    {
                        **_plain(c),
                        "x": exact_float(c.x),
                        "output": exact_float(c.output),
                        "reproducer": config.reproducer(c.x),
                    }
                    for c in p.counterexamples
                ],
            }
        )
    return {
        "id": config.id,
        "target": config.target,
        "device": config.device,
        "dtype": config.dtype,
        "beta": config.beta,
        "threshold": config.threshold,
        "kernel_beta": exact_float(result.kernel_params.beta),
        "kernel_threshold": exact_float(result.kernel_params.threshold),
        "path": config.path,
        "quantity": config.quantity,
        "exhaustive": result.exhaustive,
        "stats": stats,
        "properties": properties,
        "known_deviations": [_plain(c) for c in result.deviations],
        "hypothesis_search": _plain(search) if search else None,
        "path_disagreement": _plain(result.path_disagreement),
        "verdict": "pass" if result.passed else "fail",
    }


def build(state, exit_status: int) -> dict:
    auditor = state.auditor
    results = [auditor.result(c) for c in auditor.configurations()]
    stale = auditor.stale_deviations()
    failing = [r.config.id for r in results if not r.passed]
    return {
        "format": FORMAT,
        "tool": "softplus-audit",
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": state.command,
        "environment": environment(),
        "settings": _plain(auditor.settings),
        "budgets_file": auditor.budgets.source,
        "not_audited": state.skipped,
        "verdict": "pass" if exit_status == 0 else "fail",
        "pytest_exit_status": exit_status,
        "summary": {
            "configurations": len(results),
            "failing_configurations": failing,
            "stale_deviations": stale,
            "tests": {k: sum(1 for v in state.outcomes.values() if v == k) for k in ("passed", "failed", "skipped")},
        },
        "configurations": [config_entry(r, state.searches.get(r.config.id)) for r in results],
        "parameter_cases": state.parameter_cases,
        "test_outcomes": state.outcomes,
    }


def write_text_atomically(text: str, path: str | Path) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomically(data: dict, path: str | Path) -> None:
    """Strict JSON (no NaN literals), written atomically."""
    write_text_atomically(json.dumps(data, indent=1, allow_nan=False) + "\n", path)


def write_run(state, path: str | Path, exit_status: int) -> None:
    write_json_atomically(build(state, exit_status), path)
    write_human_reports(path)


def write_human_reports(path: str | Path) -> None:
    """NAME.html and NAME.md beside NAME.json, rendered from the file just written (see
    :mod:`suite.report`). The JSON is the run's record and is already safe: a rendering problem
    is one warning line on stderr (re-render with ``softplus-audit report``), never an error."""
    path = Path(path)
    try:
        from suite.report import load_run, write_reports

        write_reports(load_run(path), html=path.with_suffix(".html"), md=path.with_suffix(".md"))
    except Exception as error:  # a report is a by-product: the run's verdict must stand
        print(
            f"softplus-audit: warning: HTML/Markdown reports not written ({type(error).__name__}: {error}); "
            f"retry with: softplus-audit report {path}",
            file=sys.stderr,
        )
