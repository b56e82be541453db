"""The audit engine: configurations, and the measurements and verdicts of each.

Data flows one way: inputs (:mod:`suite.inputs.sets`) → implementation
(:mod:`suite.implementations`) → reference (:mod:`suite.numerics.fastref`, both oracles, cached
per format, parameters, quantity and oracle for the whole process) → measurements
(:mod:`suite.numerics.ulp`, :mod:`suite.numerics.stats`) → verdicts (:mod:`suite.audit.properties`,
:mod:`suite.audit.budgets`). The pytest plugin and the CLI drive it; nothing here reaches back.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass, field

import numpy as np

from suite import implementations
from suite.audit import budgets as budget_data
from suite.audit import knife_edges
from suite.audit.defaults import DEFAULT_GRID
from suite.audit.properties import Observations, PropertyResult, check_all
from suite.implementations import DEFAULT_TARGETS, Implementation
from suite.implementations.base import (
    NotInstalledError,
    TargetFailedError,
    check_answers,
    documented_parameters,
    target_failure,
)
from suite.inputs.sets import inputs_for
from suite.numerics.fastref import ReferenceValues, fast_reference
from suite.numerics.formats import FLOAT32, FLOAT64, FORMATS, Format
from suite.numerics.params import ORACLE_ORDER, Oracle, Params, Quantity
from suite.numerics.stats import Stats, Worst, summarize, worst_of
from suite.numerics.ulp import measure, sharpen

PER_BINADE = {FLOAT32: 48, FLOAT64: 12}
"""Inputs per binade of each sign in the stratified samples of the formats too wide to enumerate."""


@dataclass(frozen=True)
class Configuration:
    """One thing measured and judged on its own."""

    target: str  # the implementation's spec
    device: str
    fmt: Format
    beta: float
    threshold: float
    path: str
    quantity: Quantity
    label: str = field(default="", compare=False)  # the implementation's short name, for the id
    family: str = field(default="torch", compare=False)  # the code that evaluates it (known deviations are per family)

    @property
    def id(self) -> str:
        name = self.label or self.target
        return (
            f"{name}-{self.device}-{self.fmt.name}-b{self.beta:g}-t{self.threshold:g}-{self.path}-{self.quantity.value}"
        )


@dataclass(frozen=True)
class AuditSettings:
    """What to audit. Types inside: formats and quantities, not their names (the edges convert)."""

    targets: tuple[str, ...] = DEFAULT_TARGETS
    devices: tuple[str, ...] = ("cpu",)
    formats: tuple[Format, ...] = tuple(FORMATS.values())
    grid: tuple[tuple[float, float], ...] = DEFAULT_GRID
    quantities: tuple[Quantity, ...] = tuple(Quantity)
    budgets_file: str | None = None

    def record(self) -> dict:
        """The settings as the run file records them (names, as a user gives them)."""
        return {
            "targets": list(self.targets),
            "devices": list(self.devices),
            "dtypes": [f.name for f in self.formats],
            "grid": [list(pair) for pair in self.grid],
            "quantities": [q.value for q in self.quantities],
            "budgets_file": self.budgets_file,
        }


@dataclass(frozen=True)
class Zeros:
    """Outputs that vanish or are not numbers where the exact value is a positive number."""

    premature: int  # outputs exactly ±0 where the correct rounding is > 0
    premature_x: float | None  # the first such input
    premature_output: float | None
    nan: int  # NaN outputs where the exact value is a number (a NaN is not a zero)
    nan_x: float | None

    @classmethod
    def of(cls, obs: Observations) -> Zeros:
        rounded = obs.reference(Oracle.DOCUMENTED).rounded
        with np.errstate(invalid="ignore"):
            premature = np.flatnonzero((obs.y == 0) & (rounded > 0))
        nan = np.flatnonzero(np.isnan(obs.y) & ~np.isnan(rounded))
        first = int(premature[0]) if premature.size else None
        return cls(
            int(premature.size),
            float(obs.x[first]) if first is not None else None,
            float(obs.y[first]) if first is not None else None,
            int(nan.size),
            float(obs.x[nan[0]]) if nan.size else None,
        )


@dataclass(frozen=True)
class OutsideDeviations:
    """An oracle's errors where no known deviation excuses them, so the budget judges each: how
    many inputs lie there, and the one with the largest error (None: none, or all of the wrong
    class). A configuration's largest error may lie inside a deviation's region while the one
    outside, which is what its budget bounds, is another."""

    inputs: int
    worst: Worst | None


@dataclass(frozen=True)
class ConfigResult:
    config: Configuration
    kernel_params: Params
    exhaustive: bool
    stats: dict[Oracle, Stats]
    properties: list[PropertyResult]
    deviations: list[budget_data.DeviationCheck] = field(default_factory=list)
    # consistency of the CPU kernel paths: on the scalar path, how many outputs differ from the
    # SIMD path's on the same inputs (None where not measured)
    path_disagreement: dict | None = None
    # outputs exactly 0 where the correct rounding (documented oracle) is positive, and NaN outputs
    # where the exact value is a number: counts, and the first input of each
    zeros: Zeros | None = None
    # the knife edges (inputs within 2**-20 ULP of a rounding midpoint) and how many it rounds
    # correctly (None: none were looked for at this format, quantity and beta)
    knife_edges: dict | None = None
    # which inputs were measured: the first 16 hex digits of the SHA-256 of their float64 values
    # (two runs whose digests differ measured other inputs: the sample changed, not the target)
    inputs_digest: str = ""
    # per oracle: the errors outside every known deviation that excuses its accuracy
    outside_deviations: dict[Oracle, OutsideDeviations] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def verdict(self) -> str:
        """``fail`` if a property failed, else ``no budget`` if an accuracy property had none, else ``pass``."""
        verdicts = {p.verdict for p in self.properties}
        return "fail" if "fail" in verdicts else ("no budget" if "no budget" in verdicts else "pass")

    def property(self, name: str) -> PropertyResult:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)


@functools.lru_cache(maxsize=32)
def input_set(fmt: Format, beta: float, threshold: float) -> tuple[np.ndarray, bool]:
    """The audit's inputs for a format and parameters, and whether they are every input (cached)."""
    return inputs_for(fmt, beta, threshold, per_binade=PER_BINADE.get(fmt, 16))


@functools.lru_cache(maxsize=128)
def reference_on_inputs(
    fmt: Format, beta: float, threshold: float, quantity: Quantity, oracle: Oracle
) -> ReferenceValues:
    """The exact truth at :func:`input_set`'s inputs, computed once per process for each format,
    parameters, quantity and oracle (128 entries hold the default audit's 120)."""
    x, _ = input_set(fmt, beta, threshold)
    return fast_reference(quantity, x, Params.as_kernel_sees(beta, threshold, fmt), fmt, oracle)


class Auditor:
    """Measures configurations (each once) for the property tests and the report.

    Raises ValueError subclasses with one clear line for bad settings: an absent device, an
    implementation that cannot be loaded, a grid point the kernel's compute format cannot hold,
    a budget file that does not parse, settings that leave no configuration to audit.
    """

    def __init__(self, settings: AuditSettings):
        self.settings = settings
        self.not_audited: dict[str, str] = {}  # what the implementations cannot do, and why
        self.implementations: dict[str, Implementation] = {}
        for spec in settings.targets:
            try:
                self.implementations[spec] = implementations.load(spec)
            except NotInstalledError as error:  # an optional framework: reported, never a crash
                self.not_audited[spec] = f"not installed: {error}"
        if not self.implementations:
            raise NotInstalledError(
                "none of the targets is installed: " + "; ".join(f"{k}: {v}" for k, v in self.not_audited.items())
            )
        self.devices = tuple(
            dict.fromkeys(impl.resolve_device(d) for impl in self.implementations.values() for d in settings.devices)
        )
        for fmt in settings.formats:
            for beta, threshold in settings.grid:
                try:
                    Params.as_kernel_sees(beta, threshold, fmt)
                except ValueError:
                    raise ValueError(
                        f"--grid beta={beta!r} is not a finite number > 0 once cast to the compute format of "
                        f"{fmt.name} tensors; give a beta the kernel can hold (huge and tiny betas are judged by "
                        "the parameter cases)"
                    ) from None
        self.budgets = budget_data.load(settings.budgets_file)
        self._configurations = self._build_configurations()
        if not self._configurations:  # an audit of nothing would pass: say why there is nothing
            raise ValueError(
                "nothing to audit: "
                + "; ".join(f"{k}: {v}" for k, v in self.not_audited.items())
                + "; give a --dtype and --quantity the target supports"
            )
        self._results: dict[Configuration, ConfigResult] = {}

    def _build_configurations(self) -> list[Configuration]:
        out = []
        for spec, impl in self.implementations.items():
            for device in self.devices:
                # an implementation without beta and threshold is audited once, at its own (1, inf)
                grid = dict.fromkeys(documented_parameters(impl, b, t) for b, t in self.settings.grid)
                if not impl.paths(device):
                    raise TargetFailedError(
                        f"target {spec!r}: paths({device!r}) names no kernel path; name one at least"
                    )
                for fmt in self.settings.formats:
                    for beta, threshold in grid:
                        for path in impl.paths(device):
                            for quantity in self.settings.quantities:
                                why = impl.unsupported(fmt, quantity)
                                if why:
                                    self.not_audited[f"{spec} {fmt.name} {quantity.value}"] = why
                                    continue
                                out.append(
                                    Configuration(
                                        spec,
                                        device,
                                        fmt,
                                        beta,
                                        threshold,
                                        path,
                                        quantity,
                                        label=impl.short_name,
                                        family=impl.family,
                                    )
                                )
        return out

    def configurations(self) -> list[Configuration]:
        return list(self._configurations)

    def check_targets(self) -> None:
        """Each configuration's target called at a few inputs (±0, ±1, ±inf, NaN) before any
        measurement, and its reproducer made at one: :class:`~suite.implementations.base.TargetFailedError`
        (one line: the target, what it did, the configuration) where one raises, returns no tensor
        like its input (a torch callable) or no NumPy array of as many floats (an implementation's
        ``evaluate``), or makes no reproducer script."""
        for config in self._configurations:
            impl = self.implementations[config.target]
            args = (config.fmt, config.quantity, config.beta, config.threshold, config.device, config.path)
            check_answers(impl, config.target, *args)

    def inputs(self, config: Configuration) -> tuple[np.ndarray, bool]:
        """The configuration's whole input set, and whether it is every input of the format."""
        return input_set(config.fmt, config.beta, config.threshold)

    def outputs(self, config: Configuration, x: np.ndarray) -> np.ndarray:
        impl = self.implementations[config.target]
        try:
            return impl.evaluate(
                x, config.fmt, config.quantity, config.beta, config.threshold, config.device, config.path
            )
        except TargetFailedError:
            raise
        except (Exception, SystemExit) as error:  # the target's: it stops the audit, no property fails for it
            failure = target_failure(config.target, error, f"at {config.id}")
            raise failure from (None if isinstance(error, SystemExit) else error)

    def reproducer(self, config: Configuration, x: float, output: float | None = None) -> str:
        """The implementation's script that evaluates ``config`` at ``x`` (asserting ``output``)."""
        impl = self.implementations[config.target]
        return impl.reproducer(
            x, config.fmt, config.quantity, config.beta, config.threshold, config.device, config.path, output
        )

    def evaluate_at(self, config: Configuration, x: float) -> float:
        """The configuration's output at one input, laid out on its path as the audit lays out all."""
        return float(self.outputs(config, np.array([x], dtype=np.float64))[0])

    def budgets_of(self, config: Configuration) -> dict[str, float | None]:
        """The accuracy budget (ULPs of the output format) of each oracle here; None where none applies."""
        out = {}
        for oracle in ORACLE_ORDER:
            budget = self.budgets.budget_for(
                config.fmt, config.quantity, oracle, config.path, config.beta, config.threshold, config.device
            )
            out[oracle.value] = budget.max_ulp if budget else None
        return out

    def every_input_of(self, config: Configuration) -> dict[str, dict | None]:
        """Per oracle, what a sweep of every input found for the configuration's budget, where the
        budget file records it (``swept``): the largest error outside the known deviations (ULPs
        of the output format) and its input's bits; None where it records none."""
        return {
            oracle: {"max_ulp": b.swept, "x_bits": b.swept_at} if b and b.swept_inputs is None else None
            for oracle, b in self._swept(config).items()
        }

    def sweep_sample_of(self, config: Configuration) -> dict[str, dict | None]:
        """Per oracle, what a float64 sweep's sample (larger than the audit's) found for the
        configuration's budget, where the budget file records it (``swept_inputs``): the largest
        error outside the known deviations (ULPs), its input's bits and the sample's size."""
        return {
            oracle: {"max_ulp": b.swept, "x_bits": b.swept_at, "inputs": b.swept_inputs}
            if b and b.swept_inputs is not None
            else None
            for oracle, b in self._swept(config).items()
        }

    def _swept(self, config: Configuration) -> dict:
        """Per oracle name, the configuration's budget where a sweep of its parameters is recorded
        with it (else None: none, or a rule's, measured at other parameters)."""
        out = {}
        for oracle in ORACLE_ORDER:
            budget = self.budgets.budget_for(
                config.fmt, config.quantity, oracle, config.path, config.beta, config.threshold, config.device
            )
            here = budget is not None and budget.swept is not None
            if here and budget.beta is None:
                here = (budget.swept_beta, budget.swept_threshold) == (config.beta, config.threshold)
            out[oracle.value] = budget if here else None
        return out

    def observe(
        self,
        config: Configuration,
        x: np.ndarray,
        y: np.ndarray,
        math_ref: ReferenceValues | None = None,
        doc_ref: ReferenceValues | None = None,
    ) -> Observations:
        """Outputs ``y`` at ``x`` measured under both oracles (references computed unless given)."""
        params = Params.as_kernel_sees(config.beta, config.threshold, config.fmt)
        if math_ref is None or doc_ref is None:
            math_ref = fast_reference(config.quantity, x, params, config.fmt, Oracle.MATH)
            doc_ref = fast_reference(config.quantity, x, params, config.fmt, Oracle.DOCUMENTED)
        return Observations(
            config.fmt, config.quantity, params, x, y, math_ref, measure(y, math_ref), doc_ref, measure(y, doc_ref)
        )

    def observe_all(self, config: Configuration) -> tuple[Observations, bool]:
        """The configuration's whole input set, evaluated and measured (not cached: large)."""
        x, exhaustive = self.inputs(config)
        y = self.outputs(config, x)
        key = (config.fmt, config.beta, config.threshold, config.quantity)
        math_ref = reference_on_inputs(*key, Oracle.MATH)
        doc_ref = reference_on_inputs(*key, Oracle.DOCUMENTED)
        return self._sharpened(config, self.observe(config, x, y, math_ref, doc_ref)), exhaustive

    def _sharpened(self, config: Configuration, obs: Observations) -> Observations:
        """``obs`` with the exact ULP error wherever one may be the largest of its sign and binade in
        its class of the known deviations' regions (:func:`suite.numerics.ulp.sharpen`): the largest
        error of the configuration, outside every deviation and inside each, which the record, the
        verdicts, the report and the budget file give, is exact."""
        if not any(obs.measurements(oracle).loose().any() for oracle in ORACLE_ORDER):
            return obs  # every error known closely enough (the formats up to float32): no region needed
        classes = np.zeros(len(obs.x), dtype=np.int64)  # bit i: in the i-th region
        regions = [
            m
            for oracle in ORACLE_ORDER
            for m in budget_data.accuracy_regions(obs, oracle, self.budgets, config).values()
        ]
        for i, inside in enumerate(regions):
            classes |= inside.astype(np.int64) << i
        measured = {
            oracle: sharpen(
                obs.measurements(oracle), obs.x, obs.y, obs.reference(oracle), obs.quantity, obs.params, oracle, classes
            )
            for oracle in ORACLE_ORDER
        }
        return dataclasses.replace(obs, math_meas=measured[Oracle.MATH], doc_meas=measured[Oracle.DOCUMENTED])

    def result(self, config: Configuration) -> ConfigResult:
        if config in self._results:
            return self._results[config]
        obs, exhaustive = self.observe_all(config)
        outside = {oracle: self._outside(config, obs, oracle) for oracle in ORACLE_ORDER}
        properties, deviations = self._verdicts(config, obs, outside)
        stats = {
            oracle: summarize(obs.x, obs.y, obs.reference(oracle), obs.measurements(oracle), exhaustive)
            for oracle in ORACLE_ORDER
        }
        disagreement = self._path_disagreement(config, obs.x, obs.y)
        result = ConfigResult(
            config,
            obs.params,
            exhaustive,
            stats,
            properties,
            deviations,
            disagreement,
            Zeros.of(obs),
            self._knife_edges(config),
            hashlib.sha256(np.ascontiguousarray(obs.x, dtype=np.float64).tobytes()).hexdigest()[:16],
            {oracle: self._outside_deviations(obs, oracle, outside[oracle]) for oracle in ORACLE_ORDER},
        )
        self._results[config] = result
        return result

    def _outside(self, config: Configuration, obs: Observations, oracle: Oracle) -> np.ndarray:
        """The inputs in no region of a known deviation that excuses this oracle's accuracy errors."""
        return budget_data.outside_of(budget_data.accuracy_regions(obs, oracle, self.budgets, config), len(obs.x))

    @staticmethod
    def _outside_deviations(obs: Observations, oracle: Oracle, outside: np.ndarray) -> OutsideDeviations:
        worst = worst_of(obs.x, obs.y, obs.reference(oracle), obs.measurements(oracle), among=outside)
        return OutsideDeviations(int(outside.sum()), worst)

    def _knife_edges(self, config: Configuration) -> dict | None:
        """How the configuration rounds the knife edges of its format, quantity and beta."""
        edges = knife_edges.knife_edge_set(config.fmt, config.quantity, config.beta)
        if edges is None:
            return None
        return knife_edges.judge(
            edges,
            config.fmt,
            config.beta,
            config.threshold,
            lambda x: self.outputs(config, x),
            lambda x, output: self.reproducer(config, x, output),
        )

    def _path_disagreement(self, config: Configuration, x: np.ndarray, y: np.ndarray) -> dict | None:
        """On the second of an implementation's two paths, how many outputs differ from the first's;
        for an implementation that names a ``counterpart(device)`` (torch.compile: eager torch's
        vector path), how many differ from that one's."""
        impl = self.implementations[config.target]
        counterpart = getattr(impl, "counterpart", None)
        if counterpart is not None:
            spec, path = counterpart(config.device)
            other = implementations.load(spec)
            y_first = other.evaluate(x, config.fmt, config.quantity, config.beta, config.threshold, config.device, path)
            versus = f"{spec} {path}"
        else:
            paths = impl.paths(config.device)
            if len(paths) != 2 or config.path != paths[1]:
                return None
            versus = paths[0]
            y_first = self.outputs(dataclasses.replace(config, path=paths[0]), x)
        differ = ~((y == y_first) | (np.isnan(y) & np.isnan(y_first)))
        fmt = config.fmt
        count = int(differ.sum())
        example = None
        if count:
            i = int(np.flatnonzero(differ)[0])
            example = {
                "x": float(x[i]),
                "x_bits": fmt.hex_of(x[i]),
                config.path: float(y[i]),
                versus: float(y_first[i]),
            }
        return {"versus": versus, "inputs": len(x), "differing": count, "example": example}

    def judge_points(self, config: Configuration, x: np.ndarray) -> tuple[Observations, list[PropertyResult]]:
        """Every property at a few inputs (hypothesis examples): the same checks, budgets and
        known deviations as :meth:`result`, on ``x`` and each input's upper neighbour."""
        fmt = config.fmt
        x = np.asarray(x, dtype=np.float64)
        finite = x[np.isfinite(x)]
        neighbours = fmt.decode(fmt.next_up(fmt.encode(finite)))
        x = np.concatenate([x, neighbours])
        obs = self._sharpened(config, self.observe(config, x, self.outputs(config, x)))
        properties, _ = self._verdicts(config, obs)
        return obs, properties

    def _verdicts(
        self, config: Configuration, obs: Observations, outside: dict[Oracle, np.ndarray] | None = None
    ) -> tuple[list[PropertyResult], list[budget_data.DeviationCheck]]:
        """Every property of an observation, with budgets and known deviations applied (``outside``:
        per oracle, the inputs in no deviation's region, where the caller has them already)."""
        outside = outside or {oracle: self._outside(config, obs, oracle) for oracle in ORACLE_ORDER}
        properties = [
            budget_data.check_accuracy(
                obs,
                oracle,
                self.budgets,
                config.path,
                config.beta,
                config.threshold,
                config.device,
                outside[oracle],
            )
            for oracle in ORACLE_ORDER
        ]
        properties.extend(check_all(obs))
        return budget_data.apply_deviations(
            properties,
            obs,
            self.budgets,
            config.target,
            config.path,
            config.beta,
            config.threshold,
            config.family,
            config.device,
        )

    def results(self) -> list[ConfigResult]:
        return list(self._results.values())

    def stale_deviations(self) -> list[str]:
        """Known deviations that no longer match what this run measured (see suite.audit.budgets)."""
        checks = [c for r in self._results.values() for c in r.deviations]
        default_grid = set(DEFAULT_GRID) <= set(self.settings.grid)
        return budget_data.stale_deviations(self.budgets, checks, judge_fixed=default_grid)
