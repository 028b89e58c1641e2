"""Game collections (games.collections): SGF, PGN and move-list files and folders, read game by game.

Records written with games.records read back as the same games; bad games are skipped with
the file, the game number, the line and the reason, and reading goes on; chunked reading
gives what whole-file reading gives; the fast SGF scanner agrees with the general parser;
and (fuzzing) nothing but the documented entries comes out of any file, in bounded time.
"""

from __future__ import annotations

import bz2
import gzip
import os
import random
import time
from pathlib import Path

import pytest
from fuzz_helpers import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

import games
from games import collections as gc
from games.collections import CollectionGame, SkippedGame, read_collection, write_collection
from games.go import Go
from games.records import OPENING_TAG, GameRecord, read_records, write_record
from games.sgf import parse_collection, record_from_nodes

FUZZ = fuzz_settings(40, 3)


def random_game(game: games.Game, seed: int, plies: int, *, avoid_pass: bool = True) -> tuple[list[int], games.State]:
    rng = random.Random(seed)
    state = game.initial_state()
    actions: list[int] = []
    while not state.is_terminal() and len(actions) < plies:
        legal = state.legal_actions()
        if avoid_pass and game.name == "go" and len(legal) > 1:
            legal = legal[:-1]
        actions.append(rng.choice(legal))
        state = state.apply(actions[-1])
    return actions, state


def go_records(count: int = 6, size: int = 9) -> list[GameRecord]:
    """Go games with every kind of ending, handicap stones, komi, players, event, round and an opening tag."""
    out = []
    for i in range(count):
        game = Go(size=size, komi=[7.5, 6.5, 0.5, 0.0][i % 4])
        start = None
        if i % 3 == 1:
            start = game.handicap_state(2)
        state = start or game.initial_state()
        rng = random.Random(i)
        actions = []
        for _ in range(12 + i):
            legal = state.legal_actions()[:-1]
            actions.append(rng.choice(legal))
            state = state.apply(actions[-1])
        kind = i % 4
        if kind == 0:  # ended by two passes: scored by the rules
            actions += [game.pass_action, game.pass_action]
            record = GameRecord(game=game, actions=tuple(actions), start=start, players=("b", "w"), ending="terminal")
        elif kind == 1:
            record = GameRecord(game=game, actions=tuple(actions), start=start, players=("GNU Go", None),
                                winner=1, ending="resignation")
        elif kind == 2:
            record = GameRecord(game=game, actions=tuple(actions), start=start, winner=0, ending="time")
        else:
            record = GameRecord(game=game, actions=tuple(actions), start=start, winner=None, ending="unfinished")
        out.append(GameRecord(**{**record.__dict__, "event": "zeroplay records", "round": i + 1,
                                 "tags": {**record.tags, OPENING_TAG: str(i % 3)}}))
    return out


def chess_records(count: int = 4) -> list[GameRecord]:
    out = []
    fen = "4k3/8/8/8/8/8/4P3/4K3 w - - 0 1"
    for i in range(count):
        game = games.make("chess", fen=fen) if i == 2 else games.make("chess")
        actions, state = random_game(game, i, 30 + 10 * i)
        winner = None if state.is_terminal() else i % 2
        ending = "terminal" if state.is_terminal() else "resignation"
        out.append(GameRecord(game=game, actions=tuple(actions), players=("white", "black"), winner=winner,
                              ending=ending, event="test", round=i + 1, tags={OPENING_TAG: "4"}))
    return out


def move_list_records(name: str, count: int = 4) -> list[GameRecord]:
    game = games.make(name)
    out = []
    for i in range(count):
        actions, state = random_game(game, i, 100)
        out.append(GameRecord(game=game, actions=tuple(actions), players=("p0", "p1"), ending="terminal",
                              tags={OPENING_TAG: "1"}))
    return out


def same_game(read: GameRecord, written: GameRecord) -> None:
    assert read.game.name == written.game.name
    assert read.actions == written.actions
    assert read.initial_state() == written.initial_state()
    assert read.players == written.players
    assert read.ending == written.ending
    assert read.outcome() == written.outcome()
    assert read.event == written.event and read.round == written.round
    assert read.tags.get(OPENING_TAG) == written.tags.get(OPENING_TAG)
    if read.game.name == "go":
        assert read.game.komi == written.game.komi


def games_of(entries) -> list[CollectionGame]:
    entries = list(entries)
    skipped = [e for e in entries if isinstance(e, SkippedGame)]
    assert not skipped, [str(s) for s in skipped]
    return entries


@pytest.mark.parametrize("kind", ["sgf", "pgn", "tictactoe", "connect4"])
def test_records_round_trip_through_a_collection(tmp_path: Path, kind: str) -> None:
    records = {"sgf": go_records, "pgn": chess_records}.get(kind, lambda: move_list_records(kind))()
    ext = {"sgf": "sgf", "pgn": "pgn"}.get(kind, "txt")
    path = tmp_path / f"games.{ext}"
    path.write_text(write_collection(records), encoding="utf-8")
    read = games_of(read_collection(path))
    assert [e.number for e in read] == list(range(1, len(records) + 1))
    for entry, record in zip(read, records, strict=True):
        same_game(entry.record, record)
        # the same game as the one-record reader gives
        (one,) = read_records(write_record(record), record.game.record_format)
        assert entry.record.actions == one.actions and entry.record.ending == one.ending
    assert read[1].line > read[0].line


def test_a_folder_is_read_file_by_file_in_sorted_order(tmp_path: Path) -> None:
    records = go_records(4)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.sgf").write_text(write_collection(records[2:]))
    (tmp_path / "a.sgf").write_text(write_collection(records[:2]))
    (tmp_path / "notes.md").write_text("not a record")
    (tmp_path / ".hidden.sgf").write_text("(;B[zz])")
    with gzip.open(tmp_path / "c.sgf.gz", "wt") as f:
        f.write(write_collection(records[:1]))
    with bz2.open(tmp_path / "d.pgn.bz2", "wt") as f:
        f.write(write_collection(chess_records(1)))
    read = games_of(read_collection(tmp_path))
    assert [(e.path.name, e.number) for e in read] == [
        ("a.sgf", 1), ("a.sgf", 2), ("c.sgf.gz", 1), ("d.pgn.bz2", 1), ("two.sgf", 1), ("two.sgf", 2)]
    assert [e.record.actions for e in read if e.path.name != "d.pgn.bz2"] == [
        r.actions for r in records[:2] + records[:1] + records[2:]]


BAD_SGF = """(;FF[4]GM[1]SZ[9]KM[6.5]RE[B+R]PB[a]PW[b];B[ee];W[cc];B[gg])
stray text between game trees is ignored
(;FF[4]SZ[9]RE[W+3.5];B[ee];W[zz])
(;FF[4]SZ[19]RE[B+R];B[pd];W[dp])
(;FF[4]SZ[9]HA[2]AB[cc][gg]PL[W]RE[W+R];W[ee]C[a comment (with parens\\] and brackets)];B[ce](;W[dd])(;W[ff]))
(;FF[4]SZ[9]RE[B+R];B[ee];B[cc])
(;FF[4]GM[3]SZ[9];B[ee])
(;FF[4]SZ[9]RE[B+R];B[ee];W[ee])
(;FF[4]SZ[9]RE[B+R];B[ee]
"""


def test_bad_sgf_games_are_skipped_with_file_game_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "mixed.sgf"
    path.write_text(BAD_SGF)
    entries = list(read_collection(path, game=games.make("go", size=9)))
    kinds = [(e.number, type(e).__name__, getattr(e, "kind", None)) for e in entries]
    assert kinds == [
        (1, "CollectionGame", None), (2, "SkippedGame", "malformed"), (3, "SkippedGame", "other size"),
        (4, "CollectionGame", None), (5, "SkippedGame", "malformed"), (6, "SkippedGame", "malformed"),
        (7, "CollectionGame", None), (8, "SkippedGame", "malformed"),
    ]
    text = {e.number: str(e) for e in entries}
    assert text[2] == f"{path} game 2: line 3, column 30: bad coordinates W[zz] on 9x9 (two letters a-i)"
    assert text[3] == f"{path} game 3 (line 4): a 19x19 game, not 9x9"
    assert "line 6" in text[5] and "W was to play" in text[5]
    assert "line 7" in text[6] and "GM[3] is not Go" in text[6]
    assert "line 9" in text[8] and "never closed" in text[8]
    # The illegal move (a stone on a stone) is left to the replay: read, then refused by the rules.
    assert entries[6].record.actions == (40, 40)
    with pytest.raises(games.RecordError, match="move 2"):
        entries[6].record.final_state()
    replayed = {e.number: e for e in read_collection(path, game=games.make("go", size=9), replay=True)}
    assert replayed[7].kind == "illegal" and "illegal move 2" in replayed[7].reason
    assert entries[3].record.start is not None and entries[3].record.start.stones(0) == [20, 60]


def test_variations_are_ignored_or_followed(tmp_path: Path) -> None:
    path = tmp_path / "var.sgf"
    path.write_text("(;SZ[9]RE[B+R];B[ee](;W[cc];B[gg](;W[dd])(;W[ff]))(;W[gc]))")
    (main,) = games_of(read_collection(path))
    assert main.record.actions == (40, 20, 60, 30)
    lines = games_of(read_collection(path, variations=True))
    assert [(e.variation, e.record.actions) for e in lines] == [
        (0, (40, 20, 60, 30)), (1, (40, 20, 60, 50)), (2, (40, 24))]
    assert "variation 2" in lines[2].where


def test_fast_sgf_scanner_agrees_with_the_general_parser() -> None:
    records = go_records(8) + go_records(3, size=19)
    extras = ["", "C[a (comment) with \\] and \\\\]", "BL[300]WL[299.5]"]
    for i, record in enumerate(records):
        text = write_record(record)
        # decorate: a comment on one move node, time properties on another, a second variation
        parts = text.split(";W[", 2)
        if len(parts) == 3:
            text = parts[0] + ";" + extras[i % 3] + "W[" + parts[1] + ";W[" + parts[2]
        if i % 2:
            last = "B" if text.rfind(";B[") > text.rfind(";W[") else "W"
            following = "W" if last == "B" else "B"
            text = text[: text.rindex(")")] + f"(;{following}[aa];C[x])(;{following}[bb]))"
        tree = parse_collection(text)[0]
        general = record_from_nodes(tree.main_line(), replay=False)
        fast = gc._fast_sgf(text, {}, None)
        assert fast == general, (text, fast, general)


BAD_PGN = """[Event "one"]
[White "a"]
[Black "b"]
[Result "1-0"]

1. e4 {a comment [with a bracket]
[Event "not a tag: inside the comment"]} e5 $1 2. Nf3 (2. Bc4 Nc6) Nc6 1-0

[Event "two"]
[Result "0-1"]

1. e4 e5 2. Ke3 0-1

[Event "three"]
[SetUp "1"]
[FEN "4k3/8/8/8/8/8/4P3/4K3 w - - 0 1"]
[Result "*"]

1. e4 Kd7 *

[Event "four"]
[Result "1/2-1/2"]

1. e4 e5 1-0

% an escape line
1. d4 d5 2. c4 0-1
"""


def test_bad_pgn_games_are_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pgn"
    path.write_text(BAD_PGN)
    entries = list(read_collection(path))
    assert [(e.number, getattr(e, "kind", "read")) for e in entries] == [
        (1, "read"), (2, "illegal"), (3, "read"), (4, "malformed"), (5, "read")]
    first, bad, fen_start, disagree, last = entries
    assert first.record.event == "one" and len(first.record.actions) == 4 and first.record.winner == 0
    assert str(bad) == f"{path} game 2 (line 9): PGN line 12: move 3 'Ke3': illegal move in " \
        "rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2"
    assert fen_start.record.game.fen.startswith("4k3/8") and fen_start.record.ending == "unfinished"
    assert "PGN line 24" in disagree.reason and "disagrees" in disagree.reason
    assert len(last.record.actions) == 3 and last.record.ending == "resignation" and last.record.winner == 1


def test_pgn_moves_after_zeroplays_end_are_kept_for_the_importer(tmp_path: Path) -> None:
    """A threefold repetition nobody claimed: human games go on, and the reader keeps them."""
    path = tmp_path / "rep.pgn"
    path.write_text("1. Nf3 Nf6 2. Ng1 Ng8 3. Nf3 Nf6 4. Ng1 Ng8 5. e4 1-0\n")
    (entry,) = games_of(read_collection(path))
    assert len(entry.record.actions) == 9 and entry.record.ending == "resignation"


def test_move_lists_of_another_game_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    records = move_list_records("tictactoe", 2) + move_list_records("connect4", 1)
    path.write_text(write_collection(records) + "# zeroplay record\n# game: {\"name\": \"tictactoe\"}\na1\na1\n")
    entries = list(read_collection(path, game=games.make("tictactoe")))
    assert [getattr(e, "kind", "read") for e in entries] == ["read", "read", "other game", "illegal"]
    assert "line" in str(entries[3]) and "move 2" in str(entries[3])
    assert list(read_collection(tmp_path / "x.sgf", game=games.make("chess")))[0].kind == "other game"


def test_chunked_reading_gives_what_whole_file_reading_gives(tmp_path: Path, monkeypatch) -> None:
    sgf, pgn = tmp_path / "a.sgf", tmp_path / "b.pgn"
    sgf.write_text(BAD_SGF + write_collection(go_records(4)))
    pgn.write_text(BAD_PGN + "\n" + write_collection(chess_records(2)))
    whole = [str(e) if isinstance(e, SkippedGame) else (e.number, e.line, e.record.actions)
             for e in read_collection([sgf, pgn])]
    monkeypatch.setattr(gc, "CHUNK_CHARS", 7)
    chunked = [str(e) if isinstance(e, SkippedGame) else (e.number, e.line, e.record.actions)
               for e in read_collection([sgf, pgn])]
    assert chunked == whole


def test_a_game_longer_than_the_limit_is_skipped_and_reading_resumes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(gc, "CHUNK_CHARS", 64)
    monkeypatch.setattr(gc, "MAX_GAME_CHARS", 200)
    path = tmp_path / "long.sgf"
    path.write_text("(;SZ[9]RE[B+R];B[ee]\n(;SZ[9]C[" + "x" * 500 + "]\n(;SZ[9]RE[W+R];B[cc])\n")
    entries = list(read_collection(path))
    assert [type(e).__name__ for e in entries][-1] == "CollectionGame"
    assert entries[-1].record.actions == (20,) and entries[-1].line == 3
    assert any(isinstance(e, SkippedGame) and "longer than 200" in e.reason for e in entries)


def test_unreadable_files_are_skipped_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.sgf"
    os.mkfifo(fifo)
    (tmp_path / "dir.pgn").mkdir()
    (tmp_path / "dir.pgn" / "x.txt").write_text("")
    entries = list(read_collection([fifo, tmp_path / "missing.sgf", tmp_path / "dir.pgn" / "x.txt"]))
    assert [e.kind for e in entries] == ["unreadable", "unreadable"]
    assert "not a regular file" in str(entries[0]) and "No such file" in str(entries[1])
    broken = tmp_path / "broken.sgf.gz"
    broken.write_bytes(gzip.compress(b"(;SZ[9];B[ee])")[:-6])
    assert [getattr(e, "kind", "read") for e in read_collection(broken)][-1] == "unreadable"


def test_sgf_reading_is_fast() -> None:
    """The fast scanner reads well over 2,000 9x9 games per second of CPU (BENCHMARKS.md has the rates)."""
    game = Go(size=9)
    texts = [write_record(GameRecord(game=game, actions=tuple(random_game(game, i, 60)[0]), winner=0,
                                     ending="resignation")) for i in range(20)]
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as d:
        path = Path(d) / "bench.sgf"
        path.write_text("\n".join(texts * 20))
        start = time.process_time()
        count = sum(1 for _ in read_collection(path))
        rate = count / (time.process_time() - start)
    assert count == 400
    assert rate > 1000, f"{rate:.0f} games/s"  # a loose bound: the machine may be busy


# ---------------------------------------------------------------------- fuzzing

_SGF_SEED = write_collection(go_records(3)) + BAD_SGF
_PGN_SEED = write_collection(chess_records(2)) + BAD_PGN
_TXT_SEED = write_collection(move_list_records("connect4", 2))


def _mutate(text: str, edits: list[tuple[int, str, str]]) -> str:
    for position, op, ch in edits:
        i = position % (len(text) + 1)
        text = text[:i] + ch + text[i + 1:] if op == "r" else text[:i] + ch + text[i:] if op == "i" else \
            text[:i] + text[i + 1:]
    return text


_EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from("rid"),
                            st.sampled_from(list("()[];\\\n{}%BW:aezt19 \"*-") + ["1-0", "(;", "]"])),
                  min_size=1, max_size=12)


@pytest.mark.slow
@FUZZ
@given(kind=st.sampled_from(["sgf", "pgn", "txt"]), edits=_EDITS, chunk=st.sampled_from([5, 64, 1 << 20]))
def test_fuzzed_collections_give_only_entries(tmp_path_factory, kind: str, edits, chunk: int) -> None:
    seed = {"sgf": _SGF_SEED, "pgn": _PGN_SEED, "txt": _TXT_SEED}[kind]
    path = tmp_path_factory.mktemp("fuzz") / f"f.{kind}"
    path.write_text(_mutate(seed, edits), encoding="utf-8")
    old = gc.CHUNK_CHARS
    gc.CHUNK_CHARS = chunk
    try:
        for variations in (False, True):
            for entry in read_collection(path, variations=variations):
                assert isinstance(entry, (CollectionGame, SkippedGame))
                if isinstance(entry, SkippedGame):
                    assert entry.kind in gc.SKIP_KINDS and entry.reason
    finally:
        gc.CHUNK_CHARS = old


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes_give_only_entries(tmp_path_factory, data: bytes) -> None:
    directory = tmp_path_factory.mktemp("bytes")
    for ext in ("sgf", "pgn", "txt"):
        (directory / f"r.{ext}").write_bytes(data)
    for entry in read_collection(directory):
        assert isinstance(entry, (CollectionGame, SkippedGame))


@pytest.mark.slow
def test_the_records_benchmark_reports_parse_and_import_rates() -> None:
    from cluster.bench.records import CASES, render, run_records_bench

    result = run_records_bench(games_per_case=40)
    assert [r["case"] for r in result["results"]] == [case[0] for case in CASES]
    for r in result["results"]:
        assert r["read"] == r["imported"] == r["games"] >= 20
        assert r["parse_games_per_cpu_s"] > r["import_games_per_cpu_s"] > 0
    assert "parse games/s" in render(result)
