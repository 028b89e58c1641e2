"""Hand-made Go games for the tests of the final-area (ownership and score) targets.

The walls game on 5x5: Black builds a wall on column B, White one on column D, then both
pass. Its final area::

      A B C D E
    5 . X . O .
    4 . X . O .        Black owns columns A-B (10 points), White D-E (10 points);
    3 . X . O .        column C reaches both colours: dame.
    2 . X . O .        score (Black - White - komi) = -komi
    1 . X . O .
"""

from __future__ import annotations

import dataclasses

import numpy as np

import games
from selfplay.trajectory import Trajectory

WALL_MOVES = tuple(m for r in range(1, 6) for m in (f"B{r}", f"D{r}")) + ("pass", "pass")


def walls_ownership() -> np.ndarray:
    """``[5, 5]`` Black's view of the walls game's final area (+1 Black, -1 White; row 0 is the top)."""
    owner = np.zeros((5, 5), np.float32)
    owner[:, :2] = 1.0
    owner[:, 3:] = -1.0
    return owner


def walls_trajectory(komi: float = 0.5, **options) -> Trajectory:
    """The walls game as self-play would record it (no policy targets: cheap plies)."""
    game = games.make("go", size=5, komi=komi, **options)
    state = game.initial_state()
    actions = []
    for move in WALL_MOVES:
        actions.append(state.parse_action(move))
        state = state.apply_text(move)
    assert state.is_terminal()
    return Trajectory(
        game_spec=game.spec(),
        weights_version=1,
        actions=np.array(actions, dtype=np.int64),
        policies=tuple(np.zeros(0, np.float32) for _ in actions),
        root_values=np.zeros(len(actions), np.float32),
        returns=state.returns(),
    )


def resigned_trajectory(plies: int = 6, **options) -> Trajectory:
    """The first ``plies`` moves of the walls game (an even number: Black to move), then Black resigns."""
    assert plies % 2 == 0
    full = walls_trajectory(**options)
    return dataclasses.replace(
        full,
        actions=full.actions[:plies],
        policies=full.policies[:plies],
        root_values=full.root_values[:plies],
        returns=(-1.0, 1.0),
        termination="resigned",
        resigned_by=0,
    )
