"""Tests of learner.replay.ReplayBuffer."""

from __future__ import annotations

import numpy as np
import pytest

import games
from learner.replay import Batch, ReplayBuffer

TTT = games.make("tictactoe")


def _game(length: int, tag: float, version: int = 0) -> tuple:
    """A fake game of ``length`` positions whose value targets are ``tag`` (to identify them)."""
    obs = np.zeros((length, 3, 3, 3), np.float32)
    masks = np.ones((length, 9), bool)
    policy = np.full((length, 9), 1 / 9, np.float32)
    values = np.full(length, tag, np.float32)
    return obs, masks, policy, values, version


def _numbered(n: int) -> tuple:
    """``n`` positions with value target i / 1000 for position i."""
    obs = np.zeros((n, 3, 3, 3), np.float32)
    return obs, np.ones((n, 9), bool), np.full((n, 9), 1 / 9, np.float32), np.arange(n, dtype=np.float32) / 1000, 0


def test_window_eviction() -> None:
    buf = ReplayBuffer(TTT, capacity_positions=10, seed=0, min_positions=1)
    assert len(buf) == 0 and not buf.can_sample(1)
    for tag in (1, 2, 3):
        buf.add_game(*_game(4, tag / 10, version=tag))
    assert len(buf) == 10 and buf.positions_added == 12 and buf.games_added == 3
    kept = sorted(np.round(buf._values[: len(buf)] * 10).astype(int).tolist())
    assert kept == [1, 1, 2, 2, 2, 2, 3, 3, 3, 3]  # the two oldest positions of game 1 are gone
    # samples only come from the window
    batch = buf.sample(500)
    assert set(np.round(batch.value_targets * 10).astype(int)) == {1, 2, 3}
    # a game longer than the window keeps only its last positions
    buf.add_game(*_numbered(25))
    assert len(buf) == 10 and buf.positions_added == 37
    np.testing.assert_allclose(np.sort(buf._values[:10]), np.arange(15, 25) / 1000)
    state = buf.state()
    assert state["size"] == 10 and state["games_added"] == 4 and state["positions_added"] == 37
    assert state["mean_game_length"] == pytest.approx((4 * 3 + 25) / 4)
    assert state["samples_drawn"] == 500


def test_uniform_coverage() -> None:
    buf = ReplayBuffer(TTT, capacity_positions=40, seed=0, max_samples_per_position=None, min_positions=1)
    buf.add_game(*_numbered(30))
    buf.add_game(*_numbered(30))  # wraps the ring: window holds positions 20..29 of game 1 and all of game 2
    rng = np.random.default_rng(123)
    counts = np.zeros(40)
    sym_counts = np.zeros(8)
    for _ in range(20):
        batch = buf.sample(2000, rng)
        np.add.at(counts, batch.indices, 1)
        np.add.at(sym_counts, batch.symmetries, 1)
    expected = 40_000 / 40
    assert np.all(np.abs(counts - expected) < 0.15 * expected), counts
    assert np.all(np.abs(sym_counts - 5000) < 0.1 * 5000), sym_counts
    assert buf.samples_drawn == 40_000


def test_symmetry_applied_consistently() -> None:
    """A mover's mark on cell c with a one-hot policy on c: the mark and the target move together."""
    obs, masks, policy = [], [], []
    for cell in range(9):
        o = np.zeros((3, 3, 3), np.float32)
        o[0, cell // 3, cell % 3] = 1.0  # the mover's mark
        o[1, 0, 0] = 1.0 if cell != 0 else 0.0  # an opponent mark in the corner (moves too)
        o[2] = 1.0
        m = np.ones(9, bool)
        m[cell] = False
        p = np.zeros(9, np.float32)
        p[cell] = 1.0
        obs.append(o), masks.append(m), policy.append(p)
    obs, masks, policy = np.stack(obs), np.stack(masks), np.stack(policy)
    buf = ReplayBuffer(TTT, capacity_positions=100, seed=0, min_positions=1, max_samples_per_position=None)
    buf.add_game(obs, masks, policy, np.zeros(9, np.float32), 0)
    batch = buf.sample(400, np.random.default_rng(5))
    assert isinstance(batch, Batch)
    assert batch.observations.dtype == np.float32 and batch.observations.shape == (400, 3, 3, 3)
    assert set(batch.symmetries.tolist()) == set(range(8))
    moved = 0
    for i in range(400):
        o, p, m = batch.observations[i], batch.policy_targets[i], batch.legal_masks[i]
        target_cell = int(p.argmax())
        mark_cells = np.flatnonzero(o[0].reshape(-1))
        assert mark_cells.tolist() == [target_cell]
        assert np.flatnonzero(~m).tolist() == [target_cell]
        np.testing.assert_array_equal(o[2], 1.0)
        # identical to applying the game's symmetry by hand
        k, j = int(batch.symmetries[i]), int(batch.indices[i])
        np.testing.assert_array_equal(o, TTT.transform_observation(obs[j], k))
        perm = TTT.action_permutation(k)
        assert target_cell == perm[j]
        moved += target_cell != j
    assert moved > 100  # the symmetries really moved things


def test_sample_cap_blocks_until_new_data() -> None:
    buf = ReplayBuffer(TTT, capacity_positions=100, max_samples_per_position=2.0, seed=0, min_positions=8)
    buf.add_game(*_game(5, 0.1))
    assert not buf.can_sample(4)  # fewer than min_positions
    buf.add_game(*_game(5, 0.2))
    assert buf.can_sample(4)
    assert not buf.can_sample(11)  # more than the window holds
    for _ in range(5):
        assert buf.can_sample(4)
        buf.sample(4)
    assert buf.samples_drawn == 20 == 2.0 * buf.positions_added
    assert not buf.can_sample(4) and not buf.can_sample(1)
    buf.add_game(*_game(3, 0.3))  # cap is now 26 samples
    assert buf.can_sample(4) and not buf.can_sample(7)
    assert buf.state()["samples_per_position"] == pytest.approx(20 / 13)


def test_storage_dtype_and_policy_lag() -> None:
    buf = ReplayBuffer(TTT, capacity_positions=10, seed=0, min_positions=1)
    assert buf._obs.dtype == np.float16
    state = TTT.initial_state().apply(4)
    o = state.observation()[None]
    buf.add_game(o, state.legal_mask()[None].copy(), np.full((1, 9), 1 / 8, np.float32), np.ones(1, np.float32), 3)
    buf.add_game(o, state.legal_mask()[None].copy(), np.full((1, 9), 1 / 8, np.float32), np.ones(1, np.float32), 5)
    batch = buf.sample(16)
    assert batch.observations.dtype == np.float32
    assert set(batch.weights_versions.tolist()) <= {3, 5}
    stats = buf.state(latest_version=7)
    assert stats["oldest_version"] == 3 and stats["newest_version"] == 5
    assert stats["policy_lag_mean"] == pytest.approx(3.0) and stats["policy_lag_max"] == 4
    assert buf.state()["policy_lag_mean"] == pytest.approx(1.0)
    exact = ReplayBuffer(TTT, 10, observation_dtype=np.float32)
    assert exact._obs.dtype == np.float32


def test_sampling_is_reproducible_and_validates() -> None:
    def make() -> ReplayBuffer:
        buf = ReplayBuffer(TTT, capacity_positions=50, seed=42, min_positions=1)
        buf.add_game(*_numbered(30))
        return buf

    a, b = make().sample(64), make().sample(64)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    buf = make()
    with pytest.raises(ValueError, match="observations"):
        buf.add_game(
            np.zeros((2, 3, 3, 2), np.float32),
            np.ones((2, 9), bool),
            np.zeros((2, 9), np.float32),
            np.zeros(2, np.float32),
            0,
        )
    with pytest.raises(ValueError, match="policy_targets"):
        buf.add_game(
            np.zeros((2, 3, 3, 3), np.float32),
            np.ones((2, 9), bool),
            np.zeros((2, 8), np.float32),
            np.zeros(2, np.float32),
            0,
        )
    with pytest.raises(ValueError, match="empty"):
        buf.add_game(
            np.zeros((0, 3, 3, 3), np.float32),
            np.ones((0, 9), bool),
            np.zeros((0, 9), np.float32),
            np.zeros(0, np.float32),
            0,
        )
    with pytest.raises(ValueError):
        ReplayBuffer(TTT, 0)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(TTT, 5).sample(1)


@pytest.mark.parametrize("name", ["tictactoe", "connect4", "go"])
def test_symmetries_match_the_game_api(name: str) -> None:
    """Every sample equals the stored position under the game's own symmetry functions."""
    try:
        game = games.make(name)
    except (ImportError, games.UnknownGameError) as err:
        pytest.skip(f"{name} not available: {err}")
    rng = np.random.default_rng(0)
    state, obs, masks, pols = game.initial_state(), [], [], []
    while not state.is_terminal() and len(obs) < 12:
        obs.append(state.observation())
        masks.append(state.legal_mask().copy())
        p = rng.random(game.num_actions).astype(np.float32) * masks[-1]
        pols.append(p / p.sum())
        state = state.apply(int(rng.choice(state.legal_actions())))
    obs, masks, pols = np.stack(obs), np.stack(masks), np.stack(pols)
    buf = ReplayBuffer(game, 100, seed=1, min_positions=1, max_samples_per_position=None)
    buf.add_game(obs, masks, pols, np.zeros(len(obs), np.float32), 0)
    batch = buf.sample(64)
    assert set(batch.symmetries.tolist()) == set(range(game.num_symmetries))
    for i in range(64):
        j, k = int(batch.indices[i]), int(batch.symmetries[i])
        perm = game.action_permutation(k)
        np.testing.assert_array_equal(batch.observations[i], game.transform_observation(obs[j], k))
        expected_policy = np.empty_like(pols[j])
        expected_policy[perm] = pols[j]
        expected_mask = np.empty_like(masks[j])
        expected_mask[perm] = masks[j]
        np.testing.assert_array_equal(batch.policy_targets[i], expected_policy)
        np.testing.assert_array_equal(batch.legal_masks[i], expected_mask)
