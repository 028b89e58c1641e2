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
from selfplay.resignation import ResignationSettings
from selfplay.search import SearchConfig, SearchOutput, Tree, search
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
        add_noise: root noise in self-play's full searches (on; Dirichlet for PUCT,
            Gumbel for Gumbel). Cheap searches get none.
        tree_reuse: keep the chosen child's subtree between moves.
        full_search_share: playout cap randomization (KataGo): the share of moves that
            get a full search of ``search.num_simulations`` and record a policy target;
            the others get a cheap search of ``cheap_simulations`` without noise, are
            played, and train only the value. 1.0 (the default): every search is full.
        cheap_simulations: the cheap searches' budget (default: a quarter of the full one).
        resignation: how games are resigned (:mod:`selfplay.resignation`); the threshold
            itself comes from outside (:meth:`Worker.set_resign_threshold`), chosen from
            the false resignations of the playthrough games.
        opponent_share: with an opponent set (:meth:`Worker.set_opponent`: a league
            snapshot, an exploited target), the share of new games played against it.
        opponent_config: how the opponent searches (its own settings; no noise is added).

    The move limit, if any, is the game's own.
    """

    num_games: int = 64
    search: SearchConfig = SearchConfig(num_simulations=64, temperature_moves=8)
    add_noise: bool = True
    tree_reuse: bool = True
    full_search_share: float = 1.0
    cheap_simulations: int | None = None
    resignation: ResignationSettings = ResignationSettings()
    opponent_share: float = 1.0
    opponent_config: SearchConfig = SearchConfig(num_simulations=64)

    def __post_init__(self) -> None:
        if not isinstance(self.num_games, int) or isinstance(self.num_games, bool) or self.num_games < 1:
            raise ValueError(f"WorkerConfig.num_games must be an integer >= 1 (got {self.num_games!r})")
        if not isinstance(self.search, SearchConfig):
            raise ValueError(f"WorkerConfig.search must be a SearchConfig (got {type(self.search).__name__})")
        if not isinstance(self.add_noise, bool):
            raise ValueError(f"WorkerConfig.add_noise must be a bool (got {self.add_noise!r})")
        if not isinstance(self.tree_reuse, bool):
            raise ValueError(f"WorkerConfig.tree_reuse must be a bool (got {self.tree_reuse!r})")
        share = self.full_search_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 < share <= 1.0:
            raise ValueError(f"WorkerConfig.full_search_share must be in (0, 1] (got {share!r})")
        cheap = self.cheap_simulations
        if cheap is not None and (isinstance(cheap, bool) or not isinstance(cheap, int)
                                  or not 1 <= cheap <= self.search.num_simulations):
            raise ValueError(f"WorkerConfig.cheap_simulations must be None or 1..{self.search.num_simulations} "
                             f"(the full budget), got {cheap!r}")
        share = self.opponent_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
            raise ValueError(f"WorkerConfig.opponent_share must be in [0, 1] (got {share!r})")
        if not isinstance(self.opponent_config, SearchConfig):
            raise ValueError(f"WorkerConfig.opponent_config must be a SearchConfig (got {self.opponent_config!r})")
        if not isinstance(self.resignation, ResignationSettings):
            raise ValueError(f"WorkerConfig.resignation must be ResignationSettings (got {self.resignation!r})")

    @property
    def cheap_budget(self) -> int:
        """The simulations of a cheap search."""
        if self.cheap_simulations is not None:
            return self.cheap_simulations
        return max(1, self.search.num_simulations // 4)


@dataclasses.dataclass(frozen=True)
class WorkerStats:
    """Counters since the worker was made (a snapshot).

    Attributes:
        simulations: search simulations, summed over games.
        positions_evaluated: positions sent to the evaluator.
        evaluate_calls: evaluator calls (batches).
        moves: moves played, summed over games.
        full_searches: moves whose search was full (and recorded a policy target).
        games_finished: trajectories produced.
        games_resigned: of those, games that ended by a resignation.
        evaluate_seconds: wall time inside the evaluator.
        total_seconds: wall time inside :meth:`Worker.step`.
    """

    simulations: int
    positions_evaluated: int
    evaluate_calls: int
    moves: int
    full_searches: int
    games_finished: int
    games_resigned: int
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


#: The stored policy of a ply whose cheap search records no policy target.
_NO_POLICY = np.zeros(0, dtype=np.float32)


@dataclasses.dataclass
class _Game:
    """A game in progress in one slot."""

    state: State
    root: State | Tree
    actions: list = dataclasses.field(default_factory=list)
    policies: list = dataclasses.field(default_factory=list)
    root_values: list = dataclasses.field(default_factory=list)
    weights_version: int | None = None
    playthrough: bool = False
    learner_side: int | None = None  # against the opponent: the player the learner is; None: self-play
    opponent: str | None = None


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
        self._opponent: _TimedEvaluator | None = None  # the opponent of new games
        self._opponent_name: str | None = None
        self._opponents: dict[str, _TimedEvaluator] = {}  # name -> evaluator, for every game in progress
        self._games = [self._new_game() for _ in range(config.num_games)]
        self._simulations = 0
        self._moves = 0
        self._full = 0
        self._finished = 0
        self._resigned = 0
        self._total_seconds = 0.0
        self._resign_threshold: float | None = None


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

    # ---- resignation
    @property
    def resign_threshold(self) -> float | None:
        return self._resign_threshold

    def set_resign_threshold(self, threshold: float | None) -> None:
        """Resign from the next move on when the mover's searched value is below ``threshold`` (None: never).

        Only when ``config.resignation.enabled``; playthrough games never resign.
        """
        if threshold is not None and not -1.0 <= float(threshold) <= 1.0:
            raise ValueError(f"resign threshold must be None or in [-1, 1], got {threshold!r}")
        self._resign_threshold = None if threshold is None else float(threshold)

    # ---- playing
    def _new_game(self) -> _Game:
        state = self.game.initial_state()
        if self._opponent is not None and self.rng.random() < self.config.opponent_share:
            side = int(self.rng.integers(2))
            return _Game(state=state, root=state, learner_side=side, opponent=self._opponent_name)
        settings = self.config.resignation
        playthrough = bool(settings.enabled and self.rng.random() < settings.playthrough_share)
        return _Game(state=state, root=state, playthrough=playthrough)

    # ---- an opponent
    def set_opponent(self, evaluate: Evaluator | None, name: str | None = None) -> None:
        """Play a share (``config.opponent_share``) of the new games against ``evaluate`` (None: none).

        The learner takes a random side; the opponent searches with ``config.opponent_config``
        (no noise); only the learner's moves become training data (``Trajectory.trained_side``).
        ``name`` identifies the opponent in the records (e.g. a league snapshot) and its
        weights: games in progress against another name finish against the opponent they
        began with (a league changes opponents without losing games), and a game against
        ``name`` itself goes on with ``evaluate``; games with no move played yet are drawn
        again. ``None`` ends every game against an opponent: they are replaced by fresh
        self-play games.
        """
        if evaluate is None:
            self._opponent, self._opponent_name = None, None
            self._opponents = {}
            self._games = [g if g.learner_side is None else self._new_game() for g in self._games]
            return
        if not name or len(name) > 64:
            raise ValueError(f"an opponent needs a name of 1..64 characters, got {name!r}")
        self._opponent, self._opponent_name = _timing(evaluate), name
        self._opponents[name] = self._opponent
        # Games not begun yet are drawn again (so the first chunk of an exploit run plays only its target).
        self._games = [g if g.actions else self._new_game() for g in self._games]

    @property
    def opponent_names(self) -> tuple[str, ...]:
        """The opponents of games in progress and of new games (``set_opponent``)."""
        return tuple(self._opponents)

    def _resigns(self, g: _Game, value: float) -> bool:
        settings = self.config.resignation
        threshold = self._resign_threshold
        return (settings.enabled and threshold is not None and not g.playthrough
                and len(g.actions) >= settings.min_moves and value < threshold)

    def step(self) -> list[Trajectory]:
        """Play one move in every game; returns the games that finished (already replaced).

        The games whose player to move is the learning side (every self-play game, and
        the learner's turns of games against the opponent) are searched together with the
        worker's evaluator; the opponent's turns together with the opponent's.
        """
        start = time.perf_counter()
        cfg = self.config
        games_ = self._games
        mine = [i for i, g in enumerate(games_) if g.learner_side is None or g.state.to_play == g.learner_side]
        theirs = [i for i, g in enumerate(games_) if i not in set(mine)] if len(mine) < len(games_) else []
        if cfg.full_search_share < 1.0:  # playout cap randomization: full or cheap, per game and move
            full = [bool(self.rng.random() < cfg.full_search_share) for _ in mine]
            budgets: list[int] | None = [cfg.search.num_simulations if f else cfg.cheap_budget for f in full]
        else:
            full, budgets = [True] * len(mine), None
        outputs: dict[int, SearchOutput] = {}
        simulations = 0
        result = None
        if mine:
            result = search(
                [games_[i].root for i in mine], self._timed, cfg.search, self.rng,
                add_noise=[cfg.add_noise and f for f in full],
                move_numbers=[len(games_[i].actions) for i in mine],
                simulations=budgets,
            )
            outputs.update(zip(mine, result.outputs, strict=True))
            simulations += result.num_simulations
        by_opponent: dict[str, list[int]] = {}
        for i in theirs:  # one batched search per opponent
            by_opponent.setdefault(games_[i].opponent or "", []).append(i)
        for name, group in by_opponent.items():
            against = search([games_[i].state for i in group], self._opponents[name], cfg.opponent_config, self.rng,
                             add_noise=False)
            outputs.update(zip(group, against.outputs, strict=True))
            simulations += against.num_simulations
        full_of = dict(zip(mine, full, strict=True))
        finished = []
        continuing = []
        for i in range(len(games_)):
            g, out = games_[i], outputs[i]
            if g.weights_version is None:
                g.weights_version = self._weights_version
            value = float(np.clip(out.root_value, -1.0, 1.0))
            if g.learner_side is None and self._resigns(g, value):
                finished.append(self._trajectory(g, resigned=True))
                games_[i] = self._new_game()
                continue
            action = out.action
            g.actions.append(action)
            g.policies.append(out.legal_policy.astype(np.float32) if full_of.get(i, False) else _NO_POLICY)
            g.root_values.append(value)
            g.state = g.state.apply(action)
            if g.state.is_terminal():
                finished.append(self._trajectory(g))
                games_[i] = self._new_game()
            else:
                g.root = g.state
                if g.learner_side is None:
                    continuing.append(i)
        if len(self._opponents) > 1:  # forget the opponents no game plays any more
            playing = {g.opponent for g in games_} | {self._opponent_name}
            self._opponents = {k: v for k, v in self._opponents.items() if k in playing}
        if cfg.tree_reuse and continuing and result is not None:
            position = {i: k for k, i in enumerate(mine)}
            kept = [i for i in continuing if i in position]
            actions = [games_[i].actions[-1] for i in kept]
            for i, tree in zip(kept, result.subtrees([position[i] for i in kept], actions), strict=True):
                if tree is not None:
                    games_[i].root = tree
        self._simulations += simulations
        self._moves += len(games_)
        self._full += sum(full)
        self._finished += len(finished)
        self._resigned += sum(t.termination == "resigned" for t in finished)
        self._total_seconds += time.perf_counter() - start
        return finished

    def _trajectory(self, g: _Game, *, resigned: bool = False) -> Trajectory:
        if resigned:
            loser = g.state.to_play
            returns = tuple(-1.0 if p == loser else 1.0 for p in range(2))
        else:
            returns = tuple(float(r) for r in g.state.returns())
        return Trajectory(
            game_spec=self.game.spec(),
            weights_version=int(g.weights_version if g.weights_version is not None else self._weights_version),
            actions=np.array(g.actions, dtype=np.int64),
            policies=tuple(g.policies),
            root_values=np.array(g.root_values, dtype=np.float32),
            returns=returns,
            termination="resigned" if resigned else "terminal",
            resigned_by=g.state.to_play if resigned else None,
            resign_threshold=self._resign_threshold if self.config.resignation.enabled else None,
            playthrough=g.playthrough,
            opponent=g.opponent,
            trained_side=g.learner_side,
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
            full_searches=self._full,
            games_finished=self._finished,
            games_resigned=self._resigned,
            evaluate_seconds=self._timed.seconds,
            total_seconds=self._total_seconds,
        )


__all__ = ["Worker", "WorkerConfig", "WorkerStats"]
