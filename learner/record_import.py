"""Game records imported once as replay segments, and read back for pre-training or a run's replay.

:func:`import_records` reads record files (SGF, PGN, move lists: :mod:`games.collections`),
converts each game into a :class:`~selfplay.trajectory.Trajectory`
(:mod:`selfplay.from_records`: the move played as policy target, the result as value
target) and appends it to ordinary replay segments (:class:`~learner.replay_store.SegmentStore`:
framed, checksummed, fsynced), so that the same validated, streamable reader serves
pre-training and a run's replay. Nothing a record holds stops an import: every skipped
game is counted by kind and written, one line each, to ``skipped.txt``.

The cache (:func:`prepare_sources`): each record source (a file or a folder) is imported
into ``CACHE/<name>-<key>/`` where the key digests the source's files (path, size,
modification time), the game and the import options; a second pre-training run with
the same source finds the finished import (its ``import.json`` manifest, written last)
and reads no record again. An import stopped half-way is redone. Default cache:
``$ZEROPLAY_CACHE``, else ``$XDG_CACHE_HOME/zeroplay/imports``, else
``~/.cache/zeroplay/imports``.

Sources that are already trajectories are used in place: a folder of ``*.zpseg``
segments (an earlier import, a run's ``replay/``) or a run directory (its ``replay/``;
its ``games/`` samples are the same games, pass ``RUN_DIR/games`` to read them as records).

Reading back (:func:`stored_games`) yields each stored game whose game is compatible
with the run's (:func:`selfplay.from_records.compatible`), with its training game, and
splits the games into training and held-out ones by a checksum of their bytes
(:func:`is_held_out`), so the split is the same in every run and in any order.
:func:`replay_batches` and :func:`seed_replay` fill a run's replay (a
:class:`~learner.replay_store.ReplayService`) with the imported games: the warm start.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from games import Game
from games.collections import SKIP_KINDS, CollectionGame, SkippedGame, read_collection, record_files
from games.errors import ZeroplayError
from learner.replay_store import SegmentRecord, SegmentStore
from selfplay.from_records import ConversionError, compatible, convert_record
from selfplay.storage import atomic_write_bytes
from selfplay.trajectory import Trajectory, TrajectoryError, encode, parse

log = logging.getLogger(__name__)

#: Bump when the conversion changes what a record becomes: older imports are then redone.
IMPORTER_VERSION = 1
MANIFEST = "import.json"
SKIPPED_FILE = "skipped.txt"
_BATCH = 256  # games per segment append (one fsync)
_EXAMPLES = 20  # skip lines kept in the summary


class RecordImportError(ZeroplayError, ValueError):
    """A record source that cannot be imported at all (missing, or the cache is not writable); names it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """How records become training games.

    Attributes:
        smoothing: policy-target smoothing in [0, 1) (:func:`selfplay.from_records.convert_record`).
        variations: SGF: every variation is a game, not only the main line.
    """

    smoothing: float = 0.0
    variations: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.smoothing < 1.0:
            raise RecordImportError(f"smoothing must be in [0, 1), got {self.smoothing!r}")


@dataclasses.dataclass
class ImportSummary:
    """What an import read and kept (a mutable tally while it runs; :meth:`to_dict` for JSON).

    Attributes:
        source: the record source (file or folder).
        directory: the segment folder holding its games.
        files: record files read.
        games: games read (imported or skipped after reading).
        imported: games stored.
        positions: their plies (training positions).
        skipped: skipped games (or files) by kind (:data:`games.collections.SKIP_KINDS`).
        truncated: games cut where the run's rules end them before the record does.
        terminations: stored games by termination (terminal, resigned, adjudicated).
        seconds: the import's wall time (0 when reused).
        reused: found in the cache, nothing read.
        examples: the first skip lines (all of them are in ``skipped.txt``).
    """

    source: str
    directory: str
    files: int = 0
    games: int = 0
    imported: int = 0
    positions: int = 0
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    truncated: int = 0
    terminations: dict[str, int] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    reused: bool = False
    examples: list[str] = dataclasses.field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportSummary:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def line(self) -> str:
        """One line for people: what was read, kept and skipped."""
        skipped = ", ".join(f"{n} {kind}" for kind, n in sorted(self.skipped.items()))
        rate = f", {self.games / self.seconds:.0f} games/s" if self.seconds > 0 and self.games else ""
        how = "reused from the cache" if self.reused else f"imported in {self.seconds:.1f} s{rate}"
        return (f"{self.source}: {self.imported} games ({self.positions} positions) {how}"
                + (f"; skipped {self.skipped_total} ({skipped})" if self.skipped_total else "")
                + (f"; {self.truncated} cut where the run's rules end them" if self.truncated else ""))


# ---------------------------------------------------------------------- importing


def import_records(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    game: Game,
    directory: str | os.PathLike[str],
    *,
    options: ImportOptions | None = None,
    on_skip: Callable[[str], None] | None = None,
    segment_bytes: int = 32 << 20,
) -> ImportSummary:
    """Import every game of the record files under ``sources`` into segments in ``directory``.

    Args:
        sources: record files or folders.
        game: the run's game (records are replayed under its rules).
        directory: where the segments go (created; new segments are added after any there).
        options: how records become training games.
        on_skip: called with each skip line (``FILE game N (line L): reason``) as it happens.
        segment_bytes: segment roll-over size.

    Returns:
        The tally; the skip lines are also written to ``directory/skipped.txt``.
    """
    options = options if options is not None else ImportOptions()
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    directory = Path(directory)
    summary = ImportSummary(source=", ".join(str(s) for s in sources), directory=str(directory))
    start = time.monotonic()
    store = SegmentStore(directory, segment_bytes)
    batch: list[bytes] = []
    seen_files: set[Path] = set()
    try:
        with open(directory / SKIPPED_FILE, "a", encoding="utf-8") as skipped_file:

            def skip(kind: str, text: str) -> None:
                summary.skipped[kind] = summary.skipped.get(kind, 0) + 1
                if len(summary.examples) < _EXAMPLES:
                    summary.examples.append(text)
                skipped_file.write(text + "\n")
                if on_skip is not None:
                    on_skip(text)

            for entry in read_collection(sources, game=game, variations=options.variations):
                if entry.path not in seen_files:
                    seen_files.add(entry.path)
                    summary.files += 1
                if isinstance(entry, SkippedGame):
                    summary.games += entry.number > 0
                    skip(entry.kind, str(entry))
                    continue
                summary.games += 1
                payload = _convert(entry, game, options, summary, skip)
                if payload is not None:
                    batch.append(payload)
                if len(batch) >= _BATCH:
                    store.append(batch)
                    batch = []
            store.append(batch)
    finally:
        store.close()
    summary.seconds = time.monotonic() - start
    return summary


def _convert(
    entry: CollectionGame, game: Game, options: ImportOptions, summary: ImportSummary,
    skip: Callable[[str, str], None],
) -> bytes | None:
    try:
        converted = convert_record(entry.record, game, smoothing=options.smoothing)
    except ConversionError as err:
        skip(err.kind if err.kind in SKIP_KINDS else "malformed", f"{entry.where}: {err}")
        return None
    trajectory = converted.trajectory
    summary.imported += 1
    summary.positions += len(trajectory.actions)
    summary.truncated += int(converted.truncated)
    summary.terminations[trajectory.termination] = summary.terminations.get(trajectory.termination, 0) + 1
    return encode(trajectory)


# ---------------------------------------------------------------------- the cache


def default_cache_dir() -> Path:
    """Where imports are cached (see the module docstring)."""
    if os.environ.get("ZEROPLAY_CACHE"):
        return Path(os.environ["ZEROPLAY_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zeroplay" / "imports"


def segment_source(path: str | os.PathLike[str]) -> Path | None:
    """The segment folder of ``path`` if it holds trajectories already (a folder of ``*.zpseg``,
    a run directory's ``replay/``, one ``.zpseg`` file's folder), else None."""
    path = Path(path)
    if path.is_file() and path.suffix == ".zpseg":
        return path.parent
    if not path.is_dir():
        return None
    if (path / "config.toml").is_file() and (path / "replay").is_dir():
        return path / "replay"
    if any(p.suffix == ".zpseg" for p in path.iterdir()):
        return path
    return None


def cache_key(source: Path, game: Game, options: ImportOptions) -> str:
    """A digest of what an import of ``source`` depends on: its files (path, size, modification
    time), the game, the options and :data:`IMPORTER_VERSION`."""
    digest = hashlib.sha256()
    head = {"version": IMPORTER_VERSION, "game": game.spec(), "options": dataclasses.asdict(options),
            "source": str(source.resolve())}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for path in record_files(source):
        try:
            st = path.stat()
        except OSError:
            digest.update(f"\n{path}:missing".encode())
            continue
        digest.update(f"\n{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def import_source(
    source: str | os.PathLike[str],
    game: Game,
    cache_dir: str | os.PathLike[str],
    *,
    options: ImportOptions | None = None,
    on_skip: Callable[[str], None] | None = None,
    force: bool = False,
) -> ImportSummary:
    """The import of one record source in the cache: reused if finished before, else done now.

    Raises:
        RecordImportError: the source does not exist, or the cache cannot be written.
    """
    options = options if options is not None else ImportOptions()
    source = Path(source)
    if not source.exists():
        raise RecordImportError(f"record source {source} does not exist")
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in source.resolve().name)[:40] or "records"
    entry = Path(cache_dir) / f"{name}-{cache_key(source, game, options)}"
    manifest = entry / MANIFEST
    if manifest.is_file() and not force:
        try:
            summary = ImportSummary.from_dict(json.loads(manifest.read_text(encoding="utf-8"))["summary"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("import cache %s unreadable (%s); importing again", manifest, err)
        else:
            summary.reused, summary.seconds, summary.directory = True, 0.0, str(entry)
            return summary
    try:
        if entry.exists():
            shutil.rmtree(entry)  # an import stopped half-way (no manifest)
        entry.mkdir(parents=True)
    except OSError as err:
        raise RecordImportError(f"import cache {entry} cannot be written: {err.strerror or err}") from None
    summary = import_records(source, game, entry, options=options, on_skip=on_skip)
    summary.source = str(source)
    record = {"format": "zeroplay-import", "version": IMPORTER_VERSION, "game": game.spec(),
              "options": dataclasses.asdict(options), "created_unix": time.time(), "summary": summary.to_dict()}
    atomic_write_bytes(manifest, (json.dumps(record, indent=2) + "\n").encode())
    return summary


def prepare_sources(
    sources: Iterable[str | os.PathLike[str]],
    game: Game,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    options: ImportOptions | None = None,
    on_skip: Callable[[str], None] | None = None,
    on_summary: Callable[[ImportSummary], None] | None = None,
    force: bool = False,
) -> tuple[list[Path], list[ImportSummary]]:
    """The segment folders of ``sources``: record sources imported (or reused from the cache),
    segment sources as they are. Returns ``(folders, summaries of the record sources)``."""
    options = options if options is not None else ImportOptions()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folders: list[Path] = []
    summaries: list[ImportSummary] = []
    for source in sources:
        segments = segment_source(source)
        if segments is not None:
            folders.append(segments)
            continue
        summary = import_source(source, game, cache, options=options, on_skip=on_skip, force=force)
        if on_summary is not None:
            on_summary(summary)
        summaries.append(summary)
        folders.append(Path(summary.directory))
    return folders, summaries


# ---------------------------------------------------------------------- reading back


def is_held_out(payload: bytes, share: float) -> bool:
    """Whether a stored game belongs to the held-out share (by a checksum of its bytes: stable, order-free)."""
    return zlib.crc32(payload) % 1_000_000 < share * 1_000_000


@dataclasses.dataclass(frozen=True)
class StoredGame:
    """One stored training game: its bytes, where it is stored, its trajectory fields and its game."""

    record: SegmentRecord
    trajectory: Trajectory
    game: Game


def stored_games(
    directories: Iterable[str | os.PathLike[str]],
    game: Game,
    *,
    on_skip: Callable[[str], None] | None = None,
) -> Iterator[StoredGame]:
    """Every stored game under ``directories`` that ``game``'s network can learn from, oldest first.

    Records are parsed (fields, ranges, size; no replay); a damaged or foreign record, or
    a game not :func:`~selfplay.from_records.compatible` with ``game``, is reported to
    ``on_skip`` and left out.
    """
    for directory in directories:
        if not Path(directory).is_dir():
            if on_skip is not None:
                on_skip(f"{directory}: no such segment folder")
            continue
        for scan in SegmentStore(directory).scan():
            for warning in scan.warnings:
                if on_skip is not None:
                    on_skip(warning)
            for record in scan.records:
                try:
                    trajectory, _ = parse(record.payload, game=game)
                except TrajectoryError as err:
                    # Another spec: a chess game from another start position still trains this network.
                    try:
                        trajectory, other = parse(record.payload)
                    except TrajectoryError:
                        other = None
                    if other is None or not compatible(other, game):
                        if on_skip is not None:
                            on_skip(f"{record.segment} byte {record.offset}: stored game skipped: {err}")
                        continue
                    yield StoredGame(record, trajectory, other)
                    continue
                yield StoredGame(record, trajectory, game)


def replay_batches(
    directories: Iterable[str | os.PathLike[str]],
    game: Game,
    *,
    batch_games: int = _BATCH,
    on_skip: Callable[[str], None] | None = None,
) -> Iterator[list[bytes]]:
    """The stored games that a run of ``game`` can take into its replay, ``batch_games`` at a time.

    A run's replay (:class:`~learner.replay_store.ReplayService`) holds games of its exact
    game; compatible games of another start position (chess from a FEN) are left out and
    reported to ``on_skip``. Feed each batch to ``ReplayService.add`` (the replay actor's
    ``add``): it validates, persists and windows them like self-play games.
    """
    batch: list[bytes] = []
    spec = game.spec()
    for stored in stored_games(directories, game, on_skip=on_skip):
        if stored.trajectory.game_spec != spec:
            if on_skip is not None:
                on_skip(f"{stored.record.segment} byte {stored.record.offset}: a game of "
                        f"{stored.game!r}, not of the run's {game!r}: not for the run's replay")
            continue
        batch.append(stored.record.payload)
        if len(batch) >= batch_games:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_replay(
    service: Any,
    sources: Iterable[str | os.PathLike[str]],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    options: ImportOptions | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Fill a run's replay with the games of record or segment ``sources`` (imported or reused).

    Args:
        service: the run's :class:`~learner.replay_store.ReplayService` (its ``game`` is the
            run's); an actor handle works too through a small adapter with ``game`` and ``add``.
        sources: as :func:`prepare_sources`.

    Returns:
        ``{"accepted": games, "positions": positions, "rejected": games}`` as the replay counted them.
    """
    options = options if options is not None else ImportOptions()
    folders, _ = prepare_sources(sources, service.game, cache_dir, options=options, on_skip=on_skip)
    totals = {"accepted": 0, "positions": 0, "rejected": 0}
    for batch in replay_batches(folders, service.game, on_skip=on_skip):
        result = service.add(batch)
        totals["accepted"] += result.accepted
        totals["positions"] += result.positions
        totals["rejected"] += result.rejected
    return totals


__all__ = [
    "IMPORTER_VERSION",
    "MANIFEST",
    "SKIPPED_FILE",
    "ImportOptions",
    "ImportSummary",
    "RecordImportError",
    "StoredGame",
    "cache_key",
    "default_cache_dir",
    "import_records",
    "import_source",
    "is_held_out",
    "prepare_sources",
    "replay_batches",
    "seed_replay",
    "segment_source",
    "stored_games",
]
