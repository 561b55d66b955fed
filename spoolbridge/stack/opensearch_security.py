"""The local OpenSearch as Aiven serves it: the security plugin, HTTPS, basic auth, two users.

``admin`` (all access, may change roles through the security REST API) and ``spoolbridge``, allowed only on
``stack.opensearch_index_patterns`` (index-level rights there, cluster rights only to monitor and to send
bulk/multi requests). Each password is made at random at first start and kept, mode 0600, in
``<stack dir>/opensearch/<user>-password``, with its bcrypt hash beside it (the plugin's own ``Hasher``
makes it, once). The plugin loads the users and roles into its index on the node's first secured start
(``allow_default_init_securityindex``); later starts keep what the index holds. The node's certificate is
the Kafka listeners' (the stack's one CA, ``certs.py``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.errors import StackError

from .certs import TlsFiles

PLUGIN_CLASS = "org.opensearch.security.OpenSearchSecurityPlugin"
ADMIN_USERNAME = "admin"
CLIENT_USERNAME = "spoolbridge"
CLIENT_ROLE = "spoolbridge_writer"


@dataclass(frozen=True)
class SecurityUser:
    """One internal user of the plugin: a name, a password file (0600) and its hash file."""

    username: str
    password_file: Path

    @property
    def hash_file(self) -> Path:
        return self.password_file.with_name(self.password_file.name + ".bcrypt")

    def exists(self) -> bool:
        return self.password_file.is_file() and self.hash_file.is_file()

    def password(self) -> str:
        """The stored password (for the stack, the test harness and scripts; never to be printed)."""
        return self.password_file.read_text().strip()

    def basic_auth_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password()}".encode()).decode()
        return f"Basic {token}"

    def ensure(self, hasher: list[str]) -> str:
        """The user's bcrypt hash; a new password (and its hash) is made when none is stored yet."""
        if self.exists():
            return self.hash_file.read_text().strip()
        password = _new_password()
        result = subprocess.run([*hasher, "-p", password], capture_output=True, text=True, check=False)
        lines = [line for line in result.stdout.splitlines() if line.startswith("$2")]
        if result.returncode != 0 or not lines:
            output = (result.stdout[-300:] + result.stderr[-300:]).replace(password, "***")
            raise StackError(f"hashing the OpenSearch {self.username} password failed: {output}")
        _store_private(self.hash_file, lines[-1])
        _store_private(self.password_file, password)  # last: a password file always has its hash
        return lines[-1]


def _new_password() -> str:
    """A random password, URL-safe (it goes into ``https://user:password@host`` URLs) and never starting
    with ``-``: the hasher would take it for an option (one password in 64 did, failing the start)."""
    while (password := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return password


def _store_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an earlier file keeps its mode through O_CREAT
        os.write(fd, f"{text}\n".encode())
    finally:
        os.close(fd)


def plugin_jars(plugin_dir: Path, core_classpath: str) -> list[str]:
    """The plugin's jars that the node's classpath lacks: the zip also carries its own copies of modules
    the node already has (transport-netty4, mapper-extras, ... of the plugin's OpenSearch version), and two
    versions of one class on a classpath break the node."""
    core = {_artifact(Path(jar).name) for jar in core_classpath.split(":")}
    jars = sorted(p for p in plugin_dir.glob("*.jar") if _artifact(p.name) not in core)
    return [str(p) for p in jars]


def _artifact(jar_name: str) -> str:
    """``netty-codec-4.1.125.Final.jar`` → ``netty-codec``: the name without its version."""
    parts = jar_name.removesuffix(".jar").split("-")
    while len(parts) > 1 and parts[-1][:1].isdigit():
        parts.pop()
    return "-".join(parts)


def write_config(
    config_dir: Path, tls: TlsFiles, admin_hash: str, client_hash: str, patterns: list[str]
) -> None:
    """``opensearch.yml`` and the plugin's ``opensearch-security/*.yml`` (JSON, which YAML reads)."""
    tls_dir = config_dir / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    for source, name in (
        (tls.ca, "ca.pem"),
        (tls.dir / "server.crt", "node.crt"),
        (tls.dir / "server.pk8", "node.key"),
    ):
        shutil.copyfile(source, tls_dir / name)
    (tls_dir / "node.key").chmod(0o600)
    node: dict[str, Any] = {
        "plugins.security.ssl.transport.pemcert_filepath": "tls/node.crt",
        "plugins.security.ssl.transport.pemkey_filepath": "tls/node.key",
        "plugins.security.ssl.transport.pemtrustedcas_filepath": "tls/ca.pem",
        "plugins.security.ssl.transport.enforce_hostname_verification": False,
        "plugins.security.ssl.http.enabled": True,
        "plugins.security.ssl.http.pemcert_filepath": "tls/node.crt",
        "plugins.security.ssl.http.pemkey_filepath": "tls/node.key",
        "plugins.security.ssl.http.pemtrustedcas_filepath": "tls/ca.pem",
        "plugins.security.allow_default_init_securityindex": True,
        "plugins.security.nodes_dn": ["CN=localhost"],
        "plugins.security.restapi.roles_enabled": ["all_access"],
        "plugins.security.audit.type": "noop",
        "plugins.security.system_indices.enabled": True,
    }
    (config_dir / "opensearch.yml").write_text(json.dumps(node, indent=2) + "\n")
    security = config_dir / "opensearch-security"
    security.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {
        "config.yml": {
            "_meta": {"type": "config", "config_version": 2},
            "config": {
                "dynamic": {
                    "http": {"anonymous_auth_enabled": False},
                    "authc": {
                        "basic_internal_auth_domain": {
                            "http_enabled": True,
                            "transport_enabled": True,
                            "order": 0,
                            "http_authenticator": {"type": "basic", "challenge": True},
                            "authentication_backend": {"type": "intern"},
                        }
                    },
                }
            },
        },
        "internal_users.yml": {
            "_meta": {"type": "internalusers", "config_version": 2},
            ADMIN_USERNAME: {"hash": admin_hash, "reserved": True, "description": "local stack admin"},
            CLIENT_USERNAME: {"hash": client_hash, "description": "spoolbridge, its index patterns only"},
        },
        "roles.yml": {
            "_meta": {"type": "roles", "config_version": 2},
            CLIENT_ROLE: {
                # clearing a scroll is a cluster action: the page's export clears its own
                "cluster_permissions": [
                    "cluster_monitor",
                    "cluster_composite_ops",
                    "indices:data/read/scroll/clear",
                ],
                "index_permissions": [{"index_patterns": patterns, "allowed_actions": ["indices_all"]}],
            },
        },
        "roles_mapping.yml": {
            "_meta": {"type": "rolesmapping", "config_version": 2},
            "all_access": {"users": [ADMIN_USERNAME]},
            CLIENT_ROLE: {"users": [CLIENT_USERNAME]},
        },
        "action_groups.yml": {"_meta": {"type": "actiongroups", "config_version": 2}},
        "tenants.yml": {"_meta": {"type": "tenants", "config_version": 2}},
        "nodes_dn.yml": {"_meta": {"type": "nodesdn", "config_version": 2}},
        "allowlist.yml": {"_meta": {"type": "allowlist", "config_version": 2}, "config": {"enabled": False}},
        "audit.yml": {"_meta": {"type": "audit", "config_version": 2}, "config": {"enabled": False}},
    }
    for name, body in files.items():
        (security / name).write_text(json.dumps(body, indent=2) + "\n")


def client_ssl_context(ca_file: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file))
