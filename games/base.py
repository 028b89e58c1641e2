"""The game protocol shared by every zeroplay game.

A *game* (made by :func:`games.make`) is an immutable description: its name and
options, the size of its fixed action space, the shape of its observation and its
board symmetries. A *state* is an immutable position of that game; ``apply``
returns a new state and never changes its input.

Conventions every game follows:

* players are numbered 0 and 1; player 0 moves first (X in tic-tac-toe, the first
  Connect Four player, Black in Go, White in chess);
* ``returns()`` is one value per player in {-1, 0, 1}, zero-sum, and is defined
  only for terminal states;
* ``observation()`` is a float32 array of shape ``game.observation_shape``
  ``[C, H, W]`` seen from the point of view of the player to move;
* ``legal_mask()`` is a bool array of shape ``[game.num_actions]``;
* a symmetry ``k`` (0 is the identity) acts on observations through
  ``game.transform_observation`` and on policies, legal masks and actions
  through the permutation ``game.action_permutation(k)``: if action ``a`` is
  played in a position, action ``perm[a]`` is the same move in the transformed
  position, so ``policy_t[perm] = policy``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from games.errors import ZeroplayError

if TYPE_CHECKING:
    from games.solver import ExactSolver


class GameError(ZeroplayError, ValueError):
    """Base class of every error raised by the rules layer."""


class IllegalMoveError(GameError):
    """A move that is not legal in the position it was played in."""


class NotationError(GameError):
    """Text that does not name an action in the game's notation."""


class RecordError(GameError):
    """A malformed game record (SGF, PGN, move list); the message names the line."""


class UnknownGameError(GameError):
    """``games.make`` was asked for a game or option that does not exist."""


def winner_returns(winner: int) -> tuple[float, float]:
    """``returns()`` of a finished two-player game: ``winner`` is 0 or 1, or -1 for a draw."""
    if winner == -1:
        return (0.0, 0.0)
    return (1.0, -1.0) if winner == 0 else (-1.0, 1.0)


class Game(abc.ABC):
    """Immutable description of one game with its options.

    Attributes:
        name: registry name, e.g. ``"go"``.
        num_actions: size ``A`` of the fixed action space.
        observation_shape: ``(C, H, W)`` of :meth:`State.observation`.
        num_symmetries: number of board symmetries (1 = identity only).
        max_game_length: the most moves (plies) a game from ``initial_state()`` can
            last: every game is terminal after at most this many moves. Decoders of
            game records use it to bound a record before they allocate anything for it.
    """

    name: str
    num_actions: int
    observation_shape: tuple[int, int, int]
    num_symmetries: int = 1
    #: What the two players are called (player 0 first), e.g. ``("Black", "White")``.
    player_names: tuple[str, str] = ("first player", "second player")
    #: How a move is typed, for help texts, e.g. ``"D4, pass"``.
    notation_hint: str = "a move in the game's notation"
    #: The record format of :mod:`games.records`: ``"sgf"``, ``"pgn"`` or ``"moves"`` (a move list).
    record_format: str = "moves"
    #: The action that passes (Go), None where a player cannot pass.
    pass_action: int | None = None
    max_game_length: int

    def exact_solver(self) -> ExactSolver | None:
        """A solver of this game's exact values (:class:`games.solver.ExactSolver`), None where zeroplay has none.

        Each call makes a new solver; keep one to share its cache.
        """
        return None

    def setup_moves(self, start: State) -> list[int] | None:
        """Moves from :meth:`initial_state` that reach the setup position ``start``, None where moves cannot.

        Training on a record that starts from a set-up position (a Go handicap) replays
        these first; the default is None (no game but Go places setup stones by moves).
        """
        return None

    @abc.abstractmethod
    def initial_state(self) -> State:
        """The start position."""

    @abc.abstractmethod
    def options(self) -> dict[str, Any]:
        """The options this game was made with, as ``games.make(name, **options)`` takes them."""

    def spec(self) -> dict[str, Any]:
        """A JSON/msgpack-friendly description: ``{"name": ..., **options}``."""
        return {"name": self.name, **self.options()}

    def transform_observation(self, observation: np.ndarray, k: int) -> np.ndarray:
        """Apply symmetry ``k`` to observations of shape ``[..., C, H, W]``."""
        self._check_symmetry(k)
        return observation

    def action_permutation(self, k: int) -> np.ndarray:
        """Permutation ``perm`` of shape ``[A]`` (int64) mapping action ``a`` to ``perm[a]`` under symmetry ``k``."""
        self._check_symmetry(k)
        return np.arange(self.num_actions, dtype=np.int64)

    def _check_symmetry(self, k: int) -> None:
        if not 0 <= k < self.num_symmetries:
            raise ValueError(f"symmetry {k} out of range for {self.name} (0..{self.num_symmetries - 1})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Game) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.spec().items())))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"games.make({self.name!r}{', ' if opts else ''}{opts})"


class State(abc.ABC):
    """Immutable position. Every method is side-effect free."""

    game: Game

    @property
    @abc.abstractmethod
    def to_play(self) -> int:
        """The player to move, 0 or 1 (meaningless once terminal)."""

    @abc.abstractmethod
    def legal_mask(self) -> np.ndarray:
        """Bool array ``[A]``: True where the action is legal. Empty (all False) when terminal."""

    def legal_actions(self) -> list[int]:
        """Legal actions in increasing order."""
        return np.flatnonzero(self.legal_mask()).tolist()

    @abc.abstractmethod
    def apply_unchecked(self, action: int) -> State:
        """Fast path for search: the new state after ``action``, which must be legal.

        No legality check is done; an illegal action gives an undefined state.
        """

    def apply(self, action: int) -> State:
        """The new state after ``action``; raises :class:`IllegalMoveError` if it is not legal."""
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            raise IllegalMoveError(f"action {action!r} is not an integer ({self.game.name})")
        action = int(action)
        if self.is_terminal():
            raise IllegalMoveError(f"action {action} played in a finished game:\n{self}")
        if not 0 <= action < self.game.num_actions or not self.legal_mask()[action]:
            raise IllegalMoveError(
                f"illegal move {self._describe(action)} for player {self.to_play} in position:\n{self}"
            )
        return self.apply_unchecked(action)

    def _describe(self, action: int) -> str:
        try:
            return f"{self.action_to_text(action)!r} (action {action})"
        except Exception:  # noqa: BLE001 - the action may not even have a text form
            return f"action {action}"

    @abc.abstractmethod
    def is_terminal(self) -> bool:
        """Whether the game is over."""

    @abc.abstractmethod
    def returns(self) -> tuple[float, float]:
        """Outcome per player, zero-sum, in {-1, 0, 1}. Raises ``GameError`` if not terminal."""

    @abc.abstractmethod
    def observation(self) -> np.ndarray:
        """float32 planes ``[C, H, W]`` from the point of view of the player to move."""

    @abc.abstractmethod
    def action_to_text(self, action: int) -> str:
        """The action in the game's notation (any action in range; legality is not checked)."""

    @abc.abstractmethod
    def parse_action(self, text: str) -> int:
        """The action named by ``text``; raises :class:`NotationError` if ``text`` is not a move here.

        Legality is checked by ``apply``, not here, except where the notation itself
        depends on the position (chess SAN).
        """

    def move_text(self, action: int) -> str:
        """``action`` as people read it in this position (chess: SAN such as ``Nf3``; else the notation)."""
        return self.action_to_text(action)

    def end_description(self) -> str:
        """Why a finished game ended, in words (e.g. ``"checkmate"``, ``"B+3.5 (Black 41, ...)"``)."""
        self._require_terminal()
        return "draw" if self.returns()[0] == 0 else f"{self.game.player_names[0 if self.returns()[0] > 0 else 1]} wins"

    def apply_text(self, text: str) -> State:
        """Parse and apply one move in the game's notation (checked)."""
        return self.apply(self.parse_action(text))

    def apply_all(self, moves: Sequence[str | int]) -> State:
        """Apply a sequence of moves (texts or actions), checked, from this state."""
        state = self
        for i, move in enumerate(moves):
            try:
                state = state.apply_text(move) if isinstance(move, str) else state.apply(move)
            except GameError as err:
                raise type(err)(f"move {i + 1} ({move!r}): {err}") from err
        return state

    def _require_terminal(self) -> None:
        if not self.is_terminal():
            raise GameError(f"returns() asked of a {self.game.name} game that is not over")
