"""The checkpoint evaluator: pairings, the Elo ladder in ladder.json, resumption, pruned checkpoints."""

from __future__ import annotations

import json
import math
import time
import warnings

import pytest
import torch

import games
from cluster.arena.elo import EloError, bradley_terry
from cluster.arena.evaluator import Evaluator, EvaluatorConfig, EvaluatorError, EvaluatorWarning, metric_key
from cluster.arena.ladder import read_ladder
from cluster.config.presets import preset
from learner import NetworkConfig, PolicyValueNet, save_checkpoint

GAME = games.from_spec({"name": "tictactoe"})
NET = NetworkConfig(blocks=1, channels=8, value_hidden=8)
FAST = EvaluatorConfig(games_per_pairing=2, sims=4, opponents=2, anchors=("random", "mcts-rollouts:4"))


def add_checkpoint(run_dir, step: int, keep: int | None = None):
    torch.manual_seed(step)
    net = PolicyValueNet(GAME, NET)
    return save_checkpoint(
        run_dir, game=GAME, network_config=NET, weights=net.state_dict(), step=step, weights_version=step // 10,
        keep=keep,
    )


def test_bradley_terry_hand_made_results() -> None:
    ratings = bradley_terry([("A", "B", 75, 0, 25)], anchor="B")
    assert ratings["B"] == 0.0
    assert ratings["A"] == pytest.approx(400 * math.log10(3), abs=0.01)  # 190.85
    # Draws count half: 50 wins + 50 draws is a 75% score too; pairs listed either way round add up.
    ratings = bradley_terry([("A", "B", 30, 50, 0), ("B", "A", 0, 0, 20)], anchor="B")
    assert ratings["A"] == pytest.approx(190.85, abs=0.01)
    chain = bradley_terry([("A", "B", 75, 0, 25), ("B", "C", 75, 0, 25)], anchor="C")
    assert chain["B"] == pytest.approx(190.85, abs=0.01) and chain["A"] == pytest.approx(381.7, abs=0.02)
    # All wins: finite with virtual draws, and the anchor stays at 0.
    lopsided = bradley_terry([("A", "random", 10, 0, 0)], prior_draws=1.0)
    assert lopsided["random"] == 0.0 and 400 < lopsided["A"] < 700
    with pytest.raises(EloError, match="wins"):
        bradley_terry([("A", "B", -1, 0, 0)])


def test_config_validation_and_defaults() -> None:
    with pytest.raises(EvaluatorError, match="even"):
        EvaluatorConfig(games_per_pairing=3)
    with pytest.raises(EvaluatorError, match="sims"):
        EvaluatorConfig(sims=0)
    assert preset(games.make("tictactoe")).anchors == ("random", "mcts-rollouts:64")
    assert preset(games.make("chess")).anchors == ("random",)
    assert metric_key("gtp:/usr/games/gnugo --mode gtp --level 1") == "gnugo"
    assert metric_key("mcts-rollouts:64") == "mcts_rollouts_64"


@pytest.mark.slow
def test_evaluate_new_ladder_and_resume(tmp_path) -> None:
    for step in (0, 10, 20):
        add_checkpoint(tmp_path, step)
    evaluator = Evaluator(tmp_path, FAST)
    records = evaluator.evaluate_new()
    assert [r["step"] for r in records] == [0, 10, 20]
    assert [r["weights_version"] for r in records] == [0, 1, 2]
    assert records[0]["score_vs_previous"] is None
    for r in records:
        assert isinstance(r["elo"], float) and 0.0 <= r["score_vs_random"] <= 1.0
        assert "score_vs_mcts_rollouts_4" in r and r["eval_games"] > 0
    assert 0.0 <= records[2]["score_vs_previous"] <= 1.0
    json.dumps(records)  # JSON-ready

    ladder = json.loads((tmp_path / "ladder.json").read_text())
    assert ladder["ratings"]["random"] == 0.0
    # 2 anchors each, plus 1 and 2 earlier checkpoints.
    assert len(ladder["results"]) == 2 + 3 + 4
    pair = {(r["a"], r["b"]): r for r in ladder["results"]}
    assert ("step-20", "step-10") in pair and ("step-20", "step-0") in pair
    assert all(r["wins"] + r["draws"] + r["losses"] + r["void"] == 2 for r in ladder["results"])
    assert [c["id"] for c in ladder["checkpoints"]] == ["step-0", "step-10", "step-20"]
    assert ladder["checkpoints"][2]["previous"] == "step-10"
    assert ladder["checkpoints"][2]["vs_previous"]["games"] == 2

    # Nothing new: nothing played, by this evaluator or a restarted one; ``wait`` waits before saying so.
    assert evaluator.evaluate_new() == []
    start = time.monotonic()
    assert evaluator.evaluate_new(wait=0.5) == []
    assert time.monotonic() - start >= 0.45
    assert Evaluator(tmp_path, FAST).evaluate_new() == []

    # A new checkpoint while the old ones are pruned: earlier opponents come from RUN_DIR/ladder.
    add_checkpoint(tmp_path, 30, keep=1)
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("*.json")) == ["ckpt-000000030.json"]
    resumed = Evaluator(tmp_path, FAST)
    records = resumed.evaluate_new()
    assert [r["step"] for r in records] == [30]
    ladder = read_ladder(tmp_path)
    assert {(r["a"], r["b"]) for r in ladder["results"] if r["a"] == "step-30"} == {
        ("step-30", "step-20"), ("step-30", "step-10"), ("step-30", "random"), ("step-30", "mcts-rollouts:4")
    }
    assert ladder["ratings"]["random"] == 0.0


def test_pruned_checkpoint_is_skipped_with_a_warning(tmp_path) -> None:
    add_checkpoint(tmp_path, 0)
    meta = add_checkpoint(tmp_path, 10)
    meta.with_suffix(".pt").unlink()  # pruned between listing and loading
    config = EvaluatorConfig(games_per_pairing=2, sims=2, opponents=1, anchors=("random",))
    with pytest.warns(EvaluatorWarning, match="step 10"):
        records = Evaluator(tmp_path, config).evaluate_new()
    assert [r["step"] for r in records] == [0]
    ladder = read_ladder(tmp_path)
    assert [s["step"] for s in ladder["skipped"]] == [10]
    assert ladder["last_seen_step"] == 10


def test_every_checkpoints_and_unstartable_anchor(tmp_path) -> None:
    for step in (0, 10, 20):
        add_checkpoint(tmp_path, step)
    config = EvaluatorConfig(
        games_per_pairing=2, sims=2, opponents=1, anchors=("random", "gtp:/no/such/engine"), every_checkpoints=2
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = Evaluator(tmp_path, config).evaluate_new()
    assert [r["step"] for r in records] == [0, 20]
    assert any("gtp:/no/such/engine" in str(w.message) for w in caught)
    assert records[1]["score_vs_previous"] is not None  # step 20 played step 0, its evaluated predecessor


def test_evaluate_command(tmp_path, capsys) -> None:
    from cluster.cli.main import main

    add_checkpoint(tmp_path, 0)
    argv = ["evaluate", str(tmp_path), "--games", "2", "--sims", "2", "--anchor", "random", "--json"]
    assert main(argv) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert json.loads(line)["step"] == 0
    assert main(argv) == 0 and capsys.readouterr().out == ""
    assert main(["evaluate", str(tmp_path), "--games", "3"]) == 2
    assert "even" in capsys.readouterr().err


def test_a_damaged_ladder_file_is_one_error_naming_it(tmp_path) -> None:
    import os

    from cluster.arena.ladder import MAX_LADDER_BYTES, LadderError, empty_ladder

    path = tmp_path / "ladder.json"
    good = json.dumps(empty_ladder())
    cases = {
        b"\xff" + good.encode(): r"not valid UTF-8 \(byte 0\)",
        good.replace('"seen": 0', '"seen": NaN').encode(): r"not valid JSON.*NaN",
        good.replace('"seen": 0', '"seen": 1e999').encode(): r"not valid JSON.*1e999",
        b'{"format": ' + b"[" * 100_000 + b"]" * 100_000 + b"}": r"nested too deeply",
        b" " * (MAX_LADDER_BYTES + 1): rf"larger than {MAX_LADDER_BYTES} bytes",
    }
    for data, message in cases.items():
        path.write_bytes(data)
        with pytest.raises(LadderError, match=rf"{path}.*{message}"):
            read_ladder(tmp_path)
    path.unlink()
    path.mkdir()
    with pytest.raises(LadderError, match=rf"{path} is a directory"):
        read_ladder(tmp_path)
    path.rmdir()
    os.mkfifo(path)
    with pytest.raises(LadderError, match=rf"{path} is a FIFO"):  # refused before it is opened
        read_ladder(tmp_path)


def test_a_cpu_share_paces_the_evaluator_to_that_share_of_the_time(tmp_path) -> None:
    import dataclasses

    for step in (0, 10):
        add_checkpoint(tmp_path, step)
    rests: list[float] = []
    evaluator = Evaluator(tmp_path, dataclasses.replace(FAST, cpu_share=0.25), sleep=rests.append)
    pairing_seconds: list[float] = []
    pairing = evaluator._pairing

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return pairing(*args, **kwargs)
        finally:
            pairing_seconds.append(time.perf_counter() - start)

    evaluator._pairing = timed
    assert len(evaluator.evaluate_new()) == 2
    # One rest per pairing (step 0: two anchors; step 10: its predecessor and two anchors), each at least
    # three times the pairing's own time: busy at most a quarter of the time.
    assert len(rests) == len(pairing_seconds) == 5
    for rest, busy in zip(rests, pairing_seconds, strict=True):
        assert 3 * busy <= rest <= 3 * busy + 0.5
    assert Evaluator(tmp_path, FAST).config.cpu_share is None
    for bad in (0, 1.5, -0.1, True):
        with pytest.raises(EvaluatorError, match="cpu_share"):
            EvaluatorConfig(cpu_share=bad)


def test_go_rates_against_gnu_go_where_it_is_installed() -> None:
    import shutil

    from cluster.config.presets import GNUGO_ANCHOR

    for size in (7, 9, 13):
        anchors = preset(games.make("go", size=size)).anchors
        if shutil.which("gnugo") or shutil.os.path.exists("/usr/games/gnugo"):
            assert anchors == ("random", GNUGO_ANCHOR)
        else:
            assert anchors == ("random", "mcts-rollouts:64")
