"""Tests of learner.network and learner.inference."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
import torch
from torch import nn

import games
from learner.inference import TorchEvaluator, network_throughput
from learner.network import (
    MASK_VALUE,
    GlobalPool,
    GlobalPoolingBlock,
    NetworkConfig,
    NetworkConfigError,
    PolicyValueNet,
    PooledPolicyHead,
    expected_score,
    value_head_of,
)
from learner.train import Learner, TrainConfig

torch.set_num_threads(2)

TTT = games.make("tictactoe")
SMALL = NetworkConfig(blocks=2, channels=32, value_hidden=32)


def _game_or_skip(name: str) -> games.Game:
    try:
        return games.make(name)
    except (ImportError, games.UnknownGameError) as err:
        pytest.skip(f"{name} not available yet: {err}")


def _random_positions(game: games.Game, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct non-terminal positions from random games."""
    rng = np.random.default_rng(seed)
    obs, masks, seen = [], [], set()
    while len(obs) < n:
        state = game.initial_state()
        while not state.is_terminal() and len(obs) < n:
            o = state.observation()
            if o.tobytes() not in seen:
                seen.add(o.tobytes())
                obs.append(o)
                masks.append(state.legal_mask().copy())
            state = state.apply(int(rng.choice(state.legal_actions())))
    return np.stack(obs), np.stack(masks)


@pytest.mark.parametrize("name", ["tictactoe", "connect4"])
def test_output_shapes_and_masking(name: str) -> None:
    game = TTT if name == "tictactoe" else _game_or_skip(name)
    torch.manual_seed(0)
    net = PolicyValueNet(game, NetworkConfig(blocks=2, channels=32)).eval()
    obs, masks = _random_positions(game, 16)
    with torch.no_grad():
        logits, value = net(torch.from_numpy(obs))
        masked, value2 = net(torch.from_numpy(obs), torch.from_numpy(masks))
    a = game.num_actions
    assert logits.shape == (16, a) and masked.shape == (16, a)
    assert value.shape == (16,) and value.dtype == torch.float32
    assert torch.all(value.abs() < 1)
    assert torch.equal(value, value2)
    m = torch.from_numpy(masks)
    assert torch.all(masked[~m] == MASK_VALUE)
    assert torch.equal(masked[m], logits[m])
    assert torch.isfinite(masked).all()
    probs = torch.softmax(masked, dim=-1)
    assert torch.all(probs[~m] == 0)
    torch.testing.assert_close(probs.sum(-1), torch.ones(16))


def test_bad_input_shapes_rejected() -> None:
    net = PolicyValueNet(TTT, SMALL)
    with pytest.raises(ValueError, match="observations"):
        net(torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="legal_mask"):
        net(torch.zeros(2, 3, 3, 3), torch.ones(2, 8, dtype=torch.bool))


def test_network_config_validation_and_defaults() -> None:
    with pytest.raises(ValueError):
        NetworkConfig(blocks=-1)
    with pytest.raises(ValueError):
        NetworkConfig(channels=0)
    with pytest.raises(ValueError):
        NetworkConfig(channels=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        NetworkConfig(3)  # type: ignore[misc]  # keyword-only
    cfg = NetworkConfig(blocks=3, channels=16)
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown"):
        NetworkConfig.from_dict({"blocks": 1, "width": 3})


@pytest.mark.parametrize("name", ["tictactoe", "connect4"])
def test_wdl_head_shapes_and_expected_score(name: str) -> None:
    """A "wdl" head: 3 logits per position, the network's value is P(win) - P(loss) of them, and
    the (policy_logits [B, A], value [B]) contract of the scalar head is unchanged."""
    game = TTT if name == "tictactoe" else _game_or_skip(name)
    torch.manual_seed(0)
    config = NetworkConfig(blocks=1, channels=16, value_hidden=16, value_head="wdl")
    net = PolicyValueNet(game, config).eval()
    obs, masks = _random_positions(game, 12)
    with torch.no_grad():
        out = net.heads(torch.from_numpy(obs), torch.from_numpy(masks))
        logits, value = net(torch.from_numpy(obs), torch.from_numpy(masks))
        probs = net.wdl(torch.from_numpy(obs))
    assert out.policy_logits.shape == (12, game.num_actions) and out.value.shape == (12,)
    assert out.value_logits is not None and out.value_logits.shape == (12, 3)
    assert out.value_logits.dtype == torch.float32 and value.dtype == torch.float32
    assert torch.equal(logits, out.policy_logits) and torch.equal(value, out.value)
    q = torch.softmax(out.value_logits, -1)
    torch.testing.assert_close(value, q[:, 0] - q[:, 2])
    torch.testing.assert_close(probs, q)
    torch.testing.assert_close(probs.sum(-1), torch.ones(12))
    assert torch.all(value.abs() <= 1)
    assert net.value_head_kind == "wdl" and net.value_head[6].out_features == 3
    # the evaluator contract holds for either head
    ev_logits, ev_values = TorchEvaluator(net)(obs, masks)
    assert ev_logits.shape == (12, game.num_actions) and ev_values.shape == (12,) and ev_values.dtype == np.float32
    np.testing.assert_allclose(ev_values, value.numpy(), rtol=1e-5, atol=1e-6)
    # a scalar head has no probabilities to give, and no logits in its outputs
    scalar = PolicyValueNet(game, NetworkConfig(blocks=1, channels=16, value_hidden=16)).eval()
    with torch.no_grad():
        assert scalar.heads(torch.from_numpy(obs)).value_logits is None
    with pytest.raises(NetworkConfigError, match="'scalar'"):
        scalar.wdl(torch.from_numpy(obs))


def test_expected_score_at_known_points() -> None:
    certain = 50.0
    logits = torch.tensor(
        [[certain, 0, 0], [0, certain, 0], [0, 0, certain], [0.0, 0.0, 0.0], [math.log(3), 0.0, math.log(1)]]
    )
    # sure win 1, sure draw 0, sure loss -1, uniform 0, (3/5, 1/5, 1/5) -> 2/5
    torch.testing.assert_close(expected_score(logits), torch.tensor([1.0, 0.0, -1.0, 0.0, 0.4]))
    with pytest.raises(NetworkConfigError, match=r"\[B, 3\]"):
        expected_score(torch.zeros(2, 2))


def test_wdl_head_config_and_parameters() -> None:
    with pytest.raises(NetworkConfigError, match="value_head must be one of scalar, wdl, got 'tanh'"):
        NetworkConfig(value_head="tanh")
    assert NetworkConfig().value_head == "scalar"
    wdl = NetworkConfig(blocks=1, channels=8, value_hidden=8, value_head="wdl")
    assert NetworkConfig.from_dict(wdl.to_dict()) == wdl
    assert NetworkConfig.from_dict({"blocks": 1}).value_head == "scalar"  # metadata from before the field
    a, b = PolicyValueNet(TTT, wdl), PolicyValueNet(TTT, NetworkConfig(blocks=1, channels=8, value_hidden=8))
    assert set(a.state_dict()) == set(b.state_dict())  # same names, 3 vs 1 outputs
    assert value_head_of(a.state_dict()) == "wdl" and value_head_of(b.state_dict()) == "scalar"
    assert value_head_of({}) is None
    with pytest.raises(RuntimeError, match="size mismatch"):
        b.load_state_dict(a.state_dict())
    assert wdl.differences(NetworkConfig(blocks=1, channels=8, value_hidden=8)) == "value_head 'wdl' vs 'scalar'"


@pytest.mark.slow
def test_network_overfits_fixed_batch() -> None:
    obs, masks = _random_positions(TTT, 32, seed=1)
    rng = np.random.default_rng(1)
    policy = np.zeros(masks.shape, np.float32)
    for i, m in enumerate(masks):
        policy[i, rng.choice(np.flatnonzero(m))] = 1.0
    values = rng.choice([-1.0, 0.0, 1.0], size=len(obs)).astype(np.float32)
    batch = dict(observations=obs, legal_masks=masks, policy_targets=policy, value_targets=values)
    learner = Learner(TTT, SMALL, TrainConfig(optimizer="adamw", learning_rate=3e-3, device="cpu", batch_size=32))
    first = learner.train_step(batch)["loss"]
    for _ in range(199):
        last = learner.train_step(batch)
    assert last["loss"] < 0.1 * first, (first, last)
    assert learner.evaluate_batch(batch)["loss"] < 0.25 * first


def _solve_tictactoe() -> dict:
    """Every reachable position -> (minimax value for the mover, optimal actions or None if terminal)."""
    memo: dict = {}

    def solve(state) -> float:
        if state in memo:
            return memo[state][0]
        if state.is_terminal():
            value = state.returns()[state.to_play]
            memo[state] = (value, None)
            return value
        values = {a: -solve(state.apply_unchecked(a)) for a in state.legal_actions()}
        best = max(values.values())
        memo[state] = (best, [a for a, v in values.items() if v == best])
        return best

    solve(TTT.initial_state())
    return memo


@pytest.mark.slow
def test_learns_exact_tictactoe_minimax_values() -> None:
    memo = _solve_tictactoe()
    assert len(memo) == 5478  # all reachable tic-tac-toe positions
    positions = [s for s, (_, best) in memo.items() if best is not None]
    assert len(positions) == 4520
    assert memo[TTT.initial_state()][0] == 0  # perfect play draws
    obs = np.stack([s.observation() for s in positions])
    masks = np.stack([s.legal_mask() for s in positions])
    values = np.array([memo[s][0] for s in positions], np.float32)
    policy = np.zeros(masks.shape, np.float32)
    for i, s in enumerate(positions):
        policy[i, memo[s][1]] = 1.0 / len(memo[s][1])

    rng = np.random.default_rng(0)
    order = rng.permutation(len(positions))
    train, held_out = order[:3000], order[3000:]
    learner = Learner(TTT, SMALL, TrainConfig(optimizer="adamw", learning_rate=3e-3, batch_size=128, device="cpu"))
    for _ in range(300):
        idx = rng.choice(train, 128)
        learner.train_step(
            dict(observations=obs[idx], legal_masks=masks[idx], policy_targets=policy[idx], value_targets=values[idx])
        )
    evaluator = TorchEvaluator(learner.net)
    logits, v = evaluator(obs, masks)
    predicted = np.where(np.abs(v) < 1 / 3, 0, np.sign(v))
    train_acc = (predicted[train] == values[train]).mean()
    held_acc = (predicted[held_out] == values[held_out]).mean()
    assert train_acc > 0.85, train_acc
    assert held_acc > 0.7, held_acc
    # the policy's argmax is an optimal move in most training positions
    best_move = logits.argmax(-1)
    optimal = np.array([best_move[i] in memo[positions[i]][1] for i in train])
    assert optimal.mean() > 0.8, optimal.mean()


def test_torch_evaluator_contract() -> None:
    torch.manual_seed(0)
    net = PolicyValueNet(TTT, SMALL)
    evaluator = TorchEvaluator(net, num_threads=1, weights_version=3)
    assert evaluator.weights_version == 3 and not net.training
    obs, masks = _random_positions(TTT, 5)
    logits, values = evaluator.evaluate(obs, masks)
    assert logits.dtype == np.float32 and logits.shape == (5, 9)
    assert values.dtype == np.float32 and values.shape == (5,)
    assert np.all(logits[~masks] == MASK_VALUE)
    with torch.no_grad():
        ref_logits, ref_values = net(torch.from_numpy(obs), torch.from_numpy(masks))
    np.testing.assert_allclose(logits, ref_logits.numpy())
    np.testing.assert_allclose(values, ref_values.numpy())
    # load other weights
    torch.manual_seed(1)
    other = PolicyValueNet(TTT, SMALL).eval()
    evaluator.load_weights({k: v.numpy() for k, v in other.state_dict().items()}, version=7)
    assert evaluator.weights_version == 7
    with torch.no_grad():
        _, other_values = other(torch.from_numpy(obs))
    np.testing.assert_allclose(evaluator(obs, masks)[1], other_values.numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError):
        evaluator(obs[:, :2], masks)
    empty_logits, empty_values = evaluator(obs[:0], masks[:0])
    assert empty_logits.shape == (0, 9) and empty_values.shape == (0,)


def test_network_throughput_counts_the_batches_it_times() -> None:
    net = PolicyValueNet(TTT, SMALL)
    calls = []
    net.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    threads = torch.get_num_threads()
    start = time.perf_counter()
    rate = network_throughput(net, 16, num_threads=1, min_seconds=60.0, max_batches=20, warmup_batches=3)
    elapsed = time.perf_counter() - start
    assert calls == [16] * 23  # 3 untimed warm-up batches, then the 20 timed ones
    assert rate >= 20 * 16 / elapsed  # the timed part is inside the whole call
    assert torch.get_num_threads() == threads
    assert net.training  # mode restored


# ------------------------------------------------------------------ KataGo's Go options
GO7, GO9 = games.make("go", size=7), games.make("go", size=9)
POOLED = NetworkConfig(
    blocks=3, channels=16, policy_channels=8, value_channels=8, value_hidden=16,
    global_pooling=True, ownership_head=True, score_head=True,
)


def test_network_config_switches_are_bools_and_old_metadata_has_none() -> None:
    for name in ("global_pooling", "ownership_head", "score_head"):
        with pytest.raises(NetworkConfigError, match=f"NetworkConfig.{name} must be a bool, got 1"):
            NetworkConfig(**{name: 1})
    assert NetworkConfig.from_dict(POOLED.to_dict()) == POOLED
    old = NetworkConfig.from_dict({"blocks": 1, "channels": 8, "value_head": "scalar"})
    assert (old.global_pooling, old.ownership_head, old.score_head, old.aux_heads) == (False, False, False, False)
    assert NetworkConfig(score_head=True).aux_heads and NetworkConfig(ownership_head=True).aux_heads
    assert NetworkConfig(ownership_head=True).differences(NetworkConfig()) == "ownership_head True vs False"


@pytest.mark.parametrize("head", ["ownership_head", "score_head"])
@pytest.mark.parametrize("name", ["tictactoe", "connect4", "chess"])
def test_ownership_and_score_heads_need_a_game_with_a_final_area(head: str, name: str) -> None:
    game = TTT if name == "tictactoe" else _game_or_skip(name)
    with pytest.raises(NetworkConfigError, match=f"NetworkConfig.{head} needs a game .* {name} has none"):
        PolicyValueNet(game, NetworkConfig(blocks=1, channels=8, **{head: True}))


def test_ownership_and_score_outputs_have_their_shapes_and_ranges() -> None:
    torch.manual_seed(0)
    net = PolicyValueNet(GO7, NetworkConfig(blocks=1, channels=16, ownership_head=True, score_head=True)).eval()
    obs, masks = _random_positions(GO7, 6)
    with torch.no_grad():
        out = net.heads(torch.from_numpy(obs), torch.from_numpy(masks))
        logits, value = net(torch.from_numpy(obs), torch.from_numpy(masks))
    assert out.ownership.shape == (6, 7, 7) and out.ownership_logits.shape == (6, 7, 7) and out.score.shape == (6,)
    assert out.ownership.dtype == out.score.dtype == torch.float32
    torch.testing.assert_close(out.ownership, torch.tanh(out.ownership_logits))
    assert torch.all(out.ownership.abs() < 1) and out.ownership.std() > 0
    assert torch.equal(logits, out.policy_logits) and torch.equal(value, out.value)  # forward skips them only
    # the score is in points: the head's raw output times the board's 49 points
    with torch.no_grad():
        net.score_head.weight.zero_()
        net.score_head.bias.fill_(0.25)
        torch.testing.assert_close(net.heads(torch.from_numpy(obs)).score, torch.full((6,), 0.25 * 49))
    plain = PolicyValueNet(GO7, NetworkConfig(blocks=1, channels=16)).eval()
    with torch.no_grad():
        none = plain.heads(torch.from_numpy(obs))
    assert none.ownership is none.ownership_logits is none.score is None
    assert not any("ownership" in k or "score" in k for k in plain.state_dict())


def test_global_pool_features_at_known_points() -> None:
    x = torch.arange(2 * 2 * 9, dtype=torch.float32).reshape(2, 2, 3, 3)
    mean, top = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
    s = (3.0 - 14.0) / 10.0
    torch.testing.assert_close(GlobalPool("max")(x), torch.cat([mean, mean * s, top], 1))
    torch.testing.assert_close(GlobalPool("value")(x), torch.cat([mean, mean * s, mean * (s * s - 0.1)], 1))
    with pytest.raises(NetworkConfigError, match="'min'"):
        GlobalPool("min")


def test_one_pooled_networks_weights_serve_7x7_and_9x9() -> None:
    """With global pooling no weight depends on the board size: a 7x7 network's state dict loads
    into a 9x9 network of the same config, and both evaluate their own boards."""
    torch.manual_seed(0)
    small, big = PolicyValueNet(GO7, POOLED), PolicyValueNet(GO9, POOLED)
    assert small.fully_convolutional and big.fully_convolutional
    assert {k: v.shape for k, v in small.state_dict().items()} == {k: v.shape for k, v in big.state_dict().items()}
    big.load_state_dict(small.state_dict())  # strict: every name and shape
    for k, v in small.state_dict().items():
        assert torch.equal(big.state_dict()[k], v)
    small.eval(), big.eval()
    for net, game in ((small, GO7), (big, GO9)):
        obs, masks = _random_positions(game, 5)
        with torch.no_grad():
            out = net.heads(torch.from_numpy(obs), torch.from_numpy(masks))
        n = game.size
        assert out.policy_logits.shape == (5, n * n + 1) and out.value.shape == (5,)
        assert out.ownership.shape == (5, n, n) and out.score.shape == (5,)
        m = torch.from_numpy(masks)
        assert torch.all(out.policy_logits[~m] == MASK_VALUE) and torch.isfinite(out.policy_logits[m]).all()
        assert out.value.std() > 0 and out.policy_logits[m].std() > 0
    # the networks without pooling have size-dependent weights
    flat = NetworkConfig(blocks=1, channels=16)
    assert not PolicyValueNet(GO7, flat).fully_convolutional
    with pytest.raises(RuntimeError, match="size mismatch"):
        PolicyValueNet(GO9, flat).load_state_dict(PolicyValueNet(GO7, flat).state_dict())


def test_pooled_policy_is_per_point_with_a_pass_logit_from_pooled_features() -> None:
    torch.manual_seed(0)
    net = PolicyValueNet(GO7, POOLED).eval()
    head = net.policy_head
    assert isinstance(head, PooledPolicyHead) and head.pass_logit is not None
    assert isinstance(net.tower[1], GlobalPoolingBlock) and not isinstance(net.tower[0], GlobalPoolingBlock)
    obs = torch.from_numpy(_random_positions(GO7, 4)[0])
    with torch.no_grad():
        logits = net(obs)[0]
        # the pass logit (action 49, last) moves with the pass layer's bias, no point logit does
        head.pass_logit.bias.add_(3.0)
        shifted = net(obs)[0]
    torch.testing.assert_close(shifted[:, 49], logits[:, 49] + 3.0)
    torch.testing.assert_close(shifted[:, :49], logits[:, :49])
    ttt = PolicyValueNet(TTT, dataclasses.replace(POOLED, ownership_head=False, score_head=False))
    assert isinstance(ttt.policy_head, PooledPolicyHead) and ttt.policy_head.pass_logit is None
    assert ttt.fully_convolutional


@pytest.mark.parametrize("name", ["connect4", "chess"])
def test_pooling_keeps_the_flatten_policy_where_actions_are_not_the_boards_points(name: str) -> None:
    """Connect Four's 7 columns and chess's 8x8x73 moves: the trunk and the value head pool, the
    policy stays a linear layer over the board (not fully convolutional)."""
    game = _game_or_skip(name)
    torch.manual_seed(0)
    config = NetworkConfig(blocks=2, channels=16, policy_channels=2, value_channels=4, global_pooling=True)
    net = PolicyValueNet(game, config).eval()
    assert not net.fully_convolutional and isinstance(net.policy_head[-1], nn.Linear)
    assert isinstance(net.tower[1], GlobalPoolingBlock) and isinstance(net.value_head[3], GlobalPool)
    obs, masks = _random_positions(game, 4)
    with torch.no_grad():
        logits, value = net(torch.from_numpy(obs), torch.from_numpy(masks))
    assert logits.shape == (4, game.num_actions) and value.shape == (4,) and torch.all(value.abs() < 1)
    assert value_head_of(net.state_dict()) == "scalar"


def test_rich_feature_planes_size_the_stem() -> None:
    rich = games.make("go", size=7, features="rich")
    assert rich.observation_shape[0] == GO7.observation_shape[0] + 9
    net = PolicyValueNet(rich, POOLED).eval()
    assert net.stem[0].in_channels == rich.observation_shape[0]
    obs, masks = _random_positions(rich, 3)
    with torch.no_grad():
        out = net.heads(torch.from_numpy(obs), torch.from_numpy(masks))
    assert out.policy_logits.shape == (3, 50) and out.ownership.shape == (3, 7, 7)
    with pytest.raises(ValueError, match="observations"):
        net(torch.zeros(1, *GO7.observation_shape))


def test_global_pooling_needs_two_channels() -> None:
    with pytest.raises(NetworkConfigError, match="global_pooling needs channels >= 2"):
        PolicyValueNet(GO7, NetworkConfig(blocks=2, channels=1, global_pooling=True))
