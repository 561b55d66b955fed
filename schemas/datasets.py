"""Datasets: a folder each, with its own topic, dead-letter topic and index (the naming rule lives here).

A file directly in the inbox belongs to the **default dataset**; a file anywhere under ``inbox/<name>/``
belongs to dataset ``<name>``. The rule, for ``kafka.topic = T``:

==================  ==========================================  ==========================================
                    default dataset                             dataset ``<name>``
==================  ==========================================  ==========================================
topic               ``T``                                       ``T.<name>``
dead-letter topic   ``kafka.dlq_topic``, else ``T.dlq``         ``T.<name>.dlq``
index               ``opensearch.index``, else ``T``            ``datasets.<name>.index``, else ``<name>``
other settings      the global ones                             ``[datasets.<name>]``, else the global ones
==================  ==========================================  ==========================================

A folder whose name cannot name a dataset (:func:`~schemas.names.dataset_name_problem`) is refused, never
renamed. The consumer subscribes to ``T`` and to :meth:`Datasets.topic_pattern`, a regular expression
(in the dialect librdkafka understands: no look-ahead) that matches ``T.<name>`` for every valid name
and nothing else — not ``T.dlq``, not ``T.<name>.dlq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.names import dataset_name_problem, suggest_dataset_name
from schemas.settings import ProducerSettings, Settings

__all__ = ["Dataset", "DatasetNameError", "Datasets"]

#: One valid dataset name other than ``dlq``, spelled without look-ahead for librdkafka's regex engine.
_NAME_NOT_DLQ = (
    "([a-ce-z0-9][a-z0-9_-]*|d|d[a-km-z0-9_-][a-z0-9_-]*|dl|dl[a-pr-z0-9_-][a-z0-9_-]*|dlq[a-z0-9_-]+)"
)


class DatasetNameError(ValueError):
    """A folder under the inbox whose name cannot name a dataset: ``problem`` and a ``suggestion``."""

    def __init__(self, folder: str, problem: str) -> None:
        self.folder = folder
        self.problem = problem
        self.suggestion = suggest_dataset_name(folder)
        super().__init__(f"the folder {folder!r} cannot name a dataset: {problem}")


@dataclass(frozen=True, slots=True)
class Dataset:
    """Where one dataset's records go, and the producer settings its files are read with."""

    name: str | None  # None: the default dataset (files directly in the inbox)
    topic: str
    dead_letter_topic: str
    index: str
    index_body_file: Path | None
    producer: ProducerSettings

    @property
    def label(self) -> str:
        """The name people see: the folder name, or ``(default)``."""
        return self.name if self.name is not None else "(default)"


class Datasets:
    """The datasets of one configuration: look-ups by name, by source file and by topic."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_topic = settings.kafka.topic
        self._cache: dict[str | None, Dataset] = {}

    def get(self, name: str | None) -> Dataset:
        """The dataset ``name`` (``None``: the default one). ``name`` must be valid."""
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = self._resolve(name)
        return found

    def _resolve(self, name: str | None) -> Dataset:
        settings = self.settings
        if name is None:
            return Dataset(
                None,
                self.base_topic,
                settings.kafka.dead_letter_topic,
                settings.index_name,
                settings.opensearch.index_body_file,
                settings.producer,
            )
        own = settings.datasets.get(name)
        producer = settings.producer
        if own is not None:
            changed = {
                key: value
                for key in (
                    "id_field",
                    "records_path",
                    "source_field",
                    "csv_delimiter",
                    "csv_quotechar",
                    "csv_types",
                )
                if (value := getattr(own, key)) is not None
            }
            producer = producer.model_copy(update=changed) if changed else producer
        topic = f"{self.base_topic}.{name}"
        return Dataset(
            name,
            topic,
            f"{topic}.dlq",
            (own.index if own is not None else None) or name,
            (own.index_body_file if own is not None else None) or settings.opensearch.index_body_file,
            producer,
        )

    @staticmethod
    def name_of_source(source: str) -> str | None:
        """The dataset of a file, from its path relative to the inbox (``/``-separated).

        Raises :class:`DatasetNameError` when the first folder cannot name a dataset.
        """
        folder, sep, _ = source.partition("/")
        if not sep:
            return None
        problem = dataset_name_problem(folder)
        if problem is not None:
            raise DatasetNameError(folder, problem)
        return folder

    def of_topic(self, topic: str) -> Dataset | None:
        """The dataset whose records ``topic`` carries, or ``None`` for a topic that is not one of ours."""
        if topic == self.base_topic:
            return self.get(None)
        prefix = f"{self.base_topic}."
        if topic.startswith(prefix):
            name = topic[len(prefix) :]
            if dataset_name_problem(name) is None:
                return self.get(name)
        return None

    def topic_pattern(self) -> str:
        """The regular expression (``^``-anchored, as librdkafka wants it) of every dataset topic."""
        escaped = self.base_topic.replace(".", "\\.")  # topic names hold only [a-zA-Z0-9._-]
        return f"^{escaped}\\.{_NAME_NOT_DLQ}$"

    def subscription(self) -> list[str]:
        """What the consumer subscribes to: the default topic and every dataset topic, present or future."""
        return [self.base_topic, self.topic_pattern()]
