"""Dead letters people can act on: the reason classes and their fixes (spoolbridge/dead_letters.py), what a
replay sends (each outstanding document's latest letter), and the flat form of index settings that replay
compares with the index (consumer/index.py)."""

from __future__ import annotations

import pytest

from consumer.index import flat_index_settings
from schemas.letter_ledger import no_history, replay_mark_headers
from schemas.message import HEADER_FILE_SHA256, HEADER_SOURCE
from spoolbridge.dead_letters import _Letter, classify_reason, select_replay

FIELD_LIMIT = "Limit of total fields [1000] has been exceeded while adding new fields [3]"
PARSE = (
    "failed to parse field [price] of type [long] in document with id 'games/a.json:7'. "
    "Preview of field's value: 'free'"
)


@pytest.mark.parametrize(
    ("error_type", "reason", "label", "fix"),
    [
        ("illegal_argument_exception", FIELD_LIMIT, "field limit", "index.mapping.total_fields.limit"),
        ("illegal_argument_exception", FIELD_LIMIT, "field limit", "flat_object"),
        (
            "mapper_parsing_exception",
            PARSE,
            "type conflict on field 'price'",
            "datasets.games.index_body_file",
        ),
        (
            "illegal_argument_exception",
            "mapper [year] cannot be changed from type [long] to [float]",
            "type conflict on field 'year'",
            "mapping",
        ),
        (
            "invalid_json",
            "the value is not valid UTF-8 JSON: unexpected character",
            "invalid message",
            "drop",
        ),
        ("not_an_object", "the value is JSON but not an object (a list)", "invalid message", "source file"),
    ],
)
def test_common_reasons_come_with_a_fix(error_type: str, reason: str, label: str, fix: str) -> None:
    found = classify_reason(error_type, reason, "games")
    assert found.label.startswith(label)
    assert fix in found.fix


def test_letters_that_differ_only_in_ids_and_values_share_a_class() -> None:
    first = classify_reason(
        "strict_dynamic_mapping_exception", "mapping set to strict, [a] not allowed in 'x:1'"
    )
    second = classify_reason(
        "strict_dynamic_mapping_exception", "mapping set to strict, [b] not allowed in 'y:2'"
    )
    assert first == second
    assert first.fix == ""


def test_the_default_dataset_points_at_the_global_index_body() -> None:
    assert (
        "opensearch.index_body_file"
        in classify_reason("illegal_argument_exception", FIELD_LIMIT, "(default)").fix
    )


def test_index_settings_are_flattened_as_opensearch_answers_them() -> None:
    nested = {"index": {"mapping": {"total_fields": {"limit": 5000}}}, "number_of_replicas": 0, "x.y": True}
    assert flat_index_settings(nested) == {
        "index.mapping.total_fields.limit": "5000",
        "index.number_of_replicas": "0",
        "index.x.y": "true",
    }


def test_the_list_says_outstanding_letters_and_the_replayed_ones_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from spoolbridge.dead_letters import DeadLetterGroup, print_groups

    settled = DeadLetterGroup("games", "t.games.dlq", "field limit", 0, 168, fix="raise the limit")
    open_ = DeadLetterGroup("games", "t.games.dlq", "type conflict", 2, 1, "games/a.json:1", "games/a.json:9")
    print_groups([open_, settled])
    assert capsys.readouterr().out.splitlines() == [
        "games: 2 dead letters outstanding, 1 replayed before (t.games.dlq)",
        "  reason: type conflict",
        "  ids:    games/a.json:1 … games/a.json:9",
        "games: 0 dead letters outstanding, 168 replayed before (t.games.dlq)",
        "  reason: field limit",
    ]


def _letter(
    key: str, offset: int, *, sha256: str = "v1", error_type: str = "mapper_parsing_exception"
) -> _Letter:
    headers: list[tuple[str, bytes | None]] = [
        (HEADER_SOURCE, b"a.jsonl"),
        (HEADER_FILE_SHA256, sha256.encode()),
        ("spoolbridge-dlq-topic", b"t"),
        ("spoolbridge-dlq-partition", b"0"),
        ("spoolbridge-dlq-offset", str(100 + offset).encode()),
    ]
    value = f'{{"sha": "{sha256}"}}'.encode()
    return _Letter(key.encode(), value, headers, error_type, "refused", 0, offset)


def _mark(letter: _Letter, offset: int) -> _Letter:
    headers = replay_mark_headers(letter.headers, letter.partition, letter.offset)
    return _Letter(letter.key, None, headers, "", "", letter.partition, offset, is_mark=True)


def _sent(chosen: list[_Letter]) -> list[tuple[bytes | None, int]]:
    return [(letter.key, letter.offset) for letter in chosen]


def test_replay_sends_only_the_latest_letter_of_each_document() -> None:
    letters = [_letter("a:1", 0), _letter("a:2", 1), _letter("a:1", 2), _letter("a:1", 3)]
    chosen, skipped = select_replay(letters, no_history)
    assert (_sent(chosen), skipped) == ([(b"a:2", 1), (b"a:1", 3)], 0)


def test_replay_skips_letters_a_newer_settled_version_of_their_file_superseded() -> None:
    # v1 refused ids 1 and 2; v2 settled: it indexed id 1 (no letter), deleted or refused again id 2
    letters = [_letter("a:1", 0), _letter("a:2", 1), _letter("a:2", 2, sha256="v2"), _letter("a:3", 3)]
    chosen, _ = select_replay(letters, {"a.jsonl": "v2"}.get)
    assert _sent(chosen) == [(b"a:2", 2)]
    chosen, _ = select_replay(letters, {"a.jsonl": "v1"}.get)  # v2 is still being read: v1 still owed
    assert _sent(chosen) == [(b"a:1", 0), (b"a:3", 3)]


def test_a_replay_run_again_after_a_kill_skips_what_its_marks_settled() -> None:
    first, second, third = _letter("a:1", 0), _letter("a:2", 1), _letter("a:3", 2)
    # killed after the first batch's marks were acknowledged, before the second batch
    chosen, _ = select_replay([first, second, third, _mark(first, 3), _mark(second, 4)], no_history)
    assert _sent(chosen) == [(b"a:3", 2)]


def test_a_copy_that_failed_again_is_replayed_by_the_next_run_once() -> None:
    first = _letter("a:1", 0)
    again = _letter("a:1", 1)  # the copy failed again; its letter landed before the mark
    chosen, _ = select_replay([first, again, _mark(first, 2)], no_history)
    assert _sent(chosen) == [(b"a:1", 1)]


def test_the_reason_filter_counts_the_outstanding_letters_it_leaves() -> None:
    letters = [
        _letter("a:1", 0, error_type="mapper_parsing_exception"),
        _letter("a:2", 1, error_type="illegal_argument_exception"),
        _letter("a:1", 2, error_type="illegal_argument_exception"),  # a:1's latest letter
    ]
    chosen, skipped = select_replay(letters, no_history, "mapper_parsing")
    assert (_sent(chosen), skipped) == ([], 2)
    chosen, skipped = select_replay(letters, no_history, "illegal_argument")
    assert (_sent(chosen), skipped) == ([(b"a:2", 1), (b"a:1", 2)], 0)
