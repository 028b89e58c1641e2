"""Tests of selfplay.worker: batched self-play producing valid trajectories."""

from __future__ import annotations

import numpy as np
import pytest

import games
from selfplay.evaluators import uniform_evaluator
from selfplay.search import SearchConfig
from selfplay.trajectory import decode, decode_training, encode, training_arrays
from selfplay.worker import Worker, WorkerConfig

TTT = games.make("tictactoe")


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_plays_complete_games_that_decode_and_replay(algorithm):
    cfg = WorkerConfig(num_games=8, search=SearchConfig(num_simulations=16, algorithm=algorithm, temperature_moves=3))
    worker = Worker(TTT, uniform_evaluator, cfg, rng=np.random.default_rng(0), weights_version=5)
    trajs = worker.play(20)
    assert len(trajs) >= 20
    distinct = set()
    for traj in trajs:
        back = decode(encode(traj))
        assert back.weights_version == 5
        assert back.game_spec == TTT.spec()
        obs, masks, targets, values = training_arrays(back)
        assert len(obs) == len(traj.actions) >= 5
        np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-5)
        assert set(np.unique(values)) <= {-1.0, 0.0, 1.0}
        distinct.add(tuple(traj.actions.tolist()))
    assert len(distinct) > 5  # noise and temperature make the games differ
    stats = worker.stats
    assert stats.games_finished == len(trajs)
    assert stats.moves >= sum(len(t.actions) for t in trajs)
    assert stats.simulations == 16 * stats.moves
    assert 0 < stats.positions_evaluated <= stats.simulations + stats.moves
    assert stats.evaluate_calls > 0 and 0 <= stats.evaluate_seconds <= stats.total_seconds


def test_weights_version_switches_between_moves():
    calls = {"a": 0, "b": 0}

    def make(name):
        def evaluate(obs, masks):
            calls[name] += 1
            return uniform_evaluator(obs, masks)

        return evaluate

    cfg = WorkerConfig(num_games=4, search=SearchConfig(num_simulations=8))
    worker = Worker(TTT, make("a"), cfg, rng=np.random.default_rng(1), weights_version=1)
    first = worker.step()  # one move in each game with version 1
    assert first == [] and calls["a"] > 0
    worker.set_evaluator(make("b"), 2)
    assert worker.weights_version == 2
    before = calls["a"]
    trajs = worker.play(12)
    assert calls["a"] == before and calls["b"] > 0  # the old evaluator is never used again
    versions = [t.weights_version for t in trajs]
    # the games begun under version 1 record it; games begun later record 2
    assert versions[:4] == [1, 1, 1, 1] and set(versions[4:]) == {2}
    for t in trajs:
        decode(encode(t))


def test_noise_on_in_worker():
    seen = []

    class Spy:
        def __call__(self, obs, masks):
            return uniform_evaluator(obs, masks)

    import selfplay.worker as worker_module

    original = worker_module.search

    def spy_search(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append((kwargs.get("add_noise"), result))
        return result

    worker_module.search = spy_search
    try:
        worker = Worker(
            TTT, Spy(), WorkerConfig(num_games=2, search=SearchConfig(num_simulations=4)), rng=np.random.default_rng(0)
        )
        worker.step()
    finally:
        worker_module.search = original
    add_noise, result = seen[0]
    assert list(add_noise) == [True, True]  # every search is full without playout cap randomization
    for out in result.outputs:
        assert not np.allclose(out.search_prior, out.prior)  # noise was mixed into the root prior


def test_tree_reuse_in_worker():
    cfg = WorkerConfig(num_games=2, search=SearchConfig(num_simulations=30))
    worker = Worker(TTT, uniform_evaluator, cfg, rng=np.random.default_rng(0))
    worker.step()
    from selfplay.search import Tree

    assert all(isinstance(g.root, Tree) for g in worker._games)
    no_reuse = Worker(
        TTT,
        uniform_evaluator,
        WorkerConfig(num_games=2, search=cfg.search, tree_reuse=False),
        rng=np.random.default_rng(0),
    )
    no_reuse.step()
    assert not any(isinstance(g.root, Tree) for g in no_reuse._games)
    assert len(no_reuse.play(3)) >= 3


def test_connect4_games():
    c4 = games.make("connect4")
    cfg = WorkerConfig(num_games=16, search=SearchConfig(num_simulations=8, temperature_moves=4))
    worker = Worker(c4, uniform_evaluator, cfg, rng=np.random.default_rng(0))
    trajs = worker.play(4)
    for t in trajs:
        back = decode(encode(t))
        assert back.returns in {(1.0, -1.0), (-1.0, 1.0), (0.0, 0.0)}


def test_config_validation():
    with pytest.raises(ValueError, match="num_games"):
        WorkerConfig(num_games=0)
    with pytest.raises(ValueError, match="search"):
        WorkerConfig(search=None)  # type: ignore[arg-type]


def test_playout_cap_randomization_records_policies_only_for_full_searches():
    from selfplay.search.loop import search as real_search

    budgets_seen = []

    def spy(*args, **kwargs):
        budgets_seen.append((kwargs["simulations"], list(kwargs["add_noise"])))
        return real_search(*args, **kwargs)

    import selfplay.worker as worker_module

    cfg = WorkerConfig(num_games=16, search=SearchConfig(num_simulations=16), full_search_share=0.25,
                       cheap_simulations=3)
    worker = Worker(TTT, uniform_evaluator, cfg, rng=np.random.default_rng(0))
    worker_module.search = spy
    try:
        trajectories = worker.play(30)
    finally:
        worker_module.search = real_search
    for budgets, noise in budgets_seen:
        assert set(budgets) <= {16, 3}
        assert noise == [b == 16 for b in budgets]  # cheap searches get no noise
    recorded = [len(p) > 0 for t in trajectories for p in t.policies]
    share = sum(recorded) / len(recorded)
    assert 0.12 < share < 0.4  # about a quarter of the moves record a policy target
    stats = worker.stats
    assert stats.full_searches < stats.moves / 2
    for t in trajectories:
        back = decode(encode(t))  # empty policies survive the wire format
        assert [len(p) for p in back.policies] == [len(p) for p in t.policies]


def test_resignation_ends_a_game_for_the_mover_and_playthrough_games_play_on():
    from selfplay.resignation import ResignationSettings

    def hopeless(obs, masks):  # every position looks lost for X (plane 2 is all ones when X is to move)
        x_to_move = obs[:, 2].reshape(len(obs), -1).mean(axis=1) == 1.0
        return np.zeros(masks.shape, np.float32), np.where(x_to_move, -0.99, 0.99).astype(np.float32)

    settings = ResignationSettings(enabled=True, playthrough_share=0.5, min_moves=2)
    cfg = WorkerConfig(num_games=20, search=SearchConfig(num_simulations=2), resignation=settings)
    worker = Worker(TTT, hopeless, cfg, rng=np.random.default_rng(1))
    worker.set_resign_threshold(-0.9)
    games_ = worker.play(40)
    resigned = [t for t in games_ if t.termination == "resigned"]
    played = [t for t in games_ if t.playthrough]
    assert resigned and played
    for t in resigned:
        assert not t.playthrough and t.num_moves == 2 and t.resigned_by == 0  # X, at its first chance
        loser = t.resigned_by
        assert t.returns[loser] == -1.0 and t.returns[1 - loser] == 1.0 and t.resign_threshold == -0.9
        decode(encode(t))
    for t in played:
        assert t.termination == "terminal"
    assert worker.stats.games_resigned == len(resigned)
    with pytest.raises(ValueError, match="threshold"):
        worker.set_resign_threshold(-2.0)


def test_games_against_an_opponent_train_only_the_learners_moves():
    opponent_calls = []

    def opponent(obs, masks):
        opponent_calls.append(len(obs))
        return uniform_evaluator(obs, masks)

    cfg = WorkerConfig(num_games=8, search=SearchConfig(num_simulations=4), opponent_share=1.0,
                       opponent_config=SearchConfig(num_simulations=2))
    worker = Worker(TTT, uniform_evaluator, cfg, rng=np.random.default_rng(0))
    worker.set_opponent(opponent, "step-100")
    played = worker.play(24)
    games_ = [t for t in played if t.opponent is not None]
    assert len(games_) == len(played), "games not begun yet were drawn again against the opponent"
    assert opponent_calls and len(games_) >= 16
    sides = {t.trained_side for t in games_}
    assert sides == {0, 1}  # the learner takes both colours
    for t in games_:
        assert t.opponent == "step-100"
        for ply, policy in enumerate(t.policies):
            assert (len(policy) > 0) == (ply % 2 == t.trained_side)  # the opponent's plies record nothing
        back, (obs, masks, targets, values) = decode_training(encode(t), TTT)
        assert back.trained_side == t.trained_side and len(values) == t.num_training_positions
        assert (targets.sum(axis=1) > 0.99).all()  # every training row is one of the learner's moves
    worker.set_opponent(None)
    plain = worker.play(5)
    assert all(t.opponent is None and t.trained_side is None for t in plain[-2:])
    with pytest.raises(ValueError, match="name"):
        worker.set_opponent(opponent, "")


def test_games_in_progress_finish_against_the_opponent_they_began_with():
    """A league changes opponents between chunks: no game is lost, each is played against one opponent."""
    calls = {"a": 0, "b": 0}

    def make(name):
        def evaluate(obs, masks):
            calls[name] += len(obs)
            return uniform_evaluator(obs, masks)
        return evaluate

    cfg = WorkerConfig(num_games=8, search=SearchConfig(num_simulations=4), opponent_share=1.0,
                       opponent_config=SearchConfig(num_simulations=2))
    worker = Worker(TTT, uniform_evaluator, cfg, rng=np.random.default_rng(1))
    worker.set_opponent(make("a"), "snap-a")
    for _ in range(3):
        worker.step()
    in_progress = [g for g in worker._games if g.opponent == "snap-a" and g.actions]
    assert in_progress, "games against snap-a under way"
    worker.set_opponent(make("b"), "snap-b")
    assert worker.opponent_names == ("snap-a", "snap-b")
    assert all(any(g is h for h in worker._games) for g in in_progress), "kept, not replaced by fresh games"
    finished = worker.play(40)
    against_a = [t for t in finished if t.opponent == "snap-a"]
    assert len(against_a) >= len(in_progress)  # every game begun against snap-a was played to the end
    assert calls["b"] > 0 and any(t.opponent == "snap-b" for t in finished)
    assert worker.opponent_names == ("snap-b",), "snap-a is dropped once its last game ends"
