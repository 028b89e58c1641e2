"""``zeroplay records``: engines play each other on Ray actors and the games become valid record collections."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from zeroplay_command import run_zeroplay

import games
from cluster.runtime.records import RecordsConfig, RecordsError, RecordsRunner, summarize
from games.collections import CollectionGame, read_collection
from games.records import OPENING_TAG
from learner.record_import import import_records

GNUGO = "/usr/games/gnugo"
STOCKFISH = "/usr/games/stockfish"


def _installed(path: str) -> bool:
    return os.path.exists(path) and os.access(path, os.X_OK)


def test_a_runner_plays_pairs_with_shared_openings_and_swapped_colours(tmp_path: Path) -> None:
    config = RecordsConfig(a="random", b="mcts-rollouts:8", game={"name": "tictactoe"}, games=5, actors=1,
                           out=tmp_path, per_file=2, random_opening_plies=2, seed=3)
    runner = RecordsRunner(0, config)
    try:
        results = [r for pair in range(3) for r in runner.play(pair)]
    finally:
        files = runner.close()
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["a_player"] for r in results] == [0, 1, 0, 1, 0]
    assert [Path(f).name for f in files] == ["records-00-0000.txt", "records-00-0001.txt", "records-00-0002.txt"]
    read = list(read_collection(tmp_path, game=games.make("tictactoe")))
    assert all(isinstance(e, CollectionGame) for e in read) and len(read) == 5
    records = sorted((e.record for e in read), key=lambda r: r.round)
    assert [r.round for r in records] == [1, 2, 3, 4, 5]
    assert all(r.event == "zeroplay records" and r.tags[OPENING_TAG] == "2" for r in records)
    assert records[0].actions[:2] == records[1].actions[:2]  # a pair shares its opening
    assert records[0].players == ("random", "mcts-rollouts:8") and records[1].players == ("mcts-rollouts:8", "random")
    summary = summarize(config, results, files, 2.0, 0, {"name": "tictactoe"})
    assert summary["games"] == 5 and summary["games_per_s"] == 2.5
    assert sum(summary["results"].values()) == 5 and summary["mean_plies"] >= 5


def test_bad_settings_and_players_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match="--games"):
        RecordsConfig(a="random", b="random", game={"name": "tictactoe"}, games=0, actors=1, out=tmp_path)
    config = RecordsConfig(a="gtp:/no/such/engine", b="random", game={"name": "go", "size": 9}, games=2, actors=1,
                           out=tmp_path)
    with pytest.raises(RecordsError, match="/no/such/engine"):
        RecordsRunner(0, config)


def _records(out: Path, *players: str, game: str, games_count: int, extra: list[str]) -> dict:
    done = run_zeroplay("records", *players, "--game", game, "--games", str(games_count), "--out", str(out),
                        "--actors", "2", "--per-file", "2", "--seed", "5", "--quiet", "--json", *extra,
                        env={"RAY_AUTH_MODE": "token"}, timeout=420)
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout)
    stored = json.loads((out / "summary.json").read_text())
    assert {k: v for k, v in stored.items() if k != "records"} == summary
    assert [r["index"] for r in stored["records"]] == list(range(games_count))
    return summary


@pytest.mark.slow
@pytest.mark.skipif(not _installed(GNUGO), reason=f"GNU Go is not installed at {GNUGO} (apt-get install gnugo)")
def test_gnugo_against_itself_gives_a_valid_sgf_collection(tmp_path: Path) -> None:
    out = tmp_path / "gnugo"
    engine = f"gtp:{GNUGO} --mode gtp --level 0 --chinese-rules --capture-all-dead"
    summary = _records(out, engine, game="go:size=5", games_count=4, extra=["--random-opening-plies", "2"])
    assert summary["games"] == 4 and summary["lost"] == 0 and summary["actors"] == 2
    assert sum(summary["results"].values()) == 4 and summary["mean_plies"] > 2 and summary["games_per_s"] > 0
    assert all(Path(f).suffix == ".sgf" for f in summary["files"]) and len(summary["files"]) >= 2
    read = list(read_collection(out, game=games.make("go", size=5), replay=True))
    assert len(read) == 4 and all(isinstance(e, CollectionGame) for e in read), [str(e) for e in read]
    for entry in read:
        record = entry.record
        assert record.players == (engine, engine) and record.tags[OPENING_TAG] == "2"
        assert record.ending in ("terminal", "resignation") and record.game.komi == 7.5
    # Every game imports as a training game of a 5x5 run under GNU Go's rules (simple ko).
    summary = import_records(out, games.make("go", size=5, ko="simple"), tmp_path / "imported")
    assert summary.imported == 4 and summary.skipped_total == 0


@pytest.mark.slow
@pytest.mark.skipif(not _installed(STOCKFISH), reason=f"Stockfish is not installed at {STOCKFISH} "
                                                        "(apt-get install stockfish)")
def test_stockfish_against_itself_gives_a_valid_pgn_collection(tmp_path: Path) -> None:
    out = tmp_path / "stockfish"
    engine = f"uci:{STOCKFISH}"
    summary = _records(out, engine, game="chess:max_plies=24", games_count=3,
                       extra=["--movetime", "5", "--uci-option", "Skill Level=0", "--uci-option", "Threads=1"])
    assert summary["games"] == 3 and summary["lost"] == 0 and summary["actors"] == 2
    read = list(read_collection(out, game=games.make("chess")))
    assert len(read) == 3 and all(isinstance(e, CollectionGame) for e in read), [str(e) for e in read]
    assert all(e.record.players == (engine, engine) and e.record.event == "zeroplay records" for e in read)
    assert sorted(e.record.round for e in read) == [1, 2, 3]
    summary = import_records(out, games.make("chess"), tmp_path / "imported")
    assert summary.imported == 3 and summary.skipped_total == 0


@pytest.mark.slow
def test_an_out_directory_with_records_is_refused(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    done = run_zeroplay("records", "random", "--game", "tictactoe", "--games", "2", "--out", str(tmp_path))
    assert done.returncode == 2 and "holds records already" in done.stderr
