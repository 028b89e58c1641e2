"""``zeroplay evaluate RUN_DIR``: rate a run's new checkpoints on its Elo ladder (:mod:`cluster.arena.evaluator`)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from cluster.arena.evaluator import Evaluator, EvaluatorConfig, EvaluatorWarning


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.payoff:
        from pathlib import Path

        from cluster.arena.ladder import read_ladder
        from cluster.observe.league_report import payoff_text

        print(payoff_text(read_ladder(args.run_dir), Path(args.run_dir)))
        return 0
    anchors = tuple(args.anchor) if args.anchor else None
    config = EvaluatorConfig(
        games_per_pairing=args.games,
        sims=args.sims,
        opponents=args.opponents,
        anchors=anchors,
        every_checkpoints=args.every,
        threads=args.threads,
        exploitability=args.exploitability,
    )
    evaluator = Evaluator(args.run_dir, config, log=lambda line: print(line, file=sys.stderr, flush=True))
    with warnings.catch_warnings():
        warnings.simplefilter("always", EvaluatorWarning)
        while True:
            records = evaluator.evaluate_new(wait=args.poll if args.watch else 0.0)
            for record in records:
                print(json.dumps(record) if args.json else _render(record), flush=True)
            if not args.watch:
                break
    return 0


def _render(record: Mapping[str, Any]) -> str:
    def num(key: str, spec: str) -> str:
        value = record.get(key)
        return "-" if value is None else format(value, spec)

    return (
        f"step {record['step']} (v{record['weights_version']}): Elo {num('elo', '+.0f')}  "
        f"vs random {num('score_vs_random', '.2f')}  vs previous {num('score_vs_previous', '.2f')} "
        f"[{num('elo_vs_previous_lower', '+.0f')}, {num('elo_vs_previous_upper', '+.0f')}]  "
        f"({record['eval_games']} games, {record['eval_seconds']:.0f}s)"
    )


def register(commands: Any, bench: Any) -> None:
    p = commands.add_parser("evaluate", help="rate a run's new checkpoints on its Elo ladder (RUN_DIR/ladder.json)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory")
    p.add_argument("--games", type=int, default=10, help="games per pairing (even; default 10)")
    p.add_argument("--sims", type=int, default=32, help="simulations per move (default 32)")
    p.add_argument("--opponents", type=int, default=2, help="earlier checkpoints each one faces (default 2)")
    p.add_argument(
        "--anchor",
        action="append",
        metavar="SPEC",
        help="an anchor player (repeatable; default random, mcts-rollouts:64, GNU Go on 9x9 Go)",
    )
    p.add_argument("--every", type=int, default=1, help="evaluate every k-th new checkpoint (default 1)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--watch", action="store_true", help="keep watching for new checkpoints")
    p.add_argument("--poll", type=float, default=30.0, help="seconds between looks with --watch (default 30)")
    p.add_argument("--json", action="store_true", help="print each record as JSON")
    p.add_argument("--exploitability", action="store_true",
                   help="also measure each checkpoint's exact points lost against perfect play (tictactoe, connect4)")
    p.add_argument("--payoff", action="store_true",
                   help="only print the ladder's payoff matrix (and a league's main agent against its snapshots)")
    p.set_defaults(func=cmd_evaluate)
