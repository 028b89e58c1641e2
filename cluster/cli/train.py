"""``zeroplay train``: start or resume a training run."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from cluster.cli.common import CliError, parse_game_spec


def cmd_train(args: argparse.Namespace) -> int:
    from cluster.config.run import resolve
    from cluster.runtime.driver import run_training

    if args.resume is not None:
        if args.game or args.config or args.set or args.init or args.init_records:
            raise CliError("--resume continues a run with its stored configuration; only --minutes/--steps apply")
        # Only the [run] limits of this configuration are used; without any, the run keeps its own.
        limits_given = args.minutes is not None or args.steps is not None
        config = resolve(None, run__minutes=args.minutes, run__steps=args.steps) if limits_given else None
        run_dir = Path(args.resume)
    else:
        spec = parse_game_spec(args.game) if args.game else None
        name = spec.pop("name") if spec else None
        config = resolve(
            name, spec, args.config, args.set,
            run__minutes=args.minutes, run__steps=args.steps, selfplay__actors=args.actors,
            run__init=args.init, run__init_records=tuple(args.init_records) if args.init_records else None,
        )
        if config.run.minutes is None and config.run.steps is None:  # neither flags nor file set a limit
            config = dataclasses.replace(config, run=dataclasses.replace(config.run, minutes=5.0))
        run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / _run_name(config.game["name"])
    summary = run_training(config, run_dir, address=args.address, resume=args.resume is not None)
    if args.json:
        print(json.dumps(summary))
    return 0


def _run_name(game: str) -> str:
    import time

    return f"{game}-{time.strftime('%Y%m%d-%H%M%S')}"


def register(commands: Any, bench: Any) -> None:
    p = commands.add_parser("train", help="train a network by self-play on Ray (embedded local Ray by default)")
    p.add_argument("--game", help="tictactoe (default), connect4, go, chess, with options: go:size=9,komi=7.5")
    p.add_argument("--config", help="TOML file with [game] [network] [search] [selfplay] [replay] [train] [run]")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. --set search.num_simulations=32 (repeatable)")
    p.add_argument("--run-dir", help="run directory (default runs/GAME-DATE-TIME)")
    p.add_argument("--minutes", type=float, help="stop after M minutes (default 5 when no --steps)")
    p.add_argument("--steps", type=int, help="stop after S training steps")
    p.add_argument("--actors", type=int, help="self-play actors (0 = one per free CPU, following the cluster)")
    p.add_argument("--address", help="Ray cluster to join: auto or HOST:PORT (default: embedded local Ray)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue a stopped or crashed run from its last checkpoint (with its own limits "
                        "unless --minutes/--steps are given)")
    p.add_argument("--init", metavar="CHECKPOINT",
                   help="start from this checkpoint's weights (e.g. from zeroplay pretrain): same game and "
                        "network shape; the ladder rates it as step 0")
    p.add_argument("--init-records", action="append", metavar="PATH",
                   help="record collection or replay directory whose games the replay starts with (repeatable)")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    p.set_defaults(func=cmd_train)
