"""``zeroplay bench search``: the network with and without the inference backend, in one run."""

from __future__ import annotations

import json

import pytest

from cluster.cli.main import main


@pytest.mark.slow
def test_bench_search_reports_the_backend_against_eager_mode(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["bench", "search", "--games", "tictactoe", "--num-games", "4", "--sims", "4", "--seconds", "0.4",
               "--backend", "jit", "--reps", "2", "--batches", "1,4", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    g = res["games"]["tictactoe"]
    assert g["backend"] == "jit" and g["requested_backend"] == "jit" and g["backend_reps"] == 2
    assert set(g["backend_batches"]) == {"4", "1"}  # G first, then the extra sizes
    for point in g["backend_batches"].values():
        assert point["eager_positions_per_s"] > 0 and point["backend_positions_per_s"] > 0
        assert point["speedup_min"] <= point["speedup"] <= point["speedup_max"]
    assert g["network_positions_per_s"] == g["backend_batches"]["4"]["backend_positions_per_s"]
    assert g["eager_network_positions_per_s"] == g["backend_batches"]["4"]["eager_positions_per_s"]
    assert g["backend_build_seconds"] > 0 and g["backend_reload_seconds"] > 0
    assert g["selfplay_simulations_per_s"] > 0 and 0 < g["evaluate_fraction"] <= 1
    # the text form names the backend and its ratio
    assert main(["bench", "search", "--games", "tictactoe", "--num-games", "2", "--sims", "2", "--seconds", "0.2",
                 "--backend", "eager", "--reps", "1"]) == 0
    out = capsys.readouterr().out
    assert "eager" in out and "x eager" in out and "interleaved" in out


def test_bench_search_refuses_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "search", "--games", "tictactoe", "--backend", "tensorrt"]) == 2
    assert "unknown inference backend 'tensorrt'" in capsys.readouterr().err
    assert main(["bench", "search", "--games", "tictactoe", "--reps", "0"]) == 2
    assert main(["bench", "search", "--games", "tictactoe", "--batches", "0,4"]) == 2
    assert "--batches '0,4'" in capsys.readouterr().err
