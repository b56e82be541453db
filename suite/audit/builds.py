"""torch's CPU capability builds side by side: each ``ATEN_CPU_CAPABILITY`` in its own process.

torch ships its CPU kernels compiled several times (``default``: no vector extensions; ``avx2``;
``avx512`` on x86) and picks one when it is imported, from the environment variable
``ATEN_CPU_CAPABILITY`` or the CPU. A build can only be chosen before torch is imported, so each
runs in its own interpreter: it writes the outputs of eager ``F.softplus`` (vector path, beta = 1,
threshold = 20) at the audit's inputs, then the audit itself. A build the CPU cannot run (the
process dies of SIGILL, or torch caps the request at a lower capability) is reported "unsupported
on this CPU" and never stops the others. Outputs are compared bit for bit with the ``default``
build's: the disagreement between builds.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from suite.numerics.formats import format_named

CAPABILITIES = {
    "x86_64": ("default", "avx2", "avx512"),
    "AMD64": ("default", "avx2", "avx512"),
    "aarch64": ("default", "sve256"),
    "ppc64le": ("default", "vsx"),
    "s390x": ("default", "zvector"),
}
"""The ATEN_CPU_CAPABILITY values torch builds kernels for, by machine architecture."""

TARGET = "torch.nn.functional:softplus"
PATH = "simd"


def capabilities_here() -> tuple[str, ...]:
    return CAPABILITIES.get(platform.machine(), ("default",))


@dataclass(frozen=True)
class Build:
    """What one requested capability gave."""

    requested: str
    ran: str | None  # what torch says it ran (torch.backends.cpu.get_cpu_capability()), None if it died
    status: str  # "audited", "unsupported on this CPU", "failed"
    detail: str
    run_file: str | None
    outputs_file: str | None


def dump_outputs(path: Path, formats: list[str], quantities: list[str]) -> str:
    """In this process (capability already chosen): F.softplus's output bits at the audit's inputs
    for each format and quantity (vector path, default parameters), saved to ``path``; returns the
    capability torch ran."""
    import torch

    from suite import implementations
    from suite.audit.engine import input_set
    from suite.numerics.params import Quantity

    softplus = implementations.load(TARGET)
    arrays = {}
    for name in formats:
        fmt = format_named(name)
        x, _ = input_set(fmt, 1.0, 20.0)
        arrays[f"{name}.x"] = fmt.encode(x)
        for quantity in quantities:
            y = softplus.evaluate(x, fmt, Quantity(quantity), 1.0, 20.0, "cpu", PATH)
            arrays[f"{name}.{quantity}"] = fmt.encode(y)
    ran = torch.backends.cpu.get_cpu_capability()
    np.savez_compressed(path, capability=np.array(ran), **arrays)
    return ran


def disagreement(base: Path, other: Path) -> dict[str, dict]:
    """Per ``dtype.quantity``: how many outputs of ``other`` differ bit for bit from ``base``'s (NaNs
    of any payload agree), and the first input that differs (its bits)."""
    a, b = np.load(base), np.load(other)
    out = {}
    for key in a.files:
        if key == "capability" or key.endswith(".x") or key not in b.files:
            continue
        dtype = key.split(".")[0]
        ya, yb = a[key], b[key]
        fmt = format_named(dtype)
        both_nan = np.isnan(fmt.decode(ya)) & np.isnan(fmt.decode(yb))
        differ = (ya != yb) & ~both_nan
        first = int(np.flatnonzero(differ)[0]) if differ.any() else None
        out[key] = {
            "inputs": len(ya),
            "differing": int(differ.sum()),
            "example_x_bits": fmt.hex(a[f"{dtype}.x"][first]) if first is not None else None,
        }
    return out


def run_builds(run_args: list[str], formats: list[str], quantities: list[str], out: Path) -> list[Build]:
    """Every capability of this architecture: dump its outputs, then audit it (``run_args`` are
    ``softplus-audit run`` options), each in a fresh interpreter with ATEN_CPU_CAPABILITY set."""
    builds = []
    for capability in capabilities_here():
        env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
        outputs = out / f"outputs-{capability}.npz"
        dump = subprocess.run(
            [sys.executable, "-m", "suite.audit.builds", str(outputs), ",".join(formats), ",".join(quantities)],
            env=env,
            capture_output=True,
            text=True,
        )
        if dump.returncode < 0 and -dump.returncode == signal.SIGILL:
            builds.append(Build(capability, None, "unsupported on this CPU", "the process died of SIGILL", None, None))
            continue
        if dump.returncode != 0:
            last = (dump.stderr.strip().splitlines() or ["no message"])[-1]
            builds.append(Build(capability, None, "failed", last, None, None))
            continue
        ran = dump.stdout.strip().splitlines()[-1]
        if ran.lower() != capability.lower():
            outputs.unlink(missing_ok=True)
            detail = f"torch ran {ran} instead: the CPU lacks {capability}"
            builds.append(Build(capability, ran, "unsupported on this CPU", detail, None, None))
            continue
        name = f"audit-{capability}"
        audit = subprocess.run(
            [sys.executable, "-m", "suite.cli", "run", "--exit-zero", *run_args, "--out", str(out), "--name", name],
            env=env,
            capture_output=True,
            text=True,
        )
        if audit.returncode != 0:
            last = (audit.stderr.strip().splitlines() or ["no message"])[-1]
            builds.append(Build(capability, ran, "failed", last, None, str(outputs)))
            continue
        builds.append(Build(capability, ran, "audited", "", str(out / f"{name}.json"), str(outputs)))
    return builds


def summary(builds: list[Build]) -> dict:
    """The builds and their disagreement with the first audited build (``default``)."""
    audited = [b for b in builds if b.status == "audited"]
    base = audited[0] if audited else None
    return {
        "builds": [asdict(b) for b in builds],
        "versus": base.requested if base else None,
        "disagreement": {b.requested: disagreement(Path(base.outputs_file), Path(b.outputs_file)) for b in audited[1:]}
        if base
        else {},
    }


def markdown(record: dict) -> str:
    """The builds and their disagreement as Markdown."""
    lines = ["## torch's CPU capability builds", "", "| requested | torch ran | status | detail |", "|---|---|---|---|"]
    for b in record["builds"]:
        lines.append(f"| {b['requested']} | {b['ran'] or '—'} | {b['status']} | {b['detail'] or ''} |")
    if record["disagreement"]:
        lines += [
            "",
            f"Outputs that differ bit for bit from the {record['versus']} build's (F.softplus, vector path, "
            "beta = 1, threshold = 20, the audit's inputs):",
            "",
            "| build | dtype.quantity | differing | of | share | first input |",
            "|---|---|---:|---:|---:|---|",
        ]
        for build, keys in record["disagreement"].items():
            for key, d in keys.items():
                share = d["differing"] / d["inputs"] if d["inputs"] else 0.0
                first = f"`{d['example_x_bits']}`" if d["example_x_bits"] else "—"
                lines.append(f"| {build} | {key} | {d['differing']:,} | {d['inputs']:,} | {share:.2%} | {first} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # one build's outputs, in a process whose capability was chosen by its parent
    print(dump_outputs(Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")))
