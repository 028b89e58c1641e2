"""Resignation with a measured false-resign rate (AlphaGo Zero's rule).

Self-play resigns a game when the searched value of the player to move falls below a
threshold. A fixed share of the games that would be resigned are instead played to
the end (*playthrough* games, :attr:`Trajectory.playthrough`), and they measure how
often resigning would have been wrong: a *false resignation* is a playthrough game in
which the first player whose value fell below the threshold did not go on to lose.
:class:`ResignationMonitor` keeps the recent playthrough games and picks the highest
threshold (the earliest resignations) whose false-resign rate stays within the target
(5%); until it has seen enough playthrough games it says None (no resignation).

Self-play games start at the game's initial state and the players alternate, so the
player to move at ply ``t`` is ``t % 2``; root values are from that player's view.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

from selfplay.trajectory import Trajectory


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResignationSettings:
    """How self-play resigns.

    Attributes:
        enabled: resign at all (off: every game is played to the end by the rules).
        playthrough_share: the share of games played to the end whatever the threshold
            says, to measure false resignations (AlphaGo Zero: 10%).
        target_false_rate: the highest false-resign rate the threshold may cause (5%).
        min_games: playthrough games needed before resigning starts.
        window: how many recent playthrough games the threshold is chosen from.
        lowest, highest: the range of thresholds considered, values in [-1, 1].
        min_moves: no resignation before this many plies.
    """

    enabled: bool = False
    playthrough_share: float = 0.1
    target_false_rate: float = 0.05
    min_games: int = 20
    window: int = 500
    lowest: float = -0.99
    highest: float = -0.5
    min_moves: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError(f"resignation enabled must be a bool (got {self.enabled!r})")
        for name in ("playthrough_share", "target_false_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
                raise ValueError(f"resignation {name} must be a number in [0, 1] (got {value!r})")
        for name, least in (("min_games", 1), ("window", 1), ("min_moves", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= 1_000_000:
                raise ValueError(f"resignation {name} must be an integer in {least}..1000000 (got {value!r})")
        if not -1.0 <= self.lowest <= self.highest <= 1.0:
            raise ValueError(f"resignation thresholds need -1 <= lowest <= highest <= 1 "
                             f"(got {self.lowest!r}, {self.highest!r})")


def first_resignation(root_values: np.ndarray, threshold: float, min_moves: int = 0) -> int | None:
    """The player who would resign first at ``threshold`` (the mover of the first ply from
    ``min_moves`` on whose value is below it), or None.

    Args:
        root_values: float ``[T]``, each ply's searched value from its mover's view.
    """
    below = np.flatnonzero(np.asarray(root_values)[min_moves:] < threshold)
    return None if not below.size else int((below[0] + min_moves) % 2)


def is_false_resignation(trajectory: Trajectory, threshold: float, min_moves: int = 0) -> bool | None:
    """Whether resigning at ``threshold`` would have been wrong in this finished game.

    None: nobody's value fell below the threshold. True: the first player to fall below
    it did not lose (won or drew) when the game was played to the end.
    """
    player = first_resignation(trajectory.root_values, threshold, min_moves)
    if player is None:
        return None
    return float(trajectory.returns[player]) >= 0.0


class ResignationMonitor:
    """Chooses the resignation threshold from the recent playthrough games (see the module docstring)."""

    def __init__(self, settings: ResignationSettings) -> None:
        self.settings = settings
        self.candidates = np.round(np.linspace(settings.lowest, settings.highest, 50), 4)  # [K], ascending
        # Per playthrough game: for each player, the first ply (from min_moves) at which their
        # value falls below each candidate (a large number if never), and whether they lost.
        self._games: collections.deque[tuple[np.ndarray, np.ndarray]] = collections.deque(maxlen=settings.window)
        self.playthrough_games = 0

    def observe(self, trajectory: Trajectory) -> None:
        """Take a finished game into account (only playthrough games count)."""
        if not trajectory.playthrough:
            return
        values = np.asarray(trajectory.root_values, dtype=np.float64)
        k = self.settings.min_moves
        never = np.iinfo(np.int64).max
        first = np.full((2, len(self.candidates)), never, dtype=np.int64)  # [player, K]
        for player in (0, 1):
            plies = np.arange(player, len(values), 2)
            plies = plies[plies >= k]
            if not plies.size:
                continue
            running = np.minimum.accumulate(values[plies])  # non-increasing
            # The first ply whose running minimum is below each candidate.
            idx = np.searchsorted(-running, -self.candidates, side="right")
            first[player] = np.where(idx < len(plies), plies[np.minimum(idx, len(plies) - 1)], never)
        lost = np.array([float(trajectory.returns[p]) < 0.0 for p in (0, 1)])
        self._games.append((first, lost))
        self.playthrough_games += 1

    def _rates(self) -> tuple[np.ndarray, np.ndarray]:
        """(would-resign games, false resignations) per candidate threshold, over the window."""
        would = np.zeros(len(self.candidates), dtype=np.int64)
        false = np.zeros(len(self.candidates), dtype=np.int64)
        never = np.iinfo(np.int64).max
        for first, lost in self._games:
            resigner = np.argmin(first, axis=0)  # [K]: player 0 on ties never happens (plies differ)
            happens = first.min(axis=0) < never
            would += happens
            false += happens & ~lost[resigner]
        return would, false

    def threshold(self) -> float | None:
        """The highest candidate threshold whose false-resign rate is within the target; None to not resign."""
        if not self.settings.enabled or len(self._games) < self.settings.min_games:
            return None
        would, false = self._rates()
        rate = np.where(would > 0, false / np.maximum(would, 1), 0.0)
        ok = np.flatnonzero(rate <= self.settings.target_false_rate)
        return float(self.candidates[ok[-1]]) if ok.size else None

    def stats(self) -> dict[str, float | int | None]:
        """The threshold, and at it the window's would-resign and false-resign counts and rate."""
        threshold = self.threshold()
        out: dict[str, float | int | None] = {
            "resign_threshold": threshold,
            "playthrough_games": self.playthrough_games,
        }
        if threshold is not None:
            would, false = self._rates()
            k = int(np.flatnonzero(self.candidates == threshold)[0])
            out.update(would_resign=int(would[k]), false_resignations=int(false[k]),
                       false_resign_rate=float(false[k] / would[k]) if would[k] else 0.0)
        return out


__all__ = ["ResignationMonitor", "ResignationSettings", "first_resignation", "is_false_resignation"]
