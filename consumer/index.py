"""Create the target index on first use — with the configured shards, replicas and optional body file.

Re-running against an index that exists is the normal case and changes nothing
(``resource_already_exists_exception`` is success: another consumer of the group may have won the race).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from consumer.send import RequestFailure
from schemas.errors import ConfigError
from schemas.settings import OpenSearchSettings

__all__ = [
    "Indices",
    "apply_index_body",
    "ensure_index",
    "flat_index_settings",
    "index_body",
    "refusal_reason",
]

log = logging.getLogger(__name__)


def index_body(settings: OpenSearchSettings) -> dict[str, Any]:
    """The create-index body: the body file (if any), with shards/replicas set where the file does not.

    Raises :class:`ConfigError` naming ``opensearch.index_body_file`` when it is unreadable or not a JSON
    object.
    """
    body: dict[str, Any] = {}
    path = settings.index_body_file
    if path is not None:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError("opensearch.index_body_file", f"cannot read {path}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError("opensearch.index_body_file", f"{path} must hold a JSON object")
        body = loaded
    index_settings = body.setdefault("settings", {})
    nested = index_settings.get("index") if isinstance(index_settings.get("index"), dict) else {}

    def unset(name: str) -> bool:
        return name not in index_settings and f"index.{name}" not in index_settings and name not in nested

    if unset("number_of_shards"):
        index_settings["number_of_shards"] = settings.number_of_shards
    if settings.number_of_replicas is not None and unset("number_of_replicas"):
        index_settings["number_of_replicas"] = settings.number_of_replicas
    return body


def ensure_index(client: OpenSearch, name: str, settings: OpenSearchSettings) -> bool:
    """Create index ``name`` unless it exists. Returns True when this call created it.

    Raises opensearch-py's ``TransportError`` (connection trouble included) for anything but
    "already exists"; the caller decides whether to wait and try again.
    """
    if client.indices.exists(index=name):
        return False
    try:
        client.indices.create(index=name, body=index_body(settings))
    except TransportError as exc:
        if exc.error == "resource_already_exists_exception":
            return False
        raise
    log.info("index created index=%s shards=%s", name, settings.number_of_shards)
    return True


class Indices:
    """The indices this consumer writes to, each created (if missing) before its first bulk request.

    Thread-safe: bulk requests run in worker threads, and the first request for an index creates it.
    A failure is reported as a :class:`~consumer.send.RequestFailure` without a status, so the request
    is retried with backoff — an index that cannot be created yet (OpenSearch unreachable, a bad index
    body the operator is fixing) never sends documents to the dead-letter topic.
    """

    def __init__(self, client: OpenSearch) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._ready: set[str] = set()
        self._missing: set[str] = set()

    def mark_ready(self, index: str) -> None:
        with self._lock:
            self._ready.add(index)

    def forget(self, index: str) -> None:
        """OpenSearch said ``index`` does not exist (deleted while in use): the next request creates it
        again, with its settings and mappings, before the refused documents are sent again."""
        with self._lock:
            if index in self._ready:
                self._ready.discard(index)
                self._missing.add(index)

    def ensure(self, index: str, settings: OpenSearchSettings) -> RequestFailure | None:
        """Create ``index`` unless it is known to exist; a failure is to be retried (see the class)."""
        if index in self._ready:
            return None
        with self._lock:
            if index in self._ready:
                return None
            try:
                created = ensure_index(self._client, index, settings)
            except ConfigError as exc:
                log.error("index cannot be created index=%s error=%s; retrying", index, exc)
                return RequestFailure(None, "index_not_created", str(exc))
            except TransportError as exc:
                if exc.status_code in (401, 403):  # logged by the retry, naming the permission
                    return RequestFailure(
                        exc.status_code, str(exc.error or "security_exception"), refusal_reason(exc)
                    )
                reason = f"creating index {index!r} failed: {exc.error} (status {exc.status_code})"
                log.error("index cannot be created index=%s error=%s; retrying", index, reason)
                return RequestFailure(None, "index_not_created", reason)
            if created and index in self._missing:
                log.warning(
                    "index was missing; created it again with its settings and mappings index=%s", index
                )
            self._missing.discard(index)
            self._ready.add(index)
            return None


def refusal_reason(exc: TransportError) -> str:
    """The security plugin's reason for a 401/403 (it names the action refused); a HEAD answer has no
    body, so then the action that asks whether an index exists is named."""
    info = exc.info
    error = info.get("error") if isinstance(info, dict) else None
    if isinstance(error, dict) and error.get("reason"):
        return str(error["reason"])
    if exc.status_code == 403:
        return "no permissions for [indices:admin/get] and User (a HEAD request: no body)"
    return str(exc.error)


#: Index settings OpenSearch takes only when an index is created (an open index refuses updates to them).
_STATIC_SETTINGS = (
    "index.number_of_shards",
    "index.number_of_routing_shards",
    "index.routing_partition_size",
    "index.codec",
    "index.sort.",
    "index.analysis.",
    "index.knn",
)


def flat_index_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"index": {"mapping": {"total_fields": {"limit": 5}}}}`` → ``{"index.mapping.total_fields.limit":
    "5"}``: the flat form OpenSearch answers with (``flat_settings=true``), ``index.`` always first."""
    flat: dict[str, str] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_index_settings(value, f"{name}."))
        else:
            full = name if name.startswith("index.") else f"index.{name}"
            flat[full] = str(value).lower() if isinstance(value, bool) else str(value)
    return flat


def apply_index_body(client: OpenSearch, name: str, settings: OpenSearchSettings) -> list[str]:
    """Make index ``name`` follow the index body where OpenSearch allows it, creating it when missing:
    dynamic settings that differ are updated, the body's mappings are put (new fields are added; a change
    of an existing field's type is refused by OpenSearch). Returns what was done, one line each.

    Raises :class:`ConfigError` naming the body file when OpenSearch refuses the body.
    """
    if ensure_index(client, name, settings):
        return [f"created index {name}"]
    body = index_body(settings)
    done: list[str] = []
    wanted = flat_index_settings(body.get("settings", {}))
    current = client.indices.get_settings(index=name, flat_settings=True)[name]["settings"]
    changed = {
        key: value
        for key, value in wanted.items()
        if not key.startswith(_STATIC_SETTINGS) and str(current.get(key)) != value
    }
    try:
        if changed:
            client.indices.put_settings(index=name, body=changed)
            done += [f"index {name}: {key} = {value}" for key, value in sorted(changed.items())]
        if body.get("mappings"):
            client.indices.put_mapping(index=name, body=body["mappings"])
            done.append(f"index {name}: mappings of the index body applied")
    except TransportError as exc:
        raise ConfigError(
            "index_body_file", f"OpenSearch refused to apply it to index {name!r}: {exc.error} ({exc.info})"
        ) from None
    return done
