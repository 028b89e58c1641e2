"""Drive an outside Go engine (GNU Go, KataGo, ...) over GTP v2: :class:`GtpClient`."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

from cluster.external.transport import LineProcess, ProcessError
from games.errors import ZeroplayError


class GtpError(ZeroplayError, RuntimeError):
    """A GTP command answered with ``?``; ``message`` is the engine's text."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"GTP command {command!r} failed: {message}")
        self.command = command
        self.message = message



class GtpClient(LineProcess):
    """Drives a GTP engine process: ``client.command("genmove b") -> "D4"``.

    Commands are sent with increasing ids, checked against the reply.
    """

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        super().__init__(argv, **kwargs)
        self._ids = itertools.count(1)

    def command(self, command: str, timeout: float = 60.0) -> str:
        """Send ``command``; its result text (multi-line results joined by newlines).

        Raises:
            GtpError: the engine answered ``?``.
            ProcessError: no (well-formed) answer within ``timeout`` seconds, or the process died.
        """
        ident = str(next(self._ids))
        self.send(f"{ident} {command}")
        deadline = time.monotonic() + timeout
        line = ""
        while not line.strip():
            line = self.readline(deadline - time.monotonic())
        head = line.strip()
        if head[0] not in "=?":
            raise self._fail(f"malformed reply to {command!r}: {line!r}")
        rest = head[1:]
        digits = len(rest) - len(rest.lstrip("0123456789"))
        if rest[:digits] != ident:
            raise self._fail(f"reply id {rest[:digits]!r} does not match {ident!r} for {command!r}: {line!r}")
        lines = [rest[digits:].strip()]
        while True:
            more = self.readline(deadline - time.monotonic())
            if not more.strip():
                break
            lines.append(more)
        result = "\n".join(lines).strip("\n").strip()
        if head[0] == "?":
            raise GtpError(command, result)
        return result

    def quit(self, timeout: float = 5.0) -> int | None:
        """Send ``quit`` (ignoring failures) and close; the exit status."""
        try:
            self.command("quit", timeout=timeout)
        except (GtpError, ProcessError):
            pass
        return self.close(timeout)
