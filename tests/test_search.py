"""Tests of the search and its formulas (tic-tac-toe, Connect Four, a bandit game)."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest

import games
from games.base import Game, State
from selfplay.evaluators import RolloutEvaluator, uniform_evaluator
from selfplay.search import SearchConfig, Tree, formulas, search

TTT = games.make("tictactoe")


def ttt(moves: str) -> State:
    return TTT.initial_state().apply_all(moves.split()) if moves else TTT.initial_state()


@functools.cache
def _minimax(state: State) -> float:
    best = -1.0
    for a in state.legal_actions():
        child = state.apply(a)
        v = child.returns()[state.to_play] if child.is_terminal() else -_minimax(child)
        best = max(best, v)
    return best


def minimax(state: State) -> float:
    """Exact value of a tic-tac-toe position for the player to move."""
    return _minimax(state)


# =========================================================================== formulas
# Scalar reference formulas, written here from the papers independently of the library,
# check the library's batched versions (selfplay.search.formulas).


def ref_puct_scores(q, prior, n, parent_n, c_base, c_init, fpu):
    """AlphaZero's PUCT for one node, child by child."""
    c = math.log((1 + parent_n + c_base) / c_base) + c_init
    scores = []
    for qi, pi, ni in zip(q, prior, n, strict=True):
        scores.append((qi if ni > 0 else fpu) + c * pi * math.sqrt(parent_n) / (1 + ni))
    return scores


def ref_improved_policy(logits, q, n, raw_value, c_visit, c_scale):
    """Gumbel MuZero's softmax(logits + sigma(completed q)) for one node."""
    prior = np.exp(logits - logits.max())
    prior /= prior.sum()
    visited = n > 0
    if visited.any():
        weighted = (prior * q)[visited].sum() / prior[visited].sum()
        v_mix = (raw_value + n.sum() * weighted) / (1 + n.sum())
    else:
        v_mix = raw_value
    completed = np.where(visited, q, v_mix)
    z = logits + (c_visit + n.max()) * c_scale * (completed + 1) / 2
    e = np.exp(z - z.max())
    return e / e.sum()


def one_segment(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(k, dtype=np.int64), np.zeros(1, dtype=np.int64)


def test_puct_coefficient_paper_values():
    def c(n: float) -> float:
        return float(formulas.puct_coefficient(np.float64(n), 19652, 1.25) / math.sqrt(n))

    assert c(1) == pytest.approx(math.log((1 + 1 + 19652) / 19652) + 1.25)
    assert c(19652) == pytest.approx(math.log((1 + 2 * 19652) / 19652) + 1.25)
    assert c(1e6) > c(10)  # grows with visits
    assert formulas.puct_coefficient(np.float64(0), 19652, 1.25) == 0.0


def test_puct_scores_match_the_reference():
    q = np.array([0.5, 0.0, -0.2])
    prior = np.array([0.2, 0.5, 0.3])
    n = np.array([3.0, 0.0, 1.0])
    coefficient = formulas.puct_coefficient(np.float64(5.0), 19652, 1.25)
    s = formulas.puct_scores(q, prior, n, coefficient, np.float64(-0.1))
    np.testing.assert_allclose(s, ref_puct_scores(q, prior, n, 5.0, 19652, 1.25, -0.1))


def test_batched_puct_selection_equals_the_scalar_scores():
    """The search's selection over many nodes at once picks each node's argmax of the scalar PUCT score."""
    from selfplay.search.formulas import segments
    from selfplay.search.selection import child_stats, puct_select

    cfg = SearchConfig(num_simulations=200)
    states = [ttt(""), ttt("b2"), ttt("a1 b2"), games.make("tictactoe").initial_state().apply_all(["c3"])]
    res = search(states, uniform_evaluator, cfg, np.random.default_rng(0))
    arena = res._arena
    nodes = np.flatnonzero((arena.ecount[: arena.num_nodes] > 0) & (arena.n[: arena.num_nodes] > 1))
    assert len(nodes) > 20
    idx, seg, offs = segments(arena.estart[nodes], arena.ecount[nodes])
    chosen = puct_select(arena, nodes, idx, seg, offs, arena.prior[idx], cfg)
    n_all, q_all, _ = child_stats(arena, idx, arena.sgn[nodes][seg])
    for i, node in enumerate(nodes.tolist()):
        lo, hi = int(offs[i]), int(offs[i]) + int(arena.ecount[node])
        parent_q = arena.sgn[node] * arena.w0[node] / arena.n[node]
        prior, visits = arena.prior[idx[lo:hi]], n_all[lo:hi]
        visited_mass = prior[visits > 0].sum()  # KataGo's first play urgency
        scores = ref_puct_scores(q_all[lo:hi], prior, visits, arena.n[node], cfg.c_base, cfg.c_init,
                                 parent_q - cfg.fpu_reduction * math.sqrt(visited_mass))
        assert chosen[i] == idx[lo + int(np.argmax(scores))]


def test_dirichlet_alpha_and_noise_mixing():
    assert formulas.dirichlet_alpha(40) == pytest.approx(0.25)
    assert formulas.dirichlet_alpha(40, alpha=0.03) == 0.03
    rng = np.random.default_rng(0)
    prior = np.array([0.7, 0.2, 0.1, 0.5, 0.5])
    seg = np.array([0, 0, 0, 1, 1])
    offs = np.array([0, 3])
    noise = formulas.segment_dirichlet(rng, np.array([0.3, 0.3]), seg, offs)
    np.testing.assert_allclose(np.add.reduceat(noise, offs), [1.0, 1.0])
    assert (noise >= 0).all()
    mixed = formulas.mix_noise(prior, noise, 0.25)
    np.testing.assert_allclose(np.add.reduceat(mixed, offs), [1.0, 1.0])
    np.testing.assert_allclose(mixed, 0.75 * prior + 0.25 * noise)
    # an underflowing draw still gives a distribution
    tiny = formulas.segment_dirichlet(rng, np.array([1e-300]), *one_segment(5))
    assert tiny.sum() == pytest.approx(1.0)


def test_root_noise_only_on_legal_moves_and_sums_to_one():
    state = ttt("b2 a1 c3")
    cfg = SearchConfig(num_simulations=8, add_noise=True)
    out = search([state], uniform_evaluator, cfg, np.random.default_rng(3))[0]
    legal = state.legal_mask()
    assert out.search_prior.sum() == pytest.approx(1.0, abs=1e-5)
    assert (out.search_prior[~legal] == 0).all()
    assert not np.allclose(out.search_prior[legal], out.prior[legal])


def test_visit_policy_temperature():
    v = np.array([1.0, 3.0, 0.0, 3.0])
    np.testing.assert_array_equal(formulas.visit_policy(v, 0), [0, 1, 0, 0])
    np.testing.assert_allclose(formulas.visit_policy(v, 1), v / 7)
    np.testing.assert_allclose(formulas.visit_policy(v, 0.5), v**2 / (v**2).sum())
    rng = np.random.default_rng(0)
    assert formulas.sample_action(v, 0, rng) == 1
    draws = [formulas.sample_action(v, 1, rng) for _ in range(2000)]
    assert 2 not in draws
    assert abs(draws.count(0) / 2000 - 1 / 7) < 0.05


def test_sigma_and_completed_q_match_the_reference():
    q = np.array([0.2, 0.8, 0.5])
    n = np.array([1.0, 4.0, 0.0])
    seg, offs = one_segment(3)
    np.testing.assert_allclose(formulas.sigma(q, n, seg, offs, 50, 1.0), 54 * q)
    np.testing.assert_allclose(formulas.sigma(q, n, seg, offs, 50, 0.1), 5.4 * q)
    prior = np.array([0.5, 0.25, 0.25])
    completed, sum_n = formulas.completed_q(q, n, prior, np.array([0.1]), seg, offs)
    weighted = (0.5 * 0.2 + 0.25 * 0.8) / 0.75
    np.testing.assert_allclose(completed, [0.2, 0.8, (0.1 + 5 * weighted) / 6])
    assert sum_n.tolist() == [5.0]
    unvisited, _ = formulas.completed_q(q, np.zeros(3), prior, np.array([0.1]), seg, offs)
    np.testing.assert_allclose(unvisited, [0.1, 0.1, 0.1])  # v_mix is the network value alone
    np.testing.assert_allclose(formulas.normalized_q(np.array([-1.0, 0.0, 1.0]), seg, offs, rescale=False),
                               [0, 0.5, 1])
    np.testing.assert_allclose(formulas.normalized_q(np.array([0.2, 0.4]), *one_segment(2), rescale=True), [0, 1])


@pytest.mark.parametrize("m,n", [(16, 64), (16, 200), (4, 10), (2, 2), (1, 5), (7, 50), (16, 8)])
def test_sequential_halving_schedule_uses_budget(m, n):
    seq = formulas.sequential_halving_schedule(m, n)
    assert len(seq) == n
    # replay it: each entry is a visit count some action must have
    visits = [0] * m
    for target in seq:
        i = visits.index(target)  # such an action exists
        visits[i] += 1
    assert sum(visits) == n
    if m >= 2 and n >= m:
        assert sorted(seq[:m]) == [0] * m  # the first phase visits every considered action once


def test_segment_helpers_match_per_node():
    rng = np.random.default_rng(0)
    counts = np.array([3, 1, 5])
    starts = np.array([10, 0, 4])
    idx, seg, offs = formulas.segments(starts, counts)
    np.testing.assert_array_equal(idx, [10, 11, 12, 0, 4, 5, 6, 7, 8])
    vals = rng.normal(size=len(idx))
    pos = formulas.segment_argmax(vals, seg, offs)
    for i in range(3):
        lo = offs[i]
        assert pos[i] == lo + np.argmax(vals[lo : lo + counts[i]])
    sm = formulas.segment_softmax(vals, seg, offs)
    for i in range(3):
        lo = offs[i]
        part = vals[lo : lo + counts[i]]
        np.testing.assert_allclose(sm[lo : lo + counts[i]], np.exp(part) / np.exp(part).sum())


def test_config_validation_names_field():
    for kwargs, field in [
        ({"num_simulations": 0}, "num_simulations"),
        ({"algorithm": "mcts"}, "algorithm"),
        ({"dirichlet_fraction": 1.5}, "dirichlet_fraction"),
        ({"c_init": float("nan")}, "c_init"),
        ({"gumbel_num_considered": 0}, "gumbel_num_considered"),
        ({"temperature": -1.0}, "temperature"),
        ({"fpu_absolute": 2.0}, "fpu_absolute"),
    ]:
        with pytest.raises(ValueError, match=field):
            SearchConfig(**kwargs)
    with pytest.raises(TypeError):
        SearchConfig(64)  # keyword-only
    cfg = SearchConfig()
    assert (cfg.c_base, cfg.c_init, cfg.dirichlet_fraction, cfg.add_noise) == (19652.0, 1.25, 0.25, False)


# =========================================================================== PUCT on tic-tac-toe


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_finds_win_in_one(algorithm):
    # X: a3 b3 (top row), O: a2 b2 -> X wins with c3 (action 2)
    state = ttt("a3 a2 b3 b2")
    cfg = SearchConfig(num_simulations=64, algorithm=algorithm)
    out = search([state], uniform_evaluator, cfg, np.random.default_rng(0))[0]
    assert out.action == 2
    assert out.q_values[2] == 1.0  # exact terminal value


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_blocks_loss_in_one(algorithm):
    # X: a3 b3, O: b2 -> O must block at c3 (action 2)
    state = ttt("a3 b2 b3")
    assert state.to_play == 1
    cfg = SearchConfig(num_simulations=200, algorithm=algorithm)
    out = search([state], uniform_evaluator, cfg, np.random.default_rng(0))[0]
    assert out.action == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "moves",
    [
        "a3 a2 b3 b2",  # won: the mover (X) wins
        "b2 a1 c3 a3",  # X to move, must block a2
        "b2",  # drawn
        "a3 b2 b3 c3 a1",  # O must block a2; drawn
        "b2 b1 a1 c3 a3",  # X has a double threat: lost for O
    ],
)
def test_root_value_converges_to_minimax(moves):
    state = ttt(moves)
    exact = minimax(state)
    cfg = SearchConfig(num_simulations=3000)
    out = search([state], uniform_evaluator, cfg, np.random.default_rng(0))[0]
    assert abs(out.root_value - exact) < 0.25, (moves, exact, out.root_value)
    # the most visited move is a minimax-optimal move
    child = state.apply(out.action)
    child_value = child.returns()[state.to_play] if child.is_terminal() else -minimax(child)
    assert child_value == exact


def test_minimax_positions_cover_win_draw_loss():
    values = {minimax(ttt(m)) for m in ["a3 a2 b3 b2", "b2", "b2 b1 a1 c3 a3"]}
    assert values == {1.0, 0.0, -1.0}


def test_terminal_values_are_exact_and_not_evaluated():
    calls = []

    def evaluator(obs, masks):
        calls.append(len(obs))
        assert len(obs) > 0
        # a lying network: every non-terminal position is "won" for the mover
        return np.zeros(masks.shape, np.float32), np.ones(len(obs), np.float32)

    state = ttt("a3 a2 b3 b2 a1 c1")  # X to move: c3 wins; c2 and b1 remain
    out = search([state], evaluator, SearchConfig(num_simulations=50), np.random.default_rng(0))[0]
    assert out.q_values[2] == 1.0
    assert all(c > 0 for c in calls)
    # a search where every root move ends the game never calls the network after the root
    calls.clear()
    last = ttt("a1 a2 b2 c1 a3 c3 c2 b1")  # X to move, one empty cell (b3): a draw
    out = search([last], evaluator, SearchConfig(num_simulations=10), np.random.default_rng(0))[0]
    assert calls == [1]
    assert out.action == 1 and out.q_values[1] == 0.0 and out.root_value == pytest.approx(10 / 11 * 0 + 1 / 11)


def test_noise_off_by_default_and_deterministic():
    state = ttt("")
    cfg = SearchConfig(num_simulations=32)
    a = search([state], uniform_evaluator, cfg, np.random.default_rng(0))[0]
    b = search([state], uniform_evaluator, cfg, np.random.default_rng(99))[0]
    np.testing.assert_array_equal(a.visit_counts, b.visit_counts)
    np.testing.assert_array_equal(a.search_prior, a.prior)
    noisy = search([state], uniform_evaluator, cfg, np.random.default_rng(0), add_noise=True)[0]
    assert not np.allclose(noisy.search_prior, noisy.prior)
    np.testing.assert_allclose(noisy.prior, a.prior)  # the raw prior is reported unchanged


def test_output_record_shapes():
    state = ttt("b2")
    out = search([state], uniform_evaluator, SearchConfig(num_simulations=20), np.random.default_rng(0))[0]
    legal = state.legal_mask()
    assert out.visit_counts.shape == (9,) and out.visit_counts.dtype == np.int64
    assert out.visit_counts.sum() == 20 and out.visit_counts[4] == 0
    assert out.policy_target.dtype == np.float32
    assert out.policy_target.sum() == pytest.approx(1.0) and (out.policy_target[~legal] == 0).all()
    np.testing.assert_allclose(out.policy_target, out.visit_counts / 20)
    np.testing.assert_allclose(out.prior[legal], 1 / 8)
    assert out.network_value == 0.0
    assert np.isnan(out.q_values[4])
    assert out.legal_policy.shape == (8,)
    assert -1 <= out.root_value <= 1


def test_tree_reuse_keeps_child_visits():
    state = ttt("")
    cfg = SearchConfig(num_simulations=100)
    res = search([state], uniform_evaluator, cfg, np.random.default_rng(0))
    out = res[0]
    tree = res.subtree(0)
    assert isinstance(tree, Tree)
    assert tree.state == state.apply(out.action)
    assert tree.root_visits == out.visit_counts[out.action]
    # grandchildren visits survive too
    assert tree.root_child_visits().sum() == tree.root_visits - 1
    res2 = search([tree], uniform_evaluator, cfg, np.random.default_rng(0))
    assert res2[0].visit_counts.sum() == tree.root_visits - 1 + 100
    # the reused tree is a standalone copy: searching it again from scratch is consistent
    fresh = search([tree.state], uniform_evaluator, cfg, np.random.default_rng(0))
    assert fresh[0].visit_counts.sum() == 100
    # reused tree with noise: new noise at the new root
    n1 = search([tree], uniform_evaluator, cfg, np.random.default_rng(1), add_noise=True)[0]
    n2 = search([tree], uniform_evaluator, cfg, np.random.default_rng(2), add_noise=True)[0]
    assert not np.allclose(n1.search_prior, n2.search_prior)
    np.testing.assert_allclose(n1.prior, n2.prior)


def test_subtree_of_unvisited_or_terminal_child_is_none():
    state = ttt("a3 a2 b3 b2")
    res = search([state], uniform_evaluator, SearchConfig(num_simulations=3), np.random.default_rng(0))
    visits = res[0].visit_counts
    unvisited = [a for a in state.legal_actions() if visits[a] == 0]
    assert res.subtree(0, unvisited[0]) is None
    res = search([state], uniform_evaluator, SearchConfig(num_simulations=30), np.random.default_rng(0))
    assert res[0].action == 2 and res.subtree(0) is None  # the win ends the game
    with pytest.raises(ValueError):
        res.subtree(0, 0)  # occupied cell


def test_batch_equals_single_searches():
    states = [ttt(""), ttt("b2"), ttt("a3 a2 b3 b2"), ttt("b2 a1 c3 a3"), ttt("a1 c3")]
    cfg = SearchConfig(num_simulations=40)
    batch = search(states, uniform_evaluator, cfg, np.random.default_rng(0))
    assert batch.num_evaluate_calls <= 41  # one root batch + at most one call per simulation
    for s, out in zip(states, batch.outputs, strict=True):
        single = search([s], uniform_evaluator, cfg, np.random.default_rng(0))[0]
        np.testing.assert_array_equal(single.visit_counts, out.visit_counts)
        assert single.root_value == pytest.approx(out.root_value)
        assert single.action == out.action


def test_evaluate_called_once_per_step_never_empty():
    sizes = []

    def evaluator(obs, masks):
        sizes.append(len(obs))
        assert obs.shape[1:] == TTT.observation_shape and masks.dtype == bool
        return uniform_evaluator(obs, masks)

    states = [ttt("") for _ in range(7)] + [ttt("a3 a2 b3 b2")]
    res = search(states, evaluator, SearchConfig(num_simulations=30), np.random.default_rng(0))
    assert len(sizes) == res.num_evaluate_calls <= 31
    assert min(sizes) >= 1 and sizes[0] == 8
    assert res.num_evaluations == sum(sizes)


def test_rejects_terminal_roots_and_bad_evaluator():
    with pytest.raises(ValueError):
        search([ttt("a3 a2 b3 b2 c3")], uniform_evaluator, SearchConfig(), np.random.default_rng(0))

    def bad(obs, masks):
        return np.zeros((len(obs), 3), np.float32), np.zeros(len(obs), np.float32)

    with pytest.raises(ValueError):
        search([ttt("")], bad, SearchConfig(), np.random.default_rng(0))

    def nan(obs, masks):
        return np.zeros(masks.shape, np.float32), np.full(len(obs), np.nan, np.float32)

    with pytest.raises(ValueError):
        search([ttt("")], nan, SearchConfig(), np.random.default_rng(0))
    assert len(search([], uniform_evaluator, SearchConfig(), np.random.default_rng(0))) == 0


@pytest.mark.slow
def test_temperature_schedule():
    state = ttt("")
    cfg = SearchConfig(num_simulations=50, temperature_moves=2)
    greedy = search([state], uniform_evaluator, cfg, np.random.default_rng(0))[0]
    assert greedy.visit_counts[greedy.action] == greedy.visit_counts.max()
    actions = {
        search([state], uniform_evaluator, cfg, np.random.default_rng(seed), move_numbers=[0])[0].action
        for seed in range(30)
    }
    assert len(actions) > 1  # sampled in the opening
    late = {
        search([state], uniform_evaluator, cfg, np.random.default_rng(seed), move_numbers=[2])[0].action
        for seed in range(5)
    }
    assert late == {greedy.action}


def test_rollout_evaluator_finds_win():
    state = ttt("a3 b2 b3")  # O must block at c3
    ev = RolloutEvaluator(TTT, np.random.default_rng(0), rollouts=2)
    out = search([state], ev, SearchConfig(num_simulations=100), np.random.default_rng(0))[0]
    assert out.action == 2


def test_fpu_absolute():
    state = ttt("")
    out = search(
        [state], uniform_evaluator, SearchConfig(num_simulations=30, fpu_absolute=-1.0), np.random.default_rng(0)
    )[0]
    assert out.visit_counts.sum() == 30


# =========================================================================== Gumbel


class Bandit(Game):
    """One move among ``arms`` ends the game; arm ``i`` gives the mover ``payoffs[i]``."""

    name = "bandit"
    observation_shape = (1, 1, 1)

    def __init__(self, payoffs: tuple[float, ...]) -> None:
        self.payoffs = payoffs
        self.num_actions = len(payoffs)

    def initial_state(self) -> BanditState:
        return BanditState(self, None)

    def options(self) -> dict[str, Any]:
        return {"payoffs": self.payoffs}


class BanditState(State):
    def __init__(self, game: Bandit, arm: int | None) -> None:
        self.game = game
        self.arm = arm

    @property
    def to_play(self) -> int:
        return 0 if self.arm is None else 1

    def legal_mask(self) -> np.ndarray:
        return np.full(self.game.num_actions, self.arm is None)

    def apply_unchecked(self, action: int) -> BanditState:
        return BanditState(self.game, action)

    def is_terminal(self) -> bool:
        return self.arm is not None

    def returns(self) -> tuple[float, float]:
        r = self.game.payoffs[self.arm]
        return (r, -r)

    def observation(self) -> np.ndarray:
        return np.zeros((1, 1, 1), np.float32)

    def action_to_text(self, action: int) -> str:
        return str(action)

    def parse_action(self, text: str) -> int:
        return int(text)


def _biased(logits_row):
    def evaluator(obs, masks):
        return np.tile(np.asarray(logits_row, np.float32), (len(obs), 1)), np.zeros(len(obs), np.float32)

    return evaluator


def test_gumbel_bandit_improves_policy_and_picks_best_arm():
    game = Bandit((0.0, -1.0, 1.0, 0.0, -1.0, 0.0))
    logits = [2.0, 1.0, 0.0, 0.5, 0.0, 0.0]  # the prior prefers arm 0; arm 2 is best
    cfg = SearchConfig(num_simulations=16, algorithm="gumbel", gumbel_num_considered=6)
    for seed in range(5):
        out = search([game.initial_state()], _biased(logits), cfg, np.random.default_rng(seed), add_noise=True)[0]
        assert out.policy_target[2] > out.prior[2]
        assert out.policy_target.argmax() == 2
        assert out.action == 2
        assert out.policy_target.sum() == pytest.approx(1.0, abs=1e-6)
    # without noise too, and the improved policy matches the pure function
    out = search([game.initial_state()], _biased(logits), cfg, np.random.default_rng(0))[0]
    assert out.action == 2
    q = np.nan_to_num(out.q_values.astype(np.float64))
    expected = ref_improved_policy(np.asarray(logits, np.float64), q, out.visit_counts.astype(np.float64), 0.0,
                                   c_visit=50, c_scale=1.0)
    np.testing.assert_allclose(out.policy_target, expected, atol=1e-6)


def test_gumbel_small_budget_visits_only_considered():
    game = Bandit(tuple([0.0] * 10))
    cfg = SearchConfig(num_simulations=4, algorithm="gumbel", gumbel_num_considered=4)
    out = search([game.initial_state()], uniform_evaluator, cfg, np.random.default_rng(0), add_noise=True)[0]
    assert out.visit_counts.sum() == 4 and (out.visit_counts <= 1).all()
    assert out.visit_counts[out.action] == 1


def test_gumbel_on_connect4_runs():
    c4 = games.make("connect4")
    cfg = SearchConfig(num_simulations=32, algorithm="gumbel")
    res = search([c4.initial_state()] * 3, uniform_evaluator, cfg, np.random.default_rng(0), add_noise=True)
    for out in res.outputs:
        assert out.visit_counts.sum() == 32
        assert out.policy_target.sum() == pytest.approx(1.0, abs=1e-5)
    tree = res.subtree(0)
    res2 = search([tree], uniform_evaluator, cfg, np.random.default_rng(0), add_noise=True)
    assert res2[0].visit_counts.sum() == tree.root_visits - 1 + 32


def test_connect4_puct_wins_in_one():
    c4 = games.make("connect4")
    # player 0 stacks three in column 0; player 1 plays column 6
    state = c4.initial_state().apply_all([0, 6, 0, 6, 0, 5])
    out = search([state], uniform_evaluator, SearchConfig(num_simulations=64), np.random.default_rng(0))[0]
    assert out.action == 0


def _check_tree(tree: Tree) -> None:
    """Structural invariants of a kept tree."""
    starts = np.cumsum(tree.node_edge_count) - tree.node_edge_count
    assert len(tree.edge_action) == tree.node_edge_count.sum()
    seen = {0}
    for i in range(tree.num_nodes):
        k = int(tree.node_edge_count[i])
        child = tree.edge_child[starts[i] : starts[i] + k]
        if tree.node_terminal[i]:
            assert k == 0 and tree.states[i].is_terminal()
            continue
        np.testing.assert_array_equal(tree.edge_action[starts[i] : starts[i] + k], tree.states[i].legal_actions())
        visits = np.where(child >= 0, tree.node_n[np.maximum(child, 0)], 0)
        assert tree.node_n[i] == 1 + visits.sum()
        for a, c in zip(tree.edge_action[starts[i] : starts[i] + k].tolist(), child.tolist(), strict=True):
            if c >= 0:
                assert c not in seen
                seen.add(c)
                assert tree.states[c] == tree.states[i].apply(a)
    assert len(seen) == tree.num_nodes


def test_batched_subtrees_match_single_and_keep_invariants():
    c4 = games.make("connect4")
    states = [c4.initial_state(), c4.initial_state().apply_all([3, 3]), c4.initial_state().apply_all([0])]
    res = search(states, uniform_evaluator, SearchConfig(num_simulations=80), np.random.default_rng(0))
    trees = res.subtrees([0, 1, 2], [None, None, None])
    for i, tree in enumerate(trees):
        single = res.subtree(i)
        _check_tree(tree)
        assert tree.num_nodes == single.num_nodes
        np.testing.assert_array_equal(tree.node_n, single.node_n)
        np.testing.assert_array_equal(tree.edge_child, single.edge_child)
        assert tree.root_visits == res[i].visit_counts[res[i].action]
    # a second search on the reused trees keeps the invariants
    res2 = search(trees, uniform_evaluator, SearchConfig(num_simulations=40), np.random.default_rng(0))
    for i in range(3):
        _check_tree(res2.subtree(i))


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_should_stop_ends_the_search_after_the_step_that_asks(algorithm):
    asked = []

    def stop() -> bool:  # asked once before the first simulation, then after each
        asked.append(1)
        return len(asked) >= 8

    cfg = SearchConfig(num_simulations=100_000, algorithm=algorithm)  # bounded by should_stop
    res = search([ttt(""), ttt("b2")], uniform_evaluator, cfg, np.random.default_rng(0), should_stop=stop)
    assert res.num_simulations == 2 * 7
    for out in res.outputs:
        assert out.visit_counts.sum() == 7
        assert out.policy_target.sum() == pytest.approx(1.0, abs=1e-6)
        assert out.legal_mask[out.action]
    never = search([ttt("b2")], _biased([0, 0, 3.0, 0, 0, 0, 0, 0, 0]), SearchConfig(num_simulations=5,
                   algorithm=algorithm), np.random.default_rng(0), should_stop=lambda: True)
    assert never.num_simulations == 0  # no time even for one simulation: the network's prior answers
    out = never[0]
    assert out.action == 2 and out.visit_counts.sum() == 0
    assert out.policy_target.sum() == pytest.approx(1.0, abs=1e-6) and out.policy_target.argmax() == 2


def _win_in_one() -> State:
    """Connect Four, X to move: column 1 wins at once; anything but 1 or 2 lets O win in column 2."""
    return games.make("connect4").initial_state().apply_all("1 2 1 2 1 2".split())


def test_root_noise_does_not_push_the_policy_target_onto_losing_moves():
    """No first-play-urgency reduction at a noisy root (Leela Zero, KataGo): noised moves are explored,
    not scored below the rest and then kept at their noise-inflated share."""
    state, losing = _win_in_one(), [2, 3, 4, 5, 6]

    def losing_mass(noise: bool) -> float:
        masses = []
        for seed in range(20):
            out = search([state], uniform_evaluator, SearchConfig(num_simulations=48), np.random.default_rng(seed),
                         add_noise=noise)[0]
            masses.append(float(out.policy_target[losing].sum()))
        return float(np.mean(masses))

    assert losing_mass(True) <= losing_mass(False) + 0.02


def test_gumbel_reports_the_value_of_its_improved_policy():
    """Sequential Halving spreads visits over weak candidates; the reported value must not average them in."""
    state = _win_in_one()
    gumbel = search([state], uniform_evaluator, SearchConfig(num_simulations=48, algorithm="gumbel"),
                    np.random.default_rng(0))[0]
    assert gumbel.action == 0 and gumbel.root_value > 0.95  # the true value is +1
    assert np.isclose(gumbel.root_value, float(np.nansum(gumbel.policy_target * np.nan_to_num(gumbel.q_values))),
                      atol=0.05)


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_per_root_budgets_give_each_root_its_own_search(algorithm):
    """Playout cap randomization: cheap and full searches share one batch, each as if searched alone."""
    states = [ttt("b2"), ttt(""), ttt("a1 b2 c3")]
    budgets = [6, 40, 17]
    cfg = SearchConfig(num_simulations=64, algorithm=algorithm)
    batch = search(states, uniform_evaluator, cfg, np.random.default_rng(0), simulations=budgets)
    assert batch.num_simulations == sum(budgets)
    for state, budget, out in zip(states, budgets, batch.outputs, strict=True):
        assert out.visit_counts.sum() == budget
        alone = search([state], uniform_evaluator, SearchConfig(num_simulations=budget, algorithm=algorithm),
                       np.random.default_rng(0))[0]
        np.testing.assert_array_equal(out.visit_counts, alone.visit_counts)
        np.testing.assert_allclose(out.policy_target, alone.policy_target, atol=1e-6)
    with pytest.raises(ValueError, match="simulations"):
        search(states, uniform_evaluator, cfg, np.random.default_rng(0), simulations=[1, 2])


def test_noise_per_root_leaves_the_other_roots_alone():
    state = ttt("b2")
    cfg = SearchConfig(num_simulations=16)
    mixed = search([state, state], uniform_evaluator, cfg, np.random.default_rng(5), add_noise=[True, False])
    assert not np.allclose(mixed[0].search_prior, mixed[0].prior)
    np.testing.assert_array_equal(mixed[1].search_prior, mixed[1].prior)
    plain = search([state], uniform_evaluator, cfg, np.random.default_rng(1))[0]
    np.testing.assert_array_equal(mixed[1].visit_counts, plain.visit_counts)


def test_forced_playouts_explore_and_pruning_takes_them_out_of_the_target():
    """KataGo's forced playouts (k = 2) and policy target pruning at a noisy root."""
    state, losing = _win_in_one(), [2, 3, 4, 5, 6]
    forced = SearchConfig(num_simulations=200, forced_playouts_k=2.0)
    res = search([state] * 10, uniform_evaluator, forced, np.random.default_rng(0), add_noise=True)
    plain = search([state] * 10, uniform_evaluator, SearchConfig(num_simulations=200), np.random.default_rng(0),
                   add_noise=True)
    for out in res.outputs:
        total = out.visit_counts.sum()
        owed = np.floor(np.sqrt(2.0 * out.search_prior * total))
        assert (out.visit_counts[out.legal_mask] >= owed[out.legal_mask] - 1).all()  # every move got its share
        assert out.policy_target[losing].sum() < out.visit_counts[losing].sum() / total  # ... taken out again
        assert out.policy_target[0] == out.policy_target.max()
    mean_target = np.mean([o.policy_target[losing].sum() for o in res.outputs])
    assert mean_target <= np.mean([o.policy_target[losing].sum() for o in plain.outputs])
    # Without noise (the engines' searches) nothing is forced.
    quiet = search([state], uniform_evaluator, forced, np.random.default_rng(0))[0]
    still = search([state], uniform_evaluator, SearchConfig(num_simulations=200), np.random.default_rng(0))[0]
    np.testing.assert_array_equal(quiet.visit_counts, still.visit_counts)


def test_pruned_visits_on_hand_made_numbers():
    seg, offs = one_segment(3)
    visits = np.array([50.0, 10.0, 2.0])
    q = np.array([0.5, -0.2, 0.0])
    prior = np.array([0.5, 0.3, 0.2])
    coefficient = np.full(3, 2.0)
    pruned = formulas.pruned_visits(visits, q, prior, coefficient, np.array([0.0, 8.0, 8.0]), seg, offs)
    best_score = 0.5 + 2.0 * 0.5 / 51
    # child 1 may drop to the fewest visits that keep its score below the best's: floor(2*0.3/(best+0.2)) = 0 -> 2
    assert pruned[0] == 50.0
    assert pruned[1] == max(10.0 - 8.0, np.floor(2.0 * 0.3 / (best_score + 0.2)))
    assert pruned[2] == 0.0  # left with a single visit or fewer: removed


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_the_solver_proves_a_forced_win_plays_it_and_stops(algorithm):
    state = ttt("b2 b1 a1 c3")  # X to move: a3 makes two threats, a win in 3 plies
    cfg = SearchConfig(num_simulations=2000, algorithm=algorithm, solver=True)
    res = search([state], uniform_evaluator, cfg, np.random.default_rng(0))
    out = res[0]
    assert out.proven == 1.0 and out.plies_to_end == 3 and out.root_value == 1.0
    assert minimax(state.apply(out.action)) == -1.0  # a winning move (a3 and a2 both make two threats)
    assert out.policy_target[out.action] == out.policy_target.max() > 0.4
    assert res.num_simulations < 300  # the solved root stopped searching
    # Without the solver the same budget is spent in full and no proof is reported.
    plain = search([state], uniform_evaluator, SearchConfig(num_simulations=300, algorithm=algorithm),
                   np.random.default_rng(0))
    assert plain.num_simulations == 300 and plain[0].proven is None


@pytest.mark.slow
def test_the_solver_proves_a_loss_and_a_draw():
    lost = search([ttt("a1 b2 c3 a3 c1")], uniform_evaluator, SearchConfig(num_simulations=500, solver=True),
                  np.random.default_rng(0))[0]
    assert lost.proven == -1.0 and lost.plies_to_end == 2 and lost.root_value == -1.0  # O cannot stop both rows
    drawn = search([ttt("b2 a1 c3")], uniform_evaluator, SearchConfig(num_simulations=3000, solver=True),
                   np.random.default_rng(0))[0]
    assert drawn.proven == 0.0 and drawn.root_value == 0.0 and minimax(ttt("b2 a1 c3")) == 0.0


def test_a_kept_subtree_keeps_its_proof():
    state = ttt("b2 b1")
    cfg = SearchConfig(num_simulations=3000, solver=True)
    res = search([state], uniform_evaluator, cfg, np.random.default_rng(0))
    assert res[0].proven == minimax(state) == 1.0
    tree = res.subtree(0)  # after X's winning move, O's position is a proven loss
    again = search([tree], uniform_evaluator, cfg, np.random.default_rng(0))
    assert again.num_simulations == 0 and again[0].proven == -1.0
