"""selfplay.storage: the careful reads every layer uses for the files it finds on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fuzz_helpers import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from selfplay.storage import (
    StoredFileError,
    UnsafeFileError,
    atomic_write_bytes,
    read_json_file,
    read_regular_file,
    strict_json,
)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b'{"a": NaN}', r"not valid JSON: NaN is not a number JSON allows"),
        (b'{"a": -Infinity}', r"not valid JSON: -Infinity is not a number JSON allows"),
        (b'{"a": 1e999}', r"not valid JSON: 1e999 is beyond a float"),
        (b'{"a": 1', r"not valid JSON: Expecting ',' delimiter: line 1 column 8"),
        (b'\xff{"a": 1}', r"not valid UTF-8 \(byte 0\)"),
        (b"[" * 100_000 + b"]" * 100_000, r"nested too deeply"),
    ],
)
def test_strict_json_refuses_what_json_does_not_define(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{reason}"):
        strict_json(data)


def test_strict_json_reads_bytes_and_text_alike() -> None:
    assert strict_json(b'{"step": 3, "loss": 0.5, "names": ["\\u00e9"]}') == {"step": 3, "loss": 0.5, "names": ["é"]}
    assert strict_json('[1, 2.5, null, true]') == [1, 2.5, None, True]


@fuzz_settings(300, 2)
@given(st.binary(max_size=200))
def test_strict_json_either_decodes_or_raises_one_line_value_error(data: bytes) -> None:
    try:
        strict_json(data)
    except ValueError as err:
        assert "\n" not in str(err) and len(str(err)) <= 200


def test_read_regular_file_refuses_a_fifo_and_an_oversized_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeFileError, match="fifo"):
        read_regular_file(fifo, max_bytes=100)  # refused before open: it would wait for a writer
    big = tmp_path / "big.json"
    atomic_write_bytes(big, b"x" * 101)
    with pytest.raises(UnsafeFileError, match="big.json is larger than 100 bytes"):
        read_regular_file(big, max_bytes=100)
    assert read_regular_file(big, max_bytes=101) == b"x" * 101


def test_read_json_file_tells_a_missing_file_from_one_that_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with pytest.raises(FileNotFoundError):
        read_json_file(path, max_bytes=100)
    atomic_write_bytes(path, b'{"games": 3}')
    assert read_json_file(path, max_bytes=100) == {"games": 3}
    with pytest.raises(StoredFileError, match=rf"cannot read: {path} is larger than 5 bytes"):
        read_json_file(path, max_bytes=5)
    atomic_write_bytes(path, b'{"games": NaN}')
    with pytest.raises(StoredFileError, match=rf"{path}: not valid JSON: NaN"):
        read_json_file(path, max_bytes=100)
    link = tmp_path / "link.json"
    link.symlink_to(path)
    with pytest.raises(StoredFileError, match=rf"cannot read: {link} is a symbolic link"):
        read_json_file(link, max_bytes=100, follow_symlinks=False)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(StoredFileError, match=r"dir\.json is a directory"):
        read_json_file(tmp_path / "dir.json", max_bytes=100)
