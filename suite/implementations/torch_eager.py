"""torch eager softplus, and any callable with ``torch.nn.functional.softplus``'s signature.

The built-in implementations are ``torch.nn.functional:softplus`` and ``torch.nn:Softplus``
(the module, wrapped); a user's ``package.module:callable`` taking ``(input, beta=, threshold=)``
and returning a tensor is audited the same way. Autograd gives the derivatives: ``d/dx`` of
``sum(f(x))`` and of ``sum(f'(x))``.

Kernel paths (docs/numerics.md, "How torch computes it: kernel paths"). On CPU the same element
can be computed by two code paths of ``cpu_kernel_vec``:

* ``simd``: the vectorized body. Inputs are laid out contiguously in a tensor whose length is
  a multiple of :data:`SIMD_ALIGNMENT` elements, evaluated with one intra-op thread, so every
  element lies in a full vector (no scalar remainder).
* ``scalar``: the scalar lambda. Inputs are a strided view (every second element of a buffer),
  which ``cpu_kernel_vec`` always processes element by element. The second derivative is several
  kernels, and all but the first run on fresh contiguous intermediates; those are computed element
  by element only when shorter than two vectors, so on this path it is evaluated a few inputs per
  call (:func:`scalar_group`), each input as it comes out alone.

On CUDA there is one path, ``device``.
"""

from __future__ import annotations

import contextlib
import inspect
import platform
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from suite.implementations.base import (
    NATIVE_DTYPES,
    DeviceUnavailableError,
    ImplementationError,
    TargetFailedError,
    check_path,
    configuration_words,
    raised_words,
)
from suite.numerics.formats import Format
from suite.numerics.params import Quantity

CPU_PATHS = ("simd", "scalar")
DEVICE_PATH = "device"
SIMD_ALIGNMENT = 256  # a multiple of twice the widest vector (64 half elements under AVX-512)
CHUNK = 1 << 20
GROUPS_PER_PASS = 4096  # groups of a few inputs differentiated in one autograd pass (scalar_group)


def resolve_device(name: str) -> str:
    """Check that a torch device exists here; returns its canonical name (``cpu``, ``cuda``, ``cuda:1``).

    The name's form is checked first (``cpu``, ``cuda`` or ``cuda:N``, N a decimal index without
    leading zeros), then whether torch has that device here."""
    import torch

    if name == "cpu":
        return name
    form = re.fullmatch(r"cuda(?::(0|[1-9][0-9]*))?", name)
    if form is None:
        raise DeviceUnavailableError(f"unknown device {name!r}; accepted: cpu, cuda, cuda:N (N = 0, 1, ...)")
    if not torch.cuda.is_available():
        built = torch.version.cuda or "none"
        raise DeviceUnavailableError(
            f"device {name!r} is not available: torch.cuda.is_available() is False (torch {torch.__version__}, "
            f"CUDA build: {built}); accepted here: cpu"
        )
    count = torch.cuda.device_count()
    if int(form.group(1) or 0) >= count:
        accepted = ", ".join(["cpu", "cuda", *(f"cuda:{i}" for i in range(count))])
        raise DeviceUnavailableError(
            f"device {name!r} is not available: {count} CUDA device(s); accepted here: {accepted}"
        )
    return name


def scalar_group(itemsize: int) -> int:
    """How many inputs of ``itemsize`` bytes one call may hold so that every kernel of autograd's
    second derivative computes them with the scalar lambda: fewer than two vectors, ``2V - 1``.

    ``cpu_kernel_vec`` runs blocks of ``2V`` contiguous elements on the vector code and only the rest
    on the scalar lambda. ``V`` is at least ``32 / itemsize`` on x86 (the vector type of torch's
    ``default`` and AVX2 builds is 32 bytes wide, AVX-512's 64) and taken as ``16 / itemsize``
    elsewhere (NEON's 128-bit registers; an ARM build also calls itself ``DEFAULT``, so the machine
    decides, not the capability): float64 7 (3), float32 15 (7), half types 31 (15)."""
    x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    return 2 * (32 if x86 else 16) // itemsize - 1


def paths_for(device: str) -> tuple[str, ...]:
    """torch's kernel paths on ``device``: ``simd`` and ``scalar`` on CPU, ``device`` elsewhere."""
    return CPU_PATHS if device == "cpu" else (DEVICE_PATH,)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _layout(values, path: str, device: str):
    """A leaf tensor holding ``values`` and the view of it that the implementation receives."""
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


@dataclass(frozen=True)
class TorchCallable:
    """A torch callable ``fn(input, beta=, threshold=) -> Tensor`` as an :class:`Implementation`."""

    spec: str  # how it was named, e.g. "torch.nn.functional:softplus"
    description: str
    fn: Callable
    short_name: str = ""
    call_template: str = ""  # the reproducer's call, with {b} and {t}; default: spec(x, beta=, threshold=)
    family: str = "torch"

    def __call__(self, tensor, beta: float, threshold: float):
        """The callable's output at ``tensor``; :class:`TargetFailedError` where it raises or returns
        anything but a tensor of the input's shape, dtype and device (with a gradient where the input
        asks for one)."""
        import torch

        try:
            y = self.fn(tensor, beta=beta, threshold=threshold)
        except SystemExit as error:  # it would end the audit silently, as if it had passed
            raise TargetFailedError(f"target {self.spec!r} tried to exit the process ({raised_words(error)})") from None
        except Exception as error:
            raise TargetFailedError(f"target {self.spec!r} raised {raised_words(error)}") from error
        if isinstance(y, torch.Tensor) and (y.shape, y.dtype, y.device) == (tensor.shape, tensor.dtype, tensor.device):
            if not tensor.requires_grad or y.requires_grad or not torch.is_grad_enabled():
                return y
            got = "a tensor that does not depend on its input (no gradient)"
        elif isinstance(y, torch.Tensor):
            got = f"a tensor of {_elements(y.numel(), y.dtype)} on {y.device}"
        else:
            got = "None" if y is None else f"a {type(y).__module__}.{type(y).__qualname__}"
        n = tensor.numel()
        raise TargetFailedError(
            f"target {self.spec!r} returned {got}, not a tensor like its input ({_elements(n, tensor.dtype)} "
            f"on {tensor.device})"
        )

    def resolve_device(self, name: str) -> str:
        return resolve_device(name)

    def paths(self, device: str) -> tuple[str, ...]:
        return paths_for(device)

    def unsupported(self, fmt: Format, quantity: Quantity) -> str | None:
        return None  # every format and quantity: autograd differentiates twice

    def inputs_per_call(self, fmt: Format, quantity: Quantity, path: str) -> int | None:
        """The second derivative on the scalar path goes :func:`scalar_group` inputs per call (about
        0.12 ms of one core a group); None: any number (a chunk) per call."""
        return scalar_group(fmt.width // 8) if quantity is Quantity.GRAD2 and path == "scalar" else None

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
        """See :meth:`suite.implementations.base.Implementation.evaluate`; ``beta`` and
        ``threshold`` are passed as given (the kernel casts them itself)."""

        check_path(self, device, path)
        try:
            return self._evaluate(x, fmt, quantity, beta, threshold, device, path, native)
        except TargetFailedError as error:  # where it failed: the configuration, as the reports name it
            where = configuration_words(fmt, quantity, beta, threshold, device, path)
            raise TargetFailedError(f"{error}; at {where}") from error.__cause__

    def _evaluate(self, x, fmt: Format, quantity: Quantity, beta, threshold, device: str, path: str, native: bool):
        import torch

        dtype = fmt.torch_dtype()
        own = np.dtype(fmt.numpy_name) if fmt.name in NATIVE_DTYPES else None
        out_dtype = own if (native and own is not None) else np.dtype(np.float64)
        out = np.empty(len(x), dtype=out_dtype)
        context = one_thread() if path == "simd" else contextlib.nullcontext()
        per_call = self.inputs_per_call(fmt, quantity, path)
        with context:
            for start in range(0, len(x), CHUNK):
                part = x[start : start + CHUNK]
                if own is not None and part.dtype == own:
                    # the format's own values: one copy, which the implementation may even modify in place
                    chunk = torch.from_numpy(np.ascontiguousarray(part)).clone()
                else:
                    chunk = torch.from_numpy(np.ascontiguousarray(part, dtype=np.float64)).to(dtype)
                result = self._evaluate_chunk(chunk, quantity, beta, threshold, device, path, per_call)
                out[start : start + len(chunk)] = result.to(
                    "cpu", torch.float64 if out_dtype == np.float64 else dtype
                ).numpy()
        return out

    def _evaluate_chunk(
        self, chunk, quantity: Quantity, beta: float, threshold: float, device: str, path: str, per_call: int | None
    ):
        """The outputs at one chunk, as a tensor of the chunk's dtype on ``device``, ``per_call``
        inputs per call of the implementation (None: all of them in one)."""
        import torch

        chunk = chunk.to(device)
        if quantity is Quantity.FORWARD:
            base, view, _ = _layout(chunk, path, device)
            with torch.no_grad():
                y = self(view(base), beta, threshold)
            # the output is a fresh tensor shaped like the view: the first n elements are ours
            return y.reshape(-1)[: chunk.numel()].detach()
        groups = chunk.split(per_call) if per_call else (chunk,)
        outputs = []
        for start in range(0, len(groups), GROUPS_PER_PASS):
            part = groups[start : start + GROUPS_PER_PASS]
            outputs += self._derivatives_of_groups(part, quantity, beta, threshold, path)
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs)

    def _derivatives_of_groups(self, groups, quantity: Quantity, beta: float, threshold: float, path: str) -> list:
        """The derivatives at each group, each laid out on a leaf tensor of its own (:func:`_layout`)
        and called on its own, all differentiated in one autograd pass: each kernel sees one group
        alone, as if each were evaluated by itself, for about half the time of a pass each."""
        import torch

        layouts = [_layout(group, path, group.device) for group in groups]
        bases = [base.requires_grad_(True) for base, _, _ in layouts]
        ys = [self(view(base), beta, threshold) for base, view, _ in layouts]
        second = quantity is Quantity.GRAD2
        try:
            grads = torch.autograd.grad(ys, bases, [torch.ones_like(y) for y in ys], create_graph=second)
            if second:
                grads = torch.autograd.grad(grads, bases, [torch.ones_like(g) for g in grads])
        except SystemExit as error:
            raise TargetFailedError(
                f"target {self.spec!r}: its derivative tried to exit the process ({raised_words(error)})"
            ) from None
        except Exception as error:  # the target's backward (its own autograd.Function, or none)
            raise TargetFailedError(f"target {self.spec!r}: its derivative raised {raised_words(error)}") from error
        return [unview(grad).detach() for (_, _, unview), grad in zip(layouts, grads, strict=True)]

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
        """A torch script that evaluates this configuration at ``x`` on the kernel path the audit
        measured, prints the output's bits, and (given the recorded ``output``) asserts them.

        The layout is the audit's own (:func:`_layout`): ``simd``, the input at the head of a
        contiguous tensor of :data:`SIMD_ALIGNMENT` elements, one intra-op thread; ``scalar``, the
        first element of a strided view (every second element of a buffer); ``device``, a plain
        tensor. A one-element tensor would not do: on CPU it is computed by the scalar lambda."""
        lines = ["import torch"]
        if self.call_template:
            call = self.call_template.format(b=beta, t=threshold)
        else:
            module, _, attribute = self.spec.partition(":")
            lines.append(f"import {module}")
            call = f"{module}.{attribute}(x, beta={beta!r}, threshold={threshold!r})"
        value = f"float.fromhex('{float(x).hex()}')"
        size = {"simd": SIMD_ALIGNMENT, "scalar": 2}.get(path, 1)
        if path == "simd":
            lines.append(f"torch.set_num_threads(1)  # the SIMD path: one thread, {size} elements (whole vectors)")
        elif path == "scalar" and quantity is Quantity.GRAD2:
            lines.append("# the scalar path: one element, so every kernel of the second derivative is scalar code")
        elif path == "scalar":
            lines.append("# the scalar path: a strided view goes element by element through the scalar lambda")
        lines.append(f"base = torch.zeros({size}, dtype=torch.{fmt.name}, device={device!r})")
        lines.append(f"base[0] = {value}")
        if quantity is not Quantity.FORWARD:
            lines.append("base.requires_grad_(True)")
        lines.append("x = base[::2]" if path == "scalar" else "x = base")
        lines.append(f"y = {call}")
        out = "y"
        if quantity is not Quantity.FORWARD:
            second = quantity is Quantity.GRAD2
            lines.append(f"g, = torch.autograd.grad(y, base, torch.ones_like(y), create_graph={second})")
            if second:
                lines.append("g, = torch.autograd.grad(g, base, torch.ones_like(g))")
            out = "g"
        return "\n".join(lines + tensor_bits_lines(fmt, out, output))


def _elements(n: int, dtype) -> str:
    return f"{n} {str(dtype).removeprefix('torch.')} element{'' if n == 1 else 's'}"


def tensor_bits_lines(fmt: Format, tensor: str, output: float | None) -> list[str]:
    """Reproducer lines for a torch output: the first element of ``tensor`` (an expression) as a
    Python float and its bits, then an ``assert`` on the recorded ``output``'s bits."""
    width = {16: "int16", 32: "int32", 64: "int64"}[fmt.width]
    digits = fmt.width // 4
    lines = [
        f"out = {tensor}[0].detach().cpu()",
        f"bits = out.view(torch.{width}).item() & 0x{(1 << fmt.width) - 1:x}",
        f"print(repr(out.item()), f'0x{{bits:0{digits}x}}')",
    ]
    if output is not None:
        if output != output:  # NaN: its payload is not recorded
            lines.append("assert out.isnan(), out")
        else:
            expected = fmt.hex_of(output)
            lines.append(f"assert bits == {expected}, f'0x{{bits:0{digits}x}}, recorded {expected}'")
    return lines


def _functional_softplus(tensor, beta: float = 1.0, threshold: float = 20.0):
    import torch

    return torch.nn.functional.softplus(tensor, beta=beta, threshold=threshold)


def _module_softplus(tensor, beta: float = 1.0, threshold: float = 20.0):
    import torch

    return torch.nn.Softplus(beta=beta, threshold=threshold)(tensor)


def functional() -> TorchCallable:
    """``torch.nn.functional.softplus``."""
    return TorchCallable(
        "torch.nn.functional:softplus",
        "torch.nn.functional.softplus",
        _functional_softplus,
        short_name="F.softplus",
        call_template="torch.nn.functional.softplus(x, beta={b!r}, threshold={t!r})",
    )


def module() -> TorchCallable:
    """``torch.nn.Softplus`` (the module, built per call with the parameters)."""
    return TorchCallable(
        "torch.nn:Softplus",
        "torch.nn.Softplus (module)",
        _module_softplus,
        short_name="nn.Softplus",
        call_template="torch.nn.Softplus(beta={b!r}, threshold={t!r})(x)",
    )


def from_callable(spec: str, obj: Callable) -> TorchCallable:
    """A user's callable with ``F.softplus``'s signature; :class:`ImplementationError` if it has another.

    Its family (whose known deviations and upstream problems concern it) is its ``family``
    attribute where it has one (``fn.family = "torch"``: it is torch's kernel, wrapped), else the
    top-level package of ``spec`` (``mypkg`` for ``mypkg.mod:fn``)."""
    if not callable(obj):
        raise ImplementationError(f"target {spec!r} is not callable")
    try:
        inspect.signature(obj).bind(object(), beta=1.0, threshold=20.0)
    except TypeError:
        raise ImplementationError(
            f"target {spec!r} does not accept (input, beta=..., threshold=...) like torch.nn.functional.softplus"
        ) from None
    except ValueError:
        pass  # builtins without a signature: trust the call
    # its family is the package that provides it (mypkg for mypkg.mod:fn) unless it names its own:
    # torch's known deviations and upstream problems describe torch's own kernels, so they excuse
    # nothing of a function built elsewhere, even one built of torch's operations
    family = getattr(obj, "family", None)
    if not isinstance(family, str) or not family:
        family = spec.partition(":")[0].split(".")[0]
    return TorchCallable(spec, spec, obj, short_name=spec, family=family)
