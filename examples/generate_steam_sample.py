#!/usr/bin/env python3
"""Deterministic, invented data in the shape of the Steam games dataset (stdlib only).

Without ``--records`` it (re)writes the sample the README's quick start uses, ``examples/steam-sample/``:

* ``games-1.json`` and ``games-2.json`` — 50 records each, a top-level object mapping app id (a string)
  to a record, the shape of the original Steam dump;
* ``games.jsonl`` — 10 more records as JSON Lines, each carrying its own ``app_id`` field.

With ``--records N`` it writes N records for benchmarks, streaming (memory does not grow with N):

    python examples/generate_steam_sample.py --records 100000 --out bench/data/steam
    python examples/generate_steam_sample.py --records 1000000 --record-bytes small --files 10 \\
        --format jsonl --out bench/data/small

``--record-bytes steam`` makes records of 1.1-3 KB (compact UTF-8 JSON), ``small`` records of 100-140
bytes (see ``SIZE_RANGES``). Every file is written as ``<name>.part`` and renamed when complete, so a
watcher never sees half a file. Record ``i`` depends only on the seed, ``i`` and whether it carries its
``app_id`` (arrays and JSON Lines): the same command always writes the same bytes, whatever the file
split. Every name, studio and text is invented here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import os
import random
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

__all__ = [
    "DEFAULT_SEED",
    "SIZE_RANGES",
    "FileFormat",
    "SizeClass",
    "app_id_for",
    "encode_record",
    "generate",
    "main",
    "make_record",
    "write_records",
    "write_sample",
]

SizeClass = Literal["small", "steam"]
FileFormat = Literal["object", "array", "jsonl"]

DEFAULT_SEED = 730
#: Inclusive bounds, in bytes, of one record encoded by :func:`encode_record`.
SIZE_RANGES: dict[SizeClass, tuple[int, int]] = {"small": (100, 140), "steam": (1100, 3000)}
SAMPLE_DIR = Path(__file__).resolve().parent / "steam-sample"
#: The committed sample: (file name, format, first record index, record count).
SAMPLE_FILES: tuple[tuple[str, FileFormat, int, int], ...] = (
    ("games-1.json", "object", 0, 50),
    ("games-2.json", "object", 50, 50),
    ("games.jsonl", "jsonl", 100, 10),
)

_FIRST_APP_ID = 100_010
_EPOCH = dt.date(2006, 1, 1)
_DATE_SPAN_DAYS = (dt.date(2024, 12, 31) - _EPOCH).days

_TITLE_LEADS = (
    "Crimson", "Hollow", "Clockwork", "Verdant", "Sunken", "Gilded", "Brittle", "Lantern", "Quiet",
    "Feral", "Paper", "Copper", "Drifting", "Velvet", "Glass", "Ember", "Tidal", "Marrow", "Frost",
    "Hinterland", "Saffron", "Cobalt", "Wandering", "Nimble", "Échoing", "Lumière",
)  # fmt: skip
_TITLE_NOUNS = (
    "Orchard", "Signal", "Harbor", "Kettle", "Spire", "Meadow", "Foundry", "Comet", "Burrow", "Atlas",
    "Lighthouse", "Caravan", "Garden", "Relay", "Tundra", "Quarry", "Archive", "Beacon", "Reef",
    "Parade", "Cellar", "Voyage", "Workshop", "Thicket", "Café", "Fjord",
)  # fmt: skip
_TITLE_TAILS = (
    "", "", "", "", " II", " III", ": Remastered", " Deluxe", " Tactics", " Online", " Zero",
    ": Night Shift", " Chronicles", ": Second Wind", " Simulator", " Rush",
)  # fmt: skip
_STUDIO_STEMS = (
    "Pinecone", "Larkspur", "Bramble", "Quillfeather", "Otterly", "Moonmoth", "Rustbolt", "Tinderbox",
    "Halfpenny", "Wyrmwood", "Snowglobe", "Pebblecrest", "Marigold", "Foxglove", "Tumbleweed", "Søndre",
)  # fmt: skip
_STUDIO_SUFFIXES = ("Games", "Studio", "Interactive", "Works", "Collective", "Softworks", "Labs")
_PUBLISHER_SUFFIXES = ("Publishing", "Entertainment", "Media", "Digital", "Arcade")
_LANGUAGES = (
    "English", "French", "German", "Spanish - Spain", "Spanish - Latin America", "Italian", "Japanese",
    "Korean", "Polish", "Portuguese - Brazil", "Russian", "Simplified Chinese", "Traditional Chinese",
    "Turkish", "Ukrainian", "Dutch", "Swedish", "Czech",
)  # fmt: skip
_CATEGORIES = (
    "Single-player", "Multi-player", "Co-op", "Online Co-op", "PvP", "Online PvP", "Steam Achievements",
    "Full controller support", "Partial Controller Support", "Steam Cloud", "Steam Trading Cards",
    "Steam Leaderboards", "Remote Play Together", "In-App Purchases", "Family Sharing",
)  # fmt: skip
_GENRES = (
    "Action", "Adventure", "Indie", "RPG", "Strategy", "Simulation", "Casual", "Racing", "Sports",
    "Puzzle", "Early Access", "Free to Play",
)  # fmt: skip
_TAGS = (
    "Indie", "Singleplayer", "Atmospheric", "Pixel Graphics", "Story Rich", "Roguelike", "Exploration",
    "Puzzle", "Relaxing", "Difficult", "Open World", "Crafting", "Survival", "Cozy", "Turn-Based",
    "Platformer", "Sci-fi", "Fantasy", "Cute", "Retro", "Hand-drawn", "Physics", "Management",
    "Base Building", "Deckbuilder", "Metroidvania", "Local Co-Op", "Funny", "Dark", "Choices Matter",
)  # fmt: skip
_OWNER_BUCKETS = (
    "0 - 20000", "20000 - 50000", "50000 - 100000", "100000 - 200000", "200000 - 500000",
    "500000 - 1000000", "1000000 - 2000000",
)  # fmt: skip
_PRICES = (0.0, 0.99, 1.99, 4.99, 7.99, 9.99, 12.99, 14.99, 19.99, 24.99, 29.99, 39.99, 59.99)
_AGES = (0, 0, 0, 0, 0, 0, 12, 16, 17, 18)
# Plain ASCII words without quotes or backslashes, so a text's length in characters is its size in
# bytes inside a JSON string; that is how records are sized exactly.
_WORDS = (
    "the", "a", "of", "and", "to", "in", "with", "your", "every", "across", "beneath", "between",
    "build", "explore", "gather", "repair", "trade", "defend", "chart", "restore", "befriend", "outwit",
    "village", "island", "machine", "river", "crew", "storm", "market", "engine", "forest", "kingdom",
    "puzzle", "secret", "season", "voyage", "garden", "tower", "signal", "ruins", "harbor", "festival",
    "quietly", "together", "forgotten", "handmade", "tiny", "sprawling", "curious", "stubborn",
    "hundreds", "dozens", "seven", "new", "old", "strange", "bright", "small", "endless", "careful",
)  # fmt: skip


def app_id_for(index: int) -> str:
    """The app id of record ``index``: a decimal string, like Steam's (which are multiples of 10)."""
    return str(_FIRST_APP_ID + 10 * index)


def encode_record(record: dict[str, Any]) -> bytes:
    """A record as written in every file: compact UTF-8 JSON, non-ASCII kept as is."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def make_record(
    index: int, *, seed: int = DEFAULT_SEED, size: SizeClass = "steam", with_id: bool = False
) -> tuple[str, dict[str, Any]]:
    """Record ``index`` and its app id. Its encoded size lies in ``SIZE_RANGES[size]``.

    ``with_id`` puts the app id into the record as ``app_id`` (for arrays and JSON Lines, where no
    top-level key carries it).
    """
    if index < 0:
        raise ValueError("index must be >= 0")
    rng = random.Random(seed * 1_000_003 + index)
    app_id = app_id_for(index)
    low, high = SIZE_RANGES[size]
    target = rng.randint(low, high)
    record: dict[str, Any] = {"app_id": app_id} if with_id else {}
    if size == "small":
        record.update(_small_fields(rng))
        text_field = "name"
    else:
        record.update(_steam_fields(rng))
        text_field = "about_the_game"
    _fill_to(record, text_field, target, rng)
    return app_id, record


def _title(rng: random.Random) -> str:
    return f"{rng.choice(_TITLE_LEADS)} {rng.choice(_TITLE_NOUNS)}{rng.choice(_TITLE_TAILS)}"


def _small_fields(rng: random.Random) -> dict[str, Any]:
    return {
        "name": f"{rng.choice(_TITLE_LEADS)} {rng.choice(_TITLE_NOUNS)}",
        "price": rng.choice(_PRICES),
        "positive": rng.randint(0, 9_999),
        "negative": rng.randint(0, 999),
        "genres": rng.sample(_GENRES, 1),
    }


def _steam_fields(rng: random.Random) -> dict[str, Any]:
    name = _title(rng)
    developer = f"{rng.choice(_STUDIO_STEMS)} {rng.choice(_STUDIO_SUFFIXES)}"
    self_published = rng.random() < 0.6
    publisher = (
        developer if self_published else f"{rng.choice(_STUDIO_STEMS)} {rng.choice(_PUBLISHER_SUFFIXES)}"
    )
    released = _EPOCH + dt.timedelta(days=rng.randrange(_DATE_SPAN_DAYS))
    positive = int(rng.paretovariate(1.2) * 20) - 20
    negative = int(positive * rng.uniform(0.02, 0.45))
    tag_names = rng.sample(_TAGS, rng.randint(3, 10))
    top = max(positive // 10, 5) + rng.randint(0, 300)
    tags = {tag: max(1, int(top * 0.8**rank)) for rank, tag in enumerate(tag_names)}
    languages = ["English", *rng.sample(_LANGUAGES[1:], rng.randint(0, 9))]
    genres = sorted(rng.sample(_GENRES, rng.randint(1, 3)), key=_GENRES.index)
    price = 0.0 if "Free to Play" in genres else rng.choice(_PRICES)
    return {
        "name": name,
        "release_date": f"{released:%b} {released.day}, {released.year}",
        "required_age": rng.choice(_AGES),
        "price": price,
        "dlc_count": rng.choice((0, 0, 0, 0, 1, 2, 3, 5, 12)),
        "short_description": _sentence(rng, rng.randint(10, 20)),
        "about_the_game": "",
        "supported_languages": languages,
        "windows": True,
        "mac": rng.random() < 0.35,
        "linux": rng.random() < 0.25,
        "metacritic_score": rng.choice((0, 0, 0, rng.randint(45, 95))),
        "positive": positive,
        "negative": negative,
        "estimated_owners": _owners(rng, positive + negative),
        "average_playtime_forever": rng.randint(0, 3_000),
        "peak_ccu": rng.randint(0, max(positive // 20, 1)),
        "developers": [developer],
        "publishers": [publisher],
        "categories": sorted(rng.sample(_CATEGORIES, rng.randint(1, 6)), key=_CATEGORIES.index),
        "genres": genres,
        "tags": tags,
    }


def _owners(rng: random.Random, reviews: int) -> str:
    bucket = 0
    while bucket < len(_OWNER_BUCKETS) - 1 and reviews > 40 * 4**bucket:
        bucket += 1
    bucket = max(0, min(len(_OWNER_BUCKETS) - 1, bucket + rng.choice((-1, 0, 0, 1))))
    return _OWNER_BUCKETS[bucket]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choices(_WORDS, k=words))
    return text[0].upper() + text[1:] + "."


def _fill_to(record: dict[str, Any], field: str, target: int, rng: random.Random) -> None:
    """Append text to ``record[field]`` until the encoded record is exactly ``target`` bytes long."""
    missing = target - len(encode_record(record))
    if missing <= 0:  # the fixed fields alone are already big enough; keep the record as it is
        return
    if field == "name":
        text = " " + " ".join(rng.choices(_WORDS, k=missing // 3 + 1))
    else:
        parts: list[str] = []
        length = 0
        while length < missing:
            parts.append(_sentence(rng, rng.randint(6, 18)))
            length += len(parts[-1]) + 1
        text = " ".join(parts)
    # No character here needs escaping in JSON, so its UTF-8 size is its size in the record.
    text = text.encode("utf-8")[:missing].decode("utf-8", "ignore").rstrip()
    record[field] += text + "." * (missing - len(text.encode("utf-8")))


@dataclass(frozen=True)
class WriteStats:
    """What one call wrote."""

    path: Path
    records: int
    bytes: int


def _records(
    start: int, stop: int, *, seed: int, size: SizeClass, with_id: bool
) -> Iterator[tuple[str, bytes]]:
    for index in range(start, stop):
        app_id, record = make_record(index, seed=seed, size=size, with_id=with_id)
        yield app_id, encode_record(record)


def write_records(
    path: Path,
    start: int,
    stop: int,
    *,
    fmt: FileFormat = "object",
    seed: int = DEFAULT_SEED,
    size: SizeClass = "steam",
    compress: bool = False,
) -> WriteStats:
    """Stream records ``start`` (inclusive) to ``stop`` (exclusive) into ``path``.

    One record per line in every format, so files stay readable and diffable. The file appears under its
    final name only when complete (written as ``<path>.part``, then renamed).
    """
    if not 0 <= start <= stop:
        raise ValueError("need 0 <= start <= stop")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    records = _records(start, stop, seed=seed, size=size, with_id=fmt != "object")
    written = 0
    try:
        with ExitStack() as stack:
            out: io.BufferedIOBase = stack.enter_context(open(partial, "wb"))
            if compress:  # no name and mtime 0 in the header: the same records give the same bytes
                out = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0))
            if fmt == "jsonl":
                for _, body in records:
                    out.write(body + b"\n")
                    written += 1
            else:
                out.write(b"{" if fmt == "object" else b"[")
                for app_id, body in records:
                    out.write(b",\n" if written else b"\n")
                    if fmt == "object":
                        out.write(json.dumps(app_id).encode("ascii") + b":")
                    out.write(body)
                    written += 1
                out.write((b"\n" if written else b"") + (b"}\n" if fmt == "object" else b"]\n"))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return WriteStats(path=path, records=written, bytes=path.stat().st_size)


def _extension(fmt: FileFormat, compress: bool) -> str:
    return (".jsonl" if fmt == "jsonl" else ".json") + (".gz" if compress else "")


def generate(
    out_dir: Path,
    records: int,
    *,
    files: int = 1,
    fmt: FileFormat = "object",
    seed: int = DEFAULT_SEED,
    size: SizeClass = "steam",
    compress: bool = False,
    prefix: str = "games",
) -> list[WriteStats]:
    """Write ``records`` records split evenly over ``files`` files named ``<prefix>-NNNNN.<ext>``."""
    if records < 0:
        raise ValueError("records must be >= 0")
    if files < 1:
        raise ValueError("files must be >= 1")
    ext = _extension(fmt, compress)
    stats = []
    for number in range(files):
        start, stop = number * records // files, (number + 1) * records // files
        path = out_dir / f"{prefix}-{number + 1:05d}{ext}"
        stats.append(write_records(path, start, stop, fmt=fmt, seed=seed, size=size, compress=compress))
    return stats


def write_sample(out_dir: Path = SAMPLE_DIR, *, seed: int = DEFAULT_SEED) -> list[WriteStats]:
    """Write the committed quick-start sample (see the module docstring) into ``out_dir``."""
    return [
        write_records(out_dir / name, first, first + count, fmt=fmt, seed=seed, size="steam")
        for name, fmt, first, count in SAMPLE_FILES
    ]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write invented, deterministic records in the Steam dataset's shape.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--records",
        type=int,
        default=None,
        help="how many records to write; omitted = rewrite the quick-start sample (games-1.json, "
        "games-2.json, games.jsonl)",
    )
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default: {SAMPLE_DIR.name}/)")
    parser.add_argument(
        "--record-bytes",
        choices=get_args(SizeClass),
        default="steam",
        help="record size: steam = {}-{} bytes, small = {}-{} bytes".format(
            *SIZE_RANGES["steam"], *SIZE_RANGES["small"]
        ),
    )
    parser.add_argument("--files", type=int, default=1, help="split the records over this many files")
    parser.add_argument(
        "--format",
        choices=get_args(FileFormat),
        default="object",
        help="object = {app id: record} like the Steam dump; array = [record, ...]; jsonl = one per line",
    )
    parser.add_argument("--gzip", action="store_true", help="compress the files (.json.gz / .jsonl.gz)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="same seed, same bytes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.records is None:
        stats = write_sample(args.out or SAMPLE_DIR, seed=args.seed)
    else:
        if args.out is None:
            parser.error("--out is required with --records")
        if args.records < 0 or args.files < 1:
            parser.error("--records must be >= 0 and --files >= 1")
        stats = generate(
            args.out,
            args.records,
            files=args.files,
            fmt=args.format,
            seed=args.seed,
            size=args.record_bytes,
            compress=args.gzip,
        )
    total_records = sum(s.records for s in stats)
    total_bytes = sum(s.bytes for s in stats)
    for s in stats if len(stats) <= 10 else []:
        print(f"{s.path}: {s.records} records, {s.bytes} bytes")
    print(f"wrote {total_records} records, {total_bytes} bytes, in {len(stats)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
