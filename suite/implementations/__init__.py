"""What is audited: softplus implementations behind one protocol (:mod:`suite.implementations.base`).

:data:`REGISTRY` maps each built-in implementation's name to the function that builds it; it is
the one list of built-in names (``--target`` choices, defaults, documentation). Anything else is
named ``package.module:attribute``: an object that already follows the
:class:`~suite.implementations.base.Implementation` protocol is used as it is (a new framework is
one module), and a callable with ``torch.nn.functional.softplus``'s signature is wrapped as a torch
implementation.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from suite.implementations import (
    jax_nn,
    numpy_formulas,
    onnxruntime_op,
    tensorflow_math,
    torch_compiled,
    torch_eager,
)
from suite.implementations.base import DeviceUnavailableError, Implementation, ImplementationError

DEFAULT_TARGETS = ("torch.nn.functional:softplus", "torch.nn:Softplus")

REGISTRY: dict[str, Callable[[], Implementation]] = {
    "torch.nn.functional:softplus": torch_eager.functional,
    "torch.nn:Softplus": torch_eager.module,
    "torch.compile:softplus": torch_compiled.compiled,
    "numpy:logaddexp": numpy_formulas.logaddexp,
    "numpy:log1p_exp": numpy_formulas.log1p_exp,
    "jax.nn:softplus": jax_nn.softplus,
    "tensorflow.math:softplus": tensorflow_math.softplus,
    "onnxruntime:Softplus": onnxruntime_op.softplus,
}
PROTOCOL_MEMBERS = tuple(
    name for name in ("spec", "description", "short_name", "family", *vars(Implementation)) if not name.startswith("_")
)
"""What an object given as ``--target package.module:OBJECT`` must have (:class:`Implementation`'s members)."""
FRAMEWORK_TARGETS = tuple(spec for spec in REGISTRY if spec not in DEFAULT_TARGETS)
"""Every built-in implementation besides eager torch: NumPy's formulas and the optional frameworks."""


def load(spec: str) -> Implementation:
    """The implementation named ``spec``; :class:`ImplementationError` (one line) if there is none."""
    if spec in REGISTRY:
        return REGISTRY[spec]()
    obj = import_object(spec)
    if isinstance(obj, type) and isinstance(obj, Implementation):  # the class itself has the members
        raise ImplementationError(
            f"target {spec!r} is a class; name an instance of it (e.g. IMPLEMENTATION = {obj.__name__}())"
        )
    if isinstance(obj, Implementation):
        return obj
    missing = [name for name in PROTOCOL_MEMBERS if not hasattr(obj, name)]
    if hasattr(obj, "evaluate") and missing:  # meant to follow the protocol, as it has evaluate
        raise ImplementationError(
            f"target {spec!r} does not follow the implementation protocol: it has no {', '.join(missing)} "
            "(docs/adding-an-implementation.md)"
        )
    return torch_eager.from_callable(spec, obj)


def import_object(spec: str):
    """The object named ``package.module:attribute`` (dotted attributes allowed)."""
    if ":" not in spec:
        raise ImplementationError(
            f"target {spec!r} is not of the form package.module:callable (e.g. torch.nn.functional:softplus)"
        )
    module_name, _, attribute = spec.partition(":")
    try:
        imported = importlib.import_module(module_name)
    except (Exception, SystemExit) as error:  # any import-time failure (an exit too) is the target's, in one line
        raise ImplementationError(
            f"target {spec!r}: cannot import module {module_name!r}: {type(error).__name__}: {error}"
        ) from None
    obj = imported
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ImplementationError(f"target {spec!r}: module {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    return obj


__all__ = [
    "DEFAULT_TARGETS",
    "FRAMEWORK_TARGETS",
    "REGISTRY",
    "DeviceUnavailableError",
    "Implementation",
    "ImplementationError",
    "import_object",
    "load",
]
