"""The CUDA paths: learner (bf16 autocast, channels-last), evaluator and shared inference server.

CI has no GPU, so these tests skip there with the reason stated; on a machine with
CUDA they run as part of the suite. ``ZEROPLAY_TEST_DEVICE=cpu`` runs the same checks
on the CPU (without the CUDA-only assertions), to keep the test code itself honest.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import games
from learner import Learner, NetworkConfig, PolicyValueNet, TorchEvaluator, TrainConfig
from learner.inference_server import InferenceServer
from learner.replay import ReplayBuffer

DEVICE = os.environ.get("ZEROPLAY_TEST_DEVICE", "cuda")
CUDA = DEVICE.startswith("cuda")

pytestmark = pytest.mark.skipif(
    CUDA and not torch.cuda.is_available(),
    reason="no CUDA device here: the CUDA paths are checked on a GPU machine (see BENCHMARKS.md)",
)

C4 = games.make("connect4")
NET = NetworkConfig(blocks=2, channels=32, value_hidden=32)


def batch(n: int = 64, seed: int = 0) -> dict:
    """``n`` positions of random Connect Four games with random policy targets and the game results."""
    rng = np.random.default_rng(seed)
    buffer = ReplayBuffer(C4, 10_000, seed=seed, min_positions=1)
    for _ in range(30):
        state, obs, masks, policies = C4.initial_state(), [], [], []
        while not state.is_terminal():
            obs.append(state.observation())
            masks.append(state.legal_mask().copy())
            p = rng.random(C4.num_actions).astype(np.float32) * masks[-1]
            policies.append(p / p.sum())
            state = state.apply(int(rng.choice(state.legal_actions())))
        returns = state.returns()
        values = np.array([returns[i % 2] for i in range(len(obs))], np.float32)
        buffer.add_game(np.stack(obs), np.stack(masks), np.stack(policies), values, 0)
    return buffer.sample(n)._asdict()


def test_learner_trains_on_the_device_with_channels_last_and_publishes_cpu_weights() -> None:
    learner = Learner(C4, NET, TrainConfig(device=DEVICE, optimizer="adamw", learning_rate=3e-3, batch_size=64))
    assert learner.device.type == torch.device(DEVICE).type
    if CUDA:
        conv = next(m for m in learner.net.modules() if isinstance(m, torch.nn.Conv2d))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    data = batch()
    metrics = [learner.train_step(data) for _ in range(40)]
    assert all(np.isfinite(m["loss"]) for m in metrics)
    assert metrics[-1]["loss"] < 0.8 * metrics[0]["loss"], (metrics[0], metrics[-1])
    version, weights = learner.publish()
    assert version == 1 and all(t.device.type == "cpu" and t.is_contiguous() for t in weights.values())


def test_device_checkpoint_resumes_exactly_on_the_device_and_loads_on_the_cpu(tmp_path: Path) -> None:
    from learner.checkpoint import load_network

    config = TrainConfig(device=DEVICE, optimizer="adamw", learning_rate=3e-3)
    data = batch()
    a = Learner(C4, NET, config)
    for _ in range(3):
        a.train_step(data)
    a.publish()
    path = a.save_checkpoint(str(tmp_path))
    b = Learner.from_checkpoint(path, train_config=config)
    assert (b.step, b.weights_version) == (3, 1)
    ma, mb = a.train_step(data), b.train_step(data)
    assert ma["loss"] == pytest.approx(mb["loss"], rel=1e-3 if CUDA else 1e-6)  # bf16 on CUDA
    _, net, meta = load_network(path, "cpu")
    assert meta["weights_version"] == 1 and next(net.parameters()).device.type == "cpu"


def test_device_evaluator_agrees_with_the_cpu_one() -> None:
    torch.manual_seed(0)
    state = PolicyValueNet(C4, NET).state_dict()
    cpu = TorchEvaluator(PolicyValueNet(C4, NET), "cpu")
    device = TorchEvaluator(PolicyValueNet(C4, NET), DEVICE)
    cpu.load_weights(state, 1)
    device.load_weights(state, 1)
    data = batch(256, seed=1)
    obs, masks = data["observations"], data["legal_masks"]
    logits_cpu, values_cpu = cpu(obs, masks)
    logits_dev, values_dev = device(obs, masks)
    assert logits_dev.dtype == np.float32 and values_dev.dtype == np.float32
    legal = masks.astype(bool)
    # bf16 autocast on CUDA: about 3 significant digits.
    np.testing.assert_allclose(logits_dev[legal], logits_cpu[legal], atol=0.05, rtol=0.05)
    np.testing.assert_allclose(values_dev, values_cpu, atol=0.03)
    assert (logits_dev[~legal] == logits_cpu[~legal]).all()  # the mask value is exact


def test_shared_inference_server_on_the_device() -> None:
    torch.manual_seed(0)
    state = PolicyValueNet(C4, NET).state_dict()
    reference = TorchEvaluator(PolicyValueNet(C4, NET), DEVICE)
    reference.load_weights(state, 1)
    data = batch(96, seed=2)
    parts = [(data["observations"][i:i + 32], data["legal_masks"][i:i + 32]) for i in range(0, 96, 32)]

    async def main():
        server = InferenceServer(C4, NET, device=DEVICE)
        await server.load_weights(1, state)
        answers = await asyncio.gather(*(server.evaluate(1, obs, masks) for obs, masks in parts))
        return answers, server.stats()

    answers, stats = asyncio.run(main())
    assert stats.batches == 1 and stats.positions == 96
    for (obs, masks), (logits, values) in zip(parts, answers, strict=True):
        want_logits, want_values = reference(obs, masks)
        legal = masks.astype(bool)
        np.testing.assert_allclose(logits[legal], want_logits[legal], atol=0.05, rtol=0.05)
        np.testing.assert_allclose(values, want_values, atol=0.03)
