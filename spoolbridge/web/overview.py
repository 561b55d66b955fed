"""``GET /api/overview``: every dataset as the server's own records have it, for the page's "Datasets" table.

One row per dataset: its index and document count, its files with how many versions they had, the last
time a file of it was settled, the dead letters still outstanding, and whether its ledger balances. The
figures are ``spoolbridge status``'s (:func:`spoolbridge.status.collect_status`, the one ledger; the page
never keeps a count of its own) and the times the files' version histories (:mod:`producer.inbox.versions`).
When Kafka or OpenSearch cannot be reached nothing is guessed: the answer is ``{"problem": <one line>}``.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from producer.inbox.versions import VersionHistory
from schemas.errors import ServiceUnavailableError
from schemas.settings import Settings
from spoolbridge.status import DatasetStatus, collect_status, dataset_balances

__all__ = ["overview_routes"]


def dataset_row(dataset: DatasetStatus, history: VersionHistory) -> dict[str, Any]:
    """What the overview shows of one dataset."""
    totals = dataset.totals
    versions = [history.versions(row.source) for row in dataset.sources]
    finished = [v[-1].finished_at for v in versions if v]
    return {
        "dataset": dataset.dataset,
        "index": dataset.index,
        "documents": dataset.index_documents,
        "files": totals["files"],
        "versions": sum(len(v) for v in versions),
        "removed": sum(1 for row in dataset.sources if row.state == "removed"),
        "last_settled": max(finished) if finished else None,
        "dead_letters": totals["dead_lettered"],
        "rejected": totals["rejected"],
        "balances": dataset_balances(dataset),
        "problem": dataset.problem,
    }


def overview_routes(settings: Settings) -> list[Route]:
    history = VersionHistory(settings.producer.inbox.absolute())

    def answer() -> dict[str, Any]:
        try:
            report = collect_status(settings)
        except ServiceUnavailableError as exc:
            return {"datasets": [], "problem": str(exc)}
        return {"datasets": [dataset_row(d, history) for d in report.datasets], "problem": None}

    async def overview(request: Request) -> Response:
        found = await anyio.to_thread.run_sync(answer)
        return JSONResponse(found, headers={"Cache-Control": "no-store"})

    return [Route("/api/overview", overview, methods=["GET"])]
