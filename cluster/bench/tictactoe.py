"""``zeroplay bench tictactoe CHECKPOINT``: grade a tic-tac-toe network on every reachable position.

A move is a mistake when its exact value is below the best move's (it turns a win
into a draw or loss, or a draw into a loss). Reported for the raw policy (argmax of
the network's prior) and for the engine's search at a fixed budget (no noise,
most-visited move: what ``zeroplay analyze`` and ``zeroplay play`` choose).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import games
from cluster.engines.engine import EngineError


def grade(engine: Any, sims: int, batch: int = 256) -> dict[str, Any]:
    """Mistake counts of ``engine`` over all 4520 positions with a move to make."""
    from games.solver import Solver, reachable_states
    from selfplay import SearchConfig, search

    game = engine.game
    if game != games.make("tictactoe"):
        raise EngineError(f"bench tictactoe needs a tic-tac-toe network, not one for {game!r}")
    states = reachable_states(game.initial_state())
    solver = Solver()
    move_values = [solver.move_values(s) for s in states]
    observations = np.stack([s.observation() for s in states])
    masks = np.stack([s.legal_mask() for s in states])
    logits, _ = engine.evaluate(observations, masks)
    raw_choice = np.where(masks, logits, -np.inf).argmax(axis=1)
    raw_mistakes = sum(
        values[int(a)] < max(values.values()) for values, a in zip(move_values, raw_choice, strict=True)
    )
    search_mistakes = 0
    examples = []
    if sims > 0:
        config = SearchConfig(num_simulations=sims, algorithm=engine.config.algorithm)
        rng = np.random.default_rng(0)
        for start in range(0, len(states), batch):
            chunk = states[start : start + batch]
            result = search(chunk, engine.evaluate, config, rng, add_noise=False)
            for state, values, out in zip(chunk, move_values[start : start + batch], result.outputs, strict=True):
                if values[out.action] < max(values.values()):
                    search_mistakes += 1
                    if len(examples) < 5:
                        examples.append({"position": str(state), "chose": state.action_to_text(out.action)})
    return {
        "positions": len(states),
        "raw_policy_mistakes": int(raw_mistakes),
        "search_sims": sims,
        "search_mistakes": int(search_mistakes) if sims > 0 else None,
        "search_mistake_examples": examples,
    }


