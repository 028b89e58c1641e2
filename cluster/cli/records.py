"""``zeroplay records A [B]``: outside engines (or any players) play; the games go to SGF/PGN collections."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cluster.cli.common import CliError, emit, parse_game_spec


def _uci_option(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise CliError(f"--uci-option expects NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def cmd_records(args: argparse.Namespace) -> int:
    import os

    from cluster.runtime.records import RecordsConfig, generate_records

    config = RecordsConfig(
        a=args.a,
        b=args.b if args.b is not None else args.a,
        game=parse_game_spec(args.game) if args.game else None,
        games=args.games,
        actors=args.actors if args.actors is not None else max(1, min(os.cpu_count() or 1, (args.games + 1) // 2)),
        out=Path(args.out),
        per_file=args.per_file,
        random_opening_plies=args.random_opening_plies,
        seed=args.seed,
        movetime_ms=args.movetime,
        uci_options=tuple(_uci_option(o) for o in args.uci_option or []),
        sims=args.sims,
    )

    def progress(game: dict[str, Any]) -> None:
        first, second = game["players"]
        print(f"game {game['index'] + 1}: {first} vs {second}: {game['result']} ({game['reason']}, "
              f"{game['plies']} plies, {game['seconds']:.1f} s)", file=sys.stderr, flush=True)

    summary = generate_records(config, address=args.address, on_game=None if args.quiet else progress)

    def render(s: dict[str, Any]) -> str:
        r = s["results"]
        lines = [
            f"{s['games']} games of {s['a']} vs {s['b']} ({s['game']['name']}) in {s['seconds']:.1f} s "
            f"({s['games_per_s']:.2f} games/s, {s['actors']} actor(s)); mean length {s['mean_plies']:.1f} plies",
            f"A +{r['a_wins']} ={r['draws']} -{r['b_wins']}" + (f" ({r['void']} void)" if r["void"] else "")
            + "; endings: " + ", ".join(f"{n} {k}" for k, n in sorted(s["endings"].items())),
        ]
        if s["lost"]:
            lines.append(f"{s['lost']} games lost to failed actors")
        lines.append(f"{len(s['files'])} collection file(s) and summary.json in {s['out']}")
        return "\n".join(lines)

    emit({k: v for k, v in summary.items() if k != "records"}, args.json, render)
    return 0


def cmd_bench_records(args: argparse.Namespace) -> int:
    from cluster.bench.records import render, run_records_bench

    emit(run_records_bench(args.games), args.json, render)
    return 0


def register(commands: Any, bench: Any) -> None:
    b = bench.add_parser("records", help="SGF and PGN import speed: games parsed and imported per CPU second")
    b.add_argument("--games", type=int, default=400, help="games per case (default 400)")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(func=cmd_bench_records)

    p = commands.add_parser(
        "records",
        help="play outside engines (GTP, UCI) or any players against each other and write SGF/PGN collections",
        description="Record generation for pre-training: A plays B (or itself) on Ray actors, with seeded random "
                    "openings; games go to collection files (SGF for Go, PGN for chess, move lists otherwise) and "
                    "summary.json.",
    )
    p.add_argument("a", metavar="A", help="player: gtp:CMD, uci:CMD, random, mcts-rollouts:N or a checkpoint/run dir, "
                                          "e.g. 'gtp:/usr/games/gnugo --mode gtp --level 5'")
    p.add_argument("b", metavar="B", nargs="?", help="the other player (default: A against itself)")
    p.add_argument("--game", help="game, e.g. go:size=9, chess, connect4 (default: a checkpoint player's game)")
    p.add_argument("--games", type=int, default=100, help="games to play (default 100)")
    p.add_argument("--out", required=True, help="directory for the collection files and summary.json")
    p.add_argument("--actors", type=int, help="Ray actors playing at once (default: one per CPU, at most one per "
                                              "pair of games)")
    p.add_argument("--per-file", type=int, default=100, help="games per collection file (default 100)")
    p.add_argument("--random-opening-plies", type=int, default=4, metavar="K",
                   help="K seeded random moves at the start of each pair of games (default 4; 0: none)")
    p.add_argument("--seed", type=int, default=0, help="seeds the openings and random players")
    p.add_argument("--movetime", type=int, default=100, metavar="MS", help="uci: engines' time per move (ms)")
    p.add_argument("--uci-option", action="append", metavar="NAME=VALUE",
                   help="setoption for uci: engines, e.g. 'Skill Level=5' (repeatable)")
    p.add_argument("--sims", type=int, default=200, help="simulations per move of checkpoint players (default 200)")
    p.add_argument("--address", help="Ray cluster to join: auto or HOST:PORT (default: embedded local Ray)")
    p.add_argument("--quiet", action="store_true", help="no per-game progress on stderr")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_records)
