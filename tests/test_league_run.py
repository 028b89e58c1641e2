"""League training end to end on a local Ray: snapshots drawn by PFSP, an exploiter, and the league's
state across a restart and a damaged league file. And, without Ray, the replay path of league games."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from training_helpers import TINY_RUN, metrics_records, running, wait_for

import games
from selfplay import SearchConfig, Worker, WorkerConfig, encode, uniform_evaluator

TTT = games.make("tictactoe")

LEAGUE = ["league.enabled=true", "league.snapshot_every=20", "league.share=0.5", "league.opponent_seconds=1",
          "league.max_snapshots=50", "league.exploiters=1", "league.exploiter_min_games=1000000",
          "league.exploiter_games_per_actor=16", "run.evaluate=false"]


def test_only_the_learning_sides_moves_of_a_league_game_reach_the_replay(tmp_path: Path) -> None:
    """Through the replay service (validation, segment files, buffer) and its reload from disk."""
    from learner.replay_store import ReplayService

    cfg = WorkerConfig(num_games=8, search=SearchConfig(num_simulations=4), opponent_share=0.5,
                       opponent_config=SearchConfig(num_simulations=2))
    worker = Worker(TTT, uniform_evaluator, cfg, rng=np.random.default_rng(3))
    worker.set_opponent(uniform_evaluator, "step-20")
    played = worker.play(40)
    assert {t.opponent for t in played} == {None, "step-20"}
    expected = []  # the observations the learner should train on, in order: every ply of self-play,
    for t in played:  # only the trained side's plies of league games
        state = TTT.initial_state()
        for action in t.actions:
            if t.trained_side is None or state.to_play == t.trained_side:
                expected.append(state.observation())
            state = state.apply(int(action))

    def service() -> ReplayService:
        return ReplayService(TTT, tmp_path / "replay", capacity=10_000, min_positions=1, max_samples_per_position=4)

    replay = service()
    result = replay.add([encode(t) for t in played])
    assert result.accepted == len(played) and result.positions == len(expected)
    for buffer in (replay.buffer, service().buffer):  # as received, and reloaded from the segment files
        assert buffer.positions_added == len(expected)
        np.testing.assert_array_equal(buffer._obs[: len(expected)], np.stack(expected))
    league_games = [t for t in played if t.opponent is not None]
    assert sum(t.num_training_positions for t in league_games) < sum(t.num_moves for t in league_games)


def _league_games(run_dir: Path) -> list:
    from learner.replay_store import SegmentStore
    from selfplay.trajectory import parse

    return [parse(r.payload)[0] for r in SegmentStore(run_dir / "replay").records()]


@pytest.mark.slow
@pytest.mark.usefixtures("local_ray")
def test_a_league_run_plays_snapshots_and_an_exploiter_and_survives_restarts(tmp_path: Path, caplog) -> None:
    from cluster.arena.league import read_league
    from cluster.config.run import resolve
    from cluster.runtime.driver import Trainer, run_training
    from cluster.runtime.rundir import prepare_run_dir

    def train(minutes: float, until: Callable[[], bool], what: str, resume: bool = True) -> dict:
        """A run (capped at ``minutes``) that stops once ``until()`` holds; its summary."""
        assignments = [] if resume else TINY_RUN + LEAGUE
        config = prepare_run_dir(run_dir, resolve("tictactoe", assignments=assignments, run__minutes=minutes),
                                 resume=resume)
        with running(Trainer(config, run_dir, out=io.StringIO())) as summary:
            wait_for(until, minutes * 60, what)
        return summary

    def exploiter_game_count(state: Any) -> int:
        return state.exploiters[0].games if state is not None and state.exploiters else 0

    def league_under_way() -> bool:
        state = read_league(run_dir)
        return (state is not None and bool(state.snapshots) and sum(sum(c.values()) for c in state.payoff.values()) > 0
                and exploiter_game_count(state) > 0
                and any("league_exploitability" in r for r in metrics_records(run_dir)))

    run_dir = tmp_path / "run"
    summary = train(3.0, league_under_way, "snapshots played by the main agent and exploiter games", resume=False)
    state = read_league(run_dir)
    assert state is not None and state.snapshots, "snapshots of the main agent"
    names = state.names()
    assert summary["league"]["snapshots"] == names and all(n.startswith("step-") for n in names)
    assert all((run_dir / "league" / "snapshots" / n / "checkpoints").is_dir() for n in names)
    counted = {n: sum(c.values()) for n, c in state.payoff.items()}
    assert sum(counted.values()) > 0, "the main agent's league games are counted per snapshot"
    stored = _league_games(run_dir)
    league_games = [t for t in stored if t.opponent is not None]
    assert league_games and {t.opponent for t in league_games} <= set(names)
    assert all(t.trained_side in (0, 1) for t in league_games)
    assert any(t.opponent is None for t in stored), "league.share = 0.5: self-play goes on"
    exploiter_dir = run_dir / "league" / "exploiter-0" / "g1"
    exploiter_games = _league_games(exploiter_dir)
    assert exploiter_games and all(t.opponent.startswith("main-v") and t.trained_side in (0, 1)
                                   for t in exploiter_games), "the exploiter plays only the main agent"
    games_before = state.exploiters[0].games
    assert games_before > 0 and state.exploiters[0].generation == 1
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("league_snapshots") for r in records) and any("league_exploitability" in r for r in records)

    # A restart continues the league: its snapshots, payoff counts and the exploiter's run.
    train(3.0, lambda: exploiter_game_count(read_league(run_dir)) > games_before,
          "more exploiter games after the restart")
    after = read_league(run_dir)
    assert set(names) <= set(after.names())
    assert all(sum(after.payoff.get(n, {}).values()) >= c for n, c in counted.items())
    assert after.exploiters[0].generation == 1 and after.exploiters[0].games > games_before
    assert len(list((exploiter_dir / "checkpoints").glob("ckpt-*.json"))) >= 1

    # A damaged league file: one warning, and the league starts again from the snapshots on disk.
    (run_dir / "league.json").write_text('{"format": "zeroplay-league", "format_version": 1, "snapshots": 7}')
    on_disk = sorted(p.name for p in (run_dir / "league" / "snapshots").iterdir())
    with caplog.at_level(logging.WARNING, logger="cluster.runtime.league"):
        run_training(resolve("tictactoe", run__minutes=0.2), run_dir, resume=True, out=io.StringIO())
    assert any("league.json" in r.getMessage() and "starts again" in r.getMessage() for r in caplog.records)
    recovered = read_league(run_dir)
    assert on_disk and set(on_disk) <= set(recovered.names())
    assert recovered.exploiters[0].games < after.exploiters[0].games  # its counts started again
