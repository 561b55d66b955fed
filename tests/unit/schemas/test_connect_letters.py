"""Kafka Connect's dead letters read from their ``__connect.errors.*`` headers (schemas/connect_letters.py),
and kept apart per dataset in the outstanding-letters ledger (schemas/letter_ledger.py)."""

from __future__ import annotations

import pytest

from schemas.connect_letters import connect_letter, original_headers
from schemas.letter_ledger import OutstandingLetters, letter_identity, replay_mark_headers
from spoolbridge.dead_letters import classify_reason

# What connector 3.1.1 reports for a document OpenSearch refused (BulkProcessor, behavior report).
REFUSED = (
    "Encountered a version conflict when executing batch 3 of 2 records. Reporting this error to the "
    "errant record reporter and will not index record. Rest status: BAD_REQUEST, Action id: a.json:1, "
    "Error message: OpenSearchException[OpenSearch exception [type=mapper_parsing_exception, "
    "reason=failed to parse field [price] of type [long] in document with id 'a.json:1'. Preview of "
    "field's value: 'free']]; nested: OpenSearchException[OpenSearch exception "
    '[type=illegal_argument_exception, reason=For input string: "free"]];'
)
RACE = (
    "... Error message: OpenSearchException[OpenSearch exception [type=illegal_argument_exception, "
    "reason=mapper [IMDB Rating] cannot be changed from type [float] to [long]]]"
)
JSON_CAUSE = '... Error message: {"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}'


def headers(
    message: str, *, topic: str = "spoolbridge.games", stage: str = "TASK_PUT"
) -> list[tuple[str, bytes | None]]:
    return [
        ("spoolbridge-source", b"games/a.json"),
        ("__connect.errors.topic", topic.encode()),
        ("__connect.errors.partition", b"2"),
        ("__connect.errors.offset", b"41"),
        ("__connect.errors.connector.name", b"spoolbridge-opensearch-sink"),
        ("__connect.errors.task.id", b"0"),
        ("__connect.errors.stage", stage.encode()),
        ("__connect.errors.class.name", b"io.aiven.kafka.connect.opensearch.OpensearchSinkTask"),
        ("__connect.errors.exception.class.name", b"java.lang.Exception"),
        ("__connect.errors.exception.message", message.encode()),
        ("__connect.errors.exception.stacktrace", b"java.lang.Exception: ...\n\tat ..."),
    ]


def test_a_connect_letter_names_its_original_record_and_who_gave_up() -> None:
    letter = connect_letter(headers(REFUSED))
    assert letter is not None
    assert (letter.topic, letter.partition, letter.offset) == ("spoolbridge.games", 2, 41)
    assert (letter.connector, letter.task, letter.stage) == ("spoolbridge-opensearch-sink", "0", "TASK_PUT")
    assert letter.exception == "java.lang.Exception"


@pytest.mark.parametrize(
    ("message", "stage", "error_type", "reason"),
    [
        (
            REFUSED,
            "TASK_PUT",
            "mapper_parsing_exception",
            "failed to parse field [price] of type [long] in document with id 'a.json:1'. "
            "Preview of field's value: 'free'",
        ),
        (
            RACE,
            "TASK_PUT",
            "illegal_argument_exception",
            "mapper [IMDB Rating] cannot be changed from type [float] to [long]",
        ),
        (JSON_CAUSE, "TASK_PUT", "mapper_parsing_exception", "failed to parse field [x]"),
        (
            "Converting byte[] to Kafka Connect data failed due to serialization error: ",
            "VALUE_CONVERTER",
            "invalid_json",
            "value_converter of spoolbridge-opensearch-sink: Converting byte[] to Kafka Connect data failed "
            "due to serialization error: ",
        ),
        (
            "Bulk request failed",
            "TASK_PUT",
            "Exception",
            "task_put of spoolbridge-opensearch-sink: Bulk request failed",
        ),
    ],
)
def test_the_error_type_and_reason_are_opensearchs_when_the_message_carries_them(
    message: str, stage: str, error_type: str, reason: str
) -> None:
    letter = connect_letter(headers(message, stage=stage))
    assert letter is not None
    assert (letter.error_type, letter.reason) == (error_type, reason)


def test_connect_letters_fall_into_the_consumers_reason_classes() -> None:
    refused, race = connect_letter(headers(REFUSED)), connect_letter(headers(RACE))
    assert refused is not None and race is not None
    assert classify_reason(refused.error_type, refused.reason, "games").label == (
        "type conflict on field 'price' (mapper_parsing_exception)"
    )
    assert classify_reason(race.error_type, race.reason, "games").label.startswith(
        "type conflict on field 'IMDB"
    )


def test_headers_without_an_original_topic_are_not_a_connect_letter() -> None:
    assert connect_letter([("spoolbridge-dlq-error-type", b"x")]) is None
    assert connect_letter(None) is None
    assert connect_letter([("__connect.errors.topic", b"")]) is None


def test_the_original_headers_are_kept_and_connects_taken_off() -> None:
    assert original_headers(headers(REFUSED)) == [("spoolbridge-source", b"games/a.json")]


def test_one_id_in_two_datasets_is_two_letters_and_a_mark_settles_only_its_own() -> None:
    games, cars = headers(REFUSED), headers(REFUSED, topic="spoolbridge.cars")
    assert letter_identity(b"a.json:1", games) != letter_identity(b"a.json:1", cars)
    ledger = OutstandingLetters()
    ledger.add(b"a.json:1", b"{}", games, 10)
    ledger.add(b"a.json:1", b"{}", cars, 11)
    ledger.add(b"a.json:1", None, replay_mark_headers(games, 0, 10), 12)
    assert ledger.outstanding["games/a.json"] == 1  # the cars letter (same source header, own dataset)
    assert ledger.replayed["games/a.json"] == 1


def test_keyless_connect_letters_are_told_apart_by_their_original_position() -> None:
    first, second = headers(REFUSED), [*headers(REFUSED)[:3], ("__connect.errors.offset", b"42")]
    assert letter_identity(None, first) != letter_identity(None, second)
