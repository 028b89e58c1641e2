"""A child process spoken to in lines, with timeouts: the transport under the GTP and UCI clients."""

from __future__ import annotations

import collections
import queue
import subprocess
import threading
from collections.abc import Sequence
from typing import Any

from games.errors import ZeroplayError


class ProcessError(ZeroplayError, RuntimeError):
    """A child engine that died, or did not answer in time (the message has its stderr tail)."""


class LineProcess:
    """A child process spoken to in lines, with timeouts (a reader thread feeds a queue).

    Args:
        argv: the command line.
        name: a label for error messages (default ``argv[0]``).
        cwd, env: as for :class:`subprocess.Popen`.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.name = name or self.argv[0]
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                cwd=cwd,
                env=env,
            )
        except OSError as err:
            raise ProcessError(f"cannot start {self.name} ({' '.join(self.argv)}): {err}") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\r\n"))
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.rstrip("\r\n"))

    def stderr_tail(self) -> str:
        """The last lines the process wrote to stderr."""
        return "\n".join(self._stderr)

    def _fail(self, message: str) -> ProcessError:
        tail = self.stderr_tail()
        return ProcessError(f"{self.name}: {message}" + (f"\n--- stderr tail ---\n{tail}" if tail else ""))

    def send(self, line: str) -> None:
        """Write one line to the process."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as err:
            raise self._fail(f"cannot send {line!r}: {err}") from None

    def readline(self, timeout: float) -> str:
        """The next line of output (without newline); ProcessError at end of output or after ``timeout``."""
        try:
            line = self._lines.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            raise self._fail(f"no output within {timeout:g}s") from None
        if line is None:
            self._lines.put(None)  # keep reporting the end
            raise self._fail(f"output ended (exit status {self.process.poll()})")
        return line

    def close(self, timeout: float = 5.0) -> int | None:
        """Close stdin, wait up to ``timeout`` s, then kill; the exit status."""
        try:
            if self.process.stdin is not None and not self.process.stdin.closed:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def __enter__(self) -> LineProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
