"""The page's look-ups (all GET but the conflict check, which sends a preview's fields): dataset names
checked by the producer's rules, the datasets and what OpenSearch holds for each, mapping conflicts,
search and facet fields.
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from producer.publish.publisher import RECORD_OVERHEAD_BYTES
from schemas.names import dataset_name_problem, suggest_dataset_name
from schemas.settings import Settings

from .catalog import Catalog
from .conflicts import SampleField, find_conflicts
from .dashboards import discover_url
from .field_query import QueryError, filters_from_json
from .names import UploadNameError, dataset_folder
from .search import SearchQuery, search
from .uploads import UploadStore

__all__ = ["lookup_routes"]

_MAX_JSON_BYTES = 1 << 20  # a preview's fields: small; anything bigger is not the page talking


async def _json_body(request: Request) -> Any:
    """The request's JSON body (at most 1 MiB); raises ValueError with the reason."""
    if int(request.headers.get("content-length") or _MAX_JSON_BYTES + 1) > _MAX_JSON_BYTES:
        raise ValueError(f"the body must be JSON of at most {_MAX_JSON_BYTES} bytes, with Content-Length")
    return json.loads(await request.body())


def _search_query(request: Request, datasets: list[str]) -> SearchQuery:
    params = request.query_params
    offset = params.get("from", "0")  # ASCII digits only: "²".isdigit() is True, int("²") fails
    only_field, only_term = params.get("only_field"), params.get("only_term")
    try:
        chips = filters_from_json(json.loads(params.get("filters") or "[]"))
    except ValueError as exc:  # QueryError too
        raise QueryError(f"filters: {exc}") from None
    return SearchQuery(
        params.get("q", ""),
        datasets,
        params.get("facet") or None,
        int(offset) if offset.isascii() and offset.isdigit() and len(offset) <= 9 else 0,
        only=(only_field, only_term) if only_field and only_term is not None else None,
        filters=chips,
    )


def _invalid(name: str) -> Response | None:
    problem = dataset_name_problem(name)
    return None if problem is None else JSONResponse({"problem": problem}, status_code=400)


def _unknown(name: str) -> Response:
    return JSONResponse(
        {"problem": f"no dataset {name!r} on this page: upload a file into it first"}, status_code=404
    )


def _chosen(catalog: Catalog, request: Request) -> list[str] | Response:
    """``?dataset=``: that dataset if the catalog knows it (else 400 or 404), or every dataset it knows."""
    name = request.query_params.get("dataset", "")
    if not name:
        return catalog.names()
    problem = dataset_name_problem(name)
    if problem is not None:
        return JSONResponse({"problem": f"dataset {name!r}: {problem}"}, 400)
    return [name] if catalog.knows(name) else _unknown(name)


def lookup_routes(settings: Settings, catalog: Catalog, store: UploadStore) -> list[Route]:
    async def dataset_name(request: Request) -> Response:
        """``?name=``: is it a dataset name the page can upload into? The rules are the producer's own."""
        name = request.query_params.get("name", "")
        problem = dataset_name_problem(name)
        if problem is None:
            try:
                dataset_folder(store.inbox, name, settings.producer)
            except UploadNameError as exc:
                problem = str(exc).partition(": ")[2]
        suggestion = None if problem is None else suggest_dataset_name(name)
        return JSONResponse({"name": name, "problem": problem, "suggestion": suggestion})

    async def datasets(request: Request) -> Response:
        names = await anyio.to_thread.run_sync(catalog.names)
        return JSONResponse({"datasets": names})

    async def dataset(request: Request) -> Response:
        """Index, document count, flattened mapping and field count and limit of one dataset; the producer
        settings it is read with (``records_path``, ``id_field``) and the largest record it takes
        (``max_record_bytes``). A name the catalog does not know is a new dataset: its index
        by the naming rule, and OpenSearch is not asked (the page reads only datasets it knows)."""
        name: str = request.path_params["name"]
        if (refused := _invalid(name)) is not None:
            return refused
        if await anyio.to_thread.run_sync(catalog.knows, name):
            info = await anyio.to_thread.run_sync(catalog.describe, name)
        else:
            info = await anyio.to_thread.run_sync(catalog.new, name)
        producer = store.choices.apply(catalog.datasets.get(name)).producer
        extra = {
            "records_path": producer.records_path,
            "id_field": producer.id_field,
            "discover": discover_url(settings.web.dashboards_url, info.index),
            "max_record_bytes": producer.max_message_bytes - RECORD_OVERHEAD_BYTES,
        }
        return JSONResponse({**info.as_dict(), **extra})

    async def conflicts(request: Request) -> Response:
        """``{"fields": {path: {"kinds": [...], "examples": [...]}}}`` (the page's preview) against the
        dataset's mapping: ``{"conflicts": [...]}``, empty for a new dataset (one the catalog does not know
        yet: its first upload)."""
        name: str = request.path_params["name"]
        if (refused := _invalid(name)) is not None:
            return refused
        if isinstance(name, Response):
            return name
        try:
            body = await _json_body(request)
            sample = {
                str(path): SampleField(
                    frozenset(map(str, spec["kinds"])), tuple(map(str, spec.get("examples", [])))
                )
                for path, spec in body["fields"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return JSONResponse(
                {"problem": f"expected the preview's fields as JSON ({exc})"}, status_code=400
            )
        if not await anyio.to_thread.run_sync(catalog.knows, name):
            return JSONResponse({"conflicts": [], "documents": 0, "problem": None})
        info = await anyio.to_thread.run_sync(catalog.describe, name)
        found = [c.as_dict() for c in find_conflicts(info.fields, sample)]
        return JSONResponse({"conflicts": found, "documents": info.documents, "problem": info.problem})

    async def run_search(request: Request) -> Response:
        """``?q=&dataset=&facet=&from=&only_field=&only_term=&filters=``: hits with highlights and source
        file, and a facet's top terms; ``only_*`` keeps the hits whose field has that term, ``filters`` are
        the chips (:func:`~.field_query.filters_from_json`)."""
        chosen = await anyio.to_thread.run_sync(_chosen, catalog, request)
        if isinstance(chosen, Response):
            return chosen
        try:
            query = _search_query(request, chosen)
        except QueryError as exc:
            return JSONResponse({"total": 0, "hits": [], "facet": [], "problem": str(exc)}, 400)
        return JSONResponse(await anyio.to_thread.run_sync(search, catalog, query))

    async def fields(request: Request) -> Response:
        """``?dataset=``: the fields a facet can be made of, in the chosen datasets' mappings."""
        chosen = await anyio.to_thread.run_sync(_chosen, catalog, request)
        if isinstance(chosen, Response):
            return chosen
        found: set[str] = set()
        for name in chosen:
            info = await anyio.to_thread.run_sync(catalog.describe, name)
            found.update(info.facets)
        return JSONResponse({"fields": sorted(found)})

    return [
        Route("/api/dataset-name", dataset_name, methods=["GET"]),
        Route("/api/datasets", datasets, methods=["GET"]),
        Route("/api/datasets/{name}", dataset, methods=["GET"]),
        Route("/api/datasets/{name}/conflicts", conflicts, methods=["POST"]),
        Route("/api/search", run_search, methods=["GET"]),
        Route("/api/fields", fields, methods=["GET"]),
    ]
