"""Readiness checks for ``/readyz``: can this service reach what it needs right now?

Each check is a callable returning ``None`` when fine, else one line saying what is wrong and what to do
(:data:`spoolbridge.service_http.Check`). They run in the endpoint's thread with short timeouts, on clients
of their own, so a probe never waits behind (or disturbs) the service's own requests:

- :func:`kafka_check`: a metadata request through an admin client (``PROBE_TIMEOUT_SECS``);
- :func:`opensearch_check`: ``GET /`` (``PROBE_TIMEOUT_SECS``): a node that is down, frozen or overloaded
  past that answers nothing in time;
- :func:`inbox_check`: the inbox is a folder the producer may read and write (it moves files out of it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from schemas.settings import KafkaSettings, OpenSearchSettings, ProducerSettings

from .kafka_reach import KafkaErrors, client_config, cluster_metadata, unreachable

__all__ = ["PROBE_TIMEOUT_SECS", "inbox_check", "kafka_check", "opensearch_check"]

#: How long one probe waits for Kafka or OpenSearch.
PROBE_TIMEOUT_SECS = 2.0

Probe = Callable[[], str | None]


def kafka_check(kafka: KafkaSettings, timeout_secs: float = PROBE_TIMEOUT_SECS) -> Probe:
    """Kafka answers a metadata request (one admin client, made at the first probe and kept)."""
    lock = threading.Lock()
    errors = KafkaErrors()
    admin: list[Any] = []

    def check() -> str | None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        with lock:
            if not admin:
                admin.append(AdminClient(client_config(kafka, errors)))
            errors.messages.clear()
            errors.all_brokers_down = False
            try:
                cluster_metadata(admin[0], errors, timeout_secs)
            except KafkaException as exc:
                return str(unreachable(kafka, errors.text() or exc.args[0].str()))
            return None

    return check


def opensearch_check(opensearch: OpenSearchSettings, timeout_secs: float = PROBE_TIMEOUT_SECS) -> Probe:
    """OpenSearch answers ``GET /`` within ``timeout_secs`` (a client of its own, without retries)."""
    lock = threading.Lock()
    clients: list[Any] = []

    def check() -> str | None:
        from opensearchpy import OpenSearch
        from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
        from opensearchpy.exceptions import ConnectionTimeout, TransportError

        with lock:
            if not clients:
                kwargs = {**opensearch.client_kwargs(), "timeout": timeout_secs, "max_retries": 0}
                clients.append(OpenSearch(**kwargs, retry_on_timeout=False))
            url = opensearch.safe_url
            try:
                clients[0].transport.perform_request("GET", "/")
            except ConnectionTimeout:
                return f"OpenSearch at {url} did not answer within {timeout_secs:g} s"
            except OpenSearchConnectionError as exc:
                return (
                    f"OpenSearch at {url} cannot be reached ({type(exc.info).__name__}); check opensearch.url"
                )
            except TransportError as exc:
                return (
                    f"OpenSearch at {url} answered {exc.status_code} ({exc.error}); check the credentials "
                    "in opensearch.url"
                )
            return None

    return check


def inbox_check(producer: ProducerSettings) -> Probe:
    """The inbox (and ``done/``/``failed/`` where they exist) can be read and written."""
    folders = (producer.inbox, producer.done_path, producer.failed_path)

    def check() -> str | None:
        inbox = producer.inbox.absolute()
        if not inbox.is_dir():
            return f"the inbox {inbox} is not a folder (it was removed or is not mounted)"
        for folder in folders:
            problem = _not_writable(folder.absolute())
            if problem is not None:
                return problem
        return None

    return check


def _not_writable(folder: Path) -> str | None:
    if not folder.exists():
        return None  # done/ and failed/ are created when first needed
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return (
            f"the producer (uid {os.getuid()}) cannot read and write {folder}: files could not be moved "
            "to done/ or failed/; fix its permissions"
        )
    return None
