"""PGN (Portable Game Notation) records of :mod:`games.chess` games.

``write_pgn`` writes one game: the Seven Tag Roster in its order (Event, Site,
Date, Round, White, Black, Result), then ``SetUp``/``FEN`` when the game does
not start from the standard position, then any other tags; SAN movetext with
move numbers (``1. e4 e5``, ``1... e5`` when Black moves first), wrapped at 79
columns, ending with the result token.

``read_pgn`` / ``read_pgn_games`` parse records with a small tokenizer of their
own (python-chess only parses each SAN move), so that every malformed record
raises :class:`~games.base.RecordError` naming the line. Comments (``{...}``
and ``; ...``), ``%`` escape lines, NAGs (``$n``), move suffixes (``!``, ``?``)
and variations (``( ... )``, skipped) are understood.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import chess

from games.base import GameError, RecordError
from games.chess import STANDARD_FEN, Chess, ChessState, encode_move

SEVEN_TAG_ROSTER = ("Event", "Site", "Date", "Round", "White", "Black", "Result")
_ROSTER_DEFAULTS = {"Event": "?", "Site": "?", "Date": "????.??.??", "Round": "?", "White": "?", "Black": "?"}
RESULTS = ("1-0", "0-1", "1/2-1/2", "*")
_LINE_WIDTH = 79


@dataclasses.dataclass(frozen=True)
class PgnRecord:
    """One game read from PGN.

    Attributes:
        tags: tag name -> value, in the record's order.
        game: the :class:`~games.chess.Chess` game (its ``fen`` from the FEN tag, if any).
        actions: the moves as actions, from ``game.initial_state()``.
        result: the game termination marker: "1-0", "0-1", "1/2-1/2" or "*".
        ended: whether the moves end the game by zeroplay's rules, when the reader worked
            it out (``check_end=False``); None: not computed (see :meth:`final_state`).
    """

    tags: dict[str, str]
    game: Chess
    actions: tuple[int, ...]
    result: str
    ended: bool | None = None

    def final_state(self) -> ChessState:
        """The position after all the moves."""
        state = self.game.initial_state()
        for action in self.actions:
            state = state.apply_unchecked(action)
        return state


# ---------------------------------------------------------------------- write
def result_of(state: ChessState) -> str:
    """The PGN result token of a state: "1-0", "0-1", "1/2-1/2", or "*" if not over."""
    if not state.is_terminal():
        return "*"
    ret = state.returns()
    return "1-0" if ret[0] > 0 else "0-1" if ret[0] < 0 else "1/2-1/2"


def _quote(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_pgn(
    game: Chess,
    actions: Sequence[int],
    tags: Mapping[str, Any] | None = None,
    result: str | None = None,
) -> str:
    """PGN text of the game ``game`` played with ``actions`` (checked) from its start.

    Args:
        game: the :class:`Chess` game (its FEN is written as ``SetUp``/``FEN`` tags
            unless it is the standard start).
        actions: the moves.
        tags: extra or overriding tags (e.g. ``{"White": "net-42"}``); the Seven Tag
            Roster defaults to "?" values (Date "????.??.??").
        result: the result token; default ``tags["Result"]`` if given, else the
            outcome of the final position ("*" if it is not over).

    Raises:
        IllegalMoveError: an illegal action. GameError: a bad result token or tag name.
    """
    state = game.initial_state()
    sans: list[str] = []
    for i, action in enumerate(actions):
        try:
            sans.append(state.san(action))
            state = state.apply(action)
        except GameError as err:
            raise type(err)(f"move {i + 1} (action {action!r}): {err}") from err
    tags = dict(tags or {})
    if result is None:
        result = str(tags["Result"]) if "Result" in tags else result_of(state)
    if result not in RESULTS:
        raise GameError(f"bad PGN result {result!r}; expected one of {', '.join(RESULTS)}")
    out = {name: str(tags.get(name, _ROSTER_DEFAULTS.get(name, "?"))) for name in SEVEN_TAG_ROSTER}
    out["Result"] = result
    if game.fen != STANDARD_FEN:
        out["SetUp"] = "1"
        out["FEN"] = game.fen
    for name, value in tags.items():
        if name in out or name in ("SetUp", "FEN"):
            continue
        if not re.fullmatch(r"[A-Za-z0-9_]+", str(name)):
            raise GameError(f"bad PGN tag name {name!r}")
        out[name] = str(value)
    lines = [f"[{name} {_quote(value)}]" for name, value in out.items()]
    lines.append("")
    lines.extend(_wrap(_movetext_tokens(game, sans) + [result]))
    lines.append("")
    return "\n".join(lines)


def _movetext_tokens(game: Chess, sans: list[str]) -> list[str]:
    start = game.initial_state()
    number = int(game.fen.split()[5])
    white = start.to_play == 0
    tokens: list[str] = []
    for i, san in enumerate(sans):
        # a move number stays on the line of its move
        if white:
            tokens.append(f"{number}. {san}")
        elif i == 0:
            tokens.append(f"{number}... {san}")
        else:
            tokens.append(san)
        if not white:
            number += 1
        white = not white
    return tokens


def _wrap(tokens: list[str]) -> list[str]:
    lines: list[str] = []
    line = ""
    for token in tokens:
        if line and len(line) + 1 + len(token) > _LINE_WIDTH:
            lines.append(line)
            line = token
        else:
            line = f"{line} {token}" if line else token
    if line:
        lines.append(line)
    return lines


# ----------------------------------------------------------------------- read
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<tag>\[)
  | (?P<comment>\{)
  | (?P<line_comment>;[^\n]*)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<nag>\$\d+)
  | (?P<result>1-0|0-1|1/2-1/2|\*)(?![\w/=+#-])
  | (?P<number>\d+[ \t]*\.+)
  | (?P<san>[A-Za-z0-9][A-Za-z0-9=+#\-]*[!?]*)
  | (?P<suffix>[!?]+)
    """,
    re.VERBOSE,
)
_TAG_RE = re.compile(r'\[[ \t]*([A-Za-z0-9_]+)[ \t]+"((?:[^"\\\n]|\\.)*)"[ \t]*\]')


@dataclasses.dataclass
class _RawGame:
    tags: dict[str, str]
    tag_lines: dict[str, int]
    moves: list[tuple[str, int]]  # (SAN, line)
    result: str
    result_line: int
    first_line: int


def _tokenize_games(text: str) -> Iterator[_RawGame]:
    """Split PGN text into raw games (tags, SAN tokens with their lines, result)."""
    pos, line, n = 0, 1, len(text)
    tags: dict[str, str] = {}
    tag_lines: dict[str, int] = {}
    moves: list[tuple[str, int]] = []
    depth = 0  # variation nesting
    open_lines: list[int] = []
    first_line = 0
    last_line = 1  # of the last token
    at_line_start = True
    while pos < n:
        if at_line_start and text[pos] == "%":  # escape line
            end = text.find("\n", pos)
            pos = n if end < 0 else end
            at_line_start = False
            continue
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise RecordError(f"PGN line {line}: unexpected character {text[pos]!r}")
        kind = m.lastgroup
        at_line_start = kind == "nl"
        if kind == "nl":
            line += 1
            pos = m.end()
            continue
        if kind in ("ws", "line_comment"):
            pos = m.end()
            continue
        if kind == "comment":
            end = text.find("}", pos)
            if end < 0:
                raise RecordError(f"PGN line {line}: unterminated comment '{{'")
            line += text.count("\n", pos, end)
            pos = end + 1
            continue
        if kind == "tag":
            tm = _TAG_RE.match(text, pos)
            if tm is None:
                raise RecordError(f"PGN line {line}: malformed tag pair (expected [Name \"value\"])")
            if moves or depth:
                raise RecordError(f"PGN line {line}: tag pair inside movetext (missing result token?)")
            name = tm.group(1)
            if name in tags:
                raise RecordError(f"PGN line {line}: duplicate tag {name!r}")
            if not first_line:
                first_line = line
            tags[name] = re.sub(r"\\(.)", r"\1", tm.group(2))
            tag_lines[name] = line
            pos = tm.end()
            continue
        if not first_line:
            first_line = line
        last_line = line
        pos = m.end()
        if kind == "open":
            depth += 1
            open_lines.append(line)
        elif kind == "close":
            if not depth:
                raise RecordError(f"PGN line {line}: ')' closes no variation")
            depth -= 1
            open_lines.pop()
        elif depth or kind in ("nag", "number", "suffix"):
            continue  # inside a variation, or move numbers / annotations
        elif kind == "result":
            yield _RawGame(tags, tag_lines, moves, m.group(), line, first_line)
            tags, tag_lines, moves, first_line = {}, {}, [], 0
        else:  # san
            moves.append((m.group().rstrip("!?"), line))
    if depth:
        raise RecordError(f"PGN line {open_lines[-1]}: unterminated variation '('")
    if tags or moves:
        raise RecordError(f"PGN line {last_line}: game without a result token (1-0, 0-1, 1/2-1/2 or *)")


def _build(raw: _RawGame, history: int, max_plies: int | None, check_end: bool = True) -> PgnRecord:
    fen = raw.tags.get("FEN")
    setup = raw.tags.get("SetUp")
    if setup is not None and setup not in ("0", "1"):
        raise RecordError(f"PGN line {raw.tag_lines['SetUp']}: bad SetUp tag {setup!r}")
    if setup == "0" and fen is not None:
        raise RecordError(f"PGN line {raw.tag_lines['FEN']}: FEN tag with SetUp \"0\"")
    if max_plies is None:
        max_plies = max(512, len(raw.moves))
    try:
        game = Chess(fen=fen, history=history, max_plies=max_plies)
    except GameError as err:
        where = raw.tag_lines.get("FEN", raw.first_line)
        raise RecordError(f"PGN line {where}: {err}") from None
    if not check_end:
        return _build_lenient(raw, game)
    state = game.initial_state()
    actions = []
    for i, (san, line) in enumerate(raw.moves):
        if state.is_terminal():
            raise RecordError(
                f"PGN line {line}: move {san!r} after the game ended ({state.termination()}) in {state.fen()}"
            )
        try:
            action = state.parse_san(san)
            state = state.apply(action)
        except GameError as err:
            raise RecordError(f"PGN line {line}: move {i + 1} {san!r}: {err}") from None
        actions.append(action)
    _check_result_tag(raw)
    return PgnRecord(dict(raw.tags), game, tuple(actions), raw.result)


def _check_result_tag(raw: _RawGame) -> None:
    tag_result = raw.tags.get("Result")
    if tag_result is not None and tag_result != raw.result:
        raise RecordError(
            f"PGN line {raw.result_line}: result token {raw.result!r} disagrees with the Result tag {tag_result!r}"
        )


def _build_lenient(raw: _RawGame, game: Chess) -> PgnRecord:
    """The record with python-chess's legality only: moves after zeroplay's rules end the game are kept."""
    board = chess.Board(game.fen)
    actions = []
    for i, (san, line) in enumerate(raw.moves):
        try:
            move = board.parse_san(san)
        except (chess.InvalidMoveError, chess.AmbiguousMoveError, chess.IllegalMoveError, ValueError) as err:
            kind = "illegal" if isinstance(err, (chess.IllegalMoveError, chess.AmbiguousMoveError)) else "bad"
            raise RecordError(f"PGN line {line}: move {i + 1} {san!r}: {kind} move in {board.fen()}") from None
        if not move:
            raise RecordError(f"PGN line {line}: move {i + 1} {san!r} is not a chess move in {board.fen()}")
        actions.append(encode_move(move, board.turn))
        board.push(move)
    _check_result_tag(raw)
    ended = (
        len(actions) >= game.max_plies
        or board.halfmove_clock >= 100
        or board.is_insufficient_material()
        or not any(board.generate_legal_moves())
        or board.is_repetition(3)
    )
    return PgnRecord(dict(raw.tags), game, tuple(actions), raw.result, ended)


def read_pgn_games(
    text: str, history: int = 8, max_plies: int | None = None, *, check_end: bool = True
) -> list[PgnRecord]:
    """All games of a PGN text.

    Args:
        text: PGN.
        history, max_plies: options of each record's :class:`Chess` game; ``max_plies``
            None means 512, or the record's number of moves if greater.
        check_end: refuse a move after zeroplay's rules end the game (a threefold
            repetition nobody claimed, the fifty-move rule). False keeps such moves (human
            games often go on), checks legality with python-chess only (several times
            faster), and sets :attr:`PgnRecord.ended` from the final position.

    Raises:
        RecordError: a malformed record (the message names the line): bad tag pair,
            unterminated comment or variation, unexpected character, unparseable or
            illegal SAN, a move after the game ended, a missing result token, a result
            token disagreeing with the Result tag, a bad FEN.
    """
    return [_build(raw, history, max_plies, check_end) for raw in _tokenize_games(text)]


def iter_pgn_games(
    text: str, history: int = 8, max_plies: int | None = None, *, check_end: bool = True
) -> Iterator[PgnRecord | RecordError]:
    """The games of a PGN text one by one, as :func:`read_pgn_games` reads them, with each bad game's
    :class:`RecordError` in its place: a game whose moves or tags are wrong does not stop the
    others. A syntax error (an unterminated comment, an unexpected character) ends the text: it
    is the last item."""
    try:
        for raw in _tokenize_games(text):
            try:
                yield _build(raw, history, max_plies, check_end)
            except RecordError as err:
                yield err
    except RecordError as err:
        yield err


def read_pgn(text: str, history: int = 8, max_plies: int | None = None) -> PgnRecord:
    """The one game of a PGN text (see :func:`read_pgn_games`); RecordError unless exactly one."""
    games = read_pgn_games(text, history, max_plies)
    if len(games) != 1:
        raise RecordError(f"PGN text holds {len(games)} games, expected exactly 1 (line 1)")
    return games[0]


__all__ = [
    "PgnRecord", "RESULTS", "SEVEN_TAG_ROSTER", "iter_pgn_games", "read_pgn", "read_pgn_games", "result_of",
    "write_pgn",
]
