"""``zeroplay match A B``: play two players against each other and measure the difference.

Game ``i`` (0-based) has A as player 0 when ``i`` is even and as player 1 when it
is odd, so colours alternate. With ``random_opening_plies = K`` every pair of games
(``2k``, ``2k+1``) starts with the same ``K`` uniformly random moves (seeded by the
match seed and ``k``), played for both colour assignments; the players see those
moves through ``observe`` like any other.

A game ends when the position is terminal (scored by zeroplay's rules), when a
player resigns (GTP ``resign``), or when a player fails: an illegal or unparseable
move, a crash or a time-out is a loss for that player (``reason`` says which); an
external engine refusing a move our rules accept makes the game *void* (recorded,
not counted). Results are from A's view: W/D/L, an Elo difference with a 95%
interval (:mod:`cluster.arena.elo`) and, optionally, an SPRT that stops the match as soon
as it decides.

Go against GTP engines: the game is scored by zeroplay's area rules (stones plus
surrounded empty points, no dead-stone removal) once both sides pass or the move
cap is reached, and ko is simple ko unless ``--game`` says otherwise. Give GNU Go
``--chinese-rules --capture-all-dead`` so that it captures dead stones before
passing (without it GNU Go passes with dead stones on the board, which area
scoring then counts as alive): e.g.
``gtp:/usr/games/gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead``.

Records (``--out DIR``): ``game-NNNN.<ext>`` in the game's record format
(:mod:`games.records`: SGF for Go, PGN for chess, a move list otherwise), and
``match.json`` with the summary.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cluster.arena.elo import EloEstimate, SprtConfig, SprtResult, elo_estimate, sprt
from cluster.arena.players import (
    ExternalEngineError,
    Player,
    Resignation,
    RulesDisagreement,
    checkpoint_game,
    is_builtin_spec,
)
from games import Game, GameError
from games.errors import ZeroplayError
from games.go import Go
from games.records import GameRecord, record_extension, result_text, write_record


class MatchError(ZeroplayError, ValueError):
    """A match that cannot be set up (bad game spec, no game to play, bad options)."""


@dataclasses.dataclass(frozen=True)
class MatchConfig:
    """How a match is played.

    Attributes:
        games: the most games to play (an SPRT may stop earlier).
        random_opening_plies: random moves at the start of every pair of games.
        seed: seeds the openings.
        sprt: an optional SPRT that stops the match once decided.
        out: where records go (None: not written).
    """

    games: int
    random_opening_plies: int = 0
    seed: int = 0
    sprt: SprtConfig | None = None
    out: Path | None = None

    def __post_init__(self) -> None:
        if isinstance(self.games, bool) or not isinstance(self.games, int) or self.games < 1:
            raise MatchError(f"--games must be a positive integer, got {self.games!r}")
        if self.random_opening_plies < 0:
            raise MatchError(f"--random-opening-plies must be >= 0, got {self.random_opening_plies}")


@dataclasses.dataclass(frozen=True)
class MatchGame:
    """One finished game of a match.

    Attributes:
        index: 0-based game number.
        a_player: which player A was (0 moves first).
        opening_plies: how many of the record's moves were the random opening.
        score_a: 1, 0.5 or 0 for A; None for a void game.
        reason: "terminal", "resignation", "illegal move", "engine failure" or "void".
        detail: a human-readable note (the engine's message for failures, the termination).
        record: the game as a :class:`games.records.GameRecord` (what ``--out`` writes).
    """

    index: int
    a_player: int
    opening_plies: int
    score_a: float | None
    reason: str
    detail: str
    record: GameRecord

    @property
    def names(self) -> tuple[str, str]:
        """(player 0's name, player 1's name)."""
        first, second = self.record.players
        return str(first), str(second)

    @property
    def actions(self) -> tuple[int, ...]:
        """Every move played, opening included."""
        return self.record.actions

    @property
    def result(self) -> str:
        """The record's result text (SGF ``RE`` for Go, else ``1-0``/``0-1``/``1/2-1/2``/``*``)."""
        return result_text(self.record)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "a_player": self.a_player, "players": list(self.names), "plies": len(self.actions),
            "opening_plies": self.opening_plies, "score_a": self.score_a, "reason": self.reason,
            "detail": self.detail, "result": self.result,
        }


@dataclasses.dataclass(frozen=True)
class MatchResult:
    """A match's outcome from A's view."""

    game: Game
    a_name: str
    b_name: str
    records: tuple[MatchGame, ...]
    wins: int
    draws: int
    losses: int
    void: int
    elo: EloEstimate
    sprt: SprtResult | None
    stopped_early: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "game": self.game.spec(),
            "a": self.a_name,
            "b": self.b_name,
            "games_played": len(self.records),
            "wins": self.wins, "draws": self.draws, "losses": self.losses, "void": self.void,
            "score": self.elo.score,
            "elo": self.elo.to_dict(),
            "sprt": self.sprt.to_dict() if self.sprt else None,
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 3),
            "results": [r.to_dict() for r in self.records],
        }


# ----------------------------------------------------------------------------- game specs
def resolve_game(a: str, b: str, game_spec: dict[str, Any] | None) -> Game:
    """The match game: ``game_spec`` if given, else the first checkpoint's game.

    Against a ``gtp:`` engine, Go is played under the rules GTP engines enforce
    (``Go.gtp_rules``: simple ko) unless ``game_spec`` names a ko rule.
    """
    import games

    if game_spec is not None:
        try:
            game = games.from_spec(game_spec)
        except GameError as err:
            raise MatchError(f"--game {game_spec!r}: {err}") from None
        explicit_ko = "ko" in game_spec
    else:
        for spec in (a, b):
            if not is_builtin_spec(spec):
                game = checkpoint_game(spec)
                break
        else:
            raise MatchError(f"neither {a!r} nor {b!r} is a checkpoint: say which game with --game")
        explicit_ko = False
    if isinstance(game, Go) and not explicit_ko and any(s.startswith("gtp:") for s in (a, b)):
        game = game.gtp_rules()
    return game


# ----------------------------------------------------------------------------- playing
def random_opening(game: Game, plies: int, rng: random.Random, tries: int = 100) -> list[int]:
    """``plies`` random legal moves from the start that do not end the game (retried)."""
    for _ in range(tries):
        state = game.initial_state()
        actions: list[int] = []
        while len(actions) < plies and not state.is_terminal():
            action = rng.choice(state.legal_actions())
            actions.append(action)
            state = state.apply(action)
        if not state.is_terminal():
            return actions
    raise MatchError(f"could not find a {plies}-ply random opening of {game.name} that does not end the game")


def play_game(
    game: Game,
    players: tuple[Player, Player],
    opening: Sequence[int] = (),
    *,
    index: int = 0,
    a_player: int = 0,
    max_plies: int = 100_000,
) -> MatchGame:
    """Play one game between ``players`` (player 0 first) after the ``opening`` moves.

    Never raises for a player's misbehaviour: resignations, illegal moves and engine
    failures end the game (see the module docstring). ``max_plies`` is a safety net
    for games whose rules do not cap them (it ends the game void).
    """
    state = game.initial_state()
    for p in players:
        p.new_game(game, state)
    actions: list[int] = []

    def play(action: int) -> None:
        nonlocal state
        for p in players:
            p.observe(state, action)
        state = state.apply(action)
        actions.append(action)

    for action in opening:
        play(action)
    winner: int | None = None
    reason, detail = "terminal", ""
    while not state.is_terminal():
        if len(actions) >= max_plies:
            reason, detail = "void", f"no result after {max_plies} plies"
            break
        mover = state.to_play
        try:
            action = players[mover].choose(state)
        except Resignation as err:
            winner, reason, detail = 1 - mover, "resignation", str(err)
            break
        except RulesDisagreement as err:
            reason, detail = "void", str(err)
            break
        except ExternalEngineError as err:
            winner, reason, detail = 1 - mover, "engine failure", str(err)
            break
        mask = state.legal_mask()
        if (
            isinstance(action, bool) or not isinstance(action, numbers.Integral)
            or not 0 <= action < game.num_actions or not mask[action]
        ):
            try:
                text = state.action_to_text(action)
            except Exception:  # noqa: BLE001 - out-of-range action: describe it by number
                text = repr(action)
            winner, reason = 1 - mover, "illegal move"
            detail = f"{players[mover].name} played illegal move {text} at ply {len(actions) + 1}"
            break
        try:
            play(int(action))
        except RulesDisagreement as err:
            reason, detail = "void", str(err)
            break
    if reason == "terminal":
        ret = state.returns()
        winner = 0 if ret[0] > 0 else 1 if ret[0] < 0 else None
        detail = state.end_description()
    if reason == "void":
        score_a: float | None = None
    else:
        score_a = 0.5 if winner is None else (1.0 if winner == a_player else 0.0)
    record = GameRecord(
        game=game, actions=tuple(actions), players=(players[0].name, players[1].name), winner=winner,
        ending=_ENDINGS[reason], detail=detail, event="zeroplay match", round=index + 1,
    )
    return MatchGame(index=index, a_player=a_player, opening_plies=len(opening), score_a=score_a, reason=reason,
                     detail=detail or "", record=record)


#: How each way a match game ends is written in its record.
_ENDINGS = {"terminal": "terminal", "resignation": "resignation", "illegal move": "forfeit",
            "engine failure": "forfeit", "void": "void"}


def run_match(
    game: Game,
    a: Player,
    b: Player,
    config: MatchConfig,
    on_game: Callable[[MatchGame, EloEstimate, SprtResult | None], None] | None = None,
) -> MatchResult:
    """Play up to ``config.games`` games of A against B (colours alternating) and score them."""
    start = time.perf_counter()
    if config.out is not None:
        config.out.mkdir(parents=True, exist_ok=True)
    records: list[MatchGame] = []
    w = d = lost = void = 0
    sprt_result: SprtResult | None = None
    opening: list[int] = []
    stopped = False
    for i in range(config.games):
        if i % 2 == 0:
            rng = random.Random(f"{config.seed}:{i // 2}")
            opening = random_opening(game, config.random_opening_plies, rng) if config.random_opening_plies else []
        a_player = i % 2
        players = (a, b) if a_player == 0 else (b, a)
        record = play_game(game, players, opening, index=i, a_player=a_player)
        records.append(record)
        if record.score_a is None:
            void += 1
        elif record.score_a == 1.0:
            w += 1
        elif record.score_a == 0.0:
            lost += 1
        else:
            d += 1
        if config.out is not None:
            path = config.out / f"game-{i + 1:04d}.{record_extension(game)}"
            path.write_text(write_record(record.record), encoding="utf-8")
        estimate = elo_estimate(w, d, lost)
        if config.sprt is not None:
            sprt_result = sprt(w, d, lost, config.sprt)
        if on_game is not None:
            on_game(record, estimate, sprt_result)
        if sprt_result is not None and sprt_result.decision is not None:
            stopped = i + 1 < config.games
            break
    result = MatchResult(
        game=game, a_name=a.name, b_name=b.name, records=tuple(records), wins=w, draws=d, losses=lost, void=void,
        elo=elo_estimate(w, d, lost), sprt=sprt_result, stopped_early=stopped, seconds=time.perf_counter() - start,
    )
    if config.out is not None:
        (config.out / "match.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    return result


