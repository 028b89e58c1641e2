"""Reading an engine's input: one line at a time, bounded, with bad bytes reported rather than raised.

Every front end (GTP, UCI, ``zeroplay analyze``, ``zeroplay play``) reads its commands
through :func:`read_lines`, so input that is not UTF-8 text, or a line longer than
:data:`MAX_LINE_BYTES`, becomes an error reply in the engine's protocol instead of
a crash (``UnicodeDecodeError``) or unbounded memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from games.errors import ZeroplayError

#: The longest input line an engine reads (bytes, end of line included); 1 MiB.
MAX_LINE_BYTES = 1 << 20


class InputLineError(ZeroplayError, ValueError):
    """An input line the engine cannot read: not UTF-8, or too long (the message says which)."""


def read_lines(stream: IO[Any], max_bytes: int = MAX_LINE_BYTES) -> Iterator[str | InputLineError]:
    """The lines of ``stream`` (end of line kept), or an :class:`InputLineError` in place of a bad one.

    ``stream`` is binary, or text with a binary ``buffer`` (``sys.stdin``: the bytes are read
    and decoded here, strictly, whatever the locale), or text without one (``io.StringIO``).
    A line longer than ``max_bytes`` (characters for text) is skipped up to its end of line
    and reported once. Lines are read one at a time, as they arrive.
    """
    if isinstance(stream, io.TextIOBase) and hasattr(stream, "buffer"):
        stream = stream.buffer
    number = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        newline = "\n" if isinstance(line, str) else b"\n"
        if len(line) > max_bytes and not line.endswith(newline):
            while line and not line.endswith(newline):
                line = stream.readline(max_bytes + 1)
            yield InputLineError(f"input line {number} is longer than {max_bytes} bytes; ignored")
            continue
        if isinstance(line, str):
            yield line
            continue
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as err:
            yield InputLineError(
                f"input line {number} is not UTF-8 text (byte 0x{line[err.start]:02x} at column {err.start + 1}); "
                "ignored"
            )


__all__ = ["InputLineError", "MAX_LINE_BYTES", "read_lines"]
