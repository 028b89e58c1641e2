"""Engines report solved positions exactly: Analysis.proven, UCI mate scores, analyze fields, play lines."""

from __future__ import annotations

import io
import json

import games
from cluster.engines.analyze import Analyzer
from cluster.engines.engine import Engine, EngineConfig
from cluster.engines.play import PlaySession
from cluster.engines.uci import UciEngine, uci_score
from games import State
from selfplay.evaluators import uniform_evaluator


def _engine(name: str, sims: int = 400, **options: object) -> Engine:
    return Engine(games.make(name), uniform_evaluator, EngineConfig(sims=sims, algorithm="puct", **options))


def _after(name: str, actions: tuple[int, ...]) -> State:
    state = games.make(name).initial_state()
    for action in actions:
        state = state.apply(action)
    return state


CONNECT4_WIN_IN_ONE = (0, 3, 0, 3, 0, 3)  # first player has three in column a and plays it
TICTACTOE_FORK = (0, 1, 4, 8, 6)  # X holds three corners-and-centre lines open twice: O to move loses in 2 plies


def test_a_win_in_one_is_proven_and_ends_the_search_early() -> None:
    analysis = _engine("connect4").analyse(_after("connect4", CONNECT4_WIN_IN_ONE))
    assert analysis.action == 0
    assert (analysis.proven, analysis.plies_to_end) == (1.0, 1)
    assert analysis.simulations < 400  # a solved root ends the search before its budget
    assert uci_score(analysis) == "mate 1"
    assert analysis.proof_text("the engine") == "the engine wins by force in 1 plies"


def test_a_forced_loss_is_proven_for_both_algorithms() -> None:
    for algorithm in ("puct", "gumbel"):
        engine = Engine(games.make("tictactoe"), uniform_evaluator, EngineConfig(sims=400, algorithm=algorithm))
        analysis = engine.analyse(_after("tictactoe", TICTACTOE_FORK))
        assert (analysis.proven, analysis.plies_to_end) == (-1.0, 2), algorithm
        assert uci_score(analysis) == "mate -1"
        assert analysis.proof_text("O") == "O loses by force in 2 plies"


def test_without_the_solver_nothing_is_proven_and_the_budget_is_spent() -> None:
    analysis = _engine("connect4", solver=False).analyse(_after("connect4", CONNECT4_WIN_IN_ONE))
    assert analysis.proven is None and analysis.plies_to_end is None
    assert uci_score(analysis).startswith("cp ")
    assert analysis.simulations == 400


def test_uci_reports_mate_for_a_back_rank_mate() -> None:
    out = io.StringIO()
    uci = UciEngine(_engine("chess", sims=2000), out)
    for line in ("uci", "position fen 6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1", "go nodes 2000"):
        uci.handle(line)
    uci.wait()
    text = out.getvalue()
    assert "score mate 1 " in text, text
    assert "bestmove a1a8" in text


def test_analyze_answers_carry_the_proof() -> None:
    analyzer = Analyzer(_engine("connect4"), default_sims=400)
    answer = json.loads(analyzer.answer_line(json.dumps({"id": 1, "moves": ["1", "4", "1", "4", "1", "4"]})))
    assert answer["move"] == "1"
    assert (answer["proven"], answer["plies_to_end"]) == (1.0, 1)
    opening = json.loads(analyzer.answer_line(json.dumps({"id": 2, "moves": [], "sims": 8})))
    assert "proven" not in opening and "plies_to_end" not in opening


def test_play_names_the_forced_result() -> None:
    session = PlaySession(_engine("tictactoe"), human=1)
    for action in TICTACTOE_FORK[:-1]:
        session.states.append(session.state.apply(action))
        session.actions.append(action)
    assert session.handle("eval").startswith("eval: the engine wins by force in 3 plies")
