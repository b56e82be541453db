"""What is audited: a softplus implementation, a device, and the kernel path an input takes.

A *target* is any callable with ``torch.nn.functional.softplus``'s signature
``(input, beta=1.0, threshold=20.0) -> Tensor``; autograd gives its first and second
derivatives. Targets are named ``package.module:callable`` (``--target``); the built-in
ones are ``torch.nn.functional:softplus`` and ``torch.nn:Softplus`` (the module, wrapped).

Paths (BRIEF section 3). On CPU the same element can be computed by two code paths:

* ``simd``: the vectorized body of ``cpu_kernel_vec``. Inputs are laid out contiguously in
  a tensor whose length is a multiple of 256 elements, evaluated with one intra-op thread,
  so every element lies in a full vector chunk (no scalar remainder).
* ``scalar``: the scalar lambda. Inputs are a strided view (every second element of a
  buffer), which ``cpu_kernel_vec`` always processes element by element.

On CUDA there is one path, ``device``.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from suite.formats import Format
from suite.params import Quantity

CPU_PATHS = ("simd", "scalar")
DEVICE_PATH = "device"
SIMD_ALIGNMENT = 256  # a multiple of twice the widest vector (64 half elements under AVX-512)
CHUNK = 1 << 20

BUILTIN_TARGETS = {
    "torch.nn.functional:softplus": "torch.nn.functional.softplus",
    "torch.nn:Softplus": "torch.nn.Softplus (module)",
}


class TargetError(ValueError):
    """A target that cannot be used: not importable, not callable, wrong signature."""


class DeviceUnavailableError(ValueError):
    """A device that is not there (the message says why and what is)."""


@dataclass(frozen=True)
class Target:
    """A softplus implementation under audit."""

    spec: str  # how it was named, e.g. "torch.nn.functional:softplus"
    description: str
    fn: Callable

    def __call__(self, tensor, beta: float, threshold: float):
        return self.fn(tensor, beta=beta, threshold=threshold)


def _module_softplus(tensor, beta: float = 1.0, threshold: float = 20.0):
    import torch

    return torch.nn.Softplus(beta=beta, threshold=threshold)(tensor)


def load_target(spec: str) -> Target:
    """Import ``package.module:callable`` and check it accepts ``(input, beta=, threshold=)``."""
    if spec == "torch.nn:Softplus":
        return Target(spec, BUILTIN_TARGETS[spec], _module_softplus)
    if ":" not in spec:
        raise TargetError(
            f"target {spec!r} is not of the form package.module:callable (e.g. torch.nn.functional:softplus)"
        )
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # any import-time failure is the target's, reported in one line
        raise TargetError(
            f"target {spec!r}: cannot import module {module_name!r}: {type(error).__name__}: {error}"
        ) from None
    obj = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise TargetError(f"target {spec!r}: module {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TargetError(f"target {spec!r} is not callable")
    try:
        inspect.signature(obj).bind(object(), beta=1.0, threshold=20.0)
    except TypeError:
        raise TargetError(
            f"target {spec!r} does not accept (input, beta=..., threshold=...) like torch.nn.functional.softplus"
        ) from None
    except ValueError:
        pass  # builtins without a signature: trust the call
    return Target(spec, BUILTIN_TARGETS.get(spec, spec), obj)


def resolve_device(name: str) -> str:
    """Check that a device exists here; returns its canonical name (``cpu``, ``cuda``, ``cuda:1``)."""
    import torch

    if name == "cpu":
        return name
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            built = torch.version.cuda or "none"
            raise DeviceUnavailableError(
                f"device {name!r} is not available: torch.cuda.is_available() is False (torch {torch.__version__}, "
                f"CUDA build: {built}); accepted here: cpu"
            )
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"device {name!r} is not available: {torch.cuda.device_count()} CUDA device(s)"
            )
        return name
    raise DeviceUnavailableError(f"unknown device {name!r}; accepted: cpu, cuda, cuda:N")


def paths_for(device: str) -> tuple[str, ...]:
    return CPU_PATHS if device == "cpu" else (DEVICE_PATH,)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _layout(values, path: str, device: str):
    """A leaf tensor holding ``values`` and the view of it that the target receives."""
    import torch

    n = values.numel()
    if path == "scalar":
        base = torch.zeros(2 * n, dtype=values.dtype, device=device)
        base[::2] = values
        return base, lambda b: b[::2], lambda g: g[::2]
    padded = -(-n // SIMD_ALIGNMENT) * SIMD_ALIGNMENT if path == "simd" else n
    if padded == n and n and values.is_contiguous():
        return values, lambda b: b, lambda g: g  # already a whole number of vectors
    base = torch.zeros(max(padded, 1), dtype=values.dtype, device=device)
    base[:n] = values
    return base, lambda b: b, lambda g: g[:n]


NATIVE_DTYPES = ("float32", "float64")
"""Formats whose outputs :func:`evaluate` can return unconverted (``native=True``)."""


def evaluate(
    target: Target,
    x: np.ndarray,
    fmt: Format,
    quantity: Quantity,
    beta: float,
    threshold: float,
    device: str = "cpu",
    path: str = "simd",
    native: bool = False,
) -> np.ndarray:
    """The target's ``quantity`` at the inputs ``x`` (values of ``fmt``, as float64 or in the
    format's own NumPy dtype), as exact float64 values, or with ``native`` for a format of
    :data:`NATIVE_DTYPES`, in its own dtype (no conversion: the sweep's hot path).

    ``beta`` and ``threshold`` are passed as given (the kernel casts them itself).
    Derivatives come from autograd: ``d/dx`` of ``sum(f(x))`` and of ``sum(f'(x))``.
    """
    import torch

    if path not in paths_for(device):
        raise ValueError(f"path {path!r} does not exist on {device}; accepted: {', '.join(paths_for(device))}")
    dtype = fmt.torch_dtype()
    own = np.dtype(fmt.numpy_name) if fmt.name in NATIVE_DTYPES else None
    out_dtype = own if (native and own is not None) else np.dtype(np.float64)
    out = np.empty(len(x), dtype=out_dtype)
    context = _one_thread() if path == "simd" else contextlib.nullcontext()
    with context:
        for start in range(0, len(x), CHUNK):
            part = x[start : start + CHUNK]
            if own is not None and part.dtype == own:
                # the format's own values: one copy, which the target may even modify in place
                chunk = torch.from_numpy(np.ascontiguousarray(part)).clone()
            else:
                chunk = torch.from_numpy(np.ascontiguousarray(part, dtype=np.float64)).to(dtype)
            result = _evaluate_chunk(target, chunk, quantity, beta, threshold, device, path)
            out[start : start + len(chunk)] = result.to(
                "cpu", torch.float64 if out_dtype == np.float64 else dtype
            ).numpy()
    return out


def _evaluate_chunk(target, chunk, quantity, beta, threshold, device, path):
    """The outputs at one chunk, as a tensor of the chunk's dtype on ``device``."""
    import torch

    base, view, unview = _layout(chunk.to(device), path, device)
    if quantity is Quantity.FORWARD:
        with torch.no_grad():
            y = target(view(base), beta, threshold)
        # the output is a fresh tensor shaped like the view: the first n elements are ours
        return y.reshape(-1)[: chunk.numel()].detach()
    base.requires_grad_(True)
    y = target(view(base), beta, threshold)
    (grad,) = torch.autograd.grad(y, base, torch.ones_like(y), create_graph=quantity is Quantity.GRAD2)
    if quantity is Quantity.GRAD2:
        (grad,) = torch.autograd.grad(grad, base, torch.ones_like(grad))
    return unview(grad).detach()
