"""``spoolbridge consume``: set up the clients, make sure the index and the DLQ topic exist, run the loop.

:func:`run` returns the process exit code: 0 after SIGTERM/SIGINT or ``--until-idle`` (what was final is
committed), the error's ``exit_code`` for a :class:`~schemas.errors.SpoolbridgeError` (logged once here).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from confluent_kafka import Consumer, KafkaException
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from consumer.dlq import DeadLetterPublisher, ensure_topic
from consumer.index import ensure_index, refusal_reason
from consumer.metrics import ConsumerMeter
from consumer.outcome import Retry, access_advice, backoff_delay_secs
from consumer.retries import REPEAT_LOG_SECS
from consumer.runner import Runner
from consumer.send import make_client
from schemas.datasets import Datasets
from schemas.errors import SpoolbridgeError
from schemas.health import Heartbeat
from schemas.settings import Settings
from schemas.signals import on_stop_signals

__all__ = ["consumer_config", "run"]

log = logging.getLogger(__name__)

#: Read-ahead of the librdkafka fetcher: payload of all partitions together, in KB ...
QUEUED_MAX_KBYTES = 16 * 1024
#: ... and messages per partition (for small records the per-message bookkeeping outweighs the payload).
QUEUED_MIN_MESSAGES = 10_000
#: How often the subscription pattern is matched against the cluster's topics (a new dataset's topic is
#: consumed at most this long, plus a rebalance, after it was created).
NEW_TOPIC_DISCOVERY_MS = 2_000


def run(settings: Settings, *, until_idle_secs: float | None, heartbeat: Heartbeat | None = None) -> int:
    """Consume every dataset's topic into its index until stopped (or idle that long); the loop beats
    ``heartbeat`` (for ``/healthz``)."""
    heartbeat = heartbeat or Heartbeat()
    try:
        return _run(settings, until_idle_secs, heartbeat)
    except SpoolbridgeError as exc:
        log.error("consumer failed: %s", exc)
        return exc.exit_code
    except KafkaException as exc:  # e.g. a librdkafka setting it refuses; nothing was committed wrongly
        log.error("consumer failed: Kafka client error: %s; check the kafka.* settings", exc)
        return 1
    finally:
        heartbeat.stop()


def _run(settings: Settings, until_idle_secs: float | None, heartbeat: Heartbeat) -> int:
    if logging.getLogger("opensearch").level == logging.NOTSET:
        # opensearch-py logs every request (INFO) and every failure with a traceback (WARNING); the
        # consumer logs each failure once itself, with what it will do about it.
        logging.getLogger("opensearch").setLevel(logging.ERROR)
    stop = threading.Event()
    runner: Runner | None = None

    def request_stop(sig: signal.Signals) -> None:
        log.info("signal received signal=%s; finishing and committing", sig.name)
        stop.set()
        if runner is not None:
            runner.stop()

    if (warning := settings.opensearch.unverified_tls) is not None:
        log.warning("event=tls_unverified %s", warning)
    with on_stop_signals(request_stop):
        client = make_client(
            settings.opensearch.client_kwargs(), connections=settings.consumer.max_requests_in_flight
        )
        if not _wait_for_index(client, settings, stop):
            return 0
        ensure_topic(settings.kafka, settings.kafka.dead_letter_topic)
        datasets = Datasets(settings)
        dlq = DeadLetterPublisher(settings.kafka, datasets)
        consumer = Consumer(consumer_config(settings, logging.getLogger("consumer.librdkafka")))
        meter = ConsumerMeter(datasets, consumer, heartbeat=heartbeat, dlq=dlq)
        runner = Runner(settings, consumer, client, dlq, until_idle_secs=until_idle_secs, meter=meter)
        runner.mark_index_ready(settings.index_name)
        log.info(
            "consumer starting topic=%s group=%s index=%s opensearch=%s concurrent_requests=%d",
            settings.kafka.topic, settings.consumer.group, settings.index_name,
            settings.opensearch.safe_url, settings.consumer.concurrent_requests,
        )  # fmt: skip
        if stop.is_set():
            runner.stop()
        try:
            runner.run()
        finally:
            runner.close()
            dlq.flush(5.0)
    return 0


def _wait_for_index(client: OpenSearch, settings: Settings, stop: threading.Event) -> bool:
    """Create the index if needed, waiting (with backoff) while OpenSearch is unreachable.

    Returns False when asked to stop before OpenSearch answered.
    """
    attempt, advised_at = 0, -REPEAT_LOG_SECS
    cfg = settings.consumer
    while not stop.is_set():
        try:
            ensure_index(client, settings.index_name, settings.opensearch)
            return True
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else None
            if status is not None and 400 <= status < 500 and status not in (401, 403, 408, 429):
                raise SpoolbridgeError(
                    f"OpenSearch refused to create index {settings.index_name!r}: {exc.error} "
                    f"(status {status}); check opensearch.index_body_file and the index name"
                ) from exc
            delay = backoff_delay_secs(
                attempt, initial_ms=cfg.retry_initial_backoff_ms, max_ms=cfg.retry_max_backoff_ms
            )
            if status in (401, 403):  # one line naming what to fix, as a refused load says it
                now = time.monotonic()
                if now - advised_at >= REPEAT_LOG_SECS:
                    refused = Retry(refusal_reason(exc), status, "access", str(exc.error))
                    log.warning(
                        "%s; retrying attempt=%d", access_advice(refused, settings.index_name), attempt + 1
                    )
                    advised_at = now
                attempt += 1
                stop.wait(delay)
                continue
            log.warning(
                "opensearch not ready, retrying url=%s attempt=%d delay_secs=%.1f error=%s",
                settings.opensearch.safe_url, attempt + 1, delay, type(exc).__name__,
            )  # fmt: skip
            attempt += 1
            stop.wait(delay)
    return False


def consumer_config(settings: Settings, logger: logging.Logger) -> dict[str, Any]:
    """librdkafka settings of the group member: nothing is stored or committed behind the loop's back."""
    return {
        **settings.kafka.client_config(),
        "group.id": settings.consumer.group,
        "enable.auto.offset.store": False,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": settings.consumer.session_timeout_ms,
        # librdkafka pre-fetches up to 64 MB and 100,000 messages per partition by default, on top of what
        # the loop holds in batches: that read-ahead was most of the consumer's memory (about 210 MB peak
        # RSS, now about 140-180 MB). OpenSearch, not the fetch, is the bottleneck, so a second or so of
        # read-ahead costs no throughput (BENCHMARKS.md, "End to end").
        "queued.max.messages.kbytes": QUEUED_MAX_KBYTES,
        "queued.min.messages": QUEUED_MIN_MESSAGES,
        # with that smaller read-ahead, librdkafka's default 1 s pause after the queue was full could leave
        # a partition without messages; 100 ms keeps it fed
        "fetch.queue.backoff.ms": 100,
        # a dataset created while the consumer runs is subscribed (by pattern) at the next metadata
        # refresh: librdkafka's default is every 5 minutes
        "topic.metadata.refresh.interval.ms": NEW_TOPIC_DISCOVERY_MS,
        "logger": logger,
    }
