"""The environment a measurement ran in: what a report needs to say for a result to be reproducible."""

from __future__ import annotations

import os
import platform
import sys


def environment() -> dict:
    """Versions (this tool, Python, torch, NumPy, mpmath and its backend, hypothesis), the CPU and
    torch's CPU capability, torch's thread count, and the CUDA devices torch sees."""
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
        "hypothesis_profile": hypothesis.settings.get_current_profile_name(),
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
