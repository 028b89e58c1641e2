"""Property-based fuzzing of the engines' input: GTP commands, UCI commands, analysis requests.

Random and mutated lines are fed to the session objects in-process (``GtpEngine.handle``,
``UciEngine.handle``, ``Analyzer.answer_line``) over tiny networks searching 1-2
simulations. The contract checked for each: nothing escapes but the protocol's own
error replies (``? ...``, ``info string error: ...``, ``{"id": ..., "error": ...}``),
every reply is well formed, time is bounded (the hypothesis deadline; a search a line
starts is stopped), and valid input is still accepted afterwards.

Examples are few and derandomised; ``ZEROPLAY_FUZZ_EXAMPLES=5000`` runs a longer,
random search.
"""

from __future__ import annotations

import io
import json
import re

import chess
import pytest
from fuzz_helpers import fuzz_settings, mutations
from hypothesis import given
from hypothesis import strategies as st

import games
from cluster.engines.analyze import Analyzer
from cluster.engines.gtp import PROTOCOL_COMMANDS, GtpEngine
from cluster.engines.uci import UciEngine

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FUZZ = fuzz_settings(40, 5)
_NUMBERS = ["0", "1", "2", "-1", "9", "19", "100", "1e308", "-1e308", "1e400", "nan", "inf", "-inf", "0.5",
            "99999999999999999999999", "1_9", "٣", "²", "0x10"]




def _command_lines(words: list[str], valid: list[str]) -> st.SearchStrategy[str]:
    """Lines of protocol-ish words and numbers, free text, and mutations of valid lines."""
    token = st.one_of(st.sampled_from(words), st.sampled_from(_NUMBERS), st.text(max_size=6),
                      st.integers().map(str), st.floats().map(str))
    return st.one_of(st.lists(token, max_size=6).map(" ".join), st.sampled_from(valid).flatmap(mutations),
                     st.sampled_from(valid), st.text(max_size=40))


# ---------------------------------------------------------------------- GTP

_GTP_VALID = ["1 name", "boardsize 9", "clear_board", "komi 6.5", "play b D4", "play w pass", "genmove b",
              "genmove white", "undo", "showboard", "final_score", "time_settings 10 1 1", "time_left b 5 0",
              "known_command play", "list_commands", "version", "protocol_version"]
_GTP_LINES = _command_lines([*PROTOCOL_COMMANDS, "b", "w", "black", "white", "pass", "resign", "D4", "E5", "a1",
                             "J9", "T19", "I5", "Z1", "#"], _GTP_VALID)
_GTP_ERRORS = ("unknown command", "illegal move", "syntax error", "unacceptable size", "cannot undo")
_GTP_REPLY = re.compile(r"([=?])([0-9]*)(?: (.*))?\n\n", re.DOTALL)


@pytest.fixture(scope="module")
def gtp(tiny_engine) -> GtpEngine:
    return GtpEngine(tiny_engine("go", sims=2, size=9), resign_threshold=-1.0)


@pytest.mark.slow
@FUZZ
@given(lines=st.lists(_GTP_LINES, min_size=1, max_size=4))
def test_gtp_answers_every_line_in_protocol(gtp: GtpEngine, lines: list[str]) -> None:
    for line in lines:
        reply = gtp.handle(line)
        if reply is None:  # only blank lines and comments are ignored (control characters do not count)
            kept = "".join(c for c in line if c in "\t\n" or (ord(c) >= 32 and ord(c) != 127))
            assert not kept.split("#", 1)[0].split(), line
            continue
        match = _GTP_REPLY.fullmatch(reply)
        assert match is not None and "\n\n" not in reply[:-2], (line, reply)
        if match.group(1) == "?":
            assert match.group(3).startswith(_GTP_ERRORS), (line, reply)
    assert gtp.handle("7 name") == "=7 zeroplay\n\n"  # still answering
    if gtp.game.size == 9:
        gtp.handle("clear_board")
        assert gtp.handle("play b C3") == "=\n\n" and gtp.handle("genmove w").startswith("= ")


# ---------------------------------------------------------------------- UCI

_UCI_VALID = ["uci", "isready", "ucinewgame", "position startpos", "position startpos moves e2e4 e7e5",
              "position fen 4k3/8/8/8/8/8/4P3/4K3 w - - 0 1 moves e2e4", "go nodes 2", "go movetime 30",
              "go wtime 1000 btime 1000 winc 10 binc 10", "go depth 1", "go infinite", "stop", "ponderhit",
              "setoption name Move Overhead value 10", "debug on"]
_UCI_LINES = _command_lines(["uci", "isready", "ucinewgame", "position", "startpos", "fen", "moves", "go", "stop",
                             "ponderhit", "setoption", "name", "value", "Move", "Overhead", "wtime", "btime", "winc",
                             "binc", "movestogo", "depth", "nodes", "mate", "movetime", "infinite", "ponder",
                             "searchmoves", "e2e4", "e7e5", "g1f3", "e2e5", "a7a8q", "0000", "8/8/8/8/8/8/8/8", "w",
                             "-"], _UCI_VALID)
_MOVE = r"[a-h][1-8][a-h][1-8][qrbn]?"
_UCI_OUTPUT = re.compile("|".join([
    r"id (name|author) .+", r"option name Move Overhead type spin default [0-9]+ min 0 max 10000", "uciok",
    "readyok", r"info string error: (?!search failed).+",
    rf"info nodes [0-9]+ time [0-9]+ nps [0-9]+ score cp -?[0-9]+ pv {_MOVE}",
    rf"bestmove ({_MOVE}|\(none\))",
]))


class _Out(io.StringIO):
    """Output that is thread-safe enough for the engine's emit lock and can be drained."""

    def drain(self) -> list[str]:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text.splitlines()


@pytest.fixture(scope="module")
def uci(tiny_engine) -> tuple[UciEngine, _Out]:
    out = _Out()
    return UciEngine(tiny_engine("chess", sims=2), out), out


@pytest.mark.slow
@FUZZ
@given(lines=st.lists(_UCI_LINES, min_size=1, max_size=4))
def test_uci_answers_every_line_in_protocol(uci: tuple[UciEngine, _Out], lines: list[str]) -> None:
    engine, out = uci
    for line in lines:
        engine.handle(line)
    engine.wait(stop_infinite=True, stop=True)  # a search started here is stopped and answered
    assert not engine.searching
    for text in out.drain():
        assert _UCI_OUTPUT.fullmatch(text), (lines, text)
    engine.handle("position startpos moves e2e4")
    engine.handle("go nodes 1")
    engine.wait()
    replies = out.drain()
    assert replies[-1].startswith("bestmove ") and not any(r.startswith("info string") for r in replies), replies
    board = chess.Board()
    board.push_uci("e2e4")
    assert chess.Move.from_uci(replies[-1].split()[1]) in board.legal_moves
    engine.handle("setoption name Move Overhead value 20")


# ---------------------------------------------------------------------- analysis JSON

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "game", "moves", "sims", "seconds", "name", "rows", "x"]) | st.text(max_size=4),
        children, max_size=4),
    max_leaves=12,
)
_ANALYZE_VALID = ['{"id": 1, "moves": ["4", "4", "3"], "sims": 2}', '{"id": "a", "sims": 0}',
                  '{"id": 2, "game": "connect4", "moves": [], "seconds": 0.02}',
                  '{"id": null, "game": {"name": "connect4"}, "moves": ["1"], "sims": 1}']
_ANALYZE_LINES = st.one_of(_JSON.map(json.dumps), st.sampled_from(_ANALYZE_VALID).flatmap(mutations),
                           st.text(max_size=40))
_ANSWER_KEYS = {"id", "move", "action", "to_play", "policy", "value", "sims", "visits", "root_value", "q"}


@pytest.fixture(scope="module")
def analyzer(tiny_engine) -> Analyzer:
    return Analyzer(tiny_engine("connect4", sims=2), default_sims=1, max_sims=4, max_seconds=0.05)


@FUZZ
@given(line=_ANALYZE_LINES)
def test_analyzer_answers_every_line_with_json(analyzer: Analyzer, line: str) -> None:
    answer = analyzer.answer_line(line)
    if answer is None:
        assert not line.strip()
        return
    reply = json.loads(answer)
    assert isinstance(reply, dict) and "\n" not in answer
    if "error" in reply:
        assert set(reply) == {"id", "error"} and isinstance(reply["error"], str) and len(reply["error"]) < 1000
    else:
        assert {"id", "move", "action", "to_play", "policy", "value"} <= set(reply) <= _ANSWER_KEYS, reply
        assert reply["move"] in reply["policy"]


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), sims=st.integers(0, 4))
def test_analyzer_accepts_valid_requests(analyzer: Analyzer, seed: int, sims: int) -> None:
    import random

    rng = random.Random(seed)
    state, moves = games.make("connect4").initial_state(), []
    for _ in range(rng.randrange(0, 12)):
        action = rng.choice(state.legal_actions())
        moves.append(state.action_to_text(action))
        state = state.apply(action)
        if state.is_terminal():
            moves.pop()
            break
    reply = json.loads(analyzer.answer_line(json.dumps({"id": seed, "moves": moves, "sims": sims})))
    assert "error" not in reply and reply["id"] == seed
    assert reply.get("sims", 0) == sims
