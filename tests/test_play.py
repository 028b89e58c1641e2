"""Tests of ``zeroplay play`` (cluster/play.py), driving PlaySession through its input."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from zeroplay_command import zeroplay_argv

import games
from cluster.engines.play import PlaySession
from games.pgn import read_pgn
from games.records import read_records
from games.sgf import read_sgf

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def ttt(tiny_engine) -> PlaySession:
    session = PlaySession(tiny_engine("tictactoe", sims=8), human=0)
    session.start()
    return session


def test_full_tictactoe_game_then_save(ttt: PlaySession, tmp_path: Path) -> None:
    transcript = []
    while not ttt.game_over:
        move = ttt.state.action_to_text(ttt.state.legal_actions()[0])
        transcript.append(ttt.handle(move))
    assert "game over:" in transcript[-1]
    assert ("draw" in transcript[-1]) or ("wins" in transcript[-1])
    assert ttt.prompt.startswith("game over")
    assert "the game is over" in ttt.handle("a1")
    saved = tmp_path / "game.txt"
    assert "saved" in ttt.handle(f"save {saved}")
    (record,) = read_records(saved.read_text(), "moves")
    assert list(record.actions) == ttt.actions and record.players[1] == ttt.engine.name
    assert record.final_state().is_terminal()


def test_bad_inputs_reprompt_without_changing_the_game(ttt: PlaySession) -> None:
    ttt.handle("b2")
    before = list(ttt.actions)
    assert len(before) == 2  # the human's move and the engine's reply
    for junk, fragment in [
        ("hello there", "not a move"),
        ("d4", "not a move"),
        ("b2", "not a legal move"),
        (ttt.state.action_to_text(ttt.actions[1]), "not a legal move"),
        ("save", "usage: save FILE"),
    ]:
        reply = ttt.handle(junk)
        assert fragment in reply, reply
        assert ttt.actions == before and not ttt.game_over
    assert ttt.handle("   ") == ""
    assert "undo" in ttt.handle("help")


def test_undo_hint_eval(ttt: PlaySession) -> None:
    assert "nothing to undo" in ttt.handle("undo")
    ttt.handle("a1")
    ttt.handle(ttt.state.action_to_text(ttt.state.legal_actions()[-1]))
    assert len(ttt.actions) == 4
    reply = ttt.handle("undo")
    assert reply.startswith("took back") and len(ttt.actions) == 2 and ttt.state.to_play == 0
    hint = ttt.handle("hint")
    assert hint.startswith("hint (8 simulations)") and "visits" in hint and "win" in hint
    assert "your win probability" in ttt.handle("eval")
    assert ttt.actions[0] == games.make("tictactoe").initial_state().parse_action("a1")


def test_bad_bytes_reprompt(tiny_engine) -> None:
    session = PlaySession(tiny_engine("tictactoe", sims=2), human=0)
    out = io.StringIO()
    assert session.run(io.BytesIO(b"\xff b2\nb2\n"), out) == 0
    assert "input line 1 is not UTF-8 text" in out.getvalue() and len(session.actions) == 2


def test_engine_first_and_run_loop_to_eof(tiny_engine) -> None:
    session = PlaySession(tiny_engine("tictactoe", sims=4), human=1)
    out = io.StringIO()
    assert session.run(io.StringIO("zz\nhint\n"), out) == 0
    text = out.getvalue()
    assert "You play O" in text and "engine plays" in text and "is not a move" in text
    assert len(session.actions) == 1 and session.state.to_play == 1
    quitter = PlaySession(tiny_engine("tictactoe", sims=4))
    out = io.StringIO()
    assert quitter.run(io.StringIO("quit\nb2\n"), out) == 0
    assert out.getvalue().rstrip().endswith("bye") and quitter.actions == []


def test_go_pass_resign_and_sgf(tiny_engine, tmp_path: Path) -> None:
    session = PlaySession(tiny_engine("go", sims=4, size=9), human=0)
    session.start()
    assert "engine plays" in session.handle("D4")
    assert "not a legal move" in session.handle("d4")
    assert "not a move" in session.handle("Z9")
    session.handle("pass")
    if not session.game_over:
        reply = session.handle("resign")
        assert "Black resigns" in reply and "White wins (the engine wins)" in reply
    assert session.game_over
    sgf = tmp_path / "game.sgf"
    assert "saved" in session.handle(f"save {sgf}")
    record = read_sgf(sgf.read_text())
    assert record.actions == tuple(session.actions)
    assert record.result in ("W+R",) or record.result == session.state.result()
    assert "resignation withdrawn" in session.handle("undo") or session.state.is_terminal()


def test_go_game_to_the_end_is_scored(tiny_engine) -> None:
    session = PlaySession(tiny_engine("go", sims=2, size=9, max_moves=12), human=1)
    session.start()
    reply = ""
    while not session.game_over:
        reply = session.handle("pass")
    assert "game over:" in reply and "Tromp-Taylor" in reply and "komi 7.5" in reply
    assert session.state.result() in reply


def test_chess_san_and_pgn(tiny_engine, tmp_path: Path) -> None:
    session = PlaySession(tiny_engine("chess", sims=2), human=0)
    session.start()
    assert "you play Nf3" in session.handle("Nf3")
    assert len(session.actions) == 2
    assert "not a move" in session.handle("Nf3")  # no knight reaches f3 now
    assert "not a legal move" in session.handle("e2e5")
    assert "you play e4" in session.handle("e2e4")
    assert "you play" not in session.handle("Ke3")
    pgn = tmp_path / "game.pgn"
    session.handle(f"save {pgn}")
    record = read_pgn(pgn.read_text())
    assert list(record.actions) == session.actions and record.tags["White"] == "human"
    assert "Black wins" in session.handle("resign")
    session.handle(f"save {pgn}")
    assert read_pgn(pgn.read_text()).result == "0-1"


@pytest.mark.slow
def test_cli_plays_a_fresh_network() -> None:
    done = subprocess.run(
        zeroplay_argv("play", "--game", "tictactoe", "--sims", "2", "--second"),
        input="b2\nnonsense\nquit\n", capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "engine plays" in done.stdout and "'nonsense' is not a move" in done.stdout
    assert done.stdout.rstrip().endswith("bye")
