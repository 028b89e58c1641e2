"""Persistent replay: games are on disk before they are acknowledged and survive restarts and damage."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import games
from learner.replay_store import MAGIC, ReplayService, SegmentStore
from selfplay import Worker, WorkerConfig, SearchConfig, encode, uniform_evaluator

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
    assert reloaded.buffer.games_added == 0
    assert any("checksum" in w for w in reloaded.load_warnings)
    assert any("segment-000099" in w and "bad header" in w for w in reloaded.load_warnings)
    # New games still go to disk in a fresh segment.
    assert reloaded.add(payloads[3:5]).accepted == 2
    assert service(tmp_path).buffer.games_added == 2


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
