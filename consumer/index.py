"""Create the target index on first use — with the configured shards, replicas and optional body file.

Re-running against an index that exists is the normal case and changes nothing
(``resource_already_exists_exception`` is success: another consumer of the group may have won the race).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from schemas.errors import ConfigError
from schemas.settings import OpenSearchSettings

__all__ = ["ensure_index", "index_body", "recreate_index"]

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


def recreate_index(client: OpenSearch, name: str, settings: OpenSearchSettings) -> None:
    """Create index ``name`` again after OpenSearch said it does not exist (deleted while in use).

    Called from the consumer loop before the refused documents are retried; failures are logged, not
    raised (the retry comes back here until the index exists again).
    """
    try:
        if ensure_index(client, name, settings):
            log.warning("index was missing; created it again with its settings and mappings index=%s", name)
    except (TransportError, ConfigError) as exc:  # the body file may have gone since the start
        log.warning("index is missing and could not be created again index=%s error=%s", name, exc)
