"""Writing report files: atomically (never a half-written file) and as strict JSON.

Floats that may be non-finite are written as ``{"hex": ..., "repr": ...}`` (:func:`exact_float`)
so that every file is strict JSON (``allow_nan=False``) and every float round-trips exactly.

Per-binade maxima (:func:`binades_to_columns`, :func:`binades_from_columns`): a report reads
``binade_max`` as a list of ``{"sign", "binade", "max_ulp"}`` entries: for ``+`` then ``-``, the
zero inputs, the subnormal ones, then the binades ``floor(log2|x|)`` in increasing order
(:func:`suite.numerics.stats.binade_maxima`). Run files of format 1 store that list; format 2
stores, per sign, the zero and subnormal maxima and the maxima of consecutive binades from a
first one (``null`` where a binade had no input): the same numbers, bit for bit, in a fifth of the
space.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path


def exact_float(value: float) -> dict:
    """A float as hex (exact, round-trips) and repr (readable); NaN and ±inf included."""
    value = float(value)
    return {"hex": value.hex() if math.isfinite(value) else repr(value), "repr": repr(value)}


def json_float(value: float):
    """A float as the sweep files write it: the number where finite, else ``{"repr": ...}`` (JSON has
    no NaN or infinity)."""
    return value if math.isfinite(value) else {"repr": repr(value)}


def float_from_json(value) -> float:
    """The inverse of :func:`json_float` (and of :func:`exact_float`)."""
    return float(value["repr"]) if isinstance(value, dict) else float(value)


def write_text_atomically(text: str, path: str | Path) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomically(data: dict, path: str | Path, compact: bool = False) -> None:
    """Strict JSON (no NaN literals), written atomically; ``compact``: no indentation or spaces (a
    run file of the default audit is some 30 MB smaller)."""
    layout = {"separators": (",", ":")} if compact else {"indent": 1}
    write_text_atomically(json.dumps(data, allow_nan=False, **layout) + "\n", path)


def writable_directory_problem(path: str | Path) -> str | None:
    """Why files cannot be written in directory ``path`` (created if missing), or None.

    Checked before any work so that a bad ``--out`` is one line and exit 2, not a traceback at
    the end of a long run: the directory is created (with its parents) and a file is created in
    it and removed, so that what the system refuses (a read-only or virtual file system, a
    symbolic link to nowhere, permissions, root's included) is found here. Nothing is left
    behind: the directories this check had to create are removed again (the run creates them
    when it writes).
    """
    path = Path(path)
    missing = []  # the directories to create, deepest first
    existing = path
    while not os.path.lexists(existing) and existing.parent != existing:
        missing.append(existing)
        existing = existing.parent
    if existing.is_symlink() and not existing.exists():
        return f"{str(existing)!r} is a symbolic link to {os.readlink(existing)!r}, which does not exist"
    if existing.exists() and not existing.is_dir():
        return f"{str(existing)!r} is a file, not a directory"
    try:
        try:
            path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=path)
            os.close(fd)
            os.unlink(probe)
        finally:
            for directory in missing:
                with contextlib.suppress(OSError):
                    directory.rmdir()
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    return None


BINADE_SIGNS = ("+", "-")
SPECIAL_BINADES = ("zero", "subnormal")


def binades_to_columns(entries: list[dict]) -> dict:
    """Format 2's columns of a format-1 list (which must be in the order described above)."""
    out = {}
    for sign in BINADE_SIGNS:
        mine = [e for e in entries if e["sign"] == sign]
        if not mine:
            continue
        column: dict = {s: None for s in SPECIAL_BINADES}
        numbered = [e for e in mine if e["binade"] not in SPECIAL_BINADES]
        for e in mine:
            if e["binade"] in SPECIAL_BINADES:
                column[e["binade"]] = e["max_ulp"]
        first = numbered[0]["binade"] if numbered else 0
        values = [None] * ((numbered[-1]["binade"] - first + 1) if numbered else 0)
        for e in numbered:
            values[e["binade"] - first] = e["max_ulp"]
        column.update(first=first, max_ulp=values)
        out[sign] = column
    return out


def binades_from_columns(columns: dict) -> list[dict]:
    """The format-1 list of format 2's columns (the inverse of :func:`binades_to_columns`)."""
    out = []
    for sign in BINADE_SIGNS:
        column = columns.get(sign)
        if column is None:
            continue
        for special in SPECIAL_BINADES:
            if column.get(special) is not None:
                out.append({"sign": sign, "binade": special, "max_ulp": column[special]})
        first = column["first"]
        out += [
            {"sign": sign, "binade": first + k, "max_ulp": v} for k, v in enumerate(column["max_ulp"]) if v is not None
        ]
    return out
