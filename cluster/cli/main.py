"""The ``zeroplay`` entry point: one parser, one sub-command per module of this package.

Each command module defines ``register(commands, bench)``: ``commands`` is the set of
top-level sub-commands and ``bench`` the one of ``zeroplay bench``. Heavy imports
(torch, Ray) happen inside the commands that need them, so ``zeroplay games bench``
starts fast. Every error zeroplay raises on purpose (:class:`games.errors.ZeroplayError`)
is printed as one line, with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from games.errors import ZeroplayError

COMMAND_MODULES: tuple[str, ...] = (
    "cluster.cli.games",
    "cluster.cli.train",
    "cluster.cli.bench",
    "cluster.cli.match",
    "cluster.cli.engines",
    "cluster.cli.status",
    "cluster.cli.evaluate",
    "cluster.cli.report",
    "cluster.cli.pretrain",
    "cluster.cli.records",
    "cluster.cli.exploit",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zeroplay",
        description="AlphaZero-style self-play on Ray: train, analyse, play, and measure game-playing networks.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bench_parser = commands.add_parser("bench", help="benchmarks (JSON with --json); see BENCHMARKS.md")
    bench = bench_parser.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands, bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ZeroplayError as err:
        print(f"zeroplay: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
