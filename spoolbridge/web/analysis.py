"""The page's analysis routes: a dataset's fields, one field's values, the hits as a table, the hits as a
file, and the documents per source file. Every one reads only the page's datasets (``?dataset=`` one of
them, or all), through their concrete indices (:meth:`~.catalog.Catalog.readable_indices`), with the
query box's text and the chips (:mod:`.field_query`); sizes are capped and OpenSearch's time is limited.

- ``GET /api/field-list?dataset=&q=&filters=``: every field with its type and how many hits have it;
- ``GET /api/values?dataset=&field=&q=&filters=&from=&size=&within=``: top values with shares, other,
  missing, distinct, and for numbers and dates the range and a histogram (:mod:`.field_stats`);
- ``GET /api/hits?dataset=&q=&filters=&sort=field:asc&column=…&size=`` and ``GET /api/hits?next=``: the
  table (:mod:`.hit_table`);
- ``GET /api/export?dataset=&q=&filters=&sort=&column=…&format=csv|ndjson``: a download (:mod:`.export`),
  ``X-Total-Hits`` saying how many rows follow; at most :data:`MAX_EXPORTS` at a time (else 429);
- ``GET /api/datasets/{name}/sources``: documents per source file with shares, and the documents in all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from schemas.errors import ConfigError
from schemas.names import dataset_name_problem

from .catalog import Catalog
from .export import Format, export_columns, export_lines
from .field_query import FieldFilter, QueryError, filters_from_json, query_clause
from .field_stats import MAX_VALUES, field_list, top_values
from .hit_table import MAX_COLUMNS, PAGE_SIZE, HitPages, column_values, sort_clause
from .mapped_fields import MappedField, title_field

__all__ = ["MAX_EXPORTS", "Analysis"]

MAX_EXPORTS = 2
_TIMEOUT = "30s"  # OpenSearch's time for one request of the page's (it stops and says partial)
_MAX_SOURCES = 1000


class _Ask:
    """One request's reading: the datasets, their indices and fields, and the query."""

    def __init__(self, catalog: Catalog, params: Any, dataset: str | None = None) -> None:
        name = dataset if dataset is not None else params.get("dataset", "")
        if name:
            if (problem := dataset_name_problem(name)) is not None:
                raise QueryError(f"dataset {name!r}: {problem}")
            if not catalog.knows(name):
                raise LookupError(f"no dataset {name!r} on this page: upload a file into it first")
            self.datasets = [name]
        else:
            self.datasets = catalog.names()
        self.indices, problem = catalog.readable_indices(self.datasets)
        if problem is not None:
            raise QueryError(problem)
        self.fields: dict[str, MappedField] = catalog.mapped(self.datasets)
        raw = params.get("filters") or "[]"
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise QueryError("filters must be JSON: a list of {op, field, value}") from None
        chips: list[FieldFilter] = filters_from_json(parsed)
        self.query, self.conditions = query_clause(params.get("q", "").strip(), chips, self.fields)
        self.params = params

    def number(self, name: str, default: int, high: int) -> int:
        raw = self.params.get(name, "")
        return min(int(raw), high) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else default

    def columns(self) -> list[str]:
        chosen: list[str] = list(self.params.getlist("column"))[:MAX_COLUMNS]
        unknown = [c for c in chosen if c not in self.fields]
        if unknown:
            raise QueryError(f'no field "{unknown[0]}" in this dataset to show as a column')
        return chosen

    def sort(self) -> list[Any]:
        pairs = []
        for item in self.params.getlist("sort")[:8]:
            name, _, order = item.rpartition(":")
            pairs.append((name, order) if name else (order, "asc"))
        return sort_clause(pairs, self.fields)


class Analysis:
    """The analysis routes over one catalog, and the tables they hold open (:meth:`close` them)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.pages = HitPages(catalog.client)
        self._exports = threading.BoundedSemaphore(MAX_EXPORTS)

    def routes(self) -> list[Route]:
        return [
            Route("/api/field-list", self.fields, methods=["GET"]),
            Route("/api/values", self.values, methods=["GET"]),
            Route("/api/hits", self.hits, methods=["GET"]),
            Route("/api/export", self.export, methods=["GET"]),
            Route("/api/datasets/{name}/sources", self.sources, methods=["GET"]),
        ]

    def close(self) -> None:
        self.pages.close()

    async def fields(self, request: Request) -> Response:
        def work(ask: _Ask) -> dict[str, Any]:
            listed = field_list(self.catalog.client(), ask.indices, ask.query, ask.fields)
            return {**listed, "title_field": title_field(ask.fields)}

        return await self._answer(request, work)

    async def values(self, request: Request) -> Response:
        def work(ask: _Ask) -> dict[str, Any]:
            name = request.query_params.get("field", "")
            mapped = ask.fields.get(name)
            if mapped is None:
                raise QueryError(f'no field "{name}" in this dataset')
            if mapped.exact is None:
                raise QueryError(f"{name} is {mapped.type}: its words are searched, its values not counted")
            within = request.query_params.get("within", "")[:100]
            if within and mapped.kind not in ("keyword", "text"):
                raise QueryError(f"{name} holds {mapped.kind}s: search within text values only")
            offset = ask.number("from", 0, MAX_VALUES - 1)
            size = ask.number("size", 20, 500)
            client = self.catalog.client()
            return top_values(client, ask.indices, ask.query, mapped, offset=offset, size=size, within=within)

        return await self._answer(request, work)

    async def hits(self, request: Request) -> Response:
        token = request.query_params.get("next")
        if token:
            return await self._answer(
                request, lambda _: _table(self.pages.next(token[:64]), self.catalog), ask=False
            )

        def work(ask: _Ask) -> dict[str, Any]:
            columns = ask.columns()
            title = title_field(ask.fields)
            # whole documents: a row opens into its document without asking again
            body: dict[str, Any] = {"query": ask.query, "sort": ask.sort(), "timeout": _TIMEOUT}
            page = self.pages.first(ask.indices, body, ask.number("size", PAGE_SIZE, 500), columns=columns)
            return {**_table(page, self.catalog), "title_field": title}

        return await self._answer(request, work)

    async def export(self, request: Request) -> Response:
        """A download of the hits; holds one of :data:`MAX_EXPORTS` places until its last byte is sent or
        the download is cancelled."""
        format_ = request.query_params.get("format", "csv")
        if format_ not in ("csv", "ndjson"):
            return JSONResponse({"problem": "format is csv or ndjson"}, 400)
        if not self._exports.acquire(blocking=False):
            busy = f"{MAX_EXPORTS} exports are running: try again when one ends"
            return JSONResponse({"problem": busy}, 429)
        fmt: Format = "csv" if format_ == "csv" else "ndjson"
        try:
            ask, columns, total = await anyio.to_thread.run_sync(self._prepare_export, request, fmt)
        except Exception as exc:
            self._exports.release()
            return _refused(self.catalog, exc)
        chosen = ask.columns()  # the CSV without chosen columns has every field: whole documents are fetched
        chosen_sort = ask.sort()[:-3] if request.query_params.getlist("sort") else []
        body: dict[str, Any] = {"query": ask.query, **({"sort": chosen_sort} if chosen_sort else {})}
        name = f"{ask.datasets[0] if len(ask.datasets) == 1 else 'datasets'}.{format_}"

        def lines() -> Iterator[bytes]:
            try:
                client = self.catalog.client()
                yield from export_lines(client, ask.indices, body, format=fmt, columns=columns, fetch=chosen)
            finally:
                self._exports.release()

        headers = {
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Total-Hits": str(total),
            "Cache-Control": "no-store",
        }
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        return StreamingResponse(lines(), media_type=media, headers=headers)

    def _prepare_export(self, request: Request, fmt: Format) -> tuple[_Ask, list[str], int]:
        ask = _Ask(self.catalog, request.query_params)
        chosen = ask.columns()
        source = self.catalog.settings.producer.source_field
        columns = export_columns(chosen, ask.fields, source) if fmt == "csv" else chosen
        counted = self.catalog.client().count(
            index=",".join(ask.indices), body={"query": ask.query}, params={"expand_wildcards": "none"}
        )
        return ask, columns, int(counted["count"])

    async def sources(self, request: Request) -> Response:
        """Documents per source file of one dataset, with shares of the documents the search matches."""
        name: str = request.path_params["name"]

        def work(ask: _Ask) -> dict[str, Any]:
            source = self.catalog.settings.producer.source_field
            mapped = ask.fields.get(source)
            if mapped is None or mapped.exact is None:
                return {"field": source, "total": 0, "values": [], "distinct": 0, "missing": 0}
            return top_values(self.catalog.client(), ask.indices, ask.query, mapped, size=_MAX_SOURCES)

        return await self._answer(request, work, dataset=name)

    async def _answer(
        self,
        request: Request,
        work: Callable[[_Ask], dict[str, Any]],
        *,
        dataset: str | None = None,
        ask: bool = True,
    ) -> Response:
        def run() -> Response:
            try:
                asked = _Ask(self.catalog, request.query_params, dataset) if ask else None
                return JSONResponse({"problem": None, **work(asked)})  # type: ignore[arg-type]
            except Exception as exc:
                return _refused(self.catalog, exc)

        return await anyio.to_thread.run_sync(run)


def _refused(catalog: Catalog, exc: Exception) -> Response:
    """The answer to a request that could not be answered: 400 for a query the page will not send, 404
    for a dataset it does not know, 502 when OpenSearch failed; anything else is a bug (raised)."""
    from opensearchpy.exceptions import TransportError

    if isinstance(exc, QueryError):
        return JSONResponse({"problem": str(exc)}, 400)
    if isinstance(exc, LookupError):
        return JSONResponse({"problem": str(exc)}, 404)
    if isinstance(exc, ConfigError | TransportError):
        return JSONResponse({"problem": catalog.opensearch_problem(exc)}, 502)
    raise exc


def _table(page: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    source = catalog.settings.producer.source_field
    columns: list[str] = page["columns"]
    rows = []
    for hit in page["hits"]:
        document = hit.get("_source", {})
        rows.append(
            {
                "index": hit["_index"],
                "id": hit["_id"],
                "source": column_values(document, source),
                "cells": {c: column_values(document, c) for c in columns},
                "document": document,
            }
        )
    found = {"rows": rows, "next": page["next"], "columns": columns}
    return {**found, **({"total": page["total"]} if "total" in page else {})}
