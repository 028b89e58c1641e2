"""SGF records: write/read round trips, passes, resignation, malformed input."""

from __future__ import annotations

import random
import re

import pytest

from games.base import RecordError
from games.go import Go, parse_vertex
from games.sgf import (
    GoRecord,
    parse_collection,
    read_sgf,
    record_from_start,
    resignation,
    result_winner,
    write_sgf,
)


def vertices(size: int, *names: str) -> tuple[int, ...]:
    return tuple(parse_vertex(n, size) for n in names)


def test_round_trip_with_handicap_result_and_players():
    game = Go(size=9, komi=0.5)
    record = GoRecord(
        game=game,
        black_setup=vertices(9, "C3", "G7"),
        actions=vertices(9, "E5", "D4", "pass", "F4"),
        result="B+R",
        black_player="Black ]bot[ \\ v1",
        white_player="GNU Go 3.8",
    )
    assert record.to_play == 1 and record.handicap == 2
    text = write_sgf(record)
    assert "HA[2]" in text and "AB[cg][gc]" in text and "PL[W]" in text
    assert "SZ[9]" in text and "KM[0.5]" in text and "RU[Chinese]" in text and "RE[B+R]" in text
    assert ";W[ee]" in text and ";W[]" in text  # pass written as []
    assert "PB[Black \\]bot[ \\\\ v1]" in text
    back = read_sgf(text)
    assert back == record
    assert back.winner == 0
    final = back.final_state()
    assert final.stones(0) == sorted(vertices(9, "C3", "G7", "D4", "F4"))
    assert final.stones(1) == list(vertices(9, "E5"))


@pytest.mark.parametrize("result", ["W+R", "B+R", "W+3.5", "B+0.5", "0", "Draw", "W+T", "B+Resign", "?", None])
def test_results_round_trip(result):
    record = GoRecord(game=Go(size=5), actions=vertices(5, "C3"), result=result)
    assert read_sgf(write_sgf(record)).result == result


def test_resignation_helpers():
    assert resignation(0) == "W+R" and resignation(1) == "B+R"
    assert result_winner("W+R") == 1 and result_winner("B+3.5") == 0 and result_winner("0") is None
    with pytest.raises(RecordError):
        GoRecord(game=Go(size=5), result="B+lots")


def test_random_games_round_trip():
    rng = random.Random(0)
    for size in (5, 9, 13, 19):
        game = Go(size=size, komi=6 if size == 13 else 7.5, ko="simple" if size == 5 else "positional")
        s = game.initial_state()
        actions = []
        for _ in range(60):
            if s.is_terminal():
                break
            a = rng.choice(s.legal_actions())
            actions.append(a)
            s = s.apply(a)
        record = GoRecord(game=game, actions=tuple(actions), result=s.result())
        back = read_sgf(write_sgf(record), ko=game.ko)
        assert back == record
        assert back.final_state() == s


def test_record_from_setup_state_with_white_stones():
    game = Go(size=7)
    start = game.setup_state(black=vertices(7, "C3", "E5"), white=vertices(7, "D4"), to_play=0)
    record = record_from_start(start, vertices(7, "D5", "C4"), result="W+2.5", white_player="w")
    text = write_sgf(record)
    assert "AW[dd]" in text and "AB" in text and "HA[" not in text
    back = read_sgf(text)
    assert back == record and back.handicap == 0
    assert back.final_state().stones(1) == sorted(vertices(7, "D4", "C4"))


def test_read_real_style_sgf():
    text = """(;GM[1]FF[4]CA[UTF-8]AP[CGoban:3]ST[2]
RU[Japanese]SZ[9]KM[6.50]
PW[white guy]PB[black guy]RE[W+R]C[a comment with \\] bracket
and a soft \\
line break]
;B[ee]C[first move];W[gc]
(;B[cg]BL[300];W[tt];B[])
(;B[aa]))
(;FF[4]SZ[19];B[pd])"""
    record = read_sgf(text)
    assert record.game.size == 9 and record.game.komi == 6.5
    assert record.black_player == "black guy" and record.white_player == "white guy"
    assert record.result == "W+R"
    assert record.actions == vertices(9, "E5", "G7", "C3", "pass", "pass")
    assert record.final_state().is_terminal()
    tree = parse_collection(text)
    assert len(tree) == 2
    assert tree[0].nodes[0].properties["C"].values == ["a comment with ] bracket\nand a soft line break"]


def test_compressed_point_lists_and_tt_pass():
    record = read_sgf("(;SZ[5]AB[aa:bb][ee]AW[cc];W[tt];B[dd])")
    assert record.black_setup == vertices(5, "A5", "B5", "A4", "B4", "E1")
    assert record.white_setup == vertices(5, "C3")
    assert record.to_play == 1
    assert record.actions == (25, parse_vertex("D2", 5))


def _line_of(err: pytest.ExceptionInfo) -> int:
    match = re.match(r"line (\d+), column (\d+)", str(err.value))
    assert match, str(err.value)
    return int(match.group(1))


@pytest.mark.parametrize(
    "text,line,fragment",
    [
        ("(;SZ[9]\n;B[ee]\n;W[ff]", 1, "unbalanced '('"),
        ("(;SZ[9]\n;B[ee])\n)", 3, "unbalanced ')'"),
        ("(;SZ[9]\n;B[ee\n;W)", 2, "unbalanced '['"),
        ("(;SZ[9]\n;B[ee]\n;W[zz])", 3, "bad coordinates W[zz]"),
        ("(;SZ[9]\n;B[ee]\n;W[e])", 3, "bad coordinates"),
        ("(;SZ[9]\n;B[ee]\n;W[ee])", 3, "illegal move 2 W[ee]"),
        ("(;SZ[9]\n;B[ee]\n;B[ff])", 3, "W was to play"),
        ("(;FF[4]\nSZ[25]\n;B[ee])", 2, "bad board size SZ[25]"),
        ("(;FF[4]\nSZ[abc]\n;B[ee])", 2, "bad board size"),
        ("(;FF[4]\nSZ[9:13])", 2, "square"),
        ("(;GM[2]SZ[9])", 1, "not Go"),
        ("(;SZ[9]KM[x])", 1, "bad komi"),
        ("(;SZ[9]\n;B[ee]W[ff])", 2, "both B and W"),
        ("(;SZ[9]\n;B[ee]\n;AB[aa])", 3, "after the first move"),
        ("(;SZ[9]\nRE[maybe])", 2, "bad result"),
        ("(;SZ[5]\nAB[aa]AW[ba][ab])", 2, "no liberties"),
        ("(;SZ[9]\n;B[ee]\n;W[ff]x)", 3, "bad property identifier"),
        ("(;SZ[9]\n;B[ee]\n;W[ff]5)", 3, "unexpected '5'"),
        ("(;SZ[9]\n;B)", 2, "no value"),
        ("()", 1, "empty game tree"),
        ("no sgf here", 1, "no SGF game tree"),
    ],
)
def test_malformed_sgf_names_the_line(text, line, fragment):
    with pytest.raises(RecordError) as err:
        read_sgf(text)
    assert _line_of(err) == line
    assert fragment in str(err.value)


def test_superko_violation_in_record_is_rejected():
    # Black takes a ko, White retakes at once: illegal under both ko rules.
    moves = ";B[cb];W[db];B[bc];W[ec];B[cd];W[dd];B[dc];W[cc]"
    text = f"(;SZ[5]KM[0]\n{moves}\n;B[dc])"
    # Sanity: the moves before the retake are fine, and W[cc] captured D3.
    before = read_sgf(f"(;SZ[5]KM[0]\n{moves})")
    assert len(before.actions) == 8
    assert before.final_state().colour_at(parse_vertex("D3", 5)) is None
    for ko in ("positional", "simple"):
        with pytest.raises(RecordError) as err:
            read_sgf(text, ko=ko)
        assert _line_of(err) == 3 and "B[dc]" in str(err.value)


def test_long_records_raise_the_move_cap():
    game = Go(size=5, max_moves=500)
    rng = random.Random(4)
    s = game.initial_state()
    actions = []
    while len(actions) < 80 and not s.is_terminal():
        legal = s.legal_actions()
        a = rng.choice(legal[:-1]) if len(legal) > 1 else legal[-1]
        actions.append(a)
        s = s.apply(a)
    record = GoRecord(game=game, actions=tuple(actions))
    back = read_sgf(write_sgf(record))
    assert back.actions == record.actions
    assert back.game.max_moves >= len(actions)
