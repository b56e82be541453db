"""The environment a measurement ran in: what a report needs to say for a result to be reproducible."""

from __future__ import annotations

import os
import platform
import subprocess
import sys


def environment() -> dict:
    """Versions (this tool and where it was imported from, Python, torch, NumPy, mpmath and its
    backend, hypothesis), the CPU and torch's CPU capability, torch's thread count, and the CUDA
    devices torch sees."""
    import hypothesis
    import mpmath
    import numpy as np
    import torch

    import suite

    info = {
        "softplus_audit": suite.__version__,
        "softplus_audit_from": package_origin(suite.__file__),
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
        "hypothesis_profile": _hypothesis_profile(),
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
        driver = nvidia_driver_version()
        info["cuda_devices"] = [cuda_device(i, driver) for i in range(torch.cuda.device_count())]
    return info


def _hypothesis_profile() -> str | None:
    """The hypothesis settings profile in force; None where this hypothesis cannot say (before 6.139)."""
    import hypothesis

    current = getattr(hypothesis.settings, "get_current_profile_name", None)
    return current() if current is not None else None


def package_origin(module_file: str) -> str:
    """Where a package was imported from: ``installed`` (a site-packages or dist-packages folder:
    pip install, a wheel, tox) or ``source tree`` (a checkout on the path, an editable install).

    It matters to the hypothesis search: hypothesis also draws examples from the numeric literals
    of the modules it takes for the user's own, those outside site-packages, so a derandomized
    search from a source tree tries other examples than the same search from an installed copy."""
    from pathlib import Path

    parts = Path(module_file).resolve().parts
    return "installed" if "site-packages" in parts or "dist-packages" in parts else "source tree"


def cuda_device(index: int, driver: str | None) -> dict:
    """One CUDA device as a run records it: index, name, compute capability, the NVIDIA driver."""
    import torch

    major, minor = torch.cuda.get_device_capability(index)
    name = torch.cuda.get_device_name(index)
    return {"index": index, "name": name, "capability": f"{major}.{minor}", "driver": driver}


def nvidia_driver_version() -> str | None:
    """The NVIDIA driver's version as ``nvidia-smi`` reports it (e.g. ``580.159.03``); None without it."""
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.split()
    return lines[0] if done.returncode == 0 and lines else None


def cuda_device_line(device: str) -> str:
    """One line naming a CUDA device as a measurement records it: its name, compute capability,
    the NVIDIA driver and the CUDA runtime torch was built with."""
    import torch

    if not torch.cuda.is_available():  # a device name torch cannot see (a test's synthetic device)
        return f"device {device} (not a CUDA device torch sees: torch.cuda.is_available() is False)"
    d = cuda_device(torch.device(device).index or 0, nvidia_driver_version())
    return (
        f"{d['name']} (compute capability {d['capability']}), driver {d['driver'] or 'unknown'}, "
        f"CUDA {torch.version.cuda}"
    )
