"""The run's human reports: Markdown (CI logs, ``$GITHUB_STEP_SUMMARY``) and one self-contained
HTML file, both rendered from the run's JSON alone through the Jinja2 templates in
``suite/templates/``. The HTML is autoescaped (every string from the JSON is text, never markup)
and makes no network request: inline CSS, inline SVG, a few lines of inline script to sort
tables, and a Content-Security-Policy that forbids fetching anything.

All ULP figures are ULPs of the output format, relative to the exact value.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

from suite.files import write_text_atomically
from suite.report import model
from suite.report.claims import seed_claims
from suite.report.load import as_float

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")  # no links, emphasis, code, HTML or table cells


def md_text(value) -> str:
    """Text for Markdown: punctuation that Markdown or HTML would act on is backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def md_code(value) -> str:
    """An inline code span that holds ``value`` whatever backticks it contains."""
    text = " ".join(str(value).split())
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


def md_fence(value) -> str:
    """The opening/closing fence of a code block that can hold ``value``."""
    return "`" * max(3, max((len(m) for m in re.findall(r"`+", str(value))), default=0) + 1)


def sort_key(value) -> str:
    """A ``data-sort`` value: the raw number (NaN sorts as the largest)."""
    v = as_float(value)
    if math.isnan(v):
        return "Infinity"
    return repr(v) if math.isfinite(v) else ("Infinity" if v > 0 else "-Infinity")


@functools.cache
def template_environment(kind: str):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=kind == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        ulp=model.fmt_ulp,
        rate=model.fmt_rate,
        ulp_class=model.ulp_class,
        sort_key=sort_key,
        num=as_float,
        md=md_text,
        code=md_code,
        fence=md_fence,
        anchor=model.anchor,
        relative_error=model.relative_error,
    )
    # the macros are imported without the render's context: what they call is a global
    env.globals["no_budget_words"] = model.no_budget_words
    return env


def _worst_view(config: dict, oracle: str, worst: dict | None) -> dict | None:
    if worst is None:
        return None
    check = model.reference_command(config, worst, oracle)
    return {**worst, "oracle": oracle, "reproducer": model.reproducer(worst), "check": check}


def _largest_worst(config: dict, oracle: str) -> dict | None:
    return config["stats"][oracle]["worst"]


def _outside_worst(config: dict, oracle: str) -> dict | None:
    """The largest error outside the known deviations, where it is not the largest error itself."""
    worst = model.outside_worst(config, oracle)
    return None if worst == config["stats"][oracle]["worst"] else worst


def _worst_views(config: dict, which=_largest_worst) -> list[dict]:
    """The worst input of each oracle (``which``: the largest error, or the largest outside the
    known deviations); one entry when both oracles' worst is the same input."""
    views = [w for w in (_worst_view(config, o, which(config, o)) for o in model.ORACLES) if w]
    # the same input, output and exact value under both oracles: shown once (its check: documented)
    if len(views) == 2 and {k: v for k, v in views[0].items() if k not in ("oracle", "check")} == {
        k: v for k, v in views[1].items() if k not in ("oracle", "check")
    }:
        return [{**views[0], "oracle": " and ".join(model.ORACLES)}]
    return views


def _config_views(run: dict, figures=None) -> list[dict]:
    """Every configuration's view; one whose measurements are those of an earlier configuration of
    another target (every statistic, property, deviation, search and path comparison: e.g.
    torch.nn.Softplus and torch.nn.functional.softplus) is shown once, the later as "identical to"."""
    views, seen = [], {}
    for index, config in enumerate(run["configurations"]):
        key = model.measurement_key(config)
        if key in seen:
            first = seen[key]
            views.append({"index": index, "anchor": model.anchor(config["id"]), "c": config, "identical_to": first})
            continue
        seen[key] = {"index": index, "id": config["id"]}
        views.append(_config_view(index, config, figures))
    return views


def _config_view(index: int, config: dict, figures=None) -> dict:
    view = {
        "index": index,
        "anchor": model.anchor(config["id"]),
        "c": config,
        "label": model.config_label(config),
        "worst": _worst_views(config),
        "worst_outside": _worst_views(config, _outside_worst),
        "excused": model.excusing_deviations(config),
        "deviations_in_force": [d for d in config["known_deviations"] if d["status"] != "fixed"],
        "deviations_fixed": [d for d in config["known_deviations"] if d["status"] == "fixed"],
        "svg": None,
        "identical_to": None,
    }
    if figures is not None:
        from markupsafe import Markup

        label = f"ULP errors of {config['id']}: histogram, and largest error per binade of x"
        view["svg"] = Markup(figures.use(config, label))
    return view


def _with_reproducer(worst: dict | None) -> dict | None:
    if worst and worst["worst"]:
        worst["reproducer"] = model.reproducer(worst["worst"])
        worst["check"] = model.reference_command(worst["config"], worst["worst"])
    return worst


def _matrix(run: dict) -> dict:
    dtypes = model.ordered((c["dtype"] for c in run["configurations"]), model.DTYPE_ORDER)
    rows: dict[str, dict] = {}
    for index, config in enumerate(run["configurations"]):
        row = rows.setdefault(model.config_label(config), {"label": model.config_label(config), "cells": {}})
        row["cells"][config["dtype"]] = {"index": index, "c": config, "outside": model.outside_max(config)}
    return {"dtypes": dtypes, "rows": list(rows.values())}


def context(run: dict, figures=None) -> dict:
    """Everything the templates show, computed from the run (``figures``: a FigureCache, HTML only)."""
    return {
        "run": run,
        "env_line": model.environment_line(run),
        "table": model.dtype_quantity_table(run),
        "failing": model.failing_properties(run),
        "failing_cases": model.failing_parameter_cases(run),
        "failing_words": model.failing_words(run),
        "parameter_case_words": model.parameter_case_words,
        "deviations": model.deviations_in_force(run),
        "not_audited": model.not_audited(run),
        "worst": _with_reproducer(model.worst_case(run)),
        "worst_outside": _with_reproducer(model.worst_case(run, outside_deviations=True)),
        "budget_phrase": model.budget_phrase,
        "deviation_status": model.deviation_status,
        "excusing": model.excusing_deviations,
        "wrong_class_summary": model.wrong_class_summary(run),
        "wrong_class_lead": model.unexcused_wrong_class(run),
        "wrong_class_outputs": model.wrong_class_outputs,
        "wrong_class_words": model.wrong_class_words,
        "excusing_wrong_class": model.excusing_wrong_class,
        "claims": seed_claims(run),
        "quantity_names": model.QUANTITY_NAMES,
        "ulp_classes": [*model.ULP_CLASSES, (None, *model.ULP_CLASS_TOP)],
        "ulp_class_top": model.ULP_CLASS_TOP[0],
        "configs": _config_views(run, figures),
        "matrix": _matrix(run),
    }


def render_markdown(run: dict) -> str:
    """A short summary for CI logs: verdict, environment, dtype × quantity table (worst max ULP
    over configurations, correctly rounded rate), failing properties, deviations in force, what
    was not audited."""
    return template_environment("md").get_template("report.md.j2").render(context(run))


def render_html(run: dict, workers: int | None = None) -> str:
    """One self-contained HTML page (no network request of any kind) with everything in the run;
    its figures drawn in up to ``workers`` processes (default: every usable CPU; the page is the
    same whatever the number)."""
    from markupsafe import Markup

    from suite.report.plots import FigureCache

    figures = FigureCache()
    figures.prepare(run["configurations"], workers)  # in parallel where there are many
    page = context(run, figures)  # draws the figures the page uses
    page["sprite"] = Markup(figures.sprite())
    return _without_indentation(template_environment("html").get_template("report.html.j2").render(page))


def _without_indentation(html: str) -> str:
    """The page without the templates' indentation (a tenth of a default audit's page): a line break
    stays, so the whitespace between elements is kept; ``<pre>`` blocks are left as they are."""
    parts = re.split(r"(<pre\b.*?</pre>)", html, flags=re.S)
    return "".join(part if part.startswith("<pre") else re.sub(r"\n[ \t]+", "\n", part) for part in parts)


def write_reports(run: dict, html: str | Path | None = None, md: str | Path | None = None) -> list[Path]:
    """Render and write the HTML and/or Markdown report (each atomically); returns the paths written."""
    written = []
    if md is not None:
        write_text_atomically(render_markdown(run), md)
        written.append(Path(md))
    if html is not None:
        write_text_atomically(render_html(run), html)
        written.append(Path(html))
    return written
