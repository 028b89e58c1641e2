"""The AlphaZero loss, as a pure function of tensors, with KataGo's ownership and score terms.

``total = policy + value_weight * value [+ ownership_weight * ownership] [+ score_weight * score]``
(the last two only for a network with those heads) where

* ``policy`` is the cross-entropy ``-sum_a pi(a) log p(a)`` between the search's
  target ``pi`` and the network's softmax ``p``, both restricted to the legal
  actions (illegal logits are masked, the target is renormalised over legal
  actions), averaged over the rows that **have** a policy target. A row whose
  target is all zero over the legal actions (a position searched too little to
  record one, as with playout cap randomization) has no policy loss and does not
  count in the average: ``policy = sum_{b in T} CE_b / max(|T|, 1)`` with ``T`` the
  rows with a target (0 when no row has one);
* ``value`` depends on the network's value head (``NetworkConfig.value_head``), with
  ``t`` the value target in ``[-1, 1]`` from the mover's view (the outcome ``z``, or
  ``t = (1 - w) z + w q`` mixed with the search's root value ``q``):

  - ``"scalar"``: the mean squared error ``(t - v)^2``;
  - ``"wdl"``: the cross-entropy ``-sum_k y_k log softmax(l)_k`` of the three
    (win, draw, loss) logits ``l`` against :func:`wdl_target` ``y = [max(t, 0),
    1 - |t|, max(-t, 0)]``, averaged over the batch. ``y`` is one-hot for
    ``t`` in ``{-1, 0, 1}`` and its expected score ``y_0 - y_2`` is ``t``; the loss is
    smallest (the entropy of ``y``) when the network's probabilities equal ``y``;
* ``ownership`` (an ownership head, ``NetworkConfig.ownership_head``): per point the binary
  cross-entropy between who owns it at the end ``o`` in ``[-1, 1]`` (+1 the mover) and the
  network's ownership ``tanh(l)`` of its logit ``l``, as probabilities ``(1 + o) / 2`` and
  ``(1 + tanh(l)) / 2 = sigmoid(2 l)``: ``softplus(2 l) - (1 + o) l``, whose gradient is
  ``tanh(l) - o``. Averaged over the points of the board and over the rows that have a
  final area (``area_mask``; a resigned game has none), 0 when no row has one. KataGo
  weights it 1.5 per point;
* ``score`` (a score head): the squared error of the predicted final score ``s`` and the
  target ``t`` (points, the mover's side), both divided by the board's points
  (``score_scale = 1 / (H * W)``), ``((s - t) / (H * W))^2``, averaged over the rows
  with a final area (0 when none has one).

Weight decay is **not** part of this loss: the optimizer applies it to
convolution and linear weights only, not to biases or batch-norm parameters (see
:mod:`learner.train`). With SGD ``weight_decay`` is the L2 coefficient ``c`` (it adds
``c * w`` to the gradient, the gradient of ``(c / 2) * ||w||^2``, as in AlphaZero
with ``c = 1e-4``); with AdamW it is decoupled decay (weights shrink by
``lr * weight_decay`` per step).

Metrics returned alongside (no gradient needed):

* ``policy_entropy``: mean entropy of the network's policy over legal actions, over
  the rows with a policy target (over all rows when none has one);
* ``policy_target_fraction``: ``|T| / B``, the fraction of rows with a policy target;
* ``value_accuracy``: fraction of positions where the value's predicted outcome
  agrees with the sign of the target. The predicted outcome is ``sign(v)`` with a
  dead zone ``|v| < draw_margin`` (default 1/3) counted as a draw, so that draws
  (``z = 0``) can be right too. ``v`` is the network's value, with a ``"wdl"`` head
  its expected score, so the metric means the same for both heads;
* ``value_mse``: ``mean (t - v)^2`` for both heads (``value`` itself for ``"scalar"``),
  the value error comparable across heads.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from learner.network import mask_logits

DEFAULT_DRAW_MARGIN = 1.0 / 3.0


class LossTerms(NamedTuple):
    """Scalar tensors of one loss evaluation. ``total`` carries the gradient.

    ``ownership`` and ``score`` are the unweighted auxiliary terms, 0 without their head.
    """

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    policy_entropy: torch.Tensor
    value_accuracy: torch.Tensor
    policy_target_fraction: torch.Tensor
    value_mse: torch.Tensor
    ownership: torch.Tensor
    score: torch.Tensor

    def as_floats(self, *, ownership: bool = False, score: bool = False) -> dict[str, float]:
        """``loss``, ``policy_loss``, ``value_loss``, ``policy_entropy``, ``value_accuracy``,
        ``policy_target_fraction`` and ``value_mse`` as Python floats, and ``ownership_loss`` /
        ``score_loss`` (before their weights) when ``ownership`` / ``score`` (a network with
        those heads)."""
        out = {
            "loss": float(self.total.detach()),
            "policy_loss": float(self.policy.detach()),
            "value_loss": float(self.value.detach()),
            "policy_entropy": float(self.policy_entropy),
            "value_accuracy": float(self.value_accuracy),
            "policy_target_fraction": float(self.policy_target_fraction),
            "value_mse": float(self.value_mse),
        }
        if ownership:
            out["ownership_loss"] = float(self.ownership.detach())
        if score:
            out["score_loss"] = float(self.score.detach())
        return out


def wdl_target(value_target: torch.Tensor) -> torch.Tensor:
    """The (win, draw, loss) distribution of scalar targets: ``[B]`` in ``[-1, 1]`` -> ``[B, 3]``.

    ``[max(t, 0), 1 - |t|, max(-t, 0)]``: one-hot for ``t`` in ``{-1, 0, 1}``, non-negative,
    summing to 1, with expected score (win - loss) ``t``. ``t`` is clamped to ``[-1, 1]`` first
    (float rounding of a mixed target must not make a probability negative).
    """
    if value_target.dim() != 1:
        raise ValueError(f"value_target must be [B], got {list(value_target.shape)}")
    t = value_target.float().clamp(-1.0, 1.0)
    return torch.stack([t.clamp_min(0.0), 1.0 - t.abs(), (-t).clamp_min(0.0)], dim=-1)


def compute_loss(
    policy_logits: torch.Tensor,
    value: torch.Tensor,
    policy_target: torch.Tensor,
    value_target: torch.Tensor,
    legal_mask: torch.Tensor,
    *,
    value_logits: torch.Tensor | None = None,
    value_weight: float = 1.0,
    draw_margin: float = DEFAULT_DRAW_MARGIN,
    ownership_logits: torch.Tensor | None = None,
    ownership_target: torch.Tensor | None = None,
    score: torch.Tensor | None = None,
    score_target: torch.Tensor | None = None,
    area_mask: torch.Tensor | None = None,
    ownership_weight: float = 1.5,
    score_weight: float = 1.0,
    score_scale: float = 1.0,
) -> LossTerms:
    """The AlphaZero loss of one batch (see the module docstring).

    Args:
        policy_logits: ``[B, A]`` raw or already-masked logits.
        value: ``[B]`` predicted values in ``[-1, 1]`` (with a ``"wdl"`` head the expected
            score of ``value_logits``; used by the metrics).
        policy_target: ``[B, A]`` search distribution (non-negative; renormalised
            over the legal actions; a row that is all zero over them has no policy
            target: no policy loss, and no weight in the policy average).
        value_target: ``[B]`` value targets ``t`` in ``[-1, 1]`` from the mover's point of view.
        legal_mask: ``[B, A]`` bool.
        value_logits: ``[B, 3]`` (win, draw, loss) logits of a ``"wdl"`` value head: the value
            loss is their cross-entropy against :func:`wdl_target`. ``None`` (a ``"scalar"``
            head): the value loss is the squared error of ``value``.
        value_weight: weight of the value term in ``total``.
        draw_margin: dead zone of ``value_accuracy`` (see the module docstring).
        ownership_logits: ``[B, H, W]`` logits of an ownership head (``None``: no ownership term).
        ownership_target: ``[B, H, W]`` in ``[-1, 1]``, the mover's ownership at the end (needed
            with ``ownership_logits``).
        score: ``[B]`` predicted final scores in points (``None``: no score term).
        score_target: ``[B]`` final scores in points from the mover's side (needed with ``score``).
        area_mask: ``[B]`` bool, the rows that have ownership and score targets (``None``: all).
        ownership_weight: weight of the ownership term in ``total``.
        score_weight: weight of the score term in ``total``.
        score_scale: factor of the score and its target in the score term, ``1 / (H * W)``.
    """
    if policy_logits.dim() != 2:
        raise ValueError(f"policy_logits must be [B, A], got {list(policy_logits.shape)}")
    b, a = policy_logits.shape
    for name, t, shape in (
        ("policy_target", policy_target, (b, a)),
        ("legal_mask", legal_mask, (b, a)),
        ("value", value, (b,)),
        ("value_target", value_target, (b,)),
    ):
        if tuple(t.shape) != shape:
            raise ValueError(f"{name} must have shape {list(shape)}, got {list(t.shape)}")
    if value_logits is not None and tuple(value_logits.shape) != (b, 3):
        raise ValueError(f"value_logits must have shape {[b, 3]}, got {list(value_logits.shape)}")
    mask = legal_mask.to(torch.bool)
    logits = mask_logits(policy_logits.float(), mask)
    log_p = torch.log_softmax(logits, dim=-1)
    zero = torch.zeros((), dtype=log_p.dtype, device=log_p.device)

    target = torch.where(mask, policy_target.to(log_p.dtype), zero)
    mass = target.sum(dim=-1, keepdim=True)  # [B, 1]
    has_target = mass.squeeze(-1) > 0  # [B]
    num_targets = has_target.sum()
    target = target / mass.clamp_min(1e-12)
    cross_entropy = -torch.where(mask, target * log_p, zero).sum(dim=-1)  # [B], 0 where no target
    policy_loss = cross_entropy.sum() / num_targets.clamp_min(1).to(log_p.dtype)

    v = value.float()
    z = value_target.to(v.dtype)
    squared_error = torch.mean((v - z) ** 2)
    if value_logits is None:
        value_loss = squared_error
    else:
        log_q = torch.log_softmax(value_logits.float(), dim=-1)
        value_loss = -(wdl_target(z) * log_q).sum(dim=-1).mean()

    total = policy_loss + value_weight * value_loss
    rows = _area_rows(area_mask, b, log_p.device)
    ownership_loss = score_loss = zero  # no head, no term
    if ownership_logits is not None:
        if ownership_target is None:
            raise ValueError("ownership_logits need an ownership_target")
        if ownership_logits.dim() != 3 or ownership_logits.shape[0] != b:
            raise ValueError(f"ownership_logits must be [B, H, W] with B = {b}, got {list(ownership_logits.shape)}")
        if tuple(ownership_target.shape) != tuple(ownership_logits.shape):
            raise ValueError(
                f"ownership_target must have shape {list(ownership_logits.shape)}, got {list(ownership_target.shape)}"
            )
        logit = ownership_logits.float()
        o = ownership_target.to(logit.dtype).clamp(-1.0, 1.0)
        per_point = torch.nn.functional.softplus(2.0 * logit) - (1.0 + o) * logit  # BCE: sigmoid(2l) vs (1 + o) / 2
        ownership_loss = _masked_mean(per_point.mean(dim=(1, 2)), rows)
        total = total + ownership_weight * ownership_loss
    if score is not None:
        if score_target is None:
            raise ValueError("score needs a score_target")
        for name, t in (("score", score), ("score_target", score_target)):
            if tuple(t.shape) != (b,):
                raise ValueError(f"{name} must have shape {[b]}, got {list(t.shape)}")
        error = (score.float() - score_target.float()) * score_scale
        score_loss = _masked_mean(error**2, rows)
        total = total + score_weight * score_loss

    with torch.no_grad():
        p = log_p.exp()
        row_entropy = -torch.where(mask, p * log_p, zero).sum(dim=-1)  # [B]
        rows = torch.where(num_targets > 0, has_target.to(log_p.dtype), torch.ones_like(row_entropy))
        entropy = (row_entropy * rows).sum() / rows.sum()
        target_fraction = num_targets.to(log_p.dtype) / max(b, 1)
        predicted = torch.where(v.abs() < draw_margin, torch.zeros_like(v), torch.sign(v))
        accuracy = (predicted == torch.sign(z)).float().mean()
    return LossTerms(
        total, policy_loss, value_loss, entropy, accuracy, target_fraction, squared_error.detach(),
        ownership_loss, score_loss,
    )


def _area_rows(area_mask: torch.Tensor | None, b: int, device: torch.device) -> torch.Tensor:
    """``[B]`` float32 weights of the rows with final-area targets (all ones without a mask)."""
    if area_mask is None:
        return torch.ones(b, device=device)
    if tuple(area_mask.shape) != (b,):
        raise ValueError(f"area_mask must have shape {[b]}, got {list(area_mask.shape)}")
    return area_mask.to(device=device, dtype=torch.bool).float()


def _masked_mean(per_row: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """The mean of ``per_row`` over the rows whose weight is 1 (0 when there are none)."""
    return (per_row * rows).sum() / rows.sum().clamp_min(1.0)


__all__ = ["DEFAULT_DRAW_MARGIN", "LossTerms", "compute_loss", "wdl_target"]
