"""The dead-letter headers model and its JSON Schema file (schemas/dlq.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka import Message
from pydantic import ValidationError

from consumer.dlq import DeadLetter, dead_letter_headers
from schemas.dlq import SCHEMA_FILE, DeadLetterHeaders, json_schema_text


def test_schema_file_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), (
        "schemas/dlq-message.schema.json is stale: run `python -m schemas.dlq`"
    )


def test_dead_letter_keeps_the_original_headers_and_adds_where_and_why() -> None:
    original = Message(
        topic="orders",
        partition=2,
        offset=41,
        key=b"k",
        value=b"{}",
        headers=[("spoolbridge-source", b"a.json")],
    )
    letter = DeadLetter(
        original, "mapper_parsing_exception", "failed to parse", 400, lambda: None, "t.dlq", "orders-index"
    )
    headers = dead_letter_headers(letter)
    assert headers[0] == ("spoolbridge-source", b"a.json")
    parsed = DeadLetterHeaders.from_kafka_headers(headers)  # type: ignore[arg-type]
    assert (parsed.topic, parsed.partition, parsed.offset) == ("orders", 2, 41)
    assert (parsed.error_type, parsed.status, parsed.index) == (
        "mapper_parsing_exception",
        400,
        "orders-index",
    )
    assert parsed.failed_at.tzinfo is not None


def test_status_is_left_out_when_opensearch_never_saw_the_document() -> None:
    model = DeadLetterHeaders.model_validate(
        {"error_type": "invalid_json", "reason": "r", "topic": "t", "partition": 0, "offset": 0,
         "index": "i", "failed_at": datetime(2026, 1, 1, tzinfo=UTC)}
    )  # fmt: skip
    names = [name for name, _ in model.to_kafka_headers()]
    assert "spoolbridge-dlq-status" not in names
    assert DeadLetterHeaders.from_kafka_headers(model.to_kafka_headers()) == model  # type: ignore[arg-type]


def test_missing_headers_are_an_error() -> None:
    with pytest.raises(ValidationError):
        DeadLetterHeaders.from_kafka_headers([("spoolbridge-dlq-reason", b"r")])
