"""A settled file's result in one sentence a person who has never seen Kafka understands, marked success,
partly or failed (in words, not only colour), with the causes of what is not searchable, each counted and
with what to do.

Built from the file's ledger figures (:class:`~spoolbridge.web.progress.FileProgress`) and the causes of
its outstanding dead letters (:mod:`schemas.letter_reasons`); nothing here asks Kafka or OpenSearch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Cause", "Result", "result_of"]

Verdict = Literal["success", "partly", "failed", "removed"]
_LABELS = {"success": "Done", "partly": "Partly done", "failed": "Failed", "removed": "Removed"}


@dataclass(frozen=True, slots=True)
class Cause:
    """Records not searchable for one reason: how many, what happened, what to do."""

    count: int
    what: str
    to_do: str

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "what": self.what, "to_do": self.to_do}


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    sentence: str
    causes: list[Cause] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "label": _LABELS[self.verdict],
            "sentence": self.sentence,
            "causes": [c.as_dict() for c in self.causes],
        }


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def result_of(
    *,
    state: str,
    indexed: int,
    dead_lettered: int,
    rejected: int,
    expired: int,
    superseded: int,
    reason: str | None,
    what_to_do: str | None,
    letter_causes: list[tuple[str, str, int]],
    reject_causes: list[tuple[str, str, int]] | None = None,
    file_error: bool | None = None,
    removed: int | None = None,
) -> Result:
    """The result of a settled file (``letter_causes``, ``reject_causes``: what, to do, count of its
    outstanding letters and of its rejected records, by cause; ``file_error``: the file could not be read
    to its end, None when its report does not say, as before it was recorded, when a failed file is taken
    to be one; ``removed``: the file was removed from its dataset on request, deleting that many
    documents)."""
    if state == "removed":
        return Result(
            "removed",
            f"The file was removed from its dataset: {_n(removed or 0, 'document')} deleted; none of it is "
            "searchable. Drop the file again to index it again.",
        )
    rejects = [Cause(count, what, to_do) for what, to_do, count in reject_causes or []]
    if state == "failed" and (file_error or (file_error is None and not reject_causes)):
        to_do = f" {what_to_do}." if what_to_do else ""
        searchable = (
            f" {_n(indexed, 'record')} of it {'is' if indexed == 1 else 'are'} searchable." if indexed else ""
        )
        return Result(
            "failed",
            f"The file could not be read: {reason or 'see the error report'}.{to_do}{searchable}",
            rejects,
        )
    causes = [Cause(count, what, to_do) for what, to_do, count in letter_causes]
    if rejected and rejects:
        causes.extend(rejects)
    elif rejected:
        causes.append(
            Cause(
                rejected,
                "they are not records the producer can send (not an object, too deep, or too large for the "
                "topic): the rejected records list each with its reason",
                "fix them in the file and drop it again under the same name",
            )
        )
    if expired:
        causes.append(
            Cause(
                expired,
                "Kafka's retention removed them before they were indexed (the consumer was stopped longer "
                "than the topic keeps records)",
                "drop the file again under the same name",
            )
        )
    missing = dead_lettered + rejected + expired
    extra = (
        f" ({_n(superseded, 'record')} shared an id with a later one: the last one wins)"
        if superseded
        else ""
    )
    if not missing:
        return Result("success", f"All {_n(indexed, 'record')} are searchable{extra}.")
    if not indexed:
        return Result(
            "failed", f"None of the records is searchable: {_n(missing, 'record')} are not{extra}.", causes
        )
    return Result(
        "partly",
        f"{_n(indexed, 'record')} {'is' if indexed == 1 else 'are'} searchable; {_n(missing, 'record')} "
        f"{'is' if missing == 1 else 'are'} not{extra}.",
        causes,
    )
