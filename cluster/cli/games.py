"""``zeroplay games ...``: the rules layer's benchmark."""

from __future__ import annotations

import argparse
from typing import Any

from cluster.bench.common import machine_info
from cluster.cli.common import CliError, emit


def cmd_games_bench(args: argparse.Namespace) -> int:
    from games import bench

    keys = args.games.split(",") if args.games else None
    try:
        figures = bench.bench_all(keys, seconds=args.seconds, seed=args.seed)
    except ValueError as err:
        raise CliError(str(err)) from None
    result = {"benchmark": "games", "machine": machine_info(), "games": figures}

    def render(res: dict[str, Any]) -> str:
        lines = [f"{'game':<10} {'moves/s':>12} {'target':>10} {'apply µs':>9} {'mask µs':>8} {'obs µs':>8}"]
        for key, g in res["games"].items():
            target = f"{g['target_moves_per_s']:.0f}" if g["target_moves_per_s"] else "-"
            lines.append(
                f"{key:<10} {g['moves_per_s']:>12,.0f} {target:>10} {g['apply_us']:>9.2f}"
                f" {g['legal_mask_us']:>8.2f} {g['observation_us']:>8.2f}"
            )
        return "\n".join(lines)

    emit(result, args.json, render)
    return 0



def register(commands: Any, bench: Any) -> None:
    games_parser = commands.add_parser("games", help="the rules layer: benchmarks")
    games_commands = games_parser.add_subparsers(dest="games_command", required=True, metavar="SUBCOMMAND")
    gb = games_commands.add_parser("bench", help="random-play moves/s and per-position costs for each game")
    gb.add_argument("--json", action="store_true", help="print JSON")
    gb.add_argument("--games", help="comma-separated subset of tictactoe,connect4,go9,go19,chess")
    gb.add_argument("--seconds", type=float, default=3.0, help="random-play seconds per game (default 3)")
    gb.add_argument("--seed", type=int, default=0)
    gb.set_defaults(func=cmd_games_bench)
