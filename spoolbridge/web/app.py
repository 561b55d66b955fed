"""The page's routes: the static page, the tus uploads and small JSON look-ups.

Every route that changes something is a tus request (see :mod:`.tus`); GET never changes anything. The
app holds no file in memory: uploads stream to disk through :class:`~.uploads.UploadStore`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from schemas.names import dataset_name_problem, suggest_dataset_name
from schemas.settings import Settings

from .catalog import Catalog
from .conflicts import SampleField, find_conflicts
from .guard import Guard
from .live import live_routes
from .names import UploadNameError, dataset_folder
from .progress import Progress
from .tus import TusEndpoint
from .uploads import UploadStore

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
_MAX_JSON_BYTES = 1 << 20  # a preview's fields: small; anything bigger is not the page talking


async def _json_body(request: Request) -> Any:
    """The request's JSON body (at most 1 MiB); raises ValueError with the reason."""
    if int(request.headers.get("content-length") or _MAX_JSON_BYTES + 1) > _MAX_JSON_BYTES:
        raise ValueError(f"the body must be JSON of at most {_MAX_JSON_BYTES} bytes, with Content-Length")
    return json.loads(await request.body())


def create_app(settings: Settings) -> ASGIApp:
    """The whole page for ``settings`` (inbox, limits, token), guarded (see :mod:`.guard`)."""
    store = UploadStore(settings.producer, settings.web.max_upload_bytes)
    tus = TusEndpoint(store, "/api/uploads")
    catalog = Catalog(settings)
    progress = Progress(settings, catalog)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

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

    def _named(request: Request) -> str | Response:
        name: str = request.path_params["name"]
        problem = dataset_name_problem(name)
        return name if problem is None else JSONResponse({"problem": problem}, status_code=400)

    async def dataset(request: Request) -> Response:
        """Index, document count and flattened mapping of one dataset; the producer settings it is read
        with (``records_path``, ``id_field``)."""
        name = _named(request)
        if isinstance(name, Response):
            return name
        info = await anyio.to_thread.run_sync(catalog.describe, name)
        producer = catalog.datasets.get(name).producer
        extra = {"records_path": producer.records_path, "id_field": producer.id_field}
        return JSONResponse({**info.as_dict(), **extra})

    async def conflicts(request: Request) -> Response:
        """``{"fields": {path: {"kinds": [...], "examples": [...]}}}`` (the page's preview) against the
        dataset's mapping: ``{"conflicts": [...]}``, empty for a new dataset."""
        name = _named(request)
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
        info = await anyio.to_thread.run_sync(catalog.describe, name)
        found = [c.as_dict() for c in find_conflicts(info.fields, sample)]
        return JSONResponse({"conflicts": found, "documents": info.documents, "problem": info.problem})

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/dataset-name", dataset_name, methods=["GET"]),
        Route("/api/datasets", datasets, methods=["GET"]),
        Route("/api/datasets/{name}", dataset, methods=["GET"]),
        Route("/api/datasets/{name}/conflicts", conflicts, methods=["POST"]),
        Route("/api/uploads", tus.options, methods=["OPTIONS"]),
        Route("/api/uploads", tus.create, methods=["POST"]),
        Route("/api/uploads/{upload_id}", tus.head, methods=["HEAD"]),
        Route("/api/uploads/{upload_id}", tus.patch, methods=["PATCH"]),
        Route("/api/uploads/{upload_id}", tus.delete, methods=["DELETE"]),
        *live_routes(settings, progress),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await anyio.to_thread.run_sync(progress.close)  # the dead-letter readers' Kafka consumers

    return Guard(Starlette(routes=routes, lifespan=lifespan), settings.web)
