"""The JSON-lines analysis engine of ``zeroplay analyze``.

Protocol (one JSON object per line on stdin, one per line on stdout, flushed)::

    -> {"id": 7, "game": "connect4", "moves": ["4", "4", "3"], "sims": 64}
    <- {"id": 7, "move": "3", "action": 2, "to_play": 1, "policy": {"1": 0.14, ...},
        "value": 0.03, "sims": 64, "visits": {"3": 40, ...}, "root_value": 0.05,
        "q": {"3": 0.07, ...}}

Request fields (no others are accepted):

* ``id``: echoed back (a string, an integer or null; default null).
* ``moves``: the moves from the start position in the game's notation (default []).
* ``game``: optional; a game name (``"go"``) or a spec (``{"name": "go", "size": 9}``).
  It must match the engine's game: the name, and every option given.
* ``sims``: simulations (default ``--sims``); 0 means the raw network only.

Answer fields: ``move`` (text) and ``action`` (index) of the engine's choice (the
most visited move, or the network's favourite with ``sims: 0``); ``to_play``;
``policy``, the raw network prior over the legal moves as ``{move: probability}``;
``value``, the network value from the mover's view in [-1, 1]; with search also
``sims``, ``visits`` (``{move: n}`` over visited moves), ``root_value`` (the
searched value, mover's view) and ``q`` (``{move: mean value}``, mover's view, over
visited moves). Chess moves are UCI (``e2e4``). Any problem with a request gives
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
from typing import Any, TextIO

import numpy as np

import games
from cluster.engines.engine import Engine
from cluster.engines.loading import apply_text
from games import Game, GameError, State
from games.errors import ZeroplayError


def _round(x: float, digits: int = 5) -> float | None:
    x = float(x)
    return None if math.isnan(x) else round(x, digits)


# ---------------------------------------------------------------------- the analyser


class RequestError(ZeroplayError, ValueError):
    """A request the analyser cannot answer; the message says why."""


_FIELDS = ("id", "game", "moves", "sims")


class Analyzer:
    """Answers JSON analysis requests for one engine (see the module docstring).

    Args:
        engine: the searcher.
        game: the game whose positions are analysed (default ``engine.game``).
        default_sims: simulations when a request gives none (0: network only).
    """

    def __init__(self, engine: Engine, game: Game | None = None, *, default_sims: int = 64) -> None:
        if default_sims < 0:
            raise ValueError(f"default_sims must be >= 0, got {default_sims}")
        self.engine = engine
        self.game = game or engine.game
        self.default_sims = default_sims

    def answer_line(self, line: str) -> str | None:
        """The JSON answer line (without newline) to one request line; None for a blank line."""
        if not line.strip():
            return None
        request_id: Any = None
        try:
            try:
                request = json.loads(line)
            except json.JSONDecodeError as err:
                raise RequestError(f"malformed JSON: {err}") from None
            if not isinstance(request, dict):
                raise RequestError(f"a request must be a JSON object, got {type(request).__name__}")
            request_id = request.get("id")
            if request_id is not None and (
                isinstance(request_id, bool) or not isinstance(request_id, (int, str))
            ):
                bad_id, request_id = request_id, None
                raise RequestError(f"'id' must be a string, an integer or null, got {bad_id!r}")
            answer = self.answer(request)
        except (RequestError, GameError) as err:
            answer = {"id": request_id, "error": str(err)}
        return json.dumps(answer, allow_nan=False)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answer to a parsed request.

        Raises:
            RequestError: unknown fields, wrong types, an illegal move, a finished game,
                or another game.
        """
        unknown = sorted(set(request) - set(_FIELDS))
        if unknown:
            raise RequestError(f"unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(_FIELDS)}")
        if "game" in request:
            self._check_game(request["game"])
        sims = request.get("sims", self.default_sims)
        if isinstance(sims, bool) or not isinstance(sims, int) or sims < 0:
            raise RequestError(f"'sims' must be a non-negative integer, got {sims!r}")
        moves = request.get("moves", [])
        if not isinstance(moves, list):
            raise RequestError(f"'moves' must be a list of move texts, got {type(moves).__name__}")
        state = self.position(moves)
        return self.analyse(state, sims, request.get("id"))

    def position(self, moves: list[Any]) -> State:
        """The position after ``moves`` (texts) from the start; the error names the bad move."""
        state = self.game.initial_state()
        for i, move in enumerate(moves):
            if not isinstance(move, str):
                raise RequestError(f"move {i + 1} ({move!r}) is not a string in the game's notation")
            if state.is_terminal():
                raise RequestError(f"move {i + 1} ({move!r}) is played after the game ended")
            try:
                state = apply_text(state, move)
            except GameError as err:
                raise RequestError(f"move {i + 1} ({move!r}): {err}") from None
        if state.is_terminal():
            raise RequestError(f"the game is over after {len(moves)} move(s); nothing to analyse")
        return state

    def analyse(self, state: State, sims: int, request_id: Any = None) -> dict[str, Any]:
        """The answer dict for ``state`` searched with ``sims`` simulations (0: network only)."""
        text: Callable[[int], str] = state.action_to_text
        policy, value = self.engine.raw_policy(state)
        legal = state.legal_actions()
        answer: dict[str, Any] = {"id": request_id}
        if sims == 0:
            action = int(max(legal, key=lambda a: policy[a]))
        else:
            analysis = self.engine.analyse(state, sims=sims)
            action = analysis.action
        answer.update(move=text(action), action=action, to_play=state.to_play)
        answer["policy"] = {text(a): _round(policy[a]) for a in legal}
        answer["value"] = _round(value)
        if sims:
            visited = [a for a in np.argsort(-analysis.visit_counts, kind="stable") if analysis.visit_counts[a] > 0]
            answer["sims"] = analysis.simulations
            answer["visits"] = {text(int(a)): int(analysis.visit_counts[a]) for a in visited}
            answer["root_value"] = _round(analysis.value)
            answer["q"] = {text(int(a)): _round(analysis.q_values[a]) for a in visited}
        return answer

    def _check_game(self, given: Any) -> None:
        if isinstance(given, str):
            spec: dict[str, Any] = {"name": given}
        elif isinstance(given, dict):
            spec = given
        else:
            raise RequestError(f"'game' must be a name or a spec object, got {given!r}")
        try:
            requested = games.from_spec(spec)
        except GameError as err:
            raise RequestError(f"bad 'game' {given!r}: {err}") from None
        mine = self.game.spec()
        theirs = requested.spec()
        if theirs["name"] != mine["name"] or any(theirs.get(k) != mine.get(k) for k in spec if k != "name"):
            raise RequestError(f"this engine analyses {self.game!r}, not {given!r}")

    def run(self, stdin: TextIO, stdout: TextIO) -> int:
        """Answer every line of ``stdin`` on ``stdout`` (flushed per line) until end of input."""
        for line in stdin:
            answer = self.answer_line(line)
            if answer is not None:
                stdout.write(answer + "\n")
                stdout.flush()
        return 0




