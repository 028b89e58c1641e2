"""Tests of selfplay.trajectory: the record, its untrusted wire format and training arrays."""

from __future__ import annotations

import dataclasses

import msgpack
import numpy as np
import pytest
from go_games import WALL_MOVES, resigned_trajectory, walls_ownership, walls_trajectory

import games
from selfplay.trajectory import (
    FORMAT_VERSION,
    Trajectory,
    TrajectoryError,
    decode,
    decode_training,
    decode_training_targets,
    encode,
    has_final_area,
    training_arrays,
    training_targets,
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
    for a, b in zip(back.policies, traj.policies, strict=True):
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
    for got, want in zip(arrays, training_arrays(traj, TTT, q_weight=q_weight), strict=True):
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


# ----------------------------------------------------------------- ranges and sizes at decode


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"weights_version": 2**63}, r"weights_version .*2\*\*62"),  # decoded, then overflowed int64 in the replay
        ({"weights_version": 2**62 + 1}, r"weights_version .*2\*\*62"),
        ({"returns": [float("nan"), float("nan")]}, r"returns .*finite"),
        ({"returns": [float("inf"), float("-inf")]}, r"returns .*finite"),
        ({"returns": [2.0, -2.0]}, r"returns .*\[-1, 1\]"),
        ({"returns": [1.0, -1.0, 0.0]}, r"returns .*2"),
        ({"resigned_by": 2}, r"resigned_by .*0, 1 or None"),
        ({"resigned_by": -1}, r"resigned_by .*0, 1 or None"),
        ({"game": {"name": "tictactoe", "x": 2**63}}, r"game: option 'x' .*int64"),
        ({"game": {"name": "tictactoe", "x": 2**64 - 1}}, r"game: option 'x' .*int64"),
        ({"game": {"name": "tictactoe", "x": "y" * 257}}, r"game: option 'x' .*256"),
        ({"game": {"name": "tictactoe", **{f"k{i}": 0 for i in range(16)}}}, r"game: .*17 entries.*16"),
        ({"game": {"name": "tictactoe", "k" * 65: 0}}, r"game: option name .*64"),
        ({"game": {"name": "go", "komi": 1e308}}, r"game spec .*komi"),
    ],
)
def test_ranges_are_checked_at_decode(changes, reason):
    data = _mutated(**changes)
    with pytest.raises(TrajectoryError, match=reason):
        decode(data)
    with pytest.raises(TrajectoryError, match=reason):
        decode_training(data, TTT)


def test_the_largest_weights_version_is_accepted_and_fits_int64():
    traj = decode(_mutated(weights_version=2**62))
    assert traj.weights_version == 2**62
    assert np.int64(traj.weights_version) == 2**62


def _plies_record(num_plies: int, spec: dict, num_legal: int = 1) -> bytes:
    """A record of ``num_plies`` plies whose arrays are consistent with each other (not with the rules)."""
    msg = message_of(make_trajectory())
    msg["game"] = spec
    msg["actions"] = _array(np.zeros(num_plies), "<i8")
    msg["policy_lengths"] = _array(np.full(num_plies, num_legal), "<i8")
    msg["policies"] = _array(np.full(num_plies * num_legal, 1.0 / num_legal), "<f4")
    msg["root_values"] = _array(np.zeros(num_plies), "<f4")
    return pack(msg)


def test_more_plies_than_the_game_allows_is_rejected_before_the_replay():
    with pytest.raises(TrajectoryError, match=r"actions: 10 entries, at most 9 \(plies\) in a tictactoe game"):
        decode(_plies_record(10, TTT.spec()))
    with pytest.raises(TrajectoryError, match=r"at most 9"):
        decode_training(_plies_record(10, TTT.spec()), TTT)


def test_policy_lengths_beyond_the_action_space_are_rejected():
    with pytest.raises(TrajectoryError, match=r"policy_lengths must lie in 0\.\.9"):
        decode(_plies_record(2, TTT.spec(), num_legal=10))
    msg = message_of(make_trajectory())
    # Entries that would overflow int64 when summed to match the flat array's length.
    msg["policy_lengths"] = _array([2**62, 2**62, 2**62, 2**62, 1, 1, 1], "<i8")
    with pytest.raises(TrajectoryError, match=r"policy_lengths"):
        decode(pack(msg))


def _peak_bytes(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_decode_training_allocates_nothing_sized_by_an_unvalidated_record():
    chess = games.make("chess")
    # ~14 MB claiming 580,000 plies: sized by the record, the training arrays would take ~30 GiB.
    data = _plies_record(580_000, chess.spec())
    assert len(data) < 16 * 1024 * 1024

    def run() -> None:
        with pytest.raises(TrajectoryError, match="at most 512"):
            decode_training(data, chess)

    assert _peak_bytes(run) < 3 * len(data) + (16 << 20)


def test_containers_in_a_record_are_bounded_before_they_are_built():
    # One MB of empty maps costs ~64 MB as Python dicts if msgpack builds them all.
    msg = message_of(make_trajectory())
    msg["game"] = {"name": "tictactoe", "x": [{}] * 1_000_000}
    data = pack(msg)

    def run() -> None:
        with pytest.raises(TrajectoryError):
            decode(data)

    assert _peak_bytes(run) < 4 * len(data) + (4 << 20)


@pytest.mark.parametrize(
    "data",
    [
        b"\x91" * 100_000,  # arrays nested 100,000 deep
        b"\x81\xa1a" * 100_000,  # maps nested 100,000 deep
        b"\xdd\xff\xff\xff\xff",  # an array claiming 2**32 - 1 entries
        b"\xdf\xff\xff\xff\xff",  # a map claiming 2**32 - 1 entries
        b"\xc6\xff\xff\xff\xff",  # bin claiming 4 GiB
        b"\xcf" + b"\xff" * 8,  # 2**64 - 1
    ],
)
def test_hostile_msgpack_gives_trajectory_error(data):
    with pytest.raises(TrajectoryError):
        decode(data)
    with pytest.raises(TrajectoryError):
        decode_training(data, TTT)


def test_cheap_plies_carry_no_policy_target_and_train_values_only():
    """Playout cap randomization: a ply searched cheaply stores an empty policy and trains no policy."""
    full = make_trajectory()
    cheap = {1, 4}
    policies = tuple(np.zeros(0, np.float32) if i in cheap else p for i, p in enumerate(full.policies))
    traj = dataclasses.replace(full, policies=policies)
    back = decode(encode(traj))
    assert [len(p) == 0 for p in back.policies] == [i in cheap for i in range(len(policies))]
    _, (obs, masks, targets, values) = decode_training(encode(traj), TTT)
    assert (targets[sorted(cheap)] == 0).all()
    np.testing.assert_allclose(targets[[0, 2, 3, 5, 6]].sum(axis=1), 1.0, atol=1e-6)
    assert len(values) == len(policies)
    # A version-1 record may not leave a ply without its policy.
    msg = message_of(traj)
    msg["version"] = 1
    del msg["resign_threshold"], msg["playthrough"], msg["opponent"], msg["trained_side"]
    with pytest.raises(TrajectoryError, match=r"policy_lengths must lie in 1\.\.9"):
        decode(pack(msg))


def test_version_1_records_still_decode():
    msg = message_of(make_trajectory())
    msg["version"] = 1
    del msg["resign_threshold"], msg["playthrough"], msg["opponent"], msg["trained_side"]
    back = decode(pack(msg))
    assert back.resign_threshold is None and back.playthrough is False
    np.testing.assert_array_equal(back.actions, make_trajectory().actions)
    msg["playthrough"] = True  # a version-2 key in a version-1 record
    with pytest.raises(TrajectoryError, match="unexpected"):
        decode(pack(msg))


@pytest.mark.parametrize("field,value,match", [
    ("resign_threshold", 1.5, "resign_threshold"), ("resign_threshold", float("nan"), "resign_threshold"),
    ("resign_threshold", "low", "resign_threshold"), ("playthrough", 1, "playthrough"),
])
def test_resignation_fields_are_checked(field, value, match):
    msg = message_of(make_trajectory())
    msg[field] = value
    with pytest.raises(TrajectoryError, match=match):
        decode(pack(msg))
    traj = dataclasses.replace(make_trajectory(), resign_threshold=-0.9, playthrough=True)
    back = decode(encode(traj))
    assert back.resign_threshold == pytest.approx(-0.9) and back.playthrough is True


def _cut(traj: Trajectory, plies: int, **changes) -> Trajectory:
    return dataclasses.replace(
        traj, actions=traj.actions[:plies], policies=traj.policies[:plies], root_values=traj.root_values[:plies],
        **changes,
    )


def test_adjudicated_result_is_the_records_not_the_rules():
    """A game record's result reached outside the rules: returns as given, the final position unchecked."""
    traj = make_trajectory()  # X wins by the rules after 7 plies
    # Cut after 4 plies (X to move) and given to O, e.g. X lost on time or O was adjudicated the winner.
    cut = _cut(traj, 4, termination="adjudicated", returns=(-1.0, 1.0))
    back = decode(encode(cut))
    assert back.termination == "adjudicated" and back.resigned_by is None and back.returns == (-1.0, 1.0)
    assert message_of(cut)["version"] == 2
    _, _, _, values = training_arrays(back)
    np.testing.assert_array_equal(values, [-1, 1, -1, 1])
    # An agreed draw in a finished game the rules gave to X: still the record's result.
    assert decode(encode(dataclasses.replace(traj, termination="adjudicated", returns=(0.0, 0.0)))).returns == (0, 0)
    # A fractional score (an adjudicated margin) in [-1, 1] is allowed.
    assert decode(encode(_cut(traj, 4, termination="adjudicated", returns=(0.5, -0.5)))).returns == (0.5, -0.5)


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"returns": (1.0, 1.0)}, "zero-sum"),
        ({"returns": (0.5, 0.0)}, "zero-sum"),
        ({"returns": (2.0, -2.0)}, r"\[-1, 1\]"),
        ({"resigned_by": 0, "returns": (-1.0, 1.0)}, "resigned_by"),
    ],
)
def test_adjudicated_results_are_checked(changes, match):
    cut = _cut(make_trajectory(), 4, termination="adjudicated", **{"returns": (-1.0, 1.0), **changes})
    with pytest.raises(TrajectoryError, match=match):
        decode(encode(cut))
    with pytest.raises(TrajectoryError, match=match):
        validate(cut)


def test_adjudicated_is_refused_in_version_1_and_the_old_terminations_are_unchanged():
    cut = _cut(make_trajectory(), 4, termination="adjudicated", returns=(-1.0, 1.0))
    msg = message_of(cut)
    msg["version"] = 1
    del msg["resign_threshold"], msg["playthrough"], msg["opponent"], msg["trained_side"]
    with pytest.raises(TrajectoryError, match="version 1"):
        decode(pack(msg))
    # A version-1 resignation and a version-1 finished game decode as before.
    msg = message_of(make_trajectory())
    msg["version"] = 1
    del msg["resign_threshold"], msg["playthrough"], msg["opponent"], msg["trained_side"]
    assert decode(pack(msg)).termination == "terminal"
    # The rules still decide a "terminal" game, and "resigned" still needs the mover as the resigner.
    with pytest.raises(TrajectoryError, match="do not end"):
        decode(encode(_cut(make_trajectory(), 4)))
    with pytest.raises(TrajectoryError, match="player to move"):
        decode(encode(_cut(make_trajectory(), 4, termination="resigned", resigned_by=1, returns=(1.0, -1.0))))


# ------------------------------------------------------------------ final-area targets (Go)
def test_ownership_and_score_targets_are_the_final_area_from_the_movers_side():
    traj = walls_trajectory(komi=0.5)
    assert traj.returns == (-1.0, 1.0)  # 10 - 10 - 0.5: White wins by half a point
    targets = training_targets(traj)
    t = len(WALL_MOVES)
    assert targets.ownership_targets.shape == (t, 5, 5) and targets.ownership_targets.dtype == np.float32
    assert targets.score_targets.shape == (t,) and targets.area_mask.shape == (t,)
    assert targets.area_mask.all()
    black = walls_ownership()
    for ply in range(t):
        mover_is_black = ply % 2 == 0
        np.testing.assert_array_equal(targets.ownership_targets[ply], black if mover_is_black else -black)
        assert targets.score_targets[ply] == (-0.5 if mover_is_black else 0.5)
    # the first four fields are training_arrays' arrays
    for got, want in zip(targets[:4], training_arrays(traj), strict=True):
        np.testing.assert_array_equal(got, want)
    # the target's orientation is the observation's: at the last ply (White to move) the
    # mover's stones (plane 0) are all points the target gives the mover
    last = targets.observations[-1]
    assert (targets.ownership_targets[-1][last[0] == 1] == 1).all() and last[0].sum() == 5
    assert (targets.ownership_targets[-1][last[1] == 1] == -1).all() and last[1].sum() == 5


def test_score_targets_follow_komi_and_the_ownership_does_not():
    targets = training_targets(walls_trajectory(komi=-3.0))  # Black gives White -3: Black wins by 3
    np.testing.assert_array_equal(targets.score_targets[:2], [3.0, -3.0])
    np.testing.assert_array_equal(targets.ownership_targets[0], walls_ownership())


def test_decode_training_targets_match_the_replayed_ones():
    traj = walls_trajectory()
    game = traj.game()
    back, decoded = decode_training_targets(encode(traj), game, q_weight=0.5)
    assert back.num_moves == len(WALL_MOVES)
    for got, want in zip(decoded, training_targets(traj, game, q_weight=0.5), strict=True):
        np.testing.assert_array_equal(got, want)
    _, arrays = decode_training(encode(traj), game, q_weight=0.5)
    assert len(arrays) == 4
    for got, want in zip(arrays, decoded[:4], strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_resigned_game_has_no_ownership_rows():
    traj = resigned_trajectory(6)
    back, targets = decode_training_targets(encode(traj), traj.game())
    assert back.termination == "resigned"
    assert targets.area_mask.shape == (6,) and not targets.area_mask.any()
    assert (targets.ownership_targets == 0).all() and (targets.score_targets == 0).all()
    np.testing.assert_array_equal(targets.value_targets, [-1, 1, -1, 1, -1, 1])  # its values still train


def test_only_the_trained_sides_plies_get_final_area_targets():
    traj = dataclasses.replace(walls_trajectory(), trained_side=1, opponent="frozen")
    _, targets = decode_training_targets(encode(traj), traj.game())
    assert len(targets.value_targets) == len(WALL_MOVES) // 2 == len(targets.area_mask)
    assert (targets.ownership_targets == -walls_ownership()).all()  # White's view on every row
    assert (targets.score_targets == 0.5).all()


def test_games_without_a_final_area_have_no_area_targets():
    assert has_final_area(games.make("go", size=5)) and not has_final_area(TTT)
    assert not has_final_area(games.make("connect4"))
    targets = training_targets(make_trajectory())
    assert targets.ownership_targets is None and targets.score_targets is None and targets.area_mask is None
    _, decoded = decode_training_targets(encode(make_trajectory()), TTT)
    assert decoded.area_mask is None and len(decoded.value_targets) == 7


def test_rich_features_reach_the_training_arrays():
    traj = walls_trajectory(features="rich")
    targets = training_targets(traj)
    assert targets.observations.shape == (len(WALL_MOVES), 9 + 9, 5, 5)
    komi_plane = 0.5 / 15 * np.where(np.arange(len(WALL_MOVES)) % 2 == 0, -1.0, 1.0)  # the komi from the mover's side
    np.testing.assert_allclose(targets.observations[:, -1], np.broadcast_to(komi_plane[:, None, None], (12, 5, 5)))
