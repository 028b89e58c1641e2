"""The Learner: owns the network and optimizer, takes training steps, publishes weights.

Learning-rate schedules (:func:`learning_rate_at`), all with an optional linear
warmup: during the first ``warmup_steps`` steps the rate is
``learning_rate * (step + 1) / warmup_steps``; afterwards

* ``"constant"``: ``learning_rate``;
* ``"step"``: ``learning_rate * lr_gamma ** n`` where ``n`` is the number of
  ``lr_milestones`` that are ``<= step``;
* ``"cosine"``: from ``learning_rate`` down to ``learning_rate * min_lr_ratio`` along
  a half cosine between ``warmup_steps`` and ``total_steps``, then flat.

``step`` is the number of optimizer steps already taken (0 for the first step).
The schedule is a pure function of the step, so the step counter is the whole
scheduler state and resuming is exact.

Weight decay is applied by the optimizer to convolution and linear weights only
(parameters with more than one dimension; biases and batch-norm parameters are not
decayed). ``TrainConfig.weight_decay`` keeps the meaning each optimizer gives it, so
that its value reads as in that optimizer's literature:

* ``"sgd"``: the **L2 coefficient** ``c``. Each step adds ``c * w`` to the gradient
  (the gradient of ``(c / 2) * ||w||^2``) before momentum, so a weight whose loss
  gradient is zero loses about ``lr * c / (1 - momentum)`` of itself per step once
  the momentum buffer has filled (AlphaZero: ``c = 1e-4``, ``lr`` 0.2 dropped to 0.0002).
* ``"adamw"``: **decoupled decay** ``lambda``. Each step multiplies the weight by
  ``1 - lr * lambda``, outside Adam's moment estimates (torch's AdamW), so a weight
  whose loss gradient is zero loses exactly ``lr * lambda`` of itself per step. The
  number does not carry over from SGD: AlphaZero's ``1e-4`` shrinks weights by
  ``2e-4`` per step with SGD (lr 0.2, momentum 0.9) but by ``1e-7`` with AdamW at
  ``lr = 1e-3``, nothing over a run.

The two are put on one scale by :attr:`TrainConfig.decay_per_step` (the fraction a
weight with zero loss gradient loses per step at the peak learning rate) and by
:func:`weight_decay_factor` (the exact factor such a weight is multiplied by over a
number of steps under the learning-rate schedule, momentum included). Common ResNet
recipes sit near ``1e-4`` per step (SGD ``lr 0.1, c 1e-4, momentum 0.9``;
AlphaZero ``2e-4`` at its initial rate), which is what the per-game presets aim for
with AdamW (``lambda = 0.1`` at ``lr = 1e-3``). A weight's scale before batch
normalisation does not change the function, so there decay sets the effective
learning rate (the weight's angular step); on the heads' last layers it is L2.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from games.base import Game
from learner.config import TrainConfig, TrainConfigError
from learner.device import autocast, resolve_device
from learner.loss import LossTerms, compute_loss
from learner.network import NetworkConfig, NetworkOutput, PolicyValueNet

if TYPE_CHECKING:
    from learner.checkpoint import Checkpoint

STATE_FORMAT = "zeroplay-learner-state"
STATE_VERSION = 1

def learning_rate_at(config: TrainConfig, step: int) -> float:
    """The learning rate of optimizer step ``step`` (0-based); see the module docstring."""
    lr = config.learning_rate
    if step < config.warmup_steps:
        return lr * (step + 1) / config.warmup_steps
    if config.lr_schedule == "constant":
        return lr
    if config.lr_schedule == "step":
        n = sum(1 for m in config.lr_milestones if m <= step)
        return lr * config.lr_gamma**n
    # cosine
    progress = min(1.0, (step - config.warmup_steps) / (config.total_steps - config.warmup_steps))
    floor = lr * config.min_lr_ratio
    return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def weight_decay_factor(config: TrainConfig, steps: int, *, start: int = 0) -> float:
    """The factor a decayed weight with zero loss gradient is multiplied by over ``steps`` steps.

    Steps ``start, ..., start + steps - 1`` at the rates of :func:`learning_rate_at`, from a
    fresh optimizer state (an empty momentum buffer) at ``start``. With ``lr_s`` the rate of
    step ``s`` and the weight ``w_s`` before it:

    * ``"adamw"``: ``prod_s (1 - lr_s * weight_decay)`` (Adam's moments stay zero);
    * ``"sgd"``: torch's SGD on the gradient ``g_s = c * w_s`` (``c = weight_decay``,
      ``mu = momentum``): ``b_s = mu * b_{s-1} + g_s`` (``b = g`` on the first step),
      ``d_s = g_s + mu * b_s`` with Nesterov or ``b_s`` without, ``w_{s+1} = w_s - lr_s * d_s``.

    This is what the optimizer built by :func:`make_optimizer` does (``tests/test_learner.py``
    checks it against torch); it gives the size of the decay over a run in one number.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise TrainConfigError(f"weight_decay_factor: steps must be an int >= 0, got {steps!r}")
    c = config.weight_decay
    w = 1.0
    if config.optimizer == "adamw":
        for s in range(start, start + steps):
            w *= 1.0 - learning_rate_at(config, s) * c
        return w
    mu, buf = config.momentum, None
    for s in range(start, start + steps):
        g = c * w
        buf = g if buf is None else mu * buf + g
        d = g + mu * buf if config.nesterov else buf
        w -= learning_rate_at(config, s) * d
    return w


def make_optimizer(
    config: TrainConfig, named_parameters: Iterable[tuple[str, torch.nn.Parameter]]
) -> torch.optim.Optimizer:
    """The optimizer of ``config`` over ``named_parameters`` (e.g. ``net.named_parameters()``).

    Two parameter groups: parameters with more than one dimension (convolution and linear
    weights) decay by ``weight_decay`` (see the module docstring), the rest (biases,
    batch-norm scales and shifts) do not. The rate is that of step 0; :class:`Learner` sets
    each step's rate from :func:`learning_rate_at`.
    """
    decay, no_decay = [], []
    for _, p in named_parameters:
        (decay if p.dim() > 1 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    lr = learning_rate_at(config, 0)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(groups, lr=lr, betas=config.adam_betas)


def _batch_field(batch: Any, name: str) -> Any:
    if isinstance(batch, Mapping):
        return batch[name]
    return getattr(batch, name)


def _optional_field(batch: Any, name: str) -> Any:
    """A batch field that may be missing or ``None`` (the final-area targets)."""
    if isinstance(batch, Mapping):
        return batch.get(name)
    return getattr(batch, name, None)


class Learner:
    """Trains a :class:`PolicyValueNet` on replay batches.

    Args:
        game: the game.
        network_config: network size (default: ``NetworkConfig()``).
        train_config: hyper-parameters (default: ``TrainConfig()``).

    Attributes:
        step: optimizer steps taken so far.
        weights_version: version of the last published weights (0 = none published;
            the initial weights, before any publish, are version 0).
    """

    def __init__(
        self,
        game: Game,
        network_config: NetworkConfig | None = None,
        train_config: TrainConfig | None = None,
    ) -> None:
        self.game = game
        self.network_config = network_config if network_config is not None else NetworkConfig()
        self.config = train_config if train_config is not None else TrainConfig()
        self.device = resolve_device(self.config.device)
        # Deterministic initialisation without disturbing the caller's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            net = PolicyValueNet(game, self.network_config)
        self.net = net.to(self.device)
        if self.device.type == "cuda":
            # Tensor cores want NHWC activations; the weights keep their usual state dict keys.
            self.net = self.net.to(memory_format=torch.channels_last)
        self.optimizer = self._make_optimizer()
        self.rng = np.random.default_rng(self.config.seed)
        self.step = 0
        self.weights_version = 0
        self.last_published_step = 0
        self.last_checkpoint_step = 0

    def _make_optimizer(self) -> torch.optim.Optimizer:
        return make_optimizer(self.config, self.net.named_parameters())

    # ------------------------------------------------------------------ training
    def _tensor(self, value: Any, dtype: torch.dtype) -> torch.Tensor:
        if not isinstance(value, torch.Tensor):
            value = np.asarray(value)
            if not value.flags.writeable:  # zero-copy arrays from Ray's object store
                value = value.copy()
        t = torch.as_tensor(value)
        return t.to(device=self.device, dtype=dtype, non_blocking=True)

    def _to_tensors(self, batch: Any) -> tuple[torch.Tensor, ...]:
        return (
            self._tensor(_batch_field(batch, "observations"), torch.float32),
            self._tensor(_batch_field(batch, "legal_masks"), torch.bool),
            self._tensor(_batch_field(batch, "policy_targets"), torch.float32),
            self._tensor(_batch_field(batch, "value_targets"), torch.float32),
        )

    def _area_tensors(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None:
        """``(ownership_targets [B, H, W], score_targets [B], area_mask [B] or None)`` for a network
        with an ownership or score head; ``None`` for one without.

        Raises:
            TrainConfigError: the network has such a head but the batch has no final-area targets.
        """
        if not self.network_config.aux_heads:
            return None
        ownership, scores = _optional_field(batch, "ownership_targets"), _optional_field(batch, "score_targets")
        if ownership is None or scores is None:
            raise TrainConfigError(
                "the network has an ownership or score head but the batch has no ownership_targets "
                f"and score_targets ({self.game.name} positions from a buffer without final areas?)"
            )
        mask = _optional_field(batch, "area_mask")
        return (
            self._tensor(ownership, torch.float32),
            self._tensor(scores, torch.float32),
            None if mask is None else self._tensor(mask, torch.bool),
        )

    def train_step(self, batch: Any) -> dict[str, float]:
        """One optimizer step on ``batch``.

        ``batch`` is a :class:`learner.replay.Batch` or any object/mapping with
        ``observations``, ``legal_masks``, ``policy_targets`` and ``value_targets``
        (numpy arrays or tensors); for a network with an ownership or score head also
        ``ownership_targets`` ``[B, H, W]``, ``score_targets`` ``[B]`` and optionally
        ``area_mask`` ``[B]`` (the rows that have them).

        Returns:
            ``loss``, ``policy_loss``, ``value_loss``, ``policy_entropy``,
            ``value_accuracy``, ``policy_target_fraction`` (rows with a policy target,
            see :mod:`learner.loss`), ``value_mse`` (the value's squared error, whatever
            the head), ``ownership_loss`` and ``score_loss`` (with those heads, before
            their weights), ``lr``, ``grad_norm`` (before clipping) and ``step``
            (the step count after this step), as floats.
        """
        obs, masks, policy_t, value_t = self._to_tensors(batch)
        area = self._area_tensors(batch)
        lr = learning_rate_at(self.config, self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.net.train()
        with autocast(self.device):
            out = self.net.heads(obs, masks)
        terms = self._loss(out, policy_t, value_t, masks, area)
        self.optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        max_norm = self.config.grad_clip if self.config.grad_clip is not None else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.net.parameters(), max_norm)
        self.optimizer.step()
        self.step += 1
        metrics = self._metrics(terms)
        metrics.update(lr=float(lr), grad_norm=float(grad_norm), step=float(self.step))
        return metrics

    @torch.no_grad()
    def evaluate_batch(self, batch: Any) -> dict[str, float]:
        """Loss terms of ``batch`` in eval mode, without training."""
        obs, masks, policy_t, value_t = self._to_tensors(batch)
        area = self._area_tensors(batch)
        was_training = self.net.training
        self.net.eval()
        try:
            terms = self._loss(self.net.heads(obs, masks), policy_t, value_t, masks, area)
        finally:
            self.net.train(was_training)
        return self._metrics(terms)

    def _metrics(self, terms: LossTerms) -> dict[str, float]:
        """The loss terms as floats, the ownership and score terms where the network has those heads."""
        return terms.as_floats(ownership=self.network_config.ownership_head, score=self.network_config.score_head)

    def _loss(
        self,
        out: NetworkOutput,
        policy_t: torch.Tensor,
        value_t: torch.Tensor,
        masks: torch.Tensor,
        area: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None = None,
    ) -> LossTerms:
        """The loss of the network's outputs; a ``"wdl"`` head trains on its three logits, the
        ownership and score heads on the final-area targets ``area``."""
        ownership_t, score_t, area_mask = area if area is not None else (None, None, None)
        h, w = self.net.observation_shape[-2:]
        return compute_loss(
            out.policy_logits.float(),
            out.value.float(),
            policy_t,
            value_t,
            masks,
            value_logits=None if out.value_logits is None else out.value_logits.float(),
            value_weight=self.config.value_weight,
            ownership_logits=out.ownership_logits,
            ownership_target=ownership_t if out.ownership_logits is not None else None,
            score=out.score,
            score_target=score_t if out.score is not None else None,
            area_mask=area_mask,
            ownership_weight=self.config.ownership_weight,
            score_weight=self.config.score_weight,
            score_scale=1.0 / (h * w),
        )

    # ------------------------------------------------------------- publishing
    @property
    def publish_due(self) -> bool:
        """Whether ``publish_every`` steps have passed since the last publish."""
        return self.step - self.last_published_step >= self.config.publish_every

    @property
    def checkpoint_due(self) -> bool:
        """Whether ``checkpoint_every`` steps have passed since the last checkpoint."""
        return self.step - self.last_checkpoint_step >= self.config.checkpoint_every

    def weights(self) -> dict[str, torch.Tensor]:
        """A copy of the current network state dict as contiguous CPU tensors."""
        return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in self.net.state_dict().items()}

    def publish(self) -> tuple[int, dict[str, torch.Tensor]]:
        """Increment ``weights_version`` and return ``(version, CPU state dict)``."""
        self.weights_version += 1
        self.last_published_step = self.step
        return self.weights_version, self.weights()

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: model, optimizer, counters, RNG states.

        Contains only tensors and primitive containers (loadable with
        ``torch.load(weights_only=True)``); tensors are on the CPU.
        """
        optimizer_state = self.optimizer.state_dict()
        optimizer_state = {
            "state": {
                int(i): {k: (v.detach().cpu().clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
                for i, s in optimizer_state["state"].items()
            },
            "param_groups": [dict(g) for g in optimizer_state["param_groups"]],
        }
        cuda_rng = None
        if self.device.type == "cuda":
            cuda_rng = torch.cuda.get_rng_state(self.device)
        return {
            "format": STATE_FORMAT,
            "format_version": STATE_VERSION,
            "game": self.game.spec(),
            "network_config": self.network_config.to_dict(),
            "train_config": self.config.to_dict(),
            "model": self.weights(),
            "optimizer": optimizer_state,
            "step": self.step,
            "weights_version": self.weights_version,
            "last_published_step": self.last_published_step,
            "last_checkpoint_step": self.last_checkpoint_step,
            "torch_rng_state": torch.get_rng_state(),
            "cuda_rng_state": cuda_rng,
            "numpy_rng_state": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: Mapping[str, Any], *, strict_config: bool = False) -> None:
        """Restore :meth:`state_dict` output.

        The game and network config must match. The train config stored in the
        state is ignored (this learner keeps its own, so a run may be resumed with,
        e.g., a new learning rate) unless ``strict_config`` is True, in which case
        a difference raises ``ValueError``.
        """
        if state.get("format") != STATE_FORMAT or state.get("format_version") != STATE_VERSION:
            raise ValueError(
                f"not a learner state (format {state.get('format')!r} version {state.get('format_version')!r})"
            )
        if state["game"] != self.game.spec():
            raise ValueError(f"learner state is for game {state['game']!r}, not {self.game.spec()!r}")
        if NetworkConfig.from_dict(state["network_config"]) != self.network_config:
            raise ValueError(
                f"learner state has network config {state['network_config']!r}, not {self.network_config.to_dict()!r}"
            )
        if strict_config and TrainConfig.from_dict(state["train_config"]) != self.config:
            raise ValueError("learner state's train config differs from this learner's")
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.weights_version = int(state["weights_version"])
        self.last_published_step = int(state.get("last_published_step", self.step))
        self.last_checkpoint_step = int(state.get("last_checkpoint_step", self.step))
        torch.set_rng_state(state["torch_rng_state"])
        if state.get("cuda_rng_state") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng_state"], self.device)
        self.rng.bit_generator.state = state["numpy_rng_state"]

    # ------------------------------------------------------------ checkpoints
    def save_checkpoint(
        self,
        checkpoint_dir: str,
        run_config: Mapping[str, Any] | None = None,
        *,
        keep: int | None = None,
    ) -> str:
        """Write a checkpoint (weights + full training state) under ``checkpoint_dir``.

        ``checkpoint_dir`` is a run directory (files go to ``RUN_DIR/checkpoints``)
        or a directory named ``checkpoints``. Keeps the last ``keep`` (default:
        ``keep_checkpoints``) checkpoints. Returns the metadata file's path.
        """
        from learner.checkpoint import save_checkpoint

        path = save_checkpoint(
            checkpoint_dir,
            game=self.game,
            network_config=self.network_config,
            weights=self.weights(),
            step=self.step,
            weights_version=self.weights_version,
            training_state=self.state_dict(),
            run_config=run_config,
            keep=self.config.keep_checkpoints if keep is None else keep,
        )
        self.last_checkpoint_step = self.step
        return str(path)

    @classmethod
    def from_checkpoint(
        cls,
        path: str,
        train_config: TrainConfig | None = None,
        *,
        network_config: NetworkConfig | None = None,
    ) -> Learner:
        """Rebuild a learner from a checkpoint's full training state.

        ``train_config`` defaults to the one stored in the checkpoint. ``network_config``,
        when given, is the network the caller expects (a run's ``network`` section): a
        checkpoint of another network (e.g. another value head) raises ``CheckpointError``
        naming the difference, instead of training a network self-play cannot load.
        """
        from games import from_spec
        from learner.checkpoint import CheckpointError, load_checkpoint

        ckpt = load_checkpoint(path)
        if network_config is not None and ckpt.network_config != network_config:
            raise CheckpointError(
                f"{ckpt.path}: the checkpoint's network does not match the configured one "
                f"({ckpt.network_config.differences(network_config)}; checkpoint vs configured)"
            )
        if ckpt.training_state is None:
            raise CheckpointError(f"{ckpt.path}: checkpoint has no training state to resume from")
        config = (
            train_config if train_config is not None else TrainConfig.from_dict(ckpt.training_state["train_config"])
        )
        learner = cls(from_spec(dict(ckpt.game_spec)), ckpt.network_config, config)
        learner.load_state_dict(ckpt.training_state)
        return learner

    def init_weights_from(self, path: str | os.PathLike[str]) -> Checkpoint:
        """Start training from a checkpoint's weights, maybe of another board size (``--init``).

        Only the network's weights are taken (see :func:`load_across_sizes`), not the
        optimizer state, the step or the weights version: call it before the first step.
        Returns the checkpoint.

        Raises:
            CheckpointError: as :func:`load_across_sizes`.
        """
        return load_across_sizes(path, self.net, self.game)


def load_across_sizes(path: str | os.PathLike[str], net: PolicyValueNet, game: Game) -> Checkpoint:
    """Load a checkpoint's weights into ``net``, a network for ``game``, whose board size may differ.

    Starting small and continuing on a bigger board (KataGo trained on mixed sizes): a
    fully convolutional network (``network.global_pooling = true`` and a policy over the
    board's points, :attr:`PolicyValueNet.fully_convolutional`) has no weight that
    depends on the board size, so a 7x7 network's weights are a 9x9 network's. The two
    networks must have the same config and the games the same name and input planes (Go's
    ``history`` and ``features``); other game options (``komi``, ``ko``, ``max_moves``) may
    differ. A checkpoint of the same board size loads into any network of its config.

    Args:
        path: a checkpoint (a run or checkpoints directory for its newest, or a ``.json``/``.pt``
            file), as ``learner.checkpoint.load_checkpoint`` takes.
        net: the network to load into (its weights are replaced in place).
        game: ``net``'s game.

    Returns:
        The checkpoint (its training state not loaded).

    Raises:
        CheckpointError: the checkpoint cannot be read, is of another game or network config,
            has other input planes, or has another board size while ``net`` is not fully
            convolutional (each message names the file and the difference).
    """
    from games import GameError, from_spec
    from learner.checkpoint import CheckpointError, load_checkpoint

    ckpt = load_checkpoint(path, load_training_state=False)
    try:
        source = from_spec(dict(ckpt.game_spec))
    except GameError as err:
        raise CheckpointError(f"{ckpt.path}: cannot build game {dict(ckpt.game_spec)!r}: {err}") from None
    if source.name != game.name:
        raise CheckpointError(f"{ckpt.path}: the checkpoint is a {source.name} network, not a {game.name} one")
    if ckpt.network_config != net.config:
        raise CheckpointError(
            f"{ckpt.path}: the checkpoint's network does not match this network "
            f"({ckpt.network_config.differences(net.config)}; checkpoint vs this)"
        )
    src_c, src_h, src_w = (int(d) for d in source.observation_shape)
    c, h, w = net.observation_shape
    if src_c != c:
        raise CheckpointError(
            f"{ckpt.path}: the checkpoint's network reads {src_c} input planes, this one {c} "
            f"(game options such as history and features must match: {dict(ckpt.game_spec)!r} vs {game.spec()!r})"
        )
    if ((src_h, src_w), int(source.num_actions)) != ((h, w), net.num_actions) and not net.fully_convolutional:
        raise CheckpointError(
            f"{ckpt.path}: the checkpoint is for a {src_h}x{src_w} board and this network for {h}x{w}, "
            "but the network is not fully convolutional (its weights depend on the board size): "
            "it needs network.global_pooling = true and a policy over the board's points"
        )
    ckpt.load_into(net)
    return ckpt


__all__ = [
    "Learner",
    "TrainConfig",
    "TrainConfigError",
    "learning_rate_at",
    "load_across_sizes",
    "make_optimizer",
    "weight_decay_factor",
]
