"""The Ray actors of a training run, each a thin wrapper around a plain class.

* :class:`SelfPlayRunner` - a ``selfplay.Worker`` playing G games at once with the
  newest weights; finished games go straight to the replay actor as msgpack bytes.
* :class:`LearnerRunner` - a ``learner.Learner`` pulling batches from the replay
  actor; new weights are *returned* to the driver, so the driver owns every weights
  object (one object per publish) and they survive a learner crash.
* the replay actor runs ``learner.replay_store.ReplayService`` directly.
* :class:`InferenceRunner` - with ``selfplay.inference = "shared"``, one
  ``learner.InferenceServer`` evaluating the leaves of every self-play actor
  (each actor then calls it through a :class:`RemoteEvaluator`).

Every actor rebuilds itself from the run directory in ``__init__``, so Ray's
automatic restarts (``max_restarts``) bring a crashed actor back with its state.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any

import numpy as np
import ray

from cluster.config.run import RunConfig, dump_toml, from_mapping
from cluster.runtime.rundir import RunDir, resume_checkpoint
from games.errors import ZeroplayError

log = logging.getLogger(__name__)

# Positions per replay write from a self-play actor, and writes in flight per actor.
_SEND_GAMES = 32
_SEND_SECONDS = 1.0
_MAX_IN_FLIGHT = 2


def _was_restarted() -> bool:
    import warnings

    with warnings.catch_warnings():  # Ray warns about an internal deprecated call here
        warnings.simplefilter("ignore")
        return bool(ray.get_runtime_context().was_current_actor_reconstructed)


def _run_actor_name(kind: str, run_dir: str) -> str:
    import hashlib

    return f"zeroplay-{kind}-" + hashlib.sha256(os.path.abspath(run_dir).encode()).hexdigest()[:12]


def replay_actor_name(run_dir: str) -> str:
    """The replay actor's name; actors look it up instead of holding a handle in their arguments."""
    return _run_actor_name("replay", run_dir)


def inference_actor_name(run_dir: str) -> str:
    """The shared inference actor's name (``selfplay.inference = "shared"``)."""
    return _run_actor_name("inference", run_dir)


def call_while_restarting(method: Any, *args: Any, timeout: float = 120.0) -> Any:
    """``ray.get(method.remote(*args))``, retried while the actor restarts (until ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ray.get(method.remote(*args), timeout=max(1.0, deadline - time.monotonic()))
        except (ray.exceptions.ActorUnavailableError, ray.exceptions.ActorDiedError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


# A new actor's process must start and import torch before it answers: seconds on a quiet
# machine, minutes on a busy one. The run waits this long, reporting as it goes.
STARTUP_TIMEOUT_SECONDS = 900.0
STARTUP_REPORT_SECONDS = 60.0


class ActorStartError(ZeroplayError, RuntimeError):
    """An actor zeroplay created did not answer its first call in time."""


def first_answer(method: Any, *args: Any, what: str, timeout: float = STARTUP_TIMEOUT_SECONDS,
                 report_every: float = STARTUP_REPORT_SECONDS) -> Any:
    """``ray.get(method.remote(*args))`` for the first call to a newly created actor.

    Waits while Ray starts the actor's process (a warning every ``report_every`` seconds
    says so, naming ``what``) and while it restarts after a crash.

    Raises:
        ActorStartError: no answer within ``timeout`` seconds (naming ``what`` and what to check).
    """
    started = time.monotonic()
    deadline = started + timeout
    ref = method.remote(*args)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ActorStartError(
                f"the {what} did not start within {timeout:.0f} s: the machine may be overloaded, or "
                f"short of the CPUs, GPUs or memory the run asks for (`ray status` shows what is free)")
        try:
            return ray.get(ref, timeout=min(report_every, left))
        except ray.exceptions.GetTimeoutError:
            log.warning("the %s is still starting after %.0f s (a busy machine starts Ray workers slowly)",
                        what, time.monotonic() - started)
        except (ray.exceptions.ActorUnavailableError, ray.exceptions.ActorDiedError):
            time.sleep(0.5)  # restarting: ask again
            ref = method.remote(*args)


def _actor_seed(seed: int, index: int) -> np.random.SeedSequence:
    """Distinct streams per actor and per (re)start, so a restarted actor never replays old games."""
    return np.random.SeedSequence([seed, index, time.time_ns() & 0xFFFFFFFF, os.getpid()])


class SelfPlayRunner:
    """Plays self-play games in chunks of ``chunk_seconds`` and streams them to the replay actor.

    Args:
        config_toml: the run configuration as TOML text (small and plain, so a restart can rebuild).
        index: this actor's number (seeds its generator).
        replay_name: the replay actor's name.
        inference_name: the shared inference actor's name (``selfplay.inference = "shared"``);
            None: the actor evaluates its leaves with its own model copy.
    """

    def __init__(self, config_toml: str, index: int, replay_name: str, inference_name: str | None = None) -> None:
        from learner import PolicyValueNet, TorchEvaluator, set_torch_threads
        from learner.device import resolve_device
        from selfplay import Worker

        config = parse_config(config_toml)
        set_torch_threads(config.selfplay.torch_threads)
        self.config = config
        self.index = index
        self.replay = ray.get_actor(replay_name)
        self.game = config.make_game()
        self.inference = ray.get_actor(inference_name) if inference_name is not None else None
        self.local_evaluator: Any = None
        if self.inference is None:
            self.local_evaluator = TorchEvaluator(
                PolicyValueNet(self.game, config.network),
                device=resolve_device(config.selfplay.device),
                num_threads=config.selfplay.torch_threads,
                backend=config.selfplay.inference_backend,
            )
            evaluator: Any = self.local_evaluator
        else:
            evaluator = RemoteEvaluator(self.inference, -1)
        self.weights_version = -1  # no weights yet: the first chunk brings them
        self.worker = Worker(
            self.game,
            evaluator,
            config.selfplay.worker_config(config.search),
            rng=np.random.default_rng(_actor_seed(config.run.seed, index)),
        )
        from cluster.runtime.opponents import ActorOpponents

        self.opponents = ActorOpponents(self.game, self.worker, self.local_evaluator, config.network,
                                        config.selfplay.inference_backend, config.selfplay.torch_threads)
        self.restarted = _was_restarted()

    def _take_weights(self, weights_version: int, weights: list[Any], deadline: float) -> bool:
        """Play with ``weights_version`` from now on. False if the inference actor stayed unavailable."""
        if self.inference is None:
            version, state_dict = ray.get(weights[0])
            if version != weights_version:
                raise ValueError(f"weights object holds version {version}, expected {weights_version}")
            self.local_evaluator.load_weights(state_dict, weights_version)
            evaluator: Any = self.local_evaluator
        else:
            while True:  # the inference actor fetches the weights itself (once for all actors)
                try:
                    ray.get(self.inference.ensure_weights.remote(weights_version, weights))
                    break
                except (ray.exceptions.ActorUnavailableError, ray.exceptions.ActorDiedError):
                    if time.perf_counter() >= deadline:
                        return False
                    time.sleep(0.2)  # restarting
            evaluator = RemoteEvaluator(self.inference, weights_version)
        self.worker.set_evaluator(evaluator, weights_version)
        self.weights_version = weights_version
        return True

    def pid(self) -> int:
        """The actor's process id (for operators and crash tests)."""
        return os.getpid()

    def run(
        self, weights_version: int, weights: list[Any], seconds: float, resign_threshold: float | None = None,
        opponent: Any = None,
    ) -> dict[str, Any]:
        """Play for about ``seconds`` with weights ``weights_version`` (``weights`` = [ObjectRef]).

        The weights are fetched only when their version is new. ``resign_threshold``: the
        replay's current resignation threshold (None: no game resigns). ``opponent``: a frozen
        opponent (``cluster.runtime.opponents.OpponentSpec``) for a share of the new games, or
        None. Returns counters for the chunk, with its games against opponents.
        """
        from cluster.runtime.opponents import opponent_games
        from learner.inference_server import WeightsVersionError
        from selfplay import encode

        start = time.perf_counter()
        deadline = start + seconds
        ray_seconds = 0.0
        weights_seconds = 0.0
        playing = True
        if weights_version != self.weights_version and weights:
            t = time.perf_counter()
            playing = self._take_weights(weights_version, weights, deadline)
            weights_seconds = time.perf_counter() - t
        elif self.weights_version < 0 and self.inference is not None:
            raise ValueError("a self-play actor with shared inference needs weights in its first chunk")
        self.worker.set_resign_threshold(resign_threshold)
        self.opponents.take(opponent)
        against: list[dict[str, Any]] = []
        before = self.worker.stats
        outbox: list[bytes] = []
        pending: list[Any] = []
        accepted = rejected = positions = 0
        last_send = time.perf_counter()

        def send() -> None:
            nonlocal outbox, last_send, ray_seconds
            t = time.perf_counter()
            pending.append(self.replay.add.remote(outbox))
            outbox = []
            last_send = time.perf_counter()
            ray_seconds += last_send - t

        while playing and time.perf_counter() < deadline:
            try:
                finished = self.worker.step()
            except (WeightsVersionError, ray.exceptions.ActorUnavailableError, ray.exceptions.ActorDiedError) as err:
                # The inference actor dropped our (old) version or is restarting: end the chunk;
                # the next one hands the weights over again and, taking them, drops the trees, so
                # the interrupted move is searched anew.
                if isinstance(err, WeightsVersionError):
                    log.info("self-play actor %d: weights v%d no longer served", self.index, self.weights_version)
                else:
                    log.warning("self-play actor %d: inference actor unavailable (%s)", self.index, type(err).__name__)
                self.weights_version = -1
                break
            if finished:
                t = time.perf_counter()
                against.extend(opponent_games(finished))
                outbox.extend(encode(trajectory) for trajectory in finished)
                ray_seconds += time.perf_counter() - t
            if len(outbox) >= _SEND_GAMES or (outbox and time.perf_counter() - last_send > _SEND_SECONDS):
                send()
            if len(pending) > _MAX_IN_FLIGHT:
                t = time.perf_counter()
                done, pending = ray.wait(pending, num_returns=len(pending) - _MAX_IN_FLIGHT)
                for result in ray.get(done):
                    accepted += result.accepted
                    rejected += result.rejected
                    positions += result.positions
                ray_seconds += time.perf_counter() - t
        if outbox:
            send()
        t = time.perf_counter()
        for result in ray.get(pending):
            accepted += result.accepted
            rejected += result.rejected
            positions += result.positions
        ray_seconds += time.perf_counter() - t
        after = self.worker.stats
        return {
            "actor": self.index,
            "restarted": self.restarted,
            "weights_version": self.weights_version,
            "seconds": time.perf_counter() - start,
            "games": after.games_finished - before.games_finished,
            "moves": after.moves - before.moves,
            "simulations": after.simulations - before.simulations,
            "positions_evaluated": after.positions_evaluated - before.positions_evaluated,
            "evaluate_seconds": after.evaluate_seconds - before.evaluate_seconds,
            "ray_seconds": ray_seconds,
            "weights_seconds": weights_seconds,
            "accepted": accepted,
            "rejected": rejected,
            "positions": positions,
            "node": ray.get_runtime_context().get_node_id(),
            "opponent_games": against,
            "opponent_digests": self.opponents.digests() if opponent is not None else {},
        }


class RemoteEvaluator:
    """The evaluator contract (``learner.inference``) answered by the shared inference actor.

    Each call sends one self-play actor's leaves ([B, C, H, W] observations, [B, A] legal
    masks) with the weights version its search uses, and waits for the logits and values.
    """

    def __init__(self, inference: Any, weights_version: int) -> None:
        self.inference = inference
        self.weights_version = int(weights_version)

    def __call__(self, observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ray.get(self.inference.evaluate.remote(self.weights_version, observations, legal_masks))


class InferenceRunner:
    """The shared inference actor: a ``learner.InferenceServer`` for all self-play actors (async actor).

    Args:
        config_toml: the run configuration as TOML text (``[selfplay]`` sets the device,
            threads and batch limit).
    """

    def __init__(self, config_toml: str) -> None:
        from learner.device import resolve_device
        from learner.inference_server import InferenceServer

        config = parse_config(config_toml)
        sp = config.selfplay
        self.server = InferenceServer(
            config.make_game(),
            config.network,
            device=str(resolve_device(sp.device)),
            num_threads=max(1, round(sp.inference_num_cpus)),
            max_batch=sp.inference_max_batch,
            keep_versions=4,
            backend=sp.inference_backend,
        )

    def pid(self) -> int:
        return os.getpid()

    async def ensure_weights(self, weights_version: int, weights: list[Any]) -> bool:
        """Hold ``weights_version`` (``weights`` = [ObjectRef of (version, state_dict)]); True if loaded now."""
        if weights_version in self.server.versions():
            return False
        version, state_dict = await weights[0]
        if version != weights_version:
            raise ValueError(f"weights object holds version {version}, expected {weights_version}")
        return await self.server.load_weights(version, state_dict)

    async def evaluate(
        self, weights_version: int, observations: np.ndarray, legal_masks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return await self.server.evaluate(weights_version, observations, legal_masks)

    def stats(self) -> dict[str, Any]:
        """The server's counters (``learner.inference_server.InferenceStats``), its mean batch and device."""
        stats = self.server.stats()
        return {**dataclasses.asdict(stats), "mean_batch": stats.mean_batch, "device": self.server.device}


def create_inference_actor(config: RunConfig, run_dir: str, config_toml: str) -> tuple[Any, str]:
    """The shared inference actor of a run (restartable, named; its GPU and CPUs from ``[selfplay]``)."""
    sp = config.selfplay
    name = inference_actor_name(run_dir)
    actor = ray.remote(InferenceRunner).options(
        name=name,
        num_cpus=sp.inference_num_cpus,
        num_gpus=sp.inference_num_gpus,
        max_restarts=-1,
        max_concurrency=1000,
    ).remote(config_toml)
    return actor, name


class LearnerRunner:
    """Trains on batches pulled from the replay actor; resumes from the newest checkpoint that verifies.

    Args:
        config_toml: the run configuration as TOML text.
        run_dir: where checkpoints go (``RUN_DIR/checkpoints``).
        replay_name: the replay actor's name.
    """

    def __init__(self, config_toml: str, run_dir: str, replay_name: str) -> None:
        from learner import Learner, set_torch_threads

        config = parse_config(config_toml)
        self.config = config
        self.run_dir = run_dir
        self.replay = ray.get_actor(replay_name)
        if config.train.device in ("cpu", "auto") and config.run.learner_num_gpus == 0:
            set_torch_threads(1)
        # The newest checkpoint that verifies, with its training state; the driver warned
        # about damaged newer ones before the run started.
        checkpoint, skipped = resume_checkpoint(run_dir)
        for warning in skipped:
            log.info("learner: %s; skipped", warning)
        if checkpoint is not None:
            self.learner = Learner.from_checkpoint(
                str(checkpoint), train_config=config.train, network_config=config.network
            )
            log.warning("learner resumed from %s at step %d", checkpoint, self.learner.step)
        else:
            self.learner = Learner(config.make_game(), config.network, config.train)
        self.checkpoint_path: str | None = str(checkpoint) if checkpoint is not None else None
        if checkpoint is None and config.run.init is not None:
            self._warm_start(config.run.init)
        self._prefetch: Any = None

    def _warm_start(self, path: str) -> None:
        """Start from the weights of the checkpoint at ``path`` and write them as the run's step-0 checkpoint."""
        initial = self.learner.init_weights_from(path)  # the same checks the driver made before Ray started
        self.checkpoint()
        log.warning("learner starts from the weights of %s (written as step 0)", initial.path)

    def pid(self) -> int:
        return os.getpid()

    def weights(self) -> tuple[int, dict[str, Any]]:
        """(weights_version, CPU state dict) of the current network."""
        return self.learner.weights_version, self.learner.weights()

    def position(self) -> dict[str, Any]:
        return {"step": self.learner.step, "weights_version": self.learner.weights_version,
                "checkpoint": self.checkpoint_path}

    @ray.method(num_returns=2)
    def train(self, max_steps: int | None, seconds: float) -> tuple[dict[str, Any], Any]:
        """Train for about ``seconds`` (or until ``max_steps`` total steps).

        Returns (metrics, weights) where weights is ``(version, state_dict)`` if a new
        version was published during the call, else None. Waits (without training) while
        the replay's samples-per-position cap holds, so a fast learner never overfits.
        """
        learner = self.learner
        batch_size = self.config.train.batch_size
        start = time.perf_counter()
        deadline = start + seconds
        sums: dict[str, float] = {}
        steps = 0
        wait_seconds = 0.0
        published = None
        while time.perf_counter() < deadline and (max_steps is None or learner.step < max_steps):
            if self._prefetch is None:
                self._prefetch = self.replay.sample.remote(batch_size, 4)
            try:
                batches = ray.get(self._prefetch)
            except ray.exceptions.RayError as err:  # the replay actor is restarting
                log.warning("replay unavailable (%s); retrying", type(err).__name__)
                self._prefetch = None
                batches = []
            else:
                self._prefetch = self.replay.sample.remote(batch_size, 4)
            if not batches:
                t = time.perf_counter()
                time.sleep(min(0.2, max(0.0, deadline - t)))
                wait_seconds += time.perf_counter() - t
                continue
            for batch in batches:
                metrics = learner.train_step(batch)
                steps += 1
                for key, value in metrics.items():
                    sums[key] = sums.get(key, 0.0) + float(value)
                if learner.publish_due:
                    published = learner.publish()
                if learner.checkpoint_due:
                    self.checkpoint()
                if max_steps is not None and learner.step >= max_steps:
                    break
        out = {key: value / steps for key, value in sums.items()} if steps else {}
        out.update(
            step=learner.step,
            weights_version=learner.weights_version,
            steps=steps,
            seconds=time.perf_counter() - start,
            wait_seconds=wait_seconds,
            checkpoint=self.checkpoint_path,
        )
        return out, published

    def checkpoint(self) -> str:
        """Write a checkpoint now (weights, optimizer, counters, RNG states)."""
        self.checkpoint_path = self.learner.save_checkpoint(
            self.run_dir, run_config={"toml": dump_toml(self.config)}
        )
        return self.checkpoint_path

    def finish(self) -> tuple[int, str]:
        """End of a run: publish unpublished training, then checkpoint. Returns (version, path)."""
        if self.learner.step > self.learner.last_published_step:
            self.learner.publish()
        return self.learner.weights_version, self.checkpoint()


def parse_config(config_toml: str) -> RunConfig:
    """Rebuild a :class:`RunConfig` from :func:`cluster.config.dump_toml` text."""
    import tomllib

    return from_mapping(tomllib.loads(config_toml), "run configuration")


def replay_actor_class() -> Any:
    from learner.replay_store import ReplayService

    return ray.remote(ReplayService)


# A resource Ray gives the head node only: the replay actor, which holds the run's data, lives there.
HEAD_NODE = "node:__internal_head__"


def create_replay_actor(config: RunConfig, run_dir: str) -> tuple[Any, str]:
    """The run's replay actor over ``RUN_DIR/replay`` (restartable, named) and its name.

    It is placed on the head node unless ``replay.resources`` says otherwise.
    """
    rc = config.replay
    name = replay_actor_name(run_dir)
    actor = replay_actor_class().options(
        name=name, num_cpus=0, max_restarts=-1, resources=rc.resources or {HEAD_NODE: 0.001}
    ).remote(
        config.make_game(),
        str(RunDir(run_dir).replay),
        capacity=rc.capacity,
        min_positions=rc.min_positions,
        max_samples_per_position=rc.max_samples_per_position,
        segment_bytes=rc.segment_bytes,
        seed=config.run.seed,
        value_q_weight=rc.value_q_weight,
        sample_games_every=rc.sample_games_every,
        sample_games_keep=rc.sample_games_keep,
        games_directory=str(RunDir(run_dir).games),
        window=rc.window_config(),
        resignation=config.selfplay.resignation(),
    )
    return actor, name


class EvaluatorRunner:
    """The in-training evaluator (``cluster.evaluator.Evaluator``).

    It asks Ray for no CPU. With ``evaluate.cpu_share`` unset it runs niced, so it plays
    its rating games on time that self-play and the learner leave idle and never slows
    them down; with a share it runs at normal priority and paces itself to that share.
    """

    def __init__(self, run_dir: str, config_toml: str) -> None:
        from cluster.arena.evaluator import Evaluator

        config = parse_config(config_toml).evaluate
        if config.cpu_share is None:
            try:
                os.nice(19)
            except OSError:  # not permitted: still correct, only less polite
                pass
        self.evaluator = Evaluator(run_dir, config)

    def evaluate_new(self, wait: float) -> list[dict[str, Any]]:
        return self.evaluator.evaluate_new(wait)


def create_evaluator_actor(config: RunConfig, run_dir: str, config_toml: str) -> Any:
    """The evaluator actor, on the head node with the run directory (restartable: its ladder is on disk)."""
    return ray.remote(EvaluatorRunner).options(
        num_cpus=0, max_restarts=-1, resources={HEAD_NODE: 0.001}
    ).remote(run_dir, config_toml)


def selfplay_actor_class() -> Any:
    return ray.remote(SelfPlayRunner)


def learner_actor_class() -> Any:
    return ray.remote(LearnerRunner)
