"""The ledger's arithmetic for one file version and for a dataset (schemas/file_account.py)."""

from __future__ import annotations

import pytest

from schemas.file_account import FileAccount, dataset_balances


def _done(indexed: int | None, dead_lettered: int | None = 0, **terms: int) -> FileAccount:
    produced, rejected, superseded = (
        terms.get("produced", 10),
        terms.get("rejected", 0),
        terms.get("superseded", 0),
    )
    return FileAccount("done", produced, rejected, superseded, indexed=indexed, dead_lettered=dead_lettered)


@pytest.mark.parametrize(
    ("indexed", "dead_lettered", "shortfall", "surplus", "balances"),
    [
        (10, 0, 0, 0, True),
        (7, 3, 0, 0, True),  # three outstanding letters
        (9, 0, 1, 0, False),  # one on its way, or lost
        (12, 0, 0, 2, False),  # a previous version's ids whose tombstones are not applied yet
        (10, 1, 0, 0, True),  # a letter of an id an earlier version indexed: counted on both sides
    ],
)
def test_a_file_balances_when_nothing_is_short_and_the_index_holds_no_more_than_it_makes(
    indexed: int, dead_lettered: int, shortfall: int, surplus: int, balances: bool
) -> None:
    account = _done(indexed, dead_lettered)
    assert (account.shortfall, account.surplus, account.balances) == (shortfall, surplus, balances)


def test_records_sharing_an_id_make_one_document_and_rejected_ones_none() -> None:
    account = _done(116, produced=6508, superseded=6392, rejected=3)
    assert (account.read, account.documents_expected, account.balances) == (6511, 116, True)


@pytest.mark.parametrize("state", ["waiting", "reading", "unknown"])
def test_a_file_the_producer_has_not_settled_never_balances(state: str) -> None:
    account = FileAccount(state, 10, indexed=10, dead_lettered=0)
    assert not account.balances and account.unknown is None  # its figures are still to come


def test_a_figure_that_cannot_be_had_is_unknown_with_why_and_never_balances() -> None:
    account = FileAccount("done", 10, indexed=None, dead_lettered=None, unknown_because="OpenSearch is down")
    assert (account.shortfall, account.surplus, account.balances) == (None, None, False)
    assert account.unknown == "indexed, dead-lettered unknown, because OpenSearch is down"
    assert FileAccount("failed", None).unknown == (
        "produced, indexed, dead-lettered unknown, because it could not be measured"
    )


def test_expired_records_cover_the_shortfall_of_the_files_they_may_have_hit_up_to_their_number() -> None:
    hit = FileAccount("done", 10, indexed=6, dead_lettered=0, hit_by_expiry=True)
    clear = _done(10)
    assert dataset_balances([hit, clear], expired=4)
    assert not dataset_balances([hit, clear], expired=3)
    assert not dataset_balances([FileAccount("done", 10, indexed=6, dead_lettered=0), clear], expired=4)


def test_expired_records_never_cover_a_surplus_an_unknown_or_a_file_still_being_read() -> None:
    for account in (
        FileAccount("done", 10, indexed=11, dead_lettered=0, hit_by_expiry=True),
        FileAccount("done", 10, indexed=6, dead_lettered=None, hit_by_expiry=True),
        FileAccount("reading", None, hit_by_expiry=True),
    ):
        assert not dataset_balances([account], expired=100), account
    assert dataset_balances([], expired=0)  # nothing to account for: balances


def test_a_file_short_of_what_expired_records_explain_settles_on_its_own_with_that_figure() -> None:
    hit = FileAccount("done", 10, indexed=6, dead_lettered=1, hit_by_expiry=True)
    assert (hit.balances, hit.lost_to_expiry) == (False, 3)
    assert hit.settled_given(3) and hit.settled_given(150)  # the topic's expired records cover it
    assert not hit.settled_given(2)  # more is missing than expired: something else is short too
    assert (hit.expired_given(150), hit.expired_given(2)) == (3, 2)
    not_hit = FileAccount("done", 10, indexed=6, dead_lettered=1)
    assert (not_hit.lost_to_expiry, not_hit.settled_given(100)) == (0, False)
    assert _done(10).settled_given(0)  # a balanced file needs no expiry


def test_expiry_explains_no_surplus_no_unknown_and_no_file_still_being_read() -> None:
    for account in (
        FileAccount("done", 10, indexed=11, dead_lettered=0, hit_by_expiry=True),
        FileAccount("done", 10, indexed=6, dead_lettered=None, hit_by_expiry=True),
        FileAccount("reading", None, hit_by_expiry=True),
        FileAccount("waiting", 10, indexed=0, dead_lettered=0, hit_by_expiry=True),
    ):
        assert (account.lost_to_expiry, account.settled_given(100)) == (0, False), account
