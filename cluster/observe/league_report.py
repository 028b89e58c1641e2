"""The league's and exploitability's part of ``zeroplay report`` and ``zeroplay evaluate --payoff``.

* ``payoff.png``: the payoff matrix as a heat map, the score of each row player against
  each column player from the ladder's results (checkpoints by step, then anchors; a
  draw counts half; blank where they never played), and below it, for a league run, the
  main agent's current score against each snapshot from its league games
  (``league.json``, recent games weighing most).
* ``exploitability.png``: the main agent's exploitability over time, from what the run
  directory holds: the league exploiters' score against it (``league.json``, with the 95%
  interval), the exact points lost against perfect play per evaluated checkpoint
  (evaluation records with ``exploitability``, ``evaluate.exploitability = true``), and for
  a ``zeroplay exploit`` run the exploiter's score against its target (``exploit.json``).

:func:`payoff_text` renders the matrix for a terminal (one shade character per cell).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

_SHADES = " .:-=+*#%@"


def _league(run: Path) -> Any:
    from cluster.arena.league import LeagueError, read_league

    try:
        return read_league(run)
    except LeagueError:
        return None


def _exploit(run: Path) -> dict[str, Any] | None:
    from cluster.runtime.exploit import ExploitError, read_exploit

    try:
        return read_exploit(run)
    except ExploitError:
        return None


def _short(name: str) -> str:
    from cluster.arena.evaluator import metric_key

    return metric_key(name) if name.startswith(("gtp:", "uci:")) else name


def plot_payoff(plt: Any, ladder: Mapping[str, Any] | None, run: Path, path: Path) -> Path | None:
    """The heat map (module docstring); None when there is nothing to draw."""
    from cluster.arena.league import payoff_matrix
    from cluster.observe.report import _save

    matrix = payoff_matrix(ladder)
    state = _league(run)
    row = None
    if state is not None and state.snapshots:
        p = state.probabilities(ladder)  # what PFSP draws by
        row = (state.names(), [p[n] for n in state.names()],
               [sum(state.payoff.get(n, {}).values()) for n in state.names()])
    if not matrix.names and row is None:
        return None
    n = len(matrix.names)
    heights = ([max(n, 1)] if n else []) + ([1.5] if row else [])
    size = max(n, len(row[0]) if row else 0)
    fig, axes = plt.subplots(len(heights), 1, figsize=(min(4 + 0.5 * size, 20), 2.2 + 0.4 * sum(heights)),
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    fig.suptitle("Payoff: score of the row player against the column player")
    k = 0
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#dddddd")
    if matrix.names:
        ax = axes[k][0]
        k += 1
        image = ax.imshow(np.ma.masked_invalid(matrix.score), vmin=0.0, vmax=1.0, cmap=cmap, aspect="auto")
        labels = [_short(n) for n in matrix.names]
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize="small")
        ax.set_yticks(range(len(labels)), labels, fontsize="small")
        if len(labels) <= 16:
            for i in range(len(labels)):
                for j in range(len(labels)):
                    if not math.isnan(matrix.score[i, j]):
                        ax.text(j, i, f"{matrix.score[i, j]:.2f}", ha="center", va="center", fontsize="x-small")
        ax.set_title("ladder (evaluation games)", fontsize="small")
        fig.colorbar(image, ax=ax, fraction=0.03)
    if row is not None:
        names, probabilities, counts = row
        ax = axes[k][0]
        ax.imshow(np.array([probabilities]), vmin=0.0, vmax=1.0, cmap=cmap, aspect="auto")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize="small")
        ax.set_yticks([0], ["main agent"], fontsize="small")
        for j, (p, n) in enumerate(zip(probabilities, counts, strict=True)):
            ax.text(j, 0, f"{p:.2f}\n{n:.0f}", ha="center", va="center", fontsize="x-small")
        ax.set_title("league: the main agent against each snapshot (PFSP's p; league games)",
                     fontsize="small")
    fig.tight_layout()
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def exploitability_series(run: Path, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The series :func:`plot_exploitability` draws: ``league`` and ``exploit`` as (x, score, lower, upper)
    lists against the training step, ``exact`` as (step, points lost per game)."""
    league, exploit, exact = [], [], []
    state = _league(run)
    if state is not None:
        league = [(p["step"], p["score"], p["lower"], p["upper"]) for p in state.exploitability]
    data = _exploit(run)
    if data is not None:
        for point in data["history"]:
            final = point.get("final") if isinstance(point, dict) else None
            if isinstance(final, dict) and isinstance(final.get("score"), (int, float)) and final.get("interval"):
                lo, hi = final["interval"]
                exploit.append((point.get("step", 0), float(final["score"]), float(lo), float(hi)))
    for r in records:
        if r.get("kind") == "evaluation" and isinstance(r.get("exploitability"), (int, float)):
            exact.append((r.get("step", 0), float(r["exploitability"])))
    return {"league": league, "exploit": exploit, "exact": exact}


def plot_exploitability(plt: Any, run: Path, records: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    """The main agent's exploitability over time (module docstring); None without data."""
    from cluster.observe.report import _save

    series = exploitability_series(run, records)
    approximate = [(label, series[key]) for key, label in (
        ("league", "league exploiters' score vs the main agent"),
        ("exploit", "exploiter's score vs the frozen target (last games)"),
    ) if series[key]]
    panels = len(approximate) + (1 if series["exact"] else 0)
    if not panels:
        return None
    fig, axes = plt.subplots(panels, 1, figsize=(9, 3.2 * panels), squeeze=False, sharex=True)
    fig.suptitle("Exploitability")
    k = 0
    for label, points in approximate:
        ax = axes[k][0]
        k += 1
        xs = [p[0] for p in points]
        ax.plot(xs, [p[1] for p in points], marker=".", label=label)
        ax.fill_between(xs, [p[2] for p in points], [p[3] for p in points], alpha=0.25, label="95% interval")
        ax.set_ylim(0, 1)
        ax.set_ylabel("points per game")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    if series["exact"]:
        ax = axes[k][0]
        ax.plot([p[0] for p in series["exact"]], [p[1] for p in series["exact"]], marker="o", color="C3",
                label="exact: points lost per game against perfect play")
        ax.set_ylim(bottom=0)
        ax.set_ylabel("points lost")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    axes[-1][0].set_xlabel("training step")
    fig.tight_layout()
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def payoff_text(ladder: Mapping[str, Any] | None, run: Path | None = None) -> str:
    """The payoff matrix (and the league's main-agent row) for a terminal: a shade and the score per cell."""
    from cluster.arena.league import payoff_matrix

    matrix = payoff_matrix(ladder)
    lines = []
    if matrix.names:
        labels = [_short(n)[:14] for n in matrix.names]
        width = max(len(label) for label in labels)
        lines.append("payoff (row's score against column; shade " + repr(_SHADES) + " from 0 to 1):")
        lines.append(" " * (width + 2) + " ".join(f"{j:>5d}" for j in range(len(labels))))
        for i, label in enumerate(labels):
            cells = []
            for j in range(len(labels)):
                x = matrix.score[i, j]
                cells.append("    ." if math.isnan(x) else f"{_SHADES[min(int(x * len(_SHADES)), len(_SHADES) - 1)]}"
                                                           f"{x:4.2f}")
            lines.append(f"{label:>{width}} {i:>1d} " + " ".join(cells))
    state = _league(run) if run is not None else None
    if state is not None and state.snapshots:
        lines.append("league: the main agent's chance against each snapshot (PFSP's p, from its recent league games):")
        p = state.probabilities(ladder)
        for name in state.names():
            lines.append(f"  {name:<24} {p[name]:.3f}  ({sum(state.payoff.get(name, {}).values()):.0f} games)")
    return "\n".join(lines) if lines else "no results on the ladder yet"


__all__ = ["exploitability_series", "payoff_text", "plot_exploitability", "plot_payoff"]
