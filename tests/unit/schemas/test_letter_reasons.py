"""Dead letters grouped by cause, in words, with what to do (issue 17, item 1)."""

from __future__ import annotations

from schemas.letter_ledger import OutstandingLetters, replay_mark_headers
from schemas.letter_reasons import reason_group
from schemas.message import HEADER_FILE_SHA256, HEADER_SOURCE


def test_the_causes_an_analyst_meets_are_grouped_without_the_documents_details() -> None:
    limit = reason_group("illegal_argument_exception", "Limit of total fields [1000] has been exceeded")
    assert limit.key == "field-limit:1000"
    assert "1,000 fields" in limit.what and "dataset of its own" in limit.to_do and "replay" in limit.to_do
    one = reason_group(
        "mapper_parsing_exception",
        "failed to parse field [price] of type [long] in document with id 'a.json:1'. Preview of field's "
        "value: 'free'",
    )
    two = reason_group(
        "mapper_parsing_exception",
        "failed to parse field [price] of type [long] in document with id 'a.json:9'. Preview of field's "
        "value: 'n/a'",
    )
    assert one == two and "price is not a long" in one.what and "same name" in one.to_do
    changed = reason_group(
        "illegal_argument_exception", "mapper [tags] cannot be changed from type [long] to [text]"
    )
    assert changed.key == "type-change:tags"
    assert reason_group("retries_exhausted", "503 after 5 retries").key == "retries"
    other = reason_group(
        "strict_dynamic_mapping_exception",
        "mapping set to strict, dynamic introduction of [x] in document with id 'a'",
    )
    assert (
        other.key
        == "other:strict_dynamic_mapping_exception:mapping set to strict, dynamic introduction of [x]"
    )


def _letter(
    doc: str, source: str, reason: str, sha: str = "v1"
) -> tuple[bytes, bytes, list[tuple[str, bytes | None]]]:
    headers: list[tuple[str, bytes | None]] = [
        (HEADER_SOURCE, source.encode()),
        (HEADER_FILE_SHA256, sha.encode()),
        ("spoolbridge-dlq-error-type", b"mapper_parsing_exception"),
        ("spoolbridge-dlq-reason", reason.encode()),
    ]
    return doc.encode(), b"{}", headers


def test_the_ledger_counts_outstanding_letters_by_cause_and_forgets_replayed_and_superseded_ones() -> None:
    latest = {"g/a.json": "v1"}
    ledger = OutstandingLetters(latest.get)
    field_limit = "Limit of total fields [1000] has been exceeded"
    for i in range(3):
        ledger.add(*_letter(f"d{i}", "g/a.json", field_limit), offset=i)
    ledger.add(
        *_letter("d3", "g/a.json", "failed to parse field [n] of type [long] in document with id 'x'"),
        offset=3,
    )
    causes = [(group.key, count) for group, count in ledger.reasons("g/a.json")]
    assert causes == [("field-limit:1000", 3), ("parse:n:long", 1)]
    ledger.add(
        b"d0", None, replay_mark_headers(_letter("d0", "g/a.json", field_limit)[2], 0, 0), offset=4
    )  # replayed: no longer owed
    assert [(g.key, n) for g, n in ledger.reasons("g/a.json")] == [
        ("field-limit:1000", 2),
        ("parse:n:long", 1),
    ]
    latest["g/a.json"] = "v2"  # a newer version settled: the old letters are moot
    assert ledger.reasons("g/a.json") == []
