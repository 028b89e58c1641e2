"""``zeroplay bench inference``: a model copy per self-play actor against one shared inference actor.

Both ways of running self-play's network, measured with the real actors on a local
Ray instance and the game's ``zeroplay train`` configuration (``--set`` overrides it):

* **local** (``selfplay.inference = "local"``): N self-play actors, each evaluating its
  own G leaves with its own model copy on the device (with CUDA: a 1/N share of the GPU
  each). The N actors share the machine's CPUs.
* **shared** (``selfplay.inference = "shared"``): one inference actor on the device
  (with CUDA: the whole GPU, and one CPU to drive it; on a CPU: ``--inference-cpus``
  CPUs and as many torch threads) merging the leaves of N self-play actors into one
  forward pass; the actors share the remaining CPUs.

For each mode and each N the actors play one ``--seconds`` chunk at once after a short
warm-up chunk; the figure is self-play simulations/s summed over the actors. The
faster mode is the one with the higher best figure over the N measured. The raw
network throughput (positions/s at batch G and at N x G) is printed beside them,
and the shared actor's mean forward batch and busy fraction.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cluster.bench.common import machine_info
from games.errors import ZeroplayError

MODES = ("local", "shared")


class InferenceBenchError(ZeroplayError, ValueError):
    """Settings the benchmark cannot run with (the message names the setting)."""


@dataclasses.dataclass(frozen=True)
class InferenceBenchSettings:
    """What to measure.

    Attributes:
        game: the game (a name ``zeroplay train --game`` takes).
        seconds: length of each measured chunk.
        actors: self-play actor counts to measure in each mode (empty: 1 .. CPUs).
        device: where the network runs ("auto": cuda when available, else cpu).
        inference_cpus: CPUs of the shared inference actor when the device is a CPU.
        assignments: ``section.key=value`` overrides of the game's run configuration.
        modes: the modes to measure.
    """

    game: str = "connect4"
    seconds: float = 10.0
    actors: tuple[int, ...] = ()
    device: str = "auto"
    inference_cpus: float = 1.0
    assignments: tuple[str, ...] = ()
    modes: tuple[str, ...] = MODES

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise InferenceBenchError(f"seconds must be > 0, got {self.seconds}")
        if any(n < 1 for n in self.actors):
            raise InferenceBenchError(f"actors must all be >= 1, got {list(self.actors)}")
        if not self.modes or any(m not in MODES for m in self.modes):
            raise InferenceBenchError(f"modes {list(self.modes)}: choose from {', '.join(MODES)}")
        if self.inference_cpus <= 0:
            raise InferenceBenchError(f"inference_cpus must be > 0, got {self.inference_cpus}")


def _network_rates(config: Any, device: str, batches: list[int]) -> dict[str, float]:
    """Raw forward positions/s of the run's network at each batch size (one torch thread on a CPU)."""
    from learner import PolicyValueNet, network_throughput

    net = PolicyValueNet(config.make_game(), config.network)
    threads = 1 if device == "cpu" else None
    return {
        str(b): round(network_throughput(net, b, device=device, num_threads=threads, min_seconds=1.0), 1)
        for b in sorted(set(batches))
    }


def measure_point(
    ray: Any,
    config: Any,
    toml: str,
    replay_name: str,
    weights: tuple[int, Any],
    mode: str,
    n: int,
    cpus: int,
    cuda: bool,
    settings: InferenceBenchSettings,
    run_dir: str,
) -> dict[str, Any]:
    """Self-play simulations/s of ``n`` actors in ``mode`` (one measured chunk each, all at once).

    In shared mode the inference actor is the one ``zeroplay train`` starts, named after ``run_dir``.
    """
    from cluster.runtime.actors import create_inference_actor, selfplay_actor_class

    version, ref = weights
    inference = None
    inference_name = None
    if mode == "shared":
        inference, inference_name = create_inference_actor(config, run_dir, toml)
        actor_cpus = max(cpus - config.selfplay.inference_num_cpus, 0.01) / n
        actor_gpus = 0.0
    else:
        actor_cpus = cpus / n
        actor_gpus = 1.0 / n if cuda else 0.0
    actors = [
        selfplay_actor_class()
        .options(num_cpus=min(1.0, actor_cpus), num_gpus=actor_gpus)
        .remote(toml, i, replay_name, inference_name)
        for i in range(n)
    ]
    try:
        try:  # weights in, warm
            ray.get([a.run.remote(version, [ref], 1.0) for a in actors], timeout=300)
        except ray.exceptions.GetTimeoutError:
            raise InferenceBenchError(f"{mode}: {n} self-play actor(s) did not start within 300 s") from None
        before = ray.get(inference.stats.remote()) if inference is not None else None
        start = time.perf_counter()
        chunks = ray.get([a.run.remote(version, [ref], settings.seconds) for a in actors])
        wall = time.perf_counter() - start
        after = ray.get(inference.stats.remote()) if inference is not None else None
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)
        if inference is not None:
            ray.kill(inference, no_restart=True)
    simulations = sum(c["simulations"] for c in chunks)
    point: dict[str, Any] = {
        "mode": mode,
        "actors": n,
        "actor_cpus": round(min(1.0, actor_cpus), 3),
        "actor_gpus": round(actor_gpus, 4),
        "simulations_per_s": round(simulations / wall, 1),
        "games": sum(c["games"] for c in chunks),
        # Share of the actors' time spent waiting for the network (their own, or the shared one's answers).
        "evaluate_fraction": round(sum(c["evaluate_seconds"] for c in chunks) / sum(c["seconds"] for c in chunks), 3),
    }
    if before is not None and after is not None:
        batches = after["batches"] - before["batches"]
        point["mean_batch"] = round((after["positions"] - before["positions"]) / batches, 1) if batches else 0.0
        point["requests_per_batch"] = round((after["requests"] - before["requests"]) / batches, 2) if batches else 0.0
        point["inference_busy"] = round((after["forward_seconds"] - before["forward_seconds"]) / wall, 3)
    return point


def run_inference_bench(
    settings: InferenceBenchSettings, log: Callable[[str], None] = lambda s: None
) -> dict[str, Any]:
    """Measure every (mode, N) point; returns the JSON-able report."""
    import ray
    import torch

    from cluster.config.run import ConfigError, dump_toml, resolve
    from cluster.runtime.actors import create_replay_actor
    from cluster.runtime.ray_setup import start_local_ray
    from learner import PolicyValueNet
    from learner.train import resolve_device

    device = str(resolve_device(settings.device))
    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise InferenceBenchError(f"device {settings.device!r}: CUDA is not available here")
    # The shared inference actor: on a GPU, the whole GPU and one CPU to drive it.
    server = (
        ["selfplay.inference_num_cpus=1.0", "selfplay.inference_num_gpus=1.0"]
        if cuda
        else [f"selfplay.inference_num_cpus={settings.inference_cpus}", "selfplay.inference_num_gpus=0.0"]
    )
    try:
        config = resolve(settings.game, assignments=[*settings.assignments, f"selfplay.device={device}", *server])
    except ConfigError as err:
        raise InferenceBenchError(str(err)) from None
    started = False
    if not ray.is_initialized():
        start_local_ray()
        started = True
    cpus = int(ray.cluster_resources().get("CPU", 1))
    counts = settings.actors or tuple(range(1, cpus + 1))
    server_cpus = config.selfplay.inference_num_cpus
    if "shared" in settings.modes and server_cpus >= cpus:
        if started:
            ray.shutdown()
        raise InferenceBenchError(
            f"the shared inference actor's {server_cpus:g} CPU(s) leave none of this Ray instance's {cpus} "
            f"for self-play actors: give --inference-cpus less than {cpus}"
        )
    toml = dump_toml(config)
    g = config.selfplay.games_per_actor
    try:
        with tempfile.TemporaryDirectory(prefix="zeroplay-bench-inference-") as tmp:
            replay, replay_name = create_replay_actor(config, str(Path(tmp) / "run"))
            ray.get(replay.stats.remote())
            torch.manual_seed(0)
            state = {k: v.cpu() for k, v in PolicyValueNet(config.make_game(), config.network).state_dict().items()}
            weights = (1, ray.put((1, state)))
            points = []
            for mode in settings.modes:
                for n in counts:
                    log(f"{mode}: {n} actor(s), {settings.seconds} s")
                    points.append(
                        measure_point(
                            ray,
                            config,
                            toml,
                            replay_name,
                            weights,
                            mode,
                            n,
                            cpus,
                            cuda,
                            settings,
                            str(Path(tmp) / f"{mode}-{n}"),
                        )
                    )
            ray.get(replay.close.remote())
            ray.kill(replay, no_restart=True)
    finally:
        if started:
            ray.shutdown()
    log("raw network throughput")
    network = _network_rates(config, device, [g] + [n * g for n in counts])
    best = {
        mode: max((p for p in points if p["mode"] == mode), key=lambda p: p["simulations_per_s"])
        for mode in settings.modes
    }
    net = config.network
    return {
        "benchmark": "inference",
        "machine": machine_info(),
        "device": device,
        "gpu": torch.cuda.get_device_name(device) if cuda else None,
        "ray": {"version": ray.__version__, "cpus": cpus, "started_here": started},
        "settings": {
            "game": config.game,
            "network": f"{net.blocks}x{net.channels} (value_hidden {net.value_hidden})",
            "simulations": config.search.num_simulations,
            "games_per_actor": g,
            "seconds": settings.seconds,
            "inference_cpus": server_cpus,
            "overrides": list(settings.assignments),
        },
        "network_positions_per_s": network,
        "points": points,
        "best": {
            mode: {"actors": p["actors"], "simulations_per_s": p["simulations_per_s"]} for mode, p in best.items()
        },
        "faster": max(best, key=lambda m: best[m]["simulations_per_s"]),
        "shared_over_local": (
            round(best["shared"]["simulations_per_s"] / best["local"]["simulations_per_s"], 3)
            if len(best) == 2
            else None
        ),
    }
