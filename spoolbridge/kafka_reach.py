"""Reaching Kafka from a command: one line saying why not and what to fix; no librdkafka chatter.

librdkafka reports an unreachable broker dozens of times a second (every reconnect attempt), on its log
and through ``error_cb``. The commands that talk to Kafka briefly (``status``, ``check``) collect the
``error_cb`` texts — they carry the reason (refused, handshake, login) that the exception lacks — and turn
them into one :class:`~schemas.errors.ServiceUnavailableError` or check step with the fix. librdkafka's
log lines go to the ``spoolbridge.kafka`` logger, and are produced at all only with ``--debug``.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from schemas.errors import ServiceUnavailableError
from schemas.settings import KafkaSettings

__all__ = [
    "TIMEOUT_SECS",
    "KafkaErrors",
    "client_config",
    "cluster_metadata",
    "kafka_fix",
    "reach_kafka",
    "unreachable",
]

log = logging.getLogger("spoolbridge.kafka")

#: How long a command waits for Kafka's first answer before saying it cannot be reached.
TIMEOUT_SECS = 10.0
#: Every broker refused or failed this long: no need to wait out TIMEOUT_SECS (a restart takes longer).
_GRACE_SECS = 2.0
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class KafkaErrors:
    """An ``error_cb`` that keeps each distinct failure text once (repeats differ only in timings)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.all_brokers_down = False

    def __call__(self, error: Any) -> None:
        from confluent_kafka import KafkaError

        if hasattr(error, "code") and error.code() == KafkaError._ALL_BROKERS_DOWN:
            self.all_brokers_down = True
        text = error.str() if hasattr(error, "str") else str(error)
        text = re.sub(r" \(after \d+ms[^)]*\)", "", text)  # so repeats of one failure collapse
        if text not in self.messages:
            self.messages.append(text)

    def text(self) -> str:
        return "; ".join(self.messages)


def client_config(kafka: KafkaSettings, errors: KafkaErrors) -> dict[str, Any]:
    """``kafka.client_config()`` with ``errors`` as error callback and librdkafka's log kept quiet
    (its lines reach the ``spoolbridge.kafka`` logger only when that logs DEBUG, i.e. with ``--debug``)."""
    return {
        **kafka.client_config(),
        "error_cb": errors,
        "logger": log,
        "log_level": 7 if log.isEnabledFor(logging.DEBUG) else 0,
    }


def _is_local(bootstrap_servers: str) -> bool:
    return all(server.rsplit(":", 1)[0] in _LOCAL_HOSTS for server in bootstrap_servers.split(","))


def kafka_fix(kafka: KafkaSettings, text: str) -> str:
    """What to do about the librdkafka failure ``text`` (an ``error_cb`` text), naming the settings."""
    servers = kafka.bootstrap_servers or ""
    lowered = text.lower()
    stack_up = ", or start the local stack with `spoolbridge stack up`" if _is_local(servers) else ""
    refused_cert = (
        "the broker refused the client certificate: check kafka.ssl_certfile and kafka.ssl_keyfile "
        "(Aiven: service.cert and service.key of this service)"
    )
    if kafka.security_protocol.startswith("SASL") and kafka.ssl_certfile is None:
        refused_cert = (
            f"the listener at {servers} wants a client certificate, not a SASL login: put the SASL port in "
            "kafka.bootstrap_servers (Aiven: the service's SASL port, shown once SASL is enabled)"
        )
    rules: list[tuple[tuple[str, ...], str]] = [
        (("certificate has expired", "certificate expired"),
         "the client certificate has expired: download a new service.cert/service.key (kafka.ssl_certfile)"),
        (("certificate verify failed", "unable to get local issuer", "self-signed certificate"),
         "the broker's certificate is not signed by kafka.ssl_cafile: "
         "use the CA of this service (Aiven: ca.pem)"),
        (("alert bad certificate", "alert number 42", "certificate required", "alert unknown ca",
          "alert number 48", "alert number 116", "alert certificate unknown", "alert number 46"),
         refused_cert),
        (("unsupported sasl mechanism",),
         f"the broker does not offer kafka.sasl_mechanism {kafka.sasl_mechanism}: set it to one the broker "
         "supports (listed above; Aiven: SCRAM-SHA-256)"),
        (("sasl authentication", "authentication failed", "invalid credentials"),
         f"the broker rejected the SASL login of user {kafka.sasl_username or '(unset)'}: check "
         "kafka.sasl_password and kafka.sasl_username (Aiven: the service user's name and password)"),
        (("incorrect security.protocol", "ssl handshake failed", "wrong version number", "packet length"),
         "the listener speaks another protocol: check kafka.security_protocol and the port"),
        (("connection refused",),
         f"nothing accepts connections at {servers}: check kafka.bootstrap_servers "
         f"(Aiven: the host:port of the Kafka service URI) and that the service is running{stack_up}"),
        (("resolve", "name or service not known"),
         f"the host name in {servers} does not resolve: check kafka.bootstrap_servers"),
    ]  # fmt: skip
    for needles, fix in rules:
        if any(needle in lowered for needle in needles):
            return fix
    return (
        f"no answer from {servers} within {TIMEOUT_SECS:.0f} s: check kafka.bootstrap_servers, "
        f"kafka.security_protocol and any firewall between here and the broker{stack_up}"
    )


def unreachable(kafka: KafkaSettings, detail: str) -> ServiceUnavailableError:
    """One line: Kafka at <servers> cannot be reached (<first reason>); <fix>."""
    reason = _short(detail.split("; ", maxsplit=1)[0]) if detail else "no answer"
    return ServiceUnavailableError(
        f"Kafka at {kafka.bootstrap_servers} cannot be reached ({reason}); {kafka_fix(kafka, detail)}"
    )


def reach_kafka(kafka: KafkaSettings, timeout_secs: float = TIMEOUT_SECS) -> Any:
    """The cluster's metadata, or :class:`ServiceUnavailableError` saying why not and what to fix."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    errors = KafkaErrors()
    try:
        return cluster_metadata(AdminClient(client_config(kafka, errors)), errors, timeout_secs)
    except KafkaException as exc:
        raise unreachable(kafka, errors.text() or str(exc.args[0].str())) from exc


def cluster_metadata(admin: Any, errors: KafkaErrors, timeout_secs: float = TIMEOUT_SECS) -> Any:
    """``admin.list_topics()``, given up early once every broker refused for a moment (a broker that is
    restarting takes longer than that; one that is not there never answers). Raises ``KafkaException``
    with ``errors`` holding the reasons."""
    from confluent_kafka import KafkaException

    started = time.monotonic()
    while True:
        try:
            return admin.list_topics(timeout=1.0)
        except KafkaException:
            admin.poll(0.1)  # serve the error callbacks: they say why (handshake, login, refused)
            waited = time.monotonic() - started
            if waited >= timeout_secs or (errors.all_brokers_down and waited >= _GRACE_SECS):
                raise


def _short(text: str, limit: int = 200) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
