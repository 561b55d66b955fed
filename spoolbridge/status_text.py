"""``spoolbridge status`` as text: at most 80 columns, names never cut (the figures are
:mod:`.status`'s)."""

from __future__ import annotations

import textwrap

from .status import DatasetStatus, SourceStatus, StatusReport

__all__ = ["expired_lines", "print_status"]

_WIDTH = 80


def expired_lines(d: DatasetStatus) -> list[str]:
    """What status says about records that expired from Kafka before they were indexed (none: [])."""
    expired = d.totals["expired"]
    if not expired:
        return []
    retention = f"retention.ms {d.retention_ms}" if d.retention_ms is not None else "retention.ms unknown"
    lines = [f"{expired} records expired from Kafka before they were indexed ({retention})"]
    files, unknown = d.expired_files, d.expired_files_unknown
    if files:
        lines.append("fix: drop these files again: " + ", ".join(files))
    if unknown:
        lines.append(
            "unknown (manifest from before ranges were recorded) whether they came from: "
            + ", ".join(unknown)
        )
    unplaced = sum(p.expired_unplaced for p in d.partitions)
    if unplaced:
        lines.append(f"{_records(unplaced)} of them at offsets no longer recorded: their files are unknown")
    if not files and not unknown and not unplaced:
        lines.append(
            "none of them was of the latest version of a file in this inbox (an earlier version's "
            "records, or a replay's copies): nothing to drop again"
        )
    return lines


def print_status(report: StatusReport, width: int = _WIDTH) -> None:
    """Plain text, readable at 80 columns and when piped: names are never cut (a long name gets a line
    of its own, its numbers on the next)."""
    if not report.datasets:
        print("no datasets yet: drop files into the inbox")
    for dataset in report.datasets:
        for line in _dataset_heading(dataset, width):
            print(line)
        _print_files(dataset.sources, width)
        print()
    print(f"consumer group {report.group}: lag {report.total_lag}")


def _dataset_heading(d: DatasetStatus, width: int) -> list[str]:
    t = d.totals
    if d.problem is not None:
        why = textwrap.wrap(d.problem, width, initial_indent="  ", subsequent_indent="  ")
        return [f"folder {d.dataset}: refused as a dataset ({_files(t['files'])} in failed/)", *why]
    route = f"  topic {d.topic} → index {d.index} ({_n(d.index_documents)} documents)"
    if len(route) > width:
        route = f"  topic {d.topic}\n  index {d.index} ({_n(d.index_documents)} documents)"
    counts = (
        f"  {_files(t['files'])}, read {t['read']}, produced {t['produced']}, indexed {t['indexed']}, "
        f"rejected {t['rejected']}, dead-lettered {t['dead_lettered']}, lag {t['lag']}"
    )
    if len(counts) > width:
        split = counts.index(", rejected")
        counts = counts[:split] + ",\n  " + counts[split + 2 :]
    expired = [
        line
        for text in expired_lines(d)
        for line in textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="    ")
    ]
    return [f"dataset {d.dataset}", *route.split("\n"), *counts.split("\n"), *expired]


def _records(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


_COLUMNS = ("state", "read", "produced", "indexed", "rejected", "dlq")


def _print_files(rows: list[SourceStatus], width: int) -> None:
    if not rows:
        return
    cells = [
        (r.source, r.state, _n(r.read), _n(r.produced), str(r.indexed), str(r.rejected), str(r.dead_lettered))
        for r in rows
    ]
    numbers = [max(len(c), *(len(row[i + 1]) for row in cells)) for i, c in enumerate(_COLUMNS)]
    rest = sum(numbers) + 2 * len(numbers)
    name_width = max(len("file"), *(len(row[0]) for row in cells))
    fits = 2 + name_width + rest <= width
    name_width = name_width if fits else max(len("file"), width - 2 - rest)
    header = (
        "  "
        + "file".ljust(name_width)
        + "".join(f"  {c:>{n}}" for c, n in zip(_COLUMNS, numbers, strict=True))
    )
    print(header)
    for row, status in zip(cells, rows, strict=True):
        values = "".join(f"  {v:>{n}}" for v, n in zip(row[1:], numbers, strict=True))
        if len(row[0]) > name_width:
            print(f"  {row[0]}")
            print("  " + " " * name_width + values)
        else:
            print("  " + row[0].ljust(name_width) + values)
        notes = [f"version {status.version}, replaced: {status.replaced} records"] if status.replaced else []
        if status.state == "removed":
            deleted = status.removed or 0
            documents = "1 document" if deleted == 1 else f"{deleted} documents"
            notes = [f"version {status.version}, removed on request: {documents} deleted"]
        elif status.state == "removing":
            notes.append("removal asked for: the producer deletes its documents between files")
        if status.superseded:
            repeated = _records(status.superseded)
            notes.append(f"{repeated} share an id with a later record of this file: the last one wins")
        if status.state in ("waiting", "reading") and status.bytes is not None:
            notes.append(f"{status.bytes} bytes" + (f", {status.read} records so far" if status.read else ""))
        if status.replayed:
            notes.append(f"{status.replayed} dead-lettered before, replayed (no longer outstanding)")
        if surplus := status.account().surplus:
            notes.append(
                f"{surplus} documents more than this version makes: an earlier version's, whose deletes "
                "are on their way (lag) or were never sent; not settled until they are gone"
            )
        if status.reason:
            notes.append(status.reason)
        for note in notes:
            print(textwrap.fill(note, width, initial_indent="    ", subsequent_indent="      "))


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)
