"""The learner's settings, importable without torch.

The run configuration, the presets and the command line build and check these before
anything trains; keeping them here, in plain Python, lets every ``zeroplay`` command that
only reads or checks settings start without importing torch (about 2.5 s on 2 cores).
:mod:`learner.network`, :mod:`learner.train` and :mod:`learner.backends` re-export them.

* :class:`NetworkConfig`: the size and heads of a :class:`learner.network.PolicyValueNet`.
* :class:`TrainConfig`: the optimiser, schedule, loss weights and checkpoint cadence.
* :func:`check_backend_name`: an inference backend name (``eager``, ``jit``, ``compile:MODE``, ...).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from games.errors import ZeroplayError

#: The value heads a network can have (``NetworkConfig.value_head``).
VALUE_HEADS = ("scalar", "wdl")
#: Outputs of each value head's last linear layer.
VALUE_HEAD_OUTPUTS = {"scalar": 1, "wdl": 3}
#: NetworkConfig's on/off switches (bools); every other field but value_head is an int.
_SWITCHES = ("global_pooling", "ownership_head", "score_head")


def _fields_of(cls: type, data: Any, error: type[ZeroplayError], section: str) -> dict[str, Any]:
    """``data`` as keyword arguments of the dataclass ``cls``: a mapping whose keys are all fields.

    Raises:
        error: ``data`` is not a mapping, or it has keys that are not fields (named).
    """
    if not isinstance(data, Mapping):
        raise error(f"{section} config must be a mapping, got {type(data).__name__}")
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise error(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    return dict(data)


class NetworkConfigError(ZeroplayError, ValueError):
    """A network setting out of range or of the wrong type; the message names the field."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Size and heads of a :class:`learner.network.PolicyValueNet`.

    Attributes:
        blocks: number of residual blocks (0 allowed: stem + heads only).
        channels: width of the residual tower.
        policy_channels: channels of the policy head's 1x1 convolution.
        value_channels: channels of the value head's 1x1 convolution.
        value_hidden: width of the value head's hidden linear layer.
        value_head: ``"scalar"`` (one tanh output) or ``"wdl"`` (win/draw/loss logits whose
            expected score is the value); see the module docstring. Checkpoints written
            before this field existed have a scalar head (the default).
        global_pooling: KataGo's global pooling in the tower and the heads, which makes the
            network fully convolutional (see the module docstring). Default False.
        ownership_head: a per-point ownership output ``[B, H, W]`` (games with a final area:
            Go), trained with ``train.ownership_weight``. Default False.
        score_head: a final-score output ``[B]`` in points (games with a final area: Go),
            trained with ``train.score_weight``. Default False.

    Checkpoints written before the last three existed have none of them (the defaults).
    """

    blocks: int = 2
    channels: int = 32
    policy_channels: int = 2
    value_channels: int = 1
    value_hidden: int = 64
    value_head: str = "scalar"
    global_pooling: bool = False
    ownership_head: bool = False
    score_head: bool = False

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if field.name == "value_head":
                continue
            value = getattr(self, field.name)
            if field.name in _SWITCHES:
                if not isinstance(value, bool):
                    raise NetworkConfigError(f"NetworkConfig.{field.name} must be a bool, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise NetworkConfigError(f"NetworkConfig.{field.name} must be an int, got {value!r}")
        if self.blocks < 0:
            raise NetworkConfigError(f"NetworkConfig.blocks must be >= 0, got {self.blocks}")
        for name in ("channels", "policy_channels", "value_channels", "value_hidden"):
            if getattr(self, name) < 1:
                raise NetworkConfigError(f"NetworkConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.value_head not in VALUE_HEADS:
            raise NetworkConfigError(
                f"NetworkConfig.value_head must be one of {', '.join(VALUE_HEADS)}, got {self.value_head!r}"
            )

    @property
    def aux_heads(self) -> bool:
        """Whether the network has an ownership or a score head."""
        return self.ownership_head or self.score_head

    def to_dict(self) -> dict[str, int | str | bool]:
        """A JSON-friendly dict; inverse of :meth:`from_dict`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkConfig:
        """Build from :meth:`to_dict` output; unknown keys raise :class:`NetworkConfigError`.

        A missing ``value_head`` (metadata written before it existed) means ``"scalar"``; a
        missing ``global_pooling``, ``ownership_head`` or ``score_head`` means False.
        """
        return cls(**_fields_of(cls, data, NetworkConfigError, "network"))

    def differences(self, other: NetworkConfig) -> str:
        """The fields where ``self`` and ``other`` differ, as ``"value_head 'wdl' vs 'scalar'"`` ('' if none)."""
        return ", ".join(
            f"{f.name} {getattr(self, f.name)!r} vs {getattr(other, f.name)!r}"
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        )


_OPTIMIZERS = ("sgd", "adamw")
_SCHEDULES = ("constant", "step", "cosine")
_DEVICES = ("cpu", "cuda", "auto")


class TrainConfigError(ZeroplayError, ValueError):
    """A training setting out of its range or of the wrong type; the message names the field."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Training hyper-parameters (validated on construction).

    Attributes:
        batch_size: positions per training step.
        optimizer: ``"sgd"`` (momentum, Nesterov) or ``"adamw"``.
        learning_rate: peak learning rate.
        momentum: SGD momentum.
        nesterov: SGD Nesterov momentum.
        adam_betas: AdamW betas.
        weight_decay: with ``"sgd"`` the L2 coefficient ``c`` (gradient ``+= c * w``); with
            ``"adamw"`` decoupled decay ``lambda`` (weights ``*= 1 - lr * lambda`` per step).
            Decays conv and linear weights only; see the module docstring and
            :attr:`decay_per_step` for the size of both on one scale. The default ``1e-4``
            is AlphaZero's L2 coefficient for the default ``"sgd"``; with ``"adamw"`` use
            about ``1e-4 / learning_rate`` (the per-game presets use 0.1 at ``lr = 1e-3``).
        lr_schedule: ``"constant"``, ``"step"`` or ``"cosine"``.
        warmup_steps: linear warmup length.
        lr_milestones: steps at which ``"step"`` multiplies the rate by ``lr_gamma``.
        lr_gamma: factor of the ``"step"`` schedule.
        total_steps: end of the ``"cosine"`` schedule.
        min_lr_ratio: floor of the cosine schedule, as a fraction of ``learning_rate``.
        value_weight: weight of the value loss.
        ownership_weight: weight of the ownership loss (a network with ``ownership_head``; see
            :mod:`learner.loss`: per-point cross-entropy averaged over the board). Default 1.5,
            KataGo's per-point weight.
        score_weight: weight of the score loss (a network with ``score_head``: the squared error
            of the final score divided by the board's points). Default 1.0, a starting point.
        grad_clip: max global gradient norm (``None``: no clipping; the norm is still reported).
        publish_every: steps between weight publications.
        checkpoint_every: steps between checkpoints.
        keep_checkpoints: how many checkpoints to keep.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (cuda when available).
        seed: seeds network initialisation and the learner's RNGs.
    """

    batch_size: int = 256
    optimizer: str = "sgd"
    learning_rate: float = 0.02
    momentum: float = 0.9
    nesterov: bool = True
    adam_betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-4
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    total_steps: int = 100_000
    min_lr_ratio: float = 0.0
    value_weight: float = 1.0
    ownership_weight: float = 1.5
    score_weight: float = 1.0
    grad_clip: float | None = None
    publish_every: int = 100
    checkpoint_every: int = 1000
    keep_checkpoints: int = 5
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        def positive_int(name: str, minimum: int = 1) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                raise TrainConfigError(f"TrainConfig.{name} must be an int >= {minimum}, got {v!r}")

        def number(name: str, low: float, high: float = math.inf, low_open: bool = False) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise TrainConfigError(f"TrainConfig.{name} must be a finite number, got {v!r}")
            if (v <= low if low_open else v < low) or v > high:
                bracket = "(" if low_open else "["
                raise TrainConfigError(f"TrainConfig.{name}={v!r} out of range {bracket}{low}, {high}]")

        for name in ("batch_size", "total_steps", "publish_every", "checkpoint_every", "keep_checkpoints"):
            positive_int(name)
        positive_int("warmup_steps", 0)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TrainConfigError(f"TrainConfig.seed must be an int, got {self.seed!r}")
        if self.optimizer not in _OPTIMIZERS:
            raise TrainConfigError(f"TrainConfig.optimizer must be one of {_OPTIMIZERS}, got {self.optimizer!r}")
        if self.lr_schedule not in _SCHEDULES:
            raise TrainConfigError(f"TrainConfig.lr_schedule must be one of {_SCHEDULES}, got {self.lr_schedule!r}")
        if self.device not in _DEVICES and not str(self.device).startswith("cuda:"):
            raise TrainConfigError(f"TrainConfig.device must be one of {_DEVICES} or 'cuda:N', got {self.device!r}")
        number("learning_rate", 0.0, low_open=True)
        number("momentum", 0.0, 1.0)
        number("weight_decay", 0.0)
        number("lr_gamma", 0.0, 1.0, low_open=True)
        number("min_lr_ratio", 0.0, 1.0)
        number("value_weight", 0.0)
        number("ownership_weight", 0.0)
        number("score_weight", 0.0)
        if not isinstance(self.nesterov, bool):
            raise TrainConfigError(f"TrainConfig.nesterov must be a bool, got {self.nesterov!r}")
        if self.nesterov and self.optimizer == "sgd" and self.momentum == 0:
            raise TrainConfigError("TrainConfig: nesterov SGD needs momentum > 0")
        betas = tuple(self.adam_betas)
        if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
            raise TrainConfigError(f"TrainConfig.adam_betas must be two numbers in [0, 1), got {self.adam_betas!r}")
        object.__setattr__(self, "adam_betas", (float(betas[0]), float(betas[1])))
        milestones = tuple(self.lr_milestones)
        if any(isinstance(m, bool) or not isinstance(m, int) or m < 0 for m in milestones) or list(
            milestones
        ) != sorted(milestones):
            raise TrainConfigError(
                f"TrainConfig.lr_milestones must be increasing non-negative ints, got {self.lr_milestones!r}"
            )
        object.__setattr__(self, "lr_milestones", milestones)
        if self.lr_schedule == "cosine" and self.total_steps <= self.warmup_steps:
            raise TrainConfigError("TrainConfig: cosine schedule needs total_steps > warmup_steps")
        if self.grad_clip is not None:
            number("grad_clip", 0.0, low_open=True)

    @property
    def decay_per_step(self) -> float:
        """Fraction of itself a decayed weight with zero loss gradient loses per step at the peak rate.

        ``learning_rate * weight_decay`` for ``"adamw"`` (exact) and
        ``learning_rate * weight_decay / (1 - momentum)`` for ``"sgd"`` (once the momentum
        buffer has filled; Nesterov or not). :func:`weight_decay_factor` is exact over a run.
        """
        if self.optimizer == "adamw":
            return self.learning_rate * self.weight_decay
        if self.momentum >= 1.0:  # the momentum buffer never forgets: no steady state
            return math.inf if self.weight_decay > 0 else 0.0
        return self.learning_rate * self.weight_decay / (1.0 - self.momentum)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (tuples become lists); inverse of :meth:`from_dict`."""
        d = dataclasses.asdict(self)
        d["adam_betas"] = list(self.adam_betas)
        d["lr_milestones"] = list(self.lr_milestones)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        d = _fields_of(cls, data, TrainConfigError, "train")
        for key in ("adam_betas", "lr_milestones"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


BACKENDS = ("auto", "eager", "channels_last", "jit", "compile", "onnxruntime")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def check_backend_name(name: str) -> str:
    """``name`` if it names a backend (``"compile:MODE"`` included), else ``ValueError``."""
    base, _, mode = name.partition(":")
    if base not in BACKENDS or (mode and (base != "compile" or mode not in COMPILE_MODES)):
        modes = ", ".join(f"compile:{m}" for m in COMPILE_MODES)
        raise ValueError(f"unknown inference backend {name!r}: choose from {', '.join(BACKENDS)}, {modes}")
    return name


__all__ = [
    "BACKENDS",
    "COMPILE_MODES",
    "VALUE_HEADS",
    "VALUE_HEAD_OUTPUTS",
    "NetworkConfig",
    "NetworkConfigError",
    "TrainConfig",
    "TrainConfigError",
    "check_backend_name",
]
