"""Go on a square board (5x5 .. 19x19): area scoring, positional superko or simple ko.

Rules
    Tromp-Taylor area scoring: a player's score is their stones plus the empty
    points that reach (through empty points) only their colour; komi goes to
    White. Captures are resolved for the opponent's groups first; a move that
    leaves its own group without liberties (single- or multi-stone suicide) is
    illegal. Ko is either ``"positional"`` (default: positional superko, no move
    may recreate any earlier whole-board position, whoever is to move) or
    ``"simple"`` (as GNU Go: a single stone that just captured a single stone
    cannot be captured back at once). The game ends after two consecutive passes
    or after ``max_moves`` moves (passes included; default ``2 * size * size``),
    and is then scored as it stands. Resignation is not an action; it lives in
    game records (see :mod:`games.sgf`).

Actions
    ``row * size + col`` with row 0 at the TOP of the board (the observation
    grid), and ``size * size`` is pass; ``num_actions = size * size + 1``.

Notation
    GTP vertices: a column letter ``A``-``T`` without ``I`` and a row number
    counted from the bottom, so ``A1`` is the bottom-left point; ``pass``.
    Parsing is case-insensitive.

Observation ``[2 * history + 1, size, size]`` float32, from the mover's view
    (``history`` is an option, default 4)::

        plane 2*t     : stones of the player to move, t positions ago (t = 0 is now)
        plane 2*t + 1 : stones of the opponent,       t positions ago
        plane 2*history : all ones if the player to move is Black, else zeros

    Positions before the start of the game (or before a setup position) are
    all-zero planes. A pass repeats the position, so it repeats a history pair.

Players: ``to_play`` 0 is Black (moves first unless a setup says otherwise), 1 is
White. Symmetries: the 8 dihedral symmetries of the board; pass maps to itself.

Implementation notes (speed): a padded 1-D board (``bytearray``; 0 empty,
1 black, 2 white, 3 off-board), per-point group representatives, per-group
(stones, liberties) shared between states, the set of empty points with no
empty neighbour (only those need a suicide check), Zobrist hashes with the
history of earlier positions indexed by stone count (a move that captures
nothing adds one stone, so only positions with one more stone can repeat), and
a lazily computed, cached, read-only legal mask.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from games.base import Game, GameError, IllegalMoveError, NotationError, State, UnknownGameError
from games.symmetry import board_action_permutation, transform_planes

COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP columns: no I
EMPTY, BLACK, WHITE, EDGE = 0, 1, 2, 3
KO_RULES = ("positional", "simple")
# Bounds of the size-like options (a record's options are outside input): a game may
# last at most 20 moves per point, and the observation holds at most 32 positions.
MAX_MOVES_PER_POINT = 20
MAX_HISTORY = 32
FEATURES = ("stones", "rich")
#: Planes "rich" features add: own / opponent stones in groups of 1, 2, 3+ liberties (6), the
#: point ko forbids (1), a pass as the last move (1), the komi from the mover's side / 15 (1).
RICH_PLANES = 9


class _Tables:
    """Per-size constants shared by every state of that size."""

    __slots__ = (
        "size", "width", "length", "npoints", "a2p", "p2a", "nbrs", "interior",
        "zobrist", "zinv", "empty_board", "empty_mask", "no_moves",
    )

    def __init__(self, size: int) -> None:
        w = size + 2
        self.size = size
        self.width = w
        self.length = w * w
        self.npoints = size * size
        self.a2p = [(r + 1) * w + c + 1 for r in range(size) for c in range(size)]
        self.p2a = [-1] * self.length
        for a, p in enumerate(self.a2p):
            self.p2a[p] = a
        self.nbrs: list[tuple[int, ...]] = [()] * self.length
        for p in self.a2p:
            self.nbrs[p] = (p - 1, p + 1, p - w, p + w)
        self.interior = np.array(self.a2p, dtype=np.intp)
        rng = random.Random(0x5EED0000 + size)
        self.zobrist: list[list[int]] = [[0] * self.length for _ in range(3)]
        self.zinv: list[dict[int, int]] = [{}, {}, {}]
        for colour in (BLACK, WHITE):
            for p in self.a2p:
                key = rng.getrandbits(64)
                self.zobrist[colour][p] = key
                self.zinv[colour][key] = p
        board = bytearray([EDGE]) * self.length
        for p in self.a2p:
            board[p] = EMPTY
        self.empty_board = bytes(board)
        self.empty_mask = bytes([1]) * (self.npoints + 1)  # every point empty, pass legal
        no_moves = np.zeros(self.npoints + 1, dtype=bool)
        no_moves.setflags(write=False)
        self.no_moves = no_moves

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        # Pickled by reference: unpickling finds the shared per-size tables again.
        return (_tables, (self.size,))


@functools.cache
def _tables(size: int) -> _Tables:
    return _Tables(size)


def vertex_text(action: int, size: int) -> str:
    """GTP vertex of ``action`` on a ``size`` board (``"pass"`` for ``size * size``)."""
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise NotationError(f"go action {action} out of range 0..{size * size} on {size}x{size}")
    row, col = divmod(action, size)
    return f"{COLUMNS[col]}{size - row}"


def parse_vertex(text: str, size: int) -> int:
    """Action of a GTP vertex (``"D4"``, ``"d4"``, ``"pass"``) on a ``size`` board."""
    if not isinstance(text, str):
        raise NotationError(f"{text!r} is not a Go vertex")
    t = text.strip().upper()
    if t == "PASS":
        return size * size
    if len(t) < 2 or t[0] not in COLUMNS[:size] or not t[1:].isdigit() or not t[1:].isascii():
        raise NotationError(
            f"{text!r} is not a vertex on {size}x{size} (columns {COLUMNS[0]}-{COLUMNS[size - 1]} "
            f"without I, rows 1-{size} from the bottom, or 'pass')"
        )
    row_from_bottom = int(t[1:])
    if not 1 <= row_from_bottom <= size or t[1] == "0":
        raise NotationError(f"{text!r}: row {t[1:]} is off the {size}x{size} board (1-{size})")
    return (size - row_from_bottom) * size + COLUMNS.index(t[0])


def handicap_actions(size: int, stones: int) -> list[int]:
    """Fixed handicap points as in GTP ``fixed_handicap`` (2..9 stones; 2..4 on even sizes and 7x7)."""
    if size < 7:
        raise GameError(f"no fixed handicap on {size}x{size} (GTP defines it from 7x7)")
    most = 4 if size % 2 == 0 or size == 7 else 9
    if not 2 <= stones <= most:
        raise GameError(f"fixed handicap on {size}x{size} is 2..{most} stones, not {stones}")
    edge = 2 if size < 13 else 3
    lo, hi, mid = edge, size - 1 - edge, size // 2

    def at(col: int, row_from_bottom: int) -> int:
        return (size - 1 - row_from_bottom) * size + col

    # GTP order: lower-left, upper-right, upper-left, lower-right, then centre/sides.
    corners = [at(lo, lo), at(hi, hi), at(lo, hi), at(hi, lo)]
    sides = [at(lo, mid), at(hi, mid), at(mid, lo), at(mid, hi)]
    centre = at(mid, mid)
    table = {
        2: corners[:2],
        3: corners[:3],
        4: corners,
        5: corners + [centre],
        6: corners + sides[:2],
        7: corners + sides[:2] + [centre],
        8: corners + sides,
        9: corners + sides + [centre],
    }
    return table[stones]


class Go(Game):
    """Go with area scoring.

    Args:
        size: board size, 5..19.
        komi: points given to White; a half-integer avoids draws, an integer allows them;
            finite with ``|komi| <= size * size``.
        ko: ``"positional"`` (positional superko, default) or ``"simple"``.
        max_moves: the game ends (and is scored) after this many moves, passes
            included; 1..``MAX_MOVES_PER_POINT * size * size`` (20 per point), default
            ``2 * size * size``. It is also ``max_game_length``.
        history: positions in the observation (see the module docstring), 1..``MAX_HISTORY``
            (32), default 4.
        features: ``"stones"`` (default: the stone planes and the colour plane) or
            ``"rich"``, which adds nine planes KataGo found worth their cost (see the
            module docstring): the liberties of every group, the point ko forbids, a
            pass as the last move, and the komi from the mover's side.

    Raises:
        UnknownGameError: an option of the wrong type or out of its range (naming the
            option, the value and the bound).
    """

    name = "go"
    num_symmetries = 8
    player_names = ("Black", "White")
    notation_hint = "a vertex such as D4, or pass"
    record_format = "sgf"

    def __init__(
        self,
        size: int = 9,
        komi: float = 7.5,
        ko: str = "positional",
        max_moves: int | None = None,
        history: int = 4,
        features: str = "stones",
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 5 <= size <= 19:
            raise UnknownGameError(f"go size must be an integer 5..19, not {size!r}")
        size = int(size)
        points = size * size
        if isinstance(komi, bool) or not isinstance(komi, (int, float, np.integer, np.floating)):
            raise UnknownGameError(f"go komi must be a number, not {komi!r}")
        # Bounded before any arithmetic (2 * 1e308 is inf, and int(inf) overflows); the
        # comparison is False for NaN and infinities and never converts a huge int.
        if not abs(komi) <= points:
            raise UnknownGameError(
                f"go komi must be finite with |komi| <= size * size = {points} on {size}x{size}, not {komi!r}"
            )
        komi_value = float(komi)
        if (2 * komi_value) != int(2 * komi_value):
            raise UnknownGameError(f"go komi must be an integer or half-integer, not {komi!r}")
        if ko not in KO_RULES:
            raise UnknownGameError(f"go ko must be one of {KO_RULES}, not {ko!r}")
        longest = MAX_MOVES_PER_POINT * points
        if max_moves is None:
            max_moves = 2 * points
        if (
            isinstance(max_moves, bool)
            or not isinstance(max_moves, (int, np.integer))
            or not 1 <= max_moves <= longest
        ):
            raise UnknownGameError(
                f"go max_moves must be an integer 1..{longest} ({MAX_MOVES_PER_POINT} * size * size), "
                f"not {max_moves!r}"
            )
        if isinstance(history, bool) or not isinstance(history, (int, np.integer)) or not 1 <= history <= MAX_HISTORY:
            raise UnknownGameError(f"go history must be an integer 1..{MAX_HISTORY}, not {history!r}")
        if features not in FEATURES:
            raise UnknownGameError(f"go features must be one of {FEATURES}, not {features!r}")
        self.size = size
        self.features = features
        self.komi = komi_value
        self.ko = ko
        self.max_moves = int(max_moves)
        self.max_game_length = self.max_moves
        self.history = int(history)
        self.num_actions = size * size + 1
        self.pass_action = size * size
        self.observation_shape = (2 * self.history + 1 + (RICH_PLANES if features == "rich" else 0), size, size)
        self._t = _tables(size)
        self._initial: GoState | None = None

    def options(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "komi": self.komi,
            "ko": self.ko,
            "max_moves": self.max_moves,
            "history": self.history,
            "features": self.features,
        }

    def gtp_rules(self) -> Go:
        """These rules as GTP engines such as GNU Go enforce them: simple ko.

        Under positional superko the two sides could disagree on which moves are legal.
        """
        return self if self.ko == "simple" else Go(**{**self.options(), "ko": "simple"})

    def initial_state(self) -> GoState:
        if self._initial is None:
            self._initial = self.setup_state()
        return self._initial

    def setup_state(
        self, black: Iterable[int] = (), white: Iterable[int] = (), to_play: int = 0
    ) -> GoState:
        """A start position with the given stones (actions) and player to move.

        Used for handicap stones and SGF ``AB``/``AW``. The setup position is the
        first position of the game's history (superko) and the move count starts at 0.

        Raises:
            GameError: an action off the board, a point given twice (or to both
                colours), a group with no liberties, or a bad ``to_play``.
        """
        t = self._t
        if to_play not in (0, 1) or isinstance(to_play, bool):
            raise GameError(f"to_play must be 0 (Black) or 1 (White), not {to_play!r}")
        board = bytearray(t.empty_board)
        for colour, actions in ((BLACK, black), (WHITE, white)):
            for a in actions:
                if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
                    raise GameError(f"setup stone {a!r} is not an action")
                if not 0 <= a < t.npoints:
                    raise GameError(f"setup stone {a} is off the {self.size}x{self.size} board")
                p = t.a2p[a]
                if board[p] != EMPTY:
                    raise GameError(f"setup point {vertex_text(int(a), self.size)} given twice")
                board[p] = colour
        return GoState._from_board(self, board, int(to_play))

    def handicap_state(self, stones: int) -> GoState:
        """Black's fixed handicap stones (GTP placement), White to play."""
        return self.setup_state(black=handicap_actions(self.size, stones), to_play=1)

    def setup_moves(self, start: State) -> list[int]:
        """``start``'s setup stones as moves from the empty board: Black and White place theirs
        in turn (lowest point first), the side with none left passing, then one more pass
        if needed so that ``start``'s player is to move."""
        if not isinstance(start, GoState) or start.game.size != self.size:
            raise GameError(f"{start!r} is not a position of {self!r}")
        black, white = start.stones(0), start.stones(1)
        moves: list[int] = []
        colour = 0
        while black or white:
            stones = black if colour == 0 else white
            moves.append(stones.pop(0) if stones else self.pass_action)
            colour = 1 - colour
        if colour != start.to_play:
            moves.append(self.pass_action)
        return moves

    def transform_observation(self, observation: np.ndarray, k: int) -> np.ndarray:
        self._check_symmetry(k)
        return transform_planes(observation, k)

    def action_permutation(self, k: int) -> np.ndarray:
        self._check_symmetry(k)
        return board_action_permutation(self.size, self.size, k, extra=1)

    def action_to_text(self, action: int) -> str:
        return vertex_text(int(action), self.size)

    def parse_action(self, text: str) -> int:
        return parse_vertex(text, self.size)


class GoState(State):
    """A Go position.

    Attributes beyond the protocol: ``move_number`` (moves played since the
    start/setup, passes included), ``consecutive_passes``, ``last_action``
    (``None`` at the start).
    """

    __slots__ = (
        "game", "_t", "_board", "_gid", "_groups", "_eyes", "_empty", "_hash", "_count",
        "_hist", "_ko", "_passes", "_moves", "_to_play", "_last", "_prev", "_mask", "_terminal",
    )

    # _board: bytearray, padded (size+2)^2, EMPTY/BLACK/WHITE/EDGE; never mutated once built.
    # _gid: list, padded point -> representative point of its group (0 if empty).
    # _groups: dict rep -> (stones tuple of padded points, liberties set); values never mutated.
    # _eyes: frozenset of empty points with no empty neighbour.
    # _empty: bytes/bytearray [A], 1 where the action's point is empty (pass always 1).
    # _hash: Zobrist hash of the stones; _count: number of stones.
    # _hist: positional superko only, dict stone count -> tuple of hashes seen (incl. now).
    # _ko: simple ko only, padded point the mover may not play (0 if none).
    # _prev: previous boards, most recent first, at most history - 1.

    def __init__(self) -> None:  # pragma: no cover - states come from Go.initial_state / setup_state
        raise TypeError("make Go states with Go.initial_state() or Go.setup_state()")

    @classmethod
    def _from_board(cls, game: Go, board: bytearray, to_play: int) -> GoState:
        t = game._t
        gid = [0] * t.length
        groups: dict[int, tuple[tuple[int, ...], set[int]]] = {}
        h = 0
        count = 0
        for p in t.a2p:
            colour = board[p]
            if colour in (BLACK, WHITE):
                h ^= t.zobrist[colour][p]
                count += 1
                if gid[p]:
                    continue
                stones = [p]
                libs: set[int] = set()
                gid[p] = p
                i = 0
                while i < len(stones):
                    for n in t.nbrs[stones[i]]:
                        v = board[n]
                        if v == colour and not gid[n]:
                            gid[n] = p
                            stones.append(n)
                        elif v == EMPTY:
                            libs.add(n)
                    i += 1
                if not libs:
                    raise GameError(
                        f"setup group at {vertex_text(t.p2a[p], game.size)} has no liberties"
                    )
                groups[p] = (tuple(stones), libs)
        eyes = frozenset(
            p for p in t.a2p if board[p] == EMPTY and all(board[n] != EMPTY for n in t.nbrs[p])
        )
        empty = bytearray(t.empty_mask)
        for a, p in enumerate(t.a2p):
            if board[p] != EMPTY:
                empty[a] = 0
        s = object.__new__(cls)
        s.game = game
        s._t = t
        s._board = board
        s._gid = gid
        s._groups = groups
        s._eyes = eyes
        s._empty = bytes(empty)
        s._hash = h
        s._count = count
        s._hist = {count: (h,)} if game.ko == "positional" else None
        s._ko = 0
        s._passes = 0
        s._moves = 0
        s._to_play = to_play
        s._last = -1
        s._prev = ()
        s._mask = None
        s._terminal = False
        return s

    # ------------------------------------------------------------------ protocol

    @property
    def to_play(self) -> int:
        return self._to_play

    @property
    def move_number(self) -> int:
        return self._moves

    @property
    def consecutive_passes(self) -> int:
        return self._passes

    @property
    def last_action(self) -> int | None:
        return None if self._last < 0 else int(self._last)

    def is_terminal(self) -> bool:
        return self._terminal

    def apply_unchecked(self, action: int) -> GoState:
        t = self._t
        game = self.game
        s = object.__new__(GoState)
        s.game = game
        s._t = t
        s._to_play = 1 - self._to_play
        s._moves = moves = self._moves + 1
        s._last = action
        s._mask = None
        hist_len = game.history - 1
        if hist_len:
            s._prev = (self._board,) + self._prev[: hist_len - 1]
        else:
            s._prev = ()
        if action == t.npoints:  # pass
            s._board = self._board
            s._gid = self._gid
            s._groups = self._groups
            s._eyes = self._eyes
            s._empty = self._empty
            s._hash = self._hash
            s._count = self._count
            s._hist = self._hist
            s._ko = 0
            s._passes = passes = self._passes + 1
            s._terminal = passes >= 2 or moves >= game.max_moves
            return s

        c = self._to_play + 1
        o = 3 - c
        p = t.a2p[action]
        nbrs = t.nbrs
        pn = nbrs[p]
        board = self._board[:]
        board[p] = c
        gid = self._gid[:]
        groups = self._groups.copy()
        empty = bytearray(self._empty)
        empty[action] = 0
        h = self._hash ^ t.zobrist[c][p]
        eyes = self._eyes
        eyes_new = None
        if p in eyes:
            eyes_new = set(eyes)
            eyes_new.discard(p)

        captured: tuple[int, ...] = ()
        for n in pn:
            if board[n] == o:
                g = gid[n]
                stones, libs = groups[g]
                if p not in libs:  # already seen through another neighbour
                    continue
                if len(libs) == 1:
                    del groups[g]
                    zo = t.zobrist[o]
                    p2a = t.p2a
                    for q in stones:
                        board[q] = EMPTY
                        gid[q] = 0
                        h ^= zo[q]
                        empty[p2a[q]] = 1
                    captured += stones
                else:
                    libs = set(libs)
                    libs.discard(p)
                    groups[g] = (stones, libs)

        if captured:
            # Liberties regained by the mover's groups next to the captured stones.
            for q in captured:
                for m in nbrs[q]:
                    if board[m] == c and m != p:
                        g = gid[m]
                        stones, libs = groups[g]
                        if q not in libs:
                            libs = set(libs)
                            libs.add(q)
                            groups[g] = (stones, libs)
            if eyes_new is None:
                eyes_new = set(eyes)
            for q in captured:
                a1, a2, a3, a4 = nbrs[q]
                eyes_new.discard(a1)
                eyes_new.discard(a2)
                eyes_new.discard(a3)
                eyes_new.discard(a4)
            for q in captured:
                a1, a2, a3, a4 = nbrs[q]
                if board[a1] and board[a2] and board[a3] and board[a4]:
                    eyes_new.add(q)

        # The placed stone's group.
        own = None
        newlibs = []
        for n in pn:
            v = board[n]
            if v == EMPTY:
                newlibs.append(n)
                a1, a2, a3, a4 = nbrs[n]
                if board[a1] and board[a2] and board[a3] and board[a4]:
                    if eyes_new is None:
                        eyes_new = set(eyes)
                    eyes_new.add(n)
            elif v == c:
                g = gid[n]
                if own is None:
                    own = [g]
                elif g not in own:
                    own.append(g)
        if own is None:
            rep = p
            stones = (p,)
            libs = set(newlibs)
        elif len(own) == 1:
            rep = own[0]
            stones, libs = groups[rep]
            stones = stones + (p,)
            libs = set(libs)
            libs.update(newlibs)
            libs.discard(p)
        else:
            rep = own[0]
            biggest = len(groups[rep][0])
            for g in own:
                if len(groups[g][0]) > biggest:
                    rep = g
                    biggest = len(groups[g][0])
            stones, libs = groups[rep]
            libs = set(libs)
            libs.update(newlibs)
            for g in own:
                if g != rep:
                    st, lb = groups.pop(g)
                    for q in st:
                        gid[q] = rep
                    stones = stones + st
                    libs |= lb
            stones = stones + (p,)
            libs.discard(p)
        gid[p] = rep
        groups[rep] = (stones, libs)

        count = self._count + 1 - len(captured)
        s._board = board
        s._gid = gid
        s._groups = groups
        s._eyes = self._eyes if eyes_new is None else frozenset(eyes_new)
        s._empty = empty
        s._hash = h
        s._count = count
        hist = self._hist
        if hist is not None:
            hist = hist.copy()
            hist[count] = hist.get(count, ()) + (h,)
            s._ko = 0
        elif len(captured) == 1 and len(stones) == 1 and len(libs) == 1:
            s._ko = captured[0]
        else:
            s._ko = 0
        s._hist = hist
        s._passes = 0
        s._terminal = moves >= game.max_moves
        return s

    def legal_mask(self) -> np.ndarray:
        mask = self._mask
        if mask is not None:
            return mask
        t = self._t
        if self._terminal:
            self._mask = t.no_moves
            return t.no_moves
        buf = bytearray(self._empty)
        board = self._board
        gid = self._gid
        groups = self._groups
        nbrs = t.nbrs
        p2a = t.p2a
        c = self._to_play + 1
        o = 3 - c
        hist = self._hist
        for p in self._eyes:
            legal = False
            for n in nbrs[p]:
                v = board[n]
                if v == c:
                    if len(groups[gid[n]][1]) > 1:
                        legal = True
                        break
                elif v == o and len(groups[gid[n]][1]) == 1:
                    legal = True
                    break
            if not legal:
                buf[p2a[p]] = 0
        if hist is None:
            if self._ko:
                buf[p2a[self._ko]] = 0
        else:
            h = self._hash
            count = self._count
            # Moves that capture nothing add one stone: they can only repeat a position
            # with one more stone than now, whose hash differs from ours by one key.
            seen = hist.get(count + 1)
            if seen:
                zinv = t.zinv[c]
                for old in seen:
                    q = zinv.get(old ^ h)
                    if q is not None and board[q] == EMPTY and not self._captures(q, o):
                        buf[p2a[q]] = 0
            # Capturing moves: the liberties of the opponent's groups in atari.
            done = None
            zc = t.zobrist[c]
            zo = t.zobrist[o]
            for g, (_, libs) in groups.items():
                if len(libs) == 1 and board[g] == o:
                    (q,) = libs
                    if done is None:
                        done = {q}
                    elif q in done:
                        continue
                    else:
                        done.add(q)
                    if not buf[p2a[q]]:
                        continue
                    hq = h ^ zc[q]
                    removed = 0
                    seen_groups = []
                    for n in nbrs[q]:
                        if board[n] == o:
                            gn = gid[n]
                            if gn in seen_groups:
                                continue
                            seen_groups.append(gn)
                            st, lb = groups[gn]
                            if len(lb) == 1:
                                removed += len(st)
                                for x in st:
                                    hq ^= zo[x]
                    old = hist.get(count + 1 - removed)
                    if old and hq in old:
                        buf[p2a[q]] = 0
        mask = np.frombuffer(buf, dtype=np.bool_)
        mask.setflags(write=False)
        self._mask = mask
        return mask

    def _captures(self, p: int, o: int) -> bool:
        board = self._board
        for n in self._t.nbrs[p]:
            if board[n] == o and len(self._groups[self._gid[n]][1]) == 1:
                return True
        return False

    def returns(self) -> tuple[float, float]:
        self._require_terminal()
        score = self.score()
        if score > 0:
            return (1.0, -1.0)
        if score < 0:
            return (-1.0, 1.0)
        return (0.0, 0.0)

    def observation(self) -> np.ndarray:
        t = self._t
        n = t.size
        hist = self.game.history
        obs = np.zeros(self.game.observation_shape, dtype=np.float32)
        me = self._to_play + 1
        boards = (self._board,) + self._prev
        stacked = np.frombuffer(b"".join(boards), dtype=np.uint8).reshape(len(boards), t.length)
        cells = stacked[:, t.interior].reshape(len(boards), n, n)
        k = len(boards)
        obs[0 : 2 * k : 2] = cells == me
        obs[1 : 2 * k : 2] = cells == 3 - me
        colour = 2 * hist
        if me == BLACK:
            obs[colour] = 1.0
        if self.game.features == "rich":
            self._rich_planes(obs[colour + 1 :])
        return obs

    def _rich_planes(self, planes: np.ndarray) -> None:
        """Fill the ``RICH_PLANES`` planes ``[9, size, size]`` of "rich" features (mover's view)."""
        t = self._t
        n = t.size
        me = self._to_play + 1
        flat = planes.reshape(RICH_PLANES, n * n)
        for stones, libs in self._groups.values():
            colour = self._board[stones[0]]
            plane = (0 if colour == me else 3) + min(len(libs), 3) - 1
            flat[plane, [t.p2a[p] for p in stones]] = 1.0
        for action in self.ko_banned():
            flat[6, action] = 1.0
        if self.last_action == self.game.pass_action:
            flat[7] = 1.0
        komi = self.game.komi if me == WHITE else -self.game.komi
        flat[8] = max(-4.0, min(4.0, komi / 15.0))

    def ko_banned(self) -> list[int]:
        """Empty points the mover may not play although the move would not be suicide: ko or superko."""
        mask = self.legal_mask()
        t = self._t
        board = self._board
        return [a for a in range(t.npoints)
                if not mask[a] and board[t.a2p[a]] == EMPTY and not self._suicide(t.a2p[a])]

    def _suicide(self, p: int) -> bool:
        """Whether a stone of the mover at the empty point ``p`` would have no liberty."""
        board, gid, groups = self._board, self._gid, self._groups
        c = self._to_play + 1
        for q in self._t.nbrs[p]:
            v = board[q]
            if v == EMPTY:
                return False
            if v == c and len(groups[gid[q]][1]) > 1:
                return False
            if v == 3 - c and len(groups[gid[q]][1]) == 1:
                return False  # it captures
        return True

    def action_to_text(self, action: int) -> str:
        return vertex_text(int(action), self._t.size)

    def parse_action(self, text: str) -> int:
        return parse_vertex(text, self._t.size)

    # ------------------------------------------------------------------ Go specifics

    def board(self) -> np.ndarray:
        """int8 ``[size, size]`` (row 0 at the top): 1 black, -1 white, 0 empty."""
        t = self._t
        cells = np.frombuffer(bytes(self._board), dtype=np.uint8)[t.interior].astype(np.int8)
        cells[cells == WHITE] = -1
        return cells.reshape(t.size, t.size)

    def stones(self, player: int) -> list[int]:
        """Actions (points) holding ``player``'s stones (0 Black, 1 White), increasing."""
        colour = player + 1
        board = self._board
        return [a for a, p in enumerate(self._t.a2p) if board[p] == colour]

    def colour_at(self, action: int) -> int | None:
        """0 (Black), 1 (White) or None (empty) at a board action."""
        v = self._board[self._t.a2p[action]]
        return None if v == EMPTY else v - 1

    def liberties(self, action: int) -> int:
        """Number of liberties of the group at ``action`` (0 for an empty point)."""
        p = self._t.a2p[action]
        if self._board[p] == EMPTY:
            return 0
        return len(self._groups[self._gid[p]][1])

    @property
    def position_hash(self) -> int:
        """64-bit Zobrist hash of the stones (not of the player to move)."""
        return self._hash

    @property
    def ko_point(self) -> int | None:
        """Simple ko only: the action the mover may not play now (None if none)."""
        return None if not self._ko else self._t.p2a[self._ko]

    def ownership(self) -> np.ndarray:
        """float32 ``[size * size]`` (action order): +1 where Black owns the point, -1 White, 0 nobody.

        Tromp-Taylor area: a stone is its colour's; an empty region belongs to the one
        colour whose stones alone it reaches, else to nobody (dame, seki).
        """
        t = self._t
        board = self._board
        nbrs = t.nbrs
        owner = np.zeros(t.npoints, dtype=np.float32)
        seen = bytearray(t.length)
        for a, p in enumerate(t.a2p):
            v = board[p]
            if v != EMPTY:
                owner[a] = 1.0 if v == BLACK else -1.0
                continue
            if seen[p]:
                continue
            seen[p] = 1
            region = [p]
            reach = 0
            i = 0
            while i < len(region):
                for q in nbrs[region[i]]:
                    v = board[q]
                    if v == EMPTY:
                        if not seen[q]:
                            seen[q] = 1
                            region.append(q)
                    elif v != EDGE:
                        reach |= v
                i += 1
            if reach == BLACK or reach == WHITE:
                owner[[t.p2a[q] for q in region]] = 1.0 if reach == BLACK else -1.0
        return owner

    def area(self) -> tuple[int, int]:
        """Tromp-Taylor area (black, white): stones plus empty regions reaching only that colour."""
        owner = self.ownership()
        return int(np.count_nonzero(owner > 0)), int(np.count_nonzero(owner < 0))

    def score(self) -> float:
        """Black's area minus White's area minus komi (positive: Black is ahead). Any time."""
        black, white = self.area()
        return black - white - self.game.komi

    def end_description(self) -> str:
        black, white = self.area()
        return (f"{self.result()} (Black {black}, White {white} + komi {self.game.komi:g}; "
                "Tromp-Taylor area scoring)")

    def result(self) -> str:
        """SGF-style result of the position scored as it stands: ``"B+3.5"``, ``"W+0.5"``, ``"0"``."""
        score = self.score()
        if score == 0:
            return "0"
        return f"{'B' if score > 0 else 'W'}+{abs(score):g}"

    def _check_invariants(self) -> None:
        """Recompute groups, liberties, empties, eyes and hash from the board; AssertionError if off."""
        fresh = GoState._from_board(self.game, bytearray(self._board), self._to_play)
        t = self._t
        assert fresh._hash == self._hash, "zobrist hash drifted"
        assert fresh._count == self._count, "stone count drifted"
        assert bytes(fresh._empty) == bytes(self._empty), "empty mask drifted"
        assert fresh._eyes == self._eyes, "eye set drifted"
        for p in t.a2p:
            if self._board[p] != EMPTY:
                mine = self._groups[self._gid[p]]
                theirs = fresh._groups[fresh._gid[p]]
                assert sorted(mine[0]) == sorted(theirs[0]), f"group at {p} drifted"
                assert set(mine[1]) == set(theirs[1]), f"liberties at {p} drifted"
                assert mine[1], f"group at {p} has no liberties"
        reps = {self._gid[p] for p in t.a2p if self._board[p] != EMPTY}
        assert reps == set(self._groups), "stale groups"
        if self._hist is not None:
            assert self._hash in self._hist.get(self._count, ()), "position missing from history"

    def __str__(self) -> str:
        t = self._t
        n = t.size
        board = self._board
        last = self._last if 0 <= self._last < t.npoints else -1
        header = "   " + " ".join(COLUMNS[:n])
        lines = [header]
        for r in range(n):
            label = f"{n - r:>2}"
            row = [label, " "]
            for c in range(n):
                a = r * n + c
                if a == last:
                    row[-1] = "("
                row.append(".XO"[board[t.a2p[a]]])
                row.append(")" if a == last else " ")
            row.append(label)
            lines.append("".join(row))
        lines.append(header)
        who = "Black (X)" if self._to_play == 0 else "White (O)"
        if self._terminal:
            lines.append(f"game over after {self._moves} moves: {self.result()}")
        else:
            lines.append(f"{who} to play, move {self._moves + 1}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<GoState {self._t.size}x{self._t.size} move {self._moves} to_play {self._to_play}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, GoState)
            and self._t is other._t
            and self._to_play == other._to_play
            and self._hash == other._hash
            and self._board == other._board
        )

    def __hash__(self) -> int:
        return hash((self._hash, self._to_play))


def play(game: Go, moves: Sequence[str | int], state: GoState | None = None) -> GoState:
    """Convenience: apply ``moves`` (vertices or actions, checked) from ``state`` or the start."""
    return (state or game.initial_state()).apply_all(moves)


__all__ = [
    "COLUMNS",
    "Go",
    "GoState",
    "IllegalMoveError",
    "handicap_actions",
    "parse_vertex",
    "play",
    "vertex_text",
]
