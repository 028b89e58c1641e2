"""The per-game presets: every default that depends on the game, in one table.

Each entry gives, for one game, the settings of a run that shows learning on a 2-core
CPU within minutes (network size, search, self-play, replay window, training), the
anchors of its Elo ladder and the random opening plies of rating games. Everything
else in the run configuration has the same default for every game.

``preset(game)`` reads the table; :func:`cluster.config.run.defaults` builds a
:class:`~cluster.config.run.RunConfig` from it. Keys are the section fields of the run
configuration (see ``cluster.config.run``), so a preset overrides exactly what a TOML
file could.

Network sizes (raw inference on one CPU thread at batch 64, float32, machine A):
tic-tac-toe 2x32 (~56k positions/s), Connect Four 4x64 (~4.6k/s; 5x64 ~3.8k/s),
Go 9x9 4x48 (~3.5k/s; 6x64 ~1.4k/s), chess 6x64 with 8 policy channels (~1.8k/s).
Connect Four and Go were trimmed from 5x64 / 6x64 so that a 2-core machine keeps
self-play and the learner both busy; raise them on a GPU.

Weight decay: every preset trains with AdamW, whose ``weight_decay`` is decoupled decay
(weights shrink by ``learning_rate * weight_decay`` per step, see ``learner.train``).
The presets set it to ``1e-4 / learning_rate``, a shrink of 1e-4 per step as in common
ResNet recipes (SGD at lr 0.1 with L2 1e-4 and momentum 0.9): over a tic-tac-toe run of
10k steps or a Connect Four run of 20k steps a weight with no gradient keeps e^-1 and
e^-2 of itself. A candidate value, to be confirmed by A/B runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

from games import Game
from learner.config import NetworkConfig

#: GNU Go as a 9x9 anchor (installed in CI): area rules, dead stones captured before passing.
GNUGO = "/usr/games/gnugo"
GNUGO_ANCHOR = f"gtp:{GNUGO} --mode gtp --level 1 --chinese-rules --capture-all-dead"


@dataclasses.dataclass(frozen=True)
class Preset:
    """The game-dependent defaults of one game.

    Attributes:
        sections: ``{section: {field: value}}`` over the run configuration's sections
            (``network``, ``search``, ``selfplay``, ``replay``, ``train``).
        anchors: the ladder's fixed opponents (player specs).
        opening_plies: random opening moves per pair of rating games.
    """

    sections: Mapping[str, Mapping[str, Any]]
    anchors: tuple[str, ...]
    opening_plies: int


def _gnugo_installed() -> bool:
    return os.path.exists(GNUGO) and os.access(GNUGO, os.X_OK)


def _tictactoe(game: Game) -> Preset:
    # Moves sampled from the visit counts all game long reach the odd positions a
    # perfect player must also know; averaging the outcome with the root value keeps
    # the value targets of such noisy games close to the minimax values.
    return Preset(
        sections={
            "network": {"blocks": 2, "channels": 32, "value_hidden": 32},
            # Forced playouts with policy-target pruning (KataGo, k = 2): 9 and 7 raw-policy
            # mistakes after 3 minutes against 25 and 13 without (BENCHMARKS.md, recipe A/B).
            "search": {"num_simulations": 32, "temperature_moves": 9, "forced_playouts_k": 2.0},
            "selfplay": {"games_per_actor": 128},
            "replay": {"capacity": 50_000, "min_positions": 1_000, "value_q_weight": 0.5},
            "train": {
                "batch_size": 128,
                "optimizer": "adamw",
                "learning_rate": 2e-3,
                "weight_decay": 0.05,
                "publish_every": 40,
                "checkpoint_every": 400,
                "device": "cpu",
            },
        },
        anchors=("random", "mcts-rollouts:64"),
        opening_plies=2,
    )


def _connect4(game: Game) -> Preset:
    return Preset(
        sections={
            "network": {"blocks": 4, "channels": 64, "value_hidden": 64},
            "search": {"num_simulations": 48, "temperature_moves": 10},
            "selfplay": {"games_per_actor": 128},
            "replay": {"capacity": 100_000, "min_positions": 4_000, "value_q_weight": 0.5},
            "train": {
                "batch_size": 256,
                "optimizer": "adamw",
                "learning_rate": 1e-3,
                "weight_decay": 0.1,
                "publish_every": 50,
                "checkpoint_every": 500,
                "device": "cpu",
            },
        },
        anchors=("random", "mcts-rollouts:64"),
        opening_plies=4,
    )


def _go(game: Game) -> Preset:
    size = int(game.observation_shape[-1])
    network = (
        {"blocks": 4, "channels": 48, "value_hidden": 64}
        if size <= 9
        else {"blocks": 8, "channels": 96, "value_hidden": 128}
    )
    # GNU Go level 1 where installed: a real opponent at about 0.02 s a move on 9x9, where a
    # 64-rollout search takes about 0.24 s a move and rates a checkpoint in minutes.
    anchors = ("random", GNUGO_ANCHOR) if _gnugo_installed() else ("random", "mcts-rollouts:64")
    return Preset(
        sections={
            "network": network,
            "search": {"num_simulations": 48, "temperature_moves": 2 * size, "algorithm": "gumbel"},
            # Up to 9x9, 16 games at once and 1,500 positions before the first step: on 2 cores
            # the first step comes at 1.5 min instead of 4.4 with 64 games and 5,000 (BENCHMARKS.md).
            "selfplay": {"games_per_actor": 16 if size <= 9 else 64},
            "replay": {"capacity": 200_000, "min_positions": 1_500 if size <= 9 else 5_000},
            "train": {
                "batch_size": 256,
                "optimizer": "adamw",
                "learning_rate": 1e-3,
                "weight_decay": 0.1,
                "publish_every": 50,
                "checkpoint_every": 500,
            },
        },
        anchors=anchors,
        opening_plies=4,
    )


def _chess(game: Game) -> Preset:
    # No mcts-rollouts anchor: a random playout is hundreds of plies, so it takes seconds
    # per move (about 2 s on one core) and a pairing would take most of an hour; add
    # uci:... anchors explicitly instead.
    return Preset(
        sections={
            "network": {"blocks": 6, "channels": 64, "policy_channels": 8, "value_hidden": 64},
            "search": {"num_simulations": 48, "temperature_moves": 20, "algorithm": "gumbel"},
            "selfplay": {"games_per_actor": 32},
            "replay": {"capacity": 200_000, "min_positions": 5_000},
            "train": {
                "batch_size": 256,
                "optimizer": "adamw",
                "learning_rate": 1e-3,
                "weight_decay": 0.1,
                "publish_every": 50,
                "checkpoint_every": 500,
            },
        },
        anchors=("random",),
        opening_plies=4,
    )


#: Game name -> its preset.
PRESETS: dict[str, Callable[[Game], Preset]] = {
    "tictactoe": _tictactoe,
    "connect4": _connect4,
    "go": _go,
    "chess": _chess,
}


def preset(game: Game) -> Preset:
    """The preset of ``game`` (a game without an entry gets chess's, the most general)."""
    return PRESETS.get(game.name, _chess)(game)


def network_config(game: Game, **overrides: Any) -> NetworkConfig:
    """The preset network size of ``game``; ``overrides`` replace single fields."""
    return NetworkConfig(**{**preset(game).sections.get("network", {}), **overrides})


__all__ = ["GNUGO", "GNUGO_ANCHOR", "PRESETS", "Preset", "network_config", "preset"]
