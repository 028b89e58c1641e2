"""A graceful stop on Ctrl-C or SIGTERM for the long-running commands (train, pretrain).

The first signal asks the run to stop at its next safe point (a checkpoint is written);
a second one aborts at once with ``KeyboardInterrupt``.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any, TextIO


@contextlib.contextmanager
def stop_on_signal(out: TextIO, message: str) -> Iterator[Callable[[], bool]]:
    """Within the block, SIGINT and SIGTERM set a flag that the yielded callable reads.

    Args:
        out: where the first signal's ``stopping: {message}`` line is printed.
        message: what the run does before it stops, e.g. "writing a checkpoint".

    The previous handlers come back when the block ends.
    """
    requested = False

    def request_stop(signum: int, frame: Any) -> None:
        nonlocal requested
        if requested:
            raise KeyboardInterrupt
        requested = True
        print(f"stopping: {message} (again to abort)", file=out, flush=True)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
