"""Sample self-play games as human-readable records in the run directory.

:func:`record_text` turns one :class:`~selfplay.trajectory.Trajectory` into a record
people (and other programs) can open, in its game's record format (:mod:`games.records`:
SGF for Go, PGN for chess, a move list otherwise), both sides named ``zeroplay vN``, the event ``zeroplay self-play``
and a ``WeightsVersion`` tag.

:class:`GameSampler` writes every N-th game offered to it as
``DIRECTORY/game-<count>-v<version>.<ext>`` (atomically: temporary file, fsync,
rename), keeping at most M records (the oldest are deleted). The run's replay
service offers it each accepted game; records go to ``RUN_DIR/games/``.

Only numpy and :mod:`games` are needed here (no torch, no Ray).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import games
from games import GameError
from games.errors import ZeroplayError
from games.records import GameRecord, record_extension, write_record
from selfplay.storage import atomic_write_bytes
from selfplay.trajectory import Trajectory

log = logging.getLogger(__name__)

RECORD_EXTENSIONS = ("sgf", "pgn", "txt")
_FILE_RE = re.compile(r"^game-(\d+)-v(\d+)\.(sgf|pgn|txt)$")


class RecordsError(ZeroplayError, ValueError):
    """A sampler set up wrongly or a trajectory that cannot be written as a record (names it)."""


def player_name(weights_version: int) -> str:
    """How a self-play side is named in records: ``zeroplay vN``."""
    return f"zeroplay v{int(weights_version)}"


def _winner(trajectory: Trajectory) -> int | None:
    """0 or 1 from the returns, None for a draw."""
    first = float(trajectory.returns[0])
    return 0 if first > 0 else 1 if first < 0 else None


def game_record(trajectory: Trajectory) -> GameRecord:
    """The self-play game as a :class:`games.records.GameRecord` (both sides ``zeroplay vN``).

    Raises:
        RecordsError: the game spec is unknown.
    """
    try:
        game = games.from_spec(dict(trajectory.game_spec))
    except GameError as err:
        raise RecordsError(f"trajectory game spec {trajectory.game_spec!r}: {err}") from None
    name = player_name(trajectory.weights_version)
    ending = {"resigned": "resignation", "adjudicated": "adjudicated"}.get(trajectory.termination, "terminal")
    return GameRecord(
        game=game,
        actions=tuple(int(a) for a in trajectory.actions),
        players=(name, name),
        winner=_winner(trajectory),
        ending=ending,
        event="zeroplay self-play",
        tags={"WeightsVersion": str(int(trajectory.weights_version))},
    )


def record_text(trajectory: Trajectory) -> tuple[str, str]:
    """``(file extension, text)`` of a self-play game in its game's record format (:mod:`games.records`).

    Raises:
        RecordsError: the game spec is unknown or a move does not replay.
    """
    record = game_record(trajectory)
    try:
        return record_extension(record.game), write_record(record)
    except GameError as err:
        raise RecordsError(f"trajectory ({trajectory.game_spec}): {err}") from None


class GameSampler:
    """Writes every ``every``-th offered game to ``directory``, keeping the newest ``keep`` records.

    The count of offered games continues from the highest ``game-<count>-…`` file already
    in ``directory``, so a restarted replay service neither overwrites nor re-numbers
    older samples. Writing a record never raises into the caller: a game that cannot be
    written (disk full, a trajectory that does not replay) is logged and skipped.

    Args:
        directory: where records go (created if missing), e.g. ``RUN_DIR/games``.
        every: sample one game in ``every`` (>= 1).
        keep: the most record files kept (>= 1); the oldest (lowest count) go first.
    """

    def __init__(self, directory: str | os.PathLike[str], every: int = 100, keep: int = 50) -> None:
        for name, value in (("every", every), ("keep", keep)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RecordsError(f"GameSampler {name} must be a positive integer, got {value!r}")
        self.directory = Path(directory)
        self.every = every
        self.keep = keep
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RecordsError(f"game records directory {self.directory}: {err}") from None
        existing = self.records()
        self.count = existing[-1][0] if existing else 0

    def records(self) -> list[tuple[int, Path]]:
        """``(count, path)`` of the record files in the directory, oldest first."""
        found = []
        try:
            entries = list(self.directory.iterdir())
        except OSError:
            return []
        for path in entries:
            m = _FILE_RE.match(path.name)
            if m:
                found.append((int(m.group(1)), path))
        return sorted(found)

    def offer(self, trajectory: Trajectory) -> Path | None:
        """Count one game; write it if it is the ``every``-th. Returns the file written, or None."""
        self.count += 1
        if self.count % self.every:
            return None
        try:
            ext, text = record_text(trajectory)
            path = self.directory / f"game-{self.count:08d}-v{int(trajectory.weights_version)}.{ext}"
            atomic_write_bytes(path, text.encode())
        except (RecordsError, GameError, OSError) as err:
            log.warning("could not write game record %d to %s: %s", self.count, self.directory, err)
            return None
        self._prune()
        return path

    def _prune(self) -> None:
        found = self.records()
        for _, path in found[: max(0, len(found) - self.keep)]:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as err:
                log.warning("could not delete old game record %s: %s", path, err)


__all__ = ["GameSampler", "RecordsError", "game_record", "player_name", "record_text"]
