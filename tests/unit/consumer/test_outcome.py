"""Classification of bulk responses, table by table (consumer/outcome.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from consumer.outcome import (
    DeadLetter,
    Done,
    Retry,
    Split,
    backoff_delay_secs,
    classify_item,
    classify_request_failure,
)

MAPPING_ERROR = {"type": "mapper_parsing_exception", "reason": "failed to parse field [price]"}
REJECTED = {"type": "es_rejected_execution_exception", "reason": "rejected execution"}
BLOCK = {"type": "cluster_block_exception", "reason": "index [x] blocked by: [FORBIDDEN/8/read-only]"}


@pytest.mark.parametrize(
    ("action", "status", "error", "expected"),
    [
        ("index", 200, None, Done()),
        ("index", 201, None, Done()),
        ("delete", 200, None, Done()),
        ("delete", 404, None, Done()),
        ("index", 429, REJECTED, Retry("es_rejected_execution_exception: rejected execution", 429)),
        ("index", 500, {"type": "x", "reason": "boom"}, Retry("x: boom", 500)),
        ("index", 503, None, Retry("http_503: status 503 without an error object", 503)),
        ("index", 403, BLOCK, Retry(f"cluster_block_exception: {BLOCK['reason']}", 403)),
        ("index", 400, MAPPING_ERROR, DeadLetter(MAPPING_ERROR["reason"], 400, "mapper_parsing_exception")),
        ("index", 404, {"type": "index_not_found_exception", "reason": "no such index"},
         DeadLetter("no such index", 404, "index_not_found_exception")),
        ("index", 409, "conflict", DeadLetter("conflict", 409, "http_409")),
        ("index", 413, None, DeadLetter("status 413 without an error object", 413, "http_413")),
    ],
)  # fmt: skip
def test_classify_item(action: str, status: int, error: Any, expected: object) -> None:
    assert classify_item(action, status, error) == expected


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
