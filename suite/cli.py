"""Command line: ``softplus-audit``.

Exit codes: 0 success (or everything within budget), 1 a budget or property failed,
2 a usage error (bad arguments, unreadable input). Bad input gets one line on stderr naming
what was wrong and what is accepted, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.implementations.base import TargetFailedError
from suite.numerics.formats import FLOAT64, FORMATS
from suite.numerics.params import Oracle, Quantity

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOTHING_COMPARED, EXIT_NO_BUDGET = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
RESUMABLE = ("sweep", "matrix")
"""Commands that keep each finished shard of their work and take it up again when run again."""


class UsageError(Exception):
    """A problem with what the user asked for (exit 2, one line)."""


# the accepted names in help texts: derived from the tables, never listed again
DTYPE_NAMES = ", ".join(FORMATS)
QUANTITY_NAMES = ", ".join(q.value for q in Quantity)
ORACLE_NAMES = ", ".join(o.value for o in Oracle)


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line (and exit 2) like every other bad input.

    With ``signed_numbers``, a value that starts with a minus sign is a value, not an option:
    argparse takes only ``-2`` and ``-2.5`` for numbers, so ``-1e5``, ``-inf`` and ``-0x1.8p+1``
    would read as unknown options. Such a value after an option that takes one becomes that option's
    ``--option=VALUE``; any other is the last positional argument and moves behind ``--``."""

    def __init__(self, *args, signed_numbers: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.signed_numbers = signed_numbers
        self.value_options: set[str] = set()  # the option strings that take a value

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        if action.option_strings and action.nargs != 0:
            self.value_options.update(action.option_strings)
        return action

    def parse_known_args(self, args=None, namespace=None):
        if self.signed_numbers and args is not None:
            args = self._signed_numbers_as_values(list(args))
        return super().parse_known_args(args, namespace)

    def _signed_numbers_as_values(self, args: list[str]) -> list[str]:
        kept: list[str] = []
        positional: list[str] = []
        for index, token in enumerate(args):
            if token == "--":
                return [*kept, "--", *positional, *args[index + 1 :]]
            if token[:1] == "-" and token not in self.value_options and _is_number_text(token):
                if kept and kept[-1] in self.value_options:
                    kept[-1] = f"{kept[-1]}={token}"
                else:
                    positional.append(token)
                continue
            kept.append(token)
        return kept + (["--", *positional] if positional else [])

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _is_number_text(text: str) -> bool:
    try:
        _float(text)
    except argparse.ArgumentTypeError:
        return False
    return True


def _digits(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of digits from 1 to 10000")
    return value


def _float(text: str) -> float:
    try:
        return float.fromhex(text) if text.lower().lstrip("+-").startswith("0x") else float(text)
    except ValueError:
        accepted = "a decimal, 'inf', 'nan' or a hex float such as 0x1.8p+1"
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give {accepted}") from None


def _value_in(text: str, fmt, what: str) -> float:
    """A value of ``fmt`` written as a number (decimal, inf, nan, hex float ``0x1.8p+1``) or as the
    format's bit pattern (``0x`` and exactly width/4 hex digits, no point and no ``p``: how the
    reports write an input, ``x = 0xc2cff1b4``); UsageError for anything else or a pattern of
    another width, saying which format a pattern of that width would be."""
    import numpy as np

    body = text.strip().lower()
    unsigned = body.lstrip("+-")
    digits = unsigned[2:]
    if unsigned.startswith("0x") and "." not in digits and "p" not in digits:
        if unsigned != body:
            raise UsageError(
                f"{what}={text!r}: a bit pattern has no sign (its first bit is the sign); "
                "a hex float needs an exponent, e.g. -0x1.8p+1"
            )
        try:
            bits = int(digits, 16)
        except ValueError:
            raise UsageError(f"{what}={text!r} is not a bit pattern of hex digits") from None
        if len(digits) != fmt.width // 4:
            by_digits: dict[int, list[str]] = {}
            for other in FORMATS.values():
                by_digits.setdefault(other.width // 4, []).append(other.name)
            named = "; ".join(f"{n} digits: {' or '.join(names)}" for n, names in sorted(by_digits.items()))
            raise UsageError(
                f"{what}={text!r} is read as a bit pattern, and a {fmt.name} pattern has {fmt.width // 4} hex "
                f"digits ({named}: give --dtype); a hex float needs an exponent, e.g. 0x1.8p+1"
            )
        return float(fmt.decode(np.array([bits], dtype=fmt.uint_dtype))[0])
    try:
        return _float(text)
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"{what}: {error}; or the format's bit pattern, e.g. {fmt.hex_of(1.0)} for 1") from None


def _cmd_reference(args: argparse.Namespace) -> int:
    import mpmath

    from suite.numerics.formats import format_named
    from suite.numerics.params import Params
    from suite.numerics.reference import correctly_rounded, exact_value
    from suite.numerics.ulp import ulp_error

    try:
        fmt = format_named(args.dtype)
        quantity = Quantity.named(args.quantity)
        oracle = Oracle.named(args.oracle)
        if args.as_given:
            params = Params(beta=args.beta, threshold=args.threshold)
        else:
            params = Params.as_kernel_sees(args.beta, args.threshold, fmt)
    except ValueError as error:
        raise UsageError(str(error)) from None
    given = _value_in(args.x, fmt, "x")
    x = float(fmt.round(given))
    if x != given and not (math.isnan(x) and math.isnan(given)):
        raise UsageError(f"x={args.x!r} is not a {fmt.name} value (nearest: {x!r}); give a {fmt.name} input")
    y = _value_in(args.output, fmt, "--output") if args.output is not None else None  # checked before any output
    exact = exact_value(quantity, x, params, oracle, digits=args.digits)
    rounded = correctly_rounded(quantity, x, params, fmt, oracle)
    print(f"quantity   {quantity.value} ({oracle.value} oracle)")
    print(f"input      x = {x!r} ({x.hex()}, bits {fmt.hex_of(x)}), {fmt.name}")
    print(f"parameters {params.describe()}")
    print(f"exact      {mpmath.nstr(exact, args.digits)}")
    print(f"rounded    {rounded!r} ({rounded.hex()}, bits {fmt.hex_of(rounded)}) = correct rounding into {fmt.name}")
    if y is not None:
        error = ulp_error(y, exact, fmt)
        if math.isnan(error):  # NaN, an infinity or a zero's sign where the exact value differs
            said = f"of the wrong class: the exact value rounds to {rounded!r} (no ULP error measures it)"
        else:
            said = f"{error!r} ULP of {fmt.name}"
        print(f"output     {y!r} ({y.hex()}, bits {fmt.hex_of(y)}): {said}")
    return EXIT_OK


PROPERTY_TESTS = "property_tests"


def _audit_options(parser: argparse.ArgumentParser) -> None:
    from suite.audit.options import OPTIONS

    for option in OPTIONS:
        parser.add_argument(
            option.cli_flag,
            dest=option.dest,
            action="append" if option.repeatable else "store",
            metavar=option.metavar,
            help=option.help,
        )


def _session(args: argparse.Namespace, json_path: str | None = None):
    """The audit session of ``args``, every option validated before any work: one clear line and
    exit 2 for bad input."""
    from suite.audit.options import OPTIONS
    from suite.audit.plugin import new_session

    values = {o.dest: getattr(args, o.dest) for o in OPTIONS}
    try:
        return new_session(values, json_path, "softplus-audit " + " ".join(sys.argv[1:]))
    except ValueError as error:
        raise UsageError(str(error)) from None


def _output_directory(text: str, given: str | None = None) -> Path:
    """``--out``: a directory that exists or can be created, and can be written; checked before
    any work (``given``: the option's value where ``text`` is the directory of the file it names)."""
    from suite.files import writable_directory_problem

    problem = writable_directory_problem(text)
    if problem:
        raise UsageError(f"--out {given or text}: cannot write reports there: {problem}; give a writable directory")
    return Path(text)


def _file_name(name: str, example: str) -> str:
    """``--name``: a report's file name without directory or extension; checked before any work."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise UsageError(f"--name {name!r}: give a file name without directory or extension, e.g. {example}")
    return name


def _cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from suite.audit import plugin
    from suite.audit.plugin import PreparedSession

    out = _output_directory(args.out)
    name = _file_name(args.name if args.name is not None else "audit", "audit")
    json_path = out / f"{name}.json"
    session = _session(args, str(json_path))  # bad arguments stop here, before pytest and before any file
    tests = Path(__file__).resolve().parent / "audit" / PROPERTY_TESTS
    pytest_args = [
        str(tests),
        "-c",
        str(tests / "pytest.ini"),
        f"--rootdir={tests}",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:benchmark",
        # the package is imported before pytest starts: no assertion rewriting (the failures
        # carry their own messages), instead of a warning per imported plugin module
        "--assert=plain",
        "-q",
        f"--junitxml={out / (name + '.junit.xml')}",
        f"--hypothesis-profile={args.profile}",
    ]
    if args.verbose:
        pytest_args.remove("-q")
    out.mkdir(parents=True, exist_ok=True)
    # the plugin module under its own name: an installed entry point of that name is then skipped
    code = pytest.main(pytest_args, plugins=[plugin, PreparedSession(session)])
    if session.target_failure is not None:  # said in one line by the plugin; no record of the audit
        (out / (name + ".junit.xml")).unlink(missing_ok=True)
        return EXIT_USAGE
    if code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        verdict = _print_summary(json_path, session.record)
        if args.exit_zero:  # the findings are the product here (another framework, another build)
            return EXIT_OK
        if code == pytest.ExitCode.TESTS_FAILED:
            return EXIT_FAILED
        return EXIT_NO_BUDGET if verdict == "no budget" else EXIT_OK
    # what pytest wrote of an audit that did not finish is not a record of it: no run file and no
    # report was written (the plugin writes them only for a finished audit); the JUnit XML goes too
    (out / (name + ".junit.xml")).unlink(missing_ok=True)
    if code == pytest.ExitCode.INTERRUPTED:
        print("softplus-audit: interrupted: the audit did not finish; no run file or report written", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(
        f"softplus-audit: error: the audit did not run to completion (pytest exit {int(code)}); "
        "no run file or report written",
        file=sys.stderr,
    )
    return EXIT_USAGE


def _print_summary(json_path: Path, run: dict | None) -> str | None:
    """Print the run's verdict and what matters in it, from the run file as the plugin read it back
    (``run``; read here only where it could not); returns the verdict."""
    from suite.report import RunFileError, load_run
    from suite.report.model import terminal_summary

    files = [str(json_path.with_suffix(s)) for s in (".html", ".md", ".json") if json_path.with_suffix(s).exists()]
    try:
        run = run if run is not None else load_run(json_path)
    except RunFileError as error:
        print(f"softplus-audit: warning: the run file cannot be read back ({error})", file=sys.stderr)
        return None
    print("\n".join(terminal_summary(run, files)))
    return run["verdict"]


def _cmd_budgets(args: argparse.Namespace) -> int:
    import torch

    from suite.audit import budgets
    from suite.audit.defaults import DEFAULT_GRID, RULES_GRID
    from suite.audit.options import grid_text
    from suite.implementations import DEFAULT_TARGETS
    from suite.implementations.base import device_kind

    path = Path(args.budgets) if args.budgets else budgets.DEFAULT_FILE
    if args.write and path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"--write: the budget file {path} is not writable")
    recorded = None
    if args.rules:  # the rules' grid: --grid, else the one the file's rules were measured on, else RULES_GRID
        try:
            recorded = budgets.load(path).rules_grid.get(device_kind(args.device[0] if args.device else "cpu"))
        except budgets.BudgetFileError as error:
            raise UsageError(str(error)) from None
        args.grid = args.grid if args.grid is not None else grid_text(recorded or RULES_GRID)
    auditor = _session(args).auditor
    settings = auditor.settings
    if len(auditor.devices) != 1:
        raise UsageError(
            f"budgets measures one kind of device at a time; got --device {' --device '.join(auditor.devices)}"
        )
    (device,) = auditor.devices
    # every quantity of every default target: a run of less (or of part of the default grid) is partial
    every_quantity = set(settings.quantities) == set(Quantity) and set(DEFAULT_TARGETS) <= set(settings.targets)
    every_configuration = every_quantity and set(settings.formats) == set(FORMATS.values())
    if recorded and set(settings.grid) != set(recorded) and not every_configuration:
        # the recorded grid must be true of every rule: a new point is measured for all of them or none
        raise UsageError(
            f"--rules --grid: the file's rules were measured on --grid '{grid_text(recorded)}'; measure another "
            "grid with every dtype, quantity and default target, or that grid with part of them"
        )
    provenance = f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}"
    if device != "cpu":  # the GPU, its compute capability and the CUDA runtime torch was built with
        from suite.environment import cuda_device_line

        provenance = f"torch {torch.__version__}, {cuda_device_line(device)}"
    swept, swept_deviations = _swept_maxima(args.sweeps or (), settings.targets, device)
    observed = ((c, auditor.observe_all(c)[0]) for c in auditor.configurations())
    partial = not set(DEFAULT_GRID) <= set(settings.grid) or not every_quantity
    text = budgets.regenerate(
        observed,
        auditor.budgets,
        provenance,
        partial=partial,
        rules=args.rules,
        device=device,
        swept=swept,
        swept_deviations=swept_deviations,
        grid=settings.grid,
    )
    if args.write:
        from suite.files import write_text_atomically

        write_text_atomically(text, path)
        print(f"softplus-audit: wrote {path}; review the diff before committing it")
    else:
        print(text)
    return EXIT_OK


def _swept_maxima(paths, targets, device: str):
    """``budgets --sweeps``: the every-input maxima of the judged sweeps under ``paths`` of one of
    ``targets`` on ``device``'s kind (:class:`suite.audit.budgets.SweptMaximum`: over every input,
    or over a float64 sweep's sample, which bounds a budget from below as well), and the largest
    error each found inside each accuracy deviation's region; a sweep of another target or device,
    or not judged, is named on stderr and not used; a path that holds no sweep is bad input."""
    from suite.audit.budgets import SweptMaximum
    from suite.implementations.base import device_kind
    from suite.numerics.formats import format_named
    from suite.report.load import RunFileError, as_float
    from suite.report.sweepreport import every_input, is_sweep, load_sweep

    maxima, inside = [], {}
    for item in paths:
        path = Path(item)
        files = sorted(f for f in path.rglob("*.json") if is_sweep(f)) if path.is_dir() else [path]
        if not files or not all(f.exists() and is_sweep(f) for f in files):
            raise UsageError(f"--sweeps {item}: no sweep report there (give sweep JSON files or folders holding them)")
        for f in files:
            try:
                data = load_sweep(f)
            except RunFileError as error:
                raise UsageError(f"--sweeps: {error}") from None
            spec, judgment = data["spec"], data.get("judgment") or {}
            why = (
                "another target" if spec["target"] not in targets
                else "another kind of device" if device_kind(spec["device"]) != device_kind(device)
                else None if judgment.get("judged")
                else "not judged against the budgets (measure it again)"
            )  # fmt: skip
            if why:
                print(f"softplus-audit: --sweeps: {f}: {why}; not used", file=sys.stderr)
                continue
            threshold = as_float(spec["threshold"])
            for oracle, record in judgment["oracles"].items():
                if record["max_ulp_outside"] is not None:
                    args = (spec["dtype"], spec["quantity"], oracle, float(spec["beta"]), threshold)
                    value, at = as_float(record["max_ulp_outside"]), record["worst_outside"]["x_bits"]
                    inputs = None if every_input(data) else judgment["inputs"]
                    maxima.append(SweptMaximum(*args, device_kind(spec["device"]), value, at, inputs))
            for d in judgment["deviations"]:
                if d["max_ulp"] is not None:
                    key = (d["id"], format_named(spec["dtype"]))
                    inside[key] = max(inside.get(key, 0.0), as_float(d["max_ulp"]))
    # of several sweeps of one budget, the largest (on a tie, one of every input before a sample)
    largest = {}
    for m in maxima:
        rank = (m.max_ulp, m.inputs is None)
        if m.key not in largest or rank > (largest[m.key].max_ulp, largest[m.key].inputs is None):
            largest[m.key] = m
    return tuple(largest.values()), inside


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from suite.report import RunFileError, load_run, write_reports
    from suite.report.sweepreport import is_sweep, load_sweep, write_sweep_html, write_sweep_markdown

    run_path = Path(args.run_file)
    sweep = is_sweep(run_path)  # a sweep's report: its page and its Markdown summary
    try:
        data = load_sweep(run_path) if sweep else load_run(run_path)
    except RunFileError as error:
        raise UsageError(str(error)) from None
    # both destinations checked before either file is written
    html = _report_file(args.html, run_path.with_suffix(".html"), "--html")
    md = _report_file(args.md, run_path.with_suffix(".md"), "--md")
    try:
        if sweep:
            written = [write_sweep_markdown(data, md), write_sweep_html(data, html)]
        else:
            written = write_reports(data, html=html, md=md)
    except OSError as error:
        raise UsageError(f"cannot write the report: {error.filename or ''}: {error.strerror or error}") from None
    print("softplus-audit: wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _report_file(given: str | None, default: Path, option: str) -> Path:
    """Where ``report`` writes one of its files (``option``'s value ``given``, else ``default``): a file
    that is not a directory, in a directory that can be created and written; UsageError (one line,
    naming the option and the path given) otherwise."""
    from suite.files import writable_directory_problem

    path = Path(given) if given else default
    problem = "it is a directory" if path.is_dir() else writable_directory_problem(path.parent)
    if problem:
        what = f"{option} {given}" if given else f"{option} (default {path})"
        raise UsageError(f"{what}: cannot write the report there: {problem}; give a file path in a writable directory")
    return path


def _fraction(text: str) -> float:
    value = _float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction from 0 to 1 (0.01: one percentage point)")
    return value


def _tolerance(text: str) -> float:
    value = _float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number >= 0")
    return value


def _cmd_compare(args: argparse.Namespace) -> int:
    from suite.report import RunFileError, Tolerance, compare_runs, compare_sweeps, format_comparison, load_run
    from suite.report.sweepreport import is_sweep, load_sweep

    tolerance = Tolerance(abs_ulp=args.tolerance_ulp, rel=args.tolerance_rel, rate=args.tolerance_rate)
    sweeps = [is_sweep(args.base), is_sweep(args.new)]
    try:  # each file read and validated first: a missing or broken one is named, whatever the other is
        base = load_sweep(args.base) if sweeps[0] else load_run(args.base)
        new = load_sweep(args.new) if sweeps[1] else load_run(args.new)
    except RunFileError as error:
        raise UsageError(str(error)) from None
    if any(sweeps) and not all(sweeps):
        which = args.base if sweeps[0] else args.new
        raise UsageError(f"compare a run with a run, or a sweep with a sweep: {which} is a sweep, the other a run")
    if all(sweeps):
        result = compare_sweeps(base, new, tolerance)
    else:
        result = compare_runs(base, new, tolerance, match=args.match)
    print(format_comparison(result, base, new, tolerance, (args.base, args.new)))
    if result.matched == 0 and all(sweeps):
        print(
            f"softplus-audit: error: {args.base} and {args.new} sweep different devices, dtypes, quantities or "
            "parameters: nothing was compared",
            file=sys.stderr,
        )
        return EXIT_NOTHING_COMPARED
    if result.matched == 0:
        print(
            f"softplus-audit: error: no configuration of {args.base} matched one of {args.new} (by {args.match}): "
            "nothing was compared; compare runs of the same configurations, or --match measurement",
            file=sys.stderr,
        )
        return EXIT_NOTHING_COMPARED
    return EXIT_FAILED if result.regressions else EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    import time

    from suite import implementations
    from suite.environment import environment
    from suite.files import write_json_atomically
    from suite.implementations.base import check_answers, documented_parameters
    from suite.numerics.formats import format_named
    from suite.numerics.params import Params, grid_point_problem
    from suite.report.sweepreport import write_sweep_html, write_sweep_markdown
    from suite.sweep import SweepSpec, merge_shards, report, run_sweep
    from suite.sweep.spec import dense_problem, few_per_call_problem

    try:
        fmt = format_named(args.dtype)
        quantity = Quantity.named(args.quantity)
        implementation = implementations.load(args.target)
        device, path = _device_and_path(implementation, args.device, args.path, "--path")
        # ln(1 + e^x) alone (another framework): swept at beta = 1 without a threshold
        problem = grid_point_problem(args.beta, args.threshold)
        if problem:
            raise ValueError(f"--beta {args.beta!r} --threshold {args.threshold!r}: {problem}")
        beta, threshold = documented_parameters(implementation, args.beta, args.threshold)
        Params.as_kernel_sees(beta, threshold, fmt)  # a beta that stays finite in the kernel's format
        problem = dense_problem(fmt, args.dense) if args.dense is not None else None
        if problem:
            raise ValueError(f"--dense {args.dense}: {problem}")
        judged_by = _budget_file(args.budgets)
        spec = SweepSpec(
            fmt, args.target, device, path, quantity, beta, threshold, not args.one_path, args.dense or 0, judged_by
        )
        why = implementation.unsupported(fmt, quantity)
        if why:
            raise ValueError(
                f"--dtype {fmt.name} --quantity {quantity.value}: {args.target} cannot be swept there: {why}"
            )
        for each in (path, spec.other_path(implementation.paths(device))):
            if each:  # called at a few inputs on each path it will sweep, before it sweeps any
                check_answers(implementation, args.target, fmt, quantity, beta, threshold, device, each)
        problem = few_per_call_problem(spec, implementation)
        if problem:
            raise ValueError(f"--dtype {fmt.name} --quantity {quantity.value}: {problem}")
        shards, only = _shards(args, spec)
        if args.workers < 1:
            raise ValueError(f"--workers {args.workers}: give a number of processes >= 1")
        sampled = fmt.width > 32 and not spec.per_binade  # not enumerable: the stratified sample
        unsampled = ("--shard", args.shard), ("--shards", args.shards), ("--scheduler", args.scheduler)
        for flag, value in (*unsampled, ("--batched", args.batched)):
            if sampled and value not in (None, False):
                raise ValueError(
                    f"{flag}: a float64 sample is measured in one run, in chunks on --workers processes; "
                    f"--dense N sweeps float64 in shards"
                )
    except ValueError as error:
        raise UsageError(str(error)) from None
    out = _output_directory(args.out)
    if sampled:  # not enumerable: the stratified sample, per binade
        return _sample_sweep(spec, implementation, out, args.per_binade, args.search, args.workers)
    begun = time.perf_counter()
    if args.scheduler is not None:
        from suite.implementations.base import require

        try:
            require("distributed", "dask")
        except implementations.ImplementationError as error:
            raise UsageError(f"--scheduler: {error}") from None
    # on a device, the outputs come in large batches from this process and the cores measure them
    batched = (args.batched or (device != "cpu" and args.scheduler is None)) and not spec.per_binade
    measured = run_sweep(spec, out, shards, only=only, workers=args.workers, scheduler=args.scheduler, batched=batched)
    wall = time.perf_counter() - begun if len(measured) == shards else None  # whole, not resumed
    if only is not None:
        print(f"softplus-audit: shard {only}/{shards} of {spec.key} written under {out / spec.key}")
        return EXIT_OK
    files = sorted((out / spec.key).glob(f"shard-*-of-{shards:04d}.json"))
    spec, total, n = merge_shards(files)
    data = _described(report(spec, total, n, environment(), wall_seconds=wall), implementation)
    target = out / f"sweep-{spec.key}.json"
    write_json_atomically(data, target)
    summary = write_sweep_markdown(data, target.with_suffix(".md"))
    page = write_sweep_html(data, target.with_suffix(".html"))
    print(f"softplus-audit: sweep of {total.inputs:,} inputs written to {target}, {summary} and {page}")
    return EXIT_OK


def _budget_file(name: str | None) -> str | None:
    """``--budgets FILE``, checked here (ValueError, one line), as given: the reports name it so, not by
    this machine's absolute path (a cluster's workers must see it there, as they see --out); None:
    the packaged file."""
    from suite.audit import budgets

    if name is None:
        return None
    try:
        budgets.load(name)
    except budgets.BudgetFileError as error:
        raise ValueError(f"--budgets: {error}") from None
    return name


def _device_and_path(implementation, device: str, path: str | None, flag: str) -> tuple[str, str]:
    """A device the implementation has here (its canonical name) and one of its kernel paths there
    (default: the first); ValueError (one line, naming ``flag`` and what is accepted) otherwise."""
    device = implementation.resolve_device(device)
    paths = implementation.paths(device)
    path = path or paths[0]
    if path not in paths:
        raise ValueError(f"{flag} {path!r} does not exist on {device}; accepted: {', '.join(paths)}")
    return device, path


def _described(data: dict, implementation) -> dict:
    """A sweep report that says which family evaluated it and, in the implementation's own words,
    what ran (its version): what ``softplus-audit table`` shows as the build; and the reproducers
    of its largest error and of each violation's first example, on the path it measured."""
    from suite.implementations.base import step_reproducer
    from suite.report.load import as_float
    from suite.sweep import SweepSpec

    spec = SweepSpec.from_record(data["spec"])
    data["spec"]["family"] = implementation.family
    data["environment"][f"target {implementation.spec}"] = implementation.description

    def reproducer(x, output) -> str:
        return implementation.reproducer(
            as_float(x), spec.fmt, spec.quantity, spec.beta, spec.threshold, spec.device, spec.path, as_float(output)
        )

    worst = data["oracles"]["documented"].get("worst")
    reproducers = {"worst": reproducer(worst["x"], worst["output"]) if worst else None}
    outside = ((data.get("judgment") or {}).get("oracles") or {}).get("documented", {}).get("worst_outside")
    if outside:  # the input a budget's verdict rests on
        reproducers["worst_outside"] = reproducer(outside["x"], outside["output"])
    for key, violation in data["violations"].items():
        example = (violation or {}).get("example")
        if example and key != "path_disagreement":  # the other path's reproducer names the other path
            before = example.get("before")
            if before:  # a step: both neighbours, each output's bits asserted, in the order stepped
                pair = [(as_float(e["x"]), as_float(e["output"])) for e in (before, example)]
                reproducers[key] = step_reproducer(reproducer, spec.fmt, *pair)
            else:
                reproducers[key] = reproducer(example["x"], example["output"])
    data["reproducers"] = reproducers
    return data


def _shards(args: argparse.Namespace, spec) -> tuple[int, int | None]:
    """``--shards N`` / ``--shard K/N``: the number of shards and the one to measure (None: all)."""
    shards = args.shards if args.shards is not None else (1 if spec.fmt.width <= 16 else 64)
    only, flag = None, f"--shards {shards}"
    if args.shard:
        k, sep, n = args.shard.partition("/")
        if not (sep and k.strip().isdigit() and n.strip().isdigit()):
            raise ValueError(f"--shard {args.shard!r}: give K/N with 0 <= K < N, e.g. --shard 7/64")
        only, shards, flag = int(k), int(n), f"--shard {args.shard}"
        if not 0 <= only < shards:
            raise ValueError(f"--shard {args.shard}: need K/N with 0 <= K < N (shards are numbered from 0)")
    if shards < 1:
        raise ValueError(f"--shards {shards}: give a number of shards >= 1")
    if shards > spec.units:
        what = "binades" if spec.per_binade else "inputs"
        raise ValueError(f"{flag}: {spec.fmt.name} has only {spec.units} {what} to cut into shards")
    return shards, only


def _sample_sweep(spec, implementation, out, per_binade: int, search: int, workers: int) -> int:
    import time

    import numpy as np

    from suite.environment import environment
    from suite.files import write_json_atomically
    from suite.report.sweepreport import write_sweep_html, write_sweep_markdown
    from suite.sweep import Heartbeat, report, sample_float64, targeted_search
    from suite.sweep.sample import measure_beyond

    if per_binade < 2:
        raise UsageError(f"--per-binade {per_binade}: give at least 2 (each binade's first and last values)")
    if search < 0:
        raise UsageError(f"--search {search}: give a number of examples >= 0")
    begun = time.perf_counter()
    beat = Heartbeat(1, f"sample {spec.key}")  # the total is set once the sample is drawn
    try:
        acc, x = sample_float64(spec, per_binade, implementation, progress=beat, workers=workers)
    finally:
        beat.close()
    found = targeted_search(spec, implementation, search) if search else None
    added = 0
    if found:
        # the search's inputs join the sample's statistics (those the sample already holds, once)
        tried = np.unique(np.array(found.pop("inputs"), dtype=np.float64))
        tried = tried[~np.isnan(tried)]
        extra = np.setdiff1d(tried, x, assume_unique=True)
        measure_beyond(spec, extra, x, implementation, acc)
        added = len(extra)
        found["inputs_added_to_the_statistics"] = added
    data = _described(report(spec, acc, 1, environment(), wall_seconds=time.perf_counter() - begun), implementation)
    data["sample"] = {"per_binade": per_binade, "inputs": len(x), "note": "suite.inputs.sets.stratified"}
    if found:
        data["search"] = found
    target = out / f"sample-{spec.key}-{per_binade}-per-binade.json"
    write_json_atomically(data, target)
    summary = write_sweep_markdown(data, target.with_suffix(".md"))
    page = write_sweep_html(data, target.with_suffix(".html"))
    print(f"softplus-audit: float64 sample of {acc.inputs:,} inputs written to {target}, {summary} and {page}")
    return EXIT_OK


def _cmd_merge(args: argparse.Namespace) -> int:
    from suite.environment import environment
    from suite.files import write_json_atomically
    from suite.report.sweepreport import write_sweep_html, write_sweep_markdown
    from suite.sweep import merge_shards, report

    paths = []
    for item in args.shards:
        p = Path(item)
        if not p.exists():
            raise UsageError(f"{p}: no such file or directory; give shard files or directories holding shard-*.json")
        paths += sorted(p.glob("shard-*.json")) if p.is_dir() else [p]
    if Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: is a directory; give the merged report's file name, e.g. merged.json")
    _output_directory(str(Path(args.out).parent), args.out)
    try:
        spec, total, n = merge_shards(paths)
    except ValueError as error:
        raise UsageError(str(error)) from None
    data = report(spec, total, n, environment())
    from suite import implementations

    with contextlib.suppress(implementations.ImplementationError):  # in its own words, where installed here
        data = _described(data, implementations.load(spec.target))
    write_json_atomically(data, args.out)
    summary = write_sweep_markdown(data, Path(args.out).with_suffix(".md"))
    write_sweep_html(data, Path(args.out).with_suffix(".html"))
    print(f"softplus-audit: {n} shards, {total.inputs:,} inputs merged into {args.out} and {summary}")
    return EXIT_OK


def _add_reference_command(sub) -> None:
    """``softplus-audit reference``."""
    ref = sub.add_parser(
        "reference",
        help="exact and correctly rounded value of softplus or a derivative at one input",
        description="Print the exact value, its correct rounding, and optionally the ULP error of an output.",
        signed_numbers=True,
    )
    ref.add_argument("quantity", help=QUANTITY_NAMES)
    ref.add_argument(
        "x",
        help="the input: a decimal, inf, nan, a hex float (-0x1.8p+1) or the dtype's bit pattern as the "
        "reports write it (0xc2cff1b4 in float32: 0x and width/4 hex digits)",
    )
    ref.add_argument("--dtype", default="float32", help=f"{DTYPE_NAMES} (default float32)")
    ref.add_argument("--beta", type=_float, default=1.0)
    ref.add_argument("--threshold", type=_float, default=20.0)
    ref.add_argument(
        "--oracle",
        default="math",
        help=f"{ORACLE_NAMES}: the exact function, or torch's documented one (default math)",
    )
    ref.add_argument("--output", help="an output to measure in ULPs (a number or the dtype's bit pattern, as x)")
    ref.add_argument("--digits", type=_digits, default=30, help="digits of the exact value to print")
    ref.add_argument(
        "--as-given",
        action="store_true",
        help="use beta and threshold as given instead of cast to the kernel's compute format",
    )
    ref.set_defaults(run=_cmd_reference)


def _add_run_command(sub) -> None:
    """``softplus-audit run``."""
    from suite.audit import profiles

    run = sub.add_parser(
        "run",
        help="audit softplus implementations (property tests) and write a JSON report",
        description="Run the property-based audit. Exit 0: every property within budget; 1: a budget or "
        "property failed; 2: bad arguments, or a target that raises or returns no tensor like its input when "
        "called (nothing is written); 4: nothing failed, but no budget applied to "
        "some accuracy property (its measured error is reported, not judged); 130: interrupted (Ctrl-C: no run "
        "file or report of the unfinished audit is written).",
    )
    _audit_options(run)
    run.add_argument(
        "--profile",
        default=profiles.DEFAULT_PROFILE,
        choices=profiles.PROFILES,
        help=f"hypothesis profile (default {profiles.DEFAULT_PROFILE})",
    )
    run.add_argument("--out", default="reports", help="directory for the report (default: reports)")
    run.add_argument("--name", help="report file name without extension (default: audit)")
    run.add_argument("-v", "--verbose", action="store_true", help="list every test")
    run.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 when the audit ran to completion, whatever it found (failures and missing budgets "
        "are still reported); bad arguments still exit 2",
    )
    run.set_defaults(run=_cmd_run)


def _add_budgets_command(sub) -> None:
    """``softplus-audit budgets``."""
    from suite.audit.defaults import RULES_GRID

    bud = sub.add_parser(
        "budgets",
        help="measure and print (or --write) the budget file",
        description="Measure every configuration and regenerate the budgets and the known deviations' bounds, "
        "keeping the deviations' reasons and regions.",
    )
    _audit_options(bud)
    bud.add_argument("--write", action="store_true", help="overwrite the budget file instead of printing")
    bud.add_argument(
        "--rules",
        action="store_true",
        help="the grid is a sample of the parameters users choose: set the rules that apply at any beta and "
        "threshold (one for betas that are powers of two, one for any beta) instead of one budget per grid point; "
        f"without --grid, the grid the file's rules were measured on (rules_grid), else a default of {len(RULES_GRID)} "
        "points; "
        "a grid that lacks one of the recorded points only raises the rules",
    )
    bud.add_argument(
        "--sweeps",
        nargs="+",
        metavar="PATH",
        help="sweep reports (files, or folders searched for them) of the audited targets on this kind of device: "
        "a budget is then at least the largest error a sweep found outside the deviations (on every input, or "
        "on a float64 sweep's sample), recorded beside it (swept, swept_at, swept_inputs), since the audit's "
        "sample may miss the worst input",
    )
    bud.set_defaults(run=_cmd_budgets)


def _add_report_command(sub) -> None:
    """``softplus-audit report``."""
    rep = sub.add_parser(
        "report",
        help="render the HTML and Markdown reports of a saved run",
        description="Validate a run's JSON (written by 'softplus-audit run') and render its reports from it alone: "
        "one self-contained HTML file (no network request) and a Markdown summary for CI logs. "
        "Exit 0: written; 2: the run file is missing, not JSON, truncated, of an unsupported format or "
        "does not match the schema (one line says which). Given a sweep's JSON (softplus-audit sweep or merge), "
        "writes its Markdown summary.",
    )
    rep.add_argument("run_file", metavar="RUN.json", help="the run's JSON (or a sweep's)")
    rep.add_argument("--html", metavar="PATH", help="where to write the HTML (default: RUN.html next to the JSON)")
    rep.add_argument("--md", metavar="PATH", help="where to write the Markdown (default: RUN.md next to the JSON)")
    rep.set_defaults(run=_cmd_report)


def _add_compare_command(sub) -> None:
    """``softplus-audit compare``."""
    cmp = sub.add_parser(
        "compare",
        help="regressions and improvements between two saved runs",
        description="Compare two runs configuration by configuration (matched by id, or with --match "
        "measurement by device, dtype, beta, threshold, path and quantity, across implementations and releases): "
        "max ULP error of both oracles (and, where both runs record it, outside every known deviation), "
        "correctly rounded rate, outputs of the wrong class, property and parameter case verdicts. Rule: a "
        "regression is new max ULP > base max ULP * (1 + REL) + ABS (either oracle; NaN counts as inf), a correctly "
        "rounded rate lower by more than RATE, more outputs of the wrong class (NaN or inf where the exact value is "
        "finite, a zero of the wrong sign: no max ULP shows them), or a property or parameter case going from "
        "pass to fail; improvements are the reverse. Configurations in "
        "one run only are listed, not counted. Two sweeps (of any implementations, releases or builds) are compared "
        "when they share device, dtype, quantity and parameters: the same rule, and each violation count (zeros where "
        "positive, wrong-way steps, path disagreement) regresses when it grows. Exit 0: no regression; 1: a "
        "regression; 2: an unreadable or invalid run file; 3: nothing matched, so nothing was compared.",
    )
    cmp.add_argument("base", metavar="BASE.json", help="the reference run (or sweep)")
    cmp.add_argument("new", metavar="NEW.json", help="the run (or sweep) to judge")
    cmp.add_argument(
        "--tolerance-ulp", type=_tolerance, default=0.5, metavar="ABS", help="absolute ULP slack (default 0.5)"
    )
    cmp.add_argument(
        "--tolerance-rel", type=_tolerance, default=0.0, metavar="REL", help="relative max-ULP slack (default 0)"
    )
    cmp.add_argument(
        "--tolerance-rate",
        type=_fraction,
        default=0.0,
        metavar="RATE",
        help="allowed drop of the correctly rounded rate, a fraction (default 0)",
    )
    cmp.add_argument(
        "--match",
        choices=("id", "measurement"),
        default="id",
        help="pair configurations by id (default), or by what they measure, whatever the implementation",
    )
    cmp.set_defaults(run=_cmd_compare)


def _add_sweep_command(sub) -> None:
    """``softplus-audit sweep``."""
    sw = sub.add_parser(
        "sweep",
        help="every input of float16, bfloat16 or float32 through a target (sharded, resumable)",
        description="Evaluate every bit pattern of the format on one kernel path and measure it against both "
        "oracles; shards are checkpointed under --out and skipped when the sweep runs again; the merged "
        "report is written to OUT/sweep-KEY.json. Exit 0: done; 2: bad input; 130: interrupted (the same "
        "command resumes).",
    )
    sw.add_argument(
        "--dtype", required=True, help=f"{DTYPE_NAMES}: every input up to 32 bits; float64: a sample (or --dense)"
    )
    sw.add_argument(
        "--per-binade",
        type=int,
        default=1000,
        help="float64 only: inputs per binade of each sign in the stratified sample (default 1000: ~8 M inputs)",
    )
    sw.add_argument(
        "--dense",
        type=int,
        metavar="N",
        help=f"float64 only: a dense sweep instead of the sample, N inputs (even) drawn in every one of the "
        f"{2 * FLOAT64.binades:,} binades, sharded by binade like a float32 sweep (--workers, --scheduler, --shard; "
        f"e.g. 1000000: {2 * FLOAT64.binades * 1_000_000 / 1e9:.1f} billion inputs)",
    )
    sw.add_argument(
        "--search",
        type=int,
        default=2000,
        help="float64 only: then a hypothesis search for larger errors, steered by the ULP error, with this "
        "many examples (default 2000; 0: none)",
    )
    sw.add_argument("--target", default="torch.nn.functional:softplus", help="package.module:callable")
    sw.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    sw.add_argument(
        "--path", help="a kernel path of the target on the device (torch on cpu: simd or scalar; default: its first)"
    )
    sw.add_argument("--quantity", default="forward", help=f"{QUANTITY_NAMES} (default forward)")
    sw.add_argument("--beta", type=_float, default=1.0)
    sw.add_argument("--threshold", type=_float, default=20.0)
    sw.add_argument(
        "--one-path",
        action="store_true",
        help="on cpu, run only --path (by default the other path runs on every input too, for the path "
        "disagreement count: 14-27 %% of a float32 sweep's time)",
    )
    sw.add_argument("--shards", type=int, help="number of shards (default 1 for 16-bit formats, 64 for float32)")
    sw.add_argument("--shard", help="K/N: measure only shard K of N (0-based), for separate processes or machines")
    sw.add_argument(
        "--workers", type=int, default=1, help="processes measuring shards (float64: chunks) at once (default 1)"
    )
    sw.add_argument(
        "--scheduler",
        help="run the shards on Dask distributed: 'local' (a local cluster of --workers processes) or a running "
        "cluster's scheduler address, e.g. tcp://10.0.0.5:8786, whose workers see --out "
        "(pip install 'softplus-audit[dask]')",
    )
    sw.add_argument(
        "--batched",
        action="store_true",
        help="evaluate the target in this process in batches of 2^26 inputs and measure them on --workers "
        "processes (the default on a device other than cpu, where one process owns the device)",
    )
    sw.add_argument(
        "--budgets",
        metavar="FILE",
        help="the budget and known-deviation TOML the sweep is judged against (default: the packaged one; "
        "with --scheduler, a path the cluster's workers see)",
    )
    sw.add_argument("--out", default="reports/sweeps", help="directory for checkpoints and the report")
    sw.set_defaults(run=_cmd_sweep)


def _add_merge_command(sub) -> None:
    """``softplus-audit merge``."""
    merge = sub.add_parser(
        "merge",
        help="join sweep shards from separate runs into one sweep report",
        description="Merge checkpointed shards (files, or directories holding shard-*.json) of one sweep.",
    )
    merge.add_argument("shards", nargs="+", help="shard files or directories")
    merge.add_argument("--out", required=True, help="the merged report's path")
    merge.set_defaults(run=_cmd_merge)


def _add_judge_command(sub) -> None:
    """``softplus-audit judge``."""
    judge = sub.add_parser(
        "judge",
        help="judge sweeps again against a budget file, from what they recorded per known deviation's region",
        description="Judge each sweep report again, from its statistics per region of the known deviations, "
        "against the budget file (after its budgets were measured again, or a device's were recorded), without "
        "measuring anything; rewrites each report's judgment, Markdown and page. Exit 0: every sweep within "
        "its budgets; 1: one exceeds them; 4: none exceeds, some has no budget or cannot be judged; 2: bad input.",
    )
    judge.add_argument("sweeps", nargs="+", help="sweep report JSON files")
    judge.add_argument(
        "--budgets", metavar="FILE", help="the budget and known-deviation TOML (default: the packaged one)"
    )
    judge.set_defaults(run=_cmd_judge)


def _cmd_judge(args: argparse.Namespace) -> int:
    from suite.audit import budgets
    from suite.files import write_json_atomically, write_text_atomically
    from suite.report import RunFileError
    from suite.report.sweepreport import judgment_sentence, load_sweep, render_sweep_html, render_sweep_markdown
    from suite.sweep import SweepSpec
    from suite.sweep.regions import RegionStats, judge

    try:
        budget_file = _budget_file(args.budgets)
        reports = [(Path(f), load_sweep(f)) for f in args.sweeps]
    except (ValueError, RunFileError) as error:
        raise UsageError(str(error)) from None
    specs = []
    for path, data in reports:
        try:
            specs.append(SweepSpec.from_record({**data["spec"], "budgets": budget_file}))
        except (ValueError, KeyError, TypeError) as error:  # a KeyError's text is the key's repr
            problem = f"missing {error.args[0]!r}" if isinstance(error, KeyError) else str(error)
            raise UsageError(f"{path}: its spec is not one a sweep can have: {problem}") from None
    judged_by = budgets.load(budget_file)
    # every sweep judged and rendered before any file is rewritten: one that cannot be leaves all as they were
    done = []
    for (path, data), spec in zip(reports, specs, strict=True):
        stats = RegionStats.from_record(data["regions"]) if data.get("regions") else None
        data["judgment"] = judge(spec, stats, judged_by)
        data["spec"] = {**spec.record(), **({"family": data["spec"]["family"]} if "family" in data["spec"] else {})}
        done.append((path, data, render_sweep_markdown(data), render_sweep_html(data)))
    verdicts = []
    for path, data, md, html in done:
        write_json_atomically(data, path)
        write_text_atomically(md, path.with_suffix(".md"))
        write_text_atomically(html, path.with_suffix(".html"))
        verdicts.append(data["judgment"].get("verdict", "not judged"))
        print(f"softplus-audit: {path}: {judgment_sentence(data)}")
    if "fails" in verdicts:
        return EXIT_FAILED
    return EXIT_NO_BUDGET if set(verdicts) - {"holds"} else EXIT_OK


def _cmd_table(args: argparse.Namespace) -> int:
    from suite.files import write_text_atomically
    from suite.report import RunFileError
    from suite.report.table import (
        distinct_names,
        load_corpus,
        load_rows,
        render_table_html,
        render_table_markdown,
        report_files,
    )

    out = _output_directory(args.out)
    name = _file_name(args.name, "table")
    try:
        files = report_files(args.files)
        rows = load_rows(files)
        corpus = load_corpus(files)
    except RunFileError as error:
        raise UsageError(str(error)) from None
    sources = list(distinct_names(files).values())
    html, md = out / f"{name}.html", out / f"{name}.md"
    write_text_atomically(render_table_html(rows, sources, corpus), html)
    write_text_atomically(render_table_markdown(rows, sources, corpus), md)
    print(f"softplus-audit: {len(rows)} configurations side by side: {html}, {md}")
    return EXIT_OK


def _cmd_builds(args: argparse.Namespace) -> int:
    from suite.audit import builds
    from suite.audit.options import settings_from
    from suite.files import write_json_atomically, write_text_atomically
    from suite.report.table import load_rows, render_table_html, render_table_markdown

    out = _output_directory(args.out)
    try:  # the audit's own option table and checks: bad input stops here, before any process starts
        settings = settings_from({"dtype": args.dtype, "quantity": args.quantity, "grid": args.grid})
    except ValueError as error:
        raise UsageError(str(error)) from None
    dtypes = [f.name for f in settings.formats]
    quantities = [q.value for q in settings.quantities]
    grid = ["--grid", args.grid] if args.grid is not None else []
    run_args = ["--target", builds.TARGET, *grid, "--profile", args.profile]
    run_args += [a for d in dtypes for a in ("--dtype", d)] + [a for q in quantities for a in ("--quantity", q)]
    out.mkdir(parents=True, exist_ok=True)
    done = builds.run_builds(run_args, dtypes, quantities, out)
    record = builds.summary(done)
    write_json_atomically(record, out / "builds.json")
    text = builds.markdown(record)
    write_text_atomically(text, out / "builds.md")
    print(text)
    runs = [b.run_file for b in done if b.run_file]
    if runs:
        rows = load_rows(runs)
        sources = [Path(r).name for r in runs]
        write_text_atomically(render_table_html(rows, sources), out / "table.html")
        write_text_atomically(render_table_markdown(rows, sources), out / "table.md")
        print(f"softplus-audit: {len(runs)} build(s) audited; side by side: {out / 'table.html'}")
    return EXIT_OK


def _cmd_corpus(args: argparse.Namespace) -> int:
    from suite import implementations
    from suite.audit import corpus
    from suite.environment import environment
    from suite.files import write_json_atomically, write_text_atomically
    from suite.implementations.base import DeviceUnavailableError, NotInstalledError

    out = _output_directory(args.out)
    name = _file_name(args.name, "corpus")
    try:
        problems = corpus.load(args.corpus)
    except corpus.CorpusFileError as error:
        raise UsageError(str(error)) from None
    targets = args.target or list(implementations.REGISTRY)
    loaded, devices, absent, unavailable = {}, {}, {}, {}
    for spec in targets:
        try:
            implementation = implementations.load(spec)
            devices[spec] = implementation.resolve_device(args.device)
            loaded[spec] = implementation
        except NotInstalledError as error:
            absent[spec] = str(error)
        except DeviceUnavailableError as error:
            unavailable[spec] = str(error)
        except implementations.ImplementationError as error:
            raise UsageError(str(error)) from None
    if not loaded:
        raise UsageError(
            f"none of the targets can be checked on {args.device}: " + "; ".join({**absent, **unavailable}.values())
        )
    outcomes = [corpus.check(p, spec, impl, devices[spec]) for p in problems for spec, impl in loaded.items()]
    record = {
        "corpus": args.corpus or "suite/data/corpus.toml (packaged)",
        "device": args.device,
        # what was checked: torch's release (a table of several releases labels their columns by it)
        # and each implementation in its own words (its version)
        "environment": {**environment(), **{f"target {k}": v.description for k, v in loaded.items()}},
        "not_installed": absent,
        "device_unavailable": unavailable,
        "outcomes": [o.__dict__ for o in outcomes],
    }
    write_json_atomically(record, out / f"{name}.json")
    text = corpus.markdown(problems, outcomes)
    if absent:
        text += "\nNot installed: " + "; ".join(f"`{k}`" for k in absent) + "\n"
    if unavailable:
        text += f"\nNot available on {args.device}: " + "; ".join(f"`{k}`" for k in unavailable) + "\n"
    write_text_atomically(text, out / f"{name}.md")
    print(text)
    return EXIT_OK


def _add_corpus_command(sub) -> None:
    """``softplus-audit corpus``."""
    cmd = sub.add_parser(
        "corpus",
        help="known upstream softplus problems: present or fixed in each implementation here",
        description="Check every problem of the corpus (suite/data/corpus.toml, or --corpus FILE: data, one "
        "[[problem]] per known upstream problem) on each implementation: present, fixed, or not applicable. "
        "Writes corpus.md and corpus.json (--name). Exit 0: checked; 2: bad input (an unreadable corpus, "
        "an unknown target).",
    )
    cmd.add_argument("--target", action="append", help="implementations (repeatable; default: every built-in one)")
    cmd.add_argument("--corpus", help="a corpus TOML file (default: the packaged one)")
    cmd.add_argument("--out", default="reports/corpus", help="directory (default: reports/corpus)")
    cmd.add_argument("--device", default="cpu", help="where to evaluate: cpu, cuda, cuda:N (default: cpu)")
    cmd.add_argument("--name", default="corpus", help="file name without extension (default: corpus)")
    cmd.set_defaults(run=_cmd_corpus)


def _cmd_matrix(args: argparse.Namespace) -> int:
    from suite import implementations
    from suite.environment import environment
    from suite.files import write_json_atomically, write_text_atomically
    from suite.report.sweepreport import write_sweep_html, write_sweep_markdown
    from suite.report.table import distinct_names, load_rows, render_table_html, render_table_markdown
    from suite.sweep import matrix, report

    out = _output_directory(args.out)
    try:
        table = matrix.from_toml(args.file) if args.file else {}
        for key, value in (("dtypes", args.dtype), ("quantities", args.quantity), ("targets", args.target),
                           ("paths", args.path)):  # fmt: skip
            if value:
                table[key] = value
        if args.grid is not None:
            from suite.audit.options import parse_grid

            table["parameters"] = [list(pair) for pair in parse_grid(args.grid)]
        if args.shards is not None:
            table["shards"] = args.shards
        sweeps = matrix.expand(table)
        if args.workers < 1:
            raise ValueError(f"--workers {args.workers}: give a number of processes >= 1")
        if args.scheduler is not None:
            from suite.implementations.base import require

            require("distributed", "dask")
    except (ValueError, implementations.ImplementationError) as error:
        raise UsageError(str(error)) from None
    print(f"softplus-audit: a matrix of {len(sweeps)} sweeps, {sum(s.shards for s in sweeps)} shards")
    matrix.run(sweeps, out, args.scheduler, args.workers)
    files = []
    for spec, total, n in matrix.merged(sweeps, out):
        data = _described(report(spec, total, n, environment()), implementations.load(spec.target))
        target = out / f"sweep-{spec.key}.json"
        write_json_atomically(data, target)
        write_sweep_markdown(data, target.with_suffix(".md"))
        write_sweep_html(data, target.with_suffix(".html"))
        files.append(str(target))
    rows = load_rows(files)
    sources = list(distinct_names(files).values())
    write_text_atomically(render_table_html(rows, sources), out / "matrix.html")
    write_text_atomically(render_table_markdown(rows, sources), out / "matrix.md")
    print(f"softplus-audit: {len(files)} sweeps written under {out}; side by side: {out / 'matrix.html'}")
    return EXIT_OK


def _add_matrix_command(sub) -> None:
    """``softplus-audit matrix``."""
    cmd = sub.add_parser(
        "matrix",
        help="many sweeps at once (targets × dtypes × quantities × parameters × paths), on Dask or here",
        description="Sweep every combination of a matrix (a TOML file with a [matrix] table, or the options) as "
        "one batch of shard tasks: on Dask distributed with --scheduler (a local cluster, or a running one), "
        "else one after another here. Each configuration is merged from its checkpoints (an interrupted matrix "
        "resumes) and reported; matrix.html and matrix.md put them side by side. Exit 0: done; 2: bad input; "
        "130: interrupted (the same command resumes).",
    )
    cmd.add_argument("file", nargs="?", metavar="MATRIX.toml", help="the matrix ([matrix]: dtypes, quantities, ...)")
    cmd.add_argument("--dtype", action="append", help="float16, bfloat16, float32 (repeatable)")
    cmd.add_argument("--quantity", action="append", help="forward, grad, grad2 (repeatable)")
    cmd.add_argument("--target", action="append", help="implementations (repeatable)")
    cmd.add_argument("--path", action="append", help="kernel paths (repeatable; '*': all of each implementation's)")
    cmd.add_argument("--grid", help="'beta,threshold;...' (default 1,20)")
    cmd.add_argument("--shards", type=int, help="shards per configuration (default: 1 for 16-bit formats, 64 float32)")
    cmd.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    cmd.add_argument("--scheduler", help="'local' or a Dask scheduler address (pip install 'softplus-audit[dask]')")
    cmd.add_argument("--out", default="reports/matrix", help="directory (default: reports/matrix)")
    cmd.set_defaults(run=_cmd_matrix)


def _add_scope_options(cmd) -> None:
    """--dtype, --quantity and --grid of a command that covers part of the audit's configurations."""
    cmd.add_argument("--dtype", action="append", help=f"{DTYPE_NAMES} (repeatable; default all)")
    cmd.add_argument("--quantity", action="append", help=f"{QUANTITY_NAMES} (repeatable; default all)")
    cmd.add_argument("--grid", help="'beta,threshold;...' (default: the audit's)")


def _add_builds_command(sub) -> None:
    """``softplus-audit builds``."""
    from suite.audit import profiles

    cmd = sub.add_parser(
        "builds",
        help="torch's CPU capability builds (ATEN_CPU_CAPABILITY) side by side, each in its own process",
        description="Audit torch.nn.functional.softplus once per CPU capability build torch has for this "
        "architecture (x86: default, avx2, avx512), each in a fresh interpreter with ATEN_CPU_CAPABILITY set "
        "before torch is imported; a build the CPU cannot run is reported 'unsupported on this CPU'. Writes each "
        "build's audit (audit-CAPABILITY.*), builds.md/.json (what ran, and the outputs that differ bit for bit "
        "from the default build's) and table.html/.md (the builds side by side). Exit 0: done; 2: bad input.",
    )
    _add_scope_options(cmd)
    cmd.add_argument("--profile", default=profiles.DEFAULT_PROFILE, choices=profiles.PROFILES)
    cmd.add_argument("--out", default="reports/builds", help="directory (default: reports/builds)")
    cmd.set_defaults(run=_cmd_builds)


def _cmd_devices(args: argparse.Namespace) -> int:
    from suite import implementations
    from suite.audit import devices
    from suite.audit.options import settings_from
    from suite.environment import environment
    from suite.files import write_json_atomically
    from suite.report.devicesreport import write_devices_markdown
    from suite.report.load import as_float

    try:
        settings = settings_from({"dtype": args.dtype, "quantity": args.quantity, "grid": args.grid})
        implementation = implementations.load(args.target)
        sides = [
            devices.Side(*_device_and_path(implementation, args.device, args.path, "--path")),
            devices.Side(*_device_and_path(implementation, args.versus, args.versus_path, "--versus-path")),
        ]
        if sides[0] == sides[1]:
            raise ValueError(f"--device and --versus are both {sides[0]}: give two devices, or two paths of one")
    except ValueError as error:  # ImplementationError and DeviceUnavailableError included
        raise UsageError(str(error)) from None
    out = _output_directory(args.out)
    a, b = sides

    def progress(c: dict) -> None:
        print(
            f"  {c['dtype']} {c['quantity']} b={c['beta']:g}: {c['differing']:,} of {c['inputs']:,} differ",
            file=sys.stderr,
        )

    configurations = devices.compare_all(
        implementation, settings.formats, settings.quantities, settings.grid, a, b, progress
    )
    differing = [c for c in configurations if c["differing"]]
    steps = [as_float(c["max_steps"]) for c in differing]
    record = {
        "format": 1,
        "kind": "devices",
        "target": args.target,
        "description": implementation.description,
        "versus": [str(a), str(b)],
        "environment": environment(),
        "summary": {
            "configurations": len(configurations),
            "differing_configurations": len(differing),
            "inputs": sum(c["inputs"] for c in configurations),
            "differing": sum(c["differing"] for c in configurations),
            "correctly_rounded_where_differing": {
                str(side): sum(c["correctly_rounded_where_differing"][str(side)] for c in configurations)
                for side in sides
            },
            "max_steps": devices.json_number(max(steps)) if steps else None,
        },
        "configurations": configurations,
    }
    stem = out / f"devices-{a.device}-{a.path}-vs-{b.device}-{b.path}".replace(":", "")
    write_json_atomically(record, stem.with_suffix(".json"))
    md = write_devices_markdown(record, stem.with_suffix(".md"))
    summary = record["summary"]
    right = summary["correctly_rounded_where_differing"]
    print(
        f"softplus-audit: {a} against {b}: {summary['differing_configurations']} of {summary['configurations']} "
        f"configurations differ ({summary['differing']:,} of {summary['inputs']:,} outputs; correctly rounded "
        f"there: {a} {right[str(a)]:,}, {b} {right[str(b)]:,}); {stem.with_suffix('.json')}, {md}"
    )
    return EXIT_OK


def _cmd_knife_edges(args: argparse.Namespace) -> int:
    from suite.audit.knife_edges import list_name
    from suite.files import write_json_atomically
    from suite.numerics.formats import format_named
    from suite.numerics.params import Params
    from suite.report.knifereport import write_knife_edges
    from suite.sweep.knife_edges import find_knife_edges, progress_steps
    from suite.sweep.progress import Heartbeat

    try:
        fmt = format_named(args.dtype)
        quantity = Quantity.named(args.quantity)
        Params.as_kernel_sees(args.beta, math.inf, fmt)  # a beta the reference is defined for
        if args.workers < 1:
            raise ValueError(f"--workers {args.workers}: give a number of processes >= 1")
    except ValueError as error:
        raise UsageError(str(error)) from None
    out = _output_directory(args.out)
    beat = Heartbeat(progress_steps(fmt), f"knife edges {fmt.name} {quantity.value}")
    try:
        data = find_knife_edges(fmt, quantity, args.beta, args.workers, progress=beat)
    finally:
        beat.close()
    name = list_name(fmt, quantity, args.beta)  # "...-b0.1": no suffix to replace, a name to extend
    write_json_atomically(data, out / f"{name}.json")
    written = [out / f"{name}.json", *write_knife_edges(data, out, name)]
    print(
        f"softplus-audit: {data['count']:,} knife edges among {data['inputs']:,} inputs: "
        + ", ".join(str(p) for p in written)
    )
    return EXIT_OK


def _add_knife_edges_command(sub) -> None:
    """``softplus-audit knife-edges``."""
    cmd = sub.add_parser(
        "knife-edges",
        help="every input whose exact result lies within 2^-20 ULP of a rounding midpoint",
        description="Examine every input of float16, bfloat16 or float32 (float64: search, by inverting the "
        "function around anchors in every binade) and list those whose exact quantity "
        "(the exact function, at --beta) lies within 2^-20 ULP of a rounding midpoint of the format: where "
        "implementations accurate to about half an ULP may round differently. Writes "
        "knife-edges-DTYPE-QUANTITY-bBETA.json, .md and .txt (the bit patterns). Exit 0: written; 2: bad input.",
    )
    cmd.add_argument("--dtype", required=True, help=f"{DTYPE_NAMES} (float64: a search)")
    cmd.add_argument("--quantity", default="forward", help=f"{QUANTITY_NAMES} (default forward)")
    cmd.add_argument("--beta", type=_float, default=1.0)
    cmd.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    cmd.add_argument("--out", default="reports/knife-edges", help="directory (default: reports/knife-edges)")
    cmd.set_defaults(run=_cmd_knife_edges)


def _add_devices_command(sub) -> None:
    """``softplus-audit devices``."""
    cmd = sub.add_parser(
        "devices",
        help="one implementation on two devices (or paths), input by input: where the outputs differ",
        description="Evaluate the target on --device and on --versus at the audit's inputs (every input of "
        "float16 and bfloat16, the audit's samples of float32 and float64), for every dtype, quantity and grid "
        "point, and compare the outputs bit for bit: how many differ, the inputs where they lie furthest apart "
        "(in steps of the output format), and a reproducer of each side. Writes devices-A-vs-B.json and .md. "
        "Exit 0: written (whatever differs); 2: bad input (an absent device, an unknown path).",
    )
    cmd.add_argument("--target", default="torch.nn.functional:softplus", help="package.module:callable")
    cmd.add_argument("--device", default="cuda", help="cpu, cuda or cuda:N (default cuda)")
    cmd.add_argument("--path", help="a kernel path on --device (default: its first)")
    cmd.add_argument("--versus", default="cpu", help="the device compared with (default cpu)")
    cmd.add_argument("--versus-path", help="a kernel path on --versus (default: its first; cpu: simd)")
    _add_scope_options(cmd)
    cmd.add_argument("--out", default="reports/devices", help="directory (default: reports/devices)")
    cmd.set_defaults(run=_cmd_devices)


def _add_table_command(sub) -> None:
    """``softplus-audit table``."""
    table = sub.add_parser(
        "table",
        help="implementations side by side: one page for any number of runs and sweeps",
        description="One table of every configuration in the given run and sweep files (implementation, build, "
        "dtype, quantity, path, parameters -> max ULP with its input, exact-function max ULP, correctly rounded "
        "share, premature zeros, non-finite outputs, path disagreement), as a self-contained HTML page and a "
        "Markdown table. Exit 0: written; 2: a file that is not a run or sweep report, or an unwritable --out.",
    )
    table.add_argument(
        "files",
        nargs="+",
        metavar="FILE.json",
        help="run files (softplus-audit run) and sweeps, or directories holding them",
    )
    table.add_argument("--out", default="reports", help="directory for the page and the table (default: reports)")
    table.add_argument("--name", default="table", help="file name without extension (default: table)")
    table.set_defaults(run=_cmd_table)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="softplus-audit",
        description="Exact accuracy audit of softplus implementations, in ULPs against an mpmath reference.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_reference_command(sub)
    _add_run_command(sub)
    _add_budgets_command(sub)
    _add_report_command(sub)
    _add_compare_command(sub)
    _add_table_command(sub)
    _add_builds_command(sub)
    _add_devices_command(sub)
    _add_knife_edges_command(sub)
    _add_corpus_command(sub)
    _add_matrix_command(sub)
    _add_sweep_command(sub)
    _add_merge_command(sub)
    _add_judge_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # hypothesis keeps its files in the user's cache, not in whatever directory the audit runs from
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "softplus-audit" / "hypothesis"
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache))
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, TargetFailedError) as error:  # a target that fails when called is bad input too
        print(f"softplus-audit: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C outside the audit's own session: one line, not a traceback
        resumes = args.command in RESUMABLE
        hint = "; the same command again resumes from the shards it finished" if resumes else ""
        print(f"softplus-audit: interrupted: {args.command} did not finish{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
