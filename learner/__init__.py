"""zeroplay's learner: network, loss, replay buffer, training loop, checkpoints, inference.

Pure torch + numpy (no Ray; ``cluster/`` wraps these classes in actors).

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
from learner.loss import LossTerms, compute_loss, wdl_target
from learner.network import (
    MASK_VALUE,
    NetworkConfig,
    NetworkConfigError,
    NetworkOutput,
    PolicyValueNet,
    expected_score,
)
from learner.replay import Batch, ReplayBuffer, ReplayWindow
from learner.train import (
    Learner,
    TrainConfig,
    TrainConfigError,
    learning_rate_at,
    load_across_sizes,
    make_optimizer,
    weight_decay_factor,
)

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
