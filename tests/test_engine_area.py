"""Go engines report the network's ownership and score lead (GTP final_score / final_status_list, analysis, play)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import games
from cluster.engines.analyze import Analyzer
from cluster.engines.engine import Engine, EngineConfig
from cluster.engines.gtp import GtpEngine
from cluster.engines.play import PlaySession
from learner import NetworkConfig, PolicyValueNet, TorchEvaluator

GO = games.make("go", size=5, komi=0.5)


def _engine(**heads: bool) -> tuple[Engine, PolicyValueNet]:
    torch.manual_seed(3)
    net = PolicyValueNet(GO, NetworkConfig(blocks=1, channels=8, value_hidden=8, **heads))
    return Engine(GO, TorchEvaluator(net), EngineConfig(sims=4)), net


def _after(*moves: str):
    state = GO.initial_state()
    for move in moves:
        state = state.apply(state.parse_action(move))
    return state


def _heads(net: PolicyValueNet, state) -> tuple[np.ndarray, float]:
    with torch.no_grad():
        out = net.heads(torch.from_numpy(state.observation()[None].astype(np.float32)))
    return out.ownership[0].numpy().reshape(-1), float(out.score[0])


@pytest.mark.parametrize("moves", [(), ("c3",)])  # Black to move, then White to move
def test_the_area_estimate_is_the_networks_heads_seen_from_black(moves) -> None:
    engine, net = _engine(ownership_head=True, score_head=True)
    state = _after(*moves)
    ownership, score = _heads(net, state)
    sign = 1.0 if state.to_play == 0 else -1.0
    estimate = engine.area_estimate(state)
    assert estimate.ownership.shape == (25,)
    np.testing.assert_allclose(estimate.ownership, sign * ownership, atol=1e-6)
    assert estimate.score_lead == pytest.approx(sign * score, abs=1e-5)
    black, white = int((estimate.ownership > 0).sum()), int((estimate.ownership < 0).sum())
    assert estimate.owner_score(0.5) == black - white - 0.5


def test_networks_without_the_heads_have_no_estimate() -> None:
    engine, _ = _engine()
    assert engine.area_estimate(GO.initial_state()) is None
    answer = json.loads(Analyzer(engine).answer_line(json.dumps({"id": 1, "moves": ["c3"]})))
    assert "ownership" not in answer and "score_lead" not in answer
    gtp = GtpEngine(engine)
    for move in ("play b c3", "play w c2"):
        assert gtp.handle(move).startswith("=")
    assert gtp.handle("final_score") == "= " + gtp.state.result() + "\n\n"
    assert gtp.handle("final_status_list dead") == "=\n\n"
    assert gtp.handle("final_status_list alive") == "= C3 C2\n\n"


def test_gtp_scores_an_unfinished_game_by_the_predicted_ownership() -> None:
    engine, _ = _engine(ownership_head=True)
    gtp = GtpEngine(engine)
    for move in ("play b c3", "play w c2", "play b b2"):
        gtp.handle(move)
    estimate = engine.area_estimate(gtp.state)
    lead = estimate.owner_score(GO.komi)
    expected = "0" if lead == 0 else f"{'B' if lead > 0 else 'W'}+{abs(lead):g}"
    assert gtp.handle("final_score") == f"= {expected}\n\n"
    dead = gtp.handle("final_status_list dead")[2:].split()
    alive = gtp.handle("final_status_list alive")[2:].split()
    assert sorted(dead + alive) == ["B2", "C2", "C3"]
    for vertex in dead:  # a dead stone is predicted to end in the other colour's area
        action = gtp.state.parse_action(vertex.lower())
        colour = gtp.state.colour_at(action)
        assert (1 if colour == 0 else -1) * estimate.ownership[action] < 0
    assert gtp.handle("final_status_list seki") == "=\n\n"
    assert gtp.handle("final_status_list nonsense").startswith("?")
    # After two passes the game is over: Tromp-Taylor area as it stands.
    gtp.handle("play w pass")
    gtp.handle("play b pass")
    assert gtp.handle("final_score") == "= " + gtp.state.result() + "\n\n"


def test_analysis_and_play_carry_ownership_and_score_lead() -> None:
    engine, net = _engine(ownership_head=True, score_head=True)
    answer = json.loads(Analyzer(engine).answer_line(json.dumps({"id": 1, "moves": ["c3"], "sims": 4})))
    ownership, score = _heads(net, _after("c3"))  # White to move: the mover's view is White's
    assert len(answer["ownership"]) == 25
    np.testing.assert_allclose(answer["ownership"], ownership, atol=1e-4)
    assert answer["score_lead"] == pytest.approx(score, abs=1e-4)
    session = PlaySession(engine, human=0)
    session.start()
    assert "predicted score" in session.handle("eval")
