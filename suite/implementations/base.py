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

An implementation whose function has no ``beta`` or ``threshold`` (``jax.nn.softplus``,
``tf.math.softplus``, ONNX's ``Softplus``: ln(1 + e^x)) says so with the optional method
``documented_parameters(beta, threshold)``, returning :data:`NO_PARAMETERS`: whatever grid the
user gives, it is audited once, at beta = 1 with no threshold (t = +inf), where torch's
documented rule is the exact function itself, so both oracles agree. An optional ``formula``
attribute says in words what the implementation computes (its cut-offs, the dtype it computes
in, its derivative's formula); a run records it beside the implementation's description.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from suite.numerics.formats import Format
from suite.numerics.params import Quantity

NATIVE_DTYPES = ("float32", "float64")
"""Formats whose outputs :meth:`Implementation.evaluate` returns unconverted with ``native=True``."""


DEVICE_KINDS = ("cpu", "cuda")
"""The kinds of device an implementation may run on (``cuda:1`` is of kind ``cuda``): budgets and
known deviations are measured, and recorded, per kind."""


def device_kind(device: str) -> str:
    """The kind of a device name: ``cpu``, ``cuda`` (for ``cuda`` and ``cuda:N``)."""
    return device.split(":", 1)[0]


NO_PARAMETERS = (1.0, math.inf)
"""(beta, threshold) of an implementation without either: ln(1 + e^x), no threshold rule."""


class ImplementationError(ValueError):
    """An implementation that cannot be used: not importable, not callable, wrong signature."""


class TargetFailedError(ImplementationError):
    """A target that failed when called: it raised, or returned something other than a tensor like
    its input. The message names the target, what it did and (once known) the configuration; a
    raised exception is the ``__cause__``."""


class NotInstalledError(ImplementationError):
    """An optional framework that is not installed here (the message says how to install it)."""


def require(module: str, extra: str):
    """Import an optional framework's module; :class:`NotInstalledError` (one line) if it is absent."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise NotInstalledError(
            f"{module} is not installed ({error}); install it with: pip install 'softplus-audit[{extra}]'"
        ) from None


def documented_parameters(implementation, beta: float, threshold: float) -> tuple[float, float]:
    """The (beta, threshold) of torch's documented rule that state what ``implementation``
    computes at the grid point (beta, threshold): the point itself, or :data:`NO_PARAMETERS` for
    an implementation without them (the optional ``documented_parameters`` method)."""
    method = getattr(implementation, "documented_parameters", None)
    return (beta, threshold) if method is None else tuple(method(beta, threshold))


def inputs_per_call(implementation, fmt: Format, quantity: Quantity, path: str) -> int | None:
    """How many inputs ``implementation`` evaluates per call of its framework on ``path``, where it
    must go a few at a time (its optional method ``inputs_per_call(fmt, quantity, path)``); None: a
    chunk of any size per call."""
    method = getattr(implementation, "inputs_per_call", None)
    return None if method is None else method(fmt, quantity, path)


WHOLE_VECTORS = 256
"""Inputs are laid out in arrays whose length is a multiple of this: vectorized kernels (Eigen's
packets, XLA's and NumPy's SIMD loops, up to 64 half-precision lanes) then compute every element
in full vectors, never in a scalar remainder loop that may round differently, and a reproducer
puts its input at the head of an array this long to take the same path."""


def padded(x: np.ndarray, dtype) -> np.ndarray:
    """``x`` as ``dtype``, followed by zeros up to a multiple of :data:`WHOLE_VECTORS` elements."""
    out = np.zeros(-(-max(len(x), 1) // WHOLE_VECTORS) * WHOLE_VECTORS, dtype=dtype)
    out[: len(x)] = x
    return out


class CpuFunctionWithoutParameters:
    """What the implementations of ln(1 + e^x) alone on the CPU share: the device ``cpu``, one
    kernel path (the class's ``path``), :data:`NO_PARAMETERS`, and :meth:`evaluate` around the one
    thing each framework does its own way, :meth:`outputs`.

    ``evaluate`` checks the path, the quantity and the parameters, lays the inputs out in whole
    vectors of the format's own NumPy dtype (bfloat16, which NumPy lacks, as its bit patterns,
    ``uint16``: nothing is rounded on the way in or out), has :meth:`outputs` evaluate them, checks
    that as many outputs of the same dtype came back, and returns them as exact float64 values
    (or, with ``native``, float32/float64 as they are)."""

    spec: str
    path: str

    def resolve_device(self, name: str) -> str:
        if name != "cpu":
            raise DeviceUnavailableError(f"device {name!r}: {self.spec} is audited on the CPU only; accepted: cpu")
        return name

    def paths(self, device: str) -> tuple[str, ...]:
        return (self.path,)

    def documented_parameters(self, beta: float, threshold: float) -> tuple[float, float]:
        return NO_PARAMETERS

    def outputs(self, values: np.ndarray, fmt: Format, quantity: Quantity) -> np.ndarray:
        """``quantity`` at ``values`` (whole vectors of ``fmt``'s NumPy dtype, bfloat16 as ``uint16``
        bit patterns), as a NumPy array of the same dtype and length. Each framework's own."""
        raise NotImplementedError

    def evaluate(
        self,
        x: np.ndarray,
        fmt: Format,
        quantity: Quantity,
        beta: float,
        threshold: float,
        device: str = "cpu",
        path: str | None = None,
        native: bool = False,
    ) -> np.ndarray:
        """See :meth:`Implementation.evaluate`; the framework's part is :meth:`outputs`."""
        check_path(self, device, self.path if path is None else path)
        why = self.unsupported(fmt, quantity)
        if why:
            raise ValueError(why)
        if (beta, threshold) != NO_PARAMETERS:
            raise ValueError(f"{self.spec} has no beta or threshold; audit it at {NO_PARAMETERS}")
        if fmt.numpy_name is None:  # the bit patterns
            values = padded(fmt.encode(np.asarray(x, np.float64)), fmt.uint_dtype)
        else:
            values = padded(np.asarray(x).astype(fmt.numpy_name), fmt.numpy_name)
        with np.errstate(all="ignore"):  # overflow to inf is a measured outcome, not a warning
            y = np.asarray(self.outputs(values, fmt, quantity))
        if y.dtype != values.dtype or y.shape != values.shape:
            raise TypeError(
                f"{self.spec} returned {len(y)} {y.dtype} values for {len(values)} {fmt.name} inputs "
                f"({values.dtype} expected)"
            )
        y = y[: len(x)]
        if fmt.numpy_name is None:
            return fmt.decode(y)
        return y if native and fmt.name in NATIVE_DTYPES else y.astype(np.float64)


def has_parameters(implementation) -> bool:
    """Does ``implementation`` take beta and threshold (rather than audit ln(1 + e^x) alone)?"""
    return documented_parameters(implementation, 2.0, 3.0) == (2.0, 3.0)


def bits_lines(fmt: Format, value: str, output: float | None) -> list[str]:
    """Reproducer lines for NumPy-compatible outputs: ``value`` (an expression of an array or
    scalar) as a Python float and its bits, then an ``assert`` on the recorded ``output``'s bits."""
    width = fmt.width
    lines = [
        f"out = np.asarray({value}).reshape(-1)[:1]",
        f"bits = int(out.view(np.uint{width})[0])",
        f"print(repr(float(out[0])), f'0x{{bits:0{width // 4}x}}')",
    ]
    if output is not None:
        if output != output:  # NaN: its payload is not recorded
            lines.append("assert np.isnan(float(out[0])), out")
        else:
            expected = fmt.hex_of(output)
            lines.append(f"assert bits == {expected}, f'0x{{bits:0{width // 4}x}}, recorded {expected}'")
    return lines


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


def step_reproducer(reproduce, fmt: Format, before: tuple[float, float], after: tuple[float, float]) -> str:
    """The reproducer of a step the wrong way between two inputs, each given as ``(x, output)``:
    ``reproduce(x, output)`` (an implementation's :meth:`Implementation.reproducer` on the measured
    path) for each, in the order stepped, so that both outputs' bits are printed and asserted."""
    step = f"# {fmt.hex_of(before[0])} then {fmt.hex_of(after[0])}: the outputs step the wrong way"
    return "\n".join([step, reproduce(*before), reproduce(*after)])


def check_path(implementation: Implementation, device: str, path: str) -> None:
    """ValueError unless ``path`` is one of the implementation's paths on ``device``."""
    paths: Sequence[str] = implementation.paths(device)
    if path not in paths:
        raise ValueError(f"path {path!r} does not exist on {device}; accepted: {', '.join(paths)}")


def raised_words(error: BaseException) -> str:
    """An exception in one line: its type and its message's first line ('RuntimeError: boom')."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def configuration_words(fmt: Format, quantity: Quantity, beta: float, threshold: float, device: str, path: str) -> str:
    """Where a target was called, as its failures say it: 'float16 forward, beta=1.0, threshold=20.0,
    device cpu, path simd'."""
    return f"{fmt.name} {quantity.value}, beta={beta!r}, threshold={threshold!r}, device {device}, path {path}"


def target_failure(spec: str, error: BaseException, where: str) -> TargetFailedError:
    """A target's own exception as its failure, in one line: what it raised (or that it tried to
    exit the process, which would end a run silently, as if it had passed) and where."""
    if isinstance(error, SystemExit):
        return TargetFailedError(f"target {spec!r} tried to exit the process ({raised_words(error)}); {where}")
    return TargetFailedError(f"target {spec!r} raised {raised_words(error)}; {where}")


PROBES = (0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan)
"""Where :func:`check_answers` calls an implementation before anything is measured."""


def check_answers(
    implementation: Implementation,
    spec: str,
    fmt: Format,
    quantity: Quantity,
    beta: float,
    threshold: float,
    device: str,
    path: str,
) -> None:
    """Call ``implementation`` (named ``spec``) in one configuration at :data:`PROBES` and ask it
    for a reproducer at 1, before any measurement: :class:`TargetFailedError` (one line: the target,
    what it did, the configuration) where it raises, returns anything but a NumPy array of as many
    floats (a torch callable: no tensor like its input, in its own words), or makes no script."""
    where = "at " + configuration_words(fmt, quantity, beta, threshold, device, path)
    x = np.array(PROBES)
    try:  # a torch callable's failures are already one line; an object's own are its own words
        y = implementation.evaluate(x, fmt, quantity, beta, threshold, device, path)
        answered = isinstance(y, np.ndarray) and y.shape == x.shape and y.dtype.kind == "f"
        output = float(y[PROBES.index(1.0)]) if answered else None
        script = implementation.reproducer(1.0, fmt, quantity, beta, threshold, device, path, output)
    except TargetFailedError:
        raise
    except (Exception, SystemExit) as error:
        raise target_failure(spec, error, where) from (None if isinstance(error, SystemExit) else error)
    if not answered:
        if isinstance(y, np.ndarray):
            got = f"{len(y)} {y.dtype} values" if y.ndim == 1 else f"a {y.dtype} array of shape {y.shape}"
        else:
            got = f"a {type(y).__name__}"
        raise TargetFailedError(
            f"target {spec!r}: evaluate returned {got} for {len(x)} inputs, not a NumPy array of {len(x)} floats; "
            + where
        )
    if not isinstance(script, str):
        raise TargetFailedError(
            f"target {spec!r}: reproducer returned a {type(script).__name__}, not a script; {where}"
        )
