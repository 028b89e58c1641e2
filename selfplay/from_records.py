"""Game records as training games: a :class:`~games.records.GameRecord` becomes a :class:`Trajectory`.

A record is replayed under the rules of the run's game (``game``), and each ply gets

* a policy target: the move played, one-hot over the position's legal moves, or with
  ``smoothing = s`` ``1 - s + s/n`` on the move played and ``s/n`` on each of the ``n``
  legal moves; no policy target (an empty policy, format version 2) for moves that are
  no player's choice: the record's random opening (the ``RandomOpening`` tag) and the
  setup moves below;
* a root value of 0 (there was no search);
* the value target from the record's result: returns ``(1, -1)``, ``(-1, 1)`` or
  ``(0, 0)`` for a win of player 0, of player 1, or a draw.

The trajectory ends as the record does, in the terms of :mod:`selfplay.trajectory`:

* ``"terminal"``: the rules end the game there with the record's result;
* ``"resigned"``: a resignation by the player to move at the end;
* ``"adjudicated"``: any other result (a resignation by the side that moved last, a
  territory score the area rules do not reproduce, an agreed draw, a loss on time, a
  game cut where the run's rules end it earlier: an unclaimed threefold repetition, the
  run's move cap, a komi other than the run's).

The run's game decides the rules: a record of another game or board size is refused
(:class:`ConversionError` of kind ``"other game"`` / ``"other size"``), Go's komi,
ko rule and move cap and chess's ply cap are the run's (a record's own komi shows only
in its result). Start positions: Go setup stones (handicap) become moves played from the
empty board, each side placing its stones with the other passing in between (and one
more pass when the wrong side would move next), so the trajectory is a game of the
run's game; a chess record from a FEN start becomes a game of the run's chess with
that ``fen`` (same network shapes; :func:`compatible` says which games mix).

Records without a result (void, unfinished) and forfeits (an illegal move or a crashed
engine says nothing about the position) are refused with kind ``"no result"``; an
illegal move under the run's rules with kind ``"illegal"``.

Hook for auxiliary targets: :func:`auxiliary_targets` is where Go's ownership and score
targets from the record's final position will be computed (the Go issue); the
trajectory format carries none yet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

import games
from games.base import Game, GameError, State
from games.errors import ZeroplayError
from games.records import OPENING_TAG, GameRecord
from selfplay.trajectory import Trajectory

#: Game options that only choose the start position: records may differ in them.
START_OPTIONS = {"chess": ("fen",)}


class ConversionError(ZeroplayError, ValueError):
    """A record that cannot be a training game of the run's game; ``kind`` says why (as games.collections)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass(frozen=True)
class ConvertedGame:
    """A record as a training game, and what the conversion did.

    Attributes:
        trajectory: the training game.
        final_state: the position after the last ply (under the run's rules).
        setup_plies: plies at the start that place setup stones (no policy target).
        opening_plies: record moves of the random opening (no policy target).
        truncated: the run's rules ended the game before the record's last move.
    """

    trajectory: Trajectory
    final_state: State
    setup_plies: int
    opening_plies: int
    truncated: bool


def compatible(a: Game, b: Game) -> bool:
    """Whether games of ``a`` and ``b`` train the same network: the same game and options but for
    the start position (:data:`START_OPTIONS`)."""
    if a.name != b.name:
        return False
    free = START_OPTIONS.get(a.name, ())
    return {k: v for k, v in a.options().items() if k not in free} == \
        {k: v for k, v in b.options().items() if k not in free}


def _returns(record: GameRecord) -> tuple[float, float]:
    if record.ending in ("void", "unfinished"):
        raise ConversionError("no result", f"no result ({record.ending}): nothing to learn the value from")
    if record.ending == "forfeit":
        raise ConversionError("no result", "a forfeit (an illegal move or an engine failure) says nothing "
                                           "about the position")
    winner = record.winner
    return (0.0, 0.0) if winner is None else (1.0, -1.0) if winner == 0 else (-1.0, 1.0)


def _run_game(record: GameRecord, game: Game) -> Game:
    """The run's game, with the record's start position where the run's game allows another."""
    if record.game.name != game.name:
        raise ConversionError("other game", f"a {record.game.name} game, not {game.name}")
    if record.game.num_actions != game.num_actions or record.game.observation_shape != game.observation_shape:
        size = getattr(record.game, "size", None)
        asked = getattr(game, "size", None)
        what = f"a {size}x{size} game, not {asked}x{asked}" if size and asked else f"{record.game!r}, not {game!r}"
        raise ConversionError("other size", what)
    free = START_OPTIONS.get(game.name, ())
    changed = {k: v for k, v in record.game.options().items() if k in free and game.options().get(k) != v}
    return games.from_spec({**game.spec(), **changed}) if changed else game


def _opening_plies(record: GameRecord) -> int:
    text = str(record.tags.get(OPENING_TAG, "0")).strip()
    return min(int(text), len(record.actions)) if text.isdigit() else 0


def convert_record(record: GameRecord, game: Game, *, smoothing: float = 0.0) -> ConvertedGame:
    """``record`` as a training game of ``game`` (see the module docstring).

    Args:
        record: the game record.
        game: the run's game (its rules replay the record).
        smoothing: policy-target smoothing ``s`` in [0, 1).

    Raises:
        ConversionError: the record cannot be a training game of ``game`` (``kind`` says why).
    """
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
    returns = _returns(record)
    run_game = _run_game(record, game)
    setup: list[int] = []
    start = record.start
    if start is not None and start != record.game.initial_state():
        moves = run_game.setup_moves(start)  # Go: setup stones become moves, the other side passing
        if moves is None:
            raise ConversionError("other game", f"a {run_game.name} record from a set-up position")
        setup = moves
    opening = _opening_plies(record)
    state = run_game.initial_state()
    actions: list[int] = []
    policies: list[np.ndarray] = []
    empty = np.zeros(0, dtype=np.float32)
    truncated = False
    for i, action in enumerate(setup):
        try:
            state = state.apply(action)
        except GameError as err:
            raise ConversionError("illegal", f"setup stones cannot be placed as moves (ply {i + 1}): "
                                             f"{str(err).splitlines()[0]}") from None
        actions.append(action)
        policies.append(empty)
    for number, action in enumerate(record.actions, start=1):
        if state.is_terminal():
            truncated = True  # the run's rules end the game here
            break
        mask = state.legal_mask()
        if not 0 <= action < run_game.num_actions or not mask[action]:
            try:
                text = state.action_to_text(action)
            except GameError:
                text = f"action {action}"
            raise ConversionError("illegal", f"move {number} ({text}) is illegal under the run's rules "
                                             f"({run_game!r})")
        if number <= opening:
            policies.append(empty)
        else:
            legal = np.flatnonzero(mask)
            policy = np.full(len(legal), smoothing / len(legal), dtype=np.float32)
            policy[np.searchsorted(legal, action)] += 1.0 - smoothing
            policies.append(policy)
        actions.append(action)
        state = state.apply_unchecked(action)
    if not actions:
        raise ConversionError("malformed", "no moves")
    if state.is_terminal() and tuple(float(r) for r in state.returns()) == returns:
        termination, resigned_by = "terminal", None
    elif record.ending == "resignation" and not truncated and not state.is_terminal() \
            and record.winner is not None and state.to_play == 1 - record.winner:
        termination, resigned_by = "resigned", state.to_play
    else:
        termination, resigned_by = "adjudicated", None
    trajectory = Trajectory(
        game_spec=run_game.spec(),
        weights_version=0,
        actions=np.asarray(actions, dtype=np.int64),
        policies=tuple(policies),
        root_values=np.zeros(len(actions), dtype=np.float32),
        returns=returns,
        termination=termination,
        resigned_by=resigned_by,
    )
    return ConvertedGame(trajectory, state, len(setup), opening, truncated)


def record_to_trajectory(record: GameRecord, game: Game, *, smoothing: float = 0.0) -> Trajectory:
    """The training game of ``record`` (:func:`convert_record`'s trajectory)."""
    return convert_record(record, game, smoothing=smoothing).trajectory


def auxiliary_targets(converted: ConvertedGame) -> Mapping[str, np.ndarray]:
    """Further training targets of a converted record; none yet.

    The hook of Go's ownership and score targets (KataGo's auxiliary heads): from
    ``converted.final_state`` (a scored Go position when the record ended by the rules)
    the ownership ``[H, W]`` in {-1, 0, 1} from Black's view and the score margin. They
    need a trajectory field and network heads that the Go issue adds; until then this
    returns ``{}`` and records train the policy and value only.
    """
    return {}


__all__ = [
    "START_OPTIONS",
    "ConversionError",
    "ConvertedGame",
    "auxiliary_targets",
    "compatible",
    "convert_record",
    "record_to_trajectory",
]
