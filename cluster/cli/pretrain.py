"""``zeroplay pretrain``: supervised pre-training on game records (:mod:`cluster.runtime.pretrain`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from cluster.cli.common import parse_game_spec


def cmd_pretrain(args: argparse.Namespace) -> int:
    from cluster.config.run import resolve
    from cluster.runtime.pretrain import run_pretraining
    from learner.pretrain import PretrainConfig
    from learner.record_import import ImportOptions

    spec = parse_game_spec(args.game)
    name = spec.pop("name")
    config = resolve(name, spec, args.config, args.set)
    epochs, minutes = args.epochs, args.minutes
    if epochs is None and minutes is None:
        minutes = 5.0
    # The run's limits as the configuration records them (pre-training counts epochs, not steps).
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, minutes=minutes))
    pretrain = PretrainConfig(
        epochs=epochs, minutes=minutes, max_steps=args.steps, holdout=args.holdout,
        capacity=config.replay.capacity, log_every_seconds=config.run.log_every_seconds,
    )
    options = ImportOptions(smoothing=args.smoothing, variations=args.variations)
    run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / _run_name(config.game["name"])
    summary = run_pretraining(
        config, args.records, run_dir, pretrain, options=options, cache_dir=args.cache_dir,
        reimport=args.reimport, threads=args.threads,
    )
    if args.json:
        print(json.dumps(summary))
    return 0


def _run_name(game: str) -> str:
    import time

    return f"pretrain-{game}-{time.strftime('%Y%m%d-%H%M%S')}"


def register(commands: Any, bench: Any) -> None:
    p = commands.add_parser(
        "pretrain",
        help="train a network on game records (SGF, PGN, move lists, replay segments) before self-play",
        description="Supervised pre-training: the policy learns the move played, the value the game's result. "
                    "Records are imported once into replay segments (cached) and a held-out share of games "
                    "measures move-prediction accuracy and value loss after every epoch.",
    )
    p.add_argument("records", nargs="+", metavar="RECORDS",
                   help="record files or folders (.sgf, .pgn, .txt; .gz/.bz2 too), folders of .zpseg "
                        "segments, or run directories (their replay/)")
    p.add_argument("--game", required=True, help="the game, e.g. tictactoe, connect4, go:size=9,komi=7.5, chess")
    p.add_argument("--epochs", type=int, help="stop after E epochs (passes over the training positions)")
    p.add_argument("--minutes", type=float, help="stop after M minutes (default 5 when no --epochs)")
    p.add_argument("--steps", type=int, help="stop after S training steps")
    p.add_argument("--run-dir", help="run directory (default runs/pretrain-GAME-DATE-TIME)")
    p.add_argument("--config", help="TOML file of the run configuration ([network], [train], [replay], ...)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. --set network.blocks=6 or --set train.learning_rate=3e-4 "
                        "(replay.capacity: training positions in memory at once)")
    p.add_argument("--holdout", type=float, default=0.05, help="share of games held out to measure (default 0.05)")
    p.add_argument("--smoothing", type=float, default=0.0,
                   help="policy-target smoothing: this share spread over the legal moves (default 0: one-hot)")
    p.add_argument("--variations", action="store_true", help="SGF: every variation is a game, not only the main line")
    p.add_argument("--cache-dir", help="where imported records are cached (default $ZEROPLAY_CACHE or "
                                       "~/.cache/zeroplay/imports)")
    p.add_argument("--reimport", action="store_true", help="import the records again even if cached")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's, every core)")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    p.set_defaults(func=cmd_pretrain)
