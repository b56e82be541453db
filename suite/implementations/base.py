"""The implementation protocol: what the audit needs of any softplus implementation.

An *implementation* turns an array of inputs of one float format into the outputs of one
quantity (the forward value, the first or the second derivative) at given parameters, on a
device, along a kernel path. Everything above this layer (the audit, the sweeps, the reports)
talks to implementations through :class:`Implementation` only; a new framework is one module
that provides one, and one line in :data:`suite.implementations.REGISTRY`.

Inputs and outputs are NumPy arrays of exact values: float64 arrays hold every value of
float16, bfloat16 and float32 exactly, so they carry any format; ``native=True`` asks for
float32/float64 outputs in the format's own dtype (the sweep's hot path, no conversion).

Parameters are passed as the user gives them (``beta``, ``threshold``); an implementation
casts them as its kernel does. An implementation that rejects a parameter raises an exception
with a message (a clear error is an acceptable outcome for out-of-range parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from suite.numerics.formats import Format
from suite.numerics.params import Quantity

NATIVE_DTYPES = ("float32", "float64")
"""Formats whose outputs :meth:`Implementation.evaluate` returns unconverted with ``native=True``."""


class ImplementationError(ValueError):
    """An implementation that cannot be used: not importable, not callable, wrong signature."""


class DeviceUnavailableError(ValueError):
    """A device that is not there (the message says why, and what is)."""


@runtime_checkable
class Implementation(Protocol):
    """A softplus implementation under audit.

    Attributes:
        spec: the name it is selected by (``--target``), e.g. ``torch.nn.functional:softplus``.
        description: one line for reports.
        short_name: a compact label used in configuration ids (e.g. ``F.softplus``).
        family: the code that evaluates it (e.g. ``torch``), for grouping in reports.
    """

    spec: str
    description: str
    short_name: str
    family: str

    def resolve_device(self, name: str) -> str:
        """The canonical name of device ``name`` here; :class:`DeviceUnavailableError` (one line
        naming what is accepted) when it is unknown or absent."""
        ...

    def paths(self, device: str) -> tuple[str, ...]:
        """The kernel paths an element can take on ``device`` (each audited on its own)."""
        ...

    def unsupported(self, fmt: Format, quantity: Quantity) -> str | None:
        """Why ``quantity`` in ``fmt`` cannot be audited here (None: it can)."""
        ...

    def evaluate(
        self,
        x: np.ndarray,
        fmt: Format,
        quantity: Quantity,
        beta: float,
        threshold: float,
        device: str,
        path: str,
        native: bool = False,
    ) -> np.ndarray:
        """``quantity`` at the inputs ``x`` (values of ``fmt``, as float64 or in the format's own
        NumPy dtype), as exact float64 values or, with ``native`` for float32/float64, in the
        format's own dtype. ``len(result) == len(x)``."""
        ...

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
        """A short script a user can paste to evaluate this configuration at ``x`` on ``path``; it
        prints the output's bits and, given the recorded ``output``, asserts them."""
        ...


def check_path(implementation: Implementation, device: str, path: str) -> None:
    """ValueError unless ``path`` is one of the implementation's paths on ``device``."""
    paths: Sequence[str] = implementation.paths(device)
    if path not in paths:
        raise ValueError(f"path {path!r} does not exist on {device}; accepted: {', '.join(paths)}")
