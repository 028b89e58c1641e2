"""Records imported as replay segments (learner.record_import) and supervised pre-training (learner.pretrain).

The imports are cached and reused; bad games are counted and listed; the imported games
fill a run's replay (the warm start); a network pre-trained on a deterministic teacher's
games predicts the teacher's move far above chance on held-out games; and the
``zeroplay pretrain`` command writes a run directory that ``status``, ``report`` and
``match`` take.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from zeroplay_command import run_zeroplay

import games
from games.collections import write_collection
from games.records import OPENING_TAG, GameRecord
from games.solver import Solver
from learner import record_import
from learner.network import NetworkConfig
from learner.pretrain import PretrainConfig, Pretrainer, PretrainError, progress_line
from learner.record_import import (
    ImportOptions,
    import_records,
    is_held_out,
    prepare_sources,
    replay_batches,
    seed_replay,
    segment_source,
    stored_games,
)
from learner.replay_store import ReplayService
from learner.train import TrainConfig
from selfplay.trajectory import decode

TTT = games.make("tictactoe")
_RANK = [1, 2, 1, 2, 0, 2, 1, 2, 1]  # centre, then corners, then edges: a choice the board's symmetries keep


def teacher_records(count: int, seed: int = 0) -> list[GameRecord]:
    """Tic-tac-toe games of a deterministic perfect player after 0-4 random opening moves (tagged)."""
    solver = Solver()
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        opening = rng.randint(0, 4)
        state, actions = TTT.initial_state(), []
        while not state.is_terminal():
            if len(actions) < opening:
                action = rng.choice(state.legal_actions())
            else:
                action = min(solver.best_moves(state), key=lambda m: (_RANK[m], m))
            actions.append(action)
            state = state.apply(action)
        first = state.returns()[0]
        records.append(GameRecord(game=TTT, actions=tuple(actions), winner=0 if first > 0 else 1 if first < 0 else None,
                                  ending="terminal", players=("solver", "solver"), tags={OPENING_TAG: str(opening)}))
    return records


@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("records") / "solver.txt"
    path.write_text(write_collection(teacher_records(600)))
    return path


@pytest.mark.slow
def test_import_is_cached_and_reused(tmp_path: Path, teacher_file: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    folders, (summary,) = prepare_sources([teacher_file], TTT, cache)
    assert summary.imported == summary.games == 600 and not summary.reused and summary.skipped_total == 0
    assert summary.positions == sum(len(r.actions) for r in teacher_records(600))
    assert summary.terminations == {"terminal": 600}
    manifest = json.loads((folders[0] / "import.json").read_text())
    assert manifest["game"] == TTT.spec() and manifest["summary"]["imported"] == 600

    def no_reading(*args, **kwargs):
        raise AssertionError("a cached import read its records again")

    monkeypatch.setattr(record_import, "read_collection", no_reading)
    again, (reused,) = prepare_sources([teacher_file], TTT, cache)
    assert again == folders and reused.reused and reused.imported == 600
    # Other options are another import; a changed file too.
    with pytest.raises(AssertionError, match="read its records again"):
        prepare_sources([teacher_file], TTT, cache, options=ImportOptions(smoothing=0.1))
    monkeypatch.undo()
    os.utime(teacher_file, ns=(1, 1))
    _, (changed,) = prepare_sources([teacher_file], TTT, cache)
    assert not changed.reused


@pytest.mark.slow
def test_an_import_stopped_half_way_is_done_again(tmp_path: Path, teacher_file: Path) -> None:
    folders, _ = prepare_sources([teacher_file], TTT, tmp_path)
    (folders[0] / "import.json").unlink()  # as if the import had died before its manifest
    _, (summary,) = prepare_sources([teacher_file], TTT, tmp_path)
    assert not summary.reused and summary.imported == 600
    assert sum(1 for _ in stored_games(folders, TTT)) == 600  # not 1200: the half import was removed


def test_bad_records_are_counted_and_listed(tmp_path: Path) -> None:
    good = teacher_records(3)
    text = write_collection(good) + "# zeroplay record\n# game: {\"name\": \"tictactoe\"}\n# result: *\nb2\n" \
        + "# zeroplay record\n# game: {\"name\": \"tictactoe\"}\n# result: 1-0\nb2\nb2\n"
    (tmp_path / "games.txt").write_text(text)
    (tmp_path / "c4.txt").write_text(write_collection([GameRecord(game=games.make("connect4"), actions=(3,),
                                                                  winner=0, ending="resignation")]))
    (tmp_path / "go.sgf").write_text("(;SZ[9];B[ee])")
    lines: list[str] = []
    summary = import_records(tmp_path, TTT, tmp_path / "out", on_skip=lines.append)
    assert summary.imported == 3
    assert summary.skipped == {"no result": 1, "illegal": 1, "other game": 2}
    assert summary.games == 6 and summary.files == 3
    assert (tmp_path / "out" / "skipped.txt").read_text().splitlines() == lines
    assert any("games.txt game 5" in line and "move 2" in line for line in lines)
    assert any("go.sgf" in line and "go games, not tictactoe" in line for line in lines)
    assert "skipped 4" in summary.line()


def test_segment_sources_are_used_in_place(tmp_path: Path, teacher_file: Path) -> None:
    folders, _ = prepare_sources([teacher_file], TTT, tmp_path / "cache")
    assert segment_source(folders[0]) == folders[0]
    run_dir = tmp_path / "run"
    (run_dir / "replay").mkdir(parents=True)
    (run_dir / "config.toml").write_text("[game]\nname = \"tictactoe\"\n")
    assert segment_source(run_dir) == run_dir / "replay"
    assert segment_source(teacher_file) is None
    again, summaries = prepare_sources([folders[0]], TTT, tmp_path / "other-cache")
    assert again == folders and summaries == []


def test_held_out_split_is_stable_and_about_the_share(tmp_path: Path, teacher_file: Path) -> None:
    folders, _ = prepare_sources([teacher_file], TTT, tmp_path)
    payloads = [stored.record.payload for stored in stored_games(folders, TTT)]
    held = [is_held_out(p, 0.2) for p in payloads]
    assert held == [is_held_out(p, 0.2) for p in payloads]
    distinct = {p: h for p, h in zip(payloads, held, strict=True)}  # a repeated game stays on one side
    assert 0.1 < sum(distinct.values()) / len(distinct) < 0.3
    assert not any(is_held_out(p, 0.0) for p in payloads)


@pytest.mark.slow
def test_imported_games_fill_a_runs_replay(tmp_path: Path, teacher_file: Path) -> None:
    service = ReplayService(TTT, tmp_path / "run" / "replay", capacity=10_000, min_positions=100,
                            max_samples_per_position=4.0)
    totals = seed_replay(service, [teacher_file], cache_dir=tmp_path / "cache")
    assert totals["accepted"] == 600 and totals["rejected"] == 0
    assert service.stats()["games_added"] == 600 and service.buffer.can_sample(64)
    service.close()
    reloaded = ReplayService(TTT, tmp_path / "run" / "replay", capacity=10_000, min_positions=100,
                             max_samples_per_position=4.0)
    assert reloaded.stats()["games_added"] == 600  # persisted like self-play games


def test_chess_games_from_a_fen_start_train_the_network_but_stay_out_of_a_runs_replay(tmp_path: Path) -> None:
    chess = games.make("chess")
    fen_game = games.make("chess", fen="4k3/8/8/8/8/8/4P3/4K3 w - - 0 1")
    records = [GameRecord(game=fen_game, actions=(fen_game.initial_state().parse_action("e2e4"),), winner=None,
                          ending="adjudicated"),
               GameRecord(game=chess, actions=(chess.initial_state().parse_action("e2e4"),), winner=0,
                          ending="resignation")]
    (tmp_path / "games.pgn").write_text(write_collection(records))
    folders, (summary,) = prepare_sources([tmp_path / "games.pgn"], chess, tmp_path / "cache")
    assert summary.imported == 2
    stored = list(stored_games(folders, chess))
    assert [s.game.fen for s in stored] == [fen_game.fen, chess.fen]
    notes: list[str] = []
    (batch,) = replay_batches(folders, chess, on_skip=notes.append)
    assert len(batch) == 1 and decode(batch[0]).game_spec == chess.spec()
    assert "not of the run's" in notes[0]


@pytest.mark.slow
def test_a_pretrained_network_predicts_the_teachers_move_far_above_chance(tmp_path: Path, teacher_file: Path) -> None:
    import torch

    torch.set_num_threads(1)
    folders, _ = prepare_sources([teacher_file], TTT, tmp_path / "cache")
    records: list[dict] = []
    trainer = Pretrainer(
        TTT, NetworkConfig(blocks=1, channels=16, value_hidden=16),
        TrainConfig(batch_size=64, optimizer="adamw", learning_rate=3e-3, device="cpu", seed=1),
        folders, PretrainConfig(epochs=10, holdout=0.15, log_every_seconds=3600), tmp_path / "run",
        on_record=records.append,
    )
    before = trainer.evaluate(trainer.load_held_out())
    summary = trainer.run()
    assert [r["epoch"] for r in records] == list(range(1, 11))  # one measured record per epoch
    last = records[-1]
    assert last["holdout_positions"] > 300 and 0.2 < last["holdout_chance"] < 0.45
    assert last["holdout_move_accuracy"] > max(0.55, last["holdout_chance"] + 0.2), progress_line(last)
    assert last["holdout_move_accuracy"] > before["holdout_move_accuracy"] + 0.15
    assert last["holdout_value_loss"] < before["holdout_value_loss"]
    assert summary["weights_version"] == 10 and summary["checkpoint"].endswith(f"ckpt-{summary['step']:09d}.json")
    # The checkpoint is an ordinary one: an engine's network plays the teacher's opening move.
    from learner.checkpoint import load_network

    game, net, meta = load_network(summary["checkpoint"])
    assert meta["run_config"]["pretrain"]["holdout_move_accuracy"] == last["holdout_move_accuracy"]
    state = game.initial_state()
    logits, _ = net(torch.as_tensor(state.observation()[None]), torch.as_tensor(state.legal_mask()[None].copy()))
    assert int(logits.argmax()) == 4  # the centre


@pytest.mark.slow
def test_training_positions_beyond_the_capacity_stream_in_chunks(tmp_path: Path, teacher_file: Path) -> None:
    folders, (summary,) = prepare_sources([teacher_file], TTT, tmp_path / "cache")
    records: list[dict] = []
    trainer = Pretrainer(
        TTT, NetworkConfig(blocks=0, channels=4, value_hidden=4), TrainConfig(batch_size=64, device="cpu"), folders,
        PretrainConfig(epochs=2, holdout=0.1, capacity=500, holdout_positions=200, log_every_seconds=3600),
        tmp_path / "run", on_record=records.append,
    )
    chunks = []
    original = trainer._chunks

    def counting():
        for buffer in original():
            chunks.append(len(buffer))
            yield buffer

    trainer._chunks = counting
    result = trainer.run()
    stats = trainer.stats
    assert stats.train_positions + stats.holdout_positions == summary.positions
    assert max(chunks) <= 500 and sum(chunks) == 2 * stats.train_positions  # every epoch reads them again
    steps_per_epoch = -(-stats.train_positions // 64)
    assert abs(result["step"] - 2 * steps_per_epoch) <= len(chunks)  # rounding per chunk
    assert [r["epoch"] for r in records] == [1, 2] and records[-1]["holdout_positions"] == 200
    line = progress_line(records[-1])
    assert "epoch 2.00" in line and "held out: move accuracy" in line and "chance" in line


def test_pretraining_needs_a_limit_and_games(tmp_path: Path) -> None:
    with pytest.raises(PretrainError, match="needs a limit"):
        PretrainConfig()
    with pytest.raises(PretrainError, match="holdout"):
        PretrainConfig(epochs=1, holdout=0.9)
    empty = tmp_path / "segments"
    empty.mkdir()
    trainer = Pretrainer(TTT, NetworkConfig(blocks=0, channels=4), TrainConfig(device="cpu"), [empty],
                         PretrainConfig(epochs=1), tmp_path / "run")
    with pytest.raises(PretrainError, match="no training games"):
        trainer.run()


@pytest.mark.slow
def test_zeroplay_pretrain_writes_a_run_that_status_report_and_match_take(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "a.txt").write_text(write_collection(teacher_records(200, seed=1)))
    (records / "bad.txt").write_text("# zeroplay record\n# game: {\"name\": \"tictactoe\"}\n# result: 1-0\nb2\nb2\n")
    run_dir = tmp_path / "run"
    cache = tmp_path / "cache"
    args = ["pretrain", "--game", "tictactoe", str(records), "--epochs", "2", "--run-dir", str(run_dir),
            "--cache-dir", str(cache), "--set", "network.blocks=1", "--set", "network.channels=8",
            "--set", "train.batch_size=64", "--threads", "1", "--json"]
    done = run_zeroplay(*args, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "skipped: " in done.stderr and "bad.txt game 1" in done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["imports"][0]["imported"] == 200 and summary["imports"][0]["skipped"] == {"illegal": 1}
    assert "held out: move accuracy" in done.stdout
    for name in ("config.toml", "metrics.jsonl", "pretrain.json", "tensorboard", "checkpoints"):
        assert (run_dir / name).exists(), name
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics if "holdout_move_accuracy" in m] == [1, 2]
    status = run_zeroplay("status", str(run_dir), "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["step"] == summary["step"]
    report = run_zeroplay("report", str(run_dir))
    assert report.returncode == 0 and "losses.png" in report.stdout
    match = run_zeroplay("match", str(run_dir), "random", "--games", "2", "--sims", "4", "--quiet", "--json",
                         timeout=120)
    assert match.returncode == 0, match.stderr[-2000:]
    assert json.loads(match.stdout)["games_played"] == 2
    # A second run with the same records reads none of them again, and a used run directory is refused.
    again = run_zeroplay(*[a if a != str(run_dir) else str(tmp_path / "run2") for a in args], timeout=300)
    assert again.returncode == 0 and "reused from the cache" in again.stdout
    refused = run_zeroplay(*args)
    assert refused.returncode == 2 and "not empty" in refused.stderr
