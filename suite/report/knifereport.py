"""The report of a knife-edge list (``softplus-audit knife-edges``), rendered from its JSON alone:
Markdown (``suite/templates/knife_edges.md.j2``) and the bare list of inputs (one bit pattern per
line, for other projects' tests)."""

from __future__ import annotations

from pathlib import Path

from suite.files import write_text_atomically
from suite.report.render import template_environment

SHOWN = 100
"""Inputs listed in the Markdown (the JSON and the .txt hold every one)."""


def render_knife_edges_markdown(data: dict) -> str:
    return template_environment("md").get_template("knife_edges.md.j2").render(k=data, shown=SHOWN)


def knife_edges_text(data: dict) -> str:
    """One input's bit pattern per line, after a comment line saying what the list is."""
    header = (
        f"# softplus {data['quantity']} knife edges of {data['dtype']} at beta = {data['beta']}: inputs whose exact "
        f"value lies within {data['within_ulp']!r} ULP of a rounding midpoint ({data['count']} of {data['inputs']})"
    )
    return "\n".join([header, *(e["x_bits"] for e in data["edges"])]) + "\n"


def write_knife_edges(data: dict, out: Path, name: str) -> list[Path]:
    """The Markdown and the text list, ``out/NAME.md`` and ``out/NAME.txt``."""
    md, txt = out / f"{name}.md", out / f"{name}.txt"
    write_text_atomically(render_knife_edges_markdown(data), md)
    write_text_atomically(knife_edges_text(data), txt)
    return [md, txt]
