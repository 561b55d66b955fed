"""Stream helpers: the depth bound and the exact UTF-8 error offset."""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.read.decompress import InputStream, first_invalid_utf8
from producer.read.framing.json_streamed import depth_bound


@pytest.mark.parametrize(
    ("data", "before", "peak_at_least", "after"),
    [
        (b'{"a": 1}', 0, 1, 0),
        (b"[[[]]]", 0, 3, 0),
        (b"[{}, {}, {}]", 0, 2, 0),
        (b"[[[", 2, 5, 5),
        (b"]]", 3, 3, 1),
        (b"]]]]", 1, 1, 0),
        (b'"no brackets"', 4, 4, 4),
    ],
)
def test_depth_bound_is_never_below_the_real_depth(
    data: bytes, before: int, peak_at_least: int, after: int
) -> None:
    peak, end = depth_bound(data, before, limit=1024)
    assert peak >= peak_at_least
    assert end == after


def test_depth_bound_stops_early_on_very_deep_input() -> None:
    peak, _ = depth_bound(b"[" * 100_000 + b"]" * 100_000, 0, limit=10)
    assert peak > 10


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"all ascii", None),
        ("ünïcode ✓".encode(), None),
        (b"ok\xffbad", 2),
        (b"x" * 70_000 + b"\xc3", 70_000),  # cut multi-byte sequence at the very end
        (b"x" * 65_535 + "é".encode() + b"\xff", 65_537),  # valid sequence split across chunks
    ],
)
def test_first_invalid_utf8_gives_the_exact_offset(tmp_path: Path, data: bytes, expected: int | None) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(data)
    assert first_invalid_utf8(lambda: InputStream(path)) == expected
