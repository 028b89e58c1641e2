"""League training on the run's own actors: past selves by PFSP, and exploiters (``[league]``).

:class:`LeaguePlan` is the :class:`~cluster.runtime.opponents.OpponentPlan` a training run
with ``league.enabled = true`` uses (:class:`cluster.runtime.driver.Trainer` makes it):

* **Snapshots.** When the learner writes its first checkpoint at or past each multiple of
  ``league.snapshot_every`` steps, that checkpoint's weights become a frozen snapshot,
  named as the ladder names the checkpoint (``step-N``), copied to
  ``RUN_DIR/league/snapshots/step-N/`` (the learner prunes its own checkpoints). At most
  ``league.max_snapshots`` are kept (the oldest main snapshot goes first).
* **PFSP.** Each self-play actor plays ``league.share`` of its new games against one
  snapshot, drawn by PFSP (:func:`cluster.arena.league.pfsp_weights`, ``league.pfsp``) from
  the main agent's chance p to beat each one: its league games so far, recent ones
  weighing most, with the ladder's estimate as a prior (:meth:`LeagueState.probabilities`).
  The actor keeps its opponent for ``league.opponent_seconds`` and then draws again; a
  game in progress always finishes against the snapshot it began with. Only the main
  agent's moves of those games are its training data; the results update the payoff counts.
* **Exploiters.** ``league.exploiters`` extra learners, each with its own replay, learner
  and self-play actor in ``RUN_DIR/league/exploiter-K/gG/`` (G the generation), play only
  the current main agent (its newest weights, taken again every ``opponent_seconds``), so
  only the exploiter learns from those games. An exploiter whose score against the main
  agent over its last ``exploiter_window`` games drops below ``exploiter_reset_below``
  (once it has played ``exploiter_min_games`` games in this generation) is reset: a new
  generation starts from ``exploiter_init`` ("main": the main agent's weights then;
  "fresh"). One that scores above ``exploiter_snapshot_above`` joins the snapshot pool
  (``exploiter-K-gG``), once per generation, so the main agent trains against what beat it.
  The exploiters' combined recent score against the main agent is the run's approximate
  exploitability over time (metrics ``league_exploitability``, ``league.json``).

Everything persists in ``RUN_DIR/league.json`` (:mod:`cluster.arena.league`), written each
log period and at every change of the pool; a resumed run reloads it, each exploiter
resumes from its own checkpoints and replay. A league file that cannot be read is
reported once, and the league starts again from the snapshot directories found on disk.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from cluster.arena.ladder import LadderError, checkpoint_id, read_ladder
from cluster.arena.league import (
    ExploiterState,
    LeagueError,
    LeagueWarning,
    Score,
    check_name,
    load_league,
    pfsp_weights,
    write_league,
)
from cluster.config.run import RunConfig, dump_toml
from cluster.runtime.opponents import OpponentSpec
from cluster.runtime.rundir import RunDir

log = logging.getLogger(__name__)

_EXPLOITER_ACTOR_INDEX = 10_000  # self-play actor numbers of exploiters (their seeds) start here


def _result_char(result: int) -> str:
    return "w" if result > 0 else "l" if result < 0 else "d"


class _Exploiter:
    """One exploiter's actors (a replay, a learner, a self-play actor) for its current generation."""

    def __init__(self, plan: LeaguePlan, state: ExploiterState) -> None:
        self.plan = plan
        self.state = state
        self.directory = RunDir(plan.run_dir).league_exploiter(state.index) / f"g{state.generation}"
        self.config = plan.exploiter_config()
        self.actors: dict[str, Any] = {}
        self.weights_version = 0
        self.weights_ref: Any = None
        self.opponent: OpponentSpec | None = None
        self.opponent_until = 0.0
        self.alive = False

    # ---- lifetime
    def start(self, pending: dict[Any, tuple[str, Any]]) -> None:
        from cluster.runtime.actors import create_replay_actor, first_answer, learner_actor_class, selfplay_actor_class
        from cluster.runtime.exploit import write_start_checkpoint
        from learner.checkpoint import latest_checkpoint

        ray = self.plan.ray
        self.directory.mkdir(parents=True, exist_ok=True)
        toml = dump_toml(self.config)
        RunDir(self.directory).config.write_text(toml, encoding="utf-8")
        if latest_checkpoint(self.directory) is None and self.plan.settings.exploiter_init == "main":
            _, weights = ray.get(self.plan.main_weights_ref)
            write_start_checkpoint(self.directory, self.config, weights)
        cpus = self.plan.settings.exploiter_num_cpus
        replay, replay_name = create_replay_actor(self.config, str(self.directory))
        self.replay_name = replay_name
        learner = learner_actor_class().options(num_cpus=cpus, max_restarts=-1).remote(
            toml, str(self.directory), replay_name)
        selfplay = selfplay_actor_class().options(num_cpus=cpus, max_restarts=-1).remote(
            toml, _EXPLOITER_ACTOR_INDEX + self.state.index, replay_name, None)
        self.actors = {"replay": replay, "learner": learner, "selfplay": selfplay}
        position = first_answer(learner.position, what=f"league exploiter {self.state.index}'s learner")
        self.weights_version = int(position["weights_version"])
        self.weights_ref = learner.weights.remote()
        self.alive = True
        self._submit_learner(pending)
        self._submit_selfplay(pending)
        log.warning("league exploiter %d (generation %d) started in %s", self.state.index, self.state.generation,
                    self.directory)

    def stop(self, pending: dict[Any, tuple[str, Any]], *, checkpoint: bool) -> None:
        """End this generation's actors (with a final checkpoint when ``checkpoint``); its refs leave ``pending``."""
        ray = self.plan.ray
        mine = [ref for ref, (kind, extra) in pending.items() if kind == "plan" and extra[1] is self]
        if checkpoint and self.alive:
            ray.wait(mine, num_returns=len(mine), timeout=self.config.selfplay.chunk_seconds + 30)
            for ref in mine:
                kind, extra = pending[ref]
                if extra[0] == "selfplay":
                    try:
                        self._count(ray.get(ref, timeout=0))
                    except Exception:  # noqa: BLE001 - a chunk that failed or is still running
                        pass
            try:
                self.plan.call(self.actors["learner"].finish, timeout=60)
                ray.get(self.actors["replay"].close.remote(), timeout=30)
            except ray.exceptions.RayError as err:
                log.warning("league exploiter %d did not finish cleanly (%s)", self.state.index, type(err).__name__)
        for ref in mine:
            pending.pop(ref, None)
        for actor in self.actors.values():
            ray.kill(actor, no_restart=True)
        self.actors = {}
        self.alive = False
        deadline = time.monotonic() + 30.0  # a resumed run names its replay actor the same: wait for it to go
        while time.monotonic() < deadline:
            try:
                ray.get_actor(self.replay_name)
            except ValueError:
                break
            time.sleep(0.2)

    # ---- work
    def _submit_learner(self, pending: dict[Any, tuple[str, Any]]) -> None:
        metrics_ref, weights_ref = self.actors["learner"].train.remote(None, 2.0)
        pending[metrics_ref] = ("plan", ("learner", self, weights_ref))

    def _main_opponent(self) -> OpponentSpec:
        now = time.monotonic()
        plan = self.plan
        if self.opponent is None or now >= self.opponent_until:
            self.opponent = OpponentSpec(
                name=f"main-v{plan.main_version}", weights_version=plan.main_version,
                weights=[plan.main_weights_ref], network=plan.config.network.to_dict(), search=plan.search, share=1.0)
            self.opponent_until = now + plan.settings.opponent_seconds
        return self.opponent

    def _submit_selfplay(self, pending: dict[Any, tuple[str, Any]]) -> None:
        ref = self.actors["selfplay"].run.remote(self.weights_version, [self.weights_ref],
                                                 self.config.selfplay.chunk_seconds, None, self._main_opponent())
        pending[ref] = ("plan", ("selfplay", self, None))

    def done(self, kind: str, ref: Any, weights_ref: Any, pending: dict[Any, tuple[str, Any]]) -> None:
        ray = self.plan.ray
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as err:
            log.warning("league exploiter %d: %s call failed (%s); it restarts", self.state.index, kind,
                        type(err).__name__)
            result = None
        if kind == "learner":
            if result is not None and int(result["weights_version"]) > self.weights_version:
                self.weights_version = int(result["weights_version"])
                self.weights_ref = weights_ref
            self._submit_learner(pending)
            return
        if result is not None:
            self._count(result)
        if self.plan.judge(self, pending):  # reset: a new generation replaced this one
            return
        self._submit_selfplay(pending)

    def _count(self, chunk: dict[str, Any]) -> None:
        results = "".join(_result_char(int(g["result"])) for g in chunk.get("opponent_games") or []
                          if str(g.get("opponent", "")).startswith("main-"))
        if results:
            self.state.add(results, self.plan.settings.exploiter_window)
            self.plan.exploiter_games += len(results)


class LeaguePlan:
    """The league of one training run (module docstring). Made by the Trainer when ``league.enabled``."""

    def __init__(self, trainer: Any) -> None:
        # What it needs of the trainer, not the trainer itself: no reference cycle keeps the
        # run's actor handles (and their names) alive after the run.
        self.ray = trainer.ray
        self.game = trainer.game
        self.config: RunConfig = trainer.config
        self.settings = trainer.config.league
        self.run_dir = Path(trainer.run_dir)
        self.search = dataclasses.replace(self.config.search, add_noise=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LeagueWarning)
            self.state = load_league(self.run_dir)
        damaged = [w for w in caught if issubclass(w.category, LeagueWarning)]
        for w in damaged:
            log.warning("%s", w.message)
        self._check_snapshots(recover=bool(damaged))
        while len(self.state.exploiters) < self.settings.exploiters:
            self.state.exploiters.append(ExploiterState(index=len(self.state.exploiters)))
        del self.state.exploiters[self.settings.exploiters:]
        self.rng = np.random.default_rng([int(self.config.run.seed), time.time_ns() & 0xFFFFFFFF])
        self.refs: dict[str, tuple[Any, int]] = {}  # snapshot name -> (weights ref, version)
        self.assigned: dict[int, tuple[str, float]] = {}  # actor -> (snapshot, until)
        self.ladder: dict[str, Any] | None = None
        self._ladder_read = -1e9
        self.main_step = int(trainer.step)
        self.main_version = int(trainer.weights_version)
        self.main_weights_ref = trainer.weights_ref
        self.last_checkpoint: str | None = trainer.last_checkpoint
        self.exploiters: list[_Exploiter] = []
        self.league_results = ""  # the main agent's league games since the last record
        self.exploiter_games = 0
        self._save()

    def call(self, method: Any, *args: Any, timeout: float = 120.0) -> Any:
        """``ray.get(method.remote(*args))``, retried while the actor restarts (until ``timeout``)."""
        from cluster.runtime.actors import call_while_restarting

        return call_while_restarting(method, *args, timeout=timeout)

    # ---- snapshots
    def _check_snapshots(self, *, recover: bool) -> None:
        """Keep the snapshots whose weights verify; after a damaged league file, find them on disk again."""
        from learner.checkpoint import latest_valid_checkpoint, read_metadata

        root = RunDir(self.run_dir).league_snapshots
        if recover and root.is_dir():
            found = []
            for directory in sorted(root.iterdir()):
                try:
                    name = check_name(directory.name)
                except LeagueError:
                    continue
                meta_path, _ = latest_valid_checkpoint(directory)
                if meta_path is None:
                    continue
                meta = read_metadata(meta_path)
                found.append((int(meta["step"]), name, int(meta["weights_version"])))
            for step, name, version in sorted(found):
                kind = "main" if name.startswith("step-") else "exploiter"
                self.state.add_snapshot(name, kind, step, version)
                if kind == "main":
                    self.state.last_snapshot_step = max(self.state.last_snapshot_step, step)
            log.warning("league: %d snapshot(s) recovered from %s", len(found), root)
        for entry in list(self.state.snapshots):
            meta_path, problems = latest_valid_checkpoint(RunDir(self.run_dir).league_snapshot(entry["name"]))
            if meta_path is None:
                log.warning("league: snapshot %s dropped: no weights that verify (%s)", entry["name"],
                            "; ".join(problems) or "missing")
                self.state.snapshots.remove(entry)
                self.state.payoff.pop(entry["name"], None)

    def _add_snapshot(self, name: str, kind: str, checkpoint: str) -> None:
        from learner.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

        try:
            ckpt = load_checkpoint(checkpoint, load_training_state=False)
            save_checkpoint(RunDir(self.run_dir).league_snapshot(name), game=self.game,
                            network_config=ckpt.network_config, weights=ckpt.weights, step=int(ckpt.step),
                            weights_version=int(ckpt.weights_version), keep=1)
        except (CheckpointError, OSError, ValueError) as err:
            log.warning("league: no snapshot %s from %s (%s)", name, checkpoint, err)
            return
        self.state.add_snapshot(name, kind, int(ckpt.step), int(ckpt.weights_version))
        self.refs.pop(name, None)
        for dropped in self.state.drop_oldest(self.settings.max_snapshots):
            self.refs.pop(dropped, None)
            shutil.rmtree(RunDir(self.run_dir).league_snapshot(dropped), ignore_errors=True)
        log.warning("league: snapshot %s added (%d in the pool)", name, len(self.state.snapshots))
        self._save()

    def _ref(self, name: str) -> tuple[Any, int] | None:
        from learner.checkpoint import CheckpointError, load_checkpoint

        if name not in self.refs:
            try:
                ckpt = load_checkpoint(RunDir(self.run_dir).league_snapshot(name), load_training_state=False)
            except CheckpointError as err:
                log.warning("league: snapshot %s dropped: %s", name, err)
                self.state.snapshots = [s for s in self.state.snapshots if s["name"] != name]
                self.state.payoff.pop(name, None)
                return None
            version = int(ckpt.weights_version)
            self.refs[name] = (self.ray.put((version, dict(ckpt.weights))), version)
        return self.refs[name]

    def _ladder(self) -> dict[str, Any] | None:
        if time.monotonic() - self._ladder_read > self.config.run.log_every_seconds:
            self._ladder_read = time.monotonic()
            try:
                self.ladder = read_ladder(self.run_dir)
            except LadderError as err:
                log.info("league: ladder unreadable (%s); PFSP uses the league's own games", err)
                self.ladder = None
        return self.ladder

    def probabilities(self) -> dict[str, float]:
        """The main agent's chance to beat each snapshot now."""
        return self.state.probabilities(self._ladder())

    def draw(self) -> str | None:
        """A snapshot drawn by PFSP (None: the pool is empty)."""
        p = self.probabilities()
        if not p:
            return None
        names = list(p)
        weights = pfsp_weights([p[n] for n in names], self.settings.pfsp)
        return names[int(self.rng.choice(len(names), p=weights))]

    # ---- OpponentPlan
    def start(self, pending: dict[Any, tuple[str, Any]]) -> None:
        for state in self.state.exploiters:
            exploiter = _Exploiter(self, state)
            exploiter.start(pending)
            self.exploiters.append(exploiter)

    def opponent_for(self, index: int) -> OpponentSpec | None:
        if self.settings.share <= 0.0 or not self.state.snapshots:
            return None
        now = time.monotonic()
        name, until = self.assigned.get(index, (None, 0.0))
        if name is None or now >= until or name not in self.state.names():
            name = self.draw()
            if name is None:
                return None
            self.assigned[index] = (name, now + self.settings.opponent_seconds)
        held = self._ref(name)
        if held is None:
            self.assigned.pop(index, None)
            return None
        ref, version = held
        return OpponentSpec(name=name, weights_version=version, weights=[ref], network=self.config.network.to_dict(),
                            search=self.search, share=self.settings.share)

    def chunk_done(self, index: int, chunk: dict[str, Any]) -> None:
        for g in chunk.get("opponent_games") or []:
            name = g.get("opponent")
            if name in self.state.names():
                self.state.record_game(name, int(g["result"]))
                self.league_results += _result_char(int(g["result"]))

    def learner_progress(self, step: int, weights_version: int, weights_ref: Any, checkpoint: str | None) -> None:
        self.main_step, self.main_version, self.main_weights_ref = int(step), int(weights_version), weights_ref
        if checkpoint is None or checkpoint == self.last_checkpoint:
            return
        self.last_checkpoint = checkpoint
        every = self.settings.snapshot_every
        last = self.state.last_snapshot_step
        due = max(every, (last // every + 1) * every) if last >= 0 else every
        ckpt_step = _checkpoint_step(checkpoint)
        if ckpt_step is not None and ckpt_step >= due:
            self.state.last_snapshot_step = ckpt_step
            self._add_snapshot(checkpoint_id(ckpt_step), "main", checkpoint)

    def judge(self, exploiter: _Exploiter, pending: dict[Any, tuple[str, Any]]) -> bool:
        """Reset or snapshot an exploiter by its recent score; True if it was reset."""
        from learner.checkpoint import latest_checkpoint

        s, settings = exploiter.state, self.settings
        if s.games < settings.exploiter_min_games:
            return False
        score = s.recent_score.score or 0.0
        if score > settings.exploiter_snapshot_above and not s.snapshotted:
            checkpoint = latest_checkpoint(exploiter.directory)
            if checkpoint is not None:
                s.snapshotted = True
                self._add_snapshot(f"exploiter-{s.index}-g{s.generation}", "exploiter", str(checkpoint))
        if score < settings.exploiter_reset_below:
            log.warning("league: exploiter %d (generation %d) scores %.3f < %.3f against the main agent: reset",
                        s.index, s.generation, score, settings.exploiter_reset_below)
            exploiter.stop(pending, checkpoint=False)
            old = exploiter.directory
            s.reset()
            replacement = _Exploiter(self, s)
            self.exploiters[self.exploiters.index(exploiter)] = replacement
            replacement.start(pending)
            shutil.rmtree(old, ignore_errors=True)
            self._save()
            return True
        return False

    def done(self, ref: Any, extra: Any, pending: dict[Any, tuple[str, Any]]) -> None:
        kind, exploiter, weights_ref = extra
        if exploiter in self.exploiters and exploiter.alive:
            exploiter.done(kind, ref, weights_ref, pending)

    def exploitability(self) -> Score:
        """The exploiters' combined score against the main agent over their recent windows."""
        scores = [e.state.recent_score for e in self.exploiters]
        return Score(sum(s.wins for s in scores), sum(s.draws for s in scores), sum(s.losses for s in scores))

    def record(self) -> dict[str, Any]:
        league = Score.of(self.league_results)
        self.league_results = ""
        fields: dict[str, Any] = {"league_snapshots": len(self.state.snapshots), "league_games": league.games,
                                  "league_score": league.score}
        if self.exploiters:
            exploitability = self.exploitability()
            fields.update(league_exploiter_games=self.exploiter_games,
                          league_exploitability=exploitability.score,
                          league_exploiter_resets=sum(e.state.resets for e in self.exploiters))
            if exploitability.games:
                fields["league_exploitability_lower"], fields["league_exploitability_upper"] = exploitability.interval
                self.state.add_exploitability(self.main_step, exploitability)
        self._save()
        return fields

    def finish(self, pending: dict[Any, tuple[str, Any]]) -> None:
        for exploiter in self.exploiters:
            exploiter.stop(pending, checkpoint=True)
        self._save()

    def summary(self) -> dict[str, Any]:
        self._save()
        exploiters = [{"index": e.state.index, "generation": e.state.generation, "games": e.state.games,
                       "recent_score": e.state.recent_score.score} for e in self.exploiters]
        self.exploiters = []  # stopped; no cycle through them outlives the run
        return {"league": {"snapshots": self.state.names(), "exploiters": exploiters}}

    def exploiter_config(self) -> RunConfig:
        """An exploiter's run configuration: the main run's, one self-play actor, no ladder, no league."""
        c = self.config
        games = self.settings.exploiter_games_per_actor or c.selfplay.games_per_actor
        return dataclasses.replace(
            c,
            selfplay=dataclasses.replace(c.selfplay, actors=1, games_per_actor=games, resign=False),
            run=dataclasses.replace(c.run, evaluate=False, learner_num_cpus=self.settings.exploiter_num_cpus),
            league=dataclasses.replace(c.league, enabled=False, exploiters=0),
        )

    def _save(self) -> None:
        try:
            write_league(self.run_dir, self.state)
        except OSError as err:
            log.warning("league file not saved (%s)", err)


def _checkpoint_step(path: str) -> int | None:
    name = Path(path).name
    if name.startswith("ckpt-") and name.endswith(".json"):
        digits = name[len("ckpt-"):-len(".json")]
        if digits.isdigit():
            return int(digits)
    return None


__all__ = ["LeaguePlan"]
