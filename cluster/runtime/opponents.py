"""Frozen opponents on the self-play actors: what the driver hands an actor, and what comes back.

A league snapshot, an exploited target or the main agent seen by an exploiter is an
:class:`OpponentSpec`: a name, its weights (one Ray object, put once), its network
shape and the search it plays with. The driver passes one with each self-play chunk
(``SelfPlayRunner.run(..., opponent=spec)``); the actor's :class:`ActorOpponents`
builds the opponent's evaluator the first time it sees the name and hands it to the
worker (``selfplay.Worker.set_opponent``), which then plays ``spec.share`` of its new
games against it, the learner on a random side, and keeps only the learner's moves as
training data. Games in progress finish against the opponent they began with.

Each chunk reports the games against opponents (:func:`opponent_games`) with the
result from the learner's side, and the sha256 digest of every opponent's weights as
the actor holds them (:func:`weights_digest`), so a driver can check that a frozen
opponent never changed.

:class:`OpponentPlan` is what a driver extension (the league, ``zeroplay exploit``)
implements to choose the opponents and count their games (:class:`cluster.runtime.driver.Trainer`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np

from games.base import Game
from selfplay.search import SearchConfig
from selfplay.trajectory import Trajectory

log = logging.getLogger(__name__)

#: Won games whose moves a chunk reports (the rest are counted only).
MAX_WON_GAMES_PER_CHUNK = 32


@dataclasses.dataclass(frozen=True)
class OpponentSpec:
    """One frozen opponent as the driver hands it to a self-play actor.

    Attributes:
        name: 1..64 characters; it names the weights (another weights version is another name).
        weights_version: the version inside the weights object.
        weights: ``[ObjectRef of (weights_version, state_dict)]`` (a list, so Ray leaves it unresolved).
        network: the opponent's ``NetworkConfig.to_dict()`` (it may differ from the learner's).
        search: how the opponent searches (no noise is added).
        share: the share of the actor's new games played against it, in [0, 1].
    """

    name: str
    weights_version: int
    weights: list[Any]
    network: Mapping[str, Any]
    search: SearchConfig
    share: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= 64:
            raise ValueError(f"an opponent needs a name of 1..64 characters, got {self.name!r}")
        if not 0.0 <= float(self.share) <= 1.0:
            raise ValueError(f"an opponent's share must be in [0, 1], got {self.share!r}")
        if not isinstance(self.search, SearchConfig):
            raise ValueError(f"an opponent's search must be a SearchConfig, got {self.search!r}")


def weights_digest(state_dict: Mapping[str, Any]) -> str:
    """sha256 over the names, dtypes, shapes and bytes of a state dict's tensors, in name order."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        value = state_dict[name]
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        array = np.ascontiguousarray(array)
        h.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        h.update(array.tobytes())
    return h.hexdigest()


def opponent_games(trajectories: Iterable[Trajectory]) -> list[dict[str, Any]]:
    """The games against an opponent among ``trajectories``, one dict each.

    ``{"opponent": name, "side": the learner's player, "result": 1 | 0 | -1 (the learner's),
    "plies": T, "actions": [..] for a game the learner won (None otherwise, and beyond
    MAX_WON_GAMES_PER_CHUNK won games)}``.
    """
    out = []
    won = 0
    for t in trajectories:
        if t.opponent is None or t.trained_side is None:
            continue
        value = float(t.returns[t.trained_side])
        result = 1 if value > 0 else -1 if value < 0 else 0
        keep = result > 0 and won < MAX_WON_GAMES_PER_CHUNK
        won += keep
        out.append({"opponent": t.opponent, "side": int(t.trained_side), "result": result,
                    "plies": int(t.num_moves), "actions": [int(a) for a in t.actions] if keep else None,
                    "weights_version": int(t.weights_version)})
    return out


class ActorOpponents:
    """A self-play actor's opponents: builds each one's evaluator once and keeps the worker's current.

    Args:
        game: the actor's game.
        worker: the actor's ``selfplay.Worker``.
        local_evaluator: the actor's own ``TorchEvaluator`` (None with shared inference); an
            opponent of the same network shape reuses what its backend built.
        network: the learner's ``NetworkConfig``.
        backend: ``selfplay.inference_backend``.
        threads: torch threads.
    """

    def __init__(self, game: Game, worker: Any, local_evaluator: Any, network: Any, backend: str,
                 threads: int) -> None:
        self.game = game
        self.worker = worker
        self.local_evaluator = local_evaluator
        self.network = network
        self.backend = backend
        self.threads = threads
        self.current: str | None = None
        self._evaluators: dict[str, Any] = {}

    def take(self, spec: OpponentSpec | None) -> None:
        """Play against ``spec`` from now on (None: no opponent; games against one end)."""
        import ray

        if spec is None:
            if self.current is not None or self.worker.opponent_names:
                self.worker.set_opponent(None)
            self.current = None
            self._evaluators = {}
            return
        config = self.worker.config
        if config.opponent_share != spec.share or config.opponent_config != spec.search:
            self.worker.config = dataclasses.replace(config, opponent_share=float(spec.share),
                                                     opponent_config=spec.search)
        if spec.name == self.current:
            return
        evaluator = self._evaluators.get(spec.name)
        if evaluator is None:
            version, state_dict = ray.get(spec.weights[0])
            if version != spec.weights_version:
                raise ValueError(f"opponent {spec.name}: weights object holds version {version}, "
                                 f"expected {spec.weights_version}")
            evaluator = self._build(spec, state_dict)
        self.worker.set_opponent(evaluator, spec.name)
        self.current = spec.name
        self._evaluators[spec.name] = evaluator
        playing = set(self.worker.opponent_names)
        self._evaluators = {k: v for k, v in self._evaluators.items() if k in playing}

    def _build(self, spec: OpponentSpec, state_dict: Mapping[str, Any]) -> Any:
        from learner import PolicyValueNet, TorchEvaluator
        from learner.network import NetworkConfig

        network = NetworkConfig.from_dict(dict(spec.network))
        if self.local_evaluator is not None and network == self.network:
            return self.local_evaluator.with_weights(state_dict, spec.weights_version)
        evaluator = TorchEvaluator(PolicyValueNet(self.game, network), num_threads=self.threads,
                                   weights_version=spec.weights_version, backend=self.backend)
        evaluator.load_weights(state_dict, spec.weights_version)
        return evaluator

    def digests(self) -> dict[str, str]:
        """name -> :func:`weights_digest` of the weights each opponent the actor holds plays with."""
        return {name: weights_digest(e.net.state_dict()) for name, e in self._evaluators.items()}


class OpponentPlan(Protocol):
    """What the training driver asks a league or an exploit run (all calls come from the driver's loop).

    ``pending`` is the driver's map of Ray references in flight to ``(kind, extra)``; a
    plan may add references of its own there with kind ``"plan"``, which come back to
    :meth:`done`.
    """

    def start(self, pending: dict[Any, tuple[str, Any]]) -> None:
        """The run loop begins."""

    def opponent_for(self, index: int) -> OpponentSpec | None:
        """The opponent of self-play actor ``index``'s next chunk (None: self-play only)."""

    def chunk_done(self, index: int, chunk: Mapping[str, Any]) -> None:
        """Actor ``index`` finished a chunk (its ``opponent_games`` and ``opponent_digests``)."""

    def learner_progress(self, step: int, weights_version: int, weights_ref: Any, checkpoint: str | None) -> None:
        """The main learner finished a training call: its step, newest weights and checkpoint."""

    def done(self, ref: Any, extra: Any, pending: dict[Any, tuple[str, Any]]) -> None:
        """One of the plan's own references is ready."""

    def record(self) -> dict[str, Any]:
        """Fields for this log period's metrics record."""

    def finish(self, pending: dict[Any, tuple[str, Any]]) -> None:
        """The run ends: settle the plan's own references in ``pending`` and remove them from it."""

    def summary(self) -> dict[str, Any]:
        """After the last chunks are counted: save, and the fields the run's summary adds."""


__all__ = ["ActorOpponents", "MAX_WON_GAMES_PER_CHUNK", "OpponentPlan", "OpponentSpec", "opponent_games",
           "weights_digest"]
