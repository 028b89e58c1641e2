"""Standard chess (not Chess960) on top of python-chess's rules.

python-chess (``import chess``) supplies move generation, FEN parsing and SAN;
this module adds AlphaZero's fixed action space, observation planes, immutable
states with repetition bookkeeping and zeroplay's draw adjudication. (This file is
``games/chess.py``; with absolute imports ``import chess`` below is python-chess.)

Squares are python-chess's: ``a1 = 0, b1 = 1, ..., h8 = 63``, i.e.
``square = rank * 8 + file``. Player 0 is White, player 1 is Black; ``to_play``
is the colour to move (a FEN may start with Black to move, then ``to_play`` is 1).

Actions (``A = 8 * 8 * 73 = 4672``), AlphaZero's encoding, seen by the mover::

    action = from_rel * 73 + move_type
    from_rel = from_square       (White to move)
             = from_square ^ 56  (Black to move: the board flipped vertically)

so ``rel_rank = rank`` for White and ``7 - rank`` for Black, files unchanged, and
the same index names the same *relative* move for either colour. With
``(dr, df)`` the relative (rank, file) step from the from-square to the to-square:

* ``move_type = direction * 7 + (distance - 1)`` for 0..55, queen-like moves of any
  piece (king, queen, rook, bishop, pawn pushes and captures, castling as the
  king's two-square move ``e1g1``, and promotions to a queen), with
  ``direction`` 0..7 = N(+1,0), NE(+1,+1), E(0,+1), SE(-1,+1), S(-1,0),
  SW(-1,-1), W(0,-1), NW(+1,-1) and ``distance`` 1..7 ("N" is towards the
  opponent, "E" towards the h-file);
* ``move_type = 56 + k`` for 56..63, knight moves, ``k`` indexing the steps
  (+2,+1), (+1,+2), (-1,+2), (-2,+1), (-2,-1), (-1,-2), (+1,-2), (+2,-1);
* ``move_type = 64 + 3 * piece + (df + 1)`` for 64..72, underpromotions by a pawn
  on the relative 7th rank, ``piece`` 0 = knight, 1 = bishop, 2 = rook and
  ``df`` -1 (capture towards the a-file), 0 (straight), +1 (towards the h-file).

Actions that leave the board (or underpromote from another rank) name no move.
Text is UCI (``e2e4``, ``e7e8q``, ``e1g1``); ``parse_action`` also takes SAN.

Observation ``[14 * T + 7, 8, 8]`` float32 (``T = history``, 119 planes for
T = 8), from the mover's view: plane row ``r`` is the relative rank ``r`` (row 0
is the mover's back rank: rank 1 for White, rank 8 for Black), column ``c`` is
the file (0 = a). For each history step ``t = 0..T-1`` (0 = the current
position, ``t`` = the position ``t`` plies earlier; zeros before the start of
the game), planes ``14 t + i``:

* ``i = 0..5``: the mover's pawns, knights, bishops, rooks, queens, king;
* ``i = 6..11``: the opponent's pawns, knights, bishops, rooks, queens, king;
* ``i = 12``: ones if that position had occurred at least once before,
  ``i = 13``: ones if it had occurred at least twice before
  (repetitions are counted since the last capture or pawn move).

("Mover" and "opponent" always refer to the player to move *now*.) Then seven
constant planes ``14 T + j``: ``j = 0`` ones if White is to move; ``1`` the ply
count since this game's start divided by ``max_plies``; ``2, 3`` the mover's
king-side / queen-side castling rights; ``4, 5`` the opponent's king-side /
queen-side castling rights; ``6`` the half-move (no-progress) clock / 100.

Termination (``state.termination()``): ``"checkmate"`` (the side to move
loses), and draws ``"stalemate"``, ``"insufficient-material"``,
``"threefold"`` (a position, with the same side to move, castling rights and
legal en-passant captures, occurring for the third time: an automatic draw),
``"fifty-move"`` (half-move clock >= 100 and the mover is not mated: automatic),
``"ply-cap"`` (``max_plies`` plies played since this game's start; a mate
delivered on the last ply still wins).

With ``Chess(adjudicate=False)`` (what an engine uses to follow a GUI's game) only
checkmate and stalemate end the game: repetitions and the fifty-move rule are
claims in chess, insufficient material and zeroplay's ply cap are for the GUI to
declare, so every position with a legal move can be played on and searched.
The ply and half-move clock planes then stay at 1 once past ``max_plies`` and 100.
"""

from __future__ import annotations

import re
from typing import Any

import chess  # python-chess
import numpy as np

from games.base import Game, GameError, IllegalMoveError, NotationError, State

NUM_ACTIONS = 64 * 73
# Bounds of the size-like options. The longest chess game the fifty-move rule allows
# is 5,949 moves (11,897 plies); zeroplay draws automatically at 100 half-moves.
MAX_PLIES = 11_897
MAX_HISTORY = 32
STANDARD_FEN = chess.STARTING_FEN

_DIRECTIONS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
_KNIGHT_STEPS = ((2, 1), (1, 2), (-1, 2), (-2, 1), (-2, -1), (-1, -2), (1, -2), (2, -1))
_UNDERPROMOTIONS = (chess.KNIGHT, chess.BISHOP, chess.ROOK)
_PIECE_TYPES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)
_UCI_RE = re.compile(r"^([a-h][1-8])([a-h][1-8])([qrbn]?)$")

# "" = "not terminal", distinct from None ("not computed yet").
_NOT_OVER = ""


def _move_type(dr: int, df: int) -> int:
    """Queen-like or knight move type of a relative step, or -1."""
    if (dr, df) in _KNIGHT_STEPS:
        return 56 + _KNIGHT_STEPS.index((dr, df))
    if (dr, df) == (0, 0) or (dr and df and abs(dr) != abs(df)):
        return -1
    distance = max(abs(dr), abs(df))
    direction = _DIRECTIONS.index(((dr > 0) - (dr < 0), (df > 0) - (df < 0)))
    return direction * 7 + distance - 1


def _build_tables() -> tuple[list[list[int]], list[list[Any]], list[list[Any]]]:
    """Per colour (index = python-chess colour: 0 Black, 1 White):

    * ``enc[colour][from * 64 + to]``: the action of a move that is not an
      underpromotion (absolute squares), -1 if not encodable;
    * ``dec[colour][action]``: the ``chess.Move`` it names (queen-like moves
      without promotion), or None off the board;
    * ``qdec[colour][action]``: the queen-promotion form of the move when it is
      a one-step pawn move from the relative 7th to the 8th rank, else None.
    """
    enc: list[list[int]] = [[-1] * 4096, [-1] * 4096]
    dec: list[list[Any]] = [[None] * NUM_ACTIONS, [None] * NUM_ACTIONS]
    qdec: list[list[Any]] = [[None] * NUM_ACTIONS, [None] * NUM_ACTIONS]
    for colour in (chess.WHITE, chess.BLACK):
        flip = 0 if colour == chess.WHITE else 56
        for frm in range(64):
            fr, ff = divmod(frm, 8)  # relative rank, file
            for to in range(64):
                tr, tf = divmod(to, 8)
                mt = _move_type(tr - fr, tf - ff)
                if mt < 0:
                    continue
                action = frm * 73 + mt
                enc[colour][(frm ^ flip) * 64 + (to ^ flip)] = action
                dec[colour][action] = chess.Move(frm ^ flip, to ^ flip)
                if fr == 6 and tr == 7 and abs(tf - ff) <= 1:
                    qdec[colour][action] = chess.Move(frm ^ flip, to ^ flip, chess.QUEEN)
            if fr == 6:
                for p, piece in enumerate(_UNDERPROMOTIONS):
                    for df in (-1, 0, 1):
                        if 0 <= ff + df < 8:
                            to = (7 * 8 + ff + df) ^ flip
                            dec[colour][frm * 73 + 64 + 3 * p + df + 1] = chess.Move(frm ^ flip, to, piece)
    return enc, dec, qdec


_ENC, _DEC, _QDEC = _build_tables()


def encode_move(move: chess.Move, turn: bool) -> int:
    """The action of ``move`` (a ``chess.Move``, castling as ``e1g1``) for the side ``turn``
    (python-chess colour: ``chess.WHITE`` is True); -1 if it is not encodable."""
    promo = move.promotion
    if promo is None or promo == chess.QUEEN:
        action = _ENC[turn][move.from_square * 64 + move.to_square]
        if promo is not None and (action < 0 or _QDEC[turn][action] is None):
            return -1
        return action
    frm = move.from_square if turn else move.from_square ^ 56
    to = move.to_square if turn else move.to_square ^ 56
    df = (to & 7) - (frm & 7)
    if frm >> 3 != 6 or to >> 3 != 7 or not -1 <= df <= 1 or promo not in _UNDERPROMOTIONS:
        return -1
    return frm * 73 + 64 + 3 * (promo - chess.KNIGHT) + df + 1


class InvalidFenError(GameError):
    """A FEN that is malformed or describes an impossible position."""


class IllegalNotationError(NotationError, IllegalMoveError):
    """Well-formed SAN naming no legal move in the position (both a notation and an illegal-move error)."""


class Chess(Game):
    """Standard chess.

    Args:
        fen: start position (default: the standard one); validated with
            python-chess, including ``Board.is_valid()``.
        history: ``T``, the number of positions in the observation, 1..``MAX_HISTORY`` (32).
        max_plies: plies after which the game is adjudicated a draw, 1..``MAX_PLIES``
            (11,897: no longer game is possible under the automatic fifty-move rule);
            it is also ``max_game_length``.
        adjudicate: True (self-play, matches): zeroplay ends the game at threefold
            repetition, fifty moves, insufficient material and the ply cap. False (an
            engine following a GUI's game): only checkmate and stalemate end it; the
            game can then go on without end, so it is not for records (its
            ``max_game_length`` stays ``max_plies``, the bound decoders use) and
            ``max_plies`` only scales the ply plane of the observation.

    Raises:
        InvalidFenError: a malformed or impossible FEN (the message names it).
        GameError: a bad ``history``, ``max_plies`` or ``adjudicate``.
    """

    name = "chess"
    num_actions = NUM_ACTIONS
    num_symmetries = 1
    player_names = ("White", "Black")
    notation_hint = "e2e4 or Nf3"
    record_format = "pgn"

    def __init__(
        self, fen: str | None = None, history: int = 8, max_plies: int = 512, adjudicate: bool = True
    ) -> None:
        if isinstance(history, bool) or not isinstance(history, int) or not 1 <= history <= MAX_HISTORY:
            raise GameError(f"chess history must be an integer 1..{MAX_HISTORY}, got {history!r}")
        if isinstance(max_plies, bool) or not isinstance(max_plies, int) or not 1 <= max_plies <= MAX_PLIES:
            raise GameError(f"chess max_plies must be an integer 1..{MAX_PLIES}, got {max_plies!r}")
        if not isinstance(adjudicate, bool):
            raise GameError(f"chess adjudicate must be true or false, got {adjudicate!r}")
        if fen is None:
            board = chess.Board()
        else:
            if not isinstance(fen, str):
                raise InvalidFenError(f"FEN must be a string, got {fen!r}")
            try:
                board = chess.Board(fen)
            except ValueError as err:
                raise InvalidFenError(f"invalid FEN {fen!r}: {err}") from None
            if not board.is_valid():
                problems = [
                    name[len("STATUS_"):].lower().replace("_", " ")
                    for name in dir(chess)
                    if name.startswith("STATUS_") and name != "STATUS_VALID"
                    and board.status() & getattr(chess, name)
                ]
                raise InvalidFenError(f"impossible position in FEN {fen!r}: {', '.join(problems)}")
        self._board = board
        self.fen = board.fen()
        self.history = history
        self.max_plies = max_plies
        self.adjudicate = adjudicate
        self.max_game_length = max_plies
        self.observation_shape = (14 * history + 7, 8, 8)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"fen": self.fen, "history": self.history, "max_plies": self.max_plies}
        if not self.adjudicate:  # only when off, so the specs of every recorded game stay as they were
            options["adjudicate"] = False
        return options

    def initial_state(self) -> ChessState:
        board = self._board.copy(stack=False)
        key = board._transposition_key()
        return ChessState(self, board, 0, (key,), 0, ())


class ChessState(State):
    """A chess position: a python-chess ``Board`` without move stack, the ply count since
    the game's start, the transposition keys since the last irreversible move (for
    repetitions) and compact snapshots of up to ``T - 1`` earlier positions."""

    __slots__ = (
        "game", "_board", "_ply", "_keys", "_rep", "_prev",
        "_status", "_moves", "_actions", "_mask",
    )

    def __init__(self, game: Chess, board: chess.Board, ply: int, keys: tuple, rep: int, prev: tuple) -> None:
        self.game = game
        self._board = board  # never mutated after construction
        self._ply = ply
        self._keys = keys  # transposition keys since the last zeroing move, current last
        self._rep = rep  # earlier occurrences of the current position
        self._prev = prev  # snapshots (8 bitboards + rep) of earlier positions, latest first
        self._status: str | None = None
        self._moves: list[chess.Move] | None = None
        self._actions: list[int] | None = None
        self._mask: np.ndarray | None = None

    # ----------------------------------------------------------------- basics
    @property
    def to_play(self) -> int:
        return 0 if self._board.turn else 1

    @property
    def ply(self) -> int:
        """Plies played since this game's start."""
        return self._ply

    @property
    def board(self) -> chess.Board:
        """A copy of the python-chess board (without move stack)."""
        return self._board.copy(stack=False)

    def fen(self) -> str:
        return self._board.fen()

    def repetitions(self) -> int:
        """How many times this position occurred before (since the last irreversible move)."""
        return self._rep

    # ----------------------------------------------------------- termination
    def _compute(self) -> str:
        board = self._board
        moves = None
        if not self.game.adjudicate:
            moves = list(board.generate_legal_moves())
            status = _NOT_OVER if moves else "checkmate" if board.is_check() else "stalemate"
        elif self._rep >= 2:
            status = "threefold"
        elif board.is_insufficient_material():
            status = "insufficient-material"
        else:
            moves = list(board.generate_legal_moves())
            if not moves:
                status = "checkmate" if board.is_check() else "stalemate"
            elif board.halfmove_clock >= 100:
                status = "fifty-move"
            elif self._ply >= self.game.max_plies:
                status = "ply-cap"
            else:
                status = _NOT_OVER
        if status:
            moves = []
        self._moves = moves
        self._status = status
        return status

    def termination(self) -> str | None:
        """Why the game ended: "checkmate", "stalemate", "threefold", "fifty-move",
        "insufficient-material", "ply-cap"; None while it goes on."""
        status = self._status
        if status is None:
            status = self._compute()
        return status or None

    def is_terminal(self) -> bool:
        status = self._status
        if status is None:
            status = self._compute()
        return bool(status)

    def returns(self) -> tuple[float, float]:
        self._require_terminal()
        if self._status == "checkmate":
            return (-1.0, 1.0) if self._board.turn else (1.0, -1.0)
        return (0.0, 0.0)

    def winner(self) -> int | None:
        """0 or 1 for a decisive finished game, else None."""
        if self.is_terminal() and self._status == "checkmate":
            return 1 if self._board.turn else 0
        return None

    # ----------------------------------------------------------------- moves
    def legal_moves(self) -> list[chess.Move]:
        """The legal ``chess.Move``s (empty when terminal), in python-chess's order."""
        return [self.move(a) for a in self._legal_actions_unsorted()]

    def _legal_actions_unsorted(self) -> list[int]:
        actions = self._actions
        if actions is None:
            if self._status is None:
                self._compute()
            enc = _ENC[self._board.turn]
            actions = [
                enc[m.from_square << 6 | m.to_square]
                if m.promotion is None or m.promotion == 5  # chess.QUEEN
                else encode_move(m, self._board.turn)
                for m in self._moves
            ]
            self._actions = actions
            self._moves = None  # the actions say it all; fewer objects for the GC
        return actions

    def legal_mask(self) -> np.ndarray:
        mask = self._mask
        if mask is None:
            mask = np.zeros(NUM_ACTIONS, dtype=bool)
            actions = self._legal_actions_unsorted()
            if actions:
                mask[actions] = True
            mask.setflags(write=False)
            self._mask = mask
        return mask

    def legal_actions(self) -> list[int]:
        return sorted(self._legal_actions_unsorted())

    def move(self, action: int) -> chess.Move:
        """The ``chess.Move`` that ``action`` names here (legality not checked).

        Raises:
            NotationError: the action is out of range or names no move on the board.
        """
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)) \
                or not 0 <= action < NUM_ACTIONS:
            raise NotationError(f"chess action {action!r} out of range 0..{NUM_ACTIONS - 1}")
        turn = self._board.turn
        action = int(action)
        move = _DEC[turn][action]
        if move is None:
            raise NotationError(f"chess action {action} names no move on the board")
        qmove = _QDEC[turn][action]
        board = self._board
        if qmove is not None and (board.pawns & board.occupied_co[turn]) >> qmove.from_square & 1:
            return qmove
        return move

    def apply_unchecked(self, action: int) -> ChessState:
        board = self._board
        turn = board.turn
        move = _DEC[turn][action]
        if move is None:
            raise IllegalMoveError(f"chess action {action} names no move on the board")
        qmove = _QDEC[turn][action]
        if qmove is not None and board.pawns >> qmove.from_square & 1:
            move = qmove
        new = board.copy(stack=False)
        new.push(move)
        new.move_stack.clear()
        new._stack.clear()
        key = new._transposition_key()
        if new.halfmove_clock == 0:
            keys = (key,)
            rep = 0
        else:
            keys = self._keys
            rep = keys.count(key)
            keys = keys + (key,)
        n_prev = self.game.history - 1
        if n_prev:
            prev = (self._keys[-1][:8] + (self._rep,),) + self._prev[: n_prev - 1]
        else:
            prev = ()
        return ChessState(self.game, new, self._ply + 1, keys, rep, prev)

    # ----------------------------------------------------------- observation
    def observation(self) -> np.ndarray:
        game = self.game
        history = game.history
        board = self._board
        turn = board.turn
        snaps = [self._keys[-1][:8] + (self._rep,)]
        snaps.extend(self._prev)
        n = len(snaps)
        arr = np.array(snaps, dtype=np.uint64)  # [n, 9]
        pieces = arr[:, :6]
        mover_occ = arr[:, 6 if turn else 7, None]  # key order: white, black
        opp_occ = arr[:, 7 if turn else 6, None]
        bbs = np.empty((n, 12), dtype=np.uint64)
        np.bitwise_and(pieces, mover_occ, out=bbs[:, :6])
        np.bitwise_and(pieces, opp_occ, out=bbs[:, 6:])
        bits = np.unpackbits(bbs.view(np.uint8), bitorder="little").reshape(n, 12, 8, 8)
        if not turn:
            bits = bits[:, :, ::-1, :]
        obs = np.zeros(game.observation_shape, dtype=np.float32)
        steps = obs[: 14 * n].reshape(n, 14, 8, 8)
        steps[:, :12] = bits
        for i, snap in enumerate(snaps):
            rep = snap[8]
            if rep:
                obs[14 * i + 12] = 1.0
                if rep >= 2:
                    obs[14 * i + 13] = 1.0
        c = 14 * history
        if turn:
            obs[c] = 1.0
        obs[c + 1] = min(self._ply / game.max_plies, 1.0)
        # castling_rights holds the rook squares; always clean here (valid FEN, push() keeps it so)
        rights = board.castling_rights
        k_me, q_me, k_opp, q_opp = (
            (chess.BB_H1, chess.BB_A1, chess.BB_H8, chess.BB_A8) if turn
            else (chess.BB_H8, chess.BB_A8, chess.BB_H1, chess.BB_A1)
        )
        if rights & k_me:
            obs[c + 2] = 1.0
        if rights & q_me:
            obs[c + 3] = 1.0
        if rights & k_opp:
            obs[c + 4] = 1.0
        if rights & q_opp:
            obs[c + 5] = 1.0
        obs[c + 6] = min(board.halfmove_clock / 100.0, 1.0)
        return obs

    # ------------------------------------------------------------------ text
    def action_to_text(self, action: int) -> str:
        """UCI text of ``action`` (``e2e4``, ``e7e8q``, ``e1g1``); legality not checked.

        Raises:
            NotationError: the action is out of range or names no move on the board.
        """
        return self.move(action).uci()

    def move_text(self, action: int) -> str:
        return self.san(action)

    def end_description(self) -> str:
        self._require_terminal()
        return str(self.termination())

    def san(self, action: int) -> str:
        """SAN of a legal ``action`` here (``Nf3``, ``O-O``, ``e8=Q+``).

        Raises:
            IllegalMoveError: the action is not legal here.
        """
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)) \
                or not 0 <= action < NUM_ACTIONS or not self.legal_mask()[action]:
            raise IllegalMoveError(f"action {action!r} is not legal in {self.fen()}")
        return self._board.san(self.move(int(action)))

    def parse_san(self, text: str) -> int:
        """The action of a SAN move (``Nf3``, ``O-O``, ``exd5``, ``e8=Q``).

        Raises:
            NotationError: unparseable SAN (:class:`IllegalNotationError`, also an
                ``IllegalMoveError``, when it is well-formed but names no legal move).
        """
        if not isinstance(text, str):
            raise NotationError(f"chess move must be text, got {text!r}")
        try:
            move = self._board.parse_san(text.strip())
        except chess.InvalidMoveError:
            raise NotationError(f"{text!r} is not a chess move (UCI or SAN) in position {self.fen()}") from None
        except chess.AmbiguousMoveError:
            raise IllegalNotationError(f"ambiguous SAN {text!r} in position {self.fen()}") from None
        except (chess.IllegalMoveError, ValueError):
            raise IllegalNotationError(f"illegal move {text!r} in position {self.fen()}") from None
        action = encode_move(move, self._board.turn) if move else -1
        if action < 0:  # the null move "--" / "0000"
            raise NotationError(f"{text!r} is not a chess move in position {self.fen()}")
        return action

    def parse_action(self, text: str) -> int:
        """The action named by UCI (``e2e4``, ``e7e8q``, ``e1g1``) or SAN (``Nf3``, ``O-O``).

        A well-formed, encodable UCI move is returned even if illegal (``apply`` then
        raises ``IllegalMoveError``).

        Raises:
            NotationError: text that is neither; UCI that no action encodes; SAN naming no
                legal move (then an :class:`IllegalNotationError`).
        """
        if not isinstance(text, str):
            raise NotationError(f"chess move must be text, got {text!r}")
        t = text.strip()
        m = _UCI_RE.match(t)
        if m is None:
            return self.parse_san(t)
        board = self._board
        try:
            move = chess.Move.from_uci(t)  # castling is the king's move e1g1, never e1h1
        except ValueError:
            raise NotationError(f"{text!r} is not a chess move in position {self.fen()}") from None
        if move.promotion is None and (board.pawns & board.occupied_co[board.turn]) >> move.from_square & 1:
            rel_to = move.to_square if board.turn else move.to_square ^ 56
            if rel_to >> 3 == 7:
                raise NotationError(f"UCI move {text!r} needs a promotion piece in position {self.fen()}")
        action = encode_move(move, board.turn)
        if action < 0:
            raise NotationError(f"UCI move {text!r} is not a chess move in position {self.fen()}")
        if move.promotion == chess.QUEEN and not (board.pawns & board.occupied_co[board.turn]) >> move.from_square & 1:
            raise NotationError(f"UCI move {text!r}: no pawn to promote in position {self.fen()}")
        return action

    # ------------------------------------------------------------------ misc
    def __getstate__(self) -> tuple:  # pickle without the caches
        return (self.game, self._board, self._ply, self._keys, self._rep, self._prev)

    def __setstate__(self, state: tuple) -> None:
        ChessState.__init__(self, *state)

    def __str__(self) -> str:
        rows = str(self._board).split("\n")
        lines = [f"{8 - i} {row}" for i, row in enumerate(rows)]
        lines.append("  a b c d e f g h")
        lines.append(f"FEN: {self._board.fen()}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ChessState ply={self._ply} fen={self._board.fen()!r}>"

    def _identity(self) -> tuple:
        return (self._keys, self._board.halfmove_clock, self._board.fullmove_number, self._ply, self._prev)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ChessState)
            and self.game == other.game
            and self._identity() == other._identity()
        )

    def __hash__(self) -> int:
        return hash((self._keys[-1], self._ply))


__all__ = [
    "Chess",
    "ChessState",
    "IllegalNotationError",
    "InvalidFenError",
    "NUM_ACTIONS",
    "STANDARD_FEN",
    "encode_move",
]
