"""PGN writing and reading (games/pgn.py)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from games.base import GameError, IllegalMoveError, RecordError
from games.chess import STANDARD_FEN, Chess
from games.pgn import SEVEN_TAG_ROSTER, PgnRecord, read_pgn, read_pgn_games, result_of, write_pgn


def random_game(game, seed, max_moves=None):
    rng = random.Random(seed)
    s = game.initial_state()
    actions = []
    while not s.is_terminal() and (max_moves is None or len(actions) < max_moves):
        a = rng.choice(s.legal_actions())
        actions.append(a)
        s = s.apply(a)
    return actions, s


def moves_of(game, *sans):
    s = game.initial_state()
    actions = []
    for san in sans:
        a = s.parse_action(san)
        actions.append(a)
        s = s.apply(a)
    return actions


@pytest.mark.slow
def test_round_trip():
    game = Chess()
    for seed in range(3):
        actions, final = random_game(game, seed)
        tags = {"Event": "selfplay", "White": 'net "A"\\1', "Black": "net-B", "Annotator": "zeroplay"}
        text = write_pgn(game, actions, tags)
        record = read_pgn(text)
        assert isinstance(record, PgnRecord)
        assert record.actions == tuple(actions)
        assert record.game == game
        assert record.result == result_of(final) != "*"
        assert record.tags == {
            "Event": "selfplay", "Site": "?", "Date": "????.??.??", "Round": "?",
            "White": 'net "A"\\1', "Black": "net-B", "Result": record.result, "Annotator": "zeroplay",
        }
        assert record.final_state().fen() == final.fen()
        assert all(len(line) <= 79 for line in text.splitlines())
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.actions = ()  # type: ignore[misc]  # frozen


def test_seven_tag_roster_order():
    game = Chess()
    text = write_pgn(game, moves_of(game, "e4", "e5", "Nf3"), {"Round": "3", "Zed": "last", "Event": "E"})
    lines = text.splitlines()
    names = [line[1:].split()[0] for line in lines if line.startswith("[")]
    assert tuple(names[:7]) == SEVEN_TAG_ROSTER
    assert names[7:] == ["Zed"]
    assert lines[:7] == [
        '[Event "E"]', '[Site "?"]', '[Date "????.??.??"]', '[Round "3"]',
        '[White "?"]', '[Black "?"]', '[Result "*"]',
    ]
    assert lines[-1] == "1. e4 e5 2. Nf3 *"


def test_result_tokens():
    game = Chess()
    mate = moves_of(game, "f3", "e5", "g4", "Qh4#")
    text = write_pgn(game, mate)
    assert text.splitlines()[-1] == "1. f3 e5 2. g4 Qh4# 0-1" and '[Result "0-1"]' in text
    assert write_pgn(game, mate[:2], result="1/2-1/2").splitlines()[-1].endswith(" 1/2-1/2")
    assert read_pgn(write_pgn(game, mate[:2], {"Result": "1-0"})).result == "1-0"
    with pytest.raises(GameError):
        write_pgn(game, mate, result="2-0")
    with pytest.raises(IllegalMoveError):
        write_pgn(game, [0])  # a1a2: the rook is blocked


def test_fen_start():
    fen = "r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 3 17"
    game = Chess(fen)
    actions = moves_of(game, "O-O", "O-O-O", "Kg7")
    text = write_pgn(game, actions)
    assert '[SetUp "1"]' in text and f'[FEN "{fen}"]' in text
    assert text.splitlines()[-1] == "17... O-O 18. O-O-O Kg7 *"
    record = read_pgn(text)
    assert record.game.fen == fen and record.actions == tuple(actions)
    assert "FEN" not in write_pgn(Chess(), [])
    assert read_pgn(write_pgn(Chess(), [])).game.fen == STANDARD_FEN


def test_reads_comments_nags_variations_and_several_games():
    text = """[Event "one"]
[Site "here"]
% an escape line (1. Zz9
; a line comment {
1.e4 {a comment
spanning (lines)} e5 (1... c5 2. Nf3 {x} (2. c3 d5) d6) 2. Nf3!? $14 Nc6?!
3. Bb5 a6 1-0

[Event "two"]
1. d4 d5 2. c4 dxc4 1/2-1/2
"""
    records = read_pgn_games(text)
    assert [r.tags["Event"] for r in records] == ["one", "two"]
    game = Chess()
    assert records[0].actions == tuple(moves_of(game, "e4", "e5", "Nf3", "Nc6", "Bb5", "a6"))
    assert records[0].result == "1-0" and records[1].result == "1/2-1/2"
    assert records[1].actions == tuple(moves_of(game, "d4", "d5", "c4", "dxc4"))
    with pytest.raises(RecordError, match="2 games"):
        read_pgn(text)


def _error_line(text):
    with pytest.raises(RecordError) as info:
        read_pgn(text)
    return str(info.value)


def test_malformed_records_name_the_line():
    head = '[Event "x"]\n[Site "y"]\n\n'
    assert "line 5" in _error_line(head + "1. e4 e5\n2. Nf3 Zz9 *\n")  # bad SAN
    assert "line 6" in _error_line(head + "1. e4 e5\n2. Nf3 Nc6\n3. Ke3 *\n")  # illegal move
    assert "line 4" in _error_line(head + "1. e4 {never\nclosed\n")  # unterminated comment
    assert "line 2" in _error_line('[Event "x"]\n[Site y]\n\n1. e4 *\n')  # bad tag
    assert "line 1" in _error_line('[Event "x\n\n1. e4 *\n')  # unterminated tag value
    assert "line 4" in _error_line(head + "1. e4 (1. d4 d5\n")  # unterminated variation
    assert "line 5" in _error_line(head + "1. e4 e5\n2. Nf3\n\n")  # missing result token
    assert "line 4" in _error_line('[Event "x"]\n[Result "1-0"]\n\n1. e4 e5 0-1\n')  # result mismatch
    assert "line 4" in _error_line(head + "1. e4 & e5 *\n")  # stray character
    assert "line 4" in _error_line(head + "1. e4 e5 ) *\n")  # unbalanced ')'
    assert "line 2" in _error_line('[Event "x"]\n[FEN "not a fen"]\n\n*\n')  # bad FEN
    assert "line 4" in _error_line(head + '1. e4 [Round "1"] *\n')  # tag in movetext


def test_move_after_automatic_draw_is_an_error():
    text = "1. Nf3 Nf6 2. Ng1 Ng8 3. Nf3 Nf6 4. Ng1 Ng8\n5. e4 *\n"
    message = _error_line(text)
    assert "line 2" in message and "threefold" in message
