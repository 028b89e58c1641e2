"""Root policies: how the root of each search picks the edge a simulation takes, and what it reports.

* :class:`PuctRoot` (AlphaZero): PUCT over the network prior, with Dirichlet noise
  mixed in for self-play; the policy target is the visit distribution; the move is
  sampled from the visits with temperature early in a game, else the most visited.
* :class:`GumbelRoot` (Gumbel MuZero): Gumbel-Top-k sampling of ``m`` candidates
  (the noise is the Gumbel draw; zero without noise), Sequential Halving of the
  budget among them, the move among the most visited by ``g + logits + sigma(q)``;
  the policy target is the improved policy ``softmax(logits + sigma(completed q))``.

Root noise is drawn afresh at every search, so a reused subtree gets new noise when
it becomes the root, and the stored network prior is never changed by noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from selfplay.search import formulas
from selfplay.search.config import SearchConfig
from selfplay.search.results import SearchOutput
from selfplay.search.selection import child_stats, completed_sigma, puct_select
from selfplay.search.solver import exclude_lost
from selfplay.search.tree import Arena


class RootPolicy:
    """The roots of one search call and their edges (``idx``/``seg``/``offs`` as in :mod:`~selfplay.search.selection`).

    Args:
        arena: the search's arena, roots already expanded.
        root_ids: int64 ``[B]`` arena ids of the roots.
        config: the search settings.
        rng: the search's generator (noise, move sampling).
        noise: bool ``[B]``, whether each root gets noise (self-play's full searches).
        budgets: int64 ``[B]``, each root's simulation budget.
    """

    def __init__(
        self,
        arena: Arena,
        root_ids: np.ndarray,
        config: SearchConfig,
        rng: np.random.Generator,
        *,
        noise: np.ndarray,
        budgets: np.ndarray,
    ) -> None:
        self.arena = arena
        self.root_ids = root_ids
        self.config = config
        self.rng = rng
        self.idx, self.seg, self.offs = formulas.segments(arena.estart[root_ids], arena.ecount[root_ids])
        self.counts = arena.ecount[root_ids]
        self.sgn = arena.sgn[root_ids]
        self.raw_prior = arena.prior[self.idx]  # float64 [E]: the network's, without noise
        self.search_prior = self.raw_prior  # float64 [E]: what the root's selection uses
        self._prepare(noise=noise, budgets=budgets)

    def _prepare(self, *, noise: np.ndarray, budgets: np.ndarray) -> None:
        """Draw the root noise and set up what :meth:`select` needs (before any simulation)."""

    def _edges_of(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(positions into the root edge arrays, segment ids, offsets)`` of the roots ``active``."""
        return formulas.segments(self.offs[active], self.counts[active])

    def select(self, sim: int, active: np.ndarray | None = None) -> np.ndarray:
        """The root edge for simulation ``sim`` of each root in ``active`` (positions; None: all), int64."""
        raise NotImplementedError

    def choose(self, move_numbers: Sequence[int] | None) -> tuple[list[int], np.ndarray]:
        """``(the edge offset within its root of each root's move, the policy target per edge [E])``."""
        raise NotImplementedError

    def values(self) -> np.ndarray:
        """The searched value of each root, mover's view (``[B]``): the mean over its simulations."""
        rid = self.root_ids
        return self.sgn * self.arena.w0[rid] / self.arena.n[rid]

    def _stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(visits, value, lost)`` of every root child (see ``selection.child_stats``)."""
        return child_stats(self.arena, self.idx, self.sgn[self.seg], self.config.solver)

    def _solved(self, choices: list[int], targets: np.ndarray, values: np.ndarray) -> None:
        """At a solved root, play and train the proof: the fastest win, or a draw the proof found.

        Changes ``choices``, ``targets`` and ``values`` in place; a lost root keeps its search's answers.
        """
        arena = self.arena
        proven = self.sgn * arena.proof0[self.root_ids]  # [B], the mover's view; NaN unsolved
        if np.isnan(proven).all():
            return
        children = arena.child[self.idx]
        exact = self.sgn[self.seg] * arena.proof0[children]  # [E]
        for b in np.flatnonzero(~np.isnan(proven)).tolist():
            values[b] = proven[b] + 0.0  # no negative zero for a draw
            if proven[b] < 0:
                continue
            lo, hi = int(self.offs[b]), int(self.offs[b] + self.counts[b])
            best = exact[lo:hi] == proven[b]
            plies = np.where(best, arena.plies[children[lo:hi]], np.iinfo(np.int64).max)
            choices[b] = int(np.argmin(plies))
            targets[lo:hi] = best / best.sum()

    def outputs(self, num_actions: int, move_numbers: Sequence[int] | None) -> tuple[SearchOutput, ...]:
        """One :class:`SearchOutput` per root, arrays over the full action space."""
        arena = self.arena
        choices, targets = self.choose(move_numbers)
        root_values = self.values()
        if self.config.solver:
            targets = targets.copy()
            self._solved(choices, targets, root_values)
        n_all, q_all, _ = self._stats()
        proven = self.sgn * arena.proof0[self.root_ids]
        out = []
        for b, choice in enumerate(choices):
            lo, hi = int(self.offs[b]), int(self.offs[b] + self.counts[b])
            acts = arena.action[self.idx[lo:hi]]
            n, q = n_all[lo:hi], q_all[lo:hi]
            visits = np.zeros(num_actions, dtype=np.int64)
            visits[acts] = n.astype(np.int64)
            target = np.zeros(num_actions, dtype=np.float32)
            target[acts] = targets[lo:hi]
            prior = np.zeros(num_actions, dtype=np.float32)
            prior[acts] = self.raw_prior[lo:hi]
            search_prior = np.zeros(num_actions, dtype=np.float32)
            search_prior[acts] = self.search_prior[lo:hi]
            q_values = np.full(num_actions, np.nan, dtype=np.float32)
            q_values[acts] = np.where(n > 0, q, np.nan)
            legal = np.zeros(num_actions, dtype=bool)
            legal[acts] = True
            rid = self.root_ids[b]
            out.append(SearchOutput(
                action=int(acts[choice]),
                visit_counts=visits,
                policy_target=target,
                root_value=float(root_values[b]),
                prior=prior,
                network_value=float(self.sgn[b] * arena.raw0[rid]),
                search_prior=search_prior,
                q_values=q_values,
                legal_mask=legal,
                proven=None if np.isnan(proven[b]) else float(proven[b]) + 0.0,
                plies_to_end=None if np.isnan(proven[b]) else int(arena.plies[rid]),
            ))
        return tuple(out)


class PuctRoot(RootPolicy):
    """AlphaZero's root: PUCT over the (noised) prior; visit-count targets; temperature moves."""

    def _prepare(self, *, noise: np.ndarray, budgets: np.ndarray) -> None:
        config = self.config
        self.noise = noise
        # KataGo's forced playouts and policy target pruning, at the noisy roots of self-play.
        self.forcing = noise[self.seg] & (config.forced_playouts_k > 0)  # bool [E]
        # Leela Zero and KataGo: no first-play-urgency reduction at a noisy root, so that the
        # moves the noise picks out are explored instead of being scored below the rest.
        self.fpu_reduction = np.where(noise, config.fpu_noisy_root_reduction, config.fpu_reduction)
        if noise.any() and config.dirichlet_fraction > 0:
            alphas = np.array([
                formulas.dirichlet_alpha(k, config.dirichlet_alpha, config.dirichlet_alpha_scale)
                for k in self.counts.tolist()
            ])
            dirichlet = formulas.segment_dirichlet(self.rng, alphas, self.seg, self.offs)
            mixed = formulas.mix_noise(self.raw_prior, dirichlet, config.dirichlet_fraction)
            self.search_prior = np.where(noise[self.seg], mixed, self.raw_prior)

    def _forced(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(visits, forced playouts)`` per root edge, or None when no root forces any."""
        if not self.forcing.any():
            return None
        n, _, _ = self._stats()
        total = np.add.reduceat(n, self.offs)[self.seg]
        return n, formulas.forced_playouts(self.search_prior, total, self.config.forced_playouts_k)

    def select(self, sim: int, active: np.ndarray | None = None) -> np.ndarray:
        forced = self._forced()
        must = None if forced is None else self.forcing & (forced[0] < forced[1])
        if active is None:
            return puct_select(self.arena, self.root_ids, self.idx, self.seg, self.offs, self.search_prior,
                               self.config, fpu_reduction=self.fpu_reduction, forced=must)
        pos, seg, offs = self._edges_of(active)
        return puct_select(self.arena, self.root_ids[active], self.idx[pos], seg, offs, self.search_prior[pos],
                           self.config, fpu_reduction=self.fpu_reduction[active],
                           forced=None if must is None else must[pos])

    def choose(self, move_numbers: Sequence[int] | None) -> tuple[list[int], np.ndarray]:
        config = self.config
        n_all, q_all, _ = self._stats()
        counted = n_all
        forced = self._forced()
        if forced is not None:  # the policy target leaves out the exploration that was forced
            coefficient = formulas.puct_coefficient(self.arena.n[self.root_ids], config.c_base, config.c_init)
            pruned = formulas.pruned_visits(n_all, q_all, self.search_prior, coefficient[self.seg], forced[1],
                                            self.seg, self.offs)
            counted = np.where(self.forcing, pruned, n_all)
        totals = np.add.reduceat(counted, self.offs)[self.seg]
        # A root that got no simulation (stopped at once) answers with the prior it would have searched.
        targets = np.where(totals > 0, counted / np.maximum(totals, 1.0), self.search_prior)
        choices = []
        for b in range(len(self.root_ids)):
            lo, hi = int(self.offs[b]), int(self.offs[b] + self.counts[b])
            n, q = n_all[lo:hi], q_all[lo:hi]
            move = None if move_numbers is None else move_numbers[b]
            if not n.any():
                choices.append(int(np.argmax(self.search_prior[lo:hi])))
            elif move is not None and move < config.temperature_moves and config.temperature > 0:
                choices.append(formulas.sample_action(n, config.temperature, self.rng))
            else:  # the most visited; ties broken by Q
                choices.append(int(np.argmax(n + 0.25 * np.where(n > 0, q + 1.0, 0.0))))
        return choices, targets


class GumbelRoot(RootPolicy):
    """Gumbel MuZero's root: Gumbel-Top-k candidates halved by Sequential Halving; improved-policy targets."""

    def _prepare(self, *, noise: np.ndarray, budgets: np.ndarray) -> None:
        edges = len(self.idx)
        self.logp = self.arena.logp[self.idx]
        self.gumbel = np.where(noise[self.seg], self.rng.gumbel(size=edges), 0.0) if noise.any() else np.zeros(edges)
        self.new_visits = np.zeros(edges)  # visits this search gave each root edge
        # One Sequential Halving schedule per distinct (considered actions m, budget); roots share them.
        # A schedule shorter than the longest budget is padded with -1, which no visit count matches.
        ms = np.minimum(self.config.gumbel_num_considered, self.counts)
        keys, self.schedule_of_root = np.unique(np.stack([ms, budgets], axis=1), axis=0, return_inverse=True)
        self.schedule_of_root = self.schedule_of_root.reshape(-1)
        self.schedules = np.full((len(keys), int(budgets.max())), -1, dtype=np.int64)  # [groups, longest budget]
        for k, (m, budget) in enumerate(keys.tolist()):
            self.schedules[k, :budget] = formulas.sequential_halving_schedule(m, budget)

    def _scores(self, sim: int | None) -> np.ndarray:
        """``g + logits + sigma(completed q)`` per root edge, -inf off the schedule (``sim`` None: the final choice)."""
        n, q, lost = self._stats()
        sig, _, _ = completed_sigma(self.arena, self.root_ids, n, q, self.raw_prior, self.seg, self.offs, self.config)
        base = self.gumbel + self.logp + sig
        if lost is not None:
            base = exclude_lost(base, lost, self.offs, self.seg)
        if sim is None:  # among the most visited (in this search)
            target = np.maximum.reduceat(self.new_visits, self.offs)[self.seg]
        else:
            target = self.schedules[self.schedule_of_root, sim][self.seg]
        return np.where(self.new_visits == target, base, -np.inf)

    def select(self, sim: int, active: np.ndarray | None = None) -> np.ndarray:
        pos = formulas.segment_argmax(self._scores(sim), self.seg, self.offs)
        if active is not None:
            pos = pos[active]
        self.new_visits[pos] += 1.0
        return self.idx[pos]

    def _improved(self) -> tuple[np.ndarray, np.ndarray]:
        """``(improved policy, completed q)`` per root edge."""
        n, q, _ = self._stats()
        sig, completed, _ = completed_sigma(self.arena, self.root_ids, n, q, self.raw_prior, self.seg, self.offs,
                                            self.config)
        return formulas.segment_softmax(self.logp + sig, self.seg, self.offs), completed

    def choose(self, move_numbers: Sequence[int] | None) -> tuple[list[int], np.ndarray]:
        final = formulas.segment_argmax(self._scores(None), self.seg, self.offs)
        improved, _ = self._improved()
        return (final - self.offs).tolist(), improved

    def values(self) -> np.ndarray:
        """The value of the improved policy over the completed Q-values, per root.

        Sequential Halving forces equal visits onto weak candidates, so the mean over all
        simulations underrates a position with one good move; the improved policy weighs
        each move by how good the search found it.
        """
        improved, completed = self._improved()
        return np.add.reduceat(improved * completed, self.offs)


def root_policy(
    arena: Arena,
    root_ids: np.ndarray,
    config: SearchConfig,
    rng: np.random.Generator,
    *,
    noise: np.ndarray,
    budgets: np.ndarray,
) -> RootPolicy:
    """The configured algorithm's root policy (``noise`` bool ``[B]``, ``budgets`` int64 ``[B]``)."""
    cls = GumbelRoot if config.algorithm == "gumbel" else PuctRoot
    return cls(arena, root_ids, config, rng, noise=noise, budgets=budgets)


__all__ = ["GumbelRoot", "PuctRoot", "RootPolicy", "root_policy"]
