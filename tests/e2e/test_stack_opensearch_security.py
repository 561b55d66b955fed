"""The local OpenSearch with the security plugin, as Aiven serves it: HTTPS verified by the stack's CA,
basic auth, a least-privilege user; ``stack status`` names files, never a password. One node of its own."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import AuthenticationException, AuthorizationException, SSLError

from schemas.settings import StackSettings, load_settings
from spoolbridge.check import CheckStep, _opensearch_steps
from spoolbridge.stack.commands import _endpoints
from spoolbridge.stack.manager import LocalStack
from tests.integration.endpoint_helpers import free_port

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_secured_node_serves_https_with_basic_auth_and_a_least_privilege_user(tmp_path: Path) -> None:
    http_port = free_port()
    settings = StackSettings(
        dir=tmp_path / "stack",
        opensearch_port=http_port,
        opensearch_transport_port=free_port(),
        opensearch_security=True,
        opensearch_index_patterns=["orders*"],
        start_timeout_secs=240,  # a first secured start sets up the security index: slow on a busy machine
    )
    stack = LocalStack(settings)
    node = stack.opensearch
    node.start()
    try:
        assert node.url == f"https://127.0.0.1:{http_port}"
        for user in (node.admin, node.client_user):
            assert stat.S_IMODE(user.password_file.stat().st_mode) == 0o600
        listed = json.dumps(_endpoints(stack))
        assert node.admin.password() not in listed and node.client_user.password() not in listed
        assert json.loads(listed)["opensearch_password_file"] == str(node.client_user.password_file)

        # what `make run` gets with nothing configured: the least-privilege user, the stack's CA
        opensearch = stack.endpoint_settings(load_settings({"stack": settings.model_dump()})).opensearch
        assert opensearch.ca_file == node.ca_file
        assert opensearch.safe_url == f"https://spoolbridge:***@127.0.0.1:{http_port}"
        client = OpenSearch(**opensearch.client_kwargs())
        try:
            client.indices.create(index="orders-1")
            client.index(index="orders-1", id="1", body={"n": 1}, refresh=True)
            assert client.count(index="orders-1")["count"] == 1
            with pytest.raises(AuthorizationException, match=r"indices:admin/create"):
                client.indices.create(index="cars-1")  # outside its index patterns
            health = client.cluster.health(index="orders-1")["status"]
            assert health == "green"  # 0 replicas on the secured node too
        finally:
            client.close()

        _check_names_what_is_wrong(opensearch.url.get_secret_value() if opensearch.url else "", node.ca_file)

        plain: dict[str, Any] = {
            "hosts": [{"host": "127.0.0.1", "port": http_port}],
            "use_ssl": True,
            "timeout": 10,
        }
        wrong = OpenSearch(**plain, ca_certs=str(node.ca_file), http_auth=("spoolbridge", "wrong"))
        with pytest.raises(AuthenticationException):
            wrong.info()
        wrong.close()
        unverified = OpenSearch(**plain, http_auth=("admin", node.admin.password()))  # system CAs only
        with pytest.raises(SSLError):
            unverified.info()
        unverified.close()
    finally:
        node.stop()


def _check_names_what_is_wrong(url: str, ca_file: Path) -> None:
    """``spoolbridge check``'s OpenSearch steps against the secured node (no Kafka: its steps are apart)."""

    def steps(topic: str, **opensearch: object) -> list[CheckStep]:
        return _opensearch_steps(load_settings({"kafka": {"topic": topic}, "opensearch": opensearch}))

    passed = steps("orders-check", url=url, ca_file=ca_file)
    assert all(step.ok for step in passed), passed
    denied = steps("cars-check", url=url, ca_file=ca_file)[-1]
    assert (denied.name, denied.ok) == ("OpenSearch index cars-check", False)
    assert denied.detail == "403 Forbidden: the user lacks indices:admin/get on index cars-check"
    wrong = steps("orders-check", url=url.replace("spoolbridge:", "spoolbridge:x"), ca_file=ca_file)[-1]
    assert (wrong.name, wrong.detail) == ("OpenSearch credentials", "401 Unauthorized")
    assert "opensearch.url" in wrong.fix
    untrusted = steps("orders-check", url=url)[-1]
    assert (untrusted.name, untrusted.ok) == ("OpenSearch reachable", False)
    assert "opensearch.ca_file" in untrusted.fix
    unverified = steps("orders-check", url=url, verify_certs=False)  # it answers, with a warning
    assert all(step.ok for step in unverified), unverified
    (warned,) = [step for step in unverified if step.warning]
    assert warned.name == "OpenSearch certificate"
    assert "opensearch.verify_certs is false" in warned.detail and "opensearch.ca_file" in warned.fix
    assert "spoolbridge:" not in warned.detail + warned.fix  # never the credentials
