"""The policy/value network: a small AlphaZero-style residual tower, with KataGo's Go options.

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

KataGo's options ("Accelerating Self-Play Learning in Go", 2019), each off by default:

* ``ownership_head`` (games whose final position has a Tromp-Taylor area: Go): a
  conv1x1(channels -> 1) on the tower, per point, ``tanh`` of it is who owns the point
  at the end of the game from the mover's view (+1 the mover, -1 the opponent):
  ``ownership [B, H, W]`` in (-1, 1), with its logits ``ownership_logits [B, H, W]``.
* ``score_head`` (the same games): linear(value_hidden -> 1) on the value head's hidden
  layer, times the board's points ``H * W``: ``score [B]``, the predicted final score
  difference (area minus area, komi included) in points from the mover's view.
* ``global_pooling``: the network becomes fully convolutional, so that one set of
  weights serves every board size:

  - every third residual block, starting with the second (blocks 1, 4, 7, ...), is a
    global pooling block (KataGo's): its first convolution gives ``channels - g``
    channels and a second one ``g = max(1, channels // 4)`` channels, which are
    normalised, pooled over the board (:class:`GlobalPool`: mean, mean scaled by
    ``(sqrt(H*W) - 14) / 10``, max) and fed back through a linear layer as per-channel
    biases of the first; then BN - ReLU - conv3x3 back to ``channels``, the skip, ReLU;
  - the policy head, where the action space is the board's points (``A == H * W``,
    tic-tac-toe) or the points then pass (``A == H * W + 1``, Go), is KataGo's:
    conv1x1 to ``policy_channels`` plus biases from pooled conv1x1 features, BN - ReLU -
    conv1x1 to one logit per point, and the pass logit a linear layer of the pooled
    features. Where the actions are not the board's points (Connect Four's 7 columns,
    chess's 8x8x73), the policy head stays the flatten head above: a linear layer over
    the whole board already sees all of it, and those games have one board size;
  - the value head pools instead of flattening: conv1x1 - BN - ReLU - pool (mean,
    mean * (sqrt(H*W) - 14) / 10, mean * ((sqrt(H*W) - 14)^2 / 100 - 0.1)) -
    linear(3 * value_channels -> value_hidden) - ReLU - linear (names as above).

  Pooled heads read a few numbers per channel where the flatten heads read every
  point, so they want more channels than the flatten heads' defaults (KataGo uses 32
  for both ``policy_channels`` and ``value_channels``).
  :attr:`PolicyValueNet.fully_convolutional` says whether a network's weights are
  independent of the board size (``learner.train.load_across_sizes`` loads them into a
  network for another size).

Illegal actions are masked in the logits when a legal mask is
given: they get :data:`MASK_VALUE` (a large negative *finite* number, so that
``softmax`` gives exactly 0 and ``0 * log_softmax`` stays 0 instead of NaN).

CPU float32 in the default contiguous memory format is the default. Nothing
here precludes ``net.to(memory_format=torch.channels_last)`` or bf16 autocast
on a GPU later: flattening uses ``reshape`` and the mask value is clamped to the
logits' dtype range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from games.base import Game
from learner.config import VALUE_HEAD_OUTPUTS, VALUE_HEADS, NetworkConfig, NetworkConfigError
from selfplay.trajectory import has_final_area

#: Logit given to illegal actions (clamped to the dtype's range, e.g. for float16).
MASK_VALUE = -1e9
#: State-dict name of the value head's last linear layer (its weight is [outputs, value_hidden]).
VALUE_OUTPUT_WEIGHT = "value_head.6.weight"


class NetworkOutput(NamedTuple):
    """All outputs of one evaluation (``B`` = batch, ``A`` = actions, ``(H, W)`` = the board).

    Attributes:
        policy_logits: ``[B, A]`` float32, masked where a legal mask was given.
        value: ``[B]`` float32 in ``[-1, 1]``, from the mover's point of view (with a
            ``"wdl"`` head the expected score ``P(win) - P(loss)``).
        value_logits: ``[B, 3]`` float32 ``(win, draw, loss)`` logits of a ``"wdl"`` head;
            ``None`` for a ``"scalar"`` head.
        ownership: ``[B, H, W]`` float32 in ``(-1, 1)``, ``tanh(ownership_logits)``: who owns
            each point at the end of the game, +1 the mover, -1 the opponent (rows top to
            bottom as in the observation; point ``(r, c)`` is action ``r * W + c``); ``None``
            without an ownership head.
        ownership_logits: ``[B, H, W]`` float32, the ownership before ``tanh`` (the loss trains
            on them); ``None`` without an ownership head.
        score: ``[B]`` float32, the predicted final score difference in points from the
            mover's view (the mover's area minus the opponent's, komi included); ``None``
            without a score head.
    """

    policy_logits: torch.Tensor
    value: torch.Tensor
    value_logits: torch.Tensor | None
    ownership: torch.Tensor | None = None
    ownership_logits: torch.Tensor | None = None
    score: torch.Tensor | None = None


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


class GlobalPool(nn.Module):
    """KataGo's global pooling: ``[B, C, H, W]`` -> ``[B, 3 * C]``, the same numbers for any board size.

    With ``b = sqrt(H * W)`` (the board's width) and ``s = (b - 14) / 10`` (KataGo's
    board-size scale, 0 at about 14x14), the features per channel are ``mean``,
    ``mean * s`` and, for ``kind="max"`` (the tower and the policy head), the maximum
    over the board, or, for ``kind="value"`` (the value head), ``mean * (s^2 - 0.1)``.
    The features are concatenated channel groups: ``[means, scaled means, third]``.
    """

    def __init__(self, kind: str = "max") -> None:
        super().__init__()
        if kind not in ("max", "value"):
            raise NetworkConfigError(f"GlobalPool kind must be 'max' or 'value', got {kind!r}")
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = int(x.shape[-2]), int(x.shape[-1])
        scale = (math.sqrt(h * w) - 14.0) / 10.0
        mean = x.mean(dim=(2, 3))
        third = x.amax(dim=(2, 3)) if self.kind == "max" else mean * (scale * scale - 0.1)
        return torch.cat([mean, mean * scale, third], dim=1)


def pool_channels(channels: int) -> int:
    """``g``, the channels a global pooling block pools: ``max(1, channels // 4)``."""
    return max(1, channels // 4)


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


class GlobalPoolingBlock(nn.Module):
    """A residual block with KataGo's global pooling (``channels >= 2``).

    ``y = BN(conv3x3(x))`` over ``channels - g`` channels and ``p = ReLU(BN(conv3x3(x)))``
    over ``g = pool_channels(channels)`` channels; ``y + linear(GlobalPool(p))`` (a bias
    per channel and position in the batch), then ReLU, conv3x3 back to ``channels``, BN,
    the skip, ReLU. As cheap as a :class:`ResidualBlock`; its weights do not depend on
    the board size.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        g = pool_channels(channels)
        regular = channels - g
        self.conv1 = nn.Conv2d(channels, regular, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(regular)
        self.conv_pool = nn.Conv2d(channels, g, 3, padding=1, bias=False)
        self.bn_pool = nn.BatchNorm2d(g)
        self.pool = GlobalPool("max")
        self.pool_bias = nn.Linear(3 * g, regular)
        self.conv2 = nn.Conv2d(regular, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(torch.relu(self.bn_pool(self.conv_pool(x))))  # [B, 3g]
        y = self.bn1(self.conv1(x)) + self.pool_bias(pooled)[:, :, None, None]
        y = self.bn2(self.conv2(torch.relu(y)))
        return torch.relu(x + y)


class PooledPolicyHead(nn.Module):
    """KataGo's policy head: per-point logits of the board, and a pass logit where there is one.

    ``[B, channels, H, W]`` -> ``[B, H * W (+ 1)]``: ``p = conv1x1(x)`` (``policy_channels``),
    ``g = ReLU(BN(conv1x1(x)))`` (``policy_channels``), pooled (:class:`GlobalPool`) to
    ``[B, 3 * policy_channels]``; ``p + linear(pooled)`` as biases, BN, ReLU, conv1x1 to one
    logit per point (row-major, as board actions are); the pass logit (last action) is
    ``linear(pooled)``. No weight depends on the board size.
    """

    def __init__(self, channels: int, policy_channels: int, *, has_pass: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, policy_channels, 1, bias=False)
        self.conv_pool = nn.Conv2d(channels, policy_channels, 1, bias=False)
        self.bn_pool = nn.BatchNorm2d(policy_channels)
        self.pool = GlobalPool("max")
        self.pool_bias = nn.Linear(3 * policy_channels, policy_channels)
        self.bn = nn.BatchNorm2d(policy_channels)
        self.point_logits = nn.Conv2d(policy_channels, 1, 1)
        self.pass_logit = nn.Linear(3 * policy_channels, 1) if has_pass else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(torch.relu(self.bn_pool(self.conv_pool(x))))  # [B, 3 * policy_channels]
        p = self.conv(x) + self.pool_bias(pooled)[:, :, None, None]
        logits = self.point_logits(torch.relu(self.bn(p))).reshape(x.shape[0], -1)  # [B, H * W]
        if self.pass_logit is None:
            return logits
        return torch.cat([logits, self.pass_logit(pooled)], dim=1)


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

    Raises:
        NetworkConfigError: an ownership or score head for a game without a final area
            (tic-tac-toe, Connect Four, chess), or global pooling with ``channels < 2``.
    """

    def __init__(self, game: Game, config: NetworkConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else NetworkConfig()
        self.observation_shape = tuple(int(d) for d in game.observation_shape)
        self.num_actions = int(game.num_actions)
        c_in, h, w = self.observation_shape
        cfg = self.config
        for name in ("ownership_head", "score_head"):
            if getattr(cfg, name) and not has_final_area(game):
                raise NetworkConfigError(
                    f"NetworkConfig.{name} needs a game whose final position has an area to learn "
                    f"(Go); {game.name} has none"
                )
        if cfg.global_pooling and cfg.channels < 2:
            raise NetworkConfigError(
                f"NetworkConfig.global_pooling needs channels >= 2 (pooled and regular ones), got {cfg.channels}"
            )
        pooled = cfg.global_pooling
        #: Whether the policy is one logit per board point (then pass): the pooled policy head.
        self.point_policy = pooled and self.num_actions in (h * w, h * w + 1)
        self.stem = nn.Sequential(
            nn.Conv2d(c_in, cfg.channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(cfg.channels),
            nn.ReLU(inplace=True),
        )
        self.tower = nn.Sequential(
            *(
                GlobalPoolingBlock(cfg.channels) if pooled and i % 3 == 1 else ResidualBlock(cfg.channels)
                for i in range(cfg.blocks)
            )
        )
        if self.point_policy:
            self.policy_head: nn.Module = PooledPolicyHead(
                cfg.channels, cfg.policy_channels, has_pass=self.num_actions == h * w + 1
            )
        else:
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
            GlobalPool("value") if pooled else nn.Flatten(),
            nn.Linear(cfg.value_channels * (3 if pooled else h * w), cfg.value_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(cfg.value_hidden, VALUE_HEAD_OUTPUTS[cfg.value_head]),  # value_head.6
        ]
        if cfg.value_head == "scalar":
            value_layers.append(nn.Tanh())
        self.value_head = nn.Sequential(*value_layers)
        self.ownership_head = nn.Conv2d(cfg.channels, 1, 1) if cfg.ownership_head else None
        self.score_head = nn.Linear(cfg.value_hidden, 1) if cfg.score_head else None

    @property
    def value_head_kind(self) -> str:
        """``"scalar"`` or ``"wdl"`` (``config.value_head``)."""
        return self.config.value_head

    @property
    def fully_convolutional(self) -> bool:
        """Whether no weight depends on the board size: global pooling with a per-point policy.

        Then the weights of a network for one board size load into a network of the same
        config for another size (``learner.train.load_across_sizes``).
        """
        return self.point_policy

    def _check(self, obs: torch.Tensor, legal_mask: torch.Tensor | None) -> None:
        if obs.dim() != 4 or tuple(obs.shape[1:]) != self.observation_shape:
            raise ValueError(
                f"expected observations [B, {', '.join(map(str, self.observation_shape))}], got {list(obs.shape)}"
            )
        if legal_mask is not None and tuple(legal_mask.shape) != (obs.shape[0], self.num_actions):
            raise ValueError(
                f"expected legal_mask [{obs.shape[0]}, {self.num_actions}], got {list(legal_mask.shape)}"
            )

    def _evaluate(self, obs: torch.Tensor, legal_mask: torch.Tensor | None, *, aux: bool) -> NetworkOutput:
        """Every head's output; the ownership and score heads only when ``aux``."""
        self._check(obs, legal_mask)
        x = self.tower(self.stem(obs))
        # float32 heads' outputs also under bf16 autocast: the mask value and the loss stay exact.
        logits = self.policy_head(x).float()
        hidden = x
        for i, layer in enumerate(self.value_head):
            if i == 6:
                break
            hidden = layer(hidden)  # [B, value_hidden] after value_head.5
        raw_value = self.value_head[6:](hidden).float()
        if self.config.value_head == "wdl":
            value_logits: torch.Tensor | None = raw_value
            value = expected_score(raw_value)
        else:
            value_logits, value = None, raw_value.reshape(-1)
        if legal_mask is not None:
            logits = mask_logits(logits, legal_mask)
        ownership = ownership_logits = score = None
        if aux and self.ownership_head is not None:
            ownership_logits = self.ownership_head(x).float()[:, 0]  # [B, H, W]
            ownership = torch.tanh(ownership_logits)
        if aux and self.score_head is not None:
            points = obs.shape[-2] * obs.shape[-1]
            score = self.score_head(hidden).float().reshape(-1) * points  # [B] points
        return NetworkOutput(logits, value, value_logits, ownership, ownership_logits, score)

    def heads(self, obs: torch.Tensor, legal_mask: torch.Tensor | None = None) -> NetworkOutput:
        """Evaluate a batch: every head's output (see :class:`NetworkOutput`), ownership and score included.

        Args:
            obs: ``[B, C, H, W]`` observations.
            legal_mask: optional ``[B, A]`` bool; False entries get :data:`MASK_VALUE`.
        """
        return self._evaluate(obs, legal_mask, aux=True)

    def forward(self, obs: torch.Tensor, legal_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Evaluate a batch: ``(policy_logits [B, A], value [B])``, float32 (the contract of every head).

        The ownership and score heads are not computed (search needs neither): use :meth:`heads`.

        Args:
            obs: ``[B, C, H, W]`` observations.
            legal_mask: optional ``[B, A]`` bool; False entries get :data:`MASK_VALUE`.
        """
        out = self._evaluate(obs, legal_mask, aux=False)
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
        value_logits = self._evaluate(obs, None, aux=False).value_logits
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
    "GlobalPool",
    "GlobalPoolingBlock",
    "NetworkOutput",
    "PolicyValueNet",
    "PooledPolicyHead",
    "ResidualBlock",
    "expected_score",
    "mask_logits",
    "pool_channels",
    "value_head_of",
]
