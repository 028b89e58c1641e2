"""Tests of learner.loss and learner.train."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import games
from learner.loss import compute_loss, wdl_target
from learner.network import MASK_VALUE, NetworkConfig, expected_score
from learner.replay import ReplayBuffer
from learner.train import (
    Learner,
    TrainConfig,
    TrainConfigError,
    learning_rate_at,
    make_optimizer,
    weight_decay_factor,
)

torch.set_num_threads(2)

TTT = games.make("tictactoe")
SMALL = NetworkConfig(blocks=1, channels=16, value_hidden=16)


# ------------------------------------------------------------------------ loss
def test_loss_uniform_logits_give_log_k() -> None:
    logits = torch.zeros(2, 5)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    target = torch.tensor([[1.0, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0]])
    value = torch.tensor([0.5, -0.5])
    z = torch.tensor([1.0, 1.0])
    terms = compute_loss(logits, value, target, z, mask)
    # row 0: -log(1/5); row 1: -log(1/2) (only 2 legal actions)
    assert terms.policy.item() == pytest.approx((math.log(5) + math.log(2)) / 2, rel=1e-6)
    assert terms.value.item() == pytest.approx((0.25 + 2.25) / 2)
    assert terms.total.item() == pytest.approx(terms.policy.item() + terms.value.item())
    assert terms.policy_entropy.item() == pytest.approx((math.log(5) + math.log(2)) / 2, rel=1e-6)
    assert terms.value_accuracy.item() == pytest.approx(0.5)
    weighted = compute_loss(logits, value, target, z, mask, value_weight=0.25)
    assert weighted.total.item() == pytest.approx(terms.policy.item() + 0.25 * terms.value.item())


def test_loss_masking_and_target_renormalisation() -> None:
    logits = torch.tensor([[2.0, 1.0, 50.0]])
    mask = torch.tensor([[True, True, False]])
    # target mass on the illegal action is dropped and the rest renormalised
    target = torch.tensor([[0.25, 0.25, 0.5]])
    terms = compute_loss(logits, torch.zeros(1), target, torch.zeros(1), mask)
    log_p = torch.log_softmax(torch.tensor([2.0, 1.0]), 0)
    assert terms.policy.item() == pytest.approx(-(0.5 * log_p).sum().item(), rel=1e-6)
    # already-masked logits give the same
    masked_logits = torch.tensor([[2.0, 1.0, MASK_VALUE]])
    again = compute_loss(masked_logits, torch.zeros(1), target, torch.zeros(1), mask)
    assert again.policy.item() == pytest.approx(terms.policy.item())
    # perfect prediction: one-hot target matched by a confident net
    sharp = compute_loss(
        torch.tensor([[30.0, 0.0, 0.0]]),
        torch.tensor([0.9]),
        torch.tensor([[1.0, 0, 0]]),
        torch.tensor([1.0]),
        torch.ones(1, 3, dtype=torch.bool),
    )
    assert sharp.policy.item() < 1e-6 and sharp.value_accuracy.item() == 1.0
    # draws count as right inside the dead zone
    draw = compute_loss(
        torch.zeros(3, 2),
        torch.tensor([0.1, -0.2, 0.6]),
        torch.full((3, 2), 0.5),
        torch.zeros(3),
        torch.ones(3, 2, dtype=torch.bool),
    )
    assert draw.value_accuracy.item() == pytest.approx(2 / 3)
    assert all(torch.isfinite(t) for t in terms)
    with pytest.raises(ValueError):
        compute_loss(
            torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 4), torch.zeros(2), torch.ones(2, 3, dtype=torch.bool)
        )


def test_loss_gradient_is_softmax_minus_target() -> None:
    logits = torch.tensor([[0.3, -0.2, 0.1, 0.0]], requires_grad=True)
    mask = torch.tensor([[True, True, True, False]])
    target = torch.tensor([[0.2, 0.3, 0.5, 0.0]])
    terms = compute_loss(logits, torch.zeros(1), target, torch.zeros(1), mask)
    terms.total.backward()
    p = torch.softmax(logits.detach()[0, :3], 0)
    torch.testing.assert_close(logits.grad[0, :3], p - target[0, :3])
    assert logits.grad[0, 3] == 0


def test_rows_without_a_policy_target_do_not_dilute_the_policy_loss() -> None:
    """Positions without a policy target (all-zero rows, as playout cap randomization makes) get
    no policy loss and no weight: the average is over the rows that have a target."""
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True], [True, True, False], [True, True, True], [True, True, True]])
    targets = torch.tensor([[0.7, 0.2, 0.1], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    zeros, ones = torch.zeros(4), torch.ones(4)
    # row 1's only mass would be on an illegal action: it has no target either
    targets[1, 2] = 1.0
    terms = compute_loss(logits, zeros, targets, ones, mask)
    with_targets = compute_loss(logits[[0, 2]], zeros[:2], targets[[0, 2]], ones[:2], mask[[0, 2]])
    assert terms.policy.item() == pytest.approx(with_targets.policy.item(), rel=1e-6)
    assert terms.policy_entropy.item() == pytest.approx(with_targets.policy_entropy.item(), rel=1e-6)
    assert terms.policy_target_fraction.item() == pytest.approx(0.5)
    assert with_targets.policy_target_fraction.item() == 1.0
    # by hand: the mean of the two rows' cross-entropies, not their sum over 4
    log_p = torch.log_softmax(logits, -1)
    expected = -((targets[0] * log_p[0]).sum() + log_p[2, 1]) / 2
    assert terms.policy.item() == pytest.approx(expected.item(), rel=1e-6)
    # the gradient of the rows without a target is zero
    grad_logits = logits.clone().requires_grad_(True)
    compute_loss(grad_logits, zeros, targets, ones, mask).total.backward()
    assert torch.all(grad_logits.grad[[1, 3]] == 0) and torch.any(grad_logits.grad[0] != 0)
    # no row with a target: no policy loss, entropy over all rows, fraction 0
    none = compute_loss(logits, zeros, torch.zeros(4, 3), ones, mask)
    assert none.policy.item() == 0.0 and none.policy_target_fraction.item() == 0.0
    p = torch.softmax(torch.where(mask, logits, torch.tensor(MASK_VALUE)), -1)
    entropy = -torch.where(mask, p * torch.log(p.clamp_min(1e-30)), torch.tensor(0.0)).sum(-1).mean()
    assert none.policy_entropy.item() == pytest.approx(entropy.item(), rel=1e-5)
    assert terms.as_floats()["policy_target_fraction"] == 0.5


def test_wdl_target_of_scalar_targets() -> None:
    t = torch.tensor([1.0, 0.0, -1.0, 0.5, -0.25, 1.0000001])
    y = wdl_target(t)
    expected = torch.tensor(
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [0.0, 0.75, 0.25], [1.0, 0.0, 0.0]]
    )
    torch.testing.assert_close(y, expected)
    assert torch.all(y >= 0)
    torch.testing.assert_close(y.sum(-1), torch.ones(6))
    torch.testing.assert_close(y[:5, 0] - y[:5, 2], t[:5])  # the expected score is the target
    with pytest.raises(ValueError, match=r"\[B\]"):
        wdl_target(torch.zeros(2, 1))


def test_wdl_value_loss_is_cross_entropy_and_pulls_toward_the_target() -> None:
    b = 4
    policy_logits, policy_target = torch.zeros(b, 3), torch.full((b, 3), 1 / 3)
    mask = torch.ones(b, 3, dtype=torch.bool)
    z = torch.tensor([1.0, 0.0, -1.0, 0.5])
    value_logits = torch.tensor([[0.2, 0.1, -0.3], [1.0, -1.0, 0.5], [0.0, 0.0, 0.0], [-0.5, 0.3, 0.2]])
    value_logits.requires_grad_(True)
    value = expected_score(value_logits)
    terms = compute_loss(policy_logits, value, policy_target, z, mask, value_logits=value_logits)
    log_q = torch.log_softmax(value_logits.detach(), -1)
    expected = -(wdl_target(z) * log_q).sum(-1).mean()
    assert terms.value.item() == pytest.approx(expected.item(), rel=1e-6)
    assert terms.value_mse.item() == pytest.approx(torch.mean((value.detach() - z) ** 2).item(), rel=1e-6)
    terms.total.backward()
    # d/dlogits = (softmax - target) / B: toward the target's outcome, away from the others
    q = torch.softmax(value_logits.detach(), -1)
    torch.testing.assert_close(value_logits.grad, (q - wdl_target(z)) / b)
    assert value_logits.grad[0, 0] < 0 and value_logits.grad[0, 1] > 0 and value_logits.grad[0, 2] > 0
    assert value_logits.grad[1, 1] < 0 and value_logits.grad[2, 2] < 0
    # a small step along -grad moves every expected score toward its target
    with torch.no_grad():
        stepped = expected_score(value_logits - 0.5 * value_logits.grad)
    assert torch.all((stepped - z).abs() < (value.detach() - z).abs())
    # the scalar head's loss is unchanged: MSE, and value_mse is that same number
    scalar = compute_loss(policy_logits, value.detach(), policy_target, z, mask)
    assert scalar.value.item() == pytest.approx(terms.value_mse.item()) == scalar.value_mse.item()
    with pytest.raises(ValueError, match="value_logits"):
        compute_loss(policy_logits, value, policy_target, z, mask, value_logits=torch.zeros(b, 2))


@pytest.mark.slow
def test_wdl_learner_fits_a_fixed_batch_with_draws() -> None:
    """A learner with a "wdl" head learns wins, draws and losses of a tiny fixed batch: its value
    (the expected score) approaches each target and its draw probability the draws."""
    rng = np.random.default_rng(3)
    seen, obs, masks = set(), [], []
    while len(obs) < 16:  # distinct positions, so that each has one target
        state = TTT.initial_state()
        for _ in range(int(rng.integers(0, 6))):
            state = state.apply(int(rng.choice(state.legal_actions())))
        if state.observation().tobytes() not in seen:
            seen.add(state.observation().tobytes())
            obs.append(state.observation())
            masks.append(state.legal_mask().copy())
    masks = np.stack(masks)
    batch = dict(
        observations=np.stack(obs),
        legal_masks=masks,
        policy_targets=masks / masks.sum(-1, keepdims=True),
        value_targets=np.tile(np.array([-1.0, 0.0, 1.0, 0.0], np.float32), 4),
    )
    wdl = dataclasses.replace(SMALL, value_head="wdl")
    learner = Learner(TTT, wdl, TrainConfig(optimizer="adamw", learning_rate=1e-2, device="cpu", batch_size=16))
    first = learner.evaluate_batch(batch)
    for _ in range(50):
        metrics = learner.train_step(batch)
    last = learner.evaluate_batch(batch)
    assert last["value_loss"] < 0.2 * first["value_loss"], (first, last)
    assert last["value_mse"] < 0.1 and last["value_accuracy"] > 0.9, last
    assert set(metrics) >= {"value_mse", "policy_target_fraction"}
    learner.net.eval()
    with torch.no_grad():
        probs = learner.net.wdl(torch.from_numpy(batch["observations"]))
    draws = batch["value_targets"] == 0
    assert probs[torch.from_numpy(draws), 1].mean() > 0.8
    assert probs[torch.from_numpy(~draws), 1].mean() < 0.2


# --------------------------------------------------------------------- learner
def _fixed_batch(n: int = 32, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(TTT, 1000, seed=seed, min_positions=1)
    for _ in range(20):
        state, obs, masks, pols = TTT.initial_state(), [], [], []
        while not state.is_terminal():
            obs.append(state.observation())
            masks.append(state.legal_mask().copy())
            p = rng.random(9).astype(np.float32) * masks[-1]
            pols.append(p / p.sum())
            state = state.apply(int(rng.choice(state.legal_actions())))
        r = state.returns()
        values = np.array([r[i % 2] for i in range(len(obs))], np.float32)
        buf.add_game(np.stack(obs), np.stack(masks), np.stack(pols), values, 0)
    return buf.sample(n)._asdict()


@pytest.mark.slow
def test_train_steps_reduce_loss_and_publish() -> None:
    batch = _fixed_batch()
    for optimizer, lr in (("sgd", 0.05), ("adamw", 3e-3)):
        learner = Learner(
            TTT, SMALL, TrainConfig(optimizer=optimizer, learning_rate=lr, device="cpu", batch_size=32, publish_every=5)
        )
        before = learner.evaluate_batch(batch)["loss"]
        metrics = [learner.train_step(batch) for _ in range(30)]
        assert metrics[-1]["loss"] < 0.8 * metrics[0]["loss"], (optimizer, metrics[0], metrics[-1])
        assert learner.evaluate_batch(batch)["loss"] < before
        assert set(metrics[0]) >= {
            "loss",
            "policy_loss",
            "value_loss",
            "policy_entropy",
            "value_accuracy",
            "policy_target_fraction",
            "lr",
            "grad_norm",
            "step",
        }
        assert all(isinstance(v, float) and math.isfinite(v) for v in metrics[-1].values())
        assert learner.step == 30 and metrics[-1]["step"] == 30.0

    learner = Learner(TTT, SMALL, TrainConfig(device="cpu", publish_every=2))
    assert learner.weights_version == 0 and not learner.publish_due
    learner.train_step(batch)
    learner.train_step(batch)
    assert learner.publish_due
    version, weights = learner.publish()
    assert version == 1 == learner.weights_version and not learner.publish_due
    assert all(t.device.type == "cpu" for t in weights.values())
    assert set(weights) == set(learner.net.state_dict())
    # the published copy does not change when training continues
    snapshot = {k: v.clone() for k, v in weights.items()}
    learner.train_step(batch)
    assert all(torch.equal(snapshot[k], weights[k]) for k in weights)
    assert learner.publish()[0] == 2


def test_weight_decay_only_on_weights() -> None:
    learner = Learner(TTT, SMALL, TrainConfig(device="cpu", weight_decay=1e-4))
    decay, no_decay = learner.optimizer.param_groups
    assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() > 1 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    assert learner.optimizer.defaults["nesterov"] and learner.optimizer.defaults["momentum"] == 0.9


def _zero_gradient_run(config: TrainConfig, steps: int) -> tuple[float, float]:
    """The optimizer that :class:`Learner` builds, on one weight and one bias whose loss gradient is
    zero, stepped ``steps`` times at the schedule's rates: ``(weight factor, bias factor)``."""
    weight = torch.nn.Parameter(torch.ones(2, 2, dtype=torch.float64))
    bias = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    optimizer = make_optimizer(config, [("conv.weight", weight), ("conv.bias", bias)])
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(config, step)
        weight.grad = torch.zeros_like(weight)
        bias.grad = torch.zeros_like(bias)
        optimizer.step()
    return float(weight.detach()[0, 0]), float(bias.detach()[0])


@pytest.mark.slow
@pytest.mark.parametrize(("game", "steps"), [("tictactoe", 10_000), ("connect4", 20_000)])
def test_shipped_weight_decay_shrinks_an_idle_weight_over_a_run(game: str, steps: int) -> None:
    """The per-game defaults' decay does something over a typical run: a weight with no loss
    gradient ends at most half its size (AdamW at lr 1e-3 with 1e-4 kept 0.998 of it), and not
    below 5%, and the optimizer does what weight_decay_factor states."""
    from cluster.config.run import resolve

    config = resolve(game).train
    weight, bias = _zero_gradient_run(config, steps)
    assert weight == pytest.approx(weight_decay_factor(config, steps), rel=1e-9)
    assert 0.05 <= weight <= 0.5, (config.optimizer, config.learning_rate, config.weight_decay, weight)
    assert bias == 1.0  # biases are not decayed
    assert config.decay_per_step == pytest.approx(1e-4)


def test_weight_decay_means_l2_for_sgd_and_decoupled_decay_for_adamw() -> None:
    """What TrainConfig's docstring says, checked against torch's optimizers."""
    w0, g, lr, c = 0.5, 0.3, 0.1, 0.01
    # SGD: gradient += c * w, then the step (no momentum, to see the gradient itself)
    plain = TrainConfig(optimizer="sgd", learning_rate=lr, weight_decay=c, momentum=0.0, nesterov=False)
    weight = torch.nn.Parameter(torch.full((1, 1), w0, dtype=torch.float64))
    optimizer = make_optimizer(plain, [("w", weight)])
    weight.grad = torch.full_like(weight, g)
    optimizer.step()
    assert float(weight.detach()) == pytest.approx(w0 - lr * (g + c * w0), rel=1e-12)
    # AdamW: the weight is multiplied by (1 - lr * wd), separately from Adam's own step
    adamw = TrainConfig(optimizer="adamw", learning_rate=lr, weight_decay=c)
    weight = torch.nn.Parameter(torch.full((1, 1), w0, dtype=torch.float64))
    optimizer = make_optimizer(adamw, [("w", weight)])
    weight.grad = torch.full_like(weight, g)
    optimizer.step()
    adam_step = lr * g / (abs(g) + 1e-8)  # Adam's bias-corrected first step is lr * sign(g)
    assert float(weight.detach()) == pytest.approx(w0 * (1 - lr * c) - adam_step, rel=1e-9)
    assert adamw.decay_per_step == pytest.approx(lr * c)
    # SGD with Nesterov momentum: the exact factor, and the steady-state rate lr * c / (1 - momentum)
    sgd = TrainConfig(learning_rate=0.02, weight_decay=1e-4, lr_schedule="step", lr_milestones=(300,), lr_gamma=0.1)
    weight, bias = _zero_gradient_run(sgd, 600)
    assert weight == pytest.approx(weight_decay_factor(sgd, 600), rel=1e-12) and bias == 1.0
    per_step = 1 - weight_decay_factor(sgd, 201) / weight_decay_factor(sgd, 200)
    assert per_step == pytest.approx(sgd.decay_per_step, rel=1e-3)
    assert sgd.decay_per_step == pytest.approx(0.02 * 1e-4 / 0.1)
    assert weight_decay_factor(TrainConfig(weight_decay=0.0), 100) == 1.0
    with pytest.raises(TrainConfigError, match="steps"):
        weight_decay_factor(sgd, -1)


def test_learning_rate_schedules() -> None:
    const = TrainConfig(learning_rate=0.1, warmup_steps=4)
    assert [learning_rate_at(const, s) for s in range(6)] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])
    step = TrainConfig(learning_rate=0.1, lr_schedule="step", lr_milestones=(10, 20), lr_gamma=0.5)
    assert learning_rate_at(step, 0) == 0.1 and learning_rate_at(step, 9) == 0.1
    assert learning_rate_at(step, 10) == pytest.approx(0.05) and learning_rate_at(step, 25) == pytest.approx(0.025)
    cos = TrainConfig(learning_rate=0.1, lr_schedule="cosine", warmup_steps=10, total_steps=110, min_lr_ratio=0.1)
    assert learning_rate_at(cos, 0) == pytest.approx(0.01)
    assert learning_rate_at(cos, 10) == pytest.approx(0.1)
    assert learning_rate_at(cos, 60) == pytest.approx(0.01 + 0.09 * 0.5)
    assert learning_rate_at(cos, 110) == pytest.approx(0.01) and learning_rate_at(cos, 500) == pytest.approx(0.01)
    # the learner applies the schedule
    learner = Learner(TTT, SMALL, TrainConfig(device="cpu", learning_rate=0.1, warmup_steps=4))
    batch = _fixed_batch(8)
    lrs = [learner.train_step(batch)["lr"] for _ in range(5)]
    assert lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)


def test_train_config_validation() -> None:
    for bad in (
        dict(batch_size=0),
        dict(optimizer="rmsprop"),
        dict(learning_rate=0.0),
        dict(lr_schedule="linear"),
        dict(device="tpu"),
        dict(lr_milestones=(5, 2)),
        dict(lr_schedule="cosine", warmup_steps=10, total_steps=10),
        dict(weight_decay=-1.0),
        dict(grad_clip=0.0),
        dict(keep_checkpoints=0),
        dict(momentum=1.5),
    ):
        with pytest.raises(ValueError):
            TrainConfig(**bad)
    cfg = TrainConfig(lr_milestones=[1, 2], optimizer="adamw")  # type: ignore[arg-type]
    assert cfg.lr_milestones == (1, 2)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(TypeError):
        TrainConfig(256)  # type: ignore[misc]  # keyword-only


def test_state_dict_resumes_exactly() -> None:
    batch = _fixed_batch()
    for optimizer in ("sgd", "adamw"):
        cfg = TrainConfig(
            optimizer=optimizer, learning_rate=0.01, device="cpu", lr_schedule="cosine", total_steps=50, warmup_steps=2
        )
        a = Learner(TTT, SMALL, cfg)
        for _ in range(3):
            a.train_step(batch)
        a.publish()
        a.rng.random(3)
        state = a.state_dict()
        # a learner with other initial weights and seed, restored from the state
        b = Learner(TTT, SMALL, dataclasses.replace(cfg, seed=9))
        b.load_state_dict(state)
        assert b.step == 3 and b.weights_version == 1 and b.last_published_step == 3
        assert b.rng.random() == a.rng.random()
        ma, mb = a.train_step(batch), b.train_step(batch)
        assert ma == mb
        assert all(torch.equal(x, y) for x, y in zip(a.weights().values(), b.weights().values(), strict=True))
        assert all(
            torch.equal(sa[k], sb[k]) if isinstance(sa[k], torch.Tensor) else sa[k] == sb[k]
            for sa, sb in zip(a.optimizer.state.values(), b.optimizer.state.values(), strict=True)
            for k in sa
        )
    with pytest.raises(ValueError, match="network config"):
        Learner(TTT, NetworkConfig(blocks=2, channels=16, value_hidden=16), TrainConfig(device="cpu")).load_state_dict(
            Learner(TTT, SMALL, TrainConfig(device="cpu")).state_dict()
        )
    with pytest.raises(ValueError, match="train config"):
        Learner(TTT, SMALL, TrainConfig(device="cpu", learning_rate=0.5)).load_state_dict(
            Learner(TTT, SMALL, TrainConfig(device="cpu")).state_dict(), strict_config=True
        )


# ------------------------------------------------------------------ ownership and score (Go)
GO5 = games.make("go", size=5)
AUX = NetworkConfig(blocks=1, channels=16, value_hidden=16, ownership_head=True, score_head=True)


def _loss_inputs(b: int = 3, h: int = 2, w: int = 2) -> dict:
    return dict(
        policy_logits=torch.zeros(b, 4), value=torch.zeros(b), policy_target=torch.full((b, 4), 0.25),
        value_target=torch.zeros(b), legal_mask=torch.ones(b, 4, dtype=torch.bool),
    )


def test_ownership_loss_is_a_cross_entropy_whose_gradient_is_tanh_minus_the_target() -> None:
    logits = torch.tensor(
        [[[0.5, -1.0], [2.0, 0.0]], [[-0.3, 0.3], [1.0, -2.0]], [[0.1, 0.2], [0.3, 0.4]]], requires_grad=True
    )
    target = torch.tensor([[[1.0, -1.0], [0.0, -1.0]], [[1.0, 1.0], [-1.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])
    mask = torch.tensor([True, True, False])  # the last row has no final area
    terms = compute_loss(
        **_loss_inputs(), ownership_logits=logits, ownership_target=target, area_mask=mask, ownership_weight=2.0
    )
    p = (1 + torch.tanh(logits.detach())) / 2  # the probability the mover owns the point
    q = (1 + target) / 2
    per_point = -(q * torch.log(p) + (1 - q) * torch.log(1 - p))
    assert terms.ownership.item() == pytest.approx(per_point[:2].mean().item(), rel=1e-5)
    assert terms.total.item() == pytest.approx(terms.policy.item() + 2.0 * terms.ownership.item(), rel=1e-6)
    terms.total.backward()
    # d total / d l = weight * (tanh(l) - o) / (rows with an area * points): toward the target
    expected = 2.0 * (torch.tanh(logits.detach()) - target) / (2 * 4)
    torch.testing.assert_close(logits.grad[:2], expected[:2])
    assert torch.all(logits.grad[2] == 0)
    assert logits.grad[0, 0, 0] < 0 and logits.grad[0, 0, 1] > 0  # owned by the mover: up; the opponent: down
    assert terms.as_floats(ownership=True)["ownership_loss"] == pytest.approx(terms.ownership.item())
    assert "ownership_loss" not in terms.as_floats()
    # no row with a final area: no ownership loss
    none = compute_loss(**_loss_inputs(), ownership_logits=logits, ownership_target=target,
                        area_mask=torch.zeros(3, dtype=torch.bool))
    assert none.ownership.item() == 0.0


def test_score_loss_is_the_squared_error_in_board_fractions() -> None:
    score = torch.tensor([10.0, -5.0, 3.0], requires_grad=True)
    target = torch.tensor([4.0, -5.0, 100.0])
    mask = torch.tensor([True, True, False])
    terms = compute_loss(**_loss_inputs(), score=score, score_target=target, area_mask=mask, score_scale=1 / 25,
                         score_weight=0.5)
    assert terms.score.item() == pytest.approx(((6 / 25) ** 2 + 0) / 2, rel=1e-6)
    assert terms.total.item() == pytest.approx(terms.policy.item() + 0.5 * terms.score.item(), rel=1e-6)
    terms.total.backward()
    torch.testing.assert_close(score.grad, torch.tensor([0.5 * 2 * 6 / 25**2 / 2, 0.0, 0.0]))
    assert score.grad[0] > 0  # above its target: pushed down
    with pytest.raises(ValueError, match="score_target"):
        compute_loss(**_loss_inputs(), score=score)
    with pytest.raises(ValueError, match=r"area_mask must have shape \[3\]"):
        compute_loss(**_loss_inputs(), score=score, score_target=target, area_mask=torch.ones(2, dtype=torch.bool))


def test_auxiliary_losses_are_absent_without_their_heads_and_weightless_at_zero() -> None:
    inputs = _loss_inputs()
    plain = compute_loss(**inputs)
    assert plain.ownership.item() == 0.0 and plain.score.item() == 0.0
    assert set(plain.as_floats()) == {
        "loss", "policy_loss", "value_loss", "policy_entropy", "value_accuracy", "policy_target_fraction", "value_mse"
    }
    logits = torch.randn(3, 2, 2, requires_grad=True)
    score = torch.randn(3, requires_grad=True)
    zero = compute_loss(
        **inputs, ownership_logits=logits, ownership_target=torch.ones(3, 2, 2), score=score,
        score_target=torch.zeros(3), ownership_weight=0.0, score_weight=0.0,
    )
    assert zero.ownership.item() > 0 and zero.score.item() > 0  # reported, but not trained on
    assert zero.total.item() == pytest.approx(plain.total.item())
    zero.total.backward()
    assert torch.all(logits.grad == 0) and torch.all(score.grad == 0)


def _go_batch(games_count: int = 3, seed: int = 0, resigned: bool = True) -> dict:
    """Positions of random 5x5 Go games played to the end, and (optionally) of a resigned one."""
    from go_games import resigned_trajectory

    from selfplay.trajectory import Trajectory, training_targets

    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(GO5, 2000, seed=seed, min_positions=1)
    for _ in range(games_count):
        state, actions = GO5.initial_state(), []
        while not state.is_terminal():
            actions.append(int(rng.choice(state.legal_actions())))
            state = state.apply(actions[-1])
        traj = Trajectory(
            game_spec=GO5.spec(), weights_version=0, actions=np.array(actions, np.int64),
            policies=tuple(np.zeros(0, np.float32) for _ in actions), root_values=np.zeros(len(actions), np.float32),
            returns=state.returns(),
        )
        targets = training_targets(traj, GO5)
        buf.add_game(*targets[:4], 0, ownership_targets=targets.ownership_targets,
                     score_targets=targets.score_targets, area_mask=targets.area_mask)
    if resigned:
        targets = training_targets(resigned_trajectory(6, komi=7.5))
        buf.add_game(*targets[:4], 1, ownership_targets=targets.ownership_targets,
                     score_targets=targets.score_targets, area_mask=targets.area_mask)
    return buf.sample(48, np.random.default_rng(seed))._asdict()


@pytest.mark.slow
def test_a_learner_learns_ownership_and_score_of_a_fixed_go_batch() -> None:
    batch = _go_batch()
    assert 0 < batch["area_mask"].sum() < 48  # some rows come from the resigned game
    learner = Learner(GO5, AUX, TrainConfig(optimizer="adamw", learning_rate=3e-3, device="cpu", batch_size=48))
    first = learner.evaluate_batch(batch)
    assert {"ownership_loss", "score_loss"} <= set(first)
    for _ in range(60):
        metrics = learner.train_step(batch)
    last = learner.evaluate_batch(batch)
    assert {"ownership_loss", "score_loss"} <= set(metrics)
    assert last["ownership_loss"] < 0.8 * first["ownership_loss"], (first, last)
    assert last["score_loss"] < 0.5 * first["score_loss"], (first, last)
    # the trained ownership agrees in sign with most owned points of the rows with a final area
    learner.net.eval()
    with torch.no_grad():
        out = learner.net.heads(torch.from_numpy(batch["observations"]))
    rows = batch["area_mask"]
    owned = batch["ownership_targets"][rows] != 0
    agree = np.sign(out.ownership.numpy()[rows][owned]) == batch["ownership_targets"][rows][owned]
    assert agree.mean() > 0.8, agree.mean()


def test_a_network_with_area_heads_needs_area_targets_and_one_without_ignores_them() -> None:
    batch = _go_batch(games_count=1, resigned=False)
    plain = Learner(GO5, NetworkConfig(blocks=1, channels=8, value_hidden=8), TrainConfig(device="cpu"))
    metrics = plain.train_step(batch)
    assert "ownership_loss" not in metrics and "score_loss" not in metrics
    aux = Learner(GO5, AUX, TrainConfig(device="cpu"))
    basic = {k: batch[k] for k in ("observations", "legal_masks", "policy_targets", "value_targets")}
    with pytest.raises(TrainConfigError, match="no ownership_targets and score_targets"):
        aux.train_step(basic)
    only_score = Learner(GO5, dataclasses.replace(AUX, ownership_head=False), TrainConfig(device="cpu"))
    assert set(only_score.train_step(batch)) >= {"score_loss"} and "ownership_loss" not in only_score.train_step(batch)


def test_train_config_auxiliary_weights() -> None:
    cfg = TrainConfig()
    assert (cfg.ownership_weight, cfg.score_weight) == (1.5, 1.0)
    for name in ("ownership_weight", "score_weight"):
        with pytest.raises(TrainConfigError, match=name):
            TrainConfig(**{name: -0.5})
    assert TrainConfig.from_dict(TrainConfig(score_weight=0.25).to_dict()).score_weight == 0.25
