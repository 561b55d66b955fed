"""Classification of bulk responses, table by table (consumer/outcome.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from consumer.outcome import (
    INDEX_CONDITIONS,
    DeadLetter,
    Done,
    Retry,
    RetryKind,
    Split,
    access_advice,
    backoff_delay_secs,
    classify_item,
    classify_request_failure,
    fold,
    index_advice,
)

MAPPING_ERROR = {"type": "mapper_parsing_exception", "reason": "failed to parse field [price]"}
REJECTED = {"type": "es_rejected_execution_exception", "reason": "rejected execution"}
BLOCK = {"type": "cluster_block_exception", "reason": "index [x] blocked by: [FORBIDDEN/8/read-only]"}
# as OpenSearch 2.19 answers them per item (seen on the real node)
CLOSED = {"type": "index_closed_exception", "reason": "closed", "index": "x", "index_uuid": "u"}
MISSING = {"type": "index_not_found_exception", "reason": "no such index [x]", "index": "x"}
RACE = {
    "type": "illegal_argument_exception",
    "reason": "mapper [c] cannot be changed from type [long] to [float]",
}
OBJECT_RACE = {
    "type": "illegal_argument_exception",
    "reason": "can't merge a non object mapping [u] with an object mapping",
}


BOOM = {"type": "x", "reason": "boom"}
# as the security plugin 2.19 answers a bulk item the user may not write (seen on the secured local node)
DENIED = {
    "type": "security_exception",
    "reason": "no permissions for [indices:data/write/bulk[s]] and User [name=spoolbridge, "
    "backend_roles=[], requestedTenant=null]",
}
UNAUTHORIZED = {"type": "security_exception", "reason": "Unauthorized"}
SHARD_MISSING = {"type": "shard_not_found_exception", "reason": "no such shard"}
NO_WRITE_INDEX = {"type": "illegal_argument_exception", "reason": "no write index is defined for alias [a]."}
CAUSED_RACE = {
    "type": "mapper_parsing_exception",
    "reason": "failed to parse",
    "caused_by": {"type": "illegal_argument_exception", "reason": RACE["reason"]},
}
FIELD_LIMIT = {"type": "illegal_argument_exception", "reason": "Limit of total fields [1000] exceeded"}
VERSION = {"type": "version_conflict_engine_exception", "reason": RACE["reason"]}


def retry(error: Any, status: int, kind: RetryKind) -> Retry:
    """The Retry an item with ``error`` (a dict with type and reason, or None) is expected to get."""
    error_type = error["type"] if error else f"http_{status}"
    reason = error["reason"] if error else f"status {status} without an error object"
    if error and "caused_by" in error:
        reason += f" (caused by {error['caused_by']['type']}: {error['caused_by']['reason']})"
    return Retry(f"{error_type}: {reason}", status, kind, error_type)


@pytest.mark.parametrize(
    ("action", "status", "error", "expected"),
    [
        ("index", 200, None, Done()),
        ("index", 201, None, Done()),
        ("delete", 200, None, Done()),
        ("delete", 404, None, Done()),
        ("index", 429, REJECTED, retry(REJECTED, 429, "index")),
        ("index", 500, BOOM, retry(BOOM, 500, "transient")),
        ("index", 503, None, retry(None, 503, "transient")),
        ("index", 403, BLOCK, retry(BLOCK, 403, "index")),
        ("index", 403, DENIED, retry(DENIED, 403, "access")),
        ("delete", 403, DENIED, retry(DENIED, 403, "access")),
        ("index", 401, UNAUTHORIZED, retry(UNAUTHORIZED, 401, "access")),
        ("index", 400, CLOSED, retry(CLOSED, 400, "index")),
        ("index", 404, MISSING, retry(MISSING, 404, "index")),
        ("index", 404, SHARD_MISSING, retry(SHARD_MISSING, 404, "index")),
        ("index", 400, NO_WRITE_INDEX, retry(NO_WRITE_INDEX, 400, "index")),
        ("index", 400, RACE, retry(RACE, 400, "mapping")),
        ("index", 400, OBJECT_RACE, retry(OBJECT_RACE, 400, "mapping")),
        ("index", 400, CAUSED_RACE, retry(CAUSED_RACE, 400, "mapping")),
        ("index", 400, MAPPING_ERROR, DeadLetter(MAPPING_ERROR["reason"], 400, "mapper_parsing_exception")),
        ("index", 400, FIELD_LIMIT, DeadLetter(FIELD_LIMIT["reason"], 400, "illegal_argument_exception")),
        ("index", 409, VERSION, DeadLetter(RACE["reason"], 409, "version_conflict_engine_exception")),
        ("index", 409, "conflict", DeadLetter("conflict", 409, "http_409")),
        ("index", 413, None, DeadLetter("status 413 without an error object", 413, "http_413")),
    ],
)  # fmt: skip
def test_classify_item(action: str, status: int, error: Any, expected: object) -> None:
    assert classify_item(action, status, error) == expected


def test_every_index_condition_is_retried_whatever_its_status() -> None:
    for error_type in INDEX_CONDITIONS:
        for status in (400, 403, 404, 409, 429, 503):
            verdict = classify_item("index", status, {"type": error_type, "reason": "r"})
            assert isinstance(verdict, Retry) and verdict.kind == "index", (error_type, status)


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (CLOSED, "index logs is closed: open it with POST /logs/_open"),
        (MISSING, "index logs does not exist: creating it again with its settings and mappings"),
        (BLOCK, "index logs is blocked (index [x] blocked by: [FORBIDDEN/8/read-only]): after a disk flood"),
        ({"type": "illegal_argument_exception", "reason": "no write index is defined for alias [logs]."},
         'alias logs has no write index: mark one of its indices with "is_write_index": true'),
    ],
)  # fmt: skip
def test_index_conditions_say_what_to_do(error: dict[str, str], advice: str) -> None:
    verdict = classify_item("index", 400, error)
    assert isinstance(verdict, Retry)
    assert index_advice(verdict, "logs").startswith(advice)


def test_multi_line_reasons_are_folded_to_one_line() -> None:
    error = {"type": "mapper_parsing_exception", "reason": "failed to parse\n  field [a]\r\nat line 3\n"}
    verdict = classify_item("index", 400, error)
    assert verdict == DeadLetter("failed to parse field [a] at line 3", 400, "mapper_parsing_exception")
    failure = classify_request_failure(status=400, error_type="t", reason="<html>\n<body>\n", items=1)
    assert isinstance(failure, DeadLetter) and failure.reason == "<html> <body>"
    assert fold("one line  kept as is") == "one line  kept as is"


def test_item_reason_includes_the_cause() -> None:
    error = {**MAPPING_ERROR, "caused_by": {"type": "illegal_argument_exception", "reason": "not a long"}}
    verdict = classify_item("index", 400, error)
    assert isinstance(verdict, DeadLetter)
    assert verdict.reason.endswith("(caused by illegal_argument_exception: not a long)")


@pytest.mark.parametrize(
    ("status", "items", "expected_type"),
    [
        (None, 10, Retry),  # connection refused, timeout
        (None, 1, Retry),
        (429, 10, Retry),
        (502, 10, Retry),
        (401, 10, Retry),  # wrong credentials: never dead-letter the whole topic
        (401, 1, Retry),
        (403, 1, Retry),
        (400, 10, Split),
        (413, 2, Split),
        (400, 1, DeadLetter),
        (413, 1, DeadLetter),
    ],
)
def test_classify_request_failure(status: int | None, items: int, expected_type: type) -> None:
    verdict = classify_request_failure(status=status, error_type="t", reason="r", items=items)
    assert type(verdict) is expected_type


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_request_is_an_access_retry_whatever_its_size(status: int) -> None:
    for items in (1, 10):
        verdict = classify_request_failure(
            status=status, error_type="security_exception", reason="r", items=items
        )
        assert isinstance(verdict, Retry) and verdict.kind == "access"


def test_access_refusals_name_the_permission_or_the_setting() -> None:
    denied = classify_item("index", 403, DENIED)
    assert isinstance(denied, Retry)
    assert access_advice(denied, "games").startswith(
        "the OpenSearch user lacks indices:data/write/bulk[s] on index games (403 Forbidden): grant it"
    )
    create = Retry("security_exception: no permissions for [indices:admin/create] and User [name=u]", 403,
                   "access", "security_exception")  # fmt: skip
    assert "lacks indices:admin/create on index games" in access_advice(create, "games")
    unauthorized = classify_request_failure(status=401, error_type="security_exception", reason="x", items=3)
    assert isinstance(unauthorized, Retry)
    advice = access_advice(unauthorized, "games")
    assert "401 Unauthorized" in advice and "opensearch.url" in advice and "\n" not in advice


def test_request_failure_of_an_index_condition_is_retried_not_split() -> None:
    verdict = classify_request_failure(
        status=400, error_type="index_closed_exception", reason="closed", items=9
    )
    assert verdict == Retry("index_closed_exception: closed", 400, "index", "index_closed_exception")


def test_request_failure_reason_is_clipped() -> None:
    verdict = classify_request_failure(status=400, error_type="t", reason="x" * 10_000, items=1)
    assert isinstance(verdict, DeadLetter)
    assert len(verdict.reason) <= 2000


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(0, 0.1, 0.2), (1, 0.2, 0.4), (3, 0.8, 1.6), (10, 15.0, 30.0), (500, 15.0, 30.0)],
)
def test_backoff_grows_exponentially_with_jitter_and_is_capped(attempt: int, low: float, high: float) -> None:
    rng = random.Random(7)
    delays = [backoff_delay_secs(attempt, initial_ms=200, max_ms=30_000, rng=rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 100  # jittered, not lock-step
