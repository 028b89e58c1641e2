"""``zeroplay bench cluster``: what Ray costs a training run, measured with the real actors.

On a local Ray instance (started here unless Ray is already initialised) and a
temporary run directory, with the game's ``zeroplay train`` configuration (``--set``
overrides it; the default connect4 run uses its 4x64 network, 64 simulations and
128 games per actor):

1. **Ray overhead** - the share of a self-play actor's wall time spent in Ray calls
   and serialisation (``SelfPlayRunner.run``'s ``ray_seconds / seconds``), and the share
   spent fetching and loading weights (``weights_seconds / seconds``): worst case with a
   new weights version pushed before every chunk, and at the run's normal publish rate
   (``train.publish_every`` steps at the learner's measured step rate; the larger of the
   measured share and fetch cost / publish period, as a phase may see no publish at all).
   Targets: < 5 % and < 1 %. The self-play actors are as many as a run would start (CPUs - 1, at least 1).
2. **Replay ingest** - games/s accepted by the replay actor from 8 concurrent writers
   (actors with ``num_cpus=0`` sending batches of pre-encoded real trajectories, made
   beforehand by ``selfplay.Worker`` with the uniform evaluator), and a check that no game
   was lost: accepted == sent, and a fresh ``ReplayService`` over the same directory
   counts every game.
3. **Scaling** - self-play simulations/s summed over N actors (``num_cpus=1`` each, no
   learner running), divided by N x one actor's; target >= 0.8.

The learner actor runs only between 2 and 3: it measures the training step rate
(which sets the normal publish period) and supplies the weights self-play uses.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cluster.bench.common import machine_info
from cluster.runtime.rundir import RunDir
from games.errors import ZeroplayError

TARGETS = {"ray_overhead_max": 0.05, "weights_broadcast_max": 0.01, "scaling_efficiency_min": 0.8}
GAMES = ("connect4", "tictactoe")


class ClusterBenchError(ZeroplayError, ValueError):
    """Settings the benchmark cannot run with (the message names the setting)."""


@dataclasses.dataclass(frozen=True)
class ClusterBenchSettings:
    """What to measure and for how long.

    Attributes:
        game: "connect4" or "tictactoe".
        seconds: length of each measured phase (overhead worst/normal, each scaling point).
        actors: actor counts for the scaling measurement (empty: 1 .. CPUs of the Ray instance).
        assignments: ``section.key=value`` overrides of the game's run configuration.
        writers: concurrent replay writers.
        ingest_games: games sent to the replay actor in total.
        ingest_batch: games per write (self-play actors send 32).
        unique_games: distinct games generated for the ingest (sent round-robin).
        learner_seconds: how long the learner's step rate is measured.
    """

    game: str = "connect4"
    seconds: float = 10.0
    actors: tuple[int, ...] = ()
    assignments: tuple[str, ...] = ()
    writers: int = 8
    ingest_games: int = 2048
    ingest_batch: int = 32
    unique_games: int = 128
    learner_seconds: float = 3.0

    def __post_init__(self) -> None:
        if self.game not in GAMES:
            raise ClusterBenchError(f"game {self.game!r}: choose one of {', '.join(GAMES)}")
        if not self.seconds > 0:
            raise ClusterBenchError(f"seconds must be > 0, got {self.seconds}")
        if any(n < 1 for n in self.actors):
            raise ClusterBenchError(f"actors must all be >= 1, got {list(self.actors)}")
        for name in ("writers", "ingest_games", "ingest_batch", "unique_games"):
            if getattr(self, name) < 1:
                raise ClusterBenchError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learner_seconds > 0:
            raise ClusterBenchError(f"learner_seconds must be > 0, got {self.learner_seconds}")


@dataclasses.dataclass(frozen=True)
class ChunkTotals:
    """Sums over self-play chunks (the counters ``SelfPlayRunner.run`` returns)."""

    chunks: int
    seconds: float
    ray_seconds: float
    weights_seconds: float
    weight_fetches: int
    simulations: int
    games: int

    @classmethod
    def of(cls, chunks: Sequence[dict[str, Any]]) -> ChunkTotals:
        return cls(
            chunks=len(chunks),
            seconds=sum(c["seconds"] for c in chunks),
            ray_seconds=sum(c["ray_seconds"] for c in chunks),
            weights_seconds=sum(c["weights_seconds"] for c in chunks),
            weight_fetches=sum(1 for c in chunks if c["weights_seconds"] > 0),
            simulations=sum(c["simulations"] for c in chunks),
            games=sum(c["games"] for c in chunks),
        )

    @property
    def ray_fraction(self) -> float:
        return self.ray_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def weights_fraction(self) -> float:
        return self.weights_seconds / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- helpers


class IngestWriter:
    """A replay writer for the ingest measurement: sends batches of encoded games, one write in flight."""

    def __init__(self, replay_name: str, payloads: list[bytes]) -> None:
        import ray

        self.replay = ray.get_actor(replay_name)
        self.payloads = payloads

    def ready(self) -> bool:
        return True

    def send(self, games: int, batch: int, offset: int) -> dict[str, Any]:
        """Send ``games`` games in batches of ``batch``, starting at payload ``offset`` (cycling)."""
        import ray

        n = len(self.payloads)
        start = time.time()
        sent = accepted = rejected = positions = 0
        while sent < games:
            size = min(batch, games - sent)
            chunk = [self.payloads[(offset + sent + i) % n] for i in range(size)]
            result = ray.get(self.replay.add.remote(chunk))
            sent += size
            accepted += result.accepted
            rejected += result.rejected
            positions += result.positions
        return {
            "sent": sent,
            "accepted": accepted,
            "rejected": rejected,
            "positions": positions,
            "start": start,
            "end": time.time(),
        }


def _replay_actor(ray: Any, config: Any, run_dir: Path) -> tuple[Any, str]:
    """The run's replay actor for ``run_dir``, created as ``Trainer`` creates it."""
    from cluster.runtime.actors import create_replay_actor

    actor, name = create_replay_actor(config, str(run_dir))
    ray.get(actor.stats.remote())  # constructed (and its directory rebuilt)
    return actor, name


def _stop(ray: Any, actor: Any) -> None:
    ray.kill(actor, no_restart=True)


def _encoded_games(config: Any, count: int, seed: int = 0) -> list[bytes]:
    """``count`` real self-play games of the run's game (uniform evaluator, 8 simulations), encoded."""
    import numpy as np

    from selfplay import Worker, WorkerConfig, encode, uniform_evaluator

    search = dataclasses.replace(config.search, num_simulations=8)
    worker = Worker(
        config.make_game(),
        uniform_evaluator,
        WorkerConfig(num_games=min(count, 64), search=search),
        rng=np.random.default_rng(seed),
    )
    return [encode(t) for t in worker.play(count)]


# --------------------------------------------------------------------------- measurements


def measure_ingest(replay_name: str, config: Any, settings: ClusterBenchSettings) -> dict[str, Any]:
    """Replay ingest: ``settings.writers`` concurrent writers send encoded games to the replay actor."""
    import ray

    t = time.perf_counter()
    payloads = _encoded_games(config, settings.unique_games)
    generate_seconds = time.perf_counter() - t
    writer_class = ray.remote(num_cpus=0)(IngestWriter)
    ref = ray.put(payloads)
    writers = [writer_class.remote(replay_name, ref) for _ in range(settings.writers)]
    ray.get([w.ready.remote() for w in writers])
    per_writer = [settings.ingest_games // settings.writers] * settings.writers
    for i in range(settings.ingest_games % settings.writers):
        per_writer[i] += 1
    results = ray.get(
        [
            w.send.remote(n, settings.ingest_batch, i * 7)
            for i, (w, n) in enumerate(zip(writers, per_writer, strict=True))
            if n
        ]
    )
    for w in writers:
        _stop(ray, w)
    sent = sum(r["sent"] for r in results)
    accepted = sum(r["accepted"] for r in results)
    positions = sum(r["positions"] for r in results)
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    actor_stats = ray.get(ray.get_actor(replay_name).stats.remote())
    return {
        "writers": settings.writers,
        "batch_games": settings.ingest_batch,
        "unique_games": len(payloads),
        "mean_game_bytes": round(sum(map(len, payloads)) / len(payloads), 1),
        "generate_seconds": round(generate_seconds, 3),
        "sent": sent,
        "accepted": accepted,
        "rejected": sum(r["rejected"] for r in results),
        "positions": positions,
        "seconds": round(wall, 3),
        "games_per_s": round(accepted / wall, 1) if wall > 0 else None,
        "positions_per_s": round(positions / wall, 1) if wall > 0 else None,
        "actor_games_added": int(actor_stats["games_added"]),
    }


def verify_ingest(config: Any, run_dir: Path, ingest: dict[str, Any]) -> dict[str, Any]:
    """``ingest`` plus what a fresh ``ReplayService`` over ``run_dir/replay`` finds; ``ok`` = nothing lost."""
    from learner.replay_store import ReplayService

    rc = config.replay
    fresh = ReplayService(
        config.make_game(),
        str(RunDir(run_dir).replay),
        capacity=rc.capacity,
        min_positions=rc.min_positions,
        max_samples_per_position=rc.max_samples_per_position,
        segment_bytes=rc.segment_bytes,
    )
    reloaded = fresh.stats()
    fresh.close()
    sent = ingest["sent"]
    out = dict(ingest)
    out.update(
        reloaded_games=int(reloaded["games_added"]),
        reloaded_positions=int(reloaded["positions_added"]),
        reload_warnings=len(fresh.load_warnings),
        lost=sent - int(reloaded["games_added"]),
    )
    out["ok"] = (
        ingest["accepted"] == sent
        and ingest["actor_games_added"] == sent
        and out["reloaded_games"] == sent
        and out["reloaded_positions"] == ingest["positions"]
    )
    return out


def measure_learner(config: Any, run_dir: Path, replay_name: str, seconds: float) -> tuple[dict[str, Any], Any]:
    """The learner actor's step rate on the replay actor's games, and its current weights.

    Returns (report, CPU state dict). The learner actor is gone afterwards (its CPU is free).
    """
    import ray

    from cluster.config.run import dump_toml
    from cluster.runtime.actors import learner_actor_class

    learner = learner_actor_class().options(num_cpus=1).remote(dump_toml(config), str(run_dir), replay_name)
    try:
        warm = ray.get(learner.train.remote(None, min(1.0, seconds))[0])  # first batches, allocations
        metrics = ray.get(learner.train.remote(None, seconds)[0])
        _, state = ray.get(learner.weights.remote())
    finally:
        _stop(ray, learner)
    if metrics["steps"] < 5:  # the samples-per-position cap stopped it early: count the warm-up too
        metrics = {key: metrics[key] + warm[key] for key in ("steps", "seconds", "wait_seconds")}
    busy = metrics["seconds"] - metrics["wait_seconds"]
    steps_per_s = metrics["steps"] / busy if busy > 0 and metrics["steps"] else None
    publish_every = config.train.publish_every
    report = {
        "steps": metrics["steps"],
        "seconds": round(metrics["seconds"], 3),
        "wait_seconds": round(metrics["wait_seconds"], 3),
        "capped_by_replay": metrics["wait_seconds"] > 0.1 * metrics["seconds"],
        "steps_per_s": None if steps_per_s is None else round(steps_per_s, 2),
        "batch_size": config.train.batch_size,
        "publish_every": publish_every,
        "publish_period_s": None if steps_per_s is None else round(publish_every / steps_per_s, 3),
    }
    return report, state


class _Weights:
    """Driver-owned weights objects, as the Trainer holds them: one object per version."""

    def __init__(self, ray: Any, state: dict[str, Any]) -> None:
        self.ray = ray
        self.state = state
        self.version = 0
        self.ref: Any = None
        self.pushes = 0
        self.push()

    def push(self) -> None:
        self.version += 1
        self.ref = self.ray.put((self.version, self.state))
        self.pushes += 1


def _run_chunks(
    ray: Any, actors: Sequence[Any], seconds: float, chunk_seconds: float, before_submit: Callable[[], _Weights]
) -> list[dict[str, Any]]:
    """Keep ``actors`` playing chunks for ``seconds`` (as the Trainer does); the chunks' counters."""
    deadline = time.monotonic() + seconds
    pending: dict[Any, Any] = {}

    def submit(actor: Any) -> None:
        weights = before_submit()
        pending[actor.run.remote(weights.version, [weights.ref], chunk_seconds)] = actor

    for actor in actors:
        submit(actor)
    chunks = []
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            actor = pending.pop(ref)
            chunks.append(ray.get(ref))
            if time.monotonic() + 0.5 * chunk_seconds < deadline:
                submit(actor)
    return chunks


def _process_time(actor: Any) -> float:
    """CPU seconds of the calling actor's process (run inside the actor via ``__ray_call__``)."""
    return time.process_time()


def _load_average() -> float | None:
    """The 1-minute load average (other work on the machine skews the figures), None where unknown."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _state_bytes(state: dict[str, Any]) -> int:
    return int(sum(t.numel() * t.element_size() for t in state.values()))


def measure_overhead(
    ray: Any, actors: Sequence[Any], weights: _Weights, config: Any, seconds: float, publish_period: float | None
) -> dict[str, Any]:
    """Ray and weight-broadcast shares of self-play wall time: worst case, then the normal publish rate."""
    chunk = config.selfplay.chunk_seconds

    def every_chunk() -> _Weights:
        weights.push()
        return weights

    worst = ChunkTotals.of(_run_chunks(ray, actors, seconds, chunk, every_chunk))
    period = publish_period if publish_period is not None else chunk
    last_push = [time.monotonic()]

    def on_schedule() -> _Weights:
        if time.monotonic() - last_push[0] >= period:
            weights.push()
            last_push[0] = time.monotonic()
        return weights

    normal = ChunkTotals.of(_run_chunks(ray, actors, seconds, chunk, on_schedule))
    fetch_s = worst.weights_seconds / worst.weight_fetches if worst.weight_fetches else None
    expected = None if fetch_s is None else fetch_s / max(period, chunk)

    def phase(t: ChunkTotals) -> dict[str, Any]:
        return {
            "chunks": t.chunks,
            "actor_seconds": round(t.seconds, 3),
            "ray_seconds": round(t.ray_seconds, 4),
            "weights_seconds": round(t.weights_seconds, 4),
            "weight_fetches": t.weight_fetches,
            "ray_overhead": round(t.ray_fraction, 5),
            "weights_broadcast": round(t.weights_fraction, 5),
            "simulations_per_s": round(t.simulations / t.seconds, 1) if t.seconds else None,
        }

    return {
        "actors": len(actors),
        "chunk_seconds": chunk,
        "weights_bytes": _state_bytes(weights.state),
        "weight_fetch_ms": None if fetch_s is None else round(1000 * fetch_s, 2),
        "publish_period_s": round(period, 3),
        "worst_case": phase(worst),
        "normal_rate": phase(normal),
        "ray_overhead": round(max(worst.ray_fraction, normal.ray_fraction), 5),
        "weights_broadcast_worst": round(worst.weights_fraction, 5),
        # A phase may see no publish at all (a period longer than the phase): take the larger of the
        # measured share and the expected one (fetch cost / fetch interval).
        "weights_broadcast_normal": round(max(normal.weights_fraction, expected or 0.0), 5),
        "weights_broadcast_normal_measured": round(normal.weights_fraction, 5),
        "weights_broadcast_normal_expected": None if expected is None else round(expected, 5),
    }


def measure_scaling(
    ray: Any, pool: Callable[[int], list[Any]], weights: _Weights, counts: Sequence[int], seconds: float
) -> dict[str, Any]:
    """Self-play simulations/s with N actors at once (one ``seconds``-long call each) vs N x one actor's."""
    points = []
    base = base_per_cpu = None
    for n in sorted(set(counts) | {1}):
        actors = pool(n)
        ray.get([a.run.remote(weights.version, [weights.ref], 0.5) for a in actors])  # weights in, warm
        cpu_before = [a.__ray_call__.remote(_process_time) for a in actors]
        runs = [a.run.remote(weights.version, [weights.ref], seconds) for a in actors]
        cpu_after = [a.__ray_call__.remote(_process_time) for a in actors]
        chunks = ray.get(runs)
        cpu = [after - before for before, after in zip(ray.get(cpu_before), ray.get(cpu_after), strict=True)]
        rate = sum(c["simulations"] / c["seconds"] for c in chunks if c["seconds"] > 0)
        per_cpu = sum(c["simulations"] for c in chunks) / sum(cpu) if sum(cpu) > 0 else None
        if n == 1:
            base, base_per_cpu = rate, per_cpu
        points.append(
            {
                "actors": n,
                "simulations_per_s": round(rate, 1),
                "per_actor": [round(c["simulations"] / c["seconds"], 1) for c in chunks],
                # CPU time an actor got per second of its wall time: < 1 means it waited for a core
                # (other work on the machine, or Ray's own processes), not that self-play scales badly.
                "cpu_per_wall": [round(t / c["seconds"], 3) for t, c in zip(cpu, chunks, strict=True)],
                "simulations_per_cpu_s": None if per_cpu is None else round(per_cpu, 1),
                "load_average_1min": _load_average(),
            }
        )
    for point in points:
        n = point["actors"]
        point["efficiency"] = round(point["simulations_per_s"] / (n * base), 4) if base else None
        per_cpu = point["simulations_per_cpu_s"]
        point["efficiency_per_cpu_s"] = round(per_cpu / base_per_cpu, 4) if per_cpu and base_per_cpu else None
    wanted = [p for p in points if p["actors"] in set(counts)] or points
    return {
        "seconds": seconds,
        "points": wanted,
        "min_efficiency": min((p["efficiency"] for p in wanted if p["efficiency"] is not None), default=None),
    }


# --------------------------------------------------------------------------- driver


def run_cluster_bench(settings: ClusterBenchSettings, log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run the three measurements; returns the JSON-able report (machine, settings, targets, results)."""
    import ray

    from cluster.config.run import ConfigError, dump_toml, resolve
    from cluster.runtime.actors import selfplay_actor_class
    from cluster.runtime.ray_setup import start_local_ray

    try:
        config = resolve(settings.game, assignments=list(settings.assignments))
    except ConfigError as err:
        raise ClusterBenchError(str(err)) from None
    started = False
    if not ray.is_initialized():
        start_local_ray()
        started = True
    cpus = int(ray.cluster_resources().get("CPU", 1))
    counts = settings.actors or tuple(range(1, cpus + 1))
    if max(counts) > cpus:
        raise ClusterBenchError(f"--actors {max(counts)}: this Ray instance offers only {cpus} CPU(s)")
    overhead_actors = max(1, cpus - 1)  # as a run: one CPU left for the learner
    toml = dump_toml(config)
    load_before = _load_average()
    selfplay = selfplay_actor_class()
    alive: list[Any] = []
    try:
        with tempfile.TemporaryDirectory(prefix="zeroplay-bench-cluster-") as tmp:
            tmp_dir = Path(tmp)
            ingest_dir = tmp_dir / "ingest"
            log(f"ingest: {settings.ingest_games} games from {settings.writers} writers")
            ingest_replay, ingest_name = _replay_actor(ray, config, ingest_dir)
            ingest = measure_ingest(ingest_name, config, settings)
            log("learner: step rate")
            learner, state = measure_learner(config, ingest_dir, ingest_name, settings.learner_seconds)
            ray.get(ingest_replay.close.remote())
            _stop(ray, ingest_replay)
            ingest = verify_ingest(config, ingest_dir, ingest)
            weights = _Weights(ray, state)
            run_dir = tmp_dir / "run"
            _, replay_name = _replay_actor(ray, config, run_dir)

            def pool(n: int) -> list[Any]:
                while len(alive) < n:
                    alive.append(selfplay.options(num_cpus=1).remote(toml, len(alive), replay_name))
                return alive[:n]

            log(f"overhead: {overhead_actors} self-play actor(s), 2 x {settings.seconds} s")
            actors = pool(overhead_actors)
            ray.get([a.run.remote(weights.version, [weights.ref], 0.5) for a in actors])  # started, weights in
            overhead = measure_overhead(ray, actors, weights, config, settings.seconds, learner["publish_period_s"])
            log(f"scaling: {list(counts)} actor(s), {settings.seconds} s each")
            scaling = measure_scaling(ray, pool, weights, counts, settings.seconds)
            replay = ray.get_actor(replay_name)
            ray.get(replay.close.remote())
            for actor in alive:
                _stop(ray, actor)
            _stop(ray, replay)
    finally:
        if started:
            ray.shutdown()
    net = config.network
    return {
        "benchmark": "cluster",
        "machine": machine_info(),
        "ray": {"version": ray.__version__, "cpus": cpus, "started_here": started},
        "load_average_1min": {"start": load_before, "end": _load_average()},
        "settings": {
            "game": config.game,
            "network": f"{net.blocks}x{net.channels} (value_hidden {net.value_hidden})",
            "simulations": config.search.num_simulations,
            "games_per_actor": config.selfplay.games_per_actor,
            "chunk_seconds": config.selfplay.chunk_seconds,
            "publish_every": config.train.publish_every,
            "seconds_per_phase": settings.seconds,
            "overrides": list(settings.assignments),
        },
        "targets": dict(TARGETS),
        "overhead": overhead,
        "ingest": ingest,
        "learner": learner,
        "scaling": scaling,
        "meets_targets": {
            "ray_overhead": overhead["ray_overhead"] < TARGETS["ray_overhead_max"],
            "weights_broadcast_normal": overhead["weights_broadcast_normal"] < TARGETS["weights_broadcast_max"],
            "weights_broadcast_worst": overhead["weights_broadcast_worst"] < TARGETS["weights_broadcast_max"],
            "ingest_lossless": bool(ingest["ok"]),
            "scaling_efficiency": scaling["min_efficiency"] is not None
            and scaling["min_efficiency"] >= TARGETS["scaling_efficiency_min"],
        },
    }
