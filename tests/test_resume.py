"""``zeroplay train --resume`` falls back past damaged checkpoints, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_helpers import TINY_RUN
from zeroplay_command import run_zeroplay

from cluster.config.run import dump_toml, resolve
from learner import Learner, load_checkpoint


def make_run(run_dir: Path, steps: tuple[int, ...] = (20, 40)) -> list[Path]:
    """A run directory with config.toml and one checkpoint (with training state) per step; their metadata files."""
    config = resolve("tictactoe", assignments=TINY_RUN, run__minutes=2.0)
    run_dir.mkdir(parents=True)
    (run_dir / "config.toml").write_text(dump_toml(config), encoding="utf-8")
    learner = Learner(config.make_game(), config.network, config.train)
    paths = []
    for step in steps:
        learner.step, learner.weights_version = step, step // 5
        paths.append(Path(learner.save_checkpoint(str(run_dir), run_config={"toml": dump_toml(config)})))
    return paths


def corrupt(meta: Path) -> Path:
    """Flip a byte in the middle of a checkpoint's weights file (its size stays, its checksum fails)."""
    weights = meta.with_suffix(".pt")
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    return weights


@pytest.mark.slow
def test_resume_falls_back_past_a_corrupt_newest_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    _, newest = make_run(run_dir)
    bad = corrupt(newest)
    result = run_zeroplay("train", "--resume", str(run_dir), "--steps", "25", "--json", timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("zeroplay: warning:")]
    assert len(warnings) == 1, result.stderr[-3000:]
    assert str(bad) in warnings[0] and "checksum" in warnings[0] and "ckpt-000000020.json" in warnings[0]
    assert "resuming at step 20" in result.stdout
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert 25 <= summary["step"] < 40  # trained on from step 20, not from 40 or from scratch
    assert load_checkpoint(summary["checkpoint"]).step == summary["step"]


@pytest.mark.slow
def test_resume_without_any_valid_checkpoint_is_refused_in_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    for meta in make_run(run_dir):
        corrupt(meta)
    ray_tmp = tmp_path / "ray-tmp"
    result = run_zeroplay("train", "--resume", str(run_dir), "--steps", "25", env={"RAY_TMPDIR": str(ray_tmp)},
                          timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"zeroplay: error: {run_dir}: none of its 2 checkpoints verifies")
    assert "ckpt-000000040.pt" in lines[0] and "ckpt-000000020.pt" in lines[0]
    assert not ray_tmp.exists(), "Ray was started before the resume was refused"
