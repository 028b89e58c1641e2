"""Evaluators: the bridge from numpy self-play/search code to a torch network.

zeroplay's evaluator contract: a callable
``evaluate(observations [B, C, H, W] float32, legal_masks [B, A] bool)
-> (policy_logits [B, A] float32, values [B] float32)``, all numpy. Logits of
illegal actions are a large negative finite number (:data:`learner.network.MASK_VALUE`);
values are from the point of view of the player to move, in ``(-1, 1)``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from learner.device import autocast
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

    Attributes:
        weights_version: version of the weights currently loaded.
        evaluations: number of positions evaluated so far.
    """

    def __init__(
        self,
        net: PolicyValueNet,
        device: str | torch.device = "cpu",
        *,
        num_threads: int | None = None,
        weights_version: int = 0,
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

    def load_weights(self, state_dict: Mapping[str, Any], version: int) -> None:
        """Load a network state dict (tensors or numpy arrays) and record its ``version``."""
        tensors = {
            k: (torch.from_numpy(np.asarray(v)) if not isinstance(v, torch.Tensor) else v)
            for k, v in state_dict.items()
        }
        self.net.load_state_dict(tensors)
        self.net.eval()
        self.weights_version = int(version)

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
        with torch.inference_mode(), autocast(self.device):
            logits, values = self.net(
                torch.from_numpy(obs).to(self.device, non_blocking=True),
                torch.from_numpy(masks).to(self.device, non_blocking=True),
            )
            logits_np = logits.float().cpu().numpy()
            values_np = values.float().cpu().numpy()
        self.evaluations += obs.shape[0]
        return logits_np, values_np

    __call__ = evaluate

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike[str], device: str | torch.device = "cpu", *, num_threads: int | None = None
    ) -> TorchEvaluator:
        """An evaluator holding a checkpoint's weights (version from its metadata)."""
        from learner.checkpoint import load_network

        _, net, meta = load_network(path, device)
        return cls(net, device, num_threads=num_threads, weights_version=int(meta["weights_version"]))


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
) -> float:
    """Raw inference speed in positions/s of ``net`` at ``batch_size`` (random 0/1 observations).

    Runs ``warmup_batches`` untimed batches, then batches until ``min_seconds`` have
    elapsed (or ``max_batches`` were run). Numpy-free: times the torch forward pass
    including the legal mask, under ``torch.inference_mode`` in eval mode.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    previous_threads = torch.get_num_threads()
    set_torch_threads(num_threads)
    device = torch.device(device)
    was_training = net.training
    net = net.to(device).eval()
    try:
        gen = torch.Generator().manual_seed(seed)
        obs = (torch.rand((batch_size, *net.observation_shape), generator=gen) < 0.5).float().to(device)
        mask = torch.ones((batch_size, net.num_actions), dtype=torch.bool, device=device)
        with torch.inference_mode():
            for _ in range(warmup_batches):
                net(obs, mask)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            n = 0
            start = time.perf_counter()
            while True:
                net(obs, mask)
                n += 1
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                elapsed = time.perf_counter() - start
                if elapsed >= min_seconds or (max_batches is not None and n >= max_batches):
                    break
        return n * batch_size / elapsed
    finally:
        net.train(was_training)
        if num_threads is not None:
            torch.set_num_threads(previous_threads)


__all__ = ["TorchEvaluator", "network_throughput", "set_torch_threads"]
