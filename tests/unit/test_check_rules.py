"""What ``check`` tells the user for each kind of Kafka failure text librdkafka reports."""

from __future__ import annotations

import pytest

from schemas.settings import load_settings
from spoolbridge.kafka_reach import kafka_fix as _kafka_fix

KAFKA = load_settings({"kafka": {"bootstrap_servers": "kafka.example:12345"}}).kafka


@pytest.mark.parametrize(
    ("librdkafka_text", "expected"),
    [
        ("ssl://h:1/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed",
         "not signed by kafka.ssl_cafile"),
        ("Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate: SSL alert number 42",
         "refused the client certificate"),
        ("error:0A000416:SSL routines::ssl/tls alert certificate unknown: SSL alert number 46",
         "refused the client certificate"),
        ("ssl/tls alert certificate expired: certificate has expired", "has expired"),
        ("SASL authentication error: Authentication failed during authentication due to invalid credentials",
         "rejected the SASL login"),
        ("SASL SCRAM-SHA-512 mechanism handshake failed: Broker: Unsupported SASL mechanism: broker's "
         "supported mechanisms: SCRAM-SHA-256", "does not offer kafka.sasl_mechanism"),
        ("Connect to ipv4#10.0.0.1:12345 failed: Connection refused", "nothing accepts connections"),
        ("Failed to resolve 'kafka.example:12345': Name or service not known", "does not resolve"),
        ("1/1 brokers are down", "no answer from kafka.example:12345"),
    ],
)  # fmt: skip
def test_each_failure_gets_the_fix_that_matches_it(librdkafka_text: str, expected: str) -> None:
    assert expected in _kafka_fix(KAFKA, librdkafka_text)


SASL = load_settings(
    {
        "kafka": {
            "bootstrap_servers": "kafka.example:12346",
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "avnadmin",
            "sasl_password": "s3cret-value",
        }
    }
).kafka


def test_a_rejected_sasl_login_names_the_password_and_the_user_but_never_the_password() -> None:
    fix = _kafka_fix(SASL, "SASL authentication error: Authentication failed: Invalid username or password")
    assert "kafka.sasl_password" in fix and "user avnadmin" in fix
    assert "s3cret-value" not in fix


def test_an_unsupported_mechanism_names_the_configured_one() -> None:
    text = "SASL SCRAM-SHA-512 mechanism handshake failed: Broker: Unsupported SASL mechanism"
    assert "kafka.sasl_mechanism SCRAM-SHA-512" in _kafka_fix(SASL, text)


def test_a_sasl_login_sent_to_the_client_certificate_listener_asks_for_the_sasl_port() -> None:
    text = "Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate: SSL alert number 42"
    assert "wants a client certificate, not a SASL login" in _kafka_fix(SASL, text)
    assert "refused the client certificate" in _kafka_fix(KAFKA, text)


def test_a_403_names_the_index_and_the_permission_the_security_plugin_refused() -> None:
    from opensearchpy.exceptions import AuthorizationException

    from spoolbridge.check import _index_detail

    body = {
        "error": {
            "type": "security_exception",
            "reason": "no permissions for [indices:admin/create] and "
            "User [name=spoolbridge, backend_roles=[], requestedTenant=null]",
        },
        "status": 403,
    }
    refused = AuthorizationException(403, "security_exception", body)
    assert _index_detail(refused, "cars", "indices:admin/get") == (
        "403 Forbidden: the user lacks indices:admin/create on index cars"
    )
    head = AuthorizationException(403, "")  # HEAD /cars: no body to say which permission
    assert _index_detail(head, "cars", "indices:admin/get") == (
        "403 Forbidden: the user lacks indices:admin/get on index cars"
    )


def test_a_refusal_names_each_action_once_even_those_with_brackets() -> None:
    from spoolbridge.check_permissions import refused_actions

    reason = (
        "no permissions for [indices:data/write/bulk[s], indices:data/write/index] and "
        "User [name=spoolbridge, backend_roles=[], requestedTenant=null]"
    )
    assert refused_actions(reason) == ["indices:data/write/bulk[s]", "indices:data/write/index"]
    assert refused_actions("no permissions for [indices:admin/create] and User [name=u]") == [
        "indices:admin/create"
    ]
    assert refused_actions("index [x] blocked by: [FORBIDDEN/8/read-only]") == []
