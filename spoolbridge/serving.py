"""``produce`` and ``consume`` as the CLI runs them: the service, and its endpoints when ``metrics.port`` is
set.

The producer's ``/metrics`` also carries the outstanding dead letters of every dataset
(:mod:`spoolbridge.letters_gauge`: the producer has the inbox, whose version history the figure needs).

What each service is ready with: the producer needs Kafka and its inbox, the consumer Kafka and
OpenSearch (:mod:`spoolbridge.probes`). The consumer's loop may wait for its requests in flight during a
rebalance, each up to ``opensearch.request_timeout_secs``, so it counts as stuck only after twice that
(at least :data:`~spoolbridge.service_http.DEFAULT_STALL_SECS`).
"""

from __future__ import annotations

from schemas.health import Heartbeat
from schemas.settings import Settings

from .probes import inbox_check, kafka_check, opensearch_check
from .service_http import DEFAULT_STALL_SECS, serve_endpoints

__all__ = ["consume", "produce"]


def produce(settings: Settings, *, once: bool, progress: str = "auto") -> int:
    from producer.service import run

    heartbeat = Heartbeat()
    ready = [("kafka", kafka_check(settings.kafka)), ("inbox", inbox_check(settings.producer))]
    with serve_endpoints(settings.metrics, "producer", heartbeat, ready=ready) as endpoints:
        gauge = None
        if endpoints is not None:  # the outstanding dead letters: only when someone can scrape them
            from .letters_gauge import OutstandingGauge

            gauge = OutstandingGauge(settings)
            gauge.start()
        try:
            return run(settings, once=once, heartbeat=heartbeat, progress=progress)
        finally:
            if gauge is not None:
                gauge.stop()


def consume(settings: Settings, *, until_idle_secs: float | None) -> int:
    from consumer.service import run

    heartbeat = Heartbeat()
    ready = [("kafka", kafka_check(settings.kafka)), ("opensearch", opensearch_check(settings.opensearch))]
    stall_secs = max(DEFAULT_STALL_SECS, 2 * settings.opensearch.request_timeout_secs)
    with serve_endpoints(settings.metrics, "consumer", heartbeat, ready=ready, stall_secs=stall_secs):
        return run(settings, until_idle_secs=until_idle_secs, heartbeat=heartbeat)
