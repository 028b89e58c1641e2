"""Tests of the engines' time keeping (cluster/engines/timing.py and Engine.analyse's deadline), on a fake clock.

The fake clock moves only when the network is called (a fixed cost per call), so every
deadline here is checked exactly, without wall-clock timing.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import games
from cluster.engines.engine import Engine, EngineConfig, EngineError
from cluster.engines.timing import TimeConfig, TimeManager, TimingError, clock_budget

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class FakeClock:
    """A clock that the evaluator below advances by ``cost`` seconds per network call."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fake_engine(tiny_engine, game: str = "connect4", *, cost: float = 0.01, overhead: float = 0.02,
                algorithm: str = "gumbel", on_call=None, **options) -> tuple[Engine, FakeClock, list[int]]:
    """An engine whose network calls each take ``cost`` seconds of a fake clock; also returns the call log."""
    base = tiny_engine(game, **options)
    clock = FakeClock()
    calls: list[int] = []

    def evaluate(observations, masks):
        clock.now += cost
        calls.append(len(observations))
        if on_call is not None:
            on_call(len(calls))
        return base.evaluate(observations, masks)

    config = EngineConfig(sims=8, algorithm=algorithm)
    timing = TimeManager(TimeConfig(move_overhead=overhead), clock=clock)
    return Engine(base.game, evaluate, config, timing=timing), clock, calls


def test_clock_budget() -> None:
    assert clock_budget(60.0, 0.0, 10) == pytest.approx(6.0)
    assert clock_budget(30.0) == pytest.approx(1.0)  # 30 moves to go by default
    assert clock_budget(9.0, 1.0) == pytest.approx(0.3 + 0.75)
    assert clock_budget(1.0, 5.0) == pytest.approx(0.8)  # never more than 80% of the clock
    assert clock_budget(2.0, 0.0, 1) == pytest.approx(1.6)
    assert clock_budget(2.0, 0.0, 0) == pytest.approx(1.6)  # "0 moves to go" counts as 1
    assert clock_budget(0.0, 0.0) == 0.0
    assert clock_budget(1e300) == pytest.approx(7 * 24 * 3600 / 30)  # capped at a week
    for bad in (float("inf"), float("nan"), -1.0, True, "1"):
        with pytest.raises(TimingError, match="remaining time"):
            clock_budget(bad)  # type: ignore[arg-type]
    with pytest.raises(TimingError, match="moves to go"):
        clock_budget(1.0, 0.0, -3)
    with pytest.raises(TimingError, match="move_overhead"):
        TimeConfig(move_overhead=11.0)


def test_deadline_and_estimates() -> None:
    clock = FakeClock()
    manager = TimeManager(TimeConfig(move_overhead=0.05), clock=clock)
    assert manager.deadline(1.0) == pytest.approx(101.0 - 0.05)
    assert manager.deadline(1.0, received=90.0) == pytest.approx(91.0 - 0.05)
    with pytest.raises(TimingError, match="time budget"):
        manager.deadline(float("nan"))
    assert not manager.measured and manager.simulations_within(200.0) == 1
    manager.record_first_step(0.03)
    manager.record_step(0.01)
    assert manager.can_search(100.03) and not manager.can_search(100.02)
    assert manager.simulations_within(100.13) == 1 + 10  # the first step, then ten more
    assert manager.simulations_within(100.13, fresh_root=False) == 1 + 12
    stopper = manager.stopper(deadline=100.05)
    clock.now += 0.03
    assert not stopper()  # 100.03 + a step of ~0.01 ends by the deadline
    clock.now += 0.01
    assert stopper() and stopper.stopped  # 100.04 + 0.01 would not end before it


@pytest.mark.parametrize("algorithm", ["gumbel", "puct"])
@pytest.mark.parametrize("seconds", [0.05, 0.3])
def test_a_timed_search_ends_by_its_deadline(tiny_engine, algorithm: str, seconds: float) -> None:
    engine, clock, calls = fake_engine(tiny_engine, algorithm=algorithm)
    state = engine.game.initial_state()
    for received_late_by in (0.0, 0.02):  # time spent before the search counts
        received = clock.now
        clock.now += received_late_by
        analysis = engine.analyse(state, seconds=seconds, received=received)
        assert analysis.seconds <= seconds - 0.02 + 1e-9  # the move overhead kept back
        assert state.legal_mask()[analysis.action]
        # 10 ms left after 20 late and 20 overhead: too short for a search's first step (root and one simulation)
        assert analysis.simulations >= 1 if (seconds, received_late_by) != (0.05, 0.02) else analysis.simulations == 0
    if seconds == 0.3:  # then it uses its time: at most one step left unused
        assert analysis.seconds > seconds - 0.02 - 0.011 - received_late_by


def test_gumbel_plans_its_budget_from_measured_steps(tiny_engine) -> None:
    engine, clock, calls = fake_engine(tiny_engine)
    state = engine.game.initial_state()
    engine.warm_up(state)
    assert engine.timing.step == pytest.approx(0.01) and engine.timing.first_step == pytest.approx(0.02)
    calls.clear()
    analysis = engine.analyse(state, seconds=0.5)
    assert len(calls) == analysis.simulations + 1  # one search: the root and one call per simulation
    assert 0.45 < analysis.seconds <= 0.48 + 1e-9


def test_too_short_a_budget_is_answered_by_the_network(tiny_engine) -> None:
    engine, clock, calls = fake_engine(tiny_engine)
    state = engine.game.initial_state()
    engine.warm_up(state)
    calls.clear()
    analysis = engine.analyse(state, seconds=0.03)  # 10 ms after the overhead, a search's first step takes 20
    assert analysis.simulations == 0 and len(calls) == 1 and state.legal_mask()[analysis.action]
    assert engine.analyse(state, seconds=0.0).simulations == 0
    with pytest.raises(EngineError, match="seconds"):
        engine.analyse(state, seconds=float("inf"))
    with pytest.raises(EngineError, match="sims"):
        engine.analyse(state, sims=1_000_001)


@pytest.mark.parametrize("algorithm", ["gumbel", "puct"])
def test_stop_ends_a_search_within_one_step(tiny_engine, algorithm: str) -> None:
    stop = threading.Event()

    def stop_at(call: int) -> None:
        if call == 40:
            stop.set()

    engine, clock, calls = fake_engine(tiny_engine, algorithm=algorithm, on_call=stop_at)
    analysis = engine.analyse(engine.game.initial_state(), stop=stop)  # until stopped
    assert len(calls) == 40 and analysis.simulations == 39


def test_warm_up_leaves_the_moves_alone(tiny_engine) -> None:
    state = games.make("connect4").initial_state().apply_text("4")
    cold, _, _ = fake_engine(tiny_engine)
    warm, _, _ = fake_engine(tiny_engine)
    warm.warm_up()
    a, b = cold.analyse(state, sims=24), warm.analyse(state, sims=24)
    assert a.action == b.action and np.array_equal(a.visit_counts, b.visit_counts)


def test_a_slow_step_is_believed_at_once_and_forgotten_at_the_next() -> None:
    manager = TimeManager()
    for _ in range(5):
        manager.record_first_step(0.02)
        manager.record_step(0.01)
    manager.record_first_step(1.0)  # the machine became busy, or one burst of other work
    manager.record_step(0.5)
    assert manager.first_step == pytest.approx(1.0) and manager.step == pytest.approx(0.5)
    manager.record_first_step(0.02)
    manager.record_step(0.01)
    assert manager.first_step == pytest.approx(0.02) and manager.step == pytest.approx(0.01)


def test_short_moves_search_again_once_the_machine_is_fast_again(tiny_engine) -> None:
    """Estimates from a slow moment do not lock short moves into network-only answers."""
    engine, clock, calls = fake_engine(tiny_engine)
    state = engine.game.initial_state()
    for _ in range(9):
        engine.timing.record_first_step(0.5)  # measured while the machine was busy
    answers = [engine.analyse(state, seconds=0.1).simulations for _ in range(8)]
    assert answers[0] == 0 and answers[-1] > 0, answers


def test_gtp_genmove_keeps_the_byo_yomi(tiny_engine) -> None:
    from cluster.engines.gtp import GtpEngine

    engine, clock, calls = fake_engine(tiny_engine, "go", size=9)
    engine = engine.with_limits(sims=1_000_000)  # time is the only limit
    session = GtpEngine(engine, resign_threshold=-1.0)
    session.handle("time_settings 0 0.5 1")
    for colour in "bw" * 3:
        session.handle(f"time_left {colour} 0.5 1")
        before = clock.now
        assert session.handle(f"genmove {colour}").startswith("= ")
        assert 0.3 < clock.now - before <= 0.8 * 0.5 - 0.02 + 1e-9  # 80% of the period, less the overhead


def test_play_with_seconds_keeps_them(tiny_engine) -> None:
    from cluster.engines.play import PlaySession

    engine, clock, calls = fake_engine(tiny_engine)
    session = PlaySession(engine, human=0, seconds=0.2)
    session.start()
    before = clock.now
    assert "engine plays" in session.handle("4")
    assert 0.1 < clock.now - before <= 0.2 - 0.02 + 1e-9
