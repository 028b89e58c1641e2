"""The ladder file ``RUN_DIR/ladder.json``: every checkpoint the evaluator rated, every result, the ratings.

Written atomically after every evaluated checkpoint (:func:`write_ladder`), so an
evaluator killed in the middle of one rates it again when it restarts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cluster.runtime.rundir import RunDir
from games.errors import ZeroplayError
from selfplay.storage import StoredFileError, atomic_write_bytes, read_json_file


class LadderError(ZeroplayError, ValueError):
    """A ladder file that exists but cannot be read as one; the message names it."""


LADDER_FORMAT = "zeroplay-ladder"
#: A rated checkpoint adds a few hundred bytes: this holds some hundred thousand.
MAX_LADDER_BYTES = 64 << 20



LADDER_VERSION = 1



# ----------------------------------------------------------------------------- ladder file
def write_ladder(path: Path, data: Any) -> None:
    """Write the ladder ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    atomic_write_bytes(path, (json.dumps(data, indent=2, allow_nan=False) + "\n").encode())



def empty_ladder() -> dict[str, Any]:
    """A ladder with no checkpoint rated yet."""
    return {
        "format": LADDER_FORMAT, "format_version": LADDER_VERSION, "game": None, "config": None,
        "last_seen_step": -1, "seen": 0, "players": {}, "results": [], "ratings": {}, "checkpoints": [],
        "skipped": [],
    }



def read_ladder(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``RUN_DIR/ladder.json`` (None if absent).

    Only a regular file of at most :data:`MAX_LADDER_BYTES` is read (a FIFO in its place
    is refused before it is opened); it must be UTF-8 JSON without NaN or Infinity.

    Raises:
        LadderError: the file exists but is not a readable ladder (naming it).
    """
    path = RunDir(run_dir).ladder
    try:
        data = read_json_file(path, max_bytes=MAX_LADDER_BYTES)
    except FileNotFoundError:
        return None
    except StoredFileError as err:
        raise LadderError(f"the ladder: {err}") from None
    if not isinstance(data, dict) or data.get("format") != LADDER_FORMAT:
        raise LadderError(f"{path}: not a zeroplay ladder file")
    if data.get("format_version") != LADDER_VERSION:
        raise LadderError(f"{path}: unsupported ladder format version {data.get('format_version')!r}")
    base = empty_ladder()
    for key, value in base.items():
        if key not in data:
            data[key] = value
        elif value is not None and not isinstance(data[key], type(value)):
            raise LadderError(f"{path}: ladder key {key!r} should be a {type(value).__name__}")
    return data



def checkpoint_id(step: int) -> str:
    """A checkpoint's name on the ladder: ``step-<step>``."""
    return f"step-{int(step)}"


__all__ = ["LADDER_FORMAT", "LADDER_VERSION", "MAX_LADDER_BYTES", "LadderError", "checkpoint_id", "empty_ladder",
           "read_ladder", "write_ladder"]
