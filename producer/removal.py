"""Removing a file's documents from its dataset, on request (``spoolbridge forget``, the page's "Remove
from dataset"): the producer's half of :mod:`producer.inbox.removals`.

For each pending request, between files: a tombstone for every id the file's versions may have left in
the index (its latest version's ids and the ids interrupted reads wrote ahead), then a wait for Kafka's
acknowledgements, and only then a ``removed`` entry in the file's version history (with how many documents
were deleted), its ids dropped and the request removed. A tombstone Kafka did not acknowledge leaves the
request for the next round; a crash anywhere repeats the same tombstones (idempotent), and a request
whose history already says ``removed`` with no ids left is only cleared.

The file itself and its reports stay where they are (``done/``, ``failed/``): they are what was read, and
dropping the file again under the same name makes it a new version like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from producer.inbox.removals import RemovalRequest, RemovalRequests, already_removed
from producer.inbox.versions import VersionHistory
from producer.publish.publisher import Publisher
from schemas.datasets import DatasetNameError, Datasets
from schemas.errors import ServiceUnavailableError
from schemas.message import FileHeaders

__all__ = ["FileRemover", "Removal"]

log = logging.getLogger("producer.removal")


@dataclass(frozen=True, slots=True)
class Removal:
    """What carrying out one request did."""

    source: str
    outcome: str  # removed | already_removed | retry | refused
    deleted: int = 0
    reason: str = ""


class FileRemover:
    """Carries out an inbox's pending removal requests with the producer's :class:`Publisher`."""

    def __init__(self, inbox: Path, datasets: Datasets, publisher: Publisher) -> None:
        self.requests = RemovalRequests(inbox)
        self.history = VersionHistory(inbox)
        self.datasets = datasets
        self.publisher = publisher

    def carry_out_pending(self) -> list[Removal]:
        """Every pending request, oldest first (a folder listing when there is none). A request whose
        history cannot be written (a full disk) stays for the next round."""
        removals = []
        for request in self.requests.pending():
            try:
                removals.append(self.carry_out(request))
            except OSError as exc:
                log.warning("file=%s event=removal_retry reason=%r action=kept", request.source, str(exc))
                removals.append(Removal(request.source, "retry", reason=str(exc)))
        return removals

    def carry_out(self, request: RemovalRequest) -> Removal:
        source = request.source
        done = already_removed(self.history, source)
        if done is not None:
            self.requests.done(request)
            return Removal(source, "already_removed", done.deleted)
        try:
            dataset = self.datasets.get(Datasets.name_of_source(source))
            self.publisher.prepare(dataset.topic, dataset.dead_letter_topic)
        except DatasetNameError as exc:  # no document of it can exist: nothing was ever read there
            log.warning("file=%s event=removal_refused reason=%r", source, str(exc))
            self.requests.done(request)
            return Removal(source, "refused", reason=str(exc))
        except ServiceUnavailableError as exc:
            log.warning("file=%s event=removal_retry reason=%r action=kept", source, str(exc))
            return Removal(source, "retry", reason=str(exc))
        headers = FileHeaders(source, "")("-")
        deliveries = self.publisher.begin_file()
        for count, key in enumerate(self.history.live_ids(source), 1):
            self.publisher.send(dataset.topic, key, None, headers)
            if count % 1000 == 0:
                self.publisher.poll()
        self.publisher.finish()
        if deliveries.failures:
            reason = f"Kafka did not acknowledge {len(deliveries.failures)} of the tombstones"
            log.warning("file=%s event=removal_retry reason=%r action=kept", source, reason)
            return Removal(source, "retry", deliveries.acked, reason)
        self.history.record_removal(source, deliveries.acked)
        self.requests.done(request)
        log.info("file=%s event=removed deleted=%d topic=%s", source, deliveries.acked, dataset.topic)
        return Removal(source, "removed", deliveries.acked)
