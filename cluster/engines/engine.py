"""A checkpoint-backed searcher: what analysis, terminal play, GTP, UCI and matches share.

An :class:`Engine` holds one game, one network (from a checkpoint or freshly
initialised) wrapped as an evaluator, and a deterministic search: no Dirichlet
noise, greedy move choice, a seeded generator. A search is limited by simulations,
by seconds, or both, and can be stopped from another thread; time limits and stops
are kept within one simulation step (:mod:`cluster.engines.timing`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from typing import Any

import numpy as np

import games
from cluster.engines.timing import MAX_BUDGET, TimeConfig, TimeManager
from games import Game, State
from games.errors import ZeroplayError
from selfplay import SearchConfig, Tree, search
from selfplay.search.config import MAX_SIMULATIONS

#: Torch threads an engine may be given.
MAX_THREADS = 256
# The first chunk of a Gumbel search of unknown length (until stopped, or timed before any
# step time is measured); each further chunk doubles, continuing the same tree.
_FIRST_CHUNK = 16


class EngineError(ZeroplayError, ValueError):
    """An engine that cannot be built (bad checkpoint path, unknown game, bad limits)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """How an engine searches.

    Attributes:
        sims: simulations per move, 1..1,000,000 (None: limited by ``seconds`` only).
        seconds: wall-clock limit per move in seconds, > 0 and at most a week (None: limited by
            ``sims`` only); kept as :mod:`cluster.engines.timing` describes.
        algorithm: "gumbel" (default) or "puct". Gumbel root search considers every move up to
            ``gumbel_num_considered`` and halves them by their searched values, so a move the
            network's prior underrates is still examined; at the small budgets engines run
            with it makes fewer mistakes (tic-tac-toe, 64 simulations: 0 mistakes against
            PUCT's 3 on all 4520 positions, see BENCHMARKS.md).
        device: torch device for the network ("cpu", "cuda", "auto").
        threads: torch intra-op threads for inference, 1..256 (default 1: an engine beside
            other work on a small machine keeps its deadlines; torch's default of one thread
            per core fought a busy 2-core machine and made a 100 ms move take seconds).
            Torch threads are per process. None leaves torch's setting.
        seed: seed of the search's generator (ties, Gumbel noise).
        timing: the move overhead kept back from timed moves.
        solver: keep proven values in the tree (MCTS-solver): a won, drawn or lost position is
            reported exactly (``Analysis.proven``, a UCI mate score), a proven win is played
            by its fastest line, and a search whose root is solved stops early.
    """

    sims: int | None = 200
    seconds: float | None = None
    algorithm: str = "gumbel"
    device: str = "cpu"
    threads: int | None = 1
    seed: int = 0
    timing: TimeConfig = TimeConfig()
    solver: bool = True

    def __post_init__(self) -> None:
        if self.sims is None and self.seconds is None:
            raise EngineError("an engine needs a simulation limit, a time limit, or both")
        check_limits(self.sims, self.seconds)
        if self.algorithm not in ("puct", "gumbel"):
            raise EngineError(f"algorithm must be 'puct' or 'gumbel', got {self.algorithm!r}")
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or not 1 <= self.threads <= MAX_THREADS
        ):
            raise EngineError(f"threads must be an integer 1..{MAX_THREADS}, got {self.threads!r}")


def check_limits(sims: int | None, seconds: float | None, *, zero_seconds: bool = False) -> None:
    """Raise :class:`EngineError` naming a simulation or time limit out of range (None is no limit).

    ``zero_seconds``: a time limit of 0 is allowed (a move to answer at once).
    """
    if sims is not None and (isinstance(sims, bool) or not isinstance(sims, int) or not 1 <= sims <= MAX_SIMULATIONS):
        raise EngineError(f"sims must be an integer 1..{MAX_SIMULATIONS}, got {sims!r}")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds) or not (0 <= seconds if zero_seconds else 0 < seconds) or seconds > MAX_BUDGET
    ):
        least = ">= 0" if zero_seconds else "> 0"
        raise EngineError(f"seconds must be a number {least} and at most {MAX_BUDGET:g}, got {seconds!r}")


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
        simulations: simulations in the searched tree (0: the network alone answered, as
            for a time budget too short for one simulation).
        seconds: wall time spent, from when the request was received.
        proven: the exact value of a solved position for the mover (1 a win, 0 a draw, -1 a
            loss), None when the search did not solve it.
        plies_to_end: for a solved position, moves to the end along the proof (a win in 3
            plies: the mover's move, the reply, the winning move); None otherwise.
    """

    action: int
    value: float
    network_value: float
    prior: np.ndarray
    visit_counts: np.ndarray
    q_values: np.ndarray
    simulations: int
    seconds: float
    proven: float | None = None
    plies_to_end: int | None = None

    def proof_text(self, mover: str = "the player to move") -> str | None:
        """``mover`` wins / draws / loses "in N plies" for a solved position, None otherwise."""
        if self.proven is None:
            return None
        if self.proven == 0:
            return f"a proven draw (game ends in {self.plies_to_end} plies)"
        verb = "wins" if self.proven > 0 else "loses"
        return f"{mover} {verb} by force in {self.plies_to_end} plies"

    def top_moves(self, k: int = 5) -> list[tuple[int, int, float, float]]:
        """Up to ``k`` moves by visits then prior: (action, visits, q, prior); q is NaN if unvisited."""
        legal = np.flatnonzero((self.visit_counts > 0) | (self.prior > 0))
        order = sorted(legal.tolist(), key=lambda a: (-int(self.visit_counts[a]), -float(self.prior[a])))
        return [(a, int(self.visit_counts[a]), float(self.q_values[a]), float(self.prior[a])) for a in order[:k]]


@dataclasses.dataclass(frozen=True)
class AreaEstimate:
    """The network's prediction of a Go position's final area, seen from Black's side.

    Attributes:
        ownership: float32 ``[size * size]`` in action order, in (-1, 1): +1 where Black will
            own the point, -1 White (None without an ownership head).
        score_lead: Black's predicted final lead in points, komi included (None without a
            score head).
    """

    ownership: np.ndarray | None
    score_lead: float | None

    def owner_score(self, komi: float) -> float | None:
        """Black's lead counted from the ownership (each point to its likelier owner) minus ``komi``."""
        if self.ownership is None:
            return None
        return float(np.count_nonzero(self.ownership > 0) - np.count_nonzero(self.ownership < 0)) - komi


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
        timing: the time manager (default: one on ``time.perf_counter`` with ``config.timing``).
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
        timing: TimeManager | None = None,
    ) -> None:
        self.game = game
        self.evaluate = evaluate
        self.config = config
        self.weights_version = weights_version
        self.source = source
        self.metadata = metadata or {}
        self.timing = timing or TimeManager(config.timing)
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
            metadata=self.metadata, timing=self.timing,
        )
        engine._rng = self._rng
        return engine

    def warm_up(self, state: State | None = None, *, simulations: int = 8) -> None:
        """Search ``state`` (default: the start position) a few times, outside any move's clock.

        The first forward passes of a network are slow (torch allocates and plans); this
        pays for them up front and measures the step times the time manager needs. Uses
        its own generator, so the engine's moves stay as they would be without it.
        """
        state = state or self.game.initial_state()
        rng = np.random.default_rng(0)
        self._analyse(state, simulations, None, None, None, rng)
        self.timing.forget()  # the cold start does not stand for the machine
        for _ in range(2):
            self._analyse(state, simulations, None, None, None, rng)

    def analyse(
        self,
        state: State,
        *,
        sims: int | None = None,
        seconds: float | None = None,
        stop: threading.Event | None = None,
        received: float | None = None,
    ) -> Analysis:
        """Search ``state`` (not terminal) within the given limits (default: the engine's).

        Args:
            sims: simulations, 1..1,000,000.
            seconds: the time this answer may take, counted from ``received``, 0..a week: the
                search ends by ``received + seconds - move overhead`` (see :mod:`cluster.engines.timing`);
                a budget too short for one simulation is answered by the network alone.
            stop: an event that ends the search within one simulation step once set.
            received: when the request arrived, on ``self.timing.clock`` (default: now).

        With neither a simulation nor a time limit, a search with ``stop`` runs until it is
        set (at most 1,000,000 simulations, the most one search holds), and one without
        takes the engine's own limits. Never adds noise; the chosen move is the search's
        (Gumbel: Sequential Halving's, on growing chunks of one tree when the length is
        not known ahead; PUCT: the most visited).

        Raises:
            GameError: ``state`` is terminal.
            EngineError: a limit out of range.
        """
        if state.is_terminal():
            raise games.GameError("cannot analyse a finished game")
        if sims is None and seconds is None and stop is None:
            sims, seconds = self.config.sims, self.config.seconds
        check_limits(sims, seconds, zero_seconds=True)
        return self._analyse(state, sims, seconds, stop, received, self._rng)

    def _analyse(
        self,
        state: State,
        sims: int | None,
        seconds: float | None,
        stop: threading.Event | None,
        received: float | None,
        rng: np.random.Generator,
    ) -> Analysis:
        timing = self.timing
        start = timing.clock() if received is None else received
        deadline = timing.deadline(seconds, start) if seconds is not None else None
        if deadline is not None and not timing.can_search(deadline):
            return self._network_answer(state, start)
        cap = MAX_SIMULATIONS if sims is None else sims
        gumbel = self.config.algorithm == "gumbel"
        stopper = timing.stopper(deadline, stop)
        root: State | Tree = state
        result = None
        chunk = _FIRST_CHUNK
        done = 0
        while True:
            fresh = result is None  # a search from the position, whose first step evaluates it
            if not gumbel or (sims is not None and deadline is None):
                budget, last = cap - done, True
            elif deadline is not None and timing.measured:  # Sequential Halving planned for the time left
                budget, last = timing.simulations_within(deadline, fresh_root=fresh), False
                if not fresh and budget < _FIRST_CHUNK:  # too little left for another halving
                    break
            else:  # until stopped, or timed before any step was measured: growing chunks on one tree
                budget, last = chunk, False
                chunk *= 2
            if result is not None:
                root = result.root_tree(0)
            config = SearchConfig(
                num_simulations=max(1, min(budget, cap - done)),
                algorithm=self.config.algorithm,
                solver=self.config.solver,
            )
            stopper.restart(fresh_root=fresh)
            result = search([root], self.evaluate, config, rng, add_noise=False, should_stop=stopper)
            done += result.num_simulations
            if last or stopper.stopped or done >= cap or result.outputs[0].proven is not None:
                break
        output = result.outputs[0]
        return Analysis(
            action=int(output.action),
            value=float(output.root_value),
            network_value=float(output.network_value),
            prior=output.prior,
            visit_counts=output.visit_counts,
            q_values=output.q_values,
            simulations=int(output.visit_counts.sum()),
            seconds=timing.clock() - start,
            proven=None if output.proven is None else float(output.proven),
            plies_to_end=output.plies_to_end,
        )

    def _network_answer(self, state: State, start: float) -> Analysis:
        """The network's favourite move, for a budget too short for a search.

        Its forward pass stands in for a measurement of a search's first step (about two
        forward passes), so that an estimate made on a slower moment does not keep every
        later short move from searching.
        """
        before = self.timing.clock()
        policy, value = self.raw_policy(state)
        self.timing.record_first_step(2 * (self.timing.clock() - before))
        num_actions = self.game.num_actions
        return Analysis(
            action=int(np.argmax(np.where(state.legal_mask(), policy, -1.0))),
            value=value,
            network_value=value,
            prior=policy,
            visit_counts=np.zeros(num_actions, dtype=np.int64),
            q_values=np.full(num_actions, np.nan, dtype=np.float32),
            simulations=0,
            seconds=self.timing.clock() - start,
        )

    def raw_policy(self, state: State) -> tuple[np.ndarray, float]:
        """The network alone: (policy [A] over legal moves, value for the mover)."""
        logits, values = self.evaluate(state.observation()[None], state.legal_mask()[None])
        mask = state.legal_mask()
        logits = np.where(mask, logits[0].astype(np.float64), -np.inf)
        policy = np.exp(logits - logits.max())
        policy /= policy.sum()
        return policy.astype(np.float32), float(values[0])

    def area_estimate(self, state: State) -> AreaEstimate | None:
        """The network's ownership and score prediction for ``state`` (Black's side), or None.

        None when the network has neither an ownership nor a score head (only Go networks
        can have them) or the evaluator cannot run them.
        """
        estimate = getattr(self.evaluate, "area_estimate", None)
        if estimate is None or not getattr(self.evaluate, "has_area_heads", False):
            return None
        ownership, score = estimate(state.observation())
        sign = 1.0 if state.to_play == 0 else -1.0  # the mover's view -> Black's
        return AreaEstimate(
            ownership=None if ownership is None else (sign * ownership.reshape(-1)).astype(np.float32),
            score_lead=None if score is None else sign * score,
        )

    def choose(self, state: State, **limits: Any) -> int:
        """The engine's move in ``state``."""
        return self.analyse(state, **limits).action
