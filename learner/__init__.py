"""zeroplay's learner: network, loss, replay buffer, training loop, checkpoints, inference.

Pure torch + numpy (no Ray; ``cluster/`` wraps these classes in actors).

* :mod:`learner.config`: :class:`NetworkConfig`, :class:`TrainConfig` (no torch: settings are
  built and checked before anything trains)
* :mod:`learner.network`: :class:`NetworkConfig`, :class:`PolicyValueNet`, :func:`expected_score`
* :mod:`learner.loss`: :func:`compute_loss` -> :class:`LossTerms`, :func:`wdl_target`
* :mod:`learner.replay`: :class:`ReplayBuffer`, :class:`ReplayWindow`, :class:`Batch`
* :mod:`learner.train`: :class:`TrainConfig`, :class:`Learner`, :func:`learning_rate_at`,
  :func:`make_optimizer`, :func:`weight_decay_factor`, :func:`load_across_sizes`
* :mod:`learner.checkpoint`: :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`load_network`,
  :func:`latest_checkpoint`, :func:`latest_valid_checkpoint`, :func:`verify_checkpoint`, :class:`CheckpointError`
* :mod:`learner.inference`: :class:`TorchEvaluator`, :func:`network_throughput`
* :mod:`learner.backends`: how the network runs for inference (eager, TorchScript,
  torch.compile, ONNX Runtime), each checked against eager mode, falling back to it

The names below are imported on first use (PEP 562), so ``import learner.config`` or
``import learner.replay`` does not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Each public name -> the module that defines it.
_HOMES = {
    "Checkpoint": "checkpoint", "CheckpointError": "checkpoint", "latest_checkpoint": "checkpoint",
    "latest_valid_checkpoint": "checkpoint", "list_checkpoints": "checkpoint", "load_checkpoint": "checkpoint",
    "load_network": "checkpoint", "save_checkpoint": "checkpoint", "verify_checkpoint": "checkpoint",
    "TorchEvaluator": "inference", "network_throughput": "inference", "set_torch_threads": "inference",
    "LossTerms": "loss", "compute_loss": "loss", "wdl_target": "loss",
    "MASK_VALUE": "network", "NetworkOutput": "network", "PolicyValueNet": "network", "expected_score": "network",
    "NetworkConfig": "config", "NetworkConfigError": "config", "TrainConfig": "config", "TrainConfigError": "config",
    "Batch": "replay", "ReplayBuffer": "replay", "ReplayWindow": "replay",
    "Learner": "train", "learning_rate_at": "train", "load_across_sizes": "train", "make_optimizer": "train",
    "weight_decay_factor": "train",
}

if TYPE_CHECKING:
    from learner.checkpoint import (
        Checkpoint,
        CheckpointError,
        latest_checkpoint,
        latest_valid_checkpoint,
        list_checkpoints,
        load_checkpoint,
        load_network,
        save_checkpoint,
        verify_checkpoint,
    )
    from learner.config import NetworkConfig, NetworkConfigError, TrainConfig, TrainConfigError
    from learner.inference import TorchEvaluator, network_throughput, set_torch_threads
    from learner.loss import LossTerms, compute_loss, wdl_target
    from learner.network import MASK_VALUE, NetworkOutput, PolicyValueNet, expected_score
    from learner.replay import Batch, ReplayBuffer, ReplayWindow
    from learner.train import Learner, learning_rate_at, load_across_sizes, make_optimizer, weight_decay_factor


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'learner' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"learner.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


__all__ = [
    "MASK_VALUE",
    "Batch",
    "Checkpoint",
    "CheckpointError",
    "Learner",
    "LossTerms",
    "NetworkConfig",
    "NetworkConfigError",
    "NetworkOutput",
    "PolicyValueNet",
    "ReplayBuffer",
    "ReplayWindow",
    "TorchEvaluator",
    "TrainConfig",
    "TrainConfigError",
    "compute_loss",
    "expected_score",
    "latest_checkpoint",
    "latest_valid_checkpoint",
    "learning_rate_at",
    "list_checkpoints",
    "load_across_sizes",
    "load_checkpoint",
    "load_network",
    "make_optimizer",
    "network_throughput",
    "save_checkpoint",
    "set_torch_threads",
    "verify_checkpoint",
    "wdl_target",
    "weight_decay_factor",
]
