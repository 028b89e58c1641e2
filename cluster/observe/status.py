"""``zeroplay status RUN_DIR``: where a training run stands, read from its directory (no Ray).

Sources, all optional except the configuration:

* ``RUN_DIR/config.toml`` - the game and key settings (its absence means "not a run");
* the newest checkpoint's metadata (``learner.checkpoint.read_metadata``) - training
  step, weights version, path and age; a damaged newer one is skipped with a warning;
* the last record of ``RUN_DIR/metrics.jsonl`` (read from its last MiB) - games, positions,
  rates, buffer, actors; damaged lines, or a file that cannot be read, are skipped with a warning;
  the run counts as *running* while that record is younger than three log periods;
* ``RUN_DIR/replay/`` - number of game segments and their total size.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

from cluster.runtime.rundir import CONFIG_FILE, RunDir
from games.errors import ZeroplayError

RUNNING_PERIODS = 3  # a run whose last record is older than this many log periods is "stopped"
METRICS_TAIL_BYTES = 1 << 20  # the newest records are in the last MiB of metrics.jsonl, however long


class StatusError(ZeroplayError, ValueError):
    """A directory that holds no readable run; the message names it."""


@dataclasses.dataclass(frozen=True)
class RunStatus:
    """A snapshot of a run directory (None: not known yet, e.g. before the first checkpoint)."""

    run_dir: str
    game: dict[str, Any]
    config: dict[str, Any]
    state: str  # "running", "stopped" or "not started" (no metrics record yet)
    step: int | None
    weights_version: int | None
    checkpoint: str | None
    checkpoint_age_s: float | None
    checkpoints: int
    games: int | None
    positions: int | None
    replay_segments: int
    replay_bytes: int
    replay_size: int | None
    replay_load_skipped_records: int | None  # damaged records the replay skipped when it last reloaded
    replay_load_skipped_files: int | None  # segment files it could not read at all
    samples_per_position: float | None
    actors: int | None
    actors_waiting: int | None  # of ``actors``, those Ray has not placed (restarting or short of resources)
    actors_waiting_for: str | None  # why, e.g. "needs 1 CPU (0 free)"
    actors_starting: int | None  # of ``actors``, new ones Ray has not placed yet
    actor_restarts: int | None
    elapsed_s: float | None
    last_metrics_unix: float | None
    last_metrics_age_s: float | None
    rates: dict[str, float | None]
    loss: float | None
    warnings: tuple[str, ...] = ()  # what was skipped (damaged checkpoints, metrics lines), one line each

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _key_config(config: Any) -> dict[str, Any]:
    """The settings worth a glance: network size, search, self-play, replay, training, run limits."""
    return {
        "network": f"{config.network.blocks}x{config.network.channels}",
        "simulations": config.search.num_simulations,
        "search": config.search.algorithm,
        "actors": config.selfplay.actors,
        "games_per_actor": config.selfplay.games_per_actor,
        "replay_capacity": config.replay.capacity,
        "batch_size": config.train.batch_size,
        "learning_rate": config.train.learning_rate,
        "minutes": config.run.minutes,
        "steps": config.run.steps,
        "log_every_seconds": config.run.log_every_seconds,
    }


def _checkpoint_info(run_dir: Path, warnings: list[str]) -> tuple[dict[str, Any] | None, Path | None, int]:
    """(metadata of the newest readable checkpoint or None, its path, number of checkpoints).

    Only metadata is read (``learner.checkpoint.read_metadata``: bounded, never a FIFO);
    each newer checkpoint whose metadata is damaged adds a warning naming its file.
    """
    from learner.checkpoint import CheckpointError, list_checkpoints, read_metadata

    found = list_checkpoints(run_dir)
    for path in reversed(found):  # the newest readable one
        try:
            return read_metadata(path), path, len(found)
        except CheckpointError as err:
            warnings.append(f"{err}; skipped")
    return None, None, len(found)


def _replay_info(run_dir: Path) -> tuple[int, int]:
    replay = RunDir(run_dir).replay
    if not replay.is_dir():
        return 0, 0
    sizes = []
    for path in replay.glob("segment-*.zpseg"):
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            continue  # removed while we looked
    return len(sizes), sum(sizes)


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _opt_float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def run_status(run_dir: str | Path, now: float | None = None) -> RunStatus:
    """Read the state of the run in ``run_dir``.

    Raises:
        StatusError: ``run_dir`` is missing, holds no ``config.toml``, or its configuration is unreadable.
    """
    from cluster.config.run import ConfigError, from_mapping, load_toml
    from cluster.observe.metrics import MetricsError, read_metrics
    from games import GameError

    run_dir = Path(run_dir)
    now = time.time() if now is None else now
    if not run_dir.is_dir():
        raise StatusError(f"{run_dir}: no such directory")
    config_path = run_dir / CONFIG_FILE
    if not os.path.lexists(config_path):
        raise StatusError(f"{run_dir} holds no zeroplay run ({CONFIG_FILE} missing)")
    try:  # load_toml and from_mapping name the file in their messages
        config = from_mapping(load_toml(config_path), str(config_path))
    except (ConfigError, GameError) as err:
        message = str(err)
        raise StatusError(message if str(config_path) in message else f"{config_path}: {message}") from None

    warnings: list[str] = []
    meta, ckpt_path, n_checkpoints = _checkpoint_info(run_dir, warnings)
    try:
        records = read_metrics(run_dir, tail_bytes=METRICS_TAIL_BYTES, warnings=warnings)
    except MetricsError as err:
        warnings.append(f"{err}; shown without metrics")
        records = []
    records = [r for r in records if r.get("kind") != "evaluation"]
    last = records[-1] if records else {}
    segments, replay_bytes = _replay_info(run_dir)

    last_time = _opt_float(last.get("time"))
    age = None if last_time is None else max(0.0, now - last_time)
    if last_time is None:
        state = "not started"
    elif age is not None and age <= RUNNING_PERIODS * config.run.log_every_seconds:
        state = "running"
    else:
        state = "stopped"

    # The checkpoint is the durable position; a newer metrics record (the run goes on) wins.
    step = _opt_int(meta.get("step")) if meta else None
    version = _opt_int(meta.get("weights_version")) if meta else None
    if _opt_int(last.get("step")) is not None and (step is None or int(last["step"]) > step):
        step = int(last["step"])
        version = _opt_int(last.get("weights_version"))
    checkpoint = str(ckpt_path) if ckpt_path is not None else None
    created = _opt_float(meta.get("created_unix")) if meta else None
    return RunStatus(
        run_dir=str(run_dir),
        game=dict(config.game),
        config=_key_config(config),
        state=state,
        step=step,
        weights_version=version,
        checkpoint=checkpoint,
        checkpoint_age_s=None if created is None else round(max(0.0, now - created), 1),
        checkpoints=n_checkpoints,
        games=_opt_int(last.get("games")),
        positions=_opt_int(last.get("positions")),
        replay_segments=segments,
        replay_bytes=replay_bytes,
        replay_size=_opt_int(last.get("replay_size")),
        replay_load_skipped_records=_opt_int(last.get("replay_load_skipped_records")),
        replay_load_skipped_files=_opt_int(last.get("replay_load_skipped_files")),
        samples_per_position=_opt_float(last.get("samples_per_position")),
        actors=_opt_int(last.get("actors")),
        actors_waiting=_opt_int(last.get("actors_waiting")),
        actors_starting=_opt_int(last.get("actors_starting")),
        actors_waiting_for=str(last["actors_waiting_for"])[:200] if last.get("actors_waiting_for") else None,
        actor_restarts=_opt_int(last.get("actor_restarts")),
        elapsed_s=_opt_float(last.get("elapsed")),
        last_metrics_unix=last_time,
        last_metrics_age_s=None if age is None else round(age, 1),
        rates={
            key: _opt_float(last.get(key))
            for key in ("games_per_s", "positions_per_s", "simulations_per_s", "steps_per_s")
        },
        loss=_opt_float(last.get("loss")),
        warnings=tuple(warnings),
    )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _or_dash(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def _skipped(s: dict[str, Any]) -> str:
    records, files = s.get("replay_load_skipped_records") or 0, s.get("replay_load_skipped_files") or 0
    if not records and not files:
        return ""
    return f"; on reload {records} damaged record(s) and {files} file(s) skipped"


def _actors(s: dict[str, Any]) -> str:
    """``2``, or ``2, 1 running, 1 waiting: needs 1 CPU (0 free)`` (see ``cluster.observe.metrics.actors_text``)."""
    from cluster.observe.metrics import actors_text

    if s["actors"] is None or not (s.get("actors_waiting") or s.get("actors_starting")):
        return _or_dash(s["actors"])
    return f"{s['actors']}, " + actors_text(s)


def render(status: dict[str, Any]) -> str:
    """Human-readable text of :meth:`RunStatus.to_dict`."""
    s = status
    game = ", ".join(f"{k}={v}" for k, v in s["game"].items() if k != "name")
    c = s["config"]
    rates = s["rates"]
    lines = [
        f"run        {s['run_dir']}  ({s['state']}; last metrics {_age(s['last_metrics_age_s'])})",
        f"game       {s['game'].get('name')}{' (' + game + ')' if game else ''}",
        f"config     network {c['network']}, {c['simulations']} sims ({c['search']}), "
        f"{c['actors'] or 'auto'} actor(s) x {c['games_per_actor']} games, replay {c['replay_capacity']}, "
        f"batch {c['batch_size']}, lr {c['learning_rate']}",
        f"training   step {_or_dash(s['step'])}, weights v{_or_dash(s['weights_version'])}, "
        f"loss {_or_dash(s['loss'], '.4f')}, elapsed {_or_dash(s['elapsed_s'] and s['elapsed_s'] / 60, '.1f')} min",
        f"self-play  games {_or_dash(s['games'])}, positions {_or_dash(s['positions'])}; "
        f"games/s {_or_dash(rates['games_per_s'], '.1f')}, pos/s {_or_dash(rates['positions_per_s'], '.0f')}, "
        f"sims/s {_or_dash(rates['simulations_per_s'], '.0f')}, steps/s {_or_dash(rates['steps_per_s'], '.2f')}",
        f"replay     buffer {_or_dash(s['replay_size'])} positions, samples/position "
        f"{_or_dash(s['samples_per_position'], '.2f')}; {s['replay_segments']} segment(s), "
        f"{_bytes(s['replay_bytes'])} on disk{_skipped(s)}",
        f"actors     {_actors(s)} ({_or_dash(s['actor_restarts'])} restarts)",
        f"checkpoint {s['checkpoint'] or '-'} ({_age(s['checkpoint_age_s'])}; {s['checkpoints']} kept)",
    ]
    return "\n".join(lines)


