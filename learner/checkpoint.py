"""Checkpoints: weights + training state + JSON metadata, written atomically.

Layout (``STEP`` zero-padded to 9 digits)::

    RUN_DIR/checkpoints/ckpt-STEP.pt         weights: {name: tensor} (torch.save)
    RUN_DIR/checkpoints/ckpt-STEP.train.pt   optional full training state (Learner.state_dict())
    RUN_DIR/checkpoints/ckpt-STEP.json       metadata, written LAST

Metadata (``format_version`` 1)::

    {"format": "zeroplay-checkpoint", "format_version": 1,
     "game": {game spec}, "network": {NetworkConfig, value_head included}, "step": int, "weights_version": int,
     "run_config": {opaque JSON dict}, "created_unix": float, "torch_version": str,
     "files": {"weights": {"name": "ckpt-STEP.pt", "bytes": int, "sha256": hex},
               "training_state": {...same...} or null}}

Safety: metadata is at most :data:`MAX_METADATA_BYTES` (1 MiB) of UTF-8 JSON without
NaN or Infinity, its integers in range (``step`` and ``weights_version`` in [0, 2**62],
file sizes in [0, 2**40], sha256 as 64 hex digits, data files named ``ckpt-N.pt`` /
``ckpt-N.train.pt`` in the same directory). Only regular files are opened
(a FIFO or directory in a file's place is refused before it could block). A data
file's size is checked against the metadata before it is read, then its sha256,
then it is deserialised with ``torch.load(weights_only=True)``, which only rebuilds
tensors and primitive containers and never executes code from the file. Weights
must be a flat ``{str: Tensor}`` dict. Any problem raises :class:`CheckpointError`,
one line naming the file.

The network config in the metadata records the value head (``"scalar"`` or ``"wdl"``;
metadata without ``value_head`` is from before it existed: ``"scalar"``). A checkpoint
loads only into a network of the same config (:meth:`Checkpoint.load_into`); weights
whose value head is not the one the metadata names are refused.

:func:`latest_valid_checkpoint` finds the newest checkpoint that verifies (metadata,
sizes and checksums, without loading tensors), so that a resumed run falls back past
a damaged newer checkpoint instead of failing.

Atomicity: every file is written to a temporary file in the same directory,
flushed and fsynced, renamed over its final name with ``os.replace`` and the
directory fsynced. The metadata file is written last, so a checkpoint is visible
(to :func:`latest_checkpoint`) only once complete. Older checkpoints beyond
``keep`` are deleted (metadata first, so a half-deleted checkpoint is invisible).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from games.base import Game
from games.errors import ZeroplayError
from learner.network import NetworkConfig, PolicyValueNet, value_head_of
from selfplay.storage import (
    StoredFileError,
    atomic_write_bytes,
    fsync_dir,
    read_json_file,
    read_regular_file,
    regular_file_stat,
)

FORMAT = "zeroplay-checkpoint"
FORMAT_VERSION = 1
CHECKPOINTS_SUBDIR = "checkpoints"
MAX_METADATA_BYTES = 1 << 20
_MAX_COUNT = 2**62  # step and weights_version: int64 with headroom
_MAX_FILE_BYTES = 1 << 40
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DATA_NAME_RE = re.compile(r"^ckpt-\d{1,20}\.(pt|train\.pt)$")  # what save_checkpoint names data files

_NAME_RE = re.compile(r"^ckpt-(\d+)\.json$")
_FILE_RE = re.compile(r"^ckpt-(\d+)\.(json|pt|train\.pt)$")
_REQUIRED = {
    "format": str,
    "format_version": int,
    "game": dict,
    "network": dict,
    "step": int,
    "weights_version": int,
    "run_config": dict,
    "files": dict,
}


class CheckpointError(ZeroplayError, ValueError):
    """A checkpoint that is missing, truncated, corrupt or not in our format; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        path: the metadata (``.json``) file.
        metadata: the parsed metadata dict.
        game_spec: ``metadata["game"]`` (``games.from_spec`` builds the game).
        network_config: the network size.
        step: training step.
        weights_version: published weights version.
        run_config: the opaque run configuration given when saving.
        weights: ``{name: CPU tensor}`` network state dict.
        training_state: the full learner state (``Learner.state_dict()``) or None.
    """

    path: Path
    metadata: Mapping[str, Any]
    game_spec: Mapping[str, Any]
    network_config: NetworkConfig
    step: int
    weights_version: int
    run_config: Mapping[str, Any]
    weights: Mapping[str, torch.Tensor]
    training_state: Mapping[str, Any] | None

    def build_network(self, device: str | torch.device = "cpu") -> tuple[Game, PolicyValueNet]:
        """The game and a network (eval mode) with these weights."""
        from games import GameError, from_spec

        try:
            game = from_spec(dict(self.game_spec))
        except GameError as err:
            raise CheckpointError(f"{self.path}: cannot build game {dict(self.game_spec)!r}: {err}") from None
        net = self.load_into(PolicyValueNet(game, self.network_config))
        return game, net.to(device).eval()

    def load_into(self, net: PolicyValueNet) -> PolicyValueNet:
        """Load these weights into ``net``, which must have this checkpoint's network config.

        Raises:
            CheckpointError: ``net`` has another config (e.g. another value head), the weights
                have another value head than the metadata says, or they do not fit (each
                message names the file and the difference).
        """
        if net.config != self.network_config:
            raise CheckpointError(
                f"{self.path}: the checkpoint's network does not match this network "
                f"({self.network_config.differences(net.config)}; checkpoint vs this)"
            )
        found = value_head_of(self.weights)
        if found is not None and found != self.network_config.value_head:
            raise CheckpointError(
                f"{self.path}: weights have a {found!r} value head but the metadata says "
                f"value_head={self.network_config.value_head!r}"
            )
        try:
            net.load_state_dict(dict(self.weights))
        except RuntimeError as err:
            raise CheckpointError(f"{self.path}: weights do not fit the network: {_first_line(err)}") from None
        return net


# ---------------------------------------------------------------------- paths
def checkpoint_dir(path: str | os.PathLike[str]) -> Path:
    """Where checkpoints of ``path`` live: ``path`` itself if it is named ``checkpoints``
    or already holds ``ckpt-*.json`` files, else ``path/checkpoints``."""
    p = Path(path)
    if p.name == CHECKPOINTS_SUBDIR:
        return p
    if p.is_dir() and not (p / CHECKPOINTS_SUBDIR).is_dir() and any(_NAME_RE.match(f.name) for f in p.iterdir()):
        return p
    return p / CHECKPOINTS_SUBDIR


def _stem(step: int) -> str:
    return f"ckpt-{step:09d}"


def list_checkpoints(path: str | os.PathLike[str]) -> list[Path]:
    """Metadata files of the complete checkpoints under ``path`` (run or checkpoints dir), oldest first."""
    d = checkpoint_dir(path)
    if not d.is_dir():
        return []
    found = []
    for f in d.iterdir():
        m = _NAME_RE.match(f.name)
        if m:
            found.append((int(m.group(1)), f))
    return [f for _, f in sorted(found)]


def latest_checkpoint(path: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint's metadata file under ``path``, or None."""
    found = list_checkpoints(path)
    return found[-1] if found else None


# ---------------------------------------------------------------------- writing
def _serialise(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _file_entry(name: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    game: Game,
    network_config: NetworkConfig,
    weights: Mapping[str, torch.Tensor],
    step: int,
    weights_version: int,
    training_state: Mapping[str, Any] | None = None,
    run_config: Mapping[str, Any] | None = None,
    keep: int | None = None,
) -> Path:
    """Write checkpoint ``step`` under ``path`` (a run dir or a checkpoints dir) and prune.

    Args:
        weights: the network state dict (tensors are copied to the CPU).
        training_state: optional ``Learner.state_dict()`` for exact resumption.
        run_config: opaque JSON-serialisable run configuration stored in the metadata.
        keep: keep only the newest ``keep`` checkpoints (None: keep all).

    Returns:
        The metadata file's path.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative int, got {step!r}")
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    d = checkpoint_dir(path)
    d.mkdir(parents=True, exist_ok=True)
    stem = _stem(step)
    run_config = dict(run_config or {})
    try:
        json.dumps(run_config, allow_nan=False)  # NaN/Infinity would make the metadata unreadable
    except (TypeError, ValueError) as err:
        raise ValueError(f"run_config is not JSON-serialisable: {err}") from None

    cpu_weights = {}
    for k, v in weights.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise ValueError(f"weights must map str to tensors, got {k!r}: {type(v).__name__}")
        cpu_weights[k] = v.detach().to("cpu").contiguous()
    weights_data = _serialise(cpu_weights)
    files: dict[str, Any] = {"weights": _file_entry(f"{stem}.pt", weights_data), "training_state": None}
    atomic_write_bytes(d / f"{stem}.pt", weights_data)
    del weights_data
    if training_state is not None:
        state_data = _serialise(dict(training_state))
        files["training_state"] = _file_entry(f"{stem}.train.pt", state_data)
        atomic_write_bytes(d / f"{stem}.train.pt", state_data)
        del state_data

    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "game": game.spec(),
        "network": network_config.to_dict(),
        "step": step,
        "weights_version": int(weights_version),
        "run_config": run_config,
        "created_unix": time.time(),
        "torch_version": torch.__version__,
        "files": files,
    }
    meta_path = d / f"{stem}.json"
    atomic_write_bytes(meta_path, (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode())
    if keep is not None:
        prune_checkpoints(d, keep)
    return meta_path


def prune_checkpoints(path: str | os.PathLike[str], keep: int) -> list[int]:
    """Delete all but the newest ``keep`` checkpoints (and orphaned older files); returns deleted steps."""
    d = checkpoint_dir(path)
    complete = list_checkpoints(d)
    if not complete:
        return []
    kept_steps = {int(_NAME_RE.match(f.name).group(1)) for f in complete[-keep:]}
    oldest_kept = min(kept_steps)
    doomed: dict[int, list[Path]] = {}
    for f in d.iterdir():
        m = _FILE_RE.match(f.name)
        if m and int(m.group(1)) not in kept_steps and int(m.group(1)) < oldest_kept:
            doomed.setdefault(int(m.group(1)), []).append(f)
    for _, paths in sorted(doomed.items()):
        # Metadata first: the checkpoint disappears before its data does.
        for f in sorted(paths, key=lambda p: p.suffix != ".json"):
            try:
                f.unlink()
            except FileNotFoundError:
                pass
    if doomed:
        fsync_dir(d)
    return sorted(doomed)


# ---------------------------------------------------------------------- reading
def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _reason(err: OSError) -> str:
    """``No such file or directory`` rather than ``[Errno 2] ...: 'path'``; our own messages whole."""
    return err.strerror or str(err)


def _resolve_metadata_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.is_dir() and not _FILE_RE.match(p.name):  # a directory named like a checkpoint file is refused below
        latest = latest_checkpoint(p)
        if latest is None:
            raise CheckpointError(f"{p}: no checkpoint found (no ckpt-*.json in {checkpoint_dir(p)})")
        return latest
    name = p.name
    for suffix in (".train.pt", ".pt", ".json"):
        if name.endswith(suffix):
            meta = p.with_name(name[: -len(suffix)] + ".json")
            if not os.path.lexists(meta):
                if suffix != ".json" and os.path.lexists(p):
                    raise CheckpointError(
                        f"{p}: metadata file {meta.name} is missing (incomplete or foreign checkpoint)"
                    )
                raise CheckpointError(f"{meta}: checkpoint metadata file not found")
            return meta
    raise CheckpointError(f"{p}: not a checkpoint path (expected a directory, .json or .pt file)")


def _is_count(value: Any, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked metadata of a checkpoint (its ``.json`` file); no data file is read.

    Raises:
        CheckpointError: one line naming the file: not a regular file, over
            :data:`MAX_METADATA_BYTES`, not UTF-8, not JSON (or NaN/Infinity, or nested
            too deeply), not our format, or a key missing or out of range.
    """
    meta_path = Path(path)
    try:
        meta = read_json_file(meta_path, max_bytes=MAX_METADATA_BYTES)
    except FileNotFoundError:
        raise CheckpointError(f"{meta_path}: checkpoint metadata file not found") from None
    except StoredFileError as err:
        raise CheckpointError(f"checkpoint metadata: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{meta_path}: not a zeroplay checkpoint (format {str(found)[:80]!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{meta_path}: unsupported checkpoint format version {str(meta.get('format_version'))[:40]} "
            f"(this code reads {FORMAT_VERSION})"
        )
    for key, typ in _REQUIRED.items():
        if key not in meta:
            raise CheckpointError(f"{meta_path}: metadata is missing key {key!r}")
        if not isinstance(meta[key], typ) or (typ is int and isinstance(meta[key], bool)):
            raise CheckpointError(
                f"{meta_path}: metadata key {key!r} should be {typ.__name__}, got {type(meta[key]).__name__}"
            )
    for key in ("step", "weights_version"):
        if not _is_count(meta[key], _MAX_COUNT):
            raise CheckpointError(f"{meta_path}: metadata key {key!r} = {meta[key]} is outside [0, 2**62]")
    files = meta["files"]
    if not isinstance(files.get("weights"), dict):
        raise CheckpointError(f"{meta_path}: metadata 'files' has no 'weights' entry")
    for role in ("weights", "training_state"):
        entry = files.get(role)
        if entry is None:
            continue
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("sha256"), str)
            or not _SHA256_RE.match(entry["sha256"])
            or not _is_count(entry.get("bytes"), _MAX_FILE_BYTES)
            or not _DATA_NAME_RE.match(entry["name"])
        ):
            raise CheckpointError(f"{meta_path}: malformed 'files.{role}' entry {str(entry)[:200]}")
    return meta


def _read_verified(meta_path: Path, entry: Mapping[str, Any]) -> tuple[Path, bytes]:
    """The bytes of a data file, its size checked before it is read and its sha256 after."""
    path = meta_path.with_name(entry["name"])
    expected = entry["bytes"]
    try:
        size = regular_file_stat(path).st_size
        if size != expected:
            raise CheckpointError(
                f"{path}: size {size} bytes, {meta_path.name} says {expected} (truncated or replaced?)"
            )
        data = read_regular_file(path, max_bytes=expected)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file missing (named by {meta_path.name})") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read (named by {meta_path.name}): {_reason(err)}") from None
    if len(data) != expected:
        raise CheckpointError(
            f"{path}: size {len(data)} bytes, {meta_path.name} says {expected} (truncated or replaced?)"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise CheckpointError(
            f"{path}: sha256 checksum mismatch (corrupt file): {digest} != {entry['sha256']} in {meta_path.name}"
        )
    return path, data


def _network_config(meta_path: Path, meta: Mapping[str, Any]) -> NetworkConfig:
    try:
        return NetworkConfig.from_dict(meta["network"])
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{meta_path}: bad network config: {_first_line(err)}") from None


def verify_checkpoint(path: str | os.PathLike[str], *, require_training_state: bool = False) -> dict[str, Any]:
    """Check a checkpoint without loading tensors: metadata, network config, and the size
    and sha256 of its weights and training state files. Returns the metadata.

    Args:
        path: as for :func:`load_checkpoint`.
        require_training_state: also fail if the checkpoint has no training state
            (it could not resume a run).

    Raises:
        CheckpointError: one line naming the bad file.
    """
    meta_path = _resolve_metadata_path(path)
    meta = read_metadata(meta_path)
    _network_config(meta_path, meta)
    if require_training_state and meta["files"].get("training_state") is None:
        raise CheckpointError(f"{meta_path}: checkpoint has no training state to resume from")
    for role in ("weights", "training_state"):
        entry = meta["files"].get(role)
        if entry is not None:
            _read_verified(meta_path, entry)
    return meta


def latest_valid_checkpoint(
    path: str | os.PathLike[str], *, require_training_state: bool = False
) -> tuple[Path | None, list[str]]:
    """The newest checkpoint under ``path`` (a run or checkpoints dir) that verifies.

    Each checkpoint is checked newest first with :func:`verify_checkpoint` (metadata,
    sizes and sha256 of the weights and training state; no tensors are loaded).

    Returns:
        ``(metadata path or None, warnings)``: one warning line per newer checkpoint
        that failed, naming its bad file and the problem.
    """
    warnings: list[str] = []
    for meta_path in reversed(list_checkpoints(path)):
        try:
            verify_checkpoint(meta_path, require_training_state=require_training_state)
        except CheckpointError as err:
            warnings.append(str(err))
            continue
        return meta_path, warnings
    return None, warnings


def safe_torch_load(data: bytes, name: str | os.PathLike[str]) -> Any:
    """``torch.load(weights_only=True)`` of ``data`` on the CPU; any failure is a :class:`CheckpointError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4" for foreign pickles
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle/zip errors of every kind
        raise CheckpointError(
            f"{name}: not a weights-only torch file ({type(err).__name__}: {_first_line(err)})"
        ) from None


def read_weights_file(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Load a bare weights file (no metadata or checksum) safely; must be ``{str: Tensor}``."""
    path = Path(path)
    try:
        data = read_regular_file(path)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read: {_reason(err)}") from None
    return _check_weights(safe_torch_load(data, path), path)


def _check_weights(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: weights file does not hold a non-empty dict of tensors ({type(obj).__name__})")
    for k, v in obj.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{path}: weights entry {k!r} is a {type(v).__name__}, not a tensor")
    return obj


def _check_training_state(obj: Any, path: Path) -> dict[str, Any]:
    required = ("format", "model", "optimizer", "step", "weights_version")
    if not isinstance(obj, dict) or any(k not in obj for k in required):
        missing = [k for k in required if not isinstance(obj, dict) or k not in obj]
        raise CheckpointError(f"{path}: training state is missing keys {missing}")
    _check_weights(obj["model"], path)
    return obj


def load_checkpoint(path: str | os.PathLike[str], *, load_training_state: bool = True) -> Checkpoint:
    """Load a checkpoint from a run dir, a checkpoints dir (newest), or a ``.json`` / ``.pt`` file.

    Raises:
        CheckpointError: missing, truncated, corrupt or foreign files (naming the file).
    """
    meta_path = _resolve_metadata_path(path)
    meta = read_metadata(meta_path)
    network_config = _network_config(meta_path, meta)
    weights_path, data = _read_verified(meta_path, meta["files"]["weights"])
    weights = _check_weights(safe_torch_load(data, weights_path), weights_path)
    del data
    training_state = None
    entry = meta["files"].get("training_state")
    if load_training_state and entry is not None:
        state_path, data = _read_verified(meta_path, entry)
        training_state = _check_training_state(safe_torch_load(data, state_path), state_path)
    return Checkpoint(
        path=meta_path,
        metadata=meta,
        game_spec=meta["game"],
        network_config=network_config,
        step=meta["step"],
        weights_version=meta["weights_version"],
        run_config=meta["run_config"],
        weights=weights,
        training_state=training_state,
    )


class CheckpointMismatchError(CheckpointError):
    """A checkpoint of another game or network shape than a run's; the message names both."""


def check_checkpoint_fits(
    path: str | os.PathLike[str], game: Game, network_config: NetworkConfig
) -> tuple[dict[str, Any], list[str]]:
    """Whether the checkpoint at ``path`` can start (warm-start) a run of ``game`` with ``network_config``.

    It fits when it is a checkpoint of the same game (name, observation shape ``[C, H, W]``
    and number of actions, so Go's board size and history must agree) and of the same
    network shape (every :class:`NetworkConfig` field). Options that leave the network's
    shapes alone (Go's komi, ko rule and move cap, chess's start position or ply cap) may
    differ; they are returned as notes. Only the metadata is read (and checked).

    Returns:
        ``(metadata, notes)``: the checkpoint's metadata and one line per differing option.

    Raises:
        CheckpointMismatchError: another game or network shape (the message names the
            checkpoint's and the run's).
        CheckpointError: no readable checkpoint at ``path``.
    """
    from games import GameError, from_spec

    meta_path = _resolve_metadata_path(path)
    meta = read_metadata(meta_path)
    theirs = _network_config(meta_path, meta)
    spec = dict(meta["game"])
    try:
        their_game = from_spec(spec)
    except GameError as err:
        raise CheckpointError(f"{meta_path}: cannot build game {spec!r}: {err}") from None
    ours = game.spec()
    if their_game.name != game.name or tuple(their_game.observation_shape) != tuple(game.observation_shape) \
            or their_game.num_actions != game.num_actions:
        raise CheckpointMismatchError(
            f"{meta_path} is a checkpoint of {their_game!r} (input {list(their_game.observation_shape)}, "
            f"{their_game.num_actions} actions), but the run plays {game!r} (input {list(game.observation_shape)}, "
            f"{game.num_actions} actions)"
        )
    if theirs != network_config:
        differ = [
            f"{name} {getattr(theirs, name)} vs {getattr(network_config, name)}"
            for name in theirs.to_dict() if getattr(theirs, name) != getattr(network_config, name)
        ]
        raise CheckpointMismatchError(
            f"{meta_path} holds a network {theirs.to_dict()}, but the run's network is {network_config.to_dict()} "
            f"({', '.join(differ)}; set the run's [network] to the checkpoint's)"
        )
    notes = [
        f"{key}: checkpoint {spec.get(key)!r}, run {ours.get(key)!r}"
        for key in sorted(set(spec) | set(ours)) if key != "name" and spec.get(key) != ours.get(key)
    ]
    return meta, notes


def load_network(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[Game, PolicyValueNet, Mapping[str, Any]]:
    """``(game, net in eval mode, metadata)`` from a checkpoint (see :func:`load_checkpoint`)."""
    ckpt = load_checkpoint(path, load_training_state=False)
    game, net = ckpt.build_network(device)
    return game, net, ckpt.metadata


__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointMismatchError",
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_METADATA_BYTES",
    "atomic_write_bytes",
    "check_checkpoint_fits",
    "checkpoint_dir",
    "latest_checkpoint",
    "latest_valid_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_network",
    "prune_checkpoints",
    "read_metadata",
    "read_weights_file",
    "safe_torch_load",
    "save_checkpoint",
    "verify_checkpoint",
]
