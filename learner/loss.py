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
* ``value`` depends on the network's value head (``NetworkConfig.value_head``), with
  ``t`` the value target in ``[-1, 1]`` from the mover's view (the outcome ``z``, or
  ``t = (1 - w) z + w q`` mixed with the search's root value ``q``):

  - ``"scalar"``: the mean squared error ``(t - v)^2``;
  - ``"wdl"``: the cross-entropy ``-sum_k y_k log softmax(l)_k`` of the three
    (win, draw, loss) logits ``l`` against :func:`wdl_target` ``y = [max(t, 0),
    1 - |t|, max(-t, 0)]``, averaged over the batch. ``y`` is one-hot for
    ``t`` in ``{-1, 0, 1}`` and its expected score ``y_0 - y_2`` is ``t``; the loss is
    smallest (the entropy of ``y``) when the network's probabilities equal ``y``.

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
    """Scalar tensors of one loss evaluation. ``total`` carries the gradient."""

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    policy_entropy: torch.Tensor
    value_accuracy: torch.Tensor
    policy_target_fraction: torch.Tensor
    value_mse: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        """``loss``, ``policy_loss``, ``value_loss``, ``policy_entropy``, ``value_accuracy``,
        ``policy_target_fraction`` and ``value_mse`` as Python floats."""
        return {
            "loss": float(self.total.detach()),
            "policy_loss": float(self.policy.detach()),
            "value_loss": float(self.value.detach()),
            "policy_entropy": float(self.policy_entropy),
            "value_accuracy": float(self.value_accuracy),
            "policy_target_fraction": float(self.policy_target_fraction),
            "value_mse": float(self.value_mse),
        }


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

    with torch.no_grad():
        p = log_p.exp()
        row_entropy = -torch.where(mask, p * log_p, zero).sum(dim=-1)  # [B]
        rows = torch.where(num_targets > 0, has_target.to(log_p.dtype), torch.ones_like(row_entropy))
        entropy = (row_entropy * rows).sum() / rows.sum()
        target_fraction = num_targets.to(log_p.dtype) / max(b, 1)
        predicted = torch.where(v.abs() < draw_margin, torch.zeros_like(v), torch.sign(v))
        accuracy = (predicted == torch.sign(z)).float().mean()
    return LossTerms(
        total, policy_loss, value_loss, entropy, accuracy, target_fraction, squared_error.detach()
    )


__all__ = ["DEFAULT_DRAW_MARGIN", "LossTerms", "compute_loss", "wdl_target"]
