"""A user of the secured test node that one test owns: made, changed and removed through the security
plugin's REST API as the admin, so a test can take a right away mid-load without touching the user every
other test (in parallel) connects as.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.conftest import Endpoints

__all__ = ["CLUSTER_RIGHTS", "ScopedUser", "scoped_user"]

_API = "/_plugins/_security/api"
#: What the stack's own least-privilege role grants on the cluster (spoolbridge/stack/opensearch_security.py).
CLUSTER_RIGHTS = ["cluster_monitor", "cluster_composite_ops"]


@dataclass
class ScopedUser:
    """An internal user with a role of its own (same name) on ``index_patterns``."""

    endpoints: Endpoints
    name: str
    password: str
    index_patterns: list[str]

    @property
    def url(self) -> str:
        """The node's URL with this user's credentials (as Aiven hands a service user out)."""
        host = urlsplit(self.endpoints.opensearch_url).netloc.rpartition("@")[2]
        return f"https://{self.name}:{self.password}@{host}"

    def grant(self, actions: list[str], cluster: list[str] | None = None) -> None:
        """The role now allows exactly ``actions`` on the user's index patterns (effective at once)."""
        role = {
            "cluster_permissions": CLUSTER_RIGHTS if cluster is None else cluster,
            "index_permissions": [{"index_patterns": self.index_patterns, "allowed_actions": actions}],
        }
        self._put(f"{_API}/roles/{self.name}", role)

    def set_password(self, password: str) -> None:
        self._put(f"{_API}/internalusers/{self.name}", {"password": password})

    def _put(self, path: str, body: object) -> None:
        status, answer = self.endpoints.opensearch_request("PUT", path, json.dumps(body).encode(), admin=True)
        assert status in (200, 201), f"PUT {path}: {status} {answer[:300]!r}"

    def remove(self) -> None:
        for kind in ("rolesmapping", "roles", "internalusers"):
            self.endpoints.opensearch_request("DELETE", f"{_API}/{kind}/{self.name}", admin=True)


@contextlib.contextmanager
def scoped_user(
    endpoints: Endpoints, name: str, index_patterns: list[str], actions: list[str]
) -> Iterator[ScopedUser]:
    """A user allowed ``actions`` on ``index_patterns``, removed at the end. Fails the test (never skips it)
    when the node has no security plugin."""
    if endpoints.opensearch_admin_url is None:
        pytest.fail(
            "this test needs OpenSearch with the security plugin and its admin: restart the local stack "
            "(`spoolbridge stack down && spoolbridge stack up`; stack.opensearch_security is on by default), "
            "or set SPOOLBRIDGE_TEST_OPENSEARCH_ADMIN_URL"
        )
    user = ScopedUser(endpoints, name, secrets.token_urlsafe(18), index_patterns)
    try:
        user.grant(actions)
        user.set_password(user.password)
        user._put(f"{_API}/rolesmapping/{name}", {"users": [name]})
        yield user
    finally:
        user.remove()
