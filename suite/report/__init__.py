"""Reports of a saved run: validation (JSON Schema), Markdown and HTML renderings, comparison.

* :func:`load_run` reads and validates a run's JSON (``suite/data/run.schema.json``, format 1);
* :func:`render_markdown`, :func:`render_html`, :func:`write_reports` render it;
* :func:`compare_runs` compares two runs configuration by configuration.

All ULP figures are ULPs of the output format, relative to the exact value.
"""

from suite.report.compare import Comparison, Tolerance, compare_runs, compare_sweeps, format_comparison
from suite.report.load import SCHEMA_PATH, SUPPORTED_VERSIONS, RunFileError, load_run, parse_run, schema, validate
from suite.report.render import render_html, render_markdown, write_reports

__all__ = [
    "SCHEMA_PATH",
    "SUPPORTED_VERSIONS",
    "Comparison",
    "RunFileError",
    "Tolerance",
    "compare_runs",
    "compare_sweeps",
    "format_comparison",
    "load_run",
    "parse_run",
    "render_html",
    "render_markdown",
    "schema",
    "validate",
    "write_reports",
]
