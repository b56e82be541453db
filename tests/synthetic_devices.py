"""SYNTHETIC, for tests only: torch's CPU kernel presented as a ``cuda`` device.

Machines without a GPU (CI's) cannot run torch on CUDA, but everything around a device that is not
the CPU can be tested for real: budgets keyed by device ("no budget recorded for cuda"), the budgets
measured for a device, the report of a run on it, the sweep's batched evaluation and the
device-against-CPU disagreement. :data:`cpu_kernel_as_cuda` accepts the device name ``cuda`` and
evaluates on the CPU (torch's vector path, one thread): its numbers are the CPU's, so nothing made
with it is a CUDA result, and its description says so in every run file and report it appears in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.implementations import torch_eager
from suite.implementations.base import check_path
from suite.numerics.formats import Format
from suite.numerics.params import Quantity

SYNTHETIC_DEVICE = "cuda"


@dataclass(frozen=True)
class CpuKernelAsCuda:
    """torch.nn.functional.softplus's CPU vector path, answering to the device name ``cuda``."""

    spec: str = "tests.synthetic_devices:cpu_kernel_as_cuda"
    description: str = "SYNTHETIC (tests only): torch's CPU vector kernel presented as device cuda"
    short_name: str = "synthetic-cuda"
    family: str = "torch"

    def resolve_device(self, name: str) -> str:
        if name == SYNTHETIC_DEVICE:
            return name
        return torch_eager.resolve_device(name)

    def paths(self, device: str) -> tuple[str, ...]:
        return torch_eager.paths_for(device)

    def unsupported(self, fmt: Format, quantity: Quantity) -> str | None:
        return None

    def _cpu(self, device: str, path: str) -> tuple[str, str]:
        check_path(self, device, path)
        return ("cpu", "simd") if device == SYNTHETIC_DEVICE else (device, path)

    def evaluate(
        self,
        x: np.ndarray,
        fmt: Format,
        quantity: Quantity,
        beta: float,
        threshold: float,
        device: str = "cpu",
        path: str = "simd",
        native: bool = False,
    ) -> np.ndarray:
        device, path = self._cpu(device, path)
        return torch_eager.functional().evaluate(x, fmt, quantity, beta, threshold, device, path, native=native)

    def reproducer(self, x, fmt, quantity, beta, threshold, device, path, output=None) -> str:
        device, path = self._cpu(device, path)
        script = torch_eager.functional().reproducer(x, fmt, quantity, beta, threshold, device, path, output)
        return "# SYNTHETIC device: this is torch's CPU vector path\n" + script


cpu_kernel_as_cuda = CpuKernelAsCuda()
