"""Game records, one writer and one reader for every game: SGF for Go, PGN for chess, a move list otherwise.

A :class:`GameRecord` holds what any record of a finished (or stopped) game says:
the rules, the start position, the moves, who played, and how it ended.
:func:`write_record` turns it into text in the game's own format
(``game.record_format``); :func:`read_records` reads text in that format back.

Formats:

* ``"sgf"`` (Go): :mod:`games.sgf`; ``PB``/``PW`` from the players, ``RE`` from the
  ending (``B+3.5`` scored by zeroplay's area rules, ``W+R`` for a resignation,
  ``B+T``/``B+F`` for time and forfeit, ``Void``; none for an unfinished game),
  ``EV``/``RO`` from the event and round, and as further root properties the tags
  whose names are SGF identifiers (``DT``, ``GN``, ...) and those of
  :data:`SGF_TAG_PROPERTIES` (``RandomOpening`` as ``RANDOMOPENING``).
* ``"pgn"`` (chess): :mod:`games.pgn`; White is player 0; the Seven Tag Roster plus
  ``Termination`` (the ending and its detail) and any extra tags.
* ``"moves"`` (everything else): ``# key: value`` header lines (``game`` as JSON,
  ``player0``, ``player1``, ``result`` as ``1-0``/``0-1``/``1/2-1/2``/``*``,
  ``ending``, ``detail``, ``event``, extra tags), then one move per line in the
  game's notation; ``State.apply_all`` replays them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import games
from games.base import Game, GameError, RecordError, State

#: How a game can end: by the rules, a resignation, a loss on time, a forfeit (an
#: illegal move or a crashed engine), a result decided outside the rules (an agreed
#: draw, an adjudicated score), void (not counted), or not at all (stopped).
ENDINGS = ("terminal", "resignation", "time", "forfeit", "adjudicated", "void", "unfinished")
EXTENSIONS = {"sgf": "sgf", "pgn": "pgn", "moves": "txt"}
#: The tag that counts the random opening moves at the start of a game (their moves are
#: not a player's choice: an importer gives them no policy target).
OPENING_TAG = "RandomOpening"
#: Tags written to SGF as a root property of another name (SGF identifiers are capitals).
SGF_TAG_PROPERTIES = {OPENING_TAG: "RANDOMOPENING"}


@dataclasses.dataclass(frozen=True)
class GameRecord:
    """One game as its record holds it.

    Attributes:
        game: the rules (Go's komi and ko, chess's start FEN, ...).
        actions: the moves, from ``start``.
        start: the position the moves start from (Go setup stones); None: ``game.initial_state()``.
        players: names of player 0 and player 1 (None: unknown).
        winner: 0 or 1; None for a draw, a void or an unfinished game. For a
            ``"terminal"`` ending it must agree with the final position.
        ending: one of :data:`ENDINGS`.
        detail: why it ended, in words (an engine's error message, the termination).
        event: what the game was part of (``"zeroplay match"``).
        round: its number in that event (1-based), if any.
        tags: further ``key: value`` pairs (PGN tags, header lines).
    """

    game: Game
    actions: tuple[int, ...]
    start: State | None = None
    players: tuple[str | None, str | None] = (None, None)
    winner: int | None = None
    ending: str = "terminal"
    detail: str = ""
    event: str | None = None
    round: int | None = None
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", tuple(map(int, self.actions)))
        if self.ending not in ENDINGS:
            raise RecordError(f"record ending {self.ending!r} is not one of {', '.join(ENDINGS)}")
        if self.winner not in (None, 0, 1):
            raise RecordError(f"record winner must be 0, 1 or None, not {self.winner!r}")

    def initial_state(self) -> State:
        return self.start if self.start is not None else self.game.initial_state()

    def final_state(self) -> State:
        """The position after every move, replayed with legality checks.

        Raises:
            RecordError: a move is illegal (the message names it).
        """
        state = self.initial_state()
        for i, action in enumerate(self.actions):
            try:
                state = state.apply(action)
            except GameError as err:
                raise RecordError(f"move {i + 1} (action {action}): {str(err).splitlines()[0]}") from None
        return state

    def outcome(self) -> int | None:
        """The winner, taken from the final position for a game the rules ended."""
        if self.ending != "terminal":
            return self.winner
        final = self.final_state()
        if not final.is_terminal():
            raise RecordError(f"a record ending 'terminal' whose moves do not end the game ({self.game!r})")
        first = final.returns()[0]
        return 0 if first > 0 else 1 if first < 0 else None


def record_extension(game: Game) -> str:
    """The file extension of ``game``'s records: ``sgf``, ``pgn`` or ``txt``."""
    return EXTENSIONS[game.record_format]


def result_token(record: GameRecord) -> str:
    """The outcome as ``1-0``, ``0-1``, ``1/2-1/2`` or ``*`` (no result: void or unfinished)."""
    if record.ending in ("void", "unfinished"):
        return "*"
    winner = record.outcome()
    return "1-0" if winner == 0 else "0-1" if winner == 1 else "1/2-1/2"


def result_text(record: GameRecord) -> str:
    """The result as the record format writes it: SGF ``RE`` for Go, the PGN token otherwise."""
    if record.game.record_format != "sgf":
        return result_token(record)
    from games.go import GoState

    if record.ending == "void":
        return "Void"
    if record.ending == "unfinished":
        return "?"
    if record.ending == "terminal":
        final = record.final_state()
        assert isinstance(final, GoState)
        return final.result()  # the area score
    if record.ending == "adjudicated":
        given = record.tags.get("RE")
        return given if given else {0: "B+", 1: "W+", None: "0"}[record.winner]
    if record.winner is None:
        raise RecordError(f"a Go record ending by {record.ending} needs a winner")
    suffix = {"resignation": "R", "time": "T", "forfeit": "F"}[record.ending]
    return ("B+" if record.winner == 0 else "W+") + suffix


def write_record(record: GameRecord) -> str:
    """The record as text in its game's format (see the module docstring).

    Raises:
        RecordError: an illegal move, or an ending that contradicts the moves.
    """
    fmt = record.game.record_format
    if fmt == "sgf":
        return _write_sgf(record)
    if fmt == "pgn":
        return _write_pgn(record)
    return _write_moves(record)


def read_records(text: str, record_format: str, **options: Any) -> list[GameRecord]:
    """The games of a record text in ``record_format`` (``options`` go to the format's reader).

    Raises:
        RecordError: malformed text or an illegal move (the message names the line).
    """
    if record_format == "sgf":
        return [_read_sgf(text, **options)]
    if record_format == "pgn":
        return _read_pgn(text, **options)
    if record_format == "moves":
        return [_read_moves(text)]
    raise RecordError(f"unknown record format {record_format!r}; known: {', '.join(EXTENSIONS)}")


# ---------------------------------------------------------------------- SGF


def _sgf_properties(record: GameRecord) -> tuple[tuple[str, str], ...]:
    from games.sgf import INTERPRETED

    properties = []
    if record.event is not None:
        properties.append(("EV", record.event))
    if record.round is not None:
        properties.append(("RO", str(record.round)))
    for key, value in record.tags.items():
        ident = SGF_TAG_PROPERTIES.get(key, key)
        if ident.isascii() and ident.isalpha() and ident.isupper() and ident not in INTERPRETED \
                and ident not in ("EV", "RO"):
            properties.append((ident, str(value)))
    return tuple(properties)


def _write_sgf(record: GameRecord) -> str:
    from games.sgf import record_from_start, write_sgf

    result = None if record.ending == "unfinished" else result_text(record)
    black, white = record.players
    sgf = record_from_start(record.initial_state(), record.actions, result=result,  # type: ignore[arg-type]
                            black_player=black, white_player=white, properties=_sgf_properties(record))
    return write_sgf(sgf)


def _read_sgf(text: str, **options: Any) -> GameRecord:
    from games.sgf import read_sgf

    return from_go_record(read_sgf(text, **options))


def from_go_record(sgf: Any) -> GameRecord:
    """The :class:`GameRecord` of a :class:`games.sgf.GoRecord` (what :func:`read_records` gives for SGF).

    The ending comes from ``RE``: a resignation, time or forfeit as it says; a score or a
    draw is ``"terminal"`` when the moves end the game (two passes, or the move cap) and
    ``"adjudicated"`` otherwise. Nothing is replayed here (the moves' legality is the
    rules' business when the record is replayed).
    """
    from games.sgf import result_winner

    start = sgf.initial_state() if sgf.black_setup or sgf.white_setup or sgf.to_play != 0 else None
    result = sgf.result
    actions = sgf.actions
    passing = sgf.game.pass_action
    if result is None or result == "?":
        ending = "unfinished"
    elif result == "Void":
        ending = "void"
    elif result[2:3] in ("R", "T", "F"):
        ending = {"R": "resignation", "T": "time", "F": "forfeit"}[result[2]]
    elif len(actions) >= sgf.game.max_moves or actions[-2:] == (passing, passing):
        ending = "terminal"  # the moves end the game (the rules then score it)
    else:  # a score or a draw the moves do not reach: as the record says
        ending = "adjudicated"
    tags: dict[str, str] = {"RE": result} if result else {}
    names = {ident: key for key, ident in SGF_TAG_PROPERTIES.items()}
    event, round_ = None, None
    for ident, value in sgf.properties:
        if ident == "EV":
            event = value
        elif ident == "RO" and value.strip().isdigit():
            round_ = int(value)
        else:
            tags[names.get(ident, ident)] = value
    return GameRecord(
        game=sgf.game, actions=actions, start=start, players=(sgf.black_player, sgf.white_player),
        winner=result_winner(result), ending=ending, event=event, round=round_, tags=tags,
    )


# ---------------------------------------------------------------------- PGN


def _write_pgn(record: GameRecord) -> str:
    from games.pgn import write_pgn

    tags: dict[str, Any] = {}
    if record.event is not None:
        tags["Event"] = record.event
    if record.round is not None:
        tags["Round"] = str(record.round)
    white, black = record.players
    if white is not None:
        tags["White"] = white
    if black is not None:
        tags["Black"] = black
    termination = _ending_text(record)
    if termination:
        tags["Termination"] = termination
    tags.update(record.tags)
    try:
        return write_pgn(record.game, record.actions, tags=tags, result=result_token(record))  # type: ignore[arg-type]
    except GameError as err:
        raise RecordError(f"{record.game!r}: {err}") from None


_PGN_ROSTER = frozenset({"White", "Black", "Event", "Round", "Result", "Site", "Date", "SetUp", "FEN", "Termination"})


def _read_pgn(text: str, **options: Any) -> list[GameRecord]:
    from games.pgn import read_pgn_games

    return [from_pgn_record(pgn) for pgn in read_pgn_games(text, **options)]


def from_pgn_record(pgn: Any) -> GameRecord:
    """The :class:`GameRecord` of a :class:`games.pgn.PgnRecord` (what :func:`read_records` gives for PGN).

    The ending: ``"unfinished"`` for ``*``, ``"terminal"`` when the moves end the game,
    a draw before the end is ``"adjudicated"`` (agreed or adjudicated), a decisive result
    before the end is a resignation unless the ``Termination`` tag says time, forfeit or
    adjudication.
    """
    termination = pgn.tags.get("Termination", "")
    winner = {"1-0": 0, "0-1": 1}.get(pgn.result)
    if pgn.result == "*":
        ending = "unfinished"
    elif pgn.ended if pgn.ended is not None else pgn.final_state().is_terminal():
        ending = "terminal"
    elif winner is None:
        ending = "adjudicated"  # a draw the rules did not force: agreed or adjudicated
    else:  # a decisive result before the end: resigned (PGN's usual meaning) unless it says otherwise
        ending = next((e for e in ("time", "forfeit", "adjudicated") if termination.lower().startswith(e)),
                      "resignation")
    round_text = pgn.tags.get("Round", "")
    return GameRecord(
        game=pgn.game, actions=pgn.actions, players=(pgn.tags.get("White"), pgn.tags.get("Black")),
        winner=winner, ending=ending, detail=termination, event=pgn.tags.get("Event"),
        round=int(round_text) if round_text.isdigit() else None,
        tags={k: v for k, v in pgn.tags.items() if k not in _PGN_ROSTER},
    )


# ---------------------------------------------------------------------- move list


def _ending_text(record: GameRecord) -> str:
    if record.ending == "terminal":
        try:
            final = record.final_state()
        except RecordError:
            return record.detail
        return final.end_description() if final.is_terminal() else record.detail
    return record.ending + (f": {record.detail}" if record.detail else "")


def _write_moves(record: GameRecord) -> str:
    state = record.initial_state()
    moves = []
    for i, action in enumerate(record.actions):
        moves.append(state.action_to_text(action))
        try:
            state = state.apply(action)
        except GameError as err:
            raise RecordError(f"move {i + 1} (action {action}): {str(err).splitlines()[0]}") from None
    if record.start is not None:
        raise RecordError("a move-list record starts from the game's start position")
    header = {
        "game": json.dumps(record.game.spec(), sort_keys=True),
        "player0": record.players[0],
        "player1": record.players[1],
        "result": result_token(record),
        "ending": record.ending,
        "detail": _ending_text(record) if record.ending == "terminal" else record.detail,
        "event": record.event,
        "round": None if record.round is None else str(record.round),
        **{str(k): str(v) for k, v in record.tags.items()},
    }
    lines = ["# zeroplay record"] + [f"# {k}: {_one_line(v)}" for k, v in header.items() if v is not None]
    return "\n".join(lines + moves + [""])


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def read_move_list(text: str) -> tuple[dict[str, str], list[str]]:
    """A move-list record as ``(header {key: value}, moves)``, without interpreting it."""
    header: dict[str, str] = {}
    moves: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                header[key.strip()] = value.strip()
        elif line.strip():
            moves.extend(line.split())
    return header, moves


def _read_moves(text: str) -> GameRecord:
    header, moves = read_move_list(text)
    if "game" not in header:
        raise RecordError("move-list record: no '# game: {...}' header line")
    try:
        game = games.from_spec(json.loads(header["game"]))
    except (ValueError, GameError) as err:
        raise RecordError(f"move-list record: bad game header {header['game']!r}: {err}") from None
    state = game.initial_state()
    actions = []
    for i, move in enumerate(moves):
        try:
            action = state.parse_action(move)
            state = state.apply(action)
        except GameError as err:
            raise RecordError(f"move-list record: move {i + 1} ({move!r}): {str(err).splitlines()[0]}") from None
        actions.append(action)
    final = state
    ending = header.get("ending", "terminal" if final.is_terminal() else "unfinished")
    result = header.get("result", "*")
    winner = 0 if result == "1-0" else 1 if result == "0-1" else None
    known = {"game", "player0", "player1", "result", "ending", "detail", "event", "round"}
    round_text = header.get("round")
    return GameRecord(
        game=game, actions=tuple(actions), players=(header.get("player0"), header.get("player1")),
        winner=winner, ending=ending if ending in ENDINGS else "unfinished", detail=header.get("detail", ""),
        event=header.get("event"), round=int(round_text) if round_text and round_text.isdigit() else None,
        tags={k: v for k, v in header.items() if k not in known},
    )


__all__ = [
    "ENDINGS",
    "OPENING_TAG",
    "SGF_TAG_PROPERTIES",
    "GameRecord",
    "from_go_record",
    "from_pgn_record",
    "read_move_list",
    "read_records",
    "record_extension",
    "result_text",
    "result_token",
    "write_record",
]
