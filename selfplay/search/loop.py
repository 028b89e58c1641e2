"""The search loop: batched Monte Carlo tree search over many roots at once, as DeepMind's mctx does it.

:func:`search` takes a *batch* of roots (one per game in progress), a frozen
:class:`~selfplay.search.config.SearchConfig` and an evaluator, and returns frozen
output records. Each simulation step walks one path per game and calls the
evaluator ONCE with the leaves of every game stacked ``[B, ...]`` (terminal leaves
are scored exactly from ``State.returns()`` and never sent to the network; the
evaluator is never called with an empty batch). Selection walks all games in
lockstep one depth at a time and scores the children of every game's current node
with a handful of vectorised numpy operations over the concatenated edge ranges
(:mod:`~selfplay.search.selection`), so the Python work per simulation and game is
small and does not grow with the number of legal moves. The root's own choice is
the root policy's (:mod:`~selfplay.search.policies`).

Tree reuse: :meth:`SearchResult.subtree` copies the chosen child's subtree out of
the arena into a compact :class:`~selfplay.search.tree.Tree` (visits and values
kept); passing that tree as a root of the next :func:`search` continues from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from games.base import State
from selfplay.evaluators import Evaluator, PositionEvaluator, evaluate_leaves
from selfplay.search.config import MAX_SIMULATIONS, SearchConfig
from selfplay.search.policies import root_policy
from selfplay.search.results import SearchResult
from selfplay.search.selection import interior_select
from selfplay.search.solver import solve_terminals
from selfplay.search.tree import Arena, Tree

#: Simulations the arena reserves room for up front; a longer search grows it as it goes.
_RESERVED_SIMULATIONS = 1024


def search(
    roots: Sequence[State | Tree],
    evaluate: Evaluator | PositionEvaluator,
    config: SearchConfig,
    rng: np.random.Generator,
    *,
    add_noise: bool | Sequence[bool] | None = None,
    move_numbers: Sequence[int] | None = None,
    simulations: Sequence[int] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SearchResult:
    """Search every root (a position, or a :class:`Tree` kept from the previous move).

    Args:
        roots: B non-terminal positions of the same game, or trees from
            :meth:`SearchResult.subtree` (their visits are kept).
        evaluate: an evaluator of either kind (:mod:`selfplay.evaluators`), values from
            the mover's view. Called once per simulation step with the non-terminal
            leaves of all games (and once up front for roots that have not been evaluated).
        config: the search settings.
        rng: the only source of randomness (noise, temperature sampling).
        add_noise: overrides ``config.add_noise``, for all roots or per root (self-play
            noises its full searches, not its cheap ones).
        move_numbers: per root, the number of moves already played in its game,
            for the temperature schedule; None = past the schedule (greedy moves).
        simulations: per root, its budget (default ``config.num_simulations`` for all);
            the roots stay in lockstep while they run, and a root whose budget is spent
            drops out of the step (playout cap randomization mixes budgets in one batch).
        should_stop: asked once the roots are evaluated and after every simulation step;
            True ends the search there (a hard deadline: time kept within one step). A search
            stopped before its first simulation answers from the network's prior alone.

    Returns:
        A :class:`SearchResult` with one :class:`SearchOutput` per root.
    """
    num_roots = len(roots)
    if num_roots == 0:
        return SearchResult((), 0, 0, 0, Arena(2, 1), np.zeros(0, dtype=np.int64))
    if add_noise is None or isinstance(add_noise, (bool, np.bool_)):
        noise = np.full(num_roots, config.add_noise if add_noise is None else bool(add_noise))
    else:
        noise = np.asarray(add_noise, dtype=bool)
    budgets = np.full(num_roots, config.num_simulations, dtype=np.int64)
    if simulations is not None:
        budgets = np.asarray(simulations, dtype=np.int64)
        if budgets.min(initial=1) < 1 or budgets.max(initial=1) > MAX_SIMULATIONS:
            raise ValueError(f"simulations per root must be in 1..{MAX_SIMULATIONS}")
    for name, per_root in (("move_numbers", move_numbers), ("add_noise", noise), ("simulations", budgets)):
        if per_root is not None and len(per_root) != num_roots:
            raise ValueError(f"{name} has {len(per_root)} entries for {num_roots} roots")
    root_states = [r.state if isinstance(r, Tree) else r for r in roots]
    num_actions = root_states[0].game.num_actions
    for st in root_states:
        if st.game.num_actions != num_actions:
            raise ValueError("all roots of one search must be of the same game")
        if st.is_terminal():
            raise ValueError("cannot search a terminal position")

    sims = int(budgets.max())
    reserve = min(sims, _RESERVED_SIMULATIONS)  # the arena grows beyond this when a search runs on
    tree_nodes = sum(r.num_nodes for r in roots if isinstance(r, Tree))
    tree_edges = sum(len(r.edge_action) for r in roots if isinstance(r, Tree))
    arena = Arena(
        1 + tree_nodes + num_roots * (reserve + 1),
        tree_edges + num_roots * (reserve + 1) * min(num_actions, 48),
    )
    counts = {"evals": 0, "calls": 0}

    def evaluate_nodes(nodes: np.ndarray, states: list[State]) -> np.ndarray:
        """Evaluate and expand ``nodes``; returns their values from player 0's view."""
        masks = np.stack([s.legal_mask() for s in states])
        logits, values = evaluate_leaves(evaluate, states, masks)
        counts["evals"] += len(nodes)
        counts["calls"] += 1
        arena.expand(nodes, masks, logits)
        v0 = values * arena.sgn[nodes]
        arena.raw0[nodes] = v0
        return v0

    # ---- roots
    root_ids = np.zeros(num_roots, dtype=np.int64)
    fresh = []
    for i, r in enumerate(roots):
        if isinstance(r, Tree):
            root_ids[i] = arena.load(r)
        else:
            fresh.append(i)
    if fresh:
        fresh_states = [root_states[i] for i in fresh]
        ids = arena.add_nodes(fresh_states)
        root_ids[fresh] = ids
        arena.w0[ids] = evaluate_nodes(ids, fresh_states)
        arena.n[ids] = 1.0
    if config.solver:  # a root the kept tree has already solved needs no more search
        budgets = np.where(np.isnan(arena.proof0[root_ids]), budgets, 0)
        sims = int(budgets.max())
    root = root_policy(arena, root_ids, config, rng, noise=noise, budgets=budgets)

    # ---- simulations
    all_games = np.arange(num_roots)
    v0_leaf = np.zeros(num_roots)
    uniform = bool((budgets == sims).all())
    done = 0
    if should_stop is not None and should_stop():
        sims = 0  # no time for a simulation: the prior answers
    while done < sims:
        active = None if uniform else np.flatnonzero(budgets > done)
        if active is not None and not active.size:
            break  # every root is solved or has spent its budget
        edges = root.select(done, active)
        games = all_games if active is None else active
        cur = root_ids[games]
        path_nodes = [cur]
        path_games = [games]
        new_games, new_parents, new_edges = [], [], []
        while True:  # descend, all games in lockstep one depth at a time
            child = arena.child[edges]
            is_new = child == 0
            is_term = arena.terminal[child]
            if is_new.any():
                new_games.append(games[is_new])
                new_parents.append(cur[is_new])
                new_edges.append(edges[is_new])
            if is_term.any():
                tg, tc = games[is_term], child[is_term]
                path_nodes.append(tc)
                path_games.append(tg)
                v0_leaf[tg] = arena.raw0[tc]
            go_on = ~(is_new | is_term)
            if not go_on.any():
                break
            if not go_on.all():
                games, cur = games[go_on], child[go_on]
            else:
                cur = child
            path_nodes.append(cur)
            path_games.append(games)
            edges = interior_select(arena, cur, config)

        if new_games:  # expand: terminal leaves are scored by the rules, the others by the evaluator
            ngames = np.concatenate(new_games)
            nparents = np.concatenate(new_parents)
            nedges = np.concatenate(new_edges)
            acts = arena.action[nedges].tolist()
            states = arena.states
            new_states = [states[p].apply_unchecked(a) for p, a in zip(nparents.tolist(), acts, strict=True)]
            ids = arena.add_nodes(new_states, nparents)
            arena.child[nedges] = ids
            eval_j: list[int] = []
            term_j: list[int] = []
            term_v: list[float] = []
            for j, st in enumerate(new_states):
                if st.is_terminal():
                    term_j.append(j)
                    term_v.append(st.returns()[0])
                else:
                    eval_j.append(j)
            if term_j:
                tids = ids[term_j]
                arena.terminal[tids] = True
                arena.raw0[tids] = term_v
                v0_leaf[ngames[term_j]] = term_v
                if config.solver:
                    solve_terminals(arena, tids)
                    solved = ~np.isnan(arena.proof0[root_ids]) & (budgets > done + 1)
                    if solved.any():  # a solved root stops after this simulation
                        budgets = np.where(solved, done + 1, budgets)
                        uniform = False
            if eval_j:
                v0_leaf[ngames[eval_j]] = evaluate_nodes(ids[eval_j], [new_states[j] for j in eval_j])
            path_nodes.append(ids)
            path_games.append(ngames)

        # ---- backup: every node on every path gets the leaf's value (player 0's view)
        nodes_all = np.concatenate(path_nodes)
        arena.n[nodes_all] += 1.0
        arena.w0[nodes_all] += v0_leaf[np.concatenate(path_games)]
        done += 1
        if should_stop is not None and done < sims and should_stop():
            break

    return SearchResult(
        outputs=root.outputs(num_actions, move_numbers),
        num_evaluations=counts["evals"],
        num_evaluate_calls=counts["calls"],
        num_simulations=int(np.minimum(budgets, done).sum()),
        _arena=arena,
        _root_ids=root_ids,
    )


__all__ = ["search"]
