"""Tests of selfplay.trajectory: the record, its untrusted wire format and training arrays."""

from __future__ import annotations

import dataclasses

import msgpack
import numpy as np
import pytest

import games
from selfplay.trajectory import (
    FORMAT_VERSION,
    Trajectory,
    TrajectoryError,
    decode,
    decode_training,
    encode,
    training_arrays,
    validate,
)

TTT = games.make("tictactoe")


def make_trajectory(moves=("a1", "a2", "b1", "b2", "c3", "b3", "c1"), version=3) -> Trajectory:
    """A finished tic-tac-toe game with uniform policies over the legal moves."""
    state = TTT.initial_state()
    actions, policies, values = [], [], []
    for i, m in enumerate(moves):
        n = len(state.legal_actions())
        actions.append(state.parse_action(m))
        policies.append(np.full(n, 1.0 / n, dtype=np.float32))
        values.append(0.1 * (i % 3) - 0.1)
        state = state.apply_text(m)
    assert state.is_terminal()
    return Trajectory(
        game_spec=TTT.spec(),
        weights_version=version,
        actions=np.array(actions, dtype=np.int64),
        policies=tuple(policies),
        root_values=np.array(values, dtype=np.float32),
        returns=state.returns(),
    )


def message_of(traj: Trajectory) -> dict:
    return msgpack.unpackb(encode(traj), raw=False)


def pack(message: dict) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def test_round_trip():
    traj = make_trajectory()
    data = encode(traj)
    assert isinstance(data, bytes)
    back = decode(data)
    assert back.game_spec == traj.game_spec
    assert back.weights_version == 3
    np.testing.assert_array_equal(back.actions, traj.actions)
    assert back.actions.dtype == np.int64 and back.root_values.dtype == np.float32
    assert len(back.policies) == len(traj.policies)
    for a, b in zip(back.policies, traj.policies):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32
    np.testing.assert_array_equal(back.root_values, traj.root_values)
    assert back.returns == traj.returns == (1.0, -1.0)
    assert back.termination == "terminal" and back.resigned_by is None
    assert message_of(traj)["version"] == FORMAT_VERSION


def test_training_arrays():
    traj = make_trajectory()
    obs, masks, targets, values = training_arrays(traj)
    t = len(traj.actions)
    assert obs.shape == (t, 3, 3, 3) and obs.dtype == np.float32
    assert masks.shape == (t, 9) and masks.dtype == bool
    assert targets.shape == (t, 9) and targets.dtype == np.float32
    assert values.shape == (t,) and values.dtype == np.float32
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    assert (targets[~masks] == 0).all()
    # X (player 0) won: +1 on X's moves (even plies), -1 on O's
    np.testing.assert_array_equal(values, [1, -1, 1, -1, 1, -1, 1])
    np.testing.assert_array_equal(obs[0], TTT.initial_state().observation())
    assert masks[0].all() and masks[1].sum() == 8


def test_draw_training_values():
    traj = make_trajectory(("a1", "a2", "b2", "c1", "a3", "c3", "c2", "b1", "b3"))
    assert traj.returns == (0.0, 0.0)
    _, _, _, values = training_arrays(decode(encode(traj)))
    assert (values == 0).all()


@pytest.mark.parametrize("cut", [0, 1, 5, 20, -1, -7])
def test_truncated_bytes(cut):
    data = encode(make_trajectory())
    with pytest.raises(TrajectoryError):
        decode(data[:cut])


def test_random_and_fuzzed_bytes_only_raise_trajectory_error():
    rng = np.random.default_rng(0)
    data = bytearray(encode(make_trajectory()))
    for size in (0, 1, 2, 10, 100, 1000):
        with pytest.raises(TrajectoryError):
            decode(rng.bytes(size))
    for _ in range(400):
        fuzzed = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            fuzzed[int(rng.integers(len(fuzzed)))] = int(rng.integers(256))
        try:
            decode(bytes(fuzzed))
        except TrajectoryError:
            pass
    for obj in (None, 3, "x", [1, 2], {"a": 1}, {1: 2}):
        with pytest.raises(TrajectoryError):
            decode(pack(obj) if obj is not None else b"\xc0")
    with pytest.raises(TrajectoryError):
        decode("not bytes")  # type: ignore[arg-type]


def test_oversized_input():
    data = encode(make_trajectory())
    with pytest.raises(TrajectoryError, match="limit"):
        decode(data, max_bytes=len(data) - 1)
    assert decode(data, max_bytes=len(data)).weights_version == 3


def _mutated(**changes) -> bytes:
    msg = message_of(make_trajectory())
    for key, value in changes.items():
        if value is KeyError:
            del msg[key]
        else:
            msg[key] = value
    return pack(msg)


def _array(values, dtype) -> dict:
    a = np.asarray(values, dtype=dtype)
    return {"dtype": dtype, "shape": list(a.shape), "data": a.tobytes()}


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"version": FORMAT_VERSION + 1}, "version"),
        ({"version": "1"}, "version"),
        ({"format": "other"}, "format"),
        ({"extra": 1}, "keys"),
        ({"returns": KeyError}, "keys"),
        ({"weights_version": -1}, "weights_version"),
        ({"weights_version": 1.5}, "weights_version"),
        ({"game": {"name": "nosuchgame"}}, "game"),
        ({"game": {"name": "tictactoe", "size": 4}}, "game"),
        ({"game": "tictactoe"}, "game"),
        ({"actions": _array([6, 3, 6, 4, 2, 1, 8], "<i8")}, "illegal"),  # a1 played twice
        ({"actions": _array([6, 3, 7, 4, 2, 1, 8], "<i4")}, "dtype"),
        ({"actions": _array([6, 3, 7, 4, 2, 1], "<i8")}, "lengths"),
        ({"actions": _array([6, 3, 7, 4, 2, 1, 99], "<i8")}, "illegal"),
        ({"actions": {"dtype": "<i8", "shape": [7], "data": b"\x00" * 55}}, "bytes"),
        ({"actions": {"dtype": "<i8", "shape": [-7], "data": b""}}, "shape"),
        ({"root_values": _array([0, 0, 0, 0, 0, 0, 2.0], "<f4")}, "root values"),
        ({"root_values": _array([0, 0, 0, 0, 0, 0, np.nan], "<f4")}, "finite"),
        ({"returns": [-1.0, 1.0]}, "returns"),
        ({"returns": [1.0]}, "returns"),
        ({"returns": ["a", "b"]}, "returns"),
        ({"termination": "timeout"}, "termination"),
        ({"termination": "resigned", "resigned_by": 1}, "resign"),
        ({"resigned_by": 0}, "resigned_by"),
    ],
)
def test_rejections(changes, reason):
    with pytest.raises(TrajectoryError, match=reason):
        decode(_mutated(**changes))


def _policies_bytes(policies) -> bytes:
    msg = message_of(make_trajectory())
    flat = np.concatenate([np.asarray(p, np.float32) for p in policies])
    msg["policies"] = _array(flat, "<f4")
    msg["policy_lengths"] = _array([len(p) for p in policies], "<i8")
    return pack(msg)


def test_policy_rejections():
    good = [np.asarray(p) for p in make_trajectory().policies]
    assert decode(_policies_bytes(good)).num_moves == 7
    # not summing to 1
    bad = [p.copy() for p in good]
    bad[2] = bad[2] * 0.5
    with pytest.raises(TrajectoryError, match="probability"):
        decode(_policies_bytes(bad))
    # negative entry summing to 1
    bad = [p.copy() for p in good]
    bad[0][0] -= 0.5
    bad[0][1] += 0.5
    with pytest.raises(TrajectoryError, match="probability"):
        decode(_policies_bytes(bad))
    # NaN
    bad = [p.copy() for p in good]
    bad[1][0] = np.nan
    with pytest.raises(TrajectoryError, match="finite"):
        decode(_policies_bytes(bad))
    # wrong length for the number of legal moves
    bad = [p.copy() for p in good]
    bad[3] = np.full(len(bad[3]) + 1, 1.0 / (len(bad[3]) + 1), np.float32)
    with pytest.raises(TrajectoryError, match="legal moves"):
        decode(_policies_bytes(bad))
    # lengths that do not partition the flat array
    msg = message_of(make_trajectory())
    msg["policy_lengths"] = _array([9, 8, 7, 6, 5, 4, 4], "<i8")
    with pytest.raises(TrajectoryError, match="partition"):
        decode(pack(msg))


def test_game_not_finished_is_rejected():
    traj = make_trajectory()
    short = dataclasses.replace(
        traj, actions=traj.actions[:-1], policies=traj.policies[:-1], root_values=traj.root_values[:-1]
    )
    with pytest.raises(TrajectoryError, match="do not end"):
        decode(encode(short))


def test_resignation_is_modelled():
    traj = make_trajectory()
    short = dataclasses.replace(
        traj,
        actions=traj.actions[:-1],
        policies=traj.policies[:-1],
        root_values=traj.root_values[:-1],
        returns=(-1.0, 1.0),
        termination="resigned",
        resigned_by=0,  # X is to move after 6 plies
    )
    back = decode(encode(short))
    assert back.termination == "resigned" and back.resigned_by == 0
    _, _, _, values = training_arrays(back)
    assert values[0] == -1.0 and values[1] == 1.0
    with pytest.raises(TrajectoryError):
        decode(encode(dataclasses.replace(short, resigned_by=1, returns=(1.0, -1.0))))
    with pytest.raises(TrajectoryError):
        decode(encode(dataclasses.replace(short, returns=(1.0, -1.0))))


def test_validate_trusted_object():
    traj = make_trajectory()
    assert validate(traj) == TTT
    with pytest.raises(TrajectoryError):
        validate(dataclasses.replace(traj, actions=traj.actions[[1, 0, 2, 3, 4, 5, 6]]))  # no line at the end


def test_connect4_round_trip():
    c4 = games.make("connect4")
    state = c4.initial_state()
    rng = np.random.default_rng(0)
    actions, policies = [], []
    while not state.is_terminal():
        legal = state.legal_actions()
        a = legal[int(rng.integers(len(legal)))]
        actions.append(a)
        policies.append(np.full(len(legal), 1 / len(legal), np.float32))
        state = state.apply(a)
    traj = Trajectory(
        game_spec=c4.spec(),
        weights_version=0,
        actions=np.array(actions, np.int64),
        policies=tuple(policies),
        root_values=np.zeros(len(actions), np.float32),
        returns=state.returns(),
    )
    obs, masks, targets, values = training_arrays(decode(encode(traj)))
    assert obs.shape == (len(actions), *c4.observation_shape)
    assert targets.shape == (len(actions), 7)


@pytest.mark.parametrize("q_weight", [0.0, 0.5])
def test_decode_training_builds_the_arrays_of_training_arrays_in_one_replay(q_weight):
    traj = make_trajectory()
    back, arrays = decode_training(encode(traj), TTT, q_weight=q_weight)
    assert back.actions.tolist() == traj.actions.tolist() and back.returns == traj.returns
    for got, want in zip(arrays, training_arrays(traj, TTT, q_weight=q_weight)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("changes,reason", [
    ({"actions": _array([6, 3, 6, 4, 2, 1, 8], "<i8")}, "illegal"),
    ({"returns": [-1.0, 1.0]}, "returns"),
    ({"version": "1"}, "version"),
])
def test_decode_training_rejects_what_decode_rejects(changes, reason):
    with pytest.raises(TrajectoryError, match=reason):
        decode_training(_mutated(**changes), TTT)


def test_decode_training_refuses_another_game():
    with pytest.raises(TrajectoryError, match=r"is not this run's \{'name': 'connect4'"):
        decode_training(encode(make_trajectory()), games.make("connect4"))
