"""SGF (FF[4]) game records for :mod:`games.go`.

Writing (:func:`write_sgf`) produces one game tree::

    (;FF[4]GM[1]CA[UTF-8]AP[zeroplay]SZ[9]KM[7.5]RU[Chinese]PB[..]PW[..]RE[B+R]
    HA[2]AB[cg][gc]PL[W]
    ;W[ee];B[]...)

* ``SZ`` the board size, ``KM`` the komi, ``RU[Chinese]`` for the area scoring
  zeroplay uses (stones plus territory, Tromp-Taylor style). ``RU`` is ignored on
  reading: records are always replayed under zeroplay's area rules, with the ko
  rule given to :func:`read_sgf`.
* ``RE``: ``B+R``/``W+R`` (resignation), ``B+3.5``, ``W+T`` (time), ``B+F``
  (forfeit), ``0``/``Draw``, ``Void``, ``?``; kept verbatim.
* Setup stones: ``AB``/``AW`` (FF[4] compressed point lists ``aa:cc`` are read),
  ``HA`` (written when Black has only setup stones and White moves first),
  ``PL`` (player to move after the setup).
* Moves ``B[xy]``/``W[xy]``: two lowercase letters, column then row, both
  counted from the TOP-left corner (``aa``); a pass is written ``B[]``; ``[tt]``
  is also read as a pass. Colours must alternate (zeroplay has no way to move
  twice in a row).

* Further game-info properties of the root (``EV``, ``RO``, ``DT``, ``GN``, private ones)
  are kept in :attr:`GoRecord.properties` and written back after ``RE``.

Reading (:func:`read_sgf`) parses the whole collection syntactically (escapes
``\\]`` and ``\\\\``, soft line breaks, variations) but interprets only the main
line of the first game tree (the first child at every branch). Every problem —
malformed text, a bad coordinate, a bad ``SZ``, an illegal move — raises
:class:`~games.base.RecordError` whose message starts with ``line L, column C``.
:func:`record_from_nodes` interprets any line of any tree (:meth:`SgfTree.lines`),
optionally without replaying the moves through the rules (what a fast import of a
large collection does, leaving the rules to the conversion that replays them anyway).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Iterable, Iterator
from typing import Any

from games.base import GameError, RecordError
from games.go import Go, GoState, vertex_text

#: Root and node properties that reading interprets or writing writes itself.
INTERPRETED = frozenset({"FF", "GM", "CA", "AP", "ST", "SZ", "KM", "RU", "PB", "PW", "RE", "HA", "AB", "AW", "AE",
                         "PL", "B", "W"})
_IDENT_RE = re.compile(r"^[A-Z]+$")
_RESULT_RE = re.compile(r"^(?:0|Draw|Void|\?|[BW]\+(?:R|Resign|T|Time|F|Forfeit|\d+(?:\.\d+)?)?)$")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def check_result(result: str | None) -> str | None:
    """``result`` if it is a valid SGF ``RE`` value (or None), else ``RecordError``."""
    if result is None:
        return None
    if not isinstance(result, str) or not _RESULT_RE.match(result):
        raise RecordError(
            f"bad result {result!r}: expected B+R, W+R, B+<points>, W+<points>, B+T, W+F, 0, Draw, Void or ?"
        )
    return result


def result_winner(result: str | None) -> int | None:
    """0 if Black won, 1 if White won, None for a draw, void or unknown result."""
    if result and result[:2] == "B+":
        return 0
    if result and result[:2] == "W+":
        return 1
    return None


def resignation(loser: int) -> str:
    """The result when ``loser`` (0 Black, 1 White) resigns: ``"W+R"`` or ``"B+R"``."""
    return "W+R" if loser == 0 else "B+R"


@dataclasses.dataclass(frozen=True)
class GoRecord:
    """One Go game: rules, setup, moves, players and result.

    Attributes:
        game: the :class:`~games.go.Go` rules (size, komi, ko, ...).
        black_setup: actions of Black's setup/handicap stones (``AB``).
        white_setup: actions of White's setup stones (``AW``).
        actions: the moves (``size * size`` is pass), starting with ``to_play``.
        result: SGF ``RE`` text (``"B+R"``, ``"W+3.5"``, ``"0"``...) or None.
        black_player, white_player: ``PB``/``PW`` or None.
        to_play: the first player to move; None means White after Black-only
            setup stones (handicap) and Black otherwise.
        properties: further root properties as ``(identifier, value)`` pairs (game
            information such as ``EV``, ``RO``, ``DT``), written after ``RE``; reading
            keeps every single-valued root property it does not interpret itself.
    """

    game: Go
    black_setup: tuple[int, ...] = ()
    white_setup: tuple[int, ...] = ()
    actions: tuple[int, ...] = ()
    result: str | None = None
    black_player: str | None = None
    white_player: str | None = None
    to_play: int | None = None
    properties: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.game, Go):
            raise RecordError(f"GoRecord.game must be a Go game, not {self.game!r}")
        properties = tuple((str(k), str(v)) for k, v in self.properties)
        for ident, _ in properties:
            if not _IDENT_RE.match(ident) or ident in INTERPRETED:
                raise RecordError(f"GoRecord.properties: {ident!r} is not a free SGF root property identifier")
        object.__setattr__(self, "properties", properties)
        for name in ("black_setup", "white_setup", "actions"):
            object.__setattr__(self, name, tuple(map(int, getattr(self, name))))
        check_result(self.result)
        if self.to_play is None:
            first = 1 if self.black_setup and not self.white_setup else 0
            object.__setattr__(self, "to_play", first)
        elif self.to_play not in (0, 1):
            raise RecordError(f"GoRecord.to_play must be 0 or 1, not {self.to_play!r}")

    @property
    def handicap(self) -> int:
        """Number of handicap stones (``HA``): Black-only setup with White to move, else 0."""
        if self.black_setup and not self.white_setup and self.to_play == 1:
            return len(self.black_setup)
        return 0

    @property
    def winner(self) -> int | None:
        """0 (Black), 1 (White) or None, from ``result``."""
        return result_winner(self.result)

    def initial_state(self) -> GoState:
        """The position after the setup stones."""
        try:
            return self.game.setup_state(self.black_setup, self.white_setup, self.to_play)
        except GameError as err:
            raise RecordError(f"bad setup: {err}") from err

    def states(self) -> Iterator[GoState]:
        """Every position from the setup to the end, replayed with legality checks."""
        state = self.initial_state()
        yield state
        for i, action in enumerate(self.actions):
            try:
                state = state.apply(action)
            except GameError as err:
                raise RecordError(f"move {i + 1} ({_describe(self.game, action)}): {err}") from err
            yield state

    def final_state(self) -> GoState:
        """The position after the last move (legality checked)."""
        *_, state = self.states()
        return state

    def to_sgf(self) -> str:
        return write_sgf(self)


def _describe(game: Go, action: int) -> str:
    try:
        return vertex_text(action, game.size)
    except GameError:
        return f"action {action}"


# ---------------------------------------------------------------------- writing


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("]", "\\]")


def _point(action: int, size: int) -> str:
    if action == size * size:
        return ""
    if not 0 <= action < size * size:
        raise RecordError(f"action {action} is off the {size}x{size} board")
    row, col = divmod(action, size)
    return _LETTERS[col] + _LETTERS[row]


def write_sgf(record: GoRecord, moves_per_line: int = 10) -> str:
    """The record as an FF[4] SGF game tree (see the module docstring)."""
    game = record.game
    size = game.size
    komi = f"{game.komi:g}"
    root = [f"(;FF[4]GM[1]CA[UTF-8]AP[zeroplay]SZ[{size}]KM[{komi}]RU[Chinese]"]
    if record.black_player is not None:
        root.append(f"PB[{_escape(record.black_player)}]")
    if record.white_player is not None:
        root.append(f"PW[{_escape(record.white_player)}]")
    if record.result is not None:
        root.append(f"RE[{_escape(record.result)}]")
    for ident, value in record.properties:
        root.append(f"{ident}[{_escape(value)}]")
    setup = []
    if record.handicap:
        setup.append(f"HA[{record.handicap}]")
    if record.black_setup:
        setup.append("AB" + "".join(f"[{_point(a, size)}]" for a in record.black_setup))
    if record.white_setup:
        setup.append("AW" + "".join(f"[{_point(a, size)}]" for a in record.white_setup))
    if record.black_setup or record.white_setup or record.to_play == 1:
        setup.append(f"PL[{'BW'[record.to_play]}]")
    lines = ["".join(root)]
    if setup:
        lines.append("".join(setup))
    colour = record.to_play
    line: list[str] = []
    for action in record.actions:
        line.append(f";{'BW'[colour]}[{_point(action, size)}]")
        colour = 1 - colour
        if len(line) == moves_per_line:
            lines.append("".join(line))
            line = []
    if line:
        lines.append("".join(line))
    return "\n".join(lines) + ")\n"


# ---------------------------------------------------------------------- parsing


@dataclasses.dataclass
class SgfProperty:
    """One property: identifier, raw (unescaped) values, and where each value starts."""

    ident: str
    values: list[str]
    line: int
    column: int
    positions: list[tuple[int, int]]


@dataclasses.dataclass
class SgfNode:
    line: int
    column: int
    properties: dict[str, SgfProperty] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class SgfTree:
    line: int
    column: int
    nodes: list[SgfNode] = dataclasses.field(default_factory=list)
    children: list[SgfTree] = dataclasses.field(default_factory=list)

    def main_line(self) -> list[SgfNode]:
        """The nodes of the main line (first child at each branch)."""
        nodes: list[SgfNode] = []
        tree: SgfTree | None = self
        while tree is not None:
            nodes.extend(tree.nodes)
            tree = tree.children[0] if tree.children else None
        return nodes

    def lines(self) -> Iterator[list[SgfNode]]:
        """Every line of play from the root to a leaf, the main line first (depth first)."""
        if not self.children:
            yield list(self.nodes)
            return
        for child in self.children:
            for rest in child.lines():
                yield self.nodes + rest


class _Text:
    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def error(self, offset: int, message: str) -> RecordError:
        line, column = self.where(offset)
        return RecordError(f"line {line}, column {column}: {message}")


def parse_collection(text: str) -> list[SgfTree]:
    """Parse SGF text into game trees (syntax only). Raises RecordError naming the line."""
    if not isinstance(text, str):
        raise RecordError(f"SGF must be text, not {type(text).__name__}")
    src = _Text(text)
    n = len(text)
    i = 0
    roots: list[SgfTree] = []
    stack: list[SgfTree] = []
    opened: list[int] = []
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            line, col = src.where(i)
            tree = SgfTree(line, col)
            if stack:
                parent = stack[-1]
                if not parent.nodes:
                    raise src.error(i, "variation '(' before any node ';' in a game tree")
                parent.children.append(tree)
            else:
                roots.append(tree)
            stack.append(tree)
            opened.append(i)
            i += 1
        elif ch == ")":
            if not stack:
                raise src.error(i, "unbalanced ')' with no open game tree")
            tree = stack.pop()
            start = opened.pop()
            if not tree.nodes:
                raise src.error(start, "empty game tree '()' (a game tree needs a node ';')")
            i += 1
        elif ch == ";":
            if not stack:
                raise src.error(i, "node ';' outside any game tree '('")
            tree = stack[-1]
            if tree.children:
                raise src.error(i, "node ';' after a variation in the same game tree")
            line, col = src.where(i)
            node = SgfNode(line, col)
            tree.nodes.append(node)
            i = _parse_properties(src, i + 1, node)
        elif not stack:
            i += 1  # text outside game trees is ignored (FF[4])
        else:
            raise src.error(i, f"unexpected {ch!r} (expected ';', '(', ')' or a property)")
    if stack:
        raise src.error(opened[-1], "unbalanced '(': game tree never closed with ')'")
    if not roots:
        raise RecordError("line 1, column 1: no SGF game tree '(;' found")
    return roots


def _parse_properties(src: _Text, i: int, node: SgfNode) -> int:
    text = src.text
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n or not text[i].isalpha():
            return i
        start = i
        while i < n and text[i].isalpha():
            i += 1
        raw = text[start:i]
        ident = "".join(ch for ch in raw if ch.isupper())
        if not ident or not raw.isascii():
            raise src.error(start, f"bad property identifier {raw!r}")
        line, col = src.where(start)
        prop = SgfProperty(ident, [], line, col, [])
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != "[":
                break
            value_start = i
            i += 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise src.error(value_start, f"unbalanced '[': value of {ident} never closed with ']'")
                ch = text[i]
                if ch == "\\":
                    if i + 1 >= n:
                        raise src.error(value_start, f"unbalanced '[': value of {ident} never closed with ']'")
                    nxt = text[i + 1]
                    if nxt == "\n":
                        i += 2
                    elif nxt == "\r":
                        i += 3 if text[i + 2 : i + 3] == "\n" else 2
                    else:
                        chars.append(nxt)
                        i += 2
                elif ch == "]":
                    i += 1
                    break
                else:
                    chars.append(ch)
                    i += 1
            prop.values.append("".join(chars))
            prop.positions.append(src.where(value_start))
        if not prop.values:
            raise src.error(start, f"property {ident} has no value '[...]'")
        if ident in node.properties:
            raise src.error(start, f"property {ident} given twice in one node")
        node.properties[ident] = prop


# ---------------------------------------------------------------------- interpretation


def _err(prop: SgfProperty, message: str, index: int = 0) -> RecordError:
    line, column = prop.positions[index] if prop.positions else (prop.line, prop.column)
    return RecordError(f"line {line}, column {column}: {message}")


def _single(prop: SgfProperty) -> str:
    if len(prop.values) != 1:
        raise _err(prop, f"{prop.ident} takes one value, got {len(prop.values)}")
    return prop.values[0]


def _decode_point(prop: SgfProperty, index: int, size: int, allow_pass: bool) -> int:
    value = prop.values[index]
    v = value.strip()
    if allow_pass and (v == "" or (v == "tt" and size <= 19)):
        return size * size
    if len(v) != 2 or v[0] not in _LETTERS[:size] or v[1] not in _LETTERS[:size]:
        raise _err(
            prop,
            f"bad coordinates {prop.ident}[{value}] on {size}x{size} (two letters a-{_LETTERS[size - 1]})",
            index,
        )
    return _LETTERS.index(v[1]) * size + _LETTERS.index(v[0])


def _point_list(prop: SgfProperty, size: int) -> list[int]:
    points: list[int] = []
    for k, value in enumerate(prop.values):
        if ":" in value:
            a, b = value.split(":", 1)
            corner = SgfProperty(prop.ident, [a, b], prop.line, prop.column, [prop.positions[k]] * 2)
            p1 = _decode_point(corner, 0, size, False)
            p2 = _decode_point(corner, 1, size, False)
            (r1, c1), (r2, c2) = divmod(p1, size), divmod(p2, size)
            if r1 > r2 or c1 > c2:
                raise _err(prop, f"bad point rectangle {prop.ident}[{value}]", k)
            points.extend(r * size + c for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
        else:
            points.append(_decode_point(prop, k, size, False))
    return points


def read_sgf(
    text: str,
    *,
    ko: str = "positional",
    max_moves: int | None = None,
    history: int = 4,
    default_komi: float = 7.5,
) -> GoRecord:
    """Parse SGF text and replay its main line through the rules.

    Args:
        text: SGF text; only the first game tree's main line is interpreted.
        ko, history: options of the :class:`~games.go.Go` game built for the record.
        max_moves: the game's move cap; None means the Go default, raised to the
            record's length if the record is longer.
        default_komi: komi when the record has no ``KM``.

    Raises:
        RecordError: malformed SGF, unsupported content (not Go, non-square or
            out-of-range ``SZ``, setup stones after the first move, a colour moving
            twice in a row) or an illegal move; the message names the line and column.
    """
    return record_from_nodes(
        parse_collection(text)[0].main_line(), ko=ko, max_moves=max_moves, history=history, default_komi=default_komi
    )


def record_from_nodes(
    nodes: list[SgfNode],
    *,
    ko: str = "positional",
    max_moves: int | None = None,
    history: int = 4,
    default_komi: float = 7.5,
    replay: bool = True,
) -> GoRecord:
    """Interpret one line of play (the root node first) as a :class:`GoRecord`.

    Args:
        nodes: a line of a parsed tree (:meth:`SgfTree.main_line` or one of :meth:`SgfTree.lines`).
        ko, max_moves, history, default_komi: as for :func:`read_sgf`.
        replay: replay the setup and the moves through the rules (legality); False checks
            only the notation (coordinates, colours alternating, setup before the moves).

    Raises:
        RecordError: as :func:`read_sgf` (with ``replay=False``: no illegal move or bad setup).
    """
    root = nodes[0].properties

    def single(ident: str) -> tuple[str, SgfProperty] | None:
        prop = root.get(ident)
        return None if prop is None else (_single(prop).strip(), prop)

    if (gm := single("GM")) is not None and gm[0] not in ("", "1"):
        raise _err(gm[1], f"GM[{gm[0]}] is not Go (GM[1])")
    size = 19
    if (sz := single("SZ")) is not None:
        value, prop = sz
        parts = value.split(":")
        try:
            dims = [int(x) for x in parts]
        except ValueError:
            raise _err(prop, f"bad board size SZ[{value}]") from None
        if len(dims) > 2 or (len(dims) == 2 and dims[0] != dims[1]):
            raise _err(prop, f"bad board size SZ[{value}]: only square boards are supported")
        size = dims[0]
        if not 5 <= size <= 19:
            raise _err(prop, f"bad board size SZ[{value}]: zeroplay plays 5x5 to 19x19")
    komi = float(default_komi)
    if (km := single("KM")) is not None:
        value, prop = km
        try:
            komi = float(value) if value else komi
        except ValueError:
            raise _err(prop, f"bad komi KM[{value}]") from None
        if komi != komi or abs(komi) > 1000 or 2 * komi != int(2 * komi):
            raise _err(prop, f"bad komi KM[{value}]: must be an integer or half-integer")
    if (ha := single("HA")) is not None:
        value, prop = ha
        if not value.isdigit():
            raise _err(prop, f"bad handicap HA[{value}]")
    result = None
    if (re_ := single("RE")) is not None:
        value, prop = re_
        try:
            result = check_result(value) if value else None
        except RecordError as err:
            raise _err(prop, str(err)) from None
    players = {}
    for ident in ("PB", "PW"):
        if (pp := single(ident)) is not None:
            players[ident] = pp[0]
    properties = tuple(
        (ident, prop.values[0]) for ident, prop in root.items()
        if ident not in INTERPRETED and len(prop.values) == 1
    )

    # Collect setup (before the first move) and moves.
    black_setup: list[int] = []
    white_setup: list[int] = []
    to_play: int | None = None
    moves: list[tuple[int, int, SgfProperty]] = []  # (colour, action, prop)
    seen_setup: dict[int, SgfProperty] = {}
    for node in nodes:
        props = node.properties
        for ident in ("AB", "AW", "AE"):
            if ident in props:
                prop = props[ident]
                if moves:
                    raise _err(prop, f"setup property {ident} after the first move is not supported")
                if ident == "AE":
                    raise _err(prop, "AE (remove stones) is not supported")
                for action in _point_list(prop, size):
                    if action in seen_setup:
                        raise _err(prop, f"setup point {_point(action, size)} given twice")
                    seen_setup[action] = prop
                    (black_setup if ident == "AB" else white_setup).append(action)
        if "PL" in props:
            prop = props["PL"]
            value = _single(prop).strip().upper()
            if value not in ("B", "W"):
                raise _err(prop, f"bad player PL[{value}]")
            if moves:
                raise _err(prop, "PL after the first move is not supported")
            to_play = "BW".index(value)
        if "B" in props and "W" in props:
            raise _err(props["W"], "a node with both B and W moves")
        for colour, ident in ((0, "B"), (1, "W")):
            if ident in props:
                prop = props[ident]
                if len(prop.values) != 1:
                    raise _err(prop, f"move {ident} takes one value, got {len(prop.values)}")
                moves.append((colour, _decode_point(prop, 0, size, True), prop))
    if to_play is None:
        if moves:
            to_play = moves[0][0]
        else:
            to_play = 1 if black_setup and not white_setup else 0

    if max_moves is None:
        max_moves = max(2 * size * size, len(moves))
    try:
        game = Go(size=size, komi=komi, ko=ko, max_moves=max_moves, history=history)
    except GameError as err:
        raise RecordError(f"line {nodes[0].line}, column {nodes[0].column}: {err}") from err
    if replay:
        actions = _replay(game, black_setup, white_setup, to_play, moves, seen_setup, nodes[0])
    else:
        mover = to_play
        for number, (colour, _, prop) in enumerate(moves, start=1):
            if colour != mover:
                raise _err(prop, f"move {number} {prop.ident}[{prop.values[0]}]: {'BW'[mover]} was to play")
            mover = 1 - mover
        actions = [action for _, action, _ in moves]
    return GoRecord(
        game=game,
        black_setup=tuple(black_setup),
        white_setup=tuple(white_setup),
        actions=tuple(actions),
        result=result,
        black_player=players.get("PB"),
        white_player=players.get("PW"),
        to_play=to_play,
        properties=properties,
    )


def _replay(
    game: Go,
    black_setup: list[int],
    white_setup: list[int],
    to_play: int,
    moves: list[tuple[int, int, SgfProperty]],
    seen_setup: dict[int, SgfProperty],
    root: SgfNode,
) -> list[int]:
    """The moves' actions, each checked against the rules from the setup position."""
    size = game.size
    try:
        state = game.setup_state(black_setup, white_setup, to_play)
    except GameError as err:
        prop = next(iter(seen_setup.values()), None)
        where = (prop.line, prop.column) if prop else (root.line, root.column)
        raise RecordError(f"line {where[0]}, column {where[1]}: bad setup: {err}") from err
    actions = []
    for number, (colour, action, prop) in enumerate(moves, start=1):
        move_text = f"{prop.ident}[{prop.values[0]}]"
        if colour != state.to_play:
            raise _err(prop, f"move {number} {move_text}: {'BW'[state.to_play]} was to play")
        try:
            state = state.apply(action)
        except GameError as err:
            raise _err(prop, f"illegal move {number} {move_text} ({vertex_text(action, size)}): {err}") from None
        actions.append(action)
    return actions


def record_from_start(start: GoState, actions: Iterable[int], **fields: Any) -> GoRecord:
    """A record of ``actions`` played from ``start`` (its stones become the setup).

    ``fields`` are the other :class:`GoRecord` fields (``result``, ``black_player``...).
    """
    return GoRecord(
        game=start.game,
        black_setup=tuple(start.stones(0)),
        white_setup=tuple(start.stones(1)),
        actions=tuple(actions),
        to_play=start.to_play,
        **fields,
    )


__all__ = [
    "INTERPRETED",
    "GoRecord",
    "SgfNode",
    "SgfProperty",
    "SgfTree",
    "check_result",
    "parse_collection",
    "read_sgf",
    "record_from_nodes",
    "record_from_start",
    "resignation",
    "result_winner",
    "write_sgf",
]
