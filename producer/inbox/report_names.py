"""The names of a file's reports, and the input names that would pass for one (refused, never read).

A settled file ``x.json`` gets ``x.json.manifest.json`` (done) or ``x.json.error.json`` and
``x.json.rejected.jsonl`` (failed) beside it. Those names end in extensions spoolbridge reads, so a file
named ``x.json.manifest.json`` dropped or uploaded after ``x.json`` would land on x.json's report and forge
its counts, reason and "what to do". Such names are therefore refused as input, by the page (a 4xx) and
by the producer (to ``failed/``). A refused file is kept under its :func:`stored_name` (``.refused``
appended), which no report and no input name can be, so it never replaces another file's report; its own
report sits beside it like any other (``x.json.manifest.json.refused.error.json``).
"""

from __future__ import annotations

__all__ = [
    "REPORT_SUFFIXES",
    "name_without_report_suffix",
    "report_name_problem",
    "report_suffix",
    "stored_name",
]

#: Every suffix the ledger gives a report (producer.inbox.ledger); lower case, compared case-insensitively
#: (a case-insensitive file system would put ``X.JSON.ERROR.JSON`` on ``x.json.error.json``).
REPORT_SUFFIXES = (".manifest.json", ".error.json", ".rejected.jsonl")
_REFUSED_SUFFIX = ".refused"


def report_suffix(name: str) -> str | None:
    """The report suffix ``name`` ends with (as the name spells it), or ``None``."""
    lowered = name.lower()
    for suffix in REPORT_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[-len(suffix) :]
    return None


def name_without_report_suffix(name: str) -> str:
    """A name for the same file that is not a report's: the suffix's first dot becomes a dash, so the
    extension (and the shape it means) stays: ``x.json.manifest.json`` → ``x.json-manifest.json``."""
    suffix = report_suffix(name)
    if suffix is None:
        return name
    return f"{name[: -len(suffix)]}-{suffix[1:]}"


def report_name_problem(name: str) -> str | None:
    """Why a file called ``name`` cannot be input (it would pass for a report), with the name to use
    instead; ``None`` for any other name."""
    suffix = report_suffix(name)
    if suffix is None:
        return None
    return (
        f"its name ends in {suffix!r}, the ending of the reports spoolbridge writes beside each file, so "
        f"it could replace another file's report; rename it to {name_without_report_suffix(name)!r}"
    )


def stored_name(name: str) -> str:
    """The name a file gets in ``done/`` or ``failed/``: its own, or for a report-like name its own with
    ``.refused`` appended (never a report's name, never an input name)."""
    return f"{name}{_REFUSED_SUFFIX}" if report_suffix(name) is not None else name
