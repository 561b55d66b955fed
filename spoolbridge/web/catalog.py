"""The datasets the page can offer, and what OpenSearch holds for one: index, document count, mapping.

A dataset is a folder directly under the inbox that holds a file, or has settled files in ``done/`` or
``failed/`` (or a ``[datasets.<name>]`` section); its index comes from
:class:`~schemas.datasets.Datasets`, the producer's and consumer's own rule. OpenSearch being unreachable
or unset is not fatal to the page: the answer says so in ``problem`` and uploads still work.

**The page reads only the datasets it knows** (:meth:`Catalog.names`: its catalog), each through its own
**concrete** index (:meth:`Catalog.readable_index`): a name that is not in the catalog is refused before
OpenSearch is asked anything, and an index name that OpenSearch resolves to anything but exactly one index
of that name (an alias, a data stream, a pattern) is never searched, counted or described. So the page can
read no index that spoolbridge's OpenSearch account could read but no dataset of this inbox writes to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from schemas.datasets import Datasets
from schemas.errors import ConfigError
from schemas.names import dataset_name_problem
from schemas.settings import Settings

from .conflicts import facet_fields, flatten_mapping
from .limits import DEFAULT_FIELD_LIMIT, field_limit, mapped_field_count
from .mapped_fields import MappedField, mapped_fields

__all__ = ["NOT_CONCRETE", "Catalog", "DatasetInfo", "refusal_reason"]

log = logging.getLogger(__name__)

NOT_CONCRETE = "is an alias, a data stream or a pattern in OpenSearch, not a dataset's own index"
_MAPPING_SECS = 2.0  # how long a dataset's mapping is reused by searches (new fields appear as files land)
_RESOLVED_SECS = 5.0  # how long an index's resolution is reused (the page asks every half second)
_PATTERN_CHARACTERS = frozenset('*?,:<>|\\/ "#')


@dataclass
class DatasetInfo:
    """One dataset as the page shows it; ``fields`` is the flattened mapping (empty for a new index),
    ``field_count`` its fields as the index's ``field_limit`` counts them (:mod:`.limits`)."""

    name: str
    index: str
    exists: bool = False
    documents: int | None = None
    fields: dict[str, str] = field(default_factory=dict)
    facets: list[str] = field(default_factory=list)
    field_count: int = 0
    field_limit: int = DEFAULT_FIELD_LIMIT
    problem: str | None = None
    mapped: dict[str, MappedField] = field(default_factory=dict)  # by path; not sent (``fields`` is)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        del found["mapped"]
        return found


class Catalog:
    """Look-ups over one configuration's inbox and OpenSearch; every OpenSearch call is synchronous (the
    app runs them in worker threads)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.datasets = Datasets(settings)
        self._client: Any = None
        self._resolved: dict[str, tuple[float, bool]] = {}
        self._mappings: dict[str, tuple[float, dict[str, MappedField]]] = {}
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The OpenSearch client, made on first use; raises :class:`ConfigError` when no URL is known."""
        if self._client is None:
            from opensearchpy import OpenSearch

            self._client = OpenSearch(**{**self.settings.opensearch.client_kwargs(), "max_retries": 0})
        return self._client

    def names(self) -> list[str]:
        """Dataset names: the configured ones, and every valid name with files, that is a real folder
        directly under the inbox holding a file that is not hidden, or a folder in ``done/`` or
        ``failed/``. An empty folder (made by an upload that was cancelled or expired) is not a dataset
        yet, and a symbolic link is never one (the producer reads nothing through it)."""
        producer = self.settings.producer
        reserved = {producer.done_path.absolute(), producer.failed_path.absolute()}
        found = set(self.settings.datasets)
        for folder in (producer.inbox.absolute(), *reserved):
            for entry in _real_folders(folder):
                path = Path(entry.path).absolute()
                if path in reserved or dataset_name_problem(entry.name) is not None:
                    continue
                if folder in reserved or _has_visible_entry(path):
                    found.add(entry.name)
        return sorted(found)

    def knows(self, name: str) -> bool:
        """``name`` is a dataset of this page's catalog: one of :meth:`names`, or a real folder directly
        under the inbox even while it is empty (an upload's dataset gets its folder at the upload's first
        bytes, and its file only with the last: its progress is read before then). Listing and reading
        differ on purpose: an empty folder is not offered in the list, but the upload that made it may
        follow its own dataset."""
        if dataset_name_problem(name) is not None:
            return False
        inbox = self.settings.producer.inbox.absolute()
        if any(entry.name == name for entry in _real_folders(inbox)):
            return True
        return name in self.names()

    def readable_index(self, index: str) -> bool:
        """OpenSearch holds ``index`` as one concrete index of exactly that name, or not at all (it is
        created by the first document). False for an alias, a data stream or a pattern. Raises what the
        client raises when OpenSearch cannot answer."""
        if not index or _PATTERN_CHARACTERS.intersection(index) or index.startswith(("-", "_", "+")):
            return False
        now = time.monotonic()
        with self._lock:
            cached = self._resolved.get(index)
        if cached is not None and now - cached[0] < _RESOLVED_SECS:
            return cached[1]
        found = self.client().indices.resolve_index(name=index, params={"expand_wildcards": "none"})
        names = [entry.get("name") for entry in found.get("indices", [])]
        concrete = names in ([], [index]) and not found.get("aliases") and not found.get("data_streams")
        with self._lock:
            self._resolved[index] = (now, concrete)
        if not concrete:
            log.warning("index=%s event=index_refused reason=not_concrete", index)
        return concrete

    def readable_indices(self, names: list[str]) -> tuple[list[str], str | None]:
        """The concrete indices of datasets ``names`` (names :meth:`knows`) that the page may read, and
        why there are none when there are none. Raises what the client raises when OpenSearch cannot
        answer, and :class:`ConfigError` when no URL is known."""
        named = sorted({self.datasets.get(name).index for name in names})
        if not named:
            return [], "no dataset yet: upload a file first"
        indices = [index for index in named if self.readable_index(index)]
        if not indices:
            return [], f"index {named[0]!r} {NOT_CONCRETE}; the page does not read it"
        return indices, None

    def mapped(self, names: list[str]) -> dict[str, MappedField]:
        """The fields of datasets ``names`` (names :meth:`knows`), merged (the first dataset's type wins
        where two differ), read again at most every :data:`_MAPPING_SECS` seconds."""
        merged: dict[str, MappedField] = {}
        now = time.monotonic()
        for name in names:
            with self._lock:
                cached = self._mappings.get(name)
            if cached is None or now - cached[0] >= _MAPPING_SECS:
                cached = (now, self.describe(name).mapped)
                with self._lock:
                    self._mappings[name] = cached
            for path, mapped in cached[1].items():
                merged.setdefault(path, mapped)
        return merged

    def opensearch_problem(self, exc: Exception) -> str:
        """One sentence for an OpenSearch call that failed (never the URL's credentials)."""
        from opensearchpy.exceptions import RequestError

        if isinstance(exc, ConfigError):
            return str(exc)
        if isinstance(exc, RequestError):
            return f"OpenSearch refused the query: {refusal_reason(exc)}"
        status = getattr(exc, "status_code", None) or type(exc).__name__
        return f"OpenSearch at {self.settings.opensearch.safe_url} did not answer ({status})"

    def new(self, name: str) -> DatasetInfo:
        """Dataset ``name`` before its index exists: the field limit its index body will give it (the
        default when the body does not set one or cannot be read: the consumer reports that)."""
        from consumer.index import flat_index_settings, index_body

        dataset = self.datasets.get(name)
        info = DatasetInfo(name, dataset.index)
        opensearch = self.settings.opensearch.model_copy(update={"index_body_file": dataset.index_body_file})
        with contextlib.suppress(ConfigError):
            info.field_limit = field_limit(flat_index_settings(index_body(opensearch).get("settings", {})))
        return info

    def describe(self, name: str) -> DatasetInfo:
        """What OpenSearch holds for dataset ``name`` (a name :meth:`knows`)."""
        from opensearchpy.exceptions import NotFoundError, TransportError

        info = self.new(name)
        try:
            if not self.readable_index(info.index):
                info.problem = f"index {info.index!r} {NOT_CONCRETE}; the page does not read it"
                return info
            client = self.client()
            info.documents = int(client.count(index=info.index)["count"])
            info.exists = True
            mapping = client.indices.get_mapping(index=info.index)
            for index_mapping in mapping.values():
                properties = index_mapping.get("mappings", {}).get("properties", {})
                info.fields.update(flatten_mapping(properties))
                info.mapped.update(mapped_fields(properties))
                info.facets += facet_fields(properties)
                info.field_count += mapped_field_count(properties)
            found = client.indices.get_settings(index=info.index, flat_settings=True)
            for index_settings in found.values():
                info.field_limit = field_limit(index_settings.get("settings", {}))
        except NotFoundError:
            info.documents = 0
        except ConfigError as exc:
            info.problem = str(exc)
        except TransportError as exc:
            status = getattr(exc, "status_code", None)
            info.problem = f"OpenSearch at {self.settings.opensearch.safe_url} did not answer ({status})"
            log.warning("dataset=%s index=%s event=opensearch_failed status=%s", name, info.index, status)
        return info


def refusal_reason(exc: Any) -> str:
    """The root cause OpenSearch gave for refusing a request."""
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        causes = info.get("error", {}).get("root_cause") or [{}]
        return str(causes[0].get("reason") or info.get("error", {}).get("reason") or exc.error)
    return str(getattr(exc, "error", "bad request"))


def _real_folders(folder: Path) -> Iterator[os.DirEntry[str]]:
    """The folders directly in ``folder`` (links to folders excluded); nothing when it is missing."""
    try:
        with os.scandir(folder) as entries:
            yield from [entry for entry in entries if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return


def _has_visible_entry(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(not entry.name.startswith(".") for entry in entries)
    except OSError:
        return False
