"""The ``zeroplay`` command line.

Each sub-command is a small function; heavy imports (torch, Ray) happen inside
the commands that need them, so ``zeroplay games bench`` starts fast.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from typing import Any, Callable, Sequence


class CliError(Exception):
    """A user error reported as one line on stderr with exit status 2."""


def machine_info() -> dict[str, Any]:
    """What a benchmark ran on: host, CPU model, core count, Python, date (UTC)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], str]) -> None:
    print(json.dumps(result, indent=2) if as_json else render(result))


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

    _emit(result, args.json, render)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zeroplay", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    games_parser = commands.add_parser("games", help="the rules layer: benchmarks")
    games_commands = games_parser.add_subparsers(dest="games_command", required=True, metavar="SUBCOMMAND")
    gb = games_commands.add_parser("bench", help="random-play moves/s and per-position costs for each game")
    gb.add_argument("--json", action="store_true", help="print JSON")
    gb.add_argument("--games", help="comma-separated subset of tictactoe,connect4,go9,go19,chess")
    gb.add_argument("--seconds", type=float, default=3.0, help="random-play seconds per game (default 3)")
    gb.add_argument("--seed", type=int, default=0)
    gb.set_defaults(func=cmd_games_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as err:
        print(f"zeroplay: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
