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

import time
from typing import Any

import numpy as np

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
    from cluster.config.presets import network_config
    from learner import PolicyValueNet, network_throughput, set_torch_threads

    set_torch_threads(1)
    game = games.from_spec(GAMES[key])
    torch.manual_seed(0)
    config = network_config(game)
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


