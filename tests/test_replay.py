"""Tests of learner.replay.ReplayBuffer."""

from __future__ import annotations

import numpy as np
import pytest

import games
from learner.replay import Batch, ReplayBuffer, ReplayConfigError, ReplayWindow

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


# ---------------------------------------------------------------- growing window
def _tagged(start: int, length: int, version: int = 0) -> tuple:
    """``length`` positions whose value targets are their ordinal ``start + i`` over 4096 (exact)."""
    obs = np.zeros((length, 3, 3, 3), np.float32)
    values = (start + np.arange(length, dtype=np.float32)) / 4096
    return obs, np.ones((length, 9), bool), np.full((length, 9), 1 / 9, np.float32), values, version


def test_growing_window_formula_at_known_points() -> None:
    # KataGo's defaults here: m = 10_000, alpha = 0.75, beta = 0.4. At N = 16 m: N^alpha = 8 m^alpha, so
    # window = m + 0.4 * 7 m^0.75 / (0.75 m^-0.25) = m + 0.4 * 7 * 1000 / 0.075 = 47_333.3
    default = ReplayWindow(kind="growing")
    assert (default.min_positions, default.exponent, default.growth) == (10_000, 0.75, 0.4)
    assert default.size(160_000, 10**6) == 47_333
    assert default.size(160_000, 40_000) == 40_000  # the capacity is the hard maximum
    assert default.size(0, 10**6) == default.size(9_999, 10**6) == default.size(10_000, 10**6) == 10_000
    assert default.size(0, 5_000) == 5_000
    # the slope at N = m is beta: 1000 more positions grow it by 0.4 * 1000 (less a little taper)
    assert 399 <= ReplayWindow(kind="growing", min_positions=10**6).size(10**6 + 1000, 10**7) - 10**6 <= 400
    # alpha = 1/2: m + beta * (sqrt(N) - sqrt(m)) / (0.5 / sqrt(m)); m = 100, beta = 0.4 -> 100 + 8 (sqrt(N) - 10)
    sqrt = ReplayWindow(kind="growing", min_positions=100, exponent=0.5, growth=0.4)
    assert [sqrt.size(n, 10**6) for n in (100, 400, 10_000)] == [100, 180, 820]
    # alpha = 1: linear, m + beta (N - m)
    linear = ReplayWindow(kind="growing", min_positions=1000, exponent=1.0, growth=0.4)
    assert linear.size(6_000, 10**6) == 3_000
    assert ReplayWindow(kind="growing", growth=0.0).size(10**9, 10**9) == 10_000  # no growth: stays at m
    # it only grows, and never faster than beta per position
    sizes = [default.size(n, 10**6) for n in range(0, 2_000_000, 10_000)]
    assert sizes == sorted(sizes) and all(b - a <= 0.4 * 10_000 for a, b in zip(sizes, sizes[1:], strict=False))
    assert ReplayWindow().size(123, 500) == 500  # "fixed": everything stored
    for bad, field in (
        (dict(kind="sliding"), "kind"),
        (dict(min_positions=0), "min_positions"),
        (dict(exponent=0.0), "exponent"),
        (dict(exponent=1.5), "exponent"),
        (dict(growth=-0.1), "growth"),
        (dict(growth=float("nan")), "growth"),
    ):
        with pytest.raises(ReplayConfigError, match=f"ReplayWindow.{field}"):
            ReplayWindow(**bad)
    with pytest.raises(ReplayConfigError, match="ReplayWindow"):
        ReplayBuffer(TTT, 10, window="growing")  # type: ignore[arg-type]


def test_sampling_never_leaves_the_growing_window() -> None:
    # linear for easy numbers: window = 100 + 0.5 (N - 100), capacity 1000
    window = ReplayWindow(kind="growing", min_positions=100, exponent=1.0, growth=0.5)
    buf = ReplayBuffer(TTT, 1000, seed=0, min_positions=150, max_samples_per_position=None, window=window)
    buf.add_game(*_tagged(0, 80, version=1))
    assert buf.window_size == 80 and not buf.can_sample(1)  # fewer than m: all of it, but < min_positions
    buf.add_game(*_tagged(80, 220, version=2))  # N = 300: window 200 of 300 stored
    assert buf.window_size == 200 and buf.state()["window"] == 200 and buf.state()["size"] == 300
    assert buf.can_sample(200) and not buf.can_sample(201)
    drawn = np.round(buf.sample(5000).value_targets * 4096).astype(int)
    assert drawn.min() == 100 and drawn.max() == 299  # the newest 200, all of them reached
    assert len(np.unique(drawn)) > 190
    # past the capacity the ring wraps: N = 1500, window min(100 + 700, 1000) = 800 of 1000 stored
    for start in range(300, 1500, 150):
        buf.add_game(*_tagged(start, 150, version=3 + start // 300))
    assert buf.size == 1000 and buf.window_size == 800
    batch = buf.sample(20_000)
    drawn = np.round(batch.value_targets * 4096).astype(int)
    assert drawn.min() == 700 and drawn.max() == 1499
    counts = np.bincount(drawn - 700, minlength=800)
    assert counts.min() > 0 and np.all(np.abs(counts - 25) < 25)  # uniform over the window (25 each)
    assert set(np.round(buf._values[batch.indices] * 4096).astype(int)) == set(drawn)
    # versions and lag are over the window: positions 700..1499 were played by versions 5..7
    state = buf.state(latest_version=10)
    assert state["oldest_version"] == 5 and state["newest_version"] == 7 and state["policy_lag_max"] == 5
    assert set(buf._versions[buf.window_slots()].tolist()) == {5, 6, 7}
    # the samples-per-position cap counts every position added, as before
    capped = ReplayBuffer(TTT, 1000, seed=0, min_positions=1, max_samples_per_position=1.0, window=window)
    capped.add_game(*_tagged(0, 300))
    assert capped.window_size == 200 and capped.can_sample(200)
    capped.sample(250)
    assert capped.can_sample(50) and not capped.can_sample(51)


def test_a_fixed_window_samples_as_before() -> None:
    buf = ReplayBuffer(TTT, 100, seed=7, min_positions=1)
    buf.add_game(*_tagged(0, 60))
    assert buf.window.kind == "fixed" and buf.window_size == buf.size == 60 and buf.state()["window"] == 60
    np.testing.assert_array_equal(buf.sample(50).indices, np.random.default_rng(7).integers(0, 60, 50))


# ------------------------------------------------------------------ final-area targets (Go)
def _walls_targets(**options):
    from go_games import walls_trajectory

    from selfplay.trajectory import training_targets

    traj = walls_trajectory(**options)
    return traj.game(), training_targets(traj)


def _add(buf: ReplayBuffer, targets, version: int = 0) -> None:
    buf.add_game(
        *targets[:4], version,
        ownership_targets=targets.ownership_targets, score_targets=targets.score_targets, area_mask=targets.area_mask,
    )


def test_ownership_targets_move_with_the_observation_under_every_symmetry() -> None:
    game, targets = _walls_targets()
    buf = ReplayBuffer(game, capacity_positions=100, seed=0, min_positions=1, max_samples_per_position=None)
    assert buf.has_area_targets
    _add(buf, targets)
    batch = buf.sample(600, np.random.default_rng(3))
    assert batch.ownership_targets.shape == (600, 5, 5) and batch.ownership_targets.dtype == np.float32
    assert batch.score_targets.shape == (600,) and batch.area_mask.all()
    assert set(batch.symmetries.tolist()) == set(range(8))
    moved = 0
    for i in range(600):
        k, j = int(batch.symmetries[i]), int(batch.indices[i])
        own = batch.ownership_targets[i]
        # the same symmetry as the observation's planes
        np.testing.assert_array_equal(own, game.transform_observation(targets.ownership_targets[j][None], k)[0])
        # and as the policy's: the owner of point a is now the owner of point perm[a]
        perm = game.action_permutation(k)[:25]
        np.testing.assert_array_equal(own.reshape(-1)[perm], targets.ownership_targets[j].reshape(-1))
        # the mover's stones stay the mover's points
        obs = batch.observations[i]
        assert (own[obs[0] == 1] == 1).all() and (own[obs[1] == 1] == -1).all()
        assert batch.score_targets[i] == targets.score_targets[j]  # a score has no orientation
        moved += not np.array_equal(own, targets.ownership_targets[j])
    assert moved > 100  # the walls turn from columns into rows


def test_positions_without_a_final_area_are_masked_out() -> None:
    from go_games import resigned_trajectory

    from selfplay.trajectory import training_targets

    game, finished = _walls_targets()
    resigned = training_targets(resigned_trajectory(6))
    buf = ReplayBuffer(game, capacity_positions=100, seed=0, min_positions=1, max_samples_per_position=None)
    _add(buf, finished, version=1)
    _add(buf, resigned, version=2)
    buf.add_game(*finished[:4], 3)  # no final-area targets given: none stored
    batch = buf.sample(400, np.random.default_rng(0))
    versions = batch.weights_versions
    np.testing.assert_array_equal(batch.area_mask, versions == 1)
    assert (batch.ownership_targets[versions != 1] == 0).all() and (batch.score_targets[versions != 1] == 0).all()
    assert np.abs(batch.ownership_targets[versions == 1]).sum(axis=(1, 2)).min() == 20  # 10 + 10 owned points


def test_final_area_targets_are_checked_and_other_games_have_none() -> None:
    game, targets = _walls_targets()
    buf = ReplayBuffer(game, capacity_positions=100, seed=0, min_positions=1)
    basic = (*targets[:4], 0)
    with pytest.raises(ValueError, match="together"):
        buf.add_game(*basic, ownership_targets=targets.ownership_targets)
    with pytest.raises(ValueError, match=r"ownership_targets must have shape \[12, 5, 5\]"):
        buf.add_game(*basic, ownership_targets=targets.ownership_targets[:, :4], score_targets=targets.score_targets)
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        buf.add_game(*basic, ownership_targets=2 * targets.ownership_targets, score_targets=targets.score_targets)
    with pytest.raises(ValueError, match="area_mask must be bool"):
        buf.add_game(*basic, ownership_targets=targets.ownership_targets, score_targets=targets.score_targets,
                     area_mask=np.ones(12))
    assert buf.size == 0  # nothing half-added
    ttt = ReplayBuffer(TTT, capacity_positions=100, seed=0, min_positions=1)
    assert not ttt.has_area_targets
    ttt.add_game(*_game(5, 0.5))
    batch = ttt.sample(4)
    assert batch.ownership_targets is None and batch.score_targets is None and batch.area_mask is None
    with pytest.raises(ValueError, match="tictactoe has no final area"):
        ttt.add_game(*_game(5, 0.5)[:4], 0, ownership_targets=np.zeros((5, 3, 3)), score_targets=np.zeros(5))


def test_rich_feature_planes_are_stored_and_transformed() -> None:
    game, targets = _walls_targets(features="rich")
    assert game.observation_shape == (18, 5, 5)
    for dtype, rtol in ((np.float32, 0.0), (np.float16, 5e-4)):  # float16 rounds the komi plane (komi / 15)
        buf = ReplayBuffer(game, capacity_positions=50, seed=0, min_positions=1, max_samples_per_position=None,
                           observation_dtype=dtype)
        _add(buf, targets)
        batch = buf.sample(64, np.random.default_rng(1))
        assert batch.observations.shape == (64, 18, 5, 5)
        for i in range(64):
            k, j = int(batch.symmetries[i]), int(batch.indices[i])
            want = game.transform_observation(targets.observations[j], k)
            np.testing.assert_allclose(batch.observations[i], want, rtol=rtol, atol=0)


def test_the_newest_positions_keep_their_area_targets_when_a_game_overflows_the_capacity() -> None:
    game, targets = _walls_targets()
    buf = ReplayBuffer(game, capacity_positions=5, seed=0, min_positions=1, max_samples_per_position=None)
    _add(buf, targets)
    assert buf.size == 5
    batch = buf.sample(50, np.random.default_rng(0))
    for i in range(50):  # slot j holds ply 7 + j, the last 5 of 12
        k, ply = int(batch.symmetries[i]), 7 + int(batch.indices[i])
        np.testing.assert_array_equal(batch.observations[i], game.transform_observation(targets.observations[ply], k))
        own = game.transform_observation(targets.ownership_targets[ply][None], k)[0]
        np.testing.assert_array_equal(batch.ownership_targets[i], own)
        assert batch.score_targets[i] == targets.score_targets[ply]
