"""The evaluator contract of the search, and the evaluators that need no network.

An evaluator scores a batch of leaves. It comes in one of two kinds, and the search
calls each its own way:

* an :data:`Evaluator` is any callable
  ``evaluate(observations [B, C, H, W] float32, legal_masks [B, A] bool)
  -> (policy_logits [B, A], values [B])``: a network (``learner.TorchEvaluator``), a
  shared inference client, a test double;
* a :class:`PositionEvaluator` needs the positions themselves (random playouts, a
  solver): the search calls its :meth:`~PositionEvaluator.evaluate_states` with the
  states and computes no observations for it.

Values are from the point of view of the player to move, in ``[-1, 1]``; logits of
illegal actions are ignored. :func:`evaluate_leaves` calls either kind and checks
what comes back.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import numpy as np

from games.base import Game, State

#: ``evaluate(observations [B, C, H, W], legal_masks [B, A]) -> (policy_logits [B, A], values [B])``.
Evaluator = Callable[[np.ndarray, np.ndarray], "tuple[np.ndarray, np.ndarray]"]


class PositionEvaluator(abc.ABC):
    """An evaluator of positions rather than observations (see the module docstring)."""

    @abc.abstractmethod
    def evaluate_states(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]:
        """``(policy_logits [B, A], values [B])`` of ``B`` non-terminal states, values from the mover's view."""


def uniform_evaluator(observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero logits (a uniform prior over legal moves) and zero values: search overhead only."""
    b = legal_masks.shape[0]
    return np.zeros(legal_masks.shape, dtype=np.float32), np.zeros(b, dtype=np.float32)


class RolloutEvaluator(PositionEvaluator):
    """Uniform prior; value = mean outcome of ``rollouts`` random playouts, mover's view."""

    def __init__(self, game: Game, rng: np.random.Generator, rollouts: int = 1) -> None:
        if rollouts < 1:
            raise ValueError(f"rollouts must be >= 1 (got {rollouts})")
        self.game = game
        self.rng = rng
        self.rollouts = rollouts

    def value(self, state: State) -> float:
        total = 0.0
        mover = state.to_play
        for _ in range(self.rollouts):
            s = state
            while not s.is_terminal():
                legal = np.flatnonzero(s.legal_mask())
                s = s.apply_unchecked(int(legal[self.rng.integers(len(legal))]))
            total += s.returns()[mover]
        return total / self.rollouts

    def evaluate_states(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]:
        values = np.array([self.value(s) for s in states], dtype=np.float32)
        return np.zeros((len(states), self.game.num_actions), dtype=np.float32), values


def evaluate_leaves(
    evaluate: Evaluator | PositionEvaluator, states: Sequence[State], legal_masks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``B`` non-terminal ``states`` with either kind of evaluator; outputs checked.

    Returns:
        ``(policy_logits [B, A], values [B] float64 clipped to [-1, 1])``.

    Raises:
        ValueError: outputs of the wrong shape, or a non-finite value.
    """
    if isinstance(evaluate, PositionEvaluator):
        logits, values = evaluate.evaluate_states(states)
    else:
        logits, values = evaluate(np.stack([s.observation() for s in states]), legal_masks)
    b, a = legal_masks.shape
    logits = np.asarray(logits)
    values = np.asarray(values)
    if logits.shape != (b, a):
        raise ValueError(f"evaluator returned policy logits of shape {logits.shape}, expected {(b, a)}")
    if values.shape != (b,):
        if values.size != b:
            raise ValueError(f"evaluator returned values of shape {values.shape}, expected {(b,)}")
        values = values.reshape(b)
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("evaluator returned a non-finite value")
    return logits, np.clip(values, -1.0, 1.0)


__all__ = ["Evaluator", "PositionEvaluator", "RolloutEvaluator", "evaluate_leaves", "uniform_evaluator"]
