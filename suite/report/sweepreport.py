"""The human report of a sweep (``softplus-audit sweep`` / ``merge``): Markdown rendered from the
sweep's JSON alone (``suite/templates/sweep.md.j2``), like a run's summary. ULP figures are ULPs
of the output format, relative to the exact value (documented oracle: torch's documented
function; exact function: the mathematical one).
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

from markupsafe import Markup

from suite.files import write_text_atomically
from suite.report import model
from suite.report.load import RunFileError, as_float, decode, location, validator_with_fast_binades
from suite.report.render import template_environment

SWEEP_FILE_VERSIONS = (1,)
SWEEP_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "sweep.schema.json"
TOP_BINADES = 10


@functools.cache
def sweep_schema() -> dict:
    """The sweep schema (draft 2020-12) as shipped in ``suite/data/sweep.schema.json``."""
    return json.loads(SWEEP_SCHEMA_PATH.read_text())


@functools.cache
def _sweep_validator():
    # per-binade maxima (thousands in a float64 sample) are checked by binade_max_error (fast)
    return validator_with_fast_binades(sweep_schema(), "oracle", ["object"])


_BINADE_KEY = re.compile(r"[+-](zero|subnormal|-?[0-9]+)")


def binade_max_error(key, value) -> str | None:
    """Why one entry of a sweep's ``binade_max`` does not match the schema, or None (the schema's
    rule, fast)."""
    if not _BINADE_KEY.fullmatch(key):
        return f"{key!r} is not a sign and a binade ('+zero', '-subnormal', '+5', '--3')"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None if value >= 0 else f"{value!r} is less than the minimum of 0"
    if (
        isinstance(value, dict)
        and "repr" in value
        and set(value) <= {"hex", "repr"}
        and all(isinstance(v, str) for v in value.values())
    ):
        return None
    return f"{value!r:.60} is not a number >= 0 or a {{repr}} float"


def first_violation(errors) -> tuple[str, str] | None:
    """The JSON path and message of the first schema violation among ``errors`` (jsonschema's), or
    None. Where a value may be one of several things (``anyOf``: null or a record, a number or a
    ``{repr}`` float), the message is that of the one thing its type fits, not "is not valid under
    any of the given schemas"."""
    from jsonschema.exceptions import best_match

    error = best_match(errors)
    if error is None:
        return None
    while error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict = {}
        for e in error.context:
            branches.setdefault(e.schema_path[0], []).append(e)
        wrong_type = [b for b in branches.values() if len(b) == 1 and b[0].validator == "type" and not b[0].path]
        fitting = [b for b in branches.values() if not any(b is w for w in wrong_type)]
        if not fitting:  # of none of the types accepted
            types = [t for (e,) in wrong_type for t in ([e.validator_value] if isinstance(e.validator_value, str)
                     else e.validator_value)]  # fmt: skip
            return location(error.absolute_path), f"{error.instance!r} is not of type {' or '.join(map(repr, types))}"
        if len(fitting) > 1:
            break
        error = best_match(fitting[0])
    return location(error.absolute_path), error.message


def load_sweep(path: str | Path) -> dict:
    """A sweep report JSON that matches ``suite/data/sweep.schema.json``; :class:`RunFileError` (one
    line naming the file and, for a schema violation, where in it and what was expected) for
    anything else."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        raise RunFileError(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise RunFileError(f"{path}: not JSON: not UTF-8 text (byte {error.start})") from None
    data = decode(text, str(path), "sweep report")
    if not isinstance(data, dict) or data.get("kind") != "sweep":
        raise RunFileError(f'{path}: not a sweep report (no "kind": "sweep")')
    if data.get("format") not in SWEEP_FILE_VERSIONS:
        raise RunFileError(f"{path}: sweep report format {data.get('format')!r}; supported: {SWEEP_FILE_VERSIONS}")
    missing = [k for k in ("spec", "inputs", "oracles", "violations", "environment") if k not in data]
    if missing:
        raise RunFileError(f"{path}: sweep report without {', '.join(missing)}")
    problem = first_violation(_sweep_validator().iter_errors(data))
    if problem is not None:
        where, message = problem
        message = message if len(message) <= 200 else message[:197] + "..."
        raise RunFileError(f"{path}: does not match the sweep schema at {where}: {message}")
    for oracle, stats in data["oracles"].items():
        for key, value in stats["binade_max"].items():
            problem = binade_max_error(key, value)
            if problem:
                where = location(["oracles", oracle, "binade_max", key])
                raise RunFileError(f"{path}: does not match the sweep schema at {where}: {problem}")
    return data


def is_sweep(path: str | Path) -> bool:
    """Does the file look like a sweep report (rather than a run)? Unreadable files: False."""
    try:
        return json.loads(Path(path).read_text()).get("kind") == "sweep"
    except (OSError, ValueError, AttributeError):
        return False


def duration_text(seconds) -> str:
    if seconds is None:
        return "unknown (resumed or merged)"
    if float(seconds) < 60:
        return f"{float(seconds):.1f} s"
    minutes, rest = divmod(round(float(seconds)), 60)  # whole seconds first: 239.6 s is 4 min 0 s, not 3 min 60 s
    return f"{minutes} min {rest} s"


def binade_label(key: str) -> str:
    """``"-6"`` (the JSON's key: sign, then binade) -> ``"x < 0, 2^6 <= |x| < 2^7"``."""
    sign, binade = key[0], key[1:]
    side = "x < 0" if sign == "-" else "x > 0"
    if binade in ("zero", "subnormal"):
        return f"{side}, {binade}" if binade == "subnormal" else ("-0" if sign == "-" else "+0")
    e = int(binade)
    return f"{side}, 2^{e} <= |x| < 2^{e + 1}"


def _binade_rows(data: dict) -> list[dict]:
    """The binades of x with the largest errors (documented oracle), largest first."""
    documented, exact = (data["oracles"][o]["binade_max"] for o in ("documented", "math"))
    keys = sorted(documented, key=lambda k: (-as_float(documented[k]), k))[:TOP_BINADES]
    return [{"binade": binade_label(k), "documented": documented[k], "math": exact.get(k, float("nan"))} for k in keys]


def precise_ulp(value) -> str:
    """A largest error with 9 significant digits: 1.49999775 must not read as 1.5."""
    v = as_float(value)
    return f"{v:.9g}" if v == v and abs(v) != float("inf") else repr(v)


def environment_line(data: dict) -> str:
    """What the sweep ran on: torch and the machine, or, for another framework, its own words (its
    version) in torch's place."""
    env = data["environment"]
    line = model.environment_line({"environment": env}) if "torch" in env else ""
    spec = data["spec"]
    described = env.get(f"target {spec['target']}")  # another framework's own words (its version)
    if spec.get("family", "torch") != "torch" and described:
        line = f"{described} · " + line.split(" · ", 2)[-1] if line else described
    return line


def reference_commands(data: dict) -> dict[str, str]:
    """Per oracle, the ``softplus-audit reference`` command that recomputes the worst input's error;
    and, under ``outside``, the one for the largest error outside the known deviations (documented
    oracle), where the sweep was judged."""
    commands = {
        oracle: model.reference_command(data["spec"], o["worst"], oracle)
        for oracle, o in data["oracles"].items()
        if o.get("worst")
    }
    outside = ((data.get("judgment") or {}).get("oracles") or {}).get("documented", {}).get("worst_outside")
    if outside:
        commands["outside"] = model.reference_command(data["spec"], outside, "documented")
    return commands


JUDGMENT_WORDS = {"holds": "Within budget on every input", "fails": "Exceeds the budget", "no budget": "No budget"}
"""The judgment's verdict (``judgment.verdict`` of the sweep file) as the report's first words."""

SAMPLE_WORDS = {"holds": "Within budget on the {inputs:,} inputs measured (a sample, not every input)"}
"""A sample's verdict where it differs from :data:`JUDGMENT_WORDS`: a sample holds only where it was measured."""


def every_input(data: dict) -> bool:
    """Was every input of the format measured (the judgment's own word where it has one)?"""
    return bool((data.get("judgment") or {}).get("every_input", data.get("exhaustive")))


JUDGMENT_CLASSES = {"holds": "pass", "fails": "fail", "no budget": "no-budget"}
"""The HTML header's class for each verdict (a sweep not judged keeps its faithful/not faithful colour)."""


def _over(data: dict) -> str:
    """What the sweep's statistics are taken over, in the report's words."""
    return "every input" if every_input(data) else "the inputs measured"


def judgment_sentence(data: dict) -> str | None:
    """The sweep's verdict against the budgets and known deviations, in words: what a reader acts
    on first (None: the file predates the judgment). Every figure with its input's bits."""
    j = data.get("judgment")
    if j is None:
        return None
    if not j["judged"]:
        return f"Not judged against the budgets: {j['why']}."
    parts = []
    for name, label in (("documented", "documented oracle"), ("math", "exact function")):
        o = j["oracles"][name]
        where = f" at x = {o['worst_outside']['x_bits']}" if o["worst_outside"] else ""
        largest = f"{precise_ulp(o['max_ulp_outside'])} ULP{where}" if o["max_ulp_outside"] is not None else "no error"
        budget = f"budget {o['budget']:g} ULP" if o["budget"] is not None else "no budget"
        wrong = f", {o['wrong_class_outside']:,} outputs of the wrong class" if o["wrong_class_outside"] else ""
        parts.append(f"{largest} ({budget}; {label}){wrong}")
    # why no budget applies, once where both oracles have the same reason
    parts += dict.fromkeys(o["why"] for o in j["oracles"].values() if o["budget"] is None and o.get("why"))
    grown = [d for d in j["deviations"] if d["status"] == "grown"]
    words = JUDGMENT_WORDS if every_input(data) else {**JUDGMENT_WORDS, **SAMPLE_WORDS}
    verdict = words[j["verdict"]].format(inputs=j.get("inputs", data["inputs"]))
    text = f"{verdict}: outside the known deviations, " + "; ".join(parts)
    for d in grown:
        text += (
            f"; known deviation {d['id']} has grown: {precise_ulp(d['max_ulp'])} ULP at x = {d['at']['x_bits']} "
            f"> its bound {d['bound']:g}"
        )
    positivity = j["positivity"]
    if positivity["zeros_outside"]:
        text += (
            f"; {positivity['zeros_outside']:,} outputs 0 where the correct rounding is > 0 outside every known "
            f"deviation, e.g. x = {positivity['example_outside']['x_bits']}"
        )
    excused = [
        f"{d['wrong_class']:,} of the wrong class in {d['id']}"
        for d in j["deviations"]
        if d["property"] == "accuracy (documented)" and d.get("wrong_class") and d["status"] != "grown"
    ]
    if positivity["zeros_inside"]:
        excused.append(f"{positivity['zeros_inside']:,} outputs 0 where the correct rounding is > 0")
    if excused:
        text += "; inside known deviations, as they allow: " + ", ".join(excused)
    return text + "."


def search_repeats(data: dict) -> str:
    """A sentence: when a float64 sweep's derandomized search tries the same inputs again. With the
    same hypothesis, and softplus-audit from the same kind of place: hypothesis also draws the
    numeric literals of modules outside site-packages, so a source tree searches otherwise than an
    installed copy. Empty where the sweep did not record hypothesis's version."""
    env = data.get("environment") or {}
    if not env.get("hypothesis"):
        return ""
    text = f"Its inputs repeat with hypothesis {env['hypothesis']}"
    where = {"installed": "installed", "source tree": "run from a source tree"}.get(env.get("softplus_audit_from"))
    if where:
        text += f" and softplus-audit {where}, as here (hypothesis also draws from the numeric literals of modules "
        text += "outside site-packages)"
    return text + "."


def render_sweep_markdown(data: dict) -> str:
    """The sweep in Markdown: what was swept and how long it took, both oracles' statistics, the
    histogram, the property violations with their first example, and the worst binades."""
    env_line = environment_line(data)
    return (
        template_environment("md")
        .get_template("sweep.md.j2")
        .render(
            s=data,
            env_line=env_line,
            cpu=duration_text(data.get("cpu_seconds")),
            wall=duration_text(data.get("wall_seconds")),
            binades=_binade_rows(data),
            top_binades=TOP_BINADES,
            buckets=list(data["oracles"]["documented"]["histogram"]),
            precise=precise_ulp,
            checks=reference_commands(data),
            judgment=judgment_sentence(data),
            over=_over(data),
            search_repeats=search_repeats(data),
            no_threshold=math.isinf(as_float(data["spec"]["threshold"])),
        )
    )


def write_sweep_markdown(data: dict, path: str | Path) -> Path:
    write_text_atomically(render_sweep_markdown(data), path)
    return Path(path)


def figure_config(data: dict) -> dict:
    """The sweep in the shape of a run's configuration, for :func:`suite.report.plots.figure_svg`:
    histograms as lists, per-binade maxima as ``{sign, binade, max_ulp}`` entries."""

    def entries(binade_max: dict) -> list[dict]:
        out = []
        for key, value in binade_max.items():
            sign, binade = key[0], key[1:]
            out.append({"sign": sign, "binade": binade if binade in ("zero", "subnormal") else int(binade),
                        "max_ulp": value})  # fmt: skip
        return out

    stats = {}
    for oracle, s in data["oracles"].items():
        worst = s.get("worst") or None
        stats[oracle] = {
            "histogram": list(s["histogram"].values()),
            "binade_max": entries(s["binade_max"]),
            "max_ulp": s["max_ulp"],
            "worst": {"x": worst["x"], "x_bits": worst["x_bits"]} if worst else None,
        }
    return {
        "dtype": data["spec"]["dtype"],
        "kernel_beta": data["kernel_params"]["beta"],
        "kernel_threshold": data["kernel_params"]["threshold"],
        "stats": stats,
        "budgets": {},
        "known_deviations": [],
    }


def render_sweep_html(data: dict) -> str:
    """The sweep as one self-contained page: the largest errors with their inputs and reproducer,
    the figure of errors against the input, the violations, the worst binades."""
    from suite.report.plots import figure_svg

    env_line = environment_line(data)
    svg = figure_svg(figure_config(data))
    svg = re.sub(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", "", svg)
    svg = svg.replace("<svg ", '<svg class="plot" role="img" aria-label="ULP errors of the sweep" ', 1)
    documented = data["oracles"]["documented"]
    judged = (data.get("judgment") or {}).get("verdict")
    # the figure a judged verdict rests on: the largest error outside the known deviations (those
    # inside, up to 2^p ULP where a deviation accepts any error, would shout over a verdict that holds)
    outside = ((data.get("judgment") or {}).get("oracles") or {}).get("documented") or {}
    if outside.get("max_ulp_outside") is not None:
        headline, headline_title = outside["max_ulp_outside"], "largest error outside the known deviations"
    else:
        headline, headline_title = documented["max_ulp"], "largest error"
    verdict = "faithful" if as_float(documented["max_ulp"]) < 1 else "not faithful"
    header = JUDGMENT_CLASSES[judged] if judged else ("pass" if verdict == "faithful" else "fail")
    return (
        template_environment("html")
        .get_template("sweep.html.j2")
        .render(
            s={**data, "reproducers": data.get("reproducers")},
            env_line=env_line,
            header=header,
            headline=headline,
            headline_title=headline_title,
            judgment=judgment_sentence(data),
            zeros=(data["violations"].get("zero_where_positive") or {}).get("count", 0),
            figure=Markup(svg),
            cpu=duration_text(data.get("cpu_seconds")),
            wall=duration_text(data.get("wall_seconds")),
            binades=_binade_rows(data),
            precise=precise_ulp,
            checks=reference_commands(data),
            over=_over(data),
            search_repeats=search_repeats(data),
        )
    )


def write_sweep_html(data: dict, path: str | Path) -> Path:
    write_text_atomically(render_sweep_html(data), path)
    return Path(path)
