"""Speed of the rules layer: random play and the per-position cost of the search's calls.

Used by ``zeroplay games bench``. Everything runs in the calling process on one core.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from games.base import Game, State

# Per-core targets (moves/s) from the foundation issue; informational only.
TARGETS: dict[str, float] = {"connect4": 150_000.0, "go9": 25_000.0, "chess": 10_000.0}

DEFAULT_CONFIGS: dict[str, dict[str, Any]] = {
    "tictactoe": {"name": "tictactoe"},
    "connect4": {"name": "connect4"},
    "go9": {"name": "go", "size": 9},
    "go19": {"name": "go", "size": 19},
    "chess": {"name": "chess"},
}


@dataclass(frozen=True)
class GameBench:
    """One game's figures. Rates are per second of one core; costs in microseconds per position."""

    game: dict[str, Any]
    games_played: int
    moves: int
    seconds: float
    moves_per_s: float
    mean_game_length: float
    apply_us: float
    legal_mask_us: float
    observation_us: float
    position_us: float
    target_moves_per_s: float | None


def random_play(game: Game, seconds: float, seed: int = 0) -> tuple[int, int, float]:
    """Play uniformly random games for about ``seconds``.

    Every move asks for the legal mask, as search does. Returns (games, moves, elapsed seconds).
    """
    rng = random.Random(seed)
    games_played = moves = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        state = game.initial_state()
        while not state.is_terminal():
            legal = np.flatnonzero(state.legal_mask())
            state = state.apply_unchecked(int(legal[rng.randrange(len(legal))]))
            moves += 1
        games_played += 1
    return games_played, moves, time.perf_counter() - start


def _sample_positions(game: Game, count: int, seed: int) -> list[tuple[State, int]]:
    rng = random.Random(seed)
    pairs: list[tuple[State, int]] = []
    while len(pairs) < count:
        state = game.initial_state()
        while not state.is_terminal() and len(pairs) < count:
            action = rng.choice(state.legal_actions())
            pairs.append((state, action))
            state = state.apply_unchecked(action)
    return pairs


def position_costs(game: Game, positions: int = 2000, seed: int = 1) -> tuple[float, float, float]:
    """Mean microseconds of ``apply_unchecked``, ``legal_mask`` and ``observation`` on fresh states."""
    pairs = _sample_positions(game, positions, seed)
    start = time.perf_counter()
    children = [state.apply_unchecked(action) for state, action in pairs]
    apply_s = time.perf_counter() - start
    start = time.perf_counter()
    for child in children:
        child.legal_mask()
    mask_s = time.perf_counter() - start
    start = time.perf_counter()
    for child in children:
        child.observation()
    obs_s = time.perf_counter() - start
    scale = 1e6 / len(pairs)
    return apply_s * scale, mask_s * scale, obs_s * scale


def bench_game(key: str, spec: dict[str, Any], seconds: float = 3.0, seed: int = 0) -> GameBench:
    """Benchmark one game configuration."""
    from games import from_spec

    game = from_spec(spec)
    games_played, moves, elapsed = random_play(game, seconds, seed)
    apply_us, mask_us, obs_us = position_costs(game)
    return GameBench(
        game=game.spec(),
        games_played=games_played,
        moves=moves,
        seconds=round(elapsed, 3),
        moves_per_s=round(moves / elapsed, 1),
        mean_game_length=round(moves / max(games_played, 1), 1),
        apply_us=round(apply_us, 2),
        legal_mask_us=round(mask_us, 2),
        observation_us=round(obs_us, 2),
        position_us=round(apply_us + mask_us + obs_us, 2),
        target_moves_per_s=TARGETS.get(key),
    )


def bench_all(keys: list[str] | None = None, seconds: float = 3.0, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Benchmark the named configurations (default: all of ``DEFAULT_CONFIGS``)."""
    keys = keys or list(DEFAULT_CONFIGS)
    unknown = [k for k in keys if k not in DEFAULT_CONFIGS]
    if unknown:
        raise ValueError(f"unknown benchmark game(s) {unknown}; choose from {list(DEFAULT_CONFIGS)}")
    return {key: asdict(bench_game(key, DEFAULT_CONFIGS[key], seconds, seed)) for key in keys}
