"""Chess rules, action encoding, observation and notation (games/chess.py)."""

from __future__ import annotations

import random

import chess  # python-chess, the reference
import numpy as np
import pytest

import games
from games.base import GameError, IllegalMoveError, NotationError
from games.chess import (
    NUM_ACTIONS,
    STANDARD_FEN,
    Chess,
    IllegalNotationError,
    InvalidFenError,
    encode_move,
)


def play(state, *moves):
    for move in moves:
        state = state.apply(state.parse_action(move))
    return state


def start(fen=None, **kw):
    return Chess(fen, **kw).initial_state()


def legal_uci(state):
    return sorted(state.action_to_text(a) for a in state.legal_actions())


# ------------------------------------------------------------------ the game
def test_make_and_options():
    game = games.make("chess")
    assert game.num_actions == NUM_ACTIONS == 4672
    assert game.observation_shape == (119, 8, 8)
    assert game.num_symmetries == 1
    assert game.options() == {"fen": STANDARD_FEN, "history": 8, "max_plies": 512}
    assert games.from_spec(game.spec()) == game
    assert Chess(history=2).observation_shape == (35, 8, 8)
    with pytest.raises(GameError):
        Chess(history=0)
    with pytest.raises(GameError):
        Chess(max_plies=0)


@pytest.mark.parametrize(
    "options, bound",
    [
        ({"history": 1_000_000_000}, "32"),
        ({"history": 33}, "32"),
        ({"max_plies": 11_898}, "11897"),
        ({"max_plies": 2**70}, "11897"),
    ],
)
def test_size_like_options_are_bounded(options, bound):
    with pytest.raises(GameError) as err:
        games.from_spec({"name": "chess", **options})
    (option, value), = options.items()
    assert option in str(err.value) and bound in str(err.value) and repr(value) in str(err.value)
    assert Chess(history=32, max_plies=11_897).max_game_length == 11_897


def test_start_position():
    s = start()
    assert s.to_play == 0
    assert len(s.legal_actions()) == 20
    assert not s.is_terminal() and s.termination() is None
    with pytest.raises(GameError):
        s.returns()
    mask = s.legal_mask()
    assert mask.dtype == bool and mask.shape == (NUM_ACTIONS,) and mask.sum() == 20
    with pytest.raises(ValueError):
        mask[0] = True  # cached, read-only


def test_black_to_move_fen_start():
    s = start("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1")
    assert s.to_play == 1
    assert s.apply(s.parse_action("e7e5")).to_play == 0


def test_states_are_immutable():
    s = start()
    fen = s.fen()
    t = s.apply(s.parse_action("e4"))
    assert s.fen() == fen and t.fen() != fen
    assert t.ply == 1 and s.ply == 0


def test_bad_fen():
    for fen in ("not a fen", "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1"):
        with pytest.raises(InvalidFenError, match="FEN"):
            Chess(fen)
    with pytest.raises(GameError, match="no white king"):
        Chess("4k3/8/8/8/8/8/8/8 w - - 0 1")
    # the side not to move is in check
    assert Chess("4k3/8/8/8/8/8/8/4RK2 b - - 0 1").initial_state().to_play == 1
    with pytest.raises(InvalidFenError, match="4k3/8/8/8/8/8/8/4RK2 w .*opposite check"):
        Chess("4k3/8/8/8/8/8/8/4RK2 w - - 0 1")
    assert issubclass(InvalidFenError, GameError)


# ----------------------------------------------------------------- castling
def test_castling_through_check_is_illegal():
    s = start("4kr2/8/8/8/8/8/8/R3K2R w KQ - 0 1")  # rook attacks f1
    moves = legal_uci(s)
    assert "e1g1" not in moves and "e1c1" in moves
    with pytest.raises(IllegalMoveError):
        s.apply(s.parse_action("e1g1"))
    with pytest.raises(NotationError):
        s.parse_action("O-O")
    assert s.action_to_text(s.parse_action("O-O-O")) == "e1c1"


def test_castling_out_of_check_illegal():
    s = start("4r1k1/8/8/8/8/8/8/R3K2R w KQ - 0 1")  # rook gives check on the e-file
    moves = legal_uci(s)
    assert "e1g1" not in moves and "e1c1" not in moves
    assert "e1f1" in moves


def test_castling_rights_lost_after_rook_moves():
    s = start("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    c = 14 * 8
    assert s.observation()[c + 2 : c + 6].min() == 1.0
    s = play(s, "h1h2", "a8a7", "h2h1", "a7a8")
    moves = legal_uci(s)
    assert "e1g1" not in moves and "e1c1" in moves
    obs = s.observation()
    assert obs[c + 2].max() == 0 and obs[c + 3].min() == 1  # white: no K-side, Q-side kept
    assert obs[c + 4].min() == 1 and obs[c + 5].max() == 0  # black: K-side kept, no Q-side
    s = play(s, "e1c1")  # O-O-O
    assert s.fen().startswith("r3k2r/8/8/8/8/8/8/2KR3R b k ")


def test_castling_encoding_is_the_kings_two_square_move():
    s = start("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    short = s.parse_action("O-O")
    assert short == s.parse_action("e1g1") != s.parse_action("e1h1")  # not the king-takes-rook form
    assert s.action_to_text(short) == "e1g1"
    assert short == 4 * 73 + 2 * 7 + 1  # from e1, direction E, distance 2
    b = play(s, "a1b1")
    assert b.parse_action("O-O") == short and b.action_to_text(short) == "e8g8"


# --------------------------------------------------------------- en passant
def test_en_passant():
    s = start("4k3/8/8/8/4p3/8/3P4/4K3 w - - 0 1")
    s = play(s, "d2d4")
    assert "e4d3" in legal_uci(s)
    assert s.parse_action("exd3") == s.parse_action("e4d3")
    t = play(s, "exd3")
    assert t._board.piece_at(chess.D4) is None
    assert t._board.piece_at(chess.D3) == chess.Piece(chess.PAWN, chess.BLACK)


def test_en_passant_only_immediately():
    s = play(start("4k3/8/8/8/4p3/8/3P4/4K3 w - - 0 1"), "d2d4", "e8d8", "e1f1")
    assert "e4d3" not in legal_uci(s)
    with pytest.raises(IllegalMoveError):
        s.apply(s.parse_action("e4d3"))


# -------------------------------------------------------------- promotions
def test_underpromotion():
    s = start("r1n5/1P6/8/8/8/7K/8/1k6 w - - 0 1")
    b7 = 49
    expected = {  # uci: (san, action)
        "b7b8n": ("b8=N", b7 * 73 + 64 + 0 * 3 + 1),
        "b7a8b": ("bxa8=B", b7 * 73 + 64 + 1 * 3 + 0),
        "b7c8r": ("bxc8=R", b7 * 73 + 64 + 2 * 3 + 2),
        "b7b8r": ("b8=R", b7 * 73 + 64 + 2 * 3 + 1),
        "b7a8n": ("bxa8=N", b7 * 73 + 64 + 0 * 3 + 0),
    }
    for uci, (san, action) in expected.items():
        assert s.parse_action(uci) == action
        assert s.parse_action(san) == action
        assert s.action_to_text(action) == uci
        assert s.san(action).rstrip("+#") == san
        assert s.legal_mask()[action]
    assert play(s, "b7b8n")._board.piece_at(chess.B8) == chess.Piece(chess.KNIGHT, chess.WHITE)
    # Black's mirror image uses the same actions
    m = start("1K6/8/7k/8/8/8/1p6/R1N5 b - - 0 1")
    assert m.parse_action("b2b1n") == expected["b7b8n"][1]
    assert m.parse_action("bxc1=R") == expected["b7c8r"][1]
    assert m.action_to_text(expected["b7a8b"][1]) == "b2a1b"


def test_queen_promotion_is_queen_like_move():
    s = start("r1n5/1P6/8/8/8/7K/8/1k6 w - - 0 1")
    b7 = 49
    push, left, right = b7 * 73 + 0 * 7 + 0, b7 * 73 + 7 * 7 + 0, b7 * 73 + 1 * 7 + 0  # N, NW, NE by 1
    assert s.parse_action("b7b8q") == s.parse_action("b8=Q") == push
    assert s.parse_action("bxa8=Q") == left and s.parse_action("bxc8=Q") == right
    assert [s.action_to_text(a) for a in (push, left, right)] == ["b7b8q", "b7a8q", "b7c8q"]
    assert play(s, "b8=Q")._board.piece_at(chess.B8) == chess.Piece(chess.QUEEN, chess.WHITE)
    with pytest.raises(NotationError):
        s.parse_action("b7b8")  # a pawn reaching the last rank must name its piece
    # the same action moves a non-pawn without promotion
    r = start("8/1R6/8/8/8/8/6k1/K7 w - - 0 1")
    assert r.action_to_text(push) == "b7b8"
    with pytest.raises(NotationError):
        r.parse_action("b7b8q")


# ----------------------------------------------------------------- draws
def test_threefold_repetition_draw():
    shuffle = ["Nf3", "Nf6", "Ng1", "Ng8"]
    s = play(start(), *shuffle)
    assert not s.is_terminal() and s.repetitions() == 1
    obs = s.observation()
    assert obs[12].min() == 1 and obs[13].max() == 0  # seen once before
    s = play(s, *shuffle[:3])
    assert not s.is_terminal()
    s = play(s, shuffle[3])
    assert s.is_terminal() and s.termination() == "threefold"
    assert s.returns() == (0.0, 0.0)
    assert not s.legal_mask().any() and s.legal_actions() == []
    with pytest.raises(IllegalMoveError):
        s.apply(0)


def test_repetition_needs_same_castling_rights():
    # King moves lose castling rights, so earlier positions with rights do not count.
    s = play(start(), "e4", "e5", "Ke2", "Ke7", "Ke1", "Ke8")
    assert s.repetitions() == 0
    s = play(s, "Ke2", "Ke7")
    assert s.repetitions() == 1
    s = play(s, "Ke1", "Ke8", "Ke2")
    assert not s.is_terminal()
    s = play(s, "Ke7")
    assert s.termination() == "threefold"


def test_fifty_move_rule_draw():
    s = start("4k3/8/8/8/8/8/8/R3K3 w - - 98 80")
    s = play(s, "Ra2")
    assert not s.is_terminal()
    s = play(s, "Kd8")
    assert s.termination() == "fifty-move" and s.returns() == (0.0, 0.0)
    # a capture or pawn move resets the clock
    t = play(start("4k3/8/8/8/8/8/P7/R3K3 w - - 99 80"), "a3")
    assert not t.is_terminal() and t._board.halfmove_clock == 0


def test_checkmate_on_fiftieth_move_is_a_win():
    s = play(start("6k1/5ppp/8/8/8/8/8/R5K1 w - - 99 80"), "Ra8#")
    assert s._board.halfmove_clock == 100
    assert s.termination() == "checkmate"
    assert s.returns() == (1.0, -1.0)


def test_checkmate_fools_mate():
    s = play(start(), "f3", "e5", "g4", "Qh4#")
    assert s.termination() == "checkmate" and s.returns() == (-1.0, 1.0) and s.winner() == 1


def test_stalemate():
    s = play(start("7k/8/6K1/8/8/8/8/5Q2 w - - 0 1"), "Qf7")
    assert s.termination() == "stalemate" and s.returns() == (0.0, 0.0)
    assert start("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1").termination() == "stalemate"


def test_insufficient_material():
    assert start("8/8/8/4k3/8/8/8/4K1N1 w - - 0 1").termination() == "insufficient-material"
    assert start("8/8/8/4k3/8/8/8/4KB2 b - - 0 1").termination() == "insufficient-material"
    s = start("8/8/8/4k3/8/8/5r2/4K3 w - - 0 1")
    assert not s.is_terminal()
    s = play(s, "Kxf2")
    assert s.termination() == "insufficient-material" and s.returns() == (0.0, 0.0)
    assert not start("8/8/8/4k3/8/8/8/4K1R1 w - - 0 1").is_terminal()


def test_ply_cap_draw():
    s = play(start(max_plies=4), "Nf3", "Nf6", "Ng1")
    assert not s.is_terminal()
    s = play(s, "Ng8")
    assert s.termination() == "ply-cap" and s.returns() == (0.0, 0.0)
    # a mate on the last ply still wins
    m = play(start(max_plies=4), "f3", "e5", "g4", "Qh4")
    assert m.termination() == "checkmate" and m.returns() == (-1.0, 1.0)
    # counted from this game's start, not from the FEN's move number
    f = start("4k3/8/8/8/8/8/8/R3K3 w - - 0 70", max_plies=2)
    assert play(f, "Ra2", "Kd8").termination() == "ply-cap"


# ------------------------------------------------------------ the encoding
def _random_states(n_games, seed, max_plies=300):
    rng = random.Random(seed)
    game = Chess(max_plies=max_plies)
    for _ in range(n_games):
        s = game.initial_state()
        while not s.is_terminal():
            yield s
            s = s.apply_unchecked(rng.choice(s.legal_actions()))


# positions rich in promotions, castling and en passant
_SPECIAL_FENS = [
    "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
    "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1",
    "r2q1rk1/pP1p2pp/Q4n2/bbp1p3/Np6/1B3NBn/pPPP1PPP/R3K2R b KQ - 0 1",
    "n1n5/PPPk4/8/8/8/8/4Kppp/5N1N b - - 0 1",
    "n1n5/PPPk4/8/8/8/8/4Kppp/5N1N w - - 0 1",
    "rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3",
]


@pytest.mark.slow
def test_action_round_trip_for_every_legal_move():
    states = list(_random_states(6, seed=0))
    states += [start(fen) for fen in _SPECIAL_FENS]
    seen_promotions = seen_castles = seen_ep = 0
    for i, s in enumerate(states):
        board = s._board
        actions = s.legal_actions()
        assert len(set(actions)) == len(actions) == board.legal_moves.count()
        for move in board.legal_moves:
            a = encode_move(move, board.turn)
            assert 0 <= a < NUM_ACTIONS and s.legal_mask()[a]
            assert s.move(a) == move
            uci = move.uci()
            assert s.action_to_text(a) == uci
            assert s.parse_action(uci) == a
            if i % 4 == 0 or i >= len(states) - len(_SPECIAL_FENS):
                assert s.parse_action(board.san(move)) == a
            seen_promotions += move.promotion is not None
            seen_castles += board.is_castling(move)
            seen_ep += board.is_en_passant(move)
        assert sorted(encode_move(m, board.turn) for m in board.legal_moves) == actions
    assert seen_promotions and seen_castles and seen_ep


def test_action_encoding_is_colour_relative():
    e2e4 = start().parse_action("e2e4")
    assert e2e4 == 12 * 73 + 0 * 7 + 1  # from e2 (12), N by 2
    black = start("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1")
    assert black.parse_action("e7e5") == e2e4 and black.action_to_text(e2e4) == "e7e5"
    assert start().parse_action("Nf3") == black.parse_action("Nf6")
    # mirrored positions (colours swapped, board flipped) have identical actions and planes
    c = 14 * 8
    for s in list(_random_states(2, seed=3))[::7]:
        if s._board.ep_square is not None:
            continue
        m = start(s._board.mirror().fen())
        assert m.to_play == 1 - s.to_play
        assert m.legal_actions() == s.legal_actions()
        for a in s.legal_actions():
            assert m.san(a) == s.san(a) or m.san(a)[0] == s.san(a)[0]
        o, om = s.observation(), m.observation()
        np.testing.assert_array_equal(o[:12], om[:12])
        np.testing.assert_array_equal(o[c + 2 : c + 7], om[c + 2 : c + 7])
        assert o[c].max() != om[c].max()  # the colour plane


def test_every_action_has_text_or_names_no_move():
    s = start("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    texts = 0
    for a in range(NUM_ACTIONS):
        try:
            text = s.action_to_text(a)
        except NotationError:
            continue
        texts += 1
        assert s.parse_action(text) == a
    assert texts > 1800
    with pytest.raises(NotationError):
        s.action_to_text(NUM_ACTIONS)
    with pytest.raises(NotationError):
        s.action_to_text(0 * 73 + 4 * 7)  # a1 moving south


# ------------------------------------------------------------------- perft
PERFT = [
    (STANDARD_FEN, (20, 400, 8902)),
    ("r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", (48, 2039)),
    ("8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", (14, 191, 2812)),
    ("r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1", (6, 264, 9467)),
    ("r2q1rk1/pP1p2pp/Q4n2/bbp1p3/Np6/1B3NBn/pPPP1PPP/R3K2R b KQ - 0 1", (6, 264, 9467)),
    ("rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", (44, 1486)),
    ("r4rk1/1pp1qppp/p1np1n2/2b1p1B1/2B1P1b1/P1NP1N2/1PP1QPPP/R4RK1 w - - 0 10", (46, 2079)),
]


def perft(state, depth):
    if depth == 1:
        return len(state.legal_actions())
    return sum(perft(state.apply_unchecked(a), depth - 1) for a in state.legal_actions())


@pytest.mark.parametrize("fen,counts", PERFT, ids=[f"perft{i}" for i in range(len(PERFT))])
def test_perft(fen, counts):
    s = start(fen, max_plies=1000)
    assert [perft(s, d) for d in range(1, len(counts) + 1)] == list(counts)


# --------------------------------------------------------------- notation
def test_san_parsing():
    s = start()
    assert s.action_to_text(s.parse_action("Nf3")) == "g1f3"
    assert s.action_to_text(s.parse_action(" e4 ")) == "e2e4"
    s = play(s, "e4", "d5")
    assert s.action_to_text(s.parse_action("exd5")) == "e4d5"
    assert s.san(s.parse_action("e4d5")) == "exd5"
    c = start("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    assert c.parse_action("O-O") == c.parse_action("0-0") == c.parse_action("e1g1")
    assert c.san(c.parse_action("e1c1")) == "O-O-O"
    p = start("8/4P3/8/8/8/8/6k1/K7 w - - 0 1")
    assert p.action_to_text(p.parse_action("e8=Q")) == "e7e8q"
    assert p.action_to_text(p.parse_action("e8Q")) == "e7e8q"
    assert p.san(p.parse_action("e7e8q")) == "e8=Q"


def test_bad_notation():
    s = start()
    for text in ("Zz9", "", "e9e4", "hello", "0000", "--", "e2e4e5", "a1a1", "a7a8q", "h2h1n"):
        with pytest.raises(NotationError, match="rnbqkbnr/pppppppp"):
            s.parse_action(text)
    # well-formed SAN that names no legal move: a NotationError that is also an IllegalMoveError
    with pytest.raises(IllegalNotationError) as info:
        s.parse_action("Nf6")
    assert isinstance(info.value, NotationError) and isinstance(info.value, IllegalMoveError)
    # well-formed, encodable, illegal UCI: parsed; apply refuses it
    a = s.parse_action("e2e5")
    with pytest.raises(IllegalMoveError, match="e2e5"):
        s.apply(a)
    with pytest.raises(IllegalMoveError):
        s.apply_text("e2e5")
    with pytest.raises(NotationError):
        s.parse_action("a1h3")  # no action moves like that
    with pytest.raises(IllegalMoveError):
        s.san(a)
    with pytest.raises(NotationError):
        s.parse_action(42)  # type: ignore[arg-type]


def test_str_shows_board_coordinates_and_fen():
    text = str(start())
    lines = text.splitlines()
    assert lines[0] == "8 r n b q k b n r"
    assert lines[7] == "1 R N B Q K B N R"
    assert lines[8] == "  a b c d e f g h"
    assert STANDARD_FEN in text


# ------------------------------------------------------------ observation
def test_observation_layout():
    s = start()
    obs = s.observation()
    assert obs.shape == (119, 8, 8) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs[0][1], np.ones(8))  # my pawns on my 2nd rank (row 1)
    np.testing.assert_array_equal(obs[6][6], np.ones(8))  # opponent pawns on row 6
    assert obs[5][0, 4] == 1 and obs[11][7, 4] == 1  # kings on e1 / e8
    assert obs[14:112].max() == 0  # no history before the start
    c = 112
    assert obs[c].min() == 1 and obs[c + 1].max() == 0 and obs[c + 2 : c + 6].min() == 1
    assert obs[c + 6].max() == 0

    t = play(s, "e4")  # Black to move: board flipped, Black is "mine"
    o = t.observation()
    np.testing.assert_array_equal(o[0][1], np.ones(8))  # black pawns on rank 7 = my row 1
    assert o[6][6].sum() == 7 and o[6][4, 4] == 1  # white e-pawn on e4 = row 4 from Black's side
    assert o[5][0, 4] == 1 and o[11][7, 4] == 1
    # history step 1 = the start position, seen from Black
    np.testing.assert_array_equal(o[14 + 6][6], np.ones(8))
    np.testing.assert_array_equal(o[14 + 0][1], np.ones(8))
    assert o[28:112].max() == 0
    assert o[c].max() == 0 and o[c + 1].min() == pytest.approx(1 / 512)

    h = play(start(history=2), "Nf3", "Nf6", "Ng1", "Ng8", "e4")
    oh = h.observation()
    assert oh.shape == (35, 8, 8)
    assert oh[13].max() == 0 and oh[12].max() == 0  # current position: new
    assert oh[14 + 12].min() == 1 and oh[14 + 13].max() == 0  # previous: the start, seen once before
    assert oh[28 + 6].max() == pytest.approx(0.0)  # e4 zeroed the clock


def test_observation_matches_board_history():
    rng = random.Random(7)
    game = Chess(history=3)
    states = [game.initial_state()]
    while len(states) < 60:
        s = states[-1]
        states.append(s.apply_unchecked(rng.choice(s.legal_actions())))
    for k in (0, 1, 2, 25, 40, 59):
        s = states[k]
        obs = s.observation()
        me = s._board.turn
        for t in range(3):
            planes = obs[14 * t : 14 * t + 14]
            if k - t < 0:
                assert planes.max() == 0
                continue
            board = states[k - t]._board
            for j, piece in enumerate(range(1, 7)):
                for side, colour in ((0, me), (1, not me)):
                    expected = np.zeros((8, 8), np.float32)
                    for sq in board.pieces(piece, colour):
                        rank = chess.square_rank(sq)
                        expected[rank if me else 7 - rank, chess.square_file(sq)] = 1
                    np.testing.assert_array_equal(planes[6 * side + j], expected)
        assert obs[42 + 1].max() == pytest.approx(k / 512)
        assert obs[42 + 6].max() == pytest.approx(s._board.halfmove_clock / 100)


def test_random_play_terminates_consistently():
    reasons = set()
    for s in _random_states(3, seed=11, max_plies=200):
        assert s.observation().shape == (119, 8, 8)
    game = Chess(max_plies=200)
    rng = random.Random(5)
    for _ in range(10):
        s = game.initial_state()
        while not s.is_terminal():
            s = s.apply(rng.choice(s.legal_actions()))
        reasons.add(s.termination())
        assert sum(s.returns()) == 0
    assert reasons <= {"checkmate", "stalemate", "threefold", "fifty-move", "insufficient-material", "ply-cap"}


def test_without_adjudication_only_mate_and_stalemate_end_the_game():
    """``adjudicate=False`` (engines following a GUI): claims and the ply cap are the GUI's to decide."""
    shuffle = ["Nf3", "Nf6", "Ng1", "Ng8"]
    s = play(start(adjudicate=False, max_plies=8), "e4", "e5", *shuffle * 25)  # 102 plies, clock 100, fivefold
    assert not s.is_terminal() and s.termination() is None and s.repetitions() == 25
    assert s.board.halfmove_clock == 100 and len(s.legal_actions()) == s.board.legal_moves.count()
    obs = s.observation()
    assert obs[14 * 8 + 1].max() == 1.0 and obs[14 * 8 + 6].max() == 1.0  # ply and clock planes clipped at 1
    assert play(s, "Nf3").to_play == 1
    assert not start("8/8/8/4k3/8/8/8/4K1N1 w - - 0 1", adjudicate=False).is_terminal()
    mate = play(start(adjudicate=False), "f3", "e5", "g4", "Qh4")
    assert mate.termination() == "checkmate" and mate.returns() == (-1.0, 1.0)
    stalemate = start("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1", adjudicate=False)
    assert stalemate.termination() == "stalemate"
    game = Chess(adjudicate=False)
    assert game.options()["adjudicate"] is False and games.from_spec(game.spec()) == game
    assert "adjudicate" not in Chess().options() and Chess() != game
    with pytest.raises(GameError, match="adjudicate"):
        Chess(adjudicate="no")
