"""zeroplay's rules layer: one protocol for every game, numpy only.

``games.make(name, **options)`` builds a game; see :mod:`games.base` for the protocol.
"""

from __future__ import annotations

import importlib
from typing import Any

from games.base import (
    Game,
    GameError,
    IllegalMoveError,
    NotationError,
    RecordError,
    State,
    UnknownGameError,
)

# name -> "module:factory"; modules are imported on first use so that, e.g.,
# tic-tac-toe does not pay for importing python-chess.
_REGISTRY: dict[str, str] = {
    "tictactoe": "games.tictactoe:TicTacToe",
    "connect4": "games.connect4:ConnectFour",
    "go": "games.go:Go",
    "chess": "games.chess:Chess",
}


def names() -> list[str]:
    """Registered game names."""
    return list(_REGISTRY)


def make(name: str, **options: Any) -> Game:
    """Build the game ``name`` with ``options`` (e.g. ``make("go", size=9, komi=7.5)``).

    Raises:
        UnknownGameError: for an unknown name or option, naming it.
    """
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise UnknownGameError(f"unknown game {name!r}; known games: {', '.join(_REGISTRY)}") from None
    module_name, factory_name = target.split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    try:
        return factory(**options)
    except TypeError as err:
        raise UnknownGameError(f"bad options for game {name!r}: {err}") from None


def from_spec(spec: dict[str, Any]) -> Game:
    """Inverse of ``Game.spec()``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise UnknownGameError(f"game spec must be a mapping with a 'name': {spec!r}")
    options = {k: v for k, v in spec.items() if k != "name"}
    return make(spec["name"], **options)


__all__ = [
    "Game",
    "GameError",
    "IllegalMoveError",
    "NotationError",
    "RecordError",
    "State",
    "UnknownGameError",
    "from_spec",
    "make",
    "names",
]
