"""Persistent replay: append-only segment files of encoded games, and the replay service.

Segment files (``RUN_DIR/replay/segment-000042.zpseg``) hold the trajectory bytes
exactly as self-play sent them, one record after another. Version 2 (written now)
frames each record so that a reader can find the next record after damage::

    file   := MAGIC record*                           MAGIC = b"ZPSEG2\n"
    record := RECORD_MAGIC:4 length:u32le payload_crc32:u32le header_crc32:u32le payload[length]

``RECORD_MAGIC`` is ``b"\x89ZPR"``; ``header_crc32`` covers the 12 bytes before it,
so a damaged length is detected before it is used, and ``payload_crc32`` covers the
payload. Version 1 segments (``MAGIC_V1 = b"ZPSEG1\n"``, ``record := length:u32le
crc32:u32le payload``) are still read; they have no frame marker, so reading one
stops at its first damaged record.

A batch of games is written and fsynced before it is acknowledged, so an
acknowledged game survives a crash of the replay process or the machine. A
segment is never appended to after a restart (a new one is started), so a
record torn by a power loss can only be at the end of a segment.

Reading trusts nothing: a file that is not a regular file (a FIFO, a directory, a
symbolic link) is skipped without being opened; a damaged record is skipped with
one warning naming the file and byte offset, and reading resumes at the next
intact frame; on reload a record that fails validation is skipped the same way.
Nothing found on disk stops the replay service from starting.

``ReplayService`` is what the replay actor runs: validate incoming games
(untrusted bytes), persist, then add them to the in-memory :class:`ReplayBuffer`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from games import Game
from games.errors import ZeroplayError
from learner.replay import Batch, ReplayBuffer, ReplayWindow
from selfplay.resignation import ResignationMonitor, ResignationSettings
from selfplay.storage import StoredFileError, atomic_write_bytes, fsync_dir, read_json_file, read_regular_file
from selfplay.trajectory import (
    DEFAULT_MAX_BYTES,
    TrainingTargets,
    Trajectory,
    TrajectoryError,
    decode_training_targets,
    parse,
)

log = logging.getLogger(__name__)

MAGIC = b"ZPSEG2\n"
MAGIC_V1 = b"ZPSEG1\n"
RECORD_MAGIC = b"\x89ZPR"
_FRAME_HEAD = struct.Struct("<4sII")  # record magic, payload length, payload crc32
_FRAME_CRC = struct.Struct("<I")  # crc32 of the frame head
FRAME_BYTES = _FRAME_HEAD.size + _FRAME_CRC.size  # 16
_V1_HEADER = struct.Struct("<II")  # payload length, payload crc32
_NAME = re.compile(r"^segment-(\d{6,})\.zpseg$")
STATE_FILE = "replay-state.json"
_STATE_MAX_BYTES = 64 * 1024
_STATE_KEYS = ("samples_drawn", "rejected")
_MAX_COUNTER = 2**62  # a restored counter fits int64 with room to grow


class ReplayStoreError(ZeroplayError, ValueError):
    """A replay directory that cannot be used (e.g. not writable); the message names it."""


@dataclass(frozen=True)
class SegmentRecord:
    """One stored game: where it came from (file, byte offset of its frame) and its bytes."""

    segment: Path
    offset: int
    payload: bytes


@dataclass(frozen=True)
class SegmentScan:
    """What reading one segment file found.

    Attributes:
        path: the segment file.
        records: its intact records, in file order.
        warnings: one line per damaged stretch (naming the file and byte offset) or
            per skipped file.
        skipped_records: damaged stretches skipped (each counts as one record).
        skipped_file: whether the whole file was skipped (not a regular file,
            unreadable, or not a segment).
    """

    path: Path
    records: tuple[SegmentRecord, ...]
    warnings: tuple[str, ...]
    skipped_records: int
    skipped_file: bool


def frame(payload: bytes) -> bytes:
    """The version-2 record of ``payload`` (frame head, its checksum, the payload)."""
    head = _FRAME_HEAD.pack(RECORD_MAGIC, len(payload), zlib.crc32(payload))
    return head + _FRAME_CRC.pack(zlib.crc32(head)) + payload


def _frame_problem(data: bytes, offset: int) -> str | None:
    """Why there is no intact version-2 record at ``offset`` (None if there is one)."""
    if len(data) - offset < FRAME_BYTES:
        return "truncated (partial record header)"
    magic, length, payload_crc = _FRAME_HEAD.unpack_from(data, offset)
    if magic != RECORD_MAGIC:
        return "no record marker"
    (head_crc,) = _FRAME_CRC.unpack_from(data, offset + _FRAME_HEAD.size)
    view = memoryview(data)
    if zlib.crc32(view[offset : offset + _FRAME_HEAD.size]) != head_crc:
        return "record header checksum mismatch"
    if length > DEFAULT_MAX_BYTES:
        return f"record of {length} bytes exceeds the limit of {DEFAULT_MAX_BYTES}"
    start = offset + FRAME_BYTES
    if start + length > len(data):
        return f"truncated (record of {length} bytes, {len(data) - start} present)"
    if zlib.crc32(view[start : start + length]) != payload_crc:
        return "payload checksum mismatch"
    return None


def _next_frame(data: bytes, start: int) -> int | None:
    """The offset of the first intact version-2 record at or after ``start``, or None."""
    while True:
        candidate = data.find(RECORD_MAGIC, start)
        if candidate < 0:
            return None
        if _frame_problem(data, candidate) is None:
            return candidate
        start = candidate + 1


def _scan_v2(path: Path, data: bytes) -> tuple[list[SegmentRecord], list[str], int]:
    records: list[SegmentRecord] = []
    warnings: list[str] = []
    offset = len(MAGIC)
    while offset < len(data):
        problem = _frame_problem(data, offset)
        if problem is None:
            _, length, _ = _FRAME_HEAD.unpack_from(data, offset)
            start = offset + FRAME_BYTES
            records.append(SegmentRecord(path, offset, data[start : start + length]))
            offset = start + length
            continue
        resume = _next_frame(data, offset + 1)
        if resume is None:
            warnings.append(
                f"replay segment {path} damaged at byte {offset} ({problem}); "
                f"the remaining {len(data) - offset} bytes skipped"
            )
            return records, warnings, len(warnings)
        warnings.append(
            f"replay segment {path} damaged at byte {offset} ({problem}); "
            f"skipped {resume - offset} bytes to the next intact record at byte {resume}"
        )
        offset = resume
    return records, warnings, len(warnings)


def _scan_v1(path: Path, data: bytes) -> tuple[list[SegmentRecord], list[str], int]:
    records = []
    offset = len(MAGIC_V1)
    while offset < len(data):
        if offset + _V1_HEADER.size > len(data):
            return (
                records,
                [f"replay segment {path} truncated at byte {offset} (partial record header); rest skipped"],
                1,
            )
        length, crc = _V1_HEADER.unpack_from(data, offset)
        start = offset + _V1_HEADER.size
        if length > DEFAULT_MAX_BYTES or start + length > len(data):
            return (
                records,
                [f"replay segment {path} truncated at byte {offset} (record of {length} bytes); rest skipped"],
                1,
            )
        payload = data[start : start + length]
        if zlib.crc32(payload) != crc:
            return records, [f"replay segment {path} corrupt at byte {offset} (checksum mismatch); rest skipped"], 1
        records.append(SegmentRecord(path, offset, payload))
        offset = start + length
    return records, [], 0


def read_segment(path: Path) -> SegmentScan:
    """All intact records of one segment (version 1 or 2), and what was skipped.

    The file is checked to be a regular file (not following a symbolic link) before it
    is opened, so a FIFO or device named like a segment never blocks the reader. In a
    version-2 segment each damaged stretch is skipped with one warning and reading
    resumes at the next intact frame; a version-1 segment is read up to its first
    damaged record.
    """
    path = Path(path)
    try:
        data = read_regular_file(path, follow_symlinks=False)
    except OSError as err:
        return SegmentScan(path, (), (f"replay segment {path} unreadable ({err.strerror or err}); skipped",), 0, True)
    if data.startswith(MAGIC):
        records, warnings, skipped = _scan_v2(path, data)
    elif data.startswith(MAGIC_V1):
        records, warnings, skipped = _scan_v1(path, data)
    else:
        return SegmentScan(
            path, (), (f"replay segment {path} is not a zeroplay segment (bad header); skipped",), 0, True
        )
    return SegmentScan(path, tuple(records), tuple(warnings), skipped, False)


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

    def scan(self) -> list[SegmentScan]:
        """What every segment holds, oldest segment first (see :func:`read_segment`)."""
        return [read_segment(path) for path in self.segments()]

    def records(self) -> Iterator[SegmentRecord]:
        """Every intact record of every segment, oldest first; damage is logged as a warning."""
        for scan in self.scan():
            for warning in scan.warnings:
                log.warning(warning)
            yield from scan.records

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
        for payload in payloads:
            if len(payload) > DEFAULT_MAX_BYTES:
                raise ReplayStoreError(f"a record of {len(payload)} bytes exceeds the limit of {DEFAULT_MAX_BYTES}")
        data = b"".join(frame(payload) for payload in payloads)
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
        capacity: positions kept in memory (the window's hard maximum).
        min_positions: positions needed in the window before sampling.
        max_samples_per_position: the cap on samples drawn per new position.
        segment_bytes: segment roll-over size.
        seed: the sampler's seed.
        value_q_weight: weight of the search's root value in value targets (see
            ``selfplay.trajectory.training_arrays``).
        sample_games_every: write every n-th accepted game as a record (SGF, PGN, move list)
            to ``games_directory`` (0: none).
        sample_games_keep: how many of those records to keep.
        games_directory: where sampled records go (the run's ``games/``); None: nowhere.
        window: which stored positions are sampled (``learner.replay.ReplayWindow``; default
            all of them). A growing window depends only on the positions ever added, which a
            restart recounts from the segment files, so a reloaded service has the same window.
        resignation: how self-play resigns; its threshold is chosen here from the playthrough
            games received (also those reloaded from disk), see :meth:`resign_threshold`.
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
        window: ReplayWindow | None = None,
        resignation: ResignationSettings | None = None,
    ) -> None:
        self.game = game
        self.resignation = ResignationMonitor(resignation or ResignationSettings())
        self.resigned_games = 0  # games that ended by resignation, since the run began
        self.value_q_weight = float(value_q_weight)
        self.sampler = None
        if games_directory is not None and sample_games_every > 0:
            from selfplay.records import GameSampler

            self.sampler = GameSampler(games_directory, every=sample_games_every, keep=sample_games_keep)
        self.buffer = ReplayBuffer(
            game, capacity, max_samples_per_position, seed, min_positions=min_positions, window=window
        )
        self.store = SegmentStore(directory, segment_bytes) if directory is not None else None
        self.rejected = 0
        self.load_warnings: list[str] = []
        self.load_skipped_records = 0
        self.load_skipped_files = 0
        self._last_state_write = 0.0
        self._state_write_failed = False
        if self.store is not None:
            self._rebuild()

    # ----------------------------------------------------------------- loading
    def _rebuild(self) -> None:
        """Refill the window from disk (newest games first, up to the capacity) and restore counters.

        Every stored record is parsed (its fields and size checked, no rules run) to
        count it; the window's records are then fully decoded. A record that fails
        either step is skipped with one warning naming its file and byte offset and
        counts in ``load_skipped_records``; it is not counted as a stored game.
        """
        assert self.store is not None
        warnings: list[str] = []
        records: list[SegmentRecord] = []
        for scan in self.store.scan():
            records.extend(scan.records)
            warnings.extend(scan.warnings)
            self.load_skipped_records += scan.skipped_records
            self.load_skipped_files += int(scan.skipped_file)

        def skip(record: SegmentRecord, err: TrajectoryError) -> None:
            warnings.append(f"{record.segment} byte {record.offset}: stored game skipped: {err}")
            self.load_skipped_records += 1

        stored: list[tuple[SegmentRecord, int]] = []  # (record, number of moves), oldest first
        for record in records:
            try:
                trajectory, _ = parse(record.payload, game=self.game)
            except TrajectoryError as err:
                skip(record, err)
                continue
            stored.append((record, trajectory.num_training_positions))
            self._observe(trajectory)
        # Newest games that fit the window, replayed oldest-first.
        keep, room = [], self.buffer.capacity
        for record, length in reversed(stored):
            if room <= 0:
                break
            keep.append((record, length))
            room -= max(length, 1)
        games_count, positions = len(stored), sum(length for _, length in stored)
        for record, length in reversed(keep):
            try:
                trajectory, targets = decode_training_targets(
                    record.payload, self.game, q_weight=self.value_q_weight
                )
            except TrajectoryError as err:
                skip(record, err)
                games_count -= 1
                positions -= length
                continue
            self._add_to_buffer(targets, trajectory.weights_version)
        # Counters cover every stored game, not only the window (a growing window is a function of them).
        self.buffer.games_added = games_count
        self.buffer.positions_added = positions
        state = self._read_state(warnings)
        cap = self.buffer.max_samples_per_position * self.buffer.positions_added
        self.buffer.samples_drawn = int(min(state.get("samples_drawn", 0), cap))
        self.rejected = int(state.get("rejected", 0))
        self.load_warnings = warnings
        for warning in warnings:
            log.warning(warning)

    def _read_state(self, warnings: list[str]) -> dict[str, int]:
        """The counters of the state file, each an int clamped to [0, 2**62].

        A state file that cannot be read or parsed (not a regular file, over 64 KiB,
        invalid UTF-8 or JSON, NaN/Infinity, nesting too deep, not a map) is skipped
        with a warning, and a counter of the wrong type is dropped with a warning:
        only those counters start again from 0.
        """
        path = self.store.directory / STATE_FILE  # type: ignore[union-attr]
        try:
            state = read_json_file(path, max_bytes=_STATE_MAX_BYTES, follow_symlinks=False)
        except FileNotFoundError:
            return {}
        except StoredFileError as err:
            warnings.append(f"{err}; its counters start from 0")
            return {}
        if not isinstance(state, dict):
            warnings.append(f"{path} does not hold a JSON object; its counters start from 0")
            return {}
        counters = {}
        for key in _STATE_KEYS:
            if key not in state:
                continue
            value = state[key]
            if isinstance(value, bool) or not isinstance(value, int):
                warnings.append(f"{path}: {key} is a {type(value).__name__}, not an integer; it starts from 0")
                continue
            counters[key] = min(max(value, 0), _MAX_COUNTER)
        return counters

    def _write_state(self, force: bool = False) -> None:
        """Persist the counters (at most once a second unless ``force``); best effort.

        The counters are not games: a state file that cannot be written (e.g. a
        directory in its place) is logged, once, and never stops serving.
        """
        if self.store is None:
            return
        now = time.monotonic()
        if not force and now - self._last_state_write < 1.0:
            return
        self._last_state_write = now
        state = {"samples_drawn": self.buffer.samples_drawn, "rejected": self.rejected}
        try:
            atomic_write_bytes(self.store.directory / STATE_FILE, json.dumps(state).encode())
        except OSError as err:
            if not self._state_write_failed:
                log.warning("replay counters not saved to %s (%s)", self.store.directory / STATE_FILE, err)
            self._state_write_failed = True
        else:
            self._state_write_failed = False

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
                trajectory, targets = decode_training_targets(
                    bytes(payload), self.game, q_weight=self.value_q_weight
                )
                arrays.append((targets, trajectory.weights_version))
                valid.append(bytes(payload))
                accepted.append(trajectory)
            except TrajectoryError as err:
                reasons.append(f"game {i}: {err}")
        if self.store is not None:
            self.store.append(valid)
        for trajectory in accepted:
            self._observe(trajectory)
            if self.sampler is not None:
                self.sampler.offer(trajectory)
        positions = 0
        for targets, version in arrays:
            self._add_to_buffer(targets, version)
            positions += len(targets.value_targets)
        self.rejected += len(reasons)
        for reason in reasons:
            log.warning("rejected self-play game: %s", reason)
        self._write_state()
        return AddResult(len(valid), positions, len(reasons), tuple(reasons))

    def _observe(self, trajectory: Trajectory) -> None:
        self.resignation.observe(trajectory)
        self.resigned_games += trajectory.termination == "resigned"

    def resign_threshold(self) -> float | None:
        """The value below which self-play resigns now (None: do not resign)."""
        return self.resignation.threshold()

    def _add_to_buffer(self, targets: TrainingTargets, version: int) -> None:
        """One game's examples into the buffer, with its final-area targets where the game has them."""
        if not len(targets.value_targets):  # a game against an opponent may leave the learner no move to train on
            return
        self.buffer.add_game(
            *targets[:4],
            version,
            ownership_targets=targets.ownership_targets,
            score_targets=targets.score_targets,
            area_mask=targets.area_mask,
        )

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
        """The buffer's metrics plus ``rejected`` (games refused since the run began),
        ``load_skipped_records`` / ``load_skipped_files`` (what the last reload from disk
        skipped; ``load_warnings`` has the details) and ``segments``."""
        out = dict(self.buffer.state(latest_version))
        out["rejected"] = self.rejected
        out["load_skipped_records"] = self.load_skipped_records
        out["load_skipped_files"] = self.load_skipped_files
        if self.store is not None:
            out["segments"] = len(self.store.segments())
        out["resigned_games"] = self.resigned_games
        if self.resignation.settings.enabled:
            out.update(self.resignation.stats())
        return out

    def pid(self) -> int:
        """The process id (for operators and crash tests)."""
        return os.getpid()

    def close(self) -> None:
        self._write_state(force=True)
        if self.store is not None:
            self.store.close()
