"""League math and the league file: PFSP weights, the payoff matrix, ``RUN_DIR/league.json``.

Prioritized fictitious self-play (PFSP, AlphaStar, Vinyals et al. 2019) draws the
opponent of a league game from the pool of frozen snapshots with probability
proportional to ``f(p)``, where ``p`` is the learning agent's chance to beat that
snapshot:

* ``hard``: ``f(p) = (1 - p)^2`` - mostly the snapshots it still loses to;
* ``var``: ``f(p) = p (1 - p)`` - mostly the snapshots it is even with;
* ``uniform``: ``f(p) = 1`` - fictitious self-play.

When every weight is 0 (``hard`` and the agent beats all of them for sure) the draw is
uniform. :func:`pfsp_weights` is the function, normalised to sum 1.

``p`` comes from the payoff matrix. The ladder (``ladder.json``, kept by the evaluator)
holds the results between rated checkpoints (``step-N``) and anchors; :func:`payoff_matrix`
turns them into ``P[i, j]`` = the score of i against j (a draw counts half), NaN where
the two never played. The league's own games (the main agent against snapshot s) are
counted in ``league.json`` as it plays them, recent games weighing most (the counts of
one snapshot are scaled down to :data:`PAYOFF_WINDOW` games when they exceed it).
:func:`win_probability` combines the two: the league games with :data:`PRIOR_GAMES`
virtual games at the ladder's estimate (the newest rated checkpoint against the
snapshot: their direct score if they played, else the Bradley-Terry Elo difference),
or at 0.5 without one. A snapshot is named as the ladder names the same checkpoint
(``step-N``), so the ladder's results and ratings apply to it directly.

The league file ``RUN_DIR/league.json`` (written atomically; read with every field
checked and bounded; one that cannot be read is reported once and the league starts
again from the snapshot files found on disk)::

    {"format": "zeroplay-league", "format_version": 1,
     "last_snapshot_step": int,                  # -1 before the first snapshot
     "snapshots": [{"name": "step-1000", "kind": "main" | "exploiter", "step": int,
                    "weights_version": int, "added": unix}],          # oldest first
     "payoff": {"step-1000": {"wins": w, "draws": d, "losses": l}},   # main vs snapshot
     "exploiters": [{"index": k, "generation": g, "resets": r, "games": n,
                     "wins": w, "draws": d, "losses": l, "recent": "wdl..." ,
                     "snapshotted": bool, "started": unix}],
     "exploitability": [{"time": unix, "step": main step, "games": n, "score": s,
                         "lower": lo, "upper": hi}]}   # the exploiters' score vs main, over time
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cluster.arena.elo import Z95
from cluster.runtime.rundir import RunDir
from games.errors import ZeroplayError
from selfplay.storage import StoredFileError, atomic_write_bytes, read_json_file

LEAGUE_FORMAT = "zeroplay-league"
LEAGUE_VERSION = 1
PFSP_MODES = ("hard", "var", "uniform")
#: Virtual games at the ladder's estimate (or 0.5) added to the league's own count of a pairing.
PRIOR_GAMES = 4.0
#: A snapshot's league counts are scaled down to this many games when they exceed it (recent games weigh most).
PAYOFF_WINDOW = 200.0
#: Bounds on what a league file may hold.
MAX_FILE_BYTES = 8 << 20
MAX_ENTRIES = 1000
MAX_HISTORY = 10_000
MAX_RECENT = 100_000
_MAX_COUNT = 2**62
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class LeagueError(ZeroplayError, ValueError):
    """A league file or value that cannot be used; the message names it."""


class LeagueWarning(UserWarning):
    """A league file that could not be read (the league starts again from the snapshot files)."""


# ----------------------------------------------------------------------------- PFSP
def pfsp_weight(p: float, mode: str) -> float:
    """``f(p)`` of one snapshot the learner beats with probability ``p`` (module docstring)."""
    if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
        raise LeagueError(f"a win probability must be in [0, 1], got {p!r}")
    if mode == "hard":
        return (1.0 - p) ** 2
    if mode == "var":
        return p * (1.0 - p)
    if mode == "uniform":
        return 1.0
    raise LeagueError(f"PFSP mode must be one of {', '.join(PFSP_MODES)}, got {mode!r}")


def pfsp_weights(probabilities: Sequence[float], mode: str) -> np.ndarray:
    """float64 ``[K]``: the chance of drawing each of K snapshots, ``f(p_k) / sum f`` (uniform if all are 0)."""
    weights = np.array([pfsp_weight(float(p), mode) for p in probabilities], dtype=np.float64)
    if len(weights) == 0:
        return weights
    total = weights.sum()
    if total <= 0.0:
        return np.full(len(weights), 1.0 / len(weights))
    return weights / total


# ----------------------------------------------------------------------------- intervals
def wilson_interval(score: float, games: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a mean score per game in [0, 1] over ``games`` games (95% by default).

    Draws count half; treating each game as a Bernoulli trial of mean ``score`` gives a
    variance at least the W/D/L one, so the interval is conservative. Unlike the normal
    interval it stays informative at a score of 0 or 1 (100 wins in 100 games: [0.963, 1]).
    """
    if games <= 0:
        return 0.0, 1.0
    p = min(max(float(score), 0.0), 1.0)
    z2 = z * z
    denom = 1.0 + z2 / games
    centre = (p + z2 / (2.0 * games)) / denom
    half = z * math.sqrt(p * (1.0 - p) / games + z2 / (4.0 * games * games)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclasses.dataclass(frozen=True)
class Score:
    """W/D/L counts of one side with its mean score and the 95% Wilson interval of the score."""

    wins: int
    draws: int
    losses: int

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float | None:
        """Points per game (win 1, draw 1/2, loss 0); None without games."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.score, self.games) if self.games else None

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "games": self.games, "wins": self.wins, "draws": self.draws, "losses": self.losses,
            "win_rate": self.wins / self.games if self.games else None,
            "draw_rate": self.draws / self.games if self.games else None,
            "loss_rate": self.losses / self.games if self.games else None,
            "score": self.score,
            "interval": [round(interval[0], 6), round(interval[1], 6)] if interval else None,
        }

    @classmethod
    def of(cls, results: str) -> Score:
        """From a string of results, one character per game: ``w``, ``d`` or ``l``."""
        return cls(results.count("w"), results.count("d"), results.count("l"))


# ----------------------------------------------------------------------------- the payoff matrix
@dataclasses.dataclass(frozen=True)
class PayoffMatrix:
    """Who beats whom, from the ladder's results.

    Attributes:
        names: the N players: checkpoints by step, then anchors by rating.
        score: float64 ``[N, N]``, the mean score of row i against column j (NaN: never played).
        games: int64 ``[N, N]``, games between i and j (symmetric).
    """

    names: tuple[str, ...]
    score: np.ndarray
    games: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "score": [[None if math.isnan(x) else round(float(x), 4) for x in row] for row in self.score],
            "games": self.games.tolist(),
        }


def _results(ladder: Mapping[str, Any] | None) -> list[tuple[str, str, float, float, float]]:
    out = []
    for r in (ladder or {}).get("results") or []:
        if not isinstance(r, Mapping):
            continue
        a, b = r.get("a"), r.get("b")
        counts = [r.get(k) for k in ("wins", "draws", "losses")]
        if isinstance(a, str) and isinstance(b, str) and a != b and all(
            isinstance(c, (int, float)) and not isinstance(c, bool) and 0 <= c < _MAX_COUNT for c in counts
        ):
            out.append((a, b, float(counts[0]), float(counts[1]), float(counts[2])))
    return out


def payoff_matrix(ladder: Mapping[str, Any] | None) -> PayoffMatrix:
    """The ladder's results as a payoff matrix (results of a pair in both orders are pooled)."""
    results = _results(ladder)
    players = (ladder or {}).get("players") or {}
    ratings = (ladder or {}).get("ratings") or {}
    names = {name for a, b, *_ in results for name in (a, b)}

    def order(name: str) -> tuple[int, float, str]:
        info = players.get(name) if isinstance(players, Mapping) else None
        if isinstance(info, Mapping) and info.get("kind") == "checkpoint" and isinstance(info.get("step"), int):
            return 0, float(info["step"]), name
        rating = ratings.get(name) if isinstance(ratings, Mapping) else None
        return 1, float(rating) if isinstance(rating, (int, float)) else 0.0, name

    ordered = tuple(sorted(names, key=order))
    index = {name: i for i, name in enumerate(ordered)}
    n = len(ordered)
    points = np.zeros((n, n))
    games = np.zeros((n, n))
    for a, b, w, d, lost in results:
        i, j = index[a], index[b]
        total = w + d + lost
        points[i, j] += w + 0.5 * d
        points[j, i] += lost + 0.5 * d
        games[i, j] += total
        games[j, i] += total
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(games > 0, points / np.where(games > 0, games, 1.0), np.nan)
    return PayoffMatrix(ordered, score, games.astype(np.int64))


def ladder_probability(ladder: Mapping[str, Any] | None, a: str, b: str) -> float | None:
    """The ladder's estimate of a's score against b: their pooled direct result, else the
    Elo difference of their ratings, else None."""
    if a == b:
        return 0.5
    points = games = 0.0
    for x, y, w, d, lost in _results(ladder):
        if (x, y) == (a, b):
            points, games = points + w + 0.5 * d, games + w + d + lost
        elif (x, y) == (b, a):
            points, games = points + lost + 0.5 * d, games + w + d + lost
    if games > 0:
        return points / games
    ratings = (ladder or {}).get("ratings") or {}
    ra, rb = ratings.get(a), ratings.get(b)
    if all(isinstance(r, (int, float)) and not isinstance(r, bool) and math.isfinite(r) for r in (ra, rb)):
        return 1.0 / (1.0 + 10.0 ** (-(float(ra) - float(rb)) / 400.0))
    return None


def newest_rated(ladder: Mapping[str, Any] | None) -> str | None:
    """The id of the newest checkpoint on the ladder (the main agent's most recent rated self)."""
    entries = (ladder or {}).get("checkpoints") or []
    last = entries[-1] if entries else None
    return last.get("id") if isinstance(last, Mapping) and isinstance(last.get("id"), str) else None


def win_probability(counts: Mapping[str, float] | None, prior: float | None) -> float:
    """The main agent's chance to beat a snapshot: its league games and :data:`PRIOR_GAMES` at ``prior`` (or 0.5)."""
    p0 = 0.5 if prior is None else min(max(float(prior), 0.0), 1.0)
    w = d = lost = 0.0
    if counts:
        w, d, lost = (float(counts.get(k, 0.0)) for k in ("wins", "draws", "losses"))
    return (w + 0.5 * d + PRIOR_GAMES * p0) / (w + d + lost + PRIOR_GAMES)


# ----------------------------------------------------------------------------- the league file
def _now() -> float:
    return round(time.time(), 3)


@dataclasses.dataclass
class ExploiterState:
    """One exploiter learner's record (see the module docstring); ``recent`` is its last results, newest last."""

    index: int
    generation: int = 1
    resets: int = 0
    games: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0
    recent: str = ""
    snapshotted: bool = False
    started: float = dataclasses.field(default_factory=_now)

    def add(self, results: str, window: int) -> None:
        """Count results (``w``/``d``/``l`` per game, the exploiter's view), keeping the last ``window``."""
        self.games += len(results)
        self.wins += results.count("w")
        self.draws += results.count("d")
        self.losses += results.count("l")
        self.recent = (self.recent + results)[-window:]

    def reset(self) -> None:
        """A new generation: its counts start again."""
        self.generation += 1
        self.resets += 1
        self.games = self.wins = self.draws = self.losses = 0
        self.recent = ""
        self.snapshotted = False
        self.started = _now()

    @property
    def recent_score(self) -> Score:
        return Score.of(self.recent)


@dataclasses.dataclass
class LeagueState:
    """What ``league.json`` holds (module docstring), as a mutable record the driver updates."""

    last_snapshot_step: int = -1
    snapshots: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    payoff: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    exploiters: list[ExploiterState] = dataclasses.field(default_factory=list)
    exploitability: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    # ---- snapshots and the payoff of the main agent against them
    def names(self) -> list[str]:
        return [s["name"] for s in self.snapshots]

    def add_snapshot(self, name: str, kind: str, step: int, weights_version: int) -> None:
        check_name(name)
        self.snapshots = [s for s in self.snapshots if s["name"] != name]
        self.snapshots.append({"name": name, "kind": kind, "step": int(step), "weights_version": int(weights_version),
                               "added": _now()})
        self.payoff.pop(name, None)

    def drop_oldest(self, keep: int) -> list[str]:
        """Drop snapshots beyond ``keep`` (oldest main snapshots first, then the oldest of all); their names."""
        dropped = []
        while len(self.snapshots) > keep:
            mains = [s for s in self.snapshots if s["kind"] == "main"]
            victim = (mains or self.snapshots)[0]
            self.snapshots.remove(victim)
            self.payoff.pop(victim["name"], None)
            dropped.append(victim["name"])
        return dropped

    def record_game(self, name: str, result: int) -> None:
        """One league game of the main agent against ``name``: ``result`` 1 a win, 0 a draw, -1 a loss."""
        if name not in self.names():
            return
        counts = self.payoff.setdefault(name, {"wins": 0.0, "draws": 0.0, "losses": 0.0})
        counts["wins" if result > 0 else "losses" if result < 0 else "draws"] += 1.0
        total = sum(counts.values())
        if total > PAYOFF_WINDOW:
            for key in counts:
                counts[key] *= PAYOFF_WINDOW / total

    def probabilities(self, ladder: Mapping[str, Any] | None) -> dict[str, float]:
        """The main agent's chance to beat each snapshot (:func:`win_probability`)."""
        newest = newest_rated(ladder)
        out = {}
        for name in self.names():
            prior = ladder_probability(ladder, newest, name) if newest is not None else None
            out[name] = win_probability(self.payoff.get(name), prior)
        return out

    def add_exploitability(self, step: int, score: Score) -> None:
        if not score.games:
            return
        lo, hi = score.interval  # type: ignore[misc]
        self.exploitability.append({"time": _now(), "step": int(step), "games": score.games,
                                    "score": round(float(score.score), 6), "lower": round(lo, 6),
                                    "upper": round(hi, 6)})
        del self.exploitability[:-MAX_HISTORY]

    # ---- the file
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": LEAGUE_FORMAT, "format_version": LEAGUE_VERSION,
            "last_snapshot_step": self.last_snapshot_step,
            "snapshots": self.snapshots,
            "payoff": {k: {kk: round(vv, 6) for kk, vv in v.items()} for k, v in self.payoff.items()},
            "exploiters": [dataclasses.asdict(e) for e in self.exploiters],
            "exploitability": self.exploitability,
        }


def check_name(name: Any) -> str:
    """A snapshot name: 1..64 of lowercase letters, digits and '-', starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise LeagueError(f"a league snapshot name must be 1..64 of a-z, 0-9 and '-', got {name!r}")
    return name


def _count(value: Any, what: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _MAX_COUNT:
        raise LeagueError(f"{what} must be an integer in [{low}, 2**62], got {value!r}")
    return value


def _real(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise LeagueError(f"{what} must be a finite number >= 0, got {value!r}")
    return float(value)


def _list(data: Mapping[str, Any], key: str, most: int) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list) or len(value) > most:
        raise LeagueError(f"{key!r} must be a list of at most {most} entries")
    return value


def parse_league(data: Any) -> LeagueState:
    """A :class:`LeagueState` from the parsed JSON of a league file, every field checked.

    Raises:
        LeagueError: anything out of place (the message names the field).
    """
    if not isinstance(data, dict) or data.get("format") != LEAGUE_FORMAT:
        raise LeagueError("not a zeroplay league file")
    if data.get("format_version") != LEAGUE_VERSION:
        raise LeagueError(f"unsupported league format version {data.get('format_version')!r}")
    state = LeagueState(last_snapshot_step=_count(data.get("last_snapshot_step", -1), "last_snapshot_step", low=-1))
    for i, entry in enumerate(_list(data, "snapshots", MAX_ENTRIES)):
        if not isinstance(entry, dict):
            raise LeagueError(f"snapshots[{i}] must be an object")
        name = check_name(entry.get("name"))
        kind = entry.get("kind")
        if kind not in ("main", "exploiter"):
            raise LeagueError(f"snapshots[{i}].kind must be 'main' or 'exploiter', got {kind!r}")
        if name in state.names():
            raise LeagueError(f"snapshot {name!r} is listed twice")
        state.snapshots.append({
            "name": name, "kind": kind, "step": _count(entry.get("step"), f"snapshots[{i}].step"),
            "weights_version": _count(entry.get("weights_version"), f"snapshots[{i}].weights_version"),
            "added": _real(entry.get("added", 0.0), f"snapshots[{i}].added"),
        })
    payoff = data.get("payoff", {})
    if not isinstance(payoff, dict) or len(payoff) > MAX_ENTRIES:
        raise LeagueError(f"'payoff' must be an object of at most {MAX_ENTRIES} entries")
    for name, counts in payoff.items():
        if name not in state.names():
            continue  # counts of a snapshot no longer in the pool
        if not isinstance(counts, dict) or set(counts) != {"wins", "draws", "losses"}:
            raise LeagueError(f"payoff[{name!r}] must hold wins, draws and losses")
        state.payoff[name] = {k: min(_real(v, f"payoff[{name!r}].{k}"), PAYOFF_WINDOW) for k, v in counts.items()}
    for i, entry in enumerate(_list(data, "exploiters", MAX_ENTRIES)):
        if not isinstance(entry, dict):
            raise LeagueError(f"exploiters[{i}] must be an object")
        recent = entry.get("recent", "")
        if not isinstance(recent, str) or len(recent) > MAX_RECENT or set(recent) - set("wdl"):
            raise LeagueError(f"exploiters[{i}].recent must be a string of w, d and l of at most {MAX_RECENT}")
        snapshotted = entry.get("snapshotted", False)
        if not isinstance(snapshotted, bool):
            raise LeagueError(f"exploiters[{i}].snapshotted must be true or false")
        exploiter = ExploiterState(
            index=_count(entry.get("index"), f"exploiters[{i}].index"),
            generation=_count(entry.get("generation", 1), f"exploiters[{i}].generation", low=1),
            resets=_count(entry.get("resets", 0), f"exploiters[{i}].resets"),
            games=_count(entry.get("games", 0), f"exploiters[{i}].games"),
            wins=_count(entry.get("wins", 0), f"exploiters[{i}].wins"),
            draws=_count(entry.get("draws", 0), f"exploiters[{i}].draws"),
            losses=_count(entry.get("losses", 0), f"exploiters[{i}].losses"),
            recent=recent, snapshotted=snapshotted,
            started=_real(entry.get("started", 0.0), f"exploiters[{i}].started"),
        )
        if exploiter.index != i:
            raise LeagueError(f"exploiters[{i}].index is {exploiter.index}")
        state.exploiters.append(exploiter)
    for i, entry in enumerate(_list(data, "exploitability", MAX_HISTORY)):
        if not isinstance(entry, dict):
            raise LeagueError(f"exploitability[{i}] must be an object")
        point = {"time": _real(entry.get("time"), f"exploitability[{i}].time"),
                 "step": _count(entry.get("step"), f"exploitability[{i}].step"),
                 "games": _count(entry.get("games"), f"exploitability[{i}].games")}
        for key in ("score", "lower", "upper"):
            value = _real(entry.get(key), f"exploitability[{i}].{key}")
            if value > 1.0:
                raise LeagueError(f"exploitability[{i}].{key} must be in [0, 1], got {value!r}")
            point[key] = value
        state.exploitability.append(point)
    return state


def league_path(run_dir: str | Path) -> Path:
    return RunDir(run_dir).league


def read_league(run_dir: str | Path) -> LeagueState | None:
    """``RUN_DIR/league.json`` (None if there is none).

    Raises:
        LeagueError: the file is there but cannot be read as a league file (naming it and why).
    """
    path = league_path(run_dir)
    try:
        parsed = read_json_file(path, max_bytes=MAX_FILE_BYTES, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except StoredFileError as err:
        raise LeagueError(str(err)) from None
    try:
        return parse_league(parsed)
    except LeagueError as err:
        raise LeagueError(f"{path}: {err}") from None


def load_league(run_dir: str | Path) -> LeagueState:
    """The league state of a run: its file, or a fresh state (one :class:`LeagueWarning`) if the file is damaged."""
    try:
        return read_league(run_dir) or LeagueState()
    except LeagueError as err:
        warnings.warn(f"{err}; the league starts again (snapshots are recovered from their files)",
                      LeagueWarning, stacklevel=2)
        return LeagueState()


def write_league(run_dir: str | Path, state: LeagueState) -> None:
    """Write ``RUN_DIR/league.json`` atomically."""
    text = json.dumps(state.to_dict(), indent=1, allow_nan=False) + "\n"
    atomic_write_bytes(league_path(run_dir), text.encode())


__all__ = [
    "ExploiterState", "LEAGUE_FORMAT", "LEAGUE_VERSION", "LeagueError", "LeagueState", "LeagueWarning",
    "PAYOFF_WINDOW", "PFSP_MODES", "PRIOR_GAMES", "PayoffMatrix", "Score", "check_name", "ladder_probability",
    "load_league", "newest_rated", "parse_league", "payoff_matrix", "pfsp_weight", "pfsp_weights", "read_league",
    "wilson_interval", "win_probability", "write_league",
]
