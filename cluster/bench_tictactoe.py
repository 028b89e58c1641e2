"""``zeroplay bench tictactoe CHECKPOINT``: grade a tic-tac-toe network on every reachable position.

A move is a mistake when its exact value is below the best move's (it turns a win
into a draw or loss, or a draw into a loss). Reported for the raw policy (argmax of
the network's prior) and for the engine's search at a fixed budget (no noise,
most-visited move: what ``zeroplay analyze`` and ``zeroplay play`` choose).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from cluster.cli import CliError, emit, machine_info


def grade(engine: Any, sims: int, batch: int = 256) -> dict[str, Any]:
    """Mistake counts of ``engine`` over all 4520 positions with a move to make."""
    from games.solver import Solver, reachable_states
    from selfplay import SearchConfig, search

    game = engine.game
    if game.name != "tictactoe":
        raise CliError(f"bench tictactoe needs a tic-tac-toe network, got {game.name}")
    states = reachable_states(game.initial_state())
    solver = Solver()
    move_values = [solver.move_values(s) for s in states]
    observations = np.stack([s.observation() for s in states])
    masks = np.stack([s.legal_mask() for s in states])
    logits, _ = engine.evaluate(observations, masks)
    raw_choice = np.where(masks, logits, -np.inf).argmax(axis=1)
    raw_mistakes = sum(
        values[int(a)] < max(values.values()) for values, a in zip(move_values, raw_choice)
    )
    search_mistakes = 0
    examples = []
    if sims > 0:
        config = SearchConfig(num_simulations=sims, algorithm=engine.config.algorithm)
        rng = np.random.default_rng(0)
        for start in range(0, len(states), batch):
            chunk = states[start : start + batch]
            result = search(chunk, engine.evaluate, config, rng, add_noise=False)
            for state, values, out in zip(chunk, move_values[start : start + batch], result.outputs):
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


def cmd_bench_tictactoe(args: argparse.Namespace) -> int:
    from cluster.engine import Engine, EngineConfig, EngineError

    try:
        engine = Engine.load(
            args.checkpoint, EngineConfig(sims=max(args.sims, 1), algorithm=args.algorithm),
            game_spec={"name": "tictactoe"} if args.checkpoint is None else None,
        )
    except EngineError as err:
        raise CliError(str(err)) from None
    result = {"benchmark": "tictactoe", "machine": machine_info(), "checkpoint": args.checkpoint,
              "algorithm": args.algorithm,
              "weights_version": engine.weights_version, **grade(engine, args.sims)}

    def render(r: dict[str, Any]) -> str:
        lines = [f"tic-tac-toe, {r['positions']} positions, weights v{r['weights_version']}, {r['algorithm']} search",
                 f"  raw policy mistakes: {r['raw_policy_mistakes']}"]
        if r["search_mistakes"] is not None:
            lines.append(f"  search ({r['search_sims']} sims) mistakes: {r['search_mistakes']}")
        for ex in r["search_mistake_examples"]:
            lines.append(f"  mistake {ex['chose']} in\n{ex['position']}")
        return "\n".join(lines)

    emit(result, args.json, render)
    return 0


def register(commands: Any, bench: Any) -> None:
    p = bench.add_parser("tictactoe", help="mistakes of a tic-tac-toe network on every reachable position")
    p.add_argument("checkpoint", nargs="?", help="checkpoint or run directory (none: a fresh network)")
    p.add_argument("--sims", type=int, default=64, help="search budget per position (0: raw policy only)")
    p.add_argument("--algorithm", default="gumbel", choices=["puct", "gumbel"], help="search algorithm (default: the engines')")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_tictactoe)
