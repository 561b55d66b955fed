"""Creating topics: the one place spoolbridge asks Kafka for topics, with the configured partitions and
replication. What a failure means is the caller's: the producer leaves the file for a retry, the
consumer logs and goes on (the topic may exist anyway), ``spoolbridge check`` reports a failed step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from schemas.settings import KafkaSettings

__all__ = ["TopicOutcome", "create_topics"]

log = logging.getLogger(__name__)

#: A topic that was created, was there already, or the broker's refusal.
TopicOutcome = Literal["created", "exists"] | KafkaError


def create_topics(
    admin: AdminClient, kafka: KafkaSettings, names: Sequence[str], timeout_secs: float
) -> dict[str, TopicOutcome]:
    """Create every topic of ``names`` that is missing; the outcome of each. Raises :class:`TimeoutError`
    when no broker answered within ``timeout_secs``."""
    wanted = [
        NewTopic(name, num_partitions=kafka.partitions, replication_factor=kafka.replication_factor)
        for name in names
    ]
    outcomes: dict[str, TopicOutcome] = {}
    for name, future in admin.create_topics(wanted, request_timeout=timeout_secs).items():
        try:
            future.result(timeout=timeout_secs)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            outcomes[name] = "exists" if error.code() == KafkaError.TOPIC_ALREADY_EXISTS else error
        else:
            log.info("topic=%s event=created partitions=%d", name, kafka.partitions)
            outcomes[name] = "created"
    return outcomes
