"""The hits as a table: chosen columns, sorted by any column that has exact values, paged through every hit
(not only the first 10,000) with a point in time and ``search_after``.

A page's ``next`` is a token of this server, not OpenSearch's point-in-time id: the id stays here, with the
indices and the request it belongs to, so a token can only continue the search that made it. Open points in
time are few (:data:`MAX_OPEN`; the oldest is closed when one more is asked) and short-lived
(:data:`KEEP_ALIVE_SECS` after their last page), so nobody can make the page hold OpenSearch's resources.
The tiebreaker that makes ``search_after`` exact is the document's index and id.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .field_query import QueryError
from .mapped_fields import MappedField

__all__ = ["KEEP_ALIVE_SECS", "MAX_OPEN", "HitPages", "column_values", "sort_clause"]

log = logging.getLogger(__name__)

MAX_OPEN = 16
KEEP_ALIVE_SECS = 120
MAX_COLUMNS = 50
PAGE_SIZE = 50


def sort_clause(sort: list[tuple[str, str]], fields: dict[str, MappedField]) -> list[Any]:
    """``[(field, "asc" | "desc"), …]`` as OpenSearch sorts, ending in the tiebreaker (index, id);
    relevance first when nothing is chosen. Raises :class:`QueryError` for a field that cannot be sorted."""
    clauses: list[Any] = []
    for name, order in sort:
        if order not in ("asc", "desc"):
            raise QueryError(f"sort {name} asc or desc, not {order!r}")
        mapped = fields.get(name)
        if mapped is None:
            raise QueryError(f'no field "{name}" to sort by in this dataset')
        if mapped.exact is None:
            raise QueryError(f"{name} is {mapped.type} without exact values: it cannot be sorted")
        clauses.append(
            {mapped.exact: {"order": order, "missing": "_last", "unmapped_type": _unmapped_type(mapped)}}
        )
    if not clauses:
        clauses.append({"_score": {"order": "desc"}})
    return [*clauses, {"_index": {"order": "asc"}}, {"_id": {"order": "asc"}}]


def column_values(document: Any, path: str) -> Any:
    """The value at dotted ``path`` of a document (a list where the path crosses a list; None if absent)."""
    values: list[Any] = [document]
    for part in path.split("."):
        nxt: list[Any] = []
        for value in values:
            if isinstance(value, dict) and part in value:
                found = value[part]
                nxt.extend(found if isinstance(found, list) else [found])
            elif isinstance(value, list):
                nxt.extend(v[part] for v in value if isinstance(v, dict) and part in v)
        values = nxt
    if not values:
        return None
    return values[0] if len(values) == 1 else values


@dataclass
class _Cursor:
    pit_id: str
    body: dict[str, Any]
    after: list[Any]
    touched: float
    shown: int
    columns: list[str]
    total: int = 0


class HitPages:
    """The open tables: each a point in time over the indices of one search."""

    def __init__(self, client_of: Any) -> None:
        self._client_of = client_of  # a callable: the OpenSearch client, made on first use
        self._open: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def first(
        self, indices: list[str], body: dict[str, Any], size: int = PAGE_SIZE, *, columns: list[str]
    ) -> dict[str, Any]:
        """The first page of ``body``'s hits over ``indices`` (``body`` has ``query``, ``sort`` and
        ``_source``), with ``next`` (a token) while more follow; every page names ``columns``."""
        self._expire()
        client = self._client_of()
        pit = client.create_pit(
            index=",".join(indices),
            params={
                "keep_alive": f"{KEEP_ALIVE_SECS}s",
                "expand_wildcards": "none",
                "allow_partial_pit_creation": "false",
            },
        )
        size = max(1, min(size, 500))
        cursor = _Cursor(pit["pit_id"], {**body, "size": size}, [], time.monotonic(), 0, columns)
        return self._page(cursor, first=True)

    def next(self, token: str) -> dict[str, Any]:
        """The page after the one that gave ``token``; raises :class:`QueryError` when it has expired."""
        self._expire()
        with self._lock:
            cursor = self._open.pop(token, None)
        if cursor is None:
            raise QueryError("these results have expired (or were never this server's): search again")
        return self._page(cursor, first=False)

    def close(self) -> None:
        """Close every open point in time (the app stops)."""
        with self._lock:
            cursors = list(self._open.values())
            self._open.clear()
        self._delete([c.pit_id for c in cursors])

    def _page(self, cursor: _Cursor, *, first: bool) -> dict[str, Any]:
        body = {
            **cursor.body,
            "pit": {"id": cursor.pit_id, "keep_alive": f"{KEEP_ALIVE_SECS}s"},
            "track_total_hits": first,
        }
        if cursor.after:
            body["search_after"] = cursor.after
        try:
            found = self._client_of().search(body=body)
        except Exception:
            self._delete([cursor.pit_id])
            raise
        hits = found["hits"]["hits"]
        cursor.pit_id = found.get("pit_id", cursor.pit_id)  # always the newest id
        cursor.shown += len(hits)
        answer: dict[str, Any] = {"hits": hits, "next": None, "columns": cursor.columns}
        if first:
            cursor.total = answer["total"] = int(found["hits"]["total"]["value"])
        if len(hits) < cursor.body["size"] or cursor.shown >= cursor.total:  # the point in time is fixed
            self._delete([cursor.pit_id])
            return answer
        cursor.after = hits[-1]["sort"]
        cursor.touched = time.monotonic()
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._open[token] = cursor
            evicted = [self._open.popitem(last=False)[1] for _ in range(max(0, len(self._open) - MAX_OPEN))]
        self._delete([c.pit_id for c in evicted])
        answer["next"] = token
        return answer

    def _expire(self) -> None:
        limit = time.monotonic() - KEEP_ALIVE_SECS
        with self._lock:
            old = [token for token, cursor in self._open.items() if cursor.touched < limit]
            cursors = [self._open.pop(token) for token in old]
        self._delete([c.pit_id for c in cursors])

    def _delete(self, pit_ids: list[str]) -> None:
        if not pit_ids:
            return
        try:
            self._client_of().delete_pit(body={"pit_id": pit_ids})
        except Exception as exc:  # it expires by itself at its keep-alive
            log.info("event=pit_close_failed count=%d error=%s", len(pit_ids), type(exc).__name__)


def _unmapped_type(mapped: MappedField) -> str:
    return {"number": "double", "date": "date", "boolean": "boolean", "ip": "ip"}.get(mapped.kind, "keyword")
