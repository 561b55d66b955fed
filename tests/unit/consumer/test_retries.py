"""Retry bookkeeping (consumer/retries.py): sorting answers, bounded mapping-race retries, logging."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from confluent_kafka import Message

from consumer.bulk import build_bulk
from consumer.dlq import Refused, log_refused
from consumer.outcome import MAPPING_RACE_RETRIES, Retry
from consumer.retries import REPEAT_LOG_SECS, RetryBook

OK = ("index", 201, None)
RACE_REASON = "mapper [c] cannot be changed from type [long] to [float]"
RACE = ("index", 400, {"type": "illegal_argument_exception", "reason": RACE_REASON})
CLOSED = ("index", 400, {"type": "index_closed_exception", "reason": "closed"})
BUSY = ("index", 503, {"type": "x", "reason": "busy"})
BAD = ("index", 400, {"type": "mapper_parsing_exception", "reason": "failed to parse field [a]"})
DENIED_REASON = "no permissions for [indices:data/write/bulk[s]] and User [name=spoolbridge]"
DENIED = ("index", 403, {"type": "security_exception", "reason": DENIED_REASON})


def msg(offset: int, partition: int = 0) -> Message:
    return Message(topic="t", partition=partition, offset=offset, key=b"id%d" % offset, value=b"{}")


def book(max_retries: int | None = None) -> RetryBook:
    return RetryBook(initial_backoff_ms=200, max_backoff_ms=30_000, max_retries=max_retries)


def request(n: int) -> Any:
    return build_bulk([msg(i) for i in range(n)])[0]


def test_an_answer_is_sorted_into_done_refused_and_retry() -> None:
    triage = book().triage(request(4), [OK, BAD, BUSY, OK], index="i", now=0)
    assert [m.offset() for m, _ in triage.done] == [0, 3]
    assert [(r.message.offset(), r.error_type, r.status) for r in triage.refused] == [
        (1, "mapper_parsing_exception", 400)
    ]
    assert triage.retry_positions == [2] and triage.retry is not None and triage.retry.kind == "transient"


def test_the_most_patient_verdict_governs_a_mixed_retry() -> None:
    triage = book().triage(request(3), [RACE, BUSY, CLOSED], index="i", now=0)
    assert triage.retry_positions == [0, 1, 2]
    assert triage.retry is not None and triage.retry.kind == "index"
    assert triage.race_retry == 1


def test_a_mapping_race_is_retried_exactly_n_times_then_refused() -> None:
    retries, req = book(), request(1)
    for n in range(1, MAPPING_RACE_RETRIES + 1):
        triage = retries.triage(req, [RACE], index="i", now=0)
        assert triage.retry_positions == [0] and triage.race_retry == n and not triage.refused
    triage = retries.triage(req, [RACE], index="i", now=0)
    assert triage.retry is None and len(triage.refused) == 1
    refused = triage.refused[0]
    assert refused.error_type == "illegal_argument_exception" and refused.status == 400
    assert refused.reason.startswith(f"still refused after {MAPPING_RACE_RETRIES} retries")
    assert refused.reason.endswith(RACE_REASON)


def test_other_retries_do_not_use_up_the_race_retries_and_success_resets_them() -> None:
    retries, req = book(), request(1)
    for _ in range(10):  # e.g. the index was closed for a while
        assert retries.triage(req, [CLOSED], index="i", now=0).retry is not None
    assert retries.triage(req, [RACE], index="i", now=0).race_retry == 1
    assert retries.triage(req, [OK], index="i", now=0).done
    assert retries.triage(req, [RACE], index="i", now=0).race_retry == 1  # counted afresh


def test_forgotten_partitions_lose_their_race_counts() -> None:
    retries, req = book(), request(1)
    retries.triage(req, [RACE], index="i", now=0)
    retries.forget({("t", 0)})
    assert retries.triage(req, [RACE], index="i", now=0).race_retry == 1


@pytest.mark.parametrize(
    ("kind", "max_retries", "attempt", "exhausted"),
    [
        ("transient", None, 1000, False),
        ("transient", 2, 1, False),
        ("transient", 2, 2, True),
        ("index", 2, 1000, False),  # an index condition is never the document's fault
        ("access", 2, 1000, False),  # nor a 401/403: the credentials or the user's role are
        ("mapping", 2, 2, False),  # bounded per message by triage instead
    ],
)
def test_max_retries_bounds_only_transient_failures(
    kind: Any, max_retries: int | None, attempt: int, exhausted: bool
) -> None:
    assert book(max_retries).exhausted(Retry("r", 500, kind, "x"), attempt) is exhausted


def test_a_mapping_race_waits_about_a_second_or_more() -> None:
    retries = book()
    assert all(0.1 <= retries.delay_secs(0) <= 0.2 for _ in range(50))
    assert all(0.5 <= retries.delay_secs(0, race_retry=1) <= 1.0 for _ in range(50))
    assert all(2.0 <= retries.delay_secs(0, race_retry=3) <= 4.0 for _ in range(50))


def test_an_index_condition_is_logged_with_advice_once_per_interval_and_its_end_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="consumer.retries")
    retries, req = book(), request(1)
    verdict = retries.triage(req, [CLOSED], index="logs", now=0).retry
    assert verdict is not None
    for now in range(20):  # a retry every second for 20 s
        retries.log_retry(verdict, index="logs", docs=1, partitions="t/0", attempt=now, delay=1, now=now)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("index logs is closed: open it with POST /logs/_open; retrying docs=1")
    retries.log_retry(
        verdict, index="logs", docs=1, partitions="t/0", attempt=21, delay=1, now=REPEAT_LOG_SECS + 1
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and warnings[1].endswith("unlogged_retries=19")
    retries.triage(req, [OK], index="logs", now=40)
    retries.triage(req, [OK], index="logs", now=41)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == ["index logs accepts documents again after 40 s of index_closed_exception"]


def test_dead_letters_are_logged_once_per_batch_and_error_type(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="consumer.dlq")
    refused = [Refused(msg(i), "mapper_parsing_exception", f"bad field {i}", 400) for i in range(5000)]
    refused.append(Refused(msg(9999), "invalid_json", "the value is not valid UTF-8 JSON"))
    log_refused(refused, "logs")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "dead-lettering docs=5000 index=logs error_type=mapper_parsing_exception status=400 first_id=id0 "
        "first=t/0@0 reason=bad field 0",
        "dead-lettering docs=1 index=logs error_type=invalid_json status=None first_id=id9999 "
        "first=t/0@9999 reason=the value is not valid UTF-8 JSON",
    ]


def test_an_access_refusal_is_retried_logged_in_one_line_naming_the_permission_and_its_end_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="consumer.retries")
    retries, req = book(max_retries=2), request(2)
    triage = retries.triage(req, [DENIED, DENIED], index="games", now=0)
    assert triage.refused == [] and triage.retry_positions == [0, 1]
    verdict = triage.retry
    assert verdict is not None and verdict.kind == "access" and not retries.exhausted(verdict, 100)
    for now in range(5):
        retries.log_retry(verdict, index="games", docs=2, partitions="t/0", attempt=now, delay=1, now=now)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("the OpenSearch user lacks indices:data/write/bulk[s] on index games (403")
    assert "error_type=security_exception" in warning and DENIED_REASON not in warning
    assert "\n" not in warning
    retries.triage(req, [OK, OK], index="games", now=12)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == ["index games accepts documents again after 12 s of security_exception"]
