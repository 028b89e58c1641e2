"""What a search returns: one :class:`SearchOutput` per root, and the :class:`SearchResult` with the trees."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from selfplay.search.tree import Arena, Tree


@dataclasses.dataclass(frozen=True, eq=False)
class SearchOutput:
    """The result of searching one root. Arrays are over the full action space ``[A]``.

    Attributes:
        action: the move to play (temperature schedule / Gumbel selection applied).
        visit_counts: int64 [A], root child visits (0 at illegal moves).
        policy_target: float32 [A], the training target: the visit distribution
            (PUCT) or the improved policy ``softmax(logits + sigma(completed_q))``
            (Gumbel); sums to 1 over the legal moves, 0 elsewhere.
        root_value: the searched value of the root, mover's view: the mean over its
            simulations (PUCT), the value of the improved policy (Gumbel), the exact value
            of a solved root.
        prior: float32 [A], the raw network prior (softmax over legal moves, no noise).
        network_value: the network's value of the root, mover's view.
        search_prior: float32 [A], the prior the root search used (with noise, if any).
        q_values: float32 [A], per-child mean value from the root mover's view (exact for
            a solved child); NaN for unvisited and illegal moves.
        legal_mask: bool [A].
        proven: the exact value of a solved root for its mover (1 a win, 0 a draw, -1 a
            loss) when ``SearchConfig.solver`` proved it, else None.
        plies_to_end: moves to the end along the proof (a win in 3 plies: the mover's
            second move from now wins), else None.
    """

    action: int
    visit_counts: np.ndarray  # int64 [A]
    policy_target: np.ndarray  # float32 [A]
    root_value: float
    prior: np.ndarray  # float32 [A]
    network_value: float
    search_prior: np.ndarray  # float32 [A]
    q_values: np.ndarray  # float32 [A]
    legal_mask: np.ndarray  # bool [A]
    proven: float | None = None
    plies_to_end: int | None = None

    @property
    def legal_policy(self) -> np.ndarray:
        """float32 [num_legal]: the policy target over the legal actions in increasing order."""
        return self.policy_target[self.legal_mask]



@dataclasses.dataclass(frozen=True, eq=False)
class SearchResult:
    """What :func:`search` returns: one :class:`SearchOutput` per root, plus the trees.

    Attributes:
        outputs: per root, in the order of the roots.
        num_evaluations: positions sent to the evaluator (roots included).
        num_evaluate_calls: evaluator calls.
        num_simulations: simulations run, summed over the roots.
    """

    outputs: tuple[SearchOutput, ...]
    num_evaluations: int
    num_evaluate_calls: int
    num_simulations: int
    _arena: Any = dataclasses.field(repr=False, default=None)
    _root_ids: Any = dataclasses.field(repr=False, default=None)

    def __len__(self) -> int:
        return len(self.outputs)

    def __getitem__(self, i: int) -> SearchOutput:
        return self.outputs[i]

    def subtree(self, i: int, action: int | None = None) -> Tree | None:
        """The subtree under ``action`` (default: the selected action) of root ``i``, for reuse.

        None if that child was never visited or is terminal (then search its state afresh).
        """
        return self.subtrees([i], [action])[0]

    def root_tree(self, i: int) -> Tree:
        """The whole tree searched for root ``i``: pass it back to :func:`search` to keep searching."""
        return self._arena.extract(np.array([int(self._root_ids[i])], dtype=np.int64))[0]

    def subtrees(self, roots: Sequence[int], actions: Sequence[int | None]) -> list[Tree | None]:
        """:meth:`subtree` for several roots at once (one vectorised copy; what the worker uses)."""
        arena: Arena = self._arena
        children = []
        for i, action in zip(roots, actions, strict=True):
            if action is None:
                action = self.outputs[i].action
            root = int(self._root_ids[i])
            s, k = int(arena.estart[root]), int(arena.ecount[root])
            hits = np.flatnonzero(arena.action[s : s + k] == action)
            if not hits.size:
                raise ValueError(f"action {action} is not legal at root {i}")
            child = int(arena.child[s + hits[0]])
            children.append(0 if arena.terminal[child] else child)
        wanted = [c for c in children if c != 0]
        trees = iter(arena.extract(np.array(wanted, dtype=np.int64)) if wanted else [])
        return [next(trees) if c != 0 else None for c in children]


__all__ = ["SearchOutput", "SearchResult"]
