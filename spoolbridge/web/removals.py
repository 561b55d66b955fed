"""``POST /api/removals``: the page's "Remove from dataset" on a file's card; ``GET
/api/removals?source=``: whether that file's documents were removed (``"state": "removed"``, with
``removed``, how many were deleted), are being removed (``"removing"``), or neither (``null``), which the
page asks before it says a file "was sent before".

The body is ``{"source": "<dataset>/<file>"}``. The page writes the same removal request as
``spoolbridge forget`` (:mod:`producer.inbox.removals`) and answers 202 with ``{"source", "state":
"removing"}``; the producer carries it out between files, and the file's progress stream
(``/api/progress``) then shows ``removing``, then ``removed`` with how many documents were deleted, once
the index holds none of them. A file already removed answers 200 (``"state": "removed"``), an invalid
source 400, a dataset or file the page does not know 404, each with ``problem`` in one line. Like every
state-changing request, it passes the guard's checks first (same origin, the page's request header, the
token when one is set; :mod:`.guard`).
"""

from __future__ import annotations

import json

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from producer.inbox.removals import RemovalRequests, already_removed, removal_problem
from producer.inbox.versions import VersionHistory
from schemas.settings import Settings

from .catalog import Catalog
from .progress import source_problem

__all__ = ["removal_routes"]

_MAX_BODY_BYTES = 4096


def removal_routes(settings: Settings, catalog: Catalog) -> list[Route]:
    inbox = settings.producer.inbox.absolute()
    requests = RemovalRequests(inbox)
    history = VersionHistory(inbox)

    def remove(source: str) -> Response:
        problem = source_problem(source)
        if problem is not None:
            return JSONResponse({"problem": f"source {source!r}: {problem}"}, 400)
        dataset = source.partition("/")[0]
        if not catalog.knows(dataset):
            return JSONResponse({"problem": f"no dataset {dataset!r} on this page"}, 404)
        if (problem := removal_problem(inbox, source)) is not None:
            return JSONResponse({"problem": problem}, 404)
        done = already_removed(history, source)
        if done is not None:
            return JSONResponse({"source": source, "state": "removed", "removed": done.deleted})
        requests.request(source)
        return JSONResponse({"source": source, "state": "removing"}, 202)

    async def create(request: Request) -> Response:
        try:
            if int(request.headers.get("content-length") or _MAX_BODY_BYTES + 1) > _MAX_BODY_BYTES:
                raise ValueError(f"at most {_MAX_BODY_BYTES} bytes, with Content-Length")
            source = json.loads(await request.body())["source"]
            if not isinstance(source, str):
                raise TypeError("source is not a string")
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse(
                {"problem": f'expected {{"source": "<dataset>/<file>"}} as JSON ({exc})'}, 400
            )
        return await anyio.to_thread.run_sync(remove, source)

    def state_of(source: str) -> Response:
        if (problem := source_problem(source)) is not None:
            return JSONResponse({"problem": f"source {source!r}: {problem}"}, 400)
        done = already_removed(history, source)
        if done is not None:
            return JSONResponse({"source": source, "state": "removed", "removed": done.deleted})
        return JSONResponse({"source": source, "state": "removing" if requests.is_pending(source) else None})

    async def state(request: Request) -> Response:
        return await anyio.to_thread.run_sync(state_of, request.query_params.get("source", ""))

    return [
        Route("/api/removals", create, methods=["POST"]),
        Route("/api/removals", state, methods=["GET"]),
    ]
