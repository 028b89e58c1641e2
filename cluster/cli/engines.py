"""``zeroplay analyze | play | gtp | uci``: the engine front ends on stdin/stdout (see :mod:`cluster.engines`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cluster.cli.common import CliError, parse_game_spec, protocol_stdout


def register(commands: Any, bench: Any) -> None:
    """Add the four engine commands."""
    parser = commands.add_parser(
        "analyze", help="JSON-lines analysis engine (one request per line on stdin)",
        description="Reads JSON requests such as {\"id\": 1, \"moves\": [\"4\", \"4\"], \"sims\": 64} on stdin "
        "and writes one JSON answer per line (move, policy, value, visits, q). See cluster/engines/analyze.py.",
    )
    add_engine_arguments(parser, default_sims=64, seconds=False)
    parser.set_defaults(func=cmd_analyze)

    parser = commands.add_parser(
        "play", help="play against the engine in the terminal",
        description="Play against the engine in the terminal: type moves in the game's notation "
        "(Go D4/pass, chess e2e4 or Nf3, Connect Four 4, tic-tac-toe b2) or undo, hint, eval, "
        "save FILE, resign, help, quit. See cluster/engines/play.py.",
    )
    add_engine_arguments(parser, default_sims=200)
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--first", action="store_true", help="you move first (default)")
    side.add_argument("--second", action="store_true", help="the engine moves first")
    parser.set_defaults(func=cmd_play)

    parser = commands.add_parser(
        "gtp", help="GTP v2 Go engine on stdin/stdout",
        description="A GTP v2 Go engine (see cluster/engines/gtp.py for the commands and behaviour).",
    )
    add_engine_arguments(parser, default_sims=200)
    parser.add_argument("--size", type=int, help="board size (overrides --game / the checkpoint; must fit the network)")
    parser.add_argument("--komi", type=float, help="komi (default from the game, 7.5)")
    parser.add_argument("--ko", choices=("simple", "positional"), help="ko rule (use simple against GNU Go)")
    parser.add_argument("--resign-threshold", type=float, default=-0.95,
                        help="resign below this searched value (default -0.95; -1 never resigns)")
    parser.add_argument("--resign-after", type=int, default=None,
                        help="moves before resigning is considered (default points / 2)")
    parser.set_defaults(func=cmd_gtp)

    parser = commands.add_parser(
        "uci", help="UCI chess engine on stdin/stdout",
        description="A UCI chess engine (see cluster/engines/uci.py for the commands and limits).",
    )
    add_engine_arguments(parser, default_sims=200)
    parser.set_defaults(func=cmd_uci)


def add_engine_arguments(parser: argparse.ArgumentParser, *, default_sims: int, seconds: bool = True) -> None:
    """The checkpoint argument and the options every front end shares."""
    parser.add_argument(
        "checkpoint", nargs="?", metavar="CHECKPOINT_OR_RUN_DIR",
        help="checkpoint file, checkpoints dir or run dir (latest checkpoint); omit with --game",
    )
    parser.add_argument(
        "--game", metavar="G",
        help="game and options, e.g. tictactoe, go:size=9,komi=7.5, chess, or a JSON spec; "
        "without a checkpoint plays a freshly initialised network",
    )
    parser.add_argument("--sims", type=int, default=None, help=f"simulations per move (default {default_sims})")
    if seconds:
        parser.add_argument("--seconds", type=float, default=None,
                            help="seconds per move (alone: time only; with --sims: both limits)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, auto (default cpu)")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch threads for the network (default 1: an engine beside other work keeps its time)",
    )
    parser.add_argument(
        "--move-overhead", type=float, default=20.0, metavar="MS",
        help="milliseconds kept back from every timed move for the answer's latency (default 20, at most 10000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="search seed (ties)")


def limits_from_args(args: argparse.Namespace, default_sims: int) -> tuple[int | None, float | None]:
    """(sims, seconds) from ``--sims``/``--seconds``: ``--seconds`` alone limits by time only."""
    from cluster.engines.timing import MAX_BUDGET
    from selfplay.search.config import MAX_SIMULATIONS

    sims, seconds = args.sims, getattr(args, "seconds", None)
    if sims is not None and not 1 <= sims <= MAX_SIMULATIONS:
        raise CliError(f"--sims must be 1..{MAX_SIMULATIONS}, got {sims}")
    if seconds is not None and not 0 < seconds <= MAX_BUDGET:
        raise CliError(f"--seconds must be positive and at most {MAX_BUDGET:g}, got {seconds}")
    if sims is None and seconds is None:
        sims = default_sims
    return sims, seconds


def _engine(args: argparse.Namespace, game_text: str | None, sims: int | None, seconds: float | None,
            overrides: dict[str, Any] | None = None) -> Any:
    from cluster.engines.loading import build_engine

    spec = parse_game_spec(game_text) if game_text else None
    if overrides:
        spec = {**(spec or {"name": "go"}), **overrides}
    if not 1 <= args.threads <= 256:
        raise CliError(f"--threads must be 1..256, got {args.threads}")
    if not 0 <= args.move_overhead <= 10_000:
        raise CliError(f"--move-overhead must be 0..10000 ms, got {args.move_overhead:g}")
    return build_engine(
        args.checkpoint, spec, sims=sims, seconds=seconds, device=args.device, seed=args.seed, threads=args.threads,
        move_overhead=args.move_overhead / 1000,
    )


def cmd_analyze(args: argparse.Namespace) -> int:
    from cluster.engines.analyze import Analyzer
    from selfplay.search.config import MAX_SIMULATIONS

    if args.sims is not None and not 0 <= args.sims <= MAX_SIMULATIONS:
        raise CliError(f"--sims must be 0..{MAX_SIMULATIONS}, got {args.sims}")
    default_sims = 64 if args.sims is None else args.sims
    engine, game = _engine(args, args.game, max(default_sims, 1), None)
    with protocol_stdout() as out:
        return Analyzer(engine, game, default_sims=default_sims).run(sys.stdin, out)


def cmd_play(args: argparse.Namespace) -> int:
    from cluster.engines.play import PlaySession

    sims, seconds = limits_from_args(args, 200)
    engine, game = _engine(args, args.game, sims, seconds)
    session = PlaySession(engine, game, human=1 if args.second else 0)
    return session.run(sys.stdin, sys.stdout)


def cmd_gtp(args: argparse.Namespace) -> int:
    from cluster.engines.engine import Engine
    from cluster.engines.gtp import GtpEngine
    from games.go import Go

    sims, seconds = limits_from_args(args, 200)
    spec_text = args.game or ("go" if args.checkpoint is None else None)
    overrides = {k: v for k, v in (("size", args.size), ("komi", args.komi), ("ko", args.ko)) if v is not None}
    engine, game = _engine(args, spec_text, sims, seconds, overrides)
    if not isinstance(game, Go):
        raise CliError(f"zeroplay gtp plays Go; the engine plays {game!r}")

    def fresh_engine(g: Go) -> Engine:
        fresh = Engine.load(None, engine.config, game_spec=g.spec())
        fresh.warm_up()
        return fresh

    new_engine = fresh_engine if args.checkpoint is None else None  # a checkpoint fixes the size
    session = GtpEngine(
        engine, game, new_engine=new_engine, resign_threshold=args.resign_threshold,
        resign_after=args.resign_after, log=sys.stderr,
    )
    print(f"zeroplay gtp: {game!r}, {engine.name} from {engine.source}", file=sys.stderr, flush=True)
    with protocol_stdout() as out:
        return session.run(sys.stdin, out)


def cmd_uci(args: argparse.Namespace) -> int:
    from cluster.engines.uci import UciEngine
    from games.chess import Chess

    sims, seconds = limits_from_args(args, 200)
    engine, game = _engine(args, args.game or ("chess" if args.checkpoint is None else None), sims, seconds)
    if not isinstance(game, Chess):
        raise CliError(f"zeroplay uci plays chess; the engine plays {game!r}")
    print(f"zeroplay uci: {engine.name} from {engine.source}", file=sys.stderr, flush=True)
    with protocol_stdout() as out:
        return UciEngine(engine, out, game, log=sys.stderr).run(sys.stdin)
