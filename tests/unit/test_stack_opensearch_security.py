"""The secured local OpenSearch's pieces that need no node: jar choice, config files, user files."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from schemas.errors import StackError
from spoolbridge.stack.certs import TlsFiles
from spoolbridge.stack.opensearch_security import SecurityUser, _artifact, plugin_jars, write_config


@pytest.mark.parametrize(
    ("jar", "artifact"),
    [
        ("netty-codec-4.1.125.Final.jar", "netty-codec"),
        ("transport-netty4-client-2.19.4.jar", "transport-netty4-client"),
        ("opensearch-security-2.19.4.0.jar", "opensearch-security"),
        ("bcprov-jdk18on-1.82.jar", "bcprov-jdk18on"),
        ("scala-java8-compat_3-1.0.2.jar", "scala-java8-compat_3"),
    ],
)
def test_artifact_is_the_jar_name_without_its_version(jar: str, artifact: str) -> None:
    assert _artifact(jar) == artifact


def test_plugin_jars_leave_out_what_the_node_already_has(tmp_path: Path) -> None:
    names = ("opensearch-security-2.19.4.0.jar", "transport-netty4-client-2.19.4.jar", "ldaptive-1.2.3.jar")
    for name in names:
        (tmp_path / name).write_bytes(b"")
    core = "/m2/transport-netty4-client-2.19.6.jar:/m2/opensearch-2.19.6.jar"
    assert [Path(jar).name for jar in plugin_jars(tmp_path, core)] == [
        "ldaptive-1.2.3.jar",
        "opensearch-security-2.19.4.0.jar",
    ]


def _fake_tls(directory: Path) -> TlsFiles:
    directory.mkdir()
    for name in ("ca.pem", "server.crt", "server.pk8"):
        (directory / name).write_text(f"{name}\n")
    return TlsFiles(directory)


def test_config_gives_https_basic_auth_and_the_client_role_only_its_patterns(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_config(config, _fake_tls(tmp_path / "tls"), "$2y$admin", "$2y$client", ["orders*"])
    node = json.loads((config / "opensearch.yml").read_text())
    assert node["plugins.security.ssl.http.enabled"] is True
    assert node["plugins.security.ssl.http.pemtrustedcas_filepath"] == "tls/ca.pem"
    assert (config / "tls" / "node.key").read_text() == "server.pk8\n"
    assert stat.S_IMODE((config / "tls" / "node.key").stat().st_mode) == 0o600
    security = config / "opensearch-security"
    users = json.loads((security / "internal_users.yml").read_text())
    assert (users["admin"]["hash"], users["spoolbridge"]["hash"]) == ("$2y$admin", "$2y$client")
    role = json.loads((security / "roles.yml").read_text())["spoolbridge_writer"]
    assert role["index_permissions"] == [{"index_patterns": ["orders*"], "allowed_actions": ["indices_all"]}]
    assert "cluster_all" not in role["cluster_permissions"]
    mapping = json.loads((security / "roles_mapping.yml").read_text())
    assert mapping["all_access"]["users"] == ["admin"]
    assert mapping["spoolbridge_writer"]["users"] == ["spoolbridge"]
    auth = json.loads((security / "config.yml").read_text())["config"]["dynamic"]
    assert auth["http"]["anonymous_auth_enabled"] is False


def _hasher(output: str, code: int = 0) -> list[str]:
    return [sys.executable, "-c", f"import sys; print({output!r}); sys.exit({code})"]


def test_a_user_gets_a_private_password_once_and_keeps_it(tmp_path: Path) -> None:
    user = SecurityUser("spoolbridge", tmp_path / "opensearch" / "spoolbridge-password")
    assert user.ensure(_hasher("$2y$12$first")) == "$2y$12$first"
    password = user.password()
    assert len(password) >= 24
    for path in (user.password_file, user.hash_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert user.ensure(_hasher("$2y$12$second")) == "$2y$12$first"  # kept: the node's index holds it
    assert user.password() == password


def test_a_failed_hash_leaves_no_password_file_and_never_shows_the_password(tmp_path: Path) -> None:
    user = SecurityUser("admin", tmp_path / "admin-password")
    with pytest.raises(StackError, match="hashing the OpenSearch admin password failed") as failure:
        user.ensure([sys.executable, "-c", "import sys; print(sys.argv[-1]); sys.exit(3)"])
    assert not user.password_file.exists()
    assert "***" in str(failure.value)


def test_a_password_never_starts_with_a_dash_the_hasher_would_take_for_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["-looks-like-an-option-000000000", "fine-password-000000000000000"])
    monkeypatch.setattr("spoolbridge.stack.opensearch_security.secrets.token_urlsafe", lambda _: next(drawn))
    user = SecurityUser("admin", tmp_path / "admin-password")
    # the hash tool, as a shell would give it the arguments: "-p" and the password after it
    refusing = "import sys; p = sys.argv[-1]; sys.exit(2) if p.startswith('-') else print('$2y$12$' + p)"
    assert user.ensure([sys.executable, "-c", refusing]) == "$2y$12$fine-password-000000000000000"
    assert user.password() == "fine-password-000000000000000"
