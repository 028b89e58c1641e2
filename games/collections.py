"""Game collections: SGF, PGN and move-list files and folders read one game at a time.

:func:`read_collection` walks record files (a file, or a folder searched recursively in
sorted order) and yields, game by game, either a :class:`CollectionGame` (the game as
a :class:`~games.records.GameRecord`, with the file and its number in the file) or a
:class:`SkippedGame` (the file, the game number, the line, a kind and the reason).
Nothing a file holds stops the walk: a malformed game, an unreadable file or a game
of another board size is one skipped entry, and reading goes on with the next game.

Formats, chosen by the file name (``.gz`` and ``.bz2`` compressed files are read too):

* ``.sgf``: any number of game trees per file (FF[4] collections). Only the main line
  of each tree is read unless ``variations=True``, when every line from the root to a
  leaf is one game (game ``N``, variation ``V``). Handicap and setup stones (``AB``,
  ``AW``, ``PL``) give the game's start position and ``KM`` its komi. Games whose
  ``SZ`` is not the asked game's board size are skipped (kind ``"other size"``).
* ``.pgn``: any number of games; comments, NAGs, variations and ``%`` lines are
  skipped (:mod:`games.pgn`); ``SetUp``/``FEN`` starts are read as games of that start.
* ``.txt``: zeroplay move lists (:mod:`games.records`), several per file, each
  starting with its ``# zeroplay record`` line.

Streaming: files are read in chunks of :data:`CHUNK_CHARS` characters, and only the
game being read is held in memory (a game longer than :data:`MAX_GAME_CHARS`
characters is skipped), so a collection larger than memory is read in constant memory.

Speed: SGF is read without replaying the moves through the rules (the notation is
checked: coordinates, colours alternating, setup before the moves; ``replay=True``
checks legality too). The converter to training data (:mod:`selfplay.from_records`)
replays every game anyway and skips an illegal one with its reason. The common shape
of a game tree (a root, setup nodes, then one move per node) goes through a fast
scanner; anything else is read by :func:`games.sgf.parse_collection`, whose error
messages name the line and column. PGN moves are SAN, which needs the position, so
reading PGN replays the moves (python-chess); see BENCHMARKS.md for the rates.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from games.base import Game, GameError, RecordError
from games.records import GameRecord, from_go_record, from_pgn_record, read_records

#: Characters read from a file at a time.
CHUNK_CHARS = 1 << 20
#: The longest game (one SGF game tree, one PGN game, one move list) read, in characters.
MAX_GAME_CHARS = 8 << 20
#: File name endings of record files, by format (compressed ones end in ``.gz`` or ``.bz2`` after these).
FORMATS = {".sgf": "sgf", ".pgn": "pgn", ".txt": "moves"}
#: What a :class:`SkippedGame` can be.
SKIP_KINDS = ("unreadable", "malformed", "other game", "other size", "illegal", "no result")
_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open}


@dataclasses.dataclass(frozen=True)
class CollectionGame:
    """One game read from a collection.

    Attributes:
        path: the file.
        number: the game's number in the file (1-based).
        line: the line of the file where the game starts.
        record: the game.
        variation: 0 for the main line; ``k`` for the k-th further line of an SGF tree
            when variations are followed.
    """

    path: Path
    number: int
    line: int
    record: GameRecord
    variation: int = 0

    @property
    def where(self) -> str:
        """``FILE game N`` (``, variation V``) ``(line L)``, for messages."""
        variation = f", variation {self.variation}" if self.variation else ""
        return f"{self.path} game {self.number}{variation} (line {self.line})"


@dataclasses.dataclass(frozen=True)
class SkippedGame:
    """A game (or a whole file, ``number`` 0) that was not read, and why.

    Attributes:
        path: the file.
        number: the game's number in the file (1-based); 0 for the whole file.
        line: where the game starts (0 when not known).
        kind: one of :data:`SKIP_KINDS`.
        reason: what was wrong, in words (a parser's message names the line and column).
        variation: as :attr:`CollectionGame.variation`.
    """

    path: Path
    number: int
    line: int
    kind: str
    reason: str
    variation: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SKIP_KINDS:
            raise ValueError(f"skip kind {self.kind!r} is not one of {SKIP_KINDS}")

    def __str__(self) -> str:
        if self.number == 0:
            return f"{self.path}: {self.reason}"
        variation = f", variation {self.variation}" if self.variation else ""
        where = "" if self.reason.startswith("line ") or not self.line else f" (line {self.line})"
        return f"{self.path} game {self.number}{variation}{where}: {self.reason}"


Entry = CollectionGame | SkippedGame


# ---------------------------------------------------------------------- files


def record_format(path: str | os.PathLike[str]) -> str | None:
    """``"sgf"``, ``"pgn"`` or ``"moves"`` for a record file's name (``.gz``/``.bz2`` allowed), else None."""
    name = Path(path).name.lower()
    for suffix in _COMPRESSED:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return FORMATS.get(os.path.splitext(name)[1])


def record_files(path: str | os.PathLike[str]) -> Iterator[Path]:
    """The record files of ``path``: the file itself, or a folder's record files (recursively,
    sorted by name, hidden files and folders left out, symbolic links to folders not followed)."""
    path = Path(path)
    if not path.is_dir():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and record_format(name) is not None:
                yield Path(root) / name


def _open_text(path: Path) -> IO[str]:
    """``path`` opened as text (UTF-8, bad bytes replaced, line ends kept), decompressed if need be.

    Raises:
        OSError: missing, not a regular file (a FIFO would block), unreadable.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise OSError(f"not a regular file ({'a directory' if stat.S_ISDIR(mode) else 'a special file'})")
    opener = _COMPRESSED.get(path.suffix.lower())
    if opener is not None:
        return opener(path, "rt", encoding="utf-8", errors="replace", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8", errors="replace", newline="")


def _chunks(path: Path) -> Iterator[str]:
    """The file's text in chunks of about :data:`CHUNK_CHARS` characters."""
    with _open_text(path) as f:
        while True:
            chunk = f.read(CHUNK_CHARS)
            if not chunk:
                return
            yield chunk


def read_collection(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    game: Game | None = None,
    variations: bool = False,
    replay: bool = False,
) -> Iterator[Entry]:
    """Every game of the record files under ``paths`` (see the module docstring), one at a time.

    Args:
        paths: files or folders (a single path or several).
        game: the game asked for; its rules options (Go's ko and history, chess's history)
            are those of the records read, and records of another game or board size are
            skipped. None: each file's own game.
        variations: SGF: follow every variation (each line is one game), not only the main line.
        replay: SGF: also replay each game through the rules (slower; the legality of
            every format is checked when a game is converted or replayed anyway).

    Yields:
        :class:`CollectionGame` or :class:`SkippedGame` entries, in file order.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for source in paths:
        for path in record_files(source):
            yield from read_file(path, game=game, variations=variations, replay=replay)


def read_file(
    path: str | os.PathLike[str], *, game: Game | None = None, variations: bool = False, replay: bool = False
) -> Iterator[Entry]:
    """The games of one record file (as :func:`read_collection`)."""
    path = Path(path)
    fmt = record_format(path)
    if fmt is None:
        yield SkippedGame(path, 0, 0, "unreadable", "not a record file (expected .sgf, .pgn or .txt)")
        return
    expected = {"sgf": "go", "pgn": "chess"}.get(fmt)
    if game is not None and expected is not None and game.name != expected:
        yield SkippedGame(path, 0, 0, "other game", f"{fmt.upper()} records are {expected} games, not {game.name}")
        return
    reader = {"sgf": _read_sgf_file, "pgn": _read_pgn_file, "moves": _read_moves_file}[fmt]
    try:
        yield from reader(path, game, variations=variations, replay=replay)
    except OSError as err:
        yield SkippedGame(path, 0, 0, "unreadable", f"cannot read: {err.strerror or err}")
    except UnicodeError as err:  # a compressed file whose text cannot be decoded
        yield SkippedGame(path, 0, 0, "unreadable", f"cannot decode: {err}")
    except (EOFError, gzip.BadGzipFile) as err:
        yield SkippedGame(path, 0, 0, "unreadable", f"damaged compressed file: {err}")


def _line_shift(message: str, first_line: int, first_column: int, pattern: re.Pattern[str]) -> str:
    """A parser's message about a game read on its own, with the file's line (and column) numbers."""

    def shift(m: re.Match[str]) -> str:
        line = int(m.group("line"))
        out = m.group(0).replace(m.group("line"), str(line + first_line - 1), 1)
        if m.groupdict().get("column") is not None and line == 1:
            column = int(m.group("column")) + first_column - 1
            out = out[: m.start("column") - m.start(0)] + str(column) + out[m.end("column") - m.start(0):]
        return out

    return pattern.sub(shift, message, count=1)


# ---------------------------------------------------------------------- SGF

_SGF_WHERE = re.compile(r"^line (?P<line>\d+), column (?P<column>\d+)")
# Text up to the next "(" or ")" that is not inside a value.
_UNTIL_PAREN = re.compile(r"(?:[^()\[\]]+|\[[^\]\\]*(?:\\.[^\]\\]*)*\])*", re.S)
# The fast scanner's tokens: a run of nodes that hold one move each; a single ';', '(' or ')';
# one property (an upper-case identifier) with its values.
_MOVE_RUN = re.compile(r"(?:[ \t\r\n]*;[ \t\r\n]*[BW]\[[a-z]{0,2}\](?=[ \t\r\n]*[;()]))+")
_COLOUR = re.compile(r"([BW])\[")
_COORD = re.compile(r"\[([a-z]{0,2})\]")
_TOKEN = re.compile(r"[ \t\r\n]*(?:([;()])|([A-Z]{1,16})((?:[ \t\r\n]*\[[^\]\\]*(?:\\.[^\]\\]*)*\])+))", re.S)
_VALUE = re.compile(r"\[([^\]\\]*(?:\\.[^\]\\]*)*)\]", re.S)
_ESCAPE = re.compile(r"\\(\r\n|.)", re.S)
_SETUP = frozenset({"AB", "AW", "AE", "PL"})
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_POINTS: dict[int, dict[str, int]] = {}


def _points(size: int) -> dict[str, int]:
    """SGF coordinates -> actions on a ``size`` board (``""`` and ``"tt"`` are passes)."""
    table = _POINTS.get(size)
    if table is None:
        table = {_LETTERS[c] + _LETTERS[r]: r * size + c for r in range(size) for c in range(size)}
        table[""] = table["tt"] = size * size
        _POINTS[size] = table
    return table


def _tree_end(text: str, start: int) -> int | None:
    """The end of the game tree opening at ``text[start]`` (after its ``)``); None if the text ends first."""
    depth = 0
    i = start
    n = len(text)
    skip = _UNTIL_PAREN.match
    while True:
        i = skip(text, i).end()
        if i >= n:
            return None
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        elif ch == "[":
            return None  # a value that the text ends inside
        i += 1  # "(", ")" or a stray "]"


def _sgf_trees(path: Path) -> Iterator[tuple[int, int, int, str | None, str]]:
    """``(number, line, column, tree text or None, problem)`` for each game tree of an SGF file, in order.

    Text outside game trees is ignored. A tree longer than :data:`MAX_GAME_CHARS` (or
    one the file ends inside) comes with no text and the problem in words.
    """
    buf = ""
    pos = 0  # where to look for the next tree in buf
    line = 1  # the line of buf[counted]
    counted = 0
    number = 0
    chunks = _chunks(path)
    done = False

    def more() -> bool:
        """Drop ``buf[:pos]`` and read the next chunk; False at the end of the file."""
        nonlocal buf, pos, counted, done, line
        chunk = next(chunks, None)
        if chunk is None:
            done = True
            return False
        line += buf.count("\n", counted, pos)
        buf = buf[pos:] + chunk
        counted = pos = 0
        return True

    while True:
        start = buf.find("(", pos)
        if start < 0:
            pos = len(buf)  # no game tree starts in the rest: text outside trees is ignored
            if done or not more():
                return
            continue
        end = _tree_end(buf, start)
        if end is None and not done and len(buf) - start <= MAX_GAME_CHARS:
            pos = start
            more()
            continue
        line += buf.count("\n", counted, start)
        counted = start
        column = start - buf.rfind("\n", 0, start)
        number += 1
        if end is None:
            if done:
                yield number, line, column, buf[start:], ""
                return
            yield number, line, column, None, f"game tree longer than {MAX_GAME_CHARS} characters"
            # Resynchronise at the next game tree that starts a line.
            search_from = start + 1
            while True:
                nxt = buf.find("\n(", search_from)
                if nxt >= 0:
                    pos = nxt + 1
                    break
                pos = max(len(buf) - 1, search_from)  # keep a last "\n" that the next chunk's "(" may follow
                if not more():
                    return
                search_from = 0
            continue
        yield number, line, column, buf[start:end], ""
        pos = end


class _Fallback(Exception):
    """The fast scanner met something it does not handle: the general parser reads the tree."""


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: "" if m.group(1) in ("\n", "\r", "\r\n") else m.group(1), value)


def _fast_sgf(text: str, options: dict[str, Any], size: int | None) -> Any:
    """The main line of one game tree as a :class:`games.sgf.GoRecord` (without its moves when its
    board is not ``size``).

    Handles a root node, further nodes without moves (setup), then nodes of one move
    each (with any properties zeroplay does not interpret); anything else (variations
    with moves before the branch point are fine; setup after a move, two moves in a
    node, bad coordinates, colours out of turn, lower-case identifiers...) raises
    :class:`_Fallback`.
    """
    from games.sgf import SgfNode, SgfProperty, record_from_nodes

    head: list[dict[str, list[str]]] = []  # the nodes before the first move
    colours: list[str] = []
    coords: list[str] = []
    i = 1
    n = len(text)
    node: dict[str, list[str]] | None = None
    move_run, colour_findall, coord_findall, token = _MOVE_RUN.match, _COLOUR.findall, _COORD.findall, _TOKEN.match
    while i < n:
        m = move_run(text, i)
        if m is not None:
            run = m.group()
            colours.extend(colour_findall(run))
            coords.extend(coord_findall(run))
            node = None
            i = m.end()
            continue
        m = token(text, i)
        if m is None:
            raise _Fallback
        i = m.end()
        sym = m.group(1)
        if sym == ";":
            node = {}
            if not colours:
                head.append(node)
        elif sym == "(":
            if not head and not colours:
                raise _Fallback  # a variation before any node
            node = None  # the main line continues into the first variation
        elif sym == ")":
            break  # the end of the main line: the rest of the tree is other variations
        else:
            if node is None:
                raise _Fallback
            ident = m.group(2)
            if ident in node:
                raise _Fallback
            values = [_unescape(v) for v in _VALUE.findall(m.group(3))]
            if ident in ("B", "W"):
                if len(values) != 1 or "B" in node or "W" in node or not _SETUP.isdisjoint(node):
                    raise _Fallback  # two moves, or setup and a move, in one node
                if not colours and head and head[-1] is node:
                    head.pop()  # a node with a move (and maybe a comment): the setup ended before it
                colours.append(ident)
                coords.append(values[0].strip())
            elif ident in _SETUP and (colours or "B" in node or "W" in node):
                raise _Fallback  # setup after the first move
            node[ident] = values
    if not head:
        raise _Fallback
    nodes = []
    for props in head:
        sgf_node = SgfNode(1, 1)
        for ident, values in props.items():
            sgf_node.properties[ident] = SgfProperty(ident, values, 1, 1, [(1, 1)] * len(values))
        nodes.append(sgf_node)
    record = record_from_nodes(nodes, replay=False, **options)
    if size is not None and record.game.size != size:
        return record  # of another board size: its moves are not needed
    if not colours:
        return record
    table = _points(record.game.size)
    try:
        actions = tuple(map(table.__getitem__, coords))
    except KeyError:
        raise _Fallback from None
    first = "BW".index(colours[0])
    to_play = record.to_play if any("PL" in props for props in head) else first
    turns = "".join(colours)
    if turns != ("BW" if to_play == 0 else "WB") * (len(turns) // 2) + ("BW"[to_play] if len(turns) % 2 else ""):
        raise _Fallback  # a colour out of turn
    game = record.game
    if options.get("max_moves") is None and len(actions) > game.max_moves:
        from games.go import Go

        game = Go(**{**game.options(), "max_moves": len(actions)})
    return dataclasses.replace(record, game=game, actions=actions, to_play=to_play)


def _sgf_options(game: Game | None) -> dict[str, Any]:
    if game is None or game.name != "go":
        return {}
    options = game.options()
    return {"ko": options["ko"], "history": options["history"], "default_komi": options["komi"]}


def _read_sgf_file(path: Path, game: Game | None, *, variations: bool, replay: bool) -> Iterator[Entry]:
    from games.sgf import parse_collection, record_from_nodes

    options = _sgf_options(game)
    size = game.options()["size"] if game is not None and game.name == "go" else None
    for number, line, column, text, problem in _sgf_trees(path):
        if text is None:
            yield SkippedGame(path, number, line, "malformed", problem)
            continue
        if not variations and not replay:
            try:
                sgf = _fast_sgf(text, options, size)
            except (_Fallback, RecordError, GameError):
                pass  # the general parser says what is wrong, with the line and column
            else:
                if size is not None and sgf.game.size != size:
                    yield _other_size(path, number, line, 0, sgf.game.size, size)
                else:
                    yield _go_entry(path, number, line, 0, sgf)
                continue
        try:
            tree = parse_collection(text)[0]
        except RecordError as err:
            yield SkippedGame(path, number, line, "malformed", _line_shift(str(err), line, column, _SGF_WHERE))
            continue
        lines = tree.lines() if variations else iter([tree.main_line()])
        for variation, nodes in enumerate(lines):
            try:
                sgf = record_from_nodes(nodes, replay=replay, **options)
            except RecordError as err:
                kind = "illegal" if "illegal move" in str(err) or "bad setup" in str(err) else "malformed"
                message = _line_shift(str(err), line, column, _SGF_WHERE)
                yield SkippedGame(path, number, line, kind, message, variation)
                continue
            if size is not None and sgf.game.size != size:
                yield _other_size(path, number, line, variation, sgf.game.size, size)
                continue
            yield _go_entry(path, number, line, variation, sgf)


def _other_size(path: Path, number: int, line: int, variation: int, found: int, asked: int) -> SkippedGame:
    return SkippedGame(path, number, line, "other size", f"a {found}x{found} game, not {asked}x{asked}", variation)


def _go_entry(path: Path, number: int, line: int, variation: int, sgf: Any) -> Entry:
    try:
        return CollectionGame(path, number, line, from_go_record(sgf), variation)
    except RecordError as err:  # a setup the rules refuse
        return SkippedGame(path, number, line, "illegal", str(err), variation)


# ---------------------------------------------------------------------- PGN

_PGN_WHERE = re.compile(r"^PGN line (?P<line>\d+)")


def _pgn_games(path: Path) -> Iterator[tuple[int, str | None]]:
    """``(first line, text or None)`` of each game of a PGN file (None: longer than the limit).

    A game ends where the next tag section starts (a line starting with ``[`` after
    movetext, outside a ``{...}`` comment).
    """
    lines: list[str] = []
    size = 0
    start = 1
    movetext = False
    in_comment = False
    too_long = False
    lineno = 0
    with _open_text(path) as f:
        for lineno, text in enumerate(f, start=1):
            stripped = text.lstrip()
            if not in_comment and movetext and stripped.startswith("["):
                yield start, None if too_long else "".join(lines)
                lines, size, movetext, too_long = [], 0, False, False
            if not lines and not too_long:
                start = lineno
            if in_comment or "{" in text or "}" in text or ";" in text:
                in_comment = _comment_state(text, in_comment)
            if stripped and not stripped.startswith(("[", "%")):
                movetext = True
            if too_long:
                continue
            size += len(text)
            if size > MAX_GAME_CHARS:
                too_long, lines = True, []
                continue
            lines.append(text)
    if lines or too_long:
        if too_long or any(line.strip() for line in lines):
            yield start, None if too_long else "".join(lines)


def _comment_state(text: str, in_comment: bool) -> bool:
    """Whether a ``{...}`` comment is open at the end of the line."""
    for ch in text:
        if in_comment:
            if ch == "}":
                in_comment = False
        elif ch == "{":
            in_comment = True
        elif ch == ";":
            break  # a comment to the end of the line
    return in_comment


def _read_pgn_file(path: Path, game: Game | None, *, variations: bool, replay: bool) -> Iterator[Entry]:
    from games.pgn import iter_pgn_games

    history = game.options().get("history", 8) if game is not None else 8
    number = 0
    for line, text in _pgn_games(path):
        if text is None:
            number += 1
            yield SkippedGame(path, number, line, "malformed", f"game longer than {MAX_GAME_CHARS} characters")
            continue
        # Moves after zeroplay's rules end a game are kept (the converter cuts the game there).
        for item in iter_pgn_games(text, history=history, check_end=False):
            number += 1
            if isinstance(item, RecordError):
                message = _line_shift(str(item), line, 1, _PGN_WHERE)
                kind = "illegal" if "illegal" in message else "malformed"
                yield SkippedGame(path, number, line, kind, message)
            else:
                yield CollectionGame(path, number, line, from_pgn_record(item))


# ---------------------------------------------------------------------- move lists

_MOVES_HEADER = "# zeroplay record"


def _read_moves_file(path: Path, game: Game | None, *, variations: bool, replay: bool) -> Iterator[Entry]:
    number = 0
    for line, text in _move_lists(path):
        number += 1
        if text is None:
            yield SkippedGame(path, number, line, "malformed", f"record longer than {MAX_GAME_CHARS} characters")
            continue
        try:
            (record,) = read_records(text, "moves")
        except RecordError as err:
            kind = "illegal" if "illegal" in str(err) else "malformed"
            yield SkippedGame(path, number, line, kind, f"line {line}: {err}")
            continue
        if game is not None and record.game.name != game.name:
            yield SkippedGame(path, number, line, "other game", f"a {record.game.name} game, not {game.name}")
            continue
        yield CollectionGame(path, number, line, record)


def _move_lists(path: Path) -> Iterator[tuple[int, str | None]]:
    """``(first line, text or None)`` of each move-list record of a file (None: longer than the limit)."""
    lines: list[str] = []
    size, start, too_long = 0, 1, False
    with _open_text(path) as f:
        for lineno, text in enumerate(f, start=1):
            if text.startswith(_MOVES_HEADER) and (lines or too_long):
                yield start, None if too_long else "".join(lines)
                lines, size, too_long = [], 0, False
            if not lines and not too_long:
                start = lineno
            size += len(text)
            if size > MAX_GAME_CHARS:
                too_long, lines = True, []
            elif not too_long:
                lines.append(text)
    if too_long or any(line.strip() for line in lines):
        yield start, None if too_long else "".join(lines)


def write_collection(records: Iterable[GameRecord]) -> str:
    """Records of one game as one collection text: SGF trees, PGN games or move lists one after another."""
    from games.records import write_record

    return "\n".join(write_record(record).rstrip("\n") + "\n" for record in records)


__all__ = [
    "CHUNK_CHARS",
    "FORMATS",
    "MAX_GAME_CHARS",
    "SKIP_KINDS",
    "CollectionGame",
    "Entry",
    "SkippedGame",
    "read_collection",
    "read_file",
    "record_files",
    "record_format",
    "write_collection",
]
