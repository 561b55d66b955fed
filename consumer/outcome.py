"""What happened to a document: a pure classification of bulk responses (Vector's ``retry`` stage).

Every function here is pure: it looks at a status code, an error object or an exception and says what to do
next. The bookkeeping of retries (how often, how long, what to log) lives in :mod:`consumer.retries`; the
loop that sleeps, pauses partitions and publishes dead letters in :mod:`consumer.runner`.

The rule: **retry what is transient, dead-letter only what is permanent** — what OpenSearch will never
accept as the document is. A condition of the index or the cluster is never the document's fault, so it is
never dead-lettered, whatever its HTTP status.

Per item (:func:`classify_item`), first match wins:

=============================================  ===================================================
2xx                                            :class:`Done`
404 on ``delete``                              :class:`Done` (the document is already gone)
an index condition (:data:`INDEX_CONDITIONS`,  :class:`Retry` ``kind="index"``: without limit (not even
any status; e.g. ``index_closed_exception``    ``consumer.max_retries``), logged with what to do
400, ``cluster_block_exception`` 403/429,
``index_not_found_exception`` 404,
``shard_not_found_exception`` 404,
``unavailable_shards_exception`` 503,
"no write index is defined for alias" 400)
401, 403 (credentials, permissions: the        :class:`Retry` ``kind="access"``: without limit, logged
security plugin's ``security_exception``)      naming the permission (:func:`access_advice`)
429, 5xx                                       :class:`Retry` ``kind="transient"`` (only this item, with
                                               backoff; ``consumer.max_retries`` bounds it)
a dynamic-mapping race (400                    :class:`Retry` ``kind="mapping"``: at most
``illegal_argument_exception`` or              :data:`MAPPING_RACE_RETRIES` times, then
``mapper_parsing_exception``, reason "mapper   :class:`DeadLetter`
[x] cannot be changed from type [a] to [b]"
or "can't merge a non object mapping [x] with
an object mapping")
any other status (4xx)                         :class:`DeadLetter` (error type, reason, status)
=============================================  ===================================================

Why the mapping race is retried: those two reasons come only from *merging a new dynamic mapping*, i.e.
the field was not mapped yet when the document was parsed (two documents, or two values in one document,
proposed different types at once). Once the field is mapped, the same document is either accepted (a
long into a float field, a number into a text field) or refused for good with a different reason (e.g.
``mapper_parsing_exception: failed to parse field [x] of type [long]``), which is dead-lettered at once.

Per request (:func:`classify_request_failure`), when the whole ``_bulk`` call failed:

=============================================  ===================================================
connection error, timeout                      :class:`Retry` every item
an index condition (as above)                  :class:`Retry` every item (``kind="index"``)
HTTP 429, 5xx                                  :class:`Retry` every item
HTTP 401, 403                                  :class:`Retry` every item, ``kind="access"`` (credentials or
                                               permissions: an operator fixes them; dead-lettering
                                               everything would not help)
other HTTP 4xx, several items                  :class:`Split` (halve the request to isolate the bad ones)
other HTTP 4xx, one item                       :class:`DeadLetter`
=============================================  ===================================================

Why an access refusal is never the document's fault: OpenSearch checks a user's rights before it reads
the document, so the same document is accepted once the user (``opensearch.url``) or its role is fixed; the
consumer holds the partitions' documents back (backing off up to ``consumer.retry_max_backoff_ms``) until
then, and ``consumer.max_retries`` does not bound it.

Reasons are folded to one line (OpenSearch's may span several) and clipped to 2,000 characters.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "INDEX_CONDITIONS",
    "MAPPING_RACE_RETRIES",
    "DeadLetter",
    "Done",
    "Outcome",
    "Retry",
    "RetryKind",
    "Split",
    "access_advice",
    "backoff_delay_secs",
    "classify_item",
    "classify_request_failure",
    "fold",
    "index_advice",
]

#: How often a document refused by a dynamic-mapping race is sent again before it is dead-lettered.
MAPPING_RACE_RETRIES = 3

_MAX_REASON_CHARS = 2000

#: Error types that describe the index or the cluster, not the document: what an operator does about each.
#: ``{index}`` is the target index. Statuses vary (400 closed, 403/429 blocks, 404 missing index or shard,
#: 503 shards unavailable), so the type decides, not the status.
INDEX_CONDITIONS: dict[str, str] = {
    "index_closed_exception": "index {index} is closed: open it with POST /{index}/_open",
    "cluster_block_exception": (
        "index {index} is blocked ({reason}): after a disk flood stage free disk space and clear the block "
        'with PUT /{index}/_settings {{"index.blocks.read_only_allow_delete": null}}; a write block is '
        'lifted with {{"index.blocks.write": false}}'
    ),
    "index_not_found_exception": (
        "index {index} does not exist: creating it again with its settings and mappings"
    ),
    "shard_not_found_exception": "a shard of index {index} is not on its node (relocating or recovering)",
    "illegal_index_shard_state_exception": "a shard of index {index} is not ready ({reason})",
    "index_shard_closed_exception": "a shard of index {index} is closed (the index is being closed?)",
    "index_shard_not_started_exception": "a shard of index {index} is still starting",
    "index_shard_relocated_exception": "a shard of index {index} is relocating",
    "index_shard_recovering_exception": "a shard of index {index} is recovering",
    "primary_shard_closed_exception": "the primary shard of index {index} is closed",
    "unavailable_shards_exception": (
        "shards of index {index} are not available: check GET /_cluster/health/{index} and "
        "GET /_cluster/allocation/explain"
    ),
    "no_shard_available_action_exception": (
        "no shard of index {index} is available: check GET /_cluster/health/{index}"
    ),
    "es_rejected_execution_exception": "OpenSearch is overloaded (its write queue is full)",
    "circuit_breaking_exception": "OpenSearch is short of memory (a circuit breaker tripped)",
    "process_cluster_event_timeout_exception": (
        "the cluster manager is busy (a mapping or index update timed out)"
    ),
    "cluster_manager_not_discovered_exception": "the cluster has no cluster manager node",
    "master_not_discovered_exception": "the cluster has no cluster manager node",
    "not_master_exception": "the cluster manager node changed",
    "node_closed_exception": "an OpenSearch node is shutting down",
}
_NO_WRITE_INDEX = "no write index is defined for alias"
_NO_WRITE_INDEX_ADVICE = (
    'alias {index} has no write index: mark one of its indices with "is_write_index": true (POST /_aliases)'
)
_MAPPING_RACE = re.compile(r"cannot be changed from type \[|can't merge a non object mapping \[")
_MAPPING_RACE_TYPES = frozenset({"illegal_argument_exception", "mapper_parsing_exception"})
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_ACCESS_STATUSES = frozenset({401, 403})
#: The security plugin's refusal names the action it checked: "no permissions for [indices:...] and User".
_NO_PERMISSION = re.compile(r"no permissions for \[(.+?)\] and User")

RetryKind = Literal["transient", "index", "mapping", "access"]


@dataclass(frozen=True, slots=True)
class Done:
    """The document is in OpenSearch (or, for a delete, is not)."""


@dataclass(frozen=True, slots=True)
class Retry:
    """A failure worth repeating: send the same document again after a backoff.

    ``kind``: ``"index"`` — a condition of the index or cluster (retried without limit, never
    dead-lettered); ``"access"`` — a 401/403: the credentials or the user's permissions (likewise);
    ``"mapping"`` — a dynamic-mapping race (at most :data:`MAPPING_RACE_RETRIES` times);
    ``"transient"`` — 429/5xx/connection trouble (``consumer.max_retries`` times, unlimited by default).
    ``error_type`` is OpenSearch's (or the client's) name for the failure, ``reason`` its one-line text.
    """

    reason: str
    status: int | None = None
    kind: RetryKind = "transient"
    error_type: str = ""


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


def is_index_condition(error_type: str, reason: str) -> bool:
    """True when the failure describes the index or the cluster rather than the document."""
    return error_type in INDEX_CONDITIONS or (
        error_type == "illegal_argument_exception" and reason.startswith(_NO_WRITE_INDEX)
    )


def is_mapping_race(error_type: str, reason: str) -> bool:
    """True for the refusals a concurrent dynamic-mapping update produces (see the module docstring)."""
    return error_type in _MAPPING_RACE_TYPES and _MAPPING_RACE.search(reason) is not None


def classify_item(action: str, status: int, error: Any = None) -> Done | Retry | DeadLetter:
    """Classify one item of a ``_bulk`` response.

    ``action`` is the item's action (``index``/``delete``), ``status`` its HTTP status and ``error`` its
    ``error`` object (a dict with ``type`` and ``reason``, a string, or None).
    """
    if 200 <= status < 300 or (status == 404 and action == "delete"):
        return DONE
    error_type, reason = _describe(error, status)
    if is_index_condition(error_type, reason):
        return Retry(f"{error_type}: {reason}", status, "index", error_type)
    if status in _ACCESS_STATUSES:
        return Retry(f"{error_type}: {reason}", status, "access", error_type)
    if is_retryable_status(status):
        return Retry(f"{error_type}: {reason}", status, "transient", error_type)
    if is_mapping_race(error_type, reason):
        return Retry(f"{error_type}: {reason}", status, "mapping", error_type)
    return DeadLetter(reason, status, error_type)


def classify_request_failure(
    *, status: int | None, error_type: str, reason: str, items: int
) -> Retry | DeadLetter | Split:
    """Classify a ``_bulk`` call that failed as a whole.

    ``status`` is None for connection errors and timeouts (always retried); ``items`` is how many documents
    the request carried.
    """
    reason = _clip(fold(reason))
    if is_index_condition(error_type, reason):
        return Retry(f"{error_type}: {reason}", status, "index", error_type)
    if status in _ACCESS_STATUSES:
        return Retry(f"{error_type}: {reason}", status, "access", error_type)
    if status is None or is_retryable_status(status):
        return Retry(f"{error_type}: {reason}", status, "transient", error_type)
    if items > 1:
        return Split(f"{error_type}: {reason}", status)
    return DeadLetter(reason, status, error_type)


def index_advice(verdict: Retry, index: str) -> str:
    """One line for an operator: what is wrong with ``index`` and what to do (for ``kind="index"``)."""
    reason = verdict.reason.removeprefix(f"{verdict.error_type}: ").rstrip("; ")
    template = INDEX_CONDITIONS.get(verdict.error_type)
    if template is None:
        template = _NO_WRITE_INDEX_ADVICE if reason.startswith(_NO_WRITE_INDEX) else "{reason}"
    return template.format(index=index, reason=reason)


def access_advice(verdict: Retry, index: str) -> str:
    """One line for an operator about a 401/403 (``kind="access"``): which setting or permission to fix."""
    if verdict.status == 401:
        return (
            "OpenSearch refuses the credentials (401 Unauthorized): fix the user name or password in "
            "opensearch.url; the consumer holds the documents back until they are accepted"
        )
    found = _NO_PERMISSION.search(verdict.reason)
    permission = found.group(1) if found else "the permission to write"
    return (
        f"the OpenSearch user lacks {permission} on index {index} (403 Forbidden): grant it to the user's "
        "role (Aiven: the service user's index access); the consumer holds the documents back until then"
    )


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


def fold(text: str) -> str:
    """``text`` on one line: each line break, with the blanks around it, becomes one space."""
    return _LINE_BREAKS.sub(" ", text).strip() if ("\n" in text or "\r" in text) else text


def _describe(error: Any, status: int) -> tuple[str, str]:
    """(error type, reason) from a bulk item error, which may carry a ``caused_by`` with the real story."""
    if isinstance(error, dict):
        error_type = str(error.get("type") or f"http_{status}")
        reason = str(error.get("reason") or "")
        caused_by = error.get("caused_by")
        if isinstance(caused_by, dict) and caused_by.get("reason"):
            reason = f"{reason} (caused by {caused_by.get('type')}: {caused_by.get('reason')})"
        return error_type, _clip(fold(reason or error_type))
    if error:
        return f"http_{status}", _clip(fold(str(error)))
    return f"http_{status}", f"status {status} without an error object"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 1] + "…"
