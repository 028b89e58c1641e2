"""``zeroplay bench cluster`` and ``zeroplay bench inference``: short runs of each measurement, tiny settings."""

from __future__ import annotations

import pytest

from cluster.bench.cluster import ClusterBenchError, ClusterBenchSettings, run_cluster_bench
from cluster.bench.inference import InferenceBenchError, InferenceBenchSettings, run_inference_bench
from cluster.cli.bench import render_cluster as render
from cluster.cli.bench import render_inference

TINY = (
    "network.blocks=1",
    "network.channels=8",
    "search.num_simulations=8",
    "selfplay.games_per_actor=8",
    "selfplay.chunk_seconds=0.3",
    "replay.min_positions=50",
    "train.batch_size=16",
    "train.publish_every=5",
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]


@pytest.fixture(scope="module")
def result(_ray_session) -> dict:
    _ray_session()
    settings = ClusterBenchSettings(
        game="tictactoe", seconds=1.0, assignments=TINY, writers=8, ingest_games=96, ingest_batch=4,
        unique_games=16, learner_seconds=0.5,
    )
    return run_cluster_bench(settings)


def _fraction(x: float) -> bool:
    return 0.0 <= x <= 1.0


def test_verdicts_follow_the_measurements(result: dict) -> None:
    assert result["benchmark"] == "cluster"
    assert {"cpu", "cores", "python", "date"} <= set(result["machine"])
    assert result["ray"]["cpus"] == 2 and result["ray"]["started_here"] is False  # used the existing Ray
    assert result["settings"]["network"].startswith("1x8")
    # Each verdict is its measurement held against its target, not a fixed answer.
    o, t, ok = result["overhead"], result["targets"], result["meets_targets"]
    assert ok["ray_overhead"] == (o["ray_overhead"] < t["ray_overhead_max"])
    assert ok["weights_broadcast_normal"] == (o["weights_broadcast_normal"] < t["weights_broadcast_max"])
    assert ok["weights_broadcast_worst"] == (o["weights_broadcast_worst"] < t["weights_broadcast_max"])
    assert ok["ingest_lossless"] == (result["ingest"]["reloaded_games"] == result["ingest"]["accepted"]
                                     == result["ingest"]["sent"])
    efficiency = result["scaling"]["min_efficiency"]
    assert ok["scaling_efficiency"] == (efficiency is not None and efficiency >= t["scaling_efficiency_min"])
    text = render(result)
    assert f"{100 * o['ray_overhead']:6.2f} %" in text and ("ok" in text or "MISSED" in text)


def test_overhead_fractions(result: dict) -> None:
    o = result["overhead"]
    assert o["actors"] == 1  # CPUs - 1, as a run
    for key in ("ray_overhead", "weights_broadcast_worst", "weights_broadcast_normal"):
        assert _fraction(o[key]), (key, o[key])
    worst = o["worst_case"]
    assert worst["chunks"] >= 1 and worst["weight_fetches"] == worst["chunks"]  # a new version every chunk
    assert worst["weights_seconds"] > 0 and o["weights_bytes"] > 0


def test_ingest_loses_nothing(result: dict) -> None:
    i = result["ingest"]
    assert i["sent"] == 96 and i["accepted"] == 96 and i["rejected"] == 0
    assert i["reloaded_games"] == 96 and i["lost"] == 0 and i["ok"]
    assert i["reloaded_positions"] == i["positions"] > 0
    assert i["games_per_s"] > 0
    assert result["meets_targets"]["ingest_lossless"]


def test_scaling_points(result: dict) -> None:
    points = result["scaling"]["points"]
    assert [p["actors"] for p in points] == [1, 2]
    assert points[0]["efficiency"] == 1.0
    assert all(p["simulations_per_s"] > 0 and len(p["per_actor"]) == p["actors"] for p in points)
    assert 0 < points[1]["efficiency"] <= 1.5


def test_bad_settings_are_named() -> None:
    with pytest.raises(ClusterBenchError, match="go"):
        ClusterBenchSettings(game="go")
    with pytest.raises(ClusterBenchError, match="actors"):
        run_cluster_bench(ClusterBenchSettings(game="tictactoe", actors=(3,), assignments=TINY))


def test_scaling_reports_cpu_share(result: dict) -> None:
    for p in result["scaling"]["points"]:
        assert len(p["cpu_per_wall"]) == p["actors"]
        assert all(0 < x <= 1.5 for x in p["cpu_per_wall"])
        assert p["efficiency_per_cpu_s"] > 0


def test_inference_bench_measures_both_modes() -> None:
    r = run_inference_bench(InferenceBenchSettings(game="tictactoe", seconds=0.5, actors=(1, 2), assignments=TINY))
    assert r["device"] == "cpu" and r["ray"]["started_here"] is False
    assert [(p["mode"], p["actors"]) for p in r["points"]] == [("local", 1), ("local", 2), ("shared", 1), ("shared", 2)]
    assert all(p["simulations_per_s"] > 0 and p["games"] >= 0 for p in r["points"])
    assert all(0 < p["evaluate_fraction"] <= 1 for p in r["points"])
    # Two actors share the CPU left beside the shared inference actor's: half a CPU each.
    assert [p["actor_cpus"] for p in r["points"]] == [1.0, 1.0, 1.0, 0.5]
    for p in r["points"][2:]:
        assert 1 <= p["mean_batch"] <= 8 * p["actors"] and p["requests_per_batch"] >= 1 and 0 < p["inference_busy"] <= 1
    assert set(r["network_positions_per_s"]) == {"8", "16"}
    best = {mode: max(p["simulations_per_s"] for p in r["points"] if p["mode"] == mode) for mode in ("local", "shared")}
    assert r["faster"] == max(best, key=best.get)
    assert r["shared_over_local"] == round(best["shared"] / best["local"], 3)
    assert "faster:" in render_inference(r)


def test_inference_bench_refuses_a_shared_actor_that_leaves_no_cpu() -> None:
    with pytest.raises(InferenceBenchError, match="leave none of this Ray instance's 2"):
        run_inference_bench(InferenceBenchSettings(game="tictactoe", inference_cpus=2, assignments=TINY))
    with pytest.raises(InferenceBenchError, match="modes"):
        InferenceBenchSettings(modes=("pooled",))
