"""A checkpoint-backed searcher: what analysis, terminal play, GTP, UCI and matches share.

An :class:`Engine` holds one game, one network (from a checkpoint or freshly
initialised) wrapped as an evaluator, and a deterministic search: no Dirichlet
noise, greedy move choice, a seeded generator. A search is limited by simulations,
by seconds, or both, and can be stopped from another thread between chunks.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from typing import Any

import numpy as np

import games
from games import Game, State
from games.errors import ZeroplayError
from selfplay import SearchConfig, SearchOutput, Tree, search

# Simulations per chunk when a search is limited by time or can be stopped.
_CHUNK = 32


class EngineError(ZeroplayError, ValueError):
    """An engine that cannot be built (bad checkpoint path, unknown game, bad limits)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """How an engine searches.

    Attributes:
        sims: simulations per move (None: limited by ``seconds`` only).
        seconds: wall-clock limit per move (None: limited by ``sims`` only).
        algorithm: "gumbel" (default) or "puct". Gumbel root search considers every move up to
            ``gumbel_num_considered`` and halves them by their searched values, so a move the
            network's prior underrates is still examined; at the small budgets engines run
            with it makes fewer mistakes (tic-tac-toe, 64 simulations: 0 mistakes against
            PUCT's 3 on all 4520 positions, see BENCHMARKS.md).
        device: torch device for the network ("cpu", "cuda", "auto").
        threads: torch threads for inference (None: torch's default).
        seed: seed of the search's generator (ties, Gumbel noise).
    """

    sims: int | None = 200
    seconds: float | None = None
    algorithm: str = "gumbel"
    device: str = "cpu"
    threads: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sims is None and self.seconds is None:
            raise EngineError("an engine needs a simulation limit, a time limit, or both")
        if self.sims is not None and (not isinstance(self.sims, int) or self.sims < 1):
            raise EngineError(f"sims must be a positive integer, got {self.sims!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise EngineError(f"seconds must be positive, got {self.seconds!r}")
        if self.algorithm not in ("puct", "gumbel"):
            raise EngineError(f"algorithm must be 'puct' or 'gumbel', got {self.algorithm!r}")


@dataclasses.dataclass(frozen=True)
class Analysis:
    """One searched position. Arrays are over the game's action space ``[A]``.

    Attributes:
        action: the move the engine plays (most visits).
        value: the searched value of the position for the player to move, in [-1, 1].
        network_value: the raw network value, mover's view.
        prior: float32 [A], the raw network policy over legal moves.
        visit_counts: int64 [A].
        q_values: float32 [A], mover's view, NaN where unvisited.
        simulations: simulations run for this answer.
        seconds: wall time spent.
    """

    action: int
    value: float
    network_value: float
    prior: np.ndarray
    visit_counts: np.ndarray
    q_values: np.ndarray
    simulations: int
    seconds: float

    def top_moves(self, k: int = 5) -> list[tuple[int, int, float, float]]:
        """Up to ``k`` moves by visits then prior: (action, visits, q, prior); q is NaN if unvisited."""
        legal = np.flatnonzero((self.visit_counts > 0) | (self.prior > 0))
        order = sorted(legal.tolist(), key=lambda a: (-int(self.visit_counts[a]), -float(self.prior[a])))
        return [(a, int(self.visit_counts[a]), float(self.q_values[a]), float(self.prior[a])) for a in order[:k]]


def win_probability(value: float) -> float:
    """A value in [-1, 1] as a probability of winning (draws count half)."""
    return (float(value) + 1.0) / 2.0


class Engine:
    """A deterministic searcher over one network.

    Args:
        game: the game played.
        evaluate: the evaluator (see ``selfplay.search``).
        config: search limits.
        weights_version: the network's version (0 for a fresh network).
        source: where the network came from, for ``name``/logs.
        metadata: the checkpoint's metadata, if any.
    """

    def __init__(
        self,
        game: Game,
        evaluate: Any,
        config: EngineConfig,
        *,
        weights_version: int = 0,
        source: str = "fresh network",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.game = game
        self.evaluate = evaluate
        self.config = config
        self.weights_version = weights_version
        self.source = source
        self.metadata = metadata or {}
        self._rng = np.random.default_rng(config.seed)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None,
        config: EngineConfig,
        *,
        game_spec: dict[str, Any] | None = None,
    ) -> Engine:
        """From a checkpoint (file, checkpoints dir or run dir), or a fresh network for ``game_spec``.

        Raises:
            EngineError: neither given, or the checkpoint is unusable (the message names it).
        """
        from cluster.config.presets import network_config
        from learner import CheckpointError, TorchEvaluator, load_network
        from learner.network import PolicyValueNet

        if path is not None:
            try:
                game, net, metadata = load_network(path, device=config.device)
            except CheckpointError as err:
                raise EngineError(str(err)) from None
            if game_spec is not None and games.from_spec(game_spec) != game:
                raise EngineError(f"checkpoint {path} is for {game!r}, not {games.from_spec(game_spec)!r}")
            version = int(metadata.get("weights_version", 0))
            evaluator = TorchEvaluator(net, device=config.device, num_threads=config.threads, weights_version=version)
            return cls(game, evaluator, config, weights_version=version, source=str(path), metadata=metadata)
        if game_spec is None:
            raise EngineError("give a checkpoint or run directory, or --game for a fresh network")
        try:
            game = games.from_spec(game_spec)
        except games.GameError as err:
            raise EngineError(str(err)) from None
        import torch

        torch.manual_seed(config.seed)
        net = PolicyValueNet(game, network_config(game))
        evaluator = TorchEvaluator(net, device=config.device, num_threads=config.threads)
        return cls(game, evaluator, config)

    @property
    def name(self) -> str:
        return f"zeroplay ({self.game.name}, weights v{self.weights_version})"

    def with_limits(self, *, sims: int | None = None, seconds: float | None = None) -> Engine:
        """The same network with other search limits (shares the evaluator)."""
        config = dataclasses.replace(self.config, sims=sims, seconds=seconds)
        engine = Engine(
            self.game, self.evaluate, config, weights_version=self.weights_version, source=self.source,
            metadata=self.metadata,
        )
        engine._rng = self._rng
        return engine

    def analyse(
        self,
        state: State,
        *,
        sims: int | None = None,
        seconds: float | None = None,
        stop: threading.Event | None = None,
    ) -> Analysis:
        """Search ``state`` (not terminal) within the given limits (default: the engine's).

        With neither a simulation nor a time limit given, the engine's own limits apply
        (so a search "until stopped" passes a huge ``sims`` and a ``stop`` event, as
        ``cluster.engines.uci`` does). ``stop`` ends the search between chunks of simulations.
        Never adds noise; the chosen move is the most visited.
        """
        if state.is_terminal():
            raise games.GameError("cannot analyse a finished game")
        if sims is None and seconds is None:
            sims, seconds = self.config.sims, self.config.seconds
        if sims is None and seconds is None and stop is None:
            raise EngineError("an unlimited search needs a stop event")
        start = time.perf_counter()
        deadline = start + seconds if seconds is not None else None
        chunked = deadline is not None or stop is not None
        root: State | Tree = state
        done = 0
        output: SearchOutput | None = None
        while True:
            step = sims - done if sims is not None else _CHUNK
            if chunked:
                step = min(step, _CHUNK)
            config = SearchConfig(num_simulations=max(step, 1), algorithm=self.config.algorithm)
            result = search([root], self.evaluate, config, self._rng, add_noise=False)
            output = result.outputs[0]
            done += step
            if sims is not None and done >= sims:
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
            if stop is not None and stop.is_set():
                break
            root = result.root_tree(0)
        return Analysis(
            action=int(output.action),
            value=float(output.root_value),
            network_value=float(output.network_value),
            prior=output.prior,
            visit_counts=output.visit_counts,
            q_values=output.q_values,
            simulations=int(output.visit_counts.sum()),
            seconds=time.perf_counter() - start,
        )

    def raw_policy(self, state: State) -> tuple[np.ndarray, float]:
        """The network alone: (policy [A] over legal moves, value for the mover)."""
        logits, values = self.evaluate(state.observation()[None], state.legal_mask()[None])
        mask = state.legal_mask()
        logits = np.where(mask, logits[0].astype(np.float64), -np.inf)
        policy = np.exp(logits - logits.max())
        policy /= policy.sum()
        return policy.astype(np.float32), float(values[0])

    def choose(self, state: State, **limits: Any) -> int:
        """The engine's move in ``state``."""
        return self.analyse(state, **limits).action
