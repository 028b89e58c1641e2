"""The policy/value network: a small AlphaZero-style residual tower.

Shapes (``B`` = batch, ``(C, H, W)`` = ``game.observation_shape``, ``A`` = ``game.num_actions``)::

    observations [B, C, H, W] float32
      -> stem: conv3x3(C -> channels) - BN - ReLU                      [B, channels, H, W]
      -> ``blocks`` residual blocks:
           x + BN(conv3x3(ReLU(BN(conv3x3(x)))))  then ReLU             [B, channels, H, W]
      -> policy head: conv1x1(-> policy_channels) - BN - ReLU - flatten
                      - linear(policy_channels*H*W -> A)                 [B, A]   logits
      -> value head:  conv1x1(-> value_channels) - BN - ReLU - flatten
                      - linear(value_channels*H*W -> value_hidden) - ReLU
           "scalar":  - linear(value_hidden -> 1) - tanh                  [B]      in (-1, 1)
           "wdl":     - linear(value_hidden -> 3)                         [B, 3]   logits

The value is from the point of view of the player to move (the observation's
point of view). ``NetworkConfig.value_head`` chooses the value head:

* ``"scalar"`` (AlphaZero's): the value is ``tanh`` of one output;
* ``"wdl"``: three logits ``(win, draw, loss)`` of the game's outcome for the
  mover, for games with draws (Connect Four, chess). The network's value is the
  expected score ``v = P(win) - P(loss)`` of their softmax (:func:`expected_score`),
  in ``[-1, 1]``.

Both heads keep one contract, ``forward(obs, legal_mask) -> (policy_logits [B, A],
value [B])``, so search, evaluators, engines, the inference server and
checkpoints need not know which head a network has; :meth:`PolicyValueNet.heads`
also returns the three logits (the loss trains on them) and
:meth:`PolicyValueNet.wdl` their probabilities (for analysis). The parameter
names of both heads are the same (``value_head.6`` is the last linear layer, with
1 or 3 outputs), so the weights of one do not load into the other: a shape mismatch.

Illegal actions are masked in the logits when a legal mask is
given: they get :data:`MASK_VALUE` (a large negative *finite* number, so that
``softmax`` gives exactly 0 and ``0 * log_softmax`` stays 0 instead of NaN).

CPU float32 in the default contiguous memory format is the default. Nothing
here precludes ``net.to(memory_format=torch.channels_last)`` or bf16 autocast
on a GPU later: flattening uses ``reshape`` and the mask value is clamped to the
logits' dtype range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from games.base import Game
from games.errors import ZeroplayError

#: Logit given to illegal actions (clamped to the dtype's range, e.g. for float16).
MASK_VALUE = -1e9
#: The value heads a network can have (``NetworkConfig.value_head``).
VALUE_HEADS = ("scalar", "wdl")
#: Outputs of each value head's last linear layer.
VALUE_HEAD_OUTPUTS = {"scalar": 1, "wdl": 3}
#: State-dict name of the value head's last linear layer (its weight is [outputs, value_hidden]).
VALUE_OUTPUT_WEIGHT = "value_head.6.weight"


class NetworkConfigError(ZeroplayError, ValueError):
    """A network setting out of range or of the wrong type; the message names the field."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Size of a :class:`PolicyValueNet`.

    Attributes:
        blocks: number of residual blocks (0 allowed: stem + heads only).
        channels: width of the residual tower.
        policy_channels: channels of the policy head's 1x1 convolution.
        value_channels: channels of the value head's 1x1 convolution.
        value_hidden: width of the value head's hidden linear layer.
        value_head: ``"scalar"`` (one tanh output) or ``"wdl"`` (win/draw/loss logits whose
            expected score is the value); see the module docstring. Checkpoints written
            before this field existed have a scalar head (the default).
    """

    blocks: int = 2
    channels: int = 32
    policy_channels: int = 2
    value_channels: int = 1
    value_hidden: int = 64
    value_head: str = "scalar"

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if field.name == "value_head":
                continue
            value = getattr(self, field.name)
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

    def to_dict(self) -> dict[str, int | str]:
        """A JSON-friendly dict; inverse of :meth:`from_dict`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkConfig:
        """Build from :meth:`to_dict` output; unknown keys raise :class:`NetworkConfigError`.

        A missing ``value_head`` (metadata written before it existed) means ``"scalar"``.
        """
        if not isinstance(data, Mapping):
            raise NetworkConfigError(f"network config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise NetworkConfigError(f"unknown NetworkConfig keys: {sorted(unknown)}")
        return cls(**dict(data))

    def differences(self, other: NetworkConfig) -> str:
        """The fields where ``self`` and ``other`` differ, as ``"value_head 'wdl' vs 'scalar'"`` ('' if none)."""
        return ", ".join(
            f"{f.name} {getattr(self, f.name)!r} vs {getattr(other, f.name)!r}"
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        )


class NetworkOutput(NamedTuple):
    """All outputs of one evaluation (``B`` = batch, ``A`` = actions).

    Attributes:
        policy_logits: ``[B, A]`` float32, masked where a legal mask was given.
        value: ``[B]`` float32 in ``[-1, 1]``, from the mover's point of view (with a
            ``"wdl"`` head the expected score ``P(win) - P(loss)``).
        value_logits: ``[B, 3]`` float32 ``(win, draw, loss)`` logits of a ``"wdl"`` head;
            ``None`` for a ``"scalar"`` head.
    """

    policy_logits: torch.Tensor
    value: torch.Tensor
    value_logits: torch.Tensor | None


def expected_score(wdl_logits: torch.Tensor) -> torch.Tensor:
    """``P(win) - P(loss)`` of ``softmax(wdl_logits)``: ``[B, 3]`` (win, draw, loss) logits -> ``[B]``.

    In ``[-1, 1]``; computed in float32 whatever the logits' dtype.
    """
    if wdl_logits.dim() != 2 or wdl_logits.shape[1] != 3:
        raise NetworkConfigError(f"expected win/draw/loss logits [B, 3], got {list(wdl_logits.shape)}")
    probs = torch.softmax(wdl_logits.float(), dim=-1)
    return probs[:, 0] - probs[:, 2]


def value_head_of(weights: Mapping[str, Any]) -> str | None:
    """The value head (``"scalar"`` or ``"wdl"``) that a state dict's weights have.

    Read from the number of rows of :data:`VALUE_OUTPUT_WEIGHT`; ``None`` when that weight
    is missing or has another number of outputs (not a :class:`PolicyValueNet`'s).
    """
    weight = weights.get(VALUE_OUTPUT_WEIGHT)
    shape = getattr(weight, "shape", None)
    if shape is None or len(shape) != 2:
        return None
    for head, outputs in VALUE_HEAD_OUTPUTS.items():
        if int(shape[0]) == outputs:
            return head
    return None


class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the skip connection, then ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(x + y)


def mask_logits(logits: torch.Tensor, legal_mask: torch.Tensor) -> torch.Tensor:
    """``logits`` with entries where ``legal_mask`` is False replaced by :data:`MASK_VALUE`."""
    fill = max(MASK_VALUE, torch.finfo(logits.dtype).min)
    return logits.masked_fill(~legal_mask.to(torch.bool), fill)


class PolicyValueNet(nn.Module):
    """Residual policy/value network sized from ``game`` (see the module docstring).

    Args:
        game: the game whose ``observation_shape`` and ``num_actions`` size the net.
        config: the network size; ``NetworkConfig()`` (2 blocks of 32 channels) when omitted
            (the per-game sizes of a run are presets of ``cluster.config``).
    """

    def __init__(self, game: Game, config: NetworkConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else NetworkConfig()
        self.observation_shape = tuple(int(d) for d in game.observation_shape)
        self.num_actions = int(game.num_actions)
        c_in, h, w = self.observation_shape
        cfg = self.config
        self.stem = nn.Sequential(
            nn.Conv2d(c_in, cfg.channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(cfg.channels),
            nn.ReLU(inplace=True),
        )
        self.tower = nn.Sequential(*(ResidualBlock(cfg.channels) for _ in range(cfg.blocks)))
        self.policy_head = nn.Sequential(
            nn.Conv2d(cfg.channels, cfg.policy_channels, 1, bias=False),
            nn.BatchNorm2d(cfg.policy_channels),
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(cfg.policy_channels * h * w, self.num_actions),
        )
        value_layers: list[nn.Module] = [
            nn.Conv2d(cfg.channels, cfg.value_channels, 1, bias=False),
            nn.BatchNorm2d(cfg.value_channels),
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(cfg.value_channels * h * w, cfg.value_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(cfg.value_hidden, VALUE_HEAD_OUTPUTS[cfg.value_head]),  # value_head.6
        ]
        if cfg.value_head == "scalar":
            value_layers.append(nn.Tanh())
        self.value_head = nn.Sequential(*value_layers)

    @property
    def value_head_kind(self) -> str:
        """``"scalar"`` or ``"wdl"`` (``config.value_head``)."""
        return self.config.value_head

    def heads(self, obs: torch.Tensor, legal_mask: torch.Tensor | None = None) -> NetworkOutput:
        """Evaluate a batch: every head's output (see :class:`NetworkOutput`).

        Args:
            obs: ``[B, C, H, W]`` observations.
            legal_mask: optional ``[B, A]`` bool; False entries get :data:`MASK_VALUE`.
        """
        if obs.dim() != 4 or tuple(obs.shape[1:]) != self.observation_shape:
            raise ValueError(
                f"expected observations [B, {', '.join(map(str, self.observation_shape))}], got {list(obs.shape)}"
            )
        x = self.tower(self.stem(obs))
        # float32 heads' outputs also under bf16 autocast: the mask value and the loss stay exact.
        logits = self.policy_head(x).float()
        raw_value = self.value_head(x).float()
        if self.config.value_head == "wdl":
            value_logits: torch.Tensor | None = raw_value
            value = expected_score(raw_value)
        else:
            value_logits, value = None, raw_value.reshape(-1)
        if legal_mask is not None:
            if tuple(legal_mask.shape) != (obs.shape[0], self.num_actions):
                raise ValueError(
                    f"expected legal_mask [{obs.shape[0]}, {self.num_actions}], got {list(legal_mask.shape)}"
                )
            logits = mask_logits(logits, legal_mask)
        return NetworkOutput(logits, value, value_logits)

    def forward(self, obs: torch.Tensor, legal_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Evaluate a batch: ``(policy_logits [B, A], value [B])``, float32 (the contract of every head).

        Args:
            obs: ``[B, C, H, W]`` observations.
            legal_mask: optional ``[B, A]`` bool; False entries get :data:`MASK_VALUE`.
        """
        out = self.heads(obs, legal_mask)
        return out.policy_logits, out.value

    def wdl(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B, 3]`` probabilities of (win, draw, loss) for the mover, from a ``"wdl"`` head.

        Raises:
            NetworkConfigError: the network has a ``"scalar"`` head (it predicts no draw probability).
        """
        if self.config.value_head != "wdl":
            raise NetworkConfigError(
                f"this network's value head is {self.config.value_head!r}: it has no win/draw/loss probabilities"
            )
        value_logits = self.heads(obs).value_logits
        assert value_logits is not None
        return torch.softmax(value_logits, dim=-1)

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


__all__ = [
    "MASK_VALUE",
    "VALUE_HEADS",
    "VALUE_HEAD_OUTPUTS",
    "VALUE_OUTPUT_WEIGHT",
    "NetworkConfig",
    "NetworkConfigError",
    "NetworkOutput",
    "PolicyValueNet",
    "ResidualBlock",
    "expected_score",
    "mask_logits",
    "value_head_of",
]
