"""Crash-safe file writes and careful reads, shared by every layer that persists something.

A file written with :func:`atomic_write_bytes` is either the old one or the whole new
one after a crash or power loss, never a torn mix: the data goes to a temporary file
in the same directory, is fsynced, renamed over the target, and the directory is
fsynced so the rename itself is durable.

:func:`read_regular_file` reads a file found on disk without trusting what it is: a
FIFO, device or directory in its place is refused before it is opened (opening a FIFO
for reading would wait for a writer forever), and so is a file beyond a size bound.
:func:`strict_json` decodes what such a file holds without accepting what JSON does not
define (NaN, Infinity, numbers beyond a float) and without letting deep nesting escape as
a ``RecursionError``. :func:`read_json_file` does both, with one error for a file that is
there but cannot be read.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from games.errors import ZeroplayError


class UnsafeFileError(OSError):
    """A path that is not a regular file, or a file larger than the reader allows."""


class StoredFileError(ZeroplayError, ValueError):
    """A file that is there but cannot be read back: unreadable, not a regular file, too
    large, or not strict JSON. The message starts with the path or names it."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def regular_file_stat(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> os.stat_result:
    """``os.stat`` of ``path``; raises :class:`UnsafeFileError` unless it is a regular file."""
    st = os.stat(path, follow_symlinks=follow_symlinks)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFileError(f"{path} is {_kind(st.st_mode)}, not a regular file")
    return st


def read_regular_file(
    path: str | os.PathLike[str], *, max_bytes: int | None = None, follow_symlinks: bool = True
) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes`` bytes.

    Never blocks on a FIFO or device: the file's type is checked before it is opened
    (and again on the open descriptor). With ``follow_symlinks=False`` a symbolic link
    is refused too.

    Raises:
        UnsafeFileError: not a regular file (the message says what it is), or too large.
        OSError: missing or unreadable.
    """
    path = Path(path)
    regular_file_stat(path, follow_symlinks=follow_symlinks)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):  # replaced between the check and the open
            raise UnsafeFileError(f"{path} is {_kind(st.st_mode)}, not a regular file")
        if max_bytes is None:
            return f.read()
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFileError(f"{path} is larger than {max_bytes} bytes")
    return data


def fsync_dir(directory: Path) -> None:
    """Make renames and new files in ``directory`` durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir, fsync, rename, fsync dir)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is beyond a float")
    return value


def strict_json(data: bytes | str) -> Any:
    """The JSON value ``data`` holds, decoded strictly.

    Raises:
        ValueError: one line (at most 200 characters) saying why it is not JSON we accept:
            not UTF-8 (naming the byte), nested too deeply, NaN/Infinity or a number beyond
            a float, or not valid JSON (with the decoder's reason and position).
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as err:
        raise ValueError(f"not valid UTF-8 (byte {err.start})") from None
    try:
        return json.loads(text, parse_constant=_not_a_number, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as err:
        raise ValueError(f"not valid JSON: {str(err).splitlines()[0][:180]}") from None


def read_json_file(path: str | os.PathLike[str], *, max_bytes: int, follow_symlinks: bool = True) -> Any:
    """The JSON value held by the regular file ``path`` (at most ``max_bytes``), decoded by
    :func:`strict_json`.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        StoredFileError: it is there but unreadable, not a regular file (or a link, with
            ``follow_symlinks=False``), too large, or not strict JSON (the message says which).
    """
    path = Path(path)
    try:
        data = read_regular_file(path, max_bytes=max_bytes, follow_symlinks=follow_symlinks)
    except FileNotFoundError:
        raise
    except UnsafeFileError as err:
        raise StoredFileError(f"cannot read: {err}") from None
    except OSError as err:
        raise StoredFileError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        return strict_json(data)
    except ValueError as err:
        raise StoredFileError(f"{path}: {err}") from None
