"""Batched Monte Carlo tree search: AlphaZero PUCT and Gumbel root search.

The design follows DeepMind's mctx: a frozen :class:`SearchConfig`, a function
:func:`search` over a *batch* of roots (one per game in progress) and frozen
output records. Each simulation step walks one path per game and calls the
evaluator ONCE with the leaves of every game stacked ``[B, ...]`` (terminal
leaves are scored exactly from ``State.returns()`` and never sent to the
network; the evaluator is never called with an empty batch).

Tree layout (the speed-critical part): all trees of one :func:`search` call
live in one arena of flat numpy arrays. A node holds its state, its visit
count and value sum, and a contiguous range of *edges*, one per legal action
(never per action of the full action space). Selection walks all games in
lockstep one depth at a time and scores the children of every game's current
node with a handful of vectorised numpy operations over the concatenated edge
ranges (``ufunc.reduceat`` for per-node reductions), so the Python work per
simulation and game is small and does not grow with the number of legal moves.
Node index 0 is a null node with zero visits: an edge whose child has not been
created points at it.

Values: the network's value and ``returns()`` are turned into the view of
player 0 for storage (``w0``); a node's ``sgn`` (+1 when player 0 is to move,
else -1) turns them back into the mover's view. Backing up a leaf value then
adds the same number to every node on the path, whatever the move order.

Tree reuse: :meth:`SearchResult.subtree` copies the chosen child's subtree out
of the arena into a compact :class:`Tree` (visits and values kept); passing
that tree as a root of the next :func:`search` continues from it. Root noise
(Dirichlet for PUCT, Gumbel for the Gumbel search) is drawn afresh at every
search, so a reused subtree gets new noise when it becomes the root, and the
stored network prior is never changed by noise.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from games.base import Game, State
from selfplay import math as smath

Evaluator = Callable[[np.ndarray, np.ndarray], "tuple[np.ndarray, np.ndarray]"]

_ALGORITHMS = ("puct", "gumbel")


# =========================================================================== config


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """How to search. Defaults are for analysis/evaluation: no noise, greedy moves.

    Attributes:
        num_simulations: simulations per search (per root), >= 1.
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

        if not is_int("num_simulations") or self.num_simulations < 1:
            bad("num_simulations", "must be an integer >= 1")
        if self.algorithm not in _ALGORITHMS:
            bad("algorithm", f"must be one of {_ALGORITHMS}")
        if not is_real("c_base") or self.c_base <= 0:
            bad("c_base", "must be a finite number > 0")
        if not is_real("c_init") or self.c_init < 0:
            bad("c_init", "must be a finite number >= 0")
        if not is_real("fpu_reduction"):
            bad("fpu_reduction", "must be a finite number")
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


# =========================================================================== records


@dataclasses.dataclass(frozen=True, eq=False)
class SearchOutput:
    """The result of searching one root. Arrays are over the full action space ``[A]``.

    Attributes:
        action: the move to play (temperature schedule / Gumbel selection applied).
        visit_counts: int64 [A], root child visits (0 at illegal moves).
        policy_target: float32 [A], the training target: the visit distribution
            (PUCT) or the improved policy ``softmax(logits + sigma(completed_q))``
            (Gumbel); sums to 1 over the legal moves, 0 elsewhere.
        root_value: mean value of the root over all its simulations, mover's view.
        prior: float32 [A], the raw network prior (softmax over legal moves, no noise).
        network_value: the network's value of the root, mover's view.
        search_prior: float32 [A], the prior the root search used (with noise, if any).
        q_values: float32 [A], per-child mean value from the root mover's view;
            NaN for unvisited and illegal moves.
        legal_mask: bool [A].
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

    @property
    def legal_policy(self) -> np.ndarray:
        """float32 [num_legal]: the policy target over the legal actions in increasing order."""
        return self.policy_target[self.legal_mask]


@dataclasses.dataclass(frozen=True, eq=False)
class Tree:
    """A standalone search tree (one game), kept between moves for tree reuse.

    Node 0 is the root. ``edge_child`` is -1 where the child was never visited.
    Values are stored from player 0's view (``node_w0``); ``node_sgn`` is +1 where
    player 0 is to move, -1 otherwise.
    """

    states: tuple  # [num_nodes] State
    node_n: np.ndarray  # float64 [num_nodes] visits (own evaluation included)
    node_w0: np.ndarray  # float64 [num_nodes] value sum, player 0's view
    node_sgn: np.ndarray  # float64 [num_nodes]
    node_raw0: np.ndarray  # float64 [num_nodes] network / exact terminal value, player 0's view
    node_terminal: np.ndarray  # bool [num_nodes]
    node_edge_count: np.ndarray  # int64 [num_nodes] (0 if terminal)
    edge_action: np.ndarray  # int64 [num_edges]
    edge_prior: np.ndarray  # float64 [num_edges]
    edge_logp: np.ndarray  # float64 [num_edges]
    edge_child: np.ndarray  # int64 [num_edges], -1 = not visited

    @property
    def state(self) -> State:
        """The root position."""
        return self.states[0]

    @property
    def root_visits(self) -> int:
        """Simulations that went through the root (its own evaluation included)."""
        return int(self.node_n[0])

    @property
    def num_nodes(self) -> int:
        return len(self.states)

    def root_child_visits(self) -> np.ndarray:
        """int64 [A]: the visits of the root's children."""
        out = np.zeros(self.state.game.num_actions, dtype=np.int64)
        k = int(self.node_edge_count[0])
        child = self.edge_child[:k]
        out[self.edge_action[:k]] = np.where(child >= 0, self.node_n[np.maximum(child, 0)], 0)
        return out


# =========================================================================== evaluators


def uniform_evaluator(observations: np.ndarray, legal_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero logits (a uniform prior over legal moves) and zero values: search overhead only."""
    b = legal_masks.shape[0]
    return np.zeros(legal_masks.shape, dtype=np.float32), np.zeros(b, dtype=np.float32)


class rollout_evaluator:  # noqa: N801 - used like a function factory
    """Uniform prior; value = mean outcome of ``rollouts`` random playouts, mover's view.

    It needs the positions, not just their observations: it sets ``wants_states``
    and :func:`search` then passes ``states=`` as a keyword.
    """

    wants_states = True

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

    def __call__(
        self, observations: np.ndarray, legal_masks: np.ndarray, *, states: Sequence[State] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if states is None:
            raise ValueError("rollout_evaluator needs the positions (states=...)")
        values = np.array([self.value(s) for s in states], dtype=np.float32)
        return np.zeros(legal_masks.shape, dtype=np.float32), values


def _call_evaluator(
    evaluate: Evaluator, obs: np.ndarray, masks: np.ndarray, states: list[State]
) -> tuple[np.ndarray, np.ndarray]:
    if getattr(evaluate, "wants_states", False):
        logits, values = evaluate(obs, masks, states=states)
    else:
        logits, values = evaluate(obs, masks)
    b, a = masks.shape
    logits = np.asarray(logits)
    values = np.asarray(values)
    if logits.shape != (b, a):
        raise ValueError(f"evaluator returned policy logits of shape {logits.shape}, expected {(b, a)}")
    if values.shape != (b,):
        if values.size == b:
            values = values.reshape(b)
        else:
            raise ValueError(f"evaluator returned values of shape {values.shape}, expected {(b,)}")
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("evaluator returned a non-finite value")
    return logits, np.clip(values, -1.0, 1.0)


# =========================================================================== arena


class _Arena:
    """Flat storage of every tree of one search call (see the module docstring)."""

    def __init__(self, node_capacity: int, edge_capacity: int) -> None:
        nc, ec = max(2, node_capacity), max(1, edge_capacity)
        self.states: list = [None]
        self.n = np.zeros(nc)
        self.w0 = np.zeros(nc)
        self.sgn = np.ones(nc)
        self.raw0 = np.zeros(nc)
        self.terminal = np.zeros(nc, dtype=bool)
        self.estart = np.zeros(nc, dtype=np.int64)
        self.ecount = np.zeros(nc, dtype=np.int64)
        self.num_nodes = 1  # node 0: the null node
        self.action = np.zeros(ec, dtype=np.int64)
        self.prior = np.zeros(ec)
        self.logp = np.zeros(ec)
        self.child = np.zeros(ec, dtype=np.int64)
        self.num_edges = 0

    _NODE_FIELDS = ("n", "w0", "sgn", "raw0", "terminal", "estart", "ecount")
    _EDGE_FIELDS = ("action", "prior", "logp", "child")

    def _grow(self, fields: tuple[str, ...], need: int) -> None:
        cap = len(getattr(self, fields[0]))
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        for name in fields:
            old = getattr(self, name)
            new = np.zeros(new_cap, dtype=old.dtype)
            if name == "sgn":
                new[:] = 1.0
            new[:cap] = old
            setattr(self, name, new)

    def add_nodes(self, states: list[State]) -> np.ndarray:
        """Append nodes for ``states`` (visits 0); returns their ids."""
        k = len(states)
        start = self.num_nodes
        self._grow(self._NODE_FIELDS, start + k)
        self.states.extend(states)
        self.num_nodes = start + k
        self.sgn[start : start + k] = [1.0 if s.to_play == 0 else -1.0 for s in states]
        return np.arange(start, start + k)

    def expand(self, nodes: np.ndarray, masks: np.ndarray, logits: np.ndarray) -> None:
        """Give ``nodes`` one edge per legal action with the softmax prior of ``logits``."""
        # Work on the legal entries only (row-major = per node, actions increasing):
        # cheap even when the action space is large (chess: 4672).
        rows, cols = np.nonzero(masks)
        lg = logits[rows, cols].astype(np.float64)
        if not np.isfinite(lg).all():
            raise ValueError("evaluator returned non-finite policy logits at legal moves")
        counts = np.bincount(rows, minlength=len(nodes)).astype(np.int64)
        offs = np.cumsum(counts) - counts
        seg = np.repeat(np.arange(len(nodes)), counts)
        z = lg - np.maximum.reduceat(lg, offs)[seg]
        e = np.exp(z)
        s = np.add.reduceat(e, offs)[seg]
        logp = z - np.log(s)
        prior = e / s
        e0 = self.num_edges
        total = len(cols)
        self._grow(self._EDGE_FIELDS, e0 + total)
        sl = slice(e0, e0 + total)
        self.action[sl] = cols
        self.prior[sl] = prior
        self.logp[sl] = logp
        self.child[sl] = 0
        self.num_edges = e0 + total
        self.estart[nodes] = e0 + np.cumsum(counts) - counts
        self.ecount[nodes] = counts

    def load(self, tree: Tree) -> int:
        """Copy a :class:`Tree` in; returns the id of its root."""
        k, e = tree.num_nodes, len(tree.edge_action)
        n0, e0 = self.num_nodes, self.num_edges
        self._grow(self._NODE_FIELDS, n0 + k)
        self._grow(self._EDGE_FIELDS, e0 + e)
        ns, es = slice(n0, n0 + k), slice(e0, e0 + e)
        self.states.extend(tree.states)
        self.n[ns] = tree.node_n
        self.w0[ns] = tree.node_w0
        self.sgn[ns] = tree.node_sgn
        self.raw0[ns] = tree.node_raw0
        self.terminal[ns] = tree.node_terminal
        self.ecount[ns] = tree.node_edge_count
        self.estart[ns] = e0 + np.cumsum(tree.node_edge_count) - tree.node_edge_count
        self.action[es] = tree.edge_action
        self.prior[es] = tree.edge_prior
        self.logp[es] = tree.edge_logp
        self.child[es] = np.where(tree.edge_child >= 0, tree.edge_child + n0, 0)
        self.num_nodes, self.num_edges = n0 + k, e0 + e
        return n0

    def extract(self, roots: np.ndarray) -> list[Tree]:
        """Copy the subtrees under the nodes ``roots`` out as :class:`Tree` records (all at once)."""
        k = len(roots)
        levels = [np.asarray(roots, dtype=np.int64)]
        owners = [np.arange(k)]
        frontier, owner = levels[0], owners[0]
        while True:
            keep = self.ecount[frontier] > 0
            frontier, owner = frontier[keep], owner[keep]
            if not frontier.size:
                break
            idx, seg, _ = smath.segments(self.estart[frontier], self.ecount[frontier])
            ch = self.child[idx]
            visited = ch > 0
            frontier, owner = ch[visited], owner[seg[visited]]
            if not frontier.size:
                break
            levels.append(frontier)
            owners.append(owner)
        old = np.concatenate(levels)
        own = np.concatenate(owners)
        order = np.argsort(own, kind="stable")  # grouped by tree, breadth-first (root first) within
        old, own = old[order], own[order]
        node_bounds = np.searchsorted(own, np.arange(k + 1))
        lut = np.zeros(self.num_nodes, dtype=np.int64)
        lut[old] = np.arange(len(old)) - node_bounds[own]  # index within its own tree
        counts = self.ecount[old]
        has = counts > 0
        if has.any():
            eidx, _, _ = smath.segments(self.estart[old][has], counts[has])
        else:
            eidx = np.zeros(0, dtype=np.int64)
        ech = self.child[eidx]
        new_child = np.where(ech > 0, lut[ech], -1)
        edge_bounds = np.concatenate([[0], np.cumsum(counts)])[node_bounds]
        n, w0, sgn, raw0, term = self.n[old], self.w0[old], self.sgn[old], self.raw0[old], self.terminal[old]
        action, prior, logp = self.action[eidx], self.prior[eidx], self.logp[eidx]
        states = [self.states[i] for i in old.tolist()]
        trees = []
        for t in range(k):
            a, b = int(node_bounds[t]), int(node_bounds[t + 1])
            c, d = int(edge_bounds[t]), int(edge_bounds[t + 1])
            trees.append(
                Tree(
                    states=tuple(states[a:b]),
                    node_n=n[a:b],
                    node_w0=w0[a:b],
                    node_sgn=sgn[a:b],
                    node_raw0=raw0[a:b],
                    node_terminal=term[a:b],
                    node_edge_count=counts[a:b],
                    edge_action=action[c:d],
                    edge_prior=prior[c:d],
                    edge_logp=logp[c:d],
                    edge_child=new_child[c:d],
                )
            )
        return trees


# =========================================================================== result


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
        arena: _Arena = self._arena
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


# =========================================================================== search


def search(
    roots: Sequence[State | Tree],
    evaluate: Evaluator,
    config: SearchConfig,
    rng: np.random.Generator,
    *,
    add_noise: bool | None = None,
    move_numbers: Sequence[int] | None = None,
) -> SearchResult:
    """Search every root (a position, or a :class:`Tree` kept from the previous move).

    Args:
        roots: B non-terminal positions of the same game, or trees from
            :meth:`SearchResult.subtree` (their visits are kept).
        evaluate: ``evaluate(observations [B,C,H,W] float32, legal_masks [B,A] bool)
            -> (policy_logits [B,A], values [B])``, values from the mover's view.
            Called once per simulation step with the non-terminal leaves of all
            games (and once up front for roots that have not been evaluated).
        config: the search settings.
        rng: the only source of randomness (noise, temperature sampling).
        add_noise: overrides ``config.add_noise`` (self-play passes True).
        move_numbers: per root, the number of moves already played in its game,
            for the temperature schedule; None = past the schedule (greedy moves).

    Returns:
        A :class:`SearchResult` with one :class:`SearchOutput` per root.
    """
    num_roots = len(roots)
    if num_roots == 0:
        return SearchResult((), 0, 0, 0, _Arena(2, 1), np.zeros(0, dtype=np.int64))
    noise = config.add_noise if add_noise is None else bool(add_noise)
    if move_numbers is not None and len(move_numbers) != num_roots:
        raise ValueError(f"move_numbers has {len(move_numbers)} entries for {num_roots} roots")
    root_states = [r.state if isinstance(r, Tree) else r for r in roots]
    game = root_states[0].game
    num_actions = game.num_actions
    for st in root_states:
        if st.game.num_actions != num_actions:
            raise ValueError("all roots of one search must be of the same game")
        if st.is_terminal():
            raise ValueError("cannot search a terminal position")

    sims = config.num_simulations
    tree_nodes = sum(r.num_nodes for r in roots if isinstance(r, Tree))
    tree_edges = sum(len(r.edge_action) for r in roots if isinstance(r, Tree))
    arena = _Arena(
        1 + tree_nodes + num_roots * (sims + 1),
        tree_edges + num_roots * (sims + 1) * min(num_actions, 48),
    )
    stats = {"evals": 0, "calls": 0}

    def evaluate_nodes(nodes: np.ndarray, obs: list, masks: list, states: list) -> np.ndarray:
        """Evaluate and expand ``nodes``; returns their values from player 0's view."""
        mask_arr = np.stack(masks)
        logits, values = _call_evaluator(evaluate, np.stack(obs), mask_arr, states)
        stats["evals"] += len(nodes)
        stats["calls"] += 1
        arena.expand(nodes, mask_arr, logits)
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
        fstates = [root_states[i] for i in fresh]
        ids = arena.add_nodes(fstates)
        root_ids[fresh] = ids
        v0 = evaluate_nodes(ids, [s.observation() for s in fstates], [s.legal_mask() for s in fstates], fstates)
        arena.n[ids] = 1.0
        arena.w0[ids] = v0

    ridx, rseg, roffs = smath.segments(arena.estart[root_ids], arena.ecount[root_ids])
    rcounts = arena.ecount[root_ids]
    root_sgn = arena.sgn[root_ids]
    raw_prior = arena.prior[ridx]
    gumbel = config.algorithm == "gumbel"

    if gumbel:
        root_logp = arena.logp[ridx]
        g = rng.gumbel(size=len(ridx)) if noise else np.zeros(len(ridx))
        new_visits = np.zeros(len(ridx))
        table: dict[int, tuple[int, ...]] = {}
        considered = np.empty((num_roots, sims))
        for b, k in enumerate(rcounts.tolist()):
            m = min(config.gumbel_num_considered, k)
            if m not in table:
                table[m] = smath.sequential_halving_schedule(m, sims)
            considered[b] = table[m]
        root_prior = raw_prior
    elif noise and config.dirichlet_fraction > 0:
        alphas = np.array(
            [smath.dirichlet_alpha(k, config.dirichlet_alpha, config.dirichlet_alpha_scale) for k in rcounts.tolist()]
        )
        gam = rng.standard_gamma(alphas[rseg])
        sums = np.add.reduceat(gam, roffs)
        bad = ~(sums > 0) | ~np.isfinite(sums)
        if bad.any():  # the draw underflowed: fall back to uniform noise there
            gam = np.where(bad[rseg], 1.0, gam)
            sums = np.add.reduceat(gam, roffs)
        root_prior = smath.mix_noise(raw_prior, gam / sums[rseg], config.dirichlet_fraction)
    else:
        root_prior = raw_prior

    c_base, c_init = config.c_base, config.c_init
    fpu_abs, fpu_red = config.fpu_absolute, config.fpu_reduction
    c_visit, c_scale = config.gumbel_c_visit, config.gumbel_c_scale
    rescale = config.gumbel_rescale_values
    tiny = np.finfo(np.float64).tiny

    def child_stats(idx: np.ndarray, sgn_seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        child = arena.child[idx]
        n = arena.n[child]
        q = sgn_seg * arena.w0[child] / np.maximum(n, 1.0)
        return n, q

    def puct_select(nodes, idx, seg, offs, prior):
        sgn = arena.sgn[nodes]
        n, q = child_stats(idx, sgn[seg])
        parent_n = arena.n[nodes]
        if fpu_abs is None:
            fpu = sgn * arena.w0[nodes] / parent_n - fpu_red
        else:
            fpu = np.full(len(nodes), float(fpu_abs))
        coef = (np.log((1.0 + parent_n + c_base) / c_base) + c_init) * np.sqrt(parent_n)
        score = np.where(n > 0, q, fpu[seg]) + coef[seg] * prior / (1.0 + n)
        return idx[smath.segment_argmax(score, seg, offs)]

    def completed_sigma(nodes, n, q, prior, seg, offs):
        """sigma(completed Q) per edge (Gumbel), and the visit sums per node."""
        visited = n > 0
        sum_n = np.add.reduceat(n, offs)
        pv = np.where(visited, np.maximum(prior, tiny), 0.0)
        sp = np.add.reduceat(pv, offs)
        wq = np.add.reduceat(pv * q, offs) / np.where(sp > 0, sp, 1.0)
        raw = arena.sgn[nodes] * arena.raw0[nodes]
        vmix = (raw + sum_n * wq) / (sum_n + 1.0)
        cq = np.where(visited, q, vmix[seg])
        if rescale:
            lo = np.minimum.reduceat(cq, offs)
            hi = np.maximum.reduceat(cq, offs)
            cq = (cq - lo[seg]) / np.maximum(hi - lo, 1e-8)[seg]
        else:
            cq = (cq + 1.0) * 0.5
        maxn = np.maximum.reduceat(n, offs)
        return (c_visit + maxn[seg]) * c_scale * cq, sum_n

    def gumbel_interior_select(nodes, idx, seg, offs):
        sgn = arena.sgn[nodes]
        n, q = child_stats(idx, sgn[seg])
        sig, sum_n = completed_sigma(nodes, n, q, arena.prior[idx], seg, offs)
        pi = smath.segment_softmax(arena.logp[idx] + sig, seg, offs)
        score = pi - n / (1.0 + sum_n[seg])
        return idx[smath.segment_argmax(score, seg, offs)]

    def gumbel_root_scores(sim: int | None) -> np.ndarray:
        n, q = child_stats(ridx, root_sgn[rseg])
        sig, _ = completed_sigma(root_ids, n, q, raw_prior, rseg, roffs)
        base = g + root_logp + sig
        if sim is None:  # the final choice: among the most visited (in this search)
            target = np.maximum.reduceat(new_visits, roffs)[rseg]
        else:
            target = considered[rseg, sim]
        return np.where(new_visits == target, base, -np.inf)

    def interior_select(nodes: np.ndarray) -> np.ndarray:
        idx, seg, offs = smath.segments(arena.estart[nodes], arena.ecount[nodes])
        if gumbel:
            return gumbel_interior_select(nodes, idx, seg, offs)
        return puct_select(nodes, idx, seg, offs, arena.prior[idx])

    all_games = np.arange(num_roots)
    v0_leaf = np.zeros(num_roots)

    # ---- simulations
    for sim in range(sims):
        if gumbel:
            pos = smath.segment_argmax(gumbel_root_scores(sim), rseg, roffs)
            new_visits[pos] += 1.0
            edges = ridx[pos]
        else:
            edges = puct_select(root_ids, ridx, rseg, roffs, root_prior)
        games, cur = all_games, root_ids
        path_nodes = [root_ids]
        path_games = [all_games]
        new_games, new_parents, new_edges = [], [], []
        while True:
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
            edges = interior_select(cur)

        if new_games:
            ngames = np.concatenate(new_games)
            nparents = np.concatenate(new_parents)
            nedges = np.concatenate(new_edges)
            acts = arena.action[nedges].tolist()
            states = arena.states
            new_states = [states[p].apply_unchecked(a) for p, a in zip(nparents.tolist(), acts, strict=True)]
            ids = arena.add_nodes(new_states)
            arena.child[nedges] = ids
            obs, masks, eval_states, eval_j = [], [], [], []
            term_j, term_v = [], []
            for j, st in enumerate(new_states):
                if st.is_terminal():
                    term_j.append(j)
                    term_v.append(st.returns()[0])
                else:
                    eval_j.append(j)
                    obs.append(st.observation())
                    masks.append(st.legal_mask())
                    eval_states.append(st)
            if term_j:
                tids = ids[term_j]
                arena.terminal[tids] = True
                arena.raw0[tids] = term_v
                v0_leaf[ngames[term_j]] = term_v
            if eval_j:
                v0_leaf[ngames[eval_j]] = evaluate_nodes(ids[eval_j], obs, masks, eval_states)
            path_nodes.append(ids)
            path_games.append(ngames)

        # ---- backup: every node on every path gets the leaf's value (player 0's view)
        nodes_all = np.concatenate(path_nodes)
        arena.n[nodes_all] += 1.0
        arena.w0[nodes_all] += v0_leaf[np.concatenate(path_games)]

    # ---- outputs
    outputs = []
    if gumbel:
        final_scores = gumbel_root_scores(None)
        n_all, q_all = child_stats(ridx, root_sgn[rseg])
        sig, _ = completed_sigma(root_ids, n_all, q_all, raw_prior, rseg, roffs)
        improved = smath.segment_softmax(root_logp + sig, rseg, roffs)
    else:
        n_all, q_all = child_stats(ridx, root_sgn[rseg])
    for b in range(num_roots):
        lo, hi = int(roffs[b]), int(roffs[b] + rcounts[b])
        acts = arena.action[ridx[lo:hi]]
        n = n_all[lo:hi]
        q = q_all[lo:hi]
        visits = np.zeros(num_actions, dtype=np.int64)
        visits[acts] = n.astype(np.int64)
        target = np.zeros(num_actions, dtype=np.float32)
        if gumbel:
            target[acts] = improved[lo:hi]
            action = int(acts[int(np.argmax(final_scores[lo:hi]))])
        else:
            target[acts] = n / n.sum()
            move = None if move_numbers is None else move_numbers[b]
            if move is not None and move < config.temperature_moves and config.temperature > 0:
                action = int(acts[smath.sample_action(n, config.temperature, rng)])
            else:  # most visited; ties broken by Q
                action = int(acts[int(np.argmax(n + 0.25 * np.where(n > 0, q + 1.0, 0.0)))])
        prior = np.zeros(num_actions, dtype=np.float32)
        prior[acts] = raw_prior[lo:hi]
        sprior = np.zeros(num_actions, dtype=np.float32)
        sprior[acts] = root_prior[lo:hi]
        qv = np.full(num_actions, np.nan, dtype=np.float32)
        qv[acts] = np.where(n > 0, q, np.nan)
        legal = np.zeros(num_actions, dtype=bool)
        legal[acts] = True
        rid = root_ids[b]
        outputs.append(
            SearchOutput(
                action=action,
                visit_counts=visits,
                policy_target=target,
                root_value=float(root_sgn[b] * arena.w0[rid] / arena.n[rid]),
                prior=prior,
                network_value=float(root_sgn[b] * arena.raw0[rid]),
                search_prior=sprior,
                q_values=qv,
                legal_mask=legal,
            )
        )
    return SearchResult(
        outputs=tuple(outputs),
        num_evaluations=stats["evals"],
        num_evaluate_calls=stats["calls"],
        num_simulations=sims * num_roots,
        _arena=arena,
        _root_ids=root_ids,
    )


__all__ = [
    "Evaluator",
    "SearchConfig",
    "SearchOutput",
    "SearchResult",
    "Tree",
    "rollout_evaluator",
    "search",
    "uniform_evaluator",
]
