"""Bulk requests in flight: a fixed number of slots, each sending one request in a worker thread, which
first creates the request's index when it is the dataset's first (:class:`~consumer.index.Indices`).

What to send, and what an answer means, is the runner's (:mod:`consumer.runner`); this module only holds
the requests between the two and hands back each answer with what was sent.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from opensearchpy import OpenSearch

from consumer.bulk import BulkRequest
from consumer.index import Indices
from consumer.offsets import TopicPartitionKey
from consumer.send import BulkResponse, send_bulk
from schemas.datasets import Dataset
from schemas.settings import OpenSearchSettings

__all__ = ["Answer", "InFlight"]


@dataclass(frozen=True, slots=True)
class Answer:
    """A request that was answered (or failed as a whole), with what was sent."""

    slot: int
    request: BulkRequest
    response: BulkResponse
    attempt: int
    partitions: frozenset[TopicPartitionKey]


@dataclass(eq=False)
class _Sent:
    future: Future[BulkResponse]
    request: BulkRequest
    attempt: int
    partitions: frozenset[TopicPartitionKey]


class InFlight:
    """Up to ``slots`` bulk requests at once."""

    def __init__(
        self, slots: int, opensearch: OpenSearchSettings, client: OpenSearch, indices: Indices
    ) -> None:
        self._slots: list[_Sent | None] = [None] * slots
        self._opensearch = opensearch
        self._client = client
        self._indices = indices
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="bulk")

    def __len__(self) -> int:
        """Requests in flight."""
        return sum(sent is not None for sent in self._slots)

    def free(self) -> int:
        """Slots with no request."""
        return len(self._slots) - len(self)

    def send(
        self, dataset: Dataset, request: BulkRequest, partitions: frozenset[TopicPartitionKey], attempt: int
    ) -> int:
        """Send ``request`` to ``dataset``'s index from a free slot (there must be one); returns the slot."""
        slot = self._slots.index(None)
        future = self._pool.submit(self._post, dataset, request.body, len(request))
        self._slots[slot] = _Sent(future, request, attempt, partitions)
        return slot

    def answered(self, *, wait: bool = False) -> list[Answer]:
        """The requests answered since the last call, their slots free again; with ``wait``, every request
        in flight, waiting for each (bounded by the client's timeout)."""
        answers: list[Answer] = []
        for slot, sent in enumerate(self._slots):
            if sent is None or not (wait or sent.future.done()):
                continue
            self._slots[slot] = None
            answers.append(Answer(slot, sent.request, sent.future.result(), sent.attempt, sent.partitions))
        return answers

    def shutdown(self, *, wait: bool) -> None:
        """Stop the worker threads; without ``wait``, requests not yet started are cancelled."""
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _post(self, dataset: Dataset, body: bytes, items: int) -> BulkResponse:
        """In a worker thread: create the dataset's index if this is its first request, then send."""
        opensearch = self._opensearch
        if dataset.index_body_file != opensearch.index_body_file:
            opensearch = opensearch.model_copy(update={"index_body_file": dataset.index_body_file})
        failure = self._indices.ensure(dataset.index, opensearch)
        if failure is not None:
            return BulkResponse(failure=failure)
        return send_bulk(self._client, dataset.index, body, items)
