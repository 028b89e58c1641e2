"""zeroplay's search and self-play layer (numpy only: no torch, no Ray).

* :mod:`selfplay.search` - batched AlphaZero PUCT / Gumbel MCTS over many games;
* :mod:`selfplay.math` - the search's formulas as small pure functions;
* :mod:`selfplay.trajectory` - finished-game records, their wire format and training arrays;
* :mod:`selfplay.worker` - a worker that plays many games at once with one evaluator.
"""

from selfplay.search import (
    Evaluator,
    SearchConfig,
    SearchOutput,
    SearchResult,
    Tree,
    rollout_evaluator,
    search,
    uniform_evaluator,
)
from selfplay.trajectory import Trajectory, TrajectoryError, decode, encode, training_arrays
from selfplay.worker import Worker, WorkerConfig, WorkerStats

__all__ = [
    "Evaluator",
    "SearchConfig",
    "SearchOutput",
    "SearchResult",
    "Trajectory",
    "TrajectoryError",
    "Tree",
    "Worker",
    "WorkerConfig",
    "WorkerStats",
    "decode",
    "encode",
    "rollout_evaluator",
    "search",
    "training_arrays",
    "uniform_evaluator",
]
