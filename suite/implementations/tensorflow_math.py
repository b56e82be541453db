"""``tf.math.softplus`` on TensorFlow's CPU kernels, with ``tf.GradientTape`` for its derivatives.

TensorFlow's softplus has no beta or threshold: ln(1 + e^x), audited once at beta = 1 without a
threshold (both oracles are then the exact function). Its kernel has cut-offs of its own that
are not parameters: docs/frameworks.md says what it computes. The gradient is the tape's
derivative of the outputs' sum (elementwise, so one derivative per input); the second
derivative differentiates that gradient under a second tape. bfloat16 values travel as bits
(``tf.bitcast``), float16/32/64 as NumPy arrays of their own dtype: nothing is rounded on the
way in or out.

An optional extra: ``pip install 'softplus-audit[tensorflow]'``; absent, it is reported as not
installed.
"""

from __future__ import annotations

import os

import numpy as np

from suite.implementations.base import WHOLE_VECTORS, CpuFunctionWithoutParameters, bits_lines, require
from suite.numerics.formats import Format
from suite.numerics.params import Quantity

PATH = "eigen"


class TensorflowSoftplus(CpuFunctionWithoutParameters):
    """``tf.math.softplus`` (an implementation of the protocol in :mod:`suite.implementations.base`)."""

    spec = "tensorflow.math:softplus"
    short_name = "tf.softplus"
    family = "tensorflow"
    formula = (
        "in the tensor's dtype: x above -c, exp(x) below c, log1p(exp(x)) between, c = ln(machine epsilon) + 2 "
        "(float16 -4.9, float32 -13.9, float64 -34.0); gradient dy / (exp(-x) + 1)"
    )
    path = PATH

    def __init__(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # its start-up banner is not the audit's output
        tf = require("tensorflow", "tensorflow")
        self.version = f"tensorflow {tf.__version__}"
        # oneDNN may replace TensorFlow's own kernels (on by default on x86 Linux): say which ran
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset: TensorFlow's default")
        self.description = f"tf.math.softplus ({self.version}, CPU kernels, TF_ENABLE_ONEDNN_OPTS {onednn})"

    def unsupported(self, fmt: Format, quantity: Quantity) -> str | None:
        return None  # every format; the tape differentiates twice

    def outputs(self, values: np.ndarray, fmt: Format, quantity: Quantity) -> np.ndarray:
        import tensorflow as tf

        dtype = getattr(tf, fmt.name)
        with tf.device("/CPU:0"):
            inputs = tf.bitcast(tf.constant(values), dtype) if fmt.numpy_name is None else tf.constant(values)
            y = _derivative(tf, inputs, quantity)
        if y.dtype != dtype:
            raise TypeError(f"tf.math.softplus returned {y.dtype.name} for {fmt.name} inputs")
        return (tf.bitcast(y, tf.uint16) if fmt.numpy_name is None else y).numpy()

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
            "import numpy as np",
            "import tensorflow as tf",
            f"values = np.zeros({WHOLE_VECTORS})  # whole vectors: Eigen's packets, no scalar remainder",
            f"values[0] = float.fromhex('{float(x).hex()}')",
            f"x = tf.cast(tf.constant(values), tf.{fmt.name})  # exact: x is a {fmt.name} value",
        ]
        if quantity is Quantity.FORWARD:
            lines.append("y = tf.math.softplus(x)")
        elif quantity is Quantity.GRAD:
            lines += [
                "with tf.GradientTape() as tape:",
                "    tape.watch(x)",
                "    s = tf.math.softplus(x)",
                "y = tape.gradient(s, x)",
            ]
        else:
            lines += [
                "with tf.GradientTape() as outer:",
                "    outer.watch(x)",
                "    with tf.GradientTape() as inner:",
                "        inner.watch(x)",
                "        s = tf.math.softplus(x)",
                "    g = inner.gradient(s, x)",
                "y = outer.gradient(g, x)",
            ]
        return "\n".join(lines + bits_lines(fmt, "y.numpy()", output))


def _gradient(tf, values):
    """The tape's derivative of softplus's sum at ``values``: one derivative per input."""
    with tf.GradientTape() as tape:
        tape.watch(values)
        y = tf.math.softplus(values)
    return tape.gradient(y, values)


def _derivative(tf, values, quantity: Quantity):
    """softplus, its tape gradient, or the gradient of that gradient (a second tape), at ``values``."""
    if quantity is Quantity.FORWARD:
        return tf.math.softplus(values)
    if quantity is Quantity.GRAD:
        return _gradient(tf, values)
    with tf.GradientTape() as outer:
        outer.watch(values)
        grad = _gradient(tf, values)
    return outer.gradient(grad, values)


def softplus() -> TensorflowSoftplus:
    """``tf.math.softplus``; :class:`~suite.implementations.base.NotInstalledError` without TensorFlow."""
    return TensorflowSoftplus()
