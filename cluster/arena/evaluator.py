"""Strength tracking during training: rate checkpoints as they appear on an Elo ladder.

:class:`Evaluator` watches ``RUN_DIR/checkpoints``. Each new checkpoint (every
``every_checkpoints``-th one it sees) plays ``games_per_pairing`` games, colours
alternating and each pair of games from the same random opening, against

* the ``opponents`` most recently evaluated checkpoints, and
* the anchors: ``random``, ``mcts-rollouts:64`` (not for chess: too slow) and, for
  9x9 Go when ``/usr/games/gnugo`` exists, GNU Go level 1 over GTP (see
  the game's preset, :mod:`cluster.config.presets`).

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
Elo (:func:`cluster.arena.elo.bradley_terry`; draws count half a win to each side, plus
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

import contextlib
import dataclasses
import math
import os
import re
import shlex
import shutil
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from cluster.arena.elo import bradley_terry
from cluster.arena.ladder import checkpoint_id, empty_ladder, read_ladder, write_ladder
from cluster.config.presets import preset
from cluster.runtime.rundir import RunDir
from games.errors import ZeroplayError
from games.go import Go

RANDOM = "random"


class EvaluatorError(ZeroplayError, ValueError):
    """A bad evaluator setting or an unreadable ladder file; the message names it."""


class EvaluatorWarning(UserWarning):
    """Something skipped during an evaluation (a pruned checkpoint, an anchor that cannot start)."""


@dataclasses.dataclass(frozen=True)
class EvaluatorConfig:
    """How checkpoints are evaluated.

    Attributes:
        games_per_pairing: games per opponent (even: each opening is played with both colours).
        sims: search simulations per move of a checkpoint.
        opponents: how many previously evaluated checkpoints each new one faces.
        anchors: fixed player specs (``cluster.players.parse_player``); None: the game's preset.
        every_checkpoints: evaluate every k-th new checkpoint seen: the first, then the
            (k+1)-th, ... (1: all). Counted over the checkpoints the evaluator finds, so one
            pruned before it looked is not counted.
        threads: torch threads for inference.
        opening_plies: random opening moves (None: the game's preset).
        prior_draws: virtual draws added to every pair that played (rating regularisation).
        seed: seeds openings and the players.
        cpu_share: None (default): the evaluator plays at the lowest CPU priority, on time
            self-play and the learner leave idle (it never slows them, but on a machine they
            keep busy it may fall far behind). A share in (0, 1]: it plays at normal priority
            and rests after each pairing so that it is busy at most that share of the wall
            time, so ratings keep coming at a bounded cost (e.g. 0.15 of one core).
        exploitability: also measure each checkpoint's exact exploitability, the points it
            loses per game against perfect play (:mod:`cluster.arena.exploitability`; tic-tac-toe
            and Connect Four only), recorded as ``exploitability`` on the ladder and in metrics.
        exploitability_openings: Connect Four: the labelled positions it starts from (each
            played with both colours).
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
    cpu_share: float | None = None
    exploitability: bool = False
    exploitability_openings: int = 20

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
        positive_int("exploitability_openings", self.exploitability_openings)
        if self.exploitability_openings > 1000:
            raise EvaluatorError(f"evaluator exploitability_openings must be at most 1000, got "
                                 f"{self.exploitability_openings}")
        if self.opening_plies is not None:
            positive_int("opening_plies", self.opening_plies, 0)
        if not (isinstance(self.prior_draws, (int, float)) and 0.0 <= self.prior_draws < math.inf):
            raise EvaluatorError(f"evaluator prior_draws must be a number >= 0, got {self.prior_draws!r}")
        share = self.cpu_share
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 < share <= 1.0
        ):
            raise EvaluatorError(f"evaluator cpu_share must be None or a number in (0, 1], got {share!r}")
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
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sleep = sleep  # how it rests under ``cpu_share``
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
        previous = list(self.ladder["checkpoints"][-self.config.opponents :]) if self.config.opponents else []
        anchors = self.config.anchors if self.config.anchors is not None else preset(game).anchors
        evaluate = self._evaluator(net, version)
        pairings: list[dict[str, Any]] = []
        for entry in reversed(previous):  # the predecessor first
            opponent = self._load_opponent(entry, game)
            if opponent is None:
                continue
            with self._paced():
                result = self._pairing(game, step, me, version, evaluate, entry["id"], opponent=opponent)
            if result is not None:
                pairings.append(result)
        for spec_text in anchors:
            with self._paced():
                result = self._pairing(game, step, me, version, evaluate, spec_text, anchor=spec_text)
            if result is not None:
                pairings.append(result)
        self.ladder["players"][me] = {"kind": "checkpoint", "step": step, "weights_version": version}
        for p in pairings:
            self.ladder["results"].append(
                {
                    "a": me,
                    "b": p["opponent"],
                    "wins": p["wins"],
                    "draws": p["draws"],
                    "losses": p["losses"],
                    "void": p["void"],
                    "step": step,
                }
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
        exploitability = self._exploitability(game, evaluate, version, me, step) if self.config.exploitability \
            else None
        if exploitability is not None:
            record["exploitability"] = exploitability["points_lost_per_game"]
            record["exploitability_games"] = exploitability["games"]
        record["eval_games"] = sum(p["games"] for p in pairings)
        record["eval_seconds"] = round(time.perf_counter() - start, 3)
        entry = {
            "id": me,
            "step": step,
            "weights_version": version,
            "elo": record["elo"],
            "previous": previous[-1]["id"] if previous else None,
            "vs_previous": prev["elo"] if prev else None,
            "pairings": pairings,
            **({"exploitability": exploitability} if exploitability is not None else {}),
            "seconds": record["eval_seconds"],
            "time": record["time"],
        }
        self.ladder["checkpoints"].append(entry)
        return record

    def _exploitability(self, game: Any, evaluate: Any, version: int, me: str, step: int) -> dict[str, Any] | None:
        """Points lost against perfect play (None, with a warning, where it cannot be measured)."""
        from cluster.arena.exploitability import ExploitabilityError, default_openings, exact_exploitability

        player = self._engine_player(game, evaluate, version, me, self.config.seed)
        try:
            openings, source = default_openings(game, count=self.config.exploitability_openings)
            result = exact_exploitability(player, game, openings, source=source).to_dict(max_lines=3)
        except ExploitabilityError as err:
            warnings.warn(f"evaluator: no exploitability for step {step}: {err}", EvaluatorWarning, stacklevel=3)
            return None
        finally:
            player.close()
        self.log(f"evaluator: {me} loses {result['points_lost']:g} points in {result['games']} games "
                 f"against perfect play")
        return {k: result[k] for k in ("games", "points_lost", "points_lost_per_game", "by_colour", "losing_lines",
                                       "openings_from", "seconds")}

    def _evaluator(self, net: Any, version: int) -> Any:
        from learner import TorchEvaluator

        return TorchEvaluator(net, device="cpu", num_threads=self.config.threads, weights_version=version)

    def _engine_player(self, game: Any, evaluate: Any, version: int, label: str, seed: int) -> Any:
        from cluster.arena.players import EnginePlayer
        from cluster.engines.engine import Engine, EngineConfig

        config = EngineConfig(sims=self.config.sims, threads=self.config.threads, seed=seed)
        engine = Engine(game, evaluate, config, weights_version=version, source=label)
        return EnginePlayer(engine, label)

    def _load_opponent(self, entry: Mapping[str, Any], game: Any) -> tuple[Any, int] | None:
        """The evaluator of an earlier checkpoint from the ladder's copy (None, with a warning, if gone)."""
        from learner.checkpoint import CheckpointError, checkpoint_dir, load_checkpoint

        path = checkpoint_dir(RunDir(self.run_dir).ladder_dir) / f"ckpt-{int(entry['step']):09d}.json"
        try:
            ckpt = load_checkpoint(path, load_training_state=False)
            _, net = ckpt.build_network("cpu")
        except (CheckpointError, OSError) as err:
            warnings.warn(f"evaluator: opponent {entry['id']} unavailable: {err}", EvaluatorWarning, stacklevel=3)
            return None
        return self._evaluator(net, int(ckpt.weights_version)), int(ckpt.weights_version)

    @contextlib.contextmanager
    def _paced(self) -> Iterator[None]:
        """Run the block, then rest so that the evaluator is busy at most ``cpu_share`` of the time."""
        start = time.perf_counter()
        yield
        share = self.config.cpu_share
        if share is not None and share < 1.0:
            busy = time.perf_counter() - start
            self.sleep(busy * (1.0 / share - 1.0))

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
        from cluster.arena.match import MatchConfig, MatchError, run_match
        from cluster.arena.players import PlayerError, parse_player
        from cluster.engines.engine import EngineConfig, EngineError

        seed = zlib.crc32(f"{self.config.seed}:{step}:{opponent_id}".encode()) & 0x7FFFFFFF
        pair_game = game
        if anchor is not None and anchor.startswith("gtp:") and isinstance(game, Go):
            pair_game = game.gtp_rules()
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
                random_opening_plies=preset(game).opening_plies if plies is None else plies,
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
            "wins": result.wins,
            "draws": result.draws,
            "losses": result.losses,
            "void": result.void,
            "elo": result.elo.to_dict(),
            "seconds": round(result.seconds, 3),
        }
        self.log(
            f"evaluator: {me} vs {opponent_id}: +{result.wins} ={result.draws} -{result.losses}"
            + (f" ({result.void} void)" if result.void else "")
            + f" {result.elo} in {result.seconds:.1f}s"
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
                RunDir(self.run_dir).ladder_dir,
                game=game,
                network_config=ckpt.network_config,
                weights=ckpt.weights,
                step=int(ckpt.step),
                weights_version=int(ckpt.weights_version),
                run_config={},
                keep=self.config.opponents,
            )
        except OSError as err:
            warnings.warn(
                f"evaluator: could not keep a copy of step {ckpt.step}: {err}", EvaluatorWarning, stacklevel=3
            )

    def _save(self) -> None:
        write_ladder(RunDir(self.run_dir).ladder, self.ladder)

    def reset(self) -> None:
        """Forget the ladder (deletes ``ladder.json`` and the copies under ``RUN_DIR/ladder``)."""
        RunDir(self.run_dir).ladder.unlink(missing_ok=True)
        shutil.rmtree(RunDir(self.run_dir).ladder_dir, ignore_errors=True)
        self.ladder = empty_ladder()


def _step_of(meta_path: Path) -> int:
    return int(meta_path.name[len("ckpt-") :].split(".")[0])


__all__ = [
    "Evaluator",
    "EvaluatorConfig",
    "EvaluatorError",
    "EvaluatorWarning",
    "metric_key",
]
