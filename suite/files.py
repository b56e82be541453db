"""Writing report files: atomically (never a half-written file) and as strict JSON.

Floats that may be non-finite are written as ``{"hex": ..., "repr": ...}`` (:func:`exact_float`)
so that every file is strict JSON (``allow_nan=False``) and every float round-trips exactly.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path


def exact_float(value: float) -> dict:
    """A float as hex (exact, round-trips) and repr (readable); NaN and ±inf included."""
    value = float(value)
    return {"hex": value.hex() if math.isfinite(value) else repr(value), "repr": repr(value)}


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


def write_json_atomically(data: dict, path: str | Path) -> None:
    """Strict JSON (no NaN literals), written atomically."""
    write_text_atomically(json.dumps(data, indent=1, allow_nan=False) + "\n", path)


def writable_directory_problem(path: str | Path) -> str | None:
    """Why files cannot be written in directory ``path`` (created if missing), or None.

    Checked before any work so that a bad ``--out`` is one line and exit 2, not a traceback at
    the end of a long run. Nothing is left behind: a directory this check had to create is
    removed again (the run creates it when it writes).
    """
    path = Path(path)
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{str(existing)!r} is a file, not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{str(existing)!r} is not writable"
    return None
