"""The page as one ASGI app: the static page, the tus uploads, the look-ups, the live progress, guarded.

Every route that changes something is a tus request (see :mod:`.tus`) or a removal request
(:mod:`.removals`); GET never changes anything. The
app holds no file in memory: uploads stream to disk through :class:`~.uploads.UploadStore`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from schemas.settings import Settings

from .analysis import Analysis
from .catalog import Catalog
from .guard import Guard
from .live import live_routes
from .lookups import lookup_routes
from .overview import overview_routes
from .progress import Progress
from .removals import removal_routes
from .tus import TusEndpoint
from .uploads import UploadStore

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
_EXPIRY_CHECK_SECS = 600.0


def create_app(settings: Settings) -> ASGIApp:
    """The whole page for ``settings`` (inbox, limits, token), guarded (see :mod:`.guard`)."""
    catalog = Catalog(settings)
    store = UploadStore(catalog.datasets, settings.web.max_upload_bytes)
    tus = TusEndpoint(store, "/api/uploads")
    progress = Progress(settings, catalog)
    analysis = Analysis(catalog)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", index, methods=["GET"]),
        *lookup_routes(settings, catalog, store),
        *analysis.routes(),
        Route("/api/uploads", tus.options, methods=["OPTIONS"]),
        Route("/api/uploads", tus.create, methods=["POST"]),
        Route("/api/uploads", tus.unfinished, methods=["GET"]),
        Route("/api/uploads/{upload_id}", tus.head, methods=["HEAD"]),
        Route("/api/uploads/{upload_id}", tus.patch, methods=["PATCH"]),
        Route("/api/uploads/{upload_id}", tus.delete, methods=["DELETE"]),
        *live_routes(settings, progress),
        *removal_routes(settings, catalog),
        *overview_routes(settings),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    expiry_secs = settings.web.upload_expiry_hours * 3600

    async def expire_uploads() -> None:
        while True:
            await anyio.to_thread.run_sync(lambda: store.expire(expiry_secs, busy=lambda: tus.writing))
            await anyio.sleep(min(_EXPIRY_CHECK_SECS, expiry_secs))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(expire_uploads)
            yield
            tasks.cancel_scope.cancel()
        await anyio.to_thread.run_sync(progress.close)  # the dead-letter readers' Kafka consumers
        await anyio.to_thread.run_sync(analysis.close)  # the tables' points in time

    return Guard(Starlette(routes=routes, lifespan=lifespan), settings.web)
