"""Presentation of ``spoolbridge stack up | down | status`` (the work is in :mod:`.manager`)."""

from __future__ import annotations

import json

from rich.console import Console

from schemas.settings import Settings

from .manager import LocalStack


def stack_command(action: str, settings: Settings, *, as_json: bool) -> int:
    stack = LocalStack(settings.stack)
    console = Console()
    if action == "up":
        result = stack.up()
        if as_json:
            print(
                json.dumps(
                    {
                        "started_secs": result.started,
                        "already_running": result.already_running,
                        **_endpoints(stack),
                    },
                    indent=2,
                )
            )
            return 0
        for name in result.already_running:
            console.print(f"{name} is already running")
        for name, secs in result.started.items():
            console.print(f"{name} started in {secs:.1f} s")
        _print_endpoints(stack)
        return 0
    if action == "down":
        stopped = stack.down()
        if as_json:
            print(json.dumps({"stopped": stopped}))
        else:
            console.print(f"stopped: {', '.join(stopped)}" if stopped else "the local stack was not running")
        return 0
    rows = stack.status()
    if as_json:
        print(json.dumps({"services": [row.as_dict() for row in rows], **_endpoints(stack)}, indent=2))
        return 0
    # plain lines, not a table: paths and ports are never cut, at any width and when piped
    print(f"local stack in {stack.settings.dir}")
    for row in rows:
        state = "running" if row.running else "stopped"
        rss = f", {row.rss_mb:.0f} MiB" if row.rss_mb is not None else ""
        print(f"  {row.name} {row.version}: {state}" + (f", pid {row.pid}" if row.pid else "") + rss)
        print(f"    ports {' '.join(f'{k}={v}' for k, v in row.ports.items())}")
        print(f"    log   {row.log_file}")
    return 0


def _endpoints(stack: LocalStack) -> dict[str, str]:
    """Where each listener is and which files to give a client; the SASL password only as its file."""
    kafka = stack.kafka
    tls = kafka.tls
    return {
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "kafka_ssl_bootstrap_servers": kafka.ssl_bootstrap_servers,
        "kafka_ssl_cafile": str(tls.ca),
        "kafka_ssl_certfile": str(tls.client_cert),
        "kafka_ssl_keyfile": str(tls.client_key),
        "kafka_sasl_bootstrap_servers": kafka.sasl_bootstrap_servers,
        "kafka_sasl_mechanism": kafka.sasl.mechanism,
        "kafka_sasl_username": kafka.sasl.username,
        "kafka_sasl_password_file": str(kafka.sasl.password_file),
        **_opensearch_endpoints(stack),
    }


def _opensearch_endpoints(stack: LocalStack) -> dict[str, str]:
    """The node's URL and, when it is secured, its CA and each user's name and password file."""
    node = stack.opensearch
    if not node.secured:
        return {"opensearch_url": node.url}
    return {
        "opensearch_url": node.url,
        "opensearch_ca_file": str(node.ca_file),
        "opensearch_username": node.client_user.username,
        "opensearch_password_file": str(node.client_user.password_file),
        "opensearch_admin_username": node.admin.username,
        "opensearch_admin_password_file": str(node.admin.password_file),
    }


def _print_endpoints(stack: LocalStack) -> None:
    """One line each, never wrapped (the paths are copied from here), the SASL password only as its file."""
    e = _endpoints(stack)
    mechanism = e["kafka_sasl_mechanism"]
    lines = [
        f"Kafka       {e['kafka_bootstrap_servers']} (PLAINTEXT)",
        f"Kafka TLS   {e['kafka_ssl_bootstrap_servers']} (SSL, client certificate required)",
        f"  ca.pem        {e['kafka_ssl_cafile']}",
        f"  service.cert  {e['kafka_ssl_certfile']}",
        f"  service.key   {e['kafka_ssl_keyfile']}",
        f"Kafka SASL  {e['kafka_sasl_bootstrap_servers']} (SASL_SSL, {mechanism} login, the same ca.pem)",
        f"  user          {e['kafka_sasl_username']}",
        f"  password in   {e['kafka_sasl_password_file']}",
        f"OpenSearch  {e['opensearch_url']}"
        + (
            " (HTTPS, basic auth, the same ca.pem)"
            if "opensearch_ca_file" in e
            else " (plain HTTP, no users)"
        ),
        *(
            [
                f"  user          {e['opensearch_username']} (the stack's index patterns only)",
                f"  password in   {e['opensearch_password_file']}",
                f"  admin         {e['opensearch_admin_username']} (all access)",
                f"  password in   {e['opensearch_admin_password_file']}",
            ]
            if "opensearch_ca_file" in e
            else []
        ),
        "Stop it with: spoolbridge stack down",
    ]
    print("\n".join(lines))
