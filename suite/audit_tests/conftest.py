"""Load the audit plugin for these tests (options, configurations, the run's JSON)."""

from suite.plugin import (  # noqa: F401  (pytest finds hooks and fixtures by name here)
    audit_session,
    auditor,
    pytest_addoption,
    pytest_configure,
    pytest_generate_tests,
    pytest_runtest_makereport,
    pytest_sessionfinish,
)
