"""Evaluators: the bridge from numpy self-play/search code to a torch network.

zeroplay's evaluator contract: a callable
``evaluate(observations [B, C, H, W] float32, legal_masks [B, A] bool)
-> (policy_logits [B, A] float32, values [B] float32)``, all numpy. Logits of
illegal actions are a large negative finite number (:data:`learner.network.MASK_VALUE`);
values are from the point of view of the player to move, in ``(-1, 1)``.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from learner.backends import build_runner, check_backend_name, reload_runner, spawn_runner
from learner.network import PolicyValueNet


def set_torch_threads(num_threads: int | None) -> None:
    """Set torch's intra-op threads (process-wide); ``None`` leaves the current setting.

    Self-play actors use 1 thread each, so that N actors on N cores don't oversubscribe.
    """
    if num_threads is None:
        return
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)


class TorchEvaluator:
    """A :class:`PolicyValueNet` behind the numpy evaluator contract (module docstring).

    Args:
        net: the network (moved to ``device`` and put in eval mode).
        device: torch device for inference.
        num_threads: torch intra-op threads to set (process-wide); ``None`` leaves it.
        weights_version: version of the weights the net holds now.
        backend: how the network runs (:mod:`learner.backends`): ``"eager"`` (the
            default), ``"auto"`` (the fastest that builds: ONNX Runtime on the CPU where
            installed, else a frozen TorchScript trace), ``"channels_last"``, ``"jit"``,
            ``"compile"``, ``"compile:MODE"`` or ``"onnxruntime"``. One that is
            unavailable, fails to build or disagrees with eager mode logs a warning
            and eager mode is used; :attr:`backend` tells which runs. Backends other
            than eager, channels_last and compile hold a snapshot of the weights, taken
            at construction and at every :meth:`load_weights`: change the weights
            through :meth:`load_weights`, not by editing ``net`` in place.

    Attributes:
        weights_version: version of the weights currently loaded.
        evaluations: number of positions evaluated so far.
        requested_backend: the backend asked for.
        backend: the backend that runs (``"eager"`` after a fallback).
        reload_seconds: wall time of the last :meth:`load_weights` (the backend's rebuild included).
    """

    def __init__(
        self,
        net: PolicyValueNet,
        device: str | torch.device = "cpu",
        *,
        num_threads: int | None = None,
        weights_version: int = 0,
        backend: str = "eager",
    ) -> None:
        set_torch_threads(num_threads)
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        if self.device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.weights_version = int(weights_version)
        self.evaluations = 0
        self.observation_shape = tuple(net.observation_shape)
        self.num_actions = int(net.num_actions)
        self.requested_backend = check_backend_name(backend)
        self._runner = build_runner(self.net, backend, device=self.device, num_threads=num_threads)
        self.reload_seconds = 0.0

    @property
    def backend(self) -> str:
        """The backend that runs now (``"eager"`` after a fallback)."""
        return self._runner.name

    @property
    def build_seconds(self) -> float:
        """Wall time the backend took to build (its first compilation included)."""
        return self._runner.build_seconds

    def load_weights(self, state_dict: Mapping[str, Any], version: int) -> None:
        """Load a network state dict (tensors or numpy arrays) and record its ``version``."""
        tensors = {
            k: (torch.from_numpy(np.asarray(v)) if not isinstance(v, torch.Tensor) else v)
            for k, v in state_dict.items()
        }
        start = time.perf_counter()
        self.net.load_state_dict(tensors)
        self.net.eval()
        self._runner = reload_runner(self._runner)
        self.weights_version = int(version)
        self.reload_seconds = time.perf_counter() - start

    def with_weights(self, state_dict: Mapping[str, Any], version: int) -> TorchEvaluator:
        """A second evaluator of the same network and backend holding other weights.

        Shares what the backend built that does not depend on the weights (ONNX
        Runtime's exported graph), so it costs a reload, not a build.
        """
        other = copy.copy(self)
        other.net = copy.deepcopy(self.net)
        other.evaluations = 0
        other.weights_version = self.weights_version
        tensors = {
            k: (torch.from_numpy(np.asarray(v)) if not isinstance(v, torch.Tensor) else v)
            for k, v in state_dict.items()
        }
        start = time.perf_counter()
        other.net.load_state_dict(tensors)
        other._runner = spawn_runner(self._runner, other.net)
        other.weights_version = int(version)
        other.reload_seconds = time.perf_counter() - start
        return other

    def evaluate(self, observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(policy_logits [B, A] float32, values [B] float32)`` of a batch (see the module docstring)."""
        obs = np.ascontiguousarray(observations, dtype=np.float32)
        masks = np.ascontiguousarray(legal_masks, dtype=bool)
        if not obs.flags.writeable:  # torch.from_numpy wants writable memory (games cache read-only masks)
            obs = obs.copy()
        if not masks.flags.writeable:
            masks = masks.copy()
        if obs.ndim != 4 or tuple(obs.shape[1:]) != self.observation_shape:
            raise ValueError(
                f"observations must be [B, {', '.join(map(str, self.observation_shape))}], got {list(obs.shape)}"
            )
        if masks.shape != (obs.shape[0], self.num_actions):
            raise ValueError(f"legal_masks must be [{obs.shape[0]}, {self.num_actions}], got {list(masks.shape)}")
        if obs.shape[0] == 0:
            return np.zeros((0, self.num_actions), np.float32), np.zeros((0,), np.float32)
        outputs = self._runner(obs, masks)
        self.evaluations += obs.shape[0]
        return outputs[0], outputs[1]

    __call__ = evaluate

    @property
    def has_area_heads(self) -> bool:
        """Whether the network predicts the final area (an ownership or a score head: Go)."""
        return bool(self.net.config.aux_heads)

    def area_estimate(self, observation: np.ndarray) -> tuple[np.ndarray | None, float | None]:
        """The network's view of one position's end: ``(ownership [H, W], score)``, both the mover's.

        Ownership is in (-1, 1), +1 where the player to move will own the point; the score
        is the mover's final area lead in points, komi included. Each is None when the
        network has no such head. Runs the eager network (the heads search does not use).
        """
        obs = np.ascontiguousarray(observation, dtype=np.float32)
        if tuple(obs.shape) != self.observation_shape:
            raise ValueError(f"observation must be [{', '.join(map(str, self.observation_shape))}], "
                             f"got {list(obs.shape)}")
        with torch.no_grad():
            out = self.net.heads(torch.from_numpy(obs.copy())[None].to(self.device))
        ownership = None if out.ownership is None else out.ownership[0].float().cpu().numpy()
        score = None if out.score is None else float(out.score[0])
        return ownership, score

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        device: str | torch.device = "cpu",
        *,
        num_threads: int | None = None,
        backend: str = "eager",
    ) -> TorchEvaluator:
        """An evaluator holding a checkpoint's weights (version from its metadata)."""
        from learner.checkpoint import load_network

        _, net, meta = load_network(path, device)
        return cls(net, device, num_threads=num_threads, weights_version=int(meta["weights_version"]), backend=backend)


def network_throughput(
    net: PolicyValueNet,
    batch_size: int,
    *,
    device: str | torch.device = "cpu",
    num_threads: int | None = None,
    min_seconds: float = 1.0,
    warmup_batches: int = 3,
    max_batches: int | None = None,
    seed: int = 0,
    backend: str = "eager",
) -> float:
    """Raw inference speed in positions/s of ``net`` at ``batch_size`` (random 0/1 observations).

    Runs ``warmup_batches`` untimed batches, then batches until ``min_seconds`` have
    elapsed (or ``max_batches`` were run). Times the evaluator contract's numpy call
    through ``backend`` (:mod:`learner.backends`; built on a copy of ``net`` before
    the clock starts), all moves legal.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    previous_threads = torch.get_num_threads()
    set_torch_threads(num_threads)
    try:
        device = torch.device(device)
        runner = build_runner(copy.deepcopy(net).to(device).eval(), backend, device=device, num_threads=num_threads)
        gen = torch.Generator().manual_seed(seed)
        obs = (torch.rand((batch_size, *net.observation_shape), generator=gen) < 0.5).float().numpy()
        mask = np.ones((batch_size, net.num_actions), dtype=bool)
        for _ in range(warmup_batches):
            runner(obs, mask)
        n = 0
        start = time.perf_counter()
        while True:
            runner(obs, mask)  # returns numpy: a CUDA forward has finished
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds or (max_batches is not None and n >= max_batches):
                break
        return n * batch_size / elapsed
    finally:
        if num_threads is not None:
            torch.set_num_threads(previous_threads)


__all__ = ["TorchEvaluator", "network_throughput", "set_torch_threads"]
