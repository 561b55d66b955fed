"""The sample-data generator: deterministic bytes, the Steam dataset's shape, bounded record sizes."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest

from examples import generate_steam_sample as gen

STEAM_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "release_date": str,
    "required_age": int,
    "price": float,
    "dlc_count": int,
    "short_description": str,
    "about_the_game": str,
    "supported_languages": list,
    "windows": bool,
    "mac": bool,
    "linux": bool,
    "metacritic_score": int,
    "positive": int,
    "negative": int,
    "estimated_owners": str,
    "average_playtime_forever": int,
    "peak_ccu": int,
    "developers": list,
    "publishers": list,
    "categories": list,
    "genres": list,
    "tags": dict,
}
SMALL_FIELDS = {"name", "price", "positive", "negative", "genres"}


def _check_steam_record(record: dict[str, Any]) -> None:
    for field, kind in STEAM_FIELD_TYPES.items():
        assert isinstance(record[field], kind), field
    for field in ("required_age", "dlc_count", "positive", "negative"):
        assert not isinstance(record[field], bool) and record[field] >= 0, field
    for field in ("supported_languages", "developers", "publishers", "categories", "genres"):
        assert record[field] and all(isinstance(item, str) and item for item in record[field]), field
    assert record["tags"] and all(
        isinstance(k, str) and isinstance(v, int) and v > 0 for k, v in record["tags"].items()
    )
    assert re.fullmatch(r"\d+ - \d+", record["estimated_owners"])
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}", record["release_date"])
    assert record["windows"] is True


def _files_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_make_record_is_deterministic_and_seed_dependent() -> None:
    assert gen.make_record(7) == gen.make_record(7)
    assert gen.make_record(7, size="small") == gen.make_record(7, size="small")
    assert gen.make_record(7) != gen.make_record(8)
    assert gen.make_record(7)[1] != gen.make_record(7, seed=gen.DEFAULT_SEED + 1)[1]
    assert gen.make_record(7)[0] == gen.app_id_for(7) == str(int(gen.app_id_for(0)) + 70)


@pytest.mark.parametrize("size", get_args(gen.SizeClass))
@pytest.mark.parametrize("with_id", [False, True])
def test_record_sizes_stay_in_their_range(size: gen.SizeClass, with_id: bool) -> None:
    low, high = gen.SIZE_RANGES[size]
    sizes = []
    for index in range(0, 60_000, 97):
        app_id, record = gen.make_record(index, size=size, with_id=with_id)
        sizes.append(len(gen.encode_record(record)))
        assert ("app_id" in record) is with_id
        if with_id:
            assert record["app_id"] == app_id
    assert low <= min(sizes) and max(sizes) <= high
    assert max(sizes) - min(sizes) > (high - low) // 2  # spread over the range, not one fixed size


def test_steam_records_have_the_dataset_shape() -> None:
    for index in range(200):
        _, record = gen.make_record(index)
        _check_steam_record(record)
        assert list(record) == list(STEAM_FIELD_TYPES)


def test_small_records_are_flat_and_small() -> None:
    _, record = gen.make_record(3, size="small")
    assert set(record) == SMALL_FIELDS
    assert isinstance(record["price"], float) and isinstance(record["name"], str)


def test_committed_sample_matches_the_generator(tmp_path: Path) -> None:
    """The files in examples/steam-sample are exactly what the script writes (regenerate on change)."""
    gen.write_sample(tmp_path)
    assert _files_bytes(tmp_path) == _files_bytes(gen.SAMPLE_DIR)


def test_sample_files_have_the_steam_shape() -> None:
    ids: set[str] = set()
    for name in ("games-1.json", "games-2.json"):
        data = json.loads((gen.SAMPLE_DIR / name).read_bytes())
        assert isinstance(data, dict) and len(data) == 50
        for app_id, record in data.items():
            assert app_id.isdigit() and "app_id" not in record
            _check_steam_record(record)
        ids |= set(data)
    lines = (gen.SAMPLE_DIR / "games.jsonl").read_bytes().splitlines()
    assert len(lines) == 10
    for line in lines:
        record = json.loads(line)
        _check_steam_record(record)
        ids.add(record["app_id"])
    assert len(ids) == 110  # no id repeats across the sample files


@pytest.mark.parametrize("fmt", get_args(gen.FileFormat))
def test_generate_is_byte_identical_across_runs_and_independent_of_the_split(
    tmp_path: Path, fmt: gen.FileFormat
) -> None:
    one = gen.generate(tmp_path / "a", 25, files=1, fmt=fmt, size="small")
    again = gen.generate(tmp_path / "b", 25, files=1, fmt=fmt, size="small")
    assert one[0].path.read_bytes() == again[0].path.read_bytes()
    split = gen.generate(tmp_path / "c", 25, files=3, fmt=fmt, size="small")
    assert [s.records for s in split] == [8, 8, 9]
    assert [s.path.name for s in split] == [
        f"games-0000{n}.{'jsonl' if fmt == 'jsonl' else 'json'}" for n in (1, 2, 3)
    ]

    def records(paths: list[Path]) -> list[Any]:
        out: list[Any] = []
        for path in paths:
            if fmt == "jsonl":
                out.extend(json.loads(line) for line in path.read_bytes().splitlines())
            elif fmt == "array":
                out.extend(json.loads(path.read_bytes()))
            else:
                out.extend(json.loads(path.read_bytes()).items())
        return out

    whole = records([one[0].path])
    assert len(whole) == 25
    assert records([s.path for s in split]) == whole
    assert not list(tmp_path.rglob("*.part"))


def test_gzip_output_is_deterministic_and_readable(tmp_path: Path) -> None:
    first = gen.generate(tmp_path / "a", 12, fmt="array", compress=True)[0]
    second = gen.generate(tmp_path / "b", 12, fmt="array", compress=True)[0]
    assert first.path.name == "games-00001.json.gz"
    assert first.path.read_bytes() == second.path.read_bytes()
    data = json.loads(gzip.decompress(first.path.read_bytes()))
    assert [r["app_id"] for r in data] == [gen.app_id_for(i) for i in range(12)]
    assert first.bytes == first.path.stat().st_size


@pytest.mark.parametrize(("fmt", "expected"), [("object", {}), ("array", []), ("jsonl", None)])
def test_empty_files_are_still_valid(tmp_path: Path, fmt: gen.FileFormat, expected: Any) -> None:
    stats = gen.generate(tmp_path, 0, fmt=fmt)[0]
    assert stats.records == 0
    raw = stats.path.read_bytes()
    assert (json.loads(raw) if expected is not None else raw) == (expected if expected is not None else b"")


def test_invalid_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="records"):
        gen.generate(tmp_path, -1)
    with pytest.raises(ValueError, match="files"):
        gen.generate(tmp_path, 1, files=0)
    with pytest.raises(ValueError, match="index"):
        gen.make_record(-1)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    argv = [
        "--records",
        "30",
        "--out",
        str(out),
        "--record-bytes",
        "small",
        "--files",
        "2",
        "--format",
        "jsonl",
    ]
    assert gen.main(argv) == 0
    assert "wrote 30 records" in capsys.readouterr().out
    lines = [json.loads(line) for p in sorted(out.glob("*.jsonl")) for line in p.read_bytes().splitlines()]
    assert [r["app_id"] for r in lines] == [gen.app_id_for(i) for i in range(30)]
    low, high = gen.SIZE_RANGES["small"]
    assert all(low <= len(gen.encode_record(r)) <= high for r in lines)

    assert gen.main(["--out", str(tmp_path / "sample")]) == 0
    assert _files_bytes(tmp_path / "sample") == _files_bytes(gen.SAMPLE_DIR)

    with pytest.raises(SystemExit) as exc:
        gen.main(["--records", "5"])
    assert exc.value.code == 2
    assert "--out is required" in capsys.readouterr().err
