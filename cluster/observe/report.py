"""``zeroplay report RUN_DIR``: PNG plots of a training run, for people who would rather look than read.

Reads ``RUN_DIR/metrics.jsonl`` (:func:`cluster.metrics.read_metrics`) and, when it is
there, the evaluator's ladder ``RUN_DIR/ladder.json`` (:mod:`cluster.arena.evaluator`), and
writes to ``RUN_DIR/report/`` (or ``--out DIR``):

* ``losses.png``      total, policy and value loss against the training step;
* ``elo.png``         Elo (``random`` = 0) of every evaluated checkpoint against the step,
  with the anchors as horizontal lines, and below it each checkpoint's Elo gain over
  its predecessor with the 95% interval (from the ladder; else from ``elo`` fields of
  evaluation records in metrics.jsonl); when one side won every game (no finite
  interval) a triangle marks the two checkpoints' ladder rating difference instead;
* ``throughput.png``  games/s, positions/s and simulations/s against wall-clock minutes
  since the first record;
* ``replay.png``      replay window size and samples drawn per position against the step;
* ``payoff.png``      the payoff matrix as a heat map (the ladder's results, and a league's
  main agent against its snapshots) and ``exploitability.png``, the main agent's
  exploitability over time (:mod:`cluster.observe.league_report`).

A plot whose data is missing (e.g. no ladder yet) is left out. Drawn with matplotlib's
Agg backend (no display needed); the paths written are printed, one per line.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from games.errors import ZeroplayError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ReportError(ZeroplayError, ValueError):
    """A run directory with nothing to plot, or no matplotlib; the message names the directory."""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _series(records: Sequence[Mapping[str, Any]], x_key: str, y_key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for r in records:
        x, y = _num(r.get(x_key)), _num(r.get(y_key))
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return xs, ys


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise ReportError(
            f"zeroplay report needs matplotlib ({err}); install it with: pip install matplotlib"
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=110)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _figure(plt: Any, rows: int, title: str) -> tuple[Any, list[Any]]:
    fig, axes = plt.subplots(rows, 1, figsize=(9, 3.2 * rows), sharex=True, squeeze=False)
    fig.suptitle(title)
    return fig, [ax for (ax,) in axes]


def plot_losses(plt: Any, records: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    lines = [(k, label) for k, label in (("loss", "total"), ("policy_loss", "policy"), ("value_loss", "value"))]
    data = [(label, *_series(records, "step", k)) for k, label in lines]
    if not any(xs for _, xs, _ in data):
        return None
    fig, (ax,) = _figure(plt, 1, "Training loss")
    for label, xs, ys in data:
        if xs:
            ax.plot(xs, ys, label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def _elo_points(ladder: Mapping[str, Any] | None, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Steps, ratings, gains over the predecessor with intervals, and anchors, from the ladder or the records."""
    steps, elos, versions, gains = [], [], [], []
    unbounded: list[tuple[float, float, bool]] = []  # (step, ladder difference, all wins)
    anchors: dict[str, float] = {}
    if ladder and ladder.get("checkpoints"):
        ratings = ladder.get("ratings") or {}
        for entry in ladder["checkpoints"]:
            elo = _num(ratings.get(entry.get("id"), entry.get("elo")))
            if elo is None or _num(entry.get("step")) is None:
                continue
            steps.append(float(entry["step"]))
            elos.append(elo)
            versions.append(entry.get("weights_version"))
            vs = entry.get("vs_previous") or {}
            gain, lo, hi = _num(vs.get("elo")), _num(vs.get("lower")), _num(vs.get("upper"))
            if gain is not None:
                gains.append((float(entry["step"]), gain, lo, hi))
            elif vs.get("elo_infinite") in ("+inf", "-inf"):
                # All wins / all losses: no finite interval; mark the ladder's (regularised) difference.
                mine, theirs = _num(ratings.get(entry.get("id"))), _num(ratings.get(entry.get("previous")))
                if mine is not None and theirs is not None:
                    unbounded.append((float(entry["step"]), mine - theirs, vs["elo_infinite"] == "+inf"))
        for name, info in (ladder.get("players") or {}).items():
            if isinstance(info, dict) and info.get("kind") == "anchor" and _num(ratings.get(name)) is not None:
                anchors[name] = float(ratings[name])
    else:
        evaluations = [r for r in records if r.get("kind") == "evaluation" or "elo" in r]
        xs, ys = _series(evaluations, "step", "elo")
        steps, elos = xs, ys
        for r in evaluations:
            gain = _num(r.get("elo_vs_previous"))
            if gain is not None and _num(r.get("step")) is not None:
                gains.append(
                    (float(r["step"]), gain, _num(r.get("elo_vs_previous_lower")), _num(r.get("elo_vs_previous_upper")))
                )
    return {
        "steps": steps,
        "elos": elos,
        "versions": versions,
        "gains": gains,
        "unbounded": unbounded,
        "anchors": anchors,
    }


def _short(name: str) -> str:
    if name.startswith(("gtp:", "uci:")):
        from cluster.arena.evaluator import metric_key

        return metric_key(name)
    return name


def plot_elo(
    plt: Any, ladder: Mapping[str, Any] | None, records: Sequence[Mapping[str, Any]], path: Path
) -> Path | None:
    points = _elo_points(ladder, records)
    if not points["steps"]:
        return None
    fig, (ax, ax_gain) = _figure(plt, 2, "Playing strength (Elo, random = 0)")
    ax.plot(points["steps"], points["elos"], marker="o", label="checkpoints")
    for k, (name, elo) in enumerate(sorted(points["anchors"].items(), key=lambda item: item[1])):
        ax.axhline(elo, linestyle="--", linewidth=1, color=f"C{k + 1}", label=_short(name))
    ax.set_ylabel("Elo")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if points["gains"]:
        xs = [g[0] for g in points["gains"]]
        ys = [g[1] for g in points["gains"]]
        lower = [g[1] - g[2] if g[2] is not None else 0.0 for g in points["gains"]]
        upper = [g[3] - g[1] if g[3] is not None else 0.0 for g in points["gains"]]
        ax_gain.errorbar(xs, ys, yerr=[lower, upper], fmt="o", capsize=3)
    for step, bound, up in points["unbounded"]:
        ax_gain.plot([step], [bound], marker="^" if up else "v", color="C0", linestyle="none")
    if points["gains"] or points["unbounded"]:
        ax_gain.axhline(0.0, color="grey", linewidth=1)
    ax_gain.set_ylabel("Elo vs previous\n(95% interval)")
    ax_gain.set_xlabel("training step")
    ax_gain.grid(alpha=0.3)
    fig.tight_layout()
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def _elapsed_minutes(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Records with a ``minutes`` field: wall clock since the first record (``time``), else ``elapsed``.

    Wall clock first: ``elapsed`` starts again from 0 when a run is resumed.
    """
    times = [_num(r.get("time")) for r in records]
    start = min((t for t in times if t is not None), default=None)
    out = []
    for r, t in zip(records, times, strict=True):
        elapsed = t - start if t is not None and start is not None else _num(r.get("elapsed"))
        if elapsed is not None:
            out.append({**r, "minutes": elapsed / 60.0})
    return out


def _plot_panels(plt: Any, data: Sequence[tuple[str, list, list]], title: str, xlabel: str, path: Path) -> Path:
    """One panel per (label, xs, ys) series, stacked, sharing the x axis; y starts at 0."""
    fig, axes = _figure(plt, len(data), title)
    for ax, (label, xs, ys) in zip(axes, data, strict=True):
        ax.plot(xs, ys)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(xlabel)
    fig.tight_layout()
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def plot_throughput(plt: Any, records: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    timed = _elapsed_minutes(records)
    panels = [("games_per_s", "games/s"), ("positions_per_s", "positions/s"), ("simulations_per_s", "simulations/s")]
    data = [(label, *_series(timed, "minutes", key)) for key, label in panels]
    data = [d for d in data if d[1]]
    if not data:
        return None
    return _plot_panels(plt, data, "Self-play throughput", "minutes", path)


def plot_replay(plt: Any, records: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    panels = [("replay_size", "replay size (positions)"), ("samples_per_position", "samples / position")]
    data = [(label, *_series(records, "step", key)) for key, label in panels]
    data = [d for d in data if d[1]]
    if not data:
        return None
    return _plot_panels(plt, data, "Replay buffer", "training step", path)


def make_report(run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> list[Path]:
    """Draw the plots of ``run_dir`` into ``out`` (default ``RUN_DIR/report``); the files written.

    Raises:
        ReportError: ``run_dir`` is not a directory or holds no metrics records; no matplotlib.
    """
    from cluster.arena.ladder import read_ladder
    from cluster.observe.metrics import read_metrics
    from cluster.runtime.rundir import METRICS_FILE, RunDir

    run = Path(run_dir)
    if not run.is_dir():
        raise ReportError(f"run directory {run} does not exist")
    records = read_metrics(run)
    if not records:
        raise ReportError(f"{run}: no metrics to plot ({run / METRICS_FILE} is missing or empty)")
    ladder = read_ladder(run)
    training = [r for r in records if r.get("kind") != "evaluation"]
    plt = _pyplot()
    target = Path(out) if out is not None else RunDir(run).report
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ReportError(f"cannot create the report directory {target}: {err}") from None
    written = [
        plot_losses(plt, training, target / "losses.png"),
        plot_elo(plt, ladder, records, target / "elo.png"),
        plot_throughput(plt, training, target / "throughput.png"),
        plot_replay(plt, training, target / "replay.png"),
    ]
    from cluster.observe.league_report import plot_exploitability, plot_payoff

    written += [plot_payoff(plt, ladder, run, target / "payoff.png"),
                plot_exploitability(plt, run, records, target / "exploitability.png")]
    return [p for p in written if p is not None]


__all__ = ["PNG_SIGNATURE", "ReportError", "make_report"]
