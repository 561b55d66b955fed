"""Which permissions the configured OpenSearch user lacks on a dataset's index, one per line.

The security plugin has no "has privileges" API (its users learn of a missing right from the refusal), so
each right spoolbridge uses on an index is tried with a harmless call of the kind that needs it: a bulk
``index`` and a bulk ``delete`` of the check document (the consumer's requests), a count and a search
(``status``, the page's progress and search), and reading the mapping (the page's fields). Each refusal
names the actions it checked (``no permissions for [a, b] and User [...]``); every one named is reported
once, with what it is needed for. A node without the plugin refuses nothing, so nothing is missing there.

A right the node checks only once an earlier one passed is named once that one is granted: a refused
bulk ``index`` names ``indices:data/write/bulk[s]`` and ``indices:data/write/index``; granted those, the
check document's new field then needs ``indices:admin/mapping/put`` (a dynamic mapping update), as the
consumer's documents do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CHECK_ID", "MissingPermission", "missing_permissions", "refused_actions"]

#: The id of the document the checks index and delete (a tombstone of it is harmless to the consumer).
CHECK_ID = "__spoolbridge_check__"

_NO_PERMISSION = re.compile(r"no permissions for \[(.+?)\] and User")


@dataclass(frozen=True)
class MissingPermission:
    """``action`` (e.g. ``indices:data/write/delete``) is refused on ``index``; ``needed_for`` says why
    spoolbridge asks for it."""

    action: str
    index: str
    needed_for: str

    def line(self) -> str:
        return f"the user lacks {self.action} on index {self.index}, needed to {self.needed_for}"


def refused_actions(reason: str) -> list[str]:
    """The actions a security plugin refusal names: ``[indices:data/write/bulk[s], indices:data/write/index]``
    → both (an action name may itself hold brackets, ``bulk[s]``; they are split at ``", "`` only)."""
    found = _NO_PERMISSION.search(reason)
    return [action.strip() for action in found.group(1).split(", ")] if found else []


def _bulk(client: Any, index: str, action: dict[str, Any], source: dict[str, Any] | None) -> str | None:
    lines: list[dict[str, Any]] = [action] if source is None else [action, source]
    answer = client.bulk(body=lines, index=index)
    for item in answer.get("items", []):
        (result,) = item.values()
        error = result.get("error")
        if result.get("status") in (401, 403) and isinstance(error, dict):
            return str(error.get("reason", ""))
    return None


def _write(client: Any, index: str) -> str | None:
    return _bulk(client, index, {"index": {"_id": CHECK_ID}}, {"check": True})


def _delete(client: Any, index: str) -> str | None:
    return _bulk(client, index, {"delete": {"_id": CHECK_ID}}, None)


def _count(client: Any, index: str) -> str | None:
    client.count(index=index)
    return None


def _search(client: Any, index: str) -> str | None:
    client.search(index=index, body={"size": 1, "query": {"match_all": {}}})
    return None


def _mapping(client: Any, index: str) -> str | None:
    client.indices.get_mapping(index=index)
    return None


#: (what the right is needed for, the harmless call that needs it), in the order a run needs them.
_TRIES: tuple[tuple[str, Callable[[Any, str], str | None]], ...] = (
    ("index documents (the consumer's bulk requests)", _write),
    ("delete documents (records a new version of a file no longer has)", _delete),
    ("count documents (status, the upload page's progress)", _count),
    ("search documents (status, the upload page's search)", _search),
    ("read the index mapping (the upload page's fields)", _mapping),
)


def missing_permissions(client: Any, index: str) -> list[MissingPermission]:
    """Every action refused to ``client``'s user on ``index`` (which exists), each once, first need first.

    Raises opensearch-py's ``TransportError`` for a failure that is not a 401/403 refusal.
    """
    from opensearchpy.exceptions import AuthenticationException, AuthorizationException

    missing: dict[str, MissingPermission] = {}
    for needed_for, attempt in _TRIES:
        try:
            reason = attempt(client, index)
        except (AuthorizationException, AuthenticationException) as exc:
            reason = _reason(exc)
        for action in refused_actions(reason or ""):
            missing.setdefault(action, MissingPermission(action, index, needed_for))
    return list(missing.values())


def _reason(exc: Any) -> str:
    info = exc.info
    error = info.get("error") if isinstance(info, dict) else None
    if isinstance(error, dict):
        return str(error.get("reason", ""))
    return str(error or info or "")
