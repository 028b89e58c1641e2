"""``zeroplay bench search``: how close batched self-play comes to the network's own speed.

For each game, with its default network on one CPU thread:

* ``network_positions_per_s``: raw inference at batch G through the chosen inference
  backend (``--backend``, default ``auto``: see ``learner.backends``), the physical
  limit of self-play; ``eager_network_positions_per_s`` the same network in eager
  mode, measured in the same run, the two interleaved (eager, backend, eager, ...
  ``--reps`` times) so that the machine's load hits both alike; ``backend_speedup``
  the median ratio of the pairs with its spread (``--batches`` adds other batch
  sizes), ``backend_build_seconds`` and ``backend_reload_seconds`` what the backend
  costs when an actor starts and per weights load;
* ``selfplay_simulations_per_s``: a self-play worker with G games, same network and backend;
* ``efficiency`` = the ratio of the two (target >= 0.8: everything outside the
  network is overhead; it can pass 1 since terminal leaves and reused subtrees
  need no network call), and ``evaluate_fraction``, the share of self-play wall
  time spent inside the network;
* ``batching_speedup``: simulations/s with G games at once over G = 1, same code.
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from typing import Any

import numpy as np

GAMES = {"connect4": {"name": "connect4"}, "go9": {"name": "go", "size": 9}, "tictactoe": {"name": "tictactoe"},
         "chess": {"name": "chess"}}


def selfplay_rate(
    game: Any, net: Any, num_games: int, sims: int, seconds: float, algorithm: str, backend: str = "eager"
) -> dict[str, float]:
    """Simulations/s of a self-play worker over about ``seconds`` (after one warm-up step)."""
    from learner import TorchEvaluator
    from selfplay import SearchConfig, Worker, WorkerConfig

    evaluator = TorchEvaluator(copy.deepcopy(net), num_threads=1, backend=backend)
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


def _rate(runner: Any, obs: np.ndarray, masks: np.ndarray, seconds: float) -> float:
    runner(obs, masks)
    n, start = 0, time.perf_counter()
    while True:
        runner(obs, masks)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n * len(obs) / elapsed


def compare_backends(
    net: Any, backend: str, batch_sizes: tuple[int, ...], *, reps: int, seconds: float, seed: int = 0
) -> dict[str, Any]:
    """Positions/s of ``net`` in eager mode and through ``backend``, interleaved, per batch size.

    Each repetition times eager mode then the backend for ``seconds`` each (through
    ``TorchEvaluator.evaluate``, as self-play calls it) on the same random 0/1
    observations (about half the moves legal); ratios are taken pair by pair.
    Also measures what the backend costs to build and per weights load.
    """
    from learner import TorchEvaluator

    eager = TorchEvaluator(copy.deepcopy(net), num_threads=1)
    start = time.perf_counter()
    evaluator = TorchEvaluator(copy.deepcopy(net), num_threads=1, backend=backend)
    build_seconds = time.perf_counter() - start
    reloads = []
    state = {k: v.clone() for k, v in net.state_dict().items()}
    for version in range(1, 4):
        evaluator.load_weights(state, version)
        reloads.append(evaluator.reload_seconds)
    rng = np.random.default_rng(seed)
    points: dict[str, Any] = {}
    for batch in batch_sizes:
        obs = (rng.random((batch, *net.observation_shape)) < 0.4).astype(np.float32)
        masks = rng.random((batch, net.num_actions)) < 0.5
        masks[:, 0] = True
        pairs = [(_rate(eager, obs, masks, seconds), _rate(evaluator, obs, masks, seconds)) for _ in range(reps)]
        ratios = [b / a for a, b in pairs]
        points[str(batch)] = {
            "eager_positions_per_s": round(statistics.median(a for a, _ in pairs), 1),
            "backend_positions_per_s": round(statistics.median(b for _, b in pairs), 1),
            "speedup": round(statistics.median(ratios), 3),
            "speedup_min": round(min(ratios), 3),
            "speedup_max": round(max(ratios), 3),
        }
    return {
        "requested": backend,
        "backend": evaluator.backend,
        "build_seconds": round(build_seconds, 3),
        "reload_seconds": round(statistics.median(reloads), 4),
        "reps": reps,
        "batches": points,
    }


def bench_game(
    key: str,
    num_games: int,
    sims: int,
    seconds: float,
    algorithm: str,
    *,
    backend: str = "auto",
    reps: int = 5,
    batch_sizes: tuple[int, ...] = (),
) -> dict[str, Any]:
    import torch

    import games
    from cluster.config.presets import network_config
    from learner import PolicyValueNet, set_torch_threads

    set_torch_threads(1)
    game = games.from_spec(GAMES[key])
    torch.manual_seed(0)
    config = network_config(game)
    net = PolicyValueNet(game, config).eval()
    load_start = os.getloadavg()[0]
    batches = tuple(dict.fromkeys((num_games, *batch_sizes)))
    compared = compare_backends(net, backend, batches, reps=reps, seconds=max(seconds / (4 * reps), 0.05))
    at_g = compared["batches"][str(num_games)]
    chosen = compared["backend"]
    batched = selfplay_rate(game, net, num_games, sims, seconds, algorithm, chosen)
    single = selfplay_rate(game, net, 1, sims, seconds / 2, algorithm, chosen)
    raw = at_g["backend_positions_per_s"]
    return {
        "game": game.spec(),
        "network": config.to_dict(),
        "num_games": num_games,
        "simulations": sims,
        "algorithm": algorithm,
        "backend": chosen,
        "requested_backend": backend,
        "network_positions_per_s": raw,
        "eager_network_positions_per_s": at_g["eager_positions_per_s"],
        "backend_speedup": at_g["speedup"],
        "backend_speedup_range": [at_g["speedup_min"], at_g["speedup_max"]],
        "backend_build_seconds": compared["build_seconds"],
        "backend_reload_seconds": compared["reload_seconds"],
        "backend_reps": reps,
        "backend_batches": compared["batches"],
        "selfplay_simulations_per_s": round(batched["simulations_per_s"], 1),
        "selfplay_positions_evaluated_per_s": round(batched["positions_evaluated_per_s"], 1),
        "efficiency": round(batched["simulations_per_s"] / raw, 3),
        "evaluate_fraction": round(batched["evaluate_fraction"], 3),
        "single_game_simulations_per_s": round(single["simulations_per_s"], 1),
        "batching_speedup": round(batched["simulations_per_s"] / single["simulations_per_s"], 2),
        "load_average_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
    }
