"""The pytest plugin that drives the audit and collects every measurement.

Loaded by ``suite/audit_tests/conftest.py`` (so ``pytest suite/audit_tests`` and
``softplus-audit run`` both use it). Options:

* ``--target package.module:callable`` (repeatable; default: torch's functional and module)
* ``--device cpu|cuda|cuda:N`` (repeatable), ``--dtype`` (repeatable), ``--quantity`` (repeatable)
* ``--grid "beta,threshold;beta,threshold"``, ``--budgets FILE``
* ``--audit-json PATH``: write the run's measurements there (atomically) at the end.

The profile is hypothesis' own ``--hypothesis-profile`` (or ``HYPOTHESIS_PROFILE``).
The state of a run lives in one :class:`AuditSession` kept in ``config.stash``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pytest

from suite import profiles
from suite.audit import DEFAULT_GRID, DEFAULT_TARGETS, Auditor, AuditSettings, Configuration, parse_grid

profiles.register()


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


SESSION_KEY = pytest.StashKey[AuditSession]()


def pytest_addoption(parser):
    group = parser.getgroup("softplus-audit")
    group.addoption("--target", action="append", default=None, help="package.module:callable (repeatable)")
    group.addoption("--device", action="append", default=None, help="cpu, cuda or cuda:N (repeatable)")
    group.addoption("--dtype", action="append", default=None, help="float16, bfloat16, float32, float64")
    group.addoption("--quantity", action="append", default=None, help="forward, grad, grad2")
    group.addoption("--grid", default=None, help="'beta,threshold;beta,threshold' (default: the built-in grid)")
    group.addoption("--budgets", default=None, help="budget and known-deviation TOML file")
    group.addoption("--audit-json", default=None, help="write the run's measurements to this JSON file")


def settings_from(config) -> tuple[AuditSettings, dict[str, str]]:
    """The audit settings from pytest options; devices that are absent are skipped (with why)."""
    from suite.targets import DeviceUnavailableError, resolve_device

    skipped = {}
    devices = []
    for device in config.getoption("device") or ["cpu"]:
        try:
            devices.append(resolve_device(device))
        except DeviceUnavailableError as error:
            if config.getoption("device"):  # asked for explicitly: a usage error
                raise
            skipped[device] = str(error)
    if not config.getoption("device"):
        try:
            resolve_device("cuda")
        except DeviceUnavailableError as error:
            skipped["cuda"] = f"not audited: {error}"
    grid = parse_grid(config.getoption("grid")) if config.getoption("grid") else DEFAULT_GRID
    settings = AuditSettings(
        targets=tuple(config.getoption("target") or DEFAULT_TARGETS),
        devices=tuple(devices),
        dtypes=tuple(config.getoption("dtype") or ("float16", "bfloat16", "float32", "float64")),
        grid=grid,
        quantities=tuple(config.getoption("quantity") or ("forward", "grad", "grad2")),
        budgets_file=config.getoption("budgets"),
    )
    return settings, skipped


def pytest_configure(config):
    settings, skipped = settings_from(config)
    session = AuditSession(Auditor(settings), config.getoption("audit_json"), skipped=skipped)
    session.command = os.environ.get("SOFTPLUS_AUDIT_COMMAND", "pytest " + " ".join(config.invocation_params.args))
    config.stash[SESSION_KEY] = session


def pytest_generate_tests(metafunc):
    session = metafunc.config.stash[SESSION_KEY]
    if "audit_config" in metafunc.fixturenames:
        configs: list[Configuration] = session.auditor.configurations()
        metafunc.parametrize("audit_config", configs, ids=[c.id for c in configs])


@pytest.fixture(scope="session")
def audit_session(request) -> AuditSession:
    return request.config.stash[SESSION_KEY]


@pytest.fixture(scope="session")
def auditor(audit_session) -> Auditor:
    return audit_session.auditor


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        session = item.config.stash[SESSION_KEY]
        session.outcomes[item.nodeid] = report.outcome
    return report


def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(SESSION_KEY, None)
    if state is None or not state.json_path:
        return
    from suite.runreport import write_run

    write_run(state, state.json_path, int(exitstatus))
