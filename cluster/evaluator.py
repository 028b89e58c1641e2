"""Strength tracking during training: rate checkpoints as they appear on an Elo ladder.

:class:`Evaluator` watches ``RUN_DIR/checkpoints``. Each new checkpoint (every
``every_checkpoints``-th one it sees) plays ``games_per_pairing`` games, colours
alternating and each pair of games from the same random opening, against

* the ``opponents`` most recently evaluated checkpoints, and
* the anchors: ``random``, ``mcts-rollouts:64`` (not for chess: too slow) and, for
  9x9 Go when ``/usr/games/gnugo`` exists, GNU Go level 1 over GTP (see
  :func:`default_anchors`).

Games are played by :func:`cluster.match.run_match` (so by ``cluster.match.play_game``);
a checkpoint plays through :class:`cluster.engine.Engine` with ``sims`` simulations
per move, deterministic apart from the opening.

Pruned checkpoints: the learner keeps only the last few checkpoints, so the
evaluator keeps its own copy of the weights of the checkpoints it evaluated (the
newest ``opponents`` of them) under ``RUN_DIR/ladder/checkpoints`` (the usual
checkpoint format without training state). Earlier checkpoints are therefore
always available as opponents, however fast the learner prunes. A checkpoint that
disappears before the evaluator has read it is skipped with a warning; once read
(the weights are loaded into memory first) its deletion no longer matters.

The ladder, ``RUN_DIR/ladder.json`` (written atomically after every checkpoint),
holds everything needed to resume: the last checkpoint step seen, every player,
every pairwise result (W/D/L/void from ``a``'s view, accumulated), the ratings, and
one entry per evaluated checkpoint. Ratings are Bradley-Terry maximum-likelihood
Elo (:func:`bradley_terry`; draws count half a win to each side, plus
``prior_draws`` virtual draws per pair that played, so that a 10-0 result gives a
finite rating), anchored so that ``random`` is 0 (the first evaluated checkpoint when
there is no ``random`` anchor). Each checkpoint's head-to-head result against its
predecessor also gets a 95% interval from :func:`cluster.elo.elo_estimate`.

Ratings are recomputed from all results after every evaluation, so the ratings of
earlier checkpoints in ``ladder.json`` may move a little; the metrics record of a
checkpoint has its rating at the time it was evaluated.

The ladder is saved after each checkpoint, so an evaluator stopped in the middle of
one (killed with its Ray actor) evaluates that checkpoint again when restarted, if
the checkpoint is still there.

:meth:`Evaluator.evaluate_new` returns one metrics record per evaluated checkpoint::

    {"kind": "evaluation", "time": unix, "step": S, "weights_version": V,
     "elo": ladder rating, "elo_vs_random": head-to-head Elo (None if infinite),
     "score_vs_random": 0..1, "score_vs_previous": 0..1 (None for the first),
     "elo_vs_previous", "elo_vs_previous_lower", "elo_vs_previous_upper": 95% interval,
     "score_vs_<anchor>": e.g. score_vs_mcts_rollouts_64, score_vs_gnugo,
     "eval_games": games played, "eval_seconds": wall time}

``zeroplay evaluate RUN_DIR`` runs it from the command line (once, or ``--watch``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import shlex
import shutil
import sys
import time
import warnings
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from selfplay.storage import atomic_write_bytes

LADDER_FILE = "ladder.json"
LADDER_DIR = "ladder"
LADDER_FORMAT = "zeroplay-ladder"
LADDER_VERSION = 1
GNUGO = "/usr/games/gnugo"
GNUGO_ANCHOR = f"gtp:{GNUGO} --mode gtp --level 1 --chinese-rules --capture-all-dead"
RANDOM = "random"
ELO_PER_NAT = 400.0 / math.log(10.0)


class EvaluatorError(ValueError):
    """A bad evaluator setting or an unreadable ladder file; the message names it."""


class EvaluatorWarning(UserWarning):
    """Something skipped during an evaluation (a pruned checkpoint, an anchor that cannot start)."""


def default_anchors(game_spec: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """``random`` and ``mcts-rollouts:64``, plus GNU Go (level 1, GTP) for 9x9 Go when installed.

    Chess gets ``random`` only: a random playout there is hundreds of plies, so
    ``mcts-rollouts:64`` takes seconds per move (about 2 s on one core) and a pairing
    would take most of an hour; add ``uci:...`` anchors explicitly instead.
    """
    if game_spec is not None and game_spec.get("name") == "chess":
        return (RANDOM,)
    anchors = [RANDOM, "mcts-rollouts:64"]
    if game_spec is not None and game_spec.get("name") == "go" and int(game_spec.get("size", 0)) == 9:
        if os.path.exists(GNUGO) and os.access(GNUGO, os.X_OK):
            anchors.append(GNUGO_ANCHOR)
    return tuple(anchors)


def default_opening_plies(game_name: str) -> int:
    """Random opening moves per pair of games: 2 for tic-tac-toe, 4 otherwise."""
    return 2 if game_name == "tictactoe" else 4


@dataclasses.dataclass(frozen=True)
class EvaluatorConfig:
    """How checkpoints are evaluated.

    Attributes:
        games_per_pairing: games per opponent (even: each opening is played with both colours).
        sims: search simulations per move of a checkpoint.
        opponents: how many previously evaluated checkpoints each new one faces.
        anchors: fixed player specs (``cluster.players.parse_player``); None: :func:`default_anchors`.
        every_checkpoints: evaluate every k-th new checkpoint seen: the first, then the
            (k+1)-th, ... (1: all). Counted over the checkpoints the evaluator finds, so one
            pruned before it looked is not counted.
        threads: torch threads for inference.
        opening_plies: random opening moves (None: :func:`default_opening_plies`).
        prior_draws: virtual draws added to every pair that played (rating regularisation).
        seed: seeds openings and the players.
    """

    games_per_pairing: int = 10
    sims: int = 32
    opponents: int = 2
    anchors: tuple[str, ...] | None = None
    every_checkpoints: int = 1
    threads: int = 1
    opening_plies: int | None = None
    prior_draws: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        def positive_int(name: str, value: Any, minimum: int = 1) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise EvaluatorError(f"evaluator {name} must be an integer >= {minimum}, got {value!r}")

        positive_int("games_per_pairing", self.games_per_pairing, 2)
        if self.games_per_pairing % 2:
            raise EvaluatorError(f"evaluator games_per_pairing must be even, got {self.games_per_pairing}")
        positive_int("sims", self.sims)
        positive_int("opponents", self.opponents, 0)
        positive_int("every_checkpoints", self.every_checkpoints)
        positive_int("threads", self.threads)
        if self.opening_plies is not None:
            positive_int("opening_plies", self.opening_plies, 0)
        if not (isinstance(self.prior_draws, (int, float)) and 0.0 <= self.prior_draws < math.inf):
            raise EvaluatorError(f"evaluator prior_draws must be a number >= 0, got {self.prior_draws!r}")
        if self.anchors is not None:
            if isinstance(self.anchors, str) or not all(isinstance(a, str) and a.strip() for a in self.anchors):
                raise EvaluatorError(f"evaluator anchors must be a list of player specs, got {self.anchors!r}")
            object.__setattr__(self, "anchors", tuple(a.strip() for a in self.anchors))
            if len(set(self.anchors)) != len(self.anchors):
                raise EvaluatorError(f"evaluator anchors repeat a player: {list(self.anchors)}")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["anchors"] = list(self.anchors) if self.anchors is not None else None
        return out


# ----------------------------------------------------------------------------- ratings
def bradley_terry(
    results: Sequence[tuple[str, str, float, float, float]],
    *,
    anchor: str | None = RANDOM,
    prior_draws: float = 0.0,
    max_iterations: int = 100,
    tolerance: float = 1e-9,
) -> dict[str, float]:
    """Maximum-likelihood Elo ratings of the players in ``results``.

    Args:
        results: ``(a, b, wins, draws, losses)`` from ``a``'s view; a pair may appear
            more than once (results add up). A draw is half a win for each side.
        anchor: the player rated 0 (if absent from ``results``: the first player named).
        prior_draws: virtual draws added to each pair that played; with 0 a player that
            won (or lost) every game has no finite maximum-likelihood rating and gets a
            very large one.
        max_iterations, tolerance: Newton's method on the log-likelihood stops when no
            rating moves more than ``tolerance`` (in natural-log units).

    Returns:
        ``{player: Elo}``, the logistic model ``P(a beats b) = 1 / (1 + 10^((R_b - R_a)/400))``.
        Players not connected to the anchor by games are placed relative to the first player
        of their own group, which is rated 0.

    Raises:
        EvaluatorError: a negative or non-finite count, or a player playing itself.
    """
    names: list[str] = []
    index: dict[str, int] = {}
    pairs: dict[tuple[int, int], list[float]] = {}
    for a, b, w, d, l in results:
        for name, value in (("wins", w), ("draws", d), ("losses", l)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise EvaluatorError(f"result {a!r} vs {b!r}: {name} must be a number >= 0, got {value!r}")
        if a == b:
            raise EvaluatorError(f"result of {a!r} against itself")
        for name in (a, b):
            if name not in index:
                index[name] = len(names)
                names.append(name)
        i, j = index[a], index[b]
        key, (sw, sl) = ((i, j), (w + 0.5 * d, l + 0.5 * d)) if i < j else ((j, i), (l + 0.5 * d, w + 0.5 * d))
        acc = pairs.setdefault(key, [0.0, 0.0])
        acc[0] += sw
        acc[1] += sl
    if not names:
        return {}
    keys = [k for k, (sw, sl) in pairs.items() if sw + sl > 0 or prior_draws > 0]
    i_idx = np.array([k[0] for k in keys], dtype=np.int64)
    j_idx = np.array([k[1] for k in keys], dtype=np.int64)
    s_ij = np.array([pairs[k][0] + 0.5 * prior_draws for k in keys], dtype=np.float64)  # i's score
    n_ij = np.array([sum(pairs[k]) + prior_draws for k in keys], dtype=np.float64)
    n = len(names)
    # Groups of players connected by games; each gets one fixed (reference) player.
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in zip(i_idx.tolist(), j_idx.tolist()):
        parent[find(i)] = find(j)
    ref_of_group: dict[int, int] = {}
    if anchor in index:
        ref_of_group[find(index[anchor])] = index[anchor]
    for p in range(n):
        ref_of_group.setdefault(find(p), p)
    free = np.array([p not in set(ref_of_group.values()) for p in range(n)])
    theta = np.zeros(n)
    if free.any() and len(keys):
        for _ in range(max_iterations):
            diff = theta[i_idx] - theta[j_idx]
            p = 1.0 / (1.0 + np.exp(-diff))
            resid = s_ij - n_ij * p
            grad = np.zeros(n)
            np.add.at(grad, i_idx, resid)
            np.add.at(grad, j_idx, -resid)
            h = n_ij * p * (1.0 - p)
            hess = np.zeros((n, n))  # the negated Hessian (positive semi-definite)
            np.add.at(hess, (i_idx, i_idx), h)
            np.add.at(hess, (j_idx, j_idx), h)
            np.add.at(hess, (i_idx, j_idx), -h)
            np.add.at(hess, (j_idx, i_idx), -h)
            sub = hess[np.ix_(free, free)]
            sub[np.diag_indices_from(sub)] += 1e-12
            try:
                step = np.linalg.solve(sub, grad[free])
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(sub, grad[free], rcond=None)[0]
            step = np.clip(step, -5.0, 5.0)  # damp the first steps of lopsided results
            theta[free] += step
            if float(np.max(np.abs(step))) < tolerance:
                break
    return {name: float(theta[k] * ELO_PER_NAT) + 0.0 for k, name in enumerate(names)}


# ----------------------------------------------------------------------------- ladder file
def _atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, allow_nan=False) + "\n").encode())


def empty_ladder() -> dict[str, Any]:
    return {
        "format": LADDER_FORMAT, "format_version": LADDER_VERSION, "game": None, "config": None,
        "last_seen_step": -1, "seen": 0, "players": {}, "results": [], "ratings": {}, "checkpoints": [],
        "skipped": [],
    }


def read_ladder(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``RUN_DIR/ladder.json`` (None if absent).

    Raises:
        EvaluatorError: the file exists but is not a readable ladder (naming it).
    """
    path = Path(run_dir) / LADDER_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise EvaluatorError(f"{path}: cannot read the ladder: {err}") from None
    try:
        data = json.loads(text)
    except ValueError as err:
        raise EvaluatorError(f"{path}: the ladder is not valid JSON: {err}") from None
    if not isinstance(data, dict) or data.get("format") != LADDER_FORMAT:
        raise EvaluatorError(f"{path}: not a zeroplay ladder file")
    if data.get("format_version") != LADDER_VERSION:
        raise EvaluatorError(f"{path}: unsupported ladder format version {data.get('format_version')!r}")
    base = empty_ladder()
    for key, value in base.items():
        if key not in data:
            data[key] = value
        elif value is not None and not isinstance(data[key], type(value)):
            raise EvaluatorError(f"{path}: ladder key {key!r} should be a {type(value).__name__}")
    return data


def checkpoint_id(step: int) -> str:
    """A checkpoint's name on the ladder: ``step-<step>``."""
    return f"step-{int(step)}"


def metric_key(spec: str) -> str:
    """A short identifier of a player spec for metric names: ``random``, ``mcts_rollouts_64``, ``gnugo``."""
    kind, _, arg = spec.partition(":")
    if kind in ("gtp", "uci") and arg.strip():
        try:
            program = shlex.split(arg)[0]
        except (ValueError, IndexError):
            program = arg.strip()
        return re.sub(r"[^a-z0-9]+", "_", os.path.basename(program).lower()).strip("_") or kind
    return re.sub(r"[^a-z0-9]+", "_", spec.lower()).strip("_") or "player"


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


# ----------------------------------------------------------------------------- evaluator
class Evaluator:
    """Rates new checkpoints of ``RUN_DIR`` on the ladder in ``RUN_DIR/ladder.json`` (see the module docstring).

    Args:
        run_dir: the training run's directory.
        config: how to evaluate (default :class:`EvaluatorConfig`).
        log: called with one progress line per pairing (default: nothing).
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        config: EvaluatorConfig | None = None,
        log: Any = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise EvaluatorError(f"run directory {self.run_dir} does not exist")
        self.config = config or EvaluatorConfig()
        self.log = log or (lambda line: None)
        self.ladder = read_ladder(self.run_dir) or empty_ladder()

    # ---------------------------------------------------------------- public
    def pending(self) -> list[Path]:
        """Metadata files of the checkpoints not considered yet (newer than the last one seen), oldest first."""
        from learner.checkpoint import list_checkpoints

        last = int(self.ladder["last_seen_step"])
        return [p for p in list_checkpoints(self.run_dir) if _step_of(p) > last]

    def evaluate_new(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """Evaluate the new checkpoints (every ``every_checkpoints``-th); one metrics record each.

        Checkpoints skipped by ``every_checkpoints`` and checkpoints that vanished or were
        unreadable are marked seen (and the latter listed under ``skipped`` with a warning).

        Args:
            wait: when there is no new checkpoint, look again every second for up to this
                many seconds before returning ``[]`` (so a caller that resubmits at once, such
                as a Ray actor's driver loop, does not spin).
        """
        if wait < 0 or not math.isfinite(wait):
            raise EvaluatorError(f"evaluate_new wait must be a finite number of seconds >= 0, got {wait!r}")
        deadline = time.monotonic() + wait
        pending = self.pending()
        while not pending and time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            pending = self.pending()
        records = []
        for meta_path in pending:
            step = _step_of(meta_path)
            self.ladder["seen"] = int(self.ladder["seen"]) + 1
            self.ladder["last_seen_step"] = step
            if (int(self.ladder["seen"]) - 1) % self.config.every_checkpoints:
                self._save()
                continue
            record = self._evaluate(meta_path, step)
            if record is not None:
                records.append(record)
            self._save()
        return records

    def ratings(self) -> dict[str, float]:
        """The current ladder ratings (``random`` = 0)."""
        return dict(self.ladder["ratings"])

    # ---------------------------------------------------------------- one checkpoint
    def _skip(self, step: int, reason: str) -> None:
        warnings.warn(f"evaluator: checkpoint step {step} skipped: {reason}", EvaluatorWarning, stacklevel=3)
        self.ladder["skipped"].append({"step": step, "reason": reason})

    def _evaluate(self, meta_path: Path, step: int) -> dict[str, Any] | None:
        from learner.checkpoint import CheckpointError, load_checkpoint

        start = time.perf_counter()
        try:
            ckpt = load_checkpoint(meta_path, load_training_state=False)
            game, net = ckpt.build_network("cpu")
        except (CheckpointError, OSError) as err:
            self._skip(step, f"unreadable or pruned before it was read: {err}")
            return None
        spec = dict(ckpt.game_spec)
        if self.ladder["game"] is None:
            self.ladder["game"] = spec
            self.ladder["config"] = self.config.to_dict()
        elif self.ladder["game"] != spec:
            self._skip(step, f"game {spec} is not the ladder's {self.ladder['game']}")
            return None
        me = checkpoint_id(step)
        version = int(ckpt.weights_version)
        previous = list(self.ladder["checkpoints"][-self.config.opponents:]) if self.config.opponents else []
        anchors = self.config.anchors if self.config.anchors is not None else default_anchors(spec)
        evaluate = self._evaluator(net, version)
        pairings: list[dict[str, Any]] = []
        for entry in reversed(previous):  # the predecessor first
            opponent = self._load_opponent(entry, game)
            if opponent is None:
                continue
            result = self._pairing(game, step, me, version, evaluate, entry["id"], opponent=opponent)
            if result is not None:
                pairings.append(result)
        for spec_text in anchors:
            result = self._pairing(game, step, me, version, evaluate, spec_text, anchor=spec_text)
            if result is not None:
                pairings.append(result)
        self.ladder["players"][me] = {"kind": "checkpoint", "step": step, "weights_version": version}
        for p in pairings:
            self.ladder["results"].append(
                {"a": me, "b": p["opponent"], "wins": p["wins"], "draws": p["draws"], "losses": p["losses"],
                 "void": p["void"], "step": step}
            )
        self._rate()
        self._keep_copy(ckpt, game)
        by_opponent = {p["opponent"]: p for p in pairings}
        record: dict[str, Any] = {
            "kind": "evaluation",
            "time": time.time(),
            "step": step,
            "weights_version": version,
            "elo": self.ladder["ratings"].get(me),
        }
        vs_random = by_opponent.get(RANDOM)
        record["elo_vs_random"] = _finite(vs_random["elo"]["elo"]) if vs_random else None
        record["score_vs_random"] = vs_random["elo"]["score"] if vs_random else None
        prev = by_opponent.get(previous[-1]["id"]) if previous else None
        record["score_vs_previous"] = prev["elo"]["score"] if prev else None
        record["elo_vs_previous"] = _finite(prev["elo"]["elo"]) if prev else None
        record["elo_vs_previous_lower"] = _finite(prev["elo"]["lower"]) if prev else None
        record["elo_vs_previous_upper"] = _finite(prev["elo"]["upper"]) if prev else None
        for anchor in anchors:
            if anchor != RANDOM and anchor in by_opponent:
                record[f"score_vs_{metric_key(anchor)}"] = by_opponent[anchor]["elo"]["score"]
        record["eval_games"] = sum(p["games"] for p in pairings)
        record["eval_seconds"] = round(time.perf_counter() - start, 3)
        entry = {
            "id": me, "step": step, "weights_version": version, "elo": record["elo"],
            "previous": previous[-1]["id"] if previous else None,
            "vs_previous": prev["elo"] if prev else None,
            "pairings": pairings,
            "seconds": record["eval_seconds"],
            "time": record["time"],
        }
        self.ladder["checkpoints"].append(entry)
        return record

    def _evaluator(self, net: Any, version: int) -> Any:
        from learner import TorchEvaluator

        return TorchEvaluator(net, device="cpu", num_threads=self.config.threads, weights_version=version)

    def _engine_player(self, game: Any, evaluate: Any, version: int, label: str, seed: int) -> Any:
        from cluster.engine import Engine, EngineConfig
        from cluster.players import EnginePlayer

        config = EngineConfig(sims=self.config.sims, threads=self.config.threads, seed=seed)
        engine = Engine(game, evaluate, config, weights_version=version, source=label)
        return EnginePlayer(engine, label)

    def _load_opponent(self, entry: Mapping[str, Any], game: Any) -> tuple[Any, int] | None:
        """The evaluator of an earlier checkpoint from the ladder's copy (None, with a warning, if gone)."""
        from learner.checkpoint import CheckpointError, checkpoint_dir, load_checkpoint

        path = checkpoint_dir(self.run_dir / LADDER_DIR) / f"ckpt-{int(entry['step']):09d}.json"
        try:
            ckpt = load_checkpoint(path, load_training_state=False)
            _, net = ckpt.build_network("cpu")
        except (CheckpointError, OSError) as err:
            warnings.warn(f"evaluator: opponent {entry['id']} unavailable: {err}", EvaluatorWarning, stacklevel=3)
            return None
        return self._evaluator(net, int(ckpt.weights_version)), int(ckpt.weights_version)

    def _pairing(
        self,
        game: Any,
        step: int,
        me: str,
        version: int,
        evaluate: Any,
        opponent_id: str,
        *,
        opponent: tuple[Any, int] | None = None,
        anchor: str | None = None,
    ) -> dict[str, Any] | None:
        """Play one pairing (``me`` is A); a summary dict, or None (with a warning) if it cannot be played."""
        import games as games_module
        from cluster.engine import EngineConfig, EngineError
        from cluster.match import MatchConfig, MatchError, run_match
        from cluster.players import PlayerError, parse_player

        seed = zlib.crc32(f"{self.config.seed}:{step}:{opponent_id}".encode()) & 0x7FFFFFFF
        pair_game = game
        if anchor is not None and anchor.startswith("gtp:") and game.name == "go":
            pair_game = games_module.from_spec({**game.spec(), "ko": "simple"})  # what GTP engines play
        players: list[Any] = []
        try:
            a = self._engine_player(pair_game, evaluate, version, me, seed)
            if anchor is not None:
                engine_config = EngineConfig(sims=self.config.sims, threads=self.config.threads, seed=seed)
                try:
                    b = parse_player(anchor, pair_game, engine_config, seed=seed + 1)
                except PlayerError as err:
                    warnings.warn(f"evaluator: anchor {anchor!r} skipped: {err}", EvaluatorWarning, stacklevel=3)
                    return None
            else:
                assert opponent is not None
                b = self._engine_player(pair_game, opponent[0], opponent[1], opponent_id, seed + 1)
            players = [a, b]
            plies = self.config.opening_plies
            config = MatchConfig(
                games=self.config.games_per_pairing,
                random_opening_plies=default_opening_plies(game.name) if plies is None else plies,
                seed=seed,
            )
            try:
                result = run_match(pair_game, a, b, config)
            except (MatchError, EngineError, games_module.GameError) as err:
                warnings.warn(f"evaluator: {me} vs {opponent_id} not played: {err}", EvaluatorWarning, stacklevel=3)
                return None
        finally:
            for p in players:
                p.close()
        if anchor is not None and anchor not in self.ladder["players"]:
            self.ladder["players"][anchor] = {"kind": "anchor", "spec": anchor}
        summary = {
            "opponent": opponent_id,
            "games": len(result.records),
            "wins": result.wins, "draws": result.draws, "losses": result.losses, "void": result.void,
            "elo": result.elo.to_dict(),
            "seconds": round(result.seconds, 3),
        }
        self.log(
            f"evaluator: {me} vs {opponent_id}: +{result.wins} ={result.draws} -{result.losses}"
            + (f" ({result.void} void)" if result.void else "") + f" {result.elo} in {result.seconds:.1f}s"
        )
        return summary

    # ---------------------------------------------------------------- bookkeeping
    def _rate(self) -> None:
        results = [(r["a"], r["b"], r["wins"], r["draws"], r["losses"]) for r in self.ladder["results"]]
        anchor = RANDOM if RANDOM in self.ladder["players"] else None
        if anchor is None and self.ladder["checkpoints"]:
            anchor = self.ladder["checkpoints"][0]["id"]
        ratings = bradley_terry(results, anchor=anchor, prior_draws=self.config.prior_draws)
        for name in self.ladder["players"]:
            ratings.setdefault(name, 0.0)
        self.ladder["ratings"] = {k: round(v, 2) for k, v in ratings.items()}

    def _keep_copy(self, ckpt: Any, game: Any) -> None:
        """Copy the evaluated weights to ``RUN_DIR/ladder/checkpoints`` (the newest ``opponents`` are kept)."""
        from learner.checkpoint import save_checkpoint

        if self.config.opponents == 0:
            return
        try:
            save_checkpoint(
                self.run_dir / LADDER_DIR, game=game, network_config=ckpt.network_config, weights=ckpt.weights,
                step=int(ckpt.step), weights_version=int(ckpt.weights_version), run_config={},
                keep=self.config.opponents,
            )
        except OSError as err:
            warnings.warn(f"evaluator: could not keep a copy of step {ckpt.step}: {err}", EvaluatorWarning, stacklevel=3)

    def _save(self) -> None:
        _atomic_write_json(self.run_dir / LADDER_FILE, self.ladder)

    def reset(self) -> None:
        """Forget the ladder (deletes ``ladder.json`` and the copies under ``RUN_DIR/ladder``)."""
        (self.run_dir / LADDER_FILE).unlink(missing_ok=True)
        shutil.rmtree(self.run_dir / LADDER_DIR, ignore_errors=True)
        self.ladder = empty_ladder()


def _step_of(meta_path: Path) -> int:
    return int(meta_path.name[len("ckpt-"):].split(".")[0])


# ----------------------------------------------------------------------------- command
def cmd_evaluate(args: argparse.Namespace) -> int:
    from cluster.cli import CliError

    anchors = tuple(args.anchor) if args.anchor else None
    try:
        config = EvaluatorConfig(
            games_per_pairing=args.games, sims=args.sims, opponents=args.opponents, anchors=anchors,
            every_checkpoints=args.every, threads=args.threads,
        )
        evaluator = Evaluator(args.run_dir, config, log=lambda line: print(line, file=sys.stderr, flush=True))
    except EvaluatorError as err:
        raise CliError(str(err)) from None
    with warnings.catch_warnings():
        warnings.simplefilter("always", EvaluatorWarning)
        while True:
            try:
                records = evaluator.evaluate_new(wait=args.poll if args.watch else 0.0)
            except EvaluatorError as err:
                raise CliError(str(err)) from None
            for record in records:
                print(json.dumps(record) if args.json else _render(record), flush=True)
            if not args.watch:
                break
    return 0


def _render(record: Mapping[str, Any]) -> str:
    def num(key: str, spec: str) -> str:
        value = record.get(key)
        return "-" if value is None else format(value, spec)

    return (
        f"step {record['step']} (v{record['weights_version']}): Elo {num('elo', '+.0f')}  "
        f"vs random {num('score_vs_random', '.2f')}  vs previous {num('score_vs_previous', '.2f')} "
        f"[{num('elo_vs_previous_lower', '+.0f')}, {num('elo_vs_previous_upper', '+.0f')}]  "
        f"({record['eval_games']} games, {record['eval_seconds']:.0f}s)"
    )


def register(commands: Any, bench: Any) -> None:
    p = commands.add_parser(
        "evaluate", help="rate a run's new checkpoints on its Elo ladder (RUN_DIR/ladder.json)"
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory")
    p.add_argument("--games", type=int, default=10, help="games per pairing (even; default 10)")
    p.add_argument("--sims", type=int, default=32, help="simulations per move (default 32)")
    p.add_argument("--opponents", type=int, default=2, help="earlier checkpoints each one faces (default 2)")
    p.add_argument("--anchor", action="append", metavar="SPEC",
                   help="an anchor player (repeatable; default random, mcts-rollouts:64, GNU Go on 9x9 Go)")
    p.add_argument("--every", type=int, default=1, help="evaluate every k-th new checkpoint (default 1)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--watch", action="store_true", help="keep watching for new checkpoints")
    p.add_argument("--poll", type=float, default=30.0, help="seconds between looks with --watch (default 30)")
    p.add_argument("--json", action="store_true", help="print each record as JSON")
    p.set_defaults(func=cmd_evaluate)


__all__ = [
    "Evaluator",
    "EvaluatorConfig",
    "EvaluatorError",
    "EvaluatorWarning",
    "GNUGO_ANCHOR",
    "LADDER_DIR",
    "LADDER_FILE",
    "bradley_terry",
    "checkpoint_id",
    "default_anchors",
    "metric_key",
    "read_ladder",
]
