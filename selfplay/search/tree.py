"""The search tree: a standalone :class:`Tree` kept between moves, and the flat arena of one search call.

Layout (the speed-critical part): all trees of one search call live in one arena of
flat numpy arrays. A node holds its state, its visit count and value sum, and a
contiguous range of *edges*, one per legal action (never per action of the full
action space). Node index 0 is a null node with zero visits: an edge whose child has
not been created points at it.

Values: the network's value and ``returns()`` are stored from player 0's view
(``w0``); a node's ``sgn`` (+1 when player 0 is to move, else -1) turns them back
into the mover's view. Backing up a leaf value then adds the same number to every
node on the path, whatever the move order.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from games.base import State
from selfplay.search.formulas import segments


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
    node_proof0: np.ndarray | None = None  # float64 [num_nodes] exact (solved) value, player 0's view; NaN unknown
    node_plies: np.ndarray | None = None  # int64 [num_nodes] moves to the end along the proof; -1 unknown

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



class Arena:
    """Flat storage of every tree of one search call (see the module docstring)."""

    def __init__(self, node_capacity: int, edge_capacity: int) -> None:
        nc, ec = max(2, node_capacity), max(1, edge_capacity)
        self.states: list = [None]
        self.n = np.zeros(nc)
        self.w0 = np.zeros(nc)
        self.sgn = np.ones(nc)
        self.raw0 = np.zeros(nc)
        self.terminal = np.zeros(nc, dtype=bool)
        self.proof0 = np.full(nc, np.nan)  # a solved node's exact value, player 0's view (MCTS-solver)
        self.plies = np.full(nc, -1, dtype=np.int64)  # moves to the end along its proof
        self.parent = np.zeros(nc, dtype=np.int64)  # 0 for a root
        self.estart = np.zeros(nc, dtype=np.int64)
        self.ecount = np.zeros(nc, dtype=np.int64)
        self.num_nodes = 1  # node 0: the null node
        self.action = np.zeros(ec, dtype=np.int64)
        self.prior = np.zeros(ec)
        self.logp = np.zeros(ec)
        self.child = np.zeros(ec, dtype=np.int64)
        self.num_edges = 0

    _NODE_FIELDS = ("n", "w0", "sgn", "raw0", "terminal", "estart", "ecount", "proof0", "plies", "parent")
    _FILL = {"sgn": 1.0, "proof0": np.nan, "plies": -1}
    _EDGE_FIELDS = ("action", "prior", "logp", "child")

    def _grow(self, fields: tuple[str, ...], need: int) -> None:
        cap = len(getattr(self, fields[0]))
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        for name in fields:
            old = getattr(self, name)
            new = np.full(new_cap, self._FILL.get(name, 0), dtype=old.dtype)
            new[:cap] = old
            setattr(self, name, new)

    def add_nodes(self, states: list[State], parents: np.ndarray | None = None) -> np.ndarray:
        """Append nodes for ``states`` (visits 0) below ``parents`` (None: roots); returns their ids."""
        k = len(states)
        start = self.num_nodes
        self._grow(self._NODE_FIELDS, start + k)
        self.states.extend(states)
        self.num_nodes = start + k
        self.sgn[start : start + k] = [1.0 if s.to_play == 0 else -1.0 for s in states]
        if parents is not None:
            self.parent[start : start + k] = parents
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
        if tree.node_proof0 is not None and tree.node_plies is not None:
            self.proof0[ns] = tree.node_proof0
            self.plies[ns] = tree.node_plies
        owner = np.repeat(np.arange(n0, n0 + k), tree.node_edge_count)  # the node of each edge
        linked = tree.edge_child >= 0
        self.parent[tree.edge_child[linked] + n0] = owner[linked]
        self.parent[n0] = 0
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
            idx, seg, _ = segments(self.estart[frontier], self.ecount[frontier])
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
            eidx, _, _ = segments(self.estart[old][has], counts[has])
        else:
            eidx = np.zeros(0, dtype=np.int64)
        ech = self.child[eidx]
        new_child = np.where(ech > 0, lut[ech], -1)
        edge_bounds = np.concatenate([[0], np.cumsum(counts)])[node_bounds]
        n, w0, sgn, raw0, term = self.n[old], self.w0[old], self.sgn[old], self.raw0[old], self.terminal[old]
        proof0, plies = self.proof0[old], self.plies[old]
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
                    node_proof0=proof0[a:b],
                    node_plies=plies[a:b],
                    node_edge_count=counts[a:b],
                    edge_action=action[c:d],
                    edge_prior=prior[c:d],
                    edge_logp=logp[c:d],
                    edge_child=new_child[c:d],
                )
            )
        return trees


__all__ = ["Arena", "Tree"]
