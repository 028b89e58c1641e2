"""zeroplay bench connect4: the scorer reproduces the data's README baselines; network figures are well-formed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import games
from cluster.bench import connect4 as bc
from cluster.cli.main import main


def data_dir() -> Path:
    try:
        return bc.find_data_dir()
    except bc.BenchDataError as err:
        pytest.skip(f"no Connect Four benchmark data: {err}")


def readme_baselines(path: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """The README's baseline table: set -> agent -> (mistake rate, exact-optimal rate)."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for line in (path / "README.md").read_text().splitlines():
        m = re.match(r"^\| `(pons_\w+)` \| (\d+) \|(.*)\|\s*$", line)
        if not m or "/" not in m.group(3):
            continue
        cells = [c.strip() for c in m.group(3).split("|")]
        rates = [tuple(float(x) for x in c.split("/")) for c in cells]
        table[m.group(1)] = dict(zip(("random", "prefer-center", "tactical"), rates, strict=True))  # type: ignore[arg-type]
    return table


@pytest.mark.parametrize("name", ["pons_end_easy", "pons_begin_hard", "pons_middle_medium"])
def test_baselines_reproduce_the_readme_table(name: str) -> None:
    path = data_dir()
    expected = readme_baselines(path)
    assert name in expected, "README table not found"
    figures = bc.run_bench(None, path, [name])[name]
    for agent, (mistake, optimal) in expected[name].items():
        got = figures["baselines"][agent]
        assert round(got["mistake_rate"], 3) == mistake, (agent, got)
        assert round(got["exact_optimal_rate"], 3) == optimal, (agent, got)


def test_scorer_rules() -> None:
    pos = bc.Position("4453", 2, (-1, 2, 1, None, 2, 0, -3))
    assert bc.score_choices([pos], [1]).to_dict()["optimal"] == 1  # best
    score = bc.score_choices([pos] * 5, [2, 5, 6, 3, 9])
    # slower win (2) is optimal-class: no mistake; draw (5) and loss (6): mistakes; full (3) / off-board: mistakes
    assert (score.mistakes, score.optimal) == (4, 0)
    lost = bc.Position("1", -5, (-5, -3, -3, -4, -3, -3, -5))
    assert bc.score_choices([lost], [0]).mistakes == 0  # nothing to lose in a lost position


def test_data_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(bc.BenchDataError, match="--data"):
        bc.find_data_dir(tmp_path / "missing")
    monkeypatch.setenv(bc.ENV_VAR, str(tmp_path))
    with pytest.raises(bc.BenchDataError, match=bc.ENV_VAR):
        bc.find_data_dir()
    (tmp_path / "x.tsv").write_text("moves\tposition_score\tscore_col1\tscore_col2\tscore_col3\tscore_col4"
                                    "\tscore_col5\tscore_col6\tscore_col7\n44\t1\t0\t0\t0\t1\t0\t0\t0\n")
    assert bc.find_data_dir() == tmp_path
    assert bc.resolve_sets(tmp_path, None) == ["x"]
    with pytest.raises(bc.BenchDataError, match="unknown set 'y'"):
        bc.resolve_sets(tmp_path, ["y"])
    (tmp_path / "bad.tsv").write_text("nope\n")
    with pytest.raises(bc.BenchDataError, match="bad.tsv"):
        bc.load_positions(tmp_path / "bad.tsv")


def test_network_figures_are_well_formed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from learner import NetworkConfig, PolicyValueNet, save_checkpoint

    path = data_dir()
    game = games.make("connect4")
    torch.manual_seed(0)
    config = NetworkConfig(blocks=1, channels=8)
    ckpt = save_checkpoint(tmp_path / "run", game=game, network_config=config,
                           weights=PolicyValueNet(game, config).state_dict(), step=1, weights_version=2)
    rc = main(["bench", "connect4", str(ckpt), "--sims", "8", "--limit", "30", "--sets", "end_easy,begin_hard",
               "--data", str(path), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["benchmark"] == "connect4" and res["weights_version"] == 2 and "cpu" in res["machine"]
    assert list(res["sets"]) == ["pons_end_easy", "pons_begin_hard"]
    for entry in res["sets"].values():
        assert entry["n"] == 30
        for key in ("raw_policy", "search"):
            fig = entry[key]
            assert fig["n"] == 30 and 0 <= fig["mistakes"] <= 30 and 0 <= fig["optimal"] <= 30
            assert 0.0 <= fig["mistake_rate"] <= 1.0 and fig["mistake_rate"] == pytest.approx(fig["mistakes"] / 30)
        assert entry["search"]["sims"] == 8
    # the raw policy is the prior's argmax over legal moves, batched or not
    from cluster.engines.engine import Engine, EngineConfig

    engine = Engine.load(ckpt, EngineConfig(sims=1))
    positions = bc.load_positions(path / "pons_end_easy.tsv", 12)
    states = bc.positions_to_states(game, positions)
    batched = bc.raw_policy_choices(engine.evaluate, states, chunk=5)
    single = [int(engine.raw_policy(s)[0].argmax()) for s in states]
    assert batched == single
    # a fresh network for testing, and clear errors
    assert main(["bench", "connect4", "--game", "connect4", "--no-search", "--limit", "5", "--sets", "end_easy",
                 "--data", str(path)]) == 0
    assert "raw policy" in capsys.readouterr().out
    assert main(["bench", "connect4", "--data", str(path)]) == 2
    assert main(["bench", "connect4", "--game", "connect4", "--sets", "nope", "--data", str(path)]) == 2
    assert "unknown set 'nope'" in capsys.readouterr().err
