"""Routes that follow an uploaded file through the pipeline: a live stream of its numbers (server-sent
events) and its reports as downloads (manifest or error report, rejected records, dead letters).

``GET /api/progress?source=<dataset>/<file>`` sends one ``data:`` event (JSON of
:class:`~.progress.FileProgress`, plus ``docs_per_s`` over the last seconds) whenever a figure changes,
and an ``end`` event once the file is settled: every record read is indexed, dead-lettered or rejected,
or expired from Kafka before it was indexed (the card says so, and that the file must be dropped again).
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from producer.inbox.ledger import read_report
from schemas.errors import ConfigError
from schemas.settings import Settings

from .dead_letters import read_dead_letters
from .progress import Progress, source_problem

__all__ = ["live_routes"]

log = logging.getLogger(__name__)

TICK_SECS = 0.5
_RATE_WINDOW_SECS = 5.0


def live_routes(settings: Settings, progress: Progress) -> list[Route]:
    producer = settings.producer

    def _source(request: Request) -> str | Response:
        """``?source=``: a file of a dataset the catalog knows, else a 400 or 404 answer (nothing opened)."""
        source = request.query_params.get("source", "")
        problem = source_problem(source)
        if problem is not None:
            return JSONResponse({"problem": f"source {source!r}: {problem}"}, 400)
        dataset = source.partition("/")[0]
        if not progress.catalog.knows(dataset):
            return JSONResponse({"problem": f"no dataset {dataset!r} on this page"}, 404)
        return source

    async def stream(request: Request) -> Response:
        source = await anyio.to_thread.run_sync(_source, request)
        if isinstance(source, Response):
            return source

        async def events() -> AsyncIterator[str]:
            seen: collections.deque[tuple[float, int]] = collections.deque()
            last = ""
            while True:
                numbers = await anyio.to_thread.run_sync(progress.of_file, source)
                now = time.monotonic()
                seen.append((now, (numbers.indexed or 0) + (numbers.dead_lettered or 0)))
                while len(seen) > 2 and now - seen[0][0] > _RATE_WINDOW_SECS:
                    seen.popleft()
                span = seen[-1][0] - seen[0][0]
                rate = (seen[-1][1] - seen[0][1]) / span if span > 0 else 0.0
                text = json.dumps({**numbers.as_dict(), "docs_per_s": round(rate, 1)})
                if text != last:
                    yield f"data: {text}\n\n"
                    last = text
                if numbers.settled:
                    yield "event: end\ndata: {}\n\n"
                    return
                await anyio.sleep(TICK_SECS)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def report(request: Request) -> Response:
        """The manifest of a done file, or the error report of a failed one."""
        source = await anyio.to_thread.run_sync(_source, request)
        if isinstance(source, Response):
            return source
        for path in (
            producer.done_path / f"{source}.manifest.json",
            producer.failed_path / f"{source}.error.json",
        ):
            if read_report(path, source) is not None:  # the file's own report, not one planted for it
                return FileResponse(
                    path, media_type="application/json", headers={"Cache-Control": "no-store"}
                )
        return JSONResponse({"problem": f"no report for {source} yet"}, 404)

    async def rejected(request: Request) -> Response:
        source = await anyio.to_thread.run_sync(_source, request)
        if isinstance(source, Response):
            return source
        path = producer.failed_path / f"{source}.rejected.jsonl"
        if not path.is_file():
            return JSONResponse({"problem": f"{source} has no rejected records"}, 404)
        return FileResponse(path, media_type="application/x-ndjson", filename=path.name)

    async def dead_letters(request: Request) -> Response:
        source = await anyio.to_thread.run_sync(_source, request)
        if isinstance(source, Response):
            return source
        return await _dead_letters_download(settings, progress, source)

    return [
        Route("/api/progress", stream, methods=["GET"]),
        Route("/api/reports/report", report, methods=["GET"]),
        Route("/api/reports/rejected", rejected, methods=["GET"]),
        Route("/api/reports/dead-letters", dead_letters, methods=["GET"]),
    ]


async def _dead_letters_download(settings: Settings, progress: Progress, source: str) -> Response:
    """One file's outstanding dead letters as JSON lines (those the card counts, measured against the same
    version history); 503 when Kafka fails before the first batch."""
    dataset = progress.catalog.datasets.get(source.partition("/")[0])
    try:
        settings.kafka.client_config()
    except ConfigError as exc:
        return JSONResponse({"problem": str(exc)}, 503)
    letters = read_dead_letters(
        settings.kafka, dataset.dead_letter_topic, source, dataset.producer.source_field, progress.versions
    )

    def next_batch() -> list[bytes]:
        return list(itertools.islice(letters, 1000))

    try:  # the first batch before the answer starts: Kafka failing then is a 503, not a cut body
        first = await anyio.to_thread.run_sync(next_batch)
    except Exception as exc:
        letters.close()
        log.warning("source=%s event=dead_letters_failed error=%s", source, type(exc).__name__)
        return JSONResponse({"problem": f"Kafka did not answer ({type(exc).__name__}); try again"}, 503)

    async def body() -> AsyncIterator[bytes]:  # in batches: one file's dead letters may be many
        batch = first
        try:
            while batch:
                yield b"".join(batch)
                batch = await anyio.to_thread.run_sync(next_batch)
        except Exception as exc:  # the answer has started: say so in its last line, once in the log
            log.warning("source=%s event=dead_letters_cut error=%s", source, type(exc).__name__)
            problem = f"Kafka stopped answering ({type(exc).__name__}); this list is incomplete"
            yield json.dumps({"problem": problem}).encode() + b"\n"
        finally:
            letters.close()

    name = quote(source.rsplit("/", 1)[-1] + ".dead-letters.jsonl")
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
    return StreamingResponse(body(), media_type="application/x-ndjson", headers=headers)
