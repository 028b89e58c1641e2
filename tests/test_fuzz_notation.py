"""Property-based fuzzing of the game-record parsers that take outside text: SGF, PGN, FEN.

The contract checked for each: only :class:`~games.base.RecordError` (SGF, PGN) or
:class:`~games.chess.InvalidFenError` (FEN) escapes, whatever the text; time is bounded
(the hypothesis deadline, and deep nesting is parsed without recursion); and records
of random legal games are accepted and round-trip.

Examples are few and derandomised; ``ZEROPLAY_FUZZ_EXAMPLES=5000`` runs a longer,
random search.
"""

from __future__ import annotations

import random

import pytest
from fuzz_helpers import examples, fuzz_settings, mutations
from hypothesis import given, settings
from hypothesis import strategies as st

from games.base import RecordError
from games.chess import STANDARD_FEN, Chess, InvalidFenError
from games.go import Go
from games.pgn import read_pgn, read_pgn_games, write_pgn
from games.sgf import GoRecord, read_sgf, write_sgf

FUZZ = fuzz_settings(60, 2)


def random_actions(game, seed: int, max_plies: int) -> list[int]:
    rng = random.Random(seed)
    state, actions = game.initial_state(), []
    while not state.is_terminal() and len(actions) < max_plies:
        actions.append(rng.choice(state.legal_actions()))
        state = state.apply(actions[-1])
    return actions




# ---------------------------------------------------------------------- SGF

_SGF_TEXT = st.text(alphabet="();[]\\:ABWEHKLMPRSTZabcdefst0123456789.+- \n", max_size=400)
_SGF_GAME = Go(size=5, komi=0.5, max_moves=60)
_SGF_RECORDS = [
    write_sgf(GoRecord(game=_SGF_GAME, actions=tuple(random_actions(_SGF_GAME, seed, 60)), result="B+R"))
    for seed in range(4)
]


def _only_record_error(parse, text: str) -> None:
    try:
        parse(text)
    except RecordError:
        pass


@FUZZ
@given(_SGF_TEXT)
def test_sgf_text_gives_only_record_error(text: str) -> None:
    _only_record_error(read_sgf, text)


@FUZZ
@given(st.sampled_from(range(len(_SGF_RECORDS))).flatmap(lambda i: mutations(_SGF_RECORDS[i])))
def test_damaged_sgf_records_give_only_record_error(text: str) -> None:
    _only_record_error(read_sgf, text)


@pytest.mark.slow
@FUZZ
@given(st.integers(0, 2**32 - 1), st.sampled_from([5, 9]))
def test_random_go_games_round_trip_through_sgf(seed: int, size: int) -> None:
    game = Go(size=size, komi=6.5, max_moves=2 * size * size)
    actions = tuple(random_actions(game, seed, 80))
    back = read_sgf(write_sgf(GoRecord(game=game, actions=actions, result="W+R")))
    assert back.actions == actions and back.game.size == size and back.game.komi == 6.5 and back.result == "W+R"


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "(;" * 100_000,  # never closed
        "(;" * 100_000 + ")" * 100_000,  # closed: a valid, empty, deeply nested collection
        "(;SZ[9]" + "(;B[aa]" * 50_000 + ")" * 50_001,  # the main line runs through every level
        "(;KM[1e308])",  # komi that overflowed the Go rules
        "(;SZ[9]KM[82])",  # komi beyond size * size
    ],
    ids=["open", "closed", "moves", "komi-overflow", "komi-bound"],
)
def test_deeply_nested_or_oversized_sgf_gives_record_error(text: str) -> None:
    try:
        read_sgf(text)
    except RecordError:
        pass


# ---------------------------------------------------------------------- PGN

_PGN_TEXT = st.text(
    alphabet='[]{}();$%!?."\\ \n\t0123456789-/=+#*abcdefghKQRBNOxPWhiteBlackResultFENSetUp', max_size=400
)
_CHESS = Chess(max_plies=60)
_PGN_RECORDS = [write_pgn(_CHESS, random_actions(_CHESS, seed, 40), {"Event": "fuzz"}) for seed in range(3)]


@FUZZ
@given(_PGN_TEXT)
def test_pgn_text_gives_only_record_error(text: str) -> None:
    _only_record_error(read_pgn_games, text)


@pytest.mark.slow
@FUZZ
@given(st.sampled_from(range(len(_PGN_RECORDS))).flatmap(lambda i: mutations(_PGN_RECORDS[i])))
def test_damaged_pgn_records_give_only_record_error(text: str) -> None:
    _only_record_error(read_pgn_games, text)


@settings(FUZZ, max_examples=examples(15))
@given(st.integers(0, 2**32 - 1))
def test_random_chess_games_round_trip_through_pgn(seed: int) -> None:
    actions = random_actions(_CHESS, seed, 40)
    record = read_pgn(write_pgn(_CHESS, actions, {"White": "a", "Black": "b"}), max_plies=60)
    assert list(record.actions) == actions and record.tags["White"] == "a"


@pytest.mark.parametrize(
    "text",
    [
        "1. e4 " + "( " * 100_000 + ") " * 100_000 + "*",
        "1. e4 " + "(" * 100_000 + " *",
        "{" * 100_000,
        '[Event "' + "\\" * 100_000 + '"]',
    ],
    ids=["closed-variations", "open-variations", "comments", "escapes"],
)
def test_deeply_nested_pgn_gives_record_error_or_parses(text: str) -> None:
    try:
        read_pgn_games(text)
    except RecordError:
        pass


# ---------------------------------------------------------------------- FEN

_FEN_TEXT = st.text(alphabet="pnbrqkPNBRQK12345678/ wb-KQkqabcdefgh0123456789", max_size=100)


def _fens() -> list[str]:
    fens = []
    for seed in range(5):
        state = _CHESS.initial_state()
        for action in random_actions(_CHESS, seed, 30):
            state = state.apply(action)
        fens.append(state.fen())
    return fens


_FENS = _fens()


def _only_fen_error(text: str) -> None:
    try:
        Chess(fen=text)
    except InvalidFenError:
        pass


@FUZZ
@given(_FEN_TEXT)
def test_fen_text_gives_only_invalid_fen_error(text: str) -> None:
    _only_fen_error(text)


@FUZZ
@given(st.sampled_from(range(len(_FENS))).flatmap(lambda i: mutations(_FENS[i])))
def test_damaged_fens_give_only_invalid_fen_error(text: str) -> None:
    _only_fen_error(text)


@FUZZ
@given(st.sampled_from(_FENS + [STANDARD_FEN]), st.integers(0, 2**32 - 1))
def test_fens_of_real_positions_round_trip(fen: str, seed: int) -> None:
    game = Chess(fen=fen)
    assert game.fen == fen and Chess(fen=game.fen) == game
    actions = random_actions(game, seed, 10)  # the position plays on under the rules
    state = game.initial_state()
    for action in actions:
        state = state.apply(action)
    assert Chess(fen=state.fen()).fen == state.fen()
