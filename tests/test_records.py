"""Sample game records: every game's record parses back to the same moves; sampling cadence and keep-limit."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import games
from games.pgn import read_pgn
from games.records import read_move_list
from games.sgf import read_sgf
from selfplay.records import GameSampler, RecordsError, record_text
from selfplay.trajectory import Trajectory


def random_trajectory(spec: dict, seed: int = 0, version: int = 3, resign_at: int | None = None) -> Trajectory:
    """A random game of ``spec`` (to the end, or resigned by the mover after ``resign_at`` plies)."""
    game = games.from_spec(spec)
    rng = random.Random(seed)
    state = game.initial_state()
    actions, policies = [], []
    while not state.is_terminal() and (resign_at is None or len(actions) < resign_at):
        legal = state.legal_actions()
        actions.append(rng.choice(legal))
        policies.append(np.full(len(legal), 1.0 / len(legal), dtype=np.float32))
        state = state.apply(actions[-1])
    if resign_at is not None and not state.is_terminal():
        returns = tuple(-1.0 if p == state.to_play else 1.0 for p in range(2))
        termination, resigned_by = "resigned", state.to_play
    else:
        returns, termination, resigned_by = tuple(float(r) for r in state.returns()), "terminal", None
    return Trajectory(
        game_spec=game.spec(), weights_version=version, actions=np.asarray(actions, dtype=np.int64),
        policies=tuple(policies), root_values=np.zeros(len(actions), dtype=np.float32), returns=returns,
        termination=termination, resigned_by=resigned_by,
    )


@pytest.mark.parametrize("name", ["tictactoe", "connect4"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_move_list_round_trip(name: str, seed: int) -> None:
    traj = random_trajectory({"name": name}, seed)
    ext, text = record_text(traj)
    assert ext == "txt"
    header, moves = read_move_list(text)
    assert header["WeightsVersion"] == "3"
    assert header["result"] in ("1-0", "0-1", "1/2-1/2")
    game = games.from_spec(json.loads(header["game"]))
    assert len(text.strip().splitlines()) == len(moves) + len(
        [line for line in text.splitlines() if line.startswith("#")]
    )  # one move per line
    state = game.initial_state()
    actions = []
    for move in moves:
        actions.append(state.parse_action(move))
        state = state.apply(actions[-1])
    assert actions == traj.actions.tolist()
    assert state.returns() == traj.returns


def test_go_sgf_round_trip() -> None:
    spec = {"name": "go", "size": 5, "komi": 0.5, "max_moves": 50}
    for seed in range(2):
        traj = random_trajectory(spec, seed, version=7)
        ext, text = record_text(traj)
        assert ext == "sgf"
        assert "PB[zeroplay v7]" in text and "PW[zeroplay v7]" in text
        record = read_sgf(text, max_moves=50)
        assert list(record.actions) == traj.actions.tolist()
        assert record.winner == (0 if traj.returns[0] > 0 else 1)
    resigned = random_trajectory(spec, 5, resign_at=6)
    record = read_sgf(record_text(resigned)[1], max_moves=50)
    assert record.result in ("B+R", "W+R") and list(record.actions) == resigned.actions.tolist()
    assert record.winner == (0 if resigned.returns[0] > 0 else 1)


def test_chess_pgn_round_trip() -> None:
    spec = {"name": "chess", "max_plies": 30}
    traj = random_trajectory(spec, 0, version=2)
    ext, text = record_text(traj)
    assert ext == "pgn"
    record = read_pgn(text)
    assert record.tags["Event"] == "zeroplay self-play"
    assert record.tags["White"] == record.tags["Black"] == "zeroplay v2"
    assert list(record.actions) == traj.actions.tolist()
    assert record.result == "1/2-1/2"  # the ply cap
    resigned = random_trajectory(spec, 1, resign_at=9)  # after 9 plies Black is to move and resigns
    record = read_pgn(record_text(resigned)[1])
    assert record.result == "1-0" and record.tags["Termination"] == "resignation"
    assert list(record.actions) == resigned.actions.tolist()


def test_sampler_cadence_and_keep(tmp_path) -> None:
    sampler = GameSampler(tmp_path / "games", every=3, keep=2)
    written = [sampler.offer(random_trajectory({"name": "tictactoe"}, i, version=i)) for i in range(1, 13)]
    paths = [p for p in written if p is not None]
    assert [p.name for p in paths] == [
        "game-00000003-v3.txt", "game-00000006-v6.txt", "game-00000009-v9.txt", "game-00000012-v12.txt"
    ]
    assert sorted(p.name for p in (tmp_path / "games").iterdir()) == ["game-00000009-v9.txt", "game-00000012-v12.txt"]
    # A restarted sampler continues the count: no file is overwritten.
    again = GameSampler(tmp_path / "games", every=3, keep=2)
    assert again.count == 12
    names = [again.offer(random_trajectory({"name": "tictactoe"}, 20 + i)) for i in range(3)]
    assert names[-1] is not None and names[-1].name == "game-00000015-v3.txt"


def test_sampler_rejects_bad_settings(tmp_path) -> None:
    with pytest.raises(RecordsError, match="every"):
        GameSampler(tmp_path, every=0)
    with pytest.raises(RecordsError, match="keep"):
        GameSampler(tmp_path, keep=-1)


def test_unreplayable_game_is_skipped_not_raised(tmp_path) -> None:
    traj = random_trajectory({"name": "tictactoe"}, 0)
    bad = Trajectory(
        game_spec=traj.game_spec, weights_version=1, actions=np.array([4, 4], dtype=np.int64),
        policies=traj.policies[:2], root_values=traj.root_values[:2], returns=(0.0, 0.0),
    )
    with pytest.raises(RecordsError, match="move 2"):
        record_text(bad)
    sampler = GameSampler(tmp_path, every=1, keep=5)
    assert sampler.offer(bad) is None
    assert list(tmp_path.iterdir()) == []


def test_adjudicated_game_is_written_with_its_result_not_the_rules() -> None:
    traj = random_trajectory({"name": "tictactoe"}, 0)
    cut = Trajectory(
        game_spec=traj.game_spec, weights_version=1, actions=traj.actions[:3], policies=traj.policies[:3],
        root_values=traj.root_values[:3], returns=(-1.0, 1.0), termination="adjudicated",
    )
    header, moves = read_move_list(record_text(cut)[1])
    assert header["ending"] == "adjudicated" and header["result"] == "0-1" and len(moves) == 3
