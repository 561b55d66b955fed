"""The session-end check that every index the tests made is green (no replica left unassigned).

Every name ``unique_name`` makes ends in 8 hex digits of its own; an index whose name holds one of them was
made by this session (other sessions on a shared stack hold other tokens). Yellow means a replica that a
single node can never place: an index created with the wrong number of replicas.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any


def indices_of_session(health: Mapping[str, str], tokens: Iterable[str]) -> dict[str, str]:
    """``{index: health}`` for the indices whose name holds one of ``tokens`` (index → health in)."""
    wanted = tuple(tokens)
    return {index: state for index, state in health.items() if any(token in index for token in wanted)}


def not_green(health: Mapping[str, str]) -> list[str]:
    """``"index (health)"`` for each index that is not green, sorted."""
    return sorted(f"{index} ({state})" for index, state in health.items() if state != "green")


def index_health(client: Any) -> dict[str, str]:
    """``{index: health}`` of every index on the node (``_cat/indices``; ``client`` an opensearch-py client
    that may read every index)."""
    rows = client.cat.indices(format="json", h="index,health", expand_wildcards="all")
    return {str(row["index"]): str(row["health"]) for row in rows}


def session_indices_not_green(client: Any, tokens: Iterable[str], *, settle_secs: float = 10.0) -> list[str]:
    """The indices of this session that are not green, after up to ``settle_secs`` for one just created
    (its primary starting) to settle; [] when all are green."""
    wanted = tuple(tokens)
    deadline = time.monotonic() + settle_secs
    while True:
        bad = not_green(indices_of_session(index_health(client), wanted))
        if not bad or time.monotonic() > deadline:
            return bad
        time.sleep(0.5)


__all__ = ["index_health", "indices_of_session", "not_green", "session_indices_not_green"]
