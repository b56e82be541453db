"""``torch.nn.functional.softplus`` compiled by ``torch.compile`` (TorchInductor, on the CPU).

Inductor does not call ATen's softplus kernel: it generates its own C++ loop from torch's
decomposition of softplus (and of its backward), so a compiled graph can round differently from
eager torch. This implementation audits that generated code:

* one compiled function per (dtype, quantity, beta, threshold): the parameters are Python
  floats, which Dynamo specializes on, and the input shape is fixed (:data:`CHUNK` elements,
  ``dynamic=False``), so each key compiles once (about 20 s for the first, a few after) and every
  later call reuses it. Dynamo's recompilation limit is raised and hitting it made an error:
  past the limit Dynamo would otherwise run eager torch, silently;
* one intra-op thread, inputs at the head of :data:`CHUNK`-element tensors (a multiple of every
  vector width: no scalar tail loop);
* the gradient is the compiled forward's ``torch.autograd.grad`` (AOTAutograd compiles the
  backward graph too); the second derivative is not available: torch raises "torch.compile with
  aot_autograd does not currently support double backward".

The report counts, per configuration, the outputs that differ from eager torch's SIMD path on
the same inputs (:meth:`TorchCompiled.counterpart`).
"""

from __future__ import annotations

import functools

import numpy as np

from suite.implementations.base import NATIVE_DTYPES, check_path
from suite.implementations.torch_eager import one_thread, tensor_bits_lines
from suite.implementations.torch_eager import resolve_device as torch_resolve_device
from suite.numerics.formats import Format
from suite.numerics.params import Quantity

PATH = "inductor"
CHUNK = 1 << 16
BACKEND, MODE = "inductor", "default"


@functools.cache
def _compiled(dtype_name: str, quantity: Quantity, beta: float, threshold: float):
    """The compiled function of one key: ``x -> softplus(x)`` or ``x -> d softplus/dx``."""
    import torch
    import torch._dynamo.config as dynamo

    dynamo.recompile_limit = max(dynamo.recompile_limit, 1024)
    dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, 4096)
    dynamo.fail_on_recompile_limit_hit = True  # never a silent fall back to eager

    def softplus(x):
        return torch.nn.functional.softplus(x, beta=beta, threshold=threshold)

    return torch.compile(softplus, backend=BACKEND, mode=MODE, dynamic=False, fullgraph=True)


class TorchCompiled:
    """``torch.compile(torch.nn.functional.softplus)`` (an implementation of the protocol in
    :mod:`suite.implementations.base`)."""

    spec = "torch.compile:softplus"
    short_name = "compiled"
    family = "torch"
    formula = (
        "Inductor's C++ from torch's decomposition: where(b*x > t, x, log1p(exp(b*x)) / b), half types in float32; "
        "gradient where(b*x > t, dy, dy * z / (z + 1)), z = exp(b*x)"
    )

    def __init__(self) -> None:
        import torch

        self.description = (
            f"torch.compile(torch.nn.functional.softplus), backend {BACKEND}, mode {MODE}, dynamic=False, "
            f"one thread (torch {torch.__version__})"
        )

    def resolve_device(self, name: str) -> str:
        return torch_resolve_device(name)

    def paths(self, device: str) -> tuple[str, ...]:
        return (PATH,)

    def counterpart(self, device: str) -> tuple[str, str]:
        """What the compiled outputs are compared with, input by input: eager torch's vector path."""
        return ("torch.nn.functional:softplus", "simd" if device == "cpu" else "device")

    def unsupported(self, fmt: Format, quantity: Quantity) -> str | None:
        if quantity is Quantity.GRAD2:
            return "torch.compile with aot_autograd does not currently support double backward (torch's words)"
        return None

    def evaluate(
        self,
        x: np.ndarray,
        fmt: Format,
        quantity: Quantity,
        beta: float,
        threshold: float,
        device: str = "cpu",
        path: str = PATH,
        native: bool = False,
    ) -> np.ndarray:
        import torch

        check_path(self, device, path)
        why = self.unsupported(fmt, quantity)
        if why:
            raise ValueError(why)
        function = _compiled(fmt.name, quantity, float(beta), float(threshold))
        dtype = fmt.torch_dtype()
        own = np.dtype(fmt.numpy_name) if fmt.name in NATIVE_DTYPES else None
        out = np.empty(len(x), dtype=own if (native and own is not None) else np.float64)
        values = np.asarray(x, dtype=np.float64)
        with one_thread():
            for start in range(0, len(values), CHUNK):
                part = values[start : start + CHUNK]
                base = torch.zeros(CHUNK, dtype=torch.float64)
                base[: len(part)] = torch.from_numpy(np.ascontiguousarray(part))
                base = base.to(dtype).to(device)
                if quantity is Quantity.FORWARD:
                    with torch.no_grad():
                        y = function(base)
                else:
                    base.requires_grad_(True)
                    (y,) = torch.autograd.grad(function(base), base, torch.ones(CHUNK, dtype=dtype, device=device))
                y = y.detach()[: len(part)].to("cpu")
                out[start : start + len(part)] = (y if out.dtype != np.float64 else y.to(torch.float64)).numpy()
        return out

    def reproducer(
        self,
        x: float,
        fmt: Format,
        quantity: Quantity,
        beta: float,
        threshold: float,
        device: str,
        path: str,
        output: float | None = None,
    ) -> str:
        lines = [
            "import torch",
            "torch.set_num_threads(1)",
            "f = torch.compile(",
            f"    lambda x: torch.nn.functional.softplus(x, beta={float(beta)!r}, threshold={float(threshold)!r}),",
            f"    backend={BACKEND!r}, mode={MODE!r}, dynamic=False, fullgraph=True,",
            ")",
            f"base = torch.zeros({CHUNK}, dtype=torch.{fmt.name}, device={device!r})  # the audit's shape",
            f"base[0] = float.fromhex('{float(x).hex()}')",
        ]
        if quantity is Quantity.FORWARD:
            lines.append("y = f(base)")
        else:
            lines += ["base.requires_grad_(True)", "y, = torch.autograd.grad(f(base), base, torch.ones_like(base))"]
        return "\n".join(lines + tensor_bits_lines(fmt, "y", output))


def compiled() -> TorchCompiled:
    """``torch.compile(torch.nn.functional.softplus)``."""
    return TorchCompiled()
