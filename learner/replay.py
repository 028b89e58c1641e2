"""A sliding-window replay buffer of self-play positions (a plain class; Ray wraps it elsewhere).

Storage is a preallocated ring of ``capacity_positions`` slots; adding beyond
capacity overwrites the oldest positions. Per position it keeps:

* the observation, stored as **float16** by default (half the memory of float32).
  Tic-tac-toe, Connect Four and Go observations are 0/1 planes, stored exactly;
  chess has a few scalar planes (counters scaled like ``n / 100``) which float16
  rounds to a relative error below 5e-4, harmless as a network input. Pass
  ``observation_dtype=np.float32`` to store exactly;
* the legal mask (bool), the policy target (float32), the value target (float32),
  the weights version of the network that played it (int64).

Sampling is uniform over the window, with replacement, and applies an
independent random board symmetry to each sample (observation, policy target and
legal mask together, through ``game.transform_observation`` and
``game.action_permutation``), vectorised by grouping samples per symmetry.

Reuse cap (as in KataGo): :meth:`ReplayBuffer.can_sample` is False while drawing
another batch would make ``samples_drawn > max_samples_per_position *
positions_added``, so a learner faster than self-play waits for fresh games
instead of overfitting the window. It also requires ``min_positions`` positions
in the window. :meth:`sample` itself does not enforce the cap.
"""

from __future__ import annotations

import collections
import math
from typing import Any, NamedTuple

import numpy as np

from games.base import Game


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
    """

    observations: np.ndarray
    legal_masks: np.ndarray
    policy_targets: np.ndarray
    value_targets: np.ndarray
    weights_versions: np.ndarray
    indices: np.ndarray
    symmetries: np.ndarray


class ReplayBuffer:
    """Sliding window of the last ``capacity_positions`` positions.

    Args:
        game: the game (shapes and symmetries).
        capacity_positions: window size in positions.
        max_samples_per_position: reuse cap (see the module docstring); ``None`` or
            ``inf`` disables it.
        seed: seed of the buffer's own generator, used when :meth:`sample` gets no ``rng``.
        min_positions: positions required in the window before :meth:`can_sample`
            is True (clamped to the capacity; at least the batch size is always required).
        observation_dtype: storage dtype of observations (float16 default, or float32).
        recent_games: how many recent game lengths :meth:`state` averages.
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
    ) -> None:
        if (
            isinstance(capacity_positions, bool)
            or not isinstance(capacity_positions, (int, np.integer))
            or capacity_positions < 1
        ):
            raise ValueError(f"capacity_positions must be a positive int, got {capacity_positions!r}")
        if max_samples_per_position is not None and not max_samples_per_position > 0:
            raise ValueError(f"max_samples_per_position must be > 0 or None, got {max_samples_per_position!r}")
        if min_positions < 0:
            raise ValueError(f"min_positions must be >= 0, got {min_positions}")
        obs_dtype = np.dtype(observation_dtype)
        if obs_dtype not in (np.dtype(np.float16), np.dtype(np.float32)):
            raise ValueError(f"observation_dtype must be float16 or float32, got {obs_dtype}")
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
        """Positions currently in the window."""
        return self._size

    def add_game(
        self,
        observations: np.ndarray,
        legal_masks: np.ndarray,
        policy_targets: np.ndarray,
        value_targets: np.ndarray,
        weights_version: int,
    ) -> None:
        """Append one game's ``T`` positions (oldest positions are evicted beyond capacity).

        Args:
            observations: ``[T, C, H, W]`` float32 (mover's point of view).
            legal_masks: ``[T, A]`` bool.
            policy_targets: ``[T, A]`` float32 search distributions.
            value_targets: ``[T]`` float32 outcomes from the mover's point of view.
            weights_version: version of the network that played the game.
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
            t = self.capacity
        slots = (self._head + np.arange(t)) % self.capacity
        self._obs[slots] = obs
        self._masks[slots] = masks
        self._policies[slots] = policies
        self._values[slots] = values
        self._versions[slots] = int(weights_version)
        self._head = int((self._head + t) % self.capacity)
        self._size = min(self.capacity, self._size + t)

    # ---------------------------------------------------------------- sampling
    def can_sample(self, batch_size: int) -> bool:
        """Whether a batch may be drawn now (enough positions, reuse cap not exceeded)."""
        if self._size < max(int(batch_size), self.min_positions, 1):
            return False
        return self.samples_drawn + batch_size <= self.max_samples_per_position * self.positions_added

    def sample(self, batch_size: int, rng: np.random.Generator | None = None) -> Batch:
        """Draw ``batch_size`` positions uniformly (with replacement), each with a random symmetry.

        Counts toward ``samples_drawn`` but does not check :meth:`can_sample`.
        Raises ``ValueError`` if the buffer is empty.
        """
        if self._size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        rng = self.rng if rng is None else rng
        # Slots [0, size) are exactly the filled ones (the ring fills from slot 0).
        idx = rng.integers(0, self._size, size=batch_size, dtype=np.int64)
        syms = (
            rng.integers(0, self.num_symmetries, size=batch_size, dtype=np.int64)
            if self.num_symmetries > 1
            else np.zeros(batch_size, dtype=np.int64)
        )
        obs = self._obs[idx].astype(np.float32, copy=False)
        masks = self._masks[idx]
        policies = self._policies[idx]
        for k in np.unique(syms):
            k = int(k)
            if k == 0:
                continue
            sel = np.flatnonzero(syms == k)
            obs[sel] = self.game.transform_observation(obs[sel], k)
            inv = self._inverse_perms[k]
            masks[sel] = masks[sel][:, inv]
            policies[sel] = policies[sel][:, inv]
        self.samples_drawn += batch_size
        return Batch(
            observations=np.ascontiguousarray(obs, dtype=np.float32),
            legal_masks=masks,
            policy_targets=policies,
            value_targets=self._values[idx].copy(),
            weights_versions=self._versions[idx].copy(),
            indices=idx,
            symmetries=syms,
        )

    # ------------------------------------------------------------------ stats
    def state(self, latest_version: int | None = None) -> dict[str, float | int]:
        """Metrics: size, counters, reuse, mean game length, weights versions and policy lag.

        ``policy_lag_*`` are ``latest_version - version`` over the window's positions
        (``latest_version`` defaults to the newest version added).
        """
        latest = self.latest_version_added if latest_version is None else int(latest_version)
        out: dict[str, float | int] = {
            "size": self._size,
            "capacity": self.capacity,
            "positions_added": self.positions_added,
            "games_added": self.games_added,
            "samples_drawn": self.samples_drawn,
            "samples_per_position": self.samples_drawn / self.positions_added if self.positions_added else 0.0,
            "max_samples_per_position": self.max_samples_per_position,
            "mean_game_length": float(np.mean(self._game_lengths)) if self._game_lengths else 0.0,
        }
        if self._size:
            versions = self._versions[: self._size]
            out.update(
                oldest_version=int(versions.min()),
                newest_version=int(versions.max()),
                policy_lag_mean=float(latest - versions.mean()),
                policy_lag_max=int(latest - versions.min()),
            )
        return out

    stats = state


__all__ = ["Batch", "ReplayBuffer"]
