"""Tests of ``zeroplay gtp`` (cluster/gtp.py): a protocol transcript, the CLI, and a game against GNU Go."""

from __future__ import annotations

import io
import os
import shutil
import sys

import pytest
from zeroplay_command import zeroplay_argv

import games
from cluster.engines.engine import Engine
from cluster.engines.gtp import GtpEngine
from cluster.external.gtp import GtpClient, GtpError
from cluster.external.transport import ProcessError
from games.go import Go
from games.records import GameRecord, read_records, write_record

GNUGO = shutil.which("gnugo") or ("/usr/games/gnugo" if os.access("/usr/games/gnugo", os.X_OK) else None)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def gtp(tiny_engine) -> GtpEngine:
    return GtpEngine(tiny_engine("go", sims=4, size=9))


def transcript(session: GtpEngine, commands: str) -> str:
    out = io.StringIO()
    session.run(io.StringIO(commands), out)
    return out.getvalue()


def test_transcript(gtp: GtpEngine) -> None:
    text = transcript(gtp, "\n".join([
        "1 protocol_version",
        "# a comment line",
        "",
        "name   # trailing comment",
        "2 known_command genmove",
        "3 known_command kgs-genmove_cleanup",
        "4 foo",
        "5 boardsize 19",
        "6 boardsize 4",
        "7 boardsize x",
        "8 boardsize 9",
        "9 play black D5",
        "10 play B d5",
        "11 play w Z9",
        "12 play w J10",
        "13 play x E5",
        "14 play w",
        "15 PLAY White e5",
        "16 final_score",
        "17 komi 0.5",
        "18 final_score",
        "19 komi 0",
        "20 final_score",
        "21 komi 0.3",
        "22 undo",
        "23 final_score",
        "24 showboard",
        "25 undo",
        "26 undo",
        "27 version",
        "28 quit",
        "29 name",
    ]) + "\n")
    replies = text.split("\n\n")
    assert replies[-1] == ""
    replies = replies[:-1]
    assert replies[:4] == ["=1 2", "= zeroplay", "=2 true", "=3 false"]
    expected = {
        "4": "?4 unknown command", "5": "?5 unacceptable size", "6": "?6 unacceptable size",
        "8": "=8", "9": "=9", "10": "?10 illegal move", "11": "?11 illegal move", "12": "?12 illegal move",
        "15": "=15", "16": "=16 W+7.5", "17": "=17", "18": "=18 W+0.5", "19": "=19", "20": "=20 0",
        "22": "=22", "23": "=23 B+81", "25": "=25", "26": "?26 cannot undo", "28": "=28",
    }
    by_id = {}
    for reply in replies:
        head = reply.split()[0]
        by_id[head[1:]] = reply
    for ident, reply in expected.items():
        assert by_id[ident] == reply
    assert by_id["7"].startswith("?7 syntax error")
    assert by_id["13"].startswith("?13 syntax error")
    assert by_id["14"].startswith("?14 syntax error")
    assert by_id["21"].startswith("?21 syntax error")
    board = by_id["24"].split("\n")
    assert board[0] == "=24 " and "A B C D E F G H J" in board[1]
    rows = "".join(board[2:11])
    assert rows.count("X") == 1 and "O" not in rows and board[-1] == "White (O) to play, move 2"
    assert by_id["27"].startswith("=27 ")
    assert "29" not in by_id  # nothing after quit


def test_bad_input_is_an_error_reply(gtp: GtpEngine) -> None:
    out = io.StringIO()
    stdin = io.BytesIO(b"1 name\n2 play b \xff\xfe\n" + b"x" * (2 << 20) + b"\n3 komi 1e308\n4 komi nan\n5 name\n")
    assert gtp.run(stdin, out) == 0
    replies = out.getvalue().split("\n\n")[:-1]
    assert replies[0] == "=1 zeroplay" and replies[-1] == "=5 zeroplay"
    assert replies[1].startswith("? input line 2 is not UTF-8 text (byte 0xff at column 10)")
    assert replies[2].startswith("? input line 3 is longer than 1048576 bytes")
    assert replies[3].startswith("?3 syntax error (komi '1e308': go komi must be finite with |komi| <= size * size")
    assert replies[4].startswith("?4 syntax error (komi 'nan'")
    assert gtp.game.komi == 7.5


def test_play_out_of_turn_inserts_a_pass_and_undo_removes_it(gtp: GtpEngine) -> None:
    assert gtp.handle("play b C3") == "=\n\n"
    assert gtp.handle("play b D4") == "=\n\n"
    assert [gtp.state.action_to_text(a) for a in gtp.entries] == ["C3", "pass", "D4"]
    assert gtp.handle("genmove b").startswith("= ")  # White's pass inserted again
    assert gtp.state.to_play == 1 and len(gtp.entries) == 5
    gtp.handle("undo")
    assert len(gtp.entries) == 3
    gtp.handle("undo")
    assert [gtp.state.action_to_text(a) for a in gtp.entries] == ["C3"]


def test_play_after_two_passes_continues_from_the_board(gtp: GtpEngine) -> None:
    for command in ("play b C3", "play w pass", "play b pass"):
        assert gtp.handle(command) == "=\n\n"
    assert gtp.state.is_terminal()
    assert gtp.handle("play w G7") == "=\n\n"
    assert not gtp.state.is_terminal() and gtp.state.to_play == 0
    assert gtp.handle("final_score") == "= W+7.5\n\n"  # one stone each, komi 7.5
    assert gtp.handle("undo") == "=\n\n" and gtp.state.is_terminal()


def test_genmove_resign_and_time_control(tiny_engine) -> None:
    session = GtpEngine(tiny_engine("go", sims=4, seconds=5.0, size=9), resign_threshold=0.99, resign_after=0)
    assert session.handle("genmove b") == "= resign\n\n"  # the value is always below 0.99
    assert session.entries == []
    session.resign_threshold = -1.0
    session.handle("time_settings 30 0 0")
    session.handle("time_left b 2 0")
    reply = session.handle("genmove b")
    assert reply.startswith("= ") and reply.strip() != "= resign"
    # Budgets for the whole move (the time manager keeps the move overhead back):
    assert session._limits(0) == (4, pytest.approx(2 / 29.875))  # 2 s over (0.75 * 81 - 1 move) / 2
    session.handle("time_left w 10 5")
    assert session._limits(1) == (4, pytest.approx(2.0))  # 10 s for 5 stones
    session.handle("time_left w 10 1")
    assert session._limits(1) == (4, pytest.approx(5.0))  # 80% of 10 s, capped by the engine's 5 s
    session.handle("time_settings 0 1 0")
    assert session._limits(0) == (None, None)
    for bad in ("time_settings 1e400 0 0", "time_settings nan 0 0", "time_settings 10 0 -1",
                "time_left b inf 0", "time_left b 10 1e9", "time_left b -1 0"):
        assert session.handle(bad).startswith("? syntax error"), bad


def test_boardsize_with_a_fresh_network_per_size(tiny_engine) -> None:
    made: list[int] = []

    def new_engine(game: Go) -> Engine:
        made.append(game.size)
        return tiny_engine(game, sims=2)

    session = GtpEngine(tiny_engine("go", sims=2, size=9), new_engine=new_engine)
    assert session.handle("boardsize 7") == "=\n\n" and made == [7]
    assert session.handle("genmove w").startswith("= ")
    assert session.handle("play b G7") == "=\n\n" and session.handle("play b H8") == "? illegal move\n\n"


def zeroplay_gtp(run_dir: object, *extra: str) -> GtpClient:
    return GtpClient(zeroplay_argv("gtp", str(run_dir), *extra), name="zeroplay gtp")


@pytest.mark.slow
def test_cli_stdout_is_protocol_only(tiny_checkpoint) -> None:
    client = zeroplay_gtp(tiny_checkpoint("go", size=9), "--sims", "4")
    try:
        assert client.command("protocol_version", timeout=60) == "2"
        assert client.command("name") == "zeroplay"
        move = client.command("genmove b")
        games.make("go", size=9).initial_state().apply_text(move)
        with pytest.raises(GtpError, match="unacceptable size"):
            client.command("boardsize 13")
        with pytest.raises(GtpError, match="illegal move"):
            client.command(f"play w {move if move != 'pass' else 'Z1'}")
        assert "\n" in client.command("showboard")
        assert client.command("list_commands").split("\n")[-1] == "quit"
    finally:
        status = client.quit()
    assert status == 0
    assert "genmove B" in client.stderr_tail()


def test_client_reports_a_dead_engine() -> None:
    client = GtpClient([sys.executable, "-c", "print('=1 hi'); print()"], name="fake")
    assert client.command("name", timeout=10) == "hi"
    with pytest.raises(ProcessError, match="output ended"):
        client.command("name", timeout=10)
    client.close()


@pytest.mark.slow
@pytest.mark.skipif(GNUGO is None, reason="GNU Go is not installed (gnugo not on PATH nor at /usr/games/gnugo)")
def test_full_game_against_gnugo(tiny_checkpoint) -> None:
    """A 9x9 game, GNU Go level 1 (Black) against a tiny network at 8 simulations (White).

    Both use simple ko and Chinese (area) rules; every move is checked by our referee. Neither
    resigns, so the game ends by the rules: two passes in a row, or the move cap.
    """
    assert GNUGO is not None
    referee = games.make("go", size=9, komi=7.5, ko="simple")
    state = referee.initial_state()
    actions: list[int] = []
    gnugo = GtpClient([GNUGO, "--mode", "gtp", "--level", "1", "--chinese-rules", "--never-resign"], name="gnugo")
    ours = zeroplay_gtp(tiny_checkpoint("go", size=9), "--sims", "8", "--ko", "simple", "--resign-threshold", "-1")
    try:
        for client in (gnugo, ours):
            client.command("boardsize 9", timeout=60)
            client.command("clear_board")
            client.command("komi 7.5")
        players = {0: (gnugo, "b"), 1: (ours, "w")}
        while not state.is_terminal():
            mover, colour = players[state.to_play]
            other, _ = players[1 - state.to_play]
            move = mover.command(f"genmove {colour}", timeout=60)
            actions.append(state.parse_action(move))
            state = state.apply(actions[-1])  # raises on an illegal move
            other.command(f"play {colour} {move}", timeout=60)
        assert ours.command("final_score") == state.result()
    finally:
        gnugo.quit()
        ours.quit()
    passes = [a == referee.pass_action for a in actions[-2:]]
    assert passes == [True, True] or len(actions) == referee.max_moves, actions
    (record,) = read_records(write_record(GameRecord(referee, tuple(actions), players=("gnugo", "zeroplay"))), "sgf",
                             ko="simple")
    replayed = record.final_state()  # the record replays, move by move, to the same end
    assert record.ending == "terminal" and replayed.is_terminal()
    assert replayed.stones(0) == state.stones(0) and replayed.stones(1) == state.stones(1)
    assert record.tags["RE"] == state.result() == replayed.result()
    print(f"gnugo (B) vs zeroplay (W): {state.result()} after {len(actions)} moves")
