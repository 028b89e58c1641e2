"""Sample self-play games as human-readable records in the run directory.

:func:`record_text` turns one :class:`~selfplay.trajectory.Trajectory` into a record
people (and other programs) can open:

* Go: SGF (``games.sgf``), ``PB``/``PW`` ``zeroplay vN``, ``RE`` from the outcome
  (``B+3.5`` scored by zeroplay's area rules, ``W+R`` for a resignation);
* chess: PGN (``games.pgn``), Event ``zeroplay self-play``, White/Black
  ``zeroplay vN``, Result from the returns, a ``Termination`` tag;
* anything else (tic-tac-toe, Connect Four): a plain move list, ``# key: value``
  header lines (game spec, weights version, result, termination) and then one move per
  line in the game's notation; :func:`read_move_list` reads it back and
  ``State.apply_all`` replays it (``cluster.match.read_move_list`` reads it too).

:class:`GameSampler` writes every N-th game offered to it as
``DIRECTORY/game-<count>-v<version>.<ext>`` (atomically: temporary file, fsync,
rename), keeping at most M records (the oldest are deleted). The run's replay
service offers it each accepted game; records go to ``RUN_DIR/games/``.

Only numpy and :mod:`games` are needed here (no torch, no Ray).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import games
from games import Game, GameError, State
from selfplay.storage import atomic_write_bytes
from selfplay.trajectory import Trajectory

log = logging.getLogger(__name__)

RECORD_EXTENSIONS = ("sgf", "pgn", "txt")
_FILE_RE = re.compile(r"^game-(\d+)-v(\d+)\.(sgf|pgn|txt)$")


class RecordsError(ValueError):
    """A sampler set up wrongly or a trajectory that cannot be written as a record (names it)."""


def player_name(weights_version: int) -> str:
    """How a self-play side is named in records: ``zeroplay vN``."""
    return f"zeroplay v{int(weights_version)}"


def _replay(game: Game, trajectory: Trajectory) -> State:
    state = game.initial_state()
    for i, action in enumerate(int(a) for a in trajectory.actions):
        try:
            state = state.apply(action)
        except GameError as err:
            raise RecordsError(f"trajectory ({trajectory.game_spec}): move {i + 1} (action {action}): {err}") from None
    return state


def _winner(trajectory: Trajectory) -> int | None:
    """0 or 1 from the returns, None for a draw."""
    first = float(trajectory.returns[0])
    return 0 if first > 0 else 1 if first < 0 else None


def result_token(trajectory: Trajectory) -> str:
    """The outcome as ``1-0``, ``0-1`` or ``1/2-1/2`` (player 0 first)."""
    winner = _winner(trajectory)
    return "1-0" if winner == 0 else "0-1" if winner == 1 else "1/2-1/2"


def record_text(trajectory: Trajectory) -> tuple[str, str]:
    """``(file extension, text)`` of a self-play game: SGF for Go, PGN for chess, a move list otherwise.

    Raises:
        RecordsError: the game spec is unknown or a move does not replay.
    """
    try:
        game = games.from_spec(dict(trajectory.game_spec))
    except GameError as err:
        raise RecordsError(f"trajectory game spec {trajectory.game_spec!r}: {err}") from None
    actions = [int(a) for a in trajectory.actions]
    name = player_name(trajectory.weights_version)
    resigned = trajectory.termination == "resigned"
    if game.name == "go":
        from games.sgf import record_from_start, resignation, write_sgf

        final = _replay(game, trajectory)
        if resigned:
            loser = trajectory.resigned_by if trajectory.resigned_by is not None else final.to_play
            result = resignation(int(loser))
        elif final.is_terminal():
            result = final.result()  # type: ignore[attr-defined]
        else:
            winner = _winner(trajectory)
            result = "B+" if winner == 0 else "W+" if winner == 1 else "0"
        record = record_from_start(game.initial_state(), actions, result=result, black_player=name, white_player=name)
        return "sgf", write_sgf(record)
    if game.name == "chess":
        from games.pgn import write_pgn

        final = _replay(game, trajectory)
        if resigned:
            termination = "resignation"
        else:
            term = getattr(final, "termination", None)
            termination = (term() if callable(term) else term) or "normal"
        tags: dict[str, Any] = {
            "Event": "zeroplay self-play", "White": name, "Black": name,
            "Termination": str(termination), "WeightsVersion": str(int(trajectory.weights_version)),
        }
        try:
            text = write_pgn(game, actions, tags=tags, result=result_token(trajectory))  # type: ignore[arg-type]
        except GameError as err:
            raise RecordsError(f"trajectory ({trajectory.game_spec}): {err}") from None
        return "pgn", text
    state = game.initial_state()
    moves: list[str] = []
    for i, action in enumerate(actions):
        moves.append(state.action_to_text(action))
        try:
            state = state.apply(action)
        except GameError as err:
            raise RecordsError(f"trajectory ({trajectory.game_spec}): move {i + 1} (action {action}): {err}") from None
    termination = "resignation" if resigned else trajectory.termination
    header = [
        "# zeroplay self-play",
        f"# game: {json.dumps(game.spec(), sort_keys=True)}",
        f"# weights_version: {int(trajectory.weights_version)}",
        f"# result: {result_token(trajectory)}",
        f"# termination: {termination}",
    ]
    return "txt", "\n".join(header + moves + [""])


def read_move_list(text: str) -> tuple[dict[str, str], list[str]]:
    """Inverse of the move-list record: ``(header {key: value}, moves)``."""
    header: dict[str, str] = {}
    moves: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                header[key.strip()] = value.strip()
        elif line.strip():
            moves.extend(line.split())
    return header, moves


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


__all__ = ["GameSampler", "RecordsError", "player_name", "read_move_list", "record_text", "result_token"]
