"""The report of ``softplus-audit devices``: one implementation on two devices (or kernel paths),
input by input, in Markdown rendered from the comparison's JSON alone
(``suite/templates/devices.md.j2``). *Steps* count the values of the output format between the two
outputs (1: neighbouring floats)."""

from __future__ import annotations

import math
from pathlib import Path

from suite.files import write_text_atomically
from suite.report import model
from suite.report.load import as_float
from suite.report.render import template_environment

SHOWN = 20
"""Configurations that differ, shown one by one (the JSON holds every one)."""


def steps_text(value) -> str:
    """A distance in steps of the output format: a whole number, or "a NaN against a number"."""
    value = as_float(value)
    return f"{value:,.0f}" if math.isfinite(value) else "NaN vs a number"


def who_is_right(data: dict) -> str:
    """Where the two sides differ, whose output is the correctly rounded one, in one sentence ('' for
    a file written before that was recorded, or where they never differ)."""
    summary, (a, b) = data["summary"], data["versus"]
    right = summary.get("correctly_rounded_where_differing")
    if not right or not summary["differing"]:
        return ""
    neither = summary["differing"] - right[a] - right[b]
    tail = f"; neither at {neither:,}" if neither else ""
    counts = f"{a}'s at {right[a]:,} inputs and {b}'s at {right[b]:,}"
    return f"Where they differ, the correctly rounded output is {counts}{tail}."


def render_devices_markdown(data: dict) -> str:
    differing = [c for c in data["configurations"] if c["differing"]]
    return (
        template_environment("md")
        .get_template("devices.md.j2")
        .render(
            d=data,
            env_line=model.environment_line(data),
            differing=differing,
            shown=SHOWN,
            steps=steps_text,
            who_is_right=who_is_right(data),
        )
    )


def write_devices_markdown(data: dict, path: str | Path) -> Path:
    write_text_atomically(render_devices_markdown(data), path)
    return Path(path)
