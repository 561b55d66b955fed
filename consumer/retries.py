"""Retry bookkeeping of the consumer: which items of an answer go where, how long a retry waits, when a
mapping race has had its chances, and what the operator is told — once per condition, not per request.

:meth:`RetryBook.triage` sorts the items of one ``_bulk`` answer (classified by :mod:`consumer.outcome`)
into done, refused (for the dead-letter topic) and to-retry. The verdict that governs a retry of several
items is the most patient one: an index condition or an access refusal (401/403; both never
dead-lettered) over a transient failure
(``consumer.max_retries``) over a mapping race (:data:`~consumer.outcome.MAPPING_RACE_RETRIES`).

Mapping-race retries are counted per message (topic, partition, offset), because a message may be retried
for other reasons too (an index closed for a minute must not use up its race retries). The waits of a
mapping race grow from about 1 s to 4 s: the race settles when another document's mapping update has
been applied, which takes the node a moment, not the 0.2 s of the first ordinary backoff.

Logging: an index condition or an access refusal is logged at WARNING with what to do
(:func:`~consumer.outcome.index_advice`, :func:`~consumer.outcome.access_advice`) the first time and
then at most every :data:`REPEAT_LOG_SECS` (with how many retries were not logged),
and once at INFO when the index accepts documents again. Transient retries are logged the same way;
mapping races at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from consumer.batch import KafkaMessage
from consumer.bulk import BulkRequest
from consumer.dlq import Refused
from consumer.offsets import TopicPartitionKey
from consumer.outcome import (
    MAPPING_RACE_RETRIES,
    Done,
    Retry,
    access_advice,
    backoff_delay_secs,
    classify_item,
    index_advice,
)

__all__ = ["REPEAT_LOG_SECS", "RetryBook", "Triage"]

log = logging.getLogger(__name__)

#: A retry condition that persists is logged again at most this often.
REPEAT_LOG_SECS = 30.0
_RACE_INITIAL_MS = 1000
_RACE_MAX_MS = 4000
_PATIENCE = {"index": 0, "access": 0, "transient": 1, "mapping": 2}
_ADVICE = {"index": index_advice, "access": access_advice}

MessageKey = tuple[str, int, int]


def _key(message: KafkaMessage) -> MessageKey:
    return message.topic() or "", message.partition() or 0, message.offset() or 0


@dataclass(slots=True)
class Triage:
    """The items of one answer: ``done`` as (message, action), ``refused`` for the dead-letter topic, and
    the positions to send again under ``retry`` (None when nothing is to be retried). ``race_retry`` is the
    highest mapping-race retry number among them (0: none)."""

    done: list[tuple[KafkaMessage, str]] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    retry_positions: list[int] = field(default_factory=list)
    retry: Retry | None = None
    race_retry: int = 0


@dataclass(slots=True)
class _Condition:
    since: float
    logged_at: float
    unlogged: int = 0


class RetryBook:
    """Retry state of one consumer: mapping-race counts per message and the conditions being retried.

    Not thread-safe: used from the consumer loop only.
    """

    def __init__(self, *, initial_backoff_ms: int, max_backoff_ms: int, max_retries: int | None) -> None:
        self.initial_backoff_ms = initial_backoff_ms
        self.max_backoff_ms = max_backoff_ms
        self.max_retries = max_retries
        self._races: dict[MessageKey, int] = {}
        self._conditions: dict[tuple[str, str], _Condition] = {}

    # --- sorting an answer ---------------------------------------------------------------------------

    def triage(
        self, request: BulkRequest, items: list[tuple[str, int, Any]], *, index: str, now: float
    ) -> Triage:
        """Sort ``items`` (``(action, status, error)`` in request order) of ``request``'s answer."""
        triage = Triage()
        races = self._races
        for position, (action, status, error) in enumerate(items):
            message = request.messages[position]
            verdict = classify_item(action, status, error)
            if isinstance(verdict, Done):
                if races:
                    races.pop(_key(message), None)
                triage.done.append((message, action))
            elif isinstance(verdict, Retry):
                if verdict.kind == "mapping":
                    refused = self._count_race(message, verdict, triage)
                    if refused is not None:
                        triage.refused.append(refused)
                        continue
                triage.retry_positions.append(position)
                if triage.retry is None or _PATIENCE[verdict.kind] < _PATIENCE[triage.retry.kind]:
                    triage.retry = verdict
            else:
                if races:
                    races.pop(_key(message), None)
                triage.refused.append(Refused(message, verdict.error_type, verdict.reason, verdict.status))
        for kind in ("index", "access"):
            if triage.done and (triage.retry is None or triage.retry.kind != kind):
                self._recovered(kind, index, now)
        if triage.done and triage.retry is None:
            self._recovered("transient", index, now)
        return triage

    def _count_race(self, message: KafkaMessage, verdict: Retry, triage: Triage) -> Refused | None:
        """Count one more mapping-race retry of ``message``; a :class:`Refused` when it had them all."""
        key = _key(message)
        retries = self._races.get(key, 0)
        if retries >= MAPPING_RACE_RETRIES:
            del self._races[key]
            reason = verdict.reason.removeprefix(f"{verdict.error_type}: ")
            return Refused(
                message,
                verdict.error_type,
                f"still refused after {retries} retries (a mapping conflict, not a passing race): {reason}",
                verdict.status,
            )
        self._races[key] = retries + 1
        triage.race_retry = max(triage.race_retry, retries + 1)
        return None

    def forget(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """Drop the race counts of partitions this member no longer owns."""
        gone = set(partitions)
        if gone and self._races:
            self._races = {k: n for k, n in self._races.items() if (k[0], k[1]) not in gone}

    # --- waiting -------------------------------------------------------------------------------------

    def exhausted(self, verdict: Retry, attempt: int) -> bool:
        """True when ``consumer.max_retries`` retries of a transient failure were spent (index conditions
        and access refusals never run out; mapping races are bounded per message by :meth:`triage`)."""
        return verdict.kind == "transient" and self.max_retries is not None and attempt >= self.max_retries

    def delay_secs(self, attempt: int, race_retry: int = 0) -> float:
        """How long the retry number ``attempt + 1`` waits (longer when a mapping race is among it)."""
        delay = backoff_delay_secs(attempt, initial_ms=self.initial_backoff_ms, max_ms=self.max_backoff_ms)
        if race_retry:
            race = backoff_delay_secs(race_retry - 1, initial_ms=_RACE_INITIAL_MS, max_ms=_RACE_MAX_MS)
            delay = max(delay, race)
        return delay

    # --- telling the operator ------------------------------------------------------------------------

    def log_retry(
        self,
        verdict: Retry,
        *,
        index: str,
        docs: int,
        partitions: str,
        attempt: int,
        delay: float,
        now: float,
    ) -> None:
        """Log a scheduled retry: an index condition with what to do, at most every REPEAT_LOG_SECS."""
        advise = _ADVICE.get(verdict.kind)
        advice = advise(verdict, index) if advise is not None else ""
        context = f"docs={docs} partitions={partitions} attempt={attempt} delay_secs={delay:.2f} "
        context += f"status={verdict.status} " + (
            f"error_type={verdict.error_type}"
            if verdict.kind == "access"  # the advice names the permission; the reason repeats it at length
            or verdict.reason.removeprefix(f"{verdict.error_type}: ").rstrip("; ") in advice
            else f"reason={verdict.reason}"
        )
        if verdict.kind == "mapping":
            log.info(
                "mapping race on a new field of index %s (its dynamic mapping was still settling); "
                "retrying up to %d times %s", index, MAPPING_RACE_RETRIES, context,
            )  # fmt: skip
            return
        key = (verdict.kind, verdict.error_type)
        condition = self._conditions.get(key)
        if condition is not None and now - condition.logged_at < REPEAT_LOG_SECS:
            condition.unlogged += 1
            log.debug("bulk retry scheduled %s", context)
            return
        repeated = f" unlogged_retries={condition.unlogged}" if condition is not None else ""
        if condition is None:
            self._conditions[key] = _Condition(since=now, logged_at=now)
        else:
            condition.logged_at, condition.unlogged = now, 0
        if advice:
            log.warning("%s; retrying %s%s", advice, context, repeated)
        else:
            log.warning("bulk retry scheduled %s%s", context, repeated)

    def _recovered(self, kind: str, index: str, now: float) -> None:
        """Documents were accepted again: say so once for each condition of ``kind`` that was retried."""
        for key in [k for k in self._conditions if k[0] == kind]:
            condition = self._conditions.pop(key)
            log.info(
                "index %s accepts documents again after %.0f s of %s",
                index, now - condition.since, key[1] or "failures",
            )  # fmt: skip
