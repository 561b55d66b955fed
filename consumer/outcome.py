"""What happened to a document: a pure classification of bulk responses (Vector's ``retry`` stage).

Every function here is pure: it looks at a status code, an error object or an exception and says what to do
next. The loop that sleeps, pauses partitions and publishes dead letters lives in :mod:`consumer.runner`.

Per item (:func:`classify_item`):

=====================================  =================================================
2xx                                    :class:`Done`
404 on ``delete``                      :class:`Done` (the document is already gone)
429, 5xx                               :class:`Retry` (only this item, with backoff)
403 ``cluster_block_exception``        :class:`Retry` (e.g. disk flood stage; lifts by itself)
any other status (4xx)                 :class:`DeadLetter` (error type, reason, status)
=====================================  =================================================

Per request (:func:`classify_request_failure`), when the whole ``_bulk`` call failed:

=====================================  =================================================
connection error, timeout              :class:`Retry` every item
HTTP 429, 5xx                          :class:`Retry` every item
HTTP 401, 403                          :class:`Retry` every item (credentials or permissions: an
                                       operator fixes them; dead-lettering everything would not help)
other HTTP 4xx, several items          :class:`Split` (halve the request to isolate the bad ones)
other HTTP 4xx, one item               :class:`DeadLetter`
=====================================  =================================================
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DeadLetter",
    "Done",
    "Outcome",
    "Retry",
    "Split",
    "backoff_delay_secs",
    "classify_item",
    "classify_request_failure",
]

_MAX_REASON_CHARS = 2000
# Item errors that look permanent by status but go away on their own.
_TRANSIENT_ERROR_TYPES = frozenset({"cluster_block_exception"})


@dataclass(frozen=True, slots=True)
class Done:
    """The document is in OpenSearch (or, for a delete, is not)."""


@dataclass(frozen=True, slots=True)
class Retry:
    """A transient failure: send the same document again after a backoff."""

    reason: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """OpenSearch will never accept this document as it is: publish it to the dead-letter topic."""

    reason: str
    status: int | None
    error_type: str


@dataclass(frozen=True, slots=True)
class Split:
    """The whole request was rejected: send its halves separately so only the culprits end up dead."""

    reason: str
    status: int


Outcome = Done | Retry | DeadLetter | Split

DONE = Done()


def is_retryable_status(status: int) -> bool:
    """429 (too many requests) and every 5xx are worth repeating; nothing else is."""
    return status == 429 or status >= 500


def classify_item(action: str, status: int, error: Any = None) -> Done | Retry | DeadLetter:
    """Classify one item of a ``_bulk`` response.

    ``action`` is the item's action (``index``/``delete``), ``status`` its HTTP status and ``error`` its
    ``error`` object (a dict with ``type`` and ``reason``, a string, or None).
    """
    if 200 <= status < 300 or (status == 404 and action == "delete"):
        return DONE
    error_type, reason = _describe(error, status)
    if is_retryable_status(status) or error_type in _TRANSIENT_ERROR_TYPES:
        return Retry(f"{error_type}: {reason}", status)
    return DeadLetter(reason, status, error_type)


def classify_request_failure(
    *, status: int | None, error_type: str, reason: str, items: int
) -> Retry | DeadLetter | Split:
    """Classify a ``_bulk`` call that failed as a whole.

    ``status`` is None for connection errors and timeouts (always retried); ``items`` is how many documents
    the request carried.
    """
    reason = _clip(reason)
    if status is None or is_retryable_status(status) or status in (401, 403):
        return Retry(f"{error_type}: {reason}", status)
    if items > 1:
        return Split(f"{error_type}: {reason}", status)
    return DeadLetter(reason, status, error_type)


def backoff_delay_secs(
    attempt: int, *, initial_ms: int, max_ms: int, rng: random.Random | None = None
) -> float:
    """Exponential backoff with "equal jitter": between half and all of ``initial * 2**attempt``, capped.

    ``attempt`` counts from 0 (the delay before the first retry). The jitter keeps many consumers that hit
    the same overloaded node from retrying in lock-step; the lower half-bound keeps the delay growing.
    """
    ceiling = min(float(max_ms), initial_ms * 2.0 ** min(attempt, 60)) / 1000.0
    draw = (rng or random).random()
    return ceiling / 2.0 + draw * ceiling / 2.0


def _describe(error: Any, status: int) -> tuple[str, str]:
    """(error type, reason) from a bulk item error, which may carry a ``caused_by`` with the real story."""
    if isinstance(error, dict):
        error_type = str(error.get("type") or f"http_{status}")
        reason = str(error.get("reason") or "")
        caused_by = error.get("caused_by")
        if isinstance(caused_by, dict) and caused_by.get("reason"):
            reason = f"{reason} (caused by {caused_by.get('type')}: {caused_by.get('reason')})"
        return error_type, _clip(reason or error_type)
    if error:
        return f"http_{status}", _clip(str(error))
    return f"http_{status}", f"status {status} without an error object"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 1] + "…"
