"""zeroplay's search and self-play layer (numpy only: no torch, no Ray).

* :mod:`selfplay.search` - batched AlphaZero PUCT / Gumbel MCTS over many games;
* :mod:`selfplay.evaluators` - the evaluator contract, and evaluators that need no network;
* :mod:`selfplay.trajectory` - finished-game records, their wire format and training arrays;
* :mod:`selfplay.worker` - a worker that plays many games at once with one evaluator.
"""

from selfplay.evaluators import Evaluator, PositionEvaluator, RolloutEvaluator, uniform_evaluator
from selfplay.search import SearchConfig, SearchOutput, SearchResult, Tree, search
from selfplay.trajectory import Trajectory, TrajectoryError, decode, encode, training_arrays
from selfplay.worker import Worker, WorkerConfig, WorkerStats

__all__ = [
    "Evaluator",
    "PositionEvaluator",
    "RolloutEvaluator",
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
    "search",
    "training_arrays",
    "uniform_evaluator",
]
