"""Where one uploaded file's records are, from the pipeline's own records of it — the figures
``spoolbridge status`` reports, for one file:

- state and read / produced / rejected: the file still in the inbox (``waiting``), the producer's note of
  the file it is reading (``reading``, records so far), else its report (``done/<source>.manifest.json``
  or ``failed/<source>.error.json``, with the reason and what to do);
- indexed: OpenSearch's count of the dataset's documents whose source field is the file;
- dead-lettered: the dataset's dead-letter topic, by source (:class:`~.dead_letters.DeadLetterTail`).

:meth:`Progress.of_file` is the one function the page's live view calls.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any

from producer.ledger import read_report
from producer.reading_note import read_note
from schemas.errors import ConfigError
from schemas.names import dataset_name_problem
from schemas.settings import Settings

from .catalog import Catalog
from .dead_letters import DeadLetterTail

__all__ = ["FileProgress", "Progress", "source_problem"]

log = logging.getLogger(__name__)


def source_problem(source: str) -> str | None:
    """Why ``source`` is not ``<dataset>/<file>`` inside the inbox, or None."""
    parts = PurePosixPath(source).parts
    if (
        len(parts) < 2
        or source.startswith("/")
        or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
    ):
        return "a source is <dataset>/<file name>, as the upload answered"
    return dataset_name_problem(parts[0])


@dataclass
class FileProgress:
    """One file's numbers; ``None`` where the figure is not known yet (or cannot be had)."""

    source: str
    state: str = "unknown"  # waiting | reading | done | failed | unknown
    read: int | None = None
    produced: int | None = None
    rejected: int = 0
    superseded: int = 0  # produced, then overwritten by a later record of the same file (same id)
    indexed: int | None = None
    dead_lettered: int | None = None
    reason: str | None = None
    what_to_do: str | None = None
    has_rejected_file: bool = False
    problem: str | None = None  # why a figure is missing (OpenSearch or Kafka unreachable, unset)

    @property
    def settled(self) -> bool:
        """The producer is done with the file and every produced record is indexed or dead-lettered (but
        those a later record of the same file overwrote)."""
        if self.state not in ("done", "failed") or self.produced is None:
            return False
        return (self.indexed or 0) + (self.dead_lettered or 0) >= self.produced - self.superseded

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "settled": self.settled}


class Progress:
    """Progress look-ups for one configuration (thread-safe; OpenSearch and Kafka calls are blocking)."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self.inbox = settings.producer.inbox.absolute()
        self._tails: dict[str, DeadLetterTail] = {}
        self._lock = threading.Lock()

    def of_file(self, source: str) -> FileProgress:
        """The numbers of ``source`` (a valid ``<dataset>/<file>``, see :func:`source_problem`)."""
        dataset = self.catalog.datasets.get(source.partition("/")[0])
        numbers = FileProgress(source)
        self._ledger(numbers)
        try:
            numbers.indexed = self._indexed(dataset.index, dataset.producer.source_field, source)
            numbers.dead_lettered = self._tail(
                dataset.dead_letter_topic, dataset.producer.source_field
            ).count(source)
        except ConfigError as exc:
            numbers.problem = str(exc)
        except Exception as exc:  # OpenSearch unreachable: the other figures still stand
            numbers.problem = (
                f"OpenSearch at {self.settings.opensearch.safe_url} did not answer ({type(exc).__name__})"
            )
        return numbers

    def close(self) -> None:
        for tail in self._tails.values():
            tail.close()

    def _ledger(self, numbers: FileProgress) -> None:
        producer = self.settings.producer
        source = numbers.source
        if (self.inbox / source).is_file():
            numbers.state = "waiting"
        note = read_note(self.inbox)
        if note is not None and note.get("source") == source:
            numbers.state, numbers.read = "reading", int(note.get("records", 0))
            return
        if numbers.state == "waiting":
            return
        for path in (
            producer.done_path / f"{source}.manifest.json",
            producer.failed_path / f"{source}.error.json",
        ):
            report = read_report(path)
            if report is not None:
                numbers.state, numbers.produced, numbers.rejected = (
                    report.state,
                    report.produced,
                    report.rejected,
                )
                numbers.read, numbers.superseded = report.read, report.superseded
                numbers.reason, numbers.what_to_do = report.reason, report.what_to_do
                numbers.has_rejected_file = report.has_rejected_file
                return

    def _indexed(self, index: str, source_field: str, source: str) -> int:
        from opensearchpy.exceptions import NotFoundError, RequestError

        client = self.catalog.client()
        for candidate in (f"{source_field}.keyword", source_field):  # dynamic mapping, or a keyword field
            try:
                count = int(client.count(index=index, body={"query": {"term": {candidate: source}}})["count"])
            except NotFoundError:
                return 0
            except RequestError:
                continue
            if count:
                return count
        return 0

    def _tail(self, topic: str, source_field: str) -> DeadLetterTail:
        with self._lock:
            tail = self._tails.get(topic)
            if tail is None:
                self.settings.kafka.client_config()  # raises ConfigError when Kafka is not configured
                tail = self._tails[topic] = DeadLetterTail(self.settings.kafka, topic, source_field)
            return tail
