"""``zeroplay bench search``: how close batched self-play comes to the network's own speed.

For each game, with its default network on one CPU thread:

* ``network_positions_per_s``: raw inference at batch G (the physical limit);
* ``selfplay_simulations_per_s``: a self-play worker with G games, same network;
* ``efficiency`` = the ratio of the two (target >= 0.8: everything outside the
  network is overhead; it can pass 1 since terminal leaves and reused subtrees
  need no network call), and ``evaluate_fraction``, the share of self-play wall
  time spent inside the network;
* ``batching_speedup``: simulations/s with G games at once over G = 1, same code.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from cluster.cli import CliError, emit, machine_info

GAMES = {"connect4": {"name": "connect4"}, "go9": {"name": "go", "size": 9}, "tictactoe": {"name": "tictactoe"},
         "chess": {"name": "chess"}}


def selfplay_rate(game: Any, net: Any, num_games: int, sims: int, seconds: float, algorithm: str) -> dict[str, float]:
    """Simulations/s of a self-play worker over about ``seconds`` (after one warm-up step)."""
    from learner import TorchEvaluator
    from selfplay import SearchConfig, Worker, WorkerConfig

    evaluator = TorchEvaluator(net)
    worker = Worker(
        game, evaluator,
        WorkerConfig(num_games=num_games, search=SearchConfig(num_simulations=sims, temperature_moves=8,
                                                              algorithm=algorithm)),
        rng=np.random.default_rng(0),
    )
    worker.step()
    before = worker.stats
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        worker.step()
    after = worker.stats
    total = after.total_seconds - before.total_seconds
    return {
        "simulations_per_s": (after.simulations - before.simulations) / total,
        "positions_evaluated_per_s": (after.positions_evaluated - before.positions_evaluated) / total,
        "evaluate_fraction": (after.evaluate_seconds - before.evaluate_seconds) / total,
        "moves_per_s": (after.moves - before.moves) / total,
    }


def bench_game(key: str, num_games: int, sims: int, seconds: float, algorithm: str) -> dict[str, Any]:
    import torch

    import games
    from learner import PolicyValueNet, default_network_config, network_throughput, set_torch_threads

    set_torch_threads(1)
    game = games.from_spec(GAMES[key])
    torch.manual_seed(0)
    config = default_network_config(game)
    net = PolicyValueNet(game, config).eval()
    raw = network_throughput(net, num_games, num_threads=1, min_seconds=seconds / 2)
    batched = selfplay_rate(game, net, num_games, sims, seconds, algorithm)
    single = selfplay_rate(game, net, 1, sims, seconds / 2, algorithm)
    return {
        "game": game.spec(),
        "network": config.to_dict(),
        "num_games": num_games,
        "simulations": sims,
        "algorithm": algorithm,
        "network_positions_per_s": round(raw, 1),
        "selfplay_simulations_per_s": round(batched["simulations_per_s"], 1),
        "selfplay_positions_evaluated_per_s": round(batched["positions_evaluated_per_s"], 1),
        "efficiency": round(batched["simulations_per_s"] / raw, 3),
        "evaluate_fraction": round(batched["evaluate_fraction"], 3),
        "single_game_simulations_per_s": round(single["simulations_per_s"], 1),
        "batching_speedup": round(batched["simulations_per_s"] / single["simulations_per_s"], 2),
    }


def cmd_bench_search(args: argparse.Namespace) -> int:
    keys = args.games.split(",")
    unknown = [k for k in keys if k not in GAMES]
    if unknown:
        raise CliError(f"unknown game(s) {unknown}; choose from {', '.join(GAMES)}")
    if args.num_games < 2:
        raise CliError("--num-games must be at least 2 (it is compared with one game at a time)")
    results = {k: bench_game(k, args.num_games, args.sims, args.seconds, args.algorithm) for k in keys}
    out = {"benchmark": "search", "machine": machine_info(), "targets": {"efficiency": 0.8, "batching_speedup": 5.0},
           "games": results}

    def render(r: dict[str, Any]) -> str:
        lines = [f"{'game':<10} {'net pos/s':>10} {'sims/s':>10} {'efficiency':>10} {'in net':>7} {'G=1 sims/s':>11} {'speedup':>8}"]
        for key, g in r["games"].items():
            lines.append(
                f"{key:<10} {g['network_positions_per_s']:>10.0f} {g['selfplay_simulations_per_s']:>10.0f}"
                f" {g['efficiency']:>10.2f} {g['evaluate_fraction']:>7.2f} {g['single_game_simulations_per_s']:>11.0f}"
                f" {g['batching_speedup']:>8.1f}"
            )
        return "\n".join(lines)

    emit(out, args.json, render)
    return 0


def register(commands: Any, bench: Any) -> None:
    p = bench.add_parser("search", help="self-play simulations/s against raw network positions/s, batched vs single")
    p.add_argument("--games", default="connect4,go9", help=f"comma-separated subset of {','.join(GAMES)}")
    p.add_argument("--num-games", type=int, default=64, help="games per worker G (default 64)")
    p.add_argument("--sims", type=int, default=64, help="simulations per move")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of self-play per measurement")
    p.add_argument("--algorithm", default="puct", choices=["puct", "gumbel"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_search)
