"""The self-play worker: G games at once, one batched search per move, one shared evaluator.

Each :meth:`Worker.step` searches every game in progress with a single
:func:`selfplay.search.search` call (so every simulation step is one evaluator
call over up to G leaves), plays the chosen moves, keeps the chosen child's
subtree for the next search (tree reuse), and replaces every finished game
with a fresh one. Finished games come back as :class:`Trajectory` records.

The evaluator (and its weights version) can be swapped with
:meth:`Worker.set_evaluator` between steps; a step always runs to the end with
the evaluator it started with, so a search never mixes two networks. Trees
built by the old network are dropped on a swap.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from games.base import Game, State
from selfplay.evaluators import Evaluator, PositionEvaluator
from selfplay.search import SearchConfig, Tree, search
from selfplay.trajectory import Trajectory


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """Self-play settings.

    Attributes:
        num_games: G, games played at once (the evaluator batch size).
        search: the search settings; its ``temperature``/``temperature_moves`` give the
            opening exploration (moves ``0 .. temperature_moves - 1`` sampled from the
            visit counts, then the most visited move), ``algorithm="gumbel"`` switches
            to Gumbel search (moves sampled through the root Gumbel noise).
        add_noise: root noise in self-play (on; Dirichlet for PUCT, Gumbel for Gumbel).
        tree_reuse: keep the chosen child's subtree between moves.

    Resignation is not implemented (games are played to the end; the rules of
    every game end it). The move limit, if any, is the game's own.
    """

    num_games: int = 64
    search: SearchConfig = SearchConfig(num_simulations=64, temperature_moves=8)
    add_noise: bool = True
    tree_reuse: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.num_games, int) or isinstance(self.num_games, bool) or self.num_games < 1:
            raise ValueError(f"WorkerConfig.num_games must be an integer >= 1 (got {self.num_games!r})")
        if not isinstance(self.search, SearchConfig):
            raise ValueError(f"WorkerConfig.search must be a SearchConfig (got {type(self.search).__name__})")
        if not isinstance(self.add_noise, bool):
            raise ValueError(f"WorkerConfig.add_noise must be a bool (got {self.add_noise!r})")
        if not isinstance(self.tree_reuse, bool):
            raise ValueError(f"WorkerConfig.tree_reuse must be a bool (got {self.tree_reuse!r})")


@dataclasses.dataclass(frozen=True)
class WorkerStats:
    """Counters since the worker was made (a snapshot).

    Attributes:
        simulations: search simulations, summed over games.
        positions_evaluated: positions sent to the evaluator.
        evaluate_calls: evaluator calls (batches).
        moves: moves played, summed over games.
        games_finished: trajectories produced.
        evaluate_seconds: wall time inside the evaluator.
        total_seconds: wall time inside :meth:`Worker.step`.
    """

    simulations: int
    positions_evaluated: int
    evaluate_calls: int
    moves: int
    games_finished: int
    evaluate_seconds: float
    total_seconds: float

    @property
    def overhead_seconds(self) -> float:
        """Time spent outside the evaluator: the search/self-play overhead."""
        return self.total_seconds - self.evaluate_seconds

    @property
    def simulations_per_second(self) -> float:
        return self.simulations / self.total_seconds if self.total_seconds > 0 else 0.0


class _TimedEvaluator:
    """Wraps a network-style evaluator to count positions and time spent inside it."""

    def __init__(self, evaluate: Evaluator | PositionEvaluator) -> None:
        self.evaluate: Any = evaluate
        self.seconds = 0.0
        self.positions = 0
        self.calls = 0

    def _run(self, run: Callable[[], tuple[np.ndarray, np.ndarray]], batch: int) -> tuple[np.ndarray, np.ndarray]:
        start = time.perf_counter()
        try:
            return run()
        finally:
            self.seconds += time.perf_counter() - start
            self.positions += batch
            self.calls += 1

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._run(lambda: self.evaluate(observations, legal_masks), len(legal_masks))


class _TimedPositionEvaluator(_TimedEvaluator, PositionEvaluator):
    """The same for an evaluator of positions (the search then hands it the states)."""

    def evaluate_states(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]:
        inner = self.evaluate
        assert isinstance(inner, PositionEvaluator)
        return self._run(lambda: inner.evaluate_states(states), len(states))


def _timing(evaluate: Evaluator | PositionEvaluator) -> _TimedEvaluator:
    return _TimedPositionEvaluator(evaluate) if isinstance(evaluate, PositionEvaluator) else _TimedEvaluator(evaluate)


@dataclasses.dataclass
class _Game:
    """A game in progress in one slot."""

    state: State
    root: State | Tree
    actions: list = dataclasses.field(default_factory=list)
    policies: list = dataclasses.field(default_factory=list)
    root_values: list = dataclasses.field(default_factory=list)
    weights_version: int | None = None


class Worker:
    """Plays ``config.num_games`` games of ``game`` at once with a shared evaluator.

    Args:
        game: the game to play.
        evaluate: the evaluator, of either kind (see :mod:`selfplay.evaluators`).
        config: the self-play settings.
        rng: the only source of randomness.
        weights_version: the version of the evaluator's weights, recorded in trajectories.
    """

    def __init__(
        self,
        game: Game,
        evaluate: Evaluator,
        config: WorkerConfig = WorkerConfig(),
        *,
        rng: np.random.Generator,
        weights_version: int = 0,
    ) -> None:
        self.game = game
        self.config = config
        self.rng = rng
        self._timed = _timing(evaluate)
        self._weights_version = int(weights_version)
        self._games = [self._new_game() for _ in range(config.num_games)]
        self._simulations = 0
        self._moves = 0
        self._finished = 0
        self._total_seconds = 0.0

    # ---- evaluator
    @property
    def weights_version(self) -> int:
        return self._weights_version

    def set_evaluator(self, evaluate: Evaluator, weights_version: int) -> None:
        """Use ``evaluate`` (weights ``weights_version``) from the next move on; old trees are dropped."""
        old = self._timed
        self._timed = _timing(evaluate)
        self._timed.seconds, self._timed.positions, self._timed.calls = old.seconds, old.positions, old.calls
        self._weights_version = int(weights_version)
        for g in self._games:
            g.root = g.state

    # ---- playing
    def _new_game(self) -> _Game:
        state = self.game.initial_state()
        return _Game(state=state, root=state)

    def step(self) -> list[Trajectory]:
        """Play one move in every game; returns the games that finished (already replaced)."""
        start = time.perf_counter()
        cfg = self.config
        result = search(
            [g.root for g in self._games],
            self._timed,
            cfg.search,
            self.rng,
            add_noise=cfg.add_noise,
            move_numbers=[len(g.actions) for g in self._games],
        )
        finished = []
        continuing = []
        for i, (g, out) in enumerate(zip(self._games, result.outputs, strict=True)):
            action = out.action
            g.actions.append(action)
            g.policies.append(out.legal_policy.astype(np.float32))
            g.root_values.append(np.clip(out.root_value, -1.0, 1.0))
            if g.weights_version is None:
                g.weights_version = self._weights_version
            g.state = g.state.apply(action)
            if g.state.is_terminal():
                finished.append(self._trajectory(g))
                self._games[i] = self._new_game()
            else:
                g.root = g.state
                continuing.append(i)
        if cfg.tree_reuse and continuing:
            actions = [self._games[i].actions[-1] for i in continuing]
            for i, tree in zip(continuing, result.subtrees(continuing, actions), strict=True):
                if tree is not None:
                    self._games[i].root = tree
        self._simulations += result.num_simulations
        self._moves += len(result.outputs)
        self._finished += len(finished)
        self._total_seconds += time.perf_counter() - start
        return finished

    def _trajectory(self, g: _Game) -> Trajectory:
        return Trajectory(
            game_spec=self.game.spec(),
            weights_version=int(g.weights_version if g.weights_version is not None else self._weights_version),
            actions=np.array(g.actions, dtype=np.int64),
            policies=tuple(g.policies),
            root_values=np.array(g.root_values, dtype=np.float32),
            returns=tuple(float(r) for r in g.state.returns()),
        )

    def trajectories(self) -> Iterator[Trajectory]:
        """Play forever, yielding each finished game (swap evaluators between items freely)."""
        while True:
            yield from self.step()

    def play(self, num_trajectories: int) -> list[Trajectory]:
        """Step until at least ``num_trajectories`` games have finished; returns them all."""
        out: list[Trajectory] = []
        while len(out) < num_trajectories:
            out.extend(self.step())
        return out

    @property
    def stats(self) -> WorkerStats:
        return WorkerStats(
            simulations=self._simulations,
            positions_evaluated=self._timed.positions,
            evaluate_calls=self._timed.calls,
            moves=self._moves,
            games_finished=self._finished,
            evaluate_seconds=self._timed.seconds,
            total_seconds=self._total_seconds,
        )


__all__ = ["Worker", "WorkerConfig", "WorkerStats"]
