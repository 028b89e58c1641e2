"""``zeroplay match A B``: checkpoints, baselines or outside engines against each other (:mod:`cluster.arena.match`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cluster.arena import match as match_module
from cluster.arena.elo import EloEstimate, SprtConfig, SprtResult
from cluster.arena.match import MatchConfig, MatchGame, resolve_game, run_match
from cluster.arena.players import Player, parse_player
from cluster.bench.common import machine_info
from cluster.cli.common import CliError, emit, parse_game_spec


def _parse_uci_option(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise CliError(f"--uci-option expects NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def cmd_match(args: argparse.Namespace) -> int:
    from cluster.engines.engine import EngineConfig

    players: list[Player] = []
    try:
        sprt_config = SprtConfig.parse(args.sprt, args.sprt_method) if args.sprt else None
        config = MatchConfig(
            games=args.games,
            random_opening_plies=args.random_opening_plies,
            seed=args.seed,
            sprt=sprt_config,
            out=Path(args.out) if args.out else None,
        )
        sims = args.sims if args.sims is not None or args.seconds is not None else 200
        engine_config = EngineConfig(sims=sims, seconds=args.seconds, algorithm=args.algorithm, threads=args.threads)
        game = resolve_game(args.a, args.b, parse_game_spec(args.game) if args.game else None)
        uci_options = [_parse_uci_option(o) for o in args.uci_option or []]
        for k, spec in enumerate((args.a, args.b)):
            players.append(
                parse_player(
                    spec,
                    game,
                    engine_config,
                    seed=args.seed * 2 + k,
                    uci_movetime_ms=args.movetime,
                    uci_options=uci_options,
                )
            )
        if players[0].name == players[1].name:
            players[1].name += " (B)"

        def progress(record: MatchGame, est: EloEstimate, sr: SprtResult | None) -> None:
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
    finally:
        for p in players:
            p.close()
    summary = {"command": "match", **result.to_dict(), "out": args.out, "machine": machine_info()}

    def render(res: dict[str, Any]) -> str:
        lines = [
            f"{res['a']} vs {res['b']} ({result.game.name}): {res['games_played']} games",
            f"A: +{res['wins']} ={res['draws']} -{res['losses']}"
            + (f" ({res['void']} void)" if res["void"] else "")
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
        "match",
        help="play A against B: W/D/L, Elo with a 95%% interval, optional SPRT",
        description=match_module.__doc__.split("\n\n")[0],
    )
    p.add_argument(
        "a", metavar="A", help="player A: checkpoint/run dir, random, mcts-rollouts:N, fresh, gtp:CMD, uci:CMD"
    )
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
    p.add_argument(
        "--sprt-method",
        choices=("exact", "normal"),
        default="exact",
        help="SPRT log-likelihood ratio: constrained MLE (default) or its normal approximation",
    )
    p.add_argument(
        "--random-opening-plies",
        type=int,
        default=0,
        metavar="K",
        help="K random moves at the start of each pair of games (same for both colours)",
    )
    p.add_argument("--seed", type=int, default=0, help="seeds openings and random players")
    p.add_argument("--movetime", type=int, default=100, metavar="MS", help="uci: engines' time per move (ms)")
    p.add_argument(
        "--uci-option", action="append", metavar="NAME=VALUE", help="setoption for uci: engines (repeatable)"
    )
    p.add_argument("--out", help="directory for game records (SGF/PGN/move lists) and match.json")
    p.add_argument("--quiet", action="store_true", help="no per-game progress on stderr")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=cmd_match)
