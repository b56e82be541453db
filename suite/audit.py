"""The audit engine: configurations, and the measurements and verdicts of each.

Data flows one way: inputs (:mod:`suite.inputs`) → target (:mod:`suite.targets`) →
reference (:mod:`suite.fastref`, both oracles, cached per format and parameters) →
measurements (:mod:`suite.ulp`, :mod:`suite.stats`) → verdicts (:mod:`suite.properties`,
:mod:`suite.budgets`). The pytest plugin and the CLI drive it; nothing here reaches back.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np

from suite import budgets as budget_data
from suite.fastref import ReferenceValues, fast_reference
from suite.formats import FORMATS, format_named
from suite.inputs import inputs_for
from suite.params import Oracle, Params, Quantity
from suite.properties import PropertyResult, Sample, check_all
from suite.stats import Stats, summarize
from suite.targets import Target, evaluate, load_target, paths_for, resolve_device
from suite.ulp import measure

DEFAULT_TARGETS = ("torch.nn.functional:softplus", "torch.nn:Softplus")
DEFAULT_GRID = ((1.0, 20.0), (0.1, 20.0), (10.0, 20.0), (1.0, 1.0), (1.0, 100.0))
PER_BINADE = {"float32": 48, "float64": 12}


def parse_grid(text: str) -> tuple[tuple[float, float], ...]:
    """``"1,20;0.1,20"`` -> ((1.0, 20.0), (0.1, 20.0)); ValueError naming the accepted form."""
    pairs = []
    for part in text.split(";"):
        if not part.strip():
            continue
        try:
            beta, threshold = (float(v) for v in part.split(","))
        except ValueError:
            raise ValueError(f"--grid entry {part!r} is not 'beta,threshold' (e.g. --grid '1,20;0.1,20')") from None
        pairs.append((beta, threshold))
    if not pairs:
        raise ValueError("--grid is empty; give 'beta,threshold' pairs separated by ';'")
    return tuple(pairs)


@dataclass(frozen=True)
class Configuration:
    """One thing measured and judged on its own."""

    target: str
    device: str
    dtype: str
    beta: float
    threshold: float
    path: str
    quantity: str

    @property
    def id(self) -> str:
        target = self.target.replace("torch.nn.functional:softplus", "F.softplus").replace(
            "torch.nn:Softplus", "nn.Softplus"
        )
        return f"{target}-{self.device}-{self.dtype}-b{self.beta:g}-t{self.threshold:g}-{self.path}-{self.quantity}"

    def reproducer(self, x: float) -> str:
        """A two-line torch snippet that evaluates this configuration at ``x``."""
        call = {
            "torch.nn.functional:softplus": "torch.nn.functional.softplus(x, beta={b!r}, threshold={t!r})",
            "torch.nn:Softplus": "torch.nn.Softplus(beta={b!r}, threshold={t!r})(x)",
        }.get(self.target, f"{self.target.replace(':', '.')}(x, beta={{b!r}}, threshold={{t!r}})")
        call = call.format(b=self.beta, t=self.threshold)
        grad = ""
        if self.quantity != "forward":
            grad = "; g, = torch.autograd.grad(y, x, create_graph=True)"
            if self.quantity == "grad2":
                grad += "; g, = torch.autograd.grad(g, x)"
        requires = ", requires_grad=True" if self.quantity != "forward" else ""
        layout = (
            "" if self.path != "scalar" else "  # scalar path: pass a strided view, e.g. torch.stack([x, x], 1)[:, 0]"
        )
        value = f"float.fromhex('{float(x).hex()}')"
        return (
            f"x = torch.tensor([{value}], dtype=torch.{self.dtype}, device='{self.device}'{requires})\n"
            f"y = {call}{grad}{layout}"
        )


@dataclass(frozen=True)
class AuditSettings:
    targets: tuple[str, ...] = DEFAULT_TARGETS
    devices: tuple[str, ...] = ("cpu",)
    dtypes: tuple[str, ...] = tuple(FORMATS)
    grid: tuple[tuple[float, float], ...] = DEFAULT_GRID
    quantities: tuple[str, ...] = tuple(q.value for q in Quantity)
    budgets_file: str | None = None

    def configurations(self) -> list[Configuration]:
        return [
            Configuration(target, device, dtype, beta, threshold, path, quantity)
            for target in self.targets
            for device in self.devices
            for dtype in self.dtypes
            for beta, threshold in self.grid
            for path in paths_for(device)
            for quantity in self.quantities
        ]


@dataclass(frozen=True)
class ConfigResult:
    config: Configuration
    kernel_params: Params
    exhaustive: bool
    stats: dict[str, Stats]
    properties: list[PropertyResult]
    deviations: list[budget_data.DeviationCheck] = field(default_factory=list)
    # consistency of the CPU kernel paths: on the scalar path, how many outputs differ from the
    # SIMD path's on the same inputs (None where not measured)
    path_disagreement: dict | None = None

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.properties)

    def property(self, name: str) -> PropertyResult:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)


class Auditor:
    """Measures configurations (each once) for the property tests and the report.

    Raises ValueError subclasses with one clear line for bad settings: an unknown dtype or
    quantity, an absent device, a target that cannot be imported, a budget file that does
    not parse.
    """

    def __init__(self, settings: AuditSettings):
        self.settings = settings
        for dtype in settings.dtypes:
            format_named(dtype)
        for quantity in settings.quantities:
            Quantity.named(quantity)
        self.devices = tuple(resolve_device(d) for d in settings.devices)
        self.targets: dict[str, Target] = {spec: load_target(spec) for spec in settings.targets}
        self.budgets = budget_data.load(settings.budgets_file)
        self._results: dict[Configuration, ConfigResult] = {}
        self._references = functools.lru_cache(maxsize=64)(self._reference)
        self._inputs = functools.lru_cache(maxsize=32)(self._input_set)

    def configurations(self) -> list[Configuration]:
        return self.settings.configurations()

    def _input_set(self, dtype: str, beta: float, threshold: float) -> tuple[np.ndarray, bool]:
        return inputs_for(format_named(dtype), beta, threshold, per_binade=PER_BINADE.get(dtype, 16))

    def _reference(self, dtype: str, beta: float, threshold: float, quantity: str, oracle: str) -> ReferenceValues:
        fmt = format_named(dtype)
        x, _ = self._inputs(dtype, beta, threshold)
        params = Params.as_kernel_sees(beta, threshold, fmt)
        return fast_reference(Quantity.named(quantity), x, params, fmt, Oracle.named(oracle))

    def outputs(self, config: Configuration, x: np.ndarray) -> np.ndarray:
        fmt = format_named(config.dtype)
        target = self.targets[config.target]
        quantity = Quantity.named(config.quantity)
        return evaluate(target, x, fmt, quantity, config.beta, config.threshold, config.device, config.path)

    def sample(self, config: Configuration, x: np.ndarray, y: np.ndarray, math_ref=None, doc_ref=None) -> Sample:
        fmt = format_named(config.dtype)
        quantity = Quantity.named(config.quantity)
        params = Params.as_kernel_sees(config.beta, config.threshold, fmt)
        if math_ref is None:
            math_ref = fast_reference(quantity, x, params, fmt, Oracle.MATH)
            doc_ref = fast_reference(quantity, x, params, fmt, Oracle.DOCUMENTED)
        return Sample(fmt, quantity, params, x, y, math_ref, measure(y, math_ref), doc_ref, measure(y, doc_ref))

    def full_sample(self, config: Configuration) -> tuple[Sample, bool]:
        """The configuration's whole input set, evaluated and measured (not cached: large)."""
        x, exhaustive = self._inputs(config.dtype, config.beta, config.threshold)
        y = self.outputs(config, x)
        math_ref = self._references(config.dtype, config.beta, config.threshold, config.quantity, "math")
        doc_ref = self._references(config.dtype, config.beta, config.threshold, config.quantity, "documented")
        return self.sample(config, x, y, math_ref, doc_ref), exhaustive

    def result(self, config: Configuration) -> ConfigResult:
        if config in self._results:
            return self._results[config]
        sample, exhaustive = self.full_sample(config)
        x, y, math_ref, doc_ref = sample.x, sample.y, sample.math_ref, sample.doc_ref
        properties, deviations = self._verdicts(config, sample)
        stats = {
            "documented": summarize(x, y, doc_ref, sample.doc_meas, exhaustive),
            "math": summarize(x, y, math_ref, sample.math_meas, exhaustive),
        }
        result = ConfigResult(
            config, sample.params, exhaustive, stats, properties, deviations, self._path_disagreement(config, x, y)
        )
        self._results[config] = result
        return result

    def _path_disagreement(self, config: Configuration, x: np.ndarray, y: np.ndarray) -> dict | None:
        if config.device != "cpu" or config.path != "scalar":
            return None
        simd = dataclasses.replace(config, path="simd")
        y_simd = self.outputs(simd, x)
        differ = ~((y == y_simd) | (np.isnan(y) & np.isnan(y_simd)))
        fmt = format_named(config.dtype)
        count = int(differ.sum())
        example = None
        if count:
            i = int(np.flatnonzero(differ)[0])
            example = {
                "x": float(x[i]),
                "x_bits": fmt.hex(fmt.encode(np.float64(x[i]))),
                "scalar": float(y[i]),
                "simd": float(y_simd[i]),
            }
        return {"versus": "simd", "inputs": len(x), "differing": count, "example": example}

    def judge_points(self, config: Configuration, x: np.ndarray) -> tuple[Sample, list[PropertyResult]]:
        """Every property at a few inputs (hypothesis examples): the same checks, budgets and
        known deviations as :meth:`result`, on ``x`` and each input's upper neighbour."""
        fmt = format_named(config.dtype)
        x = np.asarray(x, dtype=np.float64)
        finite = x[np.isfinite(x)]
        neighbours = fmt.decode(fmt.next_up(fmt.encode(finite)))
        x = np.concatenate([x, neighbours])
        sample = self.sample(config, x, self.outputs(config, x))
        properties, _ = self._verdicts(config, sample)
        return sample, properties

    def _verdicts(
        self, config: Configuration, sample: Sample
    ) -> tuple[list[PropertyResult], list[budget_data.DeviationCheck]]:
        """Every property of a sample, with budgets and known deviations applied."""
        properties = [
            budget_data.check_accuracy(sample, oracle, self.budgets, config.path, config.beta, config.threshold)
            for oracle in ("documented", "math")
        ]
        properties.extend(check_all(sample))
        return budget_data.apply_deviations(
            properties, sample, self.budgets, config.target, config.path, config.beta, config.threshold
        )

    def results(self) -> list[ConfigResult]:
        return list(self._results.values())

    def stale_deviations(self) -> list[str]:
        """Known deviations that no longer match what this run measured (see suite.budgets)."""
        checks = [c for r in self._results.values() for c in r.deviations]
        default_grid = set(DEFAULT_GRID) <= set(self.settings.grid)
        return budget_data.stale_deviations(self.budgets, checks, judge_fixed=default_grid)
