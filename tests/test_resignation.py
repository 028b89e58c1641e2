"""Resignation's false-resign measurement and threshold (AlphaGo Zero's rule) on hand-made games."""

from __future__ import annotations

import numpy as np
import pytest

from selfplay.resignation import ResignationMonitor, ResignationSettings, first_resignation, is_false_resignation
from selfplay.trajectory import Trajectory


def game(values: list[float], winner: int | None, playthrough: bool = True) -> Trajectory:
    """A finished game whose ply ``t`` (mover ``t % 2``) had searched value ``values[t]``."""
    returns = (0.0, 0.0) if winner is None else ((1.0, -1.0) if winner == 0 else (-1.0, 1.0))
    t = len(values)
    return Trajectory(game_spec={"name": "tictactoe"}, weights_version=0, actions=np.zeros(t, np.int64),
                      policies=tuple(np.zeros(0, np.float32) for _ in range(t)),
                      root_values=np.array(values, np.float32), returns=returns, playthrough=playthrough)


def test_first_resignation_is_the_first_mover_below_the_threshold():
    values = np.array([0.0, 0.1, -0.5, -0.95, -0.97, 0.2])
    assert first_resignation(values, -0.9) == 1  # ply 3, player 1
    assert first_resignation(values, -0.4) == 0  # ply 2, player 0
    assert first_resignation(values, -0.99) is None
    assert first_resignation(values, -0.4, min_moves=3) == 1


def test_a_false_resignation_is_one_whose_player_did_not_lose():
    assert is_false_resignation(game([0.0, -0.95, 0.5], winner=1), -0.9) is True  # player 1 would resign, won
    assert is_false_resignation(game([0.0, -0.95, 0.5], winner=None), -0.9) is True  # ... or drew
    assert is_false_resignation(game([0.0, -0.95, 0.5], winner=0), -0.9) is False
    assert is_false_resignation(game([0.0, 0.1], winner=0), -0.9) is None


def test_the_threshold_keeps_false_resignations_within_the_target():
    settings = ResignationSettings(enabled=True, min_games=10, target_false_rate=0.05, lowest=-0.99, highest=-0.5)
    monitor = ResignationMonitor(settings)
    rng = np.random.default_rng(0)
    # Player 1 sinks to -0.6 and comes back to win in 10% of the games; a player who sinks to -0.97 always loses.
    for i in range(200):
        comeback = i % 10 == 0
        if comeback:
            monitor.observe(game([0.0, -0.6, 0.0, 0.3], winner=1))
        else:
            monitor.observe(game([0.0, -0.97 + 0.01 * rng.random(), 0.5, -0.99], winner=0))
    monitor.observe(game([0.0, -0.99], winner=1, playthrough=False))  # not a playthrough game: ignored
    threshold = monitor.threshold()
    assert threshold is not None and -0.97 < threshold <= -0.6  # catches the lost games, never the comebacks
    stats = monitor.stats()
    assert stats["playthrough_games"] == 200 and stats["false_resign_rate"] <= 0.05
    assert stats["would_resign"] >= 150  # the lost games resign


def test_no_threshold_before_enough_games_or_when_disabled():
    enabled = ResignationMonitor(ResignationSettings(enabled=True, min_games=5))
    for _ in range(4):
        enabled.observe(game([0.0, -0.99], winner=0))
    assert enabled.threshold() is None
    enabled.observe(game([0.0, -0.99], winner=0))
    assert enabled.threshold() == pytest.approx(-0.5)  # nobody ever came back: the highest candidate
    disabled = ResignationMonitor(ResignationSettings(enabled=False, min_games=1))
    disabled.observe(game([0.0, -0.99], winner=0))
    assert disabled.threshold() is None
    always_wrong = ResignationMonitor(ResignationSettings(enabled=True, min_games=1))
    always_wrong.observe(game([-1.0, -1.0], winner=None))  # both would resign at once, and it was a draw
    assert always_wrong.threshold() is None


@pytest.mark.parametrize("kwargs", [{"playthrough_share": 1.5}, {"min_games": 0}, {"lowest": -0.5, "highest": -0.9},
                                    {"enabled": 1}])
def test_settings_are_checked(kwargs):
    with pytest.raises(ValueError):
        ResignationSettings(**kwargs)
