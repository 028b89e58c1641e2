"""Tests of ``zeroplay uci`` (cluster/uci.py): a transcript, the CLI, and a game against Stockfish."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import chess
import chess.engine
import pytest
from zeroplay_command import run_zeroplay, zeroplay_argv, zeroplay_env

import games
from cluster.arena.players import ExternalEngineError, PlayerError, UciPlayer
from cluster.engines.uci import UciEngine, parse_go, value_to_cp
from cluster.external.transport import LineProcess
from games.chess import Chess, ChessState
from games.records import GameRecord, read_records, write_record

STOCKFISH = shutil.which("stockfish") or (
    "/usr/games/stockfish" if os.access("/usr/games/stockfish", os.X_OK) else None
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Lines(io.TextIOBase):
    """A thread-safe output stream whose complete lines can be awaited."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self._partial = ""
        self.seen: list[str] = []

    def write(self, text: str) -> int:
        text = self._partial + text
        *complete, self._partial = text.split("\n")
        for line in complete:
            self.lines.put(line)
        return len(text)

    def until(self, prefix: str, timeout: float = 10.0) -> list[str]:
        got = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            got.append(line)
            self.seen.append(line)
            if line.startswith(prefix):
                return got


@pytest.fixture()
def uci(tiny_engine) -> tuple[UciEngine, Lines]:
    out = Lines()
    return UciEngine(tiny_engine("chess", sims=4), out), out


def test_transcript(uci: tuple[UciEngine, Lines]) -> None:
    engine, out = uci
    engine.handle("uci")
    hello = out.until("uciok")
    assert hello[0].startswith("id name zeroplay") and hello[1].startswith("id author")
    engine.handle("isready")
    assert out.until("readyok") == ["readyok"]
    engine.handle("ucinewgame")
    engine.handle("position startpos moves e2e4 e7e5 g1f3")
    engine.handle("go nodes 6")
    lines = out.until("bestmove")
    info, best = lines[-2], lines[-1]
    assert info.startswith("info nodes 6 ") and " score cp " in info and info.endswith(f"pv {best.split()[1]}")
    state = games.make("chess").initial_state().apply_all(["e2e4", "e7e5", "g1f3"])
    state.apply_text(best.split()[1])  # legal for Black


def test_go_infinite_then_stop(uci: tuple[UciEngine, Lines]) -> None:
    engine, out = uci
    engine.handle("position startpos")
    engine.handle("go infinite")
    time.sleep(0.3)
    engine.handle("isready")
    assert out.until("readyok", timeout=2) == ["readyok"]  # answered while searching, no bestmove yet
    engine.handle("go nodes 1")
    assert "go while searching" in out.until("info string", timeout=2)[0]
    engine.handle("stop")  # ends the search within one step (tests/test_timing.py checks that exactly)
    lines = out.until("bestmove", timeout=30)
    nodes = int(lines[-2].split()[2])
    assert nodes > 4  # it kept searching past the default limit
    games.make("chess").initial_state().apply_text(lines[-1].split()[1])


def test_errors_keep_the_engine_running(uci: tuple[UciEngine, Lines]) -> None:
    engine, out = uci
    engine.handle("position startpos moves e2e4")
    for bad, fragment in [
        ("position fen not a fen", "bad FEN"),
        ("position fen 8/8/8/8/8/8/8/8 w - - 0 1", "bad FEN"),
        ("position startpos moves e2e4 e2e4", "move 2 ('e2e4')"),
        ("position startpos moves e2e9", "move 1 ('e2e9'): not a move"),
        ("position sideways", "expected 'startpos' or 'fen'"),
        ("position startpos e2e4", "expected 'moves'"),
        ("go nodes many", "'many' is not a number"),
        ("go sideways", "unknown argument"),
        ("go nodes inf", "nodes 'inf' must be a finite number >= 0"),
        ("go depth inf", "depth 'inf' must be a finite number >= 0"),
        ("go nodes nan", "nodes 'nan' must be a finite number >= 0"),
        ("go nodes -5", "nodes '-5' must be a finite number >= 0"),
        ("go movetime 1e400", "movetime '1e400' must be a finite number >= 0"),
        ("go wtime -1 btime 10", "wtime '-1' must be"),
        ("go nodes", "nodes needs a number"),
        ("flip", "unknown command 'flip'"),
        ("position startpos moves " + " ".join(["g1f3", "f3g1"] * 6000), "12000 moves, at most 11897"),
        ("setoption name Move Overhead value lots", "Move Overhead: 'lots'"),
    ]:
        engine.handle(bad)
        line = out.until("info string")[0]
        assert line.startswith("info string error: ") and fragment in line, (bad, line)
        if bad.startswith("go"):  # every go gets its bestmove, searched with the limits left (or the defaults)
            games.make("chess").initial_state().apply_all(["e2e4", out.until("bestmove")[-1].split()[1]])
    engine.handle("go nodes 1e30 movetime 50")  # huge but valid: 1,000,000 simulations, or 50 ms
    games.make("chess").initial_state().apply_all(["e2e4", out.until("bestmove")[-1].split()[1]])
    engine.handle("isready")
    assert out.until("readyok") == ["readyok"]
    engine.handle("go nodes 2")  # the last good position: after 1. e4
    move = out.until("bestmove")[-1].split()[1]
    games.make("chess").initial_state().apply_all(["e2e4", move])


def test_position_extends_the_previous_one(tiny_engine) -> None:
    """A GUI resends the whole game each move: an extension plays only the new moves, to the same position."""
    engine = UciEngine(tiny_engine("chess"), Lines())
    game = ["e2e4", "e7e5", "g1f3", "b8c6", "f1b5", "a7a6"]
    for n in range(len(game) + 1):
        engine.handle("position startpos moves " + " ".join(game[:n]))
    fresh = UciEngine(tiny_engine("chess"), Lines())
    fresh.handle("position startpos moves " + " ".join(game))
    assert engine.state == fresh.state and engine.state.ply == 6
    engine.handle("position startpos moves e2e4 c7c5")  # not an extension: played from the start
    assert engine.state.fen() == Chess().initial_state().apply_all(["e2e4", "c7c5"]).fen()
    engine.handle("position fen 4k3/8/8/8/8/8/4P3/4K3 w - - 0 1 moves e2e4")
    engine.handle("position startpos moves e2e4")  # the same moves from another start
    assert engine.state.ply == 1 and engine.state.fen() == Chess().initial_state().apply_text("e2e4").fen()


def test_bad_bytes_are_an_error_line(uci: tuple[UciEngine, Lines]) -> None:
    engine, out = uci
    stdin = io.BytesIO(b"position startpos moves e2e4 \xc3\n" + b"y" * (2 << 20) + b"\nisready\nquit\n")
    assert engine.run(stdin) == 0
    first, second, ready = out.until("readyok")
    assert first == "info string error: input line 1 is not UTF-8 text (byte 0xc3 at column 30); ignored"
    assert second.startswith("info string error: input line 2 is longer than 1048576 bytes")
    assert ready == "readyok" and engine.quit and engine.state.ply == 0


@pytest.mark.slow
def test_cli_survives_bad_bytes_under_a_utf8_locale() -> None:
    done = run_zeroplay(
        "uci", "--game", "chess", "--sims", "2", input=b"uci\n\xff\xfe\ngo nodes nan\nisready\nquit\n",
        text=False, timeout=120, env={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"},
    )
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0, done.stderr.decode()
    assert "info string error: input line 2 is not UTF-8 text (byte 0xff at column 1); ignored" in lines
    assert any(line.startswith("info string error: go: nodes 'nan'") for line in lines)
    assert any(line.startswith("bestmove ") for line in lines) and "readyok" in lines


def test_fen_positions_mate_and_clocks(uci: tuple[UciEngine, Lines]) -> None:
    engine, out = uci
    engine.handle("position fen 7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")  # stalemate
    engine.handle("go nodes 3")
    assert out.until("bestmove") == ["bestmove (none)"]
    engine.handle("position fen 4k3/8/8/8/8/8/4P3/4K3 w - - 0 1 moves e2e4 e8d7")
    engine.handle("go wtime 2000 btime 2000 winc 0 binc 0")
    move = out.until("bestmove")[-1].split()[1]
    Chess(fen="4k3/8/8/8/8/8/4P3/4K3 w - - 0 1").initial_state().apply_all(["e2e4", "e8d7", move])

    def plan(text: str) -> tuple[int | None, float | None, bool]:
        limits, errors = parse_go(text.split())
        assert errors == []
        return engine.plan(limits)

    # Budgets for the whole move; the time manager keeps the move overhead back from them.
    assert plan("movetime 500") == (None, pytest.approx(0.5), False)
    assert plan("nodes 7 depth 3") == (7, None, False)
    assert plan("depth 3") == (3, None, False)
    assert plan("nodes 1e30") == (1_000_000, None, False)
    assert plan("") == (4, None, False)
    assert plan("infinite") == (None, None, True)
    engine.handle("position startpos")
    assert plan("wtime 60000 btime 1000 movestogo 10")[1] == pytest.approx(6.0)
    assert plan("wtime 9000 btime 1000 winc 1000")[1] == pytest.approx(9 / 30 + 0.75)
    assert plan("wtime 1000 btime 1000 winc 5000")[1] == pytest.approx(0.8)  # at most 80% of the clock
    engine.handle("position startpos moves e2e4")
    assert plan("wtime 60000 btime 1000 movestogo 10")[1] == pytest.approx(0.1)
    # Repetition: our rules end the game, the GUI's need not; the engine still moves.
    shuffle = ["g1f3", "g8f6", "f3g1", "f6g8"] * 2
    engine.handle("position startpos moves " + " ".join(shuffle))
    engine.handle("go nodes 2")
    games.make("chess").initial_state().apply_text(out.until("bestmove")[-1].split()[1])
    engine.handle("quit")
    assert engine.quit


def test_follows_the_guis_game_past_fifty_moves_repetitions_and_the_ply_cap(tiny_engine) -> None:
    """The GUI decides when a game is over: the engine searches every legal position it is sent."""
    out = Lines()
    engine = UciEngine(tiny_engine("chess", sims=4), out, Chess(max_plies=40))
    moves = ["e2e4", "e7e5"] + ["g1f3", "g8f6", "f3g1", "f6g8"] * 25  # clock at 100, fivefold, past the cap
    for extra in ([], ["g1f3"], ["g1f3", "b8c6"]):
        board = chess.Board()
        for move in moves + extra:
            board.push_uci(move)
        engine.handle("position startpos moves " + " ".join(moves + extra))
        engine.handle("go nodes 5")
        lines = out.until("bestmove")
        assert not [line for line in lines if line.startswith("info string")], lines
        assert lines[-2].startswith("info nodes 5 ")  # searched, not a first legal move
        assert chess.Move.from_uci(lines[-1].split()[1]) in board.legal_moves


@contextlib.contextmanager
def cpu_hog() -> Iterator[None]:
    """One CPU-bound process beside the engine for the duration of the block."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


@pytest.mark.slow
def test_time_kept_beside_a_cpu_hog() -> None:
    """The promise: ``go movetime`` answered in time and a clock never run out, with a CPU hog beside the engine.

    The bound is generous (a loaded 2-core CI machine); ``zeroplay bench engine`` measures the distribution.
    """
    proc = LineProcess(zeroplay_argv("uci", "--game", "chess", "--sims", "8"), name="zeroplay uci")
    try:
        proc.send("uci")
        while proc.readline(120) != "uciok":
            pass
        proc.send("isready")
        assert proc.readline(120) == "readyok"
        with cpu_hog():
            moves: list[str] = []
            late = []
            for _ in range(8):
                proc.send("position startpos moves " + " ".join(moves))
                start = time.perf_counter()
                proc.send("go movetime 100")
                line = proc.readline(30)
                while not line.startswith("bestmove"):
                    line = proc.readline(30)
                late.append(time.perf_counter() - start - 0.1)
                moves.append(line.split()[1])
            assert max(late) < 0.5, late
            remaining = {"w": 1.0, "b": 1.0}
            board = chess.Board()
            for _ in range(8):
                side = "w" if board.turn else "b"
                proc.send("position startpos moves " + " ".join(m.uci() for m in board.move_stack))
                start = time.perf_counter()
                proc.send(f"go wtime {remaining['w'] * 1000:.0f} btime {remaining['b'] * 1000:.0f} winc 50 binc 50")
                line = proc.readline(30)
                while not line.startswith("bestmove"):
                    line = proc.readline(30)
                remaining[side] -= time.perf_counter() - start
                assert remaining[side] > 0, f"lost on time at ply {board.ply()}"
                remaining[side] += 0.05
                board.push_uci(line.split()[1])
    finally:
        proc.send("quit")
        proc.close(30)


def test_value_to_cp() -> None:
    assert value_to_cp(0.0) == 0
    assert value_to_cp(0.5) == -value_to_cp(-0.5) and 100 < value_to_cp(0.5) < 200
    assert value_to_cp(1.0) > 10000


def read_until(proc: LineProcess, prefix: str, timeout: float) -> list[str]:
    """Lines of a raw session up to and including the first that starts with ``prefix``."""
    lines = [proc.readline(timeout)]
    while not lines[-1].startswith(prefix):
        lines.append(proc.readline(timeout))
    return lines


@pytest.mark.slow
def test_cli_transcript_and_eof(tiny_checkpoint) -> None:
    """A raw line session (malformed input on purpose) with the real command; end of input exits 0."""
    proc = LineProcess(zeroplay_argv("uci", str(tiny_checkpoint("chess")), "--sims", "4"), name="zeroplay uci",
                       env=zeroplay_env())
    try:
        proc.send("uci")
        hello = read_until(proc, "uciok", 60)
        assert hello[0].startswith("id name zeroplay") and "option name Move Overhead type spin" in hello[-2]
        proc.send("position startpos moves e2e4")
        proc.send("go nodes 4")
        move = read_until(proc, "bestmove", 30)[-1].split()[1]
        games.make("chess").initial_state().apply_all(["e2e4", move])
        proc.send("position fen nonsense")
        assert read_until(proc, "info string", 10)[-1].startswith("info string error: bad FEN")
        proc.send("position startpos")
        proc.send("go")  # the --sims default
        tail = read_until(proc, "bestmove", 30)
        assert tail[-2].startswith("info nodes 4 ")
    finally:
        status = proc.close(30)
    assert status == 0
    assert "zeroplay uci:" in proc.stderr_tail()


FAKE_UCI_ENGINE = """
import sys, time
mode = "ok"
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "uci":
        print("id name fake")
        print("option name Mode type combo default ok var ok var illegal var crash var none var slow")
        print("uciok")
    elif words[0] == "isready":
        print("readyok")
    elif words[0] == "setoption":
        mode = words[-1]
    elif words[0] == "go":
        if mode == "crash":
            sys.exit(3)
        if mode == "slow":
            time.sleep(30)
        print({"ok": "bestmove e2e4", "illegal": "bestmove e2e5", "none": "bestmove (none)"}[mode])
    elif words[0] == "quit":
        break
    sys.stdout.flush()
"""


@pytest.mark.slow
def test_uci_player_drives_engines_through_chess_engine(tmp_path) -> None:
    """UciPlayer (``uci:CMD`` in matches): options, moves, and every failure mapped to the arena's errors."""
    script = tmp_path / "fake_uci.py"
    script.write_text(FAKE_UCI_ENGINE)
    command = f"{sys.executable} {script}"
    chess_game = games.make("chess")
    start = chess_game.initial_state()

    def player(mode: str, timeout: float = 30.0) -> UciPlayer:
        made = UciPlayer(command, movetime_ms=10, options=[("Mode", mode)], timeout=timeout)
        made.new_game(chess_game, start)
        return made

    ok = player("ok")
    assert start.action_to_text(ok.choose(start)) == "e2e4"
    ok.close()
    for mode, fragment in [("illegal", "answered unusably"), ("none", "has no move"), ("crash", "exited"),
                           ("slow", "no answer in time")]:
        failing = player(mode, timeout=1.0)
        with pytest.raises(ExternalEngineError, match=fragment):
            failing.choose(start)
        if mode in ("crash", "slow"):  # dropped, and a new engine started at the next game
            assert failing._client is None
            failing.new_game(chess_game, start)
            assert failing._client is not None
        failing.close()
    with pytest.raises(PlayerError, match="did not start.*option .Mode., got: sideways"):
        UciPlayer(command, options=[("Mode", "sideways")])
    with pytest.raises(PlayerError, match="did not start.*[Nn]o[Ss]uch"):
        UciPlayer(command, options=[("NoSuchOption", "1")])


def agrees_with_python_chess(state: ChessState, board: chess.Board) -> bool:
    """Whether our referee's ending of the game is the one python-chess finds on the same board."""
    return {
        "checkmate": board.is_checkmate(),
        "stalemate": board.is_stalemate(),
        "insufficient-material": board.is_insufficient_material(),
        "threefold": board.can_claim_threefold_repetition(),
        "fifty-move": board.can_claim_fifty_moves(),
        "ply-cap": board.ply() == state.game.max_plies,
    }[state.termination()]


@pytest.mark.slow
@pytest.mark.skipif(STOCKFISH is None, reason="Stockfish is not installed (not on PATH nor at /usr/games/stockfish)")
def test_full_game_against_stockfish(tiny_checkpoint) -> None:
    """Stockfish (skill 0, 10 ms a move) against a tiny network at 3 simulations, capped at 80 plies.

    Both engines are driven by python-chess's ``chess.engine``, a strict standard client, so
    this checks our side of UCI as a GUI sees it; every move is checked by our referee.
    """
    assert STOCKFISH is not None
    referee = Chess(max_plies=80)
    state = referee.initial_state()
    board = chess.Board()
    actions: list[int] = []
    stockfish = chess.engine.SimpleEngine.popen_uci([STOCKFISH], timeout=30)
    ours = chess.engine.SimpleEngine.popen_uci(
        zeroplay_argv("uci", str(tiny_checkpoint("chess")), "--sims", "3"), timeout=120, env=zeroplay_env()
    )
    try:
        stockfish.configure({"Skill Level": 0})
        assert (ours.id.get("name") or "").startswith("zeroplay") and "Move Overhead" in ours.options
        players = {0: (ours, chess.engine.Limit(nodes=3)), 1: (stockfish, chess.engine.Limit(time=0.01))}
        while not state.is_terminal():
            engine, limit = players[state.to_play]
            result = engine.play(board, limit, game="the game")  # python-chess checks the bestmove is legal
            assert result.move is not None, f"{engine.id.get('name')} found no move in {board.fen()}"
            actions.append(state.parse_action(result.move.uci()))
            state = state.apply(actions[-1])  # our referee too
            board.push(result.move)
    finally:
        stockfish.quit()
        ours.quit()
    assert state.fen() == board.fen()
    assert agrees_with_python_chess(state, board), (state.termination(), board.fen())
    (record,) = read_records(write_record(GameRecord(referee, tuple(actions), players=("zeroplay", "stockfish"))),
                             "pgn", max_plies=80)
    replayed = record.final_state()  # the record replays, move by move, to the same end
    assert record.ending == "terminal" and replayed == state and replayed.termination() == state.termination()
    print(f"zeroplay (W) vs stockfish: {state.termination()} after {board.ply()} plies")
