"""The reports a file leaves behind when it fails, and the English they are written in.

``<name>.error.json`` (:class:`~producer.inbox.ledger.FileFailure`) says what happened, where, and what to do;
every combination of counts reads as English ("1 record was", "3 records were").
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from producer.inbox.ledger import FileFailure, RejectedWriter
from producer.read.entry import position_unit
from producer.read.records import CUT_FILE_HINT
from schemas.datasets import DatasetNameError
from schemas.errors import InputFileError

__all__ = [
    "count_text",
    "failure_report",
    "refused_folder_report",
    "rejected_todo",
    "rejected_what",
    "unreadable_file_todo",
]


def failure_report(
    source: str, sha256: str, produced: int, error: InputFileError | None, rejected: RejectedWriter
) -> FileFailure:
    """The report of a file that could not be read to its end (``error``) or had rejected records."""
    if error is not None:
        what, where = error.reason, {"unit": error.unit, "position": error.position}
        todo = unreadable_file_todo(error.hint, produced, source)
    else:
        what = rejected_what(rejected.count, produced)
        where = {
            "unit": position_unit(Path(source)),
            "position": rejected.first_position,
            "first_of": rejected.count,
        }
        todo = rejected_todo(Path(source).name, rejected.count)
    return FileFailure(
        source=source,
        what=what,
        what_to_do=todo,
        where=where,
        records_produced=produced,
        records_rejected=rejected.count,
        sha256=sha256,
        rejected_causes=rejected.cause_counts(),
        file_error=error is not None,
    )


def refused_folder_report(source: str, error: DatasetNameError) -> FileFailure:
    """A file in a folder that cannot name a dataset: the reason and a name that works. The folder is
    never renamed for the user (that would change every document id in it)."""
    return FileFailure(
        source=source,
        what=f"{error}; no record was produced",
        what_to_do=(
            f"rename the folder {error.folder!r} to a valid dataset name such as {error.suggestion!r}, "
            "then drop the file there again"
        ),
        details={"folder": error.folder, "problem": error.problem, "suggested_name": error.suggestion},
    )


def unreadable_file_todo(hint: str, produced: int, source: str | None = None) -> str:
    """``what_to_do`` of a file that could not be read to its end: the reader's hint, ending in dropping
    the file again (unless the hint already says what to drop), then what happened to its first records.
    A cut file's hint (:data:`~producer.read.records.CUT_FILE_HINT`) names the two ways to remove the cut
    one: ``spoolbridge forget <source>`` and the page's "Remove from dataset"."""
    fix = hint or "fix the file"
    if fix == CUT_FILE_HINT and source:
        page = '"Remove from dataset" on its card on the page'
        fix = f"{fix}: spoolbridge forget {shlex.quote(source)}, or {page}"
    says_drop = fix.startswith("drop ") or re.search(r"\bdrop\b[^;]*\bagain\b", fix) is not None
    todo = fix if says_drop else f"{fix}, then drop the file again"
    if produced == 0:
        return f"{todo} (no records were produced before the error)"
    them, were = ("it", "was") if produced == 1 else ("them", "were")
    return (
        f"{todo} (the {count_text(produced)} before the error {were} produced; producing {them} again "
        f"overwrites {them}, never duplicates {them})"
    )


def rejected_what(rejected: int, produced: int) -> str:
    """``what`` of a file whose every record was read but some could not be produced."""
    could_not = f"{count_text(rejected)} could not be produced"
    if produced == 0:
        return f"{could_not}, and no other records were in the file"
    return f"{could_not}; {count_text(produced)} {'was' if produced == 1 else 'were'}"


def rejected_todo(name: str, rejected: int) -> str:
    """``what_to_do`` of a file with rejected records (listed in ``<name>.rejected.jsonl``)."""
    each, it = ("the record", "it") if rejected == 1 else ("each record", "them")
    return (
        f"see {name}.rejected.jsonl for {each} and its reason; fix {it} and drop the file again "
        "(records already produced are overwritten, not duplicated)"
    )


def count_text(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"
