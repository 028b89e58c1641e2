"""Building an engine for a front end, and what the front ends share about positions and moves."""

from __future__ import annotations

from typing import Any

import games
from cluster.engines.engine import Engine, EngineConfig, EngineError
from games import Game, GameError, IllegalMoveError, NotationError, State


def merge_game(base: Game, spec: dict[str, Any]) -> Game:
    """``base``'s game with the options of ``spec`` overriding its own (same game name).

    Raises:
        EngineError: a different game, or options giving a game the network cannot play.
    """
    if spec.get("name") != base.name:
        raise EngineError(f"the network plays {base.name!r}, not {spec.get('name')!r}")
    try:
        game = games.from_spec({**base.spec(), **spec})
    except GameError as err:
        raise EngineError(str(err)) from None
    if game.observation_shape != base.observation_shape or game.num_actions != base.num_actions:
        raise EngineError(
            f"{game!r} does not fit the network, which plays {base!r} "
            f"(observations {base.observation_shape}, {base.num_actions} actions)"
        )
    return game



def build_engine(
    checkpoint: str | None,
    spec: dict[str, Any] | None,
    *,
    sims: int | None,
    seconds: float | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> tuple[Engine, Game]:
    """The engine for a front-end and the game (rules) it plays.

    Returns:
        ``(engine, game)``: ``game`` is the checkpoint's game with the options of
        ``spec`` applied (or the ``spec`` game for a fresh network).

    Raises:
        EngineError: no checkpoint and no game, an unusable checkpoint, a bad game.
    """
    if checkpoint is None and spec is None:
        raise EngineError("give a checkpoint or run directory, or --game for a freshly initialised network")
    config = EngineConfig(sims=sims, seconds=seconds, device=device, seed=seed)
    if checkpoint is not None:
        engine = Engine.load(checkpoint, config)
        game = merge_game(engine.game, spec) if spec is not None else engine.game
    else:
        assert spec is not None
        engine = Engine.load(None, config, game_spec=spec)
        game = engine.game
    return engine, game



def apply_text(state: State, text: str) -> State:
    """``state`` after the move ``text``, with a one-line error naming it.

    Raises:
        NotationError: ``text`` is not a move in the game's notation.
        IllegalMoveError: the move is not legal in ``state``.
    """
    try:
        action = state.parse_action(text)
    except NotationError as err:
        raise NotationError(f"not a move: {str(err).splitlines()[0]}") from None
    if not 0 <= action < state.game.num_actions or not state.legal_mask()[action]:
        raise IllegalMoveError(f"{text!r} is illegal in that position")
    return state.apply(action)
