"""Property-based fuzzing of the decoders of stored and transmitted records.

Each decoder takes outside bytes: trajectories (``decode``, ``decode_training``), replay
segments (``read_segment`` and the replay service's reload) and checkpoint metadata.
The contract checked for each: only the documented narrow error escapes, time is
bounded (the hypothesis deadline), memory is bounded by the input (tracemalloc), and
valid records made by random legal play are still accepted and round-trip.

The examples are few and derandomised so that the file runs in seconds and the same
way every time; ``ZEROPLAY_FUZZ_EXAMPLES=5000`` runs a longer, random search.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
from fuzz_helpers import examples, fuzz_settings, mutations
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from learner.checkpoint import CheckpointError, load_checkpoint, read_metadata, verify_checkpoint
from learner.replay_store import MAGIC, ReplayService, frame, read_segment
from selfplay.trajectory import Trajectory, TrajectoryError, decode, decode_training, encode, training_arrays

FUZZ = fuzz_settings(60, 2)

GAMES = [games.make("tictactoe"), games.make("connect4"), games.make("go", size=5, max_moves=30)]
# Import every game's module and build its per-size tables now: one-time costs that a
# record naming the game would otherwise pay inside a memory measurement.
for _size in range(5, 20):
    games.make("go", size=_size)
games.make("chess")


def peak_bytes(fn: Callable[[], Any]) -> int:
    """The peak of memory traced while ``fn()`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def random_trajectory(game: games.Game, seed: int, resign: bool = False) -> Trajectory:
    """A game of random legal play with random (valid) search outputs."""
    rng = np.random.default_rng(seed)
    state = game.initial_state()
    actions, policies, values = [], [], []
    stop = int(rng.integers(1, 6)) if resign else None
    while not state.is_terminal() and len(actions) != stop:
        legal = state.legal_actions()
        actions.append(legal[int(rng.integers(len(legal)))])
        policies.append(rng.dirichlet(np.ones(len(legal))).astype(np.float32))
        values.append(float(rng.uniform(-1, 1)))
        state = state.apply(actions[-1])
    if state.is_terminal():
        returns, termination, resigned_by = state.returns(), "terminal", None
    else:
        loser = state.to_play
        returns = tuple(-1.0 if p == loser else 1.0 for p in range(2))
        termination, resigned_by = "resigned", loser
    return Trajectory(
        game_spec=game.spec(),
        weights_version=int(rng.integers(0, 2**62, endpoint=True)),
        actions=np.array(actions, dtype=np.int64),
        policies=tuple(policies),
        root_values=np.array(values, dtype=np.float32),
        returns=returns,
        termination=termination,
        resigned_by=resigned_by,
    )


GOOD = [encode(random_trajectory(GAMES[i % 3], i)) for i in range(6)]


def _decode_only_trajectory_error(data: bytes, game: games.Game) -> None:
    for fn in (lambda: decode(data), lambda: decode_training(data, game)):
        try:
            fn()
        except TrajectoryError:
            pass


# ---------------------------------------------------------------------- trajectories


@FUZZ
@given(st.integers(0, 2**32 - 1), st.sampled_from(range(len(GAMES))), st.booleans())
def test_random_legal_games_round_trip(seed: int, which: int, resign: bool) -> None:
    game = GAMES[which]
    trajectory = random_trajectory(game, seed, resign)
    back = decode(encode(trajectory))
    assert back.game_spec == trajectory.game_spec and back.weights_version == trajectory.weights_version
    np.testing.assert_array_equal(back.actions, trajectory.actions)
    np.testing.assert_array_equal(back.root_values, trajectory.root_values)
    assert all(np.array_equal(a, b) for a, b in zip(back.policies, trajectory.policies, strict=True))
    assert (back.returns, back.termination, back.resigned_by) == (
        trajectory.returns,
        trajectory.termination,
        trajectory.resigned_by,
    )
    _, arrays = decode_training(encode(trajectory), game, q_weight=0.25)
    for got, want in zip(arrays, training_arrays(trajectory, game, q_weight=0.25), strict=True):
        np.testing.assert_array_equal(got, want)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_give_only_trajectory_error(data: bytes) -> None:
    peak = peak_bytes(lambda: _decode_only_trajectory_error(data, GAMES[0]))
    assert peak < 4 * len(data) + (2 << 20)


@FUZZ
@given(st.sampled_from(range(len(GOOD))).flatmap(
    lambda which: st.tuples(st.just(which), mutations(GOOD[which], max_edits=8))))
def test_damaged_real_records_give_only_trajectory_error(damaged: tuple[int, bytes]) -> None:
    which, data = damaged
    game = GAMES[which % 3]
    peak = peak_bytes(lambda: _decode_only_trajectory_error(data, game))
    assert peak < 4 * len(data) + (2 << 20)


_HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.binary(max_size=64),
)
_HOSTILE = st.recursive(
    _HOSTILE_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=20), st.dictionaries(st.text(max_size=8), inner, max_size=20)),
    max_leaves=60,
)
_ARRAY_FIELDS = ("actions", "policy_lengths", "policies", "root_values")


def _hostile_array(draw: Callable, field: dict) -> Any:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(_HOSTILE)
    shape = draw(st.one_of(st.lists(st.integers(-(2**63), 2**64 - 1), max_size=3), _HOSTILE))
    data = field["data"] if choice == 1 else draw(st.binary(max_size=256))
    dtype = field["dtype"] if choice != 3 else draw(st.sampled_from(["<i8", "<f4", ">i8", "|b1", "<f8", ""]))
    return {"dtype": dtype, "shape": shape, "data": data}


@st.composite
def hostile_messages(draw: Callable) -> bytes:
    """A real record with some fields replaced by hostile values, keys dropped or added."""
    which = draw(st.sampled_from(range(len(GOOD))))
    message = msgpack.unpackb(GOOD[which])
    for key in draw(st.lists(st.sampled_from(sorted(message)), max_size=4, unique=True)):
        if key in _ARRAY_FIELDS:
            message[key] = _hostile_array(draw, message[key])
        elif key == "game":
            message[key] = draw(
                st.one_of(
                    _HOSTILE,
                    st.dictionaries(st.text(max_size=70), _HOSTILE_SCALARS, max_size=20).map(
                        lambda d: {"name": draw(st.sampled_from(["go", "chess", "tictactoe"])), **d}
                    ),
                )
            )
        else:
            message[key] = draw(_HOSTILE)
    if draw(st.booleans()):
        message.pop(draw(st.sampled_from(sorted(message))))
    if draw(st.integers(0, 7)) == 0:
        message[draw(st.text(max_size=8))] = draw(_HOSTILE)
    return msgpack.packb(message, use_bin_type=True)


@pytest.mark.slow
@FUZZ
@given(hostile_messages())
def test_hostile_fields_give_only_trajectory_error(data: bytes) -> None:
    peak = peak_bytes(lambda: _decode_only_trajectory_error(data, GAMES[2]))
    assert peak < 4 * len(data) + (2 << 20)


# ---------------------------------------------------------------------- replay segments


def _segment(payloads: list[bytes]) -> tuple[bytes, list[tuple[int, int]]]:
    """The bytes of a version-2 segment of ``payloads`` and each record's (start, end)."""
    spans, offset = [], len(MAGIC)
    for payload in payloads:
        spans.append((offset, offset + len(frame(payload))))
        offset = spans[-1][1]
    return MAGIC + b"".join(frame(p) for p in payloads), spans


TTT_GOOD = [encode(random_trajectory(GAMES[0], 100 + i)) for i in range(6)]


@FUZZ
@given(
    st.integers(0, len(TTT_GOOD) - 1),
    st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_damage_inside_one_record_loses_only_that_record(damaged: int, edits: list) -> None:
    data, spans = _segment(TTT_GOOD)
    start, end = spans[damaged]
    data = bytearray(data)
    for position, value in edits:
        data[start + position % (end - start)] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "segment-000000.zpseg"
        path.write_bytes(bytes(data))
        scan = read_segment(path)
        expected = [p for i, p in enumerate(TTT_GOOD) if i != damaged]
        got = [r.payload for r in scan.records]
        if bytes(data) == _segment(TTT_GOOD)[0]:  # the edits changed nothing
            assert got == TTT_GOOD
        else:
            assert got == expected and scan.skipped_records == 1 and len(scan.warnings) == 1


@pytest.mark.slow
@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255), st.sampled_from("sidz")), max_size=10),
    st.integers(0, 2**31),
    st.booleans(),
)
def test_damaged_segments_never_stop_the_replay_service(edits: list, cut: int, version1: bool) -> None:
    if version1:
        import struct
        import zlib

        from learner.replay_store import MAGIC_V1

        data = bytearray(MAGIC_V1 + b"".join(struct.pack("<II", len(p), zlib.crc32(p)) + p for p in TTT_GOOD))
    else:
        data = bytearray(_segment(TTT_GOOD)[0])
    for position, value, kind in edits:
        i = position % (len(data) + 1)
        if kind == "s" and i < len(data):
            data[i] = value
        elif kind == "i":
            data[i:i] = bytes([value]) * (1 + value % 40)
        elif kind == "z":
            data[i : i + value] = bytes(len(data[i : i + value]))
        elif i < len(data):
            del data[i : i + 1 + value % 40]
    data = data[: max(cut % (len(data) + 64), 0)]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "segment-000000.zpseg").write_bytes(bytes(data))
        services: list[ReplayService] = []
        peak = peak_bytes(
            lambda: services.append(
                ReplayService(GAMES[0], tmp, capacity=1000, min_positions=1, max_samples_per_position=4.0)
            )
        )
        (svc,) = services
        assert 0 <= svc.buffer.games_added <= len(TTT_GOOD)
        assert svc.stats()["load_skipped_records"] >= 0
        assert len(svc.load_warnings) <= len(TTT_GOOD) + 2
    assert peak < 50 * len(data) + (8 << 20)


# ---------------------------------------------------------------------- checkpoint metadata


@pytest.fixture(scope="module")
def checkpoint_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with one real checkpoint (weights and training state) of a tiny network."""
    import torch

    from learner.network import NetworkConfig
    from learner.train import Learner, TrainConfig

    torch.manual_seed(0)
    learner = Learner(GAMES[0], NetworkConfig(blocks=1, channels=8, value_hidden=8), TrainConfig(device="cpu"))
    directory = tmp_path_factory.mktemp("fuzz-ckpt") / "checkpoints"
    learner.save_checkpoint(str(directory))
    return directory


def _only_checkpoint_error(directory: Path, metadata: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "checkpoints"
        shutil.copytree(directory, copy)
        meta_path = next(copy.glob("*.json"))
        meta_path.write_bytes(metadata)

        def load_all() -> None:
            for fn in (read_metadata, verify_checkpoint, load_checkpoint):
                try:
                    fn(meta_path)
                except CheckpointError as err:
                    assert "\n" not in str(err) and meta_path.name in str(err)

        peak = peak_bytes(load_all)
    assert peak < 64 * len(metadata) + (8 << 20)


_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=40)),
    lambda inner: st.one_of(st.lists(inner, max_size=8), st.dictionaries(st.text(max_size=12), inner, max_size=8)),
    max_leaves=40,
)


@pytest.mark.slow
@settings(FUZZ, max_examples=examples(30))
@given(st.data())
def test_hostile_metadata_gives_only_checkpoint_error(checkpoint_files: Path, data: st.DataObject) -> None:
    meta = json.loads(next(checkpoint_files.glob("*.json")).read_text())
    for key in data.draw(st.lists(st.sampled_from(sorted(meta)), max_size=3, unique=True)):
        meta[key] = data.draw(_JSON)
    if data.draw(st.booleans()):
        entry = meta.get("files", {}).get("weights") if isinstance(meta.get("files"), dict) else None
        if isinstance(entry, dict):
            entry[data.draw(st.sampled_from(["name", "bytes", "sha256"]))] = data.draw(_JSON)
    text = json.dumps(meta).encode()
    if data.draw(st.booleans()):  # byte-level damage on top: truncation, NaN, invalid UTF-8, deep nesting
        i = data.draw(st.integers(0, len(text)))
        text = text[:i] + data.draw(st.sampled_from([b"", b"NaN", b"\xff", b"[" * 5000, b"}"])) + text[i:]
    _only_checkpoint_error(checkpoint_files, text)


@settings(FUZZ, max_examples=examples(30))
@given(st.binary(max_size=2048))
def test_arbitrary_metadata_bytes_give_only_checkpoint_error(checkpoint_files: Path, metadata: bytes) -> None:
    _only_checkpoint_error(checkpoint_files, metadata)


def test_the_real_checkpoint_round_trips(checkpoint_files: Path) -> None:
    meta_path = next(checkpoint_files.glob("*.json"))
    assert verify_checkpoint(meta_path) == read_metadata(meta_path)
    assert load_checkpoint(meta_path).step == read_metadata(meta_path)["step"]
