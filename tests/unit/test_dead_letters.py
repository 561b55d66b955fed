"""Dead letters people can act on: the reason classes and their fixes (spoolbridge/dead_letters.py), and
the flat form of index settings that replay compares with the index (consumer/index.py)."""

from __future__ import annotations

import pytest

from consumer.index import flat_index_settings
from spoolbridge.dead_letters import classify_reason

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
