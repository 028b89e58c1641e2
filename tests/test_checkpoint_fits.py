"""The warm start's compatibility check: a checkpoint fits a run of the same game and network shape."""

from __future__ import annotations

import pytest

import games
from learner.checkpoint import CheckpointError, CheckpointMismatchError, check_checkpoint_fits
from learner.network import NetworkConfig

TINY = NetworkConfig(blocks=1, channels=8, value_hidden=8)  # tests/conftest.py's tiny network


def test_a_checkpoint_fits_its_own_game_and_network(tiny_checkpoint) -> None:
    run_dir = tiny_checkpoint("go", size=9)
    meta, notes = check_checkpoint_fits(run_dir, games.make("go", size=9), TINY)
    assert meta["step"] == 1 and notes == []


def test_options_that_leave_the_network_alone_are_noted_not_refused(tiny_checkpoint) -> None:
    _, notes = check_checkpoint_fits(tiny_checkpoint("go", size=9), games.make("go", size=9, komi=6.5, ko="simple"),
                                     TINY)
    assert notes == ["ko: checkpoint 'positional', run 'simple'", "komi: checkpoint 7.5, run 6.5"]


@pytest.mark.parametrize(
    "game,network,match",
    [
        (("go", {"size": 13}), TINY, r"games.make\('go', size=9.*but the run plays games.make\('go', size=13"),
        (("go", {"size": 9, "history": 2}), TINY, r"input \[9, 9, 9\].*input \[5, 9, 9\]"),
        (("tictactoe", {}), TINY, "but the run plays games.make\\('tictactoe'\\)"),
        (("go", {"size": 9}), NetworkConfig(blocks=2, channels=8, value_hidden=8), "blocks 1 vs 2"),
        (("go", {"size": 9}), NetworkConfig(blocks=1, channels=16, value_hidden=8), "channels 8 vs 16"),
    ],
)
def test_a_mismatched_checkpoint_is_refused_naming_both(tiny_checkpoint, game, network, match) -> None:
    run_dir = tiny_checkpoint("go", size=9)
    with pytest.raises(CheckpointMismatchError, match=match) as err:
        check_checkpoint_fits(run_dir, games.make(game[0], **game[1]), network)
    assert str(run_dir) in str(err.value) and isinstance(err.value, CheckpointError)


def test_no_checkpoint_is_a_checkpoint_error(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        check_checkpoint_fits(tmp_path, games.make("tictactoe"), TINY)
