"""The ``[league]`` section of a run: self-play against frozen past selves and exploiters (AlphaStar).

With ``enabled = true`` a share of the main agent's self-play games is played against
frozen snapshots of itself, each drawn by prioritized fictitious self-play (PFSP,
:mod:`cluster.arena.league`) from the payoff matrix, and ``exploiters`` extra learners
train only against the current main agent (reset when they stop winning). The
orchestration is :mod:`cluster.runtime.league`; everything is off by default.
"""

from __future__ import annotations

import dataclasses

from cluster.config.settings import ConfigError

PFSP_MODES = ("hard", "var", "uniform")
EXPLOITER_INITS = ("main", "fresh")
#: Bounds: a league stays small enough to hold every snapshot's weights in memory.
MAX_SNAPSHOTS = 200
MAX_EXPLOITERS = 8


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeagueSettings:
    """League training (all off by default).

    Attributes:
        enabled: play a share of self-play games against frozen snapshots of the main agent.
        share: the share of the main agent's new self-play games played against a snapshot
            (once there is one), in [0, 1].
        pfsp: how a snapshot is drawn from p, the main agent's chance to beat it:
            "hard" weighs it by (1 - p)^2 (the snapshots it loses to), "var" by p (1 - p)
            (the even ones), "uniform" equally.
        snapshot_every: training steps between snapshots of the main agent; a snapshot is
            the first learner checkpoint at or past the next multiple.
        max_snapshots: the most snapshots kept (the oldest main snapshot goes first).
        opponent_seconds: how long a self-play actor keeps the opponent it drew before it
            draws again (games in progress finish against the opponent they began with).
        exploiters: exploiter learners (each with its own replay, learner and self-play
            actor) that play only the current main agent; 0 = none.
        exploiter_init: what an exploiter starts (and restarts) from: "main" (a copy of the
            main agent's current weights) or "fresh" (a new network).
        exploiter_window: the exploiter's most recent games its win rate is measured on.
        exploiter_min_games: games an exploiter plays after a (re)start before it is judged.
        exploiter_reset_below: an exploiter whose score against the main agent over its
            window falls below this (after ``exploiter_min_games``) is reset.
        exploiter_snapshot_above: an exploiter whose score is above this (after
            ``exploiter_min_games``) joins the snapshot pool, once per generation, so the
            main agent trains against what beat it.
        exploiter_num_cpus: CPUs Ray reserves for each exploiter's learner and self-play
            actor (0: they share the cores of the main run, as on a laptop).
        exploiter_games_per_actor: games an exploiter's self-play actor plays at once
            (unset: ``selfplay.games_per_actor``).
    """

    enabled: bool = False
    share: float = 0.5
    pfsp: str = "hard"
    snapshot_every: int = 1000
    max_snapshots: int = 20
    opponent_seconds: float = 30.0
    exploiters: int = 0
    exploiter_init: str = "main"
    exploiter_window: int = 200
    exploiter_min_games: int = 200
    exploiter_reset_below: float = 0.2
    exploiter_snapshot_above: float = 0.7
    exploiter_num_cpus: float = 0.0
    exploiter_games_per_actor: int | None = None

    def __post_init__(self) -> None:
        _require(0.0 <= self.share <= 1.0, f"league.share must be in [0, 1] (got {self.share!r})")
        _require(self.pfsp in PFSP_MODES, f"league.pfsp must be one of {', '.join(PFSP_MODES)} (got {self.pfsp!r})")
        _require(1 <= self.snapshot_every <= 10**9,
                 f"league.snapshot_every must be 1..1e9 steps (got {self.snapshot_every!r})")
        _require(1 <= self.max_snapshots <= MAX_SNAPSHOTS,
                 f"league.max_snapshots must be 1..{MAX_SNAPSHOTS} (got {self.max_snapshots!r})")
        _require(0.0 < self.opponent_seconds <= 86_400.0,
                 f"league.opponent_seconds must be in (0, 86400] (got {self.opponent_seconds!r})")
        _require(0 <= self.exploiters <= MAX_EXPLOITERS,
                 f"league.exploiters must be 0..{MAX_EXPLOITERS} (got {self.exploiters!r})")
        _require(self.exploiters == 0 or self.enabled,
                 "league.exploiters needs league.enabled = true")
        _require(self.exploiter_init in EXPLOITER_INITS,
                 f"league.exploiter_init must be one of {', '.join(EXPLOITER_INITS)} (got {self.exploiter_init!r})")
        _require(1 <= self.exploiter_window <= 100_000,
                 f"league.exploiter_window must be 1..100000 games (got {self.exploiter_window!r})")
        _require(1 <= self.exploiter_min_games <= 10**9,
                 f"league.exploiter_min_games must be 1..1e9 games (got {self.exploiter_min_games!r})")
        _require(0.0 <= self.exploiter_reset_below <= 1.0,
                 f"league.exploiter_reset_below must be in [0, 1] (got {self.exploiter_reset_below!r})")
        _require(0.0 <= self.exploiter_snapshot_above <= 1.0,
                 f"league.exploiter_snapshot_above must be in [0, 1] (got {self.exploiter_snapshot_above!r})")
        _require(self.exploiter_reset_below < self.exploiter_snapshot_above,
                 "league.exploiter_reset_below must be below league.exploiter_snapshot_above")
        _require(0.0 <= self.exploiter_num_cpus <= 1024.0,
                 f"league.exploiter_num_cpus must be in [0, 1024] (got {self.exploiter_num_cpus!r})")
        games = self.exploiter_games_per_actor
        _require(games is None or 1 <= games <= 65_536,
                 f"league.exploiter_games_per_actor must be unset or 1..65536 (got {games!r})")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


__all__ = ["EXPLOITER_INITS", "LeagueSettings", "MAX_EXPLOITERS", "MAX_SNAPSHOTS", "PFSP_MODES"]
