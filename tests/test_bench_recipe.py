"""``zeroplay bench recipe``: variants parsed, runs trained by the real command and graded."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import TINY_RUN

from cluster.bench.recipe import RecipeBenchError, RecipeBenchSettings, Variant, run_recipe_bench


def test_variants_parse_assignments_and_keep_commas_inside_values():
    v = Variant.parse("pcr:selfplay.full_search_share=0.25,selfplay.cheap_simulations=8")
    assert v == Variant("pcr", ("selfplay.full_search_share=0.25", "selfplay.cheap_simulations=8"))
    anchors = Variant.parse('a:evaluate.anchors=["random", "mcts-rollouts:8"],search.solver=true')
    assert anchors.assignments == ('evaluate.anchors=["random", "mcts-rollouts:8"]', "search.solver=true")
    assert Variant.parse("default") == Variant("default")
    with pytest.raises(RecipeBenchError, match="section.key=value"):
        Variant.parse("x:solver")
    with pytest.raises(RecipeBenchError, match="name"):
        Variant.parse("bad name:search.solver=true")


def test_settings_are_checked(tmp_path: Path):
    with pytest.raises(RecipeBenchError, match="grades"):
        RecipeBenchSettings(game="go", variants=(), minutes=1, out=tmp_path)
    with pytest.raises(RecipeBenchError, match="repeat"):
        RecipeBenchSettings(game="tictactoe", variants=(Variant("a"), Variant("a")), minutes=1, out=tmp_path)
    settings = RecipeBenchSettings(game="tictactoe", variants=(Variant("b", ("search.solver=true",)),), minutes=1,
                                   out=tmp_path)
    assert [v.name for v in settings.all_variants()] == ["default", "b"]


@pytest.mark.slow
def test_two_variants_are_trained_and_graded(tmp_path: Path):
    settings = RecipeBenchSettings(
        game="tictactoe", variants=(Variant("solver", ("search.solver=true",)),), minutes=0.4,
        out=tmp_path / "runs", assignments=tuple(TINY_RUN), search_sims=(4,),
    )
    report = run_recipe_bench(settings)
    assert set(report["variants"]) == {"default", "solver"}
    for run in report["runs"]:
        assert run["games"] > 0 and run["steps"] > 0
        assert 0 <= run["grades"]["raw_policy_mistakes"] <= 4520
        assert 0 <= run["grades"]["search_4_mistakes"] <= 4520
        assert (Path(run["run_dir"]) / "config.toml").is_file()
    assert "solver = true" in (tmp_path / "runs" / "solver-seed0" / "config.toml").read_text()
    grades = report["variants"]["solver"]["grades"]["raw_policy_mistakes"]
    assert grades["min"] <= grades["mean"] <= grades["max"]
