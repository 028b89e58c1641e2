"""The JSON-lines analysis engine of ``zeroplay analyze``.

Protocol (one JSON object per line on stdin, one per line on stdout, flushed)::

    -> {"id": 7, "game": "connect4", "moves": ["4", "4", "3"], "sims": 64}
    <- {"id": 7, "move": "3", "action": 2, "to_play": 1, "policy": {"1": 0.14, ...},
        "value": 0.03, "sims": 64, "visits": {"3": 40, ...}, "root_value": 0.05,
        "q": {"3": 0.07, ...}}

Request fields (no others are accepted):

* ``id``: echoed back (a string of at most 256 characters, a 64-bit integer or null;
  default null).
* ``moves``: the moves from the start position in the game's notation (default []),
  at most the game's longest game (``max_game_length``: 512 for chess, 162 for 9x9 Go).
* ``game``: optional; a game name (``"go"``) or a spec (``{"name": "go", "size": 9}``).
  It must match the engine's game: the name, and every option given.
* ``sims``: simulations, 0..1,000,000 (default ``--sims``; a lower cap can be set); 0 means
  the raw network only.
* ``seconds``: optional time limit of the answer, a number > 0 and at most 3600 (or a lower cap),
  counted from when the line was read (:mod:`cluster.engines.timing`); alone it limits
  the search by time only, with ``sims`` the first limit reached ends it.

A request line is at most 1 MiB; larger ones, lines that are not UTF-8, JSON nested too
deeply or with an integer of more than 4300 digits are answered with an error.

Answer fields: ``move`` (text) and ``action`` (index) of the engine's choice (the
most visited move, or the network's favourite with ``sims: 0``); ``to_play``;
``policy``, the raw network prior over the legal moves as ``{move: probability}``;
``value``, the network value from the mover's view in [-1, 1]; with search also
``sims``, ``visits`` (``{move: n}`` over visited moves), ``root_value`` (the
searched value, mover's view) and ``q`` (``{move: mean value}``, mover's view, over
visited moves); when the search solved the position, ``proven`` (its exact value for the
mover: 1 a win, 0 a draw, -1 a loss) and ``plies_to_end`` (moves to the end along the
proof); for a Go network with those heads, ``ownership`` (per point in action order,
in (-1, 1): +1 where the player to move is predicted to own it) and ``score_lead`` (the
mover's predicted final lead in points, komi included), as KataGo's analysis engine
reports them. Chess moves are UCI (``e2e4``). Any problem with a request gives
``{"id": ..., "error": "..."}`` and the engine goes on; end of input ends it (status 0).

Game options on the command line (every front-end): ``--game NAME`` or
``--game NAME:key=value,key=value`` (values are JSON where they parse, text
otherwise: ``--game go:size=9,komi=7.5,ko=simple``) or a JSON spec
(``--game '{"name": "go", "size": 9}'``). Without a checkpoint the engine uses a
freshly initialised network for that game; with a checkpoint the options override
the checkpoint's game (same name, and the network must accept the result: same
board size and history).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import IO, Any, TextIO

import numpy as np

import games
from cluster.engines.engine import Engine
from cluster.engines.lines import MAX_LINE_BYTES, InputLineError, read_lines
from cluster.engines.loading import apply_text
from games import Game, GameError, State
from games.errors import ZeroplayError
from selfplay.search.config import MAX_SIMULATIONS

#: The longest time limit a request may give (seconds).
MAX_REQUEST_SECONDS = 3600.0
#: The longest string ``id``.
MAX_ID_CHARS = 256
_INT64 = 2**63


def _round(x: float, digits: int = 5) -> float | None:
    x = float(x)
    return None if math.isnan(x) else round(x, digits)


def _preview(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters (request values can be huge)."""
    text = repr(value) if not isinstance(value, (list, dict)) or len(value) < 20 else f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    return isinstance(value, str) and len(value) <= MAX_ID_CHARS


# ---------------------------------------------------------------------- the analyser


class RequestError(ZeroplayError, ValueError):
    """A request the analyser cannot answer; the message says why."""


_FIELDS = ("id", "game", "moves", "sims", "seconds")


class Analyzer:
    """Answers JSON analysis requests for one engine (see the module docstring).

    Args:
        engine: the searcher.
        game: the game whose positions are analysed (default ``engine.game``).
        default_sims: simulations when a request gives none (0: network only).
        max_sims: the most simulations a request may ask for, 1..1,000,000 (default 1,000,000).
        max_seconds: the longest ``seconds`` a request may give, > 0 and at most 3600 (default 3600).
    """

    def __init__(
        self, engine: Engine, game: Game | None = None, *, default_sims: int = 64, max_sims: int = MAX_SIMULATIONS,
        max_seconds: float = MAX_REQUEST_SECONDS,
    ) -> None:
        if not 1 <= max_sims <= MAX_SIMULATIONS:
            raise ValueError(f"max_sims must be 1..{MAX_SIMULATIONS}, got {max_sims}")
        if not 0 <= default_sims <= max_sims:
            raise ValueError(f"default_sims must be 0..max_sims ({max_sims}), got {default_sims}")
        if not 0 < max_seconds <= MAX_REQUEST_SECONDS:
            raise ValueError(f"max_seconds must be > 0 and at most {MAX_REQUEST_SECONDS:g}, got {max_seconds}")
        self.engine = engine
        self.game = game or engine.game
        self.default_sims = default_sims
        self.max_sims = max_sims
        self.max_seconds = max_seconds

    def answer_line(self, line: str) -> str | None:
        """The JSON answer line (without newline) to one request line; None for a blank line."""
        received = self.engine.timing.clock()
        if not line.strip():
            return None
        request_id: Any = None
        try:
            if len(line) > MAX_LINE_BYTES:
                raise RequestError(f"the request is {len(line)} characters long, at most {MAX_LINE_BYTES}")
            try:
                request = json.loads(line)
            except RecursionError:
                raise RequestError("malformed JSON: nested too deeply") from None
            except ValueError as err:  # JSONDecodeError, or an integer over Python's 4300 digits
                raise RequestError(f"malformed JSON: {str(err)[:200]}") from None
            if not isinstance(request, dict):
                raise RequestError(f"a request must be a JSON object, got {type(request).__name__}")
            request_id = request.get("id")
            if request_id is not None and not _valid_id(request_id):
                bad_id, request_id = request_id, None
                raise RequestError(
                    f"'id' must be a string of at most {MAX_ID_CHARS} characters, a 64-bit integer or null, "
                    f"got {_preview(bad_id)}"
                )
            answer = self.answer(request, received=received)
        except (RequestError, GameError) as err:
            answer = {"id": request_id, "error": str(err)}
        return json.dumps(answer, allow_nan=False)

    def answer(self, request: dict[str, Any], *, received: float | None = None) -> dict[str, Any]:
        """The answer to a parsed request (``received``: when it arrived, for its ``seconds``).

        Raises:
            RequestError: unknown fields, wrong types or values out of range (naming the
                field), an illegal move, a finished game, or another game.
        """
        unknown = sorted(set(request) - set(_FIELDS))
        if unknown:
            names = ", ".join(_preview(name) for name in unknown[:5])
            raise RequestError(f"unknown field(s) {names}; known: {', '.join(_FIELDS)}")
        if "game" in request:
            self._check_game(request["game"])
        seconds = request.get("seconds")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, (int, float))
            or not 0 < seconds <= self.max_seconds
        ):
            raise RequestError(f"'seconds' must be a number > 0 and at most {self.max_seconds:g}, "
                               f"got {_preview(seconds)}")
        sims = request.get("sims", self.default_sims if seconds is None else None)
        if sims is not None and (
            isinstance(sims, bool) or not isinstance(sims, int) or not 0 <= sims <= self.max_sims
        ):
            raise RequestError(
                f"'sims' must be a non-negative integer, at most {self.max_sims}, got {_preview(sims)}"
            )
        if sims == 0 and seconds is not None:
            raise RequestError("'seconds' needs a search, but 'sims' is 0 (the raw network)")
        moves = request.get("moves", [])
        if not isinstance(moves, list):
            raise RequestError(f"'moves' must be a list of move texts, got {type(moves).__name__}")
        if len(moves) > self.game.max_game_length:
            raise RequestError(f"'moves' has {len(moves)} moves, at most {self.game.max_game_length} in {self.game!r}")
        state = self.position(moves)
        return self.analyse(state, sims, request.get("id"), seconds=seconds, received=received)

    def position(self, moves: list[Any]) -> State:
        """The position after ``moves`` (texts) from the start; the error names the bad move."""
        state = self.game.initial_state()
        for i, move in enumerate(moves):
            if not isinstance(move, str):
                raise RequestError(f"move {i + 1} ({_preview(move)}) is not a string in the game's notation")
            if state.is_terminal():
                raise RequestError(f"move {i + 1} ({_preview(move)}) is played after the game ended")
            try:
                state = apply_text(state, move)
            except GameError as err:
                raise RequestError(f"move {i + 1} ({_preview(move)}): {str(err)[:300]}") from None
        if state.is_terminal():
            raise RequestError(f"the game is over after {len(moves)} move(s); nothing to analyse")
        return state

    def analyse(
        self, state: State, sims: int | None, request_id: Any = None, *, seconds: float | None = None,
        received: float | None = None,
    ) -> dict[str, Any]:
        """The answer dict for ``state`` searched with ``sims`` simulations (0: network only) and/or ``seconds``."""
        text: Callable[[int], str] = state.action_to_text
        policy, value = self.engine.raw_policy(state)
        legal = state.legal_actions()
        answer: dict[str, Any] = {"id": request_id}
        if sims == 0:  # the raw network only
            action = int(max(legal, key=lambda a: policy[a]))
        else:
            analysis = self.engine.analyse(state, sims=sims, seconds=seconds, received=received)
            action = analysis.action
        answer.update(move=text(action), action=action, to_play=state.to_play)
        answer["policy"] = {text(a): _round(policy[a]) for a in legal}
        answer["value"] = _round(value)
        if sims != 0:
            visited = [a for a in np.argsort(-analysis.visit_counts, kind="stable") if analysis.visit_counts[a] > 0]
            answer["sims"] = analysis.simulations
            answer["visits"] = {text(int(a)): int(analysis.visit_counts[a]) for a in visited}
            answer["root_value"] = _round(analysis.value)
            answer["q"] = {text(int(a)): _round(analysis.q_values[a]) for a in visited}
            if analysis.proven is not None:  # solved: the exact value for the mover, and the plies to the end
                answer["proven"] = analysis.proven
                answer["plies_to_end"] = analysis.plies_to_end
        estimate = self.engine.area_estimate(state)
        if estimate is not None:  # a Go network with an ownership or score head; the mover's view, as "value"
            sign = 1.0 if state.to_play == 0 else -1.0
            if estimate.ownership is not None:
                answer["ownership"] = [_round(sign * x) for x in estimate.ownership.tolist()]
            if estimate.score_lead is not None:
                answer["score_lead"] = _round(sign * estimate.score_lead)
        return answer

    def _check_game(self, given: Any) -> None:
        if isinstance(given, str):
            spec: dict[str, Any] = {"name": given}
        elif isinstance(given, dict):
            spec = given
        else:
            raise RequestError(f"'game' must be a name or a spec object, got {_preview(given)}")
        try:
            requested = games.from_spec(spec)
        except (GameError, TypeError, ValueError) as err:
            raise RequestError(f"bad 'game' {_preview(given)}: {str(err)[:300]}") from None
        mine = self.game.spec()
        theirs = requested.spec()
        if theirs["name"] != mine["name"] or any(theirs.get(k) != mine.get(k) for k in spec if k != "name"):
            raise RequestError(f"this engine analyses {self.game!r}, not {_preview(given)}")

    def run(self, stdin: IO[Any], stdout: TextIO) -> int:
        """Answer every line of ``stdin`` (binary, or text) on ``stdout`` (flushed per line) until end of input."""
        for line in read_lines(stdin):
            if isinstance(line, InputLineError):
                answer: str | None = json.dumps({"id": None, "error": str(line)})
            else:
                answer = self.answer_line(line)
            if answer is not None:
                stdout.write(answer + "\n")
                stdout.flush()
        return 0




