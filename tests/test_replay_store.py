"""Persistent replay: games are on disk before they are acknowledged and survive restarts and damage."""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import zlib
from pathlib import Path

import msgpack
import numpy as np
import pytest

import games
from learner.replay import ReplayWindow
from learner.replay_store import MAGIC, MAGIC_V1, STATE_FILE, ReplayService, SegmentStore, read_segment
from selfplay import SearchConfig, Worker, WorkerConfig, encode, uniform_evaluator

GAME = games.make("tictactoe")


@pytest.fixture(scope="module")
def payloads() -> list[bytes]:
    worker = Worker(GAME, uniform_evaluator, WorkerConfig(num_games=8, search=SearchConfig(num_simulations=4)),
                    rng=np.random.default_rng(0))
    return [encode(t) for t in worker.play(24)[:24]]


def service(directory: Path | None, **kw) -> ReplayService:
    kw.setdefault("capacity", 10_000)
    kw.setdefault("min_positions", 10)
    kw.setdefault("max_samples_per_position", 4.0)
    return ReplayService(GAME, directory, **kw)


def test_accepted_games_are_on_disk_and_reload(tmp_path: Path, payloads: list[bytes]) -> None:
    first = service(tmp_path)
    result = first.add(payloads[:10])
    assert result.accepted == 10 and result.rejected == 0
    # A second service over the same directory (a restarted actor) sees them all, without close().
    again = service(tmp_path)
    assert again.buffer.games_added == 10
    assert again.buffer.positions_added == first.buffer.positions_added
    assert again.buffer.size == first.buffer.size


def test_malformed_games_are_rejected_with_reasons(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path)
    other = games.make("connect4")
    worker = Worker(other, uniform_evaluator, WorkerConfig(num_games=2, search=SearchConfig(num_simulations=2)),
                    rng=np.random.default_rng(1))
    foreign = encode(worker.play(1)[0])
    result = svc.add([payloads[0], b"\x00garbage", payloads[1][:-5], "text", foreign, payloads[2]])  # type: ignore[list-item]
    assert (result.accepted, result.rejected) == (2, 4)
    assert [r.split(":")[0] for r in result.reasons] == ["game 1", "game 2", "game 3", "game 4"]
    assert "not this run" in result.reasons[3]
    assert service(tmp_path).buffer.games_added == 2


def test_truncated_segment_is_skipped_with_a_warning(tmp_path: Path, payloads: list[bytes], caplog) -> None:
    svc = service(tmp_path, segment_bytes=1 << 16)
    svc.add(payloads[:5])
    svc.close()
    svc = service(tmp_path, segment_bytes=1 << 16)  # appends go to a new segment after a restart
    svc.add(payloads[5:9])
    svc.close()
    segments = SegmentStore(tmp_path).segments()
    assert len(segments) == 2
    data = segments[0].read_bytes()
    segments[0].write_bytes(data[: len(data) - 7])  # a torn write at the end of the first segment
    with caplog.at_level(logging.WARNING):
        reloaded = service(tmp_path)
    assert reloaded.buffer.games_added == 4 + 4  # the torn game is gone, the rest loads
    assert any(segments[0].name in w and "truncated" in w for w in reloaded.load_warnings)


def test_corrupt_record_and_foreign_file(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path)
    svc.add(payloads[:3])
    svc.close()
    segment = SegmentStore(tmp_path).segments()[0]
    data = bytearray(segment.read_bytes())
    data[len(MAGIC) + 8 + 5] ^= 0xFF  # flip a byte inside the first record
    segment.write_bytes(bytes(data))
    (tmp_path / "segment-000099.zpseg").write_bytes(b"not a segment")
    reloaded = service(tmp_path)
    # Only the damaged record is lost: reading resynchronises on the next record's frame.
    assert reloaded.buffer.games_added == 2
    assert any("checksum" in w for w in reloaded.load_warnings)
    assert any("segment-000099" in w and "bad header" in w for w in reloaded.load_warnings)
    stats = reloaded.stats()
    assert (stats["load_skipped_records"], stats["load_skipped_files"]) == (1, 1)
    # New games still go to disk in a fresh segment.
    assert reloaded.add(payloads[3:5]).accepted == 2
    assert service(tmp_path).buffer.games_added == 4


def test_sampling_respects_the_cap_and_the_counter_survives(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path, max_samples_per_position=1.0)
    svc.add(payloads[:20])
    positions = svc.buffer.positions_added
    batches = svc.sample(8, count=1000)
    assert len(batches) == positions // 8
    assert svc.sample(8) == []
    svc.close()
    again = service(tmp_path, max_samples_per_position=1.0)
    assert again.sample(8) == []  # the cap still holds after a restart


def test_a_reloaded_replay_has_the_same_growing_window(tmp_path: Path, payloads: list[bytes]) -> None:
    """The window depends on the positions ever added, which a restart recounts from the segments:
    the rebuilt service samples the same newest positions, even where memory holds more."""
    window = ReplayWindow(kind="growing", min_positions=40, exponent=0.75, growth=0.4)
    first = service(tmp_path, window=window)
    first.add(payloads[:12])
    first.add(payloads[12:])
    n = first.buffer.positions_added
    assert n == _positions(payloads) and n > 100
    expected = window.size(n, 10_000)
    assert 40 < first.buffer.window_size == expected < first.buffer.size  # the window really cuts
    assert first.stats()["window"] == expected
    again = service(tmp_path, window=window)  # a restarted actor, without close()
    assert again.buffer.window == window and again.buffer.positions_added == n
    assert again.buffer.window_size == expected and again.stats()["window"] == expected
    # the same positions, newest first: observations, policy and value targets
    before, after = first.buffer.window_slots(), again.buffer.window_slots()
    for stored in ("_obs", "_policies", "_values", "_versions"):
        np.testing.assert_array_equal(getattr(again.buffer, stored)[after], getattr(first.buffer, stored)[before])
    # a smaller memory after the restart holds fewer positions, but N, and so the window, is the same
    small = service(tmp_path, window=window, capacity=expected + 20)
    assert small.buffer.size < n and small.buffer.positions_added == n
    assert small.buffer.window_size == expected > window.size(small.buffer.size, 10_000)
    # the default window is all of memory
    assert service(tmp_path).buffer.window_size == again.buffer.size


def _positions(payloads: list[bytes]) -> int:
    return sum(msgpack.unpackb(p)["actions"]["shape"][0] for p in payloads)


def _lying(payload: bytes, length: int = 10**12) -> bytes:
    """A game whose actions claim ``length`` entries (its frame checksums are computed over the lie)."""
    message = msgpack.unpackb(payload)
    message["actions"]["shape"] = [length]
    return msgpack.packb(message, use_bin_type=True)


def test_a_record_with_a_lying_length_is_skipped_and_the_rest_loads(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path)
    svc.add(payloads[:5])
    svc.store.append([_lying(payloads[5])])  # persisted without validation, as a damaged disk might hold it
    svc.add(payloads[6:10])
    svc.close()
    reloaded = service(tmp_path)
    good = payloads[:5] + payloads[6:10]
    assert reloaded.buffer.games_added == 9
    assert reloaded.buffer.positions_added == reloaded.buffer.size == _positions(good)
    assert reloaded.stats()["load_skipped_records"] == 1
    (warning,) = reloaded.load_warnings
    segment = SegmentStore(tmp_path).segments()[0]
    offset = len(MAGIC) + sum(16 + len(p) for p in payloads[:5])
    assert f"{segment} byte {offset}" in warning and "actions" in warning


def test_a_record_of_a_too_long_game_is_skipped_outside_the_window_too(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path, capacity=40)
    svc.store.append([_lying(payloads[0], 10)])  # 10 plies of tic-tac-toe: shape and data agree, the game cannot
    svc.add(payloads[1:12])
    svc.close()
    message = msgpack.unpackb(payloads[0])
    message["actions"] = {"dtype": "<i8", "shape": [10], "data": b"\0" * 80}
    svc = service(tmp_path, capacity=40)
    svc.store.append([msgpack.packb(message, use_bin_type=True)])
    svc.close()
    reloaded = service(tmp_path, capacity=40)
    assert reloaded.buffer.games_added == 11
    assert reloaded.buffer.positions_added == _positions(payloads[1:12])
    assert reloaded.stats()["load_skipped_records"] == 2
    assert len(reloaded.load_warnings) == 2


def test_a_damaged_length_field_loses_only_its_record(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path)
    svc.add(payloads[:4])
    svc.close()
    segment = SegmentStore(tmp_path).segments()[0]
    data = bytearray(segment.read_bytes())
    second = len(MAGIC) + 16 + len(payloads[0])
    data[second + 4 : second + 8] = struct.pack("<I", 10**9)  # the second record's length field
    segment.write_bytes(bytes(data))
    reloaded = service(tmp_path)
    assert reloaded.buffer.games_added == 3
    (warning,) = reloaded.load_warnings
    third = second + 16 + len(payloads[1])
    assert f"byte {second}" in warning and f"byte {third}" in warning and segment.name in warning


def test_damage_in_two_places_of_one_segment(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path)
    svc.add(payloads[:6])
    svc.close()
    segment = SegmentStore(tmp_path).segments()[0]
    data = bytearray(segment.read_bytes())
    offsets = [len(MAGIC)]
    for p in payloads[:6]:
        offsets.append(offsets[-1] + 16 + len(p))
    data[offsets[1] + 40] ^= 0x01  # inside the second record's payload
    data[offsets[4] : offsets[4] + 3] = b"???"  # the fifth record's frame marker
    segment.write_bytes(bytes(data))
    reloaded = service(tmp_path)
    assert reloaded.buffer.games_added == 4
    assert reloaded.stats()["load_skipped_records"] == 2
    assert len(reloaded.load_warnings) == 2


def _v1_segment(path: Path, payloads: list[bytes]) -> None:
    path.write_bytes(MAGIC_V1 + b"".join(struct.pack("<II", len(p), zlib.crc32(p)) + p for p in payloads))


def test_version1_segments_still_load(tmp_path: Path, payloads: list[bytes]) -> None:
    _v1_segment(tmp_path / "segment-000000.zpseg", payloads[:4])
    svc = service(tmp_path)
    assert svc.buffer.games_added == 4 and svc.load_warnings == []
    assert svc.add(payloads[4:6]).accepted == 2  # new games go to a new, version-2 segment
    svc.close()
    segments = SegmentStore(tmp_path).segments()
    assert [p.read_bytes()[: len(MAGIC)] for p in segments] == [MAGIC_V1, MAGIC]
    assert service(tmp_path).buffer.games_added == 6
    # A torn version-1 record at the end loses that record only.
    data = segments[0].read_bytes()
    segments[0].write_bytes(data[:-3])
    reloaded = service(tmp_path)
    assert reloaded.buffer.games_added == 5
    assert any("truncated" in w and segments[0].name in w for w in reloaded.load_warnings)


def test_files_that_are_not_regular_are_skipped_without_blocking(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path)
    svc.add(payloads[:3])
    svc.close()
    os.mkfifo(tmp_path / "segment-000100.zpseg")  # opening it for reading would wait for a writer forever
    (tmp_path / "segment-000101.zpseg").mkdir()
    (tmp_path / "segment-000102.zpseg").symlink_to(SegmentStore(tmp_path).segments()[0])
    loaded: list[ReplayService] = []
    thread = threading.Thread(target=lambda: loaded.append(service(tmp_path)), daemon=True)
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():  # unblock the reader before failing
        os.close(os.open(tmp_path / "segment-000100.zpseg", os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout=30)
        pytest.fail("the replay loader blocked on a FIFO named like a segment")
    (reloaded,) = loaded
    assert reloaded.buffer.games_added == 3
    assert reloaded.stats()["load_skipped_files"] == 3
    assert sum("not a regular file" in w for w in reloaded.load_warnings) == 3
    scan = read_segment(tmp_path / "segment-000100.zpseg")
    assert scan.records == () and scan.skipped_file


@pytest.mark.parametrize(
    "content",
    [
        b'{"samples_drawn": "many", "rejected": 3}',
        b'{"samples_drawn": NaN, "rejected": 3}',
        b'{"samples_drawn": Infinity, "rejected": 3}',
        b'{"samples_drawn": 1e400, "rejected": 3}',
        b'{"samples_drawn": [1], "rejected": 3}',
        b'{"samples_drawn": true, "rejected": 3}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"samples_drawn": 5, "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"samples_drawn": "\xff\xfe"}',
        b"\xff\xfe\x00{",
        b'{"samples_drawn": 1' + b"0" * 5000 + b"}",
        b"[]",
        b"",
        None,  # a directory
    ],
    ids=["str", "nan", "infinity", "float-overflow", "list", "bool", "deep", "deep-value", "bad-utf8-value",
         "bad-utf8", "huge-int", "not-a-map", "empty", "directory"],
)
def test_a_damaged_state_file_costs_only_its_counters(tmp_path: Path, payloads: list[bytes], content) -> None:
    svc = service(tmp_path)
    svc.add(payloads[:4])
    svc.close()
    state = tmp_path / STATE_FILE
    state.unlink()
    if content is None:
        state.mkdir()
    else:
        state.write_bytes(content)
    reloaded = service(tmp_path)
    assert reloaded.buffer.games_added == 4
    assert isinstance(reloaded.buffer.samples_drawn, int) and reloaded.buffer.samples_drawn == 0
    assert isinstance(reloaded.rejected, int) and reloaded.rejected in (0, 3)
    assert any(STATE_FILE in w for w in reloaded.load_warnings)
    # It keeps serving: adding, sampling and closing write the counters again (or warn).
    assert reloaded.add(payloads[4:6]).accepted == 2
    reloaded.sample(8)
    reloaded.close()


def test_state_counters_are_clamped_into_range(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path, max_samples_per_position=1.0)
    svc.add(payloads[:4])
    svc.close()
    positions = svc.buffer.positions_added
    (tmp_path / STATE_FILE).write_text(json.dumps({"samples_drawn": 10**30, "rejected": -7}))
    reloaded = service(tmp_path, max_samples_per_position=1.0)
    assert reloaded.buffer.samples_drawn == positions
    assert reloaded.rejected == 0
    (tmp_path / STATE_FILE).write_text(json.dumps({"samples_drawn": -3, "rejected": 2**70}))
    reloaded = service(tmp_path, max_samples_per_position=1.0)
    assert reloaded.buffer.samples_drawn == 0 and reloaded.rejected == 2**62


def test_state_file_fifo_does_not_block_the_start(tmp_path: Path, payloads: list[bytes]) -> None:
    svc = service(tmp_path)
    svc.add(payloads[:2])
    svc.close()
    (tmp_path / STATE_FILE).unlink()
    os.mkfifo(tmp_path / STATE_FILE)
    loaded: list[ReplayService] = []
    thread = threading.Thread(target=lambda: loaded.append(service(tmp_path)), daemon=True)
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():
        os.close(os.open(tmp_path / STATE_FILE, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout=30)
        pytest.fail("the replay service blocked on a FIFO state file")
    assert loaded[0].buffer.games_added == 2
    assert any(STATE_FILE in w and "not a regular file" in w for w in loaded[0].load_warnings)


def test_a_weights_version_beyond_int64_is_rejected_not_persisted(tmp_path: Path, payloads: list[bytes]) -> None:
    message = msgpack.unpackb(payloads[0])
    message["weights_version"] = 2**63  # decoded once, then overflowed int64 in the buffer on every reload
    svc = service(tmp_path)
    result = svc.add([msgpack.packb(message, use_bin_type=True), payloads[1]])
    assert (result.accepted, result.rejected) == (1, 1) and "weights_version" in result.reasons[0]
    svc.close()
    reloaded = service(tmp_path)
    assert reloaded.buffer.games_added == 1 and reloaded.load_warnings == []


def _playthrough(trajectory, drop_ply: int):
    """``trajectory`` as a playthrough game whose values stay 0 except one fall to -0.9 at ``drop_ply``."""
    import dataclasses

    values = np.zeros(len(trajectory.actions), dtype=np.float32)
    values[drop_ply] = -0.9
    return dataclasses.replace(trajectory, root_values=values, playthrough=True)


def test_the_resign_threshold_comes_from_playthrough_games_and_survives_a_restart(
    tmp_path: Path, payloads: list[bytes]
) -> None:
    import dataclasses

    from selfplay.resignation import ResignationSettings
    from selfplay.trajectory import parse

    decided = [t for t in (parse(p, game=GAME)[0] for p in payloads) if t.returns[0] != 0][:6]
    settings = ResignationSettings(enabled=True, min_games=5)
    replay = service(tmp_path, resignation=settings)
    assert replay.resign_threshold() is None  # no playthrough games yet
    # The loser (who moved last but one: the last move won) despairs at -0.9.
    replay.add([encode(_playthrough(t, drop_ply=len(t.actions) - 2)) for t in decided[:4]])
    assert replay.resign_threshold() is None  # 4 of the 5 needed
    replay.add([encode(_playthrough(decided[4], drop_ply=len(decided[4].actions) - 2))])
    assert replay.resign_threshold() == -0.5  # every would-be resignation was right: the highest candidate
    stats = replay.stats()
    assert stats["playthrough_games"] == 5 and stats["false_resign_rate"] == 0.0 and stats["would_resign"] == 5

    # Winners that despaired at -0.9 just before winning: a threshold above -0.9 would resign them.
    result = replay.add([encode(_playthrough(t, drop_ply=len(t.actions) - 1)) for t in decided[:3]])
    assert result.accepted == 3
    assert replay.resign_threshold() is not None and replay.resign_threshold() <= -0.9  # (values below it resign)

    last = decided[5]
    resigner = (len(last.actions) - 1) % 2  # to move after the game is cut one move short
    resigned = dataclasses.replace(
        last, actions=last.actions[:-1], policies=last.policies[:-1], root_values=last.root_values[:-1],
        termination="resigned", resigned_by=resigner, returns=(-1.0, 1.0) if resigner == 0 else (1.0, -1.0),
    )
    assert replay.add([encode(resigned)]).accepted == 1
    again = service(tmp_path, resignation=settings)  # a restarted replay actor re-reads the games
    assert again.resign_threshold() == replay.resign_threshold()
    assert again.stats()["resigned_games"] == replay.stats()["resigned_games"] == 1
    assert "resign_threshold" not in service(None).stats()  # resignation off: no resignation figures


def test_go_games_keep_their_final_area_targets_through_the_disk(tmp_path: Path) -> None:
    """A finished Go game's ownership and score targets reach the buffer, on adding and on reloading;
    a resigned game's positions have none."""
    from go_games import resigned_trajectory, walls_ownership, walls_trajectory

    finished, resigned = walls_trajectory(), resigned_trajectory(6)
    go = finished.game()

    def go_service() -> ReplayService:
        return ReplayService(go, tmp_path, capacity=1000, min_positions=1, max_samples_per_position=100.0)

    first = go_service()
    result = first.add([encode(finished), encode(resigned)])
    assert (result.accepted, result.positions) == (2, 18)
    for svc in (first, go_service()):  # as added, and as a restarted replay actor reloads it
        assert svc.buffer.size == 18
        batch = svc.buffer.sample(300)
        finished_rows = batch.indices < 12  # the finished game went in first
        np.testing.assert_array_equal(batch.area_mask, finished_rows)
        assert (batch.ownership_targets[~finished_rows] == 0).all()
        black_to_move = batch.indices % 2 == 0
        expected_score = np.where(black_to_move, -0.5, 0.5)
        np.testing.assert_array_equal(batch.score_targets[finished_rows], expected_score[finished_rows])
        identity = finished_rows & (batch.symmetries == 0)
        assert identity.any()
        for i in np.flatnonzero(identity):
            want = walls_ownership() if black_to_move[i] else -walls_ownership()
            np.testing.assert_array_equal(batch.ownership_targets[i], want)
