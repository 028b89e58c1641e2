"""How to search: :class:`SearchConfig`, frozen and validated, with the papers' values documented."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

ALGORITHMS = ("puct", "gumbel")
#: The most simulations one search may run (a search of unknown length stops itself with ``should_stop``).
MAX_SIMULATIONS = 1_000_000



@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """How to search. Defaults are for analysis/evaluation: no noise, greedy moves.

    Attributes:
        num_simulations: simulations per search (per root), 1 .. :data:`MAX_SIMULATIONS`.
        algorithm: ``"puct"`` (AlphaZero) or ``"gumbel"`` (Gumbel root search with
            Sequential Halving and deterministic interior selection).
        c_base, c_init: AlphaZero's exploration rate
            ``c(s) = log((1 + N(s) + c_base) / c_base) + c_init``; the paper's values
            are ``c_base = 19652`` and ``c_init = 1.25``. ``N(s)`` counts the node's
            own evaluation too, so a freshly expanded node has ``N(s) = 1`` and the
            first selection already follows the prior.
        fpu_reduction: first-play urgency. An unvisited child is scored with
            ``Q = Q(parent) - fpu_reduction`` (the parent's current mean value from the
            mover's view, as Leela Zero/KataGo do), so unexplored moves are assumed
            slightly worse than the position's average. Ignored if ``fpu_absolute``
            is set.
        fpu_visited_mass: scale the reduction by the square root of the prior mass of the
            children already visited (KataGo): a node whose policy is barely explored
            reduces little.
        fpu_noisy_root_reduction: the reduction at a root with noise (self-play); 0 as in
            Leela Zero and KataGo, so that noised moves are explored.
        forced_playouts_k: KataGo's forced playouts and policy target pruning (PUCT, at
            the noisy roots of self-play): a root child gets at least ``sqrt(k P N)`` of the
            root's ``N`` visits, and those forced visits are pruned from the policy target
            again where the child's PUCT score stays below the best child's. 0: off
            (KataGo uses k = 2).
        solver: proven values in the tree (MCTS-solver, :mod:`selfplay.search.solver`):
            terminal results propagate up as exact wins, losses and draws; a solved child
            counts with its exact value, a sure loss is never chosen while another move
            remains, and a solved root stops searching.
        fpu_absolute: if not None, unvisited children get exactly this Q. The
            AlphaZero pseudocode is ``-1.0`` (an unvisited child counts as a loss);
            ``0.0`` is a neutral "draw" value.
        add_noise: mix Dirichlet noise into the root prior (PUCT) / sample Gumbel
            noise at the root (Gumbel). Only for self-play; the default is off and
            the self-play worker turns it on.
        dirichlet_alpha: concentration of the root Dirichlet noise; None means
            ``dirichlet_alpha_scale / number of legal moves`` (KataGo's rule; AlphaZero's
            0.3 chess / 0.03 Go are about 10 / typical legal-move count).
        dirichlet_alpha_scale: the numerator of that rule (10).
        dirichlet_fraction: the weight of the noise, ``P = (1 - f) P + f Dir`` (0.25).
        temperature: exploration temperature of moves played early in a game.
        temperature_moves: moves (plies) ``0 .. temperature_moves - 1`` are sampled
            with ``N(a)^(1/temperature)``; later ones (and any search without
            ``move_numbers``) take the most visited move. PUCT only: the Gumbel
            search samples through its Gumbel noise.
        gumbel_num_considered: ``m``, actions sampled without replacement at the root
            by Gumbel-Top-k and then halved by Sequential Halving (16).
        gumbel_c_visit, gumbel_c_scale: ``sigma(q) = (c_visit + max_b N(b)) * c_scale * q``
            with ``q`` in ``[0, 1]``; the paper uses 50 and 1.
        gumbel_rescale_values: normalise the completed Q-values to ``[0, 1]`` by their
            min and max at the node (mctx's default) instead of ``(q + 1) / 2``.
    """

    num_simulations: int = 64
    algorithm: str = "puct"
    c_base: float = 19652.0
    c_init: float = 1.25
    fpu_reduction: float = 0.25
    fpu_visited_mass: bool = True
    fpu_noisy_root_reduction: float = 0.0
    forced_playouts_k: float = 0.0
    solver: bool = False
    fpu_absolute: float | None = None
    add_noise: bool = False
    dirichlet_alpha: float | None = None
    dirichlet_alpha_scale: float = 10.0
    dirichlet_fraction: float = 0.25
    temperature: float = 1.0
    temperature_moves: int = 0
    gumbel_num_considered: int = 16
    gumbel_c_visit: float = 50.0
    gumbel_c_scale: float = 1.0
    gumbel_rescale_values: bool = False

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> None:
            raise ValueError(f"SearchConfig.{name} {why} (got {getattr(self, name)!r})")

        def is_int(name: str) -> bool:
            v = getattr(self, name)
            return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

        def is_real(name: str) -> bool:
            v = getattr(self, name)
            return (
                isinstance(v, (int, float, np.integer, np.floating))
                and not isinstance(v, (bool, np.bool_))
                and math.isfinite(v)
            )

        if not is_int("num_simulations") or not 1 <= self.num_simulations <= MAX_SIMULATIONS:
            bad("num_simulations", f"must be an integer in 1..{MAX_SIMULATIONS}")
        if self.algorithm not in ALGORITHMS:
            bad("algorithm", f"must be one of {ALGORITHMS}")
        if not is_real("c_base") or self.c_base <= 0:
            bad("c_base", "must be a finite number > 0")
        if not is_real("c_init") or self.c_init < 0:
            bad("c_init", "must be a finite number >= 0")
        if not is_real("fpu_reduction"):
            bad("fpu_reduction", "must be a finite number")
        if not isinstance(self.fpu_visited_mass, (bool, np.bool_)):
            bad("fpu_visited_mass", "must be a bool")
        if not is_real("fpu_noisy_root_reduction"):
            bad("fpu_noisy_root_reduction", "must be a finite number")
        if not is_real("forced_playouts_k") or not 0 <= self.forced_playouts_k <= 100:
            bad("forced_playouts_k", "must be a number in [0, 100]")
        if not isinstance(self.solver, (bool, np.bool_)):
            bad("solver", "must be a bool")
        if self.fpu_absolute is not None and (not is_real("fpu_absolute") or not -1 <= self.fpu_absolute <= 1):
            bad("fpu_absolute", "must be None or a number in [-1, 1]")
        if not isinstance(self.add_noise, (bool, np.bool_)):
            bad("add_noise", "must be a bool")
        if self.dirichlet_alpha is not None and (not is_real("dirichlet_alpha") or self.dirichlet_alpha <= 0):
            bad("dirichlet_alpha", "must be None or a number > 0")
        if not is_real("dirichlet_alpha_scale") or self.dirichlet_alpha_scale <= 0:
            bad("dirichlet_alpha_scale", "must be a number > 0")
        if not is_real("dirichlet_fraction") or not 0 <= self.dirichlet_fraction <= 1:
            bad("dirichlet_fraction", "must be in [0, 1]")
        if not is_real("temperature") or self.temperature < 0:
            bad("temperature", "must be a number >= 0")
        if not is_int("temperature_moves") or self.temperature_moves < 0:
            bad("temperature_moves", "must be an integer >= 0")
        if not is_int("gumbel_num_considered") or self.gumbel_num_considered < 1:
            bad("gumbel_num_considered", "must be an integer >= 1")
        if not is_real("gumbel_c_visit") or self.gumbel_c_visit < 0:
            bad("gumbel_c_visit", "must be a number >= 0")
        if not is_real("gumbel_c_scale") or self.gumbel_c_scale < 0:
            bad("gumbel_c_scale", "must be a number >= 0")
        if not isinstance(self.gumbel_rescale_values, (bool, np.bool_)):
            bad("gumbel_rescale_values", "must be a bool")


__all__ = ["ALGORITHMS", "MAX_SIMULATIONS", "SearchConfig"]
