"""What librdkafka says about the producer's connection, said once: "unreachable" and "back".

librdkafka reports a lost broker on every reconnect attempt — through ``error_cb`` and again on its log —
so an outage of two minutes used to become a hundred log lines. :class:`KafkaConnection` turns that
stream into one WARNING when every broker is down (``_ALL_BROKERS_DOWN``) and one INFO when a broker is
up again (seen in librdkafka's statistics, the only place that says so). The connection failures in
between, on the error callback and on librdkafka's log, go to DEBUG.

:class:`KafkaLog` is the object librdkafka's log lines go through (the ``logger`` setting): it keeps real
warnings and errors, and turns expected start-up noise and the per-attempt connection failures into
DEBUG lines.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from confluent_kafka import KafkaError

__all__ = ["STATISTICS_INTERVAL_MS", "KafkaConnection", "KafkaLog"]

log = logging.getLogger("producer.publisher")

#: How often librdkafka reports broker states (how soon "Kafka is reachable again" is logged).
STATISTICS_INTERVAL_MS = 1000

#: Errors that mean "this broker cannot be reached right now"; librdkafka keeps retrying them.
_CONNECTION_ERRORS = frozenset(
    {KafkaError._TRANSPORT, KafkaError._RESOLVE, KafkaError._SSL, KafkaError._AUTHENTICATION}
)

#: (facility, text) of librdkafka log lines that are expected and harmless: logged at DEBUG.
_EXPECTED = (
    # the idempotent producer's first request while a fresh broker loads its coordinator: it retries
    ("GETPID", "Coordinator load in progress"),
)
#: Facilities of per-attempt connection failures; the error callback reports the same events.
_CONNECTION_FACILITIES = frozenset({"FAIL"})


class KafkaConnection:
    """Whether the producer can reach Kafka, logged when that changes (see the module docstring)."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.reachable = True
        self._down_since = 0.0
        self._last_failure = ""

    def on_error(self, err: KafkaError) -> None:
        """A non-fatal ``error_cb`` error: connection trouble is folded into one line; others logged."""
        code = err.code()
        if code == KafkaError._ALL_BROKERS_DOWN:
            if self.reachable:
                self.reachable = False
                self._down_since = time.monotonic()
                log.warning(
                    "event=kafka_unreachable bootstrap_servers=%s error=%r action=retrying "
                    "(files wait in the inbox; deliveries are retried)",
                    self.bootstrap_servers,
                    self._last_failure or err.str(),
                )
            else:
                log.debug("event=kafka_still_unreachable error=%r", err.str())
        elif code in _CONNECTION_ERRORS:
            self._last_failure = err.str()
            log.debug("event=kafka_connection_failed error=%r", err.str())
        else:
            log.warning("event=kafka_error error=%s", err.str())

    def on_stats(self, stats_json: str) -> None:
        """librdkafka's statistics: when Kafka was unreachable and a broker is up again, say so once."""
        if self.reachable:
            return
        try:
            brokers = orjson.loads(stats_json).get("brokers", {})
        except orjson.JSONDecodeError:
            return
        up = [name for name, broker in brokers.items() if broker.get("state") == "UP"]
        if up:
            self.reachable = True
            self._last_failure = ""
            log.info(
                "event=kafka_reachable bootstrap_servers=%s broker=%s unreachable_secs=%.0f",
                self.bootstrap_servers,
                up[0],
                time.monotonic() - self._down_since,
            )


class KafkaLog:
    """The ``logger`` librdkafka's log lines go through: real warnings kept, expected noise at DEBUG.

    confluent-kafka calls ``log(level, "%s [%s] %s", facility, client_name, text)``.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def log(self, level: int, msg: str, *args: Any) -> None:
        if level > logging.DEBUG and len(args) == 3 and self._expected(str(args[0]), str(args[2])):
            level = logging.DEBUG
        self.logger.log(level, msg, *args)

    @staticmethod
    def _expected(facility: str, text: str) -> bool:
        if facility in _CONNECTION_FACILITIES:
            return True
        return any(facility == fac and needle in text for fac, needle in _EXPECTED)
