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
                      - linear(value_hidden -> 1) - tanh                  [B]      in (-1, 1)

The value is from the point of view of the player to move (the observation's
point of view). Illegal actions are masked in the logits when a legal mask is
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
from typing import Any

import torch
from torch import nn

from games.base import Game

#: Logit given to illegal actions (clamped to the dtype's range, e.g. for float16).
MASK_VALUE = -1e9


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Size of a :class:`PolicyValueNet`.

    Attributes:
        blocks: number of residual blocks (0 allowed: stem + heads only).
        channels: width of the residual tower.
        policy_channels: channels of the policy head's 1x1 convolution.
        value_channels: channels of the value head's 1x1 convolution.
        value_hidden: width of the value head's hidden linear layer.
    """

    blocks: int = 2
    channels: int = 32
    policy_channels: int = 2
    value_channels: int = 1
    value_hidden: int = 64

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"NetworkConfig.{field.name} must be an int, got {value!r}")
        if self.blocks < 0:
            raise ValueError(f"NetworkConfig.blocks must be >= 0, got {self.blocks}")
        for name in ("channels", "policy_channels", "value_channels", "value_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"NetworkConfig.{name} must be >= 1, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, int]:
        """A JSON-friendly dict; inverse of :meth:`from_dict`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkConfig:
        """Build from :meth:`to_dict` output; unknown keys raise ``ValueError``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"network config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown NetworkConfig keys: {sorted(unknown)}")
        return cls(**dict(data))


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
        self.value_head = nn.Sequential(
            nn.Conv2d(cfg.channels, cfg.value_channels, 1, bias=False),
            nn.BatchNorm2d(cfg.value_channels),
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(cfg.value_channels * h * w, cfg.value_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(cfg.value_hidden, 1),
            nn.Tanh(),
        )

    def forward(self, obs: torch.Tensor, legal_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Evaluate a batch.

        Args:
            obs: ``[B, C, H, W]`` observations.
            legal_mask: optional ``[B, A]`` bool; False entries get :data:`MASK_VALUE`.

        Returns:
            ``(policy_logits [B, A], value [B])``, float32.
        """
        if obs.dim() != 4 or tuple(obs.shape[1:]) != self.observation_shape:
            raise ValueError(
                f"expected observations [B, {', '.join(map(str, self.observation_shape))}], got {list(obs.shape)}"
            )
        x = self.tower(self.stem(obs))
        # float32 heads' outputs also under bf16 autocast: the mask value and the loss stay exact.
        logits = self.policy_head(x).float()
        value = self.value_head(x).reshape(-1).float()
        if legal_mask is not None:
            if tuple(legal_mask.shape) != (obs.shape[0], self.num_actions):
                raise ValueError(
                    f"expected legal_mask [{obs.shape[0]}, {self.num_actions}], got {list(legal_mask.shape)}"
                )
            logits = mask_logits(logits, legal_mask)
        return logits, value

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


__all__ = [
    "MASK_VALUE",
    "NetworkConfig",
    "PolicyValueNet",
    "ResidualBlock",
    "mask_logits",
]
