"""The C extension is built by the install, and the producer works the same without it (ijson path)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from producer.read.entry import ReadOptions, read_records
from producer.read.framing import json_scanner as scan


def test_the_c_scanner_is_built() -> None:
    # `pip install -e .` compiles producer/read/framing/_jsonscan.c (gcc and the Python headers are
    # needed); without it the install still succeeds and big documents take the slower ijson path.
    assert scan.AVAILABLE, (
        "producer.read.framing._jsonscan is not built: reinstall with a C compiler available"
    )


@pytest.mark.parametrize("small_file_bytes", [8, 4 * 1024 * 1024], ids=["streamed", "whole"])
def test_without_the_extension_records_are_parsed_and_the_path_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path, small_file_bytes: int
) -> None:
    monkeypatch.setattr(scan, "AVAILABLE", False)
    monkeypatch.setattr(scan, "_logged", False)
    path = tmp_path / "f.json"
    path.write_bytes(b'{"k": {"a": 1}, "l": {"b": 2}}')
    opts = ReadOptions(small_file_bytes=small_file_bytes, splice=("source", "f.json"))
    with caplog.at_level(logging.INFO, logger="producer.scan"):
        assert list(read_records(path, opts)) == [("k", {"a": 1}), ("l", {"b": 2})]
    streamed = small_file_bytes == 8
    assert [r.message for r in caplog.records] == (
        ["event=reader_path path=ijson reason=producer.read.framing._jsonscan_not_built"] if streamed else []
    )
