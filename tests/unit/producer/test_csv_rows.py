"""The CSV/TSV framing on its own: dialects, RFC 4180 quoting, encodings, ragged rows, bounded memory."""

from __future__ import annotations

import gzip
import logging
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from producer.read.entry import BadRecord, ReadOptions, read_records
from schemas.errors import InputFileError


def read(path: Path, opts: ReadOptions | None = None) -> list[tuple[str, Any]]:
    return list(read_records(path, opts))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("name", ["rows.csv", "rows.csv.gz"])
def test_rows_become_records_positioned_by_the_line_they_start_on(tmp_path: Path, name: str) -> None:
    data = b'id,text,n\r\n1,"a, ""quoted"" b",10\r\n2,"two\r\nlines",20\r\n\r\n3,plain,30\r\n'
    assert read(write(tmp_path, name, data)) == [
        ("2", {"id": 1, "text": 'a, "quoted" b', "n": 10}),
        ("3", {"id": 2, "text": "two\r\nlines", "n": 20}),  # the line break inside quotes is kept as is
        ("6", {"id": 3, "text": "plain", "n": 30}),  # the blank line 5 is skipped
    ]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no BOM", "BOM"])
def test_utf8_with_or_without_a_bom(tmp_path: Path, bom: bytes) -> None:
    path = write(tmp_path, "u.csv", bom + "name,city\nZoë,Zürich\n".encode())
    assert read(path) == [("2", {"name": "Zoë", "city": "Zürich"})]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a;b\n1;x,y\n2;z\n", [("2", {"a": 1, "b": "x,y"}), ("3", {"a": 2, "b": "z"})]),
        (b"a|b\n1|'x|y'\n2|z\n", [("2", {"a": 1, "b": "x|y"}), ("3", {"a": 2, "b": "z"})]),
        (b"a\tb\n1\t2\n", [("2", {"a": 1, "b": 2})]),
        (b"only\n1\n2\n", [("2", {"only": 1}), ("3", {"only": 2})]),  # one column: nothing to sniff
    ],
    ids=["semicolon", "pipe and single quotes", "tab", "one column"],
)
def test_the_delimiter_and_quote_are_sniffed(tmp_path: Path, data: bytes, expected: list[Any]) -> None:
    assert read(write(tmp_path, "s.csv", data)) == expected


def test_a_tsv_is_cut_at_tabs_and_a_dataset_may_set_the_dialect(tmp_path: Path) -> None:
    assert read(write(tmp_path, "t.tsv", b"a,b\tc\n1,2\t3\n")) == [("2", {"a,b": "1,2", "c": 3})]
    path = write(tmp_path, "o.csv", b"a:b\n#1:2#:3\n")
    opts = ReadOptions(csv_delimiter=":", csv_quotechar="#")
    assert read(path, opts) == [("2", {"a": "1:2", "b": 3})]


def test_a_row_with_another_number_of_fields_is_rejected_with_its_line_and_the_rest_kept(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "r.csv", b"a,b\n1,2\n3\n4,5,6\n7,8\n")
    assert read(path) == [
        ("2", {"a": 1, "b": 2}),
        ("3", BadRecord("line 3: 1 fields, the header has 2", '["3"]')),
        ("4", BadRecord("line 4: 3 fields, the header has 2", '["4","5","6"]')),
        ("5", {"a": 7, "b": 8}),
    ]


def test_a_column_is_typed_from_the_whole_file_not_its_first_lines(tmp_path: Path) -> None:
    rows = b"".join(b"%d,%d\n" % (i, i) for i in range(20_000))  # past the sniffed sample
    path = write(tmp_path, "late.csv", b"n,code\n" + rows + b"20000,A7\n")
    records = read(path)
    assert records[0] == ("2", {"n": 0, "code": "0"})  # "A7" at the end makes the whole column text
    assert records[-1] == ("20002", {"n": 20000, "code": "A7"})


def test_repeated_and_empty_header_names_are_renamed_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "h.csv", b"a,,a\n1,2,3\n")
    notes: list[str] = []
    with caplog.at_level(logging.INFO, logger="producer.read.framing.csv_rows"):
        assert read(path, ReadOptions(notes=notes)) == [("2", {"a": 1, "column_2": 2, "a_2": 3})]
    assert caplog.messages == [
        "file=h.csv event=csv_header_renamed columns=\"column 2 '' as 'column_2', column 3 'a' as 'a_2'\""
    ]
    assert notes == [  # for the file's report
        "header columns renamed to be unique and non-empty: column 2 '' as 'column_2', column 3 'a' as 'a_2'"
    ]


def test_a_header_alone_has_no_records_and_an_empty_file_neither(tmp_path: Path) -> None:
    assert read(write(tmp_path, "h.csv", b"a,b\n")) == []
    assert read(write(tmp_path, "e.csv", b"")) == []
    assert read(write(tmp_path, "b.csv", b"\n\n")) == []


def test_utf16_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "a,b\n1,2\n".encode("utf-16"))
    with pytest.raises(InputFileError, match="UTF-16") as error:
        read(path)
    assert error.value.position == 0
    assert "re-export it as UTF-8" in str(error.value)


def test_utf16_without_a_bom_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="probably UTF-16"):
        read(write(tmp_path, "w.csv", "a,b\n1,2\n".encode("utf-16-le")))


def test_bytes_that_are_not_utf8_stop_the_file_after_the_records_before_them(tmp_path: Path) -> None:
    data = b"a,b\n" + b"1,x\n" * 30_000 + b"2,caf\xe9\n3,y\n"  # latin-1, past the first 64 KiB
    records: list[tuple[str, Any]] = []
    with pytest.raises(InputFileError, match="not valid UTF-8") as error:
        records.extend(read_records(write(tmp_path, "l.csv", data)))
    # the rows decoded before it are produced; text is decoded in 8 KiB blocks (that of the bad byte is not)
    assert 30_000 - 8192 // 4 <= len(records) < 30_000
    assert records[0] == ("2", {"a": 1, "b": "x"})
    assert error.value.position == data.index(b"\xe9")


def test_a_quote_not_closed_by_the_end_is_a_file_error_naming_its_line(tmp_path: Path) -> None:
    records: list[tuple[str, Any]] = []
    with pytest.raises(InputFileError, match="starts on line 3 has a quote that is not closed"):
        records.extend(read_records(write(tmp_path, "q.csv", b'a,b\n1,2\n3,"open\n4,5\n')))
    assert records == [("2", {"a": 1, "b": 2})]


def test_a_stray_quote_is_a_file_error_not_a_value_read_some_other_way(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not valid CSV at line 2"):
        read(write(tmp_path, "q.csv", b'a,b\n"x"y,2\n'))


def test_a_field_longer_than_a_record_may_be_stops_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", b'a,b\n1,"' + b"x" * 5000 + b'"\n')
    with pytest.raises(InputFileError, match="longer than 1000 characters"):
        read(path, ReadOptions(max_line_bytes=1000))


@pytest.mark.timeout(60)
def test_a_big_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    row = b'123,"some text, quoted",4.5,true,' + b"y" * 400 + b"\n"
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.write(b"a,b,c,d,e\n")
        for _ in range(16):
            out.write(row * 1000)  # ~7 MB in all
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_records(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 16_000
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes for a {path.stat().st_size}-byte file"


_COUNT_IN_A_CHILD = """
import sys
from pathlib import Path
from producer.read.entry import read_records

def peak_rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])

path = Path(sys.argv[1])
next(iter(read_records(path.with_name("warm.csv"))))  # the reader's imports and buffers, before
before = peak_rss_kib()
count = 0
last = None
for position, record in read_records(path):
    count += 1
    last = (position, record)
print(count, before, peak_rss_kib(), repr(last))
"""


@pytest.mark.timeout(240)
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc (Linux)")
def test_a_one_gigabyte_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """1 GiB of CSV (1,048,576 rows, with quotes, an embedded newline and leading zeros in every row),
    read to the end in a process of its own: its peak RSS grows by less than 64 MiB however big the file
    (a reader that kept rows, positions or the file would need gigabytes)."""
    row = b'7,"some text, quoted ""twice""\nover two lines",4.5,true,00123,' + b"y" * 961 + b"\n"
    assert len(row) == 1024
    path = tmp_path / "big.csv"
    block = row * 1024
    with path.open("wb") as out:
        out.write(b"a,b,c,d,e,f\n")
        for _ in range(1024):
            out.write(block)
    (tmp_path / "warm.csv").write_bytes(b"a,b,c,d,e,f\n" + row)
    assert path.stat().st_size > 2**30
    child = subprocess.run(
        [sys.executable, "-c", _COUNT_IN_A_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=220,
        check=True,
    )
    path.unlink()  # a gigabyte of the test machine's disk, given back at once
    count, before, peak, last = child.stdout.split(" ", 3)
    assert int(count) == 1024 * 1024
    assert last.startswith(
        f"('{2 * 1024 * 1024}', {{'a': 7, 'b': 'some text, quoted \"twice\"\\nover two lines'"
    )
    assert "'e': '00123'" in last  # typing never alters a value: leading zeros stay text
    grown_mib = (int(peak) - int(before)) / 1024
    assert grown_mib < 64, f"peak RSS grew by {grown_mib:.0f} MiB reading a 1 GiB file"
