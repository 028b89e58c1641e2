"""``zeroplay bench connect4``: grade a Connect Four network on solved positions.

The data are the labelled Pons benchmark sets in ``shared/connect4/`` (see its
README): one TSV per set, each line a position (``moves`` as 1-indexed column
digits), its exact score and the exact score of every legal column. A choice is

* a **mistake** when ``sign(score of the chosen move) < sign(best score)`` (an
  illegal move counts as a mistake), and
* **exactly optimal** when its score equals the best score.

For every set we report ``n``, the mistake rate and the exact-optimal rate of

* the network's **raw policy** (argmax of the prior over legal moves, evaluated in
  batches of positions: one evaluator call per chunk),
* the network **with search** (PUCT, ``--sims`` simulations, no noise, most visited
  move; the roots of a chunk are searched together in one batched search),
* and the README's baselines recomputed by the same scorer: ``random`` (one
  ``random.Random(0)`` drawing ``choice(legal columns)`` in file order),
  ``prefer-center`` (columns 4, 3, 5, 2, 6, 1, 7) and ``tactical`` (an immediate
  win, else a block of the opponent's immediate win, else prefer-center), so the
  output checks itself against the README's table.

Data location: ``--data DIR``, else ``$ZEROPLAY_CONNECT4_DATA``, else
``<repo>/../shared/connect4`` relative to this package.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from games.errors import ZeroplayError

CENTER_ORDER = (3, 2, 4, 1, 5, 0, 6)  # 0-based columns, nearest the centre first
# README order; other *.tsv files found in the directory follow alphabetically.
SET_ORDER = (
    "pons_end_easy",
    "pons_middle_easy",
    "pons_middle_medium",
    "pons_begin_easy",
    "pons_begin_medium",
    "pons_begin_hard",
)
ENV_VAR = "ZEROPLAY_CONNECT4_DATA"


class BenchDataError(ZeroplayError, ValueError):
    """Missing or malformed benchmark data; the message names the file/line."""


@dataclasses.dataclass(frozen=True)
class Position:
    """One labelled position.

    Attributes:
        moves: the moves from the empty board as 1-indexed column digits.
        score: the exact position score for the side to move.
        move_scores: per column 0..6 the exact score of playing there, None if full.
    """

    moves: str
    score: int
    move_scores: tuple[int | None, ...]

    @property
    def legal(self) -> list[int]:
        return [c for c, s in enumerate(self.move_scores) if s is not None]


@dataclasses.dataclass(frozen=True)
class SetScore:
    """Mistake and exact-optimal counts of one agent on one set."""

    n: int
    mistakes: int
    optimal: int

    @property
    def mistake_rate(self) -> float:
        return self.mistakes / self.n if self.n else float("nan")

    @property
    def exact_optimal_rate(self) -> float:
        return self.optimal / self.n if self.n else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mistakes": self.mistakes,
            "optimal": self.optimal,
            "mistake_rate": self.mistake_rate,
            "exact_optimal_rate": self.exact_optimal_rate,
        }


# ----------------------------------------------------------------------------- data
def default_data_dir() -> Path:
    """``<repo>/../shared/connect4`` where ``<repo>`` holds the ``cluster`` package."""
    repo = Path(__file__).resolve().parents[2]  # cluster/bench/connect4.py -> the repository
    return repo.parent / "shared" / "connect4"


def find_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``data``, else ``$ZEROPLAY_CONNECT4_DATA``, else :func:`default_data_dir`."""
    if data is not None:
        candidates = [("--data", Path(data))]
    elif os.environ.get(ENV_VAR):
        candidates = [(f"${ENV_VAR}", Path(os.environ[ENV_VAR]))]
    else:
        candidates = [("the default location", default_data_dir())]
    where, path = candidates[0]
    if not path.is_dir() or not any(path.glob("*.tsv")):
        raise BenchDataError(
            f"no Connect Four benchmark data (*.tsv) in {path} ({where}); give --data DIR or set {ENV_VAR}"
        )
    return path


def available_sets(data_dir: Path) -> list[str]:
    """Set names (file stems) in README order, then any others alphabetically."""
    stems = sorted(p.stem for p in data_dir.glob("*.tsv"))
    return [s for s in SET_ORDER if s in stems] + [s for s in stems if s not in SET_ORDER]


def resolve_sets(data_dir: Path, names: Sequence[str] | None) -> list[str]:
    """Set names from user text (``end_easy`` or ``pons_end_easy``); all sets when None."""
    known = available_sets(data_dir)
    if not names:
        return known
    out = []
    for name in names:
        stem = name.strip().removesuffix(".tsv")
        for cand in (stem, f"pons_{stem}"):
            if cand in known:
                out.append(cand)
                break
        else:
            raise BenchDataError(f"unknown set {name!r} in {data_dir}; known: {', '.join(known)}")
    return out


def load_positions(path: str | os.PathLike[str], limit: int | None = None) -> list[Position]:
    """Positions of one TSV file (the first ``limit`` if given)."""
    path = Path(path)
    positions: list[Position] = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter="\t")
            header = next(reader, None)
            if not header or header[0] != "moves" or len(header) != 9:
                raise BenchDataError(
                    f"{path}: line 1 is not the expected header (moves, position_score, score_col1..7)"
                )
            for lineno, row in enumerate(reader, start=2):
                if limit is not None and len(positions) >= limit:
                    break
                if len(row) != 9:
                    raise BenchDataError(f"{path}: line {lineno} has {len(row)} fields, expected 9")
                try:
                    scores = tuple(int(x) if x != "" else None for x in row[2:9])
                    pos = Position(row[0], int(row[1]), scores)
                except ValueError as err:
                    raise BenchDataError(f"{path}: line {lineno}: {err}") from None
                if not pos.legal or (pos.moves and not pos.moves.isdigit()):
                    raise BenchDataError(f"{path}: line {lineno}: bad position {row[0]!r}")
                positions.append(pos)
    except OSError as err:
        raise BenchDataError(f"cannot read {path}: {err}") from None
    return positions


# ----------------------------------------------------------------------------- scoring
def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def score_choices(positions: Sequence[Position], choices: Sequence[int]) -> SetScore:
    """Grade one chosen column (0-based) per position; an illegal column is a mistake, never optimal."""
    if len(positions) != len(choices):
        raise ValueError(f"{len(choices)} choices for {len(positions)} positions")
    mistakes = optimal = 0
    for pos, col in zip(positions, choices, strict=True):
        best = max(s for s in pos.move_scores if s is not None)
        s = pos.move_scores[col] if 0 <= col < 7 else None
        if s is None or _sign(s) < _sign(best):
            mistakes += 1
        if s is not None and s == best:
            optimal += 1
    return SetScore(len(positions), mistakes, optimal)


# ----------------------------------------------------------------------------- baselines
def _grid(moves: str) -> tuple[list[int], dict[tuple[int, int], int], int]:
    heights = [0] * 7
    cells: dict[tuple[int, int], int] = {}
    for i, ch in enumerate(moves):
        c = int(ch) - 1
        cells[(c, heights[c])] = i % 2
        heights[c] += 1
    return heights, cells, len(moves) % 2


def _wins(cells: dict[tuple[int, int], int], heights: list[int], col: int, player: int) -> bool:
    """Whether ``player`` dropping a stone in ``col`` makes four in a row."""
    row = heights[col]
    if row >= 6:
        return False
    for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
        count = 1
        for sign in (1, -1):
            k = 1
            while cells.get((col + sign * k * dc, row + sign * k * dr)) == player:
                count += 1
                k += 1
        if count >= 4:
            return True
    return False


def random_choices(positions: Sequence[Position], seed: int = 0) -> list[int]:
    """``random.Random(seed).choice(legal columns)`` per position, in order."""
    rng = random.Random(seed)
    return [rng.choice(p.legal) for p in positions]


def center_choice(legal: Sequence[int]) -> int:
    return next(c for c in CENTER_ORDER if c in legal)


def center_choices(positions: Sequence[Position]) -> list[int]:
    return [center_choice(p.legal) for p in positions]


def tactical_choices(positions: Sequence[Position]) -> list[int]:
    """Immediate win, else block the opponent's immediate win, else prefer-center (centre-first order)."""
    out = []
    for p in positions:
        heights, cells, me = _grid(p.moves)
        legal = p.legal
        choice = next((c for c in CENTER_ORDER if c in legal and _wins(cells, heights, c, me)), None)
        if choice is None:
            choice = next((c for c in CENTER_ORDER if c in legal and _wins(cells, heights, c, 1 - me)), None)
        out.append(center_choice(legal) if choice is None else choice)
    return out


BASELINES: dict[str, Callable[[Sequence[Position]], list[int]]] = {
    "random": random_choices,
    "prefer-center": center_choices,
    "tactical": tactical_choices,
}


# ----------------------------------------------------------------------------- network agents
def positions_to_states(game: Any, positions: Sequence[Position]) -> list[Any]:
    """Game states of the positions (checked replays of their move strings)."""
    start = game.initial_state()
    return [start.apply_all(list(p.moves)) for p in positions]


def raw_policy_choices(evaluate: Any, states: Sequence[Any], chunk: int = 256) -> list[int]:
    """Argmax of the network prior over legal moves; one evaluator call per ``chunk`` positions."""
    out: list[int] = []
    for i in range(0, len(states), chunk):
        part = states[i : i + chunk]
        obs = np.stack([s.observation() for s in part])
        masks = np.stack([s.legal_mask() for s in part])
        logits, _ = evaluate(obs, masks)
        logits = np.where(masks, np.asarray(logits, dtype=np.float64), -np.inf)
        out.extend(int(a) for a in logits.argmax(axis=1))
    return out


def search_choices(evaluate: Any, states: Sequence[Any], sims: int, chunk: int = 64, seed: int = 0) -> list[int]:
    """The most visited move of a PUCT search (no noise) per position; ``chunk`` roots per batched search."""
    from selfplay import SearchConfig, search

    rng = np.random.default_rng(seed)
    config = SearchConfig(num_simulations=sims)
    out: list[int] = []
    for i in range(0, len(states), chunk):
        result = search(list(states[i : i + chunk]), evaluate, config, rng, add_noise=False)
        out.extend(int(o.action) for o in result.outputs)
    return out


def run_bench(
    engine: Any,
    data_dir: Path,
    sets: Sequence[str],
    *,
    sims: int = 64,
    limit: int | None = None,
    search: bool = True,
    baselines: bool = True,
) -> dict[str, Any]:
    """Per set: n and the scores of the baselines, the raw policy and the search (see module docstring)."""
    results: dict[str, Any] = {}
    for name in sets:
        positions = load_positions(data_dir / f"{name}.tsv", limit)
        entry: dict[str, Any] = {"n": len(positions)}
        if baselines:
            entry["baselines"] = {k: score_choices(positions, f(positions)).to_dict() for k, f in BASELINES.items()}
        if engine is not None:
            states = positions_to_states(engine.game, positions)
            t0 = time.perf_counter()
            entry["raw_policy"] = score_choices(positions, raw_policy_choices(engine.evaluate, states)).to_dict()
            entry["raw_policy"]["seconds"] = round(time.perf_counter() - t0, 3)
            if search:
                t0 = time.perf_counter()
                entry["search"] = score_choices(positions, search_choices(engine.evaluate, states, sims)).to_dict()
                entry["search"]["sims"] = sims
                entry["search"]["seconds"] = round(time.perf_counter() - t0, 3)
        results[name] = entry
    return results
