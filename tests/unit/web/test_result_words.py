"""A settled file's result in one sentence, marked success / partly / failed, with counted causes and what
to do (issue 17, item 1): the countries-and-movies case says why nothing is searchable."""

from __future__ import annotations

from typing import Any

from schemas.letter_reasons import reason_group
from schemas.reject_reasons import reject_group as reject_group_of
from spoolbridge.topic_expiry import PartitionLag
from spoolbridge.web.progress import FileProgress, Progress
from spoolbridge.web.result_words import result_of


def _result(**figures: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"state": "done", "indexed": 0, "dead_lettered": 0, "rejected": 0,
                            "expired": 0, "superseded": 0, "reason": None, "what_to_do": None,
                            "letter_causes": []}  # fmt: skip
    return result_of(**{**base, **figures}).as_dict()


def test_all_searchable_is_a_success_in_words() -> None:
    found = _result(indexed=1949)
    assert (found["verdict"], found["label"]) == ("success", "Done")
    assert found["sentence"] == "All 1,949 records are searchable."
    assert found["causes"] == []
    assert "last one wins" in _result(indexed=5, superseded=2)["sentence"]


def test_every_record_dead_lettered_is_a_failure_with_its_cause_and_the_way_out() -> None:
    limit = reason_group("illegal_argument_exception", "Limit of total fields [1000] has been exceeded")
    found = _result(dead_lettered=3201, letter_causes=[(limit.what, limit.to_do, 3201)])
    assert found["verdict"] == "failed" and found["label"] == "Failed"
    assert found["sentence"] == "None of the records is searchable: 3,201 records are not."
    [cause] = found["causes"]
    assert (
        cause["count"] == 3201 and "1,000 fields" in cause["what"] and "dataset of its own" in cause["to_do"]
    )


def test_some_searchable_is_partly_with_each_cause_counted() -> None:
    found = _result(indexed=90, dead_lettered=4, rejected=1, expired=5, letter_causes=[("w", "t", 4)])
    assert found["verdict"] == "partly"
    assert found["sentence"] == "90 records are searchable; 10 records are not."
    assert [c["count"] for c in found["causes"]] == [4, 1, 5]
    assert "rejected records" in found["causes"][1]["what"] and "retention" in found["causes"][2]["what"]


def test_a_file_that_could_not_be_read_failed_with_its_reason() -> None:
    found = _result(state="failed", reason="not JSON: unexpected 'n' at character 0", what_to_do="Fix it")
    assert found["verdict"] == "failed"
    assert found["sentence"] == "The file could not be read: not JSON: unexpected 'n' at character 0. Fix it."


def test_the_card_has_a_result_only_once_its_ledger_balances() -> None:
    waiting = FileProgress("g/a.json", state="done", produced=10, indexed=4, dead_lettered=0)
    assert waiting.as_dict()["result"] is None  # 6 still to come: no verdict on old or partial figures
    settled = FileProgress("g/a.json", state="done", produced=10, indexed=10, dead_lettered=0)
    assert settled.as_dict()["result"]["sentence"] == "All 10 records are searchable."


def test_a_new_version_balancing_by_count_waits_for_the_group_to_commit_past_its_messages() -> None:
    # a re-upload whose ids the index already holds: the count balances before its records are indexed
    balanced: dict[str, Any] = {"state": "done", "produced": 10, "indexed": 10, "dead_lettered": 0}
    behind = FileProgress("g/a.json", **balanced, committed_past=False)
    assert behind.settled is False and behind.as_dict()["result"] is None
    assert FileProgress("g/a.json", **balanced, committed_past=True).settled is True
    assert FileProgress("g/a.json", **balanced, committed_past=None).settled is True  # unknown: the counts


class _GroupLag:
    def __init__(self, committed: dict[int, int | None]) -> None:
        self._committed = committed

    def partitions(self, topic: str) -> list[PartitionLag]:
        return [PartitionLag(p, c, 100, 0) for p, c in self._committed.items()]


def _committed_past(committed: dict[int, int | None], offsets: dict[int, tuple[int, int]]) -> bool | None:
    progress = object.__new__(Progress)  # only the group offsets are read
    progress._group_lag = _GroupLag(committed)  # type: ignore[assignment]
    numbers = FileProgress(
        "g/a.json", state="done", produced=10, indexed=10, dead_lettered=0, offsets=offsets
    )
    progress._committed(numbers, "g")
    return numbers.committed_past


def test_committed_past_compares_the_groups_offsets_with_the_versions_last_messages() -> None:
    offsets = {0: (40, 49), 1: (10, 14)}
    assert _committed_past({0: 50, 1: 15}, offsets) is True
    assert _committed_past({0: 50, 1: 14}, offsets) is False  # partition 1's last message not committed
    assert _committed_past({0: 50, 1: None}, offsets) is False
    assert _committed_past({0: None, 1: None}, offsets) is None  # this group commits nothing here


def test_rejected_records_are_counted_by_cause_with_what_to_do_and_the_file_is_not_called_unreadable() -> (
    None
):
    too_large = reject_group_of("record is 2000000 bytes; the topic accepts at most 1048576")
    limit = reason_group("illegal_argument_exception", "Limit of total fields [1000] has been exceeded")
    found = _result(
        state="failed", indexed=2, dead_lettered=1, rejected=11, file_error=False,
        reason="11 records could not be produced; 3 records were",
        letter_causes=[(limit.what, limit.to_do, 1)], reject_causes=[(too_large.what, too_large.to_do, 11)],
    )  # fmt: skip
    assert found["verdict"] == "partly"
    assert found["sentence"] == "2 records are searchable; 12 records are not."
    assert [c["count"] for c in found["causes"]] == [1, 11]
    assert "1.0 MB a record may be" in found["causes"][1]["what"]
    assert '"Records under"' in found["causes"][1]["to_do"]
    # a report from before causes were counted, or a file cut short, reads as before
    old = _result(state="failed", indexed=2, rejected=11, reason="11 records could not be produced")
    assert old["sentence"].startswith("The file could not be read")
    cut = _result(state="failed", file_error=True, reason="truncated", reject_causes=[])
    assert cut["sentence"].startswith("The file could not be read: truncated")
