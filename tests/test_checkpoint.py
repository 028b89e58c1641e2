"""Tests of learner.checkpoint."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import games
from learner.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    latest_checkpoint,
    latest_valid_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_network,
    read_metadata,
    read_weights_file,
    save_checkpoint,
    verify_checkpoint,
)
from learner.inference import TorchEvaluator
from learner.network import NetworkConfig, PolicyValueNet
from learner.replay import ReplayBuffer
from learner.train import Learner, TrainConfig, load_across_sizes

torch.set_num_threads(2)

TTT = games.make("tictactoe")
SMALL = NetworkConfig(blocks=1, channels=16, value_hidden=16)
RUN_CONFIG = {"game": "tictactoe", "simulations": 32, "nested": {"a": [1, 2.5, None]}}


def _batch(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(TTT, 500, seed=seed, min_positions=1)
    for _ in range(10):
        state, obs, masks, pols = TTT.initial_state(), [], [], []
        while not state.is_terminal():
            obs.append(state.observation())
            masks.append(state.legal_mask().copy())
            pols.append(masks[-1] / masks[-1].sum())
            state = state.apply(int(rng.choice(state.legal_actions())))
        buf.add_game(
            np.stack(obs),
            np.stack(masks),
            np.stack(pols).astype(np.float32),
            rng.choice([-1.0, 1.0], len(obs)).astype(np.float32),
            0,
        )
    return buf.sample(32)._asdict()


def _trained(steps: int = 3, **config) -> Learner:
    learner = Learner(TTT, SMALL, TrainConfig(device="cpu", learning_rate=0.01, **config))
    batch = _batch()
    for _ in range(steps):
        learner.train_step(batch)
    learner.publish()
    return learner


def _saved(tmp_path: Path) -> tuple[Learner, Path]:
    learner = _trained()
    meta_path = Path(learner.save_checkpoint(str(tmp_path / "run"), RUN_CONFIG))
    return learner, meta_path


@pytest.mark.slow
def test_round_trip_and_exact_resume(tmp_path: Path) -> None:
    learner, meta_path = _saved(tmp_path)
    assert meta_path == tmp_path / "run" / "checkpoints" / "ckpt-000000003.json"
    assert sorted(p.name for p in meta_path.parent.iterdir()) == [
        "ckpt-000000003.json",
        "ckpt-000000003.pt",
        "ckpt-000000003.train.pt",
    ]  # no temp files left behind
    for where in (
        tmp_path / "run",
        tmp_path / "run" / "checkpoints",
        meta_path,
        meta_path.with_suffix(".pt"),
        meta_path.with_name("ckpt-000000003.train.pt"),
    ):
        ckpt = load_checkpoint(where)
        assert ckpt.path == meta_path
    assert ckpt.step == 3 and ckpt.weights_version == 1
    assert dict(ckpt.game_spec) == TTT.spec() and ckpt.network_config == SMALL
    assert ckpt.run_config == RUN_CONFIG
    assert ckpt.metadata["format_version"] == FORMAT_VERSION
    weights = learner.weights()
    assert set(ckpt.weights) == set(weights)
    assert all(torch.equal(ckpt.weights[k], weights[k]) for k in weights)

    # resuming gives exactly the same next step as continuing
    resumed = Learner.from_checkpoint(str(tmp_path / "run"))
    assert resumed.step == 3 and resumed.weights_version == 1 and resumed.config == learner.config
    batch = _batch(1)
    assert resumed.train_step(batch) == learner.train_step(batch)
    assert all(torch.equal(x, y) for x, y in zip(resumed.weights().values(), learner.weights().values(), strict=True))

    # network for play
    game, net, meta = load_network(meta_path)
    assert game == TTT and not net.training and meta["step"] == 3
    evaluator = TorchEvaluator.from_checkpoint(meta_path)
    assert evaluator.weights_version == 1
    obs = np.stack([TTT.initial_state().observation()])
    with torch.no_grad():
        expected = load_checkpoint(meta_path).build_network()[1](torch.from_numpy(obs))[1].numpy()
    np.testing.assert_allclose(evaluator(obs, np.ones((1, 9), bool))[1], expected)
    assert read_weights_file(meta_path.with_suffix(".pt")).keys() == weights.keys()


def test_a_wdl_checkpoint_records_its_head_and_loads_only_into_a_wdl_network(tmp_path: Path) -> None:
    wdl = dataclasses.replace(SMALL, value_head="wdl")
    learner = Learner(TTT, wdl, TrainConfig(device="cpu", learning_rate=0.01))
    batch = _batch()
    for _ in range(2):
        learner.train_step(batch)
    learner.publish()
    meta_path = Path(learner.save_checkpoint(str(tmp_path / "run"), RUN_CONFIG))
    assert read_metadata(meta_path)["network"]["value_head"] == "wdl"
    ckpt = load_checkpoint(meta_path)
    assert ckpt.network_config == wdl
    # the network for play has the head, the same outputs, and the scalar contract
    game, net, _ = load_network(meta_path)
    assert net.config.value_head == "wdl"
    obs = torch.from_numpy(np.stack([TTT.initial_state().observation()]))
    learner.net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net.wdl(obs), learner.net.wdl(obs))
        logits, value = net(obs)
    assert logits.shape == (1, 9) and value.shape == (1,)
    # resuming keeps the head and the exact next step
    resumed = Learner.from_checkpoint(str(tmp_path / "run"), network_config=wdl)
    learner.net.train()
    assert resumed.network_config == wdl and resumed.train_step(batch) == learner.train_step(batch)
    # into a scalar network, or resumed as one: a clear error naming the head
    with pytest.raises(CheckpointError, match=r"ckpt-000000002.json.*value_head 'wdl' vs 'scalar'"):
        ckpt.load_into(PolicyValueNet(TTT, SMALL))
    with pytest.raises(CheckpointError, match=r"value_head 'wdl' vs 'scalar'; checkpoint vs configured"):
        Learner.from_checkpoint(str(tmp_path / "run"), network_config=SMALL)
    with pytest.raises(ValueError, match="network config"):
        Learner(TTT, SMALL, TrainConfig(device="cpu")).load_state_dict(ckpt.training_state)
    # weights of one head under metadata naming the other are refused by name, both ways
    for weights, config, found in ((learner.weights(), SMALL, "wdl"), (_trained().weights(), wdl, "scalar")):
        path = save_checkpoint(
            tmp_path / f"liar-{found}", game=TTT, network_config=config, weights=weights, step=1, weights_version=1
        )
        with pytest.raises(CheckpointError, match=f"weights have a '{found}' value head but the metadata says"):
            load_network(path)


def test_metadata_from_before_value_heads_loads_as_scalar(tmp_path: Path) -> None:
    _, meta_path = _saved(tmp_path)
    meta = json.loads(meta_path.read_text())
    del meta["network"]["value_head"]
    meta_path.write_text(json.dumps(meta))
    game, net, _ = load_network(meta_path)
    assert net.config == SMALL and net.config.value_head == "scalar"


def test_keep_last_n(tmp_path: Path) -> None:
    learner = Learner(TTT, SMALL, TrainConfig(device="cpu", keep_checkpoints=2))
    batch = _batch()
    steps = []
    for _ in range(4):
        learner.train_step(batch)
        learner.save_checkpoint(str(tmp_path))
        steps.append(learner.step)
    # an orphaned older weights file (a crash before the metadata was written) is cleaned up too
    (tmp_path / "checkpoints" / "ckpt-000000000.pt").write_bytes(b"partial")
    learner.train_step(batch)
    learner.save_checkpoint(str(tmp_path))
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == [f"ckpt-00000000{s}.{ext}" for s in (4, 5) for ext in ("json", "pt", "train.pt")]
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-000000004.json", "ckpt-000000005.json"]
    assert latest_checkpoint(tmp_path).name == "ckpt-000000005.json"
    assert latest_checkpoint(tmp_path / "checkpoints").name == "ckpt-000000005.json"
    assert latest_checkpoint(tmp_path / "nothing") is None
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "empty")


def test_weights_only_checkpoint_without_training_state(tmp_path: Path) -> None:
    learner = _trained()
    path = save_checkpoint(
        tmp_path / "checkpoints", game=TTT, network_config=SMALL, weights=learner.weights(), step=7, weights_version=2
    )
    assert sorted(p.name for p in path.parent.iterdir()) == ["ckpt-000000007.json", "ckpt-000000007.pt"]
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.training_state is None and ckpt.step == 7 and ckpt.run_config == {}
    with pytest.raises(CheckpointError, match="no training state"):
        Learner.from_checkpoint(str(tmp_path))
    with pytest.raises(ValueError, match="JSON"):
        save_checkpoint(
            tmp_path,
            game=TTT,
            network_config=SMALL,
            weights=learner.weights(),
            step=8,
            weights_version=2,
            run_config={"x": object()},
        )


def test_atomic_write_leaves_no_partial_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    learner, meta_path = _saved(tmp_path)
    # a crash while writing the next checkpoint's data: the old one stays the latest, no temp files remain
    import learner.checkpoint as ck

    real_replace = os.replace

    def failing_replace(src, dst):  # noqa: ANN001
        if str(dst).endswith(".train.pt"):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(ck.os, "replace", failing_replace)
    learner.train_step(_batch())
    with pytest.raises(OSError, match="disk full"):
        learner.save_checkpoint(str(tmp_path / "run"))
    monkeypatch.undo()
    assert latest_checkpoint(tmp_path / "run") == meta_path
    assert not [p for p in meta_path.parent.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert load_checkpoint(tmp_path / "run").step == 3


def test_truncated_weights_rejected(tmp_path: Path) -> None:
    _, meta_path = _saved(tmp_path)
    weights = meta_path.with_suffix(".pt")
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"ckpt-000000003\.pt.*truncated"):
        load_checkpoint(meta_path)
    # truncated metadata
    meta_path.write_text(meta_path.read_text()[:40])
    with pytest.raises(CheckpointError, match=r"ckpt-000000003\.json.*JSON"):
        load_checkpoint(meta_path)


def test_flipped_bytes_fail_checksum(tmp_path: Path) -> None:
    _, meta_path = _saved(tmp_path)
    for name in ("ckpt-000000003.pt", "ckpt-000000003.train.pt"):
        path = meta_path.with_name(name)
        original = path.read_bytes()
        data = bytearray(original)
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(CheckpointError, match=rf"{name.replace('.', '[.]')}.*checksum"):
            load_checkpoint(meta_path)
        path.write_bytes(original)
    load_checkpoint(meta_path)


class _Exploit:
    """Unpickling this runs code: it creates a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (open, (self.marker, "w"))


def test_foreign_pickle_never_executes(tmp_path: Path) -> None:
    _, meta_path = _saved(tmp_path)
    marker = tmp_path / "pwned"
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Exploit(str(control))))
    assert control.exists()  # the payload is live: plain unpickling runs it
    payload_obj = {"layer.weight": _Exploit(str(marker))}
    # both as a raw pickle and inside a torch zip archive (torch.save pickles it the same way)
    raw = pickle.dumps(payload_obj)
    with open(tmp_path / "zip.pt", "wb") as f:
        torch.save(payload_obj, f)
    zipped = (tmp_path / "zip.pt").read_bytes()
    for payload in (raw, zipped):
        weights = meta_path.with_suffix(".pt")
        weights.write_bytes(payload)
        # forge the metadata so that size and checksum match: only weights_only loading protects us
        meta = json.loads(meta_path.read_text())
        meta["files"]["weights"].update(bytes=len(payload), sha256=hashlib.sha256(payload).hexdigest())
        meta_path.write_text(json.dumps(meta))
        with pytest.raises(CheckpointError, match=r"ckpt-000000003\.pt.*weights-only"):
            load_checkpoint(meta_path)
        with pytest.raises(CheckpointError, match="weights-only"):
            read_weights_file(weights)
        assert not marker.exists()
    # a pickle file on its own, without metadata
    lone = tmp_path / "model.pt"
    lone.write_bytes(raw)
    with pytest.raises(CheckpointError, match="metadata"):
        load_checkpoint(lone)
    with pytest.raises(CheckpointError, match="weights-only"):
        read_weights_file(lone)
    assert not marker.exists()


def test_non_tensor_content_rejected(tmp_path: Path) -> None:
    _, meta_path = _saved(tmp_path)
    weights = meta_path.with_suffix(".pt")
    for content in ({"w": [1, 2, 3]}, [torch.zeros(2)], {}):
        with open(weights, "wb") as f:
            torch.save(content, f)
        data = weights.read_bytes()
        meta = json.loads(meta_path.read_text())
        meta["files"]["weights"].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        meta_path.write_text(json.dumps(meta))
        with pytest.raises(CheckpointError, match=r"ckpt-000000003\.pt"):
            load_checkpoint(meta_path)


def test_missing_json_and_files(tmp_path: Path) -> None:
    _, meta_path = _saved(tmp_path)
    weights = meta_path.with_suffix(".pt")
    os.rename(weights, tmp_path / "moved.pt")
    with pytest.raises(CheckpointError, match=r"ckpt-000000003\.pt.*missing"):
        load_checkpoint(meta_path)
    os.rename(tmp_path / "moved.pt", weights)
    meta_path.unlink()
    with pytest.raises(CheckpointError, match=r"ckpt-000000003\.json.*missing"):
        load_checkpoint(weights)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(meta_path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "run")  # the .json is what makes a checkpoint visible


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(format_version=FORMAT_VERSION + 1), "unsupported checkpoint format version"),
        (lambda m: m.update(format="something-else"), "not a zeroplay checkpoint"),
        (lambda m: m.pop("weights_version"), "missing key 'weights_version'"),
        (lambda m: m.update(step="3"), "'step' should be int"),
        (lambda m: m["files"].pop("weights"), "no 'weights' entry"),
        (lambda m: m["files"]["weights"].update(name="../../etc/passwd"), "malformed"),
        (lambda m: m["network"].update(blocks=-1), "network config"),
    ],
)
def test_foreign_or_wrong_version_metadata(tmp_path: Path, edit, message: str) -> None:  # noqa: ANN001
    _, meta_path = _saved(tmp_path)
    meta = json.loads(meta_path.read_text())
    edit(meta)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(meta_path)
    assert "ckpt-000000003.json" in str(info.value)
    assert isinstance(info.value, ValueError)


# ---------------------------------------------------------------- hostile metadata and files


def _loaders(meta_path: Path, without: tuple[str, ...] = ()) -> list:
    """Every way to load a checkpoint from its metadata (each must raise CheckpointError)."""
    loaders = {
        "load_checkpoint": lambda: load_checkpoint(meta_path),
        "load_checkpoint(run_dir)": lambda: load_checkpoint(meta_path.parent.parent),
        "load_checkpoint(.pt)": lambda: load_checkpoint(meta_path.with_suffix(".pt")),
        "load_network": lambda: load_network(meta_path),
        "Learner.from_checkpoint": lambda: Learner.from_checkpoint(str(meta_path)),
        "TorchEvaluator.from_checkpoint": lambda: TorchEvaluator.from_checkpoint(meta_path),
        "verify_checkpoint": lambda: verify_checkpoint(meta_path),
        "read_metadata": lambda: read_metadata(meta_path),
    }
    return [load for name, load in loaders.items() if name not in without]


def _one_line_error_naming(fn, name: str, fragment: str) -> None:
    with pytest.raises(CheckpointError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message and name in message and fragment in message, message


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"format": "zeroplay-checkpoint", "run_config": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001, "nested"),
        (b'{"format": "zeroplay-checkpoint", "created_unix": NaN}', "NaN"),
        (b'{"format": "zeroplay-checkpoint", "created_unix": Infinity}', "Infinity"),
        (b'{"format": "zeroplay-checkpoint", "created_unix": -Infinity}', "Infinity"),
        (b'{"format": "zeroplay-\xff\xfe"}', "UTF-8"),
        (b" " * (2 << 20) + b"{}", "1048576"),
    ],
    ids=["deep-list", "deep-map", "nan", "infinity", "minus-infinity", "bad-utf8", "huge"],
)
def test_hostile_metadata_gives_one_line_checkpoint_error(tmp_path: Path, content: bytes, fragment: str) -> None:
    _, meta_path = _saved(tmp_path)
    meta_path.write_bytes(content)
    for load in _loaders(meta_path):
        _one_line_error_naming(load, "ckpt-000000003.json", fragment)


@pytest.mark.parametrize("role", ["json", "pt", "train.pt"])
@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_directory_or_fifo_where_a_file_should_be(tmp_path: Path, role: str, kind: str) -> None:
    _, meta_path = _saved(tmp_path)
    target = meta_path.with_name(f"ckpt-000000003.{role}")
    target.unlink()
    if kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)  # opening it for reading would wait for a writer forever
    without = {
        "json": (),
        "pt": ("read_metadata",),
        # Playing needs no training state.
        "train.pt": ("read_metadata", "load_network", "TorchEvaluator.from_checkpoint"),
    }[role]
    for load in _loaders(meta_path, without):
        _one_line_error_naming(load, target.name, "not a regular file")


def _fix_entry(meta_path: Path, role: str, **changes) -> None:
    meta = json.loads(meta_path.read_text())
    meta["files"][role].update(changes)
    meta_path.write_text(json.dumps(meta))


def test_a_huge_file_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    import tracemalloc

    _, meta_path = _saved(tmp_path)
    weights = meta_path.with_suffix(".pt")
    with open(weights, "r+b") as f:
        f.truncate(1 << 30)  # a sparse GiB: reading it would cost a GiB of memory
    tracemalloc.start()
    try:
        for load in _loaders(meta_path, ("read_metadata",)):
            _one_line_error_naming(load, "ckpt-000000003.pt", "ckpt-000000003.json says")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"bytes": -1}, "malformed"),
        ({"bytes": True}, "malformed"),
        ({"bytes": 2**70}, "malformed"),
        ({"sha256": "abc"}, "malformed"),
        ({"name": ".."}, "malformed"),
        ({"name": ""}, "malformed"),
        ({"name": "x" * 300 + ".pt"}, "malformed"),  # too long for the file system: ENAMETOOLONG
        ({"name": "config.toml"}, "malformed"),
    ],
)
def test_file_entries_are_range_checked(tmp_path: Path, changes: dict, fragment: str) -> None:
    _, meta_path = _saved(tmp_path)
    _fix_entry(meta_path, "weights", **changes)
    for load in _loaders(meta_path):
        _one_line_error_naming(load, "ckpt-000000003.json", fragment)


@pytest.mark.parametrize(
    "key, value", [("step", -1), ("step", 2**63), ("weights_version", -5), ("weights_version", 2**64)]
)
def test_step_and_version_are_range_checked(tmp_path: Path, key: str, value: int) -> None:
    _, meta_path = _saved(tmp_path)
    meta = json.loads(meta_path.read_text())
    meta[key] = value
    meta_path.write_text(json.dumps(meta))
    _one_line_error_naming(lambda: load_checkpoint(meta_path), "ckpt-000000003.json", key)


def test_saving_refuses_a_run_config_that_could_not_be_read_back(tmp_path: Path) -> None:
    learner = _trained()
    with pytest.raises(ValueError, match="JSON"):
        save_checkpoint(
            tmp_path,
            game=TTT,
            network_config=SMALL,
            weights=learner.weights(),
            step=1,
            weights_version=1,
            run_config={"x": float("nan")},
        )
    assert list_checkpoints(tmp_path) == []


# ---------------------------------------------------------------- falling back to a good checkpoint


def _three_checkpoints(tmp_path: Path) -> list[Path]:
    learner = Learner(TTT, SMALL, TrainConfig(device="cpu", keep_checkpoints=10))
    batch = _batch()
    paths = []
    for _ in range(3):
        learner.train_step(batch)
        paths.append(Path(learner.save_checkpoint(str(tmp_path))))
    return paths


def test_latest_valid_checkpoint_is_the_newest_when_all_verify(tmp_path: Path) -> None:
    paths = _three_checkpoints(tmp_path)
    assert latest_valid_checkpoint(tmp_path) == (paths[-1], [])
    assert latest_valid_checkpoint(tmp_path / "checkpoints") == (paths[-1], [])
    assert latest_valid_checkpoint(tmp_path / "nothing") == (None, [])


def test_latest_valid_checkpoint_falls_back_past_damaged_newer_ones(tmp_path: Path) -> None:
    oldest, middle, newest = _three_checkpoints(tmp_path)
    data = bytearray(newest.with_name(newest.stem + ".train.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    newest.with_name(newest.stem + ".train.pt").write_bytes(bytes(data))
    middle.write_bytes(b"[" * 100_000)
    found, warnings = latest_valid_checkpoint(tmp_path)
    assert found == oldest
    assert len(warnings) == 2 and all("\n" not in w for w in warnings)
    assert "ckpt-000000003.train.pt" in warnings[0] and "checksum" in warnings[0]
    assert "ckpt-000000002.json" in warnings[1] and "nested" in warnings[1]
    assert Learner.from_checkpoint(str(found)).step == 1  # what --resume falls back to
    # Nothing valid at all: None, and a warning for each.
    oldest.with_suffix(".pt").write_bytes(b"")
    found, warnings = latest_valid_checkpoint(tmp_path)
    assert found is None and len(warnings) == 3


def test_latest_valid_checkpoint_can_require_the_training_state(tmp_path: Path) -> None:
    paths = _three_checkpoints(tmp_path)
    learner = _trained()
    weights_only = save_checkpoint(
        tmp_path, game=TTT, network_config=SMALL, weights=learner.weights(), step=9, weights_version=4
    )
    assert latest_valid_checkpoint(tmp_path) == (weights_only, [])
    found, warnings = latest_valid_checkpoint(tmp_path, require_training_state=True)
    assert found == paths[-1]
    assert len(warnings) == 1 and "ckpt-000000009.json" in warnings[0] and "training state" in warnings[0]


def test_verification_reads_no_tensors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _three_checkpoints(tmp_path)

    def no_load(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("torch.load called during verification")

    monkeypatch.setattr(torch, "load", no_load)
    assert latest_valid_checkpoint(tmp_path) == (paths[-1], [])
    assert verify_checkpoint(paths[0])["step"] == 1


# ------------------------------------------------------------------ Go heads and board sizes
GO_POOLED = NetworkConfig(
    blocks=2, channels=16, policy_channels=4, value_channels=4, value_hidden=16,
    global_pooling=True, ownership_head=True, score_head=True,
)


def _go_learner(size: int, config: NetworkConfig = GO_POOLED, steps: int = 2, **options) -> Learner:
    from go_games import walls_trajectory

    from selfplay.trajectory import training_targets

    game = games.make("go", size=size, **options)
    learner = Learner(game, config, TrainConfig(device="cpu", learning_rate=0.01))
    if steps:
        targets = training_targets(walls_trajectory(**options))  # a 5x5 game: positions of that size only
        assert size == 5
        buf = ReplayBuffer(game, 100, seed=0, min_positions=1)
        buf.add_game(*targets[:4], 0, ownership_targets=targets.ownership_targets,
                     score_targets=targets.score_targets, area_mask=targets.area_mask)
        batch = buf.sample(16)
        for _ in range(steps):
            learner.train_step(batch)
    learner.publish()
    return learner


@pytest.mark.slow
def test_a_checkpoint_keeps_the_ownership_and_score_heads_and_refuses_another_config(tmp_path: Path) -> None:
    learner = _go_learner(5)
    meta_path = Path(learner.save_checkpoint(str(tmp_path / "run")))
    network = read_metadata(meta_path)["network"]
    assert (network["global_pooling"], network["ownership_head"], network["score_head"]) == (True, True, True)
    game, net, _ = load_network(meta_path)
    assert net.config == GO_POOLED
    obs = torch.from_numpy(np.stack([game.initial_state().observation()] * 2))
    learner.net.eval()
    with torch.no_grad():
        want, got = learner.net.heads(obs), net.heads(obs)
    for a, b in zip(want, got, strict=True):
        assert (a is None and b is None) or torch.equal(a, b)
    assert got.ownership.shape == (2, 5, 5) and got.score.shape == (2,)
    resumed = Learner.from_checkpoint(str(meta_path), network_config=GO_POOLED)
    assert resumed.step == 2 and resumed.network_config == GO_POOLED
    without = dataclasses.replace(GO_POOLED, ownership_head=False)
    with pytest.raises(CheckpointError, match=r"ckpt-000000002\.json: .*ownership_head True vs False"):
        load_checkpoint(meta_path).load_into(PolicyValueNet(game, without))
    with pytest.raises(CheckpointError, match="score_head True vs False"):
        Learner.from_checkpoint(str(meta_path), network_config=dataclasses.replace(GO_POOLED, score_head=False))


def test_a_fully_convolutional_checkpoint_starts_a_network_for_a_bigger_board(tmp_path: Path) -> None:
    small = _go_learner(5)
    meta_path = Path(small.save_checkpoint(str(tmp_path / "small")))
    big_game = games.make("go", size=9, komi=6.5)  # another size and komi
    big = Learner(big_game, GO_POOLED, TrainConfig(device="cpu", seed=7))
    ckpt = big.init_weights_from(tmp_path / "small")
    assert ckpt.path == meta_path and big.step == 0 and big.weights_version == 0
    for name, tensor in small.weights().items():
        assert torch.equal(big.weights()[name], tensor), name
    obs = torch.from_numpy(np.stack([big_game.initial_state().observation()] * 2))
    big.net.eval()
    with torch.no_grad():
        out = big.net.heads(obs)
    assert out.policy_logits.shape == (2, 82) and out.ownership.shape == (2, 9, 9) and torch.isfinite(out.score).all()
    # the network is trainable from there (a 9x9 batch)
    batch = {
        "observations": obs.numpy(), "legal_masks": np.ones((2, 82), bool),
        "policy_targets": np.full((2, 82), 1 / 82, np.float32), "value_targets": np.zeros(2, np.float32),
        "ownership_targets": np.zeros((2, 9, 9), np.float32), "score_targets": np.zeros(2, np.float32),
    }
    assert np.isfinite(big.train_step(batch)["loss"])
    # the same function loads a checkpoint of the same size into any network of its config
    same = PolicyValueNet(games.make("go", size=5), GO_POOLED)
    load_across_sizes(meta_path, same, games.make("go", size=5))
    assert all(torch.equal(same.state_dict()[k], v) for k, v in small.weights().items())


def test_loading_across_sizes_refuses_what_cannot_carry_over(tmp_path: Path) -> None:
    flat_config = NetworkConfig(blocks=1, channels=8, value_hidden=8)
    flat = Path(_go_learner(5, flat_config, steps=0).save_checkpoint(str(tmp_path / "flat")))
    nine = games.make("go", size=9)
    with pytest.raises(CheckpointError, match=r"flat/checkpoints/ckpt-000000000\.json: the checkpoint is for a 5x5 "
                                              r"board and this network for 9x9, but the network is not fully conv"):
        load_across_sizes(flat, PolicyValueNet(nine, flat_config), nine)
    pooled = Path(_go_learner(5, steps=0).save_checkpoint(str(tmp_path / "pooled")))
    with pytest.raises(CheckpointError, match="global_pooling True vs False"):
        load_across_sizes(pooled, PolicyValueNet(nine, flat_config), nine)
    rich = games.make("go", size=9, features="rich")
    with pytest.raises(CheckpointError, match="reads 9 input planes, this one 18"):
        load_across_sizes(pooled, PolicyValueNet(rich, GO_POOLED), rich)
    plain = dataclasses.replace(GO_POOLED, ownership_head=False, score_head=False)
    ttt_path = Path(Learner(TTT, plain, TrainConfig(device="cpu")).save_checkpoint(str(tmp_path / "ttt")))
    with pytest.raises(CheckpointError, match="a tictactoe network, not a go one"):
        load_across_sizes(ttt_path, PolicyValueNet(nine, plain), nine)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="empty: no checkpoint found"):
        load_across_sizes(tmp_path / "empty", PolicyValueNet(nine, GO_POOLED), nine)
