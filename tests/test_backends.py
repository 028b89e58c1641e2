"""Inference backends: the same numbers as eager mode, new weights followed cheaply, clean fallbacks."""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pytest
import torch

import games
from cluster.config.presets import network_config
from learner import PolicyValueNet, TorchEvaluator, network_throughput
from learner import backends as backends_module
from learner.backends import TOLERANCE, BackendUnavailable, build_runner, check_backend_name

HAS_ORT = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None
needs_ort = pytest.mark.skipif(not HAS_ORT, reason="onnx and onnxruntime are missing (pip install -e . installs them)")

SPECS = {
    "tictactoe": {"name": "tictactoe"},
    "connect4": {"name": "connect4"},
    "go9": {"name": "go", "size": 9},
    "chess": {"name": "chess"},
}
FAST_BACKENDS = ["channels_last", "jit", pytest.param("onnxruntime", marks=needs_ort)]


def preset_net(key: str, seed: int = 0) -> tuple[games.Game, PolicyValueNet]:
    """The game's default network with BatchNorm statistics that are not the identity (so folding them counts)."""
    game = games.from_spec(SPECS[key])
    torch.manual_seed(seed)
    net = PolicyValueNet(game, network_config(game)).eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.3, 0.3)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.7, 1.3)
                module.bias.uniform_(-0.1, 0.1)
    return game, net


def positions(game: games.Game, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` positions of random games (observations, legal masks), none terminal."""
    rng = np.random.default_rng(seed)
    obs, masks = [], []
    state = game.initial_state()
    while len(obs) < count:
        if state.is_terminal() or rng.random() < 0.05:
            state = game.initial_state()
            continue
        obs.append(state.observation())
        masks.append(state.legal_mask())
        state = state.apply(int(rng.choice(state.legal_actions())))
    return np.stack(obs).astype(np.float32), np.stack(masks).astype(bool)


def max_abs_error(evaluator: TorchEvaluator, reference: TorchEvaluator, obs: np.ndarray, masks: np.ndarray) -> float:
    logits, values = evaluator(obs, masks)
    want_logits, want_values = reference(obs, masks)
    assert logits.dtype == np.float32 and values.dtype == np.float32
    assert logits.shape == want_logits.shape and values.shape == want_values.shape
    return max(float(np.abs(logits - want_logits)[masks].max()), float(np.abs(values - want_values).max()))


@pytest.mark.slow
@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("key", list(SPECS))
def test_backend_matches_eager_on_random_positions_of_each_game(key: str, backend: str) -> None:
    game, net = preset_net(key)
    reference = TorchEvaluator(net)
    _, copy_net = preset_net(key)
    evaluator = TorchEvaluator(copy_net, num_threads=1, backend=backend)
    assert evaluator.backend == backend
    for batch, seed in [(1, 1), (7, 2), (64, 3), (130, 4)]:  # batch sizes vary: no rebuild, same numbers
        obs, masks = positions(game, batch, seed)
        assert max_abs_error(evaluator, reference, obs, masks) <= 1e-4
        logits, _ = evaluator(obs, masks)
        assert np.all(logits[~masks] == reference(obs, masks)[0][~masks])  # illegal moves stay masked


@pytest.mark.slow
@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_load_weights_is_followed_by_the_backend(backend: str) -> None:
    game, net = preset_net("connect4", seed=0)
    evaluator = TorchEvaluator(net, num_threads=1, backend=backend)
    obs, masks = positions(game, 9, 5)
    before = evaluator(obs, masks)
    for version, seed in [(1, 1), (2, 2), (3, 1)]:
        _, other = preset_net("connect4", seed=seed)
        evaluator.load_weights({k: v.numpy() for k, v in other.state_dict().items()}, version)
        assert evaluator.backend == backend and evaluator.weights_version == version
        assert max_abs_error(evaluator, TorchEvaluator(other), obs, masks) <= 1e-4
        assert not np.allclose(evaluator(obs, masks)[1], before[1])  # really the new weights


@needs_ort
def test_onnxruntime_exports_once_and_reloads_without_exporting(monkeypatch: pytest.MonkeyPatch) -> None:
    exports = []
    real_export = torch.onnx.export
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: exports.append(1) or real_export(*a, **k))
    game, net = preset_net("tictactoe")
    evaluator = TorchEvaluator(net, backend="onnxruntime")
    for version in range(1, 4):
        _, other = preset_net("tictactoe", seed=version)
        evaluator.load_weights(other.state_dict(), version)
    _, other = preset_net("tictactoe", seed=9)
    second = evaluator.with_weights(other.state_dict(), 9)
    assert len(exports) == 1
    obs, masks = positions(game, 5, 0)
    assert second.backend == "onnxruntime" and second.weights_version == 9 and evaluator.weights_version == 3
    assert max_abs_error(second, TorchEvaluator(other), obs, masks) <= 1e-4
    _, third = preset_net("tictactoe", seed=3)
    assert max_abs_error(evaluator, TorchEvaluator(third), obs, masks) <= 1e-4  # the first one kept its own


def test_generic_over_the_module_outputs() -> None:
    """A network whose value output is [B, 3] (win/draw/loss) runs through every backend unchanged."""

    class WDLNet(torch.nn.Module):
        observation_shape = (2, 3, 3)
        num_actions = 9

        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.policy = torch.nn.Linear(36, 9)
            self.value = torch.nn.Linear(36, 3)

        def forward(self, obs: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = torch.relu(self.bn(self.conv(obs))).flatten(1)
            return self.policy(x).masked_fill(~mask, -1e9), torch.softmax(self.value(x), -1)

    torch.manual_seed(0)
    net = WDLNet().eval()
    obs = (torch.rand(6, 2, 3, 3) < 0.5).float().numpy()
    masks = np.ones((6, 9), bool)
    want = build_runner(net, "eager")(obs, masks)
    for backend in ["channels_last", "jit", *(["onnxruntime"] if HAS_ORT else [])]:
        got = build_runner(net, backend)(obs, masks)
        assert len(got) == 2 and got[1].shape == (6, 3)
        assert max(float(np.abs(a - b).max()) for a, b in zip(got, want, strict=True)) <= 1e-5


def test_unavailable_backend_falls_back_to_eager_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing() -> None:
        raise BackendUnavailable("the onnxruntime backend needs the onnx and onnxruntime packages (none here)")

    monkeypatch.setattr(backends_module, "_import_onnxruntime", missing)
    game, net = preset_net("tictactoe")
    with caplog.at_level(logging.WARNING, logger="learner.backends"):
        evaluator = TorchEvaluator(net, backend="onnxruntime")
    assert evaluator.backend == "eager" and evaluator.requested_backend == "onnxruntime"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    assert "onnxruntime" in warnings[0].getMessage() and "eager" in warnings[0].getMessage()
    obs, masks = positions(game, 4, 0)
    assert max_abs_error(evaluator, TorchEvaluator(preset_net("tictactoe")[1]), obs, masks) == 0.0
    # "auto" without ONNX Runtime: the next candidate, quietly
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="learner.backends"):
        assert TorchEvaluator(preset_net("tictactoe")[1], backend="auto").backend == "jit"
    assert not caplog.records


def test_backend_that_fails_to_build_or_disagrees_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: backends_module.JitRunner) -> None:
        raise RuntimeError("trace failed\nwith a second line")

    _, net = preset_net("tictactoe")
    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING, logger="learner.backends"):
        patch.setattr(backends_module.JitRunner, "_trace", broken)
        assert TorchEvaluator(net, backend="jit").backend == "eager"
    assert len(caplog.records) == 1 and "second line" not in caplog.records[0].getMessage()

    real_call = backends_module.ChannelsLastRunner.__call__

    def off_by_a_little(self, obs, masks):  # noqa: ANN001, ANN202
        logits, values = real_call(self, obs, masks)
        return logits, values + 10 * TOLERANCE

    evaluator = TorchEvaluator(preset_net("tictactoe")[1], backend="channels_last")
    assert evaluator.backend == "channels_last"
    monkeypatch.setattr(backends_module.ChannelsLastRunner, "__call__", off_by_a_little)
    evaluator.load_weights(preset_net("tictactoe", seed=1)[1].state_dict(), 1)  # checked again after a load
    assert evaluator.backend == "eager"
    assert TorchEvaluator(preset_net("tictactoe")[1], backend="channels_last").backend == "eager"


def test_backend_names_are_checked() -> None:
    for name in ["auto", "eager", "jit", "compile", "compile:max-autotune-no-cudagraphs", "onnxruntime"]:
        assert check_backend_name(name) == name
    for bad in ["tensorrt", "jit:default", "compile:fastest", ""]:
        with pytest.raises(ValueError, match="unknown inference backend"):
            TorchEvaluator(preset_net("tictactoe")[1], backend=bad)


def test_network_throughput_through_a_backend() -> None:
    _, net = preset_net("tictactoe")
    for backend in ["eager", "jit"]:
        rate = network_throughput(net, 4, num_threads=1, min_seconds=0.0, warmup_batches=1, max_batches=2,
                                  backend=backend)
        assert rate > 0
    assert not net.training


@pytest.mark.slow
def test_compile_follows_new_weights_without_recompiling() -> None:
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    game, net = preset_net("tictactoe")
    evaluator = TorchEvaluator(net, num_threads=1, backend="compile")
    assert evaluator.backend == "compile"
    obs, masks = positions(game, 40, 0)
    for batch in [2, 5, 40]:
        evaluator(obs[:batch], masks[:batch])
    graphs = counters["stats"]["unique_graphs"]
    for version, seed in [(1, 1), (2, 2)]:
        _, other = preset_net("tictactoe", seed=seed)
        evaluator.load_weights(other.state_dict(), version)
        assert evaluator.backend == "compile"
        assert max_abs_error(evaluator, TorchEvaluator(other), obs[:7], masks[:7]) <= 1e-4
        assert max_abs_error(evaluator, TorchEvaluator(other), obs[:33], masks[:33]) <= 1e-4
    assert counters["stats"]["unique_graphs"] == graphs  # new weights and new batch sizes: no recompilation


def test_selfplay_inference_backend_setting() -> None:
    from cluster.config.run import SelfPlaySettings
    from cluster.config.settings import ConfigError

    assert SelfPlaySettings().inference_backend == "auto"
    assert SelfPlaySettings(inference_backend="compile:max-autotune-no-cudagraphs").inference_backend
    with pytest.raises(ConfigError, match="selfplay.inference_backend: unknown inference backend 'tensorrt'"):
        SelfPlaySettings(inference_backend="tensorrt")


@needs_ort
def test_onnxruntime_holds_a_snapshot_of_the_weights() -> None:
    """ONNX Runtime reads the weights at build and at load_weights, never half-live from the module."""
    game, net = preset_net("connect4")
    evaluator = TorchEvaluator(net, backend="onnxruntime")
    obs, masks = positions(game, 6, 0)
    before = evaluator(obs, masks)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(1.5)
    after = evaluator(obs, masks)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
