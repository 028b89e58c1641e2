"""The AlphaZero loss, as a pure function of tensors.

``total = policy + value_weight * value`` where

* ``policy`` is the cross-entropy ``-sum_a pi(a) log p(a)`` between the search's
  target ``pi`` and the network's softmax ``p``, both restricted to the legal
  actions (illegal logits are masked, the target is renormalised over legal
  actions), averaged over the rows that **have** a policy target. A row whose
  target is all zero over the legal actions (a position searched too little to
  record one, as with playout cap randomization) has no policy loss and does not
  count in the average: ``policy = sum_{b in T} CE_b / max(|T|, 1)`` with ``T`` the
  rows with a target (0 when no row has one);
* ``value`` is the mean squared error ``(z - v)^2`` against the outcome ``z``.

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
  (``z = 0``) can be right too.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from learner.network import mask_logits

DEFAULT_DRAW_MARGIN = 1.0 / 3.0


class LossTerms(NamedTuple):
    """Scalar tensors of one loss evaluation. ``total`` carries the gradient."""

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    policy_entropy: torch.Tensor
    value_accuracy: torch.Tensor
    policy_target_fraction: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        """``loss``, ``policy_loss``, ``value_loss``, ``policy_entropy``, ``value_accuracy`` and
        ``policy_target_fraction`` as Python floats."""
        return {
            "loss": float(self.total.detach()),
            "policy_loss": float(self.policy.detach()),
            "value_loss": float(self.value.detach()),
            "policy_entropy": float(self.policy_entropy),
            "value_accuracy": float(self.value_accuracy),
            "policy_target_fraction": float(self.policy_target_fraction),
        }


def compute_loss(
    policy_logits: torch.Tensor,
    value: torch.Tensor,
    policy_target: torch.Tensor,
    value_target: torch.Tensor,
    legal_mask: torch.Tensor,
    *,
    value_weight: float = 1.0,
    draw_margin: float = DEFAULT_DRAW_MARGIN,
) -> LossTerms:
    """The AlphaZero loss of one batch (see the module docstring).

    Args:
        policy_logits: ``[B, A]`` raw or already-masked logits.
        value: ``[B]`` predicted values in ``[-1, 1]``.
        policy_target: ``[B, A]`` search distribution (non-negative; renormalised
            over the legal actions; a row that is all zero over them has no policy
            target: no policy loss, and no weight in the policy average).
        value_target: ``[B]`` outcomes from the mover's point of view.
        legal_mask: ``[B, A]`` bool.
        value_weight: weight of the value term in ``total``.
        draw_margin: dead zone of ``value_accuracy`` (see the module docstring).
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
    value_loss = torch.mean((v - z) ** 2)

    total = policy_loss + value_weight * value_loss

    with torch.no_grad():
        p = log_p.exp()
        row_entropy = -torch.where(mask, p * log_p, zero).sum(dim=-1)  # [B]
        rows = torch.where(num_targets > 0, has_target.to(log_p.dtype), torch.ones_like(row_entropy))
        entropy = (row_entropy * rows).sum() / rows.sum()
        target_fraction = num_targets.to(log_p.dtype) / max(b, 1)
        predicted = torch.where(v.abs() < draw_margin, torch.zeros_like(v), torch.sign(v))
        accuracy = (predicted == torch.sign(z)).float().mean()
    return LossTerms(total, policy_loss, value_loss, entropy, accuracy, target_fraction)


__all__ = ["DEFAULT_DRAW_MARGIN", "LossTerms", "compute_loss"]
