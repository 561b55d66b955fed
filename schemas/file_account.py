"""One file version's account: the ledger's arithmetic, the same for ``status``, its JSON and the page.

The terms (``docs/DESIGN.md``, "The ledger") come from where they are measured: read, produced, rejected
and superseded from the producer's report of the file; indexed from the dataset's index (documents whose
source field is the file); dead-lettered from the dataset's dead-letter topic (outstanding letters);
expired from the consumer's record of what Kafka's retention removed (a dataset's figure: records
belong to partitions, :mod:`schemas.offset_ranges` says which files they came from). This module only
adds them up::

    documents expected = produced - superseded            (superseded: the same id later in the file)
    accounted          = indexed + dead-lettered (outstanding)
    shortfall          = documents expected - accounted   (when positive: on its way, or lost)
    surplus            = indexed - documents expected     (when positive: documents nothing deleted yet)

A file **balances** when the producer settled it (``done``, ``failed``, or ``removed``: produced 0),
nothing is short and the index holds no more documents of it than it makes. That is exact about the
index (the index must hold the file's latest version, no more: a previous version's ids whose tombstones
are still on their way keep the file unbalanced until they are applied). It cannot be exact about
letters: an outstanding letter of an id that an earlier version indexed is counted on both sides (the
stale document is searchable under the same source), so the letters may cover more than the shortfall.

A term that cannot be had (OpenSearch or Kafka unreachable, no report) is ``None``, and the account
says why in :attr:`FileAccount.unknown` instead of guessing; such a file never balances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["SETTLED_STATES", "FileAccount", "dataset_balances"]

#: The producer's states of a file it is done with (its report is in ``done/`` or ``failed/``; removed:
#: every document deleted on request, so none is expected, its history says so).
SETTLED_STATES = frozenset({"done", "failed", "removed"})


@dataclass(frozen=True, slots=True)
class FileAccount:
    """The ledger of one file version (see the module docstring). ``None``: the figure is unknown, and
    ``unknown_because`` says why when the caller knows."""

    state: str  # waiting | reading | done | failed | removing | removed | unknown
    produced: int | None
    rejected: int = 0
    superseded: int = 0
    indexed: int | None = None
    dead_lettered: int | None = None
    unknown_because: str | None = None
    # some of its records may be among those Kafka's retention removed (its offsets overlap an expired
    # range, or records expired and its offsets are unknown): its shortfall may be theirs
    hit_by_expiry: bool = False

    @property
    def read(self) -> int | None:
        return None if self.produced is None else self.produced + self.rejected

    @property
    def documents_expected(self) -> int | None:
        """The documents the file's records make: produced, less those a later record of the same file
        overwrote (the same id: the last one wins)."""
        return None if self.produced is None else self.produced - self.superseded

    @property
    def accounted(self) -> int | None:
        if self.indexed is None or self.dead_lettered is None:
            return None
        return self.indexed + self.dead_lettered

    @property
    def shortfall(self) -> int | None:
        """Documents neither searchable nor owed as a letter (0 when none; ``None``: unknown)."""
        expected, accounted = self.documents_expected, self.accounted
        if expected is None or accounted is None:
            return None
        return max(expected - accounted, 0)

    @property
    def surplus(self) -> int | None:
        """Documents of this source in the index beyond what this version makes (0 when none)."""
        expected = self.documents_expected
        if expected is None or self.indexed is None:
            return None
        return max(self.indexed - expected, 0)

    @property
    def settled_by_producer(self) -> bool:
        return self.state in SETTLED_STATES

    @property
    def balances(self) -> bool:
        """The producer settled the file and its documents are all accounted for, none too many."""
        return self.settled_by_producer and self.shortfall == 0 and self.surplus == 0

    @property
    def lost_to_expiry(self) -> int:
        """The documents this file is short of that records expired from Kafka may explain: the whole
        shortfall of a settled file the expiry may have hit, every term known and no surplus; else 0."""
        if not (self.hit_by_expiry and self.settled_by_producer) or self.surplus != 0:
            return 0
        return self.shortfall or 0

    def expired_given(self, may_have_expired: int) -> int:
        """Documents this file lacks because their records expired, as far as can be said: its shortfall
        the expiry may explain, up to ``may_have_expired`` (how many expired records may be its own)."""
        return min(self.lost_to_expiry, max(may_have_expired, 0))

    def settled_given(self, may_have_expired: int) -> bool:
        """One file on its own (the page's card, ``status --json``'s ``settled``): it balances, or its
        shortfall is expiry's and no more than ``may_have_expired`` (how many of the records that expired
        from its dataset's topic may be its own)."""
        return self.balances or 0 < self.lost_to_expiry <= may_have_expired

    @property
    def unknown(self) -> str | None:
        """Why the account cannot be closed (a figure that cannot be had), or None when every term is
        known or the file is not settled by the producer yet (its figures are still to come)."""
        if not self.settled_by_producer:
            return None
        missing = [
            name
            for name, value in (
                ("produced", self.produced), ("indexed", self.indexed), ("dead-lettered", self.dead_lettered)
            )
            if value is None
        ]  # fmt: skip
        if not missing:
            return None
        because = self.unknown_because or "it could not be measured"
        return f"{', '.join(missing)} unknown, because {because}"


def dataset_balances(accounts: Iterable[FileAccount], expired: int) -> bool:
    """Every file balances, except for records that expired from Kafka (accounted for as lost, and said
    so): settled files short of documents that the expiry may have hit (:attr:`FileAccount.lost_to_expiry`)
    are covered by the expired records, up to their number."""
    missing = 0
    for account in accounts:
        if account.balances:
            continue
        lost = account.lost_to_expiry
        if not lost:
            return False  # still to come, unknown, documents nothing deleted, or short for another reason
        missing += lost
    return missing <= expired
