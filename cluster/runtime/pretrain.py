"""The driver of ``zeroplay pretrain``: import (or reuse) the records, train, write a run directory.

No Ray: pre-training runs in this process, on ``train.device`` with ``threads`` torch
threads (default: torch's choice, every core). The run directory is laid out as
:mod:`cluster.runtime.rundir` says: ``config.toml`` (the resolved run configuration, so
``zeroplay status``, ``zeroplay report`` and later ``zeroplay train`` read it),
``checkpoints/`` (ordinary checkpoints: every engine and ``zeroplay match`` takes them),
``metrics.jsonl`` and ``tensorboard/`` (one record per epoch with the held-out
measurements, and the training losses in between) and ``pretrain.json`` (the record
imports, the data, the last measurements).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from cluster.config.run import RunConfig, dump_toml
from cluster.observe.metrics import MetricsSink
from cluster.runtime.rundir import RunDir, check_new_run_dir, prepare_run_dir
from cluster.runtime.stopping import stop_on_signal
from learner.pretrain import PretrainConfig, Pretrainer, progress_line
from learner.record_import import ImportOptions, ImportSummary, prepare_sources
from selfplay.storage import atomic_write_bytes

#: Skip lines printed in full; the rest are counted (all of them are in each import's skipped.txt).
SHOWN_SKIPS = 20


def run_pretraining(
    config: RunConfig,
    sources: Sequence[str | Path],
    run_dir: Path,
    pretrain: PretrainConfig,
    *,
    options: ImportOptions | None = None,
    cache_dir: str | Path | None = None,
    reimport: bool = False,
    threads: int | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> dict[str, Any]:
    """Import ``sources``, pre-train a network of ``config`` on them into ``run_dir``; returns a summary.

    SIGINT/SIGTERM end the training early but cleanly (the epoch in progress is measured
    and checkpointed).

    Raises:
        RunDirError: ``run_dir`` is not empty.
        RecordImportError, PretrainError: no records, or no training game among them.
    """
    options = options if options is not None else ImportOptions()
    check_new_run_dir(run_dir)
    game = config.make_game()
    if threads is not None:
        from learner.inference import set_torch_threads

        set_torch_threads(threads)
    shown = {"n": 0}

    def on_skip(line: str) -> None:
        shown["n"] += 1
        if shown["n"] <= SHOWN_SKIPS:
            print(f"skipped: {line}", file=err, flush=True)

    def on_summary(summary: ImportSummary) -> None:
        print(summary.line(), file=out, flush=True)

    folders, summaries = prepare_sources(
        sources, game, cache_dir, options=options, on_skip=on_skip, on_summary=on_summary, force=reimport
    )
    if shown["n"] > SHOWN_SKIPS:
        print(f"skipped: ... {shown['n'] - SHOWN_SKIPS} more (each import's skipped.txt lists all)", file=err)
    config = prepare_run_dir(run_dir, config, resume=False)
    with (
        stop_on_signal(out, "measuring and checkpointing the epoch so far") as stopping,
        MetricsSink(run_dir, out=out, live=False) as sink,
    ):

        def on_record(record: dict[str, Any]) -> None:
            sink.write(record, show=False)
            print(progress_line(record), file=out, flush=True)

        trainer = Pretrainer(
            game, config.network, config.train, folders, pretrain, run_dir,
            run_config={"toml": dump_toml(config)}, on_record=on_record, on_skip=on_skip,
        )
        print(f"zeroplay pretrain: {game!r} -> {run_dir} (network {config.network.blocks}x"
              f"{config.network.channels}, batch {config.train.batch_size})", file=out, flush=True)
        result = trainer.run(stopping)
    summary = {
        **result,
        "game": game.spec(),
        "sources": [str(s) for s in sources],
        "segment_folders": [str(f) for f in folders],
        "imports": [s.to_dict() for s in summaries],
        "options": {"smoothing": options.smoothing, "variations": options.variations,
                    "holdout": pretrain.holdout},
    }
    atomic_write_bytes(RunDir(run_dir).pretrain, (json.dumps(summary, indent=2) + "\n").encode())
    accuracy = result.get("holdout_move_accuracy")
    measured = "" if accuracy is None else (f"; held out: move accuracy {100 * accuracy:.1f}% "
                                            f"(chance {100 * result['holdout_chance']:.1f}%)")
    print(f"done: step {result['step']}, weights v{result['weights_version']}, {result['data']['train_games']} "
          f"training games{measured}; checkpoint {result['checkpoint']}", file=out, flush=True)
    return summary


__all__ = ["SHOWN_SKIPS", "run_pretraining"]
