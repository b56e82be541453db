"""``jax.nn.softplus`` on JAX's CPU backend (XLA), with ``jax.grad`` for its derivatives.

JAX's softplus has no beta or threshold: ln(1 + e^x), computed as ``logaddexp(x, 0)``, so it is
audited once, at beta = 1 without a threshold, where both oracles are the exact function. The
derivatives are ``jax.grad`` of the function and of its gradient, mapped over the inputs with
``jax.vmap`` and compiled with ``jax.jit`` (once per dtype and quantity). float64 needs JAX's
64-bit mode, which loading this implementation switches on (without it JAX silently computes in
float32; :meth:`JaxSoftplus.evaluate` checks the output dtype). bfloat16 values travel as their
bits (``bitcast_convert_type``): no rounding on the way in or out.

An optional extra: ``pip install 'softplus-audit[jax]'``; absent, it is reported as not installed.
"""

from __future__ import annotations

import functools

import numpy as np

from suite.implementations.base import WHOLE_VECTORS, CpuFunctionWithoutParameters, bits_lines, require
from suite.numerics.formats import Format
from suite.numerics.params import Quantity

PATH = "xla"
DIFFERENTIATE = {Quantity.FORWARD: 0, Quantity.GRAD: 1, Quantity.GRAD2: 2}


class JaxSoftplus(CpuFunctionWithoutParameters):
    """``jax.nn.softplus`` (an implementation of the protocol in :mod:`suite.implementations.base`)."""

    spec = "jax.nn:softplus"
    short_name = "jax.softplus"
    family = "jax"
    formula = (
        "logaddexp(x, 0) = max(x, 0) + log1p(exp(-|x|)) in the input's dtype, no threshold; "
        "gradient exp(x - softplus(x)) (logaddexp's custom JVP), second derivative its derivative"
    )
    path = PATH

    def __init__(self) -> None:
        jax = require("jax", "jax")
        jax.config.update("jax_enable_x64", True)  # float64 in float64, not silently float32
        self.version = f"jax {jax.__version__}"
        self.description = f"jax.nn.softplus ({self.version}, XLA on the CPU)"

    def unsupported(self, fmt: Format, quantity: Quantity) -> str | None:
        return None  # every format, and jax.grad differentiates twice

    @staticmethod
    @functools.cache
    def _compiled(dtype_name: str, quantity: Quantity):
        import jax

        f = jax.nn.softplus
        for _ in range(DIFFERENTIATE[quantity]):
            f = jax.grad(f)
        return jax.jit(jax.vmap(f) if DIFFERENTIATE[quantity] else f)

    def outputs(self, values: np.ndarray, fmt: Format, quantity: Quantity) -> np.ndarray:
        import jax
        import jax.numpy as jnp

        dtype = getattr(jnp, fmt.name)
        if fmt.numpy_name is None:  # bfloat16: the bits, reinterpreted
            inputs = jax.lax.bitcast_convert_type(jnp.asarray(values), dtype)
        else:
            inputs = jnp.asarray(values)
        y = self._compiled(fmt.name, quantity)(inputs)
        if y.dtype != dtype:
            raise TypeError(f"jax.nn.softplus returned {y.dtype} for {fmt.name} inputs")
        return np.asarray(jax.lax.bitcast_convert_type(y, jnp.uint16) if fmt.numpy_name is None else y)

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
        function = "jax.nn.softplus"
        for _ in range(DIFFERENTIATE[quantity]):
            function = f"jax.grad({function})"
        if DIFFERENTIATE[quantity]:
            function = f"jax.vmap({function})"
        lines = [
            "import jax",
            "import numpy as np",
            'jax.config.update("jax_enable_x64", True)',
            "import jax.numpy as jnp",
            f"x = jnp.zeros({WHOLE_VECTORS}, dtype=jnp.{fmt.name})  # whole vectors, as the audit lays inputs out",
            f"x = x.at[0].set(float.fromhex('{float(x).hex()}'))",
            f"y = jax.jit({function})(x)",
        ]
        return "\n".join(lines + bits_lines(fmt, "y", output))


def softplus() -> JaxSoftplus:
    """``jax.nn.softplus``; :class:`~suite.implementations.base.NotInstalledError` without JAX."""
    return JaxSoftplus()
