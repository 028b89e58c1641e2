"""The shared inference server: merged batches give each client exactly its own answers."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

import games
from learner import NetworkConfig, PolicyValueNet, TorchEvaluator
from learner.inference_server import InferenceServer, WeightsVersionError

GAME = games.make("connect4")
NETWORK = NetworkConfig(blocks=1, channels=8, value_hidden=16)


def weights(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return PolicyValueNet(GAME, NETWORK).state_dict()


def reference(seed: int) -> TorchEvaluator:
    evaluator = TorchEvaluator(PolicyValueNet(GAME, NETWORK))
    evaluator.load_weights(weights(seed), seed)
    return evaluator


def leaves(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` positions of random Connect Four games: observations [count, 3, 6, 7], masks [count, 7]."""
    rng = np.random.default_rng(seed)
    states = []
    while len(states) < count:
        state = GAME.initial_state()
        for _ in range(rng.integers(0, 20)):
            if state.is_terminal():
                break
            state = state.apply(int(rng.choice(state.legal_actions())))
        if not state.is_terminal():
            states.append(state)
    return np.stack([s.observation() for s in states]), np.stack([s.legal_mask() for s in states])


def run(coroutine):
    return asyncio.run(coroutine)


def test_concurrent_clients_share_one_forward_pass_and_get_their_own_answers() -> None:
    async def main():
        server = InferenceServer(GAME, NETWORK)
        await server.load_weights(3, weights(3))
        batches = [leaves(n, seed) for seed, n in enumerate([5, 1, 16, 7, 3, 9])]
        answers = await asyncio.gather(*(server.evaluate(3, obs, masks) for obs, masks in batches))
        return server.stats(), batches, answers

    stats, batches, answers = run(main())
    evaluator = reference(3)
    for (obs, masks), (logits, values) in zip(batches, answers, strict=True):
        want_logits, want_values = evaluator(obs, masks)
        assert logits.shape == (len(obs), GAME.num_actions) and values.shape == (len(obs),)
        np.testing.assert_allclose(logits, want_logits, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(values, want_values, rtol=1e-4, atol=1e-5)
    # All six requests were queued before the server ran: one forward pass of 41 positions.
    assert (stats.requests, stats.batches, stats.positions) == (6, 1, 41)


def test_max_batch_splits_the_queue_without_splitting_a_request() -> None:
    async def main():
        server = InferenceServer(GAME, NETWORK, max_batch=10)
        await server.load_weights(0, weights(0))
        batches = [leaves(n, seed) for seed, n in enumerate([4, 4, 4, 12, 1])]
        answers = await asyncio.gather(*(server.evaluate(0, obs, masks) for obs, masks in batches))
        return server.stats(), batches, answers

    stats, batches, answers = run(main())
    # In queue order: [4, 4] | [4] | [12] (alone: larger than max_batch) | [1].
    assert stats.batches == 4 and stats.positions == 25
    evaluator = reference(0)
    for (obs, masks), (logits, _) in zip(batches, answers, strict=True):
        np.testing.assert_allclose(logits, evaluator(obs, masks)[0], rtol=1e-4, atol=1e-5)


def test_each_request_is_answered_by_the_version_it_names() -> None:
    async def main():
        server = InferenceServer(GAME, NETWORK, keep_versions=2)
        await server.load_weights(1, weights(1))
        await server.load_weights(2, weights(2))
        obs, masks = leaves(6, 0)
        old, new = await asyncio.gather(server.evaluate(1, obs, masks), server.evaluate(2, obs, masks))
        return obs, masks, old, new, server.stats()

    obs, masks, old, new, stats = run(main())
    np.testing.assert_allclose(old[1], reference(1)(obs, masks)[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new[1], reference(2)(obs, masks)[1], rtol=1e-4, atol=1e-5)
    assert not np.allclose(old[1], new[1])
    assert stats.batches == 2  # two networks never share a forward pass


def test_versions_beyond_keep_versions_are_dropped_and_named_in_the_error() -> None:
    async def main():
        server = InferenceServer(GAME, NETWORK, keep_versions=2)
        assert await server.load_weights(5, weights(5))
        assert not await server.load_weights(5, weights(5))  # held already
        await server.load_weights(7, weights(7))
        await server.load_weights(6, weights(6))  # arrives late: still sorted by version
        obs, masks = leaves(2, 1)
        with pytest.raises(WeightsVersionError, match=r"no weights version 5 \(held: 6, 7\)"):
            await server.evaluate(5, obs, masks)
        return server.versions()

    assert run(main()) == (6, 7)


def test_concurrent_loads_of_one_version_load_it_once() -> None:
    async def main():
        server = InferenceServer(GAME, NETWORK)
        loaded = await asyncio.gather(*(server.load_weights(4, weights(4)) for _ in range(5)))
        return loaded, server.versions()

    loaded, versions = run(main())
    assert sorted(loaded) == [False, False, False, False, True] and versions == (4,)


def test_bad_request_shapes_are_refused_naming_the_shape() -> None:
    async def main():
        server = InferenceServer(GAME, NETWORK)
        await server.load_weights(0, weights(0))
        obs, masks = leaves(3, 0)
        with pytest.raises(ValueError, match=r"observations must be \[b, 3, 6, 7\], got \[3, 3, 7, 6\]"):
            await server.evaluate(0, obs.transpose(0, 1, 3, 2), masks)
        with pytest.raises(ValueError, match=r"legal_masks must be \[3, 7\], got \[2, 7\]"):
            await server.evaluate(0, obs, masks[:2])
        return server.stats()

    assert run(main()).batches == 0


def test_server_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        InferenceServer(GAME, NETWORK, max_batch=0)
    with pytest.raises(ValueError, match="keep_versions"):
        InferenceServer(GAME, NETWORK, keep_versions=0)
    with pytest.raises(ValueError, match="unknown inference backend"):
        InferenceServer(GAME, NETWORK, backend="tensorrt")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jit", "onnxruntime"])
def test_a_faster_backend_serves_every_version_with_eager_mode_answers(backend: str) -> None:
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")

    async def main():
        server = InferenceServer(GAME, NETWORK, backend=backend, keep_versions=2)
        batches = [leaves(n, seed) for seed, n in enumerate([4, 1, 9])]
        answers = {}
        for version in (1, 2, 3):  # versions after the first reuse the first one's backend
            await server.load_weights(version, weights(version))
            answers[version] = await asyncio.gather(*(server.evaluate(version, o, m) for o, m in batches))
        return server, batches, answers

    server, batches, answers = run(main())
    assert server.versions() == (2, 3)
    assert all(server._models[v].backend == backend for v in server.versions())
    for version, got in answers.items():
        evaluator = reference(version)
        for (obs, masks), (logits, values) in zip(batches, got, strict=True):
            want_logits, want_values = evaluator(obs, masks)
            np.testing.assert_allclose(logits[masks], want_logits[masks], atol=1e-4, rtol=0)
            np.testing.assert_allclose(values, want_values, atol=1e-4, rtol=0)
