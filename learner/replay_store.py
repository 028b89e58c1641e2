"""Persistent replay: append-only segment files of encoded games, and the replay service.

Segment files (``RUN_DIR/replay/segment-000042.zpseg``) hold the trajectory bytes
exactly as self-play sent them, one record after another::

    file   := MAGIC record*
    record := length:u32le crc32:u32le payload[length]

A batch of games is written and fsynced before it is acknowledged, so an
acknowledged game survives a crash of the replay process or the machine. A
segment is never appended to after a restart (a new one is started), so a
record torn by a power loss can only be at the end of a segment; reading stops
there with a warning naming the file and offset, and every other segment loads.

``ReplayService`` is what the replay actor runs: validate incoming games
(untrusted bytes), persist, then add them to the in-memory :class:`ReplayBuffer`.
"""

from __future__ import annotations

from games.errors import ZeroplayError
import json
import logging
import os
import re
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import msgpack

from games import Game
from learner.replay import Batch, ReplayBuffer
from selfplay.storage import atomic_write_bytes, fsync_dir
from selfplay.trajectory import DEFAULT_MAX_BYTES, TrajectoryError, decode_training

log = logging.getLogger(__name__)

MAGIC = b"ZPSEG1\n"
_HEADER = struct.Struct("<II")
_NAME = re.compile(r"^segment-(\d{6,})\.zpseg$")
STATE_FILE = "replay-state.json"


class ReplayStoreError(ZeroplayError, ValueError):
    """A replay directory that cannot be used (e.g. not writable); the message names it."""


@dataclass(frozen=True)
class SegmentRecord:
    """One stored game: where it came from and its bytes."""

    segment: Path
    offset: int
    payload: bytes


def read_segment(path: Path) -> tuple[list[SegmentRecord], str | None]:
    """All intact records of one segment, and a warning if the segment is damaged.

    Reading stops at the first torn or corrupt record: nothing after it can be trusted to
    be aligned.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        return [], f"replay segment {path} unreadable ({err.strerror}); skipped"
    if not data.startswith(MAGIC):
        return [], f"replay segment {path} is not a zeroplay segment (bad header); skipped"
    records = []
    offset = len(MAGIC)
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            return records, f"replay segment {path} truncated at byte {offset} (partial record header); rest skipped"
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        if length > DEFAULT_MAX_BYTES or start + length > len(data):
            return records, f"replay segment {path} truncated at byte {offset} (record of {length} bytes); rest skipped"
        payload = data[start : start + length]
        if zlib.crc32(payload) != crc:
            return records, f"replay segment {path} corrupt at byte {offset} (checksum mismatch); rest skipped"
        records.append(SegmentRecord(path, offset, payload))
        offset = start + length
    return records, None


class SegmentStore:
    """Append-only, fsynced segment files in one directory.

    Args:
        directory: where segments live (created if missing).
        segment_bytes: size after which a new segment is started.
    """

    def __init__(self, directory: str | os.PathLike[str], segment_bytes: int = 32 << 20) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ReplayStoreError(f"cannot create replay directory {self.directory}: {err.strerror}") from None
        self.segment_bytes = int(segment_bytes)
        existing = self.segments()
        self._next_index = (int(_NAME.match(existing[-1].name).group(1)) + 1) if existing else 0
        self._file: Any = None
        self._file_bytes = 0

    def segments(self) -> list[Path]:
        """Segment files in the order they were written."""
        found = [p for p in self.directory.iterdir() if _NAME.match(p.name)]
        return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))

    def records(self) -> Iterator[SegmentRecord]:
        """Every intact record of every segment, oldest first; damage is logged as a warning."""
        for path in self.segments():
            records, warning = read_segment(path)
            if warning:
                log.warning(warning)
            yield from records

    def _open_new(self) -> None:
        if self._file is not None:
            self._file.close()
        path = self.directory / f"segment-{self._next_index:06d}.zpseg"
        self._next_index += 1
        self._file = open(path, "xb")  # never overwrite
        self._file.write(MAGIC)
        self._file_bytes = len(MAGIC)
        fsync_dir(self.directory)

    def append(self, payloads: list[bytes]) -> None:
        """Write ``payloads`` and fsync; when this returns they are on disk."""
        if not payloads:
            return
        if self._file is None or self._file_bytes >= self.segment_bytes:
            self._open_new()
        chunks = []
        for payload in payloads:
            chunks.append(_HEADER.pack(len(payload), zlib.crc32(payload)))
            chunks.append(payload)
        data = b"".join(chunks)
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file_bytes += len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(frozen=True)
class AddResult:
    """What :meth:`ReplayService.add` did with a batch: accepted games are on disk."""

    accepted: int
    positions: int
    rejected: int
    reasons: tuple[str, ...]


class ReplayService:
    """Validates, persists and serves self-play games.

    Args:
        game: the run's game; games of another game are rejected.
        directory: the replay directory (``RUN_DIR/replay``); ``None`` keeps games in memory only.
        capacity: window size in positions.
        min_positions: positions needed before sampling.
        max_samples_per_position: the cap on samples drawn per new position.
        segment_bytes: segment roll-over size.
        seed: the sampler's seed.
        value_q_weight: weight of the search's root value in value targets (see
            ``selfplay.trajectory.training_arrays``).
        sample_games_every: write every n-th accepted game as a record (SGF, PGN, move list)
            to ``games_directory`` (0: none).
        sample_games_keep: how many of those records to keep.
        games_directory: where sampled records go (the run's ``games/``); None: nowhere.
    """

    def __init__(
        self,
        game: Game,
        directory: str | os.PathLike[str] | None,
        *,
        capacity: int,
        min_positions: int,
        max_samples_per_position: float,
        segment_bytes: int = 32 << 20,
        seed: int = 0,
        value_q_weight: float = 0.0,
        sample_games_every: int = 0,
        sample_games_keep: int = 50,
        games_directory: str | os.PathLike[str] | None = None,
    ) -> None:
        self.game = game
        self.value_q_weight = float(value_q_weight)
        self.sampler = None
        if games_directory is not None and sample_games_every > 0:
            from selfplay.records import GameSampler

            self.sampler = GameSampler(games_directory, every=sample_games_every, keep=sample_games_keep)
        self.buffer = ReplayBuffer(
            game, capacity, max_samples_per_position, seed, min_positions=min_positions
        )
        self.store = SegmentStore(directory, segment_bytes) if directory is not None else None
        self.rejected = 0
        self.load_warnings: list[str] = []
        self._last_state_write = 0.0
        if self.store is not None:
            self._rebuild()

    # ----------------------------------------------------------------- loading
    def _rebuild(self) -> None:
        """Refill the window from disk (newest games first, up to the capacity) and restore counters."""
        assert self.store is not None
        handler = _ListHandler()
        log.addHandler(handler)
        try:
            records = list(self.store.records())
        finally:
            log.removeHandler(handler)
        self.load_warnings = handler.messages
        total_positions = 0
        lengths = []
        for record in records:
            length = _num_moves(record.payload)
            lengths.append(length)
            total_positions += max(length, 0)
        # Newest games that fit the window, replayed oldest-first.
        keep, room = [], self.buffer.capacity
        for record, length in zip(reversed(records), reversed(lengths)):
            if room <= 0:
                break
            keep.append(record)
            room -= max(length, 1)
        for record in reversed(keep):
            try:
                trajectory, arrays = decode_training(record.payload, self.game, q_weight=self.value_q_weight)
            except TrajectoryError as err:
                self.load_warnings.append(f"{record.segment} byte {record.offset}: stored game rejected: {err}")
                continue
            self.buffer.add_game(*arrays, trajectory.weights_version)
        # Counters cover every stored game, not only the window.
        self.buffer.games_added = len(records)
        self.buffer.positions_added = total_positions
        state = self._read_state()
        cap = self.buffer.max_samples_per_position * self.buffer.positions_added
        self.buffer.samples_drawn = int(min(state.get("samples_drawn", 0), cap))
        self.rejected = int(state.get("rejected", 0))
        for warning in self.load_warnings:
            log.warning(warning)

    def _read_state(self) -> dict[str, Any]:
        path = self.store.directory / STATE_FILE  # type: ignore[union-attr]
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, force: bool = False) -> None:
        if self.store is None:
            return
        now = time.monotonic()
        if not force and now - self._last_state_write < 1.0:
            return
        self._last_state_write = now
        state = {"samples_drawn": self.buffer.samples_drawn, "rejected": self.rejected}
        atomic_write_bytes(self.store.directory / STATE_FILE, json.dumps(state).encode())

    # ----------------------------------------------------------------- serving
    def add(self, payloads: list[bytes]) -> AddResult:
        """Validate each encoded game, persist the valid ones (fsync), then add them to the window.

        A malformed game is rejected with its reason and never stops the others.
        """
        valid, accepted, arrays, reasons = [], [], [], []
        for i, payload in enumerate(payloads):
            try:
                if not isinstance(payload, (bytes, bytearray)):
                    raise TrajectoryError(f"expected bytes, got {type(payload).__name__}")
                trajectory, examples = decode_training(bytes(payload), self.game, q_weight=self.value_q_weight)
                arrays.append((examples, trajectory.weights_version))
                valid.append(bytes(payload))
                accepted.append(trajectory)
            except TrajectoryError as err:
                reasons.append(f"game {i}: {err}")
        if self.store is not None:
            self.store.append(valid)
        if self.sampler is not None:
            for trajectory in accepted:
                self.sampler.offer(trajectory)
        positions = 0
        for (obs, masks, policies, values), version in arrays:
            self.buffer.add_game(obs, masks, policies, values, version)
            positions += len(values)
        self.rejected += len(reasons)
        for reason in reasons:
            log.warning("rejected self-play game: %s", reason)
        self._write_state()
        return AddResult(len(valid), positions, len(reasons), tuple(reasons))

    def sample(self, batch_size: int, count: int = 1) -> list[Batch]:
        """Up to ``count`` batches, as many as the samples-per-position cap allows now (maybe none)."""
        batches = []
        for _ in range(count):
            if not self.buffer.can_sample(batch_size):
                break
            batches.append(self.buffer.sample(batch_size))
        if batches:
            self._write_state()
        return batches

    def stats(self, latest_version: int | None = None) -> dict[str, Any]:
        out = dict(self.buffer.state(latest_version))
        out["rejected"] = self.rejected
        if self.store is not None:
            out["segments"] = len(self.store.segments())
        return out

    def pid(self) -> int:
        """The process id (for operators and crash tests)."""
        return os.getpid()

    def close(self) -> None:
        self._write_state(force=True)
        if self.store is not None:
            self.store.close()


def _num_moves(payload: bytes) -> int:
    """The number of moves of an encoded game without validating it (-1 if unreadable)."""
    try:
        record = msgpack.unpackb(payload, raw=False)
        return int(record["actions"]["shape"][0])
    except Exception:  # noqa: BLE001 - a damaged record is reported when it is decoded
        return -1


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
