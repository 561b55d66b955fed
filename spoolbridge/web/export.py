"""The current hits as a file: CSV (chosen columns, or every field) or NDJSON (whole documents, or the chosen
columns), streamed from OpenSearch a page at a time, so an export of any size holds one page in memory.

Pages come from a scroll (sorted as the table is, else in index order, the cheapest), which reads one
consistent view of the indices; it is cleared when the export ends, is cancelled or fails. CSV cells that
hold lists or objects carry them as JSON; a value that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from typing import Any, Literal

import orjson

from .hit_table import column_values
from .mapped_fields import MappedField

__all__ = ["EXPORT_PAGE", "Format", "csv_cell", "csv_rows", "export_columns", "export_lines"]

log = logging.getLogger(__name__)

Format = Literal["csv", "ndjson"]
EXPORT_PAGE = 1000
_SCROLL = "2m"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_columns(columns: list[str], fields: dict[str, MappedField], source_field: str) -> list[str]:
    """The CSV's columns: the chosen ones, else every field that holds values (objects are their fields),
    the source file first."""
    if columns:
        return columns
    leaves = sorted(path for path, mapped in fields.items() if mapped.kind != "object")
    return [source_field, *[path for path in leaves if path != source_field]]


def csv_cell(value: Any) -> str:
    """One CSV cell: text as it is, numbers and booleans as JSON writes them, lists and objects as JSON,
    nothing for a missing value; formula-like text made inert."""
    if value is None:
        return ""
    if type(value) is int:  # as JSON writes it, without orjson's bytes (bool is not ``int`` here)
        return str(value)
    if isinstance(value, str):
        return f"'{value}" if value.startswith(_FORMULA_START) else value
    return orjson.dumps(value).decode()


def csv_rows(hits: list[dict[str, Any]], columns: list[str]) -> bytes:
    """The CSV lines of a page of hits: the id, then each column's cell (one writer for the page)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for hit in hits:
        document = hit.get("_source", {})
        writer.writerow([csv_cell(hit["_id"]), *[csv_cell(_column(document, c)) for c in columns]])
    return out.getvalue().encode()


def _column(document: dict[str, Any], path: str) -> Any:
    """:func:`~.hit_table.column_values`, with a short way for a top-level field that holds one value
    (a million-row export asks this for every cell)."""
    if "." in path:
        return column_values(document, path)
    value = document.get(path)
    return column_values(document, path) if isinstance(value, list) else value


def export_lines(
    client: Any,
    indices: list[str],
    body: dict[str, Any],
    *,
    format: Format,
    columns: list[str],
    fetch: list[str],
) -> Iterator[bytes]:
    """The export's bytes, a page of hits at a time (``body`` has ``query`` and optionally ``sort``):
    ``columns`` are the CSV's (or NDJSON's chosen fields), ``fetch`` the fields asked of OpenSearch (``[]``:
    whole documents, which costs the node less than filtering every document down to all of its fields)."""
    request = {**body, "size": EXPORT_PAGE}
    request.setdefault("sort", ["_doc"])
    if fetch:
        request["_source"] = fetch
    found = client.search(
        index=",".join(indices),
        body=request,
        params={"scroll": _SCROLL, "ignore_unavailable": "true", "expand_wildcards": "none"},
    )
    scroll_id = found.get("_scroll_id")
    try:
        if format == "csv":
            yield _csv_line(["_id", *columns])
        while True:
            hits = found["hits"]["hits"]
            if not hits:
                return
            if format == "csv":
                yield csv_rows(hits, columns)
            else:
                yield b"".join(orjson.dumps(hit.get("_source", {})) + b"\n" for hit in hits)
            found = client.scroll(body={"scroll": _SCROLL, "scroll_id": scroll_id})
            scroll_id = found.get("_scroll_id", scroll_id)
    finally:
        if scroll_id:
            try:
                client.clear_scroll(body={"scroll_id": [scroll_id]})
            except Exception as exc:  # it expires by itself
                log.info("event=scroll_clear_failed error=%s", type(exc).__name__)


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().encode()
