"""Drive an outside chess engine (Stockfish, ...) over UCI: :class:`UciClient`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from cluster.external.transport import LineProcess, ProcessError


class UciClient(LineProcess):
    """Drives a UCI engine process: ``client.best_move(["e2e4"], "go movetime 10") -> "e7e5"``."""

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        super().__init__(argv, **kwargs)
        self.id_name: str | None = None

    def read_until(self, prefix: str, timeout: float) -> list[str]:
        """Lines up to and including the first that starts with ``prefix`` (ProcessError on timeout)."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            line = self.readline(deadline - time.monotonic())
            lines.append(line)
            if line.startswith(prefix):
                return lines

    def handshake(self, timeout: float = 30.0) -> None:
        """``uci`` .. ``uciok`` then ``isready`` .. ``readyok``."""
        self.send("uci")
        for line in self.read_until("uciok", timeout):
            if line.startswith("id name "):
                self.id_name = line[len("id name "):]
        self.ready(timeout)

    def ready(self, timeout: float = 30.0) -> None:
        self.send("isready")
        self.read_until("readyok", timeout)

    def set_option(self, name: str, value: Any) -> None:
        self.send(f"setoption name {name} value {value}")

    def new_game(self, timeout: float = 30.0) -> None:
        self.send("ucinewgame")
        self.ready(timeout)

    def best_move(
        self, moves: Sequence[str], go: str = "go nodes 1", *, fen: str | None = None, timeout: float = 60.0
    ) -> str | None:
        """The engine's move (UCI text) after ``moves`` from startpos or ``fen``; None for ``(none)``/``0000``."""
        position = "position startpos" if fen is None else f"position fen {fen}"
        if moves:
            position += " moves " + " ".join(moves)
        self.send(position)
        self.send(go)
        line = self.read_until("bestmove", timeout)[-1]
        parts = line.split()
        if len(parts) < 2:
            raise self._fail(f"malformed {line!r}")
        return None if parts[1] in ("(none)", "0000", "NULL") else parts[1]

    def quit(self, timeout: float = 5.0) -> int | None:
        """``quit`` and close; the exit status."""
        try:
            self.send("quit")
        except ProcessError:
            pass
        return self.close(timeout)
