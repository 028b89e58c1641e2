"""Crashes: each kind of actor is SIGKILLed mid-run; training goes on and no acknowledged game is lost.

Also the driver itself: a run whose driver is SIGKILLed resumes with --resume.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import ray
from training_helpers import TINY_RUN, metrics_records, running, training_steps, wait_for
from zeroplay_command import run_zeroplay, start_zeroplay

from cluster.config.run import resolve
from cluster.runtime.driver import Trainer
from cluster.runtime.rundir import prepare_run_dir
from learner.replay_store import ReplayService

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]


def stored_games(run_dir: Path) -> int:
    import games

    service = ReplayService(games.make("tictactoe"), run_dir / "replay", capacity=100_000, min_positions=0,
                            max_samples_per_position=4.0)
    return service.buffer.games_added


def test_actors_killed_mid_run_restart_and_lose_no_acknowledged_game(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = prepare_run_dir(run_dir, resolve("tictactoe", assignments=TINY_RUN, run__minutes=3.0), resume=False)
    trainer = Trainer(config, run_dir, out=io.StringIO())
    with running(trainer) as result:
        wait_for(lambda: trainer.step >= 10, 60, "training to start")

        # A self-play actor dies: it restarts and its next chunks succeed.
        actor = trainer.actors[0]
        os.kill(ray.get(actor.pid.remote()), signal.SIGKILL)
        wait_for(lambda: trainer.restarts >= 1, 30, "the driver to notice the dead self-play actor")
        chunks = trainer.totals.chunks
        wait_for(lambda: trainer.totals.chunks > chunks + 1, 60, "self-play chunks after the restart")

        # The replay actor dies: everything it acknowledged is reloaded from its segments.
        acknowledged = ray.get(trainer.replay.stats.remote())["games_added"]
        os.kill(ray.get(trainer.replay.pid.remote()), signal.SIGKILL)
        wait_for(lambda: _games(trainer) >= acknowledged, 60, "the replay actor to come back with its games")

        # The learner dies: it restarts from its last checkpoint and training continues past it.
        restarts = trainer.restarts
        os.kill(ray.get(trainer.learner.pid.remote()), signal.SIGKILL)
        wait_for(lambda: trainer.restarts > restarts, 60, "the driver to notice the dead learner")
        step = trainer.step  # back at the learner's last checkpoint
        wait_for(lambda: trainer.step > step + 10, 90, "training to continue after the learner restart")
    assert result["step"] > 0 and result["actor_restarts"] >= 2
    assert stored_games(run_dir) == result["games"] >= acknowledged
    steps = training_steps(run_dir)
    assert steps == sorted(steps)


def _games(trainer: Trainer) -> int:
    try:
        return ray.get(trainer.replay.stats.remote(), timeout=5)["games_added"]
    except ray.exceptions.RayError:
        return -1


def _served(trainer: Trainer) -> int:
    """Requests the (current process of the) shared inference actor has answered; -1 while it restarts."""
    try:
        return ray.get(trainer.inference.stats.remote(), timeout=5)["requests"]
    except ray.exceptions.RayError:
        return -1


def test_driver_killed_then_resumed(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["train", "--game", "tictactoe", "--run-dir", str(run_dir), "--minutes", "3"] + [
        x for item in TINY_RUN for x in ("--set", item)]
    driver = start_zeroplay(*args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(list((run_dir / "checkpoints").glob("ckpt-*.json"))) >= 2, 120, "two checkpoints")
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray instance it started
        driver.wait()
    from learner import latest_checkpoint, load_checkpoint

    checkpoint_step = load_checkpoint(latest_checkpoint(run_dir)).step
    games_before = stored_games(run_dir)
    resumed = run_zeroplay("train", "--resume", str(run_dir), "--steps", str(checkpoint_step + 30), "--json",
                           timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary["step"] >= checkpoint_step + 30
    assert summary["games"] >= games_before
    steps = training_steps(run_dir)
    assert steps == sorted(steps), "metrics repeat or skip steps after the resume"


def test_shared_inference_serves_every_actor_and_survives_a_crash(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shared = TINY_RUN + ["selfplay.inference=shared", "selfplay.inference_num_cpus=0", "selfplay.actors=2",
                         "run.learner_num_cpus=0", "run.evaluate=false"]
    config = prepare_run_dir(run_dir, resolve("tictactoe", assignments=shared, run__minutes=3.0), resume=False)
    trainer = Trainer(config, run_dir, out=io.StringIO())
    with running(trainer) as result:
        wait_for(lambda: trainer.step >= 10 and set(trainer.actor_nodes) == {0, 1}, 90,
                 "training on shared inference, with chunks from both self-play actors")
        stats = ray.get(trainer.inference.stats.remote())
        assert stats["requests"] > 0 and stats["positions"] >= stats["requests"]
        assert trainer.totals.evaluate_seconds > 0
        wait_for(lambda: any("inference_mean_batch" in r for r in metrics_records(run_dir)), 30, "inference metrics")
        record = next(r for r in metrics_records(run_dir) if "inference_mean_batch" in r)
        assert 1 <= record["inference_mean_batch"] <= 32 and 0 < record["inference_busy"] <= 1.5

        # The inference actor dies: it restarts empty, the actors hand it the weights again.
        os.kill(ray.get(trainer.inference.pid.remote()), signal.SIGKILL)
        wait_for(lambda: _served(trainer) > 0, 90, "the restarted inference actor to serve again")
        games = trainer.totals.games
        wait_for(lambda: trainer.totals.games > games + 20, 90, "self-play games after the inference restart")
    assert stored_games(run_dir) == result["games"] > games
