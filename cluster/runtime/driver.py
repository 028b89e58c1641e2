"""The driver of ``zeroplay train``: starts the actors, keeps them busy, records progress.

The driver never sits in a hot loop: it waits (``ray.wait``) on the self-play chunks
and the learner's training chunks, resubmits each as it finishes with the newest
weights, and every ``log_every_seconds`` writes one metrics record and one progress
line. Self-play and training are never in lock-step: each actor runs at its own pace.

The run directory's layout is :mod:`cluster.runtime.rundir`'s.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from cluster.config.resources import Machine, validate_resources
from cluster.config.run import ConfigError, RunConfig, dump_toml
from cluster.observe.metrics import MetricsSink, trim_metrics
from cluster.runtime.ray_setup import check_capacity, connect, embedded_cpus, will_start_embedded
from cluster.runtime.rundir import RunDir, check_new_run_dir, prepare_run_dir, resume_checkpoint
from cluster.runtime.stopping import stop_on_signal

log = logging.getLogger(__name__)

# A self-play actor whose chunk failed is called again after 1, 2, 4, ... s, at most this
# long apart: while it waits for a node to restart on, each call fails at once.
RETRY_BACKOFF_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
# A new actor that Ray has not placed within this long counts as waiting (before: starting).
STARTUP_GRACE_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class ActorCensus:
    """How many of a run's self-play actors play, and how many wait (and what for).

    Attributes:
        running: actors that are alive (Ray placed them; their chunks play).
        waiting: actors that are not, and have played before or failed since, or have not
            been placed within :data:`STARTUP_GRACE_SECONDS`: restarting, or short of resources.
        starting: new actors not placed yet, within their grace period.
        waiting_for: why they wait, e.g. ``"needs 1 CPU (0 free)"``; ``"restarting"`` when
            the cluster has room for one more; None when none waits.
        waiting_actors: the indices of the waiting actors.
    """

    running: int
    waiting: int
    starting: int
    waiting_for: str | None
    waiting_actors: tuple[int, ...] = ()


@dataclasses.dataclass
class _Totals:
    games: int = 0
    positions: int = 0
    moves: int = 0
    simulations: int = 0
    selfplay_seconds: float = 0.0
    evaluate_seconds: float = 0.0
    ray_seconds: float = 0.0
    weights_seconds: float = 0.0
    rejected: int = 0
    chunks: int = 0

    def add(self, chunk: dict[str, Any]) -> None:
        self.games += chunk["accepted"]
        self.positions += chunk["positions"]
        self.moves += chunk["moves"]
        self.simulations += chunk["simulations"]
        self.selfplay_seconds += chunk["seconds"]
        self.evaluate_seconds += chunk["evaluate_seconds"]
        self.ray_seconds += chunk["ray_seconds"]
        self.weights_seconds += chunk["weights_seconds"]
        self.rejected += chunk["rejected"]
        self.chunks += 1


class Trainer:
    """One training run on a connected Ray cluster.

    Args:
        config: the run configuration.
        run_dir: the prepared run directory.
        out: where progress lines go.
        plan: who picks the self-play actors' frozen opponents and counts their games
            (``cluster.runtime.opponents.OpponentPlan``: ``zeroplay exploit``'s target); None:
            the league of ``[league]`` when it is enabled, else plain self-play.
    """

    def __init__(self, config: RunConfig, run_dir: Path, out: TextIO = sys.stdout, plan: Any = None) -> None:
        import ray

        from cluster.runtime.actors import (
            create_evaluator_actor,
            create_inference_actor,
            create_replay_actor,
            first_answer,
            learner_actor_class,
            selfplay_actor_class,
        )

        self.ray = ray
        self.config = config
        self.run_dir = run_dir
        self.out = out
        self.game = config.make_game()
        self.config_toml = dump_toml(config)
        self.replay, self.replay_name = create_replay_actor(config, str(run_dir))
        self.learner = learner_actor_class().options(
            num_cpus=config.run.learner_num_cpus,
            num_gpus=config.run.learner_num_gpus,
            max_restarts=-1,
            resources=config.run.learner_resources or None,
        ).remote(self.config_toml, str(run_dir), self.replay_name)
        self.inference, self.inference_name = (
            create_inference_actor(config, str(run_dir), self.config_toml)
            if config.selfplay.inference == "shared" else (None, None)
        )
        self._weight_pushes: list[Any] = []  # weights pushed to the shared inference actor
        self._inference_seen: tuple[dict[str, Any], float] | None = None  # its counters at the last record, and when
        self._selfplay_class = selfplay_actor_class()
        self.actors: dict[int, Any] = {}
        self._failures: dict[int, int] = {}  # actor -> chunks failed in a row (0: its last one played)
        self._retry_at: dict[int, float] = {}  # actor -> when its next chunk is submitted (after a failure)
        self._waiting_warned: set[int] = set()  # actors whose wait has been reported once
        self._started_at: dict[int, float] = {}  # actor -> when it was created (monotonic)
        self.actor_nodes: dict[int, str] = {}  # actor -> Ray node id of its last chunk
        self._next_actor = 0
        self.restarts = 0
        self.totals = _Totals()
        self.learner_metrics: dict[str, Any] = {}
        self.resign_threshold: float | None = None  # the replay's, refreshed with every progress record
        position = first_answer(self.learner.position, what="learner")
        self.step = int(position["step"])
        self.weights_version = int(position["weights_version"])
        self.last_checkpoint = position["checkpoint"]
        self.weights_ref = self.learner.weights.remote()
        if config.run.init_records and self.step == 0:
            self._seed_replay()
        trim_metrics(RunDir(run_dir).metrics, self.step)
        # After trim_metrics (which replaces the file); TensorBoard hides steps past the checkpoint.
        self.metrics = MetricsSink(run_dir, out=out, purge_step=self.step + 1)
        self.evaluator = (
            create_evaluator_actor(config, str(run_dir), self.config_toml) if config.run.evaluate else None
        )
        if plan is None and config.league.enabled:
            from cluster.runtime.league import LeaguePlan

            plan = LeaguePlan(self)
        self.plan = plan
        for _ in range(self._wanted_actors()):
            self._start_actor()

    def _seed_replay(self) -> None:
        """A new run's replay starts with the games of ``run.init_records`` (once: not after a restart)."""
        from learner.record_import import seed_replay

        if int(self._call(self.replay.stats).get("games_added", 0)) > 0:
            return  # seeded (or playing) already: a run restarted before its first checkpoint
        trainer = self

        class _ReplayActor:  # the service interface seed_replay takes, over the replay actor
            game = self.game

            def add(self, payloads: list[bytes]) -> Any:
                return trainer._call(trainer.replay.add, payloads, timeout=300)

        skipped: list[str] = []
        totals = seed_replay(_ReplayActor(), self.config.run.init_records, on_skip=skipped.append)
        for line in skipped[:20]:
            log.warning("init records: %s", line)
        if len(skipped) > 20:
            log.warning("init records: %d more skipped", len(skipped) - 20)
        print(
            f"replay starts with {totals['accepted']} record games ({totals['positions']} positions, "
            f"{totals['rejected']} rejected, {len(skipped)} skipped)",
            file=self.out, flush=True,
        )

    # ---------------------------------------------------------------- actors
    def _call(self, method: Any, *args: Any, timeout: float = 120.0) -> Any:
        """``ray.get(method.remote(*args))``, retried while the actor restarts (until ``timeout``)."""
        from cluster.runtime.actors import call_while_restarting

        return call_while_restarting(method, *args, timeout=timeout)

    def _wanted_actors(self) -> int:
        sp = self.config.selfplay
        if sp.actors > 0:
            return sp.actors
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        reserved = self.config.run.learner_num_cpus
        if self.inference is not None:
            reserved += self.config.selfplay.inference_num_cpus
        return max(1, cpus - math.ceil(reserved))

    def _start_actor(self) -> None:
        sp = self.config.selfplay
        index = self._next_actor
        self._next_actor += 1
        self._started_at[index] = time.monotonic()
        self.actors[index] = self._selfplay_class.options(
            num_cpus=1,
            num_gpus=sp.num_gpus,
            resources=sp.resources or None,
            max_restarts=-1,
            scheduling_strategy="SPREAD",
        ).remote(self.config_toml, index, self.replay_name, self.inference_name)

    def _submit_selfplay(self, index: int) -> Any:
        opponent = self.plan.opponent_for(index) if self.plan is not None else None
        return self.actors[index].run.remote(
            self.weights_version, [self.weights_ref], self.config.selfplay.chunk_seconds, self.resign_threshold,
            opponent,
        )

    def _submit_learner(self) -> tuple[Any, Any]:
        return self.learner.train.remote(self.config.run.steps, 2.0)

    # ---------------------------------------------------------------- loop
    def run(self, should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """Train until the configured minutes or steps are reached, or ``should_stop()``."""
        ray = self.ray
        cfg = self.config.run
        start = time.monotonic()
        deadline = start + cfg.minutes * 60 if cfg.minutes is not None else math.inf
        pending: dict[Any, tuple[str, Any]] = {}
        for index in self.actors:
            pending[self._submit_selfplay(index)] = ("selfplay", index)
        metrics_ref, weights_ref = self._submit_learner()
        pending[metrics_ref] = ("learner", weights_ref)
        if self.evaluator is not None:
            pending[self.evaluator.evaluate_new.remote(5.0)] = ("evaluate", None)
        if self.plan is not None:
            self.plan.start(pending)
        last_log = time.monotonic()
        log_totals = dataclasses.replace(self.totals)
        log_step = self.step
        while True:
            now = time.monotonic()
            done = now >= deadline or (cfg.steps is not None and self.step >= cfg.steps) or should_stop()
            if done:
                break
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=min(1.0, max(0.01, deadline - now)))
            for ref in ready:
                kind, extra = pending.pop(ref)
                if kind == "selfplay":
                    self._selfplay_done(ref, extra, pending)
                elif kind == "learner":
                    self._learner_done(ref, extra, pending)
                elif kind == "plan":
                    self.plan.done(ref, extra, pending)
                else:
                    self._evaluation_done(ref, pending)
            self._retry_due(pending)
            if time.monotonic() - last_log >= cfg.log_every_seconds:
                self._log(time.monotonic() - last_log, log_totals, log_step, time.monotonic() - start)
                last_log = time.monotonic()
                log_totals = dataclasses.replace(self.totals)
                log_step = self.step
                self._follow_cluster(pending)
                self._collect_weight_pushes()
        return self._finish(pending, start, (last_log, log_totals, log_step))

    def _collect_weight_pushes(self) -> None:
        """Settle finished pushes to the shared inference actor (a failed one is retried by the actors)."""
        if not self._weight_pushes:
            return
        done, self._weight_pushes = self.ray.wait(self._weight_pushes, num_returns=len(self._weight_pushes), timeout=0)
        for ref in done:
            try:
                self.ray.get(ref)
            except self.ray.exceptions.RayError as err:
                log.info("weights push to the inference actor failed (%s)", type(err).__name__)

    def _selfplay_done(self, ref: Any, index: int, pending: dict[Any, tuple[str, Any]]) -> None:
        """A self-play chunk ended: count its games and submit the actor's next chunk.

        A failed chunk is followed by the next one only after a backoff (1, 2, 4, ... up to
        :data:`MAX_RETRY_SECONDS`), and only its first failure in a row is logged: an actor
        that waits for a node to restart on fails every call at once. Only actors still in
        the run are recorded (a chunk can end after its actor was retired).
        """
        try:
            chunk = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:
            failures = self._failures.get(index, 0) + 1
            if index in self.actors:
                self._failures[index] = failures
                delay = min(MAX_RETRY_SECONDS, RETRY_BACKOFF_SECONDS * 2 ** (failures - 1))
                self._retry_at[index] = time.monotonic() + delay
            if failures == 1:
                self.restarts += 1
                log.warning("self-play actor %d failed (%s); it restarts and carries on", index, type(err).__name__)
                self.metrics.release_display()
            else:
                log.debug("self-play actor %d still unavailable (%s)", index, type(err).__name__)
            return
        self.totals.add(chunk)
        if self.plan is not None:
            self.plan.chunk_done(index, chunk)
        if index not in self.actors:
            return
        if index in self._waiting_warned:
            self._waiting_warned.discard(index)
            log.warning("self-play actor %d plays again", index)
            self.metrics.release_display()
        self._failures[index] = 0
        self.actor_nodes[index] = chunk["node"]
        pending[self._submit_selfplay(index)] = ("selfplay", index)

    def _retry_due(self, pending: dict[Any, tuple[str, Any]]) -> None:
        """Submit the next chunk of each actor whose backoff after a failure has passed."""
        now = time.monotonic()
        for index, due in list(self._retry_at.items()):
            if index not in self.actors:
                del self._retry_at[index]
            elif now >= due:
                del self._retry_at[index]
                pending[self._submit_selfplay(index)] = ("selfplay", index)

    def _actor_demand(self) -> dict[str, float]:
        """What Ray must find free to place one self-play actor."""
        sp = self.config.selfplay
        demand = {"CPU": 1.0, **sp.resources}
        if sp.num_gpus:
            demand["GPU"] = sp.num_gpus
        return demand

    def actor_census(self, states: dict[int, str] | None = None) -> ActorCensus:
        """Which self-play actors play and which wait, from Ray's actor table (``states``, else one GCS call).

        Where the table cannot be read, an actor whose last chunk failed counts as waiting.
        """
        states = self._actor_states() if states is None else states
        now = time.monotonic()
        waiting, starting = [], 0
        for index in self.actors:
            failed = self._failures.get(index, 0) > 0
            if states.get(index, "ALIVE" if not failed else None) == "ALIVE":
                continue
            if failed or index in self.actor_nodes or now - self._started_at[index] > STARTUP_GRACE_SECONDS:
                waiting.append(index)
            else:
                starting += 1
        reason = None
        if waiting:
            available = self.ray.available_resources()
            short = [
                f"{amount:g} {name} ({available.get(name, 0.0):g} free)"
                for name, amount in self._actor_demand().items()
                if available.get(name, 0.0) + 1e-9 < amount
            ]
            reason = "needs " + ", ".join(short) if short else "restarting"
        running = len(self.actors) - len(waiting) - starting
        return ActorCensus(running, len(waiting), starting, reason, tuple(waiting))

    def _actor_states(self) -> dict[int, str]:
        """Actor index -> Ray's state of it (ALIVE, PENDING_CREATION, RESTARTING, ...); {} if unknown.

        An actor Ray has placed in a worker process that still runs its ``__init__`` counts as ALIVE.
        """
        try:
            from ray._private import state  # the GCS actor table: no dashboard needed (pinned Ray 2.60)

            ids = {handle._actor_id.hex(): index for index, handle in self.actors.items()}
            table = state.actors(job_id=self.ray.JobID.from_hex(self.ray.get_runtime_context().get_job_id()))
            return {ids[actor_id]: _placed_state(info) for actor_id, info in table.items() if actor_id in ids}
        except Exception as err:  # noqa: BLE001 - a debugging API: without it, the driver's own view
            log.debug("actor table unavailable (%s)", err)
            return {}

    def _retry_alive_now(self, states: dict[int, str]) -> None:
        """An actor in its backoff that Ray reports alive again gets its next chunk at once."""
        for index in self._retry_at:
            if states.get(index) == "ALIVE":
                self._retry_at[index] = 0.0

    def _report_waiting(self, census: ActorCensus) -> None:
        """One warning per actor when it starts waiting for resources (again only after it played again)."""
        if census.waiting_for is None or not census.waiting_for.startswith("needs"):
            return  # restarting with room to do so: its failure was reported
        for index in census.waiting_actors:
            if index not in self._waiting_warned:
                self._waiting_warned.add(index)
                log.warning("self-play actor %d is waiting (%s); it plays again once Ray can place it",
                            index, census.waiting_for)
                self.metrics.release_display()

    def _learner_done(self, ref: Any, weights_ref: Any, pending: dict[Any, tuple[str, Any]]) -> None:
        try:
            metrics = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:
            self.restarts += 1
            log.warning("learner failed (%s); it restarts from its last checkpoint", type(err).__name__)
            self.metrics.release_display()
            from cluster.runtime.actors import first_answer

            position = first_answer(self.learner.position, what="restarted learner")
            self.step = int(position["step"])
            self.metrics.rewind(self.step)  # steps past the checkpoint are redone
        else:
            if metrics["steps"]:
                self.learner_metrics = metrics
            self.step = int(metrics["step"])
            self.last_checkpoint = metrics["checkpoint"] or self.last_checkpoint
            if int(metrics["weights_version"]) > self.weights_version:
                self.weights_version = int(metrics["weights_version"])
                self.weights_ref = weights_ref  # driver-owned: survives the learner
                if self.inference is not None:  # loaded once, before the actors ask for it
                    self._weight_pushes.append(
                        self.inference.ensure_weights.remote(self.weights_version, [self.weights_ref]))
            if self.plan is not None:
                self.plan.learner_progress(self.step, self.weights_version, self.weights_ref, self.last_checkpoint)
        metrics_ref, new_weights_ref = self._submit_learner()
        pending[metrics_ref] = ("learner", new_weights_ref)

    def _evaluation_done(self, ref: Any, pending: dict[Any, tuple[str, Any]]) -> None:
        try:
            records = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:
            log.warning("evaluator failed (%s); it restarts from its ladder", type(err).__name__)
            self.metrics.release_display()
            records = []
        for record in records:
            self.metrics.write(record, show=False)
        pending[self.evaluator.evaluate_new.remote(5.0)] = ("evaluate", None)

    def _follow_cluster(self, pending: dict[Any, tuple[str, Any]]) -> None:
        """With ``selfplay.actors = 0``: start actors on new CPUs, retire those of departed nodes."""
        if self.config.selfplay.actors > 0:
            return
        wanted = self._wanted_actors()
        for _ in range(wanted - len(self.actors)):
            self._start_actor()
            index = self._next_actor - 1
            pending[self._submit_selfplay(index)] = ("selfplay", index)
        if len(self.actors) > wanted:
            # Actors last seen on a node that is gone go first, then failed ones, then the newest.
            alive = {node["NodeID"] for node in self.ray.nodes() if node.get("Alive")}
            order = sorted(
                self.actors, key=lambda i: (self.actor_nodes.get(i) in alive, not self._failures.get(i), -i)
            )
            for index in order[: len(self.actors) - wanted]:
                self.ray.kill(self.actors.pop(index), no_restart=True)
                for per_actor in (self._failures, self._retry_at, self.actor_nodes, self._started_at):
                    per_actor.pop(index, None)
                self._waiting_warned.discard(index)
                log.warning("self-play actor %d retired: the cluster has fewer CPUs now", index)

    # ---------------------------------------------------------------- records
    def _replay_stats(self) -> dict[str, Any]:
        try:
            return self._call(self.replay.stats, self.weights_version, timeout=10)
        except self.ray.exceptions.RayError as err:
            log.warning("replay stats unavailable (%s)", type(err).__name__)
            return {}

    def _inference_period(self) -> dict[str, Any]:
        """The shared inference actor's mean forward batch and busy fraction since the last record.

        The busy fraction is its forward time over the time between the two looks at its
        counters (not the record's period, which a slow look would stretch).
        """
        if self.inference is None:
            return {}
        try:
            stats = self.ray.get(self.inference.stats.remote(), timeout=10)
        except self.ray.exceptions.RayError:  # restarting: its counters start again
            self._inference_seen = None
            return {}
        seen_at = time.monotonic()
        before = self._inference_seen
        self._inference_seen = (stats, seen_at)
        if before is None or stats["batches"] <= before[0]["batches"]:  # first look, restarted, or idle
            return {}
        before_stats, before_at = before
        return {
            "inference_mean_batch": (stats["positions"] - before_stats["positions"])
            / (stats["batches"] - before_stats["batches"]),
            "inference_busy": (stats["forward_seconds"] - before_stats["forward_seconds"])
            / max(seen_at - before_at, 1e-9),
        }

    def _log(self, period: float, before: _Totals, step_before: int, elapsed: float) -> dict[str, Any]:
        t = self.totals
        replay = self._replay_stats()
        if self.config.selfplay.resign and replay:
            self.resign_threshold = replay.get("resign_threshold")
        states = self._actor_states()
        census = self.actor_census(states)
        self._report_waiting(census)
        self._retry_alive_now(states)
        lm = self.learner_metrics
        sp_seconds = max(t.selfplay_seconds - before.selfplay_seconds, 1e-9)
        record = {
            "time": time.time(),
            "elapsed": round(elapsed, 2),
            "step": self.step,
            "weights_version": self.weights_version,
            "games": replay.get("games_added", t.games),
            "positions": replay.get("positions_added", t.positions),
            "games_per_s": (t.games - before.games) / period,
            "positions_per_s": (t.positions - before.positions) / period,
            "simulations_per_s": (t.simulations - before.simulations) / period,
            "steps_per_s": (self.step - step_before) / period,
            "loss": lm.get("loss"),
            "policy_loss": lm.get("policy_loss"),
            "value_loss": lm.get("value_loss"),
            "policy_entropy": lm.get("policy_entropy"),
            "value_accuracy": lm.get("value_accuracy"),
            "policy_target_fraction": lm.get("policy_target_fraction"),
            "value_mse": lm.get("value_mse"),
            "ownership_loss": lm.get("ownership_loss"),
            "score_loss": lm.get("score_loss"),
            "lr": lm.get("lr"),
            "replay_size": replay.get("size"),
            "replay_window": replay.get("window"),
            "samples_per_position": replay.get("samples_per_position"),
            "mean_game_length": replay.get("mean_game_length"),
            "policy_lag_mean": replay.get("policy_lag_mean"),
            "rejected_games": replay.get("rejected", t.rejected),
            "resigned_games": replay.get("resigned_games"),
            "resign_threshold": replay.get("resign_threshold"),
            "false_resign_rate": replay.get("false_resign_rate"),
            "playthrough_games": replay.get("playthrough_games"),
            "replay_load_skipped_records": replay.get("load_skipped_records"),
            "replay_load_skipped_files": replay.get("load_skipped_files"),
            "actors": len(self.actors),
            "actors_running": census.running,
            "actors_waiting": census.waiting,
            "actors_starting": census.starting,
            "actors_waiting_for": census.waiting_for,
            "actor_restarts": self.restarts,
            "ray_overhead": (t.ray_seconds - before.ray_seconds) / sp_seconds,
            "weights_broadcast": (t.weights_seconds - before.weights_seconds) / sp_seconds,
            "evaluate_fraction": (t.evaluate_seconds - before.evaluate_seconds) / sp_seconds,
        }
        record.update(self._inference_period())
        if self.plan is not None:
            record.update(self.plan.record())
        record["checkpoint"] = self.last_checkpoint  # shown live, read by `zeroplay status`
        self.metrics.write(record)
        return record

    def _finish(self, pending: dict[Any, tuple[str, Any]], start: float,
                last_log: tuple[float, _Totals, int]) -> dict[str, Any]:
        """Collect the chunks in flight, save the final checkpoint, and write one last progress
        record, so that the metrics end with the run's final counts; ``start`` and ``last_log``
        (its time, totals and step) are monotonic-clock values from the main loop."""
        ray = self.ray
        # The evaluator's ladder is saved after each checkpoint it rates: stop it at once
        # (`zeroplay evaluate RUN_DIR` rates whatever it had not reached).
        if self.evaluator is not None:
            ray.kill(self.evaluator, no_restart=True)
            pending = {ref: item for ref, item in pending.items() if item[0] != "evaluate"}
        if self.plan is not None:  # its own work ends first (and leaves pending)
            self.plan.finish(pending)
        # Let the chunks in flight end (their games are acknowledged), then save.
        refs = list(pending)
        ray.wait(refs, num_returns=len(refs), timeout=self.config.selfplay.chunk_seconds + 30)
        for ref, (kind, extra) in pending.items():
            try:
                result = ray.get(ref, timeout=0)
            except Exception:  # noqa: BLE001 - a chunk that failed or is still running
                continue
            if kind == "selfplay":
                self.totals.add(result)
                if self.plan is not None:
                    self.plan.chunk_done(extra, result)
            elif result["steps"]:
                self.step = int(result["step"])
        if self.inference is not None:
            ray.kill(self.inference, no_restart=True)
            self.inference = None  # the last record below does not ask it
        version, path = self._call(self.learner.finish)
        self.weights_version = int(version)
        self.last_checkpoint = path
        logged_at, log_totals, log_step = last_log
        elapsed = time.monotonic() - start
        last = self._log(max(time.monotonic() - logged_at, 1e-3), log_totals, log_step, elapsed)
        try:
            ray.get(self.replay.close.remote(), timeout=30)
        except ray.exceptions.RayError as err:
            log.warning("replay actor did not close cleanly (%s); its segments are fsynced", type(err).__name__)
        summary = {
            "run_dir": str(self.run_dir),
            "checkpoint": path,
            "step": self.step,
            "weights_version": self.weights_version,
            "games": last["games"],  # the replay's count (the driver's if it did not answer)
            "positions": last["positions"],
            "minutes": round(elapsed / 60, 2),
            "actor_restarts": self.restarts,
            **(self.plan.summary() if self.plan is not None else {}),
        }
        self.metrics.close()
        print(
            f"done: step {summary['step']}, weights v{summary['weights_version']}, "
            f"{summary['games']} games; checkpoint {path}",
            file=self.out,
            flush=True,
        )
        return summary


def check_warm_start(config: RunConfig, out: TextIO = sys.stdout) -> None:
    """Refuse, before Ray starts, a ``run.init`` checkpoint that does not fit the run, or missing ``run.init_records``.

    The checkpoint is loaded into the run's network exactly as the learner will load it
    (:func:`learner.checkpoint.load_across_sizes`: the same game and network config; another
    board size only for a fully convolutional network).

    Raises:
        CheckpointError: the checkpoint is unreadable, or of another game or network (naming both).
        ConfigError: a records path that does not exist.
    """
    from learner.checkpoint import CheckpointMismatchError, check_checkpoint_fits
    from learner.network import PolicyValueNet
    from learner.train import load_across_sizes

    if config.run.init is not None:
        game = config.make_game()
        try:
            _, notes = check_checkpoint_fits(config.run.init, game, config.network)
        except CheckpointMismatchError:
            # Another board size may still load into a fully convolutional network; anything else is refused.
            initial = load_across_sizes(config.run.init, PolicyValueNet(game, config.network), game)
            notes = [f"a {initial.game_spec} network, its weights loaded across board sizes"]
        for note in notes:
            print(f"warm start from {config.run.init}: {note}", file=out, flush=True)
    for path in config.run.init_records:
        if not Path(path).exists():
            raise ConfigError(f"run.init_records: {path} does not exist")


def _placed_state(info: dict[str, Any]) -> str:
    """An actor-table entry's state, with a created actor that has a worker process (a port) as ALIVE."""
    state = str(info.get("State"))
    address = info.get("Address") or {}
    if state == "PENDING_CREATION" and address.get("Port"):
        return "ALIVE"
    return state


def run_training(
    config: RunConfig | None,
    run_dir: Path,
    *,
    address: str | None = None,
    resume: bool = False,
    out: TextIO = sys.stdout,
    setup: Callable[[Path], None] | None = None,
    plan: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Prepare the run directory, connect to Ray, train, and save a final checkpoint.

    Before Ray starts: the configuration is checked against this machine
    (``cluster.config.resources``), and a resumed run finds the newest checkpoint that
    verifies (one warning on stderr per damaged newer one; a RunDirError if none does).
    SIGINT/SIGTERM end the run early but cleanly (a final checkpoint is written).
    ``setup(run_dir)`` runs once the run directory is prepared (``zeroplay exploit`` writes
    its target there); ``plan()`` makes the run's :class:`~cluster.runtime.opponents.OpponentPlan`
    once Ray is up (None: the ``[league]`` section decides).
    """
    import ray

    if resume:
        config = prepare_run_dir(run_dir, config, resume=True)
        checkpoint, skipped = resume_checkpoint(run_dir)  # the learner resumes from the same one
        for warning in skipped:
            print(f"zeroplay: warning: {warning}; resuming from {checkpoint.name if checkpoint else 'scratch'}",
                  file=sys.stderr, flush=True)
    else:
        check_new_run_dir(run_dir)
        assert config is not None
        check_warm_start(config, out)
    assert config is not None
    # What cannot fit is refused before Ray starts (which takes many seconds).
    embedded = will_start_embedded(address)
    validate_resources(config, Machine.detect(), embedded=embedded)
    if embedded:
        check_capacity(config, {"CPU": float(embedded_cpus())}, embedded=True, kinds=("CPU",))
    started = connect(address)
    try:
        check_capacity(config, ray.cluster_resources(), embedded=started)
    except ConfigError:
        if started:
            ray.shutdown()
        raise
    if not resume:
        config = prepare_run_dir(run_dir, config, resume=False)
    with stop_on_signal(out, "finishing chunks in flight and writing a checkpoint") as stopping:
        try:
            if setup is not None:
                setup(run_dir)
            trainer = Trainer(config, run_dir, out, plan=plan() if plan is not None else None)
            print(
                f"zeroplay train: {config.make_game()!r} -> {run_dir} "
                f"({'resuming at step ' + str(trainer.step) if resume else 'new run'}; "
                f"{len(trainer.actors)} self-play actor(s) x {config.selfplay.games_per_actor} games)",
                file=out,
                flush=True,
            )
            try:
                return trainer.run(stopping)
            finally:
                trainer.metrics.close()
        finally:
            if started:
                ray.shutdown()
