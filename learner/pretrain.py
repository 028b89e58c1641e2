"""Supervised pre-training on game records (AlphaGo's first phase), before self-play.

:class:`Pretrainer` trains a :class:`~learner.train.Learner` on stored training games
(:mod:`learner.record_import`: policy target = the move played, value target = the
game's result) with the usual loss (:mod:`learner.loss`) and symmetry augmentation
(:class:`~learner.replay.ReplayBuffer` draws each sample under a random board symmetry).

Data: the games are split by a checksum of their bytes into training games and a
held-out share (:func:`learner.record_import.is_held_out`). The training games are
read into memory ``capacity`` positions at a time (all at once when they fit, then kept
for every epoch; otherwise chunk after chunk in stored order, each chunk sampled
uniformly), so a collection larger than memory streams. An epoch draws as many
samples as there are training positions.

After every epoch the network is measured on the held-out positions (without symmetry
augmentation, at most ``holdout_positions`` of them): ``holdout_move_accuracy`` (the
share of positions with a policy target whose most likely move is the move played),
``holdout_chance`` (the accuracy of a uniformly random legal move, for comparison),
``holdout_policy_loss`` (cross-entropy), ``holdout_value_loss`` (mean squared error)
and ``holdout_value_accuracy`` (:func:`learner.loss.compute_loss`'s), then a
checkpoint is written (a new weights version per epoch) and a metrics record goes to
``on_record`` (the command line sends it to ``metrics.jsonl``, TensorBoard and a
progress line). Between epochs a record of the training losses goes out every
``log_every_seconds``.

Go: ownership and score targets (:func:`selfplay.from_records.auxiliary_targets`) are
not trained yet; they join the loss here once the network has their heads.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from games import Game
from games.errors import ZeroplayError
from learner.device import autocast
from learner.loss import DEFAULT_DRAW_MARGIN
from learner.network import NetworkConfig, mask_logits
from learner.record_import import StoredGame, is_held_out, stored_games
from learner.replay import ReplayBuffer
from learner.train import Learner, TrainConfig
from selfplay.trajectory import TrajectoryError, decode_training


class PretrainError(ZeroplayError, ValueError):
    """Pre-training that cannot run as asked (no games, bad settings); the message says what to do."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PretrainConfig:
    """How long and on what pre-training runs.

    Attributes:
        epochs: stop after this many epochs (None: no limit).
        minutes: stop after this many minutes (None: no limit); at least one limit is needed.
        max_steps: stop after this many training steps (None: no limit).
        holdout: the share of games held out to measure the network, in [0, 0.5].
        holdout_positions: the most held-out positions measured (the first ones stored).
        capacity: training positions in memory at once.
        log_every_seconds: period of the training-loss records between epochs.
        eval_batch_size: positions per forward pass when measuring.
    """

    epochs: int | None = None
    minutes: float | None = None
    max_steps: int | None = None
    holdout: float = 0.05
    holdout_positions: int = 50_000
    capacity: int = 200_000
    log_every_seconds: float = 10.0
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        if self.epochs is None and self.minutes is None and self.max_steps is None:
            raise PretrainError("pre-training needs a limit: --epochs E or --minutes M")
        if self.epochs is not None and self.epochs < 1:
            raise PretrainError(f"--epochs must be >= 1, got {self.epochs}")
        if self.minutes is not None and not self.minutes > 0:
            raise PretrainError(f"--minutes must be > 0, got {self.minutes}")
        if not 0.0 <= self.holdout <= 0.5:
            raise PretrainError(f"--holdout must be in [0, 0.5], got {self.holdout}")
        for name in ("holdout_positions", "capacity", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise PretrainError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.log_every_seconds > 0:
            raise PretrainError(f"log_every_seconds must be > 0, got {self.log_every_seconds}")


@dataclasses.dataclass
class DataStats:
    """What the stored games hold: games and positions per split, and what was left out."""

    train_games: int = 0
    train_positions: int = 0
    holdout_games: int = 0
    holdout_positions: int = 0
    skipped: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """Held-out positions (``N`` of them) as arrays: observations float16 ``[N, C, H, W]``, legal masks
    bool ``[N, A]``, policy targets float32 ``[N, A]`` (a zero row: no target), value targets float32 ``[N]``."""

    observations: np.ndarray
    legal_masks: np.ndarray
    policy_targets: np.ndarray
    value_targets: np.ndarray

    def __len__(self) -> int:
        return len(self.value_targets)


def _arrays(stored: StoredGame) -> tuple[np.ndarray, ...] | None:
    try:
        _, arrays = decode_training(stored.record.payload, stored.game)
    except TrajectoryError:
        return None
    return arrays


class Pretrainer:
    """Supervised training of a network on stored training games.

    Args:
        game: the run's game (the network's shapes and the symmetries).
        network_config: the network size.
        train_config: optimizer, learning rate, batch size, device (:class:`~learner.train.TrainConfig`).
        directories: segment folders of the training games (:func:`learner.record_import.prepare_sources`).
        config: limits, the held-out share, memory.
        run_dir: where checkpoints go (``RUN_DIR/checkpoints``).
        run_config: stored in each checkpoint's metadata (the command line stores the run's TOML).
        on_record: receives each metrics record (see the module docstring).
        on_skip: receives each stored game left out (damaged, of another game).
    """

    def __init__(
        self,
        game: Game,
        network_config: NetworkConfig,
        train_config: TrainConfig,
        directories: Iterable[str | os.PathLike[str]],
        config: PretrainConfig,
        run_dir: str | os.PathLike[str],
        *,
        run_config: Mapping[str, Any] | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        on_skip: Callable[[str], None] | None = None,
    ) -> None:
        self.game = game
        self.config = config
        self.directories = [Path(d) for d in directories]
        self.run_dir = Path(run_dir)
        self.run_config = dict(run_config or {})
        self.on_record = on_record or (lambda record: None)
        self.on_skip = on_skip
        self.learner = Learner(game, network_config, train_config)
        self.rng = np.random.default_rng(train_config.seed)
        self.stats = DataStats()
        self.checkpoint: str | None = None

    # ------------------------------------------------------------------ data
    def _stored(self, *, held_out: bool) -> Iterator[StoredGame]:
        share = self.config.holdout
        for stored in stored_games(self.directories, self.game, on_skip=self._skip):
            if stored.trajectory.num_moves and is_held_out(stored.record.payload, share) == held_out:
                yield stored

    def _skip(self, text: str) -> None:
        self.stats.skipped += 1
        if len(self.stats.examples) < 20:
            self.stats.examples.append(text)
        if self.on_skip is not None:
            self.on_skip(text)

    def scan(self) -> DataStats:
        """Count the games and positions of each split (the records' fields are checked; no replay)."""
        stats = self.stats
        share = self.config.holdout
        for stored in stored_games(self.directories, self.game, on_skip=self._skip):
            plies = stored.trajectory.num_moves
            if not plies:
                continue
            if is_held_out(stored.record.payload, share):
                stats.holdout_games += 1
                stats.holdout_positions += plies
            else:
                stats.train_games += 1
                stats.train_positions += plies
        return stats

    def load_held_out(self) -> HeldOut:
        """The first ``holdout_positions`` held-out positions, as arrays."""
        parts: list[tuple[np.ndarray, ...]] = []
        count = 0
        for stored in self._stored(held_out=True):
            arrays = _arrays(stored)
            if arrays is None:
                continue
            obs, masks, policies, values = arrays
            take = min(len(values), self.config.holdout_positions - count)
            parts.append((obs[:take].astype(np.float16), masks[:take], policies[:take], values[:take]))
            count += take
            if count >= self.config.holdout_positions:
                break
        if not parts:
            a = self.game.num_actions
            empty = (np.zeros((0, *self.game.observation_shape), np.float16), np.zeros((0, a), bool),
                     np.zeros((0, a), np.float32), np.zeros(0, np.float32))
            return HeldOut(*empty)
        return HeldOut(*(np.concatenate([p[i] for p in parts]) for i in range(4)))

    def _chunks(self) -> Iterator[ReplayBuffer]:
        """Buffers of at most ``capacity`` training positions, in stored order."""
        capacity = max(1, min(self.config.capacity, self.stats.train_positions or 1))
        buffer = self._buffer(capacity)
        for stored in self._stored(held_out=False):
            arrays = _arrays(stored)
            if arrays is None:
                continue
            if len(buffer) and len(buffer) + len(arrays[3]) > capacity:
                yield buffer
                buffer = self._buffer(capacity)
            buffer.add_game(*arrays, stored.trajectory.weights_version)
        if len(buffer):
            yield buffer

    def _buffer(self, capacity: int) -> ReplayBuffer:
        return ReplayBuffer(self.game, capacity, None, int(self.rng.integers(2**31)), min_positions=0)

    # ------------------------------------------------------------------ measuring
    @torch.no_grad()
    def evaluate(self, held_out: HeldOut) -> dict[str, float]:
        """The held-out metrics of the module docstring (an empty dict without held-out positions)."""
        if not len(held_out):
            return {}
        net = self.learner.net
        device = self.learner.device
        was_training = net.training
        net.eval()
        sums = dict.fromkeys(("correct", "chance", "policy", "targets", "value", "value_correct"), 0.0)
        try:
            for start in range(0, len(held_out), self.config.eval_batch_size):
                end = start + self.config.eval_batch_size
                obs = torch.as_tensor(held_out.observations[start:end], dtype=torch.float32, device=device)
                masks = torch.as_tensor(held_out.legal_masks[start:end], device=device)
                targets = torch.as_tensor(held_out.policy_targets[start:end], device=device)
                values = torch.as_tensor(held_out.value_targets[start:end], device=device)
                with autocast(device):
                    logits, predicted = net(obs, masks)
                log_p = torch.log_softmax(mask_logits(logits.float(), masks), dim=-1)
                has_target = targets.sum(dim=-1) > 0
                zero = torch.zeros((), device=device)
                cross_entropy = -torch.where(masks, targets * log_p, zero).sum(dim=-1)
                hit = log_p.argmax(dim=-1) == targets.argmax(dim=-1)
                sums["correct"] += float((hit & has_target).sum())
                sums["chance"] += float((1.0 / masks.sum(dim=-1).clamp_min(1))[has_target].sum())
                sums["policy"] += float(cross_entropy[has_target].sum())
                sums["targets"] += float(has_target.sum())
                v = predicted.float()
                sums["value"] += float(((v - values) ** 2).sum())
                guess = torch.where(v.abs() < DEFAULT_DRAW_MARGIN, torch.zeros_like(v), torch.sign(v))
                sums["value_correct"] += float((guess == torch.sign(values)).sum())
        finally:
            net.train(was_training)
        n, with_target = len(held_out), max(sums["targets"], 1.0)
        return {
            "holdout_move_accuracy": sums["correct"] / with_target,
            "holdout_chance": sums["chance"] / with_target,
            "holdout_policy_loss": sums["policy"] / with_target,
            "holdout_value_loss": sums["value"] / n,
            "holdout_value_accuracy": sums["value_correct"] / n,
            "holdout_positions": float(n),
        }

    # ------------------------------------------------------------------ training
    def run(self, should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """Train until a limit of the configuration (or ``should_stop()``); returns a summary.

        Raises:
            PretrainError: no training game was found.
        """
        cfg = self.config
        start = time.monotonic()
        deadline = start + cfg.minutes * 60 if cfg.minutes is not None else math.inf
        stats = self.scan()
        if not stats.train_games:
            raise PretrainError(
                f"no training games in {', '.join(map(str, self.directories)) or 'no folder'} "
                f"({stats.holdout_games} held out, {stats.skipped} left out): give more records or a lower --holdout"
            )
        held_out = self.load_held_out()
        batch_size = self.learner.config.batch_size
        steps_per_epoch = max(1, math.ceil(stats.train_positions / batch_size))
        resident = stats.train_positions <= cfg.capacity
        kept: list[ReplayBuffer] | None = None  # the training positions, when they fit in memory
        epoch = 0
        last: dict[str, Any] = {}
        last_log = time.monotonic()
        sums: dict[str, float] = {}
        steps_in_period = 0
        samples_in_period = 0
        period_start = time.monotonic()

        def limits_reached() -> bool:
            return (time.monotonic() >= deadline or should_stop()
                    or (cfg.max_steps is not None and self.learner.step >= cfg.max_steps))

        stopped = False
        while cfg.epochs is None or epoch < cfg.epochs:
            epoch_steps = 0
            loaded: list[ReplayBuffer] = []
            for buffer in kept if kept is not None else self._chunks():
                if resident and kept is None:
                    loaded.append(buffer)  # all the training positions fit: read them once
                chunk_steps = max(1, round(steps_per_epoch * len(buffer) / stats.train_positions))
                for _ in range(chunk_steps):
                    if limits_reached():
                        stopped = True
                        break
                    metrics = self.learner.train_step(buffer.sample(batch_size))
                    epoch_steps += 1
                    steps_in_period += 1
                    samples_in_period += batch_size
                    for key, value in metrics.items():
                        sums[key] = sums.get(key, 0.0) + float(value)
                    if time.monotonic() - last_log >= cfg.log_every_seconds:
                        last = self._record(epoch + epoch_steps / steps_per_epoch, start, sums, steps_in_period,
                                            samples_in_period, time.monotonic() - period_start)
                        self.on_record(last)
                        sums, steps_in_period, samples_in_period = {}, 0, 0
                        last_log = period_start = time.monotonic()
                if stopped:
                    break
            if resident and kept is None and not stopped:
                kept = loaded
            if stopped and not epoch_steps:
                break  # nothing trained since the last checkpoint
            progress = epoch + epoch_steps / steps_per_epoch if stopped else epoch + 1
            last = self._record(progress, start, sums, steps_in_period, samples_in_period,
                                time.monotonic() - period_start, held_out)
            self.checkpoint = self._save(last)
            last["checkpoint"] = self.checkpoint
            self.on_record(last)
            sums, steps_in_period, samples_in_period = {}, 0, 0
            last_log = period_start = time.monotonic()
            if stopped:
                break
            epoch += 1
        if self.checkpoint is None:  # stopped before a single step: still leave a checkpoint
            last = self._record(0.0, start, {}, 0, 0, 0.0, held_out)
            self.checkpoint = self._save(last)
            last["checkpoint"] = self.checkpoint
            self.on_record(last)
        return {
            "run_dir": str(self.run_dir),
            "checkpoint": self.checkpoint,
            "step": self.learner.step,
            "weights_version": self.learner.weights_version,
            "epochs": last.get("epoch", 0.0),
            "minutes": round((time.monotonic() - start) / 60, 2),
            "data": stats.to_dict(),
            **{k: v for k, v in last.items() if k.startswith("holdout_")},
        }

    def _record(
        self, epoch: float, start: float, sums: dict[str, float], steps: int, samples: int, seconds: float,
        held_out: HeldOut | None = None,
    ) -> dict[str, Any]:
        stats = self.stats
        record: dict[str, Any] = {
            "kind": "pretrain",
            "time": time.time(),
            "elapsed": round(time.monotonic() - start, 2),
            "epoch": round(epoch, 3),
            "step": self.learner.step,
            "weights_version": self.learner.weights_version,
            "games": stats.train_games,
            "positions": stats.train_positions,
            "steps_per_s": steps / seconds if seconds > 0 else None,
            "samples_per_s": samples / seconds if seconds > 0 else None,
        }
        for key in ("loss", "policy_loss", "value_loss", "policy_entropy", "value_accuracy", "lr"):
            record[key] = sums[key] / steps if steps and key in sums else None
        if held_out is not None:
            record.update(self.evaluate(held_out))
        return record

    def _save(self, record: Mapping[str, Any]) -> str:
        self.learner.publish()  # a new weights version per checkpoint
        run_config = {**self.run_config, "pretrain": {
            "epoch": record.get("epoch"),
            **{k: v for k, v in record.items() if k.startswith("holdout_")},
            "data": self.stats.to_dict() | {"examples": self.stats.examples[:5]},
        }}
        return self.learner.save_checkpoint(str(self.run_dir), run_config)


def progress_line(record: Mapping[str, Any]) -> str:
    """One line of a pre-training metrics record, for the terminal."""

    def fmt(key: str, spec: str) -> str:
        value = record.get(key)
        return "-" if not isinstance(value, (int, float)) or isinstance(value, bool) else format(value, spec)

    minutes = (record.get("elapsed") or 0) / 60
    line = (f"[{minutes:5.1f} min] epoch {fmt('epoch', '.2f')}  step {record.get('step', 0)}  "
            f"loss {fmt('loss', '.3f')} (policy {fmt('policy_loss', '.3f')}, value {fmt('value_loss', '.3f')})  "
            f"samples/s {fmt('samples_per_s', '.0f')}")
    if "holdout_move_accuracy" in record:
        line += (f"  | held out: move accuracy {100 * record['holdout_move_accuracy']:.1f}% "
                 f"(chance {100 * record['holdout_chance']:.1f}%), value loss {fmt('holdout_value_loss', '.3f')}")
    return line


__all__ = ["DataStats", "HeldOut", "PretrainConfig", "PretrainError", "Pretrainer", "progress_line"]
