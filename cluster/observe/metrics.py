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

:func:`read_metrics` reads the records back, tolerating a line torn by a crash.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from cluster.runtime.rundir import METRICS_FILE, TENSORBOARD_DIR

# Record key -> TensorBoard tag. Numeric keys not listed here go to "other/<key>".
TAGS: dict[str, str] = {
    "loss": "loss/total",
    "policy_loss": "loss/policy",
    "value_loss": "loss/value",
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
    "mean_game_length": "selfplay/mean_game_length",
    "policy_lag_mean": "selfplay/policy_lag_mean",
    "actors": "actors/count",
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


def trim_metrics(path: Path, step: int) -> None:
    """Drop metrics records past ``step`` (the checkpoint a resumed run continues from)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line torn by a crash
        if isinstance(record, dict) and int(record.get("step", 0)) <= step:
            kept.append(line)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
    os.replace(tmp, path)


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/metrics.jsonl`` (``[]`` when there is none yet).

    Lines that do not parse as a JSON object (a last line torn by a crash or read while
    being written) are skipped.
    """
    path = Path(run_dir) / METRICS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


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
        f"replay {int(record.get('replay_size') or 0)}  actors {int(record.get('actors') or 0)}"
    )


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
        f"  actors     {int(r.get('actors') or 0)}  restarts {int(r.get('actor_restarts') or 0)}  "
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
        self._file.write(json.dumps(dict(record)) + "\n")
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
