"""Batched Monte Carlo tree search: AlphaZero PUCT and Gumbel MuZero root search, split the way mctx splits it.

* :mod:`~selfplay.search.config` - :class:`SearchConfig`;
* :mod:`~selfplay.search.loop` - :func:`search`, the simulation loop over a batch of roots;
* :mod:`~selfplay.search.selection` - the rules that pick a child inside the tree;
* :mod:`~selfplay.search.policies` - the root policies (noise, Sequential Halving) and their outputs;
* :mod:`~selfplay.search.formulas` - the arithmetic (PUCT, noise, completed Q) as pure functions;
* :mod:`~selfplay.search.tree` and :mod:`~selfplay.search.results` - the tree and the output records.
"""

from selfplay.search.config import SearchConfig
from selfplay.search.loop import search
from selfplay.search.results import SearchOutput, SearchResult
from selfplay.search.tree import Tree

__all__ = ["SearchConfig", "SearchOutput", "SearchResult", "Tree", "search"]
