"""zeroplay's learner: network, loss, replay buffer, training loop, checkpoints, inference.

Pure torch + numpy (no Ray; ``cluster/`` wraps these classes in actors).

* :mod:`learner.network`: :class:`NetworkConfig`, :class:`PolicyValueNet`
* :mod:`learner.loss`: :func:`compute_loss` -> :class:`LossTerms`
* :mod:`learner.replay`: :class:`ReplayBuffer`, :class:`Batch`
* :mod:`learner.train`: :class:`TrainConfig`, :class:`Learner`, :func:`learning_rate_at`
* :mod:`learner.checkpoint`: :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`load_network`,
  :func:`latest_checkpoint`, :func:`latest_valid_checkpoint`, :func:`verify_checkpoint`, :class:`CheckpointError`
* :mod:`learner.inference`: :class:`TorchEvaluator`, :func:`network_throughput`
* :mod:`learner.backends`: how the network runs for inference (eager, TorchScript,
  torch.compile, ONNX Runtime), each checked against eager mode, falling back to it
"""

from __future__ import annotations

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
from learner.inference import TorchEvaluator, network_throughput, set_torch_threads
from learner.loss import LossTerms, compute_loss
from learner.network import MASK_VALUE, NetworkConfig, PolicyValueNet
from learner.replay import Batch, ReplayBuffer
from learner.train import Learner, TrainConfig, learning_rate_at

__all__ = [
    "MASK_VALUE",
    "Batch",
    "Checkpoint",
    "CheckpointError",
    "Learner",
    "LossTerms",
    "NetworkConfig",
    "PolicyValueNet",
    "ReplayBuffer",
    "TorchEvaluator",
    "TrainConfig",
    "compute_loss",
    "latest_checkpoint",
    "latest_valid_checkpoint",
    "learning_rate_at",
    "list_checkpoints",
    "load_checkpoint",
    "load_network",
    "network_throughput",
    "save_checkpoint",
    "set_torch_threads",
    "verify_checkpoint",
]
