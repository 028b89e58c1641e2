"""Where a training run's metrics records go: ``metrics.jsonl``, TensorBoard and the terminal.

:class:`MetricsSink` takes the record ``Trainer._log`` builds once per log period and

* appends it as one JSON line to ``RUN_DIR/metrics.jsonl`` (append mode, flushed per line,
  so ``zeroplay status`` and a resumed run can read it while the run goes on);
* writes every numeric field as a TensorBoard scalar under ``RUN_DIR/tensorboard``
  (``global_step`` = the record's ``step``; tags grouped as ``loss/…``, ``rates/…``,
  ``replay/…``, ``overhead/…``; see :data:`TAGS`), skipped with one warning if
  TensorBoard cannot be imported;
* shows progress: on a terminal a live block of lines redrawn in place (plain ANSI
  cursor movement, no curses), elsewhere (Ray job logs, pipes) one plain line per record.

:func:`read_metrics` reads the records back, tolerating a line torn by a crash and skipping
damaged lines with one warning; every read is bounded (a line, the file, or its tail) and
never opens a FIFO.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from cluster.runtime.rundir import METRICS_FILE, TENSORBOARD_DIR
from games.errors import ZeroplayError
from selfplay.storage import UnsafeFileError, regular_file_stat, strict_json

log = logging.getLogger(__name__)

# Record key -> TensorBoard tag. Numeric keys not listed here go to "other/<key>".
TAGS: dict[str, str] = {
    "loss": "loss/total",
    "policy_loss": "loss/policy",
    "value_loss": "loss/value",
    "ownership_loss": "loss/ownership",
    "score_loss": "loss/score",
    "policy_entropy": "policy/entropy",
    "value_accuracy": "value/accuracy",
    "lr": "train/lr",
    "steps_per_s": "rates/steps_per_s",
    "games_per_s": "rates/games_per_s",
    "positions_per_s": "rates/positions_per_s",
    "simulations_per_s": "rates/simulations_per_s",
    "games": "progress/games",
    "positions": "progress/positions",
    "weights_version": "progress/weights_version",
    "elapsed": "progress/elapsed_seconds",
    "replay_size": "replay/size",
    "samples_per_position": "replay/samples_per_position",
    "rejected_games": "replay/rejected_games",
    "resigned_games": "selfplay/resigned_games",
    "resign_threshold": "selfplay/resign_threshold",
    "false_resign_rate": "selfplay/false_resign_rate",
    "playthrough_games": "selfplay/playthrough_games",
    "replay_load_skipped_records": "replay/load_skipped_records",
    "replay_load_skipped_files": "replay/load_skipped_files",
    "mean_game_length": "selfplay/mean_game_length",
    "policy_lag_mean": "selfplay/policy_lag_mean",
    "actors": "actors/count",
    "actors_running": "actors/running",
    "actors_waiting": "actors/waiting",
    "actor_restarts": "actors/restarts",
    "ray_overhead": "overhead/ray",
    "weights_broadcast": "overhead/weights_broadcast",
    "evaluate_fraction": "overhead/evaluate_fraction",
    "inference_mean_batch": "inference/mean_batch",
    "inference_busy": "inference/busy_fraction",
}
# Fields that are not scalars worth plotting (``step`` is the x axis; ``time`` is wall clock).
_NOT_SCALARS = frozenset({"step", "time"})

_CURSOR_UP = "\x1b[{n}A"
_CLEAR_LINE = "\x1b[2K"


class MetricsError(ZeroplayError, ValueError):
    """A metrics file that cannot be read at all (not a regular file, unreadable, too large); names it."""


#: A metrics record is about 1 KB; a longer line is damage, not a record.
MAX_LINE_BYTES = 1 << 20
#: :func:`read_metrics` holds every record in memory (about 3 years of 10 s records).
MAX_METRICS_BYTES = 1 << 30
_MAX_STEP = 2**62


def _open_metrics(path: Path) -> BinaryIO | None:
    """``path`` opened for reading if it is a regular file; None if it does not exist.

    A FIFO, device or directory in its place is refused before it is opened (opening a
    FIFO would wait for a writer), as ``selfplay.storage.read_regular_file`` does.
    """
    try:
        regular_file_stat(path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except UnsafeFileError as err:
        raise MetricsError(f"cannot read metrics: {err}") from None
    except OSError as err:
        raise MetricsError(f"cannot read metrics {path}: {err.strerror or err}") from None
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced between the check and the open
        f.close()
        raise MetricsError(f"cannot read metrics: {path} is not a regular file")
    return f


def parse_record(line: bytes) -> dict[str, Any]:
    """One metrics record from one line of ``metrics.jsonl`` (without its newline).

    Raises:
        ValueError: the reason the line is not a record: longer than :data:`MAX_LINE_BYTES`,
            not UTF-8, not JSON, NaN or Infinity, nested too deeply, not an object, or a
            ``step`` that is not an integer in [0, 2**62].
    """
    if len(line) > MAX_LINE_BYTES:
        raise ValueError(f"longer than {MAX_LINE_BYTES} bytes")
    record = strict_json(line)
    if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not a record")
    step = record.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= _MAX_STEP:
        raise ValueError(f"step {str(step)[:40]!r} is not an integer in [0, 2**62]")
    return record


def _lines(f: BinaryIO, start: int) -> Iterator[tuple[int, bytes, bool]]:
    """(byte offset, line without its newline, whether a newline ended it), at most one bound past
    :data:`MAX_LINE_BYTES` each: a longer line is returned cut (and fails :func:`parse_record`)."""
    offset = start
    while True:
        line = f.readline(MAX_LINE_BYTES + 2)
        if not line:
            return
        length, ended = len(line), line.endswith(b"\n")
        if not ended and length > MAX_LINE_BYTES:  # cut: skip the rest of the long line
            rest = line
            while rest and not rest.endswith(b"\n"):
                rest = f.readline(MAX_LINE_BYTES)
                length += len(rest)
            ended = bool(rest)
        yield offset, line.rstrip(b"\n"), ended
        offset += length


class _Damage:
    """Counts the damaged lines of one file and words the one warning about them."""

    def __init__(self, path: Path) -> None:
        self.path, self.count, self.first = path, 0, ""

    def add(self, offset: int, reason: str) -> None:
        self.count += 1
        if not self.first:
            self.first = f"the line at byte {offset}: {reason}"

    def warning(self) -> str | None:
        if not self.count:
            return None
        return f"{self.path}: skipped {self.count} damaged line(s) (first, {self.first})"


def _records(f: BinaryIO, path: Path, start: int, damage: _Damage) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """(line, record) of each line that parses; a last line without newline (a record being
    written, or torn by a crash) is left out without a warning."""
    for offset, line, ended in _lines(f, start):
        if not line.strip():
            continue
        try:
            record = parse_record(line)
        except ValueError as err:
            if ended:
                damage.add(offset, str(err))
            continue
        if ended:
            yield line, record


def trim_metrics(path: Path, step: int) -> None:
    """Drop metrics records past ``step`` (the checkpoint a resumed run continues from).

    The file is streamed, so its size is not bounded; damaged lines are dropped with one
    warning naming the file.

    Raises:
        MetricsError: ``path`` is not a regular file or cannot be read.
    """
    f = _open_metrics(path)
    if f is None:
        return
    damage = _Damage(path)
    tmp = path.with_suffix(".tmp")
    with f, open(tmp, "wb") as out:
        for line, record in _records(f, path, 0, damage):
            if record.get("step", 0) <= step:
                out.write(line + b"\n")
    os.replace(tmp, path)
    if damage.warning():
        log.warning("%s", damage.warning())


def read_metrics(
    run_dir: str | Path, *, tail_bytes: int | None = None, warnings: list[str] | None = None
) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/metrics.jsonl`` (``[]`` when there is none yet).

    A last line without its newline (torn by a crash, or being written) is left out.
    Other lines that are not records (see :func:`parse_record`) are skipped with one
    warning naming the file: appended to ``warnings`` if given, else logged.

    Args:
        tail_bytes: read only the records in the last ``tail_bytes`` bytes of the file
            (the newest ones, whatever the file's size); None: all of it, up to
            :data:`MAX_METRICS_BYTES`.

    Raises:
        MetricsError: the file is not a regular file, cannot be read, or (without
            ``tail_bytes``) is larger than :data:`MAX_METRICS_BYTES`.
    """
    path = Path(run_dir) / METRICS_FILE
    f = _open_metrics(path)
    if f is None:
        return []
    damage = _Damage(path)
    with f:
        size = os.fstat(f.fileno()).st_size
        start = 0
        if tail_bytes is not None and size > tail_bytes:
            start = size - tail_bytes
            f.seek(start - 1)
            if f.read(1) != b"\n":  # in the middle of a line: start at the next one
                start += len(f.readline(MAX_LINE_BYTES + 2))
        elif size > MAX_METRICS_BYTES:
            raise MetricsError(f"{path} is larger than {MAX_METRICS_BYTES} bytes; read it with tail_bytes")
        records = [record for _, record in _records(f, path, start, damage)]
    message = damage.warning()
    if message is not None:
        if warnings is not None:
            warnings.append(message)
        else:
            log.warning("%s", message)
    return records


def _finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by None, in nested dicts and lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def _number(value: Any) -> float | None:
    """``value`` as a finite float if it is a plain number (bools excluded), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value: Any, spec: str, missing: str = "-") -> str:
    number = _number(value)
    return missing if number is None else format(number, spec)


def plain_line(record: Mapping[str, Any]) -> str:
    """The one-line progress summary of a record (the format ``zeroplay train`` has always printed)."""
    elapsed = _number(record.get("elapsed")) or 0.0
    return (
        f"[{elapsed / 60:5.1f} min] step {int(record.get('step') or 0):6d}  "
        f"v{int(record.get('weights_version') or 0):<4d} "
        f"games {int(record.get('games') or 0):7d}  pos/s {_fmt(record.get('positions_per_s'), '7.0f', '      -')}  "
        f"sims/s {_fmt(record.get('simulations_per_s'), '8.0f', '       -')}  loss {_fmt(record.get('loss'), '.3f')}  "
        f"replay {int(record.get('replay_size') or 0)}  actors {actors_text(record)}"
    )


def actors_text(record: Mapping[str, Any]) -> str:
    """The self-play actors of a record: ``2``, or ``1 running, 1 waiting: needs 1 CPU (0 free)``
    (and ``N starting`` for new actors Ray has not placed yet)."""
    total = int(_number(record.get("actors")) or 0)
    waiting = int(_number(record.get("actors_waiting")) or 0)
    starting = int(_number(record.get("actors_starting")) or 0)
    if not waiting and not starting:
        return str(total)
    parts = [f"{total - waiting - starting} running"]
    if starting:
        parts.append(f"{starting} starting")
    if waiting:
        reason = record.get("actors_waiting_for")
        parts.append(f"{waiting} waiting" + (f": {reason}" if isinstance(reason, str) else ""))
    return ", ".join(parts)


def live_lines(record: Mapping[str, Any]) -> list[str]:
    """The live display of a record: a fixed number of lines (so it can be redrawn in place)."""
    r = record
    elapsed = _number(r.get("elapsed")) or 0.0
    hours, rest = divmod(int(elapsed), 3600)
    minutes, seconds = divmod(rest, 60)
    checkpoint = r.get("checkpoint")
    return [
        f"zeroplay train  elapsed {hours:d}:{minutes:02d}:{seconds:02d}  "
        f"step {int(r.get('step') or 0)}  weights v{int(r.get('weights_version') or 0)}  "
        f"steps/s {_fmt(r.get('steps_per_s'), '.1f')}",
        f"  self-play  games {int(r.get('games') or 0)}  positions {int(r.get('positions') or 0)}  "
        f"games/s {_fmt(r.get('games_per_s'), '.1f')}  pos/s {_fmt(r.get('positions_per_s'), '.0f')}  "
        f"sims/s {_fmt(r.get('simulations_per_s'), '.0f')}  mean length {_fmt(r.get('mean_game_length'), '.1f')}",
        f"  loss       total {_fmt(r.get('loss'), '.4f')}  policy {_fmt(r.get('policy_loss'), '.4f')}  "
        f"value {_fmt(r.get('value_loss'), '.4f')}  entropy {_fmt(r.get('policy_entropy'), '.3f')}  "
        f"value acc {_fmt(r.get('value_accuracy'), '.3f')}  lr {_fmt(r.get('lr'), '.2e')}",
        f"  replay     size {int(r.get('replay_size') or 0)}  samples/position "
        f"{_fmt(r.get('samples_per_position'), '.2f')}  policy lag {_fmt(r.get('policy_lag_mean'), '.2f')}  "
        f"rejected {int(r.get('rejected_games') or 0)}",
        f"  actors     {actors_text(r)}  restarts {int(r.get('actor_restarts') or 0)}  "
        f"ray overhead {_fmt(_pct(r.get('ray_overhead')), '.1f')}%  "
        f"weights {_fmt(_pct(r.get('weights_broadcast')), '.2f')}%",
        f"  checkpoint {checkpoint if checkpoint else '-'}",
    ]


def _pct(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else 100.0 * number


class MetricsSink:
    """Writes metrics records to ``metrics.jsonl``, TensorBoard and a progress display.

    Args:
        run_dir: the run directory (must exist).
        tensorboard: also write TensorBoard scalars under ``RUN_DIR/tensorboard``.
        live: redraw a multi-line display in place (True), print one line per record
            (False), or decide by ``out.isatty()`` (None).
        out: where progress goes.
        purge_step: on resume, hide TensorBoard events at steps >= this (those of the
            abandoned tail after the checkpoint a resumed run continues from); None: keep all.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        tensorboard: bool = True,
        live: bool | None = None,
        out: TextIO = sys.stdout,
        purge_step: int | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise NotADirectoryError(f"metrics: run directory {self.run_dir} does not exist")
        self.out = out
        if live is None:
            isatty = getattr(out, "isatty", None)
            try:
                live = bool(isatty()) if callable(isatty) else False
            except (ValueError, OSError):  # a closed stream
                live = False
        self.live = live
        self._drawn = 0  # lines of the live display on screen now
        self._file: TextIO | None = open(self.run_dir / METRICS_FILE, "a", encoding="utf-8")
        self._writer: Any = None
        if tensorboard:
            self._writer = self._open_tensorboard(purge_step)

    def _open_tensorboard(self, purge_step: int | None) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecation chatter from tensorboard's imports
                from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:
            print(
                f"zeroplay: warning: TensorBoard unavailable ({err}); metrics go to "
                f"{self.run_dir / METRICS_FILE} only",
                file=sys.stderr,
                flush=True,
            )
            return None
        return SummaryWriter(log_dir=str(self.run_dir / TENSORBOARD_DIR), purge_step=purge_step)

    @property
    def tensorboard_enabled(self) -> bool:
        return self._writer is not None

    def write(self, record: Mapping[str, Any], *, show: bool = True) -> None:
        """Record one log period: JSONL line, TensorBoard scalars, and (``show``) the progress display."""
        if self._file is None:
            raise ValueError(f"metrics sink of {self.run_dir} is closed")
        # JSON has no NaN or Infinity: a diverged loss is written as null (readers show "-").
        self._file.write(json.dumps(_finite_or_none(dict(record)), allow_nan=False) + "\n")
        self._file.flush()
        if self._writer is not None:
            self._write_scalars(record)
        if show:
            self._show(record)

    def _write_scalars(self, record: Mapping[str, Any]) -> None:
        step = int(record.get("step") or 0)
        walltime = _number(record.get("time")) or time.time()
        for key, value in record.items():
            if key in _NOT_SCALARS:
                continue
            number = _number(value)
            if number is None:
                continue
            group = "eval" if record.get("kind") == "evaluation" else "other"
            self._writer.add_scalar(TAGS.get(key, f"{group}/{key}"), number, global_step=step, walltime=walltime)
        self._writer.flush()

    def _show(self, record: Mapping[str, Any]) -> None:
        if not self.live:
            print(plain_line(record), file=self.out, flush=True)
            return
        lines = live_lines(record)
        parts = []
        if self._drawn:
            parts.append(_CURSOR_UP.format(n=self._drawn))
        for line in lines:
            parts.append("\r" + _CLEAR_LINE + line + "\n")
        for _ in range(self._drawn - len(lines)):  # a shorter display: clear what is left
            parts.append(_CLEAR_LINE + "\n")
        self.out.write("".join(parts))
        self.out.flush()
        self._drawn = max(len(lines), self._drawn)

    def release_display(self) -> None:
        """Leave the live display where it is: the next output goes below it, not over it."""
        self._drawn = 0

    def rewind(self, step: int) -> None:
        """Drop the JSONL records past ``step`` (a learner that restarted from its checkpoint redoes them)."""
        if self._file is not None:
            self._file.close()
        trim_metrics(self.run_dir / METRICS_FILE, step)
        self._file = open(self.run_dir / METRICS_FILE, "a", encoding="utf-8")

    def close(self) -> None:
        """Flush and close the JSONL file and the TensorBoard writer (idempotent)."""
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None
        if self._file is not None:
            self._file.close()
            self._file = None
        self._drawn = 0

    def __enter__(self) -> MetricsSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
