"""The pytest plugin that drives the audit and collects every measurement.

Registered as a ``pytest11`` entry point, so that any pytest run in an environment where
softplus-audit is installed can run the audit's property tests (``--pyargs
suite.audit.property_tests``) against its own implementation. It is inert until those tests ask
for it: nothing is imported or measured otherwise. Options (one table,
:mod:`suite.audit.options`): ``--audit-target``, ``--audit-device``, ``--audit-dtype``,
``--audit-quantity``, ``--audit-grid``, ``--audit-budgets``, and ``--audit-json PATH`` (write the
run's measurements there, atomically, at the end). The profile is hypothesis' own
``--hypothesis-profile``.

``softplus-audit run`` builds the :class:`AuditSession` itself (its options validated once) and
hands it to pytest through :class:`PreparedSession`; the state of a run lives in one
:class:`AuditSession` kept in ``config.stash``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from suite.audit import profiles
from suite.audit.options import OPTIONS

if TYPE_CHECKING:
    from suite.audit.engine import Auditor

profiles.register()  # ci, dev, thorough: what --hypothesis-profile names


@dataclass
class AuditSession:
    auditor: Auditor
    json_path: str | None
    started: float = field(default_factory=time.time)
    outcomes: dict[str, str] = field(default_factory=dict)
    searches: dict[str, dict] = field(default_factory=dict)  # config id -> hypothesis search result
    parameter_cases: list[dict] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # what was not audited, and why
    command: str = ""
    record: dict | None = None  # the run file as written and read back (validated), once written
    target_failure: str | None = None  # a target that failed when called (no run file is written)


SESSION_KEY = pytest.StashKey[AuditSession]()


def pytest_addoption(parser):
    group = parser.getgroup("softplus-audit")
    for option in OPTIONS:
        group.addoption(
            option.pytest_flag,
            action="append" if option.repeatable else "store",
            default=None,
            dest=f"audit_{option.dest}",
            metavar=option.metavar,
            help=option.help,
        )
    group.addoption("--audit-json", default=None, help="write the run's measurements to this JSON file")


def new_session(values: dict, json_path: str | None, command: str) -> AuditSession:
    """An audit session from option values (see :func:`suite.audit.options.settings_from`).

    Devices not asked for are noted: without ``device``, the audit runs on the CPU and records
    why CUDA was not audited. ValueError (one line) for bad values, and for a target that fails
    when called at a few inputs (:meth:`Auditor.check_targets`)."""
    from suite.audit.engine import Auditor
    from suite.audit.options import settings_from
    from suite.implementations import DeviceUnavailableError

    settings = settings_from(values, devices=values.get("device") or ("cpu",))
    auditor = Auditor(settings)
    skipped = {}
    if not values.get("device"):
        for impl in auditor.implementations.values():
            try:
                impl.resolve_device("cuda")
            except DeviceUnavailableError as error:
                skipped.setdefault("cuda", f"not audited: {error}")
    auditor.check_targets()
    return AuditSession(auditor, json_path, skipped=skipped, command=command)


class PreparedSession:
    """A plugin object that installs an already-built :class:`AuditSession` (``softplus-audit run``)."""

    def __init__(self, session: AuditSession):
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        config.stash[SESSION_KEY] = self.session


def session_of(config) -> AuditSession:
    """The run's session: the prepared one, or one built (once) from the ``--audit-*`` options."""
    if SESSION_KEY not in config.stash:
        values = {o.dest: config.getoption(f"audit_{o.dest}") for o in OPTIONS}
        command = "pytest " + " ".join(config.invocation_params.args)
        try:
            config.stash[SESSION_KEY] = new_session(values, config.getoption("audit_json"), command)
        except ValueError as error:
            raise pytest.UsageError(f"softplus-audit: {error}") from None
    return config.stash[SESSION_KEY]


def pytest_configure(config):
    """Where the audit's options are given, its session is built now, before collection: a bad
    option or a target that fails when called is then pytest's one-line usage error (exit 4), not a
    collection error with a traceback."""
    if any(config.getoption(f"audit_{o.dest}") is not None for o in OPTIONS):
        session_of(config)


def pytest_generate_tests(metafunc):
    if "audit_config" in metafunc.fixturenames:
        configs = session_of(metafunc.config).auditor.configurations()
        metafunc.parametrize("audit_config", configs, ids=[c.id for c in configs])


@pytest.fixture(scope="session")
def audit_session(request) -> AuditSession:
    return session_of(request.config)


@pytest.fixture(scope="session")
def auditor(audit_session) -> Auditor:
    return audit_session.auditor


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    state = item.config.stash.get(SESSION_KEY, None)
    if state is not None and (report.when == "call" or (report.when == "setup" and report.outcome != "passed")):
        state.outcomes[item.nodeid] = report.outcome
    if state is not None and call.excinfo is not None and _target_failed(call.excinfo.value):
        # the target, not a property, failed: nothing more of this audit can be measured
        state.target_failure = state.target_failure or str(call.excinfo.value)
        item.session.shouldstop = state.target_failure
    return report


def _target_failed(error: BaseException) -> bool:
    from suite.implementations.base import TargetFailedError

    return isinstance(error, TargetFailedError)


def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(SESSION_KEY, None)
    if state is None:
        return
    finished = int(exitstatus) in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    if state.json_path and finished and state.target_failure is None:
        from suite.audit.runfile import write_run
        from suite.implementations.base import TargetFailedError

        try:
            write_run(state, state.json_path, int(exitstatus))
        except TargetFailedError as error:
            state.target_failure = str(error)
        else:
            state.record = render_reports(state.json_path)
    # otherwise interrupted, or pytest's own error: no run file and no report of a partial audit
    if state.target_failure is not None:  # the target, not a property, failed: a usage error in one line
        import sys

        print(f"softplus-audit: error: {state.target_failure}; no run file or report written", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def render_reports(path) -> dict | None:
    """NAME.html and NAME.md beside NAME.json, rendered from the file just written (see
    :mod:`suite.report`); returns the run as read back (None where that failed). The JSON is the
    run's record and is already safe: a rendering problem is one warning line on stderr
    (re-render with ``softplus-audit report``), never an error."""
    import sys
    from pathlib import Path

    path = Path(path)
    try:
        from suite.report import load_run, write_reports

        run = load_run(path)
        write_reports(run, html=path.with_suffix(".html"), md=path.with_suffix(".md"))
        return run
    except Exception as error:  # a report is a by-product: the run's verdict must stand
        print(
            f"softplus-audit: warning: HTML/Markdown reports not written ({type(error).__name__}: {error}); "
            f"retry with: softplus-audit report {path}",
            file=sys.stderr,
        )
        return None
