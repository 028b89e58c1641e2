"""Tests of ``zeroplay analyze`` (cluster/analyze.py): answers, errors, the CLI loop, shared helpers."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from zeroplay_command import zeroplay_argv

import games
from cluster.cli.common import CliError, parse_game_spec
from cluster.engines.analyze import Analyzer
from cluster.engines.engine import Engine, EngineError
from cluster.engines.loading import merge_game
from cluster.engines.timing import TimeConfig, TimeManager
from cluster.external.transport import LineProcess

# The zeroplay command as the console script runs it (``python -m cluster.cli.common`` would load
# cluster.cli.common twice, as __main__ and as cluster.cli.common, so its CliError would not be caught).

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ask(analyzer: Analyzer, request: object) -> dict:
    line = request if isinstance(request, str) else json.dumps(request)
    answer = analyzer.answer_line(line)
    assert answer is not None
    return json.loads(answer)


@pytest.fixture(scope="module")
def c4(tiny_engine) -> Analyzer:
    return Analyzer(tiny_engine("connect4", sims=8), default_sims=16)


def test_search_answer_fields(c4: Analyzer) -> None:
    answer = ask(c4, {"id": 7, "game": "connect4", "moves": ["4", "4", "3"], "sims": 24})
    assert answer["id"] == 7
    assert "error" not in answer
    state = games.make("connect4").initial_state().apply_all(["4", "4", "3"])
    legal = {state.action_to_text(a) for a in state.legal_actions()}
    assert set(answer["policy"]) == legal
    assert sum(answer["policy"].values()) == pytest.approx(1.0, abs=1e-3)
    assert answer["to_play"] == 1
    assert answer["move"] in legal and state.action_to_text(answer["action"]) == answer["move"]
    assert sum(answer["visits"].values()) == answer["sims"] == 24
    assert answer["visits"][answer["move"]] == max(answer["visits"].values())
    assert set(answer["q"]) == set(answer["visits"])
    assert all(-1 <= q <= 1 for q in answer["q"].values())
    assert -1 <= answer["value"] <= 1 and -1 <= answer["root_value"] <= 1


def test_default_sims_and_raw_network(c4: Analyzer) -> None:
    assert ask(c4, {"id": "a"})["sims"] == 16
    raw = ask(c4, {"id": "b", "moves": ["1"], "sims": 0})
    assert "visits" not in raw and "q" not in raw and "root_value" not in raw
    assert raw["move"] == max(raw["policy"], key=raw["policy"].get)


@pytest.mark.parametrize(
    "request_text, fragment",
    [
        ("not json", "malformed JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"id": 1, "movez": []}', "unknown field(s) 'movez'"),
        ('{"id": 1, "moves": "4 4"}', "'moves' must be a list"),
        ('{"id": 1, "moves": [4]}', "move 1 (4) is not a string"),
        ('{"id": 1, "sims": -1}', "'sims' must be a non-negative integer"),
        ('{"id": 1, "sims": true}', "'sims' must be a non-negative integer"),
        ('{"id": 1, "moves": ["4", "9"]}', "move 2 ('9'): not a move"),
        ('{"id": 1, "game": "go"}', "not 'go'"),
        ('{"id": 1, "game": {"name": "connect4", "rows": 7}}', "bad 'game'"),
        ('{"id": 1, "game": 5}', "'game' must be a name or a spec"),
    ],
)
def test_errors_keep_the_id(c4: Analyzer, request_text: str, fragment: str) -> None:
    answer = ask(c4, request_text)
    assert set(answer) == {"id", "error"}
    assert fragment in answer["error"]
    assert answer["id"] == (1 if request_text.startswith("{") else None)


@pytest.mark.parametrize(
    "request_text, fragment",
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"id": 1, "sims": ' + "9" * 5000 + "}", "malformed JSON"),
        ('{"id": 1, "sims": 1000000000}', "'sims' must be a non-negative integer, at most 1000000"),
        ('{"id": 1, "seconds": 0}', "'seconds' must be a number > 0 and at most 3600"),
        ('{"id": 1, "seconds": 1e300}', "'seconds' must be"),
        ('{"id": 1, "seconds": "1"}', "'seconds' must be"),
        ('{"id": 1, "seconds": true}', "'seconds' must be"),
        ('{"id": 1, "seconds": 1, "sims": 0}', "'sims' is 0"),
        ('{"id": 1, "moves": ' + json.dumps(["4"] * 43) + "}", "'moves' has 43 moves, at most 42"),
        ('{"id": 1, "moves": [' + "1," * 100_000 + "1]}", "'moves' has 100001 moves"),
        ('{"id": 1, "game": {"name": "connect4", "rows": ' + "9" * 4000 + "}}", "bad 'game'"),
        ('{"id": 1, "game": {"name": ["connect4"]}}', "bad 'game'"),
        ('{"id": 1, "movez": 1, "' + "x" * 10_000 + '": 2}', "unknown field(s)"),
    ],
    ids=["deep", "digits", "sims", "seconds-0", "seconds-huge", "seconds-text", "seconds-bool", "seconds-raw",
         "moves-43", "moves-100001", "game-digits", "game-name", "field-name"],
)
def test_hostile_requests_are_errors_naming_the_field(c4: Analyzer, request_text: str, fragment: str) -> None:
    answer = ask(c4, request_text)
    assert set(answer) == {"id", "error"} and fragment in answer["error"], answer
    assert len(answer["error"]) < 1000
    assert ask(c4, {"id": 2, "sims": 1})["id"] == 2  # still running


def test_bad_ids_and_oversized_lines(c4: Analyzer) -> None:
    for bad_id in (2**63, -(2**63) - 1, "x" * 257, 1.5, True, [1]):
        answer = ask(c4, {"id": bad_id})
        assert answer["id"] is None and "'id' must be" in answer["error"]
    assert ask(c4, {"id": 2**63 - 1, "sims": 1})["id"] == 2**63 - 1
    huge = '{"id": 1, "moves": [' + '"1",' * 300_000 + '"1"]}'
    assert "at most 1048576" in ask(c4, huge)["error"]
    out = io.StringIO()
    stdin = io.BytesIO(b'{"id": 1, "sims": 1}\n{"id": "\xff\xfe"}\n' + b"x" * (2 << 20) + b'\n{"id": 3, "sims": 1}\n')
    assert c4.run(stdin, out) == 0
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["id"] for a in answers] == [1, None, None, 3]
    assert "not UTF-8" in answers[1]["error"] and "longer than 1048576 bytes" in answers[2]["error"]


def test_seconds_limit_the_search(tiny_engine) -> None:
    """A request's seconds bound its search (a fake clock: every network call takes 10 ms)."""
    analyzer = Analyzer(fake_clock_engine(tiny_engine("connect4"), seconds_per_call=0.01), default_sims=16)
    answer = ask(analyzer, {"id": 1, "seconds": 0.1})
    assert "error" not in answer and 1 <= answer["sims"] <= 10
    both = ask(analyzer, {"id": 2, "seconds": 100, "sims": 5})
    assert both["sims"] == 5


def fake_clock_engine(engine: Engine, *, seconds_per_call: float) -> Engine:
    """``engine`` on a fake clock that only moves when the network is called."""
    now = [0.0]

    def evaluate(observations, masks):
        now[0] += seconds_per_call
        return engine.evaluate(observations, masks)

    return Engine(engine.game, evaluate, engine.config, timing=TimeManager(TimeConfig(move_overhead=0.0),
                                                                               clock=lambda: now[0]))


def test_bad_id_full_column_and_finished_game(c4: Analyzer) -> None:
    bad = ask(c4, {"id": [1], "moves": []})
    assert bad["id"] is None and "'id'" in bad["error"]
    full = ask(c4, {"id": 2, "moves": ["1"] * 7})
    assert full["error"] == "move 7 ('1'): '1' is illegal in that position"
    won = ["1", "2", "1", "2", "1", "2", "1"]
    assert "game is over after 7 move(s)" in ask(c4, {"id": 3, "moves": won})["error"]
    late = ask(c4, {"id": 4, "moves": won + ["3"]})
    assert "move 8 ('3') is played after the game ended" in late["error"]
    assert ask(c4, {"id": 5, "sims": 0})["id"] == 5  # still running


def test_go_spec_matching_and_chess_notation(tiny_engine) -> None:
    go = Analyzer(tiny_engine("go", sims=4, size=9), default_sims=4)
    ok = ask(go, {"id": 1, "game": {"name": "go", "size": 9, "komi": 7.5}, "moves": ["D4", "pass", "e5"]})
    assert "error" not in ok and "pass" in ok["policy"] and "D4" not in ok["policy"]
    assert "not {'name': 'go', 'size': 13}" in ask(go, {"id": 2, "game": {"name": "go", "size": 13}})["error"]
    assert "illegal" in ask(go, {"id": 3, "moves": ["D4", "D4"]})["error"]
    chess = Analyzer(tiny_engine("chess", sims=4), default_sims=4)
    answer = ask(chess, {"id": 1, "moves": ["e4", "e7e5", "Nf3"], "sims": 4})
    assert answer["to_play"] == 1 and "b8c6" in answer["policy"] and len(answer["policy"]) == 29
    assert "move 2 ('Ke2')" in ask(chess, {"id": 2, "moves": ["e4", "Ke2"]})["error"]


def test_run_skips_blank_lines_and_ends_at_eof(c4: Analyzer) -> None:
    out = io.StringIO()
    assert c4.run(io.StringIO('{"id": 1, "sims": 0}\n\n{"id": 2, "sims": 2}\nbad\n'), out) == 0
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["id"] for a in answers] == [1, 2, None]


def test_game_spec_parsing() -> None:
    assert parse_game_spec("go:size=9,komi=7.5,ko=simple") == {"name": "go", "size": 9, "komi": 7.5, "ko": "simple"}
    assert parse_game_spec("tictactoe") == {"name": "tictactoe"}
    assert parse_game_spec('{"name": "go", "size": 13}') == {"name": "go", "size": 13}
    with pytest.raises(CliError, match="not key=value"):
        parse_game_spec("go:size")
    with pytest.raises(CliError, match="not valid JSON"):
        parse_game_spec("{bad")
    base = games.make("go", size=9)
    assert merge_game(base, {"name": "go", "ko": "simple"}) == games.make("go", size=9, ko="simple")
    with pytest.raises(EngineError, match="does not fit the network"):
        merge_game(base, {"name": "go", "size": 13})
    with pytest.raises(EngineError, match="plays 'go', not 'chess'"):
        merge_game(base, {"name": "chess"})


@pytest.mark.slow
def test_cli_answers_each_line_as_it_comes(tiny_checkpoint) -> None:
    """The real command: one flushed answer per request (read before the next is sent), EOF exits 0."""
    run_dir = tiny_checkpoint("tictactoe")
    proc = LineProcess(zeroplay_argv("analyze", str(run_dir), "--sims", "8"), name="analyze")
    try:
        proc.send(json.dumps({"id": 1, "moves": ["b2"], "game": "tictactoe"}))
        first = json.loads(proc.readline(60))
        assert first["id"] == 1 and sum(first["visits"].values()) == 8
        proc.send("{oops")
        assert "malformed JSON" in json.loads(proc.readline(10))["error"]
        proc.send(json.dumps({"id": 3, "moves": ["b2", "b2"]}))
        assert json.loads(proc.readline(10))["error"].startswith("move 2 ('b2')")
        proc.send(json.dumps({"id": 4, "sims": 0}))
        assert json.loads(proc.readline(10))["id"] == 4
    finally:
        status = proc.close(30)
    assert status == 0


@pytest.mark.slow
def test_cli_fresh_network_and_usage_errors() -> None:
    done = subprocess.run(
        zeroplay_argv("analyze", "--game", "tictactoe", "--sims", "0"),
        input='{"id": 1}\n', capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["id"] == 1 and len(answer["policy"]) == 9 and "visits" not in answer
    missing = subprocess.run(
        zeroplay_argv("analyze"), capture_output=True, text=True, timeout=60,
    )
    assert missing.returncode == 2 and "--game" in missing.stderr
