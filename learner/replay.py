"""A sliding-window replay buffer of self-play positions (a plain class; Ray wraps it elsewhere).

Storage is a preallocated ring of ``capacity_positions`` slots; adding beyond
capacity overwrites the oldest positions. Per position it keeps:

* the observation, stored as **float16** by default (half the memory of float32).
  Tic-tac-toe, Connect Four and Go observations are 0/1 planes, stored exactly;
  chess has a few scalar planes (counters scaled like ``n / 100``), and Go's "rich"
  features a komi plane (``komi / 15``), which float16 rounds to a relative error
  below 5e-4, harmless as a network input. Pass
  ``observation_dtype=np.float32`` to store exactly;
* the legal mask (bool), the policy target (float32), the value target (float32),
  the weights version of the network that played it (int64);
* for a game with a final area (Go, ``selfplay.trajectory.has_final_area``) also the
  final-area targets of ``selfplay.trajectory.TrainingTargets``: the ownership target
  ``[H, W]`` (float16: its values -1, 0, +1 are exact), the score target (float32,
  points) and whether the position has them (bool; False for a resigned game's
  positions, or when :meth:`ReplayBuffer.add_game` was given none). Other games store
  none and their batches have ``None`` there.

The window (:class:`ReplayWindow`) is the part of the stored positions that
sampling draws from, always the newest ones:

* ``"fixed"`` (the default): every stored position, up to the capacity;
* ``"growing"``: KataGo's sub-linear window (``shuffle.py``), so that the early,
  nearly random games leave it soon. With ``N`` the positions added so far,
  ``m = min_positions``, ``alpha = exponent`` and ``beta = growth``::

      window(N) = clamp(m + beta * (N^alpha - m^alpha) / (alpha * m^(alpha - 1)), m, capacity)

  for ``N >= m`` (and ``m`` before): it starts at ``m``, grows with slope ``beta``
  there, and tapers as ``N^alpha``. (KataGo's ``(N - m + offset)^alpha`` with its
  default offset ``m``.) The capacity stays the hard maximum.

``N`` is the count of positions ever added (restored from the segment files on a
restart, see ``learner.replay_store``), so a reloaded buffer has the same window.

Sampling is uniform over the window, with replacement, and applies an
independent random board symmetry to each sample (observation, policy target,
legal mask and ownership target together, through ``game.transform_observation``,
which also moves the ownership plane, and ``game.action_permutation``), vectorised
by grouping samples per symmetry.

Reuse cap (as in KataGo): :meth:`ReplayBuffer.can_sample` is False while drawing
another batch would make ``samples_drawn > max_samples_per_position *
positions_added``, so a learner faster than self-play waits for fresh games
instead of overfitting the window. It also requires ``min_positions`` positions
in the window. :meth:`sample` itself does not enforce the cap. The cap counts
every position added, whether or not it is still in the window.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Any, NamedTuple

import numpy as np

from games.base import Game
from games.errors import ZeroplayError
from selfplay.trajectory import has_final_area

WINDOW_KINDS = ("fixed", "growing")


class ReplayConfigError(ZeroplayError, ValueError):
    """A replay buffer setting out of range or of the wrong type; the message names it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplayWindow:
    """Which of the newest stored positions sampling draws from (see the module docstring).

    Attributes:
        kind: ``"fixed"`` (all stored positions) or ``"growing"`` (KataGo's rule).
        min_positions: ``m``, the window of ``"growing"`` until ``m`` positions were added.
        exponent: ``alpha`` in ``(0, 1]``, the taper (1: linear growth).
        growth: ``beta >= 0``, the window's growth per added position at ``N = m``.
    """

    kind: str = "fixed"
    min_positions: int = 10_000
    exponent: float = 0.75
    growth: float = 0.4

    def __post_init__(self) -> None:
        if self.kind not in WINDOW_KINDS:
            raise ReplayConfigError(
                f"ReplayWindow.kind must be one of {', '.join(WINDOW_KINDS)}, got {self.kind!r}"
            )
        m = self.min_positions
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ReplayConfigError(f"ReplayWindow.min_positions must be an int >= 1, got {m!r}")
        for name, low_open, high in (("exponent", True, 1.0), ("growth", False, math.inf)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ReplayConfigError(f"ReplayWindow.{name} must be a finite number, got {v!r}")
            if v < 0 or (low_open and v == 0) or v > high:
                interval = "(0, 1]" if low_open else "[0, inf)"
                raise ReplayConfigError(f"ReplayWindow.{name} must be in {interval}, got {v!r}")

    def size(self, positions_added: int, capacity: int) -> int:
        """The window in positions after ``positions_added`` (``N``) were added, at most ``capacity``.

        ``"fixed"``: ``capacity``. ``"growing"``: the module docstring's formula, rounded down.
        """
        if self.kind == "fixed":
            return int(capacity)
        m, n = float(self.min_positions), float(positions_added)
        if n <= m:
            return int(min(self.min_positions, capacity))
        alpha = float(self.exponent)
        grown = m + self.growth * (n**alpha - m**alpha) / (alpha * m ** (alpha - 1.0))
        return int(min(max(math.floor(grown), self.min_positions), capacity))


class Batch(NamedTuple):
    """A sampled training batch (numpy arrays; ``B`` = batch size).

    Attributes:
        observations: ``[B, C, H, W]`` float32, symmetry applied.
        legal_masks: ``[B, A]`` bool, symmetry applied.
        policy_targets: ``[B, A]`` float32, symmetry applied.
        value_targets: ``[B]`` float32.
        weights_versions: ``[B]`` int64, version of the network that generated each position.
        indices: ``[B]`` int64 slots in the buffer (for debugging/tests).
        symmetries: ``[B]`` int64 symmetry applied to each sample.
        ownership_targets: ``[B, H, W]`` float32 in {-1, 0, 1}, the mover's ownership of each
            point at the end of the game, symmetry applied; ``None`` for a game without a
            final area.
        score_targets: ``[B]`` float32, the final score in points from the mover's side;
            ``None`` for a game without a final area.
        area_mask: ``[B]`` bool, the rows that have ownership and score targets; ``None`` for
            a game without a final area.
    """

    observations: np.ndarray
    legal_masks: np.ndarray
    policy_targets: np.ndarray
    value_targets: np.ndarray
    weights_versions: np.ndarray
    indices: np.ndarray
    symmetries: np.ndarray
    ownership_targets: np.ndarray | None = None
    score_targets: np.ndarray | None = None
    area_mask: np.ndarray | None = None


class ReplayBuffer:
    """Ring of the last ``capacity_positions`` positions; samples from the newest :attr:`window_size`.

    Args:
        game: the game (shapes and symmetries).
        capacity_positions: positions kept (the window's hard maximum).
        max_samples_per_position: reuse cap (see the module docstring); ``None`` or
            ``inf`` disables it.
        seed: seed of the buffer's own generator, used when :meth:`sample` gets no ``rng``.
        min_positions: positions required in the window before :meth:`can_sample`
            is True (clamped to the capacity; at least the batch size is always required).
        observation_dtype: storage dtype of observations (float16 default, or float32).
        recent_games: how many recent game lengths :meth:`state` averages.
        window: which of the stored positions sampling draws from (default: all of them,
            ``ReplayWindow()``, a ``"fixed"`` window).
    """

    def __init__(
        self,
        game: Game,
        capacity_positions: int,
        max_samples_per_position: float | None = 4.0,
        seed: int | None = 0,
        *,
        min_positions: int = 1000,
        observation_dtype: Any = np.float16,
        recent_games: int = 1000,
        window: ReplayWindow | None = None,
    ) -> None:
        if (
            isinstance(capacity_positions, bool)
            or not isinstance(capacity_positions, (int, np.integer))
            or capacity_positions < 1
        ):
            raise ReplayConfigError(f"capacity_positions must be a positive int, got {capacity_positions!r}")
        if max_samples_per_position is not None and not max_samples_per_position > 0:
            raise ReplayConfigError(
                f"max_samples_per_position must be > 0 or None, got {max_samples_per_position!r}"
            )
        if min_positions < 0:
            raise ReplayConfigError(f"min_positions must be >= 0, got {min_positions}")
        obs_dtype = np.dtype(observation_dtype)
        if obs_dtype not in (np.dtype(np.float16), np.dtype(np.float32)):
            raise ReplayConfigError(f"observation_dtype must be float16 or float32, got {obs_dtype}")
        if window is not None and not isinstance(window, ReplayWindow):
            raise ReplayConfigError(f"window must be a ReplayWindow, got {type(window).__name__}")
        self.window = window if window is not None else ReplayWindow()
        self.game = game
        self.capacity = int(capacity_positions)
        self.max_samples_per_position = (
            math.inf if max_samples_per_position is None else float(max_samples_per_position)
        )
        self.min_positions = min(int(min_positions), self.capacity)
        self.observation_shape = tuple(int(d) for d in game.observation_shape)
        self.num_actions = int(game.num_actions)
        self.num_symmetries = int(game.num_symmetries)
        self.rng = np.random.default_rng(seed)

        n, a = self.capacity, self.num_actions
        # np.empty of a large array is backed by lazily committed pages.
        self._obs = np.empty((n, *self.observation_shape), dtype=obs_dtype)
        self._masks = np.empty((n, a), dtype=bool)
        self._policies = np.empty((n, a), dtype=np.float32)
        self._values = np.empty((n,), dtype=np.float32)
        self._versions = np.empty((n,), dtype=np.int64)
        #: Whether positions carry final-area targets (ownership, score): games with an area (Go).
        self.has_area_targets = has_final_area(game)
        self.board_shape = self.observation_shape[1:]
        if self.has_area_targets:
            self._ownership = np.empty((n, *self.board_shape), dtype=np.float16)
            self._scores = np.empty((n,), dtype=np.float32)
            self._area_mask = np.empty((n,), dtype=bool)

        self._head = 0  # next slot to write
        self._size = 0
        self.positions_added = 0
        self.games_added = 0
        self.samples_drawn = 0
        self.latest_version_added = -1
        self._game_lengths: collections.deque[int] = collections.deque(maxlen=recent_games)

        self._perms = [np.asarray(game.action_permutation(k), dtype=np.int64) for k in range(self.num_symmetries)]
        # policy_t[perm] = policy  <=>  policy_t = policy[inverse]
        self._inverse_perms = [np.argsort(p) for p in self._perms]

    # ------------------------------------------------------------------ adding
    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        """Positions currently stored (at most the capacity)."""
        return self._size

    @property
    def window_size(self) -> int:
        """How many of the newest stored positions sampling draws from now (at most :attr:`size`)."""
        return min(self.window.size(self.positions_added, self.capacity), self._size)

    def window_slots(self) -> np.ndarray:
        """Ring slots of the window's positions (``[window_size]`` int64): all filled slots
        ``0 .. size - 1`` when the window holds every stored position, else the newest first."""
        w = self.window_size
        if w == self._size:
            return np.arange(self._size, dtype=np.int64)
        return (self._head - 1 - np.arange(w, dtype=np.int64)) % self.capacity

    def add_game(
        self,
        observations: np.ndarray,
        legal_masks: np.ndarray,
        policy_targets: np.ndarray,
        value_targets: np.ndarray,
        weights_version: int,
        *,
        ownership_targets: np.ndarray | None = None,
        score_targets: np.ndarray | None = None,
        area_mask: np.ndarray | None = None,
    ) -> None:
        """Append one game's ``T`` positions (oldest positions are evicted beyond capacity).

        Args:
            observations: ``[T, C, H, W]`` float32 (mover's point of view).
            legal_masks: ``[T, A]`` bool.
            policy_targets: ``[T, A]`` float32 search distributions.
            value_targets: ``[T]`` float32 outcomes from the mover's point of view.
            weights_version: version of the network that played the game.
            ownership_targets: ``[T, H, W]`` in [-1, 1], the mover's ownership at the end
                (``selfplay.trajectory.TrainingTargets``); only for a game with a final
                area, together with ``score_targets``. Omitted: the positions have none.
            score_targets: ``[T]`` final scores in points from the mover's side.
            area_mask: ``[T]`` bool, the rows that have those targets (default: all of them).

        Raises:
            ValueError: a shape or dtype that does not fit, final-area targets for a game
                without them, or one of ownership and score without the other.
        """
        obs = np.asarray(observations)
        masks = np.asarray(legal_masks)
        policies = np.asarray(policy_targets)
        values = np.asarray(value_targets)
        if obs.ndim != 4 or tuple(obs.shape[1:]) != self.observation_shape:
            raise ValueError(
                f"observations must be [T, {', '.join(map(str, self.observation_shape))}], got {list(obs.shape)}"
            )
        t = obs.shape[0]
        if t == 0:
            raise ValueError("add_game got an empty game (T = 0)")
        for name, arr, shape in (
            ("legal_masks", masks, (t, self.num_actions)),
            ("policy_targets", policies, (t, self.num_actions)),
            ("value_targets", values, (t,)),
        ):
            if tuple(arr.shape) != shape:
                raise ValueError(f"{name} must have shape {list(shape)}, got {list(arr.shape)}")
        if masks.dtype != np.bool_:
            raise ValueError(f"legal_masks must be bool, got {masks.dtype}")
        if isinstance(weights_version, bool) or not isinstance(weights_version, (int, np.integer)):
            raise ValueError(f"weights_version must be an int, got {weights_version!r}")
        area = self._area_arrays(t, ownership_targets, score_targets, area_mask)

        self.positions_added += t
        self.games_added += 1
        self._game_lengths.append(t)
        self.latest_version_added = max(self.latest_version_added, int(weights_version))
        if t > self.capacity:  # only the last `capacity` positions survive
            obs, masks, policies, values = (
                obs[-self.capacity :],
                masks[-self.capacity :],
                policies[-self.capacity :],
                values[-self.capacity :],
            )
            if area is not None:
                area = tuple(a[-self.capacity :] for a in area)
            t = self.capacity
        slots = (self._head + np.arange(t)) % self.capacity
        self._obs[slots] = obs
        self._masks[slots] = masks
        self._policies[slots] = policies
        self._values[slots] = values
        self._versions[slots] = int(weights_version)
        if area is not None:
            self._ownership[slots], self._scores[slots], self._area_mask[slots] = area
        self._head = int((self._head + t) % self.capacity)
        self._size = min(self.capacity, self._size + t)

    def _area_arrays(
        self, t: int, ownership: np.ndarray | None, scores: np.ndarray | None, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The checked final-area targets of a game of ``t`` positions (zeros, masked out, if none)."""
        if not self.has_area_targets:
            if ownership is not None or scores is not None or mask is not None:
                raise ValueError(f"{self.game.name} has no final area: add_game takes no ownership or score targets")
            return None
        if (ownership is None) != (scores is None):
            raise ValueError("add_game needs ownership_targets and score_targets together (or neither)")
        if ownership is None:
            if mask is not None and np.asarray(mask).any():
                raise ValueError("area_mask marks rows with targets, but no ownership or score targets were given")
            return (
                np.zeros((t, *self.board_shape), dtype=np.float16),
                np.zeros(t, dtype=np.float32),
                np.zeros(t, dtype=bool),
            )
        ownership, scores = np.asarray(ownership), np.asarray(scores)
        mask = np.ones(t, dtype=bool) if mask is None else np.asarray(mask)
        for name, arr, shape in (
            ("ownership_targets", ownership, (t, *self.board_shape)),
            ("score_targets", scores, (t,)),
            ("area_mask", mask, (t,)),
        ):
            if tuple(arr.shape) != shape:
                raise ValueError(f"{name} must have shape {list(shape)}, got {list(arr.shape)}")
        if mask.dtype != np.bool_:
            raise ValueError(f"area_mask must be bool, got {mask.dtype}")
        if not np.isfinite(ownership).all() or (np.abs(ownership) > 1).any():
            raise ValueError("ownership_targets must lie in [-1, 1]")
        if not np.isfinite(scores).all():
            raise ValueError("score_targets must be finite")
        return ownership.astype(np.float16), scores.astype(np.float32), mask.copy()

    # ---------------------------------------------------------------- sampling
    def can_sample(self, batch_size: int) -> bool:
        """Whether a batch may be drawn now (enough positions in the window, reuse cap not exceeded)."""
        if self.window_size < max(int(batch_size), self.min_positions, 1):
            return False
        return self.samples_drawn + batch_size <= self.max_samples_per_position * self.positions_added

    def sample(self, batch_size: int, rng: np.random.Generator | None = None) -> Batch:
        """Draw ``batch_size`` positions uniformly from the window (with replacement), each with a
        random symmetry.

        Counts toward ``samples_drawn`` but does not check :meth:`can_sample`.
        Raises ``ValueError`` if the buffer is empty.
        """
        if self._size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        rng = self.rng if rng is None else rng
        window = self.window_size
        if window == self._size:
            # Slots [0, size) are exactly the filled ones (the ring fills from slot 0).
            idx = rng.integers(0, self._size, size=batch_size, dtype=np.int64)
        else:  # the newest `window` positions: the `window` slots before the head, around the ring
            back = rng.integers(0, window, size=batch_size, dtype=np.int64)
            idx = (self._head - 1 - back) % self.capacity
        syms = (
            rng.integers(0, self.num_symmetries, size=batch_size, dtype=np.int64)
            if self.num_symmetries > 1
            else np.zeros(batch_size, dtype=np.int64)
        )
        obs = self._obs[idx].astype(np.float32, copy=False)
        masks = self._masks[idx]
        policies = self._policies[idx]
        ownership = self._ownership[idx].astype(np.float32) if self.has_area_targets else None
        for k in np.unique(syms):
            k = int(k)
            if k == 0:
                continue
            sel = np.flatnonzero(syms == k)
            obs[sel] = self.game.transform_observation(obs[sel], k)
            inv = self._inverse_perms[k]
            masks[sel] = masks[sel][:, inv]
            policies[sel] = policies[sel][:, inv]
            if ownership is not None:  # one plane per position, moved as the observation's planes are
                ownership[sel] = self.game.transform_observation(ownership[sel][:, None], k)[:, 0]
        self.samples_drawn += batch_size
        return Batch(
            observations=np.ascontiguousarray(obs, dtype=np.float32),
            legal_masks=masks,
            policy_targets=policies,
            value_targets=self._values[idx].copy(),
            weights_versions=self._versions[idx].copy(),
            indices=idx,
            symmetries=syms,
            ownership_targets=ownership,
            score_targets=self._scores[idx].copy() if self.has_area_targets else None,
            area_mask=self._area_mask[idx].copy() if self.has_area_targets else None,
        )

    # ------------------------------------------------------------------ stats
    def state(self, latest_version: int | None = None) -> dict[str, float | int]:
        """Metrics: size, window, counters, reuse, mean game length, weights versions and policy lag.

        ``window`` is :attr:`window_size` (the positions sampling draws from now);
        ``oldest_version``, ``newest_version`` and ``policy_lag_*`` (``latest_version -
        version``) are over the window's positions (``latest_version`` defaults to the
        newest version added).
        """
        latest = self.latest_version_added if latest_version is None else int(latest_version)
        out: dict[str, float | int] = {
            "size": self._size,
            "window": self.window_size,
            "capacity": self.capacity,
            "positions_added": self.positions_added,
            "games_added": self.games_added,
            "samples_drawn": self.samples_drawn,
            "samples_per_position": self.samples_drawn / self.positions_added if self.positions_added else 0.0,
            "max_samples_per_position": self.max_samples_per_position,
            "mean_game_length": float(np.mean(self._game_lengths)) if self._game_lengths else 0.0,
        }
        if self._size:
            window_all = self.window_size == self._size
            versions = self._versions[: self._size] if window_all else self._versions[self.window_slots()]
            out.update(
                oldest_version=int(versions.min()),
                newest_version=int(versions.max()),
                policy_lag_mean=float(latest - versions.mean()),
                policy_lag_max=int(latest - versions.min()),
            )
        return out

    stats = state


__all__ = ["WINDOW_KINDS", "Batch", "ReplayBuffer", "ReplayConfigError", "ReplayWindow"]
