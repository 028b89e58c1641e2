"""The one owner of a run directory's layout: every name in it is defined here.

::

    RUN_DIR/config.toml        the resolved configuration (a valid --config file)
    RUN_DIR/checkpoints/       learner checkpoints (weights + full training state)
    RUN_DIR/replay/            append-only game segments (every acknowledged game)
    RUN_DIR/games/             sample self-play games as records (SGF, PGN, move lists)
    RUN_DIR/metrics.jsonl      one JSON record per log period
    RUN_DIR/tensorboard/       the same records as TensorBoard scalars
    RUN_DIR/ladder.json        the Elo ladder of the evaluated checkpoints
    RUN_DIR/ladder/            copies of the weights the ladder rated
    RUN_DIR/report/            PNG plots of ``zeroplay report``
    RUN_DIR/pretrain.json      what ``zeroplay pretrain`` read (record imports) and reached
    RUN_DIR/league.json        the league: snapshots, the main agent's payoff against them, exploiters
    RUN_DIR/league/            snapshot weights (``snapshots/NAME/``) and exploiter runs (``exploiter-K/``)
    RUN_DIR/exploit.json       ``zeroplay exploit``: the target and the exploiter's results over time
    RUN_DIR/exploit/           its frozen copy of the target (``target/``) and the games won (``wins/``)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from games.errors import ZeroplayError

if TYPE_CHECKING:
    from cluster.config.run import RunConfig

CONFIG_FILE = "config.toml"
REPLAY_DIR = "replay"
GAMES_DIR = "games"
METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
LADDER_FILE = "ladder.json"
LADDER_DIR = "ladder"
REPORT_DIR = "report"
PRETRAIN_FILE = "pretrain.json"
LEAGUE_FILE = "league.json"
LEAGUE_DIR = "league"
EXPLOIT_FILE = "exploit.json"
EXPLOIT_DIR = "exploit"


@dataclasses.dataclass(frozen=True)
class RunDir:
    """The paths of one run directory (nothing is created or checked here)."""

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def checkpoints(self) -> Path:
        # The name is the learner's (learner.checkpoint finds checkpoints under a run by it);
        # imported here so that commands which never touch a checkpoint do not import torch.
        from learner.checkpoint import CHECKPOINTS_SUBDIR

        return self.root / CHECKPOINTS_SUBDIR

    @property
    def replay(self) -> Path:
        return self.root / REPLAY_DIR

    @property
    def games(self) -> Path:
        return self.root / GAMES_DIR

    @property
    def metrics(self) -> Path:
        return self.root / METRICS_FILE

    @property
    def tensorboard(self) -> Path:
        return self.root / TENSORBOARD_DIR

    @property
    def ladder(self) -> Path:
        return self.root / LADDER_FILE

    @property
    def ladder_dir(self) -> Path:
        return self.root / LADDER_DIR

    @property
    def report(self) -> Path:
        return self.root / REPORT_DIR

    @property
    def pretrain(self) -> Path:
        return self.root / PRETRAIN_FILE

    @property
    def league(self) -> Path:
        return self.root / LEAGUE_FILE

    @property
    def league_snapshots(self) -> Path:
        return self.root / LEAGUE_DIR / "snapshots"

    def league_snapshot(self, name: str) -> Path:
        """The directory of one league snapshot's weights (``name`` checked by ``cluster.arena.league``)."""
        return self.league_snapshots / name

    def league_exploiter(self, index: int) -> Path:
        """The run directory of league exploiter ``index`` (its own replay and checkpoints)."""
        return self.root / LEAGUE_DIR / f"exploiter-{int(index)}"

    @property
    def exploit(self) -> Path:
        return self.root / EXPLOIT_FILE

    @property
    def exploit_target(self) -> Path:
        """The frozen copy of an exploited target's weights."""
        return self.root / EXPLOIT_DIR / "target"

    @property
    def exploit_wins(self) -> Path:
        """The exploiter's won games as records."""
        return self.root / EXPLOIT_DIR / "wins"



class RunDirError(ZeroplayError, ValueError):
    """A run directory that cannot be used as asked (the message says why and what to do)."""



def prepare_run_dir(run_dir: Path, config: RunConfig | None, resume: bool) -> RunConfig:
    """Create (or, with ``resume``, reopen) a run directory; returns the run's configuration.

    On resume the stored configuration is used; when ``config`` is given, its run limits
    (``minutes`` and ``steps``) replace the stored ones.
    """
    from cluster.config.run import dump_toml, from_mapping, load_toml

    config_path = RunDir(run_dir).config
    if resume:
        if not config_path.is_file():
            raise RunDirError(f"{run_dir} holds no zeroplay run ({CONFIG_FILE} missing); nothing to resume")
        stored = from_mapping(load_toml(config_path), str(config_path))
        if config is not None:
            stored = dataclasses.replace(
                stored, run=dataclasses.replace(stored.run, minutes=config.run.minutes, steps=config.run.steps)
            )
        return stored
    assert config is not None
    check_new_run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path.write_text(dump_toml(config), encoding="utf-8")
    return config



def resume_checkpoint(run_dir: str | Path) -> tuple[Path | None, list[str]]:
    """The newest checkpoint of ``run_dir`` a run can resume from, and one warning per newer bad one.

    A checkpoint qualifies when its metadata, the sizes and sha256 of its files verify and
    it holds the training state (``learner.checkpoint.latest_valid_checkpoint``).

    Returns:
        ``(metadata path, warnings)``; ``(None, [])`` when there is no checkpoint yet (the
        run starts from fresh weights).

    Raises:
        RunDirError: there are checkpoints but none qualifies (naming each and its problem).
    """
    from learner.checkpoint import latest_valid_checkpoint, list_checkpoints

    found = list_checkpoints(run_dir)
    path, warnings = latest_valid_checkpoint(run_dir, require_training_state=True)
    if found and path is None:
        raise RunDirError(
            f"{run_dir}: none of its {len(found)} checkpoint{'s' if len(found) > 1 else ''} verifies, so the run "
            f"cannot resume: {'; '.join(warnings)}"
        )
    return path, warnings


def check_new_run_dir(run_dir: Path) -> None:
    """Refuse a non-empty directory for a new run (it may hold another run)."""
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunDirError(
            f"run directory {run_dir} is not empty; continue it with --resume {run_dir} or choose another --run-dir"
        )
