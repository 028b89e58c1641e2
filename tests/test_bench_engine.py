"""Tests of ``zeroplay bench engine`` (cluster/bench/engine.py): its statistics, settings and the real command."""

from __future__ import annotations

import json

import pytest
from zeroplay_command import run_zeroplay

from cluster.bench.engine import EngineBenchError, EngineBenchSettings, overshoot_stats


def test_overshoot_statistics() -> None:
    stats = overshoot_stats([-0.010, 0.0, 0.020, 0.049, 0.051, 0.300])
    assert stats["n"] == 6 and stats["max_ms"] == 300.0 and stats["over_50ms"] == 2
    assert stats["p50_ms"] == pytest.approx(34.5) and stats["p50_ms"] <= stats["p90_ms"] <= stats["p99_ms"] <= 300


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"moves": 0}, "moves must be an integer 1..10000"),
        ({"movetime_ms": 5}, "movetime_ms"),
        ({"clock_ms": 50}, "clock_ms"),
        ({"engines": ("uci", "xboard")}, "engines must be some of uci, gtp"),
        ({"quiet": False, "hog": False}, "nothing to run"),
        ({"threads": 0}, "threads"),
    ],
)
def test_settings_are_bounded(options: dict, fragment: str) -> None:
    with pytest.raises(EngineBenchError, match=fragment):
        EngineBenchSettings(**options)


@pytest.mark.slow
def test_the_command_reports_both_engines_quiet_and_beside_a_hog() -> None:
    done = run_zeroplay("bench", "engine", "--moves", "3", "--movetime", "50", "--clock", "500", "--json",
                        timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["benchmark"] == "engine" and "cores" in result["machine"]
    assert set(result["runs"]) == {"quiet", "hog"}
    for run in result["runs"].values():
        assert run["uci_movetime"]["n"] == run["gtp_genmove"]["n"] == 3
        clock = run["uci_clock_game"]
        assert 1 <= clock["moves"] <= 3 and clock["losses_on_time"] in (0, 1)
    assert result["runs"]["hog"]["hog_cpu"] is not None
    usage = run_zeroplay("bench", "engine", "--moves", "0", timeout=120)
    assert usage.returncode == 2 and "moves must be an integer 1..10000" in usage.stderr
