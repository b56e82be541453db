"""The ONNX ``Softplus`` operator on ONNX Runtime's CPU execution provider.

ONNX defines Softplus as y = ln(exp(x) + 1): no beta, no threshold, no derivatives (an inference
runtime), so it is audited once, at beta = 1 without a threshold, forward only. The model is one
``Softplus`` node (opset :data:`OPSET`) built here with ``onnx.helper``, one session per dtype.
Which dtypes the CPU provider has a kernel for is measured, not assumed: a session that cannot
be created says why, and that dtype is reported as not audited with ONNX Runtime's own message.

An optional extra: ``pip install 'softplus-audit[onnxruntime]'``; absent, it is reported as not
installed.
"""

from __future__ import annotations

import functools

import numpy as np

from suite.implementations.base import WHOLE_VECTORS, CpuFunctionWithoutParameters, bits_lines, require
from suite.numerics.formats import Format
from suite.numerics.params import Quantity

PATH = "cpu-ep"
OPSET = 22  # Softplus-22: float16, bfloat16, float, double allowed by the operator's definition
ELEMENT_TYPES = {"float16": "FLOAT16", "bfloat16": "BFLOAT16", "float32": "FLOAT", "float64": "DOUBLE"}


def model_bytes(fmt_name: str) -> bytes:
    """A one-node ONNX model: ``y = Softplus(x)`` on a 1-D tensor of ``fmt_name``."""
    from onnx import TensorProto, helper

    element = getattr(TensorProto, ELEMENT_TYPES[fmt_name])
    graph = helper.make_graph(
        [helper.make_node("Softplus", ["x"], ["y"])],
        "softplus",
        [helper.make_tensor_value_info("x", element, [None])],
        [helper.make_tensor_value_info("y", element, [None])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=10).SerializeToString()


@functools.cache
def _session(fmt_name: str):
    """The CPU provider's session for the model, or the first line of why there is none."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(model_bytes(fmt_name), providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime's own words: no kernel for this type, typically
        return str(error).strip().splitlines()[0]


class OnnxruntimeSoftplus(CpuFunctionWithoutParameters):
    """ONNX ``Softplus`` on ONNX Runtime (an implementation of the protocol in :mod:`suite.implementations.base`)."""

    spec = "onnxruntime:Softplus"
    short_name = "ort.Softplus"
    family = "onnxruntime"
    formula = "ln(exp(x) + 1) by definition; evaluated as x + log1p(exp(-x)) for x > 0, log1p(exp(x)) otherwise"
    path = PATH

    def __init__(self) -> None:
        ort = require("onnxruntime", "onnxruntime")
        onnx = require("onnx", "onnxruntime")
        self.version = f"onnxruntime {ort.__version__}, onnx {onnx.__version__}"
        self.description = f"ONNX Softplus (opset {OPSET}) on ONNX Runtime's CPU execution provider ({self.version})"

    def unsupported(self, fmt: Format, quantity: Quantity) -> str | None:
        if quantity is not Quantity.FORWARD:
            return "no derivatives: ONNX Runtime runs the operator for inference only"
        session = _session(fmt.name)
        return f"ONNX Runtime's CPU provider: {session}" if isinstance(session, str) else None

    def outputs(self, values: np.ndarray, fmt: Format, quantity: Quantity) -> np.ndarray:
        (y,) = _session(fmt.name).run(None, {"x": values})
        return y

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
        element = ELEMENT_TYPES[fmt.name]
        lines = [
            "import numpy as np",
            "import onnxruntime as ort",
            "from onnx import TensorProto, helper",
            f"t = helper.make_tensor_value_info('x', TensorProto.{element}, [None])",
            f"u = helper.make_tensor_value_info('y', TensorProto.{element}, [None])",
            "graph = helper.make_graph([helper.make_node('Softplus', ['x'], ['y'])], 'softplus', [t], [u])",
            f"model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', {OPSET})], ir_version=10)",
            "session = ort.InferenceSession(model.SerializeToString(), providers=['CPUExecutionProvider'])",
            f"x = np.zeros({WHOLE_VECTORS}, dtype=np.{fmt.numpy_name})  # whole vectors: no scalar remainder loop",
            f"x[0] = float.fromhex('{float(x).hex()}')",
            "(y,) = session.run(None, {'x': x})",
        ]
        return "\n".join(lines + bits_lines(fmt, "y", output))


def softplus() -> OnnxruntimeSoftplus:
    """ONNX ``Softplus`` on ONNX Runtime; :class:`~suite.implementations.base.NotInstalledError` without it."""
    return OnnxruntimeSoftplus()
