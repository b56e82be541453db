"""Reading a run's JSON (``softplus-audit run``, :mod:`suite.audit.runfile`) back, validated.

:func:`load_run` returns the run as plain JSON data (dicts and lists) once it is known to be a
run of a supported ``format`` that matches ``suite/data/run.schema.json``; anything else raises
:class:`RunFileError` with one line that says what is wrong and where.

Validation is the JSON Schema (draft 2020-12), except the items of the ``binade_max`` lists:
a full run has some 600,000 of them, which ``jsonschema`` takes about 20 s to visit. They are
checked by :func:`binade_entry_error` instead, which ``tests/test_report.py`` holds to the
schema's own definition of an entry (same verdict on valid and invalid entries).
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Iterable
from pathlib import Path

from suite.files import binades_from_columns
from suite.report import jsonprefix

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "run.schema.json"
SUPPORTED_VERSIONS = (1, 2)
"""Run file layout versions (the files' ``format`` field) this softplus-audit reads."""


class RunFileError(ValueError):
    """A run file that cannot be used: missing, not JSON, truncated, unsupported format, or not
    matching the schema. ``str(error)`` is one line naming the file and the problem."""


@functools.cache
def schema() -> dict:
    """The run schema (draft 2020-12) as shipped in ``suite/data/run.schema.json``."""
    return json.loads(SCHEMA_PATH.read_text())


def validator_with_fast_binades(document: dict, definition: str, binade_types: list[str]):
    """A draft 2020-12 validator of the schema ``document`` whose ``$defs[definition].binade_max``
    is only type-checked (``binade_types``): its thousands of entries are checked by a fast
    function of the caller's, with the schema's rule."""
    import jsonschema

    relaxed = copy.deepcopy(document)
    relaxed["$defs"][definition]["properties"]["binade_max"] = {"type": binade_types}
    return jsonschema.Draft202012Validator(relaxed)


@functools.cache
def _validator():
    # per-binade maxima are checked by binade_entry_error and binade_columns_error (fast)
    return validator_with_fast_binades(schema(), "stats", ["array", "object"])


def location(path: Iterable[str | int]) -> str:
    """A JSON path such as ``$.configurations[3].stats.math.max_ulp``."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_exact_float(value) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"hex", "repr"}
        and isinstance(value["hex"], str)
        and isinstance(value["repr"], str)
    )


def binade_entry_error(entry) -> str | None:
    """Why one ``binade_max`` entry does not match the schema, or None (the schema's rule, fast)."""
    if not isinstance(entry, dict):
        return f"{_short(entry)} is not an object"
    missing = [k for k in ("sign", "binade", "max_ulp") if k not in entry]
    if missing:
        return f"{missing[0]!r} is a required property"
    extra = sorted(set(entry) - {"sign", "binade", "max_ulp"})
    if extra:
        return f"unexpected property {extra[0]!r}"
    if entry["sign"] not in ("+", "-"):
        return f"sign {_short(entry['sign'])} is not '+' or '-'"
    binade = entry["binade"]
    if not ((isinstance(binade, int) and not isinstance(binade, bool)) or binade in ("zero", "subnormal")):
        return f"binade {_short(binade)} is not an integer, 'zero' or 'subnormal'"
    ulp = entry["max_ulp"]
    if not ((_is_number(ulp) and ulp >= 0) or _is_exact_float(ulp)):
        return f"max_ulp {_short(ulp)} is not a number >= 0 or a {{hex, repr}} float"
    return None


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate(run, source: str = "run") -> None:
    """Raise :class:`RunFileError` unless ``run`` (parsed JSON) is a supported run matching the schema."""
    if not isinstance(run, dict):
        raise RunFileError(
            f"{source}: not a softplus-audit run (the top level is a {type(run).__name__}, not an object)"
        )
    supported = ", ".join(str(f) for f in SUPPORTED_VERSIONS)
    if "format" not in run:
        raise RunFileError(f"{source}: not a softplus-audit run (no 'format' field); supported formats: {supported}")
    version = run["format"]  # the file's layout version
    if not isinstance(version, int) or isinstance(version, bool):
        raise RunFileError(f"{source}: 'format' is {_short(version)}, not an integer; supported formats: {supported}")
    if version not in SUPPORTED_VERSIONS:
        newer = (
            " (newer than this softplus-audit: upgrade it to read this run)"
            if version > max(SUPPORTED_VERSIONS)
            else ""
        )
        raise RunFileError(f"{source}: run format {version} is not supported{newer}; supported formats: {supported}")
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(run))
    if error is not None:
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        raise RunFileError(f"{source}: does not match the run schema at {location(error.absolute_path)}: {message}")
    for i, config in enumerate(run["configurations"]):
        for oracle, stats in config["stats"].items():
            where = ["configurations", i, "stats", oracle, "binade_max"]
            binades = stats["binade_max"]
            if isinstance(binades, dict):  # format 2: columns
                problem = binade_columns_error(binades)
                if problem:
                    raise RunFileError(f"{source}: does not match the run schema at {location(where)}: {problem}")
                continue
            for j, entry in enumerate(binades):
                problem = binade_entry_error(entry)
                if problem:
                    raise RunFileError(f"{source}: does not match the run schema at {location([*where, j])}: {problem}")


def _ulp_or_none_error(value) -> str | None:
    if value is None or (_is_number(value) and value >= 0) or _is_exact_float(value):
        return None
    return f"max_ulp {_short(value)} is not a number >= 0, a {{hex, repr}} float or null"


def binade_columns_error(columns) -> str | None:
    """Why format 2's per-binade columns do not match the schema, or None (the schema's rule, fast)."""
    if not isinstance(columns, dict) or set(columns) - {"+", "-"}:
        return "binade columns must be an object with the signs '+' and '-' as keys"
    for sign, column in columns.items():
        if not isinstance(column, dict) or set(column) != {"zero", "subnormal", "first", "max_ulp"}:
            return f"sign {sign!r}: needs exactly zero, subnormal, first and max_ulp"
        if not isinstance(column["first"], int) or isinstance(column["first"], bool):
            return f"sign {sign!r}: first {_short(column['first'])} is not an integer"
        if not isinstance(column["max_ulp"], list):
            return f"sign {sign!r}: max_ulp is not a list"
        for value in (column["zero"], column["subnormal"], *column["max_ulp"]):
            problem = _ulp_or_none_error(value)
            if problem:
                return f"sign {sign!r}: {problem}"
    return None


def binade_entries(stats: dict) -> list[dict]:
    """A configuration's per-binade maxima as ``{sign, binade, max_ulp}`` entries, whichever form
    the run file stores (format 1: the list; format 2: columns, :func:`suite.files.binades_from_columns`)."""
    binades = stats["binade_max"]
    return binades_from_columns(binades) if isinstance(binades, dict) else binades


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in strict JSON")


def decode(text: str, source: str, what: str = "run"):
    """The JSON document of a report file's ``text``; :class:`RunFileError` (one line naming
    ``source``) for an empty file, truncated JSON, text that is not JSON or not strict JSON."""
    stripped = text.rstrip()
    if not stripped:
        raise RunFileError(f"{source}: empty file, not a {what} (truncated?)")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        # truncated or not JSON is decided exactly, wherever the cut falls (inside a number, a
        # string, a literal): the text is truncated when some continuation makes it a document
        scan = jsonprefix.scan(stripped)
        if scan.proper_prefix:
            line, column = jsonprefix.line_column(stripped, len(stripped))
            raise RunFileError(
                f"{source}: truncated JSON (the text ends at line {line} column {column} "
                f"before the document is complete)"
            ) from None
        # some of json's messages end in "at" ("Unterminated string starting at"): not "at at line"
        message = error.msg.removesuffix(" at")
        raise RunFileError(f"{source}: not JSON: {message} at line {error.lineno} column {error.colno}") from None
    except ValueError as error:  # NaN / Infinity literals, or numbers too large to parse
        raise RunFileError(f"{source}: not strict JSON: {error}") from None


def parse_run(text: str, source: str = "run") -> dict:
    """Parse and validate the text of a run file (see :func:`load_run`)."""
    run = decode(text, source)
    validate(run, source)
    return run


def load_run(path: str | Path) -> dict:
    """Read and validate a run file written by ``softplus-audit run`` (format 1).

    Returns the parsed JSON. Raises :class:`RunFileError` (a ValueError) with one line for a
    missing or unreadable file, text that is not JSON or is truncated, an unsupported or future
    ``format``, or a schema violation (with its JSON path).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RunFileError(f"{path}: is a directory, not a run file") from None
    except OSError as error:
        raise RunFileError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RunFileError(f"{path}: not JSON: not UTF-8 text (byte {error.start})") from None
    return parse_run(text, str(path))


def as_float(value) -> float:
    """A JSON number, or a ``{hex, repr}`` float (NaN and ±inf included), as a Python float."""
    if isinstance(value, dict):
        for parse, text in ((float.fromhex, value.get("hex")), (float, value.get("repr"))):
            try:
                return parse(text)
            except (ValueError, TypeError):
                pass
        return math.nan
    return float(value)
