"""The consumer loop: fetch → batch → build → send (several requests in flight) → classify →
done/retry/dead-letter → commit. One module on purpose: the order of these steps *is* the guarantee.

Guarantees (DESIGN, Invariant C):

- an offset is committed only when every message of its partition before it is in OpenSearch or in the
  dead-letter topic (:mod:`consumer.offsets`), and only for partitions this member still owns;
- a partition's documents reach OpenSearch in offset order (:mod:`consumer.scheduler`), while bulk
  requests for different partitions are in flight: up to ``concurrent_requests`` per dataset (topic),
  up to ``max_requests_in_flight`` in all — so a dataset whose requests are slow never holds up another;
- every topic of the subscription (the default dataset's and every ``<topic>.<dataset>``, including
  datasets created while it runs) is indexed into its dataset's index, created before its first request;
- while a request backs off (or a partition holds two batches already) its partitions are paused, and the
  loop keeps polling so the member stays in its group;
- on revoke: in-flight requests are finished, what is final is committed, everything else of those
  partitions is dropped (the next owner reads it again from the committed offset);
- on :meth:`Runner.stop` (SIGTERM/SIGINT): no more fetching, held batches are sent and in-flight work is
  finished for up to ``shutdown_timeout_secs``, what is final is committed, the member leaves the group.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from opensearchpy import OpenSearch

from consumer.batch import KafkaMessage
from consumer.bulk import BulkRequest, build_bulk
from consumer.dlq import DeadLetterPublisher, Refused
from consumer.index import Indices
from consumer.inflight import Answer, InFlight
from consumer.metrics import ConsumerMeter
from consumer.offsets import OffsetTracker, TopicPartitionKey
from consumer.outcome import Retry, Split, classify_request_failure
from consumer.progress import ProgressLog
from consumer.retries import RetryBook
from consumer.scheduler import Pending, Scheduler, partitions_of
from consumer.send import BulkResponse, RequestFailure
from schemas.datasets import Dataset, Datasets
from schemas.errors import ServiceUnavailableError
from schemas.settings import Settings

__all__ = ["Runner"]

log = logging.getLogger(__name__)

_MAX_POLL_WAIT_SECS = 0.2
_BUSY_POLL_WAIT_SECS = 0.01  # while requests are in flight: come back soon to collect them


class Runner:
    """One consumer group member. Build, then :meth:`run` until stopped, idle or failed."""

    def __init__(
        self,
        settings: Settings,
        consumer: Consumer,
        client: OpenSearch,
        dlq: DeadLetterPublisher,
        *,
        until_idle_secs: float | None = None,
        meter: ConsumerMeter | None = None,
    ) -> None:
        self.settings = settings
        self.datasets = Datasets(settings)
        self._pattern = self.datasets.topic_pattern()
        self._meter = meter or ConsumerMeter(self.datasets, consumer)  # counters, lag and metrics
        self.counters = self._meter.counters
        self._cfg = settings.consumer
        self._consumer = consumer
        self._client = client
        self._dlq = dlq
        self._until_idle_secs = until_idle_secs
        self._indices = Indices(client)
        self._tracker = OffsetTracker()
        self._retries = RetryBook(
            initial_backoff_ms=self._cfg.retry_initial_backoff_ms,
            max_backoff_ms=self._cfg.retry_max_backoff_ms,
            max_retries=self._cfg.max_retries,
        )
        self._owned: set[TopicPartitionKey] = set()
        self._paused: set[TopicPartitionKey] = set()
        slots = max(self._cfg.max_requests_in_flight, self._cfg.concurrent_requests)
        self._requests = InFlight(slots, settings.opensearch, client, self._indices)
        self._scheduler = Scheduler(
            max_events=self._cfg.max_events,
            max_bytes=self._cfg.max_bytes,
            timeout_secs=self._cfg.timeout_secs,
            per_topic=self._cfg.concurrent_requests,
        )
        self._stopping = False
        self._abandon = False
        self._last_activity = time.monotonic()
        self._joined = False  # idleness counts only once the group has given this member its share

    # --- lifecycle ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to finish (first call) or to give up on unfinished work (second call)."""
        if self._stopping:
            self._abandon = True
        self._stopping = True

    def subscribe(self) -> None:
        """The default dataset's topic and, by pattern, every dataset's topic — present and future."""
        self._consumer.subscribe(
            self.datasets.subscription(),
            on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost,
        )  # fmt: skip

    def mark_index_ready(self, index: str) -> None:
        """``index`` exists already (the service created it at start): no check before its first request."""
        self._indices.mark_ready(index)

    def _dataset(self, topic: str | None) -> Dataset:
        return self.datasets.of_topic(topic or "") or self.datasets.get(None)

    def run(self) -> None:
        """Consume until stopped or idle. Raises ServiceUnavailableError on a fatal Kafka error."""
        self.subscribe()
        now = time.monotonic()
        progress = ProgressLog(self.counters, self._cfg.progress_interval_secs, now)
        next_commit = now + self._cfg.commit_interval_secs
        try:
            while not self._stopping:
                self._meter.heartbeat.beat()
                messages = self._fetch(time.monotonic())
                now = time.monotonic()
                if messages:
                    self._accept(messages, now)
                self._service(now)
                if now >= next_commit:
                    self._commit()
                    next_commit = now + self._cfg.commit_interval_secs
                if progress.due(now):
                    lag = self._meter.lag(self._owned, self._tracker.committed)
                    progress.log(now, lag=lag, paused=len(self._paused), in_flight=len(self._requests))
                    if lag and self._quiet_for(now, self._cfg.progress_interval_secs):
                        self._unread_yet_quiet()
                if self._idle_long_enough(now):
                    log.info("drained and idle idle_secs=%s", self._until_idle_secs)
                    break
            self._finish()
        finally:
            self._requests.shutdown(wait=not self._abandon)
        log.info("consumer stopped %s", self.counters.summary())

    def close(self) -> None:
        """Leave the group (runs the revoke callback, which commits what is final)."""
        self._consumer.close()

    # --- fetching ----------------------------------------------------------------------------------

    def _accept(self, messages: list[KafkaMessage], now: float) -> None:
        track, hold, owned = self._tracker.track, self._scheduler.add, self._owned
        seen = self._meter.expiry.check  # a gap in the offsets: records the retention removed
        accepted = 0
        for message in messages:
            error = message.error()
            if error is not None:
                self._on_message_error(error)
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if topic is None or partition is None or offset is None:
                continue
            tp = (topic, partition)
            if tp not in owned:  # fetched just before a revoke: the next owner reads it
                continue
            try:
                track(tp, offset)
            except ValueError as exc:  # offsets went backwards: the topic was deleted and re-created
                raise ServiceUnavailableError(
                    f"partition {topic}/{partition} went back to offset {offset} ({exc}); the topic was "
                    "probably re-created: restart the consumer (it resumes from the committed offsets)"
                ) from exc
            seen(tp, offset)
            hold(tp, message, now)
            accepted += 1
        if accepted:
            self._meter.fetched(messages, accepted)
            self._last_activity = now

    def _on_message_error(self, error: KafkaError) -> None:
        if error.fatal():
            raise ServiceUnavailableError(
                f"Kafka consumer failed: {error.str()}; check the broker and config"
            )
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART and self._pattern in error.str():
            log.debug("no dataset topic yet pattern=%s", self._pattern)  # normal until a first dataset
            return
        log.warning("kafka consumer error code=%s error=%s", error.name(), error.str())

    def _fetch(self, now: float) -> list[KafkaMessage]:
        """The next messages: what has arrived, or else the next to arrive — never a fixed wait.

        librdkafka's ``consume(n, wait)`` returns only when ``n`` messages arrived or ``wait`` ran out, so
        asking for a whole batch on a quiet topic would hold the first messages back for the whole wait
        (and a partition whose messages came a moment later would start a batch of its own, one
        ``timeout_secs`` later). So: take what is there without waiting; if nothing is, wait for *one*
        message (or until something is due) and take what came with it. Under load the first call
        returns up to a batch at once; idle, each message is picked up as it arrives (drop-to-searchable
        latency).
        """
        consume, most = self._consumer.consume, self._cfg.max_events
        messages = consume(most, 0)
        if messages:
            return messages
        messages = consume(1, self._poll_wait(now))
        if messages and most > 1:
            messages += consume(most - 1, 0)
        return messages

    def _poll_wait(self, now: float) -> float:
        if self._requests:
            return _BUSY_POLL_WAIT_SECS
        wakeup = self._scheduler.next_wakeup()
        if wakeup is None:
            return _MAX_POLL_WAIT_SECS
        return min(_MAX_POLL_WAIT_SECS, max(0.0, wakeup - now))

    # --- requests ----------------------------------------------------------------------------------

    def _service(self, now: float, *, flush: bool = False) -> None:
        """Collect answered requests, start new ones, serve DLQ acks, pause/resume partitions."""
        for answer in self._requests.answered():
            self._collect(answer, now)
        while self._requests.free() and self._dispatch(now, flush=flush):
            pass
        self._dlq.poll(0)
        if self._dlq.retry_failed(now):
            self._last_activity = now
        self._reconcile_pauses(now)

    def _dispatch(self, now: float, *, flush: bool) -> bool:
        """Send the next request: a deferred one that is due, else a new batch; False when there is none."""
        pending = self._scheduler.take_pending(now)
        if pending is not None:
            self._send(pending.request, pending.partitions, pending.attempt)
            return True
        free = self._requests.free()
        while (batch := self._scheduler.take_batch(now, free_slots=free, flush=flush)) is not None:
            request, rejected = build_bulk(batch.messages)
            self._dead_letter([Refused(bad.message, bad.error_type, bad.reason) for bad in rejected])
            if len(request):
                self._send(request, batch.partitions, 0)
                return True
            self._scheduler.release(batch.partitions)
        return False

    def _send(self, request: BulkRequest, partitions: frozenset[TopicPartitionKey], attempt: int) -> None:
        dataset = self._dataset(request.messages[0].topic())  # a request carries one topic
        slot = self._requests.send(dataset, request, partitions, attempt)
        self._meter.sent(request)
        log.debug("bulk sent slot=%d index=%s docs=%d attempt=%d", slot, dataset.index, len(request), attempt)

    def _collect(self, answer: Answer, now: float) -> None:
        """Classify a request's answer: finish, defer for retry, split or dead-letter."""
        request, response = answer.request, answer.response
        self._meter.answered(request, response)
        log.debug(
            "bulk answered slot=%d docs=%d took_secs=%.3f", answer.slot, len(request), response.took_secs
        )
        try:
            if response.failure is not None:
                self._on_request_failure(request, response.failure, answer.attempt, now)
            else:
                self._on_items(request, response, answer.attempt, now)
        finally:
            self._scheduler.release(
                answer.partitions
            )  # after any deferral, so nothing newer slips in between

    def _on_request_failure(
        self, request: BulkRequest, failure: RequestFailure, attempt: int, now: float
    ) -> None:
        verdict = classify_request_failure(
            status=failure.status, error_type=failure.error_type, reason=failure.reason, items=len(request)
        )
        if isinstance(verdict, Split):
            log.warning("bulk rejected as a whole, splitting docs=%d reason=%s", len(request), verdict.reason)
            first, second = request.halves()
            self._scheduler.defer(Pending(first, attempt, now))
            self._scheduler.defer(Pending(second, attempt, now))
        elif isinstance(verdict, Retry):
            self._retry(request, verdict, attempt, now)
        else:
            refused = Refused(request.messages[0], verdict.error_type, verdict.reason, verdict.status)
            self._dead_letter([refused])

    def _on_items(self, request: BulkRequest, response: BulkResponse, attempt: int, now: float) -> None:
        assert response.items is not None
        index = self._dataset(request.messages[0].topic()).index
        triage = self._retries.triage(request, response.items, index=index, now=now)
        for message, _ in triage.done:
            self._tracker.finish((message.topic() or "", message.partition() or 0), message.offset() or 0)
        self._meter.done(request, triage.done)
        self._dead_letter(triage.refused)
        if triage.retry is not None:
            retry = request.subset(triage.retry_positions)
            self._retry(retry, triage.retry, attempt, now, race_retry=triage.race_retry)

    def _retry(
        self, request: BulkRequest, verdict: Retry, attempt: int, now: float, *, race_retry: int = 0
    ) -> None:
        owned = [i for i, m in enumerate(request.messages) if (m.topic(), m.partition()) in self._owned]
        if not owned:
            return
        request = request.subset(owned) if len(owned) != len(request) else request
        if self._retries.exhausted(verdict, attempt):
            reason, status = f"gave up after {attempt} retries: {verdict.reason}", verdict.status
            self._dead_letter([Refused(m, "retries_exhausted", reason, status) for m in request.messages])
            return
        index = self._dataset(request.messages[0].topic()).index
        if verdict.error_type == "index_not_found_exception":
            self._indices.forget(index)  # the retry creates it again first
        delay = self._retries.delay_secs(attempt, race_retry)
        self._scheduler.defer(Pending(request, attempt + 1, now + delay))
        self._meter.retried(request, verdict.kind)
        partitions = _fmt(set(partitions_of(request.messages)))
        self._retries.log_retry(
            verdict, index=index, docs=len(request), partitions=partitions, attempt=attempt + 1,
            delay=delay, now=now,
        )  # fmt: skip

    def _dead_letter(self, refused: list[Refused]) -> None:
        """Publish ``refused`` messages of owned partitions to the dead-letter topic (logged once)."""
        owned = [r for r in refused if (r.message.topic(), r.message.partition()) in self._owned]
        self._dlq.publish_all(owned, self._dead_lettered)

    def _dead_lettered(self, message: KafkaMessage) -> None:
        self._tracker.finish((message.topic() or "", message.partition() or 0), message.offset() or 0)
        self.counters.dead_lettered += 1

    def _reconcile_pauses(self, now: float) -> None:
        want = self._scheduler.to_pause(now) & self._owned
        if want == self._paused:
            return
        to_pause, to_resume = want - self._paused, self._paused - want
        if to_pause:
            self._consumer.pause([TopicPartition(t, p) for t, p in to_pause])
        if to_resume:
            self._consumer.resume([TopicPartition(t, p) for t, p in to_resume])
        log.debug("partitions paused=%s resumed=%s", _fmt(to_pause), _fmt(to_resume))
        self._paused = want
        self._meter.paused(want)

    # --- committing --------------------------------------------------------------------------------

    def _commit(self, partitions: set[TopicPartitionKey] | None = None, *, asynchronous: bool = True) -> None:
        """Commit, for owned partitions, the offset after the last message that is final — and no further.

        The ordering rule: *acknowledge after delivery, commit after acknowledgement.* A message is marked
        final (in :class:`~consumer.offsets.OffsetTracker`) only after OpenSearch acknowledged its bulk
        item, or after the broker acknowledged its dead-letter copy; this function commits only positions
        the tracker derived from those marks, so a committed offset never passes a message that is in
        neither place. This is the only function that commits offsets.
        """
        owned = self._owned if partitions is None else partitions & self._owned
        # a synchronous commit (revoke, exit) repeats every position: an earlier asynchronous one may have
        # failed without anyone waiting for its answer
        positions = self._tracker.uncommitted(owned, everything=not asynchronous)
        if not positions:
            return
        offsets = [self._commit_offset(tp, offset) for tp, offset in positions.items()]
        try:
            if asynchronous:
                self._consumer.commit(offsets=offsets, asynchronous=True)
            else:
                self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("commit failed partitions=%d error=%s", len(offsets), exc)
            return
        self._tracker.mark_committed(positions)
        self._meter.committed(positions)
        log.debug("committed %s", ",".join(f"{t}/{p}@{o}" for (t, p), o in sorted(positions.items())))

    def _commit_offset(self, tp: TopicPartitionKey, offset: int) -> TopicPartition:
        metadata = self._meter.expiry.metadata(tp)  # the partition's expired records stay with the group
        if metadata is None:
            return TopicPartition(tp[0], tp[1], offset)
        return TopicPartition(tp[0], tp[1], offset, metadata=metadata)

    # --- rebalance ---------------------------------------------------------------------------------

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        added = {(tp.topic, tp.partition) for tp in partitions}
        self._owned |= added
        self._joined = True
        self._last_activity = time.monotonic()
        log.info("partitions assigned added=%s owned=%d", _fmt(added), len(self._owned))

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._settle_in_flight()
        self._dlq.flush(min(10.0, self._cfg.shutdown_timeout_secs))
        self._dlq.poll(0)
        self._commit(revoked, asynchronous=False)
        self._drop(revoked)
        log.info("partitions revoked removed=%s owned=%d", _fmt(revoked), len(self._owned))

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        lost = {(tp.topic, tp.partition) for tp in partitions}
        self._drop(lost)
        log.warning("partitions lost (no commit) removed=%s owned=%d", _fmt(lost), len(self._owned))

    def _settle_in_flight(self) -> None:
        """Wait for every request in flight and classify its answer (bounded by the client timeout)."""
        if self._abandon:
            return
        now = time.monotonic()
        for answer in self._requests.answered(wait=True):
            self._collect(answer, now)

    def _drop(self, partitions: set[TopicPartitionKey]) -> None:
        self.counters.dropped_on_revoke += self._scheduler.discard(partitions)
        self._tracker.forget(partitions)
        self._retries.forget(partitions)
        self._meter.forget(partitions)
        self._owned -= partitions
        self._paused -= partitions
        self._last_activity = time.monotonic()

    # --- idleness and shutdown ---------------------------------------------------------------------

    def _idle_long_enough(self, now: float) -> bool:
        if self._until_idle_secs is None or now - self._last_activity < self._until_idle_secs:
            return False
        if not self._joined:
            return False
        if self._tracker.pending() or self._dlq.pending() or not self._scheduler.idle:
            self._last_activity = now
            return False
        if self._unread_yet_quiet():
            self._last_activity = now
            return False
        return True

    def _quiet_for(self, now: float, secs: float) -> bool:
        """Nothing arrived, waits or is in flight, for ``secs`` at least."""
        idle = self._scheduler.idle and not self._tracker.pending() and not self._dlq.pending()
        return idle and now - self._last_activity >= secs

    def _unread_yet_quiet(self) -> bool:
        """Drained means no record left to read, not only none arriving: when an owned partition that
        nothing holds paused still has unread records although none arrived for a while, resume it again
        and say so (librdkafka can lose a resume after many pause/resume calls, leaving the partition
        paused with no error: confluentinc/librdkafka#5591). True when there are such records."""
        lags = self._meter.unread(self._owned, self._tracker.finished_to)  # not only what was committed
        if not lags:  # none, or unknown just now (the next check asks again)
            return False
        quiet = sorted(self._owned - self._paused)
        if quiet:
            self._consumer.resume([TopicPartition(t, p) for t, p in quiet])
            log.info(
                "unread records but none arrived: resumed fetching again partitions=%s", _fmt(set(quiet))
            )
        return True

    def _finish(self) -> None:
        """Send what is held, finish what is in flight (bounded), then commit what is final."""
        deadline = time.monotonic() + self._cfg.shutdown_timeout_secs
        while not self._abandon and time.monotonic() < deadline:
            now = time.monotonic()
            self._service(now, flush=True)
            if self._scheduler.idle and not self._dlq.pending():
                break
            time.sleep(_BUSY_POLL_WAIT_SECS)
        if not self._scheduler.idle:
            log.warning("shutdown timeout reached; abandoning unfinished requests and retries")
            self._abandon = True
        self._dlq.flush(0 if self._abandon else 5.0)
        self._dlq.poll(0)
        self._commit(asynchronous=False)
        unfinished = self._tracker.pending()
        if unfinished:
            log.warning("exiting with unfinished messages count=%d (they will be read again)", unfinished)


def _fmt(partitions: set[TopicPartitionKey]) -> str:
    return ",".join(f"{t}/{p}" for t, p in sorted(partitions)) or "-"
