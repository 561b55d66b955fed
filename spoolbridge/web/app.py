"""The page's routes: the static page, the tus uploads and small JSON look-ups.

Every route that changes something is a tus request (see :mod:`.tus`); GET never changes anything. The
app holds no file in memory: uploads stream to disk through :class:`~.uploads.UploadStore`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from schemas.names import dataset_name_problem, suggest_dataset_name
from schemas.settings import Settings

from .guard import Guard
from .names import UploadNameError, dataset_folder
from .tus import TusEndpoint
from .uploads import UploadStore

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings) -> ASGIApp:
    """The whole page for ``settings`` (inbox, limits, token), guarded (see :mod:`.guard`)."""
    store = UploadStore(settings.producer, settings.web.max_upload_bytes)
    tus = TusEndpoint(store, "/api/uploads")

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

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/dataset-name", dataset_name, methods=["GET"]),
        Route("/api/uploads", tus.options, methods=["OPTIONS"]),
        Route("/api/uploads", tus.create, methods=["POST"]),
        Route("/api/uploads/{upload_id}", tus.head, methods=["HEAD"]),
        Route("/api/uploads/{upload_id}", tus.patch, methods=["PATCH"]),
        Route("/api/uploads/{upload_id}", tus.delete, methods=["DELETE"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Guard(Starlette(routes=routes), settings.web)
