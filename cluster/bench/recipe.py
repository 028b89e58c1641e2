"""``zeroplay bench recipe``: training-recipe changes compared at equal wall time, graded on solved positions.

Each *variant* is a set of ``--set``-style assignments over the game's shipped
defaults (the baseline is the empty variant). Every variant is trained ``repeats``
times for the same number of minutes by the real ``zeroplay train`` command, one run
after another (never two at once: they would share the cores), each run with its own
seed, and each result is graded:

* tic-tac-toe: mistakes on all 4,520 positions with a move to make (the raw policy,
  and the search at 32 and 64 simulations), :mod:`cluster.bench.tictactoe`;
* Connect Four: mistake rates on the labelled Pons sets (the raw policy and a
  64-simulation search), :mod:`cluster.bench.connect4`, optionally on the first
  ``limit`` positions of each set.

The report holds every run (games played, training steps, grades) and, per variant,
the mean and the range over its repeats, so the run-to-run noise is in the figures.
The in-training evaluator is off in these runs (it would take idle CPU unevenly).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cluster.bench.common import machine_info
from games.errors import ZeroplayError

GAMES = ("tictactoe", "connect4")
_ASSIGNMENT = re.compile(r"^[a-z_]+\.[a-z_0-9]+=.+$")


class RecipeBenchError(ZeroplayError, ValueError):
    """A recipe benchmark that cannot run as asked (a bad variant, a failed run); the message says which."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """One recipe to train: a name and its assignments (``section.key=value``) over the defaults."""

    name: str
    assignments: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``NAME`` or ``NAME:section.key=value,section.key=value`` (a comma inside a value stays in it)."""
        name, sep, rest = text.partition(":")
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z0-9_+\-.]+", name):
            raise RecipeBenchError(f"--variant {text!r}: the name must be letters, digits, _ + - . (got {name!r})")
        parts: list[str] = []
        for piece in rest.split(",") if sep else []:
            if _ASSIGNMENT.match(piece.strip()) or not parts:
                parts.append(piece.strip())
            else:
                parts[-1] += "," + piece  # a comma inside the previous value (a list, a table)
        for part in parts:
            if not _ASSIGNMENT.match(part):
                raise RecipeBenchError(f"--variant {text!r}: {part!r} is not section.key=value")
        return cls(name, tuple(parts))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecipeBenchSettings:
    """What to compare.

    Attributes:
        game: ``tictactoe`` or ``connect4``.
        variants: the recipes (a baseline named ``default`` is added first unless one is given).
        minutes: wall time of every training run.
        repeats: runs per variant (seeds 0, 1, ...).
        out: where the run directories go (kept for inspection).
        assignments: settings applied to every variant (e.g. to shorten logs).
        limit: Connect Four: grade the first ``limit`` positions of each set (None: all).
        search_sims: simulations of the graded searches.
    """

    game: str
    variants: tuple[Variant, ...]
    minutes: float
    repeats: int = 1
    out: Path
    assignments: tuple[str, ...] = ()
    limit: int | None = None
    search_sims: tuple[int, ...] = (32, 64)

    def __post_init__(self) -> None:
        if self.game not in GAMES:
            raise RecipeBenchError(f"bench recipe grades {', '.join(GAMES)}, not {self.game!r}")
        if not 0.1 <= self.minutes <= 24 * 60:
            raise RecipeBenchError(f"--minutes must be in [0.1, 1440], got {self.minutes!r}")
        if not 1 <= self.repeats <= 100:
            raise RecipeBenchError(f"--repeats must be in 1..100, got {self.repeats!r}")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise RecipeBenchError(f"variant names repeat: {names}")
        if self.limit is not None and self.limit < 1:
            raise RecipeBenchError(f"--limit must be >= 1, got {self.limit!r}")

    def all_variants(self) -> tuple[Variant, ...]:
        if any(v.name == "default" for v in self.variants):
            return self.variants
        return (Variant("default"),) + self.variants


def train(game: str, variant: Variant, settings: RecipeBenchSettings, seed: int, run_dir: Path) -> dict[str, Any]:
    """Run ``zeroplay train`` for one variant and seed (a subprocess, as a user runs it); its summary."""
    assignments = [*settings.assignments, "run.evaluate=false", f"run.seed={seed}", *variant.assignments]
    argv = [sys.executable, "-m", "cluster.cli.main", "train", "--game", game, "--minutes", str(settings.minutes),
            "--run-dir", str(run_dir), "--json"]
    argv += [x for a in assignments for x in ("--set", a)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=settings.minutes * 60 + 600)
    if done.returncode != 0:
        raise RecipeBenchError(f"variant {variant.name!r} (seed {seed}) failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def grade(game: str, run_dir: Path, settings: RecipeBenchSettings) -> dict[str, Any]:
    """The grades of a run's final checkpoint (see the module docstring)."""
    from cluster.engines.engine import Engine, EngineConfig

    engine = Engine.load(str(run_dir), EngineConfig(sims=max(settings.search_sims), threads=1))
    if game == "tictactoe":
        from cluster.bench.tictactoe import grade as grade_tictactoe

        out: dict[str, Any] = {}
        for sims in settings.search_sims:
            result = grade_tictactoe(engine, sims)
            out["raw_policy_mistakes"] = result["raw_policy_mistakes"]
            out[f"search_{sims}_mistakes"] = result["search_mistakes"]
        return out
    from cluster.bench.connect4 import available_sets, find_data_dir, run_bench

    data_dir = find_data_dir(None)
    sims = max(settings.search_sims)
    per_set = run_bench(engine, data_dir, available_sets(data_dir), sims=sims, limit=settings.limit, search=True)
    return {
        name: {"raw_policy": entry["raw_policy"]["mistake_rate"], f"search_{sims}": entry["search"]["mistake_rate"]}
        for name, entry in per_set.items()
    }


def _summary(values: Sequence[float]) -> dict[str, float]:
    return {"mean": round(sum(values) / len(values), 4), "min": min(values), "max": max(values)}


def _flatten(grades: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in grades.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif value is not None:
            flat[f"{prefix}{key}"] = float(value)
    return flat


def run_recipe_bench(settings: RecipeBenchSettings, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Train and grade every variant ``repeats`` times; the JSON-able report."""
    settings.out.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    for repeat in range(settings.repeats):  # interleaved: a drift of the machine hits every variant alike
        for variant in settings.all_variants():
            run_dir = settings.out / f"{variant.name}-seed{repeat}"
            if run_dir.exists() and any(run_dir.iterdir()):
                raise RecipeBenchError(f"{run_dir} is not empty; give another --out")
            log(f"{variant.name} seed {repeat}: training {settings.minutes:g} min")
            start = time.time()
            summary = train(settings.game, variant, settings, repeat, run_dir)
            grades = grade(settings.game, run_dir, settings)
            runs.append({"variant": variant.name, "seed": repeat, "started": start, "games": summary["games"],
                         "steps": summary["step"], "weights_version": summary["weights_version"],
                         "minutes": summary["minutes"], "grades": grades, "run_dir": str(run_dir)})
            log(f"{variant.name} seed {repeat}: {summary['games']} games, {summary['step']} steps, {grades}")
    variants = {}
    for variant in settings.all_variants():
        mine = [r for r in runs if r["variant"] == variant.name]
        flat = [_flatten(r["grades"]) for r in mine]
        variants[variant.name] = {
            "assignments": list(variant.assignments),
            "games": _summary([r["games"] for r in mine]),
            "steps": _summary([r["steps"] for r in mine]),
            "grades": {key: _summary([f[key] for f in flat]) for key in flat[0]},
        }
    return {
        "benchmark": "recipe",
        "machine": machine_info(),
        "game": settings.game,
        "minutes": settings.minutes,
        "repeats": settings.repeats,
        "assignments": list(settings.assignments),
        "limit": settings.limit,
        "variants": variants,
        "runs": runs,
    }


__all__ = ["GAMES", "RecipeBenchError", "RecipeBenchSettings", "Variant", "grade", "run_recipe_bench", "train"]
