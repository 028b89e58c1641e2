"""Building an engine for a front end, and what the front ends share about positions and moves."""

from __future__ import annotations

from typing import Any

import games
from cluster.engines.engine import Engine, EngineConfig, EngineError
from cluster.engines.timing import TimeConfig, TimingError
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
    threads: int | None = 1,
    move_overhead: float = 0.02,
    warm_up: bool = True,
) -> tuple[Engine, Game]:
    """The engine for a front-end and the game (rules) it plays.

    Args:
        threads: torch threads (see :class:`EngineConfig`).
        move_overhead: seconds kept back from every timed move (see :mod:`cluster.engines.timing`).
        warm_up: run :meth:`Engine.warm_up` before returning, so that no move's clock pays
            for the network's first forward passes.

    Returns:
        ``(engine, game)``: ``game`` is the checkpoint's game with the options of
        ``spec`` applied (or the ``spec`` game for a fresh network).

    Raises:
        EngineError: no checkpoint and no game, an unusable checkpoint, a bad game, a bad limit.
    """
    if checkpoint is None and spec is None:
        raise EngineError("give a checkpoint or run directory, or --game for a freshly initialised network")
    try:
        timing = TimeConfig(move_overhead=move_overhead)
    except TimingError as err:
        raise EngineError(str(err)) from None
    config = EngineConfig(sims=sims, seconds=seconds, device=device, seed=seed, threads=threads, timing=timing)
    if checkpoint is not None:
        engine = Engine.load(checkpoint, config)
        game = merge_game(engine.game, spec) if spec is not None else engine.game
    else:
        assert spec is not None
        engine = Engine.load(None, config, game_spec=spec)
        game = engine.game
    if warm_up:
        engine.warm_up(game.initial_state())
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
