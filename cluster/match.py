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
interval (:mod:`cluster.elo`) and, optionally, an SPRT that stops the match as soon
as it decides.

Go against GTP engines: the game is scored by zeroplay's area rules (stones plus
surrounded empty points, no dead-stone removal) once both sides pass or the move
cap is reached, and ko is simple ko unless ``--game`` says otherwise. Give GNU Go
``--chinese-rules --capture-all-dead`` so that it captures dead stones before
passing (without it GNU Go passes with dead stones on the board, which area
scoring then counts as alive): e.g.
``gtp:/usr/games/gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead``.

Records (``--out DIR``): ``game-NNNN.sgf`` for Go, ``game-NNNN.pgn`` for chess,
``game-NNNN.txt`` otherwise (``# key: value`` header lines, then the moves in the
game's notation separated by spaces, replayable with ``State.apply_all``), and
``match.json`` with the summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import numbers
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from games import Game, GameError, State
from cluster.elo import EloEstimate, EloError, SprtConfig, SprtResult, elo_estimate, sprt
from cluster.players import (
    ExternalEngineError,
    Player,
    PlayerError,
    Resignation,
    RulesDisagreement,
    checkpoint_game,
    is_builtin_spec,
    parse_player,
)


class MatchError(ValueError):
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
class GameRecord:
    """One finished game.

    Attributes:
        index: 0-based game number.
        a_player: which player A was (0 moves first).
        names: (player 0's name, player 1's name).
        actions: every move played, opening included.
        opening_plies: how many of ``actions`` were the random opening.
        score_a: 1, 0.5 or 0 for A; None for a void game.
        reason: "terminal", "resignation", "illegal move", "engine failure" or "void".
        detail: a human-readable note (the engine's message for failures).
        result: the record's result text (SGF ``RE``, PGN token, or "1-0"/"0-1"/"1/2-1/2").
    """

    index: int
    a_player: int
    names: tuple[str, str]
    actions: tuple[int, ...]
    opening_plies: int
    score_a: float | None
    reason: str
    detail: str
    result: str

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
    records: tuple[GameRecord, ...]
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
def parse_game_spec(text: str) -> Game:
    """The game named by a ``--game`` argument (``NAME[:key=value,...]`` or a JSON spec)."""
    import games
    from cluster.cli import CliError, parse_game_spec as parse_spec

    try:
        return games.from_spec(parse_spec(text))
    except (CliError, GameError) as err:
        raise MatchError(f"--game {text!r}: {err}") from None


def resolve_game(a: str, b: str, game_text: str | None) -> Game:
    """The match game: ``--game`` if given, else the first checkpoint's game.

    Against a ``gtp:`` engine, Go is played with ``ko="simple"`` unless ``--game``
    names a ko rule: GTP engines such as GNU Go only forbid simple ko, so under
    positional superko the two sides could disagree on which moves are legal.
    """
    import games

    if game_text:
        game = parse_game_spec(game_text)
        explicit_ko = "ko=" in game_text.replace(" ", "")
    else:
        for spec in (a, b):
            if not is_builtin_spec(spec):
                game = checkpoint_game(spec)
                break
        else:
            raise MatchError(f"neither {a!r} nor {b!r} is a checkpoint: say which game with --game")
        explicit_ko = False
    if game.name == "go" and not explicit_ko and any(s.startswith("gtp:") for s in (a, b)):
        game = games.from_spec({**game.spec(), "ko": "simple"})
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


def _result_text(game: Game, state: State, winner: int | None, reason: str) -> str:
    """Record result: SGF ``RE`` for Go, a PGN token otherwise."""
    if game.name == "go":
        if reason == "void":
            return "Void"
        if reason == "terminal":
            return state.result()  # type: ignore[attr-defined]
        suffix = "R" if reason == "resignation" else "F"
        return ("B+" if winner == 0 else "W+") + suffix
    if reason == "void":
        return "*"
    return "1-0" if winner == 0 else "0-1" if winner == 1 else "1/2-1/2"


def play_game(
    game: Game,
    players: tuple[Player, Player],
    opening: Sequence[int] = (),
    *,
    index: int = 0,
    a_player: int = 0,
    max_plies: int = 100_000,
) -> GameRecord:
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
        term = getattr(state, "termination", None)
        detail = term() if callable(term) else ""
    if reason == "void":
        score_a: float | None = None
    else:
        score_a = 0.5 if winner is None else (1.0 if winner == a_player else 0.0)
    return GameRecord(
        index=index,
        a_player=a_player,
        names=(players[0].name, players[1].name),
        actions=tuple(actions),
        opening_plies=len(opening),
        score_a=score_a,
        reason=reason,
        detail=detail or "",
        result=_result_text(game, state, winner, reason),
    )


def record_text(game: Game, record: GameRecord) -> tuple[str, str]:
    """``(file suffix, text)`` of a game record: SGF for Go, PGN for chess, a move list otherwise."""
    black, white = record.names
    if game.name == "go":
        from games.sgf import record_from_start, write_sgf

        rec = record_from_start(
            game.initial_state(), record.actions, result=record.result, black_player=black, white_player=white
        )
        return "sgf", write_sgf(rec)
    if game.name == "chess":
        from games.pgn import write_pgn

        tags = {
            "Event": "zeroplay match", "Round": str(record.index + 1), "White": black, "Black": white,
            "Termination": record.reason + (f": {record.detail}" if record.detail else ""),
        }
        return "pgn", write_pgn(game, record.actions, tags=tags, result=record.result)  # type: ignore[arg-type]
    state = game.initial_state()
    moves = []
    for action in record.actions:
        moves.append(state.action_to_text(action))
        state = state.apply(action)
    header = [
        f"# game: {json.dumps(game.spec())}",
        f"# player0: {black}",
        f"# player1: {white}",
        f"# result: {record.result}",
        f"# reason: {record.reason}" + (f" ({record.detail})" if record.detail else ""),
        f"# opening_plies: {record.opening_plies}",
    ]
    return "txt", "\n".join(header + [" ".join(moves), ""])


def read_move_list(text: str) -> tuple[dict[str, str], list[str]]:
    """Inverse of the ``.txt`` record: ``(header, moves)``."""
    header: dict[str, str] = {}
    moves: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header[key.strip()] = value.strip()
        elif line.strip():
            moves.extend(line.split())
    return header, moves


def run_match(
    game: Game,
    a: Player,
    b: Player,
    config: MatchConfig,
    on_game: Callable[[GameRecord, EloEstimate, SprtResult | None], None] | None = None,
) -> MatchResult:
    """Play up to ``config.games`` games of A against B (colours alternating) and score them."""
    start = time.perf_counter()
    if config.out is not None:
        config.out.mkdir(parents=True, exist_ok=True)
    records: list[GameRecord] = []
    w = d = l = void = 0
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
            l += 1
        else:
            d += 1
        if config.out is not None:
            suffix, text = record_text(game, record)
            (config.out / f"game-{i + 1:04d}.{suffix}").write_text(text, encoding="utf-8")
        estimate = elo_estimate(w, d, l)
        if config.sprt is not None:
            sprt_result = sprt(w, d, l, config.sprt)
        if on_game is not None:
            on_game(record, estimate, sprt_result)
        if sprt_result is not None and sprt_result.decision is not None:
            stopped = i + 1 < config.games
            break
    result = MatchResult(
        game=game, a_name=a.name, b_name=b.name, records=tuple(records), wins=w, draws=d, losses=l, void=void,
        elo=elo_estimate(w, d, l), sprt=sprt_result, stopped_early=stopped, seconds=time.perf_counter() - start,
    )
    if config.out is not None:
        (config.out / "match.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    return result


# ----------------------------------------------------------------------------- command
def _parse_uci_option(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise MatchError(f"--uci-option expects NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def cmd_match(args: argparse.Namespace) -> int:
    from cluster.cli import CliError, emit, machine_info
    from cluster.engine import EngineConfig, EngineError

    players: list[Player] = []
    try:
        sprt_config = SprtConfig.parse(args.sprt, args.sprt_method) if args.sprt else None
        config = MatchConfig(
            games=args.games, random_opening_plies=args.random_opening_plies, seed=args.seed, sprt=sprt_config,
            out=Path(args.out) if args.out else None,
        )
        sims = args.sims if args.sims is not None or args.seconds is not None else 200
        engine_config = EngineConfig(sims=sims, seconds=args.seconds, algorithm=args.algorithm, threads=args.threads)
        game = resolve_game(args.a, args.b, args.game)
        uci_options = [_parse_uci_option(o) for o in args.uci_option or []]
        for k, spec in enumerate((args.a, args.b)):
            players.append(parse_player(
                spec, game, engine_config, seed=args.seed * 2 + k, uci_movetime_ms=args.movetime,
                uci_options=uci_options,
            ))
        if players[0].name == players[1].name:
            players[1].name += " (B)"

        def progress(record: GameRecord, est: EloEstimate, sr: SprtResult | None) -> None:
            mark = {1.0: "A wins", 0.0: "B wins", 0.5: "draw", None: "void"}[record.score_a]
            line = (
                f"game {record.index + 1}: A as {'first' if record.a_player == 0 else 'second'} player, {mark} "
                f"({record.reason}{', ' + record.detail if record.detail else ''}, {len(record.actions)} plies); "
                f"+{est.wins}={est.draws}-{est.losses} {est}"
            )
            if sr is not None:
                line += f"; LLR {sr.llr:+.2f}"
            print(line, file=sys.stderr, flush=True)

        result = run_match(game, players[0], players[1], config, None if args.quiet else progress)
    except (MatchError, PlayerError, EloError, EngineError, GameError) as err:
        raise CliError(str(err)) from None
    finally:
        for p in players:
            p.close()
    summary = {"command": "match", **result.to_dict(), "out": args.out, "machine": machine_info()}

    def render(res: dict[str, Any]) -> str:
        lines = [
            f"{res['a']} vs {res['b']} ({result.game.name}): {res['games_played']} games",
            f"A: +{res['wins']} ={res['draws']} -{res['losses']}" + (f" ({res['void']} void)" if res["void"] else "")
            + (f", score {res['score']:.3f}" if res["score"] is not None else ""),
            str(result.elo),
        ]
        if result.sprt is not None:
            lines.append(str(result.sprt) + (" (stopped early)" if result.stopped_early else ""))
        failures = [r for r in result.records if r.reason in ("illegal move", "engine failure", "void")]
        for r in failures:
            lines.append(f"game {r.index + 1}: {r.reason}: {r.detail}")
        if res["out"]:
            lines.append(f"records in {res['out']}")
        return "\n".join(lines)

    emit(summary, args.json, render)
    return 0


def register(commands: Any, bench: Any) -> None:
    p = commands.add_parser(
        "match", help="play A against B: W/D/L, Elo with a 95%% interval, optional SPRT",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("a", metavar="A", help="player A: checkpoint/run dir, random, mcts-rollouts:N, fresh, gtp:CMD, uci:CMD")
    p.add_argument("b", metavar="B", help="player B (same forms)")
    p.add_argument("--games", type=int, default=10, help="games to play (default 10; an SPRT may stop earlier)")
    p.add_argument(
        "--game",
        help="game, e.g. tictactoe, connect4, go:size=9,ko=simple, chess:max_plies=200 "
        "(default: a checkpoint's game; needed when neither player is a checkpoint)",
    )
    p.add_argument("--sims", type=int, help="simulations per move for network players (default 200)")
    p.add_argument("--seconds", type=float, help="seconds per move for network players")
    p.add_argument("--algorithm", choices=("puct", "gumbel"), default="gumbel", help="network players' search")
    p.add_argument("--threads", type=int, help="torch threads for network players (default: torch's)")
    p.add_argument("--sprt", metavar="ELO0,ELO1[,ALPHA,BETA]", help="stop early once this SPRT decides")
    p.add_argument("--sprt-method", choices=("exact", "normal"), default="exact",
                   help="SPRT log-likelihood ratio: constrained MLE (default) or its normal approximation")
    p.add_argument("--random-opening-plies", type=int, default=0, metavar="K",
                   help="K random moves at the start of each pair of games (same for both colours)")
    p.add_argument("--seed", type=int, default=0, help="seeds openings and random players")
    p.add_argument("--movetime", type=int, default=100, metavar="MS", help="uci: engines' time per move (ms)")
    p.add_argument("--uci-option", action="append", metavar="NAME=VALUE", help="setoption for uci: engines (repeatable)")
    p.add_argument("--out", help="directory for game records (SGF/PGN/move lists) and match.json")
    p.add_argument("--quiet", action="store_true", help="no per-game progress on stderr")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=cmd_match)
